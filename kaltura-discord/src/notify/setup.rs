//! Creating the HTTP notification templates in Kaltura (`kaltura-webhooks setup`) and
//! checking them for drift (`setup --check`).
//!
//! For each [`WebhookTemplate`] we need, [`setup`] finds the matching system template
//! (`listTemplates`), clones it pointing at `{public_url}/webhooks/kaltura/{partner_id}` — or
//! adds one from scratch when the server has no such system template (a real server has none
//! for schedule events) —, with a POST of the object as raw JSON
//! (`KalturaHttpNotificationObjectData`, format JSON, not URL-encoded), SHA-256 signatures,
//! and activates it.
//!
//! Our templates are recognised by their system name ([`WebhookTemplate::system_name`],
//! `KD_…`), so running [`setup`] again creates nothing: it repairs what drifted (URL, body
//! format, method, hash, status) and deletes extra copies. [`check`] reports the same drift
//! ([`Drift`]) without changing anything.
//!
//! ```no_run
//! use kaltura_discord::notify::setup::{SetupOptions, check, setup};
//!
//! # async fn run(client: kaltura_client::Client) -> kaltura_discord::Result<()> {
//! let public_url = url::Url::parse("https://bot.example.org").expect("a URL");
//! let report = setup(&client, &public_url, &SetupOptions::default()).await?;
//! println!("created {}, repaired {}", report.created.len(), report.repaired.len());
//! assert!(check(&client, &public_url, &SetupOptions::default()).await?.is_empty());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use kaltura_client::Client;
use kaltura_client::ids::EventNotificationTemplateId;
use kaltura_client::types::event_notification::{
    EventNotificationEventObjectType, EventNotificationEventType, EventNotificationTemplate,
    EventNotificationTemplateFilter, EventNotificationTemplateStatus, HttpNotificationData,
    HttpNotificationMethod, HttpNotificationObjectData, HttpNotificationTemplate,
    HttpNotificationTemplateInput, NotificationFormat, SecureHashingAlgorithm,
};
use serde_json::{Value, json};
use url::Url;

use crate::error::SetupError;
use crate::{Error, Result};

/// At most this many partner templates are read when looking for ours.
pub const MAX_TEMPLATES_LISTED: usize = 5_000;

/// A marker put into our templates' descriptions.
pub const DESCRIPTION_MARKER: &str = "[kaltura-discord]";

/// One HTTP notification template the bot needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum WebhookTemplate {
    /// An entry's status became READY (cloned from `HTTP_ENTRY_STATUS_EQUALS`).
    EntryReady,
    /// An entry was added to a category (`HTTP_ENTRY_ADDED_TO_CATEGORY`).
    EntryAddedToCategory,
    /// An entry's metadata changed (`HTTP_ENTRY_CHANGED`).
    EntryChanged,
    /// A schedule event (meeting) was added or changed (`HTTP_SCHEDULE_EVENT_SAVED` where the
    /// server has it, else added from scratch: OBJECT_SAVED on ScheduleEvent).
    ScheduleEventChanged,
}

impl WebhookTemplate {
    /// Every template, in setup order.
    pub const ALL: [WebhookTemplate; 4] = [
        WebhookTemplate::EntryReady,
        WebhookTemplate::EntryAddedToCategory,
        WebhookTemplate::EntryChanged,
        WebhookTemplate::ScheduleEventChanged,
    ];

