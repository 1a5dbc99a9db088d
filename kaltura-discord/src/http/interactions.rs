//! Discord's HTTP interactions endpoint: `POST /interactions`, Ed25519-verified.
//!
//! Every request goes through the same steps, in this order, and stops at the first that
//! fails:
//!
//! 1. **Size.** A body over the limit (default [`DEFAULT_BODY_LIMIT`], 256 KiB) is refused
//!    with `413` — at once when `Content-Length` says so, otherwise as soon as the bytes read
//!    so far pass the limit; nothing more is read.
//! 2. **Signature.** `X-Signature-Ed25519` (128 hex characters, 64 bytes) must be a valid
//!    Ed25519 signature, under the application's [`DiscordPublicKey`], of the
//!    `X-Signature-Timestamp` header's bytes immediately followed by the raw body bytes,
//!    checked with ed25519-dalek's `verify_strict` *before any parsing*. A missing, empty,
//!    non-ASCII, non-hex or wrong-length header, another key, a changed body or a changed
//!    timestamp all give `401` with `{"error":"invalid request signature"}`; the handler is
//!    never called. Discord deliberately sends such requests and removes the endpoint URL of
//!    an application that accepts them.
//! 3. **Replay window (optional).** Discord defines no freshness window for the timestamp,
//!    so by default none is applied. [`InteractionsEndpoint::max_age`] refuses (`401`)
//!    signed requests whose timestamp (decimal Unix seconds) is further than the given age
//!    from the [`Clock`]'s time, in either direction; a timestamp that is not a number is
//!    then refused too. Leave room for clock skew.
//! 4. **PING.** The `type` field is peeked with a tolerant reader (every other field is
//!    ignored), so a PING answers `200 {"type":1}` with `Content-Type: application/json`
//!    even when it lacks fields a full model would require; the handler is not called.
//!    A body that is not a JSON object, or whose `type` is missing or not one of Discord's
//!    interaction types (1-5), is answered `400`.
//! 5. **Parse.** The body is parsed with [`parse`]. An interaction Discord sent but that
//!    the library cannot use ([`crate::Error::Interaction`]: an unknown
//!    command shape, a hostile id) is answered `200` **so that the member sees why**: an
//!    ephemeral message ([`UNUSABLE_MESSAGE`]) for commands, component clicks and modal
//!    submits, and an empty choice list for autocomplete (which accepts no message). The
//!    handler is not called. A `400` would show the member only "This interaction failed".
//! 6. **Handler.** [`InteractionHandler::respond`] runs in its own task (a panic in it gives
//!    `500` and an error event, not a dropped connection) and its
//!    [`InteractionResponse::to_json`] is answered with `200`.
//!
//! Other methods on `/interactions` get `405`, other paths `404` (axum's routing).
//!
//! Each request runs in a `tracing` span `interaction` with the fields `id`, `kind`,
//! `guild` and `outcome` (never the token, which lets anyone answer as the bot), and is
//! counted by [`Outcome`] in the endpoint's [`EndpointStats`].

use super::{ReadError, read_limited};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use ed25519_dalek::{Signature, VerifyingKey};
use kaltura_client::clock::{Clock, SystemClock};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::Result;
use crate::commands::interaction::parse;
use crate::commands::{Interaction, InteractionHandler, InteractionResponse, Reply};
use crate::error::{Error, SetupError};

/// The path the router serves.
pub const PATH: &str = "/interactions";

/// The default body limit: 256 KiB (Discord's interaction bodies are a few KiB).
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// The header carrying the hex Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";

/// The header carrying the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

/// What the member sees (ephemerally) when Discord sent an interaction the library cannot
/// use.
pub const UNUSABLE_MESSAGE: &str = "Sorry, this bot could not read that request (it may use a \
    Discord feature the bot does not support yet). Nothing was done; please try again or tell \
    the server's moderators.";

const PONG_BODY: &[u8] = br#"{"type":1}"#;
const UNAUTHORIZED_BODY: &[u8] = br#"{"error":"invalid request signature"}"#;
const TOO_LARGE_BODY: &[u8] = br#"{"error":"request body too large"}"#;
const NOT_JSON_BODY: &[u8] = br#"{"error":"request body is not a JSON object"}"#;
const UNKNOWN_TYPE_BODY: &[u8] = br#"{"error":"unknown interaction type"}"#;
const UNREADABLE_BODY: &[u8] = br#"{"error":"request body could not be read"}"#;
const INTERNAL_BODY: &[u8] = br#"{"error":"internal error"}"#;

