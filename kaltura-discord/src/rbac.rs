//! Role-based access control: who may do what in a guild, and which Kaltura role they get.
//!
//! Vocabulary (after casbin's RBAC with domains): a [`Subject`] (a Discord member with their
//! role ids and permission bits) asks for a [`Permission`] in a guild whose [`GuildPolicy`]
//! comes from that guild's configuration. The policy maps Discord roles, Discord permission
//! bits and individual users to one of our [`Role`]s, each of which grants a fixed set of
//! permissions; explicit per-user permission grants and deny rules refine it.
//!
//! [`authorize`] is a pure function. It denies by default, a matching deny rule always wins,
//! and the [`Decision`] names the rule that decided, so `/kaltura` can explain a refusal.
//!
//! ```
//! use kaltura_discord::rbac::{authorize, DiscordPermissions, GuildPolicy, Permission, Role, Subject};
//!
//! let policy = GuildPolicy::default(); // members are viewers, server managers are admins
//! let member = Subject::new("80351110224678912".parse()?);
//! assert!(authorize(&policy, &member, Permission::SearchMedia).allowed);
//! assert!(!authorize(&policy, &member, Permission::ManageConfig).allowed);
//!
//! let manager = member.clone().with_permissions(DiscordPermissions::MANAGE_GUILD);
//! assert!(authorize(&policy, &manager, Permission::ManageConfig).allowed);
//! # Ok::<(), kaltura_discord::ids::InvalidSnowflake>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kaltura_client::meetings_join::MeetingRole;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::{DiscordUserId, RoleId};

/// A right a command needs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Permission {
    /// See a media entry's details and player.
    ViewMedia,
    /// Search the partner's media.
    SearchMedia,
    /// Post a media entry into a channel for others.
    ShareMedia,
    /// List the guild's active and upcoming meetings.
    ListMeetings,
    /// Join a meeting as an attendee.
    JoinMeeting,
    /// Start (schedule) a meeting.
    StartMeeting,
    /// Join meetings as a host (instructor / moderator rights in the room).
    HostMeeting,
    /// End a meeting.
    EndMeeting,
    /// Change the guild's configuration.
    ManageConfig,
    /// Set up and route Kaltura event notifications.
    ManageNotifications,
    /// Link one's own Discord account to a Kaltura user.
    LinkOwnIdentity,
    /// Link or unlink other members' Kaltura users.
    ManageIdentities,
    /// Read the guild's audit log.
    ViewAuditLog,
}

impl Permission {
    /// Every permission, in declaration order.
    pub const ALL: &'static [Permission] = &[
        Permission::ViewMedia,
        Permission::SearchMedia,
        Permission::ShareMedia,
        Permission::ListMeetings,
        Permission::JoinMeeting,
        Permission::StartMeeting,
        Permission::HostMeeting,
        Permission::EndMeeting,
        Permission::ManageConfig,
        Permission::ManageNotifications,
        Permission::LinkOwnIdentity,
        Permission::ManageIdentities,
        Permission::ViewAuditLog,
    ];

    /// The snake_case name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewMedia => "view_media",
            Permission::SearchMedia => "search_media",
            Permission::ShareMedia => "share_media",
            Permission::ListMeetings => "list_meetings",
            Permission::JoinMeeting => "join_meeting",
            Permission::StartMeeting => "start_meeting",
            Permission::HostMeeting => "host_meeting",
            Permission::EndMeeting => "end_meeting",
            Permission::ManageConfig => "manage_config",
            Permission::ManageNotifications => "manage_notifications",
            Permission::LinkOwnIdentity => "link_own_identity",
            Permission::ManageIdentities => "manage_identities",
            Permission::ViewAuditLog => "view_audit_log",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Our roles, from least to most privileged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Watches, searches and shares media; joins meetings as an attendee.
    Viewer,
    /// A viewer who also starts, hosts and ends meetings (Kaltura instructor).
    Moderator,
    /// Everything, including configuration, notifications and identity links.
    Admin,
}

