//! The `session` service: start, inspect and end Kaltura Sessions on the server.
//!
//! The client creates its own admin KS locally (see [`Client`]); these calls are for
//! server-side sessions — a KS for a user, a widget KS, or checking what a KS allows.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::client::{Client, duration_secs};
use crate::error::{Error, Result};
use crate::ids::{PartnerId, UserId};
use crate::ks::{Ks, SessionType};
use crate::request::KalturaRequest;
use crate::types::{SessionInfo, StartWidgetSessionResponse};

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

impl<'c> SessionHandler<'c> {
    /// `session.start`: a KS signed by Kaltura. Uses the client's admin secret unless
    /// [`StartSessionBuilder::secret`] gives another (e.g. the partner's user secret for a
    /// USER session). Never retried after it may have reached the server.
    pub fn start(&self) -> StartSessionBuilder<'c> {
        StartSessionBuilder {
            client: self.client,
            secret: None,
            partner_id: None,
            user_id: None,
            session_type: None,
            expiry: None,
            privileges: None,
        }
    }

    /// `session.get`: what Kaltura knows about `ks`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with `INVALID_KS` if Kaltura refuses `ks`; see [`Client::send`].
    pub async fn get(&self, ks: &Ks) -> Result<SessionInfo> {
        self.client
            .send(GetSessionRequest {
                session: Some(ks.clone()),
            })
            .await
    }

    /// `session.get` for the KS the client sends (its managed KS, or the one set with
    /// [`Client::with_ks`]).
    ///
    /// # Errors
    ///
    /// See [`Client::send`].
    pub async fn get_current(&self) -> Result<SessionInfo> {
        self.client.send(GetSessionRequest { session: None }).await
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
        StartWidgetSessionBuilder {
            client: self.client,
            widget_id: None,
            expiry: None,
        }
    }
}

/// Builder of `session.start`; see [`SessionHandler::start`].
#[must_use]
pub struct StartSessionBuilder<'c> {
    client: &'c Client,
    secret: Option<SecretString>,
    partner_id: Option<PartnerId>,
    user_id: Option<UserId>,
    session_type: Option<SessionType>,
    expiry: Option<Duration>,
    privileges: Option<String>,
}

impl fmt::Debug for StartSessionBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartSessionBuilder")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("partner_id", &self.partner_id)
            .field("user_id", &self.user_id)
            .field("session_type", &self.session_type)
            .field("expiry", &self.expiry)
            .field("privileges", &self.privileges)
            .finish_non_exhaustive()
    }
}

impl StartSessionBuilder<'_> {
    /// The secret to sign with (default: the client's admin secret).
    pub fn secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// The partner (default: the client's partner id).
    pub fn partner_id(mut self, partner_id: impl Into<PartnerId>) -> Self {
        self.partner_id = Some(partner_id.into());
        self
    }

    /// The session's user id.
    pub fn user_id(mut self, user_id: impl Into<UserId>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// USER or ADMIN (Kaltura's default is USER).
    pub fn session_type(mut self, session_type: SessionType) -> Self {
        self.session_type = Some(session_type);
        self
    }

    /// Lifetime (Kaltura's default is 24 h, capped by the partner's maximum).
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// Privileges, as Kaltura's string (`sview:0_abc,privacycontext:x`) or a
    /// [`Privileges`](crate::ks::Privileges) value.
    pub fn privileges(mut self, privileges: impl fmt::Display) -> Self {
        self.privileges = Some(privileges.to_string());
        self
    }

    /// The request this builder sends, with the client's defaults filled in.
    ///
    /// # Errors
    ///
    /// [`Error::Build`] without a secret (none given and no admin secret configured) or
    /// without a partner id.
    pub fn into_request(self) -> Result<StartSessionRequest> {
        let missing = |what: &str| Error::Build {
            service: "session".into(),
            action: "start".into(),
            message: format!("{what} (configure the client with it or set it on the builder)"),
        };
        let secret = match self.secret {
            Some(secret) => secret,
            None => self
                .client
                .admin_secret()
                .cloned()
                .ok_or_else(|| missing("no secret"))?,
        };
        let partner_id = self
            .partner_id
            .or_else(|| self.client.partner_id())
            .ok_or_else(|| missing("no partner id"))?;
        Ok(StartSessionRequest {
            secret,
            partner_id,
            user_id: self.user_id,
            session_type: self.session_type,
            expiry: self.expiry,
            privileges: self.privileges,
        })
    }

    /// Sends the call.
    ///
    /// # Errors
    ///
    /// As [`StartSessionBuilder::into_request`]; [`Error::Api`] with `START_SESSION_ERROR`
    /// for a wrong secret; see [`Client::send`].
    pub async fn send(self) -> Result<Ks> {
        let client = self.client;
        let request = self.into_request()?;
        client.send(request).await.map(Ks::new)
    }
}

