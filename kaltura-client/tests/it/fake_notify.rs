//! The fake server's HTTP event notifications: templates created through the API get signed
//! `KalturaHttpNotification`s on a local receiver (wiremock), retried like Kaltura until
//! exactly HTTP 200.

use std::time::Duration;

use kaltura_client::fake::{FakeKaltura, NewEntry, NotificationFault, NotificationSettings};
use kaltura_client::types::event_notification::{
    EventNotificationTemplateFilter, EventNotificationTemplateStatus, HttpNotificationData,
    HttpNotificationMethod, HttpNotificationObjectData, HttpNotificationTemplateInput,
    SecureHashingAlgorithm,
};
use serde_json::{Value, json};
use sha2::Digest as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::fake_support::{ADMIN_SECRET, Api};
use crate::services::fake_client;

const WAIT: Duration = Duration::from_secs(30);

async fn api(attempts: u32) -> Api {
    Api::with(
        FakeKaltura::builder().notifications(
            NotificationSettings::default()
                .attempts(attempts)
                .interval(Duration::ZERO),
        ),
    )
    .await
}

/// Clones system template `system_name` pointing at `url` and activates it; returns its id.
async fn webhook(
    fake: &FakeKaltura,
    system_name: &str,
    url: String,
    algo: Option<SecureHashingAlgorithm>,
    activate: bool,
) -> i64 {
    let client = fake_client(fake);
    let templates = client.event_notification_template();
    let system = templates
        .list_templates()
        .filter(EventNotificationTemplateFilter::new().system_name_equal(system_name))
        .send()
        .await
        .unwrap();
    let source = system
        .objects
        .first()
        .expect("system template")
        .id()
        .unwrap();
    let mut input = HttpNotificationTemplateInput::new()
        .name(format!("test {system_name}"))
        .url(url)
        .method(HttpNotificationMethod::Post)
        .data(HttpNotificationData::Object(
            HttpNotificationObjectData::json("KalturaMediaEntry"),
        ));
    if let Some(algo) = algo {
        input = input.secure_hashing_algo(algo);
    }
    let copy = templates.clone_template(source, input).await.unwrap();
    let id = copy.id().unwrap();
    if activate {
        templates
            .update_status(id, EventNotificationTemplateStatus::Active)
            .await
            .unwrap();
    }
    id.get()
}

async fn wait(fake: &FakeKaltura, n: usize) {
    tokio::time::timeout(WAIT, fake.wait_for_notifications(n))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{n} notifications did not finish: {:?}",
                fake.notifications()
            )
        });
}

fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

fn sha1_hex(parts: &[&[u8]]) -> String {
    let mut h = sha1::Sha1::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

fn requests_to<'r>(reqs: &'r [Request], p: &str) -> Vec<&'r Request> {
    reqs.iter().filter(|r| r.url.path() == p).collect()
}

