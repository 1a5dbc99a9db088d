//! The Kaltura webhook receiver, driven for real over loopback (axum::serve + reqwest), on
//! the real SQL notification store (SQLite).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use kaltura_client::PartnerId;
use kaltura_client::clock::FixedClock;
use kaltura_discord::Result;
use kaltura_discord::error::{Error, StoreError, StoreErrorKind};
use kaltura_discord::http::WebhookReceiver;
use kaltura_discord::http::webhooks::METRICS_CONTENT_TYPE;
use kaltura_discord::ids::{ChannelId, GuildId};
use kaltura_discord::notify::metrics::NotifyMetrics;
use kaltura_discord::notify::signature::sign;
use kaltura_discord::notify::{
    ChannelLease, DeliveryId, DeliveryOutcome, DeliveryRecord, EventKind, HashAlgorithm,
    InboundEvent, Ingested, NotificationStore, OutboxStats, RouteResult, RoutedEvent, StoredEvent,
    Subscription, SubscriptionId, WorkerId,
};
use secrecy::SecretString;

use crate::support::Captured;

const PARTNER: i64 = 12345;
const OTHER_PARTNER: i64 = 777;
const SECRET: &str = "canary-admin-secret-0123456789abcdef";
const OTHER_SECRET: &str = "other-partner-secret-fedcba9876543210";
const NOW: i64 = 1_700_000_000;

/// The store under test behind a switch that makes every call fail (the database is gone).
struct Switch {
    inner: Arc<dyn NotificationStore>,
    fail: AtomicBool,
}

