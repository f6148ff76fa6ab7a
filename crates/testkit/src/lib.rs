//! `TestApp`: the real application (store, search index, router) on a temporary SQLite file or
//! on a fresh PostgreSQL schema, with a fixed clock, driven over HTTP in-process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tongban_app::{App, SearchIndex, Store, demo_dataset};
use tongban_domain::{FixedClock, Tenant};
use tower::ServiceExt;

/// The environment variable naming the PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_ENV: &str = "TONGBAN_TEST_POSTGRES_URL";

pub struct TestApp {
    pub app: App,
    pub router: Router,
    pub clock: Arc<FixedClock>,
    /// The vault's keys (`data_keys`, `index_key`), so a test can rotate them.
    pub keys: (Vec<String>, String),
    _dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// 2026-11-25 10:00 in Beijing.
pub fn default_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00+08:00")
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// The PostgreSQL URL for tests, or `None` to skip. Under CI (`CI=true`) a missing server is a
/// failure, never a skip.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{POSTGRES_ENV} is not set, but PostgreSQL tests must run under CI")
        }
        _ => {
            eprintln!("skipping PostgreSQL test: set {POSTGRES_ENV} to run it");
            None
        }
    }
}

impl TestApp {
    /// An empty, migrated application (no catalog).
    pub async fn empty(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (url, pg_schema) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                let base = postgres_url()?;
                let schema = format!("tb_test_{}", unique_suffix());
                let admin = Store::connect(&base, 1)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                admin
                    .execute_admin(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                admin.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                (
                    format!(
                        "{base}{sep}options=-c%20search_path%3D{schema}&application_name={schema}"
                    ),
                    Some((base, schema)),
                )
            }
        };
        let store = Store::connect(&url, 4)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        let search = Arc::new(SearchIndex::in_memory().unwrap_or_else(|e| panic!("{e}")));
        let clock = Arc::new(FixedClock::new(default_now()));
        let tenant = Tenant::parse("130534").unwrap_or_else(|e| panic!("{e}"));
        // Only supervisors must use an authenticator here, so tests of other roles sign in
        // with a password alone and the authenticator steps are still exercised.
        let (vault, data_keys, index_key) = tongban_app::vault::Vault::generate();
        let mut identity = tongban_app::Identity::ephemeral();
        identity.vault = vault;
        identity.policy.totp_roles = vec![tongban_domain::Role::Supervisor];
        identity.policy.dev_outbox = true;
        let app = App::new(store, search, tenant, clock.clone()).with_identity(identity);
        let router = tongban_web::router(app.clone());
        Some(Self {
            app,
            router,
            clock,
            keys: (data_keys, index_key),
            _dir: dir,
            pg_schema,
        })
    }

    /// The application with the Qinghe demo catalog imported and indexed.
    pub async fn demo(backend: Backend) -> Option<Self> {
        let t = Self::empty(backend).await?;
        t.app
            .import(&demo_dataset())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Some(t)
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.get_with(uri, &[]).await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut builder = Request::get(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("bad test request {uri}: {e}"));
        self.request(request).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg_schema.take() {
            // Drop runs outside async context: clean up on a thread with its own runtime.
            let handle = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(admin) = Store::connect(&base, 1).await {
                            // The test's pool is still alive here, and its runtime is blocked on
                            // this thread: a connection it left inside a transaction would hold
                            // locks that DROP SCHEMA waits for forever. End those sessions first.
                            let _ = admin
                                .execute_admin(&format!(
                                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                                     WHERE application_name = '{schema}'"
                                ))
                                .await;
                            let _ = admin
                                .execute_admin(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                                .await;
                            admin.close().await;
                        }
                    });
                }
            });
            let _ = handle.join();
        }
    }
}

/// Declares one async test per backend: `name_sqlite` always runs, `name_postgres` runs when
/// PostgreSQL is configured (and must, under CI).
#[macro_export]
macro_rules! backend_tests {
    ($(async fn $name:ident($b:ident : Backend) $body:block)+) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($b: $crate::Backend) $body

                #[tokio::test]
                async fn sqlite() { run($crate::Backend::Sqlite).await }

                #[tokio::test]
                async fn postgres() {
                    if $crate::postgres_url().is_some() {
                        run($crate::Backend::Postgres).await
                    }
                }
            }
        )+
    };
}

