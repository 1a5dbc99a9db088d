//! The command engine end to end: typed interactions in, responses and REST calls out,
//! against the fake Kaltura server (demo catalog) and SQLite in a temporary folder.

use crate::support::{Captured, RecordingRest, RestCall};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kaltura_client::fake::{Failure, FakeClock, FakeKaltura};
use kaltura_client::{Client, PartnerId};
use kaltura_discord::commands::interaction::{
    AutocompleteRequest, CommandInvocation, CommandOption, ComponentClick, Invoker,
    ModalSubmission, OptionValue,
};
use kaltura_discord::commands::reply::{
    ActionRow, Button, ChoiceValue, InteractionResponse, Reply,
};
use kaltura_discord::commands::{
    CommandEngine, Interaction, InteractionContext, InteractionHandler as _, InteractionToken,
};
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::rbac::DiscordPermissions;
use kaltura_discord::rest::EventClosure;
use kaltura_discord::store::{GuildOverrideStore, SqlStore};
use kaltura_discord::{
    ApplicationId, ChannelId, DiscordUserId, GuildId, InteractionId, MessageId, RoleId,
};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

/// The service clock (2027-01-15), so meeting times and snapshots are stable.
const NOW: i64 = 1_800_000_000;
const TOKEN: &str = "interaction-token-that-must-stay-secret";

fn guild() -> GuildId {
    GuildId::new(613_425_648_685_547_541).unwrap()
}
fn other_guild() -> GuildId {
    GuildId::new(81_384_788_765_712_384).unwrap()
}
fn moderator_role() -> RoleId {
    RoleId::new(555_000_000_000_000_001).unwrap()
}
const VIEWER: u64 = 1001;
const HOST: u64 = 2002;
const ADMIN: u64 = 3003;
const OTHER: u64 = 4004;

/// The engine over a fake Kaltura and SQLite, with a recording REST.
struct Harness {
    fake: FakeKaltura,
    store: SqlStore,
    _t: crate::support::TestStore,
    engine: CommandEngine,
    rest: Arc<RecordingRest>,
    calls: mpsc::UnboundedReceiver<RestCall>,
    clock: FakeClock,
}

fn client(fake: &FakeKaltura) -> Client {
    Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap()
}

fn account(fake: &FakeKaltura) -> KalturaAccount {
    KalturaAccount::new(client(fake), fake.admin_secret())
        .unwrap()
        .with_media_base(fake.url())
        .unwrap()
}

/// An account no request can reach.
fn unreachable_account(partner: i64) -> KalturaAccount {
    let secret = secrecy::SecretString::from("abcdef0123456789abcdef0123456789");
    let client = Client::builder()
        .service_url("http://127.0.0.1:9")
        .partner_id(partner)
        .admin_secret(secret.clone())
        .build()
        .unwrap();
    KalturaAccount::new(client, &secret).unwrap()
}

struct Setup {
    deadline: Duration,
    env: Vec<(String, String)>,
    default_account: Option<KalturaAccount>,
    fake_as_extra: bool,
    identity_page: Option<&'static str>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            // Long enough that a loaded machine never defers a test that does not mean to.
            deadline: Duration::from_secs(60),
            env: Vec::new(),
            default_account: None,
            fake_as_extra: false,
            identity_page: None,
        }
    }
}

async fn harness() -> Harness {
    harness_with(Setup::default()).await
}

async fn harness_with(setup: Setup) -> Harness {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let t = crate::support::sqlite().await;
    let store = t.store.clone();
    // The moderator role, set the way an admin would: a guild override in the store.
    let admin = DiscordUserId::new(ADMIN).unwrap();
    store
        .update_override(guild(), admin, &|doc: &mut Map<String, Value>| {
            doc.insert(
                "rbac".into(),
                json!({"roles": {moderator_role().to_string(): "moderator"}}),
            );
            Ok(())
        })
        .await
        .unwrap();
    let mut sources = ConfigSources::defaults_only();
    sources.env = setup.env;
    let clock = FakeClock::fixed(NOW);
    let resolver = Arc::new(
        ConfigResolver::load(&sources)
            .unwrap()
            .with_store(Arc::new(store.clone())),
    );
    let (rest, calls) = RecordingRest::new();
    let mut builder = CommandEngine::builder()
        .resolver(resolver)
        .stores(Arc::new(store.clone()))
        .rest(rest.clone())
        .clock(Arc::new(clock.clone()))
        .deadline(setup.deadline);
    builder = match setup.default_account {
        Some(a) => builder.account(a),
        None => builder.account(account(&fake)),
    };
    if setup.fake_as_extra {
        builder = builder.extra_account(account(&fake));
    }
    if let Some(page) = setup.identity_page {
        builder = builder.identity_page_base(page).unwrap();
    }
    let engine = builder.build().unwrap();
    Harness {
        fake,
        store,
        _t: t,
        engine,
        rest,
        calls,
        clock,
    }
}

fn invoker(user: u64) -> Invoker {
    let (roles, permissions) = match user {
        HOST => (vec![moderator_role()], DiscordPermissions::NONE),
        ADMIN => (Vec::new(), DiscordPermissions::MANAGE_GUILD),
        _ => (Vec::new(), DiscordPermissions::NONE),
    };
    Invoker {
        user: DiscordUserId::new(user).unwrap(),
        display_name: format!("Member {user}"),
        roles,
        permissions,
    }
}

fn ctx_in(user: u64, guild: Option<GuildId>) -> InteractionContext {
    InteractionContext {
        id: InteractionId::new(1).unwrap(),
        application_id: ApplicationId::new(42).unwrap(),
        token: InteractionToken::new(TOKEN),
        guild,
        channel: ChannelId::new(7),
        invoker: invoker(user),
        locale: None,
        guild_locale: None,
    }
}

