//! The Discord OAuth2 login (`gateway::oauth`) against a fake Discord (wiremock on
//! loopback): begin → callback → `DiscordLogin`, PKCE, one-use states, Discord's refusals,
//! outages and malformed answers, and secrets kept out of errors and logs.

use std::collections::HashMap;
use std::sync::Arc;

use kaltura_client::clock::ManualClock;
use kaltura_discord::gateway::oauth::{
    DiscordEndpoints, DiscordOAuth, OAuthConfig, SCOPES, pkce_challenge,
};
use kaltura_discord::gateway::{GatewayError, StateRefusal};
use kaltura_discord::store::MemoryStore;
use kaltura_discord::{ApplicationId, DiscordUserId, Error, ErrorKind, GuildId, RoleId};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const T0: i64 = 1_700_000_000;
const CLIENT_ID: u64 = 1_100_000_000_000_000_001;
const CLIENT_SECRET: &str = "client-s3cret-that-must-not-leak";
const ACCESS: &str = "discord-acc3ss-token-that-must-not-leak";
const CODE: &str = "NhhvTDYsFcdgNLnnLijcl7Ku7bEEeee";
const GUILD: u64 = 613_425_648_685_547_541;
const USER: u64 = 80_351_110_224_678_912;
const REDIRECT_URI: &str = "https://gateway.example/api/v1/auth/discord/callback";

fn guild(id: u64) -> GuildId {
    GuildId::new(id).unwrap()
}

struct Fixture {
    discord: MockServer,
    oauth: DiscordOAuth,
    clock: ManualClock,
}

async fn fixture() -> Fixture {
    let discord = MockServer::start().await;
    let clock = ManualClock::new(T0);
    let oauth = DiscordOAuth::new(
        OAuthConfig {
            client_id: ApplicationId::new(CLIENT_ID).unwrap(),
            client_secret: SecretString::from(CLIENT_SECRET),
            redirect_uri: Url::parse(REDIRECT_URI).unwrap(),
            endpoints: DiscordEndpoints::under(&discord.uri()).unwrap(),
        },
        Arc::new(MemoryStore::new()),
    )
    .unwrap()
    .with_clock(Arc::new(clock.clone()));
    Fixture {
        discord,
        oauth,
        clock,
    }
}

/// The query of the authorize URL `begin` returned.
fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Matches a token request whose form is a correct PKCE exchange: the right grant, code,
/// client, secret and redirect URI, and a verifier whose S256 challenge is `challenge`.
struct TokenExchange {
    challenge: String,
}

impl wiremock::Match for TokenExchange {
    fn matches(&self, request: &Request) -> bool {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |k: &str| form.get(k).map(String::as_str);
        request.headers.get("content-type").is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        }) && get("grant_type") == Some("authorization_code")
            && get("code") == Some(CODE)
            && get("client_id") == Some(&CLIENT_ID.to_string())
            && get("client_secret") == Some(CLIENT_SECRET)
            && get("redirect_uri") == Some(REDIRECT_URI)
            && get("code_verifier").is_some_and(|v| pkce_challenge(v) == self.challenge)
    }
}

fn token_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": ACCESS,
        "token_type": "Bearer",
        "expires_in": 604800,
        "refresh_token": "discord-refresh-token",
        "scope": SCOPES,
    }))
}

/// Mounts the three API reads, answered only with the right bearer token.
async fn mount_api(discord: &MockServer, verified: bool, guilds: &[u64]) {
    let bearer = format!("Bearer {ACCESS}");
    Mock::given(method("GET"))
        .and(path("/api/v10/users/@me"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": USER.to_string(),
            "username": "nelly",
            "discriminator": "0",
            "global_name": "Nelly",
            "avatar": null,
            "email": "nelly@example.com",
            "verified": verified,
        })))
        .mount(discord)
        .await;
    let guild_list: Vec<_> = guilds
        .iter()
        .map(|g| json!({"id": g.to_string(), "name": "A server", "owner": false, "permissions": "0"}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v10/users/@me/guilds"))
        .and(query_param("limit", "200"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(guild_list)))
        .mount(discord)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/users/@me/guilds/{GUILD}/member")))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user": {"id": USER.to_string(), "username": "nelly"},
            "nick": null,
            "roles": ["41771983423143936", "41771983423143937"],
            "joined_at": "2015-04-26T06:26:56.936000+00:00",
        })))
        .mount(discord)
        .await;
}

