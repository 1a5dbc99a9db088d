//! Delivery workers and the meeting's living message against a fake Discord (wiremock on
//! loopback) driven through the REAL `TwilightRest`, with an injected clock (no sleeping).
//!
//! The outbox is the real `SqlStore` on SQLite (a fresh database per test); the test reads
//! its tables directly only to check what the contract does not expose (the channel's next
//! attempt time).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kaltura_client::clock::{Clock, ManualClock};
use kaltura_client::{PartnerId, ScheduleEventId, ScheduleResourceId};
use kaltura_discord::commands::Reply;
use kaltura_discord::commands::reply::Embed;
use kaltura_discord::config::MeetingType;
use kaltura_discord::notify::deliver::{DeliveryOptions, DeliveryWorker};
use kaltura_discord::notify::lifecycle::MeetingLifecycle;
use kaltura_discord::notify::metrics::NotifyMetrics;
use kaltura_discord::notify::{
    DeliveryStatus, EventId, EventKind, InboundEvent, Ingested, NewDelivery, NotificationStore,
    WorkerId,
};
use kaltura_discord::rest::{DiscordRest, TwilightRest, WebhookUrl};
use kaltura_discord::store::{
    AuditAction, AuditLog, MeetingRecord, MeetingStatus, MeetingStore, SqlStore,
};
use kaltura_discord::{ChannelId, DiscordUserId, Error, GuildId, MessageId, RoleId};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const BOT_TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.MARKER-BOT-TOKEN.x";
const WEBHOOK_TOKEN: &str = "MARKER-WEBHOOK-TOKEN_abcdefghijklmnopqrstuvwxyz0123";
const GUILD: u64 = 987_654_321_098_765_432;
const CH_A: u64 = 1_122_334_455_667_788_990;
const CH_B: u64 = 1_122_334_455_667_788_991;
const WEBHOOK: u64 = 1_300_000_000_000_000_999;
const PARTNER: i64 = 4242;
const T0: i64 = 1_796_040_000;

// ---------------------------------------------------------------------------------------
// Helpers.

fn ch(id: u64) -> ChannelId {
    ChannelId::new(id).unwrap()
}

fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap()
}

/// Answers like Discord's Create Message: a new message id each time.
struct NewMessage(AtomicU64);

impl Respond for NewMessage {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let id = self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(json!({"id": id.to_string(), "content": ""}))
    }
}

fn new_messages() -> NewMessage {
    NewMessage(AtomicU64::new(1_400_000_000_000_000_001))
}

fn rest(server: &MockServer, budget: Duration) -> Arc<dyn DiscordRest> {
    Arc::new(
        TwilightRest::builder(SecretString::from(BOT_TOKEN.to_owned()))
            .base_url(server.uri())
            .timeout(budget.min(Duration::from_secs(5)))
            .budget(budget)
            .build()
            .unwrap(),
    )
}

static QUEUED: AtomicU64 = AtomicU64::new(0);

/// An outbox row as the test reads it back.
struct Row {
    status: DeliveryStatus,
    attempts: u32,
    reason: Option<String>,
    message: Option<MessageId>,
}

