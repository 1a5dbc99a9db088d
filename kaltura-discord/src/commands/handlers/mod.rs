//! The command handlers, one file per area, and what they share: the per-call context
//! ([`Call`]), typed option access ([`Options`]) and small formatting helpers.

mod admin;
mod help;
mod identity;
mod meeting;
mod notify;
mod video;

use std::sync::Arc;

use kaltura_client::ScheduleEventId;

use crate::commands::InteractionError;
use crate::commands::custom_id::CustomId;
use crate::commands::engine::{Inner, Partner};
use crate::commands::interaction::{
    AutocompleteRequest, CommandInvocation, CommandOption, ComponentClick, InteractionContext,
    OptionValue,
};
use crate::commands::reply::{Choice, ChoiceValue, Reply};
use crate::config::{GuildConfig, ResolvedGuildConfig};
use crate::context::GuildContext;
use crate::ids::{DiscordUserId, GuildId};
use crate::rbac::{Permission, Subject, authorize};
use crate::{Error, Result};

/// Embed colour of our replies (Kaltura blue).
pub(crate) const COLOR: u32 = 0x00_6E_FA;
/// Embed colour of ended or refused things.
pub(crate) const COLOR_MUTED: u32 = 0x99_AA_B5;

/// One interaction in one guild: the engine, the context, the guild's configuration and
/// Kaltura partner.
pub(crate) struct Call<'a> {
    pub(crate) engine: &'a Inner,
    pub(crate) ctx: &'a InteractionContext,
    pub(crate) guild: GuildId,
    pub(crate) resolved: Arc<ResolvedGuildConfig>,
    pub(crate) partner: &'a Partner,
}

impl<'a> Call<'a> {
    /// Resolves the guild of `ctx` (which must have one).
    pub(crate) async fn new(engine: &'a Inner, ctx: &'a InteractionContext) -> Result<Self> {
        let guild = ctx.guild.ok_or_else(|| {
            Error::Interaction(InteractionError::new(crate::commands::engine::DM_TEXT))
        })?;
        let (resolved, partner) = engine.guild(guild).await?;
        Ok(Call {
            engine,
            ctx,
            guild,
            resolved,
            partner,
        })
    }

    /// The guild's configuration.
    pub(crate) fn config(&self) -> &GuildConfig {
        self.resolved.config()
    }

    /// The service context.
    pub(crate) fn gctx(&self) -> GuildContext<'_> {
        GuildContext::new(self.guild, self.resolved.config(), &self.partner.account)
    }

    /// The member who triggered the interaction, as an RBAC subject.
    pub(crate) fn subject(&self) -> Subject {
        self.ctx.invoker.subject()
    }

    /// The member's id.
    pub(crate) fn user(&self) -> DiscordUserId {
        self.ctx.invoker.user
    }

    /// Refuses unless the guild's current policy grants `permission` to the member.
    pub(crate) fn require(&self, permission: Permission) -> Result<()> {
        authorize(&self.config().rbac, &self.subject(), permission).into_result(permission)
    }
}

/// A command shape we do not know.
pub(crate) fn unknown(what: &str) -> Error {
    Error::Interaction(InteractionError::new(format!(
        "{what} is not a command this bot knows; the command list may be out of date, try again in a minute"
    )))
}

/// The options of a command leaf, read by name and type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options<'a>(pub(crate) &'a [CommandOption]);

fn bad_option(name: &str, expected: &str) -> Error {
    Error::Interaction(InteractionError::new(format!(
        "the `{}` option must be {expected}",
        name.chars().take(32).collect::<String>()
    )))
}

impl<'a> Options<'a> {
    /// Refuses options other than `allowed` (an outdated or forged command).
    pub(crate) fn only(self, allowed: &[&str]) -> Result<Self> {
        match self.0.iter().find(|o| !allowed.contains(&o.name.as_str())) {
            Some(o) => Err(Error::Interaction(InteractionError::new(format!(
                "the option `{}` is not one this command has; the command list may be out of date",
                o.name.chars().take(32).collect::<String>()
            )))),
            None => Ok(self),
        }
    }

