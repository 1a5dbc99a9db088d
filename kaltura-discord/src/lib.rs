//! # kaltura-discord
//!
//! Brings Kaltura's video platform — media, search, Kaltura Meetings and event
//! notifications — into Discord.
//!
//! This is the integration library that Rust bot authors add to their own bots. It talks to
//! Kaltura through [`kaltura_client`] and depends on no Discord framework: the pieces
//! (identity mapping, RBAC, per-guild configuration, storage, meetings and video services)
//! take plain data, and those with state or I/O sit behind a trait so a host bot can replace
//! them. Errors carry an [`ErrorKind`] that front ends map to a message or an HTTP status.
//! `docs/architecture.md` in the repository draws the crates, traits and data flows.
//!
//! What is here:
//!
//! * [`ids`]: Discord snowflake newtypes that reject hostile input;
//! * [`rbac`]: typed permissions and a pure, explainable [`rbac::authorize`];
//! * [`config`]: the layered per-guild configuration (defaults → file → `KD__…` environment →
//!   guild overrides) with provenance, JSON Schemas and hot reload;
//! * `auth` (feature `jwt`): short-lived JWTs for the gateway, algorithm pinned, keys rotated
//!   by `kid`;
//! * [`store`]: identity links, guild overrides, meetings and the audit log behind one trait
//!   each, with [`store::MemoryStore`] (always built) and `SqlStore` on SQLite (embedded
//!   default) or PostgreSQL (several replicas);
//! * [`text`]: the one place member-typed text is validated;
//! * [`services`], the guild-scoped services every front end uses (re-exported at the root),
//!   called with a [`context::GuildContext`]: [`identity`] (which Kaltura user a Discord
//!   member acts as, with auto-provisioning and proof-checked links), Kaltura Meetings
//!   ([`meetings`]: start, list, join links, end) and video ([`video`]: search, details,
//!   share cards, restricted playback);
//! * [`commands`], the framework-agnostic command layer: `/kaltura` and `/kaltura-admin` as
//!   data (registration JSON checked against Discord's limits), interaction JSON parsed into
//!   typed values, handlers that re-check RBAC on every command and click, our own reply types
//!   converted to Discord JSON, and [`commands::engine::CommandEngine`], which keeps Discord's
//!   3-second deadline by deferring and completing through the REST trait;
//! * [`rest`]: the [`rest::DiscordRest`] trait (follow-ups, edits, registration, scheduled
//!   events, channel messages), implemented on twilight-http (feature `rest`);
//! * `http` (feature `http`): the axum router of Discord's HTTP interactions endpoint;
//! * [`gateway`]: groundwork for the API gateway — rotating refresh-token sessions stored
//!   hashed ([`gateway::sessions`]) and, with feature `http`, the Discord OAuth2 login with
//!   PKCE (`gateway::oauth`);
//! * [`adapters`]: `adapters::serenity` (feature `serenity`) converts serenity's interactions
//!   and builders to and from the command layer's.
//!
//! A bot in a few lines (the HTTP endpoint; `examples/` in the repository has the gateway
//! and an existing serenity bot adding these commands beside its own):
//!
//! ```no_run
//! # #[cfg(all(feature = "http", feature = "rest", feature = "sqlite"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use kaltura_discord::commands::engine::CommandEngine;
//! use kaltura_discord::config::{ConfigResolver, ConfigSources};
//! use kaltura_discord::context::KalturaAccount;
//! use kaltura_discord::http::{DiscordPublicKey, InteractionsEndpoint};
//! use kaltura_discord::rest::twilight::TwilightRest;
//! use kaltura_discord::store::SqlStore;
//! use secrecy::SecretString;
//!
//! let secret = SecretString::from(std::env::var("KALTURA_ADMIN_SECRET")?);
//! let client = kaltura_client::Client::builder()
//!     .partner_id(12345)
//!     .admin_secret(secret.clone())
//!     .build()?;
//! let store = Arc::new(SqlStore::connect("sqlite://data/bot.db").await?);
//! let resolver = ConfigResolver::load(&ConfigSources::from_env(None, None))?
//!     .with_store(store.clone());
//! let engine = CommandEngine::builder()
//!     .resolver(Arc::new(resolver))
//!     .account(KalturaAccount::new(client, &secret)?)
//!     .stores(store)
//!     .rest(Arc::new(TwilightRest::new(SecretString::from(std::env::var("DISCORD_TOKEN")?))?))
//!     .build()?;
//! let key = DiscordPublicKey::from_hex(&std::env::var("DISCORD_PUBLIC_KEY")?)?;
//! let router = InteractionsEndpoint::new(Arc::new(engine), key).build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8787").await?;
//! axum::serve(listener, router).await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! Pay only for what you use; `--no-default-features` leaves the traits, RBAC, configuration
//! resolution, identity, the meetings and video services and the in-memory store.
//!
//! | feature | default | adds | pulls in |
//! |---|---|---|---|
//! | `sqlite` | yes | `store::SqlStore::sqlite`, `sqlite://` URLs | sqlx, SQLite (C, built from source) |
//! | `postgres` | no | `store::SqlStore::postgres`, `postgres://` URLs | sqlx, rustls |
//! | `watch` | no | `config::ConfigWatcher` (hot reload of configuration files) | notify |
//! | `jwt` | no | `auth` (gateway tokens), `Error::Auth` | jsonwebtoken |
//! | `http` | no | `http::interactions_router`: Discord's HTTP interactions endpoint, Ed25519-verified | axum, ed25519-dalek, hex |
//! | `gateway` | no | `http::gateway`: the REST API gateway (JWT bearer auth, problem+json, OpenAPI, rate limits, metrics); `gateway::oauth`: Discord OAuth2 login with PKCE; implies `http` and `jwt` | utoipa, governor, tower-http, reqwest |
//! | `rest` | no | `rest::twilight::TwilightRest`: the REST trait on twilight-http (Discord's rate limits honoured) | twilight-http, rustls |
//! | `serenity` | no | `adapters::serenity`: conversions to and from serenity 0.12 (its `builder` feature only) | serenity |
#![deny(missing_docs)]
// Library code outside tests may not panic on input.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod adapters;
#[cfg(feature = "jwt")]
pub mod auth;
pub mod commands;
pub mod config;
pub mod context;
pub mod error;
pub mod gateway;
#[cfg(feature = "http")]
pub mod http;
pub mod ids;
pub mod notify;
pub mod rbac;
pub mod rest;
pub mod services;
pub mod store;
pub mod text;

pub use services::{identity, meetings, video};

pub use error::{Error, ErrorKind, Result};
pub use ids::{
    ApplicationId, ChannelId, DiscordUserId, GuildId, InteractionId, InvalidSnowflake, MessageId,
    RoleId, ScheduledEventId,
};
pub use kaltura_client;
