//! KS privileges: the `name:value,name:value` list carried by a Kaltura Session.
//!
//! Kaltura treats privileges as an ordered map of name → optional value. The names the
//! server (`kSessionBase`) and Kaltura apps (KAF, Kaltura Meetings) know have a typed
//! [`Privilege`] variant; any other name is kept verbatim as [`Privilege::Other`].
//! Names are case-sensitive exactly as given (`eventId`, `userContextualRole` are
//! camel-cased, `privacycontext` is not).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, KsErrorKind};

/// `userContextualRole` value of an instructor / host (KAF, Kaltura Meetings).
pub const CONTEXTUAL_ROLE_INSTRUCTOR: u8 = 0;
/// `userContextualRole` value of an attendee (KAF, Kaltura Meetings).
pub const CONTEXTUAL_ROLE_ATTENDEE: u8 = 3;

/// `char::is_whitespace` of the first character, without decoding it when it is ASCII.
fn starts_with_whitespace(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(&b) if b.is_ascii() => is_ascii_whitespace(b),
        Some(_) => s.starts_with(char::is_whitespace),
        None => false,
    }
}

/// `char::is_whitespace` of the last character, without decoding it when it is ASCII.
fn ends_with_whitespace(s: &str) -> bool {
    match s.as_bytes().last() {
        Some(&b) if b.is_ascii() => is_ascii_whitespace(b),
        Some(_) => s.ends_with(char::is_whitespace),
        None => false,
    }
}

/// The ASCII characters `char::is_whitespace` accepts (including vertical tab, unlike
/// `u8::is_ascii_whitespace`).
fn is_ascii_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

/// Whether KS v2 reserves this field name for its own data (`_e _t _u _m _d`); a privilege
/// may not use it.
pub(crate) fn is_v2_reserved(name: &str) -> bool {
    matches!(name.as_bytes(), [b'_', b'e' | b't' | b'u' | b'm' | b'd'])
}

macro_rules! privileges {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// One KS privilege.
        ///
        /// Known names get a typed variant; every other name is kept verbatim in
        /// [`Privilege::Other`]. A typed variant is only used when the value's presence matches
        /// the privilege (`disableentitlement` has no value, `eventId` has one); otherwise the
        /// privilege is kept as `Other` so that it is reproduced exactly.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Privilege {
            /// `*`: every privilege. KS v2 encodes it as `all=*`, and `all=*` decodes back to it.
            All,
            /// `disableentitlement` (no value): entitlement checks are skipped.
            DisableEntitlement,
            /// `enableentitlement` (no value): entitlement checks are enforced.
            EnableEntitlement,
            $( $(#[$doc])* $variant(String), )*
            /// Any other privilege, name and value verbatim.
            Other {
                /// The privilege name, case-sensitive.
                name: String,
                /// The value, if any (`name` alone has none; `name:` has an empty one).
                value: Option<String>,
            },
        }

        impl Privilege {
            /// The privilege name as written in the KS (`*` for [`Privilege::All`]).
            pub fn name(&self) -> &str {
                match self {
                    Privilege::All => "*",
                    Privilege::DisableEntitlement => "disableentitlement",
                    Privilege::EnableEntitlement => "enableentitlement",
                    $( Privilege::$variant(_) => $name, )*
                    Privilege::Other { name, .. } => name,
                }
            }

            /// The privilege value, if it has one.
            pub fn value(&self) -> Option<&str> {
                match self {
                    Privilege::All | Privilege::DisableEntitlement | Privilege::EnableEntitlement => None,
                    $( Privilege::$variant(v) => Some(v), )*
                    Privilege::Other { value, .. } => value.as_deref(),
                }
            }

            /// Builds the most specific privilege for a name and value, without validation.
            pub(crate) fn from_parts(name: &str, value: Option<&str>) -> Privilege {
                match (name, value) {
                    ("*", None) => Privilege::All,
                    ("disableentitlement", None) => Privilege::DisableEntitlement,
                    ("enableentitlement", None) => Privilege::EnableEntitlement,
                    $( ($name, Some(v)) => Privilege::$variant(v.to_owned()), )*
                    (name, value) => Privilege::Other {
                        name: name.to_owned(),
                        value: value.map(str::to_owned),
                    },
                }
            }
        }
    };
}

