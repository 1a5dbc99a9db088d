//! Video search, cards, shares and restricted playback against the fake Kaltura server's
//! demo catalog and a real store.

use std::sync::Arc;

use kaltura_client::fake::{FakeClock, FakeKaltura};
use kaltura_client::ks::SessionType;
use kaltura_client::types::{EntryStatus, MediaType};
use kaltura_client::{Client, UserId};
use kaltura_discord::config::{ConfigResolver, ConfigSources, GuildConfig};
use kaltura_discord::context::{GuildContext, KalturaAccount};
use kaltura_discord::rbac::{DenyRule, DenySubject, Permission, PermissionSet, Subject};
use kaltura_discord::store::{AuditAction, AuditLog, SqlStore};
use kaltura_discord::video::{RESTRICTED_PLAYBACK_TTL, SEARCH_PAGE_SIZE, VideoService};
use kaltura_discord::{DiscordUserId, Error, GuildId};

const NOW: i64 = 1_800_000_000;

fn guild() -> GuildId {
    GuildId::new(613_425_648_685_547_541).unwrap()
}
fn member() -> Subject {
    Subject::new(DiscordUserId::new(1001).unwrap())
}

async fn config() -> GuildConfig {
    ConfigResolver::load(&ConfigSources::defaults_only())
        .unwrap()
        .guild(guild())
        .await
        .unwrap()
        .config()
        .clone()
}

async fn demo() -> (FakeKaltura, KalturaAccount) {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap();
    let account = KalturaAccount::new(client, fake.admin_secret()).unwrap();
    (fake, account)
}

fn service(store: &SqlStore) -> VideoService {
    VideoService::new(Arc::new(store.clone())).with_clock(Arc::new(FakeClock::fixed(NOW)))
}

/// The id of the first demo entry whose name contains `needle`.
async fn demo_entry(account: &KalturaAccount, needle: &str) -> kaltura_client::types::MediaEntry {
    let page = account
        .client()
        .media()
        .list()
        .page_size(100)
        .send()
        .await
        .unwrap();
    page.objects
        .into_iter()
        .find(|e| e.name.as_deref().is_some_and(|n| n.contains(needle)))
        .unwrap_or_else(|| panic!("no demo entry named like {needle:?}"))
}

async fn search_finds_demo_entries_with_highlights(store: SqlStore) {
    let (_fake, account) = demo().await;
    let config = config().await;
    let ctx = GuildContext::new(guild(), &config, &account);
    let svc = service(&store);

    let page = svc.search(&ctx, &member(), "  rust  ", 1).await.unwrap();
    assert_eq!(page.query, "rust");
    assert_eq!(page.page, 1);
    assert_eq!(page.page_size, SEARCH_PAGE_SIZE);
    assert!(page.total_count >= 6, "{}", page.total_count);
    assert!(!page.hits.is_empty() && page.hits.len() <= SEARCH_PAGE_SIZE as usize);
    for hit in &page.hits {
        let text = format!(
            "{} {} {:?}",
            hit.title,
            hit.description.as_deref().unwrap_or_default(),
            hit.highlights
        )
        .to_lowercase();
        assert!(text.contains("rust"), "{hit:?}");
        assert!(
            hit.thumbnail_url.contains(&format!(
                "/thumbnail/entry_id/{}/width/640/height/360",
                hit.entry_id
            )),
            "{}",
            hit.thumbnail_url
        );
        assert!(
            hit.highlights
                .iter()
                .any(|(_, snippet)| snippet.to_lowercase().contains("<em>rust</em>")),
            "{hit:?}"
        );
    }

    // Paging: page 2 of a broad search has other entries.
    let first = svc.search(&ctx, &member(), "e", 1).await.unwrap();
    assert!(first.has_more(), "{} matches", first.total_count);
    assert_eq!(first.hits.len(), SEARCH_PAGE_SIZE as usize);
    let second = svc.search(&ctx, &member(), "e", 2).await.unwrap();
    assert!(!second.hits.is_empty());
    assert!(
        second
            .hits
            .iter()
            .all(|h| first.hits.iter().all(|f| f.entry_id != h.entry_id))
    );
    let none = svc
        .search(&ctx, &member(), "zzzz-no-such-thing", 1)
        .await
        .unwrap();
    assert_eq!((none.total_count, none.hits.len()), (0, 0));
    assert!(!none.has_more());

    for (query, page) in [
        ("", 1),
        ("   ", 1),
        (&*"q".repeat(201), 1),
        ("ok", 0),
        ("ok", 101),
    ] {
        let err = svc.search(&ctx, &member(), query, page).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{query:?}/{page}: {err:?}"
        );
    }

    let mut off = config.clone();
    off.features.search = false;
    let ctx = GuildContext::new(guild(), &off, &account);
    let err = svc.search(&ctx, &member(), "rust", 1).await.unwrap_err();
    assert!(
        matches!(err, Error::FeatureDisabled { feature: "search" }),
        "{err:?}"
    );
}

