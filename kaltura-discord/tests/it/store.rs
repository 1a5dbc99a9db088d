//! The store traits on SQLite and PostgreSQL: the same behaviour on both.

use std::sync::Arc;

use kaltura_client::UserId;
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::store::{
    AuditAction, AuditLog, GuildSettingsStore, IdentityLink, IdentityStore, LinkScope,
    NewAuditEntry, SqlStore,
};
use kaltura_discord::{DiscordUserId, Error, GuildId};
use serde_json::{Value, json};

fn guild(id: u64) -> GuildId {
    GuildId::new(id).unwrap()
}
fn scope(id: u64) -> LinkScope {
    LinkScope::Guild(guild(id))
}
fn user(id: u64) -> DiscordUserId {
    DiscordUserId::new(id).unwrap()
}

fn link(g: u64, discord: u64, kaltura: &str, by: u64) -> IdentityLink {
    IdentityLink {
        scope: LinkScope::Guild(guild(g)),
        guild: guild(g),
        discord_user: user(discord),
        kaltura_user: UserId::new(kaltura),
        linked_at: 1_700_000_000,
        linked_by: user(by),
    }
}

async fn links_are_found_both_ways_and_scoped_per_guild(store: SqlStore) {
    store.link(&link(1, 10, "discord_10", 10)).await.unwrap();
    store
        .link(&link(1, 11, "alice@example.com", 99))
        .await
        .unwrap();
    store.link(&link(2, 10, "someone_else", 10)).await.unwrap();
    assert_eq!(
        store.find_by_discord(scope(1), user(10)).await.unwrap(),
        Some(link(1, 10, "discord_10", 10))
    );
    assert_eq!(
        store
            .find_by_kaltura(scope(1), &UserId::new("alice@example.com"))
            .await
            .unwrap(),
        Some(link(1, 11, "alice@example.com", 99))
    );
    assert_eq!(
        store.find_by_discord(scope(2), user(11)).await.unwrap(),
        None
    );
    let all = store.list_links(scope(1)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(store.list_links(scope(3)).await.unwrap(), vec![]);
}

async fn relinking_replaces_and_a_taken_kaltura_user_conflicts(store: SqlStore) {
    store.link(&link(1, 10, "k_a", 10)).await.unwrap();
    store.link(&link(1, 10, "k_b", 10)).await.unwrap();
    assert_eq!(
        store
            .find_by_discord(scope(1), user(10))
            .await
            .unwrap()
            .unwrap()
            .kaltura_user,
        UserId::new("k_b")
    );
    let err = store.link(&link(1, 20, "k_b", 20)).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains("already linked"), "{err}");
    // Nothing was changed by the refused link.
    assert_eq!(
        store.find_by_discord(scope(1), user(20)).await.unwrap(),
        None
    );
}

async fn hostile_ids_are_stored_as_data(store: SqlStore) {
    let hostile = "../../etc/passwd'; DROP TABLE identity_links; --";
    store.link(&link(1, 10, hostile, 10)).await.unwrap();
    assert_eq!(
        store
            .find_by_discord(scope(1), user(10))
            .await
            .unwrap()
            .unwrap()
            .kaltura_user,
        UserId::new(hostile)
    );
    assert_eq!(store.list_links(scope(1)).await.unwrap().len(), 1);
}

async fn unlink_removes_once_and_everything_is_audited(store: SqlStore) {
    store.link(&link(1, 10, "k", 99)).await.unwrap();
    assert!(
        store
            .unlink(scope(1), user(10), guild(1), user(99))
            .await
            .unwrap()
    );
    assert!(
        !store
            .unlink(scope(1), user(10), guild(1), user(99))
            .await
            .unwrap()
    );
    let log = store.recent(guild(1), 10).await.unwrap();
    let actions: Vec<AuditAction> = log.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![AuditAction::IdentityUnlinked, AuditAction::IdentityLinked]
    );
    assert_eq!(log[1].actor, Some(user(99)));
    assert_eq!(log[1].detail["kaltura_user"], "k");
    assert!(log[0].id > log[1].id);
}

