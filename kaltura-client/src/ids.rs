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
    EntryId
);
string_id!(
    /// A Kaltura user id (`KalturaUser.id`, the partner's own stable id such as `discord_42`).
    UserId
);
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
}
