//! Storage errors. Constraint violations are told apart so the layer above can name the field.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database at {0}: {1}")]
    Connect(String, String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("stored data is corrupt ({what}): {detail}")]
    Corrupt { what: String, detail: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the data breaks a database constraint: {0}")]
    Constraint(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db)
                if db.is_unique_violation()
                    || db.is_foreign_key_violation()
                    || db.is_check_violation() =>
            {
                Self::Constraint(db.message().to_owned())
            }
            _ => Self::Database(e.to_string()),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, message)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Self::Constraint(message.clone().unwrap_or_else(|| e.to_string()))
            }
            _ => Self::Database(e.to_string()),
        }
    }
}

pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: detail.to_string(),
    }
}
