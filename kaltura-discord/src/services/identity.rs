//! Identity mapping: which Kaltura user a Discord member acts as.
//!
//! The guild's [`IdentityConfig`] picks a strategy:
//!
//! * `prefixed_id` — `discord_{id}` (prefix configurable); nothing to set up;
//! * `explicit_link` — the member (or an admin) links an existing Kaltura user id;
//! * `email` — the member's email, when the host bot knows it.
//!
//! An explicit link always wins over the strategy. Linking a member to an existing Kaltura user
//! needs a [`LinkProof`]: an admin's assignment, a verified Kaltura login, or (in guilds that map
//! members by email) a Discord-verified email equal to the Kaltura user's. The ids the strategy
//! derives for *other* members (`{prefix}{their id}`) can never be claimed, proof or not.
//! Every link and unlink is written to the audit log with who, whom, which Kaltura user and
//! which kind of proof.
//!
//! # Proving a Kaltura login
//!
//! [`IdentityService::verify_kaltura_login`] checks a member's Kaltura login id and password
//! with `user.loginByLoginId` on the guild's Kaltura account, verifies the KS Kaltura returns
//! (signed for the account's partner, naming a user), ends that session at once and returns
//! a [`KalturaLoginProof`] for the member and the KS's user, which [`IdentityService::link`]
//! accepts for [`KALTURA_LOGIN_PROOF_MAX_AGE_SECS`]. The password is a [`SecretString`]: it is
//! never stored, logged, audited or put into an error. Every refused sign-in is audited
//! ([`AuditAction::KalturaLoginFailed`]: the login id and Kaltura's error code) and counts
//! towards the member's [`LoginAttemptLimit`] (by default 5 failures per 15 minutes), past
//! which attempts are refused with [`Error::TooManyAttempts`] saying when to retry, without
//! asking Kaltura. [`IdentityService::verified_email_proof`] builds the email proof from what
//! Discord's OAuth2 returned, in guilds that accept it.
//!
//! With `auto_provision`, the Kaltura user is
//! created on first use if it does not exist (`user.get` answering `INVALID_USER_ID` → `user.add`;
//! `DUPLICATE_USER_BY_ID` from a concurrent add is fine), its screen name taken from the
//! member's Discord display name. Kaltura is reached through the small [`KalturaUsers`] port,
//! implemented for [`kaltura_client::Client`] and easy to fake.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::{ErrorCode, UserId};
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::{GuildConfig, IdentityConfig, IdentityStrategy, LinkScopeKind};
use crate::context::GuildContext;
use crate::error::{LinkRefusal, NotLinkedReason, Resource, SetupError};
use crate::ids::{DiscordUserId, GuildId};
use crate::rbac::{GuildPolicy, Permission, Subject, authorize};
use crate::store::{
    AuditAction, AuditLog, AuditNote, IdentityLink, IdentityStore, LinkScope, NewAuditEntry,
};
use crate::{Error, Result};

/// Longest Kaltura user id (`kuser::PUSER_ID_REGEXP`).
pub const MAX_KALTURA_USER_ID_LEN: usize = UserId::MAX_LEN;

/// Parses a Kaltura user id with [`UserId::parse`] (Kaltura's rule
/// ``^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$``), as an input error of this crate.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `kaltura_user`) for an empty, too long or ill-formed id.
pub(crate) fn validate_kaltura_user_id(raw: &str) -> Result<UserId> {
    UserId::parse(raw).map_err(|e| Error::invalid_input("kaltura_user", e.to_string()))
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
    /// Whether the user exists (`user.get`; `INVALID_USER_ID` means no, every other failure
    /// is an error).
    async fn user_exists(&self, id: &UserId) -> Result<bool>;
    /// The user's email (`user.get`): `Ok(None)` if the user has none.
    ///
    /// Implementations answer [`Error::NotFound`] ([`Resource::KalturaUser`]) for a user
    /// that does not exist.
    async fn user_email(&self, id: &UserId) -> Result<Option<String>>;
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

    async fn user_email(&self, id: &UserId) -> Result<Option<String>> {
        match self.user().get(id.clone()).await {
            Ok(user) => Ok(user.email),
            Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::InvalidUserId) => {
                Err(Error::not_found(Resource::KalturaUser, id))
            }
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

/// How long a [`KalturaLoginProof`] stays usable after the login was verified, in seconds.
pub const KALTURA_LOGIN_PROOF_MAX_AGE_SECS: i64 = 600;

/// Evidence that a member may be linked to an existing Kaltura user; see
/// [`IdentityService::link`].
///
/// A member may always link to the id the guild's strategy derives for *them*; every other
/// existing Kaltura user needs one of these. No proof at all is refused with
/// [`Error::LinkRefused`] ([`LinkRefusal::NoProof`]), whose message says how to get one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkProof {
    /// An admin assigned the Kaltura user. The subject must hold
    /// [`Permission::ManageIdentities`] in the guild's policy *at the time of the link*
    /// (the check is made again on every use, so a proof kept from before a demotion is
    /// worthless).
    AssignedBy(Subject),
    /// The member signed in to Kaltura as that user (the gateway's login flow produces it).
    KalturaLogin(KalturaLoginProof),
    /// Discord says the member's email is verified and it equals the Kaltura user's email.
    /// Accepted only in guilds that map members by email (`identity.strategy: email`), which
    /// already trust Discord-verified emails as identities.
    VerifiedEmail(VerifiedEmail),
}

/// The kind of a [`LinkProof`], as written to the audit log (never the proof's content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkProofKind {
    /// [`LinkProof::AssignedBy`].
    AssignedBy,
    /// [`LinkProof::KalturaLogin`].
    KalturaLogin,
    /// [`LinkProof::VerifiedEmail`].
    VerifiedEmail,
    /// No proof was needed: the member linked the id the strategy derives for them.
    OwnDerivedId,
}