fn ctx(user: u64) -> InteractionContext {
    ctx_in(user, Some(guild()))
}

fn s(value: &str) -> OptionValue {
    OptionValue::String(value.into())
}

fn command(
    ctx: InteractionContext,
    name: &str,
    path: &[&str],
    options: &[(&str, OptionValue)],
) -> Interaction {
    Interaction::Command(CommandInvocation {
        context: ctx,
        command: name.into(),
        path: path.iter().map(|p| (*p).to_owned()).collect(),
        options: options
            .iter()
            .map(|(n, v)| CommandOption {
                name: (*n).into(),
                value: v.clone(),
            })
            .collect(),
    })
}

fn kaltura(user: u64, path: &[&str], options: &[(&str, OptionValue)]) -> Interaction {
    command(ctx(user), "kaltura", path, options)
}

fn admin_cmd(user: u64, path: &[&str], options: &[(&str, OptionValue)]) -> Interaction {
    command(ctx(user), "kaltura-admin", path, options)
}

fn click(user: u64, custom_id: &str, values: &[&str]) -> Interaction {
    Interaction::Component(ComponentClick {
        context: ctx(user),
        custom_id: custom_id.into(),
        component_type: if values.is_empty() { 2 } else { 3 },
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        message: MessageId::new(99),
    })
}

fn autocomplete(user: u64, path: &[&str], focused: &str, partial: &str) -> Interaction {
    Interaction::Autocomplete(AutocompleteRequest {
        context: ctx(user),
        command: "kaltura".into(),
        path: path.iter().map(|p| (*p).to_owned()).collect(),
        options: Vec::new(),
        focused: focused.into(),
        partial: partial.into(),
    })
}

