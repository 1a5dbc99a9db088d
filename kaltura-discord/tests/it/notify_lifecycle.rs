//! A meeting's lifecycle end to end, as one living message: the fake Kaltura (dispatching
//! signed HTTP notifications through the templates `notify::setup` creates), the real
//! `WebhookReceiver` on loopback, SQLite, the real `EventRouter` with the `MeetingLifecycle`,
//! the real `DeliveryWorker` and `TwilightRest` against a fake Discord (wiremock).
//!
//! Time is an injected clock; the test waits on the fake's dispatch counters, never sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kaltura_client::Client;
use kaltura_client::clock::{Clock, ManualClock};
use kaltura_client::fake::{FakeKaltura, NewEntry, NotificationSettings};
use kaltura_discord::config::{ConfigResolver, ConfigSources, GuildConfig};
use kaltura_discord::context::{GuildContext, KalturaAccount};
use kaltura_discord::http::WebhookReceiver;
use kaltura_discord::meetings::{MeetingService, StartMeeting};
use kaltura_discord::notify::deliver::{DeliveryOptions, DeliveryWorker};
use kaltura_discord::notify::lifecycle::MeetingLifecycle;
use kaltura_discord::notify::route::EventRouter;
use kaltura_discord::notify::setup::{SetupOptions, setup};
use kaltura_discord::notify::{
    EventId, EventKind, InboundEvent, NotificationMeta, NotificationStore, RouteFilters,
    StoredEvent, Subscription, WorkerId,
};
use kaltura_discord::rbac::{DiscordPermissions, Subject};
use kaltura_discord::rest::{DiscordRest, TwilightRest};
use kaltura_discord::store::{GuildOverrideStore, MeetingStore, SqlStore};
use kaltura_discord::{ChannelId, DiscordUserId, GuildId};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const BOT_TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.MARKER-BOT-TOKEN.x";
const T0: i64 = 1_800_000_000;
const GUILD_A: u64 = 613_425_648_685_547_541;
const GUILD_B: u64 = 81_384_788_765_712_384;
const CH_A: u64 = 1_122_334_455_667_788_990;
const CH_B: u64 = 1_122_334_455_667_788_991;
const UI_CONF: i64 = 4711;

/// Answers like Discord's Create Message: a new message id each time.
struct NewMessage(AtomicU64);

impl Respond for NewMessage {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let id = self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(json!({"id": id.to_string(), "content": ""}))
    }
}

fn admin() -> Subject {
    Subject::new(DiscordUserId::new(3003).unwrap())
        .with_permissions(DiscordPermissions::MANAGE_GUILD)
}

struct World {
    fake: FakeKaltura,
    client: Client,
    account: KalturaAccount,
    store: Arc<SqlStore>,
    clock: ManualClock,
    resolver: Arc<ConfigResolver>,
    lifecycle: Arc<MeetingLifecycle>,
    router: EventRouter,
    worker: DeliveryWorker,
    discord: MockServer,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let fake = FakeKaltura::builder()
            .notifications(NotificationSettings::default().interval(Duration::ZERO))
            .start()
            .await
            .unwrap();
        let client = Client::builder()
            .service_url(fake.url())
            .partner_id(fake.partner_id())
            .admin_secret(fake.admin_secret().clone())
            .build()
            .unwrap();
        let account = KalturaAccount::new(client.clone(), fake.admin_secret())
            .unwrap()
            .with_media_base(fake.url())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let store = Arc::new(
            SqlStore::sqlite(&dir.path().join("kd.db"))
                .await
                .unwrap()
                .with_clock(Arc::new(clock.clone())),
        );
        let notify: Arc<dyn NotificationStore> = store.clone();

