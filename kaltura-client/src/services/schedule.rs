//! The schedule plugin services behind Kaltura Meetings: `schedule_scheduleresource`
//! (rooms), `schedule_scheduleevent` (sessions) and `schedule_scheduleeventresource`
//! (which room a session uses).
//!
//! The documented flow (ADMIN KS), then a join link per user with
//! [`MeetingJoin`](crate::urls::MeetingJoin):
//!
//! ```no_run
//! use kaltura_client::types::schedule::{ClassMode, RoomSettings};
//! use kaltura_client::urls::{MeetingJoin, MeetingRole, MeetingTarget};
//!
//! # async fn run(client: kaltura_client::Client, admin_secret: secrecy::SecretString) -> kaltura_client::Result<()> {
//! // 1. The room: a location resource tagged `vcprovider:newrow`.
//! let room = client.schedule_resource().add_room("Discord #general").send().await?;
//! // 2. The session.
//! let event = client
//!     .schedule_event()
//!     .add("Weekly sync", 1_900_000_000, 1_900_003_600)
//!     .room_settings(RoomSettings::new().class_mode(ClassMode::VirtualClassroom).auto_record(true))
//!     .send()
//!     .await?;
//! // 3. The session uses the room.
//! client.schedule_event_resource().add(event.id, room.id).await?;
//! // 4. A join link for a member.
//! let Some(partner_id) = client.partner_id() else { return Ok(()) };
//! let link = MeetingJoin::new(partner_id, MeetingTarget::Event(event.id), "discord_42")
//!     .role(MeetingRole::Attendee)
//!     .build(&admin_secret)?;
//! # Ok(())
//! # }
//! ```

use crate::client::Client;
use crate::error::Result;
use crate::ids::{ScheduleEventId, ScheduleResourceId};
use crate::pagination::{ListItem, impl_paginated};
use crate::request::{RequestBuilder, builder_setters, kaltura_request};
use crate::types::schedule::schedule_event_input_fields;
use crate::types::schedule::schedule_resource_input_fields;
use crate::types::schedule::{
    LOCATION_SCHEDULE_RESOURCE, RECORD_SCHEDULE_EVENT, RecurrenceType, RoomSettings, ScheduleEvent,
    ScheduleEventFilter, ScheduleEventInput, ScheduleEventResource, ScheduleEventResourceFilter,
    ScheduleResource, ScheduleResourceFilter, ScheduleResourceInput, VCPROVIDER_NEWROW_TAG,
};
use crate::types::{ListResponse, Pager};

const RESOURCE: &str = "schedule_scheduleresource";
const EVENT: &str = "schedule_scheduleevent";
const EVENT_RESOURCE: &str = "schedule_scheduleeventresource";

impl Client {
    /// The `schedule_scheduleresource` service (Kaltura Meetings rooms); see the
    /// [module docs](crate::services::schedule).
    pub fn schedule_resource(&self) -> ScheduleResourceHandler<'_> {
        ScheduleResourceHandler { client: self }
    }

    /// The `schedule_scheduleevent` service (Kaltura Meetings sessions).
    pub fn schedule_event(&self) -> ScheduleEventHandler<'_> {
        ScheduleEventHandler { client: self }
    }

    /// The `schedule_scheduleeventresource` service (which room a session uses).
    pub fn schedule_event_resource(&self) -> ScheduleEventResourceHandler<'_> {
        ScheduleEventResourceHandler { client: self }
    }
}

impl ListItem for ScheduleResource {
    fn item_key(&self) -> String {
        self.id.to_string()
    }
}

impl ListItem for ScheduleEvent {
    fn item_key(&self) -> String {
        self.id.to_string()
    }
}

impl ListItem for ScheduleEventResource {
    fn item_key(&self) -> String {
        format!("{}:{}", self.event_id, self.resource_id)
    }
}

// --- schedule_scheduleresource -----------------------------------------------------------

/// Handler of `schedule_scheduleresource`; see [`Client::schedule_resource`].
#[derive(Debug, Clone, Copy)]
pub struct ScheduleResourceHandler<'c> {
    client: &'c Client,
}

