//! The `session` service: start, inspect and end Kaltura Sessions on the server.
//!
//! The client creates its own admin KS locally (see [`Client`]); these calls are for
//! server-side sessions — a KS for a user, a widget KS, or checking what a KS allows.
//!
//! Like every service, the actions that take options return a [`RequestBuilder`] finished
//! with `.send()`. The session options (user, type, expiry, privileges) are one
//! [`SessionOptions`] value, shared with [`appToken.startSession`](crate::services::app_token)
//! and [`Credentials::AppToken`](crate::Credentials::AppToken); their setters are defined
//! once, for every request that implements [`WithSessionOptions`].

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::client::{Client, duration_secs};
use crate::error::{Error, Result};
use crate::ids::{PartnerId, UserId};
use crate::ks::{Ks, SessionType};
use crate::request::{KalturaRequest, RequestBuilder};
use crate::types::{SessionInfo, SessionOptions, StartWidgetSessionResponse};

const SERVICE: &str = "session";

impl Client {
    /// The `session` service.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use kaltura_client::ks::SessionType;
    ///
    /// # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
    /// // A one-hour USER session for a Discord member, signed by Kaltura.
    /// let ks = client
    ///     .session()
    ///     .start()
    ///     .user_id("discord_42")
    ///     .session_type(SessionType::User)
    ///     .expiry(Duration::from_secs(3600))
    ///     .privileges("sview:0_abc123")
    ///     .send()
    ///     .await?;
    /// let info = client.session().get(&ks).await?;
    /// assert_eq!(info.user_id.as_ref().map(|u| u.as_str()), Some("discord_42"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn session(&self) -> SessionHandler<'_> {
        SessionHandler { client: self }
    }
}

/// Handler of the `session` service; see [`Client::session`].
#[derive(Debug, Clone, Copy)]
pub struct SessionHandler<'c> {
    client: &'c Client,
}

/// Builder of `session.start`.
pub type StartSessionBuilder<'c> = RequestBuilder<'c, StartSessionRequest>;
/// Builder of `session.startWidgetSession`.
pub type StartWidgetSessionBuilder<'c> = RequestBuilder<'c, StartWidgetSessionRequest>;

impl<'c> SessionHandler<'c> {
    /// `session.start`: a KS signed by Kaltura, with the client's admin secret and partner
    /// id unless [`secret`](RequestBuilder::secret) / [`partner_id`](RequestBuilder::partner_id)
    /// give others (e.g. the partner's user secret for a USER session). Never retried after
    /// it may have reached the server.
    pub fn start(&self) -> StartSessionBuilder<'c> {
        RequestBuilder::new(
            self.client,
            StartSessionRequest {
                secret: self.client.admin_secret().cloned(),
                partner_id: self.client.partner_id(),
                options: SessionOptions::default(),
            },
        )
    }

    /// `session.get`: what Kaltura knows about `ks`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with `INVALID_KS` if Kaltura refuses `ks`; see [`Client::send`].
    pub async fn get(&self, ks: &Ks) -> Result<SessionInfo> {
        self.client.send(GetSessionRequest::new(ks.clone())).await
    }

    /// `session.get` for the KS the client sends (its managed KS, or the one set with
    /// [`Client::with_ks`]).
    ///
    /// # Errors
    ///
    /// See [`Client::send`].
    pub async fn get_current(&self) -> Result<SessionInfo> {
        self.client.send(GetSessionRequest::default()).await
    }

    /// `session.end`: invalidates the KS the client sends. If that is the client's managed
    /// KS, the next call creates a new one.
    ///
    /// # Errors
    ///
    /// See [`Client::send`].
    pub async fn end(&self) -> Result<()> {
        self.client.send(EndSessionRequest).await?;
        self.client.forget_managed_ks().await;
        Ok(())
    }

    /// `session.startWidgetSession`: an anonymous view-only KS for a widget, by default the
    /// partner's own widget `_{partnerId}`. Needs no credentials.
    pub fn start_widget_session(&self) -> StartWidgetSessionBuilder<'c> {
        let widget_id = self
            .client
            .partner_id()
            .map(|partner_id| format!("_{partner_id}"))
            .unwrap_or_default();
        RequestBuilder::new(self.client, StartWidgetSessionRequest::new(widget_id))
    }
}

/// A request that starts a session with [`SessionOptions`]; gives its [`RequestBuilder`]
/// the option setters ([`user_id`](RequestBuilder::user_id),
/// [`session_type`](RequestBuilder::session_type), [`expiry`](RequestBuilder::expiry),
/// [`privileges`](RequestBuilder::privileges), [`options`](RequestBuilder::options)).
pub trait WithSessionOptions {
    /// The options, to change them.
    fn session_options_mut(&mut self) -> &mut SessionOptions;
}

