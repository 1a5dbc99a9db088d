//! `SqlStore`: the SQLite and PostgreSQL implementation of the store traits.
//!
//! The same SQL runs on both databases (positional `$n` parameters in order, `ON CONFLICT`
//! upserts, `RETURNING`); the few differences (auto-increment ids, row locks, how a write
//! transaction starts) are spelled out per [`Backend`]. Discord ids are stored as text, times
//! as unix seconds. Every query names its columns; each table has one column list and one
//! function that maps a row to its record.

use std::sync::Arc;

use async_trait::async_trait;
use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::{PartnerId, ScheduleEventId, ScheduleResourceId, UserId};
use serde_json::{Map, Value};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Executor, Row};

use super::{
    AuditAction, AuditEntry, AuditLog, AuditNote, GuildOverrideStore, IdentityLink, IdentityStore,
    LinkScope, MeetingRecord, MeetingStatus, MeetingStore, NewAuditEntry, OverrideEdit,
    StoredOverride, config_change_detail, link_audit_detail, override_text, unlink_audit_detail,
};
use crate::config::MeetingType;
use crate::error::{ConflictReason, Resource, SetupError, StoreError, StoreErrorKind};
use crate::ids::{DiscordUserId, GuildId, ScheduledEventId};
use crate::{Error, Result};

/// Schema migrations, applied in order. The SQL runs on both backends; the one difference,
/// the auto-increment id column, is written `{AUTO_ID}` and filled in by [`Backend::sql`].
const MIGRATIONS: &[(i64, &str)] = &[
    (1, INITIAL_V1),
    (2, MEETINGS_V2),
    (3, MEETING_DISCORD_EVENTS_V3),
    (4, NOTIFICATIONS_V4),
    (5, NOTIFY_ORDER_V5),
    (6, GATEWAY_SESSIONS_V6),
];

/// The table that records which migrations ran.
const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS kd_schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";

/// Migration 1: identity links, guild overrides and the audit log.
const INITIAL_V1: &str = r#"
CREATE TABLE identity_links (
    scope TEXT NOT NULL,
    guild_id TEXT NOT NULL,
    discord_user_id TEXT NOT NULL,
    kaltura_user_id TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    linked_by TEXT NOT NULL,
    PRIMARY KEY (scope, discord_user_id)
);
CREATE UNIQUE INDEX identity_links_kaltura ON identity_links (scope, kaltura_user_id);
CREATE TABLE guild_overrides (
    guild_id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);
