//! Incoming interactions: Discord's interaction JSON parsed into typed values.
//!
//! [`parse`] accepts what Discord sends over the HTTP interactions endpoint (the same JSON
//! a gateway `INTERACTION_CREATE` carries): slash commands with subcommands and groups,
//! autocomplete, button and select clicks, modal submits, in guilds and in DMs. Unknown
//! fields are ignored so that new Discord features do not break parsing; shapes we cannot
//! use give [`Error::Interaction`](crate::Error::Interaction), never a panic.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

use crate::commands::definition::OptionKind;
use crate::ids::{
    ApplicationId, ChannelId, DiscordUserId, GuildId, InteractionId, MessageId, RoleId,
};
use crate::rbac::{DiscordPermissions, Subject};
use serde_json::Value;

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

// ---------------------------------------------------------------------------------------
// Parsing.

/// Longest string value accepted anywhere in an interaction, in characters.
pub const MAX_STRING_CHARS: usize = 6000;
/// Most options Discord sends on one level.
pub const MAX_OPTIONS_PER_LEVEL: usize = 25;
/// Longest custom id, in characters.
pub const MAX_CUSTOM_ID_CHARS: usize = 100;
/// Longest option or command name, in characters.
const MAX_NAME_CHARS: usize = 32;
/// Longest interaction token we accept, in bytes (Discord's are about 200).
const MAX_TOKEN_BYTES: usize = 1000;
/// Most roles read from a member (a guild has at most 250).
const MAX_ROLES: usize = 1000;
/// Most select values or modal rows read.
const MAX_VALUES: usize = 25;
/// Longest display name kept, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// Largest integer option value (2^53 - 1).
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
/// How much of a hostile input an error may echo.
const ECHO_CHARS: usize = 40;

type Object = serde_json::Map<String, Value>;

fn fail(reason: impl Into<String>) -> crate::Error {
    crate::Error::Interaction(InteractionError::new(reason))
}

/// At most 40 characters of `s`, quoted, for an error message.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(ECHO_CHARS).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field that must be present, absent or `null` counting as missing.
fn field<'a>(obj: &'a Object, key: &str, what: &str) -> crate::Result<&'a Value> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(fail(format!("{what} has no `{key}`"))),
        Some(v) => Ok(v),
    }
}

fn opt_field<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn object<'a>(v: &'a Value, what: &str) -> crate::Result<&'a Object> {
    v.as_object()
        .ok_or_else(|| fail(format!("{what} is {}, not an object", json_type(v))))
}

fn array<'a>(v: &'a Value, what: &str, max: usize) -> crate::Result<&'a Vec<Value>> {
    let a = v
        .as_array()
        .ok_or_else(|| fail(format!("{what} is {}, not an array", json_type(v))))?;
    if a.len() > max {
        return Err(fail(format!(
            "{what} has {} entries; at most {max} are accepted",
            a.len()
        )));
    }
    Ok(a)
}

fn string<'a>(v: &'a Value, what: &str, max_chars: usize) -> crate::Result<&'a str> {
    let s = v
        .as_str()
        .ok_or_else(|| fail(format!("{what} is {}, not a string", json_type(v))))?;
    if s.chars().nth(max_chars).is_some() {
        return Err(fail(format!(
            "{what} is longer than {max_chars} characters"
        )));
    }
    Ok(s)
}

fn snowflake<T>(v: &Value, what: &str) -> crate::Result<T>
where
    T: std::str::FromStr<Err = crate::ids::InvalidSnowflake>,
{
    match v {
        Value::String(s) => s
            .parse()
            .map_err(|e: crate::ids::InvalidSnowflake| fail(format!("{what}: {e}"))),
        Value::Number(n) => n
            .as_u64()
            .filter(|&n| n != 0)
            .and_then(|n| n.to_string().parse().ok())
            .ok_or_else(|| fail(format!("{what} is not a Discord id"))),
        other => Err(fail(format!(
            "{what} is {}, not a Discord id",
            json_type(other)
        ))),
    }
}

