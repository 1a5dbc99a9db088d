//! Gateway sessions (`SessionStore`, `PendingLoginStore`) in memory, on SQLite and on
//! PostgreSQL: rotation, reuse detection, expiry, revocation, purging, one-use pending
//! logins and concurrent rotations of one token.

use std::sync::Arc;
use std::time::Duration;

use kaltura_client::clock::ManualClock;
use kaltura_discord::gateway::sessions::{
    FamilyId, IssuedSession, PendingLogin, PendingLoginStore, SessionPolicy, SessionStore, Sessions,
};
use kaltura_discord::gateway::{GatewayError, RefreshRefusal, TokenHash};
use kaltura_discord::{DiscordUserId, Error, ErrorKind, GuildId, RoleId};
use secrecy::{ExposeSecret, SecretString};

const T0: i64 = 1_700_000_000;
const TOKEN_TTL: i64 = 100;
const LIFETIME: i64 = 250;

/// What one test runs on: every store of the crate.
trait Stores: SessionStore + PendingLoginStore + Clone + 'static {}
impl<S: SessionStore + PendingLoginStore + Clone + 'static> Stores for S {}

fn user(id: u64) -> DiscordUserId {
    DiscordUserId::new(id).unwrap()
}
fn guild(id: u64) -> GuildId {
    GuildId::new(id).unwrap()
}
fn role(id: u64) -> RoleId {
    RoleId::new(id).unwrap()
}

fn sessions<S: Stores>(store: &S) -> (Sessions, ManualClock) {
    let clock = ManualClock::new(T0);
    let sessions = Sessions::new(Arc::new(store.clone()))
        .with_clock(Arc::new(clock.clone()))
        .with_policy(SessionPolicy {
            token_ttl: Duration::from_secs(TOKEN_TTL as u64),
            max_lifetime: Duration::from_secs(LIFETIME as u64),
        });
    (sessions, clock)
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Error>, expected: RefreshRefusal) {
    match result {
        Err(Error::Gateway(GatewayError::RefreshRefused { reason })) => {
            assert_eq!(reason, expected)
        }
        other => panic!("expected refusal {expected:?}, got {other:?}"),
    }
}

async fn rotation_consumes_the_token_and_keeps_the_session<S: Stores>(store: S) {
    let (sessions, clock) = sessions(&store);
    let first = sessions
        .issue(user(7), guild(1), vec![role(30), role(31)])
        .await
        .unwrap();
    assert_eq!(first.session.user, user(7));
    assert_eq!(first.session.guild, guild(1));
    assert_eq!(first.session.roles, vec![role(30), role(31)]);
    assert_eq!(first.session.created_at, T0);
    assert_eq!(first.session.expires_at, T0 + LIFETIME);
    assert_eq!(first.session.token_expires_at, T0 + TOKEN_TTL);
    assert_eq!(first.token.expose().len(), 43);
    clock.set(T0 + 10);
    let second = sessions.rotate(first.token.expose()).await.unwrap();
    assert_ne!(second.token.expose(), first.token.expose());
    assert_eq!(
        second.session,
        kaltura_discord::gateway::sessions::Session {
            token_expires_at: T0 + 10 + TOKEN_TTL,
            ..first.session.clone()
        }
    );
    // Both tokens name the family; only the new one refreshes.
    for t in [&first, &second] {
        assert_eq!(
            store.token_family(&t.token.hash()).await.unwrap(),
            Some(first.session.family.clone())
        );
    }
    let third = sessions.rotate(second.token.expose()).await.unwrap();
    assert_eq!(third.session.family, first.session.family);
    // Another member's session is independent.
    let other = sessions.issue(user(8), guild(1), vec![]).await.unwrap();
    assert_ne!(other.session.family, first.session.family);
    sessions.rotate(other.token.expose()).await.unwrap();
}

