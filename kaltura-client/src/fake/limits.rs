//! Resource bounds of the fake server: request size and time, back-reference expansion and
//! catalog size. Every bound answers a clear error instead of letting one client exhaust
//! memory, CPU or connections.

use std::time::Duration;

/// The bounds a [`FakeKaltura`](super::FakeKaltura) enforces; see
/// [`FakeKalturaBuilder::limits`](super::FakeKalturaBuilder::limits).
///
/// Start from [`Limits::default`] and change what a test needs:
///
/// ```
/// use std::time::Duration;
/// use kaltura_client::fake::Limits;
///
/// let limits = Limits::default()
///     .max_entries(3)
///     .header_read_timeout(Duration::from_millis(200));
/// assert_eq!(limits.entries(), 3);
/// assert_eq!(limits.expansion_bytes(), Limits::DEFAULT_MAX_EXPANSION_BYTES);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Limits {
    max_body_bytes: usize,
    max_expansion_bytes: usize,
    max_entries: usize,
    max_users: usize,
    max_objects: usize,
    max_store_bytes: usize,
    max_connections: usize,
    header_read_timeout: Duration,
    request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_expansion_bytes: Self::DEFAULT_MAX_EXPANSION_BYTES,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            max_users: Self::DEFAULT_MAX_USERS,
            max_objects: Self::DEFAULT_MAX_OBJECTS,
            max_store_bytes: Self::DEFAULT_MAX_STORE_BYTES,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl Limits {
    /// Largest request body: 1 MiB. Larger bodies get HTTP 413.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
    /// Largest total output of `{N:result:…}` back-reference substitution in one
    /// multirequest: 1 MiB (strings by length, whole values by their JSON size). A call whose
    /// substitution would pass it answers `MULTIREQUEST_EXPANSION_TOO_LARGE` without running.
    pub const DEFAULT_MAX_EXPANSION_BYTES: usize = 1024 * 1024;
    /// Most media entries in the catalog: 10 000 (`media.add` then answers
    /// `MAX_OBJECTS_REACHED`).
    pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
    /// Most users: 10 000.
    pub const DEFAULT_MAX_USERS: usize = 10_000;
    /// Most other objects together (categories, app tokens, schedule and virtual events,
    /// notification templates, ended sessions): 10 000.
    pub const DEFAULT_MAX_OBJECTS: usize = 10_000;
    /// Largest catalog (approximate JSON size of every stored object): 64 MiB. Writes then
    /// answer `STORE_SIZE_LIMIT_REACHED`.
    pub const DEFAULT_MAX_STORE_BYTES: usize = 64 * 1024 * 1024;
    /// Most connections served at once: 256; further clients wait in the listen backlog.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
    /// Time a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open): 10 s. Then the connection is closed.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// Time a client has to send the body and the server has to answer: 30 s. Then the answer
    /// is HTTP 408.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// Sets the largest request body (at least 1 KiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes.max(1024);
        self
    }

    /// Sets the largest back-reference expansion per multirequest.
    pub fn max_expansion_bytes(mut self, bytes: usize) -> Self {
        self.max_expansion_bytes = bytes;
        self
    }

    /// Sets the most media entries.
    pub fn max_entries(mut self, count: usize) -> Self {
        self.max_entries = count;
        self
    }

    /// Sets the most users.
    pub fn max_users(mut self, count: usize) -> Self {
        self.max_users = count;
        self
    }

    /// Sets the most other objects (see [`DEFAULT_MAX_OBJECTS`](Self::DEFAULT_MAX_OBJECTS)).
    pub fn max_objects(mut self, count: usize) -> Self {
        self.max_objects = count;
        self
    }

    /// Sets the largest catalog size in bytes.
    pub fn max_store_bytes(mut self, bytes: usize) -> Self {
        self.max_store_bytes = bytes;
        self
    }

    /// Sets the most connections served at once (1 to 65 536).
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.clamp(1, 65_536);
        self
    }

    /// Sets the header read timeout (at least 1 ms).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Sets the request timeout (at least 1 ms).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The largest request body.
    pub fn body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The largest back-reference expansion per multirequest.
    pub fn expansion_bytes(&self) -> usize {
        self.max_expansion_bytes
    }

    /// The most media entries.
    pub fn entries(&self) -> usize {
        self.max_entries
    }

    /// The most users.
    pub fn users(&self) -> usize {
        self.max_users
    }

    /// The most other objects.
    pub fn objects(&self) -> usize {
        self.max_objects
    }

    /// The largest catalog size in bytes.
    pub fn store_bytes(&self) -> usize {
        self.max_store_bytes
    }

    /// The most connections served at once.
    pub fn connections(&self) -> usize {
        self.max_connections
    }

    /// The header read timeout.
    pub fn header_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// The request timeout.
    pub fn request_time(&self) -> Duration {
        self.request_timeout
    }
}

/// Approximate JSON size of `v` in bytes, or `None` as soon as it passes `limit` (so a caller
/// never walks more than `limit` bytes' worth of a huge value).
pub(crate) fn json_size_within(v: &serde_json::Value, limit: usize) -> Option<usize> {
    use serde_json::Value;
    fn walk(v: &Value, total: &mut usize, limit: usize) -> bool {
        let add = |total: &mut usize, n: usize| {
            *total = total.saturating_add(n);
            *total <= limit
        };
        match v {
            Value::Null | Value::Bool(_) => add(total, 5),
            Value::Number(_) => add(total, 20),
            Value::String(s) => add(total, s.len().saturating_add(2)),
            Value::Array(items) => {
                add(total, 2) && items.iter().all(|i| add(total, 1) && walk(i, total, limit))
            }
            Value::Object(m) => {
                add(total, 2)
                    && m.iter().all(|(k, i)| {
                        add(total, k.len().saturating_add(4)) && walk(i, total, limit)
                    })
            }
        }
    }
    let mut total = 0;
    walk(v, &mut total, limit).then_some(total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_size_stops_at_the_limit() {
        let v = json!({"a": "xxxx", "b": [1, 2, null]});
        let size = json_size_within(&v, usize::MAX).unwrap();
        assert!(size >= serde_json::to_string(&v).unwrap().len());
        assert_eq!(json_size_within(&v, size), Some(size));
        assert_eq!(json_size_within(&v, size - 1), None);
        assert_eq!(json_size_within(&json!("abc"), 4), None);
    }

    #[test]
    fn setters_clamp_nonsense() {
        let l = Limits::default()
            .max_connections(0)
            .max_body_bytes(1)
            .request_timeout(Duration::ZERO);
        assert_eq!(l.connections(), 1);
        assert_eq!(l.body_bytes(), 1024);
        assert_eq!(l.request_time(), Duration::from_millis(1));
    }
}
