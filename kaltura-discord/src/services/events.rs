//! The Discord scheduled-event mirror of a guild's meetings (`meetings.discord_events`).
//!
//! After a meeting starts, [`ScheduledEvents::meeting_started`] creates a guild scheduled
//! event for it (an external event whose location is the public meeting page, never a join
//! link) and records the event's id with the meeting in the [`MeetingStore`]. After it ends,
//! [`ScheduledEvents::meeting_ended`] closes the recorded event: completed once the meeting
//! has started, cancelled before. Both are best effort: a failure is logged as a warning and
//! never fails the meeting. The command engine and the API gateway call them after a
//! successful start or end, so both front ends mirror meetings the same way.

use kaltura_client::clock::Clock;

use crate::GuildId;
use crate::config::GuildConfig;
use crate::context::{GuildContext, KalturaAccount};
use crate::rest::{DiscordRest, EventClosure, ScheduledEventSpec};
use crate::store::{MeetingRecord, MeetingStore};

/// Discord's limit on an external event's location, in characters.
const MAX_EVENT_LOCATION_CHARS: usize = 100;

/// Mirrors a guild's meetings as Discord guild scheduled events (best effort).
pub(crate) struct ScheduledEvents<'a> {
    rest: &'a dyn DiscordRest,
    store: &'a dyn MeetingStore,
    clock: &'a dyn Clock,
}

impl<'a> ScheduledEvents<'a> {
    /// A mirror calling Discord through `rest`, recording event ids in `store` and reading
    /// the time from `clock`.
    pub(crate) fn new(
        rest: &'a dyn DiscordRest,
        store: &'a dyn MeetingStore,
        clock: &'a dyn Clock,
    ) -> Self {
        ScheduledEvents { rest, store, clock }
    }

    /// Creates the guild scheduled event of a meeting just started and records its id, when
    /// the guild sets `meetings.discord_events`; does nothing otherwise.
    pub(crate) async fn meeting_started(&self, ctx: &GuildContext<'_>, meeting: &MeetingRecord) {
        if !ctx.config.meetings.discord_events {
            return;
        }
        let guild = ctx.guild;
        let Some(location) = public_page(ctx.config, ctx.account) else {
            tracing::warn!(guild = %guild, "no usable public meeting page for the scheduled event; not mirroring");
            return;
        };
        // Discord wants the start in the future and the end after it.
        let start_unix = meeting.starts_at.max(self.clock.now_unix() + 60);
        let spec = ScheduledEventSpec {
            name: crate::text::truncate_chars(&meeting.title, 100),
            description: meeting
                .description
                .as_deref()
                .map(|d| crate::text::truncate_chars(d, 1000)),
            location,
            start_unix,
            end_unix: meeting.ends_at.max(start_unix + 60),
        };
        match self.rest.create_scheduled_event(guild, &spec).await {
            Ok(event) => {
                if let Err(e) = self
                    .store
                    .set_discord_event(guild, meeting.partner_id, meeting.event_id, Some(event))
                    .await
                {
                    tracing::warn!(guild = %guild, meeting = %meeting.event_id, error = %e, "could not record the meeting's scheduled event");
                }
            }
            Err(e) => {
                tracing::warn!(guild = %guild, meeting = %meeting.event_id, error = %e, "could not create the meeting's scheduled event");
            }
        }
    }

    /// Closes the scheduled event of a meeting just ended, if one was recorded: completed
    /// when the meeting had started, cancelled otherwise.
    pub(crate) async fn meeting_ended(&self, guild: GuildId, meeting: &MeetingRecord) {
        let event = match self
            .store
            .discord_event(guild, meeting.partner_id, meeting.event_id)
            .await
        {
            Ok(Some(event)) => event,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(guild = %guild, meeting = %meeting.event_id, error = %e, "could not look up the meeting's scheduled event");
                return;
            }
        };
        let closure = if self.clock.now_unix() >= meeting.starts_at {
            EventClosure::Completed
        } else {
            EventClosure::Canceled
        };
        if let Err(e) = self.rest.close_scheduled_event(guild, event, closure).await {
            tracing::warn!(guild = %guild, meeting = %meeting.event_id, error = %e, "could not close the meeting's scheduled event");
        }
    }
}

/// The guild's public meeting page, without any KS: the root of its KAF host
/// (`kaltura.kaf_url`, or the partner's default KAF host), if it fits an event's location.
fn public_page(config: &GuildConfig, account: &KalturaAccount) -> Option<String> {
    let default = format!("https://{}.kaf.kaltura.com/", account.partner_id());
    let raw = config
        .kaltura
        .kaf_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or(default);
    let mut url = url::Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    url.set_username("").ok()?;
    url.set_password(None).ok()?;
    let text = url.to_string();
    (text.chars().count() <= MAX_EVENT_LOCATION_CHARS).then_some(text)
}