/// Builder of `scheduleResource.add`.
pub type AddScheduleResourceBuilder<'c> = RequestBuilder<'c, AddScheduleResourceRequest>;
/// Builder of `scheduleResource.update`.
pub type UpdateScheduleResourceBuilder<'c> = RequestBuilder<'c, UpdateScheduleResourceRequest>;
/// Builder of `scheduleResource.list`.
pub type ListScheduleResourcesBuilder<'c> = RequestBuilder<'c, ListScheduleResourcesRequest>;

impl<'c> ScheduleResourceHandler<'c> {
    /// `scheduleResource.add` of a `KalturaLocationScheduleResource` named `name`.
    pub fn add(&self, name: impl Into<String>) -> AddScheduleResourceBuilder<'c> {
        RequestBuilder::new(
            self.client,
            AddScheduleResourceRequest::new(ScheduleResourceInput::new().name(name)),
        )
    }

    /// `scheduleResource.add` of a Kaltura Meetings room: a location resource tagged
    /// [`VCPROVIDER_NEWROW_TAG`].
    pub fn add_room(&self, name: impl Into<String>) -> AddScheduleResourceBuilder<'c> {
        self.add(name).tags(VCPROVIDER_NEWROW_TAG)
    }

    /// `scheduleResource.get`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `RESOURCE_NOT_FOUND`; see [`Client::send`].
    pub async fn get(&self, id: impl Into<ScheduleResourceId>) -> Result<ScheduleResource> {
        self.client.send(GetScheduleResourceRequest::new(id)).await
    }

    /// `scheduleResource.list`.
    pub fn list(&self) -> ListScheduleResourcesBuilder<'c> {
        RequestBuilder::new(self.client, ListScheduleResourcesRequest::default())
    }

    /// `scheduleResource.update`: changes the fields set on the builder, and only those.
    pub fn update(&self, id: impl Into<ScheduleResourceId>) -> UpdateScheduleResourceBuilder<'c> {
        RequestBuilder::new(
            self.client,
            UpdateScheduleResourceRequest::new(id, ScheduleResourceInput::new()),
        )
    }

    /// `scheduleResource.delete`: returns the deleted resource.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `RESOURCE_NOT_FOUND`; see [`Client::send`].
    pub async fn delete(&self, id: impl Into<ScheduleResourceId>) -> Result<ScheduleResource> {
        self.client
            .send(DeleteScheduleResourceRequest::new(id))
            .await
    }
}

impl RequestBuilder<'_, AddScheduleResourceRequest> {
    /// The Kaltura class of the resource (default `KalturaLocationScheduleResource`).
    pub fn object_type(self, object_type: impl Into<String>) -> Self {
        let object_type = object_type.into();
        self.map_request(|r| r.object_type = object_type)
    }

    /// Adds `settings` to the resource's tags (see [`RoomSettings`]).
    pub fn room_settings(self, settings: &RoomSettings) -> Self {
        self.map_request(|r| {
            let tags = r.resource.tags.take().unwrap_or_default();
            r.resource.tags = Some(settings.merge_into_tags(&tags));
        })
    }
}

impl RequestBuilder<'_, ListScheduleResourcesRequest> {
    /// The filter (sent as `KalturaScheduleResourceFilter`).
    pub fn filter(self, filter: ScheduleResourceFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

schedule_resource_input_fields!(builder_setters!(AddScheduleResourceRequest => resource) {});

schedule_resource_input_fields!(builder_setters!(UpdateScheduleResourceRequest => changes) {});

/// `scheduleResource.add` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AddScheduleResourceRequest {
    /// The Kaltura class sent as `objectType` (default [`LOCATION_SCHEDULE_RESOURCE`]).
    pub object_type: String,
    /// The new resource.
    pub resource: ScheduleResourceInput,
}

impl AddScheduleResourceRequest {
    /// Adds `resource` as a `KalturaLocationScheduleResource`.
    pub fn new(resource: ScheduleResourceInput) -> Self {
        AddScheduleResourceRequest {
            object_type: LOCATION_SCHEDULE_RESOURCE.to_owned(),
            resource,
        }
    }
}

