//! Kaltura Meetings from Discord: start, list, join and end a guild's meetings.
//!
//! A meeting is the documented Kaltura Meetings trio, created with the guild's ADMIN client:
//!
//! 1. a room — `scheduleResource.add` of a `KalturaLocationScheduleResource` tagged
//!    `vcprovider:newrow` and `kaltura_discord_guild:{guildId}`;
//! 2. a session — `scheduleEvent.add` of a `KalturaRecordScheduleEvent` from the start to the
//!    end time, whose tags carry the guild tag, the meeting type and the room settings
//!    (`custom_rs_class_mode:…`, `custom_rec_auto_start:0|1`; see [`room_settings`]);
//! 3. the link — `scheduleEventResource.add(eventId, resourceId)`.
//!
//! The meeting is then recorded in the [`MeetingStore`] under the guild, with the Kaltura
//! event id as its id. Every later call looks the meeting up by guild, partner and event id
//! first, so a guild can only see, join and end its own meetings: another guild's event id is
//! [`Error::NotFound`], exactly like an id that does not exist.
//!
//! Join links are not stored: each member gets their own, made on demand — a USER KS signed
//! locally with the partner's admin secret, carrying `eventId:{id}`, `role`,
//! `userContextualRole` and the member's first and last name, appended to the KAF launch URL
//! (see [`kaltura_client::meetings_join::MeetingJoin`]). Members who may
//! [`Permission::HostMeeting`] join as instructors, everyone else as attendees.
//!
//! Every operation checks the guild's `features.meetings` switch and RBAC policy first, and
//! starting and ending are written to the audit log.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kaltura_discord::context::GuildContext;
//! use kaltura_discord::meetings::{MeetingMember, MeetingService, StartMeeting};
//! use kaltura_discord::rbac::Subject;
//! use kaltura_discord::store::SqlStore;
//!
//! # async fn run(store: SqlStore, ctx: GuildContext<'_>, host: Subject) -> kaltura_discord::Result<()> {
//! let store = Arc::new(store);
//! let meetings = MeetingService::new(store.clone(), store);
//! let meeting = meetings.start(&ctx, &host, StartMeeting::new("Weekly sync")).await?;
//! let link = meetings
//!     .join_url(&ctx, &host, &MeetingMember::new("discord_42", "Ada Lovelace"), meeting.event_id)
//!     .await?;
//! // Send `link.url.expose_url()` to the member privately (an ephemeral reply).
//! meetings.end(&ctx, &host, meeting.event_id).await?;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::ks::OsRandom;
use kaltura_client::meetings_join::{JoinUrl, MeetingJoin, MeetingRole, MeetingTarget};
use kaltura_client::types::schedule::{
    ClassMode, RoomSettings, ScheduleEventFilter, ScheduleEventStatus, VCPROVIDER_NEWROW_TAG,
};
use kaltura_client::{ScheduleEventId, ScheduleResourceId, UserId};
use serde_json::json;

use crate::config::MeetingType;
use crate::context::{Feature, GuildContext};
use crate::error::{ConflictReason, Resource};
use crate::identity::validate_kaltura_user_id;
use crate::ids::GuildId;
use crate::rbac::{Permission, Subject, authorize};
use crate::store::{
    AuditAction, AuditLog, MeetingRecord, MeetingStatus, MeetingStore, NewAuditEntry,
};
use crate::text::{MultiLine, SingleLine};
use crate::{Error, Result};

/// Shortest meeting, in minutes.
pub const MIN_DURATION_MINUTES: u32 = 5;
/// Longest meeting, in minutes (one day).
pub const MAX_DURATION_MINUTES: u32 = 1440;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 256;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// How far in the past a start time may lie (clock skew, slow typing), in seconds.
pub const MAX_START_IN_PAST_SECS: i64 = 300;
/// How far ahead a meeting may be scheduled, in seconds (one year).
pub const MAX_START_AHEAD_SECS: i64 = 366 * 86_400;
/// Tag prefix naming the owning guild on the Kaltura room and event.
pub const GUILD_TAG_PREFIX: &str = "kaltura_discord_guild:";
/// Tag prefix naming the meeting type on the Kaltura event.
pub const TYPE_TAG_PREFIX: &str = "kaltura_discord_type:";

