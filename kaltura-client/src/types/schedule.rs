//! Models of the schedule plugin (`schedule_scheduleresource`, `schedule_scheduleevent`,
//! `schedule_scheduleeventresource`) as used by Kaltura Meetings, and [`RoomSettings`], the
//! typed form of the room-setting tags.
//!
//! The documented Kaltura Meetings flow: a room is a `KalturaLocationScheduleResource`
//! tagged [`VCPROVIDER_NEWROW_TAG`]; a session is a `KalturaRecordScheduleEvent`; a
//! `KalturaScheduleEventResource` links the two; users join with a USER KS carrying
//! `eventId`/`resourceId` privileges ([`crate::urls::MeetingJoin`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{UnixTime, int_enum, setters, string_enum};
use crate::ids::{CategoryId, EntryId, PartnerId, ScheduleEventId, ScheduleResourceId, UserId};

/// The tag that makes a location resource a Kaltura Meetings room.
pub const VCPROVIDER_NEWROW_TAG: &str = "vcprovider:newrow";

/// `objectType` of a Kaltura Meetings room resource.
pub const LOCATION_SCHEDULE_RESOURCE: &str = "KalturaLocationScheduleResource";

/// `objectType` of a Kaltura Meetings session event.
pub const RECORD_SCHEDULE_EVENT: &str = "KalturaRecordScheduleEvent";

/// `objectType` of a filter over record schedule events (Kaltura Meetings sessions):
/// `KalturaRecordScheduleEventFilter` extends `KalturaEntryScheduleEventFilter`, which
/// (through `KalturaEntryScheduleEventBaseFilter`) has `templateEntryIdEqual`. Send
/// [`ScheduleEventFilter::template_entry_id_equal`] with this class (e.g. in
/// `ListScheduleEventsRequest::filter_object_type`): the plain `KalturaScheduleEventFilter`
/// has no such property, and Kaltura ignores properties a class does not declare, so the
/// filter would silently match every event.
pub const RECORD_SCHEDULE_EVENT_FILTER: &str = "KalturaRecordScheduleEventFilter";

int_enum! {
    /// State of a schedule event (`KalturaScheduleEventStatus`).
    pub enum ScheduleEventStatus {
        /// Cancelled.
        Cancelled = 1,
        /// Active.
        Active = 2,
        /// Deleted.
        Deleted = 3,
    }
}

int_enum! {
    /// State of a schedule resource (`KalturaScheduleResourceStatus`).
    pub enum ScheduleResourceStatus {
        /// Disabled.
        Disabled = 1,
        /// Active.
        Active = 2,
        /// Deleted.
        Deleted = 3,
    }
}

int_enum! {
    /// Recurrence of a schedule event (`KalturaScheduleEventRecurrenceType`).
    pub enum RecurrenceType {
        /// A single occurrence.
        None = 0,
        /// The recurring series.
        Recurring = 1,
        /// One occurrence of a series.
        Recurrence = 2,
    }
}

int_enum! {
    /// Visibility of a schedule event (`KalturaScheduleEventClassificationType`).
    pub enum ClassificationType {
        /// Public.
        Public = 1,
        /// Private.
        Private = 2,
        /// Confidential.
        Confidential = 3,
    }
}

string_enum! {
    /// Sort order of schedule event lists (`KalturaScheduleEventOrderBy`).
    pub enum ScheduleEventOrderBy {
        /// Earliest start first.
        StartDateAsc = "+startDate",
        /// Latest start first.
        StartDateDesc = "-startDate",
        /// Earliest end first.
        EndDateAsc = "+endDate",
        /// Latest end first.
        EndDateDesc = "-endDate",
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first.
        CreatedAtDesc = "-createdAt",
        /// Least recently updated first.
        UpdatedAtAsc = "+updatedAt",
        /// Most recently updated first.
        UpdatedAtDesc = "-updatedAt",
        /// By summary, A→Z.
        SummaryAsc = "+summary",
        /// By summary, Z→A.
        SummaryDesc = "-summary",
        /// Lowest priority first.
        PriorityAsc = "+priority",
        /// Highest priority first.
        PriorityDesc = "-priority",
    }
}

