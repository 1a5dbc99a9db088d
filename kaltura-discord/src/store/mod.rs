//! Storage: identity links, guild configuration overrides, meetings and the audit log.
//!
//! Each concern is a trait ([`IdentityStore`], [`GuildOverrideStore`], [`MeetingStore`],
//! [`AuditLog`]) so a host bot can bring its own storage. Two implementations come with the
//! crate:
//!
//! * [`MemoryStore`] (always built): everything in memory, gone when the process ends. A
//!   real implementation with the same rules as the SQL one (link conflicts, override
//!   versions, edits applied atomically with their audit entry), for small bots and tests.
//! * `SqlStore` (features `sqlite`, the default, and `postgres`): SQLite — the embedded
//!   default, one file under the data directory, created with migrations on start and run in
//!   WAL mode — and PostgreSQL, for several stateless replicas. Both run the same SQL.
//!
//! All three pass the same test suite. Writes that read before they write (changing one
//! configuration key) run in one transaction together with their audit entry, so concurrent
//! writers do not lose each other's updates.

mod memory;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;

use std::fmt;

use async_trait::async_trait;
use kaltura_client::{PartnerId, ScheduleEventId, ScheduleResourceId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use memory::{MAX_MEMORY_AUDIT_ENTRIES, MemoryStore};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::SqlStore;

/// Largest guild override document a store accepts, in bytes of JSON.
pub const MAX_OVERRIDE_BYTES: usize = 64 * 1024;

use crate::Result;
use crate::config::MeetingType;
use crate::ids::{DiscordUserId, GuildId, ScheduledEventId};

/// Where an identity link applies: in one guild, or in every guild of a Kaltura partner
/// (configured with `identity.link_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkScope {
    /// One guild.
    Guild(GuildId),
    /// Every guild using this Kaltura partner.
    Partner(kaltura_client::PartnerId),
}

impl LinkScope {
    /// The key stored in the database: `guild:{id}` or `partner:{id}`.
    pub fn key(&self) -> String {
        match self {
            LinkScope::Guild(g) => format!("guild:{g}"),
            LinkScope::Partner(p) => format!("partner:{p}"),
        }
    }

    /// Parses [`LinkScope::key`].
    pub fn parse_key(key: &str) -> Option<LinkScope> {
        match key.split_once(':')? {
            ("guild", id) => id.parse().ok().map(LinkScope::Guild),
            ("partner", id) => {
                let id: i64 = id.parse().ok()?;
                (id > 0 && id.to_string().len() == key.len() - "partner:".len())
                    .then(|| LinkScope::Partner(kaltura_client::PartnerId::new(id)))
            }
            _ => None,
        }
    }
}

impl fmt::Display for LinkScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkScope::Guild(g) => write!(f, "guild {g}"),
            LinkScope::Partner(p) => write!(f, "partner {p}"),
        }
    }
}

/// A Discord member linked to a Kaltura user, in a guild or across a partner's guilds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    /// Where the link applies.
    pub scope: LinkScope,
    /// The guild the link was made in (its audit entry goes there).
    pub guild: GuildId,
    /// The Discord member.
    pub discord_user: DiscordUserId,
    /// The Kaltura user they act as.
    pub kaltura_user: UserId,
    /// When the link was made (unix seconds).
    pub linked_at: i64,
    /// Who made it (the member themself, or an admin).
    pub linked_by: DiscordUserId,
}

/// Extra details a caller adds to the audit entry a store writes (e.g. which proof allowed
/// an identity link). Never secrets.
pub type AuditNote = Map<String, Value>;

/// The audit detail of a link: the member, the Kaltura user, the scope, plus `note`.
pub(crate) fn link_audit_detail(link: &IdentityLink, note: &AuditNote) -> Value {
    let mut detail = note.clone();
    detail.insert("discord_user".into(), link.discord_user.to_string().into());
    detail.insert("kaltura_user".into(), link.kaltura_user.as_str().into());
    detail.insert("scope".into(), link.scope.key().into());
    Value::Object(detail)
}

/// The audit detail of an unlink: the member and the scope, plus `note`.
pub(crate) fn unlink_audit_detail(
    scope: LinkScope,
    discord_user: DiscordUserId,
    note: &AuditNote,
) -> Value {
    let mut detail = note.clone();
    detail.insert("discord_user".into(), discord_user.to_string().into());
    detail.insert("scope".into(), scope.key().into());
    Value::Object(detail)
}

