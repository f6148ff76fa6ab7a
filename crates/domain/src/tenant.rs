//! The tenant: one county deployment, named by its 6-digit GB/T 2260 code (e.g. 130534 Qinghe).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::RuleViolation;

/// The county a row belongs to. Every table holding county data carries it, so several counties
/// can share one PostgreSQL cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tenant(String);

impl Tenant {
    pub fn parse(code: &str) -> Result<Self, RuleViolation> {
        let ok =
            code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && !code.ends_with("00");
        if ok {
            Ok(Self(code.to_owned()))
        } else {
            Err(RuleViolation::new(
                "tenant",
                format!(
                    "`{code}` is not a county code: expected 6 digits (GB/T 2260) not ending in 00, e.g. 130534"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 12-digit statistical code of the county itself (`130534000000`).
    pub fn county_division(&self) -> String {
        format!("{}000000", self.0)
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Tenant {
    type Error = RuleViolation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Tenant> for String {
    fn from(t: Tenant) -> Self {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn county_codes_are_six_digits_not_ending_in_00() {
        assert!(Tenant::parse("130534").is_ok());
        assert!(Tenant::parse("130500").is_err());
        assert!(Tenant::parse("13053").is_err());
        assert!(Tenant::parse("13053x").is_err());
        assert_eq!(
            Tenant::parse("130534")
                .map(|t| t.county_division())
                .ok()
                .as_deref(),
            Some("130534000000")
        );
    }
}
