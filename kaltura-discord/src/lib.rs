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
//!   share cards, restricted playback).
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
#[cfg(feature = "http")]
pub mod http;
pub mod ids;
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
