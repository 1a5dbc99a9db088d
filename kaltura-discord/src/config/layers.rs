//! Layered JSON values with provenance.
//!
//! Configuration is merged as JSON values, lowest layer first: objects merge key by key,
//! arrays and scalars are replaced whole (Figment's "merge" semantics). While merging, every
//! leaf path records the [`Layer`] that set it, so a resolved value can say where it came
//! from and an error can name the file or environment variable to fix.
//!
//! Paths are kept as segments, not dotted strings, so a key that itself contains a dot (a
//! template named `a.b`) stays one segment. Provenance is an ordered map of paths: a path's
//! descendants form one contiguous range after it, so replacing a subtree costs
//! `O(k log n)` for its `k` leaves and merging `n` keys costs `O(n log n)` in all.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ConfigError;

/// The largest configuration file read, in bytes (16 MiB): larger files, and anything that
/// is not a regular file (a FIFO, a device, a directory), are refused before they are read.
pub const MAX_CONFIG_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layer {
    /// The built-in defaults (`config/default.json`, compiled in).
    Defaults,
    /// The global configuration file.
    GlobalFile(PathBuf),
    /// An environment variable (`KD__SECTION__KEY`).
    Env(String),
    /// A guild override file (`config/guilds/{guild_id}.json`).
    GuildFile(PathBuf),
    /// A guild override saved in the store (changed through bot commands).
    GuildStore,
}

impl Layer {
    /// A short name of the layer kind (`defaults`, `file`, `env`, `guild file`, `guild store`).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Defaults => "defaults",
            Layer::GlobalFile(_) => "file",
            Layer::Env(_) => "env",
            Layer::GuildFile(_) => "guild file",
            Layer::GuildStore => "guild store",
        }
    }

    /// Whether the operator controls this layer (defaults, the global file, the process
    /// environment), as opposed to a guild layer a Discord-side admin controls.
    pub fn is_operator(&self) -> bool {
        matches!(self, Layer::Defaults | Layer::GlobalFile(_) | Layer::Env(_))
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Defaults => f.write_str("built-in defaults"),
            Layer::GlobalFile(p) => write!(f, "{}", p.display()),
            Layer::Env(var) => write!(f, "environment variable {var}"),
            Layer::GuildFile(p) => write!(f, "{}", p.display()),
            Layer::GuildStore => f.write_str("guild settings in the store"),
        }
    }
}

/// A key path as segments (`["meetings", "default_duration_minutes"]`).
pub(crate) type KeyPath = Vec<String>;

/// Joins path segments with dots, for messages.
pub(crate) fn dotted(path: &[String]) -> String {
    path.join(".")
}

/// A JSON document being assembled from layers, with the layer of every leaf.
///
/// Its `Debug` shows the leaf paths and their layers, never the values (which may hold
/// secrets expanded from the environment).
#[derive(Clone, Default)]
pub struct Layered {
    value: Map<String, Value>,
    provenance: BTreeMap<KeyPath, Arc<Layer>>,
    /// Raw text of values that came from environment variables, by path: they were parsed as
    /// JSON when possible and may need to fall back to plain strings.
    env_raw: BTreeMap<KeyPath, String>,
    /// Provenance entries inserted, removed or visited so far: the merge's unit of work.
    work: u64,
}

impl fmt::Debug for Layered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.provenance.iter().map(|(k, l)| (dotted(k), l.kind())))
            .finish()
    }
}

impl Layered {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// The merged value.
    pub fn value(&self) -> &Map<String, Value> {
        &self.value
    }

    /// Every leaf path (as segments) and the layer that set it, in path order.
    pub fn leaves(&self) -> impl Iterator<Item = (&[String], &Layer)> {
        self.provenance
            .iter()
            .map(|(k, l)| (k.as_slice(), l.as_ref()))
    }

    /// The number of leaves with a known layer.
    pub fn leaf_count(&self) -> usize {
        self.provenance.len()
    }

    /// Provenance entries inserted, removed or visited by the merges so far. It grows
    /// linearly with the number of merged keys (tests and benches check that).
    pub fn merge_work(&self) -> u64 {
        self.work
    }

