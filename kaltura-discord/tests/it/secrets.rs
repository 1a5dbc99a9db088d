//! The secret canary: every secret source is filled with a unique marker (through `${…}`
//! placeholders and `KD__…` variables), then every public path that prints or logs is
//! driven — `Debug` of the configuration types and of `kaltura_client::Client`, serde output,
//! `explain` of every section and key, every validation error, and the `tracing` output of a
//! resolve and reload cycle. No marker may appear anywhere.

use crate::support::Captured;
use std::sync::{Arc, Mutex};

use kaltura_discord::GuildId;
use kaltura_discord::config::{
    ConfigResolver, ConfigSources, DatabaseUrl, GuildOverrideStore, Layer, Layered,
};
use serde_json::{Map, Value, json};

const ADMIN: &str = "canary-admin-secret-7d1f0c";
const TOKEN: &str = "canary-bot-token-2b9e44";
const JWT: &str = "canary-jwt-key-5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
const JWT2: &str = "canary-jwt-key-6b6b6b6b6b6b6b6b6b6b6b6b6b6b";
const DB_PASS: &str = "canary-db-pass-91c3";
const DB_QUERY: &str = "canary-db-query-e01d";
const APP_TOKEN: &str = "canary-app-token-4f4f";
const MARKERS: [&str; 7] = [ADMIN, TOKEN, JWT, JWT2, DB_PASS, DB_QUERY, APP_TOKEN];

/// Fails the test if `shown` holds any marker (or a recognisable part of one).
fn assert_clean(what: &str, shown: &str) {
    for marker in MARKERS {
        assert!(!shown.contains(marker), "{what} shows {marker}: {shown}");
    }
    assert!(
        !shown.contains("canary-"),
        "{what} shows part of a marker: {shown}"
    );
}