kaltura_request!(AddScheduleResourceRequest, RESOURCE, "add" => ScheduleResource,
    |r, p| p.object("scheduleResource", &r.object_type, &r.resource)?);

/// `scheduleResource.get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetScheduleResourceRequest {
    /// The resource.
    pub id: ScheduleResourceId,
}

impl GetScheduleResourceRequest {
    /// Gets resource `id`.
    pub fn new(id: impl Into<ScheduleResourceId>) -> Self {
        GetScheduleResourceRequest { id: id.into() }
    }
}

kaltura_request!(GetScheduleResourceRequest, RESOURCE, "get" => ScheduleResource,
    |r, p| p.value("scheduleResourceId", &r.id)?);

/// `scheduleResource.update` as data: only the fields set in `changes` are sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateScheduleResourceRequest {
    /// The resource.
    pub id: ScheduleResourceId,
    /// The Kaltura class sent as `objectType` (default [`LOCATION_SCHEDULE_RESOURCE`]).
    pub object_type: String,
    /// The changes.
    pub changes: ScheduleResourceInput,
}

impl UpdateScheduleResourceRequest {
    /// Applies `changes` to resource `id`.
    pub fn new(id: impl Into<ScheduleResourceId>, changes: ScheduleResourceInput) -> Self {
        UpdateScheduleResourceRequest {
            id: id.into(),
            object_type: LOCATION_SCHEDULE_RESOURCE.to_owned(),
            changes,
        }
    }
}

kaltura_request!(UpdateScheduleResourceRequest, RESOURCE, "update" => ScheduleResource,
    |r, p| p
        .value("scheduleResourceId", &r.id)?
        .object("scheduleResource", &r.object_type, &r.changes)?);

/// `scheduleResource.delete` as data; the result is the deleted resource.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteScheduleResourceRequest {
    /// The resource.
    pub id: ScheduleResourceId,
}

impl DeleteScheduleResourceRequest {
    /// Deletes resource `id`.
    pub fn new(id: impl Into<ScheduleResourceId>) -> Self {
        DeleteScheduleResourceRequest { id: id.into() }
    }
}

kaltura_request!(DeleteScheduleResourceRequest, RESOURCE, "delete" => ScheduleResource,
    |r, p| p.value("scheduleResourceId", &r.id)?);

/// `scheduleResource.list` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListScheduleResourcesRequest {
    /// The filter.
    pub filter: Option<ScheduleResourceFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

kaltura_request!(ListScheduleResourcesRequest, RESOURCE, "list" => ListResponse<ScheduleResource>,
    |r, p| p
        .opt_object("filter", "KalturaScheduleResourceFilter", r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListScheduleResourcesRequest);

// --- schedule_scheduleevent --------------------------------------------------------------

/// Handler of `schedule_scheduleevent`; see [`Client::schedule_event`].
#[derive(Debug, Clone, Copy)]
pub struct ScheduleEventHandler<'c> {
    client: &'c Client,
}

/// Builder of `scheduleEvent.add`.
pub type AddScheduleEventBuilder<'c> = RequestBuilder<'c, AddScheduleEventRequest>;
/// Builder of `scheduleEvent.update`.
pub type UpdateScheduleEventBuilder<'c> = RequestBuilder<'c, UpdateScheduleEventRequest>;
/// Builder of `scheduleEvent.list`.
pub type ListScheduleEventsBuilder<'c> = RequestBuilder<'c, ListScheduleEventsRequest>;

