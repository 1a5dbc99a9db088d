//! The services of the fake server: the route table (service → action → handler and access
//! level), the KS check done before every action, and helpers shared by the handlers
//! (pagers, list responses, copying writable properties from request objects).

mod app_token;
pub(crate) mod category;
mod esearch;
pub(crate) mod media;
mod plugins;
mod session;
pub(crate) mod user;

use serde_json::{Map, Value, json};

use super::Shared;
use super::errors;
use super::limits;
use super::params::{self, Params};
use super::store::{Object, Store};
use crate::ApiError;

pub(crate) use session::Session;

/// Who may call an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// No KS needed (`session.start`, `session.startWidgetSession`).
    Anonymous,
    /// Any valid KS (USER, widget or ADMIN).
    User,
    /// An ADMIN KS; a USER KS gets `SERVICE_FORBIDDEN`.
    Admin,
}

/// What a handler gets.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) store: &'a mut Store,
    /// The verified session (`None` only for [`Access::Anonymous`] actions).
    pub(crate) session: Option<Session>,
    /// The server clock's time for this call (unix seconds).
    pub(crate) now: i64,
}

impl Ctx<'_> {
    pub(crate) fn pid(&self) -> i64 {
        self.shared.partner_id.get()
    }

    pub(crate) fn is_admin(&self) -> bool {
        self.session.as_ref().is_some_and(Session::is_admin)
    }

    pub(crate) fn session_user(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.user_id.as_str())
    }
}

/// A handler: parameters in, result (a JSON value with `objectType` on objects) or API error out.
pub(crate) type Handler = fn(&mut Ctx<'_>, &Params) -> Result<Value, ApiError>;

/// One action of a service.
pub(crate) struct Action {
    pub(crate) name: &'static str,
    pub(crate) access: Access,
    pub(crate) handler: Handler,
}

/// One service.
pub(crate) struct Service {
    pub(crate) id: &'static str,
    pub(crate) actions: &'static [Action],
}

const fn a(name: &'static str, access: Access, handler: Handler) -> Action {
    Action {
        name,
        access,
        handler,
    }
}

use Access::{Admin, Anonymous, User};

/// Every service and action the fake implements.
static SERVICES: &[Service] = &[
    Service {
        id: "system",
        actions: &[a("ping", Anonymous, ping)],
    },
    Service {
        id: "session",
        actions: &[
            a("start", Anonymous, session::start),
            a(
                "startWidgetSession",
                Anonymous,
                session::start_widget_session,
            ),
            a("get", User, session::get),
            a("end", User, session::end),
        ],
    },
    Service {
        id: "appToken",
        actions: &[
            a("add", Admin, app_token::add),
            a("get", Admin, app_token::get),
            a("list", Admin, app_token::list),
            a("update", Admin, app_token::update),
            a("delete", Admin, app_token::delete),
            a("startSession", User, app_token::start_session),
        ],
    },
    Service {
        id: "media",
        actions: &[
            a("get", User, media::get),
            a("list", User, media::list),
            a("count", User, media::count),
            a("add", Admin, media::add),
            a("update", Admin, media::update),
            a("delete", Admin, media::delete),
        ],
    },
    Service {
        id: "baseEntry",
        actions: &[
            a("get", User, media::get),
            a("list", User, media::base_list),
            a("count", User, media::count),
            a("update", Admin, media::base_update),
            a("delete", Admin, media::delete),
        ],
    },
    Service {
        id: "user",
        actions: &[
            a("get", User, user::get),
            a("add", Admin, user::add),
            a("update", Admin, user::update),
            a("delete", Admin, user::delete),
            a("list", Admin, user::list),
            a("loginByLoginId", Anonymous, user::login_by_login_id),
        ],
    },
    Service {
        id: "category",
        actions: &[
            a("get", User, category::get),
            a("list", User, category::list),
            a("add", Admin, category::add),
            a("delete", Admin, category::delete),
        ],
    },
    Service {
        id: "elasticsearch_esearch",
        actions: &[a("searchEntry", User, esearch::search_entry)],
    },
    Service {
        id: "schedule_scheduleresource",
        actions: &[
            a("add", Admin, plugins::resource_add),
            a("get", User, plugins::resource_get),
            a("update", Admin, plugins::resource_update),
            a("delete", Admin, plugins::resource_delete),
            a("list", User, plugins::resource_list),
        ],
    },
    Service {
        id: "schedule_scheduleevent",
        actions: &[
            a("add", Admin, plugins::event_add),
            a("get", User, plugins::event_get),
            a("update", Admin, plugins::event_update),
            a("delete", Admin, plugins::event_delete),
            a("cancel", Admin, plugins::event_cancel),
            a("list", User, plugins::event_list),
        ],
    },
    Service {
        id: "schedule_scheduleeventresource",
        actions: &[
            a("add", Admin, plugins::event_resource_add),
            a("delete", Admin, plugins::event_resource_delete),
            a("list", User, plugins::event_resource_list),
        ],
    },
    Service {
        id: "virtualevent_virtualevent",
        actions: &[
            a("add", Admin, plugins::virtual_event_add),
            a("get", User, plugins::virtual_event_get),
            a("update", Admin, plugins::virtual_event_update),
            a("delete", Admin, plugins::virtual_event_delete),
            a("list", User, plugins::virtual_event_list),
        ],
    },
    Service {
        id: "eventnotification_eventnotificationtemplate",
        actions: &[
            a("add", Admin, plugins::template_add),
            a("get", Admin, plugins::template_get),
            a("update", Admin, plugins::template_update),
            a("updateStatus", Admin, plugins::template_update_status),
            a("listTemplates", Admin, plugins::template_list_templates),
            a("clone", Admin, plugins::template_clone),
            a("delete", Admin, plugins::template_delete),
            a("list", Admin, plugins::template_list),
        ],
    },
];

/// Finds a service and action (case-insensitively), or the error the real dispatcher gives.
pub(crate) fn find(
    service: &str,
    action: &str,
) -> Result<(&'static Service, &'static Action), ApiError> {
    let svc = SERVICES
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(service))
        .ok_or_else(|| errors::service_does_not_exist(service))?;
    let act = svc
        .actions
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(action))
        .ok_or_else(|| errors::action_does_not_exist(action, svc.id))?;
    Ok((svc, act))
}

