//! The HTTP interactions endpoint driven for real: `tower::ServiceExt::oneshot` on the
//! router, and a server on 127.0.0.1:0 with reqwest as the client. Requests are signed
//! with ed25519-dalek from the seed `[7u8; 32]` (the PyNaCl cross-check key of the Discord
//! reference notes, §9.3).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ed25519_dalek::{Signer as _, SigningKey};
use kaltura_client::clock::ManualClock;
use kaltura_discord::commands::{Interaction, InteractionHandler, InteractionResponse, Reply};
use kaltura_discord::http::{
    DiscordPublicKey, EndpointStats, InteractionsEndpoint, Outcome, interactions_router,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The public key PyNaCl derives from the seed `[7] * 32` (discord.md §9.3).
const PYNACL_PUBLIC_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
const TS: &str = "1764500000";
/// The signature of [`ping_body`] at [`TS`] made by Python's `cryptography` package from the
/// same seed (`scripts/load/sign_ping.py`): an independent implementation agrees.
const PYTHON_PING_SIGNATURE: &str = "bb443feeeaf14ba2025e967c81e993cddb150fc133ec141fb64afae78c267269bac0fc55b9d4f6eca4397da053caf03f313129d73efae9204003586b191b8005";

/// The thing behind the endpoint: counts its calls and answers a fixed message.
#[derive(Debug, Default)]
struct CountingHandler {
    calls: AtomicUsize,
}

impl CountingHandler {
    fn reply() -> InteractionResponse {
        InteractionResponse::Message(Reply::text("counted").ephemeral())
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl InteractionHandler for CountingHandler {
    async fn respond(&self, interaction: Interaction) -> InteractionResponse {
        assert!(
            !matches!(interaction, Interaction::Ping),
            "PING must never reach the handler"
        );
        self.calls.fetch_add(1, Ordering::SeqCst);
        CountingHandler::reply()
    }
}

/// A handler with a bug.
struct PanickingHandler;

#[async_trait]
impl InteractionHandler for PanickingHandler {
    async fn respond(&self, _: Interaction) -> InteractionResponse {
        panic!("handler bug");
    }
}

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[8u8; 32])
}

fn public_key() -> DiscordPublicKey {
    DiscordPublicKey::from_hex(&hex::encode(signing_key().verifying_key().to_bytes()))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn sign_with(key: &SigningKey, ts: &str, body: &[u8]) -> String {
    hex::encode(key.sign(&[ts.as_bytes(), body].concat()).to_bytes())
}

fn sign(ts: &str, body: &[u8]) -> String {
    sign_with(&signing_key(), ts, body)
}

struct Endpoint {
    router: Router,
    handler: Arc<CountingHandler>,
    stats: Arc<EndpointStats>,
}

fn endpoint_with(configure: impl FnOnce(InteractionsEndpoint) -> InteractionsEndpoint) -> Endpoint {
    let handler = Arc::new(CountingHandler::default());
    let endpoint = configure(InteractionsEndpoint::new(handler.clone(), public_key()));
    let stats = endpoint.stats();
    Endpoint {
        router: endpoint.build(),
        handler,
        stats,
    }
}

fn endpoint() -> Endpoint {
    endpoint_with(|e| e)
}

/// A POST to /interactions with the given signature headers (`None` leaves one out).
fn post(
    body: impl Into<Vec<u8>>,
    signature: Option<&str>,
    timestamp: Option<&str>,
) -> Request<Body> {
    let mut req = Request::builder()
        .method("POST")
        .uri("/interactions")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(sig) = signature {
        req = req.header("X-Signature-Ed25519", sig);
    }
    if let Some(ts) = timestamp {
        req = req.header("X-Signature-Timestamp", ts);
    }
    req.body(Body::from(body.into()))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn signed(body: &[u8]) -> Request<Body> {
    post(body.to_vec(), Some(&sign(TS, body)), Some(TS))
}

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn call(router: &Router, req: Request<Body>) -> Answer {
    let response = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

fn ping_body() -> Vec<u8> {
    br#"{"type":1,"id":"1311111111111111110","application_id":"1234567890123456789","token":"PING-TOKEN","version":1}"#.to_vec()
}

/// The slash command of discord.md §1.7 (`/kaltura search query:… limit:5` in a guild).
fn command_json() -> Value {
    json!({
        "app_permissions": "2147601408",
        "application_id": "1234567890123456789",
        "attachment_size_limit": 10485760,
        "authorizing_integration_owners": { "0": "987654321098765432" },
        "channel": {
            "flags": 0, "guild_id": "987654321098765432", "id": "1122334455667788990",
            "last_message_id": null, "name": "media-announcements", "nsfw": false,
            "parent_id": null, "permissions": "2147601440", "position": 3,
            "rate_limit_per_user": 0, "topic": null, "type": 0
        },
        "channel_id": "1122334455667788990",
        "context": 0,
        "data": {
            "id": "1300000000000000001",
            "name": "kaltura",
            "type": 1,
            "options": [{
                "name": "search",
                "type": 1,
                "options": [
                    { "name": "query", "type": 3, "value": "quarterly all-hands" },
                    { "name": "limit", "type": 4, "value": 5 }
                ]
            }]
        },
        "entitlements": [],
        "guild": { "features": [], "id": "987654321098765432", "locale": "en-US" },
        "guild_id": "987654321098765432",
        "guild_locale": "en-US",
        "id": "1311111111111111111",
        "locale": "en-GB",
        "member": {
            "avatar": null, "banner": null, "communication_disabled_until": null, "deaf": false,
            "flags": 0, "joined_at": "2023-04-12T09:30:15.123000+00:00", "mute": false,
            "nick": "Dana (Media Team)", "pending": false, "permissions": "2147601440",
            "premium_since": null,
            "roles": ["1200000000000000010", "1200000000000000011"],
            "unusual_dm_activity_until": null,
            "user": {
                "avatar": null, "discriminator": "0", "global_name": "Dana",
                "id": "555555555555555555", "public_flags": 0, "username": "dana.m"
            }
        },
        "token": "aW50ZXJhY3Rpb246MTMxMTExMTExMTExMTExMTExMTpSRURBQ1RFRA",
        "type": 2,
        "version": 1
    })
}

fn command_body() -> Vec<u8> {
    serde_json::to_vec(&command_json()).unwrap_or_else(|e| panic!("{e}"))
}

/// The slash command with hostile ids in it.
fn hostile_command_body(kind: u64) -> Vec<u8> {
    let mut v = command_json();
    v["type"] = json!(kind);
    v["guild_id"] = json!("../../etc");
    v["id"] = json!("1; DROP TABLE meetings");
    v["member"]["user"]["id"] = json!("-1");
    serde_json::to_vec(&v).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_test_key_is_the_pynacl_cross_check_key() {
    assert_eq!(
        hex::encode(signing_key().verifying_key().to_bytes()),
        PYNACL_PUBLIC_KEY
    );
    assert_eq!(public_key().to_hex(), PYNACL_PUBLIC_KEY);
    assert_eq!(
        format!("{:?}", public_key()),
        format!("DiscordPublicKey({PYNACL_PUBLIC_KEY})")
    );
    assert_eq!(sign(TS, &ping_body()), PYTHON_PING_SIGNATURE);
    // Upper case and surrounding whitespace (an environment variable) are accepted.
    let upper = format!(" {}\n", PYNACL_PUBLIC_KEY.to_uppercase());
    assert_eq!(DiscordPublicKey::from_hex(&upper).ok(), Some(public_key()));
}

#[test]
fn public_keys_that_are_not_keys_are_refused() {
    let refused = |s: &str| DiscordPublicKey::from_hex(s).is_err();
    assert!(refused(""));
    assert!(refused(&PYNACL_PUBLIC_KEY[..63]));
    assert!(refused(&format!("{PYNACL_PUBLIC_KEY}0")));
    assert!(refused(&format!("{}g", &PYNACL_PUBLIC_KEY[..63])));
    assert!(refused(&"é".repeat(32)));
    // Small-order points (the identity; an order-2 point) are refused.
    assert!(refused(
        "0100000000000000000000000000000000000000000000000000000000000000"
    ));
    assert!(refused(
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
    ));
    // About half of all 32-byte strings are not the encoding of a curve point: at least one
    // of these is not, and none of the off-curve ones is accepted.
    let off_curve = (0u8..=255)
        .filter(|b| ed25519_dalek::VerifyingKey::from_bytes(&[*b; 32]).is_err())
        .inspect(|b| assert!(refused(&hex::encode([*b; 32])), "{b}"))
        .count();
    assert!(off_curve > 0);
    let err = DiscordPublicKey::from_hex("nope")
        .err()
        .map(|e| (e.kind(), e.to_string()));
    let (kind, message) = err.unwrap_or_else(|| panic!("refused"));
    assert_eq!(kind, kaltura_discord::ErrorKind::Misconfigured);
    assert!(message.contains("Developer Portal"), "{message}");
}

#[tokio::test]
async fn ping_answers_pong_as_json_without_the_handler() {
    let e = endpoint();
    let answer = call(
        &e.router,
        post(ping_body(), Some(PYTHON_PING_SIGNATURE), Some(TS)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.json(), json!({"type": 1}));
    assert_eq!(e.handler.calls(), 0);
    assert_eq!(e.stats.count(Outcome::Pong), 1);
}

#[tokio::test]
async fn a_ping_missing_every_other_field_still_answers_pong() {
    let e = endpoint();
    for body in [
        &br#"{"type":1}"#[..],
        br#"{"type":1,"future_field":{"nested":[1,2,3]}}"#,
        br#"{"version":1,"type":1,"token":null}"#,
    ] {
        let answer = call(&e.router, signed(body)).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(answer.json(), json!({"type": 1}));
    }
    assert_eq!(e.handler.calls(), 0);
}

#[tokio::test]
async fn a_slash_command_reaches_the_handler_once_and_its_response_is_answered() {
    let e = endpoint();
    let answer = call(&e.router, signed(&command_body())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    let json = answer.json();
    assert_eq!(json["type"], 4);
    assert_eq!(json, CountingHandler::reply().to_json());
    assert_eq!(e.handler.calls(), 1);
    assert_eq!(e.stats.count(Outcome::Handled), 1);
    assert_eq!(e.stats.total(), 1);
}

/// Each way a signature can be wrong: (case, signature header, timestamp header, body).
type Case = (&'static str, Option<String>, Option<String>, Vec<u8>);

fn bad_signature_cases() -> Vec<Case> {
    let body = command_body();
    let good = sign(TS, &body);
    let mut changed = body.clone();
    if let Some(b) = changed.iter_mut().rev().find(|b| b.is_ascii_digit()) {
        *b = if *b == b'9' { b'8' } else { *b + 1 };
    }
    let sig_bytes = hex::decode(&good).unwrap_or_else(|e| panic!("{e}"));
    let mut flipped = sig_bytes.clone();
    flipped[0] ^= 1;
    vec![
        ("missing signature", None, Some(TS.into()), body.clone()),
        ("missing timestamp", Some(good.clone()), None, body.clone()),
        ("both missing", None, None, body.clone()),
        (
            "empty signature",
            Some(String::new()),
            Some(TS.into()),
            body.clone(),
        ),
        (
            "empty timestamp",
            Some(good.clone()),
            Some(String::new()),
            body.clone(),
        ),
        (
            "non-hex signature",
            Some(format!("{}zz", &good[..126])),
            Some(TS.into()),
            body.clone(),
        ),
        (
            "63-byte signature",
            Some(hex::encode(&sig_bytes[..63])),
            Some(TS.into()),
            body.clone(),
        ),
        (
            "65-byte signature",
            Some(hex::encode([&sig_bytes[..], &[0u8]].concat())),
            Some(TS.into()),
            body.clone(),
        ),
        (
            "odd-length hex",
            Some(format!("{good}0")),
            Some(TS.into()),
            body.clone(),
        ),
        (
            "one bit flipped",
            Some(hex::encode(&flipped)),
            Some(TS.into()),
            body.clone(),
        ),
        (
            "other key",
            Some(sign_with(&other_key(), TS, &body)),
            Some(TS.into()),
            body.clone(),
        ),
        (
            "body changed by one byte",
            Some(good.clone()),
            Some(TS.into()),
            changed,
        ),
        (
            "body re-serialized",
            Some(good.clone()),
            Some(TS.into()),
            serde_json::to_vec_pretty(&command_json()).unwrap_or_else(|e| panic!("{e}")),
        ),
        (
            "timestamp changed",
            Some(good.clone()),
            Some("1764500001".into()),
            body.clone(),
        ),
        (
            "empty body",
            Some(good.clone()),
            Some(TS.into()),
            Vec::new(),
        ),
        (
            "signature of the body alone",
            Some(sign("", &body)),
            Some(TS.into()),
            body.clone(),
        ),
    ]
}

#[tokio::test]
async fn every_bad_signature_is_401_and_never_reaches_the_handler() {
    let e = endpoint();
    let mut table = Vec::new();
    for (case, sig, ts, body) in bad_signature_cases() {
        let answer = call(&e.router, post(body, sig.as_deref(), ts.as_deref())).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/json"),
            "{case}"
        );
        table.push(json!({"case": case, "status": answer.status.as_u16(), "body": answer.json()}));
    }
    assert_eq!(e.handler.calls(), 0);
    assert_eq!(e.stats.count(Outcome::Unauthorized), table.len() as u64);
    assert_eq!(e.stats.total(), table.len() as u64);
    insta::assert_json_snapshot!("bad_signatures", table);
}

#[tokio::test]
async fn a_ping_with_a_bad_signature_is_401_too() {
    let e = endpoint();
    let body = ping_body();
    let answer = call(
        &e.router,
        post(body.clone(), Some(&sign(TS, b"{}")), Some(TS)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(e.stats.count(Outcome::Pong), 0);
}

#[tokio::test]
async fn non_ascii_signature_headers_are_401() {
    let e = endpoint();
    let body = command_body();
    let good = sign(TS, &body);
    for (sig, ts) in [
        (
            axum::http::HeaderValue::from_bytes(&[0xff; 128]),
            axum::http::HeaderValue::from_str(TS),
        ),
        (
            axum::http::HeaderValue::from_str(&good),
            axum::http::HeaderValue::from_bytes(b"17645\xe900000"),
        ),
    ] {
        let mut req = post(body.clone(), None, None);
        req.headers_mut()
            .insert("x-signature-ed25519", sig.unwrap_or_else(|e| panic!("{e}")));
        req.headers_mut().insert(
            "x-signature-timestamp",
            ts.unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(call(&e.router, req).await.status, StatusCode::UNAUTHORIZED);
    }
    // A repeated signature header is refused even when one of the values is right.
    let mut req = signed(&body);
    req.headers_mut().append(
        "x-signature-ed25519",
        axum::http::HeaderValue::from_static("00"),
    );
    assert_eq!(call(&e.router, req).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(e.handler.calls(), 0);
}

#[tokio::test]
async fn signed_bodies_that_are_not_interactions_are_400() {
    let e = endpoint();
    let mut table = Vec::new();
    for (case, body) in [
        ("malformed JSON", &br#"{"type":2,"id":"#[..]),
        ("empty", b""),
        ("array", b"[1]"),
        ("number", b"1"),
        ("trailing garbage", br#"{"type":1} x"#),
        ("no type", br#"{"id":"1311111111111111111"}"#),
        ("unknown type", br#"{"type":99}"#),
        ("type zero", br#"{"type":0}"#),
        ("type as a string", br#"{"type":"1"}"#),
        ("negative type", br#"{"type":-1}"#),
        ("not UTF-8", b"{\"type\":\xff}"),
    ] {
        let answer = call(&e.router, signed(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{case}");
        table.push(json!({"case": case, "status": answer.status.as_u16(), "body": answer.json()}));
    }
    assert_eq!(e.handler.calls(), 0);
    assert_eq!(e.stats.count(Outcome::Malformed), table.len() as u64);
    insta::assert_json_snapshot!("malformed_bodies", table);
}

#[tokio::test]
async fn hostile_ids_are_answered_with_an_ephemeral_explanation_not_the_handler() {
    let e = endpoint();
    for kind in [2u64, 3, 5] {
        let answer = call(&e.router, signed(&hostile_command_body(kind))).await;
        assert_eq!(answer.status, StatusCode::OK, "type {kind}");
        let json = answer.json();
        assert_eq!(json["type"], 4, "type {kind}");
        assert_eq!(json["data"]["flags"], 64, "type {kind}: ephemeral");
        assert_eq!(
            json["data"]["content"],
            kaltura_discord::http::interactions::UNUSABLE_MESSAGE
        );
        // Nothing of the hostile input is echoed.
        assert!(!String::from_utf8_lossy(&answer.body).contains("etc"));
    }
    // Autocomplete accepts no message: an empty choice list.
    let answer = call(&e.router, signed(&hostile_command_body(4))).await;
    assert_eq!(answer.status, StatusCode::OK);
    let json = answer.json();
    assert_eq!(json["type"], 8);
    assert_eq!(json["data"]["choices"], json!([]));
    assert_eq!(e.handler.calls(), 0);
    assert_eq!(e.stats.count(Outcome::Unusable), 4);
}

#[tokio::test]
async fn oversized_bodies_are_413_before_the_signature_or_the_handler() {
    let e = endpoint_with(|e| e.body_limit(1024));
    // Padding inside the JSON keeps it valid and signed: only the size is wrong.
    let mut v = command_json();
    v["padding"] = json!("x".repeat(2048));
    let body = serde_json::to_vec(&v).unwrap_or_else(|e| panic!("{e}"));

    // Declared by Content-Length.
    let mut req = signed(&body);
    req.headers_mut().insert(
        header::CONTENT_LENGTH,
        axum::http::HeaderValue::from(body.len()),
    );
    let answer = call(&e.router, req).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json(), json!({"error": "request body too large"}));

    // Not declared (a streamed body): refused once the limit is passed.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(300).map(|c| Ok(c.to_vec())).collect();
    let mut req = signed(&body);
    *req.body_mut() = Body::from_stream(futures_util::stream::iter(chunks));
    let answer = call(&e.router, req).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);

    // A lying Content-Length (small) does not get a big body through either.
    let mut req = signed(&body);
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, axum::http::HeaderValue::from(10u32));
    assert_eq!(
        call(&e.router, req).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // The same request under the default limit (256 KiB) goes through.
    let roomy = endpoint();
    assert_eq!(
        call(&roomy.router, signed(&body)).await.status,
        StatusCode::OK
    );
    assert_eq!(roomy.handler.calls(), 1);

    assert_eq!(e.handler.calls(), 0);
    assert_eq!(e.stats.count(Outcome::TooLarge), 3);
}

#[tokio::test]
async fn exactly_the_limit_is_accepted() {
    let body = ping_body();
    let e = endpoint_with(|e| e.body_limit(body.len()));
    assert_eq!(call(&e.router, signed(&body)).await.status, StatusCode::OK);
    let e = endpoint_with(|e| e.body_limit(body.len() - 1));
    assert_eq!(
        call(&e.router, signed(&body)).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn other_methods_are_405_and_other_paths_404() {
    let e = endpoint();
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let req = Request::builder()
            .method(method)
            .uri("/interactions")
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            call(&e.router, req).await.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
    for uri in [
        "/",
        "/interactions/",
        "/interaction",
        "/interactions/x",
        "/../interactions",
    ] {
        let body = ping_body();
        let mut req = signed(&body);
        *req.uri_mut() = uri.parse().unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(
            call(&e.router, req).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    assert_eq!(e.handler.calls(), 0);
    assert_eq!(e.stats.total(), 0);
}

#[tokio::test]
async fn the_replay_window_is_off_by_default_and_checks_the_clock_when_set() {
    let body = ping_body();
    let old = "1000";
    let e = endpoint();
    let req = post(body.clone(), Some(&sign(old, &body)), Some(old));
    assert_eq!(call(&e.router, req).await.status, StatusCode::OK);

    let clock = ManualClock::new(1_764_500_000);
    let e = endpoint_with(|e| {
        e.max_age(Duration::from_secs(300))
            .clock(Arc::new(clock.clone()))
    });
    let at = |ts: &str| post(body.clone(), Some(&sign(ts, &body)), Some(ts));
    assert_eq!(
        call(&e.router, at("1764500000")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&e.router, at("1764499700")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&e.router, at("1764500300")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&e.router, at("1764499699")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&e.router, at("1764500301")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&e.router, at("not-a-number")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&e.router, at(old)).await.status,
        StatusCode::UNAUTHORIZED
    );
    clock.set(1_764_499_700);
    assert_eq!(
        call(&e.router, at("1764499699")).await.status,
        StatusCode::OK
    );
    assert_eq!(e.stats.count(Outcome::Unauthorized), 4);
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_not_a_lost_connection() {
    let endpoint = InteractionsEndpoint::new(Arc::new(PanickingHandler), public_key());
    let stats = endpoint.stats();
    let router = endpoint.build();
    let answer = call(&router, signed(&command_body())).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.json(), json!({"error": "internal error"}));
    assert_eq!(stats.count(Outcome::Failed), 1);
    // PING does not depend on the handler.
    assert_eq!(
        call(&router, signed(&ping_body())).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_token_never_appears_in_the_endpoints_debug() {
    let endpoint = InteractionsEndpoint::new(Arc::new(CountingHandler::default()), public_key());
    let debug = format!("{endpoint:?}");
    assert!(debug.contains(PYNACL_PUBLIC_KEY), "{debug}");
    assert!(!debug.contains("aW50ZXJhY3Rpb24"), "{debug}");
}

/// A log sink for a `tracing` subscriber.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn requests_are_traced_with_id_type_guild_and_outcome_but_never_the_token() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites cached as uninteresting by tests running without a subscriber count again.
    tracing::callsite::rebuild_interest_cache();

    let e = endpoint();
    let command = command_body();
    assert_eq!(
        call(&e.router, signed(&command)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&e.router, signed(&hostile_command_body(2)))
            .await
            .status,
        StatusCode::OK
    );
    let wrong = sign_with(&other_key(), TS, &command);
    let answer = call(&e.router, post(command.clone(), Some(&wrong), Some(TS))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&e.router, signed(&ping_body())).await.status,
        StatusCode::OK
    );

    let text = String::from_utf8(logs.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "id=1311111111111111111",
        "kind=2",
        "guild=987654321098765432",
        "outcome=\"handled\"",
        "outcome=\"unusable\"",
        "outcome=\"unauthorized\"",
        "outcome=\"pong\"",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let token = command_json()["token"].as_str().map(str::to_owned);
    let token = token.unwrap_or_else(|| panic!("token"));
    assert!(!text.contains(&token), "the token leaked:\n{text}");
    assert!(!text.contains("PING-TOKEN"), "the token leaked:\n{text}");
    assert!(!text.contains(&wrong), "the signature is logged:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_real_socket_with_reqwest() {
    let handler = Arc::new(CountingHandler::default());
    let router = interactions_router(handler.clone(), public_key());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://{addr}/interactions");
    let client = reqwest::Client::new();
    let send = |body: Vec<u8>, sig: String| {
        client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Signature-Ed25519", sig)
            .header("X-Signature-Timestamp", TS)
            .body(body)
            .send()
    };

    let ping = ping_body();
    let response = send(ping.clone(), sign(TS, &ping))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let pong: Value = response.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pong, json!({"type": 1}));

    let command = command_body();
    let response = send(command.clone(), sign(TS, &command))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    let reply: Value = response.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply, CountingHandler::reply().to_json());

    let response = send(command.clone(), sign_with(&other_key(), TS, &command))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 401);

    let response = client
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 405);

    assert_eq!(handler.calls(), 1);
    server.abort();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A signature header value: missing, random hex of any length, 64 random bytes, valid for
/// another body, or valid under another key.
fn signature_strategy() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        "[0-9a-fA-F]{0,140}".prop_map(Some),
        prop::collection::vec(any::<u8>(), 64).prop_map(|b| Some(hex::encode(b))),
        ".{0,64}".prop_map(|b: String| Some(sign(TS, b.as_bytes()))),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| Some(sign_with(
            &other_key(),
            TS,
            &b
        ))),
    ]
}

/// Bodies: random bytes, and interaction-shaped JSON with random types and ids.
fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (0u64..8, ".{0,24}", ".{0,24}", any::<bool>()).prop_map(|(kind, id, guild, member)| {
            let mut v = command_json();
            v["type"] = json!(kind);
            v["id"] = json!(id);
            v["guild_id"] = json!(guild);
            if !member {
                v["member"] = Value::Null;
            }
            serde_json::to_vec(&v).unwrap_or_default()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn without_a_valid_signature_nothing_reaches_the_handler(
        body in body_strategy(),
        sig in signature_strategy(),
        ts in prop_oneof![Just(None), "[0-9]{0,12}".prop_map(Some)],
    ) {
        let e = endpoint();
        let answer = runtime().block_on(call(&e.router, post(body, sig.as_deref(), ts.as_deref())));
        prop_assert!(!answer.status.is_server_error());
        prop_assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        prop_assert_eq!(e.handler.calls(), 0);
    }

    #[test]
    fn signed_random_bodies_never_give_a_5xx(body in body_strategy()) {
        let e = endpoint();
        let answer = runtime().block_on(call(&e.router, signed(&body)));
        prop_assert!(
            [StatusCode::OK, StatusCode::BAD_REQUEST].contains(&answer.status),
            "{}", answer.status
        );
        prop_assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        // Only a 200 that is neither a PONG nor an explanation can come from the handler.
        prop_assert!(e.handler.calls() <= 1);
        if e.handler.calls() == 1 {
            prop_assert_eq!(e.stats.count(Outcome::Handled), 1);
        }
    }
}