/// A schedule resource (`KalturaScheduleResource` and subclasses such as
/// `KalturaLocationScheduleResource`, a Kaltura Meetings room).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleResource {
    /// The id.
    pub id: ScheduleResourceId,
    /// The parent resource.
    #[serde(default)]
    pub parent_id: Option<ScheduleResourceId>,
    /// The owning partner.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// The name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub name: Option<String>,
    /// A unique system name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub system_name: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub description: Option<String>,
    /// State.
    #[serde(default)]
    pub status: Option<ScheduleResourceStatus>,
    /// Comma-separated tags (`vcprovider:newrow`, room settings …).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub tags: Option<String>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
    /// The Kaltura class, e.g. `KalturaLocationScheduleResource`.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub object_type: Option<String>,
    /// Properties this model does not name (e.g. of other subclasses).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The writable properties of a schedule resource, for `add` and `update`. Only the fields
/// that are `Some` are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleResourceInput {
    /// The name (required by `add`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A unique system name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_name: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// The parent resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<ScheduleResourceId>,
}

impl ScheduleResourceInput {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The fields of [`ScheduleResourceInput`] that its setters and the builders of the add and update
/// requests share, declared once: `schedule_resource_input_fields!(callback!(head) { extra fields })` calls
/// `callback!(head { shared fields, extra fields })`.
macro_rules! schedule_resource_input_fields {
    ($callback:ident ! ($($head:tt)*) { $($extra:tt)* }) => {
        $callback!($($head)* {
            name: String,
            system_name: String,
            description: String,
            tags: String,
            parent_id: $crate::ids::ScheduleResourceId,
            $($extra)*
        });
    };
}
pub(crate) use schedule_resource_input_fields;

schedule_resource_input_fields!(setters!(ScheduleResourceInput) {});

/// Filter of `scheduleResource.list` (`KalturaScheduleResourceFilter`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleResourceFilter {
    /// Only this resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_equal: Option<ScheduleResourceId>,
    /// Only these resources.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub id_in: Option<Vec<ScheduleResourceId>>,
    /// Children of this resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id_equal: Option<ScheduleResourceId>,
    /// With this system name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_name_equal: Option<String>,
    /// In this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_equal: Option<ScheduleResourceStatus>,
    /// Tags contain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_like: Option<String>,
    /// Has any of these comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_multi_like_or: Option<String>,
    /// Has all of these comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_multi_like_and: Option<String>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<ScheduleResourceOrderBy>,
}

string_enum! {
    /// Sort order of schedule resource lists (`KalturaScheduleResourceOrderBy`).
    pub enum ScheduleResourceOrderBy {
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first.
        CreatedAtDesc = "-createdAt",
        /// Least recently updated first.
        UpdatedAtAsc = "+updatedAt",
        /// Most recently updated first.
        UpdatedAtDesc = "-updatedAt",
    }
}

impl ScheduleResourceFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ScheduleResourceFilter {
    id_equal: ScheduleResourceId,
    id_in: [ScheduleResourceId],
    parent_id_equal: ScheduleResourceId,
    system_name_equal: String,
    status_equal: ScheduleResourceStatus,
    tags_like: String,
    tags_multi_like_or: String,
    tags_multi_like_and: String,
    order_by: ScheduleResourceOrderBy,
});

/// A schedule event (`KalturaScheduleEvent` and subclasses such as
/// `KalturaRecordScheduleEvent`, a Kaltura Meetings session).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleEvent {
    /// The id.
    pub id: ScheduleEventId,
    /// The owning partner.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// The recurring series this occurrence belongs to.
    #[serde(default)]
    pub parent_id: Option<ScheduleEventId>,
    /// The title.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub summary: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub description: Option<String>,
    /// State.
    #[serde(default)]
    pub status: Option<ScheduleEventStatus>,
    /// Start (unix seconds).
    #[serde(default)]
    pub start_date: Option<UnixTime>,
    /// End (unix seconds).
    #[serde(default)]
    pub end_date: Option<UnixTime>,
    /// Duration in seconds.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub duration: Option<i64>,
    /// The partner's own reference id.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub reference_id: Option<String>,
    /// Visibility.
    #[serde(default)]
    pub classification_type: Option<ClassificationType>,
    /// Free-text location.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub location: Option<String>,
    /// The organizer.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub organizer: Option<String>,
    /// The owner.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    /// Priority.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub priority: Option<i64>,
    /// Revision number.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub sequence: Option<i64>,
    /// Recurrence.
    #[serde(default)]
    pub recurrence_type: Option<RecurrenceType>,
    /// Contact.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub contact: Option<String>,
    /// Comment.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub comment: Option<String>,
    /// Comma-separated tags (room settings such as `custom_rs_class_mode:webinar`).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub tags: Option<String>,
    /// A template entry (entry schedule events).
    #[serde(default)]
    pub template_entry_id: Option<EntryId>,
    /// Comma-separated entry ids (entry schedule events).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub entry_ids: Option<String>,
    /// Comma-separated category ids (entry schedule events).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub category_ids: Option<String>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
    /// The Kaltura class, e.g. `KalturaRecordScheduleEvent`.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub object_type: Option<String>,
    /// Properties this model does not name (e.g. of other subclasses).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The writable properties of a schedule event, for `add` and `update`. Only the fields