async fn reuse_of_a_consumed_token_revokes_the_family<S: Stores>(store: S) {
    let (sessions, _clock) = sessions(&store);
    let first = sessions.issue(user(7), guild(1), vec![]).await.unwrap();
    let bystander = sessions.issue(user(7), guild(2), vec![]).await.unwrap();
    let second = sessions.rotate(first.token.expose()).await.unwrap();
    // The thief (or the member) presents the consumed token: refused, family revoked.
    let reused = sessions.rotate(first.token.expose()).await;
    let kind = reused.as_ref().err().map(Error::kind);
    assert_refused(reused, RefreshRefusal::Reused);
    assert_eq!(kind, Some(ErrorKind::Unauthenticated));
    // The legitimate successor is dead too, and stays dead.
    assert_refused(
        sessions.rotate(second.token.expose()).await,
        RefreshRefusal::Revoked,
    );
    assert_refused(
        sessions.rotate(first.token.expose()).await,
        RefreshRefusal::Revoked,
    );
    // Only that family: the member's other session still works.
    sessions.rotate(bystander.token.expose()).await.unwrap();
}

async fn unknown_and_malformed_tokens_are_refused<S: Stores>(store: S) {
    let (sessions, _clock) = sessions(&store);
    sessions.issue(user(7), guild(1), vec![]).await.unwrap();
    for bad in [
        "",
        "short",
        "../../etc/passwd",
        &"A".repeat(43),
        &"x".repeat(10_000),
        "' OR 1=1 --                                ",
    ] {
        assert_refused(sessions.rotate(bad).await, RefreshRefusal::Unknown);
        assert!(!sessions.logout(bad).await.unwrap());
    }
}

async fn tokens_and_sessions_expire_and_are_purged<S: Stores>(store: S) {
    let (sessions, clock) = sessions(&store);
    // A token unused for its whole lifetime expires.
    let idle = sessions.issue(user(7), guild(1), vec![]).await.unwrap();
    // A token rotated regularly lives until the session's end, not longer.
    let mut active = sessions.issue(user(8), guild(1), vec![]).await.unwrap();
    let mut now = T0;
    while now + 90 < T0 + LIFETIME {
        now += 90;
        clock.set(now);
        active = sessions.rotate(active.token.expose()).await.unwrap();
        assert_eq!(
            active.session.token_expires_at,
            (now + TOKEN_TTL).min(T0 + LIFETIME)
        );
    }
    assert_eq!(active.session.token_expires_at, T0 + LIFETIME);
    clock.set(T0 + TOKEN_TTL);
    assert_refused(
        sessions.rotate(idle.token.expose()).await,
        RefreshRefusal::Expired,
    );
    clock.set(T0 + LIFETIME);
    assert_refused(
        sessions.rotate(active.token.expose()).await,
        RefreshRefusal::Expired,
    );
    // Purging removes both sessions and every token; the tokens are then unknown.
    let purged = sessions.purge().await.unwrap();
    // 2 sessions + 1 idle token + 1 first active token + 2 rotations.
    assert_eq!(purged, 2 + 1 + 3);
    assert_eq!(sessions.purge().await.unwrap(), 0);
    assert_refused(
        sessions.rotate(active.token.expose()).await,
        RefreshRefusal::Unknown,
    );
    assert_eq!(
        store.token_family(&active.token.hash()).await.unwrap(),
        None
    );
}

async fn purging_keeps_live_sessions<S: Stores>(store: S) {
    let (sessions, clock) = sessions(&store);
    let a = sessions.issue(user(7), guild(1), vec![]).await.unwrap();
    clock.set(T0 + 60);
    let b = sessions.rotate(a.token.expose()).await.unwrap();
    clock.set(T0 + TOKEN_TTL);
    // The consumed first token expired; the session and its current token live on.
    assert_eq!(sessions.purge().await.unwrap(), 1);
    let c = sessions.rotate(b.token.expose()).await.unwrap();
    assert_eq!(c.session.family, a.session.family);
}

