//! The `eventnotification_eventnotificationtemplate` service: event notification templates,
//! i.e. Kaltura webhooks.
//!
//! ```no_run
//! use kaltura_client::types::event_notification::{
//!     EventNotificationTemplateFilter, EventNotificationTemplateStatus, HttpNotificationData,
//!     HttpNotificationMethod, HttpNotificationObjectData, HttpNotificationTemplateInput,
//!     SecureHashingAlgorithm,
//! };
//!
//! # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
//! // 1. The system template "entry status changed".
//! let system = client
//!     .event_notification_template()
//!     .list_templates()
//!     .filter(EventNotificationTemplateFilter::new().system_name_equal("HTTP_ENTRY_STATUS_CHANGED"))
//!     .send()
//!     .await?;
//! let Some(template_id) = system.objects.first().and_then(|t| t.id()) else { return Ok(()) };
//! // 2. A copy for the partner, pointing at our receiver.
//! let webhook = client
//!     .event_notification_template()
//!     .clone_template(
//!         template_id,
//!         HttpNotificationTemplateInput::new()
//!             .url("https://bot.example.org/kaltura/webhook")
//!             .method(HttpNotificationMethod::Post)
//!             .data(HttpNotificationData::Object(HttpNotificationObjectData::json("KalturaMediaEntry")))
//!             .secure_hashing_algo(SecureHashingAlgorithm::Sha256),
//!     )
//!     .await?;
//! // 3. Switch it on.
//! if let Some(id) = webhook.id() {
//!     client
//!         .event_notification_template()
//!         .update_status(id, EventNotificationTemplateStatus::Active)
//!         .await?;
//! }
//! # Ok(())
//! # }
//! ```

use crate::client::Client;
use crate::error::Result;
use crate::ids::EventNotificationTemplateId;
use crate::pagination::{ListItem, impl_paginated};
use crate::request::{RequestBuilder, kaltura_request};
use crate::types::event_notification::{
    EventNotificationTemplate, EventNotificationTemplateFilter, EventNotificationTemplateStatus,
    HTTP_NOTIFICATION_TEMPLATE, HttpNotificationTemplateInput,
};
use crate::types::{ListResponse, Pager};

const SERVICE: &str = "eventnotification_eventnotificationtemplate";
const FILTER: &str = "KalturaEventNotificationTemplateFilter";

impl Client {
    /// The `eventnotification_eventnotificationtemplate` service (webhooks); see the
    /// [module docs](crate::services::event_notification).
    pub fn event_notification_template(&self) -> EventNotificationTemplateHandler<'_> {
        EventNotificationTemplateHandler { client: self }
    }
}

impl ListItem for EventNotificationTemplate {
    fn item_key(&self) -> String {
        match self.id() {
            Some(id) => id.to_string(),
            None => self.system_name().unwrap_or_default().to_owned(),
        }
    }
}

/// Handler of `eventnotification_eventnotificationtemplate`; see
/// [`Client::event_notification_template`].
#[derive(Debug, Clone, Copy)]
pub struct EventNotificationTemplateHandler<'c> {
    client: &'c Client,
}

/// Builder of `list` and `listTemplates`.
pub type ListTemplatesBuilder<'c> = RequestBuilder<'c, ListTemplatesRequest>;

