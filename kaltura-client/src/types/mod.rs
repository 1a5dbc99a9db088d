//! Response and parameter models of the Kaltura services this crate wraps.
//!
//! Models mirror Kaltura's `Kaltura…` classes with `camelCase` field names. They are
//! `#[non_exhaustive]` (Kaltura adds fields and enum values over time), ignore unknown fields,
//! and accept numbers sent either as JSON numbers or as strings. Any model holding a KS shows
//! it redacted in its `Debug` output.

pub mod app_token;
pub mod category;
pub mod common;
pub mod esearch;
pub mod event_notification;
pub mod media;
pub mod schedule;
pub mod session;
pub mod user;
pub mod virtual_event;

pub use app_token::AppTokenHashType;
pub use common::{KeyValue, ListResponse, NullableBoolean, Pager, UnixTime};
pub use media::{
    BaseEntry, BaseEntryFilter, EntryOrderBy, EntryStatus, EntryType, MediaEntry, MediaEntryFilter,
    MediaEntryInput, MediaType, ModerationStatus, SourceType,
};
pub use session::{SessionInfo, SessionOptions, StartWidgetSessionResponse};

/// Tolerant deserializers shared by the models.
pub(crate) mod de {
    use serde::{Deserialize, Deserializer};

    use crate::ks::Ks;

    /// A KS sent as a JSON string.
    pub(crate) fn ks<'de, D: Deserializer<'de>>(d: D) -> Result<Ks, D::Error> {
        String::deserialize(d).map(Ks::new)
    }

    /// An optional integer sent as a number, a numeric string or `null`.
    pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(deserialize_with = "crate::ids::int_or_string")] i64);
        Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(v)| v))
    }

    /// An optional string; numbers are accepted and kept as their decimal text.
    pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        use serde::de::Error as _;
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(D::Error::custom(format!(
                "expected a string, got {}",
                crate::request::json_kind(&other)
            ))),
        }
    }
}
