//! `/api/v1/guilds/{guild_id}/config`: the resolved configuration (secrets redacted), where
//! each value comes from, changes to the guild's own settings (a JSON merge patch, RFC 7396,
//! validated against the schema like `/kaltura-admin config set`; an invalid result is `422`
//! naming the key path) and their reset. Everything needs `manage_config`; changes are
//! written with their audit entry in one store transaction.

use std::sync::Mutex;

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::auth::GuildCall;
use super::error::{ApiError, Problem};
use super::{ApiJson, GatewayState};
use crate::config::{ConfigError, Layer};
use crate::rbac::Permission;
use crate::{Error, Result};

/// Longest key segment, in characters.
pub const MAX_KEY_SEGMENT_CHARS: usize = 100;
/// Deepest key path of a patch.
pub const MAX_KEY_DEPTH: usize = 8;

pub(crate) fn router() -> Router<GatewayState> {
    Router::new()
        .route(
            "/api/v1/guilds/{guild_id}/config",
            get(get_config).patch(patch_config).delete(reset_config),
        )
        .route(
            "/api/v1/guilds/{guild_id}/config/explain",
            get(explain_config),
        )
}

/// The guild's resolved configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuildConfigView {
    /// The guild.
    pub guild_id: String,
    /// Every setting (secrets shown as `**redacted**`).
    #[schema(value_type = Object)]
    pub config: Value,
}

/// A value and where it was set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExplainEntry {
    /// The dotted key.
    pub key: String,
    /// The resolved value (any JSON value: a section is an object, a setting a string,
    /// number, boolean, array or null).
    pub value: Value,
    /// `defaults`, `file`, `env`, `guild file` or `guild store`.
    pub layer: String,
}

/// Where each value comes from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explanation {
    /// The keys, in order.
    pub entries: Vec<ExplainEntry>,
}

/// `explain` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainParams {
    /// A dotted key or section (`meetings`, `meetings.default_type`); all keys when absent.
    #[serde(default)]
    pub key: Option<String>,
}

/// `reset` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResetParams {
    /// The dotted key to reset; the whole override when absent.
    #[serde(default)]
    pub key: Option<String>,
}

/// The guild's own settings after a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredSettings {
    /// The settings version.
    pub version: i64,
    /// When they changed (unix seconds).
    pub updated_at: i64,
    /// The guild's override document.
    #[schema(value_type = Object)]
    pub document: Map<String, Value>,
}

/// The result of a reset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResetOutcome {
    /// Whether something was removed.
    pub reset: bool,
    /// The new settings version, when a single key was reset.
    pub version: Option<i64>,
}

/// Checks a dotted key: 1-[`MAX_KEY_DEPTH`] segments of `A-Z a-z 0-9 _`.
fn key_path(raw: &str, field: &'static str) -> std::result::Result<Vec<String>, ApiError> {
    let raw = raw.trim();
    let segments: Vec<&str> = raw.split('.').collect();
    let ok = !raw.is_empty()
        && segments.len() <= MAX_KEY_DEPTH
        && segments.iter().all(|s| valid_segment(s));
    if ok {
        Ok(segments.into_iter().map(str::to_owned).collect())
    } else {
        Err(ApiError::invalid(
            field,
            "a setting is named like `meetings.default_type`: dot-separated parts of A-Z, a-z, 0-9 and _",
        ))
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_KEY_SEGMENT_CHARS
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks every key of a patch; the first bad one as its path.
fn check_patch_keys(doc: &Map<String, Value>, prefix: &str, depth: usize) -> Option<String> {
    for (k, v) in doc {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if !valid_segment(k) || depth >= MAX_KEY_DEPTH {
            return Some(crate::text::truncate_chars(&path, 200));
        }
        if let Value::Object(child) = v
            && let Some(bad) = check_patch_keys(child, &path, depth + 1)
        {
            return Some(bad);
        }
    }
    None
}

/// RFC 7396: `null` removes, objects merge, anything else replaces; parents left empty go.
fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                target.remove(k);
            }
            Value::Object(p) => {
                let entry = target
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(t) = entry {
                    merge_patch(t, p);
                    if t.is_empty() {
                        target.remove(k);
                    }
                }
            }
            other => {
                target.insert(k.clone(), other.clone());
            }
        }
    }
}

