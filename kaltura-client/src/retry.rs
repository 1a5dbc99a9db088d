//! When a failed call may be retried, and after how long.
//!
//! The decision is the pure function [`decide`]: given the [`RetryPolicy`], the attempt that
//! just failed, its [`Error`] and whether the call is read-only, it returns a
//! [`RetryDecision`]. The [`Client`](crate::Client) sleeps (`tokio::time::sleep`) and tries
//! again when told to. The rules, which follow from *whether the request may have been sent*
//! (see [`crate::error`]):
//!
//! | error | read-only call | any other call (`add`, `update`, `session.start`, …) |
//! |---|---|---|
//! | [`Error::Connect`] (nothing sent) | retry | retry |
//! | [`Error::Timeout`], [`Error::Transport`] | retry | give up |
//! | [`Error::Http`] 408, 429, 500, 502, 503, 504 | retry (after `Retry-After` if given) | give up |
//! | [`Error::Http`] with another status | give up | give up |
//! | [`Error::NotJson`] (an HTML page from a proxy, even with status 200) | retry | give up |
//! | [`Error::Api`], [`Error::Decode`] (the server processed the call) | give up | give up |
//! | [`Error::Config`], [`Error::Build`], [`Error::Ks`] (not transient) | give up | give up |
//!
//! The delay is exponential without jitter, `base_delay * 2^attempt` capped at `max_delay`.
//! A `Retry-After` asked for by the server replaces it when longer; if the server asks for
//! more than [`RetryPolicy::max_retry_after`] the call gives up instead of retrying early,
//! and the caller finds the delay in [`Error::Http::retry_after`](Error::Http).
//!
//! An expired self-generated KS (`INVALID_KS`) is handled by the client, not here: see
//! [`Client`](crate::Client).

use std::time::Duration;

use crate::error::Error;

/// How often and how patiently failed calls are retried. See the [module docs](self) for
/// which failures are retried at all.
///
/// ```
/// use std::time::Duration;
/// use kaltura_client::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_retries(4)
///     .base_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(2));
/// assert_eq!(policy.backoff(0), Duration::from_millis(100));
/// assert_eq!(policy.backoff(3), Duration::from_millis(800));
/// assert_eq!(policy.backoff(10), Duration::from_secs(2));
/// assert_eq!(RetryPolicy::none().max_retries, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2, so at most 3 attempts).
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one (default 200 ms).
    pub base_delay: Duration,
    /// Upper bound of the exponential delay (default 5 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` that is honoured (default 30 s); when the server asks for
    /// more, the call gives up with the [`Error::Http`] carrying the requested delay.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets [`RetryPolicy::max_retries`].
    #[must_use]
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets [`RetryPolicy::base_delay`]; `Duration::ZERO` retries immediately (handy in tests).
    #[must_use]
    pub fn base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets [`RetryPolicy::max_delay`].
    #[must_use]
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets [`RetryPolicy::max_retry_after`].
    #[must_use]
    pub fn max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// The exponential delay after failed attempt `attempt` (0-based): `base_delay *
    /// 2^attempt`, capped at `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait `after`, then try again.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// Return the error to the caller.
    GiveUp,
}

/// Decides whether attempt `attempt` (0 for the first try) that failed with `error` is
/// retried. Pure: no clock, no randomness. See the [module docs](self) for the rules.
///
/// ```
/// use std::time::Duration;
/// use kaltura_client::retry::{decide, RetryDecision, RetryPolicy};
/// use kaltura_client::Error;
///
/// let policy = RetryPolicy::default();
/// let unavailable = Error::Http {
///     url: "https://www.kaltura.com/api_v3/service/media/action/list".into(),
///     status: 503,
///     retry_after: Some(Duration::from_secs(1)),
///     body_snippet: Default::default(),
/// };
/// assert_eq!(
///     decide(&policy, 0, &unavailable, true),
///     RetryDecision::Retry { after: Duration::from_secs(1) }
/// );
/// // `media.add` may have been executed: never retried.
/// assert_eq!(decide(&policy, 0, &unavailable, false), RetryDecision::GiveUp);
/// ```
pub fn decide(policy: &RetryPolicy, attempt: u32, error: &Error, read_only: bool) -> RetryDecision {
    if attempt >= policy.max_retries {
        return RetryDecision::GiveUp;
    }
    let backoff = RetryDecision::Retry {
        after: policy.backoff(attempt),
    };
    match error {
        Error::Connect { .. } => backoff,
        Error::Timeout { .. } | Error::Transport { .. } | Error::NotJson { .. } if read_only => {
            backoff
        }
        Error::Http {
            status,
            retry_after,
            ..
        } if read_only && is_transient_status(*status) => match retry_after {
            Some(asked) if *asked > policy.max_retry_after => RetryDecision::GiveUp,
            Some(asked) => RetryDecision::Retry {
                after: (*asked).max(policy.backoff(attempt)),
            },
            None => backoff,
        },
        _ => RetryDecision::GiveUp,
    }
}

