//! # kaltura-discord
//!
//! Brings Kaltura's video platform — media, search, Kaltura Meetings and event
//! notifications — into Discord.
//!
//! This is the integration library that Rust bot authors add to their own bots. It talks to
//! Kaltura through [`kaltura_client`] and keeps every Discord framework at the edge: the
//! pieces (identity mapping, RBAC, per-guild configuration, storage, meetings and video
//! services, the command layer, notification rendering) each sit behind a trait so a host
//! bot can replace them, and the adapters for serenity and Discord's HTTP interactions are
//! thin layers over plain data.
//!
//! What is here:
//!
//! * [`ids`]: Discord snowflake newtypes that reject hostile input;
//! * [`rbac`]: typed permissions and a pure, explainable [`rbac::authorize`];
//! * [`config`]: the layered per-guild configuration (defaults → file → `KD__…` environment →
//!   guild overrides) with provenance, JSON Schemas and hot reload;
//! * [`auth`]: short-lived JWTs for the gateway, algorithm pinned, keys rotated by `kid`;
//! * [`store`]: identity links, guild overrides, meetings and the audit log on SQLite (embedded
//!   default) or PostgreSQL (several replicas);
//! * [`text`]: the one place member-typed text is validated;
//! * [`services`] (re-exported at the root): [`identity`]: which Kaltura user a Discord member acts as, with auto-provisioning;
//! * the library services every front end uses, called with a [`context::GuildContext`]:
//!   Kaltura Meetings ([`meetings`]: start, list, join links, end) and video ([`video`]:
//!   search, details, share cards, restricted playback).
#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod context;
pub mod error;
pub mod ids;
pub mod rbac;
pub mod services;
pub mod store;
pub mod text;

pub use services::{identity, meetings, video};

pub use error::{Error, ErrorKind, Result};
pub use ids::{ChannelId, DiscordUserId, GuildId, InvalidSnowflake, RoleId};
pub use kaltura_client;
