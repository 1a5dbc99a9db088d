//! serenity 0.12 ⇄ the command layer (feature `serenity`, serenity with only `builder`).
//!
//! * Incoming: [`interaction_from_serenity`] (and the per-kind functions) turn serenity's
//!   interaction models into our [`Interaction`] by serializing them back to Discord's JSON
//!   and running the same [`interaction::parse`] the HTTP endpoint uses, so both transports
//!   see identical values and the same validation.
//! * Outgoing: [`response_to_serenity`], [`reply_to_edit`] and [`reply_to_followup`] build
//!   serenity builders from the JSON our conversions produce ([`InteractionResponse::to_json`],
//!   [`Reply::to_edit_json`], [`Reply::to_message_json`]), so Discord's limits are applied
//!   exactly once, by the library, whichever transport sends the reply.
//! * Registration: [`registration_to_serenity`] turns our [`CommandSpec`]s into serenity
//!   [`CreateCommand`](s::CreateCommand)s for `Command::set_global_commands` / `GuildId::set_commands`.
//!
//! # Example
//!
//! ```
//! use kaltura_discord::adapters::serenity::{interaction_from_serenity, response_to_serenity};
//! use kaltura_discord::commands::InteractionResponse;
//!
//! // In a serenity `EventHandler::interaction_create(&self, ctx, interaction)`:
//! fn on_interaction(interaction: &serenity::all::Interaction) {
//!     match interaction_from_serenity(interaction) {
//!         Ok(ours) => {
//!             // let response = handler.respond(ours).await;
//!             let _builder = response_to_serenity(&InteractionResponse::Pong);
//!             // command.create_response(&ctx.http, builder).await?;
//!             let _ = ours;
//!         }
//!         Err(e) => tracing::warn!(error = %e, "unusable interaction"),
//!     }
//! }
//! # let _ = on_interaction;
//! ```

use ::serenity::all as s;
use serde_json::Value;

use crate::commands::definition::{self, CommandSpec, OptionKind, OptionSpec};
use crate::commands::interaction::{self, Interaction, InteractionError};
use crate::commands::reply::{ChoiceValue, InteractionResponse, Reply};
use crate::{Error, Result};

/// The EPHEMERAL message flag.
const EPHEMERAL: u64 = 1 << 6;

/// Converts any serenity interaction. Equivalent to parsing the JSON Discord sent.
///
/// # Errors
///
/// [`Error::Interaction`] when the interaction is of a kind the command layer does not use
/// (user or message context commands, a future interaction type) or fails the same checks
/// as over HTTP.
pub fn interaction_from_serenity(interaction: &s::Interaction) -> Result<Interaction> {
    match interaction {
        s::Interaction::Ping(ping) => from_model(1, ping),
        s::Interaction::Command(command) => command_from_serenity(command),
        s::Interaction::Autocomplete(command) => autocomplete_from_serenity(command),
        s::Interaction::Component(component) => component_from_serenity(component),
        s::Interaction::Modal(modal) => modal_from_serenity(modal),
        _ => Err(InteractionError::new(
            "serenity delivered an interaction type the command layer does not know",
        )
        .into()),
    }
}

/// Converts a slash command (an application command interaction, type 2).
///
/// # Errors
///
/// As [`interaction_from_serenity`].
pub fn command_from_serenity(command: &s::CommandInteraction) -> Result<Interaction> {
    from_model(2, command)
}

/// Converts an autocomplete request (type 4; serenity uses [`s::CommandInteraction`] for it).
///
/// # Errors
///
/// As [`interaction_from_serenity`].
pub fn autocomplete_from_serenity(command: &s::CommandInteraction) -> Result<Interaction> {
    from_model(4, command)
}

/// Converts a button click or select menu choice (type 3).
///
/// # Errors
///
/// As [`interaction_from_serenity`].
pub fn component_from_serenity(component: &s::ComponentInteraction) -> Result<Interaction> {
    from_model(3, component)
}

