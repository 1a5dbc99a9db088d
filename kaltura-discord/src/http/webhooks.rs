//! Kaltura's HTTP event notifications: `POST /webhooks/kaltura/{partner_id}`, plus the
//! operational endpoints `/healthz`, `/readyz` and `/metrics`.
//!
//! Every notification goes through these steps, in this order, and stops at the first that
//! fails:
//!
//! 1. **Partner.** The `{partner_id}` in the path must be one given to
//!    [`WebhookReceiverBuilder::partner`]; an unknown or malformed id is answered `404` with
//!    no detail (nobody learns which partners exist).
//! 2. **Size.** A body over the limit (default [`DEFAULT_BODY_LIMIT`], 1 MiB) is answered
//!    `413`: at once when `Content-Length` says so, otherwise as soon as the bytes read pass
//!    the limit. Nothing over the limit is kept in memory.
//! 3. **Signature**, on the raw bytes, before any parsing ([`crate::notify::signature`]):
//!    `X-KALTURA-SIGNATURE` = hex(hash(the partner's admin secret ‖ body)), the hash named by
//!    `X-KALTURA-HASH-ALGO` (`sha1` when absent). Missing or wrong → `401`; unknown
//!    algorithm → `400`.
//! 4. **Parse** ([`crate::notify::event::parse`]): a body that cannot be read is answered
//!    `400` with a short plain-text reason (never the body).
//! 5. **Commit** through the [`Ingestor`] (group commit): `200 OK` only once the event is
//!    durable in the store, also for a duplicate (same `eventNotificationJobId`), which is
//!    not queued again. A store that fails, or a full queue, is answered `503` so that
//!    Kaltura retries (Kaltura counts only exactly `200` as delivered).
//!
//! Each request runs in a `tracing` span `kaltura_webhook` with the fields `partner`,
//! `job`, `kind`, `outcome` and `status` (never a secret or the body), and is counted in
//! [`NotifyMetrics`] (received, duplicates, rejected by [`RejectReason`]).
//!
//! `GET /healthz` answers `200` while the process serves; `GET /readyz` answers `200` when
//! the store answers [`NotificationStore::stats`], `503` otherwise; `GET /metrics` refreshes
//! the outbox depth gauges from the store and serves [`NotifyMetrics::encode`] as
//! OpenMetrics text.
//!
//! ```no_run
//! # async fn run(store: std::sync::Arc<dyn kaltura_discord::notify::NotificationStore>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use kaltura_client::PartnerId;
//! use kaltura_discord::http::WebhookReceiver;
//! use kaltura_discord::notify::metrics::NotifyMetrics;
//! use secrecy::SecretString;
//!
//! let metrics = NotifyMetrics::new();
//! let app = WebhookReceiver::builder()
//!     .partner(
//!         PartnerId::new(12345),
//!         SecretString::from(std::env::var("KALTURA_ADMIN_SECRET")?),
//!     )
//!     .store(store)
//!     .metrics(metrics.clone())
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

use super::{ReadError, read_limited};
use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use kaltura_client::PartnerId;
use kaltura_client::clock::{Clock, SystemClock};
use secrecy::{ExposeSecret as _, SecretString};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::Result;
use crate::error::{Error, SetupError};
use crate::notify::event::parse;
use crate::notify::ingest::{IngestOptions, Ingestor};
use crate::notify::metrics::{NotifyMetrics, RejectReason};
use crate::notify::signature::{HASH_ALGO_HEADER, SIGNATURE_HEADER, verify};
use crate::notify::{Ingested, NotificationStore, SignatureError};

/// The path of the notification endpoint, with its `{partner_id}` parameter.
pub const WEBHOOK_PATH: &str = "/webhooks/kaltura/{partner_id}";

/// The default body limit: 1 MiB (a notification with a full entry is a few KiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The content type of `/metrics`.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// After refusing an oversized body, up to this many more bytes are read and discarded so
/// that the client sees the `413` instead of a reset connection; a larger body is cut off.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// How a notification request ended (the `outcome` field of the request's span).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookOutcome {
    /// Committed now (`200`).
    Accepted,
    /// Already received; acknowledged without queueing (`200`).
    Duplicate,
    /// Refused (`400`, `401`, `404`, `413` or `503`, by reason).
    Rejected(RejectReason),
}

