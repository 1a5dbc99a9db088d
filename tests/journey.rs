//! A bot author's journey through both crates: configuration with a secret placeholder, a
//! `kaltura_client::Client` built from it against the fake Kaltura server, an SQLite store,
//! identity mapping, a meeting with a join link whose KS the fake (enforcing the `eventId`
//! privilege) accepts for that event and refuses for another, and a video share card.

use std::sync::Arc;

use kaltura_client::fake::FakeKaltura;
use kaltura_client::meetings_join::MeetingRole;
use kaltura_client::{Client, Ks, UserId};
use kaltura_discord::config::{ConfigResolver, ConfigSources, DEFAULT_CONFIG_JSON, Layer};
use kaltura_discord::context::{GuildContext, KalturaAccount};
use kaltura_discord::identity::{DiscordMember, IdentityService};
use kaltura_discord::meetings::{MeetingMember, MeetingService, StartMeeting};
use kaltura_discord::rbac::Subject;
use kaltura_discord::store::{AuditAction, AuditLog, SqlStore};
use kaltura_discord::video::VideoService;
use kaltura_discord::{DiscordUserId, GuildId, RoleId};
use secrecy::ExposeSecret as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_map_meet_and_share() {
    let fake = FakeKaltura::builder()
        .admin_secret("journey-admin-secret-0123456789ab")
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let global = dir.path().join("kaltura-discord.json");
    std::fs::write(
        &global,
        serde_json::json!({
            "kaltura": {"service_url": fake.url(), "partner_id": fake.partner_id().get(), "admin_secret": "${KD_JOURNEY_SECRET}"},
            "database": {"url": format!("sqlite://{}", dir.path().join("data/kd.db").display())}
        })
        .to_string(),
    )
    .unwrap();
    let guilds = dir.path().join("guilds");
    std::fs::create_dir_all(&guilds).unwrap();
    let guild = GuildId::new(613_425_648_685_547_541).unwrap();
    let teachers = RoleId::new(777_000_000_000_000_001).unwrap();
    std::fs::write(
        guilds.join(format!("{guild}.json")),
        serde_json::json!({"rbac": {"roles": {teachers.to_string(): "moderator"}}}).to_string(),
    )
    .unwrap();

    let sources = ConfigSources {
        defaults: DEFAULT_CONFIG_JSON.to_owned(),
        global_file: Some(global.clone()),
        env: vec![(
            "KD_JOURNEY_SECRET".into(),
            "journey-admin-secret-0123456789ab".into(),
        )],
        guild_dir: Some(guilds),
    };
    let resolver = ConfigResolver::load(&sources).unwrap();
    let process = resolver.process();
    let kaltura = &process.config().kaltura;
    let secret = kaltura
        .admin_secret
        .clone()
        .expect("admin secret from the placeholder");
    assert_eq!(
        process.explain("kaltura.admin_secret")[0].layer,
        Layer::GlobalFile(global)
    );
    assert_eq!(
        process.explain("kaltura.admin_secret")[0].value,
        "**redacted**"
    );

    let client = Client::builder()
        .service_url(kaltura.service_url.clone())
        .partner_id(kaltura.partner_id.expect("partner id"))
        .admin_secret(secret.expose_secret().to_owned())
        .build()
        .unwrap();
    let store = Arc::new(
        SqlStore::connect(process.config().database.url.expose_secret())
            .await
            .unwrap(),
    );
    let resolver = resolver.with_store(store.clone());
    let config = resolver.guild(guild).await.unwrap();
    let config = config.config();

    // A member with the teachers role, mapped to a Kaltura user created on first use.
    let teacher =
        Subject::new(DiscordUserId::new(80_351_110_224_678_912).unwrap()).with_roles([teachers]);
    let identity = IdentityService::new(store.clone(), store.clone(), Arc::new(client.clone()));
    let member = DiscordMember {
        user: teacher.user,
        display_name: "Ada Lovelace".into(),
        email: None,
    };
    let mapped = identity
        .resolve(guild, &config.identity, &member)
        .await
        .unwrap();
    assert_eq!(
        mapped.kaltura_user,
        UserId::new("discord_80351110224678912")
    );
    assert!(mapped.provisioned);

    // The teacher starts a meeting and gets a host link that Kaltura accepts.
    let account = KalturaAccount::new(client.clone(), &secret).unwrap();
    let ctx = GuildContext::new(guild, config, &account);
    let meetings = MeetingService::new(store.clone(), store.clone());
    let meeting = meetings
        .start(&ctx, &teacher, StartMeeting::new("Office hours"))
        .await
        .unwrap();
    let link = meetings
        .join_url(
            &ctx,
            &teacher,
            &MeetingMember::new(mapped.kaltura_user.clone(), "Ada Lovelace"),
            meeting.event_id,
        )
        .await
        .unwrap();
    assert_eq!(link.role, MeetingRole::Instructor);
    let url = url::Url::parse(link.url.expose_url()).unwrap();
    let ks = url
        .query_pairs()
        .find(|(k, _)| k == "ks")
        .unwrap()
        .1
        .into_owned();
    let decoded = kaltura_client::ks::decode(&ks, &secret).unwrap();
    assert_eq!(decoded.user_id, "discord_80351110224678912");
    assert_eq!(
        decoded.privileges.get("eventId").and_then(|p| p.value()),
        Some(meeting.event_id.to_string().as_str())
    );
    // The fake enforces the `eventId` privilege like Kaltura's USER-session scoping: the
    // link's KS reads THAT event and is refused any other one.
    let as_member = client.with_ks(Ks::new(ks));
    assert_eq!(
        as_member
            .schedule_event()
            .get(meeting.event_id)
            .await
            .unwrap()
            .id,
        meeting.event_id
    );
    let other = client
        .call_raw(
            "schedule_scheduleevent",
            "add",
            serde_json::json!({"scheduleEvent": {"objectType": "KalturaRecordScheduleEvent", "summary": "Someone else's class", "startDate": 1_700_000_000, "endDate": 1_700_003_600, "recurrenceType": 0}}),
        )
        .await
        .unwrap();
    let other_id = other["id"].as_i64().expect("event id");
    assert_ne!(other_id.to_string(), meeting.event_id.to_string());
    let refused = as_member
        .call_raw(
            "schedule_scheduleevent",
            "get",
            serde_json::json!({"scheduleEventId": other_id}),
        )
        .await
        .expect_err("the join KS must not read another event");
    assert_eq!(
        refused.api_code(),
        Some(&kaltura_client::ErrorCode::ScheduleEventIdNotFound)
    );
    // ...while the admin session reads it.
    let seen = client
        .call_raw(
            "schedule_scheduleevent",
            "get",
            serde_json::json!({"scheduleEventId": other_id}),
        )
        .await
        .unwrap();
    assert_eq!(seen["id"], other_id);

    // A share card for a demo video.
    let videos = VideoService::new(store.clone());
    let page = videos.search(&ctx, &teacher, "cats", 1).await.unwrap();
    let hit = page.hits.first().expect("demo data matches");
    let card = videos
        .share(&ctx, &teacher, hit.entry_id.as_str())
        .await
        .unwrap();
    assert_eq!(card.entry_id, hit.entry_id);
    assert!(
        card.playback_url
            .as_deref()
            .is_some_and(|u| u.contains("/playManifest/"))
    );

    let actions: Vec<AuditAction> = store
        .recent(guild, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::MediaShared,
            AuditAction::MeetingStarted,
            AuditAction::UserProvisioned
        ]
    );
}
