//! The two engines behind one small query interface. SQL is written once, with `$n`
//! placeholders that both accept; values and rows are our own plain types.
//!
//! SQLite runs in the process through rusqlite, on the task's own thread: its statements take
//! microseconds, less than handing each one to a worker thread and back would cost. Readers
//! take an idle connection of their own (WAL lets them read beside the writer); writers take
//! turns on the one writing connection (see [`lite`]). PostgreSQL runs through sqlx's native
//! driver.

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgPool, PgRow, Postgres};
use sqlx::{Column, Row as _, TypeInfo};

use crate::StoreError;
use crate::error::corrupt;

pub(crate) mod lite;

/// The type of a value, which PostgreSQL needs even for a null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null(Kind),
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What may be bound to a placeholder.
pub(crate) trait Bind {
    const KIND: Kind;
    fn into_value(self) -> Value;
}

macro_rules! bind_as {
    ($kind:ident, $variant:ident: $($t:ty => $conv:expr),+ $(,)?) => {
        $(impl Bind for $t {
            const KIND: Kind = Kind::$kind;
            fn into_value(self) -> Value {
                let conv: fn($t) -> _ = $conv;
                Value::$variant(conv(self))
            }
        })+
    };
}

bind_as!(Int, Int: i64 => |v| v, &i64 => |v| *v);
bind_as!(Real, Real: f64 => |v| v, &f64 => |v| *v);
bind_as!(Text, Text: String => |v| v, &String => Clone::clone, &str => ToOwned::to_owned);
bind_as!(Blob, Blob: Vec<u8> => |v| v, &Vec<u8> => Clone::clone, &[u8] => <[u8]>::to_vec);

impl<T: Bind> Bind for Option<T> {
    const KIND: Kind = T::KIND;
    fn into_value(self) -> Value {
        match self {
            Some(v) => v.into_value(),
            None => Value::Null(T::KIND),
        }
    }
}

impl<'a, T> Bind for &'a Option<T>
where
    &'a T: Bind,
{
    const KIND: Kind = <&'a T as Bind>::KIND;
    fn into_value(self) -> Value {
        self.as_ref().into_value()
    }
}

/// What a column may be read as.
pub(crate) trait FromValue: Sized {
    fn from_value(v: &Value) -> Result<Self, String>;
}

fn mismatch(wanted: &str, v: &Value) -> String {
    format!("expected {wanted}, found {v:?}")
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(mismatch("an integer", v)),
        }
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Real(f) => Ok(*f),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Ok(*i as f64),
            _ => Err(mismatch("a number", v)),
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(mismatch("text", v)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            _ => Err(mismatch("bytes", v)),
        }
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i != 0),
            _ => Err(mismatch("a flag", v)),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null(_) => Ok(None),
            _ => T::from_value(v).map(Some),
        }
    }
}

/// One result row, its columns named.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The column `name` as a `T`. The second type parameter keeps call sites written as
    /// `try_get::<i64, _>` unchanged.
    pub(crate) fn try_get<T: FromValue, I: AsRef<str>>(&self, name: I) -> Result<T, StoreError> {
        let name = name.as_ref();
        let i = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| corrupt(name, "no such column in the result"))?;
        T::from_value(&self.values[i]).map_err(|e| corrupt(name, e))
    }

    /// The row of a join cut after its first `at` columns, so that each table's part is read
    /// by its own column names.
    pub(crate) fn split(mut self, at: usize) -> (Row, Row) {
        let at = at.min(self.values.len());
        let rest = self.values.split_off(at);
        let first = Row {
            columns: self.columns[..at].into(),
            values: self.values,
        };
        let second = Row {
            columns: self.columns[at..].into(),
            values: rest,
        };
        (first, second)
    }

    /// Whether the column `name` is null (an outer join's missing side).
    pub(crate) fn is_null(&self, name: &str) -> bool {
        self.columns
            .iter()
            .position(|c| c == name)
            .is_some_and(|i| matches!(self.values[i], Value::Null(_)))
    }
}

