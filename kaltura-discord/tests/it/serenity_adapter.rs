//! `adapters::serenity`: serenity's own models in, serenity's builders out, compared with the
//! JSON the library produces for the HTTP transport.

use kaltura_discord::adapters::serenity::{
    interaction_from_serenity, registration_to_serenity, reply_to_edit, reply_to_followup,
    response_to_serenity,
};
use kaltura_discord::commands::definition::{CommandSpec, OptionSpec, commands, commands_json};
use kaltura_discord::commands::interaction::{Interaction, OptionValue, parse};
use kaltura_discord::commands::reply::{
    ActionRow, AllowedMentions, Button, ButtonStyle, Choice, ChoiceValue, Embed,
    InteractionResponse, Modal, Reply, Select, SelectOption, TextInput,
};
use kaltura_discord::rbac::DiscordPermissions;
use kaltura_discord::{DiscordUserId, Error, RoleId};
use serde_json::{Value, json};

/// discord.md §1.7: `/kaltura search query:"quarterly all-hands" limit:5` in a guild.
fn slash_command() -> Value {
    json!({
      "app_permissions": "2147601408",
      "application_id": "1234567890123456789",
      "attachment_size_limit": 10485760,
      "authorizing_integration_owners": { "0": "987654321098765432" },
      "channel": {
        "flags": 0, "guild_id": "987654321098765432", "id": "1122334455667788990",
        "last_message_id": null, "name": "media-announcements", "nsfw": false, "parent_id": null,
        "permissions": "2147601440", "position": 3, "rate_limit_per_user": 0, "topic": null, "type": 0
      },
      "channel_id": "1122334455667788990",
      "context": 0,
      "data": {
        "id": "1300000000000000001",
        "name": "kaltura",
        "type": 1,
        "options": [
          {
            "name": "search",
            "type": 1,
            "options": [
              { "name": "query", "type": 3, "value": "quarterly all-hands" },
              { "name": "limit", "type": 4, "value": 5 }
            ]
          }
        ]
      },
      "entitlements": [],
      "guild": { "features": [], "id": "987654321098765432", "locale": "en-US" },
      "guild_id": "987654321098765432",
      "guild_locale": "en-US",
      "id": "1311111111111111111",
      "locale": "en-GB",
      "member": {
        "avatar": null, "banner": null, "communication_disabled_until": null, "deaf": false,
        "flags": 0, "joined_at": "2023-04-12T09:30:15.123000+00:00", "mute": false,
        "nick": "Dana (Media Team)", "pending": false,
        "permissions": "2147601440",
        "premium_since": null,
        "roles": ["1200000000000000010", "1200000000000000011"],
        "unusual_dm_activity_until": null,
        "user": {
          "avatar": null, "avatar_decoration_data": null, "clan": null, "collectibles": null,
          "discriminator": "0", "global_name": "Dana", "id": "555555555555555555",
          "primary_guild": null, "public_flags": 0, "username": "dana.m"
        }
      },
      "token": "aW50ZXJhY3Rpb246MTMxMTExMTExMTExMTExMTExMTpSRURBQ1RFRA",
      "type": 2,
      "version": 1
    })
}

/// The same command while typing `query` (autocomplete, type 4).
fn autocomplete() -> Value {
    let mut v = slash_command();
    v["type"] = json!(4);
    v["data"]["options"][0]["options"] = json!([
        { "name": "limit", "type": 4, "value": 5 },
        { "name": "query", "type": 3, "value": "quart", "focused": true }
    ]);
    v
}

/// A button click on a message the bot posted (type 3).
fn button_click() -> Value {
    let mut v = slash_command();
    v["type"] = json!(3);
    v["data"] = json!({ "custom_id": "kd:v1:video:share:0_abc123", "component_type": 2 });
    v["message"] = json!({
        "id": "1300000000000000777", "channel_id": "1122334455667788990",
        "author": { "id": "1234567890123456789", "username": "Kaltura", "discriminator": "0",
                    "avatar": null, "bot": true, "global_name": null },
        "content": "", "timestamp": "2026-11-30T13:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
        "flags": 0, "components": []
    });
    v
}

/// A select menu choice (type 3, component 3).
fn select_choice() -> Value {
    let mut v = button_click();
    v["data"] = json!({
        "custom_id": "kd:v1:video:pick", "component_type": 3, "values": ["0_abc123"]
    });
    v
}

