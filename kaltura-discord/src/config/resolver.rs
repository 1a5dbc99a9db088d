//! The resolver: assembles the layers, deserializes, validates and caches.
//!
//! One code path serves runtime resolution and `kaltura-config validate`: reading (regular
//! files only, size-capped), placeholder expansion (process configuration only), merging,
//! deserializing, the schema's ranges and lengths, and the rules the schema cannot express.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use kaltura_client::clock::{Clock, SystemClock};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ConfigError;
use super::layers::{
    KeyPath, Layer, Layered, dotted, expand_placeholders, parse_json_object, read_guild_file,
    read_json_object, reject_placeholders,
};
use super::model::{GuildConfig, KalturaCredentialsConfig, ProcessConfig};
use super::schema;
use crate::ids::GuildId;
use crate::notify::render::Renderer;

/// The built-in defaults (`config/default.json`), compiled in.
pub const DEFAULT_CONFIG_JSON: &str = include_str!("../../default-config.json");

/// Prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "KD__";

/// Where the global layers come from.
///
/// `Debug` lists the names of the environment variables, never their values.
#[derive(Clone)]
pub struct ConfigSources {
    /// The defaults document (normally [`DEFAULT_CONFIG_JSON`]).
    pub defaults: String,
    /// The global configuration file, if any.
    pub global_file: Option<PathBuf>,
    /// Environment variables (normally `std::env::vars()`); only `KD__…` ones are used, and
    /// the same list resolves `${NAME}` placeholders in the global file. The resolver reads
    /// no other environment.
    pub env: Vec<(String, String)>,
    /// Directory of guild override files (`{guild_id}.json`), if any.
    pub guild_dir: Option<PathBuf>,
}

impl std::fmt::Debug for ConfigSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSources")
            .field("defaults_bytes", &self.defaults.len())
            .field("global_file", &self.global_file)
            .field(
                "env",
                &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .field("guild_dir", &self.guild_dir)
            .finish()
    }
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
#[non_exhaustive]
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
    /// When it was resolved (unix seconds, from the resolver's clock).
    resolved_at: i64,
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
    ///
    /// Values are read from the typed configuration (so anything secret-typed would be
    /// redacted); a key the typed form leaves out (an empty list skipped when serializing)
    /// shows the merged value, which for guild settings holds no secret: guild layers cannot
    /// use placeholders.
    pub fn explain(&self, prefix: &str) -> Vec<Explanation> {
        let raw = Value::Object(self.layered.value().clone());
        explain(
            &self.layered,
            &serde_json::to_value(&self.config),
            Some(&raw),
            prefix,
        )
    }
}

/// The process configuration and where each value came from.
///
/// `Debug` shows the typed configuration (whose secrets are redacted) and never the merged
/// raw layers.
#[derive(Clone)]
pub struct ResolvedProcessConfig {
    config: ProcessConfig,
    layered: Layered,
}

impl std::fmt::Debug for ResolvedProcessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedProcessConfig")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ResolvedProcessConfig {
    /// The typed configuration.
    pub fn config(&self) -> &ProcessConfig {
        &self.config
    }

    /// Every key under `prefix` with its value and layer. Values are read from the typed
    /// configuration, whose secrets serialize as `**redacted**` and whose database URL hides
    /// its credentials: redaction follows the types, not the key names.
    pub fn explain(&self, prefix: &str) -> Vec<Explanation> {
        explain(
            &self.layered,
            &serde_json::to_value(&self.config),
            None,
            prefix,
        )
    }
}

/// The rows of `explain`: values from `typed`, else from `fallback` when given.
fn explain(
    layered: &Layered,
    typed: &Result<Value, serde_json::Error>,
    fallback: Option<&Value>,
    prefix: &str,
) -> Vec<Explanation> {
    let under = format!("{prefix}.");
    layered
        .leaves()
        .filter_map(|(path, layer)| {
            let key = dotted(path);
            if !(prefix.is_empty() || key == prefix || key.starts_with(&under)) {
                return None;
            }
            let value = typed
                .as_ref()
                .ok()
                .and_then(|root| value_at(root, path))
                .or_else(|| fallback.and_then(|raw| value_at(raw, path)))
                .cloned()
                .unwrap_or(Value::Null);
            Some(Explanation {
                key,
                value,
                layer: layer.clone(),
            })
        })
        .collect()
}

/// The value at `path` (array items by index).
fn value_at<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

struct Base {
    /// Guild layers below the guild's own: defaults, file and environment `guild_defaults`.
    guild: Layered,
    process: Arc<ResolvedProcessConfig>,
}

type Cache = HashMap<GuildId, Arc<ResolvedGuildConfig>>;

/// Resolves and caches configurations.
///
/// The global layers and the cache are snapshots swapped atomically (`arc-swap`): readers
/// never block and never see a half-updated state; there is no lock to poison. File reads
/// and merges run on Tokio's blocking pool when called inside a runtime.
pub struct ConfigResolver {
    base: ArcSwap<Base>,
    guild_dir: Option<PathBuf>,
    store: Option<Arc<dyn GuildOverrideStore>>,
    cache: ArcSwap<Cache>,
    cache_ttl: Option<std::time::Duration>,
    clock: Arc<dyn Clock>,
}

