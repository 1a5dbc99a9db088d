//! A fake Kaltura API v3 server for offline development and tests (feature `fake`).
//!
//! [`FakeKaltura`] runs an in-process HTTP server (axum) on loopback that speaks the real
//! wire protocol closely enough for this crate, the official Python client and plain `curl`:
//!
//! * requests are decoded like the real server does (JSON body only with the exact
//!   `Content-Type: application/json`, form/query keys nested on `:`, `/key/value` path pairs,
//!   case-insensitive service and action names, strings or numbers for every scalar);
//! * responses are JSON (`format=1`) or XML (`format=2` or no format), errors are HTTP 200
//!   `KalturaAPIException`s with Kaltura's real codes, messages and arguments;
//! * sessions are real KS strings (v2 by default) signed with the fake partner's admin secret,
//!   checked on every call (missing, invalid, expired, logged out, wrong partner, USER session
//!   on an admin action) against a [`FakeClock`] you control;
//! * user logins: `user.loginByLoginId` answers a real KS for the user (USER, or ADMIN for an
//!   admin user), or Kaltura's own refusals (`USER_NOT_FOUND`, `USER_WRONG_PASSWORD`, and the
//!   lockout `LOGIN_RETRIES_EXCEEDED` / `LOGIN_BLOCKED` configured with
//!   [`FakeKalturaBuilder::login_lockout`]); the demo users have logins ([`DEMO_USERS`]),
//!   others get one with [`FakeKaltura::set_user_login`];
//! * multirequests with `{N:result:path}` back-references;
//! * an in-memory catalog: media/baseEntry, users, categories, app tokens, eSearch, schedule
//!   resources/events, virtual events and event-notification templates, optionally seeded with
//!   a deterministic demo data set ([`FakeKalturaBuilder::seed_demo_data`]);
//! * failure injection ([`FakeKaltura::fail_next`]): latency, HTTP errors, HTML error pages;
//! * HTTP event notifications (webhooks) for its active HTTP notification templates, signed
//!   and retried like Kaltura's ([`NotificationSettings`], [`FakeKaltura::notifications`],
//!   [`FakeKaltura::add_ready_entry`], [`FakeKaltura::set_entry_status`]).
//!
//! The binary `fake-kaltura` (package `kaltura-discord-examples`) runs the same server
//! standalone so clients in any language can use it.
//!
//! What is **not** faked: uploads/content, flavors and playback (`dataUrl`/`downloadUrl` are
//! built like the real ones but answer `404`; thumbnail URLs answer an SVG placeholder),
//! entitlements, response profiles, and `format` values other than 1 and 2 (served as XML).

mod demo;
mod errors;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod fuzz;
mod limits;
mod multirequest;
mod notify;
mod params;
mod server;
mod services;
mod store;
mod xml;

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::PartnerId;
use crate::clock::{Clock, SystemClock};
use crate::ks::{self, Ks, KsBuilder, KsSigner, KsVersion, SessionType};

pub use demo::{DEMO_ENTRY_COUNT, DEMO_USERS, DemoUser};
pub use limits::Limits;
pub use notify::{
    AttemptOutcome, DispatchRecord, MAX_RECORDS, NotificationFault, NotificationSettings,
};
pub use services::user::LoginLockout;

/// The default partner id of a fake server.
pub const DEFAULT_PARTNER_ID: i64 = 12345;

/// A clock for the fake server that tests can move: it follows the system clock plus an
/// offset until [`FakeClock::set`] pins it to a fixed time.
///
/// Cloning shares the same time. Implements [`Clock`], so it can also sign KS strings.
///
/// ```
/// use std::time::Duration;
/// use kaltura_client::fake::FakeClock;
/// use kaltura_client::clock::Clock as _;
///
/// let clock = FakeClock::fixed(1_700_000_000);
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now_unix(), 1_700_000_060);
/// ```
#[derive(Clone, Default)]
pub struct FakeClock {
    inner: Arc<ClockInner>,
}

#[derive(Default)]
struct ClockInner {
    /// `i64::MIN` = follow the system clock.
    fixed: AtomicI64Opt,
    offset: AtomicI64,
}

