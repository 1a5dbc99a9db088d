//! The configuration types: what a guild can configure ([`GuildConfig`]) and what the
//! process needs to run ([`ProcessConfig`]).
//!
//! Every field is documented (the docs become the JSON Schema's descriptions) and unknown
//! fields are refused, so a typo in a file is an error instead of a silently ignored key.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use kaltura_client::PartnerId;
use schemars::JsonSchema;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, RoleId};
use crate::notify::{EventKind, RouteFilters};
use crate::rbac::GuildPolicy;
use crate::rest::WebhookUrl;

/// Everything one Discord server (guild) can configure.
///
/// Resolved from built-in defaults, the global file, the environment and the guild's own
/// overrides (see [`crate::config`]); an override file holds only the keys it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuildConfig {
    /// Which Kaltura account this guild uses.
    pub kaltura: GuildKalturaConfig,
    /// Defaults for meetings started from this guild.
    pub meetings: MeetingsConfig,
    /// Who may do what, and which Kaltura role members get.
    pub rbac: GuildPolicy,
    /// How Discord members map to Kaltura users.
    pub identity: IdentityConfig,
    /// Where Kaltura event notifications are posted.
    pub notifications: NotificationsConfig,
    /// Feature switches.
    pub features: FeaturesConfig,
    /// Language of the bot's messages in this guild (BCP 47, e.g. `en-US`).
    #[schemars(
        length(min = 2, max = 35),
        regex(pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    )]
    pub locale: String,
}

/// The Kaltura account of a guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuildKalturaConfig {
    /// The partner (account) id; `null` uses the process-wide partner. A guild layer may
    /// set it only to an id in the operator's `kaltura.allowed_guild_partner_ids`.
    #[schemars(with = "Option<i64>")]
    pub partner_id: Option<PartnerId>,
    /// The API base URL; `null` uses the process-wide service URL. A guild layer may set it
    /// only to a host in the operator's `kaltura.allowed_guild_hosts`.
    pub service_url: Option<String>,
    /// The KAF host for Kaltura Meetings join links (`https://{partnerId}.kaf.kaltura.com` when
    /// `null`). A guild layer may set it only to a host in `kaltura.allowed_guild_hosts`.
    pub kaf_url: Option<String>,
    /// The player (uiConf) id used for embeds.
    pub player_ui_conf_id: Option<i64>,
}

/// Kind of Kaltura Meetings room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingType {
    /// A webinar: presenters talk, attendees watch.
    Webinar,
    /// An open meeting room where everyone can talk.
    MeetingRoom,
    /// A virtual classroom with instructor tools.
    VirtualClassroom,
}

impl MeetingType {
    /// The snake_case name used in configuration, tags and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingType::Webinar => "webinar",
            MeetingType::MeetingRoom => "meeting_room",
            MeetingType::VirtualClassroom => "virtual_classroom",
        }
    }

    /// Parses [`MeetingType::as_str`]'s names.
    pub fn parse(name: &str) -> Option<MeetingType> {
        [
            MeetingType::Webinar,
            MeetingType::MeetingRoom,
            MeetingType::VirtualClassroom,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// Meeting defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingsConfig {
    /// The room type used when `/kaltura meeting start` does not name one.
    pub default_type: MeetingType,
    /// Scheduled length of a meeting, in minutes.
    #[schemars(range(min = 5, max = 1440))]
    pub default_duration_minutes: u32,
    /// Whether meetings are recorded automatically.
    pub auto_record: bool,
    /// How long a join link works, in minutes.
    #[schemars(range(min = 5, max = 1440))]
    pub join_link_expiry_minutes: u32,
    /// Whether `/kaltura meeting start` (and `POST …/meetings` of an API gateway that has the
    /// bot's REST client) also creates a Discord scheduled event (an external event whose
    /// location is the meeting's public page, never a join link), completed or cancelled when
    /// the meeting ends. The bot needs the Manage Events permission; a refusal is logged and
    /// does not fail the meeting.
    #[serde(default)]
    pub discord_events: bool,
}

/// How a Discord member becomes a Kaltura user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStrategy {
    /// The Kaltura user id is the Discord id with a prefix (`discord_80351110224678912`).
    PrefixedId,
    /// An admin or the member links an existing Kaltura user id.
    ExplicitLink,
    /// The member's email (when the host bot knows it) is the Kaltura user id.
    Email,
}