/// that are `Some` are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleEventInput {
    /// The title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Start (unix seconds; required by `add`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<UnixTime>,
    /// End (unix seconds; required by `add`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<UnixTime>,
    /// Duration in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// Recurrence (`add` of a Kaltura Meetings session: [`RecurrenceType::None`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence_type: Option<RecurrenceType>,
    /// Comma-separated tags; see [`RoomSettings`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// The owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// The organizer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizer: Option<String>,
    /// The partner's own reference id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// Visibility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification_type: Option<ClassificationType>,
    /// Free-text location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// A template entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_entry_id: Option<EntryId>,
    /// Entries of the event.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub entry_ids: Option<Vec<EntryId>>,
    /// Categories of the event.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub category_ids: Option<Vec<CategoryId>>,
    /// Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl ScheduleEventInput {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The fields of [`ScheduleEventInput`] that its setters and the builders of the add and update
/// requests share, declared once: `schedule_event_input_fields!(callback!(head) { extra fields })` calls
/// `callback!(head { shared fields, extra fields })`.
macro_rules! schedule_event_input_fields {
    ($callback:ident ! ($($head:tt)*) { $($extra:tt)* }) => {
        $callback!($($head)* {
            description: String,
            duration: i64,
            tags: String,
            owner_id: $crate::ids::UserId,
            organizer: String,
            reference_id: String,
            classification_type: $crate::types::schedule::ClassificationType,
            location: String,
            priority: i64,
            contact: String,
            comment: String,
            $($extra)*
        });
    };
}
pub(crate) use schedule_event_input_fields;

schedule_event_input_fields!(setters!(ScheduleEventInput) {
    summary: String,
    start_date: crate::types::UnixTime,
    end_date: crate::types::UnixTime,
    recurrence_type: crate::types::schedule::RecurrenceType,
    template_entry_id: crate::ids::EntryId,
    entry_ids: [crate::ids::EntryId],
    category_ids: [crate::ids::CategoryId],
});

/// Filter of `scheduleEvent.list` (`KalturaScheduleEventFilter`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleEventFilter {
    /// Only this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_equal: Option<ScheduleEventId>,
    /// Only these events.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub id_in: Option<Vec<ScheduleEventId>>,
    /// Occurrences of this series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id_equal: Option<ScheduleEventId>,
    /// In this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_equal: Option<ScheduleEventStatus>,
    /// In any of these states.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub status_in: Option<Vec<ScheduleEventStatus>>,
    /// Starting at or after (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_greater_than_or_equal: Option<UnixTime>,
    /// Starting at or before (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_less_than_or_equal: Option<UnixTime>,
    /// Ending at or after (unix seconds): with this set to now, upcoming and running events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_greater_than_or_equal: Option<UnixTime>,
    /// Ending at or before (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_less_than_or_equal: Option<UnixTime>,
    /// With this reference id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id_equal: Option<String>,
    /// Owned by this user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id_equal: Option<UserId>,
    /// Of this recurrence type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence_type_equal: Option<RecurrenceType>,
    /// Tags contain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_like: Option<String>,
    /// Has any of these comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_multi_like_or: Option<String>,
    /// Has all of these comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_multi_like_and: Option<String>,
    /// Linked to resources matching (comma-separated resource ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_ids_like: Option<String>,
    /// Linked to any of these comma-separated resource ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_ids_multi_like_or: Option<String>,
    /// Created from this template entry (`templateEntryIdEqual` of
    /// `KalturaEntryScheduleEventBaseFilter`): the event a recording belongs to, given the
    /// recording's own `templateEntryId`. Only entry schedule event filters declare it: send
    /// the filter as [`RECORD_SCHEDULE_EVENT_FILTER`] (a `KalturaScheduleEventFilter`
    /// ignores it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_entry_id_equal: Option<EntryId>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<ScheduleEventOrderBy>,
}

