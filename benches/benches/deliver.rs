//! Delivery throughput from the outbox (features `rest`, SQLite): 5,000 deliveries queued
//! over 50 channels in a SQLite file store in WAL mode, drained by N real
//! [`DeliveryWorker`]s in one process, reported as deliveries per second.
//!
//! Two REST ends, to show where the time goes:
//!
//! - `twilight_loopback/N`: the real [`TwilightRest`] posting every message over HTTP to a
//!   local fake Discord (a small axum server answering Create Message at once with a new
//!   id), its client-side global limit lifted (`global_limit(u16::MAX)`; with Discord's
//!   default of 50 requests/s the figure would be 50/s whatever the store does);
//! - `null_rest/N`: an in-process [`DiscordRest`] that answers at once, so the figure is the
//!   outbox alone (lease, load, record outcomes, release).
//!
//! `*_audited` runs give the workers the store as their audit log, as the bot does: one audit
//! entry (one transaction) per delivery.
//!
//! Each sample queues a fresh outbox (not timed), then times the workers from the first lease
//! to the last delivery recorded. No burst is combined into a digest (the threshold is out of
//! reach): every delivery is one message, the worst case.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::routing::post;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use kaltura_client::PartnerId;
use kaltura_discord::commands::Reply;
use kaltura_discord::commands::definition::Registration;
use kaltura_discord::commands::interaction::InteractionToken;
use kaltura_discord::commands::reply::Embed;
use kaltura_discord::notify::deliver::{DeliveryOptions, DeliveryWorker};
use kaltura_discord::notify::{
    EventKind, InboundEvent, Ingested, NewDelivery, NotificationStore, WorkerId,
};
use kaltura_discord::rest::{
    DiscordRest, EventClosure, RegisteredCommand, ScheduledEventSpec, TwilightRest, WebhookUrl,
};
use kaltura_discord::store::SqlStore;
use kaltura_discord::{ApplicationId, ChannelId, GuildId, MessageId, ScheduledEventId};
use secrecy::SecretString;

const CHANNELS: u64 = 50;
const PER_CHANNEL: u64 = 100;
const DELIVERIES: u64 = CHANNELS * PER_CHANNEL;
const FIRST_CHANNEL: u64 = 1_122_334_455_667_700_000;
const GUILD: u64 = 987_654_321_098_765_432;
const NOW: i64 = 1_796_040_000;

fn some<T>(v: Option<T>) -> T {
    v.unwrap_or_else(|| panic!("a fixed non-zero id"))
}

