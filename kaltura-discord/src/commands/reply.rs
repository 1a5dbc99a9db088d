//! What the command layer answers: our own reply types, converted to Discord JSON at the
//! edge (see [`InteractionResponse::to_json`] and [`Reply::to_message_json`]).
//!
//! Discord's limits (content 2,000 characters, 10 embeds, titles 256, descriptions 4,096,
//! 25 fields of 256/1,024, 6,000 characters over all embeds, 5 rows of 5 buttons, labels 80,
//! URLs 512, custom ids 100) are applied by the conversion, counting characters, so a reply
//! built from long Kaltura titles is still one Discord accepts.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::ids::{DiscordUserId, RoleId};

/// A message: content, embeds, components, ephemeral flag and the mentions it may ping.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// Plain text content.
    pub content: Option<String>,
    /// Embeds (at most 10 are sent).
    pub embeds: Vec<Embed>,
    /// Rows of components (at most 5 are sent).
    pub components: Vec<ActionRow>,
    /// Only the invoker sees it.
    pub ephemeral: bool,
    /// Who may be pinged; nobody unless listed.
    pub allowed_mentions: AllowedMentions,
}

impl Reply {
    /// A reply with `content`.
    pub fn text(content: impl Into<String>) -> Self {
        Reply {
            content: Some(content.into()),
            ..Reply::default()
        }
    }

    /// Makes it ephemeral (only the invoker sees it).
    pub fn ephemeral(mut self) -> Self {
        self.ephemeral = true;
        self
    }

    /// Adds an embed.
    pub fn embed(mut self, embed: Embed) -> Self {
        self.embeds.push(embed);
        self
    }

    /// Adds a row of components.
    pub fn row(mut self, row: ActionRow) -> Self {
        self.components.push(row);
        self
    }
}

/// An embed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Embed {
    /// Title.
    pub title: Option<String>,
    /// Link of the title.
    pub url: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Side colour (0xRRGGBB).
    pub color: Option<u32>,
    /// Fields.
    pub fields: Vec<EmbedField>,
    /// Thumbnail image URL.
    pub thumbnail: Option<String>,
    /// Footer text.
    pub footer: Option<String>,
}

impl Embed {
    /// An embed titled `title`.
    pub fn titled(title: impl Into<String>) -> Self {
        Embed {
            title: Some(title.into()),
            ..Embed::default()
        }
    }

    /// Adds a field.
    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Self {
        self.fields.push(EmbedField {
            name: name.into(),
            value: value.into(),
            inline,
        });
        self
    }
}

/// An embed field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmbedField {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Shown beside other inline fields.
    pub inline: bool,
}

/// A row of components.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ActionRow {
    /// Up to 5 buttons.
    Buttons(Vec<Button>),
    /// One string select menu.
    Select(Select),
}

/// A button.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Button {
    /// Opens a URL; sends no interaction.
    Link {
        /// Label.
        label: String,
        /// URL (http or https).
        url: String,
    },
    /// Sends a component interaction with `custom_id`.
    Action {
        /// Label.
        label: String,
        /// The custom id (see [`crate::commands::custom_id`]).
        custom_id: String,
        /// Style.
        style: ButtonStyle,
        /// Greyed out.
        disabled: bool,
    },
}

/// Style of an action button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ButtonStyle {
    /// Blurple (1).
    Primary,
    /// Grey (2).
    Secondary,
    /// Green (3).
    Success,
    /// Red (4).
    Danger,
}

/// A string select menu.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Select {
    /// The custom id.
    pub custom_id: String,
    /// Placeholder text.
    pub placeholder: Option<String>,
    /// The options (at most 25 are sent).
    pub options: Vec<SelectOption>,
}

/// One option of a select menu.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelectOption {
    /// Shown label.
    pub label: String,
    /// Value sent back.
    pub value: String,
    /// Smaller text under the label.
    pub description: Option<String>,
}

/// Who a message may ping. The default pings nobody (`"parse": []`), so text from Kaltura
/// or a member (`@everyone` in a title) stays inert.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AllowedMentions {
    /// Users that may be pinged.
    pub users: Vec<DiscordUserId>,
    /// Roles that may be pinged.
    pub roles: Vec<RoleId>,
}

/// An autocomplete suggestion or a registered option choice.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    /// Shown name (1-100 characters).
    pub name: String,
    /// The value.
    pub value: ChoiceValue,
}

/// The value of a [`Choice`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ChoiceValue {
    /// For STRING options (at most 100 characters).
    String(String),
    /// For INTEGER options.
    Integer(i64),
}

/// A modal (a form with up to 5 text inputs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Modal {
    /// Custom id.
    pub custom_id: String,
    /// Title (at most 45 characters).
    pub title: String,
    /// Text inputs.
    pub inputs: Vec<TextInput>,
}

/// A text input of a modal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextInput {
    /// Custom id.
    pub custom_id: String,
    /// Label.
    pub label: String,
    /// Multi-line.
    pub paragraph: bool,
    /// Must be filled.
    pub required: bool,
    /// Pre-filled value.
    pub value: Option<String>,
}

/// The initial answer to an interaction (Discord's interaction callback types).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum InteractionResponse {
    /// PONG (1).
    Pong,
    /// CHANNEL_MESSAGE_WITH_SOURCE (4).
    Message(Reply),
    /// DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (5): "thinking…", the reply follows as an edit of
    /// the original response.
    Deferred {
        /// Whether the final reply is ephemeral (fixed at defer time).
        ephemeral: bool,
    },
    /// DEFERRED_UPDATE_MESSAGE (6): a click acknowledged; the message is edited later.
    DeferredUpdate,
    /// UPDATE_MESSAGE (7): replaces the message the component is on.
    Update(Reply),
    /// APPLICATION_COMMAND_AUTOCOMPLETE_RESULT (8), at most 25 choices.
    Autocomplete(Vec<Choice>),
    /// MODAL (9).
    Modal(Modal),
}

