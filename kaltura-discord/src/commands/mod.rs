//! The framework-agnostic command layer: `/kaltura` and `/kaltura-admin`.
//!
//! Commands are data ([`definition`]); interactions arrive as JSON and are parsed into
//! typed values ([`interaction`]); handlers call the library's services after RBAC and
//! answer with our own reply types ([`reply`]), converted to Discord JSON at the edge. The
//! adapters (the HTTP interactions endpoint, serenity) only move bytes: both call
//! [`InteractionHandler::respond`], which also keeps Discord's 3-second deadline by
//! deferring and completing the reply through [`crate::rest::DiscordRest`].

use async_trait::async_trait;

pub mod custom_id;
pub mod definition;
pub mod engine;
mod handlers;
pub mod interaction;
pub mod reply;

pub use engine::{CommandEngine, CommandEngineBuilder};
pub use interaction::{Interaction, InteractionContext, InteractionError, InteractionToken};
pub use reply::{InteractionResponse, Reply};

/// Answers interactions. The command engine implements it; adapters call it.
#[async_trait]
pub trait InteractionHandler: Send + Sync {
    /// The initial response to `interaction`, within Discord's deadline: a handler that has
    /// not finished in time answers with a deferral and completes its reply later through
    /// the REST trait.
    async fn respond(&self, interaction: Interaction) -> InteractionResponse;
}