/// How many rows one statement of a batch carries: a power of two up to `most`, the last
/// piece padded by repeating its last row. Statements then come in a few shapes, each prepared
/// once and kept, and a batch costs a statement per `most` rows.
pub(crate) fn batch_pieces<T>(rows: &[T], most: usize) -> impl Iterator<Item = Vec<&T>> {
    rows.chunks(most.max(1)).map(|piece| {
        let size = piece.len().next_power_of_two();
        (0..size).map(|i| &piece[i.min(piece.len() - 1)]).collect()
    })
}

/// `$first, $first+1, …` for `n` placeholders.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `columns` (a comma-separated list) each qualified by `table`, for a join.
pub(crate) fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which rows of a result to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetch {
    None,
    First,
    All,
}

/// How many rows a statement changed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done(u64);

impl Done {
    pub(crate) fn rows_affected(self) -> u64 {
        self.0
    }
}

/// A statement and its arguments, `$1` first.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    sql: Cow<'static, str>,
    params: Vec<Value>,
}

pub(crate) fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        params: Vec::new(),
    }
}

/// The connections of one database.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(Arc<lite::Lite>),
    Postgres(PgPool),
}

/// The connection of an open transaction.
pub(crate) enum Conn {
    Sqlite(lite::LiteTx),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Where a statement runs: on any connection of the pool, or inside a transaction.
pub(crate) enum On<'a> {
    Pool(&'a Pool),
    Conn(&'a mut Conn),
}

impl<'a> From<&'a Pool> for On<'a> {
    fn from(p: &'a Pool) -> Self {
        On::Pool(p)
    }
}

impl<'a> From<&'a mut Conn> for On<'a> {
    fn from(c: &'a mut Conn) -> Self {
        On::Conn(c)
    }
}

impl Query {
    pub(crate) fn bind(mut self, v: impl Bind) -> Self {
        self.params.push(v.into_value());
        self
    }

    /// Binds the values of a filter built at run time, in order.
    pub(crate) fn bind_all(mut self, values: impl IntoIterator<Item = Value>) -> Self {
        self.params.extend(values);
        self
    }

    pub(crate) async fn execute<'a>(self, on: impl Into<On<'a>>) -> Result<Done, StoreError> {
        match on.into() {
            On::Pool(Pool::Sqlite(lite)) => {
                // A write outside a use case's transaction is a use case of one statement.
                let mut tx = lite::LiteTx::begin(lite).await?;
                let done = tx.run(&self, Fetch::None)?.1;
                tx.commit().await?;
                Ok(Done(done))
            }
            On::Pool(Pool::Postgres(pool)) => {
                Ok(Done(self.into_pg().execute(pool).await?.rows_affected()))
            }
            On::Conn(Conn::Sqlite(tx)) => Ok(Done(tx.run(&self, Fetch::None)?.1)),
            On::Conn(Conn::Postgres(tx)) => Ok(Done(
                self.into_pg().execute(&mut **tx).await?.rows_affected(),
            )),
        }
    }

    pub(crate) async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<Row>, StoreError> {
        self.fetch(on, Fetch::All).await
    }

    pub(crate) async fn fetch_optional<'a>(
        self,
        on: impl Into<On<'a>>,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.fetch(on, Fetch::First).await?.into_iter().next())
    }

    async fn fetch<'a>(self, on: impl Into<On<'a>>, rows: Fetch) -> Result<Vec<Row>, StoreError> {
        match on.into() {
            On::Pool(Pool::Sqlite(lite)) => lite.read(|conn| Ok(lite::run(conn, &self, rows)?.0)),
            On::Pool(Pool::Postgres(pool)) => match rows {
                Fetch::First => pg_rows(
                    self.into_pg()
                        .fetch_optional(pool)
                        .await?
                        .into_iter()
                        .collect(),
                ),
                _ => pg_rows(self.into_pg().fetch_all(pool).await?),
            },
            On::Conn(Conn::Sqlite(tx)) => Ok(tx.run(&self, rows)?.0),
            On::Conn(Conn::Postgres(tx)) => match rows {
                Fetch::First => pg_rows(
                    self.into_pg()
                        .fetch_optional(&mut **tx)
                        .await?
                        .into_iter()
                        .collect(),
                ),
                _ => pg_rows(self.into_pg().fetch_all(&mut **tx).await?),
            },
        }
    }

    pub(crate) async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<Row, StoreError> {
        let sql = self.sql.clone();
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no row from `{sql}`")))
    }

    fn into_pg(self) -> sqlx::query::Query<'static, Postgres, PgArguments> {
        let mut q = match self.sql {
            Cow::Borrowed(s) => sqlx::query(s),
            Cow::Owned(s) => sqlx::query(sqlx::AssertSqlSafe(s)),
        };
        for v in self.params {
            q = match v {
                Value::Null(Kind::Int) => q.bind(None::<i64>),
                Value::Null(Kind::Real) => q.bind(None::<f64>),
                Value::Null(Kind::Text) => q.bind(None::<String>),
                Value::Null(Kind::Blob) => q.bind(None::<Vec<u8>>),
                Value::Int(i) => q.bind(i),
                Value::Real(f) => q.bind(f),
                Value::Text(s) => q.bind(s),
                Value::Blob(b) => q.bind(b),
            };
        }
        q
    }
}

