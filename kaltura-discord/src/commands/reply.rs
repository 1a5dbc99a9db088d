//! What the command layer answers: our own reply types, converted to Discord JSON at the
//! edge (see [`InteractionResponse::to_json`] and [`Reply::to_message_json`]).
//!
//! Discord's limits (content 2,000 characters, 10 embeds, titles 256, descriptions 4,096,
//! 25 fields of 256/1,024, 6,000 characters over all embeds, 5 rows of 5 buttons, labels 80,
//! URLs 512, custom ids 100) are applied by the conversion, counting characters, so a reply
//! built from long Kaltura titles is still one Discord accepts.

use crate::ids::{DiscordUserId, RoleId};

/// A message: content, embeds, components, ephemeral flag and the mentions it may ping.
#[derive(Debug, Clone, Default, PartialEq)]
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
#[derive(Debug, Clone, Default, PartialEq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedField {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Shown beside other inline fields.
    pub inline: bool,
}

/// A row of components.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ActionRow {
    /// Up to 5 buttons.
    Buttons(Vec<Button>),
    /// One string select menu.
    Select(Select),
}

/// A button.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    /// The custom id.
    pub custom_id: String,
    /// Placeholder text.
    pub placeholder: Option<String>,
    /// The options (at most 25 are sent).
    pub options: Vec<SelectOption>,
}

/// One option of a select menu.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedMentions {
    /// Users that may be pinged.
    pub users: Vec<DiscordUserId>,
    /// Roles that may be pinged.
    pub roles: Vec<RoleId>,
}

/// An autocomplete suggestion or a registered option choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Shown name (1-100 characters).
    pub name: String,
    /// The value.
    pub value: ChoiceValue,
}

/// The value of a [`Choice`].
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceValue {
    /// For STRING options (at most 100 characters).
    String(String),
    /// For INTEGER options.
    Integer(i64),
}

/// A modal (a form with up to 5 text inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modal {
    /// Custom id.
    pub custom_id: String,
    /// Title (at most 45 characters).
    pub title: String,
    /// Text inputs.
    pub inputs: Vec<TextInput>,
}

/// A text input of a modal.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq)]
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

// TEMP(helper C): replaced by helper A's implementation
// (minimal conversions so the REST client and the serenity adapter compile and can be tested;
// no limits are applied here).
mod temp_helper_c {
    use serde_json::{Value, json};

    use super::*;

    fn embed_json(e: &Embed) -> Value {
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put("title", e.title.clone().map(Value::from));
        put("url", e.url.clone().map(Value::from));
        put("description", e.description.clone().map(Value::from));
        put("color", e.color.map(Value::from));
        put("thumbnail", e.thumbnail.clone().map(|u| json!({"url": u})));
        put("footer", e.footer.clone().map(|t| json!({"text": t})));
        let fields = e.fields.iter();
        let fields = fields.map(|f| json!({"name": f.name, "value": f.value, "inline": f.inline}));
        put("fields", (!e.fields.is_empty()).then(|| fields.collect()));
        Value::Object(m)
    }

    fn row_json(r: &ActionRow) -> Value {
        let components: Vec<Value> = match r {
            ActionRow::Buttons(b) => b
                .iter()
                .map(|b| match b {
                    Button::Link { label, url } => {
                        json!({"type": 2, "style": 5, "label": label, "url": url})
                    }
                    Button::Action { label, custom_id, style, disabled } => json!({
                        "type": 2, "label": label, "custom_id": custom_id, "disabled": disabled,
                        "style": match style { ButtonStyle::Primary => 1, ButtonStyle::Secondary => 2,
                            ButtonStyle::Success => 3, ButtonStyle::Danger => 4 },
                    }),
                })
                .collect(),
            ActionRow::Select(s) => vec![json!({
                "type": 3, "custom_id": s.custom_id, "placeholder": s.placeholder,
                "options": s.options.iter().map(|o| json!({"label": o.label, "value": o.value,
                    "description": o.description})).collect::<Vec<_>>(),
            })],
        };
        json!({"type": 1, "components": components})
    }

    impl Reply {
        /// TEMP(helper C): the message body (replaced by helper A's implementation).
        pub fn to_message_json(&self) -> Value {
            let mut v = json!({
                "content": self.content.clone().unwrap_or_else(|| "(no content)".to_owned()),
                "embeds": self.embeds.iter().map(embed_json).collect::<Vec<_>>(),
                "components": self.components.iter().map(row_json).collect::<Vec<_>>(),
                "allowed_mentions": {"parse": [],
                    "users": self.allowed_mentions.users.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "roles": self.allowed_mentions.roles.iter().map(ToString::to_string).collect::<Vec<_>>()},
            });
            if let (true, Value::Object(m)) = (self.ephemeral, &mut v) {
                m.insert("flags".to_owned(), json!(64));
            }
            v
        }
    }

    impl InteractionResponse {
        /// TEMP(helper C): the callback body (replaced by helper A's implementation).
        pub fn to_json(&self) -> Value {
            let choice = |c: &Choice| match &c.value {
                ChoiceValue::String(s) => json!({"name": c.name, "value": s}),
                ChoiceValue::Integer(i) => json!({"name": c.name, "value": i}),
            };
            match self {
                InteractionResponse::Pong => json!({"type": 1}),
                InteractionResponse::Message(r) => json!({"type": 4, "data": r.to_message_json()}),
                InteractionResponse::Deferred { ephemeral: true } => {
                    json!({"type": 5, "data": {"flags": 64}})
                }
                InteractionResponse::Deferred { ephemeral: false } => json!({"type": 5}),
                InteractionResponse::DeferredUpdate => json!({"type": 6}),
                InteractionResponse::Update(r) => json!({"type": 7, "data": r.to_message_json()}),
                InteractionResponse::Autocomplete(c) => json!({"type": 8,
                    "data": {"choices": c.iter().map(choice).collect::<Vec<_>>()}}),
                InteractionResponse::Modal(m) => json!({"type": 9, "data": {
                    "custom_id": m.custom_id, "title": m.title,
                    "components": m.inputs.iter().map(|i| json!({"type": 1, "components": [{
                        "type": 4, "custom_id": i.custom_id, "label": i.label,
                        "style": if i.paragraph { 2 } else { 1 }, "required": i.required,
                        "value": i.value}]})).collect::<Vec<_>>()}}),
            }
        }
    }
}
