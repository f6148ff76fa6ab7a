//! SQLite in the process.
//!
//! Writers take turns on one connection, and their commits are grouped: a use case's
//! transaction is a savepoint inside the connection's open transaction, and the transaction
//! is committed (one fsync) when no other writer is waiting for its turn, or when enough use
//! cases have gathered. Every use case still waits for the commit that makes it durable
//! before it answers, so nothing is acknowledged that a crash could lose; a use case that
//! fails rolls back to its savepoint and takes nothing of the others with it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::{Fetch, Kind, Query, Row, Value};
use crate::StoreError;

/// Use cases gathered into one commit at most; bounds how long the first of them waits.
const MAX_GROUP: usize = 64;
/// Idle reading connections kept open.
const MAX_IDLE_READERS: usize = 8;
/// How long a committed use case waits before it commits the group itself, should the writer
/// that was to follow it have given up its turn.
const GROUP_PATIENCE: Duration = Duration::from_millis(2);
const STATEMENT_CACHE: usize = 256;
/// How often the log is copied back into the database, at most.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// Log frames (pages) past which the writer finishes a copy itself, so that the log can
/// start afresh: about 16 MB.
const CATCH_UP_FRAMES: i64 = 4096;
/// How long the writer waits for readers to leave the log it restarts. Only readers that began
/// before the copy finished are waited for; one scanning a large table can take tens of
/// milliseconds, and with a shorter wait such a reader made every restart fail, so the log
/// kept growing. Paid at most once per `CATCH_UP_FRAMES` of log.
const RESTART_PATIENCE: Duration = Duration::from_millis(100);
/// How long a connection waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Lite {
    path: PathBuf,
    readers: StdMutex<Vec<Connection>>,
    writer: Arc<Mutex<Writer>>,
    /// Writers waiting for their turn.
    queued: AtomicUsize,
    closed: AtomicBool,
}

impl std::fmt::Debug for Lite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lite").field("path", &self.path).finish()
    }
}

struct Writer {
    conn: Connection,
    /// Whether the grouping transaction is open.
    open: bool,
    /// Use cases released into the open transaction, waiting for it to commit.
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
    wal: Arc<WalFile>,
}

/// A committed group on its way to disk.
struct Group {
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
    /// The group's place among commits; see [`WalFile::sync_through`].
    seq: u64,
    result: Result<(), String>,
    wal: Arc<WalFile>,
}

impl Group {
    /// Waits until the log holding the group is on disk, then answers its use cases.
    fn settle(self) {
        let result = self.result.and_then(|()| self.wal.sync_through(self.seq));
        for w in self.waiting {
            let _ = w.send(result.clone());
        }
        self.wal.checkpoint();
    }
}

/// The write-ahead log, synced by us rather than by SQLite (see [`Lite::open`]).
struct WalFile {
    path: PathBuf,
    /// The log file, opened on first need; its lock also makes syncs take turns.
    file: StdMutex<Option<std::fs::File>>,
    /// Commits written to the log (groups, and schema changes outside them), not yet
    /// necessarily on disk, counted in order.
    committed: AtomicU64,
    /// Commits known to be on disk.
    synced: AtomicU64,
    /// The connection that copies the log back into the database, and when it last did.
    checkpointer: StdMutex<Checkpointer>,
    /// Set when the log has grown long without ever being copied back whole: the writer then
    /// finishes the copy in its turn (see [`end_group`]).
    catch_up: AtomicBool,
}

struct Checkpointer {
    db: PathBuf,
    conn: Option<Connection>,
    last: std::time::Instant,
}

impl WalFile {
    /// Counts a commit just written and returns its place.
    fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Makes sure the log is on disk up to group `seq`. One sync covers every group committed
    /// before it starts, so groups that committed while another sync ran share the next one
    /// instead of queueing a sync each: the disk, not the commit, sets the pace.
    fn sync_through(&self, seq: u64) -> Result<(), String> {
        let mut file = self.file.lock().map_err(|e| e.to_string())?;
        if self.synced.load(Ordering::SeqCst) >= seq {
            return Ok(());
        }
        let target = self.committed.load(Ordering::SeqCst);
        if file.is_none() {
            match std::fs::File::open(&self.path) {
                Ok(f) => *file = Some(f),
                // No log yet: nothing has been committed to one.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(format!("opening the log: {e}")),
            }
        }
        if let Some(f) = file.as_ref() {
            f.sync_all().map_err(|e| format!("syncing the log: {e}"))?;
        }
        self.synced.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }

