//! Rendering an event into a Discord message: a minijinja template for the embed
//! description, everything else (title, link, thumbnail, fields) built by code.
//!
//! **Templates.** Each [`EventKind`] has a built-in template (`config/templates/<kind>.j2`,
//! compiled in); a guild may name one of its own (`notifications.templates`) in a route. The
//! template renders only the embed *description*. Templates run with HTML auto-escaping off,
//! no loader (no file can be included), a fuel limit (a loop cannot run forever) and an
//! output limit ([`MAX_OUTPUT_BYTES`]). Text from Kaltura is Markdown-escaped before the
//! template sees it, and the result has every `@` made inert, so nothing from Kaltura (or a
//! template) can ping.
//!
//! **Variables** per kind: [`Renderer::variables`] (documented in `docs/notifications.md`).
//! [`Renderer::validate`] refuses a template that uses a variable the kind does not have,
//! naming it.
//!
//! **Mentions.** Role pings go in the message content, outside the embed (pings inside
//! embeds do not notify), and `allowed_mentions` lists exactly those roles.
//!
//! ```
//! use kaltura_discord::notify::EventKind;
//! use kaltura_discord::notify::render::{Renderer, TemplateError};
//!
//! assert!(Renderer::validate(Some(EventKind::EntryReady), "{{ entry.name }}").is_ok());
//! assert_eq!(
//!     Renderer::validate(Some(EventKind::EntryReady), "{{ entry.nmae }}"),
//!     Err(TemplateError::UnknownVariables(vec!["entry.nmae".into()]))
//! );
//! ```

use std::collections::BTreeSet;
use std::fmt;

use kaltura_client::UiConfId;
use kaltura_client::types::MediaEntry;
use serde_json::{Map, Value, json};

use super::{EventKind, InboundEvent};
use crate::commands::reply::{AllowedMentions, Embed, Reply};
use crate::context::GuildContext;
use crate::ids::RoleId;
use crate::{Error, Result};

/// Most bytes a template may produce (the description is then cut to Discord's limit).
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024;
/// Fuel of one render: roughly the number of template instructions it may run.
pub const FUEL: u64 = 20_000;
/// Longest template source, in characters.
pub const MAX_SOURCE_CHARS: usize = 2000;
/// Longest embed description we produce, in characters.
const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest entry or meeting title, in characters.
const MAX_TITLE_CHARS: usize = 250;
/// Longest Kaltura text passed to templates (descriptions), in characters.
const MAX_TEXT_CHARS: usize = 1500;
/// Thumbnail size.
const THUMBNAIL: (u32, u32) = (480, 270);
/// Embed colour (Kaltura blue).
const COLOR: u32 = 0x00_6E_FA;
/// Most roles one route pings.
pub const MAX_MENTION_ROLES: usize = 10;

const COMMON_VARS: &[&str] = &["event.kind", "event.partner_id", "guild.id"];
const ENTRY_VARS: &[&str] = &[
    "entry.id",
    "entry.name",
    "entry.description",
    "entry.duration",
    "entry.duration_text",
    "entry.owner",
    "entry.tags",
    "entry.thumbnail_url",
    "entry.player_url",
    "entry.categories",
    "entry.category_ids",
    "entry.media_type",
    "entry.created_at",
];
const CATEGORY_VARS: &[&str] = &["category.id", "category.name"];
const CAPTION_VARS: &[&str] = &["captions.language", "captions.label"];
const MEETING_VARS: &[&str] = &[
    "meeting.id",
    "meeting.title",
    "meeting.description",
    "meeting.start",
    "meeting.end",
    "meeting.status",
    "meeting.recording_url",
];
/// Global functions templates may call.
const GLOBALS: &[&str] = &["range", "dict", "namespace"];

/// The built-in template of a kind (`config/templates/<kind>.j2`).
pub fn builtin_template(kind: EventKind) -> &'static str {
    match kind {
        EventKind::EntryReady => include_str!("../../templates/entry_ready.j2"),
        EventKind::EntryAddedToCategory => {
            include_str!("../../templates/entry_added_to_category.j2")
        }
        EventKind::EntryChanged => include_str!("../../templates/entry_changed.j2"),
        EventKind::CaptionsReady => include_str!("../../templates/captions_ready.j2"),
        EventKind::MeetingScheduled => include_str!("../../templates/meeting_scheduled.j2"),
        EventKind::MeetingLive => include_str!("../../templates/meeting_live.j2"),
        EventKind::MeetingEnded => include_str!("../../templates/meeting_ended.j2"),
        EventKind::RecordingReady => include_str!("../../templates/recording_ready.j2"),
    }
}