/// A browser-like client over a [`TestApp`]: keeps cookies, and sends the CSRF token that the
/// last page's forms carried (or the anonymous cookie's) with every form it posts.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub cookies: std::collections::BTreeMap<String, String>,
    pub csrf: String,
}

impl TestApp {
    /// The demo catalog plus the demo accounts (one per role, an agent, a resident with family).
    pub async fn demo_with_accounts(backend: Backend) -> Option<Self> {
        let t = Self::demo(backend).await?;
        t.app
            .create_demo_accounts()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Some(t)
    }

    /// The signed-in principal of the staff account `username`.
    pub async fn principal_by_username(&self, username: &str) -> tongban_app::Principal {
        let user = self
            .app
            .store
            .user_by_username(&self.app.tenant, username)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no account {username}"));
        self.app
            .principal_of(&user.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The signed-in principal of the demo resident (or anyone) with this mobile number.
    pub async fn principal_by_phone(&self, phone: &str) -> tongban_app::Principal {
        let hash = self.app.identity.vault.blind_index("phone", phone);
        let user = self
            .app
            .store
            .user_by_phone_hash(&self.app.tenant, &hash)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no one with the number {phone}"));
        self.app
            .principal_of(&user.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn client(&self) -> Client<'_> {
        Client {
            app: self,
            cookies: Default::default(),
            csrf: String::new(),
        }
    }

    /// The newest code texted to a number ending in `last4`.
    pub fn last_sms_code(&self, last4: &str) -> String {
        let outbox = self.app.identity.sms.outbox().unwrap_or_default();
        outbox
            .iter()
            .find(|m| m.to_masked.ends_with(last4))
            .and_then(|m| {
                m.text
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no code texted to …{last4}: {outbox:?}"))
    }
}

impl Client<'_> {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, r: &TestResponse) {
        for v in r.headers.get_all("set-cookie") {
            let Ok(v) = v.to_str() else { continue };
            let Some((k, rest)) = v.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or("");
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), value.to_owned());
            }
        }
        let text = r.text();
        if let Some(i) = text.find("name=\"_csrf\" value=\"") {
            let rest = &text[i + 20..];
            if let Some(end) = rest.find('"') {
                self.csrf = rest[..end].to_owned();
            }
        }
    }

    pub async fn get(&mut self, uri: &str) -> TestResponse {
        let cookie = self.cookie_header();
        let r = self.app.get_with(uri, &[("cookie", &cookie)]).await;
        self.absorb(&r);
        r
    }

    /// Posts a form with this client's CSRF token.
    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> TestResponse {
        let csrf = self.csrf.clone();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &csrf)];
        all.extend_from_slice(fields);
        self.post_raw(uri, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&mut self, uri: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).unwrap_or_default();
        let request = Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", self.cookie_header())
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("{e}"));
        let r = self.app.request(request).await;
        self.absorb(&r);
        r
    }

    /// Posts a multipart form with one file, the CSRF token in the query as the pages do.
    pub async fn post_file(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> TestResponse {
        const BOUNDARY: &str = "tongban-test-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (name, file_name, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\ncontent-type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let sep = if uri.contains('?') { '&' } else { '?' };
        let request = Request::post(format!("{uri}{sep}_csrf={}", self.csrf))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header("cookie", self.cookie_header())
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("{e}"));
        let r = self.app.request(request).await;
        self.absorb(&r);
        r
    }

    /// Signs a resident in through the pages with the code from the SMS sink.
    pub async fn resident_sign_in(&mut self, phone: &str) {
        self.get("/sign-in").await;
        let r = self.post("/sign-in/code", &[("phone", phone)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let code = self.app.last_sms_code(&phone[phone.len() - 4..]);
        let r = self
            .post("/sign-in", &[("phone", phone), ("code", &code)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        self.get("/").await;
    }

    /// Signs a staff member in with a password (accounts without a second factor).
    pub async fn staff_sign_in(&mut self, username: &str, password: &str) -> TestResponse {
        self.get("/staff/sign-in").await;
        let r = self
            .post(
                "/staff/sign-in",
                &[("username", username), ("password", password)],
            )
            .await;
        self.get("/").await;
        r
    }
}

/// A JSON API request, with a bearer token unless `token` is empty.
pub fn json_request(
    method: &str,
    uri: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if !token.is_empty() {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap_or_else(|e| panic!("{e}"))
}
