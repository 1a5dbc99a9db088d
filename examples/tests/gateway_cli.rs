//! `kaltura-gateway` as a real process over real sockets: the Discord login against a fake
//! Discord (wiremock), the cookies and tokens it issues, `/auth/me`, refresh and logout; an
//! incomplete login configuration refused at start; meetings mirrored as scheduled events
//! through the bot token's REST client.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_kaltura-gateway");
/// How long a step may take before the test fails (a bound for failure, not a timing).
const STEP: Duration = Duration::from_secs(120);
const GUILD: u64 = 613_425_648_685_547_541;
const USER: u64 = 80_351_110_224_678_912;
const SECRET: &str = "gateway-cli-test-secret-of-32-bytes-or-more";
const CLIENT_SECRET: &str = "cli-client-s3cret-never-logged";

/// A running `kaltura-gateway`; killed when dropped.
struct Server {
    _child: tokio::process::Child,
    url: String,
}

fn command(dir: &Path, discord: &str, env: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("KD_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn")
        .env("KD_GATEWAY_JWT_SECRET", SECRET)
        .env(
            "KD__DATABASE__URL",
            format!("sqlite://{}", dir.join("gateway.db").display()),
        )
        .env("KD_DISCORD_OAUTH_URL", discord)
        .envs(env.iter().copied())
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

async fn serve(dir: &Path, discord: &str) -> Server {
    serve_with(
        dir,
        discord,
        &[
            ("KD__HTTP__GATEWAY_PUBLIC_URL", "http://gateway.test"),
            ("KD__DISCORD__APPLICATION_ID", "1100000000000000001"),
            ("KD__DISCORD__CLIENT_SECRET", CLIENT_SECRET),
        ],
    )
    .await
}

async fn serve_with(dir: &Path, discord: &str, env: &[(&str, &str)]) -> Server {
    let mut cmd = command(dir, discord, env);
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn kaltura-gateway");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(STEP, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line.contains("listening on http://") {
                return line;
            }
        }
        panic!("kaltura-gateway exited before listening");
    })
    .await
    .expect("kaltura-gateway did not start in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = format!("http://{}", line.split("http://").nth(1).unwrap().trim());
    Server { _child: child, url }
}