privileges! {
    /// `eventId`: the Kaltura Events / virtual event id (read by KAF).
    EventId => "eventId",
    /// `resourceId`: a scheduling resource (e.g. a Kaltura Meetings room) id.
    ResourceId => "resourceId",
    /// `role`: an application role such as `viewerRole` or `adminRole`.
    Role => "role",
    /// `userContextualRole`: `0` instructor ([`CONTEXTUAL_ROLE_INSTRUCTOR`]), `3` attendee
    /// ([`CONTEXTUAL_ROLE_ATTENDEE`]). Kept as text so any value round-trips; see
    /// [`Privilege::user_contextual_role`].
    UserContextualRole => "userContextualRole",
    /// `sview`: view access to entries (`*` or `0_a/0_b`).
    Sview => "sview",
    /// `privacycontext`: the category privacy context the session works in.
    PrivacyContext => "privacycontext",
    /// `setrole`: a user role id or system name (e.g. `PLAYBACK_BASE_ROLE`) replacing the
    /// user's role; the server rejects unknown roles (`UNKNOWN_ROLE_ID`).
    SetRole => "setrole",
    /// `virtualeventid`: the virtual event id.
    VirtualEventId => "virtualeventid",
    /// `edit`: edit access to an entry (`entryId` or `*`).
    Edit => "edit",
    /// `list`: list access (`entryId` or `*`).
    List => "list",
    /// `download`: download access to an entry.
    Download => "download",
    /// `sessionid`: an id grouping sessions (used with `session.end`/limits).
    SessionId => "sessionid",
    /// `apptoken`: the app token the session was created from.
    AppToken => "apptoken",
    /// `actionslimit`: the number of API calls the KS may make.
    ActionsLimit => "actionslimit",
    /// `iprestrict`: the IP address the KS is restricted to.
    IpRestrict => "iprestrict",
    /// `urirestrict`: the URI prefix the KS is restricted to.
    UriRestrict => "urirestrict",
    /// `limitentry`: restricts the KS to one entry.
    LimitEntry => "limitentry",
    /// `reftime`: reference time for scheduling-related checks.
    RefTime => "reftime",
    /// `preview`: preview length (bytes) for paid content.
    Preview => "preview",
    /// `edituser`: the user id the KS may edit.
    EditUser => "edituser",
    /// `searchcontext`: the search context.
    SearchContext => "searchcontext",
    /// `firstName`: the user's first name (used by KAF / Kaltura Meetings).
    FirstName => "firstName",
    /// `lastName`: the user's last name (used by KAF / Kaltura Meetings).
    LastName => "lastName",
}

impl Privilege {
    /// Builds a privilege from a name and optional value, choosing the typed variant when the
    /// name is known, and validates it (see [`Privilege::validate`]).
    pub fn new(name: impl AsRef<str>, value: Option<&str>) -> crate::Result<Privilege> {
        let p = Privilege::from_parts(name.as_ref(), value);
        p.validate()?;
        Ok(p)
    }

    /// A `userContextualRole` privilege with a numeric role
    /// ([`CONTEXTUAL_ROLE_INSTRUCTOR`], [`CONTEXTUAL_ROLE_ATTENDEE`], …).
    pub fn user_contextual_role(role: u8) -> Privilege {
        Privilege::UserContextualRole(role.to_string())
    }

    /// The numeric value of a `userContextualRole` privilege, if this is one and its value is a
    /// number.
    pub fn contextual_role(&self) -> Option<u8> {
        match self {
            Privilege::UserContextualRole(v) => v.parse().ok(),
            _ => None,
        }
    }

    /// Checks that the privilege can be written into a KS without breaking its encoding:
    /// the name is not empty and contains neither `:` nor `,`, and the value contains no `,`.
    ///
    /// # Errors
    /// [`Error::Ks`] with [`KsErrorKind::InvalidPrivilege`].
    pub fn validate(&self) -> crate::Result<()> {
        let name = self.name();
        let value = self.value();
        let name_ok = !name.is_empty()
            && !name.bytes().any(|b| b == b':' || b == b',')
            && !starts_with_whitespace(name)
            && !ends_with_whitespace(name);
        let value_ok =
            value.is_none_or(|v| !v.bytes().any(|b| b == b',') && !ends_with_whitespace(v));
        if name_ok && value_ok {
            return Ok(());
        }
        let what = if name.is_empty() {
            "empty privilege name".to_owned()
        } else if !name_ok {
            format!("privilege name {name:?} contains ':' or ',' or surrounding whitespace")
        } else {
            format!("value of privilege {name:?} contains ',' or trailing whitespace")
        };
        Err(Error::Ks(KsErrorKind::InvalidPrivilege(what)))
    }

    /// The name this privilege has in a KS v2 field list (`all` for [`Privilege::All`]).
    pub(crate) fn v2_name(&self) -> &str {
        match self {
            Privilege::All => "all",
            other => other.name(),
        }
    }

    /// The value this privilege has in a KS v2 field list (`*` for [`Privilege::All`], empty
    /// when it has none).
    pub(crate) fn v2_value(&self) -> &str {
        match self {
            Privilege::All => "*",
            other => other.value().unwrap_or(""),
        }
    }
}