CREATE TABLE audit_log (
    {AUTO_ID},
    guild_id TEXT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX audit_log_guild ON audit_log (guild_id, id);
"#;

/// Migration 2: meetings started from guilds.
const MEETINGS_V2: &str = r#"
CREATE TABLE meetings (
    guild_id TEXT NOT NULL,
    partner_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    resource_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    kind TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT,
    PRIMARY KEY (partner_id, event_id)
);
CREATE INDEX meetings_guild_open ON meetings (guild_id, partner_id, status, ends_at);
"#;

/// Migration 3: the Discord scheduled event mirroring a meeting (`meetings.discord_events`).
const MEETING_DISCORD_EVENTS_V3: &str = r#"
ALTER TABLE meetings ADD COLUMN discord_event_id TEXT;
"#;

/// Migration 4: Kaltura notifications — the inbox of received events (deduplicated per
/// partner), subscriptions, the outbox of deliveries and the per-channel leases and backoff.
/// Queries compare statuses with literals (`status = 'queued'`), which SQLite needs to use a
/// partial index; `(status, channel_id, id)` serves the due-channel and lease queries and the
/// counts by status.
const NOTIFICATIONS_V4: &str = r#"
CREATE TABLE notify_events (
    {AUTO_ID},
    partner_id BIGINT NOT NULL,
    dedup_key TEXT NOT NULL,
    kind TEXT,
    subject TEXT,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    routed_at BIGINT,
    claim_owner TEXT,
    claim_expires_at BIGINT,
    UNIQUE (partner_id, dedup_key)
);
CREATE INDEX notify_events_unrouted ON notify_events (id) WHERE routed_at IS NULL;
CREATE TABLE notify_subscriptions (
    {AUTO_ID},
    guild_id TEXT NOT NULL,
    partner_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    webhook_id TEXT,
    webhook_token TEXT,
    mention_roles TEXT NOT NULL,
    template TEXT,
    filters TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (guild_id, channel_id, kind)
);
CREATE INDEX notify_subscriptions_partner ON notify_subscriptions (partner_id, id);
CREATE TABLE notify_outbox (
    {AUTO_ID},
    event_id BIGINT NOT NULL REFERENCES notify_events (id),
    guild_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    webhook_id TEXT,
    webhook_token TEXT,
    kind TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    thread_key TEXT,
    message TEXT NOT NULL,
    digest_line TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    reason TEXT,
    message_id TEXT,
    queued_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (channel_id, subject_key)
);
CREATE INDEX notify_outbox_channel_status ON notify_outbox (status, channel_id, id);
CREATE INDEX notify_outbox_thread ON notify_outbox (channel_id, thread_key, id) WHERE status = 'delivered';
CREATE INDEX notify_outbox_guild ON notify_outbox (guild_id, id);
CREATE INDEX notify_outbox_event ON notify_outbox (event_id);
CREATE TABLE notify_channels (
    channel_id TEXT PRIMARY KEY,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    next_attempt_at BIGINT NOT NULL
);
CREATE INDEX notify_channels_due ON notify_channels (next_attempt_at);
"#;

/// Migration 5: notification order across routers and catch-up. `route_attempts` counts the
/// claims of an event (the routing frontier stops waiting for an event claimed more than
/// `ORDER_HOLD_ATTEMPTS` times); lease items are read per channel in `(event_id, id)` order
/// from the queued rows only; `newest_event_at` reads the newest `received_at` of a partner.
const NOTIFY_ORDER_V5: &str = r#"
ALTER TABLE notify_events ADD COLUMN route_attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX notify_outbox_channel_order ON notify_outbox (channel_id, event_id, id) WHERE status = 'queued';
CREATE INDEX notify_events_partner_received ON notify_events (partner_id, received_at);
"#;

/// Migration 6: the API gateway's sessions (refresh-token families and their tokens, stored
/// as SHA-256 hashes) and pending Discord logins (the hash of their `state`). A family row is
/// locked by every rotation and revocation, which serializes them on PostgreSQL.
const GATEWAY_SESSIONS_V6: &str = r#"
CREATE TABLE gateway_sessions (
    family_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    guild_id TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    token_expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX gateway_sessions_user ON gateway_sessions (user_id);
CREATE INDEX gateway_sessions_expiry ON gateway_sessions (expires_at);
CREATE TABLE gateway_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES gateway_sessions (family_id) ON DELETE CASCADE,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX gateway_refresh_tokens_family ON gateway_refresh_tokens (family_id);
CREATE INDEX gateway_refresh_tokens_expiry ON gateway_refresh_tokens (expires_at);
CREATE TABLE gateway_pending_logins (
    state_hash TEXT PRIMARY KEY,
    verifier TEXT NOT NULL,
    guild_id TEXT NOT NULL,
    redirect TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX gateway_pending_logins_expiry ON gateway_pending_logins (expires_at);
"#;

/// The URL schemes this build can open.
const SUPPORTED_URLS: &str = if cfg!(all(feature = "sqlite", feature = "postgres")) {
    "sqlite://… or postgres://…"
} else if cfg!(feature = "sqlite") {
    "sqlite://… (this build has no `postgres` feature)"
} else {
    "postgres://… (this build has no `sqlite` feature)"
};

/// Which database a [`SqlStore`] talks to, and the SQL that differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres => "postgres",
        }
    }

    /// A migration's SQL for this backend.
    fn sql(self, migration: &str) -> String {
        let auto_id = match self {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => "id INTEGER PRIMARY KEY AUTOINCREMENT",
            #[cfg(feature = "postgres")]
            Backend::Postgres => "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        };
        migration.replace("{AUTO_ID}", auto_id)
    }

    /// What a read-then-write `SELECT` appends to lock the row it reads. SQLite needs
    /// nothing: its write transactions start `IMMEDIATE`, holding the database's write lock.
    fn row_lock(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => "",
            #[cfg(feature = "postgres")]
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

#[derive(Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
}

/// Identity links, guild overrides, meetings and the audit log in SQLite (feature `sqlite`,
/// the default) or PostgreSQL (feature `postgres`).
///
/// Opening a store applies the schema migrations; several processes may open the same
/// database at once (SQLite: the migration runs in an `IMMEDIATE` transaction; PostgreSQL:
/// under an advisory lock), and each migration runs once.
#[derive(Clone)]
pub struct SqlStore {
    pool: Pool,
    /// SQLite allows one writer at a time; taking this lock before a write transaction
    /// keeps this process's writers from queueing on SQLite's busy timeout.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqlStore({})", self.backend())
    }
}

fn db_err(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| {
        let kind = match &source {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreErrorKind::Unavailable,
            sqlx::Error::PoolTimedOut => StoreErrorKind::Timeout,
            sqlx::Error::Database(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::TypeNotFound { .. }
            | sqlx::Error::Decode(_) => StoreErrorKind::Rejected,
            sqlx::Error::Migrate(_) => StoreErrorKind::Migration,
            _ => StoreErrorKind::Other,
        };
        Error::Store(StoreError::new(operation, kind, source))
    }
}

/// Whether a failed statement broke a unique constraint.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The text of a PostgreSQL URL parse error without the URL (which may hold a password).
#[cfg(feature = "postgres")]
fn redact_sqlx_url_error(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Configuration(_) => "malformed URL or unknown option",
        _ => "unreadable URL",
    }
}

/// Runs the same code for either pool; `$p` is bound to the concrete pool.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            Pool::Postgres($p) => $body,
        }
    };
}

