//! The gateway's one error type, rendered as `application/problem+json` (RFC 9457).
//!
//! A handler returns [`ApiError`]; its `IntoResponse` only attaches the problem to the
//! response, and the gateway's outer middleware writes the body with the request id (and
//! logs what is not shown: the full text of internal errors, with the request id). So every
//! error body has the same shape:
//!
//! ```json
//! {"type": "urn:kaltura-discord:problem:invalid_input", "title": "Invalid input",
//!  "status": 400, "code": "invalid_input", "detail": "…", "field": "title",
//!  "request_id": "…"}
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{Error, ErrorKind};

/// The media type of error bodies.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The prefix of a problem's `type` URI; the code follows.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:kaltura-discord:problem:";

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:kaltura-discord:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, fixed summary of the code.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// A stable machine-readable code (`invalid_input`, `denied`, `rate_limited`, …).
    pub code: String,
    /// What went wrong, for a person; never internal details.
    pub detail: String,
    /// The refused input: a field name, or the dotted key path of a configuration value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request id (the `x-request-id` header), to find the request in the logs.
    pub request_id: String,
}

/// An error answered by the gateway; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<String>,
    retry_after: Option<u64>,
    bearer_challenge: bool,
    /// Logged with the request id, never sent.
    log: Option<String>,
}

/// The problem waiting in a response's extensions for the outer middleware.
#[derive(Debug, Clone)]
pub(crate) struct PendingProblem(pub(crate) ApiError);

fn title(code: &str) -> &'static str {
    match code {
        "invalid_input" => "Invalid input",
        "invalid_body" => "Malformed request body",
        "validation_failed" => "Validation failed",
        "unauthenticated" => "Authentication required",
        "denied" => "Permission denied",
        "wrong_guild" => "Token is for another guild",
        "not_linked" => "No Kaltura identity",
        "feature_disabled" => "Feature turned off",
        "not_found" => "Not found",
        "method_not_allowed" => "Method not allowed",
        "conflict" => "Conflict",
        "not_ready" => "Not ready",
        "payload_too_large" => "Payload too large",
        "unsupported_media_type" => "Unsupported media type",
        "rate_limited" => "Too many requests",
        "upstream" => "Kaltura refused the call",
        "unavailable" => "Service unavailable",
        "timeout" => "Request timed out",
        "login_unavailable" => "Login not configured",
        "cross_site" => "Cross-site request refused",
        _ => "Internal error",
    }
}

impl ApiError {
    /// An error with this status, code and detail (shown to the client as is).
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            field: None,
            retry_after: None,
            bearer_challenge: false,
            log: None,
        }
    }

    /// `400 invalid_input` naming `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", detail).with_field(field)
    }

    /// `401 unauthenticated`, with `WWW-Authenticate: Bearer`.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail);
        e.bearer_challenge = true;
        e
    }

    /// `404 not_found` for a route that does not exist.
    pub fn no_route() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no such resource",
        )
    }

    /// `429 rate_limited` with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; retry after the number of seconds in Retry-After",
        );
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// `500 internal`: `log` goes to the log with the request id, the client sees a
    /// generic text.
    pub fn internal(log: impl Into<String>) -> Self {
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong; give the request id to the operator",
        );
        e.log = Some(log.into());
        e
    }

    /// With the refused field or key path.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The seconds of `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// What is logged but not shown (internal errors).
    pub(crate) fn log_text(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// The problem body for `request_id`.
    pub fn problem(&self, request_id: &str) -> Problem {
        Problem {
            kind: format!("{PROBLEM_TYPE_PREFIX}{}", self.code),
            title: title(self.code).to_owned(),
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            detail: self.detail.clone(),
            field: self.field.clone(),
            request_id: request_id.to_owned(),
        }
    }

    /// Logs what is not shown (internal errors), then renders the response.
    pub(crate) fn render(&self, request_id: &str) -> Response {
        if let Some(log) = &self.log {
            if self.status.is_server_error() {
                tracing::error!(request_id, code = self.code, error = %log, "request failed");
            } else {
                tracing::info!(request_id, code = self.code, error = %log, "request refused");
            }
        }
        let body = serde_json::to_vec(&self.problem(request_id)).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.bearer_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"kaltura-discord\", error=\"invalid_token\"",
                ),
            );
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The outer middleware renders it with the request id; the status is set now so that
        // a router used without that middleware still answers with the right status.
        let mut response = self.status.into_response();
        response.extensions_mut().insert(PendingProblem(self));
        response
    }
}

fn kind_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Denied => "denied",
        ErrorKind::NotLinked => "not_linked",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::NotReady => "not_ready",
        ErrorKind::FeatureDisabled => "feature_disabled",
        ErrorKind::Unauthenticated => "unauthenticated",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Upstream => "upstream",
        ErrorKind::RateLimited => "rate_limited",
        _ => "internal",
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let kind = err.kind();
        let status =
            StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = kind_code(kind);
        if kind == ErrorKind::Unauthenticated {
            // `AuthError` texts carry nothing taken from the token.
            return ApiError::unauthenticated(err.to_string());
        }
        if kind.is_for_member() {
            let field = match &err {
                Error::InvalidInput { field, .. } => Some((*field).to_owned()),
                _ => None,
            };
            let mut e = ApiError::new(status, code, err.to_string());
            e.field = field;
            e.retry_after = err.retry_after().map(|d| d.as_secs().max(1));
            return e;
        }
        let detail = match kind {
            ErrorKind::Unavailable => "Kaltura or the store could not be reached; try again later",
            ErrorKind::Upstream => {
                "Kaltura refused or failed the call; give the request id to the operator"
            }
            _ => "something went wrong; give the request id to the operator",
        };
        let mut e = ApiError::new(status, code, detail);
        e.log = Some(err.to_string());
        e
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn member_errors_keep_their_text_and_field() {
        let e = ApiError::from(Error::invalid_input("title", "a meeting needs a title"));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let p = e.problem("r1");
        assert_eq!(p.field.as_deref(), Some("title"));
        assert_eq!(p.detail, "a meeting needs a title");
        assert_eq!(p.kind, "urn:kaltura-discord:problem:invalid_input");
    }

    #[test]
    fn internal_errors_are_never_echoed() {
        let secret_text = "Kaltura said: admin secret 0123456789abcdef is wrong";
        let e = ApiError::from(Error::corrupt(
            crate::error::Resource::Meeting,
            "title",
            secret_text,
        ));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let problem = e.problem("r2");
        let body = serde_json::to_string(&problem).unwrap();
        assert!(!body.contains("0123456789abcdef"), "{body}");
        assert!(!body.contains("corrupt"), "{body}");
        assert_eq!(problem.field, None);
        assert_eq!(problem.code, "internal");
    }

    #[test]
    fn too_many_attempts_is_a_429_with_retry_after() {
        let e = ApiError::from(Error::TooManyAttempts {
            what: "failed Kaltura sign-ins",
            retry_after_secs: 840,
        });
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.retry_after, Some(840));
        assert_eq!(e.problem("r3").code, "rate_limited");
    }

    #[test]
    fn rate_limits_and_auth_set_their_headers() {
        let r = ApiError::rate_limited(0).render("r");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
        let r = ApiError::unauthenticated("no token").render("r");
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
}
