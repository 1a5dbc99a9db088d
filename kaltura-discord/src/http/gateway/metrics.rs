//! Prometheus metrics of the gateway (OpenMetrics text at `/metrics`): requests by route
//! template, method and status, latency by route template, rate-limited requests by scope.
//!
//! Labels come from the matched route template (`/api/v1/guilds/{guild_id}/meetings`), never
//! the raw path, and methods outside the standard set count as `other`, so the number of
//! series stays bounded whatever clients send.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

struct Inner {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: HistogramFamily,
    rate_limited: Family<Labels, Counter>,
}

/// The gateway's counters and histograms (cheap to clone, shared).
#[derive(Clone)]
pub struct GatewayMetrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GatewayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayMetrics").finish_non_exhaustive()
    }
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        GatewayMetrics::new()
    }
}

fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PATCH" => "PATCH",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl GatewayMetrics {
    /// Fresh metrics, all zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kd_gateway");
        let requests = Family::<Labels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let rate_limited = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by route template",
            latency.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by scope (ip or token)",
            rate_limited.clone(),
        );
        GatewayMetrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                rate_limited,
            }),
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.inner
            .requests
            .get_or_create(&vec![
                ("route".to_owned(), route.to_owned()),
                ("method".to_owned(), method_label(method).to_owned()),
                ("status".to_owned(), status.to_string()),
            ])
            .inc();
        self.inner
            .latency
            .get_or_create(&vec![("route".to_owned(), route.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a request refused by the `scope` rate limit (`ip` or `token`).
    pub fn rate_limited(&self, scope: &'static str) {
        self.inner
            .rate_limited
            .get_or_create(&vec![("scope".to_owned(), scope.to_owned())])
            .inc();
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.inner.registry).is_err() {
            tracing::warn!("could not encode the gateway metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_template_and_odd_methods_collapse() {
        let m = GatewayMetrics::new();
        m.observe(
            "/api/v1/guilds/{guild_id}/meetings",
            "GET",
            200,
            Duration::from_millis(3),
        );
        m.observe("unmatched", "BREW", 404, Duration::from_millis(1));
        m.rate_limited("ip");
        let text = m.encode();
        assert!(text.contains(
            r#"kd_gateway_requests_total{route="/api/v1/guilds/{guild_id}/meetings",method="GET",status="200"} 1"#
        ), "{text}");
        assert!(text.contains(r#"method="other",status="404""#), "{text}");
        assert!(
            text.contains(r#"kd_gateway_rate_limited_total{scope="ip"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("kd_gateway_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