/// Discord member ↔ Kaltura user links, per [`LinkScope`] (a guild or a partner).
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Creates or replaces the member's link in its scope. A Kaltura user can be linked to one
    /// member per scope only: linking it to a second member is [`crate::Error::Conflict`].
    /// The link and its [`AuditAction::IdentityLinked`] entry are written together; `note`
    /// (why the link was allowed, e.g. the proof kind; never secrets) is merged into the
    /// entry's detail.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Conflict`] when the Kaltura
    /// user is linked to another member of the scope.
    async fn link(&self, link: &IdentityLink, note: &AuditNote) -> Result<()>;
    /// Removes the member's link; `false` if there was none. The removal and its audit entry
    /// (in `guild`, with `note` merged into its detail) are written together.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn unlink(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
        guild: GuildId,
        actor: DiscordUserId,
        note: &AuditNote,
    ) -> Result<bool>;
    /// The member's link.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when the stored
    /// link cannot be read back.
    async fn find_by_discord(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
    ) -> Result<Option<IdentityLink>>;
    /// The member linked to a Kaltura user.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when the stored
    /// link cannot be read back.
    async fn find_by_kaltura(
        &self,
        scope: LinkScope,
        kaltura_user: &UserId,
    ) -> Result<Option<IdentityLink>>;
    /// Every link of a scope, by Discord user id.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when a stored link
    /// cannot be read back.
    async fn list_links(&self, scope: LinkScope) -> Result<Vec<IdentityLink>>;
}

/// A guild's configuration override document with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOverride {
    /// The partial configuration.
    pub document: Map<String, Value>,
    /// Incremented on every write, starting at 1.
    pub version: i64,
    /// When it was last written (unix seconds).
    pub updated_at: i64,
    /// Who wrote it last.
    pub updated_by: Option<DiscordUserId>,
}

/// A change to apply to a guild's override document inside the store's transaction; it may
/// refuse the change (for example because the result does not validate).
pub type OverrideEdit<'a> = &'a (dyn Fn(&mut Map<String, Value>) -> Result<()> + Send + Sync);

/// Guild configuration overrides changed through bot commands: the one store trait for them,
/// used by the commands that change them and by [`crate::config::ConfigResolver`] (through
/// [`GuildOverrideStore::guild_override`]) when it resolves a guild's configuration.
#[async_trait]
pub trait GuildOverrideStore: Send + Sync {
    /// The guild's override, if it has one.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails, [`crate::Error::Corrupt`] when the
    /// stored document cannot be read back.
    async fn get_override(&self, guild: GuildId) -> Result<Option<StoredOverride>>;

    /// Reads the override (empty if none), applies `edit` and writes the result with an audit
    /// entry, all in one transaction. Returns the new override with its version.
    ///
    /// # Errors
    ///
    /// Whatever `edit` returns (nothing is written then), [`crate::Error::InvalidInput`] when
    /// the result is larger than [`MAX_OVERRIDE_BYTES`], and the errors of
    /// [`GuildOverrideStore::get_override`].
    async fn update_override(
        &self,
        guild: GuildId,
        actor: DiscordUserId,
        edit: OverrideEdit<'_>,
    ) -> Result<StoredOverride>;

    /// Deletes the override (with an audit entry); `false` if there was none.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn delete_override(&self, guild: GuildId, actor: DiscordUserId) -> Result<bool>;

    /// The guild's override document as a configuration layer: `None` when it has none or
    /// it is empty. The configuration resolver reads overrides through this method.
    ///
    /// # Errors
    ///
    /// The errors of [`GuildOverrideStore::get_override`].
    async fn guild_override(&self, guild: GuildId) -> Result<Option<Map<String, Value>>> {
        Ok(self
            .get_override(guild)
            .await?
            .map(|o| o.document)
            .filter(|d| !d.is_empty()))
    }

    /// The guilds that have an override (the notification router reads their routes). The
    /// default lists none: a store that cannot list them leaves routing to guild files and
    /// stored subscriptions.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn override_guilds(&self) -> Result<Vec<GuildId>> {
        Ok(Vec::new())
    }
}

/// Checks an edited override document against [`MAX_OVERRIDE_BYTES`] and returns its JSON
/// text; shared by the stores so that they refuse the same documents with the same words.
pub(crate) fn override_text(guild: GuildId, document: &Map<String, Value>) -> Result<String> {
    let text = serde_json::to_string(document)
        .map_err(|e| crate::Error::invalid_input("override", format!("guild {guild}: {e}")))?;
    if text.len() > MAX_OVERRIDE_BYTES {
        return Err(crate::Error::invalid_input(
            "override",
            format!(
                "guild {guild}: the configuration override would be {} bytes, more than the {MAX_OVERRIDE_BYTES} allowed",
                text.len()
            ),
        ));
    }
    Ok(text)
}

