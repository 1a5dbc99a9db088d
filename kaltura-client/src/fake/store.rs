//! The fake server's in-memory state: catalog objects kept as JSON objects exactly as they
//! are returned (with `objectType`), plus ended sessions and id counters.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::limits::{Limits, json_size_within};

/// A stored API object (always a JSON object with `objectType`).
pub(crate) type Object = Map<String, Value>;

/// Everything the fake server remembers.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Media entries by id (`0_xxxxxxxx`).
    pub(crate) entries: BTreeMap<String, Object>,
    /// Users by id.
    pub(crate) users: BTreeMap<String, Object>,
    /// Kaltura logins (`UserLoginData`) by login id, lower-cased.
    pub(crate) logins: BTreeMap<String, super::services::user::LoginData>,
    /// Categories by id.
    pub(crate) categories: BTreeMap<i64, Object>,
    /// App tokens by id.
    pub(crate) app_tokens: BTreeMap<String, Object>,
    /// Integer-keyed objects of the plugin services, by table name then id.
    pub(crate) tables: BTreeMap<&'static str, BTreeMap<i64, Object>>,
    /// KS strings ended with `session.end`, with their expiry (pruned once expired).
    pub(crate) ended_sessions: HashMap<String, i64>,
    /// An upper bound of the catalog's JSON size: the exact size at the last
    /// [`Store::check_bytes`] recount plus the parameter sizes of every write since.
    pub(crate) charged_bytes: usize,
    /// Sequence for entry and app-token ids.
    pub(crate) string_id_seq: u64,
    /// Sequence for integer ids.
    pub(crate) int_id_seq: i64,
}

impl Store {
    /// A new deterministic Kaltura-looking id: `0_` followed by 8 base-36 characters.
    pub(crate) fn next_string_id(&mut self) -> String {
        loop {
            self.string_id_seq += 1;
            let id = string_id(self.string_id_seq);
            if !self.entries.contains_key(&id) && !self.app_tokens.contains_key(&id) {
                return id;
            }
        }
    }

    /// A new integer id (shared by all integer-keyed objects, starting at 1001).
    pub(crate) fn next_int_id(&mut self) -> i64 {
        if self.int_id_seq < 1000 {
            self.int_id_seq = 1000;
        }
        self.int_id_seq += 1;
        self.int_id_seq
    }

    /// Objects counted against [`Limits::objects`]: everything but entries and users.
    pub(crate) fn object_count(&self) -> usize {
        self.categories.len()
            + self.app_tokens.len()
            + self.tables.values().map(BTreeMap::len).sum::<usize>()
            + self.ended_sessions.len()
    }

    /// The approximate JSON size of everything stored (walks the whole catalog, stopping at
    /// `limit`; `None` past it).
    fn exact_bytes(&self, limit: usize) -> Option<usize> {
        let objects = self
            .entries
            .values()
            .chain(self.users.values())
            .chain(self.categories.values())
            .chain(self.app_tokens.values())
            .chain(self.tables.values().flat_map(BTreeMap::values));
        let mut total: usize = self
            .ended_sessions
            .keys()
            .map(|k| k.len().saturating_add(8))
            .sum();
        for o in objects {
            let left = limit.checked_sub(total)?;
            let size = object_size_within(o, left)?;
            total = total.saturating_add(size);
        }
        (total <= limit).then_some(total)
    }

    /// Whether a write of `bytes` more keeps the catalog within `limits`: cheap while the
    /// running upper bound stays under the limit; when it passes, the catalog is recounted
    /// (so deletes and overwrites give their room back) and the write is refused only if the
    /// exact size plus `bytes` is still over.
    ///
    /// # Errors
    /// `STORE_SIZE_LIMIT_REACHED`.
    pub(crate) fn check_bytes(
        &mut self,
        limits: &Limits,
        bytes: usize,
    ) -> Result<(), crate::ApiError> {
        let max = limits.store_bytes();
        if self.charged_bytes.saturating_add(bytes) <= max {
            return Ok(());
        }
        let exact = self.exact_bytes(max).unwrap_or(usize::MAX);
        self.charged_bytes = exact;
        if exact.saturating_add(bytes) <= max {
            Ok(())
        } else {
            Err(super::errors::store_size_limit_reached(&max.to_string()))
        }
    }

    /// The table of a plugin service.
    pub(crate) fn table(&mut self, name: &'static str) -> &mut BTreeMap<i64, Object> {
        self.tables.entry(name).or_default()
    }
}

/// Approximate JSON size of a stored object (`None` past `limit`).
pub(crate) fn object_size_within(o: &Object, limit: usize) -> Option<usize> {
    let mut total: usize = 2;
    for (k, v) in o {
        let left = limit.checked_sub(total)?;
        total = total.saturating_add(k.len() + 4);
        total = total.saturating_add(json_size_within(v, left)?);
    }
    (total <= limit).then_some(total)
}

/// Maps a sequence number to an 8-character base-36 id (a bijection on `0..36^8`, so ids
/// never repeat and do not look sequential).
pub(crate) fn string_id(seq: u64) -> String {
    const MODULUS: u128 = 2_821_109_907_456; // 36^8
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    // 2654435761 is coprime with 36^8 (odd, not a multiple of 3).
    let mut x = ((u128::from(seq) % MODULUS) * 2_654_435_761 + 1_234_567) % MODULUS;
    let mut out = [b'0'; 8];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS.get((x % 36) as usize).copied().unwrap_or(b'0');
        x /= 36;
    }
    format!("0_{}", String::from_utf8_lossy(&out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn string_ids_look_like_kaltura_and_are_unique() {
        let ids: HashSet<String> = (1..2000).map(string_id).collect();
        assert_eq!(ids.len(), 1999);
        let id = string_id(1);
        assert_eq!(id.len(), 10);
        assert!(id.starts_with("0_"));
        assert_eq!(string_id(1), string_id(1));
    }
}