fn small_uint(v: &Value, what: &str) -> crate::Result<u64> {
    v.as_u64()
        .ok_or_else(|| fail(format!("{what} is not a small non-negative integer")))
}

/// Parses an interaction body, as Discord sends it to the interactions endpoint (or in a
/// gateway `INTERACTION_CREATE`).
///
/// Tolerant of fields and component types it does not know; a PING needs nothing but its
/// `type`. Option values are typed by their option type: ids become the crate's snowflake
/// newtypes, INTEGER values are checked to lie within ±(2^53 - 1), NUMBER values are `f64`.
///
/// ```
/// use kaltura_discord::commands::interaction::{parse, Interaction};
///
/// assert!(matches!(parse(br#"{"type":1}"#)?, Interaction::Ping));
/// # Ok::<(), kaltura_discord::Error>(())
/// ```
///
/// # Errors
///
/// [`crate::Error::Interaction`] when the body is not a JSON object, the interaction type is
/// unknown, a required field is missing or of the wrong type, an id is not a snowflake, the
/// command is not a slash command (user and message commands), options are nested deeper
/// than Discord allows or more than 25 on a level, a string is longer than 6,000 characters
/// or a custom id longer than 100. The reason never echoes more than 40 characters of the
/// input, and never the token.
pub fn parse(body: &[u8]) -> crate::Result<Interaction> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        fail(format!(
            "the body is not JSON ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    parse_value(&value)
}

/// [`parse`] for a body already parsed into a JSON value.
///
/// # Errors
///
/// As [`parse`].
pub fn parse_value(value: &Value) -> crate::Result<Interaction> {
    let obj = object(value, "the interaction")?;
    let kind = field(obj, "type", "the interaction")?;
    let kind = kind
        .as_u64()
        .ok_or_else(|| fail("the interaction `type` is not a small non-negative integer"))?;
    match kind {
        1 => Ok(Interaction::Ping),
        2 | 4 => {
            let context = context(obj)?;
            let data = object(field(obj, "data", "the interaction")?, "`data`")?;
            command(context, data, kind == 4)
        }
        3 => {
            let context = context(obj)?;
            let data = object(field(obj, "data", "the interaction")?, "`data`")?;
            component(context, obj, data)
        }
        5 => {
            let context = context(obj)?;
            let data = object(field(obj, "data", "the interaction")?, "`data`")?;
            modal(context, data)
        }
        other => Err(fail(format!("unknown interaction type {other}"))),
    }
}

fn context(obj: &Object) -> crate::Result<InteractionContext> {
    let id = snowflake(field(obj, "id", "the interaction")?, "`id`")?;
    let application_id = snowflake(
        field(obj, "application_id", "the interaction")?,
        "`application_id`",
    )?;
    let token = field(obj, "token", "the interaction")?
        .as_str()
        .filter(|t| {
            !t.is_empty()
                && t.len() <= MAX_TOKEN_BYTES
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .ok_or_else(|| fail("`token` is not an interaction token"))?;
    let guild = opt_field(obj, "guild_id")
        .map(|v| snowflake(v, "`guild_id`"))
        .transpose()?;
    let channel = match opt_field(obj, "channel_id") {
        Some(v) => Some(snowflake(v, "`channel_id`")?),
        None => match opt_field(obj, "channel") {
            Some(c) => opt_field(object(c, "`channel`")?, "id")
                .map(|v| snowflake(v, "`channel.id`"))
                .transpose()?,
            None => None,
        },
    };
    let invoker = match (opt_field(obj, "member"), opt_field(obj, "user")) {
        (Some(member), _) => member_invoker(object(member, "`member`")?)?,
        (None, Some(user)) => user_invoker(object(user, "`user`")?, None, "`user`")?,
        (None, None) => {
            return Err(fail(
                "the interaction names no invoker (no `member` or `user`)",
            ));
        }
    };
    Ok(InteractionContext {
        id,
        application_id,
        token: InteractionToken::new(token),
        guild,
        channel,
        invoker,
        locale: locale(obj, "locale"),
        guild_locale: locale(obj, "guild_locale"),
    })
}

/// A locale such as `en-US`; anything else is ignored (it only picks a language).
fn locale(obj: &Object, key: &str) -> Option<String> {
    opt_field(obj, key)
        .and_then(Value::as_str)
        .filter(|s| {
            (2..=35).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
}

fn display_text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(MAX_DISPLAY_NAME_CHARS).collect())
}

fn user_invoker(user: &Object, nick: Option<String>, what: &str) -> crate::Result<Invoker> {
    let id: DiscordUserId = snowflake(field(user, "id", what)?, &format!("{what}.id"))?;
    let display_name = nick
        .or_else(|| display_text(user.get("global_name")))
        .or_else(|| display_text(user.get("username")))
        .unwrap_or_else(|| id.to_string());
    Ok(Invoker {
        user: id,
        display_name,
        roles: Vec::new(),
        permissions: DiscordPermissions::NONE,
    })
}

fn member_invoker(member: &Object) -> crate::Result<Invoker> {
    let user = object(field(member, "user", "`member`")?, "`member.user`")?;
    let mut invoker = user_invoker(user, display_text(member.get("nick")), "`member.user`")?;
    if let Some(roles) = opt_field(member, "roles") {
        invoker.roles = array(roles, "`member.roles`", MAX_ROLES)?
            .iter()
            .map(|r| snowflake(r, "a role in `member.roles`"))
            .collect::<crate::Result<_>>()?;
    }
    invoker.permissions = match opt_field(member, "permissions") {
        None => DiscordPermissions::NONE,
        Some(Value::String(s)) => DiscordPermissions::parse(s)
            .ok_or_else(|| fail("`member.permissions` is not a decimal bit set"))?,
        Some(Value::Number(n)) => n
            .as_u64()
            .map(DiscordPermissions::from_bits)
            .ok_or_else(|| fail("`member.permissions` is not a decimal bit set"))?,
        Some(other) => {
            return Err(fail(format!(
                "`member.permissions` is {}, not a decimal bit set",
                json_type(other)
            )));
        }
    };
    Ok(invoker)
}

fn name<'a>(obj: &'a Object, what: &str) -> crate::Result<&'a str> {
    let v = field(obj, "name", what)?;
    let s = v
        .as_str()
        .ok_or_else(|| fail(format!("the name of {what} is {}", json_type(v))))?;
    if s.is_empty() || s.chars().nth(MAX_NAME_CHARS).is_some() {
        return Err(fail(format!(
            "the name of {what} is not 1-{MAX_NAME_CHARS} characters"
        )));
    }
    Ok(s)
}

/// A walked option tree: the path of group and subcommand names and the leaf's options.
struct Walked {
    path: Vec<String>,
    options: Vec<CommandOption>,
    focused: Option<(String, String)>,
}

fn command(
    context: InteractionContext,
    data: &Object,
    autocomplete: bool,
) -> crate::Result<Interaction> {
    let command_type = opt_field(data, "type")
        .map(|v| small_uint(v, "`data.type`"))
        .transpose()?
        .unwrap_or(1);
    if command_type != 1 {
        return Err(fail(format!(
            "not a slash command (`data.type` {command_type})"
        )));
    }
    let command = name(data, "the command")?.to_owned();
    let mut walked = Walked {
        path: Vec::new(),
        options: Vec::new(),
        focused: None,
    };
    if let Some(options) = opt_field(data, "options") {
        walk(options, Level::Top, autocomplete, &mut walked)?;
    }
    if autocomplete {
        let (focused, partial) = walked
            .focused
            .ok_or_else(|| fail("the autocomplete request has no focused option"))?;
        Ok(Interaction::Autocomplete(AutocompleteRequest {
            context,
            command,
            path: walked.path,
            options: walked.options,
            focused,
            partial,
        }))
    } else {
        Ok(Interaction::Command(CommandInvocation {
            context,
            command,
            path: walked.path,
            options: walked.options,
        }))
    }
}

/// Where in the option tree a level of options sits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The command's own options: one group, one subcommand, or values.
    Top,
    /// Inside a subcommand group: exactly one subcommand.
    Group,
    /// Inside a subcommand: values only.
    SubCommand,
}

