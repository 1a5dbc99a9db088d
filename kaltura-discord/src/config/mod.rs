//! Layered, per-guild configuration with provenance and a JSON Schema.
//!
//! Resolution order, lowest first (objects merge key by key; arrays and scalars are
//! replaced):
//!
//! 1. built-in defaults — `config/default.json`, compiled into the crate;
//! 2. the global configuration file (`kaltura-discord.toml` or `.json`), whose
//!    `guild_defaults` section applies to every guild;
//! 3. the environment: `KD__SECTION__KEY`, double underscores nesting
//!    (`KD__DISCORD__TOKEN`, `KD__GUILD_DEFAULTS__MEETINGS__DEFAULT_DURATION_MINUTES=90`);
//! 4. the guild's overrides: `config/guilds/{guild_id}.json`, then the store (changed through
//!    bot commands).
//!
//! String values in the global file may refer to environment variables as `${NAME}`, which
//! is how secrets stay out of files; guild settings (guild files, store overrides, the global
//! file's `guild_defaults`) may not, so no guild setting can pull a secret into a message.
//! Connection settings (`kaltura.service_url`, `kaltura.kaf_url`, `kaltura.partner_id`) come
//! from the operator's layers, or from guild settings only for hosts and partners the
//! operator listed in `kaltura.allowed_guild_hosts` / `kaltura.allowed_guild_partner_ids`. Every resolved value knows the [`Layer`] that set it
//! ([`ResolvedGuildConfig::explain`]), and every error names the key, the guild and the file
//! or variable to fix:
//!
//! ```text
//! guild 123: `meetings.default_duration_minutes` must be a number, got string "ninety" (config/guilds/123.json)
//! ```
//!
//! Resolved guild configurations are cached; [`ConfigResolver::invalidate`] drops one after
//! its overrides change and [`ConfigResolver::reload`] re-reads the global layers, keeping
//! the previous configuration when the new one is invalid.

mod layers;
mod model;
mod resolver;
pub mod schema;
#[cfg(feature = "watch")]
mod watch;

use std::fmt;

/// Hides the credentials of a database URL (`user:password@`, `?password=…`), for messages.
pub fn redact_url_public(url: &str) -> String {
    model::redact_url(url)
}

pub use layers::{Layer, Layered, MAX_CONFIG_FILE_BYTES, read_guild_file};
pub use model::{
    DatabaseConfig, DatabaseUrl, DiscordConfig, FeaturesConfig, GuildConfig, GuildKalturaConfig,
    HttpConfig, IdentityConfig, IdentityStrategy, JwtConfig, JwtKeyConfig,
    KalturaCredentialsConfig, LinkScopeKind, MeetingType, MeetingsConfig, NotificationRoute,
    NotificationsConfig, ProcessConfig, ShardsConfig,
};
pub use resolver::{
    ConfigResolver, ConfigSources, DEFAULT_CACHE_TTL, DEFAULT_CONFIG_JSON, ENV_PREFIX, Explanation,
    GuildOverrideStore, ResolvedGuildConfig, ResolvedProcessConfig,
};
#[cfg(feature = "watch")]
pub use watch::{ConfigChange, ConfigWatcher};

use crate::ids::GuildId;

/// A configuration value that is missing, malformed or out of range, with where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The guild whose configuration was being resolved, if any.
    pub guild: Option<GuildId>,
    /// The dotted key path (`meetings.default_duration_minutes`); empty for the whole document.
    pub key: String,
    /// What is wrong, phrased to follow the key (`must be a number, got "ninety"`).
    pub message: String,
    /// The layer that set the offending value, if known.
    pub layer: Option<Layer>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(guild) = self.guild {
            write!(f, "guild {guild}: ")?;
        }
        match (self.key.as_str(), &self.layer) {
            ("", Some(layer)) => write!(f, "{layer} {}", self.message),
            ("", None) => f.write_str(&self.message),
            (key, Some(layer)) => write!(f, "`{key}` {} ({layer})", self.message),
            (key, None) => write!(f, "`{key}` {}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}