#[track_caller]
fn message(response: InteractionResponse) -> Reply {
    match response {
        InteractionResponse::Message(reply) => reply,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The text of an ephemeral refusal.
#[track_caller]
fn refusal(response: InteractionResponse) -> String {
    let reply = message(response);
    assert!(reply.ephemeral, "refusals are ephemeral: {reply:?}");
    reply.content.unwrap_or_default()
}

fn action_ids(reply: &Reply) -> Vec<(String, String)> {
    reply
        .components
        .iter()
        .flat_map(|row| match row {
            ActionRow::Buttons(buttons) => buttons
                .iter()
                .filter_map(|b| match b {
                    Button::Action {
                        label, custom_id, ..
                    } => Some((label.clone(), custom_id.clone())),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            ActionRow::Select(select) => vec![("select".into(), select.custom_id.clone())],
            _ => Vec::new(),
        })
        .collect()
}

fn action_id(reply: &Reply, label: &str) -> String {
    action_ids(reply)
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no {label} component in {reply:?}"))
        .1
}

fn link_urls(reply: &Reply) -> Vec<String> {
    reply
        .components
        .iter()
        .flat_map(|row| match row {
            ActionRow::Buttons(buttons) => buttons
                .iter()
                .filter_map(|b| match b {
                    Button::Link { url, .. } => Some(url.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

/// Debug text with the fake's random port and random search tokens replaced.
fn redacted(value: &impl std::fmt::Debug, fake: &FakeKaltura) -> String {
    let text = format!("{value:#?}").replace(fake.url(), "http://fake-kaltura");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("kd1:page:") {
        let (head, tail) = rest.split_at(at + "kd1:page:".len());
        out.push_str(head);
        out.push_str("<token>");
        rest = tail.get(16..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The next REST call (a guard against a hang, not a timing assumption).
async fn next_call(h: &mut Harness) -> RestCall {
    tokio::time::timeout(Duration::from_secs(30), h.calls.recv())
        .await
        .expect("a REST call within 30 s")
        .expect("the channel is open")
}

async fn start_meeting(h: &Harness, title: &str) -> Reply {
    message(
        h.engine
            .respond(kaltura(
                HOST,
                &["meeting", "start"],
                &[
                    ("title", s(title)),
                    ("type", s("webinar")),
                    ("duration", OptionValue::Integer(45)),
                ],
            ))
            .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_dm_and_unknown_shapes() {
    let h = harness().await;
    assert_eq!(
        h.engine.respond(Interaction::Ping).await,
        InteractionResponse::Pong
    );

    let dm = command(ctx_in(VIEWER, None), "kaltura", &["help"], &[]);
    let text = refusal(h.engine.respond(dm).await);
    assert!(text.contains("server"), "{text}");
    let dm_auto = Interaction::Autocomplete(AutocompleteRequest {
        context: ctx_in(VIEWER, None),
        command: "kaltura".into(),
        path: vec!["meeting".into(), "join".into()],
        options: Vec::new(),
        focused: "meeting".into(),
        partial: String::new(),
    });
    assert_eq!(
        h.engine.respond(dm_auto).await,
        InteractionResponse::Autocomplete(Vec::new())
    );

    for (interaction, needle) in [
        (
            command(ctx(VIEWER), "other", &["x"], &[]),
            "not a command this bot knows",
        ),
        (
            kaltura(VIEWER, &["meeting", "fly"], &[]),
            "not a command this bot knows",
        ),
        (kaltura(VIEWER, &[], &[]), "not a command this bot knows"),
        (
            kaltura(
                VIEWER,
                &["meeting", "start"],
                &[("title", OptionValue::Integer(3))],
            ),
            "must be text",
        ),
        (
            kaltura(VIEWER, &["meeting", "list"], &[("surprise", s("x"))]),
            "not one this command has",
        ),
        (kaltura(VIEWER, &["meeting", "join"], &[]), "must be given"),
        (
            Interaction::ModalSubmit(ModalSubmission {
                context: ctx(VIEWER),
                custom_id: "kd1:form".into(),
                fields: Vec::new(),
            }),
            "outdated",
        ),
    ] {
        let text = refusal(h.engine.respond(interaction).await);
        assert!(text.contains(needle), "{needle}: {text}");
    }

    let help = message(h.engine.respond(kaltura(VIEWER, &["help"], &[])).await);
    assert!(help.ephemeral);
    insta::assert_debug_snapshot!("help", help);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_start_join_list_end() {
    let h = harness().await;
    let card = start_meeting(&h, "Weekly sync").await;
    assert!(!card.ephemeral, "the meeting card is public");
    let debug = format!("{card:?}");
    assert!(!debug.contains("ks="), "no join link in public: {debug}");
    assert!(!debug.contains("kaf"), "no join link in public: {debug}");
    insta::assert_debug_snapshot!("meeting_card", card);
    let join = action_id(&card, "Join");
    let end = action_id(&card, "End");
    assert!(join.starts_with("kd1:join:") && end.starts_with("kd1:end:"));
    let meeting_id = join.trim_start_matches("kd1:join:").to_owned();

    // Each clicker gets their own link, ephemeral.
    let mine = message(h.engine.respond(click(VIEWER, &join, &[])).await);
    let theirs = message(h.engine.respond(click(OTHER, &join, &[])).await);
    for reply in [&mine, &theirs] {
        assert!(reply.ephemeral);
        let urls = link_urls(reply);
        assert_eq!(urls.len(), 1, "{reply:?}");
        assert!(urls[0].contains("/virtualEvent/launch?ks="), "{urls:?}");
        assert!(reply.content.as_deref().unwrap().contains("an attendee"));
    }
    assert_ne!(link_urls(&mine), link_urls(&theirs));
    // The host joins as a host, through the slash command.
    let host = message(
        h.engine
            .respond(kaltura(
                HOST,
                &["meeting", "join"],
                &[("meeting", s(&meeting_id))],
            ))
            .await,
    );
    assert!(
        host.content.as_deref().unwrap().contains("a host"),
        "{host:?}"
    );

    // Listed, with a join button, for the member only.
    let list = message(
        h.engine
            .respond(kaltura(VIEWER, &["meeting", "list"], &[]))
            .await,
    );
    assert!(list.ephemeral);
    assert!(format!("{list:?}").contains("Weekly sync"));
    assert_eq!(action_id(&list, "Join Weekly sync"), join);

    // A viewer's End click is refused to them alone; the card stays.
    let denied = refusal(h.engine.respond(click(VIEWER, &end, &[])).await);
    assert!(denied.contains("end_meeting"), "{denied}");

    // The host's End click replaces the card with the ended card.
    match h.engine.respond(click(HOST, &end, &[])).await {
        InteractionResponse::Update(reply) => {
            assert!(!reply.ephemeral);
            assert!(reply.components.is_empty(), "{reply:?}");
            insta::assert_debug_snapshot!("meeting_card_ended", reply);
        }
        other => panic!("expected an update, got {other:?}"),
    }
    let late = refusal(h.engine.respond(click(VIEWER, &join, &[])).await);
    assert!(late.contains("has been ended"), "{late}");
    let again = refusal(
        h.engine
            .respond(kaltura(
                ADMIN,
                &["meeting", "end"],
                &[("meeting", s(&meeting_id))],
            ))
            .await,
    );
    assert!(again.contains("already been ended"), "{again}");
    let empty = message(
        h.engine
            .respond(kaltura(VIEWER, &["meeting", "list"], &[]))
            .await,
    );
    assert!(empty.content.unwrap().contains("No meetings"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_refusals() {
    let h = harness().await;
    // RBAC: viewers may not start meetings.
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["meeting", "start"],
                &[("title", s("Mine"))],
            ))
            .await,
    );
    assert!(text.contains("start_meeting"), "{text}");
    // Bad input.
    for (options, needle) in [
        (vec![("title", s("   "))], "needs a title"),
        (
            vec![("title", s("T")), ("type", s("party"))],
            "webinar, meeting_room",
        ),
        (
            vec![("title", s("T")), ("duration", OptionValue::Integer(-5))],
            "5 to 1440",
        ),
        (
            vec![("title", s("T")), ("duration", OptionValue::Integer(1441))],
            "5 to 1440",
        ),
    ] {
        let text = refusal(
            h.engine
                .respond(kaltura(HOST, &["meeting", "start"], &options))
                .await,
        );
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // Hostile and unknown meeting ids.
    for id in [
        "../../etc",
        "0",
        "-3",
        "4001; DROP TABLE meetings",
        "99999999999999999999",
    ] {
        let text = refusal(
            h.engine
                .respond(kaltura(VIEWER, &["meeting", "join"], &[("meeting", s(id))]))
                .await,
        );
        assert!(text.contains("not a meeting id"), "{id}: {text}");
    }
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["meeting", "join"],
                &[("meeting", s("123456"))],
            ))
            .await,
    );
    assert!(text.contains("was not found in this server"), "{text}");
    // Forged and outdated buttons.
    for forged in [
        "kd1:join:../../etc",
        "kd1:end:0",
        "kd0:join:1",
        "kd1:join:1:extra",
        "kd1:nuke:1",
        "",
        "kd1:page:zzzzzzzzzzzzzzzz:1",
    ] {
        let text = refusal(h.engine.respond(click(VIEWER, forged, &[])).await);
        assert!(text.contains("outdated"), "{forged:?}: {text}");
    }
    // Another guild's meeting is not found from here.
    let card = start_meeting(&h, "Ours").await;
    let join = action_id(&card, "Join");
    let mut elsewhere = click(VIEWER, &join, &[]);
    if let Interaction::Component(c) = &mut elsewhere {
        c.context.guild = Some(other_guild());
    }
    let text = refusal(h.engine.respond(elsewhere).await);
    assert!(text.contains("was not found in this server"), "{text}");

    // The feature switched off by an admin.
    let set = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[("key", s("features.meetings")), ("value", s("false"))],
            ))
            .await,
    );
    assert!(set.content.unwrap().contains("features.meetings"));
    for interaction in [
        kaltura(HOST, &["meeting", "start"], &[("title", s("Off"))]),
        kaltura(VIEWER, &["meeting", "list"], &[]),
        click(VIEWER, &join, &[]),
    ] {
        let text = refusal(h.engine.respond(interaction).await);
        assert!(text.contains("turned off"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_follow_the_current_policy() {
    let h = harness().await;
    let card = start_meeting(&h, "Policy").await;
    let join = action_id(&card, "Join");
    let end = action_id(&card, "End");
    assert!(message(h.engine.respond(click(VIEWER, &join, &[])).await).ephemeral);

    // Members without a role can no longer join; the button made earlier is refused.
    let text = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[("key", s("rbac.everyone")), ("value", s("null"))],
            ))
            .await,
    )
    .content
    .unwrap();
    assert!(text.contains("rbac.everyone"), "{text}");
    let text = refusal(h.engine.respond(click(VIEWER, &join, &[])).await);
    assert!(text.contains("join_meeting"), "{text}");

    // A deny rule on the host's role: the host may not end the meeting either.
    let deny = json!([{"subject": {"role": moderator_role().to_string()}, "permissions": ["end_meeting"]}]);
    let set = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[("key", s("rbac.deny")), ("value", s(&deny.to_string()))],
            ))
            .await,
    );
    assert!(set.content.unwrap().contains("rbac.deny"));
    let text = refusal(h.engine.respond(click(HOST, &end, &[])).await);
    assert!(text.contains("end_meeting"), "{text}");
    // Without the deny rule, but with the moderator role unmapped, the host may no longer
    // start meetings and so may not end this one; an admin may.
    for (key, value) in [("rbac.deny", "[]"), ("rbac.roles", "{}")] {
        message(
            h.engine
                .respond(admin_cmd(
                    ADMIN,
                    &["config", "set"],
                    &[("key", s(key)), ("value", s(value))],
                ))
                .await,
        );
    }
    let text = refusal(h.engine.respond(click(HOST, &end, &[])).await);
    assert!(text.contains("end_meeting"), "{text}");
    assert!(matches!(
        h.engine.respond(click(ADMIN, &end, &[])).await,
        InteractionResponse::Update(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_may_end_their_meeting_without_end_meeting() {
    let h = harness().await;
    // Viewers may start (but not end) meetings in this guild.
    let grant = json!({VIEWER.to_string(): {"permissions": ["start_meeting"]}});
    message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[("key", s("rbac.users")), ("value", s(&grant.to_string()))],
            ))
            .await,
    );
    let card = message(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["meeting", "start"],
                &[("title", s("Viewer's"))],
            ))
            .await,
    );
    let end = action_id(&card, "End");
    let text = refusal(h.engine.respond(click(OTHER, &end, &[])).await);
    assert!(text.contains("end_meeting"), "{text}");
    assert!(matches!(
        h.engine.respond(click(VIEWER, &end, &[])).await,
        InteractionResponse::Update(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_search_pages_info_and_share() {
    let h = harness().await;
    let results = message(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["video", "search"],
                &[("query", s("the"))],
            ))
            .await,
    );
    assert!(!results.ephemeral, "search results are public");
    insta::assert_snapshot!("video_search", redacted(&results, &h.fake));
    let next = action_id(&results, "Next");
    let select = action_id(&results, "select");
    assert_eq!(select, "kd1:share");

    // The searcher pages the message itself; another member gets their own copy.
    match h.engine.respond(click(VIEWER, &next, &[])).await {
        InteractionResponse::Update(page2) => {
            assert!(format!("{page2:?}").contains("page 2 of"), "{page2:?}");
        }
        other => panic!("expected an update, got {other:?}"),
    }
    let copy = message(h.engine.respond(click(OTHER, &next, &[])).await);
    assert!(copy.ephemeral && format!("{copy:?}").contains("page 2 of"));
    // A well-formed token the bot never issued.
    let text = refusal(
        h.engine
            .respond(click(VIEWER, "kd1:page:0123456789abcdef:2", &[]))
            .await,
    );
    assert!(text.contains("outdated"), "{text}");

    // Share from the select: a public card naming the member.
    let entry = match &results.components[0] {
        ActionRow::Select(select) => select.options[0].value.clone(),
        other => panic!("expected the select first, got {other:?}"),
    };
    let shared = message(h.engine.respond(click(OTHER, &select, &[&entry])).await);
    assert!(!shared.ephemeral);
    assert_eq!(
        shared.content.as_deref(),
        Some(format!("<@{OTHER}> shared a video.").as_str())
    );
    for values in [
        vec![],
        vec![entry.as_str(), entry.as_str()],
        vec!["../../etc"],
    ] {
        let text = refusal(h.engine.respond(click(OTHER, &select, &values)).await);
        assert!(!text.is_empty());
    }

    let info = message(
        h.engine
            .respond(kaltura(VIEWER, &["video", "info"], &[("video", s(&entry))]))
            .await,
    );
    assert!(!info.ephemeral);
    assert!(
        info.embeds[0]
            .thumbnail
            .as_deref()
            .unwrap()
            .contains(&entry)
    );
    insta::assert_snapshot!("video_info", redacted(&info, &h.fake));
    let share = message(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["video", "share"],
                &[("video", s(&entry))],
            ))
            .await,
    );
    assert_eq!(share.embeds, info.embeds);
    assert!(link_urls(&info).is_empty(), "no player without a player id");
    // With a player configured, the card links to it.
    message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[
                    ("key", s("kaltura.player_ui_conf_id")),
                    ("value", s("4711")),
                ],
            ))
            .await,
    );
    let played = message(
        h.engine
            .respond(kaltura(VIEWER, &["video", "info"], &[("video", s(&entry))]))
            .await,
    );
    let urls = link_urls(&played);
    assert_eq!(urls.len(), 1, "{played:?}");
    assert!(
        urls[0].contains("4711") && urls[0].contains(&entry),
        "{urls:?}"
    );
    assert!(!urls[0].contains("ks="), "{urls:?}");

    for id in ["../../etc", "0_abc/../../x", ""] {
        let text = refusal(
            h.engine
                .respond(kaltura(VIEWER, &["video", "info"], &[("video", s(id))]))
                .await,
        );
        assert!(text.to_lowercase().contains("entry id"), "{id:?}: {text}");
    }
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["video", "info"],
                &[("video", s("0_nosuchentry"))],
            ))
            .await,
    );
    assert!(text.contains("not found"), "{text}");
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["video", "search"],
                &[("query", s("the")), ("page", OptionValue::Integer(0))],
            ))
            .await,
    );
    assert!(text.contains("search pages go from 1"), "{text}");

    // Switched off, and denied.
    message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[("key", s("features.search")), ("value", s("false"))],
            ))
            .await,
    );
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["video", "search"],
                &[("query", s("the"))],
            ))
            .await,
    );
    assert!(text.contains("turned off"), "{text}");
    let deny = json!([{"subject": {"user": OTHER.to_string()}, "permissions": ["share_media"]}]);
    message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[("key", s("rbac.deny")), ("value", s(&deny.to_string()))],
            ))
            .await,
    );
    let text = refusal(h.engine.respond(click(OTHER, &select, &[&entry])).await);
    assert!(text.contains("share_media"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_from_the_cache() {
    let h = harness().await;
    let card = start_meeting(&h, "Standup").await;
    let id = action_id(&card, "Join")
        .trim_start_matches("kd1:join:")
        .to_owned();
    let choices = match h
        .engine
        .respond(autocomplete(
            VIEWER,
            &["meeting", "join"],
            "meeting",
            "stand",
        ))
        .await
    {
        InteractionResponse::Autocomplete(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(choices.len(), 1, "{choices:?}");
    assert_eq!(choices[0].value, ChoiceValue::String(id.clone()));
    assert_eq!(choices[0].name, format!("Standup ({id})"));
    // A new meeting invalidates the guild's cached list.
    start_meeting(&h, "Retro").await;
    match h
        .engine
        .respond(autocomplete(VIEWER, &["meeting", "end"], "meeting", ""))
        .await
    {
        InteractionResponse::Autocomplete(c) => assert_eq!(c.len(), 2, "{c:?}"),
        other => panic!("{other:?}"),
    }
    match h
        .engine
        .respond(autocomplete(VIEWER, &["video", "info"], "video", "the"))
        .await
    {
        InteractionResponse::Autocomplete(c) => {
            assert!(!c.is_empty() && c.len() <= 25, "{c:?}");
            assert!(c.iter().all(|c| c.name.chars().count() <= 100));
        }
        other => panic!("{other:?}"),
    }
    // Kaltura going away does not empty a cached answer.
    h.fake.fail_next(10, Failure::Status(503));
    match h
        .engine
        .respond(autocomplete(VIEWER, &["video", "info"], "video", "the"))
        .await
    {
        InteractionResponse::Autocomplete(c) => assert!(!c.is_empty()),
        other => panic!("{other:?}"),
    }
    // A miss that fails answers empty.
    match h
        .engine
        .respond(autocomplete(VIEWER, &["video", "info"], "video", "zebra"))
        .await
    {
        InteractionResponse::Autocomplete(c) => assert!(c.is_empty(), "{c:?}"),
        other => panic!("{other:?}"),
    }
    h.fake.clear_failures();
    for (path, focused) in [
        (&["meeting", "join"][..], "title"),
        (&["video", "fly"][..], "video"),
    ] {
        assert_eq!(
            h.engine
                .respond(autocomplete(VIEWER, path, focused, "x"))
                .await,
            InteractionResponse::Autocomplete(Vec::new())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_kaltura_is_deferred_and_completed_by_an_edit() {
    let mut h = harness_with(Setup {
        deadline: Duration::from_millis(1),
        ..Setup::default()
    })
    .await;
    h.fake
        .fail_next(1, Failure::Latency(Duration::from_millis(500)));
    let response = h
        .engine
        .respond(kaltura(
            VIEWER,
            &["video", "search"],
            &[("query", s("the"))],
        ))
        .await;
    assert_eq!(response, InteractionResponse::Deferred { ephemeral: false });
    match next_call(&mut h).await {
        RestCall::EditOriginal { token, reply } => {
            assert_eq!(token, TOKEN);
            assert!(!reply.ephemeral);
            assert!(
                format!("{reply:?}").contains("Videos matching"),
                "{reply:?}"
            );
        }
        other => panic!("expected the edit, got {other:?}"),
    }

    // Ephemeral leaves defer ephemeral; a failure after the deferral is the edit.
    h.fake
        .fail_next(1, Failure::Latency(Duration::from_millis(500)));
    let response = h
        .engine
        .respond(kaltura(
            VIEWER,
            &["meeting", "join"],
            &[("meeting", s("../../etc"))],
        ))
        .await;
    // Input refused before any Kaltura call may still be deferred with a 1 ms deadline.
    match response {
        InteractionResponse::Deferred { ephemeral: true } => match next_call(&mut h).await {
            RestCall::EditOriginal { reply, .. } => {
                assert!(reply.content.unwrap().contains("not a meeting id"))
            }
            other => panic!("{other:?}"),
        },
        InteractionResponse::Message(reply) => {
            assert!(reply.ephemeral && reply.content.unwrap().contains("not a meeting id"))
        }
        other => panic!("{other:?}"),
    }
    h.fake.clear_failures();

    // A click that would replace its message defers as an update; its refusal goes to the
    // clicker alone as a follow-up.
    h.fake
        .fail_next(1, Failure::Latency(Duration::from_millis(500)));
    let response = h.engine.respond(click(VIEWER, "kd1:end:4242", &[])).await;
    match response {
        InteractionResponse::DeferredUpdate => match next_call(&mut h).await {
            RestCall::Followup { token, reply } => {
                assert_eq!(token, TOKEN);
                assert!(reply.ephemeral);
                assert!(reply.content.unwrap().contains("end_meeting"));
            }
            other => panic!("{other:?}"),
        },
        InteractionResponse::Message(reply) => {
            assert!(reply.ephemeral && reply.content.unwrap().contains("end_meeting"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_kaltura_gets_a_generic_reply() {
    let h = harness_with(Setup {
        default_account: Some(unreachable_account(12345)),
        ..Setup::default()
    })
    .await;
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["video", "info"],
                &[("video", s("0_abc"))],
            ))
            .await,
    );
    assert_eq!(text, "Kaltura could not be reached; try again in a moment.");
    assert!(!text.contains("127.0.0.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guilds_use_their_partner_or_are_told_they_are_not_set_up() {
    // The operator points guilds at partner 777, which the engine does not serve.
    let h = harness_with(Setup {
        env: vec![(
            "KD__GUILD_DEFAULTS__KALTURA__PARTNER_ID".into(),
            "777".into(),
        )],
        ..Setup::default()
    })
    .await;
    let text = refusal(
        h.engine
            .respond(kaltura(VIEWER, &["meeting", "list"], &[]))
            .await,
    );
    assert!(text.contains("not set up for Kaltura"), "{text}");

    // The fake's partner as an extra account: guilds naming it use it.
    let fake_partner = PartnerId::new(kaltura_client::fake::DEFAULT_PARTNER_ID);
    let h = harness_with(Setup {
        env: vec![(
            "KD__GUILD_DEFAULTS__KALTURA__PARTNER_ID".into(),
            fake_partner.to_string(),
        )],
        default_account: Some(unreachable_account(999)),
        fake_as_extra: true,
        ..Setup::default()
    })
    .await;
    let reply = message(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["video", "search"],
                &[("query", s("the"))],
            ))
            .await,
    );
    assert!(
        format!("{reply:?}").contains("Videos matching"),
        "{reply:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_who_need_proof_are_sent_to_the_identity_page() {
    let h = harness_with(Setup {
        identity_page: Some("https://kd.example.org"),
        ..Setup::default()
    })
    .await;
    let reply = message(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["link"],
                &[("kaltura_user", s("ada@example.org"))],
            ))
            .await,
    );
    assert!(reply.ephemeral);
    let json = reply.to_message_json();
    let button = &json["components"][0]["components"][0];
    assert_eq!(button["style"], 5, "{json}");
    assert_eq!(
        button["url"],
        format!("https://kd.example.org/link?guild_id={}", guild())
    );
    assert!(
        json["content"]
            .as_str()
            .unwrap()
            .contains("sign in with your Kaltura login"),
        "{json}"
    );
    assert!(
        CommandEngine::builder()
            .identity_page_base("javascript:alert(1)")
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_link_unlink_and_see_who_they_are() {
    let h = harness().await;
    let whoami = message(h.engine.respond(kaltura(VIEWER, &["whoami"], &[])).await);
    assert!(whoami.ephemeral);
    insta::assert_debug_snapshot!("whoami", whoami);

    // Without proof: the reply says how to get one.
    let text = message(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["link"],
                &[("kaltura_user", s("ada@example.org"))],
            ))
            .await,
    )
    .content
    .unwrap();
    assert!(
        text.contains("needs proof") && text.contains("/kaltura-admin identity link"),
        "{text}"
    );
    // Another member's derived id: nobody may take it.
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["link"],
                &[("kaltura_user", s("discord_4004"))],
            ))
            .await,
    );
    assert!(text.contains("belongs to another member"), "{text}");
    let text = refusal(
        h.engine
            .respond(kaltura(
                VIEWER,
                &["link"],
                &[("kaltura_user", s("../../etc passwd"))],
            ))
            .await,
    );
    assert!(!text.is_empty());

    // An admin assigns one; it shows, and the member removes it.
    client(&h.fake)
        .user()
        .add("ada@example.org")
        .send()
        .await
        .unwrap();
    let viewer = DiscordUserId::new(VIEWER).unwrap();
    let denied = refusal(
        h.engine
            .respond(admin_cmd(
                OTHER,
                &["identity", "link"],
                &[
                    ("member", OptionValue::User(viewer)),
                    ("kaltura_user", s("ada@example.org")),
                ],
            ))
            .await,
    );
    assert!(denied.contains("manage_identities"), "{denied}");
    let linked = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["identity", "link"],
                &[
                    ("member", OptionValue::User(viewer)),
                    ("kaltura_user", s("ada@example.org")),
                ],
            ))
            .await,
    );
    assert_eq!(
        linked.content.as_deref(),
        Some("<@1001> is now linked to Kaltura user `ada@example.org`.")
    );
    let shown = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["identity", "show"],
                &[("member", OptionValue::User(viewer))],
            ))
            .await,
    );
    assert!(shown.content.unwrap().contains("ada@example.org"));
    let whoami = message(h.engine.respond(kaltura(VIEWER, &["whoami"], &[])).await);
    assert!(format!("{whoami:?}").contains("ada@example.org"));
    let unlinked = message(h.engine.respond(kaltura(VIEWER, &["unlink"], &[])).await);
    assert!(unlinked.content.unwrap().contains("has been removed"));
    let again = message(h.engine.respond(kaltura(VIEWER, &["unlink"], &[])).await);
    assert!(again.content.unwrap().contains("were not linked"));
    let gone = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["identity", "unlink"],
                &[("member", OptionValue::User(viewer))],
            ))
            .await,
    );
    assert!(gone.content.unwrap().contains("was not linked"));
    let shown = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["identity", "show"],
                &[("member", OptionValue::User(viewer))],
            ))
            .await,
    );
    assert!(shown.content.unwrap().contains("discord_1001"));
    let text = refusal(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["identity", "show"],
                &[("member", s("1001"))],
            ))
            .await,
    );
    assert!(text.contains("must be a member"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_show_set_reset_and_explain_the_configuration() {
    let h = harness().await;
    for leaf in ["show", "explain"] {
        let text = refusal(
            h.engine
                .respond(admin_cmd(VIEWER, &["config", leaf], &[]))
                .await,
        );
        assert!(text.contains("manage_config"), "{text}");
    }
    let shown = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "show"],
                &[("section", s("meetings"))],
            ))
            .await,
    );
    assert!(shown.ephemeral);
    insta::assert_debug_snapshot!("config_show_meetings", shown);
    let all = message(
        h.engine
            .respond(admin_cmd(ADMIN, &["config", "show"], &[]))
            .await,
    );
    let all = format!("{all:?}");
    assert!(
        all.contains("features.search") && all.contains("locale"),
        "{all}"
    );

    let set = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[
                    ("key", s("meetings.default_duration_minutes")),
                    ("value", s("90")),
                ],
            ))
            .await,
    );
    assert_eq!(
        set.content.as_deref(),
        Some(
            "`meetings.default_duration_minutes` is now `90` in this server (settings version 2)."
        )
    );
    let explained = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "explain"],
                &[("key", s("meetings.default_duration_minutes"))],
            ))
            .await,
    );
    let explained = format!("{explained:?}");
    assert!(
        explained.contains("`90` — from this server's settings"),
        "{explained}"
    );
    // It applies at once: a new meeting lasts 90 minutes.
    let card = start_meeting(&h, "Long").await;
    let _ = card;

    for (key, value, needle) in [
        (
            "meetings.default_duration_minutes",
            "abc",
            "default_duration_minutes",
        ),
        (
            "meetings.default_duration_minutes",
            "2",
            "default_duration_minutes",
        ),
        ("../../etc", "1", "a setting is named like"),
        ("discord.token", "\"x\"", "discord"),
        ("kaltura.partner_id", "777", "partner"),
        ("nosuch", "1", "nosuch"),
    ] {
        let text = refusal(
            h.engine
                .respond(admin_cmd(
                    ADMIN,
                    &["config", "set"],
                    &[("key", s(key)), ("value", s(value))],
                ))
                .await,
        );
        assert!(text.contains(needle), "{key}={value}: {text}");
    }
    let text = refusal(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "show"],
                &[("section", s("nosuch"))],
            ))
            .await,
    );
    assert!(text.contains("no setting is named"), "{text}");

    let reset = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "reset"],
                &[("key", s("meetings.default_duration_minutes"))],
            ))
            .await,
    );
    assert!(reset.content.unwrap().contains("is reset"));
    let again = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "reset"],
                &[("key", s("meetings.default_duration_minutes"))],
            ))
            .await,
    );
    assert!(again.content.unwrap().contains("does not set"));
    let explained = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "explain"],
                &[("key", s("meetings.default_duration_minutes"))],
            ))
            .await,
    );
    assert!(format!("{explained:?}").contains("`60` — from the built-in defaults"));
    // What the store holds matches.
    let stored = h.store.get_override(guild()).await.unwrap().unwrap();
    assert!(
        !stored.document.contains_key("meetings"),
        "{:?}",
        stored.document
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_notify() {
    let h = harness().await;
    start_meeting(&h, "Audited").await;
    let text = refusal(
        h.engine
            .respond(admin_cmd(VIEWER, &["audit", "recent"], &[]))
            .await,
    );
    assert!(text.contains("view_audit_log"), "{text}");
    for limit in [0, 26, -1] {
        let text = refusal(
            h.engine
                .respond(admin_cmd(
                    ADMIN,
                    &["audit", "recent"],
                    &[("limit", OptionValue::Integer(limit))],
                ))
                .await,
        );
        assert!(text.contains("the limit is 1 to 25"), "{text}");
    }
    let recent = message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["audit", "recent"],
                &[("limit", OptionValue::Integer(1))],
            ))
            .await,
    );
    assert!(recent.ephemeral);
    let text = format!("{recent:?}");
    assert!(
        text.contains("meeting\\\\_started") || text.contains("meeting_started"),
        "{text}"
    );
    assert!(text.contains("the last 1"), "{text}");

    // This engine has no notification store: every leaf says so (after the permission).
    for leaf in [
        "subscribe",
        "unsubscribe",
        "list",
        "test",
        "history",
        "replay",
    ] {
        let reply = message(
            h.engine
                .respond(admin_cmd(ADMIN, &["notify", leaf], &[]))
                .await,
        );
        assert!(reply.ephemeral);
        assert!(
            reply
                .content
                .unwrap()
                .contains("not configured for this bot")
        );
        let text = refusal(
            h.engine
                .respond(admin_cmd(VIEWER, &["notify", leaf], &[]))
                .await,
        );
        assert!(text.contains("manage_notifications"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meetings_are_mirrored_as_scheduled_events_when_configured() {
    let mut h = harness().await;
    // Off by default: no REST call.
    start_meeting(&h, "Quiet").await;
    assert!(h.calls.try_recv().is_err());

    message(
        h.engine
            .respond(admin_cmd(
                ADMIN,
                &["config", "set"],
                &[("key", s("meetings.discord_events")), ("value", s("true"))],
            ))
            .await,
    );
    let card = start_meeting(&h, "Town hall").await;
    match h.calls.try_recv().unwrap() {
        RestCall::CreateEvent(g, spec) => {
            assert_eq!(g, guild());
            assert_eq!(spec.name, "Town hall");
            assert_eq!(spec.location, "https://12345.kaf.kaltura.com/");
            assert!(!spec.location.contains("ks"));
            assert!(spec.start_unix >= NOW && spec.end_unix > spec.start_unix);
        }
        other => panic!("{other:?}"),
    }
    // Ended after its start: completed.
    let end = action_id(&card, "End");
    assert!(matches!(
        h.engine.respond(click(HOST, &end, &[])).await,
        InteractionResponse::Update(_)
    ));
    match h.calls.try_recv().unwrap() {
        RestCall::CloseEvent(g, event, closure) => {
            assert_eq!(g, guild());
            assert_eq!(event.get(), 777_000_000_000_000_001);
            assert_eq!(closure, EventClosure::Completed);
        }
        other => panic!("{other:?}"),
    }
    // Ended before its start: cancelled.
    let card = start_meeting(&h, "Later").await;
    assert!(matches!(
        h.calls.try_recv().unwrap(),
        RestCall::CreateEvent(..)
    ));
    h.clock.set(NOW - 3600);
    let id = action_id(&card, "End")
        .trim_start_matches("kd1:end:")
        .to_owned();
    message(
        h.engine
            .respond(kaltura(HOST, &["meeting", "end"], &[("meeting", s(&id))]))
            .await,
    );
    match h.calls.try_recv().unwrap() {
        RestCall::CloseEvent(_, _, closure) => assert_eq!(closure, EventClosure::Canceled),
        other => panic!("{other:?}"),
    }
    h.clock.set(NOW);

    // Discord refusing the event does not fail the meeting.
    h.rest.refuse_events.store(true, Ordering::SeqCst);
    let card = start_meeting(&h, "Despite Discord").await;
    assert_eq!(card.embeds[0].title.as_deref(), Some("Despite Discord"));
    assert!(matches!(
        h.calls.try_recv().unwrap(),
        RestCall::CreateEvent(..)
    ));
    let end = action_id(&card, "End");
    assert!(matches!(
        h.engine.respond(click(HOST, &end, &[])).await,
        InteractionResponse::Update(_)
    ));
    assert!(
        h.calls.try_recv().is_err(),
        "no event was recorded, so none is closed"
    );
}

#[test]
fn no_token_join_link_or_secret_reaches_the_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites first hit by tests running in parallel without a subscriber may have cached
    // "never interested": recompute every callsite's interest now that this one is set.
    tracing::callsite::rebuild_interest_cache();
    // One thread, so that the spawned handler tasks log through this subscriber too.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (secret, join_url, responses) = runtime.block_on(async {
        let h = harness().await;
        let secret = secrecy::ExposeSecret::expose_secret(h.fake.admin_secret()).to_owned();
        let card = start_meeting(&h, "Secret plans").await;
        let join = action_id(&card, "Join");
        let mine = message(h.engine.respond(click(VIEWER, &join, &[])).await);
        let join_url = link_urls(&mine).remove(0);
        let mut responses = vec![format!("{card:?}")];
        // Refusals, a Kaltura failure and a forged click, all logged. Every call fails until
        // the failures are cleared, so background calls (cache fills) cannot use them up.
        h.fake.fail_next(1000, Failure::Status(500));
        for interaction in [
            kaltura(VIEWER, &["video", "info"], &[("video", s("0_abc"))]),
            kaltura(VIEWER, &["meeting", "start"], &[("title", s("x"))]),
            click(VIEWER, "kd1:join:../../etc", &[]),
            kaltura(VIEWER, &["link"], &[("kaltura_user", s("someone"))]),
        ] {
            responses.push(format!("{:?}", h.engine.respond(interaction).await));
        }
        h.fake.clear_failures();
        responses.push(format!("{:?}", h.engine));
        (secret, join_url, responses)
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The handler spans were captured, so the leak checks below read real log output.
    assert!(
        logs.contains("meetings.start{"),
        "the logs were captured: {logs}"
    );
    for text in responses.iter().chain(std::iter::once(&logs)) {
        assert!(!text.contains(TOKEN), "interaction token leaked: {text}");
        assert!(!text.contains(&secret), "admin secret leaked: {text}");
        assert!(!text.contains(&join_url), "join link leaked: {text}");
        assert!(!text.contains("ks="), "a KS leaked: {text}");
    }
}