/// Starting a write transaction: SQLite takes the write lock up front (`BEGIN IMMEDIATE`),
/// so a transaction that reads first never fails to upgrade its lock when another process
/// writes; PostgreSQL uses row locks (`FOR UPDATE`) and advisory locks instead.
trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
        operation: &'static str,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>>> + Send;
}

#[cfg(feature = "sqlite")]
impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err(operation))
    }
}

#[cfg(feature = "postgres")]
impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await.map_err(db_err(operation))
    }
}

impl SqlStore {
    fn new(pool: Pool) -> Self {
        SqlStore {
            pool,
            sqlite_writer: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Connects by URL: `sqlite://path/to/file.db` (created if missing) or `postgres://…`.
    ///
    /// # Errors
    ///
    /// [`SetupError::UnsupportedDatabaseUrl`] for any other scheme, or for a backend this
    /// build does not include (features `sqlite` and `postgres`); otherwise the errors of
    /// `SqlStore::sqlite` and `SqlStore::postgres`.
    pub async fn connect(url: &str) -> Result<Self> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            #[cfg(feature = "sqlite")]
            return Self::sqlite(std::path::Path::new(path)).await;
            #[cfg(not(feature = "sqlite"))]
            let _ = path;
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Self::postgres(url, None).await;
        }
        Err(Error::Setup(SetupError::UnsupportedDatabaseUrl {
            url: crate::config::redact_url_public(url),
            supported: SUPPORTED_URLS,
        }))
    }

    /// Opens (creating it and its folder if needed) an SQLite database file in WAL mode and
    /// applies the migrations.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be created, [`Error::Store`] when the database
    /// cannot be opened or migrated.
    #[cfg(feature = "sqlite")]
    pub async fn sqlite(path: &std::path::Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                operation: "create the data folder",
                path: dir.to_owned(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10))
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db_err("opening the SQLite database"))?;
        let store = SqlStore::new(Pool::Sqlite(pool));
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to PostgreSQL and applies the migrations. With `schema`, everything lives in
    /// that schema (created if missing) — one per test, or per deployment sharing a database.
    ///
    /// # Errors
    ///
    /// [`SetupError::InvalidDatabaseUrl`] for a URL that does not parse (the message never
    /// contains the URL), [`SetupError::InvalidSchemaName`] for a schema name other than
    /// 1–63 lowercase letters, digits and `_`, [`Error::Store`] when the server cannot be
    /// reached or the migrations fail.
    #[cfg(feature = "postgres")]
    pub async fn postgres(url: &str, schema: Option<&str>) -> Result<Self> {
        use sqlx::Connection as _;
        use std::str::FromStr as _;
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| {
                Error::Setup(SetupError::InvalidDatabaseUrl {
                    reason: format!("not a PostgreSQL URL ({})", redact_sqlx_url_error(&e)),
                })
            })?
            .disable_statement_logging();
        let mut pool_options = PgPoolOptions::new().max_connections(8);
        if let Some(schema) = schema {
            if schema.is_empty()
                || schema.len() > 63
                || !schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Error::Setup(SetupError::InvalidSchemaName {
                    name: schema.chars().take(64).collect(),
                }));
            }
            let mut conn = options
                .connect()
                .await
                .map_err(db_err("connecting to PostgreSQL"))?;
            conn.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
                .await
                .map_err(db_err("creating the schema"))?;
            let _ = conn.close().await;
            let set_path = format!("SET search_path TO \"{schema}\"");
            pool_options = pool_options.after_connect(move |conn, _meta| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    conn.execute(set_path.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(db_err("connecting to PostgreSQL"))?;
        let store = SqlStore::new(Pool::Postgres(pool));
        store.migrate().await?;
        Ok(store)
    }

    /// Uses `clock` for the times the store records itself (audit entries, override
    /// changes, migrations); the default is the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.kind().name()
    }

    fn kind(&self) -> Backend {
        match self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// Applies the migrations this database lacks, in one write transaction: SQLite's
    /// `BEGIN IMMEDIATE` or PostgreSQL's advisory lock makes processes that start together
    /// take turns, and the second finds the migrations recorded by the first.
    async fn migrate(&self) -> Result<()> {
        let _guard = self.sqlite_writer.lock().await;
        let backend = self.kind();
        let now = self.clock.now_unix();
        on_pool!(self, p => {
            let mut tx = p.begin_write("starting the migration").await?;
            #[cfg(feature = "postgres")]
            if backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(727274)")
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("locking for migration"))?;
            }
            sqlx::query(CREATE_MIGRATIONS_TABLE)
                .execute(&mut *tx)
                .await
                .map_err(db_err("creating the migrations table"))?;
            let applied: i64 = sqlx::query("SELECT MAX(version) AS v FROM kd_schema_migrations")
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.try_get::<Option<i64>, _>("v"))
                .map_err(db_err("reading the schema version"))?
                .unwrap_or(0);
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
                tx.execute(backend.sql(sql).as_str())
                    .await
                    .map_err(db_err("applying a migration"))?;
                sqlx::query("INSERT INTO kd_schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(*version)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("recording a migration"))?;
            }
            tx.commit().await.map_err(db_err("committing the migration"))?;
            Ok(())
        })
    }
}

