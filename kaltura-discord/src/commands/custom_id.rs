//! The custom ids of our buttons and select menus, versioned and parsed strictly.
//!
//! A custom id travels through Discord and comes back on every click, so it is input like
//! any other: whoever clicks may have forged it. The format is `kd1:{kind}[:{arg}…]`:
//!
//! | id | meaning |
//! |---|---|
//! | `kd1:join:{event id}` | give the clicker their own join link to a meeting |
//! | `kd1:end:{event id}` | end a meeting (host or `end_meeting` only) |
//! | `kd1:share:{entry id}` | post an entry's card into the channel |
//! | `kd1:share` | a select menu whose chosen value is the entry id to share |
//! | `kd1:info:{entry id}` | show an entry's card to the clicker |
//! | `kd1:page:{token}:{page}` | another page of a search |
//!
//! Parsing demands the exact prefix and segment count, at most 100 characters, event ids of
//! 1-19 digits (not zero), entry ids that pass [`EntryId::parse`] and search tokens of exactly
//! [`SEARCH_TOKEN_LEN`] lowercase hex digits. Anything else is an [`Error::Interaction`],
//! which the engine answers with "this button is outdated". Ids carry no authority: every
//! click is authorized again from the clicker's own context.
//!
//! **Search paging.** A search text (up to 200 characters) does not fit in a custom id next
//! to the prefix, and echoing it would let a forged id start arbitrary searches under an
//! innocent-looking button. The engine therefore keeps each search in a short-lived,
//! bounded cache under a random token and puts only the token and the page number in the
//! buttons. A click on a page of an expired search says the buttons are outdated.
//!
//! ```
//! use kaltura_discord::commands::custom_id::CustomId;
//!
//! let id = CustomId::parse("kd1:join:4001").unwrap();
//! assert_eq!(id.to_string(), "kd1:join:4001");
//! assert!(CustomId::parse("kd1:join:../../etc").is_err());
//! ```

use std::fmt;

use kaltura_client::{EntryId, ScheduleEventId};

use crate::commands::InteractionError;
use crate::{Error, Result};

/// The version prefix of every custom id this build makes.
pub const PREFIX: &str = "kd1";
/// Discord's limit on a custom id, in characters.
pub const MAX_CUSTOM_ID_CHARS: usize = 100;
/// Length of a search token, in lowercase hex digits.
pub const SEARCH_TOKEN_LEN: usize = 16;

/// A reference to a cached search (see the module docs): [`SEARCH_TOKEN_LEN`] lowercase hex
/// digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchToken(String);

impl SearchToken {
    /// A fresh random token.
    pub fn random() -> Self {
        SearchToken(crate::text::random_hex(SEARCH_TOKEN_LEN / 2))
    }

    /// Parses a token; `None` unless it is exactly [`SEARCH_TOKEN_LEN`] of `0-9 a-f`.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == SEARCH_TOKEN_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| SearchToken(raw.to_owned()))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a button or select menu does when clicked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomId {
    /// Give the clicker their own join link to the meeting.
    Join {
        /// The meeting (its Kaltura schedule event id).
        meeting: ScheduleEventId,
    },
    /// End the meeting.
    End {
        /// The meeting.
        meeting: ScheduleEventId,
    },
    /// Post the entry's card into the channel.
    Share {
        /// The entry.
        entry: EntryId,
    },
    /// A select menu of entries to share; the entry is the selected value.
    ShareMenu,
    /// Show the entry's card to the clicker only.
    Info {
        /// The entry.
        entry: EntryId,
    },
    /// Another page of a cached search.
    SearchPage {
        /// The cached search.
        token: SearchToken,
        /// The page, from 1.
        page: u32,
    },
}

fn outdated(why: &str) -> Error {
    Error::Interaction(InteractionError::new(format!(
        "this button is outdated or was not made by this bot ({why})"
    )))
}

/// Parses a meeting id segment: 1-19 ASCII digits, not zero.
fn parse_event_id(raw: &str) -> Result<ScheduleEventId> {
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(outdated("bad meeting id"));
    }
    match raw.parse::<i64>() {
        Ok(v) if v > 0 => Ok(ScheduleEventId::new(v)),
        _ => Err(outdated("bad meeting id")),
    }
}

/// Parses an entry id segment with [`EntryId::parse`], refusing surrounding whitespace.
fn parse_entry_id(raw: &str) -> Result<EntryId> {
    if raw.trim() != raw {
        return Err(outdated("bad entry id"));
    }
    EntryId::parse(raw).map_err(|_| outdated("bad entry id"))
}

