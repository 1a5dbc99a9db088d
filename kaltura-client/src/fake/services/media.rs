//! `media` and `baseEntry` services over the in-memory entry catalog.
//!
//! Entries are `KalturaMediaEntry` objects; `add` creates them without content
//! (`status` 7 = NO_CONTENT, as the real `media.add`), demo data is READY.

use serde_json::{Map, Value, json};

use super::{
    Ctx, Kind, apply, contains_ci, csv, list_response, page, pager, prop, prop_int, required,
    required_object, sort_by_order,
};
use crate::ApiError;
use crate::fake::errors;
use crate::fake::notify::ObjectEvent;
use crate::fake::params::{self, Params};
use crate::fake::store::{Object, Store};

/// Properties a client may set on update (and on add, plus [`INSERT_ONLY`]).
const WRITABLE: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("description", Kind::Str),
    ("tags", Kind::Str),
    ("adminTags", Kind::Str),
    ("categoriesIds", Kind::Str),
    ("referenceId", Kind::Str),
    ("userId", Kind::Str),
    ("partnerData", Kind::Str),
    ("startDate", Kind::Int),
    ("endDate", Kind::Int),
    ("licenseType", Kind::Int),
    ("accessControlId", Kind::Int),
    ("conversionProfileId", Kind::Int),
    ("displayInSearch", Kind::Int),
];

const INSERT_ONLY: &[(&str, Kind)] = &[("mediaType", Kind::Int), ("sourceType", Kind::Str)];

/// A new entry with every read-only property filled in.
pub(crate) fn new_entry(pid: i64, base_url: &str, id: &str, now: i64, user_id: &str) -> Object {
    let mut o = Map::new();
    let set = |o: &mut Object, k: &str, v: Value| {
        o.insert(k.to_owned(), v);
    };
    set(&mut o, "id", json!(id));
    set(&mut o, "name", json!(""));
    set(&mut o, "description", json!(""));
    set(&mut o, "partnerId", json!(pid));
    set(&mut o, "userId", json!(user_id));
    set(&mut o, "creatorId", json!(user_id));
    set(&mut o, "tags", json!(""));
    set(&mut o, "categories", json!(""));
    set(&mut o, "categoriesIds", json!(""));
    set(&mut o, "status", json!(7));
    set(&mut o, "moderationStatus", json!(6));
    set(&mut o, "moderationCount", json!(0));
    set(&mut o, "type", json!(1));
    set(&mut o, "createdAt", json!(now));
    set(&mut o, "updatedAt", json!(now));
    set(&mut o, "rank", json!(0));
    set(&mut o, "totalRank", json!(0));
    set(&mut o, "votes", json!(0));
    set(&mut o, "licenseType", json!(-1));
    set(&mut o, "version", json!(0));
    set(&mut o, "accessControlId", json!(0));
    set(&mut o, "replacementStatus", json!(0));
    set(&mut o, "partnerSortValue", json!(0));
    set(&mut o, "rootEntryId", json!(id));
    set(&mut o, "displayInSearch", json!(1));
    set(&mut o, "plays", json!(0));
    set(&mut o, "views", json!(0));
    set(&mut o, "duration", json!(0));
    set(&mut o, "msDuration", json!(0));
    set(&mut o, "mediaType", json!(1));
    set(&mut o, "sourceType", json!("1"));
    set(&mut o, "searchProviderType", json!(0));
    set(
        &mut o,
        "thumbnailUrl",
        json!(format!(
            "{base_url}/p/{pid}/sp/{pid}00/thumbnail/entry_id/{id}/version/100000"
        )),
    );
    set(
        &mut o,
        "dataUrl",
        json!(format!(
            "{base_url}/p/{pid}/sp/{pid}00/playManifest/entryId/{id}/format/url/protocol/http"
        )),
    );
    set(
        &mut o,
        "downloadUrl",
        json!(format!(
            "{base_url}/p/{pid}/sp/{pid}00/playManifest/entryId/{id}/format/download/protocol/http"
        )),
    );
    set(&mut o, "objectType", json!("KalturaMediaEntry"));
    o
}

/// Recomputes `categories` (full names) from `categoriesIds`.
pub(crate) fn sync_categories(store: &Store, entry: &mut Object) {
    let names: Vec<String> = csv(prop(entry, "categoriesIds"))
        .into_iter()
        .filter_map(|id| id.parse::<i64>().ok())
        .filter_map(|id| store.categories.get(&id))
        .map(|c| prop(c, "fullName").to_owned())
        .collect();
    entry.insert("categories".into(), json!(names.join(",")));
}

fn get_entry<'a>(store: &'a Store, id: &str) -> Result<&'a Object, ApiError> {
    store
        .entries
        .get(id)
        .ok_or_else(|| errors::entry_id_not_found(id))
}

