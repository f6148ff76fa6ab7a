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
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("refused: {}", .0.code)]
    Refused(Refusal),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What kind of "no" a refusal is; the web layer turns it into a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The input breaks a rule (400, or 422 for forms).
    Invalid,
    /// Nobody is signed in, or the credential is no longer good (401).
    Unauthenticated,
    /// Signed in, but this is not theirs to do (403).
    Forbidden,
    /// Nothing there, or nothing they may know exists (404).
    NotFound,
    /// It clashes with what is already there (409).
    Conflict,
    /// Too often; wait (429).
    TooMany,
    /// A service it depends on is away (503).
    Unavailable,
}

/// A use case saying no, with a stable code the web layer localises (`err-<code>` in the
/// message files), the form field it concerns, and the values the message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub field: Option<&'static str>,
    pub args: Vec<(&'static str, String)>,
}

impl Refusal {
    pub fn new(kind: RefusalKind, code: &'static str) -> Self {
        Self {
            kind,
            code,
            field: None,
            args: Vec::new(),
        }
    }

    #[must_use]
    pub fn on(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl AppError {
    pub fn not_found(what: &'static str, key: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            key: key.into(),
        }
    }

    /// A rule broken by one field of the input.
    pub fn rejected(code: &'static str, field: &'static str) -> Self {
        Refusal::new(RefusalKind::Invalid, code).on(field).into()
    }

    pub fn forbidden() -> Self {
        Refusal::new(RefusalKind::Forbidden, "forbidden").into()
    }

    pub fn unauthenticated(code: &'static str) -> Self {
        Refusal::new(RefusalKind::Unauthenticated, code).into()
    }

    /// Not there, or not the caller's to know about: the same answer either way, so ids cannot
    /// be probed.
    pub fn hidden(what: &'static str) -> Self {
        Refusal::new(RefusalKind::NotFound, what).into()
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
