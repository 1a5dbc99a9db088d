//! Newtypes for Kaltura identifiers.
//!
//! Kaltura sends some ids as JSON numbers and others as strings, and the official Python
//! client sends every scalar as a string, so numeric ids deserialize from either form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a numeric id newtype that serializes as a number and deserializes from a number
/// or a numeric string.
macro_rules! numeric_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw id.
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            /// The raw id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::ids::int_or_string(d).map(Self)
            }
        }
    };
}

numeric_id!(
    /// A Kaltura partner (account) id, e.g. `12345`.
    PartnerId
);
numeric_id!(
    /// A player configuration (uiConf) id, used in player embed URLs.
    UiConfId
);
numeric_id!(
    /// A category id.
    CategoryId
);
numeric_id!(
    /// A schedule event id (`KalturaScheduleEvent.id`), e.g. a Kaltura Meetings session.
    ScheduleEventId
);
numeric_id!(
    /// A schedule resource id (`KalturaScheduleResource.id`), e.g. a Kaltura Meetings room.
    ScheduleResourceId
);
numeric_id!(
    /// A virtual event id (`KalturaVirtualEvent.id`).
    VirtualEventId
);

/// Declares a string id newtype that (de)serializes as a string and also accepts numbers.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw id.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The raw id.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the raw id.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::ids::string_or_number(d).map(Self)
            }
        }
    };
}

string_id!(
    /// An entry id (media, playlist, live stream …), e.g. `0_abc123xy`.
    ///
    /// [`EntryId::new`] and deserialization accept anything (the server is the authority);
    /// use [`EntryId::parse`] (or [`str::parse`]) for input typed by a person.
    EntryId
);
string_id!(
    /// A Kaltura user id (`KalturaUser.id`, the partner's own stable id such as `discord_42`).
    ///
    /// [`UserId::new`] and deserialization accept anything (the server is the authority);
    /// use [`UserId::parse`] (or [`str::parse`]) for ids built from outside input.
    UserId
);

impl EntryId {
    /// The longest entry id [`EntryId::parse`] accepts, in characters.
    pub const MAX_LEN: usize = 64;

    /// Checks an entry id typed by a person: surrounding whitespace is trimmed, then 1 to
    /// [`EntryId::MAX_LEN`] characters of `A-Z a-z 0-9 _` must remain (like `0_abcd1234`).
    ///
    /// # Errors
    ///
    /// [`IdParseError`] with [`IdKind::Entry`] when the trimmed id is empty, too long, or
    /// contains another character.
    pub fn parse(raw: &str) -> Result<Self, IdParseError> {
        let id = raw.trim();
        check_id(IdKind::Entry, id, Self::MAX_LEN, |c| {
            c.is_ascii_alphanumeric() || c == '_'
        })?;
        Ok(Self(id.to_owned()))
    }
}

impl FromStr for EntryId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl UserId {
    /// The longest user id Kaltura accepts, in characters.
    pub const MAX_LEN: usize = 320;

    /// The characters besides ASCII letters and digits that Kaltura allows in a user id.
    pub const EXTRA_CHARS: &'static str = ",!#$%&'*+?^_`{|}~.@-";

    /// Checks a user id against Kaltura's rule
    /// ``^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$``. Nothing is trimmed.
    ///
    /// # Errors
    ///
    /// [`IdParseError`] with [`IdKind::User`] when the id is empty, longer than
    /// [`UserId::MAX_LEN`], or contains another character (spaces included).
    pub fn parse(raw: &str) -> Result<Self, IdParseError> {
        check_id(IdKind::User, raw, Self::MAX_LEN, |c| {
            c.is_ascii_alphanumeric() || Self::EXTRA_CHARS.contains(c)
        })?;
        Ok(Self(raw.to_owned()))
    }
}

impl FromStr for UserId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Which kind of id failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdKind {
    /// An [`EntryId`].
    Entry,
    /// A [`UserId`].
    User,
}

impl IdKind {
    /// What a person would call it, e.g. `entry id`.
    pub const fn describe(self) -> &'static str {
        match self {
            IdKind::Entry => "entry id",
            IdKind::User => "Kaltura user id",
        }
    }

    /// The characters allowed, in words.
    const fn allowed(self) -> &'static str {
        match self {
            IdKind::Entry => "letters, digits and _ (like 0_abcd1234)",
            IdKind::User => "letters, digits and ,!#$%&'*+?^_`{|}~.@-",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why an id was refused by [`EntryId::parse`] or [`UserId::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdParseReason {
    /// The id is empty (for entry ids: after trimming whitespace).
    Empty,
    /// The id is longer than allowed.
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The maximum length in characters.
        max: usize,
    },
    /// The id contains a character that is not allowed.
    InvalidChar {
        /// The first offending character.
        found: char,
        /// Its position in the id, counting characters from 0.
        index: usize,
    },
}