    /// Copies the log back into the database now and then, off the writer's turn: SQLite
    /// would otherwise do it inside a commit, and every writer queued behind that commit would
    /// wait for the copy and its two syncs. Passive: it takes no lock from readers or the
    /// writer, and copies what no reader still needs. Skipped while another thread is at it.
    ///
    /// The log starts afresh only when a writer begins with all of it copied, which never
    /// happens while writers keep appending; when the log has grown long, the writer is asked
    /// to restart it in its own turn.
    fn checkpoint(&self) {
        let Ok(mut c) = self.checkpointer.try_lock() else {
            return;
        };
        if c.last.elapsed() < CHECKPOINT_EVERY {
            return;
        }
        c.last = std::time::Instant::now();
        if c.conn.is_none() {
            c.conn = open(&c.db, false).ok();
        }
        let Some(conn) = &c.conn else { return };
        // A failed checkpoint loses nothing: the log keeps the changes and the next one tries
        // again.
        if let Ok(log) = passive_checkpoint(conn)
            && log >= CATCH_UP_FRAMES
        {
            self.catch_up.store(true, Ordering::SeqCst);
        }
    }

    /// Syncs whatever has been written to the log so far.
    fn sync(&self) -> Result<(), String> {
        self.sync_through(self.committed())
    }
}

impl Writer {
    /// Commits the open transaction. The group is not yet durable: [`Group::settle`] makes it
    /// so and answers its use cases, after the next writer has been let in.
    fn commit_group(&mut self) -> Option<Group> {
        if !self.open {
            return None;
        }
        let result = control(&self.conn, "COMMIT").map_err(|e| e.to_string());
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.open = false;
        Some(Group {
            waiting: std::mem::take(&mut self.waiting),
            seq: self.wal.committed(),
            result,
            wal: Arc::clone(&self.wal),
        })
    }

    /// The transaction was lost (SQLite rolls back the whole of it on some errors, such as a
    /// full disk): every use case in it fails.
    fn abandon_group(&mut self, why: &str) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.open = false;
        for w in self.waiting.drain(..) {
            let _ = w.send(Err(why.to_owned()));
        }
    }
}

fn open(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Connect(path.display().to_string(), e.to_string()))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // FULL: a commit is on disk before it is acknowledged, so an acknowledged submission
    // survives a power cut, not only a crash of the process (the writer syncs by itself
    // instead; see `Lite::open`). Temporary storage in memory keeps the savepoints' undo
    // journals out of files: they were most of all writes. (Mapping the file into memory was
    // tried: it doubled the worklist's p99 at a million cases.)
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY;",
    )?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(conn)
}

impl Lite {
    pub(crate) fn open(path: PathBuf) -> Result<Self, StoreError> {
        let conn = open(&path, false)?;
        // The writer commits without waiting for the disk (NORMAL), so the next group can
        // start while this one is synced; no use case is answered before its group's log is
        // on disk (Group::settle), so an acknowledged change still survives a power cut. A
        // checkpoint still syncs the log before it copies from it.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;")?;
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let wal = Arc::new(WalFile {
            path: PathBuf::from(wal),
            file: StdMutex::new(None),
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            checkpointer: StdMutex::new(Checkpointer {
                db: path.clone(),
                conn: None,
                last: std::time::Instant::now(),
            }),
            catch_up: AtomicBool::new(false),
        });
        Ok(Self {
            readers: StdMutex::new(vec![open(&path, true)?]),
            writer: Arc::new(Mutex::new(Writer {
                conn,
                open: false,
                waiting: Vec::new(),
                wal,
            })),
            queued: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            path,
        })
    }