    /// Our system name, which recognises the template (`KD_ENTRY_READY`, …).
    pub fn system_name(self) -> &'static str {
        match self {
            WebhookTemplate::EntryReady => "KD_ENTRY_READY",
            WebhookTemplate::EntryAddedToCategory => "KD_ENTRY_ADDED_TO_CATEGORY",
            WebhookTemplate::EntryChanged => "KD_ENTRY_CHANGED",
            WebhookTemplate::ScheduleEventChanged => "KD_SCHEDULE_EVENT_CHANGED",
        }
    }

    /// The Kaltura system template it is cloned from.
    pub fn source_system_name(self) -> &'static str {
        match self {
            WebhookTemplate::EntryReady => "HTTP_ENTRY_STATUS_EQUALS",
            WebhookTemplate::EntryAddedToCategory => "HTTP_ENTRY_ADDED_TO_CATEGORY",
            WebhookTemplate::EntryChanged => "HTTP_ENTRY_CHANGED",
            WebhookTemplate::ScheduleEventChanged => "HTTP_SCHEDULE_EVENT_SAVED",
        }
    }

    /// A human name, shown in Kaltura's console.
    pub fn title(self) -> &'static str {
        match self {
            WebhookTemplate::EntryReady => "Discord: entry ready",
            WebhookTemplate::EntryAddedToCategory => "Discord: entry added to category",
            WebhookTemplate::EntryChanged => "Discord: entry changed",
            WebhookTemplate::ScheduleEventChanged => "Discord: schedule event changed",
        }
    }

    fn api_object_type(self) -> &'static str {
        match self {
            WebhookTemplate::EntryReady | WebhookTemplate::EntryChanged => "KalturaMediaEntry",
            WebhookTemplate::EntryAddedToCategory => "KalturaCategoryEntry",
            WebhookTemplate::ScheduleEventChanged => "KalturaScheduleEvent",
        }
    }

    /// The whole definition, for servers without the system template.
    fn definition(self) -> HttpNotificationTemplateInput {
        let changed = |columns: &str| json!({"objectType": "KalturaEventObjectChangedCondition", "modifiedColumns": columns});
        let (event_type, object_type, conditions) = match self {
            WebhookTemplate::EntryReady => (
                EventNotificationEventType::ObjectChanged,
                EventNotificationEventObjectType::Entry,
                vec![
                    changed("status"),
                    json!({
                        "objectType": "KalturaFieldMatchCondition",
                        "field": {"objectType": "KalturaEvalStringField",
                                  "code": "$scope->getObject()->getStatus()"},
                        "values": [{"objectType": "KalturaStringValue", "value": "2"}],
                    }),
                ],
            ),
            WebhookTemplate::EntryAddedToCategory => (
                EventNotificationEventType::ObjectAdded,
                EventNotificationEventObjectType::CategoryEntry,
                Vec::new(),
            ),
            WebhookTemplate::EntryChanged => (
                EventNotificationEventType::ObjectChanged,
                EventNotificationEventObjectType::Entry,
                vec![changed("name,description,tags,categoriesIds,userId")],
            ),
            WebhookTemplate::ScheduleEventChanged => (
                EventNotificationEventType::ObjectSaved,
                EventNotificationEventObjectType::ScheduleEvent,
                Vec::new(),
            ),
        };
        HttpNotificationTemplateInput::new()
            .event_type(event_type)
            .event_object_type(object_type)
            .event_conditions(conditions)
            .automatic_dispatch_enabled(true)
    }
}

impl fmt::Display for WebhookTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.system_name())
    }
}

/// What [`setup`] and [`check`] look after.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetupOptions {
    /// The templates (default: all of [`WebhookTemplate::ALL`]).
    pub templates: Vec<WebhookTemplate>,
}

impl Default for SetupOptions {
    fn default() -> Self {
        SetupOptions {
            templates: WebhookTemplate::ALL.to_vec(),
        }
    }
}

impl SetupOptions {
    /// Only these templates.
    #[must_use]
    pub fn templates(mut self, templates: impl IntoIterator<Item = WebhookTemplate>) -> Self {
        self.templates = templates.into_iter().collect();
        self
    }
}

/// A difference between what Kaltura has and what we expect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Drift {
    /// The template does not exist.
    Missing {
        /// Which one.
        template: WebhookTemplate,
    },
    /// It exists but is not active.
    Disabled {
        /// Which one.
        template: WebhookTemplate,
        /// Its id in Kaltura.
        id: i64,
    },
    /// It calls another URL.
    WrongUrl {
        /// Which one.
        template: WebhookTemplate,
        /// Its id in Kaltura.
        id: i64,
        /// The URL it has, without query string or credentials (`None` when unset).
        found: Option<String>,
    },
    /// Its body is not the object as raw JSON, or it is not a POST.
    WrongFormat {
        /// Which one.
        template: WebhookTemplate,
        /// Its id in Kaltura.
        id: i64,
        /// What it has instead, in words.
        found: String,
    },
    /// It signs with another hash than SHA-256.
    WrongAlgorithm {
        /// Which one.
        template: WebhookTemplate,
        /// Its id in Kaltura.
        id: i64,
        /// The hash it has (`None`: unset, SHA-1).
        found: Option<SecureHashingAlgorithm>,
    },
    /// A second copy of one of ours (every event would be sent twice).
    Duplicate {
        /// Which one.
        template: WebhookTemplate,
        /// The extra copy's id.
        id: i64,
    },
}