    fn get(self, name: &str) -> Option<&'a OptionValue> {
        self.0.iter().find(|o| o.name == name).map(|o| &o.value)
    }

    /// A text option.
    pub(crate) fn string(self, name: &str) -> Result<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(bad_option(name, "text")),
        }
    }

    /// A required text option.
    pub(crate) fn required_string(self, name: &str) -> Result<&'a str> {
        self.string(name)?.ok_or_else(|| bad_option(name, "given"))
    }

    /// An integer option.
    pub(crate) fn integer(self, name: &str) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(OptionValue::Integer(i)) => Ok(Some(*i)),
            Some(_) => Err(bad_option(name, "a whole number")),
        }
    }

    /// A required member option.
    pub(crate) fn user(self, name: &str) -> Result<DiscordUserId> {
        match self.get(name) {
            Some(OptionValue::User(u)) => Ok(*u),
            Some(_) => Err(bad_option(name, "a member")),
            None => Err(bad_option(name, "given")),
        }
    }
}

/// Parses a meeting id typed or chosen by a member: 1-19 digits, not zero.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `meeting`) for anything else, e.g. `../../etc`.
pub(crate) fn parse_meeting_id(raw: &str) -> Result<ScheduleEventId> {
    let raw = raw.trim();
    let bad = || {
        Error::invalid_input(
            "meeting",
            "that is not a meeting id: pick a meeting from the list, or use `/kaltura meeting list`",
        )
    };
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match raw.parse::<i64>() {
        Ok(v) if v > 0 => Ok(ScheduleEventId::new(v)),
        _ => Err(bad()),
    }
}

