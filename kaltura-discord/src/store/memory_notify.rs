//! [`NotificationStore`] on [`MemoryStore`]: the same rules as the SQL store (deduplication
//! per partner, claims and channel leases that lapse, one delivery per channel and subject
//! key, order per channel across retries), every call atomic under one lock.
//!
//! Like the SQL tables, the inbox and the outbox keep every row (there is no retention yet).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use kaltura_client::PartnerId;

use super::MemoryStore;
use crate::error::{ConflictReason, Resource};
use crate::ids::{ChannelId, GuildId, MessageId};
use crate::notify::{
    ChannelLease, Delivery, DeliveryId, DeliveryOutcome, DeliveryRecord, DeliveryStatus, EventId,
    EventKind, InboundEvent, Ingested, NewDelivery, NotificationStore, ORDER_HOLD_ATTEMPTS,
    OutboxStats, RouteResult, RoutedEvent, StoredEvent, Subscription, SubscriptionId, WorkerId,
};
use crate::{Error, Result};

/// Most rows one call hands out or lists, as in the SQL store.
const MAX_ROWS: usize = 1000;

/// Longest failure or skip reason kept, in characters, as in the SQL store.
const MAX_REASON_CHARS: usize = 1000;

struct EventRow {
    event: InboundEvent,
    routed: bool,
    claim: Option<(WorkerId, i64)>,
    /// How many times it was claimed (the routing frontier stops waiting for it after
    /// `ORDER_HOLD_ATTEMPTS`).
    route_attempts: u32,
}

struct OutboxRow {
    new: NewDelivery,
    status: DeliveryStatus,
    attempts: u32,
    reason: Option<String>,
    message: Option<MessageId>,
    queued_at: i64,
    updated_at: i64,
}

#[derive(Default)]
struct ChannelRow {
    lease: Option<(WorkerId, i64)>,
    next_attempt_at: i64,
    /// Queued deliveries, in order: `(event id, delivery id)`.
    queued: BTreeSet<(i64, i64)>,
}

/// The notification tables of a [`MemoryStore`].
#[derive(Default)]
pub(super) struct NotifyState {
    events: BTreeMap<i64, EventRow>,
    dedup: HashMap<(PartnerId, String), i64>,
    unrouted: BTreeSet<i64>,
    last_event: i64,
    subscriptions: BTreeMap<i64, Subscription>,
    last_subscription: i64,
    outbox: BTreeMap<i64, OutboxRow>,
    subjects: HashSet<(ChannelId, String)>,
    last_delivery: i64,
    channels: BTreeMap<ChannelId, ChannelRow>,
    /// The message of the latest delivered delivery per (channel, thread key).
    threads: HashMap<(ChannelId, String), (i64, MessageId)>,
}

fn lapsed(holder: &Option<(WorkerId, i64)>, now: i64) -> bool {
    holder.as_ref().is_none_or(|(_, expires)| *expires <= now)
}

fn bounded_reason(reason: &str) -> String {
    reason.chars().take(MAX_REASON_CHARS).collect()
}

impl OutboxRow {
    fn record(&self, id: i64) -> DeliveryRecord {
        DeliveryRecord {
            id: DeliveryId(id),
            guild: self.new.guild,
            channel: self.new.channel,
            kind: self.new.kind,
            subject_key: self.new.subject_key.clone(),
            status: self.status,
            attempts: self.attempts,
            reason: self.reason.clone(),
            message: self.message,
            queued_at: self.queued_at,
            updated_at: self.updated_at,
        }
    }
}

