//! The API gateway's router, driven with `oneshot` (and once over a real socket), against
//! the fake Kaltura server and SQLite: every endpoint, tokens, RBAC, hostile input,
//! problem+json, rate limits, middleware, OpenAPI and secrets.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kaltura_client::fake::{Failure, FakeClock, FakeKaltura};
use kaltura_client::{Client, ScheduleEventId};
use kaltura_discord::auth::{JwtAuthority, JwtKey, TokenSubject};
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::http::gateway::openapi::openapi_json;
use kaltura_discord::http::gateway::{
    CorsOptions, Gateway, GatewayOptions, GatewayState, RateLimits,
};
use kaltura_discord::rest::EventClosure;
use kaltura_discord::store::{GuildOverrideStore as _, MeetingStore as _, SqlStore};
use kaltura_discord::{DiscordUserId, Error, GuildId, RoleId, ScheduledEventId};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tower::ServiceExt as _;

use crate::support::{RecordingRest, RestCall};

const NOW: i64 = 1_800_000_000;
const JWT_SECRET: &str = "gateway-test-secret-of-at-least-32-bytes";

fn guild() -> GuildId {
    GuildId::new(613_425_648_685_547_541).unwrap()
}
fn other_guild() -> GuildId {
    GuildId::new(81_384_788_765_712_384).unwrap()
}
fn moderator_role() -> RoleId {
    RoleId::new(555_000_000_000_000_001).unwrap()
}
fn admin_role() -> RoleId {
    RoleId::new(555_000_000_000_000_002).unwrap()
}
const VIEWER: u64 = 1001;
const HOST: u64 = 2002;
const ADMIN: u64 = 3003;

struct Harness {
    fake: FakeKaltura,
    store: SqlStore,
    _t: crate::support::TestStore,
    authority: Arc<JwtAuthority>,
    router: Router,
    state: GatewayState,
}

fn account(fake: &FakeKaltura) -> KalturaAccount {
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap();
    KalturaAccount::new(client, fake.admin_secret())
        .unwrap()
        .with_media_base(fake.url())
        .unwrap()
}

fn authority(clock: &FakeClock) -> JwtAuthority {
    JwtAuthority::new(
        vec![JwtKey::new("k1", JWT_SECRET).unwrap()],
        "kaltura-discord",
        Duration::from_secs(900),
    )
    .unwrap()
    .with_clock(Arc::new(clock.clone()))
}

async fn harness() -> Harness {
    harness_with(GatewayOptions::default(), None).await
}

async fn harness_with(options: GatewayOptions, kaltura: Option<KalturaAccount>) -> Harness {
    harness_full(options, kaltura, None).await
}

/// The harness with a recording Discord REST client, and what it receives.
async fn harness_with_discord() -> (Harness, Arc<RecordingRest>, UnboundedReceiver<RestCall>) {
    let (rest, calls) = RecordingRest::new();
    let h = harness_full(GatewayOptions::default(), None, Some(rest.clone())).await;
    (h, rest, calls)
}

async fn harness_full(
    options: GatewayOptions,
    kaltura: Option<KalturaAccount>,
    rest: Option<Arc<RecordingRest>>,
) -> Harness {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let t = crate::support::sqlite().await;
    let store = t.store.clone();
    store
        .update_override(
            guild(),
            DiscordUserId::new(ADMIN).unwrap(),
            &|doc: &mut Map<String, Value>| {
                doc.insert(
                    "rbac".into(),
                    json!({"roles": {
                        moderator_role().to_string(): "moderator",
                        admin_role().to_string(): "admin",
                    }}),
                );
                Ok(())
            },
        )
        .await
        .unwrap();
    let clock = FakeClock::fixed(NOW);
    let resolver = Arc::new(
        ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap()
            .with_store(Arc::new(store.clone())),
    );
    let authority = Arc::new(authority(&clock));
    let mut builder = Gateway::builder()
        .resolver(resolver)
        .account(kaltura.unwrap_or_else(|| account(&fake)))
        .stores(Arc::new(store.clone()))
        .authority(authority.clone())
        .clock(Arc::new(clock))
        .options(options);
    if let Some(rest) = rest {
        builder = builder.rest(rest);
    }
    let gateway = builder.build().unwrap();
    let state = gateway.state().clone();
    Harness {
        fake,
        store,
        _t: t,
        authority,
        router: gateway.router(),
        state,
    }
}

impl Harness {
    fn token_for(&self, user: u64, guild: GuildId, roles: &[RoleId]) -> String {
        self.authority
            .issue(&TokenSubject {
                user: DiscordUserId::new(user).unwrap(),
                guild,
                roles: roles.to_vec(),
            })
            .unwrap()
            .expose()
            .to_owned()
    }

