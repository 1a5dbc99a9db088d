//! Group commit of received notifications: many concurrent webhook requests, one store
//! transaction.
//!
//! Every request hands its parsed [`InboundEvent`] to the [`Ingestor`] and waits. One task
//! drains the bounded queue: whatever is waiting (up to [`IngestOptions::max_batch`]) is
//! committed with a single [`NotificationStore::ingest_batch`] call, and only then is each
//! waiter answered. Under load this turns thousands of fsyncs into a few, without delaying a
//! lone request (a batch is committed as soon as the previous one is done; nothing waits for
//! a batch to fill).
//!
//! - A full queue or a closed ingestor is refused at once ([`crate::Error::Store`] of kind
//!   [`StoreErrorKind::Unavailable`]): the receiver answers 503 and Kaltura retries later.
//! - A failed batch fails every waiter in it: nothing is acknowledged that was not committed.
//!
//! ```no_run
//! # async fn run(store: std::sync::Arc<dyn kaltura_discord::notify::NotificationStore>,
//! #              event: kaltura_discord::notify::InboundEvent) -> kaltura_discord::Result<()> {
//! use kaltura_discord::notify::Ingested;
//! use kaltura_discord::notify::ingest::{IngestOptions, Ingestor};
//!
//! let ingestor = Ingestor::start(store, IngestOptions::default());
//! match ingestor.submit(event).await? {
//!     Ingested::New(id) => println!("committed as {id}"),
//!     Ingested::Duplicate(id) => println!("already had it as {id}"),
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use super::{InboundEvent, Ingested, NotificationStore};
use crate::Result;
use crate::error::{Error, StoreError, StoreErrorKind};

/// How an [`Ingestor`] batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestOptions {
    /// Most events committed in one store call (default 256).
    pub max_batch: usize,
    /// Most events waiting for a commit; more are refused (default 10,000).
    pub queue_capacity: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_batch: 256,
            queue_capacity: 10_000,
        }
    }
}

impl IngestOptions {
    /// Sets [`IngestOptions::max_batch`] (at least 1).
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// Sets [`IngestOptions::queue_capacity`] (at least 1).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }
}

struct Job {
    event: InboundEvent,
    reply: oneshot::Sender<Result<Ingested>>,
}

/// Commits received events in groups; cheap to clone (all clones feed one task). The task
/// ends when every clone is dropped, after committing what was queued.
#[derive(Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<Job>,
    options: IngestOptions,
}

impl fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ingestor")
            .field("options", &self.options)
            .field("queued", &self.queued())
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

impl Ingestor {
    /// Starts the committing task on the current tokio runtime.
    ///
    /// Called outside a runtime it logs an error and returns a closed ingestor, whose
    /// [`submit`](Self::submit) always fails (so the receiver answers 503).
    pub fn start(store: Arc<dyn NotificationStore>, options: IngestOptions) -> Ingestor {
        let options = IngestOptions::default()
            .max_batch(options.max_batch)
            .queue_capacity(options.queue_capacity);
        let (tx, rx) = mpsc::channel(options.queue_capacity);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let span = tracing::info_span!("notify_ingest", max_batch = options.max_batch);
                handle.spawn(run(store, rx, options.max_batch).instrument(span));
            }
            Err(_) => {
                tracing::error!("Ingestor::start called outside a tokio runtime; it is closed");
                drop(rx);
            }
        }
        Ingestor { tx, options }
    }

    /// Queues `event`, waits for the batch it lands in to be committed, and answers whether
    /// it is new or a duplicate of one already received.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] of kind [`StoreErrorKind::Unavailable`] when the queue is full
    /// or the ingestor is closed (nothing was queued); the store's error (kind preserved)
    /// when the batch could not be committed. In every error case the event is not
    /// acknowledged and the sender should retry.
    pub async fn submit(&self, event: InboundEvent) -> Result<Ingested> {
        let (reply, answer) = oneshot::channel();
        match self.tx.try_send(Job { event, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(unavailable("queueing a notification (the queue is full)"));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(unavailable(
                    "queueing a notification (the ingestor is closed)",
                ));
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(unavailable(
                "committing a notification (the ingestor stopped)",
            ))
        })
    }

    /// Events waiting to be committed now.
    pub fn queued(&self) -> usize {
        self.options
            .queue_capacity
            .saturating_sub(self.tx.capacity())
    }

    /// The options in force.
    pub fn options(&self) -> IngestOptions {
        self.options
    }
}