/// Converts a modal submission (type 5).
///
/// # Errors
///
/// As [`interaction_from_serenity`].
pub fn modal_from_serenity(modal: &s::ModalInteraction) -> Result<Interaction> {
    from_model(5, modal)
}

/// serenity's models serialize to Discord's shape minus the top-level `type` (the enum
/// variant carries it), so it is put back before parsing.
fn from_model(kind: u8, model: &impl serde::Serialize) -> Result<Interaction> {
    let mut json = serde_json::to_value(model).map_err(|_| {
        Error::from(InteractionError::new(
            "the serenity interaction could not be serialized",
        ))
    })?;
    match &mut json {
        Value::Object(map) => {
            map.insert("type".to_owned(), Value::from(kind));
        }
        _ => {
            return Err(
                InteractionError::new("the serenity interaction is not a JSON object").into(),
            );
        }
    }
    let body = serde_json::to_vec(&json).map_err(|_| {
        Error::from(InteractionError::new(
            "the serenity interaction could not be serialized",
        ))
    })?;
    interaction::parse(&body)
}

/// Our initial response as serenity's builder (`command.create_response(&http, …)`, or
/// `serde_json::to_vec` for an HTTP reply).
pub fn response_to_serenity(response: &InteractionResponse) -> s::CreateInteractionResponse {
    let json = response.to_json();
    let data = json.get("data").unwrap_or(&Value::Null);
    match response {
        InteractionResponse::Pong => s::CreateInteractionResponse::Pong,
        InteractionResponse::Message(_) => s::CreateInteractionResponse::Message(message(data)),
        InteractionResponse::Deferred { .. } => {
            let mut defer = s::CreateInteractionResponseMessage::new();
            if is_ephemeral(data) {
                defer = defer.ephemeral(true);
            }
            s::CreateInteractionResponse::Defer(defer)
        }
        InteractionResponse::DeferredUpdate => s::CreateInteractionResponse::Acknowledge,
        InteractionResponse::Update(_) => {
            s::CreateInteractionResponse::UpdateMessage(message(data))
        }
        InteractionResponse::Autocomplete(_) => {
            s::CreateInteractionResponse::Autocomplete(autocomplete(data))
        }
        InteractionResponse::Modal(_) => s::CreateInteractionResponse::Modal(modal(data)),
    }
}

/// A reply as serenity's edit of the original response (`command.edit_response(&http, …)`),
/// completing a deferral. Ephemerality was fixed at defer time.
pub fn reply_to_edit(reply: &Reply) -> s::EditInteractionResponse {
    let json = reply.to_edit_json();
    let mut edit = s::EditInteractionResponse::new();
    if let Some(content) = json.get("content").and_then(Value::as_str) {
        edit = edit.content(content);
    }
    if let Some(embeds) = json.get("embeds").and_then(Value::as_array) {
        edit = edit.embeds(embeds.iter().map(embed).collect());
    }
    if let Some(rows) = json.get("components").and_then(Value::as_array) {
        edit = edit.components(rows.iter().filter_map(row).collect());
    }
    if let Some(mentions) = json.get("allowed_mentions") {
        edit = edit.allowed_mentions(allowed_mentions(mentions));
    }
    edit
}

/// A reply as serenity's follow-up builder (`command.create_followup(&http, …)`).
pub fn reply_to_followup(reply: &Reply) -> s::CreateInteractionResponseFollowup {
    let json = reply.to_message_json();
    let mut followup = s::CreateInteractionResponseFollowup::new();
    if let Some(content) = json.get("content").and_then(Value::as_str) {
        followup = followup.content(content);
    }
    if let Some(embeds) = json.get("embeds").and_then(Value::as_array) {
        followup = followup.embeds(embeds.iter().map(embed).collect());
    }
    if let Some(rows) = json.get("components").and_then(Value::as_array) {
        followup = followup.components(rows.iter().filter_map(row).collect());
    }
    if let Some(mentions) = json.get("allowed_mentions") {
        followup = followup.allowed_mentions(allowed_mentions(mentions));
    }
    if is_ephemeral(&json) {
        followup = followup.ephemeral(true);
    }
    followup
}

