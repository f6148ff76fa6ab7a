//! Administrative divisions: county → township (乡镇) → village/community (村/社区), named by
//! 12-digit statistical codes (统计用区划代码: GB/T 2260 county + 3-digit town + 3-digit village).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::RuleViolation;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn parse(code: &str) -> Result<Self, RuleViolation> {
        if code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(RuleViolation::new(
                "code",
                format!("`{code}` is not a 12-digit division code"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The county part (first 6 digits).
    pub fn county(&self) -> &str {
        &self.0[..6]
    }

    /// The level the code's shape implies: `xxxxxx000000` county, `xxxxxxTTT000` township, else village.
    pub fn implied_level(&self) -> DivisionLevel {
        if &self.0[6..] == "000000" {
            DivisionLevel::County
        } else if &self.0[9..] == "000" {
            DivisionLevel::Township
        } else {
            DivisionLevel::Village
        }
    }

    /// Whether this division is `area` or lies inside it (a village inside its township or
    /// county).
    pub fn is_within(&self, area: &DivisionCode) -> bool {
        let prefix = match area.implied_level() {
            DivisionLevel::County => 6,
            DivisionLevel::Township => 9,
            DivisionLevel::Village => 12,
        };
        self.0[..prefix] == area.0[..prefix]
    }

    /// The code of the division this one lies in, derived from the code itself.
    pub fn implied_parent(&self) -> Option<DivisionCode> {
        match self.implied_level() {
            DivisionLevel::County => None,
            DivisionLevel::Township => Some(Self(format!("{}000000", &self.0[..6]))),
            DivisionLevel::Village => Some(Self(format!("{}000", &self.0[..9]))),
        }
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = RuleViolation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DivisionCode> for String {
    fn from(c: DivisionCode) -> Self {
        c.0
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    County,
    Township,
    Village,
}

impl DivisionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::County => "county",
            Self::Township => "township",
            Self::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Result<Self, RuleViolation> {
        match s {
            "county" => Ok(Self::County),
            "township" => Ok(Self::Township),
            "village" => Ok(Self::Village),
            other => Err(RuleViolation::new(
                "level",
                format!("`{other}` is not a level: expected county, township or village"),
            )),
        }
    }
}

/// The kind of division as named in Chinese statistics: 县, 镇, 乡, 街道, 村, 社区.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DivisionKind {
    #[serde(rename = "县")]
    County,
    #[serde(rename = "镇")]
    Town,
    #[serde(rename = "乡")]
    Township,
    #[serde(rename = "街道")]
    Subdistrict,
    #[serde(rename = "村")]
    Village,
    #[serde(rename = "社区")]
    Community,
}

impl DivisionKind {
    pub const ALL: [Self; 6] = [
        Self::County,
        Self::Town,
        Self::Township,
        Self::Subdistrict,
        Self::Village,
        Self::Community,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::County => "县",
            Self::Town => "镇",
            Self::Township => "乡",
            Self::Subdistrict => "街道",
            Self::Village => "村",
            Self::Community => "社区",
        }
    }

    pub fn parse(s: &str) -> Result<Self, RuleViolation> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                RuleViolation::new(
                    "kind",
                    format!("`{s}` is not a division kind: expected 县, 镇, 乡, 街道, 村 or 社区"),
                )
            })
    }

    /// The level a kind belongs to (a 镇 is a township, a 社区 a village-level unit).
    pub fn level(self) -> DivisionLevel {
        match self {
            Self::County => DivisionLevel::County,
            Self::Town | Self::Township | Self::Subdistrict => DivisionLevel::Township,
            Self::Village | Self::Community => DivisionLevel::Village,
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Division {
    pub code: DivisionCode,
    pub name: String,
    pub level: DivisionLevel,
    pub parent: Option<DivisionCode>,
    pub kind: DivisionKind,
}

impl Division {
    /// Checks that code, level, kind and parent agree with each other. Whether the parent exists
    /// is a question for the whole set, see [`check_tree`].
    pub fn validate(&self) -> Vec<RuleViolation> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(RuleViolation::new("name", "must not be empty"));
        }
        if self.code.implied_level() != self.level {
            errors.push(RuleViolation::new(
                "level",
                format!(
                    "code {} has the shape of a {} code but level is {}",
                    self.code,
                    self.code.implied_level().as_str(),
                    self.level.as_str()
                ),
            ));
        }
        if self.kind.level() != self.level {
            errors.push(RuleViolation::new(
                "kind",
                format!(
                    "a {} is not at level {}",
                    self.kind.as_str(),
                    self.level.as_str()
                ),
            ));
        }
        if self.parent != self.code.implied_parent() {
            let expected = self
                .code
                .implied_parent()
                .map_or_else(|| "empty".to_owned(), |p| p.to_string());
            errors.push(RuleViolation::new(
                "parent_code",
                format!("must be {expected} for code {}", self.code),
            ));
        }
        errors
    }
}