    /// Merges `overlay` on top, attributing its leaves to `layer`.
    pub fn merge(&mut self, overlay: Map<String, Value>, layer: &Layer) {
        let layer = Arc::new(layer.clone());
        let mut path = Vec::new();
        let mut cx = MergeCx {
            provenance: &mut self.provenance,
            work: &mut self.work,
            layer: &layer,
        };
        merge_object(&mut self.value, overlay, &mut path, &mut cx);
    }

    /// Merges a value parsed from an environment variable at `path`.
    fn merge_env(&mut self, path: &[String], raw: &str, var: &str) {
        let parsed = parse_env_value(raw);
        let mut overlay = parsed;
        for segment in path.iter().rev() {
            let mut m = Map::new();
            m.insert(segment.clone(), overlay);
            overlay = Value::Object(m);
        }
        if let Value::Object(m) = overlay {
            self.merge(m, &Layer::Env(var.to_owned()));
            self.env_raw.insert(path.to_vec(), raw.to_owned());
        }
    }

    /// Merges every `{prefix}SECTION__KEY` environment variable of `vars` (for example
    /// `KD__MEETINGS__DEFAULT_DURATION_MINUTES=90`) below `under` (an empty slice for the root).
    ///
    /// Segments are lower-cased; values are parsed as JSON when they look like JSON (numbers,
    /// booleans, arrays, objects, `null`) and kept as strings otherwise. Variables whose path
    /// does not start with `under` are skipped.
    pub fn merge_env_vars<I>(&mut self, vars: I, prefix: &str, under: &[&str])
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .collect();
        vars.sort();
        for (var, raw) in vars {
            let Some(rest) = var.strip_prefix(prefix) else {
                continue;
            };
            let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if segments.iter().any(String::is_empty) {
                continue;
            }
            let Some((head, tail)) = segments.split_at_checked(under.len()) else {
                continue;
            };
            if tail.is_empty() || !head.iter().zip(under).all(|(a, b)| a == b) {
                continue;
            }
            self.merge_env(tail, &raw, &var);
        }
    }

    /// Replaces the value at `path` by the raw string of the environment variable that set it.
    /// Returns `false` if the path was not set from the environment or already is that string.
    pub(crate) fn env_value_as_string(&mut self, path: &[String]) -> bool {
        let Some(raw) = self.env_raw.get(path).cloned() else {
            return false;
        };
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut cursor = &mut self.value;
        for segment in parents {
            match cursor.get_mut(segment) {
                Some(Value::Object(m)) => cursor = m,
                _ => return false,
            }
        }
        match cursor.get(last) {
            Some(Value::String(s)) if *s == raw => false,
            _ => {
                cursor.insert(last.clone(), Value::String(raw));
                true
            }
        }
    }

    /// The layer that set the dotted `path`, or the closest layer above it (see
    /// [`Layered::layer_at`]). Keys that contain dots are found through `layer_at`.
    pub fn layer_of(&self, path: &str) -> Option<&Layer> {
        let segments: Vec<String> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('.').map(str::to_owned).collect()
        };
        self.layer_at(&segments)
    }

    /// The layer that set `path`, or the closest layer around it: for an error at
    /// `meetings.default_type` set wholesale by an object at `meetings`, that object's layer;
    /// for an error about an object a layer partly set, the layer of a leaf below it.
    pub fn layer_at(&self, path: &[String]) -> Option<&Layer> {
        if let Some(l) = self.provenance.get(path) {
            return Some(l);
        }
        if let Some((k, l)) = self
            .provenance
            .range::<[String], _>((Bound::Excluded(path), Bound::Unbounded))
            .next()
            && k.starts_with(path)
        {
            return Some(l);
        }
        let mut p = path;
        while let Some((_, parent)) = p.split_last() {
            if let Some(l) = self.provenance.get(parent) {
                return Some(l);
            }
            p = parent;
        }
        None
    }
}

struct MergeCx<'a> {
    provenance: &'a mut BTreeMap<KeyPath, Arc<Layer>>,
    work: &'a mut u64,
    layer: &'a Arc<Layer>,
}

