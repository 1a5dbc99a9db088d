//! [`MemoryStore`]: every store trait in memory.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::{PartnerId, ScheduleEventId, UserId};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::{
    AuditAction, AuditEntry, AuditLog, AuditNote, GuildOverrideStore, IdentityLink, IdentityStore,
    LinkScope, MeetingRecord, MeetingStatus, MeetingStore, NewAuditEntry, OverrideEdit,
    StoredOverride, config_change_detail, link_audit_detail, override_text, unlink_audit_detail,
};
use crate::error::{ConflictReason, Resource};
use crate::ids::{DiscordUserId, GuildId, ScheduledEventId};
use crate::{Error, Result};

/// The most audit entries a [`MemoryStore`] keeps; older ones are dropped first, so memory
/// stays bounded in a long-running bot.
pub const MAX_MEMORY_AUDIT_ENTRIES: usize = 100_000;

/// The most rows a listing returns, as in the SQL store.
const LIST_LIMIT: usize = 1000;

/// Identity links, guild overrides, meetings and the audit log in memory.
///
/// A real implementation of [`IdentityStore`], [`GuildOverrideStore`], [`MeetingStore`] and
/// [`AuditLog`] with the same rules as the SQL store: a Kaltura user is linked to one member
/// per scope, override edits run atomically with their audit entry and bump the version, a
/// Kaltura event is recorded once. It also implements [`crate::notify::NotificationStore`]
/// with the SQL store's rules, and the gateway's
/// [`crate::gateway::sessions::SessionStore`] and [`crate::gateway::sessions::PendingLoginStore`].
/// Everything is lost when the process ends; the audit log
/// keeps the newest [`MAX_MEMORY_AUDIT_ENTRIES`] entries. Clones share the same data.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kaltura_discord::Result<()> {
/// use kaltura_discord::store::{GuildOverrideStore, MemoryStore};
/// use kaltura_discord::{DiscordUserId, GuildId};
///
/// let store = MemoryStore::new();
/// let (Some(guild), Some(admin)) = (GuildId::new(1), DiscordUserId::new(2)) else {
///     unreachable!()
/// };
/// let stored = store
///     .update_override(guild, admin, &|doc| {
///         doc.insert("locale".into(), "de-DE".into());
///         Ok(())
///     })
///     .await?;
/// assert_eq!(stored.version, 1);
/// assert_eq!(store.get_override(guild).await?, Some(stored));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    /// The notification inbox, subscriptions and outbox (`memory_notify.rs`).
    notify: Arc<Mutex<notify::NotifyState>>,
    /// Gateway sessions and pending logins (`memory_sessions.rs`).
    sessions: Arc<Mutex<sessions::SessionState>>,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct State {
    /// Links by scope key, then Discord user.
    links: HashMap<String, BTreeMap<DiscordUserId, IdentityLink>>,
    overrides: HashMap<GuildId, StoredOverride>,
    /// Meetings by (partner, event): an event is recorded once per partner.
    meetings: HashMap<(PartnerId, ScheduleEventId), MeetingRecord>,
    /// Discord scheduled events mirroring meetings, by (partner, event).
    discord_events: HashMap<(PartnerId, ScheduleEventId), ScheduledEventId>,
    /// The audit log per guild, each in id order (oldest first), so that a page is a binary
    /// search and `limit` steps however many entries other guilds have.
    audit: HashMap<GuildId, VecDeque<AuditEntry>>,
    /// The guild of every kept entry in id order: which guild's oldest entry to drop when
    /// the log is full.
    audit_order: VecDeque<GuildId>,
    last_audit_id: i64,
}

impl State {
    fn append(&mut self, entry: NewAuditEntry, at: i64) -> AuditEntry {
        self.last_audit_id = self.last_audit_id.saturating_add(1);
        let stored = AuditEntry {
            id: self.last_audit_id,
            guild: entry.guild,
            actor: entry.actor,
            action: entry.action,
            detail: entry.detail,
            at,
        };
        if self.audit_order.len() >= MAX_MEMORY_AUDIT_ENTRIES
            && let Some(oldest) = self.audit_order.pop_front()
            && let Some(entries) = self.audit.get_mut(&oldest)
        {
            entries.pop_front();
            if entries.is_empty() {
                self.audit.remove(&oldest);
            }
        }
        self.audit_order.push_back(stored.guild);
        self.audit
            .entry(stored.guild)
            .or_default()
            .push_back(stored.clone());
        stored
    }