impl<R: WithSessionOptions> RequestBuilder<'_, R> {
    /// Replaces every session option.
    pub fn options(self, options: SessionOptions) -> Self {
        self.map_request(|r| *r.session_options_mut() = options)
    }

    /// The session's user id.
    pub fn user_id(self, user_id: impl Into<UserId>) -> Self {
        let user_id = user_id.into();
        self.map_request(|r| r.session_options_mut().user_id = Some(user_id))
    }

    /// USER or ADMIN (Kaltura's default is USER; an app token's own type wins).
    pub fn session_type(self, session_type: SessionType) -> Self {
        self.map_request(|r| r.session_options_mut().session_type = Some(session_type))
    }

    /// Requested lifetime (Kaltura's default is 24 h, capped by the partner's maximum or the
    /// app token's session duration).
    pub fn expiry(self, expiry: Duration) -> Self {
        self.map_request(|r| r.session_options_mut().expiry = Some(expiry))
    }

    /// Privileges, as Kaltura's string (`sview:0_abc,privacycontext:x`) or a
    /// [`Privileges`](crate::ks::Privileges) value.
    pub fn privileges(self, privileges: impl fmt::Display) -> Self {
        let privileges = privileges.to_string();
        self.map_request(|r| r.session_options_mut().privileges = Some(privileges))
    }
}

impl RequestBuilder<'_, StartSessionRequest> {
    /// The secret to sign with (default: the client's admin secret).
    pub fn secret(self, secret: impl Into<SecretString>) -> Self {
        let secret = secret.into();
        self.map_request(|r| r.secret = Some(secret))
    }

    /// The partner (default: the client's partner id).
    pub fn partner_id(self, partner_id: impl Into<PartnerId>) -> Self {
        let partner_id = partner_id.into();
        self.map_request(|r| r.partner_id = Some(partner_id))
    }
}

impl RequestBuilder<'_, StartWidgetSessionRequest> {
    /// The widget (default `_{partnerId}`).
    pub fn widget_id(self, widget_id: impl Into<String>) -> Self {
        let widget_id = widget_id.into();
        self.map_request(|r| r.widget_id = widget_id)
    }

    /// Lifetime of the widget KS (Kaltura's default is 24 h).
    pub fn expiry(self, expiry: Duration) -> Self {
        self.map_request(|r| r.expiry = Some(expiry))
    }
}

/// `session.start` as data. The result is the KS.
#[derive(Clone)]
#[non_exhaustive]
pub struct StartSessionRequest {
    /// The admin (or user) secret; sent in the body, never shown by `Debug`. Required.
    pub secret: Option<SecretString>,
    /// The partner. Required.
    pub partner_id: Option<PartnerId>,
    /// User, type, lifetime and privileges.
    pub options: SessionOptions,
}

impl StartSessionRequest {
    /// A `session.start` for `partner_id` signed with `secret`, all else default.
    pub fn new(partner_id: impl Into<PartnerId>, secret: impl Into<SecretString>) -> Self {
        StartSessionRequest {
            secret: Some(secret.into()),
            partner_id: Some(partner_id.into()),
            options: SessionOptions::default(),
        }
    }
}

impl WithSessionOptions for StartSessionRequest {
    fn session_options_mut(&mut self) -> &mut SessionOptions {
        &mut self.options
    }
}

impl fmt::Debug for StartSessionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartSessionRequest")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("partner_id", &self.partner_id)
            .field("options", &self.options)
            .finish()
    }
}

impl KalturaRequest for StartSessionRequest {
    type Output = Ks;

    fn service(&self) -> &str {
        SERVICE
    }

    fn action(&self) -> &str {
        "start"
    }

    /// # Errors
    ///
    /// [`Error::Build`] without a secret (none given and no admin secret configured) or
    /// without a partner id.
    fn params(&self) -> Result<Map<String, Value>> {
        let missing = |what: &str| Error::Build {
            service: SERVICE.into(),
            action: "start".into(),
            message: format!("{what} (configure the client with it or set it on the builder)"),
        };
        let secret = self.secret.as_ref().ok_or_else(|| missing("no secret"))?;
        let partner_id = self.partner_id.ok_or_else(|| missing("no partner id"))?;
        let mut params = Map::new();
        params.insert(
            "secret".into(),
            Value::String(secret.expose_secret().to_owned()),
        );
        params.insert("partnerId".into(), Value::from(partner_id.get()));
        self.options.write_params(&mut params, "privileges");
        Ok(params)
    }

    fn needs_ks(&self) -> bool {
        false
    }
}

