//! The commands as data, and the registration JSON generated from them.
//!
//! [`commands`] describes `/kaltura` (for members) and `/kaltura-admin` (for server managers)
//! as [`CommandSpec`] values; [`registration`] checks them against Discord's limits
//! ([`validate`]) and turns them into the body of Discord's bulk overwrite
//! (`PUT /applications/{id}/commands`). [`is_ephemeral`] tells, for any leaf of the tree,
//! whether its final reply is only shown to the invoker, so a deferral uses the right flag.
//!
//! ```
//! use kaltura_discord::commands::definition::{commands, is_ephemeral, registration};
//!
//! let body = registration(&commands())?;
//! assert!(body.as_json().starts_with('['));
//! assert!(!is_ephemeral("kaltura", &["video".to_owned(), "search".to_owned()]));
//! assert!(is_ephemeral("kaltura", &["whoami".to_owned()]));
//! # Ok::<(), kaltura_discord::Error>(())
//! ```

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::commands::reply::{Choice, ChoiceValue};
use crate::rbac::DiscordPermissions;
use crate::{Error, Result};

/// The largest integer Discord accepts in an INTEGER option (2^53 - 1).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Discord's option types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionKind {
    /// SUB_COMMAND (1).
    SubCommand,
    /// SUB_COMMAND_GROUP (2).
    SubCommandGroup,
    /// STRING (3).
    String,
    /// INTEGER (4), between -2^53+1 and 2^53-1.
    Integer,
    /// BOOLEAN (5).
    Boolean,
    /// USER (6).
    User,
    /// CHANNEL (7).
    Channel,
    /// ROLE (8).
    Role,
    /// MENTIONABLE (9): a user or a role.
    Mentionable,
    /// NUMBER (10): a double.
    Number,
    /// ATTACHMENT (11).
    Attachment,
}

impl OptionKind {
    /// Discord's numeric value of the type.
    pub const fn code(self) -> u8 {
        match self {
            OptionKind::SubCommand => 1,
            OptionKind::SubCommandGroup => 2,
            OptionKind::String => 3,
            OptionKind::Integer => 4,
            OptionKind::Boolean => 5,
            OptionKind::User => 6,
            OptionKind::Channel => 7,
            OptionKind::Role => 8,
            OptionKind::Mentionable => 9,
            OptionKind::Number => 10,
            OptionKind::Attachment => 11,
        }
    }

    /// The kind for Discord's numeric value, `None` for a type this crate does not know.
    pub const fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            1 => OptionKind::SubCommand,
            2 => OptionKind::SubCommandGroup,
            3 => OptionKind::String,
            4 => OptionKind::Integer,
            5 => OptionKind::Boolean,
            6 => OptionKind::User,
            7 => OptionKind::Channel,
            8 => OptionKind::Role,
            9 => OptionKind::Mentionable,
            10 => OptionKind::Number,
            11 => OptionKind::Attachment,
            _ => return None,
        })
    }

    /// Whether it is a subcommand or a subcommand group (a node of the tree, not a value).
    pub const fn is_node(self) -> bool {
        matches!(self, OptionKind::SubCommand | OptionKind::SubCommandGroup)
    }

    fn takes_choices(self) -> bool {
        matches!(
            self,
            OptionKind::String | OptionKind::Integer | OptionKind::Number
        )
    }
}

/// A slash command: a top-level name with subcommand groups, subcommands or options.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// The name (lowercase, 1-32 characters of letters, digits, `-`, `_` and `'`).
    pub name: String,
    /// The description shown in Discord's command picker (1-100 characters).
    pub description: String,
    /// The permissions a member needs to see the command (`None`: everyone). Server admins
    /// can change this per server; the command layer checks RBAC anyway.
    pub default_member_permissions: Option<DiscordPermissions>,
    /// Only usable in servers (`contexts: [0]`), not in DMs.
    pub guild_only: bool,
    /// Whether the reply is ephemeral when the command has no subcommands (the leaves of a
    /// command with subcommands carry their own [`OptionSpec::ephemeral`]).
    pub ephemeral: bool,
    /// Subcommand groups, subcommands or value options.
    pub options: Vec<OptionSpec>,
}

impl CommandSpec {
    /// A command named `name`, usable in servers and DMs, visible to everyone, replying
    /// ephemerally; add options with [`CommandSpec::option`].
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        CommandSpec {
            name: name.into(),
            description: description.into(),
            default_member_permissions: None,
            guild_only: false,
            ephemeral: true,
            options: Vec::new(),
        }
    }

    /// Only members with `permissions` see the command by default.
    pub fn default_member_permissions(mut self, permissions: DiscordPermissions) -> Self {
        self.default_member_permissions = Some(permissions);
        self
    }

    /// Only usable in servers.
    pub fn guild_only(mut self) -> Self {
        self.guild_only = true;
        self
    }

    /// Its reply is public (for a command without subcommands).
    pub fn public(mut self) -> Self {
        self.ephemeral = false;
        self
    }

    /// Adds an option (a subcommand group, a subcommand or a value).
    pub fn option(mut self, option: OptionSpec) -> Self {
        self.options.push(option);
        self
    }

    /// The subcommand (or group) at `path`, outermost first; `None` if there is none.
    pub fn node<S: AsRef<str>>(&self, path: &[S]) -> Option<&OptionSpec> {
        let (first, rest) = path.split_first()?;
        let mut node = self
            .options
            .iter()
            .find(|o| o.kind.is_node() && o.name == first.as_ref())?;
        for name in rest {
            node = node
                .options
                .iter()
                .find(|o| o.kind.is_node() && o.name == name.as_ref())?;
        }
        Some(node)
    }

    /// Whether the final reply to the leaf at `path` is ephemeral: the leaf's own flag for a
    /// subcommand, the command's for a command without subcommands, `true` when `path` names
    /// no leaf (a group, or nothing).
    pub fn leaf_is_ephemeral<S: AsRef<str>>(&self, path: &[S]) -> bool {
        if path.is_empty() {
            if self.options.iter().any(|o| o.kind.is_node()) {
                return true;
            }
            return self.ephemeral;
        }
        match self.node(path) {
            Some(leaf) if leaf.kind == OptionKind::SubCommand => leaf.ephemeral,
            _ => true,
        }
    }
}

