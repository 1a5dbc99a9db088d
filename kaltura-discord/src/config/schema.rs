//! JSON Schemas of the configuration files, generated from the Rust types.
//!
//! Both files are partial by nature (everything has a default), so the schemas have no
//! `required` keys; unknown keys are refused (`additionalProperties: false`). The committed
//! copies live in `config/schema/` and a test fails when they drift from the types.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::model::{GuildConfig, ProcessConfig};

/// File name of the guild override schema in `config/schema/`.
pub const GUILD_SCHEMA_FILE: &str = "guild-config.schema.json";
/// File name of the process configuration schema in `config/schema/`.
pub const PROCESS_SCHEMA_FILE: &str = "process-config.schema.json";

/// The schema of a guild override file (`config/guilds/{guild_id}.json`).
pub fn guild_override_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(GuildConfig)).unwrap_or(Value::Null);
    strip_required(&mut schema);
    if let Value::Object(m) = &mut schema {
        m.insert(
            "title".into(),
            Value::String("kaltura-discord guild configuration override".into()),
        );
    }
    schema
}

/// The schema of the global (process) configuration file; its `guild_defaults` section uses
/// the guild schema.
pub fn process_config_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(ProcessConfig)).unwrap_or(Value::Null);
    strip_required(&mut schema);
    let Value::Object(mut guild) = guild_override_schema() else {
        return schema;
    };
    if let Value::Object(root) = &mut schema {
        root.insert(
            "title".into(),
            Value::String("kaltura-discord process configuration".into()),
        );
        let guild_defs = guild.remove("$defs");
        guild.remove("$schema");
        guild.remove("title");
        guild.insert(
            "description".into(),
            Value::String("Settings every guild starts from, before its own overrides.".into()),
        );
        if let Some(Value::Object(props)) = root.get_mut("properties") {
            props.insert("guild_defaults".into(), Value::Object(guild));
        }
        if let Some(Value::Object(defs)) = guild_defs {
            let root_defs = root
                .entry("$defs")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(root_defs) = root_defs {
                for (k, v) in defs {
                    root_defs.entry(k).or_insert(v);
                }
            }
        }
    }
    schema
}

fn strip_required(value: &mut Value) {
    match value {
        Value::Object(m) => {
            m.remove("required");
            for v in m.values_mut() {
                strip_required(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_required),
        _ => {}
    }
}

/// The guild schema, generated once.
pub(crate) fn guild_schema_cached() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(guild_override_schema)
}

/// The process schema, generated once.
pub(crate) fn process_schema_cached() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(process_config_schema)
}

/// A bounds violation: the path of the value and what is wrong with it.
pub(crate) type BoundsError = (Vec<String>, String);

/// Checks `value` against the numeric ranges (`minimum`, `maximum`, exclusive ones), string
/// lengths (`minLength`, `maxLength`) and array sizes (`minItems`, `maxItems`) of `schema`,
/// so every bound the published schema states is also enforced at runtime. Types and
/// unknown keys are checked by deserialization, patterns by the resolver's own rules.
///
/// The value is walked once along the schema (`$ref`, `properties`,
/// `additionalProperties`, `items`, `anyOf`/`oneOf`/`allOf` branches whose type fits).
pub(crate) fn check_bounds(value: &Value, schema: &Value) -> Result<(), BoundsError> {
    let mut path = Vec::new();
    walk(value, schema, schema, &mut path, 0)
}

/// Deeper documents are not walked further (deserialization bounds them anyway).
const MAX_SCHEMA_DEPTH: usize = 64;

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..16 {
        let Some(name) = s
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        else {
            return s;
        };
        match root.get("$defs").and_then(|d| d.get(name)) {
            Some(target) => s = target,
            None => return s,
        }
    }
    s
}

fn kind_matches(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn type_matches(value: &Value, schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) => kind_matches(value, kind),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .any(|k| kind_matches(value, k)),
        Some(Value::Bool(_) | Value::Null | Value::Number(_) | Value::Object(_)) | None => {
            match schema.get("const") {
                Some(c) => c == value,
                None => true,
            }
        }
    }
}