impl<'c> ScheduleEventHandler<'c> {
    /// `scheduleEvent.add` of a single (non-recurring) `KalturaRecordScheduleEvent` from
    /// `start` to `end` (unix seconds).
    pub fn add(
        &self,
        summary: impl Into<String>,
        start: impl Into<crate::types::UnixTime>,
        end: impl Into<crate::types::UnixTime>,
    ) -> AddScheduleEventBuilder<'c> {
        RequestBuilder::new(
            self.client,
            AddScheduleEventRequest::new(
                ScheduleEventInput::new()
                    .summary(summary)
                    .start_date(start)
                    .end_date(end)
                    .recurrence_type(RecurrenceType::None),
            ),
        )
    }

    /// `scheduleEvent.get`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `SCHEDULE_EVENT_NOT_FOUND`; see
    /// [`Client::send`].
    pub async fn get(&self, id: impl Into<ScheduleEventId>) -> Result<ScheduleEvent> {
        self.client.send(GetScheduleEventRequest::new(id)).await
    }

    /// `scheduleEvent.list`.
    pub fn list(&self) -> ListScheduleEventsBuilder<'c> {
        RequestBuilder::new(self.client, ListScheduleEventsRequest::default())
    }

    /// `scheduleEvent.update`: changes the fields set on the builder, and only those.
    pub fn update(&self, id: impl Into<ScheduleEventId>) -> UpdateScheduleEventBuilder<'c> {
        RequestBuilder::new(
            self.client,
            UpdateScheduleEventRequest::new(id, ScheduleEventInput::new()),
        )
    }

    /// `scheduleEvent.cancel`: marks the event CANCELLED and returns it.
    ///
    /// # Errors
    ///
    /// See [`ScheduleEventHandler::get`].
    pub async fn cancel(&self, id: impl Into<ScheduleEventId>) -> Result<ScheduleEvent> {
        self.client.send(CancelScheduleEventRequest::new(id)).await
    }

    /// `scheduleEvent.delete`: returns the deleted event.
    ///
    /// # Errors
    ///
    /// See [`ScheduleEventHandler::get`].
    pub async fn delete(&self, id: impl Into<ScheduleEventId>) -> Result<ScheduleEvent> {
        self.client.send(DeleteScheduleEventRequest::new(id)).await
    }
}

impl RequestBuilder<'_, AddScheduleEventRequest> {
    /// The Kaltura class of the event (default `KalturaRecordScheduleEvent`).
    pub fn object_type(self, object_type: impl Into<String>) -> Self {
        let object_type = object_type.into();
        self.map_request(|r| r.object_type = object_type)
    }

    /// Adds `settings` to the event's tags (see [`RoomSettings`]).
    pub fn room_settings(self, settings: RoomSettings) -> Self {
        self.map_request(|r| {
            let tags = r.event.tags.take().unwrap_or_default();
            r.event.tags = Some(settings.merge_into_tags(&tags));
        })
    }
}

impl RequestBuilder<'_, UpdateScheduleEventRequest> {
    /// Replaces the event's tags with `tags` merged with `settings` (Kaltura replaces the
    /// whole tag string on update, so pass the current tags).
    pub fn room_settings(self, tags: &str, settings: RoomSettings) -> Self {
        let merged = settings.merge_into_tags(tags);
        self.map_request(|r| r.changes.tags = Some(merged))
    }
}

impl RequestBuilder<'_, ListScheduleEventsRequest> {
    /// The filter (sent as `KalturaScheduleEventFilter`, or the request's `object_type`).
    pub fn filter(self, filter: ScheduleEventFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

schedule_event_input_fields!(builder_setters!(AddScheduleEventRequest => event) {
    recurrence_type: crate::types::schedule::RecurrenceType,
    template_entry_id: crate::ids::EntryId,
});

schedule_event_input_fields!(builder_setters!(UpdateScheduleEventRequest => changes) {
    summary: String,
    start_date: crate::types::UnixTime,
    end_date: crate::types::UnixTime,
});

/// `scheduleEvent.add` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AddScheduleEventRequest {
    /// The Kaltura class sent as `objectType` (default [`RECORD_SCHEDULE_EVENT`]).
    pub object_type: String,
    /// The new event.
    pub event: ScheduleEventInput,
}

impl AddScheduleEventRequest {
    /// Adds `event` as a `KalturaRecordScheduleEvent`.
    pub fn new(event: ScheduleEventInput) -> Self {
        AddScheduleEventRequest {
            object_type: RECORD_SCHEDULE_EVENT.to_owned(),
            event,
        }
    }
}