fn merge_object(
    base: &mut Map<String, Value>,
    overlay: Map<String, Value>,
    path: &mut KeyPath,
    cx: &mut MergeCx<'_>,
) {
    for (key, value) in overlay {
        *cx.work += 1;
        path.push(key.clone());
        match (base.get_mut(&key), value) {
            (Some(Value::Object(b)), Value::Object(o)) => {
                if !o.is_empty() && cx.provenance.remove(path.as_slice()).is_some() {
                    // The object was an empty leaf (e.g. `"roles": {}` in the defaults); its
                    // entries now come from this layer.
                    *cx.work += 1;
                }
                merge_object(b, o, path, cx);
            }
            (_, value) => {
                forget_below(path, cx);
                record_leaves(&value, path, cx);
                base.insert(key, value);
            }
        }
        path.pop();
    }
}

/// Forgets the provenance of `path` and of every path below it.
fn forget_below(path: &[String], cx: &mut MergeCx<'_>) {
    let doomed: Vec<KeyPath> = cx
        .provenance
        .range::<[String], _>((Bound::Included(path), Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(path))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        *cx.work += 1;
        cx.provenance.remove(&k);
    }
}

fn record_leaves(value: &Value, path: &mut KeyPath, cx: &mut MergeCx<'_>) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                path.push(k.clone());
                record_leaves(v, path, cx);
                path.pop();
            }
        }
        _ => {
            *cx.work += 1;
            cx.provenance.insert(path.clone(), Arc::clone(cx.layer));
        }
    }
}

fn parse_env_value(raw: &str) -> Value {
    let trimmed = raw.trim();
    let looks_like_json = matches!(trimmed, "true" | "false" | "null")
        || trimmed.starts_with('[')
        || trimmed.starts_with('{')
        || trimmed.parse::<f64>().is_ok_and(f64::is_finite);
    if looks_like_json && let Ok(v) = serde_json::from_str(trimmed) {
        return v;
    }
    Value::String(raw.to_owned())
}

/// Replaces `${NAME}` placeholders in every string of `value` with the environment variable
/// `NAME` (looked up through `lookup`), so process configuration files can refer to secrets
/// without holding them. Guild layers may not use placeholders (see
/// [`reject_placeholders`]).
///
/// # Errors
///
/// A missing variable is an error naming the key, the variable and the file (never a value).
pub(crate) fn expand_placeholders(
    value: &mut Value,
    layer: &Layer,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let mut path = Vec::new();
    expand(value, &mut path, layer, lookup)
}

