//! Kaltura Meetings against the fake Kaltura server and a real store.

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};

use kaltura_client::fake::{Failure, FakeClock, FakeKaltura};
use kaltura_client::ks::SessionType;
use kaltura_client::meetings_join::MeetingRole;
use kaltura_client::retry::RetryPolicy;
use kaltura_client::types::schedule::{
    ScheduleEventFilter, ScheduleEventResourceFilter, ScheduleEventStatus, ScheduleResourceFilter,
};
use kaltura_client::{Client, ScheduleEventId, ScheduleResourceId};
use kaltura_discord::config::{
    ConfigResolver, ConfigSources, GuildConfig, IdentityStrategy, MeetingType,
};
use kaltura_discord::context::{GuildContext, KalturaAccount};
use kaltura_discord::error::ConflictReason;
use kaltura_discord::error::{StoreError, StoreErrorKind};
use kaltura_discord::identity::{DiscordMember, IdentityService};
use kaltura_discord::meetings::{MeetingMember, MeetingService, StartMeeting};
use kaltura_discord::rbac::{
    DenyRule, DenySubject, DiscordPermissions, Permission, PermissionSet, Role, Subject,
};
use kaltura_discord::store::{
    AuditAction, AuditEntry, AuditLog, MeetingRecord, MeetingStatus, MeetingStore, NewAuditEntry,
    SqlStore,
};
use kaltura_discord::{DiscordUserId, Error, GuildId, RoleId};

/// A fixed "now" for the service clock (2027-01-15).
const NOW: i64 = 1_800_000_000;

fn guild_a() -> GuildId {
    GuildId::new(613_425_648_685_547_541).unwrap()
}
fn guild_b() -> GuildId {
    GuildId::new(81_384_788_765_712_384).unwrap()
}
fn moderator_role() -> RoleId {
    RoleId::new(555_000_000_000_000_001).unwrap()
}
fn viewer() -> Subject {
    Subject::new(DiscordUserId::new(1001).unwrap())
}
fn host() -> Subject {
    Subject::new(DiscordUserId::new(2002).unwrap()).with_roles([moderator_role()])
}
fn admin() -> Subject {
    Subject::new(DiscordUserId::new(3003).unwrap())
        .with_permissions(DiscordPermissions::MANAGE_GUILD)
}

async fn config(guild: GuildId) -> GuildConfig {
    let resolved = ConfigResolver::load(&ConfigSources::defaults_only())
        .unwrap()
        .guild(guild)
        .await
        .unwrap();
    let mut config = resolved.config().clone();
    config.rbac.roles.insert(moderator_role(), Role::Moderator);
    config
}

fn client(fake: &FakeKaltura) -> Client {
    Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap()
}

fn account(fake: &FakeKaltura) -> KalturaAccount {
    KalturaAccount::new(client(fake), fake.admin_secret()).unwrap()
}

/// An account whose client cannot reach anything: any Kaltura call fails with a transport
/// error, so a test seeing another error knows no call was made.
fn unreachable_account() -> KalturaAccount {
    let secret = secrecy::SecretString::from("abcdef0123456789abcdef0123456789");
    let client = Client::builder()
        .service_url("http://127.0.0.1:9")
        .partner_id(12345)
        .admin_secret(secret.clone())
        .build()
        .unwrap();
    KalturaAccount::new(client, &secret).unwrap()
}

fn service(store: &SqlStore, clock: &FakeClock) -> MeetingService {
    let store = Arc::new(store.clone());
    MeetingService::new(store.clone(), store).with_clock(Arc::new(clock.clone()))
}

