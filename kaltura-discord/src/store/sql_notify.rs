//! [`NotificationStore`] on [`SqlStore`]: the inbox of received Kaltura events, subscriptions
//! and the outbox of deliveries with per-channel leases, on SQLite and PostgreSQL.
//!
//! Concurrency: on PostgreSQL, claims and leases take row locks with `FOR UPDATE SKIP LOCKED`
//! so that several workers (tasks or processes) never take the same row; on SQLite, every
//! write runs in a `BEGIN IMMEDIATE` transaction (one writer at a time is SQLite's own lock),
//! behind this process's writer mutex. Claims and leases are conditional updates (`WHERE
//! claim/lease free or lapsed`), so on both databases a row goes to one worker at a time.
//!
//! Durability: `ingest_batch` commits before it returns; SQLite runs in WAL mode with
//! `synchronous = FULL` (set when the store is opened), so a commit is on disk.
//!
//! Webhook tokens are stored as given (like the admin secret in the configuration file) and
//! never logged or put in errors.

use async_trait::async_trait;
use kaltura_client::PartnerId;
use serde_json::Value;

use super::{Backend, BeginWrite, Pool, RowExt, SqlStore, db_err, is_unique_violation, parse_id};
use crate::commands::Reply;
use crate::error::{ConflictReason, Resource};
use crate::ids::{ChannelId, GuildId, MessageId, RoleId};
use crate::notify::{
    ChannelLease, Delivery, DeliveryId, DeliveryOutcome, DeliveryRecord, DeliveryStatus, EventId,
    EventKind, InboundEvent, Ingested, NewDelivery, NotificationStore, ORDER_HOLD_ATTEMPTS,
    OutboxStats, RouteFilters, RouteResult, RoutedEvent, StoredEvent, Subscription, SubscriptionId,
    WorkerId,
};
use crate::rest::WebhookUrl;
use crate::{Error, Result};

/// Most rows one call hands out or lists (claims, lease items, history).
const MAX_ROWS: u32 = 1000;

/// The reason recorded for a delivery whose stored row could not be read.
const UNREADABLE: &str = "the stored delivery could not be read";

/// Longest failure or skip reason stored, in characters.
const MAX_REASON_CHARS: usize = 1000;

impl Backend {
    /// What a claiming subquery appends so that concurrent workers skip each other's rows.
    /// SQLite needs nothing: its write transactions hold the database's write lock.
    fn skip_locked(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => "",
            #[cfg(feature = "postgres")]
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

impl SqlStore {
    /// This process's SQLite writer lock (taken before a write transaction so that writers
    /// queue here rather than on SQLite's busy timeout); `None` on PostgreSQL, whose writers
    /// run concurrently under row locks.
    async fn notify_write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Some(self.sqlite_writer.lock().await),
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => None,
        }
    }
}

/// A reason cut to [`MAX_REASON_CHARS`].
fn bounded_reason(reason: &str) -> String {
    reason.chars().take(MAX_REASON_CHARS).collect()
}

/// The columns of `notify_events` that [`event_from_row`] reads.
macro_rules! event_columns {
    () => {
        "id, partner_id, dedup_key, body"
    };
}

fn event_from_row(row: &impl RowExt) -> Result<StoredEvent> {
    const OP: &str = "reading a notification event";
    const R: Resource = Resource::NotificationEvent;
    let event: InboundEvent = serde_json::from_str(&row.text("body", OP)?)
        .map_err(|_| Error::corrupt(R, "body", "is not a notification event in JSON"))?;
    if event.partner_id != PartnerId::new(row.int("partner_id", OP)?)
        || event.dedup_key != row.text("dedup_key", OP)?
    {
        return Err(Error::corrupt(
            R,
            "body",
            "does not match the row's partner and dedup key",
        ));
    }
    Ok(StoredEvent {
        id: EventId(row.int("id", OP)?),
        event,
    })
}

/// Rebuilds a stored channel webhook from its id and token columns.
fn webhook_from_columns(
    resource: Resource,
    id: Option<String>,
    token: Option<String>,
) -> Result<Option<WebhookUrl>> {
    match (id, token) {
        (None, None) => Ok(None),
        (Some(id), Some(token)) => {
            // The error never shows the token.
            WebhookUrl::parse(&format!("https://discord.com/api/webhooks/{id}/{token}"))
                .map(Some)
                .map_err(|_| Error::corrupt(resource, "webhook_token", "is not a Discord webhook"))
        }
        _ => Err(Error::corrupt(
            resource,
            "webhook_id",
            "is set without its token or the other way round",
        )),
    }
}