fn expand(
    value: &mut Value,
    path: &mut KeyPath,
    layer: &Layer,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(s) if s.contains("${") => {
            *s = expand_str(s, lookup).map_err(|missing| ConfigError {
                guild: None,
                key: dotted(path),
                message: format!("refers to the environment variable {missing}, which is not set"),
                layer: Some(layer.clone()),
            })?;
        }
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                path.push(k.clone());
                expand(v, path, layer, lookup)?;
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                expand(v, path, layer, lookup)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_var_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The first `${NAME}` placeholder of `s`, if any.
fn first_placeholder(s: &str) -> Option<&str> {
    let mut rest = s;
    while let Some((_, after)) = rest.split_once("${") {
        let (name, tail) = after.split_once('}')?;
        if is_var_name(name) {
            return Some(name);
        }
        rest = tail;
    }
    None
}

fn expand_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((before, after)) = rest.split_once("${") {
        out.push_str(before);
        let Some((name, tail)) = after.split_once('}') else {
            out.push_str("${");
            out.push_str(after);
            return Ok(out);
        };
        if is_var_name(name) {
            out.push_str(&lookup(name).ok_or_else(|| name.to_owned())?);
        } else {
            out.push_str("${");
            out.push_str(name);
            out.push('}');
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Refuses `${NAME}` placeholders in a guild layer: placeholders belong to the process
/// configuration only, so a guild file or a store override cannot pull an environment
/// variable (a secret) into a template that is posted to Discord.
///
/// # Errors
///
/// The first string holding a placeholder, named by key and layer.
pub(crate) fn reject_placeholders(
    value: &Map<String, Value>,
    layer: &Layer,
) -> Result<(), ConfigError> {
    fn walk(v: &Value, path: &mut KeyPath) -> Option<String> {
        match v {
            Value::String(s) => first_placeholder(s).map(|name| name.to_owned()),
            Value::Object(m) => m.iter().find_map(|(k, v)| {
                path.push(k.clone());
                let found = walk(v, path);
                if found.is_none() {
                    path.pop();
                }
                found
            }),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
                path.push(i.to_string());
                let found = walk(v, path);
                if found.is_none() {
                    path.pop();
                }
                found
            }),
            _ => None,
        }
    }
    let mut path = Vec::new();
    match walk(&Value::Object(value.clone()), &mut path) {
        Some(name) => Err(ConfigError {
            guild: None,
            key: dotted(&path),
            message: format!(
                "refers to the environment variable {name}; `${{…}}` placeholders are only allowed in the process configuration, not in guild settings"
            ),
            layer: Some(layer.clone()),
        }),
        None => Ok(()),
    }
}

fn file_error(layer: &Layer, message: String) -> ConfigError {
    ConfigError {
        guild: None,
        key: String::new(),
        message,
        layer: Some(layer.clone()),
    }
}

/// Reads a configuration file as text: regular files only (a FIFO would block, a device
/// such as `/dev/zero` never ends), at most [`MAX_CONFIG_FILE_BYTES`], UTF-8.
///
/// # Errors
///
/// A missing or unreadable file, anything that is not a regular file, a file over the size
/// limit, or text that is not UTF-8; the message says which.
pub(crate) fn read_config_text(path: &Path, layer: &Layer) -> Result<String, ConfigError> {
    let not_regular = || {
        file_error(layer, "is not a regular file (only regular files are read; FIFOs, devices and directories are refused)".into())
    };
    let too_large = || {
        file_error(
            layer,
            format!(
                "is larger than the {MAX_CONFIG_FILE_BYTES}-byte limit for configuration files"
            ),
        )
    };
    let unreadable = |e: std::io::Error| file_error(layer, format!("could not be read: {e}"));
    // Checked before opening: opening a FIFO for reading blocks until a writer appears.
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > MAX_CONFIG_FILE_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // The path may have been swapped between the check and the open.
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_CONFIG_FILE_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| file_error(layer, "is not UTF-8 text".into()))
}

/// Reads a configuration document from a file, as a layer: TOML when the file name ends in
/// `.toml`, JSON otherwise. Either way the result is a JSON object.
///
/// # Errors
///
/// See [`read_config_text`]; also a document that does not parse or is not an object.
pub(crate) fn read_json_object(
    path: &Path,
    layer: &Layer,
) -> Result<Map<String, Value>, ConfigError> {
    let text = read_config_text(path, layer)?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        parse_toml_object(&text, layer)
    } else {
        parse_json_object(&text, layer)
    }
}

/// Reads a guild override file (`{guild_id}.json`), the way the resolver does: a symlink
/// that leads outside the file's own folder is refused, then the file is read like any
/// configuration file and `${…}` placeholders are refused.
///
/// # Errors
///
/// As for any configuration file (a regular file within the size cap, a JSON object, no
/// `${…}` placeholders); also a symlink out of the folder.
pub fn read_guild_file(path: &Path) -> Result<Map<String, Value>, ConfigError> {
    let layer = Layer::GuildFile(path.to_path_buf());
    let unreadable = |e: std::io::Error| file_error(&layer, format!("could not be read: {e}"));
    let link = std::fs::symlink_metadata(path).map_err(unreadable)?;
    if link.file_type().is_symlink() {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir).map_err(unreadable)?;
        let target = std::fs::canonicalize(path).map_err(unreadable)?;
        if target.parent() != Some(dir.as_path()) {
            return Err(file_error(
                &layer,
                "is a symlink to a file outside the guild folder; guild files must live in the guild folder".into(),
            ));
        }
    }
    let doc = read_json_object(path, &layer)?;
    reject_placeholders(&doc, &layer)?;
    Ok(doc)
}

