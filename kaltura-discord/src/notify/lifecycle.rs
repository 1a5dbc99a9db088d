//! A meeting's lifecycle as one living message: scheduled → live → ended → recording ready.
//!
//! Kaltura sends no notification when a meeting starts or ends: a schedule event only has a
//! start and an end date. [`MeetingLifecycle`] builds the states from what exists:
//!
//! - the meetings the bot created ([`MeetingStore`]) and **timers** at their start and end
//!   ([`MeetingLifecycle::tick`], [`MeetingLifecycle::run`] sleeping until the next start
//!   or end on the injected [`Clock`]);
//! - **schedule-event change notifications** ([`MeetingLifecycle::on_schedule_event`]): a
//!   cancelled or deleted event has ended;
//! - the **recording entry becoming ready** ([`MeetingLifecycle::recording_ready`]).
//!
//! It does not post anything itself: it emits [`InboundEvent`]s (kinds
//! [`EventKind::MeetingLive`], [`EventKind::MeetingEnded`], [`EventKind::RecordingReady`],
//! subject = the schedule event id, dedup key `lifecycle:{kind}:{event id}`) through
//! [`NotificationStore::ingest_batch`], so the router routes them like any Kaltura event.
//! The router gives every meeting kind the thread key `meeting:{partner}:{event id}`, and the
//! delivery worker edits the one message the first state posted. Emitting is idempotent (the
//! dedup key), so a restart or two lifecycle tasks never announce a state twice.
//!
//! # In the router
//!
//! Given to the router with `EventRouterBuilder::lifecycle`, the lifecycle sees every event
//! before it is routed ([`MeetingLifecycle::before_routing`]):
//!
//! - a **schedule-event change** (kind [`EventKind::MeetingScheduled`] from Kaltura) whose
//!   status is cancelled or deleted becomes [`EventKind::MeetingEnded`]
//!   ([`MeetingLifecycle::on_schedule_event`]) and is not routed as "scheduled" itself; a
//!   change of a meeting the bot knows whose start has passed is not routed either (it would
//!   move the living message back to "scheduled");
//! - an **entry ready** whose entry has a `templateEntryId` is looked up in Kaltura
//!   (`scheduleEvent.list` with `templateEntryIdEqual`, filter class
//!   `KalturaRecordScheduleEventFilter`, through the partner's account): each session found
//!   gets [`MeetingLifecycle::recording_ready`]. When Kaltura cannot be reached the routing
//!   of the entry fails and is retried; the dedup keys keep it idempotent. The entry is still
//!   routed as an entry ready.
//! - **meeting kinds** of a meeting the bot knows (the [`MeetingStore`], else the
//!   `kaltura_discord_guild:` tag the bot puts on the events it creates) go **only to the
//!   guild that started it**, not to every guild sharing the partner
//!   ([`LifecycleRouting::OnlyGuild`]). Meetings the bot does not know go to every matching
//!   route of the partner.
//!
//! # Which recording belongs to which meeting
//!
//! A Kaltura Meetings (newrow) session is a `KalturaRecordScheduleEvent`; its recordings are
//! created from the event's **template entry** (`templateEntryId` of the schedule event), and
//! the recorded media entry carries that id in its own `templateEntryId`
//! (`KalturaBaseEntry.templateEntryId`, "the ID of the template entry used to create this
//! entry"). `KalturaRoomEntry.recordedEntryId` only exists for the newer Kaltura Rooms and
//! `referenceId` is free for integrators, so neither is reliable for meetings the bot
//! created. [`recording_template_entry`] reads the entry's `templateEntryId`;
//! [`MeetingLifecycle::before_routing`] resolves it to the schedule event with
//! `scheduleEvent.list(templateEntryIdEqual)` and calls
//! [`MeetingLifecycle::recording_ready`] with the event id.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo(
//! #     meetings: std::sync::Arc<dyn kaltura_discord::store::MeetingStore>,
//! #     store: std::sync::Arc<dyn kaltura_discord::notify::NotificationStore>,
//! # ) -> kaltura_discord::Result<()> {
//! use kaltura_discord::notify::lifecycle::MeetingLifecycle;
//!
//! let lifecycle = MeetingLifecycle::new(meetings, store);
//! let emitted = lifecycle.tick(1_796_040_000).await?; // states whose time came
//! # let _ = emitted; Ok(()) }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::services::schedule::ListScheduleEventsRequest;
use kaltura_client::types::Pager;
use kaltura_client::types::schedule::{
    RECORD_SCHEDULE_EVENT_FILTER, ScheduleEventFilter, ScheduleEventStatus,
};
use kaltura_client::{EntryId, PartnerId, ScheduleEventId};
use serde_json::{Value, json};

