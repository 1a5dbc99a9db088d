//! `serve`, `setup`, `backfill` and `replay`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kaltura_client::clock::{Clock, SystemClock};
use kaltura_discord::GuildId;
use kaltura_discord::config::{ConfigResolver, ProcessConfig};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::http::webhooks::WebhookReceiver;
use kaltura_discord::notify::backfill::{self, BackfillOptions};
use kaltura_discord::notify::deliver::{DeliveryOptions, DeliveryWorker};
use kaltura_discord::notify::lifecycle::MeetingLifecycle;
use kaltura_discord::notify::metrics::NotifyMetrics;
use kaltura_discord::notify::render::Renderer;
use kaltura_discord::notify::route::EventRouter;
use kaltura_discord::notify::setup::{self as notify_setup, SetupOptions};
use kaltura_discord::notify::{DeliveryId, NotificationStore, WorkerId};
use kaltura_discord::store::SqlStore;
use secrecy::SecretString;
use tokio::sync::{Notify, watch};

use crate::cli_io;
use crate::setup::{self, Sources};
use crate::waking::WakingStore;

/// The catch-up window at start when this partner never sent an event (a new install).
const FIRST_CATCH_UP_SECS: i64 = 24 * 3600;

/// How far before the newest received event the catch-up starts: events committed just
/// before a crash may be newer than changes Kaltura had not notified yet (it retries for
/// minutes), so a margin re-lists them; what was already received is not queued again.
const CATCH_UP_MARGIN_SECS: i64 = 10 * 60;

/// The start of the catch-up at `now`: the newest received event of the partner minus
/// [`CATCH_UP_MARGIN_SECS`], at most `max_hours` back; [`FIRST_CATCH_UP_SECS`] (also at most
/// `max_hours`) when nothing was ever received. Never after `now`.
fn catch_up_since(newest: Option<i64>, now: i64, max_hours: u32) -> i64 {
    let max_secs = i64::from(max_hours).saturating_mul(3600);
    let oldest = now.saturating_sub(max_secs);
    let from = match newest {
        Some(at) => at.saturating_sub(CATCH_UP_MARGIN_SECS),
        None => now.saturating_sub(FIRST_CATCH_UP_SECS),
    };
    from.clamp(oldest, now)
}

/// Options of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default: `http.webhooks_listen` of the configuration).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Delivery workers (tasks) in this process.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,
    /// Only receive: answer Kaltura and commit to the outbox; routing and delivery run in
    /// other processes (`--deliver-only`) on the same PostgreSQL database.
    #[arg(long, conflicts_with = "deliver_only")]
    no_deliver: bool,
    /// Only route and deliver (no HTTP listener); pairs with `--no-deliver` receivers.
    #[arg(long)]
    deliver_only: bool,
    /// Skip the catch-up backfill at start.
    #[arg(long)]
    no_backfill: bool,
    /// The longest catch-up at start, in hours: it lists what changed since the newest
    /// received event (minus 10 minutes), at most this long ago (24 h when nothing was ever
    /// received); older changes are left to `kaltura-webhooks backfill --since`.
    #[arg(long, default_value_t = 168, value_parser = clap::value_parser!(u32).range(1..=8760))]
    catch_up_max_hours: u32,
    /// Seconds a worker holds a channel (and the router an event) before another process
    /// may take it over; longer than a Discord call may take.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(2..=3600))]
    lease_secs: u32,
    /// First retry delay after a 5xx or a network error, doubled each attempt (at most
    /// 15 minutes).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=900))]
    backoff_base_secs: u32,
}

/// What every subcommand loads: configuration, store, Kaltura account.
struct Loaded {
    process: ProcessConfig,
    resolver: Arc<ConfigResolver>,
    store: Arc<SqlStore>,
    account: KalturaAccount,
    admin_secret: SecretString,
    /// Keeps the in-process fake Kaltura alive, when one is used.
    _fake: Option<kaltura_client::fake::FakeKaltura>,
}

async fn load(sources: &Sources) -> Result<Loaded, String> {
    let resolver = setup::load_resolver(&sources.config_sources())?;
    let process = resolver.process().config().clone();
    let store = setup::store(process.database.url.expose_secret()).await?;
    let resolver = Arc::new(resolver.with_store(store.clone()));
    let (account, fake) = setup::kaltura_account(&process).await?;
    let admin_secret = match (&process.kaltura.admin_secret, &fake) {
        (Some(secret), _) => secret.clone(),
        (None, Some(fake)) => {
            tracing::warn!(
                url = fake.url(),
                "no Kaltura credentials configured: using the fake Kaltura server with demo data"
            );
            fake.admin_secret().clone()
        }
        (None, None) => return Err("kaltura.admin_secret is not configured".to_owned()),
    };
    Ok(Loaded {
        process,
        resolver,
        store,
        account,
        admin_secret,
        _fake: fake,
    })
}

/// A worker id unique to this process and task: host, process id, a random part.
fn worker_id(role: &str, n: usize) -> WorkerId {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    let random: u32 = rand::random();
    WorkerId(format!(
        "{host}:{}:{random:08x}:{role}{n}",
        std::process::id()
    ))
}