struct Harness {
    store: Arc<SqlStore>,
    raw: sqlx::SqlitePool,
    audit: Arc<SqlStore>,
    clock: ManualClock,
    metrics: NotifyMetrics,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kd.db");
        let clock = ManualClock::new(T0);
        let store = Arc::new(
            SqlStore::sqlite(&file)
                .await
                .unwrap()
                .with_clock(Arc::new(clock.clone())),
        );
        let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        Harness {
            audit: store.clone(),
            store,
            raw,
            clock,
            metrics: NotifyMetrics::new(),
            _dir: dir,
        }
    }

    async fn rows(&self) -> Vec<Row> {
        let rows: Vec<(String, i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT status, attempts, reason, message_id FROM notify_outbox ORDER BY id",
        )
        .fetch_all(&self.raw)
        .await
        .unwrap();
        rows.into_iter()
            .map(|(status, attempts, reason, message)| Row {
                status: DeliveryStatus::parse(&status).unwrap(),
                attempts: u32::try_from(attempts).unwrap(),
                reason,
                message: message.map(|m| m.parse().unwrap()),
            })
            .collect()
    }

    async fn channel_next_attempt(&self, channel: ChannelId) -> i64 {
        sqlx::query_scalar("SELECT next_attempt_at FROM notify_channels WHERE channel_id = $1")
            .bind(channel.to_string())
            .fetch_one(&self.raw)
            .await
            .unwrap()
    }

    fn worker(&self, rest: Arc<dyn DiscordRest>) -> DeliveryWorker {
        DeliveryWorker::builder()
            .store(self.store.clone())
            .rest(rest)
            .audit(self.audit.clone())
            .metrics(self.metrics.clone())
            .clock(Arc::new(self.clock.clone()))
            .worker_id(WorkerId("w1".to_owned()))
            .options(DeliveryOptions::default())
            .build()
            .unwrap()
    }

    /// Queues deliveries as the router would (ingest, claim, route).
    async fn queue(&self, deliveries: Vec<NewDelivery>) {
        let now = self.clock.now_unix();
        let event = InboundEvent {
            partner_id: PartnerId::new(PARTNER),
            dedup_key: format!("test:{}", QUEUED.fetch_add(1, Ordering::SeqCst)),
            kind: None,
            subject: None,
            object: json!({}),
            meta: Default::default(),
            received_at: now,
        };
        let ids = self.store.ingest_batch(&[event]).await.unwrap();
        let Ingested::New(id) = ids[0] else { panic!() };
        let w = WorkerId("router".to_owned());
        let claimed = self.store.claim_events(&w, now, 60, 100).await.unwrap();
        assert!(claimed.iter().any(|e| e.id == id));
        self.store
            .route_event(&w, id, &deliveries, now)
            .await
            .unwrap();
    }

    /// Runs the worker until nothing is due, advancing the clock by `step` seconds each
    /// time nothing is due, for at most `rounds` rounds.
    async fn drain(&self, worker: &DeliveryWorker, step: i64, rounds: usize) {
        for _ in 0..rounds {
            if !worker.run_once().await.unwrap() {
                if self
                    .rows()
                    .await
                    .iter()
                    .all(|r| r.status != DeliveryStatus::Queued)
                {
                    return;
                }
                self.clock.advance(step);
            }
        }
        panic!("deliveries still queued after {rounds} rounds");
    }
}

fn delivery(channel: u64, kind: EventKind, subject: &str, text: &str) -> NewDelivery {
    NewDelivery {
        event: EventId(1),
        guild: guild(),
        channel: ch(channel),
        webhook: None,
        kind,
        subject_key: format!("{kind}:{subject}"),
        thread_key: None,
        message: Reply::text(text).embed(Embed::titled(text)),
        digest_line: Some(format!("**{text}** <https://example.invalid/{subject}>")),
    }
}