/// A submitted modal (type 5).
fn modal_submit() -> Value {
    let mut v = slash_command();
    v["type"] = json!(5);
    v["data"] = json!({
        "custom_id": "kd:v1:meeting:start",
        "components": [
            { "type": 1, "components": [
                { "type": 4, "custom_id": "title", "value": "Weekly sync" } ] },
            { "type": 1, "components": [
                { "type": 4, "custom_id": "description", "value": "Agenda in the doc" } ] }
        ]
    });
    v
}

/// A slash command in a DM: top-level `user`, no guild, no member.
fn dm_command() -> Value {
    let mut v = slash_command();
    let user = v["member"]["user"].clone();
    let map = v.as_object_mut().unwrap_or_else(|| unreachable!());
    for key in ["member", "guild", "guild_id", "guild_locale", "channel"] {
        map.remove(key);
    }
    map.insert("user".into(), user);
    map.insert("context".into(), json!(1));
    // serenity 0.12.5 requires `options` on a SUB_COMMAND, even an empty one.
    v["data"]["options"] = json!([{ "name": "whoami", "type": 1, "options": [] }]);
    v
}

fn via_serenity(fixture: &Value) -> Interaction {
    let model: serenity::all::Interaction = serde_json::from_value(fixture.clone())
        .unwrap_or_else(|e| panic!("serenity refused the fixture {}: {e}", fixture["type"]));
    interaction_from_serenity(&model).unwrap_or_else(|e| panic!("conversion failed: {e}"))
}

fn via_http(fixture: &Value) -> Interaction {
    let bytes = serde_json::to_vec(fixture).unwrap_or_else(|e| panic!("{e}"));
    parse(&bytes).unwrap_or_else(|e| panic!("parse failed: {e}"))
}

#[test]
fn the_reference_slash_command_converts_to_typed_fields() {
    let Interaction::Command(command) = via_serenity(&slash_command()) else {
        panic!("not a command");
    };
    assert_eq!(command.command, "kaltura");
    assert_eq!(command.path, ["search"]);
    assert_eq!(command.options.len(), 2);
    assert_eq!(command.options[0].name, "query");
    assert_eq!(
        command.options[0].value,
        OptionValue::String("quarterly all-hands".to_owned())
    );
    assert_eq!(command.options[1].name, "limit");
    assert_eq!(command.options[1].value, OptionValue::Integer(5));
    let c = &command.context;
    assert_eq!(c.id.get(), 1_311_111_111_111_111_111);
    assert_eq!(c.application_id.get(), 1_234_567_890_123_456_789);
    assert_eq!(c.guild.map(|g| g.get()), Some(987_654_321_098_765_432));
    assert_eq!(c.channel.map(|g| g.get()), Some(1_122_334_455_667_788_990));
    assert_eq!(
        c.token.expose(),
        "aW50ZXJhY3Rpb246MTMxMTExMTExMTExMTExMTExMTpSRURBQ1RFRA"
    );
    assert_eq!(c.locale.as_deref(), Some("en-GB"));
    assert_eq!(c.guild_locale.as_deref(), Some("en-US"));
    let who = &c.invoker;
    assert_eq!(
        who.user,
        DiscordUserId::new(555_555_555_555_555_555).unwrap_or_else(|| unreachable!())
    );
    assert_eq!(who.display_name, "Dana (Media Team)");
    assert_eq!(
        who.roles,
        [
            RoleId::new(1_200_000_000_000_000_010).unwrap_or_else(|| unreachable!()),
            RoleId::new(1_200_000_000_000_000_011).unwrap_or_else(|| unreachable!()),
        ]
    );
    assert_eq!(
        who.permissions,
        DiscordPermissions::from_bits(2_147_601_440)
    );
    assert!(who.permissions.contains(DiscordPermissions::MANAGE_GUILD));
}

#[test]
fn every_kind_converts_exactly_as_the_http_transport_parses_it() {
    for (name, fixture) in [
        ("command", slash_command()),
        ("autocomplete", autocomplete()),
        ("button", button_click()),
        ("select", select_choice()),
        ("modal", modal_submit()),
        ("dm", dm_command()),
    ] {
        let serenity = via_serenity(&fixture);
        let http = via_http(&fixture);
        // The token is redacted in Debug; compare it separately.
        assert_eq!(format!("{serenity:?}"), format!("{http:?}"), "{name}");
        assert_eq!(
            serenity.context().map(|c| c.token.expose().to_owned()),
            http.context().map(|c| c.token.expose().to_owned()),
            "{name}"
        );
    }
}

