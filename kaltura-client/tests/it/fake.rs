//! The fake Kaltura server (feature `fake`) over real HTTP on loopback: KS checks, error codes
//! with their exact messages and arguments, request encodings, multirequest, XML output,
//! services over the demo catalog, hostile input, failure injection, and the official Python
//! client (`tests/official_clients/python_client.py`).

use std::time::Duration;

use kaltura_client::PartnerId;
use kaltura_client::clock::FixedClock;
use kaltura_client::fake::{DEMO_ENTRY_COUNT, Failure, FakeClock, FakeKaltura};

use crate::fake_support::{ADMIN_SECRET, Api, NOW, USER_SECRET, assert_error, ks_str};
use kaltura_client::ks::{self, KsBuilder, OsRandom, SessionType};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

// --- server lifecycle --------------------------------------------------------------------

#[tokio::test]
async fn start_exposes_url_partner_and_secrets() {
    let fake = FakeKaltura::start().await;
    assert!(fake.url().starts_with("http://127.0.0.1:"));
    assert_eq!(fake.partner_id(), PartnerId::new(12345));
    assert_eq!(fake.admin_secret().expose_secret().len(), 32);
    assert_ne!(
        fake.admin_secret().expose_secret(),
        fake.user_secret().expose_secret()
    );
    let url = fake.url().to_owned();
    fake.shutdown().await;
    let err = reqwest::Client::new()
        .post(format!("{url}/api_v3/service/session/action/get"))
        .send()
        .await;
    assert!(err.is_err(), "server still answering after shutdown");
}

// --- session.start and KS checks ---------------------------------------------------------

#[tokio::test]
async fn session_start_admin_and_user_secrets() {
    let api = Api::start().await;
    let ks = ks_str(
        &api.call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345, "type": 2, "userId": "boss"}),
        )
        .await,
    );
    let d =
        ks::decode(&ks, &SecretString::from(ADMIN_SECRET)).expect("signed with the admin secret");
    assert_eq!(d.session_type, SessionType::Admin);
    assert_eq!(d.user_id, "boss");

    // Python style: every scalar a string; user secret for a USER session.
    let ks = ks_str(
        &api.call(
            "session",
            "start",
            json!({"secret": USER_SECRET, "partnerId": "12345", "type": "0", "userId": "discord_42", "expiry": "60", "privileges": "privacycontext:abc"}),
        )
        .await,
    );
    let d = ks::decode(&ks, &SecretString::from(ADMIN_SECRET))
        .expect("always signed with the admin secret");
    assert_eq!(d.session_type, SessionType::User);
    assert_eq!(d.privileges.to_string(), "privacycontext:abc");
    assert!(d.valid_until - api.fake.now() <= 60);
}

#[tokio::test]
async fn session_start_errors() {
    let api = Api::start().await;
    let expected = |pid: &str| {
        (
            format!("Error while starting session for partner [{pid}]"),
            json!({"PID": pid}),
        )
    };
    for (params, pid) in [
        (
            json!({"secret": "wrong", "partnerId": 12345, "type": 2}),
            "12345",
        ),
        (
            json!({"secret": USER_SECRET, "partnerId": 12345, "type": 2}),
            "12345",
        ),
        (
            json!({"secret": ADMIN_SECRET, "partnerId": 999, "type": 2}),
            "999",
        ),
    ] {
        let v = api.call("session", "start", params).await;
        let (message, args) = expected(pid);
        assert_error(&v, "START_SESSION_ERROR", &message, args);
    }
    let v = api
        .call("session", "start", json!({"partnerId": 12345}))
        .await;
    assert_error(
        &v,
        "MISSING_MANDATORY_PARAMETER",
        "Missing parameter \"secret\"",
        json!({"PARAM_NAME": "secret"}),
    );
    let v = api
        .call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345, "type": 7}),
        )
        .await;
    assert_eq!(v["code"], "INVALID_ENUM_VALUE");
}

#[tokio::test]
async fn missing_and_garbage_ks() {
    let api = Api::start().await;
    let v = api.call("media", "list", json!({})).await;
    assert_error(
        &v,
        "MISSING_KS",
        "Missing KS, session not established",
        json!([]),
    );
    let v = api.call("media", "list", json!({"ks": ""})).await;
    assert_eq!(v["code"], "MISSING_KS");

    for garbage in [
        "garbage",
        "djJ8MTIzNDV8AAAA",
        "../../etc/passwd",
        &"x".repeat(10_000),
    ] {
        let v = api.call("media", "list", json!({"ks": garbage})).await;
        assert_error(
            &v,
            "INVALID_KS",
            &format!("Invalid KS \"{garbage}\", Error \"-1,INVALID_STR\""),
            json!({"KSID": garbage, "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}),
        );
    }
}

#[tokio::test]
async fn ks_signed_with_another_secret_or_partner() {
    let api = Api::start().await;
    let other_secret = KsBuilder::new(PartnerId::new(12345))
        .session_type(SessionType::Admin)
        .sign(&SecretString::from("not-the-secret"))
        .unwrap();
    let v = api
        .call("media", "list", json!({"ks": other_secret.expose_secret()}))
        .await;
    assert_eq!(v["args"]["ERR_CODE"], "-1");
    assert_eq!(v["args"]["ERR_DESC"], "INVALID_STR");

    let other_partner = KsBuilder::new(PartnerId::new(54321))
        .session_type(SessionType::Admin)
        .sign(&SecretString::from(ADMIN_SECRET))
        .unwrap();
    let v = api
        .call(
            "media",
            "list",
            json!({"ks": other_partner.expose_secret()}),
        )
        .await;
    assert_error(
        &v,
        "INVALID_KS",
        &format!(
            "Invalid KS \"{}\", Error \"-2,INVALID_PARTNER\"",
            other_partner.expose_secret()
        ),
        json!({"KSID": other_partner.expose_secret(), "ERR_CODE": "-2", "ERR_DESC": "INVALID_PARTNER"}),
    );
}

#[tokio::test]
async fn expired_ks_with_a_moved_clock() {
    let clock = FakeClock::fixed(NOW);
    let api = Api::with(FakeKaltura::builder().clock(clock.clone())).await;
    let ks = ks_str(
        &api.call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345, "type": 2, "expiry": 60}),
        )
        .await,
    );
    let v = api.call("media", "list", json!({"ks": ks})).await;
    assert_eq!(v["objectType"], "KalturaMediaListResponse");

    clock.advance(Duration::from_secs(60));
    let v = api.call("media", "list", json!({"ks": ks})).await;
    assert_error(
        &v,
        "INVALID_KS",
        &format!("Invalid KS \"{ks}\", Error \"-5,EXPIRED\""),
        json!({"KSID": ks, "ERR_CODE": "-5", "ERR_DESC": "EXPIRED"}),
    );
    let err: kaltura_client::ApiError = serde_json::from_value(v).unwrap();
    assert_eq!(
        err.invalid_ks_reason(),
        Some(kaltura_client::InvalidKsReason::Expired)
    );
}