fn parse_kind(resource: Resource, raw: &str) -> Result<EventKind> {
    EventKind::parse(raw)
        .ok_or_else(|| Error::corrupt(resource, "kind", "is not a known event kind"))
}

/// The columns of `notify_subscriptions`, in the order [`subscription_from_row`] reads them
/// and `subscribe` binds them (after `id`).
macro_rules! subscription_columns {
    () => {
        "id, guild_id, partner_id, kind, channel_id, webhook_id, webhook_token, mention_roles, template, filters, created_by, created_at"
    };
}

fn subscription_from_row(row: &impl RowExt) -> Result<Subscription> {
    const OP: &str = "reading a notification subscription";
    const R: Resource = Resource::NotificationSubscription;
    let roles: Vec<String> = serde_json::from_str(&row.text("mention_roles", OP)?)
        .map_err(|_| Error::corrupt(R, "mention_roles", "is not a JSON list of ids"))?;
    let mention_roles = roles
        .iter()
        .map(|raw| parse_id::<RoleId>(R, "mention_roles", raw))
        .collect::<Result<Vec<_>>>()?;
    let filters: RouteFilters = serde_json::from_str(&row.text("filters", OP)?)
        .map_err(|_| Error::corrupt(R, "filters", "is not a JSON route filter"))?;
    Ok(Subscription {
        id: Some(SubscriptionId(row.int("id", OP)?)),
        guild: parse_id(R, "guild_id", &row.text("guild_id", OP)?)?,
        partner_id: PartnerId::new(row.int("partner_id", OP)?),
        kind: parse_kind(R, &row.text("kind", OP)?)?,
        channel: parse_id(R, "channel_id", &row.text("channel_id", OP)?)?,
        webhook: webhook_from_columns(
            R,
            row.opt_text("webhook_id", OP)?,
            row.opt_text("webhook_token", OP)?,
        )?,
        mention_roles,
        template: row.opt_text("template", OP)?,
        filters,
        created_by: parse_id(R, "created_by", &row.text("created_by", OP)?)?,
        created_at: row.int("created_at", OP)?,
    })
}

/// The columns of `notify_outbox`, in the order [`outbox_from_row`] reads them.
macro_rules! outbox_columns {
    () => {
        "id, event_id, guild_id, channel_id, webhook_id, webhook_token, kind, subject_key, thread_key, message, digest_line, status, attempts, next_attempt_at, reason, message_id, queued_at, updated_at"
    };
}

/// One `notify_outbox` row.
struct OutboxRow {
    delivery: Delivery,
    status: DeliveryStatus,
    reason: Option<String>,
    message_id: Option<MessageId>,
    updated_at: i64,
}

impl OutboxRow {
    fn record(self) -> DeliveryRecord {
        DeliveryRecord {
            id: self.delivery.id,
            guild: self.delivery.new.guild,
            channel: self.delivery.new.channel,
            kind: self.delivery.new.kind,
            subject_key: self.delivery.new.subject_key,
            status: self.status,
            attempts: self.delivery.attempts,
            reason: self.reason,
            message: self.message_id,
            queued_at: self.delivery.queued_at,
            updated_at: self.updated_at,
        }
    }
}

fn outbox_from_row(row: &impl RowExt) -> Result<OutboxRow> {
    const OP: &str = "reading a notification delivery";
    const R: Resource = Resource::Delivery;
    let message: Reply = serde_json::from_str(&row.text("message", OP)?)
        .map_err(|_| Error::corrupt(R, "message", "is not a message in JSON"))?;
    let status = DeliveryStatus::parse(&row.text("status", OP)?)
        .ok_or_else(|| Error::corrupt(R, "status", "is not a known delivery status"))?;
    let attempts = u32::try_from(row.int("attempts", OP)?)
        .map_err(|_| Error::corrupt(R, "attempts", "is out of range"))?;
    let message_id = row
        .opt_text("message_id", OP)?
        .map(|raw| parse_id::<MessageId>(R, "message_id", &raw))
        .transpose()?;
    Ok(OutboxRow {
        delivery: Delivery {
            id: DeliveryId(row.int("id", OP)?),
            new: NewDelivery {
                event: EventId(row.int("event_id", OP)?),
                guild: parse_id(R, "guild_id", &row.text("guild_id", OP)?)?,
                channel: parse_id(R, "channel_id", &row.text("channel_id", OP)?)?,
                webhook: webhook_from_columns(
                    R,
                    row.opt_text("webhook_id", OP)?,
                    row.opt_text("webhook_token", OP)?,
                )?,
                kind: parse_kind(R, &row.text("kind", OP)?)?,
                subject_key: row.text("subject_key", OP)?,
                thread_key: row.opt_text("thread_key", OP)?,
                message,
                digest_line: row.opt_text("digest_line", OP)?,
            },
            attempts,
            queued_at: row.int("queued_at", OP)?,
            thread_message: None,
        },
        status,
        reason: row.opt_text("reason", OP)?,
        message_id,
        updated_at: row.int("updated_at", OP)?,
    })
}

