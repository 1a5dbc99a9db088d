//! A loopback server of the HTTP interactions endpoint, for `scripts/load/interactions-ping.sh`.
//!
//! `cargo run --release -p kaltura-discord-benches --example interactions_server -- [ADDR] [WORKERS]`
//! (default `127.0.0.1:3030`, 2 worker threads). The public key is the one of the seed
//! `[7u8; 32]` unless `DISCORD_PUBLIC_KEY` (64 hex characters) is set. The handler behind
//! it answers every non-PING interaction with a fixed message.
#![allow(clippy::print_stderr)]

use std::sync::Arc;

use async_trait::async_trait;
use kaltura_discord::commands::{Interaction, InteractionHandler, InteractionResponse, Reply};
use kaltura_discord::http::{DiscordPublicKey, interactions_router};

/// The public key of the seed `[7u8; 32]` (also PyNaCl's, see the reference notes §9.3).
const SEED7_PUBLIC_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

struct Fixed;

#[async_trait]
impl InteractionHandler for Fixed {
    async fn respond(&self, _: Interaction) -> InteractionResponse {
        InteractionResponse::Message(Reply::text("ok").ephemeral())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3030".to_owned());
    let workers: usize = args.next().map_or(Ok(2), |w| w.parse())?;
    let key = std::env::var("DISCORD_PUBLIC_KEY").unwrap_or_else(|_| SEED7_PUBLIC_KEY.to_owned());
    let key = DiscordPublicKey::from_hex(&key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!(
            "listening on http://{}/interactions",
            listener.local_addr()?
        );
        axum::serve(listener, interactions_router(Arc::new(Fixed), key)).await?;
        Ok(())
    })
}