// ---------------------------------------------------------------------------------------
// Conversion to Discord JSON, with Discord's limits applied (counting characters).

/// Discord's limits on messages, embeds and components, as applied by the conversion.
pub mod limits {
    /// Message content, characters.
    pub const CONTENT: usize = 2000;
    /// Embeds per message.
    pub const EMBEDS: usize = 10;
    /// Embed title, characters.
    pub const EMBED_TITLE: usize = 256;
    /// Embed description, characters.
    pub const EMBED_DESCRIPTION: usize = 4096;
    /// Fields per embed.
    pub const EMBED_FIELDS: usize = 25;
    /// Field name, characters.
    pub const FIELD_NAME: usize = 256;
    /// Field value, characters.
    pub const FIELD_VALUE: usize = 1024;
    /// Footer text, characters.
    pub const FOOTER: usize = 2048;
    /// Characters across all embeds of a message (titles, descriptions, fields, footers).
    pub const EMBEDS_TOTAL: usize = 6000;
    /// URL of an embed, its title link or thumbnail, characters.
    pub const EMBED_URL: usize = 2048;
    /// Action rows per message.
    pub const ROWS: usize = 5;
    /// Buttons per row.
    pub const BUTTONS_PER_ROW: usize = 5;
    /// Button label, characters.
    pub const BUTTON_LABEL: usize = 80;
    /// Link button URL, characters.
    pub const BUTTON_URL: usize = 512;
    /// Custom id of a component or modal, characters (at least 1).
    pub const CUSTOM_ID: usize = 100;
    /// Options of a select menu.
    pub const SELECT_OPTIONS: usize = 25;
    /// Select placeholder, characters.
    pub const SELECT_PLACEHOLDER: usize = 150;
    /// Select option label, value and description, characters.
    pub const SELECT_OPTION_TEXT: usize = 100;
    /// Autocomplete choices.
    pub const CHOICES: usize = 25;
    /// Choice name and string value, characters.
    pub const CHOICE_TEXT: usize = 100;
    /// Modal title, characters.
    pub const MODAL_TITLE: usize = 45;
    /// Text inputs of a modal.
    pub const MODAL_INPUTS: usize = 5;
    /// Text input label, characters.
    pub const INPUT_LABEL: usize = 45;
    /// Text input value, characters.
    pub const INPUT_VALUE: usize = 4000;
    /// Users or roles listed in `allowed_mentions`.
    pub const MENTIONS: usize = 100;
    /// The largest integer Discord accepts in an INTEGER value (2^53 - 1).
    pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
}

/// The `flags` bit that makes a message ephemeral.
pub const EPHEMERAL_FLAG: u64 = 1 << 6;

/// What a reply with nothing at all says, so that Discord accepts it.
pub const NO_CONTENT: &str = "(no content)";

/// What stands for a text Discord requires but the reply left empty (a zero-width space).
const BLANK: &str = "\u{200b}";

/// What a modal that cannot be shown (no valid custom id or text input) becomes.
const MODAL_FALLBACK: &str = "This form could not be shown.";

