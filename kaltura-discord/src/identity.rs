//! Identity mapping: which Kaltura user a Discord member acts as.
//!
//! The guild's [`IdentityConfig`] picks a strategy:
//!
//! * `prefixed_id` — `discord_{id}` (prefix configurable); nothing to set up;
//! * `explicit_link` — the member (or an admin) links an existing Kaltura user id;
//! * `email` — the member's email, when the host bot knows it.
//!
//! An explicit link always wins over the strategy. With `auto_provision`, the Kaltura user is
//! created on first use if it does not exist (`user.get` answering `INVALID_USER_ID` → `user.add`;
//! `DUPLICATE_USER_BY_ID` from a concurrent add is fine), its screen name taken from the
//! member's Discord display name. Kaltura is reached through the small [`KalturaUsers`] port,
//! implemented for [`kaltura_client::Client`] and easy to fake.

use std::sync::Arc;

use async_trait::async_trait;
use kaltura_client::UserId;

use crate::config::{GuildConfig, IdentityConfig, IdentityStrategy, LinkScopeKind};
use crate::error::{NotLinkedReason, Resource, SetupError};
use crate::ids::{DiscordUserId, GuildId};
use crate::rbac::{GuildPolicy, Permission, Subject, authorize};
use crate::store::{AuditAction, AuditLog, IdentityLink, IdentityStore, LinkScope, NewAuditEntry};
use crate::{Error, Result};

/// Longest Kaltura user id (`kuser::PUSER_ID_REGEXP`).
pub const MAX_KALTURA_USER_ID_LEN: usize = 320;

/// Checks a Kaltura user id against Kaltura's rule
/// ``^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$``.
pub fn validate_kaltura_user_id(raw: &str) -> Result<UserId> {
    const EXTRA: &[u8] = b",!#$%&'*+?^_`{|}~.@-";
    if raw.is_empty() || raw.len() > MAX_KALTURA_USER_ID_LEN {
        return Err(Error::invalid_input(
            "kaltura_user",
            format!(
                "a Kaltura user id must be 1 to {MAX_KALTURA_USER_ID_LEN} characters long, got {}",
                raw.len()
            ),
        ));
    }
    if let Some(bad) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || (c.is_ascii() && EXTRA.contains(&(*c as u8)))))
    {
        return Err(Error::invalid_input(
            "kaltura_user",
            format!(
                "a Kaltura user id may only contain letters, digits and ,!#$%&'*+?^_`{{|}}~.@- ; {bad:?} is not allowed"
            ),
        ));
    }
    Ok(UserId::new(raw))
}

/// The Discord member being mapped, as the host bot knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordMember {
    /// Their id.
    pub user: DiscordUserId,
    /// Their display name in the guild (becomes the Kaltura screen name).
    pub display_name: String,
    /// Their email, if the host bot has it (only with OAuth2 `email` scope).
    pub email: Option<String>,
}

/// A Kaltura user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKalturaUser {
    /// The id.
    pub id: UserId,
    /// The screen name.
    pub screen_name: String,
    /// The email, if known.
    pub email: Option<String>,
}

/// Whether [`KalturaUsers::add_user`] created the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The user was created.
    Created,
    /// The user existed already (`DUPLICATE_USER_BY_ID`).
    AlreadyExisted,
}

/// The two Kaltura user calls identity mapping needs, and the partner they run in.
#[async_trait]
pub trait KalturaUsers: Send + Sync {
    /// The Kaltura partner (needed when links apply per partner).
    fn partner_id(&self) -> Option<kaltura_client::PartnerId>;
    /// Whether the user exists (`user.get`; `INVALID_USER_ID` means no).
    async fn user_exists(&self, id: &UserId) -> Result<bool>;
    /// Creates the user (`user.add`); an existing user is not an error.
    async fn add_user(&self, user: &NewKalturaUser) -> Result<AddOutcome>;
}

