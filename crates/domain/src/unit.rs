//! Organisation units: county departments and township/village offices. Staff belong to one;
//! items, cases and requests are assigned to them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DivisionCode, RuleViolation};

/// A unit's code: `130534-SPJ` for county units, the 12-digit division code for a township
/// or village government.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl UnitCode {
    pub fn parse(code: &str) -> Result<Self, RuleViolation> {
        let ok = (3..=40).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(code.to_owned()))
        } else {
            Err(RuleViolation::new(
                "code",
                format!(
                    "`{code}` is not a unit code: use digits, capital letters and '-', e.g. 130534-SPJ"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For a township or village government, the division it governs.
    pub fn as_division(&self) -> Option<DivisionCode> {
        DivisionCode::parse(&self.0).ok()
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UnitCode {
    type Error = RuleViolation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UnitCode> for String {
    fn from(c: UnitCode) -> Self {
        c.0
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A county department, bureau, or public utility acting for the county.
    Department,
    /// A township (乡镇) government and its service centre (便民服务中心).
    Township,
    /// A village/community committee and its service station (便民服务站).
    Village,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Department => "department",
            Self::Township => "township",
            Self::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "department" => Some(Self::Department),
            "township" => Some(Self::Township),
            "village" => Some(Self::Village),
            _ => None,
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub code: UnitCode,
    pub name_zh: String,
    pub name_en: String,
    pub short_zh: String,
    /// What the unit is responsible for, in plain words (a summary of its 三定 duties); routing
    /// of requests reads it.
    pub duties_zh: String,
    pub phone: String,
    pub address: String,
    pub kind: UnitKind,
    /// The division a township/village unit governs.
    pub division: Option<DivisionCode>,
}

impl OrgUnit {
    pub fn validate(&self) -> Vec<RuleViolation> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("name_zh", &self.name_zh),
            ("name_en", &self.name_en),
            ("short_zh", &self.short_zh),
            ("duties_zh", &self.duties_zh),
        ] {
            if value.trim().is_empty() {
                errors.push(RuleViolation::new(field, "must not be empty"));
            }
        }
        let phone_ok = !self.phone.is_empty()
            && self.phone.len() <= 20
            && self.phone.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if !phone_ok {
            errors.push(RuleViolation::new(
                "phone",
                format!("`{}` is not a phone number (digits and '-')", self.phone),
            ));
        }
        errors
    }
}
