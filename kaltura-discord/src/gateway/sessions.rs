//! Gateway sessions: rotating refresh tokens stored as hashes, and pending logins.
//!
//! A session is a *family* of refresh tokens for one member in one guild. [`Sessions::issue`]
//! starts a family and returns its first token once; the store keeps only the token's
//! SHA-256 hash ([`TokenHash`]). [`Sessions::rotate`] consumes the presented token and
//! returns its successor. Presenting a consumed token again is how a stolen token shows
//! itself (either the thief or the member used it first): the whole family is revoked and the
//! refresh refused with [`RefreshRefusal::Reused`]. Two concurrent refreshes with one token
//! look exactly like that, so exactly one of them wins and the family is then revoked.
//!
//! Lifetimes ([`SessionPolicy`]): each token lives `token_ttl` (sliding: every rotation
//! issues a fresh one), and the family ends `max_lifetime` after the login whatever happens;
//! the member then signs in again. Logout revokes one family, [`Sessions::revoke_user`] every
//! family of a member; [`Sessions::purge`] deletes what has expired.
//!
//! Storage is the [`SessionStore`] trait (and [`PendingLoginStore`] for logins waiting for
//! Discord's callback), implemented by [`crate::store::MemoryStore`] and `SqlStore`; a host
//! can bring its own. Stores see hashes only, never a token. On PostgreSQL a rotation locks
//! the token's row and its family's row, so concurrent rotations (tasks or processes) and a
//! concurrent revocation serialize; on SQLite every write holds the database's write lock.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kaltura_discord::Result<()> {
//! use std::sync::Arc;
//! use kaltura_discord::gateway::sessions::Sessions;
//! use kaltura_discord::store::MemoryStore;
//! use kaltura_discord::{DiscordUserId, GuildId};
//!
//! let sessions = Sessions::new(Arc::new(MemoryStore::new()));
//! let (Some(user), Some(guild)) = (DiscordUserId::new(7), GuildId::new(1)) else {
//!     unreachable!()
//! };
//! let first = sessions.issue(user, guild, vec![]).await?;
//! let second = sessions.rotate(first.token.expose()).await?;
//! assert_eq!(second.session.family, first.session.family);
//! // The first token was consumed: using it again revokes the family.
//! assert!(sessions.rotate(first.token.expose()).await.is_err());
//! assert!(sessions.rotate(second.token.expose()).await.is_err());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kaltura_client::clock::{Clock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{GatewayError, RefreshRefusal, TokenHash, is_token_shaped, random_token};
use crate::Result;
use crate::ids::{DiscordUserId, GuildId, RoleId};

/// The id of a session (a family of refresh tokens). Not a secret: it may go into the
/// gateway's JWTs (as a session id) so that logout can name the family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FamilyId(String);

impl FamilyId {
    /// A fresh random id (32 lowercase hex digits).
    pub fn random() -> Self {
        FamilyId(super::random_hex_id())
    }

    /// Parses an id: 32 lowercase hex digits.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidInput`] for anything else.
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(FamilyId(raw.to_owned()))
        } else {
            Err(crate::Error::invalid_input(
                "session",
                "a session id is 32 lowercase hexadecimal digits",
            ))
        }
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FamilyId {
    type Error = crate::Error;
    fn try_from(raw: String) -> Result<Self> {
        FamilyId::parse(&raw)
    }
}

impl From<FamilyId> for String {
    fn from(id: FamilyId) -> String {
        id.0
    }
}

/// A refresh token as handed to the client: shown once, never stored, never in `Debug`.
#[derive(Clone)]
pub struct RefreshToken(SecretString);

impl RefreshToken {
    /// The token's text, to send to the client.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The hash the stores keep.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([REDACTED])")
    }
}

/// A session (a family of refresh tokens) as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The family.
    pub family: FamilyId,
    /// The member.
    pub user: DiscordUserId,
    /// The guild they signed in for.
    pub guild: GuildId,
    /// Their role ids in that guild at login (re-checked against the policy on every use).
    pub roles: Vec<RoleId>,
    /// When the member signed in (unix seconds).
    pub created_at: i64,
    /// When the family ends, whatever the rotations (unix seconds).
    pub expires_at: i64,
    /// When the current refresh token expires (unix seconds; never after `expires_at`).
    pub token_expires_at: i64,
}

/// A session with its current refresh token, returned by [`Sessions::issue`] and
/// [`Sessions::rotate`]. The token is shown here once.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The token to hand to the client.
    pub token: RefreshToken,
    /// The session.
    pub session: Session,
}

/// How long refresh tokens and sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// How long one refresh token stays usable (each rotation issues a fresh one).
    pub token_ttl: Duration,
    /// How long a session lasts after the login, however often it is refreshed.
    pub max_lifetime: Duration,
}

