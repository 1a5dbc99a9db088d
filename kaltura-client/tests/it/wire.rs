//! What the client puts on the wire: path, headers and JSON body of single calls.

use kaltura_client::ks::{self, Ks, SessionType};
use kaltura_client::{Error, KalturaRequest};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

use crate::client_support::{
    CLIENT_TAG, PARTNER, SECRET, USER_KS, admin_client, bodies, builder, json, snapshot_settings,
};

#[tokio::test]
async fn call_raw_posts_exact_json_content_type_to_the_action_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/get"))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .respond_with(json(
            json!({"id": "0_abc123", "objectType": "KalturaMediaEntry"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap().with_ks(Ks::new(USER_KS));

    let entry = client
        .call_raw(
            "media",
            "get",
            json!({"entryId": "0_abc123", "version": -1}),
        )
        .await
        .unwrap();
    assert_eq!(entry["id"], "0_abc123");

    let requests = server.received_requests().await.unwrap();
    let headers = &requests[0].headers;
    // Exactly `application/json`: with `; charset=utf-8` Kaltura silently drops every param.
    assert_eq!(headers.get_all("content-type").iter().count(), 1);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["accept"], "application/json");
    assert!(
        headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("kaltura-client-rs/")
    );
    snapshot_settings().bind(|| {
        insta::assert_json_snapshot!("call_raw_body", requests[0].body_json::<Value>().unwrap());
    });
}

#[tokio::test]
async fn session_start_sends_secret_and_partner_without_ks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/session/action/start"))
        .respond_with(json(json!("djJ8MTIzNDV8U1RBUlRFRA==")))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let ks = client
        .session()
        .start()
        .user_id("discord_42")
        .session_type(SessionType::User)
        .expiry(std::time::Duration::from_secs(86_400))
        .privileges("privacycontext:abc")
        .send()
        .await
        .unwrap();
    assert_eq!(ks.expose_secret(), "djJ8MTIzNDV8U1RBUlRFRA==");

    let body = &bodies(&server).await[0];
    assert!(body.get("ks").is_none(), "session.start must not send a KS");
    snapshot_settings().bind(|| insta::assert_json_snapshot!("session_start_body", body));
}

#[tokio::test]
async fn session_get_sends_the_session_to_inspect_and_the_client_ks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/session/action/get"))
        .respond_with(json(json!({
            "ks": "djJ8SU5TUEVDVEVE",
            "sessionType": 0,
            "partnerId": PARTNER,
            "userId": "discord_42",
            "expiry": 1_700_086_400,
            "privileges": "privacycontext:abc",
            "objectType": "KalturaSessionInfo"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap().with_ks(Ks::new(USER_KS));

    let info = client
        .session()
        .get(&Ks::new("djJ8SU5TUEVDVEVE"))
        .await
        .unwrap();
    assert_eq!(info.session_type, SessionType::User);
    assert_eq!(info.partner_id.get(), PARTNER);
    assert_eq!(info.user_id.unwrap().as_str(), "discord_42");
    assert_eq!(info.expiry, Some(1_700_086_400));
    assert_eq!(info.privileges.as_deref(), Some("privacycontext:abc"));

    let body = &bodies(&server).await[0];
    snapshot_settings().bind(|| insta::assert_json_snapshot!("session_get_body", body));
}

#[tokio::test]
async fn admin_client_sends_a_locally_generated_admin_ks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/list"))
        .respond_with(json(json!({"objects": [], "totalCount": 0})))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    client.call_raw("media", "list", Value::Null).await.unwrap();

    let body = &bodies(&server).await[0];
    let sent = body["ks"].as_str().unwrap();
    let decoded = ks::decode(sent, &SecretString::from(SECRET)).unwrap();
    assert_eq!(decoded.partner_id.get(), PARTNER);
    assert_eq!(decoded.session_type, SessionType::Admin);
    assert!(decoded.privileges.contains("disableentitlement"));
    snapshot_settings().bind(|| {
        insta::assert_json_snapshot!("admin_call_body", body, {".ks" => "[admin ks]"});
    });
}

#[tokio::test]
async fn client_tag_and_api_version_are_sent_with_every_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(Value::Null))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();

    client.call_raw("system", "ping", json!({})).await.unwrap();

    let body = &bodies(&server).await[0];
    assert_eq!(body["clientTag"], CLIENT_TAG);
    assert_eq!(body["apiVersion"], kaltura_client::request::API_VERSION);
    assert_eq!(body["format"], 1);
    assert!(body.get("ks").is_none(), "no credentials, no KS");
}

#[tokio::test]
async fn void_actions_decode_into_unit() {
    struct Delete;
    impl KalturaRequest for Delete {
        type Output = ();
        fn service(&self) -> &str {
            "media"
        }
        fn action(&self) -> &str {
            "delete"
        }
        fn params(&self) -> kaltura_client::Result<Map<String, Value>> {
            Ok(Map::from_iter([("entryId".to_owned(), json!("0_x"))]))
        }
    }

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/delete"))
        .respond_with(json(Value::Null))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    client.send(Delete).await.unwrap();
}

#[tokio::test]
async fn a_service_url_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/kaltura/api_v3/service/media/action/list"))
        .respond_with(json(json!({"objects": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .service_url(format!("{}/kaltura/", server.uri()))
        .build()
        .unwrap();

    client.call_raw("media", "list", Value::Null).await.unwrap();
}

#[tokio::test]
async fn path_injection_in_service_or_action_is_a_build_error() {
    let server = MockServer::start().await;
    let client = admin_client(&server);

    for (service, action) in [("../x", "get"), ("media", "get/../../x"), ("media", "")] {
        let err = client
            .call_raw(service, action, Value::Null)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Build { .. }), "{err:?}");
        assert!(err.is_not_sent());
    }
    let err = client
        .call_raw("media", "list", json!(["not", "an", "object"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Build { .. }), "{err:?}");
    assert!(bodies(&server).await.is_empty());
}

#[tokio::test]
async fn a_request_carrying_its_own_ks_keeps_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    client
        .call_raw("media", "list", json!({"ks": "djJ8T1dOS1M="}))
        .await
        .unwrap();

    assert_eq!(bodies(&server).await[0]["ks"], "djJ8T1dOS1M=");
}

#[test]
fn client_futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    let client = kaltura_client::Client::builder().build().unwrap();
    assert_send(client.call_raw("media", "list", Value::Null));
    assert_send(client.current_ks());
    assert_send(client.multirequest().send());
    assert_send(client.session().start().send());
}
