//! Plugin services with integer ids, over one generic CRUD: `schedule_scheduleresource`,
//! `schedule_scheduleevent`, `schedule_scheduleeventresource`, `virtualevent_virtualevent`
//! and `eventnotification_eventnotificationtemplate`.
//!
//! Objects keep every property the client sends (so subclasses such as
//! `KalturaLocationScheduleResource`, `KalturaRecordScheduleEvent` or
//! `KalturaHttpNotificationTemplate` round-trip), except read-only ones (`id`, `partnerId`,
//! `status`, `createdAt`, `updatedAt`); known integer properties are coerced from strings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{
    Ctx, contains_ci, csv, list_response, page, pager, prop, prop_int, required, required_object,
};
use crate::ApiError;
use crate::fake::errors;
use crate::fake::notify::ObjectEvent;
use crate::fake::params::{self, Params};
use crate::fake::store::Object;

/// Describes one integer-keyed object type.
struct Spec {
    table: &'static str,
    /// Name of the object parameter of `add`/`update`.
    param: &'static str,
    /// Name of the id parameter of `get`/`update`/`delete` (`scheduleEventId`, `id`, …).
    id_param: &'static str,
    default_type: &'static str,
    not_found: fn(&str) -> ApiError,
    /// Properties that must be present on `add`.
    required: &'static [&'static str],
    /// Properties stored as integers.
    ints: &'static [&'static str],
    /// Initial status.
    status: i64,
}

/// Filter classes that declare `templateEntryIdEqual` (`KalturaEntryScheduleEventBaseFilter`
/// and its subclasses).
const ENTRY_EVENT_FILTERS: &[&str] = &[
    "KalturaEntryScheduleEventBaseFilter",
    "KalturaEntryScheduleEventFilter",
    "KalturaRecordScheduleEventBaseFilter",
    "KalturaRecordScheduleEventFilter",
    "KalturaLiveStreamScheduleEventBaseFilter",
    "KalturaLiveStreamScheduleEventFilter",
];

const READ_ONLY: &[&str] = &[
    "id",
    "partnerId",
    "status",
    "createdAt",
    "updatedAt",
    "objectType",
];

const RESOURCE: Spec = Spec {
    id_param: "scheduleResourceId",
    table: "scheduleResource",
    param: "scheduleResource",
    default_type: "KalturaLocationScheduleResource",
    not_found: errors::schedule_resource_not_found,
    required: &["name"],
    ints: &["parentId"],
    status: 2,
};

const EVENT: Spec = Spec {
    id_param: "scheduleEventId",
    table: "scheduleEvent",
    param: "scheduleEvent",
    default_type: "KalturaRecordScheduleEvent",
    not_found: errors::schedule_event_not_found,
    required: &["startDate", "endDate"],
    ints: &[
        "startDate",
        "endDate",
        "recurrenceType",
        "classificationType",
        "duration",
        "parentId",
        "priority",
        "sequence",
    ],
    status: 2,
};

const EVENT_RESOURCE: Spec = Spec {
    id_param: "id",
    table: "scheduleEventResource",
    param: "scheduleEventResource",
    default_type: "KalturaScheduleEventResource",
    not_found: errors::invalid_object_id,
    required: &["eventId", "resourceId"],
    ints: &["eventId", "resourceId"],
    status: 2,
};

const VIRTUAL_EVENT: Spec = Spec {
    id_param: "id",
    table: "virtualEvent",
    param: "virtualEvent",
    default_type: "KalturaVirtualEvent",
    not_found: errors::virtual_event_not_found,
    required: &["name"],
    ints: &[
        "registrationScheduleEventId",
        "agendaScheduleEventId",
        "mainEventScheduleEventId",
        "deletionDueDate",
    ],
    status: 2,
};

const TEMPLATE: Spec = Spec {
    id_param: "id",
    table: "eventNotificationTemplate",
    param: "eventNotificationTemplate",
    default_type: "KalturaHttpNotificationTemplate",
    not_found: errors::event_notification_template_not_found,
    required: &[],
    ints: &["method", "timeout", "connectTimeout", "secureHashingAlgo"],
    status: 1,
};