/// What to start. Unset fields take the guild's defaults (`meetings.*` in its configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartMeeting {
    /// The title: 1 to [`MAX_TITLE_CHARS`] characters after trimming, no control characters.
    pub title: String,
    /// An optional description, at most [`MAX_DESCRIPTION_CHARS`] characters.
    pub description: Option<String>,
    /// The room type (default `meetings.default_type`).
    pub kind: Option<MeetingType>,
    /// The length in minutes, [`MIN_DURATION_MINUTES`] to [`MAX_DURATION_MINUTES`] (default
    /// `meetings.default_duration_minutes`).
    pub duration_minutes: Option<u32>,
    /// The start (unix seconds; default now). At most [`MAX_START_IN_PAST_SECS`] in the past
    /// and [`MAX_START_AHEAD_SECS`] ahead.
    pub starts_at: Option<i64>,
}

impl StartMeeting {
    /// A meeting titled `title`, everything else from the guild's defaults.
    pub fn new(title: impl Into<String>) -> Self {
        StartMeeting {
            title: title.into(),
            ..Self::default()
        }
    }

    /// With a description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// With a room type.
    #[must_use]
    pub fn kind(mut self, kind: MeetingType) -> Self {
        self.kind = Some(kind);
        self
    }

    /// With a length in minutes.
    #[must_use]
    pub fn duration_minutes(mut self, minutes: u32) -> Self {
        self.duration_minutes = Some(minutes);
        self
    }

    /// Starting at `unix` seconds.
    #[must_use]
    pub fn starts_at(mut self, unix: i64) -> Self {
        self.starts_at = Some(unix);
        self
    }
}

/// The member a join link is for: their Kaltura user id (from
/// [`crate::identity::IdentityService::resolve`]) and the name shown in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingMember {
    /// The Kaltura user the member acts as.
    pub kaltura_user: UserId,
    /// Their display name; the first word becomes the first name, the rest the last name.
    pub display_name: String,
}

impl MeetingMember {
    /// A member acting as `kaltura_user`, shown as `display_name`.
    pub fn new(kaltura_user: impl Into<UserId>, display_name: impl Into<String>) -> Self {
        MeetingMember {
            kaltura_user: kaltura_user.into(),
            display_name: display_name.into(),
        }
    }
}

/// A signed, personal join link. Its `Debug` output hides the link (it grants entry).
#[derive(Debug, Clone)]
pub struct JoinLink {
    /// The link; hand it to the member privately.
    pub url: JoinUrl,
    /// The role the member has in the room.
    pub role: MeetingRole,
    /// When the link stops working (unix seconds).
    pub expires_at: i64,
}

/// Starts, lists, joins and ends a guild's Kaltura Meetings, with RBAC and audit.
#[derive(Clone)]
pub struct MeetingService {
    store: Arc<dyn MeetingStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MeetingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MeetingService")
    }
}

/// A validated [`StartMeeting`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct MeetingPlan {
    title: String,
    description: Option<String>,
    kind: MeetingType,
    starts_at: i64,
    ends_at: i64,
}

/// The rule for meeting titles.
const TITLE: SingleLine = SingleLine {
    field: "title",
    noun: "a meeting title",
    max_chars: MAX_TITLE_CHARS,
    empty: "a meeting needs a title",
};

/// The rule for meeting descriptions.
const DESCRIPTION: MultiLine = MultiLine {
    field: "description",
    noun: "a meeting description",
    max_chars: MAX_DESCRIPTION_CHARS,
};

/// Checks a meeting title: trimmed, 1..=[`MAX_TITLE_CHARS`] characters, no control
/// characters. Returns the trimmed title.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `title`) for a blank, too long or control-character title.
pub(crate) fn validate_title(raw: &str) -> Result<String> {
    TITLE.check(raw)
}

