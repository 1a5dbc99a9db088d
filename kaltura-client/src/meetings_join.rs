//! Kaltura Meetings join links.
//!
//! [`MeetingJoin`] builds the link that opens a Kaltura Meetings room for one user: a USER
//! KS carrying the room (`eventId` / `resourceId`), the role and the user's name, appended to
//! the partner's KAF launch URL (`https://{partnerId}.kaf.kaltura.com/virtualEvent/launch?ks=…`).
//! The signed [`JoinUrl`] is a secret: anyone holding it joins as that user.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::clock::Clock;
use crate::ids::{PartnerId, ScheduleEventId, ScheduleResourceId};
use crate::ks::{Ks, KsBuilder, KsVersion, Privilege, Privileges, RandomSource, SessionType};
use crate::urls::url_safe_ks;
use crate::{Error, Result};

/// Which Kaltura Meetings room a join link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingTarget {
    /// A scheduled session (`eventId` privilege): the usual case.
    Event(ScheduleEventId),
    /// A room resource (`resourceId` privilege): moderators may enter to prepare; attendees
    /// wait until a moderator is in.
    Resource(ScheduleResourceId),
}

/// The role a user has inside a Kaltura Meetings room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeetingRole {
    /// `role:viewerRole`, `userContextualRole:3`.
    #[default]
    Attendee,
    /// `role:adminRole`, `userContextualRole:0` (instructor / moderator).
    Instructor,
}

impl MeetingRole {
    /// The `role` privilege value.
    pub fn ks_role(self) -> &'static str {
        match self {
            MeetingRole::Attendee => "viewerRole",
            MeetingRole::Instructor => "adminRole",
        }
    }

    /// The `userContextualRole` privilege value.
    pub fn user_contextual_role(self) -> u8 {
        match self {
            MeetingRole::Attendee => crate::ks::CONTEXTUAL_ROLE_ATTENDEE,
            MeetingRole::Instructor => crate::ks::CONTEXTUAL_ROLE_INSTRUCTOR,
        }
    }
}

/// The default lifetime of a join link's KS.
pub const DEFAULT_JOIN_EXPIRY: Duration = Duration::from_secs(4 * 3600);

/// Builds a Kaltura Meetings join link for one user.
///
/// ```
/// use kaltura_client::meetings_join::{MeetingJoin, MeetingRole, MeetingTarget};
/// use kaltura_client::{PartnerId, ScheduleEventId};
/// use secrecy::SecretString;
///
/// let join = MeetingJoin::new(PartnerId::new(12345), MeetingTarget::Event(ScheduleEventId::new(987)), "discord_42")
///     .role(MeetingRole::Instructor)
///     .first_name("Ada")
///     .last_name("Lovelace");
/// let link = join.build(&SecretString::from("admin-secret"))?;
/// assert!(link.expose_url().starts_with("https://12345.kaf.kaltura.com/virtualEvent/launch?ks=djJ8"));
/// # Ok::<(), kaltura_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MeetingJoin {
    partner_id: PartnerId,
    target: MeetingTarget,
    user_id: String,
    role: MeetingRole,
    first_name: Option<String>,
    last_name: Option<String>,
    expiry: Duration,
    kaf_url: Option<String>,
    version: KsVersion,
}

impl MeetingJoin {
    /// A join link to `target` for the Kaltura user `user_id`, as an attendee.
    pub fn new(partner_id: PartnerId, target: MeetingTarget, user_id: impl Into<String>) -> Self {
        MeetingJoin {
            partner_id,
            target,
            user_id: user_id.into(),
            role: MeetingRole::Attendee,
            first_name: None,
            last_name: None,
            expiry: DEFAULT_JOIN_EXPIRY,
            kaf_url: None,
            version: KsVersion::V2,
        }
    }

    /// The user's role in the room.
    #[must_use]
    pub fn role(mut self, role: MeetingRole) -> Self {
        self.role = role;
        self
    }

    /// The first name shown in the room. Commas (which would end the privilege) become
    /// spaces; at most 64 characters are kept.
    #[must_use]
    pub fn first_name(mut self, name: &str) -> Self {
        self.first_name = clean_name(name);
        self
    }

    /// The last name shown in the room (cleaned like [`MeetingJoin::first_name`]).
    #[must_use]
    pub fn last_name(mut self, name: &str) -> Self {
        self.last_name = clean_name(name);
        self
    }

    /// How long the link works (default [`DEFAULT_JOIN_EXPIRY`]).
    #[must_use]
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// The KAF base URL (default `https://{partnerId}.kaf.kaltura.com`).
    #[must_use]
    pub fn kaf_url(mut self, url: impl Into<String>) -> Self {
        self.kaf_url = Some(url.into());
        self
    }

    /// The KS version (default v2).
    #[must_use]
    pub fn ks_version(mut self, version: KsVersion) -> Self {
        self.version = version;
        self
    }

    /// The privileges the join KS carries.
    ///
    /// # Errors
    ///
    /// [`Error::Ks`] if a privilege value cannot be written into a KS.
    pub fn privileges(&self) -> Result<Privileges> {
        let mut p = Privileges::default();
        p.insert(match self.target {
            MeetingTarget::Event(id) => Privilege::new("eventId", Some(&id.to_string()))?,
            MeetingTarget::Resource(id) => Privilege::new("resourceId", Some(&id.to_string()))?,
        });
        p.insert(Privilege::new("role", Some(self.role.ks_role()))?);
        p.insert(Privilege::user_contextual_role(
            self.role.user_contextual_role(),
        ));
        if let Some(first) = &self.first_name {
            p.insert(Privilege::new("firstName", Some(first))?);
        }
        if let Some(last) = &self.last_name {
            p.insert(Privilege::new("lastName", Some(last))?);
        }
        Ok(p)
    }

