//! The `virtualevent_virtualevent` service: Kaltura Events (needs the partner's virtual
//! event plugin; otherwise every call fails with `SERVICE_FORBIDDEN`).
//!
//! A KS with the privilege `virtualeventid:{id}` scopes a session to one event.

use crate::client::Client;
use crate::error::Result;
use crate::ids::VirtualEventId;
use crate::pagination::{ListItem, impl_paginated};
use crate::request::{RequestBuilder, builder_setters, kaltura_request};
use crate::types::virtual_event::virtual_event_input_fields;
use crate::types::virtual_event::{VirtualEvent, VirtualEventFilter, VirtualEventInput};
use crate::types::{ListResponse, Pager};

const SERVICE: &str = "virtualevent_virtualevent";

impl Client {
    /// The `virtualevent_virtualevent` service.
    ///
    /// ```no_run
    /// # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
    /// let event = client
    ///     .virtual_event()
    ///     .add("Launch week")
    ///     .description("Five days of talks")
    ///     .send()
    ///     .await?;
    /// let same = client.virtual_event().get(event.id).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn virtual_event(&self) -> VirtualEventHandler<'_> {
        VirtualEventHandler { client: self }
    }
}

impl ListItem for VirtualEvent {
    fn item_key(&self) -> String {
        self.id.to_string()
    }
}

/// Handler of `virtualevent_virtualevent`; see [`Client::virtual_event`].
#[derive(Debug, Clone, Copy)]
pub struct VirtualEventHandler<'c> {
    client: &'c Client,
}

/// Builder of `virtualEvent.add`.
pub type AddVirtualEventBuilder<'c> = RequestBuilder<'c, AddVirtualEventRequest>;
/// Builder of `virtualEvent.update`.
pub type UpdateVirtualEventBuilder<'c> = RequestBuilder<'c, UpdateVirtualEventRequest>;
/// Builder of `virtualEvent.list`.
pub type ListVirtualEventsBuilder<'c> = RequestBuilder<'c, ListVirtualEventsRequest>;

impl<'c> VirtualEventHandler<'c> {
    /// `virtualEvent.add` of an event named `name`.
    pub fn add(&self, name: impl Into<String>) -> AddVirtualEventBuilder<'c> {
        RequestBuilder::new(
            self.client,
            AddVirtualEventRequest::new(VirtualEventInput::new().name(name)),
        )
    }

    /// `virtualEvent.get`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `VIRTUAL_EVENT_NOT_FOUND`; see
    /// [`Client::send`].
    pub async fn get(&self, id: impl Into<VirtualEventId>) -> Result<VirtualEvent> {
        self.client.send(GetVirtualEventRequest::new(id)).await
    }

    /// `virtualEvent.list`.
    pub fn list(&self) -> ListVirtualEventsBuilder<'c> {
        RequestBuilder::new(self.client, ListVirtualEventsRequest::default())
    }

    /// `virtualEvent.update`: changes the fields set on the builder, and only those.
    pub fn update(&self, id: impl Into<VirtualEventId>) -> UpdateVirtualEventBuilder<'c> {
        RequestBuilder::new(
            self.client,
            UpdateVirtualEventRequest::new(id, VirtualEventInput::new()),
        )
    }

    /// `virtualEvent.delete`.
    ///
    /// # Errors
    ///
    /// See [`VirtualEventHandler::get`].
    pub async fn delete(&self, id: impl Into<VirtualEventId>) -> Result<()> {
        self.client.send(DeleteVirtualEventRequest::new(id)).await
    }
}

impl RequestBuilder<'_, ListVirtualEventsRequest> {
    /// The filter (sent as `KalturaVirtualEventFilter`).
    pub fn filter(self, filter: VirtualEventFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

virtual_event_input_fields!(builder_setters!(AddVirtualEventRequest => event) {});

virtual_event_input_fields!(builder_setters!(UpdateVirtualEventRequest => changes) {
    name: String,
});

/// `virtualEvent.add` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AddVirtualEventRequest {
    /// The new event (sent as `KalturaVirtualEvent`).
    pub event: VirtualEventInput,
}

impl AddVirtualEventRequest {
    /// Adds `event`.
    pub fn new(event: VirtualEventInput) -> Self {
        AddVirtualEventRequest { event }
    }
}

kaltura_request!(AddVirtualEventRequest, SERVICE, "add" => VirtualEvent,
    |r, p| p.object("virtualEvent", "KalturaVirtualEvent", &r.event)?);

/// `virtualEvent.get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetVirtualEventRequest {
    /// The event.
    pub id: VirtualEventId,
}

impl GetVirtualEventRequest {
    /// Gets event `id`.
    pub fn new(id: impl Into<VirtualEventId>) -> Self {
        GetVirtualEventRequest { id: id.into() }
    }
}

kaltura_request!(GetVirtualEventRequest, SERVICE, "get" => VirtualEvent,
    |r, p| p.value("id", &r.id)?);

/// `virtualEvent.update` as data: only the fields set in `changes` are sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateVirtualEventRequest {
    /// The event.
    pub id: VirtualEventId,
    /// The changes.
    pub changes: VirtualEventInput,
}

impl UpdateVirtualEventRequest {
    /// Applies `changes` to event `id`.
    pub fn new(id: impl Into<VirtualEventId>, changes: VirtualEventInput) -> Self {
        UpdateVirtualEventRequest {
            id: id.into(),
            changes,
        }
    }
}

kaltura_request!(UpdateVirtualEventRequest, SERVICE, "update" => VirtualEvent,
    |r, p| p
        .value("id", &r.id)?
        .object("virtualEvent", "KalturaVirtualEvent", &r.changes)?);

/// `virtualEvent.delete` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteVirtualEventRequest {
    /// The event.
    pub id: VirtualEventId,
}

impl DeleteVirtualEventRequest {
    /// Deletes event `id`.
    pub fn new(id: impl Into<VirtualEventId>) -> Self {
        DeleteVirtualEventRequest { id: id.into() }
    }
}

kaltura_request!(DeleteVirtualEventRequest, SERVICE, "delete" => (),
    |r, p| p.value("id", &r.id)?);

/// `virtualEvent.list` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListVirtualEventsRequest {
    /// The filter.
    pub filter: Option<VirtualEventFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

kaltura_request!(ListVirtualEventsRequest, SERVICE, "list" => ListResponse<VirtualEvent>,
    |r, p| p
        .opt_object("filter", "KalturaVirtualEventFilter", r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListVirtualEventsRequest);
