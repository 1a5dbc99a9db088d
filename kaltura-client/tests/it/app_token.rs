//! App-token sessions: the widget-KS + token-hash handshake and the managed app-token KS.

use std::time::Duration;

use kaltura_client::ks::SessionType;
use kaltura_client::types::{AppTokenHashType, SessionOptions};
use kaltura_client::{Client, Credentials};
use serde_json::{Value, json};
use sha1::Digest as _;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer};

use crate::client_support::{MockClock, NOW, PARTNER, bodies, builder, json};

const TOKEN_ID: &str = "0_t0k3n1d";
const TOKEN: &str = "a5b0c0f5e1d4c3b2a1f0e9d8c7b6a5f4";
const WIDGET_KS: &str = "djJ8MTIzNDV8V0lER0VUS1M=";
const SESSION_KS: &str = "djJ8MTIzNDV8QVBQVE9LRU5LUw==";

async fn mount_widget_session(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/api_v3/service/session/action/startWidgetSession"))
        .and(body_partial_json(json!({"widgetId": "_12345"})))
        .respond_with(json(json!({
            "partnerId": PARTNER,
            "ks": WIDGET_KS,
            "userId": "",
            "objectType": "KalturaStartWidgetSessionResponse"
        })))
        .mount(server)
        .await;
}

async fn mount_app_token_session(server: &MockServer, token_hash: &str, expiry: i64) {
    Mock::given(method("POST"))
        .and(path("/api_v3/service/appToken/action/startSession"))
        .and(body_partial_json(json!({
            "id": TOKEN_ID,
            "tokenHash": token_hash,
            "ks": WIDGET_KS
        })))
        .respond_with(json(json!({
            "ks": SESSION_KS,
            "partnerId": PARTNER,
            "userId": "discord-bot",
            "expiry": expiry,
            "sessionType": 0,
            "privileges": "sessionid:0_t0k3n1d,apptoken:0_t0k3n1d",
            "objectType": "KalturaSessionInfo"
        })))
        .mount(server)
        .await;
}

fn sha1_hash() -> String {
    hex::encode(sha1::Sha1::digest(format!("{WIDGET_KS}{TOKEN}").as_bytes()))
}

fn sha256_hash() -> String {
    hex::encode(sha2::Sha256::digest(
        format!("{WIDGET_KS}{TOKEN}").as_bytes(),
    ))
}

#[tokio::test]
async fn start_session_hashes_the_widget_ks_and_token_with_sha1_by_default() {
    let server = MockServer::start().await;
    mount_widget_session(&server).await;
    mount_app_token_session(&server, &sha1_hash(), NOW + 3600).await;
    let client = builder(&server).build().unwrap();

    let info = client
        .app_token()
        .start_session(TOKEN_ID, TOKEN)
        .user_id("discord-bot")
        .session_type(SessionType::User)
        .expiry(Duration::from_secs(3600))
        .privileges("privacycontext:discord")
        .send()
        .await
        .unwrap();

    assert_eq!(info.ks.expose_secret(), SESSION_KS);
    assert_eq!(info.user_id.unwrap().as_str(), "discord-bot");
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(sent[0].get("ks").is_none());
    let start = &sent[1];
    assert_eq!(start["userId"], "discord-bot");
    assert_eq!(start["type"], 0);
    assert_eq!(start["expiry"], 3600);
    assert_eq!(start["sessionPrivileges"], "privacycontext:discord");
    assert!(
        !start.to_string().contains(TOKEN),
        "the token itself is never sent"
    );
}

#[tokio::test]
async fn start_session_with_sha256() {
    let server = MockServer::start().await;
    mount_widget_session(&server).await;
    mount_app_token_session(&server, &sha256_hash(), NOW + 3600).await;
    let client = builder(&server).build().unwrap();

    let info = client
        .app_token()
        .start_session(TOKEN_ID, TOKEN)
        .hash_type(AppTokenHashType::Sha256)
        .send()
        .await
        .unwrap();

    assert_eq!(info.ks.expose_secret(), SESSION_KS);
}

fn app_token_client(server: &MockServer, clock: std::sync::Arc<MockClock>) -> Client {
    builder(server)
        .credentials(Credentials::AppToken {
            id: TOKEN_ID.into(),
            token: TOKEN.into(),
            hash_type: AppTokenHashType::Sha256,
            options: SessionOptions::new()
                .user_id("discord-bot")
                .expiry(Duration::from_secs(3600)),
        })
        .clock(clock)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_app_token_client_starts_one_session_for_concurrent_calls() {
    let server = MockServer::start().await;
    mount_widget_session(&server).await;
    mount_app_token_session(&server, &sha256_hash(), NOW + 3600).await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/list"))
        .respond_with(json(json!({"objects": []})))
        .expect(5)
        .mount(&server)
        .await;
    let client = app_token_client(&server, MockClock::at(NOW));

    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call_raw("media", "list", Value::Null).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }

    let sent = bodies(&server).await;
    let starts = sent.iter().filter(|b| b.get("tokenHash").is_some()).count();
    assert_eq!(starts, 1, "one app-token session for all callers");
    for list in sent
        .iter()
        .filter(|b| b.get("tokenHash").is_none() && b.get("widgetId").is_none())
    {
        assert_eq!(list["ks"], SESSION_KS);
    }
}