/// A plausible `objectType` sent by the client, else the default.
fn object_type(src: &Map<String, Value>, default: &'static str) -> String {
    match src.get("objectType").and_then(Value::as_str) {
        Some(t)
            if t.starts_with("Kaltura")
                && t.len() <= 100
                && t.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            t.to_owned()
        }
        _ => default.to_owned(),
    }
}

fn copy_props(dst: &mut Object, src: &Map<String, Value>, spec: &Spec) {
    for (k, v) in src {
        if READ_ONLY.contains(&k.as_str()) {
            continue;
        }
        if v.is_null() {
            dst.remove(k);
        } else if spec.ints.contains(&k.as_str()) {
            if let Some(i) = params::int(Some(v)) {
                dst.insert(k.clone(), json!(i));
            }
        } else {
            dst.insert(k.clone(), v.clone());
        }
    }
}

fn add(ctx: &mut Ctx<'_>, p: &Params, spec: &Spec) -> Result<Object, ApiError> {
    let src = required_object(p, spec.param)?;
    for r in spec.required {
        if src
            .get(*r)
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        {
            return Err(errors::property_cannot_be_null(r));
        }
    }
    let id = ctx.store.next_int_id();
    let mut o = Map::new();
    o.insert("id".into(), json!(id));
    o.insert("partnerId".into(), json!(ctx.pid()));
    o.insert("status".into(), json!(spec.status));
    o.insert("createdAt".into(), json!(ctx.now));
    o.insert("updatedAt".into(), json!(ctx.now));
    copy_props(&mut o, src, spec);
    o.insert(
        "objectType".into(),
        json!(object_type(src, spec.default_type)),
    );
    Ok(o)
}

fn id_of(p: &Params, name: &str, spec: &Spec) -> Result<i64, ApiError> {
    let raw = required(p, name)?;
    raw.trim()
        .parse::<i64>()
        .map_err(|_| (spec.not_found)(&raw))
}

/// What the session may see of the schedule and virtual-event tables: `None` sets are
/// unrestricted. The rules are documented in [`super::session`].
struct Visibility {
    events: Option<BTreeSet<i64>>,
    resources: Option<BTreeSet<i64>>,
    /// The scoped `(eventId, resourceId)` for event-resource links.
    links: Option<(Option<i64>, Option<i64>)>,
    virtual_events: Option<Option<i64>>,
}

impl Visibility {
    fn of(ctx: &Ctx<'_>) -> Visibility {
        let session = ctx.session.as_ref();
        let scope = |name: &str| session.and_then(|s| s.scope(name));
        let virtual_events = scope("virtualeventid").map(|s| s.0);
        let (event, resource) = (scope("eventId"), scope("resourceId"));
        if event.is_none() && resource.is_none() {
            return Visibility {
                events: None,
                resources: None,
                links: None,
                virtual_events,
            };
        }
        let (event, resource) = (event.and_then(|s| s.0), resource.and_then(|s| s.0));
        let empty = BTreeMap::new();
        let links = ctx
            .store
            .tables
            .get(EVENT_RESOURCE.table)
            .unwrap_or(&empty)
            .values()
            .map(|l| (prop_int(l, "eventId"), prop_int(l, "resourceId")));
        let mut events: BTreeSet<i64> = event.into_iter().collect();
        let mut resources: BTreeSet<i64> = resource.into_iter().collect();
        for (e, r) in links {
            if let Some(e) = e
                && resource.is_some()
                && r == resource
            {
                events.insert(e);
            }
            if let Some(r) = r
                && event.is_some()
                && e == event
            {
                resources.insert(r);
            }
        }
        Visibility {
            events: Some(events),
            resources: Some(resources),
            links: Some((event, resource)),
            virtual_events,
        }
    }