/// Checks a meeting description: at most [`MAX_DESCRIPTION_CHARS`] characters; line breaks
/// and tabs are allowed, other control characters are not. Blank becomes `None`.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `description`) for a too long description or one with
/// control characters other than line breaks and tabs.
pub(crate) fn validate_description(raw: Option<&str>) -> Result<Option<String>> {
    DESCRIPTION.check(raw)
}

/// Checks a meeting length: [`MIN_DURATION_MINUTES`]..=[`MAX_DURATION_MINUTES`].
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `duration_minutes`) outside that range.
pub(crate) fn validate_duration(minutes: u32) -> Result<u32> {
    if (MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(Error::invalid_input(
            "duration_minutes",
            format!(
                "a meeting lasts {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes, got {minutes}"
            ),
        ))
    }
}

/// The tag naming the owning guild: `kaltura_discord_guild:{id}`.
pub fn guild_tag(guild: GuildId) -> String {
    format!("{GUILD_TAG_PREFIX}{guild}")
}

/// The tags of a meeting's room resource: `vcprovider:newrow,kaltura_discord_guild:{id}`.
pub(crate) fn room_tags(guild: GuildId) -> String {
    format!("{VCPROVIDER_NEWROW_TAG},{}", guild_tag(guild))
}

/// The Kaltura Meetings room settings for a meeting type.
///
/// Kaltura documents two class modes, `webinar` and `virtual_classroom`:
///
/// * [`MeetingType::Webinar`] → `custom_rs_class_mode:webinar` (presenters talk to an
///   audience);
/// * [`MeetingType::VirtualClassroom`] → `custom_rs_class_mode:virtual_classroom`;
/// * [`MeetingType::MeetingRoom`] has no class mode of its own. The closest documented
///   setting is `virtual_classroom` — the mode in which every participant may speak and
///   share — so a meeting room uses it, together with `custom_rs_show_participant:1` and
///   `custom_rs_show_chat:1` (an open room where everyone sees each other and chats). The
///   type itself is kept in our store and in the event's `kaltura_discord_type:` tag.
///
/// `auto_record` becomes `custom_rec_auto_start:1` or `:0`.
pub fn room_settings(kind: MeetingType, auto_record: bool) -> RoomSettings {
    let settings = RoomSettings::new().auto_record(auto_record);
    match kind {
        MeetingType::Webinar => settings.class_mode(ClassMode::Webinar),
        MeetingType::VirtualClassroom => settings.class_mode(ClassMode::VirtualClassroom),
        MeetingType::MeetingRoom => settings
            .class_mode(ClassMode::VirtualClassroom)
            .show_participants(true)
            .show_chat(true),
    }
}

/// The full tag string of a meeting's schedule event: the guild tag, the type tag and the
/// room settings, e.g.
/// `kaltura_discord_guild:1,kaltura_discord_type:webinar,custom_rs_class_mode:webinar,custom_rec_auto_start:1`.
pub(crate) fn event_tags(guild: GuildId, kind: MeetingType, auto_record: bool) -> String {
    let base = format!("{},{TYPE_TAG_PREFIX}{}", guild_tag(guild), kind.as_str());
    room_settings(kind, auto_record).merge_into_tags(&base)
}

/// Splits a display name into first and last name at the first whitespace (a single word
/// is a first name only). Blank parts are `None`.
pub(crate) fn split_display_name(display_name: &str) -> (Option<String>, Option<String>) {
    let mut words = display_name.split_whitespace();
    let first = words.next().map(str::to_owned);
    let rest: Vec<&str> = words.collect();
    let last = (!rest.is_empty()).then(|| rest.join(" "));
    (first, last)
}