/// `kaltura-webhooks serve`.
pub(crate) async fn serve(sources: &Sources, args: ServeArgs) -> Result<(), String> {
    let loaded = load(sources).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = NotifyMetrics::default();
    let router_wake = Arc::new(Notify::new());
    let worker_wake = Arc::new(Notify::new());
    let store: Arc<dyn NotificationStore> = Arc::new(WakingStore::new(
        loaded.store.clone(),
        router_wake.clone(),
        worker_wake.clone(),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();

    if !args.deliver_only {
        let listen = args.listen.unwrap_or(loaded.process.http.webhooks_listen);
        let router = WebhookReceiver::builder()
            .partner(loaded.account.partner_id(), loaded.admin_secret.clone())
            .store(store.clone())
            .metrics(metrics.clone())
            .clock(clock.clone())
            .build()
            .map_err(|e| format!("webhook receiver: {e}"))?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%addr, partner_id = %loaded.account.partner_id(), backend = loaded.store.backend(), "webhook receiver listening");
        let stop = stopped(stop_rx.clone());
        tasks.spawn(async move {
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "the webhook receiver stopped");
            }
        });
        // Tests and scripts read this line to find the port.
        cli_io::out(&format!(
            "listening on http://{addr}/webhooks/kaltura/{}\n",
            loaded.account.partner_id()
        ))?;
    }

    if !args.no_deliver {
        let token = loaded.process.discord.token.clone().ok_or(
            "discord.token is not configured (KD__DISCORD__TOKEN): the workers post as the bot",
        )?;
        let rest = setup::rest(
            Some(&token),
            std::env::var("KD_DISCORD_API_URL").ok().as_deref(),
        )?;
        if !args.no_backfill {
            catch_up(
                &loaded,
                store.as_ref(),
                clock.as_ref(),
                args.catch_up_max_hours,
            )
            .await;
        }
        // One lifecycle: its timers run below, and the router hands it schedule-event
        // changes and recordings (and asks it which guild a meeting belongs to).
        let lifecycle = Arc::new(
            MeetingLifecycle::new(loaded.store.clone(), store.clone()).with_clock(clock.clone()),
        );
        let event_router = EventRouter::builder()
            .store(store.clone())
            .lifecycle(lifecycle.clone())
            .resolver(loaded.resolver.clone())
            .account(loaded.account.clone())
            .renderer(Arc::new(Renderer::new()))
            .metrics(metrics.clone())
            .clock(clock.clone())
            .wake(router_wake.clone())
            .lease_secs(i64::from(args.lease_secs))
            .build()
            .map_err(|e| format!("event router: {e}"))?;
        tasks.spawn(event_router.run(worker_id("router", 0), stopped(stop_rx.clone())));

        let options = DeliveryOptions::default()
            .lease_secs(i64::from(args.lease_secs))
            .backoff(
                Duration::from_secs(u64::from(args.backoff_base_secs)),
                Duration::from_secs(15 * 60),
            )
            // Other processes queue deliveries too: look for them every 2 s (in-process
            // routing wakes the workers at once).
            .idle_poll(Duration::from_secs(2));
        for n in 0..usize::from(args.workers) {
            let worker = DeliveryWorker::builder()
                .store(store.clone())
                .rest(rest.clone())
                .audit(loaded.store.clone())
                .metrics(metrics.clone())
                .clock(clock.clone())
                .worker_id(worker_id("worker", n))
                .options(options.clone())
                .wake(worker_wake.clone())
                .build()
                .map_err(|e| format!("delivery worker: {e}"))?;
            tasks.spawn(worker.run(stopped(stop_rx.clone())));
        }
        tasks.spawn(lifecycle.run(stopped(stop_rx.clone())));
        tracing::info!(workers = args.workers, "routing and delivering");
        cli_io::out(&format!(
            "routing and delivering with {} worker(s)\n",
            args.workers
        ))?;
    }

    tokio::select! {
        () = setup::shutdown_signal() => {}
        Some(ended) = tasks.join_next() => {
            tracing::error!(?ended, "a task of the server ended early; stopping");
        }
    }
    let _ = stop_tx.send(true);
    // Leases lapse on their own if a task does not stop in time: nothing is lost.
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("tasks did not stop within 20 s; their leases will lapse");
    }
    loaded.store.close().await;
    Ok(())
}

/// The catch-up at start: READY entries changed since the newest received event (see
/// [`catch_up_since`]) are queued (deduplicated: what was already received or announced is
/// not queued again). A failure is logged, never fatal: the server still receives.
async fn catch_up(
    loaded: &Loaded,
    store: &dyn NotificationStore,
    clock: &dyn Clock,
    max_hours: u32,
) {
    let now = clock.now_unix();
    let newest = match store.newest_event_at(loaded.account.partner_id()).await {
        Ok(newest) => newest,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the newest received event; catching up on the first-start window");
            None
        }
    };
    let since = catch_up_since(newest, now, max_hours);
    tracing::info!(
        newest,
        since,
        max_hours,
        "catching up on changes missed while down"
    );
    match backfill::backfill(
        &loaded.account,
        store,
        since,
        now,
        &BackfillOptions::default(),
    )
    .await
    {
        Ok(report) => tracing::info!(
            listed = report.listed,
            queued = report.queued,
            already_known = report.already_known,
            truncated = report.truncated,
            since,
            "catch-up done"
        ),
        Err(e) => {
            tracing::warn!(error = %e, since, "catch-up failed; run `kaltura-webhooks backfill --since …` later")
        }
    }
}

