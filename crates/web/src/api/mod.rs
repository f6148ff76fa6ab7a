//! The versioned JSON API (`/api/v1/…`), declared once per route with `utoipa_axum::routes!` so
//! the OpenAPI document cannot drift from the handlers.

mod account;
mod cases;
mod requests;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tongban_app::App;
use tongban_domain::{
    Division, DivisionLevel, ItemCode, ItemSummary, LifeEvent, OrgUnit, ServiceItem, UnitCode,
};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::i18n::Lang;
use crate::params::{ItemsQuery, parse_number};
use crate::prefs::Prefs;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tongban API",
        description = "One-stop county government services: the service catalog (办事指南), \
                       divisions and organisation units. Errors are `{\"code\", \"message\"}` with \
                       the message in the client's language (Accept-Language; Chinese by default).",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "catalog", description = "Service items, their guides and search"),
        (name = "organisation", description = "Administrative divisions and organisation units"),
        (name = "operations", description = "Health and readiness probes"),
        (name = "account", description = "Signing in, the signed-in person, the audit trail"),
        (name = "cases", description = "Applications: apply, answer, submit, follow and handle"),
        (name = "requests", description = "Requests and complaints (12345): file, follow, dispatch and handle")
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_items))
        .routes(routes!(get_item))
        .routes(routes!(search_faqs))
        .routes(routes!(list_life_events))
        .routes(routes!(list_divisions))
        .routes(routes!(get_division))
        .routes(routes!(list_units))
        .routes(routes!(get_unit))
        .routes(routes!(account::send_code))
        .routes(routes!(account::sign_in))
        .routes(routes!(account::sign_out))
        .routes(routes!(account::me))
        .routes(routes!(account::audit))
        .routes(routes!(cases::create_case, cases::my_cases))
        .routes(routes!(cases::get_case))
        .routes(routes!(cases::worklist))
        .routes(routes!(cases::put_answers))
        .routes(routes!(cases::submit))
        .routes(routes!(cases::act))
        .routes(routes!(requests::file, requests::list))
        .routes(routes!(requests::get_request))
        .routes(routes!(requests::act))
        .routes(routes!(requests::suggestions))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(cases::upload))
                .routes(routes!(requests::add_photo))
                // A material file or photo may be up to 10 MiB; every other request stays small.
                .layer(axum::extract::DefaultBodyLimit::max(
                    tongban_domain::upload::MAX_FILE_BYTES + 64 * 1024,
                )),
        )
}

fn lang(headers: &HeaderMap) -> Lang {
    Prefs::api_lang(headers)
}

fn query<T>(lang: Lang, q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v).map_err(|e| {
        let detail = e.body_text();
        let detail = detail
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&detail);
        ApiError::bad_parameter(lang, "query", detail, detail)
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList {
    /// Matching items in all pages.
    pub total: usize,
    /// The query as searched (cleaned, at most 64 characters); empty when listing.
    pub query: String,
    pub limit: usize,
    pub offset: usize,
    /// Ranked best first when searching; in catalog order when listing.
    pub items: Vec<ItemSummary>,
}

/// List or search service items.
///
/// With `q`, a Chinese full-text search (word segmentation, synonyms, pinyin and pinyin initials,
/// one wrong character tolerated), ranked name > keywords > materials and description. Searches
/// that find nothing are recorded as unmet demand.
#[utoipa::path(get, path = "/api/v1/items", tag = "catalog", params(ItemsQuery),
    responses((status = 200, body = ItemList), (status = 400, body = ErrorBody)))]
