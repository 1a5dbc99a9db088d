//! The fake-server test set-up shared by the fake's tests: a [`FakeKaltura`] with known
//! secrets plus a `reqwest` client, and assertions on Kaltura errors.

use kaltura_client::fake::{FakeKaltura, FakeKalturaBuilder};
use serde_json::{Value, json};

pub(crate) const ADMIN_SECRET: &str = "admin-secret-0123456789abcdef";
pub(crate) const USER_SECRET: &str = "user-secret-0123456789abcdef";
pub(crate) const NOW: i64 = 1_700_000_000;

/// A fake server with the test secrets and an HTTP client to talk to it.
pub(crate) struct Api {
    pub(crate) fake: FakeKaltura,
    pub(crate) http: reqwest::Client,
}

impl Api {
    pub(crate) async fn start() -> Api {
        Api::with(FakeKaltura::builder()).await
    }

    pub(crate) async fn demo() -> Api {
        Api::with(FakeKaltura::builder().seed_demo_data(true)).await
    }

    pub(crate) async fn with(builder: FakeKalturaBuilder) -> Api {
        let fake = builder
            .admin_secret(ADMIN_SECRET)
            .user_secret(USER_SECRET)
            .start()
            .await
            .expect("fake kaltura starts");
        Api {
            fake,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn url(&self, service: &str, action: &str) -> String {
        format!(
            "{}/api_v3/service/{service}/action/{action}",
            self.fake.url()
        )
    }

    /// JSON body, `format: 1`, JSON response.
    pub(crate) async fn call(&self, service: &str, action: &str, mut params: Value) -> Value {
        params["format"] = json!(1);
        self.http
            .post(self.url(service, action))
            .json(&params)
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON response")
    }

    /// Like `call` with the admin KS added.
    pub(crate) async fn admin(&self, service: &str, action: &str, mut params: Value) -> Value {
        params["ks"] = json!(self.fake.admin_ks());
        self.call(service, action, params).await
    }

    /// POSTs a JSON multirequest body (add `"format": 1` for JSON) and parses the answer.
    pub(crate) async fn multirequest(&self, body: &Value) -> Value {
        self.http
            .post(format!("{}/api_v3/service/multirequest", self.fake.url()))
            .json(body)
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON response")
    }

    pub(crate) async fn raw(&self, req: reqwest::RequestBuilder) -> (u16, String) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }
}

#[track_caller]
pub(crate) fn assert_error(v: &Value, code: &str, message: &str, args: Value) {
    assert_eq!(v["objectType"], "KalturaAPIException", "not an error: {v}");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["message"], message, "{v}");
    assert_eq!(v["args"], args, "{v}");
}

pub(crate) fn ks_str(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a KS string, got {v}"))
        .to_owned()
}