/// An `Option<i64>` in an atomic (`i64::MIN` is `None`).
struct AtomicI64Opt(AtomicI64);

impl Default for AtomicI64Opt {
    fn default() -> Self {
        AtomicI64Opt(AtomicI64::new(i64::MIN))
    }
}

impl FakeClock {
    /// Follows the system clock.
    pub fn system() -> FakeClock {
        FakeClock::default()
    }

    /// Pinned at `unix_secs` until moved.
    pub fn fixed(unix_secs: i64) -> FakeClock {
        let c = FakeClock::default();
        c.set(unix_secs);
        c
    }

    /// Pins the clock at `unix_secs`.
    pub fn set(&self, unix_secs: i64) {
        self.inner
            .fixed
            .0
            .store(unix_secs.max(i64::MIN + 1), Ordering::SeqCst);
    }

    /// Moves the clock forward (pinned or not).
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        let fixed = self.inner.fixed.0.load(Ordering::SeqCst);
        if fixed == i64::MIN {
            self.inner.offset.fetch_add(secs, Ordering::SeqCst);
        } else {
            self.set(fixed.saturating_add(secs));
        }
    }
}

impl Clock for FakeClock {
    fn now_unix(&self) -> i64 {
        let fixed = self.inner.fixed.0.load(Ordering::SeqCst);
        if fixed != i64::MIN {
            fixed
        } else {
            SystemClock
                .now_unix()
                .saturating_add(self.inner.offset.load(Ordering::SeqCst))
        }
    }
}

impl fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FakeClock").field(&self.now_unix()).finish()
    }
}

/// A failure the fake server can inject instead of (or before) answering a request; see
/// [`FakeKaltura::fail_next`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Wait this long, then answer normally.
    Latency(Duration),
    /// Answer with this HTTP status and a short plain-text body (e.g. `503`).
    Status(u16),
    /// Answer with an HTML error page (as a proxy or load balancer would) with this status;
    /// `200` reproduces the "Unexpected token <" case of the official clients.
    Html(u16),
}

/// Everything the request handlers share.
pub(crate) struct Shared {
    pub(crate) partner_id: PartnerId,
    pub(crate) admin_secret: SecretString,
    pub(crate) user_secret: SecretString,
    pub(crate) signer: KsSigner,
    pub(crate) ks_version: KsVersion,
    pub(crate) max_ks_expiry: i64,
    pub(crate) base_url: String,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: Limits,
    /// The lockout of `user.loginByLoginId` after wrong passwords.
    pub(crate) login_lockout: LoginLockout,
    pub(crate) store: Mutex<store::Store>,
    pub(crate) failures: Mutex<VecDeque<Failure>>,
    pub(crate) notifier: notify::Notifier,
    /// Whether `listTemplates` offers the fake's own `HTTP_SCHEDULE_EVENT_SAVED`.
    pub(crate) schedule_event_template: bool,
}

impl Shared {
    /// Locks the catalog (recovering from a poisoned lock: the data is plain values).
    pub(crate) fn store(&self) -> MutexGuard<'_, store::Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Dispatches the HTTP notifications `event` raises (from a handler holding `store`).
    pub(crate) fn emit(&self, store: &store::Store, event: &notify::ObjectEvent) {
        self.notifier.emit(
            store,
            expose(&self.admin_secret),
            self.partner_id.get(),
            event,
        );
    }

    fn next_failure(&self) -> Option<Failure> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
    }
}

/// Configures a [`FakeKaltura`]; start with [`FakeKaltura::builder`].
#[derive(Debug)]
#[must_use]
pub struct FakeKalturaBuilder {
    partner_id: PartnerId,
    admin_secret: Option<SecretString>,
    user_secret: Option<SecretString>,
    seed_demo_data: bool,
    clock: Option<Arc<dyn Clock>>,
    listen: SocketAddr,
    public_url: Option<String>,
    ks_version: KsVersion,
    max_ks_expiry: Duration,
    limits: Limits,
    notifications: NotificationSettings,
    schedule_event_template: bool,
    login_lockout: LoginLockout,
}

