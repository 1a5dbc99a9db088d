//! Identity mapping against the fake Kaltura server and a real store.

use std::sync::Arc;

use kaltura_client::clock::ManualClock;
use kaltura_client::fake::{Failure, FakeKaltura};
use kaltura_client::retry::RetryPolicy;
use kaltura_client::{Client, UserId};
use kaltura_discord::config::{
    ConfigResolver, ConfigSources, GuildConfig, IdentityConfig, IdentityStrategy, LinkScopeKind,
};
use kaltura_discord::error::{LinkRefusal, SetupError};
use kaltura_discord::identity::{
    AddOutcome, DiscordMember, IdentityService, IdentitySource, KalturaUsers, LinkProof,
    NewKalturaUser, VerifiedEmail,
};
use kaltura_discord::rbac::{DiscordPermissions, Permission, Subject};
use kaltura_discord::store::{AuditAction, AuditLog, IdentityStore, LinkScope, SqlStore};
use kaltura_discord::{DiscordUserId, Error, ErrorKind, GuildId};

fn guild() -> GuildId {
    GuildId::new(613_425_648_685_547_541).unwrap()
}

fn member(id: u64) -> DiscordMember {
    DiscordMember {
        user: DiscordUserId::new(id).unwrap(),
        display_name: format!("Member {id}"),
        email: None,
    }
}

fn config(strategy: IdentityStrategy) -> IdentityConfig {
    IdentityConfig {
        strategy,
        link_scope: LinkScopeKind::Guild,
        user_id_prefix: "discord_".into(),
        auto_provision: true,
    }
}

async fn guild_config(scope: LinkScopeKind) -> GuildConfig {
    let resolver = ConfigResolver::load(&ConfigSources::defaults_only()).unwrap();
    let mut config = resolver.guild(guild()).await.unwrap().config().clone();
    config.identity.link_scope = scope;
    config
}

async fn client(fake: &FakeKaltura) -> Client {
    Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap()
}

fn service(store: &SqlStore, client: Client) -> IdentityService {
    let store = Arc::new(store.clone());
    IdentityService::new(store.clone(), store, Arc::new(client))
}

async fn prefixed_ids_are_provisioned_once(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let client = client(&fake).await;
    let svc = service(&store, client.clone());
    let m = member(42);
    let first = svc
        .resolve(guild(), &config(IdentityStrategy::PrefixedId), &m)
        .await
        .unwrap();
    assert_eq!(first.kaltura_user, UserId::new("discord_42"));
    assert_eq!(first.source, IdentitySource::PrefixedId);
    assert!(first.provisioned);
    let user = client.user().get("discord_42").await.unwrap();
    assert_eq!(user.screen_name.as_deref(), Some("Member 42"));
    let again = svc
        .resolve(guild(), &config(IdentityStrategy::PrefixedId), &m)
        .await
        .unwrap();
    assert!(!again.provisioned);
    let log = store.recent(guild(), 10).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.action == AuditAction::UserProvisioned)
            .count(),
        1
    );
}

fn admin() -> Subject {
    Subject::new(DiscordUserId::new(1).unwrap()).with_permissions(DiscordPermissions::MANAGE_GUILD)
}

