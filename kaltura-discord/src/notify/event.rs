//! A received Kaltura HTTP notification, parsed into an [`InboundEvent`].
//!
//! Parsing happens only after the signature was verified ([`super::signature`]).
//!
//! # Body forms
//!
//! [`parse`] reads every form Kaltura's HTTP notification templates send:
//!
//! | Form | Content type | `meta.format` |
//! |---|---|---|
//! | raw JSON `KalturaHttpNotification` | `application/json` | `json` |
//! | legacy `data=<urlencoded JSON>` (templates with `urlEncode`) | form, or labelled JSON | `form_json` |
//! | `data=<XML notification>` (or a bare XML document) | form or `application/xml` | `xml` |
//! | field templates `entry_id=…&entry_status=…` (no `data` key) | form | `fields` |
//!
//! XML elements map to the JSON shape: an element with child elements is an object (one key
//! per child; `<objectType>` is an ordinary child), an element whose children are all
//! `<item>` is an array, an element with only text is a string, an empty element is `""`.
//! A field template's object is its field map, with `id` taken from `entry_id` (or `id`).
//!
//! Enums and numbers Kaltura may send as `3` or `"3"` (`status`, `mediaType`, `type`,
//! `duration`, `createdAt`, `entry_status`, …, see [`NUMERIC_FIELDS`]) are normalized to JSON
//! numbers in [`InboundEvent::object`]; `eventType` and `eventObjectType` are kept as text in
//! [`NotificationMeta`].
//!
//! # Bounds
//!
//! Bodies nested deeper than [`MAX_DEPTH`] levels or with more than [`MAX_FIELDS`]
//! fields, values or elements are refused as malformed; XML with a DTD is refused (no
//! entities, no external references). Parsing is linear in the body size.
//!
//! # Kinds
//!
//! The [`EventKind`] is decided from the template's system name, `eventType`,
//! `eventObjectType` and the object's `objectType`, in this order (the first rule that
//! matches wins):
//!
//! 1. **Captions ready** ([`EventKind::CaptionsReady`]): the template system name starts with
//!    `Http_Entry_Vendor_Task_Finished` (any case), or the object is a `Kaltura*VendorTask`
//!    or a `KalturaCaptionAsset` whose `status` is READY (2). Subject: the object's
//!    `entryId`.
//! 2. **Meeting scheduled** ([`EventKind::MeetingScheduled`]): `eventObjectType` is
//!    `scheduleEventNotifications.ScheduleEvent`, or the object is a `Kaltura*ScheduleEvent`
//!    (the meeting lifecycle refines it into live, ended…). Subject: the schedule event id.
//! 3. **Entry added to a category** ([`EventKind::EntryAddedToCategory`]): the template is
//!    `HTTP_ENTRY_ADDED_TO_CATEGORY`, or `eventObjectType` is CATEGORYENTRY (37) /
//!    the object a `KalturaCategoryEntry`, with `eventType` OBJECT_ADDED (2) or
//!    OBJECT_CREATED (5) (or none). Subject: the object's `entryId`.
//! 4. **Entry ready** ([`EventKind::EntryReady`]): an entry (`eventObjectType` ENTRY (1), an
//!    object `Kaltura*Entry`, or a field template with `entry_id`) whose `status` (or
//!    `entry_status`) is READY (2), on a status template (system name containing `STATUS`
//!    or `READY`), or with no system name and `eventType` OBJECT_CHANGED (3) or none.
//! 5. **Entry changed** ([`EventKind::EntryChanged`]): any other change of an entry
//!    (`eventType` other than OBJECT_DELETED (7) and OBJECT_ERASED (8)).
//! 6. Anything else: no kind (`None`); the event is stored and logged, never refused.
//!
//! For entries the subject is the object's `id`; for unknown events the object's `id` when it
//! has one.
//!
//! # Deduplication
//!
//! [`InboundEvent::dedup_key`] is `job:{eventNotificationJobId}` when Kaltura sent one (the
//! same on every retry), else `body:{hex sha256 of the raw body}`.

use std::borrow::Cow;

use kaltura_client::PartnerId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

/// Deepest nesting [`parse`] accepts (objects, arrays, XML elements).
pub const MAX_DEPTH: usize = 64;

/// Most fields, values or elements [`parse`] accepts in one body.
pub const MAX_FIELDS: usize = 10_000;

/// Object fields whose value Kaltura may send as a number or a numeric string; [`parse`]
/// turns numeric strings into numbers. Matched ignoring case and `_` (so `entry_status`
/// matches `entryStatus`).
pub const NUMERIC_FIELDS: &[&str] = &[
    "status",
    "mediatype",
    "type",
    "moderationstatus",
    "partnerid",
    "duration",
    "msduration",
    "createdat",
    "updatedat",
    "categoryid",
    "startdate",
    "enddate",
    "recurrencetype",
    "entrystatus",
    "entrymediatype",
    "entrytype",
    "entryduration",
    "entrymoderationstatus",
    "entrycreatedat",
    "entryupdatedat",
];

