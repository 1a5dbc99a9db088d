//! HTTP event notifications of the fake server: when an entry is added, changes (status
//! included), is added to a category or deleted, or a schedule event is added or changed, the
//! fake finds its **active** HTTP notification templates whose `eventType`,
//! `eventObjectType` and conditions match, and POSTs the real `KalturaHttpNotification` body
//! to each template's `url`, signed like Kaltura: `X-KALTURA-SIGNATURE` =
//! hex(hash(admin secret ‖ body)), `X-KALTURA-HASH-ALGO` from `secureHashingAlgo`
//! (`sha1` when unset).
//!
//! Delivery works like Kaltura's batch jobs: only **exactly HTTP 200** counts as delivered,
//! anything else (and a network error) is retried, [`NotificationSettings::attempts`] times
//! in all, [`NotificationSettings::interval`] apart, with the same `eventNotificationJobId`.
//! Dispatch runs on spawned tasks, so API calls never wait for a receiver. Every dispatch is
//! recorded ([`FakeKaltura::notifications`](super::FakeKaltura::notifications)) and tests can
//! await a number of finished dispatches
//! ([`FakeKaltura::wait_for_notifications`](super::FakeKaltura::wait_for_notifications)).
//!
//! # Conditions
//!
//! Real templates carry PHP conditions; the fake understands these `eventConditions`:
//!
//! * `KalturaEventObjectChangedCondition{modifiedColumns: "status,name"}`: one of the
//!   properties changed in this event;
//! * `KalturaFieldMatchCondition{field: {code: "$scope->getObject()->getStatus()"},
//!   values: [{value: "2"}], not}`: the property read by the getter (`getStatus` →
//!   `status`) equals one of the values.
//!
//! A condition of another kind never matches (the template is not dispatched), so a fake
//! never sends what the real server might not.
//!
//! # Bodies
//!
//! `data` `KalturaHttpNotificationObjectData` with `format` JSON (1, the default) gives the
//! raw JSON body (`Content-Type: application/json`), or `data=<urlencoded JSON>` when the
//! template has `urlEncode: true`; `format` XML (2) gives `data=<urlencoded
//! <notification>…</notification>>`. `KalturaHttpNotificationDataFields` gives a form of the
//! template's `contentParameters` (each value a getter `code` as above, or a fixed
//! `value`). `GET` and `DELETE` templates are sent as `POST`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};
use sha1::Digest as _;
use tokio::sync::{Semaphore, watch};

use super::params;
use super::store::{Object, Store};

/// The table of event notification templates in the fake's store.
pub(crate) const TEMPLATE_TABLE: &str = "eventNotificationTemplate";

/// At most this many dispatch records are kept (the oldest are dropped).
pub const MAX_RECORDS: usize = 10_000;

/// At most this many notification requests are in flight at once.
const MAX_IN_FLIGHT: usize = 32;

/// `eventType` values (`KalturaEventNotificationEventType`).
pub(crate) mod event_type {
    pub(crate) const OBJECT_ADDED: &str = "2";
    pub(crate) const OBJECT_CHANGED: &str = "3";
    pub(crate) const OBJECT_CREATED: &str = "5";
    pub(crate) const OBJECT_DELETED: &str = "7";
    pub(crate) const OBJECT_SAVED: &str = "10";
}

/// `eventObjectType` values (`KalturaEventNotificationEventObjectType`).
pub(crate) mod object_type {
    pub(crate) const ENTRY: &str = "1";
    pub(crate) const CATEGORY_ENTRY: &str = "37";
    pub(crate) const SCHEDULE_EVENT: &str = "scheduleEventNotifications.ScheduleEvent";
}

/// How the fake delivers notifications; set with
/// [`FakeKalturaBuilder::notifications`](super::FakeKalturaBuilder::notifications).
///
/// ```
/// use std::time::Duration;
/// use kaltura_client::fake::NotificationSettings;
///
/// let settings = NotificationSettings::default().attempts(5).interval(Duration::ZERO);
/// assert_eq!(settings.attempts_per_dispatch(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct NotificationSettings {
    attempts: u32,
    interval: Duration,
    timeout: Duration,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            attempts: 3,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

impl NotificationSettings {
    /// Attempts per dispatch, the first included (default 3, Kaltura's
    /// `default_job_execution_attempt`; at least 1).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Time between attempts (default 60 s, Kaltura's `default_job_retry_interval`; zero is
    /// allowed, for tests).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Timeout of one attempt when the template sets none (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The attempts per dispatch.
    pub fn attempts_per_dispatch(&self) -> u32 {
        self.attempts
    }

