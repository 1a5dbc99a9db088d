//! Models of the `virtualevent_virtualevent` service (`KalturaVirtualEvent`, Kaltura Events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{UnixTime, int_enum, setters, string_enum};
use crate::ids::{PartnerId, ScheduleEventId, VirtualEventId};

int_enum! {
    /// State of a virtual event (`KalturaVirtualEventStatus`).
    pub enum VirtualEventStatus {
        /// Active.
        Active = 2,
        /// Deleted.
        Deleted = 3,
    }
}

string_enum! {
    /// Sort order of virtual event lists (`KalturaVirtualEventOrderBy`).
    pub enum VirtualEventOrderBy {
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first.
        CreatedAtDesc = "-createdAt",
        /// Least recently updated first.
        UpdatedAtAsc = "+updatedAt",
        /// Most recently updated first.
        UpdatedAtDesc = "-updatedAt",
        /// Earliest deletion due date first.
        ///
        /// Newer servers only: not in the official client's `KalturaVirtualEventOrderBy`; a
        /// server that lacks it answers `INVALID_ENUM_VALUE`
        /// ([`ErrorCode::InvalidEnumValue`](crate::ErrorCode::InvalidEnumValue)).
        DeletionDueDateAsc = "+deletionDueDate",
        /// Latest deletion due date first.
        ///
        /// Newer servers only, like [`Self::DeletionDueDateAsc`].
        DeletionDueDateDesc = "-deletionDueDate",
    }
}

/// A virtual event (`KalturaVirtualEvent`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VirtualEvent {
    /// The id.
    pub id: VirtualEventId,
    /// The owning partner.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// The name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub name: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub description: Option<String>,
    /// State.
    #[serde(default)]
    pub status: Option<VirtualEventStatus>,
    /// Comma-separated tags.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub tags: Option<String>,
    /// Comma-separated ids of the attendee groups.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub attendees_group_ids: Option<String>,
    /// Comma-separated ids of the admin groups.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub admins_group_ids: Option<String>,
    /// The registration period (a schedule event).
    #[serde(default)]
    pub registration_schedule_event_id: Option<ScheduleEventId>,
    /// The agenda (a schedule event).
    #[serde(default)]
    pub agenda_schedule_event_id: Option<ScheduleEventId>,
    /// The main event (a schedule event).
    #[serde(default)]
    pub main_event_schedule_event_id: Option<ScheduleEventId>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
    /// When the event is deleted (unix seconds).
    #[serde(default)]
    pub deletion_due_date: Option<UnixTime>,
    /// The registration form, as a JSON string.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub registration_form_schema: Option<String>,
    /// The event's public URL.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub event_url: Option<String>,
    /// Token of the registration webhook.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub webhook_registration_token: Option<String>,
    /// Properties this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The writable properties of a virtual event, for `add` and `update` (sent as
/// `KalturaVirtualEvent`). Only the fields that are `Some` are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VirtualEventInput {
    /// The name (required by `add`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Comma-separated ids of the attendee groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attendees_group_ids: Option<String>,
    /// Comma-separated ids of the admin groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admins_group_ids: Option<String>,
    /// The registration period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_schedule_event_id: Option<ScheduleEventId>,
    /// The agenda.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agenda_schedule_event_id: Option<ScheduleEventId>,
    /// The main event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_event_schedule_event_id: Option<ScheduleEventId>,
    /// When to delete the event (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_due_date: Option<UnixTime>,
    /// The registration form, as a JSON string (Kaltura validates it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_form_schema: Option<String>,
    /// The event's public URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_url: Option<String>,
}

impl VirtualEventInput {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The fields of [`VirtualEventInput`] that its setters and the builders of the add and update
/// requests share, declared once: `virtual_event_input_fields!(callback!(head) { extra fields })` calls
/// `callback!(head { shared fields, extra fields })`.
macro_rules! virtual_event_input_fields {
    ($callback:ident ! ($($head:tt)*) { $($extra:tt)* }) => {
        $callback!($($head)* {
            description: String,
            tags: String,
            attendees_group_ids: String,
            admins_group_ids: String,
            registration_schedule_event_id: $crate::ids::ScheduleEventId,
            agenda_schedule_event_id: $crate::ids::ScheduleEventId,
            main_event_schedule_event_id: $crate::ids::ScheduleEventId,
            deletion_due_date: $crate::types::UnixTime,
            registration_form_schema: String,
            event_url: String,
            $($extra)*
        });
    };
}
pub(crate) use virtual_event_input_fields;

virtual_event_input_fields!(setters!(VirtualEventInput) {
    name: String,
});

/// Filter of `virtualEvent.list` (`KalturaVirtualEventFilter`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VirtualEventFilter {
    /// Only this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_equal: Option<VirtualEventId>,
    /// Only these events.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub id_in: Option<Vec<VirtualEventId>>,
    /// In this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_equal: Option<VirtualEventStatus>,
    /// Created at or after (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_greater_than_or_equal: Option<UnixTime>,
    /// Created at or before (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_less_than_or_equal: Option<UnixTime>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<VirtualEventOrderBy>,
}

impl VirtualEventFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(VirtualEventFilter {
    id_equal: VirtualEventId,
    id_in: [VirtualEventId],
    status_equal: VirtualEventStatus,
    created_at_greater_than_or_equal: UnixTime,
    created_at_less_than_or_equal: UnixTime,
    order_by: VirtualEventOrderBy,
});
