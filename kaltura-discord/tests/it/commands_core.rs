//! The command layer's core: the fixture corpus of interaction bodies parsed into typed
//! values, hostile and mutated bodies refused without a panic, and the registration and
//! reply JSON checked from outside the crate.

use std::path::{Path, PathBuf};

use kaltura_discord::commands::definition::{commands, commands_json, is_ephemeral};
use kaltura_discord::commands::interaction::{
    CommandInvocation, CommandOption, Interaction, OptionValue, parse,
};
use kaltura_discord::commands::reply::{Embed, InteractionResponse, Reply};
use kaltura_discord::rbac::DiscordPermissions;
use kaltura_discord::{ChannelId, DiscordUserId, Error, GuildId, MessageId, RoleId};
use proptest::prelude::*;
use serde_json::{Value, json};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interactions")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap()
}

fn parsed(name: &str) -> Interaction {
    parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const FIXTURES: [&str; 12] = [
    "ping_minimal.json",
    "ping_full.json",
    "command_meeting_start.json",
    "command_whoami.json",
    "command_future_fields.json",
    "command_user_resolved.json",
    "autocomplete_meeting_join.json",
    "component_button.json",
    "component_select.json",
    "component_unknown_nested.json",
    "modal_submit.json",
    "dm_command.json",
];

fn guild() -> GuildId {
    GuildId::new(987_654_321_098_765_432).unwrap()
}

fn dana() -> DiscordUserId {
    DiscordUserId::new(555_555_555_555_555_555).unwrap()
}

fn string(name: &str, value: &str) -> CommandOption {
    CommandOption {
        name: name.into(),
        value: OptionValue::String(value.into()),
    }
}

fn integer(name: &str, value: i64) -> CommandOption {
    CommandOption {
        name: name.into(),
        value: OptionValue::Integer(value),
    }
}

fn command(name: &str) -> CommandInvocation {
    match parsed(name) {
        Interaction::Command(c) => c,
        other => panic!("{name}: expected a command, got {other:?}"),
    }
}

#[test]
fn every_fixture_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn pings() {
    assert!(matches!(parsed("ping_minimal.json"), Interaction::Ping));
    assert!(matches!(parsed("ping_full.json"), Interaction::Ping));
}

#[test]
fn slash_command_with_a_group() {
    let c = command("command_meeting_start.json");
    assert_eq!(c.command, "kaltura");
    assert_eq!(c.path, vec!["meeting", "start"]);
    assert_eq!(
        c.options,
        vec![
            string("title", "Weekly sync — Q3 review"),
            string("type", "virtual_classroom"),
            integer("duration", 90),
        ]
    );
    let ctx = &c.context;
    assert_eq!(ctx.id.get(), 1_311_111_111_111_111_111);
    assert_eq!(ctx.application_id.get(), 1_234_567_890_123_456_789);
    assert_eq!(
        ctx.token.expose(),
        "aW50ZXJhY3Rpb246MTMxMTExMTExMTExMTExMTExMTpSRURBQ1RFRA"
    );
    assert_eq!(ctx.guild, Some(guild()));
    assert_eq!(ctx.channel, ChannelId::new(1_122_334_455_667_788_990));
    assert_eq!(ctx.locale.as_deref(), Some("en-GB"));
    assert_eq!(ctx.guild_locale.as_deref(), Some("en-US"));
    let who = &ctx.invoker;
    assert_eq!(who.user, dana());
    assert_eq!(who.display_name, "Dana (Media Team)");
    assert_eq!(
        who.roles,
        vec![
            RoleId::new(1_200_000_000_000_000_010).unwrap(),
            RoleId::new(1_200_000_000_000_000_011).unwrap()
        ]
    );
    assert_eq!(who.permissions.bits(), 2_147_601_440);
    assert!(who.permissions.contains(DiscordPermissions::MANAGE_GUILD));
    // The token never shows in Debug.
    assert!(!format!("{c:?}").contains("aW50ZXJhY3Rpb24"));
    assert!(!is_ephemeral(&c.command, &c.path));
}

#[test]
fn slash_command_with_a_plain_subcommand() {
    let c = command("command_whoami.json");
    assert_eq!(
        (c.command.as_str(), c.path.as_slice()),
        ("kaltura", &["whoami".to_owned()][..])
    );
    assert!(c.options.is_empty());
    // No nick: the global name.
    assert_eq!(c.context.invoker.display_name, "Dana");
    assert!(c.context.invoker.roles.is_empty());
    assert_eq!(c.context.invoker.permissions.bits(), 1_071_698_660_929);
    assert!(is_ephemeral(&c.command, &c.path));
}

#[test]
fn unknown_future_fields_are_ignored() {
    let c = command("command_future_fields.json");
    assert_eq!(c.path, vec!["video", "search"]);
    assert_eq!(
        c.options,
        vec![string("query", "keynote"), integer("page", 2)]
    );
}

#[test]
fn user_option_with_resolved_data() {
    let c = command("command_user_resolved.json");
    assert_eq!(c.command, "kaltura-admin");
    assert_eq!(c.path, vec!["identity", "show"]);
    assert_eq!(
        c.options,
        vec![CommandOption {
            name: "member".into(),
            value: OptionValue::User(DiscordUserId::new(666_666_666_666_666_666).unwrap()),
        }]
    );
    assert!(is_ephemeral(&c.command, &c.path));
}

#[test]
fn autocomplete_focused_option() {
    let Interaction::Autocomplete(a) = parsed("autocomplete_meeting_join.json") else {
        panic!("not autocomplete")
    };
    assert_eq!(a.command, "kaltura");
    assert_eq!(a.path, vec!["meeting", "join"]);
    assert_eq!(
        (a.focused.as_str(), a.partial.as_str()),
        ("meeting", "week")
    );
    assert!(a.options.is_empty());
    assert_eq!(a.context.invoker.user, dana());
}

#[test]
fn button_click() {
    let Interaction::Component(c) = parsed("component_button.json") else {
        panic!("not a component")
    };
    assert_eq!(c.custom_id, "kd:v1:share:1_abc123");
    assert_eq!(c.component_type, 2);
    assert!(c.values.is_empty());
    assert_eq!(c.message, MessageId::new(1_320_000_000_000_000_001));
    assert_eq!(c.context.guild, Some(guild()));
    assert_eq!(c.context.invoker.user, dana());
}

#[test]
fn select_choice() {
    let Interaction::Component(c) = parsed("component_select.json") else {
        panic!("not a component")
    };
    assert_eq!(c.custom_id, "kd:v1:pick:search");
    assert_eq!(c.component_type, 3);
    assert_eq!(c.values, vec!["1_bbb"]);
    assert_eq!(c.message, MessageId::new(1_320_000_000_000_000_002));
}

#[test]
fn unknown_component_types_nested_in_the_message() {
    let Interaction::Component(c) = parsed("component_unknown_nested.json") else {
        panic!("not a component")
    };
    assert_eq!(c.custom_id, "kd:v1:info:1_abc123");
    assert_eq!(c.component_type, 2);
    assert_eq!(c.message, MessageId::new(1_320_000_000_000_000_003));
}

#[test]
fn modal_submit() {
    let Interaction::ModalSubmit(m) = parsed("modal_submit.json") else {
        panic!("not a modal")
    };
    assert_eq!(m.custom_id, "kd:v1:meeting-form");
    let fields: Vec<(&str, &str)> = m
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("title", "Design review"),
            ("description", "Line one\nLine two"),
            ("agenda", ""),
        ]
    );
}

