//! `category` service: a category tree (`fullName` `Parent>Child`); `entriesCount` is computed
//! from the entries' `categoriesIds`.

use serde_json::{Map, Value, json};

use super::{
    Ctx, Kind, apply, contains_ci, csv, list_response, page, pager, prop, prop_int, required,
    required_object, sort_by_order,
};
use crate::ApiError;
use crate::fake::errors;
use crate::fake::params::{self, Params};
use crate::fake::store::{Object, Store};

/// A new category under `parent` (0 = root).
pub(crate) fn new_category(
    store: &Store,
    pid: i64,
    id: i64,
    parent_id: i64,
    name: &str,
    now: i64,
) -> Object {
    let parent = store.categories.get(&parent_id);
    let (full_name, full_ids, depth) = match parent {
        Some(p) => (
            format!("{}>{name}", prop(p, "fullName")),
            format!("{}>{id}", prop(p, "fullIds")),
            prop_int(p, "depth").unwrap_or(0) + 1,
        ),
        None => (name.to_owned(), id.to_string(), 0),
    };
    let mut o = Map::new();
    o.insert("id".into(), json!(id));
    o.insert(
        "parentId".into(),
        json!(if parent.is_some() { parent_id } else { 0 }),
    );
    o.insert("depth".into(), json!(depth));
    o.insert("partnerId".into(), json!(pid));
    o.insert("name".into(), json!(name));
    o.insert("fullName".into(), json!(full_name));
    o.insert("fullIds".into(), json!(full_ids));
    o.insert("description".into(), json!(""));
    o.insert("tags".into(), json!(""));
    o.insert("status".into(), json!(2));
    o.insert("createdAt".into(), json!(now));
    o.insert("updatedAt".into(), json!(now));
    o.insert("objectType".into(), json!("KalturaCategory"));
    o
}

/// The category with its computed counters.
fn render(store: &Store, c: &Object) -> Value {
    let id = prop_int(c, "id").unwrap_or_default().to_string();
    let entries = store
        .entries
        .values()
        .filter(|e| csv(prop(e, "categoriesIds")).contains(&id.as_str()))
        .count();
    let children = store
        .categories
        .values()
        .filter(|x| prop_int(x, "parentId").map(|p| p.to_string()) == Some(id.clone()))
        .count();
    let mut out = c.clone();
    out.insert("entriesCount".into(), json!(entries));
    out.insert("directEntriesCount".into(), json!(entries));
    out.insert("directSubCategoriesCount".into(), json!(children));
    Value::Object(out)
}

fn id_param(p: &Params) -> Result<(String, Option<i64>), ApiError> {
    let raw = required(p, "id")?;
    let id = raw.trim().parse::<i64>().ok();
    Ok((raw, id))
}

/// `category.get(id)`.
pub(crate) fn get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let (raw, id) = id_param(p)?;
    let c = id
        .and_then(|id| ctx.store.categories.get(&id))
        .ok_or_else(|| errors::category_not_found(&raw))?;
    Ok(render(ctx.store, c))
}

/// `category.list(filter, pager)` (filter: `idEqual`, `idIn`, `parentIdEqual`, `fullNameEqual`,
/// `fullNameStartsWith`, `nameOrReferenceIdStartsWith`, `freeText`, `orderBy`).
pub(crate) fn list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    let s = |name: &str| filter.and_then(|f| params::non_empty(f.get(name)));
    let id_equal = filter.and_then(|f| params::int(f.get("idEqual")));
    let id_in = s("idIn");
    let parent = filter.and_then(|f| params::int(f.get("parentIdEqual")));
    let full_name_equal = s("fullNameEqual");
    let full_name_starts = s("fullNameStartsWith").map(|v| v.to_lowercase());
    let name_starts = s("nameOrReferenceIdStartsWith").map(|v| v.to_lowercase());
    let free_text = s("freeText");
    let mut matching: Vec<&Object> = ctx
        .store
        .categories
        .values()
        .filter(|c| id_equal.is_none_or(|v| prop_int(c, "id") == Some(v)))
        .filter(|c| {
            id_in.as_deref().is_none_or(|l| {
                csv(l).contains(&prop_int(c, "id").unwrap_or_default().to_string().as_str())
            })
        })
        .filter(|c| parent.is_none_or(|v| prop_int(c, "parentId") == Some(v)))
        .filter(|c| {
            full_name_equal
                .as_deref()
                .is_none_or(|v| prop(c, "fullName") == v)
        })
        .filter(|c| {
            full_name_starts
                .as_deref()
                .is_none_or(|v| prop(c, "fullName").to_lowercase().starts_with(v))
        })
        .filter(|c| {
            name_starts
                .as_deref()
                .is_none_or(|v| prop(c, "name").to_lowercase().starts_with(v))
        })
        .filter(|c| {
            free_text.as_deref().is_none_or(|v| {
                contains_ci(prop(c, "name"), v)
                    || contains_ci(prop(c, "description"), v)
                    || contains_ci(prop(c, "tags"), v)
            })
        })
        .collect();
    if let Some(order) = s("orderBy") {
        sort_by_order(&mut matching, &order);
    }
    let total = matching.len();
    let objects = page(matching, pager(p, "pager"))
        .into_iter()
        .map(|c| render(ctx.store, c))
        .collect();
    Ok(list_response("KalturaCategoryListResponse", objects, total))
}

/// `category.add(category)`.
pub(crate) fn add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let src = required_object(p, "category")?;
    let name = params::non_empty(src.get("name"))
        .ok_or_else(|| errors::property_cannot_be_null("name"))?;
    let parent_id = params::int(src.get("parentId")).unwrap_or(0);
    if parent_id != 0 && !ctx.store.categories.contains_key(&parent_id) {
        return Err(crate::fake::errors::from_template(
            "PARENT_CATEGORY_NOT_FOUND;ID;Parent category id \"@ID@\" not found",
            &[&parent_id.to_string()],
        ));
    }
    let id = ctx.store.next_int_id();
    let mut c = new_category(ctx.store, ctx.pid(), id, parent_id, &name, ctx.now);
    if ctx
        .store
        .categories
        .values()
        .any(|x| prop(x, "fullName") == prop(&c, "fullName"))
    {
        return Err(crate::fake::errors::from_template(
            "DUPLICATE_CATEGORY;CATEGORY;The category \"@CATEGORY@\" already exists",
            &[prop(&c, "fullName")],
        ));
    }
    apply(
        &mut c,
        src,
        &[
            ("description", Kind::Str),
            ("tags", Kind::Str),
            ("referenceId", Kind::Str),
        ],
    );
    ctx.store.categories.insert(id, c.clone());
    Ok(render(ctx.store, &c))
}

/// `category.delete(id)` → null (children are removed too).
pub(crate) fn delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let (raw, id) = id_param(p)?;
    let id = id
        .filter(|id| ctx.store.categories.contains_key(id))
        .ok_or_else(|| errors::category_not_found(&raw))?;
    let prefix = ctx
        .store
        .categories
        .get(&id)
        .map(|c| prop(c, "fullIds").to_owned())
        .unwrap_or_default();
    ctx.store.categories.retain(|_, c| {
        let ids = prop(c, "fullIds");
        !(ids == prefix || ids.starts_with(&format!("{prefix}>")))
    });
    Ok(Value::Null)
}
