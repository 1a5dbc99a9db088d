//! The [`Client`]: configuration, credentials, the managed KS and the wire protocol.
//!
//! A call flows through the client like this:
//!
//! 1. [`Client::send`] takes a [`KalturaRequest`], checks its service and action names and
//!    collects its parameters;
//! 2. the KS to send is chosen: a fixed one ([`Client::with_ks`], [`Credentials::Ks`]), or the
//!    **managed KS** — generated locally from the admin secret, or obtained with an
//!    application token — which is cached and renewed before it expires;
//! 3. the body `{…params, ks, format: 1, clientTag, apiVersion}` is `POST`ed as
//!    `Content-Type: application/json` to `{service_url}/api_v3/service/{service}/action/{action}`;
//! 4. the response is checked in this order: HTTP status ([`Error::Http`]), JSON
//!    ([`Error::NotJson`]), `KalturaAPIException` ([`Error::Api`]), then decoded into the
//!    request's output ([`Error::Decode`], with the JSON path of the failing field);
//! 5. failures are retried as [`crate::retry`] decides, sleeping between attempts.
//!
//! Secrets (admin secret, app token, every KS) never appear in `Debug` output, logs or
//! errors: the body snippets and API error messages the server sends back are scrubbed of
//! the KS and secret that were sent.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tracing::Instrument as _;

use crate::clock::{Clock, SystemClock};
use crate::error::{ApiError, BodySnippet, Error, InvalidKsReason, Result, redact_tokens};
use crate::ids::{AppTokenId, PartnerId, UserId};
use crate::ks::{Ks, KsBuilder, KsVersion, OsRandom, Privileges, SessionType};
use crate::multirequest::MultiRequest;
use crate::request::{API_VERSION, FORMAT_JSON, KalturaRequest, RawRequest, validate_names};
use crate::retry::{RetryDecision, RetryPolicy, decide};
use crate::types::AppTokenHashType;

/// The Kaltura SaaS service URL, used unless [`ClientBuilder::service_url`] says otherwise.
pub const DEFAULT_SERVICE_URL: &str = "https://www.kaltura.com";

/// How long one attempt may take, from sending to the last byte of the response (30 s, as
/// the official Node.js client).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Lifetime of the admin KS the client generates from the admin secret (24 h, Kaltura's
/// default `ksMaxExpiryInSeconds`).
pub const DEFAULT_ADMIN_KS_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

/// Privileges of the admin KS the client generates from the admin secret: entitlement
/// checks off, so that an integration sees every entry of the partner.
pub const DEFAULT_ADMIN_KS_PRIVILEGES: &str = "disableentitlement";

/// The `clientTag` sent with every call unless [`ClientBuilder::client_tag`] says otherwise.
pub const DEFAULT_CLIENT_TAG: &str = concat!("kaltura-client-rs:", env!("CARGO_PKG_VERSION"));

/// The `User-Agent` sent with every call unless [`ClientBuilder::user_agent`] says otherwise.
pub const DEFAULT_USER_AGENT: &str = concat!("kaltura-client-rs/", env!("CARGO_PKG_VERSION"));

/// Kaltura treats `time` values up to ten years (in seconds) as relative to now.
const RELATIVE_TIME_LIMIT: i64 = 315_360_000;

/// How the client authenticates its calls.
///
/// Build one with the constructors ([`Credentials::admin_secret`], [`Credentials::app_token`],
/// [`Credentials::ks`]) or the variants directly; `Debug` never shows a secret.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No credentials: calls are sent without a KS (only anonymous actions such as
    /// `session.startWidgetSession` will succeed) unless a KS is set with
    /// [`Client::with_ks`].
    #[default]
    None,
    /// The partner's admin secret. The client generates an ADMIN KS locally (no round trip)
    /// and renews it before it expires. Requires a partner id.
    AdminSecret {
        /// The admin secret (Kaltura's KMC → Integration Settings).
        secret: SecretString,
        /// KS format to generate; `None` uses [`ClientBuilder::ks_version`] (default v2).
        ks_version: Option<KsVersion>,
    },
    /// An application token. The client gets its KS with `session.startWidgetSession` +
    /// `appToken.startSession` and renews it before it expires. Requires a partner id.
    AppToken {
        /// The token id (`appToken.id`).
        id: AppTokenId,
        /// The token itself (`appToken.token`); it is never sent, only hashed.
        token: SecretString,
        /// The hash type the token was created with (Kaltura's default is SHA-1).
        hash_type: AppTokenHashType,
        /// User id for the session (ignored by Kaltura if the token defines one).
        user_id: Option<UserId>,
        /// Session type (ignored by Kaltura if the token defines one).
        session_type: Option<SessionType>,
        /// Requested session lifetime (Kaltura caps it with the token's session duration).
        expiry: Option<Duration>,
        /// Requested privileges (Kaltura adds the token's own).
        privileges: Option<String>,
    },
    /// A ready-made KS, used as is and never renewed.
    Ks(Ks),
}

impl Credentials {
    /// Admin-secret credentials generating the default KS version.
    pub fn admin_secret(secret: impl Into<SecretString>) -> Self {
        Credentials::AdminSecret {
            secret: secret.into(),
            ks_version: None,
        }
    }

