//! Groundwork for the API gateway: Discord OAuth2 login and refresh-token sessions.
//!
//! Two pieces the gateway's router stands on, as library code without HTTP endpoints:
//!
//! * `oauth` (feature `gateway`): a Discord OAuth2 client for the authorization-code grant
//!   with PKCE (`S256`) and a one-use `state`. `begin` builds the authorize URL and records
//!   the pending login; `finish` exchanges the code at Discord's token endpoint and reads the
//!   user, their guilds and their roles in the requested guild into a typed `DiscordLogin`.
//! * [`sessions`]: refresh tokens that are returned once, stored only as SHA-256 hashes,
//!   rotated on every use, with reuse of a consumed token revoking its whole family (token
//!   theft detection), revocation on logout or for a user, and purging of expired rows. The
//!   storage is the [`sessions::SessionStore`] and [`sessions::PendingLoginStore`] traits,
//!   implemented by [`crate::store::MemoryStore`] and `SqlStore` (SQLite and PostgreSQL).
//!
//! Secrets (the client secret, PKCE verifiers, Discord's access tokens, our refresh tokens)
//! are `secrecy` types: they never appear in `Debug` output, errors or logs. `state` values
//! and refresh tokens are stored as hashes only, so a database dump lets nobody finish a
//! login or refresh a session.

use std::fmt;

use kaltura_client::ks::{OsRandom, RandomSource as _};
use sha2::{Digest as _, Sha256};

#[cfg(feature = "gateway")]
pub mod oauth;
pub mod sessions;

use crate::ErrorKind;
use crate::ids::GuildId;

/// Why a gateway login or refresh was refused, or Discord failed during a login
/// ([`crate::Error::Gateway`]).
///
/// No variant carries a token, a code, a `state` or a secret: errors can be logged as they
/// are. Text that comes from Discord (an OAuth2 `error_description`) is cut to
/// [`MAX_DISCORD_TEXT`] characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The `state` of a login callback is unknown, was already used, or expired: the login
    /// must start again.
    #[error("the login's state is {reason}; start the login again")]
    InvalidState {
        /// Which of the three, as far as the store can tell.
        reason: StateRefusal,
    },

    /// Discord's token endpoint refused the exchange with an OAuth2 error (`invalid_grant`
    /// for a code that is wrong, expired or already used; `invalid_client` for a wrong
    /// client id or secret…).
    #[error("Discord refused the login: {error}{}", description_suffix(.description.as_deref()))]
    DiscordRefused {
        /// The OAuth2 `error` code, e.g. `invalid_grant`.
        error: String,
        /// Discord's `error_description`, if any (cut to [`MAX_DISCORD_TEXT`] characters).
        description: Option<String>,
    },

    /// Discord could not be reached, timed out, or answered with a server error or a rate
    /// limit; retrying later may work.
    #[error("Discord is unavailable during {step}: {reason}")]
    DiscordUnavailable {
        /// The call, e.g. `the token exchange`.
        step: &'static str,
        /// What happened (a network error, `status 503`, `rate limited`).
        reason: String,
    },

    /// Discord answered with an unexpected HTTP status.
    #[error("Discord answered {step} with HTTP status {status}")]
    DiscordStatus {
        /// The call, e.g. `reading the user`.
        step: &'static str,
        /// The status code.
        status: u16,
    },

    /// Discord's answer could not be read (not JSON, missing fields, bad ids).
    #[error("Discord's answer to {step} is malformed: {reason}")]
    Malformed {
        /// The call, e.g. `reading the user's guilds`.
        step: &'static str,
        /// What was wrong (never the answer's text).
        reason: String,
    },

    /// The user signed in but is not a member of the guild the login is for.
    #[error("you are not a member of server {guild}; join it and sign in again")]
    NotAMember {
        /// The guild the login was for.
        guild: GuildId,
    },

    /// A refresh token was refused.
    #[error("{reason}; sign in again")]
    RefreshRefused {
        /// Why.
        reason: RefreshRefusal,
    },
}

/// The most characters of Discord-supplied text kept in a [`GatewayError`].
pub const MAX_DISCORD_TEXT: usize = 200;

fn description_suffix(description: Option<&str>) -> String {
    description.map(|d| format!(" ({d})")).unwrap_or_default()
}

/// Why a login `state` was refused ([`GatewayError::InvalidState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateRefusal {
    /// No pending login has this state: it was never issued, or it was already used (a
    /// used state is deleted, so the two cannot be told apart), or purged.
    UnknownOrUsed,
    /// The pending login expired (it is deleted now).
    Expired,
    /// The value is not a state this library issues (wrong length or characters).
    Malformed,
}

impl fmt::Display for StateRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateRefusal::UnknownOrUsed => "unknown or already used",
            StateRefusal::Expired => "expired",
            StateRefusal::Malformed => "malformed",
        })
    }
}

/// Why a refresh token was refused ([`GatewayError::RefreshRefused`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshRefusal {
    /// No session has this token (never issued, malformed, or purged).
    Unknown,
    /// The token or its session expired.
    Expired,
    /// The session was revoked (logout, revocation for the user, or detected reuse).
    Revoked,
    /// The token was already used once: its whole family is revoked now, as the token may
    /// have been stolen. Two concurrent refreshes with one token look the same.
    Reused,
}

