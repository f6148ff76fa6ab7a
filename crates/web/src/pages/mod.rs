//! Server-rendered pages: mobile first, complete without JavaScript.

pub mod account;
pub mod cases;
pub mod forms;
pub mod requests;
pub mod staff;
mod views;

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tongban_app::{App, AppError};
use tongban_domain::{DivisionLevel, LifeEvent, OrgUnit, ServiceLevel, UnitKind};

use crate::error::ApiError;
use crate::params::ItemsQuery;
pub use views::Chrome;
use views::{FaqView, GuideView, ItemCard, Option_, card, event_key};

/// Renders a page with the headers every HTML page carries.
fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            let h = r.headers_mut();
            // Pages depend on the language and elderly-mode cookies.
            h.insert(VARY, HeaderValue::from_static("Cookie"));
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    heading: String,
    body: String,
}

/// The page for an upload form that could not be read; `limit` is the route's file limit.
/// Reads an upload form whose file part is `file_field`; the page for a form that cannot be
/// read otherwise.
pub async fn read_upload(
    c: &Chrome,
    multipart: axum::extract::Multipart,
    file_field: &str,
) -> Result<crate::upload_form::UploadForm, Response> {
    crate::upload_form::read_upload_form(multipart, file_field)
        .await
        .map_err(|e| upload_form_error(c.clone(), e, tongban_domain::upload::MAX_FILE_BYTES))
}

pub fn upload_form_error(
    c: Chrome,
    e: crate::upload_form::UploadFormError,
    limit: usize,
) -> Response {
    match e {
        crate::upload_form::UploadFormError::TooLarge => {
            let mb = (limit / 1024 / 1024).to_string();
            let detail = c.tr.ta("err-upload_too_large", &[("mb", mb)]);
            error_page(c, StatusCode::PAYLOAD_TOO_LARGE, Some(detail))
        }
        crate::upload_form::UploadFormError::Unreadable => {
            let detail = c.tr.t("err-form_unreadable");
            error_page(c, StatusCode::BAD_REQUEST, Some(detail))
        }
    }
}

/// The page for an error, in the visitor's language.
pub fn error_page(c: Chrome, status: StatusCode, detail: Option<String>) -> Response {
    let tr = c.tr;
    let (heading, body) = match status {
        StatusCode::NOT_FOUND => (
            tr.t("not-found-title"),
            detail.unwrap_or_else(|| tr.t("not-found-body")),
        ),
        StatusCode::BAD_REQUEST
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::PAYLOAD_TOO_LARGE => (tr.t("bad-request-title"), detail.unwrap_or_default()),
        StatusCode::FORBIDDEN => (
            tr.t("forbidden-title"),
            detail.unwrap_or_else(|| tr.t("err-forbidden")),
        ),
        StatusCode::UNAUTHORIZED => (tr.t("unauthenticated-title"), detail.unwrap_or_default()),
        StatusCode::CONFLICT => (tr.t("conflict-title"), detail.unwrap_or_default()),
        StatusCode::TOO_MANY_REQUESTS => (tr.t("too-many-title"), detail.unwrap_or_default()),
        StatusCode::SERVICE_UNAVAILABLE => (
            tr.t("server-error-title"),
            detail.unwrap_or_else(|| tr.t("server-error-body")),
        ),
        _ => (tr.t("server-error-title"), tr.t("server-error-body")),
    };
    render(
        status,
        &ErrorPage {
            c: c.titled(&heading),
            heading,
            body,
        },
    )
}

pub(crate) fn app_error(c: Chrome, e: AppError) -> Response {
    let refused = matches!(e, AppError::Refused(_));
    let api = ApiError::from_app(c.tr.0, e);
    let detail = (refused || api.status == StatusCode::BAD_REQUEST).then_some(api.message);
    error_page(c, api.status, detail)
}