    /// At most `limit` entries of `guild` with an id below `before`, newest first.
    fn audit_page(&self, guild: GuildId, before: Option<i64>, limit: u32) -> Vec<AuditEntry> {
        let limit = usize::try_from(limit).unwrap_or(LIST_LIMIT).min(LIST_LIMIT);
        let Some(entries) = self.audit.get(&guild) else {
            return Vec::new();
        };
        let end = before.map_or(entries.len(), |before| {
            entries.partition_point(|e| e.id < before)
        });
        entries.range(..end).rev().take(limit).cloned().collect()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        MemoryStore {
            state: Arc::default(),
            notify: Arc::default(),
            sessions: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for the times it records (audit entries, override changes).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn link(&self, link: &IdentityLink, note: &AuditNote) -> Result<()> {
        let mut state = self.state.lock().await;
        let scope = state.links.entry(link.scope.key()).or_default();
        let taken = scope
            .values()
            .any(|l| l.kaltura_user == link.kaltura_user && l.discord_user != link.discord_user);
        if taken {
            return Err(Error::conflict(
                Resource::KalturaUser,
                &link.kaltura_user,
                ConflictReason::LinkedToAnotherMember,
            ));
        }
        scope.insert(link.discord_user, link.clone());
        let at = self.clock.now_unix();
        state.append(
            NewAuditEntry {
                guild: link.guild,
                actor: Some(link.linked_by),
                action: AuditAction::IdentityLinked,
                detail: link_audit_detail(link, note),
            },
            at,
        );
        Ok(())
    }

    async fn unlink(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
        guild: GuildId,
        actor: DiscordUserId,
        note: &AuditNote,
    ) -> Result<bool> {
        let mut state = self.state.lock().await;
        let removed = state
            .links
            .get_mut(&scope.key())
            .and_then(|links| links.remove(&discord_user))
            .is_some();
        if removed {
            let at = self.clock.now_unix();
            state.append(
                NewAuditEntry {
                    guild,
                    actor: Some(actor),
                    action: AuditAction::IdentityUnlinked,
                    detail: unlink_audit_detail(scope, discord_user, note),
                },
                at,
            );
        }
        Ok(removed)
    }

    async fn find_by_discord(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
    ) -> Result<Option<IdentityLink>> {
        let state = self.state.lock().await;
        Ok(state
            .links
            .get(&scope.key())
            .and_then(|links| links.get(&discord_user))
            .cloned())
    }

    async fn find_by_kaltura(
        &self,
        scope: LinkScope,
        kaltura_user: &UserId,
    ) -> Result<Option<IdentityLink>> {
        let state = self.state.lock().await;
        Ok(state
            .links
            .get(&scope.key())
            .and_then(|links| links.values().find(|l| &l.kaltura_user == kaltura_user))
            .cloned())
    }

    async fn list_links(&self, scope: LinkScope) -> Result<Vec<IdentityLink>> {
        let state = self.state.lock().await;
        // Ordered by Discord user id as text, like the SQL store.
        let mut links: Vec<IdentityLink> = state
            .links
            .get(&scope.key())
            .map(|links| links.values().cloned().collect())
            .unwrap_or_default();
        links.sort_by_cached_key(|l| l.discord_user.to_string());
        Ok(links)
    }
}

#[async_trait]
impl GuildOverrideStore for MemoryStore {
    async fn get_override(&self, guild: GuildId) -> Result<Option<StoredOverride>> {
        Ok(self.state.lock().await.overrides.get(&guild).cloned())
    }

    async fn override_guilds(&self) -> Result<Vec<GuildId>> {
        Ok(self.state.lock().await.overrides.keys().copied().collect())
    }

    async fn update_override(
        &self,
        guild: GuildId,
        actor: DiscordUserId,
        edit: OverrideEdit<'_>,
    ) -> Result<StoredOverride> {
        let mut state = self.state.lock().await;
        let (before, version) = state
            .overrides
            .get(&guild)
            .map(|o| (o.document.clone(), o.version))
            .unwrap_or_default();
        let mut document = before.clone();
        edit(&mut document)?;
        override_text(guild, &document)?;
        let version = version.saturating_add(1);
        let at = self.clock.now_unix();
        let stored = StoredOverride {
            document,
            version,
            updated_at: at,
            updated_by: Some(actor),
        };
        let detail = config_change_detail(before, &stored.document, version);
        state.overrides.insert(guild, stored.clone());
        state.append(
            NewAuditEntry {
                guild,
                actor: Some(actor),
                action: AuditAction::ConfigChanged,
                detail,
            },
            at,
        );
        Ok(stored)
    }

    async fn delete_override(&self, guild: GuildId, actor: DiscordUserId) -> Result<bool> {
        let mut state = self.state.lock().await;
        let removed = state.overrides.remove(&guild).is_some();
        if removed {
            let at = self.clock.now_unix();
            state.append(
                NewAuditEntry {
                    guild,
                    actor: Some(actor),
                    action: AuditAction::ConfigReset,
                    detail: Value::Object(Map::new()),
                },
                at,
            );
        }
        Ok(removed)
    }
}

#[async_trait]
impl MeetingStore for MemoryStore {
    async fn insert_meeting(&self, meeting: &MeetingRecord) -> Result<()> {
        let mut state = self.state.lock().await;
        let key = (meeting.partner_id, meeting.event_id);
        if state.meetings.contains_key(&key) {
            return Err(Error::conflict(
                Resource::Meeting,
                meeting.event_id,
                ConflictReason::AlreadyExists,
            ));
        }
        state.meetings.insert(key, meeting.clone());
        Ok(())
    }

    async fn find_meeting(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<MeetingRecord>> {
        let state = self.state.lock().await;
        Ok(state
            .meetings
            .get(&(partner_id, event_id))
            .filter(|m| m.guild == guild)
            .cloned())
    }

    async fn meeting_by_event(
        &self,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<MeetingRecord>> {
        let state = self.state.lock().await;
        Ok(state.meetings.get(&(partner_id, event_id)).cloned())
    }

    async fn list_open_meetings(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        now: i64,
    ) -> Result<Vec<MeetingRecord>> {
        let state = self.state.lock().await;
        let mut open: Vec<MeetingRecord> = state
            .meetings
            .values()
            .filter(|m| {
                m.guild == guild
                    && m.partner_id == partner_id
                    && m.status == MeetingStatus::Scheduled
                    && m.ends_at > now
            })
            .cloned()
            .collect();
        open.sort_by_key(|m| (m.starts_at, m.event_id.get()));
        open.truncate(LIST_LIMIT);
        Ok(open)
    }

    async fn meetings_between(
        &self,
        after: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<MeetingRecord>> {
        let state = self.state.lock().await;
        let within = |t: i64| t > after && t <= until;
        let mut due: Vec<MeetingRecord> = state
            .meetings
            .values()
            .filter(|m| within(m.starts_at) || within(m.ends_at))
            .cloned()
            .collect();
        due.sort_by_key(|m| (m.starts_at, m.partner_id.get(), m.event_id.get()));
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(due)
    }

    async fn next_meeting_time(&self, after: i64) -> Result<Option<i64>> {
        let state = self.state.lock().await;
        Ok(state
            .meetings
            .values()
            .flat_map(|m| [m.starts_at, m.ends_at])
            .filter(|t| *t > after)
            .min())
    }

    async fn mark_meeting_ended(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
        ended_by: DiscordUserId,
        ended_at: i64,
    ) -> Result<bool> {
        let mut state = self.state.lock().await;
        match state
            .meetings
            .get_mut(&(partner_id, event_id))
            .filter(|m| m.guild == guild && m.status == MeetingStatus::Scheduled)
        {
            Some(meeting) => {
                meeting.status = MeetingStatus::Ended;
                meeting.ended_at = Some(ended_at);
                meeting.ended_by = Some(ended_by);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn set_discord_event(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
        discord_event: Option<ScheduledEventId>,
    ) -> Result<bool> {
        let mut state = self.state.lock().await;
        let key = (partner_id, event_id);
        if state.meetings.get(&key).is_none_or(|m| m.guild != guild) {
            return Ok(false);
        }
        match discord_event {
            Some(event) => state.discord_events.insert(key, event),
            None => state.discord_events.remove(&key),
        };
        Ok(true)
    }

    async fn discord_event(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<ScheduledEventId>> {
        let state = self.state.lock().await;
        let key = (partner_id, event_id);
        if state.meetings.get(&key).is_none_or(|m| m.guild != guild) {
            return Ok(None);
        }
        Ok(state.discord_events.get(&key).copied())
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn append(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        let at = self.clock.now_unix();
        Ok(self.state.lock().await.append(entry, at))
    }

    async fn recent(&self, guild: GuildId, limit: u32) -> Result<Vec<AuditEntry>> {
        Ok(self.state.lock().await.audit_page(guild, None, limit))
    }

    async fn page(
        &self,
        guild: GuildId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        Ok(self.state.lock().await.audit_page(guild, before, limit))
    }
}

/// `NotificationStore` for `MemoryStore`, with the same rules as the SQL store.
#[path = "memory_notify.rs"]
mod notify;

#[path = "memory_sessions.rs"]
mod sessions;