#[tokio::test]
async fn ks_generated_in_the_past_is_expired() {
    let api = Api::start().await;
    let old = KsBuilder::new(PartnerId::new(12345))
        .session_type(SessionType::Admin)
        .sign_with(
            &SecretString::from(ADMIN_SECRET),
            &FixedClock(NOW),
            &mut OsRandom,
        )
        .unwrap();
    let v = api
        .call("media", "list", json!({"ks": old.expose_secret()}))
        .await;
    assert_eq!(v["args"]["ERR_CODE"], "-5");
}

#[tokio::test]
async fn max_expiry_is_capped() {
    let clock = FakeClock::fixed(NOW);
    let api = Api::with(
        FakeKaltura::builder()
            .clock(clock)
            .max_ks_expiry(Duration::from_secs(3600)),
    )
    .await;
    let ks = ks_str(
        &api.call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345, "type": 2, "expiry": 999_999}),
        )
        .await,
    );
    let d = ks::decode(&ks, &SecretString::from(ADMIN_SECRET)).unwrap();
    assert_eq!(d.valid_until, NOW + 3600);
}

#[tokio::test]
async fn user_ks_on_admin_action_is_forbidden() {
    let api = Api::start().await;
    let ks = api.fake.user_ks("discord_42");
    let v = api
        .call(
            "media",
            "add",
            json!({"ks": ks, "entry": {"name": "x", "mediaType": 1}}),
        )
        .await;
    assert_error(
        &v,
        "SERVICE_FORBIDDEN",
        "The access to service [media->add] is forbidden",
        json!({"SERVICE": "media->add"}),
    );
    let v = api.call("user", "list", json!({"ks": ks})).await;
    assert_eq!(v["args"]["SERVICE"], "user->list");
    // …but reading is fine.
    let v = api.call("media", "list", json!({"ks": ks})).await;
    assert_eq!(v["objectType"], "KalturaMediaListResponse");
}

#[tokio::test]
async fn session_get_and_end() {
    let clock = FakeClock::fixed(NOW);
    let api = Api::with(FakeKaltura::builder().clock(clock)).await;
    let ks = ks_str(
        &api.call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345, "type": 0, "userId": "u1", "privileges": "sview:0_a,edit:*"}),
        )
        .await,
    );
    let info = api.call("session", "get", json!({"ks": ks})).await;
    assert_eq!(
        info,
        json!({"ks": ks, "sessionType": 0, "partnerId": 12345, "userId": "u1", "expiry": NOW + 86_400,
               "privileges": "sview:0_a,edit:*", "objectType": "KalturaSessionInfo"})
    );
    let v = api.call("session", "end", json!({"ks": ks})).await;
    assert_eq!(v, Value::Null);
    let v = api.call("session", "get", json!({"ks": ks})).await;
    assert_error(
        &v,
        "INVALID_KS",
        &format!("Invalid KS \"{ks}\", Error \"-6,LOGOUT\""),
        json!({"KSID": ks, "ERR_CODE": "-6", "ERR_DESC": "LOGOUT"}),
    );
}

