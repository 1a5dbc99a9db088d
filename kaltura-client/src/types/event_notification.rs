//! Models of `eventnotification_eventnotificationtemplate`: event notification templates,
//! typed for HTTP notifications (webhooks, `KalturaHttpNotificationTemplate`) and kept
//! untyped for the other kinds (e-mail, push, Kafka …).
//!
//! The usual webhook setup: find a system template with `listTemplates` (e.g.
//! `HTTP_ENTRY_STATUS_CHANGED`), `clone` it into the partner with a URL and a
//! [`HttpNotificationData`], then `updateStatus` to ACTIVE. Kaltura signs each delivery
//! with the partner's admin secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::common::{KeyValue, UnixTime, int_enum, setters, string_enum};
use crate::ids::{EventNotificationTemplateId, PartnerId};

/// `objectType` of an HTTP notification template.
pub const HTTP_NOTIFICATION_TEMPLATE: &str = "KalturaHttpNotificationTemplate";

string_enum! {
    /// Kind of template (`KalturaEventNotificationTemplateType`).
    pub enum EventNotificationTemplateType {
        /// HTTP (webhook).
        Http = "httpNotification.Http",
        /// E-mail.
        Email = "emailNotification.Email",
        /// Boolean (used by other features).
        Boolean = "booleanNotification.Boolean",
        /// Push.
        Push = "pushNotification.Push",
        /// Kafka.
        Kafka = "kafkaNotification.Kafka",
    }
}

int_enum! {
    /// State of a template (`KalturaEventNotificationTemplateStatus`).
    pub enum EventNotificationTemplateStatus {
        /// Disabled (the state after `add` and `clone`).
        Disabled = 1,
        /// Active: notifications are sent.
        Active = 2,
        /// Deleted.
        Deleted = 3,
    }
}

string_enum! {
    /// What happened (`KalturaEventNotificationEventType`).
    pub enum EventNotificationEventType {
        /// A batch job changed state.
        BatchJobStatus = "1",
        /// An object was added.
        ObjectAdded = "2",
        /// An object changed (e.g. an entry became READY).
        ObjectChanged = "3",
        /// An object was copied.
        ObjectCopied = "4",
        /// An object was created.
        ObjectCreated = "5",
        /// An object's data changed.
        ObjectDataChanged = "6",
        /// An object was deleted.
        ObjectDeleted = "7",
        /// An object was erased.
        ObjectErased = "8",
        /// An object was saved.
        ObjectSaved = "10",
        /// An object was updated.
        ObjectUpdated = "11",
        /// An object was replaced.
        ObjectReplaced = "12",
    }
}

string_enum! {
    /// The kind of object the event is about (`KalturaEventNotificationEventObjectType`):
    /// numbers for core objects, `plugin.Name` strings for plugin objects.
    pub enum EventNotificationEventObjectType {
        /// An entry.
        Entry = "1",
        /// A category.
        Category = "2",
        /// An asset.
        Asset = "3",
        /// A flavor asset.
        FlavorAsset = "4",
        /// A thumbnail asset.
        ThumbAsset = "5",
        /// A user.
        Kuser = "8",
        /// An access control profile.
        AccessControl = "9",
        /// A batch job.
        BatchJob = "10",
        /// A category membership.
        CategoryKuser = "12",
        /// A partner.
        Partner = "20",
        /// An entry in a category.
        CategoryEntry = "37",
        /// A virtual event (plugin).
        VirtualEvent = "virtualEventEventNotifications.VirtualEvent",
        /// A schedule event (plugin).
        ScheduleEvent = "scheduleEventNotifications.ScheduleEvent",
    }
}

int_enum! {
    /// HTTP method of a notification (`KalturaHttpNotificationMethod`).
    pub enum HttpNotificationMethod {
        /// GET (the payload goes into the query string).
        Get = 1,
        /// POST.
        Post = 2,
        /// PUT.
        Put = 3,
        /// DELETE.
        Delete = 4,
    }
}

int_enum! {
    /// Hash of the `X-KALTURA-SIGNATURE` header (`secureHashingAlgo`).
    pub enum SecureHashingAlgorithm {
        /// SHA-1 (the default, and the only one of older servers).
        Sha1 = 1,
        /// SHA-256.
        Sha256 = 2,
        /// SHA-512.
        Sha512 = 3,
    }
}

int_enum! {
    /// Serialization of the notified object (`KalturaResponseType` in
    /// `KalturaHttpNotificationObjectData.format`).
    pub enum NotificationFormat {
        /// JSON.
        Json = 1,
        /// XML.
        Xml = 2,
        /// PHP serialization.
        Php = 3,
    }
}