    /// Refuses all further use; the connections close as their last users let go.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut r) = self.readers.lock() {
            r.clear();
        }
    }

    fn check_open(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Database("the database has been closed".into()));
        }
        Ok(())
    }

    /// Runs `f` on an idle reading connection (opening one if none is idle). Never held
    /// across an await, so there are never more readers than threads.
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.check_open()?;
        let idle = self.readers.lock().ok().and_then(|mut r| r.pop());
        let conn = match idle {
            Some(c) => c,
            None => open(&self.path, true)?,
        };
        let result = f(&conn);
        // A connection left inside a transaction would hold its snapshot (and the log) for as
        // long as it sat idle: it is closed instead.
        if conn.is_autocommit()
            && let Ok(mut r) = self.readers.lock()
            && r.len() < MAX_IDLE_READERS
        {
            r.push(conn);
        }
        result
    }

    /// Like [`Lite::read`], with every statement of `f` in one read transaction.
    pub(crate) fn read_together<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.read(|conn| {
            control(conn, "BEGIN")?;
            let result = f(conn);
            // Nothing was written: ending the transaction either way only lets go of the
            // snapshot. Some errors (a full disk, an interrupt) have ended it already; then
            // `f`'s error is the one to report.
            if !conn.is_autocommit() {
                let ended = control(conn, "ROLLBACK");
                if result.is_ok() {
                    ended?;
                }
            }
            result
        })
    }

    /// Runs statements outside any use case (schema set-up by tools and tests).
    pub(crate) async fn execute_batch(self: &Arc<Self>, sql: &str) -> Result<(), StoreError> {
        let mut w = self.writer.lock().await;
        if let Some(g) = w.commit_group() {
            g.settle();
        }
        w.conn.execute_batch(sql)?;
        w.wal.sync().map_err(StoreError::Database)
    }

    /// Applies the migrations not yet applied, each in its own transaction, recording them as
    /// sqlx's migrator does, so databases made by either stay compatible.
    pub(crate) async fn migrate(
        self: &Arc<Self>,
        migrator: &sqlx::migrate::Migrator,
    ) -> Result<(), StoreError> {
        let mut w = self.writer.lock().await;
        if let Some(g) = w.commit_group() {
            g.settle();
        }
        let conn = &mut w.conn;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\
                 version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
                 installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
                 success BOOLEAN NOT NULL, checksum BLOB NOT NULL, \
                 execution_time BIGINT NOT NULL)",
        )?;
        for m in migrator.iter() {
            if m.migration_type.is_down_migration() {
                continue;
            }
            let applied: Option<Vec<u8>> = {
                let mut stmt =
                    conn.prepare("SELECT checksum FROM _sqlx_migrations WHERE version = ?1")?;
                let mut rows = stmt.query([m.version])?;
                match rows.next()? {
                    Some(r) => Some(r.get(0)?),
                    None => None,
                }
            };
            match applied {
                Some(sum) if sum == *m.checksum => continue,
                Some(_) => {
                    return Err(StoreError::Migrate(format!(
                        "migration {} was changed after it was applied",
                        m.version
                    )));
                }
                None => {}
            }
            let started = std::time::Instant::now();
            let tx = conn.transaction()?;
            tx.execute_batch(m.sql.as_str())
                .map_err(|e| StoreError::Migrate(format!("migration {}: {e}", m.version)))?;
            tx.execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                 execution_time) VALUES (?1, ?2, TRUE, ?3, ?4)",
                rusqlite::params![
                    m.version,
                    &*m.description,
                    &*m.checksum,
                    i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)
                ],
            )?;
            tx.commit()?;
        }
        w.wal.sync().map_err(StoreError::Database)
    }
}

/// Counts a writer waiting for its turn, until it has it or gives up.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A use case's transaction: a savepoint on the writing connection, held for its turn.
pub(crate) struct LiteTx {
    lite: Arc<Lite>,
    writer: Option<OwnedMutexGuard<Writer>>,
    savepoint: bool,
}

impl LiteTx {
    pub(crate) async fn begin(lite: &Arc<Lite>) -> Result<Self, StoreError> {
        lite.check_open()?;
        let turn = {
            let _queued = Queued::new(&lite.queued);
            Arc::clone(&lite.writer).lock_owned().await
        };
        let mut tx = Self {
            lite: Arc::clone(lite),
            writer: Some(turn),
            savepoint: false,
        };
        let w = tx.writer_mut()?;
        if !w.open {
            // IMMEDIATE: take the write lock at once; another process (a command-line tool)
            // may hold it, and then the busy timeout waits for it.
            control(&w.conn, "BEGIN IMMEDIATE")?;
            w.open = true;
        }
        control(&w.conn, "SAVEPOINT use_case")?;
        tx.savepoint = true;
        Ok(tx)
    }

