//! A received Kaltura HTTP notification, parsed into an [`InboundEvent`].
//!
//! Parsing happens only after the signature was verified ([`super::signature`]).

use kaltura_client::PartnerId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::EventKind;

/// What Kaltura said about the notification itself (not the object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationMeta {
    /// `eventNotificationJobId`: Kaltura's delivery job; the same on every retry.
    pub job_id: Option<i64>,
    /// `templateId`.
    pub template_id: Option<i64>,
    /// `templateSystemName` (e.g. `HTTP_ENTRY_STATUS_CHANGED`).
    pub template_system_name: Option<String>,
    /// `eventType` as sent (int or string, kept as text: `3`).
    pub event_type: Option<String>,
    /// `eventObjectType` as sent (`1`, `scheduleEventNotifications.ScheduleEvent`).
    pub event_object_type: Option<String>,
    /// The body format it came in: `json`, `form_json`, `xml` or `fields`.
    pub format: String,
}

/// A received notification: who sent it, how to deduplicate it, what it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    /// The partner in the URL (its secret verified the signature).
    pub partner_id: PartnerId,
    /// Deduplication key within the partner: `job:{eventNotificationJobId}` when Kaltura sent
    /// one, `body:{sha256 of the body}` otherwise, `backfill:{kind}:{id}` for catch-up.
    pub dedup_key: String,
    /// The kind, when it is one we announce; `None` for other events (stored and logged,
    /// never failed).
    pub kind: Option<EventKind>,
    /// The id of the object it is about (entry id, schedule event id), when known.
    pub subject: Option<String>,
    /// The Kaltura object (`KalturaMediaEntry` JSON, or the field map of a field template),
    /// with enums normalized to numbers where Kaltura may send either.
    pub object: Value,
    /// About the notification.
    pub meta: NotificationMeta,
    /// When it was received (unix seconds).
    pub received_at: i64,
}

/// Why a notification body could not be read. Shown to Kaltura as a 400 and logged; it never
/// contains the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The body is empty.
    #[error("the notification body is empty")]
    Empty,
    /// The body is not valid in the format it declares or appears to be in.
    #[error("the notification body is not valid {format}: {detail}")]
    Malformed {
        /// `JSON`, `XML`, `form data`.
        format: &'static str,
        /// What is wrong (position, expected element), never body text.
        detail: String,
    },
    /// The declared content type does not match the body (XML where JSON is declared).
    #[error("the body is {found} but the request declares {declared}")]
    ContentTypeMismatch {
        /// The declared type.
        declared: String,
        /// What the body looks like.
        found: &'static str,
    },
    /// A content type we do not read.
    #[error("content type {0} is not supported")]
    UnsupportedContentType(String),
}