#[async_trait]
impl NotificationStore for MemoryStore {
    async fn ingest_batch(&self, events: &[InboundEvent]) -> Result<Vec<Ingested>> {
        let mut state = self.notify.lock().await;
        let mut answers = Vec::with_capacity(events.len());
        for event in events {
            let key = (event.partner_id, event.dedup_key.clone());
            if let Some(id) = state.dedup.get(&key) {
                answers.push(Ingested::Duplicate(EventId(*id)));
                continue;
            }
            state.last_event = state.last_event.saturating_add(1);
            let id = state.last_event;
            state.dedup.insert(key, id);
            state.unrouted.insert(id);
            state.events.insert(
                id,
                EventRow {
                    event: event.clone(),
                    routed: false,
                    claim: None,
                    route_attempts: 0,
                },
            );
            answers.push(Ingested::New(EventId(id)));
        }
        Ok(answers)
    }

    async fn claim_events(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let limit = usize::try_from(limit).unwrap_or(MAX_ROWS).min(MAX_ROWS);
        let expires = now.saturating_add(lease_secs.max(0));
        let mut guard = self.notify.lock().await;
        let state = &mut *guard;
        let mut claimed = Vec::new();
        for id in &state.unrouted {
            if claimed.len() >= limit {
                break;
            }
            if let Some(row) = state.events.get_mut(id)
                && lapsed(&row.claim, now)
            {
                row.claim = Some((worker.clone(), expires));
                row.route_attempts = row.route_attempts.saturating_add(1);
                if row.route_attempts == ORDER_HOLD_ATTEMPTS.saturating_add(1) {
                    tracing::warn!(
                        event = id,
                        attempts = ORDER_HOLD_ATTEMPTS,
                        "a notification event failed to route {ORDER_HOLD_ATTEMPTS} times; it no longer holds back later deliveries and is delivered out of order when it routes"
                    );
                }
                claimed.push(StoredEvent {
                    id: EventId(*id),
                    event: row.event.clone(),
                });
            }
        }
        Ok(claimed)
    }

    async fn route_events(
        &self,
        worker: &WorkerId,
        events: &[RoutedEvent],
        now: i64,
    ) -> Result<Vec<RouteResult>> {
        let mut guard = self.notify.lock().await;
        let state = &mut *guard;
        let mut results = Vec::with_capacity(events.len());
        for routed in events {
            let event = routed.event;
            let Some(row) = state.events.get_mut(&event.0) else {
                results.push(RouteResult::NotFound);
                continue;
            };
            if row.claim.as_ref().map(|(owner, _)| owner) != Some(worker) {
                results.push(RouteResult::ClaimLost);
                continue;
            }
            if row.routed {
                results.push(RouteResult::Queued(0));
                continue;
            }
            row.routed = true;
            state.unrouted.remove(&event.0);
            let mut queued: u32 = 0;
            for d in &routed.deliveries {
                let channel = state
                    .channels
                    .entry(d.channel)
                    .or_insert_with(|| ChannelRow {
                        next_attempt_at: now,
                        ..ChannelRow::default()
                    });
                if !state.subjects.insert((d.channel, d.subject_key.clone())) {
                    continue;
                }
                state.last_delivery = state.last_delivery.saturating_add(1);
                let id = state.last_delivery;
                channel.queued.insert((event.0, id));
                state.outbox.insert(
                    id,
                    OutboxRow {
                        new: NewDelivery { event, ..d.clone() },
                        status: DeliveryStatus::Queued,
                        attempts: 0,
                        reason: None,
                        message: None,
                        queued_at: now,
                        updated_at: now,
                    },
                );
                queued = queued.saturating_add(1);
            }
            results.push(RouteResult::Queued(queued));
        }
        Ok(results)
    }

    async fn newest_event_at(&self, partner: PartnerId) -> Result<Option<i64>> {
        let state = self.notify.lock().await;
        Ok(state
            .events
            .values()
            .filter(|row| row.event.partner_id == partner)
            .map(|row| row.event.received_at)
            .max())
    }