/// An option of a command: a subcommand group, a subcommand or a value option.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionSpec {
    /// The name (same rules as a command's).
    pub name: String,
    /// The description (1-100 characters).
    pub description: String,
    /// The type.
    pub kind: OptionKind,
    /// Must be given (value options only; required options come first).
    pub required: bool,
    /// Fixed choices (STRING, INTEGER, NUMBER; at most 25; not with autocomplete).
    pub choices: Vec<Choice>,
    /// Suggestions come from autocomplete interactions.
    pub autocomplete: bool,
    /// Smallest value (INTEGER, NUMBER).
    pub min_value: Option<f64>,
    /// Largest value (INTEGER, NUMBER).
    pub max_value: Option<f64>,
    /// Shortest text (STRING; 0-6000).
    pub min_length: Option<u16>,
    /// Longest text (STRING; 1-6000).
    pub max_length: Option<u16>,
    /// The channel types offered (CHANNEL), e.g. 0 text, 5 announcement.
    pub channel_types: Vec<u8>,
    /// For a subcommand: whether its final reply is ephemeral (only the invoker sees it).
    pub ephemeral: bool,
    /// The subcommands of a group, or the value options of a subcommand.
    pub options: Vec<OptionSpec>,
}

impl OptionSpec {
    /// An option of `kind`, optional, without limits; subcommands reply ephemerally unless
    /// made [`OptionSpec::public`].
    pub fn new(kind: OptionKind, name: impl Into<String>, description: impl Into<String>) -> Self {
        OptionSpec {
            name: name.into(),
            description: description.into(),
            kind,
            required: false,
            choices: Vec::new(),
            autocomplete: false,
            min_value: None,
            max_value: None,
            min_length: None,
            max_length: None,
            channel_types: Vec::new(),
            ephemeral: true,
            options: Vec::new(),
        }
    }

    /// A subcommand group; add its subcommands with [`OptionSpec::option`].
    pub fn group(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(OptionKind::SubCommandGroup, name, description)
    }

    /// A subcommand (its reply is ephemeral unless made [`OptionSpec::public`]).
    pub fn subcommand(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(OptionKind::SubCommand, name, description)
    }

    /// A STRING option.
    pub fn string(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(OptionKind::String, name, description)
    }

    /// An INTEGER option.
    pub fn integer(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(OptionKind::Integer, name, description)
    }

    /// A USER option.
    pub fn user(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(OptionKind::User, name, description)
    }

    /// A CHANNEL option.
    pub fn channel(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(OptionKind::Channel, name, description)
    }

    /// A ROLE option.
    pub fn role(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(OptionKind::Role, name, description)
    }

    /// Must be given.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Text length between `min` and `max` characters.
    pub fn length(mut self, min: u16, max: u16) -> Self {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }

    /// Text of at most `max` characters.
    pub fn max_length(mut self, max: u16) -> Self {
        self.max_length = Some(max);
        self
    }

    /// A value between `min` and `max`.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min_value = Some(min);
        self.max_value = Some(max);
        self
    }

    /// Adds a fixed string choice.
    pub fn choice(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.choices.push(Choice {
            name: name.into(),
            value: ChoiceValue::String(value.into()),
        });
        self
    }

    /// Adds a fixed integer choice.
    pub fn int_choice(mut self, name: impl Into<String>, value: i64) -> Self {
        self.choices.push(Choice {
            name: name.into(),
            value: ChoiceValue::Integer(value),
        });
        self
    }

    /// Suggestions come from autocomplete interactions.
    pub fn autocomplete(mut self) -> Self {
        self.autocomplete = true;
        self
    }

    /// The channel types offered.
    pub fn channel_types(mut self, types: impl IntoIterator<Item = u8>) -> Self {
        self.channel_types = types.into_iter().collect();
        self
    }

    /// The subcommand's reply is public.
    pub fn public(mut self) -> Self {
        self.ephemeral = false;
        self
    }

    /// Adds a subcommand (to a group) or a value option (to a subcommand).
    pub fn option(mut self, option: OptionSpec) -> Self {
        self.options.push(option);
        self
    }
}

/// The notification events members can subscribe channels to.
pub const NOTIFY_EVENTS: [&str; 8] = [
    "entry_ready",
    "entry_added_to_category",
    "entry_changed",
    "captions_ready",
    "meeting_scheduled",
    "meeting_live",
    "meeting_ended",
    "recording_ready",
];

/// The top-level sections of a guild's configuration that `/kaltura-admin config show`
/// offers (those of [`crate::config::GuildConfig`]; its `locale` is a single value, shown
/// with every section).
pub const CONFIG_SECTIONS: [&str; 6] = [
    "features",
    "meetings",
    "identity",
    "rbac",
    "kaltura",
    "notifications",
];

