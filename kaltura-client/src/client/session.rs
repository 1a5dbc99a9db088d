//! The managed KS: an ADMIN KS signed locally with the admin secret, or an app-token
//! session, cached and renewed before it expires.
//!
//! * Renewal starts once less than 10 % of the lifetime or 5 minutes remain (whichever is
//!   more, at most half the lifetime) — see [`renewal_margin`].
//! * A failed renewal keeps the current KS while it is still valid, and tries again on the
//!   next call.
//! * The lifetime of an app-token session comes from the `expiry` Kaltura answers, which may
//!   be relative (seconds from now) or absolute (unix time).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::{Client, Credentials};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::ks::{Ks, KsBuilder, KsVersion, OsRandom, Privileges, SessionType};

/// Kaltura treats `time` values up to ten years (in seconds) as relative to now.
const RELATIVE_TIME_LIMIT: i64 = 315_360_000;

/// Settings of the admin KS generated from the admin secret.
#[derive(Debug)]
pub(super) struct AdminKsOptions {
    pub(super) version: KsVersion,
    pub(super) expiry: Duration,
    pub(super) privileges: Privileges,
    pub(super) user_id: Option<UserId>,
}

/// A managed KS with its validity window (unix seconds, client clock).
pub(super) struct CachedKs {
    ks: Ks,
    issued_at: i64,
    valid_until: i64,
}

impl CachedKs {
    /// Whether the KS is close enough to its expiry to be replaced; see [`renewal_margin`].
    fn needs_renewal(&self, now: i64) -> bool {
        let lifetime = self.valid_until.saturating_sub(self.issued_at).max(0);
        now >= self.valid_until.saturating_sub(renewal_margin(lifetime))
    }
}

/// How long before its expiry a managed KS is renewed: 10 % of its lifetime or 5 minutes,
/// whichever is more, but at most half of the lifetime (so a 2-minute KS is used for one
/// minute, a 24-hour KS for 21.6 hours).
fn renewal_margin(lifetime: i64) -> i64 {
    (lifetime / 10).max(300.min(lifetime / 2))
}

/// Which KS a call carries, and whether the client manages it.
pub(super) enum KsUse {
    /// No KS from the client (none configured, or the call does not need one, or the
    /// request brings its own `ks` parameter).
    None,
    /// A fixed KS ([`Client::with_ks`], [`Credentials::Ks`]); never renewed.
    Fixed(Ks),
    /// The managed KS; invalidated when Kaltura refuses it.
    Managed(Ks),
}

impl KsUse {
    pub(super) fn ks(&self) -> Option<&Ks> {
        match self {
            KsUse::None => None,
            KsUse::Fixed(ks) | KsUse::Managed(ks) => Some(ks),
        }
    }
}

impl Client {
    /// Drops the cached managed KS (after `session.end`), unless this clone uses a fixed KS.
    pub(crate) async fn forget_managed_ks(&self) {
        if self.fixed_ks.is_none() {
            *self.inner.session.lock().await = None;
        }
    }

