//! [`SqlStore`]: the SQLite and PostgreSQL implementation of the store traits.
//!
//! The same SQL runs on both databases (positional `$n` parameters in order, `ON CONFLICT`
//! upserts, `RETURNING`); the few differences (auto-increment ids, row locks) are spelled out
//! per backend. Discord ids are stored as text, times as unix seconds.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use kaltura_client::{PartnerId, ScheduleEventId, ScheduleResourceId, UserId};
use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Executor, Row};

use super::{
    AuditAction, AuditEntry, AuditLog, GuildSettingsStore, IdentityLink, IdentityStore, LinkScope,
    MeetingRecord, MeetingStatus, MeetingStore, NewAuditEntry, OverrideEdit, StoredOverride,
};
use crate::config::MeetingType;
use crate::error::{ConflictReason, Resource, SetupError, StoreError, StoreErrorKind};
use crate::ids::{DiscordUserId, GuildId};
use crate::{Error, Result};

/// Schema migrations, applied in order. The SQL runs on both backends; the one difference,
/// the auto-increment id column, is written `{AUTO_ID}` and filled in by [`backend_sql`].
const MIGRATIONS: &[(i64, &str)] = &[(1, INITIAL_V1), (2, MEETINGS_V2)];

/// The auto-increment id column on SQLite.
const SQLITE_AUTO_ID: &str = "id INTEGER PRIMARY KEY AUTOINCREMENT";
/// The auto-increment id column on PostgreSQL.
const POSTGRES_AUTO_ID: &str = "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";

/// A migration's SQL for one backend.
fn backend_sql(sql: &str, postgres: bool) -> String {
    sql.replace(
        "{AUTO_ID}",
        if postgres {
            POSTGRES_AUTO_ID
        } else {
            SQLITE_AUTO_ID
        },
    )
}

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

/// Largest override document accepted, in bytes of JSON.
pub const MAX_OVERRIDE_BYTES: usize = 64 * 1024;

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Identity links, guild overrides and the audit log in SQLite or PostgreSQL.
#[derive(Clone)]
pub struct SqlStore {
    pool: Pool,
    /// SQLite allows one writer at a time; taking this lock before a read-then-write
    /// transaction avoids `SQLITE_BUSY` upgrades inside one process.
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.pool {
            Pool::Sqlite(_) => "SqlStore(sqlite)",
            Pool::Postgres(_) => "SqlStore(postgres)",
        })
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