async fn start_list_join_end_round_trip(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let mut config = config(guild_a()).await;
    config.meetings.auto_record = true;
    config.meetings.join_link_expiry_minutes = 90;
    let ctx = GuildContext::new(guild_a(), &config, &account);

    let meeting = svc
        .start(
            &ctx,
            &host(),
            StartMeeting::new("  Weekly sync  ")
                .description("Agenda: everything")
                .kind(MeetingType::Webinar)
                .duration_minutes(45),
        )
        .await
        .unwrap();
    assert_eq!(meeting.title, "Weekly sync");
    assert_eq!(meeting.guild, guild_a());
    assert_eq!(meeting.kind, MeetingType::Webinar);
    assert_eq!((meeting.starts_at, meeting.ends_at), (NOW, NOW + 45 * 60));
    assert_eq!(meeting.status, MeetingStatus::Scheduled);
    assert_eq!(meeting.created_by, host().user);

    // The Kaltura side really has the room, the session and the link.
    let kaltura = account.client();
    let room = kaltura
        .schedule_resource()
        .get(meeting.resource_id)
        .await
        .unwrap();
    assert_eq!(
        room.object_type.as_deref(),
        Some("KalturaLocationScheduleResource")
    );
    assert_eq!(
        room.tags.as_deref(),
        Some("vcprovider:newrow,kaltura_discord_guild:613425648685547541")
    );
    let event = kaltura
        .schedule_event()
        .get(meeting.event_id)
        .await
        .unwrap();
    assert_eq!(
        event.object_type.as_deref(),
        Some("KalturaRecordScheduleEvent")
    );
    assert_eq!(event.summary.as_deref(), Some("Weekly sync"));
    assert_eq!(event.description.as_deref(), Some("Agenda: everything"));
    assert_eq!(
        (event.start_date, event.end_date),
        (Some(NOW.into()), Some((NOW + 2700).into()))
    );
    assert_eq!(
        event.tags.as_deref(),
        Some(
            "kaltura_discord_guild:613425648685547541,kaltura_discord_type:webinar,custom_rs_class_mode:webinar,custom_rec_auto_start:1"
        )
    );
    let links = kaltura
        .schedule_event_resource()
        .list()
        .filter(ScheduleEventResourceFilter::new().event_id_equal(meeting.event_id))
        .send()
        .await
        .unwrap();
    assert_eq!(links.objects.len(), 1);
    assert_eq!(links.objects[0].resource_id, meeting.resource_id);

    // Listed, and readable by id.
    let listed = svc.list(&ctx, &viewer()).await.unwrap();
    assert_eq!(listed, vec![meeting.clone()]);
    assert_eq!(
        svc.get(&ctx, &viewer(), meeting.event_id).await.unwrap(),
        meeting
    );

    // A viewer joins as attendee; the identity comes from the identity service.
    let identity = IdentityService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(client(&fake)),
    );
    let resolved = identity
        .resolve(
            guild_a(),
            &config.identity,
            &DiscordMember {
                user: viewer().user,
                display_name: "Ada King Lovelace".into(),
                email: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(config.identity.strategy, IdentityStrategy::PrefixedId);
    let member = MeetingMember::new(resolved.kaltura_user.clone(), "Ada King Lovelace");
    let link = svc
        .join_url(&ctx, &viewer(), &member, meeting.event_id)
        .await
        .unwrap();
    assert_eq!(link.role, MeetingRole::Attendee);
    assert_eq!(link.expires_at, NOW + 90 * 60);
    assert!(
        link.url.expose_url().starts_with(&format!(
            "https://{}.kaf.kaltura.com/virtualEvent/launch?ks=",
            fake.partner_id()
        )),
        "the link opens the partner's KAF"
    );
    assert!(!format!("{link:?}").contains(link.url.ks().expose_secret()));
    let ks =
        kaltura_client::ks::decode(link.url.ks().expose_secret(), fake.admin_secret()).unwrap();
    assert_eq!(ks.session_type, SessionType::User);
    assert_eq!(ks.partner_id, fake.partner_id());
    assert_eq!(ks.user_id, "discord_1001");
    assert_eq!(ks.valid_until, NOW + 90 * 60);
    assert_eq!(
        ks.privileges.to_string(),
        format!(
            "eventId:{},role:viewerRole,userContextualRole:3,firstName:Ada,lastName:King Lovelace",
            meeting.event_id
        )
    );

    // A moderator joins as instructor.
    let link = svc
        .join_url(
            &ctx,
            &host(),
            &MeetingMember::new("teacher@example.com", "Grace"),
            meeting.event_id,
        )
        .await
        .unwrap();
    assert_eq!(link.role, MeetingRole::Instructor);
    let ks = link.url.ks().decode(fake.admin_secret()).unwrap();
    assert_eq!(ks.user_id, "teacher@example.com");
    assert_eq!(
        ks.privileges.to_string(),
        format!(
            "eventId:{},role:adminRole,userContextualRole:0,firstName:Grace",
            meeting.event_id
        )
    );

    // End: cancelled in Kaltura, ended in the store, gone from the list.
    clock.advance(Duration::from_secs(600));
    let ended = svc.end(&ctx, &host(), meeting.event_id).await.unwrap();
    assert_eq!(ended.status, MeetingStatus::Ended);
    assert_eq!(ended.ended_at, Some(NOW + 600));
    assert_eq!(ended.ended_by, Some(host().user));
    let event = kaltura
        .schedule_event()
        .get(meeting.event_id)
        .await
        .unwrap();
    assert_eq!(event.status, Some(ScheduleEventStatus::Cancelled));
    assert_eq!(svc.list(&ctx, &viewer()).await.unwrap(), vec![]);
    assert_eq!(
        svc.get(&ctx, &viewer(), meeting.event_id).await.unwrap(),
        ended
    );

    // Ending twice is a clear conflict; joining an ended meeting too.
    let err = svc.end(&ctx, &host(), meeting.event_id).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Conflict {
                reason: ConflictReason::AlreadyEnded,
                ..
            }
        ),
        "{err:?}"
    );
    let err = svc
        .join_url(&ctx, &viewer(), &member, meeting.event_id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");

    // Both are in the audit log, without secrets.
    let log = store.recent(guild_a(), 20).await.unwrap();
    let started = log
        .iter()
        .find(|e| e.action == AuditAction::MeetingStarted)
        .expect("a meeting_started entry");
    assert_eq!(started.actor, Some(host().user));
    assert_eq!(started.detail["event_id"], meeting.event_id.get());
    assert_eq!(started.detail["kind"], "webinar");
    let ended_entry = log
        .iter()
        .find(|e| e.action == AuditAction::MeetingEnded)
        .expect("a meeting_ended entry");
    assert_eq!(ended_entry.detail["event_id"], meeting.event_id.get());
    assert_eq!(
        log.iter()
            .filter(|e| e.action == AuditAction::MeetingEnded)
            .count(),
        1
    );
    assert!(!format!("{log:?}").contains("ks="));
}

