//! The axum router: one handler for everything under `/api_v3`, which reads the body (with a
//! size limit), decodes the parameters, runs the call or multirequest and renders JSON or XML.
//!
//! API errors are HTTP 200 with the `X-Kaltura: error-CODE` header, as the real server sends.
//! A body over [`Limits::body_bytes`] gets HTTP 413. Entry thumbnail URLs
//! (`/p/…/thumbnail/entry_id/…`) answer an SVG placeholder; other paths get 404.
//!
//! [`serve`] runs HTTP/1.1 connections itself (hyper) so that no client can hold the server:
//! at most [`Limits::connections`] connections are served at once, headers must arrive within
//! [`Limits::header_timeout`] (an idle keep-alive connection is closed after the same time),
//! the body and the answer within [`Limits::request_time`] (else HTTP 408), and decoding and
//! running the calls happen on the blocking pool, so a large request does not stall the
//! connections that share its runtime worker.

use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Path;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::Value;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};

use super::params::{self, Params};
use super::{Failure, Limits, Shared, multirequest, services, xml};
use crate::ApiError;

/// Bodies up to this size are read (and discarded) after [`Limits::body_bytes`] so the client
/// gets the 413 instead of a reset connection; beyond it the connection is dropped.
const MAX_DRAIN: usize = 64 * 1024 * 1024;

/// Serves `app` on `listener` until `shutdown` fires, then lets the open connections finish
/// (each is bounded by the timeouts) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut shutdown: oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(limits.connections()));
    let (stop_tx, stop_rx) = watch::channel(());
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "fake kaltura: accept failed");
                    continue;
                }
            },
        };
        let app = app.clone();
        let mut stop = stop_rx.clone();
        let header_timeout = limits.header_timeout();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
            let mut conn = pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "fake kaltura: connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(stop_tx);
    // Every connection task holds one permit: having them all back means all are done.
    let all = u32::try_from(limits.connections()).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// The router of the fake server.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api_v3", any(api))
        .route("/api_v3/", any(api))
        .route("/api_v3/{*rest}", any(api))
        .route("/p/{*rest}", get(thumbnail))
        .fallback(not_found)
        .with_state(shared)
}

/// `/p/{pid}[/sp/{pid}00]/thumbnail/entry_id/{id}/…`: an SVG placeholder showing the entry's
/// name, so `thumbnailUrl`s resolve; 404 for unknown entries and other `/p/` URLs.
async fn thumbnail(State(shared): State<Arc<Shared>>, Path(rest): Path<String>) -> Response {
    let segs: Vec<&str> = rest.split('/').collect();
    let is_thumb = segs.contains(&"thumbnail");
    let id = segs
        .iter()
        .position(|s| *s == "entry_id")
        .and_then(|i| segs.get(i + 1));
    let name = match (is_thumb, id) {
        (true, Some(id)) => shared.store().entries.get(*id).map(|e| {
            e.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        }),
        _ => None,
    };
    let Some(name) = name else {
        return not_found().await;
    };
    let mut label = String::new();
    xml::escape_into(&mut label, &name.chars().take(60).collect::<String>());
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"480\" height=\"270\" viewBox=\"0 0 480 270\"><rect width=\"480\" height=\"270\" fill=\"#1b2a3a\"/><text x=\"240\" y=\"140\" fill=\"#ffffff\" font-family=\"sans-serif\" font-size=\"20\" text-anchor=\"middle\">{label}</text></svg>"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "image/svg+xml")],
        svg,
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found (fake kaltura serves /api_v3 only)\n",
    )
        .into_response()
}

/// One call's or a multirequest's outcome.
enum Reply {
    Single(Result<Value, ApiError>),
    Multi(Vec<Result<Value, ApiError>>),
}

enum BodyError {
    TooLarge,
    Broken,
}

async fn read_body(mut body: Body, max: usize) -> Result<Bytes, BodyError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut seen: usize = 0;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(_)) => return Err(BodyError::Broken),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    seen = seen.saturating_add(data.len());
                    if seen > MAX_DRAIN {
                        return Err(BodyError::TooLarge);
                    }
                    if seen <= max {
                        buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
    if seen > max {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(buf))
}

async fn api(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let started = Instant::now();
    if let Some(failure) = shared.next_failure() {
        match failure {
            Failure::Latency(d) => tokio::time::sleep(d).await,
            Failure::Status(code) => {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return (status, format!("{status} (injected by fake kaltura)\n")).into_response();
            }
            Failure::Html(code) => {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
                let page = format!(
                    "<!DOCTYPE html><html><head><title>{status}</title></head><body><h1>{status}</h1><p>injected by fake kaltura</p></body></html>"
                );
                return (
                    status,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    page,
                )
                    .into_response();
            }
        }
    }

    let timeout = shared.limits.request_time();
    match tokio::time::timeout(timeout, answer(shared, req, started)).await {
        Ok(resp) => resp,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            "request not received and answered in time (fake kaltura limit)\n",
        )
            .into_response(),
    }
}

