//! `appToken` service: CRUD (ADMIN KS) and `startSession`, which trades a KS (typically a
//! widget KS) plus `hex(hash(ks ‖ token))` for a new session, as `AppTokenService.php` does.

use md5::Md5;
use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};
use sha2::{Sha256, Sha512};

use super::session::{self, effective_expiry, session_type_param};
use super::{
    Ctx, Kind, apply, csv, list_response, page, pager, prop, prop_int, required, required_object,
};
use crate::ApiError;
use crate::fake::errors;
use crate::fake::params::{self, Params};
use crate::fake::store::Object;
use crate::ks::SessionType;

const WRITABLE: &[(&str, Kind)] = &[
    ("expiry", Kind::Int),
    ("sessionType", Kind::Int),
    ("sessionUserId", Kind::Str),
    ("sessionDuration", Kind::Int),
    ("sessionPrivileges", Kind::Str),
    ("hashType", Kind::Str),
    ("description", Kind::Str),
    ("status", Kind::Int),
];

const HASH_TYPES: &[&str] = &["MD5", "SHA1", "SHA256", "SHA512"];

fn validate(token: &Object) -> Result<(), ApiError> {
    let hash_type = prop(token, "hashType");
    if !HASH_TYPES.contains(&hash_type) {
        return Err(errors::invalid_enum_value(
            hash_type,
            "hashType",
            "KalturaAppTokenHashType",
        ));
    }
    Ok(())
}

/// `appToken.add(appToken)`.
pub(crate) fn add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let src = required_object(p, "appToken")?;
    let id = ctx.store.next_string_id();
    let token = params::non_empty(src.get("token")).unwrap_or_else(random_token);
    let mut obj = Map::new();
    obj.insert("id".into(), json!(id));
    obj.insert("token".into(), json!(token));
    obj.insert("partnerId".into(), json!(ctx.pid()));
    obj.insert("createdAt".into(), json!(ctx.now));
    obj.insert("updatedAt".into(), json!(ctx.now));
    obj.insert("status".into(), json!(2));
    obj.insert("sessionDuration".into(), json!(86_400));
    obj.insert("hashType".into(), json!("SHA1"));
    obj.insert("objectType".into(), json!("KalturaAppToken"));
    apply(&mut obj, src, WRITABLE);
    obj.insert("status".into(), json!(2));
    validate(&obj)?;
    ctx.store.app_tokens.insert(id, obj.clone());
    Ok(Value::Object(obj))
}

fn find<'a>(ctx: &'a mut Ctx<'_>, id: &str) -> Result<&'a mut Object, ApiError> {
    ctx.store
        .app_tokens
        .get_mut(id)
        .ok_or_else(|| errors::app_token_not_found(id))
}

/// `appToken.get(id)`.
pub(crate) fn get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "id")?;
    Ok(Value::Object(find(ctx, &id)?.clone()))
}

/// `appToken.update(id, appToken)`.
pub(crate) fn update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "id")?;
    let src = required_object(p, "appToken")?.clone();
    let now = ctx.now;
    let token = find(ctx, &id)?;
    let mut updated = token.clone();
    apply(&mut updated, &src, WRITABLE);
    validate(&updated)?;
    updated.insert("updatedAt".into(), json!(now));
    *token = updated.clone();
    Ok(Value::Object(updated))
}

/// `appToken.delete(id)` → null.
pub(crate) fn delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "id")?;
    ctx.store
        .app_tokens
        .remove(&id)
        .ok_or_else(|| errors::app_token_not_found(&id))?;
    Ok(Value::Null)
}

/// `appToken.list(filter, pager)` (filter: `idEqual`, `idIn`, `statusEqual`).
pub(crate) fn list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    let f = |name: &str| filter.and_then(|f| params::non_empty(f.get(name)));
    let id_equal = f("idEqual");
    let id_in = f("idIn");
    let status = filter.and_then(|f| params::int(f.get("statusEqual")));
    let matching: Vec<Value> = ctx
        .store
        .app_tokens
        .values()
        .filter(|t| id_equal.as_deref().is_none_or(|id| prop(t, "id") == id))
        .filter(|t| {
            id_in
                .as_deref()
                .is_none_or(|ids| csv(ids).contains(&prop(t, "id")))
        })
        .filter(|t| status.is_none_or(|s| prop_int(t, "status") == Some(s)))
        .map(|t| Value::Object(t.clone()))
        .collect();
    let total = matching.len();
    Ok(list_response(
        "KalturaAppTokenListResponse",
        page(matching, pager(p, "pager")),
        total,
    ))
}

/// `appToken.startSession(id, tokenHash, userId, type, expiry, sessionPrivileges)` →
/// `KalturaSessionInfo`.
pub(crate) fn start_session(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "id")?;
    let token_hash = required(p, "tokenHash")?;
    let now = ctx.now;
    let ks = ctx
        .session
        .as_ref()
        .map(|s| s.ks.clone())
        .unwrap_or_default();
    let token = find(ctx, &id)?.clone();
    if prop_int(&token, "status") != Some(2) {
        return Err(errors::app_token_not_active(&id));
    }
    let token_expiry = prop_int(&token, "expiry").filter(|e| *e > 0);
    if token_expiry.is_some_and(|e| e <= now) {
        return Err(errors::app_token_expired(&id));
    }
    let expected = hash_hex(
        prop(&token, "hashType"),
        &format!("{ks}{}", prop(&token, "token")),
    );
    if !expected.eq_ignore_ascii_case(token_hash.trim()) {
        return Err(errors::invalid_app_token_hash());
    }

    let session_type = match prop_int(&token, "sessionType") {
        Some(t) => SessionType::from_i64(t),
        None => session_type_param(p, "type")?,
    };
    let user_id = match token.get("sessionUserId").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => u.to_owned(),
        _ => params::string(p.get("userId")).unwrap_or_default(),
    };
    let mut expiry = effective_expiry(ctx.shared, params::int(p.get("expiry")));
    if let Some(d) = prop_int(&token, "sessionDuration").filter(|d| *d > 0) {
        expiry = expiry.min(d);
    }
    if let Some(e) = token_expiry {
        expiry = expiry.min(e.saturating_sub(now));
    }
    let mut privileges = format!("sessionid:{id},apptoken:{id}");
    for extra in [
        prop(&token, "sessionPrivileges").to_owned(),
        params::string(p.get("sessionPrivileges")).unwrap_or_default(),
    ] {
        if !extra.trim().is_empty() {
            privileges.push(',');
            privileges.push_str(extra.trim());
        }
    }
    let new_ks = session::sign(ctx.shared, session_type, &user_id, expiry, &privileges)?;
    let info = session::authenticate(ctx.shared, ctx.store, &new_ks, now)?;
    Ok(session::session_info(ctx, &info))
}

/// `hex(hash(text))` for a `KalturaAppTokenHashType` (unknown → SHA1).
pub(crate) fn hash_hex(hash_type: &str, text: &str) -> String {
    let bytes = text.as_bytes();
    match hash_type {
        "MD5" => hex::encode(Md5::digest(bytes)),
        "SHA256" => hex::encode(Sha256::digest(bytes)),
        "SHA512" => hex::encode(Sha512::digest(bytes)),
        _ => hex::encode(Sha1::digest(bytes)),
    }
}

fn random_token() -> String {
    use rand::Rng as _;
    let mut buf = [0u8; 16];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}
