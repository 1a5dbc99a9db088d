//! `GET /api/v1/guilds/{guild_id}/audit`: the guild's audit log, newest first, in pages
//! (`view_audit_log`, like `/kaltura-admin audit recent`).
//!
//! Pages are cursor-based: `next_before` of one page is the `before` of the next. The
//! store's audit trait reads the newest entries, so pages reach back over the newest
//! [`MAX_SCAN`] entries of the guild.

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
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
/// How far back pages reach, in entries.
pub const MAX_SCAN: u32 = 1000;

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
    /// Only entries with an id below this one (the previous page's `next_before`).
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
    /// The `before` of the next page, when there may be one.
    pub next_before: Option<i64>,
}

/// The guild's audit log, newest first.
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/audit", tag = "audit",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)"), AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn audit_log(
    call: GuildCall,
    query: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    call.require(Permission::ViewAuditLog)?;
    let Query(params) = query
        .map_err(|_| ApiError::invalid("limit", "`limit` is 1-100 and `before` an entry id"))?;
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
    let audit = &call.state.shared.audit;
    let entries: Vec<AuditEntry> = match params.before {
        None => audit.recent(call.guild, limit.saturating_add(1)).await?,
        Some(before) => audit
            .recent(call.guild, MAX_SCAN)
            .await?
            .into_iter()
            .filter(|e| e.id < before)
            .take(limit as usize + 1)
            .collect(),
    };
    let more = entries.len() > limit as usize;
    let page: Vec<AuditRecord> = entries
        .iter()
        .take(limit as usize)
        .map(AuditRecord::from)
        .collect();
    let next_before = if more {
        page.last().map(|e| e.id)
    } else {
        None
    };
    Ok(axum::Json(AuditPage {
        entries: page,
        next_before,
    })
    .into_response())
}