impl fmt::Display for RefreshRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefreshRefusal::Unknown => "the refresh token is unknown",
            RefreshRefusal::Expired => "the refresh token has expired",
            RefreshRefusal::Revoked => "the session was signed out or revoked",
            RefreshRefusal::Reused => {
                "the refresh token was already used, so every session of this login was revoked"
            }
        })
    }
}

impl GatewayError {
    /// The error's [`ErrorKind`]: refused logins and tokens are
    /// [`ErrorKind::Unauthenticated`], a wrong client id or secret is
    /// [`ErrorKind::Misconfigured`], an unreachable Discord [`ErrorKind::Unavailable`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            GatewayError::InvalidState { .. } | GatewayError::RefreshRefused { .. } => {
                ErrorKind::Unauthenticated
            }
            GatewayError::DiscordRefused { error, .. } => match error.as_str() {
                "invalid_client" | "unauthorized_client" | "invalid_scope" => {
                    ErrorKind::Misconfigured
                }
                "invalid_grant" | "access_denied" | "invalid_request" => ErrorKind::Unauthenticated,
                _ => ErrorKind::Upstream,
            },
            GatewayError::DiscordUnavailable { .. } => ErrorKind::Unavailable,
            GatewayError::DiscordStatus { .. } | GatewayError::Malformed { .. } => {
                ErrorKind::Upstream
            }
            GatewayError::NotAMember { .. } => ErrorKind::Denied,
        }
    }

    pub(crate) fn refresh(reason: RefreshRefusal) -> crate::Error {
        crate::Error::Gateway(GatewayError::RefreshRefused { reason })
    }
}

/// Discord-supplied text cut to [`MAX_DISCORD_TEXT`] characters, control characters
/// dropped.
#[cfg_attr(not(feature = "gateway"), allow(dead_code))]
pub(crate) fn bounded_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_DISCORD_TEXT)
        .collect()
}

/// Length in bytes of the random values this module issues (state, PKCE verifier, refresh
/// tokens): 256 bits.
const RANDOM_BYTES: usize = 32;

/// A fresh random value from the operating system's CSPRNG (`kaltura_client::ks::OsRandom`),
/// as unpadded base64url: 43 characters of `A-Z a-z 0-9 - _`.
pub(crate) fn random_token() -> String {
    use base64::Engine as _;
    let mut buf = [0_u8; RANDOM_BYTES];
    OsRandom.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// 128 random bits as 32 lowercase hex digits (ids that are not secrets).
pub(crate) fn random_hex_id() -> String {
    crate::text::random_hex(16)
}

/// Whether `value` looks like a [`random_token`] (so hostile input is refused before any
/// hashing or lookup).
pub(crate) fn is_token_shaped(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The SHA-256 hash of a secret random value (a login `state` or a refresh token), as
/// lowercase hex: what the stores keep instead of the value.
///
/// The values hashed are 256-bit random strings, so a plain hash is enough: nobody can find
/// the value from its hash, and equal values hash equal for lookups.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a secret value.
    pub fn of(secret: &str) -> Self {
        TokenHash(crate::text::hex_lower(&Sha256::digest(secret.as_bytes())))
    }

    /// Rebuilds a hash read back from storage; `None` unless it is 64 lowercase hex digits.
    pub fn from_stored(hex: &str) -> Option<Self> {
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| TokenHash(hex.to_owned()))
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell hashes apart in test output.
        write!(f, "TokenHash({}…)", self.0.get(..8).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_url_safe_unique_and_token_shaped() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert!(is_token_shaped(&a), "{a}");
        assert!(!is_token_shaped(&format!("{a}x")));
        assert!(!is_token_shaped(&a.replace(|_| true, "/")));
        assert!(!is_token_shaped(""));
    }

    #[test]
    fn hashes_are_sha256_hex_and_roundtrip() {
        // SHA-256("abc"), from FIPS 180-2.
        let h = TokenHash::of("abc");
        assert_eq!(
            h.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenHash::from_stored(h.as_str()), Some(h.clone()));
        assert_eq!(TokenHash::from_stored("BA78"), None);
        assert_eq!(format!("{h:?}"), "TokenHash(ba7816bf…)");
    }

    #[test]
    fn kinds_and_messages() {
        let refused = GatewayError::DiscordRefused {
            error: "invalid_grant".into(),
            description: Some("Invalid \"code\" in request.".into()),
        };
        assert_eq!(refused.kind(), ErrorKind::Unauthenticated);
        assert_eq!(
            refused.to_string(),
            "Discord refused the login: invalid_grant (Invalid \"code\" in request.)"
        );
        let client = GatewayError::DiscordRefused {
            error: "invalid_client".into(),
            description: None,
        };
        assert_eq!(client.kind(), ErrorKind::Misconfigured);
        let reused = GatewayError::RefreshRefused {
            reason: RefreshRefusal::Reused,
        };
        assert_eq!(reused.kind().http_status(), 401);
        assert!(reused.to_string().contains("revoked"), "{reused}");
        assert_eq!(bounded_text(&"a\u{7}".repeat(500)).len(), MAX_DISCORD_TEXT);
    }
}