/// Runs one call (not a multirequest): resolves the action, checks the KS and the catalog
/// limits, runs the handler.
pub(crate) fn execute(shared: &Shared, params: &Params) -> Result<Value, ApiError> {
    let service =
        params::non_empty(params.get("service")).ok_or_else(errors::service_not_specified)?;
    let action =
        params::non_empty(params.get("action")).ok_or_else(errors::action_not_specified)?;
    let (svc, act) = find(&service, &action)?;
    let now = shared.now();
    let mut store = shared.store();
    let session = match act.access {
        Anonymous => None,
        User | Admin => {
            let ks = params::non_empty(params.get("ks")).ok_or_else(errors::missing_ks)?;
            let s = session::authenticate(shared, &store, &ks, now)?;
            if act.access == Admin && !s.is_admin() {
                return Err(errors::service_forbidden(&format!(
                    "{}->{}",
                    svc.id, act.name
                )));
            }
            Some(s)
        }
    };
    let write = Write::of(act.name);
    let charge = match write {
        Write::No => 0,
        Write::Creates | Write::Changes => {
            let max = shared.limits.store_bytes();
            let size = limits::json_size_within(&Value::Object(params.clone()), max)
                .ok_or_else(|| errors::store_size_limit_reached(&max.to_string()))?;
            if write == Write::Creates {
                check_count(&mut store, &shared.limits, svc.id, now)?;
            }
            store.check_bytes(&shared.limits, size)?;
            size
        }
    };
    let mut ctx = Ctx {
        shared,
        store: &mut store,
        session,
        now,
    };
    let result = (act.handler)(&mut ctx, params);
    if result.is_ok() {
        store.charged_bytes = store.charged_bytes.saturating_add(charge);
    }
    result
}

/// `system.ping()` → `true`.
fn ping(_ctx: &mut Ctx<'_>, _p: &Params) -> Result<Value, ApiError> {
    Ok(Value::Bool(true))
}

/// Whether an action writes to the catalog, by its name (the table's actions follow Kaltura's
/// naming: `add`/`clone` create, `update*`/`cancel`/`end` change, the rest read or delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    No,
    Creates,
    Changes,
}

impl Write {
    fn of(action: &str) -> Write {
        match action {
            "add" | "clone" | "end" => Write::Creates,
            "update" | "updateStatus" | "cancel" => Write::Changes,
            _ => Write::No,
        }
    }
}

