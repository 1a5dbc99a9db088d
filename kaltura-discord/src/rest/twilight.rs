//! [`TwilightRest`]: the [`DiscordRest`] trait on `twilight-http` (feature `rest`).
//!
//! The bodies are the library's own JSON ([`Reply::to_message_json`], the
//! [`Registration`] array, scheduled events built here), sent through twilight's raw request
//! API so that its rate limiter applies Discord's per-route buckets and retries after a 429.
//! The base URL is configurable, so tests and staging point the client at a fake Discord.
//!
//! Interaction-token and channel-webhook routes are sent without the bot token (the token in
//! the path authenticates them). Failures become [`crate::Error::Discord`] with a
//! [`DiscordError`] built from Discord's JSON error body (`code`, `message`), never from the
//! URL, so no token ever reaches an error message.
//!
//! **Logging.** This client's own spans (`discord.rest`, fields `operation`, `route`,
//! `status`) never hold a token. twilight-http itself opens an INFO span named `request`
//! whose `path` field holds the interaction or webhook token of those routes, shown with its
//! own events (DEBUG `awaiting permit`, INFO `rate limited; retrying` on a 429), and
//! `twilight_http_ratelimiting` logs the same path at DEBUG. Filter the `twilight_http`
//! target (a prefix of both) to `error` (e.g. `RUST_LOG=info,twilight_http=error`); a test
//! checks that no token reaches the logs with that filter.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use tracing::Instrument as _;
use twilight_http::error::ErrorType;
use twilight_http::request::Request;
use twilight_http::response::marker::EmptyBody;
use twilight_http::routing::Route;

use super::{
    DiscordError, DiscordErrorKind, DiscordRest, EventClosure, RegisteredCommand,
    ScheduledEventSpec, WebhookUrl,
};
use crate::Result;
use crate::commands::definition::Registration;
use crate::commands::interaction::InteractionToken;
use crate::commands::reply::Reply;
use crate::error::SetupError;
use crate::ids::{
    ApplicationId, ChannelId, DiscordUserId, GuildId, MessageId, RoleId, ScheduledEventId,
};

/// Discord's message in an error is cut to this many characters.
const MAX_ERROR_MESSAGE: usize = 200;
/// The EPHEMERAL message flag, meaningless outside interaction responses.
const EPHEMERAL: u64 = 1 << 6;

/// The [`DiscordRest`] implementation on `twilight-http`.
///
/// Rate limits are twilight's: requests wait for their route's bucket, and a 429 is retried
/// after the time Discord asks for. A call that cannot finish within the
/// [budget](TwilightRestBuilder::budget) fails with [`DiscordErrorKind::RateLimited`].
///
/// `Debug` shows the base URL and the durations, never the bot token.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> kaltura_discord::Result<()> {
/// use kaltura_discord::rest::{DiscordRest, TwilightRest};
/// use kaltura_discord::ChannelId;
/// use kaltura_discord::commands::Reply;
///
/// let rest = TwilightRest::new(secrecy::SecretString::from("bot-token".to_owned()))?;
/// let channel = ChannelId::new(1_122_334_455_667_788_990).unwrap_or_else(|| unreachable!());
/// let message = rest.create_message(channel, &Reply::text("The recording is ready.")).await?;
/// # let _ = message; Ok(()) }
/// ```
pub struct TwilightRest {
    client: twilight_http::Client,
    bot_token: SecretString,
    base_url: String,
    timeout: Duration,
    budget: Duration,
}

impl fmt::Debug for TwilightRest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilightRest")
            .field("base_url", &self.base_url)
            .field("bot_token", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("budget", &self.budget)
            .finish()
    }
}

/// Builds a [`TwilightRest`]: base URL, per-request timeout and total budget per call.
pub struct TwilightRestBuilder {
    bot_token: SecretString,
    base_url: Option<String>,
    timeout: Duration,
    budget: Duration,
    global_limit: Option<u16>,
}

impl fmt::Debug for TwilightRestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilightRestBuilder")
            .field("base_url", &self.base_url)
            .field("bot_token", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("budget", &self.budget)
            .field("global_limit", &self.global_limit)
            .finish()
    }
}

impl TwilightRest {
    /// A client for `https://discord.com` with the defaults (10 s per request, 60 s per call),
    /// built inside a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Setup`] outside a Tokio runtime or when the HTTP client cannot be
    /// built (no TLS provider).
    pub fn new(bot_token: SecretString) -> Result<Self> {
        Self::builder(bot_token).build()
    }

