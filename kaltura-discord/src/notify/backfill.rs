//! Catching up after downtime (`kaltura-webhooks backfill --since …`, and on start).
//!
//! Kaltura gives up on a notification after its retries, so a receiver that was down misses
//! events. [`backfill`] lists the entries updated since a time (`media.list` with
//! `updatedAtGreaterThanOrEqual`, paged, bounded) and ingests an
//! [`EventKind::EntryReady`] event for each READY one, with the dedup key
//! `backfill:entry_ready:{entry id}` and the entry as the object. Running it twice queues
//! nothing new; the router's subject key (`entry_ready:{id}`) keeps an entry that was already
//! announced through a webhook from being announced again.
//!
//! ```no_run
//! use kaltura_discord::notify::backfill::{BackfillOptions, backfill};
//!
//! # async fn run(
//! #     account: &kaltura_discord::context::KalturaAccount,
//! #     store: &dyn kaltura_discord::notify::NotificationStore,
//! #     now: i64,
//! # ) -> kaltura_discord::Result<()> {
//! let report = backfill(account, store, now - 6 * 3600, now, &BackfillOptions::default()).await?;
//! println!("{} entries listed, {} queued", report.listed, report.queued);
//! # Ok(())
//! # }
//! ```

use serde_json::{Value, json};

use super::EventKind;
use super::event::{InboundEvent, NotificationMeta};
use super::store::{Ingested, NotificationStore};
use crate::context::KalturaAccount;
use crate::{Error, Result};

/// `KalturaEntryStatus::READY`.
const READY: i64 = 2;

/// Kaltura reads times up to ten years in absolute value as relative to now
/// (`kTime::getRelativeTime`); earlier `since` values are raised to just past it.
const RELATIVE_TIME_LIMIT: i64 = 315_360_000;

/// Bounds of one backfill run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillOptions {
    /// Entries per `media.list` page (1–500, default 500).
    pub page_size: u32,
    /// Most entries listed in one run (default 10 000, Kaltura's own paging limit); the
    /// report says when it stopped there.
    pub max_entries: usize,
    /// Events committed per store transaction (default 100).
    pub batch_size: usize,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions {
            page_size: 500,
            max_entries: 10_000,
            batch_size: 100,
        }
    }
}

impl BackfillOptions {
    /// Sets [`page_size`](Self::page_size) (clamped to 1–500).
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 500);
        self
    }

    /// Sets [`max_entries`](Self::max_entries).
    #[must_use]
    pub fn max_entries(mut self, max: usize) -> Self {
        self.max_entries = max;
        self
    }

    /// Sets [`batch_size`](Self::batch_size) (at least 1).
    #[must_use]
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.max(1);
        self
    }
}

/// What a backfill run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillReport {
    /// Entries listed (updated since `since`).
    pub listed: u64,
    /// Of those, READY.
    pub ready: u64,
    /// Events committed now.
    pub queued: u64,
    /// READY entries already backfilled before (not queued again).
    pub already_known: u64,
    /// Whether the run stopped at [`BackfillOptions::max_entries`].
    pub truncated: bool,
}