#[test]
fn each_kind_lands_in_its_variant() {
    match via_serenity(&autocomplete()) {
        Interaction::Autocomplete(a) => {
            assert_eq!((a.focused.as_str(), a.partial.as_str()), ("query", "quart"));
            assert_eq!(a.path, ["search"]);
        }
        other => panic!("{other:?}"),
    }
    match via_serenity(&button_click()) {
        Interaction::Component(c) => {
            assert_eq!(c.custom_id, "kd:v1:video:share:0_abc123");
            assert_eq!(c.component_type, 2);
            assert_eq!(c.message.map(|m| m.get()), Some(1_300_000_000_000_000_777));
        }
        other => panic!("{other:?}"),
    }
    match via_serenity(&select_choice()) {
        Interaction::Component(c) => {
            assert_eq!(
                (c.component_type, c.values.as_slice()),
                (3, ["0_abc123".to_owned()].as_slice())
            );
        }
        other => panic!("{other:?}"),
    }
    match via_serenity(&modal_submit()) {
        Interaction::ModalSubmit(m) => {
            assert_eq!(m.custom_id, "kd:v1:meeting:start");
            assert_eq!(
                m.fields,
                [
                    ("title".to_owned(), "Weekly sync".to_owned()),
                    ("description".to_owned(), "Agenda in the doc".to_owned())
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    match via_serenity(&dm_command()) {
        Interaction::Command(c) => {
            assert_eq!(c.context.guild, None);
            assert_eq!(c.context.invoker.display_name, "Dana");
            assert!(c.context.invoker.roles.is_empty());
            assert_eq!(c.path, ["whoami"]);
        }
        other => panic!("{other:?}"),
    }
    let ping: serenity::all::Interaction = serde_json::from_value(json!({
        "id": "1311111111111111111", "application_id": "1234567890123456789",
        "token": "t", "type": 1, "version": 1
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        interaction_from_serenity(&ping),
        Ok(Interaction::Ping)
    ));
}

#[test]
fn user_context_commands_are_refused_not_panicked_on() {
    let mut fixture = slash_command();
    fixture["data"] = json!({
        "id": "1300000000000000001", "name": "Kaltura profile", "type": 2,
        "target_id": "555555555555555555"
    });
    let model: serenity::all::Interaction =
        serde_json::from_value(fixture).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        interaction_from_serenity(&model),
        Err(Error::Interaction(_))
    ));
}

/// Drops what carries no meaning for Discord so serenity's and our JSON compare: `null`,
/// `false`, empty arrays and objects (`"attachments": []`, `"name_localizations": {}`, an
/// empty `data`), embeds' `"type": "rich"`.
fn normalized(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, v)| !(k == "type" && v == "rich"))
                .map(|(k, v)| (k, normalized(v)))
                .filter(|(_, v)| {
                    !(v.is_null()
                        || *v == Value::Bool(false)
                        || v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(serde_json::Map::is_empty))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalized).collect()),
        other => other,
    }
}

fn rich_reply() -> Reply {
    let user = DiscordUserId::new(555_555_555_555_555_555).unwrap_or_else(|| unreachable!());
    let mut reply = Reply::text("Results for **quarterly all-hands** @everyone")
        .embed(
            Embed {
                title: Some("Quarterly all-hands".to_owned()),
                url: Some("https://example.invalid/media/0_abc".to_owned()),
                description: Some("Recorded 2026-11-30".to_owned()),
                color: Some(0x00_6E_FF),
                fields: Vec::new(),
                thumbnail: Some("https://example.invalid/thumb/0_abc.jpg".to_owned()),
                footer: Some("Kaltura".to_owned()),
            }
            .field("Duration", "42 min", true)
            .field("Views", "1,204", true),
        )
        .row(ActionRow::Buttons(vec![
            Button::Link {
                label: "Watch".to_owned(),
                url: "https://example.invalid/watch/0_abc".to_owned(),
            },
            Button::Action {
                label: "Share here".to_owned(),
                custom_id: "kd:v1:video:share:0_abc".to_owned(),
                style: ButtonStyle::Primary,
                disabled: false,
            },
            Button::Action {
                label: "Delete".to_owned(),
                custom_id: "kd:v1:video:delete:0_abc".to_owned(),
                style: ButtonStyle::Danger,
                disabled: true,
            },
        ]))
        .row(ActionRow::Select(Select {
            custom_id: "kd:v1:video:pick".to_owned(),
            placeholder: Some("Pick a video".to_owned()),
            options: vec![
                SelectOption {
                    label: "Quarterly all-hands".to_owned(),
                    value: "0_abc".to_owned(),
                    description: Some("42 min".to_owned()),
                },
                SelectOption {
                    label: "Onboarding".to_owned(),
                    value: "0_def".to_owned(),
                    description: None,
                },
            ],
        }));
    reply.allowed_mentions = AllowedMentions {
        users: vec![user],
        roles: Vec::new(),
    };
    reply
}

