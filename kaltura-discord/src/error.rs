//! The one error type of this crate.
//!
//! [`Error`] is matchable: every variant that is about some *thing* says what kind of thing
//! ([`Resource`]), which id or field, and why, in typed fields. [`Error::kind`] sorts every
//! error into a small [`ErrorKind`] so that a front end (the command layer, an HTTP service)
//! maps errors to a user-facing message and a status in one place, without parsing text.
//!
//! A host bot that brings its own storage (Redis, its own database) reports failures with
//! [`StoreError`], which carries any `std::error::Error` as its source: it can produce every
//! error the library's own stores produce.
//!
//! Messages never contain secrets: Kaltura errors come from [`kaltura_client::Error`], whose
//! snippets are redacted, and store errors carry the operation, never the database URL.

use std::fmt;
use std::path::PathBuf;

use kaltura_client::EntryId;
use kaltura_client::types::EntryStatus;

use crate::ids::DiscordUserId;

/// Result alias used throughout this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the integration library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call to Kaltura failed; the inner error says where and whether it may be retried.
    #[error("Kaltura call failed: {0}")]
    Kaltura(#[from] kaltura_client::Error),

    /// A configuration value is missing, malformed or out of range; the error names the
    /// guild, the key and the file or environment variable that set it.
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::config::ConfigError),

    /// The library was set up inconsistently by the host program (a client without a partner
    /// id, an empty admin secret, an unsupported database URL…). Not the member's fault.
    #[error("setup problem: {0}")]
    Setup(#[from] SetupError),

    /// A file or folder the library needed could not be read or written.
    #[error("could not {operation} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `create the data folder`.
        operation: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A storage operation failed (the library's own SQL stores or a host bot's store).
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The change conflicts with existing data or with the thing's state.
    #[error("{}", conflict_message(*.resource, .id, *.reason))]
    Conflict {
        /// What kind of thing.
        resource: Resource,
        /// Its id.
        id: String,
        /// Why the change cannot be made.
        reason: ConflictReason,
    },

    /// Stored data could not be read back (it was changed outside this library).
    #[error("stored {resource} is corrupt: `{field}` {reason}")]
    Corrupt {
        /// What kind of record.
        resource: Resource,
        /// The column or field that could not be read.
        field: &'static str,
        /// What was wrong with it (never the stored value itself).
        reason: String,
    },

    /// Input was refused; `field` names it and `reason` says why in a sentence for the member.
    #[error("{reason}")]
    InvalidInput {
        /// The input, e.g. `title`, `entry_id`, `page`.
        field: &'static str,
        /// Why it was refused, e.g. "a meeting needs a title".
        reason: String,
    },

    /// The member lacks the permission; `reason` names the rule that decided.
    #[error("permission {permission} denied: {reason}")]
    Denied {
        /// The permission asked for.
        permission: crate::rbac::Permission,
        /// The deciding rule, in words.
        reason: String,
    },

    /// Linking a member to a Kaltura user was refused: no or invalid proof, or the id is the
    /// one derived for another member. The message says how to get a valid proof.
    #[error("{}", link_refused_message(.kaltura_user, *.reason))]
    LinkRefused {
        /// The Kaltura user asked for.
        kaltura_user: String,
        /// Why the link was refused.
        reason: LinkRefusal,
    },

    /// The member tried too often; `retry_after_secs` says when they may try again.
    #[error("too many {what}; try again in {}", wait_text(*.retry_after_secs))]
    TooManyAttempts {
        /// What was tried, in words (plural), e.g. "failed Kaltura sign-ins".
        what: &'static str,
        /// Seconds until the next attempt is accepted (at least 1).
        retry_after_secs: u64,
    },

    /// The member has no Kaltura identity yet; the message says how to get one.
    #[error("{}", not_linked_message(*.user, *.reason))]
    NotLinked {
        /// The member.
        user: DiscordUserId,
        /// Why no identity could be found.
        reason: NotLinkedReason,
    },

    /// The thing asked for does not exist, or belongs to another guild (which is never
    /// told apart, so nothing leaks across guilds).
    #[error("{}", not_found_message(*.resource, .id))]
    NotFound {
        /// What kind of thing.
        resource: Resource,
        /// The id that was asked for.
        id: String,
    },

    /// The media entry exists but cannot be played yet (still converting, importing, in
    /// moderation, or failed).
    #[error("entry {entry} cannot be played yet ({})", crate::video::status_name(.status))]
    NotReady {
        /// The entry.
        entry: EntryId,
        /// Its Kaltura status.
        status: EntryStatus,
    },

    /// The guild has turned the feature off (`features.<name>` in its configuration).
    #[error("the {feature} feature is turned off for this server (features.{feature})")]
    FeatureDisabled {
        /// The feature's configuration key under `features`, e.g. `meetings`.
        feature: &'static str,
    },

    /// An interaction body could not be used (not JSON, a shape we do not know, a bad id).
    #[error(transparent)]
    Interaction(#[from] crate::commands::InteractionError),

    /// A Discord REST call failed.
    #[error(transparent)]
    Discord(#[from] crate::rest::DiscordError),

    /// A token was not issued or not accepted.
    #[cfg(feature = "jwt")]
    #[error("authentication failed: {0}")]
    Auth(#[from] crate::auth::AuthError),

    /// A gateway login (Discord OAuth2) or refresh token was refused, or Discord failed.
    #[error(transparent)]
    Gateway(#[from] crate::gateway::GatewayError),
}

/// The kinds of things errors are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// A Kaltura Meetings session started from a guild.
    Meeting,
    /// A Kaltura media entry.
    MediaEntry,
    /// A Kaltura user.
    KalturaUser,
    /// A Discord member's link to a Kaltura user.
    IdentityLink,
    /// A guild's configuration override.
    GuildOverride,
    /// An audit log entry.
    AuditEntry,
    /// A received Kaltura notification (the notification inbox).
    NotificationEvent,
    /// A notification subscription (`/kaltura-admin notify subscribe`).
    NotificationSubscription,
    /// A queued or finished notification delivery (the outbox).
    Delivery,
    /// A Discord channel's delivery lease.
    DeliveryChannel,
    /// A gateway login session (a refresh token family).
    GatewaySession,
    /// A gateway login waiting for Discord's callback (its `state`).
    PendingLogin,
}

impl Resource {
    /// The name used in messages, e.g. `meeting`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Meeting => "meeting",
            Resource::MediaEntry => "entry",
            Resource::KalturaUser => "Kaltura user",
            Resource::IdentityLink => "identity link",
            Resource::GuildOverride => "guild configuration override",
            Resource::AuditEntry => "audit entry",
            Resource::NotificationEvent => "notification event",
            Resource::NotificationSubscription => "notification subscription",
            Resource::Delivery => "delivery",
            Resource::DeliveryChannel => "delivery channel",
            Resource::GatewaySession => "gateway session",
            Resource::PendingLogin => "pending login",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a change conflicts ([`Error::Conflict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictReason {
    /// The Kaltura user is already linked to another member in this scope.
    LinkedToAnotherMember,
    /// The thing exists already (e.g. a Kaltura event recorded twice).
    AlreadyExists,
    /// The meeting has been ended; it cannot be joined.
    MeetingEnded,
    /// The meeting's scheduled end has passed.
    MeetingOver,
    /// The meeting was ended before this request.
    AlreadyEnded,
    /// The worker's lease or claim lapsed and another worker took it over; its work must
    /// not be recorded.
    LeaseLost,
}

fn conflict_message(resource: Resource, id: &str, reason: ConflictReason) -> String {
    match reason {
        ConflictReason::LinkedToAnotherMember => {
            format!("{resource} {id} is already linked to another member")
        }
        ConflictReason::AlreadyExists => format!("{resource} {id} already exists"),
        ConflictReason::MeetingEnded => format!("{resource} {id} has been ended"),
        ConflictReason::MeetingOver => format!("{resource} {id} is over"),
        ConflictReason::AlreadyEnded => format!("{resource} {id} has already been ended"),
        ConflictReason::LeaseLost => {
            format!("the lease on {resource} {id} was lost: it lapsed and another worker took it")
        }
    }
}

/// Why a link to a Kaltura user was refused ([`Error::LinkRefused`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkRefusal {
    /// No proof was given.
    NoProof,
    /// The id is the one the guild's strategy derives for another member; nobody may claim it.
    AnotherMembersId,
    /// The admin named as assigner does not hold `manage_identities` in the current policy.
    AssignerNotAllowed,
    /// The Kaltura login proof is for another member or another Kaltura user.
    LoginForAnotherUser,
    /// The Kaltura login proof is too old.
    LoginExpired,
    /// This guild does not accept verified emails as proof (it does not map members by email).
    EmailProofNotAllowed,
    /// The verified email is another member's, or not the Kaltura user's email.
    EmailMismatch,
    /// Kaltura refused the sign-in: unknown login id or wrong password (not told apart, so
    /// nobody learns which login ids exist).
    KalturaLoginFailed,
    /// Kaltura has locked the login after too many wrong passwords.
    KalturaLoginLocked,
    /// Kaltura refused the sign-in for another reason: expired password, blocked user,
    /// single sign-on only, or a one-time password needed.
    KalturaLoginNotAllowed,
}

const HOW_TO_PROVE: &str = "ask a server admin (manage_identities) to assign it, or sign in to Kaltura through the bot's login link";

fn link_refused_message(kaltura_user: &str, reason: LinkRefusal) -> String {
    match reason {
        LinkRefusal::NoProof => format!(
            "linking to Kaltura user {kaltura_user} needs proof that it is yours: {HOW_TO_PROVE}"
        ),
        LinkRefusal::AnotherMembersId => format!(
            "Kaltura user {kaltura_user} belongs to another member of this server and cannot be linked to anyone else"
        ),
        LinkRefusal::AssignerNotAllowed => format!(
            "the member assigning Kaltura user {kaltura_user} lacks manage_identities in this server"
        ),
        LinkRefusal::LoginForAnotherUser => format!(
            "the Kaltura sign-in is not for Kaltura user {kaltura_user} and this member; sign in again as that user"
        ),
        LinkRefusal::LoginExpired => format!(
            "the Kaltura sign-in for {kaltura_user} is too old; sign in again through the bot's login link"
        ),
        LinkRefusal::EmailProofNotAllowed => format!(
            "this server does not accept verified emails as proof for Kaltura user {kaltura_user}: {HOW_TO_PROVE}"
        ),
        LinkRefusal::EmailMismatch => format!(
            "your verified Discord email is not the email of Kaltura user {kaltura_user}: {HOW_TO_PROVE}"
        ),
        LinkRefusal::KalturaLoginFailed => format!(
            "signing in to Kaltura as {kaltura_user} failed: the login id or the password is wrong"
        ),
        LinkRefusal::KalturaLoginLocked => format!(
            "Kaltura has locked the login {kaltura_user} after too many wrong passwords; wait until it unlocks or reset the password in Kaltura"
        ),
        LinkRefusal::KalturaLoginNotAllowed => format!(
            "Kaltura refused the sign-in of {kaltura_user} (expired password, blocked user, single sign-on only or a one-time code needed); sign in to Kaltura directly to sort it out"
        ),
    }
}

/// "45 seconds", "15 minutes", "2 hours" (rounded up).
fn wait_text(secs: u64) -> String {
    let secs = secs.max(1);
    let (n, unit) = if secs < 120 {
        (secs, "second")
    } else if secs < 2 * 3600 {
        (secs.div_ceil(60), "minute")
    } else {
        (secs.div_ceil(3600), "hour")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Why a member has no Kaltura identity ([`Error::NotLinked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotLinkedReason {
    /// The guild maps members by explicit link and this member has none.
    NoLink,
    /// The guild maps members by email and the host bot does not know this member's email.
    NoEmail,
}

fn not_linked_message(user: DiscordUserId, reason: NotLinkedReason) -> String {
    match reason {
        NotLinkedReason::NoLink => {
            format!("member {user} is not linked to a Kaltura user; link one with `/kaltura link`")
        }
        NotLinkedReason::NoEmail => {
            format!("member {user} has no known email; link a Kaltura user with `/kaltura link`")
        }
    }
}

fn not_found_message(resource: Resource, id: &str) -> String {
    match resource {
        Resource::Meeting => format!("meeting {id} was not found in this server"),
        Resource::KalturaUser => format!("Kaltura user {id} does not exist in this partner"),
        other => format!("{other} {id} was not found"),
    }
}

/// A setup problem of the host program ([`Error::Setup`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The Kaltura client was built without a partner id.
    #[error("the Kaltura client has no partner id; build it with `.partner_id(…)`")]
    MissingPartnerId,
    /// The Kaltura admin secret is empty.
    #[error("the Kaltura admin secret is empty")]
    EmptyAdminSecret,
    /// `identity.link_scope` is `partner` but the Kaltura client has no partner id.
    #[error("`identity.link_scope` is `partner` but the Kaltura client has no partner id")]
    PartnerScopeWithoutPartnerId,
    /// The database URL's scheme is not one this build supports.
    #[error("unsupported database URL scheme in {url}: use {supported}")]
    UnsupportedDatabaseUrl {
        /// The URL with any password removed.
        url: String,
        /// The schemes this build supports, e.g. `sqlite://… or postgres://…`.
        supported: &'static str,
    },
    /// The database URL could not be parsed.
    #[error("invalid database URL: {reason}")]
    InvalidDatabaseUrl {
        /// Why (never the URL itself, which may hold a password).
        reason: String,
    },
    /// A [`crate::commands::CommandEngine`] was built without a required part.
    #[error("the command engine needs `{part}`; give it to the builder")]
    EngineIncomplete {
        /// The builder method that was not called, e.g. `rest`.
        part: &'static str,
    },
    /// A PostgreSQL schema name is not 1–63 characters of `a-z`, `0-9` and `_`.
    #[error("PostgreSQL schema name {name:?} must be 1-63 characters of a-z, 0-9 and _")]
    InvalidSchemaName {
        /// The refused name (at most 64 characters are kept).
        name: String,
    },
    /// The Discord application public key (for the HTTP interactions endpoint) is not 64
    /// hexadecimal characters encoding a valid, non-weak Ed25519 public key.
    #[error(
        "invalid Discord public key: {reason}; copy the application's Public Key (64 hex characters) from the Developer Portal"
    )]
    InvalidDiscordPublicKey {
        /// Why it was refused (the key is public, but is not echoed).
        reason: String,
    },
    /// The Discord REST client could not be set up (a bad base URL, no TLS provider).
    #[error("the Discord REST client could not be set up: {reason}")]
    DiscordClient {
        /// Why (never the bot token).
        reason: String,
    },
    /// A Kaltura webhook receiver was built without a required part.
    #[error("the Kaltura webhook receiver needs `{part}`; give it to the builder")]
    WebhookReceiverIncomplete {
        /// The builder method that was not called, e.g. `store` or `partner`.
        part: &'static str,
    },
    /// The API gateway was built without a required part.
    #[error("the API gateway needs `{part}`; give it to the builder")]
    GatewayIncomplete {
        /// The builder method that was not called, e.g. `authority`.
        part: &'static str,
    },
    /// The API gateway's options are inconsistent (e.g. a CORS wildcard with credentials).
    #[error("invalid gateway configuration: {reason}")]
    InvalidGatewayConfig {
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// What failed in a store, independent of the database behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The database could not be reached, or the connection broke; retrying later may work.
    Unavailable,
    /// The operation timed out (e.g. waiting for a connection from the pool).
    Timeout,
    /// The database refused the statement or the data (a constraint, a type mismatch).
    Rejected,
    /// Setting up the schema (migrations) failed.
    Migration,
    /// Anything else.
    Other,
}

/// A storage failure: what was being done, what kind of failure, and the underlying error.
///
/// Host bots that implement the store traits on their own storage build it with
/// [`StoreError::new`] and keep their database error as the source.
#[derive(Debug, thiserror::Error)]
#[error("storage failed while {operation}{}", source_suffix(.source.as_deref()))]
pub struct StoreError {
    operation: &'static str,
    kind: StoreErrorKind,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

fn source_suffix(source: Option<&(dyn std::error::Error + Send + Sync + 'static)>) -> String {
    source.map(|s| format!(": {s}")).unwrap_or_default()
}

impl StoreError {
    /// A store error while doing `operation` (e.g. `linking an identity`).
    pub fn new(
        operation: &'static str,
        kind: StoreErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        StoreError {
            operation,
            kind,
            source: Some(source.into()),
        }
    }

    /// A store error without an underlying error.
    pub fn without_source(operation: &'static str, kind: StoreErrorKind) -> Self {
        StoreError {
            operation,
            kind,
            source: None,
        }
    }

    /// What was being done.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// What kind of failure.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

/// A coarse classification of [`Error`], for mapping errors to user-facing messages and
/// HTTP statuses in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The member's input was refused (400).
    InvalidInput,
    /// The member may not do this (403).
    Denied,
    /// The member has no Kaltura identity yet (403, with how to link one).
    NotLinked,
    /// The thing does not exist in this guild (404).
    NotFound,
    /// The change conflicts with the current state (409).
    Conflict,
    /// The media cannot be played yet (409).
    NotReady,
    /// The guild turned the feature off (403).
    FeatureDisabled,
    /// A token was missing or refused (401).
    Unauthenticated,
    /// The member tried too often and must wait (429; [`Error::retry_after`] says how long).
    RateLimited,
    /// Kaltura or the store could not be reached or timed out; retrying later may work (503).
    Unavailable,
    /// Kaltura refused or failed the call (502).
    Upstream,
    /// The operator's configuration or the host program's setup is wrong (500).
    Misconfigured,
    /// Anything else; a bug or corrupt data (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status code an HTTP front end answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::RateLimited => 429,
            ErrorKind::Denied | ErrorKind::NotLinked | ErrorKind::FeatureDisabled => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict | ErrorKind::NotReady => 409,
            ErrorKind::Upstream => 502,
            ErrorKind::Unavailable => 503,
            ErrorKind::Misconfigured | ErrorKind::Internal => 500,
        }
    }

    /// Whether the message of an error of this kind is meant for the member (their input,
    /// their permissions, the state of the thing they asked about). Errors of the other
    /// kinds are logged in full and shown to members as a generic message.
    pub fn is_for_member(self) -> bool {
        matches!(
            self,
            ErrorKind::InvalidInput
                | ErrorKind::Denied
                | ErrorKind::NotLinked
                | ErrorKind::NotFound
                | ErrorKind::Conflict
                | ErrorKind::NotReady
                | ErrorKind::FeatureDisabled
                | ErrorKind::Unauthenticated
                | ErrorKind::RateLimited
        )
    }
}

impl Error {
    /// The error's [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Kaltura(e) => match e {
                kaltura_client::Error::Connect { .. }
                | kaltura_client::Error::Timeout { .. }
                | kaltura_client::Error::Transport { .. } => ErrorKind::Unavailable,
                kaltura_client::Error::Http { status, .. } if *status == 429 || *status >= 500 => {
                    ErrorKind::Unavailable
                }
                kaltura_client::Error::Config(_) | kaltura_client::Error::Ks(_) => {
                    ErrorKind::Misconfigured
                }
                _ => ErrorKind::Upstream,
            },
            Error::Config(_) | Error::Setup(_) => ErrorKind::Misconfigured,
            Error::Io { .. } => ErrorKind::Internal,
            Error::Store(e) => match e.kind() {
                StoreErrorKind::Unavailable | StoreErrorKind::Timeout => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::Corrupt { .. } => ErrorKind::Internal,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Denied { .. } => ErrorKind::Denied,
            Error::NotLinked { .. } => ErrorKind::NotLinked,
            Error::LinkRefused { .. } => ErrorKind::Denied,
            Error::TooManyAttempts { .. } => ErrorKind::RateLimited,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::NotReady { .. } => ErrorKind::NotReady,
            Error::FeatureDisabled { .. } => ErrorKind::FeatureDisabled,
            Error::Interaction(_) => ErrorKind::InvalidInput,
            Error::Discord(e) => match e.kind {
                crate::rest::DiscordErrorKind::RateLimited
                | crate::rest::DiscordErrorKind::Unavailable => ErrorKind::Unavailable,
                _ => ErrorKind::Upstream,
            },
            #[cfg(feature = "jwt")]
            Error::Auth(_) => ErrorKind::Unauthenticated,
            Error::Gateway(e) => e.kind(),
        }
    }

    /// How long to wait before trying again, for [`Error::TooManyAttempts`] (an HTTP front
    /// end sends it as `Retry-After`).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::TooManyAttempts {
                retry_after_secs, ..
            } => Some(std::time::Duration::from_secs(*retry_after_secs)),
            _ => None,
        }
    }

    /// An [`Error::InvalidInput`] for `field`.
    pub fn invalid_input(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// An [`Error::NotFound`] for the `resource` with `id`.
    pub fn not_found(resource: Resource, id: impl fmt::Display) -> Self {
        Error::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    /// An [`Error::Conflict`] on the `resource` with `id`.
    pub fn conflict(resource: Resource, id: impl fmt::Display, reason: ConflictReason) -> Self {
        Error::Conflict {
            resource,
            id: id.to_string(),
            reason,
        }
    }

    /// An [`Error::Corrupt`] for `field` of a stored `resource`.
    pub fn corrupt(resource: Resource, field: &'static str, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            resource,
            field,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaltura_errors_convert_and_keep_their_message() {
        let api = kaltura_client::ApiError::new(
            kaltura_client::ErrorCode::EntryIdNotFound,
            "Entry id \"0_x\" not found",
        );
        let err: Error = kaltura_client::Error::from(api).into();
        assert_eq!(
            err.to_string(),
            "Kaltura call failed: Kaltura API error ENTRY_ID_NOT_FOUND: Entry id \"0_x\" not found"
        );
        assert_eq!(err.kind(), ErrorKind::Upstream);
    }

    #[test]
    fn structured_variants_render_their_messages() {
        assert_eq!(
            Error::not_found(Resource::Meeting, 42).to_string(),
            "meeting 42 was not found in this server"
        );
        assert_eq!(
            Error::conflict(Resource::Meeting, 42, ConflictReason::AlreadyEnded).to_string(),
            "meeting 42 has already been ended"
        );
        let user = DiscordUserId::new(80351110224678912).unwrap_or_else(|| unreachable!());
        assert_eq!(
            Error::NotLinked {
                user,
                reason: NotLinkedReason::NoLink
            }
            .to_string(),
            "member 80351110224678912 is not linked to a Kaltura user; link one with `/kaltura link`"
        );
        assert_eq!(
            Error::corrupt(Resource::Meeting, "status", "is not a known status").to_string(),
            "stored meeting is corrupt: `status` is not a known status"
        );
    }

    #[test]
    fn too_many_attempts_say_when_to_retry() {
        let err = |secs| Error::TooManyAttempts {
            what: "failed Kaltura sign-ins",
            retry_after_secs: secs,
        };
        assert_eq!(
            err(899).to_string(),
            "too many failed Kaltura sign-ins; try again in 15 minutes"
        );
        assert_eq!(
            err(1).to_string(),
            "too many failed Kaltura sign-ins; try again in 1 second"
        );
        assert_eq!(
            err(0).to_string(),
            "too many failed Kaltura sign-ins; try again in 1 second"
        );
        assert_eq!(
            err(90).to_string(),
            "too many failed Kaltura sign-ins; try again in 90 seconds"
        );
        assert_eq!(
            err(7201).to_string(),
            "too many failed Kaltura sign-ins; try again in 3 hours"
        );
        assert_eq!(err(60).kind(), ErrorKind::RateLimited);
        assert!(err(60).kind().is_for_member());
        assert_eq!(
            err(60).retry_after(),
            Some(std::time::Duration::from_secs(60))
        );
        assert_eq!(Error::invalid_input("x", "y").retry_after(), None);
    }

    #[test]
    fn host_store_errors_keep_their_source_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "redis down");
        let err: Error =
            StoreError::new("linking an identity", StoreErrorKind::Unavailable, io).into();
        assert_eq!(
            err.to_string(),
            "storage failed while linking an identity: redis down"
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.kind().http_status(), 503);
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("redis down"));
    }

    #[test]
    fn every_kind_has_a_status() {
        for (kind, status) in [
            (ErrorKind::InvalidInput, 400),
            (ErrorKind::Unauthenticated, 401),
            (ErrorKind::Denied, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::Conflict, 409),
            (ErrorKind::Upstream, 502),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Internal, 500),
            (ErrorKind::RateLimited, 429),
        ] {
            assert_eq!(kind.http_status(), status, "{kind:?}");
        }
        assert!(ErrorKind::Denied.is_for_member());
        assert!(!ErrorKind::Internal.is_for_member());
    }
}