impl Drift {
    /// The template concerned.
    pub fn template(&self) -> WebhookTemplate {
        match self {
            Drift::Missing { template }
            | Drift::Disabled { template, .. }
            | Drift::WrongUrl { template, .. }
            | Drift::WrongFormat { template, .. }
            | Drift::WrongAlgorithm { template, .. }
            | Drift::Duplicate { template, .. } => *template,
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing { template } => write!(f, "{template}: missing"),
            Drift::Disabled { template, id } => write!(f, "{template} (id {id}): not active"),
            Drift::WrongUrl {
                template,
                id,
                found,
            } => write!(
                f,
                "{template} (id {id}): calls {} instead of our endpoint",
                found.as_deref().unwrap_or("no URL")
            ),
            Drift::WrongFormat {
                template,
                id,
                found,
            } => write!(
                f,
                "{template} (id {id}): sends {found} instead of a POST of raw JSON"
            ),
            Drift::WrongAlgorithm {
                template,
                id,
                found,
            } => write!(
                f,
                "{template} (id {id}): signs with {} instead of SHA-256",
                match found {
                    Some(SecureHashingAlgorithm::Sha1) | None => "SHA-1",
                    Some(SecureHashingAlgorithm::Sha512) => "SHA-512",
                    Some(_) => "another hash",
                }
            ),
            Drift::Duplicate { template, id } => {
                write!(f, "{template} (id {id}): an extra copy")
            }
        }
    }
}

/// What [`setup`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetupReport {
    /// The endpoint the templates call.
    pub endpoint: String,
    /// Templates created (template, id, cloned from a system template or added).
    pub created: Vec<(WebhookTemplate, i64, bool)>,
    /// Drift that was repaired.
    pub repaired: Vec<Drift>,
    /// Templates that were already right.
    pub unchanged: Vec<(WebhookTemplate, i64)>,
}

/// The URL Kaltura calls: `{public_url}/webhooks/kaltura/{partner_id}`.
///
/// # Errors
///
/// [`Error::InvalidInput`] when `public_url` is not http(s), or has a query, fragment or
/// credentials.
pub fn endpoint(public_url: &Url, partner_id: i64) -> Result<String> {
    let invalid = |reason: &str| Error::InvalidInput {
        field: "public_url",
        reason: reason.to_owned(),
    };
    if !matches!(public_url.scheme(), "http" | "https") || public_url.host().is_none() {
        return Err(invalid("the public URL must be an http(s) URL with a host"));
    }
    if public_url.query().is_some() || public_url.fragment().is_some() {
        return Err(invalid(
            "the public URL must not have a query string or fragment",
        ));
    }
    if !public_url.username().is_empty() || public_url.password().is_some() {
        return Err(invalid("the public URL must not contain credentials"));
    }
    Ok(format!(
        "{}/webhooks/kaltura/{partner_id}",
        public_url.as_str().trim_end_matches('/')
    ))
}

/// A URL for display: no credentials, query or fragment.
fn display_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "an unparsable URL".to_owned(),
    }
}

/// Our templates in Kaltura, by kind, lowest id first.
type Ours = BTreeMap<WebhookTemplate, Vec<HttpNotificationTemplate>>;

async fn list_ours(client: &Client) -> Result<Ours> {
    let mut pages = client
        .event_notification_template()
        .list()
        .page_size(500)
        .paginate();
    let mut ours: Ours = BTreeMap::new();
    let mut seen = 0usize;
    while let Some(page) = pages.next_page().await? {
        for t in page {
            seen += 1;
            let EventNotificationTemplate::Http(t) = t else {
                continue;
            };
            if t.status == Some(EventNotificationTemplateStatus::Deleted) {
                continue;
            }
            let kind = WebhookTemplate::ALL
                .into_iter()
                .find(|k| t.system_name.as_deref() == Some(k.system_name()));
            if let Some(kind) = kind {
                ours.entry(kind).or_default().push(*t);
            }
        }
        if seen >= MAX_TEMPLATES_LISTED {
            tracing::warn!(
                limit = MAX_TEMPLATES_LISTED,
                "more event notification templates than read; ours may be missed"
            );
            break;
        }
    }
    for list in ours.values_mut() {
        list.sort_by_key(|t| t.id.get());
    }
    Ok(ours)
}