/// How long a resolved guild configuration is served from the cache before it is resolved
/// again: the longest another replica's store change (or a missed file event) goes unseen.
pub const DEFAULT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl std::fmt::Debug for ConfigResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigResolver")
            .field("guild_dir", &self.guild_dir)
            .field("has_store", &self.store.is_some())
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

fn task_error(e: &tokio::task::JoinError) -> ConfigError {
    ConfigError {
        guild: None,
        key: String::new(),
        message: format!("could not be resolved: the resolving task failed ({e})"),
        layer: None,
    }
}

/// Runs file reads and merges on Tokio's blocking pool when inside a runtime, so a large
/// configuration never stalls the async workers; inline otherwise.
async fn off_the_workers<T, F>(f: F) -> Result<T, ConfigError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ConfigError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.spawn_blocking(f).await {
            Ok(result) => result,
            Err(e) => Err(task_error(&e)),
        },
        Err(_) => f(),
    }
}

impl ConfigResolver {
    /// Loads the global layers and checks that they form a valid process configuration and a
    /// valid guild configuration (with no guild overrides). Reads files: inside an async
    /// context, call it from a blocking task.
    ///
    /// # Errors
    ///
    /// The first problem found, naming the key and the layer (file or variable) to fix.
    pub fn load(sources: &ConfigSources) -> Result<Self, ConfigError> {
        let base = load_base(sources)?;
        Ok(ConfigResolver {
            base: ArcSwap::from_pointee(base),
            guild_dir: sources.guild_dir.clone(),
            store: None,
            cache: ArcSwap::from_pointee(HashMap::new()),
            cache_ttl: Some(DEFAULT_CACHE_TTL),
            clock: Arc::new(SystemClock),
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

    /// The clock the cache TTL reads (default [`SystemClock`]).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Also reads guild overrides from a store (applied after override files).
    #[must_use]
    pub fn with_store(mut self, store: Arc<dyn GuildOverrideStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The process configuration.
    pub fn process(&self) -> Arc<ResolvedProcessConfig> {
        self.base.load().process.clone()
    }

    /// A guild's configuration from the cache, without touching files or the store.
    pub fn cached(&self, guild: GuildId) -> Option<Arc<ResolvedGuildConfig>> {
        self.cache.load().get(&guild).cloned()
    }

    fn is_fresh(&self, resolved: &ResolvedGuildConfig) -> bool {
        self.cache_ttl.is_none_or(|ttl| {
            let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
            self.clock.now_unix().saturating_sub(resolved.resolved_at) < ttl
        })
    }

    /// A guild's configuration: cached, or resolved from the layers and its overrides.
    ///
    /// A cached configuration older than the cache TTL is resolved again; if that fails (an
    /// override became invalid), the previous configuration stays in force and the error is
    /// logged.
    ///
    /// # Errors
    ///
    /// The guild's configuration does not resolve and there is no previous one.
    pub async fn guild(&self, guild: GuildId) -> Result<Arc<ResolvedGuildConfig>, ConfigError> {
        let stale = match self.cached(guild) {
            Some(hit) if self.is_fresh(&hit) => return Ok(hit),
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

    /// Re-resolves one guild now and puts the result in the cache (call after its store
    /// override changed).
    ///
    /// # Errors
    ///
    /// The new configuration does not resolve; the cached one (if any) stays in force.
    pub async fn refresh_guild(&self, guild: GuildId) -> Result<(), ConfigError> {
        let resolved = Arc::new(self.resolve_uncached(guild).await?);
        self.put_cached(guild, resolved);
        Ok(())
    }

    /// Copy-on-write: the cache map is cloned per insert (cheap next to a resolution, which
    /// clones the guild's whole layered document anyway).
    fn put_cached(&self, guild: GuildId, resolved: Arc<ResolvedGuildConfig>) {
        self.cache.rcu(|cache| {
            let mut cache = Cache::clone(cache);
            cache.insert(guild, resolved.clone());
            cache
        });
    }

    /// Resolves a guild's configuration without the cache. The store is read on the caller's
    /// task; the guild file is read and the layers merged on the blocking pool.
    ///
    /// # Errors
    ///
    /// The store cannot be read, the guild file is unreadable or invalid, or the merged
    /// configuration breaks a rule; the error names the guild, key and layer.
    pub async fn resolve_uncached(
        &self,
        guild: GuildId,
    ) -> Result<ResolvedGuildConfig, ConfigError> {
        let stored = match &self.store {
            Some(store) => store.guild_override(guild).await.map_err(|e| ConfigError {
                guild: Some(guild),
                key: String::new(),
                message: format!("could not be read: {e}"),
                layer: Some(Layer::GuildStore),
            })?,
            None => None,
        };
        let base = self.base.load_full();
        let guild_dir = self.guild_dir.clone();
        let resolved_at = self.clock.now_unix();
        off_the_workers(move || {
            resolve_guild(&base, guild_dir.as_deref(), guild, stored, resolved_at)
        })
        .await
    }

    /// Checks a guild override document as if it were applied to the global layers, with
    /// the same rules as [`ConfigResolver::guild`].
    ///
    /// # Errors
    ///
    /// The first problem found, naming the key and `layer`.
    pub fn check_override(
        &self,
        overlay: Map<String, Value>,
        layer: &Layer,
    ) -> Result<GuildConfig, ConfigError> {
        let base = self.base.load();
        reject_placeholders(&overlay, layer)?;
        let mut layered = base.guild.clone();
        layered.merge(overlay, layer);
        let config: GuildConfig = deserialize(&mut layered, None)?;
        validate_guild(&config, &layered, &base.process.config.kaltura, None)?;
        Ok(config)
    }

    /// The guilds that have settings of their own: a guild file (`{guild_dir}/{id}.json`) or
    /// an override in the store. These are the guilds whose `notifications.routes` the
    /// notification router considers (a guild with neither can only have routes from the
    /// global `guild_defaults`, which name no guild, and from `/kaltura-admin notify
    /// subscribe`, which are stored subscriptions). Sorted, without duplicates.
    ///
    /// # Errors
    ///
    /// The store cannot list its overrides. An unreadable guild directory lists no files
    /// (logged).
    pub async fn configured_guilds(&self) -> Result<Vec<GuildId>, ConfigError> {
        let mut guilds = match &self.store {
            Some(store) => store.override_guilds().await.map_err(|e| ConfigError {
                guild: None,
                key: String::new(),
                message: format!("could not be listed: {e}"),
                layer: Some(Layer::GuildStore),
            })?,
            None => Vec::new(),
        };
        if let Some(dir) = self.guild_dir.clone() {
            let files = off_the_workers(move || Ok(guild_files(&dir))).await?;
            guilds.extend(files);
        }
        guilds.sort();
        guilds.dedup();
        Ok(guilds)
    }

    /// Drops a guild's cached configuration (call after its overrides change).
    pub fn invalidate(&self, guild: GuildId) {
        self.cache.rcu(|cache| {
            let mut cache = Cache::clone(cache);
            cache.remove(&guild);
            cache
        });
    }

    /// Drops every cached guild configuration.
    pub fn invalidate_all(&self) {
        self.cache.store(Arc::new(HashMap::new()));
    }

    /// Re-reads the global layers. On error the previous configuration stays in force and
    /// the error is returned; on success every cached guild configuration is dropped. Reads
    /// files: inside an async context call it from a blocking task (the watcher does).
    ///
    /// # Errors
    ///
    /// As [`ConfigResolver::load`].
    pub fn reload(&self, sources: &ConfigSources) -> Result<(), ConfigError> {
        let base = load_base(sources)?;
        self.base.store(Arc::new(base));
        self.invalidate_all();
        Ok(())
    }
}

fn with_guild(mut e: ConfigError, guild: GuildId) -> ConfigError {
    e.guild = Some(guild);
    e
}

fn resolve_guild(
    base: &Base,
    guild_dir: Option<&std::path::Path>,
    guild: GuildId,
    stored: Option<Map<String, Value>>,
    resolved_at: i64,
) -> Result<ResolvedGuildConfig, ConfigError> {
    let mut layered = base.guild.clone();
    if let Some(dir) = guild_dir {
        // GuildId is a validated number, so this path cannot leave the directory by name;
        // read_guild_file refuses a symlink that leads out of it.
        let path = dir.join(format!("{guild}.json"));
        if std::fs::symlink_metadata(&path).is_ok() {
            let doc = read_guild_file(&path).map_err(|e| with_guild(e, guild))?;
            layered.merge(doc, &Layer::GuildFile(path));
        }
    }
    if let Some(m) = stored {
        reject_placeholders(&m, &Layer::GuildStore).map_err(|e| with_guild(e, guild))?;
        layered.merge(m, &Layer::GuildStore);
    }
    let config: GuildConfig = deserialize(&mut layered, Some(guild))?;
    validate_guild(&config, &layered, &base.process.config.kaltura, Some(guild))?;
    Ok(ResolvedGuildConfig {
        guild,
        config,
        layered,
        resolved_at,
    })
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
        let mut doc = read_json_object(path, &layer)?;
        // Guild settings never hold placeholders, not even the operator's guild defaults:
        // they are what templates and messages are made of.
        if let Some(Value::Object(g)) = doc.get("guild_defaults") {
            reject_placeholders(g, &layer).map_err(|mut e| {
                e.key = if e.key.is_empty() {
                    "guild_defaults".into()
                } else {
                    format!("guild_defaults.{}", e.key)
                };
                e
            })?;
        }
        let mut value = Value::Object(std::mem::take(&mut doc));
        expand_placeholders(&mut value, &layer, &lookup)?;
        if let Value::Object(m) = value {
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
    validate_process(&process_config, &process)?;
    let guild_config: GuildConfig = deserialize(&mut guild, None)?;
    validate_guild(&guild_config, &guild, &process_config.kaltura, None)?;
    Ok(Base {
        guild,
        process: Arc::new(ResolvedProcessConfig {
            config: process_config,
            layered: process,
        }),
    })
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
                let segments = path_segments(e.path());
                if layered.env_value_as_string(&segments) {
                    continue;
                }
                let shown = e.path().to_string();
                let shown = if shown == "." { String::new() } else { shown };
                return Err(describe(
                    &e.inner().to_string(),
                    &shown,
                    &segments,
                    layered,
                    guild,
                ));
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

fn path_segments(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            _ => "?".to_owned(),
        })
        .collect()
}

/// What kind of value serde's "unexpected" text describes, without the value itself.
fn unexpected_kind(unexpected: &str) -> &'static str {
    const KINDS: [(&str, &str); 12] = [
        ("string", "a string"),
        ("integer", "an integer"),
        ("floating point", "a floating-point number"),
        ("boolean", "a boolean"),
        ("map", "an object"),
        ("sequence", "an array"),
        ("unit", "null"),
        ("null", "null"),
        ("char", "a character"),
        ("Option value", "a value"),
        ("newtype", "a value"),
        ("bytes", "bytes"),
    ];
    KINDS
        .iter()
        .find(|(prefix, _)| unexpected.starts_with(prefix))
        .map_or("a value of another type", |(_, kind)| kind)
}

/// Turns a serde message into one that reads after the key and never repeats the offending
/// value (it may be a secret expanded from a placeholder), and finds the layer to blame.
fn describe(
    serde_message: &str,
    shown_path: &str,
    segments: &[String],
    layered: &Layered,
    guild: Option<GuildId>,
) -> ConfigError {
    let mut key = shown_path.to_owned();
    let message = if let Some(rest) = serde_message
        .strip_prefix("invalid type: ")
        .or_else(|| serde_message.strip_prefix("invalid value: "))
    {
        match rest.rsplit_once(", expected ") {
            Some((got, expected)) => format!(
                "must be {}, got {}",
                friendly_expected(expected),
                unexpected_kind(got)
            ),
            None => "has a value of the wrong type".to_owned(),
        }
    } else if let Some(rest) = serde_message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        // serde_path_to_error already ends the path with the unknown field.
        if shown_path.is_empty() {
            key = field.to_owned();
        } else if shown_path != field && !shown_path.ends_with(&format!(".{field}")) {
            key = format!("{shown_path}.{field}");
        }
        let expected = expected.trim_start_matches(", ");
        if expected.is_empty() {
            "is not a known setting".to_owned()
        } else {
            format!("is not a known setting ({expected})")
        }
    } else if let Some(rest) = serde_message.strip_prefix("unknown variant `") {
        let (_, expected) = rest.split_once('`').unwrap_or((rest, ""));
        format!(
            "must be {}",
            expected
                .trim_start_matches(", expected ")
                .trim_start_matches(", ")
        )
    } else {
        scrub(
            serde_message,
            Value::Object(layered.value().clone()),
            segments,
        )
    };
    ConfigError {
        guild,
        layer: layered.layer_at(segments).cloned(),
        key,
        message,
    }
}

/// A custom message (from an id type's parser, say) with the offending string taken out.
fn scrub(message: &str, root: Value, segments: &[String]) -> String {
    match value_at(&root, segments) {
        Some(Value::String(s)) if !s.is_empty() => {
            let quoted = format!("{s:?}");
            message
                .replace(&quoted, "(the value)")
                .replace(s.as_str(), "(the value)")
        }
        _ => message.to_owned(),
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

/// The smallest JWT HMAC secret accepted, in bytes.
const MIN_JWT_SECRET_BYTES: usize = 32;

fn validate_process(config: &ProcessConfig, layered: &Layered) -> Result<(), ConfigError> {
    let fail = |path: &[&str], message: String| {
        let path: KeyPath = path.iter().map(|s| (*s).to_owned()).collect();
        ConfigError {
            guild: None,
            key: dotted(&path),
            message,
            layer: layered.layer_at(&path).cloned(),
        }
    };
    check_schema_bounds(layered, schema::process_schema_cached(), None)?;
    if let Some(shards) = &config.discord.shards {
        if shards.first > shards.last {
            return Err(fail(
                &["discord", "shards", "first"],
                format!("must not be after `last` ({})", shards.last),
            ));
        }
        if shards.last >= shards.total {
            return Err(fail(
                &["discord", "shards", "last"],
                format!(
                    "must be below `total` ({}): shard ids run from 0 to total - 1",
                    shards.total
                ),
            ));
        }
    }
    if let Some(public) = &config.http.gateway_public_url {
        let ok = url::Url::parse(public).ok().is_some_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.path() == "/"
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
                && u.password().is_none()
        });
        if !ok {
            return Err(fail(
                &["http", "gateway_public_url"],
                "must be the gateway's address like https://kd.example.org, without path, query or credentials".into(),
            ));
        }
    }
    let mut kids = HashSet::new();
    for (i, key) in config.jwt.keys.iter().enumerate() {
        let index = i.to_string();
        if key.kid.trim().is_empty() {
            return Err(fail(
                &["jwt", "keys", &index, "kid"],
                "must not be empty (it names the key in the token header)".into(),
            ));
        }
        use secrecy::ExposeSecret as _;
        if key.secret.expose_secret().len() < MIN_JWT_SECRET_BYTES {
            return Err(fail(
                &["jwt", "keys", &index, "secret"],
                format!("must be at least {MIN_JWT_SECRET_BYTES} bytes long"),
            ));
        }
        if !kids.insert(key.kid.as_str()) {
            return Err(fail(
                &["jwt", "keys", &index, "kid"],
                "repeats the key id of an earlier key; every key needs its own `kid`".into(),
            ));
        }
    }
    Ok(())
}

/// Checks the merged document against the schema's numeric ranges and length limits.
fn check_schema_bounds(
    layered: &Layered,
    schema: &Value,
    guild: Option<GuildId>,
) -> Result<(), ConfigError> {
    let root = Value::Object(layered.value().clone());
    schema::check_bounds(&root, schema).map_err(|(path, message)| ConfigError {
        guild,
        key: dotted(&path),
        message,
        layer: layered.layer_at(&path).cloned(),
    })
}

/// The host of a URL a guild layer set, if it is an `https` URL without user info.
fn guild_url_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.scheme() != "https" || !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    parsed.host_str().map(str::to_ascii_lowercase)
}

/// Connection settings (where KSes and join links go) come from the operator's layers, or
/// from a guild layer only when the operator allowed that host or partner.
fn validate_connection(
    config: &GuildConfig,
    layered: &Layered,
    operator: &KalturaCredentialsConfig,
    guild: Option<GuildId>,
) -> Result<(), ConfigError> {
    let guild_layer = |key: &str| {
        layered
            .layer_at(&["kaltura".to_owned(), key.to_owned()])
            .filter(|l| !l.is_operator())
            .cloned()
    };
    let refuse = |key: &str, layer: Layer, message: String| ConfigError {
        guild,
        key: format!("kaltura.{key}"),
        message,
        layer: Some(layer),
    };
    for (key, url) in [
        ("service_url", config.kaltura.service_url.as_deref()),
        ("kaf_url", config.kaltura.kaf_url.as_deref()),
    ] {
        let (Some(url), Some(layer)) = (url, guild_layer(key)) else {
            continue;
        };
        match guild_url_host(url) {
            None => {
                return Err(refuse(
                    key,
                    layer,
                    "must be an https URL with a host and no user info".into(),
                ));
            }
            Some(host)
                if !operator
                    .allowed_guild_hosts
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&host)) =>
            {
                return Err(refuse(
                    key,
                    layer,
                    "may not be set by guild settings to this host: connection settings come from the operator's configuration, or from guild settings only for hosts listed in `kaltura.allowed_guild_hosts`".into(),
                ));
            }
            Some(_) => {}
        }
    }
    if let (Some(partner), Some(layer)) = (config.kaltura.partner_id, guild_layer("partner_id"))
        && !operator.allowed_guild_partner_ids.contains(&partner)
    {
        return Err(refuse(
            "partner_id",
            layer,
            "may not be set by guild settings to a partner outside `kaltura.allowed_guild_partner_ids` in the operator's configuration".into(),
        ));
    }
    Ok(())
}

/// The longest notification template, in characters (a Discord message).
const MAX_TEMPLATE_CHARS: usize = 2000;

/// The guild ids of the `{id}.json` files in `dir` (other names are ignored).
fn guild_files(dir: &Path) -> Vec<GuildId> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name();
                let stem = name.to_str()?.strip_suffix(".json")?;
                stem.parse::<GuildId>().ok()
            })
            .collect(),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "the guild configuration directory cannot be listed");
            Vec::new()
        }
    }
}