fn env() -> Vec<(String, String)> {
    [
        ("CANARY_ADMIN", ADMIN),
        ("CANARY_JWT", JWT),
        ("CANARY_JWT2", JWT2),
        ("CANARY_DB_PASS", DB_PASS),
        ("CANARY_DB_QUERY", DB_QUERY),
        ("KD__DISCORD__TOKEN", TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

const GLOBAL: &str = r#"{
    "kaltura": {"partner_id": 12345, "admin_secret": "${CANARY_ADMIN}"},
    "jwt": {"keys": [{"kid": "k1", "secret": "${CANARY_JWT}"}, {"kid": "k2", "secret": "${CANARY_JWT2}"}]},
    "database": {"url": "postgres://kd:${CANARY_DB_PASS}@db:5432/kd?sslmode=require&password=${CANARY_DB_QUERY}"},
    "guild_defaults": {"locale": "fr-FR"}
}"#;

fn sources(dir: &std::path::Path) -> ConfigSources {
    let global = dir.join("kd.json");
    std::fs::write(&global, GLOBAL).expect("write");
    let guilds = dir.join("guilds");
    std::fs::create_dir_all(&guilds).expect("mkdir");
    ConfigSources {
        global_file: Some(global),
        env: env(),
        guild_dir: Some(guilds),
        ..ConfigSources::defaults_only()
    }
}

struct Overrides(Mutex<Map<String, Value>>);

#[async_trait::async_trait]
impl GuildOverrideStore for Overrides {
    async fn get_override(
        &self,
        _guild: GuildId,
    ) -> Result<Option<kaltura_discord::store::StoredOverride>, kaltura_discord::Error> {
        Ok(Some(self.0.lock().expect("lock").clone()).map(|document| {
            kaltura_discord::store::StoredOverride {
                document,
                version: 1,
                updated_at: 0,
                updated_by: None,
            }
        }))
    }
    async fn update_override(
        &self,
        _: GuildId,
        _: kaltura_discord::DiscordUserId,
        _: kaltura_discord::store::OverrideEdit<'_>,
    ) -> Result<kaltura_discord::store::StoredOverride, kaltura_discord::Error> {
        unreachable!("the resolver only reads overrides")
    }
    async fn delete_override(
        &self,
        _: GuildId,
        _: kaltura_discord::DiscordUserId,
    ) -> Result<bool, kaltura_discord::Error> {
        unreachable!("the resolver only reads overrides")
    }
}

#[test]
fn no_secret_reaches_debug_serde_or_explain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = sources(dir.path());
    let r = ConfigResolver::load(&sources).expect("loads");
    let p = r.process();
    let c = p.config();
    // The secrets are really there (the test would prove nothing otherwise).
    use secrecy::ExposeSecret as _;
    assert_eq!(
        c.kaltura.admin_secret.as_ref().map(|s| s.expose_secret()),
        Some(ADMIN)
    );
    assert_eq!(
        c.discord.token.as_ref().map(|s| s.expose_secret()),
        Some(TOKEN)
    );
    assert!(c.database.url.expose_secret().contains(DB_PASS));
    assert_eq!(c.jwt.keys.len(), 2);

    let client = kaltura_client::Client::builder()
        .service_url(c.kaltura.service_url.clone())
        .partner_id(c.kaltura.partner_id.expect("partner id"))
        .admin_secret(ADMIN.to_owned())
        .build()
        .expect("client");
    let app_client = kaltura_client::Client::builder()
        .partner_id(12345)
        .app_token("0_abc", APP_TOKEN.to_owned())
        .build()
        .expect("client");
    let mut layered = Layered::new();
    layered.merge_env_vars(env(), "KD__", &[]);
    let shown = [
        format!("{sources:?}"),
        format!("{r:?}"),
        format!("{p:?}"),
        format!("{c:?}"),
        format!("{:?}", c.discord),
        format!("{:?}", c.kaltura),
        format!("{:?}", c.database),
        format!("{:?} {}", c.database.url, c.database.url),
        format!("{:?}", c.jwt),
        format!("{:?}", c.jwt.keys),
        format!("{:?}", c.http),
        format!("{layered:?}"),
        format!("{client:?}"),
        format!("{app_client:?}"),
        format!(
            "{:?}",
            DatabaseUrl::new(format!("postgres://u:{DB_PASS}@h/d"))
        ),
        serde_json::to_string(c).expect("serialize"),
        kaltura_discord::config::redact_url_public(c.database.url.expose_secret()),
    ];
    for (i, s) in shown.iter().enumerate() {
        assert_clean(&format!("item {i}"), s);
    }

    // `explain` of the whole document, of every section and of every key.
    let all = p.explain("");
    assert!(all.len() > 10);
    assert_clean("explain", &format!("{all:?}"));
    for section in [
        "discord",
        "kaltura",
        "http",
        "database",
        "jwt",
        "guild_defaults",
    ] {
        let rows = p.explain(section);
        assert!(!rows.is_empty(), "{section}");
        assert_clean(section, &format!("{rows:?}"));
    }
    for row in &all {
        assert_clean(
            &row.key,
            &format!("{:?} {}", p.explain(&row.key), row.value),
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let g = runtime
        .block_on(r.guild(GuildId::new(1).expect("id")))
        .expect("guild");
    assert_clean("guild explain", &format!("{:?} {g:?}", g.explain("")));
}

#[test]
fn no_secret_reaches_a_validation_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = sources(dir.path());
    let bad_globals = [
        r#"{"kaltura": {"partner_id": "${CANARY_ADMIN}"}}"#,
        r#"{"kaltura": {"service_url": {"x": "${CANARY_ADMIN}"}}}"#,
        r#"{"http": {"gateway_listen": "${CANARY_ADMIN}"}}"#,
        r#"{"jwt": {"ttl_seconds": "${CANARY_JWT}"}}"#,
        r#"{"jwt": {"keys": [{"kid": "${CANARY_JWT}", "secret": "short"}]}}"#,
        r#"{"jwt": {"keys": [{"kid": "", "secret": "${CANARY_JWT}"}]}}"#,
        r#"{"jwt": {"keys": "${CANARY_JWT}"}}"#,
        r#"{"database": {"url": ["${CANARY_DB_PASS}"]}}"#,
        r#"{"discord": {"token": 5, "application_id": {"a": "${CANARY_ADMIN}"}}}"#,
        r#"{"guild_defaults": {"locale": "${CANARY_ADMIN}"}}"#,
        r#"{"guild_defaults": {"meetings": {"default_type": "${CANARY_ADMIN}"}}}"#,
        "[kaltura]\nadmin_secret = canary-admin-secret-7d1f0c\n",
        r#"{"kaltura": {"admin_secret": "${CANARY_ADMIN}"}, "unknown": 1}"#,
    ];
    let mut errors = Vec::new();
    for (i, body) in bad_globals.iter().enumerate() {
        let name = if body.starts_with('[') {
            format!("bad{i}.toml")
        } else {
            format!("bad{i}.json")
        };
        let file = dir.path().join(name);
        std::fs::write(&file, body).expect("write");
        let sources = ConfigSources {
            global_file: Some(file),
            ..base.clone()
        };
        errors.push(ConfigResolver::load(&sources).expect_err(body));
    }
    // Environment variables holding secrets but of the wrong shape.
    for (var, value) in [
        ("KD__KALTURA__PARTNER_ID", ADMIN),
        ("KD__JWT__TTL_SECONDS", JWT),
        ("KD__HTTP__GATEWAY_LISTEN", TOKEN),
        ("KD__GUILD_DEFAULTS__LOCALE", ADMIN),
    ] {
        let mut sources = base.clone();
        sources.env.push((var.to_owned(), value.to_owned()));
        errors.push(ConfigResolver::load(&sources).expect_err(var));
    }
    // Guild settings that try to pull a secret in, or hold one by value.
    let r = ConfigResolver::load(&base).expect("loads");
    for doc in [
        json!({"notifications": {"templates": {"t": "hi ${CANARY_ADMIN}"}}}),
        json!({"locale": ADMIN}),
        json!({"meetings": {"default_type": ADMIN}}),
        json!({"kaltura": {"kaf_url": format!("https://{ADMIN}.example.com")}}),
        json!({"kaltura": {"partner_id": ADMIN}}),
        json!({"rbac": {"roles": {"42": ADMIN}}}),
        json!({"notifications": {"routes": [{"event": "entry_ready", "channel": ADMIN}]}}),
    ] {
        let Value::Object(m) = doc else {
            unreachable!()
        };
        errors.push(
            r.check_override(m, &Layer::GuildStore)
                .expect_err("invalid"),
        );
    }
    assert!(errors.len() >= 20);
    for e in &errors {
        assert_clean(&e.key, &format!("{e} {e:?}"));
    }
}

#[test]
fn no_secret_reaches_the_logs_of_a_resolve_and_reload_cycle() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites cached as uninteresting by tests running without a subscriber count again.
    tracing::callsite::rebuild_interest_cache();
    // One thread: the resolver's and the watcher's logs are emitted on this thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = sources(dir.path());
    runtime.block_on(async {
        let store = Arc::new(Overrides(Mutex::new(Map::new())));
        let clock = kaltura_client::clock::ManualClock::new(1_000);
        let r = Arc::new(
            ConfigResolver::load(&sources)
                .expect("loads")
                .with_store(store.clone())
                .with_clock(Arc::new(clock.clone())),
        );
        let g = GuildId::new(7).expect("id");
        r.guild(g).await.expect("resolves");
        // The override turns invalid with a secret-bearing value: the stale config is kept
        // and the error logged.
        *store.0.lock().expect("lock") = match json!({"kaltura": {"partner_id": ADMIN}, "locale": JWT}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        clock.advance(3600);
        r.guild(g).await.expect("previous config");
        // A global reload through the watcher that is rejected, then one that works.
        let watcher = r.watch(sources.clone()).expect("watch");
        let mut rx = watcher.changes();
        let global = sources.global_file.clone().expect("global file");
        std::fs::write(&global, r#"{"kaltura": {"partner_id": "${CANARY_ADMIN}"}}"#).expect("write");
        wait_for_global(&mut rx, false).await;
        std::fs::write(&global, GLOBAL).expect("write");
        wait_for_global(&mut rx, true).await;
        r.refresh_guild(g).await.expect_err("still invalid");
    });
    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        logs.contains("keeping the previous one"),
        "nothing logged: {logs}"
    );
    assert_clean("logs", &logs);
}

async fn wait_for_global(
    rx: &mut tokio::sync::broadcast::Receiver<kaltura_discord::config::ConfigChange>,
    reloaded: bool,
) {
    use kaltura_discord::config::ConfigChange;
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            match rx.recv().await {
                Ok(ConfigChange::GlobalReloaded) if reloaded => return,
                Ok(ConfigChange::GlobalRejected(e))
                    if !reloaded && e.key == "kaltura.partner_id" =>
                {
                    assert_clean("rejection", &format!("{e} {e:?}"));
                    return;
                }
                Ok(_) => continue,
                Err(e) => panic!("change stream closed: {e}"),
            }
        }
    })
    .await
    .expect("no global change event within 20 s");
}