impl Default for SessionPolicy {
    /// Tokens for 14 days, sessions for 30.
    fn default() -> Self {
        SessionPolicy {
            token_ttl: Duration::from_secs(14 * 24 * 3600),
            max_lifetime: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Refresh-token storage. Every method sees hashes only.
///
/// Implementations must make [`SessionStore::rotate_refresh_token`] atomic: of concurrent
/// rotations of one token exactly one succeeds, and a revocation that completes before a
/// rotation is never undone by it.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Records a new session with its first refresh token (`token`, expiring at
    /// `session.token_expires_at`).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Conflict`] when the family or the token hash exists already;
    /// [`crate::Error::Store`] when the storage fails.
    async fn create_session(&self, session: &Session, token: &TokenHash) -> Result<()>;

    /// Consumes the refresh token `presented` and records `next` in its family, expiring at
    /// `now + token_ttl` (or the family's end, if sooner). Returns the session with the new
    /// token's expiry.
    ///
    /// If `presented` was consumed before, the family is revoked (at `now`) and the call
    /// fails with [`RefreshRefusal::Reused`].
    ///
    /// # Errors
    ///
    /// [`crate::Error::Gateway`] with [`GatewayError::RefreshRefused`]: unknown, expired,
    /// revoked or reused tokens; [`crate::Error::Store`] when the storage fails;
    /// [`crate::Error::Corrupt`] when the stored session cannot be read back.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: i64,
        token_ttl: i64,
    ) -> Result<Session>;

    /// The family of a token (consumed or not, expired or not), if the store knows it.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when the
    /// stored family id cannot be read back.
    async fn token_family(&self, token: &TokenHash) -> Result<Option<FamilyId>>;

    /// Revokes a family at `now`: none of its tokens refreshes any more. `false` when it is
    /// unknown or was revoked already.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn revoke_family(&self, family: &FamilyId, now: i64) -> Result<bool>;

    /// Revokes every family of a member (in every guild) at `now`; returns how many were
    /// revoked by this call.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn revoke_user(&self, user: DiscordUserId, now: i64) -> Result<u64>;

    /// Deletes sessions that ended at or before `now` (with their tokens) and tokens that
    /// expired at or before `now`; returns how many rows (sessions plus tokens) went.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn purge_sessions(&self, now: i64) -> Result<u64>;
}

/// A login waiting for Discord's callback: the hash of its `state`, the PKCE verifier, the
/// guild and where to return afterwards.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    /// The hash of the `state` sent to Discord (the state itself is never stored).
    pub state: TokenHash,
    /// The PKCE `code_verifier` (a secret, needed for the token exchange; stored for the
    /// few minutes until the callback, then deleted).
    pub verifier: SecretString,
    /// The guild the login is for.
    pub guild: GuildId,
    /// Where the gateway sends the browser after the login (a local path).
    pub redirect: String,
    /// When the login started (unix seconds).
    pub created_at: i64,
    /// When the `state` stops being accepted (unix seconds).
    pub expires_at: i64,
}

/// Storage of [`PendingLogin`]s. `state` values are one-use: taking a login deletes it.
#[async_trait]
pub trait PendingLoginStore: Send + Sync {
    /// Records a pending login.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Conflict`] when its state hash exists already; [`crate::Error::Store`]
    /// when the storage fails.
    async fn put_pending_login(&self, login: &PendingLogin) -> Result<()>;

    /// Deletes the pending login with this state hash and returns it (expired or not; the
    /// caller checks). Atomic: of concurrent calls with one state, one gets the login.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails; [`crate::Error::Corrupt`] when the
    /// stored login cannot be read back.
    async fn take_pending_login(&self, state: &TokenHash) -> Result<Option<PendingLogin>>;

    /// Deletes pending logins that expired at or before `now`; returns how many.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Store`] when the storage fails.
    async fn purge_pending_logins(&self, now: i64) -> Result<u64>;
}

/// What a store does with a presented refresh token; the one rule every store applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RotationCheck {
    /// Consume it and record the successor.
    Rotate,
    /// Revoke its family and refuse with [`RefreshRefusal::Reused`].
    RevokeForReuse,
    /// Refuse, changing nothing.
    Refuse(RefreshRefusal),
}

/// Decides a rotation from the stored token and family: a revoked family refuses everything,
/// a consumed token is reuse, an expired token or family is expired.
pub(crate) fn check_rotation(
    consumed: bool,
    token_expires_at: i64,
    family_revoked: bool,
    family_expires_at: i64,
    now: i64,
) -> RotationCheck {
    if family_revoked {
        RotationCheck::Refuse(RefreshRefusal::Revoked)
    } else if consumed {
        RotationCheck::RevokeForReuse
    } else if token_expires_at <= now || family_expires_at <= now {
        RotationCheck::Refuse(RefreshRefusal::Expired)
    } else {
        RotationCheck::Rotate
    }
}