fn plan(ctx: &GuildContext<'_>, request: &StartMeeting, now: i64) -> Result<MeetingPlan> {
    let defaults = &ctx.config.meetings;
    let title = validate_title(&request.title)?;
    let description = validate_description(request.description.as_deref())?;
    let minutes = validate_duration(
        request
            .duration_minutes
            .unwrap_or(defaults.default_duration_minutes),
    )?;
    let starts_at = request.starts_at.unwrap_or(now);
    if starts_at < now - MAX_START_IN_PAST_SECS {
        return Err(Error::invalid_input(
            "starts_at",
            "a meeting cannot start in the past",
        ));
    }
    if starts_at > now + MAX_START_AHEAD_SECS {
        return Err(Error::invalid_input(
            "starts_at",
            "a meeting can be scheduled at most one year ahead",
        ));
    }
    Ok(MeetingPlan {
        title,
        description,
        kind: request.kind.unwrap_or(defaults.default_type),
        starts_at,
        ends_at: starts_at + i64::from(minutes) * 60,
    })
}

fn not_found(event_id: ScheduleEventId) -> Error {
    Error::not_found(Resource::Meeting, event_id)
}

impl MeetingService {
    /// A service over a meeting store and an audit log, using the system clock.
    pub fn new(store: Arc<dyn MeetingStore>, audit: Arc<dyn AuditLog>) -> Self {
        MeetingService {
            store,
            audit,
            clock: Arc::new(SystemClock),
        }
    }