/// Parses a TOML document into a JSON object, as a layer; syntax errors name the line.
///
/// # Errors
///
/// Invalid TOML.
pub(crate) fn parse_toml_object(
    text: &str,
    layer: &Layer,
) -> Result<Map<String, Value>, ConfigError> {
    toml::from_str::<Map<String, Value>>(text).map_err(|e| {
        // The parser's message quotes the offending line, which may hold a secret: keep
        // only its position.
        let position = e
            .span()
            .map(|span| {
                let line = text
                    .get(..span.start)
                    .map_or(0, |before| before.bytes().filter(|b| *b == b'\n').count())
                    + 1;
                format!(" at line {line}")
            })
            .unwrap_or_default();
        file_error(
            layer,
            format!("is not valid TOML{position}: {}", e.message()),
        )
    })
}

/// Parses a JSON object, as a layer; syntax errors name the line and column.
///
/// # Errors
///
/// Invalid JSON or a document that is not an object.
pub(crate) fn parse_json_object(
    text: &str,
    layer: &Layer,
) -> Result<Map<String, Value>, ConfigError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(file_error(
            layer,
            format!("must be a JSON object, got {}", json_kind(&other)),
        )),
        Err(e) => Err(file_error(layer, format!("is not valid JSON: {e}"))),
    }
}

