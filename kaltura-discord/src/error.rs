//! The one error type of this crate.

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

    /// A database operation failed.
    #[error("storage failed while {operation}: {source}")]
    Store {
        /// What was being done, e.g. `linking an identity`.
        operation: &'static str,
        /// The database error.
        #[source]
        source: sqlx::Error,
    },

    /// The change conflicts with existing data (e.g. a Kaltura user already linked to
    /// another member).
    #[error("conflict: {0}")]
    Conflict(String),

    /// Stored data could not be read back (it was changed outside this library).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),

    /// Input was refused; the message says what and why.
    #[error("{0}")]
    InvalidInput(String),

    /// The member lacks the permission; `reason` names the rule that decided.
    #[error("permission {permission} denied: {reason}")]
    Denied {
        /// The permission asked for.
        permission: crate::rbac::Permission,
        /// The deciding rule, in words.
        reason: String,
    },

    /// The member has no Kaltura identity yet; the message says how to get one.
    #[error("{0}")]
    NotLinked(String),

    /// The thing asked for does not exist, or belongs to another guild (which is never
    /// told apart, so nothing leaks across guilds); the message names it.
    #[error("{0}")]
    NotFound(String),

    /// The media entry exists but cannot be played yet (still converting, importing, in
    /// moderation, or failed); the message says which state it is in.
    #[error("{0}")]
    NotReady(String),

    /// The guild has turned the feature off (`features.<name>` in its configuration).
    #[error("the {feature} feature is turned off for this server (features.{feature})")]
    FeatureDisabled {
        /// The feature's configuration key under `features`, e.g. `meetings`.
        feature: &'static str,
    },

    /// A token was not issued or not accepted.
    #[error("authentication failed: {0}")]
    Auth(#[from] crate::auth::AuthError),
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
    }
}
