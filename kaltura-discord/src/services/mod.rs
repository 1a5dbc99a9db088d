//! The guild-scoped services every front end calls: who a member is in Kaltura
//! ([`identity`]), their Kaltura Meetings ([`meetings`]) and the guild's video ([`video`]).
//!
//! Each takes the guild (a [`crate::context::GuildContext`] for meetings and video), the
//! asking member's [`crate::rbac::Subject`] and its input; checks the guild's feature switch
//! and RBAC policy; validates the input with [`crate::text`]; calls Kaltura; and writes the
//! audit log. Time is read through an injected [`kaltura_client::clock::Clock`]
//! (`with_clock`, the system clock by default). `events` mirrors meetings as Discord
//! scheduled events for both front ends.
//!
//! The modules are re-exported at the crate root (`kaltura_discord::meetings`, …), so
//! both paths name the same items.

pub(crate) mod events;
pub mod identity;
pub mod meetings;
pub mod video;

use std::collections::HashMap;
use std::sync::Arc;

use kaltura_client::PartnerId;
use kaltura_client::clock::Clock;

use crate::config::GuildConfig;
use crate::context::KalturaAccount;
use crate::store::{AuditLog, IdentityStore};
use crate::{Error, Result};

/// One Kaltura partner a front end serves: its account and the identity service over it.
#[derive(Debug, Clone)]
pub(crate) struct Partner {
    pub(crate) account: KalturaAccount,
    pub(crate) identity: identity::IdentityService,
}

/// The partners a front end (command engine, gateway) serves: a default account and extra
/// ones, each with its identity service. A guild uses its configured `kaltura.partner_id`,
/// or the default when it names none.
#[derive(Debug)]
pub(crate) struct Partners {
    default: Arc<Partner>,
    others: HashMap<PartnerId, Arc<Partner>>,
}

impl Partners {
    pub(crate) fn new(
        default: KalturaAccount,
        extra: Vec<KalturaAccount>,
        identity_store: &Arc<dyn IdentityStore>,
        audit: &Arc<dyn AuditLog>,
        clock: &Arc<dyn Clock>,
    ) -> Self {
        let partner = |account: KalturaAccount| {
            Arc::new(Partner {
                identity: identity::IdentityService::new(
                    identity_store.clone(),
                    audit.clone(),
                    Arc::new(account.client().clone()),
                )
                .with_clock(clock.clone()),
                account,
            })
        };
        Partners {
            others: extra
                .into_iter()
                .map(|a| (a.partner_id(), partner(a)))
                .collect(),
            default: partner(default),
        }
    }

    /// The default partner.
    pub(crate) fn default_partner(&self) -> &Arc<Partner> {
        &self.default
    }

    /// The extra partners' ids.
    pub(crate) fn extra_ids(&self) -> Vec<PartnerId> {
        self.others.keys().copied().collect()
    }

    /// The partner a guild with this configuration uses.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (for the member: "not set up for Kaltura") when the
    /// configuration names a partner this front end does not serve.
    pub(crate) fn for_config(&self, config: &GuildConfig) -> Result<&Arc<Partner>> {
        match config.kaltura.partner_id {
            None => Ok(&self.default),
            Some(p) if p == self.default.account.partner_id() => Ok(&self.default),
            Some(p) => self.others.get(&p).ok_or_else(|| {
                Error::invalid_input(
                    "partner",
                    "this server is not set up for Kaltura: its configuration names a Kaltura partner this service does not serve; ask its operator",
                )
            }),
        }
    }
}