impl Pool {
    /// Runs read-only `queries` and returns each one's rows. On SQLite they share one read
    /// transaction: one lock and one look at the log instead of one per statement, and every
    /// answer from the same moment. On PostgreSQL they run one after another on the pool.
    pub(crate) async fn read_all(&self, queries: Vec<Query>) -> Result<Vec<Vec<Row>>, StoreError> {
        match self {
            Pool::Sqlite(lite) => lite.read_together(|conn| {
                queries
                    .iter()
                    .map(|q| Ok(lite::run(conn, q, Fetch::All)?.0))
                    .collect()
            }),
            Pool::Postgres(_) => {
                let mut out = Vec::with_capacity(queries.len());
                for q in queries {
                    out.push(q.fetch_all(self).await?);
                }
                Ok(out)
            }
        }
    }
}

fn pg_rows(rows: Vec<PgRow>) -> Result<Vec<Row>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let kinds: Vec<&str> = first
        .columns()
        .iter()
        .map(|c| c.type_info().name())
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut values = Vec::with_capacity(kinds.len());
        for (i, kind) in kinds.iter().enumerate() {
            values.push(pg_value(row, i, kind).map_err(|e| corrupt(&*columns[i], e))?);
        }
        out.push(Row {
            columns: Arc::clone(&columns),
            values,
        });
    }
    Ok(out)
}

fn pg_value(row: &PgRow, i: usize, kind: &str) -> Result<Value, sqlx::Error> {
    Ok(match kind {
        "INT8" => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Value::Null(Kind::Int), Value::Int),
        "INT4" => row
            .try_get::<Option<i32>, _>(i)?
            .map_or(Value::Null(Kind::Int), |v| Value::Int(v.into())),
        "INT2" => row
            .try_get::<Option<i16>, _>(i)?
            .map_or(Value::Null(Kind::Int), |v| Value::Int(v.into())),
        "BOOL" => row
            .try_get::<Option<bool>, _>(i)?
            .map_or(Value::Null(Kind::Int), |v| Value::Int(v.into())),
        "FLOAT8" => row
            .try_get::<Option<f64>, _>(i)?
            .map_or(Value::Null(Kind::Real), Value::Real),
        "FLOAT4" => row
            .try_get::<Option<f32>, _>(i)?
            .map_or(Value::Null(Kind::Real), |v| Value::Real(v.into())),
        "BYTEA" => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Value::Null(Kind::Blob), Value::Blob),
        _ => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Value::Null(Kind::Text), Value::Text),
    })
}