/// The drift of one existing template (duplicates and missing ones aside).
fn drift_of(kind: WebhookTemplate, t: &HttpNotificationTemplate, endpoint: &str) -> Vec<Drift> {
    let id = t.id.get();
    let mut out = Vec::new();
    if t.url.as_deref() != Some(endpoint) {
        out.push(Drift::WrongUrl {
            template: kind,
            id,
            found: t.url.as_deref().map(display_url),
        });
    }
    let url_encoded = t
        .extra
        .get("urlEncode")
        .is_some_and(|v| matches!(v, Value::Bool(true)) || v == "1" || v == "true" || v == 1);
    let format = match &t.data {
        Some(HttpNotificationData::Object(o)) => match o.format {
            None | Some(NotificationFormat::Json) => None,
            Some(NotificationFormat::Xml) => Some("the object as XML".to_owned()),
            Some(_) => Some("the object in another format".to_owned()),
        },
        Some(HttpNotificationData::Fields(_)) => Some("form fields".to_owned()),
        Some(HttpNotificationData::Text(_)) => Some("free text".to_owned()),
        Some(_) => Some("another body".to_owned()),
        None => Some("no body".to_owned()),
    };
    let format = match (format, url_encoded) {
        (Some(f), _) => Some(f),
        (None, true) => Some("URL-encoded JSON (data=…)".to_owned()),
        (None, false) => None,
    };
    let format = match (format, t.method) {
        (Some(f), _) => Some(f),
        (None, None | Some(HttpNotificationMethod::Post)) => None,
        (None, Some(_)) => Some("another HTTP method than POST".to_owned()),
    };
    if let Some(found) = format {
        out.push(Drift::WrongFormat {
            template: kind,
            id,
            found,
        });
    }
    if t.secure_hashing_algo != Some(SecureHashingAlgorithm::Sha256) {
        out.push(Drift::WrongAlgorithm {
            template: kind,
            id,
            found: t.secure_hashing_algo,
        });
    }
    if t.status != Some(EventNotificationTemplateStatus::Active) {
        out.push(Drift::Disabled { template: kind, id });
    }
    out
}

fn drift_all(options: &SetupOptions, ours: &Ours, endpoint: &str) -> Vec<Drift> {
    let mut out = Vec::new();
    for kind in wanted(options) {
        match ours.get(&kind).map(Vec::as_slice) {
            None | Some([]) => out.push(Drift::Missing { template: kind }),
            Some([first, rest @ ..]) => {
                out.extend(drift_of(kind, first, endpoint));
                out.extend(rest.iter().map(|t| Drift::Duplicate {
                    template: kind,
                    id: t.id.get(),
                }));
            }
        }
    }
    out
}

fn wanted(options: &SetupOptions) -> Vec<WebhookTemplate> {
    let mut kinds = options.templates.clone();
    kinds.sort();
    kinds.dedup();
    kinds
}

fn partner_id(client: &Client) -> Result<i64> {
    client
        .partner_id()
        .map(|p| p.get())
        .ok_or(Error::Setup(SetupError::MissingPartnerId))
}

/// Reports how Kaltura's templates differ from what [`setup`] would make, changing nothing.
/// Empty when everything is in place.
///
/// # Errors
///
/// [`Error::Setup`] when the client has no partner id, [`Error::InvalidInput`] for a bad
/// `public_url` (see [`endpoint`]), [`Error::Kaltura`] when listing fails.
pub async fn check(
    client: &Client,
    public_url: &Url,
    options: &SetupOptions,
) -> Result<Vec<Drift>> {
    let endpoint = endpoint(public_url, partner_id(client)?)?;
    let ours = list_ours(client).await?;
    Ok(drift_all(options, &ours, &endpoint))
}

/// The fields that make a template ours and right.
fn our_fields(
    kind: WebhookTemplate,
    base: HttpNotificationTemplateInput,
    endpoint: &str,
) -> HttpNotificationTemplateInput {
    let mut input = base
        .name(kind.title())
        .system_name(kind.system_name())
        .description(format!(
            "{DESCRIPTION_MARKER} Kaltura events for the Discord bot; managed by `kaltura-webhooks setup`."
        ))
        .url(endpoint)
        .method(HttpNotificationMethod::Post)
        .data(HttpNotificationData::Object(HttpNotificationObjectData::json(
            kind.api_object_type(),
        )))
        .secure_hashing_algo(SecureHashingAlgorithm::Sha256);
    input.extra.insert("urlEncode".into(), Value::Bool(false));
    input
}