kaltura_request!(AddScheduleEventRequest, EVENT, "add" => ScheduleEvent,
    |r, p| p.object("scheduleEvent", &r.object_type, &r.event)?);

/// `scheduleEvent.get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetScheduleEventRequest {
    /// The event.
    pub id: ScheduleEventId,
}

impl GetScheduleEventRequest {
    /// Gets event `id`.
    pub fn new(id: impl Into<ScheduleEventId>) -> Self {
        GetScheduleEventRequest { id: id.into() }
    }
}

kaltura_request!(GetScheduleEventRequest, EVENT, "get" => ScheduleEvent,
    |r, p| p.value("scheduleEventId", &r.id)?);

/// `scheduleEvent.update` as data: only the fields set in `changes` are sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateScheduleEventRequest {
    /// The event.
    pub id: ScheduleEventId,
    /// The Kaltura class sent as `objectType` (default [`RECORD_SCHEDULE_EVENT`]).
    pub object_type: String,
    /// The changes.
    pub changes: ScheduleEventInput,
}

impl UpdateScheduleEventRequest {
    /// Applies `changes` to event `id`.
    pub fn new(id: impl Into<ScheduleEventId>, changes: ScheduleEventInput) -> Self {
        UpdateScheduleEventRequest {
            id: id.into(),
            object_type: RECORD_SCHEDULE_EVENT.to_owned(),
            changes,
        }
    }
}

kaltura_request!(UpdateScheduleEventRequest, EVENT, "update" => ScheduleEvent,
    |r, p| p
        .value("scheduleEventId", &r.id)?
        .object("scheduleEvent", &r.object_type, &r.changes)?);

/// `scheduleEvent.cancel` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CancelScheduleEventRequest {
    /// The event.
    pub id: ScheduleEventId,
}

impl CancelScheduleEventRequest {
    /// Cancels event `id`.
    pub fn new(id: impl Into<ScheduleEventId>) -> Self {
        CancelScheduleEventRequest { id: id.into() }
    }
}

kaltura_request!(CancelScheduleEventRequest, EVENT, "cancel" => ScheduleEvent,
    |r, p| p.value("scheduleEventId", &r.id)?);

/// `scheduleEvent.delete` as data; the result is the deleted event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteScheduleEventRequest {
    /// The event.
    pub id: ScheduleEventId,
}

impl DeleteScheduleEventRequest {
    /// Deletes event `id`.
    pub fn new(id: impl Into<ScheduleEventId>) -> Self {
        DeleteScheduleEventRequest { id: id.into() }
    }
}

kaltura_request!(DeleteScheduleEventRequest, EVENT, "delete" => ScheduleEvent,
    |r, p| p.value("scheduleEventId", &r.id)?);

/// `scheduleEvent.list` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListScheduleEventsRequest {
    /// The filter's Kaltura class (default `KalturaScheduleEventFilter`; e.g.
    /// `KalturaRecordScheduleEventFilter` for record events only).
    pub filter_object_type: String,
    /// The filter.
    pub filter: Option<ScheduleEventFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

impl Default for ListScheduleEventsRequest {
    fn default() -> Self {
        ListScheduleEventsRequest {
            filter_object_type: "KalturaScheduleEventFilter".to_owned(),
            filter: None,
            pager: None,
        }
    }
}

impl ListScheduleEventsRequest {
    /// A list with `filter`.
    pub fn new(filter: ScheduleEventFilter) -> Self {
        ListScheduleEventsRequest {
            filter: Some(filter),
            ..Self::default()
        }
    }
}

kaltura_request!(ListScheduleEventsRequest, EVENT, "list" => ListResponse<ScheduleEvent>,
    |r, p| p
        .opt_object("filter", &r.filter_object_type, r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListScheduleEventsRequest);

// --- schedule_scheduleeventresource ------------------------------------------------------

/// Handler of `schedule_scheduleeventresource`; see [`Client::schedule_event_resource`].
#[derive(Debug, Clone, Copy)]
pub struct ScheduleEventResourceHandler<'c> {
    client: &'c Client,
}