    fn viewer(&self) -> String {
        self.token_for(VIEWER, guild(), &[])
    }
    fn host(&self) -> String {
        self.token_for(HOST, guild(), &[moderator_role()])
    }
    fn admin(&self) -> String {
        self.token_for(ADMIN, guild(), &[admin_role()])
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/guilds/{}{rest}", guild())
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    json: Value,
}

impl Answer {
    /// Asserts a problem+json answer with this status and code; returns its body.
    fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.json["code"], code, "{}", self.text);
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert_eq!(
            self.json["type"],
            format!("urn:kaltura-discord:problem:{code}")
        );
        assert!(self.json["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.json["detail"].as_str().is_some_and(|t| !t.is_empty()));
        // The request id in the body is the one in the header.
        assert_eq!(
            self.json["request_id"].as_str().unwrap(),
            self.headers["x-request-id"].to_str().unwrap()
        );
        &self.json
    }
}

async fn start(h: &Harness, title: &str) -> Value {
    let a = h
        .call(
            Method::POST,
            &h.path("/meetings"),
            Some(&h.host()),
            Some(json!({"title": title, "type": "webinar", "duration_minutes": 60})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.json
}

async fn audit_actions(h: &Harness) -> Vec<String> {
    let a = h
        .call(
            Method::GET,
            &h.path("/audit?limit=100"),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn meetings_are_listed_started_fetched_joined_and_ended() {
    let h = harness().await;
    let list = h
        .call(Method::GET, &h.path("/meetings"), Some(&h.viewer()), None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.json, json!({"meetings": []}));

    // A viewer may not start one (start_meeting).
    h.call(
        Method::POST,
        &h.path("/meetings"),
        Some(&h.viewer()),
        Some(json!({"title": "Nope"})),
    )
    .await
    .problem(403, "denied");

    let meeting = start(&h, "Weekly sync").await;
    assert_eq!(meeting["title"], "Weekly sync");
    assert_eq!(meeting["type"], "webinar");
    assert_eq!(meeting["host"], HOST.to_string());
    assert_eq!(meeting["starts_at"], NOW);
    let id = meeting["id"].as_i64().unwrap();

    let list = h
        .call(Method::GET, &h.path("/meetings"), Some(&h.viewer()), None)
        .await;
    assert_eq!(list.json["meetings"][0]["id"], id);
    let got = h
        .call(
            Method::GET,
            &h.path(&format!("/meetings/{id}")),
            Some(&h.viewer()),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.json["title"], "Weekly sync");
    h.call(
        Method::GET,
        &h.path("/meetings/999999"),
        Some(&h.viewer()),
        None,
    )
    .await
    .problem(404, "not_found");

    // The viewer's own link, as an attendee; never cached.
    let join = h
        .call(
            Method::POST,
            &h.path(&format!("/meetings/{id}/join")),
            Some(&h.viewer()),
            None,
        )
        .await;
    assert_eq!(join.status, StatusCode::OK, "{}", join.text);
    assert_eq!(join.json["role"], "attendee");
    assert_eq!(join.json["meeting_id"], id);
    assert!(join.json["url"].as_str().unwrap().starts_with("http"));
    assert_eq!(join.headers[header::CACHE_CONTROL], "no-store");
    let host_join = h
        .call(
            Method::POST,
            &h.path(&format!("/meetings/{id}/join")),
            Some(&h.host()),
            None,
        )
        .await;
    assert_eq!(host_join.json["role"], "host");
    assert_ne!(host_join.json["url"], join.json["url"]);

    // The viewer may not end it; the host may.
    h.call(
        Method::POST,
        &h.path(&format!("/meetings/{id}/end")),
        Some(&h.viewer()),
        None,
    )
    .await
    .problem(403, "denied");
    let ended = h
        .call(
            Method::POST,
            &h.path(&format!("/meetings/{id}/end")),
            Some(&h.host()),
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    assert_eq!(ended.json["status"], "ended");
    assert_eq!(ended.json["ended_by"], HOST.to_string());
    h.call(
        Method::POST,
        &h.path(&format!("/meetings/{id}/end")),
        Some(&h.host()),
        None,
    )
    .await
    .problem(409, "conflict");
    h.call(
        Method::POST,
        &h.path(&format!("/meetings/{id}/join")),
        Some(&h.viewer()),
        None,
    )
    .await
    .problem(409, "conflict");

    let actions = audit_actions(&h).await;
    assert!(
        actions.contains(&"meeting_started".to_owned()),
        "{actions:?}"
    );
    assert!(actions.contains(&"meeting_ended".to_owned()), "{actions:?}");
}

/// The id the recording Discord REST gives every scheduled event.
const DISCORD_EVENT: u64 = 777_000_000_000_000_001;

/// Turns `meetings.discord_events` on for the guild, as an admin would.
async fn mirror_meetings(h: &Harness) {
    let a = h
        .call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"meetings": {"discord_events": true}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

async fn end(h: &Harness, id: i64) -> Answer {
    h.call(
        Method::POST,
        &h.path(&format!("/meetings/{id}/end")),
        Some(&h.host()),
        None,
    )
    .await
}

async fn recorded_event(h: &Harness, id: i64) -> Option<ScheduledEventId> {
    h.store
        .discord_event(guild(), h.fake.partner_id(), ScheduleEventId::new(id))
        .await
        .unwrap()
}

#[tokio::test]
async fn started_meetings_get_a_scheduled_event_that_ending_completes() {
    let (h, _rest, mut calls) = harness_with_discord().await;
    mirror_meetings(&h).await;
    let a = h
        .call(
            Method::POST,
            &h.path("/meetings"),
            Some(&h.host()),
            Some(json!({"title": "Town hall", "description": "Quarterly", "duration_minutes": 90})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let id = a.json["id"].as_i64().unwrap();
    match calls.try_recv().unwrap() {
        RestCall::CreateEvent(g, spec) => {
            assert_eq!(g, guild());
            assert_eq!(spec.name, "Town hall");
            assert_eq!(spec.description.as_deref(), Some("Quarterly"));
            // The public page, never a join link.
            assert_eq!(
                spec.location,
                format!("https://{}.kaf.kaltura.com/", h.fake.partner_id())
            );
            // Starting now: Discord wants a start in the future.
            assert_eq!(a.json["starts_at"], NOW);
            assert_eq!(spec.start_unix, NOW + 60);
            assert_eq!(spec.end_unix, a.json["ends_at"].as_i64().unwrap());
            assert_eq!(spec.end_unix, NOW + 90 * 60);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        recorded_event(&h, id).await.map(|e| e.get()),
        Some(DISCORD_EVENT)
    );

    let ended = end(&h, id).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    match calls.try_recv().unwrap() {
        RestCall::CloseEvent(g, event, closure) => {
            assert_eq!(g, guild());
            assert_eq!(event.get(), DISCORD_EVENT);
            assert_eq!(closure, EventClosure::Completed);
        }
        other => panic!("{other:?}"),
    }
    assert!(calls.try_recv().is_err());
}

#[tokio::test]
async fn a_meeting_ended_before_its_start_cancels_its_scheduled_event() {
    let (h, _rest, mut calls) = harness_with_discord().await;
    mirror_meetings(&h).await;
    let a = h
        .call(
            Method::POST,
            &h.path("/meetings"),
            Some(&h.host()),
            Some(json!({"title": "Later", "starts_at": NOW + 7200, "duration_minutes": 30})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    match calls.try_recv().unwrap() {
        RestCall::CreateEvent(_, spec) => {
            assert_eq!((spec.start_unix, spec.end_unix), (NOW + 7200, NOW + 9000));
        }
        other => panic!("{other:?}"),
    }
    let ended = end(&h, a.json["id"].as_i64().unwrap()).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    match calls.try_recv().unwrap() {
        RestCall::CloseEvent(_, _, closure) => assert_eq!(closure, EventClosure::Canceled),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn guilds_without_discord_events_leave_discord_alone() {
    let (h, _rest, mut calls) = harness_with_discord().await;
    let meeting = start(&h, "Quiet").await;
    let id = meeting["id"].as_i64().unwrap();
    assert_eq!(recorded_event(&h, id).await, None);
    assert_eq!(end(&h, id).await.status, StatusCode::OK);
    assert!(calls.try_recv().is_err(), "no Discord call");

    // Without a Discord REST client, the setting changes nothing either.
    let h = harness().await;
    mirror_meetings(&h).await;
    let meeting = start(&h, "No client").await;
    let id = meeting["id"].as_i64().unwrap();
    assert_eq!(recorded_event(&h, id).await, None);
    assert_eq!(end(&h, id).await.status, StatusCode::OK);
}

#[tokio::test]
async fn discord_failing_does_not_fail_the_api() {
    let (h, rest, mut calls) = harness_with_discord().await;
    mirror_meetings(&h).await;

    // Creating the event fails: the meeting still starts, and nothing is closed at its end.
    rest.refuse_events.store(true, Ordering::SeqCst);
    let meeting = start(&h, "Despite Discord").await;
    assert_eq!(meeting["title"], "Despite Discord");
    let id = meeting["id"].as_i64().unwrap();
    assert!(matches!(
        calls.try_recv().unwrap(),
        RestCall::CreateEvent(..)
    ));
    assert_eq!(recorded_event(&h, id).await, None);
    let ended = end(&h, id).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    assert_eq!(ended.json["status"], "ended");
    assert!(
        calls.try_recv().is_err(),
        "no event was recorded, so none is closed"
    );

    // Closing the event fails: the meeting still ends.
    rest.refuse_events.store(false, Ordering::SeqCst);
    let meeting = start(&h, "Closing fails").await;
    assert!(matches!(
        calls.try_recv().unwrap(),
        RestCall::CreateEvent(..)
    ));
    rest.refuse_events.store(true, Ordering::SeqCst);
    let ended = end(&h, meeting["id"].as_i64().unwrap()).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    assert_eq!(ended.json["status"], "ended");
    assert!(matches!(
        calls.try_recv().unwrap(),
        RestCall::CloseEvent(_, _, EventClosure::Completed)
    ));
}

#[tokio::test]
async fn permissions_follow_the_guilds_current_policy() {
    let h = harness().await;
    let meeting = start(&h, "Policy").await;
    let id = meeting["id"].as_i64().unwrap();
    // The admin turns the viewer role's joining off: the same token is refused at once.
    let patch = h
        .call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"rbac": {"deny": [{"subject": {"user": VIEWER.to_string()}, "permissions": ["join_meeting"]}]}})),
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    h.call(
        Method::POST,
        &h.path(&format!("/meetings/{id}/join")),
        Some(&h.viewer()),
        None,
    )
    .await
    .problem(403, "denied");
    // Turning meetings off refuses even the host.
    h.call(
        Method::PATCH,
        &h.path("/config"),
        Some(&h.admin()),
        Some(json!({"features": {"meetings": false}})),
    )
    .await;
    h.call(Method::GET, &h.path("/meetings"), Some(&h.host()), None)
        .await
        .problem(403, "feature_disabled");
}

#[tokio::test]
async fn videos_are_searched_fetched_and_played_for_the_caller() {
    let h = harness().await;
    let search = h
        .call(
            Method::GET,
            &h.path("/videos?q=cats&page=1"),
            Some(&h.viewer()),
            None,
        )
        .await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.text);
    assert_eq!(search.json["query"], "cats");
    let hits = search.json["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{}", search.text);
    let entry = hits[0]["entry_id"].as_str().unwrap().to_owned();

    let video = h
        .call(
            Method::GET,
            &h.path(&format!("/videos/{entry}")),
            Some(&h.viewer()),
            None,
        )
        .await;
    assert_eq!(video.status, StatusCode::OK, "{}", video.text);
    assert_eq!(video.json["entry_id"], entry);
    assert!(
        video.json["thumbnail_url"]
            .as_str()
            .unwrap()
            .contains(&entry)
    );
    assert_eq!(video.json["ready"], true);
    // No player is configured by default: the key is there, empty.
    assert!(video.json.get("player_url").is_some(), "{}", video.text);
    assert!(video.json["playback_url"].is_string(), "{}", video.text);

    let playback = h
        .call(
            Method::POST,
            &h.path(&format!("/videos/{entry}/playback")),
            Some(&h.viewer()),
            None,
        )
        .await;
    assert_eq!(playback.status, StatusCode::OK, "{}", playback.text);
    assert_eq!(playback.headers[header::CACHE_CONTROL], "no-store");
    let url = playback.json["url"].as_str().unwrap();
    assert!(url.contains("/ks/"), "{url}");
    assert!(url.contains(&entry), "{url}");

    // Bad searches and ids are 400s naming the input.
    let a = h
        .call(Method::GET, &h.path("/videos"), Some(&h.viewer()), None)
        .await;
    assert_eq!(a.problem(400, "invalid_input")["field"], "q");
    let a = h
        .call(
            Method::GET,
            &h.path("/videos?q=cats&page=0"),
            Some(&h.viewer()),
            None,
        )
        .await;
    assert_eq!(a.problem(400, "invalid_input")["field"], "page");
    let a = h
        .call(
            Method::GET,
            &h.path("/videos/..%2F..%2Fetc%2Fpasswd"),
            Some(&h.viewer()),
            None,
        )
        .await;
    assert_eq!(a.problem(400, "invalid_input")["field"], "entry_id");
    h.call(
        Method::GET,
        &h.path("/videos/0_doesnotexist"),
        Some(&h.viewer()),
        None,
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn config_is_shown_explained_patched_validated_and_reset() {
    let h = harness().await;
    h.call(Method::GET, &h.path("/config"), Some(&h.viewer()), None)
        .await
        .problem(403, "denied");
    let shown = h
        .call(Method::GET, &h.path("/config"), Some(&h.admin()), None)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.json["guild_id"], guild().to_string());
    assert!(
        shown.json["config"]["meetings"].is_object(),
        "{}",
        shown.text
    );
    assert!(!shown.text.contains(h.fake.admin_secret().expose_secret()));

    let explained = h
        .call(
            Method::GET,
            &h.path("/config/explain?key=rbac.roles"),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(explained.status, StatusCode::OK, "{}", explained.text);
    let entries = explained.json["entries"].as_array().unwrap();
    assert!(
        entries.iter().all(|e| e["layer"] == "guild store"),
        "{}",
        explained.text
    );
    let a = h
        .call(
            Method::GET,
            &h.path("/config/explain?key=..%2Fetc"),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(a.problem(400, "invalid_input")["field"], "key");

    let patched = h
        .call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"meetings": {"default_duration_minutes": 45}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(
        patched.json["document"]["meetings"]["default_duration_minutes"],
        45
    );
    // The new value is in force at once.
    let explained = h
        .call(
            Method::GET,
            &h.path("/config/explain?key=meetings.default_duration_minutes"),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(explained.json["entries"][0]["value"], 45);
    assert_eq!(explained.json["entries"][0]["layer"], "guild store");

    // Invalid results are 422 naming the key path; nothing is written.
    let version = patched.json["version"].as_i64().unwrap();
    let bad = h
        .call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"meetings": {"default_duration_minutes": "ninety"}})),
        )
        .await;
    assert_eq!(
        bad.problem(422, "validation_failed")["field"],
        "meetings.default_duration_minutes"
    );
    let bad = h
        .call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"meetings": {"no_such_setting": 1}})),
        )
        .await;
    assert!(
        bad.problem(422, "validation_failed")["field"]
            .as_str()
            .unwrap()
            .starts_with("meetings"),
        "{}",
        bad.text
    );
    let bad = h
        .call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"meetings": {"../../etc": 1}})),
        )
        .await;
    assert_eq!(
        bad.problem(422, "validation_failed")["field"],
        "meetings.../../etc"
    );
    let stored = h.store.get_override(guild()).await.unwrap().unwrap();
    assert_eq!(stored.version, version);

    // Reset one key, then everything.
    let reset = h
        .call(
            Method::DELETE,
            &h.path("/config?key=meetings.default_duration_minutes"),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    assert_eq!(reset.json["reset"], true);
    let again = h
        .call(
            Method::DELETE,
            &h.path("/config?key=meetings.default_duration_minutes"),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(again.json["reset"], false);
    let all = h
        .call(Method::DELETE, &h.path("/config"), Some(&h.admin()), None)
        .await;
    assert_eq!(all.json["reset"], true, "{}", all.text);
    assert!(h.store.get_override(guild()).await.unwrap().is_none());

    let actions = audit_actions_raw(&h).await;
    assert!(
        actions.contains(&"config_changed".to_owned()),
        "{actions:?}"
    );
    assert!(actions.contains(&"config_reset".to_owned()), "{actions:?}");
}

/// The audit actions read from the store (the admin role is gone after a full reset).
async fn audit_actions_raw(h: &Harness) -> Vec<String> {
    use kaltura_discord::store::AuditLog as _;
    h.store
        .recent(guild(), 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.action.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn the_audit_log_is_paged() {
    let h = harness().await;
    for i in 0..5 {
        h.call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"meetings": {"default_duration_minutes": 30 + i}})),
        )
        .await;
    }
    h.call(Method::GET, &h.path("/audit"), Some(&h.viewer()), None)
        .await
        .problem(403, "denied");
    let mut seen = Vec::new();
    let mut path = h.path("/audit?limit=2");
    loop {
        let page = h.call(Method::GET, &path, Some(&h.admin()), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let entries = page.json["entries"].as_array().unwrap();
        assert!(entries.len() <= 2);
        seen.extend(entries.iter().map(|e| e["id"].as_i64().unwrap()));
        match page.json["next_before"].as_i64() {
            Some(before) => path = h.path(&format!("/audit?limit=2&before={before}")),
            None => break,
        }
    }
    // 1 setup override + 5 patches, newest first, no duplicates.
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    for bad in ["limit=0", "limit=101", "limit=x", "before=-1"] {
        let a = h
            .call(
                Method::GET,
                &h.path(&format!("/audit?{bad}")),
                Some(&h.admin()),
                None,
            )
            .await;
        a.problem(400, "invalid_input");
    }
}

#[tokio::test]
async fn audit_pages_reach_past_the_newest_thousand_entries() {
    use kaltura_discord::store::{AuditAction, AuditLog as _, NewAuditEntry};
    let h = harness().await;
    let entry = |g: GuildId| NewAuditEntry {
        guild: g,
        actor: None,
        action: AuditAction::Other,
        detail: json!({}),
    };
    let other = other_guild();
    for i in 0..1_010 {
        h.store.append(entry(guild())).await.unwrap();
        if i % 25 == 0 {
            h.store.append(entry(other)).await.unwrap();
        }
    }
    let expected: usize = 1 + 1_010; // the setup's override change, then the appended ones
    let mut seen: Vec<i64> = Vec::new();
    let mut path = h.path("/audit?limit=100");
    let mut pages = 0;
    loop {
        let page = h.call(Method::GET, &path, Some(&h.admin()), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        pages += 1;
        let entries = page.json["entries"].as_array().unwrap();
        seen.extend(entries.iter().map(|e| e["id"].as_i64().unwrap()));
        match page.json["next_before"].as_i64() {
            Some(before) => {
                assert_eq!(entries.len(), 100, "only a full page has a next one");
                assert_eq!(Some(before), seen.last().copied());
                path = h.path(&format!("/audit?limit=100&before={before}"));
            }
            None => break,
        }
    }
    assert_eq!(pages, expected.div_ceil(100));
    assert_eq!(seen.len(), expected);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let newest = h.store.page(guild(), None, 1).await.unwrap();
    assert_eq!(seen[0], newest[0].id);

    // A page ending exactly on the last entry says there is no next one.
    let last_two = format!("/audit?limit=2&before={}", seen[expected - 3]);
    let page = h
        .call(Method::GET, &h.path(&last_two), Some(&h.admin()), None)
        .await;
    assert_eq!(page.json["entries"].as_array().unwrap().len(), 2);
    assert_eq!(page.json["next_before"], Value::Null);
    // A cursor above every id starts at the newest; one at the oldest gives an empty page.
    let top = h
        .call(
            Method::GET,
            &h.path(&format!("/audit?limit=1&before={}", i64::MAX)),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(top.json["entries"][0]["id"], seen[0]);
    let bottom = h
        .call(
            Method::GET,
            &h.path(&format!("/audit?before={}", seen[expected - 1])),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(bottom.status, StatusCode::OK, "{}", bottom.text);
    assert_eq!(bottom.json["entries"], json!([]));
    assert_eq!(bottom.json["next_before"], Value::Null);
}

#[tokio::test]
async fn hostile_audit_cursors_are_400_naming_the_parameter() {
    let h = harness().await;
    for (query, field) in [
        ("before=0", "before"),
        ("before=-1", "before"),
        ("before=-9223372036854775808", "before"),
        ("before=9223372036854775808", "before"),
        ("before=99999999999999999999999999", "before"),
        ("before=abc", "before"),
        ("before=1.5", "before"),
        ("before=", "before"),
        ("before=1&before=2", "before"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=4294967296", "limit"),
        ("limit=x", "limit"),
        ("limit=5&before=x", "before"),
    ] {
        let a = h
            .call(
                Method::GET,
                &h.path(&format!("/audit?{query}")),
                Some(&h.admin()),
                None,
            )
            .await;
        a.problem(400, "invalid_input");
        assert_eq!(a.json["field"], field, "{query}: {}", a.text);
        assert!(
            !a.text.contains("99999999"),
            "{query}: the value is not echoed"
        );
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn bad_tokens_are_401_with_a_bearer_challenge_and_other_guilds_403() {
    let h = harness().await;
    let path = h.path("/meetings");
    let valid = h.viewer();
    let mut parts = valid.split('.');
    let (header_b64, payload_b64, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload_b64).unwrap()).unwrap();
    payload["roles"] = json!([admin_role().to_string()]);
    let tampered = format!("{header_b64}.{}.{signature}", b64(&payload));
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
        b64(&payload)
    );
    let expired = h
        .authority
        .issue_at(
            &TokenSubject {
                user: DiscordUserId::new(VIEWER).unwrap(),
                guild: guild(),
                roles: vec![],
            },
            (NOW - 10_000) as u64,
        )
        .unwrap()
        .expose()
        .to_owned();
    let foreign_key = JwtAuthority::new(
        vec![JwtKey::new("k1", "another-secret-of-at-least-32-bytes!!").unwrap()],
        "kaltura-discord",
        Duration::from_secs(900),
    )
    .unwrap()
    .with_clock(Arc::new(FakeClock::fixed(NOW)))
    .issue(&TokenSubject {
        user: DiscordUserId::new(VIEWER).unwrap(),
        guild: guild(),
        roles: vec![admin_role()],
    })
    .unwrap()
    .expose()
    .to_owned();

    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("tampered", Some(format!("Bearer {tampered}"))),
        ("alg none", Some(format!("Bearer {none}"))),
        ("expired", Some(format!("Bearer {expired}"))),
        ("other key", Some(format!("Bearer {foreign_key}"))),
        ("garbage", Some("Bearer not.a.jwt".into())),
        ("basic", Some(format!("Basic {valid}"))),
        ("empty", Some("Bearer ".into())),
    ];
    for (name, authorization) in cases {
        let mut request = Request::builder().uri(&path);
        if let Some(value) = &authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let a = h.send(request.body(Body::empty()).unwrap()).await;
        a.problem(401, "unauthenticated");
        assert!(
            a.headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer "),
            "{name}"
        );
        assert!(!a.text.contains(h.fake.admin_secret().expose_secret()));
        assert!(!a.text.contains(JWT_SECRET), "{name}");
    }
    // A valid token for another guild.
    let other = h.token_for(VIEWER, other_guild(), &[admin_role()]);
    h.call(Method::GET, &path, Some(&other), None)
        .await
        .problem(403, "wrong_guild");
    let theirs = format!("/api/v1/guilds/{}/meetings", other_guild());
    h.call(Method::GET, &theirs, Some(&valid), None)
        .await
        .problem(403, "wrong_guild");
}

#[tokio::test]
async fn hostile_path_ids_are_400_problems() {
    let h = harness().await;
    let token = h.viewer();
    for (path, field) in [
        ("/api/v1/guilds/..%2F..%2Fetc/meetings", "guild_id"),
        ("/api/v1/guilds/abc/meetings", "guild_id"),
        ("/api/v1/guilds/0/meetings", "guild_id"),
        ("/api/v1/guilds/-1/meetings", "guild_id"),
        (
            "/api/v1/guilds/99999999999999999999999/meetings",
            "guild_id",
        ),
        ("/api/v1/guilds/%00/meetings", "guild_id"),
    ] {
        let a = h.call(Method::GET, path, Some(&token), None).await;
        assert_eq!(a.problem(400, "invalid_input")["field"], field, "{path}");
    }
    for rest in [
        "/meetings/..%2F..%2Fetc",
        "/meetings/abc",
        "/meetings/0",
        "/meetings/-5",
        "/meetings/99999999999999999999",
    ] {
        let a = h.call(Method::GET, &h.path(rest), Some(&token), None).await;
        assert_eq!(
            a.problem(400, "invalid_input")["field"],
            "meeting_id",
            "{rest}"
        );
        let a = h
            .call(
                Method::POST,
                &h.path(&format!("{rest}/join")),
                Some(&token),
                None,
            )
            .await;
        a.problem(400, "invalid_input");
    }
    // Unencoded traversal does not match a route: a 404 problem, never a file.
    let a = h
        .call(
            Method::GET,
            "/api/v1/guilds/../../etc/passwd",
            Some(&token),
            None,
        )
        .await;
    a.problem(404, "not_found");
    let a = h
        .call(Method::PUT, &h.path("/meetings"), Some(&token), None)
        .await;
    a.problem(405, "method_not_allowed");
}

#[tokio::test]
async fn oversized_malformed_and_mistyped_bodies() {
    let mut options = GatewayOptions::default();
    options.body_limit = 1024;
    let h = harness_with(options, None).await;
    let path = h.path("/meetings");
    let token = h.host();
    let big = json!({"title": "x".repeat(4096)});
    h.call(Method::POST, &path, Some(&token), Some(big.clone()))
        .await
        .problem(413, "payload_too_large");
    // Without a Content-Length (chunked), the limit still holds.
    let stream =
        futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b' '; 512])));
    let request = Request::post(&path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    h.send(request).await.problem(413, "payload_too_large");

    let malformed = Request::post(&path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"title\": "))
        .unwrap();
    h.send(malformed).await.problem(400, "invalid_body");
    let a = h
        .call(Method::POST, &path, Some(&token), Some(json!({"title": 5})))
        .await;
    assert_eq!(a.problem(400, "invalid_body")["field"], "title");
    let a = h
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"title": "t", "evil": true})),
        )
        .await;
    a.problem(400, "invalid_body");
    let a = h
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"title": "t", "type": "party"})),
        )
        .await;
    assert_eq!(a.problem(400, "invalid_input")["field"], "type");
    let a = h
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"title": "   "})),
        )
        .await;
    assert_eq!(a.problem(400, "invalid_input")["field"], "title");
    let text = Request::post(&path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("title=x"))
        .unwrap();
    h.send(text).await.problem(415, "unsupported_media_type");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let mut options = GatewayOptions::default();
    options.rate_limits = RateLimits::new(None, Some(1), 2);
    let h = harness_with(options, None).await;
    let path = h.path("/meetings");
    let token = h.viewer();
    for _ in 0..2 {
        let a = h.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    let a = h.call(Method::GET, &path, Some(&token), None).await;
    a.problem(429, "rate_limited");
    let retry: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another token has its own budget.
    let other = h.host();
    let a = h.call(Method::GET, &path, Some(&other), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    // Per IP: the peer address from ConnectInfo.
    let mut options = GatewayOptions::default();
    options.rate_limits = RateLimits::new(Some(1), None, 1);
    let h = harness_with(options, None).await;
    let from = |ip: &str| {
        let mut request = Request::get("/healthz").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(ip.parse::<SocketAddr>().unwrap()));
        request
    };
    assert_eq!(h.send(from("10.0.0.1:1000")).await.status, StatusCode::OK);
    let a = h.send(from("10.0.0.1:2000")).await;
    a.problem(429, "rate_limited");
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(h.send(from("10.0.0.2:1000")).await.status, StatusCode::OK);
    let metrics = h.send(from("10.0.0.3:1000")).await;
    assert!(
        metrics.text.is_empty() || metrics.status == StatusCode::OK,
        "{}",
        metrics.text
    );
    let text = h.state.metrics().encode();
    assert!(
        text.contains(r#"kd_gateway_rate_limited_total{scope="ip"} 1"#),
        "{text}"
    );
}

fn redacted_problem(a: &Answer) -> Value {
    let mut body = a.json.clone();
    body["request_id"] = json!("[request id]");
    body
}

#[tokio::test]
async fn problem_bodies_have_one_shape() {
    let h = harness().await;
    let unauthenticated = h.call(Method::GET, &h.path("/meetings"), None, None).await;
    insta::assert_json_snapshot!(
        "gateway_problem_unauthenticated",
        redacted_problem(&unauthenticated)
    );
    let denied = h
        .call(Method::GET, &h.path("/config"), Some(&h.viewer()), None)
        .await;
    insta::assert_json_snapshot!("gateway_problem_denied", redacted_problem(&denied));
    let invalid = h
        .call(
            Method::GET,
            "/api/v1/guilds/..%2F..%2Fetc/meetings",
            Some(&h.viewer()),
            None,
        )
        .await;
    insta::assert_json_snapshot!("gateway_problem_bad_guild", redacted_problem(&invalid));
    let validation = h
        .call(
            Method::PATCH,
            &h.path("/config"),
            Some(&h.admin()),
            Some(json!({"meetings": {"default_duration_minutes": "ninety"}})),
        )
        .await;
    insta::assert_json_snapshot!("gateway_problem_validation", redacted_problem(&validation));
}

#[tokio::test]
async fn kaltura_failures_are_not_echoed_and_slow_calls_time_out() {
    let h = harness().await;
    let path = h.path("/videos/0_abcdef12");
    h.fake.fail_next(20, Failure::Status(503));
    let a = h.call(Method::GET, &path, Some(&h.viewer()), None).await;
    let body = a.problem(503, "unavailable");
    assert!(!a.text.contains("503 "), "{body}");
    assert!(!a.text.contains(h.fake.url()), "{body}");

    let mut options = GatewayOptions::default();
    options.timeout = Duration::from_millis(300);
    let h = harness_with(options, None).await;
    h.fake
        .fail_next(1, Failure::Latency(Duration::from_secs(3600)));
    let a = h.call(Method::GET, &path, Some(&h.viewer()), None).await;
    a.problem(504, "timeout");
}

/// A writer that keeps everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_or_error_bodies() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = harness().await;
    let meeting = start(&h, "Secret check").await;
    let id = meeting["id"].as_i64().unwrap();
    let viewer = h.viewer();
    let join = h
        .call(
            Method::POST,
            &h.path(&format!("/meetings/{id}/join")),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(join.status, StatusCode::OK, "{}", join.text);
    let url = join.json["url"].as_str().unwrap().to_owned();
    let search = h
        .call(Method::GET, &h.path("/videos?q=cats"), Some(&viewer), None)
        .await;
    let entry = search.json["hits"][0]["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let playback = h
        .call(
            Method::POST,
            &h.path(&format!("/videos/{entry}/playback")),
            Some(&viewer),
            None,
        )
        .await;
    let play_url = playback.json["url"].as_str().unwrap().to_owned();
    // An internal error: its text goes to the log with the request id, not to the client.
    let unreachable = {
        let secret = secrecy::SecretString::from("abcdef0123456789abcdef0123456789");
        let client = Client::builder()
            .service_url("http://127.0.0.1:9")
            .partner_id(h.fake.partner_id())
            .admin_secret(secret.clone())
            .build()
            .unwrap();
        KalturaAccount::new(client, &secret).unwrap()
    };
    let down = harness_with(GatewayOptions::default(), Some(unreachable)).await;
    let a = down
        .call(
            Method::GET,
            &down.path("/videos?q=cats"),
            Some(&down.viewer()),
            None,
        )
        .await;
    assert!(a.status.is_server_error(), "{}", a.text);
    assert!(!a.text.contains("127.0.0.1:9"), "{}", a.text);
    let request_id = a.json["request_id"].as_str().unwrap().to_owned();
    let ready = down.call(Method::GET, "/readyz", None, None).await;
    ready.problem(503, "unavailable");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&request_id),
        "the failure is logged with its request id"
    );
    let ks = url.split("/ks/").nth(1).or_else(|| url.split("ks=").nth(1));
    for secret in [
        viewer.as_str(),
        url.as_str(),
        play_url.as_str(),
        JWT_SECRET,
        h.fake.admin_secret().expose_secret(),
    ]
    .into_iter()
    .chain(ks)
    {
        assert!(!logs.contains(secret), "a secret is in the logs: {secret}");
    }
    let play_ks = play_url
        .split("/ks/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert!(!logs.contains(play_ks));
}

#[tokio::test]
async fn request_ids_are_set_kept_and_sanitized() {
    let h = harness().await;
    let a = h.call(Method::GET, "/healthz", None, None).await;
    let id = a.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 16, "{id}");
    let request = Request::get("/nowhere")
        .header("x-request-id", "client-id_1.2")
        .body(Body::empty())
        .unwrap();
    let a = h.send(request).await;
    assert_eq!(a.problem(404, "not_found")["request_id"], "client-id_1.2");
    let request = Request::get("/nowhere")
        .header("x-request-id", "bad id\twith spaces")
        .body(Body::empty())
        .unwrap();
    let a = h.send(request).await;
    let id = a.problem(404, "not_found")["request_id"].as_str().unwrap();
    assert_ne!(id, "bad id\twith spaces");
    assert_eq!(id.len(), 16);
}