async fn logout_and_revocation_for_a_user<S: Stores>(store: S) {
    let (sessions, _clock) = sessions(&store);
    let a1 = sessions.issue(user(7), guild(1), vec![]).await.unwrap();
    let a2 = sessions.issue(user(7), guild(2), vec![]).await.unwrap();
    let a3 = sessions.issue(user(7), guild(3), vec![]).await.unwrap();
    let b = sessions.issue(user(8), guild(1), vec![]).await.unwrap();
    // Logout with the current token revokes its family only.
    assert!(sessions.logout(a1.token.expose()).await.unwrap());
    assert!(!sessions.logout(a1.token.expose()).await.unwrap());
    assert_refused(
        sessions.rotate(a1.token.expose()).await,
        RefreshRefusal::Revoked,
    );
    // Logout with a consumed token of the family works too.
    let a2b = sessions.rotate(a2.token.expose()).await.unwrap();
    assert!(sessions.logout(a2.token.expose()).await.unwrap());
    assert_refused(
        sessions.rotate(a2b.token.expose()).await,
        RefreshRefusal::Revoked,
    );
    // Revoking the member ends every remaining session of theirs, in every guild.
    assert_eq!(sessions.revoke_user(user(7)).await.unwrap(), 1);
    assert_eq!(sessions.revoke_user(user(7)).await.unwrap(), 0);
    assert_refused(
        sessions.rotate(a3.token.expose()).await,
        RefreshRefusal::Revoked,
    );
    // Nobody else's.
    let b2 = sessions.rotate(b.token.expose()).await.unwrap();
    assert!(sessions.revoke_family(&b2.session.family).await.unwrap());
    assert!(
        !sessions
            .revoke_family(&FamilyId::parse(&"0".repeat(32)).unwrap())
            .await
            .unwrap()
    );
}

fn pending(state: &str, guild_id: u64, expires_at: i64) -> PendingLogin {
    PendingLogin {
        state: TokenHash::of(state),
        verifier: SecretString::from(format!("verifier-of-{state}")),
        guild: guild(guild_id),
        redirect: "/dashboard".to_owned(),
        created_at: T0,
        expires_at,
    }
}

