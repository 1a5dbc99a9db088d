//! Kaltura events → Discord: verified webhooks, a durable outbox and delivery.
//!
//! The flow, each step durable before the next starts:
//!
//! 1. **Ingest** ([`event`], [`ingest`], the `http` feature's webhook router): Kaltura posts an
//!    HTTP notification to `/webhooks/kaltura/{partner_id}`. The signature is checked against
//!    the partner's admin secret *before* the body is parsed, the body (JSON, legacy
//!    `data=…` JSON or XML, or field templates) becomes an [`InboundEvent`], and the event is
//!    committed to the store (deduplicated on Kaltura's `eventNotificationJobId`). Only then
//!    does the receiver answer 200, which is the one status Kaltura counts as delivered.
//! 2. **Routing** ([`route`]): a router task claims received events, matches them against
//!    the guilds' routes (guild configuration and `/kaltura-admin notify subscribe`), checks
//!    the entry may be seen in the route's category, renders the message ([`render`]) and
//!    writes one [`NewDelivery`] per target channel, in one transaction with marking the event
//!    routed.
//! 3. **Delivery** ([`deliver`]): workers lease one channel at a time (so order per channel is
//!    kept and no two workers post to one channel at once), combine bursts into a digest, post
//!    through [`crate::rest::DiscordRest`] and record the outcome: delivered (with the message
//!    id), retried later (5xx, network, 429), or dead-lettered with the reason (unknown
//!    channel, missing access).
//!
//! Meetings get one living message each ([`lifecycle`]): scheduled → live → ended → recording
//! ready, edited in place. [`setup`] creates the HTTP notification templates in Kaltura;
//! [`backfill`] lists what changed while the receiver was down.
//!
//! Everything is behind traits ([`NotificationStore`], [`crate::rest::DiscordRest`]) so a host
//! bot can replace the storage or the Discord client.

pub mod backfill;
pub mod deliver;
pub mod event;
pub mod ingest;
pub mod lifecycle;
pub mod metrics;
pub mod render;
pub mod route;
pub mod setup;
pub mod signature;
pub(crate) mod store;

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use event::{InboundEvent, NotificationMeta, PayloadError};
pub use signature::{HashAlgorithm, SignatureError};
pub use store::{
    ChannelLease, Delivery, DeliveryId, DeliveryOutcome, DeliveryRecord, DeliveryStatus, EventId,
    Ingested, NewDelivery, NotificationStore, ORDER_HOLD_ATTEMPTS, OutboxStats, RouteFilters,
    RouteResult, RoutedEvent, StoredEvent, Subscription, SubscriptionId, WorkerId,
};

/// A kind of Kaltura event that can be announced in Discord.
///
/// The names (`entry_ready`, …) are the ones used in configuration, in
/// `/kaltura-admin notify subscribe`'s choices and in storage.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A media entry finished processing and can be played (status became READY).
    EntryReady,
    /// A media entry was added to a category.
    EntryAddedToCategory,
    /// A media entry's metadata changed (name, description, tags, …).
    EntryChanged,
    /// Captions (a REACH task or a caption asset) became ready.
    CaptionsReady,
    /// A meeting was scheduled.
    MeetingScheduled,
    /// A meeting started (its start time came, or Kaltura marked it live).
    MeetingLive,
    /// A meeting ended.
    MeetingEnded,
    /// A meeting's recording is ready to watch.
    RecordingReady,
}

impl EventKind {
    /// Every kind, in the order commands list them.
    pub const ALL: [EventKind; 8] = [
        EventKind::EntryReady,
        EventKind::EntryAddedToCategory,
        EventKind::EntryChanged,
        EventKind::CaptionsReady,
        EventKind::MeetingScheduled,
        EventKind::MeetingLive,
        EventKind::MeetingEnded,
        EventKind::RecordingReady,
    ];

    /// The snake_case name (`entry_ready`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::EntryReady => "entry_ready",
            EventKind::EntryAddedToCategory => "entry_added_to_category",
            EventKind::EntryChanged => "entry_changed",
            EventKind::CaptionsReady => "captions_ready",
            EventKind::MeetingScheduled => "meeting_scheduled",
            EventKind::MeetingLive => "meeting_live",
            EventKind::MeetingEnded => "meeting_ended",
            EventKind::RecordingReady => "recording_ready",
        }
    }

    /// Parses [`EventKind::as_str`]'s names.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the kind belongs to a meeting's one living message.
    pub fn is_meeting(self) -> bool {
        matches!(
            self,
            EventKind::MeetingScheduled
                | EventKind::MeetingLive
                | EventKind::MeetingEnded
                | EventKind::RecordingReady
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_match_the_command_choices() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, crate::commands::definition::NOTIFY_EVENTS);
        assert_eq!(EventKind::parse("entry_deleted"), None);
    }
}