    /// Application-token credentials with SHA-1 and no session overrides.
    pub fn app_token(id: impl Into<AppTokenId>, token: impl Into<SecretString>) -> Self {
        Credentials::AppToken {
            id: id.into(),
            token: token.into(),
            hash_type: AppTokenHashType::default(),
            user_id: None,
            session_type: None,
            expiry: None,
            privileges: None,
        }
    }

    /// A fixed KS.
    pub fn ks(ks: Ks) -> Self {
        Credentials::Ks(ks)
    }

    /// Whether the client manages (creates and renews) a KS from these credentials.
    fn is_managed(&self) -> bool {
        matches!(
            self,
            Credentials::AdminSecret { .. } | Credentials::AppToken { .. }
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::AdminSecret { ks_version, .. } => f
                .debug_struct("AdminSecret")
                .field("secret", &Redacted)
                .field("ks_version", ks_version)
                .finish(),
            Credentials::AppToken {
                id,
                hash_type,
                user_id,
                session_type,
                expiry,
                privileges,
                ..
            } => f
                .debug_struct("AppToken")
                .field("id", id)
                .field("token", &Redacted)
                .field("hash_type", hash_type)
                .field("user_id", user_id)
                .field("session_type", session_type)
                .field("expiry", expiry)
                .field("privileges", privileges)
                .finish(),
            Credentials::Ks(_) => f.debug_tuple("Ks").field(&Redacted).finish(),
        }
    }
}

/// Placeholder printed instead of a secret.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Builds a [`Client`]; see [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    service_url: String,
    partner_id: Option<PartnerId>,
    credentials: Credentials,
    timeout: Duration,
    retry: RetryPolicy,
    client_tag: String,
    user_agent: String,
    http: Option<reqwest::Client>,
    clock: Option<Arc<dyn Clock>>,
    ks_version: KsVersion,
    admin_ks_expiry: Duration,
    admin_ks_privileges: Privileges,
    admin_ks_user_id: Option<UserId>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            service_url: DEFAULT_SERVICE_URL.to_owned(),
            partner_id: None,
            credentials: Credentials::None,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            client_tag: DEFAULT_CLIENT_TAG.to_owned(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            http: None,
            clock: None,
            ks_version: KsVersion::default(),
            admin_ks_expiry: DEFAULT_ADMIN_KS_EXPIRY,
            admin_ks_privileges: DEFAULT_ADMIN_KS_PRIVILEGES.parse().unwrap_or_default(),
            admin_ks_user_id: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("service_url", &self.service_url)
            .field("partner_id", &self.partner_id)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("client_tag", &self.client_tag)
            .field("user_agent", &self.user_agent)
            .field("custom_http_client", &self.http.is_some())
            .field("clock", &self.clock)
            .field("ks_version", &self.ks_version)
            .field("admin_ks_expiry", &self.admin_ks_expiry)
            .field("admin_ks_privileges", &self.admin_ks_privileges)
            .field("admin_ks_user_id", &self.admin_ks_user_id)
            .finish()
    }
}

impl ClientBuilder {
    /// The Kaltura server, e.g. `https://www.kaltura.com` (the default) or an on-premises
    /// `https://kaltura.example.org`; a path prefix is kept. Must be `http` or `https`.
    pub fn service_url(mut self, url: impl Into<String>) -> Self {
        self.service_url = url.into();
        self
    }

    /// The partner (account) id; required with admin-secret and app-token credentials and
    /// for `session.start`.
    pub fn partner_id(mut self, partner_id: impl Into<PartnerId>) -> Self {
        self.partner_id = Some(partner_id.into());
        self
    }

    /// How the client authenticates; see [`Credentials`].
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Shorthand for [`Credentials::admin_secret`].
    pub fn admin_secret(self, secret: impl Into<SecretString>) -> Self {
        self.credentials(Credentials::admin_secret(secret))
    }

    /// Shorthand for [`Credentials::app_token`] (SHA-1, no session overrides).
    pub fn app_token(self, id: impl Into<AppTokenId>, token: impl Into<SecretString>) -> Self {
        self.credentials(Credentials::app_token(id, token))
    }

    /// Shorthand for [`Credentials::Ks`].
    pub fn ks(self, ks: Ks) -> Self {
        self.credentials(Credentials::Ks(ks))
    }

