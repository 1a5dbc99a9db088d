//! Test helpers: stores on every backend, each test in its own database or schema.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use kaltura_discord::store::SqlStore;

/// The environment variable holding the PostgreSQL URL for tests.
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES_URL_VAR: &str = "KD_TEST_POSTGRES_URL";

/// Whether the tests run in CI (`CI` set to anything but empty, `0` or `false`), where a
/// PostgreSQL test may not be skipped.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Reports a PostgreSQL test that cannot run: a visible `SKIPPED` line outside CI, a failure
/// in CI.
pub(crate) fn skip_postgres(test: &str, why: &str) {
    if in_ci() {
        panic!("{test}: {why}; in CI the PostgreSQL tests may not be skipped");
    }
    eprintln!("SKIPPED: {test}: {why}");
}

/// A store under test and what must be cleaned up after it.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) struct TestStore {
    pub(crate) store: SqlStore,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL URL and schema to drop after the test.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pg_schema: Option<(String, String)>,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl TestStore {
    /// Drops the test's PostgreSQL schema (a failing test leaves it behind for inspection).
    pub(crate) async fn cleanup(self) {
        self.store.close().await;
        #[cfg(feature = "postgres")]
        if let Some((url, schema)) = self.pg_schema {
            use sqlx::{Connection as _, Executor as _};
            if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                let _ = conn
                    .execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                    .await;
                let _ = conn.close().await;
            }
        }
    }

    /// The PostgreSQL URL and schema of the test.
    #[cfg(feature = "postgres")]
    pub(crate) fn pg_schema(&self) -> Option<(&str, &str)> {
        self.pg_schema
            .as_ref()
            .map(|(url, schema)| (url.as_str(), schema.as_str()))
    }
}

/// A fresh SQLite store in its own temporary folder.
#[cfg(feature = "sqlite")]
pub(crate) async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqlStore::sqlite(&dir.path().join("data/kd.db"))
        .await
        .expect("open sqlite");
    TestStore {
        store,
        _dir: Some(dir),
        pg_schema: None,
    }
}

/// A fresh PostgreSQL store in its own schema, or `None` (with a `SKIPPED` line on stderr)
/// when no server is configured outside CI. In CI a missing server fails the test.
#[cfg(feature = "postgres")]
pub(crate) async fn postgres(test: &str) -> Option<TestStore> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        skip_postgres(test, &format!("{POSTGRES_URL_VAR} not set"));
        return None;
    };
    let schema = format!(
        "kd_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_ascii_lowercase()
    );
    let store = SqlStore::postgres(&url, Some(&schema))
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {POSTGRES_URL_VAR}: {e}"));
    Some(TestStore {
        store,
        _dir: None,
        pg_schema: Some((url, schema)),
    })
}

/// Declares one async test per SQL backend from `async fn $name(store: SqlStore)`.
#[cfg_attr(not(feature = "sqlite"), allow(unused_macros))]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "sqlite")]
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = $crate::support::sqlite().await;
                    super::$name(t.store.clone()).await;
                    t.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    #[cfg(feature = "postgres")]
                    if let Some(t) = $crate::support::postgres(stringify!($name)).await {
                        super::$name(t.store.clone()).await;
                        t.cleanup().await;
                    }
                    #[cfg(not(feature = "postgres"))]
                    $crate::support::skip_postgres(
                        stringify!($name),
                        "built without the `postgres` feature",
                    );
                }
            )*
        }
    };
}

/// Declares, for each `async fn $name<S: Stores>(store: S)`, a module `$name` with one test
/// per store: `$name::memory`, `$name::sqlite` and `$name::postgres`.
macro_rules! every_store {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$name(kaltura_discord::store::MemoryStore::new()).await;
                }

                #[cfg(feature = "sqlite")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let t = $crate::support::sqlite().await;
                    super::$name(t.store.clone()).await;
                    t.cleanup().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    #[cfg(feature = "postgres")]
                    if let Some(t) = $crate::support::postgres(stringify!($name)).await {
                        super::$name(t.store.clone()).await;
                        t.cleanup().await;
                    }
                    #[cfg(not(feature = "postgres"))]
                    $crate::support::skip_postgres(
                        stringify!($name),
                        "built without the `postgres` feature",
                    );
                }
            }
        )*
    };
}