impl LinkProofKind {
    /// The snake_case name used in audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkProofKind::AssignedBy => "assigned_by",
            LinkProofKind::KalturaLogin => "kaltura_login",
            LinkProofKind::VerifiedEmail => "verified_email",
            LinkProofKind::OwnDerivedId => "own_derived_id",
        }
    }
}

impl LinkProof {
    /// The proof's kind.
    pub fn kind(&self) -> LinkProofKind {
        match self {
            LinkProof::AssignedBy(_) => LinkProofKind::AssignedBy,
            LinkProof::KalturaLogin(_) => LinkProofKind::KalturaLogin,
            LinkProof::VerifiedEmail(_) => LinkProofKind::VerifiedEmail,
        }
    }
}

/// Proof that a Discord member signed in to Kaltura as a Kaltura user.
///
/// Only code inside this crate that has verified a Kaltura login can make one
/// ([`IdentityService::verify_kaltura_login`], behind the gateway's login page); its fields
/// are private and it has no public constructor, so a host bot cannot
/// produce one from a user id it was merely told. It is usable for
/// [`KALTURA_LOGIN_PROOF_MAX_AGE_SECS`] after the login and only for the member and Kaltura
/// user it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KalturaLoginProof {
    discord_user: DiscordUserId,
    kaltura_user: UserId,
    verified_at: i64,
}

impl KalturaLoginProof {
    /// Made by the code that verified the login ([`IdentityService::verify_kaltura_login`]),
    /// at `verified_at` (unix seconds).
    pub(crate) fn new(discord_user: DiscordUserId, kaltura_user: UserId, verified_at: i64) -> Self {
        KalturaLoginProof {
            discord_user,
            kaltura_user,
            verified_at,
        }
    }

    /// The member who signed in.
    pub fn discord_user(&self) -> DiscordUserId {
        self.discord_user
    }

    /// The Kaltura user they signed in as.
    pub fn kaltura_user(&self) -> &UserId {
        &self.kaltura_user
    }

    /// When the login was verified (unix seconds).
    pub fn verified_at(&self) -> i64 {
        self.verified_at
    }
}

/// A member's email that Discord reports as verified (OAuth2 `email` scope, `verified: true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEmail {
    user: DiscordUserId,
    email: String,
}

impl VerifiedEmail {
    /// From Discord's answer for `user` (`GET /users/@me` with the `email` scope): pass its
    /// `email` and `verified` fields as they are.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (field `email`) if Discord has not verified the email, or it is
    /// blank or longer than 320 characters.
    pub fn from_discord(user: DiscordUserId, email: &str, verified: bool) -> Result<Self> {
        let email = email.trim();
        if !verified {
            return Err(Error::invalid_input(
                "email",
                "Discord has not verified this email address; verify it in Discord first",
            ));
        }
        if email.is_empty() || email.chars().count() > MAX_KALTURA_USER_ID_LEN {
            return Err(Error::invalid_input(
                "email",
                format!("an email address must be 1 to {MAX_KALTURA_USER_ID_LEN} characters"),
            ));
        }
        Ok(VerifiedEmail {
            user,
            email: email.to_owned(),
        })
    }

    /// The member.
    pub fn user(&self) -> DiscordUserId {
        self.user
    }

    /// The email.
    pub fn email(&self) -> &str {
        &self.email
    }
}

/// The member whose strategy-derived id `kaltura_user` is (`{prefix}{snowflake}`, the prefix
/// compared without case as Kaltura compares user ids), if it is one.
pub(crate) fn derived_id_owner(prefix: &str, kaltura_user: &UserId) -> Option<DiscordUserId> {
    let id = kaltura_user.as_str();
    let (head, rest) = id.split_at_checked(prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    rest.parse().ok()
}

/// How many refused Kaltura sign-ins ([`IdentityService::verify_kaltura_login`]) a Discord
/// member may make in a sliding window before further attempts are refused without asking
/// Kaltura.
///
/// Memory is bounded: at most `max_failures` times per member and `max_members` members are
/// kept. When that many members have recent failures, the member whose last attempt is the
/// oldest is forgotten first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginAttemptLimit {
    /// Refused sign-ins allowed in a window (at least 1).
    pub max_failures: u32,
    /// The window.
    pub window: Duration,
    /// Members tracked at most (at least 1).
    pub max_members: usize,
}