/// The row of one lease item: the delivery and the message of its thread.
fn lease_item_from_row(row: &impl RowExt) -> Result<Delivery> {
    const OP: &str = "reading a notification delivery";
    let mut delivery = outbox_from_row(row)?.delivery;
    delivery.thread_message = row
        .opt_text("thread_message", OP)?
        .map(|raw| parse_id::<MessageId>(Resource::Delivery, "message_id", &raw))
        .transpose()?;
    Ok(delivery)
}

/// The routing frontier: the oldest event that is not routed and still holds back later
/// deliveries (claimed at most `ORDER_HOLD_ATTEMPTS` times, $1). `NULL` when there is none.
const FRONTIER: &str =
    "SELECT MIN(id) FROM notify_events WHERE routed_at IS NULL AND route_attempts <= $1";

/// The lease items: the channel's queued deliveries of events before the frontier ($3) in
/// `(event_id, id)` order, each with the message of the latest delivered delivery of its
/// thread in the channel.
const LEASE_ITEMS: &str = concat!(
    "SELECT ",
    outbox_columns!(),
    ", (SELECT t.message_id FROM notify_outbox t WHERE t.channel_id = notify_outbox.channel_id \
     AND t.thread_key = notify_outbox.thread_key AND t.status = 'delivered' \
     AND t.message_id IS NOT NULL ORDER BY t.id DESC LIMIT 1) AS thread_message \
     FROM notify_outbox WHERE channel_id = $1 AND status = 'queued' AND event_id < $3 \
     ORDER BY event_id, id LIMIT $2"
);

/// The `(id, token)` columns of a webhook.
fn webhook_columns(webhook: Option<&WebhookUrl>) -> (Option<String>, Option<String>) {
    match webhook {
        Some(w) => (Some(w.id().to_string()), Some(w.expose_token().to_owned())),
        None => (None, None),
    }
}

