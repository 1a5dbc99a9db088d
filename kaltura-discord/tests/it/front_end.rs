//! The whole Discord front end, for real: signed HTTP requests on a loopback socket →
//! `InteractionsEndpoint` → `CommandEngine` (fake Kaltura with demo data, SQLite in a
//! temporary folder, the configuration resolver over the store) → deferred replies
//! completed through `TwilightRest` against a fake Discord (wiremock on loopback).
//!
//! Requests are signed with ed25519-dalek from the seed `[7u8; 32]`. Waiting for the fake
//! Discord is event-driven: its responder sends each request it answers on a channel, and
//! every wait is bounded by `tokio::time::timeout` (a bound for failure, never a sleep used
//! for timing).

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer as _, SigningKey};
use kaltura_client::fake::{Failure, FakeClock, FakeKaltura};
use kaltura_client::{Client, ks};
use kaltura_discord::commands::CommandEngine;
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::http::{DiscordPublicKey, InteractionsEndpoint};
use kaltura_discord::rest::twilight::TwilightRest;
use kaltura_discord::store::GuildOverrideStore as _;
use kaltura_discord::{DiscordUserId, GuildId};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

/// The engine's clock (2027-01-15), so meeting times in the snapshot are stable.
const NOW: i64 = 1_800_000_000;
/// How long the engine waits before deferring. Short, yet far above what a fast command
/// needs on loopback even on a loaded machine.
const DEADLINE: Duration = Duration::from_millis(250);
/// The latency the fake Kaltura injects: well past the deadline.
const SLOW: Duration = Duration::from_millis(1500);
/// The bound on every wait; reaching it is a failure.
const BOUND: Duration = Duration::from_secs(20);

const APP: u64 = 1_234_567_890_123_456_789;
const GUILD: u64 = 987_654_321_098_765_432;
const CHANNEL: u64 = 1_122_334_455_667_788_990;
const CARD_MESSAGE: u64 = 1_300_000_000_000_000_777;
const HOST: u64 = 222_222_222_222_222_222;
const MEMBER: u64 = 444_444_444_444_444_444;
const MODERATOR_ROLE: &str = "1200000000000000010";
const BOT_TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.MARKER-BOT-TOKEN.x";

/// A distinct interaction token per request (URL-safe, as Discord's are).
fn token(name: &str) -> String {
    format!("aW50ZXJhY3Rpb246MARKER-{name}-TOKEN")
}

fn edit_path(token: &str) -> String {
    format!("/api/v10/webhooks/{APP}/{token}/messages/@original")
}

/// Matches requests WITHOUT an `Authorization` header (interaction-token routes).
struct NoAuthorization;

impl Match for NoAuthorization {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key("authorization")
    }
}

/// Answers like Discord's message edit and reports each request on a channel.
struct Notifying(mpsc::UnboundedSender<Request>);

impl Respond for Notifying {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let _ = self.0.send(request.clone());
        ResponseTemplate::new(200).set_body_json(json!({
            "id": CARD_MESSAGE.to_string(),
            "channel_id": CHANNEL.to_string(),
            "content": "",
        }))
    }
}

