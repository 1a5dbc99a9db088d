//! JSON Schemas of the configuration files, generated from the Rust types.
//!
//! Both files are partial by nature (everything has a default), so the schemas have no
//! `required` keys; unknown keys are refused (`additionalProperties: false`). The committed
//! copies live in `config/schema/` and a test fails when they drift from the types.

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

/// Renders a schema the way the committed files are written (pretty, trailing newline).
pub fn render(schema: &Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config/schema")
            .join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
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