impl ScheduleEventFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ScheduleEventFilter {
    id_equal: ScheduleEventId,
    id_in: [ScheduleEventId],
    parent_id_equal: ScheduleEventId,
    status_equal: ScheduleEventStatus,
    status_in: [ScheduleEventStatus],
    start_date_greater_than_or_equal: UnixTime,
    start_date_less_than_or_equal: UnixTime,
    end_date_greater_than_or_equal: UnixTime,
    end_date_less_than_or_equal: UnixTime,
    reference_id_equal: String,
    owner_id_equal: UserId,
    recurrence_type_equal: RecurrenceType,
    tags_like: String,
    tags_multi_like_or: String,
    tags_multi_like_and: String,
    resource_ids_like: String,
    resource_ids_multi_like_or: String,
    template_entry_id_equal: EntryId,
    order_by: ScheduleEventOrderBy,
});

/// The link between an event and a resource (`KalturaScheduleEventResource`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleEventResource {
    /// The event.
    pub event_id: ScheduleEventId,
    /// The resource.
    pub resource_id: ScheduleResourceId,
    /// The owning partner.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
}

/// Filter of `scheduleEventResource.list` (`KalturaScheduleEventResourceFilter`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleEventResourceFilter {
    /// Links of this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id_equal: Option<ScheduleEventId>,
    /// Links of these events.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub event_id_in: Option<Vec<ScheduleEventId>>,
    /// Links of this resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id_equal: Option<ScheduleResourceId>,
    /// Links of these resources.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub resource_id_in: Option<Vec<ScheduleResourceId>>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<ScheduleEventResourceOrderBy>,
}

string_enum! {
    /// Sort order of event–resource link lists (`KalturaScheduleEventResourceOrderBy`).
    pub enum ScheduleEventResourceOrderBy {
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first.
        CreatedAtDesc = "-createdAt",
        /// Least recently updated first.
        UpdatedAtAsc = "+updatedAt",
        /// Most recently updated first.
        UpdatedAtDesc = "-updatedAt",
    }
}

impl ScheduleEventResourceFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ScheduleEventResourceFilter {
    event_id_equal: ScheduleEventId,
    event_id_in: [ScheduleEventId],
    resource_id_equal: ScheduleResourceId,
    resource_id_in: [ScheduleResourceId],
    order_by: ScheduleEventResourceOrderBy,
});

/// The kind of Kaltura Meetings room (`custom_rs_class_mode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClassMode {
    /// Everyone can speak and share (`virtual_classroom`).
    VirtualClassroom,
    /// Presenters talk to an audience (`webinar`).
    Webinar,
    /// Another mode, kept as sent.
    Unknown(String),
}

impl ClassMode {
    /// The tag value.
    pub fn as_str(&self) -> &str {
        match self {
            ClassMode::VirtualClassroom => "virtual_classroom",
            ClassMode::Webinar => "webinar",
            ClassMode::Unknown(s) => s,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "virtual_classroom" => ClassMode::VirtualClassroom,
            "webinar" => ClassMode::Webinar,
            other => ClassMode::Unknown(other.to_owned()),
        }
    }
}