    /// With another clock (for tests: start times, "upcoming" and link expiry follow it).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// The Discord scheduled-event mirror of this service's meetings: its store and clock,
    /// calling Discord through `rest`.
    pub(crate) fn scheduled_events<'a>(
        &'a self,
        rest: &'a dyn crate::rest::DiscordRest,
    ) -> super::events::ScheduledEvents<'a> {
        super::events::ScheduledEvents::new(rest, &*self.store, &*self.clock)
    }

    /// Starts (schedules) a meeting: creates the Kaltura room, session and link, records the
    /// meeting for the guild and audits it ([`AuditAction::MeetingStarted`]).
    ///
    /// Needs [`Permission::StartMeeting`]. If a Kaltura step fails, the objects made so far
    /// are deleted again (best effort). An audit-log failure after the meeting exists is
    /// logged and does not undo it.
    ///
    /// ```no_run
    /// # use kaltura_discord::context::GuildContext;
    /// # use kaltura_discord::meetings::{MeetingService, StartMeeting};
    /// # use kaltura_discord::config::MeetingType;
    /// # use kaltura_discord::rbac::Subject;
    /// # async fn run(meetings: MeetingService, ctx: GuildContext<'_>, host: Subject) -> kaltura_discord::Result<()> {
    /// let meeting = meetings
    ///     .start(
    ///         &ctx,
    ///         &host,
    ///         StartMeeting::new("Office hours")
    ///             .kind(MeetingType::VirtualClassroom)
    ///             .duration_minutes(60),
    ///     )
    ///     .await?;
    /// println!("meeting {} starts at {}", meeting.event_id, meeting.starts_at);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::FeatureDisabled`], [`Error::Denied`], [`Error::InvalidInput`] (title,
    /// description, duration, start time), [`Error::Kaltura`], [`Error::Store`].
    #[tracing::instrument(name = "meetings.start", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn start(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        request: StartMeeting,
    ) -> Result<MeetingRecord> {
        ctx.require(Feature::Meetings)?;
        ctx.authorize(subject, Permission::StartMeeting)?;
        let now = self.now();
        let plan = plan(ctx, &request, now)?;
        let client = ctx.account.client();
        let auto_record = ctx.config.meetings.auto_record;

        let mut room = client
            .schedule_resource()
            .add(plan.title.clone())
            .tags(room_tags(ctx.guild));
        if let Some(description) = &plan.description {
            room = room.description(description.clone());
        }
        let room = room.send().await?;

        let mut event = client
            .schedule_event()
            .add(plan.title.clone(), plan.starts_at, plan.ends_at)
            .tags(event_tags(ctx.guild, plan.kind, auto_record));
        if let Some(description) = &plan.description {
            event = event.description(description.clone());
        }
        let event = match event.send().await {
            Ok(event) => event,
            Err(e) => {
                self.cleanup(ctx, None, Some(room.id)).await;
                return Err(e.into());
            }
        };
        if let Err(e) = client
            .schedule_event_resource()
            .add(event.id, room.id)
            .await
        {
            self.cleanup(ctx, Some(event.id), Some(room.id)).await;
            return Err(e.into());
        }

        let meeting = MeetingRecord {
            guild: ctx.guild,
            partner_id: ctx.account.partner_id(),
            event_id: event.id,
            resource_id: room.id,
            title: plan.title,
            description: plan.description,
            kind: plan.kind,
            starts_at: plan.starts_at,
            ends_at: plan.ends_at,
            created_by: subject.user,
            created_at: now,
            status: MeetingStatus::Scheduled,
            ended_at: None,
            ended_by: None,
        };
        if let Err(e) = self.store.insert_meeting(&meeting).await {
            self.cleanup(ctx, Some(event.id), Some(room.id)).await;
            return Err(e);
        }
        self.audit_quietly(NewAuditEntry {
            guild: ctx.guild,
            actor: Some(subject.user),
            action: AuditAction::MeetingStarted,
            detail: json!({
                "event_id": meeting.event_id.get(),
                "resource_id": meeting.resource_id.get(),
                "title": meeting.title,
                "kind": meeting.kind.as_str(),
                "starts_at": meeting.starts_at,
                "ends_at": meeting.ends_at,
            }),
        })
        .await;
        Ok(meeting)
    }

    /// Deletes Kaltura objects of a meeting that could not be completed (best effort).
    async fn cleanup(
        &self,
        ctx: &GuildContext<'_>,
        event: Option<ScheduleEventId>,
        resource: Option<ScheduleResourceId>,
    ) {
        let client = ctx.account.client();
        if let Some(event) = event
            && let Err(e) = client.schedule_event().delete(event).await
        {
            tracing::warn!(guild = %ctx.guild, event = %event, error = %e, "could not delete the schedule event of a failed meeting start");
        }
        if let Some(resource) = resource
            && let Err(e) = client.schedule_resource().delete(resource).await
        {
            tracing::warn!(guild = %ctx.guild, resource = %resource, error = %e, "could not delete the room of a failed meeting start");
        }
    }

    async fn audit_quietly(&self, entry: NewAuditEntry) {
        let (guild, action) = (entry.guild, entry.action);
        if let Err(e) = self.audit.append(entry).await {
            tracing::error!(guild = %guild, action = %action, error = %e, "could not write the audit log");
        }
    }

    /// The guild's meetings that have not been ended and whose end time is still ahead
    /// (running and upcoming), soonest start first. Read from the store; no Kaltura call.
    ///
    /// Needs [`Permission::ListMeetings`].
    ///
    /// # Errors
    ///
    /// [`Error::FeatureDisabled`], [`Error::Denied`], [`Error::Store`].
    #[tracing::instrument(name = "meetings.list", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn list(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
    ) -> Result<Vec<MeetingRecord>> {
        ctx.require(Feature::Meetings)?;
        ctx.authorize(subject, Permission::ListMeetings)?;
        let open = self
            .store
            .list_open_meetings(ctx.guild, ctx.account.partner_id(), self.now())
            .await?;
        Ok(self.still_active_in_kaltura(ctx, open).await)
    }

    /// Drops meetings whose schedule event was cancelled or deleted in Kaltura itself (for
    /// example in the admin console). One `scheduleEvent.list` call; if it fails, the store's
    /// view is returned as it is and the failure is logged.
    async fn still_active_in_kaltura(
        &self,
        ctx: &GuildContext<'_>,
        open: Vec<MeetingRecord>,
    ) -> Vec<MeetingRecord> {
        if open.is_empty() {
            return open;
        }
        let ids: Vec<ScheduleEventId> = open.iter().map(|m| m.event_id).collect();
        let mut active = std::collections::HashSet::new();
        for chunk in ids.chunks(kaltura_client::types::common::MAX_PAGE_SIZE as usize) {
            let listed = ctx
                .account
                .client()
                .schedule_event()
                .list()
                .filter(ScheduleEventFilter::new().id_in(chunk.to_vec()))
                .page_size(chunk.len() as u32)
                .send()
                .await;
            match listed {
                Ok(page) => active.extend(
                    page.objects
                        .iter()
                        .filter(|e| e.status.is_none_or(|s| s == ScheduleEventStatus::Active))
                        .map(|e| e.id),
                ),
                Err(e) => {
                    tracing::warn!(guild = %ctx.guild, error = %e, "could not check the meetings against Kaltura; listing them as stored");
                    return open;
                }
            }
        }
        open.into_iter()
            .filter(|m| active.contains(&m.event_id))
            .collect()
    }

    /// One of the guild's meetings, ended or not.
    ///
    /// Needs [`Permission::ListMeetings`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the guild has no meeting with this id (including another
    /// guild's meetings), [`Error::FeatureDisabled`], [`Error::Denied`], [`Error::Store`].
    #[tracing::instrument(name = "meetings.get", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn get(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        meeting_id: ScheduleEventId,
    ) -> Result<MeetingRecord> {
        ctx.require(Feature::Meetings)?;
        ctx.authorize(subject, Permission::ListMeetings)?;
        self.find(ctx, meeting_id).await
    }

    async fn find(
        &self,
        ctx: &GuildContext<'_>,
        meeting_id: ScheduleEventId,
    ) -> Result<MeetingRecord> {
        self.store
            .find_meeting(ctx.guild, ctx.account.partner_id(), meeting_id)
            .await?
            .ok_or_else(|| not_found(meeting_id))
    }

    /// Ends a meeting for a member, as the End button and the gateway do: allowed with
    /// [`Permission::EndMeeting`], or for the meeting's host (its creator) while the guild's
    /// current policy still lets them [`Permission::StartMeeting`] (deny rules on
    /// `end_meeting` still refuse them).
    ///
    /// # Errors
    ///
    /// As [`MeetingService::end`]; [`Error::Denied`] (naming `end_meeting`) for a member who
    /// is neither allowed nor the host.
    pub async fn end_as_member(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        meeting_id: ScheduleEventId,
    ) -> Result<MeetingRecord> {
        ctx.require(Feature::Meetings)?;
        let policy = &ctx.config.rbac;
        let decision = authorize(policy, subject, Permission::EndMeeting);
        if decision.allowed {
            return self.end(ctx, subject, meeting_id).await;
        }
        let record = self
            .store
            .find_meeting(ctx.guild, ctx.account.partner_id(), meeting_id)
            .await?;
        let is_host = record.is_some_and(|m| m.created_by == subject.user);
        if !(is_host && authorize(policy, subject, Permission::StartMeeting).allowed) {
            decision.into_result(Permission::EndMeeting)?;
        }
        let mut config = ctx.config.clone();
        config
            .rbac
            .users
            .entry(subject.user)
            .or_default()
            .permissions
            .insert(Permission::EndMeeting);
        let host_ctx = GuildContext::new(ctx.guild, &config, ctx.account);
        self.end(&host_ctx, subject, meeting_id).await
    }

    /// Ends a meeting: cancels its Kaltura schedule event (`scheduleEvent.cancel`; an event
    /// already deleted in Kaltura is fine), marks it ended in the store and audits it
    /// ([`AuditAction::MeetingEnded`]). The room resource is kept, with its recordings.
    ///
    /// Ending is **not** idempotent: ending a meeting that is already ended is
    /// [`Error::Conflict`], so a second "end" click says so instead of pretending to work.
    ///
    /// Needs [`Permission::EndMeeting`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Conflict`], [`Error::FeatureDisabled`],
    /// [`Error::Denied`], [`Error::Kaltura`] (the meeting stays open), [`Error::Store`].
    #[tracing::instrument(name = "meetings.end", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn end(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        meeting_id: ScheduleEventId,
    ) -> Result<MeetingRecord> {
        ctx.require(Feature::Meetings)?;
        ctx.authorize(subject, Permission::EndMeeting)?;
        let mut meeting = self.find(ctx, meeting_id).await?;
        if meeting.status == MeetingStatus::Ended {
            return Err(already_ended(meeting_id));
        }
        match ctx
            .account
            .client()
            .schedule_event()
            .cancel(meeting_id)
            .await
        {
            Ok(_) => {}
            Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::ScheduleEventIdNotFound) => {
                tracing::info!(guild = %ctx.guild, event = %meeting_id, "the meeting's schedule event is already gone in Kaltura");
            }
            Err(e) => return Err(e.into()),
        }
        let now = self.now();
        let ended = self
            .store
            .mark_meeting_ended(
                ctx.guild,
                ctx.account.partner_id(),
                meeting_id,
                subject.user,
                now,
            )
            .await?;
        if !ended {
            return Err(already_ended(meeting_id));
        }
        meeting.status = MeetingStatus::Ended;
        meeting.ended_at = Some(now);
        meeting.ended_by = Some(subject.user);
        self.audit_quietly(NewAuditEntry {
            guild: ctx.guild,
            actor: Some(subject.user),
            action: AuditAction::MeetingEnded,
            detail: json!({
                "event_id": meeting.event_id.get(),
                "resource_id": meeting.resource_id.get(),
                "title": meeting.title,
            }),
        })
        .await;
        Ok(meeting)
    }

    /// A personal join link to one of the guild's meetings.
    ///
    /// Needs [`Permission::JoinMeeting`]. Members who are also granted
    /// [`Permission::HostMeeting`] join as [`MeetingRole::Instructor`]
    /// (`role:adminRole`, `userContextualRole:0`), others as [`MeetingRole::Attendee`]
    /// (`role:viewerRole`, `userContextualRole:3`). The host decision uses [`authorize`], so
    /// it agrees with [`crate::rbac::effective_role`] for role-based grants and also honours
    /// explicit `host_meeting` grants and deny rules. The link works for
    /// `meetings.join_link_expiry_minutes` (5–1440) and opens `kaltura.kaf_url` when the
    /// guild sets one (`https://{partnerId}.kaf.kaltura.com` otherwise).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Conflict`] if the meeting was ended or is over,
    /// [`Error::InvalidInput`] for a malformed Kaltura user id, [`Error::FeatureDisabled`],
    /// [`Error::Denied`], [`Error::Kaltura`] (an invalid KAF URL), [`Error::Store`].
    #[tracing::instrument(name = "meetings.join_url", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn join_url(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        member: &MeetingMember,
        meeting_id: ScheduleEventId,
    ) -> Result<JoinLink> {
        ctx.require(Feature::Meetings)?;
        ctx.authorize(subject, Permission::JoinMeeting)?;
        let user = validate_kaltura_user_id(member.kaltura_user.as_str())?;
        let meeting = self.find(ctx, meeting_id).await?;
        let now = self.now();
        if meeting.status == MeetingStatus::Ended {
            return Err(Error::conflict(
                Resource::Meeting,
                meeting_id,
                ConflictReason::MeetingEnded,
            ));
        }
        if meeting.ends_at <= now {
            return Err(Error::conflict(
                Resource::Meeting,
                meeting_id,
                ConflictReason::MeetingOver,
            ));
        }
        let role = if authorize(&ctx.config.rbac, subject, Permission::HostMeeting).allowed {
            MeetingRole::Instructor
        } else {
            MeetingRole::Attendee
        };
        let minutes = ctx
            .config
            .meetings
            .join_link_expiry_minutes
            .clamp(MIN_DURATION_MINUTES, MAX_DURATION_MINUTES);
        let expiry = Duration::from_secs(u64::from(minutes) * 60);
        let mut join = MeetingJoin::new(
            ctx.account.partner_id(),
            MeetingTarget::Event(meeting.event_id),
            user.as_str(),
        )
        .role(role)
        .expiry(expiry);
        let (first, last) = split_display_name(&member.display_name);
        if let Some(first) = first {
            join = join.first_name(&first);
        }
        if let Some(last) = last {
            join = join.last_name(&last);
        }
        if let Some(kaf) = ctx
            .config
            .kaltura
            .kaf_url
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            join = join.kaf_url(kaf);
        }
        let ks = ctx.account.signer().sign_with(
            &join.ks_builder()?,
            self.clock.as_ref(),
            &mut OsRandom,
        )?;
        let url = join.render(ks)?;
        Ok(JoinLink {
            url,
            role,
            expires_at: now + i64::from(minutes) * 60,
        })
    }
}