impl WebhookOutcome {
    /// The HTTP status answered.
    pub fn status(self) -> u16 {
        match self {
            WebhookOutcome::Accepted | WebhookOutcome::Duplicate => 200,
            WebhookOutcome::Rejected(reason) => match reason {
                RejectReason::MissingSignature | RejectReason::BadSignature => 401,
                RejectReason::UnknownAlgorithm | RejectReason::Malformed => 400,
                RejectReason::UnknownPartner => 404,
                RejectReason::TooLarge => 413,
                RejectReason::StoreUnavailable => 503,
            },
        }
    }

    /// A short name (`accepted`, `duplicate`, or the reject reason, e.g. `bad_signature`).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Accepted => "accepted",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Rejected(reason) => reason.as_str(),
        }
    }
}

/// Kaltura's webhook receiver; [`WebhookReceiver::builder`] makes its router.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WebhookReceiver;

impl WebhookReceiver {
    /// A builder with no partner and no store yet; body limit [`DEFAULT_BODY_LIMIT`],
    /// fresh metrics, the system clock.
    pub fn builder() -> WebhookReceiverBuilder {
        WebhookReceiverBuilder {
            partners: HashMap::new(),
            store: None,
            metrics: NotifyMetrics::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Arc::new(SystemClock),
            ingest: IngestOptions::default(),
        }
    }
}

/// Builds the receiver's [`Router`]; see the [module documentation](self).
pub struct WebhookReceiverBuilder {
    partners: HashMap<PartnerId, SecretString>,
    store: Option<Arc<dyn NotificationStore>>,
    metrics: NotifyMetrics,
    body_limit: usize,
    clock: Arc<dyn Clock>,
    ingest: IngestOptions,
}

impl fmt::Debug for WebhookReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut partners: Vec<i64> = self.partners.keys().map(|p| p.get()).collect();
        partners.sort_unstable();
        f.debug_struct("WebhookReceiverBuilder")
            .field("partners", &partners)
            .field("store", &self.store.is_some())
            .field("body_limit", &self.body_limit)
            .field("clock", &self.clock)
            .field("ingest", &self.ingest)
            .finish_non_exhaustive()
    }
}

impl WebhookReceiverBuilder {
    /// Accepts notifications for `partner`, signed with its admin `secret`. Call once per
    /// partner; a second call for one partner replaces its secret.
    pub fn partner(mut self, partner: PartnerId, secret: SecretString) -> Self {
        self.partners.insert(partner, secret);
        self
    }