#[test]
fn dm_command_has_a_user_and_no_guild() {
    let c = command("dm_command.json");
    assert_eq!(c.path, vec!["help"]);
    let ctx = &c.context;
    assert_eq!(ctx.guild, None);
    assert_eq!(ctx.guild_locale, None);
    assert_eq!(ctx.channel, ChannelId::new(1_133_333_333_333_333_333));
    assert_eq!(ctx.invoker.user, dana());
    assert_eq!(ctx.invoker.display_name, "Dana");
    assert!(ctx.invoker.roles.is_empty());
    assert_eq!(ctx.invoker.permissions, DiscordPermissions::NONE);
}

#[test]
fn channel_id_falls_back_to_the_channel_object() {
    let mut v: Value = serde_json::from_slice(&fixture("command_whoami.json")).unwrap();
    v.as_object_mut().unwrap().remove("channel_id");
    let c = match parse(v.to_string().as_bytes()).unwrap() {
        Interaction::Command(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.context.channel, ChannelId::new(1_122_334_455_667_788_990));
    v.as_object_mut().unwrap().remove("channel");
    let Interaction::Command(c) = parse(v.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(c.context.channel, None);
}

#[test]
fn display_name_falls_back_to_the_username() {
    let mut v: Value = serde_json::from_slice(&fixture("dm_command.json")).unwrap();
    v["user"]["global_name"] = Value::Null;
    let Interaction::Command(c) = parse(v.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(c.context.invoker.display_name, "dana.m");
}

#[test]
fn user_and_message_commands_are_refused() {
    let mut v: Value = serde_json::from_slice(&fixture("command_whoami.json")).unwrap();
    v["data"]["type"] = json!(3);
    v["data"]["target_id"] = json!("1320000000000000001");
    match parse(v.to_string().as_bytes()) {
        Err(Error::Interaction(e)) => assert_eq!(e.reason(), "not a slash command (`data.type` 3)"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Registration and replies, from outside the crate.

#[test]
fn registration_round_trips_as_discord_json() {
    let reg = commands_json().unwrap();
    let v: Value = serde_json::from_str(reg.as_json()).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["kaltura", "kaltura-admin"]);
    assert_eq!(commands().len(), 2);
    let event = &v[1]["options"][3]["options"][0]["options"][1];
    assert_eq!(event["name"], "event");
    assert_eq!(event["choices"].as_array().unwrap().len(), 8);
    let channel = &v[1]["options"][3]["options"][0]["options"][0];
    assert_eq!(channel["channel_types"], json!([0, 5]));
}

#[test]
fn rich_reply_snapshot() {
    let embed = Embed::titled("Quarterly all-hands @everyone")
        .field("Duration", "42:17", true)
        .field("Views", "1,204", true);
    let reply = Reply::text("Search results for \"keynote\"").embed(embed);
    insta::assert_json_snapshot!(InteractionResponse::Message(reply).to_json());
}

// ---------------------------------------------------------------------------------------
// Hostile input: never a panic, only Ok or an interaction error.

fn never_panics(body: &[u8]) {
    match parse(body) {
        Ok(_) => {}
        // A reason never repeats much of the input.
        Err(Error::Interaction(e)) => assert!(e.reason().chars().count() < 200, "{e}"),
        Err(other) => panic!("not an interaction error: {other:?}"),
    }
}

/// Every (parent path, key) of a JSON value, depth first.
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                prefix.push(PathStep::Key(k.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn parent_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.get_mut(k.as_str())?,
            PathStep::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Drops the node at `path`, or replaces it with `with`.
fn mutate(original: &Value, path: &[PathStep], with: Option<Value>) -> Value {
    let mut v = original.clone();
    let Some((last, parent)) = path.split_last() else {
        return v;
    };
    let Some(parent) = parent_mut(&mut v, parent) else {
        return v;
    };
    match (last, with) {
        (PathStep::Key(k), None) => {
            parent.as_object_mut().map(|m| m.remove(k));
        }
        (PathStep::Index(i), None) => {
            if let Some(a) = parent.as_array_mut() {
                a.remove(*i);
            }
        }
        (PathStep::Key(k), Some(w)) => {
            if let Some(m) = parent.as_object_mut() {
                m.insert(k.clone(), w);
            }
        }
        (PathStep::Index(i), Some(w)) => {
            if let Some(slot) = parent.get_mut(*i) {
                *slot = w;
            }
        }
    }
    v
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(u64::MAX),
        json!(""),
        json!("x"),
        json!("0"),
        json!("../../etc/passwd"),
        json!("é".repeat(7000)),
        json!([]),
        json!({}),
        json!([{"type": 1}]),
    ]
}

#[test]
fn every_single_mutation_of_every_fixture_is_handled() {
    let mut count = 0usize;
    let mut ok = 0usize;
    for name in FIXTURES {
        let original: Value = serde_json::from_slice(&fixture(name)).unwrap();
        let mut all = Vec::new();
        paths(&original, &mut Vec::new(), &mut all);
        for path in &all {
            for with in std::iter::once(None).chain(replacements().into_iter().map(Some)) {
                let body = mutate(&original, path, with).to_string();
                count += 1;
                if parse(body.as_bytes()).is_ok() {
                    ok += 1;
                }
                never_panics(body.as_bytes());
            }
        }
    }
    // Both outcomes occur: mutations of unused fields parse, of used ones are refused.
    assert!(count > 10_000, "{count}");
    assert!(ok > 0 && ok < count, "{ok} of {count}");
}

#[test]
fn truncated_fixtures_are_refused() {
    for name in FIXTURES {
        let body = fixture(name);
        let end = body.trim_ascii_end().len();
        // Every cut before the closing brace; the last one too.
        for cut in (0..end).step_by(7).chain([end - 1]) {
            let part = body.get(..cut).unwrap();
            match parse(part) {
                Err(Error::Interaction(e)) => assert!(e.reason().len() < 200),
                other => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        "[0-9]{1,22}".prop_map(Value::String),
        prop_oneof![
            Just("type"),
            Just("id"),
            Just("options"),
            Just("value"),
            Just("focused"),
            Just("custom_id")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("name".to_owned()),
                    Just("value".to_owned()),
                    Just("options".to_owned()),
                    Just("data".to_owned()),
                    Just("member".to_owned()),
                    Just("user".to_owned()),
                    Just("focused".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        never_panics(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        never_panics(v.to_string().as_bytes());
        // With a valid type, the walk goes deeper.
        for t in 1..=5 {
            let mut obj = serde_json::Map::new();
            obj.insert("type".into(), json!(t));
            obj.insert("data".into(), v.clone());
            obj.insert("member".into(), v.clone());
            never_panics(Value::Object(obj).to_string().as_bytes());
        }
    }

    #[test]
    fn arbitrary_json_spliced_into_fixtures_never_panics(
        which in 0..FIXTURES.len(),
        at in any::<prop::sample::Index>(),
        with in arb_json(),
    ) {
        let original: Value = serde_json::from_slice(&fixture(FIXTURES[which])).unwrap();
        let mut all = Vec::new();
        paths(&original, &mut Vec::new(), &mut all);
        prop_assume!(!all.is_empty());
        let path = &all[at.index(all.len())];
        never_panics(mutate(&original, path, Some(with)).to_string().as_bytes());
    }
}
