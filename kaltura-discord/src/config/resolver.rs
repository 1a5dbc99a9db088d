//! The resolver: assembles the layers, deserializes, validates and caches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ConfigError;
use super::layers::{Layer, Layered, expand_placeholders, parse_json_object, read_json_object};
use super::model::{GuildConfig, ProcessConfig, redact_url};
use crate::ids::GuildId;

/// The built-in defaults (`config/default.json`), compiled in.
pub const DEFAULT_CONFIG_JSON: &str = include_str!("../../default-config.json");

/// Prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "KD__";

/// Where the global layers come from.
#[derive(Debug, Clone)]
pub struct ConfigSources {
    /// The defaults document (normally [`DEFAULT_CONFIG_JSON`]).
    pub defaults: String,
    /// The global configuration file, if any.
    pub global_file: Option<PathBuf>,
    /// Environment variables (normally `std::env::vars()`); only `KD__…` ones are used, and
    /// the same list resolves `${NAME}` placeholders in files.
    pub env: Vec<(String, String)>,
    /// Directory of guild override files (`{guild_id}.json`), if any.
    pub guild_dir: Option<PathBuf>,
}

impl ConfigSources {
    /// The built-in defaults, the given global file and guild directory, and this process's
    /// environment.
    pub fn from_env(global_file: Option<PathBuf>, guild_dir: Option<PathBuf>) -> Self {
        ConfigSources {
            defaults: DEFAULT_CONFIG_JSON.to_owned(),
            global_file,
            env: std::env::vars().collect(),
            guild_dir,
        }
    }

    /// Only the built-in defaults: no file, no environment.
    pub fn defaults_only() -> Self {
        ConfigSources {
            defaults: DEFAULT_CONFIG_JSON.to_owned(),
            global_file: None,
            env: Vec::new(),
            guild_dir: None,
        }
    }
}

pub use crate::store::GuildOverrideStore;

/// A value and the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The dotted key.
    pub key: String,
    /// The resolved value (secrets shown as `**redacted**`).
    pub value: Value,
    /// Where it was set.
    pub layer: Layer,
}

/// A guild's resolved configuration and where each value came from.
#[derive(Debug, Clone)]
pub struct ResolvedGuildConfig {
    guild: GuildId,
    config: GuildConfig,
    layered: Layered,
    resolved_at: std::time::Instant,
}

impl ResolvedGuildConfig {
    /// The guild.
    pub fn guild(&self) -> GuildId {
        self.guild
    }

    /// The typed configuration.
    pub fn config(&self) -> &GuildConfig {
        &self.config
    }

    /// Every key under `prefix` (every key when empty) with its value and layer, in key order.
    pub fn explain(&self, prefix: &str) -> Vec<Explanation> {
        explain(&self.layered, prefix, false)
    }
}

/// The process configuration and where each value came from.
#[derive(Debug, Clone)]
pub struct ResolvedProcessConfig {
    config: ProcessConfig,
    layered: Layered,
}

impl ResolvedProcessConfig {
    /// The typed configuration.
    pub fn config(&self) -> &ProcessConfig {
        &self.config
    }

    /// Every key under `prefix` with its value and layer; secrets are redacted.
    pub fn explain(&self, prefix: &str) -> Vec<Explanation> {
        explain(&self.layered, prefix, true)
    }
}

fn explain(layered: &Layered, prefix: &str, redact: bool) -> Vec<Explanation> {
    let root = Value::Object(layered.value().clone());
    let under = format!("{prefix}.");
    layered
        .provenance()
        .iter()
        .filter(|(k, _)| prefix.is_empty() || *k == prefix || k.starts_with(&under))
        .map(|(k, layer)| {
            let mut value = k
                .split('.')
                .try_fold(&root, |v, seg| v.get(seg))
                .cloned()
                .unwrap_or(Value::Null);
            if redact && is_secret_key(k) && !value.is_null() {
                value = Value::String("**redacted**".into());
            } else if redact
                && k == "database.url"
                && let Value::String(s) = &value
            {
                value = Value::String(redact_url(s));
            }
            Explanation {
                key: k.clone(),
                value,
                layer: layer.clone(),
            }
        })
        .collect()
}

fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    last.contains("secret") || last.contains("token") || last.contains("password")
}

struct Base {
    /// Guild layers below the guild's own: defaults, file and environment `guild_defaults`.
    guild: Layered,
    process: Arc<ResolvedProcessConfig>,
}

/// Resolves and caches configurations.
pub struct ConfigResolver {
    base: RwLock<Arc<Base>>,
    guild_dir: Option<PathBuf>,
    store: Option<Arc<dyn GuildOverrideStore>>,
    cache: RwLock<HashMap<GuildId, Arc<ResolvedGuildConfig>>>,
    cache_ttl: Option<std::time::Duration>,
}

/// How long a resolved guild configuration is served from the cache before it is resolved
/// again: the longest another replica's store change (or a missed file event) goes unseen.
pub const DEFAULT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl std::fmt::Debug for ConfigResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigResolver")
            .field("guild_dir", &self.guild_dir)
            .field("has_store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl ConfigResolver {
    /// Loads the global layers and checks that they form a valid process configuration and a
    /// valid guild configuration (with no guild overrides).
    pub fn load(sources: &ConfigSources) -> Result<Self, ConfigError> {
        let base = load_base(sources)?;
        Ok(ConfigResolver {
            base: RwLock::new(Arc::new(base)),
            guild_dir: sources.guild_dir.clone(),
            store: None,
            cache: RwLock::new(HashMap::new()),
            cache_ttl: Some(DEFAULT_CACHE_TTL),
        })
    }

    /// How long cached guild configurations are served before being resolved again
    /// (default [`DEFAULT_CACHE_TTL`]; `None` keeps them until invalidated). With several
    /// replicas on one database, this bounds how long a change made through another replica
    /// goes unseen.
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Option<std::time::Duration>) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Also reads guild overrides from a store (applied after override files).
    #[must_use]
    pub fn with_store(mut self, store: Arc<dyn GuildOverrideStore>) -> Self {
        self.store = Some(store);
        self
    }

    fn base(&self) -> Arc<Base> {
        match self.base.read() {
            Ok(b) => b.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The process configuration.
    pub fn process(&self) -> Arc<ResolvedProcessConfig> {
        self.base().process.clone()
    }

    /// A guild's configuration from the cache, without touching files or the store.
    pub fn cached(&self, guild: GuildId) -> Option<Arc<ResolvedGuildConfig>> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        cache.get(&guild).cloned()
    }

    /// A guild's configuration: cached, or resolved from the layers and its overrides.
    ///
    /// A cached configuration older than the cache TTL is resolved again; if that fails (an
    /// override became invalid), the previous configuration stays in force and the error is
    /// logged.
    pub async fn guild(&self, guild: GuildId) -> Result<Arc<ResolvedGuildConfig>, ConfigError> {
        let stale = match self.cached(guild) {
            Some(hit)
                if self
                    .cache_ttl
                    .is_none_or(|ttl| hit.resolved_at.elapsed() < ttl) =>
            {
                return Ok(hit);
            }
            other => other,
        };
        match self.resolve_uncached(guild).await {
            Ok(resolved) => {
                let resolved = Arc::new(resolved);
                self.put_cached(guild, resolved.clone());
                Ok(resolved)
            }
            Err(e) => match stale {
                Some(previous) => {
                    tracing::warn!(%guild, error = %e, "guild configuration no longer resolves; keeping the previous one");
                    Ok(previous)
                }
                None => Err(e),
            },
        }
    }

    pub(super) fn put_cached(&self, guild: GuildId, resolved: Arc<ResolvedGuildConfig>) {
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(guild, resolved);
    }

    /// Resolves a guild's configuration without the cache.
    pub async fn resolve_uncached(
        &self,
        guild: GuildId,
    ) -> Result<ResolvedGuildConfig, ConfigError> {
        let base = self.base();
        let mut layered = base.guild.clone();
        if let Some(dir) = &self.guild_dir {
            // GuildId is a validated number, so this path cannot leave the directory.
            let path = dir.join(format!("{guild}.json"));
            if path.is_file() {
                let layer = Layer::GuildFile(path.clone());
                let mut value = Value::Object(
                    read_json_object(&path, &layer).map_err(|e| with_guild(e, guild))?,
                );
                let env = std::env::vars().collect::<HashMap<_, _>>();
                expand_placeholders(&mut value, &layer, &|n| env.get(n).cloned())
                    .map_err(|e| with_guild(e, guild))?;
                if let Value::Object(m) = value {
                    layered.merge(m, &layer);
                }
            }
        }
        if let Some(store) = &self.store {
            let found = store.guild_override(guild).await.map_err(|e| ConfigError {
                guild: Some(guild),
                key: String::new(),
                message: format!("could not be read: {e}"),
                layer: Some(Layer::GuildStore),
            })?;
            if let Some(m) = found {
                layered.merge(m, &Layer::GuildStore);
            }
        }
        let config: GuildConfig = deserialize(&mut layered, Some(guild))?;
        validate_guild(&config, &layered, Some(guild))?;
        Ok(ResolvedGuildConfig {
            guild,
            config,
            layered,
            resolved_at: std::time::Instant::now(),
        })
    }

    /// Checks a guild override document as if it were applied to the global layers.
    pub fn check_override(
        &self,
        overlay: Map<String, Value>,
        layer: &Layer,
    ) -> Result<GuildConfig, ConfigError> {
        let mut layered = self.base().guild.clone();
        layered.merge(overlay, layer);
        let config: GuildConfig = deserialize(&mut layered, None)?;
        validate_guild(&config, &layered, None)?;
        Ok(config)
    }

    /// Drops a guild's cached configuration (call after its overrides change).
    pub fn invalidate(&self, guild: GuildId) {
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&guild);
    }

    /// Drops every cached guild configuration.
    pub fn invalidate_all(&self) {
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Re-reads the global layers. On error the previous configuration stays in force and
    /// the error is returned; on success every cached guild configuration is dropped.
    pub fn reload(&self, sources: &ConfigSources) -> Result<(), ConfigError> {
        let base = load_base(sources)?;
        *self.base.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(base);
        self.invalidate_all();
        Ok(())
    }
}