#[tokio::test]
async fn health_readiness_metrics_page_and_openapi() {
    let h = harness().await;
    let a = h.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(a.json, json!({"status": "ok"}));
    let a = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    h.call(Method::GET, &h.path("/meetings"), Some(&h.viewer()), None)
        .await;
    let a = h.call(Method::GET, "/metrics", None, None).await;
    assert!(
        a.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(
        a.text.contains(
            r#"kd_gateway_requests_total{route="/api/v1/guilds/{guild_id}/meetings",method="GET",status="200"} 1"#
        ),
        "{}",
        a.text
    );
    assert!(
        a.text
            .contains("kd_gateway_request_duration_seconds_bucket")
    );
    assert!(
        !a.text.contains(&guild().to_string()),
        "raw paths are not labels"
    );

    let page = h.call(Method::GET, "/", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/api/v1/openapi.json"));
    assert!(page.text.contains("/auth/discord/login"));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(page.headers[header::REFERRER_POLICY], "no-referrer");

    let doc = h
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json["openapi"], "3.1.0");
    assert_eq!(doc.text, openapi_json());
    let paths = doc.json["paths"].as_object().unwrap();
    for p in [
        "/api/v1/guilds/{guild_id}/meetings",
        "/api/v1/guilds/{guild_id}/meetings/{meeting_id}/join",
        "/api/v1/guilds/{guild_id}/videos/{entry_id}/playback",
        "/api/v1/guilds/{guild_id}/config",
        "/api/v1/guilds/{guild_id}/config/explain",
        "/api/v1/guilds/{guild_id}/audit",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
}

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == openapi_json(),
        "docs/openapi.json differs from the generated document; regenerate it with \
         `cargo run -p kaltura-discord-examples --bin kaltura-gateway -- --print-openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn cors_comes_from_the_options_and_refuses_wildcards_with_credentials() {
    let fake = FakeKaltura::builder().start().await.unwrap();
    let t = crate::support::sqlite().await;
    let build = |cors: CorsOptions| {
        let mut options = GatewayOptions::default();
        options.cors = cors;
        Gateway::builder()
            .resolver(Arc::new(
                ConfigResolver::load(&ConfigSources::defaults_only()).unwrap(),
            ))
            .account(account(&fake))
            .stores(Arc::new(t.store.clone()))
            .authority(Arc::new(authority(&FakeClock::fixed(NOW))))
            .options(options)
            .build()
    };
    let err = build(CorsOptions::origins(["*"]).credentials(true)).unwrap_err();
    assert!(matches!(err, Error::Setup(_)), "{err:?}");
    assert!(err.to_string().contains("wildcard"), "{err}");
    assert!(build(CorsOptions::origins(["https://dash.example.org/path"])).is_err());
    let router = build(CorsOptions::origins(["https://dash.example.org"]).credentials(true))
        .unwrap()
        .router();
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/v1/guilds/1/meetings")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .body(Body::empty())
            .unwrap()
    };
    let ok = router
        .clone()
        .oneshot(preflight("https://dash.example.org"))
        .await
        .unwrap();
    assert_eq!(
        ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://dash.example.org"
    );
    assert_eq!(
        ok.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );
    let refused = router
        .oneshot(preflight("https://evil.example.org"))
        .await
        .unwrap();
    assert!(
        !refused
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn over_a_real_socket() {
    let h = harness().await;
    let token = h.viewer();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = h.router.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let client = reqwest::Client::new();
    let response = client
        .get(format!("http://{addr}{}", h.path("/meetings")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"meetings": []})
    );
    let response = client
        .get(format!("http://{addr}{}", h.path("/meetings")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    server.abort();
}

/// The committed OpenAPI document's responses for `method` (lower case) on `template`.
fn documented_responses(method: &str, template: &str) -> Map<String, Value> {
    let doc: Value = serde_json::from_str(&openapi_json()).unwrap();
    doc["paths"][template][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {template} is not documented"))
        .clone()
}

/// Asserts that the document lists the answer's status for the operation.
fn assert_documented(a: &Answer, method: &Method, template: &str) {
    let responses = documented_responses(&method.as_str().to_ascii_lowercase(), template);
    let status = a.status.as_str();
    assert!(
        responses.contains_key(status),
        "{method} {template} answered {status}, documented: {:?}\n{}",
        responses.keys().collect::<Vec<_>>(),
        a.text
    );
}

/// Every operation under `/api/v1/guilds/{guild_id}`, with a concrete rest of the path.
const GUILD_OPERATIONS: [(&str, &str, &str); 13] = [
    ("GET", "/meetings", "/meetings"),
    ("POST", "/meetings", "/meetings"),
    ("GET", "/meetings/{meeting_id}", "/meetings/1"),
    ("POST", "/meetings/{meeting_id}/end", "/meetings/1/end"),
    ("POST", "/meetings/{meeting_id}/join", "/meetings/1/join"),
    ("GET", "/videos", "/videos?q=cats"),
    ("GET", "/videos/{entry_id}", "/videos/0_abc"),
    (
        "POST",
        "/videos/{entry_id}/playback",
        "/videos/0_abc/playback",
    ),
    ("GET", "/config", "/config"),
    ("GET", "/config/explain", "/config/explain"),
    ("PATCH", "/config", "/config"),
    ("DELETE", "/config", "/config?key=meetings.default_type"),
    ("GET", "/audit", "/audit"),
];

// Found by the API check (schemathesis): `GET /config` answered a malformed guild id with a
// 400 its documentation did not list; the token check, the guild id check, the rate limits
// and the body reader answer on every guild route, so every guild operation documents them.
#[tokio::test]
async fn every_guild_route_documents_the_problems_every_guild_route_answers() {
    let h = harness().await;
    let admin = h.admin();
    let elsewhere = h.token_for(ADMIN, other_guild(), &[admin_role()]);
    for (method, rest, concrete) in GUILD_OPERATIONS {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let template = format!("/api/v1/guilds/{{guild_id}}{rest}");
        let bad_guild = format!("/api/v1/guilds/0{concrete}");
        let a = h.call(method.clone(), &bad_guild, Some(&admin), None).await;
        assert_eq!(a.problem(400, "invalid_input")["field"], "guild_id");
        assert_documented(&a, &method, &template);
        let a = h.call(method.clone(), &h.path(concrete), None, None).await;
        a.problem(401, "unauthenticated");
        assert_documented(&a, &method, &template);
        let a = h
            .call(method.clone(), &h.path(concrete), Some(&elsewhere), None)
            .await;
        a.problem(403, "wrong_guild");
        assert_documented(&a, &method, &template);

        let responses = documented_responses(&method.as_str().to_ascii_lowercase(), &template);
        let header_of = |status: &str, name: &str| responses[status]["headers"][name].clone();
        assert!(
            header_of("401", "WWW-Authenticate").is_object(),
            "{method} {template}"
        );
        assert!(
            header_of("429", "Retry-After").is_object(),
            "{method} {template}"
        );
    }

    // The body reader's refusals, on the operations with a body.
    for (method, rest, body) in [
        (Method::POST, "/meetings", "{\"title\": \"t\"}"),
        (Method::PATCH, "/config", "{}"),
    ] {
        let template = format!("/api/v1/guilds/{{guild_id}}{rest}");
        let text = Request::builder()
            .method(method.clone())
            .uri(h.path(rest))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(body))
            .unwrap();
        let a = h.send(text).await;
        a.problem(415, "unsupported_media_type");
        assert_documented(&a, &method, &template);
        let big = Request::builder()
            .method(method.clone())
            .uri(h.path(rest))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(format!(
                "{{\"title\": \"{}\"}}",
                "x".repeat(128 * 1024)
            )))
            .unwrap();
        let a = h.send(big).await;
        a.problem(413, "payload_too_large");
        assert_documented(&a, &method, &template);
    }

    // Rate limits, on a route that did not list them.
    let mut options = GatewayOptions::default();
    options.rate_limits = RateLimits::new(None, Some(1), 1);
    let h = harness_with(options, None).await;
    let admin = h.admin();
    let first = h
        .call(Method::GET, &h.path("/config"), Some(&admin), None)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let a = h
        .call(Method::GET, &h.path("/config"), Some(&admin), None)
        .await;
    a.problem(429, "rate_limited");
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    assert_documented(&a, &Method::GET, "/api/v1/guilds/{guild_id}/config");
}

// Found by the API check (schemathesis): `explain` answers each setting's value (a boolean,
// a string, a number…), which the document declared to be an object.
#[tokio::test]
async fn explained_values_of_any_json_type_match_the_document() {
    let h = harness().await;
    let a = h
        .call(
            Method::GET,
            &h.path("/config/explain?key=features"),
            Some(&h.admin()),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let entries = a.json["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["value"].is_boolean()),
        "{}",
        a.text
    );
    let doc: Value = serde_json::from_str(&openapi_json()).unwrap();
    let value = &doc["components"]["schemas"]["ExplainEntry"]["properties"]["value"];
    assert!(value.is_object(), "{doc}");
    assert!(
        value.get("type").is_none(),
        "ExplainEntry.value must admit any JSON value: {value}"
    );
}

// The document gives the format of the path ids (so that clients and API testers send ids
// the gateway parses); the patterns accept the ids the gateway accepts.
#[test]
fn path_ids_have_their_formats_in_the_document() {
    let doc: Value = serde_json::from_str(&openapi_json()).unwrap();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/guilds/{guild_id}") {
            continue;
        }
        for operation in item.as_object().unwrap().values() {
            for parameter in operation["parameters"].as_array().unwrap() {
                if parameter["in"] != "path" {
                    continue;
                }
                let expected = match parameter["name"].as_str().unwrap() {
                    "guild_id" => "^[1-9][0-9]{0,18}$",
                    "meeting_id" => "^[1-9][0-9]{0,17}$",
                    "entry_id" => "^[A-Za-z0-9_]{1,64}$",
                    other => panic!("{path}: path parameter {other} has no documented format"),
                };
                assert_eq!(parameter["schema"]["pattern"], expected, "{path}");
                seen += 1;
            }
        }
    }
    assert!(seen >= 13, "{seen}");
}