async fn audit_entries_are_listed_newest_first_per_guild(store: SqlStore) {
    for i in 0..5 {
        store
            .append(NewAuditEntry {
                guild: guild(1),
                actor: None,
                action: AuditAction::MeetingStarted,
                detail: json!({"meeting": i}),
            })
            .await
            .unwrap();
    }
    store
        .append(NewAuditEntry {
            guild: guild(2),
            actor: Some(user(5)),
            action: AuditAction::MediaShared,
            detail: json!({}),
        })
        .await
        .unwrap();
    let recent = store.recent(guild(1), 3).await.unwrap();
    assert_eq!(
        recent
            .iter()
            .map(|e| e.detail["meeting"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![4, 3, 2]
    );
    assert_eq!(store.recent(guild(2), 10).await.unwrap().len(), 1);
}

async fn concurrent_override_updates_lose_nothing(store: SqlStore) {
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..16u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .update_override(guild(7), user(100 + i), &|doc| {
                    let n = doc.get("counter").and_then(Value::as_i64).unwrap_or(0);
                    doc.insert("counter".into(), json!(n + 1));
                    Ok(())
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stored = store.get_override(guild(7)).await.unwrap().unwrap();
    assert_eq!(stored.document["counter"], json!(16));
    assert_eq!(stored.version, 16);
    let log = store.recent(guild(7), 100).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.action == AuditAction::ConfigChanged)
            .count(),
        16
    );
}

async fn a_refused_edit_changes_nothing(store: SqlStore) {
    store
        .update_override(guild(1), user(1), &|doc| {
            doc.insert("locale".into(), json!("de-DE"));
            Ok(())
        })
        .await
        .unwrap();
    let err = store
        .update_override(guild(1), user(1), &|doc| {
            doc.insert("locale".into(), json!("xx"));
            Err(Error::invalid_input("test", "no"))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    let stored = store.get_override(guild(1)).await.unwrap().unwrap();
    assert_eq!(stored.document["locale"], "de-DE");
    assert_eq!(stored.version, 1);
    assert_eq!(store.recent(guild(1), 10).await.unwrap().len(), 1);
}

async fn oversized_overrides_are_refused(store: SqlStore) {
    let err = store
        .update_override(guild(1), user(1), &|doc| {
            doc.insert(
                "notifications".into(),
                json!({"templates": {"big": "x".repeat(100_000)}}),
            );
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("more than the 65536 allowed"),
        "{err}"
    );
    assert_eq!(store.get_override(guild(1)).await.unwrap(), None);
}

async fn resolver_reads_overrides_from_the_store(store: SqlStore) {
    let store = Arc::new(store);
    let resolver = ConfigResolver::load(&ConfigSources::defaults_only())
        .unwrap()
        .with_store(store.clone());
    assert_eq!(
        resolver
            .guild(guild(3))
            .await
            .unwrap()
            .config()
            .meetings
            .default_duration_minutes,
        60
    );
    store
        .update_override(guild(3), user(1), &|doc| {
            doc.insert("meetings".into(), json!({"default_duration_minutes": 45}));
            Ok(())
        })
        .await
        .unwrap();
    resolver.invalidate(guild(3));
    let resolved = resolver.guild(guild(3)).await.unwrap();
    assert_eq!(resolved.config().meetings.default_duration_minutes, 45);
    assert_eq!(
        resolved.explain("meetings.default_duration_minutes")[0].layer,
        kaltura_discord::config::Layer::GuildStore
    );
    assert!(store.delete_override(guild(3), user(1)).await.unwrap());
    assert!(!store.delete_override(guild(3), user(1)).await.unwrap());
}

async fn partner_scoped_links_apply_in_every_guild(store: SqlStore) {
    let partner = LinkScope::Partner(kaltura_client::PartnerId::new(12345));
    let mut l = link(1, 10, "shared_user", 10);
    l.scope = partner;
    store.link(&l).await.unwrap();
    assert_eq!(
        store.find_by_discord(partner, user(10)).await.unwrap(),
        Some(l.clone())
    );
    // Not visible in a guild scope, and another partner is separate.
    assert_eq!(
        store.find_by_discord(scope(1), user(10)).await.unwrap(),
        None
    );
    let other = LinkScope::Partner(kaltura_client::PartnerId::new(999));
    assert_eq!(store.find_by_discord(other, user(10)).await.unwrap(), None);
    // The same Kaltura user cannot go to a second member of the partner, even from another guild.
    let mut taken = link(2, 20, "shared_user", 20);
    taken.scope = partner;
    assert!(matches!(
        store.link(&taken).await,
        Err(Error::Conflict { .. })
    ));
    assert!(
        store
            .unlink(partner, user(10), guild(2), user(10))
            .await
            .unwrap()
    );
    assert_eq!(
        store.recent(guild(2), 5).await.unwrap()[0].action,
        AuditAction::IdentityUnlinked
    );
}

#[test]
fn link_scope_keys_round_trip_and_reject_garbage() {
    for s in [
        scope(7),
        LinkScope::Partner(kaltura_client::PartnerId::new(12345)),
    ] {
        assert_eq!(LinkScope::parse_key(&s.key()), Some(s));
    }
    for bad in [
        "",
        "guild:",
        "guild:abc",
        "partner:-1",
        "partner:0",
        "partner:01",
        "team:1",
        "guild",
    ] {
        assert_eq!(LinkScope::parse_key(bad), None, "{bad}");
    }
}

both_backends!(
    partner_scoped_links_apply_in_every_guild,
    links_are_found_both_ways_and_scoped_per_guild,
    relinking_replaces_and_a_taken_kaltura_user_conflicts,
    hostile_ids_are_stored_as_data,
    unlink_removes_once_and_everything_is_audited,
    audit_entries_are_listed_newest_first_per_guild,
    concurrent_override_updates_lose_nothing,
    a_refused_edit_changes_nothing,
    oversized_overrides_are_refused,
    resolver_reads_overrides_from_the_store,
);

#[tokio::test]
async fn sqlite_data_survives_a_restart_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/kd.db");
    {
        let store = SqlStore::sqlite(&path).await.unwrap();
        store.link(&link(1, 10, "k", 10)).await.unwrap();
        store.close().await;
    }
    let store = SqlStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert!(
        store
            .find_by_discord(scope(1), user(10))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn unsupported_database_urls_are_clear_errors() {
    let err = SqlStore::connect("mysql://u:hunter2@db/x")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unsupported database URL scheme") && !err.contains("hunter2"),
        "{err}"
    );
    let err = SqlStore::postgres("postgres://127.0.0.1/x", Some("Bad-Schema"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("schema name"), "{err}");
}