/// Where explicit identity links apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkScopeKind {
    /// A link made in a guild applies in that guild only.
    Guild,
    /// A link applies in every guild that uses the same Kaltura partner.
    Partner,
}

/// Identity mapping settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The mapping strategy.
    pub strategy: IdentityStrategy,
    /// Where explicit links apply: this guild only, or every guild of the Kaltura partner.
    pub link_scope: LinkScopeKind,
    /// Prefix of generated Kaltura user ids (strategy `prefixed_id`).
    #[schemars(length(max = 32), regex(pattern = r"^[A-Za-z0-9_.@-]*$"))]
    pub user_id_prefix: String,
    /// Create the Kaltura user on first use when it does not exist.
    pub auto_provision: bool,
}

/// Posts one kind of event into one channel (a route in the guild configuration; routes
/// made with `/kaltura-admin notify subscribe` are stored instead, with the same fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationRoute {
    /// The event kind.
    pub event: EventKind,
    /// The channel to post into.
    pub channel: ChannelId,
    /// Which entries are announced (every set filter must match; see
    /// `docs/notifications.md`). Entries that are not ready, not approved or not published
    /// to the filter's categories are announced only with `include_restricted`.
    #[serde(default, skip_serializing_if = "is_default_filters")]
    pub filters: RouteFilters,
    /// Roles pinged in the message content (at most 10); nobody else can be pinged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub mention_roles: Vec<RoleId>,
    /// The name of a template in `notifications.templates`; the built-in one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Post through this Discord channel webhook (`https://discord.com/api/webhooks/…`)
    /// instead of as the bot. A secret: shown redacted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_webhook_opt",
        deserialize_with = "de_webhook_opt"
    )]
    #[schemars(with = "Option<String>")]
    pub webhook_url: Option<WebhookUrl>,
}

fn is_default_filters(f: &RouteFilters) -> bool {
    *f == RouteFilters::default()
}

fn ser_webhook_opt<S: serde::Serializer>(v: &Option<WebhookUrl>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

fn de_webhook_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<WebhookUrl>, D::Error> {
    use serde::de::Error as _;
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        // The parse error names the problem, never the URL.
        Some(raw) => WebhookUrl::parse(raw.trim())
            .map(Some)
            .map_err(|e| D::Error::custom(e.to_string())),
    }
}

/// Notification routing and templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Where each event goes.
    pub routes: Vec<NotificationRoute>,
    /// Message templates by name: minijinja templates of the embed description, with the
    /// variables of the route's event kind (`{{ entry.name }}`; see `docs/notifications.md`).
    /// Validated when loaded or saved: an unknown variable is an error that names it.
    pub templates: BTreeMap<String, String>,
}

/// Feature switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesConfig {
    /// Media commands (view, share).
    pub media: bool,
    /// Search commands.
    pub search: bool,
    /// Meeting commands.
    pub meetings: bool,
    /// Kaltura event notifications.
    pub notifications: bool,
}

/// What the process needs to run: credentials, listen addresses, storage, keys.
///
/// Secrets are best given as `${ENV_VAR}` placeholders in files or through `KD__…`
/// environment variables; they are never printed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessConfig {
    /// Discord application credentials.
    pub discord: DiscordConfig,
    /// Kaltura account credentials used by default.
    pub kaltura: KalturaCredentialsConfig,
    /// HTTP listen addresses.
    pub http: HttpConfig,
    /// Storage.
    pub database: DatabaseConfig,
    /// Keys for the gateway's JWTs.
    pub jwt: JwtConfig,
    /// Settings every guild starts from, before its own overrides (a partial guild config).
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub guild_defaults: serde_json::Map<String, serde_json::Value>,
}

/// Discord application credentials.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The bot token; without it the bot runs without a Discord connection.
    #[serde(serialize_with = "ser_secret_opt")]
    #[schemars(with = "Option<String>")]
    pub token: Option<SecretString>,
    /// The application id.
    pub application_id: Option<String>,
    /// The application's Ed25519 public key (hex), for HTTP interactions.
    pub public_key: Option<String>,
    /// The application's OAuth2 client secret, for signing in to the API gateway with
    /// Discord (with `application_id` as the client id and `http.gateway_public_url`).
    #[serde(default, serialize_with = "ser_secret_opt")]
    #[schemars(with = "Option<String>")]
    pub client_secret: Option<SecretString>,
    /// Register the commands in this guild only (they update instantly; for development)
    /// instead of globally.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub dev_guild_id: Option<crate::GuildId>,
    /// The gateway shards this process runs (`null`: as many as Discord recommends, all in
    /// this process). Several replicas share one application by each running a range.
    #[serde(default)]
    pub shards: Option<ShardsConfig>,
}