/// An id that does not follow Kaltura's rules for its kind.
///
/// It keeps at most [`IdParseError::MAX_ECHO_CHARS`] characters of the input, with control
/// and non-ASCII characters escaped, so a hostile or pasted-secret input is never echoed
/// in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdParseError {
    kind: IdKind,
    reason: IdParseReason,
    input_prefix: String,
}

impl IdParseError {
    /// How many characters of the refused input are kept for the message.
    pub const MAX_ECHO_CHARS: usize = 16;

    fn new(kind: IdKind, reason: IdParseReason, input: &str) -> Self {
        let mut input_prefix = String::new();
        let mut chars = input.chars();
        for c in chars.by_ref().take(Self::MAX_ECHO_CHARS) {
            if c.is_ascii_graphic() || c == ' ' {
                input_prefix.push(c);
            } else {
                input_prefix.extend(c.escape_default());
            }
        }
        if chars.next().is_some() {
            input_prefix.push('…');
        }
        IdParseError {
            kind,
            reason,
            input_prefix,
        }
    }

    /// Which kind of id was refused.
    pub fn kind(&self) -> IdKind {
        self.kind
    }

    /// Why it was refused.
    pub fn reason(&self) -> &IdParseReason {
        &self.reason
    }

    /// The sanitized start of the refused input (at most [`Self::MAX_ECHO_CHARS`]
    /// characters, escaped, `…` when cut).
    pub fn input_prefix(&self) -> &str {
        &self.input_prefix
    }
}

impl fmt::Display for IdParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind;
        let prefix = &self.input_prefix;
        match &self.reason {
            IdParseReason::Empty => write!(f, "invalid {kind}: it is empty"),
            IdParseReason::TooLong { len, max } => write!(
                f,
                "invalid {kind} \"{prefix}\": it has {len} characters, at most {max} are allowed"
            ),
            IdParseReason::InvalidChar { found, index } => write!(
                f,
                "invalid {kind} \"{prefix}\": '{}' at position {} is not allowed; use only {}",
                found.escape_default(),
                index + 1,
                kind.allowed()
            ),
        }
    }
}

impl std::error::Error for IdParseError {}

/// Checks `id` is 1 to `max` characters, all satisfying `allowed`. Linear in `id`, stops at
/// `max + 1` characters.
fn check_id(
    kind: IdKind,
    id: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(), IdParseError> {
    if id.is_empty() {
        return Err(IdParseError::new(kind, IdParseReason::Empty, id));
    }
    let len = id.chars().count();
    if len > max {
        return Err(IdParseError::new(
            kind,
            IdParseReason::TooLong { len, max },
            id,
        ));
    }
    if let Some((index, found)) = id.chars().enumerate().find(|(_, c)| !allowed(*c)) {
        return Err(IdParseError::new(
            kind,
            IdParseReason::InvalidChar { found, index },
            id,
        ));
    }
    Ok(())
}
string_id!(
    /// A flavor (rendition) asset id, e.g. `0_fl4v0r1d`.
    FlavorAssetId
);
string_id!(
    /// An application token id (`KalturaAppToken.id`).
    AppTokenId
);

numeric_id!(
    /// An event notification template id (`KalturaEventNotificationTemplate.id`), e.g. a
    /// webhook.
    EventNotificationTemplateId
);

/// Deserializes a string id sent either as a JSON string or as a number.
pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::de::Error as _;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(D::Error::custom(format!(
            "expected a string or number id, got {other}"
        ))),
    }
}

