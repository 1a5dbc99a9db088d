//! The HTTP interactions endpoint (feature `http`): a signed PING through the whole router
//! (`tower::ServiceExt::oneshot`: body read, Ed25519 `verify_strict`, `type` peek, PONG),
//! and the Ed25519 verification alone, which dominates it.
//!
//! Keys come from the seed `[7u8; 32]`, the same as the tests and the load script
//! (`scripts/load/interactions-ping.sh`, which measures the endpoint over real sockets).

use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use kaltura_discord::commands::{Interaction, InteractionHandler, InteractionResponse, Reply};
use kaltura_discord::http::{DiscordPublicKey, interactions_router};
use tower::ServiceExt as _;

const TS: &str = "1764500000";
const PING: &[u8] = br#"{"type":1,"id":"1311111111111111110","application_id":"1234567890123456789","token":"PING-TOKEN","version":1}"#;

/// Never reached by a PING.
struct Fixed;

#[async_trait]
impl InteractionHandler for Fixed {
    async fn respond(&self, _: Interaction) -> InteractionResponse {
        InteractionResponse::Message(Reply::text("ok"))
    }
}

fn keys() -> (DiscordPublicKey, String) {
    let signing = SigningKey::from_bytes(&[7u8; 32]);
    let key = DiscordPublicKey::from_bytes(&signing.verifying_key().to_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let signature = hex::encode(signing.sign(&[TS.as_bytes(), PING].concat()).to_bytes());
    (key, signature)
}

fn verify(c: &mut Criterion) {
    let (key, signature) = keys();
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&signature, &mut sig).unwrap_or_else(|e| panic!("{e}"));
    assert!(key.verify(TS.as_bytes(), PING, &sig));
    c.bench_function("interactions_ed25519_verify_strict", |b| {
        b.iter(|| key.verify(black_box(TS.as_bytes()), black_box(PING), black_box(&sig)))
    });
}

fn ping(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let (key, signature) = keys();
    let router = interactions_router(Arc::new(Fixed), key);
    let request = || {
        Request::builder()
            .method("POST")
            .uri("/interactions")
            .header("content-type", "application/json")
            .header("x-signature-ed25519", signature.as_str())
            .header("x-signature-timestamp", TS)
            .body(Body::from(PING))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let status = runtime
        .block_on(router.clone().oneshot(request()))
        .map(|r| r.status())
        .unwrap_or_else(|e| match e {});
    assert_eq!(status, StatusCode::OK);
    c.bench_function("interactions_signed_ping_oneshot", |b| {
        b.iter(|| {
            runtime
                .block_on(router.clone().oneshot(black_box(request())))
                .map(|r| r.status())
        })
    });
}

criterion_group!(benches, verify, ping);
criterion_main!(benches);