fn body(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn discord_unavailable_for_a_while_then_everything_is_delivered_in_order() {
    let server = MockServer::start().await;
    // Channel A: two 503s first. Channel B: one.
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_B}/messages")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/messages$"))
        .respond_with(new_messages())
        .with_priority(5)
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let mut queued = Vec::new();
    for i in 0..3 {
        queued.push(delivery(
            CH_A,
            EventKind::EntryReady,
            &format!("a{i}"),
            &format!("A{i}"),
        ));
        queued.push(delivery(
            CH_B,
            EventKind::EntryChanged,
            &format!("b{i}"),
            &format!("B{i}"),
        ));
    }
    h.queue(queued).await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    h.drain(&worker, 5, 200).await;

    let rows = h.rows().await;
    assert!(rows.iter().all(|r| r.status == DeliveryStatus::Delivered));
    // Attempts made, the successful one included: the first of each channel also took the
    // failures of its channel; nothing later was tried before it succeeded.
    assert_eq!(
        rows.iter().map(|r| r.attempts).collect::<Vec<_>>(),
        [3, 2, 1, 1, 1, 1]
    );
    // Per channel: the failed first message was retried before anything else was sent.
    let reqs = requests(&server).await;
    let contents = |c: u64| -> Vec<String> {
        reqs.iter()
            .filter(|r| r.url.path() == format!("/api/v10/channels/{c}/messages"))
            .map(|r| body(r)["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(contents(CH_A), ["A0", "A0", "A0", "A1", "A2"]);
    assert_eq!(contents(CH_B), ["B0", "B0", "B1", "B2"]);
    // Every post carries its idempotency nonce.
    for r in &reqs {
        let b = body(r);
        assert!(b["nonce"].as_str().unwrap().starts_with("kd-"), "{b}");
        assert_eq!(b["enforce_nonce"], json!(true));
    }
    let text = h.metrics.encode();
    assert!(
        text.contains("kd_notifications_delivered_total 6"),
        "{text}"
    );
    assert!(text.contains("kd_notifications_retried_total 3"), "{text}");
    let audit = h.audit.recent(guild(), 50).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == AuditAction::NotificationDelivered)
            .count(),
        6
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured_no_request_before_its_time() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .insert_header("x-ratelimit-scope", "shared")
                .insert_header("x-ratelimit-bucket", "abcd1234")
                .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 30.0, "global": false})),
        )
        .mount(&server)
        .await;
    let h = Harness::new().await;
    h.queue(vec![
        delivery(CH_A, EventKind::EntryReady, "x1", "first"),
        delivery(CH_A, EventKind::EntryReady, "x2", "second"),
    ])
    .await;
    // A budget shorter than the Retry-After: the call gives up and reports the wait.
    let worker = h.worker(rest(&server, Duration::from_millis(600)));
    assert!(worker.run_once().await.unwrap());
    assert_eq!(requests(&server).await.len(), 1);
    let next = h.channel_next_attempt(ch(CH_A)).await;
    assert!(
        (T0 + 28..=T0 + 30).contains(&next),
        "retry at {next}, now {T0}: must follow Retry-After 30"
    );
    let rows = h.rows().await;
    assert!(rows.iter().all(|r| r.status == DeliveryStatus::Queued));
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].reason.as_deref().unwrap().contains("RateLimited"));

    // Before its time nothing is sent, however often the worker runs.
    for _ in 0..5 {
        h.clock.advance(5);
        assert!(h.clock.now_unix() < next);
        assert!(!worker.run_once().await.unwrap());
    }
    assert_eq!(requests(&server).await.len(), 1);

    // At its time (and with Discord's bucket reset: a fresh client), both are delivered, in order.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    h.clock.set(next);
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    h.drain(&worker, 5, 10).await;
    let reqs = requests(&server).await;
    let texts: Vec<String> = reqs
        .iter()
        .map(|r| body(r)["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["first", "second"]);
    assert!(
        h.rows()
            .await
            .iter()
            .all(|r| r.status == DeliveryStatus::Delivered)
    );
}

#[tokio::test]
async fn an_unknown_channel_dead_letters_the_batch_with_the_reason() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 10003, "message": "Unknown Channel"})),
        )
        .mount(&server)
        .await;
    let h = Harness::new().await;
    h.queue(vec![
        delivery(CH_A, EventKind::EntryReady, "d1", "one"),
        delivery(CH_A, EventKind::EntryChanged, "d2", "two"),
        delivery(CH_A, EventKind::CaptionsReady, "d3", "three"),
    ])
    .await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    assert!(worker.run_once().await.unwrap());
    assert!(!worker.run_once().await.unwrap(), "nothing is left queued");
    assert_eq!(
        requests(&server).await.len(),
        1,
        "the rest of the batch is not tried"
    );
    for r in h.rows().await {
        assert_eq!(r.status, DeliveryStatus::Dead);
        let reason = r.reason.unwrap();
        assert!(
            reason.contains("Unknown Channel") && reason.contains("10003"),
            "{reason}"
        );
        assert!(!reason.contains("MARKER"), "{reason}");
    }
    let audit = h.audit.recent(guild(), 50).await.unwrap();
    let failed: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::NotificationFailed)
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(
        failed[0].detail["reason"]
            .as_str()
            .unwrap()
            .contains("Unknown Channel")
    );
    assert!(
        h.metrics
            .encode()
            .contains("kd_notifications_dead_lettered_total 3")
    );
}

#[tokio::test]
async fn missing_access_and_too_many_attempts_dead_letter() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"code": 50001, "message": "Missing Access"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_B}/messages")))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let h = Harness::new().await;
    h.queue(vec![
        delivery(CH_A, EventKind::EntryReady, "m1", "one"),
        delivery(CH_B, EventKind::EntryReady, "m2", "two"),
    ])
    .await;
    let worker = DeliveryWorker::builder()
        .store(h.store.clone())
        .rest(rest(&server, Duration::from_secs(10)))
        .clock(Arc::new(h.clock.clone()))
        .options(DeliveryOptions::default().max_attempts(3))
        .build()
        .unwrap();
    h.drain(&worker, 3600, 50).await;
    let rows = h.rows().await;
    assert!(
        rows[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("Missing Access")
    );
    assert_eq!(rows[1].status, DeliveryStatus::Dead);
    assert!(
        rows[1]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts"),
        "{:?}",
        rows[1].reason
    );
    let b_posts = requests(&server)
        .await
        .iter()
        .filter(|r| r.url.path().contains(&CH_B.to_string()))
        .count();
    assert_eq!(b_posts, 3);
}