fn unavailable(operation: &'static str) -> Error {
    Error::Store(StoreError::without_source(
        operation,
        StoreErrorKind::Unavailable,
    ))
}

async fn run(store: Arc<dyn NotificationStore>, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(store.as_ref(), &mut batch).await;
    }
    tracing::debug!("ingestor closed");
}

async fn commit(store: &dyn NotificationStore, batch: &mut Vec<Job>) {
    let (events, replies): (Vec<InboundEvent>, Vec<oneshot::Sender<Result<Ingested>>>) =
        batch.drain(..).map(|j| (j.event, j.reply)).unzip();
    let size = events.len();
    match store.ingest_batch(&events).await {
        Ok(answers) if answers.len() == size => {
            tracing::trace!(size, "batch committed");
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A waiter that went away (its connection closed) needs no answer.
                let _ = reply.send(Ok(answer));
            }
        }
        Ok(answers) => {
            tracing::error!(
                size,
                answers = answers.len(),
                "the store answered a batch with the wrong number of results"
            );
            for reply in replies {
                let _ = reply.send(Err(Error::Store(StoreError::without_source(
                    "committing notifications (the store answered the wrong number of results)",
                    StoreErrorKind::Other,
                ))));
            }
        }
        Err(e) => {
            let kind = match &e {
                Error::Store(s) => s.kind(),
                _ => StoreErrorKind::Other,
            };
            tracing::warn!(size, error = %e, "batch of notifications not committed");
            let reason = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(Error::Store(StoreError::new(
                    "committing notifications",
                    kind,
                    reason.clone(),
                ))));
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use async_trait::async_trait;
    use kaltura_client::PartnerId;
    use tokio::sync::Notify;

    use super::*;
    use crate::ids::{ChannelId, GuildId};
    use crate::notify::{
        ChannelLease, DeliveryId, DeliveryOutcome, DeliveryRecord, EventId, EventKind, OutboxStats,
        RouteResult, RoutedEvent, StoredEvent, Subscription, SubscriptionId, WorkerId,
    };

    /// A small in-memory inbox (only the ingest side of the contract), with a switch that
    /// makes it fail and a gate that holds commits until opened.
    #[derive(Default)]
    pub(crate) struct MemoryInbox {
        events: Mutex<Vec<InboundEvent>>,
        keys: Mutex<HashMap<(i64, String), EventId>>,
        pub(crate) batches: Mutex<Vec<usize>>,
        pub(crate) fail: AtomicBool,
        pub(crate) hold: AtomicBool,
        pub(crate) gate: Notify,
        pub(crate) waiting: AtomicUsize,
    }

    fn unsupported() -> Error {
        Error::Store(StoreError::without_source(
            "using a part of the store this test inbox does not have",
            StoreErrorKind::Other,
        ))
    }

    #[async_trait]
    impl NotificationStore for MemoryInbox {
        async fn ingest_batch(&self, events: &[InboundEvent]) -> Result<Vec<Ingested>> {
            if self.hold.load(Ordering::SeqCst) {
                self.waiting.fetch_add(1, Ordering::SeqCst);
                self.gate.notified().await;
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err(Error::Store(StoreError::without_source(
                    "inserting events",
                    StoreErrorKind::Unavailable,
                )));
            }
            self.batches.lock().unwrap().push(events.len());
            let mut stored = self.events.lock().unwrap();
            let mut keys = self.keys.lock().unwrap();
            Ok(events
                .iter()
                .map(|e| {
                    let key = (e.partner_id.get(), e.dedup_key.clone());
                    if let Some(id) = keys.get(&key) {
                        Ingested::Duplicate(*id)
                    } else {
                        stored.push(e.clone());
                        let id = EventId(stored.len() as i64);
                        keys.insert(key, id);
                        Ingested::New(id)
                    }
                })
                .collect())
        }
        async fn claim_events(
            &self,
            _: &WorkerId,
            _: i64,
            _: i64,
            limit: u32,
        ) -> Result<Vec<StoredEvent>> {
            Ok(self
                .events
                .lock()
                .unwrap()
                .iter()
                .take(limit as usize)
                .enumerate()
                .map(|(i, e)| StoredEvent {
                    id: EventId(i as i64 + 1),
                    event: e.clone(),
                })
                .collect())
        }
        async fn route_events(
            &self,
            _: &WorkerId,
            _: &[RoutedEvent],
            _: i64,
        ) -> Result<Vec<RouteResult>> {
            Err(unsupported())
        }
        async fn newest_event_at(&self, _: PartnerId) -> Result<Option<i64>> {
            Err(unsupported())
        }
        async fn lease_channel(
            &self,
            _: &WorkerId,
            _: i64,
            _: i64,
            _: u32,
        ) -> Result<Option<ChannelLease>> {
            Err(unsupported())
        }
        async fn finish(
            &self,
            _: &ChannelLease,
            _: &[(DeliveryId, DeliveryOutcome)],
            _: i64,
        ) -> Result<()> {
            Err(unsupported())
        }
        async fn history(&self, _: GuildId, _: u32) -> Result<Vec<DeliveryRecord>> {
            Err(unsupported())
        }
        async fn replay(&self, _: GuildId, _: DeliveryId, _: i64) -> Result<bool> {
            Err(unsupported())
        }
        async fn stats(&self) -> Result<OutboxStats> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(unsupported());
            }
            Ok(OutboxStats {
                unrouted_events: self.events.lock().unwrap().len() as u64,
                ..OutboxStats::default()
            })
        }
        async fn subscribe(&self, _: &Subscription) -> Result<SubscriptionId> {
            Err(unsupported())
        }
        async fn unsubscribe(&self, _: GuildId, _: ChannelId, _: Option<EventKind>) -> Result<u32> {
            Err(unsupported())
        }
        async fn guild_subscriptions(&self, _: GuildId) -> Result<Vec<Subscription>> {
            Err(unsupported())
        }
        async fn partner_subscriptions(&self, _: PartnerId) -> Result<Vec<Subscription>> {
            Err(unsupported())
        }
    }

    pub(crate) fn event(key: &str) -> InboundEvent {
        InboundEvent {
            partner_id: PartnerId::new(12345),
            dedup_key: key.to_owned(),
            kind: Some(EventKind::EntryReady),
            subject: Some("0_abc".into()),
            object: serde_json::json!({"id": "0_abc", "status": 2}),
            meta: crate::notify::NotificationMeta::default(),
            received_at: 1_700_000_000,
        }
    }

    async fn wait_until(mut cond: impl FnMut() -> bool) {
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while !cond() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("condition within 30 s");
    }

    #[tokio::test]
    async fn commits_and_deduplicates() {
        let store = Arc::new(MemoryInbox::default());
        let ingestor = Ingestor::start(store.clone(), IngestOptions::default());
        let a = ingestor.submit(event("job:1")).await.unwrap();
        let b = ingestor.submit(event("job:2")).await.unwrap();
        let again = ingestor.submit(event("job:1")).await.unwrap();
        assert!(matches!(a, Ingested::New(_)));
        assert!(matches!(b, Ingested::New(_)));
        assert_ne!(a, b);
        let Ingested::New(first) = a else { panic!() };
        assert_eq!(again, Ingested::Duplicate(first));
        assert_eq!(store.events.lock().unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_events_are_committed_in_one_batch() {
        let store = Arc::new(MemoryInbox::default());
        store.hold.store(true, Ordering::SeqCst);
        let ingestor = Ingestor::start(store.clone(), IngestOptions::default().max_batch(50));
        // The first event's commit is held, so the next 100 queue up behind it.
        let first = tokio::spawn({
            let i = ingestor.clone();
            async move { i.submit(event("job:0")).await }
        });
        wait_until(|| store.waiting.load(Ordering::SeqCst) == 1).await;
        let mut tasks = Vec::new();
        for n in 1..=100 {
            let i = ingestor.clone();
            tasks.push(tokio::spawn(async move {
                i.submit(event(&format!("job:{n}"))).await
            }));
        }
        wait_until(|| ingestor.queued() == 100).await;
        store.hold.store(false, Ordering::SeqCst);
        store.gate.notify_one();
        assert!(matches!(first.await.unwrap(), Ok(Ingested::New(_))));
        for t in tasks {
            assert!(matches!(t.await.unwrap(), Ok(Ingested::New(_))));
        }
        assert_eq!(*store.batches.lock().unwrap(), vec![1, 50, 50]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once() {
        let store = Arc::new(MemoryInbox::default());
        store.hold.store(true, Ordering::SeqCst);
        let ingestor = Ingestor::start(
            store.clone(),
            IngestOptions::default().max_batch(1).queue_capacity(2),
        );
        let held = tokio::spawn({
            let i = ingestor.clone();
            async move { i.submit(event("job:0")).await }
        });
        wait_until(|| store.waiting.load(Ordering::SeqCst) == 1).await;
        let mut queued = Vec::new();
        for n in 1..=2 {
            let i = ingestor.clone();
            queued.push(tokio::spawn(async move {
                i.submit(event(&format!("job:{n}"))).await
            }));
        }
        wait_until(|| ingestor.queued() == 2).await;
        let err = ingestor.submit(event("job:3")).await.unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Unavailable, "{err}");
        assert!(err.to_string().contains("full"), "{err}");
        store.hold.store(false, Ordering::SeqCst);
        store.gate.notify_one();
        assert!(held.await.unwrap().is_ok());
        for t in queued {
            assert!(t.await.unwrap().is_ok());
        }
        // Not committed: refused before queueing.
        assert_eq!(store.events.lock().unwrap().len(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_batch_fails_every_waiter() {
        let store = Arc::new(MemoryInbox::default());
        store.hold.store(true, Ordering::SeqCst);
        store.fail.store(true, Ordering::SeqCst);
        let ingestor = Ingestor::start(store.clone(), IngestOptions::default());
        let mut tasks = Vec::new();
        let i = ingestor.clone();
        tasks.push(tokio::spawn(async move { i.submit(event("job:0")).await }));
        wait_until(|| store.waiting.load(Ordering::SeqCst) == 1).await;
        for n in 1..10 {
            let i = ingestor.clone();
            tasks.push(tokio::spawn(async move {
                i.submit(event(&format!("job:{n}"))).await
            }));
        }
        wait_until(|| ingestor.queued() == 9).await;
        store.hold.store(false, Ordering::SeqCst);
        store.gate.notify_one();
        for t in tasks {
            let err = t.await.unwrap().unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::Unavailable, "{err}");
        }
        assert!(store.events.lock().unwrap().is_empty());
        // The store recovers: the retries are committed.
        store.fail.store(false, Ordering::SeqCst);
        assert!(matches!(
            ingestor.submit(event("job:0")).await,
            Ok(Ingested::New(_))
        ));
    }

    #[test]
    fn outside_a_runtime_it_is_closed() {
        let ingestor = Ingestor::start(Arc::new(MemoryInbox::default()), IngestOptions::default());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(ingestor.submit(event("job:1"))).unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
        assert!(format!("{ingestor:?}").contains("closed: true"));
    }

    #[test]
    fn options_are_at_least_one() {
        let o = IngestOptions::default().max_batch(0).queue_capacity(0);
        assert_eq!((o.max_batch, o.queue_capacity), (1, 1));
        assert_eq!(
            IngestOptions::default(),
            IngestOptions {
                max_batch: 256,
                queue_capacity: 10_000
            }
        );
    }
}