/// `entry_added_to_category` → `Entry added to category`.
fn display_name(key: &str) -> String {
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn event_option(name: &str, description: &str) -> OptionSpec {
    NOTIFY_EVENTS
        .iter()
        .fold(OptionSpec::string(name, description), |o, e| {
            o.choice(display_name(e), *e)
        })
}

fn kaltura_command() -> CommandSpec {
    let meeting = OptionSpec::group("meeting", "Kaltura Meetings rooms for this server")
        .option(
            OptionSpec::subcommand("start", "Start a Kaltura meeting room")
                .public()
                .option(
                    OptionSpec::string("title", "Title of the meeting")
                        .required()
                        .length(1, 100),
                )
                .option(
                    OptionSpec::string("type", "Kind of room")
                        .choice("Webinar", "webinar")
                        .choice("Meeting room", "meeting_room")
                        .choice("Virtual classroom", "virtual_classroom"),
                )
                .option(OptionSpec::string("description", "What it is about").max_length(500))
                .option(
                    OptionSpec::integer("duration", "Length in minutes (5-1440)")
                        .range(5.0, 1440.0),
                ),
        )
        .option(
            OptionSpec::subcommand("join", "Get your personal link to join a meeting").option(
                OptionSpec::string("meeting", "The meeting")
                    .required()
                    .autocomplete(),
            ),
        )
        .option(OptionSpec::subcommand(
            "list",
            "Active and upcoming meetings of this server",
        ))
        .option(
            OptionSpec::subcommand("end", "End a meeting").option(
                OptionSpec::string("meeting", "The meeting")
                    .required()
                    .autocomplete(),
            ),
        );
    let video = OptionSpec::group("video", "Kaltura videos")
        .option(
            OptionSpec::subcommand("search", "Search Kaltura videos")
                .public()
                .option(
                    OptionSpec::string("query", "Words to search for")
                        .required()
                        .length(1, 100),
                )
                .option(OptionSpec::integer("page", "Page of results (1-50)").range(1.0, 50.0)),
        )
        .option(
            OptionSpec::subcommand("share", "Post a video in this channel")
                .public()
                .option(
                    OptionSpec::string("video", "The video")
                        .required()
                        .autocomplete(),
                ),
        )
        .option(
            OptionSpec::subcommand("info", "Details of a video")
                .public()
                .option(
                    OptionSpec::string("video", "The video")
                        .required()
                        .autocomplete(),
                ),
        );
    CommandSpec::new("kaltura", "Kaltura videos and meetings")
        .guild_only()
        .option(meeting)
        .option(video)
        .option(
            OptionSpec::subcommand("link", "Link your Discord account to a Kaltura user").option(
                OptionSpec::string("kaltura_user", "Your Kaltura user id")
                    .required()
                    .length(1, 100),
            ),
        )
        .option(OptionSpec::subcommand(
            "unlink",
            "Remove the link to your Kaltura user",
        ))
        .option(OptionSpec::subcommand(
            "whoami",
            "Which Kaltura user you act as here",
        ))
        .option(OptionSpec::subcommand(
            "help",
            "What the Kaltura commands do",
        ))
}

fn kaltura_admin_command() -> CommandSpec {
    let section = CONFIG_SECTIONS.iter().fold(
        OptionSpec::string("section", "Only this section"),
        |o, s| o.choice(*s, *s),
    );
    let config = OptionSpec::group("config", "This server's Kaltura configuration")
        .option(OptionSpec::subcommand("show", "Show the effective configuration").option(section))
        .option(
            OptionSpec::subcommand("set", "Override a configuration key for this server")
                .option(OptionSpec::string("key", "Key, e.g. meetings.default_type").required())
                .option(
                    OptionSpec::string("value", "New value")
                        .required()
                        .max_length(1000),
                ),
        )
        .option(
            OptionSpec::subcommand("reset", "Remove this server's override of a key")
                .option(OptionSpec::string("key", "Key").required()),
        )
        .option(
            OptionSpec::subcommand("explain", "Where a value comes from")
                .option(OptionSpec::string("key", "Key")),
        );
    let identity = OptionSpec::group("identity", "Members' Kaltura identities")
        .option(
            OptionSpec::subcommand("link", "Link a member to a Kaltura user")
                .option(OptionSpec::user("member", "The member").required())
                .option(OptionSpec::string("kaltura_user", "The Kaltura user id").required()),
        )
        .option(
            OptionSpec::subcommand("unlink", "Remove a member's link")
                .option(OptionSpec::user("member", "The member").required()),
        )
        .option(
            OptionSpec::subcommand("show", "Which Kaltura user a member acts as")
                .option(OptionSpec::user("member", "The member").required()),
        );
    let audit = OptionSpec::group("audit", "The audit log").option(
        OptionSpec::subcommand("recent", "Recent audit entries")
            .option(OptionSpec::integer("limit", "How many (1-25)").range(1.0, 25.0)),
    );
    let notify = OptionSpec::group("notify", "Kaltura event notifications")
        .option(
            OptionSpec::subcommand("subscribe", "Post Kaltura events in a channel")
                .option(
                    OptionSpec::channel("channel", "Where to post")
                        .required()
                        .channel_types([0, 5]),
                )
                .option(event_option("event", "Which event").required())
                .option(OptionSpec::role("role", "Role to mention"))
                .option(
                    OptionSpec::integer(
                        "category",
                        "Only entries published in this Kaltura category id",
                    )
                    .range(1.0, 9_007_199_254_740_991.0),
                )
                .option(OptionSpec::string("tag", "Only entries with this tag").length(1, 100))
                .option(
                    OptionSpec::string("owner", "Only entries owned by this Kaltura user id")
                        .length(1, 100),
                )
                .option(
                    OptionSpec::integer("media_type", "Only entries of this media type")
                        .int_choice("Video", 1)
                        .int_choice("Audio", 5)
                        .int_choice("Image", 2),
                )
                .option(
                    OptionSpec::integer(
                        "min_duration",
                        "Only entries at least this long (seconds)",
                    )
                    .range(0.0, 86_400.0),
                )
                .option(OptionSpec::new(
                    OptionKind::Boolean,
                    "include_restricted",
                    "Also announce entries that are unpublished or restricted (default: no)",
                ))
                .option(
                    OptionSpec::string(
                        "template",
                        "A template from this server's notifications.templates",
                    )
                    .length(1, 100),
                )
                .option(
                    OptionSpec::string(
                        "webhook_url",
                        "Post through this channel webhook instead of as the bot",
                    )
                    .length(1, 300),
                ),
        )
        .option(
            OptionSpec::subcommand("unsubscribe", "Stop posting events in a channel")
                .option(OptionSpec::channel("channel", "The channel").required())
                .option(event_option("event", "Only this event (all when omitted)")),
        )
        .option(OptionSpec::subcommand("list", "The subscriptions"))
        .option(
            OptionSpec::subcommand("test", "Post a test notification")
                .option(OptionSpec::channel("channel", "The channel").required()),
        )
        .option(
            OptionSpec::subcommand("history", "Recent notification deliveries")
                .option(OptionSpec::integer("limit", "How many (1-25)").range(1.0, 25.0)),
        )
        .option(
            OptionSpec::subcommand("replay", "Queue a failed delivery again").option(
                OptionSpec::integer("id", "The delivery id (from history)")
                    .required()
                    .range(1.0, 9_007_199_254_740_991.0),
            ),
        );
    CommandSpec::new("kaltura-admin", "Configure Kaltura for this server")
        .default_member_permissions(DiscordPermissions::MANAGE_GUILD)
        .guild_only()
        .option(config)
        .option(identity)
        .option(audit)
        .option(notify)
}

/// The library's commands: `/kaltura` (members) and `/kaltura-admin` (members with Manage
/// Server by default).
pub fn commands() -> Vec<CommandSpec> {
    vec![kaltura_command(), kaltura_admin_command()]
}

static COMMANDS: LazyLock<Vec<CommandSpec>> = LazyLock::new(commands);

/// The spec of one of the library's [`commands`] by name (built once), e.g. to read the
/// choices or bounds of an option.
pub fn spec(command: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == command)
}