    /// The KS for a call that needs one.
    ///
    /// Boxed with an explicit `Send` bound: renewing an app-token KS sends calls, which come
    /// back here, and the recursion needs both the indirection and a declared auto trait.
    pub(super) fn ks_for_call(&self) -> Pin<Box<dyn Future<Output = Result<KsUse>> + Send + '_>> {
        Box::pin(async move {
            if let Some(ks) = &self.fixed_ks {
                return Ok(KsUse::Fixed(ks.clone()));
            }
            match &self.inner.credentials {
                Credentials::Ks(ks) => Ok(KsUse::Fixed(ks.clone())),
                Credentials::AdminSecret { .. } | Credentials::AppToken { .. } => {
                    self.managed_ks().await.map(KsUse::Managed)
                }
                Credentials::None => Ok(KsUse::None),
            }
        })
    }

    /// The cached managed KS, renewed first if it is close to its expiry.
    async fn managed_ks(&self) -> Result<Ks> {
        let mut cached = self.inner.session.lock().await;
        let now = self.now_unix();
        if let Some(current) = cached.as_ref()
            && !current.needs_renewal(now)
        {
            return Ok(current.ks.clone());
        }
        match self.new_managed_ks().await {
            Ok(fresh) => {
                tracing::debug!(valid_until = fresh.valid_until, "kaltura: new managed KS");
                let ks = fresh.ks.clone();
                *cached = Some(fresh);
                Ok(ks)
            }
            // The old KS is still valid: keep using it, renewal is tried again next call.
            Err(error) => match cached.as_ref() {
                Some(current) if now < current.valid_until => {
                    tracing::warn!(%error, "kaltura: KS renewal failed, using the current KS");
                    Ok(current.ks.clone())
                }
                _ => Err(error),
            },
        }
    }

    /// Creates a managed KS from the credentials.
    async fn new_managed_ks(&self) -> Result<CachedKs> {
        let inner = &self.inner;
        let partner_id = inner
            .partner_id
            .ok_or_else(|| Error::Config("a partner id is required to create a KS".into()))?;
        let now = self.now_unix();
        match &inner.credentials {
            Credentials::AdminSecret { secret, .. } => {
                let options = &inner.admin_ks;
                let mut builder = KsBuilder::new(partner_id)
                    .session_type(SessionType::Admin)
                    .expiry(options.expiry)
                    .privileges(options.privileges.clone())
                    .version(options.version);
                if let Some(user_id) = &options.user_id {
                    builder = builder.user_id(user_id.as_str());
                }
                let ks = builder.sign_with(secret, inner.clock.as_ref(), &mut OsRandom)?;
                Ok(CachedKs {
                    ks,
                    issued_at: now,
                    valid_until: now.saturating_add(duration_secs(options.expiry)),
                })
            }
            Credentials::AppToken {
                id,
                token,
                hash_type,
                options,
            } => {
                let expiry = options.expiry.unwrap_or(inner.admin_ks.expiry);
                let start = self
                    .app_token()
                    .start_session(id.clone(), token.clone())
                    .hash_type(*hash_type)
                    .options(options.clone())
                    .expiry(expiry);
                let info = start.send().await?;
                let valid_until = match info.expiry {
                    Some(at) if at > RELATIVE_TIME_LIMIT => at,
                    Some(relative) if relative > 0 => now.saturating_add(relative),
                    _ => now.saturating_add(duration_secs(expiry)),
                };
                Ok(CachedKs {
                    ks: info.ks,
                    issued_at: now,
                    valid_until,
                })
            }
            Credentials::Ks(_) | Credentials::None => Err(Error::Config(
                "the client has no credentials to create a KS from".into(),
            )),
        }
    }

    /// Drops the cached managed KS if it is still `used` (a concurrent call may already
    /// have replaced it).
    pub(super) async fn invalidate_managed_ks(&self, used: &Ks) {
        let mut cached = self.inner.session.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.ks.expose_secret() == used.expose_secret())
        {
            tracing::debug!("kaltura: managed KS refused by the server, dropping it");
            *cached = None;
        }
    }
}

/// Converts a std duration to whole seconds as `i64`, saturating.
pub(crate) fn duration_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn renewal_margin_rule() {
        assert_eq!(renewal_margin(86_400), 8_640);
        assert_eq!(renewal_margin(3_600), 360);
        assert_eq!(renewal_margin(1_200), 300);
        assert_eq!(renewal_margin(120), 60);
        assert_eq!(renewal_margin(0), 0);
        let ks = CachedKs {
            ks: Ks::new("k"),
            issued_at: 1_000,
            valid_until: 1_000 + 86_400,
        };
        assert!(!ks.needs_renewal(1_000));
        assert!(!ks.needs_renewal(1_000 + 86_400 - 8_641));
        assert!(ks.needs_renewal(1_000 + 86_400 - 8_640));
        assert!(ks.needs_renewal(1_000 + 100_000));
    }
}