    async fn lease_channel(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        max_items: u32,
    ) -> Result<Option<ChannelLease>> {
        let max_items = usize::try_from(max_items)
            .unwrap_or(MAX_ROWS)
            .clamp(1, MAX_ROWS);
        let expires = now.saturating_add(lease_secs.max(0));
        let mut guard = self.notify.lock().await;
        let state = &mut *guard;
        // The routing frontier: the oldest unrouted event that still holds the others back.
        let frontier = state
            .unrouted
            .iter()
            .find(|id| {
                state
                    .events
                    .get(id)
                    .is_some_and(|row| row.route_attempts <= ORDER_HOLD_ATTEMPTS)
            })
            .copied()
            .unwrap_or(i64::MAX);
        let chosen = state
            .channels
            .iter()
            .filter(|(_, c)| c.next_attempt_at <= now && lapsed(&c.lease, now))
            .filter_map(|(id, c)| c.queued.first().map(|head| (head.0, *id)))
            .filter(|(event, _)| *event < frontier)
            .min();
        let Some((_, channel_id)) = chosen else {
            return Ok(None);
        };
        let Some(channel) = state.channels.get_mut(&channel_id) else {
            return Ok(None);
        };
        channel.lease = Some((worker.clone(), expires));
        let items = channel
            .queued
            .iter()
            .take_while(|(event, _)| *event < frontier)
            .take(max_items)
            .filter_map(|(_, id)| {
                let row = state.outbox.get(id)?;
                let thread_message = row.new.thread_key.as_ref().and_then(|key| {
                    state
                        .threads
                        .get(&(channel_id, key.clone()))
                        .map(|(_, m)| *m)
                });
                Some(Delivery {
                    id: DeliveryId(*id),
                    new: row.new.clone(),
                    attempts: row.attempts,
                    queued_at: row.queued_at,
                    thread_message,
                })
            })
            .collect();
        Ok(Some(ChannelLease {
            channel: channel_id,
            owner: worker.clone(),
            expires_at: expires,
            items,
        }))
    }

