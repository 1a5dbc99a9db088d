//! The command engine: `/kaltura` and `/kaltura-admin` answered through the services, with
//! RBAC, Discord's deadline, autocomplete from a cache and re-authorized button clicks.
//!
//! [`CommandEngine`] implements [`InteractionHandler`]. For each interaction it resolves the
//! guild's configuration, picks the guild's Kaltura account, builds a
//! [`GuildContext`](crate::context::GuildContext) and calls the service, which checks the
//! feature switch and the guild's RBAC policy (operations no service authorizes — the
//! configuration, the audit log, admin identity commands — are checked by the handler first).
//!
//! **The deadline.** Discord needs a first answer within 3 seconds. The handler runs as its
//! own task; if it finishes within the engine's deadline (default [`DEFAULT_DEADLINE`],
//! 2.5 s) its reply is the answer. Otherwise the engine answers with a deferral (ephemeral
//! when the final reply will be) and the task completes the reply later through
//! [`DiscordRest::edit_original`]; a failed edit is logged. A click whose result replaces
//! the message it is on is deferred with [`InteractionResponse::DeferredUpdate`]; if it then
//! fails, the error goes to the clicker alone as an ephemeral follow-up.
//!
//! **Errors.** An error whose kind is for the member ([`ErrorKind::is_for_member`]) is shown
//! as is, ephemeral. Kaltura or the store being unreachable is "Kaltura could not be reached,
//! try again"; everything else is "something went wrong (reference …)" with the full error
//! in the log (`tracing`, with the guild, user, command and reference).
//!
//! **Clicks** carry a [`CustomId`]; each is authorized again for the member who clicked,
//! under the guild's current policy: "Join" mints the clicker's own link, "End" needs the
//! host or `end_meeting`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kaltura_discord::commands::{CommandEngine, InteractionHandler as _, Interaction};
//! use kaltura_discord::config::{ConfigResolver, ConfigSources};
//! use kaltura_discord::context::KalturaAccount;
//! use kaltura_discord::rest::DiscordRest;
//! use kaltura_discord::store::MemoryStore;
//!
//! # async fn run(account: KalturaAccount, rest: Arc<dyn DiscordRest>, interaction: Interaction) -> kaltura_discord::Result<()> {
//! let store = Arc::new(MemoryStore::new());
//! let resolver = Arc::new(
//!     ConfigResolver::load(&ConfigSources::defaults_only())?.with_store(store.clone()),
//! );
//! let engine = CommandEngine::builder()
//!     .resolver(resolver)
//!     .account(account)
//!     .stores(store)
//!     .rest(rest)
//!     .build()?;
//! let response = engine.respond(interaction).await;
//! # let _ = response;
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use kaltura_client::PartnerId;
use kaltura_client::clock::{Clock, SystemClock};
use tokio::time::Instant;

use crate::commands::custom_id::{CustomId, SearchToken};
use crate::commands::handlers;
use crate::commands::interaction::{AutocompleteRequest, InteractionContext};
use crate::commands::reply::{Choice, InteractionResponse, Reply};
use crate::commands::{Interaction, InteractionHandler};
use crate::config::{ConfigResolver, ResolvedGuildConfig};
use crate::context::KalturaAccount;
use crate::error::{ErrorKind, SetupError};
use crate::ids::{DiscordUserId, GuildId};
use crate::meetings::MeetingService;
use crate::notify::NotificationStore;
use crate::notify::render::Renderer;
use crate::rest::DiscordRest;
use crate::store::{AuditLog, GuildOverrideStore, IdentityStore, MeetingStore};
use crate::video::VideoService;
use crate::{Error, Result};

/// How long the engine waits for a handler before deferring.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(2500);
/// How long autocomplete suggestions are reused.
pub const AUTOCOMPLETE_TTL: Duration = Duration::from_secs(30);
/// Most autocomplete cache entries (per guild and typed text) kept at once.
pub const AUTOCOMPLETE_MAX_ENTRIES: usize = 1024;
/// Longest wait for autocomplete data on a cache miss (Discord cannot defer autocomplete).
pub const AUTOCOMPLETE_FETCH_BUDGET: Duration = Duration::from_millis(1500);
/// Most autocomplete choices Discord accepts.
pub const MAX_CHOICES: usize = 25;
/// How long the page buttons of a search keep working.
pub const SEARCH_TTL: Duration = Duration::from_secs(15 * 60);
/// Most searches whose page buttons are remembered at once.
pub const SEARCH_MAX_ENTRIES: usize = 4096;

