//! Test helpers: stores on both backends, each test in its own database or schema.

use std::sync::atomic::{AtomicU32, Ordering};

use kaltura_discord::store::SqlStore;

/// The environment variable holding the PostgreSQL URL for tests.
pub(crate) const POSTGRES_URL_VAR: &str = "KD_TEST_POSTGRES_URL";

/// A store under test and what must be cleaned up after it.
pub(crate) struct TestStore {
    pub(crate) store: SqlStore,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL URL and schema to drop after the test.
    pg_schema: Option<(String, String)>,
}

impl TestStore {
    /// Drops the test's PostgreSQL schema (a failing test leaves it behind for inspection).
    pub(crate) async fn cleanup(self) {
        self.store.close().await;
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
}

/// A fresh SQLite store in its own temporary folder.
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

/// A fresh PostgreSQL store in its own schema, or `None` when no server is configured
/// outside CI. In CI (`CI` set) a missing server fails the test instead of skipping it.
pub(crate) async fn postgres(test: &str) -> Option<TestStore> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        if std::env::var_os("CI").is_some() {
            panic!("{POSTGRES_URL_VAR} must be set in CI: the PostgreSQL tests may not be skipped");
        }
        eprintln!("skipping PostgreSQL test {test}: {POSTGRES_URL_VAR} is not set");
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

/// Declares one async test per backend from `async fn $name(store: SqlStore)`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
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
                    if let Some(t) = $crate::support::postgres(stringify!($name)).await {
                        super::$name(t.store.clone()).await;
                        t.cleanup().await;
                    }
                }
            )*
        }
    };
}
