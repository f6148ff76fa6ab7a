//! Requests and complaints (诉求, the 12345 loop): what a resident asks for, how fast each step
//! must happen on the working calendar, the loop a request goes through from filing to rating,
//! what may be published of it, and which requests look like repeats of each other.

pub mod lifecycle;
pub mod limits;
pub mod redact;
pub mod similar;

use serde::{Deserialize, Serialize};

/// What kind of request, as the 12345 hotlines classify them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// 咨询: a question.
    Consultation,
    /// 求助: asking for help with a problem.
    Help,
    /// 投诉: a complaint about someone's conduct or a service.
    Complaint,
    /// 举报: reporting a violation.
    Report,
    /// 建议: a suggestion.
    Suggestion,
    /// 表扬: praise.
    Praise,
}

impl RequestKind {
    pub const ALL: [Self; 6] = [
        Self::Consultation,
        Self::Help,
        Self::Complaint,
        Self::Report,
        Self::Suggestion,
        Self::Praise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consultation => "consultation",
            Self::Help => "help",
            Self::Complaint => "complaint",
            Self::Report => "report",
            Self::Suggestion => "suggestion",
            Self::Praise => "praise",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Consultation => "咨询",
            Self::Help => "求助",
            Self::Complaint => "投诉",
            Self::Report => "举报",
            Self::Suggestion => "建议",
            Self::Praise => "表扬",
        }
    }

    /// Reads the code or the Chinese name (`complaint`, `投诉`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s) || k.name_zh() == s)
    }

    /// Whether the unit must reach the resident before replying (先联系后办理): everything
    /// except suggestions and praise, which need no conversation to answer.
    pub fn needs_contact(self) -> bool {
        !matches!(self, Self::Suggestion | Self::Praise)
    }
}

/// How urgent: urgent is immediate danger or hardship (an open manhole, a gas smell, a missing
/// elderly person, unpaid wages before the Spring Festival).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Normal,
    Urgent,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "normal" | "一般" | "普通" => Some(Self::Normal),
            "urgent" | "紧急" => Some(Self::Urgent),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_codes_or_chinese_names() {
        assert_eq!(RequestKind::parse("投诉"), Some(RequestKind::Complaint));
        assert_eq!(
            RequestKind::parse(" Consultation "),
            Some(RequestKind::Consultation)
        );
        assert_eq!(RequestKind::parse("抱怨"), None);
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
            assert_eq!(RequestKind::parse(k.name_zh()), Some(k));
        }
        assert!(RequestKind::Complaint.needs_contact() && !RequestKind::Praise.needs_contact());
    }
}
