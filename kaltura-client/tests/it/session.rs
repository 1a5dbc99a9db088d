//! The managed admin KS, fixed KSs, the `session` service and secret hygiene.

use std::time::Duration;

use kaltura_client::ks::{self, Ks, KsVersion, SessionType};
use kaltura_client::{Client, Credentials, Error};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer};

use crate::client_support::{
    MockClock, NOW, PARTNER, SECRET, USER_KS, admin_client, bodies, builder, json,
};

fn secret() -> SecretString {
    SecretString::from(SECRET)
}

#[tokio::test]
async fn the_admin_ks_is_generated_locally_and_decodes_with_the_secret() {
    let server = MockServer::start().await;
    let clock = MockClock::at(NOW);
    let client = builder(&server)
        .admin_secret(SECRET)
        .clock(clock.clone())
        .build()
        .unwrap();

    let ks = client.current_ks().await.unwrap().unwrap();

    let decoded = ks::decode(ks.expose_secret(), &secret()).unwrap();
    assert_eq!(decoded.partner_id.get(), PARTNER);
    assert_eq!(decoded.session_type, SessionType::Admin);
    assert_eq!(decoded.version, KsVersion::V2);
    assert_eq!(decoded.valid_until, NOW + 24 * 3600);
    assert!(decoded.privileges.contains("disableentitlement"));
    assert!(bodies(&server).await.is_empty(), "no round trip");
}

#[tokio::test]
async fn the_admin_ks_follows_the_configured_version_expiry_and_user() {
    let server = MockServer::start().await;
    let client = builder(&server)
        .credentials(Credentials::AdminSecret {
            secret: secret(),
            ks_version: Some(KsVersion::V1),
        })
        .admin_ks_expiry(Duration::from_secs(600))
        .admin_ks_user_id("discord-bot")
        .admin_ks_privileges("disableentitlement,privacycontext:discord".parse().unwrap())
        .clock(MockClock::at(NOW))
        .build()
        .unwrap();

    let ks = client.current_ks().await.unwrap().unwrap();

    let decoded = ks::decode(ks.expose_secret(), &secret()).unwrap();
    assert_eq!(decoded.version, KsVersion::V1);
    assert_eq!(decoded.valid_until, NOW + 600);
    assert_eq!(decoded.user_id, "discord-bot");
    assert!(decoded.privileges.contains("privacycontext"));
}

#[tokio::test]
async fn the_admin_ks_is_reused_then_renewed_near_its_expiry() {
    let server = MockServer::start().await;
    let clock = MockClock::at(NOW);
    let client = builder(&server)
        .admin_secret(SECRET)
        .admin_ks_expiry(Duration::from_secs(3600))
        .clock(clock.clone())
        .build()
        .unwrap();

    let first = client.current_ks().await.unwrap().unwrap();
    // A clone shares the cache.
    let again = client.clone().current_ks().await.unwrap().unwrap();
    assert_eq!(first.expose_secret(), again.expose_secret());

    // A one-hour KS is renewed once less than 6 minutes (10 %) remain.
    clock.advance(3600 - 361);
    let still = client.current_ks().await.unwrap().unwrap();
    assert_eq!(first.expose_secret(), still.expose_secret());

    clock.advance(1);
    let renewed = client.current_ks().await.unwrap().unwrap();
    assert_ne!(first.expose_secret(), renewed.expose_secret());
    let decoded = ks::decode(renewed.expose_secret(), &secret()).unwrap();
    assert_eq!(decoded.valid_until, NOW + 3600 - 360 + 3600);
}

#[tokio::test]
async fn concurrent_callers_share_one_admin_ks() {
    let server = MockServer::start().await;
    let client = admin_client(&server);

    let handles: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.current_ks().await.unwrap().unwrap() })
        })
        .collect();
    let mut kss = Vec::new();
    for handle in handles {
        kss.push(handle.await.unwrap().expose_secret().to_owned());
    }
    kss.dedup();
    assert_eq!(kss.len(), 1);
}

