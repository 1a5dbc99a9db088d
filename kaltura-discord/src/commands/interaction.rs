//! Incoming interactions: Discord's interaction JSON parsed into typed values.
//!
//! [`parse`] accepts what Discord sends over the HTTP interactions endpoint (the same JSON
//! a gateway `INTERACTION_CREATE` carries): slash commands with subcommands and groups,
//! autocomplete, button and select clicks, modal submits, in guilds and in DMs. Unknown
//! fields are ignored so that new Discord features do not break parsing; shapes we cannot
//! use give [`Error::Interaction`](crate::Error::Interaction), never a panic.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

use crate::ids::{
    ApplicationId, ChannelId, DiscordUserId, GuildId, InteractionId, MessageId, RoleId,
};
use crate::rbac::{DiscordPermissions, Subject};

/// An interaction token: valid 15 minutes, it lets whoever holds it answer, edit and follow
/// up the interaction. Redacted in `Debug` and `Display`.
#[derive(Clone)]
pub struct InteractionToken(SecretString);

impl InteractionToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        InteractionToken(SecretString::from(token.into()))
    }

    /// The token itself, for the REST call that needs it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for InteractionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InteractionToken(<redacted>)")
    }
}

/// Who triggered an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    /// The Discord user.
    pub user: DiscordUserId,
    /// Their display name: guild nickname, else global name, else user name.
    pub display_name: String,
    /// Their role ids in the guild (empty in DMs).
    pub roles: Vec<RoleId>,
    /// Their permission bits in the channel (`member.permissions`; none in DMs).
    pub permissions: DiscordPermissions,
}

impl Invoker {
    /// The RBAC subject for this member.
    pub fn subject(&self) -> Subject {
        Subject::new(self.user)
            .with_roles(self.roles.iter().copied())
            .with_permissions(self.permissions)
    }
}

/// What every interaction except PING carries.
#[derive(Debug, Clone)]
pub struct InteractionContext {
    /// The interaction's id.
    pub id: InteractionId,
    /// The application it was sent to.
    pub application_id: ApplicationId,
    /// The token to answer it with.
    pub token: InteractionToken,
    /// The guild, `None` in a DM.
    pub guild: Option<GuildId>,
    /// The channel, when Discord sent one.
    pub channel: Option<ChannelId>,
    /// Who triggered it.
    pub invoker: Invoker,
    /// The invoker's locale (e.g. `en-GB`), when sent.
    pub locale: Option<String>,
    /// The guild's preferred locale, when sent.
    pub guild_locale: Option<String>,
}

/// A value of a command option, by Discord option type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OptionValue {
    /// STRING (3).
    String(String),
    /// INTEGER (4).
    Integer(i64),
    /// NUMBER (10).
    Number(f64),
    /// BOOLEAN (5).
    Boolean(bool),
    /// USER (6).
    User(DiscordUserId),
    /// CHANNEL (7).
    Channel(ChannelId),
    /// ROLE (8).
    Role(RoleId),
    /// MENTIONABLE (9): a user or role id.
    Mentionable(u64),
    /// ATTACHMENT (11): the attachment id.
    Attachment(u64),
}

/// One named option value of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOption {
    /// The option's name.
    pub name: String,
    /// Its value.
    pub value: OptionValue,
}

/// A slash command: `/kaltura meeting start title:"Weekly sync"` is command `kaltura`, path
/// `["meeting", "start"]` and one option.
#[derive(Debug, Clone)]
pub struct CommandInvocation {
    /// Context and invoker.
    pub context: InteractionContext,
    /// The top-level command name.
    pub command: String,
    /// The subcommand group and subcommand names, outermost first (0 to 2 entries).
    pub path: Vec<String>,
    /// The leaf's options.
    pub options: Vec<CommandOption>,
}

/// An autocomplete request: the command so far and the option being typed.
#[derive(Debug, Clone)]
pub struct AutocompleteRequest {
    /// Context and invoker.
    pub context: InteractionContext,
    /// The top-level command name.
    pub command: String,
    /// The subcommand group and subcommand names.
    pub path: Vec<String>,
    /// The options typed so far (values may be partial), without the focused one.
    pub options: Vec<CommandOption>,
    /// The name of the option being typed.
    pub focused: String,
    /// What has been typed into it so far (as text, whatever its type).
    pub partial: String,
}

