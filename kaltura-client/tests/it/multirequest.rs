//! Multirequests: body layout, back-references, per-call results and whole-request errors.

use kaltura_client::ks::{Ks, SessionType};
use kaltura_client::services::session::GetSessionRequest;
use kaltura_client::types::SessionInfo;
use kaltura_client::{Error, Handle};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::client_support::{USER_KS, admin_client, bodies, builder, json, snapshot_settings};

fn session_info() -> Value {
    json!({
        "ks": USER_KS,
        "sessionType": 0,
        "partnerId": 12345,
        "userId": "discord_42",
        "objectType": "KalturaSessionInfo"
    })
}

#[tokio::test]
async fn mixed_results_are_returned_per_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/multirequest"))
        .respond_with(json(json!([
            session_info(),
            {
                "code": "ENTRY_ID_NOT_FOUND",
                "message": "Entry id \"discord_42\" not found",
                "objectType": "KalturaAPIException",
                "args": {"ENTRY_ID": "discord_42"}
            },
            {"objects": [], "totalCount": 0, "objectType": "KalturaMediaListResponse"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap().with_ks(Ks::new(USER_KS));

    let mut batch = client.multirequest();
    let session: Handle<SessionInfo> = batch.add(GetSessionRequest::default());
    let entry = batch.add_raw("media", "get", json!({"entryId": session.field("userId")}));
    let list = batch.add_raw(
        "media",
        "list",
        json!({"filter": {"userIdEqual": session.field(":userId:"), "objectType": "KalturaMediaEntryFilter"},
               "pager": {"pageSize": 1}, "all": session.result()}),
    );
    assert_eq!(batch.len(), 3);
    assert!(batch.is_read_only());
    let response = batch.send().await.unwrap();

    let info = response.get(&session).unwrap();
    assert_eq!(info.session_type, SessionType::User);
    let err = response.get(&entry).unwrap_err();
    assert_eq!(
        err.api_code(),
        Some(&kaltura_client::ErrorCode::EntryIdNotFound)
    );
    assert_eq!(err.as_api().unwrap().args["ENTRY_ID"], "discord_42");
    assert_eq!(response.get(&list).unwrap()["totalCount"], 0);
    assert_eq!(response.len(), 3);

    let body = &bodies(&server).await[0];
    assert_eq!(body["1"]["entryId"], "{1:result:userId}");
    snapshot_settings().bind(|| insta::assert_json_snapshot!("multirequest_body", body));
}

#[tokio::test]
async fn a_call_result_that_does_not_decode_is_a_per_call_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(
            json!([{"ks": USER_KS, "sessionType": 0, "partnerId": []}, "ok"]),
        ))
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let mut batch = client.multirequest();
    let bad = batch.add(GetSessionRequest::new(Ks::new(USER_KS)));
    let good = batch.add_raw("system", "ping", Value::Null);
    let response = batch.send().await.unwrap();

    let err = response.get(&bad).unwrap_err();
    let Error::Decode { path, action, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((path.as_str(), action.as_str()), ("partnerId", "get"));
    assert_eq!(response.get(&good).unwrap(), "ok");
}

#[tokio::test]
async fn a_top_level_api_error_fails_the_whole_multirequest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(json!({
            "code": "MISSING_KS",
            "message": "Missing KS, session not established",
            "objectType": "KalturaAPIException",
            "args": []
        })))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();

    let mut batch = client.multirequest();
    batch.add_raw("media", "list", Value::Null);
    let err = batch.send().await.unwrap_err();

    assert_eq!(err.api_code(), Some(&kaltura_client::ErrorCode::MissingKs));
}

#[tokio::test]
async fn a_result_array_of_the_wrong_length_fails_the_whole_multirequest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(json!(["only one"])))
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let mut batch = client.multirequest();
    batch.add_raw("media", "list", Value::Null);
    batch.add_raw("media", "count", Value::Null);
    let err = batch.send().await.unwrap_err();

    assert!(
        matches!(&err, Error::Decode { message, .. } if message.contains("expected an array of 2 results, got 1 results")),
        "{err:?}"
    );
}

#[tokio::test]
async fn empty_or_invalid_multirequests_are_build_errors() {
    let server = MockServer::start().await;
    let client = admin_client(&server);

    let err = client.multirequest().send().await.unwrap_err();
    assert!(matches!(err, Error::Build { .. }), "{err:?}");

    let mut batch = client.multirequest();
    batch.add_raw("media", "list", Value::Null);
    batch.add_raw("../media", "list", Value::Null);
    let err = batch.send().await.unwrap_err();
    assert!(matches!(err, Error::Build { .. }), "{err:?}");
    assert!(bodies(&server).await.is_empty());
}