/// The audit detail of a configuration change.
pub(crate) fn config_change_detail(
    before: Map<String, Value>,
    after: &Map<String, Value>,
    version: i64,
) -> Value {
    serde_json::json!({"before": Value::Object(before), "after": Value::Object(after.clone()), "version": version})
}

/// Where a meeting recorded by [`MeetingStore`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Scheduled, running, or past its end time without having been ended explicitly.
    Scheduled,
    /// Ended (its Kaltura schedule event was cancelled).
    Ended,
}

impl MeetingStatus {
    /// The snake_case name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "scheduled",
            MeetingStatus::Ended => "ended",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<MeetingStatus> {
        match s {
            "scheduled" => Some(MeetingStatus::Scheduled),
            "ended" => Some(MeetingStatus::Ended),
            _ => None,
        }
    }
}

impl fmt::Display for MeetingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Kaltura Meetings session started from a guild: which guild owns it and its Kaltura
/// objects (the `KalturaRecordScheduleEvent` and the room resource it uses).
///
/// A meeting belongs to exactly one guild; lookups always name the guild, so a guild never
/// sees another guild's meetings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingRecord {
    /// The guild that started it.
    pub guild: GuildId,
    /// The Kaltura partner the event lives in.
    pub partner_id: PartnerId,
    /// The Kaltura schedule event (the session); also the meeting's id in commands.
    pub event_id: ScheduleEventId,
    /// The Kaltura room resource the event uses.
    pub resource_id: ScheduleResourceId,
    /// The title (the event's summary).
    pub title: String,
    /// The description, if any.
    pub description: Option<String>,
    /// The kind of room.
    pub kind: MeetingType,
    /// Scheduled start (unix seconds).
    pub starts_at: i64,
    /// Scheduled end (unix seconds).
    pub ends_at: i64,
    /// Who started it.
    pub created_by: DiscordUserId,
    /// When it was recorded (unix seconds).
    pub created_at: i64,
    /// Where it stands.
    pub status: MeetingStatus,
    /// When it was ended, if it was.
    pub ended_at: Option<i64>,
    /// Who ended it, if someone did.
    pub ended_by: Option<DiscordUserId>,
}

