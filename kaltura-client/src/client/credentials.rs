//! [`Credentials`]: how the client authenticates its calls.

use std::fmt;

use secrecy::SecretString;

use super::Redacted;
use crate::ids::AppTokenId;
use crate::ks::{Ks, KsVersion};
use crate::types::{AppTokenHashType, SessionOptions};

/// How the client authenticates its calls.
///
/// Build one with the constructors ([`Credentials::admin_secret`], [`Credentials::app_token`],
/// [`Credentials::ks`]) or the variants directly; `Debug` never shows a secret.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No credentials: calls are sent without a KS (only anonymous actions such as
    /// `session.startWidgetSession` will succeed) unless a KS is set with
    /// [`Client::with_ks`](crate::Client::with_ks).
    #[default]
    None,
    /// The partner's admin secret. The client generates an ADMIN KS locally (no round trip)
    /// and renews it before it expires. Requires a partner id.
    AdminSecret {
        /// The admin secret (Kaltura's KMC → Integration Settings).
        secret: SecretString,
        /// KS format to generate; `None` uses [`ClientBuilder::ks_version`](crate::ClientBuilder::ks_version) (default v2).
        ks_version: Option<KsVersion>,
    },
    /// An application token. The client gets its KS with `session.startWidgetSession` +
    /// `appToken.startSession` and renews it before it expires. Requires a partner id.
    AppToken {
        /// The token id (`appToken.id`).
        id: AppTokenId,
        /// The token itself (`appToken.token`); it is never sent, only hashed.
        token: SecretString,
        /// The hash type the token was created with (Kaltura's default is SHA-1).
        hash_type: AppTokenHashType,
        /// User id, type, lifetime and privileges of the session (Kaltura applies the token's
        /// own settings first and caps the lifetime with the token's session duration). An
        /// unset lifetime is [`ClientBuilder::admin_ks_expiry`](crate::ClientBuilder::admin_ks_expiry).
        options: SessionOptions,
    },
    /// A ready-made KS, used as is and never renewed.
    Ks(Ks),
}

impl Credentials {
    /// Admin-secret credentials generating the default KS version.
    pub fn admin_secret(secret: impl Into<SecretString>) -> Self {
        Credentials::AdminSecret {
            secret: secret.into(),
            ks_version: None,
        }
    }

    /// Application-token credentials with SHA-1 and no session overrides.
    pub fn app_token(id: impl Into<AppTokenId>, token: impl Into<SecretString>) -> Self {
        Credentials::AppToken {
            id: id.into(),
            token: token.into(),
            hash_type: AppTokenHashType::default(),
            options: SessionOptions::default(),
        }
    }

    /// A fixed KS.
    pub fn ks(ks: Ks) -> Self {
        Credentials::Ks(ks)
    }

    /// Whether the client manages (creates and renews) a KS from these credentials.
    pub(super) fn is_managed(&self) -> bool {
        matches!(
            self,
            Credentials::AdminSecret { .. } | Credentials::AppToken { .. }
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::AdminSecret { ks_version, .. } => f
                .debug_struct("AdminSecret")
                .field("secret", &Redacted)
                .field("ks_version", ks_version)
                .finish(),
            Credentials::AppToken {
                id,
                hash_type,
                options,
                ..
            } => f
                .debug_struct("AppToken")
                .field("id", id)
                .field("token", &Redacted)
                .field("hash_type", hash_type)
                .field("options", options)
                .finish(),
            Credentials::Ks(_) => f.debug_tuple("Ks").field(&Redacted).finish(),
        }
    }
}
