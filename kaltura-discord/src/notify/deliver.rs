//! Delivery workers: lease a channel from the outbox, post its queued messages in order,
//! record what happened.
//!
//! A [`DeliveryWorker`] leases one channel at a time
//! ([`NotificationStore::lease_channel`]), so no two workers post into one channel at once
//! and order per channel is kept. For each leased delivery, in order:
//!
//! - a delivery whose thread already has a message (a meeting's living message) **edits**
//!   it, as the bot ([`DiscordRest::edit_message`]) or through the route's channel webhook
//!   ([`DiscordRest::edit_webhook_message`]); if that message is gone (a moderator deleted
//!   it: 404 Unknown Message), a new one is posted and becomes the thread's message;
//! - otherwise the message is **posted**: as the bot with
//!   [`DiscordRest::create_message_once`] and the nonce `kd-{delivery id}` (Discord returns
//!   the earlier message instead of posting twice when a worker crashed after posting and
//!   before recording it), or through the route's channel webhook
//!   ([`DiscordRest::execute_webhook`]; webhooks have no nonce, so a webhook target is
//!   **at-least-once** across a crash);
//! - a **burst** (at least [`DeliveryOptions::digest_threshold`] plain deliveries of one kind
//!   and one target in the lease) becomes one digest message listing their digest lines
//!   (split across messages only where Discord's limits require: 4,096 characters per embed
//!   description, 10 embeds and 6,000 embed characters per message), pinging the union of
//!   their roles once; each of them is marked delivered with the digest's message id.
//!
//! Outcomes: success → delivered; 429 beyond the REST budget → retried at now +
//! `Retry-After` (never earlier); 5xx, network errors, timeouts → retried with exponential
//! backoff and jitter; unknown channel or missing access → dead-lettered with the reason,
//! together with the rest of the channel's batch; another refusal (400) → that delivery is
//! dead-lettered; after [`DeliveryOptions::max_attempts`] attempts → dead-lettered. The
//! channel stops at its first retry, so nothing overtakes it.
//!
//! Every outcome is counted in [`NotifyMetrics`], and with an [`AuditLog`] each delivered or
//! dead-lettered delivery gets an audit entry
//! ([`AuditAction::NotificationDelivered`], [`AuditAction::NotificationFailed`]).
//!
//! # Example
//!
//! ```no_run
//! # async fn demo(
//! #     store: std::sync::Arc<dyn kaltura_discord::notify::NotificationStore>,
//! #     rest: std::sync::Arc<dyn kaltura_discord::rest::DiscordRest>,
//! # ) -> kaltura_discord::Result<()> {
//! use std::sync::Arc;
//! use kaltura_discord::notify::WorkerId;
//! use kaltura_discord::notify::deliver::{DeliveryOptions, DeliveryWorker};
//! use kaltura_discord::notify::metrics::NotifyMetrics;
//!
//! let worker = DeliveryWorker::builder()
//!     .store(store)
//!     .rest(rest)
//!     .metrics(NotifyMetrics::new())
//!     .worker_id(WorkerId("worker-1".to_owned()))
//!     .options(DeliveryOptions::default())
//!     .build()?;
//! let wake = worker.waker(); // the router pokes it when it queued something
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let task = tokio::spawn(worker.run(async move {
//!     let _ = stopped.await;
//! }));
//! wake.notify_waiters();
//! let _ = stop.send(());
//! let _ = task.await;
//! # Ok(()) }
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kaltura_client::clock::{Clock, SystemClock};
use tokio::sync::Notify;
use tracing::Instrument as _;

use super::metrics::NotifyMetrics;
use super::{
    ChannelLease, Delivery, DeliveryId, DeliveryOutcome, EventKind, NotificationStore, WorkerId,
};
use crate::commands::Reply;
use crate::commands::reply::Embed;
use crate::ids::{MessageId, RoleId};
use crate::rest::{DiscordError, DiscordErrorKind, DiscordRest};
use crate::store::{AuditAction, AuditLog, NewAuditEntry};
use crate::{Error, Result};

/// Discord's JSON error code for a message that does not exist (deleted).
const UNKNOWN_MESSAGE: u32 = 10008;
/// Discord's JSON error code for "Cannot edit a message authored by another user".
const OTHER_AUTHOR: u32 = 50005;
/// Characters of one embed description.
const DESCRIPTION_LIMIT: usize = 4096;
/// Embeds in one message.
const EMBEDS_LIMIT: usize = 10;
/// Characters of all embeds of one message.
const EMBED_TOTAL_LIMIT: usize = 6000;
/// Characters of one digest line (longer lines are cut with "…").
const DIGEST_LINE_LIMIT: usize = 500;
/// Characters of the message content (the role mentions of a digest).
const CONTENT_LIMIT: usize = 2000;

/// How a [`DeliveryWorker`] leases, retries and combines.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryOptions {
    /// How long a lease holds a channel (default 60 s). Must outlast a REST call (its budget)
    /// so a slow call does not let another worker take the channel meanwhile.
    pub lease_secs: i64,
    /// Deliveries taken per lease (default 50).
    pub max_items: u32,
    /// Attempts before a delivery is dead-lettered (default 10).
    pub max_attempts: u32,
    /// First retry delay after a 5xx or network error (default 2 s); doubled per attempt.
    pub backoff_base: Duration,
    /// Longest retry delay (default 15 min).
    pub backoff_max: Duration,
    /// Plain deliveries of one kind in one lease from which a digest is posted instead
    /// (default 5; 0 or 1 would digest everything, so values below 2 mean 2).
    pub digest_threshold: usize,
    /// How long [`DeliveryWorker::run`] sleeps when nothing is due and nobody pokes it
    /// (default 30 s): the next due retry is waited for exactly; this catches leases that
    /// lapsed and deliveries queued by another process.
    pub idle_poll: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            lease_secs: 60,
            max_items: 50,
            max_attempts: 10,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(15 * 60),
            digest_threshold: 5,
            idle_poll: Duration::from_secs(30),
        }
    }
}