/// The text of a PostgreSQL URL parse error without the URL (which may hold a password).
fn redact_sqlx_url_error(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Configuration(_) => "malformed URL or unknown option",
        _ => "unreadable URL",
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs the same code for either pool; `$p` is bound to the concrete pool.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

impl SqlStore {
    /// Connects by URL: `sqlite://path/to/file.db` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Self::sqlite(Path::new(path)).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::postgres(url, None).await
        } else {
            Err(Error::Setup(SetupError::UnsupportedDatabaseUrl {
                url: crate::config::redact_url_public(url),
                supported: "sqlite://… or postgres://…",
            }))
        }
    }

    /// Opens (creating it and its folder if needed) an SQLite database file in WAL mode and
    /// applies the migrations.
    pub async fn sqlite(path: &Path) -> Result<Self> {
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
            .busy_timeout(Duration::from_secs(10))
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db_err("opening the SQLite database"))?;
        let store = SqlStore {
            pool: Pool::Sqlite(pool),
            sqlite_writer: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to PostgreSQL and applies the migrations. With `schema`, everything lives in
    /// that schema (created if missing) — one per test, or per deployment sharing a database.
    pub async fn postgres(url: &str, schema: Option<&str>) -> Result<Self> {
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
        let store = SqlStore {
            pool: Pool::Postgres(pool),
            sqlite_writer: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    async fn migrate(&self) -> Result<()> {
        let _guard = self.sqlite_writer.lock().await;
        let create = "CREATE TABLE IF NOT EXISTS kd_schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
        let is_pg = matches!(self.pool, Pool::Postgres(_));
        on_pool!(self, p => {
            let mut tx = p.begin().await.map_err(db_err("starting the migration"))?;
            if is_pg {
                // Replicas starting together take turns.
                sqlx::query("SELECT pg_advisory_xact_lock(727274)").execute(&mut *tx).await.map_err(db_err("locking for migration"))?;
            }
            sqlx::query(create).execute(&mut *tx).await.map_err(db_err("creating the migrations table"))?;
            let applied: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM kd_schema_migrations")
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.try_get::<Option<i64>, _>("v"))
                .map_err(db_err("reading the schema version"))?;
            let applied = applied.unwrap_or(0);
            for (version, sql) in MIGRATIONS {
                if *version <= applied {
                    continue;
                }
                let sql = backend_sql(sql, is_pg);
                tx.execute(sql.as_str()).await.map_err(db_err("applying a migration"))?;
                sqlx::query("INSERT INTO kd_schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(*version)
                    .bind(now_unix())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("recording a migration"))?;
            }
            tx.commit().await.map_err(db_err("committing the migration"))?;
            Ok(())
        })
    }
}

fn parse_id<T: FromStr<Err = crate::ids::InvalidSnowflake>>(
    resource: Resource,
    field: &'static str,
    raw: String,
) -> Result<T> {
    raw.parse()
        .map_err(|e: crate::ids::InvalidSnowflake| Error::corrupt(resource, field, e.to_string()))
}

macro_rules! link_from_row {
    ($row:expr) => {{
        let row = $row;
        let text = |col: &str| {
            row.try_get::<String, _>(col)
                .map_err(db_err("reading an identity link"))
        };
        let scope = text("scope")?;
        IdentityLink {
            scope: LinkScope::parse_key(&scope).ok_or_else(|| {
                Error::corrupt(
                    Resource::IdentityLink,
                    "scope",
                    "is not `guild:<id>` or `partner:<id>`",
                )
            })?,
            guild: parse_id(Resource::IdentityLink, "guild_id", text("guild_id")?)?,
            discord_user: parse_id(
                Resource::IdentityLink,
                "discord_user_id",
                text("discord_user_id")?,
            )?,
            kaltura_user: UserId::new(text("kaltura_user_id")?),
            linked_at: row
                .try_get::<i64, _>("linked_at")
                .map_err(db_err("reading an identity link"))?,
            linked_by: parse_id(Resource::IdentityLink, "linked_by", text("linked_by")?)?,
        }
    }};
}

macro_rules! audit_from_row {
    ($row:expr) => {{
        let row = $row;
        let get = |col: &str| {
            row.try_get::<String, _>(col)
                .map_err(db_err("reading the audit log"))
        };
        AuditEntry {
            id: row
                .try_get::<i64, _>("id")
                .map_err(db_err("reading the audit log"))?,
            guild: parse_id(Resource::AuditEntry, "guild_id", get("guild_id")?)?,
            actor: match row
                .try_get::<Option<String>, _>("actor")
                .map_err(db_err("reading the audit log"))?
            {
                Some(a) => Some(parse_id(Resource::AuditEntry, "actor", a)?),
                None => None,
            },
            action: AuditAction::parse(&get("action")?),
            detail: serde_json::from_str(&get("detail")?).unwrap_or(Value::Null),
            at: row
                .try_get::<i64, _>("at")
                .map_err(db_err("reading the audit log"))?,
        }
    }};
}

const AUDIT_INSERT: &str = "INSERT INTO audit_log (guild_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5) RETURNING id";

macro_rules! append_audit {
    ($exec:expr, $entry:expr) => {{
        let entry: &NewAuditEntry = $entry;
        let at = now_unix();
        let id: i64 = sqlx::query(AUDIT_INSERT)
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
            detail: entry.detail.clone(),
            at,
        }
    }};
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn link(&self, link: &IdentityLink) -> Result<()> {
        let _guard = self.sqlite_writer.lock().await;
        on_pool!(self, p => {
            let mut tx = p.begin().await.map_err(db_err("linking an identity"))?;
            let result = sqlx::query(
                "INSERT INTO identity_links (scope, guild_id, discord_user_id, kaltura_user_id, linked_at, linked_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (scope, discord_user_id) DO UPDATE SET guild_id = excluded.guild_id, \
                 kaltura_user_id = excluded.kaltura_user_id, linked_at = excluded.linked_at, linked_by = excluded.linked_by",
            )
            .bind(link.scope.key())
            .bind(link.guild.to_string())
            .bind(link.discord_user.to_string())
            .bind(link.kaltura_user.as_str())
            .bind(link.linked_at)
            .bind(link.linked_by.to_string())
            .execute(&mut *tx)
            .await;
            match result {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(Error::conflict(
                        Resource::KalturaUser,
                        &link.kaltura_user,
                        ConflictReason::LinkedToAnotherMember,
                    ));
                }
                other => {
                    other.map_err(db_err("linking an identity"))?;
                }
            }
            append_audit!(&mut *tx, &NewAuditEntry {
                guild: link.guild,
                actor: Some(link.linked_by),
                action: AuditAction::IdentityLinked,
                detail: serde_json::json!({"discord_user": link.discord_user.to_string(), "kaltura_user": link.kaltura_user.as_str()}),
            });
            tx.commit().await.map_err(db_err("linking an identity"))?;
            Ok(())
        })
    }

    async fn unlink(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
        guild: GuildId,
        actor: DiscordUserId,
    ) -> Result<bool> {
        let _guard = self.sqlite_writer.lock().await;
        on_pool!(self, p => {
            let mut tx = p.begin().await.map_err(db_err("unlinking an identity"))?;
            let removed = sqlx::query("DELETE FROM identity_links WHERE scope = $1 AND discord_user_id = $2")
                .bind(scope.key())
                .bind(discord_user.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err("unlinking an identity"))?
                .rows_affected()
                > 0;
            if removed {
                append_audit!(&mut *tx, &NewAuditEntry {
                    guild,
                    actor: Some(actor),
                    action: AuditAction::IdentityUnlinked,
                    detail: serde_json::json!({"discord_user": discord_user.to_string(), "scope": scope.key()}),
                });
            }
            tx.commit().await.map_err(db_err("unlinking an identity"))?;
            Ok(removed)
        })
    }

    async fn find_by_discord(
        &self,
        scope: LinkScope,
        discord_user: DiscordUserId,
    ) -> Result<Option<IdentityLink>> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT * FROM identity_links WHERE scope = $1 AND discord_user_id = $2")
                .bind(scope.key())
                .bind(discord_user.to_string())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up an identity link"))?;
            match row {
                Some(row) => Ok(Some(link_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    async fn find_by_kaltura(
        &self,
        scope: LinkScope,
        kaltura_user: &UserId,
    ) -> Result<Option<IdentityLink>> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT * FROM identity_links WHERE scope = $1 AND kaltura_user_id = $2")
                .bind(scope.key())
                .bind(kaltura_user.as_str())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up an identity link"))?;
            match row {
                Some(row) => Ok(Some(link_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    async fn list_links(&self, scope: LinkScope) -> Result<Vec<IdentityLink>> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT * FROM identity_links WHERE scope = $1 ORDER BY discord_user_id")
                .bind(scope.key())
                .fetch_all(p)
                .await
                .map_err(db_err("listing identity links"))?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(link_from_row!(row));
            }
            Ok(out)
        })
    }
}

macro_rules! override_from_row {
    ($row:expr) => {{
        let row = $row;
        let document: String = row
            .try_get("document")
            .map_err(db_err("reading a guild override"))?;
        let document = match serde_json::from_str::<Value>(&document) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(Error::corrupt(
                    Resource::GuildOverride,
                    "document",
                    "is not a JSON object",
                ));
            }
        };
        StoredOverride {
            document,
            version: row
                .try_get("version")
                .map_err(db_err("reading a guild override"))?,
            updated_at: row
                .try_get("updated_at")
                .map_err(db_err("reading a guild override"))?,
            updated_by: match row
                .try_get::<Option<String>, _>("updated_by")
                .map_err(db_err("reading a guild override"))?
            {
                Some(a) => Some(parse_id(Resource::GuildOverride, "updated_by", a)?),
                None => None,
            },
        }
    }};
}