#[tokio::test]
async fn with_ks_sends_the_fixed_ks_and_keeps_the_original_client() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(json!({})))
        .mount(&server)
        .await;
    let admin = admin_client(&server);
    let user = admin.with_ks(Ks::new(USER_KS));

    assert_eq!(
        user.current_ks().await.unwrap().unwrap().expose_secret(),
        USER_KS
    );
    user.call_raw("media", "list", json!({})).await.unwrap();
    admin.call_raw("media", "list", json!({})).await.unwrap();

    let sent = bodies(&server).await;
    assert_eq!(sent[0]["ks"], USER_KS);
    assert_ne!(sent[1]["ks"], USER_KS);
    assert_eq!(user.partner_id(), admin.partner_id());
    assert_eq!(user.service_url(), server.uri());
}

#[tokio::test]
async fn a_fixed_ks_credential_and_no_credentials() {
    let server = MockServer::start().await;
    let fixed = builder(&server).ks(Ks::new(USER_KS)).build().unwrap();
    assert_eq!(
        fixed.current_ks().await.unwrap().unwrap().expose_secret(),
        USER_KS
    );
    let anonymous = builder(&server).build().unwrap();
    assert!(anonymous.current_ks().await.unwrap().is_none());
}

#[tokio::test]
async fn session_start_without_a_secret_is_a_build_error() {
    let server = MockServer::start().await;
    let client = builder(&server).build().unwrap();

    let err = client.session().start().send().await.unwrap_err();

    assert!(matches!(err, Error::Build { .. }), "{err:?}");
    assert!(bodies(&server).await.is_empty());
}

#[tokio::test]
async fn session_start_with_an_explicit_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/session/action/start"))
        .and(body_partial_json(
            json!({"secret": "user-secret", "partnerId": 777}),
        ))
        .respond_with(json(json!("djJ8Nzc3")))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let ks = client
        .session()
        .start()
        .secret("user-secret")
        .partner_id(777)
        .send()
        .await
        .unwrap();

    assert_eq!(ks.expose_secret(), "djJ8Nzc3");
}

#[tokio::test]
async fn start_widget_session_defaults_to_the_partner_widget() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/session/action/startWidgetSession"))
        .and(body_partial_json(
            json!({"widgetId": "_12345", "expiry": 600}),
        ))
        .respond_with(json(json!({
            "partnerId": 12345,
            "ks": "djJ8V0lER0VU",
            "userId": 0,
            "objectType": "KalturaStartWidgetSessionResponse"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let widget = client
        .session()
        .start_widget_session()
        .expiry(Duration::from_secs(600))
        .send()
        .await
        .unwrap();

    assert_eq!(widget.partner_id.get(), PARTNER);
    assert_eq!(widget.ks.expose_secret(), "djJ8V0lER0VU");
    assert!(
        bodies(&server).await[0].get("ks").is_none(),
        "anonymous call"
    );
}

#[tokio::test]
async fn session_end_forgets_the_managed_ks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/session/action/end"))
        .respond_with(json(serde_json::Value::Null))
        .expect(1)
        .mount(&server)
        .await;
    let client = admin_client(&server);
    let before = client.current_ks().await.unwrap().unwrap();

    client.session().end().await.unwrap();

    assert_eq!(bodies(&server).await[0]["ks"], before.expose_secret());
    let after = client.current_ks().await.unwrap().unwrap();
    assert_ne!(before.expose_secret(), after.expose_secret());
}

#[tokio::test]
async fn debug_output_never_shows_secrets() {
    let server = MockServer::start().await;
    let token = "apptoken-secret-value-0123456789";
    let builders = [
        builder(&server).admin_secret(SECRET),
        builder(&server).app_token("0_tokenid", token),
        builder(&server).ks(Ks::new(USER_KS)),
    ];
    for b in builders {
        let shown = format!("{b:?}");
        for secret in [SECRET, token, USER_KS] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let client = b.build().unwrap();
        let with_user = client.with_ks(Ks::new(USER_KS));
        // (An app-token client would need a server round trip for its KS.)
        let current = match client.credentials() {
            Credentials::AppToken { .. } => None,
            _ => client.current_ks().await.unwrap(),
        };
        for shown in [
            format!("{client:?}"),
            format!("{:#?}", client.credentials()),
            format!("{with_user:?}"),
            format!("{current:?}"),
        ] {
            for secret in [SECRET, token, USER_KS] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
        assert!(format!("{:?}", client.session().start().secret(SECRET)).contains("REDACTED"));
    }
    let credentials = Credentials::app_token("0_tokenid", token);
    assert!(format!("{credentials:?}").contains("0_tokenid"));
    assert!(!format!("{credentials:?}").contains(token));
    let _ = Client::builder();
}