impl Switch {
    fn check(&self) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::Store(StoreError::without_source(
                "reaching the test database",
                StoreErrorKind::Unavailable,
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl NotificationStore for Switch {
    async fn ingest_batch(&self, events: &[InboundEvent]) -> Result<Vec<Ingested>> {
        self.check()?;
        self.inner.ingest_batch(events).await
    }
    async fn claim_events(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        self.check()?;
        self.inner
            .claim_events(worker, now, lease_secs, limit)
            .await
    }
    async fn route_events(
        &self,
        worker: &WorkerId,
        events: &[RoutedEvent],
        now: i64,
    ) -> Result<Vec<RouteResult>> {
        self.check()?;
        self.inner.route_events(worker, events, now).await
    }
    async fn newest_event_at(&self, partner: PartnerId) -> Result<Option<i64>> {
        self.check()?;
        self.inner.newest_event_at(partner).await
    }
    async fn lease_channel(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        max_items: u32,
    ) -> Result<Option<ChannelLease>> {
        self.check()?;
        self.inner
            .lease_channel(worker, now, lease_secs, max_items)
            .await
    }
    async fn finish(
        &self,
        lease: &ChannelLease,
        outcomes: &[(DeliveryId, DeliveryOutcome)],
        now: i64,
    ) -> Result<()> {
        self.check()?;
        self.inner.finish(lease, outcomes, now).await
    }
    async fn history(&self, guild: GuildId, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.check()?;
        self.inner.history(guild, limit).await
    }
    async fn replay(&self, guild: GuildId, id: DeliveryId, now: i64) -> Result<bool> {
        self.check()?;
        self.inner.replay(guild, id, now).await
    }
    async fn stats(&self) -> Result<OutboxStats> {
        self.check()?;
        self.inner.stats().await
    }
    async fn subscribe(&self, subscription: &Subscription) -> Result<SubscriptionId> {
        self.check()?;
        self.inner.subscribe(subscription).await
    }
    async fn unsubscribe(
        &self,
        guild: GuildId,
        channel: ChannelId,
        kind: Option<EventKind>,
    ) -> Result<u32> {
        self.check()?;
        self.inner.unsubscribe(guild, channel, kind).await
    }
    async fn guild_subscriptions(&self, guild: GuildId) -> Result<Vec<Subscription>> {
        self.check()?;
        self.inner.guild_subscriptions(guild).await
    }
    async fn partner_subscriptions(&self, partner: PartnerId) -> Result<Vec<Subscription>> {
        self.check()?;
        self.inner.partner_subscriptions(partner).await
    }
}

type Backing = crate::support::TestStore;

/// The real SQL notification store on a fresh SQLite database (WAL).
async fn backing_store() -> (Arc<dyn NotificationStore>, Backing) {
    let backing = crate::support::sqlite().await;
    (Arc::new(backing.store.clone()), backing)
}

struct Server {
    base: String,
    http: reqwest::Client,
    store: Arc<Switch>,
    metrics: NotifyMetrics,
    _backing: Backing,
}

async fn server() -> Server {
    server_with(|b| b).await
}

async fn server_with(
    tweak: impl FnOnce(
        kaltura_discord::http::WebhookReceiverBuilder,
    ) -> kaltura_discord::http::WebhookReceiverBuilder,
) -> Server {
    let (inner, backing) = backing_store().await;
    let store = Arc::new(Switch {
        inner,
        fail: AtomicBool::new(false),
    });
    let metrics = NotifyMetrics::new();
    let router = tweak(
        WebhookReceiver::builder()
            .partner(PartnerId::new(PARTNER), SecretString::from(SECRET))
            .partner(
                PartnerId::new(OTHER_PARTNER),
                SecretString::from(OTHER_SECRET),
            )
            .store(store.clone())
            .metrics(metrics.clone())
            .clock(Arc::new(FixedClock(NOW))),
    )
    .build()
    .expect("receiver");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        store,
        metrics,
        _backing: backing,
    }
}

struct Answer {
    status: u16,
    body: String,
    content_type: Option<String>,
}

impl Server {
    async fn post(
        &self,
        partner: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .http
            .post(format!("{}/webhooks/kaltura/{partner}", self.base))
            .body(body.into());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        answer(req.send().await.expect("request")).await
    }

    /// A body signed with the partner's secret the way Kaltura signs it.
    async fn signed(&self, body: &str, content_type: &str, algo: Option<HashAlgorithm>) -> Answer {
        let secret = SecretString::from(SECRET);
        let sig = sign(
            &secret,
            body.as_bytes(),
            algo.unwrap_or(HashAlgorithm::Sha1),
        );
        let mut headers = vec![
            ("content-type", content_type),
            ("x-kaltura-signature", sig.as_str()),
        ];
        let algo_name = algo.map(|a| a.as_str());
        if let Some(name) = algo_name {
            headers.push(("x-kaltura-hash-algo", name));
        }
        self.post(&PARTNER.to_string(), body, &headers).await
    }

    async fn get(&self, path: &str) -> Answer {
        answer(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    async fn claimed(&self) -> Vec<StoredEvent> {
        self.store
            .claim_events(&WorkerId("test-router".into()), NOW, 60, 1000)
            .await
            .expect("claim")
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    Answer {
        status,
        body,
        content_type,
    }
}

fn entry_json(job: i64, entry: &str, status: &str) -> String {
    format!(
        r#"{{"object":{{"id":"{entry}","name":"Intro lecture","status":{status},"mediaType":1,"objectType":"KalturaMediaEntry"}},"eventObjectType":"1","eventNotificationJobId":{job},"templateId":45,"templateName":"Entry Status Changed","templateSystemName":"HTTP_ENTRY_STATUS_CHANGED","eventType":"3","objectType":"KalturaHttpNotification"}}"#
    )
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn a_200_means_the_event_is_committed() {
    let s = server().await;
    let a = s
        .signed(
            &entry_json(101, "0_abc", "2"),
            JSON,
            Some(HashAlgorithm::Sha256),
        )
        .await;
    assert_eq!((a.status, a.body.as_str()), (200, "OK"));
    // After the 200, a router claims it: it was committed before the answer.
    let claimed = s.claimed().await;
    assert_eq!(claimed.len(), 1);
    let e = &claimed[0].event;
    assert_eq!(e.partner_id, PartnerId::new(PARTNER));
    assert_eq!(e.dedup_key, "job:101");
    assert_eq!(e.kind, Some(EventKind::EntryReady));
    assert_eq!(e.subject.as_deref(), Some("0_abc"));
    assert_eq!(e.received_at, NOW);
    assert_eq!(e.meta.format, "json");
    assert_eq!(e.object["name"], "Intro lecture");
}

#[tokio::test]
async fn every_body_form_and_algorithm_is_accepted() {
    let s = server().await;
    let legacy = form(&[("data", &entry_json(2, "0_legacy", "\"2\""))]);
    let xml = "<notification><object><objectType>KalturaMediaEntry</objectType><id>0_xml</id><status>2</status></object><eventObjectType>1</eventObjectType><eventNotificationJobId>3</eventNotificationJobId><eventType>3</eventType></notification>";
    let xml_form = form(&[("data", xml)]);
    let fields = form(&[("entry_id", "0_fields"), ("entry_status", "2")]);
    let unknown = r#"{"object":{"id":"u1","objectType":"KalturaUser"},"eventObjectType":"8","eventType":"2","eventNotificationJobId":6}"#;
    for (body, ct, algo) in [
        (entry_json(1, "0_json", "2"), JSON, None),
        (legacy, FORM, Some(HashAlgorithm::Sha1)),
        (xml_form, FORM, Some(HashAlgorithm::Sha512)),
        (
            xml.to_owned(),
            "application/xml",
            Some(HashAlgorithm::Sha256),
        ),
        (fields, FORM, Some(HashAlgorithm::Sha256)),
        (unknown.to_owned(), JSON, None),
    ] {
        let a = s.signed(&body, ct, algo).await;
        assert_eq!(a.status, 200, "{ct} {algo:?}: {}", a.body);
    }
    let claimed = s.claimed().await;
    let got: Vec<(Option<&str>, &str, Option<EventKind>)> = claimed
        .iter()
        .map(|c| {
            (
                c.event.subject.as_deref(),
                c.event.meta.format.as_str(),
                c.event.kind,
            )
        })
        .collect();
    let ready = Some(EventKind::EntryReady);
    assert_eq!(
        got,
        vec![
            (Some("0_json"), "json", ready),
            (Some("0_legacy"), "form_json", ready),
            (Some("0_xml"), "xml", ready),
            // The same XML notification (same job id 3) again: a duplicate, not stored.
            (Some("0_fields"), "fields", ready),
            (Some("u1"), "json", None),
        ]
    );
    let text = s.metrics.encode();
    assert!(text.contains("kd_webhooks_received_total 5"), "{text}");
    assert!(text.contains("kd_webhooks_duplicates_total 1"), "{text}");
}

#[tokio::test]
async fn duplicates_are_acknowledged_and_stored_once() {
    let s = server().await;
    let body = entry_json(555, "0_dup", "2");
    for _ in 0..3 {
        let a = s.signed(&body, JSON, Some(HashAlgorithm::Sha256)).await;
        assert_eq!((a.status, a.body.as_str()), (200, "OK"));
    }
    // Concurrent retries of one job: all 200, one event.
    let mut tasks = Vec::new();
    let s = Arc::new(s);
    for _ in 0..16 {
        let s = Arc::clone(&s);
        let body = entry_json(556, "0_dup2", "2");
        tasks.push(tokio::spawn(async move {
            s.signed(&body, JSON, None).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 200);
    }
    let claimed = s.claimed().await;
    let keys: Vec<&str> = claimed.iter().map(|c| c.event.dedup_key.as_str()).collect();
    assert_eq!(keys, vec!["job:555", "job:556"]);
    let text = s.metrics.encode();
    assert!(text.contains("kd_webhooks_received_total 2"), "{text}");
    assert!(text.contains("kd_webhooks_duplicates_total 17"), "{text}");
}

/// Name, partner in the path, body, headers, expected status.
type Case<'a> = (&'a str, String, Vec<u8>, Vec<(&'a str, &'a str)>, u16);

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let s = server().await;
    let p = PARTNER.to_string();
    let body = entry_json(9, "0_bad", "2");
    let secret = SecretString::from(SECRET);
    let sha1 = sign(&secret, body.as_bytes(), HashAlgorithm::Sha1);
    let sha256 = sign(&secret, body.as_bytes(), HashAlgorithm::Sha256);
    let other = sign(
        &SecretString::from(OTHER_SECRET),
        body.as_bytes(),
        HashAlgorithm::Sha1,
    );
    let xml = "<notification><object><id>0_x</id></object></notification>";
    let xml_sig = sign(&secret, xml.as_bytes(), HashAlgorithm::Sha1);
    let bad_json = r#"{"object": {"id": "0_x", "#;
    let bad_json_sig = sign(&secret, bad_json.as_bytes(), HashAlgorithm::Sha1);
    let empty_sig = sign(&secret, b"", HashAlgorithm::Sha1);
    let big = vec![b' '; 10 * 1024 * 1024];
    let big_sig = sign(&secret, &big, HashAlgorithm::Sha1);

    let cases: Vec<Case<'_>> = vec![
        (
            "wrong signature",
            p.clone(),
            body.clone().into(),
            vec![("content-type", JSON), ("x-kaltura-signature", &other)],
            401,
        ),
        (
            "missing signature",
            p.clone(),
            body.clone().into(),
            vec![("content-type", JSON)],
            401,
        ),
        (
            "algorithm mismatch (sha256 signature, no algorithm header)",
            p.clone(),
            body.clone().into(),
            vec![("content-type", JSON), ("x-kaltura-signature", &sha256)],
            401,
        ),
        (
            "algorithm mismatch (sha1 signature announced as sha512)",
            p.clone(),
            body.clone().into(),
            vec![
                ("content-type", JSON),
                ("x-kaltura-signature", &sha1),
                ("x-kaltura-hash-algo", "sha512"),
            ],
            401,
        ),
        (
            "unknown algorithm",
            p.clone(),
            body.clone().into(),
            vec![
                ("content-type", JSON),
                ("x-kaltura-signature", &sha1),
                ("x-kaltura-hash-algo", "md5"),
            ],
            400,
        ),
        (
            "empty body",
            p.clone(),
            Vec::new(),
            vec![("content-type", JSON), ("x-kaltura-signature", &empty_sig)],
            400,
        ),
        (
            "malformed JSON",
            p.clone(),
            bad_json.into(),
            vec![
                ("content-type", JSON),
                ("x-kaltura-signature", &bad_json_sig),
            ],
            400,
        ),
        (
            "XML where JSON is declared",
            p.clone(),
            xml.into(),
            vec![("content-type", JSON), ("x-kaltura-signature", &xml_sig)],
            400,
        ),
        (
            "10 MB body",
            p.clone(),
            big.clone(),
            vec![("content-type", JSON), ("x-kaltura-signature", &big_sig)],
            413,
        ),
        (
            "unknown partner",
            "999".into(),
            body.clone().into(),
            vec![("content-type", JSON), ("x-kaltura-signature", &sha1)],
            404,
        ),
        (
            "malformed partner",
            "12345abc".into(),
            body.clone().into(),
            vec![("content-type", JSON), ("x-kaltura-signature", &sha1)],
            404,
        ),
        (
            "another partner's secret for this partner",
            OTHER_PARTNER.to_string(),
            body.clone().into(),
            vec![("content-type", JSON), ("x-kaltura-signature", &sha1)],
            401,
        ),
    ];
    let mut answers = Vec::new();
    for (name, partner, body, headers, status) in cases {
        let a = s.post(&partner, body, &headers).await;
        assert_eq!(a.status, status, "{name}: {}", a.body);
        assert!(
            !a.body.contains(SECRET) && !a.body.contains("0_bad"),
            "{name}: {}",
            a.body
        );
        answers.push((name, a));
    }
    let by_name = |n: &str| {
        answers
            .iter()
            .find(|(name, _)| *name == n)
            .map(|(_, a)| a.body.clone())
            .unwrap_or_default()
    };
    assert!(by_name("XML where JSON is declared").contains("XML"));
    assert!(by_name("malformed JSON").contains("JSON"));
    assert!(by_name("empty body").contains("empty"));
    // A 404 says nothing about which partners exist.
    assert_eq!(by_name("unknown partner"), by_name("malformed partner"));

    assert!(s.claimed().await.is_empty());
    let text = s.metrics.encode();
    for (reason, n) in [
        ("bad_signature", 4),
        ("missing_signature", 1),
        ("unknown_algorithm", 1),
        ("malformed", 3),
        ("too_large", 1),
        ("unknown_partner", 2),
    ] {
        let line = format!("kd_webhooks_rejected_total{{reason=\"{reason}\"}} {n}");
        assert!(text.contains(&line), "{line}\n{text}");
    }
    assert!(!text.contains("kd_webhooks_received_total 1"), "{text}");

    // The same body, correctly signed, still goes through afterwards.
    let a = s.signed(&body, JSON, None).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn a_body_over_a_small_limit_is_413_and_one_at_the_limit_passes() {
    let body = entry_json(1, "0_lim", "2");
    let limit = body.len();
    let s = server_with(|b| b.body_limit(limit)).await;
    assert_eq!(s.signed(&body, JSON, None).await.status, 200);
    let longer = format!("{body} ");
    assert_eq!(s.signed(&longer, JSON, None).await.status, 413);
    // Streamed (chunked, no Content-Length): refused once the limit is passed.
    let sig = sign(
        &SecretString::from(SECRET),
        longer.as_bytes(),
        HashAlgorithm::Sha1,
    );
    let mut raw = format!(
        "POST /webhooks/kaltura/{PARTNER} HTTP/1.1\r\nhost: x\r\ncontent-type: {JSON}\r\n\
         x-kaltura-signature: {sig}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    for chunk in longer.as_bytes().chunks(50) {
        raw.push_str(&format!("{:x}\r\n", chunk.len()));
        raw.push_str(std::str::from_utf8(chunk).expect("utf-8"));
        raw.push_str("\r\n");
    }
    raw.push_str("0\r\n\r\n");
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    conn.write_all(raw.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(s.claimed().await.len() == 1);
}

#[tokio::test]
async fn a_failing_store_is_503_and_the_retry_succeeds() {
    let s = server().await;
    let body = entry_json(700, "0_retry", "2");
    s.store.fail.store(true, Ordering::SeqCst);
    let a = s.signed(&body, JSON, None).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(s.get("/readyz").await.status, 503);
    assert_eq!(s.get("/healthz").await.status, 200);
    // Metrics still answer (with stale depth gauges).
    assert_eq!(s.get("/metrics").await.status, 200);
    s.store.fail.store(false, Ordering::SeqCst);
    assert!(s.claimed().await.is_empty());
    // Kaltura's retry of the same job is committed once.
    let a = s.signed(&body, JSON, None).await;
    assert_eq!((a.status, a.body.as_str()), (200, "OK"));
    assert_eq!(s.claimed().await.len(), 1);
    assert_eq!(s.get("/readyz").await.status, 200);
    let text = s.metrics.encode();
    assert!(
        text.contains("kd_webhooks_rejected_total{reason=\"store_unavailable\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let s = server().await;
    let h = s.get("/healthz").await;
    assert_eq!((h.status, h.body.as_str()), (200, "ok"));
    assert_eq!(s.get("/readyz").await.status, 200);
    for job in 1..=3 {
        assert_eq!(
            s.signed(&entry_json(job, "0_m", "2"), JSON, None)
                .await
                .status,
            200
        );
    }
    let m = s.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert_eq!(m.content_type.as_deref(), Some(METRICS_CONTENT_TYPE));
    assert!(
        m.body.contains("kd_webhooks_received_total 3"),
        "{}",
        m.body
    );
    // The depth gauge was refreshed from the store: three events wait for the router.
    assert!(m.body.contains("kd_inbox_unrouted 3"), "{}", m.body);
    assert!(m.body.ends_with("# EOF\n"), "{}", m.body);
    // Other methods and paths.
    let r = s
        .http
        .get(format!("{}/webhooks/kaltura/{PARTNER}", s.base))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(s.get("/webhooks/kaltura").await.status, 404);
}

#[tokio::test(flavor = "current_thread")]
async fn logs_carry_the_request_fields_but_never_the_secret_or_body() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("kaltura_discord=debug"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // With a single registered dispatcher, tracing-core computes a callsite's interest from
    // the *registering thread's* default, so a callsite first hit by a test running in
    // parallel (no subscriber) would be cached as "never". A second live dispatcher makes it
    // ask every registered dispatcher; the rebuild fixes callsites already cached.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites cached as uninteresting by tests running without a subscriber count again.
    tracing::callsite::rebuild_interest_cache();
    tracing::callsite::rebuild_interest_cache();

    let s = server().await;
    assert_eq!(
        s.signed(&entry_json(4242, "0_logged", "2"), JSON, None)
            .await
            .status,
        200
    );
    let wrong = s
        .post(
            &PARTNER.to_string(),
            entry_json(4243, "0_canary_body", "2"),
            &[("content-type", JSON), ("x-kaltura-signature", "00")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let logs = captured
        .0
        .lock()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default();
    assert!(logs.contains("kaltura_webhook"), "{logs}");
    assert!(logs.contains("partner=12345"), "{logs}");
    assert!(logs.contains("job=4242"), "{logs}");
    assert!(logs.contains("kind=\"entry_ready\""), "{logs}");
    assert!(logs.contains("outcome=\"accepted\""), "{logs}");
    assert!(logs.contains("outcome=\"bad_signature\""), "{logs}");
    assert!(!logs.contains(SECRET), "{logs}");
    assert!(!logs.contains("canary_body"), "{logs}");
}