/// Why a template was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template uses variables the event kind does not have (sorted, each named).
    #[error("unknown variable(s): {}", .0.join(", "))]
    UnknownVariables(Vec<String>),
    /// The template does not parse.
    #[error("template syntax error: {0}")]
    Syntax(String),
    /// The template is longer than [`MAX_SOURCE_CHARS`].
    #[error("the template is too long: at most {max} characters, got {got}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length given.
        got: usize,
    },
    /// Rendering failed (out of fuel, output too large, a runtime error).
    #[error("the template could not be rendered: {0}")]
    Render(String),
}

/// How one route wants its messages: the roles to ping and the template to use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSettings {
    /// Roles to ping (in the content, listed in `allowed_mentions`); at most
    /// [`MAX_MENTION_ROLES`] are used.
    pub mention_roles: Vec<RoleId>,
    /// A template name from the guild's `notifications.templates`; the built-in one when
    /// `None`.
    pub template: Option<String>,
}

/// A rendered notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The message (mentions restricted to the route's roles).
    pub message: Reply,
    /// One line for a digest (`**Intro lecture** (3:20) <link>`).
    pub digest_line: String,
}

/// Renders events into messages; see the [module docs](self).
pub struct Renderer {
    env: minijinja::Environment<'static>,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Renderer")
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// The template environment: the default filters, tests and globals, HTML auto-escaping
/// off, no loader (the `loader` feature is off, so `include`/`import` find nothing), fuel
/// and recursion limits.
fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    env
}

impl Renderer {
    /// A renderer with the built-in templates.
    pub fn new() -> Renderer {
        Renderer { env: environment() }
    }

