//! `kaltura-bot` as a real process: `commands` prints the registration JSON; `dev` starts
//! everything on loopback and its console, driven through stdin, goes from a slash command
//! to a join link, presses buttons and switches personas; the endpoint answers a signed PING
//! and refuses an unsigned one; SIGTERM stops it cleanly.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ed25519_dalek::{Signer as _, SigningKey};

const BIN: &str = env!("CARGO_BIN_EXE_kaltura-bot");
/// How long a step may take before the test fails (a bound for failure, not a timing).
const STEP: Duration = Duration::from_secs(90);

/// Kills the bot when the test ends, even on a failed assertion.
struct Bot {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("KD_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn")
        .current_dir(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

fn spawn_dev(data_dir: &std::path::Path, extra: &[&str]) -> Bot {
    let mut cmd = command(data_dir);
    cmd.args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.join("data"))
        .args(extra);
    let mut child = cmd.spawn().expect("spawn kaltura-bot");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stdin = child.stdin.take();
    Bot {
        child,
        stdin,
        lines,
        seen: String::new(),
    }
}

impl Bot {
    /// Reads output until a line contains `needle`; returns that line.
    fn expect(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(STEP) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; output so far:\n{}", self.seen),
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to the console");
        stdin.flush().expect("flush the console");
    }
}

fn endpoint_addr(line: &str) -> String {
    let url = line.split_whitespace().last().expect("endpoint URL");
    url.trim_start_matches("http://")
        .trim_end_matches("/interactions")
        .to_owned()
}

/// One HTTP/1.1 POST; returns (status code, body).
fn post(addr: &str, body: &str, headers: &[(&str, String)]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the endpoint");
    let mut head = format!(
        "POST /interactions HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, body.to_owned())
}

#[test]
fn commands_prints_the_registration_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .arg("commands")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kaltura", "kaltura-admin"]);
    assert_eq!(json[1]["default_member_permissions"], "32");
}

#[test]
fn register_without_a_token_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .arg("register")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("discord.token is not configured (KD__DISCORD__TOKEN)"),
        "{stderr}"
    );
}