impl Role {
    /// The permissions this role grants.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Viewer => &[
                ViewMedia,
                SearchMedia,
                ShareMedia,
                ListMeetings,
                JoinMeeting,
                LinkOwnIdentity,
            ],
            Role::Moderator => &[
                ViewMedia,
                SearchMedia,
                ShareMedia,
                ListMeetings,
                JoinMeeting,
                LinkOwnIdentity,
                StartMeeting,
                HostMeeting,
                EndMeeting,
            ],
            Role::Admin => Permission::ALL,
        }
    }

    /// Whether this role grants `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// The Kaltura-side role a member with this role gets in KS privileges (`role` and
    /// `userContextualRole`).
    pub fn kaltura_role(self) -> MeetingRole {
        match self {
            Role::Viewer => MeetingRole::Attendee,
            Role::Moderator | Role::Admin => MeetingRole::Instructor,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        })
    }
}

/// Discord permission bits of a member (the decimal string `member.permissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DiscordPermissions(u64);

impl DiscordPermissions {
    /// No permissions.
    pub const NONE: Self = Self(0);
    /// `ADMINISTRATOR` (1 << 3): implies every permission.
    pub const ADMINISTRATOR: Self = Self(1 << 3);
    /// `MANAGE_GUILD` (1 << 5).
    pub const MANAGE_GUILD: Self = Self(1 << 5);
    /// `MANAGE_CHANNELS` (1 << 4).
    pub const MANAGE_CHANNELS: Self = Self(1 << 4);
    /// `MANAGE_ROLES` (1 << 28).
    pub const MANAGE_ROLES: Self = Self(1 << 28);
    /// `MANAGE_EVENTS` (1 << 33).
    pub const MANAGE_EVENTS: Self = Self(1 << 33);

    /// From raw bits.
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every bit of `other` is set; `ADMINISTRATOR` implies all of them, as in Discord.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & Self::ADMINISTRATOR.0 != 0 || self.0 & other.0 == other.0
    }

    /// Parses Discord's decimal string form.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        raw.parse().ok().map(Self)
    }
}

impl std::ops::BitOr for DiscordPermissions {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl Serialize for DiscordPermissions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DiscordPermissions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Self::parse(&s).ok_or_else(|| {
                D::Error::custom(format!(
                    "Discord permissions must be a decimal bit set, got {s:?}"
                ))
            }),
            serde_json::Value::Number(n) => n.as_u64().map(Self).ok_or_else(|| {
                D::Error::custom(format!(
                    "Discord permissions must be a non-negative integer, got {n}"
                ))
            }),
            other => Err(D::Error::custom(format!(
                "Discord permissions must be a decimal string, got {other}"
            ))),
        }
    }
}

/// A Discord permission that can be bound to one of our roles.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum DiscordPermission {
    /// `ADMINISTRATOR`.
    Administrator,
    /// `MANAGE_GUILD`.
    ManageGuild,
    /// `MANAGE_CHANNELS`.
    ManageChannels,
    /// `MANAGE_ROLES`.
    ManageRoles,
    /// `MANAGE_EVENTS`.
    ManageEvents,
}

impl DiscordPermission {
    /// The bit this permission stands for.
    pub fn bits(self) -> DiscordPermissions {
        match self {
            DiscordPermission::Administrator => DiscordPermissions::ADMINISTRATOR,
            DiscordPermission::ManageGuild => DiscordPermissions::MANAGE_GUILD,
            DiscordPermission::ManageChannels => DiscordPermissions::MANAGE_CHANNELS,
            DiscordPermission::ManageRoles => DiscordPermissions::MANAGE_ROLES,
            DiscordPermission::ManageEvents => DiscordPermissions::MANAGE_EVENTS,
        }
    }
}

/// A set of permissions in a deny rule: every permission, or the listed ones.
///
/// In configuration: the string `"all"` or a list such as `["start_meeting"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionSet {
    /// Every permission.
    All,
    /// Only these.
    Only(BTreeSet<Permission>),
}

impl PermissionSet {
    /// Whether `permission` is in the set.
    pub fn contains(&self, permission: Permission) -> bool {
        match self {
            PermissionSet::All => true,
            PermissionSet::Only(set) => set.contains(&permission),
        }
    }
}

