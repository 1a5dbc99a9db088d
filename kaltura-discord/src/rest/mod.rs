//! Discord's REST API, as the library uses it: one small trait, [`DiscordRest`].
//!
//! Interaction follow-ups and edits of the original response (completing a deferred reply),
//! command registration, guild scheduled events and channel messages (notifications) go
//! through it. The library ships an implementation on `twilight-http`, which honours
//! Discord's rate limits (feature `rest`); a host bot may implement the trait on the client
//! it already has. Its base URL is configurable, so tests point it at a fake Discord.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::Result;
use crate::commands::definition::Registration;
use crate::commands::interaction::InteractionToken;
use crate::commands::reply::Reply;
use crate::ids::{
    ApplicationId, ChannelId, DiscordUserId, GuildId, MessageId, RoleId, ScheduledEventId,
};

#[cfg(feature = "rest")]
pub mod twilight;
#[cfg(feature = "rest")]
pub use twilight::{TwilightRest, TwilightRestBuilder};

/// A guild scheduled event to create (an external event with a location).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledEventSpec {
    /// Name (1-100 characters).
    pub name: String,
    /// Description (at most 1,000 characters).
    pub description: Option<String>,
    /// Where: for a meeting, its public page (never a link holding a KS).
    pub location: String,
    /// Start, Unix seconds (must be in the future for Discord).
    pub start_unix: i64,
    /// End, Unix seconds (required for external events).
    pub end_unix: i64,
}

/// How a scheduled event is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClosure {
    /// It took place (status COMPLETED; only from ACTIVE).
    Completed,
    /// It did not take place (status CANCELED; only from SCHEDULED).
    Canceled,
}

/// A command as Discord registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCommand {
    /// Discord's id of the command.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A channel webhook URL (`https://discord.com/api/webhooks/{id}/{token}`): the token in it
/// is a secret, so `Debug` shows only the webhook id.
#[derive(Clone)]
pub struct WebhookUrl {
    id: u64,
    token: secrecy::SecretString,
}

impl WebhookUrl {
    /// Parses a Discord channel webhook URL.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidInput`] (field `webhook_url`) unless it is an `https` URL on
    /// `discord.com` (or `discordapp.com`, `canary.`/`ptb.`) of the form
    /// `/api/webhooks/{numeric id}/{token}` with a token of `A-Z a-z 0-9 _ -`.
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = |why: &str| {
            crate::Error::invalid_input("webhook_url", format!("not a Discord webhook URL: {why}"))
        };
        let url = url::Url::parse(raw).map_err(|_| bad("it is not a URL"))?;
        if url.scheme() != "https" {
            return Err(bad("it must use https"));
        }
        let host = url.host_str().unwrap_or_default();
        if !matches!(
            host,
            "discord.com" | "discordapp.com" | "canary.discord.com" | "ptb.discord.com"
        ) {
            return Err(bad("its host must be discord.com"));
        }
        if url.query().is_some() || url.fragment().is_some() || url.port().is_some() {
            return Err(bad("it must not have a port, query or fragment"));
        }
        let mut segments = url.path_segments().ok_or_else(|| bad("it has no path"))?;
        let (Some("api"), Some("webhooks"), Some(id), Some(token), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(bad("the path must be /api/webhooks/{id}/{token}"));
        };
        let id: u64 = id
            .parse()
            .ok()
            .filter(|v| *v != 0 && id.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad("the webhook id must be a snowflake"))?;
        if token.is_empty()
            || token.len() > 100
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(bad("the token has characters Discord never uses"));
        }
        Ok(WebhookUrl {
            id,
            token: secrecy::SecretString::from(token.to_owned()),
        })
    }

    /// The webhook id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The webhook token (a secret).
    pub fn expose_token(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.token)
    }
}

impl PartialEq for WebhookUrl {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.expose_token() == other.expose_token()
    }
}

impl Eq for WebhookUrl {}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({}/<redacted>)", self.id)
    }
}