    /// The variables a template of `kind` may use (every kind's, when `None`).
    pub fn variables(kind: Option<EventKind>) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = COMMON_VARS.to_vec();
        let kinds: Vec<EventKind> = match kind {
            Some(k) => vec![k],
            None => EventKind::ALL.to_vec(),
        };
        for k in kinds {
            let extra: &[&[&'static str]] = match k {
                EventKind::EntryReady | EventKind::EntryChanged => &[ENTRY_VARS],
                EventKind::EntryAddedToCategory => &[ENTRY_VARS, CATEGORY_VARS],
                EventKind::CaptionsReady => &[ENTRY_VARS, CAPTION_VARS],
                EventKind::MeetingScheduled | EventKind::MeetingLive | EventKind::MeetingEnded => {
                    &[MEETING_VARS]
                }
                EventKind::RecordingReady => &[MEETING_VARS, ENTRY_VARS],
            };
            for list in extra {
                for v in *list {
                    if !out.contains(v) {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    /// Checks a template for `kind` (or for any kind, when `None`): it parses, is at most
    /// [`MAX_SOURCE_CHARS`] long and uses only [`Renderer::variables`].
    ///
    /// # Errors
    ///
    /// [`TemplateError::UnknownVariables`] naming every unknown variable,
    /// [`TemplateError::Syntax`], [`TemplateError::TooLong`].
    pub fn validate(
        kind: Option<EventKind>,
        source: &str,
    ) -> std::result::Result<(), TemplateError> {
        let got = source.chars().take(MAX_SOURCE_CHARS + 1).count();
        if got > MAX_SOURCE_CHARS {
            return Err(TemplateError::TooLong {
                max: MAX_SOURCE_CHARS,
                got: source.chars().count(),
            });
        }
        let env = environment();
        let template = env
            .template_from_str(source)
            .map_err(|e| TemplateError::Syntax(syntax_message(&e)))?;
        let known = Renderer::variables(kind);
        let roots: BTreeSet<&str> = known
            .iter()
            .filter_map(|v| v.split_once('.').map(|(root, _)| root))
            .collect();
        let mut unknown: Vec<String> = template
            .undeclared_variables(true)
            .into_iter()
            .filter(|name| {
                !(known.contains(&name.as_str())
                    || roots.contains(name.as_str())
                    || GLOBALS.contains(&name.as_str())
                    || known.iter().any(|k| {
                        name.strip_prefix(k)
                            .is_some_and(|rest| rest.starts_with('.'))
                    }))
            })
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort();
        unknown.dedup();
        Err(TemplateError::UnknownVariables(unknown))
    }

    /// Renders `source` with `data` (a JSON object of the variables), bounded by fuel and
    /// [`MAX_OUTPUT_BYTES`].
    ///
    /// # Errors
    ///
    /// [`TemplateError::Syntax`] or [`TemplateError::Render`].
    pub fn render_source(
        &self,
        source: &str,
        data: &Value,
    ) -> std::result::Result<String, TemplateError> {
        let template = self
            .env
            .template_from_str(source)
            .map_err(|e| TemplateError::Syntax(syntax_message(&e)))?;
        let mut out = Bounded {
            buf: Vec::new(),
            max: MAX_OUTPUT_BYTES,
        };
        template
            .render_captured_to(data, &mut out)
            .map_err(|e| TemplateError::Render(render_message(&e)))?;
        Ok(String::from_utf8_lossy(&out.buf).into_owned())
    }

    /// The template variables of an event, as a JSON object (Kaltura text Markdown-escaped,
    /// URLs as they are).
    pub fn data(
        kind: EventKind,
        event: &InboundEvent,
        entry: Option<&MediaEntry>,
        guild: &GuildContext<'_>,
    ) -> Value {
        let mut data = Map::new();
        data.insert(
            "event".into(),
            json!({"kind": kind.as_str(), "partner_id": event.partner_id.get()}),
        );
        data.insert("guild".into(), json!({"id": guild.guild.to_string()}));
        if let Some(entry) = entry {
            data.insert("entry".into(), entry_data(entry, guild));
        }
        let object = &event.object;
        if kind == EventKind::EntryAddedToCategory {
            let id = object
                .get("categoryId")
                .and_then(as_i64)
                .map(Value::from)
                .unwrap_or(Value::Null);
            let name = str_field(object, &["categoryFullName", "categoryName"])
                .map(|n| Value::from(md_escape(&n, MAX_TITLE_CHARS)))
                .unwrap_or(Value::Null);
            data.insert("category".into(), json!({"id": id, "name": name}));
        }
        if kind == EventKind::CaptionsReady {
            data.insert(
                "captions".into(),
                json!({
                    "language": str_field(object, &["language"]).map(|t| md_escape(&t, 50)),
                    "label": str_field(object, &["label"]).map(|t| md_escape(&t, 100)),
                }),
            );
        }
        if kind.is_meeting() {
            data.insert("meeting".into(), meeting_data(kind, event));
        }
        Value::Object(data)
    }

    /// Renders an event for one route of one guild.
    ///
    /// `entry` is the media entry the event is about (for entry kinds and recordings). The
    /// route's template (a name in the guild's `notifications.templates`) renders the
    /// description; when it is missing or fails at run time, the built-in template is used
    /// and a warning logged.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (field `template`) when even the built-in template fails.
    pub fn render(
        &self,
        kind: EventKind,
        event: &InboundEvent,
        entry: Option<&MediaEntry>,
        settings: &RouteSettings,
        guild: &GuildContext<'_>,
    ) -> Result<Rendered> {
        let data = Renderer::data(kind, event, entry, guild);
        let custom = settings.template.as_deref().and_then(|name| {
            let source = guild.config.notifications.templates.get(name);
            if source.is_none() {
                tracing::warn!(guild = %guild.guild, template = name, "route names a template the guild does not have; using the built-in one");
            }
            source.map(|s| (name, s))
        });
        let description = match custom
            .map(|(name, source)| (name, self.render_source(source, &data)))
        {
            Some((_, Ok(text))) => text,
            Some((name, Err(e))) => {
                tracing::warn!(guild = %guild.guild, template = name, error = %e, "guild template failed; using the built-in one");
                self.builtin(kind, &data)?
            }
            None => self.builtin(kind, &data)?,
        };
        let description = neutralize_mentions(&crate::text::truncate_chars(
            description.trim(),
            MAX_DESCRIPTION_CHARS,
        ));

        let mut embed = Embed {
            color: Some(COLOR),
            footer: Some(format!("Kaltura · {}", kind_label(kind))),
            ..Embed::default()
        };
        if !description.is_empty() {
            embed.description = Some(description);
        }
        let mut digest_title = String::new();
        let mut digest_link = None;
        let mut digest_duration = None;
        if let Some(e) = data.get("entry") {
            let title = title_text(e.get("raw_name").and_then(Value::as_str), e);
            embed.title = Some(title.clone());
            digest_title = title;
            embed.url = e
                .get("player_url")
                .and_then(Value::as_str)
                .map(str::to_owned);
            embed.thumbnail = e
                .get("thumbnail_url")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(d) = e.get("duration_text").and_then(Value::as_str) {
                embed = embed.field("Duration", d, true);
                digest_duration = Some(d.to_owned());
            }
            if let Some(o) = e.get("owner").and_then(Value::as_str) {
                embed = embed.field("Owner", neutralize_mentions(o), true);
            }
            if let Some(url) = e.get("player_url").and_then(Value::as_str) {
                embed = embed.field("Player", format!("[Watch]({url})"), true);
                digest_link = Some(url.to_owned());
            }
        }
        if let Some(m) = data.get("meeting") {
            if embed.title.is_none() {
                let title = title_text(m.get("raw_title").and_then(Value::as_str), m);
                embed.title = Some(title.clone());
                digest_title = title;
            }
            if let Some(start) = m.get("start").and_then(Value::as_i64) {
                embed = embed.field("Start", format!("<t:{start}:f>"), true);
            }
            if let Some(end) = m.get("end").and_then(Value::as_i64) {
                embed = embed.field("End", format!("<t:{end}:f>"), true);
            }
            if let Some(url) = m.get("recording_url").and_then(Value::as_str)
                && digest_link.is_none()
            {
                embed = embed.field("Recording", format!("[Watch]({url})"), true);
                digest_link = Some(url.to_owned());
            }
        }
        if digest_title.is_empty() {
            digest_title = kind_label(kind).to_owned();
            embed.title = Some(digest_title.clone());
        }

        let mut roles: Vec<RoleId> = Vec::new();
        for r in &settings.mention_roles {
            if !roles.contains(r) && roles.len() < MAX_MENTION_ROLES {
                roles.push(*r);
            }
        }
        let content = (!roles.is_empty()).then(|| {
            roles
                .iter()
                .map(|r| format!("<@&{r}>"))
                .collect::<Vec<_>>()
                .join(" ")
        });
        let message = Reply {
            content,
            embeds: vec![embed],
            allowed_mentions: AllowedMentions {
                users: Vec::new(),
                roles,
            },
            ..Reply::default()
        };
        let mut digest_line = format!("**{digest_title}**");
        if let Some(d) = digest_duration {
            digest_line.push_str(&format!(" ({d})"));
        }
        if let Some(link) = digest_link {
            digest_line.push_str(&format!(" <{link}>"));
        }
        Ok(Rendered {
            message,
            digest_line,
        })
    }

    fn builtin(&self, kind: EventKind, data: &Value) -> Result<String> {
        self.render_source(builtin_template(kind), data)
            .map_err(|e| Error::invalid_input("template", e.to_string()))
    }
}

/// The escaped title (Markdown-escaped and inert), or the id.
fn title_text(raw: Option<&str>, obj: &Value) -> String {
    let title = raw
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| crate::text::truncate_chars(t, MAX_TITLE_CHARS))
        .or_else(|| obj.get("id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    neutralize_mentions(&title.replace(['\n', '\r'], " "))
}

fn kind_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::EntryReady => "New video",
        EventKind::EntryAddedToCategory => "Added to a category",
        EventKind::EntryChanged => "Video updated",
        EventKind::CaptionsReady => "Captions ready",
        EventKind::MeetingScheduled => "Meeting scheduled",
        EventKind::MeetingLive => "Meeting live",
        EventKind::MeetingEnded => "Meeting ended",
        EventKind::RecordingReady => "Recording ready",
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn str_field(obj: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        obj.get(*n)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })
}

fn split_list(raw: Option<&str>, max: usize) -> Vec<String> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(50)
        .map(|s| md_escape(s, max))
        .collect()
}

fn entry_data(entry: &MediaEntry, guild: &GuildContext<'_>) -> Value {
    let urls = guild.account.urls();
    let ready = entry.status == Some(kaltura_client::types::EntryStatus::Ready);
    let player_url = guild
        .config
        .kaltura
        .player_ui_conf_id
        .filter(|_| ready)
        .map(|id| urls.player_embed(UiConfId::new(id), &entry.id).iframe_url());
    let thumbnail_url = urls
        .thumbnail(&entry.id)
        .width(THUMBNAIL.0)
        .height(THUMBNAIL.1)
        .to_string();
    let duration = entry.duration.filter(|d| *d > 0);
    let media_type = entry.media_type.map(|t| match t.as_i64() {
        1 => "video",
        2 => "image",
        5 => "audio",
        201..=204 => "live",
        _ => "other",
    });
    json!({
        "id": entry.id.as_str(),
        "raw_name": entry.name.as_deref().map(|n| crate::text::truncate_chars(n, MAX_TITLE_CHARS)),
        "name": entry.name.as_deref().map(|n| md_escape(n, MAX_TITLE_CHARS)),
        "description": entry.description.as_deref().map(|d| md_escape(d.trim(), MAX_TEXT_CHARS)),
        "duration": duration,
        "duration_text": duration.map(format_duration),
        "owner": entry.user_id.as_ref().map(|u| md_escape(u.as_str(), 100)),
        "tags": split_list(entry.tags.as_deref(), 50),
        "thumbnail_url": thumbnail_url,
        "player_url": player_url,
        "categories": split_list(entry.categories.as_deref(), 100),
        "category_ids": split_list(entry.categories_ids.as_deref(), 20),
        "media_type": media_type,
        "created_at": entry.created_at.map(|t| t.as_secs()),
    })
}

fn meeting_data(kind: EventKind, event: &InboundEvent) -> Value {
    let obj = event
        .object
        .get("meeting")
        .filter(|m| m.is_object())
        .unwrap_or(&event.object);
    let title = str_field(obj, &["summary", "name", "title"]);
    let status = match kind {
        EventKind::MeetingScheduled => "scheduled",
        EventKind::MeetingLive => "live",
        _ => "ended",
    };
    let recording_url = str_field(obj, &["recordingUrl", "recording_url"])
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    json!({
        "id": obj.get("id").map(|v| match v { Value::String(s) => s.clone(), other => other.to_string() }).or_else(|| event.subject.clone()),
        "raw_title": title.as_deref().map(|t| crate::text::truncate_chars(t, MAX_TITLE_CHARS)),
        "title": title.as_deref().map(|t| md_escape(t, MAX_TITLE_CHARS)),
        "description": str_field(obj, &["description"]).map(|d| md_escape(&d, MAX_TEXT_CHARS)),
        "start": obj.get("startDate").and_then(as_i64),
        "end": obj.get("endDate").and_then(as_i64),
        "status": status,
        "recording_url": recording_url,
    })
}

/// `h:mm:ss` or `m:ss`.
fn format_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Kaltura text made inert in Markdown: special characters escaped, mentions neutralised,
/// cut to `max` characters.
pub fn md_escape(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in crate::text::truncate_chars(text, max).chars() {
        if matches!(
            c,
            '`' | '*' | '_' | '~' | '|' | '<' | '>' | '[' | ']' | '(' | ')' | '\\' | '#'
        ) {
            out.push('\\');
        }
        if c.is_control() && c != '\n' {
            out.push(' ');
            continue;
        }
        out.push(c);
    }
    neutralize_mentions(&out)
}

/// Makes every mention inert: a zero-width space follows each `@`, so `@everyone`, `@here`,
/// `<@123>` and `<@&123>` are shown but never ping, whatever `allowed_mentions` says.
pub fn neutralize_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        // Idempotent: an `@` already followed by the zero-width space gets no second one.
        if c == '@' && chars.peek() != Some(&'\u{200B}') {
            out.push('\u{200B}');
        }
    }
    out
}

fn syntax_message(e: &minijinja::Error) -> String {
    match (e.detail(), e.line()) {
        (Some(d), Some(l)) => format!("{d} (line {l})"),
        (Some(d), None) => d.to_owned(),
        (None, Some(l)) => format!("{} (line {l})", e.kind()),
        (None, None) => e.kind().to_string(),
    }
}

fn render_message(e: &minijinja::Error) -> String {
    match e.kind() {
        minijinja::ErrorKind::OutOfFuel => "it ran too long (out of fuel)".to_owned(),
        minijinja::ErrorKind::WriteFailure => {
            format!("its output is larger than {MAX_OUTPUT_BYTES} bytes")
        }
        _ => syntax_message(e),
    }
}

/// A writer that fails past `max` bytes.
struct Bounded {
    buf: Vec<u8>,
    max: usize,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.max {
            return Err(std::io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::{ConfigResolver, ConfigSources, GuildConfig};
    use crate::context::KalturaAccount;
    use crate::ids::GuildId;
    use kaltura_client::{Client, PartnerId};
    use secrecy::SecretString;

    fn account() -> KalturaAccount {
        let secret = SecretString::from("canary-admin-secret-0123456789abcdef");
        let client = Client::builder()
            .service_url("https://www.kaltura.com")
            .partner_id(4242)
            .admin_secret(secret.clone())
            .build()
            .unwrap();
        KalturaAccount::new(client, &secret).unwrap()
    }

    fn config() -> GuildConfig {
        let r = ConfigResolver::load(&ConfigSources::defaults_only()).unwrap();
        let mut overlay = serde_json::Map::new();
        overlay.insert("kaltura".into(), json!({"player_ui_conf_id": 4711}));
        r.check_override(overlay, &crate::config::Layer::GuildStore)
            .unwrap()
    }

    fn entry(name: &str) -> MediaEntry {
        serde_json::from_value(json!({
            "id": "0_abc123",
            "name": name,
            "description": "Line one @here <@123> **bold**",
            "userId": "alice",
            "tags": "rust, Async",
            "categories": "Engineering>Rust",
            "categoriesIds": "7",
            "status": 2,
            "mediaType": 1,
            "duration": 200,
            "createdAt": 1_700_000_000,
        }))
        .unwrap()
    }

    fn event() -> InboundEvent {
        InboundEvent {
            partner_id: PartnerId::new(4242),
            dedup_key: "job:1".into(),
            kind: Some(EventKind::EntryReady),
            subject: Some("0_abc123".into()),
            object: Value::Null,
            meta: super::super::NotificationMeta::default(),
            received_at: 1_800_000_000,
        }
    }

    fn guild() -> GuildId {
        GuildId::new(613_425_648_685_547_541).unwrap()
    }

    #[test]
    fn every_builtin_template_is_valid_for_its_kind() {
        for kind in EventKind::ALL {
            Renderer::validate(Some(kind), builtin_template(kind))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
    }

    #[test]
    fn validation_names_unknown_variables_and_syntax_errors() {
        assert_eq!(
            Renderer::validate(
                Some(EventKind::EntryReady),
                "{{ meeting.title }} {{ entry.nmae }} {{ entry.name }}"
            ),
            Err(TemplateError::UnknownVariables(vec![
                "entry.nmae".into(),
                "meeting.title".into()
            ]))
        );
        // Any kind: the union of every kind's variables.
        assert!(Renderer::validate(None, "{{ meeting.title }} {{ entry.name }}").is_ok());
        assert_eq!(
            Renderer::validate(None, "{{ secrets }}"),
            Err(TemplateError::UnknownVariables(vec!["secrets".into()]))
        );
        assert!(
            Renderer::validate(
                Some(EventKind::EntryReady),
                "{% for t in entry.tags %}{{ t }}{{ loop.index }}{% endfor %}{{ entry.tags|join(', ') }}"
            )
            .is_ok()
        );
        assert!(matches!(
            Renderer::validate(None, "{% if %}"),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            Renderer::validate(None, &"x".repeat(MAX_SOURCE_CHARS + 1)),
            Err(TemplateError::TooLong { .. })
        ));
        let err = Renderer::validate(Some(EventKind::MeetingLive), "{{ entry.name }}").unwrap_err();
        assert_eq!(err.to_string(), "unknown variable(s): entry.name");
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let r = Renderer::new();
        let looping =
            "{% for a in range(1000) %}{% for b in range(1000) %}{{ b }}{% endfor %}{% endfor %}";
        assert!(matches!(
            r.render_source(looping, &json!({})),
            Err(TemplateError::Render(m)) if m.contains("fuel") || m.contains("larger")
        ));
        let big = "{% for a in range(100) %}{{ 'x' * 1000 }}{% endfor %}";
        assert!(matches!(
            r.render_source(big, &json!({})),
            Err(TemplateError::Render(m)) if m.contains("larger")
        ));
        // No loader: including a file is an error, not a read.
        assert!(
            r.render_source("{% include '/etc/passwd' %}", &json!({}))
                .is_err()
        );
    }

    #[test]
    fn mentions_go_in_content_and_kaltura_text_is_inert() {
        let r = Renderer::new();
        let cfg = config();
        let account = account();
        let gctx = GuildContext::new(guild(), &cfg, &account);
        let role = RoleId::new(555).unwrap();
        let settings = RouteSettings {
            mention_roles: vec![role, role],
            template: None,
        };
        let e = entry("@everyone Intro <@&999> lecture");
        let out = r
            .render(EventKind::EntryReady, &event(), Some(&e), &settings, &gctx)
            .unwrap();
        let json = out.message.to_message_json();
        assert_eq!(json["content"], "<@&555>");
        assert_eq!(
            json["allowed_mentions"],
            json!({"parse": [], "users": [], "roles": ["555"]})
        );
        let embed = &json["embeds"][0];
        let text = embed.to_string();
        for raw in ["@everyone", "@here", "<@123>", "<@&999>"] {
            assert!(!text.contains(raw), "{raw} in {text}");
        }
        assert!(
            embed["title"]
                .as_str()
                .unwrap()
                .contains("@\u{200B}everyone")
        );
        assert!(
            embed["description"]
                .as_str()
                .unwrap()
                .contains("\\*\\*bold\\*\\*")
        );
        assert_eq!(
            embed["url"],
            "https://cdnapisec.kaltura.com/p/4242/embedPlaykitJs/uiconf_id/4711?iframeembed=true&entry_id=0_abc123"
        );
        assert!(
            out.digest_line.starts_with("**@\u{200B}everyone Intro"),
            "{}",
            out.digest_line
        );
        assert!(out.digest_line.contains("(3:20)"));
        insta::assert_json_snapshot!("entry_ready_message", json);
    }

    #[test]
    fn guild_templates_are_used_and_broken_ones_fall_back() {
        let r = Renderer::new();
        let mut cfg = config();
        cfg.notifications.templates.insert(
            "mine".into(),
            "Hi {{ guild.id }}: {{ entry.name }} by {{ entry.owner }}".into(),
        );
        cfg.notifications.templates.insert(
            "loop".into(),
            "{% for a in range(100000) %}{{ a }}{% endfor %}".into(),
        );
        let account = account();
        let gctx = GuildContext::new(guild(), &cfg, &account);
        let settings = RouteSettings {
            mention_roles: Vec::new(),
            template: Some("mine".into()),
        };
        let out = r
            .render(
                EventKind::EntryReady,
                &event(),
                Some(&entry("Talk")),
                &settings,
                &gctx,
            )
            .unwrap();
        assert_eq!(
            out.message.embeds[0].description.as_deref(),
            Some("Hi 613425648685547541: Talk by alice")
        );
        assert_eq!(out.message.content, None);
        assert!(out.message.allowed_mentions.roles.is_empty());
        let fallback = RouteSettings {
            mention_roles: Vec::new(),
            template: Some("loop".into()),
        };
        let out = r
            .render(
                EventKind::EntryReady,
                &event(),
                Some(&entry("Talk")),
                &fallback,
                &gctx,
            )
            .unwrap();
        assert!(
            out.message.embeds[0]
                .description
                .as_deref()
                .unwrap()
                .starts_with("New video from **alice** (3:20)."),
            "{:?}",
            out.message.embeds[0].description
        );
    }

    #[test]
    fn meeting_messages() {
        let r = Renderer::new();
        let cfg = config();
        let account = account();
        let gctx = GuildContext::new(guild(), &cfg, &account);
        let mut ev = event();
        ev.kind = Some(EventKind::MeetingScheduled);
        ev.subject = Some("4001".into());
        ev.object = json!({"id": 4001, "summary": "Weekly @here sync", "startDate": 1_800_000_600, "endDate": 1_800_004_200});
        let out = r
            .render(
                EventKind::MeetingScheduled,
                &ev,
                None,
                &RouteSettings::default(),
                &gctx,
            )
            .unwrap();
        let json = out.message.to_message_json();
        assert_eq!(json["embeds"][0]["title"], "Weekly @\u{200B}here sync");
        assert!(
            json["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .contains("<t:1800000600:F>")
        );
        insta::assert_json_snapshot!("meeting_scheduled_message", json);
    }

    #[test]
    fn neutralizing_mentions() {
        assert_eq!(neutralize_mentions("a@b"), "a@\u{200B}b");
        assert_eq!(
            neutralize_mentions(&neutralize_mentions("@@x")),
            "@\u{200B}@\u{200B}x"
        );
        assert_eq!(
            md_escape("[x](y) <@1>", 100),
            "\\[x\\]\\(y\\) \\<@\u{200B}1\\>"
        );
        assert_eq!(format_duration(3_723), "1:02:03");
    }
}
