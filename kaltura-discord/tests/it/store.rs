//! The store traits on every store: memory, SQLite and PostgreSQL behave the same.

use std::sync::Arc;

use kaltura_client::clock::{Clock, FixedClock};
use kaltura_client::{PartnerId, ScheduleEventId, ScheduleResourceId, UserId};
use kaltura_discord::config::{ConfigResolver, ConfigSources, MeetingType};
use kaltura_discord::store::{
    AuditAction, AuditLog, GuildOverrideStore, IdentityLink, IdentityStore, LinkScope,
    MeetingRecord, MeetingStatus, MeetingStore, MemoryStore, NewAuditEntry,
};
use kaltura_discord::{DiscordUserId, Error, GuildId};
use serde_json::{Value, json};

/// Everything a store of the crate implements, so that one test runs on each of them.
trait Stores: IdentityStore + GuildOverrideStore + MeetingStore + AuditLog + Clone + 'static {
    /// The store reading time from `clock`.
    fn clocked(self, clock: Arc<dyn Clock>) -> Self;
}

impl Stores for MemoryStore {
    fn clocked(self, clock: Arc<dyn Clock>) -> Self {
        self.with_clock(clock)
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Stores for kaltura_discord::store::SqlStore {
    fn clocked(self, clock: Arc<dyn Clock>) -> Self {
        self.with_clock(clock)
    }
}

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

async fn links_are_found_both_ways_and_scoped_per_guild<S: Stores>(store: S) {
    store
        .link(
            &link(1, 10, "discord_10", 10),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap();
    store
        .link(
            &link(1, 11, "alice@example.com", 99),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap();
    store
        .link(
            &link(2, 10, "someone_else", 10),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap();
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

async fn relinking_replaces_and_a_taken_kaltura_user_conflicts<S: Stores>(store: S) {
    store
        .link(
            &link(1, 10, "k_a", 10),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap();
    store
        .link(
            &link(1, 10, "k_b", 10),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .find_by_discord(scope(1), user(10))
            .await
            .unwrap()
            .unwrap()
            .kaltura_user,
        UserId::new("k_b")
    );
    let err = store
        .link(
            &link(1, 20, "k_b", 20),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains("already linked"), "{err}");
    // Nothing was changed by the refused link.
    assert_eq!(
        store.find_by_discord(scope(1), user(20)).await.unwrap(),
        None
    );
}

async fn hostile_ids_are_stored_as_data<S: Stores>(store: S) {
    let hostile = "../../etc/passwd'; DROP TABLE identity_links; --";
    store
        .link(
            &link(1, 10, hostile, 10),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap();
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

async fn unlink_removes_once_and_everything_is_audited<S: Stores>(store: S) {
    store
        .link(
            &link(1, 10, "k", 99),
            &kaltura_discord::store::AuditNote::new(),
        )
        .await
        .unwrap();
    assert!(
        store
            .unlink(
                scope(1),
                user(10),
                guild(1),
                user(99),
                &kaltura_discord::store::AuditNote::new()
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .unlink(
                scope(1),
                user(10),
                guild(1),
                user(99),
                &kaltura_discord::store::AuditNote::new()
            )
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

async fn audit_entries_are_listed_newest_first_per_guild<S: Stores>(store: S) {
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

async fn audit_pages_reach_every_entry_of_the_guild_newest_first<S: Stores>(store: S) {
    // Two guilds interleaved, so a page of guild 1 skips guild 2's ids.
    let mut ids = Vec::new();
    for i in 0..7 {
        let entry = store
            .append(NewAuditEntry {
                guild: guild(1),
                actor: None,
                action: AuditAction::MeetingStarted,
                detail: json!({"meeting": i}),
            })
            .await
            .unwrap();
        ids.push(entry.id);
        store
            .append(NewAuditEntry {
                guild: guild(2),
                actor: None,
                action: AuditAction::MediaShared,
                detail: json!({}),
            })
            .await
            .unwrap();
    }
    ids.reverse();
    let page_ids = |page: Vec<kaltura_discord::store::AuditEntry>| {
        assert!(page.iter().all(|e| e.guild == guild(1)), "{page:?}");
        page.iter().map(|e| e.id).collect::<Vec<_>>()
    };

    // No cursor: the newest, like `recent`.
    assert_eq!(
        page_ids(store.page(guild(1), None, 3).await.unwrap()),
        ids[..3]
    );
    // Walking the cursor visits each entry once, newest first.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = page_ids(store.page(guild(1), before, 3).await.unwrap());
        let Some(&last) = page.last() else { break };
        assert!(page.len() <= 3);
        seen.extend(page);
        before = Some(last);
    }
    assert_eq!(seen, ids);
    // The cursor is exclusive and need not be an id of the guild (or of any entry).
    assert_eq!(
        page_ids(store.page(guild(1), Some(ids[2]), 2).await.unwrap()),
        ids[3..5]
    );
    assert_eq!(
        page_ids(store.page(guild(1), Some(ids[2] + 1), 2).await.unwrap()),
        ids[2..4]
    );
    // Cursors past either end, and a guild without entries.
    assert_eq!(
        page_ids(store.page(guild(1), Some(i64::MAX), 100).await.unwrap()),
        ids
    );
    assert!(
        store
            .page(guild(1), Some(ids[6]), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.page(guild(1), Some(0), 10).await.unwrap().is_empty());
    assert!(
        store
            .page(guild(1), Some(i64::MIN), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.page(guild(3), None, 10).await.unwrap().is_empty());
    assert!(store.page(guild(1), None, 0).await.unwrap().is_empty());
    // The other guild pages the same way.
    assert_eq!(store.page(guild(2), None, 100).await.unwrap().len(), 7);
}

async fn concurrent_override_updates_lose_nothing<S: Stores>(store: S) {
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

async fn a_refused_edit_changes_nothing<S: Stores>(store: S) {
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

async fn oversized_overrides_are_refused<S: Stores>(store: S) {
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

async fn resolver_reads_overrides_from_the_store<S: Stores>(store: S) {
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

async fn partner_scoped_links_apply_in_every_guild<S: Stores>(store: S) {
    let partner = LinkScope::Partner(kaltura_client::PartnerId::new(12345));
    let mut l = link(1, 10, "shared_user", 10);
    l.scope = partner;
    store
        .link(&l, &kaltura_discord::store::AuditNote::new())
        .await
        .unwrap();
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
        store
            .link(&taken, &kaltura_discord::store::AuditNote::new())
            .await,
        Err(Error::Conflict { .. })
    ));
    assert!(
        store
            .unlink(
                partner,
                user(10),
                guild(2),
                user(10),
                &kaltura_discord::store::AuditNote::new()
            )
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

fn meeting(g: u64, event: i64, starts_at: i64, title: &str) -> MeetingRecord {
    MeetingRecord {
        guild: guild(g),
        partner_id: PartnerId::new(100),
        event_id: ScheduleEventId::new(event),
        resource_id: ScheduleResourceId::new(event + 1000),
        title: title.to_owned(),
        description: None,
        kind: MeetingType::MeetingRoom,
        starts_at,
        ends_at: starts_at + 3600,
        created_by: user(1),
        created_at: 1_700_000_000,
        status: MeetingStatus::Scheduled,
        ended_at: None,
        ended_by: None,
    }
}

async fn meetings_are_scoped_by_guild_and_recorded_once<S: Stores>(store: S) {
    let partner = PartnerId::new(100);
    let now = 1_700_000_000;
    store
        .insert_meeting(&meeting(1, 7, now + 200, "later"))
        .await
        .unwrap();
    store
        .insert_meeting(&meeting(1, 5, now + 100, "sooner"))
        .await
        .unwrap();
    store
        .insert_meeting(&meeting(1, 6, now - 7200, "over"))
        .await
        .unwrap();
    store
        .insert_meeting(&meeting(2, 8, now, "other guild"))
        .await
        .unwrap();
    let err = store
        .insert_meeting(&meeting(2, 7, now, "same event"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let found = store
        .find_meeting(guild(1), partner, ScheduleEventId::new(7))
        .await
        .unwrap();
    assert_eq!(found, Some(meeting(1, 7, now + 200, "later")));
    // Another guild (or partner) never sees it.
    assert_eq!(
        store
            .find_meeting(guild(2), partner, ScheduleEventId::new(7))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_meeting(guild(1), PartnerId::new(101), ScheduleEventId::new(7))
            .await
            .unwrap(),
        None
    );
    let open = store
        .list_open_meetings(guild(1), partner, now)
        .await
        .unwrap();
    let titles: Vec<&str> = open.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(titles, vec!["sooner", "later"]);
    assert!(
        store
            .mark_meeting_ended(guild(1), partner, ScheduleEventId::new(5), user(2), now + 1)
            .await
            .unwrap()
    );
    // Ending twice, or from another guild, changes nothing.
    assert!(
        !store
            .mark_meeting_ended(guild(1), partner, ScheduleEventId::new(5), user(2), now + 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_meeting_ended(guild(2), partner, ScheduleEventId::new(7), user(2), now + 2)
            .await
            .unwrap()
    );
    let ended = store
        .find_meeting(guild(1), partner, ScheduleEventId::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.status, MeetingStatus::Ended);
    assert_eq!(ended.ended_at, Some(now + 1));
    assert_eq!(ended.ended_by, Some(user(2)));
    let open = store
        .list_open_meetings(guild(1), partner, now)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].title, "later");
}

async fn the_injected_clock_dates_what_the_store_records<S: Stores>(store: S) {
    let store = store.clocked(Arc::new(FixedClock(1_234_567)));
    let entry = store
        .append(NewAuditEntry {
            guild: guild(1),
            actor: None,
            action: AuditAction::Other,
            detail: json!({"n": 1}),
        })
        .await
        .unwrap();
    assert_eq!(entry.at, 1_234_567);
    let stored = store
        .update_override(guild(1), user(1), &|doc| {
            doc.insert("locale".into(), json!("fr-FR"));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(stored.updated_at, 1_234_567);
    assert_eq!(
        store
            .get_override(guild(1))
            .await
            .unwrap()
            .unwrap()
            .updated_at,
        1_234_567
    );
    let log = store.recent(guild(1), 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| e.at == 1_234_567), "{log:?}");
    assert_eq!(log[0].detail["after"]["locale"], "fr-FR");
    assert_eq!(log[0].detail["version"], 1);
}

async fn meetings_remember_their_discord_event_per_guild<S: Stores>(store: S) {
    let partner = PartnerId::new(100);
    let event = ScheduleEventId::new(7);
    let discord = kaltura_discord::ScheduledEventId::new(900_000_000_000_000_001).unwrap();
    // No meeting yet: nothing is recorded.
    assert!(
        !store
            .set_discord_event(guild(1), partner, event, Some(discord))
            .await
            .unwrap()
    );
    store
        .insert_meeting(&meeting(1, 7, 1_700_000_000, "mirrored"))
        .await
        .unwrap();
    assert_eq!(
        store.discord_event(guild(1), partner, event).await.unwrap(),
        None
    );
    assert!(
        store
            .set_discord_event(guild(1), partner, event, Some(discord))
            .await
            .unwrap()
    );
    assert_eq!(
        store.discord_event(guild(1), partner, event).await.unwrap(),
        Some(discord)
    );
    // Another guild neither sees nor changes it.
    assert_eq!(
        store.discord_event(guild(2), partner, event).await.unwrap(),
        None
    );
    assert!(
        !store
            .set_discord_event(guild(2), partner, event, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .find_meeting(guild(1), partner, event)
            .await
            .unwrap()
            .unwrap()
            .title,
        "mirrored"
    );
    assert!(
        store
            .set_discord_event(guild(1), partner, event, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.discord_event(guild(1), partner, event).await.unwrap(),
        None
    );
}

every_store!(
    meetings_remember_their_discord_event_per_guild,
    partner_scoped_links_apply_in_every_guild,
    links_are_found_both_ways_and_scoped_per_guild,
    relinking_replaces_and_a_taken_kaltura_user_conflicts,
    hostile_ids_are_stored_as_data,
    unlink_removes_once_and_everything_is_audited,
    audit_entries_are_listed_newest_first_per_guild,
    audit_pages_reach_every_entry_of_the_guild_newest_first,
    concurrent_override_updates_lose_nothing,
    a_refused_edit_changes_nothing,
    oversized_overrides_are_refused,
    resolver_reads_overrides_from_the_store,
    meetings_are_scoped_by_guild_and_recorded_once,
    the_injected_clock_dates_what_the_store_records,
);

/// The memory store drops its oldest entries first when full, whichever guild they belong
/// to, and pages over what is left.
#[tokio::test]
async fn a_full_memory_audit_log_drops_the_oldest_entries_of_any_guild() {
    use kaltura_discord::store::MAX_MEMORY_AUDIT_ENTRIES;
    let store = MemoryStore::new();
    let total = MAX_MEMORY_AUDIT_ENTRIES + 3;
    for i in 0..total {
        // Guild 1 owns the first two entries and every third one after.
        let g = if i < 2 || i % 3 == 0 { 1 } else { 2 };
        store
            .append(NewAuditEntry {
                guild: guild(g),
                actor: None,
                action: AuditAction::Other,
                detail: Value::Null,
            })
            .await
            .unwrap();
    }
    let mut kept = Vec::new();
    for g in [1, 2] {
        let mut before = None;
        loop {
            let page = store.page(guild(g), before, 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            kept.extend(page.iter().map(|e| e.id));
        }
    }
    kept.sort_unstable();
    let first_kept = i64::try_from(total - MAX_MEMORY_AUDIT_ENTRIES).unwrap() + 1;
    let last = i64::try_from(total).unwrap();
    assert_eq!(kept, (first_kept..=last).collect::<Vec<_>>());
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql {
    use kaltura_discord::error::Resource;
    use kaltura_discord::store::SqlStore;

    use super::*;

    /// Writes with raw SQL into a store's database, as something outside the library would.
    pub(super) enum Raw {
        #[cfg(feature = "sqlite")]
        Sqlite(sqlx::SqlitePool),
        #[cfg(feature = "postgres")]
        Postgres(sqlx::PgPool, String),
    }

    impl Raw {
        /// Runs `sql` with `{t}` replaced by the table prefix (the test's schema).
        pub(super) async fn exec(&self, sql: &str) {
            match self {
                #[cfg(feature = "sqlite")]
                Raw::Sqlite(pool) => {
                    sqlx::query(&sql.replace("{t}", ""))
                        .execute(pool)
                        .await
                        .unwrap();
                }
                #[cfg(feature = "postgres")]
                Raw::Postgres(pool, schema) => {
                    sqlx::query(&sql.replace("{t}", &format!("\"{schema}\".")))
                        .execute(pool)
                        .await
                        .unwrap();
                }
            }
        }

        /// Closes the connections.
        pub(super) async fn close(&self) {
            match self {
                #[cfg(feature = "sqlite")]
                Raw::Sqlite(pool) => pool.close().await,
                #[cfg(feature = "postgres")]
                Raw::Postgres(pool, _) => pool.close().await,
            }
        }

        /// The versions recorded in the migrations table.
        pub(super) async fn migrations(&self) -> Vec<i64> {
            let sql = "SELECT version FROM {t}kd_schema_migrations ORDER BY version";
            match self {
                #[cfg(feature = "sqlite")]
                Raw::Sqlite(pool) => sqlx::query_scalar(&sql.replace("{t}", ""))
                    .fetch_all(pool)
                    .await
                    .unwrap(),
                #[cfg(feature = "postgres")]
                Raw::Postgres(pool, schema) => {
                    sqlx::query_scalar(&sql.replace("{t}", &format!("\"{schema}\".")))
                        .fetch_all(pool)
                        .await
                        .unwrap()
                }
            }
        }
    }

    fn assert_corrupt(err: Error, resource: Resource, field: &str, hidden: &str) {
        match &err {
            Error::Corrupt {
                resource: r,
                field: f,
                ..
            } => {
                assert_eq!((*r, *f), (resource, field), "{err}");
            }
            other => panic!("expected Corrupt({resource}, {field}), got {other:?}"),
        }
        assert!(
            err.to_string().contains(field) && !err.to_string().contains(hidden),
            "{err}"
        );
    }

    /// Rows changed outside the library read back as `Error::Corrupt` naming the field, and
    /// the message does not echo the stored value.
    pub(super) async fn corrupt_rows_name_the_field(store: &SqlStore, raw: &Raw) {
        store
            .link(
                &link(1, 10, "k", 10),
                &kaltura_discord::store::AuditNote::new(),
            )
            .await
            .unwrap();
        raw.exec("UPDATE {t}identity_links SET guild_id = 'evil<script>'")
            .await;
        let err = store.find_by_discord(scope(1), user(10)).await.unwrap_err();
        assert_corrupt(err, Resource::IdentityLink, "guild_id", "evil");
        raw.exec("UPDATE {t}identity_links SET guild_id = '1', linked_by = 'evil'")
            .await;
        let err = store.list_links(scope(1)).await.unwrap_err();
        assert_corrupt(err, Resource::IdentityLink, "linked_by", "evil");

        store
            .update_override(guild(1), user(1), &|doc| {
                doc.insert("locale".into(), json!("de-DE"));
                Ok(())
            })
            .await
            .unwrap();
        raw.exec("UPDATE {t}guild_overrides SET document = '[\"evil\"]'")
            .await;
        let err = store.get_override(guild(1)).await.unwrap_err();
        assert_corrupt(err, Resource::GuildOverride, "document", "evil");
        raw.exec("UPDATE {t}guild_overrides SET document = '{}', updated_by = 'evil'")
            .await;
        let err = store.get_override(guild(1)).await.unwrap_err();
        assert_corrupt(err, Resource::GuildOverride, "updated_by", "evil");

        store
            .insert_meeting(&meeting(1, 5, 1_700_000_000, "m"))
            .await
            .unwrap();
        raw.exec("UPDATE {t}meetings SET status = 'evil'").await;
        let err = store
            .find_meeting(guild(1), PartnerId::new(100), ScheduleEventId::new(5))
            .await
            .unwrap_err();
        assert_corrupt(err, Resource::Meeting, "status", "evil");
        raw.exec("UPDATE {t}meetings SET status = 'scheduled', kind = 'evil'")
            .await;
        let err = store
            .list_open_meetings(guild(1), PartnerId::new(100), 0)
            .await
            .unwrap_err();
        assert_corrupt(err, Resource::Meeting, "kind", "evil");

        raw.exec("UPDATE {t}audit_log SET detail = 'evil{'").await;
        let err = store.recent(guild(1), 10).await.unwrap_err();
        assert_corrupt(err, Resource::AuditEntry, "detail", "evil");
        raw.exec("UPDATE {t}audit_log SET detail = '{}', actor = 'evil'")
            .await;
        let err = store.recent(guild(1), 10).await.unwrap_err();
        assert_corrupt(err, Resource::AuditEntry, "actor", "evil");
    }

    #[tokio::test]
    async fn unsupported_database_urls_are_clear_errors() {
        let err = SqlStore::connect("mysql://u:hunter2@db/x")
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Setup(kaltura_discord::error::SetupError::UnsupportedDatabaseUrl { .. })
            ),
            "{err:?}"
        );
        let err = err.to_string();
        assert!(
            err.contains("unsupported database URL scheme") && !err.contains("hunter2"),
            "{err}"
        );
    }

    /// A build without one backend answers its URLs with `UnsupportedDatabaseUrl`.
    #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
    #[tokio::test]
    async fn a_backend_left_out_of_the_build_is_an_unsupported_url() {
        let url = if cfg!(feature = "sqlite") {
            "postgres://u:hunter2@db/x"
        } else {
            "sqlite:///tmp/kd-never-created.db"
        };
        let err = SqlStore::connect(url).await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Setup(kaltura_discord::error::SetupError::UnsupportedDatabaseUrl { .. })
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("feature"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_only {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::process::{Command, Stdio};

    use kaltura_discord::store::SqlStore;

    use super::sql::Raw;
    use super::*;

    async fn raw(path: &std::path::Path) -> Raw {
        Raw::Sqlite(
            sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn sqlite_data_survives_a_restart_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/kd.db");
        {
            let store = SqlStore::sqlite(&path).await.unwrap();
            store
                .link(
                    &link(1, 10, "k", 10),
                    &kaltura_discord::store::AuditNote::new(),
                )
                .await
                .unwrap();
            store.close().await;
        }
        let store = SqlStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        assert_eq!(store.backend(), "sqlite");
        assert_eq!(
            store.find_by_discord(scope(1), user(10)).await.unwrap(),
            Some(link(1, 10, "k", 10))
        );
        assert_eq!(raw(&path).await.migrations().await, vec![1, 2, 3, 4, 5, 6]);
    }

    /// An audit page is a range scan of the `(guild_id, id)` index, not a scan of the table:
    /// its cost does not grow with the depth of the cursor.
    #[tokio::test]
    async fn sqlite_audit_pages_search_the_guild_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kd.db");
        let store = SqlStore::sqlite(&path).await.unwrap();
        store.close().await;
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT id, guild_id, actor, action, detail, at FROM audit_log \
             WHERE guild_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind("1")
        .bind(5_i64)
        .bind(3_i64)
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
        .collect();
        pool.close().await;
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH audit_log USING")
                    && step.contains("INDEX audit_log_guild (guild_id=? AND id<?)")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }

    #[tokio::test]
    async fn sqlite_corrupt_rows_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kd.db");
        let store = SqlStore::sqlite(&path).await.unwrap();
        super::sql::corrupt_rows_name_the_field(&store, &raw(&path).await).await;
    }

    /// Set in the child processes of `sqlite_two_processes_migrate_one_new_file`: the
    /// database file to open.
    const CHILD_DB_VAR: &str = "KD_TEST_MIGRATION_CHILD_DB";
    const CHILD_TEST: &str = "store::sqlite_only::sqlite_migration_child_process";

    /// Runs only as a child process of `sqlite_two_processes_migrate_one_new_file` (does
    /// nothing otherwise): says `READY`, waits for the parent's go on stdin, then opens the
    /// database, which applies the migrations.
    #[test]
    fn sqlite_migration_child_process() {
        let Some(path) = std::env::var_os(CHILD_DB_VAR) else {
            return;
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        eprintln!("READY");
        let mut go = String::new();
        std::io::stdin().read_line(&mut go).unwrap();
        runtime.block_on(async {
            let store = SqlStore::sqlite(std::path::Path::new(&path))
                .await
                .unwrap_or_else(|e| panic!("child could not open the store: {e}"));
            store
                .append(NewAuditEntry {
                    guild: guild(1),
                    actor: None,
                    action: AuditAction::Other,
                    detail: json!({"pid": std::process::id()}),
                })
                .await
                .unwrap();
            store.close().await;
        });
    }

    /// Starts two child processes on `path`, lets them open it at the same moment, and
    /// asserts that both succeed.
    fn open_from_two_processes_at_once(path: &std::path::Path) {
        let exe = std::env::current_exe().unwrap();
        let mut children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(&exe)
                    .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
                    .env(CHILD_DB_VAR, path)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Barrier: both children are up and waiting before either may open the file.
        let mut stderrs = Vec::new();
        for child in &mut children {
            let mut stderr = BufReader::new(child.stderr.take().unwrap());
            let mut line = String::new();
            loop {
                line.clear();
                assert!(stderr.read_line(&mut line).unwrap() > 0, "child died early");
                if line.trim() == "READY" {
                    break;
                }
            }
            stderrs.push(stderr);
        }
        let mut stdins: Vec<_> = children
            .iter_mut()
            .map(|c| c.stdin.take().unwrap())
            .collect();
        for stdin in &mut stdins {
            stdin.write_all(b"go\n").unwrap();
        }
        drop(stdins);
        for (child, mut stderr) in children.into_iter().zip(stderrs) {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "child failed: {rest}");
        }
    }

    /// Two real processes open the same SQLite file at the same moment — a new file, then
    /// one that lacks the latest migration (an upgrade): both succeed each time, and each
    /// migration is applied once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_two_processes_migrate_one_file_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/kd.db");
        for round in 0..8 {
            let child_path = path.clone();
            tokio::task::spawn_blocking(move || open_from_two_processes_at_once(&child_path))
                .await
                .unwrap();
            let raw = raw(&path).await;
            assert_eq!(
                raw.migrations().await,
                vec![1, 2, 3, 4, 5, 6],
                "round {round}"
            );
            // Undo migrations 2 to 6, so that the next round is an upgrade.
            raw.exec("DROP TABLE meetings").await;
            for table in [
                "gateway_refresh_tokens",
                "gateway_sessions",
                "gateway_pending_logins",
                "notify_outbox",
                "notify_channels",
                "notify_subscriptions",
                "notify_events",
            ] {
                raw.exec(&format!("DROP TABLE {table}")).await;
            }
            raw.exec("DELETE FROM kd_schema_migrations WHERE version >= 2")
                .await;
            raw.close().await;
        }
        let store = SqlStore::sqlite(&path).await.unwrap();
        assert_eq!(store.recent(guild(1), 100).await.unwrap().len(), 16);
    }
}

/// PostgreSQL: reopening runs the migrations again (idempotent), the `postgres://` branch
/// of `SqlStore::connect`, corrupt rows. Named `…::postgres_*`; skipped with a visible
/// `SKIPPED` line outside CI when no server is configured.
mod postgres_only {
    #[tokio::test]
    async fn postgres_reopen_through_connect_runs_migrations_once() {
        #[cfg(feature = "postgres")]
        if let Some(t) = crate::support::postgres("reopen").await {
            use super::*;
            let (url, schema) = t.pg_schema().unwrap();
            t.store
                .link(
                    &link(1, 10, "k", 10),
                    &kaltura_discord::store::AuditNote::new(),
                )
                .await
                .unwrap();
            // The `postgres://` branch of connect, landing in the test's schema.
            let sep = if url.contains('?') { '&' } else { '?' };
            let reopened = kaltura_discord::store::SqlStore::connect(&format!(
                "{url}{sep}options=-c%20search_path%3D{schema}"
            ))
            .await
            .unwrap();
            assert_eq!(reopened.backend(), "postgres");
            assert_eq!(
                reopened.find_by_discord(scope(1), user(10)).await.unwrap(),
                Some(link(1, 10, "k", 10))
            );
            // And once more through `postgres`, with the schema.
            let again = kaltura_discord::store::SqlStore::postgres(url, Some(schema))
                .await
                .unwrap();
            let raw = super::sql::Raw::Postgres(
                sqlx::PgPool::connect(url).await.unwrap(),
                schema.to_owned(),
            );
            assert_eq!(raw.migrations().await, vec![1, 2, 3, 4, 5, 6]);
            raw.close().await;
            reopened.close().await;
            again.close().await;
            t.cleanup().await;
        }
        #[cfg(not(feature = "postgres"))]
        crate::support::skip_postgres("reopen", "built without the `postgres` feature");
    }

    #[tokio::test]
    async fn postgres_corrupt_rows_name_the_field() {
        #[cfg(feature = "postgres")]
        if let Some(t) = crate::support::postgres("corrupt").await {
            let (url, schema) = t.pg_schema().unwrap();
            let raw = super::sql::Raw::Postgres(
                sqlx::PgPool::connect(url).await.unwrap(),
                schema.to_owned(),
            );
            super::sql::corrupt_rows_name_the_field(&t.store, &raw).await;
            raw.close().await;
            t.cleanup().await;
        }
        #[cfg(not(feature = "postgres"))]
        crate::support::skip_postgres("corrupt", "built without the `postgres` feature");
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_bad_schema_names_are_refused() {
        let err = kaltura_discord::store::SqlStore::postgres(
            "postgres://127.0.0.1/x",
            Some("Bad-Schema"),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("schema name"), "{err}");
    }
}