#[async_trait]
impl GuildSettingsStore for SqlStore {
    async fn get_override(&self, guild: GuildId) -> Result<Option<StoredOverride>> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT document, version, updated_at, updated_by FROM guild_overrides WHERE guild_id = $1")
                .bind(guild.to_string())
                .fetch_optional(p)
                .await
                .map_err(db_err("reading a guild override"))?;
            match row {
                Some(row) => Ok(Some(override_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    async fn update_override(
        &self,
        guild: GuildId,
        actor: DiscordUserId,
        edit: OverrideEdit<'_>,
    ) -> Result<StoredOverride> {
        let _guard = self.sqlite_writer.lock().await;
        let lock = match self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => " FOR UPDATE",
        };
        let select = format!(
            "SELECT document, version, updated_at, updated_by FROM guild_overrides WHERE guild_id = $1{lock}"
        );
        on_pool!(self, p => {
            let mut tx = p.begin().await.map_err(db_err("updating a guild override"))?;
            // Make sure a row exists so that concurrent first writers lock the same row.
            sqlx::query("INSERT INTO guild_overrides (guild_id, document, version, updated_at, updated_by) VALUES ($1, '{}', 0, $2, NULL) ON CONFLICT (guild_id) DO NOTHING")
                .bind(guild.to_string())
                .bind(now_unix())
                .execute(&mut *tx)
                .await
                .map_err(db_err("updating a guild override"))?;
            let row = sqlx::query(&select)
                .bind(guild.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err("updating a guild override"))?;
            let current = override_from_row!(row);
            let before = current.document.clone();
            let mut document = current.document;
            edit(&mut document)?;
            let text = Value::Object(document.clone()).to_string();
            if text.len() > MAX_OVERRIDE_BYTES {
                return Err(Error::invalid_input(
                    "override",
                    format!(
                        "guild {guild}: the configuration override would be {} bytes, more than the {MAX_OVERRIDE_BYTES} allowed",
                        text.len()
                    ),
                ));
            }
            let version = current.version + 1;
            let at = now_unix();
            sqlx::query("UPDATE guild_overrides SET document = $1, version = $2, updated_at = $3, updated_by = $4 WHERE guild_id = $5")
                .bind(&text)
                .bind(version)
                .bind(at)
                .bind(actor.to_string())
                .bind(guild.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err("updating a guild override"))?;
            append_audit!(&mut *tx, &NewAuditEntry {
                guild,
                actor: Some(actor),
                action: AuditAction::ConfigChanged,
                detail: serde_json::json!({"before": Value::Object(before), "after": Value::Object(document.clone()), "version": version}),
            });
            tx.commit().await.map_err(db_err("updating a guild override"))?;
            Ok(StoredOverride { document, version, updated_at: at, updated_by: Some(actor) })
        })
    }

    async fn delete_override(&self, guild: GuildId, actor: DiscordUserId) -> Result<bool> {
        let _guard = self.sqlite_writer.lock().await;
        on_pool!(self, p => {
            let mut tx = p.begin().await.map_err(db_err("deleting a guild override"))?;
            let removed = sqlx::query("DELETE FROM guild_overrides WHERE guild_id = $1")
                .bind(guild.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err("deleting a guild override"))?
                .rows_affected()
                > 0;
            if removed {
                append_audit!(&mut *tx, &NewAuditEntry {
                    guild,
                    actor: Some(actor),
                    action: AuditAction::ConfigReset,
                    detail: Value::Object(Map::new()),
                });
            }
            tx.commit().await.map_err(db_err("deleting a guild override"))?;
            Ok(removed)
        })
    }
}

#[async_trait]
impl crate::config::GuildOverrideStore for SqlStore {
    async fn guild_override(&self, guild: GuildId) -> Result<Option<Map<String, Value>>> {
        Ok(self
            .get_override(guild)
            .await?
            .map(|o| o.document)
            .filter(|d| !d.is_empty()))
    }
}

#[async_trait]
impl AuditLog for SqlStore {
    async fn append(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        on_pool!(self, p => Ok(append_audit!(p, &entry)))
    }

    async fn recent(&self, guild: GuildId, limit: u32) -> Result<Vec<AuditEntry>> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT * FROM audit_log WHERE guild_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(guild.to_string())
                .bind(i64::from(limit.min(1000)))
                .fetch_all(p)
                .await
                .map_err(db_err("reading the audit log"))?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(audit_from_row!(row));
            }
            Ok(out)
        })
    }
}