impl Default for FakeKalturaBuilder {
    fn default() -> Self {
        FakeKalturaBuilder {
            partner_id: PartnerId::new(DEFAULT_PARTNER_ID),
            admin_secret: None,
            user_secret: None,
            seed_demo_data: false,
            clock: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            ks_version: KsVersion::V2,
            max_ks_expiry: KsBuilder::DEFAULT_EXPIRY,
            limits: Limits::default(),
            notifications: NotificationSettings::default(),
            schedule_event_template: true,
            login_lockout: LoginLockout::default(),
        }
    }
}

impl FakeKalturaBuilder {
    /// The partner id (default [`DEFAULT_PARTNER_ID`]).
    pub fn partner_id(mut self, id: impl Into<PartnerId>) -> Self {
        self.partner_id = id.into();
        self
    }

    /// The admin secret (default: 32 random hex characters).
    pub fn admin_secret(mut self, secret: impl Into<String>) -> Self {
        self.admin_secret = Some(SecretString::from(secret.into()));
        self
    }

    /// The user secret (default: 32 random hex characters).
    pub fn user_secret(mut self, secret: impl Into<String>) -> Self {
        self.user_secret = Some(SecretString::from(secret.into()));
        self
    }

    /// Whether to load the deterministic demo catalog (entries, categories, users).
    pub fn seed_demo_data(mut self, seed: bool) -> Self {
        self.seed_demo_data = seed;
        self
    }

    /// The clock used for KS expiry, `createdAt` and friends (default: system clock). Pass a
    /// [`FakeClock`] to move time in tests.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The base URL put into generated URLs (`thumbnailUrl`, `dataUrl`); default: the URL the
    /// server is listening on.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// The KS format `session.start` and friends produce (default v2). Both are accepted.
    pub fn ks_version(mut self, version: KsVersion) -> Self {
        self.ks_version = version;
        self
    }

    /// The partner's `ksMaxExpiryInSeconds`: longer requested expiries are capped (default 24 h).
    pub fn max_ks_expiry(mut self, max: Duration) -> Self {
        self.max_ks_expiry = max;
        self
    }

    /// The resource bounds (request size and time, back-reference expansion, catalog size);
    /// default [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How HTTP notifications are delivered (attempts, retry interval); default
    /// [`NotificationSettings::default`]: 3 attempts, 60 s apart, like Kaltura.
    pub fn notifications(mut self, settings: NotificationSettings) -> Self {
        self.notifications = settings;
        self
    }

    /// Whether `listTemplates` offers `HTTP_SCHEDULE_EVENT_SAVED`, a system template of the
    /// fake only (default `true`); `false` behaves like a real server, which has no HTTP
    /// template for schedule events, so a client must `add` one itself.
    pub fn schedule_event_system_template(mut self, offer: bool) -> Self {
        self.schedule_event_template = offer;
        self
    }

    /// The lockout of `user.loginByLoginId` after repeated wrong passwords (default
    /// [`LoginLockout::default`], Kaltura's configuration default).
    pub fn login_lockout(mut self, lockout: LoginLockout) -> Self {
        self.login_lockout = lockout;
        self
    }

    fn into_shared(self, base_url: String) -> Arc<Shared> {
        let admin_secret = self.admin_secret.unwrap_or_else(random_secret);
        let user_secret = self.user_secret.unwrap_or_else(random_secret);
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let base_url = self
            .public_url
            .unwrap_or(base_url)
            .trim_end_matches('/')
            .to_owned();
        let mut store = store::Store::default();
        if self.seed_demo_data {
            demo::seed(&mut store, self.partner_id.get(), &base_url);
        }
        Arc::new(Shared {
            partner_id: self.partner_id,
            signer: KsSigner::new(&admin_secret),
            admin_secret,
            user_secret,
            ks_version: self.ks_version,
            max_ks_expiry: i64::try_from(self.max_ks_expiry.as_secs())
                .unwrap_or(i64::MAX)
                .max(1),
            base_url,
            clock,
            limits: self.limits,
            login_lockout: self.login_lockout,
            store: Mutex::new(store),
            failures: Mutex::new(VecDeque::new()),
            notifier: notify::Notifier::new(self.notifications),
            schedule_event_template: self.schedule_event_template,
        })
    }

