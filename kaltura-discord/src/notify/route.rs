//! Routing: which guilds' channels announce a received event, and with what message.
//!
//! [`EventRouter::run_once`] claims received events from the [`NotificationStore`], routes
//! them ([`EventRouter::route`], several at a time, reading the subscriptions and guild
//! configurations once per pass) and writes the deliveries of the whole batch with
//! [`NotificationStore::route_events`], which marks the events routed in the same
//! transaction. An event that cannot be routed now (Kaltura unreachable while fetching its
//! entry, the store failing) is left claimed: its claim lapses and it is routed again later.
//!
//! **Candidate routes** of an event of partner `P` and kind `K`:
//! - stored subscriptions (`/kaltura-admin notify subscribe`) following `P` with kind `K`;
//! - `notifications.routes` of kind `K` in the configuration of every guild that has
//!   settings of its own (a guild file or a stored override, see
//!   [`ConfigResolver::configured_guilds`]) and whose `kaltura.partner_id` is `P` (or unset,
//!   when `P` is the router's default account).
//!
//! A route is used only when its guild's `features.notifications` is on and its guild still
//! uses partner `P`. Entry events (and recordings) must then pass the route's
//! [`RouteFilters`] and, unless the route sets `include_restricted`, the entitlement checks:
//! the entry is READY, approved (moderation status none, approved or auto-approved), inside
//! its scheduling window, and, for `entry_added_to_category`, its category assignment is
//! active. Category filters always require the entry to be in one of the categories
//! (`categoriesIds` lists only categories it is published in). A route that does not pass is
//! skipped (logged at debug, counted as skipped).
//!
//! The entry comes from the notification when it carries the fields the checks need
//! (`status`, `categoriesIds`); otherwise it is fetched with `media.get` through the
//! partner's account. A deleted entry produces no delivery.
//!
//! Routes to a channel that no longer exists are not detected here: their delivery is
//! queued and the delivery worker dead-letters it with Discord's reason (unknown channel,
//! missing access), visible in `notify history` and replayable.
//!
//! With a meeting lifecycle ([`EventRouterBuilder::lifecycle`]) each event first goes
//! through [`MeetingLifecycle::before_routing`]: cancelled schedule events become "ended",
//! ready recordings "recording ready", and a meeting the bot knows reaches only the guild
//! that started it (see [`super::lifecycle`]).
//!
//! Subject keys are `{kind}:{subject}`; meeting kinds carry the thread key
//! `meeting:{partner}:{schedule event id}` so their messages are one living message.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kaltura_discord::notify::route::EventRouter;
//! use kaltura_discord::notify::{NotificationStore, WorkerId};
//! use kaltura_discord::config::ConfigResolver;
//! use kaltura_discord::context::KalturaAccount;
//!
//! # async fn run(store: Arc<dyn NotificationStore>, resolver: Arc<ConfigResolver>, account: KalturaAccount) -> kaltura_discord::Result<()> {
//! let router = EventRouter::builder()
//!     .store(store)
//!     .resolver(resolver)
//!     .account(account)
//!     .build()?;
//! let worker = WorkerId("router-1".into());
//! let routed = router.run_once(&worker, 50).await?;
//! # let _ = routed;
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use kaltura_client::PartnerId;
use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::types::{EntryStatus, MediaEntry, ModerationStatus};
use serde_json::Value;
use tokio::sync::{Mutex, Notify, OnceCell};

use super::lifecycle::{LifecycleRouting, MeetingLifecycle};
use super::metrics::NotifyMetrics;
use super::render::{Renderer, RouteSettings};
use super::{
    EventKind, NewDelivery, NotificationStore, RouteFilters, RouteResult, RoutedEvent, StoredEvent,
    Subscription, WorkerId,
};
use crate::config::{ConfigResolver, GuildConfig, ResolvedGuildConfig};
use crate::context::{GuildContext, KalturaAccount};
use crate::error::SetupError;
use crate::ids::{ChannelId, GuildId};
use crate::rest::WebhookUrl;
use crate::{Error, Result};

/// How long a claimed event stays claimed before another router may take it (seconds).
pub const DEFAULT_LEASE_SECS: i64 = 60;
/// How long [`EventRouter::run`] waits when idle, unless woken.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(2);
/// How many events [`EventRouter::run`] claims at once.
pub const DEFAULT_BATCH: u32 = 50;
/// How many claimed events [`EventRouter::run_once`] routes at once (fetching an entry from
/// Kaltura is a network call).
pub const ROUTE_CONCURRENCY: usize = 8;