    /// A builder; `bot_token` is the bare token (a leading `Bot ` is accepted).
    ///
    /// # Example
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> kaltura_discord::Result<()> {
    /// use std::time::Duration;
    /// use kaltura_discord::rest::TwilightRest;
    ///
    /// let rest = TwilightRest::builder(secrecy::SecretString::from("bot-token".to_owned()))
    ///     .base_url("http://127.0.0.1:8080")
    ///     .timeout(Duration::from_secs(5))
    ///     .build()?;
    /// assert!(!format!("{rest:?}").contains("bot-token"));
    /// # Ok(()) }
    /// ```
    pub fn builder(bot_token: SecretString) -> TwilightRestBuilder {
        TwilightRestBuilder {
            bot_token,
            base_url: None,
            timeout: Duration::from_secs(10),
            budget: Duration::from_secs(60),
            global_limit: None,
        }
    }
}

impl TwilightRestBuilder {
    /// Sends requests to `url` (`http://host:port` or `https://host[:port]`, no path) instead
    /// of `https://discord.com`; requests go to `{url}/api/v10/…`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The timeout of one HTTP request (default 10 s); a timeout is
    /// [`DiscordErrorKind::Unavailable`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest one call may take, waits for rate limits and retries after a 429 included
    /// (default 60 s, never less than the timeout); beyond it the call fails with
    /// [`DiscordErrorKind::RateLimited`].
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Requests per second the client sends at most across all routes: Discord's global
    /// limit, 50 by default (a bot Discord granted more may raise it). Interaction and
    /// webhook routes are not counted, as on Discord. `u16::MAX` practically lifts it (a
    /// load test against a local fake Discord).
    pub fn global_limit(mut self, per_second: u16) -> Self {
        self.global_limit = Some(per_second);
        self
    }

    /// Builds the client, inside a Tokio runtime (twilight spawns its rate limiter there).
    /// Never panics: when the process has no rustls crypto provider yet, the aws-lc-rs one is
    /// installed as the process default first.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Setup`] outside a Tokio runtime, when the base URL is not an `http`/`https` URL with a host and
    /// no path, query or credentials, or when the HTTP client cannot be built;
    /// [`crate::Error::InvalidInput`] (field `global_limit`) for a global limit of 0.
    pub fn build(self) -> Result<TwilightRest> {
        // twilight spawns its rate limiter on the current Tokio runtime (and panics without one).
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SetupError::DiscordClient {
                reason: "TwilightRest must be built inside a Tokio runtime".to_owned(),
            }
            .into());
        }
        let mut builder = twilight_http::Client::builder()
            .token(self.bot_token.expose_secret().to_owned())
            .timeout(self.timeout);
        match self.global_limit {
            None => {}
            Some(0) => {
                return Err(crate::Error::invalid_input(
                    "global_limit",
                    "the global limit must be at least 1 request per second",
                ));
            }
            Some(limit) => {
                builder =
                    builder.ratelimiter(Some(twilight_http_ratelimiting::RateLimiter::new(limit)));
            }
        }
        let base_url = match &self.base_url {
            None => "https://discord.com".to_owned(),
            Some(raw) => {
                let (host, use_http) = proxy_of(raw)?;
                builder = builder.proxy(host, use_http);
                raw.trim_end_matches('/').to_owned()
            }
        };
        ensure_crypto_provider();
        let client = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.build()))
            .map_err(|_| SetupError::DiscordClient {
                reason: "twilight-http could not build its HTTPS client (no usable TLS provider)"
                    .to_owned(),
            })?;
        Ok(TwilightRest {
            client,
            bot_token: self.bot_token,
            base_url,
            timeout: self.timeout,
            budget: self.budget.max(self.timeout),
        })
    }
}

/// Installs aws-lc-rs as the process's rustls provider unless one is installed already;
/// twilight-http's connector panics when rustls cannot pick one (two providers compiled in).
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// `host[:port]` and whether to use plain HTTP, for twilight's `proxy`.
fn proxy_of(raw: &str) -> Result<(String, bool)> {
    let bad = |why: &str| SetupError::DiscordClient {
        reason: format!("the Discord base URL {why}"),
    };
    let url = url::Url::parse(raw).map_err(|_| bad("is not a URL"))?;
    let use_http = match url.scheme() {
        "http" => true,
        "https" => false,
        _ => return Err(bad("must use http or https").into()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold credentials").into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must have no path, query or fragment").into());
    }
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    Ok(match url.port() {
        Some(port) => (format!("{host}:{port}"), use_http),
        None => (host.to_owned(), use_http),
    })
}