fn with_guild(mut e: ConfigError, guild: GuildId) -> ConfigError {
    e.guild = Some(guild);
    e
}

fn load_base(sources: &ConfigSources) -> Result<Base, ConfigError> {
    let env: HashMap<&str, &str> = sources
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let lookup = |name: &str| env.get(name).map(|v| (*v).to_owned());

    let mut process = Layered::new();
    let mut guild = Layered::new();
    let mut add_layer = |doc: Map<String, Value>, layer: &Layer| {
        let mut doc = doc;
        if let Some(Value::Object(g)) = doc.remove("guild_defaults") {
            guild.merge(g, layer);
        }
        process.merge(doc, layer);
    };

    let defaults = parse_json_object(&sources.defaults, &Layer::Defaults)?;
    add_layer(defaults, &Layer::Defaults);
    if let Some(path) = &sources.global_file {
        let layer = Layer::GlobalFile(path.clone());
        let mut doc = Value::Object(read_global_file(path, &layer)?);
        expand_placeholders(&mut doc, &layer, &lookup)?;
        if let Value::Object(m) = doc {
            add_layer(m, &layer);
        }
    }
    let env_vars = sources
        .env
        .iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .cloned()
        .collect::<Vec<_>>();
    guild.merge_env_vars(env_vars.clone(), ENV_PREFIX, &["guild_defaults"]);
    process.merge_env_vars(
        env_vars
            .into_iter()
            .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("kd__guild_defaults__")),
        ENV_PREFIX,
        &[],
    );
    // The process document keeps an empty `guild_defaults`: the guild layers hold them.
    process.merge(
        [("guild_defaults".to_owned(), Value::Object(Map::new()))]
            .into_iter()
            .collect(),
        &Layer::Defaults,
    );

    let process_config: ProcessConfig = deserialize(&mut process, None)?;
    let guild_config: GuildConfig = deserialize(&mut guild, None)?;
    validate_guild(&guild_config, &guild, None)?;
    Ok(Base {
        guild,
        process: Arc::new(ResolvedProcessConfig {
            config: process_config,
            layered: process,
        }),
    })
}

