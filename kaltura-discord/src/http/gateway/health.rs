//! `GET /healthz` (the process serves), `GET /readyz` (the store and Kaltura answer) and
//! `GET /metrics` (Prometheus, OpenMetrics text).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::GatewayState;
use super::error::ApiError;
use crate::ids::GuildId;

/// How long `/readyz` waits for each dependency.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The content type of `/metrics`.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The body of `/healthz` and `/readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

pub(crate) fn router() -> Router<GatewayState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process serves", body = Health)))]
pub(crate) async fn healthz() -> Response {
    axum::Json(Health { status: "ok" }).into_response()
}

/// Readiness: the store answers a read and Kaltura answers `system.ping`.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Store and Kaltura reachable", body = Health),
        (status = 503, description = "A dependency does not answer", body = super::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn readyz(State(state): State<GatewayState>) -> Result<Response, ApiError> {
    let unavailable = |what: &str| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{what} does not answer"),
        )
    };
    let probe_guild = GuildId::new(1).ok_or_else(|| ApiError::internal("no probe guild"))?;
    match tokio::time::timeout(
        READY_CHECK_TIMEOUT,
        state.shared.overrides.get_override(probe_guild),
    )
    .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            return Err(unavailable("the store"));
        }
        Err(_) => return Err(unavailable("the store")),
    }
    let ping = state
        .shared
        .partners
        .default_partner()
        .account
        .client()
        .call_raw("system", "ping", serde_json::json!({}));
    match tokio::time::timeout(READY_CHECK_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok(axum::Json(Health { status: "ok" }).into_response()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: Kaltura does not answer");
            Err(unavailable("Kaltura"))
        }
        Err(_) => Err(unavailable("Kaltura")),
    }
}

/// The metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text")))]
pub(crate) async fn metrics(State(state): State<GatewayState>) -> Response {
    let mut response = state.shared.metrics.encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    response
}
