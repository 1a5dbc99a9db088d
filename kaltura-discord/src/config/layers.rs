//! Layered JSON values with provenance.
//!
//! Configuration is merged as JSON values, lowest layer first: objects merge key by key,
//! arrays and scalars are replaced whole (Figment's "merge" semantics). While merging, every
//! leaf path records the [`Layer`] that set it, so a resolved value can say where it came
//! from and an error can name the file or environment variable to fix.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ConfigError;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A JSON document being assembled from layers, with the layer of every leaf.
#[derive(Debug, Clone, Default)]
pub struct Layered {
    value: Map<String, Value>,
    provenance: BTreeMap<String, Layer>,
    /// Raw text of values that came from environment variables, by path: they were parsed as
    /// JSON when possible and may need to fall back to plain strings.
    env_raw: BTreeMap<String, String>,
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

    /// The layer that set each leaf path (dotted, e.g. `meetings.default_duration_minutes`).
    pub fn provenance(&self) -> &BTreeMap<String, Layer> {
        &self.provenance
    }

    /// Merges `overlay` on top, attributing its leaves to `layer`.
    pub fn merge(&mut self, overlay: Map<String, Value>, layer: &Layer) {
        merge_object(&mut self.value, overlay, layer, "", &mut self.provenance);
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
            self.env_raw.insert(path.join("."), raw.to_owned());
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
            let rest = &var[prefix.len()..];
            let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if segments.iter().any(String::is_empty) || segments.len() <= under.len() {
                continue;
            }
            if !segments.iter().zip(under).all(|(a, b)| a == b) {
                continue;
            }
            self.merge_env(&segments[under.len()..], &raw, &var);
        }
    }

    /// Replaces the value at `path` by the raw string of the environment variable that set it.
    /// Returns `false` if the path was not set from the environment or already is that string.
    pub(crate) fn env_value_as_string(&mut self, path: &str) -> bool {
        let Some(raw) = self.env_raw.get(path).cloned() else {
            return false;
        };
        let mut cursor = &mut self.value;
        let segments: Vec<&str> = path.split('.').collect();
        let Some((last, parents)) = segments.split_last() else {
            return false;
        };
        for segment in parents {
            match cursor.get_mut(*segment) {
                Some(Value::Object(m)) => cursor = m,
                _ => return false,
            }
        }
        match cursor.get(*last) {
            Some(Value::String(s)) if *s == raw => false,
            _ => {
                cursor.insert((*last).to_owned(), Value::String(raw));
                true
            }
        }
    }

    /// The layer that set `path`, or the closest layer above it: for an error at
    /// `meetings.default_type` set wholesale by an object at `meetings`, that object's layer.
    pub fn layer_of(&self, path: &str) -> Option<&Layer> {
        if let Some(l) = self.provenance.get(path) {
            return Some(l);
        }
        // A leaf below `path` (e.g. the error is about an object the layer partly set).
        let prefix = format!("{path}.");
        if let Some((_, l)) = self
            .provenance
            .range(prefix.clone()..)
            .find(|(k, _)| k.starts_with(&prefix))
        {
            return Some(l);
        }
        let mut p = path;
        while let Some(idx) = p.rfind('.') {
            p = &p[..idx];
            if let Some(l) = self.provenance.get(p) {
                return Some(l);
            }
        }
        None
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn merge_object(
    base: &mut Map<String, Value>,
    overlay: Map<String, Value>,
    layer: &Layer,
    path: &str,
    provenance: &mut BTreeMap<String, Layer>,
) {
    for (key, value) in overlay {
        let child = join(path, &key);
        match (base.get_mut(&key), value) {
            (Some(Value::Object(b)), Value::Object(o)) => {
                merge_object(b, o, layer, &child, provenance);
            }
            (_, value) => {
                forget_below(provenance, &child);
                record_leaves(&value, &child, layer, provenance);
                base.insert(key, value);
            }
        }
    }
}

fn forget_below(provenance: &mut BTreeMap<String, Layer>, path: &str) {
    let prefix = format!("{path}.");
    provenance.retain(|k, _| k != path && !k.starts_with(&prefix));
}

fn record_leaves(
    value: &Value,
    path: &str,
    layer: &Layer,
    provenance: &mut BTreeMap<String, Layer>,
) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                record_leaves(v, &join(path, k), layer, provenance);
            }
        }
        _ => {
            provenance.insert(path.to_owned(), layer.clone());
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
/// `NAME` (looked up through `lookup`), so files can refer to secrets without holding them.
///
/// A missing variable is an error naming the key and the file.
pub fn expand_placeholders(
    value: &mut Value,
    layer: &Layer,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    expand(value, "", layer, lookup)
}

fn expand(
    value: &mut Value,
    path: &str,
    layer: &Layer,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(s) if s.contains("${") => {
            *s = expand_str(s, lookup).map_err(|missing| ConfigError {
                guild: None,
                key: path.to_owned(),
                message: format!("refers to the environment variable {missing}, which is not set"),
                layer: Some(layer.clone()),
            })?;
        }
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                expand(v, &join(path, k), layer, lookup)?;
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                expand(v, &join(path, &i.to_string()), layer, lookup)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            out.push_str(&lookup(name).ok_or_else(|| name.to_owned())?);
        } else {
            out.push_str(&rest[start..start + 2 + end + 1]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads a configuration document from a file, as a layer: TOML when the file name ends in
/// `.toml`, JSON otherwise. Either way the result is a JSON object.
pub fn read_json_object(path: &Path, layer: &Layer) -> Result<Map<String, Value>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        guild: None,
        key: String::new(),
        message: format!("could not be read: {e}"),
        layer: Some(layer.clone()),
    })?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        parse_toml_object(&text, layer)
    } else {
        parse_json_object(&text, layer)
    }
}