impl LoginAttemptLimit {
    /// `max_failures` refused sign-ins per `window`, for up to 10 000 members.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginAttemptLimit {
            max_failures: max_failures.max(1),
            window,
            max_members: 10_000,
        }
    }

    /// Tracks at most `max_members` members.
    #[must_use]
    pub fn max_members(mut self, max_members: usize) -> Self {
        self.max_members = max_members.max(1);
        self
    }
}

impl Default for LoginAttemptLimit {
    /// 5 refused sign-ins per 15 minutes.
    fn default() -> Self {
        LoginAttemptLimit::new(5, Duration::from_secs(15 * 60))
    }
}

/// The recent sign-in attempts of each member (unix seconds, oldest first).
#[derive(Debug)]
struct LoginAttempts {
    limit: LoginAttemptLimit,
    members: Mutex<HashMap<DiscordUserId, VecDeque<i64>>>,
}

impl LoginAttempts {
    fn new(limit: LoginAttemptLimit) -> Self {
        LoginAttempts {
            limit,
            members: Mutex::new(HashMap::new()),
        }
    }

    fn window_secs(&self) -> i64 {
        i64::try_from(self.limit.window.as_secs()).unwrap_or(i64::MAX)
    }

    /// Reserves an attempt of `who` at `now`, counted as a failure unless
    /// [`LoginAttempts::release`]d (so concurrent attempts cannot pass the limit together);
    /// `Err(seconds to wait)` when the member is at the limit.
    fn begin(&self, who: DiscordUserId, now: i64) -> std::result::Result<(), u64> {
        let window = self.window_secs();
        let recent = |t: &i64| *t > now.saturating_sub(window);
        let max_failures = usize::try_from(self.limit.max_failures).unwrap_or(usize::MAX);
        let mut members = self
            .members
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(times) = members.get_mut(&who) {
            while times.front().is_some_and(|t| !recent(t)) {
                times.pop_front();
            }
            if times.len() >= max_failures {
                let oldest = times.front().copied().unwrap_or(now);
                let wait = oldest.saturating_add(window).saturating_sub(now).max(1);
                return Err(u64::try_from(wait).unwrap_or(u64::MAX));
            }
        } else if members.len() >= self.limit.max_members {
            members.retain(|_, times| times.back().is_some_and(recent));
            if members.len() >= self.limit.max_members
                && let Some(stalest) = members
                    .iter()
                    .min_by_key(|(_, times)| times.back().copied().unwrap_or(i64::MIN))
                    .map(|(who, _)| *who)
            {
                members.remove(&stalest);
            }
        }
        members.entry(who).or_default().push_back(now);
        Ok(())
    }