#[async_trait]
impl NotificationStore for SqlStore {
    #[tracing::instrument(name = "notify_store.ingest_batch", skip_all, fields(backend = self.backend(), events = events.len()))]
    async fn ingest_batch(&self, events: &[InboundEvent]) -> Result<Vec<Ingested>> {
        const OP: &str = "committing received notifications";
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let bodies = events
            .iter()
            .map(|e| {
                serde_json::to_string(e).map_err(|_| {
                    Error::invalid_input("event", "the notification cannot be stored as JSON")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Rows are inserted in key order (answers keep the order of `events`), so that two
        // processes committing overlapping batches wait for each other instead of deadlocking.
        // The sort is stable: the first of two equal events in a batch is the new one.
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| {
                events
                    .get(i)
                    .map(|e| (e.partner_id.get(), e.dedup_key.as_str()))
            };
            key(a).cmp(&key(b))
        });
        let _guard = self.notify_write_guard().await;
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let mut answers = vec![Ingested::New(EventId(0)); events.len()];
            for (slot, event, body) in order.iter().filter_map(|&i| {
                Some((i, events.get(i)?, bodies.get(i)?))
            }) {
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO notify_events (partner_id, dedup_key, kind, subject, body, received_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner_id, dedup_key) DO NOTHING RETURNING id",
                )
                .bind(event.partner_id.get())
                .bind(&event.dedup_key)
                .bind(event.kind.map(EventKind::as_str))
                .bind(event.subject.as_deref())
                .bind(body)
                .bind(event.received_at)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err(OP))?;
                let answer = match inserted {
                    Some(id) => Ingested::New(EventId(id)),
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "SELECT id FROM notify_events WHERE partner_id = $1 AND dedup_key = $2",
                        )
                        .bind(event.partner_id.get())
                        .bind(&event.dedup_key)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err(OP))?;
                        Ingested::Duplicate(EventId(id))
                    }
                };
                if let Some(place) = answers.get_mut(slot) {
                    *place = answer;
                }
            }
            tx.commit().await.map_err(db_err(OP))?;
            Ok(answers)
        })
    }

    #[tracing::instrument(name = "notify_store.claim_events", skip_all, fields(backend = self.backend(), worker = %worker))]
    async fn claim_events(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        const OP: &str = "claiming received notifications";
        let limit = limit.min(MAX_ROWS);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            concat!(
                "UPDATE notify_events SET claim_owner = $1, claim_expires_at = $2, ",
                "route_attempts = route_attempts + 1 WHERE id IN (",
                "SELECT id FROM notify_events WHERE routed_at IS NULL ",
                "AND (claim_owner IS NULL OR claim_expires_at <= $3) ORDER BY id LIMIT $4{}",
                ") RETURNING ",
                event_columns!(),
                ", CAST(route_attempts AS BIGINT) AS route_attempts"
            ),
            self.kind().skip_locked()
        );
        let expires = now.saturating_add(lease_secs.max(0));
        let _guard = self.notify_write_guard().await;
        let mut events = on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let rows = sqlx::query(&sql)
                .bind(&worker.0)
                .bind(expires)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            tx.commit().await.map_err(db_err(OP))?;
            // A row that cannot be read must not block every event behind it: it is logged
            // (id and field, never its content) and left claimed, so it lapses and is
            // reported again, while the others are routed.
            for row in &rows {
                if row.int("route_attempts", OP)? == i64::from(ORDER_HOLD_ATTEMPTS) + 1 {
                    let id = row.int("id", OP)?;
                    tracing::warn!(
                        event = id,
                        attempts = ORDER_HOLD_ATTEMPTS,
                        "a notification event failed to route {ORDER_HOLD_ATTEMPTS} times; it no longer holds back later deliveries and is delivered out of order when it routes"
                    );
                }
            }
            rows.iter()
                .filter_map(|row| match event_from_row(row) {
                    Ok(event) => Some(event),
                    Err(e) => {
                        let id = row.int("id", OP).unwrap_or_default();
                        tracing::error!(event = id, error = %e, "skipping an unreadable notification event");
                        None
                    }
                })
                .collect::<Vec<_>>()
        });
        events.sort_by_key(|e| e.id);
        tracing::debug!(claimed = events.len(), "claimed notification events");
        Ok(events)
    }

    #[tracing::instrument(name = "notify_store.route_events", skip_all, fields(backend = self.backend(), worker = %worker, events = events.len()))]
    async fn route_events(
        &self,
        worker: &WorkerId,
        events: &[RoutedEvent],
        now: i64,
    ) -> Result<Vec<RouteResult>> {
        const OP: &str = "queueing notification deliveries";
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // Every write is prepared before the transaction. Rows are locked and written in one
        // order: events by id (deliveries in the order given, which is their order within
        // the event), channel rows by channel, so that concurrent routers wait for each
        // other. (Two routers queueing the same subject keys in opposite orders could still
        // deadlock on PostgreSQL; it aborts one transaction, whose events stay claimed and
        // are routed again.)
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| events.get(i).map(|e| e.event));
        let mut writes = Vec::new();
        for &slot in &order {
            let Some(routed) = events.get(slot) else {
                continue;
            };
            for d in &routed.deliveries {
                let message = serde_json::to_string(&d.message).map_err(|_| {
                    Error::invalid_input("message", "the message cannot be stored as JSON")
                })?;
                writes.push((slot, d, message));
            }
        }
        let select = format!(
            "SELECT claim_owner, routed_at FROM notify_events WHERE id = $1{}",
            self.kind().row_lock()
        );
        let _guard = self.notify_write_guard().await;
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let mut results = vec![RouteResult::NotFound; events.len()];
            let mut write = vec![false; events.len()];
            let mut previous: Option<(EventId, RouteResult)> = None;
            for &slot in &order {
                let Some(routed) = events.get(slot) else { continue };
                if let Some((event, result)) = previous
                    && event == routed.event
                {
                    // The same event twice in one batch: the first one is written.
                    if let Some(place) = results.get_mut(slot) {
                        *place = match result {
                            RouteResult::Queued(_) => RouteResult::Queued(0),
                            other => other,
                        };
                    }
                    continue;
                }
                let row = sqlx::query(&select)
                    .bind(routed.event.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err(OP))?;
                let result = match row {
                    None => RouteResult::NotFound,
                    Some(row) => {
                        let owner = row.opt_text("claim_owner", OP)?;
                        if owner.as_deref() != Some(worker.0.as_str()) {
                            RouteResult::ClaimLost
                        } else if row.opt_int("routed_at", OP)?.is_some() {
                            // Routed already by this worker (its answer was lost).
                            RouteResult::Queued(0)
                        } else {
                            if let Some(w) = write.get_mut(slot) {
                                *w = true;
                            }
                            RouteResult::Queued(0)
                        }
                    }
                };
                if let Some(place) = results.get_mut(slot) {
                    *place = result;
                }
                previous = Some((routed.event, result));
            }
            let mut channels: Vec<ChannelId> = Vec::new();
            for (slot, d, message) in &writes {
                if !write.get(*slot).copied().unwrap_or(false) {
                    continue;
                }
                let Some(routed) = events.get(*slot) else { continue };
                let (webhook_id, webhook_token) = webhook_columns(d.webhook.as_ref());
                let done = sqlx::query(
                    "INSERT INTO notify_outbox (event_id, guild_id, channel_id, webhook_id, webhook_token, kind, \
                     subject_key, thread_key, message, digest_line, status, attempts, next_attempt_at, reason, \
                     message_id, queued_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, NULL, NULL, $13, $14) \
                     ON CONFLICT (channel_id, subject_key) DO NOTHING",
                )
                .bind(routed.event.0)
                .bind(d.guild.to_string())
                .bind(d.channel.to_string())
                .bind(webhook_id)
                .bind(webhook_token)
                .bind(d.kind.as_str())
                .bind(&d.subject_key)
                .bind(d.thread_key.as_deref())
                .bind(message)
                .bind(d.digest_line.as_deref())
                .bind(DeliveryStatus::Queued.as_str())
                .bind(now)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?
                .rows_affected();
                channels.push(d.channel);
                if done > 0
                    && let Some(RouteResult::Queued(n)) = results.get_mut(*slot)
                {
                    *n = n.saturating_add(1);
                }
            }
            channels.sort_unstable();
            channels.dedup();
            for channel in &channels {
                sqlx::query(
                    "INSERT INTO notify_channels (channel_id, lease_owner, lease_expires_at, next_attempt_at) \
                     VALUES ($1, NULL, NULL, $2) ON CONFLICT (channel_id) DO NOTHING",
                )
                .bind(channel.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            }
            for &slot in &order {
                let Some(routed) = events.get(slot) else { continue };
                if write.get(slot).copied().unwrap_or(false) {
                    sqlx::query("UPDATE notify_events SET routed_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(routed.event.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(OP))?;
                }
            }
            tx.commit().await.map_err(db_err(OP))?;
            tracing::debug!(
                routed = write.iter().filter(|w| **w).count(),
                lost = results.iter().filter(|r| **r == RouteResult::ClaimLost).count(),
                "routed notification events"
            );
            Ok(results)
        })
    }

    async fn newest_event_at(&self, partner: PartnerId) -> Result<Option<i64>> {
        const OP: &str = "reading the newest notification event";
        on_pool!(self, p => {
            let row = sqlx::query("SELECT MAX(received_at) AS newest FROM notify_events WHERE partner_id = $1")
                .bind(partner.get())
                .fetch_one(p)
                .await
                .map_err(db_err(OP))?;
            row.opt_int("newest", OP)
        })
    }

    #[tracing::instrument(name = "notify_store.lease_channel", skip_all, fields(backend = self.backend(), worker = %worker))]
    async fn lease_channel(
        &self,
        worker: &WorkerId,
        now: i64,
        lease_secs: i64,
        max_items: u32,
    ) -> Result<Option<ChannelLease>> {
        const OP: &str = "leasing a delivery channel";
        let max_items = max_items.clamp(1, MAX_ROWS);
        // The channel whose head (its first queued delivery in `(event_id, id)` order) is
        // oldest among the free, due channels whose head is before the routing frontier ($4).
        let take = format!(
            "UPDATE notify_channels SET lease_owner = $1, lease_expires_at = $2 WHERE channel_id = (\
             SELECT c.channel_id FROM notify_channels c WHERE c.next_attempt_at <= $3 \
             AND (c.lease_owner IS NULL OR c.lease_expires_at <= $3) \
             AND (SELECT MIN(q.event_id) FROM notify_outbox q WHERE q.channel_id = c.channel_id AND q.status = 'queued') < $4 \
             ORDER BY (SELECT MIN(q.event_id) FROM notify_outbox q WHERE q.channel_id = c.channel_id AND q.status = 'queued'), \
             c.channel_id LIMIT 1{}) AND (lease_owner IS NULL OR lease_expires_at <= $3) RETURNING channel_id",
            self.kind().skip_locked()
        );
        let expires = now.saturating_add(lease_secs.max(0));
        let _guard = self.notify_write_guard().await;
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let frontier: Option<i64> = sqlx::query_scalar(FRONTIER)
                .bind(i64::from(ORDER_HOLD_ATTEMPTS))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            let frontier = frontier.unwrap_or(i64::MAX);
            let channel: Option<String> = sqlx::query_scalar(&take)
                .bind(&worker.0)
                .bind(expires)
                .bind(now)
                .bind(frontier)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            let Some(raw) = channel else {
                tx.commit().await.map_err(db_err(OP))?;
                return Ok(None);
            };
            let channel: ChannelId = parse_id(Resource::DeliveryChannel, "channel_id", &raw)?;
            let rows = sqlx::query(LEASE_ITEMS)
                .bind(&raw)
                .bind(i64::from(max_items))
                .bind(frontier)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            // An unreadable delivery must not block its channel (nor, being the oldest, every
            // channel): it is logged (id and field, never its content) and dead-lettered.
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                match lease_item_from_row(row) {
                    Ok(item) => items.push(item),
                    Err(e) => {
                        let id = row.int("id", OP)?;
                        tracing::error!(delivery = id, error = %e, "dead-lettering an unreadable delivery");
                        sqlx::query("UPDATE notify_outbox SET status = 'dead', reason = $1, updated_at = $2 WHERE id = $3")
                            .bind(UNREADABLE)
                            .bind(now)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err(OP))?;
                    }
                }
            }
            if items.is_empty() {
                sqlx::query("UPDATE notify_channels SET lease_owner = NULL, lease_expires_at = NULL WHERE channel_id = $1")
                    .bind(&raw)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err(OP))?;
                tx.commit().await.map_err(db_err(OP))?;
                return Ok(None);
            }
            tx.commit().await.map_err(db_err(OP))?;
            tracing::debug!(%channel, items = items.len(), "leased a delivery channel");
            Ok(Some(ChannelLease {
                channel,
                owner: worker.clone(),
                expires_at: expires,
                items,
            }))
        })
    }

    #[tracing::instrument(name = "notify_store.finish", skip_all, fields(backend = self.backend(), worker = %lease.owner, channel = %lease.channel))]
    async fn finish(
        &self,
        lease: &ChannelLease,
        outcomes: &[(DeliveryId, DeliveryOutcome)],
        now: i64,
    ) -> Result<()> {
        const OP: &str = "recording delivery outcomes";
        crate::notify::store::outcomes_in_lease(lease, outcomes)?;
        let retry_at = outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                DeliveryOutcome::Retry { at, .. } => Some(*at),
                _ => None,
            })
            .max();
        let select = format!(
            "SELECT lease_owner, lease_expires_at FROM notify_channels WHERE channel_id = $1{}",
            self.kind().row_lock()
        );
        let channel = lease.channel.to_string();
        let _guard = self.notify_write_guard().await;
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let row = sqlx::query(&select)
                .bind(&channel)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            let held = match &row {
                Some(row) => {
                    row.opt_text("lease_owner", OP)?.as_deref() == Some(lease.owner.0.as_str())
                        && row.opt_int("lease_expires_at", OP)? == Some(lease.expires_at)
                }
                None => false,
            };
            if !held {
                return Err(Error::conflict(
                    Resource::DeliveryChannel,
                    lease.channel,
                    ConflictReason::LeaseLost,
                ));
            }
            for (id, outcome) in outcomes {
                let query = match outcome {
                    DeliveryOutcome::Delivered { message } => sqlx::query(
                        "UPDATE notify_outbox SET status = $1, message_id = $2, reason = NULL, \
                         attempts = attempts + 1, updated_at = $3 \
                         WHERE id = $4 AND channel_id = $5 AND status = 'queued'",
                    )
                    .bind(DeliveryStatus::Delivered.as_str())
                    .bind(message.to_string())
                    .bind(now),
                    DeliveryOutcome::Retry { at, reason } => sqlx::query(
                        "UPDATE notify_outbox SET next_attempt_at = $1, reason = $2, \
                         attempts = attempts + 1, updated_at = $3 \
                         WHERE id = $4 AND channel_id = $5 AND status = 'queued'",
                    )
                    .bind(*at)
                    .bind(bounded_reason(reason))
                    .bind(now),
                    DeliveryOutcome::Dead { reason } => sqlx::query(
                        "UPDATE notify_outbox SET status = $1, reason = $2, \
                         attempts = attempts + 1, updated_at = $3 \
                         WHERE id = $4 AND channel_id = $5 AND status = 'queued'",
                    )
                    .bind(DeliveryStatus::Dead.as_str())
                    .bind(bounded_reason(reason))
                    .bind(now),
                    DeliveryOutcome::Skipped { reason } => sqlx::query(
                        "UPDATE notify_outbox SET status = $1, reason = $2, updated_at = $3 \
                         WHERE id = $4 AND channel_id = $5 AND status = 'queued'",
                    )
                    .bind(DeliveryStatus::Skipped.as_str())
                    .bind(bounded_reason(reason))
                    .bind(now),
                };
                query
                    .bind(id.0)
                    .bind(&channel)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err(OP))?;
            }
            let release = match retry_at {
                Some(at) => sqlx::query(
                    "UPDATE notify_channels SET lease_owner = NULL, lease_expires_at = NULL, \
                     next_attempt_at = $1 WHERE channel_id = $2",
                )
                .bind(at),
                None => sqlx::query(
                    "UPDATE notify_channels SET lease_owner = NULL, lease_expires_at = NULL \
                     WHERE channel_id = $1",
                ),
            };
            release.bind(&channel).execute(&mut *tx).await.map_err(db_err(OP))?;
            tx.commit().await.map_err(db_err(OP))?;
            tracing::debug!(outcomes = outcomes.len(), retry_at, "finished a delivery lease");
            Ok(())
        })
    }

    async fn history(&self, guild: GuildId, limit: u32) -> Result<Vec<DeliveryRecord>> {
        const OP: &str = "reading the delivery history";
        on_pool!(self, p => {
            sqlx::query(concat!(
                "SELECT ", outbox_columns!(), " FROM notify_outbox WHERE guild_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(guild.to_string())
            .bind(i64::from(limit.min(MAX_ROWS)))
            .fetch_all(p)
            .await
            .map_err(db_err(OP))?
            .iter()
            .map(|row| outbox_from_row(row).map(OutboxRow::record))
            .collect()
        })
    }

    #[tracing::instrument(name = "notify_store.replay", skip_all, fields(backend = self.backend(), %guild, delivery = %id))]
    async fn replay(&self, guild: GuildId, id: DeliveryId, now: i64) -> Result<bool> {
        const OP: &str = "replaying a delivery";
        let _guard = self.notify_write_guard().await;
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let channel: Option<String> = sqlx::query_scalar(
                "UPDATE notify_outbox SET status = $1, attempts = 0, next_attempt_at = $2, reason = NULL, \
                 updated_at = $3 WHERE id = $4 AND guild_id = $5 AND status IN ('dead', 'skipped') \
                 RETURNING channel_id",
            )
            .bind(DeliveryStatus::Queued.as_str())
            .bind(now)
            .bind(now)
            .bind(id.0)
            .bind(guild.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err(OP))?;
            let Some(channel) = channel else {
                tx.commit().await.map_err(db_err(OP))?;
                return Ok(false);
            };
            sqlx::query(
                "INSERT INTO notify_channels (channel_id, lease_owner, lease_expires_at, next_attempt_at) \
                 VALUES ($1, NULL, NULL, $2) ON CONFLICT (channel_id) DO UPDATE SET next_attempt_at = excluded.next_attempt_at",
            )
            .bind(&channel)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err(OP))?;
            tx.commit().await.map_err(db_err(OP))?;
            Ok(true)
        })
    }

    async fn stats(&self) -> Result<OutboxStats> {
        const OP: &str = "counting notifications";
        let row = on_pool!(self, p => {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM notify_events WHERE routed_at IS NULL) AS unrouted, \
                 (SELECT COUNT(*) FROM notify_outbox WHERE status = 'queued') AS queued, \
                 (SELECT COUNT(*) FROM notify_outbox WHERE status = 'dead') AS dead, \
                 (SELECT COUNT(*) FROM notify_outbox WHERE status = 'delivered') AS delivered",
            )
            .fetch_one(p)
            .await
            .map_err(db_err(OP))?;
            [
                row.int("unrouted", OP)?,
                row.int("queued", OP)?,
                row.int("dead", OP)?,
                row.int("delivered", OP)?,
            ]
        });
        let [unrouted, queued, dead, delivered] = row.map(|n| u64::try_from(n).unwrap_or(0));
        Ok(OutboxStats {
            unrouted_events: unrouted,
            queued,
            dead,
            delivered,
        })
    }

    #[tracing::instrument(name = "notify_store.subscribe", skip_all, fields(backend = self.backend(), guild = %subscription.guild, channel = %subscription.channel, kind = %subscription.kind))]
    async fn subscribe(&self, subscription: &Subscription) -> Result<SubscriptionId> {
        const OP: &str = "storing a notification subscription";
        let s = subscription;
        let roles: Vec<String> = s.mention_roles.iter().map(ToString::to_string).collect();
        let roles = Value::from(roles).to_string();
        let filters = serde_json::to_string(&s.filters)
            .map_err(|_| Error::invalid_input("filters", "the filters cannot be stored"))?;
        let (webhook_id, webhook_token) = webhook_columns(s.webhook.as_ref());
        let _guard = self.notify_write_guard().await;
        on_pool!(self, p => {
            let result: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
                "INSERT INTO notify_subscriptions (guild_id, partner_id, kind, channel_id, webhook_id, \
                 webhook_token, mention_roles, template, filters, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(s.guild.to_string())
            .bind(s.partner_id.get())
            .bind(s.kind.as_str())
            .bind(s.channel.to_string())
            .bind(webhook_id)
            .bind(webhook_token)
            .bind(&roles)
            .bind(s.template.as_deref())
            .bind(&filters)
            .bind(s.created_by.to_string())
            .bind(s.created_at)
            .fetch_one(p)
            .await;
            match result {
                Ok(id) => Ok(SubscriptionId(id)),
                Err(e) if is_unique_violation(&e) => Err(Error::conflict(
                    Resource::NotificationSubscription,
                    format!("{} in channel {}", s.kind, s.channel),
                    ConflictReason::AlreadyExists,
                )),
                Err(e) => Err(db_err(OP)(e)),
            }
        })
    }

    async fn unsubscribe(
        &self,
        guild: GuildId,
        channel: ChannelId,
        kind: Option<EventKind>,
    ) -> Result<u32> {
        const OP: &str = "removing notification subscriptions";
        let _guard = self.notify_write_guard().await;
        let removed = on_pool!(self, p => {
            match kind {
                Some(kind) => sqlx::query(
                    "DELETE FROM notify_subscriptions WHERE guild_id = $1 AND channel_id = $2 AND kind = $3",
                )
                .bind(guild.to_string())
                .bind(channel.to_string())
                .bind(kind.as_str())
                .execute(p)
                .await,
                None => sqlx::query(
                    "DELETE FROM notify_subscriptions WHERE guild_id = $1 AND channel_id = $2",
                )
                .bind(guild.to_string())
                .bind(channel.to_string())
                .execute(p)
                .await,
            }
            .map_err(db_err(OP))?
            .rows_affected()
        });
        Ok(u32::try_from(removed).unwrap_or(u32::MAX))
    }

    async fn guild_subscriptions(&self, guild: GuildId) -> Result<Vec<Subscription>> {
        on_pool!(self, p => {
            sqlx::query(concat!(
                "SELECT ", subscription_columns!(), " FROM notify_subscriptions WHERE guild_id = $1 ORDER BY id LIMIT 1000"
            ))
            .bind(guild.to_string())
            .fetch_all(p)
            .await
            .map_err(db_err("listing a guild's notification subscriptions"))?
            .iter()
            .map(subscription_from_row)
            .collect()
        })
    }

    async fn partner_subscriptions(&self, partner: PartnerId) -> Result<Vec<Subscription>> {
        on_pool!(self, p => {
            sqlx::query(concat!(
                "SELECT ", subscription_columns!(), " FROM notify_subscriptions WHERE partner_id = $1 ORDER BY id"
            ))
            .bind(partner.get())
            .fetch_all(p)
            .await
            .map_err(db_err("listing a partner's notification subscriptions"))?
            .iter()
            .map(subscription_from_row)
            .collect()
        })
    }
}