#[tokio::test]
async fn widget_session() {
    let api = Api::demo().await;
    let v = api
        .call(
            "session",
            "startWidgetSession",
            json!({"widgetId": "_12345"}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaStartWidgetSessionResponse");
    assert_eq!(v["partnerId"], 12345);
    assert_eq!(v["userId"], "0");
    let ks = v["ks"].as_str().unwrap().to_owned();
    let info = api.call("session", "get", json!({"ks": ks})).await;
    assert_eq!(info["privileges"], "view:*,widget:1");
    assert_eq!(info["sessionType"], 0);
    let list = api
        .call("media", "list", json!({"ks": ks, "pager": {"pageSize": 1}}))
        .await;
    assert_eq!(list["totalCount"], DEMO_ENTRY_COUNT);
    let v = api
        .call("session", "startWidgetSession", json!({"widgetId": "_999"}))
        .await;
    assert_error(
        &v,
        "INVALID_WIDGET_ID",
        "Invalid widget id [_999]",
        json!({"WID": "_999"}),
    );
}

#[tokio::test]
async fn app_token_flow() {
    let api = Api::start().await;
    let token = api
        .admin(
            "appToken",
            "add",
            json!({"appToken": {"objectType": "KalturaAppToken", "hashType": "SHA256", "sessionPrivileges": "privacycontext:bot", "sessionUserId": "bot"}}),
        )
        .await;
    assert_eq!(token["objectType"], "KalturaAppToken");
    assert_eq!(token["status"], 2);
    let id = token["id"].as_str().unwrap().to_owned();
    let secret = token["token"].as_str().unwrap().to_owned();

    let widget = api
        .call(
            "session",
            "startWidgetSession",
            json!({"widgetId": "_12345"}),
        )
        .await;
    let widget_ks = widget["ks"].as_str().unwrap().to_owned();
    use sha2::Digest as _;
    let hash = hex::encode(sha2::Sha256::digest(
        format!("{widget_ks}{secret}").as_bytes(),
    ));
    let info = api
        .call(
            "appToken",
            "startSession",
            json!({"ks": widget_ks, "id": id, "tokenHash": hash, "type": 2, "expiry": 600}),
        )
        .await;
    assert_eq!(info["objectType"], "KalturaSessionInfo", "{info}");
    assert_eq!(info["userId"], "bot");
    assert_eq!(info["sessionType"], 2);
    assert_eq!(
        info["privileges"],
        format!("sessionid:{id},apptoken:{id},privacycontext:bot")
    );
    let new_ks = info["ks"].as_str().unwrap();
    let v = api
        .call(
            "media",
            "add",
            json!({"ks": new_ks, "entry": {"mediaType": 1}}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaMediaEntry");

    let v = api
        .call(
            "appToken",
            "startSession",
            json!({"ks": widget_ks, "id": id, "tokenHash": "00"}),
        )
        .await;
    assert_error(
        &v,
        "INVALID_APP_TOKEN_HASH",
        "Invalid application token hash",
        json!([]),
    );
    let v = api
        .call(
            "appToken",
            "startSession",
            json!({"ks": widget_ks, "id": "0_nope", "tokenHash": "00"}),
        )
        .await;
    assert_error(
        &v,
        "APP_TOKEN_ID_NOT_FOUND",
        "Application token id \"0_nope\" not found",
        json!({"ID": "0_nope"}),
    );
    let v = api.call("appToken", "list", json!({"ks": widget_ks})).await;
    assert_eq!(v["code"], "SERVICE_FORBIDDEN");
    let v = api.admin("appToken", "list", json!({})).await;
    assert_eq!(v["totalCount"], 1);
    let v = api.admin("appToken", "delete", json!({"id": id})).await;
    assert_eq!(v, Value::Null);
    let v = api.admin("appToken", "get", json!({"id": id})).await;
    assert_eq!(v["code"], "APP_TOKEN_ID_NOT_FOUND");
}

// --- encodings ---------------------------------------------------------------------------

#[tokio::test]
async fn form_query_and_path_encodings() {
    let api = Api::demo().await;
    let ks = api.fake.admin_ks();

    // Form body with `:` nesting.
    let (status, body) = api
        .raw(api.http.post(api.url("media", "list")).form(&[
            ("ks", ks.as_str()),
            ("format", "1"),
            ("filter:objectType", "KalturaMediaEntryFilter"),
            ("filter:nameLike", "cats"),
            ("pager:pageSize", "2"),
        ]))
        .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["totalCount"], 3, "{v}");
    assert_eq!(v["objects"].as_array().unwrap().len(), 2);

    // Query string only, GET.
    let v: Value = api
        .http
        .get(api.url("media", "list"))
        .query(&[
            ("ks", ks.as_str()),
            ("format", "1"),
            ("filter:tagsLike", "rust"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["totalCount"], 6, "{v}");

    // `/key/value` path pairs override the body.
    let first = api
        .call("media", "list", json!({"ks": ks, "pager": {"pageSize": 1}}))
        .await;
    let id = first["objects"][0]["id"].as_str().unwrap().to_owned();
    let v: Value = api
        .http
        .post(format!(
            "{}/api_v3/service/media/action/get/entryId/{id}/format/1",
            api.fake.url()
        ))
        .json(&json!({"ks": ks, "entryId": "0_ignored", "format": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["id"], id.as_str());

    // `application/json; charset=utf-8` silently loses the JSON params, as on the real server.
    let (_, body) = api
        .raw(
            api.http
                .post(format!("{}?format=1", api.url("media", "list")))
                .header("content-type", "application/json; charset=utf-8")
                .body(json!({"ks": ks}).to_string()),
        )
        .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "MISSING_KS");
}

#[tokio::test]
async fn service_and_action_are_case_insensitive() {
    let api = Api::demo().await;
    let ks = api.fake.admin_ks();
    let v = api.call("MEDIA", "LIST", json!({"ks": ks})).await;
    assert_eq!(v["objectType"], "KalturaMediaListResponse");
    let v = api
        .call(
            "ElasticSearch_ESearch",
            "SEARCHENTRY",
            json!({"ks": ks, "searchParams": {}}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaESearchEntryResponse");
    let v = api
        .call(
            "Session",
            "Start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345}),
        )
        .await;
    assert!(v.is_string());
}

#[tokio::test]
async fn unknown_service_and_action() {
    let api = Api::start().await;
    let v = api.call("nope", "get", json!({})).await;
    assert_error(
        &v,
        "SERVICE_DOES_NOT_EXISTS",
        "Service \"nope\" does not exists",
        json!({"SRV_NAME": "nope"}),
    );
    let v = api.call("media", "explode", json!({})).await;
    assert_error(
        &v,
        "ACTION_DOES_NOT_EXISTS",
        "Action \"explode\" does not exists for service \"media\"",
        json!({"ACTION_NAME": "explode", "SERVICE_NAME": "media"}),
    );
    let (status, body) = api
        .raw(
            api.http
                .post(format!("{}/api_v3/?format=1", api.fake.url())),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("SERVICE_NOT_SPECIFIED"), "{body}");
    let (status, _) = api
        .raw(api.http.get(format!("{}/elsewhere", api.fake.url())))
        .await;
    assert_eq!(status, 404);
}

// --- multirequest ------------------------------------------------------------------------

#[tokio::test]
async fn multirequest_back_references_and_inline_errors() {
    let api = Api::demo().await;
    let ks = api.fake.admin_ks();
    let body = json!({
        "format": 1,
        "ks": ks,
        "0": {"service": "session", "action": "get"},
        "1": {"service": "media", "action": "list", "filter": {"nameLike": "Rust Ownership"}, "pager": {"pageSize": 1}},
        "2": {"service": "media", "action": "get", "entryId": "{2:result:objects:0:id}"},
        "3": {"service": "media", "action": "get", "entryId": "0_nope"},
        "4": {"service": "user", "action": "get", "userId": "{9:result:id}"},
        "5": {"service": "media", "action": "update", "entryId": "{3:result:id}",
              "mediaEntry": {"description": "owned by {1:result:userId}"}}
    });
    let v: Value = api.multirequest(&body).await;
    let items = v.as_array().expect("array");
    assert_eq!(items.len(), 6);
    assert_eq!(items[0]["objectType"], "KalturaSessionInfo");
    assert_eq!(items[1]["totalCount"], 3);
    assert_eq!(items[2]["id"], items[1]["objects"][0]["id"]);
    assert_error(
        &items[3],
        "ENTRY_ID_NOT_FOUND",
        "Entry id \"0_nope\" not found",
        json!({"ENTRY_ID": "0_nope"}),
    );
    // A missing back-reference becomes "", so user.get falls back to the session's user.
    assert_eq!(items[4]["id"], "admin");
    assert_eq!(items[5]["description"], "owned by admin");
}

#[tokio::test]
async fn multirequest_form_encoded_and_common_params() {
    let api = Api::start().await;
    let (_, body) = api
        .raw(
            api.http
                .post(format!("{}/api_v3/service/multirequest", api.fake.url()))
                .form(&[
                    ("format", "1"),
                    ("1:service", "session"),
                    ("1:action", "start"),
                    ("1:secret", ADMIN_SECRET),
                    ("1:partnerId", "12345"),
                    ("1:type", "2"),
                    ("2:service", "media"),
                    ("2:action", "add"),
                    ("2:ks", "{1:result}"),
                    ("2:entry:name", "via form"),
                    ("2:entry:mediaType", "1"),
                    ("3:service", "media"),
                    ("3:action", "count"),
                    ("3:ks", "{1:result}"),
                ]),
        )
        .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v[0].as_str().unwrap().starts_with("djJ8"), "{v}");
    assert_eq!(v[1]["name"], "via form");
    assert_eq!(v[1]["mediaType"], 1);
    assert_eq!(v[2], 1);
}

// --- XML ---------------------------------------------------------------------------------

#[tokio::test]
async fn xml_is_the_default_format() {
    let api = Api::start().await;
    let (status, body) = api
        .raw(
            api.http
                .post(api.url("session", "start"))
                .json(&json!({"secret": ADMIN_SECRET, "partnerId": "12345"})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><xml><result>djJ8"),
        "{body}"
    );
    assert!(body.contains("</result><executionTime>"), "{body}");
    assert!(body.ends_with("</executionTime></xml>"), "{body}");

    let (_, body) = api
        .raw(
            api.http
                .post(api.url("media", "get"))
                .json(&json!({"format": "2", "entryId": "0_x"})),
        )
        .await;
    assert!(
        body.contains("<result><error><code>MISSING_KS</code><message>Missing KS, session not established</message><objectType>KalturaAPIException</objectType><args></args></error></result>"),
        "{body}"
    );
}

#[tokio::test]
async fn xml_objects_lists_and_errors() {
    let api = Api::start().await;
    let ks = api.fake.admin_ks();
    let added = api
        .admin(
            "media",
            "add",
            json!({"entry": {"name": "a < b & \"c\"", "mediaType": 1, "tags": "x"}}),
        )
        .await;
    let id = added["id"].as_str().unwrap();
    let (_, body) = api
        .raw(
            api.http
                .post(api.url("media", "list"))
                .json(&json!({"ks": ks, "format": 2})),
        )
        .await;
    assert!(body.contains("<result><objects><item>"), "{body}");
    assert!(body.contains(&format!("<id>{id}</id>")), "{body}");
    assert!(
        body.contains("<name>a &lt; b &amp; &quot;c&quot;</name>"),
        "{body}"
    );
    assert!(body.contains("<objectType>KalturaMediaEntry</objectType></item></objects><totalCount>1</totalCount><objectType>KalturaMediaListResponse</objectType></result>"), "{body}");

    let (_, body) = api
        .raw(
            api.http
                .post(api.url("user", "add"))
                .json(&json!({"ks": ks, "format": 2, "user": {"id": "u1", "isAdmin": true}})),
        )
        .await;
    assert!(body.contains("<isAdmin>1</isAdmin>"), "{body}");

    let (_, body) = api
        .raw(
            api.http
                .post(api.url("media", "get"))
                .json(&json!({"ks": ks, "entryId": "0_nope"})),
        )
        .await;
    assert!(body.contains("<error><code>ENTRY_ID_NOT_FOUND</code><message>Entry id &quot;0_nope&quot; not found</message><objectType>KalturaAPIException</objectType><args><item><objectType>KalturaApiExceptionArg</objectType><name>ENTRY_ID</name><value>0_nope</value></item></args></error>"), "{body}");

    let (_, body) = api
        .raw(
            api.http
                .post(format!("{}/api_v3/service/multirequest", api.fake.url()))
                .json(&json!({
                    "ks": ks,
                    "0": {"service": "media", "action": "get", "entryId": id},
                    "1": {"service": "media", "action": "get", "entryId": "0_nope"},
                    "2": {"service": "media", "action": "delete", "entryId": id}
                })),
        )
        .await;
    assert!(body.contains("<result><item><accessControlId>"), "{body}");
    assert!(
        body.contains("</item><item><error><code>ENTRY_ID_NOT_FOUND</code>"),
        "{body}"
    );
    assert!(
        body.contains("</error></item><item></item></result><executionTime>"),
        "{body}"
    );
}

// --- services ----------------------------------------------------------------------------

#[tokio::test]
async fn media_crud_and_errors() {
    let api = Api::start().await;
    let v = api
        .admin("media", "add", json!({"entry": {"name": "no type"}}))
        .await;
    assert_error(
        &v,
        "PROPERTY_VALIDATION_CANNOT_BE_NULL",
        "The property \"mediaType\" cannot be null",
        json!({"PROP_NAME": "mediaType"}),
    );
    let e = api
        .admin("media", "add", json!({"entry": {"objectType": "KalturaMediaEntry", "name": "Clip", "mediaType": "1", "tags": "a,b", "id": "0_forged", "status": 2}}))
        .await;
    let id = e["id"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("0_") && id.len() == 10 && id != "0_forged",
        "{e}"
    );
    assert_eq!(e["status"], 7);
    assert_eq!(e["userId"], "admin");
    assert_eq!(
        e["thumbnailUrl"],
        format!(
            "{}/p/12345/sp/1234500/thumbnail/entry_id/{id}/version/100000",
            api.fake.url()
        )
    );
    let v = api
        .admin(
            "media",
            "update",
            json!({"entryId": id, "mediaEntry": {"name": "Renamed", "description": "d"}}),
        )
        .await;
    assert_eq!(v["name"], "Renamed");
    assert_eq!(v["tags"], "a,b");
    let v = api.admin("baseEntry", "get", json!({"entryId": id})).await;
    assert_eq!(v["description"], "d");
    let thumb = api
        .http
        .get(e["thumbnailUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status().as_u16(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/svg+xml");
    assert!(thumb.text().await.unwrap().contains(">Renamed</text>"));
    let v = api.admin("media", "delete", json!({"entryId": id})).await;
    assert_eq!(v, Value::Null);
    let thumb = api
        .http
        .get(e["thumbnailUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status().as_u16(), 404);
    let v = api.admin("media", "get", json!({"entryId": id})).await;
    assert_error(
        &v,
        "ENTRY_ID_NOT_FOUND",
        &format!("Entry id \"{id}\" not found"),
        json!({"ENTRY_ID": id}),
    );
    let v = api.admin("media", "get", json!({})).await;
    assert_error(
        &v,
        "MISSING_MANDATORY_PARAMETER",
        "Missing parameter \"entryId\"",
        json!({"PARAM_NAME": "entryId"}),
    );
}

#[tokio::test]
async fn media_list_filters_pager_and_order() {
    let api = Api::demo().await;
    let all = api
        .admin("media", "list", json!({"pager": {"pageSize": 500}}))
        .await;
    assert_eq!(all["totalCount"], DEMO_ENTRY_COUNT);
    let objects = all["objects"].as_array().unwrap();
    let created: Vec<i64> = objects
        .iter()
        .map(|o| o["createdAt"].as_i64().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "default order is -createdAt"
    );
    let first = &objects[0];
    assert!(
        first["thumbnailUrl"]
            .as_str()
            .unwrap()
            .contains("/p/12345/sp/1234500/thumbnail/entry_id/")
    );

    let default_page = api.admin("media", "list", json!({})).await;
    assert_eq!(default_page["objects"].as_array().unwrap().len(), 30);
    let page2 = api
        .admin(
            "media",
            "list",
            json!({"pager": {"pageSize": 10, "pageIndex": 4}}),
        )
        .await;
    assert_eq!(page2["objects"].as_array().unwrap().len(), 6);
    assert_eq!(page2["totalCount"], DEMO_ENTRY_COUNT);
    let beyond = api
        .admin(
            "media",
            "list",
            json!({"pager": {"pageSize": 10, "pageIndex": 99999999}}),
        )
        .await;
    assert_eq!(beyond["objects"], json!([]));

    let by_name = api
        .admin(
            "media",
            "list",
            json!({"filter": {"orderBy": "+name"}, "pager": {"pageSize": 3}}),
        )
        .await;
    assert_eq!(by_name["objects"][0]["name"], "Async Rust with Tokio");

    let ids = format!(
        "{},{}",
        objects[0]["id"].as_str().unwrap(),
        objects[5]["id"].as_str().unwrap()
    );
    let v = api
        .admin("media", "list", json!({"filter": {"idIn": ids}}))
        .await;
    assert_eq!(v["totalCount"], 2);
    let v = api
        .admin(
            "media",
            "list",
            json!({"filter": {"idEqual": objects[3]["id"]}}),
        )
        .await;
    assert_eq!(v["objects"][0]["id"], objects[3]["id"]);
    let v = api
        .admin("media", "list", json!({"filter": {"mediaTypeEqual": 5}}))
        .await;
    assert_eq!(v["totalCount"], 3);
    let v = api
        .admin("media", "list", json!({"filter": {"statusEqual": "2"}}))
        .await;
    assert_eq!(v["totalCount"], DEMO_ENTRY_COUNT);
    let v = api
        .admin("media", "list", json!({"filter": {"tagsLike": "pets"}}))
        .await;
    assert_eq!(v["totalCount"], 6);

    let cats = api
        .admin(
            "category",
            "list",
            json!({"filter": {"fullNameEqual": "Engineering>Rust"}}),
        )
        .await;
    assert_eq!(cats["totalCount"], 1);
    let rust = &cats["objects"][0];
    assert_eq!(rust["entriesCount"], 6);
    let v = api
        .admin(
            "media",
            "list",
            json!({"filter": {"categoriesIdsMatchOr": format!("{},999", rust["id"])}}),
        )
        .await;
    assert_eq!(v["totalCount"], 6);
    let v = api
        .admin(
            "baseEntry",
            "list",
            json!({"filter": {"nameLike": "town HALL"}}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaBaseEntryListResponse");
    assert_eq!(
        v["totalCount"], 3,
        "nameLike is a case-insensitive substring match: {v}"
    );
}

#[tokio::test]
async fn demo_data_is_deterministic() {
    let a = Api::demo().await;
    let b = Api::demo().await;
    let la = a
        .admin("media", "list", json!({"pager": {"pageSize": 500}}))
        .await;
    let lb = b
        .admin("media", "list", json!({"pager": {"pageSize": 500}}))
        .await;
    let strip = |v: &Value| {
        v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["id"].clone(),
                    o["name"].clone(),
                    o["createdAt"].clone(),
                    o["duration"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&la), strip(&lb));
    let users = a.admin("user", "list", json!({})).await;
    assert_eq!(users["totalCount"], 5);
}

#[tokio::test]
async fn users() {
    let api = Api::demo().await;
    let v = api.admin("user", "add", json!({"user": {"id": "discord_7", "firstName": "Sev", "lastName": "En", "isAdmin": "0"}})).await;
    assert_eq!(v["objectType"], "KalturaUser");
    assert_eq!(v["fullName"], "Sev En");
    assert_eq!(v["isAdmin"], false);
    let v = api
        .admin("user", "add", json!({"user": {"id": "discord_7"}}))
        .await;
    assert_error(
        &v,
        "DUPLICATE_USER_BY_ID",
        "User with id [discord_7] already exists in system",
        json!({"UID": "discord_7"}),
    );
    let v = api
        .admin("user", "add", json!({"user": {"id": "bad id/with space"}}))
        .await;
    assert_eq!(v["code"], "INVALID_FIELD_VALUE");
    let v = api.admin("user", "get", json!({"userId": "nobody"})).await;
    assert_error(&v, "INVALID_USER_ID", "Invalid user id", json!([]));
    let v = api
        .admin(
            "user",
            "update",
            json!({"userId": "discord_7", "user": {"email": "s@e.x"}}),
        )
        .await;
    assert_eq!(v["email"], "s@e.x");

    let user_ks = api.fake.user_ks("alice");
    let v = api.call("user", "get", json!({"ks": user_ks})).await;
    assert_eq!(v["id"], "alice");
    let v = api
        .call("user", "get", json!({"ks": user_ks, "userId": "bob"}))
        .await;
    assert_eq!(
        v["code"],
        "CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION"
    );

    let v = api
        .admin("user", "delete", json!({"userId": "discord_7"}))
        .await;
    assert_eq!(v["status"], 2);
    let v = api
        .admin(
            "user",
            "list",
            json!({"filter": {"idIn": "alice,bob,discord_7"}}),
        )
        .await;
    assert_eq!(v["totalCount"], 2);
}

#[tokio::test]
async fn esearch_operators_items_highlights_and_paging() {
    let api = Api::demo().await;
    let search = |op: Value, pager: Value| {
        let api = &api;
        async move {
            api.admin(
                "elasticsearch_esearch",
                "searchEntry",
                json!({"searchParams": {"objectType": "KalturaESearchEntryParams", "searchOperator": op}, "pager": pager}),
            )
            .await
        }
    };
    let unified = |term: &str, t: i64| json!({"objectType": "KalturaESearchUnifiedItem", "searchTerm": term, "itemType": t});
    let field = |f: &str, term: &str, t: i64| json!({"objectType": "KalturaESearchEntryItem", "fieldName": f, "searchTerm": term, "itemType": t});

    // Node style: numbers. PARTIAL over name/description/tags.
    let v = search(json!({"objectType": "KalturaESearchEntryOperator", "operator": 1, "searchItems": [unified("cats", 2)]}), json!({"pageSize": 2})).await;
    assert_eq!(v["objectType"], "KalturaESearchEntryResponse");
    assert_eq!(v["totalCount"], 3, "{v}");
    assert_eq!(v["objects"].as_array().unwrap().len(), 2);
    let r = &v["objects"][0];
    assert_eq!(r["objectType"], "KalturaESearchEntryResult");
    assert_eq!(r["object"]["objectType"], "KalturaMediaEntry");
    let highlight = r["highlight"].as_array().unwrap();
    let name_hl = highlight
        .iter()
        .find(|h| h["fieldName"] == "name")
        .expect("name highlight");
    assert!(
        name_hl["hits"][0]["value"]
            .as_str()
            .unwrap()
            .contains("<em>Cats</em>"),
        "{name_hl}"
    );
    assert_eq!(name_hl["objectType"], "KalturaESearchHighlight");
    let page2 = search(
        json!({"operator": 1, "searchItems": [unified("cats", 2)]}),
        json!({"pageSize": 2, "pageIndex": 2}),
    )
    .await;
    assert_eq!(page2["objects"].as_array().unwrap().len(), 1);
    assert_eq!(page2["totalCount"], 3);

    // Python style: strings. OR of two tags, EXACT_MATCH on tags.
    let v = search(
        json!({"operator": "2", "searchItems": [field("tags", "kubernetes", 1), field("tags", "cooking", 1)]}),
        json!({"pageSize": "50"}),
    )
    .await;
    assert_eq!(v["totalCount"], 6, "{v}");

    // AND with NOT.
    let v = search(
        json!({"operator": 1, "searchItems": [
            field("tags", "rust", 1),
            {"objectType": "KalturaESearchEntryOperator", "operator": 3, "searchItems": [field("name", "tokio", 2)]}
        ]}),
        json!({"pageSize": 50}),
    )
    .await;
    assert_eq!(v["totalCount"], 3, "{v}");
    for o in v["objects"].as_array().unwrap() {
        assert!(
            o["object"]["name"]
                .as_str()
                .unwrap()
                .starts_with("Rust Ownership")
        );
    }

    // STARTS_WITH and EXISTS.
    let v = search(
        json!({"operator": 1, "searchItems": [field("name", "quarterly", 3)]}),
        json!({}),
    )
    .await;
    assert_eq!(v["totalCount"], 3);
    let hl = &v["objects"][0]["highlight"][0]["hits"][0]["value"];
    assert!(
        hl.as_str().unwrap().starts_with("<em>Quarterly</em>"),
        "{hl}"
    );
    let v = search(
        json!({"operator": 1, "searchItems": [field("reference_id", "", 4)]}),
        json!({"pageSize": 1}),
    )
    .await;
    assert_eq!(v["totalCount"], DEMO_ENTRY_COUNT);

    // No match.
    let v = search(
        json!({"operator": 1, "searchItems": [unified("zebra", 2)]}),
        json!({}),
    )
    .await;
    assert_eq!(v["totalCount"], 0);
    assert_eq!(v["objects"], json!([]));

    // orderBy name asc.
    let v = api
        .admin(
            "elasticsearch_esearch",
            "searchEntry",
            json!({"searchParams": {
                "searchOperator": {"operator": 1, "searchItems": [unified("rust", 2)]},
                "orderBy": {"orderItems": [{"sortField": "name", "sortOrder": "asc"}]}
            }}),
        )
        .await;
    assert_eq!(v["objects"][0]["object"]["name"], "Async Rust with Tokio");
    let v = api
        .admin("elasticsearch_esearch", "searchEntry", json!({}))
        .await;
    assert_eq!(v["code"], "MISSING_MANDATORY_PARAMETER");
}

#[tokio::test]
async fn schedule_and_virtual_events() {
    let api = Api::start().await;
    let room = api
        .admin("schedule_scheduleresource", "add", json!({"scheduleResource": {"objectType": "KalturaLocationScheduleResource", "name": "Room", "tags": "vcprovider:newrow"}}))
        .await;
    assert_eq!(room["objectType"], "KalturaLocationScheduleResource");
    assert_eq!(room["status"], 2);
    let event = api
        .admin(
            "schedule_scheduleevent",
            "add",
            json!({"scheduleEvent": {"objectType": "KalturaRecordScheduleEvent", "summary": "Class", "startDate": "1700000000", "endDate": 1700003600, "recurrenceType": 0}}),
        )
        .await;
    assert_eq!(event["startDate"], 1_700_000_000);
    assert_eq!(event["duration"], 3600);
    let link = api
        .admin(
            "schedule_scheduleeventresource",
            "add",
            json!({"scheduleEventResource": {"eventId": event["id"], "resourceId": room["id"]}}),
        )
        .await;
    assert_eq!(link["objectType"], "KalturaScheduleEventResource");
    let dup = api
        .admin(
            "schedule_scheduleeventresource",
            "add",
            json!({"scheduleEventResource": {"eventId": event["id"], "resourceId": room["id"]}}),
        )
        .await;
    assert_eq!(dup["code"], "SCHEDULE_EVENT_RESOURCE_ALREADY_EXISTS");
    let list = api
        .admin(
            "schedule_scheduleeventresource",
            "list",
            json!({"filter": {"eventIdEqual": event["id"]}}),
        )
        .await;
    assert_eq!(list["totalCount"], 1);
    let v = api
        .admin(
            "schedule_scheduleevent",
            "get",
            json!({"scheduleEventId": "999999"}),
        )
        .await;
    assert_error(
        &v,
        "SCHEDULE_EVENT_ID_NOT_FOUND",
        "Schedule Event id [999999] not found",
        json!({"ID": "999999"}),
    );
    let v = api
        .admin(
            "schedule_scheduleevent",
            "get",
            json!({"scheduleEventId": "../../etc"}),
        )
        .await;
    assert_eq!(v["code"], "SCHEDULE_EVENT_ID_NOT_FOUND");

    let ve = api
        .admin(
            "virtualevent_virtualevent",
            "add",
            json!({"virtualEvent": {"name": "Summit"}}),
        )
        .await;
    assert_eq!(ve["objectType"], "KalturaVirtualEvent");
    let v = api
        .admin(
            "virtualevent_virtualevent",
            "delete",
            json!({"id": ve["id"]}),
        )
        .await;
    assert_eq!(v, Value::Null);
    let v = api
        .admin("virtualevent_virtualevent", "get", json!({"id": ve["id"]}))
        .await;
    assert_eq!(v["code"], "VIRTUAL_EVENT_NOT_FOUND");

    let t = api
        .admin("eventnotification_eventnotificationtemplate", "add", json!({"eventNotificationTemplate": {"objectType": "KalturaHttpNotificationTemplate", "name": "hook", "url": "http://x/y", "method": "2"}}))
        .await;
    assert_eq!(t["status"], 1);
    assert_eq!(t["method"], 2);
    let v = api
        .admin(
            "eventnotification_eventnotificationtemplate",
            "updateStatus",
            json!({"id": t["id"], "status": 2}),
        )
        .await;
    assert_eq!(v["status"], 2);
}

// --- hostile input -----------------------------------------------------------------------

#[tokio::test]
async fn hostile_input_never_breaks_the_server() {
    let api = Api::start().await;
    let ks = api.fake.admin_ks();
    let long = "a".repeat(200_000);
    for id in [
        "../../etc/passwd",
        "0_nope'; DROP TABLE entry;--",
        long.as_str(),
        "%00",
        "<script>",
    ] {
        let v = api.admin("media", "get", json!({"entryId": id})).await;
        assert_eq!(v["code"], "ENTRY_ID_NOT_FOUND");
        assert_eq!(v["args"]["ENTRY_ID"], id);
    }
    // Same through the path, percent-encoded.
    let (status, body) = api
        .raw(api.http.get(format!(
            "{}/api_v3/service/media/action/get/entryId/..%2F..%2Fetc/ks/{ks}/format/1",
            api.fake.url()
        )))
        .await;
    assert_eq!(status, 200);
    assert!(
        body.contains("ENTRY_ID_NOT_FOUND") && body.contains("../../etc"),
        "{body}"
    );

    // Malformed JSON is ignored like the real server does: no params, so no KS.
    for bad in ["{\"ks\": ", "{\"a\":1}}}", "{\u{0}}", "[1,2,3]"] {
        let (status, body) = api
            .raw(
                api.http
                    .post(format!("{}?format=1", api.url("media", "list")))
                    .header("content-type", "application/json")
                    .body(bad),
            )
            .await;
        assert_eq!(status, 200);
        assert!(body.contains("MISSING_KS"), "{bad}: {body}");
    }
    // Deeply nested JSON.
    let deep = format!(
        "{{\"ks\":\"{ks}\",\"filter\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (status, _) = api
        .raw(
            api.http
                .post(format!("{}?format=1", api.url("media", "list")))
                .header("content-type", "application/json")
                .body(deep),
        )
        .await;
    assert_eq!(status, 200);
    // Deep form keys.
    let deep_key = format!("{}x", "a:".repeat(50_000));
    let (status, _) = api
        .raw(
            api.http
                .post(format!("{}?format=2", api.url("media", "list")))
                .form(&[(deep_key.as_str(), "1"), ("ks", ks.as_str())]),
        )
        .await;
    assert_eq!(status, 200);
    // Invalid UTF-8 and control characters.
    let (status, body) = api
        .raw(
            api.http
                .post(api.url("media", "get"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("ks={ks}&entryId=%FF%FE%01x").into_bytes()),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("<?xml") && body.contains("ENTRY_ID_NOT_FOUND"),
        "{body}"
    );

    // 2 MiB body → 413, and the server keeps working.
    let big = vec![b'a'; 2 * 1024 * 1024];
    let (status, _) = api
        .raw(
            api.http
                .post(api.url("media", "list"))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(status, 413);
    let v = api.admin("media", "list", json!({})).await;
    assert_eq!(v["objectType"], "KalturaMediaListResponse");
}

#[tokio::test]
async fn failure_injection() {
    let api = Api::start().await;
    api.fake.fail_next(1, Failure::Status(503));
    api.fake.fail_next(1, Failure::Html(200));
    api.fake
        .fail_next(1, Failure::Latency(Duration::from_millis(1)));
    let (status, body) = api.raw(api.http.post(api.url("media", "list"))).await;
    assert_eq!(status, 503);
    assert!(body.contains("503"));
    let resp = api
        .http
        .post(api.url("media", "list"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(resp.text().await.unwrap().starts_with("<!DOCTYPE html>"));
    let v = api
        .call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345}),
        )
        .await;
    assert!(v.is_string());
    api.fake.fail_next(5, Failure::Status(500));
    api.fake.clear_failures();
    let v = api
        .call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345}),
        )
        .await;
    assert!(v.is_string());
}

#[tokio::test]
async fn error_header_is_set() {
    let api = Api::start().await;
    let resp = api
        .http
        .post(api.url("media", "list"))
        .json(&json!({"format": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-kaltura"], "error-MISSING_KS");
    assert_eq!(resp.headers()["content-type"], "application/json");
}

// --- the official Python client ----------------------------------------------------------

#[tokio::test]
#[allow(clippy::print_stderr)] // the skip notice is the point
async fn official_python_client_works_against_the_fake() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests/official_clients/python_client.py");
    let probe = tokio::task::spawn_blocking(|| {
        std::process::Command::new("python3")
            .args(["-c", "import KalturaClient, lxml"])
            .output()
    })
    .await
    .expect("probe task");
    let available = matches!(&probe, Ok(out) if out.status.success());
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the official client: pip install KalturaApiClient==23.10.0 lxml pycryptodome"
        );
        eprintln!(
            "skipping: official Kaltura Python client not installed (pip install KalturaApiClient lxml pycryptodome)"
        );
        return;
    }
    let api = Api::demo().await;
    let args = [
        script.to_string_lossy().into_owned(),
        api.fake.url().to_owned(),
        api.fake.partner_id().to_string(),
        ADMIN_SECRET.to_owned(),
    ];
    // Blocking pool: the fake server keeps running on the test's runtime meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(args).output()
    })
    .await
    .expect("python task")
    .expect("python3 runs");
    assert!(
        out.status.success(),
        "python client failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
#[allow(clippy::print_stderr)] // the skip notice is the point
async fn official_node_client_works_against_the_fake() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests/official_clients");
    let script = dir.join("node_client.js").to_string_lossy().into_owned();
    let probe_dir = dir.clone();
    let probe = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(["-e", "require('kaltura-client')"])
            .current_dir(probe_dir)
            .output()
    })
    .await
    .expect("probe task");
    if !matches!(&probe, Ok(out) if out.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install node and the official client: npm install --prefix tests/official_clients kaltura-client@21.20.0 ({probe:?})"
        );
        eprintln!(
            "skipping: node or the official Kaltura Node client is not installed (npm install --prefix tests/official_clients kaltura-client@21.20.0)"
        );
        return;
    }
    let api = Api::demo().await;
    let args = [
        script,
        api.fake.url().to_owned(),
        api.fake.partner_id().to_string(),
        ADMIN_SECRET.to_owned(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(args)
            .current_dir(dir)
            .output()
    })
    .await
    .expect("node task")
    .expect("node runs");
    assert!(
        out.status.success(),
        "node client failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- this crate's own client -------------------------------------------------------------

#[tokio::test]
async fn own_client_with_admin_secret_and_app_token() {
    let api = Api::demo().await;
    let client = kaltura_client::Client::builder()
        .service_url(api.fake.url())
        .partner_id(12345)
        .admin_secret(SecretString::from(ADMIN_SECRET))
        .build()
        .expect("client");
    let list = client
        .call_raw("media", "list", json!({"filter": {"nameLike": "cats"}}))
        .await
        .expect("media.list");
    assert_eq!(list["totalCount"], 3);
    let err = client
        .call_raw("media", "get", json!({"entryId": "0_nope"}))
        .await
        .expect_err("unknown entry");
    assert_eq!(
        err.api_code(),
        Some(&kaltura_client::ErrorCode::EntryIdNotFound)
    );
    assert_eq!(
        err.as_api()
            .unwrap()
            .args
            .get("ENTRY_ID")
            .map(String::as_str),
        Some("0_nope")
    );

    let mut batch = client.multirequest();
    let first = batch.add_raw("media", "list", json!({"filter": {"nameLike": "tokio"}}));
    let second = batch.add_raw(
        "media",
        "get",
        json!({"entryId": first.field("objects:0:id")}),
    );
    let missing = batch.add_raw("media", "get", json!({"entryId": "0_nope"}));
    let out = batch.send().await.expect("multirequest");
    let listed = out.get(&first).unwrap();
    assert_eq!(out.get(&second).unwrap()["id"], listed["objects"][0]["id"]);
    assert_eq!(
        out.get(&missing).unwrap_err().api_code(),
        Some(&kaltura_client::ErrorCode::EntryIdNotFound)
    );

    // Application token credentials: startWidgetSession + appToken.startSession.
    let token = api
        .admin(
            "appToken",
            "add",
            json!({"appToken": {"sessionType": 2, "sessionUserId": "bot"}}),
        )
        .await;
    let with_token = kaltura_client::Client::builder()
        .service_url(api.fake.url())
        .partner_id(12345)
        .app_token(
            token["id"].as_str().unwrap(),
            SecretString::from(token["token"].as_str().unwrap()),
        )
        .build()
        .expect("client");
    let info = with_token
        .call_raw("session", "get", json!({}))
        .await
        .expect("session.get with the app-token KS");
    assert_eq!(info["userId"], "bot");
    assert_eq!(info["sessionType"], 2);
}