/// Our command specs as serenity's `CreateCommand`s, after the same validation as
/// [`definition::registration`]: names, descriptions, options, choices, bounds, channel
/// types, `default_member_permissions`, `contexts` and `integration_types` match the JSON
/// the library registers itself.
///
/// Integer choices outside the `i32` range and negative integer bounds have no integer
/// setter in serenity 0.12 and are sent as JSON numbers with a fraction (`5.0`), which
/// Discord accepts for INTEGER options.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `command`) when a spec breaks Discord's limits.
pub fn registration_to_serenity(specs: &[CommandSpec]) -> Result<Vec<s::CreateCommand>> {
    definition::registration(specs)?;
    Ok(specs.iter().map(command).collect())
}

fn command(spec: &CommandSpec) -> s::CreateCommand {
    let mut command = s::CreateCommand::new(spec.name.as_str())
        .kind(s::CommandType::ChatInput)
        .description(spec.description.as_str());
    if let Some(permissions) = spec.default_member_permissions {
        command = command
            .default_member_permissions(s::Permissions::from_bits_retain(permissions.bits()));
    }
    let contexts = if spec.guild_only {
        vec![s::InteractionContext::Guild]
    } else {
        vec![s::InteractionContext::Guild, s::InteractionContext::BotDm]
    };
    command
        .contexts(contexts)
        .integration_types(vec![s::InstallationContext::Guild])
        .set_options(spec.options.iter().map(option).collect())
}

fn option(spec: &OptionSpec) -> s::CreateCommandOption {
    let kind = s::CommandOptionType::from(spec.kind.code());
    let mut option =
        s::CreateCommandOption::new(kind, spec.name.as_str(), spec.description.as_str())
            .required(spec.required);
    for choice in &spec.choices {
        option = match &choice.value {
            ChoiceValue::String(value) => {
                option.add_string_choice(choice.name.as_str(), value.as_str())
            }
            ChoiceValue::Integer(value) => match i32::try_from(*value) {
                Ok(small) => option.add_int_choice(choice.name.as_str(), small),
                #[allow(clippy::cast_precision_loss)] // validated to within ±2^53
                Err(_) => option.add_number_choice(choice.name.as_str(), *value as f64),
            },
        };
    }
    if spec.autocomplete {
        option = option.set_autocomplete(true);
    }
    option = bounds(option, spec);
    if let Some(min) = spec.min_length {
        option = option.min_length(min);
    }
    if let Some(max) = spec.max_length {
        option = option.max_length(max);
    }
    if !spec.channel_types.is_empty() {
        option = option.channel_types(
            spec.channel_types
                .iter()
                .map(|t| s::ChannelType::from(*t))
                .collect(),
        );
    }
    for sub in &spec.options {
        option = option.add_sub_option(self::option(sub));
    }
    option
}

/// `min_value`/`max_value`: whole non-negative bounds of INTEGER options as integers.
fn bounds(mut option: s::CreateCommandOption, spec: &OptionSpec) -> s::CreateCommandOption {
    let whole = |v: f64| {
        (spec.kind == OptionKind::Integer
            && v >= 0.0
            && v.fract() == 0.0
            && v <= 9_007_199_254_740_991.0)
            // Checked: whole, non-negative and at most 2^53 - 1 (exact in an f64).
            .then(|| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let n = v as u64;
                n
            })
    };
    if let Some(min) = spec.min_value {
        option = match whole(min) {
            Some(n) => option.min_int_value(n),
            None => option.min_number_value(min),
        };
    }
    if let Some(max) = spec.max_value {
        option = match whole(max) {
            Some(n) => option.max_int_value(n),
            None => option.max_number_value(max),
        };
    }
    option
}