    /// The time between attempts.
    pub fn retry_interval(&self) -> Duration {
        self.interval
    }
}

/// A fault the fake injects into its next dispatches; see
/// [`FakeKaltura::fail_next_notifications`](super::FakeKaltura::fail_next_notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotificationFault {
    /// Sign with a wrong secret (every attempt of the dispatch).
    WrongSignature,
    /// Send no `X-KALTURA-SIGNATURE` header.
    MissingSignature,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The receiver answered with this HTTP status (only 200 counts as delivered).
    Status(u16),
    /// No answer: connection refused, reset, timed out (the error, without secrets).
    Network(String),
}

impl AttemptOutcome {
    /// The HTTP status, if the receiver answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AttemptOutcome::Status(s) => Some(*s),
            AttemptOutcome::Network(_) => None,
        }
    }
}

/// One dispatch of one template for one event: what was sent where, and every attempt.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchRecord {
    /// The template's URL.
    pub url: String,
    /// `eventNotificationJobId` (unique per dispatch, the same on every attempt).
    pub job_id: i64,
    /// The template.
    pub template_id: i64,
    /// The template's system name.
    pub template_system_name: String,
    /// `eventType` (`"3"`).
    pub event_type: String,
    /// `eventObjectType` (`"1"`).
    pub event_object_type: String,
    /// The id of the object (entry id, schedule event id, `entryId` of a category entry).
    pub object_id: String,
    /// The body sent (the same on every attempt).
    pub body: String,
    /// The `Content-Type` sent.
    pub content_type: String,
    /// The fault injected, if any.
    pub fault: Option<NotificationFault>,
    /// Each attempt's outcome, in order.
    pub attempts: Vec<AttemptOutcome>,
    /// Whether all attempts are done.
    pub finished: bool,
}

impl DispatchRecord {
    /// Whether an attempt got exactly HTTP 200.
    pub fn delivered(&self) -> bool {
        self.attempts.iter().any(|a| a.status() == Some(200))
    }

    /// The HTTP status of each attempt (`None` for network errors).
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.attempts.iter().map(AttemptOutcome::status).collect()
    }
}

impl fmt::Debug for DispatchRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatchRecord")
            .field("url", &self.url)
            .field("job_id", &self.job_id)
            .field("template_id", &self.template_id)
            .field("template_system_name", &self.template_system_name)
            .field("event_type", &self.event_type)
            .field("event_object_type", &self.event_object_type)
            .field("object_id", &self.object_id)
            .field("fault", &self.fault)
            .field("attempts", &self.attempts)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// Something that happened to a catalog object, raised by the service handlers.
#[derive(Debug, Clone)]
pub(crate) struct ObjectEvent {
    /// The `eventType`s it raises (e.g. OBJECT_CHANGED and OBJECT_SAVED).
    pub(crate) event_types: &'static [&'static str],
    /// The `eventObjectType`.
    pub(crate) object_type: &'static str,
    /// The object as the API returns it.
    pub(crate) object: Object,
    /// The properties changed (for OBJECT_CHANGED).
    pub(crate) modified: Vec<String>,
}

impl ObjectEvent {
    /// An entry was added.
    pub(crate) fn entry_added(entry: &Object) -> ObjectEvent {
        ObjectEvent {
            event_types: &[
                event_type::OBJECT_CREATED,
                event_type::OBJECT_ADDED,
                event_type::OBJECT_SAVED,
            ],
            object_type: object_type::ENTRY,
            object: entry.clone(),
            modified: Vec::new(),
        }
    }

    /// An entry changed from `old` to `new`; `None` when nothing changed.
    pub(crate) fn entry_changed(old: &Object, new: &Object) -> Option<ObjectEvent> {
        let modified = modified_columns(old, new);
        (!modified.is_empty()).then(|| ObjectEvent {
            event_types: &[event_type::OBJECT_CHANGED, event_type::OBJECT_SAVED],
            object_type: object_type::ENTRY,
            object: new.clone(),
            modified,
        })
    }

    /// An entry was deleted.
    pub(crate) fn entry_deleted(entry: &Object) -> ObjectEvent {
        let mut object = entry.clone();
        object.insert("status".into(), json!(3));
        ObjectEvent {
            event_types: &[event_type::OBJECT_DELETED],
            object_type: object_type::ENTRY,
            object,
            modified: Vec::new(),
        }
    }

