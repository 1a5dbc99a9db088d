//! The notification store contract: received events (deduplicated), subscriptions, and the
//! outbox of deliveries with per-channel leases.
//!
//! `SqlStore` implements it on SQLite (the default) and PostgreSQL; a host bot can bring its
//! own. Times are unix seconds.

use std::fmt;

use async_trait::async_trait;
use kaltura_client::PartnerId;
use serde::{Deserialize, Serialize};

use super::{EventKind, InboundEvent};
use crate::Result;
use crate::commands::Reply;
use crate::ids::{ChannelId, DiscordUserId, GuildId, MessageId, RoleId};
use crate::rest::WebhookUrl;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

row_id!(
    /// A received event's row id.
    EventId
);
row_id!(
    /// An outbox delivery's row id (shown to admins by `notify history`, used by `notify replay`).
    DeliveryId
);
row_id!(
    /// A subscription's row id.
    SubscriptionId
);

/// Who holds a lease: one delivery or routing worker (process id, host and a random part, so
/// two processes never share one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkerId(pub String);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The answer to [`NotificationStore::ingest_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Committed now.
    New(EventId),
    /// Already received (same partner and dedup key): acknowledge, do not queue again.
    Duplicate(EventId),
}

/// A received event with its row id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The row id.
    pub id: EventId,
    /// The event.
    pub event: InboundEvent,
}

/// Which entries a route announces; every set filter must match. Empty lists match all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RouteFilters {
    /// Kaltura category ids: the entry must be in one of them (and published there).
    pub category_ids: Vec<i64>,
    /// Tags: the entry must have one of them (case-insensitive).
    pub tags: Vec<String>,
    /// Kaltura user id of the owner.
    pub owner: Option<String>,
    /// Kaltura media types (VIDEO=1, IMAGE=2, AUDIO=5).
    pub media_types: Vec<i64>,
    /// Minimum duration in seconds.
    pub min_duration_secs: Option<u32>,
    /// Announce entries that are not published to the route's categories or are restricted
    /// by entitlement. Off by default: a route never leaks an entry the guild may not see.
    pub include_restricted: bool,
}

/// A route stored by `/kaltura-admin notify subscribe` (configuration routes live in the
/// guild configuration and are not stored here).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The row id (`None` before it is stored).
    pub id: Option<SubscriptionId>,
    /// The guild.
    pub guild: GuildId,
    /// The Kaltura partner whose events it follows (the guild's partner).
    pub partner_id: PartnerId,
    /// The event kind.
    pub kind: EventKind,
    /// The channel to post into.
    pub channel: ChannelId,
    /// Post through this channel webhook instead of as the bot.
    pub webhook: Option<WebhookUrl>,
    /// Roles to ping (in the message content, listed in `allowed_mentions`).
    pub mention_roles: Vec<RoleId>,
    /// Template name (from the guild configuration); the built-in one when `None`.
    pub template: Option<String>,
    /// Filters.
    pub filters: RouteFilters,
    /// Who created it.
    pub created_by: DiscordUserId,
    /// When.
    pub created_at: i64,
}

/// One message to post (or, for a meeting's living message, to create or edit), as written
/// by the router.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// The event it announces.
    pub event: EventId,
    /// The guild.
    pub guild: GuildId,
    /// The channel (also the ordering and leasing key).
    pub channel: ChannelId,
    /// Post through this webhook instead of as the bot.
    pub webhook: Option<WebhookUrl>,
    /// The kind announced.
    pub kind: EventKind,
    /// What is announced, unique per channel: a second delivery with the same channel and
    /// subject key is not queued (`entry_ready:0_abc`, `meeting_live:123`). Backfill relies
    /// on this to skip what was already announced.
    pub subject_key: String,
    /// Messages with the same thread key in a channel are one living message: the first is
    /// created, later ones edit it (`meeting:{partner}:{event id}`).
    pub thread_key: Option<String>,
    /// The rendered message (mentions already restricted).
    pub message: Reply,
    /// One line for a digest that combines a burst (`**Intro lecture** (3:20) <link>`).
    pub digest_line: Option<String>,
}