    fn allows(&self, spec: &Spec, o: &Object) -> bool {
        let id = prop_int(o, "id");
        let in_set = |set: &Option<BTreeSet<i64>>| {
            set.as_ref()
                .is_none_or(|s| id.is_some_and(|id| s.contains(&id)))
        };
        match spec.table {
            t if t == EVENT.table => in_set(&self.events),
            t if t == RESOURCE.table => in_set(&self.resources),
            t if t == EVENT_RESOURCE.table => self.links.is_none_or(|(e, r)| {
                (e.is_some() && prop_int(o, "eventId") == e)
                    || (r.is_some() && prop_int(o, "resourceId") == r)
            }),
            t if t == VIRTUAL_EVENT.table => {
                self.virtual_events.is_none_or(|v| v.is_some() && v == id)
            }
            _ => true,
        }
    }
}

fn get(ctx: &mut Ctx<'_>, p: &Params, spec: &Spec) -> Result<Value, ApiError> {
    let id = id_of(p, spec.id_param, spec)?;
    let visibility = Visibility::of(ctx);
    ctx.store
        .tables
        .get(spec.table)
        .and_then(|t| t.get(&id))
        .filter(|o| visibility.allows(spec, o))
        .map(|o| Value::Object(o.clone()))
        .ok_or_else(|| (spec.not_found)(&id.to_string()))
}

fn update(ctx: &mut Ctx<'_>, p: &Params, spec: &Spec) -> Result<Value, ApiError> {
    let id = id_of(p, spec.id_param, spec)?;
    let src = required_object(p, spec.param)?.clone();
    let now = ctx.now;
    let o = ctx
        .store
        .table(spec.table)
        .get_mut(&id)
        .ok_or_else(|| (spec.not_found)(&id.to_string()))?;
    let old = o.clone();
    copy_props(o, &src, spec);
    o.insert("updatedAt".into(), json!(now));
    after_write(o);
    let new = o.clone();
    if spec.table == EVENT.table
        && let Some(event) = ObjectEvent::schedule_event_changed(&old, &new)
    {
        ctx.shared.emit(ctx.store, &event);
    }
    Ok(Value::Object(new))
}

fn delete(ctx: &mut Ctx<'_>, p: &Params, spec: &Spec) -> Result<Object, ApiError> {
    let id = id_of(p, spec.id_param, spec)?;
    let mut o = ctx
        .store
        .table(spec.table)
        .remove(&id)
        .ok_or_else(|| (spec.not_found)(&id.to_string()))?;
    o.insert("status".into(), json!(3));
    Ok(o)
}