/// Walks one level of options into `out`.
fn walk(options: &Value, level: Level, autocomplete: bool, out: &mut Walked) -> crate::Result<()> {
    let options = array(options, "`options`", MAX_OPTIONS_PER_LEVEL)?;
    for option in options {
        let option = object(option, "an option")?;
        let option_name = name(option, "an option")?;
        let kind = small_uint(field(option, "type", "an option")?, "an option's `type`")?;
        let kind = OptionKind::from_code(kind)
            .ok_or_else(|| fail(format!("option `{option_name}` has unknown type {kind}")))?;
        if kind.is_node() {
            let next = match (level, kind) {
                (Level::Top, OptionKind::SubCommandGroup) => Level::Group,
                (Level::Top | Level::Group, OptionKind::SubCommand) => Level::SubCommand,
                _ => {
                    return Err(fail(format!(
                        "option `{option_name}` is nested deeper than Discord allows"
                    )));
                }
            };
            if options.len() != 1 {
                return Err(fail(format!(
                    "subcommand `{option_name}` is not alone on its level"
                )));
            }
            out.path.push(option_name.to_owned());
            match opt_field(option, "options") {
                Some(children) => walk(children, next, autocomplete, out)?,
                None if next == Level::Group => {
                    return Err(fail(format!("group `{option_name}` has no subcommand")));
                }
                None => {}
            }
            continue;
        }
        if level == Level::Group {
            return Err(fail(format!(
                "option `{option_name}` is a value inside a subcommand group"
            )));
        }
        let what = format!("option `{option_name}`");
        let raw = field(option, "value", &what)?;
        let focused = autocomplete && option.get("focused").and_then(Value::as_bool) == Some(true);
        if focused {
            if out.focused.is_some() {
                return Err(fail("more than one option is focused"));
            }
            let partial = match raw {
                Value::String(_) => string(raw, &what, MAX_STRING_CHARS)?.to_owned(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => return Err(fail(format!("{what} is {}", json_type(other)))),
            };
            out.focused = Some((option_name.to_owned(), partial));
            continue;
        }
        match option_value(kind, raw, &what) {
            Ok(value) => out.options.push(CommandOption {
                name: option_name.to_owned(),
                value,
            }),
            // The options of an autocomplete request may be half typed: skip what does not
            // fit its type rather than refusing the suggestions.
            Err(_) if autocomplete => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn option_value(kind: OptionKind, raw: &Value, what: &str) -> crate::Result<OptionValue> {
    Ok(match kind {
        OptionKind::String => OptionValue::String(string(raw, what, MAX_STRING_CHARS)?.to_owned()),
        OptionKind::Integer => OptionValue::Integer(integer(raw, what)?),
        OptionKind::Number => {
            let n = raw
                .as_f64()
                .filter(|n| n.is_finite())
                .ok_or_else(|| fail(format!("{what} is {}, not a number", json_type(raw))))?;
            OptionValue::Number(n)
        }
        OptionKind::Boolean => OptionValue::Boolean(
            raw.as_bool()
                .ok_or_else(|| fail(format!("{what} is {}, not a boolean", json_type(raw))))?,
        ),
        OptionKind::User => OptionValue::User(snowflake(raw, what)?),
        OptionKind::Channel => OptionValue::Channel(snowflake(raw, what)?),
        OptionKind::Role => OptionValue::Role(snowflake(raw, what)?),
        OptionKind::Mentionable => {
            OptionValue::Mentionable(snowflake::<DiscordUserId>(raw, what)?.get())
        }
        OptionKind::Attachment => OptionValue::Attachment(snowflake::<MessageId>(raw, what)?.get()),
        OptionKind::SubCommand | OptionKind::SubCommandGroup => {
            return Err(fail(format!("{what} is not a value option")));
        }
    })
}

fn integer(raw: &Value, what: &str) -> crate::Result<i64> {
    let n = match raw {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= 9.007_199_254_740_991e15)
                .map(|f| {
                    // Whole and within ±2^53, so exact.
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    i
                })
        }),
        Value::String(s) if s.len() <= 20 => s.parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| fail(format!("{what} is not an integer")))?;
    if n.abs() > MAX_SAFE_INTEGER {
        return Err(fail(format!("{what} is outside ±(2^53 - 1)")));
    }
    Ok(n)
}

fn custom_id(data: &Object) -> crate::Result<String> {
    let v = field(data, "custom_id", "`data`")?;
    let id = v
        .as_str()
        .ok_or_else(|| fail(format!("`data.custom_id` is {}", json_type(v))))?;
    if id.is_empty() || id.chars().nth(MAX_CUSTOM_ID_CHARS).is_some() {
        return Err(fail(format!(
            "`data.custom_id` is not 1-{MAX_CUSTOM_ID_CHARS} characters"
        )));
    }
    Ok(id.to_owned())
}

fn component(
    context: InteractionContext,
    obj: &Object,
    data: &Object,
) -> crate::Result<Interaction> {
    let custom_id = custom_id(data)?;
    let component_type = small_uint(
        field(data, "component_type", "`data`")?,
        "`data.component_type`",
    )?;
    let component_type = u8::try_from(component_type)
        .map_err(|_| fail(format!("unknown component type {component_type}")))?;
    let values = match opt_field(data, "values") {
        None => Vec::new(),
        Some(v) => array(v, "`data.values`", MAX_VALUES)?
            .iter()
            .map(|v| string(v, "a value in `data.values`", MAX_STRING_CHARS).map(str::to_owned))
            .collect::<crate::Result<_>>()?,
    };
    let message = match opt_field(obj, "message") {
        Some(m) => opt_field(object(m, "`message`")?, "id")
            .map(|v| snowflake(v, "`message.id`"))
            .transpose()?,
        None => None,
    };
    Ok(Interaction::Component(ComponentClick {
        context,
        custom_id,
        component_type,
        values,
        message,
    }))
}

/// A text input's (custom id, value), if `c` is one (type 4 or anything carrying both).
fn text_input(c: &Object) -> crate::Result<Option<(String, String)>> {
    let (Some(id), Some(value)) = (opt_field(c, "custom_id"), opt_field(c, "value")) else {
        return Ok(None);
    };
    let id = string(id, "a text input's `custom_id`", MAX_CUSTOM_ID_CHARS)?;
    if id.is_empty() {
        return Err(fail("a text input has an empty `custom_id`"));
    }
    let Some(value) = value.as_str() else {
        // Not a text input (a select in a modal sends `values`); ignore it.
        return Ok(None);
    };
    if value.chars().nth(MAX_STRING_CHARS).is_some() {
        return Err(fail(format!(
            "text input {} is longer than {MAX_STRING_CHARS} characters",
            shown(id)
        )));
    }
    Ok(Some((id.to_owned(), value.to_owned())))
}

fn modal(context: InteractionContext, data: &Object) -> crate::Result<Interaction> {
    let custom_id = custom_id(data)?;
    let mut fields = Vec::new();
    if let Some(rows) = opt_field(data, "components") {
        for row in array(rows, "`data.components`", MAX_VALUES)? {
            let row = object(row, "a modal row")?;
            // Action rows hold `components`; label components (newer modals) hold one
            // `component`.
            if let Some(children) = opt_field(row, "components") {
                for child in array(children, "a modal row's `components`", MAX_VALUES)? {
                    if let Some(f) = text_input(object(child, "a modal component")?)? {
                        fields.push(f);
                    }
                }
            }
            if let Some(child) = opt_field(row, "component")
                && let Some(f) = text_input(object(child, "a modal component")?)?
            {
                fields.push(f);
            }
        }
    }
    Ok(Interaction::ModalSubmit(ModalSubmission {
        context,
        custom_id,
        fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(body: &str) -> String {
        match parse(body.as_bytes()) {
            Err(crate::Error::Interaction(e)) => e.reason().to_owned(),
            other => panic!("expected an interaction error, got {other:?}"),
        }
    }

    fn command_with(options: &str) -> String {
        format!(
            r#"{{"type":2,"id":"1","application_id":"2","token":"tok","guild_id":"3",
            "member":{{"user":{{"id":"4","username":"u"}},"roles":[],"permissions":"0"}},
            "data":{{"type":1,"name":"kaltura","options":{options}}}}}"#
        )
    }

    fn command_leaf(options: &str) -> String {
        command_with(&format!(
            r#"[{{"type":1,"name":"leaf","options":{options}}}]"#
        ))
    }

    #[test]
    fn ping_needs_only_its_type() {
        assert!(matches!(
            parse(br#"{"type":1}"#).unwrap(),
            Interaction::Ping
        ));
        assert!(parse(br#"{"type":1}"#).unwrap().context().is_none());
    }

    #[test]
    fn not_json_and_not_objects() {
        assert!(reason("").starts_with("the body is not JSON (Eof error at line 1"));
        assert!(reason("{\"type\": 1,").contains("not JSON"));
        assert_eq!(reason("[1]"), "the interaction is an array, not an object");
        assert_eq!(reason("{}"), "the interaction has no `type`");
        assert_eq!(
            reason(r#"{"type":"1"}"#),
            "the interaction `type` is not a small non-negative integer"
        );
        assert_eq!(reason(r#"{"type":7}"#), "unknown interaction type 7");
        assert_eq!(
            reason(r#"{"type":-1}"#),
            "the interaction `type` is not a small non-negative integer"
        );
    }

    #[test]
    fn errors_are_interaction_errors_for_members() {
        let err = parse(b"nope").unwrap_err();
        assert!(matches!(err, crate::Error::Interaction(_)));
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().starts_with("unusable interaction: "));
    }

    #[test]
    fn non_ping_needs_ids_token_and_invoker() {
        assert_eq!(reason(r#"{"type":2}"#), "the interaction has no `id`");
        assert_eq!(
            reason(r#"{"type":2,"id":"1","application_id":"2","token":"t","data":{}}"#),
            "the interaction names no invoker (no `member` or `user`)"
        );
        let bad_token = r#"{"type":2,"id":"1","application_id":"2","token":"../../x?y","user":{"id":"4"},"data":{"name":"c"}}"#;
        let r = reason(bad_token);
        assert_eq!(r, "`token` is not an interaction token");
        let hostile_id = format!(
            r#"{{"type":2,"id":"{}","application_id":"2","token":"t","user":{{"id":"4"}},"data":{{"name":"c"}}}}"#,
            "9".repeat(500)
        );
        let r = reason(&hostile_id);
        assert!(r.starts_with("`id`: interaction id"), "{r}");
        assert!(!r.contains(&"9".repeat(41)), "{r}");
    }

    #[test]
    fn member_permissions_must_be_a_bit_set() {
        let body = command_with("[]").replace(r#""permissions":"0""#, r#""permissions":"12x""#);
        assert_eq!(
            reason(&body),
            "`member.permissions` is not a decimal bit set"
        );
        let body = command_with("[]").replace(r#""roles":[]"#, r#""roles":["x"]"#);
        assert!(reason(&body).starts_with("a role in `member.roles`: role id \"x\""));
    }

    #[test]
    fn context_menu_commands_are_refused() {
        let body = command_with("[]").replace(
            r#""type":1,"name":"kaltura""#,
            r#""type":2,"name":"kaltura""#,
        );
        assert_eq!(reason(&body), "not a slash command (`data.type` 2)");
    }

    #[test]
    fn a_missing_command_type_means_a_slash_command() {
        let body = command_with(r#"[{"type":1,"name":"whoami"}]"#)
            .replace(r#""type":1,"name":"kaltura""#, r#""name":"kaltura""#);
        let Interaction::Command(c) = parse(body.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.command.as_str(), c.path.as_slice()),
            ("kaltura", &["whoami".to_owned()][..])
        );
        let values_then_sub =
            command_with(r#"[{"type":3,"name":"v","value":"x"},{"type":1,"name":"s"}]"#);
        assert!(reason(&values_then_sub).contains("not alone"));
    }

    #[test]
    fn integers_are_within_2_pow_53() {
        let ok = command_leaf(r#"[{"type":4,"name":"n","value":9007199254740991}]"#);
        let Interaction::Command(c) = parse(ok.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            c.options[0].value,
            OptionValue::Integer(9_007_199_254_740_991)
        );
        for bad in [
            "9007199254740992",
            "-9007199254740992",
            "1.5",
            "\"x\"",
            "1e300",
        ] {
            let body = command_leaf(&format!(r#"[{{"type":4,"name":"n","value":{bad}}}]"#));
            assert!(reason(&body).starts_with("option `n` is"), "{bad}");
        }
        let float = command_leaf(r#"[{"type":4,"name":"n","value":5.0}]"#);
        let Interaction::Command(c) = parse(float.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(c.options[0].value, OptionValue::Integer(5));
    }

    #[test]
    fn values_are_typed() {
        let body = command_leaf(
            r#"[{"type":3,"name":"s","value":"x"},{"type":5,"name":"b","value":true},
               {"type":6,"name":"u","value":"10"},{"type":7,"name":"c","value":"11"},
               {"type":8,"name":"r","value":"12"},{"type":9,"name":"m","value":"13"},
               {"type":10,"name":"f","value":1.25},{"type":11,"name":"a","value":"14"}]"#,
        );
        let Interaction::Command(c) = parse(body.as_bytes()).unwrap() else {
            panic!()
        };
        let values: Vec<_> = c.options.iter().map(|o| o.value.clone()).collect();
        assert_eq!(
            values,
            vec![
                OptionValue::String("x".into()),
                OptionValue::Boolean(true),
                OptionValue::User(DiscordUserId::new(10).unwrap()),
                OptionValue::Channel(ChannelId::new(11).unwrap()),
                OptionValue::Role(RoleId::new(12).unwrap()),
                OptionValue::Mentionable(13),
                OptionValue::Number(1.25),
                OptionValue::Attachment(14),
            ]
        );
        assert_eq!(c.path, vec!["leaf".to_owned()]);
        for (kind, value) in [
            (6, "\"0\""),
            (7, "\"../x\""),
            (5, "\"true\""),
            (10, "\"1\""),
            (3, "1"),
            (8, "null"),
        ] {
            let body = command_leaf(&format!(
                r#"[{{"type":{kind},"name":"o","value":{value}}}]"#
            ));
            assert!(reason(&body).starts_with("option `o`"), "{kind} {value}");
        }
        let unknown = command_leaf(r#"[{"type":42,"name":"o","value":1}]"#);
        assert_eq!(reason(&unknown), "option `o` has unknown type 42");
    }

    #[test]
    fn bounds_on_nesting_counts_and_lengths() {
        let deep = command_with(
            r#"[{"type":2,"name":"g","options":[{"type":1,"name":"s","options":[{"type":1,"name":"t"}]}]}]"#,
        );
        assert_eq!(
            reason(&deep),
            "option `t` is nested deeper than Discord allows"
        );
        let group_in_group =
            command_with(r#"[{"type":2,"name":"g","options":[{"type":2,"name":"h"}]}]"#);
        assert!(reason(&group_in_group).contains("nested deeper"));
        let value_in_group = command_with(
            r#"[{"type":2,"name":"g","options":[{"type":3,"name":"v","value":"x"}]}]"#,
        );
        assert!(reason(&value_in_group).contains("inside a subcommand group"));
        let siblings = command_with(r#"[{"type":1,"name":"a"},{"type":1,"name":"b"}]"#);
        assert!(reason(&siblings).contains("not alone"));
        let many = (0..26)
            .map(|i| format!(r#"{{"type":3,"name":"o{i}","value":"x"}}"#))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            reason(&command_leaf(&format!("[{many}]"))),
            "`options` has 26 entries; at most 25 are accepted"
        );
        let long = command_leaf(&format!(
            r#"[{{"type":3,"name":"o","value":"{}"}}]"#,
            "é".repeat(6001)
        ));
        assert_eq!(reason(&long), "option `o` is longer than 6000 characters");
        let fits = command_leaf(&format!(
            r#"[{{"type":3,"name":"o","value":"{}"}}]"#,
            "é".repeat(6000)
        ));
        assert!(parse(fits.as_bytes()).is_ok());
        let long_name = command_leaf(&format!(
            r#"[{{"type":3,"name":"{}","value":"x"}}]"#,
            "n".repeat(33)
        ));
        assert_eq!(
            reason(&long_name),
            "the name of an option is not 1-32 characters"
        );
    }

    #[test]
    fn autocomplete_needs_one_focused_option() {
        let body = command_leaf(r#"[{"type":3,"name":"a","value":"x"}]"#)
            .replace(r#""type":2,"id""#, r#""type":4,"id""#);
        assert_eq!(
            reason(&body),
            "the autocomplete request has no focused option"
        );
        let two = command_leaf(
            r#"[{"type":3,"name":"a","value":"x","focused":true},{"type":3,"name":"b","value":"y","focused":true}]"#,
        )
        .replace(r#""type":2,"id""#, r#""type":4,"id""#);
        assert_eq!(reason(&two), "more than one option is focused");
        // A half-typed integer that is not focused is skipped, a focused one is kept as text.
        let partial = command_leaf(
            r#"[{"type":4,"name":"n","value":"12a"},{"type":4,"name":"p","value":7,"focused":true}]"#,
        )
        .replace(r#""type":2,"id""#, r#""type":4,"id""#);
        let Interaction::Autocomplete(a) = parse(partial.as_bytes()).unwrap() else {
            panic!()
        };
        assert!(a.options.is_empty());
        assert_eq!((a.focused.as_str(), a.partial.as_str()), ("p", "7"));
    }

    #[test]
    fn custom_ids_are_bounded_and_not_echoed() {
        let body = |id: &str| {
            format!(
                r#"{{"type":3,"id":"1","application_id":"2","token":"t","user":{{"id":"4"}},
                "data":{{"custom_id":"{id}","component_type":2}}}}"#
            )
        };
        let long = "x".repeat(101);
        let r = reason(&body(&long));
        assert_eq!(r, "`data.custom_id` is not 1-100 characters");
        assert_eq!(
            reason(&body("")),
            "`data.custom_id` is not 1-100 characters"
        );
        assert!(parse(body(&"x".repeat(100)).as_bytes()).is_ok());
    }

    #[test]
    fn echo_is_capped_at_40_characters() {
        let long = format!("\"{}\"", "a".repeat(100));
        let text = |id: &str| {
            format!(
                r#"{{"type":5,"id":"1","application_id":"2","token":"t","user":{{"id":"4"}},
                "data":{{"custom_id":"m","components":[{{"type":1,"components":[{{"type":4,"custom_id":"{id}","value":"{}"}}]}}]}}}}"#,
                "v".repeat(6001)
            )
        };
        let r = reason(&text(&"i".repeat(100)));
        assert!(
            r.contains(&"i".repeat(40)) && !r.contains(&"i".repeat(41)),
            "{r}"
        );
        assert_eq!(shown("abc"), "\"abc\"");
        assert!(shown(&long).ends_with('…'));
    }

    #[test]
    fn token_is_never_in_debug() {
        let body = command_with("[]");
        let parsed = parse(body.as_bytes()).unwrap();
        let debug = format!("{parsed:?}");
        assert!(debug.contains("InteractionToken(<redacted>)"));
        assert!(!debug.contains("\"tok\""));
        assert_eq!(parsed.context().unwrap().token.expose(), "tok");
    }
}