/// HTTP statuses worth another try: request timeout, too many requests, and the gateway /
/// overload family of 5xx (not 501 Not Implemented or 505).
fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::error::{ApiError, KsErrorKind};

    const URL: &str = "http://127.0.0.1:1/api_v3/service/media/action/list";

    fn http(status: u16, retry_after: Option<u64>) -> Error {
        Error::Http {
            url: URL.into(),
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body_snippet: Default::default(),
        }
    }

    fn timeout() -> Error {
        Error::Timeout {
            url: URL.into(),
            timeout: Duration::from_secs(30),
        }
    }

    fn not_json() -> Error {
        Error::NotJson {
            url: URL.into(),
            content_type: Some("text/html".into()),
            body_snippet: "<html>502 Bad Gateway</html>".into(),
        }
    }

    fn decode() -> Error {
        Error::Decode {
            service: "media".into(),
            action: "list".into(),
            path: "objects[0].status".into(),
            message: "invalid type".into(),
            body_snippet: Default::default(),
        }
    }

    fn build() -> Error {
        Error::Build {
            service: "media".into(),
            action: "list".into(),
            message: "x".into(),
        }
    }

    /// Real reqwest errors for the Connect/Transport variants: a request to a closed port.
    async fn connect_error() -> reqwest::Error {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err()
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
            .max_retry_after(Duration::from_secs(10))
    }

    fn retry_ms(ms: u64) -> RetryDecision {
        RetryDecision::Retry {
            after: Duration::from_millis(ms),
        }
    }

    #[test]
    fn defaults() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_retries, 2);
        assert_eq!(p.base_delay, Duration::from_millis(200));
        assert_eq!(p.max_delay, Duration::from_secs(5));
        assert_eq!(p.max_retry_after, Duration::from_secs(30));
        assert_eq!(RetryPolicy::none().max_retries, 0);
    }

    #[test]
    fn backoff_is_exponential_and_capped() {
        let p = policy();
        assert_eq!(p.backoff(0), Duration::from_millis(100));
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(400));
        assert_eq!(p.backoff(3), Duration::from_millis(800));
        assert_eq!(p.backoff(4), Duration::from_secs(1));
        assert_eq!(p.backoff(31), Duration::from_secs(1));
        assert_eq!(p.backoff(32), Duration::from_secs(1));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
        let zero = policy().base_delay(Duration::ZERO);
        assert_eq!(zero.backoff(5), Duration::ZERO);
        let huge = RetryPolicy::default()
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX);
        assert_eq!(huge.backoff(3), Duration::MAX);
    }

    #[tokio::test]
    async fn connect_errors_are_retried_for_every_call() {
        let e = Error::Connect {
            url: URL.into(),
            source: crate::client::TransportError::new(connect_error().await),
        };
        assert_eq!(decide(&policy(), 0, &e, true), retry_ms(100));
        assert_eq!(decide(&policy(), 1, &e, false), retry_ms(200));
        assert_eq!(decide(&policy(), 2, &e, false), RetryDecision::GiveUp);
    }

    #[tokio::test]
    async fn transport_errors_only_for_read_only() {
        let e = Error::Transport {
            url: URL.into(),
            source: crate::client::TransportError::new(connect_error().await),
        };
        assert_eq!(decide(&policy(), 0, &e, true), retry_ms(100));
        assert_eq!(decide(&policy(), 0, &e, false), RetryDecision::GiveUp);
    }

    #[test]
    fn timeouts_only_for_read_only() {
        assert_eq!(decide(&policy(), 0, &timeout(), true), retry_ms(100));
        assert_eq!(decide(&policy(), 1, &timeout(), true), retry_ms(200));
        assert_eq!(
            decide(&policy(), 0, &timeout(), false),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn transient_http_statuses_only_for_read_only() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                decide(&policy(), 0, &http(status, None), true),
                retry_ms(100),
                "{status}"
            );
            assert_eq!(
                decide(&policy(), 0, &http(status, None), false),
                RetryDecision::GiveUp,
                "{status}"
            );
        }
    }

    #[test]
    fn other_http_statuses_never() {
        for status in [301, 400, 401, 403, 404, 405, 413, 418, 422, 501, 505] {
            assert_eq!(
                decide(&policy(), 0, &http(status, None), true),
                RetryDecision::GiveUp,
                "{status}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = policy();
        assert_eq!(decide(&p, 0, &http(429, Some(3)), true), retry_ms(3000));
        assert_eq!(decide(&p, 0, &http(503, Some(10)), true), retry_ms(10_000));
        // Shorter than the backoff: the backoff wins.
        assert_eq!(decide(&p, 0, &http(503, Some(0)), true), retry_ms(100));
        // More than the cap: give up rather than retry early.
        assert_eq!(
            decide(&p, 0, &http(429, Some(11)), true),
            RetryDecision::GiveUp
        );
        // Never for calls with side effects.
        assert_eq!(
            decide(&p, 0, &http(429, Some(1)), false),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn not_json_only_for_read_only() {
        assert_eq!(decide(&policy(), 0, &not_json(), true), retry_ms(100));
        assert_eq!(
            decide(&policy(), 0, &not_json(), false),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn processed_or_local_errors_never() {
        let api = Error::from(ApiError::new("ENTRY_ID_NOT_FOUND", "nope"));
        let expired = Error::from(
            ApiError::new("INVALID_KS", "Invalid KS")
                .with_arg("ERR_CODE", "-5")
                .with_arg("ERR_DESC", "EXPIRED"),
        );
        let errors = [
            api,
            expired,
            decode(),
            build(),
            Error::Config("x".into()),
            Error::Ks(KsErrorKind::Empty),
        ];
        for e in &errors {
            for read_only in [true, false] {
                assert_eq!(
                    decide(&policy(), 0, e, read_only),
                    RetryDecision::GiveUp,
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn no_retry_once_the_budget_is_spent() {
        assert_eq!(
            decide(&policy(), 2, &timeout(), true),
            RetryDecision::GiveUp
        );
        assert_eq!(
            decide(&policy(), 7, &timeout(), true),
            RetryDecision::GiveUp
        );
        assert_eq!(
            decide(&RetryPolicy::none(), 0, &timeout(), true),
            RetryDecision::GiveUp
        );
        let many = policy().max_retries(5);
        assert_eq!(decide(&many, 4, &timeout(), true), retry_ms(1000));
        assert_eq!(decide(&many, 5, &timeout(), true), RetryDecision::GiveUp);
    }
}