/// Builder of `scheduleEventResource.list`.
pub type ListScheduleEventResourcesBuilder<'c> =
    RequestBuilder<'c, ListScheduleEventResourcesRequest>;

impl<'c> ScheduleEventResourceHandler<'c> {
    /// `scheduleEventResource.add`: the event uses the resource (for Kaltura Meetings: the
    /// session takes place in the room).
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) if either does not exist or they are already
    /// linked; see [`Client::send`].
    pub async fn add(
        &self,
        event_id: impl Into<ScheduleEventId>,
        resource_id: impl Into<ScheduleResourceId>,
    ) -> Result<ScheduleEventResource> {
        self.client
            .send(AddScheduleEventResourceRequest::new(event_id, resource_id))
            .await
    }

    /// `scheduleEventResource.list`.
    pub fn list(&self) -> ListScheduleEventResourcesBuilder<'c> {
        RequestBuilder::new(self.client, ListScheduleEventResourcesRequest::default())
    }

    /// `scheduleEventResource.delete`: removes the link.
    ///
    /// # Errors
    ///
    /// See [`Client::send`].
    pub async fn delete(
        &self,
        event_id: impl Into<ScheduleEventId>,
        resource_id: impl Into<ScheduleResourceId>,
    ) -> Result<()> {
        self.client
            .send(DeleteScheduleEventResourceRequest::new(
                event_id,
                resource_id,
            ))
            .await
    }
}

impl RequestBuilder<'_, ListScheduleEventResourcesRequest> {
    /// The filter (sent as `KalturaScheduleEventResourceFilter`).
    pub fn filter(self, filter: ScheduleEventResourceFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

/// The body of `scheduleEventResource.add`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EventResourceLink {
    event_id: ScheduleEventId,
    resource_id: ScheduleResourceId,
}

/// `scheduleEventResource.add` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AddScheduleEventResourceRequest {
    /// The event.
    pub event_id: ScheduleEventId,
    /// The resource.
    pub resource_id: ScheduleResourceId,
}

impl AddScheduleEventResourceRequest {
    /// Links `event_id` to `resource_id`.
    pub fn new(
        event_id: impl Into<ScheduleEventId>,
        resource_id: impl Into<ScheduleResourceId>,
    ) -> Self {
        AddScheduleEventResourceRequest {
            event_id: event_id.into(),
            resource_id: resource_id.into(),
        }
    }
}

kaltura_request!(AddScheduleEventResourceRequest, EVENT_RESOURCE, "add" => ScheduleEventResource,
    |r, p| p.object(
        "scheduleEventResource",
        "KalturaScheduleEventResource",
        &EventResourceLink { event_id: r.event_id, resource_id: r.resource_id },
    )?);

/// `scheduleEventResource.delete` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteScheduleEventResourceRequest {
    /// The event.
    pub event_id: ScheduleEventId,
    /// The resource.
    pub resource_id: ScheduleResourceId,
}

impl DeleteScheduleEventResourceRequest {
    /// Unlinks `event_id` from `resource_id`.
    pub fn new(
        event_id: impl Into<ScheduleEventId>,
        resource_id: impl Into<ScheduleResourceId>,
    ) -> Self {
        DeleteScheduleEventResourceRequest {
            event_id: event_id.into(),
            resource_id: resource_id.into(),
        }
    }
}

kaltura_request!(DeleteScheduleEventResourceRequest, EVENT_RESOURCE, "delete" => (),
    |r, p| p
        .value("scheduleEventId", &r.event_id)?
        .value("scheduleResourceId", &r.resource_id)?);

/// `scheduleEventResource.list` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListScheduleEventResourcesRequest {
    /// The filter.
    pub filter: Option<ScheduleEventResourceFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

kaltura_request!(ListScheduleEventResourcesRequest, EVENT_RESOURCE, "list"
    => ListResponse<ScheduleEventResource>,
    |r, p| p
        .opt_object("filter", "KalturaScheduleEventResourceFilter", r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListScheduleEventResourcesRequest);
