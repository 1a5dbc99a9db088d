//! Models of the `session` service (`KalturaSessionInfo`, `KalturaStartWidgetSessionResponse`).

use serde::Deserialize;

use crate::ids::{PartnerId, UserId};
use crate::ks::{Ks, SessionType};

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
