//! Time, injectable: every part of the workspace that reads the clock takes a [`Clock`].
//!
//! Production code uses [`SystemClock`]; tests pin time with [`FixedClock`] or move it with
//! [`ManualClock`]. KS generation, session renewal, the fake server and the integration
//! library's services, stores and configuration cache all read time through this trait.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in unix seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in whole seconds since the unix epoch.
    fn now_unix(&self) -> i64;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        }
    }
}

/// A clock that always returns the same time (unix seconds); for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_unix(&self) -> i64 {
        (**self).now_unix()
    }
}

/// A clock tests move by hand; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl ManualClock {
    /// A clock showing `now` (unix seconds).
    pub fn new(now: i64) -> Self {
        ManualClock(std::sync::Arc::new(std::sync::atomic::AtomicI64::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.0.store(now, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the time forward by `seconds` (backward if negative).
    pub fn advance(&self, seconds: i64) {
        self.0
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_unix(&self) -> i64 {
        (**self).now_unix()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2023() {
        assert!(SystemClock.now_unix() > 1_700_000_000);
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new(10);
        let b = a.clone();
        a.advance(5);
        assert_eq!(b.now_unix(), 15);
        b.set(3);
        assert_eq!(a.now_unix(), 3);
    }
}