fn lookup_ephemeral<S: AsRef<str>>(command: &str, path: &[S]) -> bool {
    spec(command).is_none_or(|c| c.leaf_is_ephemeral(path))
}

/// Whether the final reply to `/command path…` of [`commands`] is ephemeral. Replies that
/// carry personal data and every `/kaltura-admin` reply are; `meeting start` and the `video`
/// subcommands are public. Unknown commands and paths give `true`.
pub fn is_ephemeral(command: &str, path: &[String]) -> bool {
    lookup_ephemeral(command, path)
}

/// [`is_ephemeral`] for a path of `&str`.
pub fn ephemeral_for(command: &str, path: &[&str]) -> bool {
    lookup_ephemeral(command, path)
}

/// The registration body for Discord's bulk overwrite: a JSON array of commands, checked
/// against Discord's limits when it was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    json: String,
}

impl Registration {
    /// Validates `specs` and builds the JSON array (see [`registration`]).
    ///
    /// # Errors
    ///
    /// As [`registration`].
    pub fn from_specs(specs: &[CommandSpec]) -> Result<Self> {
        registration(specs)
    }

    /// The JSON array, as sent to Discord.
    pub fn as_json(&self) -> &str {
        &self.json
    }
}

/// The most slash commands an application may register (globally, or in one guild).
pub const MAX_COMMANDS: usize = 100;

/// Validates every command and builds Discord's bulk-overwrite body: a JSON array of
/// commands with `type` 1, `name`, `description`, `options`, `default_member_permissions`
/// (a decimal string), `contexts` (`[0]` when guild-only, else `[0, 1]`) and
/// `integration_types` `[0]`.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `command`) when a command breaks one of Discord's limits
/// (see [`validate`]), when two commands share a name, or when there are more than
/// [`MAX_COMMANDS`].
pub fn registration(specs: &[CommandSpec]) -> Result<Registration> {
    if specs.len() > MAX_COMMANDS {
        return Err(Error::invalid_input(
            "command",
            format!(
                "{} commands; Discord allows at most {MAX_COMMANDS}",
                specs.len()
            ),
        ));
    }
    let mut names = BTreeSet::new();
    let mut array = Vec::with_capacity(specs.len());
    for spec in specs {
        validate(spec)?;
        if !names.insert(spec.name.as_str()) {
            return Err(Error::invalid_input(
                "command",
                format!("{}: two commands have this name", spec.name),
            ));
        }
        array.push(command_json(spec));
    }
    let json = serde_json::to_string(&Value::Array(array))
        .map_err(|e| Error::invalid_input("command", format!("cannot serialize: {e}")))?;
    Ok(Registration { json })
}

/// The registration body of the library's own [`commands`].
///
/// # Errors
///
/// As [`registration`] (never for the shipped commands; a test checks them).
pub fn commands_json() -> Result<Registration> {
    registration(&commands())
}

fn command_json(spec: &CommandSpec) -> Value {
    let mut obj = Map::new();
    obj.insert("type".into(), json!(1));
    obj.insert("name".into(), json!(spec.name));
    obj.insert("description".into(), json!(spec.description));
    if !spec.options.is_empty() {
        obj.insert(
            "options".into(),
            Value::Array(spec.options.iter().map(option_json).collect()),
        );
    }
    if let Some(perms) = spec.default_member_permissions {
        obj.insert(
            "default_member_permissions".into(),
            json!(perms.bits().to_string()),
        );
    }
    let contexts: &[u8] = if spec.guild_only { &[0] } else { &[0, 1] };
    obj.insert("contexts".into(), json!(contexts));
    obj.insert("integration_types".into(), json!([0]));
    Value::Object(obj)
}

fn bound_json(kind: OptionKind, v: f64) -> Value {
    if kind == OptionKind::Integer {
        // Validated to be whole and within ±2^53 - 1, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let whole = v as i64;
        json!(whole)
    } else {
        json!(v)
    }
}

fn choice_value_json(value: &ChoiceValue) -> Value {
    match value {
        ChoiceValue::String(s) => json!(s),
        ChoiceValue::Integer(i) => json!(i),
    }
}

fn option_json(o: &OptionSpec) -> Value {
    let mut obj = Map::new();
    obj.insert("type".into(), json!(o.kind.code()));
    obj.insert("name".into(), json!(o.name));
    obj.insert("description".into(), json!(o.description));
    if o.required {
        obj.insert("required".into(), json!(true));
    }
    if !o.choices.is_empty() {
        let choices = o
            .choices
            .iter()
            .map(|c| json!({"name": c.name, "value": choice_value_json(&c.value)}))
            .collect();
        obj.insert("choices".into(), Value::Array(choices));
    }
    if o.autocomplete {
        obj.insert("autocomplete".into(), json!(true));
    }
    if let Some(v) = o.min_value {
        obj.insert("min_value".into(), bound_json(o.kind, v));
    }
    if let Some(v) = o.max_value {
        obj.insert("max_value".into(), bound_json(o.kind, v));
    }
    if let Some(v) = o.min_length {
        obj.insert("min_length".into(), json!(v));
    }
    if let Some(v) = o.max_length {
        obj.insert("max_length".into(), json!(v));
    }
    if !o.channel_types.is_empty() {
        obj.insert("channel_types".into(), json!(o.channel_types));
    }
    if !o.options.is_empty() {
        obj.insert(
            "options".into(),
            Value::Array(o.options.iter().map(option_json).collect()),
        );
    }
    Value::Object(obj)
}

/// Discord's limits on a command's JSON.
const MAX_NAME: usize = 32;
const MAX_DESCRIPTION: usize = 100;
const MAX_OPTIONS: usize = 25;
const MAX_CHOICES: usize = 25;
const MAX_CHOICE_NAME: usize = 100;
const MAX_CHOICE_VALUE: usize = 100;
const MAX_TEXT_LENGTH: u16 = 6000;
const MAX_TOTAL: usize = 8000;

