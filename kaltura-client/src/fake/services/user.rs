//! `user` service: `KalturaUser` CRUD keyed by the partner's own user id (`discord_42`),
//! validated against Kaltura's `kuser::PUSER_ID_REGEXP`.

use serde_json::{Map, Value, json};

use super::{
    Ctx, Kind, apply, contains_ci, csv, list_response, page, pager, prop, prop_int, required,
    required_object, sort_by_order,
};
use crate::ApiError;
use crate::fake::errors;
use crate::fake::params::{self, Params};
use crate::fake::store::Object;

const WRITABLE: &[(&str, Kind)] = &[
    ("screenName", Kind::Str),
    ("fullName", Kind::Str),
    ("email", Kind::Str),
    ("firstName", Kind::Str),
    ("lastName", Kind::Str),
    ("status", Kind::Int),
    ("isAdmin", Kind::Bool),
    ("roleIds", Kind::Str),
    ("partnerData", Kind::Str),
    ("tags", Kind::Str),
    ("language", Kind::Str),
    ("company", Kind::Str),
    ("title", Kind::Str),
    ("thumbnailUrl", Kind::Str),
    ("description", Kind::Str),
    ("type", Kind::Int),
];

/// `^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$`
pub(crate) fn is_valid_user_id(id: &str) -> bool {
    (1..=320).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b",!#$%&'*+?^_`{|}~.@-".contains(&b))
}

/// A new user with its read-only properties.
pub(crate) fn new_user(pid: i64, id: &str, now: i64) -> Object {
    let mut o = Map::new();
    o.insert("id".into(), json!(id));
    o.insert("partnerId".into(), json!(pid));
    o.insert("type".into(), json!(0));
    o.insert("screenName".into(), json!(id));
    o.insert("status".into(), json!(1));
    o.insert("isAdmin".into(), json!(false));
    o.insert("createdAt".into(), json!(now));
    o.insert("updatedAt".into(), json!(now));
    o.insert("objectType".into(), json!("KalturaUser"));
    o
}

/// Derives `fullName` from first/last name when it was not given.
fn fill_full_name(o: &mut Object, explicit: bool) {
    if explicit {
        return;
    }
    let full = format!("{} {}", prop(o, "firstName"), prop(o, "lastName"))
        .trim()
        .to_owned();
    if !full.is_empty() {
        o.insert("fullName".into(), json!(full));
    }
}

/// `user.get(userId)`; an empty id means the session's user. A USER session may only read
/// its own user.
pub(crate) fn get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = params::non_empty(p.get("userId")).unwrap_or_else(|| ctx.session_user().to_owned());
    if !ctx.is_admin() && id != ctx.session_user() {
        return Err(errors::cannot_retrieve_another_user(&id));
    }
    ctx.store
        .users
        .get(&id)
        .map(|u| Value::Object(u.clone()))
        .ok_or_else(errors::invalid_user_id)
}

/// `user.add(user)`.
pub(crate) fn add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let src = required_object(p, "user")?;
    let id =
        params::non_empty(src.get("id")).ok_or_else(|| errors::property_cannot_be_null("id"))?;
    if !is_valid_user_id(&id) {
        return Err(errors::invalid_field_value("id"));
    }
    if ctx.store.users.contains_key(&id) {
        return Err(errors::duplicate_user(&id));
    }
    let mut user = new_user(ctx.pid(), &id, ctx.now);
    apply(&mut user, src, WRITABLE);
    fill_full_name(&mut user, src.contains_key("fullName"));
    ctx.store.users.insert(id, user.clone());
    Ok(Value::Object(user))
}

/// `user.update(userId, user)`.
pub(crate) fn update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "userId")?;
    let src = required_object(p, "user")?;
    let mut user = ctx
        .store
        .users
        .get(&id)
        .cloned()
        .ok_or_else(errors::invalid_user_id)?;
    apply(&mut user, src, WRITABLE);
    fill_full_name(&mut user, src.contains_key("fullName"));
    user.insert("updatedAt".into(), json!(ctx.now));
    ctx.store.users.insert(id, user.clone());
    Ok(Value::Object(user))
}

/// `user.delete(userId)` → the deleted user (status 2).
pub(crate) fn delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "userId")?;
    let mut user = ctx
        .store
        .users
        .remove(&id)
        .ok_or_else(errors::invalid_user_id)?;
    user.insert("status".into(), json!(2));
    user.insert("updatedAt".into(), json!(ctx.now));
    Ok(Value::Object(user))
}

/// `user.list(filter, pager)` (filter: `idEqual`, `idIn`, `statusEqual`, `isAdminEqual`,
/// `screenNameLike`, `emailLike`, `firstNameOrLastNameStartsWith`, `orderBy`).
pub(crate) fn list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    let s = |name: &str| filter.and_then(|f| params::non_empty(f.get(name)));
    let id_equal = s("idEqual");
    let id_in = s("idIn");
    let screen_name_like = s("screenNameLike");
    let email_like = s("emailLike");
    let name_starts = s("firstNameOrLastNameStartsWith").map(|v| v.to_lowercase());
    let status = filter.and_then(|f| params::int(f.get("statusEqual")));
    let is_admin = filter.and_then(|f| params::boolean(f.get("isAdminEqual")));
    let mut matching: Vec<&Object> = ctx
        .store
        .users
        .values()
        .filter(|u| id_equal.as_deref().is_none_or(|v| prop(u, "id") == v))
        .filter(|u| {
            id_in
                .as_deref()
                .is_none_or(|l| csv(l).contains(&prop(u, "id")))
        })
        .filter(|u| {
            screen_name_like
                .as_deref()
                .is_none_or(|v| contains_ci(prop(u, "screenName"), v))
        })
        .filter(|u| {
            email_like
                .as_deref()
                .is_none_or(|v| contains_ci(prop(u, "email"), v))
        })
        .filter(|u| {
            name_starts.as_deref().is_none_or(|v| {
                prop(u, "firstName").to_lowercase().starts_with(v)
                    || prop(u, "lastName").to_lowercase().starts_with(v)
            })
        })
        .filter(|u| status.is_none_or(|v| prop_int(u, "status") == Some(v)))
        .filter(|u| {
            is_admin.is_none_or(|v| u.get("isAdmin").and_then(Value::as_bool).unwrap_or(false) == v)
        })
        .collect();
    if let Some(order) = s("orderBy") {
        sort_by_order(&mut matching, &order);
    }
    let total = matching.len();
    let objects = page(matching, pager(p, "pager"))
        .into_iter()
        .map(|u| Value::Object(u.clone()))
        .collect();
    Ok(list_response("KalturaUserListResponse", objects, total))
}