/// Completes when `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// `kaltura-webhooks setup --public-url URL [--check]`.
pub(crate) async fn setup_templates(
    sources: &Sources,
    public_url: &str,
    check: bool,
) -> Result<ExitCode, String> {
    let url =
        url::Url::parse(public_url).map_err(|e| format!("--public-url {public_url:?}: {e}"))?;
    let loaded = load(sources).await?;
    let client = loaded.account.client();
    let options = SetupOptions::default();
    if check {
        let drift = notify_setup::check(client, &url, &options)
            .await
            .map_err(|e| format!("checking the templates: {e}"))?;
        if drift.is_empty() {
            cli_io::out("no drift: the notification templates are as expected\n")?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut text = format!("{} drift(s):\n", drift.len());
        for d in &drift {
            text.push_str(&format!("  {d}\n"));
        }
        cli_io::out(&text)?;
        return Ok(ExitCode::FAILURE);
    }
    let report = notify_setup::setup(client, &url, &options)
        .await
        .map_err(|e| format!("setting up the templates: {e}"))?;
    let mut text = format!(
        "endpoint {}\ncreated {}, repaired {}, unchanged {}\n",
        report.endpoint,
        report.created.len(),
        report.repaired.len(),
        report.unchanged.len()
    );
    for (template, id, cloned) in &report.created {
        let how = if *cloned {
            "cloned from the system template"
        } else {
            "added"
        };
        text.push_str(&format!("  created {template} (id {id}, {how})\n"));
    }
    for drift in &report.repaired {
        text.push_str(&format!("  repaired: {drift}\n"));
    }
    for (template, id) in &report.unchanged {
        text.push_str(&format!("  unchanged {template} (id {id})\n"));
    }
    cli_io::out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `kaltura-webhooks backfill --since …`.
pub(crate) async fn backfill_once(sources: &Sources, since: i64, now: i64) -> Result<(), String> {
    let loaded = load(sources).await?;
    let report = backfill::backfill(
        &loaded.account,
        loaded.store.as_ref(),
        since,
        now,
        &BackfillOptions::default(),
    )
    .await
    .map_err(|e| format!("backfill: {e}"))?;
    cli_io::out(&format!(
        "listed {} entries changed since {since}: {} ready, {} queued, {} already known{}\n",
        report.listed,
        report.ready,
        report.queued,
        report.already_known,
        if report.truncated {
            " (stopped at the limit: run again with a later --since)"
        } else {
            ""
        }
    ))
}

/// `kaltura-webhooks replay --guild G --delivery ID`.
pub(crate) async fn replay(
    sources: &Sources,
    guild: GuildId,
    delivery: i64,
) -> Result<ExitCode, String> {
    let loaded = load(sources).await?;
    let now = SystemClock.now_unix();
    let replayed = loaded
        .store
        .replay(guild, DeliveryId(delivery), now)
        .await
        .map_err(|e| format!("replay: {e}"))?;
    if replayed {
        cli_io::out(&format!("delivery {delivery} re-queued\n"))?;
        Ok(ExitCode::SUCCESS)
    } else {
        cli_io::out(&format!(
            "guild {guild} has no dead-lettered or skipped delivery {delivery}\n"
        ))?;
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000;
    const HOUR: i64 = 3600;

    #[test]
    fn catch_up_starts_before_the_newest_event_within_the_maximum() {
        // Down for two hours: from the newest event minus the margin.
        assert_eq!(
            catch_up_since(Some(NOW - 2 * HOUR), NOW, 168),
            NOW - 2 * HOUR - CATCH_UP_MARGIN_SECS
        );
        // Down for a month: bounded by the maximum window.
        assert_eq!(
            catch_up_since(Some(NOW - 30 * 24 * HOUR), NOW, 168),
            NOW - 168 * HOUR
        );
        assert_eq!(catch_up_since(Some(NOW - 5 * HOUR), NOW, 3), NOW - 3 * HOUR);
        // Nothing ever received: 24 h, or less when the maximum is smaller.
        assert_eq!(catch_up_since(None, NOW, 168), NOW - 24 * HOUR);
        assert_eq!(catch_up_since(None, NOW, 6), NOW - 6 * HOUR);
        // A newest event "in the future" (clock skew) never starts after now.
        assert_eq!(catch_up_since(Some(NOW + HOUR), NOW, 168), NOW);
        assert_eq!(
            catch_up_since(Some(NOW), NOW, 168),
            NOW - CATCH_UP_MARGIN_SECS
        );
    }
}