use super::{EventKind, InboundEvent, Ingested, NotificationMeta, NotificationStore};
use crate::Result;
use crate::context::KalturaAccount;
use crate::ids::GuildId;
use crate::meetings::GUILD_TAG_PREFIX;
use crate::store::{MeetingRecord, MeetingStatus, MeetingStore};

/// At most this many sessions are told about one recording (a template entry is normally
/// one session's).
const RECORDING_SESSIONS: u32 = 10;
/// Meetings handled per tick (the rest are handled on the next tick, at once).
const TICK_LIMIT: u32 = 500;
/// Kaltura schedule event statuses meaning it will not take place or is over.
const SCHEDULE_CANCELLED: i64 = 1;
/// Deleted schedule event.
const SCHEDULE_DELETED: i64 = 3;

/// What the router does with an event after [`MeetingLifecycle::before_routing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleRouting {
    /// Route it to every matching route of the partner.
    Everyone,
    /// A meeting the bot knows: only this guild's routes get it.
    OnlyGuild(GuildId),
    /// Route nothing: the lifecycle stands in for it (a cancelled or deleted schedule
    /// event became "ended"; a change after the start would undo "live").
    Skip,
}

/// Emits a meeting's lifecycle states as events: see the [module documentation](self).
pub struct MeetingLifecycle {
    meetings: Arc<dyn MeetingStore>,
    store: Arc<dyn NotificationStore>,
    clock: Arc<dyn Clock>,
    lookback_secs: i64,
    idle_poll: Duration,
    /// The end of the window the last tick covered.
    last_tick: Mutex<Option<i64>>,
}

impl fmt::Debug for MeetingLifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeetingLifecycle")
            .field("lookback_secs", &self.lookback_secs)
            .finish_non_exhaustive()
    }
}

impl MeetingLifecycle {
    /// A lifecycle over the bot's meetings, emitting into `store`; system clock, one day of
    /// look-back on the first tick, 5 minutes between checks when no meeting is near.
    pub fn new(meetings: Arc<dyn MeetingStore>, store: Arc<dyn NotificationStore>) -> Self {
        MeetingLifecycle {
            meetings,
            store,
            clock: Arc::new(SystemClock),
            lookback_secs: 86_400,
            idle_poll: Duration::from_secs(300),
            last_tick: Mutex::new(None),
        }
    }

    /// The clock [`MeetingLifecycle::run`] reads.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How far back the first tick looks for starts and ends it missed (while the bot was
    /// down); default one day. Already-announced states are not announced again.
    pub fn with_lookback(mut self, secs: i64) -> Self {
        self.lookback_secs = secs.max(0);
        self
    }

    /// The longest [`MeetingLifecycle::run`] sleeps without a known next start or end.
    pub fn with_idle_poll(mut self, poll: Duration) -> Self {
        self.idle_poll = poll;
        self
    }

