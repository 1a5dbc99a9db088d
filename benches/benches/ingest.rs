//! Webhook ingest (feature `http`, SQLite): the CPU part of a Kaltura notification
//! (signature check + parse of a typical 2 KB body), and the durable part — events committed
//! through the [`Ingestor`]'s group commit into SQLite in WAL mode (`synchronous=FULL`) by 64
//! concurrent submitters, reported as notifications per second.
//!
//! The end-to-end figure over real sockets (wrk against `kaltura-webhooks serve`) is the load
//! script's; this isolates the two halves.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kaltura_client::PartnerId;
use kaltura_discord::notify::event::parse;
use kaltura_discord::notify::ingest::{IngestOptions, Ingestor};
use kaltura_discord::notify::signature::{sign, verify};
use kaltura_discord::notify::{HashAlgorithm, NotificationStore};
use kaltura_discord::store::SqlStore;
use secrecy::SecretString;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const SUBMITTERS: u64 = 64;

/// A typical `HTTP_ENTRY_STATUS_CHANGED` notification with a full media entry, ~2 KB.
fn notification(job: i64) -> String {
    let description = "An introduction to the course: what we will cover, how the \
        assignments work, where to find the readings and how to reach the teaching staff. "
        .repeat(6);
    format!(
        r#"{{"object":{{"mediaType":1,"conversionQuality":5,"sourceType":"1","dataUrl":"https://cdnapisec.kaltura.com/p/12345/sp/1234500/playManifest/entryId/0_abcdefgh/format/url/protocol/https","flavorParamsIds":"0,487041,487051,487061","plays":0,"views":0,"lastPlayedAt":null,"width":1920,"height":1080,"duration":"1234","msDuration":1234000,"id":"0_abcdefgh","name":"Intro lecture","description":"{description}","partnerId":12345,"userId":"teacher@example.edu","creatorId":"teacher@example.edu","tags":"intro,week1,lecture","categories":"MediaSpace>site>channels>CS101","categoriesIds":"101,202","status":"2","moderationStatus":6,"moderationCount":0,"type":1,"createdAt":1700000000,"updatedAt":1700000600,"rank":0,"totalRank":0,"votes":0,"downloadUrl":"https://cdnapisec.kaltura.com/p/12345/sp/1234500/playManifest/entryId/0_abcdefgh/format/download/protocol/https/flavorParamsId/0","thumbnailUrl":"https://cfvod.kaltura.com/p/12345/sp/1234500/thumbnail/entry_id/0_abcdefgh/version/100002","accessControlId":1,"replacementStatus":0,"partnerSortValue":0,"rootEntryId":"0_abcdefgh","entitledUsersEdit":"","entitledUsersPublish":"","entitledUsersView":"","capabilities":"","displayInSearch":1,"objectType":"KalturaMediaEntry"}},"eventObjectType":"1","eventNotificationJobId":{job},"templateId":45,"templateName":"Entry Status Changed","templateSystemName":"HTTP_ENTRY_STATUS_CHANGED","eventType":"3","objectType":"KalturaHttpNotification"}}"#
    )
}

fn verify_and_parse(c: &mut Criterion) {
    let secret = SecretString::from(SECRET);
    let body = notification(123);
    let sig = sign(&secret, body.as_bytes(), HashAlgorithm::Sha256);
    let partner = PartnerId::new(12345);
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("verify_sha256_and_parse_2k", |b| {
        b.iter(|| {
            let algo = verify(
                &secret,
                black_box(body.as_bytes()),
                Some(black_box(&sig)),
                Some("sha256"),
            );
            assert!(algo.is_ok());
            let event = parse(
                partner,
                Some("application/json"),
                black_box(body.as_bytes()),
                1_700_000_000,
            );
            black_box(event.is_ok())
        })
    });
    group.bench_function("parse_2k", |b| {
        b.iter(|| {
            black_box(
                parse(
                    partner,
                    Some("application/json"),
                    black_box(body.as_bytes()),
                    1_700_000_000,
                )
                .is_ok(),
            )
        })
    });
    group.finish();
}

fn ingest_sqlite(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let dir = std::env::temp_dir().join(format!("kd-ingest-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = runtime
        .block_on(SqlStore::sqlite(&dir.join("kd.db")))
        .unwrap_or_else(|e| panic!("sqlite: {e}"));
    let store: Arc<dyn NotificationStore> = Arc::new(store);
    let ingestor =
        runtime.block_on(async { Ingestor::start(Arc::clone(&store), IngestOptions::default()) });
    // Parsed once: this measures the commit path, not the parser.
    let template = parse(
        PartnerId::new(12345),
        Some("application/json"),
        notification(0).as_bytes(),
        1_700_000_000,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let next_job = Arc::new(AtomicI64::new(1));

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sqlite_wal_group_commit_64_submitters", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(SUBMITTERS).max(1);
            runtime.block_on(async {
                let start = Instant::now();
                let mut tasks = Vec::with_capacity(SUBMITTERS as usize);
                for _ in 0..SUBMITTERS {
                    let ingestor = ingestor.clone();
                    let template = template.clone();
                    let next_job = Arc::clone(&next_job);
                    tasks.push(tokio::spawn(async move {
                        for _ in 0..per_task {
                            let mut event = template.clone();
                            let job = next_job.fetch_add(1, Ordering::Relaxed);
                            event.dedup_key = format!("job:{job}");
                            event.meta.job_id = Some(job);
                            if let Err(e) = ingestor.submit(event).await {
                                panic!("submit: {e}");
                            }
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap_or_else(|e| panic!("{e}"));
                }
                // Per notification: the time for all of them, scaled to `iters`.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_task * SUBMITTERS) as f64)
            })
        })
    });
    group.finish();
    drop(ingestor);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, verify_and_parse, ingest_sqlite);
criterion_main!(benches);
