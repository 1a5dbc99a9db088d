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
//! Built so far: Discord id newtypes that reject hostile input ([`ids`]), role-based access
//! control with a pure, explainable [`rbac::authorize`], and the crate's error type.
#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod error;
pub mod identity;
pub mod ids;
pub mod rbac;
pub mod store;

pub use error::{Error, Result};
pub use ids::{ChannelId, DiscordUserId, GuildId, InvalidSnowflake, RoleId};
pub use kaltura_client;
