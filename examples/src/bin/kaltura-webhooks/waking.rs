//! A [`NotificationStore`] wrapper that wakes the in-process router when events are
//! committed and the delivery workers when deliveries are queued, so one process does not
//! wait for the poll interval between the steps. Other processes on the same database still
//! find the work by polling.

use std::sync::Arc;

use async_trait::async_trait;
use kaltura_client::PartnerId;
use kaltura_discord::notify::{
    ChannelLease, DeliveryId, DeliveryOutcome, DeliveryRecord, EventKind, InboundEvent, Ingested,
    NotificationStore, OutboxStats, RouteResult, RoutedEvent, StoredEvent, Subscription,
    SubscriptionId, WorkerId,
};
use kaltura_discord::{ChannelId, GuildId, Result};
use tokio::sync::Notify;

/// Wakes `router` after new events are committed and `workers` after deliveries are queued
/// or re-queued.
pub(crate) struct WakingStore {
    inner: Arc<dyn NotificationStore>,
    router: Arc<Notify>,
    workers: Arc<Notify>,
}

impl WakingStore {
    pub(crate) fn new(
        inner: Arc<dyn NotificationStore>,
        router: Arc<Notify>,
        workers: Arc<Notify>,
    ) -> WakingStore {
        WakingStore {
            inner,
            router,
            workers,
        }
    }
}

/// Wakes every task waiting now, and leaves a permit for one that is about to wait.
fn wake(notify: &Notify) {
    notify.notify_waiters();
    notify.notify_one();
}

#[async_trait]
impl NotificationStore for WakingStore {
    async fn ingest_batch(&self, events: &[InboundEvent]) -> Result<Vec<Ingested>> {
        let answers = self.inner.ingest_batch(events).await?;
        if answers.iter().any(|a| matches!(a, Ingested::New(_))) {
            wake(&self.router);
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
        self.inner
            .claim_events(worker, now, lease_secs, limit)
            .await
    }

    async fn route_events(
        &self,
        worker: &WorkerId,
        events: &[RoutedEvent],
        now: i64,
    ) -> Result<Vec<RouteResult>> {
        let results = self.inner.route_events(worker, events, now).await?;
        // Routing an event may also make other events' deliveries due (the frontier moves).
        if results.iter().any(|r| matches!(r, RouteResult::Queued(_))) {
            wake(&self.workers);
        }
        Ok(results)
    }

    async fn newest_event_at(&self, partner: PartnerId) -> Result<Option<i64>> {
        self.inner.newest_event_at(partner).await
    }

    async fn lease_channel(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        max_items: u32,
    ) -> Result<Option<ChannelLease>> {
        self.inner
            .lease_channel(worker, now, lease_secs, max_items)
            .await
    }

    async fn finish(
        &self,
        lease: &ChannelLease,
        outcomes: &[(DeliveryId, DeliveryOutcome)],
        now: i64,
    ) -> Result<()> {
        self.inner.finish(lease, outcomes, now).await
    }

    async fn history(&self, guild: GuildId, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.inner.history(guild, limit).await
    }

    async fn replay(&self, guild: GuildId, id: DeliveryId, now: i64) -> Result<bool> {
        let replayed = self.inner.replay(guild, id, now).await?;
        if replayed {
            wake(&self.workers);
        }
        Ok(replayed)
    }

    async fn stats(&self) -> Result<OutboxStats> {
        self.inner.stats().await
    }

    async fn subscribe(&self, subscription: &Subscription) -> Result<SubscriptionId> {
        self.inner.subscribe(subscription).await
    }

    async fn unsubscribe(
        &self,
        guild: GuildId,
        channel: ChannelId,
        kind: Option<EventKind>,
    ) -> Result<u32> {
        self.inner.unsubscribe(guild, channel, kind).await
    }

    async fn guild_subscriptions(&self, guild: GuildId) -> Result<Vec<Subscription>> {
        self.inner.guild_subscriptions(guild).await
    }

    async fn partner_subscriptions(&self, partner: PartnerId) -> Result<Vec<Subscription>> {
        self.inner.partner_subscriptions(partner).await
    }
}