#[tokio::test]
async fn a_burst_of_50_becomes_one_digest_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let role_a = RoleId::new(555).unwrap();
    let role_b = RoleId::new(556).unwrap();
    let burst: Vec<NewDelivery> = (0..50)
        .map(|i| {
            let mut d = delivery(
                CH_A,
                EventKind::EntryReady,
                &format!("0_{i:03}"),
                &format!("Lecture {i} @everyone"),
            );
            d.message.content = Some(format!(
                "<@&{}> Lecture {i}",
                if i % 2 == 0 { 555 } else { 556 }
            ));
            d.message.allowed_mentions.roles = vec![if i % 2 == 0 { role_a } else { role_b }];
            d
        })
        .collect();
    h.queue(burst).await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    assert!(worker.run_once().await.unwrap());
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1, "one digest instead of 50 messages");
    let b = body(&reqs[0]);
    let embed = &b["embeds"][0];
    assert_eq!(embed["title"], json!("50 new videos"));
    let lines: Vec<&str> = embed["description"].as_str().unwrap().lines().collect();
    assert_eq!(lines.len(), 50);
    assert!(lines[0].starts_with("**Lecture 0"));
    assert!(lines[49].starts_with("**Lecture 49"));
    // The roles once each, in the content, and only they may be pinged.
    assert_eq!(b["content"], json!("<@&555> <@&556>"));
    assert_eq!(b["allowed_mentions"]["parse"], json!([]));
    assert_eq!(b["allowed_mentions"]["roles"], json!(["555", "556"]));
    assert_eq!(b["nonce"], json!("kd-1"));
    let rows = h.rows().await;
    let first = rows[0].message.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.status == DeliveryStatus::Delivered && r.message == Some(first))
    );
}

#[tokio::test]
async fn a_webhook_target_posts_through_the_webhook_without_the_bot_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let mut d = delivery(CH_A, EventKind::EntryReady, "w1", "via webhook");
    d.webhook = Some(
        WebhookUrl::parse(&format!(
            "https://discord.com/api/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}"
        ))
        .unwrap(),
    );
    h.queue(vec![d]).await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    h.drain(&worker, 5, 5).await;
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1);
    assert!(!reqs[0].headers.contains_key("authorization"));
    assert_eq!(reqs[0].url.query(), Some("wait=true"));
    assert!(
        body(&reqs[0]).get("nonce").is_none(),
        "webhooks have no nonce"
    );
    assert_eq!(h.rows().await[0].status, DeliveryStatus::Delivered);
}

fn webhook() -> WebhookUrl {
    WebhookUrl::parse(&format!(
        "https://discord.com/api/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}"
    ))
    .unwrap()
}

/// A meeting state for a webhook target, pinging one role.
fn webhook_state(kind: EventKind, text: &str) -> NewDelivery {
    let mut d = delivery(CH_A, kind, "w9", text);
    d.webhook = Some(webhook());
    d.thread_key = Some("meeting:4242:w9".to_owned());
    d.message.allowed_mentions.roles = vec![RoleId::new(555).unwrap()];
    d
}

/// Captures every log line (DEBUG and up, twilight-http's own target at ERROR as the
/// crate documents) for the current thread.
fn capture_logs() -> (crate::support::Captured, tracing::subscriber::DefaultGuard) {
    let captured = crate::support::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,twilight_http=error",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Callsites first hit by tests on other threads (no subscriber) cached "never".
    tracing::callsite::rebuild_interest_cache();
    (captured, guard)
}