/// The Discord REST calls the library makes.
///
/// Implementations honour Discord's rate limits (wait on 429 with `Retry-After`, per-route
/// buckets) and report failures as [`crate::Error::Discord`] with a [`DiscordError`] whose
/// kind tells a permanent refusal (unknown channel, missing access) from a transient one.
#[async_trait]
pub trait DiscordRest: Send + Sync {
    /// Replaces the original response of an interaction (completes a deferral):
    /// `PATCH /webhooks/{application}/{token}/messages/@original`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn edit_original(
        &self,
        application: ApplicationId,
        token: &InteractionToken,
        reply: &Reply,
    ) -> Result<()>;

    /// Sends a follow-up message: `POST /webhooks/{application}/{token}`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn create_followup(
        &self,
        application: ApplicationId,
        token: &InteractionToken,
        reply: &Reply,
    ) -> Result<MessageId>;

    /// The commands registered now, globally (`guild` = `None`) or in one guild.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn list_commands(
        &self,
        application: ApplicationId,
        guild: Option<GuildId>,
    ) -> Result<Vec<RegisteredCommand>>;

    /// Replaces all commands, globally or in one guild (bulk overwrite, `PUT`).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn register_commands(
        &self,
        application: ApplicationId,
        guild: Option<GuildId>,
        commands: &Registration,
    ) -> Result<Vec<RegisteredCommand>>;

    /// Creates an external guild scheduled event.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn create_scheduled_event(
        &self,
        guild: GuildId,
        event: &ScheduledEventSpec,
    ) -> Result<ScheduledEventId>;

    /// Completes or cancels a guild scheduled event.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn close_scheduled_event(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        closure: EventClosure,
    ) -> Result<()>;

    /// The role ids of `user` in `guild` now (`GET /guilds/{guild}/members/{user}`, with the
    /// bot's token), or `None` when they are not a member. The API gateway calls it when a
    /// session is refreshed, so that a member who lost a role or left loses its permissions.
    ///
    /// The default implementation answers [`DiscordErrorKind::Unsupported`]; the gateway
    /// then keeps the roles of the login.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn guild_member_roles(
        &self,
        guild: GuildId,
        user: DiscordUserId,
    ) -> Result<Option<Vec<RoleId>>> {
        let _ = (guild, user);
        Err(crate::Error::Discord(DiscordError::new(
            "reading a guild member",
            DiscordErrorKind::Unsupported,
        )))
    }

    /// Posts a message in a channel as the bot: `POST /channels/{channel}/messages`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn create_message(&self, channel: ChannelId, reply: &Reply) -> Result<MessageId>;

    /// Edits a message the bot posted: `PATCH /channels/{channel}/messages/{message}`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn edit_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        reply: &Reply,
    ) -> Result<()>;

    /// Posts a message in a channel as the bot at most once per `nonce`: Discord's `nonce`
    /// with `enforce_nonce: true`, so a retry after a crash or a lost answer (with the same
    /// nonce, within a few minutes) gets the message posted the first time instead of a
    /// second one. `nonce` is at most 25 characters (`kd-{delivery id}`).
    ///
    /// The default implementation calls [`DiscordRest::create_message`] (no deduplication);
    /// `TwilightRest` (feature `rest`) sends the nonce.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached;
    /// [`crate::Error::InvalidInput`] (field `nonce`) when the nonce is empty or longer than
    /// 25 characters.
    async fn create_message_once(
        &self,
        channel: ChannelId,
        reply: &Reply,
        nonce: &str,
    ) -> Result<MessageId> {
        check_nonce(nonce)?;
        self.create_message(channel, reply).await
    }

    /// Posts through a channel webhook (`?wait=true`, so the message id comes back).
    ///
    /// Webhook execution has no nonce: a caller that crashes after Discord posted and before
    /// it recorded the message posts it again when it retries (at-least-once), unlike
    /// [`DiscordRest::create_message_once`].
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached.
    async fn execute_webhook(&self, webhook: &WebhookUrl, reply: &Reply) -> Result<MessageId>;

    /// Edits a message the webhook posted: `PATCH /webhooks/{webhook}/{token}/messages/{message}`
    /// (Discord's "Edit Webhook Message"). The body is an edit like
    /// [`DiscordRest::edit_message`]'s, with the reply's `allowed_mentions` as on create; the
    /// webhook token authenticates the call (no bot token) and is never logged.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Discord`] when Discord refuses or cannot be reached; a message that
    /// was deleted (or that this webhook did not post) is [`DiscordErrorKind::NotFound`] with
    /// code 10008 (Unknown Message), an unknown or deleted webhook is `NotFound` with code
    /// 10015 (Unknown Webhook).
    async fn edit_webhook_message(
        &self,
        webhook: &WebhookUrl,
        message: MessageId,
        reply: &Reply,
    ) -> Result<()>;
}