    fn writer_mut(&mut self) -> Result<&mut Writer, StoreError> {
        self.writer
            .as_deref_mut()
            .ok_or_else(|| StoreError::Database("the transaction has ended".into()))
    }

    pub(crate) fn run(&mut self, q: &Query, rows: Fetch) -> Result<(Vec<Row>, u64), StoreError> {
        run(&self.writer_mut()?.conn, q, rows)
    }

    /// Releases the savepoint into the group and waits until the group is on disk.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let lite = Arc::clone(&self.lite);
        let Some(mut w) = self.writer.take() else {
            return Err(StoreError::Database("the transaction has ended".into()));
        };
        self.savepoint = false;
        if let Err(e) = control(&w.conn, "RELEASE use_case") {
            w.abandon_group(&e.to_string());
            return Err(e.into());
        }
        let (done, mut outcome) = oneshot::channel();
        w.waiting.push(done);
        if lite.queued.load(Ordering::SeqCst) == 0 || w.waiting.len() >= MAX_GROUP {
            end_group(w);
        } else {
            drop(w);
        }
        loop {
            match tokio::time::timeout(GROUP_PATIENCE, &mut outcome).await {
                Ok(Ok(result)) => return result.map_err(StoreError::Database),
                Ok(Err(_)) => {
                    return Err(StoreError::Database(
                        "the commit was abandoned before it finished".into(),
                    ));
                }
                // The writer that was to come next gave up its turn before committing the
                // group; commit it here.
                Err(_) => {
                    if let Ok(w) = Arc::clone(&lite.writer).try_lock_owned() {
                        end_group(w);
                    }
                }
            }
        }
    }
}

/// Commits the group and passes the turn on at once; the log is synced, and the group's use
/// cases answered, on a thread for blocking work. The commit itself only writes to the log
/// (checkpoints are not left to it; see [`WalFile::checkpoint`]), so it is quick, and doing it
/// here hands the turn straight to the next writer on this thread. When the log is to be
/// caught up, the turn goes with the group to that thread and is passed on after the copy.
fn end_group(mut w: OwnedMutexGuard<Writer>) {
    let group = w.commit_group();
    let catch_up = w.wal.catch_up.swap(false, Ordering::SeqCst);
    let turn = if catch_up {
        Some(w)
    } else {
        drop(w);
        None
    };
    if group.is_none() && turn.is_none() {
        return;
    }
    let finish = move || {
        if let Some(w) = turn {
            // No writer appends meanwhile, so the copy reaches the end of the log, and once
            // the readers still on an older part of it are done (they are quick; the wait is
            // short and a failure only means another try later), the next writer starts it
            // afresh.
            let _ = w.conn.busy_timeout(RESTART_PATIENCE);
            let _ = w
                .conn
                .query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
            let _ = w.conn.busy_timeout(BUSY_TIMEOUT);
            drop(w);
        }
        if let Some(g) = group {
            g.settle();
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(finish);
        }
        Err(_) => finish(),
    }
}

/// Copies what it can of the log into the database without waiting for anyone; returns the
/// log's length in frames.
fn passive_checkpoint(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}

impl Drop for LiteTx {
    fn drop(&mut self) {
        let Some(mut w) = self.writer.take() else {
            return;
        };
        if self.savepoint {
            let undone = control(&w.conn, "ROLLBACK TO use_case")
                .and_then(|()| control(&w.conn, "RELEASE use_case"));
            if let Err(e) = undone {
                w.abandon_group(&e.to_string());
            } else if w.conn.is_autocommit() {
                w.abandon_group("the transaction was rolled back by the database");
            }
        }
        if self.lite.queued.load(Ordering::SeqCst) == 0 {
            end_group(w);
        }
    }
}

/// Runs a transaction-control statement, prepared once per connection and kept: the writer
/// runs two or three of them for every use case, and parsing them anew each time was a
/// noticeable share of its turn.
fn control(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.raw_execute().map(drop)
}