    /// The unsigned KS: a USER session for the user with [`MeetingJoin::privileges`].
    ///
    /// # Errors
    ///
    /// As [`MeetingJoin::privileges`].
    pub fn ks_builder(&self) -> Result<KsBuilder> {
        Ok(KsBuilder::new(self.partner_id)
            .session_type(SessionType::User)
            .user_id(self.user_id.clone())
            .expiry(self.expiry)
            .version(self.version)
            .privileges(self.privileges()?))
    }

    /// Signs the KS with the partner's admin secret and renders the link.
    ///
    /// # Errors
    ///
    /// [`Error::Ks`] if the KS cannot be built or signed; [`Error::Config`] if the KAF URL
    /// is not an absolute `http(s)` URL.
    pub fn build(&self, admin_secret: &SecretString) -> Result<JoinUrl> {
        let ks = self.ks_builder()?.sign(admin_secret)?;
        self.render(ks)
    }

    /// Like [`MeetingJoin::build`] with an injected clock and random source (for tests).
    ///
    /// # Errors
    ///
    /// As [`MeetingJoin::build`].
    pub fn build_with(
        &self,
        admin_secret: &SecretString,
        clock: &dyn Clock,
        rng: &mut dyn RandomSource,
    ) -> Result<JoinUrl> {
        let ks = self.ks_builder()?.sign_with(admin_secret, clock, rng)?;
        self.render(ks)
    }

    /// Renders the link for an already signed KS.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the KAF URL is not an absolute `http(s)` URL.
    pub fn render(&self, ks: Ks) -> Result<JoinUrl> {
        let base = match &self.kaf_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}.kaf.kaltura.com", self.partner_id),
        };
        let mut url = Url::parse(&base)
            .map_err(|e| Error::Config(format!("invalid KAF URL {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "KAF URL must be an absolute http(s) URL, got {base}"
            )));
        }
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["virtualEvent", "launch"]);
        }
        url.query_pairs_mut().append_pair("ks", &url_safe_ks(&ks));
        Ok(JoinUrl {
            url: SecretString::from(String::from(url)),
            ks,
        })
    }
}

fn clean_name(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .map(|c| if c == ',' || c.is_control() { ' ' } else { c })
        .take(64)
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    (!cleaned.is_empty()).then_some(cleaned)
}

/// A signed join link. It grants entry to the room, so it is a secret: Debug redacts it.
#[derive(Clone)]
pub struct JoinUrl {
    url: SecretString,
    ks: Ks,
}

impl JoinUrl {
    /// The link, to hand to the user (privately: anyone holding it can join as them).
    pub fn expose_url(&self) -> &str {
        use secrecy::ExposeSecret as _;
        self.url.expose_secret()
    }

    /// The KS inside the link.
    pub fn ks(&self) -> &Ks {
        &self.ks
    }
}

impl fmt::Debug for JoinUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinUrl(**redacted**)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn meeting_join_link_carries_the_documented_privileges() {
        use crate::clock::FixedClock;
        use crate::ks::FixedRandom;
        let secret = SecretString::from("abcdef0123456789abcdef0123456789");
        let link = MeetingJoin::new(
            PartnerId::new(12345),
            MeetingTarget::Event(ScheduleEventId::new(4242)),
            "discord_42",
        )
        .role(MeetingRole::Instructor)
        .first_name("Ada, Countess")
        .last_name("  Lovelace ")
        .build_with(
            &secret,
            &FixedClock(1_700_000_000),
            &mut FixedRandom {
                bytes: [7; 16],
                v1: 1,
            },
        )
        .unwrap();
        let url = Url::parse(link.expose_url()).unwrap();
        assert_eq!(url.host_str(), Some("12345.kaf.kaltura.com"));
        assert_eq!(url.path(), "/virtualEvent/launch");
        let ks = url
            .query_pairs()
            .find(|(k, _)| k == "ks")
            .unwrap()
            .1
            .into_owned();
        let decoded = crate::ks::decode(&ks, &secret).unwrap();
        assert_eq!(decoded.session_type, SessionType::User);
        assert_eq!(decoded.user_id, "discord_42");
        assert_eq!(
            decoded.valid_until,
            1_700_000_000 + DEFAULT_JOIN_EXPIRY.as_secs() as i64
        );
        assert_eq!(
            decoded.privileges.to_string(),
            "eventId:4242,role:adminRole,userContextualRole:0,firstName:Ada Countess,lastName:Lovelace"
        );
        assert!(!format!("{link:?}").contains(&ks));
    }

    #[test]
    fn attendee_link_for_a_resource_on_a_custom_kaf_host() {
        let secret = SecretString::from("s");
        let join = MeetingJoin::new(
            PartnerId::new(1),
            MeetingTarget::Resource(ScheduleResourceId::new(77)),
            "u",
        )
        .kaf_url("https://mykaf.example.org/");
        assert_eq!(
            join.privileges().unwrap().to_string(),
            "resourceId:77,role:viewerRole,userContextualRole:3"
        );
        let link = join.build(&secret).unwrap();
        assert!(
            link.expose_url()
                .starts_with("https://mykaf.example.org/virtualEvent/launch?ks=")
        );
        assert!(
            join.clone()
                .kaf_url("javascript:alert(1)")
                .build(&secret)
                .is_err()
        );
    }
}