/// The body of an HTTP notification (`data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "objectType")]
#[non_exhaustive]
pub enum HttpNotificationData {
    /// The notified object itself, wrapped in a `KalturaHttpNotification`.
    #[serde(rename = "KalturaHttpNotificationObjectData")]
    Object(HttpNotificationObjectData),
    /// A form body of the template's content parameters.
    #[serde(rename = "KalturaHttpNotificationDataFields")]
    Fields(Map<String, Value>),
    /// Free text with `{parameter}` substitution.
    #[serde(rename = "KalturaHttpNotificationDataText")]
    Text(HttpNotificationDataText),
    /// Another kind, kept as sent (with its `objectType`).
    #[serde(untagged)]
    Other(Value),
}

/// `KalturaHttpNotificationObjectData`: send the object (e.g. the entry) as JSON, XML or
/// PHP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HttpNotificationObjectData {
    /// The API class to render the object as, e.g. `KalturaMediaEntry`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::de::opt_string"
    )]
    pub api_object_type: Option<String>,
    /// The serialization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<NotificationFormat>,
    /// Whether to leave out null properties.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::common::opt_bool"
    )]
    pub ignore_null: Option<bool>,
    /// A response profile shaping the object.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::de::opt_int"
    )]
    pub response_profile_id: Option<i64>,
}

impl HttpNotificationObjectData {
    /// The object as `api_object_type` (e.g. `KalturaMediaEntry`) in JSON, without nulls.
    pub fn json(api_object_type: impl Into<String>) -> Self {
        HttpNotificationObjectData {
            api_object_type: Some(api_object_type.into()),
            format: Some(NotificationFormat::Json),
            ignore_null: Some(true),
            response_profile_id: None,
        }
    }
}

/// `KalturaHttpNotificationDataText`: a free-text body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HttpNotificationDataText {
    /// The text (a `KalturaStringValue` or another `KalturaStringField`), untyped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
}

impl HttpNotificationDataText {
    /// A fixed text (`KalturaStringValue`).
    pub fn new(text: impl Into<String>) -> Self {
        HttpNotificationDataText {
            content: Some(serde_json::json!({
                "value": text.into(),
                "objectType": "KalturaStringValue",
            })),
        }
    }
}

/// An HTTP notification template (`KalturaHttpNotificationTemplate`): a webhook.
///
/// `Debug` shows the basic-auth password redacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HttpNotificationTemplate {
    /// The id.
    pub id: EventNotificationTemplateId,
    /// The owning partner (0 for system templates).
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// The name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub name: Option<String>,
    /// A unique system name, e.g. `HTTP_ENTRY_STATUS_CHANGED`.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub system_name: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub description: Option<String>,
    /// Kind of template (`type` on the wire).
    #[serde(default, rename = "type")]
    pub template_type: Option<EventNotificationTemplateType>,
    /// State.
    #[serde(default)]
    pub status: Option<EventNotificationTemplateStatus>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
    /// Whether it may be dispatched manually.
    #[serde(default, deserialize_with = "super::common::opt_bool")]
    pub manual_dispatch_enabled: Option<bool>,
    /// Whether events dispatch it.
    #[serde(default, deserialize_with = "super::common::opt_bool")]
    pub automatic_dispatch_enabled: Option<bool>,
    /// The event.
    #[serde(default)]
    pub event_type: Option<EventNotificationEventType>,
    /// The kind of object.
    #[serde(default)]
    pub event_object_type: Option<EventNotificationEventObjectType>,
    /// Conditions (e.g. "status modified"), untyped.
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub event_conditions: Vec<Value>,
    /// Content parameters (`{key, description, value}`), untyped.
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub content_parameters: Vec<Value>,
    /// User parameters, untyped.
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub user_parameters: Vec<Value>,
    /// The URL called.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub url: Option<String>,
    /// The method.
    #[serde(default)]
    pub method: Option<HttpNotificationMethod>,
    /// The body.
    #[serde(default)]
    pub data: Option<HttpNotificationData>,
    /// Request timeout (seconds).
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub timeout: Option<i64>,
    /// Connect timeout (seconds).
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub connect_timeout: Option<i64>,
    /// Basic-auth user.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub username: Option<String>,
    /// Basic-auth password.
    #[serde(default, deserialize_with = "opt_secret")]
    pub password: Option<SecretString>,
    /// Extra headers.
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub custom_headers: Vec<KeyValue>,
    /// Hash of the signature header.
    #[serde(default)]
    pub secure_hashing_algo: Option<SecureHashingAlgorithm>,
    /// The Kaltura class (`KalturaHttpNotificationTemplate`).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub object_type: Option<String>,
    /// Properties this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An event notification template of any kind: typed for HTTP, the raw properties for the