fn read_global_file(path: &Path, layer: &Layer) -> Result<Map<String, Value>, ConfigError> {
    read_json_object(path, layer)
}

/// Deserializes the merged document; environment values that were parsed as JSON but are
/// wanted as strings (an all-digit secret or id) are retried as strings.
fn deserialize<T: DeserializeOwned>(
    layered: &mut Layered,
    guild: Option<GuildId>,
) -> Result<T, ConfigError> {
    for _ in 0..64 {
        let value = Value::Object(layered.value().clone());
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(t) => return Ok(t),
            Err(e) => {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                if layered.env_value_as_string(&path) {
                    continue;
                }
                return Err(describe(e.inner().to_string(), &path, layered, guild));
            }
        }
    }
    Err(ConfigError {
        guild,
        key: String::new(),
        message: "could not be read: too many environment values of the wrong type".into(),
        layer: None,
    })
}

/// Turns a serde message into one that reads after the key, and finds the layer to blame.
fn describe(
    serde_message: String,
    path: &str,
    layered: &Layered,
    guild: Option<GuildId>,
) -> ConfigError {
    let mut key = path.to_owned();
    let message = if let Some(rest) = serde_message
        .strip_prefix("invalid type: ")
        .or_else(|| serde_message.strip_prefix("invalid value: "))
    {
        match rest.rsplit_once(", expected ") {
            Some((got, expected)) => format!("must be {}, got {got}", friendly_expected(expected)),
            None => serde_message.clone(),
        }
    } else if let Some(rest) = serde_message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        // serde_path_to_error already ends the path with the unknown field.
        if path.is_empty() {
            key = field.to_owned();
        } else if path != field && !path.ends_with(&format!(".{field}")) {
            key = format!("{path}.{field}");
        }
        let expected = expected.trim_start_matches(", ");
        if expected.is_empty() {
            "is not a known setting".to_owned()
        } else {
            format!("is not a known setting ({expected})")
        }
    } else if let Some(rest) = serde_message.strip_prefix("unknown variant `") {
        let (got, expected) = rest.split_once('`').unwrap_or((rest, ""));
        format!(
            "must be {}, got \"{got}\"",
            expected
                .trim_start_matches(", expected ")
                .trim_start_matches(", ")
        )
    } else {
        serde_message.clone()
    };
    let lookup = key.split('[').next().unwrap_or(&key).to_owned();
    ConfigError {
        guild,
        layer: layered.layer_of(&lookup).cloned(),
        key,
        message,
    }
}

fn friendly_expected(expected: &str) -> String {
    let numeric = [
        "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "usize", "isize",
    ];
    if numeric.contains(&expected) {
        format!("a number ({expected})")
    } else {
        expected.to_owned()
    }
}

