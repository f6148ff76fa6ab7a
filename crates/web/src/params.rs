//! Query parameters shared by the search page and the items API, validated once with a
//! message that names the parameter.

use serde::Deserialize;
use tongban_app::{Filters, SearchParams};
use tongban_domain::{ItemType, LifeEvent, ServiceLevel, Target, UnitCode};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::i18n::Lang;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
pub const MAX_OFFSET: usize = 10_000;

/// Every parameter arrives as text so a bad value gets a precise message, not a generic
/// deserialisation error.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// Words to search for: Chinese, pinyin or pinyin initials (`yyzz`). Without it, items are
    /// listed in catalog order.
    pub q: Option<String>,
    /// Unit code of the implementing department, e.g. `130534-SPJ`.
    pub department: Option<String>,
    /// `county`, `township` or `village`.
    pub level: Option<String>,
    /// Life event, as a slug (`birth`, `business`…) or in Chinese (`出生`, `创业`…).
    pub event: Option<String>,
    /// `个人` / `individual` or `法人` / `legal_person`.
    pub target: Option<String>,
    /// Item type in Chinese, e.g. `行政许可`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub item_type: Option<String>,
    /// Results per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Results to skip, 0 to 10000 (default 0).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 10000)]
    pub offset: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn parse_number(
    lang: Lang,
    name: &str,
    raw: Option<&str>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_parameter(
            lang,
            name,
            &format!("应为 {min} 到 {max} 之间的整数"),
            &format!("must be a whole number from {min} to {max}"),
        )),
    }
}

pub fn parse_life_event(s: &str) -> Option<LifeEvent> {
    LifeEvent::parse(s).or_else(|| LifeEvent::ALL.iter().copied().find(|e| e.slug() == s))
}

pub fn parse_target(s: &str) -> Option<Target> {
    match s {
        "individual" => Some(Target::Individual),
        "legal_person" | "legal" => Some(Target::LegalPerson),
        other => Target::parse(other),
    }
}

impl ItemsQuery {
    pub fn filters(&self, lang: Lang) -> Result<Filters, ApiError> {
        let department = present(&self.department)
            .map(|d| {
                UnitCode::parse(d).map_err(|_| {
                    ApiError::bad_parameter(
                        lang,
                        "department",
                        "不是有效的部门编码，如 130534-SPJ",
                        "is not a unit code such as 130534-SPJ",
                    )
                })
            })
            .transpose()?;
        let level = present(&self.level)
            .map(|l| {
                ServiceLevel::parse(l).ok_or_else(|| {
                    ApiError::bad_parameter(
                        lang,
                        "level",
                        "应为 county、township 或 village",
                        "must be county, township or village",
                    )
                })
            })
            .transpose()?;
        let life_event = present(&self.event)
            .map(|e| {
                parse_life_event(e).ok_or_else(|| {
                    let slugs = LifeEvent::ALL
                        .iter()
                        .map(|e| e.slug())
                        .collect::<Vec<_>>()
                        .join(", ");
                    ApiError::bad_parameter(
                        lang,
                        "event",
                        &format!("应为以下之一：{}", LifeEvent::expected()),
                        &format!("must be one of {slugs}"),
                    )
                })
            })
            .transpose()?;
        let target = present(&self.target)
            .map(|t| {
                parse_target(t).ok_or_else(|| {
                    ApiError::bad_parameter(
                        lang,
                        "target",
                        "应为 个人 或 法人",
                        "must be individual or legal_person",
                    )
                })
            })
            .transpose()?;
        let item_type = present(&self.item_type)
            .map(|t| {
                ItemType::parse(t).ok_or_else(|| {
                    ApiError::bad_parameter(
                        lang,
                        "type",
                        &format!("应为以下之一：{}", ItemType::expected()),
                        &format!("must be one of {}", ItemType::expected()),
                    )
                })
            })
            .transpose()?;
        Ok(Filters {
            department,
            level,
            life_event,
            target,
            item_type,
        })
    }

    pub fn search_params(&self, lang: Lang, faq_limit: usize) -> Result<SearchParams, ApiError> {
        Ok(SearchParams {
            text: self.q.clone().unwrap_or_default(),
            filters: self.filters(lang)?,
            limit: parse_number(
                lang,
                "limit",
                present(&self.limit),
                DEFAULT_LIMIT,
                1,
                MAX_LIMIT,
            )?,
            offset: parse_number(lang, "offset", present(&self.offset), 0, 0, MAX_OFFSET)?,
            faq_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_limit_names_the_parameter() {
        let q = ItemsQuery {
            limit: Some("abc".into()),
            ..ItemsQuery::default()
        };
        let e = q
            .search_params(Lang::En, 0)
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(e.contains("limit"), "{e}");
    }

    #[test]
    fn life_events_are_accepted_as_slug_or_chinese() {
        assert_eq!(parse_life_event("birth"), Some(LifeEvent::Birth));
        assert_eq!(parse_life_event("出生"), Some(LifeEvent::Birth));
        assert_eq!(parse_life_event("x"), None);
    }
}
