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
                    format!("{base}{sep}options=-c%20search_path%3D{schema}"),
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
        let app = App::new(store, search, tenant, clock.clone());
        let router = tongban_web::router(app.clone());
        Some(Self {
            app,
            router,
            clock,
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