fn already_ended(meeting_id: ScheduleEventId) -> Error {
    Error::conflict(Resource::Meeting, meeting_id, ConflictReason::AlreadyEnded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guild() -> GuildId {
        GuildId::new(613_425_648_685_547_541).unwrap()
    }

    #[test]
    fn titles_are_trimmed_bounded_and_printable() {
        assert_eq!(validate_title("  Weekly sync ").unwrap(), "Weekly sync");
        assert_eq!(
            validate_title(&"é".repeat(256)).unwrap().chars().count(),
            256
        );
        for bad in ["", "   ", "a\nb", "bell\u{7}", &"x".repeat(257)] {
            assert!(
                matches!(validate_title(bad), Err(Error::InvalidInput { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn descriptions_allow_line_breaks_but_not_other_controls() {
        assert_eq!(validate_description(None).unwrap(), None);
        assert_eq!(validate_description(Some("  ")).unwrap(), None);
        assert_eq!(
            validate_description(Some("line 1\nline 2\t!")).unwrap(),
            Some("line 1\nline 2\t!".into())
        );
        assert!(validate_description(Some("esc\u{1b}[31m")).is_err());
        assert!(validate_description(Some(&"d".repeat(2000))).is_ok());
        assert!(validate_description(Some(&"d".repeat(2001))).is_err());
    }

    #[test]
    fn durations_are_bounded() {
        assert!(validate_duration(4).is_err());
        assert_eq!(validate_duration(5).unwrap(), 5);
        assert_eq!(validate_duration(1440).unwrap(), 1440);
        assert!(validate_duration(1441).is_err());
        assert!(validate_duration(0).is_err());
    }

    #[test]
    fn tags_name_the_guild_type_and_room_settings() {
        assert_eq!(
            room_tags(guild()),
            "vcprovider:newrow,kaltura_discord_guild:613425648685547541"
        );
        assert_eq!(
            event_tags(guild(), MeetingType::Webinar, true),
            "kaltura_discord_guild:613425648685547541,kaltura_discord_type:webinar,custom_rs_class_mode:webinar,custom_rec_auto_start:1"
        );
        assert_eq!(
            event_tags(guild(), MeetingType::VirtualClassroom, false),
            "kaltura_discord_guild:613425648685547541,kaltura_discord_type:virtual_classroom,custom_rs_class_mode:virtual_classroom,custom_rec_auto_start:0"
        );
        assert_eq!(
            event_tags(guild(), MeetingType::MeetingRoom, false),
            "kaltura_discord_guild:613425648685547541,kaltura_discord_type:meeting_room,custom_rs_class_mode:virtual_classroom,custom_rec_auto_start:0,custom_rs_show_chat:1,custom_rs_show_participant:1"
        );
    }

    #[test]
    fn display_names_split_into_first_and_last() {
        assert_eq!(
            split_display_name(" Ada  King Lovelace "),
            (Some("Ada".into()), Some("King Lovelace".into()))
        );
        assert_eq!(split_display_name("Ada"), (Some("Ada".into()), None));
        assert_eq!(split_display_name("  "), (None, None));
    }
}