fn logs(captured: &crate::support::Captured) -> String {
    captured
        .0
        .lock()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_webhook_target_keeps_one_living_message_edited_through_the_webhook() {
    let (captured, _guard) = capture_logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(format!(
            r"^/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}/messages/\d+$"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    tracing::callsite::rebuild_interest_cache();
    h.queue(vec![webhook_state(
        EventKind::MeetingScheduled,
        "scheduled",
    )])
    .await;
    h.drain(&worker, 1, 5).await;
    // Two later states in one batch: the second edits the same message too.
    h.queue(vec![webhook_state(EventKind::MeetingLive, "live")])
        .await;
    h.queue(vec![webhook_state(EventKind::MeetingEnded, "ended")])
        .await;
    h.drain(&worker, 1, 5).await;

    let reqs = requests(&server).await;
    let verbs: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(verbs, ["POST", "PATCH", "PATCH"]);
    let rows = h.rows().await;
    let posted = rows[0].message.unwrap();
    assert!(rows.iter().all(|r| r.status == DeliveryStatus::Delivered));
    assert!(
        rows.iter().all(|r| r.message == Some(posted)),
        "every state is the one message"
    );
    for (r, text) in reqs[1..].iter().zip(["live", "ended"]) {
        assert_eq!(
            r.url.path(),
            format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}/messages/{posted}")
        );
        assert_eq!(r.url.query(), None);
        assert!(
            !r.headers.contains_key("authorization"),
            "the webhook token authenticates the edit, not the bot token"
        );
        let b = body(r);
        assert_eq!(b["content"], json!(text));
        assert_eq!(b["embeds"][0]["title"], json!(text));
        assert_eq!(
            b["allowed_mentions"],
            json!({"parse": [], "users": [], "roles": ["555"]})
        );
        assert!(b.get("nonce").is_none() && b.get("flags").is_none(), "{b}");
    }
    let logs = logs(&captured);
    assert!(logs.contains("editing a webhook message"), "{logs}");
    assert!(!logs.contains("MARKER-WEBHOOK-TOKEN"), "{logs}");
    assert!(!logs.contains("MARKER-BOT-TOKEN"), "{logs}");
}

#[tokio::test]
async fn a_deleted_webhook_message_is_posted_again_and_becomes_the_living_message() {
    let (captured, _guard) = capture_logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    // The first message was deleted by a moderator; the one posted instead still exists.
    let first = 1_400_000_000_000_000_001_u64;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}/messages/{first}"
        )))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"code": 10008, "message": format!("Unknown Message {WEBHOOK_TOKEN}")}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(format!(
            r"^/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}/messages/\d+$"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    tracing::callsite::rebuild_interest_cache();
    for (kind, text) in [
        (EventKind::MeetingScheduled, "scheduled"),
        (EventKind::MeetingLive, "live"),
        (EventKind::MeetingEnded, "ended"),
    ] {
        h.queue(vec![webhook_state(kind, text)]).await;
        h.drain(&worker, 1, 5).await;
    }

    let reqs = requests(&server).await;
    let calls: Vec<(String, String)> = reqs
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect();
    let rows = h.rows().await;
    assert_eq!(rows[0].message.map(MessageId::get), Some(first));
    let second = rows[1].message.unwrap();
    assert_ne!(second.get(), first, "a new message was posted");
    let hook = format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}");
    assert_eq!(
        calls,
        [
            ("POST".to_owned(), hook.clone()),
            ("PATCH".to_owned(), format!("{hook}/messages/{first}")),
            ("POST".to_owned(), hook.clone()),
            // The new message was recorded: the next state edits it.
            ("PATCH".to_owned(), format!("{hook}/messages/{second}")),
        ]
    );
    assert_eq!(reqs[2].url.query(), Some("wait=true"));
    assert_eq!(body(&reqs[2])["content"], json!("live"));
    assert_eq!(body(&reqs[3])["content"], json!("ended"));
    assert!(rows.iter().all(|r| r.status == DeliveryStatus::Delivered));
    assert_eq!(rows[2].message, Some(second));
    let logs = logs(&captured);
    assert!(logs.contains("the living message was deleted"), "{logs}");
    assert!(logs.contains("Unknown Message"), "{logs}");
    assert!(!logs.contains("MARKER-WEBHOOK-TOKEN"), "{logs}");
}

#[tokio::test]
async fn an_unknown_webhook_on_edit_dead_letters_instead_of_reposting() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}")))
        .respond_with(new_messages())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(format!(
            r"^/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}/messages/\d+$"
        )))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 10015, "message": "Unknown Webhook"})),
        )
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    h.queue(vec![webhook_state(
        EventKind::MeetingScheduled,
        "scheduled",
    )])
    .await;
    h.drain(&worker, 1, 5).await;
    h.queue(vec![webhook_state(EventKind::MeetingLive, "live")])
        .await;
    h.drain(&worker, 1, 5).await;
    let verbs: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(
        verbs,
        ["POST", "PATCH"],
        "no repost when the webhook is gone"
    );
    let rows = h.rows().await;
    assert_eq!(rows[1].status, DeliveryStatus::Dead);
    assert!(
        rows[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("Unknown Webhook"),
        "{:?}",
        rows[1].reason
    );
}