    /// Timeout of one attempt (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// When failed calls are retried (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The `clientTag` sent with every call, visible in Kaltura's logs (default
    /// [`DEFAULT_CLIENT_TAG`]).
    pub fn client_tag(mut self, tag: impl Into<String>) -> Self {
        self.client_tag = tag.into();
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this `reqwest::Client` (proxy, custom TLS, middleware-free connection pool…)
    /// instead of a default one. The default client does not follow redirects, because a
    /// redirected `POST` loses its body; a custom client keeps its own redirect policy.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The clock used to stamp and renew locally generated KSs (default: the system clock).
    /// Tests inject a controllable one.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// KS format generated from an admin secret (default v2), unless
    /// [`Credentials::AdminSecret::ks_version`](Credentials::AdminSecret) says otherwise.
    pub fn ks_version(mut self, version: KsVersion) -> Self {
        self.ks_version = version;
        self
    }

    /// Lifetime of the admin KS generated from the admin secret (default
    /// [`DEFAULT_ADMIN_KS_EXPIRY`]); also the requested lifetime of app-token sessions when
    /// the credentials do not set one.
    pub fn admin_ks_expiry(mut self, expiry: Duration) -> Self {
        self.admin_ks_expiry = expiry;
        self
    }

    /// Privileges of the admin KS generated from the admin secret (default
    /// [`DEFAULT_ADMIN_KS_PRIVILEGES`]).
    pub fn admin_ks_privileges(mut self, privileges: Privileges) -> Self {
        self.admin_ks_privileges = privileges;
        self
    }

    /// User id of the admin KS generated from the admin secret (default none).
    pub fn admin_ks_user_id(mut self, user_id: impl Into<UserId>) -> Self {
        self.admin_ks_user_id = Some(user_id.into());
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the service URL is not an absolute `http`/`https` URL without
    /// credentials, query or fragment; if admin-secret or app-token credentials lack a
    /// partner id; if a secret, token id or duration is empty; or if the default HTTP client
    /// cannot be created.
    pub fn build(self) -> Result<Client> {
        let service_url = normalize_service_url(&self.service_url)?;
        if self.timeout.is_zero() {
            return Err(Error::Config("the request timeout must not be zero".into()));
        }
        match &self.credentials {
            Credentials::AdminSecret { secret, .. } => {
                if secret.expose_secret().trim().is_empty() {
                    return Err(Error::Config("the admin secret is empty".into()));
                }
                if self.admin_ks_expiry.as_secs() == 0 {
                    return Err(Error::Config(
                        "the admin KS expiry must be at least one second".into(),
                    ));
                }
            }
            Credentials::AppToken { id, token, .. } => {
                if id.as_str().trim().is_empty() {
                    return Err(Error::Config("the app token id is empty".into()));
                }
                if token.expose_secret().is_empty() {
                    return Err(Error::Config("the app token is empty".into()));
                }
            }
            Credentials::Ks(ks) => {
                if ks.expose_secret().trim().is_empty() {
                    return Err(Error::Config("the KS is empty".into()));
                }
            }
            Credentials::None => {}
        }
        if self.credentials.is_managed() && self.partner_id.is_none() {
            return Err(Error::Config(
                "a partner id is required with admin-secret or app-token credentials \
                 (ClientBuilder::partner_id)"
                    .into(),
            ));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("could not create the HTTP client: {e}")))?,
        };
        let ks_version = match &self.credentials {
            Credentials::AdminSecret {
                ks_version: Some(v),
                ..
            } => *v,
            _ => self.ks_version,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                service_url,
                partner_id: self.partner_id,
                credentials: self.credentials,
                timeout: self.timeout,
                retry: self.retry,
                client_tag: self.client_tag,
                user_agent: self.user_agent,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                admin_ks: AdminKsOptions {
                    version: ks_version,
                    expiry: self.admin_ks_expiry,
                    privileges: self.admin_ks_privileges,
                    user_id: self.admin_ks_user_id,
                },
                session: tokio::sync::Mutex::new(None),
            }),
            fixed_ks: None,
        })
    }
}