/// The reply to a command used in a direct message.
pub(crate) const DM_TEXT: &str =
    "These commands work in a server: use them in a channel of a server that has the bot.";

/// A small map whose entries expire after a time-to-live and which never holds more than
/// `max` entries (expired ones go first, then the oldest). Never held across an await.
#[derive(Debug)]
pub(crate) struct TtlCache<K, V> {
    ttl: Duration,
    max: usize,
    inner: Mutex<CacheInner<K, V>>,
}

/// The entries, and their keys in insertion order. Every entry lives as long (`ttl`), so
/// insertion order is expiry order: expired and excess entries leave from the front in
/// amortized constant time. A key inserted again leaves a stale record in `order`, skipped
/// when it reaches the front (its time no longer matches) and dropped by compaction.
#[derive(Debug)]
struct CacheInner<K, V> {
    map: HashMap<K, (Instant, V)>,
    order: VecDeque<(Instant, K)>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub(crate) fn new(ttl: Duration, max: usize) -> Self {
        TtlCache {
            ttl,
            max: max.max(1),
            inner: Mutex::new(CacheInner {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live value under `key`.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.map.get(key) {
            Some((at, v)) if now.duration_since(*at) < self.ttl => Some(v.clone()),
            Some(_) => {
                inner.map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` under `key`, evicting expired entries and then the oldest to stay
    /// within the bound.
    pub(crate) fn insert(&self, key: K, value: V) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        // Expired entries first, then the oldest while full.
        while let Some((at, _)) = inner.order.front() {
            let expired = now.duration_since(*at) >= self.ttl;
            let full = inner.map.len() >= self.max && !inner.map.contains_key(&key);
            if !expired && !full {
                break;
            }
            if let Some((at, k)) = inner.order.pop_front()
                && inner.map.get(&k).is_some_and(|(live, _)| *live == at)
            {
                inner.map.remove(&k);
            }
        }
        inner.map.insert(key.clone(), (now, value));
        inner.order.push_back((now, key));
        // Re-inserted keys leave stale records; keep `order` proportional to the map.
        if inner.order.len() > 2 * self.max + 16 {
            let mut live: Vec<(Instant, K)> = inner
                .map
                .iter()
                .map(|(k, (at, _))| (*at, k.clone()))
                .collect();
            live.sort_by_key(|(at, _)| *at);
            inner.order = live.into();
        }
    }

    /// Drops every entry whose key matches.
    pub(crate) fn remove_where(&self, mut matches: impl FnMut(&K) -> bool) {
        self.lock().map.retain(|k, _| !matches(k));
    }

    /// Number of entries (live or not yet purged).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }
}

pub(crate) use crate::services::{Partner, Partners};

/// A remembered search, for its page buttons.
#[derive(Debug, Clone)]
pub(crate) struct CachedSearch {
    pub(crate) guild: GuildId,
    pub(crate) searcher: DiscordUserId,
    pub(crate) query: String,
}

/// What autocomplete caches: `(value, shown name)` pairs.
pub(crate) type Suggestions = Arc<Vec<(String, String)>>;

/// Which suggestions an autocomplete cache entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SuggestionKey {
    /// The guild's open meetings.
    Meetings(GuildId, PartnerId),
    /// Entries matching a typed text (lowercased; empty for the most recent entries).
    Videos(GuildId, PartnerId, String),
}

/// Everything the handlers share.
pub(crate) struct Inner {
    pub(crate) resolver: Arc<ConfigResolver>,
    pub(crate) partners: Partners,
    pub(crate) identity_store: Arc<dyn IdentityStore>,
    pub(crate) meeting_store: Arc<dyn MeetingStore>,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) overrides: Arc<dyn GuildOverrideStore>,
    pub(crate) notifications: Option<Arc<dyn NotificationStore>>,
    pub(crate) renderer: Arc<Renderer>,
    pub(crate) meetings: MeetingService,
    pub(crate) video: VideoService,
    pub(crate) rest: Arc<dyn DiscordRest>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) deadline: Duration,
    pub(crate) identity_page: Option<url::Url>,
    pub(crate) searches: TtlCache<SearchToken, CachedSearch>,
    pub(crate) suggestions: TtlCache<SuggestionKey, Suggestions>,
}

impl Inner {
    /// The guild's resolved configuration and the partner it uses.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the configuration does not resolve; [`Error::InvalidInput`]
    /// (for the member: "not set up for Kaltura") if it names a partner this engine does not
    /// serve.
    pub(crate) async fn guild(
        &self,
        guild: GuildId,
    ) -> Result<(Arc<ResolvedGuildConfig>, &Partner)> {
        let resolved = self.resolver.guild(guild).await?;
        let partner: &Partner = self.partners.for_config(resolved.config())?;
        Ok((resolved, partner))
    }

    /// The current time (unix seconds).
    pub(crate) fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Forgets the cached meeting suggestions of a guild (after a start or an end).
    pub(crate) fn forget_meetings(&self, guild: GuildId) {
        self.suggestions
            .remove_where(|k| matches!(k, SuggestionKey::Meetings(g, _) if *g == guild));
    }
}

/// How a handler's reply is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A new message (deferred as `Deferred { ephemeral }`).
    Message {
        /// Whether only the invoker sees it.
        ephemeral: bool,
    },
    /// Replaces the message the clicked component is on (deferred as `DeferredUpdate`).
    Update,
}

/// Answers `/kaltura` and `/kaltura-admin` interactions; see the [module docs](self).
#[derive(Clone)]
pub struct CommandEngine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CommandEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandEngine")
            .field(
                "default_partner",
                &self.inner.partners.default_partner().account,
            )
            .field("partners", &self.inner.partners.extra_ids())
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

/// Builds a [`CommandEngine`]; start with [`CommandEngine::builder`].
#[must_use]
pub struct CommandEngineBuilder {
    resolver: Option<Arc<ConfigResolver>>,
    account: Option<KalturaAccount>,
    extra_accounts: Vec<KalturaAccount>,
    identity_store: Option<Arc<dyn IdentityStore>>,
    meeting_store: Option<Arc<dyn MeetingStore>>,
    audit: Option<Arc<dyn AuditLog>>,
    overrides: Option<Arc<dyn GuildOverrideStore>>,
    notifications: Option<Arc<dyn NotificationStore>>,
    rest: Option<Arc<dyn DiscordRest>>,
    clock: Arc<dyn Clock>,
    deadline: Duration,
    identity_page: Option<url::Url>,
}

impl std::fmt::Debug for CommandEngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandEngineBuilder")
            .field("account", &self.account)
            .field("extra_accounts", &self.extra_accounts)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl CommandEngine {
    /// A builder with the system clock and [`DEFAULT_DEADLINE`].
    pub fn builder() -> CommandEngineBuilder {
        CommandEngineBuilder {
            resolver: None,
            account: None,
            extra_accounts: Vec::new(),
            identity_store: None,
            meeting_store: None,
            audit: None,
            overrides: None,
            notifications: None,
            rest: None,
            clock: Arc::new(SystemClock),
            deadline: DEFAULT_DEADLINE,
            identity_page: None,
        }
    }

    /// The deadline after which a slow handler is deferred.
    pub fn deadline(&self) -> Duration {
        self.inner.deadline
    }
}

impl CommandEngineBuilder {
    /// The configuration resolver (required). Give it the same override store as
    /// [`CommandEngineBuilder::override_store`], so that `config set` takes effect.
    pub fn resolver(mut self, resolver: Arc<ConfigResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The default Kaltura account (required): guilds whose configuration names no partner,
    /// or this account's partner, use it.
    pub fn account(mut self, account: KalturaAccount) -> Self {
        self.account = Some(account);
        self
    }

    /// Another Kaltura account, used by guilds whose `kaltura.partner_id` names its partner.
    pub fn extra_account(mut self, account: KalturaAccount) -> Self {
        self.extra_accounts.push(account);
        self
    }

    /// One store for identities, meetings, the audit log and guild overrides (e.g.
    /// [`crate::store::MemoryStore`] or `SqlStore`).
    pub fn stores<S>(self, store: Arc<S>) -> Self
    where
        S: IdentityStore + MeetingStore + AuditLog + GuildOverrideStore + 'static,
    {
        self.identity_store(store.clone())
            .meeting_store(store.clone())
            .audit_log(store.clone())
            .override_store(store)
    }

    /// The identity link store (required, or through [`CommandEngineBuilder::stores`]).
    pub fn identity_store(mut self, store: Arc<dyn IdentityStore>) -> Self {
        self.identity_store = Some(store);
        self
    }

    /// The meeting store (required, or through [`CommandEngineBuilder::stores`]).
    pub fn meeting_store(mut self, store: Arc<dyn MeetingStore>) -> Self {
        self.meeting_store = Some(store);
        self
    }

    /// The audit log (required, or through [`CommandEngineBuilder::stores`]).
    pub fn audit_log(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The guild override store (required, or through [`CommandEngineBuilder::stores`]).
    pub fn override_store(mut self, store: Arc<dyn GuildOverrideStore>) -> Self {
        self.overrides = Some(store);
        self
    }

    /// The notification store (optional): without it, `/kaltura-admin notify` answers that
    /// notifications are not configured for this bot.
    pub fn notifications(mut self, store: Arc<dyn NotificationStore>) -> Self {
        self.notifications = Some(store);
        self
    }

    /// Discord's REST API (required): completes deferred replies, mirrors meetings as
    /// scheduled events.
    pub fn rest(mut self, rest: Arc<dyn DiscordRest>) -> Self {
        self.rest = Some(rest);
        self
    }

    /// The clock of the services (meeting times, link expiry).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The API gateway's public address (`https://kd.example.org`), whose identity-proof
    /// page (`/link`) `/kaltura link` offers to members who need to prove a Kaltura account
    /// is theirs. Without it, they are told to ask an admin.
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] ([`SetupError::InvalidGatewayConfig`]) for a value that is not an
    /// http(s) URL with a host.
    pub fn identity_page_base(mut self, gateway_public_url: &str) -> Result<Self> {
        let mut base = url::Url::parse(gateway_public_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::Setup(SetupError::InvalidGatewayConfig {
                    reason: "the gateway's public URL must look like https://kd.example.org".into(),
                })
            })?;
        base.set_path("/link");
        base.set_query(None);
        base.set_fragment(None);
        self.identity_page = Some(base);
        Ok(self)
    }

    /// How long to wait for a handler before deferring (default [`DEFAULT_DEADLINE`]; keep
    /// it well under Discord's 3 seconds).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The engine.
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] ([`SetupError::EngineIncomplete`]) naming the first required part
    /// that was not given.
    pub fn build(self) -> Result<CommandEngine> {
        let missing = |part| Error::Setup(SetupError::EngineIncomplete { part });
        let resolver = self.resolver.ok_or_else(|| missing("resolver"))?;
        let account = self.account.ok_or_else(|| missing("account"))?;
        let identity_store = self
            .identity_store
            .ok_or_else(|| missing("identity_store"))?;
        let meeting_store = self.meeting_store.ok_or_else(|| missing("meeting_store"))?;
        let audit = self.audit.ok_or_else(|| missing("audit_log"))?;
        let overrides = self.overrides.ok_or_else(|| missing("override_store"))?;
        let rest = self.rest.ok_or_else(|| missing("rest"))?;
        let clock = self.clock;
        let partners = Partners::new(
            account,
            self.extra_accounts,
            &identity_store,
            &audit,
            &clock,
        );
        let inner = Inner {
            partners,
            meetings: MeetingService::new(meeting_store.clone(), audit.clone())
                .with_clock(clock.clone()),
            video: VideoService::new(audit.clone()).with_clock(clock.clone()),
            resolver,
            identity_store,
            meeting_store,
            audit,
            overrides,
            notifications: self.notifications,
            renderer: Arc::new(Renderer::new()),
            rest,
            clock,
            deadline: self.deadline,
            identity_page: self.identity_page,
            searches: TtlCache::new(SEARCH_TTL, SEARCH_MAX_ENTRIES),
            suggestions: TtlCache::new(AUTOCOMPLETE_TTL, AUTOCOMPLETE_MAX_ENTRIES),
        };
        Ok(CommandEngine {
            inner: Arc::new(inner),
        })
    }
}

/// A short random reference for an error, to find it in the log.
fn reference() -> String {
    crate::text::random_hex(4)
}

/// The member-facing reply for `err` (ephemeral), logging what members are not shown.
pub(crate) fn error_reply(err: &Error, ctx: &InteractionContext, command: &str) -> Reply {
    let guild = ctx.guild.map(|g| g.to_string()).unwrap_or_default();
    let user = ctx.invoker.user;
    let kind = err.kind();
    let text = if kind.is_for_member() {
        tracing::debug!(%guild, %user, command, error = %err, "refused");
        err.to_string()
    } else if kind == ErrorKind::Unavailable {
        tracing::warn!(%guild, %user, command, error = %err, "a command failed: unavailable");
        "Kaltura could not be reached; try again in a moment.".to_owned()
    } else {
        let reference = reference();
        tracing::error!(%guild, %user, command, %reference, error = %err, "a command failed");
        format!(
            "Something went wrong (reference {reference}). Try again later, or give the reference to a server admin."
        )
    };
    Reply::text(text).ephemeral()
}

/// The reply when a handler task died (a bug): a reference, the details in the log.
fn panic_reply(label: &str, join: &tokio::task::JoinError) -> Reply {
    let reference = reference();
    tracing::error!(command = %label, %reference, error = %join, "a command handler stopped unexpectedly");
    Reply::text(format!(
        "Something went wrong (reference {reference}). Try again later, or give the reference to a server admin."
    ))
    .ephemeral()
}

/// A short name of the interaction for logs, e.g. `kaltura meeting start` or a click's kind.
/// Names come from the request, so anything but `A-Z a-z 0-9 _ - space` becomes `?` (no
/// forged log lines).
fn label(interaction: &Interaction) -> String {
    raw_label(interaction)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' ') {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn raw_label(interaction: &Interaction) -> String {
    match interaction {
        Interaction::Command(c) => {
            let mut s = c.command.chars().take(32).collect::<String>();
            for p in c.path.iter().take(2) {
                s.push(' ');
                s.extend(p.chars().take(32));
            }
            s
        }
        Interaction::Component(c) => {
            let kind: String = c
                .custom_id
                .split(':')
                .nth(1)
                .unwrap_or("")
                .chars()
                .take(16)
                .collect();
            format!("click {kind}")
        }
        Interaction::Autocomplete(_) => "autocomplete".into(),
        Interaction::ModalSubmit(_) => "modal".into(),
        Interaction::Ping => "ping".into(),
    }
}

/// Whether a command leaf's final reply is ephemeral: everything but meeting start and the
/// video commands (search, share, info) is.
pub(crate) fn leaf_is_ephemeral(command: &str, path: &[String]) -> bool {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    !matches!(
        (command, path.as_slice()),
        ("kaltura", ["meeting", "start"]) | ("kaltura", ["video", "search" | "share" | "info"])
    )
}

impl Inner {
    /// How the reply to `interaction` is delivered (decided before the handler runs, so a
    /// deferral can say it).
    fn mode(&self, interaction: &Interaction) -> Mode {
        match interaction {
            Interaction::Command(c) => Mode::Message {
                ephemeral: leaf_is_ephemeral(&c.command, &c.path),
            },
            Interaction::Component(click) => match CustomId::parse(&click.custom_id) {
                Ok(CustomId::End { .. }) => Mode::Update,
                Ok(CustomId::Share { .. } | CustomId::ShareMenu) => {
                    Mode::Message { ephemeral: false }
                }
                Ok(CustomId::SearchPage { token, .. }) => match self.searches.get(&token) {
                    Some(s)
                        if s.searcher == click.context.invoker.user
                            && Some(s.guild) == click.context.guild =>
                    {
                        Mode::Update
                    }
                    _ => Mode::Message { ephemeral: true },
                },
                _ => Mode::Message { ephemeral: true },
            },
            _ => Mode::Message { ephemeral: true },
        }
    }

    /// Runs the handler; `Err` holds the error reply (already logged).
    async fn dispatch(
        self: Arc<Self>,
        interaction: Interaction,
        label: String,
    ) -> Result<Reply, Reply> {
        let Some(ctx) = interaction.context().cloned() else {
            return Err(Reply::text("nothing to do").ephemeral());
        };
        let result = match &interaction {
            Interaction::Command(c) => handlers::command(&self, c).await,
            Interaction::Component(c) => handlers::click(&self, c).await,
            Interaction::ModalSubmit(_) => {
                Err(Error::Interaction(crate::commands::InteractionError::new(
                    "this form is outdated or was not made by this bot",
                )))
            }
            Interaction::Autocomplete(_) | Interaction::Ping => Err(Error::Interaction(
                crate::commands::InteractionError::new("not a command"),
            )),
        };
        result.map_err(|e| error_reply(&e, &ctx, &label))
    }
}

/// The immediate response for a finished handler.
fn inline(mode: Mode, outcome: Result<Reply, Reply>) -> InteractionResponse {
    match (mode, outcome) {
        (Mode::Message { ephemeral }, Ok(mut reply)) => {
            reply.ephemeral = ephemeral;
            InteractionResponse::Message(reply)
        }
        (Mode::Update, Ok(mut reply)) => {
            reply.ephemeral = false;
            InteractionResponse::Update(reply)
        }
        (_, Err(reply)) => InteractionResponse::Message(reply.ephemeral()),
    }
}

/// Completes a deferred interaction once its handler has finished.
async fn complete_later(
    rest: Arc<dyn DiscordRest>,
    ctx: InteractionContext,
    mode: Mode,
    label: String,
    outcome: Result<Reply, Reply>,
) {
    let result = match (mode, outcome) {
        (Mode::Update, Err(reply)) => rest
            .create_followup(ctx.application_id, &ctx.token, &reply.ephemeral())
            .await
            .map(|_| ()),
        (Mode::Message { ephemeral }, Ok(mut reply)) => {
            reply.ephemeral = ephemeral;
            rest.edit_original(ctx.application_id, &ctx.token, &reply)
                .await
        }
        (_, Ok(reply) | Err(reply)) => {
            rest.edit_original(ctx.application_id, &ctx.token, &reply)
                .await
        }
    };
    if let Err(e) = result {
        let guild = ctx.guild.map(|g| g.to_string()).unwrap_or_default();
        tracing::warn!(%guild, user = %ctx.invoker.user, command = %label, error = %e, "could not complete a deferred reply");
    }
}

#[async_trait]
impl InteractionHandler for CommandEngine {
    async fn respond(&self, interaction: Interaction) -> InteractionResponse {
        let ctx = match interaction.context() {
            None => return InteractionResponse::Pong,
            Some(ctx) => ctx.clone(),
        };
        if let Interaction::Autocomplete(request) = interaction {
            return InteractionResponse::Autocomplete(self.autocomplete(request).await);
        }
        if ctx.guild.is_none() {
            return InteractionResponse::Message(Reply::text(DM_TEXT).ephemeral());
        }
        let label = label(&interaction);
        let mode = self.inner.mode(&interaction);
        let mut task = tokio::spawn(self.inner.clone().dispatch(interaction, label.clone()));
        match tokio::time::timeout(self.inner.deadline, &mut task).await {
            Ok(Ok(outcome)) => inline(mode, outcome),
            Ok(Err(join)) => InteractionResponse::Message(panic_reply(&label, &join)),
            Err(_elapsed) => {
                let rest = self.inner.rest.clone();
                let ctx2 = ctx.clone();
                let label2 = label.clone();
                tokio::spawn(async move {
                    let outcome = match task.await {
                        Ok(outcome) => outcome,
                        Err(join) => Err(panic_reply(&label2, &join)),
                    };
                    complete_later(rest, ctx2, mode, label2, outcome).await;
                });
                tracing::debug!(command = %label, "deferred past the deadline");
                match mode {
                    Mode::Message { ephemeral } => InteractionResponse::Deferred { ephemeral },
                    Mode::Update => InteractionResponse::DeferredUpdate,
                }
            }
        }
    }
}

impl CommandEngine {
    /// Autocomplete suggestions, within the fetch budget (possibly none).
    async fn autocomplete(&self, request: AutocompleteRequest) -> Vec<Choice> {
        if request.context.guild.is_none() {
            return Vec::new();
        }
        let budget = self.inner.deadline.min(AUTOCOMPLETE_FETCH_BUDGET);
        let inner = self.inner.clone();
        let label = label(&Interaction::Autocomplete(request.clone()));
        let ctx = request.context.clone();
        // The fetch runs as its own task so that a slow answer still fills the cache for
        // the member's next keystroke.
        let mut task = tokio::spawn(async move { handlers::autocomplete(&inner, &request).await });
        match tokio::time::timeout(budget, &mut task).await {
            Ok(Ok(Ok(mut choices))) => {
                choices.truncate(MAX_CHOICES);
                choices
            }
            Ok(Ok(Err(e))) => {
                let _ = error_reply(&e, &ctx, &label);
                Vec::new()
            }
            Ok(Err(join)) => {
                tracing::error!(error = %join, "an autocomplete handler panicked");
                Vec::new()
            }
            Err(_) => {
                tracing::debug!("autocomplete answered empty: the fetch is still running");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_cache_expires_and_stays_bounded() {
        let cache: TtlCache<u32, u32> = TtlCache::new(Duration::from_secs(30), 3);
        cache.insert(1, 10);
        assert_eq!(cache.get(&1), Some(10));
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(cache.get(&1), None);
        for k in 0..10 {
            cache.insert(k, k);
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert_eq!(cache.len(), 3);
        // The newest survive.
        assert_eq!(cache.get(&9), Some(9));
        assert_eq!(cache.get(&7), Some(7));
        assert_eq!(cache.get(&0), None);
        cache.remove_where(|k| *k == 9);
        assert_eq!(cache.get(&9), None);
    }

    #[tokio::test(start_paused = true)]
    async fn reinserted_keys_keep_their_new_time_and_the_order_stays_bounded() {
        let cache: TtlCache<u32, u32> = TtlCache::new(Duration::from_secs(30), 3);
        cache.insert(1, 1);
        tokio::time::advance(Duration::from_millis(1)).await;
        cache.insert(2, 2);
        tokio::time::advance(Duration::from_millis(1)).await;
        cache.insert(1, 11); // 1 is now the newest
        tokio::time::advance(Duration::from_millis(1)).await;
        cache.insert(3, 3);
        tokio::time::advance(Duration::from_millis(1)).await;
        cache.insert(4, 4); // full: the oldest live entry (2) leaves, not 1
        assert_eq!(cache.get(&2), None);
        assert_eq!(cache.get(&1), Some(11));
        assert_eq!(cache.get(&3), Some(3));
        assert_eq!(cache.get(&4), Some(4));
        for round in 0..1000 {
            cache.insert(round % 2, round);
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert!(cache.lock().order.len() <= 2 * 3 + 17);
        assert_eq!(cache.len(), 3);
        // Everything expires together after the TTL.
        tokio::time::advance(Duration::from_secs(31)).await;
        cache.insert(7, 7);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn only_meeting_start_and_video_commands_are_public() {
        let p = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(!leaf_is_ephemeral("kaltura", &p(&["meeting", "start"])));
        assert!(!leaf_is_ephemeral("kaltura", &p(&["video", "search"])));
        assert!(!leaf_is_ephemeral("kaltura", &p(&["video", "share"])));
        assert!(!leaf_is_ephemeral("kaltura", &p(&["video", "info"])));
        for personal in [
            p(&["meeting", "join"]),
            p(&["meeting", "list"]),
            p(&["meeting", "end"]),
            p(&["link"]),
            p(&["whoami"]),
            p(&["help"]),
        ] {
            assert!(leaf_is_ephemeral("kaltura", &personal), "{personal:?}");
        }
        assert!(leaf_is_ephemeral("kaltura-admin", &p(&["config", "show"])));
        assert!(leaf_is_ephemeral(
            "kaltura-admin",
            &p(&["meeting", "start"])
        ));
    }
}
