//! What every guild-scoped service call needs: the guild, its resolved configuration and the
//! Kaltura account it uses.
//!
//! A host bot builds one [`KalturaAccount`] per Kaltura partner (an ADMIN-session
//! [`Client`] plus a [`KsSigner`] derived from the partner's admin secret, so the secret
//! itself is not kept) and, per interaction, a [`GuildContext`] pointing at it and at the
//! guild's [`GuildConfig`]. The services ([`crate::meetings::MeetingService`],
//! [`crate::video::VideoService`]) take the context and the asking member's
//! [`Subject`], check the guild's feature switch and RBAC policy, then call Kaltura.
//!
//! ```
//! use kaltura_client::Client;
//! use kaltura_discord::config::{ConfigResolver, ConfigSources};
//! use kaltura_discord::context::{GuildContext, KalturaAccount};
//! use secrecy::SecretString;
//!
//! # async fn run() -> kaltura_discord::Result<()> {
//! let secret = SecretString::from("abcdef0123456789abcdef0123456789");
//! let client = Client::builder()
//!     .service_url("https://www.kaltura.com")
//!     .partner_id(12345)
//!     .admin_secret(secret.clone())
//!     .build()?;
//! let account = KalturaAccount::new(client, &secret)?;
//! let guild = kaltura_discord::GuildId::new(613_425_648_685_547_541).expect("a valid id");
//! let config = ConfigResolver::load(&ConfigSources::defaults_only())?
//!     .guild(guild)
//!     .await?;
//! let ctx = GuildContext::new(guild, config.config(), &account);
//! assert_eq!(ctx.account.partner_id().get(), 12345);
//! # Ok(())
//! # }
//! ```

use std::fmt;

use kaltura_client::ks::KsSigner;
use kaltura_client::urls::Urls;
use kaltura_client::{Client, PartnerId};
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::GuildConfig;
use crate::error::SetupError;
use crate::ids::GuildId;
use crate::rbac::{Permission, Subject, authorize};
use crate::{Error, Result};

/// One Kaltura partner as the services use it: an ADMIN client, the partner id, a KS signer
/// for per-user sessions (join links, restricted playback) and the media URL builder.
///
/// Cloning is cheap (the client shares its connection pool). `Debug` shows only the partner.
#[derive(Clone)]
pub struct KalturaAccount {
    client: Client,
    partner_id: PartnerId,
    signer: KsSigner,
    urls: Urls,
}

impl KalturaAccount {
    /// An account over `client`, which must have a partner id and ADMIN credentials;
    /// `admin_secret` (the same partner's) signs the USER sessions handed to members. Media
    /// URLs point at the default CDN ([`kaltura_client::urls::DEFAULT_CDN_URL`]).
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] if the client has no partner id or the secret is empty.
    pub fn new(client: Client, admin_secret: &SecretString) -> Result<Self> {
        let partner_id = client
            .partner_id()
            .ok_or_else(|| Error::Setup(SetupError::MissingPartnerId))?;
        if admin_secret.expose_secret().is_empty() {
            return Err(Error::Setup(SetupError::EmptyAdminSecret));
        }
        Ok(KalturaAccount {
            client,
            partner_id,
            signer: KsSigner::new(admin_secret),
            urls: Urls::new(partner_id),
        })
    }

    /// Media URLs (thumbnails, manifests, player) on another host, e.g. a self-hosted
    /// Kaltura or the fake server.
    ///
    /// # Errors
    ///
    /// [`Error::Kaltura`] if `base` is not an absolute http(s) URL.
    pub fn with_media_base(mut self, base: &str) -> Result<Self> {
        self.urls = Urls::with_base(self.partner_id, base)?;
        Ok(self)
    }

    /// The ADMIN client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The partner id.
    pub fn partner_id(&self) -> PartnerId {
        self.partner_id
    }

    /// The media URL builder.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// The signer of per-user KS strings.
    pub(crate) fn signer(&self) -> &KsSigner {
        &self.signer
    }
}

impl fmt::Debug for KalturaAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KalturaAccount")
            .field("partner_id", &self.partner_id)
            .finish_non_exhaustive()
    }
}

/// One guild's view of a service call: which guild, its configuration, its Kaltura account.
#[derive(Debug, Clone, Copy)]
pub struct GuildContext<'a> {
    /// The guild.
    pub guild: GuildId,
    /// Its resolved configuration.
    pub config: &'a GuildConfig,
    /// The Kaltura account it uses.
    pub account: &'a KalturaAccount,
}

/// A guild feature switch (`features.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feature {
    Media,
    Search,
    Meetings,
}

impl<'a> GuildContext<'a> {
    /// A context for `guild`.
    pub fn new(guild: GuildId, config: &'a GuildConfig, account: &'a KalturaAccount) -> Self {
        GuildContext {
            guild,
            config,
            account,
        }
    }

    /// Refuses with [`Error::FeatureDisabled`] when the guild turned `feature` off.
    pub(crate) fn require(&self, feature: Feature) -> Result<()> {
        let (on, name) = match feature {
            Feature::Media => (self.config.features.media, "media"),
            Feature::Search => (self.config.features.search, "search"),
            Feature::Meetings => (self.config.features.meetings, "meetings"),
        };
        if on {
            Ok(())
        } else {
            Err(Error::FeatureDisabled { feature: name })
        }
    }

    /// Refuses with [`Error::Denied`], naming the deciding rule, unless the guild's policy
    /// grants `permission` to `subject`.
    pub(crate) fn authorize(&self, subject: &Subject, permission: Permission) -> Result<()> {
        authorize(&self.config.rbac, subject, permission).into_result(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_debug_shows_the_partner_and_no_secret() {
        let secret = SecretString::from("canary-admin-secret-0123456789abcdef");
        let client = Client::builder()
            .service_url("https://www.kaltura.com")
            .partner_id(4242)
            .admin_secret(secret.clone())
            .build()
            .unwrap();
        let account = KalturaAccount::new(client, &secret).unwrap();
        let shown = format!("{account:?}");
        assert!(shown.starts_with("KalturaAccount {"), "{shown}");
        assert!(shown.contains("4242"), "{shown}");
        assert!(!shown.contains("canary-admin-secret"), "{shown}");
    }

    #[test]
    fn account_needs_a_secret() {
        let client = Client::builder()
            .service_url("https://www.kaltura.com")
            .partner_id(4242)
            .build()
            .unwrap();
        let err = KalturaAccount::new(client, &SecretString::from(String::new())).unwrap_err();
        assert!(matches!(err, Error::Setup(SetupError::EmptyAdminSecret)));
    }
}