/// A click on a button or a choice in a select menu.
#[derive(Debug, Clone)]
pub struct ComponentClick {
    /// Context and the member who clicked (not the one who ran the command).
    pub context: InteractionContext,
    /// The component's custom id, exactly as sent (parse it with
    /// [`crate::commands::custom_id`]).
    pub custom_id: String,
    /// Discord's component type (2 button, 3 string select, …).
    pub component_type: u8,
    /// The selected values of a select menu (empty for buttons).
    pub values: Vec<String>,
    /// The message the component is on.
    pub message: Option<MessageId>,
}

/// A submitted modal.
#[derive(Debug, Clone)]
pub struct ModalSubmission {
    /// Context and invoker.
    pub context: InteractionContext,
    /// The modal's custom id.
    pub custom_id: String,
    /// The text inputs: (custom id, value).
    pub fields: Vec<(String, String)>,
}

/// A parsed interaction.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Interaction {
    /// PING (type 1): answer with PONG.
    Ping,
    /// APPLICATION_COMMAND (2), slash commands (`data.type` 1) only.
    Command(CommandInvocation),
    /// APPLICATION_COMMAND_AUTOCOMPLETE (4).
    Autocomplete(AutocompleteRequest),
    /// MESSAGE_COMPONENT (3).
    Component(ComponentClick),
    /// MODAL_SUBMIT (5).
    ModalSubmit(ModalSubmission),
}

impl Interaction {
    /// The context, `None` for PING.
    pub fn context(&self) -> Option<&InteractionContext> {
        match self {
            Interaction::Ping => None,
            Interaction::Command(c) => Some(&c.context),
            Interaction::Autocomplete(a) => Some(&a.context),
            Interaction::Component(c) => Some(&c.context),
            Interaction::ModalSubmit(m) => Some(&m.context),
        }
    }
}

/// Why an interaction body could not be used ([`crate::Error::Interaction`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable interaction: {reason}")]
pub struct InteractionError {
    reason: String,
}

impl InteractionError {
    /// An error saying why (never echoing more than a short, sanitized part of the input).
    pub fn new(reason: impl Into<String>) -> Self {
        InteractionError {
            reason: reason.into(),
        }
    }

    /// Why the interaction was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

// TEMP(helper D): replaced by helper A's implementation
/// Parses an interaction body (temporary minimal version: PING and bare slash commands).
///
/// # Errors
///
/// [`crate::Error::Interaction`] when the body is not a usable interaction.
pub fn parse(body: &[u8]) -> crate::Result<Interaction> {
    use serde_json::Value;
    let bad = |why: &str| crate::Error::Interaction(InteractionError::new(why));
    let v: Value = serde_json::from_slice(body).map_err(|_| bad("not JSON"))?;
    let text = |p: &str| v.pointer(p).and_then(Value::as_str);
    let id = |p: &str| text(p).and_then(|s| s.parse::<u64>().ok());
    match v.get("type").and_then(Value::as_u64) {
        Some(1) => Ok(Interaction::Ping),
        Some(2) => {
            let guild = match text("/guild_id") {
                None => None,
                Some(g) => Some(g.parse().map_err(|_| bad("bad guild_id"))?),
            };
            let user = text("/member/user/id").or_else(|| text("/user/id"));
            let context = InteractionContext {
                id: id("/id")
                    .and_then(InteractionId::new)
                    .ok_or_else(|| bad("bad id"))?,
                application_id: id("/application_id")
                    .and_then(ApplicationId::new)
                    .ok_or_else(|| bad("bad application_id"))?,
                token: InteractionToken::new(text("/token").ok_or_else(|| bad("no token"))?),
                guild,
                channel: id("/channel_id").and_then(ChannelId::new),
                invoker: Invoker {
                    user: user
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| bad("bad user"))?,
                    display_name: String::new(),
                    roles: Vec::new(),
                    permissions: DiscordPermissions::NONE,
                },
                locale: None,
                guild_locale: None,
            };
            let command = text("/data/name").ok_or_else(|| bad("no name"))?.to_owned();
            Ok(Interaction::Command(CommandInvocation {
                context,
                command,
                path: Vec::new(),
                options: Vec::new(),
            }))
        }
        _ => Err(bad("unsupported interaction type")),
    }
}