/// Starts a login and returns its `state` and PKCE challenge.
async fn begin(f: &Fixture) -> (String, String) {
    let url = f
        .oauth
        .begin(guild(GUILD), "/dashboard?tab=meetings")
        .await
        .unwrap();
    let q = query(&url);
    (q["state"].clone(), q["code_challenge"].clone())
}

#[track_caller]
fn assert_gateway(
    result: Result<impl std::fmt::Debug, Error>,
    check: impl Fn(&GatewayError) -> bool,
) {
    match result {
        Err(Error::Gateway(e)) if check(&e) => {}
        other => panic!("unexpected result: {other:?}"),
    }
}

#[tokio::test]
async fn full_login_returns_the_member() {
    let f = fixture().await;
    let url = f
        .oauth
        .begin(guild(GUILD), "/dashboard?tab=meetings")
        .await
        .unwrap();
    assert_eq!(url.path(), "/oauth2/authorize");
    let q = query(&url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID.to_string());
    assert_eq!(q["scope"], "identify guilds guilds.members.read email");
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"].len(), 43);
    assert_eq!(q["code_challenge"].len(), 43);
    // A second login gets its own state and challenge.
    let (other_state, other_challenge) = begin(&f).await;
    assert_ne!(other_state, q["state"]);
    assert_ne!(other_challenge, q["code_challenge"]);

    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .and(TokenExchange {
            challenge: q["code_challenge"].clone(),
        })
        .respond_with(token_ok())
        .expect(1)
        .mount(&f.discord)
        .await;
    mount_api(&f.discord, true, &[1, GUILD, 7]).await;

    let login = f.oauth.finish(&q["state"], CODE).await.unwrap();
    assert_eq!(login.user, DiscordUserId::new(USER).unwrap());
    assert_eq!(login.username, "nelly");
    assert_eq!(login.global_name.as_deref(), Some("Nelly"));
    assert_eq!(login.verified_email.as_deref(), Some("nelly@example.com"));
    assert_eq!(login.guilds, vec![guild(1), guild(7), guild(GUILD)]);
    assert_eq!(login.guild, guild(GUILD));
    assert_eq!(
        login.roles,
        vec![
            RoleId::new(41771983423143936).unwrap(),
            RoleId::new(41771983423143937).unwrap()
        ]
    );
    assert_eq!(login.redirect, "/dashboard?tab=meetings");
}

#[tokio::test]
async fn an_unverified_email_is_not_returned() {
    let f = fixture().await;
    let (state, challenge) = begin(&f).await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .and(TokenExchange { challenge })
        .respond_with(token_ok())
        .mount(&f.discord)
        .await;
    mount_api(&f.discord, false, &[GUILD]).await;
    let login = f.oauth.finish(&state, CODE).await.unwrap();
    assert_eq!(login.verified_email, None);
}

#[tokio::test]
async fn wrong_malformed_replayed_and_expired_states_are_refused() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(token_ok())
        .up_to_n_times(1)
        .expect(1)
        .mount(&f.discord)
        .await;
    mount_api(&f.discord, true, &[GUILD]).await;
    let (state, _) = begin(&f).await;
    // A well-formed state nobody issued.
    let wrong = "A".repeat(43);
    let result = f.oauth.finish(&wrong, CODE).await;
    assert_eq!(
        result.as_ref().err().map(Error::kind),
        Some(ErrorKind::Unauthenticated)
    );
    assert_gateway(result, |e| {
        matches!(
            e,
            GatewayError::InvalidState {
                reason: StateRefusal::UnknownOrUsed
            }
        )
    });
    // Hostile input never reaches the store.
    for bad in ["", "../../etc/passwd", &"x".repeat(5000), "' OR 1=1 --"] {
        assert_gateway(f.oauth.finish(bad, CODE).await, |e| {
            matches!(
                e,
                GatewayError::InvalidState {
                    reason: StateRefusal::Malformed
                }
            )
        });
    }
    // The real state works once, then is refused (the token endpoint is called once).
    f.oauth.finish(&state, CODE).await.unwrap();
    assert_gateway(f.oauth.finish(&state, CODE).await, |e| {
        matches!(
            e,
            GatewayError::InvalidState {
                reason: StateRefusal::UnknownOrUsed
            }
        )
    });
    // A state older than 10 minutes is refused, and stays refused.
    let (late, _) = begin(&f).await;
    f.clock.advance(600);
    assert_gateway(f.oauth.finish(&late, CODE).await, |e| {
        matches!(
            e,
            GatewayError::InvalidState {
                reason: StateRefusal::Expired
            }
        )
    });
    assert_gateway(f.oauth.finish(&late, CODE).await, |e| {
        matches!(
            e,
            GatewayError::InvalidState {
                reason: StateRefusal::UnknownOrUsed
            }
        )
    });
    // Just inside the window is fine.
    let (in_time, _) = begin(&f).await;
    f.clock.advance(599);
    let result = f.oauth.finish(&in_time, CODE).await;
    // (The token mock expects one call; this one is answered by wiremock's 404.)
    assert_gateway(result, |e| {
        matches!(e, GatewayError::DiscordStatus { status: 404, .. })
    });
}