/// Checks a command against Discord's limits: names (`^[-_'\p{L}\p{N}]{1,32}$`, lowercase
/// where a lowercase form exists), descriptions of 1-100 characters, at most 25 options per
/// level with unique names and required ones first, at most 25 choices (names 1-100
/// characters, string values at most 100, of the option's type) and never with autocomplete,
/// coherent `min`/`max` bounds of the right option types, a well-formed tree (groups hold
/// subcommands, subcommands hold values, no mixing of subcommands and values), and at most
/// 8,000 characters of names, descriptions and choices in all.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `command`) naming the offending path, e.g.
/// `kaltura meeting start.title: description longer than 100 characters`.
pub fn validate(spec: &CommandSpec) -> Result<()> {
    let path = spec.name.as_str();
    check_name(path, &spec.name)?;
    check_description(path, &spec.description)?;
    check_level(path, &spec.options, Level::Command)?;
    let total = spec.name.chars().count()
        + spec.description.chars().count()
        + spec.options.iter().map(option_chars).sum::<usize>();
    if total > MAX_TOTAL {
        return Err(invalid(
            path,
            format!(
                "{total} characters of names, descriptions and choices; Discord allows {MAX_TOTAL}"
            ),
        ));
    }
    Ok(())
}

fn invalid(path: &str, reason: impl std::fmt::Display) -> Error {
    Error::invalid_input("command", format!("{path}: {reason}"))
}

fn option_chars(o: &OptionSpec) -> usize {
    o.name.chars().count()
        + o.description.chars().count()
        + o.choices
            .iter()
            .map(|c| {
                c.name.chars().count()
                    + match &c.value {
                        ChoiceValue::String(s) => s.chars().count(),
                        ChoiceValue::Integer(i) => i.to_string().len(),
                    }
            })
            .sum::<usize>()
        + o.options.iter().map(option_chars).sum::<usize>()
}

