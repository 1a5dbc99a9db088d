//! Per-IP and per-token rate limits (GCRA, from `governor`), answered `429` with
//! `Retry-After`.
//!
//! Every request counts against its client IP's budget (the socket's peer address; proxies'
//! `X-Forwarded-For` is not trusted). Every request with a valid token also counts against
//! the token's budget, keyed by a hash of the token. The key maps are memory-bounded: every
//! [`PURGE_EVERY`] checks, keys whose budget is full again are dropped, and when more than
//! [`RateLimits::max_keys`] remain the map is cleared (a flood of addresses forgets budgets
//! rather than grow without bound).

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::GatewayState;
use super::error::ApiError;
use crate::Result;
use crate::error::{Error, SetupError};

/// How many checks between purges of the key maps.
pub const PURGE_EVERY: u64 = 1024;

/// The rate-limit budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Requests per minute per client IP (`None`: unlimited).
    pub per_ip_per_minute: Option<u32>,
    /// Requests per minute per token (`None`: unlimited).
    pub per_token_per_minute: Option<u32>,
    /// Requests allowed at once before the per-minute rate applies.
    pub burst: u32,
    /// Most keys kept per map.
    pub max_keys: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_ip_per_minute: Some(600),
            per_token_per_minute: Some(300),
            burst: 60,
            max_keys: 100_000,
        }
    }
}

impl RateLimits {
    /// No limits (load tests, trusted networks).
    pub fn unlimited() -> Self {
        RateLimits {
            per_ip_per_minute: None,
            per_token_per_minute: None,
            ..RateLimits::default()
        }
    }

    /// These budgets.
    pub fn new(
        per_ip_per_minute: Option<u32>,
        per_token_per_minute: Option<u32>,
        burst: u32,
    ) -> Self {
        RateLimits {
            per_ip_per_minute,
            per_token_per_minute,
            burst,
            ..RateLimits::default()
        }
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

struct Limiter<K: Hash + Eq + Clone> {
    limiter: ArcSwap<Keyed<K>>,
    quota: Quota,
    checks: AtomicU64,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(per_minute: u32, burst: u32, max_keys: usize) -> Result<Self> {
        let bad = |reason: &str| {
            Error::Setup(SetupError::InvalidGatewayConfig {
                reason: reason.to_owned(),
            })
        };
        let rate = NonZeroU32::new(per_minute)
            .ok_or_else(|| bad("a rate limit must be at least 1 request per minute"))?;
        let burst =
            NonZeroU32::new(burst).ok_or_else(|| bad("the rate-limit burst must be at least 1"))?;
        let quota = Quota::with_period(Duration::from_secs(60) / rate.get())
            .ok_or_else(|| bad("the rate limit is too high"))?
            .allow_burst(burst);
        Ok(Limiter {
            limiter: ArcSwap::from_pointee(RateLimiter::keyed(quota)),
            quota,
            checks: AtomicU64::new(0),
            max_keys: max_keys.max(1),
        })
    }

    /// `Err(seconds to wait)` when over budget.
    fn check(&self, key: &K) -> std::result::Result<(), u64> {
        let n = self.checks.fetch_add(1, Ordering::Relaxed);
        if n % PURGE_EVERY == PURGE_EVERY - 1 {
            let limiter = self.limiter.load();
            limiter.retain_recent();
            if limiter.len() > self.max_keys {
                // Too many keys still in debt: forget them all rather than grow.
                tracing::warn!(
                    keys = limiter.len(),
                    "rate-limit keys over the bound; cleared"
                );
                self.limiter.store(Arc::new(RateLimiter::keyed(self.quota)));
            } else {
                limiter.shrink_to_fit();
            }
        }
        let limiter = self.limiter.load();
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    fn len(&self) -> usize {
        self.limiter.load().len()
    }
}

/// Both limiters.
pub(crate) struct Limiters {
    ip: Option<Limiter<IpAddr>>,
    token: Option<Limiter<u64>>,
}

impl Limiters {
    pub(crate) fn new(limits: &RateLimits) -> Result<Self> {
        Ok(Limiters {
            ip: limits
                .per_ip_per_minute
                .map(|r| Limiter::new(r, limits.burst, limits.max_keys))
                .transpose()?,
            token: limits
                .per_token_per_minute
                .map(|r| Limiter::new(r, limits.burst, limits.max_keys))
                .transpose()?,
        })
    }

    /// Counts a request of a verified token.
    pub(crate) fn check_token(
        &self,
        key: u64,
        state: &GatewayState,
    ) -> std::result::Result<(), ApiError> {
        match &self.token {
            Some(l) => l.check(&key).map_err(|secs| {
                state.shared.metrics.rate_limited("token");
                ApiError::rate_limited(secs)
            }),
            None => Ok(()),
        }
    }

    /// How many keys each map holds (IP, token).
    pub(crate) fn key_counts(&self) -> (usize, usize) {
        (
            self.ip.as_ref().map_or(0, Limiter::len),
            self.token.as_ref().map_or(0, Limiter::len),
        )
    }
}

/// The per-IP limit, as middleware.
pub(crate) async fn per_ip(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limiter) = &state.shared.limiters.ip {
        let ip = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        if let Err(secs) = limiter.check(&ip) {
            state.shared.metrics.rate_limited("ip");
            return ApiError::rate_limited(secs).into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn budgets_run_out_and_say_when_to_retry() {
        let l: Limiter<u8> = Limiter::new(1, 2, 10).unwrap();
        assert!(l.check(&1).is_ok());
        assert!(l.check(&1).is_ok());
        let wait = l.check(&1).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        // Another key has its own budget.
        assert!(l.check(&2).is_ok());
    }

    #[test]
    fn key_maps_stay_bounded() {
        let l: Limiter<u64> = Limiter::new(60_000, 1, 10).unwrap();
        for k in 0..(3 * PURGE_EVERY) {
            let _ = l.check(&k);
        }
        assert!(l.len() <= PURGE_EVERY as usize + 10, "{}", l.len());
    }

    #[test]
    fn zero_budgets_are_refused() {
        assert!(Limiter::<u8>::new(0, 1, 1).is_err());
        assert!(Limiter::<u8>::new(1, 0, 1).is_err());
    }
}