/// Runs one statement. Placeholders are `$n`, bound by their number wherever they appear.
pub(crate) fn run(
    conn: &Connection,
    q: &Query,
    rows: Fetch,
) -> Result<(Vec<Row>, u64), StoreError> {
    let mut stmt = conn.prepare_cached(&q.sql)?;
    let shape = shape(&q.sql, &stmt)?;
    for (idx, n) in shape.arguments.iter().enumerate() {
        let v = q
            .params
            .get(n.wrapping_sub(1))
            .ok_or_else(|| StoreError::Database(format!("no argument for ${n}")))?;
        stmt.raw_bind_parameter(idx + 1, v)?;
    }
    if stmt.column_count() == 0 {
        let n = stmt.raw_execute()?;
        return Ok((Vec::new(), n as u64));
    }
    let mut out = Vec::new();
    let mut cursor = stmt.raw_query();
    while let Some(r) = cursor.next()? {
        // Read once the statement has run: SQLite prepares it again when the schema has
        // changed, and `SELECT *` then has new columns.
        let columns = match out.first() {
            Some(Row { columns, .. }) => Arc::clone(columns),
            None => shape.columns_of(r.as_ref()),
        };
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null(Kind::Text),
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => Value::Real(v),
                ValueRef::Text(t) => Value::Text(
                    String::from_utf8(t.to_vec())
                        .map_err(|e| crate::error::corrupt(&*columns[i], e))?,
                ),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(Row { columns, values });
        if rows == Fetch::First {
            break;
        }
    }
    drop(cursor);
    Ok((out, conn.changes()))
}

/// What is kept of a statement by its text: which argument each placeholder takes (`$n` is
/// the n-th), and the names of its result's columns as last read.
struct Shape {
    arguments: Vec<usize>,
    columns: RefCell<Arc<[String]>>,
}

impl Shape {
    /// The names of `stmt`'s columns, the kept list unless the schema has changed them.
    fn columns_of(&self, stmt: &rusqlite::Statement<'_>) -> Arc<[String]> {
        let mut kept = self.columns.borrow_mut();
        // Checked, not trusted: `SELECT *` gains columns when the schema does.
        let same = kept.len() == stmt.column_count()
            && kept
                .iter()
                .enumerate()
                .all(|(i, c)| stmt.column_name(i).is_ok_and(|n| n == c));
        if !same {
            *kept = names_of(stmt);
        }
        Arc::clone(&kept)
    }
}

fn names_of(stmt: &rusqlite::Statement<'_>) -> Arc<[String]> {
    stmt.column_names()
        .iter()
        .map(|n| (*n).to_owned())
        .collect()
}

thread_local! {
    /// The shape of each statement run on this thread, by its text: reading it from SQLite
    /// made a string per column and parsed every placeholder's name on every run.
    static SHAPES: RefCell<HashMap<String, Rc<Shape>>> = RefCell::new(HashMap::new());
}

/// Statements whose shapes a thread keeps at most.
const KEPT_SHAPES: usize = 512;