#[tokio::test]
async fn an_entry_becoming_ready_sends_a_signed_json_notification() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let api = api(3).await;
    let fake = &api.fake;
    let ready_id = webhook(
        fake,
        "HTTP_ENTRY_STATUS_EQUALS",
        format!("{}/ready", receiver.uri()),
        Some(SecureHashingAlgorithm::Sha256),
        true,
    )
    .await;
    // Added through the API: NO_CONTENT, so "status equals READY" does not fire.
    let added = api
        .admin(
            "media",
            "add",
            json!({"entry": {"objectType": "KalturaMediaEntry", "mediaType": 1, "name": "Intro"}}),
        )
        .await;
    let entry_id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(fake.notification_counts(), (0, 0));
    fake.set_entry_status(&entry_id, 2).unwrap();
    wait(fake, 1).await;

    let records = fake.notifications();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.statuses(), [Some(200)]);
    assert!(record.delivered() && record.finished);
    assert_eq!(record.template_id, ready_id);
    assert_eq!(record.object_id, entry_id);

    let reqs = receiver.received_requests().await.unwrap();
    let reqs = requests_to(&reqs, "/ready");
    assert_eq!(reqs.len(), 1);
    let req = reqs[0];
    assert_eq!(header(req, "content-type"), Some("application/json"));
    assert_eq!(header(req, "x-kaltura-hash-algo"), Some("sha256"));
    let expected = sha256_hex(&[ADMIN_SECRET.as_bytes(), &req.body]);
    assert_eq!(header(req, "x-kaltura-signature"), Some(expected.as_str()));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["objectType"], "KalturaHttpNotification");
    assert_eq!(body["eventNotificationJobId"], record.job_id);
    assert_eq!(body["templateId"], ready_id);
    assert_eq!(body["templateName"], "test HTTP_ENTRY_STATUS_EQUALS");
    assert_eq!(body["templateSystemName"], "HTTP_ENTRY_STATUS_EQUALS");
    assert_eq!(body["eventType"], "3");
    assert_eq!(body["eventObjectType"], "1");
    assert_eq!(body["object"]["id"], entry_id.as_str());
    assert_eq!(body["object"]["status"], 2);
    assert_eq!(body["object"]["name"], "Intro");
    assert_eq!(body["object"]["objectType"], "KalturaMediaEntry");

    // Another status (ERROR_CONVERTING) does not match "equals READY".
    fake.set_entry_status(&entry_id, -1).unwrap();
    fake.set_entry_status(&entry_id, 2).unwrap();
    wait(fake, 2).await;
    let records = fake.notifications();
    assert_eq!(records.len(), 2);
    assert_ne!(records[0].job_id, records[1].job_id, "job ids are unique");
}

#[tokio::test]
async fn sha1_is_the_default_and_url_encode_wraps_the_body() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let api = api(1).await;
    let fake = &api.fake;
    let id = webhook(
        fake,
        "HTTP_ENTRY_ADDED",
        format!("{}/added", receiver.uri()),
        None,
        true,
    )
    .await;
    // A legacy template: urlEncode set through update (an extra property).
    let mut legacy = HttpNotificationTemplateInput::new();
    legacy.extra.insert("urlEncode".into(), json!(true));
    fake_client(fake)
        .event_notification_template()
        .update(id, legacy)
        .await
        .unwrap();
    let entry_id = fake.add_ready_entry(NewEntry::new("Legacy")).unwrap();
    wait(fake, 1).await;
    let reqs = receiver.received_requests().await.unwrap();
    let req = requests_to(&reqs, "/added")[0];
    assert_eq!(header(req, "x-kaltura-hash-algo"), Some("sha1"));
    let expected = sha1_hex(&[ADMIN_SECRET.as_bytes(), &req.body]);
    assert_eq!(header(req, "x-kaltura-signature"), Some(expected.as_str()));
    let form = std::str::from_utf8(&req.body).unwrap();
    let data = url::form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.into_owned())
        .expect("data=");
    let body: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(body["object"]["id"], entry_id.as_str());
    assert_eq!(body["eventType"], "2");
}