fn list(ctx: &mut Ctx<'_>, p: &Params, spec: &Spec, list_type: &str) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    let s = |name: &str| filter.and_then(|f| params::non_empty(f.get(name)));
    let i = |name: &str| filter.and_then(|f| params::int(f.get(name)));
    let (id_equal, id_in, status_equal) = (i("idEqual"), s("idIn"), i("statusEqual"));
    let (event_id, resource_id) = (i("eventIdEqual"), i("resourceIdEqual"));
    let (tags_like, tags_or) = (s("tagsLike"), s("tagsMultiLikeOr"));
    let (start_ge, end_le) = (
        i("startDateGreaterThanOrEqual"),
        i("endDateLessThanOrEqual"),
    );
    // Only entry schedule event filters declare `templateEntryIdEqual`; like Kaltura, any
    // other filter class ignores it.
    let filter_type = filter
        .and_then(|f| f.get("objectType"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let template_entry =
        s("templateEntryIdEqual").filter(|_| ENTRY_EVENT_FILTERS.contains(&filter_type));
    let in_csv = |l: &Option<String>, v: Option<i64>| {
        l.as_deref()
            .is_none_or(|l| csv(l).contains(&v.unwrap_or_default().to_string().as_str()))
    };
    let visibility = Visibility::of(ctx);
    let empty = BTreeMap::new();
    let matching: Vec<Value> = ctx
        .store
        .tables
        .get(spec.table)
        .unwrap_or(&empty)
        .values()
        .filter(|o| visibility.allows(spec, o))
        .filter(|o| id_equal.is_none_or(|v| prop_int(o, "id") == Some(v)))
        .filter(|o| in_csv(&id_in, prop_int(o, "id")))
        .filter(|o| status_equal.is_none_or(|v| prop_int(o, "status") == Some(v)))
        .filter(|o| event_id.is_none_or(|v| prop_int(o, "eventId") == Some(v)))
        .filter(|o| resource_id.is_none_or(|v| prop_int(o, "resourceId") == Some(v)))
        .filter(|o| {
            tags_like
                .as_deref()
                .is_none_or(|v| contains_ci(prop(o, "tags"), v))
        })
        .filter(|o| {
            tags_or
                .as_deref()
                .is_none_or(|l| csv(l).iter().any(|v| contains_ci(prop(o, "tags"), v)))
        })
        .filter(|o| start_ge.is_none_or(|v| prop_int(o, "startDate").unwrap_or(0) >= v))
        .filter(|o| end_le.is_none_or(|v| prop_int(o, "endDate").unwrap_or(0) <= v))
        .filter(|o| {
            template_entry
                .as_deref()
                .is_none_or(|v| prop(o, "templateEntryId") == v)
        })
        .map(|o| Value::Object(o.clone()))
        .collect();
    let total = matching.len();
    Ok(list_response(
        list_type,
        page(matching, pager(p, "pager")),
        total,
    ))
}

/// Derived properties (`duration` of schedule events).
fn after_write(o: &mut Object) {
    if let (Some(start), Some(end)) = (prop_int(o, "startDate"), prop_int(o, "endDate")) {
        o.insert("duration".into(), json!(end.saturating_sub(start)));
    }
}

fn insert(ctx: &mut Ctx<'_>, spec: &Spec, mut o: Object) -> Value {
    after_write(&mut o);
    let id = prop_int(&o, "id").unwrap_or_default();
    ctx.store.table(spec.table).insert(id, o.clone());
    Value::Object(o)
}

// --- schedule_scheduleresource -----------------------------------------------------------

/// `scheduleResource.add(scheduleResource)`.
pub(crate) fn resource_add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let o = add(ctx, p, &RESOURCE)?;
    Ok(insert(ctx, &RESOURCE, o))
}
/// `scheduleResource.get(scheduleResourceId)`.
pub(crate) fn resource_get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    get(ctx, p, &RESOURCE)
}
/// `scheduleResource.update(scheduleResourceId, scheduleResource)`.
pub(crate) fn resource_update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    update(ctx, p, &RESOURCE)
}
/// `scheduleResource.delete(scheduleResourceId)` → the deleted resource (status 3).
pub(crate) fn resource_delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    delete(ctx, p, &RESOURCE).map(Value::Object)
}
/// `scheduleResource.list(filter, pager)`.
pub(crate) fn resource_list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    list(ctx, p, &RESOURCE, "KalturaScheduleResourceListResponse")
}

// --- schedule_scheduleevent --------------------------------------------------------------

/// `scheduleEvent.add(scheduleEvent)`.
pub(crate) fn event_add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let mut o = add(ctx, p, &EVENT)?;
    o.entry("recurrenceType").or_insert(json!(0));
    o.entry("classificationType").or_insert(json!(1));
    o.entry("sequence").or_insert(json!(1));
    let added = insert(ctx, &EVENT, o);
    if let Value::Object(event) = &added {
        ctx.shared
            .emit(ctx.store, &ObjectEvent::schedule_event_added(event));
    }
    Ok(added)
}
/// `scheduleEvent.get(scheduleEventId)`.
pub(crate) fn event_get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    get(ctx, p, &EVENT)
}
/// `scheduleEvent.update(scheduleEventId, scheduleEvent)`.
pub(crate) fn event_update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    update(ctx, p, &EVENT)
}
/// `scheduleEvent.delete(scheduleEventId)` → the deleted event (status 3).
pub(crate) fn event_delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    delete(ctx, p, &EVENT).map(Value::Object)
}
/// `scheduleEvent.cancel(scheduleEventId)` → the event with status CANCELLED (1); it stays
/// listed.
pub(crate) fn event_cancel(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = id_of(p, EVENT.id_param, &EVENT)?;
    let now = ctx.now;
    let o = ctx
        .store
        .table(EVENT.table)
        .get_mut(&id)
        .ok_or_else(|| errors::schedule_event_not_found(&id.to_string()))?;
    let old = o.clone();
    o.insert("status".into(), json!(1));
    o.insert("updatedAt".into(), json!(now));
    let new = o.clone();
    if let Some(event) = ObjectEvent::schedule_event_changed(&old, &new) {
        ctx.shared.emit(ctx.store, &event);
    }
    Ok(Value::Object(new))
}
/// `scheduleEvent.list(filter, pager)`.
pub(crate) fn event_list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    list(ctx, p, &EVENT, "KalturaScheduleEventListResponse")
}

