//! Kaltura-login identity proof against the fake Kaltura server and a real store:
//! `IdentityService::verify_kaltura_login` → `KalturaLoginProof` → `IdentityService::link`,
//! refused sign-ins (audited, rate-limited), and the verified-email proof helper.

use std::sync::Arc;
use std::time::Duration;

use kaltura_client::clock::ManualClock;
use kaltura_client::fake::{DEMO_USERS, DemoUser, Failure, FakeKaltura, LoginLockout};
use kaltura_client::{Client, UserId};
use kaltura_discord::config::{
    ConfigResolver, ConfigSources, GuildConfig, IdentityStrategy, LinkScopeKind,
};
use kaltura_discord::context::{GuildContext, KalturaAccount};
use kaltura_discord::error::LinkRefusal;
use kaltura_discord::identity::{
    IdentityService, IdentitySource, LinkProof, LinkProofKind, LoginAttemptLimit,
};
use kaltura_discord::rbac::{DiscordPermissions, Subject};
use kaltura_discord::store::{
    AuditAction, AuditEntry, AuditLog, IdentityStore, LinkScope, SqlStore,
};
use kaltura_discord::{DiscordUserId, Error, ErrorKind, GuildId};
use secrecy::SecretString;

const NOW: i64 = 1_800_000_000;

fn guild() -> GuildId {
    GuildId::new(613_425_648_685_547_541).unwrap()
}

fn user(id: u64) -> DiscordUserId {
    DiscordUserId::new(id).unwrap()
}

fn demo(id: &str) -> DemoUser {
    *DEMO_USERS.iter().find(|u| u.id == id).unwrap()
}

fn password(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

async fn guild_config(strategy: IdentityStrategy) -> GuildConfig {
    let resolver = ConfigResolver::load(&ConfigSources::defaults_only()).unwrap();
    let mut config = resolver.guild(guild()).await.unwrap().config().clone();
    config.identity.link_scope = LinkScopeKind::Guild;
    config.identity.strategy = strategy;
    config
}

/// A fake Kaltura with the demo users (and their logins), its account, and an identity
/// service on `store` with a manual clock and `limit`.
struct Setup {
    fake: FakeKaltura,
    account: KalturaAccount,
    svc: IdentityService,
    clock: ManualClock,
}

async fn setup(store: &SqlStore, lockout: LoginLockout, limit: LoginAttemptLimit) -> Setup {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .login_lockout(lockout)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap();
    let account = KalturaAccount::new(client.clone(), fake.admin_secret()).unwrap();
    let clock = ManualClock::new(NOW);
    let store = Arc::new(store.clone());
    let svc = IdentityService::new(store.clone(), store, Arc::new(client))
        .with_clock(Arc::new(clock.clone()))
        .with_login_limit(limit);
    Setup {
        fake,
        account,
        svc,
        clock,
    }
}

async fn audit_of(store: &SqlStore, action: AuditAction) -> Vec<AuditEntry> {
    store
        .recent(guild(), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

fn refusal(err: &Error) -> Option<LinkRefusal> {
    match err {
        Error::LinkRefused { reason, .. } => Some(*reason),
        _ => None,
    }
}

async fn a_kaltura_login_proves_and_links_the_member(store: SqlStore) {
    let s = setup(
        &store,
        LoginLockout::default(),
        LoginAttemptLimit::default(),
    )
    .await;
    let config = guild_config(IdentityStrategy::PrefixedId).await;
    let ctx = GuildContext::new(guild(), &config, &s.account);
    let me = Subject::new(user(7));
    let alice = demo("alice");

    let proof = s
        .svc
        .verify_kaltura_login(&ctx, me.user, alice.email, &password(alice.password))
        .await
        .unwrap();
    // The proof names the KS's user (the user id, not the login id) and this member.
    assert_eq!(proof.kaltura_user(), &UserId::new("alice"));
    assert_eq!(proof.discord_user(), me.user);
    assert_eq!(proof.verified_at(), NOW);

    // Linking with it works end to end, and the audit says which proof.
    let login = LinkProof::KalturaLogin(proof.clone());
    let link = s
        .svc
        .link(guild(), &config, &me, me.user, "alice", Some(&login))
        .await
        .unwrap();
    assert_eq!(link.kaltura_user, UserId::new("alice"));
    let linked = audit_of(&store, AuditAction::IdentityLinked).await;
    assert_eq!(linked.len(), 1);
    assert_eq!(
        linked[0].detail["proof"],
        LinkProofKind::KalturaLogin.as_str()
    );
    assert_eq!(linked[0].detail["proof"], "kaltura_login");
    let resolved = s
        .svc
        .resolve(
            guild(),
            &config.identity,
            &kaltura_discord::identity::DiscordMember {
                user: me.user,
                display_name: "Me".into(),
                email: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (resolved.kaltura_user, resolved.source),
        (UserId::new("alice"), IdentitySource::Linked)
    );

    // The proof is this member's: an admin cannot use it for another member, and it does
    // not prove another Kaltura user.
    let mut admin = Subject::new(user(1));
    admin.permissions = DiscordPermissions::ADMINISTRATOR;
    let err = s
        .svc
        .link(guild(), &config, &admin, user(8), "alice", Some(&login))
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&err),
        Some(LinkRefusal::LoginForAnotherUser),
        "{err:?}"
    );
    let err = s
        .svc
        .link(guild(), &config, &me, me.user, "bob", Some(&login))
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&err),
        Some(LinkRefusal::LoginForAnotherUser),
        "{err:?}"
    );
    // It expires.
    s.clock
        .advance(kaltura_discord::identity::KALTURA_LOGIN_PROOF_MAX_AGE_SECS + 1);
    let err = s
        .svc
        .link(guild(), &config, &me, me.user, "alice", Some(&login))
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), Some(LinkRefusal::LoginExpired), "{err:?}");

    // An admin user's login proves the admin user; the id derived for another member
    // (`discord_42` is member 42's) stays refused even with its password.
    let dee = demo("discord_42");
    let proof = s
        .svc
        .verify_kaltura_login(&ctx, user(9), dee.email, &password(dee.password))
        .await
        .unwrap();
    assert_eq!(proof.kaltura_user(), &UserId::new("discord_42"));
    let nine = Subject::new(user(9));
    let err = s
        .svc
        .link(
            guild(),
            &config,
            &nine,
            nine.user,
            "discord_42",
            Some(&LinkProof::KalturaLogin(proof)),
        )
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&err),
        Some(LinkRefusal::AnotherMembersId),
        "{err:?}"
    );
    let admin_user = demo("admin");
    let proof = s
        .svc
        .verify_kaltura_login(
            &ctx,
            user(9),
            admin_user.email,
            &password(admin_user.password),
        )
        .await
        .unwrap();
    assert_eq!(proof.kaltura_user(), &UserId::new("admin"));
    assert!(
        audit_of(&store, AuditAction::KalturaLoginFailed)
            .await
            .is_empty()
    );
    drop(s.fake);
}