#[tokio::test]
async fn abandoned_logins_are_purged() {
    let f = fixture().await;
    let (old, _) = begin(&f).await;
    let (older, _) = begin(&f).await;
    f.clock.advance(300);
    let (fresh, _) = begin(&f).await;
    assert_eq!(f.oauth.purge_expired().await.unwrap(), 0);
    f.clock.advance(300);
    assert_eq!(f.oauth.purge_expired().await.unwrap(), 2);
    for state in [&old, &older] {
        assert_gateway(f.oauth.finish(state, CODE).await, |e| {
            matches!(
                e,
                GatewayError::InvalidState {
                    reason: StateRefusal::UnknownOrUsed
                }
            )
        });
    }
    // The fresh login is still pending (it reaches Discord, here wiremock's 404).
    assert_gateway(f.oauth.finish(&fresh, CODE).await, |e| {
        matches!(e, GatewayError::DiscordStatus { status: 404, .. })
    });
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_discord() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(token_ok())
        .up_to_n_times(1)
        .expect(1)
        .mount(&f.discord)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "Invalid \"code\" in request."
        })))
        .mount(&f.discord)
        .await;
    mount_api(&f.discord, true, &[GUILD]).await;
    let (first, _) = begin(&f).await;
    f.oauth.finish(&first, CODE).await.unwrap();
    // The same code with a fresh, valid state: Discord refuses it.
    let (second, _) = begin(&f).await;
    let result = f.oauth.finish(&second, CODE).await;
    let err = result.as_ref().err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(
        err.to_string(),
        "Discord refused the login: invalid_grant (Invalid \"code\" in request.)"
    );
    assert_gateway(
        result,
        |e| matches!(e, GatewayError::DiscordRefused { error, .. } if error == "invalid_grant"),
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_setup_problem() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&f.discord)
        .await;
    let (state, _) = begin(&f).await;
    let err = f.oauth.finish(&state, CODE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Misconfigured);
}

#[tokio::test]
async fn token_endpoint_outages_are_unavailable() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .up_to_n_times(1)
        .mount(&f.discord)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .mount(&f.discord)
        .await;
    for expected in ["HTTP status 502", "rate limited (HTTP 429)"] {
        let (state, _) = begin(&f).await;
        let result = f.oauth.finish(&state, CODE).await;
        assert_eq!(
            result.as_ref().err().map(Error::kind),
            Some(ErrorKind::Unavailable)
        );
        assert_gateway(
            result,
            |e| matches!(e, GatewayError::DiscordUnavailable { step: "the token exchange", reason } if reason == expected),
        );
    }
}