/// others.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EventNotificationTemplate {
    /// `KalturaHttpNotificationTemplate`.
    Http(Box<HttpNotificationTemplate>),
    /// Any other kind (`KalturaEmailNotificationTemplate` …): its properties, `objectType`
    /// included.
    Other(Map<String, Value>),
}

impl EventNotificationTemplate {
    /// The HTTP template, if it is one.
    pub fn as_http(&self) -> Option<&HttpNotificationTemplate> {
        match self {
            EventNotificationTemplate::Http(t) => Some(t),
            EventNotificationTemplate::Other(_) => None,
        }
    }

    /// The id (`None` only if an untyped template lacks a numeric one).
    pub fn id(&self) -> Option<EventNotificationTemplateId> {
        match self {
            EventNotificationTemplate::Http(t) => Some(t.id),
            EventNotificationTemplate::Other(m) => m
                .get("id")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
        }
    }

    /// The system name, e.g. `HTTP_ENTRY_STATUS_CHANGED`.
    pub fn system_name(&self) -> Option<&str> {
        match self {
            EventNotificationTemplate::Http(t) => t.system_name.as_deref(),
            EventNotificationTemplate::Other(m) => m.get("systemName").and_then(Value::as_str),
        }
    }

    /// The name.
    pub fn name(&self) -> Option<&str> {
        match self {
            EventNotificationTemplate::Http(t) => t.name.as_deref(),
            EventNotificationTemplate::Other(m) => m.get("name").and_then(Value::as_str),
        }
    }

    /// The state.
    pub fn status(&self) -> Option<EventNotificationTemplateStatus> {
        match self {
            EventNotificationTemplate::Http(t) => t.status,
            EventNotificationTemplate::Other(m) => m
                .get("status")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
        }
    }

    /// The Kaltura class.
    pub fn object_type(&self) -> Option<&str> {
        match self {
            EventNotificationTemplate::Http(t) => t.object_type.as_deref(),
            EventNotificationTemplate::Other(m) => m.get("objectType").and_then(Value::as_str),
        }
    }
}

impl<'de> Deserialize<'de> for EventNotificationTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let map = Map::<String, Value>::deserialize(d)?;
        if map.get("objectType").and_then(Value::as_str) == Some(HTTP_NOTIFICATION_TEMPLATE) {
            serde_json::from_value(Value::Object(map))
                .map(|t| EventNotificationTemplate::Http(Box::new(t)))
                .map_err(D::Error::custom)
        } else {
            Ok(EventNotificationTemplate::Other(map))
        }
    }
}

/// The writable properties of an HTTP notification template, for `add`, `clone` and
/// `update` (sent as `KalturaHttpNotificationTemplate`). Only the fields that are `Some`
/// (or non-empty, for [`extra`](Self::extra)) are sent.
#[derive(Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HttpNotificationTemplateInput {
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A unique system name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_name: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventNotificationEventType>,
    /// The kind of object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_object_type: Option<EventNotificationEventObjectType>,
    /// Conditions, untyped (each with its `objectType`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_conditions: Option<Vec<Value>>,
    /// Content parameters, untyped (each with its `objectType`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_parameters: Option<Vec<Value>>,
    /// Whether events dispatch it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic_dispatch_enabled: Option<bool>,
    /// Whether it may be dispatched manually.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_dispatch_enabled: Option<bool>,
    /// The URL to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpNotificationMethod>,
    /// The body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<HttpNotificationData>,
    /// Request timeout (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Connect timeout (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<i64>,
    /// Basic-auth user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Basic-auth password (sent, never shown by `Debug`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    pub password: Option<SecretString>,
    /// Extra headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_headers: Option<Vec<KeyValue>>,
    /// Hash of the signature header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_hashing_algo: Option<SecureHashingAlgorithm>,
    /// Other properties, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for HttpNotificationTemplateInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpNotificationTemplateInput")
            .field("name", &self.name)
            .field("system_name", &self.system_name)
            .field("event_type", &self.event_type)
            .field("event_object_type", &self.event_object_type)
            .field("url", &self.url)
            .field("method", &self.method)
            .field("data", &self.data)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .field("secure_hashing_algo", &self.secure_hashing_algo)
            .finish_non_exhaustive()
    }
}

impl HttpNotificationTemplateInput {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`password`](Self::password).
    #[must_use]
    pub fn password(mut self, password: impl Into<SecretString>) -> Self {
        self.password = Some(password.into());
        self
    }
}

setters!(HttpNotificationTemplateInput {
    name: String,
    system_name: String,
    description: String,
    event_type: EventNotificationEventType,
    event_object_type: EventNotificationEventObjectType,
    event_conditions: [Value],
    content_parameters: [Value],
    automatic_dispatch_enabled: bool,
    manual_dispatch_enabled: bool,
    url: String,
    method: HttpNotificationMethod,
    data: HttpNotificationData,
    timeout: i64,
    connect_timeout: i64,
    username: String,
    custom_headers: [KeyValue],
    secure_hashing_algo: SecureHashingAlgorithm,
});