fn shape(sql: &str, stmt: &rusqlite::Statement<'_>) -> Result<Rc<Shape>, StoreError> {
    if let Some(kept) = SHAPES.with_borrow(|kept| kept.get(sql).cloned()) {
        return Ok(kept);
    }
    let arguments = (1..=stmt.parameter_count())
        .map(|idx| match stmt.parameter_name(idx) {
            Some(name) => name
                .trim_start_matches(['$', '?', ':', '@'])
                .parse::<usize>()
                .map_err(|_| StoreError::Database(format!("placeholder {name} is not `$n`"))),
            None => Ok(idx),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let shape = Rc::new(Shape {
        arguments,
        columns: RefCell::new(Arc::from(Vec::new())),
    });
    SHAPES.with_borrow_mut(|kept| {
        if kept.len() >= KEPT_SHAPES {
            kept.clear();
        }
        kept.insert(sql.to_owned(), Rc::clone(&shape));
    });
    Ok(shape)
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null(_) => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::{Lite, LiteTx};
    use crate::db::{Fetch, query};

    fn open_lite(dir: &tempfile::TempDir) -> Arc<Lite> {
        let lite = Lite::open(dir.path().join("t.db")).unwrap_or_else(|e| panic!("{e}"));
        Arc::new(lite)
    }

    async fn numbers(lite: &Arc<Lite>) -> Vec<i64> {
        lite.read(|c| {
            let (rows, _) = super::run(c, &query("SELECT n FROM t ORDER BY n"), Fetch::All)?;
            rows.iter().map(|r| r.try_get("n")).collect()
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_use_cases_commit_in_groups_and_a_failing_one_takes_nothing_with_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lite = open_lite(&dir);
        lite.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let commits_before = lite
            .writer
            .lock()
            .await
            .wal
            .committed
            .load(Ordering::SeqCst);
        let mut tasks = Vec::new();
        for n in 0..200_i64 {
            let lite = Arc::clone(&lite);
            tasks.push(tokio::spawn(async move {
                let mut tx = LiteTx::begin(&lite).await?;
                tx.run(&query("INSERT INTO t (n) VALUES ($1)").bind(n), Fetch::None)?;
                tokio::task::yield_now().await;
                if n % 10 == 3 {
                    // Breaks the key: this use case fails after it has written.
                    tx.run(&query("INSERT INTO t (n) VALUES ($1)").bind(n), Fetch::None)?;
                }
                tx.commit().await?;
                // Acknowledged: a fresh reader sees it at once.
                let seen = lite.read(|c| {
                    let q = query("SELECT n FROM t WHERE n = $1").bind(n);
                    Ok(super::run(c, &q, Fetch::First)?.0.len())
                })?;
                assert_eq!(seen, 1, "{n} acknowledged but not visible");
                Ok::<_, crate::StoreError>(())
            }));
        }
        let mut failed = Vec::new();
        for (n, t) in tasks.into_iter().enumerate() {
            if t.await.unwrap_or_else(|e| panic!("{e}")).is_err() {
                failed.push(n as i64);
            }
        }
        let expected_failures: Vec<i64> = (0..200).filter(|n| n % 10 == 3).collect();
        assert_eq!(failed, expected_failures);
        let stored = numbers(&lite).await;
        let expected: Vec<i64> = (0..200).filter(|n| n % 10 != 3).collect();
        assert_eq!(stored, expected);
        let commits = lite
            .writer
            .lock()
            .await
            .wal
            .committed
            .load(Ordering::SeqCst)
            - commits_before;
        assert!(
            commits < 180,
            "{commits} commits for 180 use cases: none were grouped"
        );
        // And on disk: a new process opening the file finds the same.
        drop(lite);
        assert_eq!(numbers(&open_lite(&dir)).await, expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_afresh_before_it_grows_long_under_steady_writes_and_reads() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lite = open_lite(&dir);
        lite.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, b BLOB NOT NULL)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let reading = Arc::new(AtomicBool::new(true));
        let reader = {
            let (lite, reading) = (Arc::clone(&lite), Arc::clone(&reading));
            tokio::spawn(async move {
                let q = query("SELECT COUNT(*) AS c FROM t");
                while reading.load(Ordering::SeqCst) {
                    lite.read(|c| super::run(c, &q, Fetch::First))
                        .unwrap_or_else(|e| panic!("{e}"));
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        // Each row fills about a page: 12,000 of them would make a log of over 12,000 frames
        // if it were never started afresh.
        let mut writers = Vec::new();
        for w in 0..8_i64 {
            let lite = Arc::clone(&lite);
            writers.push(tokio::spawn(async move {
                for k in 0..1500_i64 {
                    let mut tx = LiteTx::begin(&lite).await?;
                    let q = query("INSERT INTO t (n, b) VALUES ($1, zeroblob(3500))")
                        .bind(w * 10_000 + k);
                    tx.run(&q, Fetch::None)?;
                    tx.commit().await?;
                }
                Ok::<_, crate::StoreError>(())
            }));
        }
        for w in writers {
            w.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        reading.store(false, Ordering::SeqCst);
        reader.await.unwrap_or_else(|e| panic!("{e}"));
        let page = lite
            .read(|c| Ok(c.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))?))
            .unwrap_or_else(|e| panic!("{e}"));
        let log = std::fs::metadata(dir.path().join("t.db-wal"))
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{e}"));
        let frames = i64::try_from(log).unwrap_or(i64::MAX) / (page + 24);
        assert!(
            frames <= 3 * super::CATCH_UP_FRAMES,
            "the log reached {frames} frames"
        );
        assert_eq!(numbers(&lite).await.len(), 12_000);
    }

    #[tokio::test]
    async fn statements_read_together_see_one_moment_and_leave_the_connection_clean() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lite = open_lite(&dir);
        lite.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let count = |c: &rusqlite::Connection| -> Result<i64, crate::StoreError> {
            let (rows, _) = super::run(c, &query("SELECT COUNT(*) AS n FROM t"), Fetch::First)?;
            rows[0].try_get("n")
        };
        let (first, second) = lite
            .read_together(|c| {
                let first = count(c)?;
                // Another connection commits between the two statements.
                let other = rusqlite::Connection::open(dir.path().join("t.db"))?;
                other.execute("INSERT INTO t VALUES (2)", [])?;
                Ok((first, count(c)?))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (first, second),
            (1, 1),
            "both statements read the same snapshot"
        );
        // A failing statement ends the transaction all the same: the connection goes back to
        // the pool without the snapshot, and the next read sees what was written meanwhile.
        let failed = lite.read_together(|c| {
            count(c)?;
            let other = rusqlite::Connection::open(dir.path().join("t.db"))?;
            other.execute("INSERT INTO t VALUES (3)", [])?;
            super::run(c, &query("SELECT nope FROM t"), Fetch::All)
        });
        assert!(failed.is_err());
        assert_eq!(numbers(&lite).await, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn a_kept_statement_shape_follows_the_schema_and_binds_placeholders_by_number() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lite = open_lite(&dir);
        lite.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, a TEXT)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // `$2` comes first in the text: it still takes the second argument, every time.
        let insert = |n: i64, a: &str| {
            query("INSERT INTO t (a, n) VALUES ($2, $1)")
                .bind(n)
                .bind(a.to_owned())
        };
        for (n, a) in [(1, "one"), (2, "two")] {
            let mut tx = LiteTx::begin(&lite).await.unwrap_or_else(|e| panic!("{e}"));
            tx.run(&insert(n, a), Fetch::None)
                .unwrap_or_else(|e| panic!("{e}"));
            tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        }
        let all = || {
            lite.read(|c| Ok(super::run(c, &query("SELECT * FROM t WHERE n = 2"), Fetch::First)?.0))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let before = all();
        assert_eq!(
            before[0].try_get::<String, _>("a").ok().as_deref(),
            Some("two")
        );
        assert!(before[0].try_get::<Option<String>, _>("b").is_err());
        // The schema grows under a statement already run: its new column is read, not a
        // stale list of names.
        lite.execute_batch("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'bee'")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let after = all();
        assert_eq!(
            after[0].try_get::<String, _>("b").ok().as_deref(),
            Some("bee")
        );
        assert_eq!(
            after[0].try_get::<String, _>("a").ok().as_deref(),
            Some("two")
        );
    }

    #[tokio::test]
    async fn a_writer_that_gives_up_its_turn_does_not_strand_the_group_before_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lite = open_lite(&dir);
        lite.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut first = LiteTx::begin(&lite).await.unwrap_or_else(|e| panic!("{e}"));
        first
            .run(&query("INSERT INTO t (n) VALUES (1)"), Fetch::None)
            .unwrap_or_else(|e| panic!("{e}"));
        // A second writer queues behind the first, so the first leaves its commit to it...
        let queued = {
            let lite = Arc::clone(&lite);
            tokio::spawn(async move { LiteTx::begin(&lite).await.map(drop) })
        };
        while lite.queued.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let committing = tokio::spawn(first.commit());
        tokio::task::yield_now().await;
        // ...and gives up before its turn comes.
        queued.abort();
        let done = tokio::time::timeout(Duration::from_secs(5), committing).await;
        assert!(
            matches!(done, Ok(Ok(Ok(())))),
            "the first commit never finished: {done:?}"
        );
        assert_eq!(numbers(&lite).await, vec![1]);
    }
}