impl DeliveryOptions {
    /// Sets [`DeliveryOptions::lease_secs`].
    pub fn lease_secs(mut self, secs: i64) -> Self {
        self.lease_secs = secs;
        self
    }

    /// Sets [`DeliveryOptions::max_items`].
    pub fn max_items(mut self, n: u32) -> Self {
        self.max_items = n;
        self
    }

    /// Sets [`DeliveryOptions::max_attempts`].
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets [`DeliveryOptions::backoff_base`] and [`DeliveryOptions::backoff_max`].
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }

    /// Sets [`DeliveryOptions::digest_threshold`].
    pub fn digest_threshold(mut self, n: usize) -> Self {
        self.digest_threshold = n;
        self
    }

    /// Sets [`DeliveryOptions::idle_poll`].
    pub fn idle_poll(mut self, poll: Duration) -> Self {
        self.idle_poll = poll;
        self
    }
}

/// Builds a [`DeliveryWorker`]; the store and the REST client are required.
#[derive(Default)]
pub struct DeliveryWorkerBuilder {
    store: Option<Arc<dyn NotificationStore>>,
    rest: Option<Arc<dyn DiscordRest>>,
    audit: Option<Arc<dyn AuditLog>>,
    metrics: Option<NotifyMetrics>,
    clock: Option<Arc<dyn Clock>>,
    worker_id: Option<WorkerId>,
    options: DeliveryOptions,
    wake: Option<Arc<Notify>>,
}

