//! Requests and complaints over the JSON API, for apps and integrations: file, list, read,
//! act, and (dispatchers) routing suggestions. Send `Authorization: Bearer TOKEN` (a session
//! token, or a personal access token with the `requests:read` / `requests:write` scope).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tongban_app::requests::{Channel, NewRequest};
use tongban_app::{App, RequestRecord};
use tongban_domain::Role;
use tongban_domain::access::Scope;
use tongban_domain::reference::CaseRef;
use tongban_domain::request::lifecycle::{ActionFields, RequestAction};
use utoipa::ToSchema;

use super::account::{err, principal};
use crate::error::{ApiError, ErrorBody};
use crate::session::Visitor;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRequestBody {
    /// `consultation`, `help`, `complaint`, `report`, `suggestion` or `praise` (or the
    /// Chinese name).
    pub kind: String,
    /// A category code (the Open311 service codes).
    pub category: String,
    /// What happened; at most 4,000 characters.
    pub text: String,
    /// A township's 12-digit code; not needed for a consultation.
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub urgent: bool,
    /// Hide the requester from the handling office.
    #[serde(default)]
    pub anonymous: bool,
    /// Consent to publish the request and its answer without personal details.
    #[serde(default)]
    pub disclose: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestEventBody {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub action: String,
    /// The acting office, if an office acted.
    pub unit: Option<String>,
    pub stage: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestBody {
    pub id: String,
    /// `K7M-39Q-XAR`.
    pub reference: String,
    pub kind: String,
    pub category: String,
    pub urgent: bool,
    pub text: String,
    pub township: Option<String>,
    pub village: Option<String>,
    /// `filed`, `dispatched`, `in_hand`, `replied`, `closed` or `merged`.
    pub stage: String,
    /// The office it is with.
    pub unit: Option<String>,
    /// Deadlines, milliseconds since the epoch.
    pub sign_by: Option<i64>,
    pub resolve_by: Option<i64>,
    pub reply: Option<String>,
    pub rating: Option<i64>,
    /// Send back with an action so a change made meanwhile is not overwritten.
    pub version: i64,
    pub created_at: i64,
    /// Present when reading one request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<RequestEventBody>>,
    /// Present when reading one request: the resident's photos and the office's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoBody>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoBody {
    pub id: String,
    /// `request` (the resident's) or `reply` (the office's, with its answer).
    pub part: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    /// The picture, for the same bearer token.
    pub url: String,
    /// A small JPEG preview.
    pub thumbnail_url: String,
}

/// The photo form, described for the OpenAPI document.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PhotoForm {
    /// A JPEG or PNG picture, at most 10 MiB; the type is judged by the bytes.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub photo: String,
}

impl RequestBody {
    fn new(r: RequestRecord) -> Self {
        Self {
            reference: CaseRef::parse(&r.reference)
                .map_or_else(|_| r.reference.clone(), |c| c.to_string()),
            id: r.id,
            kind: r.kind,
            category: r.category,
            urgent: r.urgency == "urgent",
            text: r.text,
            township: r.township_code,
            village: r.village_code,
            stage: r.stage,
            unit: r.unit_code,
            sign_by: r.sign_by,
            resolve_by: r.resolve_by,
            reply: r.reply_text,
            rating: r.rating,
            version: r.version,
            created_at: r.created_at,
            timeline: None,
            photos: None,
        }
    }
}

/// File a request as the signed-in resident.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = NewRequestBody,
    responses((status = 201, body = RequestBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn file(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Json(body): Json<NewRequestBody>,
) -> Result<(StatusCode, Json<RequestBody>), ApiError> {
    let p = principal(&headers, &v, Scope::RequestsWrite)?;
    let new = NewRequest {
        kind: body.kind,
        category: body.category,
        urgent: body.urgent,
        text: body.text,
        township: body.township,
        village: body.village,
        lat: body.lat,
        lon: body.lon,
        address: body.address,
        anonymous: body.anonymous,
        disclose: body.disclose,
        ..NewRequest::default()
    };
    let r = app
        .file_request(Some(&p), Channel::Api, &new)
        .await
        .map_err(|e| err(&headers, e))?;
    Ok((StatusCode::CREATED, Json(RequestBody::new(r))))
}

/// The caller's requests: a resident's own; the dispatch centre's queue; an office's list.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests",
    responses((status = 200, body = [RequestBody]), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
) -> Result<Json<Vec<RequestBody>>, ApiError> {
    let p = principal(&headers, &v, Scope::RequestsRead)?;
    let list = if p.actor.has(Role::Dispatcher) {
        app.dispatch_queue(&p).await
    } else if p.actor.is_staff() {
        app.unit_requests(&p).await
    } else {
        app.my_requests(&p).await
    }
    .map_err(|e| err(&headers, e))?;
    Ok(Json(list.into_iter().map(RequestBody::new).collect()))
}

async fn one(
    app: &App,
    headers: &HeaderMap,
    p: &tongban_app::Principal,
    id: &str,
) -> Result<Json<RequestBody>, ApiError> {
    let r = app
        .visible_request(p, id)
        .await
        .map_err(|e| err(headers, e))?;
    with_timeline(app, headers, r).await
}

/// The request's body with its timeline.
async fn with_timeline(
    app: &App,
    headers: &HeaderMap,
    r: tongban_app::RequestRecord,
) -> Result<Json<RequestBody>, ApiError> {
    let (events, photos) = app
        .store
        .request_history(&app.tenant, &r.id)
        .await
        .map_err(|e| err(headers, e.into()))?;
    let id = r.id.clone();
    let mut body = RequestBody::new(r);
    body.photos = Some(
        photos
            .into_iter()
            .map(|x| PhotoBody {
                url: format!("/requests/{id}/photos/{}", x.id),
                thumbnail_url: format!("/requests/{id}/photos/{}/thumb", x.id),
                id: x.id,
                part: x.part,
                file_name: x.file_name,
                media_type: x.media_type,
                size: x.size,
            })
            .collect(),
    );
    body.timeline = Some(
        events
            .into_iter()
            .map(|e| RequestEventBody {
                at_ms: e.at,
                action: e.action,
                unit: e.actor_unit,
                stage: e.to_stage,
            })
            .collect(),
    );
    Ok(Json(body))
}

/// One request with its timeline.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    responses((status = 200, body = RequestBody), (status = 404, body = ErrorBody)))]
pub async fn get_request(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
) -> Result<Json<RequestBody>, ApiError> {
    let p = principal(&headers, &v, Scope::RequestsRead)?;
    one(&app, &headers, &p, &id).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestActionBody {
    /// `dispatch`, `return`, `sign`, `contact`, `ask_extension`, `grant_extension`,
    /// `refuse_extension`, `reply`, `close`, `send_back`, `rate`, `reopen`, `urge` or `merge`.
    pub action: String,
    /// The `version` the caller last saw.
    pub version: Option<i64>,
    /// For `dispatch`: the office's code.
    #[serde(default)]
    pub unit: String,
    /// For `return`, `send_back`, `refuse_extension`, `reopen`, `ask_extension`.
    #[serde(default)]
    pub reason: String,
    /// For `contact` and `urge`.
    #[serde(default)]
    pub note: String,
    /// For `reply`.
    #[serde(default)]
    pub text: String,
    /// For `ask_extension`: working days.
    #[serde(default)]
    pub days: u32,
    /// For `rate`: 1–5.
    #[serde(default)]
    pub score: u8,
    #[serde(default)]
    pub comment: String,
    /// For `merge`: the id of the request this one repeats.
    #[serde(default)]
    pub into: String,
}

/// Act on a request as the caller may (the dispatch centre, the office, the requester, a
/// supervisor).
#[utoipa::path(post, path = "/api/v1/requests/{id}/actions", tag = "requests", request_body = RequestActionBody,
    responses((status = 200, body = RequestBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn act(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    Json(b): Json<RequestActionBody>,
) -> Result<Json<RequestBody>, ApiError> {
    let p = principal(&headers, &v, Scope::RequestsWrite)?;
    let fields = ActionFields {
        unit: b.unit,
        reason: b.reason,
        note: b.note,
        text: b.text,
        days: b.days,
        score: b.score,
        comment: b.comment,
        into: b.into,
    };
    let Some(action) = RequestAction::from_fields(&b.action, fields) else {
        return Err(err(
            &headers,
            tongban_app::AppError::rejected("request_action_unknown", "action"),
        ));
    };
    let r = app
        .act_on_request(&p, &id, b.version, &action)
        .await
        .map_err(|e| err(&headers, e))?;
    with_timeline(&app, &headers, r).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionBody {
    pub unit: String,
    /// 0–1.
    pub score: f64,
    /// The township office standing in for a village matter.
    pub as_township: bool,
    /// The keyword rule that matched, if one did.
    pub rule: Option<String>,
    /// The request's words that speak for the office.
    pub words: Vec<String>,
}

/// Routing suggestions for a request (dispatchers): the top three offices.
#[utoipa::path(get, path = "/api/v1/requests/{id}/suggestions", tag = "requests",
    responses((status = 200, body = [SuggestionBody]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn suggestions(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SuggestionBody>>, ApiError> {
    let p = principal(&headers, &v, Scope::RequestsRead)?;
    let list = app
        .routing_suggestions(&p, &id)
        .await
        .map_err(|e| err(&headers, e))?;
    Ok(Json(
        list.into_iter()
            .map(|s| {
                let (rule, words) = match s.reason {
                    tongban_app::routing::Reason::Rule(k) => (Some(k), Vec::new()),
                    tongban_app::routing::Reason::Words(w) => (None, w),
                };
                SuggestionBody {
                    unit: s.unit,
                    score: s.score,
                    as_township: s.as_township,
                    rule,
                    words,
                }
            })
            .collect(),
    ))
}

/// Add a photo to a request after filing: the resident while it is open, the office it is
/// with while it works on it (at most six of each).
#[utoipa::path(post, path = "/api/v1/requests/{id}/photos", tag = "requests",
    request_body(content = PhotoForm, content_type = "multipart/form-data"),
    responses((status = 201, body = RequestBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_photo(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    multipart: axum::extract::Multipart,
) -> Result<(StatusCode, Json<RequestBody>), ApiError> {
    let p = principal(&headers, &v, Scope::RequestsWrite)?;
    let form = crate::upload_form::read_upload_form(multipart, "photo")
        .await
        .map_err(|e| err(&headers, crate::upload_form::refusal(e, "photo")))?;
    let photos = if form.file.is_empty() {
        Vec::new()
    } else {
        vec![(form.file_name.clone(), form.file)]
    };
    let r = app
        .add_request_photos(&p, &id, &photos)
        .await
        .map_err(|e| err(&headers, e))?;
    Ok((StatusCode::CREATED, with_timeline(&app, &headers, r).await?))
}
