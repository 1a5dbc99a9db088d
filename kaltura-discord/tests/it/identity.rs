//! Identity mapping against the fake Kaltura server and a real store.

use std::sync::Arc;

use kaltura_client::fake::FakeKaltura;
use kaltura_client::{Client, UserId};
use kaltura_discord::config::{
    ConfigResolver, ConfigSources, GuildConfig, IdentityConfig, IdentityStrategy, LinkScopeKind,
};
use kaltura_discord::identity::{DiscordMember, IdentityService, IdentitySource, KalturaUsers};
use kaltura_discord::rbac::{DiscordPermissions, Permission, Subject};
use kaltura_discord::store::{AuditAction, AuditLog, SqlStore};
use kaltura_discord::{DiscordUserId, Error, GuildId};

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

async fn explicit_links_win_and_need_permission(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let client = client(&fake).await;
    assert!(client.users_exist_helper("teacher@example.com").await);
    let svc = service(&store, client);
    let policy = guild_config(LinkScopeKind::Guild).await;
    let me = Subject::new(DiscordUserId::new(7).unwrap());
    let other = DiscordUserId::new(8).unwrap();

    // Linking someone else needs ManageIdentities.
    let err = svc
        .link(guild(), &policy, &me, other, "teacher@example.com")
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
    // Linking oneself is allowed for members; the Kaltura user must exist and be valid.
    let err = svc
        .link(guild(), &policy, &me, me.user, "nobody_here")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = svc
        .link(guild(), &policy, &me, me.user, "../../etc")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    svc.link(guild(), &policy, &me, me.user, "teacher@example.com")
        .await
        .unwrap();

    let resolved = svc
        .resolve(guild(), &config(IdentityStrategy::PrefixedId), &member(7))
        .await
        .unwrap();
    assert_eq!(resolved.kaltura_user, UserId::new("teacher@example.com"));
    assert_eq!(resolved.source, IdentitySource::Linked);

    // An admin can link another member; the same Kaltura user cannot be linked twice.
    let admin = Subject::new(DiscordUserId::new(1).unwrap())
        .with_permissions(DiscordPermissions::MANAGE_GUILD);
    let err = svc
        .link(guild(), &policy, &admin, other, "teacher@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert!(svc.unlink(guild(), &policy, &admin, me.user).await.unwrap());
    svc.link(guild(), &policy, &admin, other, "teacher@example.com")
        .await
        .unwrap();
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
        .link(guild(), &partner_config, &me, me.user, "shared_teacher")
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

both_backends!(
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
        use kaltura_discord::identity::{AddOutcome, NewKalturaUser};
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