impl fmt::Debug for DeliveryWorkerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryWorkerBuilder")
            .field("worker_id", &self.worker_id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl DeliveryWorkerBuilder {
    /// The outbox (required).
    pub fn store(mut self, store: Arc<dyn NotificationStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The Discord client (required).
    pub fn rest(mut self, rest: Arc<dyn DiscordRest>) -> Self {
        self.rest = Some(rest);
        self
    }

    /// The audit log that gets an entry per delivered or dead-lettered delivery (optional).
    pub fn audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The metrics to count into (default: a private set).
    pub fn metrics(mut self, metrics: NotifyMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The clock (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The lease holder's id; unique per worker (default: `deliver-{pid}-{random}`).
    pub fn worker_id(mut self, id: WorkerId) -> Self {
        self.worker_id = Some(id);
        self
    }

    /// Leasing, retry and digest options.
    pub fn options(mut self, options: DeliveryOptions) -> Self {
        self.options = options;
        self
    }

    /// The [`Notify`] that wakes [`DeliveryWorker::run`] (share one between the router and
    /// several workers; default: a fresh one, see [`DeliveryWorker::waker`]).
    pub fn wake(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Builds the worker.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the store or the REST client is missing, or the options
    /// are out of range (lease under 1 s, no items, no attempts).
    pub fn build(self) -> Result<DeliveryWorker> {
        let store = self
            .store
            .ok_or_else(|| Error::invalid_input("store", "a delivery worker needs a store"))?;
        let rest = self
            .rest
            .ok_or_else(|| Error::invalid_input("rest", "a delivery worker needs a REST client"))?;
        let o = &self.options;
        if o.lease_secs < 1 {
            return Err(Error::invalid_input(
                "lease_secs",
                "the lease must last at least 1 s",
            ));
        }
        if o.max_items == 0 || o.max_attempts == 0 {
            return Err(Error::invalid_input(
                "max_items",
                "max_items and max_attempts must be at least 1",
            ));
        }
        let worker_id = self.worker_id.unwrap_or_else(|| {
            WorkerId(format!("deliver-{}-{:x}", std::process::id(), random_u64()))
        });
        Ok(DeliveryWorker {
            store,
            rest,
            audit: self.audit,
            metrics: self.metrics.unwrap_or_default(),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            worker_id,
            options: self.options,
            wake: self.wake.unwrap_or_default(),
            next_due: Mutex::new(None),
        })
    }
}

/// A delivery worker: see the [module documentation](self).
pub struct DeliveryWorker {
    store: Arc<dyn NotificationStore>,
    rest: Arc<dyn DiscordRest>,
    audit: Option<Arc<dyn AuditLog>>,
    metrics: NotifyMetrics,
    clock: Arc<dyn Clock>,
    worker_id: WorkerId,
    options: DeliveryOptions,
    wake: Arc<Notify>,
    /// The earliest retry time this worker scheduled and has not reached yet.
    next_due: Mutex<Option<i64>>,
}

impl fmt::Debug for DeliveryWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryWorker")
            .field("worker_id", &self.worker_id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One step of a lease: a single delivery, or a digest of several (indexes into the lease).
enum Step {
    Single(usize),
    Digest(Vec<usize>),
}

/// How a failed attempt is classified.
enum Failure {
    /// Retry no earlier than the given number of seconds from now (rate limited).
    RetryAfter(i64, String),
    /// Retry with backoff.
    Transient(String),
    /// This delivery can never succeed.
    Permanent(String),
    /// The channel (or its webhook) is gone or closed to the bot: this delivery and the rest
    /// of the batch are dead.
    ChannelGone(String),
}

impl DeliveryWorker {
    /// A builder.
    pub fn builder() -> DeliveryWorkerBuilder {
        DeliveryWorkerBuilder::default()
    }

    /// The [`Notify`] that wakes [`DeliveryWorker::run`]; the router calls `notify_waiters`
    /// (or `notify_one`) on it after queueing deliveries.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// This worker's lease id.
    pub fn worker_id(&self) -> &WorkerId {
        &self.worker_id
    }

    /// Leases one due channel, delivers its batch and records the outcomes. `false` when
    /// nothing was due.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails (leasing or recording; an unrecorded batch is
    /// leased again after its lease lapses, and bot messages are not posted twice thanks to
    /// their nonce). A lease lost to another worker ([`Error::Conflict`] from
    /// [`NotificationStore::finish`]) is logged, not returned.
    pub async fn run_once(&self) -> Result<bool> {
        let now = self.clock.now_unix();
        let Some(lease) = self
            .store
            .lease_channel(
                &self.worker_id,
                now,
                self.options.lease_secs,
                self.options.max_items,
            )
            .await?
        else {
            return Ok(false);
        };
        let span = tracing::info_span!(
            "notify.deliver",
            worker = %self.worker_id,
            channel = %lease.channel,
            items = lease.items.len(),
        );
        async {
            let outcomes = self.deliver(&lease).await;
            let finished = self.clock.now_unix();
            match self.store.finish(&lease, &outcomes, finished).await {
                Ok(()) => {}
                Err(e @ Error::Conflict { .. }) => {
                    tracing::warn!(error = %e, "the lease lapsed before the batch was recorded");
                    return Ok(true);
                }
                Err(e) => return Err(e),
            }
            self.account(&lease, &outcomes, finished).await;
            Ok(true)
        }
        .instrument(span)
        .await
    }

    /// Runs until `shutdown` completes: delivers while something is due, then waits for a
    /// poke on [`DeliveryWorker::waker`], the next retry this worker scheduled, or
    /// [`DeliveryOptions::idle_poll`]. Several workers are several tasks (or processes) on
    /// one store. A batch in progress is finished before it stops.
    pub async fn run<F>(self, shutdown: F)
    where
        F: std::future::Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        let mut failures: u32 = 0;
        loop {
            let delay = match self.run_once().await {
                Ok(true) => {
                    failures = 0;
                    tokio::select! {
                        biased;
                        () = &mut shutdown => return,
                        () = std::future::ready(()) => continue,
                    }
                }
                Ok(false) => {
                    failures = 0;
                    self.idle_delay()
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, worker = %self.worker_id, "delivery failed; the store is unavailable");
                    backoff(&self.options, failures, 0)
                }
            };
            let notified = self.wake.notified();
            tokio::select! {
                () = &mut shutdown => return,
                () = notified => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// How long to wait when nothing is due.
    fn idle_delay(&self) -> Duration {
        let now = self.clock.now_unix();
        let mut next = self.next_due.lock().unwrap_or_else(|p| p.into_inner());
        match *next {
            Some(at) if at > now => {
                let secs = u64::try_from(at - now).unwrap_or(u64::MAX);
                Duration::from_secs(secs).min(self.options.idle_poll)
            }
            Some(_) => {
                *next = None;
                self.options.idle_poll
            }
            None => self.options.idle_poll,
        }
    }

    /// Delivers a leased batch; returns an outcome for each delivery attempted (the ones
    /// after a retry are left out and stay queued).
    async fn deliver(&self, lease: &ChannelLease) -> Vec<(DeliveryId, DeliveryOutcome)> {
        let items = &lease.items;
        let mut outcomes = Vec::with_capacity(items.len());
        // Messages posted in this lease per thread key: a later state of the same meeting in
        // the same batch edits the message an earlier one just posted.
        let mut threads: HashMap<String, MessageId> = HashMap::new();
        let steps = plan(items, self.options.digest_threshold.max(2));
        let mut steps = steps.into_iter();
        while let Some(step) = steps.next() {
            // Never post on a lease that lapsed (another worker may hold the channel now):
            // what is left stays queued for the next lease.
            if self.clock.now_unix() >= lease.expires_at {
                tracing::warn!(
                    done = outcomes.len(),
                    "the lease lapsed during the batch; the rest waits"
                );
                break;
            }
            let indexes: Vec<usize> = match &step {
                Step::Single(i) => vec![*i],
                Step::Digest(list) => list.clone(),
            };
            let result = match &step {
                Step::Single(i) => match items.get(*i) {
                    Some(d) => self.deliver_one(lease, d, &mut threads).await,
                    None => continue,
                },
                Step::Digest(list) => {
                    let group: Vec<&Delivery> = list.iter().filter_map(|i| items.get(*i)).collect();
                    self.deliver_digest(lease, &group).await
                }
            };
            let group: Vec<&Delivery> = indexes.iter().filter_map(|i| items.get(*i)).collect();
            match result {
                Ok(message) => {
                    for d in group {
                        outcomes.push((d.id, DeliveryOutcome::Delivered { message }));
                    }
                }
                Err(failure) => {
                    let now = self.clock.now_unix();
                    let stop = self.fail(&group, failure, now, &mut outcomes);
                    match stop {
                        Stop::Continue => {}
                        Stop::Retry => break,
                        Stop::ChannelGone(reason) => {
                            for step in steps.by_ref() {
                                let rest: Vec<usize> = match step {
                                    Step::Single(i) => vec![i],
                                    Step::Digest(list) => list,
                                };
                                for d in rest.iter().filter_map(|i| items.get(*i)) {
                                    outcomes.push((
                                        d.id,
                                        DeliveryOutcome::Dead {
                                            reason: reason.clone(),
                                        },
                                    ));
                                }
                            }
                            break;
                        }
                    }
                }
            }
        }
        outcomes
    }

    /// Records a failed step's outcomes and says whether the channel goes on.
    fn fail(
        &self,
        group: &[&Delivery],
        failure: Failure,
        now: i64,
        outcomes: &mut Vec<(DeliveryId, DeliveryOutcome)>,
    ) -> Stop {
        let attempts = group.iter().map(|d| d.attempts).max().unwrap_or(0) + 1;
        let (at, reason) = match failure {
            Failure::Permanent(reason) => {
                for d in group {
                    outcomes.push((
                        d.id,
                        DeliveryOutcome::Dead {
                            reason: reason.clone(),
                        },
                    ));
                }
                return Stop::Continue;
            }
            Failure::ChannelGone(reason) => {
                for d in group {
                    outcomes.push((
                        d.id,
                        DeliveryOutcome::Dead {
                            reason: reason.clone(),
                        },
                    ));
                }
                return Stop::ChannelGone(reason);
            }
            Failure::RetryAfter(secs, reason) => (now.saturating_add(secs.max(1)), reason),
            Failure::Transient(reason) => {
                let delay = backoff(&self.options, attempts, group.first().map_or(0, |d| d.id.0));
                let secs = i64::try_from(delay.as_secs()).unwrap_or(i64::MAX).max(1);
                (now.saturating_add(secs), reason)
            }
        };
        if attempts >= self.options.max_attempts {
            let reason = format!("gave up after {attempts} attempts: {reason}");
            for d in group {
                outcomes.push((
                    d.id,
                    DeliveryOutcome::Dead {
                        reason: reason.clone(),
                    },
                ));
            }
            // Later deliveries may go on: this one no longer holds the channel.
            return Stop::Continue;
        }
        for d in group {
            outcomes.push((
                d.id,
                DeliveryOutcome::Retry {
                    at,
                    reason: reason.clone(),
                },
            ));
        }
        let mut next = self.next_due.lock().unwrap_or_else(|p| p.into_inner());
        *next = Some(next.map_or(at, |n| n.min(at)));
        Stop::Retry
    }

    /// Posts (or edits) one delivery.
    async fn deliver_one(
        &self,
        lease: &ChannelLease,
        d: &Delivery,
        threads: &mut HashMap<String, MessageId>,
    ) -> std::result::Result<MessageId, Failure> {
        let new = &d.new;
        let existing = new
            .thread_key
            .as_ref()
            .and_then(|k| threads.get(k).copied())
            .or(d.thread_message);
        if let Some(message) = existing {
            let edited = match &new.webhook {
                Some(webhook) => {
                    self.rest
                        .edit_webhook_message(webhook, message, &new.message)
                        .await
                }
                None => {
                    self.rest
                        .edit_message(lease.channel, message, &new.message)
                        .await
                }
            };
            match edited {
                Ok(()) => return Ok(message),
                Err(Error::Discord(e)) if message_gone(&e) => {
                    tracing::info!(delivery = %d.id, message = %message, "the living message was deleted; posting a new one");
                }
                Err(e) => return Err(classify(&e)),
            }
        }
        let posted = match &new.webhook {
            Some(webhook) => self.rest.execute_webhook(webhook, &new.message).await,
            None => {
                self.rest
                    .create_message_once(lease.channel, &new.message, &nonce(d.id, 0))
                    .await
            }
        }
        .map_err(|e| classify(&e))?;
        if let Some(key) = &new.thread_key {
            threads.insert(key.clone(), posted);
        }
        Ok(posted)
    }

    /// Posts a digest of a burst; the id of its first message.
    async fn deliver_digest(
        &self,
        lease: &ChannelLease,
        group: &[&Delivery],
    ) -> std::result::Result<MessageId, Failure> {
        let Some(first) = group.first() else {
            return Err(Failure::Permanent("an empty digest".to_owned()));
        };
        let replies = digest_replies(first.new.kind, group);
        let mut first_message = None;
        for (part, reply) in replies.iter().enumerate() {
            let posted = match &first.new.webhook {
                Some(webhook) => self.rest.execute_webhook(webhook, reply).await,
                None => {
                    self.rest
                        .create_message_once(lease.channel, reply, &nonce(first.id, part))
                        .await
                }
            }
            .map_err(|e| classify(&e))?;
            first_message.get_or_insert(posted);
        }
        first_message.ok_or_else(|| Failure::Permanent("an empty digest".to_owned()))
    }

    /// Metrics and audit entries for a recorded batch.
    async fn account(
        &self,
        lease: &ChannelLease,
        outcomes: &[(DeliveryId, DeliveryOutcome)],
        now: i64,
    ) {
        let by_id: HashMap<DeliveryId, &Delivery> = lease.items.iter().map(|d| (d.id, d)).collect();
        for (id, outcome) in outcomes {
            let Some(d) = by_id.get(id) else { continue };
            let entry = match outcome {
                DeliveryOutcome::Delivered { message } => {
                    // The event's receipt is not on the delivery; it is queued right after.
                    let latency = now.saturating_sub(d.queued_at);
                    #[allow(clippy::cast_precision_loss)]
                    self.metrics.delivered(latency as f64);
                    tracing::debug!(delivery = %id, message = %message, "delivered");
                    Some((
                        AuditAction::NotificationDelivered,
                        serde_json::json!({
                            "delivery": id.0,
                            "channel": lease.channel.to_string(),
                            "kind": d.new.kind.as_str(),
                            "subject": d.new.subject_key,
                            "message": message.to_string(),
                        }),
                    ))
                }
                DeliveryOutcome::Retry { at, reason } => {
                    self.metrics.retried();
                    tracing::info!(delivery = %id, at, reason = %reason, "delivery retried later");
                    None
                }
                DeliveryOutcome::Dead { reason } => {
                    self.metrics.dead_lettered();
                    tracing::warn!(delivery = %id, reason = %reason, "delivery dead-lettered");
                    Some((
                        AuditAction::NotificationFailed,
                        serde_json::json!({
                            "delivery": id.0,
                            "channel": lease.channel.to_string(),
                            "kind": d.new.kind.as_str(),
                            "subject": d.new.subject_key,
                            "reason": reason,
                        }),
                    ))
                }
                DeliveryOutcome::Skipped { .. } => {
                    self.metrics.skipped();
                    None
                }
            };
            if let (Some(audit), Some((action, detail))) = (&self.audit, entry) {
                let appended = audit
                    .append(NewAuditEntry {
                        guild: d.new.guild,
                        actor: None,
                        action,
                        detail,
                    })
                    .await;
                if let Err(e) = appended {
                    tracing::warn!(error = %e, delivery = %id, "the audit entry could not be written");
                }
            }
        }
    }
}

/// Whether the channel goes on after a failed step.
enum Stop {
    Continue,
    Retry,
    ChannelGone(String),
}

/// Splits a batch into steps: kinds with at least `threshold` plain deliveries (no thread
/// key) to one target become one digest, placed where the first of them was.
fn plan(items: &[Delivery], threshold: usize) -> Vec<Step> {
    type Key = (EventKind, Option<u64>);
    let key = |d: &Delivery| -> Option<Key> {
        d.new
            .thread_key
            .is_none()
            .then(|| (d.new.kind, d.new.webhook.as_ref().map(|w| w.id())))
    };
    let mut counts: HashMap<Key, usize> = HashMap::new();
    for k in items.iter().filter_map(key) {
        *counts.entry(k).or_default() += 1;
    }
    let mut groups: HashMap<Key, Vec<usize>> = HashMap::new();
    let mut order: Vec<Result<usize, Key>> = Vec::new();
    for (i, d) in items.iter().enumerate() {
        match key(d) {
            Some(k) if counts.get(&k).copied().unwrap_or(0) >= threshold => {
                let list = groups.entry(k).or_default();
                if list.is_empty() {
                    order.push(Err(k));
                }
                list.push(i);
            }
            _ => order.push(Ok(i)),
        }
    }
    order
        .into_iter()
        .map(|o| match o {
            Ok(i) => Step::Single(i),
            Err(k) => Step::Digest(groups.remove(&k).unwrap_or_default()),
        })
        .collect()
}

/// The digest's heading for `n` deliveries of `kind`.
fn digest_title(kind: EventKind, n: usize) -> String {
    match kind {
        EventKind::EntryReady => format!("{n} new videos"),
        EventKind::EntryAddedToCategory => format!("{n} videos added to the category"),
        EventKind::EntryChanged => format!("{n} videos updated"),
        EventKind::CaptionsReady => format!("Captions ready for {n} videos"),
        EventKind::MeetingScheduled => format!("{n} meetings scheduled"),
        EventKind::MeetingLive => format!("{n} meetings live"),
        EventKind::MeetingEnded => format!("{n} meetings ended"),
        EventKind::RecordingReady => format!("{n} meeting recordings ready"),
    }
}

/// One line of a delivery in a digest: its digest line, else its first embed's title, else
/// its content, else its subject.
fn digest_line(d: &Delivery) -> String {
    let m = &d.new.message;
    let line = d
        .new
        .digest_line
        .clone()
        .or_else(|| m.embeds.first().and_then(|e| e.title.clone()))
        .or_else(|| m.content.clone())
        .unwrap_or_else(|| d.new.subject_key.clone());
    let line = line.replace(['\n', '\r'], " ");
    cut(&line, DIGEST_LINE_LIMIT)
}

fn cut(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The digest message(s) of a burst: the union of the roles pinged once in the content of
/// the first message, the lines in embed descriptions, split only where Discord's limits
/// require.
fn digest_replies(kind: EventKind, group: &[&Delivery]) -> Vec<Reply> {
    let roles: BTreeSet<RoleId> = group
        .iter()
        .flat_map(|d| d.new.message.allowed_mentions.roles.iter().copied())
        .collect();
    let title = digest_title(kind, group.len());
    let mut replies: Vec<Reply> = Vec::new();
    let mut embeds: Vec<Embed> = Vec::new();
    let mut description = String::new();
    let mut total = title.chars().count();
    let mut desc_len = 0usize;
    let flush_embed = |embeds: &mut Vec<Embed>, description: &mut String, first: bool| {
        let mut embed = Embed::default();
        if first {
            embed.title = Some(title.clone());
        }
        embed.description = Some(std::mem::take(description));
        embeds.push(embed);
    };
    let mut titled = false;
    for d in group {
        let line = digest_line(d);
        let len = line.chars().count() + 1;
        if desc_len > 0 && desc_len + len > DESCRIPTION_LIMIT {
            flush_embed(&mut embeds, &mut description, !titled);
            titled = true;
            desc_len = 0;
        }
        if total + len > EMBED_TOTAL_LIMIT || embeds.len() >= EMBEDS_LIMIT {
            if desc_len > 0 {
                flush_embed(&mut embeds, &mut description, !titled);
                titled = true;
                desc_len = 0;
            }
            replies.push(Reply {
                embeds: std::mem::take(&mut embeds),
                ..Reply::default()
            });
            total = 0;
        }
        if desc_len > 0 {
            description.push('\n');
        }
        description.push_str(&line);
        desc_len += len;
        total += len;
    }
    if desc_len > 0 {
        flush_embed(&mut embeds, &mut description, !titled);
    }
    if !embeds.is_empty() {
        replies.push(Reply {
            embeds,
            ..Reply::default()
        });
    }
    if let Some(first) = replies.first_mut()
        && !roles.is_empty()
    {
        let mut content = String::new();
        let mut pinged = Vec::new();
        for role in &roles {
            let mention = format!("<@&{role}> ");
            if content.chars().count() + mention.len() > CONTENT_LIMIT {
                break;
            }
            content.push_str(&mention);
            pinged.push(*role);
        }
        first.content = Some(content.trim_end().to_owned());
        first.allowed_mentions.roles = pinged;
    }
    replies
}

/// The nonce of a delivery's message (`kd-{id}`), or of a digest's later part
/// (`kd-{id}-{part}`); at most 25 characters.
fn nonce(id: DeliveryId, part: usize) -> String {
    let n = if part == 0 {
        format!("kd-{id}")
    } else {
        format!("kd-{id}-{part}")
    };
    if n.len() <= crate::rest::MAX_NONCE_LEN {
        n
    } else {
        // Only for ids of 20 digits: shorten in base 36.
        format!("kd{}-{part}", base36(id.0.unsigned_abs()))
    }
}

fn base36(mut v: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        let d = usize::try_from(v % 36).unwrap_or(0);
        out.push(DIGITS.get(d).copied().unwrap_or(b'0'));
        v /= 36;
        if v == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Whether an edit failed because the message is gone (a moderator deleted it), as opposed
/// to the channel or webhook; or because its author is not the one editing now (the route
/// moved between the bot and a channel webhook since it was posted). Either way a new
/// message is posted.
fn message_gone(e: &DiscordError) -> bool {
    match e.kind {
        DiscordErrorKind::NotFound => e.code.is_none_or(|c| c == UNKNOWN_MESSAGE),
        DiscordErrorKind::Forbidden => e.code == Some(OTHER_AUTHOR),
        _ => false,
    }
}

/// Classifies a failed REST call.
fn classify(e: &Error) -> Failure {
    let reason = e.to_string();
    match e {
        Error::Discord(d) => match d.kind {
            DiscordErrorKind::RateLimited => match d.retry_after {
                Some(wait) => {
                    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                    Failure::RetryAfter(i64::try_from(secs).unwrap_or(i64::MAX), reason)
                }
                None => Failure::Transient(reason),
            },
            DiscordErrorKind::NotFound | DiscordErrorKind::Forbidden => {
                Failure::ChannelGone(reason)
            }
            DiscordErrorKind::Rejected => Failure::Permanent(reason),
            _ => Failure::Transient(reason),
        },
        Error::InvalidInput { .. } => Failure::Permanent(reason),
        _ => Failure::Transient(reason),
    }
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts-1), capped, with jitter (a
/// random part of up to half of it removed, so retries of many deliveries spread out).
fn backoff(options: &DeliveryOptions, attempts: u32, salt: i64) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let full = options
        .backoff_base
        .saturating_mul(1u32 << exp)
        .min(options.backoff_max);
    let millis = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(salt);
    h.write_u32(attempts);
    let jitter = match millis / 2 {
        0 => 0,
        half => h.finish() % half,
    };
    Duration::from_millis(millis - jitter).max(options.backoff_base.min(full))
}

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ChannelId, GuildId};
    use crate::notify::{EventId, NewDelivery};

    fn delivery(id: i64, kind: EventKind, thread: Option<&str>, line: &str) -> Delivery {
        Delivery {
            id: DeliveryId(id),
            new: NewDelivery {
                event: EventId(id),
                guild: GuildId::new(1).unwrap_or_else(|| unreachable!()),
                channel: ChannelId::new(2).unwrap_or_else(|| unreachable!()),
                webhook: None,
                kind,
                subject_key: format!("{kind}:{id}"),
                thread_key: thread.map(str::to_owned),
                message: Reply::text(line),
                digest_line: Some(line.to_owned()),
            },
            attempts: 0,
            queued_at: 0,
            thread_message: None,
        }
    }

    #[test]
    fn bursts_of_one_kind_become_one_digest_in_place() {
        let mut items = vec![delivery(1, EventKind::EntryChanged, None, "c")];
        for i in 2..8 {
            items.push(delivery(i, EventKind::EntryReady, None, "r"));
        }
        items.push(delivery(
            8,
            EventKind::MeetingLive,
            Some("meeting:1:2"),
            "m",
        ));
        let steps = plan(&items, 5);
        let shape: Vec<String> = steps
            .iter()
            .map(|s| match s {
                Step::Single(i) => format!("s{i}"),
                Step::Digest(l) => format!("d{}", l.len()),
            })
            .collect();
        assert_eq!(shape, ["s0", "d6", "s7"]);
        // Below the threshold, nothing is combined.
        assert_eq!(plan(&items[..4], 5).len(), 4);
    }

    #[test]
    fn digests_respect_discord_limits_and_ping_once() {
        let role = RoleId::new(77).unwrap_or_else(|| unreachable!());
        let items: Vec<Delivery> = (1..=200)
            .map(|i| {
                let mut d = delivery(i, EventKind::EntryReady, None, &"x".repeat(400));
                d.new.message.allowed_mentions.roles = vec![role];
                d
            })
            .collect();
        let group: Vec<&Delivery> = items.iter().collect();
        let replies = digest_replies(EventKind::EntryReady, &group);
        assert!(replies.len() > 1);
        let mut lines = 0;
        for (n, r) in replies.iter().enumerate() {
            assert!(r.embeds.len() <= EMBEDS_LIMIT);
            let total: usize = r
                .embeds
                .iter()
                .map(|e| {
                    let d = e.description.as_deref().unwrap_or_default().chars().count();
                    assert!(d <= DESCRIPTION_LIMIT);
                    d + e.title.as_deref().unwrap_or_default().chars().count()
                })
                .sum();
            assert!(total <= EMBED_TOTAL_LIMIT, "{total}");
            lines += r
                .embeds
                .iter()
                .map(|e| e.description.as_deref().unwrap_or_default().lines().count())
                .sum::<usize>();
            if n == 0 {
                assert_eq!(r.content.as_deref(), Some("<@&77>"));
                assert_eq!(r.allowed_mentions.roles, vec![role]);
            } else {
                assert!(r.content.is_none());
                assert!(r.allowed_mentions.roles.is_empty());
            }
        }
        assert_eq!(lines, 200);
        assert_eq!(
            replies
                .first()
                .and_then(|r| r.embeds.first())
                .and_then(|e| e.title.as_deref()),
            Some("200 new videos")
        );
        // 50 short lines fit one message.
        let short: Vec<Delivery> = (1..=50)
            .map(|i| delivery(i, EventKind::EntryReady, None, "**Intro** (3:20)"))
            .collect();
        let group: Vec<&Delivery> = short.iter().collect();
        assert_eq!(digest_replies(EventKind::EntryReady, &group).len(), 1);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_bounds() {
        let o = DeliveryOptions::default();
        for attempts in 1..40 {
            let d = backoff(&o, attempts, 7);
            assert!(d <= o.backoff_max, "{d:?}");
            assert!(d >= o.backoff_base, "{d:?}");
        }
        let first = backoff(&o, 1, 1);
        assert!(first <= Duration::from_secs(2) && first >= Duration::from_secs(1));
        let fifth = backoff(&o, 5, 1);
        assert!(fifth >= Duration::from_secs(16) && fifth <= Duration::from_secs(32));
    }

    #[test]
    fn nonces_fit_discord_and_differ_per_part() {
        assert_eq!(nonce(DeliveryId(42), 0), "kd-42");
        assert_eq!(nonce(DeliveryId(42), 3), "kd-42-3");
        for part in [0, 1, 99] {
            let n = nonce(DeliveryId(i64::MAX), part);
            assert!(n.len() <= crate::rest::MAX_NONCE_LEN, "{n}");
            assert!(crate::rest::check_nonce(&n).is_ok());
        }
        assert_ne!(
            nonce(DeliveryId(i64::MAX), 1),
            nonce(DeliveryId(i64::MAX), 2)
        );
    }

    #[test]
    fn failures_are_classified() {
        let rl = Error::Discord(
            DiscordError::new("x", DiscordErrorKind::RateLimited)
                .with_retry_after(Duration::from_millis(2500)),
        );
        assert!(matches!(classify(&rl), Failure::RetryAfter(3, _)));
        let gone =
            Error::Discord(DiscordError::new("x", DiscordErrorKind::NotFound).with_code(10003));
        assert!(matches!(classify(&gone), Failure::ChannelGone(_)));
        let bad = Error::Discord(DiscordError::new("x", DiscordErrorKind::Rejected));
        assert!(matches!(classify(&bad), Failure::Permanent(_)));
        let down = Error::Discord(DiscordError::new("x", DiscordErrorKind::Unavailable));
        assert!(matches!(classify(&down), Failure::Transient(_)));
        assert!(message_gone(
            &DiscordError::new("x", DiscordErrorKind::NotFound).with_code(UNKNOWN_MESSAGE)
        ));
        assert!(!message_gone(
            &DiscordError::new("x", DiscordErrorKind::NotFound).with_code(10003)
        ));
        assert!(!message_gone(
            &DiscordError::new("x", DiscordErrorKind::NotFound).with_code(10015)
        ));
        assert!(message_gone(
            &DiscordError::new("x", DiscordErrorKind::Forbidden).with_code(OTHER_AUTHOR)
        ));
        assert!(!message_gone(
            &DiscordError::new("x", DiscordErrorKind::Forbidden).with_code(50001)
        ));
    }
}
