//! HTTP front ends on axum (feature `http`).
//!
//! [`interactions`] is Discord's *Interactions Endpoint URL*: Discord POSTs every
//! interaction to it, signed with Ed25519; the endpoint checks the signature on the raw
//! bytes, answers PING itself and hands everything else to an
//! [`InteractionHandler`](crate::commands::InteractionHandler). The result is a plain
//! [`axum::Router`], so a host program mounts it next to its own routes and serves it with
//! whatever server it already runs.
//!
//! `gateway` (feature `gateway`) is the REST API gateway: meetings, videos, configuration
//! and the audit log of a guild behind JWT bearer tokens, with OpenAPI, rate limits and
//! metrics.
//!
//! [`webhooks`] receives Kaltura's HTTP event notifications (signature-checked, committed to
//! the notification store before `200`), with `/healthz`, `/readyz` and `/metrics`.
//!
//! ```no_run
//! # async fn run(handler: std::sync::Arc<dyn kaltura_discord::commands::InteractionHandler>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use kaltura_discord::http::{DiscordPublicKey, interactions_router};
//!
//! // The application's "Public Key" from the Developer Portal.
//! let key = DiscordPublicKey::from_hex(
//!     "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
//! )?;
//! let app = interactions_router(handler, key);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "gateway")]
pub mod gateway;
pub mod interactions;
pub mod webhooks;

pub use interactions::{
    DiscordPublicKey, EndpointStats, InteractionsEndpoint, Outcome, interactions_router,
};
pub use webhooks::{WebhookOutcome, WebhookReceiver, WebhookReceiverBuilder};

use axum::body::HttpBody as _;

/// Why [`read_limited`] stopped.
enum ReadError {
    /// Over the limit; the rest of the body, unread.
    TooLarge(axum::body::Body),
    /// The connection broke while the body was read.
    Broken,
}

/// Reads the body, stopping as soon as it passes `limit`.
async fn read_limited(
    mut body: axum::body::Body,
    limit: usize,
    declared: Option<u64>,
) -> std::result::Result<Vec<u8>, ReadError> {
    let capacity = declared
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(0)
        .min(limit);
    let mut bytes = Vec::with_capacity(capacity);
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|_| ReadError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len().saturating_add(data.len()) > limit {
                return Err(ReadError::TooLarge(body));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