#[tokio::test]
async fn non_200_is_retried_with_the_same_job_id_and_200_stops_the_retries() {
    let receiver = MockServer::start().await;
    // 202 is not 200: Kaltura counts it as a failure.
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(202))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&receiver)
        .await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(3)
        .mount(&receiver)
        .await;
    let api = api(5).await;
    let fake = &api.fake;
    webhook(
        fake,
        "HTTP_ENTRY_STATUS_CHANGED",
        format!("{}/hook", receiver.uri()),
        Some(SecureHashingAlgorithm::Sha512),
        true,
    )
    .await;
    let id = fake.add_ready_entry(NewEntry::new("Retried")).unwrap();
    wait(fake, 1).await;
    let records = fake.notifications();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].statuses(), [Some(202), Some(503), Some(200)]);
    assert!(records[0].delivered());
    assert_eq!(records[0].object_id, id);
    let reqs = receiver.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3, "no attempt after the 200");
    let job_ids: Vec<Value> = reqs
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["eventNotificationJobId"].clone()
        })
        .collect();
    assert!(
        job_ids.iter().all(|j| *j == json!(records[0].job_id)),
        "{job_ids:?}"
    );
    assert!(
        reqs.iter().all(|r| r.body == reqs[0].body),
        "the same body on every attempt"
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_200_gets_the_configured_attempts_only() {
    let receiver = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let api = api(3).await;
    let fake = &api.fake;
    webhook(
        fake,
        "HTTP_ENTRY_ADDED",
        format!("{}/down", receiver.uri()),
        None,
        true,
    )
    .await;
    // A template that is not activated is never dispatched.
    webhook(
        fake,
        "HTTP_ENTRY_ADDED",
        format!("{}/disabled", receiver.uri()),
        None,
        false,
    )
    .await;
    fake.add_ready_entry(NewEntry::new("Lost")).unwrap();
    wait(fake, 1).await;
    let records = fake.notifications();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].statuses(), [Some(500), Some(500), Some(500)]);
    assert!(!records[0].delivered() && records[0].finished);
    let reqs = receiver.received_requests().await.unwrap();
    assert_eq!(requests_to(&reqs, "/down").len(), 3);
    assert!(requests_to(&reqs, "/disabled").is_empty());
}

#[tokio::test]
async fn dispatch_does_not_block_the_api_call() {
    let receiver = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    // One hour between attempts: the call must return long before the retries end.
    let api = Api::with(
        FakeKaltura::builder().notifications(
            NotificationSettings::default()
                .attempts(2)
                .interval(Duration::from_secs(3600)),
        ),
    )
    .await;
    let fake = &api.fake;
    webhook(
        fake,
        "HTTP_ENTRY_ADDED",
        format!("{}/slow", receiver.uri()),
        None,
        true,
    )
    .await;
    let added = tokio::time::timeout(
        WAIT,
        api.admin(
            "media",
            "add",
            json!({"entry": {"objectType": "KalturaMediaEntry", "mediaType": 1, "name": "x"}}),
        ),
    )
    .await
    .expect("media.add answers while the notification waits for its retry");
    assert!(added["id"].is_string(), "{added}");
    // Poll until the first attempt is recorded; the dispatch is then still unfinished.
    tokio::time::timeout(WAIT, async {
        while fake
            .notifications()
            .first()
            .is_none_or(|r| r.attempts.is_empty())
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("first attempt");
    let record = &fake.notifications()[0];
    assert_eq!(record.statuses(), [Some(500)]);
    assert!(!record.finished);
    assert_eq!(fake.notification_counts(), (1, 0));
    // Stopping the server ends the wait for the retry: the dispatch finishes, not retried.
    let finished = fake.wait_for_notifications(1);
    api.fake.shutdown().await;
    assert_eq!(tokio::time::timeout(WAIT, finished).await.unwrap(), 1);
    let reqs = receiver.received_requests().await.unwrap();
    assert_eq!(requests_to(&reqs, "/slow").len(), 1);
}

#[tokio::test]
async fn injected_faults_break_the_signature() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let api = api(1).await;
    let fake = &api.fake;
    webhook(
        fake,
        "HTTP_ENTRY_ADDED",
        format!("{}/f", receiver.uri()),
        Some(SecureHashingAlgorithm::Sha256),
        true,
    )
    .await;
    fake.fail_next_notifications(1, NotificationFault::WrongSignature);
    fake.fail_next_notifications(1, NotificationFault::MissingSignature);
    for name in ["a", "b", "c"] {
        fake.add_ready_entry(NewEntry::new(name)).unwrap();
    }
    wait(fake, 3).await;
    let records = fake.notifications();
    let reqs = receiver.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    for record in &records {
        let req = reqs
            .iter()
            .find(|r| {
                serde_json::from_slice::<Value>(&r.body).unwrap()["eventNotificationJobId"]
                    == json!(record.job_id)
            })
            .expect("request of the record");
        let good = sha256_hex(&[ADMIN_SECRET.as_bytes(), &req.body]);
        let sig = header(req, "x-kaltura-signature");
        match record.fault {
            Some(NotificationFault::WrongSignature) => {
                assert!(sig.is_some_and(|s| s != good && s.len() == 64))
            }
            Some(NotificationFault::MissingSignature) => assert_eq!(sig, None),
            None => assert_eq!(sig, Some(good.as_str())),
            Some(other) => panic!("unexpected fault {other:?}"),
        }
    }
    let faults: Vec<_> = records.iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            Some(NotificationFault::WrongSignature),
            Some(NotificationFault::MissingSignature),
            None
        ]
    );
}