/// `media.get(entryId, version)` / `baseEntry.get`.
pub(crate) fn get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "entryId")?;
    Ok(Value::Object(get_entry(ctx.store, &id)?.clone()))
}

/// Times up to ten years in absolute value are relative to now (`kTime::getRelativeTime`).
fn time_param(v: Option<&Value>, now: i64) -> Option<i64> {
    params::int(v).map(|t| {
        if t.unsigned_abs() <= 315_360_000 {
            now.saturating_add(t)
        } else {
            t
        }
    })
}

/// Applies a `KalturaBaseEntryFilter`/`KalturaMediaEntryFilter` and its `orderBy`.
pub(crate) fn filter_entries<'s>(
    store: &'s Store,
    filter: Option<&Map<String, Value>>,
    now: i64,
) -> Vec<&'s Object> {
    let s = |name: &str| filter.and_then(|f| params::non_empty(f.get(name)));
    let i = |name: &str| filter.and_then(|f| params::int(f.get(name)));
    let id_equal = s("idEqual");
    let id_in = s("idIn");
    let id_not_in = s("idNotIn");
    let name_like = s("nameLike");
    let name_equal = s("nameEqual");
    let name_multi_like_or = s("nameMultiLikeOr");
    let tags_like = s("tagsLike");
    let tags_multi_like_or = s("tagsMultiLikeOr");
    let tags_multi_like_and = s("tagsMultiLikeAnd");
    let cats_or = s("categoriesIdsMatchOr");
    let cats_and = s("categoriesIdsMatchAnd");
    let user_id = s("userIdEqual");
    let reference_id = s("referenceIdEqual");
    let free_text = s("freeText");
    let status_equal = i("statusEqual");
    let status_in = s("statusIn");
    let status_not_in = s("statusNotIn");
    let media_type = i("mediaTypeEqual");
    let media_type_in = s("mediaTypeIn");
    let type_equal = i("typeEqual");
    let created_ge = filter.and_then(|f| time_param(f.get("createdAtGreaterThanOrEqual"), now));
    let created_le = filter.and_then(|f| time_param(f.get("createdAtLessThanOrEqual"), now));
    let updated_ge = filter.and_then(|f| time_param(f.get("updatedAtGreaterThanOrEqual"), now));
    let order_by = s("orderBy").unwrap_or_else(|| "-createdAt".to_owned());

    let in_csv = |list: &Option<String>, value: String| {
        list.as_deref()
            .is_none_or(|l| csv(l).contains(&value.as_str()))
    };
    let entry_tags = |e: &Object| {
        csv(prop(e, "tags"))
            .into_iter()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
    };
    let entry_cats = |e: &Object| {
        csv(prop(e, "categoriesIds"))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    let mut out: Vec<&Object> = store
        .entries
        .values()
        .filter(|e| id_equal.as_deref().is_none_or(|v| prop(e, "id") == v))
        .filter(|e| in_csv(&id_in, prop(e, "id").to_owned()))
        .filter(|e| {
            id_not_in
                .as_deref()
                .is_none_or(|l| !csv(l).contains(&prop(e, "id")))
        })
        .filter(|e| {
            name_like
                .as_deref()
                .is_none_or(|v| contains_ci(prop(e, "name"), v))
        })
        .filter(|e| name_equal.as_deref().is_none_or(|v| prop(e, "name") == v))
        .filter(|e| {
            name_multi_like_or
                .as_deref()
                .is_none_or(|l| csv(l).iter().any(|v| contains_ci(prop(e, "name"), v)))
        })
        .filter(|e| {
            tags_like
                .as_deref()
                .is_none_or(|v| contains_ci(prop(e, "tags"), v))
        })
        .filter(|e| {
            tags_multi_like_or.as_deref().is_none_or(|l| {
                let tags = entry_tags(e);
                csv(l)
                    .iter()
                    .any(|v| tags.iter().any(|t| t.contains(&v.to_lowercase())))
            })
        })
        .filter(|e| {
            tags_multi_like_and.as_deref().is_none_or(|l| {
                let tags = entry_tags(e);
                csv(l)
                    .iter()
                    .all(|v| tags.iter().any(|t| t.contains(&v.to_lowercase())))
            })
        })
        .filter(|e| {
            cats_or.as_deref().is_none_or(|l| {
                let cats = entry_cats(e);
                csv(l).iter().any(|c| cats.iter().any(|x| x == c))
            })
        })
        .filter(|e| {
            cats_and.as_deref().is_none_or(|l| {
                let cats = entry_cats(e);
                csv(l).iter().all(|c| cats.iter().any(|x| x == c))
            })
        })
        .filter(|e| user_id.as_deref().is_none_or(|v| prop(e, "userId") == v))
        .filter(|e| {
            reference_id
                .as_deref()
                .is_none_or(|v| prop(e, "referenceId") == v)
        })
        .filter(|e| {
            free_text.as_deref().is_none_or(|v| {
                ["name", "description", "tags"]
                    .iter()
                    .any(|f| contains_ci(prop(e, f), v))
            })
        })
        .filter(|e| status_equal.is_none_or(|v| prop_int(e, "status") == Some(v)))
        .filter(|e| {
            in_csv(
                &status_in,
                prop_int(e, "status").unwrap_or_default().to_string(),
            )
        })
        .filter(|e| {
            status_not_in.as_deref().is_none_or(|l| {
                !csv(l).contains(
                    &prop_int(e, "status")
                        .unwrap_or_default()
                        .to_string()
                        .as_str(),
                )
            })
        })
        .filter(|e| media_type.is_none_or(|v| prop_int(e, "mediaType") == Some(v)))
        .filter(|e| {
            in_csv(
                &media_type_in,
                prop_int(e, "mediaType").unwrap_or_default().to_string(),
            )
        })
        .filter(|e| type_equal.is_none_or(|v| prop_int(e, "type") == Some(v)))
        .filter(|e| created_ge.is_none_or(|t| prop_int(e, "createdAt").unwrap_or(0) >= t))
        .filter(|e| created_le.is_none_or(|t| prop_int(e, "createdAt").unwrap_or(0) <= t))
        .filter(|e| updated_ge.is_none_or(|t| prop_int(e, "updatedAt").unwrap_or(0) >= t))
        .collect();
    sort_by_order(&mut out, &order_by);
    out
}

