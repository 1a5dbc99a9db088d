//! A loopback server of the HTTP interactions endpoint over the real command engine, for
//! `scripts/load/commands-search.sh`.
//!
//! `cargo run --release -p kaltura-discord-benches --example commands_server -- [ADDR] [WORKERS]`
//! (default `127.0.0.1:3031`, 2 worker threads). Behind the endpoint: `CommandEngine` with
//! the default configuration, a `MemoryStore`, an in-process fake Kaltura with demo data
//! (on the same runtime) and a Discord REST stand-in that counts deferred replies instead of
//! sending them. The public key is the one of the seed `[7u8; 32]` unless
//! `DISCORD_PUBLIC_KEY` (64 hex characters) is set. On Ctrl-C (or SIGTERM) it prints the
//! endpoint's counters by outcome and the number of deferred replies to standard error.
#![allow(clippy::print_stderr)]

use kaltura_discord::http::{DiscordPublicKey, InteractionsEndpoint, Outcome};

// The request builders of the module are the benchmark's.
#[allow(dead_code)]
#[path = "support/engine.rs"]
mod engine;

/// The public key of the seed `[7u8; 32]` (also PyNaCl's, see the reference notes §9.3).
const SEED7_PUBLIC_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3031".to_owned());
    let workers: usize = args.next().map_or(Ok(2), |w| w.parse())?;
    let key = std::env::var("DISCORD_PUBLIC_KEY").unwrap_or_else(|_| SEED7_PUBLIC_KEY.to_owned());
    let key = DiscordPublicKey::from_hex(&key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let fixture = engine::fixture().await;
        let endpoint = InteractionsEndpoint::new(fixture.engine.clone(), key);
        let stats = endpoint.stats();
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!(
            "listening on http://{}/interactions (fake Kaltura {})",
            listener.local_addr()?,
            fixture.fake.url()
        );
        axum::serve(listener, endpoint.build())
            .with_graceful_shutdown(stop_signal())
            .await?;
        let counts: Vec<String> = Outcome::ALL
            .iter()
            .map(|o| format!("{o}={}", stats.count(*o)))
            .collect();
        eprintln!(
            "requests: {} ({}); deferred replies sent to Discord: {}",
            stats.total(),
            counts.join(" "),
            fixture.rest.calls()
        );
        Ok(())
    })
}