fn is_ephemeral(data: &Value) -> bool {
    data.get("flags")
        .and_then(Value::as_u64)
        .is_some_and(|f| f & EPHEMERAL != 0)
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A message body (types 4 and 7) from our JSON.
fn message(data: &Value) -> s::CreateInteractionResponseMessage {
    let mut message = s::CreateInteractionResponseMessage::new();
    if let Some(content) = str_of(data, "content") {
        message = message.content(content);
    }
    if let Some(embeds) = data.get("embeds").and_then(Value::as_array) {
        message = message.embeds(embeds.iter().map(embed).collect());
    }
    if let Some(rows) = data.get("components").and_then(Value::as_array) {
        message = message.components(rows.iter().filter_map(row).collect());
    }
    if let Some(mentions) = data.get("allowed_mentions") {
        message = message.allowed_mentions(allowed_mentions(mentions));
    }
    // `ephemeral(false)` would send `"flags": 0`; our JSON sends no flags then.
    if is_ephemeral(data) {
        message = message.ephemeral(true);
    }
    message
}

fn snowflakes(value: &Value, key: &str) -> Vec<u64> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str()?.parse::<u64>().ok())
        .filter(|id| *id != 0)
        .collect()
}

/// Nobody is pinged unless listed (serenity's default `parse` is empty, like ours).
fn allowed_mentions(value: &Value) -> s::CreateAllowedMentions {
    s::CreateAllowedMentions::new()
        .users(snowflakes(value, "users").into_iter().map(s::UserId::new))
        .roles(snowflakes(value, "roles").into_iter().map(s::RoleId::new))
}

fn embed(value: &Value) -> s::CreateEmbed {
    let mut embed = s::CreateEmbed::new();
    if let Some(title) = str_of(value, "title") {
        embed = embed.title(title);
    }
    if let Some(url) = str_of(value, "url") {
        embed = embed.url(url);
    }
    if let Some(description) = str_of(value, "description") {
        embed = embed.description(description);
    }
    if let Some(color) = value
        .get("color")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
    {
        embed = embed.colour(color);
    }
    for field in value
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_of(field, "name").unwrap_or_default();
        let text = str_of(field, "value").unwrap_or_default();
        let inline = field
            .get("inline")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        embed = embed.field(name, text, inline);
    }
    if let Some(url) = value.get("thumbnail").and_then(|t| str_of(t, "url")) {
        embed = embed.thumbnail(url);
    }
    if let Some(text) = value.get("footer").and_then(|f| str_of(f, "text")) {
        embed = embed.footer(s::CreateEmbedFooter::new(text));
    }
    if let Some(url) = value.get("image").and_then(|i| str_of(i, "url")) {
        embed = embed.image(url);
    }
    embed
}

/// An action row from our JSON; `None` for a row with nothing serenity can show.
fn row(value: &Value) -> Option<s::CreateActionRow> {
    let components = value.get("components").and_then(Value::as_array)?;
    let first = components.first()?;
    match first.get("type").and_then(Value::as_u64)? {
        2 => {
            let buttons: Vec<s::CreateButton> = components.iter().filter_map(button).collect();
            (!buttons.is_empty()).then_some(s::CreateActionRow::Buttons(buttons))
        }
        3 => {
            let options = first
                .get("options")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| {
                    let mut option =
                        s::CreateSelectMenuOption::new(str_of(o, "label")?, str_of(o, "value")?);
                    if let Some(description) = str_of(o, "description") {
                        option = option.description(description);
                    }
                    Some(option)
                })
                .collect();
            let mut menu = s::CreateSelectMenu::new(
                str_of(first, "custom_id")?,
                s::CreateSelectMenuKind::String { options },
            );
            if let Some(placeholder) = str_of(first, "placeholder") {
                menu = menu.placeholder(placeholder);
            }
            Some(s::CreateActionRow::SelectMenu(menu))
        }
        4 => {
            let style = match first.get("style").and_then(Value::as_u64) {
                Some(2) => s::InputTextStyle::Paragraph,
                _ => s::InputTextStyle::Short,
            };
            let mut input = s::CreateInputText::new(
                style,
                str_of(first, "label")?,
                str_of(first, "custom_id")?,
            )
            .required(
                first
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            );
            if let Some(value) = str_of(first, "value") {
                input = input.value(value);
            }
            if let Some(placeholder) = str_of(first, "placeholder") {
                input = input.placeholder(placeholder);
            }
            Some(s::CreateActionRow::InputText(input))
        }
        _ => None,
    }
}