        // The receiver on loopback, and Kaltura's templates pointing at it.
        let receiver = WebhookReceiver::builder()
            .partner(fake.partner_id(), fake.admin_secret().clone())
            .store(notify.clone())
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, receiver).await;
        });
        let public = url::Url::parse(&format!("http://{addr}")).unwrap();
        setup(&client, &public, &SetupOptions::default())
            .await
            .unwrap();

        let resolver = Arc::new(
            ConfigResolver::load(&ConfigSources::defaults_only())
                .unwrap()
                .with_store(store.clone()),
        );
        let lifecycle = Arc::new(
            MeetingLifecycle::new(store.clone(), notify.clone())
                .with_clock(Arc::new(clock.clone())),
        );
        let router = EventRouter::builder()
            .store(notify.clone())
            .resolver(resolver.clone())
            .account(account.clone())
            .clock(Arc::new(clock.clone()))
            .lifecycle(lifecycle.clone())
            .build()
            .unwrap();

        let discord = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/api/v10/channels/\d+/messages$"))
            .respond_with(NewMessage(AtomicU64::new(1_400_000_000_000_000_001)))
            .mount(&discord)
            .await;
        Mock::given(method("PATCH"))
            .and(path_regex(r"^/api/v10/channels/\d+/messages/\d+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
            .mount(&discord)
            .await;
        let rest: Arc<dyn DiscordRest> = Arc::new(
            TwilightRest::builder(SecretString::from(BOT_TOKEN.to_owned()))
                .base_url(discord.uri())
                .timeout(Duration::from_secs(5))
                .budget(Duration::from_secs(10))
                .build()
                .unwrap(),
        );
        let worker = DeliveryWorker::builder()
            .store(notify)
            .rest(rest)
            .audit(store.clone())
            .clock(Arc::new(clock.clone()))
            .worker_id(WorkerId("w1".to_owned()))
            .options(DeliveryOptions::default())
            .build()
            .unwrap();
        World {
            fake,
            client,
            account,
            store,
            clock,
            resolver,
            lifecycle,
            router,
            worker,
            discord,
            _dir: dir,
        }
    }

    /// Subscribes `channel` of `guild` to every meeting kind of the partner.
    async fn subscribe_meetings(&self, guild: u64, channel: u64) {
        for kind in EventKind::ALL.into_iter().filter(|k| k.is_meeting()) {
            self.store
                .subscribe(&Subscription {
                    id: None,
                    guild: GuildId::new(guild).unwrap(),
                    partner_id: self.fake.partner_id(),
                    kind,
                    channel: ChannelId::new(channel).unwrap(),
                    webhook: None,
                    mention_roles: Vec::new(),
                    template: None,
                    filters: RouteFilters::default(),
                    created_by: DiscordUserId::new(3003).unwrap(),
                    created_at: T0,
                })
                .await
                .unwrap();
        }
    }

    async fn config(&self, guild: u64) -> GuildConfig {
        self.resolver
            .guild(GuildId::new(guild).unwrap())
            .await
            .unwrap()
            .config()
            .clone()
    }

    /// Waits until every notification the fake started has been answered, then routes and
    /// delivers until nothing is left.
    async fn settle(&self) {
        let (started, _) = self.fake.notification_counts();
        tokio::time::timeout(
            Duration::from_secs(30),
            self.fake.wait_for_notifications(started),
        )
        .await
        .expect("the fake Kaltura's notifications were answered");
        let router = WorkerId("router".to_owned());
        for _ in 0..20 {
            let routed = self.router.run_once(&router, 100).await.unwrap();
            let mut delivered = false;
            while self.worker.run_once().await.unwrap() {
                delivered = true;
            }
            if routed == 0 && !delivered {
                return;
            }
        }
        panic!("routing did not settle");
    }

    /// The fake Discord's requests to `channel`: (verb, path, body).
    async fn requests(&self, channel: u64) -> Vec<(String, String, Value)> {
        let prefix = format!("/api/v10/channels/{channel}/");
        self.discord
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path().starts_with(&prefix))
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_owned(),
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}