impl JsonSchema for PermissionSet {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PermissionSet".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let list = generator.subschema_for::<BTreeSet<Permission>>();
        schemars::json_schema!({
            "description": "\"all\" or a list of permissions",
            "oneOf": [{"const": "all"}, list]
        })
    }
}

impl Serialize for PermissionSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PermissionSet::All => s.serialize_str("all"),
            PermissionSet::Only(set) => set.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for PermissionSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) if s == "all" => Ok(PermissionSet::All),
            v @ serde_json::Value::Array(_) => serde_json::from_value(v)
                .map(PermissionSet::Only)
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "expected \"all\" or a list of permissions, got {other}"
            ))),
        }
    }
}

/// Who a deny rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenySubject {
    /// One member.
    User(DiscordUserId),
    /// Every member with this Discord role.
    Role(RoleId),
    /// Every member.
    Everyone,
}

/// Refuses permissions to a subject whatever else grants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DenyRule {
    /// Who is refused.
    pub subject: DenySubject,
    /// What is refused.
    pub permissions: PermissionSet,
}

/// What one member is given explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserGrant {
    /// A role for this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Single permissions on top of any role.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub permissions: BTreeSet<Permission>,
}

/// A guild's access policy, read from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GuildPolicy {
    /// The role every member has (`null` for none: only explicitly mapped members may act).
    pub everyone: Option<Role>,
    /// Discord role id → role.
    pub roles: BTreeMap<RoleId, Role>,
    /// Discord permission → role (`ADMINISTRATOR` and `MANAGE_GUILD` map to admin by default).
    pub discord_permissions: BTreeMap<DiscordPermission, Role>,
    /// Per-member grants.
    pub users: BTreeMap<DiscordUserId, UserGrant>,
    /// Deny rules; any match refuses.
    pub deny: Vec<DenyRule>,
}

impl Default for GuildPolicy {
    fn default() -> Self {
        GuildPolicy {
            everyone: Some(Role::Viewer),
            roles: BTreeMap::new(),
            discord_permissions: [
                (DiscordPermission::Administrator, Role::Admin),
                (DiscordPermission::ManageGuild, Role::Admin),
            ]
            .into(),
            users: BTreeMap::new(),
            deny: Vec::new(),
        }
    }
}

impl GuildPolicy {
    /// A policy that grants nothing to anyone.
    pub fn deny_all() -> Self {
        GuildPolicy {
            everyone: None,
            roles: BTreeMap::new(),
            discord_permissions: BTreeMap::new(),
            users: BTreeMap::new(),
            deny: Vec::new(),
        }
    }
}

/// The member asking: who they are, their role ids and their Discord permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The member.
    pub user: DiscordUserId,
    /// Their Discord role ids (not including `@everyone`).
    pub roles: Vec<RoleId>,
    /// Their permission bits in the channel where they asked.
    pub permissions: DiscordPermissions,
}

impl Subject {
    /// A member with no roles and no permission bits.
    pub fn new(user: DiscordUserId) -> Self {
        Subject {
            user,
            roles: Vec::new(),
            permissions: DiscordPermissions::NONE,
        }
    }

    /// With these Discord roles.
    #[must_use]
    pub fn with_roles(mut self, roles: impl IntoIterator<Item = RoleId>) -> Self {
        self.roles = roles.into_iter().collect();
        self
    }

    /// With these Discord permission bits.
    #[must_use]
    pub fn with_permissions(mut self, permissions: DiscordPermissions) -> Self {
        self.permissions = permissions;
        self
    }
}

/// The rule that decided an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A deny rule matched (index into [`GuildPolicy::deny`]).
    Denied {
        /// Position of the rule in the policy.
        index: usize,
        /// Whom it names.
        subject: DenySubject,
    },
    /// The member was granted the permission itself.
    UserPermission(DiscordUserId),
    /// The member was given a role that grants it.
    UserRole(DiscordUserId, Role),
    /// A Discord permission bit of the member maps to a role that grants it.
    DiscordPermission(DiscordPermission, Role),
    /// A Discord role of the member maps to a role that grants it.
    DiscordRole(RoleId, Role),
    /// Every member has a role that grants it.
    Everyone(Role),
    /// Nothing grants it: denied by default.
    NoMatch,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Denied { index, subject } => match subject {
                DenySubject::User(u) => write!(f, "deny rule #{} for user {u}", index + 1),
                DenySubject::Role(r) => write!(f, "deny rule #{} for role {r}", index + 1),
                DenySubject::Everyone => write!(f, "deny rule #{} for everyone", index + 1),
            },
            Rule::UserPermission(u) => write!(f, "explicit grant to user {u}"),
            Rule::UserRole(u, role) => write!(f, "user {u} is {role}"),
            Rule::DiscordPermission(p, role) => write!(f, "Discord permission {p:?} makes {role}"),
            Rule::DiscordRole(r, role) => write!(f, "Discord role {r} makes {role}"),
            Rule::Everyone(role) => write!(f, "every member is {role}"),
            Rule::NoMatch => f.write_str("no rule grants it (denied by default)"),
        }
    }
}