    async fn finish(
        &self,
        lease: &ChannelLease,
        outcomes: &[(DeliveryId, DeliveryOutcome)],
        now: i64,
    ) -> Result<()> {
        crate::notify::store::outcomes_in_lease(lease, outcomes)?;
        let mut guard = self.notify.lock().await;
        let state = &mut *guard;
        let lost = || {
            Error::conflict(
                Resource::DeliveryChannel,
                lease.channel,
                ConflictReason::LeaseLost,
            )
        };
        let channel = state.channels.get_mut(&lease.channel).ok_or_else(lost)?;
        if channel.lease != Some((lease.owner.clone(), lease.expires_at)) {
            return Err(lost());
        }
        channel.lease = None;
        for (id, outcome) in outcomes {
            let Some(row) = state.outbox.get_mut(&id.0) else {
                continue;
            };
            if row.status != DeliveryStatus::Queued || row.new.channel != lease.channel {
                continue;
            }
            row.updated_at = now;
            match outcome {
                DeliveryOutcome::Delivered { message } => {
                    row.status = DeliveryStatus::Delivered;
                    row.message = Some(*message);
                    row.reason = None;
                    row.attempts = row.attempts.saturating_add(1);
                    channel.queued.remove(&(row.new.event.0, id.0));
                    if let Some(key) = &row.new.thread_key {
                        let latest = state
                            .threads
                            .entry((lease.channel, key.clone()))
                            .or_insert((id.0, *message));
                        if latest.0 <= id.0 {
                            *latest = (id.0, *message);
                        }
                    }
                }
                DeliveryOutcome::Retry { at, reason } => {
                    row.attempts = row.attempts.saturating_add(1);
                    row.reason = Some(bounded_reason(reason));
                    channel.next_attempt_at = *at;
                }
                DeliveryOutcome::Dead { reason } => {
                    row.status = DeliveryStatus::Dead;
                    row.reason = Some(bounded_reason(reason));
                    row.attempts = row.attempts.saturating_add(1);
                    channel.queued.remove(&(row.new.event.0, id.0));
                }
                DeliveryOutcome::Skipped { reason } => {
                    row.status = DeliveryStatus::Skipped;
                    row.reason = Some(bounded_reason(reason));
                    channel.queued.remove(&(row.new.event.0, id.0));
                }
            }
        }
        // The channel waits for the latest retry time, as in the SQL store.
        if let Some(at) = outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                DeliveryOutcome::Retry { at, .. } => Some(*at),
                _ => None,
            })
            .max()
        {
            channel.next_attempt_at = at;
        }
        Ok(())
    }

    async fn history(&self, guild: GuildId, limit: u32) -> Result<Vec<DeliveryRecord>> {
        let limit = usize::try_from(limit).unwrap_or(MAX_ROWS).min(MAX_ROWS);
        let state = self.notify.lock().await;
        Ok(state
            .outbox
            .iter()
            .rev()
            .filter(|(_, row)| row.new.guild == guild)
            .take(limit)
            .map(|(id, row)| row.record(*id))
            .collect())
    }

    async fn replay(&self, guild: GuildId, id: DeliveryId, now: i64) -> Result<bool> {
        let mut guard = self.notify.lock().await;
        let state = &mut *guard;
        let Some(row) = state.outbox.get_mut(&id.0) else {
            return Ok(false);
        };
        if row.new.guild != guild
            || !matches!(row.status, DeliveryStatus::Dead | DeliveryStatus::Skipped)
        {
            return Ok(false);
        }
        row.status = DeliveryStatus::Queued;
        row.attempts = 0;
        row.reason = None;
        row.updated_at = now;
        let channel = state.channels.entry(row.new.channel).or_default();
        channel.next_attempt_at = now;
        channel.queued.insert((row.new.event.0, id.0));
        Ok(true)
    }

    async fn stats(&self) -> Result<OutboxStats> {
        let state = self.notify.lock().await;
        let count = |status: DeliveryStatus| {
            state
                .outbox
                .values()
                .filter(|row| row.status == status)
                .count() as u64
        };
        Ok(OutboxStats {
            unrouted_events: state.unrouted.len() as u64,
            queued: count(DeliveryStatus::Queued),
            dead: count(DeliveryStatus::Dead),
            delivered: count(DeliveryStatus::Delivered),
        })
    }

    async fn subscribe(&self, subscription: &Subscription) -> Result<SubscriptionId> {
        let s = subscription;
        let mut state = self.notify.lock().await;
        if state
            .subscriptions
            .values()
            .any(|o| o.guild == s.guild && o.channel == s.channel && o.kind == s.kind)
        {
            return Err(Error::conflict(
                Resource::NotificationSubscription,
                format!("{} in channel {}", s.kind, s.channel),
                ConflictReason::AlreadyExists,
            ));
        }
        state.last_subscription = state.last_subscription.saturating_add(1);
        let id = SubscriptionId(state.last_subscription);
        state.subscriptions.insert(
            id.0,
            Subscription {
                id: Some(id),
                ..s.clone()
            },
        );
        Ok(id)
    }

    async fn unsubscribe(
        &self,
        guild: GuildId,
        channel: ChannelId,
        kind: Option<EventKind>,
    ) -> Result<u32> {
        let mut state = self.notify.lock().await;
        let before = state.subscriptions.len();
        state.subscriptions.retain(|_, s| {
            !(s.guild == guild && s.channel == channel && kind.is_none_or(|k| k == s.kind))
        });
        Ok(u32::try_from(before.saturating_sub(state.subscriptions.len())).unwrap_or(u32::MAX))
    }

    async fn guild_subscriptions(&self, guild: GuildId) -> Result<Vec<Subscription>> {
        let state = self.notify.lock().await;
        Ok(state
            .subscriptions
            .values()
            .filter(|s| s.guild == guild)
            .take(MAX_ROWS)
            .cloned()
            .collect())
    }

    async fn partner_subscriptions(&self, partner: PartnerId) -> Result<Vec<Subscription>> {
        let state = self.notify.lock().await;
        Ok(state
            .subscriptions
            .values()
            .filter(|s| s.partner_id == partner)
            .cloned()
            .collect())
    }
}
