//! An in-process fake of the Discord REST API for `kaltura-bot dev`: it receives what the
//! bot sends Discord (edits of deferred replies, follow-ups, scheduled events, channel
//! messages, command registration), answers with realistic JSON and hands each call to the
//! console, which prints it. Interaction tokens are never printed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// One call the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// What it was, in words (`edit of the original reply`, `scheduled event created`…).
    pub(crate) what: &'static str,
    /// The JSON body.
    pub(crate) body: Value,
}

#[derive(Clone)]
struct FakeState {
    tx: mpsc::UnboundedSender<Received>,
    next_id: Arc<AtomicU64>,
    commands: Arc<std::sync::Mutex<Vec<Value>>>,
}

impl FakeState {
    fn id(&self) -> String {
        self.next_id.fetch_add(1, Ordering::Relaxed).to_string()
    }

    fn send(&self, what: &'static str, body: Value) {
        let _ = self.tx.send(Received { what, body });
    }

    fn message(&self, channel: &str, body: &Value) -> Value {
        json!({
            "id": self.id(),
            "channel_id": channel,
            "type": 0,
            "content": body.get("content").cloned().unwrap_or(Value::String(String::new())),
            "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
            "components": body.get("components").cloned().unwrap_or(json!([])),
            "author": {"id": "1300000000000000000", "username": "kaltura-bot", "discriminator": "0",
                       "global_name": null, "avatar": null, "bot": true},
            "timestamp": "2026-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "pinned": false,
            "flags": body.get("flags").cloned().unwrap_or(json!(0)),
        })
    }
}

/// A running fake Discord.
pub(crate) struct FakeDiscord {
    pub(crate) url: String,
    pub(crate) received: mpsc::UnboundedReceiver<Received>,
}

/// Starts the fake on `addr` (port 0 for any free port).
pub(crate) async fn start(addr: SocketAddr) -> std::io::Result<FakeDiscord> {
    let (tx, received) = mpsc::unbounded_channel();
    let state = FakeState {
        tx,
        next_id: Arc::new(AtomicU64::new(1_500_000_000_000_000_000)),
        commands: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/api/v10/webhooks/{app}/{token}/messages/@original",
            axum::routing::patch(edit_original),
        )
        .route(
            "/api/v10/webhooks/{app}/{token}",
            axum::routing::post(followup),
        )
        .route(
            "/api/v10/channels/{channel}/messages",
            axum::routing::post(channel_message),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}",
            axum::routing::patch(channel_message_edit),
        )
        .route(
            "/api/v10/guilds/{guild}/scheduled-events",
            axum::routing::post(event_create),
        )
        .route(
            "/api/v10/guilds/{guild}/scheduled-events/{event}",
            axum::routing::patch(event_update),
        )
        .route(
            "/api/v10/applications/{app}/commands",
            axum::routing::get(commands_get).put(commands_put),
        )
        .route(
            "/api/v10/applications/{app}/guilds/{guild}/commands",
            axum::routing::get(commands_get).put(commands_put),
        )
        .fallback(not_found)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the fake Discord stopped");
        }
    });
    Ok(FakeDiscord { url, received })
}

fn json_body(bytes: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(bytes).map_err(|e| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"message": format!("Invalid JSON: {e}"), "code": 50109})),
            )
                .into_response(),
        )
    })
}

async fn edit_original(State(s): State<FakeState>, body: Bytes) -> Response {
    match json_body(&body) {
        Ok(v) => {
            let msg = s.message("0", &v);
            s.send("edit of the original reply", v);
            axum::Json(msg).into_response()
        }
        Err(r) => *r,
    }
}

async fn followup(State(s): State<FakeState>, body: Bytes) -> Response {
    match json_body(&body) {
        Ok(v) => {
            let msg = s.message("0", &v);
            s.send("follow-up message", v);
            axum::Json(msg).into_response()
        }
        Err(r) => *r,
    }
}

async fn channel_message(
    State(s): State<FakeState>,
    Path(channel): Path<String>,
    body: Bytes,
) -> Response {
    match json_body(&body) {
        Ok(v) => {
            let msg = s.message(&channel, &v);
            s.send("channel message", v);
            axum::Json(msg).into_response()
        }
        Err(r) => *r,
    }
}

async fn channel_message_edit(
    State(s): State<FakeState>,
    Path((channel, _message)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    match json_body(&body) {
        Ok(v) => {
            let msg = s.message(&channel, &v);
            s.send("channel message edited", v);
            axum::Json(msg).into_response()
        }
        Err(r) => *r,
    }
}

async fn event_create(
    State(s): State<FakeState>,
    Path(guild): Path<String>,
    body: Bytes,
) -> Response {
    match json_body(&body) {
        Ok(v) => {
            let mut event = v.clone();
            if let Some(obj) = event.as_object_mut() {
                obj.insert("id".into(), Value::String(s.id()));
                obj.insert("guild_id".into(), Value::String(guild));
                obj.insert("status".into(), json!(1));
            }
            s.send("scheduled event created", v);
            axum::Json(event).into_response()
        }
        Err(r) => *r,
    }
}

async fn event_update(
    State(s): State<FakeState>,
    Path((guild, event)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    match json_body(&body) {
        Ok(v) => {
            let mut updated = v.clone();
            if let Some(obj) = updated.as_object_mut() {
                obj.insert("id".into(), Value::String(event));
                obj.insert("guild_id".into(), Value::String(guild));
            }
            s.send("scheduled event updated", v);
            axum::Json(updated).into_response()
        }
        Err(r) => *r,
    }
}

async fn commands_get(State(s): State<FakeState>) -> Response {
    let commands = s.commands.lock().map(|c| c.clone()).unwrap_or_default();
    axum::Json(Value::Array(commands)).into_response()
}

async fn commands_put(State(s): State<FakeState>, body: Bytes) -> Response {
    match json_body(&body) {
        Ok(Value::Array(list)) => {
            let registered: Vec<Value> = list
                .into_iter()
                .map(|mut c| {
                    if let Some(obj) = c.as_object_mut() {
                        obj.insert("id".into(), Value::String(s.id()));
                    }
                    c
                })
                .collect();
            if let Ok(mut stored) = s.commands.lock() {
                stored.clone_from(&registered);
            }
            s.send("commands registered", Value::Array(registered.clone()));
            axum::Json(Value::Array(registered)).into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": "Invalid Form Body", "code": 50035})),
        )
            .into_response(),
        Err(r) => *r,
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    // Paths can hold interaction and webhook tokens: log only the short segments.
    let shown: Vec<&str> = uri
        .path()
        .split('/')
        .map(|seg| if seg.len() > 24 { "<redacted>" } else { seg })
        .collect();
    tracing::warn!(%method, path = %shown.join("/"), "the fake Discord does not know this route");
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": "404: Not Found", "code": 0})),
    )
        .into_response()
}