/// Parses a TOML document into a JSON object, as a layer; syntax errors name the line.
pub fn parse_toml_object(text: &str, layer: &Layer) -> Result<Map<String, Value>, ConfigError> {
    toml::from_str::<Map<String, Value>>(text).map_err(|e| ConfigError {
        guild: None,
        key: String::new(),
        message: format!("is not valid TOML: {}", e.to_string().trim_end()),
        layer: Some(layer.clone()),
    })
}

/// Parses a JSON object, as a layer; syntax errors name the line and column.
pub fn parse_json_object(text: &str, layer: &Layer) -> Result<Map<String, Value>, ConfigError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ConfigError {
            guild: None,
            key: String::new(),
            message: format!("must be a JSON object, got {}", json_kind(&other)),
            layer: Some(layer.clone()),
        }),
        Err(e) => Err(ConfigError {
            guild: None,
            key: String::new(),
            message: format!("is not valid JSON: {e}"),
            layer: Some(layer.clone()),
        }),
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
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
        l.merge(obj(json!({"a": {"b": 1}})), &Layer::Defaults);
        l.merge(obj(json!({"a": 5})), &Layer::GuildStore);
        assert!(!l.provenance().contains_key("a.b"));
        assert_eq!(l.layer_of("a"), Some(&Layer::GuildStore));
        assert_eq!(l.layer_of("a.b"), Some(&Layer::GuildStore));
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
        assert_eq!(l.value()["discord"]["application_id"], json!(1234));
        assert!(l.env_value_as_string("discord.application_id"));
        assert_eq!(l.value()["discord"]["application_id"], json!("1234"));
        assert!(!l.env_value_as_string("discord.application_id"));
    }

    #[test]
    fn placeholders_expand_from_the_environment() {
        let lookup = |name: &str| (name == "SECRET").then(|| "s3cr3t".to_owned());
        let mut v = json!({"kaltura": {"admin_secret": "${SECRET}", "note": "a ${not valid} b", "x": "${}"}});
        expand_placeholders(&mut v, &Layer::Defaults, &lookup).unwrap();
        assert_eq!(v["kaltura"]["admin_secret"], "s3cr3t");
        assert_eq!(v["kaltura"]["note"], "a ${not valid} b");
        let mut v = json!({"kaltura": {"admin_secret": "${MISSING}"}});
        let err =
            expand_placeholders(&mut v, &Layer::GlobalFile("kd.json".into()), &lookup).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`kaltura.admin_secret` refers to the environment variable MISSING, which is not set (kd.json)"
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
            err.starts_with("kaltura-discord.toml is not valid TOML"),
            "{err}"
        );
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
}
