//! The visitor's display preferences, kept in cookies so they persist without an account:
//! language (Chinese first) and elderly mode (关怀模式).

use axum::extract::{FromRequestParts, Query};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::i18n::Lang;

pub const LANG_COOKIE: &str = "tb_lang";
pub const CARE_COOKIE: &str = "tb_care";
const ONE_YEAR: u32 = 365 * 24 * 3600;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefs {
    pub lang: Lang,
    pub care: bool,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

impl Prefs {
    /// Pages: the cookie, else Chinese.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            lang: cookie(headers, LANG_COOKIE)
                .and_then(Lang::parse)
                .unwrap_or_default(),
            care: cookie(headers, CARE_COOKIE) == Some("1"),
        }
    }

    /// API clients: the cookie if a browser sends one, else `Accept-Language`, else Chinese.
    pub fn api_lang(headers: &HeaderMap) -> Lang {
        cookie(headers, LANG_COOKIE)
            .and_then(Lang::parse)
            .or_else(|| {
                headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Prefs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

#[derive(Debug, Deserialize)]
pub struct Switch {
    set: Option<String>,
    back: Option<String>,
}

/// Only paths on this site: `//host` and `/\host` would leave it.
pub fn safe_back(back: Option<&str>) -> &str {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.starts_with("/\\")
                && !b.contains(['\r', '\n']) =>
        {
            b
        }
        _ => "/",
    }
}

fn set_and_return(name: &str, value: &str, back: Option<&str>) -> Response {
    let cookie = format!("{name}={value}; Path=/; Max-Age={ONE_YEAR}; SameSite=Lax; HttpOnly");
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, v);
    }
    headers.insert(
        LOCATION,
        HeaderValue::from_str(safe_back(back)).unwrap_or(HeaderValue::from_static("/")),
    );
    response
}

/// `GET /prefs/lang?set=en&back=/items/…`: a plain link, so it works without JavaScript.
pub async fn switch_lang(Query(q): Query<Switch>) -> Response {
    let lang = q.set.as_deref().and_then(Lang::parse).unwrap_or_default();
    set_and_return(LANG_COOKIE, lang.tag(), q.back.as_deref())
}

/// `GET /prefs/care?set=on|off&back=…`.
pub async fn switch_care(Query(q): Query<Switch>) -> Response {
    let on = q.set.as_deref() == Some("on");
    set_and_return(CARE_COOKIE, if on { "1" } else { "0" }, q.back.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_links_never_leave_the_site() {
        assert_eq!(safe_back(Some("/items/1?x=1")), "/items/1?x=1");
        assert_eq!(safe_back(Some("//evil.example")), "/");
        assert_eq!(safe_back(Some("/\\evil.example")), "/");
        assert_eq!(safe_back(Some("https://evil.example")), "/");
        assert_eq!(safe_back(None), "/");
    }
}