#[tokio::test]
async fn edit_webhook_message_sends_link_buttons_with_components_and_maps_errors() {
    use kaltura_discord::commands::reply::{ActionRow, Button};
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}/messages/42"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "42"})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}/messages/43"
        )))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"code": 10008, "message": format!("Unknown Message {WEBHOOK_TOKEN}")}),
        ))
        .mount(&server)
        .await;
    let rest = rest(&server, Duration::from_secs(10));
    let reply = Reply::text("recording ready").row(ActionRow::Buttons(vec![Button::Link {
        label: "Watch".to_owned(),
        url: "https://example.invalid/watch".to_owned(),
    }]));
    rest.edit_webhook_message(&webhook(), MessageId::new(42).unwrap(), &reply)
        .await
        .unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs[0].url.query(), Some("with_components=true"));
    assert_eq!(
        body(&reqs[0])["components"][0]["components"][0]["url"],
        json!("https://example.invalid/watch")
    );
    let e = rest
        .edit_webhook_message(&webhook(), MessageId::new(43).unwrap(), &reply)
        .await
        .unwrap_err();
    let Error::Discord(d) = &e else { panic!("{e}") };
    assert_eq!(d.code, Some(10008));
    assert_eq!(d.status, Some(404));
    assert_eq!(d.operation, "editing a webhook message");
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("MARKER-WEBHOOK-TOKEN"), "{shown}");
}

fn meeting(event: i64, starts_at: i64, ends_at: i64) -> MeetingRecord {
    MeetingRecord {
        guild: guild(),
        partner_id: PartnerId::new(PARTNER),
        event_id: ScheduleEventId::new(event),
        resource_id: ScheduleResourceId::new(event + 1000),
        title: "Weekly sync".to_owned(),
        description: None,
        kind: MeetingType::MeetingRoom,
        starts_at,
        ends_at,
        created_by: DiscordUserId::new(1).unwrap(),
        created_at: T0,
        status: MeetingStatus::Scheduled,
        ended_at: None,
        ended_by: None,
    }
}

/// Routes what the lifecycle emitted, as the router does for meeting kinds.
async fn route_meeting_events(h: &Harness) -> usize {
    let w = WorkerId("router".to_owned());
    let now = h.clock.now_unix();
    let events = h.store.claim_events(&w, now, 60, 100).await.unwrap();
    let n = events.len();
    for e in events {
        let kind = e.event.kind.unwrap();
        let subject = e.event.subject.clone().unwrap();
        let d = NewDelivery {
            event: e.id,
            guild: guild(),
            channel: ch(CH_A),
            webhook: None,
            kind,
            subject_key: format!("{kind}:{subject}"),
            thread_key: Some(format!("meeting:{PARTNER}:{subject}")),
            message: Reply::text(format!("Weekly sync: {kind}")),
            digest_line: None,
        };
        h.store.route_event(&w, e.id, &[d], now).await.unwrap();
    }
    n
}