async fn viewers_cannot_start_or_end_and_deny_rules_name_themselves(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let mut config = config(guild_a()).await;
    let ctx = GuildContext::new(guild_a(), &config, &account);

    let err = svc
        .start(&ctx, &viewer(), StartMeeting::new("Nope"))
        .await
        .unwrap_err();
    match err {
        Error::Denied { permission, reason } => {
            assert_eq!(permission, Permission::StartMeeting);
            assert_eq!(reason, "no rule grants it (denied by default)");
        }
        other => panic!("expected Denied, got {other:?}"),
    }
    // Nothing was created in Kaltura.
    let rooms = account
        .client()
        .schedule_resource()
        .list()
        .filter(ScheduleResourceFilter::new().tags_like("kaltura_discord_guild"))
        .send()
        .await
        .unwrap();
    assert_eq!(rooms.total_count, 0);

    let meeting = svc
        .start(&ctx, &admin(), StartMeeting::new("Town hall"))
        .await
        .unwrap();
    let err = svc
        .end(&ctx, &viewer(), meeting.event_id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Denied {
                permission: Permission::EndMeeting,
                ..
            }
        ),
        "{err:?}"
    );

    // A deny rule beats the moderator role, and says so.
    config.rbac.deny.push(DenyRule {
        subject: DenySubject::User(host().user),
        permissions: PermissionSet::Only([Permission::EndMeeting].into()),
    });
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let err = svc.end(&ctx, &host(), meeting.event_id).await.unwrap_err();
    match err {
        Error::Denied { permission, reason } => {
            assert_eq!(permission, Permission::EndMeeting);
            assert_eq!(reason, "deny rule #1 for user 2002");
        }
        other => panic!("expected Denied, got {other:?}"),
    }
    // A deny rule on host_meeting makes a moderator join as attendee.
    config.rbac.deny.push(DenyRule {
        subject: DenySubject::Role(moderator_role()),
        permissions: PermissionSet::Only([Permission::HostMeeting].into()),
    });
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let link = svc
        .join_url(
            &ctx,
            &host(),
            &MeetingMember::new("discord_2002", "Mo"),
            meeting.event_id,
        )
        .await
        .unwrap();
    assert_eq!(link.role, MeetingRole::Attendee);
    // The meeting is still open.
    assert_eq!(svc.list(&ctx, &viewer()).await.unwrap().len(), 1);
}