fn parse_meeting_kind(raw: &str) -> Result<MeetingType> {
    MeetingType::parse(raw)
        .ok_or_else(|| Error::corrupt(Resource::Meeting, "kind", "is not a known meeting type"))
}

macro_rules! meeting_from_row {
    ($row:expr) => {{
        let row = $row;
        let text = |col: &str| {
            row.try_get::<String, _>(col)
                .map_err(db_err("reading a meeting"))
        };
        let opt_text = |col: &str| {
            row.try_get::<Option<String>, _>(col)
                .map_err(db_err("reading a meeting"))
        };
        let int = |col: &str| {
            row.try_get::<i64, _>(col)
                .map_err(db_err("reading a meeting"))
        };
        let status = text("status")?;
        MeetingRecord {
            guild: parse_id(Resource::Meeting, "guild_id", text("guild_id")?)?,
            partner_id: PartnerId::new(int("partner_id")?),
            event_id: ScheduleEventId::new(int("event_id")?),
            resource_id: ScheduleResourceId::new(int("resource_id")?),
            title: text("title")?,
            description: opt_text("description")?,
            kind: parse_meeting_kind(&text("kind")?)?,
            starts_at: int("starts_at")?,
            ends_at: int("ends_at")?,
            created_by: parse_id(Resource::Meeting, "created_by", text("created_by")?)?,
            created_at: int("created_at")?,
            status: MeetingStatus::parse(&status).ok_or_else(|| {
                Error::corrupt(Resource::Meeting, "status", "is not a known status")
            })?,
            ended_at: row
                .try_get::<Option<i64>, _>("ended_at")
                .map_err(db_err("reading a meeting"))?,
            ended_by: match opt_text("ended_by")? {
                Some(a) => Some(parse_id(Resource::Meeting, "ended_by", a)?),
                None => None,
            },
        }
    }};
}