fn entry_status(entry: &Value) -> Option<i64> {
    match entry.get("status") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

fn entry_id(entry: &Value) -> Option<&str> {
    entry
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

/// Lists entries updated at or after `since` and ingests an "entry ready" event for each READY
/// one (deduplicated), see the [module docs](self).
///
/// # Errors
///
/// [`Error::InvalidInput`] when `since` is after `now`; [`Error::Kaltura`] when listing fails;
/// [`Error::Store`] when the store fails (the batches committed before stay committed, and a
/// second run skips them).
pub async fn backfill(
    account: &KalturaAccount,
    store: &dyn NotificationStore,
    since: i64,
    now: i64,
    options: &BackfillOptions,
) -> Result<BackfillReport> {
    if since > now {
        return Err(Error::InvalidInput {
            field: "since",
            reason: "the backfill start time is in the future".to_owned(),
        });
    }
    let since = since.max(RELATIVE_TIME_LIMIT + 1);
    let partner_id = account.partner_id();
    let span = tracing::info_span!("notify_backfill", partner_id = partner_id.get(), since, now);
    let _enter = span.enter();
    let page_size = options.page_size.clamp(1, 500);
    let mut report = BackfillReport::default();
    let mut pending: Vec<InboundEvent> = Vec::new();
    let mut previous_ids: Vec<String> = Vec::new();
    let mut page_index: u32 = 1;
    loop {
        let answer = account
            .client()
            .call_raw(
                "media",
                "list",
                json!({
                    "filter": {
                        "objectType": "KalturaMediaEntryFilter",
                        "updatedAtGreaterThanOrEqual": since,
                        "orderBy": "+updatedAt",
                    },
                    "pager": {
                        "objectType": "KalturaFilterPager",
                        "pageSize": page_size,
                        "pageIndex": page_index,
                    },
                }),
            )
            .await?;
        let objects: &[Value] = answer
            .get("objects")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let total = answer.get("totalCount").and_then(Value::as_u64);
        let ids: Vec<String> = objects
            .iter()
            .filter_map(entry_id)
            .map(str::to_owned)
            .collect();
        // A server that ignores pageIndex would be paged forever.
        if objects.is_empty() || (page_index > 1 && ids == previous_ids) {
            break;
        }
        for entry in objects {
            if usize::try_from(report.listed).unwrap_or(usize::MAX) >= options.max_entries {
                report.truncated = true;
                break;
            }
            report.listed += 1;
            if entry_status(entry) != Some(READY) {
                continue;
            }
            let Some(id) = entry_id(entry) else { continue };
            report.ready += 1;
            pending.push(InboundEvent {
                partner_id,
                dedup_key: format!("backfill:entry_ready:{id}"),
                kind: Some(EventKind::EntryReady),
                subject: Some(id.to_owned()),
                object: entry.clone(),
                meta: NotificationMeta {
                    format: "backfill".to_owned(),
                    ..NotificationMeta::default()
                },
                received_at: now,
            });
            if pending.len() >= options.batch_size.max(1) {
                commit(store, &mut pending, &mut report).await?;
            }
        }
        let page_len = u32::try_from(objects.len()).unwrap_or(u32::MAX);
        if report.truncated || page_len < page_size || total.is_some_and(|t| report.listed >= t) {
            break;
        }
        previous_ids = ids;
        page_index = page_index.saturating_add(1);
    }
    commit(store, &mut pending, &mut report).await?;
    tracing::info!(
        listed = report.listed,
        ready = report.ready,
        queued = report.queued,
        already_known = report.already_known,
        truncated = report.truncated,
        "backfill done"
    );
    Ok(report)
}

async fn commit(
    store: &dyn NotificationStore,
    pending: &mut Vec<InboundEvent>,
    report: &mut BackfillReport,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    for answer in store.ingest_batch(pending).await? {
        match answer {
            Ingested::New(_) => report.queued += 1,
            Ingested::Duplicate(_) => report.already_known += 1,
        }
    }
    pending.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_ids_are_read_leniently() {
        assert_eq!(entry_status(&json!({"status": 2})), Some(2));
        assert_eq!(entry_status(&json!({"status": " 2"})), Some(2));
        assert_eq!(entry_status(&json!({"status": "READY"})), None);
        assert_eq!(entry_status(&json!({})), None);
        assert_eq!(entry_id(&json!({"id": "0_a"})), Some("0_a"));
        assert_eq!(entry_id(&json!({"id": ""})), None);
        assert_eq!(entry_id(&json!({"id": 5})), None);
    }

    #[test]
    fn options_are_clamped() {
        let o = BackfillOptions::default().page_size(0).batch_size(0);
        assert_eq!((o.page_size, o.batch_size), (1, 1));
        assert_eq!(BackfillOptions::default().page_size(9_999).page_size, 500);
    }
}
