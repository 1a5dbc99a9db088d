//! `notify::setup` (templates in Kaltura, drift) and `notify::backfill` against the fake
//! Kaltura server, which dispatches real signed notifications.

use std::collections::BTreeSet;
use std::time::Duration;

use kaltura_client::Client;
use kaltura_client::fake::{FakeKaltura, NewEntry, NotificationSettings};
use kaltura_client::types::event_notification::{
    EventNotificationTemplate, EventNotificationTemplateStatus, HttpNotificationTemplateInput,
    SecureHashingAlgorithm,
};
use kaltura_discord::notify::setup::{Drift, SetupOptions, WebhookTemplate, check, setup};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use sha2::Digest as _;
use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const WAIT: Duration = Duration::from_secs(30);

fn client(fake: &FakeKaltura) -> Client {
    Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap()
}

async fn fake() -> FakeKaltura {
    FakeKaltura::builder()
        .notifications(
            NotificationSettings::default()
                .attempts(1)
                .interval(Duration::ZERO),
        )
        .start()
        .await
        .unwrap()
}

async fn partner_templates(client: &Client) -> Vec<EventNotificationTemplate> {
    client
        .event_notification_template()
        .list()
        .send()
        .await
        .unwrap()
        .objects
}

fn public() -> Url {
    Url::parse("https://bot.example.org/").unwrap()
}

#[tokio::test]
async fn setup_creates_active_json_sha256_templates_and_a_second_run_creates_nothing() {
    let fake = fake().await;
    let client = client(&fake);
    let options = SetupOptions::default();
    let before = check(&client, &public(), &options).await.unwrap();
    assert_eq!(
        before,
        WebhookTemplate::ALL
            .iter()
            .map(|t| Drift::Missing { template: *t })
            .collect::<Vec<_>>()
    );

    let report = setup(&client, &public(), &options).await.unwrap();
    let endpoint = format!(
        "https://bot.example.org/webhooks/kaltura/{}",
        fake.partner_id()
    );
    assert_eq!(report.endpoint, endpoint);
    assert_eq!(report.created.len(), 4, "{report:?}");
    assert!(report.created.iter().all(|(_, _, cloned)| *cloned));
    assert!(report.repaired.is_empty() && report.unchanged.is_empty());

    let templates = partner_templates(&client).await;
    assert_eq!(templates.len(), 4);
    let names: BTreeSet<&str> = templates.iter().filter_map(|t| t.system_name()).collect();
    assert_eq!(
        names,
        WebhookTemplate::ALL
            .iter()
            .map(|t| t.system_name())
            .collect::<BTreeSet<_>>()
    );
    for t in &templates {
        let t = t.as_http().expect("HTTP template");
        assert_eq!(t.status, Some(EventNotificationTemplateStatus::Active));
        assert_eq!(t.url.as_deref(), Some(endpoint.as_str()));
        assert_eq!(t.secure_hashing_algo, Some(SecureHashingAlgorithm::Sha256));
        assert_eq!(t.extra.get("urlEncode"), Some(&json!(false)));
    }
    assert!(
        check(&client, &public(), &options)
            .await
            .unwrap()
            .is_empty()
    );

    let again = setup(&client, &public(), &options).await.unwrap();
    assert!(
        again.created.is_empty() && again.repaired.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.unchanged.len(), 4);
    assert_eq!(partner_templates(&client).await.len(), 4, "no duplicates");
}

