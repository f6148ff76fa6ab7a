//! Who is visiting, decided once per request before any handler runs: a session cookie, a
//! bearer token, or nobody. The same layer gives every request an id and refuses
//! state-changing requests that lack the right CSRF token or come from another origin.

use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tongban_app::vault::random_token;
use tongban_app::{App, AppError, Principal, REQUEST_ID, SessionLookup};

use crate::error::ApiError;
use crate::prefs::Prefs;

pub const SESSION_COOKIE: &str = "tb_session";
pub const CSRF_COOKIE: &str = "tb_csrf";
pub const CSRF_FIELD: &str = "_csrf";
const CSRF_HEADER: &str = "x-csrf-token";
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Forms are small; files go through multipart, which carries its token in the query string.
const FORM_LIMIT: usize = 256 * 1024;

/// Who is visiting.
#[derive(Debug, Clone, Default)]
pub enum Visitor {
    #[default]
    Anonymous,
    /// A staff member who gave their password and still owes an authenticator code.
    SecondFactor {
        enrolled: bool,
    },
    Signed(Box<Principal>),
}

impl Visitor {
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Signed(p) => Some(p),
            _ => None,
        }
    }
}

/// Facts about the request that handlers need besides the visitor.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// The token this visitor's forms must carry.
    pub csrf: String,
    /// The session token the browser sent (for rotation at sign-in and the second factor).
    pub session_token: Option<String>,
    /// The session cookie named a session that has ended (idle, expired, revoked).
    pub session_ended: bool,
    pub ip: String,
    /// Authenticated by `Authorization: Bearer` (no cookies involved).
    pub bearer: bool,
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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

/// Our tokens are 43 URL-safe characters; anything else in a cookie is not ours.
fn token_shaped(s: &str) -> bool {
    (20..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(
            || tongban_app::vault::random_token()[..16].to_owned(),
            str::to_owned,
        )
}

/// A `Set-Cookie` value. Session cookies carry no Max-Age so they end with the browser too;
/// the server's own timeouts end them sooner.
pub fn set_cookie(app: &App, name: &str, value: &str, max_age_s: Option<i64>) -> HeaderValue {
    let secure = if app.identity.policy.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let age = max_age_s
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tb_invalid=1"))
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/open311/")
}

/// The origin a browser says it came from must be this site.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

fn csrf_from_form(body: &[u8]) -> Option<String> {
    form_urlencoded_pairs(body).find_map(|(k, v)| (k == CSRF_FIELD).then_some(v))
}

fn form_urlencoded_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
}

fn csrf_from_query(query: Option<&str>) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == CSRF_FIELD).then_some(v))
}

fn refuse(headers: &HeaderMap, path: &str, status: StatusCode, code: &'static str) -> Response {
    let lang = Prefs::api_lang(headers);
    let tr = crate::i18n::Tr(lang);
    let message = tr.t(&format!("err-{code}"));
    if is_api(path) {
        ApiError::new(status, code, message).into_response()
    } else {
        let c = crate::pages::Chrome::new(
            Prefs::from_headers(headers),
            &"/".parse().unwrap_or_default(),
        );
        crate::pages::error_page(c, status, Some(message))
    }
}

/// Resolves the visitor, checks CSRF, and runs the handler inside the request id's scope.
pub async fn layer(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let rid = request_id(req.headers());
    let path = req.uri().path().to_owned();
    let mut facts = RequestFacts {
        ip: req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string()),
        ..RequestFacts::default()
    };
    let mut visitor = Visitor::Anonymous;
    let mut clear_session = false;

    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    let mut session_csrf = None;
    if let Some(token) = bearer {
        match app.bearer_principal(&token).await {
            Ok(p) => {
                visitor = Visitor::Signed(Box::new(p));
                facts.bearer = true;
            }
            Err(e) => return ApiError::from_app(Prefs::api_lang(req.headers()), e).into_response(),
        }
    } else if let Some(token) = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned) {
        if token_shaped(&token) {
            match app.session_lookup(&token).await {
                Ok(SessionLookup::SignedIn(p)) => {
                    session_csrf = p.csrf().map(str::to_owned);
                    visitor = Visitor::Signed(Box::new(p));
                    facts.session_token = Some(token);
                }
                Ok(SessionLookup::SecondFactor { enrolled, csrf, .. }) => {
                    session_csrf = Some(csrf);
                    visitor = Visitor::SecondFactor { enrolled };
                    facts.session_token = Some(token);
                }
                Ok(SessionLookup::Ended(_)) => {
                    facts.session_ended = true;
                    clear_session = true;
                }
                Ok(SessionLookup::Unknown) => clear_session = true,
                Err(e) => return server_trouble(req.headers(), &path, e),
            }
        } else {
            // A tampered or foreign cookie: treated as no session, and removed.
            clear_session = true;
        }
    }

    let anon_cookie = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| token_shaped(t))
        .map(str::to_owned);
    // A call with a bearer token carries no cookies and fills in no forms: no token to make.
    let new_anon = (anon_cookie.is_none() && !facts.bearer).then(random_token);
    facts.csrf = session_csrf
        .clone()
        .or_else(|| anon_cookie.clone())
        .or_else(|| new_anon.clone())
        .unwrap_or_default();

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // API calls without cookies carry no ambient credentials, so there is nothing to forge.
    let needs_csrf =
        unsafe_method && !facts.bearer && !(is_api(&path) && matches!(visitor, Visitor::Anonymous));
    if needs_csrf {
        if !same_origin(req.headers()) {
            return refuse(req.headers(), &path, StatusCode::FORBIDDEN, "csrf_origin");
        }
        let mut given = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| csrf_from_query(req.uri().query()));
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if given.is_none() && is_form {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
                return refuse(
                    &parts.headers,
                    &path,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "form_too_large",
                );
            };
            given = csrf_from_form(&bytes);
            req = Request::from_parts(parts, Body::from(bytes));
        }
        // Anonymous forms use the cookie's token (double submit); signed-in ones the session's.
        let expected = session_csrf.or(anon_cookie);
        let ok = matches!((&given, &expected), (Some(g), Some(e)) if tongban_app::signin::same_tokens(g, e));
        if !ok {
            return refuse(req.headers(), &path, StatusCode::FORBIDDEN, "csrf_invalid");
        }
    }

    req.extensions_mut().insert(visitor);
    req.extensions_mut().insert(facts);
    let mut response = REQUEST_ID.scope(rid.clone(), next.run(req)).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&rid) {
        headers.insert(REQUEST_ID_HEADER, v);
    }
    let is_page = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let sets_session = headers
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(SESSION_COOKIE.as_bytes()));
    if clear_session && !sets_session {
        headers.append(SET_COOKIE, set_cookie(&app, SESSION_COOKIE, "", Some(0)));
    }
    if let (Some(token), true) = (new_anon, is_page) {
        headers.append(SET_COOKIE, set_cookie(&app, CSRF_COOKIE, &token, None));
    }
    response
}

fn server_trouble(headers: &HeaderMap, path: &str, e: AppError) -> Response {
    tracing::error!(error = %e, "session lookup failed");
    refuse(
        headers,
        path,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_sites_origin_passes() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("tongban.example:8080"));
        assert!(same_origin(&h));
        h.insert(
            ORIGIN,
            HeaderValue::from_static("http://tongban.example:8080"),
        );
        assert!(same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn the_csrf_field_is_read_from_a_form_body() {
        assert_eq!(
            csrf_from_form(b"phone=138&_csrf=abc%2Bd").as_deref(),
            Some("abc+d")
        );
        assert_eq!(csrf_from_form(b"phone=138"), None);
    }
}
