//! `user.loginByLoginId` against the fake server: the KS it returns, Kaltura's refusals and
//! lockout, and the password kept out of `Debug`, errors and logs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kaltura_client::fake::{DEMO_USERS, FakeClock, FakeKaltura, LoginLockout};
use kaltura_client::ks::{KsSigner, SessionType};
use kaltura_client::{Client, Error, ErrorCode};
use secrecy::SecretString;

use crate::fake_support::{ADMIN_SECRET, Api, NOW};

/// A client of `fake` with no credentials at all: a login needs none.
fn anonymous_client(fake: &FakeKaltura) -> Client {
    Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .build()
        .unwrap()
}

fn demo(id: &str) -> kaltura_client::fake::DemoUser {
    *DEMO_USERS.iter().find(|u| u.id == id).unwrap()
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

#[tokio::test]
async fn the_right_password_returns_a_ks_the_fake_verifies_for_that_user() {
    let api = Api::with(
        FakeKaltura::builder()
            .seed_demo_data(true)
            .clock(FakeClock::fixed(NOW)),
    )
    .await;
    let client = anonymous_client(&api.fake);
    let alice = demo("alice");
    let ks = client
        .user()
        .login_by_login_id(alice.email, secret(alice.password))
        .expiry(Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    // Signed with the partner's admin secret, for user `alice` (not the login id), USER.
    let decoded = KsSigner::new(&secret(ADMIN_SECRET))
        .decode(ks.expose_secret())
        .unwrap();
    assert_eq!(decoded.user_id, "alice");
    assert_eq!(decoded.session_type, SessionType::User);
    assert_eq!(decoded.partner_id, api.fake.partner_id());
    assert_eq!(decoded.valid_until, NOW + 600);
    // The fake accepts it: `session.get` names the user, and a USER session reads itself.
    let as_alice = client.with_ks(ks.clone());
    let info = as_alice.session().get_current().await.unwrap();
    assert_eq!(info.user_id.as_ref().map(|u| u.as_str()), Some("alice"));
    let me = as_alice.user().get("alice").await.unwrap();
    assert_eq!(me.email.as_deref(), Some("alice@example.com"));
    // The login id is compared without case; an admin user signs in to an ADMIN session.
    let admin = demo("admin");
    let ks = client
        .user()
        .login_by_login_id(admin.email.to_uppercase(), secret(admin.password))
        .send()
        .await
        .unwrap();
    let decoded = KsSigner::new(&secret(ADMIN_SECRET))
        .decode(ks.expose_secret())
        .unwrap();
    assert_eq!(
        (decoded.user_id.as_str(), decoded.session_type),
        ("admin", SessionType::Admin)
    );
    assert_eq!(decoded.valid_until, NOW + 86_400, "Kaltura's default: 24 h");
    // The KS is a secret: `Debug` does not show it.
    assert!(!format!("{ks:?}").contains(ks.expose_secret()));
}

#[tokio::test]
async fn kalturas_refusals_come_back_as_matchable_codes() {
    let api = Api::demo().await;
    let client = anonymous_client(&api.fake);
    let bob = demo("bob");
    let code = |r: Result<kaltura_client::ks::Ks, Error>| r.unwrap_err().api_code().cloned();
    // Kaltura tells a wrong password and an unknown login id apart.
    assert_eq!(
        code(
            client
                .user()
                .login_by_login_id(bob.email, secret("not-the-password"))
                .send()
                .await
        ),
        Some(ErrorCode::UserWrongPassword)
    );
    assert_eq!(
        code(
            client
                .user()
                .login_by_login_id("nobody@example.com", secret(bob.password))
                .send()
                .await
        ),
        Some(ErrorCode::UserNotFound)
    );
    // Another user's password is a wrong password.
    assert_eq!(
        code(
            client
                .user()
                .login_by_login_id(bob.email, secret(demo("carol").password))
                .send()
                .await
        ),
        Some(ErrorCode::UserWrongPassword)
    );
    // Another partner: no user of that partner for the login.
    assert_eq!(
        code(
            client
                .user()
                .login_by_login_id(bob.email, secret(bob.password))
                .partner_id(999)
                .send()
                .await
        ),
        Some(ErrorCode::UserNotFound)
    );
    // A blocked user (status 0) cannot sign in; a deleted one is not found.
    let admin = api.fake.admin_ks();
    let as_admin = client.with_ks(admin.into());
    as_admin
        .user()
        .update("bob")
        .status(kaltura_client::types::user::UserStatus::Blocked)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            client
                .user()
                .login_by_login_id(bob.email, secret(bob.password))
                .send()
                .await
        ),
        Some(ErrorCode::UserIsBlocked)
    );
    as_admin.user().delete("bob").await.unwrap();
    assert_eq!(
        code(
            client
                .user()
                .login_by_login_id(bob.email, secret(bob.password))
                .send()
                .await
        ),
        Some(ErrorCode::UserNotFound)
    );
    // The message is Kaltura's own.
    let err = client
        .user()
        .login_by_login_id(demo("carol").email, secret("nope-nope"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_api().map(|a| a.message.as_str()),
        Some("Wrong password supplied")
    );
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_login_like_kaltura() {
    let clock = FakeClock::fixed(NOW);
    let api = Api::with(
        FakeKaltura::builder()
            .seed_demo_data(true)
            .clock(clock.clone())
            .login_lockout(LoginLockout::new(3, Duration::from_secs(3600))),
    )
    .await;
    let client = anonymous_client(&api.fake);
    let carol = demo("carol");
    let attempt = |password: &'static str| {
        let client = client.clone();
        async move {
            client
                .user()
                .login_by_login_id(carol.email, secret(password))
                .send()
                .await
                .map_err(|e| e.api_code().cloned())
        }
    };
    assert_eq!(
        attempt("wrong-1").await.unwrap_err(),
        Some(ErrorCode::UserWrongPassword)
    );
    assert_eq!(
        attempt("wrong-2").await.unwrap_err(),
        Some(ErrorCode::UserWrongPassword)
    );
    // The third failure in a row reaches the limit and locks the login.
    assert_eq!(
        attempt("wrong-3").await.unwrap_err(),
        Some(ErrorCode::LoginRetriesExceeded)
    );
    // While locked, even the right password is refused.
    assert_eq!(
        attempt(carol.password).await.unwrap_err(),
        Some(ErrorCode::LoginBlocked)
    );
    assert_eq!(
        attempt("wrong-4").await.unwrap_err(),
        Some(ErrorCode::LoginBlocked)
    );
    clock.advance(Duration::from_secs(3600));
    assert!(
        attempt(carol.password).await.is_ok(),
        "unlocked after the period"
    );
    // A success resets the counter: two more failures do not lock.
    for _ in 0..2 {
        assert_eq!(
            attempt("wrong").await.unwrap_err(),
            Some(ErrorCode::UserWrongPassword)
        );
    }
    assert!(attempt(carol.password).await.is_ok());
}

#[tokio::test]
async fn any_user_can_get_a_login() {
    let api = Api::demo().await;
    let client = anonymous_client(&api.fake);
    api.fake
        .set_user_login("discord_42", "Teacher@School.example", &secret("N3w-Pass!"))
        .unwrap();
    let ks = client
        .user()
        .login_by_login_id("teacher@school.example", secret("N3w-Pass!"))
        .send()
        .await
        .unwrap();
    let info = client.with_ks(ks).session().get_current().await.unwrap();
    assert_eq!(
        info.user_id.as_ref().map(|u| u.as_str()),
        Some("discord_42")
    );
    // The user's old login is gone.
    let dee = demo("discord_42");
    let err = client
        .user()
        .login_by_login_id(dee.email, secret(dee.password))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(&ErrorCode::UserNotFound));
    assert!(matches!(
        api.fake.set_user_login("nobody", "x@y.z", &secret("pw")),
        Err(e) if e.code == ErrorCode::InvalidUserId
    ));
}

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn the_password_is_in_no_debug_error_or_log() {
    const PASSWORD: &str = "Pw-Never-Shown-7731";
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests of this binary run on other threads without a subscriber. With a single
    // registered dispatcher, tracing-core computes a call site's interest from the thread
    // that reaches it first, and would cache "never" for the client's call sites; a second
    // live dispatcher makes it ask every dispatcher, this thread's included.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::callsite::rebuild_interest_cache();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut shown = String::new();
    runtime.block_on(async {
        let api = Api::demo().await;
        let client = anonymous_client(&api.fake);
        // A wrong password, a refused login id, and an answer that echoes the password (a
        // misbehaving proxy): none of the errors shows it.
        for login in ["alice@example.com", "nobody@example.com"] {
            let builder = client.user().login_by_login_id(login, secret(PASSWORD));
            shown.push_str(&format!("{builder:?}"));
            let err = builder.send().await.unwrap_err();
            shown.push_str(&format!("{err} {err:?}"));
        }
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(
                wiremock::ResponseTemplate::new(500)
                    .set_body_string(format!("internal error while checking password {PASSWORD}")),
            )
            .mount(&server)
            .await;
        let echoing = Client::builder()
            .service_url(server.uri())
            .partner_id(1)
            .build()
            .unwrap();
        let err = echoing
            .user()
            .login_by_login_id("alice@example.com", secret(PASSWORD))
            .send()
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("[REDACTED]"), "{text}");
        shown.push_str(&text);
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "objectType": "KalturaAPIException",
                    "code": "USER_WRONG_PASSWORD",
                    "message": format!("Wrong password {PASSWORD}"),
                    "args": {"PASSWORD": PASSWORD},
                })),
            )
            .with_priority(1)
            .mount(&server)
            .await;
        let err = echoing
            .user()
            .login_by_login_id("alice@example.com", secret(PASSWORD))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.api_code(), Some(&ErrorCode::UserWrongPassword));
        shown.push_str(&format!("{err} {err:?}"));
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("loginByLoginId"),
        "the calls were logged: {logs}"
    );
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!logs.contains(PASSWORD), "{logs}");
}