fn footer(body: &Value) -> String {
    body["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_meeting_is_one_living_message_in_its_own_guild_only() {
    let w = World::new().await;
    // Guild A starts the meeting and follows meetings; guild B shares the partner and
    // follows meetings too, but must not see guild A's meeting.
    w.subscribe_meetings(GUILD_A, CH_A).await;
    w.subscribe_meetings(GUILD_B, CH_B).await;
    w.store
        .update_override(
            GuildId::new(GUILD_A).unwrap(),
            DiscordUserId::new(3003).unwrap(),
            &|d: &mut Map<String, Value>| {
                d.insert("kaltura".into(), json!({"player_ui_conf_id": UI_CONF}));
                Ok(())
            },
        )
        .await
        .unwrap();

    // 1. Scheduled: MeetingService creates the session in Kaltura, which notifies us.
    let service =
        MeetingService::new(w.store.clone(), w.store.clone()).with_clock(Arc::new(w.clock.clone()));
    let config = w.config(GUILD_A).await;
    let ctx = GuildContext::new(GuildId::new(GUILD_A).unwrap(), &config, &w.account);
    let meeting = service
        .start(
            &ctx,
            &admin(),
            StartMeeting::new("Design review")
                .starts_at(T0 + 3600)
                .duration_minutes(60),
        )
        .await
        .unwrap();
    w.settle().await;
    let a = w.requests(CH_A).await;
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].0, "POST");
    assert_eq!(footer(&a[0].2), "Kaltura · Meeting scheduled");
    assert!(a[0].2.to_string().contains("Design review"));

    // 2. Live: the lifecycle's timer at the start time (the injected clock).
    w.clock.set(T0 + 3600);
    assert_eq!(w.lifecycle.tick(w.clock.now_unix()).await.unwrap(), 1);
    w.settle().await;

    // 3. Ended: the session is cancelled in Kaltura; its change notification ends it.
    w.clock.set(T0 + 4000);
    w.client
        .schedule_event()
        .cancel(meeting.event_id)
        .await
        .unwrap();
    w.settle().await;

    // 4. Recording ready: Kaltura Meetings' recording, created from the session's
    // template entry, becomes ready.
    let recording = w
        .fake
        .add_recording(
            meeting.event_id.get(),
            NewEntry::new("Design review (recording)").duration(3000),
        )
        .unwrap();
    w.settle().await;

    let a = w.requests(CH_A).await;
    let verbs: Vec<&str> = a.iter().map(|(v, _, _)| v.as_str()).collect();
    assert_eq!(verbs, ["POST", "PATCH", "PATCH", "PATCH"], "{a:?}");
    // Every edit is of the one message posted first.
    let edited: Vec<&str> = a[1..].iter().map(|(_, p, _)| p.as_str()).collect();
    let posted_id = "1400000000000000001";
    for p in &edited {
        assert_eq!(*p, format!("/api/v10/channels/{CH_A}/messages/{posted_id}"));
    }
    let footers: Vec<String> = a.iter().map(|(_, _, b)| footer(b)).collect();
    assert_eq!(
        footers,
        [
            "Kaltura · Meeting scheduled",
            "Kaltura · Meeting live",
            "Kaltura · Meeting ended",
            "Kaltura · Recording ready",
        ]
    );
    let last = a[3].2.to_string();
    assert!(
        last.contains(&recording),
        "the player link names the recording: {last}"
    );
    assert!(last.contains(&UI_CONF.to_string()), "{last}");

    // Guild B, on the same partner and following the same kinds, got nothing.
    assert_eq!(w.requests(CH_B).await, Vec::new());

    // Idempotent: the lifecycle's states are not announced twice (a later tick, the end
    // time passing, another recording of the same meeting).
    w.clock.set(T0 + 7300);
    assert_eq!(w.lifecycle.tick(w.clock.now_unix()).await.unwrap(), 0);
    w.fake
        .add_recording(meeting.event_id.get(), NewEntry::new("Part 2"))
        .unwrap();
    w.settle().await;
    assert_eq!(w.requests(CH_A).await.len(), 4);
    assert!(
        w.store
            .meeting_by_event(w.fake.partner_id(), meeting.event_id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_recording_whose_session_cannot_be_looked_up_is_routed_again() {
    let w = World::new().await;
    let session = w
        .client
        .schedule_event()
        .add("Standup", T0 + 60, T0 + 3600)
        .send()
        .await
        .unwrap();
    let recording = w
        .fake
        .add_recording(session.id.get(), NewEntry::new("Standup (recording)"))
        .unwrap();
    let template = w
        .client
        .schedule_event()
        .get(session.id)
        .await
        .unwrap()
        .template_entry_id
        .unwrap();
    let object = json!({
        "id": recording,
        "objectType": "KalturaMediaEntry",
        "status": 2,
        "templateEntryId": template.as_str(),
    });
    let stored = StoredEvent {
        id: EventId(1),
        event: InboundEvent {
            partner_id: w.fake.partner_id(),
            dedup_key: "job:1".to_owned(),
            kind: Some(EventKind::EntryReady),
            subject: Some(recording.clone()),
            object: object.clone(),
            meta: NotificationMeta::default(),
            received_at: T0,
        },
    };

    // Kaltura unreachable: the routing fails (so the claim lapses and it is retried) and
    // no "recording ready" was queued.
    let secret = SecretString::from("abcdef0123456789abcdef0123456789");
    let down = KalturaAccount::new(
        Client::builder()
            .service_url("http://127.0.0.1:9")
            .partner_id(w.fake.partner_id())
            .admin_secret(secret.clone())
            .build()
            .unwrap(),
        &secret,
    )
    .unwrap();
    let router = EventRouter::builder()
        .store(w.store.clone())
        .resolver(w.resolver.clone())
        .account(down)
        .lifecycle(w.lifecycle.clone())
        .build()
        .unwrap();
    assert!(router.route(&stored).await.is_err());

    // Reachable: the session is found and its "recording ready" queued, once.
    w.router.route(&stored).await.unwrap();
    assert!(
        !w.lifecycle
            .recording_ready(w.fake.partner_id(), session.id.get(), &object, T0)
            .await
            .unwrap(),
        "already queued by the routing"
    );
    // A recording of a session with another template is nobody's.
    let other = w
        .client
        .schedule_event()
        .add("Other", T0 + 60, T0 + 3600)
        .send()
        .await
        .unwrap();
    assert!(
        w.lifecycle
            .recording_ready(w.fake.partner_id(), other.id.get(), &object, T0)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_session_cancelled_before_its_start_never_turns_live() {
    let w = World::new().await;
    w.subscribe_meetings(GUILD_A, CH_A).await;
    let service =
        MeetingService::new(w.store.clone(), w.store.clone()).with_clock(Arc::new(w.clock.clone()));
    let config = w.config(GUILD_A).await;
    let ctx = GuildContext::new(GuildId::new(GUILD_A).unwrap(), &config, &w.account);
    let meeting = service
        .start(
            &ctx,
            &admin(),
            StartMeeting::new("Called off")
                .starts_at(T0 + 3600)
                .duration_minutes(60),
        )
        .await
        .unwrap();
    w.settle().await;
    // Cancelled in Kaltura before it starts: the message says "ended".
    w.client
        .schedule_event()
        .cancel(meeting.event_id)
        .await
        .unwrap();
    w.settle().await;
    // The start time passes: the timer's "live" state is not announced over "ended".
    w.clock.set(T0 + 3700);
    w.lifecycle.tick(w.clock.now_unix()).await.unwrap();
    w.settle().await;
    let a = w.requests(CH_A).await;
    let footers: Vec<String> = a.iter().map(|(_, _, b)| footer(b)).collect();
    assert_eq!(
        footers,
        ["Kaltura · Meeting scheduled", "Kaltura · Meeting ended"],
        "{a:?}"
    );
}