pub(crate) use kaltura_client::request::json_kind;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn objects_merge_recursively_arrays_and_scalars_are_replaced() {
        let mut l = Layered::new();
        l.merge(
            obj(json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"})),
            &Layer::Defaults,
        );
        l.merge(obj(json!({"a": {"c": [3]}, "d": "y"})), &Layer::GuildStore);
        assert_eq!(
            Value::Object(l.value().clone()),
            json!({"a": {"b": 1, "c": [3]}, "d": "y"})
        );
        assert_eq!(l.layer_of("a.b"), Some(&Layer::Defaults));
        assert_eq!(l.layer_of("a.c"), Some(&Layer::GuildStore));
        assert_eq!(l.layer_of("d"), Some(&Layer::GuildStore));
    }

    #[test]
    fn replacing_an_object_forgets_deeper_provenance() {
        let mut l = Layered::new();
        l.merge(
            obj(json!({"a": {"b": 1}, "ab": 1, "a0": 2})),
            &Layer::Defaults,
        );
        l.merge(obj(json!({"a": 5})), &Layer::GuildStore);
        assert!(l.leaves().all(|(k, _)| k != path(&["a", "b"]).as_slice()));
        assert_eq!(l.layer_of("a"), Some(&Layer::GuildStore));
        assert_eq!(l.layer_of("a.b"), Some(&Layer::GuildStore));
        // Siblings whose names start like the replaced key are untouched.
        assert_eq!(l.layer_of("ab"), Some(&Layer::Defaults));
        assert_eq!(l.layer_of("a0"), Some(&Layer::Defaults));
        assert_eq!(l.leaf_count(), 3);
    }

    #[test]
    fn an_empty_default_object_filled_by_a_later_layer_is_attributed_to_that_layer() {
        let mut l = Layered::new();
        l.merge(obj(json!({"rbac": {"roles": {}}})), &Layer::Defaults);
        l.merge(
            obj(json!({"rbac": {"roles": {"42": "admin"}}})),
            &Layer::GuildFile("g.json".into()),
        );
        let leaves: Vec<(String, Layer)> =
            l.leaves().map(|(k, l)| (dotted(k), l.clone())).collect();
        assert_eq!(
            leaves,
            vec![(
                "rbac.roles.42".to_owned(),
                Layer::GuildFile("g.json".into())
            )]
        );
    }

    #[test]
    fn keys_with_dots_stay_one_segment() {
        let mut l = Layered::new();
        l.merge(
            obj(json!({"t": {"a.b": "x", "a": {"b": "y"}}})),
            &Layer::Defaults,
        );
        l.merge(obj(json!({"t": {"a.b": "z"}})), &Layer::GuildStore);
        assert_eq!(l.layer_at(&path(&["t", "a.b"])), Some(&Layer::GuildStore));
        assert_eq!(l.layer_at(&path(&["t", "a", "b"])), Some(&Layer::Defaults));
    }

    #[test]
    fn debug_shows_paths_and_layers_never_values() {
        let mut l = Layered::new();
        l.merge_env_vars(
            [(
                "KD__KALTURA__ADMIN_SECRET".to_owned(),
                "canary-l4y3r3d".to_owned(),
            )],
            "KD__",
            &[],
        );
        let shown = format!("{l:?}");
        assert!(shown.contains("kaltura.admin_secret"), "{shown}");
        assert!(!shown.contains("canary-l4y3r3d"), "{shown}");
    }

    /// Work of merging a guild file with `n` user grants onto defaults that hold a few.
    fn merge_work(n: usize) -> u64 {
        let mut l = Layered::new();
        l.merge(
            obj(json!({"rbac": {"users": {"1": "admin"}, "roles": {}}, "locale": "en-US"})),
            &Layer::Defaults,
        );
        let users: Map<String, Value> = (0..n)
            .map(|i| {
                (
                    format!("{}", 100_000_000_000_000_000u64 + i as u64),
                    json!("moderator"),
                )
            })
            .collect();
        let mut overlay = Map::new();
        overlay.insert("rbac".into(), json!({"users": users}));
        l.merge(overlay, &Layer::GuildFile("g.json".into()));
        assert_eq!(l.leaf_count(), n + 3);
        // A second guild layer replaces the whole map: every old leaf is forgotten once.
        l.merge(obj(json!({"rbac": {"users": null}})), &Layer::GuildStore);
        assert_eq!(l.leaf_count(), 3);
        l.merge_work()
    }

    #[test]
    fn merge_work_grows_linearly_and_100k_keys_complete() {
        let w10k = merge_work(10_000);
        let w100k = merge_work(100_000);
        // Each key costs a constant number of provenance operations (the old merge scanned
        // the whole provenance map per key: 10× the keys cost 100× the work).
        assert!(w10k <= 4 * 10_000 + 100, "{w10k}");
        assert!(w100k <= 4 * 100_000 + 100, "{w100k}");
        assert!(w100k <= 11 * w10k, "{w10k} → {w100k}");
    }

    #[test]
    fn env_vars_nest_on_double_underscores() {
        let mut l = Layered::new();
        l.merge(
            obj(json!({"meetings": {"auto_record": false, "default_type": "webinar"}})),
            &Layer::Defaults,
        );
        l.merge_env_vars(
            [
                ("KD__MEETINGS__AUTO_RECORD".to_owned(), "true".to_owned()),
                (
                    "KD__MEETINGS__DEFAULT_TYPE".to_owned(),
                    "meeting_room".to_owned(),
                ),
                ("KD__LOCALE".to_owned(), "de-DE".to_owned()),
                ("KD____BAD".to_owned(), "1".to_owned()),
                ("OTHER".to_owned(), "1".to_owned()),
            ],
            "KD__",
            &[],
        );
        assert_eq!(
            Value::Object(l.value().clone()),
            json!({"meetings": {"auto_record": true, "default_type": "meeting_room"}, "locale": "de-DE"})
        );
        assert_eq!(
            l.layer_of("meetings.auto_record"),
            Some(&Layer::Env("KD__MEETINGS__AUTO_RECORD".into()))
        );
    }

    #[test]
    fn env_vars_below_a_section() {
        let mut l = Layered::new();
        l.merge_env_vars(
            [
                (
                    "KD__GUILD_DEFAULTS__MEETINGS__AUTO_RECORD".to_owned(),
                    "true".to_owned(),
                ),
                ("KD__DISCORD__TOKEN".to_owned(), "abc".to_owned()),
                ("KD__GUILD_DEFAULTS".to_owned(), "1".to_owned()),
            ],
            "KD__",
            &["guild_defaults"],
        );
        assert_eq!(
            Value::Object(l.value().clone()),
            json!({"meetings": {"auto_record": true}})
        );
    }

    #[test]
    fn numeric_looking_env_values_can_fall_back_to_strings() {
        let mut l = Layered::new();
        l.merge_env_vars(
            [("KD__DISCORD__APPLICATION_ID".to_owned(), "1234".to_owned())],
            "KD__",
            &[],
        );
        let p = path(&["discord", "application_id"]);
        assert_eq!(l.value()["discord"]["application_id"], json!(1234));
        assert!(l.env_value_as_string(&p));
        assert_eq!(l.value()["discord"]["application_id"], json!("1234"));
        assert!(!l.env_value_as_string(&p));
    }

    #[test]
    fn placeholders_expand_from_the_environment() {
        let lookup = |name: &str| (name == "SECRET").then(|| "s3cr3t".to_owned());
        let mut v = json!({"kaltura": {"admin_secret": "${SECRET}", "note": "a ${not valid} b", "x": "${}", "y": "${SECRET", "z": "x${SECRET}y${SECRET}"}});
        expand_placeholders(&mut v, &Layer::Defaults, &lookup).unwrap();
        assert_eq!(v["kaltura"]["admin_secret"], "s3cr3t");
        assert_eq!(v["kaltura"]["note"], "a ${not valid} b");
        assert_eq!(v["kaltura"]["x"], "${}");
        assert_eq!(v["kaltura"]["y"], "${SECRET");
        assert_eq!(v["kaltura"]["z"], "xs3cr3tys3cr3t");
        let mut v = json!({"kaltura": {"admin_secret": "${MISSING}"}});
        let err =
            expand_placeholders(&mut v, &Layer::GlobalFile("kd.json".into()), &lookup).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`kaltura.admin_secret` refers to the environment variable MISSING, which is not set (kd.json)"
        );
    }

    #[test]
    fn guild_layers_refuse_placeholders() {
        let layer = Layer::GuildFile("g.json".into());
        let doc =
            obj(json!({"notifications": {"templates": {"t": "hello ${KALTURA_ADMIN_SECRET}"}}}));
        let err = reject_placeholders(&doc, &layer).unwrap_err();
        assert_eq!(err.key, "notifications.templates.t");
        assert!(
            err.message
                .contains("only allowed in the process configuration"),
            "{err}"
        );
        let fine =
            obj(json!({"notifications": {"templates": {"t": "{entry.name} ${not a var} $"}}}));
        assert_eq!(reject_placeholders(&fine, &layer), Ok(()));
        let in_array = obj(json!({"a": [1, {"b": "${X}"}]}));
        assert_eq!(
            reject_placeholders(&in_array, &layer).unwrap_err().key,
            "a.1.b"
        );
    }

    #[test]
    fn toml_files_become_the_same_json() {
        let layer = Layer::GlobalFile("kaltura-discord.toml".into());
        let doc = parse_toml_object(
            "[kaltura]\npartner_id = 12345\nadmin_secret = \"${SECRET}\"\n\n[guild_defaults.meetings]\ndefault_duration_minutes = 90\n",
            &layer,
        )
        .unwrap();
        assert_eq!(
            Value::Object(doc),
            json!({"kaltura": {"partner_id": 12345, "admin_secret": "${SECRET}"}, "guild_defaults": {"meetings": {"default_duration_minutes": 90}}})
        );
        let err = parse_toml_object("[kaltura\n", &layer)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("kaltura-discord.toml is not valid TOML at line 1"),
            "{err}"
        );
        // The parser's quote of the offending line (which may hold a secret) is not kept.
        let err = parse_toml_object("[kaltura]\nadmin_secret = canary-t0ml\n", &layer)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("canary-t0ml"), "{err}");
    }

    #[test]
    fn non_object_and_malformed_files_are_errors() {
        let layer = Layer::GuildFile("config/guilds/1.json".into());
        assert!(
            parse_json_object("[]", &layer)
                .unwrap_err()
                .to_string()
                .contains("must be a JSON object, got an array")
        );
        let err = parse_json_object("{\"a\": ", &layer)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not valid JSON") && err.contains("config/guilds/1.json"),
            "{err}"
        );
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_without_reading() {
        let layer = Layer::GlobalFile("x".into());
        let err = read_config_text(Path::new("/dev/zero"), &layer).unwrap_err();
        assert!(err.message.contains("is not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = read_config_text(dir.path(), &layer).unwrap_err();
        assert!(err.message.contains("is not a regular file"), "{err}");
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(made.success());
        // Would block forever if the FIFO were opened.
        let err = read_json_object(&fifo, &layer).unwrap_err();
        assert!(err.message.contains("is not a regular file"), "{err}");
    }

    #[test]
    fn files_over_the_size_limit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_CONFIG_FILE_BYTES + 1).unwrap();
        let err = read_config_text(&big, &Layer::GlobalFile(big.clone())).unwrap_err();
        assert!(err.message.contains("byte limit"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn guild_file_symlinks_out_of_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let guilds = dir.path().join("guilds");
        std::fs::create_dir_all(&guilds).unwrap();
        let outside = dir.path().join("secret.json");
        std::fs::write(&outside, r#"{"locale": "de-DE"}"#).unwrap();
        let inside = guilds.join("real.json");
        std::fs::write(&inside, r#"{"locale": "fr-FR"}"#).unwrap();
        std::os::unix::fs::symlink(&outside, guilds.join("1.json")).unwrap();
        std::os::unix::fs::symlink(&inside, guilds.join("2.json")).unwrap();
        let err = read_guild_file(&guilds.join("1.json")).unwrap_err();
        assert!(err.message.contains("outside the guild folder"), "{err}");
        assert_eq!(
            read_guild_file(&guilds.join("2.json")).unwrap()["locale"],
            json!("fr-FR")
        );
    }

    mod merge_props {
        use super::*;
        use proptest::prelude::*;

        /// Small JSON trees with a bounded size: a few keys from a tiny alphabet, so layers
        /// collide, nest and replace each other.
        fn tree() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i32>().prop_map(|n| json!(n)),
                "[a-c.]{0,3}".prop_map(Value::String),
                Just(json!([])),
                Just(json!({})),
            ];
            leaf.prop_recursive(4, 64, 4, |inner| {
                prop::collection::btree_map("[a-c.]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect()))
            })
        }

        fn objects() -> impl Strategy<Value = Vec<Map<String, Value>>> {
            prop::collection::vec(
                prop::collection::btree_map("[a-c.]{1,2}", tree(), 0..4)
                    .prop_map(|m| m.into_iter().collect::<Map<String, Value>>()),
                1..5,
            )
        }

        /// The reference merge, written the obvious way.
        fn naive(base: &mut Value, overlay: &Value) {
            match (base, overlay) {
                (Value::Object(b), Value::Object(o)) => {
                    for (k, v) in o {
                        match b.get_mut(k) {
                            Some(slot @ Value::Object(_)) if v.is_object() => naive(slot, v),
                            _ => {
                                b.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                (b, o) => *b = o.clone(),
            }
        }

        /// Every leaf path of a value (empty objects are leaves).
        fn leaf_paths(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            match v {
                Value::Object(m) if !m.is_empty() => {
                    for (k, v) in m {
                        path.push(k.clone());
                        leaf_paths(v, path, out);
                        path.pop();
                    }
                }
                _ => out.push(path.clone()),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, max_shrink_iters: 2000, ..ProptestConfig::default() })]

            #[test]
            fn merge_matches_the_reference_and_provenance_is_exact(layers in objects()) {
                let mut l = Layered::new();
                let mut expected = Value::Object(Map::new());
                let mut keys = 0u64;
                for (i, overlay) in layers.iter().enumerate() {
                    naive(&mut expected, &Value::Object(overlay.clone()));
                    let layer = Layer::Env(format!("L{i}"));
                    keys += count_keys(&Value::Object(overlay.clone()));
                    l.merge(overlay.clone(), &layer);
                }
                prop_assert_eq!(&Value::Object(l.value().clone()), &expected);
                // Provenance holds exactly the leaves of the merged value (the root itself
                // is not a leaf), each set by some layer.
                let mut want = Vec::new();
                if let Value::Object(m) = &expected {
                    for (k, v) in m {
                        let mut p = vec![k.clone()];
                        leaf_paths(v, &mut p, &mut want);
                    }
                }
                let got: Vec<Vec<String>> = l.leaves().map(|(k, _)| k.to_vec()).collect();
                prop_assert_eq!(got, want);
                // Size budget: bounded work per merged key (each key is inserted, visited
                // and removed at most a few times).
                prop_assert!(l.merge_work() <= 4 * keys + 4, "work {} for {} keys", l.merge_work(), keys);
            }
        }

        fn count_keys(v: &Value) -> u64 {
            match v {
                Value::Object(m) => m.values().map(|v| 1 + count_keys(v)).sum(),
                _ => 0,
            }
        }
    }
}