async fn wrong_passwords_are_refused_audited_and_rate_limited(store: SqlStore) {
    const WRONG: &str = "Wr0ng-Pass-4417";
    let limit = LoginAttemptLimit::new(3, Duration::from_secs(900));
    let s = setup(&store, LoginLockout::default(), limit).await;
    let config = guild_config(IdentityStrategy::PrefixedId).await;
    let ctx = GuildContext::new(guild(), &config, &s.account);
    let me = user(7);
    let bob = demo("bob");

    // A wrong password and an unknown login id: refused alike (no login id enumeration),
    // nothing linked, each attempt audited with Kaltura's code and never the password.
    let mut shown = String::new();
    for (login, code) in [
        (bob.email, "USER_WRONG_PASSWORD"),
        ("nobody@example.com", "USER_NOT_FOUND"),
    ] {
        let err = s
            .svc
            .verify_kaltura_login(&ctx, me, login, &password(WRONG))
            .await
            .unwrap_err();
        assert_eq!(
            refusal(&err),
            Some(LinkRefusal::KalturaLoginFailed),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Denied);
        assert!(
            err.to_string()
                .contains("login id or the password is wrong"),
            "{err}"
        );
        shown.push_str(&format!("{err} {err:?}"));
        let failed = audit_of(&store, AuditAction::KalturaLoginFailed).await;
        let newest = &failed[0];
        assert_eq!(newest.actor, Some(me));
        assert_eq!(newest.detail["login_id"], login);
        assert_eq!(newest.detail["code"], code);
        shown.push_str(&newest.detail.to_string());
    }
    assert!(!shown.contains(WRONG), "{shown}");
    assert!(
        store
            .find_by_discord(LinkScope::Guild(guild()), me)
            .await
            .unwrap()
            .is_none()
    );

    // The third failure reaches the limit; the fourth attempt, even with the right
    // password, is refused without asking Kaltura, and says when to retry.
    s.clock.advance(60);
    let err = s
        .svc
        .verify_kaltura_login(&ctx, me, bob.email, &password(WRONG))
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), Some(LinkRefusal::KalturaLoginFailed));
    // (A 418 is not retried, so it stays queued until a call reaches the fake.)
    s.fake.fail_next(1, Failure::Status(418));
    let err = s
        .svc
        .verify_kaltura_login(&ctx, me, bob.email, &password(bob.password))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyAttempts {
                retry_after_secs: 840,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.kind().http_status(), 429);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(840)));
    assert!(err.to_string().contains("try again in 14 minutes"), "{err}");
    assert_eq!(
        audit_of(&store, AuditAction::KalturaLoginFailed)
            .await
            .len(),
        3,
        "a rate-limited attempt is not a sign-in"
    );
    // Kaltura was not called: the injected failure is still queued.
    let err = s.account.client().user().get("bob").await.unwrap_err();
    assert!(
        matches!(err, kaltura_client::Error::Http { status: 418, .. }),
        "{err:?}"
    );

    // Other members are not limited by this one.
    let carol = demo("carol");
    let proof = s
        .svc
        .verify_kaltura_login(&ctx, user(8), carol.email, &password(carol.password))
        .await
        .unwrap();
    assert_eq!(proof.kaltura_user(), &UserId::new("carol"));

    // Once the oldest failure leaves the window, the member may try again.
    s.clock.advance(840);
    let proof = s
        .svc
        .verify_kaltura_login(&ctx, me, bob.email, &password(bob.password))
        .await
        .unwrap();
    assert_eq!(proof.kaltura_user(), &UserId::new("bob"));

    // Kaltura failing is not the member's failure: not audited, not counted.
    for _ in 0..4 {
        s.fake.fail_next(1, Failure::Status(500));
        let err = s
            .svc
            .verify_kaltura_login(&ctx, user(10), bob.email, &password(bob.password))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    }
    assert!(
        s.svc
            .verify_kaltura_login(&ctx, user(10), bob.email, &password(bob.password))
            .await
            .is_ok()
    );
    assert_eq!(
        audit_of(&store, AuditAction::KalturaLoginFailed)
            .await
            .len(),
        3
    );

    // Hostile input is refused before Kaltura.
    for (login, pw, field) in [
        ("", "x", "login_id"),
        ("a\u{0}b", "x", "login_id"),
        (&*"x".repeat(321), "x", "login_id"),
        ("a@b.c", "", "password"),
        ("a@b.c", &*"p".repeat(1025), "password"),
    ] {
        let err = s
            .svc
            .verify_kaltura_login(&ctx, user(11), login, &password(pw))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: f, .. } if *f == field),
            "{err:?}"
        );
    }
}