#[tokio::test]
async fn a_meeting_is_one_living_message_one_post_three_edits() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(format!(
            r"^/api/v10/channels/{CH_A}/messages/\d+$"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let meetings = h.store.clone();
    let (start, end) = (T0 + 600, T0 + 4200);
    meetings
        .insert_meeting(&meeting(777, start, end))
        .await
        .unwrap();
    let lifecycle = MeetingLifecycle::new(meetings.clone(), h.store.clone())
        .with_clock(Arc::new(h.clock.clone()));
    let worker = h.worker(rest(&server, Duration::from_secs(10)));

    // Scheduled: the router queued the announcement when the meeting was created.
    let scheduled = kaltura_discord::notify::lifecycle::lifecycle_event(
        PartnerId::new(PARTNER),
        EventKind::MeetingScheduled,
        777,
        json!({}),
        T0,
    );
    h.store.ingest_batch(&[scheduled]).await.unwrap();
    assert_eq!(lifecycle.tick(T0).await.unwrap(), 0, "nothing due yet");
    assert_eq!(route_meeting_events(&h).await, 1);
    h.drain(&worker, 1, 5).await;
    assert_eq!(lifecycle.next_due(T0).await.unwrap(), Some(start));

    // Live at its start.
    h.clock.set(start);
    assert_eq!(lifecycle.tick(start).await.unwrap(), 1);
    assert_eq!(route_meeting_events(&h).await, 1);
    h.drain(&worker, 1, 5).await;

    // Ended at its end; ticking again announces nothing twice.
    h.clock.set(end + 1);
    assert_eq!(lifecycle.tick(end + 1).await.unwrap(), 1);
    assert_eq!(lifecycle.tick(end + 2).await.unwrap(), 0);
    assert_eq!(route_meeting_events(&h).await, 1);
    h.drain(&worker, 1, 5).await;

    // The recording becomes ready.
    let entry = json!({"id": "0_rec", "templateEntryId": "0_tpl", "status": 2});
    assert!(
        lifecycle
            .recording_ready(PartnerId::new(PARTNER), 777, &entry, end + 100)
            .await
            .unwrap()
    );
    assert!(
        !lifecycle
            .recording_ready(PartnerId::new(PARTNER), 777, &entry, end + 101)
            .await
            .unwrap()
    );
    assert_eq!(route_meeting_events(&h).await, 1);
    h.drain(&worker, 1, 5).await;

    let reqs = requests(&server).await;
    let verbs: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(verbs, ["POST", "PATCH", "PATCH", "PATCH"]);
    let posted = h.rows().await[0].message.unwrap();
    for r in &reqs[1..] {
        assert_eq!(
            r.url.path(),
            format!("/api/v10/channels/{CH_A}/messages/{posted}")
        );
    }
    let contents: Vec<String> = reqs
        .iter()
        .map(|r| body(r)["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        contents,
        [
            "Weekly sync: meeting_scheduled",
            "Weekly sync: meeting_live",
            "Weekly sync: meeting_ended",
            "Weekly sync: recording_ready"
        ]
    );
}

#[tokio::test]
async fn a_living_message_deleted_by_a_moderator_is_posted_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(format!(
            r"^/api/v10/channels/{CH_A}/messages/\d+$"
        )))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 10008, "message": "Unknown Message"})),
        )
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    let mut first = delivery(CH_A, EventKind::MeetingScheduled, "9", "scheduled");
    first.thread_key = Some("meeting:4242:9".to_owned());
    h.queue(vec![first]).await;
    h.drain(&worker, 1, 5).await;
    let mut live = delivery(CH_A, EventKind::MeetingLive, "9", "live");
    live.thread_key = Some("meeting:4242:9".to_owned());
    h.queue(vec![live]).await;
    h.drain(&worker, 1, 5).await;

    let reqs = requests(&server).await;
    let verbs: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(verbs, ["POST", "PATCH", "POST"]);
    let rows = h.rows().await;
    assert_eq!(rows[1].status, DeliveryStatus::Delivered);
    assert_ne!(rows[0].message, rows[1].message, "a new message was posted");
    assert_eq!(body(&reqs[2])["content"], json!("live"));
}

#[tokio::test]
async fn create_message_once_sends_the_nonce_and_refuses_bad_ones() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    let rest = rest(&server, Duration::from_secs(10));
    let id = rest
        .create_message_once(ch(CH_A), &Reply::text("hello"), "kd-12")
        .await
        .unwrap();
    assert_eq!(id.get(), 1_400_000_000_000_000_001);
    let reqs = requests(&server).await;
    let b = body(&reqs[0]);
    assert_eq!(b["nonce"], json!("kd-12"));
    assert_eq!(b["enforce_nonce"], json!(true));
    assert_eq!(b["content"], json!("hello"));
    for bad in ["", "x".repeat(26).as_str(), "é"] {
        let e = rest
            .create_message_once(ch(CH_A), &Reply::text("hello"), bad)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput { field: "nonce", .. }),
            "{e}"
        );
    }
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn the_run_loop_wakes_on_a_poke_and_stops_on_shutdown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(new_messages())
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let worker = DeliveryWorker::builder()
        .store(h.store.clone())
        .rest(rest(&server, Duration::from_secs(10)))
        .clock(Arc::new(h.clock.clone()))
        // A long idle poll: only the poke can make it deliver within the test's timeout.
        .options(DeliveryOptions::default().idle_poll(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let wake = worker.waker();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    // Let it find nothing and go to sleep, then queue and poke.
    tokio::task::yield_now().await;
    h.queue(vec![delivery(CH_A, EventKind::EntryReady, "p1", "poked")])
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while h
        .rows()
        .await
        .first()
        .is_none_or(|r| r.status != DeliveryStatus::Delivered)
    {
        assert!(tokio::time::Instant::now() < deadline, "never delivered");
        wake.notify_waiters();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the worker stops on shutdown")
        .unwrap();
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn no_token_reaches_the_logs_the_reasons_or_debug() {
    let captured = crate::support::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,twilight_http=error",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites first hit by tests on other threads (no subscriber) cached "never".
    tracing::callsite::rebuild_interest_cache();

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"code": 10015, "message": format!("Unknown Webhook {WEBHOOK_TOKEN}")}),
        ))
        .mount(&server)
        .await;
    let h = Harness::new().await;
    let mut d = delivery(CH_A, EventKind::EntryReady, "s1", "secretive");
    d.webhook = Some(
        WebhookUrl::parse(&format!(
            "https://discord.com/api/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}"
        ))
        .unwrap(),
    );
    h.queue(vec![d]).await;
    let worker = h.worker(rest(&server, Duration::from_secs(10)));
    tracing::callsite::rebuild_interest_cache();
    h.drain(&worker, 5, 5).await;
    let rows = h.rows().await;
    assert_eq!(rows[0].status, DeliveryStatus::Dead);
    let reason = rows[0].reason.clone().unwrap();
    assert!(reason.contains("Unknown Webhook"), "{reason}");
    let logs = captured
        .0
        .lock()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default();
    assert!(logs.contains("notify.deliver"), "{logs}");
    assert!(logs.contains("dead-lettered"), "{logs}");
    let debug = format!("{worker:?}");
    for shown in [&reason, &logs, &debug] {
        assert!(!shown.contains("MARKER-WEBHOOK-TOKEN"), "{shown}");
        assert!(!shown.contains("MARKER-BOT-TOKEN"), "{shown}");
    }
}