struct FrontEnd {
    fake: FakeKaltura,
    _store: crate::support::TestStore,
    discord: MockServer,
    http: reqwest::Client,
    url: String,
    key: SigningKey,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FrontEnd {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn front_end() -> FrontEnd {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let t = crate::support::sqlite().await;
    let store = Arc::new(t.store.clone());
    // The moderator role, mapped the way an admin would: a guild override in the store.
    store
        .update_override(
            GuildId::new(GUILD).unwrap(),
            DiscordUserId::new(HOST).unwrap(),
            &|doc: &mut Map<String, Value>| {
                doc.insert(
                    "rbac".into(),
                    json!({"roles": {MODERATOR_ROLE: "moderator"}}),
                );
                Ok(())
            },
        )
        .await
        .unwrap();
    let resolver = Arc::new(
        ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap()
            .with_store(store.clone()),
    );
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap();
    let account = KalturaAccount::new(client, fake.admin_secret())
        .unwrap()
        .with_media_base(fake.url())
        .unwrap();

    let discord = MockServer::start().await;
    let rest = TwilightRest::builder(SecretString::from(BOT_TOKEN.to_owned()))
        .base_url(discord.uri())
        .build()
        .unwrap();
    let engine = CommandEngine::builder()
        .resolver(resolver)
        .account(account)
        .stores(store)
        .rest(Arc::new(rest))
        .clock(Arc::new(FakeClock::fixed(NOW)))
        .deadline(DEADLINE)
        .build()
        .unwrap();

    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = DiscordPublicKey::from_bytes(&key.verifying_key().to_bytes()).unwrap();
    let router = InteractionsEndpoint::new(Arc::new(engine), public).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    FrontEnd {
        fake,
        _store: t,
        discord,
        http: reqwest::Client::new(),
        url: format!("http://{addr}/interactions"),
        key,
        server,
    }
}

impl FrontEnd {
    /// POSTs `body`, signed as Discord signs it; the status and the JSON answer.
    async fn post(&self, body: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(body).unwrap();
        let ts = "1764500000";
        let signature = hex::encode(self.key.sign(&[ts.as_bytes(), &body].concat()).to_bytes());
        let response = tokio::time::timeout(
            BOUND,
            self.http
                .post(&self.url)
                .header("content-type", "application/json")
                .header("x-signature-ed25519", signature)
                .header("x-signature-timestamp", ts)
                .body(body)
                .send(),
        )
        .await
        .expect("the endpoint answers within the bound")
        .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.unwrap();
        assert_eq!(content_type.as_deref(), Some("application/json"));
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Mounts the fake Discord's `PATCH …/messages/@original` for `token`, expected
    /// `times` times, without an `Authorization` header; its requests arrive on the
    /// returned channel.
    async fn expect_edit(
        &self,
        token: &str,
        times: impl Into<wiremock::Times>,
    ) -> mpsc::UnboundedReceiver<Request> {
        let (tx, rx) = mpsc::unbounded_channel();
        Mock::given(method("PATCH"))
            .and(path(edit_path(token)))
            .and(NoAuthorization)
            .respond_with(Notifying(tx))
            .expect(times)
            .named(format!("edit of {token}"))
            .mount(&self.discord)
            .await;
        rx
    }

    /// How many requests the fake Discord has received so far.
    async fn discord_requests(&self) -> Vec<Request> {
        self.discord.received_requests().await.unwrap_or_default()
    }
}

/// The next request the fake Discord answered on `rx`, as JSON; fails after [`BOUND`].
async fn next_edit(rx: &mut mpsc::UnboundedReceiver<Request>) -> Value {
    let request = tokio::time::timeout(BOUND, rx.recv())
        .await
        .expect("the deferred reply is edited within the bound")
        .expect("the mock is alive");
    assert_eq!(
        request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    serde_json::from_slice(&request.body).unwrap()
}

fn member(user: u64, name: &str, roles: &[&str]) -> Value {
    json!({
        "user": {"id": user.to_string(), "username": name, "global_name": name, "discriminator": "0"},
        "nick": null,
        "roles": roles,
        // VIEW_CHANNEL | SEND_MESSAGES | USE_APPLICATION_COMMANDS: no administrative bit.
        "permissions": "2147486720",
        "joined_at": "2023-04-12T09:30:15.123000+00:00",
        "deaf": false, "mute": false, "flags": 0, "pending": false,
    })
}

fn envelope(kind: u8, id: u64, token: &str, member: Value, data: Value) -> Value {
    json!({
        "type": kind,
        "id": id.to_string(),
        "application_id": APP.to_string(),
        "token": token,
        "version": 1,
        "guild_id": GUILD.to_string(),
        "channel_id": CHANNEL.to_string(),
        "channel": {"id": CHANNEL.to_string(), "type": 0, "guild_id": GUILD.to_string()},
        "locale": "en-GB",
        "guild_locale": "en-US",
        "app_permissions": "2147601408",
        "entitlements": [],
        "member": member,
        "data": data,
    })
}

/// `/kaltura <group> <leaf> options…` (or `/kaltura <leaf>` without a group).
fn slash(
    id: u64,
    token: &str,
    member: Value,
    group: Option<&str>,
    leaf: &str,
    options: Value,
) -> Value {
    let leaf = json!({"name": leaf, "type": 1, "options": options});
    let top = match group {
        Some(g) => json!({"name": g, "type": 2, "options": [leaf]}),
        None => leaf,
    };
    envelope(
        2,
        id,
        token,
        member,
        json!({"id": "1300000000000000001", "name": "kaltura", "type": 1, "options": [top]}),
    )
}

fn click(id: u64, token: &str, member: Value, custom_id: &str) -> Value {
    let mut body = envelope(
        3,
        id,
        token,
        member,
        json!({"custom_id": custom_id, "component_type": 2}),
    );
    body["message"] = json!({
        "id": CARD_MESSAGE.to_string(),
        "channel_id": CHANNEL.to_string(),
        "content": "",
        "flags": 0,
    });
    body
}

/// Every button of a message JSON (edit body or response `data`).
fn buttons(message: &Value) -> Vec<&Value> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .collect()
}

/// The custom id of the button labelled `label`.
fn custom_id(message: &Value, label: &str) -> String {
    buttons(message)
        .into_iter()
        .find(|b| b["label"] == label)
        .and_then(|b| b["custom_id"].as_str())
        .unwrap_or_else(|| panic!("no {label:?} button in {message}"))
        .to_owned()
}

/// The Kaltura user id `whoami` shows (the code span of its "Kaltura user" field).
fn whoami_user(answer: &Value) -> String {
    let field = answer["data"]["embeds"][0]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == "Kaltura user")
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("no Kaltura user field in {answer}"));
    field
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no user id in {field:?}"))
        .to_owned()
}

/// The `ks` of a join URL, decoded with the fake's admin secret.
fn join_ks_user(url: &str, fake: &FakeKaltura) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    let ks = url
        .query_pairs()
        .find(|(k, _)| k == "ks")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no ks in the join link"));
    let decoded = ks::decode(&ks, fake.admin_secret()).unwrap();
    assert_eq!(decoded.partner_id, fake.partner_id());
    decoded.user_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_commands_are_deferred_and_completed_through_discord_rest() {
    let fe = front_end().await;
    let host = || member(HOST, "Hana Host", &[MODERATOR_ROLE]);
    let clicker = || member(MEMBER, "Mo Member", &[]);

    // PING, answered by the endpoint itself.
    let (status, pong) = fe.post(&json!({"type": 1})).await;
    assert_eq!((status, pong), (200, json!({"type": 1})));

    // `/kaltura meeting start` with Kaltura slower than the deadline: a public deferral,
    // then the card as an edit of the original reply, sent with the interaction token
    // alone (no bot token).
    let start_token = token("START");
    let mut start_edits = fe.expect_edit(&start_token, 1).await;
    fe.fake.fail_next(1, Failure::Latency(SLOW));
    let asked = tokio::time::Instant::now();
    let (status, deferred) = fe
        .post(&slash(
            1_311_111_111_111_111_101,
            &start_token,
            host(),
            Some("meeting"),
            "start",
            json!([{"name": "title", "type": 3, "value": "Weekly sync"}]),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(deferred, json!({"type": 5}), "public deferral, no flags");
    assert!(
        asked.elapsed() < SLOW,
        "the deferral comes before Kaltura answers"
    );
    let card = next_edit(&mut start_edits).await;
    assert_eq!(card["embeds"][0]["title"], "Weekly sync", "{card}");
    let join = custom_id(&card, "Join");
    assert!(join.starts_with("kd1:join:"), "{join}");
    let meeting_id = join.trim_start_matches("kd1:join:").to_owned();
    assert!(!meeting_id.is_empty());
    let card_text = card.to_string();
    assert!(!card_text.contains("ks="), "no join link in public: {card}");
    assert!(!card_text.contains("MARKER"), "no token in the body");
    // The snapshot, with the meeting id (assigned by the fake) redacted.
    let redacted: Value =
        serde_json::from_str(&card_text.replace(&meeting_id, "[meeting-id]")).unwrap();
    insta::assert_json_snapshot!("meeting_card_edit", redacted);

    // `/kaltura meeting list` (ephemeral) with the same latency: an ephemeral deferral,
    // then the list as the edit.
    let list_token = token("LIST");
    let mut list_edits = fe.expect_edit(&list_token, 1).await;
    fe.fake.fail_next(1, Failure::Latency(SLOW));
    let (status, deferred) = fe
        .post(&slash(
            1_311_111_111_111_111_102,
            &list_token,
            clicker(),
            Some("meeting"),
            "list",
            json!([]),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(deferred, json!({"type": 5, "data": {"flags": 64}}));
    let list = next_edit(&mut list_edits).await;
    assert!(list.to_string().contains("Weekly sync"), "{list}");
    assert_eq!(custom_id(&list, "Join Weekly sync"), join);
    // An edit cannot change a message's flags; the deferral made it ephemeral.
    assert_eq!(list.get("flags"), None, "{list}");

    // A fast command: answered inline, nothing sent to Discord.
    let whoami_token = token("WHOAMI");
    Mock::given(path_regex(format!(".*{whoami_token}.*")))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .named("nothing for an inline answer")
        .mount(&fe.discord)
        .await;
    let before = fe.discord_requests().await.len();
    let (status, whoami) = fe
        .post(&slash(
            1_311_111_111_111_111_103,
            &whoami_token,
            clicker(),
            None,
            "whoami",
            json!([]),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(whoami["type"], 4, "{whoami}");
    assert_eq!(whoami["data"]["flags"], 64, "{whoami}");
    let clicker_user = whoami_user(&whoami);
    assert!(clicker_user.contains(&MEMBER.to_string()), "{clicker_user}");

    // The Join button, clicked by another member than the host: the link is theirs.
    let click_token = token("CLICK");
    let mut click_edits = fe.expect_edit(&click_token, 0..=1).await;
    let (status, answer) = fe
        .post(&click(
            1_311_111_111_111_111_104,
            &click_token,
            clicker(),
            &join,
        ))
        .await;
    assert_eq!(status, 200);
    // Fast enough to be inline; on a very loaded machine it may be deferred and edited.
    let link_message = match answer["type"].as_u64() {
        Some(4) => {
            assert_eq!(answer["data"]["flags"], 64, "{answer}");
            answer["data"].clone()
        }
        Some(5) => {
            assert_eq!(answer, json!({"type": 5, "data": {"flags": 64}}));
            next_edit(&mut click_edits).await
        }
        _ => panic!("unexpected answer to the click: {answer}"),
    };
    let link = buttons(&link_message)
        .into_iter()
        .find(|b| b["style"] == 5)
        .and_then(|b| b["url"].as_str())
        .unwrap_or_else(|| panic!("no link button in {link_message}"))
        .to_owned();
    assert!(link.contains("/virtualEvent/launch?ks="), "{link}");
    let ks_user = join_ks_user(&link, &fe.fake);
    assert_eq!(ks_user, clicker_user, "the link is for the clicker");
    assert!(
        !ks_user.contains(&HOST.to_string()),
        "not the host's: {ks_user}"
    );

    // Exactly the two edits (and the click's, if it was deferred) reached Discord, and
    // nothing after the inline whoami came from it.
    let requests = fe.discord_requests().await;
    let after_whoami = &requests[before..];
    assert!(
        after_whoami
            .iter()
            .all(|r| r.url.path() == edit_path(&click_token)),
        "only the click's edit may follow whoami: {:?}",
        after_whoami
            .iter()
            .map(|r| r.url.path())
            .collect::<Vec<_>>()
    );
    let paths: Vec<String> = requests[..before]
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        paths,
        vec![
            format!("PATCH {}", edit_path(&start_token)),
            format!("PATCH {}", edit_path(&list_token)),
        ]
    );
    fe.discord.verify().await;
}
