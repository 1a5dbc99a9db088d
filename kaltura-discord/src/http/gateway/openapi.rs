//! The OpenAPI 3.1 document (generated with utoipa from the handlers' annotations, served at
//! `/api/v1/openapi.json`, committed as `docs/openapi.json` and checked against the generated
//! copy by a test) and the small HTML page at `/`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::GatewayState;
use super::{audit, config, health, login, meetings, videos};

mod guild_routes;

use guild_routes::GuildRoutes;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The Content-Security-Policy of the HTML page: no scripts, no framing, nothing external.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A kaltura-discord JWT for one member in one guild (from the Discord login)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kaltura-discord API gateway",
        description = "Kaltura meetings, videos, configuration and the audit log of a Discord guild. Errors are application/problem+json.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        meetings::list_meetings,
        meetings::create_meeting,
        meetings::get_meeting,
        meetings::end_meeting,
        meetings::join_meeting,
        videos::search_videos,
        videos::get_video,
        videos::restricted_playback,
        config::get_config,
        config::explain_config,
        config::patch_config,
        config::reset_config,
        audit::audit_log,
        health::healthz,
        health::readyz,
        health::metrics,
        login::login,
        login::callback,
        login::refresh,
        login::logout,
        login::me,
    ),
    components(schemas(super::Problem)),
    modifiers(&BearerScheme, &GuildRoutes),
    tags(
        (name = "meetings", description = "Kaltura Meetings started from the guild"),
        (name = "videos", description = "The guild's Kaltura catalog"),
        (name = "config", description = "The guild's configuration"),
        (name = "audit", description = "The guild's audit log"),
        (name = "operations", description = "Health and metrics"),
        (name = "auth", description = "Signing in with Discord and the gateway's tokens"),
    ),
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    // The crate version would make the committed copy change on every release.
    doc.info.version = "v1".to_owned();
    doc
}

/// The OpenAPI document as pretty JSON with a final newline (the committed form).
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

pub(crate) fn router() -> Router<GatewayState> {
    Router::new()
        .route(OPENAPI_PATH, get(document))
        .route("/", get(page))
}

async fn document() -> Response {
    let mut response = openapi_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `text` escaped for HTML text and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// An HTML page with the gateway's security headers (no scripts, no framing, no referrer).
pub(crate) fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    let title = html_escape(title);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5}}</style></head>\
<body><h1>{title}</h1>{body}</body></html>\n"
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn page(State(state): State<GatewayState>) -> Response {
    let login = html_escape(&state.shared.options.login_path);
    let body = format!(
        "<p>Kaltura meetings, videos and settings of your Discord server, over HTTP.</p>\
<form method=\"get\" action=\"{login}\"><p><label>Server id<br>\
<input name=\"guild_id\" inputmode=\"numeric\" pattern=\"[0-9]{{1,20}}\" required></label> \
<button type=\"submit\">Sign in with Discord</button></p></form>\
<ul><li><a href=\"{OPENAPI_PATH}\">OpenAPI document</a> (API version v1)</li>\
<li><a href=\"/healthz\">Health</a></li></ul>"
    );
    html_page(StatusCode::OK, "kaltura-discord API gateway", &body)
}
