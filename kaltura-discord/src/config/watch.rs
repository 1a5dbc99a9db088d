//! Hot reload: watch the global file and the guild override folder, re-resolve on change.
//!
//! A changed guild file is re-resolved at once; if the new file is invalid the guild keeps
//! its previous configuration and the error is logged and reported on the change stream. A
//! changed global file reloads the global layers the same way. Store changes do not need the
//! watcher: whoever writes the store calls [`ConfigResolver::refresh_guild`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::{broadcast, mpsc};

use super::{ConfigError, ConfigResolver, ConfigSources};
use crate::ids::GuildId;

/// What the watcher did after a file changed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigChange {
    /// A guild's configuration was re-resolved and is now in force.
    GuildReloaded(GuildId),
    /// A guild's new file is invalid; the previous configuration stays in force.
    GuildRejected(GuildId, ConfigError),
    /// The global layers were reloaded.
    GlobalReloaded,
    /// The new global file is invalid; the previous configuration stays in force.
    GlobalRejected(ConfigError),
}

/// A running watcher; dropping it stops watching.
pub struct ConfigWatcher {
    _watcher: notify::RecommendedWatcher,
    changes: broadcast::Sender<ConfigChange>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ConfigWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigWatcher")
    }
}

impl ConfigWatcher {
    /// A stream of what the watcher does from now on.
    pub fn changes(&self) -> broadcast::Receiver<ConfigChange> {
        self.changes.subscribe()
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn guild_of(path: &Path, guild_dir: &Path) -> Option<GuildId> {
    if path.parent()? != guild_dir {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".json")?.parse().ok()
}

impl ConfigResolver {
    /// Watches `sources.global_file` and `sources.guild_dir` (which must exist) for changes.
    /// Must be called inside a Tokio runtime. Reloads run on the blocking pool, not on the
    /// async workers.
    ///
    /// # Errors
    ///
    /// A folder cannot be watched.
    pub fn watch(self: &Arc<Self>, sources: ConfigSources) -> Result<ConfigWatcher, ConfigError> {
        let watch_error = |what: &str, e: notify::Error| ConfigError {
            guild: None,
            key: String::new(),
            message: format!("cannot watch {what}: {e}"),
            layer: None,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && matches!(
                        event.kind,
                        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                    )
                {
                    for path in event.paths {
                        let _ = tx.send(path);
                    }
                }
            })
            .map_err(|e| watch_error("configuration files", e))?;

        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let guild_dir = sources.guild_dir.as_deref().map(canonical);
        let global_file = sources.global_file.as_deref().map(|f| {
            let dir = f
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            canonical(dir).join(f.file_name().unwrap_or_default())
        });
        if let Some(dir) = &guild_dir {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|e| watch_error(&dir.display().to_string(), e))?;
        }
        if let Some(dir) = global_file.as_deref().and_then(Path::parent) {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|e| watch_error(&dir.display().to_string(), e))?;
        }

