//! `fake-kaltura` as a real process: it binds the address it is given, prints where it
//! listens, answers API calls, and survives a closed stdout.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_fake-kaltura");
const SECRET: &str = "cli-admin-secret-0123456789abcdef";

/// Kills the server when the test ends, even on a failed assertion.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(listen: &str, stdout: Stdio) -> Server {
    let child = Command::new(BIN)
        .args([
            "--listen",
            listen,
            "--admin-secret",
            SECRET,
            "--partner-id",
            "4242",
            "--seed-demo-data",
        ])
        .env_remove("FAKE_KALTURA_LISTEN")
        .env_remove("FAKE_KALTURA_PUBLIC_URL")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fake-kaltura");
    Server(child)
}

/// One HTTP/1.1 request on a fresh connection; returns (status line, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to fake-kaltura");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// Reads stderr until the server logs that it is ready (after its banner); a panic or exit
/// before that fails the test with what it wrote.
fn wait_ready(server: &mut Server) {
    let stderr = server.0.stderr.take().expect("piped stderr");
    let mut seen = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        assert!(!line.contains("panicked"), "{seen}");
        if line.contains("fake-kaltura ready") {
            return;
        }
    }
    panic!("fake-kaltura exited before it was ready:\n{seen}");
}

#[test]
fn serves_on_a_free_port_and_prints_it() {
    let mut server = spawn("127.0.0.1:0", Stdio::piped());
    let stdout = server.0.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a banner line").unwrap();
    let url = first
        .strip_prefix("fake-kaltura listening on http://")
        .unwrap_or_else(|| panic!("unexpected banner: {first}"))
        .to_owned();
    let banner: Vec<String> = lines.take(6).map(Result::unwrap).collect();
    assert!(
        banner.iter().any(|l| l.ends_with("partner id:   4242")),
        "{banner:?}"
    );
    assert!(banner.iter().any(|l| l.ends_with(SECRET)), "{banner:?}");
    assert!(
        banner
            .iter()
            .any(|l| l.contains("demo entries:") && !l.ends_with(" 0")),
        "{banner:?}"
    );

    let (status, body) = http(
        &url,
        "GET",
        "/api_v3/service/system/action/ping/format/1",
        "",
    );
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "true")
    );
    let (status, body) = http(
        &url,
        "POST",
        "/api_v3/service/session/action/start",
        &format!("format=1&partnerId=4242&type=2&secret={SECRET}"),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.starts_with("\"djJ8"), "{body}");
    let (_, body) = http(
        &url,
        "POST",
        "/api_v3/service/session/action/start",
        "format=1&partnerId=4242&type=2&secret=wrong",
    );
    assert!(body.contains("START_SESSION_ERROR"), "{body}");
}

#[test]
fn a_closed_stdout_does_not_kill_it() {
    // A port that was free a moment ago: stdout is closed, so the banner cannot tell us.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = spawn(&addr, Stdio::piped());
    drop(server.0.stdout.take()); // the read end is gone: writes to stdout fail with EPIPE
    wait_ready(&mut server);
    let (status, body) = http(
        &addr,
        "GET",
        "/api_v3/service/system/action/ping/format/1",
        "",
    );
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "true")
    );
    assert!(server.0.try_wait().unwrap().is_none(), "still running");
}

#[test]
fn an_address_in_use_is_an_error_not_a_panic() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args(["--listen", &addr])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101), "panicked");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("address"), "{stderr}");
}