fn validate_guild(
    config: &GuildConfig,
    layered: &Layered,
    operator: &KalturaCredentialsConfig,
    guild: Option<GuildId>,
) -> Result<(), ConfigError> {
    let fail = |key: &str, message: String| ConfigError {
        guild,
        key: key.to_owned(),
        message,
        layer: layered.layer_of(key).cloned(),
    };
    check_schema_bounds(layered, schema::guild_schema_cached(), guild)?;
    validate_connection(config, layered, operator, guild)?;
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
            "must be a language tag such as \"en-US\"".into(),
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
            "must be at most 32 characters of A-Z a-z 0-9 _ . @ -".into(),
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
    for (i, route) in config.notifications.routes.iter().enumerate() {
        if let Some(source) = route
            .template
            .as_ref()
            .and_then(|t| config.notifications.templates.get(t))
            && let Err(e) = Renderer::validate(Some(route.event), source)
        {
            return Err(fail(
                &format!("notifications.routes.{i}.template"),
                format!(
                    "names a template that cannot be used for {}: {e}",
                    route.event
                ),
            ));
        }
        if route.mention_roles.len() > crate::notify::render::MAX_MENTION_ROLES {
            return Err(fail(
                &format!("notifications.routes.{i}.mention_roles"),
                format!(
                    "may list at most {} roles",
                    crate::notify::render::MAX_MENTION_ROLES
                ),
            ));
        }
    }
    for (name, template) in &config.notifications.templates {
        let chars = template.chars().count();
        if chars > MAX_TEMPLATE_CHARS {
            return Err(ConfigError {
                guild,
                key: format!("notifications.templates.{name}"),
                message: format!(
                    "must be at most {MAX_TEMPLATE_CHARS} characters (a Discord message), got {chars}"
                ),
                layer: layered
                    .layer_at(&[
                        "notifications".to_owned(),
                        "templates".to_owned(),
                        name.clone(),
                    ])
                    .cloned(),
            });
        }
        if let Err(e) = Renderer::validate(None, template) {
            return Err(ConfigError {
                guild,
                key: format!("notifications.templates.{name}"),
                message: format!("is not a valid template: {e}"),
                layer: layered
                    .layer_at(&[
                        "notifications".to_owned(),
                        "templates".to_owned(),
                        name.clone(),
                    ])
                    .cloned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::MeetingType;
    use crate::notify::EventKind;
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
                "guild 123: `meetings.default_duration_minutes` must be a number (u32), got a string ({})",
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
        assert!(
            err.to_string()
                == "`meetings.default_type` must be one of `webinar`, `meeting_room`, `virtual_classroom` (g.json)",
            "{err}"
        );
        let err = r
            .check_override(
                obj(json!({"meetings": {"default_duration_minutes": 100000}})),
                &layer,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`meetings.default_duration_minutes` must be between 5 and 1440 (g.json)"
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
        assert_eq!(ok.notifications.routes[0].event, EventKind::EntryReady);
        assert!(r.check_override(Map::new(), &layer).is_ok());
        // Templates: unknown variables are named, per template and per route kind.
        let err = r
            .check_override(
                obj(json!({"notifications": {"templates": {"t": "{{ entry.nmae }}"}}})),
                &layer,
            )
            .unwrap_err();
        assert_eq!(err.key, "notifications.templates.t");
        assert!(err.to_string().contains("entry.nmae"), "{err}");
        let err = r
            .check_override(
                obj(json!({"notifications": {
                    "templates": {"t": "{{ meeting.title }}"},
                    "routes": [{"event": "entry_ready", "channel": "42", "template": "t"}]
                }})),
                &layer,
            )
            .unwrap_err();
        assert_eq!(err.key, "notifications.routes.0.template");
        assert!(err.to_string().contains("meeting.title"), "{err}");
        let err = r
            .check_override(
                obj(json!({"notifications": {"templates": {"t": "{% if %}"}}})),
                &layer,
            )
            .unwrap_err();
        assert!(err.to_string().contains("syntax"), "{err}");
        let ok = r
            .check_override(
                obj(json!({"notifications": {
                    "templates": {"t": "{{ entry.name }}"},
                    "routes": [{"event": "entry_ready", "channel": "42", "template": "t",
                                "filters": {"tags": ["rust"]}, "mention_roles": ["7"]}]
                }})),
                &layer,
            )
            .unwrap();
        assert_eq!(
            ok.notifications.routes[0].filters.tags,
            vec!["rust".to_owned()]
        );
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
        assert_eq!(
            r.process().config().kaltura.partner_id,
            Some(kaltura_client::PartnerId::new(12345))
        );
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
            "`jwt.ttl_seconds` must be a number (u32), got a string (environment variable KD__JWT__TTL_SECONDS)"
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

    fn sources_with(d: &Dir, global: &str, env: &[(&str, &str)]) -> ConfigSources {
        let file = d.write("kd.json", global);
        ConfigSources {
            global_file: Some(file),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            guild_dir: Some(d.guilds()),
            ..ConfigSources::defaults_only()
        }
    }

    #[tokio::test]
    async fn guild_layers_cannot_redirect_connection_settings() {
        let d = Dir::new();
        d.write(
            "guilds/1.json",
            r#"{"kaltura": {"kaf_url": "https://evil.example.com"}}"#,
        );
        d.write(
            "guilds/2.json",
            r#"{"kaltura": {"service_url": "https://Media.Example.org/api"}}"#,
        );
        d.write("guilds/3.json", r#"{"kaltura": {"partner_id": 999}}"#);
        d.write(
            "guilds/4.json",
            r#"{"kaltura": {"kaf_url": "https://user:pw@media.example.org"}}"#,
        );
        let r = ConfigResolver::load(&sources_with(&d, "{}", &[])).unwrap();
        let err = r.guild(guild(1)).await.unwrap_err();
        assert_eq!(err.guild, Some(guild(1)));
        assert_eq!(err.key, "kaltura.kaf_url");
        assert_eq!(err.layer, Some(Layer::GuildFile(d.guilds().join("1.json"))));
        assert!(err.message.contains("kaltura.allowed_guild_hosts"), "{err}");
        assert!(r.guild(guild(2)).await.is_err());
        let err = r.guild(guild(3)).await.unwrap_err();
        assert_eq!(err.key, "kaltura.partner_id");
        // A store override is a guild layer too.
        let store = Arc::new(MemStore::default());
        store.0.lock().unwrap().insert(
            guild(5),
            obj(json!({"kaltura": {"service_url": "https://evil.example.com"}})),
        );
        let r = r.with_store(store);
        let err = r.guild(guild(5)).await.unwrap_err();
        assert_eq!(err.layer, Some(Layer::GuildStore));

        // The operator allows one host and one partner: those guild settings now resolve.
        let allowed = sources_with(
            &d,
            r#"{"kaltura": {"allowed_guild_hosts": ["media.example.org"], "allowed_guild_partner_ids": [999]}}"#,
            &[],
        );
        let r = ConfigResolver::load(&allowed).unwrap();
        assert!(
            r.guild(guild(1)).await.is_err(),
            "evil.example.com stays refused"
        );
        assert_eq!(
            r.guild(guild(2))
                .await
                .unwrap()
                .config()
                .kaltura
                .service_url
                .as_deref(),
            Some("https://Media.Example.org/api")
        );
        assert_eq!(
            r.guild(guild(3)).await.unwrap().config().kaltura.partner_id,
            Some(kaltura_client::PartnerId::new(999))
        );
        let err = r.guild(guild(4)).await.unwrap_err();
        assert!(err.message.contains("no user info"), "{err}");

        // Operator layers (guild defaults in the global file, the environment) may set any host.
        let operator = sources_with(
            &d,
            r#"{"guild_defaults": {"kaltura": {"kaf_url": "https://kaf.internal.example"}}}"#,
            &[("KD__GUILD_DEFAULTS__KALTURA__PARTNER_ID", "4242")],
        );
        let r = ConfigResolver::load(&operator).unwrap();
        let c = r.guild(guild(9)).await.unwrap();
        assert_eq!(
            c.config().kaltura.kaf_url.as_deref(),
            Some("https://kaf.internal.example")
        );
        assert_eq!(
            c.config().kaltura.partner_id,
            Some(kaltura_client::PartnerId::new(4242))
        );
    }

    #[tokio::test]
    async fn cache_ttl_reads_the_injected_clock() {
        let clock = kaltura_client::clock::ManualClock::new(1_000);
        let store = Arc::new(MemStore::default());
        let r = ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap()
            .with_store(store.clone())
            .with_clock(Arc::new(clock.clone()))
            .with_cache_ttl(Some(std::time::Duration::from_secs(30)));
        let first = r.guild(guild(4)).await.unwrap();
        store
            .0
            .lock()
            .unwrap()
            .insert(guild(4), obj(json!({"locale": "de-DE"})));
        clock.advance(29);
        assert!(Arc::ptr_eq(&first, &r.guild(guild(4)).await.unwrap()));
        clock.advance(1);
        assert_eq!(r.guild(guild(4)).await.unwrap().config().locale, "de-DE");
    }

    #[test]
    fn process_rules_ranges_and_jwt_keys_are_enforced() {
        let d = Dir::new();
        let load = |global: &str| ConfigResolver::load(&sources_with(&d, global, &[]));
        let err =
            load(r#"{"discord": {"shards": {"total": 4, "first": 2, "last": 4}}}"#).unwrap_err();
        assert_eq!(err.key, "discord.shards.last");
        let err =
            load(r#"{"discord": {"shards": {"total": 4, "first": 3, "last": 1}}}"#).unwrap_err();
        assert_eq!(err.key, "discord.shards.first");
        let err =
            load(r#"{"discord": {"shards": {"total": 0, "first": 0, "last": 0}}}"#).unwrap_err();
        assert_eq!(err.key, "discord.shards.total");
        let err = load(r#"{"discord": {"dev_guild_id": "../../etc"}}"#).unwrap_err();
        assert_eq!(err.key, "discord.dev_guild_id");
        for bad in [
            "kd.example.org",
            "https://kd.example.org/path",
            "https://user:pw@kd.example.org",
            "javascript:alert(1)",
            "https://kd.example.org/?q=1",
        ] {
            let err =
                load(&format!(r#"{{"http": {{"gateway_public_url": "{bad}"}}}}"#)).unwrap_err();
            assert_eq!(err.key, "http.gateway_public_url", "{bad}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        assert!(load(r#"{"http": {"gateway_public_url": "https://kd.example.org"}}"#).is_ok());
        let ok = load(r#"{"discord": {"shards": {"total": 4, "first": 2, "last": 3}, "dev_guild_id": "613425648685547541"}}"#)
            .unwrap();
        let process = ok.process();
        let discord = &process.config().discord;
        assert_eq!(
            discord.shards.map(|s| (s.first, s.last, s.total)),
            Some((2, 3, 4))
        );
        assert_eq!(
            discord.dev_guild_id.map(|g| g.get()),
            Some(613425648685547541)
        );
        let err = load(r#"{"jwt": {"ttl_seconds": 4294967295}}"#).unwrap_err();
        assert_eq!(err.key, "jwt.ttl_seconds");
        assert_eq!(err.message, "must be between 30 and 86400");
        let long = "k".repeat(32);
        let err = load(&format!(
            r#"{{"jwt": {{"keys": [{{"kid": "", "secret": "{long}"}}]}}}}"#
        ))
        .unwrap_err();
        assert_eq!(err.key, "jwt.keys.0.kid");
        let err = load(r#"{"jwt": {"keys": [{"kid": "a", "secret": "x"}]}}"#).unwrap_err();
        assert_eq!(err.key, "jwt.keys.0.secret");
        assert_eq!(err.message, "must be at least 32 bytes long");
        let err = load(&format!(
            r#"{{"jwt": {{"keys": [{{"kid": "a", "secret": "{long}"}}, {{"kid": "a", "secret": "{long}"}}]}}}}"#
        ))
        .unwrap_err();
        assert_eq!(err.key, "jwt.keys.1.kid");
        assert!(load(&format!(
            r#"{{"jwt": {{"keys": [{{"kid": "a", "secret": "{long}"}}, {{"kid": "b", "secret": "{long}"}}]}}}}"#
        ))
        .is_ok());
    }

    #[test]
    fn type_errors_never_echo_the_value() {
        let d = Dir::new();
        let sources = sources_with(
            &d,
            r#"{"kaltura": {"partner_id": "${SECRET}"}}"#,
            &[("SECRET", "canary-9f3e1d")],
        );
        let err = ConfigResolver::load(&sources).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("canary-9f3e1d"), "{shown}");
        assert_eq!(err.key, "kaltura.partner_id");
        let sources = sources_with(
            &d,
            r#"{"http": {"gateway_listen": "${SECRET}"}}"#,
            &[("SECRET", "canary-9f3e1d")],
        );
        let err = ConfigResolver::load(&sources).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("canary-9f3e1d"), "{err}");
        assert_eq!(err.key, "http.gateway_listen");
    }

    #[tokio::test]
    async fn placeholders_are_refused_in_guild_settings() {
        let d = Dir::new();
        d.write(
            "guilds/1.json",
            r#"{"notifications": {"templates": {"t": "hello ${KALTURA_ADMIN_SECRET}"}}}"#,
        );
        let r = ConfigResolver::load(&sources_with(
            &d,
            "{}",
            &[("KALTURA_ADMIN_SECRET", "canary-t3mpl4te")],
        ))
        .unwrap();
        let err = r.guild(guild(1)).await.unwrap_err();
        assert_eq!(err.key, "notifications.templates.t");
        assert!(!format!("{err:?}").contains("canary"));
        let err = r
            .check_override(
                obj(json!({"locale": "${KALTURA_ADMIN_SECRET}"})),
                &Layer::GuildStore,
            )
            .unwrap_err();
        assert_eq!(err.key, "locale");
        // The operator's guild defaults are guild settings too.
        let err = ConfigResolver::load(&sources_with(
            &d,
            r#"{"guild_defaults": {"notifications": {"templates": {"t": "${KALTURA_ADMIN_SECRET}"}}}}"#,
            &[("KALTURA_ADMIN_SECRET", "canary-t3mpl4te")],
        ))
        .unwrap_err();
        assert_eq!(err.key, "guild_defaults.notifications.templates.t");
    }

    #[tokio::test]
    async fn explain_attributes_filled_defaults_and_shows_dotted_keys() {
        let d = Dir::new();
        d.write(
            "guilds/1.json",
            r#"{"rbac": {"roles": {"42": "moderator"}, "users": {"43": {"permissions": []}}}, "notifications": {"templates": {"a.b": "hi"}}}"#,
        );
        let r = ConfigResolver::load(&sources_with(&d, "{}", &[])).unwrap();
        let c = r.guild(guild(1)).await.unwrap();
        let file = Layer::GuildFile(d.guilds().join("1.json"));
        let roles = c.explain("rbac.roles");
        assert_eq!(roles.len(), 1, "{roles:?}");
        assert_eq!(roles[0].key, "rbac.roles.42");
        assert_eq!(roles[0].layer, file);
        let t = c.explain("notifications.templates");
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].key, "notifications.templates.a.b");
        assert_eq!(t[0].value, json!("hi"));
        // Left out of the typed form (an empty set is not serialized): the merged value.
        let p = c.explain("rbac.users.43.permissions");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].value, json!([]));
    }

    #[test]
    fn process_explain_and_debug_redact_by_type() {
        let d = Dir::new();
        let long = "canary-jwt-000000000000000000000000000";
        let sources = sources_with(
            &d,
            &format!(
                r#"{{"jwt": {{"keys": [{{"kid": "k1", "secret": "{long}"}}]}},
                    "database": {{"url": "postgres://kd:canary-db@db/kd?password=canary-q"}},
                    "discord": {{"token": "${{TOKEN}}"}}}}"#
            ),
            &[
                ("TOKEN", "canary-tok"),
                ("KD__KALTURA__ADMIN_SECRET", "canary-adm"),
            ],
        );
        let r = ConfigResolver::load(&sources).unwrap();
        let p = r.process();
        let rows = p.explain("");
        let jwt = p.explain("jwt");
        assert!(jwt.iter().any(|e| e.key == "jwt.keys"), "{jwt:?}");
        for shown in [
            format!("{rows:?}"),
            format!("{p:?}"),
            format!("{r:?}"),
            format!("{sources:?}"),
        ] {
            assert!(!shown.contains("canary"), "{shown}");
        }
        let db = p.explain("database.url");
        assert_eq!(
            db[0].value,
            json!("postgres://**redacted**@db/kd?password=**redacted**")
        );
        assert_eq!(
            p.config().database.url.expose_secret(),
            "postgres://kd:canary-db@db/kd?password=canary-q"
        );
    }

    struct FailingStore;

    #[async_trait::async_trait]
    impl GuildOverrideStore for FailingStore {
        async fn get_override(
            &self,
            _guild: GuildId,
        ) -> Result<Option<crate::store::StoredOverride>, crate::Error> {
            Err(crate::Error::Config(ConfigError {
                guild: None,
                key: String::new(),
                message: "store down".into(),
                layer: None,
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

    #[tokio::test]
    async fn a_failing_store_is_a_guild_error_naming_the_store() {
        let r = ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap()
            .with_store(Arc::new(FailingStore));
        let err = r.guild(guild(8)).await.unwrap_err();
        assert_eq!(err.guild, Some(guild(8)));
        assert_eq!(err.layer, Some(Layer::GuildStore));
        assert!(err.message.contains("store down"), "{err}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn resolution_runs_on_the_blocking_pool() {
        // Inside a current-thread runtime the resolution still completes (it is handed to
        // the blocking pool, not run on the single worker).
        let r = ConfigResolver::load(&ConfigSources::defaults_only()).unwrap();
        assert_eq!(r.guild(guild(3)).await.unwrap().config().locale, "en-US");
        // And without any runtime, inline.
        let r = Arc::new(r);
        let r2 = r.clone();
        let locale = std::thread::spawn(move || {
            futures_lite_block_on(r2.resolve_uncached(guild(3))).map(|c| c.config().locale.clone())
        })
        .join()
        .unwrap()
        .unwrap();
        assert_eq!(locale, "en-US");
    }

    /// Polls a future to completion without a runtime (the resolver needs none).
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::yield_now();
        }
    }
}
