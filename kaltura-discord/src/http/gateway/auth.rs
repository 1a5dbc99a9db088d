//! The bearer-token extractors: [`Caller`] (a verified token) and `GuildCall` (a verified
//! token for the guild in the path, with the guild's current configuration).
//!
//! `Authorization: Bearer <JWT>` is verified with the gateway's
//! [`JwtAuthority`](crate::auth::JwtAuthority) (HS256 pinned, `kid` required, expiry
//! checked). A missing, malformed, expired, tampered or `alg: none` token is `401` with
//! `WWW-Authenticate: Bearer`; a valid token counts against the per-token rate limit.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::{GatewayState, Partner};
use crate::config::{GuildConfig, ResolvedGuildConfig};
use crate::context::GuildContext;
use crate::ids::{DiscordUserId, GuildId, RoleId};
use crate::rbac::{Permission, Subject, authorize};

/// The member a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The member.
    pub user: DiscordUserId,
    /// The one guild the token is for.
    pub guild: GuildId,
    /// The member's role ids in that guild, as resolved at login.
    pub roles: Vec<RoleId>,
}

impl Caller {
    /// The member as an RBAC subject (roles from the token; no Discord permission bits).
    pub fn subject(&self) -> Subject {
        Subject::new(self.user).with_roles(self.roles.iter().copied())
    }
}

/// A stable, non-reversible key of a token for the per-token rate limit.
fn token_key(token: &str) -> u64 {
    let digest = Sha256::digest(token.as_bytes());
    let mut first = [0u8; 8];
    for (slot, byte) in first.iter_mut().zip(digest.iter()) {
        *slot = *byte;
    }
    u64::from_be_bytes(first)
}

impl FromRequestParts<GatewayState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (Some(v), None) => v,
            (None, _) => {
                return Err(ApiError::unauthenticated(
                    "send `Authorization: Bearer <token>`",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::unauthenticated(
                    "send exactly one Authorization header",
                ));
            }
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthenticated("the Authorization header is malformed"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::unauthenticated(
                    "the Authorization header must use the Bearer scheme",
                ));
            }
        };
        let claims = state
            .shared
            .authority
            .verify(token)
            .map_err(|e| ApiError::unauthenticated(format!("the token was refused: {e}")))?;
        let subject = claims
            .subject()
            .map_err(|e| ApiError::unauthenticated(format!("the token was refused: {e}")))?;
        state.shared.limiters.check_token(token_key(token), state)?;
        let caller = Caller {
            user: subject.user,
            guild: subject.guild,
            roles: subject.roles,
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// Parses a path parameter as a snowflake; anything else (`../../etc`, letters, zero,
/// too long) is a `400` naming the parameter, never echoing it.
pub(crate) fn path_param<'a>(params: &'a RawPathParams, name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// A request for one guild by a member holding a token for it, with the guild's current
/// configuration and Kaltura partner.
pub(crate) struct GuildCall {
    pub(crate) state: GatewayState,
    pub(crate) caller: Caller,
    pub(crate) guild: GuildId,
    pub(crate) resolved: Arc<ResolvedGuildConfig>,
    pub(crate) partner: Arc<Partner>,
    pub(crate) params: RawPathParams,
}

impl GuildCall {
    /// The guild's configuration.
    pub(crate) fn config(&self) -> &GuildConfig {
        self.resolved.config()
    }

    /// The service context.
    pub(crate) fn gctx(&self) -> GuildContext<'_> {
        GuildContext::new(self.guild, self.resolved.config(), &self.partner.account)
    }

    /// The caller as an RBAC subject.
    pub(crate) fn subject(&self) -> Subject {
        self.caller.subject()
    }

    /// Refuses unless the guild's current policy grants `permission` to the caller.
    pub(crate) fn require(&self, permission: Permission) -> Result<(), ApiError> {
        authorize(&self.config().rbac, &self.subject(), permission)
            .into_result(permission)
            .map_err(ApiError::from)
    }

    /// A raw path parameter (after the guild).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        path_param(&self.params, name)
    }
}

impl FromRequestParts<GatewayState> for GuildCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid("guild_id", "the path is not valid UTF-8"))?;
        let guild: GuildId = path_param(&params, "guild_id")
            .unwrap_or("")
            .parse()
            .map_err(|_| {
                ApiError::invalid(
                    "guild_id",
                    "the guild id must be a Discord snowflake (1-20 digits)",
                )
            })?;
        if guild != caller.guild {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_guild",
                "the token is for another guild; sign in for this guild",
            ));
        }
        let (resolved, partner) = state.guild(guild).await?;
        Ok(GuildCall {
            state: state.clone(),
            caller,
            guild,
            resolved,
            partner,
            params,
        })
    }
}