async fn pending_logins_are_taken_once_and_purged<S: Stores>(store: S) {
    store
        .put_pending_login(&pending("a", 1, T0 + 600))
        .await
        .unwrap();
    store
        .put_pending_login(&pending("b", 2, T0 + 10))
        .await
        .unwrap();
    let duplicate = store.put_pending_login(&pending("a", 1, T0 + 600)).await;
    assert!(
        matches!(duplicate, Err(Error::Conflict { .. })),
        "{duplicate:?}"
    );
    let taken = store
        .take_pending_login(&TokenHash::of("a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.state, TokenHash::of("a"));
    assert_eq!(taken.verifier.expose_secret(), "verifier-of-a");
    assert_eq!(
        (
            taken.guild,
            taken.redirect.as_str(),
            taken.created_at,
            taken.expires_at
        ),
        (guild(1), "/dashboard", T0, T0 + 600)
    );
    assert!(
        store
            .take_pending_login(&TokenHash::of("a"))
            .await
            .unwrap()
            .is_none()
    );
    store
        .put_pending_login(&pending("c", 3, T0 + 600))
        .await
        .unwrap();
    assert_eq!(store.purge_pending_logins(T0 + 10).await.unwrap(), 1);
    assert!(
        store
            .take_pending_login(&TokenHash::of("b"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_pending_login(&TokenHash::of("c"))
            .await
            .unwrap()
            .is_some()
    );
}

/// Two tasks rotate the same token at the same time, many times over: each time exactly one
/// wins, the other is refused as reuse, and the family ends revoked.
async fn race(first: Sessions, second: Sessions, rounds: usize) {
    for _ in 0..rounds {
        let issued = first.issue(user(7), guild(1), vec![]).await.unwrap();
        let token = issued.token.expose().to_owned();
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let spawn = |sessions: Sessions| {
            let (token, barrier) = (token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                sessions.rotate(&token).await
            })
        };
        let (a, b) = (spawn(first.clone()), spawn(second.clone()));
        let results: Vec<Result<IssuedSession, Error>> = vec![a.await.unwrap(), b.await.unwrap()];
        let winners: Vec<&IssuedSession> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "exactly one rotation wins: {results:?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(
                loser,
                Error::Gateway(GatewayError::RefreshRefused {
                    reason: RefreshRefusal::Reused
                })
            ),
            "{loser:?}"
        );
        // The race looks like theft: the winner's token is revoked with its family.
        assert_refused(
            first.rotate(winners[0].token.expose()).await,
            RefreshRefusal::Revoked,
        );
    }
}

async fn concurrent_rotations_of_one_token_have_one_winner<S: Stores>(store: S) {
    let (sessions, _clock) = sessions(&store);
    race(sessions.clone(), sessions, 20).await;
}

every_store!(
    rotation_consumes_the_token_and_keeps_the_session,
    reuse_of_a_consumed_token_revokes_the_family,
    unknown_and_malformed_tokens_are_refused,
    tokens_and_sessions_expire_and_are_purged,
    purging_keeps_live_sessions,
    logout_and_revocation_for_a_user,
    pending_logins_are_taken_once_and_purged,
    concurrent_rotations_of_one_token_have_one_winner,
);

/// Two "processes" (two pools on one PostgreSQL schema) rotate the same token at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_pools_rotate_one_token_once() {
    #[cfg(feature = "postgres")]
    if let Some(t) = crate::support::postgres("sessions_two_pools").await {
        let (url, schema) = t.pg_schema().unwrap();
        let second = kaltura_discord::store::SqlStore::postgres(url, Some(schema))
            .await
            .unwrap();
        let (a, _) = sessions(&t.store);
        let (b, _) = sessions(&second);
        race(a, b, 30).await;
        second.close().await;
        t.cleanup().await;
    }
    #[cfg(not(feature = "postgres"))]
    crate::support::skip_postgres("sessions_two_pools", "built without the `postgres` feature");
}

/// The database holds hashes, never a refresh token, a state or anything from which to
/// rebuild one.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stores_only_hashes() {
    use sqlx::Row as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kd.db");
    let store = kaltura_discord::store::SqlStore::sqlite(&path)
        .await
        .unwrap();
    let (sessions, _clock) = sessions(&store);
    let first = sessions
        .issue(user(7), guild(1), vec![role(3)])
        .await
        .unwrap();
    let second = sessions.rotate(first.token.expose()).await.unwrap();
    store
        .put_pending_login(&pending("state-value", 1, T0 + 600))
        .await
        .unwrap();
    store.close().await;
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut dump = String::new();
    for table in [
        "gateway_refresh_tokens",
        "gateway_sessions",
        "gateway_pending_logins",
    ] {
        for row in sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&raw)
            .await
            .unwrap()
        {
            for i in 0..row.len() {
                let text: Option<String> = row.try_get(i).ok().flatten();
                let int: Option<i64> = row.try_get(i).ok().flatten();
                dump.push_str(&format!("{text:?} {int:?}\n"));
            }
        }
    }
    let hashes: Vec<String> = sqlx::query("SELECT token_hash FROM gateway_refresh_tokens")
        .fetch_all(&raw)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    raw.close().await;
    assert_eq!(hashes.len(), 2);
    for t in [&first, &second] {
        assert!(
            !dump.contains(t.token.expose()),
            "a token is stored: {dump}"
        );
        assert!(hashes.contains(&t.token.hash().as_str().to_owned()));
    }
    assert!(
        !dump.contains("\"state-value\""),
        "a state is stored: {dump}"
    );
    assert!(dump.contains(TokenHash::of("state-value").as_str()));
}