#[tokio::test]
async fn an_unreachable_discord_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let oauth = DiscordOAuth::new(
        OAuthConfig {
            client_id: ApplicationId::new(CLIENT_ID).unwrap(),
            client_secret: SecretString::from(CLIENT_SECRET),
            redirect_uri: Url::parse(REDIRECT_URI).unwrap(),
            endpoints: DiscordEndpoints::under(&base).unwrap(),
        },
        Arc::new(MemoryStore::new()),
    )
    .unwrap();
    let url = oauth.begin(guild(GUILD), "/").await.unwrap();
    let state = query(&url)["state"].clone();
    let err = oauth.finish(&state, CODE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn malformed_answers_are_upstream_errors() {
    let f = fixture().await;
    // Not JSON, then JSON of the wrong shape (the access token as a number).
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"access_token\": \"abc"))
        .up_to_n_times(1)
        .mount(&f.discord)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": 12345, "token_type": "Bearer"})),
        )
        .up_to_n_times(1)
        .mount(&f.discord)
        .await;
    let (state, _) = begin(&f).await;
    let result = f.oauth.finish(&state, CODE).await;
    assert_eq!(
        result.as_ref().err().map(Error::kind),
        Some(ErrorKind::Upstream)
    );
    assert_gateway(
        result,
        |e| matches!(e, GatewayError::Malformed { reason, .. } if reason == "the answer is not JSON"),
    );
    let (state, _) = begin(&f).await;
    let result = f.oauth.finish(&state, CODE).await;
    assert_gateway(
        result,
        |e| matches!(e, GatewayError::Malformed { reason, .. } if reason.contains("access_token")),
    );

    // A good token, then a user whose id is not a snowflake.
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(token_ok())
        .mount(&f.discord)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v10/users/@me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "../../etc", "username": "x"})),
        )
        .mount(&f.discord)
        .await;
    let (state, _) = begin(&f).await;
    assert_gateway(
        f.oauth.finish(&state, CODE).await,
        |e| matches!(e, GatewayError::Malformed { step: "reading the user", reason } if reason.contains("`id`")),
    );
}

#[tokio::test]
async fn a_user_outside_the_guild_is_refused() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(token_ok())
        .mount(&f.discord)
        .await;
    mount_api(&f.discord, true, &[1, 2]).await;
    let (state, _) = begin(&f).await;
    let result = f.oauth.finish(&state, CODE).await;
    assert_eq!(
        result.as_ref().err().map(Error::kind),
        Some(ErrorKind::Denied)
    );
    assert_gateway(
        result,
        |e| matches!(e, GatewayError::NotAMember { guild: g } if *g == guild(GUILD)),
    );
}

#[tokio::test]
async fn hostile_redirects_and_codes_are_refused() {
    let f = fixture().await;
    for bad in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "relative",
        "",
    ] {
        let err = f.oauth.begin(guild(GUILD), bad).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "redirect",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
    let (state, _) = begin(&f).await;
    let err = f
        .oauth
        .finish(&state, "code with spaces")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { field: "code", .. }),
        "{err:?}"
    );
    // The state was not used up by the refused code.
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(token_ok())
        .mount(&f.discord)
        .await;
    mount_api(&f.discord, true, &[GUILD]).await;
    f.oauth.finish(&state, CODE).await.unwrap();
}

/// The client secret, the PKCE verifier, Discord's access token and the code appear in no
/// error, no `Debug` output and no log line.
#[test]
fn secrets_stay_out_of_logs_errors_and_debug_output() {
    use crate::support::Captured;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (shown, verifiers) = runtime.block_on(async {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path("/api/oauth2/token"))
            .respond_with(token_ok())
            .up_to_n_times(1)
            .mount(&f.discord)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/oauth2/token"))
            .respond_with(
                ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})),
            )
            .mount(&f.discord)
            .await;
        mount_api(&f.discord, true, &[GUILD]).await;
        let (state, _) = begin(&f).await;
        let login = f.oauth.finish(&state, CODE).await.unwrap();
        let (state2, _) = begin(&f).await;
        let refused = f.oauth.finish(&state2, CODE).await.unwrap_err();
        let replayed = f.oauth.finish(&state, CODE).await.unwrap_err();
        let verifiers: Vec<String> = f
            .discord
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                url::form_urlencoded::parse(&r.body)
                    .find(|(k, _)| k == "code_verifier")
                    .map(|(_, v)| v.into_owned())
            })
            .collect();
        (
            vec![
                format!("{login:?}"),
                format!("{refused:?} {refused}"),
                format!("{replayed:?} {replayed}"),
                format!("{:?}", f.oauth),
            ],
            verifiers,
        )
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("Discord login"),
        "the client's logs were captured: {logs}"
    );
    assert_eq!(verifiers.len(), 2);
    let secrets: Vec<&str> = [CLIENT_SECRET, ACCESS, CODE]
        .into_iter()
        .chain(verifiers.iter().map(String::as_str))
        .collect();
    for text in shown.iter().chain(std::iter::once(&logs)) {
        for secret in &secrets {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}