/// Filter of `list` and `listTemplates` (`KalturaEventNotificationTemplateFilter`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EventNotificationTemplateFilter {
    /// Only this template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_equal: Option<EventNotificationTemplateId>,
    /// Only these templates.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub id_in: Option<Vec<EventNotificationTemplateId>>,
    /// With this system name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_name_equal: Option<String>,
    /// With any of these system names.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub system_name_in: Option<Vec<String>>,
    /// Of this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_equal: Option<EventNotificationTemplateType>,
    /// In this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_equal: Option<EventNotificationTemplateStatus>,
    /// In any of these states.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub status_in: Option<Vec<EventNotificationTemplateStatus>>,
    /// Created at or after (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_greater_than_or_equal: Option<UnixTime>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<EventNotificationTemplateOrderBy>,
}

string_enum! {
    /// Sort order of event notification template lists
    /// (`KalturaEventNotificationTemplateOrderBy`).
    pub enum EventNotificationTemplateOrderBy {
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first.
        CreatedAtDesc = "-createdAt",
        /// By id, ascending.
        IdAsc = "+id",
        /// By id, descending.
        IdDesc = "-id",
        /// Least recently updated first.
        UpdatedAtAsc = "+updatedAt",
        /// Most recently updated first.
        UpdatedAtDesc = "-updatedAt",
    }
}

impl EventNotificationTemplateFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(EventNotificationTemplateFilter {
    id_equal: EventNotificationTemplateId,
    id_in: [EventNotificationTemplateId],
    system_name_equal: String,
    system_name_in: [String],
    type_equal: EventNotificationTemplateType,
    status_equal: EventNotificationTemplateStatus,
    status_in: [EventNotificationTemplateStatus],
    created_at_greater_than_or_equal: UnixTime,
    order_by: EventNotificationTemplateOrderBy,
});

fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(super::de::opt_string(d)?.map(SecretString::from))
}

fn expose_secret<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_variants_round_trip() {
        let object: HttpNotificationData =
            HttpNotificationData::Object(HttpNotificationObjectData::json("KalturaMediaEntry"));
        let json = serde_json::to_value(&object).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"objectType": "KalturaHttpNotificationObjectData",
                               "apiObjectType": "KalturaMediaEntry", "format": 1, "ignoreNull": true})
        );
        assert_eq!(
            serde_json::from_value::<HttpNotificationData>(json).unwrap(),
            object
        );
        let other: HttpNotificationData =
            serde_json::from_str(r#"{"objectType":"KalturaFutureData","x":1}"#).unwrap();
        assert!(matches!(other, HttpNotificationData::Other(_)));
        let fields: HttpNotificationData =
            serde_json::from_str(r#"{"objectType":"KalturaHttpNotificationDataFields"}"#).unwrap();
        assert!(matches!(fields, HttpNotificationData::Fields(_)));
    }

    #[test]
    fn template_dispatches_on_object_type_and_hides_password() {
        let http: EventNotificationTemplate = serde_json::from_str(
            r#"{"id":"45","partnerId":0,"name":"Entry Status Changed","systemName":"HTTP_ENTRY_STATUS_CHANGED",
                "type":"httpNotification.Http","status":2,"eventType":"3","eventObjectType":1,
                "url":"https://x","method":2,"password":"hunter2","objectType":"KalturaHttpNotificationTemplate"}"#,
        )
        .unwrap();
        let t = http.as_http().unwrap();
        assert_eq!(
            t.event_type,
            Some(EventNotificationEventType::ObjectChanged)
        );
        assert_eq!(
            t.event_object_type,
            Some(EventNotificationEventObjectType::Entry)
        );
        assert_eq!(http.id(), Some(EventNotificationTemplateId::new(45)));
        assert!(!format!("{http:?}").contains("hunter2"));
        let email: EventNotificationTemplate = serde_json::from_str(
            r#"{"id":7,"systemName":"EMAIL","status":"1","objectType":"KalturaEmailNotificationTemplate"}"#,
        )
        .unwrap();
        assert!(email.as_http().is_none());
        assert_eq!(email.id(), Some(EventNotificationTemplateId::new(7)));
        assert_eq!(
            email.status(),
            Some(EventNotificationTemplateStatus::Disabled)
        );
        assert_eq!(email.system_name(), Some("EMAIL"));
        let input = HttpNotificationTemplateInput::new().password("hunter2");
        assert!(!format!("{input:?}").contains("hunter2"));
        assert_eq!(serde_json::to_value(&input).unwrap()["password"], "hunter2");
    }
}