/// One call: what it is, its route without tokens, and the secrets to scrub from messages.
struct Call<'a> {
    operation: &'static str,
    route: &'static str,
    secrets: [&'a str; 1],
}

impl TwilightRest {
    /// Sends `request` and returns the status and body of a successful response.
    async fn send(&self, call: &Call<'_>, request: Request) -> Result<(u16, Vec<u8>)> {
        let span = tracing::info_span!(
            "discord.rest",
            operation = call.operation,
            route = call.route,
            status = tracing::field::Empty,
        );
        let mut path = request.path().to_owned();
        if let Some(i) = path.find('?') {
            path.truncate(i);
        }
        let endpoint = twilight_http_ratelimiting::Endpoint {
            method: request.method(),
            path,
        };
        let work = async {
            let response = self
                .client
                .request::<EmptyBody>(request)
                .await
                .map_err(|e| self.twilight_error(call, e))?;
            let status = response.status().get();
            tracing::Span::current().record("status", status);
            let body = response.bytes().await.map_err(|_| {
                discord_error(
                    call.operation,
                    DiscordErrorKind::Unavailable,
                    Some(status),
                    None,
                    Some("the response body could not be read".to_owned()),
                )
            })?;
            Ok((status, body.to_vec()))
        };
        let outcome = tokio::time::timeout(self.budget, work)
            .instrument(span.clone())
            .await;
        let result = match outcome {
            Ok(result) => result,
            Err(_) => {
                let wait = self.bucket_wait(endpoint).await;
                let mut error = DiscordError::new(call.operation, DiscordErrorKind::RateLimited)
                    .with_message(format!(
                        "the call did not finish within {} s (rate limits); try again later",
                        self.budget.as_secs_f32()
                    ));
                error.retry_after = wait;
                Err(crate::Error::Discord(error))
            }
        };
        if let Err(e) = &result {
            if let crate::Error::Discord(DiscordError {
                status: Some(status),
                ..
            }) = e
            {
                span.record("status", status);
            }
            span.in_scope(|| tracing::warn!(error = %e, "Discord REST call failed"));
        }
        result
    }

    /// How long the rate limiter will hold `endpoint`'s bucket: after a 429 that outlasted
    /// the budget, the `Retry-After` (or `X-RateLimit-Reset-After`) Discord sent. `None`
    /// when the bucket is not exhausted or unknown (a global limit, no rate-limit headers).
    async fn bucket_wait(
        &self,
        endpoint: twilight_http_ratelimiting::Endpoint,
    ) -> Option<Duration> {
        let limiter = self.client.ratelimiter()?;
        // The bucket is read before anything is queued; bound it anyway.
        let bucket = tokio::time::timeout(Duration::from_secs(1), limiter.bucket(endpoint))
            .await
            .ok()
            .flatten()?;
        if bucket.remaining > 0 {
            return None;
        }
        let wait = bucket
            .reset_at
            .saturating_duration_since(std::time::Instant::now());
        // Round up to whole seconds: the outbox schedules in seconds and must never be early.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        (secs > 0).then(|| Duration::from_secs(secs))
    }

    /// Builds the request (raw JSON body) and sends it.
    async fn call(
        &self,
        call: &Call<'_>,
        route: &Route<'_>,
        body: Option<Vec<u8>>,
        bot_auth: bool,
    ) -> Result<(u16, Vec<u8>)> {
        let mut builder = Request::builder(route).use_authorization_token(bot_auth);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let request = builder.build().map_err(|e| self.twilight_error(call, e))?;
        self.send(call, request).await
    }