/// A `tracing` writer into a shared buffer, for tests that read what was logged.
#[allow(dead_code)] // used by feature-gated modules
#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The recording fake of Discord's REST API, shared by the command engine and gateway tests.
#[cfg(feature = "sqlite")]
mod recording_rest {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;
    use kaltura_discord::commands::InteractionToken;
    use kaltura_discord::commands::definition::Registration;
    use kaltura_discord::commands::reply::Reply;
    use kaltura_discord::rest::{
        DiscordError, DiscordErrorKind, DiscordRest, EventClosure, RegisteredCommand,
        ScheduledEventSpec, WebhookUrl,
    };
    use kaltura_discord::{ApplicationId, ChannelId, Error, GuildId, MessageId, ScheduledEventId};
    use tokio::sync::mpsc;

    /// What the recording Discord REST saw.
    #[derive(Debug, Clone)]
    pub(crate) enum RestCall {
        EditOriginal { token: String, reply: Reply },
        Followup { token: String, reply: Reply },
        CreateEvent(GuildId, ScheduledEventSpec),
        CloseEvent(GuildId, ScheduledEventId, EventClosure),
    }

    /// A `DiscordRest` that records calls and answers success (or refuses to create and close
    /// scheduled events).
    pub(crate) struct RecordingRest {
        tx: mpsc::UnboundedSender<RestCall>,
        /// Whether creating and closing scheduled events fail (403 Missing Permissions).
        pub(crate) refuse_events: AtomicBool,
    }

    impl RecordingRest {
        /// A recording REST that accepts everything, and the receiver of what it saw.
        pub(crate) fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<RestCall>) {
            let (tx, calls) = mpsc::unbounded_channel();
            let rest = Arc::new(RecordingRest {
                tx,
                refuse_events: AtomicBool::new(false),
            });
            (rest, calls)
        }
    }

    fn refused(operation: &'static str) -> Error {
        Error::Discord(DiscordError {
            operation,
            kind: DiscordErrorKind::Forbidden,
            status: Some(403),
            code: Some(50013),
            message: Some("Missing Permissions".into()),
            retry_after: None,
        })
    }

    #[async_trait]
    impl DiscordRest for RecordingRest {
        async fn edit_original(
            &self,
            _: ApplicationId,
            token: &InteractionToken,
            reply: &Reply,
        ) -> kaltura_discord::Result<()> {
            let _ = self.tx.send(RestCall::EditOriginal {
                token: token.expose().to_owned(),
                reply: reply.clone(),
            });
            Ok(())
        }
        async fn create_followup(
            &self,
            _: ApplicationId,
            token: &InteractionToken,
            reply: &Reply,
        ) -> kaltura_discord::Result<MessageId> {
            let _ = self.tx.send(RestCall::Followup {
                token: token.expose().to_owned(),
                reply: reply.clone(),
            });
            Ok(MessageId::new(1).unwrap())
        }
        async fn list_commands(
            &self,
            _: ApplicationId,
            _: Option<GuildId>,
        ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
            Ok(Vec::new())
        }
        async fn register_commands(
            &self,
            _: ApplicationId,
            _: Option<GuildId>,
            _: &Registration,
        ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
            Ok(Vec::new())
        }
        async fn create_scheduled_event(
            &self,
            guild: GuildId,
            event: &ScheduledEventSpec,
        ) -> kaltura_discord::Result<ScheduledEventId> {
            let _ = self.tx.send(RestCall::CreateEvent(guild, event.clone()));
            if self.refuse_events.load(Ordering::SeqCst) {
                return Err(refused("creating a scheduled event"));
            }
            Ok(ScheduledEventId::new(777_000_000_000_000_001).unwrap())
        }
        async fn close_scheduled_event(
            &self,
            guild: GuildId,
            event: ScheduledEventId,
            closure: EventClosure,
        ) -> kaltura_discord::Result<()> {
            let _ = self.tx.send(RestCall::CloseEvent(guild, event, closure));
            if self.refuse_events.load(Ordering::SeqCst) {
                return Err(refused("closing a scheduled event"));
            }
            Ok(())
        }
        async fn create_message(
            &self,
            _: ChannelId,
            _: &Reply,
        ) -> kaltura_discord::Result<MessageId> {
            Err(refused("posting a message"))
        }
        async fn edit_message(
            &self,
            _: ChannelId,
            _: MessageId,
            _: &Reply,
        ) -> kaltura_discord::Result<()> {
            Err(refused("editing a message"))
        }
        async fn execute_webhook(
            &self,
            _: &WebhookUrl,
            _: &Reply,
        ) -> kaltura_discord::Result<MessageId> {
            Err(refused("executing a webhook"))
        }
        async fn edit_webhook_message(
            &self,
            _: &WebhookUrl,
            _: MessageId,
            _: &Reply,
        ) -> kaltura_discord::Result<()> {
            Err(refused("editing a webhook message"))
        }
    }
}
#[cfg(feature = "sqlite")]
pub(crate) use recording_rest::{RecordingRest, RestCall};