/// Parses and normalizes the service URL: absolute http(s), no user info, query or
/// fragment, no trailing slash.
fn normalize_service_url(raw: &str) -> Result<String> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("invalid service URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "invalid service URL {raw:?}: the scheme must be http or https, not {:?}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::Config(format!(
            "invalid service URL {raw:?}: no host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "invalid service URL: it must not contain a user name or password".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "invalid service URL {raw:?}: it must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Settings of the admin KS generated from the admin secret.
#[derive(Debug)]
struct AdminKsOptions {
    version: KsVersion,
    expiry: Duration,
    privileges: Privileges,
    user_id: Option<UserId>,
}

/// A managed KS with its validity window (unix seconds, client clock).
struct CachedKs {
    ks: Ks,
    issued_at: i64,
    valid_until: i64,
}

impl CachedKs {
    /// Whether the KS is close enough to its expiry to be replaced; see [`renewal_margin`].
    fn needs_renewal(&self, now: i64) -> bool {
        let lifetime = self.valid_until.saturating_sub(self.issued_at).max(0);
        now >= self.valid_until.saturating_sub(renewal_margin(lifetime))
    }
}

/// How long before its expiry a managed KS is renewed: 10 % of its lifetime or 5 minutes,
/// whichever is more, but at most half of the lifetime (so a 2-minute KS is used for one
/// minute, a 24-hour KS for 21.6 hours).
fn renewal_margin(lifetime: i64) -> i64 {
    (lifetime / 10).max(300.min(lifetime / 2))
}

/// Which KS a call carries, and whether the client manages it.
enum KsUse {
    /// No KS from the client (none configured, or the call does not need one, or the
    /// request brings its own `ks` parameter).
    None,
    /// A fixed KS ([`Client::with_ks`], [`Credentials::Ks`]); never renewed.
    Fixed(Ks),
    /// The managed KS; invalidated when Kaltura refuses it.
    Managed(Ks),
}

impl KsUse {
    fn ks(&self) -> Option<&Ks> {
        match self {
            KsUse::None => None,
            KsUse::Fixed(ks) | KsUse::Managed(ks) => Some(ks),
        }
    }
}

struct Inner {
    http: reqwest::Client,
    service_url: String,
    partner_id: Option<PartnerId>,
    credentials: Credentials,
    timeout: Duration,
    retry: RetryPolicy,
    client_tag: String,
    user_agent: String,
    clock: Arc<dyn Clock>,
    admin_ks: AdminKsOptions,
    /// The managed KS; the lock also serializes renewals, so concurrent calls wait for one
    /// refresh instead of each starting their own.
    session: tokio::sync::Mutex<Option<CachedKs>>,
}

/// An asynchronous Kaltura API v3 client.
///
/// Cheap to clone (an `Arc` inside); clones share the connection pool and the managed KS.
///
/// # KS management
///
/// With [`Credentials::AdminSecret`] the client generates an ADMIN KS locally (privileges
/// [`DEFAULT_ADMIN_KS_PRIVILEGES`], lifetime [`DEFAULT_ADMIN_KS_EXPIRY`], both configurable);
/// with [`Credentials::AppToken`] it starts an app-token session. Either way the KS is cached
/// and renewed once less than 10 % of its lifetime or 5 minutes remain (whichever is more, at
/// most half its lifetime), by the injected [`Clock`]. Concurrent callers wait for a single
/// renewal.
///
/// If Kaltura answers `INVALID_KS` for the managed KS, the cached KS is dropped so the next
/// call gets a new one. When the reason is *expired* (nothing was executed), the call is
/// sent once more with a fresh KS — even for actions with side effects; any other reason is
/// returned as [`Error::Api`]. A fixed KS is never renewed or retried.
///
/// # Example
///
/// ```no_run
/// use kaltura_client::Client;
///
/// # async fn run() -> kaltura_client::Result<()> {
/// let client = Client::builder()
///     .partner_id(12345)
///     .admin_secret(std::env::var("KALTURA_ADMIN_SECRET").unwrap_or_default())
///     .build()?;
///
/// let entry = client
///     .call_raw("media", "get", serde_json::json!({ "entryId": "0_abc123" }))
///     .await?;
/// assert!(entry.get("id").is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Set by [`Client::with_ks`]: overrides the credentials.
    fixed_ks: Option<Ks>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("service_url", &inner.service_url)
            .field("partner_id", &inner.partner_id)
            .field("credentials", &inner.credentials)
            .field("fixed_ks", &self.fixed_ks.as_ref().map(|_| Redacted))
            .field("timeout", &inner.timeout)
            .field("retry", &inner.retry)
            .field("client_tag", &inner.client_tag)
            .field("user_agent", &inner.user_agent)
            .field("clock", &inner.clock)
            .field("admin_ks", &inner.admin_ks)
            .finish_non_exhaustive()
    }
}

/// A prepared call: what [`Client::execute`] sends.
pub(crate) struct Call {
    /// Service id, or `multirequest`.
    pub(crate) service: String,
    /// Action name; empty for a multirequest.
    pub(crate) action: String,
    /// Path below the service URL.
    pub(crate) path: String,
    /// Parameters, without the common ones.
    pub(crate) params: Map<String, Value>,
    /// Whether the client's KS is added (unless `params` has a `ks`).
    pub(crate) needs_ks: bool,
    /// Whether the call may be retried after it may have reached the server.
    pub(crate) read_only: bool,
    /// For a multirequest: the number of calls in it.
    pub(crate) multi: Option<usize>,
}

impl Client {
    /// Starts configuring a client.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use kaltura_client::{Client, RetryPolicy};
    ///
    /// # fn run() -> kaltura_client::Result<()> {
    /// let client = Client::builder()
    ///     .service_url("https://www.kaltura.com")
    ///     .partner_id(12345)
    ///     .app_token("0_token_id", std::env::var("KALTURA_APP_TOKEN").unwrap_or_default())
    ///     .timeout(Duration::from_secs(10))
    ///     .retry_policy(RetryPolicy::default().max_retries(3))
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The partner id, if configured.
    pub fn partner_id(&self) -> Option<PartnerId> {
        self.inner.partner_id
    }

    /// The service URL, normalized without a trailing slash.
    pub fn service_url(&self) -> &str {
        &self.inner.service_url
    }

    /// The `clientTag` sent with every call.
    pub fn client_tag(&self) -> &str {
        &self.inner.client_tag
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The configured credentials (`Debug` redacts the secrets).
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// A clone of this client that sends `ks` with every call instead of its own KS — for
    /// acting with a user's KS. The clone shares the connection pool; it never renews `ks`.
    #[must_use]
    pub fn with_ks(&self, ks: Ks) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            fixed_ks: Some(ks),
        }
    }

    /// The KS calls are sent with: the fixed one, or the managed one (generated or renewed
    /// first if needed), or `None` without credentials.
    ///
    /// # Errors
    ///
    /// [`Error::Ks`] if the admin KS cannot be generated; any error of
    /// `session.startWidgetSession` / `appToken.startSession` for app-token credentials.
    pub async fn current_ks(&self) -> Result<Option<Ks>> {
        Ok(self.ks_for_call().await?.ks().cloned())
    }

    /// Sends one request and decodes its result.
    ///
    /// ```no_run
    /// use kaltura_client::{Client, request::RawRequest};
    /// use serde_json::json;
    ///
    /// # async fn run(client: Client) -> kaltura_client::Result<()> {
    /// let list = client
    ///     .send(RawRequest::new("media", "list", json!({ "pager": { "pageSize": 5 } })))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// See [`Error`]; every variant says whether the request may have been sent.
    pub async fn send<R: KalturaRequest>(&self, request: R) -> Result<R::Output> {
        let service = request.service().to_owned();
        let action = request.action().to_owned();
        validate_names(&service, &action)?;
        let call = Call {
            path: format!("/api_v3/service/{service}/action/{action}"),
            params: request.params()?,
            needs_ks: request.needs_ks(),
            read_only: request.is_read_only(),
            multi: None,
            service,
            action,
        };
        drop(request);
        let value = self.execute(&call).await?;
        decode_value(&call.service, &call.action, &value)
    }

    /// Calls any service and action with JSON parameters and returns the untyped result —
    /// the escape hatch for services this crate does not model. Same KS, retries and error
    /// mapping as typed calls.
    ///
    /// ```no_run
    /// # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
    /// let user = client
    ///     .call_raw("user", "get", serde_json::json!({ "userId": "discord_42" }))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Build`] if `service` or `action` is not `[A-Za-z0-9_]+` or `params` is not an
    /// object or `null`; otherwise as [`Client::send`].
    pub async fn call_raw(&self, service: &str, action: &str, params: Value) -> Result<Value> {
        self.send(RawRequest::new(service, action, params)).await
    }

    /// Starts a multirequest: several calls in one round trip, later ones able to use
    /// earlier results. See [`MultiRequest`].
    pub fn multirequest(&self) -> MultiRequest {
        MultiRequest::new(self.clone())
    }

    /// The current time of the client's clock (unix seconds).
    pub(crate) fn now_unix(&self) -> i64 {
        self.inner.clock.now_unix()
    }

    /// The admin secret, if the client is configured with one.
    pub(crate) fn admin_secret(&self) -> Option<&SecretString> {
        match &self.inner.credentials {
            Credentials::AdminSecret { secret, .. } => Some(secret),
            _ => None,
        }
    }

    /// Drops the cached managed KS (after `session.end`), unless this clone uses a fixed KS.
    pub(crate) async fn forget_managed_ks(&self) {
        if self.fixed_ks.is_none() {
            *self.inner.session.lock().await = None;
        }
    }

    /// The KS for a call that needs one.
    ///
    /// Boxed with an explicit `Send` bound: renewing an app-token KS sends calls, which come
    /// back here, and the recursion needs both the indirection and a declared auto trait.
    fn ks_for_call(&self) -> Pin<Box<dyn Future<Output = Result<KsUse>> + Send + '_>> {
        Box::pin(async move {
            if let Some(ks) = &self.fixed_ks {
                return Ok(KsUse::Fixed(ks.clone()));
            }
            match &self.inner.credentials {
                Credentials::Ks(ks) => Ok(KsUse::Fixed(ks.clone())),
                Credentials::AdminSecret { .. } | Credentials::AppToken { .. } => {
                    self.managed_ks().await.map(KsUse::Managed)
                }
                Credentials::None => Ok(KsUse::None),
            }
        })
    }

    /// The cached managed KS, renewed first if it is close to its expiry.
    async fn managed_ks(&self) -> Result<Ks> {
        let mut cached = self.inner.session.lock().await;
        let now = self.now_unix();
        if let Some(current) = cached.as_ref()
            && !current.needs_renewal(now)
        {
            return Ok(current.ks.clone());
        }
        match self.new_managed_ks().await {
            Ok(fresh) => {
                tracing::debug!(valid_until = fresh.valid_until, "kaltura: new managed KS");
                let ks = fresh.ks.clone();
                *cached = Some(fresh);
                Ok(ks)
            }
            // The old KS is still valid: keep using it, renewal is tried again next call.
            Err(error) => match cached.as_ref() {
                Some(current) if now < current.valid_until => {
                    tracing::warn!(%error, "kaltura: KS renewal failed, using the current KS");
                    Ok(current.ks.clone())
                }
                _ => Err(error),
            },
        }
    }

    /// Creates a managed KS from the credentials.
    async fn new_managed_ks(&self) -> Result<CachedKs> {
        let inner = &self.inner;
        let partner_id = inner
            .partner_id
            .ok_or_else(|| Error::Config("a partner id is required to create a KS".into()))?;
        let now = self.now_unix();
        match &inner.credentials {
            Credentials::AdminSecret { secret, .. } => {
                let options = &inner.admin_ks;
                let mut builder = KsBuilder::new(partner_id)
                    .session_type(SessionType::Admin)
                    .expiry(options.expiry)
                    .privileges(options.privileges.clone())
                    .version(options.version);
                if let Some(user_id) = &options.user_id {
                    builder = builder.user_id(user_id.as_str());
                }
                let ks = builder.sign_with(secret, inner.clock.as_ref(), &mut OsRandom)?;
                Ok(CachedKs {
                    ks,
                    issued_at: now,
                    valid_until: now.saturating_add(duration_secs(options.expiry)),
                })
            }
            Credentials::AppToken {
                id,
                token,
                hash_type,
                user_id,
                session_type,
                expiry,
                privileges,
            } => {
                let expiry = expiry.unwrap_or(inner.admin_ks.expiry);
                let mut start = self
                    .app_token()
                    .start_session(id.clone(), token.clone())
                    .hash_type(*hash_type)
                    .expiry(expiry);
                if let Some(user_id) = user_id {
                    start = start.user_id(user_id.clone());
                }
                if let Some(session_type) = session_type {
                    start = start.session_type(*session_type);
                }
                if let Some(privileges) = privileges {
                    start = start.session_privileges(privileges.clone());
                }
                let info = start.send().await?;
                let valid_until = match info.expiry {
                    Some(at) if at > RELATIVE_TIME_LIMIT => at,
                    Some(relative) if relative > 0 => now.saturating_add(relative),
                    _ => now.saturating_add(duration_secs(expiry)),
                };
                Ok(CachedKs {
                    ks: info.ks,
                    issued_at: now,
                    valid_until,
                })
            }
            Credentials::Ks(_) | Credentials::None => Err(Error::Config(
                "the client has no credentials to create a KS from".into(),
            )),
        }
    }

    /// Drops the cached managed KS if it is still `used` (a concurrent call may already
    /// have replaced it).
    async fn invalidate_managed_ks(&self, used: &Ks) {
        let mut cached = self.inner.session.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.ks.expose_secret() == used.expose_secret())
        {
            tracing::debug!("kaltura: managed KS refused by the server, dropping it");
            *cached = None;
        }
    }

    /// Sends a prepared call with retries and returns the checked JSON result (for a
    /// multirequest: the array, with inline errors scrubbed of secrets).
    pub(crate) async fn execute(&self, call: &Call) -> Result<Value> {
        let span = tracing::debug_span!(
            "kaltura_call",
            service = %call.service,
            action = %call.action,
            attempt = tracing::field::Empty,
        );
        self.execute_inner(call, &span)
            .instrument(span.clone())
            .await
    }

    async fn execute_inner(&self, call: &Call, span: &tracing::Span) -> Result<Value> {
        let url = format!("{}{}", self.inner.service_url, call.path);
        let mut attempt: u32 = 0;
        let mut renewed_expired_ks = false;
        loop {
            span.record("attempt", attempt);
            let ks_use = if call.needs_ks && !call.params.contains_key("ks") {
                self.ks_for_call().await?
            } else {
                KsUse::None
            };
            let body = self.body(&call.params, ks_use.ks());
            let sensitive = sensitive_values(&body);
            let result = self
                .attempt(&url, &body, &sensitive, call.multi)
                .await
                .map_err(|e| e.in_call(&call.service, &call.action));
            let api_refusal = match &result {
                Err(Error::Api(api)) => api.invalid_ks_reason().map(|reason| (reason, true)),
                Ok(value) if call.multi.is_some() => multi_ks_refusal(value),
                Ok(_) | Err(_) => None,
            };
            if let (KsUse::Managed(used), Some((reason, all_refused))) = (&ks_use, api_refusal) {
                self.invalidate_managed_ks(used).await;
                if reason == InvalidKsReason::Expired && all_refused && !renewed_expired_ks {
                    tracing::debug!("kaltura: managed KS expired, retrying once with a new one");
                    renewed_expired_ks = true;
                    continue;
                }
            }
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match decide(&self.inner.retry, attempt, &error, call.read_only) {
                RetryDecision::Retry { after } => {
                    tracing::debug!(%error, ?after, "kaltura: retrying");
                    tokio::time::sleep(after).await;
                    attempt += 1;
                }
                RetryDecision::GiveUp => return Err(error),
            }
        }
    }

    /// The JSON body: the parameters plus `ks` (unless the request brings its own),
    /// `format`, `clientTag` and `apiVersion`.
    fn body(&self, params: &Map<String, Value>, ks: Option<&Ks>) -> Map<String, Value> {
        let mut body = params.clone();
        if let Some(ks) = ks {
            body.entry("ks")
                .or_insert_with(|| Value::String(ks.expose_secret().to_owned()));
        }
        body.insert("format".into(), Value::from(FORMAT_JSON));
        body.insert(
            "clientTag".into(),
            Value::String(self.inner.client_tag.clone()),
        );
        body.insert("apiVersion".into(), Value::String(API_VERSION.to_owned()));
        body
    }

    /// One HTTP round trip: status, JSON and API-error checks.
    async fn attempt(
        &self,
        url: &str,
        body: &Map<String, Value>,
        sensitive: &[String],
        multi: Option<usize>,
    ) -> Result<Value> {
        let inner = &self.inner;
        let started = Instant::now();
        let transport = |e: reqwest::Error| map_reqwest_error(e, url, inner.timeout);
        let response = inner
            .http
            .post(url)
            .timeout(inner.timeout)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, &inner.user_agent)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = parse_retry_after(response.headers());
        let bytes = response.bytes().await.map_err(transport)?;
        tracing::debug!(
            status = status.as_u16(),
            bytes = bytes.len(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "kaltura: response"
        );
        if !status.is_success() {
            return Err(Error::Http {
                url: url.to_owned(),
                status: status.as_u16(),
                retry_after,
                body_snippet: snippet(&bytes, sensitive),
            });
        }
        let mut value = parse_json(&bytes).ok_or_else(|| Error::NotJson {
            url: url.to_owned(),
            content_type,
            body_snippet: snippet(&bytes, sensitive),
        })?;
        if let Some(api) = api_error(&value, sensitive) {
            return Err(Error::Api(api));
        }
        if multi.is_some()
            && let Value::Array(items) = &mut value
        {
            for item in items.iter_mut() {
                if let Some(api) = api_error(item, sensitive) {
                    scrub_api_error_value(item, &api);
                }
            }
        }
        Ok(value)
    }
}