/// `s` cut to at most `max` characters; a cut text ends with "…".
fn truncate(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    if s.chars().nth(max).is_none() {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn non_blank(s: Option<&String>) -> Option<&str> {
    s.map(String::as_str).filter(|s| !s.trim().is_empty())
}

fn is_web_url(raw: &str, max: usize) -> bool {
    chars(raw) <= max && url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn custom_id_ok(id: &str) -> bool {
    let n = chars(id);
    (1..=limits::CUSTOM_ID).contains(&n)
}

impl ButtonStyle {
    /// Discord's numeric style.
    pub const fn code(self) -> u8 {
        match self {
            ButtonStyle::Primary => 1,
            ButtonStyle::Secondary => 2,
            ButtonStyle::Success => 3,
            ButtonStyle::Danger => 4,
        }
    }
}

/// The style of a link button.
const LINK_STYLE: u8 = 5;

/// The converted embeds, within every per-embed limit and the 6,000-character total:
/// earlier text is kept, later text is cut first.
fn embeds_json(embeds: &[Embed]) -> Vec<Value> {
    let mut budget = limits::EMBEDS_TOTAL;
    let mut out = Vec::new();
    for embed in embeds.iter().take(limits::EMBEDS) {
        if let Some(e) = embed_json(embed, &mut budget) {
            out.push(e);
        }
    }
    out
}

/// Takes up to `max` characters of `s` from `budget`; `None` when nothing is left.
fn spend(s: &str, max: usize, budget: &mut usize) -> Option<String> {
    let cut = truncate(s, max.min(*budget));
    if cut.is_empty() {
        return None;
    }
    *budget -= chars(&cut);
    Some(cut)
}

fn embed_json(embed: &Embed, budget: &mut usize) -> Option<Value> {
    let mut obj = Map::new();
    if let Some(title) = non_blank(embed.title.as_ref())
        && let Some(t) = spend(title, limits::EMBED_TITLE, budget)
    {
        obj.insert("title".into(), json!(t));
    }
    if let Some(url) = embed.url.as_deref()
        && obj.contains_key("title")
        && is_web_url(url, limits::EMBED_URL)
    {
        obj.insert("url".into(), json!(url));
    }
    if let Some(description) = non_blank(embed.description.as_ref())
        && let Some(d) = spend(description, limits::EMBED_DESCRIPTION, budget)
    {
        obj.insert("description".into(), json!(d));
    }
    let mut fields = Vec::new();
    for field in embed.fields.iter().take(limits::EMBED_FIELDS) {
        let name = if field.name.trim().is_empty() {
            BLANK
        } else {
            field.name.as_str()
        };
        let value = if field.value.trim().is_empty() {
            BLANK
        } else {
            field.value.as_str()
        };
        // A field needs a name and a value of at least one character each.
        if *budget < 2 {
            break;
        }
        let Some(n) = spend(name, limits::FIELD_NAME.min(*budget - 1), budget) else {
            break;
        };
        let Some(v) = spend(value, limits::FIELD_VALUE, budget) else {
            break;
        };
        fields.push(json!({"name": n, "value": v, "inline": field.inline}));
    }
    if !fields.is_empty() {
        obj.insert("fields".into(), Value::Array(fields));
    }
    if let Some(thumbnail) = embed.thumbnail.as_deref()
        && is_web_url(thumbnail, limits::EMBED_URL)
    {
        obj.insert("thumbnail".into(), json!({ "url": thumbnail }));
    }
    if let Some(footer) = non_blank(embed.footer.as_ref())
        && let Some(f) = spend(footer, limits::FOOTER, budget)
    {
        obj.insert("footer".into(), json!({ "text": f }));
    }
    // An embed showing nothing (or only a colour) is refused by Discord: leave it out.
    if obj.is_empty() {
        return None;
    }
    if let Some(color) = embed.color {
        obj.insert("color".into(), json!(color & 0x00FF_FFFF));
    }
    Some(Value::Object(obj))
}

fn button_json(button: &Button, custom_ids: &mut BTreeSet<String>) -> Option<Value> {
    match button {
        Button::Link { label, url } => {
            if label.trim().is_empty() || !is_web_url(url, limits::BUTTON_URL) {
                return None;
            }
            Some(json!({
                "type": 2,
                "style": LINK_STYLE,
                "label": truncate(label, limits::BUTTON_LABEL),
                "url": url,
            }))
        }
        Button::Action {
            label,
            custom_id,
            style,
            disabled,
        } => {
            if label.trim().is_empty()
                || !custom_id_ok(custom_id)
                || !custom_ids.insert(custom_id.clone())
            {
                return None;
            }
            Some(json!({
                "type": 2,
                "style": style.code(),
                "label": truncate(label, limits::BUTTON_LABEL),
                "custom_id": custom_id,
                "disabled": disabled,
            }))
        }
    }
}

fn select_json(select: &Select, custom_ids: &mut BTreeSet<String>) -> Option<Value> {
    if !custom_id_ok(&select.custom_id) || custom_ids.contains(&select.custom_id) {
        return None;
    }
    let mut values = BTreeSet::new();
    let options: Vec<Value> = select
        .options
        .iter()
        .filter(|o| {
            !o.label.trim().is_empty()
                && (1..=limits::SELECT_OPTION_TEXT).contains(&chars(&o.value))
                && values.insert(o.value.as_str())
        })
        .take(limits::SELECT_OPTIONS)
        .map(|o| {
            let mut obj = Map::new();
            obj.insert(
                "label".into(),
                json!(truncate(&o.label, limits::SELECT_OPTION_TEXT)),
            );
            obj.insert("value".into(), json!(o.value));
            if let Some(d) = non_blank(o.description.as_ref()) {
                obj.insert(
                    "description".into(),
                    json!(truncate(d, limits::SELECT_OPTION_TEXT)),
                );
            }
            Value::Object(obj)
        })
        .collect();
    if options.is_empty() {
        return None;
    }
    custom_ids.insert(select.custom_id.clone());
    let mut obj = Map::new();
    obj.insert("type".into(), json!(3));
    obj.insert("custom_id".into(), json!(select.custom_id));
    if let Some(p) = non_blank(select.placeholder.as_ref()) {
        obj.insert(
            "placeholder".into(),
            json!(truncate(p, limits::SELECT_PLACEHOLDER)),
        );
    }
    obj.insert("options".into(), Value::Array(options));
    Some(Value::Object(obj))
}

/// The converted rows: invalid buttons, selects and empty rows left out, at most 5 rows of
/// at most 5 buttons, custom ids unique within the message.
fn rows_json(rows: &[ActionRow]) -> Vec<Value> {
    let mut custom_ids = BTreeSet::new();
    let mut out = Vec::new();
    for row in rows {
        if out.len() == limits::ROWS {
            break;
        }
        let components: Vec<Value> = match row {
            ActionRow::Buttons(buttons) => buttons
                .iter()
                .filter_map(|b| button_json(b, &mut custom_ids))
                .take(limits::BUTTONS_PER_ROW)
                .collect(),
            ActionRow::Select(select) => select_json(select, &mut custom_ids).into_iter().collect(),
        };
        if !components.is_empty() {
            out.push(json!({"type": 1, "components": components}));
        }
    }
    out
}

fn allowed_mentions_json(mentions: &AllowedMentions) -> Value {
    let users: BTreeSet<String> = mentions.users.iter().map(ToString::to_string).collect();
    let roles: BTreeSet<String> = mentions.roles.iter().map(ToString::to_string).collect();
    let users: Vec<String> = users.into_iter().take(limits::MENTIONS).collect();
    let roles: Vec<String> = roles.into_iter().take(limits::MENTIONS).collect();
    json!({"parse": [], "users": users, "roles": roles})
}

impl Reply {
    /// The message body Discord takes for an interaction reply (type 4) and a follow-up
    /// (`POST /webhooks/{application}/{token}`): `content`, `embeds`, `components`,
    /// `allowed_mentions` (always sent, so nothing pings unless listed) and `flags` (64 when
    /// ephemeral). Discord's limits are applied (see [`limits`]): texts are cut with "…",
    /// invalid buttons (a link that is not http(s) or longer than 512 characters, a custom
    /// id outside 1-100 characters or used twice) and empty rows or embeds are left out. A
    /// reply with nothing left to show says [`NO_CONTENT`].
    pub fn to_message_json(&self) -> Value {
        let mut obj = self.body_json(false);
        if self.ephemeral {
            obj.insert("flags".into(), json!(EPHEMERAL_FLAG));
        }
        Value::Object(obj)
    }

    /// The body for editing an existing message: the original response after a deferral
    /// (`PATCH …/messages/@original`), a follow-up, or the message a component is on (type
    /// 7). Like [`Reply::to_message_json`], but `content`, `embeds` and `components` are
    /// always present (empty ones clear what the message showed) and there are no `flags`:
    /// whether a message is ephemeral is fixed when it is created.
    pub fn to_edit_json(&self) -> Value {
        Value::Object(self.body_json(true))
    }

    fn body_json(&self, edit: bool) -> Map<String, Value> {
        let content = non_blank(self.content.as_ref()).map(|c| truncate(c, limits::CONTENT));
        let embeds = embeds_json(&self.embeds);
        let components = rows_json(&self.components);
        let mut obj = Map::new();
        match content {
            Some(c) => {
                obj.insert("content".into(), json!(c));
            }
            None if embeds.is_empty() && components.is_empty() => {
                obj.insert("content".into(), json!(NO_CONTENT));
            }
            None if edit => {
                obj.insert("content".into(), json!(""));
            }
            None => {}
        }
        if edit || !embeds.is_empty() {
            obj.insert("embeds".into(), Value::Array(embeds));
        }
        if edit || !components.is_empty() {
            obj.insert("components".into(), Value::Array(components));
        }
        obj.insert(
            "allowed_mentions".into(),
            allowed_mentions_json(&self.allowed_mentions),
        );
        obj
    }
}

fn choices_json(choices: &[Choice]) -> Value {
    let list: Vec<Value> = choices
        .iter()
        .filter_map(|c| {
            if c.name.trim().is_empty() {
                return None;
            }
            let value = match &c.value {
                // A cut value would not be the value any more: leave the choice out.
                ChoiceValue::String(s) if chars(s) <= limits::CHOICE_TEXT => json!(s),
                ChoiceValue::Integer(i) if i.abs() <= limits::MAX_SAFE_INTEGER => json!(i),
                _ => return None,
            };
            Some(json!({"name": truncate(&c.name, limits::CHOICE_TEXT), "value": value}))
        })
        .take(limits::CHOICES)
        .collect();
    json!({ "choices": list })
}

fn modal_json(modal: &Modal) -> Option<Value> {
    if !custom_id_ok(&modal.custom_id) {
        return None;
    }
    let mut ids = BTreeSet::new();
    let rows: Vec<Value> = modal
        .inputs
        .iter()
        .filter(|i| custom_id_ok(&i.custom_id) && ids.insert(i.custom_id.as_str()))
        .take(limits::MODAL_INPUTS)
        .map(|i| {
            let label = if i.label.trim().is_empty() {
                BLANK
            } else {
                i.label.as_str()
            };
            let mut input = Map::new();
            input.insert("type".into(), json!(4));
            input.insert("custom_id".into(), json!(i.custom_id));
            input.insert("label".into(), json!(truncate(label, limits::INPUT_LABEL)));
            input.insert("style".into(), json!(if i.paragraph { 2 } else { 1 }));
            input.insert("required".into(), json!(i.required));
            if let Some(v) = &i.value {
                input.insert("value".into(), json!(truncate(v, limits::INPUT_VALUE)));
            }
            json!({"type": 1, "components": [Value::Object(input)]})
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let title = if modal.title.trim().is_empty() {
        BLANK
    } else {
        modal.title.as_str()
    };
    Some(json!({
        "custom_id": modal.custom_id,
        "title": truncate(title, limits::MODAL_TITLE),
        "components": rows,
    }))
}

impl InteractionResponse {
    /// Discord's callback type of this response (1, 4, 5, 6, 7, 8 or 9).
    pub const fn callback_type(&self) -> u8 {
        match self {
            InteractionResponse::Pong => 1,
            InteractionResponse::Message(_) => 4,
            InteractionResponse::Deferred { .. } => 5,
            InteractionResponse::DeferredUpdate => 6,
            InteractionResponse::Update(_) => 7,
            InteractionResponse::Autocomplete(_) => 8,
            InteractionResponse::Modal(_) => 9,
        }
    }

    /// The interaction response JSON, as the body of the answer to Discord's POST or of
    /// `POST /interactions/{id}/{token}/callback`: `{"type": …, "data": …}` with Discord's
    /// limits applied (see [`Reply::to_message_json`]). `Deferred { ephemeral: true }` is
    /// `{"type":5,"data":{"flags":64}}`; a modal that has no valid custom id or text input
    /// becomes an ephemeral message saying the form could not be shown.
    ///
    /// ```
    /// use kaltura_discord::commands::{InteractionResponse, Reply};
    ///
    /// let pong = InteractionResponse::Pong.to_json();
    /// assert_eq!(pong.to_string(), r#"{"type":1}"#);
    /// let hi = InteractionResponse::Message(Reply::text("@everyone hi").ephemeral()).to_json();
    /// assert_eq!(hi["data"]["flags"], 64);
    /// assert_eq!(hi["data"]["allowed_mentions"]["parse"], serde_json::json!([]));
    /// ```
    pub fn to_json(&self) -> Value {
        match self {
            InteractionResponse::Pong => json!({"type": 1}),
            InteractionResponse::Message(reply) => {
                json!({"type": 4, "data": reply.to_message_json()})
            }
            InteractionResponse::Deferred { ephemeral: true } => {
                json!({"type": 5, "data": {"flags": EPHEMERAL_FLAG}})
            }
            InteractionResponse::Deferred { ephemeral: false } => json!({"type": 5}),
            InteractionResponse::DeferredUpdate => json!({"type": 6}),
            InteractionResponse::Update(reply) => {
                json!({"type": 7, "data": reply.to_edit_json()})
            }
            InteractionResponse::Autocomplete(choices) => {
                json!({"type": 8, "data": choices_json(choices)})
            }
            InteractionResponse::Modal(modal) => match modal_json(modal) {
                Some(data) => json!({"type": 9, "data": data}),
                None => {
                    InteractionResponse::Message(Reply::text(MODAL_FALLBACK).ephemeral()).to_json()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user(id: u64) -> DiscordUserId {
        DiscordUserId::new(id).unwrap()
    }

    fn action(label: &str, custom_id: &str) -> Button {
        Button::Action {
            label: label.into(),
            custom_id: custom_id.into(),
            style: ButtonStyle::Primary,
            disabled: false,
        }
    }

    fn link(label: &str, url: &str) -> Button {
        Button::Link {
            label: label.into(),
            url: url.into(),
        }
    }

    fn rich_reply() -> Reply {
        let mut embed = Embed::titled("Quarterly all-hands")
            .field("Duration", "42:17", true)
            .field("Owner", "Dana", true)
            .field("Tags", "keynote, q3", false);
        embed.url = Some("https://example.invalid/media/1_abc123".into());
        embed.description = Some("Recorded on 2 November".into());
        embed.color = Some(0x00A3_E0FF);
        embed.thumbnail = Some("https://example.invalid/thumb/1_abc123.jpg".into());
        embed.footer = Some("Kaltura".into());
        Reply::text("Here is the video")
            .embed(embed)
            .row(ActionRow::Buttons(vec![
                link("Watch", "https://example.invalid/watch/1_abc123"),
                action("Share", "kd:v1:share:1_abc123"),
                Button::Action {
                    label: "Delete".into(),
                    custom_id: "kd:v1:delete:1_abc123".into(),
                    style: ButtonStyle::Danger,
                    disabled: true,
                },
            ]))
            .row(ActionRow::Select(Select {
                custom_id: "kd:v1:pick".into(),
                placeholder: Some("More videos".into()),
                options: vec![
                    SelectOption {
                        label: "Intro".into(),
                        value: "1_aaa".into(),
                        description: Some("3 minutes".into()),
                    },
                    SelectOption {
                        label: "Demo".into(),
                        value: "1_bbb".into(),
                        description: None,
                    },
                ],
            }))
    }

    #[test]
    fn snapshot_pong() {
        insta::assert_json_snapshot!(InteractionResponse::Pong.to_json());
    }

    #[test]
    fn snapshot_message_rich() {
        insta::assert_json_snapshot!(InteractionResponse::Message(rich_reply()).to_json());
    }

    #[test]
    fn snapshot_message_ephemeral_text() {
        let mut reply = Reply::text("Only you can see this, <@555555555555555555>").ephemeral();
        reply
            .allowed_mentions
            .users
            .push(user(555_555_555_555_555_555));
        insta::assert_json_snapshot!(InteractionResponse::Message(reply).to_json());
    }

    #[test]
    fn snapshot_deferred() {
        insta::assert_json_snapshot!(
            "deferred_ephemeral",
            InteractionResponse::Deferred { ephemeral: true }.to_json()
        );
        insta::assert_json_snapshot!(
            "deferred_public",
            InteractionResponse::Deferred { ephemeral: false }.to_json()
        );
        assert_eq!(
            InteractionResponse::Deferred { ephemeral: true }.to_json(),
            json!({"type": 5, "data": {"flags": 64}})
        );
    }

    #[test]
    fn snapshot_deferred_update() {
        insta::assert_json_snapshot!(InteractionResponse::DeferredUpdate.to_json());
    }

    #[test]
    fn snapshot_update() {
        // An update replaces the message: empty embeds and components clear the old ones;
        // no flags (ephemerality cannot change).
        let reply = Reply::text("Meeting ended.").ephemeral();
        insta::assert_json_snapshot!(InteractionResponse::Update(reply).to_json());
    }

    #[test]
    fn snapshot_autocomplete() {
        let choices = vec![
            Choice {
                name: "Weekly sync (live)".into(),
                value: ChoiceValue::String("m_42".into()),
            },
            Choice {
                name: "Page 2".into(),
                value: ChoiceValue::Integer(2),
            },
        ];
        insta::assert_json_snapshot!(InteractionResponse::Autocomplete(choices).to_json());
    }

    #[test]
    fn snapshot_modal() {
        let modal = Modal {
            custom_id: "kd:v1:meeting-form".into(),
            title: "Start a meeting".into(),
            inputs: vec![
                TextInput {
                    custom_id: "title".into(),
                    label: "Title".into(),
                    paragraph: false,
                    required: true,
                    value: Some("Weekly sync".into()),
                },
                TextInput {
                    custom_id: "description".into(),
                    label: "Description".into(),
                    paragraph: true,
                    required: false,
                    value: None,
                },
            ],
        };
        insta::assert_json_snapshot!(InteractionResponse::Modal(modal).to_json());
    }

    #[test]
    fn callback_types() {
        let all = [
            (InteractionResponse::Pong, 1),
            (InteractionResponse::Message(Reply::text("x")), 4),
            (InteractionResponse::Deferred { ephemeral: false }, 5),
            (InteractionResponse::DeferredUpdate, 6),
            (InteractionResponse::Update(Reply::text("x")), 7),
            (InteractionResponse::Autocomplete(vec![]), 8),
        ];
        for (r, t) in all {
            assert_eq!(r.callback_type(), t);
            assert_eq!(r.to_json()["type"], t);
        }
    }

    #[test]
    fn everyone_in_content_pings_nobody() {
        let json = Reply::text("@everyone @here <@&1200000000000000010> hi").to_message_json();
        assert_eq!(
            json["allowed_mentions"],
            json!({"parse": [], "users": [], "roles": []})
        );
        assert_eq!(
            json["content"],
            "@everyone @here <@&1200000000000000010> hi"
        );
        assert!(json.get("flags").is_none());
    }

    #[test]
    fn listed_mentions_are_deduplicated_and_capped() {
        let mut reply = Reply::text("hi");
        reply.allowed_mentions.users = (1..=150).chain(1..=10).map(user).collect();
        reply.allowed_mentions.roles = vec![RoleId::new(7).unwrap(); 3];
        let json = reply.to_message_json();
        assert_eq!(
            json["allowed_mentions"]["users"].as_array().unwrap().len(),
            100
        );
        assert_eq!(json["allowed_mentions"]["roles"], json!(["7"]));
    }

    #[test]
    fn empty_reply_says_no_content() {
        let json = Reply::default().to_message_json();
        assert_eq!(json["content"], NO_CONTENT);
        let blank = Reply::text("   ")
            .embed(Embed::default())
            .row(ActionRow::Buttons(vec![link("x", "javascript:alert(1)")]));
        let json = blank.to_message_json();
        assert_eq!(json["content"], NO_CONTENT);
        assert!(json.get("embeds").is_none() && json.get("components").is_none());
        let edit = Reply::default().embed(Embed::titled("t")).to_edit_json();
        assert_eq!(edit["content"], "");
        assert_eq!(edit["components"], json!([]));
        assert!(edit.get("flags").is_none());
    }

    #[test]
    fn texts_are_cut_by_characters_with_an_ellipsis() {
        let content = "é".repeat(2001);
        let json = Reply::text(content).to_message_json();
        let got = json["content"].as_str().unwrap();
        assert_eq!(got.chars().count(), 2000);
        assert!(got.ends_with('…'));
        let exact = "é".repeat(2000);
        assert_eq!(
            Reply::text(exact.clone()).to_message_json()["content"],
            exact
        );
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate("abc", 1), "…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn embed_limits() {
        let mut embed = Embed::titled("t".repeat(300));
        embed.description = Some("d".repeat(5000));
        embed.footer = Some("f".repeat(3000));
        for i in 0..30 {
            embed = embed.field(format!("{i}"), "v", true);
        }
        let json = Reply::default()
            .embed(embed)
            .embed(Embed::titled(""))
            .to_message_json();
        let e = &json["embeds"][0];
        assert_eq!(e["title"].as_str().unwrap().chars().count(), 256);
        assert_eq!(e["description"].as_str().unwrap().chars().count(), 4096);
        assert_eq!(e["fields"].as_array().unwrap().len(), 25);
        // 6000 in total: the footer (last) is cut to what is left.
        let footer = e["footer"]["text"].as_str().unwrap().chars().count();
        let fields: usize = e["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().len() + f["value"].as_str().unwrap().len())
            .sum();
        assert_eq!(fields, 10 + 15 * 2 + 25);
        assert_eq!(256 + 4096 + fields + footer, 6000);
        // The empty second embed is left out.
        assert_eq!(json["embeds"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn later_embeds_are_cut_first() {
        let big = |t: &str| {
            let mut e = Embed::titled(t);
            e.description = Some("x".repeat(4000));
            e
        };
        let json = Reply::default()
            .embed(big("one"))
            .embed(big("two"))
            .embed(big("three"))
            .to_message_json();
        let embeds = json["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 2);
        assert_eq!(embeds[0]["description"].as_str().unwrap().len(), 4000);
        let second = embeds[1]["description"].as_str().unwrap();
        assert_eq!(second.chars().count(), 6000 - 3 - 4000 - 3);
        assert!(second.ends_with('…'));
    }

    #[test]
    fn at_most_10_embeds_and_blank_fields_are_filled() {
        let reply = (0..12).fold(Reply::default(), |r, i| {
            r.embed(Embed::titled(format!("e{i}")).field("", " ", false))
        });
        let json = reply.to_message_json();
        assert_eq!(json["embeds"].as_array().unwrap().len(), 10);
        assert_eq!(json["embeds"][0]["fields"][0]["name"], BLANK);
        assert_eq!(json["embeds"][0]["fields"][0]["value"], BLANK);
    }

    #[test]
    fn embed_urls_must_be_web_urls() {
        let mut e = Embed::titled("t");
        e.url = Some("javascript:alert(1)".into());
        e.thumbnail = Some("file:///etc/passwd".into());
        e.color = Some(0xFFFF_FFFF);
        let json = Reply::default().embed(e).to_message_json();
        assert!(json["embeds"][0].get("url").is_none());
        assert!(json["embeds"][0].get("thumbnail").is_none());
        assert_eq!(json["embeds"][0]["color"], 0x00FF_FFFF);
    }

    #[test]
    fn button_rules() {
        let long_url = format!("https://example.invalid/{}", "a".repeat(500));
        let reply = Reply::default()
            .row(ActionRow::Buttons(vec![
                link("ok", "https://example.invalid/"),
                link("long", &long_url),
                link("ftp", "ftp://example.invalid/"),
                link("", "https://example.invalid/"),
                action("no id", ""),
                action("long id", &"i".repeat(101)),
                action("dup", "same"),
                action("dup2", "same"),
                action(&"l".repeat(100), "a"),
                action("b", "b"),
                action("c", "c"),
                action("d", "d"),
                action("e", "e"),
            ]))
            .row(ActionRow::Buttons(vec![]));
        let json = reply.to_message_json();
        let rows = json["components"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        let buttons = rows[0]["components"].as_array().unwrap();
        assert_eq!(buttons.len(), 5);
        assert_eq!(buttons[0]["style"], 5);
        assert_eq!(buttons[0]["url"], "https://example.invalid/");
        assert!(buttons[0].get("custom_id").is_none());
        assert_eq!(buttons[1]["custom_id"], "same");
        assert_eq!(buttons[2]["label"].as_str().unwrap().chars().count(), 80);
        let ids: Vec<_> = buttons[1..]
            .iter()
            .map(|b| b["custom_id"].clone())
            .collect();
        assert_eq!(ids, vec![json!("same"), json!("a"), json!("b"), json!("c")]);
        // Exactly 512 characters is fine.
        let url512 = format!("https://example.invalid/{}", "a".repeat(512 - 24));
        assert_eq!(url512.chars().count(), 512);
        let ok = Reply::default()
            .row(ActionRow::Buttons(vec![link("x", &url512)]))
            .to_message_json();
        assert_eq!(ok["components"][0]["components"][0]["url"], url512);
    }

    #[test]
    fn at_most_5_rows_and_25_select_options() {
        let row = |i: usize| ActionRow::Buttons(vec![action("x", &format!("id{i}"))]);
        let reply = (0..7).fold(Reply::text("x"), |r, i| r.row(row(i)));
        assert_eq!(
            reply.to_message_json()["components"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        let options = (0..30)
            .map(|i| SelectOption {
                label: "l".repeat(150),
                value: format!("v{i}"),
                description: Some("d".repeat(150)),
            })
            .chain([SelectOption {
                label: "dup".into(),
                value: "v0".into(),
                description: None,
            }])
            .collect();
        let reply = Reply::default().row(ActionRow::Select(Select {
            custom_id: "s".into(),
            placeholder: Some("p".repeat(200)),
            options,
        }));
        let json = reply.to_message_json();
        let select = &json["components"][0]["components"][0];
        assert_eq!(select["type"], 3);
        assert_eq!(select["options"].as_array().unwrap().len(), 25);
        assert_eq!(
            select["options"][0]["label"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            100
        );
        assert_eq!(select["placeholder"].as_str().unwrap().chars().count(), 150);
        let empty = Reply::default().row(ActionRow::Select(Select {
            custom_id: "s".into(),
            placeholder: None,
            options: vec![],
        }));
        assert_eq!(empty.to_message_json()["content"], NO_CONTENT);
    }

    #[test]
    fn autocomplete_choices_are_bounded() {
        let mut choices: Vec<Choice> = (0..30)
            .map(|i| Choice {
                name: "n".repeat(150),
                value: ChoiceValue::String(format!("v{i}")),
            })
            .collect();
        choices.insert(
            0,
            Choice {
                name: "too long".into(),
                value: ChoiceValue::String("v".repeat(101)),
            },
        );
        choices.insert(
            0,
            Choice {
                name: "huge".into(),
                value: ChoiceValue::Integer(i64::MAX),
            },
        );
        choices.insert(
            0,
            Choice {
                name: " ".into(),
                value: ChoiceValue::String("blank".into()),
            },
        );
        let json = InteractionResponse::Autocomplete(choices).to_json();
        let list = json["data"]["choices"].as_array().unwrap();
        assert_eq!(list.len(), 25);
        assert_eq!(list[0]["value"], "v0");
        assert_eq!(list[0]["name"].as_str().unwrap().chars().count(), 100);
    }

    #[test]
    fn modal_limits_and_fallback() {
        let inputs = (0..7)
            .map(|i| TextInput {
                custom_id: format!("f{i}"),
                label: "l".repeat(60),
                paragraph: false,
                required: false,
                value: Some("v".repeat(5000)),
            })
            .collect();
        let modal = Modal {
            custom_id: "m".into(),
            title: "t".repeat(60),
            inputs,
        };
        let json = InteractionResponse::Modal(modal).to_json();
        assert_eq!(json["type"], 9);
        let data = &json["data"];
        assert_eq!(data["title"].as_str().unwrap().chars().count(), 45);
        let rows = data["components"].as_array().unwrap();
        assert_eq!(rows.len(), 5);
        let input = &rows[0]["components"][0];
        assert_eq!(input["label"].as_str().unwrap().chars().count(), 45);
        assert_eq!(input["value"].as_str().unwrap().chars().count(), 4000);
        let broken = Modal {
            custom_id: String::new(),
            title: "t".into(),
            inputs: vec![],
        };
        let json = InteractionResponse::Modal(broken).to_json();
        assert_eq!(json["type"], 4);
        assert_eq!(json["data"]["flags"], 64);
    }

    /// Every limit of a message body, checked on the JSON itself.
    fn assert_within_limits(msg: &Value) {
        let count = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
        let content = count(&msg["content"]);
        assert!(content <= limits::CONTENT);
        let embeds = msg["embeds"].as_array().map_or(&[][..], Vec::as_slice);
        assert!(embeds.len() <= limits::EMBEDS);
        let mut total = 0;
        for e in embeds {
            let title = count(&e["title"]);
            let description = count(&e["description"]);
            let footer = count(&e["footer"]["text"]);
            assert!(title <= limits::EMBED_TITLE);
            assert!(description <= limits::EMBED_DESCRIPTION);
            assert!(footer <= limits::FOOTER);
            total += title + description + footer;
            let fields = e["fields"].as_array().map_or(&[][..], Vec::as_slice);
            assert!(fields.len() <= limits::EMBED_FIELDS);
            for f in fields {
                let (n, v) = (count(&f["name"]), count(&f["value"]));
                assert!((1..=limits::FIELD_NAME).contains(&n));
                assert!((1..=limits::FIELD_VALUE).contains(&v));
                total += n + v;
            }
            assert!(!e.as_object().unwrap().is_empty());
        }
        assert!(total <= limits::EMBEDS_TOTAL, "{total}");
        let rows = msg["components"].as_array().map_or(&[][..], Vec::as_slice);
        assert!(rows.len() <= limits::ROWS);
        let mut ids = BTreeSet::new();
        for row in rows {
            let cs = row["components"].as_array().unwrap();
            assert!((1..=limits::BUTTONS_PER_ROW).contains(&cs.len()));
            for c in cs {
                if let Some(label) = c.get("label") {
                    assert!((1..=limits::BUTTON_LABEL).contains(&count(label)));
                }
                if let Some(url) = c.get("url") {
                    assert!(count(url) <= limits::BUTTON_URL);
                    assert!(url.as_str().unwrap().starts_with("http"));
                }
                if let Some(id) = c.get("custom_id") {
                    assert!((1..=limits::CUSTOM_ID).contains(&count(id)));
                    assert!(ids.insert(id.as_str().unwrap().to_owned()));
                }
                if let Some(options) = c.get("options") {
                    let options = options.as_array().unwrap();
                    assert!((1..=limits::SELECT_OPTIONS).contains(&options.len()));
                    for o in options {
                        assert!((1..=100).contains(&count(&o["label"])));
                        assert!((1..=100).contains(&count(&o["value"])));
                    }
                }
            }
        }
        if embeds.is_empty() && rows.is_empty() {
            assert!(content > 0);
        }
        assert_eq!(msg["allowed_mentions"]["parse"], json!([]));
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "\\PC{0,20}",
            "[a-zé€😀 ]{0,300}",
            (0usize..9000).prop_map(|n| "é".repeat(n)),
        ]
    }

    prop_compose! {
        fn arb_embed()(title in text(), description in text(), footer in text(),
                       fields in prop::collection::vec((text(), text(), any::<bool>()), 0..30),
                       url in text()) -> Embed {
            Embed {
                title: Some(title),
                url: Some(url),
                description: Some(description),
                color: Some(0xFFFF_FFFF),
                fields: fields
                    .into_iter()
                    .map(|(name, value, inline)| EmbedField { name, value, inline })
                    .collect(),
                thumbnail: None,
                footer: Some(footer),
            }
        }
    }

    fn arb_button() -> impl Strategy<Value = Button> {
        prop_oneof![
            (text(), text()).prop_map(|(label, url)| Button::Link { label, url }),
            (text(), text()).prop_map(|(label, url)| Button::Link {
                label,
                url: format!("https://example.invalid/{url}")
            }),
            (text(), text(), any::<bool>()).prop_map(|(label, custom_id, disabled)| {
                Button::Action {
                    label,
                    custom_id,
                    style: ButtonStyle::Success,
                    disabled,
                }
            }),
        ]
    }

    fn arb_row() -> impl Strategy<Value = ActionRow> {
        prop_oneof![
            prop::collection::vec(arb_button(), 0..8).prop_map(ActionRow::Buttons),
            (
                text(),
                prop::collection::vec((text(), text(), text()), 0..30)
            )
                .prop_map(|(custom_id, options)| ActionRow::Select(Select {
                    custom_id,
                    placeholder: None,
                    options: options
                        .into_iter()
                        .map(|(label, value, description)| SelectOption {
                            label,
                            value,
                            description: Some(description),
                        })
                        .collect(),
                })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_replies_stay_within_every_limit(
            content in prop::option::of(text()),
            embeds in prop::collection::vec(arb_embed(), 0..13),
            rows in prop::collection::vec(arb_row(), 0..8),
            ephemeral in any::<bool>(),
        ) {
            let reply = Reply { content, embeds, components: rows, ephemeral, ..Reply::default() };
            let msg = reply.to_message_json();
            assert_within_limits(&msg);
            prop_assert_eq!(msg.get("flags").is_some(), ephemeral);
            assert_within_limits(&reply.to_edit_json());
        }

        #[test]
        fn arbitrary_choices_and_modals_stay_within_limits(
            names in prop::collection::vec((text(), text(), any::<i64>()), 0..40),
            title in text(),
        ) {
            let choices = names
                .iter()
                .map(|(n, v, i)| Choice {
                    name: n.clone(),
                    value: if i % 2 == 0 { ChoiceValue::String(v.clone()) } else { ChoiceValue::Integer(*i) },
                })
                .collect();
            let json = InteractionResponse::Autocomplete(choices).to_json();
            let list = json["data"]["choices"].as_array().unwrap();
            prop_assert!(list.len() <= 25);
            for c in list {
                let n = c["name"].as_str().unwrap().chars().count();
                prop_assert!((1..=100).contains(&n));
                if let Some(s) = c["value"].as_str() {
                    prop_assert!(s.chars().count() <= 100);
                } else {
                    prop_assert!(c["value"].as_i64().unwrap().abs() <= limits::MAX_SAFE_INTEGER);
                }
            }
            let modal = Modal {
                custom_id: title.clone(),
                title: title.clone(),
                inputs: names
                    .iter()
                    .map(|(n, v, _)| TextInput {
                        custom_id: n.clone(),
                        label: v.clone(),
                        paragraph: true,
                        required: true,
                        value: Some(v.repeat(3)),
                    })
                    .collect(),
            };
            let json = InteractionResponse::Modal(modal).to_json();
            if json["type"] == 9 {
                let d = &json["data"];
                prop_assert!((1..=45).contains(&d["title"].as_str().unwrap().chars().count()));
                let rows = d["components"].as_array().unwrap();
                prop_assert!((1..=5).contains(&rows.len()));
                for r in rows {
                    let i = &r["components"][0];
                    prop_assert!((1..=100).contains(&i["custom_id"].as_str().unwrap().chars().count()));
                    prop_assert!((1..=45).contains(&i["label"].as_str().unwrap().chars().count()));
                    prop_assert!(i["value"].as_str().unwrap().chars().count() <= 4000);
                }
            } else {
                prop_assert_eq!(&json["type"], 4);
            }
        }
    }
}