/// The gateway shards one process runs: shards `first..=last` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardsConfig {
    /// The application's total shard count.
    #[schemars(range(min = 1, max = 65535))]
    pub total: u32,
    /// The first shard id this process runs.
    #[schemars(range(max = 65534))]
    pub first: u32,
    /// The last shard id this process runs (inclusive).
    #[schemars(range(max = 65534))]
    pub last: u32,
}

/// Kaltura credentials.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KalturaCredentialsConfig {
    /// The API base URL.
    pub service_url: String,
    /// The partner id.
    #[schemars(with = "Option<i64>")]
    pub partner_id: Option<PartnerId>,
    /// The partner admin secret.
    #[serde(serialize_with = "ser_secret_opt")]
    #[schemars(with = "Option<String>")]
    pub admin_secret: Option<SecretString>,
    /// Hosts (`example.kaltura.com`, exact, case-insensitive) that guild settings (a guild
    /// file or a store override) may point `kaltura.service_url` and `kaltura.kaf_url` at.
    /// Connection settings otherwise come only from the operator's layers: a guild admin
    /// must not be able to send members' join KSes to a host of their choosing.
    #[serde(default)]
    pub allowed_guild_hosts: Vec<String>,
    /// Partner ids that guild settings may select with `kaltura.partner_id`.
    #[serde(default)]
    #[schemars(with = "Vec<i64>")]
    pub allowed_guild_partner_ids: Vec<PartnerId>,
}

/// Listen addresses.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The API gateway.
    #[schemars(with = "String")]
    pub gateway_listen: SocketAddr,
    /// The Kaltura webhook receiver.
    #[schemars(with = "String")]
    pub webhooks_listen: SocketAddr,
    /// The API gateway's public address (`https://kd.example.org`, no path): the Discord
    /// login returns to `{it}/api/v1/auth/discord/callback` (register that redirect in the
    /// Discord developer portal), and `/kaltura link` sends members to `{it}/link` to prove a
    /// Kaltura account is theirs. Unset: no Discord login on the gateway.
    #[serde(default)]
    pub gateway_public_url: Option<String>,
}

/// Storage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` (default, embedded) or `postgres://…` (for several replicas).
    #[schemars(with = "String")]
    pub url: DatabaseUrl,
}

/// A database URL, which may carry a password (`postgres://user:password@host/db` or
/// `?password=…`). `Debug`, `Display` and serialization show it with credentials hidden;
/// [`DatabaseUrl::expose_secret`] gives the real URL to the code that connects.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(SecretString::from(url.into()))
    }

    /// The URL with its credentials, for connecting.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with user info and password-like query parameters hidden.
    pub fn redacted(&self) -> String {
        redact_url(self.0.expose_secret())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// JWT settings for the gateway.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The `aud` claim tokens are issued for and checked against.
    pub audience: String,
    /// Token lifetime in seconds.
    #[schemars(range(min = 30, max = 86400))]
    pub ttl_seconds: u32,
    /// Signing keys; the first signs, all verify (rotation by `kid`).
    pub keys: Vec<JwtKeyConfig>,
}

/// One HMAC signing key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtKeyConfig {
    /// The key id (`kid` header).
    pub kid: String,
    /// The secret (at least 32 bytes).
    #[serde(serialize_with = "ser_secret")]
    #[schemars(with = "String")]
    pub secret: SecretString,
}

const REDACTED: &str = "**redacted**";

fn ser_secret<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(REDACTED)
}

fn ser_secret_opt<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

/// Query parameter names whose values are hidden (compared case-insensitively, as a
/// substring: `sslpassword`, `access_token`, `api_key` …).
const SECRET_QUERY_NAMES: [&str; 6] = ["pass", "pwd", "secret", "token", "key", "auth"];