async fn another_guilds_meeting_is_not_found(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let config_a = config(guild_a()).await;
    let config_b = config(guild_b()).await;
    let ctx_a = GuildContext::new(guild_a(), &config_a, &account);
    let ctx_b = GuildContext::new(guild_b(), &config_b, &account);

    let meeting = svc
        .start(&ctx_a, &admin(), StartMeeting::new("Guild A only"))
        .await
        .unwrap();
    let id = meeting.event_id;
    let member = MeetingMember::new("discord_3003", "Admin");
    let not_found = |e: Error| match e {
        e @ Error::NotFound { .. } => {
            assert_eq!(
                e.to_string(),
                format!("meeting {id} was not found in this server")
            );
        }
        other => panic!("expected NotFound, got {other:?}"),
    };
    not_found(svc.get(&ctx_b, &admin(), id).await.unwrap_err());
    not_found(svc.end(&ctx_b, &admin(), id).await.unwrap_err());
    not_found(
        svc.join_url(&ctx_b, &admin(), &member, id)
            .await
            .unwrap_err(),
    );
    // Exactly like an id that does not exist at all.
    let err = svc
        .get(&ctx_a, &admin(), ScheduleEventId::new(id.get() + 1000))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(svc.list(&ctx_b, &admin()).await.unwrap(), vec![]);
    // Guild B's failed end left guild A's meeting alone, in Kaltura too.
    assert_eq!(svc.list(&ctx_a, &admin()).await.unwrap(), vec![meeting]);
    let event = account.client().schedule_event().get(id).await.unwrap();
    assert_eq!(event.status, Some(ScheduleEventStatus::Active));
}

