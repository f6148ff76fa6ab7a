//! Use-case errors. The web layer turns each into a status, a stable code and a message.

use tongban_search::SearchError;
use tongban_store::StoreError;

use crate::dataset::ImportReport;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{what} `{key}` not found")]
    NotFound { what: &'static str, key: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Import(ImportReport),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn not_found(what: &'static str, key: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            key: key.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