/// Hides the credentials of a URL: the `user:password@` part, the values of password-like
/// query parameters (`?password=…`), and any fragment.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let mut out = String::with_capacity(url.len());
    let rest = match (scheme, rest.rsplit_once('@')) {
        (Some(scheme), Some((_, host))) => {
            out.push_str(scheme);
            out.push_str("://");
            out.push_str(REDACTED);
            out.push('@');
            host
        }
        (Some(scheme), None) => {
            out.push_str(scheme);
            out.push_str("://");
            rest
        }
        (None, _) => rest,
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, _)) => (r, true),
        None => (rest, false),
    };
    match rest.split_once('?') {
        Some((base, query)) => {
            out.push_str(base);
            out.push('?');
            for (i, pair) in query.split('&').enumerate() {
                if i > 0 {
                    out.push('&');
                }
                match pair.split_once('=') {
                    Some((name, _)) if is_secret_query_name(name) => {
                        out.push_str(name);
                        out.push('=');
                        out.push_str(REDACTED);
                    }
                    _ => out.push_str(pair),
                }
            }
        }
        None => out.push_str(rest),
    }
    if fragment {
        out.push('#');
        out.push_str(REDACTED);
    }
    out
}

fn is_secret_query_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_QUERY_NAMES.iter().any(|s| name.contains(s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_hide_credentials() {
        assert_eq!(
            redact_url("postgres://kd:hunter2@db:5432/kd"),
            "postgres://**redacted**@db:5432/kd"
        );
        assert_eq!(redact_url("sqlite://data/kd.db"), "sqlite://data/kd.db");
        assert_eq!(
            redact_url("postgres://db/kd?user=kd&password=hunter2&sslmode=require"),
            "postgres://db/kd?user=kd&password=**redacted**&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db/kd?SSLPASSWORD=hunter2&Api_Key=k#frag"),
            "postgres://db/kd?SSLPASSWORD=**redacted**&Api_Key=**redacted**#**redacted**"
        );
        // An unencoded `?` or `/` in the password does not split the credentials off.
        let odd = redact_url("postgres://kd:hun?t/er2@db/kd");
        assert!(!odd.contains("hun") && !odd.contains("er2"), "{odd}");
    }

    #[test]
    fn route_webhook_urls_are_secret_and_checked() {
        let url = "https://discord.com/api/webhooks/123456789/canary-route-token_0123";
        let route: NotificationRoute = serde_json::from_value(serde_json::json!({
            "event": "entry_ready",
            "channel": "42",
            "mention_roles": ["7"],
            "webhook_url": url,
        }))
        .unwrap();
        assert_eq!(route.webhook_url.as_ref().unwrap().id(), 123_456_789);
        assert_eq!(route.filters, RouteFilters::default());
        for shown in [format!("{route:?}"), serde_json::to_string(&route).unwrap()] {
            assert!(!shown.contains("canary-route-token"), "{shown}");
        }
        assert_eq!(
            serde_json::to_value(&route).unwrap()["webhook_url"],
            REDACTED
        );
        let bad = serde_json::from_value::<NotificationRoute>(serde_json::json!({
            "event": "entry_ready",
            "channel": "42",
            "webhook_url": "https://evil.example/api/webhooks/1/canary-evil-token",
        }))
        .unwrap_err()
        .to_string();
        assert!(bad.contains("not a Discord webhook URL"), "{bad}");
        assert!(!bad.contains("canary-evil-token"), "{bad}");
        assert!(
            serde_json::from_value::<NotificationRoute>(
                serde_json::json!({"event": "entry_added", "channel": "42"})
            )
            .is_err()
        );
    }

    #[test]
    fn database_url_debug_display_and_serde_hide_the_password() {
        let url = DatabaseUrl::new("postgres://kd:hunter2@db/kd?password=hunter3");
        for shown in [
            format!("{url:?}"),
            url.to_string(),
            serde_json::to_string(&url).unwrap(),
            format!("{:?}", DatabaseConfig { url: url.clone() }),
        ] {
            assert!(!shown.contains("hunter"), "{shown}");
        }
        assert_eq!(
            url.expose_secret(),
            "postgres://kd:hunter2@db/kd?password=hunter3"
        );
        let back: DatabaseConfig = serde_json::from_str(r#"{"url": "sqlite://x.db"}"#).unwrap();
        assert_eq!(back.url.expose_secret(), "sqlite://x.db");
    }
}
