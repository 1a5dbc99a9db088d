//! Models of the `session` service (`KalturaSessionInfo`, `KalturaStartWidgetSessionResponse`)
//! and the options every way of starting a session shares ([`SessionOptions`]).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::duration_secs;
use crate::ids::{PartnerId, UserId};
use crate::ks::{Ks, SessionType};

/// What a new session asks for: user, type, lifetime and privileges — the same four options
/// for `session.start`, `appToken.startSession` and a client's
/// [`Credentials::AppToken`](crate::Credentials::AppToken). Unset options are left to Kaltura
/// (USER session, 24 h, no privileges; an app token's own settings win over these).
///
/// ```
/// use std::time::Duration;
/// use kaltura_client::ks::SessionType;
/// use kaltura_client::types::SessionOptions;
///
/// let options = SessionOptions::new()
///     .user_id("discord_42")
///     .session_type(SessionType::User)
///     .expiry(Duration::from_secs(3600))
///     .privileges("sview:0_abc123");
/// assert_eq!(options.expiry, Some(Duration::from_secs(3600)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// The session's user id (`userId`).
    pub user_id: Option<UserId>,
    /// USER or ADMIN (`type`).
    pub session_type: Option<SessionType>,
    /// Requested lifetime (`expiry`, whole seconds; Kaltura caps it).
    pub expiry: Option<Duration>,
    /// Privileges, as Kaltura's string (`privileges`, or `sessionPrivileges` for an app token).
    pub privileges: Option<String>,
}

impl SessionOptions {
    /// No options set.
    pub fn new() -> Self {
        SessionOptions::default()
    }

    /// Sets the user id.
    #[must_use]
    pub fn user_id(mut self, user_id: impl Into<UserId>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the session type.
    #[must_use]
    pub fn session_type(mut self, session_type: SessionType) -> Self {
        self.session_type = Some(session_type);
        self
    }

    /// Sets the lifetime.
    #[must_use]
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// Sets the privileges, as Kaltura's string (`sview:0_abc,privacycontext:x`) or a
    /// [`Privileges`](crate::ks::Privileges) value.
    #[must_use]
    pub fn privileges(mut self, privileges: impl fmt::Display) -> Self {
        self.privileges = Some(privileges.to_string());
        self
    }

    /// Writes the options that are set into `params`, the privileges under
    /// `privileges_key`.
    pub(crate) fn write_params(&self, params: &mut Map<String, Value>, privileges_key: &str) {
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
            params.insert(privileges_key.into(), Value::String(privileges.clone()));
        }
    }
}

/// What Kaltura knows about a KS (`KalturaSessionInfo`), returned by `session.get` and
/// `appToken.startSession`.
///
/// `Debug` shows the KS redacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionInfo {
    /// The KS itself.
    #[serde(deserialize_with = "super::de::ks")]
    pub ks: Ks,
    /// Its session type.
    pub session_type: SessionType,
    /// The partner it belongs to.
    pub partner_id: PartnerId,
    /// Its user id, if any.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// When it expires (unix seconds). `session.get` and `appToken.startSession` send the
    /// absolute time.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub expiry: Option<i64>,
    /// Its privileges, as Kaltura's comma-separated string (`disableentitlement,sview:0_x`).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub privileges: Option<String>,
}

/// The result of `session.startWidgetSession` (`KalturaStartWidgetSessionResponse`): an
/// anonymous, view-only KS for a widget.
///
/// `Debug` shows the KS redacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StartWidgetSessionResponse {
    /// The partner the widget belongs to.
    pub partner_id: PartnerId,
    /// The widget KS.
    #[serde(deserialize_with = "super::de::ks")]
    pub ks: Ks,
    /// The user id of the session (usually empty or absent).
    #[serde(default)]
    pub user_id: Option<UserId>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn session_info_accepts_numbers_as_strings_and_ignores_unknown_fields() {
        let info: SessionInfo = serde_json::from_str(
            r#"{"ks":"djJ8c2VjcmV0","sessionType":"2","partnerId":"12345","userId":42,
                "expiry":"1700086400","privileges":"disableentitlement","sessionId":"x",
                "objectType":"KalturaSessionInfo"}"#,
        )
        .unwrap();
        assert_eq!(info.ks.expose_secret(), "djJ8c2VjcmV0");
        assert_eq!(info.session_type, SessionType::Admin);
        assert_eq!(info.partner_id, PartnerId::new(12345));
        assert_eq!(info.user_id, Some(UserId::new("42")));
        assert_eq!(info.expiry, Some(1_700_086_400));
        assert_eq!(info.privileges.as_deref(), Some("disableentitlement"));
        let debug = format!("{info:?}");
        assert!(!debug.contains("djJ8c2VjcmV0"), "{debug}");
    }

    #[test]
    fn session_info_optional_fields_may_be_missing() {
        let info: SessionInfo =
            serde_json::from_str(r#"{"ks":"k","sessionType":0,"partnerId":1}"#).unwrap();
        assert_eq!(info.session_type, SessionType::User);
        assert_eq!(info.user_id, None);
        assert_eq!(info.expiry, None);
        assert_eq!(info.privileges, None);
    }

    #[test]
    fn widget_session_response() {
        let r: StartWidgetSessionResponse = serde_json::from_str(
            r#"{"partnerId":12345,"ks":"djJ8d2lkZ2V0","userId":0,"objectType":"KalturaStartWidgetSessionResponse"}"#,
        )
        .unwrap();
        assert_eq!(r.partner_id.get(), 12345);
        assert_eq!(r.ks.expose_secret(), "djJ8d2lkZ2V0");
        assert_eq!(r.user_id, Some(UserId::new("0")));
        assert!(!format!("{r:?}").contains("djJ8d2lkZ2V0"));
    }
}