/// The outcome of [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the permission is granted.
    pub allowed: bool,
    /// The rule that decided.
    pub rule: Rule,
}

impl Decision {
    /// `Ok(())` when allowed, otherwise [`crate::Error::Denied`] naming `permission` and the
    /// deciding rule. The one place a refusal becomes an error.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Denied`] when the decision is a refusal.
    pub fn into_result(self, permission: Permission) -> crate::Result<()> {
        if self.allowed {
            Ok(())
        } else {
            Err(crate::Error::Denied {
                permission,
                reason: self.rule.to_string(),
            })
        }
    }
}

fn deny_matches(rule: &DenyRule, subject: &Subject) -> bool {
    match rule.subject {
        DenySubject::User(u) => u == subject.user,
        DenySubject::Role(r) => subject.roles.contains(&r),
        DenySubject::Everyone => true,
    }
}

/// Every role the subject holds, with the rule that gives it, strongest source first:
/// the member's own grant, Discord permission bits, Discord roles, then everyone.
fn granted_roles<'a>(
    policy: &'a GuildPolicy,
    subject: &'a Subject,
) -> impl Iterator<Item = (Role, Rule)> + 'a {
    let user = policy
        .users
        .get(&subject.user)
        .and_then(|g| g.role)
        .map(|role| (role, Rule::UserRole(subject.user, role)));
    let bits = policy
        .discord_permissions
        .iter()
        .filter(|(p, _)| subject.permissions.contains(p.bits()))
        .map(|(&p, &role)| (role, Rule::DiscordPermission(p, role)));
    let roles = subject.roles.iter().filter_map(|r| {
        policy
            .roles
            .get(r)
            .map(|&role| (role, Rule::DiscordRole(*r, role)))
    });
    let everyone = policy.everyone.map(|role| (role, Rule::Everyone(role)));
    user.into_iter().chain(bits).chain(roles).chain(everyone)
}

/// Decides whether `subject` may use `permission` under `policy`.
///
/// Order: deny rules (any match refuses), the member's explicit permissions, then the roles
/// the member holds (own role, Discord permission bits, Discord roles, everyone) — the first
/// role that grants the permission is named in the decision. Nothing matching means denied.
pub fn authorize(policy: &GuildPolicy, subject: &Subject, permission: Permission) -> Decision {
    if let Some((index, rule)) = policy
        .deny
        .iter()
        .enumerate()
        .find(|(_, r)| r.permissions.contains(permission) && deny_matches(r, subject))
    {
        return Decision {
            allowed: false,
            rule: Rule::Denied {
                index,
                subject: rule.subject,
            },
        };
    }
    if policy
        .users
        .get(&subject.user)
        .is_some_and(|g| g.permissions.contains(&permission))
    {
        return Decision {
            allowed: true,
            rule: Rule::UserPermission(subject.user),
        };
    }
    match granted_roles(policy, subject).find(|(role, _)| role.grants(permission)) {
        Some((_, rule)) => Decision {
            allowed: true,
            rule,
        },
        None => Decision {
            allowed: false,
            rule: Rule::NoMatch,
        },
    }
}

