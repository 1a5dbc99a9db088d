//! `kaltura-config`: validate, explain and schema as real processes, including hostile paths
//! (FIFOs, devices, symlinks), closed pipes, full disks and secrets that must not appear.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kaltura-config");
const KS_BIN: &str = env!("CARGO_BIN_EXE_kaltura-ks");

/// A command with no configuration from the test's own environment.
fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).env_remove("KD_CONFIG");
    for (k, _) in std::env::vars() {
        if k.starts_with("KD__") {
            c.env_remove(k);
        }
    }
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().expect("run kaltura-config")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, body).expect("write");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn validate_accepts_a_good_guild_file_and_names_the_key_of_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "guilds/1.json", r#"{"locale": "de-DE"}"#);
    let bad = write(
        dir.path(),
        "guilds/2.json",
        r#"{"meetings": {"default_duration_minutes": 100000}}"#,
    );
    let o = run(&["validate", s(&good)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), format!("ok: {}\n", good.display()));
    let o = run(&["validate", s(&good), s(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("`meetings.default_duration_minutes` must be between 5 and 1440"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn validate_refuses_fifos_devices_and_symlinks_out_of_the_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo.json");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Without the fix this blocks forever on the FIFO and reads /dev/zero until OOM.
    for (path, process) in [
        (fifo.as_path(), false),
        (fifo.as_path(), true),
        (Path::new("/dev/zero"), false),
        (Path::new("/dev/zero"), true),
    ] {
        let mut args = vec!["validate"];
        if process {
            args.push("--process");
        }
        args.push(s(path));
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            text(&o.stderr).contains("is not a regular file"),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    let outside = write(dir.path(), "secret.json", r#"{"locale": "de-DE"}"#);
    std::fs::create_dir_all(dir.path().join("guilds")).expect("mkdir");
    let link = dir.path().join("guilds/3.json");
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    let o = run(&["validate", s(&link)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("symlink to a file outside the guild folder"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn validate_process_runs_the_runtime_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            r#"{"discord": {"token": "${MISSING_VAR_FOR_TEST}"}}"#,
            "MISSING_VAR_FOR_TEST, which is not set",
        ),
        (
            r#"{"jwt": {"ttl_seconds": 4294967295}}"#,
            "`jwt.ttl_seconds` must be between 30 and 86400",
        ),
        (
            r#"{"jwt": {"keys": [{"kid": "", "secret": "0123456789abcdef0123456789abcdef"}]}}"#,
            "`jwt.keys.0.kid` must not be empty",
        ),
        (
            r#"{"jwt": {"keys": [{"kid": "a", "secret": "x"}]}}"#,
            "`jwt.keys.0.secret` must be at least 32 bytes",
        ),
        (
            r#"{"jwt": {"keys": [{"kid": "a", "secret": "0123456789abcdef0123456789abcdef"}, {"kid": "a", "secret": "0123456789abcdef0123456789abcdef"}]}}"#,
            "`jwt.keys.1.kid` repeats",
        ),
    ];
    for (i, (body, expected)) in cases.iter().enumerate() {
        let f = write(dir.path(), &format!("p{i}.json"), body);
        let o = run(&["validate", "--process", s(&f)]);
        assert_eq!(o.status.code(), Some(1), "{body}");
        assert!(
            text(&o.stderr).contains(expected),
            "{body}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn validate_checks_guild_files_against_the_operator_allowlist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let guild = write(
        dir.path(),
        "guilds/1.json",
        r#"{"kaltura": {"kaf_url": "https://kaf.example.org"}}"#,
    );
    let o = run(&["validate", s(&guild)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("allowed_guild_hosts"),
        "{}",
        text(&o.stderr)
    );
    let operator = write(
        dir.path(),
        "kd.json",
        r#"{"kaltura": {"allowed_guild_hosts": ["kaf.example.org"]}}"#,
    );
    let o = run(&["validate", "--config", s(&operator), s(&guild)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn explain_shows_values_and_layers() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "guilds/5.json",
        r#"{"rbac": {"roles": {"42": "moderator"}}}"#,
    );
    let o = run(&[
        "explain",
        "--guild",
        "5",
        "rbac.roles",
        "--guild-dir",
        s(&dir.path().join("guilds")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        format!(
            "rbac.roles.42 = \"moderator\"  ({})\n",
            dir.path().join("guilds/5.json").display()
        )
    );
    let o = run(&["explain", "--process", "jwt.ttl_seconds"]);
    assert_eq!(
        text(&o.stdout),
        "jwt.ttl_seconds = 900  (built-in defaults)\n"
    );
    let o = run(&["explain", "--process", "nope"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_full_disk_or_a_closed_pipe_is_an_error_not_a_panic() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full")
    };
    let o = cmd(&["schema"]).stdout(full()).output().expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("cannot write to standard output"),
        "{}",
        text(&o.stderr)
    );

    // A pipe whose reading end is already closed: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let o = cmd(&["schema", "--process"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));

    let o = cmd(&["--help"]).stdout(full()).output().expect("run");
    assert_ne!(o.status.code(), Some(101), "{}", text(&o.stderr));

    let o = Command::new(KS_BIN)
        .args([
            "generate",
            "--partner-id",
            "1",
            "--secret",
            "abcdef0123456789abcdef0123456789",
        ])
        .stdout(full())
        .output()
        .expect("run kaltura-ks");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("cannot write to standard output"));
}

/// The CLI part of the secret canary: every secret source filled with a marker, then every
/// command that prints; no marker may appear.
#[test]
fn secret_canary_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let markers = [
        ("CANARY_ADMIN", "canary-admin-7d1f0c"),
        ("CANARY_TOKEN", "canary-token-2b9e44"),
        ("CANARY_JWT", "canary-jwt-5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"),
        ("CANARY_DBPASS", "canary-dbpass-91c3"),
        ("CANARY_QPASS", "canary-qpass-e01d"),
    ];
    let global = write(
        dir.path(),
        "kd.json",
        r#"{
            "kaltura": {"partner_id": 12345, "admin_secret": "${CANARY_ADMIN}"},
            "discord": {"token": "${CANARY_TOKEN}"},
            "jwt": {"keys": [{"kid": "k1", "secret": "${CANARY_JWT}"}]},
            "database": {"url": "postgres://kd:${CANARY_DBPASS}@db/kd?password=${CANARY_QPASS}"}
        }"#,
    );
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"kaltura": {"partner_id": "${CANARY_ADMIN}"}, "http": {"gateway_listen": "${CANARY_TOKEN}"}}"#,
    );
    let guilds = dir.path().join("guilds");
    write(&guilds, "1.json", r#"{"locale": "${CANARY_ADMIN}"}"#);
    write(&guilds, "2.json", r#"{"locale": "de-DE"}"#);
    let guild1 = guilds.join("1.json");
    let runs: Vec<Vec<&str>> = vec![
        vec!["explain", "--process", "--config", s(&global)],
        vec!["explain", "--process", "jwt", "--config", s(&global)],
        vec![
            "explain",
            "--guild",
            "2",
            "--config",
            s(&global),
            "--guild-dir",
            s(&guilds),
        ],
        vec![
            "explain",
            "--guild",
            "1",
            "--config",
            s(&global),
            "--guild-dir",
            s(&guilds),
        ],
        vec!["validate", "--process", s(&global), s(&bad)],
        vec!["validate", "--config", s(&global), s(&guild1)],
    ];
    for args in runs {
        let mut c = cmd(&args);
        for (k, v) in markers {
            c.env(k, v);
        }
        c.env("KD__DISCORD__PUBLIC_KEY", "not-a-secret");
        let o = c.output().expect("run");
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert!(!all.is_empty(), "{args:?} printed nothing");
        for (_, marker) in markers {
            assert!(!all.contains(marker), "{args:?} printed {marker}: {all}");
        }
    }
}
