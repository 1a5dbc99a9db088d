//! `GET /api/v1/guilds/{guild_id}/audit`: the guild's audit log, newest first, in pages
//! (`view_audit_log`, like `/kaltura-admin audit recent`).
//!
//! Pages are cursor-based: `next_before` of one page is the `before` of the next. A page is
//! one [`AuditLog::page`](crate::store::AuditLog::page) read (keyset paging on the entry id),
//! so every entry is reachable and a deep page costs what the first one does.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::GatewayState;
use super::auth::GuildCall;
use super::error::{ApiError, Problem};
use crate::rbac::Permission;
use crate::store::AuditEntry;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 25;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

pub(crate) fn router() -> Router<GatewayState> {
    Router::new().route("/api/v1/guilds/{guild_id}/audit", get(audit_log))
}

/// Paging parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries per page, 1-100 (default 25).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only entries with an id below this positive one (the previous page's `next_before`).
    #[serde(default)]
    pub before: Option<i64>,
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditRecord {
    /// The entry id (increasing).
    pub id: i64,
    /// When (unix seconds).
    pub at: i64,
    /// What happened (`config_changed`, `meeting_started`, …).
    pub action: String,
    /// Who did it (a Discord user id); absent for the system.
    pub actor: Option<String>,
    /// Details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&AuditEntry> for AuditRecord {
    fn from(e: &AuditEntry) -> Self {
        AuditRecord {
            id: e.id,
            at: e.at,
            action: e.action.as_str().to_owned(),
            actor: e.actor.map(|a| a.to_string()),
            detail: e.detail.clone(),
        }
    }
}

/// One page of the audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditRecord>,
    /// The `before` of the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// The guild's audit log, newest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/audit", tag = "audit",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)"), AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries; `next_before` reads the next one", body = AuditPage),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn audit_log(
    call: GuildCall,
    RawQuery(raw): RawQuery,
    query: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    call.require(Permission::ViewAuditLog)?;
    let Query(params) = query.map_err(|_| rejected_param(raw.as_deref().unwrap_or_default()))?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("the limit is 1 to {MAX_LIMIT}, got {limit}"),
        ));
    }
    if params.before.is_some_and(|b| b <= 0) {
        return Err(ApiError::invalid(
            "before",
            "`before` is a positive entry id",
        ));
    }
    // One entry more than the page tells whether there is a next page.
    let mut entries = call
        .state
        .shared
        .audit
        .page(call.guild, params.before, limit + 1)
        .await?;
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next_before = if more {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(axum::Json(AuditPage {
        entries: entries.iter().map(AuditRecord::from).collect(),
        next_before,
    })
    .into_response())
}

/// The `400` for a query string that does not parse, naming the parameter at fault (a value
/// that is not a number, out of range, or given twice); the value itself is not echoed.
fn rejected_param(raw: &str) -> ApiError {
    let mut seen = (false, false);
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let (seen_before, parses) = match key.as_ref() {
            "limit" => (
                std::mem::replace(&mut seen.0, true),
                value.parse::<u32>().is_ok(),
            ),
            "before" => (
                std::mem::replace(&mut seen.1, true),
                value.parse::<i64>().is_ok(),
            ),
            _ => continue,
        };
        if seen_before || !parses {
            return match key.as_ref() {
                "before" => ApiError::invalid(
                    "before",
                    "`before` is one positive entry id (the previous page's `next_before`)",
                ),
                _ => ApiError::invalid("limit", format!("`limit` is one number, 1 to {MAX_LIMIT}")),
            };
        }
    }
    ApiError::invalid(
        "limit",
        format!("`limit` is 1 to {MAX_LIMIT} and `before` an entry id"),
    )
}
