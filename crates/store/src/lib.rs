//! The only place with SQL. One [`Store`] serves SQLite (embedded default) and PostgreSQL
//! (scale-out): queries use `$1` placeholders that both accept (see [`db`]), and each backend
//! keeps its own migrations folder.

mod agents;
mod audit;
mod cases;
mod catalog;
mod db;
mod error;
mod people;
mod requests;
mod search_log;
mod sessions;
mod timeline;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::db::{Conn, Pool, lite};

pub use agents::{ConsentRecord, ConsentsOf, FileRecord};
pub use audit::{AuditFilter, StoredAudit};
pub use cases::{CaseEvent, CaseQuery, CaseRecord, InboxMessage, MaterialRecord, OutboxRecord};
pub use catalog::{ImportCounts, MasterData};
pub use error::StoreError;
pub use people::{EncryptedFields, OtpRecord, OtpSender, UserKind, UserRecord};
pub use requests::{
    ApiKeyRecord, RequestContact, RequestEvent, RequestPhoto, RequestQuery, RequestRecord,
    RoutingExample, RoutingRule,
};
pub use search_log::SearchMiss;
pub use sessions::{ApiTokenRecord, SessionRecord};
pub use timeline::TimelineEvent;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Hides a password in a database URL before it reaches a message or a log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}://{}:***{}",
                    &url[..scheme_end],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
}

/// The file an `sqlite:` URL names (`sqlite://PATH`, `sqlite:PATH`, options after `?` ignored).
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    PathBuf::from(path)
}

impl Store {
    /// Connects (creating an SQLite file if needed) with WAL, foreign keys and a busy timeout on
    /// SQLite. Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url)?;
        let pool = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(url);
                let lite = tokio::task::spawn_blocking(move || lite::Lite::open(path))
                    .await
                    .map_err(|e| StoreError::Connect(redact(url), e.to_string()))??;
                Pool::Sqlite(Arc::new(lite))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Connect(redact(url), e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Connect(redact(url), e.to_string()))?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations of this backend; safe to run on every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(lite) => lite.migrate(&SQLITE_MIGRATIONS).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS
                .run(pool)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string())),
        }
    }

    /// Whether the database answers: the readiness probe.
    pub async fn ping(&self) -> Result<(), StoreError> {
        db::query("SELECT 1 AS one").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(lite) => lite.close(),
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Starts a transaction for a use case: everything written through it lands together or
    /// not at all. On SQLite the process's writers take turns, and their commits are grouped
    /// (see [`db::lite`]).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let conn = match &self.pool {
            Pool::Sqlite(lite) => Conn::Sqlite(lite::LiteTx::begin(lite).await?),
            Pool::Postgres(pool) => Conn::Postgres(pool.begin().await?),
        };
        Ok(Tx { conn })
    }
}

/// One use case's transaction: everything written through it lands together or not at all.
/// Dropped without a commit, it rolls back.
pub struct Tx {
    conn: Conn,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.conn {
            Conn::Sqlite(tx) => tx.commit().await,
            Conn::Postgres(tx) => Ok(tx.commit().await?),
        }
    }

    pub(crate) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Store {
    /// Runs administrative statements built at run time (schema management in tests and
    /// tools). Never pass user input.
    pub async fn execute_admin(&self, sql: &str) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(lite) => lite.execute_batch(sql).await,
            Pool::Postgres(pool) => {
                pool.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
                    .await?;
                Ok(())
            }
        }
    }
}