async fn cards_and_shares(store: SqlStore) {
    let (fake, account) = demo().await;
    let mut config = config().await;
    let svc = service(&store);
    let entry = demo_entry(&account, "Funny Cats").await;
    let id = entry.id.as_str().to_owned();

    let ctx = GuildContext::new(guild(), &config, &account);
    let card = svc.get(&ctx, &member(), &format!(" {id} ")).await.unwrap();
    assert_eq!(card.entry_id, entry.id);
    assert_eq!(Some(card.title.as_str()), entry.name.as_deref());
    assert_eq!(
        card.description.as_deref(),
        Some("Cats doing funny things, curated for a rainy day.")
    );
    assert_eq!(card.duration_seconds, entry.duration);
    assert!(card.duration_seconds.is_some_and(|d| d > 0));
    assert_eq!(card.status, EntryStatus::Ready);
    assert!(card.ready);
    assert_eq!(
        card.thumbnail_url,
        format!(
            "https://cdnapisec.kaltura.com/p/{pid}/thumbnail/entry_id/{id}/width/640/height/360",
            pid = fake.partner_id()
        )
    );
    assert_eq!(card.player_url, None, "no player without a uiConf id");
    assert_eq!(
        card.playback_url.as_deref(),
        Some(
            format!(
                "https://cdnapisec.kaltura.com/p/{pid}/sp/{pid}00/playManifest/entryId/{id}/format/applehttp/protocol/https/a.m3u8",
                pid = fake.partner_id()
            )
            .as_str()
        )
    );

    config.kaltura.player_ui_conf_id = Some(4_242_424);
    let ctx = GuildContext::new(guild(), &config, &account);
    let shared = svc.share(&ctx, &member(), &id).await.unwrap();
    assert_eq!(
        shared.player_url.as_deref(),
        Some(
            format!(
                "https://cdnapisec.kaltura.com/p/{pid}/embedPlaykitJs/uiconf_id/4242424?iframeembed=true&entry_id={id}",
                pid = fake.partner_id()
            )
            .as_str()
        )
    );
    let log = store.recent(guild(), 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, AuditAction::MediaShared);
    assert_eq!(log[0].actor, Some(member().user));
    assert_eq!(log[0].detail["entry_id"], id.as_str());

    // A long description is cut for Discord.
    account
        .client()
        .media()
        .update(entry.id.clone())
        .changes(kaltura_client::types::MediaEntryInput::default().description("x".repeat(5000)))
        .send()
        .await
        .unwrap();
    let card = svc.get(&ctx, &member(), &id).await.unwrap();
    let description = card.description.unwrap_or_default();
    assert_eq!(description.chars().count(), 1024);
    assert!(description.ends_with('…'));

    // Unknown entries are NotFound; a deny rule on share_media refuses with its name.
    let err = svc.get(&ctx, &member(), "0_zzzzzzzz").await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { id, .. } if id == "0_zzzzzzzz"),
        "{err:?}"
    );
    config.rbac.deny.push(DenyRule {
        subject: DenySubject::Everyone,
        permissions: PermissionSet::Only([Permission::ShareMedia].into()),
    });
    let ctx = GuildContext::new(guild(), &config, &account);
    let err = svc.share(&ctx, &member(), &id).await.unwrap_err();
    match err {
        Error::Denied { permission, reason } => {
            assert_eq!(permission, Permission::ShareMedia);
            assert_eq!(reason, "deny rule #1 for everyone");
        }
        other => panic!("expected Denied, got {other:?}"),
    }
    assert_eq!(store.recent(guild(), 10).await.unwrap().len(), 1);
}