impl<'c> EventNotificationTemplateHandler<'c> {
    /// `listTemplates`: the system templates that can be cloned.
    pub fn list_templates(&self) -> ListTemplatesBuilder<'c> {
        RequestBuilder::new(self.client, ListTemplatesRequest::system())
    }

    /// `list`: the partner's templates.
    pub fn list(&self) -> ListTemplatesBuilder<'c> {
        RequestBuilder::new(self.client, ListTemplatesRequest::partner())
    }

    /// `get`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `EVENT_NOTIFICATION_TEMPLATE_NOT_FOUND`; see
    /// [`Client::send`].
    pub async fn get(
        &self,
        id: impl Into<EventNotificationTemplateId>,
    ) -> Result<EventNotificationTemplate> {
        self.client.send(GetTemplateRequest::new(id)).await
    }

    /// `clone`: copies system template `id` into the partner, with `changes` applied. The
    /// copy starts DISABLED.
    ///
    /// # Errors
    ///
    /// See [`EventNotificationTemplateHandler::get`].
    pub async fn clone_template(
        &self,
        id: impl Into<EventNotificationTemplateId>,
        changes: HttpNotificationTemplateInput,
    ) -> Result<EventNotificationTemplate> {
        self.client
            .send(CloneTemplateRequest::new(id, Some(changes)))
            .await
    }

    /// `add`: a new HTTP template (DISABLED until [`update_status`](Self::update_status)).
    ///
    /// # Errors
    ///
    /// See [`Client::send`].
    pub async fn add(
        &self,
        template: HttpNotificationTemplateInput,
    ) -> Result<EventNotificationTemplate> {
        self.client.send(AddTemplateRequest::new(template)).await
    }

    /// `update`: changes the fields set in `changes`, and only those.
    ///
    /// # Errors
    ///
    /// See [`EventNotificationTemplateHandler::get`].
    pub async fn update(
        &self,
        id: impl Into<EventNotificationTemplateId>,
        changes: HttpNotificationTemplateInput,
    ) -> Result<EventNotificationTemplate> {
        self.client
            .send(UpdateTemplateRequest::new(id, changes))
            .await
    }

    /// `updateStatus`: enables or disables a template.
    ///
    /// # Errors
    ///
    /// See [`EventNotificationTemplateHandler::get`].
    pub async fn update_status(
        &self,
        id: impl Into<EventNotificationTemplateId>,
        status: EventNotificationTemplateStatus,
    ) -> Result<EventNotificationTemplate> {
        self.client
            .send(UpdateTemplateStatusRequest::new(id, status))
            .await
    }

    /// `delete`.
    ///
    /// # Errors
    ///
    /// See [`EventNotificationTemplateHandler::get`].
    pub async fn delete(&self, id: impl Into<EventNotificationTemplateId>) -> Result<()> {
        self.client.send(DeleteTemplateRequest::new(id)).await
    }
}

impl RequestBuilder<'_, ListTemplatesRequest> {
    /// The filter (sent as `KalturaEventNotificationTemplateFilter`).
    pub fn filter(self, filter: EventNotificationTemplateFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

/// `list` (the partner's templates) or `listTemplates` (system templates) as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListTemplatesRequest {
    /// `true` for `listTemplates`.
    pub system: bool,
    /// The filter.
    pub filter: Option<EventNotificationTemplateFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

impl ListTemplatesRequest {
    /// `listTemplates`: system templates.
    pub fn system() -> Self {
        ListTemplatesRequest {
            system: true,
            filter: None,
            pager: None,
        }
    }

    /// `list`: the partner's templates.
    pub fn partner() -> Self {
        ListTemplatesRequest {
            system: false,
            filter: None,
            pager: None,
        }
    }
}

impl crate::request::KalturaRequest for ListTemplatesRequest {
    type Output = ListResponse<EventNotificationTemplate>;

    fn service(&self) -> &str {
        SERVICE
    }

    fn action(&self) -> &str {
        if self.system { "listTemplates" } else { "list" }
    }

    fn params(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let action = if self.system { "listTemplates" } else { "list" };
        Ok(crate::request::Params::new(SERVICE, action)
            .opt_object("filter", FILTER, self.filter.as_ref())?
            .filter_pager(self.pager.as_ref())?
            .build())
    }
}

impl_paginated!(ListTemplatesRequest);

/// `get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetTemplateRequest {
    /// The template.
    pub id: EventNotificationTemplateId,
}

impl GetTemplateRequest {
    /// Gets template `id`.
    pub fn new(id: impl Into<EventNotificationTemplateId>) -> Self {
        GetTemplateRequest { id: id.into() }
    }
}