fn check_name(path: &str, name: &str) -> Result<()> {
    let len = name.chars().count();
    if len == 0 {
        return Err(invalid(path, "empty name"));
    }
    if len > MAX_NAME {
        return Err(invalid(
            path,
            format!("name longer than {MAX_NAME} characters"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(matches!(c, '-' | '_' | '\'') || c.is_alphabetic() || c.is_numeric()))
    {
        return Err(invalid(
            path,
            format!("name has {c:?}; only letters, digits, '-', '_' and ''' are allowed"),
        ));
    }
    if name
        .chars()
        .any(|c| !c.to_lowercase().eq(std::iter::once(c)))
    {
        return Err(invalid(path, "name must be lowercase"));
    }
    Ok(())
}

fn check_description(path: &str, description: &str) -> Result<()> {
    let len = description.chars().count();
    if len == 0 {
        return Err(invalid(path, "empty description"));
    }
    if len > MAX_DESCRIPTION {
        return Err(invalid(
            path,
            format!("description longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The options of a command: groups and subcommands, or values.
    Command,
    /// The options of a group: subcommands only.
    Group,
    /// The options of a subcommand: values only.
    SubCommand,
}

fn check_level(path: &str, options: &[OptionSpec], level: Level) -> Result<()> {
    if options.len() > MAX_OPTIONS {
        return Err(invalid(
            path,
            format!(
                "{} options; Discord allows {MAX_OPTIONS} per level",
                options.len()
            ),
        ));
    }
    let nodes = options.iter().filter(|o| o.kind.is_node()).count();
    if level == Level::Command && nodes != 0 && nodes != options.len() {
        return Err(invalid(
            path,
            "subcommands cannot be mixed with value options",
        ));
    }
    if level == Level::Group && options.is_empty() {
        return Err(invalid(path, "a subcommand group needs subcommands"));
    }
    let mut names = BTreeSet::new();
    let mut seen_optional = false;
    for o in options {
        let child = if o.kind.is_node() {
            format!("{path} {}", o.name)
        } else {
            format!("{path}.{}", o.name)
        };
        match (level, o.kind) {
            (Level::Command, _) | (Level::Group, OptionKind::SubCommand) => {}
            (Level::Group, _) => {
                return Err(invalid(&child, "a subcommand group holds only subcommands"));
            }
            (Level::SubCommand, k) if k.is_node() => {
                return Err(invalid(&child, "nested deeper than Discord allows"));
            }
            (Level::SubCommand, _) => {}
        }
        check_name(&child, &o.name)?;
        check_description(&child, &o.description)?;
        if !names.insert(o.name.as_str()) {
            return Err(invalid(&child, "two options have this name"));
        }
        if !o.kind.is_node() {
            if o.required && seen_optional {
                return Err(invalid(
                    &child,
                    "required options must come before optional ones",
                ));
            }
            seen_optional |= !o.required;
        }
        check_option(&child, o)?;
    }
    Ok(())
}

fn check_option(path: &str, o: &OptionSpec) -> Result<()> {
    match o.kind {
        OptionKind::SubCommandGroup | OptionKind::SubCommand => {
            if o.required
                || o.autocomplete
                || !o.choices.is_empty()
                || o.min_value.is_some()
                || o.max_value.is_some()
                || o.min_length.is_some()
                || o.max_length.is_some()
                || !o.channel_types.is_empty()
            {
                return Err(invalid(
                    path,
                    "a subcommand or group takes no required flag, choices, autocomplete or bounds",
                ));
            }
            let level = if o.kind == OptionKind::SubCommandGroup {
                Level::Group
            } else {
                Level::SubCommand
            };
            return check_level(path, &o.options, level);
        }
        _ => {}
    }
    if !o.options.is_empty() {
        return Err(invalid(path, "a value option cannot have sub-options"));
    }
    check_choices(path, o)?;
    check_bounds(path, o)?;
    if !o.channel_types.is_empty() && o.kind != OptionKind::Channel {
        return Err(invalid(path, "channel types apply to CHANNEL options only"));
    }
    Ok(())
}

fn check_choices(path: &str, o: &OptionSpec) -> Result<()> {
    if o.choices.is_empty() && !o.autocomplete {
        return Ok(());
    }
    if !o.kind.takes_choices() {
        return Err(invalid(
            path,
            "choices and autocomplete apply to STRING, INTEGER and NUMBER options only",
        ));
    }
    if o.autocomplete && !o.choices.is_empty() {
        return Err(invalid(
            path,
            "choices and autocomplete are mutually exclusive",
        ));
    }
    if o.choices.len() > MAX_CHOICES {
        return Err(invalid(
            path,
            format!("{} choices; Discord allows {MAX_CHOICES}", o.choices.len()),
        ));
    }
    for c in &o.choices {
        let len = c.name.chars().count();
        if len == 0 || len > MAX_CHOICE_NAME {
            return Err(invalid(
                path,
                format!("a choice name must be 1-{MAX_CHOICE_NAME} characters"),
            ));
        }
        match (&c.value, o.kind) {
            (ChoiceValue::String(s), OptionKind::String) => {
                if s.chars().count() > MAX_CHOICE_VALUE {
                    return Err(invalid(
                        path,
                        format!(
                            "choice {:?}: value longer than {MAX_CHOICE_VALUE} characters",
                            c.name
                        ),
                    ));
                }
            }
            (ChoiceValue::Integer(i), OptionKind::Integer | OptionKind::Number) => {
                if i.abs() > MAX_SAFE_INTEGER {
                    return Err(invalid(
                        path,
                        format!("choice {:?}: value outside ±(2^53 - 1)", c.name),
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    path,
                    format!("choice {:?}: value is not of the option's type", c.name),
                ));
            }
        }
    }
    Ok(())
}

fn check_bounds(path: &str, o: &OptionSpec) -> Result<()> {
    if o.min_value.is_some() || o.max_value.is_some() {
        if !matches!(o.kind, OptionKind::Integer | OptionKind::Number) {
            return Err(invalid(
                path,
                "min/max value apply to INTEGER and NUMBER options only",
            ));
        }
        for v in [o.min_value, o.max_value].into_iter().flatten() {
            if !v.is_finite() {
                return Err(invalid(path, "min/max value must be finite"));
            }
            #[allow(clippy::cast_precision_loss)]
            let limit = MAX_SAFE_INTEGER as f64;
            if o.kind == OptionKind::Integer && (v.fract() != 0.0 || v.abs() > limit) {
                return Err(invalid(
                    path,
                    "min/max value of an INTEGER option must be whole and within ±(2^53 - 1)",
                ));
            }
        }
        if let (Some(min), Some(max)) = (o.min_value, o.max_value)
            && min > max
        {
            return Err(invalid(path, "min value is greater than max value"));
        }
    }
    if o.min_length.is_some() || o.max_length.is_some() {
        if o.kind != OptionKind::String {
            return Err(invalid(path, "min/max length apply to STRING options only"));
        }
        if o.min_length.is_some_and(|v| v > MAX_TEXT_LENGTH) {
            return Err(invalid(
                path,
                format!("min length must be 0-{MAX_TEXT_LENGTH}"),
            ));
        }
        if o.max_length.is_some_and(|v| v == 0 || v > MAX_TEXT_LENGTH) {
            return Err(invalid(
                path,
                format!("max length must be 1-{MAX_TEXT_LENGTH}"),
            ));
        }
        if let (Some(min), Some(max)) = (o.min_length, o.max_length)
            && min > max
        {
            return Err(invalid(path, "min length is greater than max length"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(spec: &CommandSpec) -> String {
        validate(spec).unwrap_err().to_string()
    }

    fn sub(options: Vec<OptionSpec>) -> CommandSpec {
        let s = options
            .into_iter()
            .fold(OptionSpec::subcommand("leaf", "Leaf"), OptionSpec::option);
        CommandSpec::new("cmd", "Command").option(s)
    }

    #[test]
    fn shipped_commands_validate() {
        for c in commands() {
            validate(&c).unwrap();
        }
        commands_json().unwrap();
    }

    #[test]
    fn registration_json_snapshot() {
        let reg = commands_json().unwrap();
        let value: Value = serde_json::from_str(reg.as_json()).unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&value).unwrap());
    }

    #[test]
    fn registration_has_discord_shape() {
        let reg = Registration::from_specs(&commands()).unwrap();
        let value: Value = serde_json::from_str(reg.as_json()).unwrap();
        let admin = &value[1];
        assert_eq!(admin["name"], "kaltura-admin");
        assert_eq!(admin["default_member_permissions"], "32");
        assert_eq!(admin["contexts"], json!([0]));
        assert_eq!(admin["integration_types"], json!([0]));
        assert_eq!(value[0]["default_member_permissions"], Value::Null);
        // INTEGER bounds are sent as integers, not 5.0.
        let duration = &value[0]["options"][0]["options"][0]["options"][3];
        assert_eq!(duration["name"], "duration");
        assert_eq!(duration["min_value"], json!(5));
        assert!(duration["min_value"].is_i64());
    }

    #[test]
    fn the_tree_has_the_agreed_names() {
        let cmds = commands();
        let k = &cmds[0];
        for path in [
            &["meeting", "start"][..],
            &["meeting", "join"],
            &["meeting", "list"],
            &["meeting", "end"],
            &["video", "search"],
            &["video", "share"],
            &["video", "info"],
            &["link"],
            &["unlink"],
            &["whoami"],
            &["help"],
        ] {
            assert_eq!(
                k.node(path).map(|n| n.kind),
                Some(OptionKind::SubCommand),
                "{path:?}"
            );
        }
        let a = &cmds[1];
        for path in [
            &["config", "show"][..],
            &["config", "set"],
            &["config", "reset"],
            &["config", "explain"],
            &["identity", "link"],
            &["identity", "unlink"],
            &["identity", "show"],
            &["audit", "recent"],
            &["notify", "subscribe"],
            &["notify", "unsubscribe"],
            &["notify", "list"],
            &["notify", "test"],
            &["notify", "history"],
            &["notify", "replay"],
        ] {
            assert_eq!(
                a.node(path).map(|n| n.kind),
                Some(OptionKind::SubCommand),
                "{path:?}"
            );
        }
    }

    #[test]
    fn config_sections_are_guild_config_sections() {
        let defaults: Value = serde_json::from_str(crate::config::DEFAULT_CONFIG_JSON).unwrap();
        let guild: crate::config::GuildConfig =
            serde_json::from_value(defaults["guild_defaults"].clone()).unwrap();
        let value = serde_json::to_value(guild).unwrap();
        let obj = value.as_object().unwrap();
        for s in CONFIG_SECTIONS {
            assert!(obj.get(s).is_some_and(Value::is_object), "{s}");
        }
        let sections = obj.values().filter(|v| v.is_object()).count();
        assert_eq!(sections, CONFIG_SECTIONS.len());
    }

    #[test]
    fn ephemeral_flags() {
        let s = |p: &[&str]| p.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        for public in [
            &["meeting", "start"][..],
            &["video", "search"],
            &["video", "share"],
            &["video", "info"],
        ] {
            assert!(!is_ephemeral("kaltura", &s(public)), "{public:?}");
            assert!(!ephemeral_for("kaltura", public));
        }
        for private in [
            &["meeting", "join"][..],
            &["meeting", "list"],
            &["meeting", "end"],
            &["link"],
            &["unlink"],
            &["whoami"],
            &["help"],
            &["meeting"],
            &[],
            &["nope"],
            &["meeting", "start", "title"],
        ] {
            assert!(is_ephemeral("kaltura", &s(private)), "{private:?}");
        }
        for admin in [
            &["config", "show"][..],
            &["notify", "list"],
            &["audit", "recent"],
        ] {
            assert!(ephemeral_for("kaltura-admin", admin));
        }
        assert!(ephemeral_for("unknown", &["video", "search"]));
        // A command without subcommands uses its own flag.
        let flat = CommandSpec::new("flat", "Flat").public();
        assert!(!flat.leaf_is_ephemeral::<&str>(&[]));
        assert!(CommandSpec::new("flat", "Flat").leaf_is_ephemeral::<&str>(&[]));
    }

    #[test]
    fn names_must_match_discords_rule() {
        assert_eq!(reason(&CommandSpec::new("", "d")), ": empty name");
        assert!(reason(&CommandSpec::new("a".repeat(33), "d")).contains("longer than 32"));
        validate(&CommandSpec::new("a".repeat(32), "d")).unwrap();
        assert!(reason(&CommandSpec::new("has space", "d")).contains("' '"));
        assert!(reason(&CommandSpec::new("a/b", "d")).contains("'/'"));
        assert_eq!(
            reason(&CommandSpec::new("Kaltura", "d")),
            "Kaltura: name must be lowercase"
        );
        // Non-ASCII letters and digits, apostrophes, hyphens, underscores are fine.
        validate(&CommandSpec::new("vidéo-l'été_2", "d")).unwrap();
        validate(&CommandSpec::new("видео", "d")).unwrap();
        assert!(reason(&CommandSpec::new("ВИДЕО", "d")).contains("lowercase"));
        assert!(reason(&sub(vec![OptionSpec::string("Bad", "d")])).starts_with("cmd leaf.Bad:"));
    }

    #[test]
    fn descriptions_are_1_to_100_characters() {
        assert_eq!(reason(&CommandSpec::new("c", "")), "c: empty description");
        validate(&CommandSpec::new("c", "é".repeat(100))).unwrap();
        assert_eq!(
            reason(&CommandSpec::new("c", "é".repeat(101))),
            "c: description longer than 100 characters"
        );
        let mut cmds = commands();
        let start = &mut cmds[0].options[0].options[0].options[0];
        start.description = "x".repeat(101);
        assert_eq!(
            reason(&cmds[0]),
            "kaltura meeting start.title: description longer than 100 characters"
        );
        assert_eq!(
            validate(&cmds[0]).unwrap_err().kind(),
            crate::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn at_most_25_options_per_level() {
        let opts = |n: usize| {
            (0..n)
                .map(|i| OptionSpec::string(format!("o{i}"), "d"))
                .collect::<Vec<_>>()
        };
        validate(&sub(opts(25))).unwrap();
        assert!(reason(&sub(opts(26))).starts_with("cmd leaf: 26 options"));
        let top = (0..26).fold(CommandSpec::new("c", "d"), |c, i| {
            c.option(OptionSpec::subcommand(format!("s{i}"), "d"))
        });
        assert!(reason(&top).starts_with("c: 26 options"));
    }

    #[test]
    fn at_most_25_choices() {
        let with = |n: usize| {
            (0..n).fold(OptionSpec::string("o", "d"), |o, i| {
                o.choice(format!("n{i}"), format!("v{i}"))
            })
        };
        validate(&sub(vec![with(25)])).unwrap();
        assert_eq!(
            reason(&sub(vec![with(26)])),
            "cmd leaf.o: 26 choices; Discord allows 25"
        );
    }

    #[test]
    fn choices_and_autocomplete_are_exclusive() {
        let o = OptionSpec::string("o", "d").choice("a", "a").autocomplete();
        assert!(reason(&sub(vec![o])).contains("mutually exclusive"));
        let b = OptionSpec::new(OptionKind::Boolean, "b", "d").autocomplete();
        assert!(reason(&sub(vec![b])).contains("STRING, INTEGER and NUMBER"));
    }

    #[test]
    fn choice_names_and_values_are_bounded() {
        let long_name = OptionSpec::string("o", "d").choice("n".repeat(101), "v");
        assert!(reason(&sub(vec![long_name])).contains("choice name must be 1-100"));
        let empty_name = OptionSpec::string("o", "d").choice("", "v");
        assert!(reason(&sub(vec![empty_name])).contains("choice name must be 1-100"));
        let long_value = OptionSpec::string("o", "d").choice("n", "v".repeat(101));
        assert!(reason(&sub(vec![long_value])).contains("value longer than 100"));
        validate(&sub(vec![
            OptionSpec::string("o", "d").choice("n".repeat(100), "v".repeat(100)),
        ]))
        .unwrap();
        let wrong_type = OptionSpec::integer("o", "d").choice("n", "v");
        assert!(reason(&sub(vec![wrong_type])).contains("not of the option's type"));
        let too_big = OptionSpec::integer("o", "d").int_choice("n", MAX_SAFE_INTEGER + 1);
        assert!(reason(&sub(vec![too_big])).contains("2^53"));
        validate(&sub(vec![
            OptionSpec::integer("o", "d").int_choice("n", -MAX_SAFE_INTEGER),
        ]))
        .unwrap();
    }

    #[test]
    fn required_options_come_first() {
        let bad = sub(vec![
            OptionSpec::string("a", "d"),
            OptionSpec::string("b", "d").required(),
        ]);
        assert_eq!(
            reason(&bad),
            "cmd leaf.b: required options must come before optional ones"
        );
    }

    #[test]
    fn option_names_are_unique() {
        let bad = sub(vec![
            OptionSpec::string("a", "d"),
            OptionSpec::integer("a", "d"),
        ]);
        assert_eq!(reason(&bad), "cmd leaf.a: two options have this name");
        let subs = CommandSpec::new("c", "d")
            .option(OptionSpec::subcommand("x", "d"))
            .option(OptionSpec::subcommand("x", "d"));
        assert_eq!(reason(&subs), "c x: two options have this name");
    }

    #[test]
    fn at_most_8000_characters_per_command() {
        // 25 subcommands × 25 options × (name + 100-character description) > 8000.
        let leaf = |i: usize| {
            (0..25).fold(OptionSpec::subcommand(format!("s{i}"), "d"), |s, j| {
                s.option(OptionSpec::string(format!("o{j}"), "x".repeat(100)))
            })
        };
        let big = (0..4).fold(CommandSpec::new("c", "d"), |c, i| c.option(leaf(i)));
        let err = reason(&big);
        assert!(
            err.starts_with("c: ") && err.contains("Discord allows 8000"),
            "{err}"
        );
        let fits = (0..3).fold(CommandSpec::new("c", "d"), |c, i| c.option(leaf(i)));
        validate(&fits).unwrap();
    }

    #[test]
    fn bounds_are_coherent() {
        let cases = [
            (
                OptionSpec::integer("o", "d").range(10.0, 5.0),
                "min value is greater than max value",
            ),
            (
                OptionSpec::integer("o", "d").range(1.5, 5.0),
                "must be whole",
            ),
            (
                OptionSpec::integer("o", "d").range(0.0, 1e17),
                "must be whole",
            ),
            (
                OptionSpec::new(OptionKind::Number, "o", "d").range(f64::NAN, 1.0),
                "finite",
            ),
            (
                OptionSpec::string("o", "d").range(1.0, 2.0),
                "INTEGER and NUMBER options only",
            ),
            (
                OptionSpec::string("o", "d").length(10, 5),
                "min length is greater than max length",
            ),
            (
                OptionSpec::string("o", "d").length(0, 0),
                "max length must be 1-6000",
            ),
            (
                OptionSpec::string("o", "d").length(0, 6001),
                "max length must be 1-6000",
            ),
            (
                OptionSpec::string("o", "d").length(6001, 6001),
                "min length must be 0-6000",
            ),
            (
                OptionSpec::integer("o", "d").length(1, 2),
                "STRING options only",
            ),
            (
                OptionSpec::string("o", "d").channel_types([0]),
                "CHANNEL options only",
            ),
        ];
        for (opt, want) in cases {
            let got = reason(&sub(vec![opt]));
            assert!(got.contains(want), "{got} does not say {want}");
        }
        validate(&sub(vec![
            OptionSpec::new(OptionKind::Number, "o", "d").range(-0.5, 0.5),
        ]))
        .unwrap();
    }

    #[test]
    fn the_tree_is_well_formed() {
        let mixed = CommandSpec::new("c", "d")
            .option(OptionSpec::subcommand("s", "d"))
            .option(OptionSpec::string("v", "d"));
        assert!(reason(&mixed).contains("cannot be mixed"));
        let empty_group = CommandSpec::new("c", "d").option(OptionSpec::group("g", "d"));
        assert_eq!(
            reason(&empty_group),
            "c g: a subcommand group needs subcommands"
        );
        let value_in_group = CommandSpec::new("c", "d")
            .option(OptionSpec::group("g", "d").option(OptionSpec::string("v", "d")));
        assert!(reason(&value_in_group).contains("holds only subcommands"));
        let deep = CommandSpec::new("c", "d").option(
            OptionSpec::group("g", "d")
                .option(OptionSpec::subcommand("s", "d").option(OptionSpec::subcommand("t", "d"))),
        );
        assert_eq!(reason(&deep), "c g s t: nested deeper than Discord allows");
        let group_in_group = CommandSpec::new("c", "d")
            .option(OptionSpec::group("g", "d").option(OptionSpec::group("h", "d")));
        assert!(reason(&group_in_group).contains("holds only subcommands"));
        let required_sub =
            CommandSpec::new("c", "d").option(OptionSpec::subcommand("s", "d").required());
        assert!(reason(&required_sub).contains("takes no required flag"));
        let value_with_children = sub(vec![
            OptionSpec::string("v", "d").option(OptionSpec::string("w", "d")),
        ]);
        assert!(reason(&value_with_children).contains("cannot have sub-options"));
    }

    #[test]
    fn registration_refuses_duplicates_and_too_many() {
        let c = CommandSpec::new("c", "d");
        let err = registration(&[c.clone(), c.clone()])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "c: two commands have this name");
        let many: Vec<_> = (0..101)
            .map(|i| CommandSpec::new(format!("c{i}"), "d"))
            .collect();
        assert!(
            registration(&many)
                .unwrap_err()
                .to_string()
                .contains("at most 100")
        );
        let bad = CommandSpec::new("c", "");
        assert!(registration(&[bad]).is_err());
        let flat = registration(&[CommandSpec::new("c", "d")]).unwrap();
        assert_eq!(
            flat.as_json(),
            r#"[{"contexts":[0,1],"description":"d","integration_types":[0],"name":"c","type":1}]"#
        );
    }

    #[test]
    fn event_choices_have_readable_names() {
        let notify = spec("kaltura-admin")
            .and_then(|c| c.node(&["notify", "subscribe"]))
            .unwrap();
        let event = notify.options.iter().find(|o| o.name == "event").unwrap();
        let pairs: Vec<(&str, &ChoiceValue)> = event
            .choices
            .iter()
            .map(|c| (c.name.as_str(), &c.value))
            .collect();
        assert_eq!(pairs.len(), NOTIFY_EVENTS.len());
        assert_eq!(
            pairs[1],
            (
                "Entry added to category",
                &ChoiceValue::String("entry_added_to_category".into())
            )
        );
        assert_eq!(display_name(""), "");
        assert!(spec("nope").is_none());
    }

    #[test]
    fn option_kind_codes_round_trip() {
        for code in 1..=11 {
            assert_eq!(
                OptionKind::from_code(code).map(OptionKind::code),
                Some(code as u8)
            );
        }
        assert_eq!(OptionKind::from_code(0), None);
        assert_eq!(OptionKind::from_code(12), None);
    }
}
