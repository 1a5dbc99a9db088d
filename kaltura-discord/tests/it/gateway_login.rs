//! Signing in to the API gateway with Discord (a fake Discord on wiremock), its tokens and
//! cookies, and the identity-proof page, driven through the gateway's router against the fake
//! Kaltura server and SQLite: login → callback → token → `/auth/me` → refresh → logout, a
//! wrong state, a replayed code, a refresh token used twice, cross-site requests, and the
//! Kaltura sign-in that proves a link (wrong passwords refused, audited and rate-limited).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use kaltura_client::Client;
use kaltura_client::fake::{FakeClock, FakeKaltura};
use kaltura_discord::auth::{JwtAuthority, JwtKey};
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::gateway::oauth::{DiscordEndpoints, DiscordOAuth, OAuthConfig};
use kaltura_discord::gateway::sessions::Sessions;
use kaltura_discord::http::gateway::{DiscordSignIn, Gateway, GatewayOptions, RateLimits};
use kaltura_discord::rest::TwilightRest;
use kaltura_discord::store::{
    AuditLog as _, GuildOverrideStore as _, IdentityStore as _, LinkScope, SqlStore,
};
use kaltura_discord::{ApplicationId, DiscordUserId, GuildId};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;
use url::Url;
use wiremock::matchers::{body_string_contains, header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: i64 = 1_800_000_000;
const JWT_SECRET: &str = "gateway-login-secret-of-at-least-32-bytes";
const CLIENT_SECRET: &str = "client-s3cret-that-must-not-leak";
const ACCESS: &str = "discord-acc3ss-token-that-must-not-leak";
const CODE: &str = "NhhvTDYsFcdgNLnnLijcl7Ku7bEEeee";
const GUILD: u64 = 613_425_648_685_547_541;
const EMAIL_GUILD: u64 = 81_384_788_765_712_384;
const USER: u64 = 80_351_110_224_678_912;
const ROLE: u64 = 41_771_983_423_143_936;
const ORIGIN: &str = "https://gateway.example";

fn guild(id: u64) -> GuildId {
    GuildId::new(id).unwrap()
}

struct Harness {
    fake: FakeKaltura,
    discord: MockServer,
    store: SqlStore,
    _t: crate::support::TestStore,
    router: Router,
}

async fn harness(configured: bool) -> Harness {
    harness_with(configured, false).await
}

/// With `bot_rest`, the gateway reads members' roles from the fake Discord with a bot token.
async fn harness_with(configured: bool, bot_rest: bool) -> Harness {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let discord = MockServer::start().await;
    let t = crate::support::sqlite().await;
    let store = t.store.clone();
    store
        .update_override(
            guild(EMAIL_GUILD),
            DiscordUserId::new(USER).unwrap(),
            &|doc: &mut Map<String, Value>| {
                doc.insert("identity".into(), json!({"strategy": "email"}));
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
    let authority = Arc::new(
        JwtAuthority::new(
            vec![JwtKey::new("k1", JWT_SECRET).unwrap()],
            "kaltura-discord",
            Duration::from_secs(900),
        )
        .unwrap()
        .with_clock(Arc::new(clock.clone())),
    );
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap();
    let account = KalturaAccount::new(client, fake.admin_secret()).unwrap();
    let mut options = GatewayOptions::default();
    options.rate_limits = RateLimits::unlimited();
    let mut builder = Gateway::builder()
        .resolver(resolver)
        .account(account)
        .stores(Arc::new(store.clone()))
        .authority(authority)
        .clock(Arc::new(clock.clone()))
        .options(options);
    if bot_rest {
        let rest = TwilightRest::builder(SecretString::from("bot-token-for-tests".to_owned()))
            .base_url(discord.uri())
            .build()
            .unwrap();
        builder = builder.rest(Arc::new(rest));
    }
    if configured {
        let oauth = DiscordOAuth::new(
            OAuthConfig {
                client_id: ApplicationId::new(1_100_000_000_000_000_001).unwrap(),
                client_secret: SecretString::from(CLIENT_SECRET),
                redirect_uri: Url::parse(&format!("{ORIGIN}/api/v1/auth/discord/callback"))
                    .unwrap(),
                endpoints: DiscordEndpoints::under(&discord.uri()).unwrap(),
            },
            Arc::new(store.clone()),
        )
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
        let sessions = Sessions::new(Arc::new(store.clone())).with_clock(Arc::new(clock));
        builder = builder.discord_login(DiscordSignIn::new(oauth, sessions));
    }
    let router = builder.build().unwrap().router();
    Harness {
        fake,
        discord,
        store,
        _t: t,
        router,
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
    /// The `Set-Cookie` values by cookie name: (value, attributes).
    fn cookies(&self) -> HashMap<String, (String, String)> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| {
                let v = v.to_str().unwrap();
                let (pair, attrs) = v.split_once(';').unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                (name.to_owned(), (value.to_owned(), attrs.trim().to_owned()))
            })
            .collect()
    }

    fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    async fn get(&self, uri: &str, cookies: &str) -> Answer {
        let mut request = Request::builder().uri(uri);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post_json(
        &self,
        uri: &str,
        cookies: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(Method::POST).uri(uri);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies);
        }
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn post_form(
        &self,
        cookies: &str,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/link")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookies);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Mounts Discord's token endpoint (the code works `times` times, then `invalid_grant`,
    /// as Discord refuses a used code) and the three reads.
    async fn mount_discord(&self, times: u64, email: &str) {
        Mock::given(method("POST"))
            .and(path("/api/oauth2/token"))
            .and(body_string_contains(format!("code={CODE}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": ACCESS, "token_type": "Bearer", "expires_in": 604800,
                "scope": "identify guilds guilds.members.read email",
            })))
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.discord)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/oauth2/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": "Invalid \"code\" in request."
            })))
            .with_priority(2)
            .mount(&self.discord)
            .await;
        let bearer = format!("Bearer {ACCESS}");
        Mock::given(method("GET"))
            .and(path("/api/v10/users/@me"))
            .and(header_is("authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": USER.to_string(), "username": "alice", "global_name": "Alice",
                "email": email, "verified": true,
            })))
            .mount(&self.discord)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v10/users/@me/guilds"))
            .and(header_is("authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"id": GUILD.to_string(), "name": "A", "owner": false, "permissions": "0"},
                {"id": EMAIL_GUILD.to_string(), "name": "B", "owner": false, "permissions": "0"},
            ])))
            .mount(&self.discord)
            .await;
        for g in [GUILD, EMAIL_GUILD] {
            Mock::given(method("GET"))
                .and(path(format!("/api/v10/users/@me/guilds/{g}/member")))
                .and(header_is("authorization", bearer.as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "user": {"id": USER.to_string(), "username": "alice"},
                    "roles": [ROLE.to_string()],
                })))
                .mount(&self.discord)
                .await;
        }
    }

    /// Starts a login for `guild` returning to `redirect`; the `state` Discord would send back.
    async fn begin(&self, guild: u64, redirect: &str) -> String {
        let uri = format!(
            "/api/v1/auth/discord/login?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("guild_id", &guild.to_string())
                .append_pair("redirect", redirect)
                .finish()
        );
        let a = self.get(&uri, "").await;
        assert_eq!(a.status, StatusCode::FOUND, "{}", a.text);
        let url = Url::parse(a.location()).unwrap();
        assert!(url.as_str().starts_with(&self.discord.uri()), "{url}");
        assert_eq!(url.path(), "/oauth2/authorize");
        url.query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    /// A whole login; the `Cookie` header a browser would send next (to every path).
    async fn sign_in(&self, guild: u64, redirect: &str) -> (Answer, String) {
        let state = self.begin(guild, redirect).await;
        let a = self
            .get(
                &format!("/api/v1/auth/discord/callback?code={CODE}&state={state}"),
                "",
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
        let jar = a
            .cookies()
            .iter()
            .map(|(k, (v, _))| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        (a, jar)
    }
}

fn problem_code(a: &Answer) -> &str {
    a.json["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn login_callback_token_me_refresh_and_logout() {
    let h = harness(true).await;
    h.mount_discord(1, "alice@example.com").await;
    let (a, jar) = h.sign_in(GUILD, "/dashboard?tab=meetings").await;
    assert_eq!(a.location(), "/dashboard?tab=meetings");
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    let cookies = a.cookies();
    let (access, attrs) = &cookies["kd_access"];
    assert_eq!(attrs, "Path=/; Max-Age=900; HttpOnly; SameSite=Lax; Secure");
    let (refresh, attrs) = &cookies["kd_refresh"];
    assert!(attrs.starts_with("Path=/api/v1/auth; Max-Age="), "{attrs}");
    assert!(
        attrs.ends_with("HttpOnly; SameSite=Strict; Secure"),
        "{attrs}"
    );
    assert_eq!(refresh.len(), 43);
    // Not a guild that maps members by email: no email note.
    assert!(!cookies.contains_key("kd_email"));
    // Discord's secrets never reach the browser.
    assert!(!a.text.contains(ACCESS) && !format!("{:?}", a.headers).contains(ACCESS));

    // /auth/me with the access token as a bearer token.
    let me = h.get_bearer("/api/v1/auth/me", access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json["user_id"], USER.to_string());
    assert_eq!(me.json["guild_id"], GUILD.to_string());
    assert_eq!(me.json["roles"], json!([ROLE.to_string()]));
    assert!(
        !me.json["permissions"].as_array().unwrap().is_empty(),
        "{}",
        me.text
    );
    let me = h.get("/api/v1/auth/me", &jar).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "cookies are not bearer tokens"
    );

    // Refresh with the cookie: a new JWT in the body, the new refresh token in the cookie.
    let r = h.post_json("/api/v1/auth/refresh", &jar, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 900);
    assert!(r.json.get("refresh_token").is_none(), "{}", r.text);
    let rotated = r.cookies()["kd_refresh"].0.clone();
    assert_ne!(&rotated, refresh);
    let fresh = r.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.get_bearer("/api/v1/auth/me", &fresh).await.status,
        StatusCode::OK
    );

    // Refresh with the body: the next refresh token comes back in the body.
    let r = h.refresh_body(&rotated).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let latest = r.json["refresh_token"].as_str().unwrap().to_owned();
    assert!(r.headers.get(header::SET_COOKIE).is_none());

    // Logout ends the session and clears the cookies; the token no longer refreshes.
    let out = h.logout_body(&latest).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let cleared = out.cookies();
    assert!(
        cleared
            .values()
            .all(|(v, attrs)| v.is_empty() && attrs.contains("Max-Age=0"))
    );
    assert_eq!(cleared.len(), 3);
    let r = h.refresh_body(&latest).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // Logging out twice is fine.
    let out = h.logout_body(&latest).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_refresh_token_used_twice_revokes_the_login() {
    let h = harness(true).await;
    h.mount_discord(1, "alice@example.com").await;
    let (a, _) = h.sign_in(GUILD, "/").await;
    let first = a.cookies()["kd_refresh"].0.clone();
    let r = h.refresh_body(&first).await;
    assert_eq!(r.status, StatusCode::OK);
    let second = r.json["refresh_token"].as_str().unwrap().to_owned();
    // The first token again (stolen and replayed): refused, and the whole login revoked.
    let replay = h.refresh_body(&first).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.text);
    assert!(
        replay.json["detail"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    let r = h.refresh_body(&second).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // A refused cookie is cleared.
    let r = h
        .post_json(
            "/api/v1/auth/refresh",
            &format!("kd_refresh={second}"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.cookies()["kd_refresh"].0, "");
    // Hostile tokens.
    for bad in ["", "../../etc/passwd", &"x".repeat(5000)] {
        let r = h.refresh_body(bad).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}: {}", r.text);
    }
    let r = h.post_json("/api/v1/auth/refresh", "", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = h
        .post_json(
            "/api/v1/auth/refresh",
            "",
            None,
            Some(json!({"refresh_token": 5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn wrong_states_replayed_codes_and_cancelled_logins() {
    let h = harness(true).await;
    h.mount_discord(1, "alice@example.com").await;
    // A state nobody issued, and a malformed one.
    for state in ["A".repeat(43), "../../etc".to_owned()] {
        let a = h
            .get(
                &format!("/api/v1/auth/discord/callback?code={CODE}&state={state}"),
                "",
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text);
        assert!(a.headers.get(header::SET_COOKIE).is_none());
    }
    // A good login, then the same callback again: the state is used up.
    let state = h.begin(GUILD, "/").await;
    let uri = format!("/api/v1/auth/discord/callback?code={CODE}&state={state}");
    assert_eq!(h.get(&uri, "").await.status, StatusCode::SEE_OTHER);
    let again = h.get(&uri, "").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text);
    assert!(again.json["detail"].as_str().unwrap().contains("state"));
    // The used code with a fresh state: Discord refuses it (invalid_grant).
    let state = h.begin(GUILD, "/").await;
    let replay = h
        .get(
            &format!("/api/v1/auth/discord/callback?code={CODE}&state={state}"),
            "",
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.text);
    assert!(
        replay.json["detail"]
            .as_str()
            .unwrap()
            .contains("invalid_grant")
    );
    assert!(replay.headers.get(header::SET_COOKIE).is_none());
    // The user cancelled at Discord.
    let state = h.begin(GUILD, "/").await;
    let cancelled = h
        .get(
            &format!("/api/v1/auth/discord/callback?error=access_denied&state={state}"),
            "",
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::UNAUTHORIZED);
    // Missing parameters, repeated parameters.
    let a = h.get("/api/v1/auth/discord/callback", "").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = h
        .get(
            &format!("/api/v1/auth/discord/callback?code={CODE}&code=x&state={state}"),
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // Hostile login parameters.
    for query in [
        "guild_id=../../etc",
        "guild_id=abc",
        "",
        "guild_id=613425648685547541&redirect=//evil.example/",
        "guild_id=613425648685547541&redirect=https://evil.example/",
    ] {
        let a = h
            .get(&format!("/api/v1/auth/discord/login?{query}"), "")
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}: {}", a.text);
        assert_eq!(problem_code(&a), "invalid_input");
    }
    // A member of other guilds only.
    let a = h.get("/api/v1/auth/discord/login?guild_id=42", "").await;
    let state = Url::parse(a.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    h.mount_discord(1, "alice@example.com").await;
    let a = h
        .get(
            &format!("/api/v1/auth/discord/callback?code={CODE}&state={state}"),
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
}

#[tokio::test]
async fn cookies_from_another_site_are_refused_and_login_can_be_missing() {
    let h = harness(true).await;
    h.mount_discord(1, "alice@example.com").await;
    let (_, jar) = h.sign_in(GUILD, "/").await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/refresh")
        .header(header::COOKIE, &jar)
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let a = h.send(request).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    assert_eq!(problem_code(&a), "cross_site");
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/refresh")
        .header(header::COOKIE, &jar)
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(request).await.status, StatusCode::OK);

    // Everywhere: needs a bearer token, ends every session of the member.
    let (a, _) = h.sign_in_again().await;
    let access = a.cookies()["kd_access"].0.clone();
    let other_refresh = a.cookies()["kd_refresh"].0.clone();
    let out = h
        .post_json(
            "/api/v1/auth/logout",
            "",
            None,
            Some(json!({"everywhere": true})),
        )
        .await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    let out = h
        .post_json(
            "/api/v1/auth/logout",
            "",
            Some(&access),
            Some(json!({"everywhere": true})),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let r = h.refresh_body(&other_refresh).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A gateway without the Discord login answers 503 on every auth endpoint and the page.
    let bare = harness(false).await;
    for uri in [
        "/api/v1/auth/discord/login?guild_id=1",
        "/api/v1/auth/discord/callback",
        "/link?guild_id=1",
    ] {
        let a = bare.get(uri, "").await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
    }
    let a = bare.post_json("/api/v1/auth/refresh", "", None, None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem_code(&a), "login_unavailable");
}

impl Harness {
    /// `POST /api/v1/auth/refresh` with the token in the body.
    async fn refresh_body(&self, token: &str) -> Answer {
        self.post_json(
            "/api/v1/auth/refresh",
            "",
            None,
            Some(json!({"refresh_token": token})),
        )
        .await
    }

    /// `POST /api/v1/auth/logout` with the token in the body.
    async fn logout_body(&self, token: &str) -> Answer {
        self.post_json(
            "/api/v1/auth/logout",
            "",
            None,
            Some(json!({"refresh_token": token})),
        )
        .await
    }

    async fn get_bearer(&self, uri: &str, token: &str) -> Answer {
        self.send(
            Request::builder()
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn sign_in_again(&self) -> (Answer, String) {
        self.mount_discord(1, "alice@example.com").await;
        self.sign_in(GUILD, "/").await
    }

    /// The page's form token, from the page.
    async fn form_token(&self, guild: u64, jar: &str) -> String {
        let page = self.get(&format!("/link?guild_id={guild}"), jar).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let at = page.text.find("name=\"form_token\" value=\"").unwrap() + 25;
        page.text[at..at + 32].to_owned()
    }

    async fn audit(&self, guild: u64) -> Vec<Value> {
        self.store
            .recent(guild_id(guild), 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| json!({"action": e.action.as_str(), "detail": e.detail}))
            .collect()
    }

    async fn linked(&self, guild: u64) -> Option<String> {
        self.store
            .find_by_discord(
                LinkScope::Guild(guild_id(guild)),
                DiscordUserId::new(USER).unwrap(),
            )
            .await
            .unwrap()
            .map(|l| l.kaltura_user.as_str().to_owned())
    }
}

fn guild_id(id: u64) -> GuildId {
    guild(id)
}

#[tokio::test]
async fn the_identity_page_links_after_a_kaltura_sign_in() {
    let h = harness(true).await;
    // Not signed in: through the Discord login, back to the page.
    let a = h.get(&format!("/link?guild_id={GUILD}"), "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.location(),
        format!(
            "/api/v1/auth/discord/login?guild_id={GUILD}&redirect=%2Flink%3Fguild_id%3D{GUILD}"
        )
    );
    for bad in ["/link", "/link?guild_id=../../etc"] {
        let a = h.get(bad, "").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            a.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    h.mount_discord(1, "alice@example.com").await;
    let (a, jar) = h.sign_in(GUILD, &format!("/link?guild_id={GUILD}")).await;
    assert_eq!(a.location(), format!("/link?guild_id={GUILD}"));
    let page = h.get(&format!("/link?guild_id={GUILD}"), &jar).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(page.text.contains("type=\"password\""));
    assert!(
        !page.text.contains("verified Discord email"),
        "not an email guild"
    );
    // The session is for one guild only.
    let other = h.get(&format!("/link?guild_id={EMAIL_GUILD}"), &jar).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    let token = h.form_token(GUILD, &jar).await;
    let g = GUILD.to_string();
    let form = |password: &'static str, token: String| {
        vec![
            ("guild_id", g.clone()),
            ("form_token", token),
            ("proof", "kaltura_login".to_owned()),
            ("login_id", "alice@example.com".to_owned()),
            ("password", password.to_owned()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let jar = jar.clone();
        let h = &h;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.post_form(&jar, origin, &pairs).await
        }
    };

    // Without the form token, with another token, or from another site: refused.
    let a = send(form("Alice#Demo1", String::new()), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    let a = send(form("Alice#Demo1", "0".repeat(32)), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(
        form("Alice#Demo1", token.clone()),
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(h.linked(GUILD).await, None);

    // A wrong password: refused, nothing linked, the attempt audited; never the password.
    let a = send(form("not-her-password", token.clone()), Some(ORIGIN)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    assert!(!a.text.contains("not-her-password"));
    assert_eq!(h.linked(GUILD).await, None);
    let audit = h.audit(GUILD).await;
    assert_eq!(audit[0]["action"], "kaltura_login_failed", "{audit:?}");
    assert_eq!(audit[0]["detail"]["login_id"], "alice@example.com");
    assert!(!audit[0].to_string().contains("not-her-password"));

    // The right password: linked with the Kaltura login as proof.
    let a = send(form("Alice#Demo1", token.clone()), Some(ORIGIN)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.text.contains("<code>alice</code>"), "{}", a.text);
    assert_eq!(h.linked(GUILD).await.as_deref(), Some("alice"));
    let audit = h.audit(GUILD).await;
    assert_eq!(audit[0]["action"], "identity_linked", "{audit:?}");
    assert_eq!(audit[0]["detail"]["proof"], "kaltura_login");
    let page = h.get(&format!("/link?guild_id={GUILD}"), &jar).await;
    assert!(
        page.text
            .contains("linked to Kaltura user <code>alice</code>")
    );

    // Wrong passwords are rate-limited per member: 429 with Retry-After, Kaltura not asked.
    let mut last = None;
    for _ in 0..6 {
        last = Some(send(form("wrong-again", token.clone()), None).await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.text);
    assert!(last.headers.contains_key(header::RETRY_AFTER));
    let a = send(form("Alice#Demo1", token.clone()), None).await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the limit holds for right passwords too"
    );

    // Bodies that are not forms, too large, or with a field twice.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/link")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &jar)
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        h.send(request).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let big = "x".repeat(10_000);
    let a = h.post_form(&jar, None, &[("login_id", &big)]).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    let a = h
        .post_form(&jar, None, &[("guild_id", &g), ("guild_id", &g)])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let _ = &h.fake;
}

#[tokio::test]
async fn a_verified_discord_email_proves_a_link_where_the_guild_allows_it() {
    let h = harness(true).await;
    h.mount_discord(2, "bob@example.com").await;
    let (a, jar) = h.sign_in(EMAIL_GUILD, "/").await;
    let (note, attrs) = a.cookies()["kd_email"].clone();
    assert!(
        attrs.starts_with("Path=/; Max-Age=600; HttpOnly; SameSite=Lax"),
        "{attrs}"
    );
    assert!(
        !note.contains("bob@example.com"),
        "the note is a signed token"
    );
    let page = h.get(&format!("/link?guild_id={EMAIL_GUILD}"), &jar).await;
    assert!(
        page.text.contains("verified Discord email"),
        "{}",
        page.text
    );
    let token = h.form_token(EMAIL_GUILD, &jar).await;
    let g = EMAIL_GUILD.to_string();
    // Another user's Kaltura id with this email: refused.
    let a = h
        .post_form(
            &jar,
            None,
            &[
                ("guild_id", &g),
                ("form_token", &token),
                ("proof", "verified_email"),
                ("kaltura_user", "alice"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    assert_eq!(h.linked(EMAIL_GUILD).await, None);
    // The Kaltura user whose email is the verified one.
    let a = h
        .post_form(
            &jar,
            None,
            &[
                ("guild_id", &g),
                ("form_token", &token),
                ("proof", "verified_email"),
                ("kaltura_user", "bob"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(h.linked(EMAIL_GUILD).await.as_deref(), Some("bob"));
    assert_eq!(
        h.audit(EMAIL_GUILD).await[0]["detail"]["proof"],
        "verified_email"
    );
    // A note forged or taken from another member does not open.
    let forged = jar.replace(&note, "eyJhbGciOiJIUzI1NiJ9.e30.x");
    let page = h
        .get(&format!("/link?guild_id={EMAIL_GUILD}"), &forged)
        .await;
    assert!(!page.text.contains("verified Discord email"));
    // In a guild that does not map by email, the email proof is refused.
    let (_, jar) = h.sign_in(GUILD, "/").await;
    let token = h.form_token(GUILD, &jar).await;
    let a = h
        .post_form(
            &jar,
            None,
            &[
                ("guild_id", &GUILD.to_string()),
                ("form_token", &token),
                ("proof", "verified_email"),
                ("kaltura_user", "bob"),
            ],
        )
        .await;
    assert_ne!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(h.linked(GUILD).await, None);
}

#[tokio::test]
async fn a_refresh_reads_the_members_current_roles_with_the_bot_token() {
    let h = harness_with(true, true).await;
    h.mount_discord(1, "alice@example.com").await;
    let (a, _) = h.sign_in(GUILD, "/").await;
    let refresh = a.cookies()["kd_refresh"].0.clone();
    // The member lost the role of the login and got another one.
    let member = Mock::given(method("GET"))
        .and(path(format!("/api/v10/guilds/{GUILD}/members/{USER}")))
        .and(header_is("authorization", "Bot bot-token-for-tests"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user": {"id": USER.to_string()}, "roles": ["555000000000000009"],
        })))
        .up_to_n_times(1)
        .mount_as_scoped(&h.discord)
        .await;
    let r = h.refresh_body(&refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    drop(member);
    let access = r.json["access_token"].as_str().unwrap().to_owned();
    let me = h.get_bearer("/api/v1/auth/me", &access).await;
    assert_eq!(
        me.json["roles"],
        json!(["555000000000000009"]),
        "{}",
        me.text
    );
    let next = r.json["refresh_token"].as_str().unwrap().to_owned();

    // Discord unavailable: the roles of the login are kept, the refresh works.
    let outage = Mock::given(method("GET"))
        .and(path(format!("/api/v10/guilds/{GUILD}/members/{USER}")))
        .respond_with(ResponseTemplate::new(500))
        .mount_as_scoped(&h.discord)
        .await;
    let r = h.refresh_body(&next).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    drop(outage);
    let next = r.json["refresh_token"].as_str().unwrap().to_owned();

    // The member left the guild: the refresh is refused and the session ended.
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/guilds/{GUILD}/members/{USER}")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 10007, "message": "Unknown Member"})),
        )
        .mount(&h.discord)
        .await;
    let r = h.refresh_body(&next).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(
        r.json["detail"]
            .as_str()
            .unwrap()
            .contains("no longer a member")
    );
}