const ENTRY_STATUS_READY: i64 = 2;

/// Parses a notification body received for `partner` (after its signature was verified).
///
/// `content_type` is the request's `Content-Type` (parameters such as `charset` ignored);
/// see the [module documentation](self) for the forms, the kinds and the bounds.
///
/// # Errors
///
/// - [`PayloadError::Empty`] for an empty (or blank) body;
/// - [`PayloadError::ContentTypeMismatch`] for XML declared as JSON, or JSON declared as XML;
/// - [`PayloadError::Malformed`] when the body is not valid in its form, is not an object,
///   or passes [`MAX_DEPTH`] or [`MAX_FIELDS`];
/// - [`PayloadError::UnsupportedContentType`] for content types that carry no notification
///   (`multipart/form-data`, `image/png`, …).
///
/// ```
/// use kaltura_client::PartnerId;
/// use kaltura_discord::notify::EventKind;
/// use kaltura_discord::notify::event::parse;
///
/// let body = br#"{"object":{"id":"0_abc","status":"2","objectType":"KalturaMediaEntry"},
///     "eventObjectType":"1","eventNotificationJobId":123,
///     "templateSystemName":"HTTP_ENTRY_STATUS_CHANGED","eventType":3}"#;
/// let event = parse(PartnerId::new(12345), Some("application/json"), body, 1_700_000_000)?;
/// assert_eq!(event.kind, Some(EventKind::EntryReady));
/// assert_eq!(event.subject.as_deref(), Some("0_abc"));
/// assert_eq!(event.dedup_key, "job:123");
/// assert_eq!(event.object["status"], 2);
/// # Ok::<(), kaltura_discord::notify::PayloadError>(())
/// ```
pub fn parse(
    partner: PartnerId,
    content_type: Option<&str>,
    body: &[u8],
    received_at: i64,
) -> Result<InboundEvent, PayloadError> {
    let trimmed = trim_ascii(strip_bom(body));
    if trimmed.is_empty() {
        return Err(PayloadError::Empty);
    }
    let declared = Declared::of(content_type)?;
    let sniffed = Sniffed::of(trimmed);
    let (format, notification) = match (declared, sniffed) {
        (Declared::Json(ct), Sniffed::Xml) => {
            return Err(PayloadError::ContentTypeMismatch {
                declared: ct,
                found: "XML",
            });
        }
        (Declared::Xml(ct), Sniffed::Json) => {
            return Err(PayloadError::ContentTypeMismatch {
                declared: ct,
                found: "JSON",
            });
        }
        (_, Sniffed::Json) => ("json", parse_json(trimmed)?),
        (_, Sniffed::Xml) => ("xml", parse_xml(trimmed)?),
        (declared, Sniffed::Form) => parse_form(trimmed, &declared)?,
    };
    Ok(build(partner, format, notification, body, received_at))
}

/// What the request declares.
enum Declared {
    Json(String),
    Xml(String),
    Form,
    Unknown,
}

impl Declared {
    fn of(content_type: Option<&str>) -> Result<Declared, PayloadError> {
        let Some(raw) = content_type else {
            return Ok(Declared::Unknown);
        };
        let essence = raw
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let shown = || essence.chars().take(64).collect::<String>();
        Ok(match essence.as_str() {
            "application/json" | "text/json" => Declared::Json(shown()),
            e if e.starts_with("application/") && e.ends_with("+json") => Declared::Json(shown()),
            "application/xml" | "text/xml" => Declared::Xml(shown()),
            "application/x-www-form-urlencoded" => Declared::Form,
            "" | "text/plain" | "application/octet-stream" => Declared::Unknown,
            _ => return Err(PayloadError::UnsupportedContentType(shown())),
        })
    }
}

/// What the body looks like.
#[derive(Clone, Copy)]
enum Sniffed {
    Json,
    Xml,
    Form,
}

