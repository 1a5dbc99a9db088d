//! Tests of the example binaries, run as real processes (one module per binary).

mod bot_cli;
mod config_cli;
mod discord_fake;
mod fake_cli;
mod gateway_cli;
mod ks_cli;
mod webhooks_cli;
