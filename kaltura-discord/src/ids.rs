//! Discord identifiers (snowflakes).
//!
//! Discord sends every id as a decimal string. These newtypes parse such strings strictly —
//! only ASCII digits, no sign, no whitespace, at most 20 digits, not zero — so a hostile value
//! such as `../../etc` or `123; DROP TABLE` is rejected with a clear error before it can reach
//! a file path, a database key or a Kaltura id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Discord id that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} id {shown:?} is not a Discord snowflake: {reason}")]
pub struct InvalidSnowflake {
    kind: &'static str,
    shown: String,
    reason: &'static str,
}

impl InvalidSnowflake {
    /// Which kind of id was expected (`guild`, `user`, `role`, `channel`).
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

fn parse_snowflake(kind: &'static str, raw: &str) -> Result<u64, InvalidSnowflake> {
    let err = |reason| InvalidSnowflake {
        kind,
        // Cap what is echoed back so an oversized value does not flood logs.
        shown: raw.chars().take(40).collect(),
        reason,
    };
    if raw.is_empty() {
        return Err(err("it is empty"));
    }
    if raw.len() > 20 {
        return Err(err("it is longer than 20 digits"));
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("it must contain only the digits 0-9"));
    }
    match raw.parse::<u64>() {
        Ok(0) => Err(err("zero is not a valid id")),
        Ok(v) => Ok(v),
        Err(_) => Err(err("it does not fit in 64 bits")),
    }
}

macro_rules! snowflake {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            /// Wraps a raw id; `None` for zero, which Discord never uses.
            pub const fn new(id: u64) -> Option<Self> {
                if id == 0 { None } else { Some(Self(id)) }
            }

            /// The raw id.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidSnowflake;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_snowflake($kind, s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description": concat!("A Discord ", $kind, " id (snowflake) as a decimal string."),
                    "type": "string",
                    "pattern": "^[1-9][0-9]{0,19}$"
                })
            }
        }

        /// Serialized as a decimal string, as Discord does.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        /// Accepts a decimal string (Discord's form) or a JSON number.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                match serde_json::Value::deserialize(d)? {
                    serde_json::Value::String(s) => s.parse().map_err(D::Error::custom),
                    serde_json::Value::Number(n) => n
                        .as_u64()
                        .and_then(Self::new)
                        .ok_or_else(|| D::Error::custom(format!("{} id {n} is not a Discord snowflake", $kind))),
                    other => Err(D::Error::custom(format!(
                        "{} id must be a string of digits, got {other}",
                        $kind
                    ))),
                }
            }
        }
    };
}

snowflake!(
    /// A Discord server (guild) id.
    GuildId,
    "guild"
);
snowflake!(
    /// A Discord user id.
    DiscordUserId,
    "user"
);
snowflake!(
    /// A Discord role id. The `@everyone` role has the guild's id.
    RoleId,
    "role"
);
snowflake!(
    /// A Discord channel id.
    ChannelId,
    "channel"
);
snowflake!(
    /// A Discord application (bot) id.
    ApplicationId,
    "application"
);
snowflake!(
    /// A Discord interaction id (one slash command, click or modal submit).
    InteractionId,
    "interaction"
);
snowflake!(
    /// A Discord message id.
    MessageId,
    "message"
);
snowflake!(
    /// A Discord guild scheduled event id.
    ScheduledEventId,
    "scheduled event"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_snowflakes() {
        let g: GuildId = "613425648685547541".parse().unwrap();
        assert_eq!(g.get(), 613_425_648_685_547_541);
        assert_eq!(g.to_string(), "613425648685547541");
    }

    #[test]
    fn rejects_hostile_and_malformed_ids() {
        for bad in [
            "",
            "../../etc",
            "12a",
            "-5",
            " 12",
            "12 ",
            "0",
            "1e5",
            "99999999999999999999999",
            "18446744073709551616",
            "１２",
        ] {
            let err = bad.parse::<GuildId>().unwrap_err();
            assert_eq!(err.kind(), "guild");
            assert!(
                err.to_string().contains("is not a Discord snowflake"),
                "{err}"
            );
        }
    }

    #[test]
    fn error_echo_is_capped() {
        let huge = "9".repeat(10_000);
        let err = huge.parse::<RoleId>().unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn serde_uses_strings_and_accepts_numbers() {
        let u: DiscordUserId = serde_json::from_str("\"80351110224678912\"").unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"80351110224678912\"");
        let n: DiscordUserId = serde_json::from_str("42").unwrap();
        assert_eq!(n.get(), 42);
        assert!(serde_json::from_str::<ChannelId>("\"../x\"").is_err());
        assert!(serde_json::from_str::<ChannelId>("0").is_err());
        assert!(serde_json::from_str::<ChannelId>("true").is_err());
    }
}