    /// The entry was added to the categories in `new` that are not in `old` (`categoriesIds`),
    /// one `KalturaCategoryEntry` event each.
    pub(crate) fn categories_added(old: Option<&Object>, new: &Object, now: i64) -> Vec<Self> {
        let ids = |o: Option<&Object>| -> Vec<i64> {
            o.and_then(|o| o.get("categoriesIds"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .split(',')
                .filter_map(|s| s.trim().parse::<i64>().ok())
                .collect()
        };
        let before = ids(old);
        let entry_id = new.get("id").cloned().unwrap_or(Value::Null);
        let mut seen = Vec::new();
        ids(Some(new))
            .into_iter()
            .filter(|id| !before.contains(id))
            .filter(|id| {
                let fresh = !seen.contains(id);
                seen.push(*id);
                fresh
            })
            .map(|category_id| {
                let mut object = Map::new();
                object.insert("categoryId".into(), json!(category_id));
                object.insert("entryId".into(), entry_id.clone());
                object.insert("createdAt".into(), json!(now));
                object.insert("updatedAt".into(), json!(now));
                object.insert("status".into(), json!(2));
                object.insert("objectType".into(), json!("KalturaCategoryEntry"));
                ObjectEvent {
                    event_types: &[event_type::OBJECT_CREATED, event_type::OBJECT_ADDED],
                    object_type: object_type::CATEGORY_ENTRY,
                    object,
                    modified: Vec::new(),
                }
            })
            .collect()
    }

    /// A schedule event was added.
    pub(crate) fn schedule_event_added(event: &Object) -> ObjectEvent {
        ObjectEvent {
            event_types: &[
                event_type::OBJECT_CREATED,
                event_type::OBJECT_ADDED,
                event_type::OBJECT_SAVED,
            ],
            object_type: object_type::SCHEDULE_EVENT,
            object: event.clone(),
            modified: Vec::new(),
        }
    }

    /// A schedule event changed from `old` to `new`; `None` when nothing changed.
    pub(crate) fn schedule_event_changed(old: &Object, new: &Object) -> Option<ObjectEvent> {
        let modified = modified_columns(old, new);
        (!modified.is_empty()).then(|| ObjectEvent {
            event_types: &[event_type::OBJECT_CHANGED, event_type::OBJECT_SAVED],
            object_type: object_type::SCHEDULE_EVENT,
            object: new.clone(),
            modified,
        })
    }
}

/// The properties whose values differ (`updatedAt` and `version` ignored).
fn modified_columns(old: &Object, new: &Object) -> Vec<String> {
    let mut out: Vec<String> = new
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "updatedAt" | "version"))
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k))
            .map(String::clone),
    );
    out
}

/// The notification machinery one fake server owns.
pub(crate) struct Notifier {
    settings: NotificationSettings,
    http: reqwest::Client,
    /// The runtime the server was started on (dispatch tasks are spawned there).
    runtime: Option<tokio::runtime::Handle>,
    next_job_id: AtomicI64,
    faults: Mutex<VecDeque<NotificationFault>>,
    records: Arc<Mutex<VecDeque<DispatchRecord>>>,
    finished_tx: Arc<watch::Sender<usize>>,
    started: AtomicUsize,
    in_flight: Arc<Semaphore>,
    /// Set when the server stops: dispatches in flight give up their remaining attempts.
    stop: watch::Sender<bool>,
}

impl Notifier {
    pub(crate) fn new(settings: NotificationSettings) -> Notifier {
        use rand::Rng as _;
        let mut buf = [0u8; 2];
        rand::rng().fill_bytes(&mut buf);
        // A random base, so two fake servers (or runs) do not reuse job ids.
        let base = (i64::from(u16::from_le_bytes(buf)) + 1) * 1_000_000;
        let (finished_tx, _) = watch::channel(0usize);
        Notifier {
            settings,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            runtime: tokio::runtime::Handle::try_current().ok(),
            next_job_id: AtomicI64::new(base),
            faults: Mutex::new(VecDeque::new()),
            records: Arc::new(Mutex::new(VecDeque::new())),
            finished_tx: Arc::new(finished_tx),
            started: AtomicUsize::new(0),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            stop: watch::channel(false).0,
        }
    }