fn responses() -> Vec<(&'static str, InteractionResponse)> {
    vec![
        ("pong", InteractionResponse::Pong),
        ("message", InteractionResponse::Message(rich_reply())),
        (
            "ephemeral",
            InteractionResponse::Message(Reply::text("only you").ephemeral()),
        ),
        (
            "deferred",
            InteractionResponse::Deferred { ephemeral: false },
        ),
        (
            "deferred ephemeral",
            InteractionResponse::Deferred { ephemeral: true },
        ),
        ("deferred update", InteractionResponse::DeferredUpdate),
        ("update", InteractionResponse::Update(rich_reply())),
        (
            "autocomplete",
            InteractionResponse::Autocomplete(vec![
                Choice {
                    name: "Quarterly all-hands".to_owned(),
                    value: ChoiceValue::String("0_abc".to_owned()),
                },
                Choice {
                    name: "Five".to_owned(),
                    value: ChoiceValue::Integer(5),
                },
            ]),
        ),
        (
            "modal",
            InteractionResponse::Modal(Modal {
                custom_id: "kd:v1:meeting:start".to_owned(),
                title: "Start a meeting".to_owned(),
                inputs: vec![
                    TextInput {
                        custom_id: "title".to_owned(),
                        label: "Title".to_owned(),
                        paragraph: false,
                        required: true,
                        value: Some("Weekly sync".to_owned()),
                    },
                    TextInput {
                        custom_id: "description".to_owned(),
                        label: "Description".to_owned(),
                        paragraph: true,
                        required: false,
                        value: None,
                    },
                ],
            }),
        ),
    ]
}

#[test]
fn responses_serialize_like_our_own_json() {
    for (name, response) in responses() {
        let theirs =
            serde_json::to_value(response_to_serenity(&response)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            theirs["type"],
            response.to_json()["type"],
            "{name}: callback type"
        );
        assert_eq!(normalized(theirs), normalized(response.to_json()), "{name}");
    }
}

#[test]
fn the_rich_response_keeps_what_matters_and_pings_nobody_but_the_listed_user() {
    let response = InteractionResponse::Message(rich_reply().ephemeral());
    let theirs =
        serde_json::to_value(response_to_serenity(&response)).unwrap_or_else(|e| panic!("{e}"));
    let data = &theirs["data"];
    assert_eq!(data["flags"], 64);
    assert_eq!(data["allowed_mentions"]["parse"], json!([]));
    assert_eq!(
        data["allowed_mentions"]["users"],
        json!(["555555555555555555"])
    );
    assert_eq!(data["components"][0]["components"][0]["style"], 5);
    assert_eq!(data["components"][1]["components"][0]["type"], 3);
    insta::assert_json_snapshot!("serenity_rich_response", theirs);
}

#[test]
fn edits_and_followups_serialize_like_our_own_json() {
    for reply in [rich_reply(), Reply::text("done"), Reply::default()] {
        let edit = serde_json::to_value(reply_to_edit(&reply)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(normalized(edit.clone()), normalized(reply.to_edit_json()));
        assert_eq!(edit.get("content"), reply.to_edit_json().get("content"));
        let followup = serde_json::to_value(reply_to_followup(&reply.clone().ephemeral()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            normalized(followup),
            normalized(reply.clone().ephemeral().to_message_json())
        );
    }
}

#[test]
fn registration_matches_the_json_the_library_registers() {
    let specs = commands();
    let ours: Value =
        serde_json::from_str(commands_json().unwrap_or_else(|e| panic!("{e}")).as_json())
            .unwrap_or_else(|e| panic!("{e}"));
    let theirs = Value::Array(
        registration_to_serenity(&specs)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
    );
    assert_eq!(normalized(theirs), normalized(ours));
}

#[test]
fn invalid_specs_are_refused_before_building() {
    let bad = CommandSpec::new("Kaltura Bad", "upper case and a space")
        .option(OptionSpec::string("q", "query"));
    assert!(matches!(
        registration_to_serenity(&[bad]),
        Err(Error::InvalidInput {
            field: "command",
            ..
        })
    ));
}