#[async_trait]
impl KalturaUsers for kaltura_client::Client {
    fn partner_id(&self) -> Option<kaltura_client::PartnerId> {
        kaltura_client::Client::partner_id(self)
    }

    async fn user_exists(&self, id: &UserId) -> Result<bool> {
        match self.user().get(id.clone()).await {
            Ok(_) => Ok(true),
            Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::InvalidUserId) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn add_user(&self, user: &NewKalturaUser) -> Result<AddOutcome> {
        let mut request = self
            .user()
            .add(user.id.clone())
            .screen_name(user.screen_name.clone());
        if let Some(email) = &user.email {
            request = request.email(email.clone());
        }
        match request.send().await {
            Ok(_) => Ok(AddOutcome::Created),
            Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::DuplicateUserById) => {
                Ok(AddOutcome::AlreadyExisted)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// How the Kaltura user was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// An explicit link.
    Linked,
    /// The prefixed Discord id.
    PrefixedId,
    /// The member's email.
    Email,
}

/// The result of mapping a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedIdentity {
    /// The Kaltura user to act as.
    pub kaltura_user: UserId,
    /// How it was found.
    pub source: IdentitySource,
    /// Whether the user was created just now.
    pub provisioned: bool,
}

/// Maps members to Kaltura users and manages explicit links, with RBAC and audit.
#[derive(Clone)]
pub struct IdentityService {
    store: Arc<dyn IdentityStore>,
    audit: Arc<dyn AuditLog>,
    users: Arc<dyn KalturaUsers>,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityService")
    }
}

/// Screen names: Discord display names without control characters, at most 100 characters.
fn screen_name(display_name: &str, fallback: &UserId) -> String {
    let cleaned: String = display_name
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        fallback.to_string()
    } else {
        cleaned.to_owned()
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl IdentityService {
    /// A service over a store, an audit log and Kaltura.
    pub fn new(
        store: Arc<dyn IdentityStore>,
        audit: Arc<dyn AuditLog>,
        users: Arc<dyn KalturaUsers>,
    ) -> Self {
        IdentityService {
            store,
            audit,
            users,
        }
    }

    /// The Kaltura user id the strategy gives, without looking at links or Kaltura.
    pub fn strategy_user_id(
        config: &IdentityConfig,
        member: &DiscordMember,
    ) -> Result<(UserId, IdentitySource)> {
        match config.strategy {
            IdentityStrategy::PrefixedId => Ok((
                validate_kaltura_user_id(&format!("{}{}", config.user_id_prefix, member.user))?,
                IdentitySource::PrefixedId,
            )),
            IdentityStrategy::Email => match member
                .email
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                Some(email) => Ok((
                    validate_kaltura_user_id(&email.to_ascii_lowercase())?,
                    IdentitySource::Email,
                )),
                None => Err(Error::NotLinked {
                    user: member.user,
                    reason: NotLinkedReason::NoEmail,
                }),
            },
            IdentityStrategy::ExplicitLink => Err(Error::NotLinked {
                user: member.user,
                reason: NotLinkedReason::NoLink,
            }),
        }
    }

    /// Where links apply for this guild's configuration.
    pub fn scope(&self, guild: GuildId, identity: &IdentityConfig) -> Result<LinkScope> {
        match identity.link_scope {
            LinkScopeKind::Guild => Ok(LinkScope::Guild(guild)),
            LinkScopeKind::Partner => self
                .users
                .partner_id()
                .map(LinkScope::Partner)
                .ok_or_else(|| Error::Setup(SetupError::PartnerScopeWithoutPartnerId)),
        }
    }

    /// The Kaltura user a member acts as in a guild, creating it when configured to.
    #[tracing::instrument(name = "identity.resolve", skip_all, fields(%guild, user = %member.user))]
    pub async fn resolve(
        &self,
        guild: GuildId,
        config: &IdentityConfig,
        member: &DiscordMember,
    ) -> Result<ResolvedIdentity> {
        let scope = self.scope(guild, config)?;
        if let Some(link) = self.store.find_by_discord(scope, member.user).await? {
            return Ok(ResolvedIdentity {
                kaltura_user: link.kaltura_user,
                source: IdentitySource::Linked,
                provisioned: false,
            });
        }
        let (kaltura_user, source) = Self::strategy_user_id(config, member)?;
        let mut provisioned = false;
        if config.auto_provision && !self.users.user_exists(&kaltura_user).await? {
            let outcome = self
                .users
                .add_user(&NewKalturaUser {
                    id: kaltura_user.clone(),
                    screen_name: screen_name(&member.display_name, &kaltura_user),
                    email: member.email.clone(),
                })
                .await?;
            if outcome == AddOutcome::Created {
                provisioned = true;
                self.audit
                    .append(NewAuditEntry {
                        guild,
                        actor: Some(member.user),
                        action: AuditAction::UserProvisioned,
                        detail: serde_json::json!({"kaltura_user": kaltura_user.as_str()}),
                    })
                    .await?;
            }
        }
        Ok(ResolvedIdentity {
            kaltura_user,
            source,
            provisioned,
        })
    }

    fn authorize_link(policy: &GuildPolicy, actor: &Subject, target: DiscordUserId) -> Result<()> {
        let permission = if actor.user == target {
            Permission::LinkOwnIdentity
        } else {
            Permission::ManageIdentities
        };
        authorize(policy, actor, permission).into_result(permission)
    }

    /// Links `target` to an existing Kaltura user. Members may link themselves
    /// ([`Permission::LinkOwnIdentity`]); linking others needs [`Permission::ManageIdentities`].
    /// The Kaltura user must exist and may be linked to one member per scope (the guild, or
    /// the partner with `identity.link_scope: partner`).
    #[tracing::instrument(name = "identity.link", skip_all, fields(%guild, actor = %actor.user, %target))]
    pub async fn link(
        &self,
        guild: GuildId,
        config: &GuildConfig,
        actor: &Subject,
        target: DiscordUserId,
        kaltura_user: &str,
    ) -> Result<IdentityLink> {
        Self::authorize_link(&config.rbac, actor, target)?;
        let scope = self.scope(guild, &config.identity)?;
        let kaltura_user = validate_kaltura_user_id(kaltura_user)?;
        if !self.users.user_exists(&kaltura_user).await? {
            return Err(Error::not_found(Resource::KalturaUser, &kaltura_user));
        }
        let link = IdentityLink {
            scope,
            guild,
            discord_user: target,
            kaltura_user,
            linked_at: now_unix(),
            linked_by: actor.user,
        };
        self.store.link(&link).await?;
        Ok(link)
    }

    /// Removes `target`'s link (same permissions as [`IdentityService::link`]); `false` if none.
    #[tracing::instrument(name = "identity.unlink", skip_all, fields(%guild, actor = %actor.user, %target))]
    pub async fn unlink(
        &self,
        guild: GuildId,
        config: &GuildConfig,
        actor: &Subject,
        target: DiscordUserId,
    ) -> Result<bool> {
        Self::authorize_link(&config.rbac, actor, target)?;
        let scope = self.scope(guild, &config.identity)?;
        self.store.unlink(scope, target, guild, actor.user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaltura_user_ids_follow_kalturas_rule() {
        for ok in [
            "discord_42",
            "alice@example.com",
            "a.b-c",
            "x!#$%&'*+?^_`{|}~,",
        ] {
            assert!(validate_kaltura_user_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../../etc",
            "a b",
            "é",
            "a/b",
            "tab\t",
            &"x".repeat(321),
        ] {
            assert!(validate_kaltura_user_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn screen_names_are_cleaned() {
        let id = UserId::new("discord_1");
        assert_eq!(screen_name("  Ada\u{0007} ", &id), "Ada");
        assert_eq!(screen_name("\n", &id), "discord_1");
        assert_eq!(screen_name(&"y".repeat(500), &id).len(), 100);
    }
}