/// `session.start` as data. The result is the KS string.
#[derive(Clone)]
#[non_exhaustive]
pub struct StartSessionRequest {
    /// The admin (or user) secret; sent in the body, never shown by `Debug`.
    pub secret: SecretString,
    /// The partner.
    pub partner_id: PartnerId,
    /// The session's user id.
    pub user_id: Option<UserId>,
    /// USER or ADMIN.
    pub session_type: Option<SessionType>,
    /// Lifetime.
    pub expiry: Option<Duration>,
    /// Privileges string.
    pub privileges: Option<String>,
}

impl StartSessionRequest {
    /// A `session.start` for `partner_id` signed with `secret`, all else default.
    pub fn new(partner_id: impl Into<PartnerId>, secret: impl Into<SecretString>) -> Self {
        StartSessionRequest {
            secret: secret.into(),
            partner_id: partner_id.into(),
            user_id: None,
            session_type: None,
            expiry: None,
            privileges: None,
        }
    }
}

impl fmt::Debug for StartSessionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartSessionRequest")
            .field("secret", &"[REDACTED]")
            .field("partner_id", &self.partner_id)
            .field("user_id", &self.user_id)
            .field("session_type", &self.session_type)
            .field("expiry", &self.expiry)
            .field("privileges", &self.privileges)
            .finish()
    }
}

impl KalturaRequest for StartSessionRequest {
    type Output = String;

    fn service(&self) -> &str {
        "session"
    }

    fn action(&self) -> &str {
        "start"
    }

    fn params(&self) -> Result<Map<String, Value>> {
        let mut params = Map::new();
        params.insert(
            "secret".into(),
            Value::String(self.secret.expose_secret().to_owned()),
        );
        params.insert("partnerId".into(), Value::from(self.partner_id.get()));
        if let Some(user_id) = &self.user_id {
            params.insert("userId".into(), Value::String(user_id.to_string()));
        }
        if let Some(session_type) = self.session_type {
            params.insert("type".into(), Value::from(session_type.as_i64()));
        }
        if let Some(expiry) = self.expiry {
            params.insert("expiry".into(), Value::from(duration_secs(expiry)));
        }
        if let Some(privileges) = &self.privileges {
            params.insert("privileges".into(), Value::String(privileges.clone()));
        }
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
        "session"
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
        "session"
    }

    fn action(&self) -> &str {
        "end"
    }

    fn params(&self) -> Result<Map<String, Value>> {
        Ok(Map::new())
    }
}

/// Builder of `session.startWidgetSession`; see [`SessionHandler::start_widget_session`].
#[derive(Debug)]
#[must_use]
pub struct StartWidgetSessionBuilder<'c> {
    client: &'c Client,
    widget_id: Option<String>,
    expiry: Option<Duration>,
}

impl StartWidgetSessionBuilder<'_> {
    /// The widget (default `_{partnerId}`).
    pub fn widget_id(mut self, widget_id: impl Into<String>) -> Self {
        self.widget_id = Some(widget_id.into());
        self
    }

    /// Lifetime of the widget KS (Kaltura's default is 24 h).
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// The request this builder sends.
    ///
    /// # Errors
    ///
    /// [`Error::Build`] if no widget id is given and the client has no partner id.
    pub fn into_request(self) -> Result<StartWidgetSessionRequest> {
        let widget_id = match self.widget_id {
            Some(widget_id) => widget_id,
            None => match self.client.partner_id() {
                Some(partner_id) => format!("_{partner_id}"),
                None => {
                    return Err(Error::Build {
                        service: "session".into(),
                        action: "startWidgetSession".into(),
                        message: "no widget id, and no partner id to default it to".into(),
                    });
                }
            },
        };
        Ok(StartWidgetSessionRequest {
            widget_id,
            expiry: self.expiry,
        })
    }

    /// Sends the call.
    ///
    /// # Errors
    ///
    /// As [`StartWidgetSessionBuilder::into_request`]; see [`Client::send`].
    pub async fn send(self) -> Result<StartWidgetSessionResponse> {
        let client = self.client;
        let request = self.into_request()?;
        client.send(request).await
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
        "session"
    }

    fn action(&self) -> &str {
        "startWidgetSession"
    }

    fn params(&self) -> Result<Map<String, Value>> {
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
mod tests {
    use super::*;

    #[test]
    fn start_session_params() {
        let mut request = StartSessionRequest::new(12345, "abcdef0123456789abcdef0123456789");
        request.user_id = Some("discord_42".into());
        request.session_type = Some(SessionType::User);
        request.expiry = Some(Duration::from_secs(86_400));
        request.privileges = Some("privacycontext:abc".into());
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
    fn get_and_widget_params() {
        let get = GetSessionRequest::new(Ks::new("djJ8a3M="));
        assert_eq!(get.params().unwrap()["session"], "djJ8a3M=");
        assert!(get.is_read_only());
        assert!(GetSessionRequest::default().params().unwrap().is_empty());
        let widget = StartWidgetSessionRequest::new("_12345");
        assert_eq!(widget.params().unwrap()["widgetId"], "_12345");
        assert!(!widget.needs_ks());
    }
}