/// `session.get` as data.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GetSessionRequest {
    /// The KS to inspect; `None` inspects the KS the call is sent with.
    pub session: Option<Ks>,
}

impl GetSessionRequest {
    /// Inspects `ks`.
    pub fn new(ks: Ks) -> Self {
        GetSessionRequest { session: Some(ks) }
    }
}

impl KalturaRequest for GetSessionRequest {
    type Output = SessionInfo;

    fn service(&self) -> &str {
        SERVICE
    }

    fn action(&self) -> &str {
        "get"
    }

    fn params(&self) -> Result<Map<String, Value>> {
        let mut params = Map::new();
        if let Some(ks) = &self.session {
            params.insert(
                "session".into(),
                Value::String(ks.expose_secret().to_owned()),
            );
        }
        Ok(params)
    }
}

/// `session.end` as data: ends the KS the call is sent with.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct EndSessionRequest;

impl KalturaRequest for EndSessionRequest {
    type Output = ();

    fn service(&self) -> &str {
        SERVICE
    }

    fn action(&self) -> &str {
        "end"
    }

    fn params(&self) -> Result<Map<String, Value>> {
        Ok(Map::new())
    }
}

/// `session.startWidgetSession` as data.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StartWidgetSessionRequest {
    /// The widget, e.g. `_12345`.
    pub widget_id: String,
    /// Lifetime.
    pub expiry: Option<Duration>,
}

impl StartWidgetSessionRequest {
    /// A widget session for `widget_id`.
    pub fn new(widget_id: impl Into<String>) -> Self {
        StartWidgetSessionRequest {
            widget_id: widget_id.into(),
            expiry: None,
        }
    }
}

impl KalturaRequest for StartWidgetSessionRequest {
    type Output = StartWidgetSessionResponse;

    fn service(&self) -> &str {
        SERVICE
    }

    fn action(&self) -> &str {
        "startWidgetSession"
    }

    /// # Errors
    ///
    /// [`Error::Build`] if the widget id is empty (none given and no partner id to default
    /// it to).
    fn params(&self) -> Result<Map<String, Value>> {
        if self.widget_id.is_empty() {
            return Err(Error::Build {
                service: SERVICE.into(),
                action: "startWidgetSession".into(),
                message: "no widget id, and no partner id to default it to".into(),
            });
        }
        let mut params = Map::new();
        params.insert("widgetId".into(), Value::String(self.widget_id.clone()));
        if let Some(expiry) = self.expiry {
            params.insert("expiry".into(), Value::from(duration_secs(expiry)));
        }
        Ok(params)
    }

    fn needs_ks(&self) -> bool {
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn start_session_params() {
        let mut request = StartSessionRequest::new(12345, "abcdef0123456789abcdef0123456789");
        request.options = SessionOptions::new()
            .user_id("discord_42")
            .session_type(SessionType::User)
            .expiry(Duration::from_secs(86_400))
            .privileges("privacycontext:abc");
        let params = Value::Object(request.params().unwrap());
        assert_eq!(
            params,
            serde_json::json!({
                "secret": "abcdef0123456789abcdef0123456789",
                "partnerId": 12345,
                "userId": "discord_42",
                "type": 0,
                "expiry": 86400,
                "privileges": "privacycontext:abc",
            })
        );
        assert!(!request.needs_ks());
        assert!(!request.is_read_only());
        assert!(!format!("{request:?}").contains("abcdef0123456789"));
    }

    #[test]
    fn start_session_without_secret_or_partner_is_a_build_error() {
        let mut request = StartSessionRequest::new(1, "s");
        request.secret = None;
        let err = request.params().unwrap_err();
        assert!(
            matches!(&err, Error::Build { message, .. } if message.starts_with("no secret")),
            "{err:?}"
        );
        let mut request = StartSessionRequest::new(1, "s");
        request.partner_id = None;
        let err = request.params().unwrap_err();
        assert!(
            matches!(&err, Error::Build { message, .. } if message.starts_with("no partner id")),
            "{err:?}"
        );
    }

    #[test]
    fn get_and_widget_params() {
        let get = GetSessionRequest::new(Ks::new("djJ8a3M="));
        assert_eq!(get.params().unwrap()["session"], "djJ8a3M=");
        assert!(get.is_read_only());
        assert!(GetSessionRequest::default().params().unwrap().is_empty());
        let widget = StartWidgetSessionRequest::new("_12345");
        assert_eq!(widget.params().unwrap()["widgetId"], "_12345");
        assert!(!widget.needs_ks());
        let err = StartWidgetSessionRequest::new("").params().unwrap_err();
        assert!(matches!(err, Error::Build { .. }), "{err:?}");
    }
}