/// Converts a std duration to whole seconds as `i64`, saturating.
pub(crate) fn duration_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Maps a reqwest error to the variant saying whether the request may have been sent.
fn map_reqwest_error(e: reqwest::Error, url: &str, timeout: Duration) -> Error {
    let url = url.to_owned();
    if e.is_connect() {
        Error::Connect { url, source: e }
    } else if e.is_timeout() {
        Error::Timeout { url, timeout }
    } else {
        Error::Transport { url, source: e }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not supported and ignored).
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Parses a 2xx body as JSON. An empty body counts as `null` (a void action); a body that
/// starts with `<` (HTML, XML) or does not parse is not JSON.
fn parse_json(bytes: &[u8]) -> Option<Value> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| bytes[i]) {
        None => Some(Value::Null),
        Some(b'<') => None,
        Some(_) => serde_json::from_slice(bytes).ok(),
    }
}

/// The secret values in a request body (`ks`, `secret`, `session`, also inside multirequest
/// items), which must not come back in errors.
fn sensitive_values(body: &Map<String, Value>) -> Vec<String> {
    const KEYS: [&str; 3] = ["ks", "secret", "session"];
    let mut out = Vec::new();
    let mut collect = |map: &Map<String, Value>| {
        for key in KEYS {
            if let Some(Value::String(s)) = map.get(key)
                && s.len() >= 4
                && !out.contains(s)
            {
                out.push(s.clone());
            }
        }
    };
    collect(body);
    for value in body.values() {
        if let Value::Object(item) = value {
            collect(item);
        }
    }
    out
}