    /// The store events are committed to (the receiver starts an [`Ingestor`] on it).
    pub fn store(mut self, store: Arc<dyn NotificationStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The metrics to count into and serve at `/metrics` (share them with the router and
    /// the delivery workers).
    pub fn metrics(mut self, metrics: NotifyMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Refuses bodies over `bytes` with `413`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The clock that stamps received events (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How the [`Ingestor`] batches (default [`IngestOptions::default`]).
    pub fn ingest_options(mut self, options: IngestOptions) -> Self {
        self.ingest = options;
        self
    }

    /// The router: `POST /webhooks/kaltura/{partner_id}`, `GET /healthz`, `GET /readyz`,
    /// `GET /metrics`. Must be called inside a tokio runtime (it starts the [`Ingestor`]).
    ///
    /// # Errors
    ///
    /// [`SetupError::WebhookReceiverIncomplete`] without a store or without any partner;
    /// [`SetupError::EmptyAdminSecret`] when a partner's secret is empty.
    pub fn build(self) -> Result<Router> {
        let Some(store) = self.store else {
            return Err(Error::Setup(SetupError::WebhookReceiverIncomplete {
                part: "store",
            }));
        };
        if self.partners.is_empty() {
            return Err(Error::Setup(SetupError::WebhookReceiverIncomplete {
                part: "partner",
            }));
        }
        if self
            .partners
            .values()
            .any(|s| s.expose_secret().trim().is_empty())
        {
            return Err(Error::Setup(SetupError::EmptyAdminSecret));
        }
        let ingestor = Ingestor::start(Arc::clone(&store), self.ingest);
        let shared = Arc::new(Shared {
            partners: self.partners,
            store,
            ingestor,
            metrics: self.metrics,
            body_limit: self.body_limit,
            clock: self.clock,
        });
        Ok(Router::new()
            .route(WEBHOOK_PATH, post(notification))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(shared))
    }
}

struct Shared {
    partners: HashMap<PartnerId, SecretString>,
    store: Arc<dyn NotificationStore>,
    ingestor: Ingestor,
    metrics: NotifyMetrics,
    body_limit: usize,
    clock: Arc<dyn Clock>,
}

fn text(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok")
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    match shared.store.stats().await {
        Ok(stats) => {
            shared.metrics.set_depth(&stats);
            text(StatusCode::OK, "ready")
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            text(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    match shared.store.stats().await {
        Ok(stats) => shared.metrics.set_depth(&stats),
        Err(e) => tracing::warn!(error = %e, "outbox depth not refreshed"),
    }
    let mut response = Response::new(Body::from(shared.metrics.encode()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    response
}

async fn notification(
    State(shared): State<Arc<Shared>>,
    Path(partner): Path<String>,
    request: Request,
) -> Response {
    let span = tracing::info_span!(
        "kaltura_webhook",
        partner = Empty,
        job = Empty,
        kind = Empty,
        outcome = Empty,
        status = Empty
    );
    let (outcome, response) = process(&shared, &partner, request)
        .instrument(span.clone())
        .await;
    match outcome {
        WebhookOutcome::Accepted => shared.metrics.received(),
        WebhookOutcome::Duplicate => shared.metrics.duplicate(),
        WebhookOutcome::Rejected(reason) => shared.metrics.rejected(reason),
    }
    span.record("outcome", outcome.as_str());
    span.record("status", outcome.status());
    tracing::debug!(parent: &span, "kaltura notification done");
    response
}

/// A partner id as Kaltura writes it: 1 to 18 ASCII digits.
fn partner_id(raw: &str) -> Option<PartnerId> {
    if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<i64>().ok().map(PartnerId::new)
}

fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> std::result::Result<Option<&'h str>, ()> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    first.to_str().map(Some).map_err(|_| ())
}

async fn process(
    shared: &Shared,
    raw_partner: &str,
    request: Request,
) -> (WebhookOutcome, Response) {
    let span = tracing::Span::current();
    // 1. Partner.
    let Some((partner, secret)) =
        partner_id(raw_partner).and_then(|p| shared.partners.get_key_value(&p))
    else {
        tracing::debug!("unknown or malformed partner id");
        return (
            WebhookOutcome::Rejected(RejectReason::UnknownPartner),
            text(StatusCode::NOT_FOUND, "not found"),
        );
    };
    span.record("partner", partner.get());
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;

    // 2. Size.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = shared.body_limit;
    let too_large = || {
        (
            WebhookOutcome::Rejected(RejectReason::TooLarge),
            text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
        )
    };
    if declared.is_some_and(|len| len > limit as u64) {
        tracing::debug!(declared, limit, "body over the limit");
        if declared.is_some_and(|len| len <= DRAIN_LIMIT) {
            drain(body, DRAIN_LIMIT).await;
        }
        return too_large();
    }
    let body = match read_limited(body, limit, declared).await {
        Ok(body) => body,
        Err(ReadError::TooLarge(rest)) => {
            tracing::debug!(limit, "body over the limit");
            drain(rest, DRAIN_LIMIT).await;
            return too_large();
        }
        Err(ReadError::Broken) => {
            tracing::debug!("body could not be read");
            return (
                WebhookOutcome::Rejected(RejectReason::Malformed),
                text(StatusCode::BAD_REQUEST, "request body could not be read"),
            );
        }
    };

    // 3. Signature, on the raw bytes.
    let signature = single_header(headers, SIGNATURE_HEADER);
    let algo = single_header(headers, HASH_ALGO_HEADER);
    let checked = match (signature, algo) {
        (_, Err(())) => Err(SignatureError::UnknownAlgorithm(String::new())),
        (Err(()), Ok(_)) => Err(SignatureError::Mismatch),
        (Ok(signature), Ok(algo)) => verify(secret, &body, signature, algo),
    };
    if let Err(e) = checked {
        tracing::debug!(error = %e, "signature refused");
        return match e {
            SignatureError::UnknownAlgorithm(_) => (
                WebhookOutcome::Rejected(RejectReason::UnknownAlgorithm),
                text(StatusCode::BAD_REQUEST, "unknown X-KALTURA-HASH-ALGO"),
            ),
            SignatureError::Missing => (
                WebhookOutcome::Rejected(RejectReason::MissingSignature),
                text(StatusCode::UNAUTHORIZED, "missing signature"),
            ),
            _ => (
                WebhookOutcome::Rejected(RejectReason::BadSignature),
                text(StatusCode::UNAUTHORIZED, "invalid signature"),
            ),
        };
    }

    // 4. Parse.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let event = match parse(*partner, content_type, &body, shared.clock.now_unix()) {
        Ok(event) => event,
        Err(e) => {
            tracing::info!(error = %e, "signed notification could not be read");
            return (
                WebhookOutcome::Rejected(RejectReason::Malformed),
                text(StatusCode::BAD_REQUEST, e.to_string()),
            );
        }
    };
    if let Some(job) = event.meta.job_id {
        span.record("job", job);
    }
    match event.kind {
        Some(kind) => {
            span.record("kind", kind.as_str());
        }
        None => tracing::info!(
            event_type = event.meta.event_type.as_deref(),
            event_object_type = event.meta.event_object_type.as_deref(),
            template = event.meta.template_system_name.as_deref(),
            "notification of a kind we do not announce; stored"
        ),
    }

    // 5. Commit.
    match shared.ingestor.submit(event).await {
        Ok(Ingested::New(_)) => (WebhookOutcome::Accepted, text(StatusCode::OK, "OK")),
        Ok(Ingested::Duplicate(_)) => (WebhookOutcome::Duplicate, text(StatusCode::OK, "OK")),
        Err(e) => {
            tracing::warn!(error = %e, "notification not committed; Kaltura will retry");
            (
                WebhookOutcome::Rejected(RejectReason::StoreUnavailable),
                text(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"),
            )
        }
    }
}

/// Reads and discards up to `max` bytes of the body, so that the client, still sending,
/// reads the answer instead of a reset connection.
async fn drain(mut body: Body, max: u64) {
    let mut seen = 0u64;
    while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len() as u64);
            if seen > max {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_ids() {
        assert_eq!(partner_id("12345"), Some(PartnerId::new(12345)));
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1a",
            "0x10",
            "1234567890123456789",
            "١٢",
        ] {
            assert_eq!(partner_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn outcomes_map_to_statuses() {
        assert_eq!(WebhookOutcome::Accepted.status(), 200);
        assert_eq!(WebhookOutcome::Duplicate.status(), 200);
        for (reason, status) in [
            (RejectReason::MissingSignature, 401),
            (RejectReason::BadSignature, 401),
            (RejectReason::UnknownAlgorithm, 400),
            (RejectReason::Malformed, 400),
            (RejectReason::UnknownPartner, 404),
            (RejectReason::TooLarge, 413),
            (RejectReason::StoreUnavailable, 503),
        ] {
            assert_eq!(WebhookOutcome::Rejected(reason).status(), status);
            assert_eq!(WebhookOutcome::Rejected(reason).as_str(), reason.as_str());
        }
    }

    #[test]
    fn builder_debug_hides_secrets() {
        let b = WebhookReceiver::builder()
            .partner(PartnerId::new(7), SecretString::from("canary-secret-123"))
            .partner(PartnerId::new(3), SecretString::from("canary-secret-456"));
        let debug = format!("{b:?}");
        assert!(!debug.contains("canary"), "{debug}");
        assert!(debug.contains("[3, 7]"), "{debug}");
    }

    #[tokio::test]
    async fn build_needs_a_store_and_a_partner() {
        let store: Arc<dyn NotificationStore> =
            Arc::new(crate::notify::ingest::tests::MemoryInbox::default());
        let err = WebhookReceiver::builder()
            .partner(PartnerId::new(1), SecretString::from("s"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("store"), "{err}");
        let err = WebhookReceiver::builder()
            .store(Arc::clone(&store))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("partner"), "{err}");
        let err = WebhookReceiver::builder()
            .store(Arc::clone(&store))
            .partner(PartnerId::new(1), SecretString::from(" "))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Setup(SetupError::EmptyAdminSecret)));
        assert!(
            WebhookReceiver::builder()
                .store(store)
                .partner(PartnerId::new(1), SecretString::from("s"))
                .build()
                .is_ok()
        );
    }
}