/// Deserializes an integer sent either as a JSON number or as a decimal string.
pub(crate) fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error as _;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Float(f64),
        Str(String),
    }
    match IntOrString::deserialize(d)? {
        IntOrString::Int(i) => Ok(i),
        IntOrString::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        IntOrString::Float(f) => Err(D::Error::custom(format!("expected an integer, got {f}"))),
        IntOrString::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("expected an integer, got {s:?}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn partner_id_accepts_number_and_string() {
        let a: PartnerId = serde_json::from_str("12345").unwrap();
        let b: PartnerId = serde_json::from_str("\"12345\"").unwrap();
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&a).unwrap(), "12345");
    }

    #[test]
    fn string_ids_accept_strings_and_numbers() {
        let a: EntryId = serde_json::from_str("\"0_abc\"").unwrap();
        assert_eq!(a.as_str(), "0_abc");
        let b: UserId = serde_json::from_str("42").unwrap();
        assert_eq!(b.as_str(), "42");
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"42\"");
        assert!(serde_json::from_str::<EntryId>("{}").is_err());
    }

    #[test]
    fn partner_id_rejects_garbage() {
        assert!(serde_json::from_str::<PartnerId>("\"12a\"").is_err());
        assert!(serde_json::from_str::<PartnerId>("1.5").is_err());
    }

    #[test]
    fn entry_id_parse_trims_and_accepts_kaltura_ids() {
        assert_eq!(
            EntryId::parse("  0_abcd1234\n").unwrap().as_str(),
            "0_abcd1234"
        );
        let max = "a".repeat(EntryId::MAX_LEN);
        assert_eq!(EntryId::parse(&max).unwrap().as_str(), max);
        let parsed: EntryId = "1_xyz".parse().unwrap();
        assert_eq!(parsed.as_str(), "1_xyz");
    }

    #[test]
    fn entry_id_parse_refuses_empty_long_and_odd_characters() {
        let e = EntryId::parse("   ").unwrap_err();
        assert_eq!(
            (e.kind(), e.reason()),
            (IdKind::Entry, &IdParseReason::Empty)
        );
        assert_eq!(e.to_string(), "invalid entry id: it is empty");
        let e = EntryId::parse(&"a".repeat(EntryId::MAX_LEN + 1)).unwrap_err();
        assert_eq!(e.reason(), &IdParseReason::TooLong { len: 65, max: 64 });
        let e = EntryId::parse("0_ab-cd").unwrap_err();
        assert_eq!(
            e.reason(),
            &IdParseReason::InvalidChar {
                found: '-',
                index: 4
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid entry id \"0_ab-cd\": '-' at position 5 is not allowed; use only letters, digits and _ (like 0_abcd1234)"
        );
        assert!(EntryId::parse("0_ab cd").is_err());
        assert!(EntryId::parse("0_äb").is_err());
    }

    #[test]
    fn user_id_parse_follows_kaltura_rule() {
        for ok in ["discord_42", "a.b@example.com", ",!#$%&'*+?^_`{|}~.@-", "x"] {
            assert_eq!(UserId::parse(ok).unwrap().as_str(), ok);
        }
        let max = "u".repeat(UserId::MAX_LEN);
        assert_eq!(UserId::parse(&max).unwrap().as_str(), max);
        for (bad, found, index) in [
            (" a", ' ', 0),
            ("a b", ' ', 1),
            ("a/b", '/', 1),
            ("é", 'é', 0),
            ("a\"", '"', 1),
        ] {
            let e = UserId::parse(bad).unwrap_err();
            assert_eq!(e.kind(), IdKind::User);
            assert_eq!(
                e.reason(),
                &IdParseReason::InvalidChar { found, index },
                "{bad:?}"
            );
        }
        assert_eq!(
            UserId::parse("").unwrap_err().reason(),
            &IdParseReason::Empty
        );
        assert_eq!(
            UserId::parse(&"u".repeat(321)).unwrap_err().reason(),
            &IdParseReason::TooLong { len: 321, max: 320 }
        );
        assert!("a b".parse::<UserId>().is_err());
    }

    #[test]
    fn parse_errors_echo_only_a_short_sanitized_prefix() {
        let secret = format!("djJ8{}\u{1b}[2J", "Z".repeat(200));
        let e = UserId::parse(&secret).unwrap_err();
        assert_eq!(
            e.input_prefix().chars().count(),
            IdParseError::MAX_ECHO_CHARS + 1
        );
        assert!(e.input_prefix().ends_with('…'));
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains(&"Z".repeat(IdParseError::MAX_ECHO_CHARS)),
            "{shown}"
        );
        assert!(!shown.contains('\u{1b}'));
        let e = EntryId::parse("0_\u{1b}x").unwrap_err();
        assert_eq!(e.input_prefix(), "0_\\u{1b}x");
        assert!(!e.to_string().contains('\u{1b}'));
    }
}