/// The highest role the subject holds, with the rule that gives it, if any.
///
/// This decides the Kaltura-side role ([`Role::kaltura_role`]) in the member's KS. A deny rule
/// for every permission removes all roles.
pub fn effective_role(policy: &GuildPolicy, subject: &Subject) -> Option<(Role, Rule)> {
    let denied_all = policy
        .deny
        .iter()
        .any(|r| r.permissions == PermissionSet::All && deny_matches(r, subject));
    if denied_all {
        return None;
    }
    granted_roles(policy, subject).fold(
        None,
        |best: Option<(Role, Rule)>, (role, rule)| match &best {
            Some((b, _)) if *b >= role => best,
            _ => Some((role, rule)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user(id: u64) -> DiscordUserId {
        DiscordUserId::new(id).unwrap()
    }
    fn role(id: u64) -> RoleId {
        RoleId::new(id).unwrap()
    }

    #[test]
    fn discord_permissions_parse_only_decimal_bit_sets() {
        assert_eq!(
            DiscordPermissions::parse("32"),
            Some(DiscordPermissions::MANAGE_GUILD)
        );
        assert_eq!(DiscordPermissions::parse(""), None);
        assert_eq!(DiscordPermissions::parse("3a"), None);
        assert_eq!(DiscordPermissions::parse("-8"), None);
        assert_eq!(DiscordPermissions::parse(" 8"), None);
        // Digits only, but more than 64 bits.
        assert_eq!(DiscordPermissions::parse("99999999999999999999999"), None);
    }

    #[test]
    fn discord_permissions_combine_with_bitor() {
        let both = DiscordPermissions::MANAGE_GUILD | DiscordPermissions::MANAGE_ROLES;
        assert_eq!(both.bits(), (1 << 5) | (1 << 28));
        assert!(both.contains(DiscordPermissions::MANAGE_GUILD));
        assert!(both.contains(DiscordPermissions::MANAGE_ROLES));
        assert!(!both.contains(DiscordPermissions::MANAGE_CHANNELS));
        assert_eq!(
            (DiscordPermissions::NONE | DiscordPermissions::MANAGE_EVENTS).bits(),
            1 << 33
        );
    }

    #[test]
    fn discord_permissions_deserialize_from_string_or_number() {
        let p: DiscordPermissions = serde_json::from_str("\"2147601440\"").unwrap();
        assert_eq!(p.bits(), 2_147_601_440);
        let p: DiscordPermissions = serde_json::from_str("40").unwrap();
        assert_eq!(p.bits(), 40);
        for bad in ["\"x\"", "-1", "1.5", "null", "[]"] {
            let err = serde_json::from_str::<DiscordPermissions>(bad).unwrap_err();
            assert!(
                err.to_string().contains("Discord permissions"),
                "{bad}: {err}"
            );
        }
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"40\"");
    }

    #[test]
    fn permission_set_deserializes_only_all_or_a_list() {
        let all: PermissionSet = serde_json::from_str("\"all\"").unwrap();
        assert_eq!(all, PermissionSet::All);
        let list: PermissionSet = serde_json::from_str("[\"join_meeting\"]").unwrap();
        assert!(list.contains(Permission::JoinMeeting));
        assert!(!list.contains(Permission::StartMeeting));
        for bad in ["\"everything\"", "\"ALL\"", "3", "{}"] {
            let err = serde_json::from_str::<PermissionSet>(bad).unwrap_err();
            assert!(err.to_string().contains("expected \"all\""), "{bad}: {err}");
        }
    }

    #[test]
    fn default_policy_makes_members_viewers() {
        let d = authorize(
            &GuildPolicy::default(),
            &Subject::new(user(1)),
            Permission::JoinMeeting,
        );
        assert_eq!(
            d,
            Decision {
                allowed: true,
                rule: Rule::Everyone(Role::Viewer)
            }
        );
        let d = authorize(
            &GuildPolicy::default(),
            &Subject::new(user(1)),
            Permission::StartMeeting,
        );
        assert_eq!(
            d,
            Decision {
                allowed: false,
                rule: Rule::NoMatch
            }
        );
    }

    #[test]
    fn administrator_bit_implies_manage_guild_binding() {
        let s = Subject::new(user(1)).with_permissions(DiscordPermissions::ADMINISTRATOR);
        let d = authorize(&GuildPolicy::default(), &s, Permission::ManageConfig);
        assert!(d.allowed);
        assert_eq!(
            d.rule,
            Rule::DiscordPermission(DiscordPermission::Administrator, Role::Admin)
        );
    }

    #[test]
    fn discord_role_binding_grants_moderator() {
        let mut p = GuildPolicy::default();
        p.roles.insert(role(7), Role::Moderator);
        let s = Subject::new(user(1)).with_roles([role(3), role(7)]);
        let d = authorize(&p, &s, Permission::HostMeeting);
        assert_eq!(d.rule, Rule::DiscordRole(role(7), Role::Moderator));
        assert_eq!(
            effective_role(&p, &s).map(|(r, _)| r),
            Some(Role::Moderator)
        );
        assert_eq!(Role::Moderator.kaltura_role().ks_role(), "adminRole");
        assert_eq!(Role::Viewer.kaltura_role().user_contextual_role(), 3);
    }

    #[test]
    fn deny_rule_beats_every_grant() {
        let mut p = GuildPolicy::default();
        p.users.insert(
            user(1),
            UserGrant {
                role: Some(Role::Admin),
                permissions: [Permission::EndMeeting].into(),
            },
        );
        p.deny.push(DenyRule {
            subject: DenySubject::User(user(1)),
            permissions: PermissionSet::Only([Permission::EndMeeting].into()),
        });
        let s = Subject::new(user(1));
        let d = authorize(&p, &s, Permission::EndMeeting);
        assert!(!d.allowed);
        assert_eq!(d.rule.to_string(), "deny rule #1 for user 1");
        assert!(authorize(&p, &s, Permission::StartMeeting).allowed);
    }

    #[test]
    fn explicit_permission_grant() {
        let mut p = GuildPolicy::deny_all();
        p.users.insert(
            user(9),
            UserGrant {
                role: None,
                permissions: [Permission::ViewAuditLog].into(),
            },
        );
        let d = authorize(&p, &Subject::new(user(9)), Permission::ViewAuditLog);
        assert_eq!(d.rule, Rule::UserPermission(user(9)));
    }

    #[test]
    fn policy_reads_from_config_json() {
        let p: GuildPolicy = serde_json::from_value(serde_json::json!({
            "everyone": null,
            "roles": {"123456789012345678": "moderator"},
            "users": {"42": {"role": "admin"}},
            "deny": [
                {"subject": {"role": "555"}, "permissions": "all"},
                {"subject": "everyone", "permissions": ["share_media"]}
            ]
        }))
        .unwrap();
        assert_eq!(p.everyone, None);
        assert_eq!(p.deny[0].permissions, PermissionSet::All);
        assert_eq!(
            p.discord_permissions,
            GuildPolicy::default().discord_permissions
        );
        let bad =
            serde_json::from_value::<GuildPolicy>(serde_json::json!({"roles": {"../x": "admin"}}));
        assert!(bad.is_err());
        let bad = serde_json::from_value::<GuildPolicy>(serde_json::json!({"everyone": "owner"}));
        assert!(bad.is_err());
        let bad = serde_json::from_value::<GuildPolicy>(serde_json::json!({"everyon": "admin"}));
        assert!(bad.is_err());
    }

    #[test]
    fn discord_permission_strings() {
        assert_eq!(
            DiscordPermissions::parse("2147601440")
                .map(|p| p.contains(DiscordPermissions::MANAGE_GUILD)),
            Some(true)
        );
        assert_eq!(DiscordPermissions::parse("-1"), None);
        assert_eq!(DiscordPermissions::parse("abc"), None);
    }

    fn arb_permission() -> impl Strategy<Value = Permission> {
        prop::sample::select(Permission::ALL.to_vec())
    }
    fn arb_role() -> impl Strategy<Value = Role> {
        prop::sample::select(vec![Role::Viewer, Role::Moderator, Role::Admin])
    }
    fn arb_policy() -> impl Strategy<Value = GuildPolicy> {
        (
            prop::option::of(arb_role()),
            prop::collection::btree_map((1u64..6).prop_map(role), arb_role(), 0..4),
            prop::collection::btree_map(
                (1u64..4).prop_map(user),
                (
                    prop::option::of(arb_role()),
                    prop::collection::btree_set(arb_permission(), 0..3),
                )
                    .prop_map(|(role, permissions)| UserGrant { role, permissions }),
                0..3,
            ),
            prop::bool::ANY,
            prop::collection::vec(
                (
                    prop_oneof![
                        (1u64..4).prop_map(|u| DenySubject::User(user(u))),
                        (1u64..6).prop_map(|r| DenySubject::Role(role(r))),
                        Just(DenySubject::Everyone),
                    ],
                    prop_oneof![
                        Just(PermissionSet::All),
                        prop::collection::btree_set(arb_permission(), 0..3)
                            .prop_map(PermissionSet::Only),
                    ],
                )
                    .prop_map(|(subject, permissions)| DenyRule {
                        subject,
                        permissions,
                    }),
                0..2,
            ),
        )
            .prop_map(|(everyone, roles, users, bits, deny)| GuildPolicy {
                everyone,
                roles,
                discord_permissions: if bits {
                    GuildPolicy::default().discord_permissions
                } else {
                    BTreeMap::new()
                },
                users,
                deny,
            })
    }
    fn arb_subject() -> impl Strategy<Value = Subject> {
        (
            1u64..4,
            prop::collection::vec((1u64..6).prop_map(role), 0..3),
            prop::sample::select(vec![0u64, 1 << 3, 1 << 5, 1 << 10]),
        )
            .prop_map(|(u, roles, bits)| {
                Subject::new(user(u))
                    .with_roles(roles)
                    .with_permissions(DiscordPermissions::from_bits(bits))
            })
    }

    // An independent model of the documented policy semantics, the oracle of the property
    // tests below. It is written from the rules in the module docs with its own tables (role
    // contents, Discord bit values) and never calls `authorize`'s helpers, so a bug there
    // cannot hide by being copied into the oracle.
    const MODEL_VIEWER: &[&str] = &[
        "view_media",
        "search_media",
        "share_media",
        "list_meetings",
        "join_meeting",
        "link_own_identity",
    ];
    const MODEL_MODERATOR_EXTRA: &[&str] = &["start_meeting", "host_meeting", "end_meeting"];

    fn model_role_lists(role: Role, name: &str) -> bool {
        match role {
            Role::Viewer => MODEL_VIEWER.contains(&name),
            Role::Moderator => {
                MODEL_VIEWER.contains(&name) || MODEL_MODERATOR_EXTRA.contains(&name)
            }
            Role::Admin => true,
        }
    }

    fn model_has_bit(subject: &Subject, permission: DiscordPermission) -> bool {
        let bit: u64 = match permission {
            DiscordPermission::Administrator => 1 << 3,
            DiscordPermission::ManageGuild => 1 << 5,
            DiscordPermission::ManageChannels => 1 << 4,
            DiscordPermission::ManageRoles => 1 << 28,
            DiscordPermission::ManageEvents => 1 << 33,
        };
        let bits = subject.permissions.bits();
        bits & (1 << 3) != 0 || bits & bit == bit
    }

    fn model_denied(policy: &GuildPolicy, subject: &Subject, name: &str) -> bool {
        policy.deny.iter().any(|rule| {
            let who = match rule.subject {
                DenySubject::User(u) => u == subject.user,
                DenySubject::Role(r) => subject.roles.contains(&r),
                DenySubject::Everyone => true,
            };
            let what = match &rule.permissions {
                PermissionSet::All => true,
                PermissionSet::Only(set) => set.iter().any(|q| q.as_str() == name),
            };
            who && what
        })
    }

    fn model_allows(policy: &GuildPolicy, subject: &Subject, permission: Permission) -> bool {
        let name = permission.as_str();
        if model_denied(policy, subject, name) {
            return false;
        }
        let grant = policy.users.get(&subject.user);
        if grant.is_some_and(|g| g.permissions.iter().any(|q| q.as_str() == name)) {
            return true;
        }
        let mut roles: Vec<Role> = grant.and_then(|g| g.role).into_iter().collect();
        roles.extend(
            policy
                .discord_permissions
                .iter()
                .filter(|(bit, _)| model_has_bit(subject, **bit))
                .map(|(_, role)| *role),
        );
        roles.extend(
            subject
                .roles
                .iter()
                .filter_map(|r| policy.roles.get(r).copied()),
        );
        roles.extend(policy.everyone);
        roles.into_iter().any(|role| model_role_lists(role, name))
    }

    #[test]
    fn discord_permission_bits_are_discords_values() {
        // From Discord's permission table (docs: Permissions, bitwise permission flags).
        assert_eq!(DiscordPermissions::ADMINISTRATOR.bits(), 0x8);
        assert_eq!(DiscordPermissions::MANAGE_CHANNELS.bits(), 0x10);
        assert_eq!(DiscordPermissions::MANAGE_GUILD.bits(), 0x20);
        assert_eq!(DiscordPermissions::MANAGE_ROLES.bits(), 0x1000_0000);
        assert_eq!(DiscordPermissions::MANAGE_EVENTS.bits(), 0x2_0000_0000);
        assert_eq!(Permission::ManageConfig.to_string(), "manage_config");
        assert_eq!(Role::Moderator.to_string(), "moderator");
    }

    #[test]
    fn the_model_agrees_on_hand_picked_cases() {
        let member = Subject::new(user(1));
        assert!(model_allows(
            &GuildPolicy::default(),
            &member,
            Permission::JoinMeeting
        ));
        assert!(!model_allows(
            &GuildPolicy::default(),
            &member,
            Permission::StartMeeting
        ));
        let admin = member.with_permissions(DiscordPermissions::ADMINISTRATOR);
        assert!(model_allows(
            &GuildPolicy::default(),
            &admin,
            Permission::ManageConfig
        ));
        assert!(!model_allows(
            &GuildPolicy::deny_all(),
            &admin,
            Permission::ViewMedia
        ));
    }

    proptest! {
        #[test]
        fn empty_policy_denies_everything(s in arb_subject(), p in arb_permission()) {
            let d = authorize(&GuildPolicy::deny_all(), &s, p);
            prop_assert_eq!(d, Decision { allowed: false, rule: Rule::NoMatch });
        }

        #[test]
        fn a_matching_deny_all_always_wins(mut policy in arb_policy(), s in arb_subject(), p in arb_permission()) {
            policy.deny.push(DenyRule { subject: DenySubject::User(s.user), permissions: PermissionSet::All });
            let d = authorize(&policy, &s, p);
            prop_assert!(!d.allowed);
            let is_denied = matches!(d.rule, Rule::Denied { .. });
            prop_assert!(is_denied);
            prop_assert!(effective_role(&policy, &s).is_none());
        }

        #[test]
        fn allowed_decisions_name_a_granting_rule(policy in arb_policy(), s in arb_subject(), p in arb_permission()) {
            let d = authorize(&policy, &s, p);
            let granting = match d.rule {
                Rule::UserPermission(_) => true,
                Rule::UserRole(_, r) | Rule::DiscordPermission(_, r) | Rule::DiscordRole(_, r) | Rule::Everyone(r) => r.grants(p),
                Rule::Denied { .. } | Rule::NoMatch => false,
            };
            prop_assert_eq!(d.allowed, granting);
        }

        #[test]
        fn adding_a_role_binding_never_revokes(policy in arb_policy(), s in arb_subject(), p in arb_permission(), r in arb_role()) {
            let before = authorize(&policy, &s, p).allowed;
            let mut more = policy.clone();
            if let Some(first) = s.roles.first() {
                let current = more.roles.get(first).copied();
                more.roles.insert(*first, current.map_or(r, |c| c.max(r)));
            }
            prop_assert!(!before || authorize(&more, &s, p).allowed);
        }

        #[test]
        fn admin_role_grants_all_unless_denied(policy in arb_policy(), s in arb_subject(), p in arb_permission()) {
            let mut policy = policy;
            policy.users.insert(s.user, UserGrant { role: Some(Role::Admin), permissions: BTreeSet::new() });
            let denied = model_denied(&policy, &s, p.as_str());
            prop_assert_eq!(authorize(&policy, &s, p).allowed, !denied);
        }

        #[test]
        fn authorize_agrees_with_the_independent_model(policy in arb_policy(), s in arb_subject(), p in arb_permission()) {
            prop_assert_eq!(authorize(&policy, &s, p).allowed, model_allows(&policy, &s, p));
        }
    }
}