/// The state of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting (maybe for its next attempt time).
    Queued,
    /// Posted; the message id is recorded.
    Delivered,
    /// Not posted and not retried, with the reason (a route matched but the entry may not be
    /// announced, the channel is gone from the configuration…).
    Skipped,
    /// Given up after a permanent refusal or too many attempts; `notify replay` re-queues it.
    Dead,
}

impl DeliveryStatus {
    /// The name stored and shown (`queued`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Dead => "dead",
        }
    }

    /// Parses [`DeliveryStatus::as_str`]'s names.
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Queued,
            DeliveryStatus::Delivered,
            DeliveryStatus::Skipped,
            DeliveryStatus::Dead,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A queued delivery handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The row id.
    pub id: DeliveryId,
    /// What was queued.
    pub new: NewDelivery,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: i64,
    /// The message already posted for its thread key in this channel, if any (edit it).
    pub thread_message: Option<MessageId>,
}

/// A channel leased to one worker, with its oldest queued deliveries in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelLease {
    /// The channel.
    pub channel: ChannelId,
    /// The lease holder.
    pub owner: WorkerId,
    /// When the lease lapses; another worker may take the channel after it.
    pub expires_at: i64,
    /// The deliveries, in order: by event id, then delivery id.
    pub items: Vec<Delivery>,
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// Posted (or the living message edited).
    Delivered {
        /// The message posted or edited.
        message: MessageId,
    },
    /// Try again at `at` (5xx, network, 429 with its `Retry-After`). The channel waits too,
    /// so later deliveries do not overtake it.
    Retry {
        /// Next attempt time.
        at: i64,
        /// Why (no secrets).
        reason: String,
    },
    /// Given up (permanent refusal): kept for `notify history` and `notify replay`.
    Dead {
        /// Why.
        reason: String,
    },
    /// Not posted on purpose.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// A delivery as `notify history` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    /// The row id.
    pub id: DeliveryId,
    /// The guild.
    pub guild: GuildId,
    /// The channel.
    pub channel: ChannelId,
    /// The kind.
    pub kind: EventKind,
    /// The subject key.
    pub subject_key: String,
    /// The state.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure or skip reason.
    pub reason: Option<String>,
    /// The message posted.
    pub message: Option<MessageId>,
    /// Queued at.
    pub queued_at: i64,
    /// Last changed at.
    pub updated_at: i64,
}

/// How many times a received event may be claimed without being routed while it still holds
/// back the deliveries of later events (the routing frontier, see
/// [`NotificationStore::lease_channel`]).
///
/// Deliveries go out per channel in event order: a delivery is due only when every event
/// received before its own is routed. An event that routers keep failing to route (a poison
/// event, a Kaltura outage while fetching its entry) would stall every channel; once it has
/// been claimed more than this many times it stops holding the others back (logged at warn
/// once). Its own deliveries then go out late, out of order, when it finally routes.
pub const ORDER_HOLD_ATTEMPTS: u32 = 3;

/// One event's routing, written by [`NotificationStore::route_events`].
#[derive(Debug, Clone, PartialEq)]
pub struct RoutedEvent {
    /// The claimed event.
    pub event: EventId,
    /// Its deliveries (none when no route matched: the event is still marked routed).
    pub deliveries: Vec<NewDelivery>,
}

/// What [`NotificationStore::route_events`] did with one [`RoutedEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteResult {
    /// Marked routed, with this many deliveries queued (0 when every one was already queued
    /// for its channel and subject key, or when this worker had routed it already).
    Queued(u32),
    /// Not written: another worker holds the event's claim now (this worker's claim lapsed
    /// and was taken). That worker routes it.
    ClaimLost,
    /// Not written: there is no such event.
    NotFound,
}

/// Outbox and inbox depth, for metrics and `/readyz`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Received events not routed yet.
    pub unrouted_events: u64,
    /// Deliveries queued.
    pub queued: u64,
    /// Deliveries dead-lettered.
    pub dead: u64,
    /// Deliveries delivered.
    pub delivered: u64,
}

