//! The gateway's [`SessionStore`] and [`PendingLoginStore`] on [`SqlStore`], SQLite and
//! PostgreSQL.
//!
//! Concurrency: a rotation reads the presented token joined with its family `FOR UPDATE` on
//! PostgreSQL, which locks both rows: concurrent rotations of one token (from tasks or
//! processes) take turns, the second sees the token consumed and revokes the family; a
//! revocation updates the family row and so waits for, or is seen by, a rotation. On SQLite
//! every write runs in a `BEGIN IMMEDIATE` transaction behind this process's writer mutex.
//! Taking a pending login is one `DELETE … RETURNING`, so a `state` is used once.
//!
//! Stored: token and state hashes, never the values; PKCE verifiers, for the minutes until
//! the callback (they are useless without the authorization code Discord sends to the
//! browser). Nothing here is logged.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::{BeginWrite, Pool, RowExt, SqlStore, db_err, is_unique_violation, parse_id};
use crate::error::{ConflictReason, Resource};
use crate::gateway::sessions::{
    FamilyId, PendingLogin, PendingLoginStore, RotationCheck, Session, SessionStore, check_rotation,
};
use crate::gateway::{GatewayError, RefreshRefusal, TokenHash};
use crate::ids::{DiscordUserId, RoleId};
use crate::{Error, Result};

impl SqlStore {
    /// This process's SQLite writer lock; `None` on PostgreSQL, whose writers run
    /// concurrently under row locks.
    async fn sessions_write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Some(self.sqlite_writer.lock().await),
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => None,
        }
    }
}

fn roles_text(roles: &[RoleId]) -> String {
    serde_json::Value::Array(
        roles
            .iter()
            .map(|r| serde_json::Value::String(r.to_string()))
            .collect(),
    )
    .to_string()
}

/// The columns of a token joined with its family, as [`session_from_row`] reads them.
macro_rules! token_session_columns {
    () => {
        "t.family_id, t.expires_at AS token_expires_at, t.consumed_at, s.user_id, s.guild_id, s.roles, s.created_at, s.expires_at, s.revoked_at"
    };
}

/// A token row joined with its family: the session, whether the token was consumed and
/// whether the family is revoked.
fn session_from_row(row: &impl RowExt) -> Result<(Session, bool, bool)> {
    const OP: &str = "reading a gateway session";
    const R: Resource = Resource::GatewaySession;
    let family = FamilyId::parse(&row.text("family_id", OP)?)
        .map_err(|_| Error::corrupt(R, "family_id", "is not a session id"))?;
    let raw_roles: Vec<String> = serde_json::from_str(&row.text("roles", OP)?)
        .map_err(|_| Error::corrupt(R, "roles", "is not a JSON list of ids"))?;
    let roles = raw_roles
        .iter()
        .map(|raw| parse_id::<RoleId>(R, "roles", raw))
        .collect::<Result<Vec<_>>>()?;
    let session = Session {
        family,
        user: parse_id(R, "user_id", &row.text("user_id", OP)?)?,
        guild: parse_id(R, "guild_id", &row.text("guild_id", OP)?)?,
        roles,
        created_at: row.int("created_at", OP)?,
        expires_at: row.int("expires_at", OP)?,
        token_expires_at: row.int("token_expires_at", OP)?,
    };
    let consumed = row.opt_int("consumed_at", OP)?.is_some();
    let revoked = row.opt_int("revoked_at", OP)?.is_some();
    Ok((session, consumed, revoked))
}

/// The columns of `gateway_pending_logins`, as [`pending_from_row`] reads them.
macro_rules! pending_columns {
    () => {
        "state_hash, verifier, guild_id, redirect, created_at, expires_at"
    };
}

