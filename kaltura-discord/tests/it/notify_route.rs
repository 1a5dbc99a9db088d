//! Routing and the notify commands end to end: the fake Kaltura (demo catalog), the real
//! SqlStore on SQLite, the EventRouter and the CommandEngine.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kaltura_client::fake::{FakeClock, FakeKaltura};
use kaltura_client::types::{MediaEntryInput, MediaType};
use kaltura_client::{Client, PartnerId};
use kaltura_discord::commands::definition::Registration;
use kaltura_discord::commands::interaction::{
    CommandInvocation, CommandOption, Invoker, OptionValue,
};
use kaltura_discord::commands::reply::{InteractionResponse, Reply};
use kaltura_discord::commands::{
    CommandEngine, Interaction, InteractionContext, InteractionHandler as _, InteractionToken,
};
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::notify::route::EventRouter;
use kaltura_discord::notify::{
    DeliveryOutcome, DeliveryStatus, EventId, EventKind, InboundEvent, NewDelivery,
    NotificationMeta, NotificationStore, RouteFilters, StoredEvent, Subscription, WorkerId,
};
use kaltura_discord::rbac::DiscordPermissions;
use kaltura_discord::rest::{
    DiscordRest, EventClosure, RegisteredCommand, ScheduledEventSpec, WebhookUrl,
};
use kaltura_discord::store::{GuildOverrideStore, SqlStore};
use kaltura_discord::{
    ApplicationId, ChannelId, DiscordUserId, GuildId, InteractionId, MessageId, RoleId,
    ScheduledEventId,
};
use serde_json::{Map, Value, json};

const NOW: i64 = 1_800_000_000;
const ADMIN: u64 = 3003;
const VIEWER: u64 = 1001;
const WEBHOOK: &str =
    "https://discord.com/api/webhooks/123456789/canary-webhook-token-must-stay-secret";

fn guild() -> GuildId {
    GuildId::new(613_425_648_685_547_541).unwrap()
}
fn ch(n: u64) -> ChannelId {
    ChannelId::new(900_000 + n).unwrap()
}
fn role() -> RoleId {
    RoleId::new(555_000_000_000_000_001).unwrap()
}

/// Records posted messages.
#[derive(Default)]
struct Rest {
    posted: Mutex<Vec<(ChannelId, Reply)>>,
}

