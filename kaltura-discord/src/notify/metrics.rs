//! Prometheus metrics of the notification pipeline, in the text exposition format.
//!
//! One [`NotifyMetrics`] is shared (it is cheap to clone) by the webhook receiver, the router
//! and the delivery workers; the `http` feature's router serves [`NotifyMetrics::encode`] at
//! `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Why a webhook request was refused (the `reason` label of `kd_webhooks_rejected_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// No signature header.
    MissingSignature,
    /// The signature does not match.
    BadSignature,
    /// Unknown hash algorithm.
    UnknownAlgorithm,
    /// No secret is known for the partner in the URL.
    UnknownPartner,
    /// The body could not be parsed.
    Malformed,
    /// The body is over the size limit.
    TooLarge,
    /// The store could not commit (answered 503; Kaltura retries).
    StoreUnavailable,
}

impl RejectReason {
    /// The label value (`bad_signature`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MissingSignature => "missing_signature",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::UnknownAlgorithm => "unknown_algorithm",
            RejectReason::UnknownPartner => "unknown_partner",
            RejectReason::Malformed => "malformed",
            RejectReason::TooLarge => "too_large",
            RejectReason::StoreUnavailable => "store_unavailable",
        }
    }
}

type Labels = Vec<(String, String)>;

struct Inner {
    registry: Registry,
    received: Counter,
    rejected: Family<Labels, Counter>,
    duplicates: Counter,
    queued: Counter,
    delivered: Counter,
    retried: Counter,
    dead_lettered: Counter,
    skipped: Counter,
    delivery_latency: Histogram,
    outbox_depth: Gauge,
    unrouted_events: Gauge,
}

/// The pipeline's counters, histogram and gauges.
#[derive(Clone)]
pub struct NotifyMetrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NotifyMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyMetrics").finish_non_exhaustive()
    }
}

impl Default for NotifyMetrics {
    fn default() -> Self {
        NotifyMetrics::new()
    }
}

impl NotifyMetrics {
    /// A fresh set of metrics, all zero.
    pub fn new() -> NotifyMetrics {
        let mut registry = Registry::with_prefix("kd");
        let received = Counter::default();
        let rejected = Family::<Labels, Counter>::default();
        let duplicates = Counter::default();
        let queued = Counter::default();
        let delivered = Counter::default();
        let retried = Counter::default();
        let dead_lettered = Counter::default();
        let skipped = Counter::default();
        // 1 ms … ~16 s.
        let delivery_latency = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let outbox_depth = Gauge::default();
        let unrouted_events = Gauge::default();
        registry.register(
            "webhooks_received",
            "Kaltura notifications accepted (signature verified, committed)",
            received.clone(),
        );
        registry.register(
            "webhooks_rejected",
            "Kaltura notifications refused, by reason",
            rejected.clone(),
        );
        registry.register(
            "webhooks_duplicates",
            "Kaltura notifications acknowledged as duplicates of one already received",
            duplicates.clone(),
        );
        registry.register(
            "notifications_queued",
            "Deliveries queued by the router",
            queued.clone(),
        );
        registry.register(
            "notifications_delivered",
            "Deliveries posted to Discord",
            delivered.clone(),
        );
        registry.register(
            "notifications_retried",
            "Delivery attempts that failed and were rescheduled",
            retried.clone(),
        );
        registry.register(
            "notifications_dead_lettered",
            "Deliveries given up after a permanent refusal or too many attempts",
            dead_lettered.clone(),
        );
        registry.register(
            "notifications_skipped",
            "Deliveries not posted on purpose (filtered, restricted entry, gone channel)",
            skipped.clone(),
        );
        registry.register(
            "notification_delivery_latency_seconds",
            "Time from receiving an event to its message being posted",
            delivery_latency.clone(),
        );
        registry.register(
            "outbox_depth",
            "Deliveries queued and not yet posted",
            outbox_depth.clone(),
        );
        registry.register(
            "inbox_unrouted",
            "Received events not routed yet",
            unrouted_events.clone(),
        );
        NotifyMetrics {
            inner: Arc::new(Inner {
                registry,
                received,
                rejected,
                duplicates,
                queued,
                delivered,
                retried,
                dead_lettered,
                skipped,
                delivery_latency,
                outbox_depth,
                unrouted_events,
            }),
        }
    }

    /// Counts an accepted notification.
    pub fn received(&self) {
        self.inner.received.inc();
    }

    /// Counts a refused notification.
    pub fn rejected(&self, reason: RejectReason) {
        self.inner
            .rejected
            .get_or_create(&vec![("reason".to_owned(), reason.as_str().to_owned())])
            .inc();
    }

    /// Counts a duplicate acknowledged without queueing.
    pub fn duplicate(&self) {
        self.inner.duplicates.inc();
    }

    /// Counts deliveries queued by the router.
    pub fn queued(&self, n: u64) {
        self.inner.queued.inc_by(n);
    }

    /// Counts a delivery posted, with the seconds since its event was received.
    pub fn delivered(&self, latency_secs: f64) {
        self.inner.delivered.inc();
        self.inner.delivery_latency.observe(latency_secs.max(0.0));
    }

    /// Counts a failed attempt that will be retried.
    pub fn retried(&self) {
        self.inner.retried.inc();
    }

    /// Counts a delivery dead-lettered.
    pub fn dead_lettered(&self) {
        self.inner.dead_lettered.inc();
    }

    /// Counts a delivery skipped on purpose.
    pub fn skipped(&self) {
        self.inner.skipped.inc();
    }

    /// Sets the outbox and inbox depth gauges (from [`super::NotificationStore::stats`]).
    pub fn set_depth(&self, stats: &super::OutboxStats) {
        self.inner
            .outbox_depth
            .set(i64::try_from(stats.queued).unwrap_or(i64::MAX));
        self.inner
            .unrouted_events
            .set(i64::try_from(stats.unrouted_events).unwrap_or(i64::MAX));
    }

    /// The metrics in Prometheus' text exposition format (OpenMetrics, ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.inner.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_in_the_exposition() {
        let m = NotifyMetrics::new();
        m.received();
        m.received();
        m.rejected(RejectReason::BadSignature);
        m.delivered(0.02);
        m.set_depth(&super::super::OutboxStats {
            queued: 7,
            ..Default::default()
        });
        let text = m.encode();
        assert!(text.contains("kd_webhooks_received_total 2"), "{text}");
        assert!(
            text.contains("kd_webhooks_rejected_total{reason=\"bad_signature\"} 1"),
            "{text}"
        );
        assert!(text.contains("kd_outbox_depth 7"), "{text}");
        assert!(
            text.contains("kd_notification_delivery_latency_seconds_count 1"),
            "{text}"
        );
    }
}