/// Typed column reads of a row of either backend; decoding failures are store errors for
/// `operation`.
trait RowExt {
    fn text(&self, column: &'static str, operation: &'static str) -> Result<String>;
    fn opt_text(&self, column: &'static str, operation: &'static str) -> Result<Option<String>>;
    fn int(&self, column: &'static str, operation: &'static str) -> Result<i64>;
    fn opt_int(&self, column: &'static str, operation: &'static str) -> Result<Option<i64>>;
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn text(&self, column: &'static str, operation: &'static str) -> Result<String> {
                self.try_get(column).map_err(db_err(operation))
            }
            fn opt_text(
                &self,
                column: &'static str,
                operation: &'static str,
            ) -> Result<Option<String>> {
                self.try_get(column).map_err(db_err(operation))
            }
            fn int(&self, column: &'static str, operation: &'static str) -> Result<i64> {
                self.try_get(column).map_err(db_err(operation))
            }
            fn opt_int(
                &self,
                column: &'static str,
                operation: &'static str,
            ) -> Result<Option<i64>> {
                self.try_get(column).map_err(db_err(operation))
            }
        }
    };
}

#[cfg(feature = "sqlite")]
impl_row_ext!(SqliteRow);
#[cfg(feature = "postgres")]
impl_row_ext!(PgRow);

/// Parses a stored snowflake; a bad one is [`Error::Corrupt`] naming the column.
fn parse_id<T: std::str::FromStr<Err = crate::ids::InvalidSnowflake>>(
    resource: Resource,
    field: &'static str,
    raw: &str,
) -> Result<T> {
    // The reason names the kind of id, never the stored value.
    raw.parse().map_err(|e: crate::ids::InvalidSnowflake| {
        Error::corrupt(resource, field, format!("is not a Discord {} id", e.kind()))
    })
}

/// Parses an optional stored snowflake.
fn parse_opt_id<T: std::str::FromStr<Err = crate::ids::InvalidSnowflake>>(
    resource: Resource,
    field: &'static str,
    raw: Option<String>,
) -> Result<Option<T>> {
    raw.map(|raw| parse_id(resource, field, &raw)).transpose()
}

/// The columns of `identity_links`, in the order [`link_from_row`] reads them.
macro_rules! link_columns {
    () => {
        "scope, guild_id, discord_user_id, kaltura_user_id, linked_at, linked_by"
    };
}

fn link_from_row(row: &impl RowExt) -> Result<IdentityLink> {
    const OP: &str = "reading an identity link";
    const R: Resource = Resource::IdentityLink;
    let scope = row.text("scope", OP)?;
    Ok(IdentityLink {
        scope: LinkScope::parse_key(&scope)
            .ok_or_else(|| Error::corrupt(R, "scope", "is not `guild:<id>` or `partner:<id>`"))?,
        guild: parse_id(R, "guild_id", &row.text("guild_id", OP)?)?,
        discord_user: parse_id(R, "discord_user_id", &row.text("discord_user_id", OP)?)?,
        kaltura_user: UserId::new(row.text("kaltura_user_id", OP)?),
        linked_at: row.int("linked_at", OP)?,
        linked_by: parse_id(R, "linked_by", &row.text("linked_by", OP)?)?,
    })
}

/// The columns of `guild_overrides` that [`override_from_row`] reads.
macro_rules! override_columns {
    () => {
        "document, version, updated_at, updated_by"
    };
}

fn override_from_row(row: &impl RowExt) -> Result<StoredOverride> {
    const OP: &str = "reading a guild override";
    const R: Resource = Resource::GuildOverride;
    let document = match serde_json::from_str::<Value>(&row.text("document", OP)?) {
        Ok(Value::Object(m)) => m,
        _ => return Err(Error::corrupt(R, "document", "is not a JSON object")),
    };
    Ok(StoredOverride {
        document,
        version: row.int("version", OP)?,
        updated_at: row.int("updated_at", OP)?,
        updated_by: parse_opt_id(R, "updated_by", row.opt_text("updated_by", OP)?)?,
    })
}

