//! The `appToken` service: KS from an application token instead of the admin secret.
//!
//! `appToken.startSession` proves knowledge of the token without sending it: the caller
//! first gets a widget KS (`session.startWidgetSession`), then sends
//! `tokenHash = hex(hash(widgetKs ‖ token))` with that widget KS as `ks`.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::client::{Client, duration_secs};
use crate::error::Result;
use crate::ids::{AppTokenId, UserId};
use crate::ks::{Ks, SessionType};
use crate::request::KalturaRequest;
use crate::types::{AppTokenHashType, SessionInfo};

impl Client {
    /// The `appToken` service.
    ///
    /// ```no_run
    /// use kaltura_client::types::AppTokenHashType;
    ///
    /// # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
    /// let info = client
    ///     .app_token()
    ///     .start_session("0_token_id", std::env::var("KALTURA_APP_TOKEN").unwrap_or_default())
    ///     .hash_type(AppTokenHashType::Sha256)
    ///     .user_id("discord-bot")
    ///     .send()
    ///     .await?;
    /// let bot = client.with_ks(info.ks);
    /// # Ok(())
    /// # }
    /// ```
    pub fn app_token(&self) -> AppTokenHandler<'_> {
        AppTokenHandler { client: self }
    }
}

/// Handler of the `appToken` service; see [`Client::app_token`].
#[derive(Debug, Clone, Copy)]
pub struct AppTokenHandler<'c> {
    client: &'c Client,
}

impl<'c> AppTokenHandler<'c> {
    /// `appToken.startSession` for token `id` with secret `token`. Clients configured with
    /// [`Credentials::AppToken`](crate::Credentials::AppToken) do this by themselves.
    pub fn start_session(
        &self,
        id: impl Into<AppTokenId>,
        token: impl Into<SecretString>,
    ) -> AppTokenStartSessionBuilder<'c> {
        AppTokenStartSessionBuilder {
            client: self.client,
            id: id.into(),
            token: token.into(),
            hash_type: AppTokenHashType::default(),
            user_id: None,
            session_type: None,
            expiry: None,
            session_privileges: None,
        }
    }
}

/// Builder of `appToken.startSession`; see [`AppTokenHandler::start_session`].
#[must_use]
pub struct AppTokenStartSessionBuilder<'c> {
    client: &'c Client,
    id: AppTokenId,
    token: SecretString,
    hash_type: AppTokenHashType,
    user_id: Option<UserId>,
    session_type: Option<SessionType>,
    expiry: Option<Duration>,
    session_privileges: Option<String>,
}

impl fmt::Debug for AppTokenStartSessionBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppTokenStartSessionBuilder")
            .field("id", &self.id)
            .field("token", &"[REDACTED]")
            .field("hash_type", &self.hash_type)
            .field("user_id", &self.user_id)
            .field("session_type", &self.session_type)
            .field("expiry", &self.expiry)
            .field("session_privileges", &self.session_privileges)
            .finish_non_exhaustive()
    }
}

impl AppTokenStartSessionBuilder<'_> {
    /// The hash type the token was created with (default SHA-1).
    pub fn hash_type(mut self, hash_type: AppTokenHashType) -> Self {
        self.hash_type = hash_type;
        self
    }

    /// The session's user id (ignored if the token defines one).
    pub fn user_id(mut self, user_id: impl Into<UserId>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The session type (ignored if the token defines one).
    pub fn session_type(mut self, session_type: SessionType) -> Self {
        self.session_type = Some(session_type);
        self
    }

    /// Requested lifetime (capped by the token's session duration and expiry).
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// Requested privileges, as Kaltura's string or a
    /// [`Privileges`](crate::ks::Privileges) value.
    pub fn session_privileges(mut self, privileges: impl fmt::Display) -> Self {
        self.session_privileges = Some(privileges.to_string());
        self
    }

    /// Gets a widget KS, then starts the app-token session with it.
    ///
    /// # Errors
    ///
    /// Errors of either call; `APP_TOKEN_ID_NOT_FOUND`, `INVALID_APP_TOKEN_HASH`… as
    /// [`Error::Api`](crate::Error::Api).
    pub async fn send(self) -> Result<SessionInfo> {
        let widget = self.client.session().start_widget_session().send().await?;
        let token_hash = self
            .hash_type
            .token_hash(widget.ks.expose_secret(), self.token.expose_secret());
        let request = AppTokenStartSessionRequest {
            id: self.id,
            token_hash,
            ks: widget.ks,
            user_id: self.user_id,
            session_type: self.session_type,
            expiry: self.expiry,
            session_privileges: self.session_privileges,
        };
        self.client.send(request).await
    }
}

/// `appToken.startSession` as data, once the token hash is computed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AppTokenStartSessionRequest {
    /// The token id.
    pub id: AppTokenId,
    /// `hex(hash(ks ‖ token))`, see [`AppTokenHashType::token_hash`].
    pub token_hash: String,
    /// The KS the hash was computed with, sent as this call's `ks`.
    pub ks: Ks,
    /// The session's user id.
    pub user_id: Option<UserId>,
    /// The session type.
    pub session_type: Option<SessionType>,
    /// Requested lifetime.
    pub expiry: Option<Duration>,
    /// Requested privileges.
    pub session_privileges: Option<String>,
}

impl AppTokenStartSessionRequest {
    /// Starts a session for token `id`, proven by `token_hash` computed over `ks`.
    pub fn new(id: impl Into<AppTokenId>, token_hash: impl Into<String>, ks: Ks) -> Self {
        AppTokenStartSessionRequest {
            id: id.into(),
            token_hash: token_hash.into(),
            ks,
            user_id: None,
            session_type: None,
            expiry: None,
            session_privileges: None,
        }
    }
}

impl KalturaRequest for AppTokenStartSessionRequest {
    type Output = SessionInfo;

    fn service(&self) -> &str {
        "appToken"
    }

    fn action(&self) -> &str {
        "startSession"
    }

    fn params(&self) -> Result<Map<String, Value>> {
        let mut params = Map::new();
        params.insert("id".into(), Value::String(self.id.to_string()));
        params.insert("tokenHash".into(), Value::String(self.token_hash.clone()));
        params.insert(
            "ks".into(),
            Value::String(self.ks.expose_secret().to_owned()),
        );
        if let Some(user_id) = &self.user_id {
            params.insert("userId".into(), Value::String(user_id.to_string()));
        }
        if let Some(session_type) = self.session_type {
            params.insert("type".into(), Value::from(session_type.as_i64()));
        }
        if let Some(expiry) = self.expiry {
            params.insert("expiry".into(), Value::from(duration_secs(expiry)));
        }
        if let Some(privileges) = &self.session_privileges {
            params.insert(
                "sessionPrivileges".into(),
                Value::String(privileges.clone()),
            );
        }
        Ok(params)
    }

    /// The call carries its own (widget) KS in its parameters.
    fn needs_ks(&self) -> bool {
        false
    }
}