    fn twilight_error(&self, call: &Call<'_>, error: twilight_http::Error) -> crate::Error {
        let secrets = [self.bot_token.expose_secret(), call.secrets[0]];
        let (kind, status, code, message) = match error.kind() {
            ErrorType::Response { body, status, .. } => {
                let status = status.get();
                let (code, message) = discord_body(body, &secrets);
                (kind_of_status(status), Some(status), code, message)
            }
            ErrorType::Parsing { .. } => (
                DiscordErrorKind::Unavailable,
                None,
                None,
                Some("Discord answered an error without a JSON body".to_owned()),
            ),
            ErrorType::RequestTimedOut => (
                DiscordErrorKind::Unavailable,
                None,
                None,
                Some(format!("no answer within {} s", self.timeout.as_secs_f32())),
            ),
            ErrorType::RequestError | ErrorType::RequestCanceled => (
                DiscordErrorKind::Unavailable,
                None,
                None,
                Some("Discord could not be reached".to_owned()),
            ),
            ErrorType::Unauthorized => (
                DiscordErrorKind::Forbidden,
                None,
                None,
                Some("the bot token was refused earlier (401); build a new client".to_owned()),
            ),
            ErrorType::Validation
            | ErrorType::Json
            | ErrorType::BuildingRequest
            | ErrorType::CreatingHeader { .. } => (
                DiscordErrorKind::Rejected,
                None,
                None,
                Some("the request could not be built (is the bot token well-formed?)".to_owned()),
            ),
            _ => (DiscordErrorKind::Unavailable, None, None, None),
        };
        discord_error(call.operation, kind, status, code, message)
    }
}

fn discord_error(
    operation: &'static str,
    kind: DiscordErrorKind,
    status: Option<u16>,
    code: Option<u32>,
    message: Option<String>,
) -> crate::Error {
    crate::Error::Discord(DiscordError {
        operation,
        kind,
        status,
        code,
        message,
        retry_after: None,
    })
}

/// The kind of a failure by HTTP status.
fn kind_of_status(status: u16) -> DiscordErrorKind {
    match status {
        404 => DiscordErrorKind::NotFound,
        401 | 403 => DiscordErrorKind::Forbidden,
        429 => DiscordErrorKind::RateLimited,
        400..=499 => DiscordErrorKind::Rejected,
        _ => DiscordErrorKind::Unavailable,
    }
}

/// Discord's `{"code", "message"}` error body: the message without control characters,
/// secrets scrubbed, at most 200 characters.
fn discord_body(body: &[u8], secrets: &[&str]) -> (Option<u32>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let code = value
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok());
    let message = value.get("message").and_then(Value::as_str).map(|m| {
        let mut m = m.to_owned();
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            m = m.replace(secret, "<redacted>");
        }
        m.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_ERROR_MESSAGE)
            .collect::<String>()
    });
    (code, message)
}

/// The `id` of a JSON object Discord answered with.
fn id_in(operation: &'static str, status: u16, body: &[u8]) -> Result<u64> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .as_ref()
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<MessageId>().ok())
        .map(MessageId::get)
        .ok_or_else(|| {
            discord_error(
                operation,
                DiscordErrorKind::Unavailable,
                Some(status),
                None,
                Some("Discord's answer had no valid id".to_owned()),
            )
        })
}

/// An answer that is not what `operation` expects (`what`).
fn malformed_answer(operation: &'static str, status: u16, what: &str) -> crate::Error {
    discord_error(
        operation,
        DiscordErrorKind::Unavailable,
        Some(status),
        None,
        Some(format!("Discord's answer was not {what}")),
    )
}

/// The `roles` of a guild member object.
fn member_roles(operation: &'static str, status: u16, body: &[u8]) -> Result<Vec<RoleId>> {
    let bad = || malformed_answer(operation, status, "a guild member");
    let value: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let roles = value
        .get("roles")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    roles
        .iter()
        .map(|r| {
            r.as_str()
                .and_then(|r| r.parse::<RoleId>().ok())
                .ok_or_else(bad)
        })
        .collect()
}

fn message_id(operation: &'static str, status: u16, body: &[u8]) -> Result<MessageId> {
    let id = id_in(operation, status, body)?;
    MessageId::new(id)
        .ok_or_else(|| discord_error(operation, DiscordErrorKind::Unavailable, None, None, None))
}