/// Meetings started from guilds, per guild and Kaltura partner.
#[async_trait]
pub trait MeetingStore: Send + Sync {
    /// Records a new meeting. A Kaltura event can be recorded once only (per partner):
    /// recording it again is [`crate::Error::Conflict`].
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Conflict`] when the event is
    /// recorded already.
    async fn insert_meeting(&self, meeting: &MeetingRecord) -> Result<()>;
    /// The guild's meeting with this event id, if the guild has one.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when the stored
    /// meeting cannot be read back.
    async fn find_meeting(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<MeetingRecord>>;
    /// The guild's meetings that are not ended and end after `now` (unix seconds), soonest
    /// start first (ties by event id).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when a stored
    /// meeting cannot be read back.
    async fn list_open_meetings(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        now: i64,
    ) -> Result<Vec<MeetingRecord>>;
    /// Marks the guild's meeting ended if it is still [`MeetingStatus::Scheduled`]; `false`
    /// if there is no such meeting or it was already ended.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn mark_meeting_ended(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
        ended_by: DiscordUserId,
        ended_at: i64,
    ) -> Result<bool>;

    /// Records (or, with `None`, forgets) the Discord scheduled event that mirrors the
    /// guild's meeting (configuration `meetings.discord_events`); `false` if the guild has no
    /// such meeting.
    ///
    /// The default implementation records nothing and returns `false`: a host store that
    /// does not implement it only loses the closing of mirrored events when meetings end.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn set_discord_event(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
        discord_event: Option<ScheduledEventId>,
    ) -> Result<bool> {
        let _ = (guild, partner_id, event_id, discord_event);
        Ok(false)
    }

    /// Meetings of every guild whose start or end falls in `(after, until]` (unix seconds),
    /// earliest start first, at most `limit`: the meeting lifecycle's timers
    /// ([`crate::notify::lifecycle::MeetingLifecycle::tick`]).
    ///
    /// The default implementation has none (a host store without it gets no live/ended
    /// states from timers).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when a
    /// stored meeting cannot be read back.
    async fn meetings_between(
        &self,
        after: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<MeetingRecord>> {
        let _ = (after, until, limit);
        Ok(Vec::new())
    }

    /// The meeting of any guild with this Kaltura event (a Kaltura event is recorded once per
    /// partner), for the meeting lifecycle: a meeting's messages go only to the guild that
    /// started it.
    ///
    /// The default implementation knows none (meeting messages then go to every guild
    /// routing the partner's meeting events).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when the
    /// stored meeting cannot be read back.
    async fn meeting_by_event(
        &self,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<MeetingRecord>> {
        let _ = (partner_id, event_id);
        Ok(None)
    }

    /// The earliest start or end of any meeting after `after`, for the lifecycle's timer.
    ///
    /// The default implementation knows none.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn next_meeting_time(&self, after: i64) -> Result<Option<i64>> {
        let _ = after;
        Ok(None)
    }

    /// The Discord scheduled event recorded for the guild's meeting, if any.
    ///
    /// The default implementation has none.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when the
    /// stored id cannot be read back.
    async fn discord_event(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<ScheduledEventId>> {
        let _ = (guild, partner_id, event_id);
        Ok(None)
    }
}

/// What happened, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// The guild's configuration changed.
    ConfigChanged,
    /// The guild's configuration override was removed.
    ConfigReset,
    /// A member was linked to a Kaltura user.
    IdentityLinked,
    /// A member's link was removed.
    IdentityUnlinked,
    /// A Kaltura user was created for a member.
    UserProvisioned,
    /// A member's Kaltura sign-in (identity proof) was refused (the detail has the login id
    /// and Kaltura's error code, never the password).
    KalturaLoginFailed,
    /// A meeting was started.
    MeetingStarted,
    /// A meeting was ended.
    MeetingEnded,
    /// A media entry was shared into a channel.
    MediaShared,
    /// A notification was posted (or a living message edited) in a channel.
    NotificationDelivered,
    /// A notification was given up (dead-lettered) with a reason.
    NotificationFailed,
    /// A channel was subscribed to Kaltura events (`/kaltura-admin notify subscribe`).
    NotifySubscribed,
    /// A channel's event subscriptions were removed.
    NotifyUnsubscribed,
    /// A test notification was posted.
    NotifyTested,
    /// A dead-lettered delivery was queued again.
    NotifyReplayed,
    /// Something not covered above (kept verbatim).
    Other,
}

impl AuditAction {
    /// The snake_case name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::ConfigChanged => "config_changed",
            AuditAction::ConfigReset => "config_reset",
            AuditAction::IdentityLinked => "identity_linked",
            AuditAction::IdentityUnlinked => "identity_unlinked",
            AuditAction::UserProvisioned => "user_provisioned",
            AuditAction::KalturaLoginFailed => "kaltura_login_failed",
            AuditAction::MeetingStarted => "meeting_started",
            AuditAction::MeetingEnded => "meeting_ended",
            AuditAction::MediaShared => "media_shared",
            AuditAction::NotificationDelivered => "notification_delivered",
            AuditAction::NotificationFailed => "notification_failed",
            AuditAction::NotifySubscribed => "notify_subscribed",
            AuditAction::NotifyUnsubscribed => "notify_unsubscribed",
            AuditAction::NotifyTested => "notify_tested",
            AuditAction::NotifyReplayed => "notify_replayed",
            AuditAction::Other => "other",
        }
    }

    /// Parses a stored name; unknown names become [`AuditAction::Other`].
    pub fn parse(s: &str) -> AuditAction {
        serde_json::from_value(Value::String(s.to_owned())).unwrap_or(AuditAction::Other)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Assigned by the store, increasing.
    pub id: i64,
    /// The guild.
    pub guild: GuildId,
    /// Who did it (`None` for the system, e.g. a webhook).
    pub actor: Option<DiscordUserId>,
    /// What was done.
    pub action: AuditAction,
    /// Details (the changed key, the meeting id…); never secrets.
    pub detail: Value,
    /// When (unix seconds).
    pub at: i64,
}

/// A new audit entry, before the store assigns its id and time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// The guild.
    pub guild: GuildId,
    /// Who did it.
    pub actor: Option<DiscordUserId>,
    /// What was done.
    pub action: AuditAction,
    /// Details.
    pub detail: Value,
}

/// The append-only audit log.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an entry and returns it with its id and time.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn append(&self, entry: NewAuditEntry) -> Result<AuditEntry>;
    /// The newest `limit` entries of a guild, newest first.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when a stored
    /// entry cannot be read back.
    async fn recent(&self, guild: GuildId, limit: u32) -> Result<Vec<AuditEntry>>;
    /// One page of a guild's entries, newest first: at most `limit` entries whose id is
    /// below `before` (all of them when `before` is `None`). The next page is read with the
    /// id of the last entry as `before`, so every entry is reachable however deep it is.
    ///
    /// There is no default implementation: one built on [`AuditLog::recent`] could not
    /// reach past the newest entries that `recent` returns. The stores of the crate read a
    /// page through an index on `(guild, id)`, so a page costs the same at any depth, and
    /// cap `limit` at 1000.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when a stored
    /// entry cannot be read back.
    async fn page(
        &self,
        guild: GuildId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>>;
}