    /// Binds the listen address and starts serving in a background task.
    ///
    /// # Errors
    /// The I/O error if the address cannot be bound.
    pub async fn start(self) -> std::io::Result<FakeKaltura> {
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let shared = self.into_shared(url.clone());
        let app = server::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let limits = shared.limits;
        let task = tokio::spawn(server::serve(listener, app, limits, rx));
        tracing::info!(%url, partner_id = %shared.partner_id, "fake kaltura server started");
        Ok(FakeKaltura {
            url,
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

fn random_secret() -> SecretString {
    use rand::Rng as _;
    let mut buf = [0u8; 16];
    rand::rng().fill_bytes(&mut buf);
    SecretString::from(hex::encode(buf))
}

/// A running fake Kaltura server. Stops when dropped (or with [`FakeKaltura::shutdown`]).
pub struct FakeKaltura {
    url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for FakeKaltura {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeKaltura")
            .field("url", &self.url)
            .field("partner_id", &self.shared.partner_id)
            .finish_non_exhaustive()
    }
}

impl FakeKaltura {
    /// Starts a fake server with the defaults (partner [`DEFAULT_PARTNER_ID`], random secrets,
    /// empty catalog, system clock) on a free loopback port.
    ///
    /// ```no_run
    /// use kaltura_client::fake::FakeKaltura;
    ///
    /// # async fn demo() {
    /// let fake = FakeKaltura::start().await;
    /// let url = format!("{}/api_v3/service/session/action/start", fake.url());
    /// // POST {"secret": …, "partnerId": …, "type": 2, "format": 1} to `url` to get a KS.
    /// # let _ = (url, fake.partner_id(), fake.admin_secret());
    /// fake.shutdown().await;
    /// # }
    /// ```
    ///
    /// # Panics
    /// If no loopback port can be bound (use [`FakeKaltura::builder`] and
    /// [`FakeKalturaBuilder::start`] to handle that error).
    pub async fn start() -> FakeKaltura {
        match FakeKaltura::builder().start().await {
            Ok(fake) => fake,
            Err(e) => panic!("fake kaltura: cannot bind 127.0.0.1:0: {e}"),
        }
    }

    /// A builder to configure partner, secrets, clock, demo data and listen address.
    pub fn builder() -> FakeKalturaBuilder {
        FakeKalturaBuilder::default()
    }

    /// The service URL, e.g. `http://127.0.0.1:34567` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The partner id.
    pub fn partner_id(&self) -> PartnerId {
        self.shared.partner_id
    }

    /// The partner's admin secret.
    pub fn admin_secret(&self) -> &SecretString {
        &self.shared.admin_secret
    }

    /// The partner's user secret (only valid for USER sessions in `session.start`).
    pub fn user_secret(&self) -> &SecretString {
        &self.shared.user_secret
    }

    /// The current time of the server's clock (unix seconds).
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// Signs a KS for this partner with the server's clock (handy in tests).
    ///
    /// # Errors
    /// As [`KsBuilder::sign`].
    pub fn sign(&self, builder: &KsBuilder) -> crate::Result<Ks> {
        self.shared
            .signer
            .sign_with(builder, self.shared.clock.as_ref(), &mut ks::OsRandom)
    }

    /// An ADMIN KS valid for 24 hours (by the server's clock), user `admin`.
    ///
    /// # Panics
    /// Only if the admin secret is empty.
    pub fn admin_ks(&self) -> String {
        self.ks_for(SessionType::Admin, "admin")
    }

    /// A USER KS valid for 24 hours for `user_id`.
    ///
    /// # Panics
    /// If the admin secret is empty, or with KS v1 if `user_id` contains `;`.
    pub fn user_ks(&self, user_id: &str) -> String {
        self.ks_for(SessionType::User, user_id)
    }

    fn ks_for(&self, t: SessionType, user_id: &str) -> String {
        let builder = KsBuilder::new(self.shared.partner_id)
            .session_type(t)
            .user_id(user_id)
            .version(self.shared.ks_version);
        match self.sign(&builder) {
            Ok(ks) => ks.expose_secret().to_owned(),
            // Only possible with an empty admin secret or a user id containing `;` in v1.
            Err(e) => panic!("fake kaltura: cannot sign a KS: {e}"),
        }
    }

    /// Gives user `user_id` a Kaltura login: `user.loginByLoginId(login_id, password)` then
    /// answers a KS for `user_id`. Replaces the user's earlier login and any login with the
    /// same login id (compared without case). The demo users have one already
    /// ([`DEMO_USERS`]).
    ///
    /// # Errors
    /// `INVALID_USER_ID` when there is no such user; `INVALID_FIELD_VALUE` for an empty login
    /// id or password.
    pub fn set_user_login(
        &self,
        user_id: &str,
        login_id: &str,
        password: &SecretString,
    ) -> Result<(), crate::ApiError> {
        let key = services::user::login_key(login_id);
        if key.is_empty() {
            return Err(errors::invalid_field_value("loginId"));
        }
        if password.expose_secret().is_empty() {
            return Err(errors::invalid_field_value("password"));
        }
        let mut store = self.shared.store();
        if !store.users.contains_key(user_id) {
            return Err(errors::invalid_user_id());
        }
        store.logins.retain(|_, login| login.user_id != user_id);
        store.logins.insert(
            key,
            services::user::LoginData::new(user_id, password.expose_secret()),
        );
        Ok(())
    }

    /// Makes the next `times` requests fail with `failure` (queued after earlier ones).
    pub fn fail_next(&self, times: usize, failure: Failure) {
        let mut q = self
            .shared
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        q.extend(std::iter::repeat_n(failure, times));
    }

    /// Drops every queued failure.
    pub fn clear_failures(&self) {
        self.shared
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Number of media entries in the catalog.
    pub fn entry_count(&self) -> usize {
        self.shared.store().entries.len()
    }

    /// Every HTTP notification dispatched so far (oldest first, at most [`MAX_RECORDS`]), with
    /// the outcome of each attempt; see [`NotificationSettings`].
    pub fn notifications(&self) -> Vec<DispatchRecord> {
        self.shared.notifier.snapshot()
    }

    /// How many dispatches were started and how many finished (all attempts done).
    pub fn notification_counts(&self) -> (usize, usize) {
        (
            self.shared.notifier.started(),
            self.shared.notifier.finished(),
        )
    }

    /// Resolves once at least `n` dispatches have finished (delivered or given up), with the
    /// number finished. Wrap it in a timeout in tests.
    ///
    /// ```no_run
    /// # async fn demo(fake: kaltura_client::fake::FakeKaltura) {
    /// use std::time::Duration;
    /// tokio::time::timeout(Duration::from_secs(30), fake.wait_for_notifications(1))
    ///     .await
    ///     .expect("one notification within 30 s");
    /// # }
    /// ```
    pub fn wait_for_notifications(&self, n: usize) -> impl Future<Output = usize> + 'static {
        self.shared.notifier.wait_finished(n)
    }

    /// Makes the next `times` dispatches carry `fault` (on every attempt), e.g. a wrong
    /// signature.
    pub fn fail_next_notifications(&self, times: usize, fault: NotificationFault) {
        self.shared.notifier.fail_next(times, fault);
    }

    /// Sets an entry's status as the conversion pipeline of a real server would (an admin
    /// helper: `status` is read-only in the API), bumping `updatedAt` and dispatching the
    /// OBJECT_CHANGED notifications (e.g. `HTTP_ENTRY_STATUS_EQUALS` for READY = 2).
    ///
    /// # Errors
    /// `ENTRY_ID_NOT_FOUND` when there is no such entry.
    pub fn set_entry_status(&self, entry_id: &str, status: i64) -> Result<(), crate::ApiError> {
        let now = self.shared.now();
        let mut store = self.shared.store();
        let old = store
            .entries
            .get(entry_id)
            .cloned()
            .ok_or_else(|| errors::entry_id_not_found(entry_id))?;
        let mut new = old.clone();
        new.insert("status".into(), serde_json::json!(status));
        new.insert("updatedAt".into(), serde_json::json!(now));
        store.entries.insert(entry_id.to_owned(), new.clone());
        if let Some(event) = notify::ObjectEvent::entry_changed(&old, &new) {
            self.shared.emit(&store, &event);
        }
        Ok(())
    }

    /// Adds an entry the way an upload ends on a real server: created without content
    /// (OBJECT_ADDED, and an added-to-category event per category), then READY (status
    /// changed). Returns the new entry id. For the dev console and tests.
    ///
    /// ```no_run
    /// # async fn demo(fake: kaltura_client::fake::FakeKaltura) {
    /// use kaltura_client::fake::NewEntry;
    /// let id = fake
    ///     .add_ready_entry(NewEntry::new("Intro lecture").duration(200).category(7))
    ///     .expect("added");
    /// # let _ = id;
    /// # }
    /// ```
    ///
    /// # Errors
    /// `MAX_OBJECTS_REACHED` when the catalog is full ([`Limits::max_entries`]).
    pub fn add_ready_entry(&self, entry: NewEntry) -> Result<String, crate::ApiError> {
        self.add_entry_then_ready(entry, None)
    }

    /// Simulates the recording of a Kaltura Meetings session (schedule event `event_id`)
    /// becoming available, and returns the recorded entry's id.
    ///
    /// How a recording is tied to its session in Kaltura: a record schedule event
    /// (`KalturaEntryScheduleEvent`) has a `templateEntryId`, "entry to be used as template
    /// during content ingestion", and an entry created from a template carries the template's
    /// id in its own `KalturaBaseEntry.templateEntryId`. So the session of a recording is
    /// `scheduleEvent.list` with `templateEntryIdEqual` = the recording's `templateEntryId`
    /// (filter class `KalturaRecordScheduleEventFilter`). Kaltura Meetings gives the session
    /// a template entry when it records it if it has none; the fake does the same here:
    ///
    /// 1. if the event has no `templateEntryId`, a template entry (no content, status
    ///    NO_CONTENT = 7, named after the event's summary) is added (OBJECT_ADDED) and set
    ///    as the event's `templateEntryId` (the schedule-event change notification);
    /// 2. the recording is added like [`FakeKaltura::add_ready_entry`] (added, then READY,
    ///    with the usual notifications), its `templateEntryId` being the template entry and
    ///    its `referenceId` the event id.
    ///
    /// The event may be cancelled (a recording usually arrives after the session ended).
    ///
    /// # Errors
    /// `SCHEDULE_EVENT_ID_NOT_FOUND` when there is no such event; `MAX_OBJECTS_REACHED` when
    /// the catalog is full.
    pub fn add_recording(&self, event_id: i64, entry: NewEntry) -> Result<String, crate::ApiError> {
        const EVENTS: &str = "scheduleEvent";
        let now = self.shared.now();
        let mut store = self.shared.store();
        let event = store
            .tables
            .get(EVENTS)
            .and_then(|t| t.get(&event_id))
            .cloned()
            .ok_or_else(|| errors::schedule_event_not_found(&event_id.to_string()))?;
        let template = match event
            .get("templateEntryId")
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
        {
            Some(t) => t.to_owned(),
            None => {
                let max = self.shared.limits.entries();
                if store.entries.len() >= max {
                    return Err(errors::max_objects_reached("entry", &max.to_string()));
                }
                let id = store.next_string_id();
                let mut object = services::media::new_entry(
                    self.shared.partner_id.get(),
                    &self.shared.base_url,
                    &id,
                    now,
                    &entry.user_id,
                );
                let summary = event
                    .get("summary")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("Meeting");
                object.insert(
                    "name".into(),
                    serde_json::json!(format!("{summary} (template)")),
                );
                store.entries.insert(id.clone(), object.clone());
                self.shared
                    .emit(&store, &notify::ObjectEvent::entry_added(&object));
                let mut new = event.clone();
                new.insert("templateEntryId".into(), serde_json::json!(id));
                new.insert("updatedAt".into(), serde_json::json!(now));
                store.table(EVENTS).insert(event_id, new.clone());
                if let Some(change) = notify::ObjectEvent::schedule_event_changed(&event, &new) {
                    self.shared.emit(&store, &change);
                }
                id
            }
        };
        drop(store);
        self.add_entry_then_ready(
            entry,
            Some(&[
                ("templateEntryId", serde_json::json!(template)),
                ("referenceId", serde_json::json!(event_id.to_string())),
            ]),
        )
    }

    fn add_entry_then_ready(
        &self,
        entry: NewEntry,
        extra: Option<&[(&str, serde_json::Value)]>,
    ) -> Result<String, crate::ApiError> {
        let now = self.shared.now();
        let mut store = self.shared.store();
        let max = self.shared.limits.entries();
        if store.entries.len() >= max {
            return Err(errors::max_objects_reached("entry", &max.to_string()));
        }
        let id = store.next_string_id();
        let mut object = services::media::new_entry(
            self.shared.partner_id.get(),
            &self.shared.base_url,
            &id,
            now,
            &entry.user_id,
        );
        let ids: Vec<String> = entry.category_ids.iter().map(i64::to_string).collect();
        for (k, v) in [
            ("name", serde_json::json!(entry.name)),
            ("description", serde_json::json!(entry.description)),
            ("tags", serde_json::json!(entry.tags.join(","))),
            ("categoriesIds", serde_json::json!(ids.join(","))),
            ("mediaType", serde_json::json!(entry.media_type)),
            ("duration", serde_json::json!(entry.duration_secs)),
            (
                "msDuration",
                serde_json::json!(entry.duration_secs.saturating_mul(1000)),
            ),
        ] {
            object.insert(k.to_owned(), v);
        }
        for (k, v) in extra.unwrap_or_default() {
            object.insert((*k).to_owned(), v.clone());
        }
        services::media::sync_categories(&store, &mut object);
        store.entries.insert(id.clone(), object.clone());
        self.shared
            .emit(&store, &notify::ObjectEvent::entry_added(&object));
        for event in notify::ObjectEvent::categories_added(None, &object, now) {
            self.shared.emit(&store, &event);
        }
        drop(store);
        self.set_entry_status(&id, 2)?;
        Ok(id)
    }

    /// Stops accepting connections and waits for the open ones to finish.
    pub async fn shutdown(mut self) {
        self.shared.notifier.stop();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeKaltura {
    fn drop(&mut self) {
        self.shared.notifier.stop();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An entry for [`FakeKaltura::add_ready_entry`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct NewEntry {
    name: String,
    description: String,
    tags: Vec<String>,
    category_ids: Vec<i64>,
    user_id: String,
    media_type: i64,
    duration_secs: i64,
}

impl NewEntry {
    /// A video named `name`, owned by `admin`, 60 seconds long, in no category.
    pub fn new(name: impl Into<String>) -> Self {
        NewEntry {
            name: name.into(),
            description: String::new(),
            tags: Vec::new(),
            category_ids: Vec::new(),
            user_id: "admin".to_owned(),
            media_type: 1,
            duration_secs: 60,
        }
    }

    /// The description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds the entry to category `id`.
    pub fn category(mut self, id: i64) -> Self {
        self.category_ids.push(id);
        self
    }

    /// The owner's Kaltura user id.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// The media type (VIDEO = 1, IMAGE = 2, AUDIO = 5).
    pub fn media_type(mut self, media_type: i64) -> Self {
        self.media_type = media_type;
        self
    }

    /// The duration in seconds.
    pub fn duration(mut self, secs: i64) -> Self {
        self.duration_secs = secs.max(0);
        self
    }
}

/// The admin secret as `&str`, for code paths that compare secrets.
pub(crate) fn expose(s: &SecretString) -> &str {
    s.expose_secret()
}
