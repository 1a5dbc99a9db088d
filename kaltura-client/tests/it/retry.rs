//! Retries on the wire: what is retried, what never is, and KS renewal on `INVALID_KS`.

use std::time::{Duration, Instant};

use kaltura_client::{Error, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::client_support::{admin_client, bodies, builder, json};

#[tokio::test]
async fn a_read_only_call_is_retried_after_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/list"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/list"))
        .respond_with(json(json!({"objects": [], "totalCount": 0})))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let list = client.call_raw("media", "list", Value::Null).await.unwrap();

    assert_eq!(list["totalCount"], 0);
}

#[tokio::test]
async fn a_call_with_side_effects_is_not_retried_after_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/add"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let err = client
        .call_raw("media", "add", json!({"entry": {"name": "x"}}))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Http { status: 503, .. }), "{err:?}");
}

#[tokio::test]
async fn session_start_is_not_retried_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(json!("djJ8")).set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .admin_secret(crate::client_support::SECRET)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = client.session().start().send().await.unwrap_err();

    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn an_html_page_is_retried_for_read_only_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>busy</html>", "text/html"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json(json!({"objects": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    client.call_raw("media", "list", Value::Null).await.unwrap();
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(4)
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::ZERO)
                .max_retries(3),
        )
        .build()
        .unwrap();

    let err = client
        .call_raw("media", "get", json!({"entryId": "0_x"}))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Http { status: 500, .. }), "{err:?}");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json(json!({"objects": []})))
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let started = Instant::now();
    client.call_raw("media", "list", Value::Null).await.unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_returned_not_waited_for() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let err = client
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    let Error::Http { retry_after, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(retry_after, Some(Duration::from_secs(3600)));
}

fn invalid_ks(err_code: &str, err_desc: &str, ksid: &str) -> ResponseTemplate {
    json(json!({
        "code": "INVALID_KS",
        "message": format!("Invalid KS \"{ksid}\", Error \"{err_code},{err_desc}\""),
        "objectType": "KalturaAPIException",
        "args": {"KSID": ksid, "ERR_CODE": err_code, "ERR_DESC": err_desc}
    }))
}

#[tokio::test]
async fn an_expired_admin_ks_is_regenerated_and_the_call_sent_once_more() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(invalid_ks("-1", "INVALID_STR", "EXPIRED"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/add"))
        .respond_with(json(json!({"id": "0_new"})))
        .mount(&server)
        .await;
    let client = admin_client(&server);

    // Even `add`: an expired KS means Kaltura executed nothing.
    let entry = client
        .call_raw("media", "add", json!({"entry": {"name": "x"}}))
        .await
        .unwrap();

    assert_eq!(entry["id"], "0_new");
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    assert_ne!(
        sent[0]["ks"], sent[1]["ks"],
        "the second attempt uses a new KS"
    );
}

#[tokio::test]
async fn an_expired_ks_is_retried_only_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(invalid_ks("-5", "EXPIRED", "djJ8"))
        .expect(2)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let err = client
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    assert_eq!(err.api_code(), Some(&kaltura_client::ErrorCode::InvalidKs));
}

#[tokio::test]
async fn a_refused_admin_ks_is_dropped_but_the_call_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(invalid_ks("-1", "INVALID_STR", "djJ8"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json(json!({"objects": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let err = client
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(&kaltura_client::ErrorCode::InvalidKs));
    client.call_raw("media", "list", Value::Null).await.unwrap();

    let sent = bodies(&server).await;
    assert_ne!(sent[0]["ks"], sent[1]["ks"], "the refused KS is not reused");
}

#[tokio::test]
async fn a_fixed_ks_is_never_renewed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(invalid_ks("-5", "EXPIRED", "EXPIRED"))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server).with_ks(crate::client_support::USER_KS.into());

    let err = client
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    assert_eq!(err.api_code(), Some(&kaltura_client::ErrorCode::InvalidKs));
}
