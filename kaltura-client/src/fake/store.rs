//! The fake server's in-memory state: catalog objects kept as JSON objects exactly as they
//! are returned (with `objectType`), plus ended sessions and id counters.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

/// A stored API object (always a JSON object with `objectType`).
pub(crate) type Object = Map<String, Value>;

/// Everything the fake server remembers.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Media entries by id (`0_xxxxxxxx`).
    pub(crate) entries: BTreeMap<String, Object>,
    /// Users by id.
    pub(crate) users: BTreeMap<String, Object>,
    /// Categories by id.
    pub(crate) categories: BTreeMap<i64, Object>,
    /// App tokens by id.
    pub(crate) app_tokens: BTreeMap<String, Object>,
    /// Integer-keyed objects of the plugin services, by table name then id.
    pub(crate) tables: BTreeMap<&'static str, BTreeMap<i64, Object>>,
    /// KS strings ended with `session.end`.
    pub(crate) ended_sessions: HashSet<String>,
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

    /// The table of a plugin service.
    pub(crate) fn table(&mut self, name: &'static str) -> &mut BTreeMap<i64, Object> {
        self.tables.entry(name).or_default()
    }
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
        *slot = DIGITS[(x % 36) as usize];
        x /= 36;
    }
    format!("0_{}", String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

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