/// Checks a whole set: exactly one county, that it is the tenant's, every parent present, no
/// code twice. Returns the violations with the index of the offending division.
pub fn check_tree(divisions: &[Division], county: &str) -> Vec<(usize, RuleViolation)> {
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, d) in divisions.iter().enumerate() {
        if !seen.insert(d.code.as_str()) {
            errors.push((
                i,
                RuleViolation::new("code", format!("{} appears twice", d.code)),
            ));
        }
        if d.code.county() != county {
            errors.push((
                i,
                RuleViolation::new("code", format!("{} is not in county {county}", d.code)),
            ));
        }
    }
    for (i, d) in divisions.iter().enumerate() {
        if let Some(parent) = &d.parent
            && !seen.contains(parent.as_str())
        {
            errors.push((
                i,
                RuleViolation::new("parent_code", format!("{parent} is not a listed division")),
            ));
        }
    }
    if !divisions.iter().any(|d| d.level == DivisionLevel::County) && !divisions.is_empty() {
        errors.push((
            0,
            RuleViolation::new("level", "the county itself is missing"),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn division(
        code: &str,
        level: DivisionLevel,
        parent: Option<&str>,
        kind: DivisionKind,
    ) -> Division {
        Division {
            code: DivisionCode(code.into()),
            name: "测试".into(),
            level,
            parent: parent.map(|p| DivisionCode(p.into())),
            kind,
        }
    }

    #[test]
    fn code_shape_implies_level_and_parent() {
        let v = DivisionCode(String::from("130534100256"));
        assert_eq!(v.implied_level(), DivisionLevel::Village);
        assert_eq!(
            v.implied_parent().map(String::from).as_deref(),
            Some("130534100000")
        );
        let t = DivisionCode(String::from("130534100000"));
        assert_eq!(t.implied_level(), DivisionLevel::Township);
        assert_eq!(
            t.implied_parent().map(String::from).as_deref(),
            Some("130534000000")
        );
    }

    #[test]
    fn a_village_filed_under_the_wrong_town_is_rejected() {
        let d = division(
            "130534100256",
            DivisionLevel::Village,
            Some("130534101000"),
            DivisionKind::Village,
        );
        let errors = d.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "parent_code");
    }

    #[test]
    fn a_kind_at_the_wrong_level_is_rejected() {
        let d = division(
            "130534100000",
            DivisionLevel::Township,
            Some("130534000000"),
            DivisionKind::Village,
        );
        assert_eq!(d.validate()[0].field, "kind");
    }

    #[test]
    fn a_tree_with_a_missing_parent_names_it() {
        let set = vec![
            division(
                "130534000000",
                DivisionLevel::County,
                None,
                DivisionKind::County,
            ),
            division(
                "130534101201",
                DivisionLevel::Village,
                Some("130534101000"),
                DivisionKind::Village,
            ),
        ];
        let errors = check_tree(&set, "130534");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 1);
    }
}
