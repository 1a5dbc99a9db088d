//! Configuration through the public API: the guild rules (locale, `user_id_prefix`, template
//! length), a store that fails on demand, the TTL on an injected clock, and hot reload of the
//! global file.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kaltura_client::clock::ManualClock;
use kaltura_discord::GuildId;
use kaltura_discord::config::{
    ConfigChange, ConfigError, ConfigResolver, ConfigSources, GuildOverrideStore, Layer,
};
use serde_json::{Map, Value, json};

fn guild(id: u64) -> GuildId {
    GuildId::new(id).expect("guild id")
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn check(doc: Value) -> Result<(), ConfigError> {
    let r = ConfigResolver::load(&ConfigSources::defaults_only()).expect("defaults");
    r.check_override(obj(doc), &Layer::GuildStore).map(|_| ())
}

#[test]
fn locale_must_be_a_language_tag() {
    for ok in ["en", "de-DE", "zh-Hant-TW", "es-419", "sr-Latn-RS"] {
        assert_eq!(check(json!({ "locale": ok })), Ok(()), "{ok}");
    }
    for bad in [
        "e",
        "english",
        "en_US",
        "en-",
        "-US",
        "de-D",
        "12-US",
        "en-toolongpart",
        &"a".repeat(36),
    ] {
        let err = check(json!({ "locale": bad })).expect_err(bad);
        assert_eq!(err.key, "locale", "{bad}: {err}");
        assert_eq!(err.layer, Some(Layer::GuildStore));
    }
}

#[test]
fn user_id_prefix_is_short_and_plain() {
    for ok in ["", "discord_", "kd.user@x-", &"p".repeat(32)] {
        assert_eq!(
            check(json!({"identity": {"user_id_prefix": ok}})),
            Ok(()),
            "{ok}"
        );
    }
    for bad in [
        &"p".repeat(33) as &str,
        "has space",
        "semi;colon",
        "slash/",
        "é",
    ] {
        let err = check(json!({"identity": {"user_id_prefix": bad}})).expect_err(bad);
        assert_eq!(err.key, "identity.user_id_prefix", "{bad}: {err}");
    }
}

#[test]
fn templates_fit_a_discord_message_counted_in_characters() {
    let at_limit = "é".repeat(2000); // 4000 bytes, 2000 characters
    assert_eq!(
        check(json!({"notifications": {"templates": {"t": at_limit}}})),
        Ok(())
    );
    let err = check(json!({"notifications": {"templates": {"t": "x".repeat(2001)}}}))
        .expect_err("too long");
    assert_eq!(err.key, "notifications.templates.t");
    assert!(err.message.contains("at most 2000 characters"), "{err}");
}

/// A store that answers from a map, or fails while `failing` is set.
#[derive(Default)]
struct FlakyStore {
    failing: AtomicBool,
    overrides: std::sync::Mutex<std::collections::HashMap<GuildId, Map<String, Value>>>,
}

#[async_trait::async_trait]
impl GuildOverrideStore for FlakyStore {
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
    async fn get_override(
        &self,
        guild: GuildId,
    ) -> Result<Option<kaltura_discord::store::StoredOverride>, kaltura_discord::Error> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(kaltura_discord::Error::Config(ConfigError {
                guild: Some(guild),
                key: String::new(),
                message: "the test store is down".into(),
                layer: None,
            }));
        }
        Ok(self
            .overrides
            .lock()
            .expect("lock")
            .get(&guild)
            .cloned()
            .map(|document| kaltura_discord::store::StoredOverride {
                document,
                version: 1,
                updated_at: 0,
                updated_by: None,
            }))
    }
}

#[tokio::test]
async fn a_failing_store_keeps_the_previous_config_and_reports_new_guilds() {
    let store = Arc::new(FlakyStore::default());
    store
        .overrides
        .lock()
        .expect("lock")
        .insert(guild(1), obj(json!({"locale": "fr-FR"})));
    let clock = ManualClock::new(10_000);
    let r = ConfigResolver::load(&ConfigSources::defaults_only())
        .expect("defaults")
        .with_store(store.clone())
        .with_clock(Arc::new(clock.clone()))
        .with_cache_ttl(Some(Duration::from_secs(30)));
    assert_eq!(
        r.guild(guild(1)).await.expect("resolves").config().locale,
        "fr-FR"
    );

    store.failing.store(true, Ordering::SeqCst);
    clock.advance(31);
    // Stale and the store is down: the previous configuration stays in force.
    assert_eq!(
        r.guild(guild(1)).await.expect("previous").config().locale,
        "fr-FR"
    );
    // An explicit refresh reports the failure, naming the guild and the store.
    let err = r.refresh_guild(guild(1)).await.expect_err("store down");
    assert_eq!(err.guild, Some(guild(1)));
    assert_eq!(err.layer, Some(Layer::GuildStore));
    assert!(err.message.contains("the test store is down"), "{err}");
    // A guild never resolved before has nothing to fall back on.
    let err = r.guild(guild(2)).await.expect_err("no previous config");
    assert_eq!(err.guild, Some(guild(2)));

    store.failing.store(false, Ordering::SeqCst);
    store
        .overrides
        .lock()
        .expect("lock")
        .insert(guild(1), obj(json!({"locale": "de-DE"})));
    assert_eq!(
        r.guild(guild(1)).await.expect("resolves").config().locale,
        "de-DE"
    );
}

/// Waits (bounded, so a broken watcher fails instead of hanging) for a global event.
async fn next_global(rx: &mut tokio::sync::broadcast::Receiver<ConfigChange>) -> ConfigChange {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match rx.recv().await {
                Ok(c @ (ConfigChange::GlobalReloaded | ConfigChange::GlobalRejected(_))) => {
                    return c;
                }
                Ok(_) => continue,
                Err(e) => panic!("change stream closed: {e}"),
            }
        }
    })
    .await
    .expect("no global change event within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_file_is_hot_reloaded_and_an_invalid_one_is_kept_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let global = dir.path().join("kd.json");
    std::fs::write(&global, r#"{"guild_defaults": {"locale": "fr-FR"}}"#).expect("write");
    let sources = ConfigSources {
        global_file: Some(global.clone()),
        ..ConfigSources::defaults_only()
    };
    let r = Arc::new(ConfigResolver::load(&sources).expect("loads"));
    assert_eq!(
        r.guild(guild(1)).await.expect("resolves").config().locale,
        "fr-FR"
    );
    let watcher = r.watch(sources).expect("watch");
    let mut rx = watcher.changes();

    std::fs::write(&global, r#"{"guild_defaults": {"locale": "de-DE"}}"#).expect("write");
    loop {
        let change = next_global(&mut rx).await;
        // A write may be seen half-done (truncated) first; wait for the full one.
        if change == ConfigChange::GlobalReloaded
            && r.guild(guild(1)).await.expect("resolves").config().locale == "de-DE"
        {
            break;
        }
    }

    std::fs::write(&global, r#"{"guild_defaults": {"locale": 5}}"#).expect("write");
    loop {
        if let ConfigChange::GlobalRejected(e) = next_global(&mut rx).await
            && e.key == "locale"
        {
            break;
        }
    }
    assert_eq!(
        r.guild(guild(1)).await.expect("previous").config().locale,
        "de-DE"
    );
}
