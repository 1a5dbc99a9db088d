//! The `appToken` service: KS from an application token instead of the admin secret.
//!
//! `appToken.startSession` proves knowledge of the token without sending it: the caller
//! first gets a widget KS (`session.startWidgetSession`), then sends
//! `tokenHash = hex(hash(widgetKs ‖ token))` with that widget KS as `ks`.
//!
//! [`AppTokenHandler::start_session`] returns a [`RequestBuilder`] like every other action;
//! its `.send()` makes both calls. The session options are the shared
//! [`SessionOptions`] (sent as `userId`, `type`, `expiry` and `sessionPrivileges`).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::Result;
use crate::ids::AppTokenId;
use crate::ks::Ks;
use crate::request::{KalturaRequest, RequestBuilder};
use crate::services::session::WithSessionOptions;
use crate::types::{AppTokenHashType, SessionInfo, SessionOptions};

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

/// Builder of `appToken.startSession` (with the `session.startWidgetSession` before it).
pub type AppTokenStartSessionBuilder<'c> = RequestBuilder<'c, AppTokenSessionStart>;

impl<'c> AppTokenHandler<'c> {
    /// `appToken.startSession` for token `id` with secret `token`. Clients configured with
    /// [`Credentials::AppToken`](crate::Credentials::AppToken) do this by themselves.
    pub fn start_session(
        &self,
        id: impl Into<AppTokenId>,
        token: impl Into<SecretString>,
    ) -> AppTokenStartSessionBuilder<'c> {
        RequestBuilder::new(self.client, AppTokenSessionStart::new(id, token))
    }
}

/// What starting an app-token session needs before the widget KS is known: the token, its
/// hash type and the [`SessionOptions`]. Not a single call (so it cannot go into a
/// multirequest); its builder's `send()` makes the two calls.
#[derive(Clone)]
#[non_exhaustive]
pub struct AppTokenSessionStart {
    /// The token id (`appToken.id`).
    pub id: AppTokenId,
    /// The token itself (`appToken.token`); never sent, only hashed. `Debug` redacts it.
    pub token: SecretString,
    /// The hash type the token was created with (default SHA-1).
    pub hash_type: AppTokenHashType,
    /// User, type, lifetime and privileges (the token's own settings win).
    pub options: SessionOptions,
}

impl AppTokenSessionStart {
    /// A session for token `id` with secret `token`, SHA-1, no options.
    pub fn new(id: impl Into<AppTokenId>, token: impl Into<SecretString>) -> Self {
        AppTokenSessionStart {
            id: id.into(),
            token: token.into(),
            hash_type: AppTokenHashType::default(),
            options: SessionOptions::default(),
        }
    }

    /// The `appToken.startSession` request for a widget KS `ks`.
    pub fn request_for(&self, ks: Ks) -> AppTokenStartSessionRequest {
        let token_hash = self
            .hash_type
            .token_hash(ks.expose_secret(), self.token.expose_secret());
        AppTokenStartSessionRequest {
            id: self.id.clone(),
            token_hash,
            ks,
            options: self.options.clone(),
        }
    }
}

impl fmt::Debug for AppTokenSessionStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppTokenSessionStart")
            .field("id", &self.id)
            .field("token", &"[REDACTED]")
            .field("hash_type", &self.hash_type)
            .field("options", &self.options)
            .finish()
    }
}

impl WithSessionOptions for AppTokenSessionStart {
    fn session_options_mut(&mut self) -> &mut SessionOptions {
        &mut self.options
    }
}

impl RequestBuilder<'_, AppTokenSessionStart> {
    /// The hash type the token was created with (default SHA-1).
    pub fn hash_type(self, hash_type: AppTokenHashType) -> Self {
        self.map_request(|r| r.hash_type = hash_type)
    }

    /// Gets a widget KS, then starts the app-token session with it.
    ///
    /// # Errors
    ///
    /// Errors of either call; `APP_TOKEN_ID_NOT_FOUND`, `INVALID_APP_TOKEN_HASH`… as
    /// [`Error::Api`](crate::Error::Api).
    pub async fn send(self) -> Result<SessionInfo> {
        let (client, start) = self.into_parts();
        let widget = client.session().start_widget_session().send().await?;
        client.send(start.request_for(widget.ks)).await
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
    /// User, type, lifetime and privileges (`sessionPrivileges` on the wire).
    pub options: SessionOptions,
}

impl AppTokenStartSessionRequest {
    /// Starts a session for token `id`, proven by `token_hash` computed over `ks`.
    pub fn new(id: impl Into<AppTokenId>, token_hash: impl Into<String>, ks: Ks) -> Self {
        AppTokenStartSessionRequest {
            id: id.into(),
            token_hash: token_hash.into(),
            ks,
            options: SessionOptions::default(),
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
        self.options.write_params(&mut params, "sessionPrivileges");
        Ok(params)
    }

    /// The call carries its own (widget) KS in its parameters.
    fn needs_ks(&self) -> bool {
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ks::SessionType;

    #[test]
    fn start_session_params_use_session_privileges() {
        let mut start = AppTokenSessionStart::new("0_tok", "the-token");
        start.hash_type = AppTokenHashType::Sha256;
        start.options = SessionOptions::new()
            .user_id("bot")
            .session_type(SessionType::Admin)
            .expiry(std::time::Duration::from_secs(600))
            .privileges("privacycontext:x");
        let request = start.request_for(Ks::new("widget-ks"));
        assert_eq!(
            request.token_hash,
            AppTokenHashType::Sha256.token_hash("widget-ks", "the-token")
        );
        assert_eq!(
            Value::Object(request.params().unwrap()),
            serde_json::json!({
                "id": "0_tok",
                "tokenHash": request.token_hash,
                "ks": "widget-ks",
                "userId": "bot",
                "type": 2,
                "expiry": 600,
                "sessionPrivileges": "privacycontext:x",
            })
        );
        assert!(!request.needs_ks());
        assert!(!format!("{start:?}").contains("the-token"));
    }
}