/// Issues, rotates and revokes refresh tokens on a [`SessionStore`].
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    policy: SessionPolicy,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions on `store` with the default [`SessionPolicy`] and the system clock.
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        Sessions {
            store,
            clock: Arc::new(SystemClock),
            policy: SessionPolicy::default(),
        }
    }

    /// Uses `policy` for new tokens and sessions.
    pub fn with_policy(mut self, policy: SessionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses `clock` for issue times and expiry.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The policy in use.
    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// Starts a session for a member who just signed in, and returns its first refresh token.
    ///
    /// # Errors
    ///
    /// The errors of [`SessionStore::create_session`].
    pub async fn issue(
        &self,
        user: DiscordUserId,
        guild: GuildId,
        roles: Vec<RoleId>,
    ) -> Result<IssuedSession> {
        let now = self.clock.now_unix();
        let expires_at = now.saturating_add(secs(self.policy.max_lifetime));
        let session = Session {
            family: FamilyId::random(),
            user,
            guild,
            roles,
            created_at: now,
            expires_at,
            token_expires_at: now
                .saturating_add(secs(self.policy.token_ttl))
                .min(expires_at),
        };
        let token = RefreshToken(SecretString::from(random_token()));
        self.store.create_session(&session, &token.hash()).await?;
        tracing::debug!(family = %session.family, user = %user, guild = %guild, "gateway session issued");
        Ok(IssuedSession { token, session })
    }

    /// Exchanges a refresh token for its successor (the presented one is consumed).
    ///
    /// # Errors
    ///
    /// [`GatewayError::RefreshRefused`] (inside [`crate::Error::Gateway`]) for a malformed,
    /// unknown, expired, revoked or reused token (reuse revokes the family); the errors of
    /// [`SessionStore::rotate_refresh_token`].
    pub async fn rotate(&self, presented: &str) -> Result<IssuedSession> {
        if !is_token_shaped(presented) {
            return Err(GatewayError::refresh(RefreshRefusal::Unknown));
        }
        let next = RefreshToken(SecretString::from(random_token()));
        let now = self.clock.now_unix();
        let result = self
            .store
            .rotate_refresh_token(
                &TokenHash::of(presented),
                &next.hash(),
                now,
                secs(self.policy.token_ttl),
            )
            .await;
        match result {
            Ok(session) => {
                tracing::debug!(family = %session.family, "gateway refresh token rotated");
                Ok(IssuedSession {
                    token: next,
                    session,
                })
            }
            Err(e) => {
                if let crate::Error::Gateway(GatewayError::RefreshRefused {
                    reason: RefreshRefusal::Reused,
                }) = &e
                {
                    tracing::warn!(
                        "a consumed refresh token was presented again; its session was revoked"
                    );
                }
                Err(e)
            }
        }
    }

    /// Signs out: revokes the family of `presented` (consumed or not). `false` when the
    /// token is unknown or its family was revoked already.
    ///
    /// # Errors
    ///
    /// The errors of [`SessionStore::token_family`] and [`SessionStore::revoke_family`].
    pub async fn logout(&self, presented: &str) -> Result<bool> {
        if !is_token_shaped(presented) {
            return Ok(false);
        }
        match self.store.token_family(&TokenHash::of(presented)).await? {
            Some(family) => self.revoke_family(&family).await,
            None => Ok(false),
        }
    }

    /// Revokes one session.
    ///
    /// # Errors
    ///
    /// The errors of [`SessionStore::revoke_family`].
    pub async fn revoke_family(&self, family: &FamilyId) -> Result<bool> {
        self.store
            .revoke_family(family, self.clock.now_unix())
            .await
    }

    /// Revokes every session of a member.
    ///
    /// # Errors
    ///
    /// The errors of [`SessionStore::revoke_user`].
    pub async fn revoke_user(&self, user: DiscordUserId) -> Result<u64> {
        self.store.revoke_user(user, self.clock.now_unix()).await
    }

    /// Deletes expired sessions and tokens.
    ///
    /// # Errors
    ///
    /// The errors of [`SessionStore::purge_sessions`].
    pub async fn purge(&self) -> Result<u64> {
        self.store.purge_sessions(self.clock.now_unix()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_ids_are_hex_and_parse() {
        let id = FamilyId::random();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(FamilyId::parse(id.as_str()).ok(), Some(id.clone()));
        assert!(FamilyId::parse("../../etc").is_err());
        assert!(FamilyId::parse(&id.as_str().to_uppercase()).is_err());
        assert_ne!(FamilyId::random(), id);
    }

    #[test]
    fn tokens_are_redacted_in_debug() {
        let token = RefreshToken(SecretString::from(random_token()));
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.expose()), "{shown}");
        assert_eq!(token.hash(), TokenHash::of(token.expose()));
    }
}