/// A Discord application's Ed25519 public key (the "Public Key" of the Developer Portal).
///
/// It is public: `Debug` shows it in hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DiscordPublicKey(VerifyingKey);

impl DiscordPublicKey {
    /// Parses the 64 hexadecimal characters of the portal (surrounding whitespace ignored).
    ///
    /// # Errors
    ///
    /// [`SetupError::InvalidDiscordPublicKey`] unless it is 64 hex characters encoding a
    /// valid Ed25519 point that is not of small order.
    ///
    /// ```
    /// use kaltura_discord::http::DiscordPublicKey;
    ///
    /// let key = DiscordPublicKey::from_hex(
    ///     "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    /// )?;
    /// assert!(DiscordPublicKey::from_hex("not a key").is_err());
    /// # Ok::<(), kaltura_discord::Error>(())
    /// ```
    pub fn from_hex(hex_key: &str) -> Result<Self> {
        let hex_key = hex_key.trim();
        if hex_key.len() != 64 {
            return Err(invalid_key(format!(
                "it must be 64 hexadecimal characters, not {}",
                hex_key.chars().count()
            )));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut bytes)
            .map_err(|_| invalid_key("it is not hexadecimal".to_owned()))?;
        Self::from_bytes(&bytes)
    }

    /// The key from its 32 bytes.
    ///
    /// # Errors
    ///
    /// [`SetupError::InvalidDiscordPublicKey`] unless the bytes are a valid Ed25519 point
    /// that is not of small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| invalid_key("it is not a valid Ed25519 public key".to_owned()))?;
        if key.is_weak() {
            return Err(invalid_key(
                "it is a weak (small-order) Ed25519 key".to_owned(),
            ));
        }
        Ok(DiscordPublicKey(key))
    }

    /// The key in lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Whether `signature` is this key's valid (strict) Ed25519 signature of
    /// `timestamp ‖ body`. The endpoint does this before reading the body as JSON.
    pub fn verify(&self, timestamp: &[u8], body: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        let mut message = Vec::with_capacity(timestamp.len().saturating_add(body.len()));
        message.extend_from_slice(timestamp);
        message.extend_from_slice(body);
        self.0.verify_strict(&message, &signature).is_ok()
    }
}

fn invalid_key(reason: String) -> Error {
    Error::Setup(SetupError::InvalidDiscordPublicKey { reason })
}

impl fmt::Debug for DiscordPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DiscordPublicKey({})", self.to_hex())
    }
}

impl FromStr for DiscordPublicKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        DiscordPublicKey::from_hex(s)
    }
}

/// How a request to the endpoint ended; each is counted in [`EndpointStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// A PING answered with PONG (`200`).
    Pong,
    /// The handler answered (`200`).
    Handled,
    /// Signed, but unusable: answered with an explanation without calling the handler
    /// (`200`).
    Unusable,
    /// Signed, but not a JSON object or not an interaction type (`400`), or the body could
    /// not be read (`400`).
    Malformed,
    /// Refused: bad or missing signature, or outside the replay window (`401`).
    Unauthorized,
    /// Refused: body over the limit (`413`).
    TooLarge,
    /// The handler panicked or its response could not be encoded (`500`).
    Failed,
}

impl Outcome {
    /// All outcomes.
    pub const ALL: [Outcome; 7] = [
        Outcome::Pong,
        Outcome::Handled,
        Outcome::Unusable,
        Outcome::Malformed,
        Outcome::Unauthorized,
        Outcome::TooLarge,
        Outcome::Failed,
    ];