async fn bad_input_is_refused_before_any_kaltura_call(store: SqlStore) {
    let account = unreachable_account();
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let config = config(guild_a()).await;
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let long_title = "t".repeat(257);
    let long_description = "d".repeat(2001);
    let bad = [
        StartMeeting::new(""),
        StartMeeting::new("   "),
        StartMeeting::new("two\nlines"),
        StartMeeting::new("nul\u{0}"),
        StartMeeting::new(long_title.as_str()),
        StartMeeting::new("ok").description(long_description.as_str()),
        StartMeeting::new("ok").duration_minutes(4),
        StartMeeting::new("ok").duration_minutes(1441),
        StartMeeting::new("ok").starts_at(NOW - 3600),
        StartMeeting::new("ok").starts_at(NOW + 400 * 86_400),
    ];
    for request in bad {
        let err = svc
            .start(&ctx, &admin(), request.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{request:?} gave {err:?}"
        );
    }
    // A malformed Kaltura user id is refused for join links.
    let err = svc
        .join_url(
            &ctx,
            &admin(),
            &MeetingMember::new("../../etc", "X"),
            ScheduleEventId::new(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    // The same valid request does reach Kaltura (and fails there): the checks above were
    // really done first.
    let err = svc
        .start(&ctx, &admin(), StartMeeting::new("ok"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    assert_eq!(svc.list(&ctx, &admin()).await.unwrap(), vec![]);
}

async fn upcoming_meetings_come_soonest_first_and_past_ones_drop_out(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let mut config = config(guild_a()).await;
    config.meetings.default_type = MeetingType::MeetingRoom;
    config.meetings.default_duration_minutes = 30;
    let ctx = GuildContext::new(guild_a(), &config, &account);

    let later = svc
        .start(
            &ctx,
            &admin(),
            StartMeeting::new("Later").starts_at(NOW + 7200),
        )
        .await
        .unwrap();
    let now = svc
        .start(&ctx, &admin(), StartMeeting::new("Now"))
        .await
        .unwrap();
    let soon = svc
        .start(
            &ctx,
            &admin(),
            StartMeeting::new("Soon")
                .starts_at(NOW + 600)
                .kind(MeetingType::VirtualClassroom),
        )
        .await
        .unwrap();
    assert_eq!(now.kind, MeetingType::MeetingRoom);
    assert_eq!(now.ends_at, NOW + 30 * 60);
    let titles = |list: Vec<kaltura_discord::store::MeetingRecord>| {
        list.into_iter().map(|m| m.title).collect::<Vec<_>>()
    };
    assert_eq!(
        titles(svc.list(&ctx, &viewer()).await.unwrap()),
        ["Now", "Soon", "Later"]
    );
    // A meeting room is a virtual classroom with participants and chat shown.
    let event = account
        .client()
        .schedule_event()
        .get(now.event_id)
        .await
        .unwrap();
    let tags = event.tags.unwrap_or_default();
    assert!(tags.contains("kaltura_discord_type:meeting_room"), "{tags}");
    assert!(
        tags.contains("custom_rs_class_mode:virtual_classroom"),
        "{tags}"
    );
    assert!(tags.contains("custom_rec_auto_start:0"), "{tags}");
    let event = account
        .client()
        .schedule_event()
        .get(soon.event_id)
        .await
        .unwrap();
    assert!(
        event
            .tags
            .unwrap_or_default()
            .contains("kaltura_discord_type:virtual_classroom")
    );

    // 31 minutes later the first one is over: not listed, and no join links.
    clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(
        titles(svc.list(&ctx, &viewer()).await.unwrap()),
        ["Soon", "Later"]
    );
    let err = svc
        .join_url(
            &ctx,
            &viewer(),
            &MeetingMember::new("discord_1001", "V"),
            now.event_id,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Conflict {
                reason: ConflictReason::MeetingOver,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(later.ends_at, NOW + 7200 + 1800);
}

async fn switched_off_meetings_and_custom_kaf_host(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let mut config = config(guild_a()).await;
    config.kaltura.kaf_url = Some("https://kaf.example.org/".into());
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let meeting = svc
        .start(&ctx, &admin(), StartMeeting::new("Custom KAF"))
        .await
        .unwrap();
    let link = svc
        .join_url(
            &ctx,
            &viewer(),
            &MeetingMember::new("discord_1001", "V"),
            meeting.event_id,
        )
        .await
        .unwrap();
    assert!(
        link.url
            .expose_url()
            .starts_with("https://kaf.example.org/virtualEvent/launch?ks=")
    );

    config.features.meetings = false;
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let err = svc.list(&ctx, &admin()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::FeatureDisabled {
                feature: "meetings"
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("features.meetings"), "{err}");
}

async fn meeting_store_scopes_by_guild_and_partner(store: SqlStore) {
    use kaltura_client::{PartnerId, ScheduleResourceId};
    use kaltura_discord::store::{MeetingRecord, MeetingStore};
    let record = |guild: GuildId, partner: i64, event: i64, starts_at: i64| MeetingRecord {
        guild,
        partner_id: PartnerId::new(partner),
        event_id: ScheduleEventId::new(event),
        resource_id: ScheduleResourceId::new(event + 1),
        title: format!("m{event}"),
        description: (event % 2 == 0).then(|| "with description".to_owned()),
        kind: MeetingType::VirtualClassroom,
        starts_at,
        ends_at: starts_at + 3600,
        created_by: host().user,
        created_at: NOW,
        status: MeetingStatus::Scheduled,
        ended_at: None,
        ended_by: None,
    };
    let a1 = record(guild_a(), 1, 10, NOW + 100);
    let a2 = record(guild_a(), 1, 11, NOW);
    let a_other_partner = record(guild_a(), 2, 10, NOW);
    let past = record(guild_a(), 1, 12, NOW - 7200);
    for m in [&a1, &a2, &a_other_partner, &past] {
        store.insert_meeting(m).await.unwrap();
    }
    // The same Kaltura event cannot be recorded twice, even by another guild.
    let err = store
        .insert_meeting(&record(guild_b(), 1, 10, NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");

    let p1 = PartnerId::new(1);
    assert_eq!(
        store.list_open_meetings(guild_a(), p1, NOW).await.unwrap(),
        vec![a2.clone(), a1.clone()]
    );
    assert_eq!(
        store
            .find_meeting(guild_a(), p1, ScheduleEventId::new(10))
            .await
            .unwrap(),
        Some(a1.clone())
    );
    assert_eq!(
        store
            .find_meeting(guild_b(), p1, ScheduleEventId::new(10))
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .mark_meeting_ended(guild_b(), p1, ScheduleEventId::new(10), admin().user, NOW)
            .await
            .unwrap()
    );
    assert!(
        store
            .mark_meeting_ended(
                guild_a(),
                p1,
                ScheduleEventId::new(10),
                admin().user,
                NOW + 5
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_meeting_ended(
                guild_a(),
                p1,
                ScheduleEventId::new(10),
                admin().user,
                NOW + 6
            )
            .await
            .unwrap(),
        "ending twice changes nothing"
    );
    let ended = store
        .find_meeting(guild_a(), p1, ScheduleEventId::new(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ended.status, ended.ended_at, ended.ended_by),
        (MeetingStatus::Ended, Some(NOW + 5), Some(admin().user))
    );
    assert_eq!(
        store.list_open_meetings(guild_a(), p1, NOW).await.unwrap(),
        vec![a2]
    );
    assert_eq!(
        store
            .list_open_meetings(guild_a(), PartnerId::new(2), NOW)
            .await
            .unwrap(),
        vec![a_other_partner]
    );
}

async fn meetings_cancelled_in_kaltura_itself_drop_out_of_the_list(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let config = config(guild_a()).await;
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let kept = svc
        .start(&ctx, &admin(), StartMeeting::new("Kept"))
        .await
        .unwrap();
    let gone = svc
        .start(&ctx, &admin(), StartMeeting::new("Cancelled in KMC"))
        .await
        .unwrap();
    // Someone cancels one meeting in the Kaltura admin console, bypassing the bot.
    account
        .client()
        .schedule_event()
        .cancel(gone.event_id)
        .await
        .unwrap();
    let listed = svc.list(&ctx, &viewer()).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.event_id).collect::<Vec<_>>(),
        vec![kept.event_id]
    );
    // When Kaltura cannot be asked, the stored view is listed rather than nothing.
    let offline = unreachable_account();
    let ctx = GuildContext::new(guild_a(), &config, &offline);
    let fallback = MeetingService::new(Arc::new(store.clone()), Arc::new(store.clone()))
        .with_clock(Arc::new(clock.clone()));
    assert_eq!(offline.partner_id(), fake.partner_id());
    assert_eq!(fallback.list(&ctx, &viewer()).await.unwrap().len(), 2);
}

/// A client that does not retry, so each injected failure hits exactly one call.
fn account_without_retries(fake: &FakeKaltura) -> KalturaAccount {
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    KalturaAccount::new(client, fake.admin_secret()).unwrap()
}

/// Lets the next `pass` requests through, then fails one with HTTP 500.
fn fail_after(fake: &FakeKaltura, pass: usize) {
    fake.fail_next(pass, Failure::Latency(Duration::ZERO));
    fake.fail_next(1, Failure::Status(500));
}

/// The guild's rooms and active events that Kaltura still has.
async fn kaltura_objects_of(account: &KalturaAccount, guild: GuildId) -> (usize, usize) {
    let tag = kaltura_discord::meetings::guild_tag(guild);
    let rooms = account
        .client()
        .schedule_resource()
        .list()
        .filter(ScheduleResourceFilter::new().tags_like(tag.clone()))
        .send()
        .await
        .unwrap();
    let events = account
        .client()
        .schedule_event()
        .list()
        .filter(
            ScheduleEventFilter::new()
                .tags_like(tag)
                .status_equal(ScheduleEventStatus::Active),
        )
        .send()
        .await
        .unwrap();
    (rooms.objects.len(), events.objects.len())
}

/// An audit log that fails on demand and otherwise writes to the real store: a test helper
/// standing in for a broken audit backend, not a mock of the service.
struct FlakyAudit {
    inner: SqlStore,
    failing: AtomicBool,
}

#[async_trait::async_trait]
impl AuditLog for FlakyAudit {
    async fn append(&self, entry: NewAuditEntry) -> kaltura_discord::Result<AuditEntry> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::without_source(
                "appending to the audit log",
                StoreErrorKind::Unavailable,
            )
            .into());
        }
        self.inner.append(entry).await
    }
    async fn recent(&self, guild: GuildId, limit: u32) -> kaltura_discord::Result<Vec<AuditEntry>> {
        self.inner.recent(guild, limit).await
    }
    async fn page(
        &self,
        guild: GuildId,
        before: Option<i64>,
        limit: u32,
    ) -> kaltura_discord::Result<Vec<AuditEntry>> {
        self.inner.page(guild, before, limit).await
    }
}

/// Issue 8 §7: a Kaltura failure after the room was created leaves no room, no active event
/// and no stored meeting behind.
async fn failed_starts_clean_up_kaltura_and_store(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account_without_retries(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let config = config(guild_a()).await;
    let ctx = GuildContext::new(guild_a(), &config, &account);
    // Warm up the client's admin session so that only service calls are counted below.
    assert_eq!(kaltura_objects_of(&account, guild_a()).await, (0, 0));

    // 1. scheduleResource.add passes, scheduleEvent.add fails.
    fail_after(&fake, 1);
    let err = svc
        .start(&ctx, &admin(), StartMeeting::new("Doomed"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    assert_eq!(kaltura_objects_of(&account, guild_a()).await, (0, 0));

    // 2. room and event made, scheduleEventResource.add fails.
    fail_after(&fake, 2);
    let err = svc
        .start(&ctx, &admin(), StartMeeting::new("Doomed too"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    assert_eq!(kaltura_objects_of(&account, guild_a()).await, (0, 0));

    assert!(
        store
            .list_open_meetings(guild_a(), fake.partner_id(), NOW)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .recent(guild_a(), 10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != AuditAction::MeetingStarted)
    );
    // And the service still works afterwards.
    svc.start(&ctx, &admin(), StartMeeting::new("Fine"))
        .await
        .unwrap();
    assert_eq!(kaltura_objects_of(&account, guild_a()).await, (1, 1));
}

/// Ending a meeting whose event Kaltura no longer has still ends it; a Kaltura failure
/// leaves it open.
async fn ending_survives_a_missing_event_and_reports_failures(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account_without_retries(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let config = config(guild_a()).await;
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let gone = svc
        .start(&ctx, &admin(), StartMeeting::new("Deleted in KMC"))
        .await
        .unwrap();
    account
        .client()
        .schedule_event()
        .delete(gone.event_id)
        .await
        .unwrap();
    let ended = svc.end(&ctx, &admin(), gone.event_id).await.unwrap();
    assert_eq!(ended.status, MeetingStatus::Ended);
    assert_eq!(ended.ended_at, Some(NOW));
    assert_eq!(
        svc.get(&ctx, &admin(), gone.event_id).await.unwrap().status,
        MeetingStatus::Ended
    );

    let open = svc
        .start(&ctx, &admin(), StartMeeting::new("Stays open"))
        .await
        .unwrap();
    fake.fail_next(1, Failure::Status(500));
    let err = svc.end(&ctx, &admin(), open.event_id).await.unwrap_err();
    assert!(matches!(err, Error::Kaltura(_)), "{err:?}");
    assert_eq!(
        svc.get(&ctx, &admin(), open.event_id).await.unwrap().status,
        MeetingStatus::Scheduled
    );
}

/// An audit-log failure after the meeting exists neither fails nor undoes it.
async fn audit_failures_do_not_undo_meetings(store: SqlStore) {
    let fake = FakeKaltura::start().await;
    let account = account(&fake);
    let audit = Arc::new(FlakyAudit {
        inner: store.clone(),
        failing: AtomicBool::new(true),
    });
    let svc = MeetingService::new(Arc::new(store.clone()), audit.clone())
        .with_clock(Arc::new(FakeClock::fixed(NOW)));
    let config = config(guild_a()).await;
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let meeting = svc
        .start(&ctx, &admin(), StartMeeting::new("Unaudited"))
        .await
        .unwrap();
    assert_eq!(
        svc.list(&ctx, &viewer()).await.unwrap(),
        vec![meeting.clone()]
    );
    assert_eq!(kaltura_objects_of(&account, guild_a()).await, (1, 1));
    let ended = svc.end(&ctx, &admin(), meeting.event_id).await.unwrap();
    assert_eq!(ended.status, MeetingStatus::Ended);
    assert!(store.recent(guild_a(), 10).await.unwrap().is_empty());
    // Once the audit log works again, entries are written.
    audit.failing.store(false, Ordering::SeqCst);
    svc.start(&ctx, &admin(), StartMeeting::new("Audited"))
        .await
        .unwrap();
    let log = store.recent(guild_a(), 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, AuditAction::MeetingStarted);
}

/// The Kaltura check of `list` asks for at most 500 events per `scheduleEvent.list` call:
/// 501 open meetings take exactly two calls. The fake has no request log, so the calls are
/// counted with its failure queue: two pass-throughs, then a failure that must be left for
/// the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kaltura_check_of_list_goes_in_chunks_of_500() {
    let t = crate::support::sqlite().await;
    let store = t.store.clone();
    let fake = FakeKaltura::start().await;
    let account = account_without_retries(&fake);
    let clock = FakeClock::fixed(NOW);
    let svc = service(&store, &clock);
    let config = config(guild_a()).await;
    let ctx = GuildContext::new(guild_a(), &config, &account);
    let real = svc
        .start(&ctx, &admin(), StartMeeting::new("Real"))
        .await
        .unwrap();
    for i in 0..500 {
        let record = MeetingRecord {
            event_id: ScheduleEventId::new(900_000_000 + i),
            resource_id: ScheduleResourceId::new(900_000_000 + i),
            title: format!("Only in the store {i}"),
            starts_at: NOW + 60 + i,
            ends_at: NOW + 3600 + i,
            ..real.clone()
        };
        store.insert_meeting(&record).await.unwrap();
    }
    assert_eq!(
        store
            .list_open_meetings(guild_a(), fake.partner_id(), NOW)
            .await
            .unwrap()
            .len(),
        501
    );
    fail_after(&fake, 2);
    let listed = svc.list(&ctx, &viewer()).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.event_id).collect::<Vec<_>>(),
        vec![real.event_id],
        "both chunks were answered, so the events Kaltura lacks drop out"
    );
    let probe = account.client().schedule_event().get(real.event_id).await;
    assert!(
        probe.is_err(),
        "the third queued answer (a failure) was left for the next request: exactly 2 calls"
    );
    t.cleanup().await;
}

both_backends!(
    failed_starts_clean_up_kaltura_and_store,
    ending_survives_a_missing_event_and_reports_failures,
    audit_failures_do_not_undo_meetings,
    meetings_cancelled_in_kaltura_itself_drop_out_of_the_list,
    meeting_store_scopes_by_guild_and_partner,
    start_list_join_end_round_trip,
    viewers_cannot_start_or_end_and_deny_rules_name_themselves,
    another_guilds_meeting_is_not_found,
    bad_input_is_refused_before_any_kaltura_call,
    upcoming_meetings_come_soonest_first_and_past_ones_drop_out,
    switched_off_meetings_and_custom_kaf_host,
);
