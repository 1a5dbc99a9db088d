//! `kaltura-ks`: generate → decode round trips, the official vector, and failures.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kaltura-ks");
const SECRET: &str = "abcdef0123456789abcdef0123456789";
const V2_USER: &str = "djJ8MTIzNDV8IoFQYmL4SKMkab76clDKCvpwa3gMHplVhRTbRMbAOMa9JTRnY8IlANK8Vey7jm_cfvBeda2ScNRNd9F8YsgaRNnkoQ3StbBiIrEcXpzF_CBQzVG9W8wAn6yRu_K-O9VkB-TMfYUPKEAMBNr53RhTmV-CD5cwyTS0CSwQ76Fp7O8=";
const V1_USER: &str = "NmEzZmEwNWU5Mzc0ZDY4Y2RmMWU2MTAyZDY2OGUyMTA2N2VmN2M2ZXwxMjM0NTsxMjM0NTsxNzAwMDg2NDAwOzA7NDI0MjtkaXNjb3JkXzQyO3ByaXZhY3ljb250ZXh0OmFiYyxzZXRyb2xlOlBMQVlCQUNLX0JBU0VfUk9MRQ==";

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("KALTURA_ADMIN_SECRET")
        .output()
        .expect("run kaltura-ks")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "failed: {}", stderr(o));
    let out = stdout(o);
    assert_eq!(out.lines().count(), 1, "one JSON line expected: {out}");
    serde_json::from_str(&out).expect("JSON on stdout")
}

fn generate(extra: &[&str]) -> String {
    let mut args = vec!["generate", "--partner-id", "12345", "--secret", SECRET];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "generate failed: {}", stderr(&o));
    let out = stdout(&o);
    assert!(out.ends_with('\n'));
    assert_eq!(out.lines().count(), 1);
    out.trim_end().to_owned()
}

#[test]
fn generate_then_decode_round_trips_v2_admin() {
    let ks = generate(&[
        "--user-id",
        "discord_42",
        "--type",
        "admin",
        "--expiry",
        "600",
        "--privileges",
        "privacycontext:abc,disableentitlement,*",
    ]);
    assert!(ks.starts_with("djJ8"), "{ks}");
    let v = json_of(&run(&["decode", "--secret", SECRET, &ks]));
    assert_eq!(v["version"], 2);
    assert_eq!(v["partner_id"], 12345);
    assert_eq!(v["session_type"], 2);
    assert_eq!(v["user_id"], "discord_42");
    assert_eq!(v["signature_valid"], true);
    assert_eq!(v["expired"], false);
    assert_eq!(
        v["privileges"],
        json!({"privacycontext": "abc", "disableentitlement": "", "all": "*"})
    );
    let valid_until = v["valid_until"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (valid_until - now - 600).abs() <= 5,
        "{valid_until} vs {now}"
    );
}

#[test]
fn generate_defaults_are_v2_user_one_day() {
    let ks = generate(&[]);
    let v = json_of(&run(&["decode", "--secret", SECRET, &ks]));
    assert_eq!(v["version"], 2);
    assert_eq!(v["session_type"], 0);
    assert_eq!(v["user_id"], "");
    assert_eq!(v["privileges"], json!({}));
}

#[test]
fn generate_then_decode_round_trips_v1() {
    let ks = generate(&[
        "--version",
        "1",
        "--user-id",
        "bob",
        "--privileges",
        "sview:*",
    ]);
    let v = json_of(&run(&["decode", "--secret", SECRET, &ks]));
    assert_eq!(v["version"], 1);
    assert_eq!(v["user_id"], "bob");
    assert_eq!(v["privileges"], json!({"sview": "*"}));
    assert_eq!(v["signature_valid"], true);
}

#[test]
fn decodes_the_official_v2_vector() {
    let v = json_of(&run(&["decode", "--secret", SECRET, V2_USER]));
    assert_eq!(
        v,
        json!({
            "version": 2,
            "partner_id": 12345,
            "session_type": 0,
            "user_id": "discord_42",
            "valid_until": 1_700_086_400,
            "expired": true,
            "privileges": {"privacycontext": "abc", "setrole": "PLAYBACK_BASE_ROLE"},
            "signature_valid": true,
            "signature": "valid",
        })
    );
}

#[test]
fn secret_from_the_environment_and_ks_from_stdin() {
    let mut child = Command::new(BIN)
        .args(["decode", "-"])
        .env("KALTURA_ADMIN_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{V1_USER}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let v = json_of(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["signature_valid"], true);
    assert!(!stdout(&o).contains(SECRET) && !stderr(&o).contains(SECRET));
}

#[test]
fn wrong_secret_fails_with_one_line() {
    let o = run(&[
        "decode",
        "--secret",
        "0123456789abcdef0123456789abcdef",
        V2_USER,
    ]);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "no JSON expected: {}", stdout(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the KS signature does not match"),
        "{err}"
    );
    assert!(!err.contains("0123456789abcdef0123456789abcdef"));
}

#[test]
fn tampered_ks_fails() {
    let mut chars: Vec<char> = V2_USER.chars().collect();
    chars[40] = if chars[40] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let o = run(&["decode", "--secret", SECRET, &tampered]);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn garbage_fails() {
    for garbage in ["not a ks!", "aGVsbG8gd29ybGQ=", "djJ8MTIzNDV8"] {
        for args in [
            vec!["decode", "--secret", SECRET, garbage],
            vec!["decode", garbage],
        ] {
            let o = run(&args);
            assert!(!o.status.success(), "{garbage}");
            assert!(o.stdout.is_empty());
            let err = stderr(&o);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with("error: "), "{err}");
        }
    }
}

#[test]
fn without_secret_v2_shows_partner_only() {
    let o = run(&["decode", V2_USER]);
    let v = json_of(&o);
    assert_eq!(
        v,
        json!({"version": 2, "partner_id": 12345, "signature_valid": null, "signature": "unchecked"})
    );
    assert!(stderr(&o).contains("not checked"), "{}", stderr(&o));
}

#[test]
fn without_secret_v1_shows_all_fields_unchecked() {
    let o = run(&["decode", V1_USER]);
    let v = json_of(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["partner_id"], 12345);
    assert_eq!(v["user_id"], "discord_42");
    assert_eq!(v["valid_until"], 1_700_086_400);
    assert_eq!(v["expired"], true);
    assert_eq!(v["signature_valid"], Value::Null);
    assert_eq!(v["signature"], "unchecked");
    assert!(stderr(&o).contains("not checked"));
}

#[test]
fn generate_rejects_invalid_input() {
    let o = run(&[
        "generate",
        "--partner-id",
        "1",
        "--secret",
        SECRET,
        "--version",
        "1",
        "--user-id",
        "a;b",
    ]);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    assert!(!stderr(&o).contains(SECRET));
    let o = run(&[
        "generate",
        "--partner-id",
        "1",
        "--secret",
        SECRET,
        "--privileges",
        ":x",
    ]);
    assert!(!o.status.success());
    let o = run(&["generate", "--partner-id", "1"]);
    assert!(!o.status.success(), "the secret is required");
}

#[test]
fn help_does_not_show_the_secret_from_the_environment() {
    let o = Command::new(BIN)
        .args(["generate", "--help"])
        .env("KALTURA_ADMIN_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(!stdout(&o).contains(SECRET));
}