/// A local fake Discord: Create Message answers 200 with a new message id at once.
async fn fake_discord(posted: Arc<AtomicU64>) -> SocketAddr {
    let app = Router::new().route(
        "/api/v10/channels/{channel}/messages",
        post(move || {
            let posted = Arc::clone(&posted);
            async move {
                let n = posted.fetch_add(1, Ordering::Relaxed);
                axum::Json(serde_json::json!({
                    "id": (1_400_000_000_000_000_000_u64 + n).to_string(),
                    "content": "",
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Answers every post at once, in process.
#[derive(Default)]
struct NullRest(AtomicU64);

impl NullRest {
    fn next(&self) -> MessageId {
        some(MessageId::new(
            1_400_000_000_000_000_000 + self.0.fetch_add(1, Ordering::Relaxed),
        ))
    }
}

#[async_trait]
impl DiscordRest for NullRest {
    async fn edit_original(
        &self,
        _: ApplicationId,
        _: &InteractionToken,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
    async fn create_followup(
        &self,
        _: ApplicationId,
        _: &InteractionToken,
        _: &Reply,
    ) -> kaltura_discord::Result<MessageId> {
        Ok(self.next())
    }
    async fn list_commands(
        &self,
        _: ApplicationId,
        _: Option<GuildId>,
    ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
        Ok(Vec::new())
    }
    async fn register_commands(
        &self,
        _: ApplicationId,
        _: Option<GuildId>,
        _: &Registration,
    ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
        Ok(Vec::new())
    }
    async fn create_scheduled_event(
        &self,
        _: GuildId,
        _: &ScheduledEventSpec,
    ) -> kaltura_discord::Result<ScheduledEventId> {
        Ok(some(ScheduledEventId::new(1)))
    }
    async fn close_scheduled_event(
        &self,
        _: GuildId,
        _: ScheduledEventId,
        _: EventClosure,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
    async fn create_message(&self, _: ChannelId, _: &Reply) -> kaltura_discord::Result<MessageId> {
        Ok(self.next())
    }
    async fn edit_message(
        &self,
        _: ChannelId,
        _: MessageId,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
    async fn execute_webhook(
        &self,
        _: &WebhookUrl,
        _: &Reply,
    ) -> kaltura_discord::Result<MessageId> {
        Ok(self.next())
    }
    async fn edit_webhook_message(
        &self,
        _: &WebhookUrl,
        _: MessageId,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        Ok(())
    }
}

/// A fresh outbox with `DELIVERIES` queued, `PER_CHANNEL` in each of `CHANNELS` channels
/// (one event routed to every channel, as a route per channel would).
async fn queued_outbox(dir: &std::path::Path) -> Arc<SqlStore> {
    let _ = std::fs::remove_dir_all(dir);
    let store = Arc::new(
        SqlStore::sqlite(&dir.join("kd.db"))
            .await
            .unwrap_or_else(|e| panic!("sqlite: {e}")),
    );
    let router = WorkerId("router".to_owned());
    let guild = some(GuildId::new(GUILD));
    for n in 0..PER_CHANNEL {
        let event = InboundEvent {
            partner_id: PartnerId::new(12345),
            dedup_key: format!("job:{n}"),
            kind: Some(EventKind::EntryReady),
            subject: Some(format!("0_entry{n}")),
            object: serde_json::json!({}),
            meta: Default::default(),
            received_at: NOW,
        };
        let ingested = store
            .ingest_batch(&[event])
            .await
            .unwrap_or_else(|e| panic!("ingest: {e}"));
        let Some(Ingested::New(id)) = ingested.first().copied() else {
            panic!("not ingested")
        };
        let claimed = store
            .claim_events(&router, NOW, 60, 10)
            .await
            .unwrap_or_else(|e| panic!("claim: {e}"));
        assert!(claimed.iter().any(|e| e.id == id));
        let title = format!("Lecture {n}: an introduction");
        let deliveries: Vec<NewDelivery> = (0..CHANNELS)
            .map(|c| NewDelivery {
                event: id,
                guild,
                channel: some(ChannelId::new(FIRST_CHANNEL + c)),
                webhook: None,
                kind: EventKind::EntryReady,
                subject_key: format!("entry_ready:0_entry{n}"),
                thread_key: None,
                message: Reply::text("<@&555000000000000001>")
                    .embed(Embed::titled(title.clone()).field("Duration", "3:20", true)),
                digest_line: Some(format!("**{title}**")),
            })
            .collect();
        let queued = store
            .route_event(&router, id, &deliveries, NOW)
            .await
            .unwrap_or_else(|e| panic!("route: {e}"));
        assert_eq!(u64::from(queued), CHANNELS);
    }
    store
}

/// Drains the outbox with `workers` workers; the time from the first lease to the last
/// outcome recorded.
async fn drain(
    store: Arc<SqlStore>,
    rest: Arc<dyn DiscordRest>,
    workers: usize,
    audited: bool,
) -> Duration {
    let built: Vec<DeliveryWorker> = (0..workers)
        .map(|i| {
            let builder = DeliveryWorker::builder();
            let builder = if audited {
                builder.audit(store.clone())
            } else {
                builder
            };
            builder
                .store(store.clone())
                .rest(Arc::clone(&rest))
                .clock(Arc::new(kaltura_client::clock::FixedClock(NOW)))
                .worker_id(WorkerId(format!("w{i}")))
                .options(DeliveryOptions::default().digest_threshold(usize::MAX))
                .build()
                .unwrap_or_else(|e| panic!("worker: {e}"))
        })
        .collect();
    let start = Instant::now();
    let tasks: Vec<_> = built
        .into_iter()
        .map(|w| {
            tokio::spawn(async move {
                while w
                    .run_once()
                    .await
                    .unwrap_or_else(|e| panic!("deliver: {e}"))
                {}
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let took = start.elapsed();
    let stats = store.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!((stats.delivered, stats.queued), (DELIVERIES, 0));
    took
}

fn deliver(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let dir = std::env::temp_dir().join(format!("kd-deliver-bench-{}", std::process::id()));
    let posted = Arc::new(AtomicU64::new(0));
    let addr = runtime.block_on(fake_discord(Arc::clone(&posted)));
    let twilight: Arc<dyn DiscordRest> = runtime.block_on(async {
        Arc::new(
            TwilightRest::builder(SecretString::from("bench.bot.token".to_owned()))
                .base_url(format!("http://{addr}"))
                .global_limit(u16::MAX)
                .build()
                .unwrap_or_else(|e| panic!("rest: {e}")),
        )
    });
    let null: Arc<dyn DiscordRest> = Arc::new(NullRest::default());

    let mut group = c.benchmark_group("deliver_5000_over_50_channels");
    group.throughput(Throughput::Elements(DELIVERIES));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    group.warm_up_time(Duration::from_secs(1));
    let runs = [
        ("twilight_loopback", &twilight, false, 1usize),
        ("twilight_loopback", &twilight, false, 4),
        ("twilight_loopback", &twilight, false, 16),
        ("twilight_loopback_audited", &twilight, true, 4),
        ("null_rest", &null, false, 1),
        ("null_rest", &null, false, 4),
        ("null_rest_audited", &null, true, 4),
    ];
    for (name, rest, audited, workers) in runs {
        group.bench_with_input(BenchmarkId::new(name, workers), &workers, |b, &workers| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let before = posted.load(Ordering::Relaxed);
                    total += runtime.block_on(async {
                        let store = queued_outbox(&dir).await;
                        let took = drain(store.clone(), Arc::clone(rest), workers, audited).await;
                        store.close().await;
                        took
                    });
                    if name.starts_with("twilight") {
                        assert_eq!(posted.load(Ordering::Relaxed) - before, DELIVERIES);
                    }
                }
                total
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, deliver);
criterion_main!(benches);