/// Replaces every sensitive value in `text`.
pub(crate) fn redact<'a>(text: &'a str, sensitive: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in sensitive {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "[REDACTED]"));
        }
    }
    out
}

/// The start of a body for error messages: lossy UTF-8, secrets redacted, at most
/// [`BodySnippet::MAX_CHARS`] characters.
pub(crate) fn snippet(bytes: &[u8], sensitive: &[String]) -> BodySnippet {
    BodySnippet::from_bytes(bytes, sensitive)
}

/// If `value` is a `KalturaAPIException`, the error it describes (secrets redacted).
pub(crate) fn api_error(value: &Value, sensitive: &[String]) -> Option<ApiError> {
    let object = value.as_object()?;
    if object.get("objectType").and_then(Value::as_str) != Some("KalturaAPIException") {
        return None;
    }
    let mut api = serde_json::from_value::<ApiError>(value.clone()).unwrap_or_else(|_| {
        let text = |key: &str| match object.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        ApiError::new(text("code"), text("message"))
    });
    api.message = redact(&api.message, sensitive).into_owned();
    for arg in api.args.values_mut() {
        if let Cow::Owned(redacted) = redact(arg, sensitive) {
            *arg = redacted;
        }
    }
    Some(api)
}

/// Writes the redacted message and arguments of `api` back into the exception object.
fn scrub_api_error_value(item: &mut Value, api: &ApiError) {
    if let Value::Object(object) = item {
        object.insert("message".into(), Value::String(api.message.clone()));
        if !api.args.is_empty() {
            let args = api
                .args
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            object.insert("args".into(), Value::Object(args));
        }
    }
}