#[async_trait]
impl DiscordRest for Rest {
    async fn edit_original(
        &self,
        _: ApplicationId,
        _: &InteractionToken,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
    async fn create_followup(
        &self,
        _: ApplicationId,
        _: &InteractionToken,
        _: &Reply,
    ) -> kaltura_discord::Result<MessageId> {
        Ok(MessageId::new(1).unwrap())
    }
    async fn list_commands(
        &self,
        _: ApplicationId,
        _: Option<GuildId>,
    ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
        Ok(Vec::new())
    }
    async fn register_commands(
        &self,
        _: ApplicationId,
        _: Option<GuildId>,
        _: &Registration,
    ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
        Ok(Vec::new())
    }
    async fn create_scheduled_event(
        &self,
        _: GuildId,
        _: &ScheduledEventSpec,
    ) -> kaltura_discord::Result<ScheduledEventId> {
        Ok(ScheduledEventId::new(1).unwrap())
    }
    async fn close_scheduled_event(
        &self,
        _: GuildId,
        _: ScheduledEventId,
        _: EventClosure,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
    async fn create_message(
        &self,
        channel: ChannelId,
        reply: &Reply,
    ) -> kaltura_discord::Result<MessageId> {
        self.posted.lock().unwrap().push((channel, reply.clone()));
        Ok(MessageId::new(77).unwrap())
    }
    async fn edit_message(
        &self,
        _: ChannelId,
        _: MessageId,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
    async fn execute_webhook(
        &self,
        _: &WebhookUrl,
        _: &Reply,
    ) -> kaltura_discord::Result<MessageId> {
        Ok(MessageId::new(78).unwrap())
    }
    async fn edit_webhook_message(
        &self,
        _: &WebhookUrl,
        _: MessageId,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
}

struct H {
    fake: FakeKaltura,
    store: SqlStore,
    _t: crate::support::TestStore,
    resolver: Arc<ConfigResolver>,
    router: EventRouter,
    rest: Arc<Rest>,
    engine: CommandEngine,
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

async fn harness(with_store: bool) -> H {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let t = crate::support::sqlite().await;
    let store = t.store.clone();
    let resolver = Arc::new(
        ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap()
            .with_store(Arc::new(store.clone())),
    );
    let clock = FakeClock::fixed(NOW);
    let router = EventRouter::builder()
        .store(Arc::new(store.clone()))
        .resolver(resolver.clone())
        .account(account(&fake))
        .clock(Arc::new(clock.clone()))
        .lease_secs(60)
        .build()
        .unwrap();
    let rest = Arc::new(Rest::default());
    let mut builder = CommandEngine::builder()
        .resolver(resolver.clone())
        .stores(Arc::new(store.clone()))
        .rest(rest.clone())
        .account(account(&fake))
        .clock(Arc::new(clock.clone()))
        .deadline(Duration::from_secs(60));
    if with_store {
        builder = builder.notifications(Arc::new(store.clone()));
    }
    H {
        engine: builder.build().unwrap(),
        fake,
        store,
        _t: t,
        resolver,
        router,
        rest,
        clock,
    }
}

fn partner(h: &H) -> PartnerId {
    h.fake.partner_id()
}

/// The newest READY demo entry's id.
async fn demo_entry(h: &H) -> kaltura_client::types::MediaEntry {
    client(&h.fake)
        .media()
        .list()
        .page_size(1)
        .send()
        .await
        .unwrap()
        .objects
        .into_iter()
        .next()
        .unwrap()
}

fn event(h: &H, kind: EventKind, subject: &str, object: Value) -> StoredEvent {
    StoredEvent {
        id: EventId(1),
        event: InboundEvent {
            partner_id: partner(h),
            dedup_key: format!("job:{subject}"),
            kind: Some(kind),
            subject: Some(subject.to_owned()),
            object,
            meta: NotificationMeta::default(),
            received_at: NOW,
        },
    }
}

async fn subscribe(h: &H, channel: ChannelId, kind: EventKind, filters: RouteFilters) {
    h.store
        .subscribe(&Subscription {
            id: None,
            guild: guild(),
            partner_id: partner(h),
            kind,
            channel,
            webhook: None,
            mention_roles: vec![role()],
            template: None,
            filters,
            created_by: DiscordUserId::new(ADMIN).unwrap(),
            created_at: NOW,
        })
        .await
        .unwrap();
}

fn channels(deliveries: &[NewDelivery]) -> Vec<ChannelId> {
    let mut c: Vec<ChannelId> = deliveries.iter().map(|d| d.channel).collect();
    c.sort();
    c
}

#[tokio::test]
async fn routes_by_kind_and_each_filter() {
    let h = harness(true).await;
    let entry = demo_entry(&h).await;
    let tag = entry.tags.clone().unwrap();
    let first_tag = tag.split(',').next().unwrap().trim().to_owned();
    let category: i64 = entry
        .categories_ids
        .clone()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let owner = entry.user_id.clone().unwrap().as_str().to_owned();
    let media = entry.media_type.unwrap().as_i64();
    let duration = u32::try_from(entry.duration.unwrap()).unwrap();
    let f = RouteFilters::default;
    subscribe(&h, ch(1), EventKind::EntryReady, f()).await;
    subscribe(&h, ch(2), EventKind::EntryChanged, f()).await;
    subscribe(
        &h,
        ch(3),
        EventKind::EntryReady,
        RouteFilters {
            tags: vec![first_tag.to_uppercase()],
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(4),
        EventKind::EntryReady,
        RouteFilters {
            tags: vec!["no-such-tag".into()],
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(5),
        EventKind::EntryReady,
        RouteFilters {
            category_ids: vec![category],
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(6),
        EventKind::EntryReady,
        RouteFilters {
            category_ids: vec![category + 1000],
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(7),
        EventKind::EntryReady,
        RouteFilters {
            owner: Some(owner),
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(8),
        EventKind::EntryReady,
        RouteFilters {
            owner: Some("nobody".into()),
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(9),
        EventKind::EntryReady,
        RouteFilters {
            media_types: vec![media],
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(10),
        EventKind::EntryReady,
        RouteFilters {
            media_types: vec![media + 100],
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(11),
        EventKind::EntryReady,
        RouteFilters {
            min_duration_secs: Some(duration),
            ..f()
        },
    )
    .await;
    subscribe(
        &h,
        ch(12),
        EventKind::EntryReady,
        RouteFilters {
            min_duration_secs: Some(duration + 1),
            ..f()
        },
    )
    .await;

    // A field-template notification: only the id, so the router fetches the entry.
    let ev = event(
        &h,
        EventKind::EntryReady,
        entry.id.as_str(),
        json!({"entry_id": entry.id.as_str()}),
    );
    let deliveries = h.router.route(&ev).await.unwrap();
    assert_eq!(
        channels(&deliveries),
        vec![ch(1), ch(3), ch(5), ch(7), ch(9), ch(11)]
    );
    for d in &deliveries {
        assert_eq!(d.subject_key, format!("entry_ready:{}", entry.id.as_str()));
        assert_eq!(d.thread_key, None);
        assert_eq!(d.kind, EventKind::EntryReady);
    }
    let ev = event(&h, EventKind::EntryChanged, entry.id.as_str(), Value::Null);
    assert_eq!(channels(&h.router.route(&ev).await.unwrap()), vec![ch(2)]);
    // Another partner's events reach nobody.
    let mut other = event(&h, EventKind::EntryReady, entry.id.as_str(), Value::Null);
    other.event.partner_id = PartnerId::new(partner(&h).get() + 1);
    assert!(h.router.route(&other).await.unwrap().is_empty());
    // Events of no kind we announce route nowhere.
    let mut unknown = event(&h, EventKind::EntryReady, entry.id.as_str(), Value::Null);
    unknown.event.kind = None;
    assert!(h.router.route(&unknown).await.unwrap().is_empty());
}

#[tokio::test]
async fn unpublished_and_restricted_entries_are_not_announced() {
    let h = harness(true).await;
    let c = client(&h.fake);
    // A new entry without content: not READY.
    let pending = c
        .media()
        .add("@everyone Fresh upload <@&1>", MediaType::Video)
        .send()
        .await
        .unwrap();
    // A READY entry whose scheduling window has not started.
    let entry = demo_entry(&h).await;
    c.media()
        .update(entry.id.clone())
        .changes(
            MediaEntryInput::new()
                .start_date(kaltura_client::types::UnixTime::from_secs(NOW + 3600)),
        )
        .send()
        .await
        .unwrap();
    subscribe(&h, ch(1), EventKind::EntryReady, RouteFilters::default()).await;
    subscribe(
        &h,
        ch(2),
        EventKind::EntryReady,
        RouteFilters {
            include_restricted: true,
            ..RouteFilters::default()
        },
    )
    .await;
    for id in [pending.id.as_str(), entry.id.as_str()] {
        let ev = event(&h, EventKind::EntryReady, id, Value::Null);
        assert_eq!(
            channels(&h.router.route(&ev).await.unwrap()),
            vec![ch(2)],
            "{id}"
        );
    }
    // `@everyone` in the title is inert, the role ping is in the content only.
    let ev = event(&h, EventKind::EntryReady, pending.id.as_str(), Value::Null);
    let d = h.router.route(&ev).await.unwrap().remove(0);
    let json = d.message.to_message_json();
    assert_eq!(json["content"], format!("<@&{}>", role()));
    assert_eq!(
        json["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": [role().to_string()]})
    );
    let embeds = json["embeds"].to_string();
    assert!(
        !embeds.contains("@everyone") && !embeds.contains("<@&1>"),
        "{embeds}"
    );
    assert!(embeds.contains("Fresh upload"), "{embeds}");
    // A deleted entry produces nothing.
    let ev = event(&h, EventKind::EntryReady, "0_doesnotexist", Value::Null);
    assert!(h.router.route(&ev).await.unwrap().is_empty());
}

#[tokio::test]
async fn guild_configuration_routes_templates_and_feature_switch() {
    let h = harness(true).await;
    let entry = demo_entry(&h).await;
    let admin = DiscordUserId::new(ADMIN).unwrap();
    let doc = json!({
        "notifications": {
            "routes": [
                {"event": "entry_ready", "channel": ch(20).to_string(), "template": "short", "mention_roles": [role().to_string()]},
                {"event": "meeting_live", "channel": ch(21).to_string()}
            ],
            "templates": {"short": "Now on: {{ entry.name }} ({{ event.kind }})"}
        }
    });
    h.store
        .update_override(guild(), admin, &|d: &mut Map<String, Value>| {
            if let Value::Object(o) = doc.clone() {
                d.extend(o);
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(h.resolver.configured_guilds().await.unwrap(), vec![guild()]);
    let ev = event(&h, EventKind::EntryReady, entry.id.as_str(), Value::Null);
    let deliveries = h.router.route(&ev).await.unwrap();
    assert_eq!(channels(&deliveries), vec![ch(20)]);
    let description = deliveries[0].message.embeds[0].description.clone().unwrap();
    assert!(description.starts_with("Now on: "), "{description}");
    assert!(description.ends_with("(entry_ready)"), "{description}");

    // Meeting kinds get a thread key per schedule event.
    let ev = event(
        &h,
        EventKind::MeetingLive,
        "4001",
        json!({"id": 4001, "summary": "Standup"}),
    );
    let d = h.router.route(&ev).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].subject_key, "meeting_live:4001");
    assert_eq!(
        d[0].thread_key.as_deref(),
        Some(format!("meeting:{}:4001", partner(&h)).as_str())
    );

    // Notifications off: nothing.
    h.store
        .update_override(guild(), admin, &|d: &mut Map<String, Value>| {
            d.insert("features".into(), json!({"notifications": false}));
            Ok(())
        })
        .await
        .unwrap();
    h.resolver.invalidate(guild());
    let ev = event(&h, EventKind::EntryReady, entry.id.as_str(), Value::Null);
    assert!(h.router.route(&ev).await.unwrap().is_empty());
}

#[tokio::test]
async fn run_once_claims_routes_and_queues() {
    let h = harness(true).await;
    let entry = demo_entry(&h).await;
    subscribe(&h, ch(1), EventKind::EntryReady, RouteFilters::default()).await;
    let ev = event(&h, EventKind::EntryReady, entry.id.as_str(), Value::Null).event;
    h.store.ingest_batch(&[ev]).await.unwrap();
    let worker = WorkerId("router-test".into());
    assert_eq!(h.router.run_once(&worker, 10).await.unwrap(), 1);
    assert_eq!(h.router.run_once(&worker, 10).await.unwrap(), 0);
    let history = h.store.history(guild(), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, DeliveryStatus::Queued);
    assert_eq!(history[0].channel, ch(1));
    assert_eq!(
        history[0].subject_key,
        format!("entry_ready:{}", entry.id.as_str())
    );
}

fn invocation(user: u64, path: &[&str], options: Vec<(&str, OptionValue)>) -> Interaction {
    let permissions = if user == ADMIN {
        DiscordPermissions::MANAGE_GUILD
    } else {
        DiscordPermissions::NONE
    };
    Interaction::Command(CommandInvocation {
        context: InteractionContext {
            id: InteractionId::new(1).unwrap(),
            application_id: ApplicationId::new(42).unwrap(),
            token: InteractionToken::new("interaction-token"),
            guild: Some(guild()),
            channel: ChannelId::new(7),
            invoker: Invoker {
                user: DiscordUserId::new(user).unwrap(),
                display_name: format!("Member {user}"),
                roles: Vec::new(),
                permissions,
            },
            locale: None,
            guild_locale: None,
        },
        command: "kaltura-admin".into(),
        path: path.iter().map(|p| (*p).to_owned()).collect(),
        options: options
            .into_iter()
            .map(|(n, v)| CommandOption {
                name: n.into(),
                value: v,
            })
            .collect(),
    })
}

async fn reply(h: &H, user: u64, path: &[&str], options: Vec<(&str, OptionValue)>) -> Reply {
    match h.engine.respond(invocation(user, path, options)).await {
        InteractionResponse::Message(r) => r,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn text(r: &Reply) -> String {
    let mut t = r.content.clone().unwrap_or_default();
    for e in &r.embeds {
        t.push_str(e.description.as_deref().unwrap_or_default());
    }
    t
}

#[tokio::test]
async fn notify_commands_end_to_end() {
    let h = harness(true).await;
    // A viewer may not.
    let r = reply(&h, VIEWER, &["notify", "list"], vec![]).await;
    assert!(r.ephemeral);
    assert!(text(&r).contains("manage_notifications"), "{}", text(&r));

    let r = reply(
        &h,
        ADMIN,
        &["notify", "subscribe"],
        vec![
            ("channel", OptionValue::Channel(ch(1))),
            ("event", OptionValue::String("entry_ready".into())),
            ("role", OptionValue::Role(role())),
            ("tag", OptionValue::String("rust".into())),
            ("min_duration", OptionValue::Integer(60)),
            ("webhook_url", OptionValue::String(WEBHOOK.into())),
        ],
    )
    .await;
    let t = text(&r);
    assert!(r.ephemeral);
    assert!(t.contains("subscription `#"), "{t}");
    assert!(
        t.contains("tag `rust`") && t.contains("at least 60 s"),
        "{t}"
    );
    assert!(!t.contains("canary-webhook-token"), "{t}");
    assert!(r.allowed_mentions.roles.is_empty());
    let subs = h.store.guild_subscriptions(guild()).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].mention_roles, vec![role()]);
    assert_eq!(subs[0].filters.tags, vec!["rust".to_owned()]);
    assert!(subs[0].webhook.is_some());

    // A bad webhook URL is refused without being echoed.
    let r = reply(
        &h,
        ADMIN,
        &["notify", "subscribe"],
        vec![
            ("channel", OptionValue::Channel(ch(2))),
            ("event", OptionValue::String("entry_ready".into())),
            (
                "webhook_url",
                OptionValue::String("https://evil.example/api/webhooks/1/secret-token-xyz".into()),
            ),
        ],
    )
    .await;
    assert!(
        text(&r).contains("not a Discord webhook URL"),
        "{}",
        text(&r)
    );
    assert!(!text(&r).contains("secret-token-xyz"));

    // A template naming an unknown variable is refused, naming it.
    let r = reply(
        &h,
        ADMIN,
        &["config", "set"],
        vec![
            (
                "key",
                OptionValue::String("notifications.templates.t".into()),
            ),
            (
                "value",
                OptionValue::String("{{ entry.nmae }} {{ entry.name }}".into()),
            ),
        ],
    )
    .await;
    assert!(text(&r).contains("entry.nmae"), "{}", text(&r));

    let r = reply(&h, ADMIN, &["notify", "list"], vec![]).await;
    let t = text(&r);
    assert!(
        t.contains(&format!("<#{}>", ch(1))) && t.contains("via webhook"),
        "{t}"
    );
    assert!(!t.contains("canary-webhook-token"), "{t}");

    // test: posts the newest ready entry, with no pings.
    let r = reply(
        &h,
        ADMIN,
        &["notify", "test"],
        vec![("channel", OptionValue::Channel(ch(1)))],
    )
    .await;
    assert!(
        text(&r).contains("Posted a test notification"),
        "{}",
        text(&r)
    );
    let posted = h.rest.posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].0, ch(1));
    let json = posted[0].1.to_message_json();
    assert_eq!(
        json["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []})
    );
    assert!(!json["content"].as_str().unwrap().contains("<@&"));
    assert!(json["embeds"][0]["title"].is_string());

    // history and replay.
    let r = reply(&h, ADMIN, &["notify", "history"], vec![]).await;
    assert!(text(&r).contains("No notification"), "{}", text(&r));
    let r = reply(
        &h,
        ADMIN,
        &["notify", "replay"],
        vec![("id", OptionValue::Integer(12345))],
    )
    .await;
    assert!(
        text(&r).contains("no failed or skipped delivery"),
        "{}",
        text(&r)
    );

    // unsubscribe, audited.
    let r = reply(
        &h,
        ADMIN,
        &["notify", "unsubscribe"],
        vec![("channel", OptionValue::Channel(ch(1)))],
    )
    .await;
    assert!(text(&r).contains("Removed 1 subscription"), "{}", text(&r));
    assert!(
        h.store
            .guild_subscriptions(guild())
            .await
            .unwrap()
            .is_empty()
    );
    let r = reply(&h, ADMIN, &["audit", "recent"], vec![]).await;
    let t = text(&r);
    for action in ["notify_subscribed", "notify_tested", "notify_unsubscribed"] {
        assert!(t.contains(action), "{action} in {t}");
    }
    assert!(!t.contains("canary-webhook-token"), "{t}");
}

#[tokio::test]
async fn without_a_notification_store_the_commands_say_so() {
    let h = harness(false).await;
    let r = reply(&h, ADMIN, &["notify", "list"], vec![]).await;
    assert!(r.ephemeral);
    assert!(
        text(&r).contains("not configured for this bot"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn run_wakes_on_notify_and_stops_on_shutdown() {
    let h = harness(true).await;
    let entry = demo_entry(&h).await;
    subscribe(&h, ch(1), EventKind::EntryReady, RouteFilters::default()).await;
    let waker = h.router.waker();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(h.router.clone().run(WorkerId("runner".into()), async move {
        let _ = stopped.await;
    }));
    let ev = event(&h, EventKind::EntryReady, entry.id.as_str(), Value::Null).event;
    h.store.ingest_batch(&[ev]).await.unwrap();
    waker.notify_one();
    // Poll the outcome with a generous overall timeout (no timing assertion).
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if !h.store.history(guild(), 10).await.unwrap().is_empty() {
                break;
            }
            tokio::task::yield_now().await;
            waker.notify_one();
        }
    })
    .await
    .expect("the router routed the event");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the router stopped")
        .unwrap();
}

/// A READY entry event that carries the fields routing needs (no `media.get`).
fn carried(h: &H, n: usize) -> InboundEvent {
    let id = format!("0_carried{n:03}");
    let object = json!({"id": id, "name": format!("Lecture {n}"), "status": 2, "categoriesIds": "", "mediaType": 1, "duration": 60});
    event(h, EventKind::EntryReady, &id, object).event
}

/// One pass routes the whole claimed batch (concurrently, one write); an event whose entry
/// cannot be fetched stays claimed and holds the later deliveries of the channel back until
/// it routes; then the channel comes out in event order.
#[tokio::test]
async fn run_once_routes_a_batch_and_a_failed_event_holds_the_channel() {
    let h = harness(true).await;
    subscribe(&h, ch(1), EventKind::EntryReady, RouteFilters::default()).await;
    let entry = demo_entry(&h).await;
    // Event 6 of 12 needs `media.get`, which fails (an HTML page where JSON was expected).
    let events: Vec<InboundEvent> = (0..12)
        .map(|n| {
            if n == 5 {
                event(&h, EventKind::EntryReady, entry.id.as_str(), Value::Null).event
            } else {
                carried(&h, n)
            }
        })
        .collect();
    // One batch each: within a batch, ids follow the dedup keys, not the arrival order.
    let mut ids: Vec<EventId> = Vec::new();
    for e in &events {
        match h.store.ingest_batch(std::slice::from_ref(e)).await.unwrap()[..] {
            [kaltura_discord::notify::Ingested::New(id)] => ids.push(id),
            ref other => panic!("{other:?}"),
        }
    }
    h.fake
        .fail_next(10, kaltura_client::fake::Failure::Html(200));
    let worker = WorkerId("router-batch".into());
    assert_eq!(h.router.run_once(&worker, 50).await.unwrap(), 11);
    h.fake.clear_failures();
    let stats = h.store.stats().await.unwrap();
    assert_eq!((stats.unrouted_events, stats.queued), (1, 11));
    // The failed event is still claimed by this router.
    assert_eq!(h.router.run_once(&worker, 50).await.unwrap(), 0);
    // Only the deliveries before the unrouted event are due.
    let d = WorkerId("deliver".into());
    let lease = h
        .store
        .lease_channel(&d, NOW, 30, 50)
        .await
        .unwrap()
        .unwrap();
    let leased: Vec<EventId> = lease.items.iter().map(|i| i.new.event).collect();
    assert_eq!(leased, ids[..5]);
    let outcomes: Vec<_> = lease
        .items
        .iter()
        .map(|i| {
            (
                i.id,
                DeliveryOutcome::Delivered {
                    message: MessageId::new(5).unwrap(),
                },
            )
        })
        .collect();
    h.store.finish(&lease, &outcomes, NOW).await.unwrap();
    assert_eq!(h.store.lease_channel(&d, NOW, 30, 50).await.unwrap(), None);
    // Its claim lapses and it routes: the rest comes out in event order, event 6 first.
    h.clock.advance(Duration::from_secs(61));
    assert_eq!(h.router.run_once(&worker, 50).await.unwrap(), 1);
    let lease = h
        .store
        .lease_channel(&d, NOW + 61, 30, 50)
        .await
        .unwrap()
        .unwrap();
    let leased: Vec<EventId> = lease.items.iter().map(|i| i.new.event).collect();
    assert_eq!(leased, ids[5..]);
}

/// Not a test: prints routing throughput through the `EventRouter` on a SQLite file store,
/// one event at a time with one transaction each (the router before batching) and with
/// `run_once` (concurrent routing, one transaction per batch of 50). Run with
/// `cargo test -p kaltura-discord --all-features --test it notify_route::measure -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn measure_routing_throughput() {
    const N: usize = 2_000;
    let h = harness(true).await;
    subscribe(&h, ch(1), EventKind::EntryReady, RouteFilters::default()).await;
    subscribe(&h, ch(2), EventKind::EntryReady, RouteFilters::default()).await;
    let events: Vec<InboundEvent> = (0..2 * N).map(|n| carried(&h, n)).collect();
    let (one_by_one, batched) = events.split_at(N);
    let worker = WorkerId("router-measure".into());
    // Before: claim 50, then route and write each event in its own transaction.
    h.store.ingest_batch(one_by_one).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let claimed = h.store.claim_events(&worker, NOW, 600, 50).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        for e in &claimed {
            let deliveries = h.router.route(e).await.unwrap();
            h.store
                .route_event(&worker, e.id, &deliveries, NOW)
                .await
                .unwrap();
        }
    }
    let before = started.elapsed();
    // After: run_once with batches of 50.
    h.store.ingest_batch(batched).await.unwrap();
    let started = std::time::Instant::now();
    while h.router.run_once(&worker, 50).await.unwrap() > 0 {}
    let after = started.elapsed();
    let stats = h.store.stats().await.unwrap();
    assert_eq!((stats.unrouted_events, stats.queued), (0, 4 * N as u64));
    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    eprintln!(
        "EventRouter on SQLite (file, WAL), {N} events, 2 routes each: one transaction per event {:.0} events/s, \
         run_once batches of 50 {:.0} events/s",
        rate(before),
        rate(after)
    );
}