impl fmt::Display for Privilege {
    /// `name` or `name:value`, as in a privileges string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if let Some(v) = self.value() {
            f.write_str(":")?;
            f.write_str(v)?;
        }
        Ok(())
    }
}

/// An ordered list of privileges with unique names.
///
/// Parsed from and rendered to the `name:value,name,name:value` form used by
/// `session.start` and KS v1. Adding a privilege whose name is already present replaces its
/// value and keeps its first position, as the server's (PHP array) parser does.
///
/// ```
/// use kaltura_client::ks::{Privilege, Privileges};
///
/// let p: Privileges = "privacycontext:abc, setrole:PLAYBACK_BASE_ROLE,disableentitlement".parse()?;
/// assert_eq!(p.get("setrole"), Some(&Privilege::SetRole("PLAYBACK_BASE_ROLE".into())));
/// assert_eq!(p.to_string(), "privacycontext:abc,setrole:PLAYBACK_BASE_ROLE,disableentitlement");
/// # Ok::<(), kaltura_client::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Privileges(Vec<Privilege>);

impl Privileges {
    /// An empty list.
    pub const fn new() -> Self {
        Privileges(Vec::new())
    }

    /// Adds a privilege; one with the same name is replaced in place.
    pub fn insert(&mut self, p: Privilege) {
        match self.0.iter_mut().find(|q| q.name() == p.name()) {
            Some(slot) => *slot = p,
            None => self.0.push(p),
        }
    }

    /// Builder-style [`Privileges::insert`].
    #[must_use]
    pub fn with(mut self, p: Privilege) -> Self {
        self.insert(p);
        self
    }

    /// Removes the privilege with this name, returning it.
    pub fn remove(&mut self, name: &str) -> Option<Privilege> {
        let i = self.0.iter().position(|p| p.name() == name)?;
        Some(self.0.remove(i))
    }

    /// The privilege with this name (case-sensitive; `*` for [`Privilege::All`]).
    pub fn get(&self, name: &str) -> Option<&Privilege> {
        self.0.iter().find(|p| p.name() == name)
    }

    /// Whether a privilege with this name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The privileges in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Privilege> {
        self.0.iter()
    }

    /// The privileges in order, as a slice.
    pub fn as_slice(&self) -> &[Privilege] {
        &self.0
    }

    /// The number of privileges.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no privileges.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Validates every privilege (see [`Privilege::validate`]).
    ///
    /// # Errors
    /// [`Error::Ks`] with [`KsErrorKind::InvalidPrivilege`] for the first invalid one.
    pub fn validate(&self) -> crate::Result<()> {
        self.0.iter().try_for_each(Privilege::validate)
    }

    /// Parses without validation: split on `,`, trim, skip empty items, split each at the
    /// first `:`. Used when decoding a signed KS, which is accepted as the server would.
    pub(crate) fn parse_lenient(s: &str) -> Privileges {
        let mut out = Privileges::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let p = match item.split_once(':') {
                Some((name, value)) => Privilege::from_parts(name, Some(value)),
                None => Privilege::from_parts(item, None),
            };
            out.insert(p);
        }
        out
    }
}

impl FromStr for Privileges {
    type Err = Error;

    /// Parses `name:value,name,name:value` (items trimmed, empty items skipped, each split at
    /// its first `:`; a repeated name keeps its first position and last value).
    ///
    /// # Errors
    /// [`KsErrorKind::InvalidPrivilege`] for an item with an empty name (`:x`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = Privileges::parse_lenient(s);
        p.validate()?;
        Ok(p)
    }
}

impl fmt::Display for Privileges {
    /// Renders `name:value,name,…` (no spaces), the form `FromStr` parses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            fmt::Display::fmt(p, f)?;
        }
        Ok(())
    }
}

impl FromIterator<Privilege> for Privileges {
    fn from_iter<I: IntoIterator<Item = Privilege>>(iter: I) -> Self {
        let mut out = Privileges::new();
        for p in iter {
            out.insert(p);
        }
        out
    }
}

impl Extend<Privilege> for Privileges {
    fn extend<I: IntoIterator<Item = Privilege>>(&mut self, iter: I) {
        for p in iter {
            self.insert(p);
        }
    }
}