async fn fake_discord() -> MockServer {
    let discord = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "discord-access", "token_type": "Bearer", "expires_in": 604800,
            "scope": "identify guilds guilds.members.read email",
        })))
        .up_to_n_times(1)
        .mount(&discord)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v10/users/@me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": USER.to_string(), "username": "nelly", "verified": false,
        })))
        .mount(&discord)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v10/users/@me/guilds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": GUILD.to_string(), "name": "A", "owner": false, "permissions": "0"}
        ])))
        .mount(&discord)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/users/@me/guilds/{GUILD}/member")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roles": []})))
        .mount(&discord)
        .await;
    discord
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn cookie_value(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_discord_login_over_real_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let discord = fake_discord().await;
    let server = serve(dir.path(), &discord.uri()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let login = http
        .get(format!(
            "{}/api/v1/auth/discord/login?guild_id={GUILD}&redirect=/",
            server.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let authorize =
        url::Url::parse(login.headers()[reqwest::header::LOCATION].to_str().unwrap()).unwrap();
    assert!(authorize.as_str().starts_with(&discord.uri()));
    let query: std::collections::HashMap<String, String> =
        authorize.query_pairs().into_owned().collect();
    assert_eq!(
        query["redirect_uri"],
        "http://gateway.test/api/v1/auth/discord/callback"
    );

    let callback = http
        .get(format!(
            "{}/api/v1/auth/discord/callback?code=the-code&state={}",
            server.url, query["state"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 303);
    let cookies = set_cookies(&callback);
    // An http public URL: cookies without `Secure` (a development setup).
    assert!(cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
    let access = cookie_value(&cookies, "kd_access");
    let refresh = cookie_value(&cookies, "kd_refresh");

    let me: Value = http
        .get(format!("{}/api/v1/auth/me", server.url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user_id"], USER.to_string());
    assert_eq!(me["guild_id"], GUILD.to_string());

    let meetings = http
        .get(format!("{}/api/v1/guilds/{GUILD}/meetings", server.url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(meetings.status(), 200);

    let refreshed = http
        .post(format!("{}/api/v1/auth/refresh", server.url))
        .header(reqwest::header::COOKIE, format!("kd_refresh={refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let next = cookie_value(&set_cookies(&refreshed), "kd_refresh");
    assert_ne!(next, refresh);

    let out = http
        .post(format!("{}/api/v1/auth/logout", server.url))
        .header(reqwest::header::COOKIE, format!("kd_refresh={next}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let again = http
        .post(format!("{}/api/v1/auth/refresh", server.url))
        .json(&json!({"refresh_token": next}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_login_configuration_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(
        dir.path(),
        "http://127.0.0.1:9",
        &[
            ("KD__HTTP__GATEWAY_PUBLIC_URL", "https://kd.example.org"),
            ("KD__DISCORD__CLIENT_SECRET", CLIENT_SECRET),
        ],
    );
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let output = tokio::time::timeout(STEP, cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("discord.application_id"), "{stderr}");
    assert!(!stderr.contains(CLIENT_SECRET), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meetings_are_mirrored_as_scheduled_events_with_a_bot_token() {
    const ROLE: u64 = 555_000_000_000_000_001;
    const EVENT: u64 = 777_000_000_000_000_001;
    let dir = tempfile::tempdir().unwrap();
    let guilds = dir.path().join("guilds");
    std::fs::create_dir_all(&guilds).unwrap();
    std::fs::write(
        guilds.join(format!("{GUILD}.json")),
        json!({
            "rbac": {"roles": {ROLE.to_string(): "moderator"}},
            "meetings": {"discord_events": true},
        })
        .to_string(),
    )
    .unwrap();
    let discord = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/guilds/{GUILD}/scheduled-events")))
        .and(header("authorization", "Bot cli-bot-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": EVENT.to_string(), "guild_id": GUILD.to_string()})),
        )
        .expect(1)
        .mount(&discord)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/api/v10/guilds/{GUILD}/scheduled-events/{EVENT}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": EVENT.to_string()})))
        .expect(1)
        .mount(&discord)
        .await;
    let env = [
        ("KD_GUILD_DIR", guilds.to_str().unwrap()),
        ("KD__DISCORD__TOKEN", "cli-bot-token"),
        ("KD_DISCORD_API_URL", &discord.uri()),
    ];
    let issued = tokio::time::timeout(
        STEP,
        command(dir.path(), "http://127.0.0.1:9", &env)
            .args([
                "--issue-token",
                &USER.to_string(),
                &GUILD.to_string(),
                "--role",
                &ROLE.to_string(),
            ])
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(issued.status.success(), "{issued:?}");
    let token = String::from_utf8(issued.stdout).unwrap().trim().to_owned();
    let server = serve_with(dir.path(), "http://127.0.0.1:9", &env).await;
    let http = reqwest::Client::new();

    let started = http
        .post(format!("{}/api/v1/guilds/{GUILD}/meetings", server.url))
        .bearer_auth(&token)
        .json(&json!({"title": "Town hall"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    let meeting: Value = started.json().await.unwrap();
    let ended = http
        .post(format!(
            "{}/api/v1/guilds/{GUILD}/meetings/{}/end",
            server.url, meeting["id"]
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);

    let requests = discord.received_requests().await.unwrap_or_default();
    let bodies: Vec<(String, Value)> = requests
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[0].0, "POST");
    assert_eq!(bodies[0].1["name"], "Town hall");
    assert_eq!(bodies[0].1["entity_type"], 3, "external");
    assert_eq!(
        bodies[1],
        ("PATCH".to_owned(), json!({"status": 3})),
        "completed"
    );
    discord.verify().await;
}