/// For a multirequest result: if some items are `INVALID_KS`, the reason of the first one and
/// whether *every* item was refused for that reason (then nothing was executed).
fn multi_ks_refusal(value: &Value) -> Option<(InvalidKsReason, bool)> {
    let items = value.as_array()?;
    let reasons: Vec<Option<InvalidKsReason>> = items
        .iter()
        .map(|item| api_error(item, &[]).and_then(|api| api.invalid_ks_reason()))
        .collect();
    let first = reasons.iter().flatten().next()?.clone();
    let all = reasons.iter().all(|r| r.as_ref() == Some(&first));
    Some((first, all))
}

/// Decodes a checked result into `T`, reporting the JSON path of a mismatch.
pub(crate) fn decode_value<T: DeserializeOwned>(
    service: &str,
    action: &str,
    value: &Value,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Error::Decode {
            service: service.to_owned(),
            action: action.to_owned(),
            path,
            message: redact_tokens(&e.into_inner().to_string()).into_owned(),
            body_snippet: BodySnippet::of_result(service, action, value),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_url_is_validated_and_normalized() {
        assert_eq!(
            normalize_service_url("https://www.kaltura.com/").unwrap(),
            "https://www.kaltura.com"
        );
        assert_eq!(
            normalize_service_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_service_url("https://example.org/kaltura/").unwrap(),
            "https://example.org/kaltura"
        );
        for bad in [
            "",
            "www.kaltura.com",
            "ftp://www.kaltura.com",
            "file:///etc/passwd",
            "https://user:pw@www.kaltura.com",
            "https://www.kaltura.com/?x=1",
            "https://www.kaltura.com/#f",
        ] {
            assert!(
                matches!(normalize_service_url(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn renewal_margin_rule() {
        assert_eq!(renewal_margin(86_400), 8_640);
        assert_eq!(renewal_margin(3_600), 360);
        assert_eq!(renewal_margin(1_200), 300);
        assert_eq!(renewal_margin(120), 60);
        assert_eq!(renewal_margin(0), 0);
        let ks = CachedKs {
            ks: Ks::new("k"),
            issued_at: 1_000,
            valid_until: 1_000 + 86_400,
        };
        assert!(!ks.needs_renewal(1_000));
        assert!(!ks.needs_renewal(1_000 + 86_400 - 8_641));
        assert!(ks.needs_renewal(1_000 + 86_400 - 8_640));
        assert!(ks.needs_renewal(1_000 + 100_000));
    }

    #[test]
    fn json_detection() {
        assert_eq!(parse_json(b""), Some(Value::Null));
        assert_eq!(parse_json(b"  \n"), Some(Value::Null));
        assert_eq!(parse_json(b"null"), Some(Value::Null));
        assert_eq!(parse_json(b"\"djJ8\""), Some(json!("djJ8")));
        assert_eq!(parse_json(b" <html>502</html>"), None);
        assert_eq!(parse_json(b"<?xml version=\"1.0\"?><xml/>"), None);
        assert_eq!(parse_json(b"{not json"), None);
    }

    #[test]
    fn snippets_are_truncated_and_redacted() {
        let secret = vec!["djJ8U0VDUkVU".to_owned()];
        let s = snippet(b"Invalid KS \"djJ8U0VDUkVU\"", &secret);
        assert_eq!(s, "Invalid KS \"[REDACTED]\"");
        let long = "é".repeat(600);
        let s = snippet(long.as_bytes(), &[]);
        assert_eq!(s.chars().count(), BodySnippet::MAX_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(&[0xff, b'a'], &[]), "\u{fffd}a");
    }

    #[test]
    fn sensitive_values_include_multirequest_items() {
        let body = json!({
            "ks": "top-level-ks",
            "0": {"service": "session", "action": "start", "secret": "the-secret"},
            "1": {"service": "session", "action": "get", "session": "item-ks"},
            "2": {"service": "x", "action": "y", "ks": "abc"},
        });
        let Value::Object(body) = body else {
            unreachable!()
        };
        let mut values = sensitive_values(&body);
        values.sort();
        assert_eq!(values, ["item-ks", "the-secret", "top-level-ks"]);
    }

    #[test]
    fn api_errors_are_detected_and_scrubbed() {
        let ks = vec!["djJ8U0VDUkVU".to_owned()];
        let value = json!({
            "code": "INVALID_KS",
            "message": "Invalid KS \"djJ8U0VDUkVU\", Error \"-1,INVALID_STR\"",
            "objectType": "KalturaAPIException",
            "args": {"KSID": "djJ8U0VDUkVU", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}
        });
        let api = api_error(&value, &ks).unwrap();
        assert_eq!(api.code, crate::ErrorCode::InvalidKs);
        assert!(!api.message.contains("djJ8U0VDUkVU"));
        assert_eq!(api.args["KSID"], "[REDACTED]");
        assert_eq!(
            api.invalid_ks_reason(),
            Some(InvalidKsReason::InvalidSignature)
        );
        assert!(api_error(&json!({"objectType": "KalturaMediaEntry"}), &ks).is_none());
        assert!(api_error(&json!("KalturaAPIException"), &ks).is_none());
        let odd = api_error(
            &json!({"objectType": "KalturaAPIException", "code": 5}),
            &ks,
        )
        .unwrap();
        assert_eq!(odd.code.as_str(), "5");
        assert_eq!(odd.message, "");
    }

    #[test]
    fn multirequest_refusals() {
        let expired = json!({"code":"INVALID_KS","message":"m","objectType":"KalturaAPIException",
            "args":{"KSID":"EXPIRED","ERR_CODE":"-1","ERR_DESC":"INVALID_STR"}});
        assert_eq!(
            multi_ks_refusal(&json!([expired.clone(), expired.clone()])),
            Some((InvalidKsReason::Expired, true))
        );
        assert_eq!(
            multi_ks_refusal(&json!(["ok", expired])),
            Some((InvalidKsReason::Expired, false))
        );
        assert_eq!(multi_ks_refusal(&json!(["ok"])), None);
        assert_eq!(multi_ks_refusal(&json!({"a": 1})), None);
    }

    #[test]
    fn decode_reports_the_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Entry {
            id: String,
            #[serde(rename = "partnerId")]
            partner_id: PartnerId,
        }
        let err = decode_value::<Entry>("media", "get", &json!({"id": "0_x", "partnerId": {}}))
            .unwrap_err();
        let Error::Decode { path, service, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(path, "partnerId");
        assert_eq!(service, "media");
        decode_value::<()>("media", "delete", &Value::Null).unwrap();
    }
}
