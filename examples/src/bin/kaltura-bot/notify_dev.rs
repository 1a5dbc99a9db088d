//! `kaltura-bot dev`'s notification pipeline, all in process: the fake Kaltura's HTTP
//! notification templates point at an in-process webhook receiver (created by
//! `notify::setup::setup`, as `kaltura-webhooks setup` does against a real Kaltura), a router
//! task routes the events to the dev channel's subscriptions (entry ready and the meeting
//! kinds) and a delivery worker posts them to the fake Discord, which the console prints.
//! The meeting lifecycle runs too: a meeting started from the console gets one living
//! message (scheduled → live → ended → recording ready).

use std::net::SocketAddr;
use std::sync::Arc;

use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::fake::FakeKaltura;
use kaltura_discord::config::ConfigResolver;
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::http::webhooks::WebhookReceiver;
use kaltura_discord::notify::deliver::{DeliveryOptions, DeliveryWorker};
use kaltura_discord::notify::lifecycle::MeetingLifecycle;
use kaltura_discord::notify::metrics::NotifyMetrics;
use kaltura_discord::notify::render::Renderer;
use kaltura_discord::notify::route::EventRouter;
use kaltura_discord::notify::{EventKind, NotificationStore, RouteFilters, Subscription, WorkerId};
use kaltura_discord::rest::DiscordRest;
use kaltura_discord::store::SqlStore;
use kaltura_discord::{ChannelId, DiscordUserId, GuildId};
use tokio::sync::{Notify, watch};

use crate::waking::WakingStore;

/// The running pipeline; stops when dropped.
pub(crate) struct DevNotifications {
    /// Where the fake Kaltura posts (`http://127.0.0.1:…/webhooks/kaltura/{partner}`).
    pub(crate) receiver_url: String,
    _stop: watch::Sender<bool>,
}

/// Starts the receiver, points the fake Kaltura's templates at it, subscribes the dev
/// channel to "entry ready" and the meeting kinds and starts a router (with the meeting
/// lifecycle), the lifecycle's timers and a delivery worker.
pub(crate) async fn start(
    fake: &FakeKaltura,
    account: KalturaAccount,
    store: Arc<SqlStore>,
    resolver: Arc<ConfigResolver>,
    rest: Arc<dyn DiscordRest>,
    guild: u64,
    channel: u64,
) -> Result<DevNotifications, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = NotifyMetrics::default();
    let router_wake = Arc::new(Notify::new());
    let worker_wake = Arc::new(Notify::new());
    let notify_store: Arc<dyn NotificationStore> = Arc::new(WakingStore::new(
        store.clone(),
        router_wake.clone(),
        worker_wake.clone(),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);

    let router = WebhookReceiver::builder()
        .partner(fake.partner_id(), fake.admin_secret().clone())
        .store(notify_store.clone())
        .metrics(metrics.clone())
        .clock(clock.clone())
        .build()
        .map_err(|e| format!("webhook receiver: {e}"))?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| format!("cannot listen for webhooks: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut stop = stop_rx.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "the webhook receiver stopped");
        }
    });
    let public = url::Url::parse(&format!("http://{addr}")).map_err(|e| e.to_string())?;
    kaltura_discord::notify::setup::setup(
        account.client(),
        &public,
        &kaltura_discord::notify::setup::SetupOptions::default(),
    )
    .await
    .map_err(|e| format!("notification templates in the fake Kaltura: {e}"))?;

    let guild = GuildId::new(guild).ok_or("dev guild id")?;
    let channel = ChannelId::new(channel).ok_or("dev channel id")?;
    let existing = notify_store
        .guild_subscriptions(guild)
        .await
        .map_err(|e| format!("subscriptions: {e}"))?;
    let kinds = EventKind::ALL
        .into_iter()
        .filter(|k| *k == EventKind::EntryReady || k.is_meeting());
    for kind in kinds {
        if existing
            .iter()
            .any(|s| s.channel == channel && s.kind == kind)
        {
            continue;
        }
        notify_store
            .subscribe(&Subscription {
                id: None,
                guild,
                partner_id: fake.partner_id(),
                kind,
                channel,
                webhook: None,
                mention_roles: Vec::new(),
                template: None,
                filters: RouteFilters::default(),
                created_by: DiscordUserId::new(1).ok_or("user id")?,
                created_at: clock.now_unix(),
            })
            .await
            .map_err(|e| format!("subscribing the dev channel: {e}"))?;
    }

    let lifecycle = Arc::new(
        MeetingLifecycle::new(store.clone(), notify_store.clone()).with_clock(clock.clone()),
    );
    let mut stop = stop_rx.clone();
    tokio::spawn(lifecycle.clone().run(async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    let event_router = EventRouter::builder()
        .store(notify_store.clone())
        .lifecycle(lifecycle)
        .resolver(resolver)
        .account(account)
        .renderer(Arc::new(Renderer::new()))
        .wake(router_wake)
        .metrics(metrics.clone())
        .clock(clock.clone())
        .build()
        .map_err(|e| format!("event router: {e}"))?;
    let mut stop = stop_rx.clone();
    tokio::spawn(
        event_router.run(WorkerId("dev-router".to_owned()), async move {
            let _ = stop.wait_for(|s| *s).await;
        }),
    );
    let worker = DeliveryWorker::builder()
        .store(notify_store)
        .rest(rest)
        .audit(store)
        .metrics(metrics)
        .clock(clock)
        .worker_id(WorkerId("dev-worker".to_owned()))
        .options(DeliveryOptions::default())
        .wake(worker_wake)
        .build()
        .map_err(|e| format!("delivery worker: {e}"))?;
    let mut stop = stop_rx;
    tokio::spawn(worker.run(async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    Ok(DevNotifications {
        receiver_url: format!("http://{addr}/webhooks/kaltura/{}", fake.partner_id()),
        _stop: stop_tx,
    })
}