fn pending_from_row(row: &impl RowExt) -> Result<PendingLogin> {
    const OP: &str = "reading a pending login";
    const R: Resource = Resource::PendingLogin;
    Ok(PendingLogin {
        state: TokenHash::from_stored(&row.text("state_hash", OP)?)
            .ok_or_else(|| Error::corrupt(R, "state_hash", "is not a SHA-256 hex digest"))?,
        verifier: SecretString::from(row.text("verifier", OP)?),
        guild: parse_id(R, "guild_id", &row.text("guild_id", OP)?)?,
        redirect: row.text("redirect", OP)?,
        created_at: row.int("created_at", OP)?,
        expires_at: row.int("expires_at", OP)?,
    })
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, session: &Session, token: &TokenHash) -> Result<()> {
        const OP: &str = "creating a gateway session";
        let _guard = self.sessions_write_guard().await;
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let inserted = sqlx::query(
                "INSERT INTO gateway_sessions (family_id, user_id, guild_id, roles, created_at, expires_at, token_expires_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            )
            .bind(session.family.as_str())
            .bind(session.user.to_string())
            .bind(session.guild.to_string())
            .bind(roles_text(&session.roles))
            .bind(session.created_at)
            .bind(session.expires_at)
            .bind(session.token_expires_at)
            .execute(&mut *tx)
            .await;
            let inserted = match inserted {
                Ok(_) => sqlx::query(
                    "INSERT INTO gateway_refresh_tokens (token_hash, family_id, issued_at, expires_at, consumed_at) \
                     VALUES ($1, $2, $3, $4, NULL)",
                )
                .bind(token.as_str())
                .bind(session.family.as_str())
                .bind(session.created_at)
                .bind(session.token_expires_at)
                .execute(&mut *tx)
                .await,
                Err(e) => Err(e),
            };
            match inserted {
                Err(e) if is_unique_violation(&e) => Err(Error::conflict(
                    Resource::GatewaySession,
                    &session.family,
                    ConflictReason::AlreadyExists,
                )),
                Err(e) => Err(db_err(OP)(e)),
                Ok(_) => tx.commit().await.map_err(db_err(OP)),
            }
        })
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: i64,
        token_ttl: i64,
    ) -> Result<Session> {
        const OP: &str = "rotating a refresh token";
        let _guard = self.sessions_write_guard().await;
        let select = format!(
            concat!(
                "SELECT ",
                token_session_columns!(),
                " FROM gateway_refresh_tokens t JOIN gateway_sessions s ON s.family_id = t.family_id WHERE t.token_hash = $1{}"
            ),
            self.kind().row_lock()
        );
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let row = sqlx::query(&select)
                .bind(presented.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            let Some(row) = row else {
                return Err(GatewayError::refresh(RefreshRefusal::Unknown));
            };
            let (mut session, consumed, revoked) = session_from_row(&row)?;
            match check_rotation(consumed, session.token_expires_at, revoked, session.expires_at, now) {
                RotationCheck::Refuse(reason) => Err(GatewayError::refresh(reason)),
                RotationCheck::RevokeForReuse => {
                    sqlx::query("UPDATE gateway_sessions SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                        .bind(now)
                        .bind(session.family.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(OP))?;
                    tx.commit().await.map_err(db_err(OP))?;
                    Err(GatewayError::refresh(RefreshRefusal::Reused))
                }
                RotationCheck::Rotate => {
                    let expires_at = now.saturating_add(token_ttl).min(session.expires_at);
                    let consumed = sqlx::query("UPDATE gateway_refresh_tokens SET consumed_at = $1 WHERE token_hash = $2 AND consumed_at IS NULL")
                        .bind(now)
                        .bind(presented.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(OP))?
                        .rows_affected();
                    if consumed != 1 {
                        // Cannot happen under the row lock; refuse rather than fork the family.
                        return Err(GatewayError::refresh(RefreshRefusal::Reused));
                    }
                    let inserted = sqlx::query(
                        "INSERT INTO gateway_refresh_tokens (token_hash, family_id, issued_at, expires_at, consumed_at) VALUES ($1, $2, $3, $4, NULL)",
                    )
                    .bind(next.as_str())
                    .bind(session.family.as_str())
                    .bind(now)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Err(e) if is_unique_violation(&e) => {
                            return Err(Error::conflict(
                                Resource::GatewaySession,
                                &session.family,
                                ConflictReason::AlreadyExists,
                            ));
                        }
                        other => {
                            other.map_err(db_err(OP))?;
                        }
                    }
                    sqlx::query("UPDATE gateway_sessions SET token_expires_at = $1 WHERE family_id = $2")
                        .bind(expires_at)
                        .bind(session.family.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err(OP))?;
                    tx.commit().await.map_err(db_err(OP))?;
                    session.token_expires_at = expires_at;
                    Ok(session)
                }
            }
        })
    }

    async fn token_family(&self, token: &TokenHash) -> Result<Option<FamilyId>> {
        let raw: Option<String> = on_pool!(self, p => {
            sqlx::query_scalar("SELECT family_id FROM gateway_refresh_tokens WHERE token_hash = $1")
                .bind(token.as_str())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up a refresh token"))?
        });
        raw.map(|raw| {
            FamilyId::parse(&raw).map_err(|_| {
                Error::corrupt(Resource::GatewaySession, "family_id", "is not a session id")
            })
        })
        .transpose()
    }

    async fn revoke_family(&self, family: &FamilyId, now: i64) -> Result<bool> {
        let _guard = self.sessions_write_guard().await;
        on_pool!(self, p => {
            let changed = sqlx::query("UPDATE gateway_sessions SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(family.as_str())
                .execute(p)
                .await
                .map_err(db_err("revoking a gateway session"))?
                .rows_affected();
            Ok(changed > 0)
        })
    }

    async fn revoke_user(&self, user: DiscordUserId, now: i64) -> Result<u64> {
        let _guard = self.sessions_write_guard().await;
        on_pool!(self, p => {
            Ok(sqlx::query("UPDATE gateway_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(user.to_string())
                .execute(p)
                .await
                .map_err(db_err("revoking a member's gateway sessions"))?
                .rows_affected())
        })
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64> {
        const OP: &str = "purging expired gateway sessions";
        let _guard = self.sessions_write_guard().await;
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let tokens = sqlx::query(
                "DELETE FROM gateway_refresh_tokens WHERE expires_at <= $1 \
                 OR family_id IN (SELECT family_id FROM gateway_sessions WHERE expires_at <= $1)",
            )
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err(OP))?
            .rows_affected();
            let sessions = sqlx::query("DELETE FROM gateway_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?
                .rows_affected();
            tx.commit().await.map_err(db_err(OP))?;
            Ok(tokens.saturating_add(sessions))
        })
    }
}