/// Removes `path`, then parents left empty; whether it was there.
fn remove_path(doc: &mut Map<String, Value>, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => doc.remove(last).is_some(),
        [first, rest @ ..] => {
            let Some(Value::Object(child)) = doc.get_mut(first) else {
                return false;
            };
            let removed = remove_path(child, rest);
            if child.is_empty() {
                doc.remove(first);
            }
            removed
        }
    }
}

fn layer_name(layer: &Layer) -> String {
    // The kind only: never the operator's file paths or variable names.
    layer.kind().to_owned()
}

/// The guild's resolved configuration (`manage_config`).
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/config", tag = "config",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The configuration, secrets redacted", body = GuildConfigView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_config(call: GuildCall) -> std::result::Result<Response, ApiError> {
    call.require(Permission::ManageConfig)?;
    let config = serde_json::to_value(call.config())
        .map_err(|e| ApiError::internal(format!("could not serialize the configuration: {e}")))?;
    Ok(axum::Json(GuildConfigView {
        guild_id: call.guild.to_string(),
        config,
    })
    .into_response())
}

/// Each value with the layer that set it (`manage_config`).
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/config/explain", tag = "config",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)"), ExplainParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Values and layers", body = Explanation),
        (status = 400, description = "Bad or unknown key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn explain_config(
    call: GuildCall,
    query: std::result::Result<Query<ExplainParams>, QueryRejection>,
) -> std::result::Result<Response, ApiError> {
    call.require(Permission::ManageConfig)?;
    let Query(params) = query.map_err(|_| ApiError::invalid("key", "give the key as `key`"))?;
    let prefix = match params
        .key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) => key_path(k, "key")?.join("."),
        None => String::new(),
    };
    let entries = call.resolved.explain(&prefix);
    if entries.is_empty() {
        return Err(ApiError::invalid(
            "key",
            format!("no setting is named `{prefix}`"),
        ));
    }
    Ok(axum::Json(Explanation {
        entries: entries
            .into_iter()
            .map(|e| ExplainEntry {
                key: e.key,
                value: e.value,
                layer: layer_name(&e.layer),
            })
            .collect(),
    })
    .into_response())
}

/// Applies `change` to the stored override in the store's transaction, refusing a result
/// that does not validate as a guild layer (the problem's key path is kept for the `422`).
async fn edit(
    call: &GuildCall,
    change: impl Fn(&mut Map<String, Value>) + Send + Sync,
) -> std::result::Result<crate::store::StoredOverride, ApiError> {
    let shared = &call.state.shared;
    let refused: Mutex<Option<ConfigError>> = Mutex::new(None);
    let resolver = shared.resolver.clone();
    let edit = |doc: &mut Map<String, Value>| -> Result<()> {
        change(doc);
        match resolver.check_override(doc.clone(), &Layer::GuildStore) {
            Ok(_) => Ok(()),
            Err(e) => {
                let message = format!("`{}` {}", e.key, e.message);
                if let Ok(mut slot) = refused.lock() {
                    *slot = Some(e);
                }
                Err(Error::invalid_input("config", message))
            }
        }
    };
    match shared
        .overrides
        .update_override(call.guild, call.caller.user, &edit)
        .await
    {
        Ok(stored) => {
            shared.resolver.invalidate(call.guild);
            Ok(stored)
        }
        Err(e) => {
            let refused = refused.lock().ok().and_then(|mut s| s.take());
            match refused {
                Some(c) => Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    format!("`{}` {}", c.key, c.message),
                )
                .with_field(c.key)),
                None => Err(e.into()),
            }
        }
    }
}

