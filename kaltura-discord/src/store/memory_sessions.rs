//! The gateway's [`SessionStore`] and [`PendingLoginStore`] on [`MemoryStore`]: the same
//! rules as the SQL store (hashes only, one-use states, reuse revokes the family), every
//! call atomic under one lock.

use std::collections::HashMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::{ConflictReason, Resource};
use crate::gateway::sessions::{
    FamilyId, PendingLogin, PendingLoginStore, RotationCheck, Session, SessionStore, check_rotation,
};
use crate::gateway::{GatewayError, RefreshRefusal, TokenHash};
use crate::ids::DiscordUserId;
use crate::{Error, Result};

struct TokenRow {
    family: FamilyId,
    expires_at: i64,
    consumed: bool,
}

struct FamilyRow {
    session: Session,
    revoked_at: Option<i64>,
}

/// The gateway tables of a [`MemoryStore`].
#[derive(Default)]
pub(super) struct SessionState {
    families: HashMap<FamilyId, FamilyRow>,
    tokens: HashMap<TokenHash, TokenRow>,
    pending: HashMap<TokenHash, PendingLogin>,
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session, token: &TokenHash) -> Result<()> {
        let mut state = self.sessions.lock().await;
        if state.families.contains_key(&session.family) || state.tokens.contains_key(token) {
            return Err(Error::conflict(
                Resource::GatewaySession,
                &session.family,
                ConflictReason::AlreadyExists,
            ));
        }
        state.families.insert(
            session.family.clone(),
            FamilyRow {
                session: session.clone(),
                revoked_at: None,
            },
        );
        state.tokens.insert(
            token.clone(),
            TokenRow {
                family: session.family.clone(),
                expires_at: session.token_expires_at,
                consumed: false,
            },
        );
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: i64,
        token_ttl: i64,
    ) -> Result<Session> {
        let mut guard = self.sessions.lock().await;
        let state = &mut *guard;
        if state.tokens.contains_key(next) {
            return Err(Error::conflict(
                Resource::GatewaySession,
                "(new refresh token)",
                ConflictReason::AlreadyExists,
            ));
        }
        let Some(token) = state.tokens.get_mut(presented) else {
            return Err(GatewayError::refresh(RefreshRefusal::Unknown));
        };
        let Some(family) = state.families.get_mut(&token.family) else {
            return Err(GatewayError::refresh(RefreshRefusal::Unknown));
        };
        match check_rotation(
            token.consumed,
            token.expires_at,
            family.revoked_at.is_some(),
            family.session.expires_at,
            now,
        ) {
            RotationCheck::Refuse(reason) => Err(GatewayError::refresh(reason)),
            RotationCheck::RevokeForReuse => {
                family.revoked_at = Some(now);
                Err(GatewayError::refresh(RefreshRefusal::Reused))
            }
            RotationCheck::Rotate => {
                token.consumed = true;
                let expires_at = now.saturating_add(token_ttl).min(family.session.expires_at);
                family.session.token_expires_at = expires_at;
                let session = family.session.clone();
                state.tokens.insert(
                    next.clone(),
                    TokenRow {
                        family: session.family.clone(),
                        expires_at,
                        consumed: false,
                    },
                );
                Ok(session)
            }
        }
    }

    async fn token_family(&self, token: &TokenHash) -> Result<Option<FamilyId>> {
        let state = self.sessions.lock().await;
        Ok(state.tokens.get(token).map(|t| t.family.clone()))
    }

    async fn revoke_family(&self, family: &FamilyId, now: i64) -> Result<bool> {
        let mut state = self.sessions.lock().await;
        Ok(match state.families.get_mut(family) {
            Some(row) if row.revoked_at.is_none() => {
                row.revoked_at = Some(now);
                true
            }
            _ => false,
        })
    }

    async fn revoke_user(&self, user: DiscordUserId, now: i64) -> Result<u64> {
        let mut state = self.sessions.lock().await;
        let mut revoked = 0;
        for row in state.families.values_mut() {
            if row.session.user == user && row.revoked_at.is_none() {
                row.revoked_at = Some(now);
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64> {
        let mut guard = self.sessions.lock().await;
        let state = &mut *guard;
        let before = state.families.len() + state.tokens.len();
        state.families.retain(|_, row| row.session.expires_at > now);
        let families = &state.families;
        state
            .tokens
            .retain(|_, t| t.expires_at > now && families.contains_key(&t.family));
        let after = state.families.len() + state.tokens.len();
        Ok(u64::try_from(before.saturating_sub(after)).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl PendingLoginStore for MemoryStore {
    async fn put_pending_login(&self, login: &PendingLogin) -> Result<()> {
        let mut state = self.sessions.lock().await;
        if state.pending.contains_key(&login.state) {
            return Err(Error::conflict(
                Resource::PendingLogin,
                login.guild,
                ConflictReason::AlreadyExists,
            ));
        }
        state.pending.insert(login.state.clone(), login.clone());
        Ok(())
    }

    async fn take_pending_login(&self, state: &TokenHash) -> Result<Option<PendingLogin>> {
        Ok(self.sessions.lock().await.pending.remove(state))
    }

    async fn purge_pending_logins(&self, now: i64) -> Result<u64> {
        let mut state = self.sessions.lock().await;
        let before = state.pending.len();
        state.pending.retain(|_, p| p.expires_at > now);
        Ok(u64::try_from(before.saturating_sub(state.pending.len())).unwrap_or(u64::MAX))
    }
}