/// Storage for notifications: the inbox of received events, subscriptions and the outbox.
///
/// Implementations must make [`NotificationStore::ingest_batch`] durable before returning
/// (the receiver answers Kaltura 200 on its word), and must never hand one channel to two
/// workers at once ([`NotificationStore::lease_channel`]).
///
/// The crate has two: `SqlStore` (SQLite, PostgreSQL) and [`crate::store::MemoryStore`]; both
/// pass the same tests. One event through the whole flow:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kaltura_discord::Result<()> {
/// use kaltura_discord::commands::Reply;
/// use kaltura_discord::notify::*;
/// use kaltura_discord::store::MemoryStore;
/// use kaltura_discord::{ChannelId, GuildId, MessageId};
///
/// let store = MemoryStore::new();
/// let (Some(guild), Some(channel), Some(posted)) =
///     (GuildId::new(1), ChannelId::new(2), MessageId::new(3))
/// else {
///     unreachable!()
/// };
/// let event = InboundEvent {
///     partner_id: kaltura_discord::kaltura_client::PartnerId::new(100),
///     dedup_key: "job:42".into(),
///     kind: Some(EventKind::EntryReady),
///     subject: Some("0_abc".into()),
///     object: serde_json::json!({"id": "0_abc"}),
///     meta: NotificationMeta::default(),
///     received_at: 1_700_000_000,
/// };
/// // Receiver: commit, then answer 200. A retry of the same job is a duplicate.
/// let Ingested::New(id) = store.ingest_batch(&[event.clone()]).await?[0] else { unreachable!() };
/// assert_eq!(store.ingest_batch(&[event]).await?, vec![Ingested::Duplicate(id)]);
/// // Router: claim, then queue one delivery per target channel.
/// let router = WorkerId("router-1".into());
/// let claimed = store.claim_events(&router, 1_700_000_000, 60, 100).await?;
/// let delivery = NewDelivery {
///     event: claimed[0].id,
///     guild,
///     channel,
///     webhook: None,
///     kind: EventKind::EntryReady,
///     subject_key: "entry_ready:0_abc".into(),
///     thread_key: None,
///     message: Reply::text("Intro lecture is ready"),
///     digest_line: None,
/// };
/// assert_eq!(store.route_event(&router, id, &[delivery], 1_700_000_001).await?, 1);
/// // Delivery worker: lease the channel, post, record the outcome.
/// let worker = WorkerId("deliver-1".into());
/// let lease = store.lease_channel(&worker, 1_700_000_002, 30, 10).await?.unwrap();
/// let outcome = DeliveryOutcome::Delivered { message: posted };
/// store.finish(&lease, &[(lease.items[0].id, outcome)], 1_700_000_003).await?;
/// assert_eq!(store.stats().await?.delivered, 1);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Commits received events in one transaction, each deduplicated on
    /// `(partner_id, dedup_key)`; the answers are in the order of `events`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails; nothing was committed then.
    async fn ingest_batch(&self, events: &[InboundEvent]) -> Result<Vec<Ingested>>;

    /// Claims up to `limit` received events not routed yet (oldest first) for `lease_secs`;
    /// an event whose claim lapsed (its router died) is handed out again.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn claim_events(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;

    /// Marks claimed events routed and queues their deliveries, all in one transaction. A
    /// delivery whose `(channel, subject_key)` was already queued is not queued again. An
    /// event whose claim this worker lost is not written ([`RouteResult::ClaimLost`]); the
    /// others are. The answers are in the order of `events`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails; nothing changed then.
    async fn route_events(
        &self,
        worker: &WorkerId,
        events: &[RoutedEvent],
        now: i64,
    ) -> Result<Vec<RouteResult>>;

    /// [`NotificationStore::route_events`] for one event. Returns how many deliveries were
    /// queued.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails (nothing changed then);
    /// [`crate::Error::Conflict`] when another worker holds the claim;
    /// [`crate::Error::NotFound`] when there is no such event.
    async fn route_event(
        &self,
        worker: &WorkerId,
        event: EventId,
        deliveries: &[NewDelivery],
        now: i64,
    ) -> Result<u32> {
        let batch = [RoutedEvent {
            event,
            deliveries: deliveries.to_vec(),
        }];
        let results = self.route_events(worker, &batch, now).await?;
        match results.first() {
            Some(RouteResult::Queued(n)) => Ok(*n),
            Some(RouteResult::ClaimLost) => Err(crate::Error::conflict(
                crate::error::Resource::NotificationEvent,
                event,
                crate::error::ConflictReason::LeaseLost,
            )),
            Some(RouteResult::NotFound) | None => Err(crate::Error::not_found(
                crate::error::Resource::NotificationEvent,
                event,
            )),
        }
    }

    /// When the newest event of `partner` was received (unix seconds), `None` when none was.
    /// `kaltura-webhooks serve` starts its catch-up from it.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn newest_event_at(&self, partner: PartnerId) -> Result<Option<i64>>;

    /// Leases the channel whose oldest due delivery is oldest, with up to `max_items` of its
    /// due deliveries in order, unless another worker holds it. `None` when nothing is due.
    ///
    /// Order per channel is event order: deliveries come out by `(event id, delivery id)`,
    /// whichever router queued them first. A delivery is due only when every event with a
    /// smaller id is routed (the routing frontier), except events claimed more than
    /// [`ORDER_HOLD_ATTEMPTS`] times without being routed, which stop holding the others.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn lease_channel(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        max_items: u32,
    ) -> Result<Option<ChannelLease>>;

    /// Records outcomes for leased deliveries and releases the channel. A `Retry` makes the
    /// whole channel wait until its time; deliveries not mentioned stay queued.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails; [`crate::Error::Conflict`] when the
    /// worker no longer holds the lease (it lapsed and another worker took the channel).
    async fn finish(
        &self,
        lease: &ChannelLease,
        outcomes: &[(DeliveryId, DeliveryOutcome)],
        now: i64,
    ) -> Result<()>;

    /// Recent deliveries of a guild, newest first.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn history(&self, guild: GuildId, limit: u32) -> Result<Vec<DeliveryRecord>>;

    /// Re-queues a dead or skipped delivery of `guild` (attempts reset). `false` when there is
    /// no such delivery in that guild or it is not dead or skipped.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn replay(&self, guild: GuildId, id: DeliveryId, now: i64) -> Result<bool>;

    /// Depth of the inbox and outbox.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn stats(&self) -> Result<OutboxStats>;

    /// Stores a subscription and returns its id.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails; [`crate::Error::Conflict`] when the guild
    /// already has one for the same channel and kind.
    async fn subscribe(&self, subscription: &Subscription) -> Result<SubscriptionId>;

    /// Removes a guild's subscriptions of `channel` (of one kind, or all kinds). Returns how
    /// many were removed.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn unsubscribe(
        &self,
        guild: GuildId,
        channel: ChannelId,
        kind: Option<EventKind>,
    ) -> Result<u32>;

    /// A guild's subscriptions.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn guild_subscriptions(&self, guild: GuildId) -> Result<Vec<Subscription>>;

    /// Every subscription following a partner's events.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the store fails.
    async fn partner_subscriptions(&self, partner: PartnerId) -> Result<Vec<Subscription>>;
}

/// Refuses outcomes for deliveries that are not part of `lease` (both stores' `finish`).
pub(crate) fn outcomes_in_lease(
    lease: &ChannelLease,
    outcomes: &[(DeliveryId, DeliveryOutcome)],
) -> Result<()> {
    if let Some((id, _)) = outcomes
        .iter()
        .find(|(id, _)| !lease.items.iter().any(|d| d.id == *id))
    {
        return Err(crate::Error::invalid_input(
            "outcomes",
            format!(
                "delivery {id} is not part of the lease on channel {}",
                lease.channel
            ),
        ));
    }
    Ok(())
}
