//! The only place with SQL. One [`Store`] serves SQLite (embedded default) and PostgreSQL
//! (scale-out) through sqlx's `Any` driver: queries use `$1` placeholders that both accept, and
//! each backend keeps its own migrations folder.

mod agents;
mod audit;
mod cases;
mod catalog;
mod error;
mod people;
mod requests;
mod search_log;
mod sessions;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};

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
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time. Writers queue here, in the process, rather than in
    /// SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and turns
    /// contention into long stalls.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Connects (creating an SQLite file if needed) with WAL, foreign keys and a busy timeout on
    /// SQLite. Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Connect(redact(&url), e.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // FULL: a commit is on disk before it is acknowledged, so an
                        // acknowledged submission survives a power cut, not only a crash of
                        // the process. It costs one fsync of the log per commit.
                        conn.execute(sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        ))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Connect(redact(&url), e.to_string()))?;
        Ok(Self {
            pool,
            backend,
            writer: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations of this backend; safe to run on every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Whether the database answers: the readiness probe.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction for a use case. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that reads and then writes could otherwise fail to
    /// upgrade its lock when another writer went first.
    ///
    /// On SQLite the process's writers take turns before they take a pooled connection, so a
    /// writer waiting its turn holds no connection.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let (tx, turn) = match self.backend {
            Backend::Sqlite => {
                let turn = Arc::clone(&self.writer).lock_owned().await;
                (self.pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn))
            }
            Backend::Postgres => (self.pool.begin().await?, None),
        };
        Ok(Tx { tx, _turn: turn })
    }
}

/// One use case's transaction: everything written through it lands together or not at all.
pub struct Tx {
    tx: Transaction<'static, Any>,
    /// Declared after `tx`, so a dropped transaction rolls back before the turn passes on.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Store {
    /// Runs one administrative statement built at run time (schema management in tests and
    /// tools). Never pass user input.
    pub async fn execute_admin(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
