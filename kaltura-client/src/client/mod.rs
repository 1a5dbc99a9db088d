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
//! 4. the response is checked in this order: HTTP status ([`Error::Http`](crate::Error::Http)), JSON
//!    ([`Error::NotJson`](crate::Error::NotJson)), `KalturaAPIException` ([`Error::Api`](crate::Error::Api)), then decoded into the
//!    request's output ([`Error::Decode`](crate::Error::Decode), with the JSON path of the failing field);
//! 5. failures are retried as [`crate::retry`] decides, sleeping between attempts.
//!
//! Secrets (admin secret, app token, every KS) never appear in `Debug` output, logs or
//! errors: the body snippets and API error messages the server sends back are scrubbed of
//! the KS and secret that were sent.
//!
//! The module is split by concern:
//!
//! * `builder` — [`ClientBuilder`]: settings, validation of the service URL and credentials;
//! * `credentials` — [`Credentials`]: how the client authenticates (redacted `Debug`);
//! * `session` — the managed KS: the self-signed ADMIN KS or the app-token session, cached
//!   and renewed before it expires, kept when a renewal fails while it is still valid;
//! * `transport` — one call on the wire: body, HTTP send, response classification, retries,
//!   scrubbing of secrets, and [`TransportError`], the opaque HTTP failure.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::Result;
use crate::ids::PartnerId;
use crate::ks::Ks;
use crate::multirequest::MultiRequest;
use crate::request::{KalturaRequest, RawRequest, validate_names};
use crate::retry::RetryPolicy;

mod builder;
mod credentials;
mod session;
mod transport;

pub use builder::ClientBuilder;
pub use credentials::Credentials;
pub(crate) use session::duration_secs;
use session::{AdminKsOptions, CachedKs};
pub use transport::TransportError;
pub(crate) use transport::{Call, api_error, decode_value, snippet};

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

/// Placeholder printed instead of a secret.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
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
/// returned as [`Error::Api`](crate::Error::Api). A fixed KS is never renewed or retried.
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
    /// [`Error::Ks`](crate::Error::Ks) if the admin KS cannot be generated; any error of
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
    /// See [`Error`](crate::Error); every variant says whether the request may have been sent.
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
    /// [`Error::Build`](crate::Error::Build) if `service` or `action` is not `[A-Za-z0-9_]+` or `params` is not an
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
}