/// What one pass of [`EventRouter::run_once`] reads once and shares between its events:
/// the subscriptions of each partner, the configured guilds and each guild's resolved
/// configuration. A guild whose configuration does not resolve is logged once and `None`.
#[derive(Default)]
struct PassCache {
    subscriptions: CacheMap<PartnerId, Arc<Vec<Subscription>>>,
    configured: OnceCell<Arc<Vec<GuildId>>>,
    guilds: CacheMap<GuildId, Option<Arc<ResolvedGuildConfig>>>,
}

/// One value per key, computed once even when several events ask at the same time.
type CacheMap<K, V> = Mutex<HashMap<K, Arc<OnceCell<V>>>>;

/// The cell of `key` in `map` (created empty).
async fn cell<K: std::hash::Hash + Eq, V>(map: &CacheMap<K, V>, key: K) -> Arc<OnceCell<V>> {
    map.lock().await.entry(key).or_default().clone()
}

/// One route an event may go to.
#[derive(Debug, Clone)]
struct Candidate {
    guild: GuildId,
    channel: ChannelId,
    webhook: Option<WebhookUrl>,
    filters: RouteFilters,
    settings: RouteSettings,
    /// `subscription` or `configuration`, for logs.
    origin: &'static str,
}

struct RouterInner {
    store: Arc<dyn NotificationStore>,
    resolver: Arc<ConfigResolver>,
    default_account: KalturaAccount,
    accounts: HashMap<PartnerId, KalturaAccount>,
    renderer: Arc<Renderer>,
    metrics: NotifyMetrics,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    lease_secs: i64,
    idle: Duration,
    batch: u32,
    lifecycle: Option<Arc<MeetingLifecycle>>,
}

/// Routes received events to deliveries; see the [module docs](self).
#[derive(Clone)]
pub struct EventRouter {
    inner: Arc<RouterInner>,
}

impl std::fmt::Debug for EventRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRouter")
            .field("default_partner", &self.inner.default_account.partner_id())
            .field("partners", &self.inner.accounts.keys().collect::<Vec<_>>())
            .field("lease_secs", &self.inner.lease_secs)
            .finish_non_exhaustive()
    }
}

/// Builds an [`EventRouter`]; start with [`EventRouter::builder`].
#[must_use]
pub struct EventRouterBuilder {
    store: Option<Arc<dyn NotificationStore>>,
    resolver: Option<Arc<ConfigResolver>>,
    account: Option<KalturaAccount>,
    extra_accounts: Vec<KalturaAccount>,
    renderer: Option<Arc<Renderer>>,
    metrics: Option<NotifyMetrics>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    lease_secs: i64,
    idle: Duration,
    batch: u32,
    lifecycle: Option<Arc<MeetingLifecycle>>,
}

impl std::fmt::Debug for EventRouterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRouterBuilder")
            .field("account", &self.account)
            .field("extra_accounts", &self.extra_accounts)
            .finish_non_exhaustive()
    }
}