    /// A short name, e.g. `unauthorized` (the `outcome` field of the span).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pong => "pong",
            Outcome::Handled => "handled",
            Outcome::Unusable => "unusable",
            Outcome::Malformed => "malformed",
            Outcome::Unauthorized => "unauthorized",
            Outcome::TooLarge => "too_large",
            Outcome::Failed => "failed",
        }
    }

    /// The HTTP status answered for this outcome.
    pub fn status(self) -> u16 {
        match self {
            Outcome::Pong | Outcome::Handled | Outcome::Unusable => 200,
            Outcome::Malformed => 400,
            Outcome::Unauthorized => 401,
            Outcome::TooLarge => 413,
            Outcome::Failed => 500,
        }
    }

    fn index(self) -> usize {
        match self {
            Outcome::Pong => 0,
            Outcome::Handled => 1,
            Outcome::Unusable => 2,
            Outcome::Malformed => 3,
            Outcome::Unauthorized => 4,
            Outcome::TooLarge => 5,
            Outcome::Failed => 6,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request counters of one endpoint, by [`Outcome`] (lock-free; shared by every clone of
/// the router). Export them to a metrics system with [`EndpointStats::count`]. Requests
/// that axum's routing refuses (`404`, `405`) never reach the endpoint and are not counted.
#[derive(Debug, Default)]
pub struct EndpointStats {
    counts: [AtomicU64; 7],
}

impl EndpointStats {
    /// Requests that ended with `outcome` so far.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counts
            .get(outcome.index())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Requests so far, all outcomes.
    pub fn total(&self) -> u64 {
        Outcome::ALL.iter().map(|o| self.count(*o)).sum()
    }

    fn record(&self, outcome: Outcome) {
        if let Some(c) = self.counts.get(outcome.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Builds the interactions router.
///
/// ```
/// # fn build(handler: std::sync::Arc<dyn kaltura_discord::commands::InteractionHandler>,
/// #          key: kaltura_discord::http::DiscordPublicKey) {
/// use std::time::Duration;
/// use kaltura_discord::http::InteractionsEndpoint;
///
/// let endpoint = InteractionsEndpoint::new(handler, key)
///     .body_limit(64 * 1024)
///     .max_age(Duration::from_secs(300));
/// let stats = endpoint.stats();
/// let router: axum::Router = endpoint.build();
/// # }
/// ```
pub struct InteractionsEndpoint {
    handler: Arc<dyn InteractionHandler>,
    key: DiscordPublicKey,
    body_limit: usize,
    max_age: Option<Duration>,
    clock: Arc<dyn Clock>,
    stats: Arc<EndpointStats>,
}

impl fmt::Debug for InteractionsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InteractionsEndpoint")
            .field("key", &self.key)
            .field("body_limit", &self.body_limit)
            .field("max_age", &self.max_age)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl InteractionsEndpoint {
    /// An endpoint that verifies requests with `key` and passes interactions to `handler`;
    /// body limit [`DEFAULT_BODY_LIMIT`], no replay window.
    pub fn new(handler: Arc<dyn InteractionHandler>, key: DiscordPublicKey) -> Self {
        InteractionsEndpoint {
            handler,
            key,
            body_limit: DEFAULT_BODY_LIMIT,
            max_age: None,
            clock: Arc::new(SystemClock),
            stats: Arc::default(),
        }
    }

    /// Refuses bodies over `bytes` with `413`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Refuses (`401`) signed requests whose `X-Signature-Timestamp` is further than
    /// `max_age` from the clock's time (either way). Discord defines no such window; none
    /// applies unless this is called.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The clock the replay window reads (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The request counters of this endpoint (also after [`build`](Self::build)).
    pub fn stats(&self) -> Arc<EndpointStats> {
        Arc::clone(&self.stats)
    }

    /// The router: `POST /interactions`.
    pub fn build(self) -> Router {
        let shared = Arc::new(Shared {
            handler: self.handler,
            key: self.key,
            body_limit: self.body_limit,
            max_age: self.max_age,
            clock: self.clock,
            stats: self.stats,
        });
        Router::new().route(PATH, post(serve)).with_state(shared)
    }
}

/// The router of an endpoint with the defaults of [`InteractionsEndpoint::new`].
///
/// ```
/// # fn build(handler: std::sync::Arc<dyn kaltura_discord::commands::InteractionHandler>)
/// # -> kaltura_discord::Result<()> {
/// use kaltura_discord::http::{DiscordPublicKey, interactions_router};
///
/// let key: DiscordPublicKey =
///     "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c".parse()?;
/// let app = axum::Router::new().merge(interactions_router(handler, key));
/// # Ok(())
/// # }
/// ```
pub fn interactions_router(handler: Arc<dyn InteractionHandler>, key: DiscordPublicKey) -> Router {
    InteractionsEndpoint::new(handler, key).build()
}

struct Shared {
    handler: Arc<dyn InteractionHandler>,
    key: DiscordPublicKey,
    body_limit: usize,
    max_age: Option<Duration>,
    clock: Arc<dyn Clock>,
    stats: Arc<EndpointStats>,
}

async fn serve(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let span = tracing::info_span!(
        "interaction",
        id = Empty,
        kind = Empty,
        guild = Empty,
        outcome = Empty
    );
    let (outcome, response) = process(&shared, &parts.headers, body)
        .instrument(span.clone())
        .await;
    shared.stats.record(outcome);
    span.record("outcome", outcome.as_str());
    tracing::debug!(parent: &span, status = outcome.status(), "interaction request done");
    response
}

async fn process(shared: &Arc<Shared>, headers: &HeaderMap, body: Body) -> (Outcome, Response) {
    // 1. Size, before reading anything when the client declared it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > shared.body_limit as u64) {
        tracing::debug!(declared, limit = shared.body_limit, "body over the limit");
        return refuse(Outcome::TooLarge, TOO_LARGE_BODY);
    }
    let body = match read_limited(body, shared.body_limit, declared).await {
        Ok(body) => body,
        Err(ReadError::TooLarge(_)) => {
            tracing::debug!(limit = shared.body_limit, "body over the limit");
            return refuse(Outcome::TooLarge, TOO_LARGE_BODY);
        }
        Err(ReadError::Broken) => {
            tracing::debug!("body could not be read");
            return refuse(Outcome::Malformed, UNREADABLE_BODY);
        }
    };

    // 2-3. Signature (and the optional replay window) before any parsing.
    if let Err(reason) = check_signature(shared, headers, &body) {
        tracing::debug!(reason, "request refused");
        return refuse(Outcome::Unauthorized, UNAUTHORIZED_BODY);
    }

    // 4. PING, read tolerantly.
    let kind = match serde_json::from_slice::<Peek>(&body) {
        Ok(peek) => peek.kind,
        Err(e) => {
            tracing::debug!(error = %e, "signed body is not a JSON object");
            return refuse(Outcome::Malformed, NOT_JSON_BODY);
        }
    };
    let span = tracing::Span::current();
    if let Some(kind) = kind {
        span.record("kind", kind);
    }
    match kind {
        Some(1) => {
            return (
                Outcome::Pong,
                json_response(StatusCode::OK, PONG_BODY.into()),
            );
        }
        Some(2..=5) => {}
        _ => {
            tracing::debug!(?kind, "unknown interaction type");
            return refuse(Outcome::Malformed, UNKNOWN_TYPE_BODY);
        }
    }

    // 5. Parse.
    let interaction = match parse(&body) {
        Ok(Interaction::Ping) => {
            return (
                Outcome::Pong,
                json_response(StatusCode::OK, PONG_BODY.into()),
            );
        }
        Ok(interaction) => interaction,
        Err(e) => {
            tracing::info!(error = %e, "signed interaction could not be used");
            let fallback = if kind == Some(4) {
                InteractionResponse::Autocomplete(Vec::new())
            } else {
                InteractionResponse::Message(Reply::text(UNUSABLE_MESSAGE).ephemeral())
            };
            return answer(Outcome::Unusable, &fallback);
        }
    };
    if let Some(context) = interaction.context() {
        span.record("id", context.id.get());
        if let Some(guild) = context.guild {
            span.record("guild", guild.get());
        }
    }

    // 6. The handler, in its own task so that a panic there is a 500, not a lost connection.
    let handler = Arc::clone(&shared.handler);
    let task =
        tokio::spawn(async move { handler.respond(interaction).await }.instrument(span.clone()));
    match task.await {
        Ok(response) => answer(Outcome::Handled, &response),
        Err(e) => {
            tracing::error!(error = %e, "interaction handler failed");
            refuse(Outcome::Failed, INTERNAL_BODY)
        }
    }
}

fn check_signature(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> std::result::Result<(), &'static str> {
    let signature = header_text(headers, SIGNATURE_HEADER)?;
    let timestamp = header_text(headers, TIMESTAMP_HEADER)?;
    if signature.len() != 128 {
        return Err("signature is not 128 hex characters");
    }
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(signature, &mut bytes).map_err(|_| "signature is not hex")?;
    if !shared.key.verify(timestamp.as_bytes(), body, &bytes) {
        return Err("signature does not verify");
    }
    if let Some(max_age) = shared.max_age {
        let sent: i64 = timestamp.parse().map_err(|_| "timestamp is not a number")?;
        let age = shared.clock.now_unix().abs_diff(sent);
        if age > max_age.as_secs() {
            return Err("timestamp outside the replay window");
        }
    }
    Ok(())
}

fn header_text<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> std::result::Result<&'h str, &'static str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next().ok_or("signature header missing")?;
    if values.next().is_some() {
        return Err("signature header repeated");
    }
    let text = value.to_str().map_err(|_| "signature header not ASCII")?;
    if text.is_empty() {
        return Err("signature header empty");
    }
    Ok(text)
}

/// The `type` of an interaction body, read from a JSON object whose other fields are
/// skipped unparsed (but checked to be well-formed JSON).
struct Peek {
    kind: Option<u64>,
}

impl<'de> serde::Deserialize<'de> for Peek {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Peek;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an interaction object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Peek, A::Error> {
                let mut kind = None;
                let mut seen = false;
                while let Some(key) = map.next_key::<Key>()? {
                    if key == Key::Type {
                        if seen {
                            return Err(serde::de::Error::duplicate_field("type"));
                        }
                        seen = true;
                        // Tolerant: a `type` that is not a whole number reads as unknown.
                        kind = map.next_value::<serde_json::Value>()?.as_u64();
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(Peek { kind })
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// A key of the interaction object: `type` or another, compared without allocating.
#[derive(PartialEq, Eq)]
enum Key {
    Type,
    Other,
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Key, E> {
                Ok(if v == "type" { Key::Type } else { Key::Other })
            }
        }
        d.deserialize_identifier(Visitor)
    }
}

fn refuse(outcome: Outcome, body: &'static [u8]) -> (Outcome, Response) {
    let status = StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (outcome, json_response(status, Body::from(body)))
}

fn answer(outcome: Outcome, response: &InteractionResponse) -> (Outcome, Response) {
    match serde_json::to_vec(&response.to_json()) {
        Ok(bytes) => (outcome, json_response(StatusCode::OK, Body::from(bytes))),
        Err(e) => {
            tracing::error!(error = %e, "interaction response could not be encoded");
            refuse(Outcome::Failed, INTERNAL_BODY)
        }
    }
}

fn json_response(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_type_tolerantly_and_refuses_non_objects() {
        let kind = |s: &str| serde_json::from_slice::<Peek>(s.as_bytes()).map(|p| p.kind);
        assert_eq!(kind(r#"{"type":1}"#).ok(), Some(Some(1)));
        assert_eq!(
            kind(r#"{"id":"x","type":2,"data":{"a":[1,2]}}"#).ok(),
            Some(Some(2))
        );
        assert_eq!(kind(r#"{"typ\u0065":3}"#).ok(), Some(Some(3)));
        assert_eq!(kind(r#"{"types":1,"Type":1}"#).ok(), Some(None));
        assert_eq!(kind(r#"{"type":"1"}"#).ok(), Some(None));
        assert_eq!(kind(r#"{"type":1.5}"#).ok(), Some(None));
        assert_eq!(kind(r#"{"id":"1"}"#).ok(), Some(None));
        assert!(kind("[1]").is_err());
        assert!(kind("1").is_err());
        assert!(kind(r#"{"type":1,"type":1}"#).is_err());
        assert!(kind(r#"{"type":1} trailing"#).is_err());
        assert!(kind(r#"{"type":1,"x":}"#).is_err());
        assert!(kind("").is_err());
    }

    #[test]
    fn outcomes_have_distinct_indices_and_statuses() {
        let mut seen = std::collections::HashSet::new();
        for o in Outcome::ALL {
            assert!(seen.insert(o.index()), "{o:?}");
        }
        assert_eq!(Outcome::Unauthorized.status(), 401);
        assert_eq!(Outcome::TooLarge.status(), 413);
        assert_eq!(Outcome::Malformed.status(), 400);
        assert_eq!(Outcome::Failed.status(), 500);
        let stats = EndpointStats::default();
        stats.record(Outcome::Pong);
        stats.record(Outcome::Pong);
        stats.record(Outcome::TooLarge);
        assert_eq!(stats.count(Outcome::Pong), 2);
        assert_eq!(stats.count(Outcome::TooLarge), 1);
        assert_eq!(stats.total(), 3);
    }

    #[test]
    fn public_key_errors_say_why() {
        let err = |s: &str| DiscordPublicKey::from_hex(s).err().map(|e| e.to_string());
        assert!(err("abc").is_some_and(|m| m.contains("64 hexadecimal characters, not 3")));
        assert!(err(&"zz".repeat(32)).is_some_and(|m| m.contains("not hexadecimal")));
        // The identity point (y = 1) is of small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(err(&hex::encode(identity)).is_some_and(|m| m.contains("weak")));
    }
}