/// `h:mm:ss` or `m:ss`.
pub(crate) fn format_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Text from Kaltura or a member, made inert in Markdown-rendered embed text: backticks,
/// asterisks, underscores, tildes, pipes and angle brackets are escaped, and the text is cut
/// to `max` characters.
pub(crate) fn inert(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in crate::text::truncate_chars(text, max).chars() {
        if matches!(
            c,
            '`' | '*' | '_' | '~' | '|' | '<' | '>' | '[' | ']' | '\\' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for an inline code span (where Markdown escapes would show): backticks become
/// quotes, control characters spaces, cut to `max` characters.
pub(crate) fn code(text: &str, max: usize) -> String {
    crate::text::truncate_chars(text, max)
        .chars()
        .map(|c| match c {
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A slash command.
pub(crate) async fn command(engine: &Inner, cmd: &CommandInvocation) -> Result<Reply> {
    let path: Vec<&str> = cmd.path.iter().map(String::as_str).collect();
    let opts = Options(&cmd.options);
    // Commands that need no guild data first.
    if let ("kaltura", ["help"]) = (cmd.command.as_str(), path.as_slice()) {
        opts.only(&[])?;
        return Ok(help::help());
    }
    if !matches!(cmd.command.as_str(), "kaltura" | "kaltura-admin") {
        return Err(unknown("this command"));
    }
    let call = Call::new(engine, &cmd.context).await?;
    match (cmd.command.as_str(), path.as_slice()) {
        ("kaltura", ["meeting", "start"]) => meeting::start(&call, opts).await,
        ("kaltura", ["meeting", "join"]) => meeting::join(&call, opts).await,
        ("kaltura", ["meeting", "list"]) => meeting::list(&call, opts).await,
        ("kaltura", ["meeting", "end"]) => meeting::end(&call, opts).await,
        ("kaltura", ["video", "search"]) => video::search(&call, opts).await,
        ("kaltura", ["video", "share"]) => video::share(&call, opts).await,
        ("kaltura", ["video", "info"]) => video::info(&call, opts).await,
        ("kaltura", ["link"]) => identity::link(&call, opts).await,
        ("kaltura", ["unlink"]) => identity::unlink(&call, opts).await,
        ("kaltura", ["whoami"]) => identity::whoami(&call, opts).await,
        ("kaltura-admin", ["config", leaf]) => admin::config(&call, leaf, opts).await,
        ("kaltura-admin", ["identity", leaf]) => admin::identity(&call, leaf, opts).await,
        ("kaltura-admin", ["audit", "recent"]) => admin::audit_recent(&call, opts).await,
        ("kaltura-admin", ["notify", leaf]) => notify::notify(&call, leaf, opts).await,
        _ => Err(unknown("this subcommand")),
    }
}

/// A button or select click: parsed strictly, then authorized for the clicker.
pub(crate) async fn click(engine: &Inner, click: &ComponentClick) -> Result<Reply> {
    let id = CustomId::parse(&click.custom_id)?;
    let call = Call::new(engine, &click.context).await?;
    match id {
        CustomId::Join { meeting } => meeting::join_reply(&call, meeting).await,
        CustomId::End { meeting } => meeting::end_from_card(&call, meeting).await,
        CustomId::Share { entry } => video::share_entry(&call, entry.as_str()).await,
        CustomId::ShareMenu => {
            let [value] = click.values.as_slice() else {
                return Err(Error::Interaction(InteractionError::new(
                    "choose exactly one video to share",
                )));
            };
            video::share_entry(&call, value).await
        }
        CustomId::Info { entry } => video::info_entry(&call, entry.as_str()).await,
        CustomId::SearchPage { token, page } => video::page(&call, &token, page).await,
        #[allow(unreachable_patterns)]
        _ => Err(Error::Interaction(InteractionError::new(
            "this button is outdated",
        ))),
    }
}

/// Suggestions for the focused option.
pub(crate) async fn autocomplete(engine: &Inner, req: &AutocompleteRequest) -> Result<Vec<Choice>> {
    let path: Vec<&str> = req.path.iter().map(String::as_str).collect();
    let call = Call::new(engine, &req.context).await?;
    let pairs = match (req.command.as_str(), path.as_slice(), req.focused.as_str()) {
        ("kaltura", ["meeting", "join" | "end"], "meeting") => {
            meeting::suggestions(&call, &req.partial).await?
        }
        ("kaltura", ["video", "share" | "info"], "video") => {
            video::suggestions(&call, &req.partial).await?
        }
        _ => return Ok(Vec::new()),
    };
    Ok(pairs
        .into_iter()
        .take(crate::commands::engine::MAX_CHOICES)
        .map(|(value, name)| Choice {
            name: choice_name(&name),
            value: ChoiceValue::String(value),
        })
        .collect())
}

/// A choice name: 1-100 characters, no control characters.
fn choice_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cut = crate::text::truncate_chars(clean.trim(), 100);
    if cut.is_empty() {
        "(untitled)".to_owned()
    } else {
        cut
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn meeting_ids_are_strict() {
        assert_eq!(parse_meeting_id(" 4001 ").unwrap().get(), 4001);
        for bad in [
            "",
            "0",
            "-1",
            "../../etc",
            "1e3",
            "12345678901234567890",
            "4001;",
        ] {
            assert!(
                matches!(parse_meeting_id(bad), Err(Error::InvalidInput { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_and_inert_text() {
        assert_eq!(format_duration(59), "0:59");
        assert_eq!(format_duration(3_661), "1:01:01");
        assert_eq!(format_duration(-5), "0:00");
        assert_eq!(inert("**bold** <@1>", 100), "\\*\\*bold\\*\\* \\<@1\\>");
        assert_eq!(choice_name("a\nb"), "a b");
        assert_eq!(choice_name("   "), "(untitled)");
        assert_eq!(choice_name(&"x".repeat(300)).chars().count(), 100);
    }
}