#[test]
fn dev_console_goes_from_a_slash_command_to_a_join_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut bot = spawn_dev(dir.path(), &[]);
    let endpoint = bot.expect("endpoint");
    let addr = endpoint_addr(&endpoint);
    bot.expect("You are \"admin\"");

    bot.type_line(r#"/kaltura meeting start title:"Weekly sync" type:webinar"#);
    bot.expect("┃ Weekly sync");
    bot.expect("[1] Join");
    bot.expect("[2] End");
    bot.type_line("1");
    let join = bot.expect("Join meeting");
    assert!(join.contains("http"), "{join}");

    // Another member presses Join on the same card and gets their own link.
    bot.type_line(":as member");
    bot.expect("you are now \"member\"");
    bot.type_line("/kaltura meeting list");
    bot.expect("Weekly sync");

    // A plain member may not change the configuration.
    bot.type_line("/kaltura-admin config explain key:meetings");
    bot.expect("manage_config");

    bot.type_line("/kaltura video search query:intro");
    bot.expect("┃");

    bot.type_line("/kaltura nonsense");
    bot.expect("no subcommand `nonsense`");

    // The endpoint refuses what the console did not sign.
    let (status, _) = post(&addr, r#"{"type":1}"#, &[]);
    assert_eq!(status, 401);

    // Closing stdin keeps the servers up until SIGTERM.
    drop(bot.stdin.take());
    bot.expect("stdin closed; serving until Ctrl-C");
    let (status, _) = post(&addr, r#"{"type":1}"#, &[]);
    assert_eq!(status, 401);
    let pid = bot.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = bot.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn dev_console_upload_makes_an_entry_ready_message_appear() {
    let dir = tempfile::tempdir().unwrap();
    let mut bot = spawn_dev(dir.path(), &[]);
    let webhooks = bot.expect("Kaltura webhooks");
    assert!(webhooks.contains("/webhooks/kaltura/"), "{webhooks}");
    bot.expect("You are \"admin\"");

    // The fake Kaltura notifies the in-process receiver (signed, through the templates
    // `setup` created at start); the router and a worker post into the dev channel.
    bot.type_line(r#":upload "Intro lecture Q7X""#);
    bot.expect("uploaded \"Intro lecture Q7X\"");
    bot.expect("[Discord: channel message]");
    bot.expect("Intro lecture Q7X");

    bot.type_line(":upload");
    bot.expect("usage: :upload");
}

#[test]
fn dev_endpoint_verifies_with_a_given_public_key() {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = hex::encode(key.verifying_key().to_bytes());
    let dir = tempfile::tempdir().unwrap();
    let mut bot = spawn_dev(dir.path(), &["--discord-public-key", &public]);
    let endpoint = bot.expect("endpoint");
    let addr = endpoint_addr(&endpoint);
    bot.expect(&public);

    let body = r#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;
    let timestamp = "1800000000".to_owned();
    let signature = hex::encode(key.sign(format!("{timestamp}{body}").as_bytes()).to_bytes());
    let (status, answer) = post(
        &addr,
        body,
        &[
            ("X-Signature-Ed25519", signature.clone()),
            ("X-Signature-Timestamp", timestamp.clone()),
        ],
    );
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["type"], 1);
    // The same signature over another timestamp is refused.
    let (status, _) = post(
        &addr,
        body,
        &[
            ("X-Signature-Ed25519", signature),
            ("X-Signature-Timestamp", "1800000001".to_owned()),
        ],
    );
    assert_eq!(status, 401);

    // The console still works: it talks to an in-process endpoint with its own key.
    bot.type_line("/kaltura whoami");
    bot.expect("discord_");
    bot.type_line(":quit");
    bot.expect("stdin closed; serving until Ctrl-C");
}

/// The environment of a bot configured for Discord, with the fake Kaltura in process.
fn discord_env(cmd: &mut Command, api_url: Option<&str>) {
    cmd.env("KD__DISCORD__TOKEN", "cli-test-bot-token")
        .env("KD__DISCORD__APPLICATION_ID", "123456789012345678")
        .env(
            "KD__DISCORD__PUBLIC_KEY",
            hex::encode(
                SigningKey::from_bytes(&[7u8; 32])
                    .verifying_key()
                    .to_bytes(),
            ),
        );
    if let Some(url) = api_url {
        cmd.env("KD_DISCORD_API_URL", url);
    }
}

#[test]
fn register_pushes_the_commands_and_says_what_changed() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    let route = "/api/v10/applications/123456789012345678/guilds/613425648685547541/commands";
    rt.block_on(async {
        Mock::given(method("GET"))
            .and(path(route))
            .and(header("authorization", "Bot cli-test-bot-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                {"id": "11", "name": "kaltura", "type": 1, "description": "old", "application_id": "123456789012345678", "version": "1"},
                {"id": "12", "name": "obsolete", "type": 1, "description": "old", "application_id": "123456789012345678", "version": "1"}
            ])))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path(route))
            .and(header("authorization", "Bot cli-test-bot-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                {"id": "11", "name": "kaltura", "type": 1, "description": "new", "application_id": "123456789012345678", "version": "2"},
                {"id": "13", "name": "kaltura-admin", "type": 1, "description": "new", "application_id": "123456789012345678", "version": "1"}
            ])))
            .expect(1)
            .mount(&server)
            .await;
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    discord_env(&mut cmd, Some(&server.uri()));
    let out = cmd
        .args(["register", "--guild", "613425648685547541"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "registered 2 command(s) in guild 613425648685547541\n  added:   /kaltura-admin\n  updated: /kaltura\n  removed: /obsolete\n"
    );
    // The body sent is the registration JSON the `commands` subcommand prints.
    let requests = rt.block_on(server.received_requests()).unwrap();
    let put = requests
        .iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&put.body).unwrap();
    let printed = command(dir.path())
        .arg("commands")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(sent, printed);
    rt.block_on(server.verify());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cli-test-bot-token"));
}

#[test]
fn http_mode_serves_the_endpoint_with_the_configured_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    discord_env(&mut cmd, Some("http://127.0.0.1:9"));
    cmd.env("RUST_LOG", "info")
        .env("KD__DATABASE__URL", "sqlite://data/bot.db")
        .args(["http", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut bot = Bot {
        child,
        stdin: None,
        lines: {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        },
        seen: String::new(),
    };
    let line = bot.expect("interactions endpoint listening at http://");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let body = r#"{"type":1}"#;
    let timestamp = "1800000000".to_owned();
    let signature = hex::encode(key.sign(format!("{timestamp}{body}").as_bytes()).to_bytes());
    let (status, answer) = post(
        &addr,
        body,
        &[
            ("X-Signature-Ed25519", signature),
            ("X-Signature-Timestamp", timestamp),
        ],
    );
    assert_eq!((status, answer.as_str()), (200, r#"{"type":1}"#));
    let (status, _) = post(&addr, body, &[]);
    assert_eq!(status, 401);
    let pid = bot.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(bot.child.wait().unwrap().success());
    assert!(!bot.seen.contains("cli-test-bot-token"));
}