impl IntoIterator for Privileges {
    type Item = Privilege;
    type IntoIter = std::vec::IntoIter<Privilege>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Privileges {
    type Item = &'a Privilege;
    type IntoIter = std::slice::Iter<'a, Privilege>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_collection_api_keeps_one_privilege_per_name() {
        let mut p = Privileges::default();
        assert!(p.is_empty());
        p = p.with(Privilege::from_parts("sview", Some("0_a")));
        assert!(!p.is_empty());
        assert!(p.contains("sview"));
        assert!(!p.contains("view"));
        p.extend([
            Privilege::from_parts("sview", Some("0_b")),
            Privilege::from_parts("setrole", Some("R")),
        ]);
        assert_eq!(p.len(), 2);
        assert_eq!(p.get("sview").and_then(Privilege::value), Some("0_b"));
        let names: Vec<&str> = (&p).into_iter().map(Privilege::name).collect();
        assert_eq!(names, ["sview", "setrole"]);
        assert_eq!(p.remove("view"), None);
        assert_eq!(
            p.remove("sview").map(|x| x.name().to_owned()),
            Some("sview".to_owned())
        );
        assert!(!p.contains("sview"));
        let owned: Vec<String> = p.into_iter().map(|x| x.name().to_owned()).collect();
        assert_eq!(owned, ["setrole"]);
    }

    #[test]
    fn validation_refuses_surrounding_unicode_whitespace_and_bad_values() {
        for name in [
            "\u{3000}sview",
            "sview\u{a0}",
            " sview",
            "sview\t",
            "a:b",
            "a,b",
            "",
        ] {
            assert!(
                Privilege::from_parts(name, None).validate().is_err(),
                "{name:?}"
            );
        }
        for value in ["0_a ", "0_a\u{3000}", "0_a,0_b"] {
            assert!(
                Privilege::from_parts("sview", Some(value))
                    .validate()
                    .is_err(),
                "{value:?}"
            );
        }
        for value in ["0_a", "é", " leading is kept"] {
            assert!(
                Privilege::from_parts("sview", Some(value))
                    .validate()
                    .is_ok(),
                "{value:?}"
            );
        }
        assert!(Privilege::from_parts("é", None).validate().is_ok());
    }

    #[test]
    fn parses_known_and_unknown_names() {
        let p: Privileges = "eventId:42,userContextualRole:3,*,disableentitlement,foo,bar:,baz:a:b"
            .parse()
            .unwrap();
        let v: Vec<_> = p.iter().cloned().collect();
        assert_eq!(
            v,
            vec![
                Privilege::EventId("42".into()),
                Privilege::UserContextualRole("3".into()),
                Privilege::All,
                Privilege::DisableEntitlement,
                Privilege::Other {
                    name: "foo".into(),
                    value: None
                },
                Privilege::Other {
                    name: "bar".into(),
                    value: Some(String::new())
                },
                Privilege::Other {
                    name: "baz".into(),
                    value: Some("a:b".into())
                },
            ]
        );
        assert_eq!(
            p.to_string(),
            "eventId:42,userContextualRole:3,*,disableentitlement,foo,bar:,baz:a:b"
        );
        assert_eq!(
            p.get("userContextualRole")
                .and_then(Privilege::contextual_role),
            Some(3)
        );
    }

    #[test]
    fn names_are_case_sensitive() {
        let p: Privileges = "eventid:1,EventId:2".parse().unwrap();
        assert_eq!(p.len(), 2);
        assert!(matches!(p.get("eventid"), Some(Privilege::Other { .. })));
        assert!(p.get("eventId").is_none());
    }

    #[test]
    fn mismatched_value_presence_stays_other() {
        let p: Privileges = "disableentitlement:1,edit".parse().unwrap();
        assert!(p.iter().all(|p| matches!(p, Privilege::Other { .. })));
        assert_eq!(p.to_string(), "disableentitlement:1,edit");
    }

    #[test]
    fn repeated_name_replaces_in_place() {
        let p: Privileges = "a:1,b:2,a:3".parse().unwrap();
        assert_eq!(p.to_string(), "a:3,b:2");
    }

    #[test]
    fn trims_and_skips_empty_items() {
        let p: Privileges = " , sview:* ,,  list:0_x , ".parse().unwrap();
        assert_eq!(p.to_string(), "sview:*,list:0_x");
        assert!("".parse::<Privileges>().unwrap().is_empty());
    }

    #[test]
    fn rejects_values_that_break_the_encoding() {
        for bad in [
            Privilege::Other {
                name: String::new(),
                value: None,
            },
            Privilege::Other {
                name: "a:b".into(),
                value: None,
            },
            Privilege::Other {
                name: "a,b".into(),
                value: None,
            },
            Privilege::EventId("1,2".into()),
        ] {
            assert!(
                matches!(
                    bad.validate(),
                    Err(Error::Ks(KsErrorKind::InvalidPrivilege(_)))
                ),
                "{bad:?}"
            );
        }
        assert!(":x".parse::<Privileges>().is_err());
        assert!(Privilege::new("ok", Some("a b")).is_ok());
    }
}