/// Reads the body, then decodes and runs the request on the blocking pool.
async fn answer(shared: Arc<Shared>, req: Request, started: Instant) -> Response {
    let (parts, body) = req.into_parts();
    let max = shared.limits.body_bytes();
    let body = match read_body(body, max).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body too large (fake kaltura limit: {max} bytes)\n"),
            )
                .into_response();
        }
        Err(BodyError::Broken) => {
            return (StatusCode::BAD_REQUEST, "broken request body\n").into_response();
        }
    };
    let work = tokio::task::spawn_blocking(move || {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let params = params::decode(parts.uri.path(), parts.uri.query(), content_type, &body);
        let json = params::int(params.get("format")) == Some(1);
        let reply = run(&shared, &params);
        log_reply(&params, &reply);
        render(&reply, json, started.elapsed().as_secs_f64())
    });
    match work.await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::warn!(error = %e, "fake kaltura: request handler failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

fn run(shared: &Shared, params: &Params) -> Reply {
    let is_multi = params::string(params.get("service"))
        .is_some_and(|s| s.eq_ignore_ascii_case("multirequest"));
    if is_multi {
        Reply::Multi(multirequest::run(shared, params))
    } else {
        Reply::Single(services::execute(shared, params))
    }
}

fn log_reply(params: &Params, reply: &Reply) {
    let service = params::string(params.get("service")).unwrap_or_default();
    let action = params::string(params.get("action")).unwrap_or_default();
    match reply {
        Reply::Single(Err(e)) => {
            tracing::debug!(%service, %action, code = %e.code, "fake kaltura: API error")
        }
        Reply::Single(Ok(_)) => tracing::debug!(%service, %action, "fake kaltura: ok"),
        Reply::Multi(items) => tracing::debug!(calls = items.len(), "fake kaltura: multirequest"),
    }
}

fn render(reply: &Reply, json: bool, elapsed: f64) -> Response {
    let error_code = match reply {
        Reply::Single(Err(e)) => Some(e.code.clone()),
        _ => None,
    };
    let (content_type, body) = if json {
        let v = match reply {
            Reply::Single(r) => outcome_json(r),
            Reply::Multi(items) => Value::Array(items.iter().map(outcome_json).collect()),
        };
        let mut out = String::new();
        write_json(&mut out, &v);
        ("application/json", out)
    } else {
        let mut inner = String::new();
        match reply {
            Reply::Single(r) => xml::outcome(&mut inner, r),
            Reply::Multi(items) => {
                for r in items {
                    inner.push_str("<item>");
                    xml::outcome(&mut inner, r);
                    inner.push_str("</item>");
                }
            }
        }
        ("text/xml; charset=utf-8", xml::document(&inner, elapsed))
    };
    let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    let headers = resp.headers_mut();
    headers.insert("x-me", HeaderValue::from_static("fake-kaltura"));
    if let Some(code) = error_code
        && let Ok(v) = HeaderValue::from_str(&format!("error-{code}"))
    {
        headers.insert("x-kaltura", v);
    }
    resp
}

/// JSON of one outcome; errors as `KalturaAPIException` (`args` `[]` when empty).
fn outcome_json(r: &Result<Value, ApiError>) -> Value {
    match r {
        Ok(v) => v.clone(),
        Err(e) => error_json(e),
    }
}

pub(crate) fn error_json(e: &ApiError) -> Value {
    let args = if e.args.is_empty() {
        Value::Array(Vec::new())
    } else {
        Value::Object(
            e.args
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    serde_json::json!({
        "code": e.code,
        "message": e.message,
        "objectType": "KalturaAPIException",
        "args": args
    })
}

/// Writes JSON like `KalturaJsonSerializer`: null properties dropped, `objectType` last.
fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Object(map) => {
            out.push('{');
            let props = map.iter().filter(|(k, _)| *k != "objectType");
            let mut first = true;
            for (k, v) in props.chain(map.get_key_value("objectType")) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                write_json(out, &Value::String(k.clone()));
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        scalar => {
            out.push_str(&serde_json::to_string(scalar).unwrap_or_else(|_| "null".to_owned()))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::fake::FakeKaltura;

    async fn body_text(resp: Response) -> String {
        let bytes = read_body(resp.into_body(), usize::MAX)
            .await
            .ok()
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn handler_answers_without_a_socket() {
        let shared = FakeKaltura::builder()
            .admin_secret("s")
            .into_shared("http://x".into());
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api_v3/service/session/action/start?format=1")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("secret=s&partnerId=12345&type=2"))
            .unwrap();
        let resp = api(State(shared.clone()), req).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(body_text(resp).await.starts_with("\"djJ8"));

        let req = axum::http::Request::builder()
            .uri("/api_v3/service/media/action/list")
            .body(Body::empty())
            .unwrap();
        let resp = api(State(shared), req).await;
        assert_eq!(resp.headers()["x-kaltura"], "error-MISSING_KS");
        assert!(body_text(resp).await.contains("<code>MISSING_KS</code>"));
    }

    #[test]
    fn json_drops_nulls_and_puts_object_type_last() {
        let mut out = String::new();
        write_json(
            &mut out,
            &serde_json::json!({"objectType": "T", "b": null, "a": [1, {"x": "\"q\"", "objectType": "U"}], "z": true}),
        );
        assert_eq!(
            out,
            r#"{"a":[1,{"x":"\"q\"","objectType":"U"}],"z":true,"objectType":"T"}"#
        );
    }
}