// --- schedule_scheduleeventresource ------------------------------------------------------

/// `scheduleEventResource.add(scheduleEventResource)`: both ends must exist, no duplicates.
pub(crate) fn event_resource_add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let o = add(ctx, p, &EVENT_RESOURCE)?;
    let event_id = prop_int(&o, "eventId").unwrap_or_default();
    let resource_id = prop_int(&o, "resourceId").unwrap_or_default();
    if !ctx.store.table(EVENT.table).contains_key(&event_id) {
        return Err(errors::schedule_event_not_found(&event_id.to_string()));
    }
    if !ctx.store.table(RESOURCE.table).contains_key(&resource_id) {
        return Err(errors::schedule_resource_not_found(
            &resource_id.to_string(),
        ));
    }
    let exists = ctx.store.table(EVENT_RESOURCE.table).values().any(|x| {
        prop_int(x, "eventId") == Some(event_id) && prop_int(x, "resourceId") == Some(resource_id)
    });
    if exists {
        return Err(errors::schedule_event_resource_exists(
            &event_id.to_string(),
            &resource_id.to_string(),
        ));
    }
    let mut o = o;
    o.remove("id");
    o.remove("status");
    let key = ctx.store.next_int_id();
    ctx.store.table(EVENT_RESOURCE.table).insert(key, o.clone());
    Ok(Value::Object(o))
}

/// `scheduleEventResource.delete(scheduleEventId, scheduleResourceId)` → null.
pub(crate) fn event_resource_delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let event_id = id_of(p, "scheduleEventId", &EVENT)?;
    let resource_id = id_of(p, "scheduleResourceId", &RESOURCE)?;
    let table = ctx.store.table(EVENT_RESOURCE.table);
    let before = table.len();
    table.retain(|_, x| {
        !(prop_int(x, "eventId") == Some(event_id)
            && prop_int(x, "resourceId") == Some(resource_id))
    });
    if table.len() == before {
        return Err(errors::invalid_object_id(&format!(
            "{event_id},{resource_id}"
        )));
    }
    Ok(Value::Null)
}

/// `scheduleEventResource.list(filter, pager)` (filter `eventIdEqual`, `resourceIdEqual`).
pub(crate) fn event_resource_list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    list(
        ctx,
        p,
        &EVENT_RESOURCE,
        "KalturaScheduleEventResourceListResponse",
    )
}

// --- virtualevent_virtualevent -----------------------------------------------------------

/// `virtualEvent.add(virtualEvent)`.
pub(crate) fn virtual_event_add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let o = add(ctx, p, &VIRTUAL_EVENT)?;
    Ok(insert(ctx, &VIRTUAL_EVENT, o))
}
/// `virtualEvent.get(id)`.
pub(crate) fn virtual_event_get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    get(ctx, p, &VIRTUAL_EVENT)
}
/// `virtualEvent.update(id, virtualEvent)`.
pub(crate) fn virtual_event_update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    update(ctx, p, &VIRTUAL_EVENT)
}
/// `virtualEvent.delete(id)` → null.
pub(crate) fn virtual_event_delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    delete(ctx, p, &VIRTUAL_EVENT).map(|_| Value::Null)
}
/// `virtualEvent.list(filter, pager)`.
pub(crate) fn virtual_event_list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    list(ctx, p, &VIRTUAL_EVENT, "KalturaVirtualEventListResponse")
}