fn walk(
    value: &Value,
    schema: &Value,
    root: &Value,
    path: &mut Vec<String>,
    depth: usize,
) -> Result<(), BoundsError> {
    if depth > MAX_SCHEMA_DEPTH {
        return Ok(());
    }
    let schema = resolve(schema, root);
    check_here(value, schema).map_err(|message| (path.clone(), message))?;
    if let Some(Value::Array(all)) = schema.get("allOf") {
        for s in all {
            walk(value, s, root, path, depth + 1)?;
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alternatives)) = schema.get(key) {
            let mut first_error = None;
            let mut passed = false;
            for alt in alternatives
                .iter()
                .map(|a| resolve(a, root))
                .filter(|a| type_matches(value, a))
            {
                match walk(value, alt, root, path, depth + 1) {
                    Ok(()) => {
                        passed = true;
                        break;
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if !passed && let Some(e) = first_error {
                return Err(e);
            }
        }
    }
    match value {
        Value::Object(m) => {
            let properties = schema.get("properties");
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in m {
                if let Some(s) = properties.and_then(|p| p.get(k)).or(additional) {
                    path.push(k.clone());
                    walk(v, s, root, path, depth + 1)?;
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items").filter(|s| s.is_object()) {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(v, s, root, path, depth + 1)?;
                    path.pop();
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn range_message(low: Option<&Value>, high: Option<&Value>, unit: &str) -> String {
    match (low, high) {
        (Some(l), Some(h)) => format!("must be between {l} and {h}{unit}"),
        (Some(l), None) => format!("must be at least {l}{unit}"),
        (None, Some(h)) => format!("must be at most {h}{unit}"),
        (None, None) => "is out of range".to_owned(),
    }
}

/// The bounds of one schema node, applied to one value. Messages state the bound, never the
/// value.
fn check_here(value: &Value, schema: &Value) -> Result<(), String> {
    let bound = |k: &str| schema.get(k).filter(|b| b.is_number());
    let f = |b: Option<&Value>| b.and_then(Value::as_f64);
    if let Some(n) = value.as_f64() {
        let (min, max) = (bound("minimum"), bound("maximum"));
        let (xmin, xmax) = (bound("exclusiveMinimum"), bound("exclusiveMaximum"));
        let below = f(min).is_some_and(|m| n < m) || f(xmin).is_some_and(|m| n <= m);
        let above = f(max).is_some_and(|m| n > m) || f(xmax).is_some_and(|m| n >= m);
        if below || above {
            return Err(range_message(min.or(xmin), max.or(xmax), ""));
        }
    }
    let count = match value {
        Value::String(s) => Some((
            s.chars().count(),
            "minLength",
            "maxLength",
            " characters long",
        )),
        Value::Array(items) => Some((items.len(), "minItems", "maxItems", " items long")),
        _ => None,
    };
    if let Some((len, min_key, max_key, unit)) = count {
        let (min, max) = (bound(min_key), bound(max_key));
        let len = len as f64;
        if f(min).is_some_and(|m| len < m) || f(max).is_some_and(|m| len > m) {
            return Err(range_message(min, max, unit));
        }
    }
    Ok(())
}

/// Renders a schema the way the committed files are written (pretty, trailing newline).
pub fn render(schema: &Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The committed copy; with `KD_WRITE_SCHEMAS=1` in the environment, rewrites it first.
    fn committed(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config/schema")
            .join(name);
        if std::env::var_os("KD_WRITE_SCHEMAS").is_some() {
            let schema = if name == GUILD_SCHEMA_FILE {
                guild_override_schema()
            } else {
                process_config_schema()
            };
            std::fs::write(&path, render(&schema)).unwrap();
        }
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    #[test]
    fn bounds_of_the_schema_are_checked() {
        let s = process_schema_cached();
        let mut doc = json!({"jwt": {"ttl_seconds": 4_294_967_295u64}});
        let (path, message) = check_bounds(&doc, s).unwrap_err();
        assert_eq!(path, vec!["jwt", "ttl_seconds"]);
        assert_eq!(message, "must be between 30 and 86400");
        doc["jwt"]["ttl_seconds"] = json!(29);
        assert!(check_bounds(&doc, s).is_err());
        doc["jwt"]["ttl_seconds"] = json!(30);
        assert_eq!(check_bounds(&doc, s), Ok(()));
        let g = guild_schema_cached();
        let (path, message) =
            check_bounds(&json!({"meetings": {"join_link_expiry_minutes": 4}}), g).unwrap_err();
        assert_eq!(path, vec!["meetings", "join_link_expiry_minutes"]);
        assert_eq!(message, "must be between 5 and 1440");
        let (path, message) =
            check_bounds(&json!({"identity": {"user_id_prefix": "x".repeat(33)}}), g).unwrap_err();
        assert_eq!(path, vec!["identity", "user_id_prefix"]);
        assert_eq!(message, "must be at most 32 characters long");
        let (_, message) = check_bounds(&json!({"locale": "e"}), g).unwrap_err();
        assert_eq!(message, "must be between 2 and 35 characters long");
        // Nullable fields: null passes, a value is checked.
        assert_eq!(
            check_bounds(&json!({"kaltura": {"partner_id": null}}), g),
            Ok(())
        );
    }

    /// Every numeric range and length the schemas publish, found by walking them, is
    /// enforced: a value just outside each bound is refused.
    #[test]
    fn every_published_bound_is_enforced() {
        fn bounded(
            schema: &Value,
            root: &Value,
            path: &mut Vec<String>,
            out: &mut Vec<(Vec<String>, Value)>,
        ) {
            let schema = resolve(schema, root);
            let too_big = |b: &Value| b.as_f64().map(|m| json!(m as u64 + 1));
            if let Some(v) = schema.get("maximum").and_then(too_big) {
                out.push((path.clone(), v));
            }
            if let Some(min) = schema
                .get("minimum")
                .and_then(Value::as_u64)
                .filter(|m| *m > 0)
            {
                out.push((path.clone(), json!(min - 1)));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                out.push((path.clone(), json!("a".repeat(max as usize + 1))));
            }
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, s) in props {
                    path.push(k.clone());
                    bounded(s, root, path, out);
                    path.pop();
                }
            }
        }
        for schema in [guild_schema_cached(), process_schema_cached()] {
            let mut found = Vec::new();
            bounded(schema, schema, &mut Vec::new(), &mut found);
            assert!(found.len() >= 4, "{found:?}");
            for (path, bad) in found {
                let mut doc = bad;
                for seg in path.iter().rev() {
                    doc = json!({ seg.clone(): doc });
                }
                let err = check_bounds(&doc, schema).unwrap_err();
                assert_eq!(err.0, path, "{doc}");
            }
        }
    }

    #[test]
    fn committed_guild_schema_matches_the_types() {
        assert!(
            committed(GUILD_SCHEMA_FILE) == render(&guild_override_schema()),
            "config/schema/{GUILD_SCHEMA_FILE} is out of date: run `cargo run -p kaltura-discord-examples --bin kaltura-config -- schema --write`"
        );
    }

    #[test]
    fn committed_process_schema_matches_the_types() {
        assert!(
            committed(PROCESS_SCHEMA_FILE) == render(&process_config_schema()),
            "config/schema/{PROCESS_SCHEMA_FILE} is out of date: run `cargo run -p kaltura-discord-examples --bin kaltura-config -- schema --write`"
        );
    }

    #[test]
    fn schemas_are_partial_and_closed() {
        let g = guild_override_schema();
        assert!(g.get("required").is_none());
        assert_eq!(g["additionalProperties"], serde_json::json!(false));
        assert_eq!(g["$schema"], "https://json-schema.org/draft/2020-12/schema");
        let p = process_config_schema();
        assert!(p["properties"]["guild_defaults"]["properties"]["meetings"].is_object());
    }
}