/// The columns of `audit_log`, in the order [`audit_from_row`] reads them.
macro_rules! audit_columns {
    () => {
        "id, guild_id, actor, action, detail, at"
    };
}

fn audit_from_row(row: &impl RowExt) -> Result<AuditEntry> {
    const OP: &str = "reading the audit log";
    const R: Resource = Resource::AuditEntry;
    Ok(AuditEntry {
        id: row.int("id", OP)?,
        guild: parse_id(R, "guild_id", &row.text("guild_id", OP)?)?,
        actor: parse_opt_id(R, "actor", row.opt_text("actor", OP)?)?,
        action: AuditAction::parse(&row.text("action", OP)?),
        detail: serde_json::from_str(&row.text("detail", OP)?)
            .map_err(|_| Error::corrupt(R, "detail", "is not JSON"))?,
        at: row.int("at", OP)?,
    })
}

/// The columns of `meetings`, in the order [`meeting_from_row`] reads them and
/// `insert_meeting` binds them.
macro_rules! meeting_columns {
    () => {
        "guild_id, partner_id, event_id, resource_id, title, description, kind, starts_at, ends_at, created_by, created_at, status, ended_at, ended_by"
    };
}

fn meeting_from_row(row: &impl RowExt) -> Result<MeetingRecord> {
    const OP: &str = "reading a meeting";
    const R: Resource = Resource::Meeting;
    Ok(MeetingRecord {
        guild: parse_id(R, "guild_id", &row.text("guild_id", OP)?)?,
        partner_id: PartnerId::new(row.int("partner_id", OP)?),
        event_id: ScheduleEventId::new(row.int("event_id", OP)?),
        resource_id: ScheduleResourceId::new(row.int("resource_id", OP)?),
        title: row.text("title", OP)?,
        description: row.opt_text("description", OP)?,
        kind: MeetingType::parse(&row.text("kind", OP)?)
            .ok_or_else(|| Error::corrupt(R, "kind", "is not a known meeting type"))?,
        starts_at: row.int("starts_at", OP)?,
        ends_at: row.int("ends_at", OP)?,
        created_by: parse_id(R, "created_by", &row.text("created_by", OP)?)?,
        created_at: row.int("created_at", OP)?,
        status: MeetingStatus::parse(&row.text("status", OP)?)
            .ok_or_else(|| Error::corrupt(R, "status", "is not a known status"))?,
        ended_at: row.opt_int("ended_at", OP)?,
        ended_by: parse_opt_id(R, "ended_by", row.opt_text("ended_by", OP)?)?,
    })
}

