//! A fake Discord REST API over real HTTP for the process tests of `kaltura-webhooks`.
//!
//! It records every request (time, route, nonce, what it answered), can answer 503 or 429
//! with `Retry-After` for a scripted number of requests, and honours `nonce` +
//! `enforce_nonce` like Discord: a second create with a nonce already seen returns the first
//! message instead of posting again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A scripted failure answered instead of handling a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 503 Service Unavailable.
    Unavailable,
    /// 429 with `Retry-After` (whole seconds, as Discord's header is).
    RateLimited { retry_after_secs: u64 },
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// When it arrived.
    pub(crate) at: Instant,
    /// `POST` or `PATCH`.
    pub(crate) method: &'static str,
    /// The channel in the path.
    pub(crate) channel: String,
    /// The status answered.
    pub(crate) status: u16,
    /// The `Retry-After` answered with a 429.
    pub(crate) retry_after: Option<Duration>,
    /// When the answer was sent (recorded just before returning it).
    pub(crate) answered_at: Instant,
}

/// A message that exists at the fake.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) channel: String,
    pub(crate) body: Value,
    /// How many times it was edited.
    pub(crate) edits: u32,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) requests: Vec<Request>,
    pub(crate) messages: Vec<Message>,
    /// nonce → index in `messages`.
    nonces: HashMap<String, usize>,
    /// Creates answered with an earlier message because of `enforce_nonce`.
    pub(crate) nonce_replays: u32,
}

/// The running fake.
#[derive(Clone)]
pub(crate) struct FakeDiscord {
    pub(crate) url: String,
    state: Arc<Mutex<Inner>>,
}

impl FakeDiscord {
    /// Starts the fake on a free loopback port (on the current tokio runtime).
    pub(crate) async fn start() -> FakeDiscord {
        let state = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route(
                "/api/v10/channels/{channel}/messages",
                axum::routing::post(create),
            )
            .route(
                "/api/v10/channels/{channel}/messages/{message}",
                axum::routing::patch(edit),
            )
            .fallback(|| async { (StatusCode::NOT_FOUND, "no such route") })
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Discord");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord { url, state }
    }

    /// Answers the next requests with these faults, in order.
    pub(crate) fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Reads the state.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Inner) -> R) -> R {
        f(&self.state.lock().unwrap())
    }

    /// The created messages' JSON bodies as text, in creation order, of one channel.
    pub(crate) fn channel_texts(&self, channel: &str) -> Vec<String> {
        self.with(|s| {
            s.messages
                .iter()
                .filter(|m| m.channel == channel)
                .map(|m| m.body.to_string())
                .collect()
        })
    }

    /// Polls `cond` every 50 ms until it holds, failing after `limit` (a bound for a
    /// failure, not a timing). `cond` may read the fake: the lock is not held meanwhile.
    pub(crate) async fn wait_until(&self, limit: Duration, what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if cond() {
                return;
            }
            if Instant::now() > deadline {
                let summary = self.with(|s| {
                    format!(
                        "{} requests, {} messages, {} faults left",
                        s.requests.len(),
                        s.messages.len(),
                        s.faults.len()
                    )
                });
                panic!("timed out waiting for {what} ({summary})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn message_json(m: &Message) -> Value {
    json!({
        "id": m.id.to_string(),
        "channel_id": m.channel,
        "type": 0,
        "content": m.body.get("content").cloned().unwrap_or(json!("")),
        "embeds": m.body.get("embeds").cloned().unwrap_or(json!([])),
        "components": [],
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
        "flags": 0,
    })
}

/// Takes the next fault, if any, and records the request; `Err` is the fault's response.
fn fault_or_record(
    state: &mut Inner,
    method: &'static str,
    channel: &str,
    at: Instant,
) -> Result<(), Box<Response>> {
    let Some(fault) = state.faults.pop_front() else {
        state.requests.push(Request {
            at,
            method,
            channel: channel.to_owned(),
            status: 200,
            retry_after: None,
            answered_at: Instant::now(),
        });
        return Ok(());
    };
    let (status, retry_after, response) = match fault {
        Fault::Unavailable => (
            503,
            None,
            (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response(),
        ),
        Fault::RateLimited { retry_after_secs } => {
            let mut headers = HeaderMap::new();
            let secs = retry_after_secs.to_string();
            headers.insert("retry-after", HeaderValue::from_str(&secs).unwrap());
            headers.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            headers.insert(
                "x-ratelimit-reset-after",
                HeaderValue::from_str(&format!("{retry_after_secs}.000")).unwrap(),
            );
            headers.insert("x-ratelimit-bucket", HeaderValue::from_static("fakebucket"));
            headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
            (
                429,
                Some(Duration::from_secs(retry_after_secs)),
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    headers,
                    axum::Json(json!({
                        "message": "You are being rate limited.",
                        "retry_after": retry_after_secs as f64,
                        "global": false
                    })),
                )
                    .into_response(),
            )
        }
    };
    state.requests.push(Request {
        at,
        method,
        channel: channel.to_owned(),
        status,
        retry_after,
        answered_at: Instant::now(),
    });
    Err(Box::new(response))
}

async fn create(
    State(state): State<Arc<Mutex<Inner>>>,
    Path(channel): Path<String>,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad JSON").into_response();
    };
    let mut s = state.lock().unwrap();
    if let Err(fault) = fault_or_record(&mut s, "POST", &channel, at) {
        return *fault;
    }
    let nonce = body.get("nonce").and_then(|n| {
        n.as_str()
            .map(str::to_owned)
            .or_else(|| n.as_i64().map(|i| i.to_string()))
    });
    let enforce = body.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
    if enforce
        && let Some(nonce) = &nonce
        && let Some(&index) = s.nonces.get(nonce)
    {
        s.nonce_replays += 1;
        return axum::Json(message_json(&s.messages[index])).into_response();
    }
    let id = 1_600_000_000_000_000_000 + s.messages.len() as u64;
    let message = Message {
        id,
        channel,
        body,
        edits: 0,
    };
    let json = message_json(&message);
    s.messages.push(message);
    if let Some(nonce) = nonce {
        let index = s.messages.len() - 1;
        s.nonces.insert(nonce, index);
    }
    axum::Json(json).into_response()
}

async fn edit(
    State(state): State<Arc<Mutex<Inner>>>,
    Path((channel, message)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad JSON").into_response();
    };
    let mut s = state.lock().unwrap();
    if let Err(fault) = fault_or_record(&mut s, "PATCH", &channel, at) {
        return *fault;
    }
    let Some(m) = s
        .messages
        .iter_mut()
        .find(|m| m.id.to_string() == message && m.channel == channel)
    else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown Message", "code": 10008})),
        )
            .into_response();
    };
    m.body = body;
    m.edits += 1;
    axum::Json(message_json(m)).into_response()
}