async fn explicit_links_win_and_need_permission(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let client = client(&fake).await;
    assert!(client.users_exist_helper("teacher@example.com").await);
    let svc = service(&store, client);
    let policy = guild_config(LinkScopeKind::Guild).await;
    let me = Subject::new(DiscordUserId::new(7).unwrap());
    let other = DiscordUserId::new(8).unwrap();
    let assigned = LinkProof::AssignedBy(admin());

    // Linking someone else needs ManageIdentities, proof or not.
    let err = svc
        .link(
            guild(),
            &policy,
            &me,
            other,
            "teacher@example.com",
            Some(&assigned),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Denied {
                permission: Permission::ManageIdentities,
                ..
            }
        ),
        "{err:?}"
    );
    // With an admin's assignment, the Kaltura user must still exist and be valid.
    let err = svc
        .link(
            guild(),
            &policy,
            &me,
            me.user,
            "nobody_here",
            Some(&assigned),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = svc
        .link(guild(), &policy, &me, me.user, "../../etc", Some(&assigned))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    svc.link(
        guild(),
        &policy,
        &me,
        me.user,
        "teacher@example.com",
        Some(&assigned),
    )
    .await
    .unwrap();

    let resolved = svc
        .resolve(guild(), &config(IdentityStrategy::PrefixedId), &member(7))
        .await
        .unwrap();
    assert_eq!(resolved.kaltura_user, UserId::new("teacher@example.com"));
    assert_eq!(resolved.source, IdentitySource::Linked);

    // An admin can link another member; the same Kaltura user cannot be linked twice.
    let err = svc
        .link(
            guild(),
            &policy,
            &admin(),
            other,
            "teacher@example.com",
            Some(&assigned),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert!(
        svc.unlink(guild(), &policy, &admin(), me.user)
            .await
            .unwrap()
    );
    svc.link(
        guild(),
        &policy,
        &admin(),
        other,
        "teacher@example.com",
        Some(&assigned),
    )
    .await
    .unwrap();
}

/// §1 of issue 8: a plain member cannot take over `admin`, an email id or another member's
/// derived id; an admin's assignment works; derived ids stay protected even from admins.
async fn members_cannot_take_over_other_kaltura_users(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let client = client(&fake).await;
    for id in ["admin", "teacher@example.com", "discord_8"] {
        assert!(client.users_exist_helper(id).await, "{id}");
    }
    let clock = ManualClock::new(1_800_000_000);
    let svc = service(&store, client).with_clock(Arc::new(clock.clone()));
    let policy = guild_config(LinkScopeKind::Guild).await;
    let me = Subject::new(DiscordUserId::new(7).unwrap());

    for target in ["admin", "teacher@example.com", "discord_8", "DISCORD_8"] {
        let err = svc
            .link(guild(), &policy, &me, me.user, target, None)
            .await
            .unwrap_err();
        let expected = if target.eq_ignore_ascii_case("discord_8") {
            LinkRefusal::AnotherMembersId
        } else {
            LinkRefusal::NoProof
        };
        assert!(
            matches!(&err, Error::LinkRefused { reason, .. } if *reason == expected),
            "{target}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Denied);
    }
    let err = svc
        .link(guild(), &policy, &me, me.user, "admin", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ask a server admin"),
        "the refusal says how to get proof: {err}"
    );

    // A member cannot vouch for themselves, nor can a former admin.
    let err = svc
        .link(
            guild(),
            &policy,
            &me,
            me.user,
            "admin",
            Some(&LinkProof::AssignedBy(me.clone())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LinkRefused {
                reason: LinkRefusal::AssignerNotAllowed,
                ..
            }
        ),
        "{err:?}"
    );

    // Derived ids of other members are refused even for admins with proof.
    let err = svc
        .link(
            guild(),
            &policy,
            &admin(),
            me.user,
            "discord_8",
            Some(&LinkProof::AssignedBy(admin())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LinkRefused {
                reason: LinkRefusal::AnotherMembersId,
                ..
            }
        ),
        "{err:?}"
    );

    // Verified emails are refused where the guild does not map members by email.
    let email = VerifiedEmail::from_discord(me.user, "teacher@example.com", true).unwrap();
    let err = svc
        .link(
            guild(),
            &policy,
            &me,
            me.user,
            "teacher@example.com",
            Some(&LinkProof::VerifiedEmail(email)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LinkRefused {
                reason: LinkRefusal::EmailProofNotAllowed,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(VerifiedEmail::from_discord(me.user, "a@b.c", false).is_err());

    // Nothing was linked by any refused attempt.
    assert!(
        store
            .find_by_discord(LinkScope::Guild(guild()), me.user)
            .await
            .unwrap()
            .is_none()
    );

    // The member's own derived id needs no proof; an admin's assignment links the rest,
    // and both are audited with who, whom, which user and which proof.
    let link = svc
        .link(guild(), &policy, &me, me.user, "discord_7", None)
        .await;
    assert!(
        matches!(&link, Err(Error::NotFound { .. })),
        "no proof needed, but the user must exist: {link:?}"
    );
    let link = svc
        .link(
            guild(),
            &policy,
            &admin(),
            me.user,
            "admin",
            Some(&LinkProof::AssignedBy(admin())),
        )
        .await
        .unwrap();
    assert_eq!(link.linked_at, 1_800_000_000);
    assert_eq!(link.linked_by, admin().user);
    clock.advance(60);
    assert!(svc.unlink(guild(), &policy, &me, me.user).await.unwrap());
    assert!(!svc.unlink(guild(), &policy, &me, me.user).await.unwrap());

    let log = store.recent(guild(), 50).await.unwrap();
    // One entry per change, written with the change, each naming its proof or authority.
    assert!(
        log.iter().all(|e| match e.action {
            AuditAction::IdentityLinked => e.detail.get("proof").is_some(),
            AuditAction::IdentityUnlinked => e.detail.get("authority").is_some(),
            _ => true,
        }),
        "{log:?}"
    );
    let linked: Vec<_> = log
        .iter()
        .filter(|e| e.action == AuditAction::IdentityLinked && e.detail.get("proof").is_some())
        .collect();
    assert_eq!(linked.len(), 1, "{log:?}");
    assert_eq!(linked[0].actor, Some(admin().user));
    assert_eq!(linked[0].detail["discord_user"], "7");
    assert_eq!(linked[0].detail["kaltura_user"], "admin");
    assert_eq!(linked[0].detail["proof"], "assigned_by");
    let unlinked: Vec<_> = log
        .iter()
        .filter(|e| {
            e.action == AuditAction::IdentityUnlinked && e.detail.get("authority").is_some()
        })
        .collect();
    assert_eq!(unlinked.len(), 1, "{log:?}");
    assert_eq!(unlinked[0].actor, Some(me.user));
    assert_eq!(unlinked[0].detail["kaltura_user"], "admin");
    assert_eq!(unlinked[0].detail["authority"], "self");
}

/// A verified Discord email links to the Kaltura user with that email in guilds that map
/// members by email, and only for the member it belongs to.
async fn verified_emails_prove_links_in_email_guilds(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let client = client(&fake).await;
    client
        .add_user(&NewKalturaUser {
            id: UserId::new("t-1001"),
            screen_name: "Teacher".into(),
            email: Some("Teacher@Example.com".into()),
        })
        .await
        .unwrap();
    let svc = service(&store, client);
    let mut policy = guild_config(LinkScopeKind::Guild).await;
    policy.identity.strategy = IdentityStrategy::Email;
    let me = Subject::new(DiscordUserId::new(7).unwrap());
    let other = DiscordUserId::new(8).unwrap();

    let wrong = VerifiedEmail::from_discord(me.user, "someone@example.com", true).unwrap();
    let err = svc
        .link(
            guild(),
            &policy,
            &me,
            me.user,
            "t-1001",
            Some(&LinkProof::VerifiedEmail(wrong)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LinkRefused {
                reason: LinkRefusal::EmailMismatch,
                ..
            }
        ),
        "{err:?}"
    );
    let others = VerifiedEmail::from_discord(other, "teacher@example.com", true).unwrap();
    let err = svc
        .link(
            guild(),
            &policy,
            &me,
            me.user,
            "t-1001",
            Some(&LinkProof::VerifiedEmail(others)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LinkRefused {
                reason: LinkRefusal::EmailMismatch,
                ..
            }
        ),
        "{err:?}"
    );
    let mine = VerifiedEmail::from_discord(me.user, " teacher@example.com ", true).unwrap();
    let link = svc
        .link(
            guild(),
            &policy,
            &me,
            me.user,
            "t-1001",
            Some(&LinkProof::VerifiedEmail(mine.clone())),
        )
        .await
        .unwrap();
    assert_eq!(link.kaltura_user, UserId::new("t-1001"));
    let err = svc
        .link(
            guild(),
            &policy,
            &me,
            me.user,
            "no-such-user",
            Some(&LinkProof::VerifiedEmail(mine)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

async fn explicit_strategy_without_a_link_says_how_to_link(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let svc = service(&store, client(&fake).await);
    let err = svc
        .resolve(guild(), &config(IdentityStrategy::ExplicitLink), &member(5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotLinked { .. }) && err.to_string().contains("/kaltura link"),
        "{err}"
    );
    let err = svc
        .resolve(guild(), &config(IdentityStrategy::Email), &member(5))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no known email"), "{err}");
    let with_email = DiscordMember {
        email: Some("Ada@Example.com".into()),
        ..member(5)
    };
    let r = svc
        .resolve(guild(), &config(IdentityStrategy::Email), &with_email)
        .await
        .unwrap();
    assert_eq!(r.kaltura_user, UserId::new("ada@example.com"));
    assert!(r.provisioned);
}

async fn partner_scoped_links_follow_the_member_across_guilds(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let client = client(&fake).await;
    assert!(client.users_exist_helper("shared_teacher").await);
    let svc = service(&store, client);
    let partner_config = guild_config(LinkScopeKind::Partner).await;
    let me = Subject::new(DiscordUserId::new(7).unwrap());
    let link = svc
        .link(
            guild(),
            &partner_config,
            &me,
            me.user,
            "shared_teacher",
            Some(&LinkProof::AssignedBy(admin())),
        )
        .await
        .unwrap();
    assert_eq!(
        link.scope,
        kaltura_discord::store::LinkScope::Partner(fake.partner_id())
    );
    // Another guild of the same partner sees the link; a guild-scoped one does not.
    let other_guild = GuildId::new(81_384_788_765_712_384).unwrap();
    let mut partner_identity = config(IdentityStrategy::ExplicitLink);
    partner_identity.link_scope = LinkScopeKind::Partner;
    let r = svc
        .resolve(other_guild, &partner_identity, &member(7))
        .await
        .unwrap();
    assert_eq!(r.kaltura_user, UserId::new("shared_teacher"));
    assert_eq!(r.source, IdentitySource::Linked);
    let err = svc
        .resolve(
            other_guild,
            &config(IdentityStrategy::ExplicitLink),
            &member(7),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotLinked { .. }), "{err:?}");
}

/// Kaltura as it looks when another process adds the user between our `user.get` and our
/// `user.add`: the user seems absent, then `user.add` answers `DUPLICATE_USER_BY_ID`.
/// Wraps the real client (a test helper for a race, not a mock of the service).
struct RacingUsers {
    client: Client,
    partner: bool,
}

#[async_trait::async_trait]
impl KalturaUsers for RacingUsers {
    fn partner_id(&self) -> Option<kaltura_client::PartnerId> {
        self.partner
            .then(|| KalturaUsers::partner_id(&self.client))
            .flatten()
    }
    async fn user_exists(&self, _: &UserId) -> kaltura_discord::Result<bool> {
        Ok(false)
    }
    async fn user_email(&self, id: &UserId) -> kaltura_discord::Result<Option<String>> {
        self.client.user_email(id).await
    }
    async fn add_user(&self, user: &NewKalturaUser) -> kaltura_discord::Result<AddOutcome> {
        self.client.add_user(user).await
    }
}

/// Issue 8 §7, identity: `auto_provision = false`, the concurrent `user.add`, a partner
/// scope without partner id, the email sent to `user.add`, and Kaltura failures that are
/// not "no such user".
async fn provisioning_edges(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let svc = service(&store, client.clone());

    // auto_provision = false: the id is derived, nothing is created or audited.
    let mut no_provision = config(IdentityStrategy::PrefixedId);
    no_provision.auto_provision = false;
    let r = svc
        .resolve(guild(), &no_provision, &member(11))
        .await
        .unwrap();
    assert_eq!(r.kaltura_user, UserId::new("discord_11"));
    assert!(!r.provisioned);
    assert!(
        !client
            .user_exists(&UserId::new("discord_11"))
            .await
            .unwrap()
    );

    // The email is sent to user.add, with the screen name.
    let with_email = DiscordMember {
        email: Some("ada@example.com".into()),
        display_name: "Ada\u{7} Lovelace".into(),
        ..member(12)
    };
    let r = svc
        .resolve(guild(), &config(IdentityStrategy::PrefixedId), &with_email)
        .await
        .unwrap();
    assert!(r.provisioned);
    let user = client.user().get("discord_12").await.unwrap();
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(user.screen_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        client
            .user_email(&UserId::new("discord_12"))
            .await
            .unwrap()
            .as_deref(),
        Some("ada@example.com")
    );
    assert!(matches!(
        client.user_email(&UserId::new("nobody")).await,
        Err(Error::NotFound { .. })
    ));

    // A concurrent user.add: DUPLICATE_USER_BY_ID is "already existed", not an error, and
    // the member is not reported as provisioned (nor audited) twice.
    assert_eq!(
        client
            .add_user(&NewKalturaUser {
                id: UserId::new("discord_12"),
                screen_name: "again".into(),
                email: None,
            })
            .await
            .unwrap(),
        AddOutcome::AlreadyExisted
    );
    let racing = IdentityService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(RacingUsers {
            client: client.clone(),
            partner: true,
        }),
    );
    let r = racing
        .resolve(guild(), &config(IdentityStrategy::PrefixedId), &with_email)
        .await
        .unwrap();
    assert_eq!(r.kaltura_user, UserId::new("discord_12"));
    assert!(!r.provisioned);
    let provisioned = store
        .recent(guild(), 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::UserProvisioned)
        .count();
    assert_eq!(provisioned, 1);

    // Partner scope without a partner id is a setup error, before any Kaltura call.
    let no_partner = IdentityService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(RacingUsers {
            client: client.clone(),
            partner: false,
        }),
    );
    let mut partner_scoped = config(IdentityStrategy::PrefixedId);
    partner_scoped.link_scope = LinkScopeKind::Partner;
    let err = no_partner
        .resolve(guild(), &partner_scoped, &member(13))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Setup(SetupError::PartnerScopeWithoutPartnerId)),
        "{err:?}"
    );

    // A Kaltura failure is an error, not "no such user" (which would provision blindly).
    fake.fail_next(1, Failure::Status(500));
    let err = client
        .user_exists(&UserId::new("discord_12"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    fake.fail_next(1, Failure::Status(500));
    let err = svc
        .resolve(guild(), &config(IdentityStrategy::PrefixedId), &member(14))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    fake.fail_next(1, Failure::Status(500));
    let err = client
        .add_user(&NewKalturaUser {
            id: UserId::new("discord_15"),
            screen_name: "x".into(),
            email: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    fake.fail_next(1, Failure::Status(500));
    assert!(matches!(
        client.user_email(&UserId::new("discord_12")).await,
        Err(Error::Kaltura(_))
    ));
}

both_backends!(
    provisioning_edges,
    members_cannot_take_over_other_kaltura_users,
    verified_emails_prove_links_in_email_guilds,
    partner_scoped_links_follow_the_member_across_guilds,
    prefixed_ids_are_provisioned_once,
    explicit_links_win_and_need_permission,
    explicit_strategy_without_a_link_says_how_to_link,
);

/// Creates a Kaltura user through the port, to set up a test.
trait UsersExistHelper {
    async fn users_exist_helper(&self, id: &str) -> bool;
}

impl UsersExistHelper for Client {
    async fn users_exist_helper(&self, id: &str) -> bool {
        let outcome = self
            .add_user(&NewKalturaUser {
                id: UserId::new(id),
                screen_name: "Teacher".into(),
                email: None,
            })
            .await
            .unwrap();
        assert_eq!(outcome, AddOutcome::Created);
        self.user_exists(&UserId::new(id)).await.unwrap()
    }
}
