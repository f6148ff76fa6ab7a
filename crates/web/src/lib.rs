//! The web face: server-rendered pages, the JSON API with its OpenAPI document, health probes,
//! embedded static files, and the headers every response carries.

mod api;
mod assets;
pub mod docs;
mod download;
mod error;
pub mod i18n;
mod open311;
mod pages;
mod params;
pub mod prefs;
mod security;
pub mod session;
mod upload_form;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tongban_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ErrorBody};
pub use security::CSP;

/// The whole HTTP application.
pub fn router(app: App) -> Router {
    let (api_router, openapi) = api::router().split_for_parts();
    let docs = Arc::new(docs::ApiDocs::new(&openapi));

    let docs_routes = Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(pages::api_docs))
        .with_state(Arc::clone(&docs));

    let mut router = Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/items/{code}", get(pages::guide))
        .route("/departments", get(pages::departments))
        .route("/departments/{code}", get(pages::department))
        .route("/townships/{code}", get(pages::township))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/prefs/lang", get(prefs::switch_lang))
        .route("/prefs/care", get(prefs::switch_care))
        .route("/static/{name}", get(assets::serve))
        .route(
            "/sign-in",
            get(pages::account::sign_in).post(pages::account::sign_in_with_code),
        )
        .route("/sign-in/code", post(pages::account::send_code))
        .route("/sign-out", post(pages::account::sign_out))
        .route(
            "/sign-out/everywhere",
            post(pages::account::sign_out_everywhere),
        )
        .route("/me", get(pages::account::me))
        .route("/me/email", post(pages::account::post_email))
        .route("/me/cases", get(pages::cases::my_cases))
        .route("/items/{code}/apply", post(pages::cases::start))
        .route("/cases/{id}", get(pages::cases::case))
        .route(
            "/track",
            get(pages::cases::track).post(pages::cases::post_track),
        )
        .route(
            "/cases/{id}/answers",
            get(pages::cases::answers).post(pages::cases::post_answers),
        )
        .route(
            "/cases/{id}/materials",
            get(pages::cases::materials)
                .post(pages::cases::post_material)
                .layer(
                    // A material file may be up to 10 MiB; the form around it is small.
                    axum::extract::DefaultBodyLimit::max(
                        tongban_domain::upload::MAX_FILE_BYTES + 64 * 1024,
                    ),
                ),
        )
        .route("/cases/{id}/files/{file}", get(pages::cases::file))
        .route(
            "/cases/{id}/files/{file}/thumb",
            get(pages::cases::thumbnail),
        )
        .route("/cases/{id}/submit", post(pages::cases::submit))
        .route("/cases/{id}/act", post(pages::cases::act))
        .route("/cases/{id}/urge", post(pages::cases::urge))
        .route("/staff/worklist", get(pages::cases::worklist))
        .route("/staff/requests", get(pages::requests::staff_list))
        .route("/staff/dashboard", get(pages::requests::dashboard))
        .route("/public/requests", get(pages::requests::public))
        .route(
            "/staff/requests/new",
            get(pages::requests::hotline)
                .post(pages::requests::post_hotline)
                .layer(axum::extract::DefaultBodyLimit::max(
                    tongban_domain::upload::MAX_FILE_BYTES + 64 * 1024,
                )),
        )
        .route("/me/requests", get(pages::requests::mine))
        .route("/requests/new", get(pages::requests::new))
        .route(
            "/requests",
            post(pages::requests::post_new).layer(axum::extract::DefaultBodyLimit::max(
                tongban_domain::upload::MAX_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/requests/{id}", get(pages::requests::show))
        .route("/requests/{id}/act", post(pages::requests::act))
        .route(
            "/requests/{id}/reply",
            post(pages::requests::reply).layer(axum::extract::DefaultBodyLimit::max(
                tongban_domain::upload::MAX_FILE_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/requests/{id}/photos",
            post(pages::requests::add_photo).layer(axum::extract::DefaultBodyLimit::max(
                tongban_domain::upload::MAX_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/requests/{id}/photos/{photo}", get(pages::requests::photo))
        .route(
            "/requests/{id}/photos/{photo}/thumb",
            get(pages::requests::photo_thumb),
        )
        .route("/admin/outbox", get(pages::staff::dead_letters))
        .route(
            "/admin/calendar",
            get(pages::staff::calendar).post(pages::staff::post_calendar),
        )
        .route(
            "/admin/outbox/{id}/retry",
            post(pages::staff::retry_dead_letter),
        )
        .route("/me/real-name", post(pages::account::post_real_name))
        .route("/me/family", post(pages::account::post_family))
        .route(
            "/me/family/{id}/remove",
            post(pages::account::remove_family),
        )
        .route(
            "/me/consents/{id}/revoke",
            post(pages::account::revoke_consent),
        )
        .route(
            "/me/tokens",
            get(pages::staff::tokens).post(pages::staff::post_token),
        )
        .route("/me/tokens/{id}/revoke", post(pages::staff::revoke_token))
        .route("/dev/sms", get(pages::account::dev_sms))
        .route("/staff", get(pages::staff::home))
        .route(
            "/staff/sign-in",
            get(pages::staff::sign_in).post(pages::staff::post_sign_in),
        )
        .route(
            "/staff/second-factor",
            get(pages::staff::second_factor).post(pages::staff::post_second_factor),
        )
        .route("/staff/people", get(pages::staff::find_person))
        .route("/staff/people/{id}", get(pages::staff::person))
        .route("/staff/people/{id}/reveal", post(pages::staff::reveal))
        .route("/staff/audit", get(pages::staff::audit))
        .route(
            "/staff/agents",
            get(pages::staff::agents).post(pages::staff::post_agent),
        )
        .route(
            "/admin/staff",
            get(pages::staff::admin_staff).post(pages::staff::post_admin_staff),
        )
        .route(
            "/admin/staff/{id}",
            get(pages::staff::admin_staff_member).post(pages::staff::post_admin_staff_member),
        )
        .route("/agent", get(pages::staff::agent_home))
        .route("/agent/consent-code", post(pages::staff::post_consent_code))
        .route("/agent/consents", post(pages::staff::post_consent))
        .route("/consents/{id}/scan", get(pages::staff::consent_scan))
        .route("/open311/{*rest}", get(open311::get).post(open311::post))
        .merge(api_router)
        .route("/api/{*rest}", get(api_not_found))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            session::layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(6 * 1024 * 1024))
        .with_state(app)
        .merge(docs_routes);
    for layer in security::layers() {
        router = router.layer(layer);
    }
    router
        .layer(CompressionLayer::new().gzip(true))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
}

async fn openapi_json(State(docs): State<Arc<docs::ApiDocs>>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        docs.json.clone(),
    )
        .into_response()
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers too.
async fn readyz(State(app): State<App>) -> Response {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn api_not_found(headers: axum::http::HeaderMap) -> ApiError {
    let lang = prefs::Prefs::api_lang(&headers);
    let message = match lang {
        i18n::Lang::Zh => "没有这个接口，请查阅 /api/docs",
        i18n::Lang::En => "no such endpoint; see /api/docs",
    };
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", message)
}