        let (changes, _) = broadcast::channel(64);
        let sender = changes.clone();
        let resolver = Arc::clone(self);
        let task = tokio::spawn(async move {
            while let Some(path) = rx.recv().await {
                let change = if global_file.as_deref() == Some(path.as_path()) {
                    let (r, s) = (Arc::clone(&resolver), sources.clone());
                    let reloaded = match tokio::task::spawn_blocking(move || r.reload(&s)).await {
                        Ok(result) => result,
                        Err(e) => Err(ConfigError {
                            guild: None,
                            key: String::new(),
                            message: format!("could not be reloaded: the reload task failed ({e})"),
                            layer: None,
                        }),
                    };
                    match reloaded {
                        Ok(()) => ConfigChange::GlobalReloaded,
                        Err(e) => {
                            tracing::warn!(error = %e, "new global configuration is invalid; keeping the previous one");
                            ConfigChange::GlobalRejected(e)
                        }
                    }
                } else if let Some(guild) = guild_dir.as_deref().and_then(|d| guild_of(&path, d)) {
                    match resolver.refresh_guild(guild).await {
                        Ok(()) => ConfigChange::GuildReloaded(guild),
                        Err(e) => {
                            tracing::warn!(%guild, error = %e, "new guild configuration is invalid; keeping the previous one");
                            ConfigChange::GuildRejected(guild, e)
                        }
                    }
                } else {
                    continue;
                };
                let _ = sender.send(change);
            }
        });
        Ok(ConfigWatcher {
            _watcher: watcher,
            changes,
            task,
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Waits (bounded, so a broken watcher fails instead of hanging) until an event for
    /// `guild` satisfies `done`. A plain `write` may produce several events (truncate, then
    /// data), so earlier events for the same guild are skipped.
    async fn wait_for(
        rx: &mut broadcast::Receiver<ConfigChange>,
        guild: GuildId,
        mut done: impl FnMut(&ConfigChange) -> bool,
    ) -> ConfigChange {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match rx.recv().await {
                    Ok(c @ (ConfigChange::GuildReloaded(_) | ConfigChange::GuildRejected(..)))
                        if matches!(&c, ConfigChange::GuildReloaded(g) | ConfigChange::GuildRejected(g, _) if *g == guild)
                            && done(&c) =>
                    {
                        return c;
                    }
                    Ok(_) => continue,
                    Err(e) => panic!("change stream closed: {e}"),
                }
            }
        })
        .await
        .expect("no matching change event within 20 s")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_changed_guild_file_is_reloaded_and_an_invalid_one_is_kept_out() {
        let dir = tempfile::tempdir().unwrap();
        let guilds = dir.path().join("guilds");
        std::fs::create_dir_all(&guilds).unwrap();
        let file = guilds.join("77.json");
        std::fs::write(&file, r#"{"locale": "de-DE"}"#).unwrap();
        let sources = ConfigSources {
            guild_dir: Some(guilds.clone()),
            ..ConfigSources::defaults_only()
        };
        let resolver = Arc::new(ConfigResolver::load(&sources).unwrap());
        let guild = GuildId::new(77).unwrap();
        assert_eq!(
            resolver.guild(guild).await.unwrap().config().locale,
            "de-DE"
        );

        let watcher = resolver.watch(sources).unwrap();
        let mut rx = watcher.changes();
        std::fs::write(&file, r#"{"locale": "fr-FR"}"#).unwrap();
        let locale = |r: &ConfigResolver| r.cached(guild).map(|c| c.config().locale.clone());
        wait_for(&mut rx, guild, |c| {
            matches!(c, ConfigChange::GuildReloaded(_))
                && locale(&resolver).as_deref() == Some("fr-FR")
        })
        .await;

        std::fs::write(&file, r#"{"locale": 5}"#).unwrap();
        let rejected = wait_for(&mut rx, guild, |c| {
            matches!(c, ConfigChange::GuildRejected(..))
        })
        .await;
        assert!(
            matches!(rejected, ConfigChange::GuildRejected(..)),
            "{rejected:?}"
        );
        // The previous configuration stays in force.
        assert_eq!(
            resolver.guild(guild).await.unwrap().config().locale,
            "fr-FR"
        );
    }

    #[test]
    fn only_guild_files_map_to_guilds() {
        let dir = Path::new("/cfg/guilds");
        assert_eq!(
            guild_of(Path::new("/cfg/guilds/123.json"), dir),
            GuildId::new(123)
        );
        assert_eq!(guild_of(Path::new("/cfg/guilds/123.json.swp"), dir), None);
        assert_eq!(guild_of(Path::new("/cfg/guilds/../123.json"), dir), None);
        assert_eq!(guild_of(Path::new("/cfg/other/123.json"), dir), None);
        assert_eq!(guild_of(Path::new("/cfg/guilds/abc.json"), dir), None);
    }
}