/// Appends an audit entry through `$exec` (a pool or a transaction) at time `$at`.
macro_rules! append_audit {
    ($exec:expr, $entry:expr, $at:expr) => {{
        let entry: NewAuditEntry = $entry;
        let at: i64 = $at;
        let id: i64 = sqlx::query(
            "INSERT INTO audit_log (guild_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(entry.guild.to_string())
        .bind(entry.actor.map(|a| a.to_string()))
        .bind(entry.action.as_str())
        .bind(entry.detail.to_string())
        .bind(at)
        .fetch_one($exec)
        .await
        .and_then(|row| row.try_get::<i64, _>("id"))
        .map_err(db_err("appending to the audit log"))?;
        AuditEntry {
            id,
            guild: entry.guild,
            actor: entry.actor,
            action: entry.action,
            detail: entry.detail,
            at,
        }
    }};
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn link(&self, link: &IdentityLink, note: &AuditNote) -> Result<()> {
        const OP: &str = "linking an identity";
        let _guard = self.sqlite_writer.lock().await;
        let at = self.clock.now_unix();
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let result = sqlx::query(concat!(
                "INSERT INTO identity_links (", link_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (scope, discord_user_id) DO UPDATE SET guild_id = excluded.guild_id, \
                 kaltura_user_id = excluded.kaltura_user_id, linked_at = excluded.linked_at, linked_by = excluded.linked_by",
            ))
            .bind(link.scope.key())
            .bind(link.guild.to_string())
            .bind(link.discord_user.to_string())
            .bind(link.kaltura_user.as_str())
            .bind(link.linked_at)
            .bind(link.linked_by.to_string())
            .execute(&mut *tx)
            .await;
            match result {
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::conflict(
                        Resource::KalturaUser,
                        &link.kaltura_user,
                        ConflictReason::LinkedToAnotherMember,
                    ));
                }
                other => {
                    other.map_err(db_err(OP))?;
                }
            }
            append_audit!(&mut *tx, NewAuditEntry {
                guild: link.guild,
                actor: Some(link.linked_by),
                action: AuditAction::IdentityLinked,
                detail: link_audit_detail(link, note),
            }, at);
            tx.commit().await.map_err(db_err(OP))?;
            Ok(())
        })
    }

    async fn unlink(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
        guild: GuildId,
        actor: DiscordUserId,
        note: &AuditNote,
    ) -> Result<bool> {
        const OP: &str = "unlinking an identity";
        let _guard = self.sqlite_writer.lock().await;
        let at = self.clock.now_unix();
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let removed = sqlx::query("DELETE FROM identity_links WHERE scope = $1 AND discord_user_id = $2")
                .bind(scope.key())
                .bind(discord_user.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?
                .rows_affected()
                > 0;
            if removed {
                append_audit!(&mut *tx, NewAuditEntry {
                    guild,
                    actor: Some(actor),
                    action: AuditAction::IdentityUnlinked,
                    detail: unlink_audit_detail(scope, discord_user, note),
                }, at);
            }
            tx.commit().await.map_err(db_err(OP))?;
            Ok(removed)
        })
    }

    async fn find_by_discord(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
    ) -> Result<Option<IdentityLink>> {
        on_pool!(self, p => {
            sqlx::query(concat!("SELECT ", link_columns!(), " FROM identity_links WHERE scope = $1 AND discord_user_id = $2"))
                .bind(scope.key())
                .bind(discord_user.to_string())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up an identity link"))?
                .as_ref()
                .map(link_from_row)
                .transpose()
        })
    }

    async fn find_by_kaltura(
        &self,
        scope: LinkScope,
        kaltura_user: &UserId,
    ) -> Result<Option<IdentityLink>> {
        on_pool!(self, p => {
            sqlx::query(concat!("SELECT ", link_columns!(), " FROM identity_links WHERE scope = $1 AND kaltura_user_id = $2"))
                .bind(scope.key())
                .bind(kaltura_user.as_str())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up an identity link"))?
                .as_ref()
                .map(link_from_row)
                .transpose()
        })
    }

    async fn list_links(&self, scope: LinkScope) -> Result<Vec<IdentityLink>> {
        on_pool!(self, p => {
            sqlx::query(concat!("SELECT ", link_columns!(), " FROM identity_links WHERE scope = $1 ORDER BY discord_user_id"))
                .bind(scope.key())
                .fetch_all(p)
                .await
                .map_err(db_err("listing identity links"))?
                .iter()
                .map(link_from_row)
                .collect()
        })
    }
}

#[async_trait]
impl GuildOverrideStore for SqlStore {
    async fn override_guilds(&self) -> Result<Vec<GuildId>> {
        let ids: Vec<String> = on_pool!(self, p => {
            sqlx::query_scalar("SELECT guild_id FROM guild_overrides ORDER BY guild_id")
                .fetch_all(p)
                .await
                .map_err(db_err("listing guild overrides"))?
        });
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }

    async fn get_override(&self, guild: GuildId) -> Result<Option<StoredOverride>> {
        on_pool!(self, p => {
            sqlx::query(concat!("SELECT ", override_columns!(), " FROM guild_overrides WHERE guild_id = $1"))
                .bind(guild.to_string())
                .fetch_optional(p)
                .await
                .map_err(db_err("reading a guild override"))?
                .as_ref()
                .map(override_from_row)
                .transpose()
        })
    }

    async fn update_override(
        &self,
        guild: GuildId,
        actor: DiscordUserId,
        edit: OverrideEdit<'_>,
    ) -> Result<StoredOverride> {
        const OP: &str = "updating a guild override";
        let _guard = self.sqlite_writer.lock().await;
        let select = format!(
            concat!(
                "SELECT ",
                override_columns!(),
                " FROM guild_overrides WHERE guild_id = $1{}"
            ),
            self.kind().row_lock()
        );
        let at = self.clock.now_unix();
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            // Make sure a row exists so that concurrent first writers lock the same row.
            sqlx::query("INSERT INTO guild_overrides (guild_id, document, version, updated_at, updated_by) VALUES ($1, '{}', 0, $2, NULL) ON CONFLICT (guild_id) DO NOTHING")
                .bind(guild.to_string())
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            let row = sqlx::query(&select)
                .bind(guild.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            let current = override_from_row(&row)?;
            let before = current.document.clone();
            let mut document = current.document;
            edit(&mut document)?;
            let text = override_text(guild, &document)?;
            let version = current.version.saturating_add(1);
            sqlx::query("UPDATE guild_overrides SET document = $1, version = $2, updated_at = $3, updated_by = $4 WHERE guild_id = $5")
                .bind(&text)
                .bind(version)
                .bind(at)
                .bind(actor.to_string())
                .bind(guild.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?;
            append_audit!(&mut *tx, NewAuditEntry {
                guild,
                actor: Some(actor),
                action: AuditAction::ConfigChanged,
                detail: config_change_detail(before, &document, version),
            }, at);
            tx.commit().await.map_err(db_err(OP))?;
            Ok(StoredOverride { document, version, updated_at: at, updated_by: Some(actor) })
        })
    }