/// Commands as Discord lists them (`[{"id", "name", …}]`).
fn commands_in(
    operation: &'static str,
    status: u16,
    body: &[u8],
) -> Result<Vec<RegisteredCommand>> {
    let bad = || malformed_answer(operation, status, "a list of commands");
    let value: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let list = value.as_array().ok_or_else(bad)?;
    list.iter()
        .map(|c| {
            let id = c.get("id").and_then(Value::as_str).filter(|id| {
                !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
            });
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| n.chars().count() <= 32);
            match (id, name) {
                (Some(id), Some(name)) => Ok(RegisteredCommand {
                    id: id.to_owned(),
                    name: name.to_owned(),
                }),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// How a [`Reply`] is sent, which decides its JSON body.
#[derive(Clone, Copy)]
enum Body {
    /// A follow-up: [`Reply::to_message_json`], the ephemeral flag kept.
    Followup,
    /// A new channel or webhook message: [`Reply::to_message_json`] without the EPHEMERAL
    /// flag, which has no meaning outside interactions.
    Message,
    /// An edit: [`Reply::to_edit_json`] (no flags; empty parts clear what was shown).
    Edit,
}

fn message_body(reply: &Reply, how: Body) -> Result<Vec<u8>> {
    let json = match how {
        Body::Edit => reply.to_edit_json(),
        Body::Followup => reply.to_message_json(),
        Body::Message => {
            let mut json = reply.to_message_json();
            if let Value::Object(map) = &mut json {
                let flags = map.get("flags").and_then(Value::as_u64);
                match flags.map(|f| f & !EPHEMERAL) {
                    Some(0) => {
                        map.remove("flags");
                    }
                    Some(rest) => {
                        map.insert("flags".to_owned(), Value::from(rest));
                    }
                    None => {}
                }
            }
            json
        }
    };
    to_body(&json)
}

/// Adds Discord's `nonce` and `enforce_nonce: true` to a message body.
fn with_nonce(body: &[u8], nonce: &str) -> Result<Vec<u8>> {
    let mut json: Value = serde_json::from_slice(body).map_err(|_| {
        discord_error(
            "serializing a request body",
            DiscordErrorKind::Rejected,
            None,
            None,
            None,
        )
    })?;
    if let Value::Object(map) = &mut json {
        map.insert("nonce".to_owned(), Value::from(nonce));
        map.insert("enforce_nonce".to_owned(), Value::Bool(true));
    }
    to_body(&json)
}

fn to_body(json: &Value) -> Result<Vec<u8>> {
    serde_json::to_vec(json).map_err(|_| {
        discord_error(
            "serializing a request body",
            DiscordErrorKind::Rejected,
            None,
            None,
            None,
        )
    })
}

/// ISO-8601 UTC (`2026-11-30T13:00:00Z`) of a Unix time in years 1970-9999.
fn iso8601(field: &'static str, unix: i64) -> Result<String> {
    if !(0..=253_402_300_799).contains(&unix) {
        return Err(crate::Error::invalid_input(
            field,
            "the time must be between 1970 and 9999",
        ));
    }
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

/// The body of an external guild scheduled event.
fn event_body(event: &ScheduledEventSpec) -> Result<Value> {
    if event.end_unix <= event.start_unix {
        return Err(crate::Error::invalid_input(
            "end_unix",
            "a scheduled event must end after it starts",
        ));
    }
    let mut body = serde_json::json!({
        "name": event.name,
        "privacy_level": 2,
        "entity_type": 3,
        "entity_metadata": { "location": event.location },
        "scheduled_start_time": iso8601("start_unix", event.start_unix)?,
        "scheduled_end_time": iso8601("end_unix", event.end_unix)?,
    });
    if let (Some(description), Value::Object(map)) = (&event.description, &mut body) {
        map.insert("description".to_owned(), Value::from(description.as_str()));
    }
    Ok(body)
}

#[async_trait]
impl DiscordRest for TwilightRest {
    async fn edit_original(
        &self,
        application: ApplicationId,
        token: &InteractionToken,
        reply: &Reply,
    ) -> Result<()> {
        let call = Call {
            operation: "editing the original response",
            route: "PATCH /webhooks/{application}/{token}/messages/@original",
            secrets: [token.expose()],
        };
        let route = Route::UpdateInteractionOriginal {
            application_id: application.get(),
            interaction_token: token.expose(),
        };
        let body = message_body(reply, Body::Edit)?;
        self.call(&call, &route, Some(body), false).await?;
        Ok(())
    }

    async fn create_followup(
        &self,
        application: ApplicationId,
        token: &InteractionToken,
        reply: &Reply,
    ) -> Result<MessageId> {
        let call = Call {
            operation: "sending a follow-up message",
            route: "POST /webhooks/{application}/{token}",
            secrets: [token.expose()],
        };
        let route = Route::ExecuteWebhook {
            thread_id: None,
            token: token.expose(),
            wait: None,
            with_components: None,
            webhook_id: application.get(),
        };
        let body = message_body(reply, Body::Followup)?;
        let (status, bytes) = self.call(&call, &route, Some(body), false).await?;
        message_id(call.operation, status, &bytes)
    }

    async fn list_commands(
        &self,
        application: ApplicationId,
        guild: Option<GuildId>,
    ) -> Result<Vec<RegisteredCommand>> {
        let (route, label) = match guild {
            None => (
                Route::GetGlobalCommands {
                    application_id: application.get(),
                    with_localizations: None,
                },
                "GET /applications/{application}/commands",
            ),
            Some(guild) => (
                Route::GetGuildCommands {
                    application_id: application.get(),
                    guild_id: guild.get(),
                    with_localizations: None,
                },
                "GET /applications/{application}/guilds/{guild}/commands",
            ),
        };
        let call = Call {
            operation: "listing the registered commands",
            route: label,
            secrets: [""],
        };
        let (status, bytes) = self.call(&call, &route, None, true).await?;
        commands_in(call.operation, status, &bytes)
    }

    async fn register_commands(
        &self,
        application: ApplicationId,
        guild: Option<GuildId>,
        commands: &Registration,
    ) -> Result<Vec<RegisteredCommand>> {
        let (route, label) = match guild {
            None => (
                Route::SetGlobalCommands {
                    application_id: application.get(),
                },
                "PUT /applications/{application}/commands",
            ),
            Some(guild) => (
                Route::SetGuildCommands {
                    application_id: application.get(),
                    guild_id: guild.get(),
                },
                "PUT /applications/{application}/guilds/{guild}/commands",
            ),
        };
        let call = Call {
            operation: "registering the commands",
            route: label,
            secrets: [""],
        };
        let body = commands.as_json().as_bytes().to_vec();
        let (status, bytes) = self.call(&call, &route, Some(body), true).await?;
        commands_in(call.operation, status, &bytes)
    }

    async fn create_scheduled_event(
        &self,
        guild: GuildId,
        event: &ScheduledEventSpec,
    ) -> Result<ScheduledEventId> {
        let call = Call {
            operation: "creating a scheduled event",
            route: "POST /guilds/{guild}/scheduled-events",
            secrets: [""],
        };
        let route = Route::CreateGuildScheduledEvent {
            guild_id: guild.get(),
        };
        let body = to_body(&event_body(event)?)?;
        let (status, bytes) = self.call(&call, &route, Some(body), true).await?;
        let id = id_in(call.operation, status, &bytes)?;
        ScheduledEventId::new(id).ok_or_else(|| {
            discord_error(
                call.operation,
                DiscordErrorKind::Unavailable,
                None,
                None,
                None,
            )
        })
    }

    async fn close_scheduled_event(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        closure: EventClosure,
    ) -> Result<()> {
        let call = Call {
            operation: "closing a scheduled event",
            route: "PATCH /guilds/{guild}/scheduled-events/{event}",
            secrets: [""],
        };
        let route = Route::UpdateGuildScheduledEvent {
            guild_id: guild.get(),
            scheduled_event_id: event.get(),
        };
        let status = match closure {
            EventClosure::Completed => 3,
            EventClosure::Canceled => 4,
        };
        let body = to_body(&serde_json::json!({ "status": status }))?;
        self.call(&call, &route, Some(body), true).await?;
        Ok(())
    }

    async fn guild_member_roles(
        &self,
        guild: GuildId,
        user: DiscordUserId,
    ) -> Result<Option<Vec<RoleId>>> {
        let call = Call {
            operation: "reading a guild member",
            route: "GET /guilds/{guild}/members/{user}",
            secrets: [""],
        };
        let route = Route::GetMember {
            guild_id: guild.get(),
            user_id: user.get(),
        };
        let (status, bytes) = match self.call(&call, &route, None, true).await {
            Ok(answer) => answer,
            // 10007 Unknown Member, 10013 Unknown User: not (or no longer) in the guild.
            Err(crate::Error::Discord(e))
                if e.kind == DiscordErrorKind::NotFound
                    && e.code.is_none_or(|c| c == 10007 || c == 10013) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        member_roles(call.operation, status, &bytes).map(Some)
    }

    async fn create_message(&self, channel: ChannelId, reply: &Reply) -> Result<MessageId> {
        let call = Call {
            operation: "posting a message",
            route: "POST /channels/{channel}/messages",
            secrets: [""],
        };
        let route = Route::CreateMessage {
            channel_id: channel.get(),
        };
        let body = message_body(reply, Body::Message)?;
        let (status, bytes) = self.call(&call, &route, Some(body), true).await?;
        message_id(call.operation, status, &bytes)
    }

    async fn create_message_once(
        &self,
        channel: ChannelId,
        reply: &Reply,
        nonce: &str,
    ) -> Result<MessageId> {
        super::check_nonce(nonce)?;
        let call = Call {
            operation: "posting a message",
            route: "POST /channels/{channel}/messages",
            secrets: [""],
        };
        let route = Route::CreateMessage {
            channel_id: channel.get(),
        };
        let body = with_nonce(&message_body(reply, Body::Message)?, nonce)?;
        let (status, bytes) = self.call(&call, &route, Some(body), true).await?;
        message_id(call.operation, status, &bytes)
    }

    async fn edit_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        reply: &Reply,
    ) -> Result<()> {
        let call = Call {
            operation: "editing a message",
            route: "PATCH /channels/{channel}/messages/{message}",
            secrets: [""],
        };
        let route = Route::UpdateMessage {
            channel_id: channel.get(),
            message_id: message.get(),
        };
        let body = message_body(reply, Body::Edit)?;
        self.call(&call, &route, Some(body), true).await?;
        Ok(())
    }

    async fn execute_webhook(&self, webhook: &WebhookUrl, reply: &Reply) -> Result<MessageId> {
        let call = Call {
            operation: "posting through a webhook",
            route: "POST /webhooks/{webhook}/{token}?wait=true",
            secrets: [webhook.expose_token()],
        };
        let route = Route::ExecuteWebhook {
            thread_id: None,
            token: webhook.expose_token(),
            wait: Some(true),
            // Link buttons are shown only with `with_components=true` on webhooks that no
            // application owns.
            with_components: (!reply.components.is_empty()).then_some(true),
            webhook_id: webhook.id(),
        };
        let body = message_body(reply, Body::Message)?;
        let (status, bytes) = self.call(&call, &route, Some(body), false).await?;
        message_id(call.operation, status, &bytes)
    }

    async fn edit_webhook_message(
        &self,
        webhook: &WebhookUrl,
        message: MessageId,
        reply: &Reply,
    ) -> Result<()> {
        let call = Call {
            operation: "editing a webhook message",
            route: "PATCH /webhooks/{webhook}/{token}/messages/{message}",
            secrets: [webhook.expose_token()],
        };
        let route = Route::UpdateWebhookMessage {
            message_id: message.get(),
            thread_id: None,
            token: webhook.expose_token(),
            webhook_id: webhook.id(),
        };
        // As on create: link buttons are applied only with `with_components=true` on
        // webhooks that no application owns (twilight's route has no such parameter).
        let mut path = route.to_string();
        if !reply.components.is_empty() {
            path.push_str("?with_components=true");
        }
        let request = twilight_http::request::RequestBuilder::raw(route.method(), path)
            .use_authorization_token(false)
            .body(message_body(reply, Body::Edit)?)
            .build()
            .map_err(|e| self.twilight_error(&call, e))?;
        self.send(&call, request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_utc() {
        assert_eq!(
            iso8601("t", 0).ok().as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            iso8601("t", 951_782_400).ok().as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(
            iso8601("t", 1_796_043_661).ok().as_deref(),
            Some("2026-11-30T13:01:01Z")
        );
        assert_eq!(
            iso8601("t", 253_402_300_799).ok().as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert!(iso8601("t", -1).is_err());
        assert!(iso8601("t", 253_402_300_800).is_err());
        assert!(iso8601("t", i64::MIN).is_err());
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_of_status(404), DiscordErrorKind::NotFound);
        assert_eq!(kind_of_status(401), DiscordErrorKind::Forbidden);
        assert_eq!(kind_of_status(403), DiscordErrorKind::Forbidden);
        assert_eq!(kind_of_status(400), DiscordErrorKind::Rejected);
        assert_eq!(kind_of_status(413), DiscordErrorKind::Rejected);
        assert_eq!(kind_of_status(429), DiscordErrorKind::RateLimited);
        assert_eq!(kind_of_status(500), DiscordErrorKind::Unavailable);
        assert_eq!(kind_of_status(503), DiscordErrorKind::Unavailable);
    }

    #[test]
    fn error_bodies_are_cut_and_scrubbed() {
        let long = format!(
            r#"{{"code":50035,"message":"bad SECRET-TOKEN-123\n{}"}}"#,
            "x".repeat(500)
        );
        let (code, message) = discord_body(long.as_bytes(), &["SECRET-TOKEN-123", ""]);
        assert_eq!(code, Some(50035));
        let message = message.unwrap_or_default();
        assert_eq!(message.chars().count(), MAX_ERROR_MESSAGE);
        assert!(message.starts_with("bad <redacted> x"), "{message}");
        assert_eq!(discord_body(b"<html>", &[]), (None, None));
        assert_eq!(
            discord_body(br#"{"code":-1,"message":7}"#, &[]),
            (None, None)
        );
        assert_eq!(
            discord_body(br#"{"code":99999999999}"#, &[]),
            (None, None),
            "codes beyond u32 are dropped"
        );
    }

    proptest::proptest! {
        #[test]
        fn hostile_error_bodies_never_panic_nor_leak(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            message in ".{0,400}",
            code in proptest::num::i64::ANY,
        ) {
            let secret = "SECRET-TOKEN-abcdef";
            let _ = discord_body(&body, &[secret]);
            let json = serde_json::json!({"code": code, "message": format!("{message}{secret}{message}")});
            let bytes = serde_json::to_vec(&json).unwrap_or_default();
            let (parsed, text) = discord_body(&bytes, &[secret]);
            proptest::prop_assert_eq!(parsed, u32::try_from(code).ok());
            let text = text.unwrap_or_default();
            proptest::prop_assert!(text.chars().count() <= MAX_ERROR_MESSAGE);
            proptest::prop_assert!(!text.contains(secret));
            proptest::prop_assert!(!text.chars().any(char::is_control));
        }
    }

    #[test]
    fn base_urls_become_twilight_proxies() {
        assert_eq!(
            proxy_of("http://127.0.0.1:8080").ok(),
            Some(("127.0.0.1:8080".to_owned(), true))
        );
        assert_eq!(
            proxy_of("https://discord.example/").ok(),
            Some(("discord.example".to_owned(), false))
        );
        assert_eq!(
            proxy_of("http://[::1]:9").ok(),
            Some(("[::1]:9".to_owned(), true))
        );
        for bad in [
            "ftp://x",
            "http://u:p@host",
            "http://host/api",
            "http://host?x=1",
            "not a url",
            "",
        ] {
            assert!(proxy_of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ephemeral_is_dropped_outside_interactions()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let reply = Reply::text("hi").ephemeral();
        let kept: Value = serde_json::from_slice(&message_body(&reply, Body::Followup)?)?;
        assert_eq!(kept.get("flags"), Some(&Value::from(64)));
        let dropped: Value = serde_json::from_slice(&message_body(&reply, Body::Message)?)?;
        assert_eq!(dropped.get("flags"), None);
        assert_eq!(dropped.get("content"), kept.get("content"));
        let edit: Value = serde_json::from_slice(&message_body(&reply, Body::Edit)?)?;
        assert_eq!(edit.get("flags"), None);
        Ok(())
    }

    #[test]
    fn events_must_end_after_they_start() {
        let event = ScheduledEventSpec {
            name: "Sync".to_owned(),
            description: None,
            location: "https://example.invalid/m".to_owned(),
            start_unix: 2_000_000_000,
            end_unix: 2_000_000_000,
        };
        assert!(matches!(
            event_body(&event),
            Err(crate::Error::InvalidInput {
                field: "end_unix",
                ..
            })
        ));
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        let built = TwilightRest::new(SecretString::from("token".to_owned()));
        assert!(matches!(
            built,
            Err(crate::Error::Setup(SetupError::DiscordClient { .. }))
        ));
    }

    #[tokio::test]
    async fn a_global_limit_of_zero_is_refused_not_a_panic() -> Result<()> {
        let zero = TwilightRest::builder(SecretString::from("token".to_owned()))
            .global_limit(0)
            .build();
        assert!(matches!(
            zero,
            Err(crate::Error::InvalidInput {
                field: "global_limit",
                ..
            })
        ));
        let raised = TwilightRest::builder(SecretString::from("token".to_owned()))
            .global_limit(u16::MAX)
            .build()?;
        assert!(raised.client.ratelimiter().is_some());
        Ok(())
    }

    #[tokio::test]
    async fn building_installs_a_crypto_provider_and_never_panics() -> Result<()> {
        let rest = TwilightRest::builder(SecretString::from("Bot marker-token-xyz".to_owned()))
            .base_url("http://127.0.0.1:9")
            .build()?;
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        let shown = format!("{rest:?}");
        assert!(!shown.contains("marker-token-xyz"), "{shown}");
        Ok(())
    }
}