/// Creates or repairs the HTTP notification templates so that Kaltura posts our events to
/// `{public_url}/webhooks/kaltura/{partner_id}`; idempotent.
///
/// # Errors
///
/// As [`check`]; a Kaltura error part-way leaves what was done so far in place (running
/// `setup` again finishes the job).
pub async fn setup(
    client: &Client,
    public_url: &Url,
    options: &SetupOptions,
) -> Result<SetupReport> {
    let pid = partner_id(client)?;
    let endpoint = endpoint(public_url, pid)?;
    let span = tracing::info_span!("notify_setup", partner_id = pid);
    let _enter = span.enter();
    let ours = list_ours(client).await?;
    let api = client.event_notification_template();
    let mut report = SetupReport {
        endpoint: endpoint.clone(),
        ..SetupReport::default()
    };
    for kind in wanted(options) {
        let existing = ours.get(&kind).map(Vec::as_slice).unwrap_or_default();
        let Some((first, duplicates)) = existing.split_first() else {
            let (id, cloned) = create(client, kind, &endpoint).await?;
            tracing::info!(template = %kind, id, cloned, "notification template created");
            report.created.push((kind, id, cloned));
            continue;
        };
        let drift = drift_of(kind, first, &endpoint);
        let needs_update = drift.iter().any(|d| !matches!(d, Drift::Disabled { .. }));
        if needs_update {
            api.update(
                first.id,
                our_fields(kind, HttpNotificationTemplateInput::new(), &endpoint),
            )
            .await?;
        }
        if drift.iter().any(|d| matches!(d, Drift::Disabled { .. })) {
            api.update_status(first.id, EventNotificationTemplateStatus::Active)
                .await?;
        }
        for dup in duplicates {
            api.delete(dup.id).await?;
            report.repaired.push(Drift::Duplicate {
                template: kind,
                id: dup.id.get(),
            });
        }
        if drift.is_empty() {
            report.unchanged.push((kind, first.id.get()));
        } else {
            tracing::info!(template = %kind, id = first.id.get(), drift = drift.len(), "notification template repaired");
            report.repaired.extend(drift);
        }
    }
    Ok(report)
}

/// Clones the system template (or adds the whole definition) and activates it.
async fn create(client: &Client, kind: WebhookTemplate, endpoint: &str) -> Result<(i64, bool)> {
    let api = client.event_notification_template();
    let system = api
        .list_templates()
        .filter(EventNotificationTemplateFilter::new().system_name_equal(kind.source_system_name()))
        .send()
        .await?;
    let source: Option<EventNotificationTemplateId> = system
        .objects
        .iter()
        .find(|t| t.system_name() == Some(kind.source_system_name()))
        .and_then(EventNotificationTemplate::id);
    let (made, cloned) = match source {
        Some(source) => (
            api.clone_template(
                source,
                our_fields(kind, HttpNotificationTemplateInput::new(), endpoint),
            )
            .await?,
            true,
        ),
        None => (
            api.add(our_fields(kind, kind.definition(), endpoint))
                .await?,
            false,
        ),
    };
    let id = made.id().ok_or_else(|| Error::InvalidInput {
        field: "eventNotificationTemplate",
        reason: "Kaltura answered without a template id".to_owned(),
    })?;
    api.update_status(id, EventNotificationTemplateStatus::Active)
        .await?;
    Ok((id.get(), cloned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_built_and_checked() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            endpoint(&u("https://bot.example.org/"), 42).unwrap(),
            "https://bot.example.org/webhooks/kaltura/42"
        );
        assert_eq!(
            endpoint(&u("https://bot.example.org/base"), 42).unwrap(),
            "https://bot.example.org/base/webhooks/kaltura/42"
        );
        for bad in [
            "ftp://x.org",
            "https://x.org/?token=1",
            "https://x.org/#a",
            "https://user:pw@x.org",
        ] {
            let err = endpoint(&u(bad), 1).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        field: "public_url",
                        ..
                    }
                ),
                "{bad}"
            );
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }

    #[test]
    fn display_urls_drop_secrets() {
        assert_eq!(
            display_url("https://u:secret@x.org/h?token=abc#f"),
            "https://x.org/h"
        );
        assert_eq!(display_url("::"), "an unparsable URL");
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = WebhookTemplate::ALL
            .iter()
            .map(|k| k.system_name())
            .collect();
        names.dedup();
        assert_eq!(names.len(), 4);
        assert!(names.iter().all(|n| n.starts_with("KD_")));
    }
}