    async fn delete_override(&self, guild: GuildId, actor: DiscordUserId) -> Result<bool> {
        const OP: &str = "deleting a guild override";
        let _guard = self.sqlite_writer.lock().await;
        let at = self.clock.now_unix();
        on_pool!(self, p => {
            let mut tx = p.begin_write(OP).await?;
            let removed = sqlx::query("DELETE FROM guild_overrides WHERE guild_id = $1")
                .bind(guild.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err(OP))?
                .rows_affected()
                > 0;
            if removed {
                append_audit!(&mut *tx, NewAuditEntry {
                    guild,
                    actor: Some(actor),
                    action: AuditAction::ConfigReset,
                    detail: Value::Object(Map::new()),
                }, at);
            }
            tx.commit().await.map_err(db_err(OP))?;
            Ok(removed)
        })
    }
}

#[async_trait]
impl AuditLog for SqlStore {
    async fn append(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        let at = self.clock.now_unix();
        on_pool!(self, p => Ok(append_audit!(p, entry, at)))
    }

    async fn recent(&self, guild: GuildId, limit: u32) -> Result<Vec<AuditEntry>> {
        on_pool!(self, p => {
            sqlx::query(concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE guild_id = $1 ORDER BY id DESC LIMIT $2"))
                .bind(guild.to_string())
                .bind(i64::from(limit.min(1000)))
                .fetch_all(p)
                .await
                .map_err(db_err("reading the audit log"))?
                .iter()
                .map(audit_from_row)
                .collect()
        })
    }

    async fn page(
        &self,
        guild: GuildId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        // Served by the index `audit_log_guild (guild_id, id)`: a range scan that stops after
        // `limit` rows, at any depth.
        let Some(before) = before else {
            return self.recent(guild, limit).await;
        };
        on_pool!(self, p => {
            sqlx::query(concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE guild_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"))
                .bind(guild.to_string())
                .bind(before)
                .bind(i64::from(limit.min(1000)))
                .fetch_all(p)
                .await
                .map_err(db_err("reading a page of the audit log"))?
                .iter()
                .map(audit_from_row)
                .collect()
        })
    }
}

#[async_trait]
impl MeetingStore for SqlStore {
    async fn insert_meeting(&self, meeting: &MeetingRecord) -> Result<()> {
        let _guard = self.sqlite_writer.lock().await;
        on_pool!(self, p => {
            let result = sqlx::query(concat!(
                "INSERT INTO meetings (", meeting_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
                .bind(meeting.guild.to_string())
                .bind(meeting.partner_id.get())
                .bind(meeting.event_id.get())
                .bind(meeting.resource_id.get())
                .bind(&meeting.title)
                .bind(meeting.description.as_deref())
                .bind(MeetingType::as_str(meeting.kind))
                .bind(meeting.starts_at)
                .bind(meeting.ends_at)
                .bind(meeting.created_by.to_string())
                .bind(meeting.created_at)
                .bind(meeting.status.as_str())
                .bind(meeting.ended_at)
                .bind(meeting.ended_by.map(|u| u.to_string()))
                .execute(p)
                .await;
            match result {
                Err(e) if is_unique_violation(&e) => Err(Error::conflict(
                    Resource::Meeting,
                    meeting.event_id,
                    ConflictReason::AlreadyExists,
                )),
                other => other.map(|_| ()).map_err(db_err("recording a meeting")),
            }
        })
    }

    async fn find_meeting(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<MeetingRecord>> {
        on_pool!(self, p => {
            sqlx::query(concat!(
                "SELECT ", meeting_columns!(), " FROM meetings WHERE guild_id = $1 AND partner_id = $2 AND event_id = $3"
            ))
                .bind(guild.to_string())
                .bind(partner_id.get())
                .bind(event_id.get())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up a meeting"))?
                .as_ref()
                .map(meeting_from_row)
                .transpose()
        })
    }

    async fn meeting_by_event(
        &self,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<MeetingRecord>> {
        on_pool!(self, p => {
            sqlx::query(concat!(
                "SELECT ", meeting_columns!(), " FROM meetings WHERE partner_id = $1 AND event_id = $2"
            ))
                .bind(partner_id.get())
                .bind(event_id.get())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up a meeting"))?
                .as_ref()
                .map(meeting_from_row)
                .transpose()
        })
    }

    async fn list_open_meetings(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        now: i64,
    ) -> Result<Vec<MeetingRecord>> {
        on_pool!(self, p => {
            sqlx::query(concat!(
                "SELECT ", meeting_columns!(), " FROM meetings WHERE guild_id = $1 AND partner_id = $2 AND status = $3 AND ends_at > $4 ORDER BY starts_at, event_id LIMIT 1000"
            ))
                .bind(guild.to_string())
                .bind(partner_id.get())
                .bind(MeetingStatus::Scheduled.as_str())
                .bind(now)
                .fetch_all(p)
                .await
                .map_err(db_err("listing meetings"))?
                .iter()
                .map(meeting_from_row)
                .collect()
        })
    }

    async fn meetings_between(
        &self,
        after: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<MeetingRecord>> {
        on_pool!(self, p => {
            sqlx::query(concat!(
                "SELECT ", meeting_columns!(), " FROM meetings WHERE (starts_at > $1 AND starts_at <= $2) OR (ends_at > $1 AND ends_at <= $2) ORDER BY starts_at, partner_id, event_id LIMIT $3"
            ))
                .bind(after)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
                .map_err(db_err("listing meetings due"))?
                .iter()
                .map(meeting_from_row)
                .collect()
        })
    }

    async fn next_meeting_time(&self, after: i64) -> Result<Option<i64>> {
        let (start, end): (Option<i64>, Option<i64>) = on_pool!(self, p => {
            let start: Option<i64> = sqlx::query_scalar("SELECT MIN(starts_at) FROM meetings WHERE starts_at > $1")
                .bind(after)
                .fetch_one(p)
                .await
                .map_err(db_err("finding the next meeting time"))?;
            let end: Option<i64> = sqlx::query_scalar("SELECT MIN(ends_at) FROM meetings WHERE ends_at > $1")
                .bind(after)
                .fetch_one(p)
                .await
                .map_err(db_err("finding the next meeting time"))?;
            Ok::<_, Error>((start, end))
        })?;
        Ok(match (start, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    async fn mark_meeting_ended(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
        ended_by: DiscordUserId,
        ended_at: i64,
    ) -> Result<bool> {
        let _guard = self.sqlite_writer.lock().await;
        on_pool!(self, p => {
            let changed = sqlx::query(
                "UPDATE meetings SET status = $1, ended_at = $2, ended_by = $3 \
                 WHERE guild_id = $4 AND partner_id = $5 AND event_id = $6 AND status = $7",
            )
            .bind(MeetingStatus::Ended.as_str())
            .bind(ended_at)
            .bind(ended_by.to_string())
            .bind(guild.to_string())
            .bind(partner_id.get())
            .bind(event_id.get())
            .bind(MeetingStatus::Scheduled.as_str())
            .execute(p)
            .await
            .map_err(db_err("ending a meeting"))?
            .rows_affected();
            Ok(changed > 0)
        })
    }

    async fn set_discord_event(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
        discord_event: Option<ScheduledEventId>,
    ) -> Result<bool> {
        let _guard = self.sqlite_writer.lock().await;
        on_pool!(self, p => {
            let changed = sqlx::query(
                "UPDATE meetings SET discord_event_id = $1 \
                 WHERE guild_id = $2 AND partner_id = $3 AND event_id = $4",
            )
            .bind(discord_event.map(|e| e.to_string()))
            .bind(guild.to_string())
            .bind(partner_id.get())
            .bind(event_id.get())
            .execute(p)
            .await
            .map_err(db_err("recording a meeting's scheduled event"))?
            .rows_affected();
            Ok(changed > 0)
        })
    }

    async fn discord_event(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        event_id: ScheduleEventId,
    ) -> Result<Option<ScheduledEventId>> {
        let stored: Option<Option<String>> = on_pool!(self, p => {
            sqlx::query_scalar(
                "SELECT discord_event_id FROM meetings WHERE guild_id = $1 AND partner_id = $2 AND event_id = $3",
            )
            .bind(guild.to_string())
            .bind(partner_id.get())
            .bind(event_id.get())
            .fetch_optional(p)
            .await
            .map_err(db_err("looking up a meeting's scheduled event"))?
        });
        match stored.flatten() {
            None => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|_| {
                Error::corrupt(
                    Resource::Meeting,
                    "discord_event_id",
                    "is not a Discord snowflake",
                )
            }),
        }
    }
}

/// `NotificationStore` for `SqlStore`; a child module so that it shares the pool, the row
/// readers and the write lock of this one.
#[path = "sql_notify.rs"]
mod notify;

/// The gateway's `SessionStore` and `PendingLoginStore` for `SqlStore`.
#[path = "sql_sessions.rs"]
mod sessions;