kaltura_request!(GetTemplateRequest, SERVICE, "get" => EventNotificationTemplate,
    |r, p| p.value("id", &r.id)?);

/// `clone` as data.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CloneTemplateRequest {
    /// The template to copy.
    pub id: EventNotificationTemplateId,
    /// The Kaltura class of `changes` (default `KalturaHttpNotificationTemplate`).
    pub object_type: String,
    /// What to change in the copy.
    pub changes: Option<HttpNotificationTemplateInput>,
}

impl CloneTemplateRequest {
    /// Copies `id`, applying `changes`.
    pub fn new(
        id: impl Into<EventNotificationTemplateId>,
        changes: Option<HttpNotificationTemplateInput>,
    ) -> Self {
        CloneTemplateRequest {
            id: id.into(),
            object_type: HTTP_NOTIFICATION_TEMPLATE.to_owned(),
            changes,
        }
    }
}

kaltura_request!(CloneTemplateRequest, SERVICE, "clone" => EventNotificationTemplate,
    |r, p| p
        .value("id", &r.id)?
        .opt_object("eventNotificationTemplate", &r.object_type, r.changes.as_ref())?);

/// `add` as data.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AddTemplateRequest {
    /// The Kaltura class of `template` (default `KalturaHttpNotificationTemplate`).
    pub object_type: String,
    /// The new template.
    pub template: HttpNotificationTemplateInput,
}

impl AddTemplateRequest {
    /// Adds `template` as an HTTP template.
    pub fn new(template: HttpNotificationTemplateInput) -> Self {
        AddTemplateRequest {
            object_type: HTTP_NOTIFICATION_TEMPLATE.to_owned(),
            template,
        }
    }
}

kaltura_request!(AddTemplateRequest, SERVICE, "add" => EventNotificationTemplate,
    |r, p| p.object("eventNotificationTemplate", &r.object_type, &r.template)?);

/// `update` as data: only the fields set in `changes` are sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UpdateTemplateRequest {
    /// The template.
    pub id: EventNotificationTemplateId,
    /// The Kaltura class of `changes` (default `KalturaHttpNotificationTemplate`).
    pub object_type: String,
    /// The changes.
    pub changes: HttpNotificationTemplateInput,
}

impl UpdateTemplateRequest {
    /// Applies `changes` to template `id`.
    pub fn new(
        id: impl Into<EventNotificationTemplateId>,
        changes: HttpNotificationTemplateInput,
    ) -> Self {
        UpdateTemplateRequest {
            id: id.into(),
            object_type: HTTP_NOTIFICATION_TEMPLATE.to_owned(),
            changes,
        }
    }
}

kaltura_request!(UpdateTemplateRequest, SERVICE, "update" => EventNotificationTemplate,
    |r, p| p
        .value("id", &r.id)?
        .object("eventNotificationTemplate", &r.object_type, &r.changes)?);

/// `updateStatus` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateTemplateStatusRequest {
    /// The template.
    pub id: EventNotificationTemplateId,
    /// The new state.
    pub status: EventNotificationTemplateStatus,
}

impl UpdateTemplateStatusRequest {
    /// Sets the state of template `id`.
    pub fn new(
        id: impl Into<EventNotificationTemplateId>,
        status: EventNotificationTemplateStatus,
    ) -> Self {
        UpdateTemplateStatusRequest {
            id: id.into(),
            status,
        }
    }
}

kaltura_request!(UpdateTemplateStatusRequest, SERVICE, "updateStatus" => EventNotificationTemplate,
    |r, p| p.value("id", &r.id)?.value("status", &r.status)?);

/// `delete` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteTemplateRequest {
    /// The template.
    pub id: EventNotificationTemplateId,
}

impl DeleteTemplateRequest {
    /// Deletes template `id`.
    pub fn new(id: impl Into<EventNotificationTemplateId>) -> Self {
        DeleteTemplateRequest { id: id.into() }
    }
}

kaltura_request!(DeleteTemplateRequest, SERVICE, "delete" => (),
    |r, p| p.value("id", &r.id)?);