#[async_trait]
impl PendingLoginStore for SqlStore {
    async fn put_pending_login(&self, login: &PendingLogin) -> Result<()> {
        let _guard = self.sessions_write_guard().await;
        on_pool!(self, p => {
            let result = sqlx::query(concat!(
                "INSERT INTO gateway_pending_logins (", pending_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6)"
            ))
            .bind(login.state.as_str())
            .bind(login.verifier.expose_secret())
            .bind(login.guild.to_string())
            .bind(&login.redirect)
            .bind(login.created_at)
            .bind(login.expires_at)
            .execute(p)
            .await;
            match result {
                Err(e) if is_unique_violation(&e) => Err(Error::conflict(
                    Resource::PendingLogin,
                    login.guild,
                    ConflictReason::AlreadyExists,
                )),
                other => other.map(|_| ()).map_err(db_err("recording a pending login")),
            }
        })
    }

    async fn take_pending_login(&self, state: &TokenHash) -> Result<Option<PendingLogin>> {
        let _guard = self.sessions_write_guard().await;
        on_pool!(self, p => {
            sqlx::query(concat!(
                "DELETE FROM gateway_pending_logins WHERE state_hash = $1 RETURNING ", pending_columns!()
            ))
            .bind(state.as_str())
            .fetch_optional(p)
            .await
            .map_err(db_err("taking a pending login"))?
            .as_ref()
            .map(pending_from_row)
            .transpose()
        })
    }

    async fn purge_pending_logins(&self, now: i64) -> Result<u64> {
        let _guard = self.sessions_write_guard().await;
        on_pool!(self, p => {
            Ok(sqlx::query("DELETE FROM gateway_pending_logins WHERE expires_at <= $1")
                .bind(now)
                .execute(p)
                .await
                .map_err(db_err("purging pending logins"))?
                .rows_affected())
        })
    }
}