impl EventRouterBuilder {
    /// The notification store (required).
    pub fn store(mut self, store: Arc<dyn NotificationStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The configuration resolver (required).
    pub fn resolver(mut self, resolver: Arc<ConfigResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The default Kaltura account (required): guilds that name no partner use it.
    pub fn account(mut self, account: KalturaAccount) -> Self {
        self.account = Some(account);
        self
    }

    /// Another Kaltura account, for guilds whose `kaltura.partner_id` names its partner.
    pub fn extra_account(mut self, account: KalturaAccount) -> Self {
        self.extra_accounts.push(account);
        self
    }

    /// The renderer (default: [`Renderer::new`]).
    pub fn renderer(mut self, renderer: Arc<Renderer>) -> Self {
        self.renderer = Some(renderer);
        self
    }

    /// The metrics to count into (default: a fresh set).
    pub fn metrics(mut self, metrics: NotifyMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The [`Notify`] that wakes [`EventRouter::run`] (share it with the webhook receiver,
    /// which pokes it after committing events). Default: a new one, see
    /// [`EventRouter::waker`].
    pub fn wake(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// How long a claim lasts (default [`DEFAULT_LEASE_SECS`]; at least 1).
    pub fn lease_secs(mut self, secs: i64) -> Self {
        self.lease_secs = secs.max(1);
        self
    }

    /// How long [`EventRouter::run`] sleeps when idle (default [`DEFAULT_IDLE`]).
    pub fn idle_interval(mut self, idle: Duration) -> Self {
        self.idle = idle.max(Duration::from_millis(10));
        self
    }

    /// How many events one pass of [`EventRouter::run`] claims (default
    /// [`DEFAULT_BATCH`]; at least 1).
    pub fn batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The meeting lifecycle (default: none): it sees every event before it is routed
    /// ([`MeetingLifecycle::before_routing`]), turns cancelled schedule events into "ended"
    /// and ready recordings into "recording ready", and keeps a meeting's messages to the
    /// guild that started it.
    pub fn lifecycle(mut self, lifecycle: Arc<MeetingLifecycle>) -> Self {
        self.lifecycle = Some(lifecycle);
        self
    }

    /// The router.
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] ([`SetupError::EngineIncomplete`]) naming the first required part
    /// that was not given (`store`, `resolver`, `account`).
    pub fn build(self) -> Result<EventRouter> {
        let missing = |part| Error::Setup(SetupError::EngineIncomplete { part });
        let store = self.store.ok_or_else(|| missing("store"))?;
        let resolver = self.resolver.ok_or_else(|| missing("resolver"))?;
        let default_account = self.account.ok_or_else(|| missing("account"))?;
        let accounts = self
            .extra_accounts
            .into_iter()
            .map(|a| (a.partner_id(), a))
            .collect();
        Ok(EventRouter {
            inner: Arc::new(RouterInner {
                store,
                resolver,
                default_account,
                accounts,
                renderer: self.renderer.unwrap_or_default(),
                metrics: self.metrics.unwrap_or_default(),
                clock: self.clock,
                wake: self.wake,
                lease_secs: self.lease_secs,
                idle: self.idle,
                batch: self.batch,
                lifecycle: self.lifecycle,
            }),
        })
    }
}

/// Why an entry is not announced on a route.
fn refusal(
    filters: &RouteFilters,
    kind: EventKind,
    entry: &MediaEntry,
    event: &Value,
    now: i64,
) -> Option<String> {
    if !filters.include_restricted {
        if entry.status != Some(EntryStatus::Ready) {
            return Some(format!(
                "the entry is not ready (status {})",
                entry
                    .status
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "unknown".into())
            ));
        }
        if let Some(m) = entry.moderation_status
            && !matches!(
                m,
                ModerationStatus::Approved | ModerationStatus::AutoApproved
            )
        {
            return Some(format!(
                "the entry is not approved (moderation status {})",
                m.as_i64()
            ));
        }
        if entry.start_date.is_some_and(|s| s.as_secs() > now) {
            return Some("the entry's scheduling window has not started".into());
        }
        if entry
            .end_date
            .is_some_and(|e| e.as_secs() > 0 && e.as_secs() < now)
        {
            return Some("the entry's scheduling window has ended".into());
        }
        if kind == EventKind::EntryAddedToCategory
            && event
                .get("status")
                .and_then(value_i64)
                .is_some_and(|s| s != 2)
        {
            return Some("the category assignment is pending moderation".into());
        }
    }
    if !filters.category_ids.is_empty() {
        let ids: HashSet<i64> = entry
            .categories_ids
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect();
        let in_category = filters.category_ids.iter().any(|c| ids.contains(c))
            || (filters.include_restricted
                && event
                    .get("categoryId")
                    .and_then(value_i64)
                    .is_some_and(|c| filters.category_ids.contains(&c)));
        if !in_category {
            return Some("the entry is not published to the route's categories".into());
        }
    }
    if !filters.tags.is_empty() {
        let tags: HashSet<String> = entry
            .tags
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|t| t.trim().to_lowercase())
            .collect();
        if !filters
            .tags
            .iter()
            .any(|t| tags.contains(&t.trim().to_lowercase()))
        {
            return Some("the entry has none of the route's tags".into());
        }
    }
    if let Some(owner) = &filters.owner
        && entry.user_id.as_ref().map(|u| u.as_str()) != Some(owner.as_str())
    {
        return Some("the entry has another owner".into());
    }
    if !filters.media_types.is_empty()
        && !entry
            .media_type
            .is_some_and(|t| filters.media_types.contains(&t.as_i64()))
    {
        return Some("the entry's media type is not one of the route's".into());
    }
    if let Some(min) = filters.min_duration_secs
        && entry.duration.unwrap_or(0) < i64::from(min)
    {
        return Some(format!("the entry is shorter than {min} seconds"));
    }
    None
}

fn value_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn value_str(v: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match v.get(*n) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Whether routes of `kind` are about a media entry.
fn is_entry_kind(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::EntryReady
            | EventKind::EntryAddedToCategory
            | EventKind::EntryChanged
            | EventKind::CaptionsReady
    )
}

/// The entry id an event is about: `entryId` (category entries, caption assets,
/// recordings), `recordingEntryId`, `entry_id` (field templates), else the subject for entry
/// kinds.
fn entry_id_of(kind: EventKind, event: &StoredEvent) -> Option<String> {
    let object = &event.event.object;
    value_str(object, &["entryId", "recordingEntryId", "entry_id"]).or_else(|| {
        if is_entry_kind(kind) {
            event
                .event
                .subject
                .clone()
                .or_else(|| value_str(object, &["id"]))
        } else {
            None
        }
    })
}

/// The guild's partner under the router's default.
fn guild_partner(config: &GuildConfig, default: PartnerId) -> PartnerId {
    config.kaltura.partner_id.unwrap_or(default)
}

impl EventRouter {
    /// A builder with the system clock and the defaults above.
    pub fn builder() -> EventRouterBuilder {
        EventRouterBuilder {
            store: None,
            resolver: None,
            account: None,
            extra_accounts: Vec::new(),
            renderer: None,
            metrics: None,
            clock: Arc::new(SystemClock),
            wake: Arc::new(Notify::new()),
            lease_secs: DEFAULT_LEASE_SECS,
            idle: DEFAULT_IDLE,
            batch: DEFAULT_BATCH,
            lifecycle: None,
        }
    }

    /// The [`Notify`] that wakes [`EventRouter::run`]: `notify_one()` it after committing
    /// events.
    pub fn waker(&self) -> Arc<Notify> {
        self.inner.wake.clone()
    }

    fn account(&self, partner: PartnerId) -> Option<&KalturaAccount> {
        let inner = &self.inner;
        if inner.default_account.partner_id() == partner {
            Some(&inner.default_account)
        } else {
            inner.accounts.get(&partner)
        }
    }

    /// A guild's resolved configuration, read once per pass; `None` (logged) when it does
    /// not resolve.
    async fn resolved(
        &self,
        guild: GuildId,
        cache: &PassCache,
    ) -> Option<Arc<ResolvedGuildConfig>> {
        cell(&cache.guilds, guild)
            .await
            .get_or_init(|| async {
                match self.inner.resolver.guild(guild).await {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::warn!(%guild, error = %e, "guild configuration does not resolve; its routes are skipped");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// Every route of the event's partner and kind, subscriptions first.
    async fn candidates(
        &self,
        partner: PartnerId,
        kind: EventKind,
        cache: &PassCache,
    ) -> Result<Vec<Candidate>> {
        let inner = &self.inner;
        let subscriptions = cell(&cache.subscriptions, partner)
            .await
            .get_or_try_init(|| async {
                inner
                    .store
                    .partner_subscriptions(partner)
                    .await
                    .map(Arc::new)
            })
            .await?
            .clone();
        let mut out: Vec<Candidate> = subscriptions
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| Candidate {
                guild: s.guild,
                channel: s.channel,
                webhook: s.webhook.clone(),
                filters: s.filters.clone(),
                settings: RouteSettings {
                    mention_roles: s.mention_roles.clone(),
                    template: s.template.clone(),
                },
                origin: "subscription",
            })
            .collect();
        let default = inner.default_account.partner_id();
        let configured = cache
            .configured
            .get_or_try_init(|| async {
                Ok::<_, Error>(Arc::new(inner.resolver.configured_guilds().await?))
            })
            .await?
            .clone();
        for &guild in configured.iter() {
            let Some(resolved) = self.resolved(guild, cache).await else {
                continue;
            };
            let config = resolved.config();
            if guild_partner(config, default) != partner {
                continue;
            }
            out.extend(
                config
                    .notifications
                    .routes
                    .iter()
                    .filter(|r| r.event == kind)
                    .map(|r| Candidate {
                        guild,
                        channel: r.channel,
                        webhook: r.webhook_url.clone(),
                        filters: r.filters.clone(),
                        settings: RouteSettings {
                            mention_roles: r.mention_roles.clone(),
                            template: r.template.clone(),
                        },
                        origin: "configuration",
                    }),
            );
        }
        Ok(out)
    }

    /// The entry an event is about: from the notification when it carries `status` and
    /// `categoriesIds`, else `media.get`. `None` when the entry no longer exists.
    async fn entry(
        &self,
        kind: EventKind,
        event: &StoredEvent,
        account: &KalturaAccount,
    ) -> Result<Option<MediaEntry>> {
        let object = &event.event.object;
        let carried = object.get("status").is_some()
            && object.get("categoriesIds").is_some()
            && object.get("id").is_some()
            && object.get("entryId").is_none();
        if carried && let Ok(entry) = serde_json::from_value::<MediaEntry>(object.clone()) {
            return Ok(Some(entry));
        }
        let Some(id) = entry_id_of(kind, event) else {
            return Ok(None);
        };
        let id = match kaltura_client::EntryId::parse(&id) {
            Ok(id) => id,
            Err(_) => {
                tracing::debug!(event = %event.id, "the notification names no valid entry id");
                return Ok(None);
            }
        };
        match account.client().media().get(id).await {
            Ok(entry) => Ok(Some(entry)),
            Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::EntryIdNotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The deliveries of one event (none when no route matches). Does not write anything.
    ///
    /// # Errors
    ///
    /// The store or the configuration cannot be read, or Kaltura cannot be reached to fetch
    /// the entry: the event should be routed again later.
    pub async fn route(&self, event: &StoredEvent) -> Result<Vec<NewDelivery>> {
        use tracing::Instrument as _;
        let span = tracing::debug_span!("route", event = %event.id, partner = %event.event.partner_id, kind = ?event.event.kind);
        self.route_inner(event, &PassCache::default())
            .instrument(span)
            .await
    }

    async fn route_inner(
        &self,
        event: &StoredEvent,
        cache: &PassCache,
    ) -> Result<Vec<NewDelivery>> {
        let inner = &self.inner;
        let ev = &event.event;
        let Some(kind) = ev.kind else {
            tracing::debug!(event = %event.id, "not a kind we announce; nothing to route");
            return Ok(Vec::new());
        };
        let partner = ev.partner_id;
        let Some(account) = self.account(partner) else {
            tracing::debug!(event = %event.id, %partner, "no account for this partner; nothing to route");
            return Ok(Vec::new());
        };
        let mut candidates = self.candidates(partner, kind, cache).await?;
        if let Some(lifecycle) = &inner.lifecycle {
            match lifecycle.before_routing(ev, account).await? {
                LifecycleRouting::Skip => return Ok(Vec::new()),
                LifecycleRouting::OnlyGuild(g) => candidates.retain(|c| c.guild == g),
                _ => {}
            }
        }
        if candidates.is_empty() {
            tracing::debug!(event = %event.id, %kind, "no route for this event");
            return Ok(Vec::new());
        }
        let wants_entry = is_entry_kind(kind)
            || (kind == EventKind::RecordingReady
                && value_str(&ev.object, &["entryId", "recordingEntryId"]).is_some());
        let entry = if wants_entry {
            match self.entry(kind, event, account).await? {
                Some(e) => Some(e),
                None if is_entry_kind(kind) => {
                    tracing::debug!(event = %event.id, "the entry does not exist (any more); nothing to route");
                    return Ok(Vec::new());
                }
                None => None,
            }
        } else {
            None
        };
        let subject = ev
            .subject
            .clone()
            .or_else(|| entry.as_ref().map(|e| e.id.as_str().to_owned()))
            .unwrap_or_else(|| ev.dedup_key.clone());
        let subject_key = format!("{kind}:{subject}");
        let thread_key = kind
            .is_meeting()
            .then(|| format!("meeting:{partner}:{subject}"));
        let now = inner.clock.now_unix();
        let default = inner.default_account.partner_id();
        let mut seen: HashSet<ChannelId> = HashSet::new();
        let mut out = Vec::new();
        for c in candidates {
            if seen.contains(&c.channel) {
                continue;
            }
            let Some(resolved) = self.resolved(c.guild, cache).await else {
                continue;
            };
            let config = resolved.config();
            if !config.features.notifications {
                tracing::debug!(guild = %c.guild, channel = %c.channel, "notifications are turned off in this guild");
                continue;
            }
            if guild_partner(config, default) != partner {
                tracing::debug!(guild = %c.guild, "the guild uses another partner now");
                continue;
            }
            if let Some(entry) = &entry
                && let Some(why) = refusal(&c.filters, kind, entry, &ev.object, now)
            {
                tracing::debug!(guild = %c.guild, channel = %c.channel, origin = c.origin, reason = %why, "route skipped");
                inner.metrics.skipped();
                continue;
            }
            let gctx = GuildContext::new(c.guild, config, account);
            let rendered = inner
                .renderer
                .render(kind, ev, entry.as_ref(), &c.settings, &gctx)?;
            seen.insert(c.channel);
            out.push(NewDelivery {
                event: event.id,
                guild: c.guild,
                channel: c.channel,
                webhook: c.webhook,
                kind,
                subject_key: subject_key.clone(),
                thread_key: thread_key.clone(),
                message: rendered.message,
                digest_line: Some(rendered.digest_line),
            });
        }
        Ok(out)
    }

    /// Claims up to `limit` events, routes them ([`ROUTE_CONCURRENCY`] at a time, sharing
    /// one read of the subscriptions and guild configurations) and queues their deliveries
    /// in one [`NotificationStore::route_events`] transaction. Returns how many events were
    /// routed; an event that failed to route (logged) stays claimed until its claim lapses
    /// and is then routed again.
    ///
    /// # Errors
    ///
    /// The store fails to hand out events or to record the routing.
    pub async fn run_once(&self, worker: &WorkerId, limit: u32) -> Result<usize> {
        use tracing::Instrument as _;
        let inner = &self.inner;
        let events = inner
            .store
            .claim_events(worker, inner.clock.now_unix(), inner.lease_secs, limit)
            .await?;
        if events.is_empty() {
            return Ok(0);
        }
        let cache = Arc::new(PassCache::default());
        let mut routed: Vec<Option<RoutedEvent>> = vec![None; events.len()];
        let mut pending = events.into_iter().enumerate();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            while tasks.len() < ROUTE_CONCURRENCY {
                let Some((slot, event)) = pending.next() else {
                    break;
                };
                let router = self.clone();
                let cache = cache.clone();
                let span = tracing::debug_span!("route", event = %event.id, partner = %event.event.partner_id, kind = ?event.event.kind);
                tasks.spawn(
                    async move {
                        let result = router.route_inner(&event, &cache).await;
                        (slot, event.id, result)
                    }
                    .instrument(span),
                );
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            match joined {
                Ok((slot, event, Ok(deliveries))) => {
                    if let Some(place) = routed.get_mut(slot) {
                        *place = Some(RoutedEvent { event, deliveries });
                    }
                }
                Ok((_, event, Err(e))) => {
                    tracing::warn!(%event, error = %e, "could not route the event; it is retried when its claim lapses");
                }
                Err(e) => {
                    tracing::error!(error = %e, "a routing task failed; its event is retried when its claim lapses");
                }
            }
        }
        let batch: Vec<RoutedEvent> = routed.into_iter().flatten().collect();
        if batch.is_empty() {
            return Ok(0);
        }
        let results = inner
            .store
            .route_events(worker, &batch, inner.clock.now_unix())
            .await?;
        let mut count = 0;
        for (routed, result) in batch.iter().zip(results) {
            match result {
                RouteResult::Queued(queued) => {
                    inner.metrics.queued(u64::from(queued));
                    count += 1;
                }
                RouteResult::ClaimLost => {
                    tracing::info!(event = %routed.event, "another router took the event's lapsed claim; it routes it");
                }
                RouteResult::NotFound => {
                    tracing::warn!(event = %routed.event, "the claimed event is gone from the store");
                }
            }
        }
        Ok(count)
    }

    /// Routes until `shutdown` completes: a pass of [`EventRouter::run_once`], then, when
    /// it found nothing, a wait for [`EventRouter::waker`] or the idle interval. Store
    /// failures are logged and retried after the idle interval.
    pub async fn run(self, worker: WorkerId, shutdown: impl Future<Output = ()> + Send) {
        let mut shutdown = pin!(shutdown);
        let inner = self.inner.clone();
        loop {
            let stop =
                std::future::poll_fn(|cx| Poll::Ready(shutdown.as_mut().poll(cx).is_ready()));
            if stop.await {
                return;
            }
            let routed = match self.run_once(&worker, inner.batch).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "routing pass failed; retrying");
                    0
                }
            };
            if routed > 0 {
                continue;
            }
            let mut sleep = pin!(tokio::time::sleep(inner.idle));
            let mut woken = pin!(inner.wake.notified());
            let stop = std::future::poll_fn(|cx| {
                if shutdown.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(true);
                }
                if woken.as_mut().poll(cx).is_ready() || sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
                Poll::Pending
            })
            .await;
            if stop {
                return;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(extra: Value) -> MediaEntry {
        let mut base = json!({
            "id": "0_abc",
            "name": "Intro",
            "userId": "alice",
            "tags": "Rust, async",
            "categoriesIds": "7,9",
            "status": 2,
            "moderationStatus": 6,
            "mediaType": 1,
            "duration": 300,
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        serde_json::from_value(base).unwrap()
    }

    const NOW: i64 = 1_800_000_000;

    fn check(filters: &RouteFilters, e: &MediaEntry) -> Option<String> {
        refusal(filters, EventKind::EntryReady, e, &Value::Null, NOW)
    }

    #[test]
    fn every_filter_matches_and_refuses() {
        let e = entry(json!({}));
        assert_eq!(check(&RouteFilters::default(), &e), None);
        let f = |f: RouteFilters| check(&f, &e);
        assert_eq!(
            f(RouteFilters {
                category_ids: vec![9],
                ..Default::default()
            }),
            None
        );
        assert!(
            f(RouteFilters {
                category_ids: vec![8],
                ..Default::default()
            })
            .unwrap()
            .contains("categories")
        );
        assert_eq!(
            f(RouteFilters {
                tags: vec!["ASYNC".into()],
                ..Default::default()
            }),
            None
        );
        assert!(
            f(RouteFilters {
                tags: vec!["go".into()],
                ..Default::default()
            })
            .unwrap()
            .contains("tags")
        );
        assert_eq!(
            f(RouteFilters {
                owner: Some("alice".into()),
                ..Default::default()
            }),
            None
        );
        assert!(
            f(RouteFilters {
                owner: Some("bob".into()),
                ..Default::default()
            })
            .unwrap()
            .contains("owner")
        );
        assert_eq!(
            f(RouteFilters {
                media_types: vec![5, 1],
                ..Default::default()
            }),
            None
        );
        assert!(
            f(RouteFilters {
                media_types: vec![5],
                ..Default::default()
            })
            .unwrap()
            .contains("media type")
        );
        assert_eq!(
            f(RouteFilters {
                min_duration_secs: Some(300),
                ..Default::default()
            }),
            None
        );
        assert!(
            f(RouteFilters {
                min_duration_secs: Some(301),
                ..Default::default()
            })
            .unwrap()
            .contains("shorter")
        );
    }

    #[test]
    fn restricted_entries_need_include_restricted() {
        let open = RouteFilters::default();
        let restricted = RouteFilters {
            include_restricted: true,
            ..Default::default()
        };
        for (extra, why) in [
            (json!({"status": 4}), "not ready"),
            (json!({"moderationStatus": 1}), "not approved"),
            (json!({"moderationStatus": 3}), "not approved"),
            (json!({"startDate": NOW + 60}), "not started"),
            (json!({"endDate": NOW - 60}), "ended"),
        ] {
            let e = entry(extra.clone());
            assert!(check(&open, &e).unwrap().contains(why), "{extra}");
            assert_eq!(check(&restricted, &e), None, "{extra}");
        }
        assert_eq!(check(&open, &entry(json!({"moderationStatus": 2}))), None);
        assert_eq!(
            check(&open, &entry(json!({"moderationStatus": null}))),
            None
        );
        // A pending category assignment.
        let pending = json!({"categoryId": 11, "status": 1});
        let e = entry(json!({}));
        assert!(
            refusal(&open, EventKind::EntryAddedToCategory, &e, &pending, NOW)
                .unwrap()
                .contains("pending")
        );
        let in_11 = RouteFilters {
            category_ids: vec![11],
            ..Default::default()
        };
        assert!(refusal(&in_11, EventKind::EntryAddedToCategory, &e, &pending, NOW).is_some());
        let in_11_restricted = RouteFilters {
            category_ids: vec![11],
            include_restricted: true,
            ..Default::default()
        };
        assert_eq!(
            refusal(
                &in_11_restricted,
                EventKind::EntryAddedToCategory,
                &e,
                &pending,
                NOW
            ),
            None
        );
    }
}