impl Sniffed {
    fn of(body: &[u8]) -> Sniffed {
        match body.first() {
            Some(b'{' | b'[') => Sniffed::Json,
            Some(b'<') => Sniffed::Xml,
            _ => Sniffed::Form,
        }
    }
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

fn trim_ascii(body: &[u8]) -> &[u8] {
    body.trim_ascii()
}

fn malformed(format: &'static str, detail: impl Into<String>) -> PayloadError {
    PayloadError::Malformed {
        format,
        detail: detail.into(),
    }
}

/// Checks nesting and size of a JSON text in one pass, before serde_json builds anything.
fn check_json_bounds(text: &[u8]) -> Result<(), PayloadError> {
    let mut depth = 0usize;
    let mut values = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth = depth.saturating_add(1);
                values = values.saturating_add(1);
                if depth > MAX_DEPTH {
                    return Err(malformed(
                        "JSON",
                        format!("nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' => values = values.saturating_add(1),
            _ => {}
        }
        if values > MAX_FIELDS {
            return Err(malformed(
                "JSON",
                format!("more than {MAX_FIELDS} fields or values"),
            ));
        }
    }
    Ok(())
}

fn parse_json(text: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    check_json_bounds(text)?;
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed("JSON", "expected a JSON object")),
        Err(e) => Err(malformed(
            "JSON",
            format!(
                "{} at line {} column {}",
                json_error_kind(&e),
                e.line(),
                e.column()
            ),
        )),
    }
}

/// The class of a serde_json error without its message (which may quote the body).
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "unexpected end of input",
    }
}

fn parse_xml(text: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    let text = std::str::from_utf8(text).map_err(|e| {
        malformed(
            "XML",
            format!("not UTF-8 (invalid byte at {})", e.valid_up_to()),
        )
    })?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        // Elements, text and attribute nodes: a generous multiple of MAX_FIELDS elements.
        nodes_limit: 4 * MAX_FIELDS as u32,
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let detail = match e {
            roxmltree::Error::NodesLimitReached => {
                format!("more than {MAX_FIELDS} elements")
            }
            other => {
                let pos = other.pos();
                format!(
                    "{} at line {} column {}",
                    xml_error_kind(&other),
                    pos.row,
                    pos.col
                )
            }
        };
        malformed("XML", detail)
    })?;
    let mut root = doc.root_element();
    // `<xml><result>…</result></xml>`, Kaltura's API response envelope.
    if root.has_tag_name("xml") {
        let mut children = root.children().filter(roxmltree::Node::is_element);
        if let (Some(only), None) = (children.next(), children.next())
            && only.has_tag_name("result")
        {
            root = only;
        }
    }
    let mut elements = 0usize;
    match xml_value(root, 1, &mut elements)? {
        Value::Object(map) => Ok(map),
        _ => Err(malformed("XML", "the root element has no child elements")),
    }
}

/// A short description of a roxmltree error without the text it quotes.
fn xml_error_kind(e: &roxmltree::Error) -> &'static str {
    match e {
        roxmltree::Error::DtdDetected => "a DTD (not allowed)",
        roxmltree::Error::UnexpectedCloseTag(..) => "an unexpected closing tag",
        roxmltree::Error::UnknownEntityReference(..) => "an unknown entity",
        roxmltree::Error::UnexpectedEndOfStream => "unexpected end of input",
        roxmltree::Error::EntityReferenceLoop(_) => "an entity loop",
        _ => "a syntax error",
    }
}