const MEETING_COLUMNS: &str = "guild_id, partner_id, event_id, resource_id, title, description, kind, starts_at, ends_at, created_by, created_at, status, ended_at, ended_by";

#[async_trait]
impl MeetingStore for SqlStore {
    async fn insert_meeting(&self, meeting: &MeetingRecord) -> Result<()> {
        let _guard = self.sqlite_writer.lock().await;
        let sql = format!(
            "INSERT INTO meetings ({MEETING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        on_pool!(self, p => {
            let result = sqlx::query(&sql)
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
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(Error::conflict(
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
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM meetings WHERE guild_id = $1 AND partner_id = $2 AND event_id = $3"
        );
        on_pool!(self, p => {
            let row = sqlx::query(&sql)
                .bind(guild.to_string())
                .bind(partner_id.get())
                .bind(event_id.get())
                .fetch_optional(p)
                .await
                .map_err(db_err("looking up a meeting"))?;
            match row {
                Some(row) => Ok(Some(meeting_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    async fn list_open_meetings(
        &self,
        guild: GuildId,
        partner_id: PartnerId,
        now: i64,
    ) -> Result<Vec<MeetingRecord>> {
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM meetings WHERE guild_id = $1 AND partner_id = $2 AND status = $3 AND ends_at > $4 ORDER BY starts_at, event_id LIMIT 1000"
        );
        on_pool!(self, p => {
            let rows = sqlx::query(&sql)
                .bind(guild.to_string())
                .bind(partner_id.get())
                .bind(MeetingStatus::Scheduled.as_str())
                .bind(now)
                .fetch_all(p)
                .await
                .map_err(db_err("listing meetings"))?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(meeting_from_row!(row));
            }
            Ok(out)
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
}