#[tokio::test]
async fn check_names_tampering_and_setup_repairs_it() {
    let fake = fake().await;
    let client = client(&fake);
    let options = SetupOptions::default();
    let report = setup(&client, &public(), &options).await.unwrap();
    let id_of = |kind: WebhookTemplate| {
        report
            .created
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, id, _)| *id)
            .unwrap()
    };
    let api = client.event_notification_template();
    // Someone points one template elsewhere (with a token in the query) …
    api.update(
        id_of(WebhookTemplate::EntryReady),
        HttpNotificationTemplateInput::new().url("https://other.example.org/hook?token=s3cr3t"),
    )
    .await
    .unwrap();
    // … switches another to legacy URL-encoding and SHA-1 …
    let mut legacy =
        HttpNotificationTemplateInput::new().secure_hashing_algo(SecureHashingAlgorithm::Sha1);
    legacy.extra.insert("urlEncode".into(), json!(true));
    api.update(id_of(WebhookTemplate::EntryChanged), legacy)
        .await
        .unwrap();
    // … disables a third …
    api.update_status(
        id_of(WebhookTemplate::EntryAddedToCategory),
        EventNotificationTemplateStatus::Disabled,
    )
    .await
    .unwrap();
    // … and copies the fourth.
    let copy = api
        .clone_template(
            id_of(WebhookTemplate::ScheduleEventChanged),
            HttpNotificationTemplateInput::new(),
        )
        .await
        .unwrap();
    let copy_id = copy.id().unwrap().get();

    let drift = check(&client, &public(), &options).await.unwrap();
    let expected = vec![
        Drift::WrongUrl {
            template: WebhookTemplate::EntryReady,
            id: id_of(WebhookTemplate::EntryReady),
            found: Some("https://other.example.org/hook".to_owned()),
        },
        Drift::Disabled {
            template: WebhookTemplate::EntryAddedToCategory,
            id: id_of(WebhookTemplate::EntryAddedToCategory),
        },
        Drift::WrongFormat {
            template: WebhookTemplate::EntryChanged,
            id: id_of(WebhookTemplate::EntryChanged),
            found: "URL-encoded JSON (data=…)".to_owned(),
        },
        Drift::WrongAlgorithm {
            template: WebhookTemplate::EntryChanged,
            id: id_of(WebhookTemplate::EntryChanged),
            found: Some(SecureHashingAlgorithm::Sha1),
        },
        Drift::Duplicate {
            template: WebhookTemplate::ScheduleEventChanged,
            id: copy_id,
        },
    ];
    assert_eq!(drift, expected);
    let text: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert!(text.iter().all(|t| !t.contains("s3cr3t")), "{text:?}");
    assert!(text[0].contains("KD_ENTRY_READY") && text[0].contains("other.example.org"));
    // `check` changed nothing.
    assert_eq!(check(&client, &public(), &options).await.unwrap(), expected);

    let repaired = setup(&client, &public(), &options).await.unwrap();
    assert!(repaired.created.is_empty(), "{repaired:?}");
    assert_eq!(repaired.repaired, expected);
    // The schedule template itself was right; only its copy went.
    assert_eq!(
        repaired.unchanged,
        [(
            WebhookTemplate::ScheduleEventChanged,
            id_of(WebhookTemplate::ScheduleEventChanged)
        )]
    );
    assert!(
        check(&client, &public(), &options)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(partner_templates(&client).await.len(), 4);
}