async fn kalturas_lockout_is_reported_as_locked(store: SqlStore) {
    let lockout = LoginLockout::new(2, Duration::from_secs(3600));
    let s = setup(
        &store,
        lockout,
        LoginAttemptLimit::new(10, Duration::from_secs(900)),
    )
    .await;
    let config = guild_config(IdentityStrategy::PrefixedId).await;
    let ctx = GuildContext::new(guild(), &config, &s.account);
    let carol = demo("carol");
    let attempt = |pw: &'static str| {
        let svc = s.svc.clone();
        async move {
            svc.verify_kaltura_login(&ctx, user(7), carol.email, &password(pw))
                .await
                .map_err(|e| refusal(&e))
        }
    };
    assert_eq!(
        attempt("wrong-1").await.unwrap_err(),
        Some(LinkRefusal::KalturaLoginFailed)
    );
    assert_eq!(
        attempt("wrong-2").await.unwrap_err(),
        Some(LinkRefusal::KalturaLoginLocked)
    );
    assert_eq!(
        attempt(carol.password).await.unwrap_err(),
        Some(LinkRefusal::KalturaLoginLocked)
    );
    let codes: Vec<String> = audit_of(&store, AuditAction::KalturaLoginFailed)
        .await
        .iter()
        .map(|e| e.detail["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            "LOGIN_BLOCKED",
            "LOGIN_RETRIES_EXCEEDED",
            "USER_WRONG_PASSWORD"
        ]
    );
}

async fn verified_emails_become_proofs_where_the_guild_allows_them(store: SqlStore) {
    let s = setup(
        &store,
        LoginLockout::default(),
        LoginAttemptLimit::default(),
    )
    .await;
    let by_email = guild_config(IdentityStrategy::Email).await;
    let prefixed = guild_config(IdentityStrategy::PrefixedId).await;
    let me = Subject::new(user(7));

    let err = s
        .svc
        .verified_email_proof(&prefixed, me.user, "alice", "alice@example.com", true)
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&err),
        Some(LinkRefusal::EmailProofNotAllowed),
        "{err:?}"
    );
    let err = s
        .svc
        .verified_email_proof(&by_email, me.user, "alice", "bob@example.com", true)
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), Some(LinkRefusal::EmailMismatch), "{err:?}");
    let err = s
        .svc
        .verified_email_proof(&by_email, me.user, "alice", "alice@example.com", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { field: "email", .. }),
        "{err:?}"
    );
    let err = s
        .svc
        .verified_email_proof(&by_email, me.user, "nobody", "alice@example.com", true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    let proof = s
        .svc
        .verified_email_proof(&by_email, me.user, "alice", " Alice@Example.com ", true)
        .await
        .unwrap();
    assert_eq!(proof.kind(), LinkProofKind::VerifiedEmail);
    let link = s
        .svc
        .link(guild(), &by_email, &me, me.user, "alice", Some(&proof))
        .await
        .unwrap();
    assert_eq!(link.kaltura_user, UserId::new("alice"));
    let linked = audit_of(&store, AuditAction::IdentityLinked).await;
    assert_eq!(linked[0].detail["proof"], "verified_email");
}

both_backends!(
    a_kaltura_login_proves_and_links_the_member,
    wrong_passwords_are_refused_audited_and_rate_limited,
    kalturas_lockout_is_reported_as_locked,
    verified_emails_become_proofs_where_the_guild_allows_them,
);