pub async fn not_found(c: Chrome) -> Response {
    error_page(c, StatusCode::NOT_FOUND, None)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    events: Vec<(&'static str, String)>,
    popular: Vec<ItemCard>,
    townships: Vec<(String, String)>,
}

pub async fn home(State(app): State<App>, c: Chrome) -> Response {
    let tr = c.tr;
    let result =
        async { Ok::<_, AppError>((app.popular_items().await?, app.townships().await?)) }.await;
    match result {
        Ok((popular, townships)) => {
            let page = HomePage {
                events: LifeEvent::ALL
                    .iter()
                    .map(|e| (e.slug(), tr.t(&event_key(*e))))
                    .collect(),
                popular: popular.iter().map(|i| card(tr, i)).collect(),
                townships: townships
                    .into_iter()
                    .map(|d| (d.code.to_string(), d.name))
                    .collect(),
                c: c.titled(&tr.t("site-tagline")),
            };
            render(StatusCode::OK, &page)
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    query: String,
    heading: String,
    count: String,
    searched: bool,
    items: Vec<ItemCard>,
    faqs: Vec<FaqView>,
    departments: Vec<Option_>,
    levels: Vec<Option_>,
    events: Vec<Option_>,
    targets: Vec<Option_>,
    prev: Option<String>,
    next: Option<String>,
}

pub async fn search(
    State(app): State<App>,
    c: Chrome,
    q: Result<Query<ItemsQuery>, QueryRejection>,
) -> Response {
    let tr = c.tr;
    let Ok(Query(q)) = q else {
        return error_page(c, StatusCode::BAD_REQUEST, Some(tr.t("bad-request-title")));
    };
    let params = match q.search_params(tr.0, 3) {
        Ok(p) => p,
        Err(e) => return error_page(c, StatusCode::BAD_REQUEST, Some(e.message)),
    };
    let (limit, offset) = (params.limit, params.offset);
    let filters = params.filters.clone();
    let (outcome, units) =
        match async { Ok::<_, AppError>((app.search(params).await?, app.units().await?)) }.await {
            Ok(v) => v,
            Err(e) => return app_error(c, e),
        };
    let selected = |v: Option<&str>, key: &str| v == Some(key);
    let dept = filters.department.as_ref().map(|d| d.to_string());
    let mut departments = vec![Option_::new("", tr.t("filter-any"), dept.is_none())];
    departments.extend(
        units
            .iter()
            .filter(|u| u.kind == UnitKind::Department)
            .map(|u| {
                Option_::new(
                    u.code.as_str(),
                    u.short_zh.clone(),
                    selected(dept.as_deref(), u.code.as_str()),
                )
            }),
    );
    let level = filters.level.map(ServiceLevel::as_str);
    let mut levels = vec![Option_::new("", tr.t("filter-any"), level.is_none())];
    levels.extend(ServiceLevel::ALL.iter().map(|l| {
        Option_::new(
            l.as_str(),
            tr.t(&format!("level-{}", l.as_str())),
            selected(level, l.as_str()),
        )
    }));
    let event = filters.life_event.map(LifeEvent::slug);
    let mut events = vec![Option_::new("", tr.t("filter-any"), event.is_none())];
    events.extend(
        LifeEvent::ALL
            .iter()
            .map(|e| Option_::new(e.slug(), tr.t(&event_key(*e)), selected(event, e.slug()))),
    );
    let target = filters.target.map(|t| match t {
        tongban_domain::Target::Individual => "individual",
        tongban_domain::Target::LegalPerson => "legal_person",
    });
    let targets = vec![
        Option_::new("", tr.t("filter-any"), target.is_none()),
        Option_::new(
            "individual",
            tr.t("target-individual"),
            selected(target, "individual"),
        ),
        Option_::new(
            "legal_person",
            tr.t("target-legal"),
            selected(target, "legal_person"),
        ),
    ];

    let page_link = |new_offset: usize| {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !outcome.query.is_empty() {
            pairs.push(("q", outcome.query.clone()));
        }
        for (k, v) in [
            ("department", dept.clone()),
            ("level", level.map(str::to_owned)),
            ("event", event.map(str::to_owned)),
            ("target", target.map(str::to_owned)),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        pairs.push(("offset", new_offset.to_string()));
        format!(
            "/search?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let prev = (offset > 0).then(|| page_link(offset.saturating_sub(limit)));
    let next = (offset + limit < outcome.total).then(|| page_link(offset + limit));
    let heading = if outcome.query.is_empty() {
        tr.t("results-title")
    } else {
        tr.ts("results-for", "query", &outcome.query)
    };
    let page = SearchPage {
        count: tr.tn("results-count", "total", outcome.total as f64),
        searched: !outcome.query.is_empty() || !filters.is_empty(),
        items: outcome.items.iter().map(|h| card(tr, &h.item)).collect(),
        faqs: outcome.faqs.into_iter().map(FaqView::from).collect(),
        query: outcome.query,
        departments,
        levels,
        events,
        targets,
        prev,
        next,
        c: c.titled(&heading),
        heading,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "guide.html")]
struct GuidePage {
    c: Chrome,
    g: GuideView,
}

pub async fn guide(State(app): State<App>, c: Chrome, Path(code): Path<String>) -> Response {
    match app.item_guide(&code).await {
        Ok(guide) => {
            let g = GuideView::new(c.tr, guide);
            render(
                StatusCode::OK,
                &GuidePage {
                    c: c.titled(&g.name),
                    g,
                },
            )
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "departments.html")]
struct DepartmentsPage {
    c: Chrome,
    county: Vec<Arc<OrgUnit>>,
    townships: Vec<Arc<OrgUnit>>,
}

pub async fn departments(State(app): State<App>, c: Chrome) -> Response {
    match app.units().await {
        Ok(units) => {
            let (county, townships) = units
                .into_iter()
                .partition(|u| u.kind == UnitKind::Department);
            let title = c.tr.t("departments-title");
            render(
                StatusCode::OK,
                &DepartmentsPage {
                    c: c.titled(&title),
                    county,
                    townships,
                },
            )
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "department.html")]
struct DepartmentPage {
    c: Chrome,
    unit: Arc<OrgUnit>,
    name: String,
    items_heading: String,
    items: Vec<ItemCard>,
    township_link: Option<String>,
}

pub async fn department(State(app): State<App>, c: Chrome, Path(code): Path<String>) -> Response {
    let tr = c.tr;
    match app.department_page(&code).await {
        Ok(p) => {
            let name = c.unit_name(&p.unit);
            let page = DepartmentPage {
                items_heading: tr.tn("dept-items", "n", p.items.len() as f64),
                items: p.items.iter().map(|i| card(tr, i)).collect(),
                township_link: p
                    .division
                    .filter(|d| d.level == DivisionLevel::Township)
                    .map(|d| format!("/townships/{}", d.code)),
                c: c.titled(&name),
                name,
                unit: p.unit,
            };
            render(StatusCode::OK, &page)
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "township.html")]
struct TownshipPage {
    c: Chrome,
    name: String,
    villages: Vec<String>,
    office: Option<Arc<OrgUnit>>,
    local_items: Vec<ItemCard>,
    county_items: Vec<ItemCard>,
}

pub async fn township(State(app): State<App>, c: Chrome, Path(code): Path<String>) -> Response {
    let tr = c.tr;
    match app.township_page(&code).await {
        Ok(p) => {
            let name = p.township.name.clone();
            let page = TownshipPage {
                villages: p.villages.into_iter().map(|v| v.name).collect(),
                office: p.office,
                local_items: p.local_items.iter().map(|i| card(tr, i)).collect(),
                county_items: p.county_items.iter().map(|i| card(tr, i)).collect(),
                c: c.titled(&name),
                name,
            };
            render(StatusCode::OK, &page)
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "docs.html")]
struct DocsPage {
    c: Chrome,
    operations: Vec<crate::docs::OperationView>,
}

pub async fn api_docs(
    State(docs): State<std::sync::Arc<crate::docs::ApiDocs>>,
    c: Chrome,
) -> Response {
    let title = c.tr.t("api-docs-title");
    render(
        StatusCode::OK,
        &DocsPage {
            c: c.titled(&title),
            operations: docs.operations.clone(),
        },
    )
}