#[tokio::test]
async fn categories_and_schedule_events_are_notified() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let api = api(1).await;
    let fake = &api.fake;
    webhook(
        fake,
        "HTTP_ENTRY_ADDED_TO_CATEGORY",
        format!("{}/category", receiver.uri()),
        None,
        true,
    )
    .await;
    webhook(
        fake,
        "HTTP_SCHEDULE_EVENT_SAVED",
        format!("{}/schedule", receiver.uri()),
        None,
        true,
    )
    .await;
    let category = api
        .admin("category", "add", json!({"category": {"name": "Lectures"}}))
        .await;
    let category_id = category["id"].as_i64().unwrap();
    let entry = api
        .admin(
            "media",
            "add",
            json!({"entry": {"objectType": "KalturaMediaEntry", "mediaType": 1, "name": "x"}}),
        )
        .await;
    let entry_id = entry["id"].as_str().unwrap();
    api.admin(
        "media",
        "update",
        json!({"entryId": entry_id, "mediaEntry": {"objectType": "KalturaMediaEntry",
               "categoriesIds": category_id.to_string()}}),
    )
    .await;
    let event = api
        .admin(
            "schedule_scheduleevent",
            "add",
            json!({"scheduleEvent": {"objectType": "KalturaRecordScheduleEvent",
                   "summary": "Standup", "startDate": 1_900_000_000, "endDate": 1_900_003_600}}),
        )
        .await;
    let event_id = event["id"].as_i64().unwrap();
    api.admin(
        "schedule_scheduleevent",
        "update",
        json!({"scheduleEventId": event_id, "scheduleEvent": {
               "objectType": "KalturaRecordScheduleEvent", "summary": "Standup (moved)"}}),
    )
    .await;
    // An update that changes nothing raises no event.
    api.admin(
        "schedule_scheduleevent",
        "update",
        json!({"scheduleEventId": event_id, "scheduleEvent": {
               "objectType": "KalturaRecordScheduleEvent", "summary": "Standup (moved)"}}),
    )
    .await;
    wait(fake, 3).await;
    let reqs = receiver.received_requests().await.unwrap();
    let category_reqs = requests_to(&reqs, "/category");
    assert_eq!(category_reqs.len(), 1);
    let body: Value = serde_json::from_slice(&category_reqs[0].body).unwrap();
    assert_eq!(body["eventObjectType"], "37");
    assert_eq!(body["object"]["objectType"], "KalturaCategoryEntry");
    assert_eq!(body["object"]["entryId"], entry_id);
    assert_eq!(body["object"]["categoryId"], category_id);
    let schedule: Vec<Value> = requests_to(&reqs, "/schedule")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(schedule.len(), 2, "{schedule:?}");
    assert!(schedule.iter().all(|b| b["eventObjectType"]
        == "scheduleEventNotifications.ScheduleEvent"
        && b["eventType"] == "10"
        && b["object"]["id"] == event_id));
    let summaries: Vec<&str> = schedule
        .iter()
        .map(|b| b["object"]["summary"].as_str().unwrap())
        .collect();
    assert!(summaries.contains(&"Standup") && summaries.contains(&"Standup (moved)"));
    assert_eq!(fake.notification_counts(), (3, 3));
}