/// Kaltura Meetings room settings, carried as tags on the session event (or the room
/// resource; the event wins): `custom_rs_class_mode:webinar,custom_rec_auto_start:1,…`.
///
/// ```
/// use kaltura_client::types::schedule::{ClassMode, RoomSettings};
///
/// let settings = RoomSettings::new()
///     .class_mode(ClassMode::Webinar)
///     .auto_record(true)
///     .show_chat(false)
///     .user_lang("en-US");
/// assert_eq!(
///     settings.to_tags(),
///     "custom_rs_class_mode:webinar,custom_rec_auto_start:1,custom_rs_show_chat:0,custom_rs_user_lang:en-US"
/// );
/// assert_eq!(RoomSettings::from_tags(&settings.to_tags()), settings);
/// // Merged into existing tags, replacing earlier room settings:
/// assert_eq!(
///     settings.merge_into_tags("team,custom_rs_class_mode:virtual_classroom"),
///     format!("team,{}", settings.to_tags())
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoomSettings {
    /// `custom_rs_class_mode`.
    pub class_mode: Option<ClassMode>,
    /// `custom_rec_auto_start`: start recording when the session starts.
    pub auto_record: Option<bool>,
    /// `custom_rs_show_chat`.
    pub show_chat: Option<bool>,
    /// `custom_rs_enable_guests_to_join`.
    pub enable_guests_to_join: Option<bool>,
    /// `custom_rs_show_participant`.
    pub show_participants: Option<bool>,
    /// `custom_rs_show_invite`.
    pub show_invite: Option<bool>,
    /// `custom_rs_user_lang`, e.g. `en-US`.
    pub user_lang: Option<String>,
    /// Other `custom_…` settings, as `(key, value)`.
    pub other: Vec<(String, String)>,
}

const CLASS_MODE: &str = "custom_rs_class_mode";
const AUTO_RECORD: &str = "custom_rec_auto_start";
const SHOW_CHAT: &str = "custom_rs_show_chat";
const GUESTS: &str = "custom_rs_enable_guests_to_join";
const PARTICIPANTS: &str = "custom_rs_show_participant";
const INVITE: &str = "custom_rs_show_invite";
const USER_LANG: &str = "custom_rs_user_lang";

impl RoomSettings {
    /// No settings (the room's defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`RoomSettings::class_mode`].
    #[must_use]
    pub fn class_mode(mut self, mode: ClassMode) -> Self {
        self.class_mode = Some(mode);
        self
    }

    /// Sets [`RoomSettings::auto_record`].
    #[must_use]
    pub fn auto_record(mut self, on: bool) -> Self {
        self.auto_record = Some(on);
        self
    }

    /// Sets [`RoomSettings::show_chat`].
    #[must_use]
    pub fn show_chat(mut self, on: bool) -> Self {
        self.show_chat = Some(on);
        self
    }

    /// Sets [`RoomSettings::enable_guests_to_join`].
    #[must_use]
    pub fn enable_guests_to_join(mut self, on: bool) -> Self {
        self.enable_guests_to_join = Some(on);
        self
    }

    /// Sets [`RoomSettings::show_participants`].
    #[must_use]
    pub fn show_participants(mut self, on: bool) -> Self {
        self.show_participants = Some(on);
        self
    }

    /// Sets [`RoomSettings::show_invite`].
    #[must_use]
    pub fn show_invite(mut self, on: bool) -> Self {
        self.show_invite = Some(on);
        self
    }

    /// Sets [`RoomSettings::user_lang`]. Commas and colons (tag separators) are removed.
    #[must_use]
    pub fn user_lang(mut self, lang: impl Into<String>) -> Self {
        self.user_lang = Some(clean(&lang.into()));
        self
    }

    /// Adds another `custom_…` setting. Commas and colons are removed from both parts.
    #[must_use]
    pub fn other(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.other.push((clean(&key.into()), clean(&value.into())));
        self
    }

    /// The tags, comma-separated, in a fixed order.
    pub fn to_tags(&self) -> String {
        self.tags().join(",")
    }

    fn tags(&self) -> Vec<String> {
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut tags = Vec::new();
        if let Some(mode) = &self.class_mode {
            tags.push(format!("{CLASS_MODE}:{}", mode.as_str()));
        }
        for (key, value) in [
            (AUTO_RECORD, self.auto_record),
            (SHOW_CHAT, self.show_chat),
            (GUESTS, self.enable_guests_to_join),
            (PARTICIPANTS, self.show_participants),
            (INVITE, self.show_invite),
        ] {
            if let Some(v) = value {
                tags.push(format!("{key}:{}", flag(v)));
            }
        }
        if let Some(lang) = &self.user_lang {
            tags.push(format!("{USER_LANG}:{lang}"));
        }
        for (key, value) in &self.other {
            tags.push(format!("{key}:{value}"));
        }
        tags
    }

