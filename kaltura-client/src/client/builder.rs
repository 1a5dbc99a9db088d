//! [`ClientBuilder`]: the client's settings, checked by [`ClientBuilder::build`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{
    AdminKsOptions, Client, Credentials, DEFAULT_ADMIN_KS_EXPIRY, DEFAULT_ADMIN_KS_PRIVILEGES,
    DEFAULT_CLIENT_TAG, DEFAULT_SERVICE_URL, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, Inner,
};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::ids::{AppTokenId, PartnerId, UserId};
use crate::ks::{Ks, KsVersion, Privileges};
use crate::retry::RetryPolicy;

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
    ///
    /// This is the one place the HTTP library appears in the public API, on purpose: a host
    /// application shares its own pool and proxy/TLS settings. Transport failures still come
    /// back as the opaque [`TransportError`](crate::client::TransportError).
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

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
}