fn list_as(ctx: &mut Ctx<'_>, p: &Params, object_type: &str) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    let matching = filter_entries(ctx.store, filter, ctx.now);
    let total = matching.len();
    let objects = page(matching, pager(p, "pager"))
        .into_iter()
        .map(|e| Value::Object(e.clone()))
        .collect();
    Ok(list_response(object_type, objects, total))
}

/// `media.list(filter, pager)` → `KalturaMediaListResponse`.
pub(crate) fn list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    list_as(ctx, p, "KalturaMediaListResponse")
}

/// `baseEntry.list(filter, pager)` → `KalturaBaseEntryListResponse`.
pub(crate) fn base_list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    list_as(ctx, p, "KalturaBaseEntryListResponse")
}

/// `media.count(filter)` / `baseEntry.count(filter)` → integer.
pub(crate) fn count(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    Ok(json!(filter_entries(ctx.store, filter, ctx.now).len()))
}

/// `media.add(entry)` → the new `KalturaMediaEntry` (status NO_CONTENT).
pub(crate) fn add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let src = required_object(p, "entry")?;
    if params::int(src.get("mediaType")).is_none() {
        return Err(errors::property_cannot_be_null("mediaType"));
    }
    let id = ctx.store.next_string_id();
    let user = ctx.session_user().to_owned();
    let mut entry = new_entry(ctx.pid(), &ctx.shared.base_url, &id, ctx.now, &user);
    apply(&mut entry, src, WRITABLE);
    apply(&mut entry, src, INSERT_ONLY);
    sync_categories(ctx.store, &mut entry);
    ctx.store.entries.insert(id, entry.clone());
    ctx.shared
        .emit(ctx.store, &ObjectEvent::entry_added(&entry));
    for event in ObjectEvent::categories_added(None, &entry, ctx.now) {
        ctx.shared.emit(ctx.store, &event);
    }
    Ok(Value::Object(entry))
}

fn update_with(ctx: &mut Ctx<'_>, p: &Params, object_param: &str) -> Result<Value, ApiError> {
    let id = required(p, "entryId")?;
    let src = required_object(p, object_param)?;
    let old = get_entry(ctx.store, &id)?.clone();
    let mut entry = old.clone();
    apply(&mut entry, src, WRITABLE);
    sync_categories(ctx.store, &mut entry);
    entry.insert("updatedAt".into(), json!(ctx.now));
    ctx.store.entries.insert(id, entry.clone());
    if let Some(event) = ObjectEvent::entry_changed(&old, &entry) {
        ctx.shared.emit(ctx.store, &event);
    }
    for event in ObjectEvent::categories_added(Some(&old), &entry, ctx.now) {
        ctx.shared.emit(ctx.store, &event);
    }
    Ok(Value::Object(entry))
}

/// `media.update(entryId, mediaEntry)`.
pub(crate) fn update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    update_with(ctx, p, "mediaEntry")
}

/// `baseEntry.update(entryId, baseEntry)`.
pub(crate) fn base_update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    update_with(ctx, p, "baseEntry")
}

/// `media.delete(entryId)` / `baseEntry.delete` → null.
pub(crate) fn delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "entryId")?;
    let entry = ctx
        .store
        .entries
        .remove(&id)
        .ok_or_else(|| errors::entry_id_not_found(&id))?;
    ctx.shared
        .emit(ctx.store, &ObjectEvent::entry_deleted(&entry));
    Ok(Value::Null)
}
