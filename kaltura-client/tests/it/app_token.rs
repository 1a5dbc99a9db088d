//! App-token sessions: the widget-KS + token-hash handshake and the managed app-token KS.

use std::time::Duration;

use kaltura_client::ks::SessionType;
use kaltura_client::types::AppTokenHashType;
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
        .session_privileges("privacycontext:discord")
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
            user_id: Some("discord-bot".into()),
            session_type: None,
            expiry: Some(Duration::from_secs(3600)),
            privileges: None,
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