/// Change the guild's own settings with a JSON merge patch (`manage_config`).
#[utoipa::path(patch, path = "/api/v1/guilds/{guild_id}/config", tag = "config",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)")),
    request_body(content = Object, description = "A JSON merge patch (RFC 7396) of the guild's settings, e.g. {\"meetings\": {\"default_duration_minutes\": 45}}; null removes a key", content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The guild's settings after the change", body = StoredSettings),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The result does not validate; `field` is the key path", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn patch_config(
    call: GuildCall,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> std::result::Result<Response, ApiError> {
    call.require(Permission::ManageConfig)?;
    if let Some(bad) = check_patch_keys(&patch, "", 0) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!(
                "`{bad}` is not a setting name: dot-separated parts of A-Z, a-z, 0-9 and _, at most {MAX_KEY_DEPTH} deep"
            ),
        )
        .with_field(bad));
    }
    let stored = edit(&call, move |doc| merge_patch(doc, &patch)).await?;
    Ok(axum::Json(StoredSettings {
        version: stored.version,
        updated_at: stored.updated_at,
        document: stored.document,
    })
    .into_response())
}

/// Reset one key, or all of the guild's own settings (`manage_config`).
#[utoipa::path(delete, path = "/api/v1/guilds/{guild_id}/config", tag = "config",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)"), ResetParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What was reset", body = ResetOutcome),
        (status = 400, description = "Bad key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn reset_config(
    call: GuildCall,
    query: std::result::Result<Query<ResetParams>, QueryRejection>,
) -> std::result::Result<Response, ApiError> {
    call.require(Permission::ManageConfig)?;
    let Query(params) = query.map_err(|_| ApiError::invalid("key", "give the key as `key`"))?;
    let shared = &call.state.shared;
    let Some(key) = params
        .key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        let reset = shared
            .overrides
            .delete_override(call.guild, call.caller.user)
            .await?;
        shared.resolver.invalidate(call.guild);
        return Ok(axum::Json(ResetOutcome {
            reset,
            version: None,
        })
        .into_response());
    };
    let path = key_path(key, "key")?;
    let present = shared
        .overrides
        .get_override(call.guild)
        .await?
        .is_some_and(|o| {
            let mut doc = o.document;
            remove_path(&mut doc, &path)
        });
    if !present {
        return Ok(axum::Json(ResetOutcome {
            reset: false,
            version: None,
        })
        .into_response());
    }
    let stored = edit(&call, move |doc| {
        remove_path(doc, &path);
    })
    .await?;
    Ok(axum::Json(ResetOutcome {
        reset: true,
        version: Some(stored.version),
    })
    .into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn merge_patches_follow_rfc_7396() {
        let mut doc = obj(json!({"a": {"b": 1, "c": 2}, "d": 3}));
        merge_patch(
            &mut doc,
            &obj(json!({"a": {"b": null}, "d": [1], "e": {"f": true}})),
        );
        assert_eq!(
            Value::Object(doc.clone()),
            json!({"a": {"c": 2}, "d": [1], "e": {"f": true}})
        );
        merge_patch(&mut doc, &obj(json!({"a": {"c": null}})));
        assert!(!doc.contains_key("a"));
    }

    #[test]
    fn patch_keys_are_checked_with_their_path() {
        assert_eq!(
            check_patch_keys(&obj(json!({"meetings": {"x": 1}})), "", 0),
            None
        );
        assert_eq!(
            check_patch_keys(&obj(json!({"meetings": {"../etc": 1}})), "", 0).as_deref(),
            Some("meetings.../etc")
        );
        let mut deep = json!(1);
        for _ in 0..10 {
            deep = json!({ "a": deep });
        }
        assert!(check_patch_keys(&obj(deep), "", 0).is_some());
        for bad in ["", "a..b", "../../etc", "a b", "a.b.c.d.e.f.g.h.i"] {
            assert!(key_path(bad, "key").is_err(), "{bad:?}");
        }
        assert_eq!(key_path("rbac.roles.123", "key").unwrap().len(), 3);
    }
}