#[tokio::test]
async fn a_cancelled_schedule_event_ends_the_meeting_once() {
    let h = Harness::new().await;
    let lifecycle = MeetingLifecycle::new(h.store.clone(), h.store.clone());
    let changed = |status: Value| InboundEvent {
        partner_id: PartnerId::new(PARTNER),
        dedup_key: format!("job:{status}"),
        kind: Some(EventKind::MeetingScheduled),
        subject: Some("31".to_owned()),
        object: json!({"id": "31", "status": status, "objectType": "KalturaRecordScheduleEvent"}),
        meta: Default::default(),
        received_at: T0,
    };
    assert!(
        !lifecycle
            .on_schedule_event(&changed(json!(2)))
            .await
            .unwrap(),
        "active"
    );
    assert!(
        lifecycle
            .on_schedule_event(&changed(json!("1")))
            .await
            .unwrap(),
        "cancelled"
    );
    assert!(
        !lifecycle
            .on_schedule_event(&changed(json!(3)))
            .await
            .unwrap(),
        "once"
    );
    let w = WorkerId("router".to_owned());
    let events = h.store.claim_events(&w, T0, 60, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.kind, Some(EventKind::MeetingEnded));
    assert_eq!(events[0].event.dedup_key, "lifecycle:meeting_ended:31");
    assert_eq!(events[0].event.subject.as_deref(), Some("31"));
}

#[tokio::test]
async fn the_lifecycle_catches_up_on_what_passed_while_it_was_down() {
    let h = Harness::new().await;
    // One meeting ended an hour ago, one started ten minutes ago, one is tomorrow.
    for (id, start, end) in [
        (1, T0 - 7200, T0 - 3600),
        (2, T0 - 600, T0 + 3000),
        (3, T0 + 86_400, T0 + 90_000),
    ] {
        h.store
            .insert_meeting(&meeting(id, start, end))
            .await
            .unwrap();
    }
    let lifecycle = MeetingLifecycle::new(h.store.clone(), h.store.clone());
    assert_eq!(lifecycle.tick(T0).await.unwrap(), 2);
    let w = WorkerId("router".to_owned());
    let mut keys: Vec<String> = h
        .store
        .claim_events(&w, T0, 60, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.dedup_key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["lifecycle:meeting_ended:1", "lifecycle:meeting_live:2"]
    );
    // A restarted lifecycle (no memory) announces nothing twice.
    let again = MeetingLifecycle::new(h.store.clone(), h.store.clone());
    assert_eq!(again.tick(T0 + 1).await.unwrap(), 0);
    assert_eq!(again.next_due(T0).await.unwrap(), Some(T0 + 3000));
}

#[tokio::test]
async fn a_429_beyond_the_budget_reports_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CH_A}/messages")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "45")
                .insert_header("x-ratelimit-scope", "user")
                .insert_header("x-ratelimit-bucket", "feed1234")
                .insert_header("x-ratelimit-limit", "5")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset-after", "45.000")
                .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 45.0, "global": false})),
        )
        .mount(&server)
        .await;
    let rest = rest(&server, Duration::from_millis(500));
    let e = rest
        .create_message_once(ch(CH_A), &Reply::text("x"), "kd-1")
        .await
        .unwrap_err();
    let Error::Discord(d) = e else { panic!("{e}") };
    assert_eq!(d.kind, kaltura_discord::rest::DiscordErrorKind::RateLimited);
    let wait = d.retry_after.expect("the bucket's reset is reported");
    assert!(
        (Duration::from_secs(44)..=Duration::from_secs(45)).contains(&wait),
        "{wait:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
}