    /// The room settings found in a comma-separated tag string (other tags are ignored;
    /// unparsable flags are left unset).
    pub fn from_tags(tags: &str) -> Self {
        let mut settings = RoomSettings::new();
        let flag = |v: &str| match v {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        };
        for tag in tags.split(',').map(str::trim) {
            let Some((key, value)) = tag.split_once(':') else {
                continue;
            };
            match key {
                CLASS_MODE => settings.class_mode = Some(ClassMode::parse(value)),
                AUTO_RECORD => settings.auto_record = flag(value),
                SHOW_CHAT => settings.show_chat = flag(value),
                GUESTS => settings.enable_guests_to_join = flag(value),
                PARTICIPANTS => settings.show_participants = flag(value),
                INVITE => settings.show_invite = flag(value),
                USER_LANG => settings.user_lang = Some(value.to_owned()),
                k if k.starts_with("custom_") => {
                    settings.other.push((k.to_owned(), value.to_owned()));
                }
                _ => {}
            }
        }
        settings
    }

    /// `tags` with the settings this value sets replacing any earlier value of the same
    /// key; other tags are kept in order.
    pub fn merge_into_tags(&self, tags: &str) -> String {
        let mine = self.tags();
        let keys: Vec<&str> = mine
            .iter()
            .filter_map(|t| t.split_once(':').map(|(k, _)| k))
            .collect();
        let mut out: Vec<String> = tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .filter(|t| {
                let key = t.split_once(':').map_or(*t, |(k, _)| k);
                !keys.contains(&key)
            })
            .map(str::to_owned)
            .collect();
        out.extend(mine.iter().cloned());
        out.join(",")
    }
}

impl fmt::Display for RoomSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_tags())
    }
}

fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| *c != ',' && *c != ':' && !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_resource_filters_sort_with_kalturas_strings() {
        let filter = ScheduleEventResourceFilter::new()
            .event_id_equal(ScheduleEventId::new(7))
            .order_by(ScheduleEventResourceOrderBy::CreatedAtDesc);
        assert_eq!(
            serde_json::to_value(&filter).ok(),
            Some(serde_json::json!({"eventIdEqual": 7, "orderBy": "-createdAt"}))
        );
    }

    #[test]
    fn template_entry_filter_uses_kalturas_name() {
        let filter = ScheduleEventFilter::new()
            .template_entry_id_equal(EntryId::parse("0_tpl").unwrap())
            .status_equal(ScheduleEventStatus::Active);
        assert_eq!(
            serde_json::to_value(&filter).ok(),
            Some(serde_json::json!({"templateEntryIdEqual": "0_tpl", "statusEqual": 2}))
        );
    }

    #[test]
    fn room_settings_parse_unknown_and_other() {
        let s = RoomSettings::from_tags(
            "vcprovider:newrow, custom_rs_class_mode:lecture,custom_rec_auto_start:x,custom_rs_foo:bar",
        );
        assert_eq!(s.class_mode, Some(ClassMode::Unknown("lecture".into())));
        assert_eq!(s.auto_record, None);
        assert_eq!(s.other, [("custom_rs_foo".to_owned(), "bar".to_owned())]);
        assert_eq!(RoomSettings::new().to_tags(), "");
        assert_eq!(RoomSettings::new().merge_into_tags(" a, ,b"), "a,b");
        assert_eq!(
            RoomSettings::new().other("custom_x,y", "1:2").to_tags(),
            "custom_xy:12"
        );
    }

    #[test]
    fn event_decodes_with_string_numbers() {
        let e: ScheduleEvent = serde_json::from_str(
            r#"{"id":"55","partnerId":12345,"summary":"Standup","status":"2","startDate":"1700000000",
                "endDate":1700003600,"recurrenceType":0,"classificationType":1,"duration":3600,
                "ownerId":"discord_42","sequence":1,"objectType":"KalturaRecordScheduleEvent"}"#,
        )
        .unwrap();
        assert_eq!(e.id, ScheduleEventId::new(55));
        assert_eq!(e.status, Some(ScheduleEventStatus::Active));
        assert_eq!(e.start_date, Some(1_700_000_000.into()));
        assert_eq!(e.recurrence_type, Some(RecurrenceType::None));
    }
}