impl CustomId {
    /// Parses a custom id as sent back by Discord.
    ///
    /// # Errors
    ///
    /// [`Error::Interaction`] for anything this build did not make: another prefix or
    /// version, an unknown kind, a wrong number of segments, an invalid id or page, more
    /// than [`MAX_CUSTOM_ID_CHARS`] characters.
    pub fn parse(raw: &str) -> Result<CustomId> {
        if raw.chars().count() > MAX_CUSTOM_ID_CHARS {
            return Err(outdated("too long"));
        }
        let segments: Vec<&str> = raw.split(':').collect();
        match segments.as_slice() {
            [p, ..] if *p != PREFIX => Err(outdated("unknown version")),
            [_, "join", id] => Ok(CustomId::Join {
                meeting: parse_event_id(id)?,
            }),
            [_, "end", id] => Ok(CustomId::End {
                meeting: parse_event_id(id)?,
            }),
            [_, "share", entry] => Ok(CustomId::Share {
                entry: parse_entry_id(entry)?,
            }),
            [_, "share"] => Ok(CustomId::ShareMenu),
            [_, "info", entry] => Ok(CustomId::Info {
                entry: parse_entry_id(entry)?,
            }),
            [_, "page", token, page] => {
                let token = SearchToken::parse(token).ok_or_else(|| outdated("bad token"))?;
                if page.is_empty() || page.len() > 3 || !page.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(outdated("bad page"));
                }
                let page: u32 = page.parse().map_err(|_| outdated("bad page"))?;
                if !(1..=crate::video::MAX_SEARCH_PAGE).contains(&page) {
                    return Err(outdated("bad page"));
                }
                Ok(CustomId::SearchPage { token, page })
            }
            _ => Err(outdated("unknown kind")),
        }
    }
}

impl fmt::Display for CustomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomId::Join { meeting } => write!(f, "{PREFIX}:join:{meeting}"),
            CustomId::End { meeting } => write!(f, "{PREFIX}:end:{meeting}"),
            CustomId::Share { entry } => write!(f, "{PREFIX}:share:{entry}"),
            CustomId::ShareMenu => write!(f, "{PREFIX}:share"),
            CustomId::Info { entry } => write!(f, "{PREFIX}:info:{entry}"),
            CustomId::SearchPage { token, page } => {
                write!(f, "{PREFIX}:page:{}:{page}", token.as_str())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let token = SearchToken::random();
        for id in [
            CustomId::Join {
                meeting: ScheduleEventId::new(4001),
            },
            CustomId::End {
                meeting: ScheduleEventId::new(i64::MAX),
            },
            CustomId::Share {
                entry: EntryId::parse("0_abc123").unwrap(),
            },
            CustomId::ShareMenu,
            CustomId::Info {
                entry: EntryId::parse("1_zz").unwrap(),
            },
            CustomId::SearchPage {
                token: token.clone(),
                page: 100,
            },
        ] {
            let text = id.to_string();
            assert!(text.starts_with("kd1:"), "{text}");
            assert!(text.chars().count() <= MAX_CUSTOM_ID_CHARS, "{text}");
            assert_eq!(CustomId::parse(&text).unwrap(), id, "{text}");
        }
        assert_eq!(token.as_str().len(), SEARCH_TOKEN_LEN);
        assert_ne!(SearchToken::random(), SearchToken::random());
    }

    #[test]
    fn forged_and_outdated_ids_are_refused() {
        let long_entry = format!("kd1:share:{}", "a".repeat(120));
        for bad in [
            "",
            "kd1",
            "kd1:",
            "kd0:join:1",
            "kd2:join:1",
            "KD1:join:1",
            "kd1:join",
            "kd1:join:",
            "kd1:join:0",
            "kd1:join:-1",
            "kd1:join:+1",
            "kd1:join: 1",
            "kd1:join:1:2",
            "kd1:join:../../etc",
            "kd1:join:99999999999999999999",
            "kd1:end:1e3",
            "kd1:share:../../etc",
            "kd1:share:0_abc:extra",
            "kd1:share: 0_abc",
            "kd1:info:",
            "kd1:page:0123456789abcdef",
            "kd1:page:0123456789abcdef:0",
            "kd1:page:0123456789abcdef:101",
            "kd1:page:0123456789abcdef:1000",
            "kd1:page:0123456789ABCDEF:1",
            "kd1:page:0123456789abcde:1",
            "kd1:page:0123456789abcdef0:1",
            "kd1:page:0123456789abcdef:x",
            "kd1:delete:1",
            long_entry.as_str(),
        ] {
            let err = CustomId::parse(bad).unwrap_err();
            assert!(matches!(err, Error::Interaction(_)), "{bad:?}: {err}");
            assert!(err.to_string().contains("outdated"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_error_does_not_echo_the_id() {
        let err = CustomId::parse("kd1:join:<script>")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("<script>"), "{err}");
    }
}