#[tokio::test]
async fn a_multirequest_with_side_effects_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let mut batch = client.multirequest();
    batch.add_raw("media", "list", Value::Null);
    batch.add_raw("media", "add", json!({"entry": {"name": "x"}}));
    assert!(!batch.is_read_only());
    let err = batch.send().await.unwrap_err();

    assert!(matches!(err, Error::Http { status: 503, .. }), "{err:?}");
}

#[tokio::test]
async fn a_read_only_multirequest_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json(json!([{"objects": []}, 3])))
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let mut batch = client.multirequest();
    let list = batch.add_raw("media", "list", Value::Null);
    let count = batch.add_raw("media", "count", Value::Null);
    let response = batch.send().await.unwrap();

    assert_eq!(response.get(&list).unwrap()["objects"], json!([]));
    assert_eq!(response.get(&count).unwrap(), 3);
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn inline_errors_do_not_echo_the_ks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(json!([{
            "code": "INVALID_KS",
            "message": format!("Invalid KS \"{USER_KS}\", Error \"-1,INVALID_STR\""),
            "objectType": "KalturaAPIException",
            "args": {"KSID": USER_KS, "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}
        }])))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap().with_ks(Ks::new(USER_KS));

    let mut batch = client.multirequest();
    let call = batch.add_raw("media", "list", Value::Null);
    let response = batch.send().await.unwrap();

    let err = response.get(&call).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(USER_KS));
    assert!(!response.raw(0).unwrap().to_string().contains(USER_KS));
}

fn expired_ks_item() -> Value {
    json!({
        "code": "INVALID_KS",
        "message": "Invalid KS \"EXPIRED\", Error \"-1,EXPIRED\"",
        "objectType": "KalturaAPIException",
        "args": {"KSID": "EXPIRED", "ERR_CODE": "-1", "ERR_DESC": "EXPIRED"}
    })
}

#[tokio::test]
async fn a_multirequest_refused_whole_for_an_expired_ks_is_sent_once_more_with_a_new_ks() {
    let server = MockServer::start().await;
    // Every item refused for an expired KS: Kaltura executed nothing.
    Mock::given(method("POST"))
        .and(path("/api_v3/service/multirequest"))
        .respond_with(json(json!([expired_ks_item(), expired_ks_item()])))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/multirequest"))
        .respond_with(json(json!([{"id": "0_new"}, 3])))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    // Even with a side effect (`add`): nothing ran the first time.
    let mut batch = client.multirequest();
    let add = batch.add_raw("media", "add", json!({"entry": {"name": "x"}}));
    let count = batch.add_raw("media", "count", Value::Null);
    let response = batch.send().await.unwrap();

    assert_eq!(response.get(&add).unwrap()["id"], "0_new");
    assert_eq!(response.get(&count).unwrap(), 3);
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2, "exactly one re-send");
    let (first, second) = (
        sent[0]["ks"].as_str().unwrap(),
        sent[1]["ks"].as_str().unwrap(),
    );
    assert!(first.starts_with("djJ8") && second.starts_with("djJ8"));
    assert_ne!(first, second, "the re-sent multirequest carries a new KS");
    assert_eq!(sent[0]["0"], sent[1]["0"], "same calls");
    assert_eq!(sent[0]["1"], sent[1]["1"], "same calls");
}

#[tokio::test]
async fn a_multirequest_with_only_some_items_expired_is_not_sent_again() {
    let server = MockServer::start().await;
    // The first item ran: sending the batch again would run it twice.
    Mock::given(method("POST"))
        .and(path("/api_v3/service/multirequest"))
        .respond_with(json(json!([{"id": "0_new"}, expired_ks_item()])))
        .expect(2)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let mut batch = client.multirequest();
    let add = batch.add_raw("media", "add", json!({"entry": {"name": "x"}}));
    let count = batch.add_raw("media", "count", Value::Null);
    let response = batch.send().await.unwrap();

    assert_eq!(response.get(&add).unwrap()["id"], "0_new");
    let err = response.get(&count).unwrap_err();
    assert_eq!(
        err.api_code(),
        Some(&kaltura_client::ErrorCode::InvalidKs),
        "{err:?}"
    );
    // The refused KS was dropped: the next call signs a new one.
    let mut next = client.multirequest();
    next.add_raw("media", "count", Value::Null);
    let _ = next.send().await;
    let sent = bodies(&server).await;
    assert_eq!(
        sent.len(),
        2,
        "one request per send: no re-send of the first batch"
    );
    assert_ne!(sent[0]["ks"], sent[1]["ks"], "the refused KS is not reused");
}