async fn entries_that_are_not_ready(store: SqlStore) {
    let (_fake, account) = demo().await;
    let config = config().await;
    let ctx = GuildContext::new(guild(), &config, &account);
    let svc = service(&store);
    let fresh = account
        .client()
        .media()
        .add("Still uploading", MediaType::Video)
        .send()
        .await
        .unwrap();
    let id = fresh.id.as_str();

    let card = svc.get(&ctx, &member(), id).await.unwrap();
    assert!(!card.ready);
    assert_eq!(card.status, EntryStatus::NoContent);
    assert_eq!((card.player_url, card.playback_url), (None, None));

    let err = svc.share(&ctx, &member(), id).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotReady { .. }) && err.to_string().contains("no content uploaded"),
        "{err:?}"
    );
    let err = svc
        .restricted_playback(&ctx, &member(), id, &UserId::new("discord_1001"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotReady { .. }), "{err:?}");
    assert_eq!(store.recent(guild(), 10).await.unwrap(), vec![]);
}

async fn restricted_playback_carries_sview(store: SqlStore) {
    let (fake, account) = demo().await;
    let config = config().await;
    let ctx = GuildContext::new(guild(), &config, &account);
    let svc = service(&store);
    let entry = demo_entry(&account, "Rust Ownership").await;

    let playback = svc
        .restricted_playback(
            &ctx,
            &member(),
            entry.id.as_str(),
            &UserId::new("discord_1001"),
        )
        .await
        .unwrap();
    assert_eq!(playback.entry_id, entry.id);
    assert_eq!(
        playback.expires_at,
        NOW + RESTRICTED_PLAYBACK_TTL.as_secs() as i64
    );
    let url = playback.expose_url();
    let prefix = format!(
        "https://cdnapisec.kaltura.com/p/{pid}/sp/{pid}00/playManifest/entryId/{id}/format/applehttp/protocol/https/ks/",
        pid = fake.partner_id(),
        id = entry.id
    );
    let ks = url
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix("/a.m3u8"))
        .unwrap_or_else(|| panic!("unexpected playback URL shape"));
    let decoded = kaltura_client::ks::decode(ks, fake.admin_secret()).unwrap();
    assert_eq!(decoded.session_type, SessionType::User);
    assert_eq!(decoded.user_id, "discord_1001");
    assert_eq!(decoded.valid_until, NOW + 3600);
    assert_eq!(
        decoded.privileges.to_string(),
        format!("sview:{}", entry.id)
    );
    assert!(!format!("{playback:?}").contains(ks), "Debug hides the KS");

    let err = svc
        .restricted_playback(&ctx, &member(), entry.id.as_str(), &UserId::new("a b"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

async fn hostile_entry_ids_are_refused_without_a_call(store: SqlStore) {
    // Any Kaltura call through this account fails with a transport error.
    let secret = secrecy::SecretString::from("abcdef0123456789abcdef0123456789");
    let client = Client::builder()
        .service_url("http://127.0.0.1:9")
        .partner_id(12345)
        .admin_secret(secret.clone())
        .build()
        .unwrap();
    let account = KalturaAccount::new(client, &secret).unwrap();
    let config = config().await;
    let ctx = GuildContext::new(guild(), &config, &account);
    let svc = service(&store);
    let user = UserId::new("discord_1001");
    for hostile in [
        "../../etc/passwd",
        "0_abc/../../x",
        "0_abc?ks=x",
        "0_abc%2F",
        "<script>",
        "",
        "0_abc def",
        &"a".repeat(65),
    ] {
        for err in [
            svc.get(&ctx, &member(), hostile).await.unwrap_err(),
            svc.share(&ctx, &member(), hostile).await.unwrap_err(),
            svc.restricted_playback(&ctx, &member(), hostile, &user)
                .await
                .unwrap_err(),
        ] {
            assert!(
                matches!(err, Error::InvalidInput { .. }),
                "{hostile:?}: {err:?}"
            );
        }
    }
    // A well-formed id does reach Kaltura (and fails there).
    let err = svc.get(&ctx, &member(), "0_abcd1234").await.unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    assert_eq!(store.recent(guild(), 10).await.unwrap(), vec![]);
}

both_backends!(
    search_finds_demo_entries_with_highlights,
    cards_and_shares,
    entries_that_are_not_ready,
    restricted_playback_carries_sview,
    hostile_entry_ids_are_refused_without_a_call,
);