#[tokio::test]
async fn setup_only_touches_the_templates_asked_for() {
    let fake = fake().await;
    let client = client(&fake);
    let only = SetupOptions::default().templates([WebhookTemplate::EntryReady]);
    let report = setup(&client, &public(), &only).await.unwrap();
    assert_eq!(report.created.len(), 1);
    assert!(check(&client, &public(), &only).await.unwrap().is_empty());
    assert_eq!(
        check(&client, &public(), &SetupOptions::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn a_client_without_partner_id_or_a_bad_url_is_refused() {
    let fake = fake().await;
    let no_partner = Client::builder()
        .service_url(fake.url())
        .ks(fake.admin_ks().into())
        .build()
        .unwrap();
    let err = setup(&no_partner, &public(), &SetupOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, kaltura_discord::Error::Setup(_)), "{err}");
    let bad = Url::parse("https://bot.example.org/?token=1").unwrap();
    let err = check(&client(&fake), &bad, &SetupOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            kaltura_discord::Error::InvalidInput {
                field: "public_url",
                ..
            }
        ),
        "{err}"
    );
    assert!(partner_templates(&client(&fake)).await.is_empty());
}

/// The templates `setup` made really deliver: an entry becoming ready reaches our endpoint
/// path, signed with SHA-256 of the admin secret and the raw JSON body.
#[tokio::test]
async fn templates_made_by_setup_deliver_signed_json_to_our_endpoint() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let fake = fake().await;
    let client = client(&fake);
    let public = Url::parse(&receiver.uri()).unwrap();
    setup(&client, &public, &SetupOptions::default())
        .await
        .unwrap();
    let category: Value = reqwest::Client::new()
        .post(format!("{}/api_v3/service/category/action/add", fake.url()))
        .json(&json!({"ks": fake.admin_ks(), "format": 1, "category": {"name": "Lectures"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let category_id = category["id"].as_i64().unwrap();
    let entry = fake
        .add_ready_entry(NewEntry::new("Intro lecture").category(category_id))
        .unwrap();
    // Added to a category + became ready (entry changed does not fire on a status change).
    tokio::time::timeout(WAIT, fake.wait_for_notifications(2))
        .await
        .unwrap();
    let reqs = receiver.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2, "{:?}", fake.notifications());
    let path = format!("/webhooks/kaltura/{}", fake.partner_id());
    let mut systems = BTreeSet::new();
    for req in &reqs {
        assert_eq!(req.url.path(), path);
        assert_eq!(
            req.headers.get("content-type").unwrap().to_str().unwrap(),
            "application/json"
        );
        assert_eq!(
            req.headers
                .get("x-kaltura-hash-algo")
                .unwrap()
                .to_str()
                .unwrap(),
            "sha256"
        );
        let mut h = sha2::Sha256::new();
        h.update(fake.admin_secret().expose_secret().as_bytes());
        h.update(&req.body);
        assert_eq!(
            req.headers
                .get("x-kaltura-signature")
                .unwrap()
                .to_str()
                .unwrap(),
            hex::encode(h.finalize())
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        systems.insert(body["templateSystemName"].as_str().unwrap().to_owned());
        if body["templateSystemName"] == "KD_ENTRY_READY" {
            assert_eq!(body["object"]["id"], entry.as_str());
            assert_eq!(body["object"]["status"], 2);
        } else {
            assert_eq!(body["object"]["entryId"], entry.as_str());
            assert_eq!(body["object"]["categoryId"], category_id);
        }
    }
    assert_eq!(
        systems,
        BTreeSet::from([
            "KD_ENTRY_ADDED_TO_CATEGORY".to_owned(),
            "KD_ENTRY_READY".to_owned()
        ])
    );
}

// --- backfill ----------------------------------------------------------------------------

mod backfill {
    use kaltura_client::clock::Clock as _;
    use kaltura_client::fake::FakeClock;
    use kaltura_discord::context::KalturaAccount;
    use kaltura_discord::notify::backfill::{BackfillOptions, backfill};
    use kaltura_discord::notify::{EventKind, NotificationStore, WorkerId};

    use super::*;

    const T0: i64 = 1_800_000_000;

    async fn setup_fake() -> (FakeKaltura, FakeClock, KalturaAccount) {
        let clock = FakeClock::fixed(T0);
        let fake = FakeKaltura::builder()
            .clock(clock.clone())
            .start()
            .await
            .unwrap();
        // The client signs its KS on the fake's clock, so the KS is valid at the fake's time.
        let client = Client::builder()
            .service_url(fake.url())
            .partner_id(fake.partner_id())
            .admin_secret(fake.admin_secret().clone())
            .clock(std::sync::Arc::new(clock.clone()))
            .build()
            .unwrap();
        let account = KalturaAccount::new(client, fake.admin_secret()).unwrap();
        (fake, clock, account)
    }

    async fn add_not_ready(fake: &FakeKaltura, name: &str) -> String {
        let v: Value = reqwest::Client::new()
            .post(format!("{}/api_v3/service/media/action/add", fake.url()))
            .json(&json!({"ks": fake.admin_ks(), "format": 1,
                          "entry": {"objectType": "KalturaMediaEntry", "mediaType": 1, "name": name}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["id"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn ready_entries_updated_since_are_queued_once() {
        let (fake, clock, account) = setup_fake().await;
        let t = crate::support::sqlite().await;
        let store: &dyn NotificationStore = &t.store;
        // Before the outage: not listed.
        fake.add_ready_entry(NewEntry::new("old")).unwrap();
        clock.set(T0 + 1000);
        let a = fake.add_ready_entry(NewEntry::new("a")).unwrap();
        let b = fake.add_ready_entry(NewEntry::new("b")).unwrap();
        let _processing = add_not_ready(&fake, "still converting").await;
        let now = clock.now_unix() + 10;

        let report = backfill(&account, store, T0 + 500, now, &BackfillOptions::default())
            .await
            .unwrap();
        assert_eq!(
            (
                report.listed,
                report.ready,
                report.queued,
                report.already_known,
                report.truncated
            ),
            (3, 2, 2, 0, false),
            "{report:?}"
        );
        let events = store
            .claim_events(&WorkerId("test".into()), now, 60, 100)
            .await
            .unwrap();
        let mut keys: Vec<String> = events.iter().map(|e| e.event.dedup_key.clone()).collect();
        keys.sort();
        let mut expected = vec![
            format!("backfill:entry_ready:{a}"),
            format!("backfill:entry_ready:{b}"),
        ];
        expected.sort();
        assert_eq!(keys, expected);
        for e in &events {
            let ev = &e.event;
            assert_eq!(ev.kind, Some(EventKind::EntryReady));
            assert_eq!(ev.partner_id, fake.partner_id());
            assert_eq!(ev.received_at, now);
            let id = ev.subject.as_deref().unwrap();
            assert_eq!(ev.object["id"], id);
            assert_eq!(ev.object["status"], 2);
            assert_eq!(ev.object["objectType"], "KalturaMediaEntry");
        }

        // Run again: nothing new.
        let again = backfill(&account, store, T0 + 500, now, &BackfillOptions::default())
            .await
            .unwrap();
        assert_eq!((again.queued, again.already_known), (0, 2), "{again:?}");
        t.cleanup().await;
    }

    #[tokio::test]
    async fn listing_is_paged_and_bounded() {
        let (fake, clock, account) = setup_fake().await;
        let t = crate::support::sqlite().await;
        for i in 0..7 {
            clock.set(T0 + i);
            fake.add_ready_entry(NewEntry::new(format!("e{i}")))
                .unwrap();
        }
        let now = T0 + 100;
        let paged = BackfillOptions::default().page_size(2).batch_size(3);
        let report = backfill(&account, &t.store, T0, now, &paged).await.unwrap();
        assert_eq!(
            (report.listed, report.queued, report.truncated),
            (7, 7, false)
        );

        let t2 = crate::support::sqlite().await;
        let bounded = paged.max_entries(3);
        let report = backfill(&account, &t2.store, T0, now, &bounded)
            .await
            .unwrap();
        assert_eq!(
            (report.listed, report.queued, report.truncated),
            (3, 3, true)
        );
        // Oldest first: the three earliest updates.
        let events = t2
            .store
            .claim_events(&WorkerId("test".into()), now, 60, 100)
            .await
            .unwrap();
        let mut names: Vec<String> = events
            .iter()
            .map(|e| e.event.object["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["e0", "e1", "e2"]);
        t.cleanup().await;
        t2.cleanup().await;
    }

    #[tokio::test]
    async fn a_start_in_the_future_is_refused_and_an_unreachable_kaltura_is_an_error() {
        let (fake, _clock, account) = setup_fake().await;
        let t = crate::support::sqlite().await;
        let err = backfill(&account, &t.store, T0 + 10, T0, &BackfillOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                kaltura_discord::Error::InvalidInput { field: "since", .. }
            ),
            "{err}"
        );
        let secret = fake.admin_secret().clone();
        drop(fake);
        let dead = Client::builder()
            .service_url("http://127.0.0.1:9")
            .partner_id(12345)
            .admin_secret(secret.clone())
            .retry_policy(kaltura_client::retry::RetryPolicy::none())
            .build()
            .unwrap();
        let dead = KalturaAccount::new(dead, &secret).unwrap();
        let err = backfill(&dead, &t.store, T0, T0, &BackfillOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, kaltura_discord::Error::Kaltura(_)), "{err}");
        assert!(!err.to_string().contains(secret.expose_secret()));
        assert_eq!(t.store.stats().await.unwrap().unrouted_events, 0);
        t.cleanup().await;
    }
}