fn validate_guild(
    config: &GuildConfig,
    layered: &Layered,
    guild: Option<GuildId>,
) -> Result<(), ConfigError> {
    let fail = |key: &str, message: String| ConfigError {
        guild,
        key: key.to_owned(),
        message,
        layer: layered.layer_of(key).cloned(),
    };
    let m = &config.meetings;
    if !(5..=1440).contains(&m.default_duration_minutes) {
        return Err(fail(
            "meetings.default_duration_minutes",
            format!(
                "must be between 5 and 1440 minutes, got {}",
                m.default_duration_minutes
            ),
        ));
    }
    if !(5..=1440).contains(&m.join_link_expiry_minutes) {
        return Err(fail(
            "meetings.join_link_expiry_minutes",
            format!(
                "must be between 5 and 1440 minutes, got {}",
                m.join_link_expiry_minutes
            ),
        ));
    }
    let locale = &config.locale;
    let locale_ok = (2..=35).contains(&locale.len())
        && locale.split('-').enumerate().all(|(i, part)| {
            if i == 0 {
                (2..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphabetic())
            } else {
                (2..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphanumeric())
            }
        });
    if !locale_ok {
        return Err(fail(
            "locale",
            format!("must be a language tag such as \"en-US\", got {locale:?}"),
        ));
    }
    let prefix = &config.identity.user_id_prefix;
    if prefix.len() > 32
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b))
    {
        return Err(fail(
            "identity.user_id_prefix",
            format!("must be at most 32 characters of A-Z a-z 0-9 _ . @ -, got {prefix:?}"),
        ));
    }
    for (i, route) in config.notifications.routes.iter().enumerate() {
        if let Some(t) = &route.template
            && !config.notifications.templates.contains_key(t)
        {
            return Err(fail(
                &format!("notifications.routes.{i}.template"),
                format!("names the template {t:?}, which is not in `notifications.templates`"),
            ));
        }
    }
    for (name, template) in &config.notifications.templates {
        if template.len() > 2000 {
            return Err(fail(
                &format!("notifications.templates.{name}"),
                format!(
                    "must be at most 2000 characters (a Discord message), got {}",
                    template.len()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MeetingType, NotificationEvent};
    use serde_json::json;
    use std::sync::Mutex;

    fn guild(id: u64) -> GuildId {
        GuildId::new(id).unwrap()
    }

    struct Dir {
        dir: tempfile::TempDir,
    }

    impl Dir {
        fn new() -> Self {
            Dir {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }
        fn guilds(&self) -> PathBuf {
            let p = self.dir.path().join("guilds");
            std::fs::create_dir_all(&p).unwrap();
            p
        }
    }

    #[derive(Default)]
    struct MemStore(Mutex<HashMap<GuildId, Map<String, Value>>>);

    #[async_trait::async_trait]
    impl GuildOverrideStore for MemStore {
        async fn get_override(
            &self,
            guild: GuildId,
        ) -> Result<Option<crate::store::StoredOverride>, crate::Error> {
            let document = self.0.lock().unwrap().get(&guild).cloned();
            Ok(document.map(|document| crate::store::StoredOverride {
                document,
                version: 1,
                updated_at: 0,
                updated_by: None,
            }))
        }
        async fn update_override(
            &self,
            _: GuildId,
            _: crate::DiscordUserId,
            _: crate::store::OverrideEdit<'_>,
        ) -> Result<crate::store::StoredOverride, crate::Error> {
            unreachable!("the resolver only reads overrides")
        }
        async fn delete_override(
            &self,
            _: GuildId,
            _: crate::DiscordUserId,
        ) -> Result<bool, crate::Error> {
            unreachable!("the resolver only reads overrides")
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn built_in_defaults_resolve_for_any_guild() {
        let r = ConfigResolver::load(&ConfigSources::defaults_only()).unwrap();
        let c = r.guild(guild(1)).await.unwrap();
        assert_eq!(c.config().meetings.default_duration_minutes, 60);
        assert_eq!(c.config().meetings.default_type, MeetingType::MeetingRoom);
        assert_eq!(c.config().rbac, crate::rbac::GuildPolicy::default());
        let e = c.explain("meetings.default_duration_minutes");
        assert_eq!(
            e,
            vec![Explanation {
                key: "meetings.default_duration_minutes".into(),
                value: json!(60),
                layer: Layer::Defaults
            }]
        );
        assert_eq!(
            r.process().config().kaltura.service_url,
            "https://www.kaltura.com"
        );
    }

    #[tokio::test]
    async fn every_layer_applies_in_order_and_is_explained() {
        let d = Dir::new();
        let global = d.write(
            "kaltura-discord.json",
            r#"{"kaltura": {"partner_id": 12345, "admin_secret": "${KALTURA_ADMIN_SECRET}"},
                "guild_defaults": {"meetings": {"default_duration_minutes": 90, "auto_record": false}, "locale": "fr-FR"}}"#,
        );
        let guilds = d.guilds();
        d.write(
            "guilds/123.json",
            r#"{"meetings": {"default_type": "webinar"}, "locale": "es-ES"}"#,
        );
        let sources = ConfigSources {
            defaults: DEFAULT_CONFIG_JSON.into(),
            global_file: Some(global.clone()),
            env: vec![
                (
                    "KD__GUILD_DEFAULTS__MEETINGS__AUTO_RECORD".into(),
                    "true".into(),
                ),
                ("KD__GUILD_DEFAULTS__LOCALE".into(), "it-IT".into()),
                ("KALTURA_ADMIN_SECRET".into(), "0123456789".into()),
                (
                    "KD__DISCORD__APPLICATION_ID".into(),
                    "80351110224678912".into(),
                ),
            ],
            guild_dir: Some(guilds.clone()),
        };
        let store = Arc::new(MemStore::default());
        store
            .0
            .lock()
            .unwrap()
            .insert(guild(123), obj(json!({"locale": "de-DE"})));
        let r = ConfigResolver::load(&sources).unwrap().with_store(store);
        let c = r.guild(guild(123)).await.unwrap();
        let cfg = c.config();
        assert_eq!(cfg.meetings.default_duration_minutes, 90);
        assert!(cfg.meetings.auto_record);
        assert_eq!(cfg.meetings.default_type, MeetingType::Webinar);
        assert_eq!(cfg.locale, "de-DE");
        let layer = |k: &str| c.explain(k).into_iter().next().unwrap().layer;
        assert_eq!(layer("meetings.join_link_expiry_minutes"), Layer::Defaults);
        assert_eq!(
            layer("meetings.default_duration_minutes"),
            Layer::GlobalFile(global)
        );
        assert_eq!(
            layer("meetings.auto_record"),
            Layer::Env("KD__GUILD_DEFAULTS__MEETINGS__AUTO_RECORD".into())
        );
        assert_eq!(
            layer("meetings.default_type"),
            Layer::GuildFile(guilds.join("123.json"))
        );
        assert_eq!(layer("locale"), Layer::GuildStore);

        // Another guild without overrides gets the global layers only.
        let other = r.guild(guild(7)).await.unwrap();
        assert_eq!(other.config().locale, "it-IT");

        // Process config: placeholder expanded, all-digit values stay strings, secrets redacted.
        let p = r.process();
        use secrecy::ExposeSecret as _;
        assert_eq!(
            p.config()
                .kaltura
                .admin_secret
                .as_ref()
                .unwrap()
                .expose_secret(),
            "0123456789"
        );
        assert_eq!(
            p.config().discord.application_id.as_deref(),
            Some("80351110224678912")
        );
        let shown = p.explain("kaltura.admin_secret");
        assert_eq!(shown[0].value, json!("**redacted**"));
        assert!(!format!("{:?}", p.config()).contains("0123456789"));
    }

    #[tokio::test]
    async fn a_bad_value_names_guild_key_and_file() {
        let d = Dir::new();
        let guilds = d.guilds();
        d.write(
            "guilds/123.json",
            r#"{"meetings": {"default_duration_minutes": "ninety"}}"#,
        );
        let sources = ConfigSources {
            guild_dir: Some(guilds.clone()),
            ..ConfigSources::defaults_only()
        };
        let r = ConfigResolver::load(&sources).unwrap();
        let err = r.guild(guild(123)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "guild 123: `meetings.default_duration_minutes` must be a number (u32), got string \"ninety\" ({})",
                guilds.join("123.json").display()
            )
        );
    }

    #[tokio::test]
    async fn unknown_keys_wrong_variants_and_ranges_are_errors() {
        let r = ConfigResolver::load(&ConfigSources::defaults_only()).unwrap();
        let layer = Layer::GuildFile("g.json".into());
        let err = r
            .check_override(obj(json!({"meetings": {"duration": 5}})), &layer)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`meetings.duration` is not a known setting (expected one of"),
            "{err}"
        );
        assert_eq!(err.layer, Some(layer.clone()));
        let err = r
            .check_override(obj(json!({"meetings": {"default_type": "party"}})), &layer)
            .unwrap_err();
        assert!(err.to_string().contains("`meetings.default_type` must be one of `webinar`, `meeting_room`, `virtual_classroom`, got \"party\" (g.json)"), "{err}");
        let err = r
            .check_override(
                obj(json!({"meetings": {"default_duration_minutes": 100000}})),
                &layer,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`meetings.default_duration_minutes` must be between 5 and 1440 minutes, got 100000 (g.json)"
        );
        let err = r
            .check_override(
                obj(json!({"rbac": {"roles": {"../../etc": "admin"}}})),
                &layer,
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("is not a Discord snowflake"),
            "{err}"
        );
        let err = r
            .check_override(obj(json!({"notifications": {"routes": [{"event": "entry_ready", "channel": "42", "template": "nope"}]}})), &layer)
            .unwrap_err();
        assert!(
            err.to_string().contains("names the template \"nope\""),
            "{err}"
        );
        let ok = r
            .check_override(
                obj(json!({"notifications": {"routes": [{"event": "entry_ready", "channel": "42"}]}})),
                &layer,
            )
            .unwrap();
        assert_eq!(
            ok.notifications.routes[0].event,
            NotificationEvent::EntryReady
        );
        assert!(r.check_override(Map::new(), &layer).is_ok());
    }

    #[tokio::test]
    async fn malformed_guild_file_is_an_error_not_a_panic() {
        let d = Dir::new();
        let guilds = d.guilds();
        d.write("guilds/5.json", "{\"meetings\": ");
        let r = ConfigResolver::load(&ConfigSources {
            guild_dir: Some(guilds),
            ..ConfigSources::defaults_only()
        })
        .unwrap();
        let err = r.guild(guild(5)).await.unwrap_err().to_string();
        assert!(
            err.starts_with("guild 5: ") && err.contains("5.json is not valid JSON"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn cache_serves_until_invalidated() {
        let store = Arc::new(MemStore::default());
        let r = ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap()
            .with_store(store.clone());
        assert!(r.cached(guild(9)).is_none());
        let first = r.guild(guild(9)).await.unwrap();
        assert!(Arc::ptr_eq(&first, &r.guild(guild(9)).await.unwrap()));
        store
            .0
            .lock()
            .unwrap()
            .insert(guild(9), obj(json!({"features": {"search": false}})));
        assert!(r.guild(guild(9)).await.unwrap().config().features.search);
        r.invalidate(guild(9));
        assert!(!r.guild(guild(9)).await.unwrap().config().features.search);
    }

    #[tokio::test]
    async fn expired_cache_entries_pick_up_changes_made_elsewhere() {
        // Another replica wrote the store: no invalidate() here, only the TTL.
        let store = Arc::new(MemStore::default());
        let r = ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap()
            .with_store(store.clone())
            .with_cache_ttl(Some(std::time::Duration::ZERO));
        assert!(r.guild(guild(4)).await.unwrap().config().features.search);
        store
            .0
            .lock()
            .unwrap()
            .insert(guild(4), obj(json!({"features": {"search": false}})));
        assert!(!r.guild(guild(4)).await.unwrap().config().features.search);
        // An override that stops resolving keeps the previous configuration in force.
        store
            .0
            .lock()
            .unwrap()
            .insert(guild(4), obj(json!({"locale": 5})));
        assert!(!r.guild(guild(4)).await.unwrap().config().features.search);
        // Without a previous configuration the error is reported.
        store
            .0
            .lock()
            .unwrap()
            .insert(guild(5), obj(json!({"locale": 5})));
        assert!(r.guild(guild(5)).await.is_err());
    }

    #[tokio::test]
    async fn reload_keeps_the_old_config_when_the_new_one_is_invalid() {
        let d = Dir::new();
        let global = d.write(
            "kd.json",
            r#"{"guild_defaults": {"meetings": {"default_duration_minutes": 30}}}"#,
        );
        let sources = ConfigSources {
            global_file: Some(global.clone()),
            ..ConfigSources::defaults_only()
        };
        let r = ConfigResolver::load(&sources).unwrap();
        assert_eq!(
            r.guild(guild(1))
                .await
                .unwrap()
                .config()
                .meetings
                .default_duration_minutes,
            30
        );
        d.write(
            "kd.json",
            r#"{"guild_defaults": {"meetings": {"default_duration_minutes": "x"}}}"#,
        );
        let err = r.reload(&sources).unwrap_err();
        assert_eq!(err.layer, Some(Layer::GlobalFile(global.clone())));
        assert_eq!(
            r.guild(guild(1))
                .await
                .unwrap()
                .config()
                .meetings
                .default_duration_minutes,
            30
        );
        d.write(
            "kd.json",
            r#"{"guild_defaults": {"meetings": {"default_duration_minutes": 45}}}"#,
        );
        r.reload(&sources).unwrap();
        assert_eq!(
            r.guild(guild(1))
                .await
                .unwrap()
                .config()
                .meetings
                .default_duration_minutes,
            45
        );
    }

    #[tokio::test]
    async fn a_toml_global_file_is_read_like_json() {
        let d = Dir::new();
        let global = d.write(
            "kaltura-discord.toml",
            "[kaltura]\npartner_id = 12345\n\n[guild_defaults.meetings]\ndefault_duration_minutes = 75\n",
        );
        let sources = ConfigSources {
            global_file: Some(global.clone()),
            ..ConfigSources::defaults_only()
        };
        let r = ConfigResolver::load(&sources).unwrap();
        assert_eq!(r.process().config().kaltura.partner_id, Some(12345));
        let c = r.guild(guild(1)).await.unwrap();
        assert_eq!(c.config().meetings.default_duration_minutes, 75);
        assert_eq!(
            c.explain("meetings.default_duration_minutes")[0].layer,
            Layer::GlobalFile(global)
        );
    }

    #[test]
    fn env_values_of_the_wrong_type_name_the_variable() {
        let sources = ConfigSources {
            env: vec![("KD__JWT__TTL_SECONDS".into(), "soon".into())],
            ..ConfigSources::defaults_only()
        };
        let err = ConfigResolver::load(&sources).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`jwt.ttl_seconds` must be a number (u32), got string \"soon\" (environment variable KD__JWT__TTL_SECONDS)"
        );
    }

    #[test]
    fn missing_placeholder_variable_is_reported() {
        let d = Dir::new();
        let global = d.write("kd.json", r#"{"discord": {"token": "${DISCORD_TOKEN}"}}"#);
        let err = ConfigResolver::load(&ConfigSources {
            global_file: Some(global),
            ..ConfigSources::defaults_only()
        })
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "`discord.token` refers to the environment variable DISCORD_TOKEN, which is not set"
            ),
            "{err}"
        );
    }
}