/// Refuses a create once the catalog holds its limit of that kind of object. Expired ended
/// sessions are forgotten first (they cannot be used again anyway).
fn check_count(
    store: &mut Store,
    limits: &limits::Limits,
    service: &str,
    now: i64,
) -> Result<(), ApiError> {
    let (kind, count, max) = match service {
        "media" | "baseEntry" => ("entry", store.entries.len(), limits.entries()),
        "user" => ("user", store.users.len(), limits.users()),
        _ => {
            if store.object_count() >= limits.objects() {
                store.ended_sessions.retain(|_, until| *until > now);
            }
            (service, store.object_count(), limits.objects())
        }
    };
    if count >= max {
        return Err(errors::max_objects_reached(kind, &max.to_string()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the handlers.

/// A mandatory string parameter.
pub(crate) fn required(params: &Params, name: &str) -> Result<String, ApiError> {
    params::non_empty(params.get(name)).ok_or_else(|| errors::missing_parameter(name))
}

/// A mandatory object parameter.
pub(crate) fn required_object<'p>(
    params: &'p Params,
    name: &str,
) -> Result<&'p Map<String, Value>, ApiError> {
    params::object(params.get(name)).ok_or_else(|| errors::missing_parameter(name))
}

/// `(page_size, page_index)` from a `KalturaFilterPager`/`KalturaPager` parameter: size
/// defaults to 30 and is capped at 500, index is 1-based.
pub(crate) fn pager(params: &Params, name: &str) -> (usize, usize) {
    let p = params::object(params.get(name));
    let size = p
        .and_then(|p| params::int(p.get("pageSize")))
        .filter(|s| *s > 0)
        .unwrap_or(30)
        .min(500);
    let index = p
        .and_then(|p| params::int(p.get("pageIndex")))
        .filter(|i| *i > 0)
        .unwrap_or(1);
    (
        usize::try_from(size).unwrap_or(30),
        usize::try_from(index).unwrap_or(1),
    )
}

/// The page `index` (1-based) of `items`.
pub(crate) fn page<T>(items: Vec<T>, (size, index): (usize, usize)) -> Vec<T> {
    let skip = size.saturating_mul(index.saturating_sub(1));
    items.into_iter().skip(skip).take(size).collect()
}

/// `{"objects": […], "totalCount": n, "objectType": …}`.
pub(crate) fn list_response(object_type: &str, objects: Vec<Value>, total: usize) -> Value {
    json!({"objects": objects, "totalCount": total, "objectType": object_type})
}

/// The kinds of writable properties, for coercing the Python client's strings.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Str,
    Int,
    Bool,
}

/// Copies the writable properties present in `src` into `dst`, coercing scalars; a `null`
/// value removes the property. Unparsable numbers are ignored.
pub(crate) fn apply(dst: &mut Object, src: &Map<String, Value>, writable: &[(&str, Kind)]) {
    for (name, kind) in writable {
        let Some(v) = src.get(*name) else { continue };
        if v.is_null() {
            dst.remove(*name);
            continue;
        }
        let coerced = match kind {
            Kind::Str => params::string(Some(v)).map(Value::String),
            Kind::Int => params::int(Some(v)).map(Value::from),
            Kind::Bool => params::boolean(Some(v)).map(Value::Bool),
        };
        if let Some(c) = coerced {
            dst.insert((*name).to_owned(), c);
        }
    }
}

/// Case-insensitive substring test.
pub(crate) fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// A string property of a stored object (`""` when absent).
pub(crate) fn prop<'o>(o: &'o Object, name: &str) -> &'o str {
    o.get(name).and_then(Value::as_str).unwrap_or("")
}

/// An integer property of a stored object.
pub(crate) fn prop_int(o: &Object, name: &str) -> Option<i64> {
    params::int(o.get(name))
}

/// Splits a comma-separated list, trimming and dropping empty items.
pub(crate) fn csv(s: &str) -> Vec<&str> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Sorts objects by an `orderBy` value such as `-createdAt` or `+name` (unknown fields sort as
/// equal; ties keep the input order).
pub(crate) fn sort_by_order(items: &mut [&Object], order_by: &str) {
    let order_by = order_by.trim();
    if order_by.is_empty() {
        return;
    }
    let (desc, field) = if let Some(f) = order_by.strip_prefix('-') {
        (true, f)
    } else {
        (false, order_by.strip_prefix('+').unwrap_or(order_by))
    };
    items.sort_by(|a, b| {
        let ord = compare_values(a.get(field), b.get(field));
        if desc { ord.reverse() } else { ord }
    });
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        _ => Ordering::Equal,
    }
}