    /// Stops retrying: dispatches in flight end after their current attempt.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn records(&self) -> MutexGuard<'_, VecDeque<DispatchRecord>> {
        lock(&self.records)
    }

    /// Queues `times` faults for the next dispatches.
    pub(crate) fn fail_next(&self, times: usize, fault: NotificationFault) {
        lock(&self.faults).extend(std::iter::repeat_n(fault, times));
    }

    /// Every dispatch recorded (oldest first, at most [`MAX_RECORDS`]).
    pub(crate) fn snapshot(&self) -> Vec<DispatchRecord> {
        self.records().iter().cloned().collect()
    }

    /// Dispatches started so far.
    pub(crate) fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Dispatches whose attempts are all done.
    pub(crate) fn finished(&self) -> usize {
        *self.finished_tx.borrow()
    }

    /// Waits until at least `n` dispatches finished.
    pub(crate) fn wait_finished(&self, n: usize) -> impl Future<Output = usize> + 'static {
        let mut rx = self.finished_tx.subscribe();
        async move {
            let seen = match rx.wait_for(|count| *count >= n).await {
                Ok(count) => Some(*count),
                Err(_) => None,
            };
            // The sender lives as long as the server; if it is gone, report what was seen.
            seen.unwrap_or_else(|| *rx.borrow())
        }
    }

    /// Dispatches `event` to every matching active HTTP template (the store is the caller's
    /// locked catalog). Returns how many dispatches were started.
    pub(crate) fn emit(&self, store: &Store, secret: &str, partner_id: i64, event: &ObjectEvent) {
        let Some(templates) = store.tables.get(TEMPLATE_TABLE) else {
            return;
        };
        let matching: Vec<&Object> = templates
            .values()
            .filter(|t| is_active_http(t))
            .filter(|t| template_matches(t, event))
            .collect();
        for template in matching {
            self.dispatch(template, secret, partner_id, event);
        }
    }

    fn dispatch(&self, template: &Object, secret: &str, partner_id: i64, event: &ObjectEvent) {
        let Some(runtime) = self.runtime.clone() else {
            tracing::warn!("fake kaltura: no tokio runtime, notification not sent");
            return;
        };
        let url = str_prop(template, "url");
        if url.is_empty() {
            return;
        }
        let job_id = self.next_job_id.fetch_add(1, Ordering::SeqCst);
        let template_id = params::int(template.get("id")).unwrap_or_default();
        let matched_event_type = params::string(template.get("eventType")).unwrap_or_default();
        let (body, content_type) = render_body(template, event, job_id, &matched_event_type);
        let algo = HashAlgo::of(template);
        let fault = lock(&self.faults).pop_front();
        let signature = match fault {
            None => Some(algo.sign(secret, body.as_bytes())),
            Some(NotificationFault::WrongSignature) => {
                Some(algo.sign("not-the-admin-secret", body.as_bytes()))
            }
            Some(NotificationFault::MissingSignature) => None,
        };
        let mut headers: Vec<(String, String)> = vec![
            ("Content-Type".into(), content_type.clone()),
            ("X-KALTURA-HASH-ALGO".into(), algo.name().into()),
        ];
        if let Some(sig) = signature {
            headers.push(("X-KALTURA-SIGNATURE".into(), sig));
        }
        for h in params::list(template.get("customHeaders")) {
            if let Some(h) = h.as_object() {
                let key = params::string(h.get("key")).unwrap_or_default();
                let value = params::string(h.get("value")).unwrap_or_default();
                if !key.is_empty() {
                    headers.push((key, value));
                }
            }
        }
        let object_id = params::string(event.object.get("id"))
            .or_else(|| params::string(event.object.get("entryId")))
            .unwrap_or_default();
        let record = DispatchRecord {
            url: url.to_owned(),
            job_id,
            template_id,
            template_system_name: str_prop(template, "systemName").to_owned(),
            event_type: matched_event_type,
            event_object_type: event.object_type.to_owned(),
            object_id,
            body: body.clone(),
            content_type,
            fault,
            attempts: Vec::new(),
            finished: false,
        };
        {
            let mut records = self.records();
            if records.len() >= MAX_RECORDS {
                records.pop_front();
            }
            records.push_back(record);
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        let timeout = params::int(template.get("timeout"))
            .filter(|t| *t > 0)
            .map_or(self.settings.timeout, |t| {
                Duration::from_secs(u64::try_from(t).unwrap_or(30))
            });
        let put = params::int(template.get("method")) == Some(3);
        let job = Job {
            http: self.http.clone(),
            url: url.to_owned(),
            put,
            headers,
            body,
            job_id,
            timeout,
            settings: self.settings,
            records: self.records.clone(),
            finished: self.finished_tx.clone(),
            in_flight: self.in_flight.clone(),
            stop: self.stop.subscribe(),
        };
        tracing::debug!(
            job_id,
            template_id,
            partner_id,
            "fake kaltura: dispatching a notification"
        );
        runtime.spawn(job.run());
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One dispatch in flight.
struct Job {
    http: reqwest::Client,
    url: String,
    put: bool,
    headers: Vec<(String, String)>,
    body: String,
    job_id: i64,
    timeout: Duration,
    settings: NotificationSettings,
    records: Arc<Mutex<VecDeque<DispatchRecord>>>,
    finished: Arc<watch::Sender<usize>>,
    in_flight: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
}

impl Job {
    async fn run(mut self) {
        for attempt in 1..=self.settings.attempts {
            if *self.stop.borrow() {
                break;
            }
            let outcome = self.attempt().await;
            let delivered = outcome.status() == Some(200);
            tracing::debug!(
                job_id = self.job_id,
                attempt,
                ?outcome,
                "fake kaltura: notification attempt"
            );
            self.update(|r| r.attempts.push(outcome));
            if delivered {
                break;
            }
            if attempt < self.settings.attempts && !self.settings.interval.is_zero() {
                let interval = self.settings.interval;
                let stopped = tokio::select! {
                    () = tokio::time::sleep(interval) => false,
                    _ = self.stop.wait_for(|stop| *stop) => true,
                };
                if stopped {
                    break;
                }
            }
        }
        self.update(|r| r.finished = true);
        self.finished.send_modify(|n| *n += 1);
    }

    async fn attempt(&self) -> AttemptOutcome {
        let _permit = self.in_flight.acquire().await;
        let mut req = if self.put {
            self.http.put(&self.url)
        } else {
            self.http.post(&self.url)
        };
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match req
            .timeout(self.timeout)
            .body(self.body.clone())
            .send()
            .await
        {
            Ok(resp) => AttemptOutcome::Status(resp.status().as_u16()),
            Err(e) => AttemptOutcome::Network(e.without_url().to_string()),
        }
    }

    fn update(&self, f: impl FnOnce(&mut DispatchRecord)) {
        let mut records = lock(&self.records);
        if let Some(r) = records.iter_mut().rev().find(|r| r.job_id == self.job_id) {
            f(r);
        }
    }
}

/// The hash of `X-KALTURA-SIGNATURE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashAlgo {
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlgo {
    /// From the template's `secureHashingAlgo` (1, 2, 3; SHA-1 when unset or unknown).
    fn of(template: &Object) -> HashAlgo {
        match params::int(template.get("secureHashingAlgo")) {
            Some(2) => HashAlgo::Sha256,
            Some(3) => HashAlgo::Sha512,
            _ => HashAlgo::Sha1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// hex(hash(secret ‖ body)).
    fn sign(self, secret: &str, body: &[u8]) -> String {
        match self {
            HashAlgo::Sha1 => {
                let mut h = sha1::Sha1::new();
                h.update(secret.as_bytes());
                h.update(body);
                hex::encode(h.finalize())
            }
            HashAlgo::Sha256 => {
                let mut h = sha2::Sha256::new();
                h.update(secret.as_bytes());
                h.update(body);
                hex::encode(h.finalize())
            }
            HashAlgo::Sha512 => {
                let mut h = sha2::Sha512::new();
                h.update(secret.as_bytes());
                h.update(body);
                hex::encode(h.finalize())
            }
        }
    }
}

fn str_prop<'o>(o: &'o Object, name: &str) -> &'o str {
    o.get(name).and_then(Value::as_str).unwrap_or("")
}

/// An active HTTP template that events dispatch.
fn is_active_http(t: &Object) -> bool {
    let http = str_prop(t, "objectType") == "KalturaHttpNotificationTemplate"
        || str_prop(t, "type") == "httpNotification.Http";
    http && params::int(t.get("status")) == Some(2)
        && params::boolean(t.get("automaticDispatchEnabled")) != Some(false)
}

fn template_matches(t: &Object, event: &ObjectEvent) -> bool {
    let event_type = params::string(t.get("eventType")).unwrap_or_default();
    let object_type = params::string(t.get("eventObjectType")).unwrap_or_default();
    event.event_types.contains(&event_type.as_str())
        && object_type == event.object_type
        && params::list(t.get("eventConditions"))
            .into_iter()
            .all(|c| condition_holds(c, event))
}

/// The property a getter `code` reads: `$scope->getObject()->getStatus()` → `status`.
fn getter_property(code: &str) -> Option<String> {
    let rest = code.trim().strip_prefix("$scope->getObject()->get")?;
    let name = rest.strip_suffix("()")?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let mut chars = name.chars();
    let first = chars.next()?;
    Some(first.to_ascii_lowercase().to_string() + chars.as_str())
}

/// A property as text, for condition values and content parameters.
fn property_text(o: &Object, name: &str) -> String {
    match o.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "1" } else { "0" }.to_owned(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn condition_holds(c: &Value, event: &ObjectEvent) -> bool {
    let Some(c) = c.as_object() else { return false };
    let negate = params::boolean(c.get("not")).unwrap_or(false);
    let holds = match str_prop(c, "objectType") {
        "KalturaEventObjectChangedCondition" => {
            let columns = params::string(c.get("modifiedColumns")).unwrap_or_default();
            columns
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .any(|col| event.modified.iter().any(|m| m.eq_ignore_ascii_case(col)))
        }
        "KalturaFieldMatchCondition" => {
            let code = params::object(c.get("field"))
                .and_then(|f| params::string(f.get("code")))
                .unwrap_or_default();
            let Some(property) = getter_property(&code) else {
                return false;
            };
            let actual = property_text(&event.object, &property);
            params::list(c.get("values")).into_iter().any(|v| {
                params::object(Some(v))
                    .and_then(|v| params::string(v.get("value")))
                    .is_some_and(|v| v == actual)
            })
        }
        other => {
            tracing::debug!(
                condition = other,
                "fake kaltura: unsupported notification condition, template not dispatched"
            );
            return false;
        }
    };
    holds != negate
}

/// The body and its content type.
fn render_body(
    template: &Object,
    event: &ObjectEvent,
    job_id: i64,
    event_type: &str,
) -> (String, String) {
    let data = params::object(template.get("data"));
    let data_type = data.map_or("KalturaHttpNotificationObjectData", |d| {
        str_prop(d, "objectType")
    });
    if data_type == "KalturaHttpNotificationDataFields" {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for p in params::list(template.get("contentParameters")) {
            let Some(p) = p.as_object() else { continue };
            let key = params::string(p.get("key")).unwrap_or_default();
            if key.is_empty() {
                continue;
            }
            let value = params::object(p.get("value"));
            let text = value
                .and_then(|v| params::string(v.get("code")))
                .and_then(|code| getter_property(&code))
                .map(|prop| property_text(&event.object, &prop))
                .or_else(|| value.and_then(|v| params::string(v.get("value"))))
                .unwrap_or_default();
            form.append_pair(&key, &text);
        }
        return (
            form.finish(),
            "application/x-www-form-urlencoded".to_owned(),
        );
    }
    let mut object = event.object.clone();
    if data.and_then(|d| params::boolean(d.get("ignoreNull"))) == Some(true) {
        object.retain(|_, v| !v.is_null());
    }
    let notification = json!({
        "object": object,
        "eventObjectType": event.object_type,
        "eventNotificationJobId": job_id,
        "templateId": params::int(template.get("id")).unwrap_or_default(),
        "templateName": str_prop(template, "name"),
        "templateSystemName": str_prop(template, "systemName"),
        "eventType": event_type,
        "objectType": "KalturaHttpNotification",
    });
    let format = data.and_then(|d| params::int(d.get("format"))).unwrap_or(1);
    if format == 2 {
        let mut xml = String::from("<notification>");
        super::xml::value(&mut xml, &notification);
        xml.push_str("</notification>");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("data", &xml)
            .finish();
        return (body, "application/xml".to_owned());
    }
    let json = notification.to_string();
    if params::boolean(template.get("urlEncode")) == Some(true) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("data", &json)
            .finish();
        (body, "application/json".to_owned())
    } else {
        (json, "application/json".to_owned())
    }
}

/// The system templates `listTemplates` offers for cloning (partner 0), as on a real server,
/// with conditions the fake understands. `HTTP_SCHEDULE_EVENT_SAVED` is the fake's own: a
/// real server has no HTTP template for schedule events (only Kafka ones).
pub(crate) fn system_templates() -> Vec<Value> {
    let template = |id: i64,
                    name: &str,
                    system_name: &str,
                    event_type: &str,
                    object_type: &str,
                    conditions: Value| {
        json!({
            "id": id,
            "partnerId": 0,
            "name": name,
            "systemName": system_name,
            "description": name,
            "type": "httpNotification.Http",
            "status": 2,
            "eventType": event_type,
            "eventObjectType": object_type,
            "eventConditions": conditions,
            "automaticDispatchEnabled": true,
            "method": 2,
            "urlEncode": false,
            "data": {
                "objectType": "KalturaHttpNotificationObjectData",
                "apiObjectType": if object_type == object_type::ENTRY { "KalturaMediaEntry" } else { "KalturaObjectBase" },
                "format": 1,
                "ignoreNull": true,
            },
            "objectType": "KalturaHttpNotificationTemplate",
        })
    };
    let changed = |columns: &str| json!({"objectType": "KalturaEventObjectChangedCondition", "modifiedColumns": columns});
    let status_is = |status: &str| {
        json!({
            "objectType": "KalturaFieldMatchCondition",
            "field": {"objectType": "KalturaEvalStringField", "code": "$scope->getObject()->getStatus()"},
            "values": [{"objectType": "KalturaStringValue", "value": status}],
        })
    };
    use event_type::{OBJECT_ADDED, OBJECT_CHANGED, OBJECT_DELETED, OBJECT_SAVED};
    use object_type::{CATEGORY_ENTRY, ENTRY, SCHEDULE_EVENT};
    vec![
        template(
            1,
            "Entry Status Changed",
            "HTTP_ENTRY_STATUS_CHANGED",
            OBJECT_CHANGED,
            ENTRY,
            json!([changed("status")]),
        ),
        template(
            2,
            "Entry Status Equals",
            "HTTP_ENTRY_STATUS_EQUALS",
            OBJECT_CHANGED,
            ENTRY,
            json!([changed("status"), status_is("2")]),
        ),
        template(
            3,
            "Entry Changed",
            "HTTP_ENTRY_CHANGED",
            OBJECT_CHANGED,
            ENTRY,
            json!([changed(
                "name,description,tags,adminTags,categoriesIds,referenceId,partnerData,userId,startDate,endDate"
            )]),
        ),
        template(
            4,
            "Entry Added",
            "HTTP_ENTRY_ADDED",
            OBJECT_ADDED,
            ENTRY,
            json!([]),
        ),
        template(
            5,
            "Entry Deleted",
            "HTTP_ENTRY_DELETED",
            OBJECT_DELETED,
            ENTRY,
            json!([]),
        ),
        template(
            6,
            "Entry Added To Category",
            "HTTP_ENTRY_ADDED_TO_CATEGORY",
            OBJECT_ADDED,
            CATEGORY_ENTRY,
            json!([]),
        ),
        template(
            7,
            "Schedule Event Saved",
            "HTTP_SCHEDULE_EVENT_SAVED",
            OBJECT_SAVED,
            SCHEDULE_EVENT,
            json!([]),
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn getters_name_properties() {
        assert_eq!(
            getter_property("$scope->getObject()->getStatus()").as_deref(),
            Some("status")
        );
        assert_eq!(
            getter_property(" $scope->getObject()->getCategoriesIds() ").as_deref(),
            Some("categoriesIds")
        );
        assert_eq!(getter_property("$scope->getObject()->getX(1)"), None);
        assert_eq!(getter_property("system('rm -rf /')"), None);
        assert_eq!(getter_property("$scope->getObject()->get()"), None);
    }

    #[test]
    fn status_equals_matches_only_a_change_to_ready() {
        let templates = system_templates();
        let equals = obj(templates[1].clone());
        let old = obj(json!({"id": "0_a", "status": 7, "name": "x"}));
        let ready = obj(json!({"id": "0_a", "status": 2, "name": "x"}));
        let renamed = obj(json!({"id": "0_a", "status": 7, "name": "y"}));
        let error = obj(json!({"id": "0_a", "status": -1, "name": "x"}));
        assert!(template_matches(
            &equals,
            &ObjectEvent::entry_changed(&old, &ready).unwrap()
        ));
        assert!(!template_matches(
            &equals,
            &ObjectEvent::entry_changed(&old, &renamed).unwrap()
        ));
        assert!(!template_matches(
            &equals,
            &ObjectEvent::entry_changed(&old, &error).unwrap()
        ));
        assert!(!template_matches(
            &equals,
            &ObjectEvent::entry_added(&ready)
        ));
        assert!(ObjectEvent::entry_changed(&old, &old).is_none());
        let changed = obj(templates[2].clone());
        assert!(template_matches(
            &changed,
            &ObjectEvent::entry_changed(&old, &renamed).unwrap()
        ));
        assert!(!template_matches(
            &changed,
            &ObjectEvent::entry_changed(&old, &ready).unwrap()
        ));
    }

    #[test]
    fn unknown_and_negated_conditions() {
        let ev = ObjectEvent::entry_added(&obj(json!({"id": "0_a", "status": 2})));
        assert!(!condition_holds(
            &json!({"objectType": "KalturaEventFieldCondition"}),
            &ev
        ));
        assert!(!condition_holds(&json!("text"), &ev));
        let not_ready = json!({
            "objectType": "KalturaFieldMatchCondition", "not": true,
            "field": {"code": "$scope->getObject()->getStatus()"},
            "values": [{"value": "2"}],
        });
        assert!(!condition_holds(&not_ready, &ev));
    }

    #[test]
    fn category_additions_are_new_ones_only() {
        let old = obj(json!({"id": "0_a", "categoriesIds": "1,2"}));
        let new = obj(json!({"id": "0_a", "categoriesIds": "2,3,3,x,4"}));
        let events = ObjectEvent::categories_added(Some(&old), &new, 10);
        let ids: Vec<i64> = events
            .iter()
            .map(|e| e.object["categoryId"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [3, 4]);
        assert_eq!(events[0].object["entryId"], "0_a");
        assert_eq!(events[0].object["objectType"], "KalturaCategoryEntry");
    }

    #[test]
    fn signatures_are_plain_hashes_of_secret_and_body() {
        assert_eq!(
            HashAlgo::Sha1.sign("", b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            HashAlgo::Sha256.sign("a", b"bc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(HashAlgo::Sha512.sign("ab", b"c").len(), 128);
        assert_eq!(HashAlgo::of(&obj(json!({}))), HashAlgo::Sha1);
        assert_eq!(
            HashAlgo::of(&obj(json!({"secureHashingAlgo": "2"}))),
            HashAlgo::Sha256
        );
    }

    #[test]
    fn bodies_follow_the_data_type() {
        let entry = obj(json!({"id": "0_a", "status": 2, "name": "A & B", "x": null}));
        let ev = ObjectEvent::entry_added(&entry);
        let mut t = obj(json!({"id": 9, "name": "T", "systemName": "S",
            "data": {"objectType": "KalturaHttpNotificationObjectData", "format": 1, "ignoreNull": true}}));
        let (body, ct) = render_body(&t, &ev, 77, "2");
        assert_eq!(ct, "application/json");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["eventNotificationJobId"], 77);
        assert_eq!(v["object"]["name"], "A & B");
        assert!(v["object"].get("x").is_none());
        assert_eq!(v["objectType"], "KalturaHttpNotification");
        t.insert("urlEncode".into(), json!(true));
        let (body, _) = render_body(&t, &ev, 77, "2");
        assert!(body.starts_with("data=%7B"));
        t.insert(
            "data".into(),
            json!({"objectType": "KalturaHttpNotificationObjectData", "format": 2}),
        );
        let (body, ct) = render_body(&t, &ev, 77, "2");
        assert_eq!(ct, "application/xml");
        assert!(body.starts_with("data=%3Cnotification%3E"));
        t.insert(
            "data".into(),
            json!({"objectType": "KalturaHttpNotificationDataFields"}),
        );
        t.insert(
            "contentParameters".into(),
            json!([
                {"key": "entry_id", "value": {"code": "$scope->getObject()->getId()"}},
                {"key": "entry_status", "value": {"code": "$scope->getObject()->getStatus()"}},
                {"key": "fixed", "value": {"value": "yes"}},
            ]),
        );
        let (body, ct) = render_body(&t, &ev, 77, "2");
        assert_eq!(ct, "application/x-www-form-urlencoded");
        assert_eq!(body, "entry_id=0_a&entry_status=2&fixed=yes");
    }
}
