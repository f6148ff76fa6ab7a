//! The FAQ knowledge base: questions residents ask, answered as an official would.

use serde::{Deserialize, Serialize};

use crate::{ItemCode, RuleViolation, UnitCode};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    pub question: String,
    pub answer: String,
    /// The item the question is about; general questions have none.
    pub item_code: Option<ItemCode>,
    pub department: UnitCode,
}

impl Faq {
    pub fn validate(&self) -> Vec<RuleViolation> {
        let mut errors = Vec::new();
        if self.question.trim().is_empty() {
            errors.push(RuleViolation::new("question", "must not be empty"));
        }
        if self.answer.trim().is_empty() {
            errors.push(RuleViolation::new("answer", "must not be empty"));
        }
        errors
    }
}