    /// Gives back the attempt reserved at `at` (the sign-in succeeded, or failed for a reason
    /// that is not the member's).
    fn release(&self, who: DiscordUserId, at: i64) {
        let mut members = self
            .members
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(times) = members.get_mut(&who) {
            if let Some(i) = times.iter().rposition(|t| *t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                members.remove(&who);
            }
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.members
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Longest login id accepted by [`IdentityService::verify_kaltura_login`] (an email).
pub const MAX_KALTURA_LOGIN_ID_LEN: usize = 320;

/// Longest password accepted by [`IdentityService::verify_kaltura_login`], in bytes.
pub const MAX_KALTURA_PASSWORD_LEN: usize = 1024;

/// Lifetime asked for the KS of a verified sign-in (it is ended at once anyway).
const LOGIN_KS_EXPIRY: Duration = Duration::from_secs(60);

/// How a refused `user.loginByLoginId` is shown to the member; `None` for codes that are not
/// a refusal of the member's credentials.
fn login_refusal(code: &ErrorCode) -> Option<LinkRefusal> {
    match code {
        ErrorCode::UserWrongPassword
        | ErrorCode::UserNotFound
        | ErrorCode::LoginDataNotFound
        | ErrorCode::InvalidPartnerId => Some(LinkRefusal::KalturaLoginFailed),
        ErrorCode::LoginRetriesExceeded | ErrorCode::LoginBlocked => {
            Some(LinkRefusal::KalturaLoginLocked)
        }
        ErrorCode::PasswordExpired
        | ErrorCode::UserIsBlocked
        | ErrorCode::DirectLoginBlocked
        | ErrorCode::MissingOtp
        | ErrorCode::InvalidOtp => Some(LinkRefusal::KalturaLoginNotAllowed),
        _ => None,
    }
}

/// Maps members to Kaltura users and manages explicit links, with RBAC and audit.
#[derive(Clone)]
pub struct IdentityService {
    store: Arc<dyn IdentityStore>,
    audit: Arc<dyn AuditLog>,
    users: Arc<dyn KalturaUsers>,
    clock: Arc<dyn Clock>,
    login_attempts: Arc<LoginAttempts>,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityService")
    }
}

/// Screen names: Discord display names without control characters, at most 100 characters.
fn screen_name(display_name: &str, fallback: &UserId) -> String {
    crate::text::display_name(display_name, 100).unwrap_or_else(|| fallback.to_string())
}

fn refused(kaltura_user: &UserId, reason: LinkRefusal) -> Error {
    Error::LinkRefused {
        kaltura_user: kaltura_user.to_string(),
        reason,
    }
}

impl IdentityService {
    /// A service over a store, an audit log and Kaltura, using the system clock.
    pub fn new(
        store: Arc<dyn IdentityStore>,
        audit: Arc<dyn AuditLog>,
        users: Arc<dyn KalturaUsers>,
    ) -> Self {
        IdentityService {
            store,
            audit,
            users,
            clock: Arc::new(SystemClock),
            login_attempts: Arc::new(LoginAttempts::new(LoginAttemptLimit::default())),
        }
    }

    /// With another limit of refused Kaltura sign-ins per member (default
    /// [`LoginAttemptLimit::default`]); the attempts counted so far are forgotten.
    #[must_use]
    pub fn with_login_limit(mut self, limit: LoginAttemptLimit) -> Self {
        self.login_attempts = Arc::new(LoginAttempts::new(limit));
        self
    }

    /// With another clock (link timestamps, the age of login proofs and the sign-in attempt
    /// window follow it).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The Kaltura user id the strategy gives, without looking at links or Kaltura.
    ///
    /// # Errors
    ///
    /// [`Error::NotLinked`] for the `explicit_link` strategy, and for `email` when the
    /// member's email is unknown; [`Error::InvalidInput`] if the derived id is not a valid
    /// Kaltura user id (an odd email, a prefix with forbidden characters).
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
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] ([`SetupError::PartnerScopeWithoutPartnerId`]) when links apply per
    /// partner but the Kaltura side has no partner id.
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
    ///
    /// An explicit link wins; otherwise the guild's strategy derives the id. With
    /// `identity.auto_provision` a missing user is created (`user.add`, audited as
    /// [`AuditAction::UserProvisioned`]); a concurrent creation is not an error.
    ///
    /// ```no_run
    /// # use kaltura_discord::identity::{DiscordMember, IdentityService};
    /// # use kaltura_discord::config::GuildConfig;
    /// # async fn run(identity: IdentityService, config: GuildConfig) -> Result<(), Box<dyn std::error::Error>> {
    /// let guild = "613425648685547541".parse()?;
    /// let member = DiscordMember {
    ///     user: "80351110224678912".parse()?,
    ///     display_name: "Ada Lovelace".into(),
    ///     email: None,
    /// };
    /// let who = identity.resolve(guild, &config.identity, &member).await?;
    /// println!("acting as Kaltura user {}", who.kaltura_user);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotLinked`] (with how to link) when the strategy gives no id,
    /// [`Error::InvalidInput`] for a derived id Kaltura would refuse, [`Error::Setup`] for a
    /// partner scope without partner id, [`Error::Kaltura`] and [`Error::Store`].
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

    /// Checks `proof` for linking `target` to `kaltura_user`; the kind that was accepted.
    async fn check_proof(
        &self,
        config: &GuildConfig,
        target: DiscordUserId,
        kaltura_user: &UserId,
        proof: Option<&LinkProof>,
    ) -> Result<LinkProofKind> {
        if let Some(owner) = derived_id_owner(&config.identity.user_id_prefix, kaltura_user) {
            return if owner == target {
                Ok(LinkProofKind::OwnDerivedId)
            } else {
                Err(refused(kaltura_user, LinkRefusal::AnotherMembersId))
            };
        }
        let Some(proof) = proof else {
            return Err(refused(kaltura_user, LinkRefusal::NoProof));
        };
        match proof {
            LinkProof::AssignedBy(admin) => {
                if !authorize(&config.rbac, admin, Permission::ManageIdentities).allowed {
                    return Err(refused(kaltura_user, LinkRefusal::AssignerNotAllowed));
                }
            }
            LinkProof::KalturaLogin(login) => {
                let age = self.clock.now_unix().saturating_sub(login.verified_at);
                if login.discord_user != target
                    || !login
                        .kaltura_user
                        .as_str()
                        .eq_ignore_ascii_case(kaltura_user.as_str())
                {
                    return Err(refused(kaltura_user, LinkRefusal::LoginForAnotherUser));
                }
                if !(0..=KALTURA_LOGIN_PROOF_MAX_AGE_SECS).contains(&age) {
                    return Err(refused(kaltura_user, LinkRefusal::LoginExpired));
                }
            }
            LinkProof::VerifiedEmail(email) => {
                if config.identity.strategy != IdentityStrategy::Email {
                    return Err(refused(kaltura_user, LinkRefusal::EmailProofNotAllowed));
                }
                if email.user != target {
                    return Err(refused(kaltura_user, LinkRefusal::EmailMismatch));
                }
                let kaltura_email = self.users.user_email(kaltura_user).await?;
                if !kaltura_email
                    .as_deref()
                    .is_some_and(|k| k.trim().eq_ignore_ascii_case(&email.email))
                {
                    return Err(refused(kaltura_user, LinkRefusal::EmailMismatch));
                }
            }
        }
        Ok(proof.kind())
    }

    /// Links `target` to an existing Kaltura user, given proof that they may act as it.
    ///
    /// Members may link themselves ([`Permission::LinkOwnIdentity`]); linking others needs
    /// [`Permission::ManageIdentities`]. Then:
    ///
    /// * the id the guild's strategy derives for another member (`{prefix}{their id}`) is
    ///   refused for everyone, admins included ([`LinkRefusal::AnotherMembersId`]);
    /// * the id derived for `target` themself needs no proof;
    /// * any other Kaltura user needs a [`LinkProof`] that holds for `target` and that user
    ///   now (see its variants);
    /// * the Kaltura user must exist and may be linked to one member per scope (the guild, or
    ///   the partner with `identity.link_scope: partner`).
    ///
    /// The link is audited ([`AuditAction::IdentityLinked`]) with the actor, the member, the
    /// Kaltura user and the kind of proof.
    ///
    /// # Errors
    ///
    /// [`Error::Denied`] without the permission, [`Error::LinkRefused`] without valid proof
    /// (the message says how to get one), [`Error::InvalidInput`] for an ill-formed id,
    /// [`Error::NotFound`] if the Kaltura user does not exist, [`Error::Conflict`] if it is
    /// linked to another member, [`Error::Setup`], [`Error::Kaltura`], [`Error::Store`].
    #[tracing::instrument(name = "identity.link", skip_all, fields(%guild, actor = %actor.user, %target))]
    pub async fn link(
        &self,
        guild: GuildId,
        config: &GuildConfig,
        actor: &Subject,
        target: DiscordUserId,
        kaltura_user: &str,
        proof: Option<&LinkProof>,
    ) -> Result<IdentityLink> {
        Self::authorize_link(&config.rbac, actor, target)?;
        let scope = self.scope(guild, &config.identity)?;
        let kaltura_user = validate_kaltura_user_id(kaltura_user)?;
        let proof = self
            .check_proof(config, target, &kaltura_user, proof)
            .await?;
        if !self.users.user_exists(&kaltura_user).await? {
            return Err(Error::not_found(Resource::KalturaUser, &kaltura_user));
        }
        let link = IdentityLink {
            scope,
            guild,
            discord_user: target,
            kaltura_user,
            linked_at: self.clock.now_unix(),
            linked_by: actor.user,
        };
        let mut note = AuditNote::new();
        note.insert("proof".into(), proof.as_str().into());
        self.store.link(&link, &note).await?;
        Ok(link)
    }

    /// Verifies `discord_user`'s Kaltura login (`login_id`, usually their email, and
    /// `password`) with `user.loginByLoginId` on the guild's Kaltura account, and returns the
    /// proof that they are the Kaltura user the returned KS names; give it to
    /// [`IdentityService::link`] (as [`LinkProof::KalturaLogin`], for
    /// [`KalturaLoginProof::kaltura_user`]) within [`KALTURA_LOGIN_PROOF_MAX_AGE_SECS`].
    ///
    /// The KS must verify with the account's admin secret, belong to its partner and name a
    /// user; it is ended right away and never kept. The password is never stored or logged.
    /// Each refused sign-in is audited ([`AuditAction::KalturaLoginFailed`], with the login id
    /// and Kaltura's code) and counts towards the member's [`LoginAttemptLimit`]; while the
    /// member is at the limit, attempts are refused without calling Kaltura.
    ///
    /// ```no_run
    /// # use kaltura_discord::identity::{IdentityService, LinkProof};
    /// # use kaltura_discord::context::GuildContext;
    /// # use kaltura_discord::rbac::Subject;
    /// # async fn run(identity: IdentityService, ctx: GuildContext<'_>, member: Subject) -> kaltura_discord::Result<()> {
    /// let password = secrecy::SecretString::from("from the sign-in form");
    /// let proof = identity
    ///     .verify_kaltura_login(&ctx, member.user, "teacher@school.example", &password)
    ///     .await?;
    /// let kaltura_user = proof.kaltura_user().to_string();
    /// identity
    ///     .link(ctx.guild, ctx.config, &member, member.user, &kaltura_user, Some(&LinkProof::KalturaLogin(proof)))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (`login_id` / `password`) for an empty or oversized value;
    /// [`Error::TooManyAttempts`] at the limit (with the seconds to wait);
    /// [`Error::LinkRefused`] when Kaltura refuses the sign-in
    /// ([`LinkRefusal::KalturaLoginFailed`] for an unknown login id or a wrong password, not
    /// told apart; [`LinkRefusal::KalturaLoginLocked`]; [`LinkRefusal::KalturaLoginNotAllowed`]);
    /// [`Error::Kaltura`] when Kaltura cannot be reached or answers a KS that does not verify;
    /// [`Error::Store`] if the audit log fails.
    #[tracing::instrument(name = "identity.verify_kaltura_login", skip_all, fields(guild = %ctx.guild, user = %discord_user))]
    pub async fn verify_kaltura_login(
        &self,
        ctx: &GuildContext<'_>,
        discord_user: DiscordUserId,
        login_id: &str,
        password: &SecretString,
    ) -> Result<KalturaLoginProof> {
        let login_id = login_id.trim();
        if login_id.is_empty()
            || login_id.chars().count() > MAX_KALTURA_LOGIN_ID_LEN
            || login_id.chars().any(char::is_control)
        {
            return Err(Error::invalid_input(
                "login_id",
                format!(
                    "a Kaltura login id is 1 to {MAX_KALTURA_LOGIN_ID_LEN} characters, usually your email"
                ),
            ));
        }
        let secret = password.expose_secret();
        if secret.is_empty() || secret.len() > MAX_KALTURA_PASSWORD_LEN {
            return Err(Error::invalid_input(
                "password",
                format!("a Kaltura password is 1 to {MAX_KALTURA_PASSWORD_LEN} bytes"),
            ));
        }
        let now = self.clock.now_unix();
        if let Err(retry_after_secs) = self.login_attempts.begin(discord_user, now) {
            tracing::warn!(
                retry_after_secs,
                "kaltura sign-in refused: too many failures"
            );
            return Err(Error::TooManyAttempts {
                what: "failed Kaltura sign-ins",
                retry_after_secs,
            });
        }
        let client = ctx.account.client();
        let partner_id = ctx.account.partner_id();
        let answer = client
            .user()
            .login_by_login_id(login_id, password.clone())
            .partner_id(partner_id)
            .expiry(LOGIN_KS_EXPIRY)
            .send()
            .await;
        let ks = match answer {
            Ok(ks) => ks,
            Err(e) => {
                let refusal = e.api_code().and_then(login_refusal);
                let (Some(reason), Some(code)) = (refusal, e.api_code()) else {
                    // Kaltura unreachable or failing: not the member's failure.
                    self.login_attempts.release(discord_user, now);
                    return Err(e.into());
                };
                tracing::info!(code = %code, "kaltura sign-in refused");
                self.audit
                    .append(NewAuditEntry {
                        guild: ctx.guild,
                        actor: Some(discord_user),
                        action: AuditAction::KalturaLoginFailed,
                        detail: serde_json::json!({
                            "login_id": login_id,
                            "code": code.as_str(),
                            "partner_id": partner_id.get(),
                        }),
                    })
                    .await?;
                return Err(refused(&UserId::new(login_id), reason));
            }
        };
        self.login_attempts.release(discord_user, now);
        let checked = ctx
            .account
            .signer()
            .decode(ks.expose_secret())
            .and_then(|decoded| decoded.check_partner(partner_id).map(|()| decoded));
        // The session is only a proof: end it whatever the check says.
        if let Err(e) = client.with_ks(ks).session().end().await {
            tracing::debug!(error = %e, "could not end the sign-in session");
        }
        let decoded = checked?;
        let kaltura_user = validate_kaltura_user_id(&decoded.user_id).map_err(|_| {
            Error::Kaltura(kaltura_client::Error::Ks(
                kaltura_client::error::KsErrorKind::Malformed(
                    "the KS of the sign-in names no valid user".into(),
                ),
            ))
        })?;
        tracing::info!(kaltura_user = %kaltura_user, "kaltura sign-in verified");
        Ok(KalturaLoginProof::new(discord_user, kaltura_user, now))
    }

    /// The [`LinkProof::VerifiedEmail`] for linking `member` to `kaltura_user`, from the email
    /// Discord's OAuth2 returned (`email` and `verified` as Discord sent them), checked now:
    /// the guild must map members by email (`identity.strategy: email`) and the Kaltura user's
    /// email must equal it (without case). [`IdentityService::link`] checks it again.
    ///
    /// # Errors
    ///
    /// [`Error::LinkRefused`] ([`LinkRefusal::EmailProofNotAllowed`] in other guilds,
    /// [`LinkRefusal::EmailMismatch`]); [`Error::InvalidInput`] for an unverified, blank or
    /// oversized email or an ill-formed Kaltura user id; [`Error::NotFound`] if the Kaltura
    /// user does not exist; [`Error::Kaltura`].
    pub async fn verified_email_proof(
        &self,
        config: &GuildConfig,
        member: DiscordUserId,
        kaltura_user: &str,
        email: &str,
        verified: bool,
    ) -> Result<LinkProof> {
        let kaltura_user = validate_kaltura_user_id(kaltura_user)?;
        if config.identity.strategy != IdentityStrategy::Email {
            return Err(refused(&kaltura_user, LinkRefusal::EmailProofNotAllowed));
        }
        let email = VerifiedEmail::from_discord(member, email, verified)?;
        let kaltura_email = self.users.user_email(&kaltura_user).await?;
        if !kaltura_email
            .as_deref()
            .is_some_and(|k| k.trim().eq_ignore_ascii_case(email.email()))
        {
            return Err(refused(&kaltura_user, LinkRefusal::EmailMismatch));
        }
        Ok(LinkProof::VerifiedEmail(email))
    }

    /// Removes `target`'s link (same permissions as [`IdentityService::link`]); `false` if
    /// none. A removal is audited ([`AuditAction::IdentityUnlinked`]) with the actor, the
    /// member and the Kaltura user they were linked to.
    ///
    /// # Errors
    ///
    /// [`Error::Denied`] without the permission, [`Error::Setup`], [`Error::Store`].
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
        let Some(existing) = self.store.find_by_discord(scope, target).await? else {
            return Ok(false);
        };
        let mut note = AuditNote::new();
        note.insert("kaltura_user".into(), existing.kaltura_user.as_str().into());
        note.insert(
            "authority".into(),
            if actor.user == target {
                "self"
            } else {
                "manage_identities"
            }
            .into(),
        );
        self.store
            .unlink(scope, target, guild, actor.user, &note)
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use kaltura_client::clock::ManualClock;

    /// Kaltura as seen by identity mapping: every user exists, with no email.
    #[derive(Debug)]
    struct EveryoneExists;

    #[async_trait]
    impl KalturaUsers for EveryoneExists {
        fn partner_id(&self) -> Option<kaltura_client::PartnerId> {
            None
        }
        async fn user_exists(&self, _: &UserId) -> Result<bool> {
            Ok(true)
        }
        async fn user_email(&self, _: &UserId) -> Result<Option<String>> {
            Ok(None)
        }
        async fn add_user(&self, _: &NewKalturaUser) -> Result<AddOutcome> {
            Ok(AddOutcome::AlreadyExisted)
        }
    }

    fn user(id: u64) -> DiscordUserId {
        DiscordUserId::new(id).unwrap()
    }

    #[test]
    fn the_service_debug_names_it_and_nothing_inside() {
        let store = Arc::new(MemoryStore::new());
        let svc = IdentityService::new(store.clone(), store, Arc::new(EveryoneExists));
        assert_eq!(format!("{svc:?}"), "IdentityService");
    }

    #[tokio::test]
    async fn kaltura_login_proofs_hold_for_their_member_user_and_time_only() {
        let store = Arc::new(MemoryStore::new());
        let clock = ManualClock::new(1_000_000);
        let svc = IdentityService::new(store.clone(), store, Arc::new(EveryoneExists))
            .with_clock(Arc::new(clock.clone()));
        let guild = GuildId::new(99).unwrap();
        let config =
            crate::config::ConfigResolver::load(&crate::config::ConfigSources::defaults_only())
                .unwrap()
                .guild(guild)
                .await
                .unwrap()
                .config()
                .clone();
        let me = Subject::new(user(7));
        let teacher = "teacher@example.com";
        let proof = |who, id: &str, at| {
            LinkProof::KalturaLogin(KalturaLoginProof::new(who, UserId::new(id), at))
        };
        let refusal = |r: Result<IdentityLink>| match r {
            Err(Error::LinkRefused { reason, .. }) => Some(reason),
            _ => None,
        };
        let try_link = |p: LinkProof| {
            let svc = svc.clone();
            let me = me.clone();
            let config = config.clone();
            async move {
                svc.link(guild, &config, &me, me.user, teacher, Some(&p))
                    .await
            }
        };
        assert_eq!(
            refusal(try_link(proof(user(8), "teacher@example.com", 1_000_000)).await),
            Some(LinkRefusal::LoginForAnotherUser)
        );
        assert_eq!(
            refusal(try_link(proof(user(7), "admin", 1_000_000)).await),
            Some(LinkRefusal::LoginForAnotherUser)
        );
        assert_eq!(
            refusal(try_link(proof(user(7), "teacher@example.com", 1_000_000 - 601)).await),
            Some(LinkRefusal::LoginExpired)
        );
        assert_eq!(
            refusal(try_link(proof(user(7), "teacher@example.com", 1_000_001)).await),
            Some(LinkRefusal::LoginExpired),
            "a proof from the future is refused"
        );
        clock.advance(KALTURA_LOGIN_PROOF_MAX_AGE_SECS);
        let link = try_link(proof(user(7), "Teacher@example.com", 1_000_000))
            .await
            .unwrap();
        assert_eq!(link.linked_at, 1_000_000 + KALTURA_LOGIN_PROOF_MAX_AGE_SECS);
        assert_eq!(
            proof(user(7), "x", 0).kind().as_str(),
            LinkProofKind::KalturaLogin.as_str()
        );
    }

    #[test]
    fn proofs_and_emails_expose_what_they_hold() {
        let login = KalturaLoginProof::new(user(7), UserId::new("t"), 42);
        assert_eq!(login.discord_user(), user(7));
        assert_eq!(login.kaltura_user(), &UserId::new("t"));
        assert_eq!(login.verified_at(), 42);
        let email = VerifiedEmail::from_discord(user(8), " a@b.c ", true).unwrap();
        assert_eq!((email.user(), email.email()), (user(8), "a@b.c"));
        assert_eq!(
            LinkProof::VerifiedEmail(email).kind(),
            LinkProofKind::VerifiedEmail
        );
        assert_eq!(
            LinkProof::AssignedBy(Subject::new(user(1))).kind(),
            LinkProofKind::AssignedBy
        );
        for bad in ["", "  ", &"e".repeat(MAX_KALTURA_USER_ID_LEN + 1)] {
            assert!(
                matches!(
                    VerifiedEmail::from_discord(user(8), bad, true),
                    Err(Error::InvalidInput { field: "email", .. })
                ),
                "{bad:?}"
            );
        }
        assert!(
            VerifiedEmail::from_discord(user(8), &"e".repeat(MAX_KALTURA_USER_ID_LEN), true)
                .is_ok()
        );
        assert!(matches!(
            VerifiedEmail::from_discord(user(8), "a@b.c", false),
            Err(Error::InvalidInput { field: "email", .. })
        ));
    }

    #[test]
    fn login_attempts_slide_reserve_and_stay_bounded() {
        let limit = LoginAttemptLimit::new(3, Duration::from_secs(100)).max_members(2);
        let attempts = LoginAttempts::new(limit);
        let (a, b, c) = (user(1), user(2), user(3));
        for t in [0, 10, 20] {
            assert_eq!(attempts.begin(a, t), Ok(()));
        }
        // The oldest failure (t = 0) leaves the window at t = 100.
        assert_eq!(attempts.begin(a, 30), Err(70));
        assert_eq!(attempts.begin(a, 99), Err(1));
        assert_eq!(attempts.begin(a, 100), Ok(()));
        // A released attempt (a success) does not count.
        assert_eq!(attempts.begin(b, 100), Ok(()));
        attempts.release(b, 100);
        assert_eq!(attempts.tracked(), 1, "an empty member is forgotten");
        for t in [101, 102, 103] {
            assert_eq!(attempts.begin(b, t), Ok(()));
        }
        assert_eq!(attempts.begin(b, 104), Err(97));
        // A third member: the member whose last attempt is the oldest (a, t = 100) goes.
        assert_eq!(attempts.begin(c, 105), Ok(()));
        assert_eq!(attempts.tracked(), 2);
        assert_eq!(attempts.begin(a, 105), Ok(()), "a was forgotten");
        assert_eq!(attempts.tracked(), 2);
        // Long after, the members whose attempts all left the window are pruned.
        assert_eq!(attempts.begin(user(4), 1_000), Ok(()));
        assert_eq!(attempts.tracked(), 1);
        assert_eq!(LoginAttemptLimit::new(0, Duration::ZERO).max_failures, 1);
        assert_eq!(
            LoginAttemptLimit::default(),
            LoginAttemptLimit::new(5, Duration::from_secs(900))
        );
    }

    #[test]
    fn kaltura_login_codes_map_to_refusals() {
        for (code, reason) in [
            ("USER_WRONG_PASSWORD", Some(LinkRefusal::KalturaLoginFailed)),
            ("USER_NOT_FOUND", Some(LinkRefusal::KalturaLoginFailed)),
            (
                "LOGIN_RETRIES_EXCEEDED",
                Some(LinkRefusal::KalturaLoginLocked),
            ),
            ("LOGIN_BLOCKED", Some(LinkRefusal::KalturaLoginLocked)),
            (
                "PASSWORD_EXPIRED",
                Some(LinkRefusal::KalturaLoginNotAllowed),
            ),
            ("MISSING_OTP", Some(LinkRefusal::KalturaLoginNotAllowed)),
            ("INVALID_KS", None),
            ("SOMETHING_NEW", None),
        ] {
            assert_eq!(login_refusal(&ErrorCode::from(code)), reason, "{code}");
        }
    }

    #[test]
    fn blank_emails_are_no_email() {
        let config = IdentityConfig {
            strategy: IdentityStrategy::Email,
            link_scope: LinkScopeKind::Guild,
            user_id_prefix: "discord_".into(),
            auto_provision: true,
        };
        let member = DiscordMember {
            user: user(5),
            display_name: "x".into(),
            email: Some("   ".into()),
        };
        assert!(matches!(
            IdentityService::strategy_user_id(&config, &member),
            Err(Error::NotLinked {
                reason: NotLinkedReason::NoEmail,
                ..
            })
        ));
    }

    #[test]
    fn derived_ids_name_their_member() {
        let id = |s: &str| UserId::new(s);
        assert_eq!(
            derived_id_owner("discord_", &id("discord_42")),
            Some(user(42))
        );
        assert_eq!(
            derived_id_owner("discord_", &id("DISCORD_42")),
            Some(user(42))
        );
        assert_eq!(derived_id_owner("", &id("42")), Some(user(42)));
        assert_eq!(derived_id_owner("discord_", &id("discord_")), None);
        assert_eq!(derived_id_owner("discord_", &id("discord_4x")), None);
        assert_eq!(derived_id_owner("discord_", &id("admin")), None);
        assert_eq!(derived_id_owner("kd_", &id("discord_42")), None);
        assert_eq!(derived_id_owner("discord_", &id("disc")), None);
    }

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
        assert!(validate_kaltura_user_id(&"x".repeat(MAX_KALTURA_USER_ID_LEN)).is_ok());
    }

    #[test]
    fn screen_names_are_cleaned() {
        let id = UserId::new("discord_1");
        assert_eq!(screen_name("  Ada\u{0007} ", &id), "Ada");
        assert_eq!(screen_name("\n", &id), "discord_1");
        assert_eq!(screen_name(&"y".repeat(500), &id).len(), 100);
    }
}