fn xml_value(
    node: roxmltree::Node<'_, '_>,
    depth: usize,
    elements: &mut usize,
) -> Result<Value, PayloadError> {
    if depth > MAX_DEPTH {
        return Err(malformed(
            "XML",
            format!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    *elements = elements.saturating_add(1);
    if *elements > MAX_FIELDS {
        return Err(malformed("XML", format!("more than {MAX_FIELDS} elements")));
    }
    let children: Vec<roxmltree::Node<'_, '_>> = node
        .children()
        .filter(roxmltree::Node::is_element)
        .collect();
    if children.is_empty() {
        let text: String = node
            .children()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        return Ok(Value::String(text.trim().to_owned()));
    }
    if children.iter().all(|c| c.has_tag_name("item")) {
        let items = children
            .into_iter()
            .map(|c| xml_value(c, depth.saturating_add(1), elements))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::Array(items));
    }
    let mut map = Map::new();
    for child in children {
        let value = xml_value(child, depth.saturating_add(1), elements)?;
        map.insert(child.tag_name().name().to_owned(), value);
    }
    Ok(Value::Object(map))
}

fn parse_form(
    text: &[u8],
    declared: &Declared,
) -> Result<(&'static str, Map<String, Value>), PayloadError> {
    if std::str::from_utf8(text).is_err() {
        return Err(malformed("form data", "not UTF-8"));
    }
    let mut fields: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
    for (i, pair) in url::form_urlencoded::parse(text).enumerate() {
        if i >= MAX_FIELDS {
            return Err(malformed(
                "form data",
                format!("more than {MAX_FIELDS} fields"),
            ));
        }
        fields.push(pair);
    }
    if fields.iter().all(|(k, _)| k.is_empty()) {
        return Err(malformed("form data", "no field"));
    }
    if let Some((_, data)) = fields.iter().find(|(k, _)| k == "data") {
        let data = trim_ascii(strip_bom(data.as_bytes()));
        if data.is_empty() {
            return Err(PayloadError::Empty);
        }
        return match (Sniffed::of(data), declared) {
            (Sniffed::Xml, Declared::Json(ct)) => Err(PayloadError::ContentTypeMismatch {
                declared: ct.clone(),
                found: "XML",
            }),
            (Sniffed::Json, Declared::Xml(ct)) => Err(PayloadError::ContentTypeMismatch {
                declared: ct.clone(),
                found: "JSON",
            }),
            (Sniffed::Json, _) => Ok(("form_json", parse_json(data)?)),
            (Sniffed::Xml, _) => Ok(("xml", parse_xml(data)?)),
            (Sniffed::Form, _) => Err(malformed(
                "form data",
                "the data field is neither JSON nor XML",
            )),
        };
    }
    if let Declared::Json(ct) | Declared::Xml(ct) = declared {
        // A field template declared as JSON or XML: the body is none of those.
        return Err(PayloadError::ContentTypeMismatch {
            declared: ct.clone(),
            found: "form data",
        });
    }
    let mut object = Map::new();
    for (key, value) in fields {
        if !key.is_empty() {
            object.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    if !object.contains_key("id")
        && let Some(id) = object.get("entry_id").cloned()
    {
        object.insert("id".to_owned(), id);
    }
    // A field template is the object itself; its meta (if the template passes any) is
    // read from the same map.
    let mut notification = Map::new();
    for (from, to) in [
        ("event_notification_job_id", "eventNotificationJobId"),
        ("template_id", "templateId"),
        ("template_system_name", "templateSystemName"),
        ("event_type", "eventType"),
        ("event_object_type", "eventObjectType"),
    ] {
        if let Some(v) = object.get(from).or_else(|| object.get(to)) {
            notification.insert(to.to_owned(), v.clone());
        }
    }
    notification.insert("object".to_owned(), Value::Object(object));
    Ok(("fields", notification))
}

/// Text of a scalar JSON value (`3` and `"3"` both give `3`).
fn scalar_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.chars().take(256).collect())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn scalar_int(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Turns numeric strings of [`NUMERIC_FIELDS`] into numbers, in nested objects too (the
/// depth was bounded when parsing).
fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if let Value::String(s) = v {
                    if NUMERIC_FIELDS.contains(&normalize_key(key).as_str())
                        && let Ok(n) = s.trim().parse::<i64>()
                    {
                        *v = Value::from(n);
                    }
                } else {
                    normalize(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn build(
    partner: PartnerId,
    format: &'static str,
    mut notification: Map<String, Value>,
    body: &[u8],
    received_at: i64,
) -> InboundEvent {
    let meta = NotificationMeta {
        job_id: scalar_int(notification.get("eventNotificationJobId")),
        template_id: scalar_int(notification.get("templateId")),
        template_system_name: scalar_text(notification.get("templateSystemName")),
        event_type: scalar_text(notification.get("eventType")),
        event_object_type: scalar_text(notification.get("eventObjectType")),
        format: format.to_owned(),
    };
    // A JSON object without `object` is kept whole (an unknown or custom notification).
    let mut object = match notification.remove("object") {
        Some(object @ Value::Object(_)) => object,
        Some(other) => {
            notification.insert("object".to_owned(), other);
            Value::Object(notification)
        }
        None => Value::Object(notification),
    };
    normalize(&mut object);
    let (kind, subject) = classify(&meta, &object);
    let dedup_key = match meta.job_id {
        Some(job) => format!("job:{job}"),
        None => format!("body:{}", super::signature::sha256_hex(body)),
    };
    InboundEvent {
        partner_id: partner,
        dedup_key,
        kind,
        subject,
        object,
        meta,
        received_at,
    }
}

fn text_field(object: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| scalar_text(object.get(*k)))
}

fn int_field(object: &Value, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| scalar_int(object.get(*k)))
}

/// The kind and subject of an event: the rules of the [module documentation](self).
fn classify(meta: &NotificationMeta, object: &Value) -> (Option<EventKind>, Option<String>) {
    let system = meta.template_system_name.as_deref().unwrap_or_default();
    let system_upper = system.to_ascii_uppercase();
    let object_type = text_field(object, &["objectType"]).unwrap_or_default();
    let event_object_type = meta.event_object_type.as_deref().unwrap_or_default();
    let event_type = meta.event_type.as_deref();
    let status = int_field(object, &["status", "entry_status", "entryStatus"]);
    let id = text_field(object, &["id", "entry_id"]);
    let entry_id = || text_field(object, &["entryId", "entry_id"]);

    // 1. Captions.
    let vendor_task = object_type.starts_with("Kaltura") && object_type.ends_with("VendorTask");
    if system_upper.starts_with("HTTP_ENTRY_VENDOR_TASK_FINISHED")
        || ((vendor_task || object_type == "KalturaCaptionAsset")
            && status == Some(ENTRY_STATUS_READY))
    {
        return (Some(EventKind::CaptionsReady), entry_id().or(id));
    }
    // 2. Schedule events.
    if event_object_type.eq_ignore_ascii_case("scheduleEventNotifications.ScheduleEvent")
        || (object_type.starts_with("Kaltura") && object_type.ends_with("ScheduleEvent"))
    {
        return (Some(EventKind::MeetingScheduled), id);
    }
    // 3. Category entries.
    let category_entry = event_object_type == "37" || object_type == "KalturaCategoryEntry";
    if system_upper == "HTTP_ENTRY_ADDED_TO_CATEGORY"
        || (category_entry && matches!(event_type, None | Some("2" | "5")))
    {
        return (Some(EventKind::EntryAddedToCategory), entry_id());
    }
    if category_entry {
        return (None, entry_id());
    }
    // 4-5. Entries.
    let is_entry = event_object_type == "1"
        || (object_type.starts_with("Kaltura") && object_type.ends_with("Entry"))
        || (meta.format == "fields" && object.get("entry_id").is_some());
    if is_entry {
        if matches!(event_type, Some("7" | "8")) {
            return (None, id);
        }
        let status_template = system_upper.contains("STATUS") || system_upper.contains("READY");
        let ready = status == Some(ENTRY_STATUS_READY)
            && (status_template || (system.is_empty() && matches!(event_type, None | Some("3"))));
        let kind = if ready {
            EventKind::EntryReady
        } else {
            EventKind::EntryChanged
        };
        return (Some(kind), id);
    }
    (None, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: PartnerId = PartnerId::new(12345);
    const NOW: i64 = 1_700_000_000;

    fn ready_json(status: &str, event_type: &str) -> String {
        format!(
            r#"{{"object":{{"id":"0_abc","name":"Intro","status":{status},"mediaType":"1","duration":"200","userId":"12345","objectType":"KalturaMediaEntry"}},"eventObjectType":"1","eventNotificationJobId":123,"templateId":"45","templateName":"Entry Status Changed","templateSystemName":"HTTP_ENTRY_STATUS_CHANGED","eventType":{event_type},"objectType":"KalturaHttpNotification"}}"#
        )
    }

    fn form(pairs: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    #[test]
    fn raw_json_notification() {
        let body = ready_json("2", "\"3\"");
        let e = parse(
            P,
            Some("application/json; charset=utf-8"),
            body.as_bytes(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.partner_id, P);
        assert_eq!(e.kind, Some(EventKind::EntryReady));
        assert_eq!(e.subject.as_deref(), Some("0_abc"));
        assert_eq!(e.dedup_key, "job:123");
        assert_eq!(e.received_at, NOW);
        assert_eq!(
            e.meta,
            NotificationMeta {
                job_id: Some(123),
                template_id: Some(45),
                template_system_name: Some("HTTP_ENTRY_STATUS_CHANGED".into()),
                event_type: Some("3".into()),
                event_object_type: Some("1".into()),
                format: "json".into(),
            }
        );
        assert_eq!(e.object["status"], 2);
        assert_eq!(e.object["mediaType"], 1);
        assert_eq!(e.object["duration"], 200);
        // Not a numeric field: a user id made of digits stays text.
        assert_eq!(e.object["userId"], "12345");
        assert_eq!(e.object["objectType"], "KalturaMediaEntry");
    }

    #[test]
    fn enums_as_int_or_string_give_the_same_event() {
        let a = parse(
            P,
            Some("application/json"),
            ready_json("2", "3").as_bytes(),
            NOW,
        )
        .unwrap();
        let b = parse(
            P,
            Some("application/json"),
            ready_json("\"2\"", "\"3\"").as_bytes(),
            NOW,
        )
        .unwrap();
        assert_eq!(a.object, b.object);
        assert_eq!(a.meta, b.meta);
        assert_eq!(a.kind, b.kind);
        // Another status on the same template is a change, not "ready".
        let c = parse(P, None, ready_json("\"4\"", "3").as_bytes(), NOW).unwrap();
        assert_eq!(c.kind, Some(EventKind::EntryChanged));
        assert_eq!(c.object["status"], 4);
    }

    #[test]
    fn legacy_urlencoded_json() {
        let json = ready_json("2", "3");
        let body = form(&[("data", &json)]);
        for ct in [
            Some("application/x-www-form-urlencoded"),
            Some("application/json"),
            None,
        ] {
            let e = parse(P, ct, body.as_bytes(), NOW).unwrap();
            assert_eq!(e.meta.format, "form_json", "{ct:?}");
            assert_eq!(e.kind, Some(EventKind::EntryReady));
            assert_eq!(e.dedup_key, "job:123");
            assert_eq!(e.object["status"], 2);
        }
    }

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<notification>
  <object>
    <objectType>KalturaMediaEntry</objectType>
    <id>0_abc</id>
    <name>Intro &amp; more</name>
    <status>2</status>
    <categoriesIds>1,2</categoriesIds>
    <description></description>
    <flavors>
      <item><objectType>KalturaFlavorAsset</objectType><id>0_f1</id></item>
      <item><objectType>KalturaFlavorAsset</objectType><id>0_f2</id></item>
    </flavors>
  </object>
  <eventObjectType>1</eventObjectType>
  <eventNotificationJobId>987</eventNotificationJobId>
  <templateId>45</templateId>
  <templateSystemName>HTTP_ENTRY_STATUS_CHANGED</templateSystemName>
  <eventType>3</eventType>
  <objectType>KalturaHttpNotification</objectType>
</notification>"#;

    #[test]
    fn xml_in_a_data_field_and_bare() {
        let body = form(&[("data", XML)]);
        let a = parse(
            P,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            NOW,
        )
        .unwrap();
        let b = parse(P, Some("application/xml"), XML.as_bytes(), NOW).unwrap();
        for e in [&a, &b] {
            assert_eq!(e.meta.format, "xml");
            assert_eq!(e.kind, Some(EventKind::EntryReady));
            assert_eq!(e.subject.as_deref(), Some("0_abc"));
            assert_eq!(e.dedup_key, "job:987");
            assert_eq!(e.meta.template_id, Some(45));
            assert_eq!(e.object["status"], 2);
            assert_eq!(e.object["name"], "Intro & more");
            assert_eq!(e.object["description"], "");
            assert_eq!(e.object["objectType"], "KalturaMediaEntry");
            assert_eq!(e.object["flavors"][1]["id"], "0_f2");
            assert_eq!(e.object["flavors"][0]["objectType"], "KalturaFlavorAsset");
        }
        // XML and JSON forms of the same notification read alike.
        let json = parse(
            P,
            Some("application/json"),
            ready_json("2", "3").as_bytes(),
            NOW,
        )
        .unwrap();
        assert_eq!(json.kind, a.kind);
        assert_eq!(json.object["status"], a.object["status"]);
    }

    #[test]
    fn kaltura_xml_envelope() {
        let xml = "<xml><result><object><objectType>KalturaMediaEntry</objectType><id>0_x</id><status>2</status></object><eventObjectType>1</eventObjectType><eventType>3</eventType></result></xml>";
        let e = parse(P, Some("text/xml"), xml.as_bytes(), NOW).unwrap();
        assert_eq!(e.kind, Some(EventKind::EntryReady));
        assert_eq!(e.subject.as_deref(), Some("0_x"));
        assert!(e.dedup_key.starts_with("body:"));
    }

    #[test]
    fn field_templates() {
        let body = form(&[
            ("entry_id", "0_abc"),
            ("entry_name", "Intro lecture"),
            ("entry_status", "2"),
        ]);
        let e = parse(
            P,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.meta.format, "fields");
        assert_eq!(e.kind, Some(EventKind::EntryReady));
        assert_eq!(e.subject.as_deref(), Some("0_abc"));
        assert_eq!(e.object["id"], "0_abc");
        assert_eq!(e.object["entry_status"], 2);
        assert_eq!(e.object["entry_name"], "Intro lecture");
        assert_eq!(e.meta.job_id, None);
        // No job id: the key is the body's hash (python3: hashlib.sha256(body).hexdigest()).
        assert_eq!(
            e.dedup_key,
            format!(
                "body:{}",
                super::super::signature::sha256_hex(body.as_bytes())
            )
        );
        let changed = form(&[("entry_id", "0_abc"), ("entry_status", "4")]);
        let e = parse(P, None, changed.as_bytes(), NOW).unwrap();
        assert_eq!(e.kind, Some(EventKind::EntryChanged));
        // `id` wins over `entry_id` when both are sent.
        let both = form(&[("id", "0_id"), ("entry_id", "0_entry")]);
        let e = parse(P, None, both.as_bytes(), NOW).unwrap();
        assert_eq!(e.subject.as_deref(), Some("0_id"));
        // Field templates with a job id deduplicate on it.
        let with_job = form(&[("entry_id", "0_a"), ("event_notification_job_id", "77")]);
        let e = parse(P, None, with_job.as_bytes(), NOW).unwrap();
        assert_eq!(e.dedup_key, "job:77");
    }

    #[test]
    fn kinds() {
        let json = |v: serde_json::Value| {
            parse(P, Some("application/json"), v.to_string().as_bytes(), NOW).unwrap()
        };
        let e = json(serde_json::json!({
            "object": {"entryId": "0_abc", "categoryId": "9", "objectType": "KalturaCategoryEntry"},
            "eventObjectType": 37, "eventType": 2, "eventNotificationJobId": "5"
        }));
        assert_eq!(e.kind, Some(EventKind::EntryAddedToCategory));
        assert_eq!(e.subject.as_deref(), Some("0_abc"));
        assert_eq!(e.object["categoryId"], 9);
        assert_eq!(e.dedup_key, "job:5");
        let e = json(serde_json::json!({
            "object": {"entryId": "0_abc", "categoryId": 9},
            "templateSystemName": "HTTP_ENTRY_ADDED_TO_CATEGORY"
        }));
        assert_eq!(e.kind, Some(EventKind::EntryAddedToCategory));
        // A category entry deleted is not announced.
        let e = json(serde_json::json!({
            "object": {"entryId": "0_abc", "objectType": "KalturaCategoryEntry"},
            "eventObjectType": "37", "eventType": "7"
        }));
        assert_eq!(e.kind, None);
        let e = json(serde_json::json!({
            "object": {"id": "0_abc", "status": 2, "name": "new", "objectType": "KalturaMediaEntry"},
            "eventObjectType": "1", "eventType": "3", "templateSystemName": "HTTP_ENTRY_CHANGED"
        }));
        assert_eq!(e.kind, Some(EventKind::EntryChanged));
        let e = json(serde_json::json!({
            "object": {"id": "0_abc", "status": 2, "objectType": "KalturaMediaEntry"},
            "eventObjectType": "1", "eventType": "7"
        }));
        assert_eq!(e.kind, None);
        assert_eq!(e.subject.as_deref(), Some("0_abc"));
        let e = json(serde_json::json!({
            "object": {"id": "77", "entryId": "0_abc", "status": 2, "objectType": "KalturaEntryVendorTask"},
            "templateSystemName": "Http_Entry_Vendor_Task_Finished_Processing"
        }));
        assert_eq!(e.kind, Some(EventKind::CaptionsReady));
        assert_eq!(e.subject.as_deref(), Some("0_abc"));
        let e = json(serde_json::json!({
            "object": {"id": "1_cap", "entryId": "0_abc", "status": "2", "objectType": "KalturaCaptionAsset"},
            "eventObjectType": "3", "eventType": "3"
        }));
        assert_eq!(e.kind, Some(EventKind::CaptionsReady));
        let e = json(serde_json::json!({
            "object": {"id": "1_cap", "entryId": "0_abc", "status": 1, "objectType": "KalturaCaptionAsset"},
            "eventObjectType": "3", "eventType": "3"
        }));
        assert_eq!(e.kind, None);
        let e = json(serde_json::json!({
            "object": {"id": 4567, "summary": "Weekly", "startDate": "1700003600", "objectType": "KalturaRecordScheduleEvent"},
            "eventObjectType": "scheduleEventNotifications.ScheduleEvent", "eventType": 2
        }));
        assert_eq!(e.kind, Some(EventKind::MeetingScheduled));
        assert_eq!(e.subject.as_deref(), Some("4567"));
        assert_eq!(e.object["startDate"], 1_700_003_600);
        let e = json(serde_json::json!({
            "object": {"id": "x", "objectType": "KalturaUser"}, "eventObjectType": "8", "eventType": "2"
        }));
        assert_eq!(e.kind, None);
        assert_eq!(e.subject.as_deref(), Some("x"));
        // A JSON object that is not a KalturaHttpNotification is kept whole.
        let e = json(serde_json::json!({"hello": "world"}));
        assert_eq!(e.kind, None);
        assert_eq!(e.subject, None);
        assert_eq!(e.object["hello"], "world");
    }

    #[test]
    fn errors() {
        assert_eq!(parse(P, None, b"", NOW), Err(PayloadError::Empty));
        assert_eq!(
            parse(P, Some("application/json"), b" \r\n\t", NOW),
            Err(PayloadError::Empty)
        );
        assert_eq!(parse(P, None, b"data=", NOW), Err(PayloadError::Empty));
        assert!(matches!(
            parse(P, Some("application/json"), b"{\"object\": {", NOW),
            Err(PayloadError::Malformed { format: "JSON", .. })
        ));
        assert!(matches!(
            parse(P, Some("application/json"), b"[1,2]", NOW),
            Err(PayloadError::Malformed { format: "JSON", .. })
        ));
        assert_eq!(
            parse(P, Some("Application/JSON"), XML.as_bytes(), NOW),
            Err(PayloadError::ContentTypeMismatch {
                declared: "application/json".into(),
                found: "XML"
            })
        );
        let xml_in_data = form(&[("data", XML)]);
        assert!(matches!(
            parse(P, Some("application/json"), xml_in_data.as_bytes(), NOW),
            Err(PayloadError::ContentTypeMismatch { found: "XML", .. })
        ));
        assert!(matches!(
            parse(
                P,
                Some("application/xml"),
                ready_json("2", "3").as_bytes(),
                NOW
            ),
            Err(PayloadError::ContentTypeMismatch { found: "JSON", .. })
        ));
        assert!(matches!(
            parse(P, Some("application/json"), b"entry_id=0_a", NOW),
            Err(PayloadError::ContentTypeMismatch {
                found: "form data",
                ..
            })
        ));
        assert_eq!(
            parse(P, Some("multipart/form-data; boundary=x"), b"x", NOW),
            Err(PayloadError::UnsupportedContentType(
                "multipart/form-data".into()
            ))
        );
        assert!(matches!(
            parse(P, Some("application/xml"), b"<notification><object>", NOW),
            Err(PayloadError::Malformed { format: "XML", .. })
        ));
        assert!(matches!(
            parse(
                P,
                Some("application/xml"),
                b"<notification>text</notification>",
                NOW
            ),
            Err(PayloadError::Malformed { format: "XML", .. })
        ));
        assert!(matches!(
            parse(P, None, b"data=hello", NOW),
            Err(PayloadError::Malformed {
                format: "form data",
                ..
            })
        ));
        assert!(matches!(
            parse(P, None, b"\xff\xfe=1", NOW),
            Err(PayloadError::Malformed {
                format: "form data",
                ..
            })
        ));
        assert!(matches!(
            parse(P, None, b"<a>\xff</a>", NOW),
            Err(PayloadError::Malformed { format: "XML", .. })
        ));
        // A DTD (billion laughs, external entities) is refused.
        let dtd = r#"<?xml version="1.0"?><!DOCTYPE n [<!ENTITY a "aaaa">]><n><o>&a;</o></n>"#;
        assert!(matches!(
            parse(P, None, dtd.as_bytes(), NOW),
            Err(PayloadError::Malformed { format: "XML", .. })
        ));
    }

    #[test]
    fn errors_never_echo_the_body() {
        let secretish = "TOPSECRETVALUE";
        for body in [
            format!("{{\"object\": \"{secretish}"),
            format!("<n><{secretish}></n>"),
            format!("{{\"a\": {secretish}}}"),
        ] {
            let err = parse(P, None, body.as_bytes(), NOW).unwrap_err();
            assert!(!format!("{err} {err:?}").contains(secretish), "{err}");
        }
    }

    #[test]
    fn bounds() {
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        let deep_ok = format!("{{\"object\":{{\"a\":{deep_ok}}}}}");
        // 1 (top) + 1 (object) + 63 arrays = 65 > 64.
        assert!(parse(P, None, deep_ok.as_bytes(), NOW).is_err());
        let fits = format!(
            "{{\"object\":{{\"a\":{}{}}}}}",
            "[".repeat(MAX_DEPTH - 2),
            "]".repeat(MAX_DEPTH - 2)
        );
        assert!(parse(P, None, fits.as_bytes(), NOW).is_ok());
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse(P, None, deep.as_bytes(), NOW),
            Err(PayloadError::Malformed { format: "JSON", .. })
        ));
        let many = format!("{{\"object\":[{}0]}}", "0,".repeat(MAX_FIELDS));
        let err = parse(P, None, many.as_bytes(), NOW).unwrap_err();
        assert!(err.to_string().contains("10000"), "{err}");
        let xml_deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        let err = parse(P, None, xml_deep.as_bytes(), NOW).unwrap_err();
        assert!(err.to_string().contains("deeper"), "{err}");
        let xml_many = format!("<n>{}</n>", "<a>1</a>".repeat(MAX_FIELDS + 1));
        let err = parse(P, None, xml_many.as_bytes(), NOW).unwrap_err();
        assert!(err.to_string().contains("10000"), "{err}");
        let fields_many = "a=1&".repeat(MAX_FIELDS + 1);
        let err = parse(P, None, fields_many.as_bytes(), NOW).unwrap_err();
        assert!(err.to_string().contains("10000"), "{err}");
        // Strings containing brackets are not nesting.
        let in_string = format!("{{\"object\":{{\"a\":\"{}\"}}}}", "[{".repeat(1000));
        assert!(parse(P, None, in_string.as_bytes(), NOW).is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..2048),
                              ct in proptest::option::of("[a-z/+;= -]{0,40}")) {
            let _ = parse(P, ct.as_deref(), &body, NOW);
        }

        #[test]
        fn parse_never_panics_on_near_valid_bodies(
            prefix in "(\\{|<|data=|entry_id=|\\[|<n>|data=%3C)",
            rest in "[\\[\\]{}<>/\":,=&%a-z0-9 ]{0,512}",
        ) {
            let body = format!("{prefix}{rest}");
            let _ = parse(P, None, body.as_bytes(), NOW);
            let _ = parse(P, Some("application/json"), body.as_bytes(), NOW);
            let _ = parse(P, Some("application/xml"), body.as_bytes(), NOW);
        }
    }
}
