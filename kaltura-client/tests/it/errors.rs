//! How server answers and transport failures map to `Error` variants.

use std::time::Duration;

use kaltura_client::ks::Ks;
use kaltura_client::{Error, InvalidKsReason, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::client_support::{USER_KS, builder, json};

const BAD_GATEWAY: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><h1>502 Bad Gateway</h1></body></html>";

async fn server_answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn no_retry(server: &MockServer) -> kaltura_client::Client {
    builder(server)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
        .with_ks(Ks::new(USER_KS))
}

#[tokio::test]
async fn api_exception_with_http_200_is_an_api_error() {
    let server = server_answering(json(json!({
        "code": "ENTRY_ID_NOT_FOUND",
        "message": "Entry id \"0_nope\" not found",
        "objectType": "KalturaAPIException",
        "args": {"ENTRY_ID": "0_nope"}
    })))
    .await;

    let err = no_retry(&server)
        .call_raw("media", "get", json!({"entryId": "0_nope"}))
        .await
        .unwrap_err();

    let Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(api.code, kaltura_client::ErrorCode::EntryIdNotFound);
    assert_eq!(api.message, "Entry id \"0_nope\" not found");
    assert_eq!(api.args["ENTRY_ID"], "0_nope");
    assert_eq!(
        err.api_code(),
        Some(&kaltura_client::ErrorCode::EntryIdNotFound)
    );
    assert_eq!(
        (api.service(), api.action(), api.item()),
        (Some("media"), Some("get"), None)
    );
    assert_eq!(
        err.to_string(),
        "media.get: Kaltura API error ENTRY_ID_NOT_FOUND: Entry id \"0_nope\" not found"
    );
}

#[tokio::test]
async fn a_failed_multirequest_item_says_which_item_and_call() {
    let not_found = json!({
        "code": "ENTRY_ID_NOT_FOUND",
        "message": "Entry id \"0_nope\" not found",
        "objectType": "KalturaAPIException",
        "args": {"ENTRY_ID": "0_nope"}
    });
    let server = server_answering(json(json!([{"objectType": "KalturaMediaListResponse", "objects": [], "totalCount": 0}, {}, not_found]))).await;
    let client = no_retry(&server);
    let mut batch = client.multirequest();
    let _ = batch.add_raw("media", "list", Value::Null);
    let _ = batch.add_raw("session", "get", Value::Null);
    let third = batch.add_raw("media", "get", json!({"entryId": "0_nope"}));
    let response = batch.send().await.unwrap();

    let err = response.get(&third).unwrap_err();

    let api = err.as_api().unwrap();
    assert_eq!(
        (api.service(), api.action(), api.item()),
        (Some("media"), Some("get"), Some(3))
    );
    assert_eq!(
        err.to_string(),
        "multirequest item 3 (media.get): Kaltura API error ENTRY_ID_NOT_FOUND: Entry id \"0_nope\" not found"
    );
}

#[tokio::test]
async fn api_errors_are_checked_before_decoding_typed_results() {
    let server = server_answering(json(json!({
        "code": "SERVICE_FORBIDDEN",
        "message": "The access to service [session->get] is forbidden",
        "objectType": "KalturaAPIException",
        "args": []
    })))
    .await;

    let err = no_retry(&server).session().get_current().await.unwrap_err();

    assert_eq!(
        err.api_code(),
        Some(&kaltura_client::ErrorCode::ServiceForbidden),
        "{err:?}"
    );
    assert!(err.as_api().unwrap().args.is_empty());
}

#[tokio::test]
async fn invalid_ks_reason_is_decoded_and_the_ks_is_not_echoed() {
    let server = server_answering(json(json!({
        "code": "INVALID_KS",
        "message": format!("Invalid KS \"{USER_KS}\", Error \"-1,INVALID_STR\""),
        "objectType": "KalturaAPIException",
        "args": {"KSID": USER_KS, "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}
    })))
    .await;

    let err = no_retry(&server)
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    let api = err.as_api().expect("API error");
    assert_eq!(
        api.invalid_ks_reason(),
        Some(InvalidKsReason::InvalidSignature)
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(USER_KS), "{shown}");
}

#[tokio::test]
async fn expired_ks_reason_is_decoded() {
    let server = server_answering(json(json!({
        "code": "INVALID_KS",
        "message": "Invalid KS \"EXPIRED\", Error \"-1,INVALID_STR\"",
        "objectType": "KalturaAPIException",
        "args": {"KSID": "EXPIRED", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}
    })))
    .await;

    let err = no_retry(&server)
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    assert_eq!(
        err.as_api().unwrap().invalid_ks_reason(),
        Some(InvalidKsReason::Expired)
    );
}

#[tokio::test]
async fn html_page_with_status_200_is_not_json() {
    let server =
        server_answering(ResponseTemplate::new(200).set_body_raw(BAD_GATEWAY, "text/html")).await;

    let err = no_retry(&server)
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    let Error::NotJson {
        content_type,
        body_snippet,
        url,
    } = &err
    else {
        panic!("expected NotJson, got {err:?}")
    };
    assert_eq!(content_type.as_deref(), Some("text/html"));
    assert!(body_snippet.contains("502 Bad Gateway"), "{body_snippet}");
    assert!(url.ends_with("/api_v3/service/media/action/list"), "{url}");
}

#[tokio::test]
async fn html_page_with_status_502_is_an_http_error() {
    let server =
        server_answering(ResponseTemplate::new(502).set_body_raw(BAD_GATEWAY, "text/html")).await;

    let err = no_retry(&server)
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    let Error::Http {
        status,
        body_snippet,
        retry_after,
        ..
    } = &err
    else {
        panic!("expected Http, got {err:?}")
    };
    assert_eq!(*status, 502);
    assert!(body_snippet.contains("502 Bad Gateway"), "{body_snippet}");
    assert_eq!(*retry_after, None);
}

#[tokio::test]
async fn http_errors_keep_retry_after_and_hide_the_ks() {
    let echo = format!("rate limited for ks={USER_KS} {}", "x".repeat(2000));
    let server = server_answering(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "7")
            .set_body_string(echo),
    )
    .await;

    let err = no_retry(&server)
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    let Error::Http {
        status,
        retry_after,
        body_snippet,
        ..
    } = &err
    else {
        panic!("expected Http, got {err:?}")
    };
    assert_eq!(*status, 429);
    assert_eq!(*retry_after, Some(Duration::from_secs(7)));
    assert!(!body_snippet.contains(USER_KS), "{body_snippet}");
    assert!(
        body_snippet.chars().count() <= 513,
        "snippets are truncated"
    );
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = server_answering(json(json!({})).set_delay(Duration::from_secs(5))).await;
    let client = builder(&server)
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let err = client
        .call_raw("media", "list", Value::Null)
        .await
        .unwrap_err();

    let Error::Timeout { timeout, .. } = &err else {
        panic!("expected Timeout, got {err:?}")
    };
    assert_eq!(*timeout, Duration::from_millis(200));
    assert!(
        !err.is_not_sent(),
        "a timed-out request may have been processed"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // A port that was just free: nothing listens on it any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = kaltura_client::Client::builder()
        .service_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let err = client
        .call_raw("media", "add", json!({"entry": {"name": "x"}}))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(err.is_not_sent());
}

#[tokio::test]
async fn decode_failures_report_the_json_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/session/action/get"))
        .respond_with(json(json!({
            "ks": USER_KS,
            "sessionType": 0,
            "partnerId": {"unexpected": "object"},
            "objectType": "KalturaSessionInfo"
        })))
        .mount(&server)
        .await;

    let err = no_retry(&server)
        .session()
        .get(&Ks::new(USER_KS))
        .await
        .unwrap_err();

    let Error::Decode {
        service,
        action,
        path,
        ..
    } = &err
    else {
        panic!("expected Decode, got {err:?}")
    };
    assert_eq!((service.as_str(), action.as_str()), ("session", "get"));
    assert_eq!(path, "partnerId");
}

#[tokio::test]
async fn configuration_errors_are_reported_by_build() {
    use kaltura_client::Client;
    let cases = [
        Client::builder()
            .service_url("ftp://www.kaltura.com")
            .build(),
        Client::builder().service_url("not a url").build(),
        Client::builder()
            .admin_secret(crate::client_support::SECRET)
            .build(),
        Client::builder().app_token("0_tok", "token").build(),
        Client::builder().partner_id(1).admin_secret("").build(),
        Client::builder().timeout(Duration::ZERO).build(),
    ];
    for result in cases {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
    let err = Client::builder()
        .admin_secret("s3cr3t-value")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("partner id"), "{err}");
}

/// A real KS as `session.start` would return it, v2 and v1.
fn fresh_kses() -> Vec<String> {
    use kaltura_client::ks::{KsBuilder, KsVersion};
    use kaltura_client::{PartnerId, SessionType};
    let secret = secrecy::SecretString::from(crate::client_support::SECRET);
    [KsVersion::V2, KsVersion::V1]
        .into_iter()
        .map(|version| {
            KsBuilder::new(PartnerId::new(crate::client_support::PARTNER))
                .session_type(SessionType::User)
                .user_id("discord_42")
                .version(version)
                .sign(&secret)
                .unwrap()
                .expose_secret()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_fresh_ks_in_a_bad_session_start_body_is_never_kept() {
    for ks in fresh_kses() {
        let server =
            server_answering(json(json!({"objectType": "KalturaSomething", "ks": ks}))).await;
        let err = crate::client_support::admin_client(&server)
            .session()
            .start()
            .user_id("discord_42")
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&ks), "{shown}");
    }
}

#[tokio::test]
async fn a_fresh_ks_in_any_body_snippet_is_redacted() {
    for ks in fresh_kses() {
        let bodies = [
            ResponseTemplate::new(500).set_body_string(format!("oops ks={ks}")),
            ResponseTemplate::new(200)
                .insert_header("Content-Type", "text/html")
                .set_body_string(format!("<html>{ks}</html>")),
            json(json!({"objectType": "KalturaMediaEntry", "id": {"bad": 1}, "ks": ks})),
        ];
        for body in bodies {
            let server = server_answering(body).await;
            let err = no_retry(&server).media().get("0_abc").await.unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(&ks), "{shown}");
            assert!(!shown.contains("djJ8MTIz"), "{shown}");
        }
    }
}