async fn list_items(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<ItemsQuery>, QueryRejection>,
) -> Result<Json<ItemList>, ApiError> {
    let lang = lang(&headers);
    let params = query(lang, q)?.search_params(lang, 0)?;
    let (limit, offset) = (params.limit, params.offset);
    let outcome = app
        .search(params)
        .await
        .map_err(|e| ApiError::from_app(lang, e))?;
    Ok(Json(ItemList {
        total: outcome.total,
        query: outcome.query,
        limit,
        offset,
        items: outcome.items.into_iter().map(|h| h.item).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FaqEntry {
    pub question: String,
    pub answer: String,
    pub item_code: Option<ItemCode>,
    pub item_name: Option<String>,
    pub department: UnitCode,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub item: ServiceItem,
    pub department_name: String,
    /// Questions residents ask about this item, with official answers.
    pub faqs: Vec<FaqEntry>,
}

/// One item's full guide: every standard element.
#[utoipa::path(get, path = "/api/v1/items/{code}", tag = "catalog",
    params(("code" = String, Path, description = "Item code")),
    responses((status = 200, body = ItemDetail), (status = 404, body = ErrorBody)))]
async fn get_item(
    State(app): State<App>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Json<ItemDetail>, ApiError> {
    let lang = lang(&headers);
    let guide = app
        .item_guide(&code)
        .await
        .map_err(|e| ApiError::from_app(lang, e))?;
    Ok(Json(ItemDetail {
        department_name: guide.department.name_zh.clone(),
        faqs: guide
            .faqs
            .into_iter()
            .map(|f| FaqEntry {
                question: f.question,
                answer: f.answer,
                item_code: f.item_code,
                item_name: Some(guide.item.name.clone()),
                department: f.department,
            })
            .collect(),
        item: ServiceItem::clone(&guide.item),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FaqQuery {
    /// What the resident asks, in their own words.
    pub q: Option<String>,
    /// Answers to return, 1 to 50 (default 5).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FaqList {
    pub total: usize,
    pub faqs: Vec<FaqEntry>,
}

/// Search the FAQ knowledge base.
#[utoipa::path(get, path = "/api/v1/faqs", tag = "catalog", params(FaqQuery),
    responses((status = 200, body = FaqList), (status = 400, body = ErrorBody)))]
async fn search_faqs(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<FaqQuery>, QueryRejection>,
) -> Result<Json<FaqList>, ApiError> {
    let lang = lang(&headers);
    let q = query(lang, q)?;
    let limit = parse_number(
        lang,
        "limit",
        q.limit.as_deref().filter(|s| !s.is_empty()),
        5,
        1,
        50,
    )?;
    let text = q.q.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad_parameter(
            lang,
            "q",
            "不能为空",
            "must not be empty",
        ));
    }
    let outcome = app
        .search(tongban_app::SearchParams {
            text,
            limit: 1,
            faq_limit: limit,
            ..Default::default()
        })
        .await
        .map_err(|e| ApiError::from_app(lang, e))?;
    Ok(Json(FaqList {
        total: outcome.faqs.len(),
        faqs: outcome
            .faqs
            .into_iter()
            .map(|f| FaqEntry {
                question: f.question,
                answer: f.answer,
                item_code: f.item_code,
                item_name: f.item_name,
                department: f.department,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LifeEventEntry {
    /// URL form, e.g. `birth`.
    pub slug: &'static str,
    /// Chinese name, e.g. `出生`.
    pub name: &'static str,
}

/// Life events (一件事) that group items.
#[utoipa::path(get, path = "/api/v1/life-events", tag = "catalog", responses((status = 200, body = Vec<LifeEventEntry>)))]
async fn list_life_events() -> Json<Vec<LifeEventEntry>> {
    Json(
        LifeEvent::ALL
            .iter()
            .map(|e| LifeEventEntry {
                slug: e.slug(),
                name: e.as_str(),
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DivisionQuery {
    /// `county`, `township` or `village`.
    pub level: Option<String>,
    /// Only the divisions directly under this 12-digit code.
    pub parent: Option<String>,
}

/// Administrative divisions of the county (county → township → village), 12-digit codes.
#[utoipa::path(get, path = "/api/v1/divisions", tag = "organisation", params(DivisionQuery),
    responses((status = 200, body = Vec<Division>), (status = 400, body = ErrorBody)))]
async fn list_divisions(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<DivisionQuery>, QueryRejection>,
) -> Result<Json<Vec<Division>>, ApiError> {
    let lang = lang(&headers);
    let q = query(lang, q)?;
    let level = q
        .level
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|l| {
            DivisionLevel::parse(l).map_err(|_| {
                ApiError::bad_parameter(
                    lang,
                    "level",
                    "应为 county、township 或 village",
                    "must be county, township or village",
                )
            })
        })
        .transpose()?;
    let parent = q.parent.as_deref().filter(|s| !s.is_empty());
    if let Some(p) = parent
        && tongban_domain::DivisionCode::parse(p).is_err()
    {
        return Err(ApiError::bad_parameter(
            lang,
            "parent",
            "应为12位区划代码",
            "must be a 12-digit division code",
        ));
    }
    let divisions = app
        .divisions()
        .await
        .map_err(|e| ApiError::from_app(lang, e))?;
    Ok(Json(
        divisions
            .into_iter()
            .filter(|d| level.is_none_or(|l| d.level == l))
            .filter(|d| parent.is_none_or(|p| d.parent.as_ref().is_some_and(|dp| dp.as_str() == p)))
            .collect(),
    ))
}

/// One division.
#[utoipa::path(get, path = "/api/v1/divisions/{code}", tag = "organisation",
    params(("code" = String, Path, description = "12-digit division code")),
    responses((status = 200, body = Division), (status = 404, body = ErrorBody)))]
async fn get_division(
    State(app): State<App>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Json<Division>, ApiError> {
    let lang = lang(&headers);
    let divisions = app
        .divisions()
        .await
        .map_err(|e| ApiError::from_app(lang, e))?;
    divisions
        .into_iter()
        .find(|d| d.code.as_str() == code)
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(lang, "division_not_found", "行政区划", "division", &code)
        })
}

/// Organisation units: county departments and township governments.
#[utoipa::path(get, path = "/api/v1/units", tag = "organisation", responses((status = 200, body = Vec<OrgUnit>)))]
async fn list_units(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Vec<OrgUnit>>, ApiError> {
    let lang = lang(&headers);
    app.units()
        .await
        .map(|units| Json(units.iter().map(|u| OrgUnit::clone(u)).collect()))
        .map_err(|e| ApiError::from_app(lang, e))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitDetail {
    #[serde(flatten)]
    pub unit: OrgUnit,
    /// Items the unit handles (for a township: items handled at its service centre).
    pub items: Vec<ItemSummary>,
}

/// One unit with the items it handles.
#[utoipa::path(get, path = "/api/v1/units/{code}", tag = "organisation",
    params(("code" = String, Path, description = "Unit code, e.g. 130534-SPJ")),
    responses((status = 200, body = UnitDetail), (status = 404, body = ErrorBody)))]
async fn get_unit(
    State(app): State<App>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Json<UnitDetail>, ApiError> {
    let lang = lang(&headers);
    let page = app
        .department_page(&code)
        .await
        .map_err(|e| ApiError::from_app(lang, e))?;
    Ok(Json(UnitDetail {
        unit: OrgUnit::clone(&page.unit),
        items: page.items,
    }))
}