fn button(value: &Value) -> Option<s::CreateButton> {
    let label = str_of(value, "label").unwrap_or_default();
    let disabled = value
        .get("disabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let button = match value.get("style").and_then(Value::as_u64)? {
        5 => s::CreateButton::new_link(str_of(value, "url")?),
        style => s::CreateButton::new(str_of(value, "custom_id")?).style(match style {
            1 => s::ButtonStyle::Primary,
            3 => s::ButtonStyle::Success,
            4 => s::ButtonStyle::Danger,
            _ => s::ButtonStyle::Secondary,
        }),
    };
    Some(button.label(label).disabled(disabled))
}

fn autocomplete(data: &Value) -> s::CreateAutocompleteResponse {
    let choices = data
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let name = str_of(c, "name")?;
            let value = c.get("value")?.clone();
            Some(s::AutocompleteChoice::new(name, value))
        })
        .collect();
    s::CreateAutocompleteResponse::new().set_choices(choices)
}

fn modal(data: &Value) -> s::CreateModal {
    let rows = data
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(row)
        .collect();
    s::CreateModal::new(
        str_of(data, "custom_id").unwrap_or_default(),
        str_of(data, "title").unwrap_or_default(),
    )
    .components(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_json(value: &impl serde::Serialize) -> Value {
        serde_json::to_value(value).unwrap_or_default()
    }

    #[test]
    fn rows_serenity_cannot_show_are_dropped_not_panicked_on() {
        for hostile in [
            json!(null),
            json!({"type": 1}),
            json!({"type": 1, "components": []}),
            json!({"type": 1, "components": [{"type": 99}]}),
            json!({"type": 1, "components": [{"type": 2, "style": 5}]}),
            json!({"type": 1, "components": [{"type": 2, "style": 1}]}),
            json!({"type": 1, "components": [{"type": 3}]}),
            json!({"type": 1, "components": [{"type": 4, "label": "x"}]}),
        ] {
            assert!(row(&hostile).is_none(), "{hostile}");
        }
        let kept = row(&json!({"type": 1, "components": [
            {"type": 2, "style": 5},
            {"type": 2, "style": 2, "custom_id": "a", "label": "A"}
        ]}));
        let kept = kept.map(|r| to_json(&r)).unwrap_or_default();
        assert_eq!(kept["components"].as_array().map(Vec::len), Some(1));
        assert_eq!(kept["components"][0]["style"], 2);
    }

    #[test]
    fn zero_ids_in_allowed_mentions_are_skipped() {
        let mentions = allowed_mentions(&json!({"users": ["0", "12", "x", 5], "roles": ["7"]}));
        let json = to_json(&mentions);
        assert_eq!(json["users"], json!(["12"]));
        assert_eq!(json["roles"], json!(["7"]));
        assert_eq!(json["parse"], json!([]));
    }

    #[test]
    fn integer_bounds_and_choices_outside_serenitys_setters_stay_numbers() {
        let mut spec = OptionSpec::integer("offset", "Offset").range(-5.0, 10.0);
        spec.choices.push(crate::commands::reply::Choice {
            name: "big".to_owned(),
            value: ChoiceValue::Integer(5_000_000_000),
        });
        spec.choices.push(crate::commands::reply::Choice {
            name: "small".to_owned(),
            value: ChoiceValue::Integer(3),
        });
        let json = to_json(&option(&spec));
        assert_eq!(json["min_value"], json!(-5.0));
        assert_eq!(json["max_value"], json!(10));
        assert_eq!(json["choices"][0]["value"], json!(5_000_000_000.0));
        assert_eq!(json["choices"][1]["value"], json!(3));
    }
}
