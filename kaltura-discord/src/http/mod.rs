//! HTTP front ends on axum (feature `http`).
//!
//! [`interactions`] is Discord's *Interactions Endpoint URL*: Discord POSTs every
//! interaction to it, signed with Ed25519; the endpoint checks the signature on the raw
//! bytes, answers PING itself and hands everything else to an
//! [`InteractionHandler`](crate::commands::InteractionHandler). The result is a plain
//! [`axum::Router`], so a host program mounts it next to its own routes and serves it with
//! whatever server it already runs.
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

pub mod interactions;
pub mod webhooks;

pub use interactions::{
    DiscordPublicKey, EndpointStats, InteractionsEndpoint, Outcome, interactions_router,
};
pub use webhooks::{WebhookOutcome, WebhookReceiver, WebhookReceiverBuilder};
