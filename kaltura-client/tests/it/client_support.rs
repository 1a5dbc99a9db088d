//! Helpers shared by the client tests: a controllable clock, a client wired to a
//! `wiremock` server, and access to what the server received.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use kaltura_client::clock::Clock;
use kaltura_client::{Client, ClientBuilder, RetryPolicy};
use serde_json::Value;
use wiremock::{MockServer, ResponseTemplate};

/// The partner of every test.
pub(crate) const PARTNER: i64 = 12345;

/// The admin secret of the test partner (the one of the official KS test vectors).
pub(crate) const SECRET: &str = "abcdef0123456789abcdef0123456789";

/// A fixed user KS for `with_ks` tests.
pub(crate) const USER_KS: &str = "djJ8MTIzNDV8VVNFUktT";

/// The client tag of every test client, so snapshots do not change with the crate version.
pub(crate) const CLIENT_TAG: &str = "kaltura-client-tests";

/// 2023-11-14T22:13:20Z, the `now` of the official KS test vectors.
pub(crate) const NOW: i64 = 1_700_000_000;

/// A clock the test moves by hand.
#[derive(Debug)]
pub(crate) struct MockClock(AtomicI64);

impl MockClock {
    pub(crate) fn at(now: i64) -> Arc<MockClock> {
        Arc::new(MockClock(AtomicI64::new(now)))
    }

    pub(crate) fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A builder pointed at `server`, with the test client tag, fast retries (no delay) and no
/// credentials.
pub(crate) fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .service_url(server.uri())
        .partner_id(PARTNER)
        .client_tag(CLIENT_TAG)
        .retry_policy(RetryPolicy::default().base_delay(Duration::ZERO))
}

/// A client authenticating with the test admin secret.
pub(crate) fn admin_client(server: &MockServer) -> Client {
    builder(server).admin_secret(SECRET).build().unwrap()
}

/// A 200 response with a JSON body, as Kaltura sends it.
pub(crate) fn json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// The JSON bodies of every request the server received, in order.
pub(crate) async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Snapshot settings: sorted keys, so snapshots do not depend on map ordering.
pub(crate) fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    settings
}