// --- eventnotification_eventnotificationtemplate ----------------------------------------

/// `eventNotificationTemplate.add(eventNotificationTemplate)` (status DISABLED=1).
pub(crate) fn template_add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let o = add(ctx, p, &TEMPLATE)?;
    Ok(insert(ctx, &TEMPLATE, o))
}
/// `eventNotificationTemplate.get(id)`.
pub(crate) fn template_get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    get(ctx, p, &TEMPLATE)
}
/// `eventNotificationTemplate.update(id, eventNotificationTemplate)`.
pub(crate) fn template_update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    update(ctx, p, &TEMPLATE)
}
/// `eventNotificationTemplate.updateStatus(id, status)` (DISABLED=1, ACTIVE=2).
pub(crate) fn template_update_status(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = id_of(p, "id", &TEMPLATE)?;
    let raw = required(p, "status")?;
    let status = params::int(p.get("status"))
        .filter(|s| (1..=3).contains(s))
        .ok_or_else(|| {
            errors::invalid_enum_value(&raw, "status", "KalturaEventNotificationTemplateStatus")
        })?;
    let now = ctx.now;
    let o = ctx
        .store
        .table(TEMPLATE.table)
        .get_mut(&id)
        .ok_or_else(|| errors::event_notification_template_not_found(&id.to_string()))?;
    o.insert("status".into(), json!(status));
    o.insert("updatedAt".into(), json!(now));
    Ok(Value::Object(o.clone()))
}
/// `eventNotificationTemplate.delete(id)` → null.
pub(crate) fn template_delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    delete(ctx, p, &TEMPLATE).map(|_| Value::Null)
}
use crate::fake::notify::system_templates;

/// `eventNotificationTemplate.listTemplates(filter, pager)`: the system templates.
pub(crate) fn template_list_templates(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    let system_name = filter.and_then(|f| params::non_empty(f.get("systemNameEqual")));
    let matching: Vec<Value> = system_templates(ctx.shared.schedule_event_template)
        .into_iter()
        .filter(|t| system_name.as_deref().is_none_or(|n| t["systemName"] == n))
        .collect();
    let total = matching.len();
    Ok(list_response(
        "KalturaEventNotificationTemplateListResponse",
        page(matching, pager(p, "pager")),
        total,
    ))
}

/// `eventNotificationTemplate.clone(id, eventNotificationTemplate)`: a partner copy of a
/// system (or own) template with the given properties on top, status DISABLED.
pub(crate) fn template_clone(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = id_of(p, "id", &TEMPLATE)?;
    let source = system_templates(ctx.shared.schedule_event_template)
        .into_iter()
        .find(|t| t["id"] == id)
        .and_then(|t| t.as_object().cloned())
        .or_else(|| ctx.store.table(TEMPLATE.table).get(&id).cloned())
        .ok_or_else(|| errors::event_notification_template_not_found(&id.to_string()))?;
    let overrides = params::object(p.get(TEMPLATE.param))
        .cloned()
        .unwrap_or_default();
    let new_id = ctx.store.next_int_id();
    let mut o = source;
    copy_props(&mut o, &overrides, &TEMPLATE);
    o.insert("id".into(), json!(new_id));
    o.insert("partnerId".into(), json!(ctx.pid()));
    o.insert("status".into(), json!(TEMPLATE.status));
    o.insert("createdAt".into(), json!(ctx.now));
    o.insert("updatedAt".into(), json!(ctx.now));
    Ok(insert(ctx, &TEMPLATE, o))
}

/// `eventNotificationTemplate.list(filter, pager)`.
pub(crate) fn template_list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    list(
        ctx,
        p,
        &TEMPLATE,
        "KalturaEventNotificationTemplateListResponse",
    )
}