/// Discord's limit on a message nonce (characters).
pub const MAX_NONCE_LEN: usize = 25;

/// Checks a message nonce: 1 to [`MAX_NONCE_LEN`] ASCII characters.
///
/// # Errors
///
/// [`crate::Error::InvalidInput`] (field `nonce`) otherwise.
pub fn check_nonce(nonce: &str) -> Result<()> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN || !nonce.is_ascii() {
        return Err(crate::Error::invalid_input(
            "nonce",
            format!("a message nonce has 1 to {MAX_NONCE_LEN} ASCII characters"),
        ));
    }
    Ok(())
}

/// What kind of REST failure a [`DiscordError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscordErrorKind {
    /// Rate limited and the wait would exceed the caller's budget; retry later.
    RateLimited,
    /// 404: unknown channel, message, webhook, interaction (expired token); permanent.
    NotFound,
    /// 401/403: missing access or permissions; permanent until an admin fixes it.
    Forbidden,
    /// 400 and other 4xx: Discord refused the body; permanent.
    Rejected,
    /// 5xx, a timeout or a broken connection; retrying later may work.
    Unavailable,
    /// This client does not implement the call (a host's own [`DiscordRest`] written before
    /// the method existed).
    Unsupported,
}

/// A Discord REST failure: the operation, its kind, the HTTP status and Discord's JSON error
/// code and message. Never holds a token or a webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Discord refused {operation}: {}", describe(*.kind, *.status, *.code, .message))]
pub struct DiscordError {
    /// What was being done, e.g. `editing the original response`.
    pub operation: &'static str,
    /// The kind of failure.
    pub kind: DiscordErrorKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// Discord's JSON error code (e.g. 10003 Unknown Channel), when sent.
    pub code: Option<u32>,
    /// Discord's message (at most 200 characters), when sent.
    pub message: Option<String>,
    /// For [`DiscordErrorKind::RateLimited`]: how long Discord asked to wait (its
    /// `Retry-After`, or the rate-limit bucket's reset), when known. A caller that retries
    /// later must not retry before it.
    pub retry_after: Option<Duration>,
}

fn describe(
    kind: DiscordErrorKind,
    status: Option<u16>,
    code: Option<u32>,
    message: &Option<String>,
) -> String {
    let mut out = format!("{kind:?}");
    if let Some(status) = status {
        out.push_str(&format!(" (HTTP {status})"));
    }
    if let Some(code) = code {
        out.push_str(&format!(" code {code}"));
    }
    if let Some(message) = message {
        out.push_str(": ");
        out.push_str(message);
    }
    out
}

impl DiscordError {
    /// An error of `kind` while doing `operation`, with no status, code, message or wait.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kaltura_discord::rest::{DiscordError, DiscordErrorKind};
    ///
    /// let e = DiscordError::new("posting a message", DiscordErrorKind::RateLimited)
    ///     .with_retry_after(Duration::from_secs(30));
    /// assert_eq!(e.retry_after, Some(Duration::from_secs(30)));
    /// ```
    pub fn new(operation: &'static str, kind: DiscordErrorKind) -> DiscordError {
        DiscordError {
            operation,
            kind,
            status: None,
            code: None,
            message: None,
            retry_after: None,
        }
    }

    /// The same error with the HTTP status.
    pub fn with_status(mut self, status: u16) -> DiscordError {
        self.status = Some(status);
        self
    }

    /// The same error with Discord's JSON error code.
    pub fn with_code(mut self, code: u32) -> DiscordError {
        self.code = Some(code);
        self
    }

    /// The same error with a message (shown in `Display`; never put a secret in it).
    pub fn with_message(mut self, message: impl Into<String>) -> DiscordError {
        self.message = Some(message.into());
        self
    }

    /// The same error with the wait Discord asked for.
    pub fn with_retry_after(mut self, retry_after: Duration) -> DiscordError {
        self.retry_after = Some(retry_after);
        self
    }

    /// Whether retrying the same call can never succeed (404, 401/403, other 4xx).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self.kind,
            DiscordErrorKind::NotFound | DiscordErrorKind::Forbidden | DiscordErrorKind::Rejected
        )
    }
}