#[tokio::test]
async fn an_app_token_session_is_renewed_near_its_expiry() {
    let server = MockServer::start().await;
    mount_widget_session(&server).await;
    mount_app_token_session(&server, &sha256_hash(), NOW + 3600).await;
    let clock = MockClock::at(NOW);
    let client = app_token_client(&server, clock.clone());

    client.current_ks().await.unwrap();
    client.current_ks().await.unwrap();
    let starts = |sent: &[Value]| sent.iter().filter(|b| b.get("tokenHash").is_some()).count();
    assert_eq!(starts(&bodies(&server).await), 1);

    // Kaltura said the KS expires at NOW + 3600: renew once less than 6 minutes remain.
    clock.advance(3600 - 300);
    client.current_ks().await.unwrap();
    assert_eq!(starts(&bodies(&server).await), 2);
}

#[tokio::test]
async fn a_relative_expiry_from_start_session_schedules_renewal_from_now() {
    // Kaltura may answer `expiry` as seconds from now instead of a unix time: 600 means the
    // KS is valid until NOW + 600, so it is renewed once less than 300 s (half) remain.
    let server = MockServer::start().await;
    mount_widget_session(&server).await;
    mount_app_token_session(&server, &sha256_hash(), 600).await;
    let clock = MockClock::at(NOW);
    let client = app_token_client(&server, clock.clone());
    let starts = |sent: &[Value]| sent.iter().filter(|b| b.get("tokenHash").is_some()).count();

    let first = client.current_ks().await.unwrap().unwrap();
    assert_eq!(first.expose_secret(), SESSION_KS);
    clock.advance(299);
    client.current_ks().await.unwrap();
    assert_eq!(
        starts(&bodies(&server).await),
        1,
        "still 301 s of 600 left: no renewal (a relative expiry read as a unix time would renew on every call)"
    );
    clock.advance(1);
    client.current_ks().await.unwrap();
    assert_eq!(starts(&bodies(&server).await), 2, "300 s left: renewed");
}

#[tokio::test]
async fn without_an_expiry_in_the_answer_the_requested_lifetime_is_used() {
    let server = MockServer::start().await;
    mount_widget_session(&server).await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/appToken/action/startSession"))
        .respond_with(json(json!({
            "ks": SESSION_KS,
            "partnerId": PARTNER,
            "sessionType": 0,
            "objectType": "KalturaSessionInfo"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let clock = MockClock::at(NOW);
    // Requested 3600 s: renewal 360 s (10 %) before NOW + 3600.
    let client = app_token_client(&server, clock.clone());

    client.current_ks().await.unwrap();
    clock.advance(3600 - 361);
    client.current_ks().await.unwrap();
    clock.advance(1);
    client.current_ks().await.unwrap();
    let sent = bodies(&server).await;
    assert_eq!(
        sent.iter().filter(|b| b.get("tokenHash").is_some()).count(),
        2
    );
    assert_eq!(sent[1]["expiry"], 3600, "the requested lifetime is sent");
}

#[tokio::test]
async fn a_failed_renewal_keeps_using_the_ks_while_it_is_still_valid() {
    let server = MockServer::start().await;
    mount_widget_session(&server).await;
    // The first session works (valid until NOW + 3600); every later start fails.
    Mock::given(method("POST"))
        .and(path("/api_v3/service/appToken/action/startSession"))
        .respond_with(json(json!({
            "ks": SESSION_KS,
            "partnerId": PARTNER,
            "expiry": NOW + 3600,
            "sessionType": 0,
            "objectType": "KalturaSessionInfo"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/appToken/action/startSession"))
        .respond_with(json(json!({
            "code": "APP_TOKEN_ID_NOT_FOUND",
            "message": "Application token id [0_t0k3n1d] not found",
            "objectType": "KalturaAPIException",
            "args": {"ID": TOKEN_ID}
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/list"))
        .respond_with(json(json!({"objects": []})))
        .expect(1)
        .mount(&server)
        .await;
    let clock = MockClock::at(NOW);
    let client = app_token_client(&server, clock.clone());
    client.current_ks().await.unwrap();

    // Inside the renewal window (60 s left): renewal fails, the current KS is still valid.
    clock.advance(3600 - 60);
    client.call_raw("media", "list", Value::Null).await.unwrap();
    let sent = bodies(&server).await;
    let list = sent.last().unwrap();
    assert_eq!(list["ks"], SESSION_KS, "the still-valid KS is used");
    let starts = sent.iter().filter(|b| b.get("tokenHash").is_some()).count();
    assert_eq!(starts, 2, "renewal was attempted");

    // Past its expiry the old KS is not used: the renewal error is returned.
    clock.advance(60);
    let err = client.current_ks().await.unwrap_err();
    assert_eq!(
        err.api_code().map(|c| c.as_str()),
        Some("APP_TOKEN_ID_NOT_FOUND"),
        "{err:?}"
    );
}