    /// Emits the states whose time came since the last tick (on the first tick: within the
    /// look-back): a meeting whose start passed and whose end has not is live; one whose end
    /// passed has ended. Returns how many new events were queued (states announced before
    /// are deduplicated by the store).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the meetings cannot be listed or the events not
    /// committed; the window is then covered again by the next tick.
    pub async fn tick(&self, now: i64) -> Result<usize> {
        let since = self
            .last_tick
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| now.saturating_sub(self.lookback_secs));
        if now <= since {
            return Ok(0);
        }
        let mut from = since;
        let mut queued = 0;
        loop {
            let due = self
                .meetings
                .meetings_between(from, now, TICK_LIMIT)
                .await?;
            let events: Vec<InboundEvent> = due
                .iter()
                .filter_map(|m| {
                    let kind = if m.ends_at <= now || m.status == MeetingStatus::Ended {
                        EventKind::MeetingEnded
                    } else if m.starts_at <= now {
                        EventKind::MeetingLive
                    } else {
                        return None;
                    };
                    Some(lifecycle_event(
                        m.partner_id,
                        kind,
                        m.event_id.get(),
                        meeting_json(m),
                        now,
                    ))
                })
                .collect();
            queued += self.emit(&events).await?;
            let full = due.len() >= usize::try_from(TICK_LIMIT).unwrap_or(usize::MAX);
            match due.last() {
                // More than one page: continue after the last start handed out.
                Some(last) if full && last.starts_at > from => from = last.starts_at,
                _ => break,
            }
        }
        *self.last_tick.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        Ok(queued)
    }

    /// Handles a schedule-event change notification (the `KalturaScheduleEvent` object): a
    /// cancelled or deleted event has ended. Returns whether a new event was queued.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the event cannot be committed.
    pub async fn on_schedule_event(&self, event: &InboundEvent) -> Result<bool> {
        let object = &event.object;
        let Some(id) = object.get("id").and_then(int_of) else {
            return Ok(false);
        };
        if !schedule_closed(object) {
            return Ok(false);
        }
        let e = lifecycle_event(
            event.partner_id,
            EventKind::MeetingEnded,
            id,
            object.clone(),
            event.received_at,
        );
        Ok(self.emit(std::slice::from_ref(&e)).await? == 1)
    }

    /// Emits "recording ready" for the schedule event `event_id` (see the module
    /// documentation for how a recording entry is tied to its meeting). `entry` is the
    /// ready media entry (`KalturaMediaEntry` JSON); it is carried as `recordedEntry`, its id
    /// as `entryId` and `recordedEntryId`, next to the meeting's fields when the bot knows
    /// the meeting. Returns whether a new event was queued (one "recording ready" per
    /// meeting: later recordings of the same meeting are deduplicated).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the meeting cannot be read or the event not committed.
    pub async fn recording_ready(
        &self,
        partner: PartnerId,
        event_id: i64,
        entry: &Value,
        now: i64,
    ) -> Result<bool> {
        let meeting = self
            .meetings
            .meeting_by_event(partner, ScheduleEventId::new(event_id))
            .await?;
        let mut object = meeting.as_ref().map(meeting_json).unwrap_or_else(|| {
            json!({
                "id": event_id,
                "objectType": "KalturaRecordScheduleEvent",
            })
        });
        let entry_id = entry.get("id").cloned().unwrap_or(Value::Null);
        if let Value::Object(o) = &mut object {
            // `entryId` makes the router fetch the entry (player link, duration).
            o.insert("entryId".into(), entry_id.clone());
            o.insert("recordedEntryId".into(), entry_id);
            o.insert("recordedEntry".into(), entry.clone());
        }
        let e = lifecycle_event(partner, EventKind::RecordingReady, event_id, object, now);
        Ok(self.emit(std::slice::from_ref(&e)).await? == 1)
    }

    /// When [`MeetingLifecycle::run`] should tick next: the next start or end after `now`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    pub async fn next_due(&self, now: i64) -> Result<Option<i64>> {
        self.meetings.next_meeting_time(now).await
    }

    /// Ticks, then sleeps until the next start or end (at most the idle poll), until
    /// `shutdown` completes. Takes an `Arc` so the same lifecycle can also be given to the
    /// router (`EventRouterBuilder::lifecycle`).
    pub async fn run<F>(self: Arc<Self>, shutdown: F)
    where
        F: std::future::Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        loop {
            let now = self.clock.now_unix();
            if let Err(e) = self.tick(now).await {
                tracing::warn!(error = %e, "the meeting lifecycle tick failed");
            }
            let delay = match self.next_due(now).await {
                Ok(Some(at)) if at > now => {
                    Duration::from_secs(u64::try_from(at - now).unwrap_or(u64::MAX))
                        .min(self.idle_poll)
                }
                Ok(_) => self.idle_poll,
                Err(e) => {
                    tracing::warn!(error = %e, "the next meeting time is unknown");
                    self.idle_poll
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// The router's hook, called before an event is routed (see the
    /// [module documentation](self#in-the-router)): turns cancelled schedule events into
    /// "ended", ready recordings into "recording ready", and says which guilds a meeting's
    /// messages may reach. `account` is the event partner's account.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Kaltura`] when the session of a recording cannot be looked up,
    /// [`crate::Error::Store`] when the store fails: the event's routing should be retried.
    pub async fn before_routing(
        &self,
        event: &InboundEvent,
        account: &KalturaAccount,
    ) -> Result<LifecycleRouting> {
        let Some(kind) = event.kind else {
            return Ok(LifecycleRouting::Everyone);
        };
        if kind == EventKind::EntryReady {
            if let Some(template) = recording_template_entry(&event.object) {
                self.recording_entry_ready(event, template, account).await?;
            }
            return Ok(LifecycleRouting::Everyone);
        }
        if !kind.is_meeting() {
            return Ok(LifecycleRouting::Everyone);
        }
        let event_id = event
            .subject
            .as_deref()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .or_else(|| event.object.get("id").and_then(int_of));
        let meeting = match event_id {
            Some(id) => {
                self.meetings
                    .meeting_by_event(event.partner_id, ScheduleEventId::new(id))
                    .await?
            }
            None => None,
        };
        if kind == EventKind::MeetingLive
            && event.meta.format == "lifecycle"
            && let Some(id) = event_id
            && self.session_closed(id, account).await?
        {
            // Cancelled in Kaltura before its start: the timer must not turn the "ended"
            // message back into "live".
            tracing::debug!(
                session = id,
                "the session was cancelled or deleted; no live state"
            );
            return Ok(LifecycleRouting::Skip);
        }
        if kind == EventKind::MeetingScheduled && event.meta.format != "lifecycle" {
            if schedule_closed(&event.object) {
                self.on_schedule_event(event).await?;
                return Ok(LifecycleRouting::Skip);
            }
            if meeting
                .as_ref()
                .is_some_and(|m| m.starts_at <= self.clock.now_unix())
            {
                tracing::debug!(subject = ?event.subject, "change of a started meeting; its living message stays");
                return Ok(LifecycleRouting::Skip);
            }
        }
        Ok(
            match meeting
                .map(|m| m.guild)
                .or_else(|| tagged_guild(&event.object))
            {
                Some(guild) => LifecycleRouting::OnlyGuild(guild),
                None => LifecycleRouting::Everyone,
            },
        )
    }

    /// Whether Kaltura says the session was cancelled or deleted (or no longer exists).
    async fn session_closed(&self, id: i64, account: &KalturaAccount) -> Result<bool> {
        match account
            .client()
            .schedule_event()
            .get(ScheduleEventId::new(id))
            .await
        {
            Ok(session) => Ok(matches!(
                session.status,
                Some(ScheduleEventStatus::Cancelled | ScheduleEventStatus::Deleted)
            )),
            Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::ScheduleEventIdNotFound) => {
                Ok(true)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// An entry created from template entry `template` became ready: the record schedule
    /// events with that template get "recording ready".
    async fn recording_entry_ready(
        &self,
        event: &InboundEvent,
        template: &str,
        account: &KalturaAccount,
    ) -> Result<()> {
        let Ok(template) = EntryId::parse(template) else {
            return Ok(());
        };
        let mut request = ListScheduleEventsRequest::new(
            ScheduleEventFilter::new().template_entry_id_equal(template),
        );
        request.filter_object_type = RECORD_SCHEDULE_EVENT_FILTER.to_owned();
        request.pager = Some(Pager::new(RECORDING_SESSIONS));
        let sessions = account.client().send(request).await?;
        let now = self.clock.now_unix();
        for session in &sessions.objects {
            let queued = self
                .recording_ready(event.partner_id, session.id.get(), &event.object, now)
                .await?;
            tracing::debug!(session = %session.id, queued, "a meeting recording is ready");
        }
        Ok(())
    }

    async fn emit(&self, events: &[InboundEvent]) -> Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let answers = self.store.ingest_batch(events).await?;
        let new = answers
            .iter()
            .filter(|a| matches!(a, Ingested::New(_)))
            .count();
        tracing::debug!(
            emitted = events.len(),
            new,
            "meeting lifecycle states queued"
        );
        Ok(new)
    }
}

/// The `templateEntryId` of a recorded media entry: the schedule event's template entry it
/// was created from (see the module documentation).
pub fn recording_template_entry(entry: &Value) -> Option<&str> {
    entry
        .get("templateEntryId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 64)
}

/// The event for one state of a meeting.
pub fn lifecycle_event(
    partner: PartnerId,
    kind: EventKind,
    event_id: i64,
    object: Value,
    now: i64,
) -> InboundEvent {
    InboundEvent {
        partner_id: partner,
        dedup_key: format!("lifecycle:{kind}:{event_id}"),
        kind: Some(kind),
        subject: Some(event_id.to_string()),
        object,
        meta: NotificationMeta {
            format: "lifecycle".to_owned(),
            ..NotificationMeta::default()
        },
        received_at: now,
    }
}

/// A meeting as a Kaltura schedule event object (the fields templates read).
fn meeting_json(m: &MeetingRecord) -> Value {
    json!({
        "id": m.event_id.get(),
        "objectType": "KalturaRecordScheduleEvent",
        "partnerId": m.partner_id.get(),
        "summary": m.title,
        "description": m.description,
        "startDate": m.starts_at,
        "endDate": m.ends_at,
        "resourceId": m.resource_id.get(),
        "guildId": m.guild.to_string(),
    })
}

/// Whether a schedule event object is cancelled or deleted.
fn schedule_closed(object: &Value) -> bool {
    matches!(
        object.get("status").and_then(int_of),
        Some(SCHEDULE_CANCELLED | SCHEDULE_DELETED)
    )
}

/// The guild named by the `kaltura_discord_guild:` tag the bot puts on its events.
fn tagged_guild(object: &Value) -> Option<GuildId> {
    object
        .get("tags")
        .and_then(Value::as_str)?
        .split(',')
        .find_map(|t| t.trim().strip_prefix(GUILD_TAG_PREFIX)?.parse().ok())
}

fn int_of(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_events_are_keyed_per_kind_and_meeting() {
        let p = PartnerId::new(42);
        let e = lifecycle_event(p, EventKind::MeetingLive, 77, json!({}), 5);
        assert_eq!(e.dedup_key, "lifecycle:meeting_live:77");
        assert_eq!(e.subject.as_deref(), Some("77"));
        assert_eq!(e.kind, Some(EventKind::MeetingLive));
        assert_eq!(
            recording_template_entry(&json!({"templateEntryId": "0_tpl"})),
            Some("0_tpl")
        );
        assert_eq!(
            recording_template_entry(&json!({"templateEntryId": 5})),
            None
        );
        assert_eq!(int_of(&json!("1")), Some(1));
    }

    #[test]
    fn closed_schedule_events_and_guild_tags() {
        assert!(schedule_closed(&json!({"status": 1})));
        assert!(schedule_closed(&json!({"status": "3"})));
        assert!(!schedule_closed(&json!({"status": 2})));
        assert!(!schedule_closed(&json!({})));
        assert_eq!(
            tagged_guild(&json!({"tags": "vcprovider:newrow, kaltura_discord_guild:42,x"})),
            GuildId::new(42)
        );
        assert_eq!(
            tagged_guild(&json!({"tags": "kaltura_discord_guild:abc"})),
            None
        );
        assert_eq!(tagged_guild(&json!({"tags": 5})), None);
    }
}
