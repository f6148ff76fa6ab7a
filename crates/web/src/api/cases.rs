//! Applications over the JSON API: everything the pages do, for apps and integrations. Send
//! `Authorization: Bearer TOKEN` (a session token, or a personal access token with the
//! `cases:read` / `cases:write` scope).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tongban_app::cases::CaseView;
use tongban_app::{App, AppError, CaseRecord};
use tongban_domain::access::Scope;
use tongban_domain::process::{Action, SupplementItem};
use utoipa::ToSchema;

use super::account::{err, principal};
use crate::error::{ApiError, ErrorBody};
use crate::prefs::Prefs;
use crate::session::Visitor;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCase {
    /// The service item's code.
    pub item_code: String,
    /// Whose application: omit for oneself; a family member's id; for village agents (with
    /// the resident's consent) and window clerks, the resident's id.
    #[serde(default, rename = "for")]
    pub for_person: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineBody {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub action: String,
    /// The acting office; none when the applicant acted.
    pub unit: Option<String>,
    pub by_applicant: bool,
    pub stage: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupplementBody {
    pub material: String,
    pub problem: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseBody {
    pub id: String,
    /// `K7M-39Q-XAR`; none for a draft.
    pub reference: Option<String>,
    pub item_code: String,
    pub item_name: String,
    /// `draft`, `submitted`, `in_progress`, `supplement`, `delivered`, `not_accepted`,
    /// `closed`, `withdrawn`.
    pub stage: String,
    /// The step's key within the process (`intake`, `review`, …).
    pub step: Option<String>,
    pub outcome: Option<String>,
    pub answers: BTreeMap<String, String>,
    pub unit_code: String,
    pub unit_name: String,
    /// The last day (YYYY-MM-DD) for the current step: intake, or the decision.
    pub due_on: Option<String>,
    /// `green`, `yellow`, `red`, `paused`, `done_on_time` or `done_late`.
    pub light: Option<String>,
    pub supplement: Vec<SupplementBody>,
    pub timeline: Vec<TimelineBody>,
    /// What the caller may do now (action names for `POST …/actions`).
    pub actions: Vec<String>,
    /// Send back with an action so a change made meanwhile is not overwritten.
    pub version: i64,
}

impl CaseBody {
    fn new(v: CaseView) -> Self {
        let draft = v.reference.is_none();
        Self {
            stage: if draft {
                "draft".into()
            } else {
                v.stage.as_str().into()
            },
            step: v.step.as_ref().map(|s| s.key.clone()),
            due_on: v
                .clock
                .as_ref()
                .map(|k| k.due_on)
                .or(v.intake_due)
                .map(|d| d.format("%Y-%m-%d").to_string()),
            light: v.clock.as_ref().map(|k| k.light.as_str().to_owned()),
            supplement: v
                .supplement
                .into_iter()
                .map(|s| SupplementBody {
                    material: s.material,
                    problem: s.problem,
                })
                .collect(),
            timeline: v
                .timeline
                .into_iter()
                .map(|e| TimelineBody {
                    at_ms: e.at_ms,
                    action: e.action,
                    unit: e.unit,
                    by_applicant: e.by_applicant,
                    stage: e.to_stage,
                })
                .collect(),
            actions: v.actions.iter().map(|a| (*a).to_owned()).collect(),
            id: v.id,
            reference: v.reference,
            item_code: v.item_code,
            item_name: v.item_name,
            outcome: v.outcome,
            answers: v.answers,
            unit_code: v.unit_code,
            unit_name: v.unit_name,
            version: v.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub reference: Option<String>,
    pub item_code: String,
    pub stage: String,
    pub due_on: Option<String>,
}

impl From<CaseRecord> for CaseSummary {
    fn from(c: CaseRecord) -> Self {
        Self {
            reference: c
                .reference
                .as_deref()
                .and_then(|r| tongban_domain::reference::CaseRef::parse(r).ok())
                .map(|r| r.to_string()),
            id: c.id,
            item_code: c.item_code,
            stage: c.stage,
            due_on: c.due_on,
        }
    }
}

async fn view(
    app: &App,
    headers: &HeaderMap,
    p: &tongban_app::Principal,
    id: &str,
) -> Result<Json<CaseBody>, ApiError> {
    let v = app.case_view(p, id).await.map_err(|e| err(headers, e))?;
    Ok(Json(CaseBody::new(v)))
}

/// Start a draft application.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCase,
    responses((status = 201, body = CaseBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_case(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Json(body): Json<NewCase>,
) -> Result<(StatusCode, Json<CaseBody>), ApiError> {
    let p = principal(&headers, &v, Scope::CasesWrite)?;
    let id = app
        .start_application(&p, &body.item_code, body.for_person.as_deref())
        .await
        .map_err(|e| err(&headers, e))?;
    Ok((StatusCode::CREATED, view(&app, &headers, &p, &id).await?))
}

/// One case, as the caller may see it.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    responses((status = 200, body = CaseBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
) -> Result<Json<CaseBody>, ApiError> {
    let p = principal(&headers, &v, Scope::CasesRead)?;
    view(&app, &headers, &p, &id).await
}

/// The caller's applications (and their family's), newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases",
    responses((status = 200, body = [CaseSummary]), (status = 401, body = ErrorBody)))]
pub async fn my_cases(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    let p = principal(&headers, &v, Scope::CasesRead)?;
    let cases = app.my_cases(&p).await.map_err(|e| err(&headers, e))?;
    Ok(Json(cases.into_iter().map(CaseSummary::from).collect()))
}

/// The caller's office's open cases, most urgent first (supervisors: everything due within a
/// working day, county-wide).
#[utoipa::path(get, path = "/api/v1/worklist", tag = "cases",
    responses((status = 200, body = [CaseSummary]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn worklist(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    let p = principal(&headers, &v, Scope::CasesRead)?;
    let cases = app.worklist(&p, 200).await.map_err(|e| err(&headers, e))?;
    Ok(Json(cases.into_iter().map(CaseSummary::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswersRequest {
    /// Field key → answer, as the item's `form_fields` define them.
    pub answers: BTreeMap<String, String>,
    /// Save a half-done draft: required answers may be missing (what is given is checked).
    #[serde(default)]
    pub partial: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswersProblems {
    pub code: String,
    pub message: String,
    /// Every problem, one per field.
    pub fields: Vec<FieldProblem>,
}

/// Save answers to a draft; every problem is reported at once, per field.
#[utoipa::path(put, path = "/api/v1/cases/{id}/answers", tag = "cases", request_body = AnswersRequest,
    responses((status = 200, body = CaseBody), (status = 409, body = ErrorBody), (status = 422, body = AnswersProblems)))]
pub async fn put_answers(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    Json(body): Json<AnswersRequest>,
) -> Result<Json<CaseBody>, axum::response::Response> {
    use axum::response::IntoResponse;
    let p = principal(&headers, &v, Scope::CasesWrite).map_err(IntoResponse::into_response)?;
    match app.save_answers(&p, &id, &body.answers, body.partial).await {
        Ok(Ok(_)) => view(&app, &headers, &p, &id)
            .await
            .map_err(IntoResponse::into_response),
        Ok(Err(problems)) => {
            let tr = crate::i18n::Tr(Prefs::api_lang(&headers));
            let fields = problems
                .into_iter()
                .map(|pr| FieldProblem {
                    message: tr.ta(&format!("err-{}", pr.code), &pr.args),
                    field: pr.key,
                    code: pr.code.to_owned(),
                })
                .collect();
            Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(AnswersProblems {
                    code: "answers_invalid".into(),
                    message: tr.t("error-summary-title"),
                    fields,
                }),
            )
                .into_response())
        }
        Err(e) => Err(err(&headers, e).into_response()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    pub reference: String,
    pub case: CaseBody,
}

/// Submit a draft. Submitting again returns the same reference.
#[utoipa::path(post, path = "/api/v1/cases/{id}/submit", tag = "cases",
    responses((status = 200, body = Submitted), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
) -> Result<Json<Submitted>, ApiError> {
    let p = principal(&headers, &v, Scope::CasesWrite)?;
    let reference = app
        .submit_application(&p, &id)
        .await
        .map_err(|e| err(&headers, e))?;
    let Json(case) = view(&app, &headers, &p, &id).await?;
    Ok(Json(Submitted {
        reference: reference.to_string(),
        case,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SupplementRequestItem {
    pub material: String,
    pub problem: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionRequest {
    /// One of the case's `actions`: `accept`, `not_accept`, `request_supplement`, `supply`,
    /// `pass`, `send_back`, `approve`, `deny`, `deliver`, `close`, `withdraw`.
    pub action: String,
    /// The `version` the caller last saw.
    pub version: Option<i64>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub items: Vec<SupplementRequestItem>,
}

/// Act on a case: the process decides whether the caller may, at this stage and step.
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases", request_body = ActionRequest,
    responses((status = 200, body = CaseBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn act(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    Json(b): Json<ActionRequest>,
) -> Result<Json<CaseBody>, ApiError> {
    let p = principal(&headers, &v, Scope::CasesWrite)?;
    let action = match b.action.as_str() {
        "accept" => Action::Accept,
        "not_accept" => Action::NotAccept { reason: b.reason },
        "request_supplement" => Action::RequestSupplement {
            items: b
                .items
                .into_iter()
                .map(|i| SupplementItem {
                    material: i.material,
                    problem: i.problem,
                })
                .collect(),
        },
        "supply" => Action::Supply,
        "pass" => Action::Pass { note: b.note },
        "send_back" => Action::SendBack { note: b.note },
        "approve" => Action::Approve,
        "deny" => Action::Deny {
            reason: b.reason,
            legal_basis: b.legal_basis,
        },
        "deliver" => Action::Deliver { method: b.method },
        "close" => Action::Close,
        "withdraw" => Action::Withdraw,
        _ => {
            return Err(err(
                &headers,
                AppError::rejected("case_action_unknown", "action"),
            ));
        }
    };
    let v = app
        .act_on_case(&p, &id, b.version, &action)
        .await
        .map_err(|e| err(&headers, e))?;
    Ok(Json(CaseBody::new(v)))
}

/// The upload form, described for the OpenAPI document.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The material's name, as the item's guide lists it.
    pub material: String,
    /// PDF, JPEG, PNG or OFD, at most 10 MiB; the type is judged by the bytes.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
    /// `true` to replace the files the material had.
    pub replace: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialBody {
    pub id: String,
    pub material: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
}

/// Upload a file for one of the case's materials (in a draft, or while documents are asked for).
#[utoipa::path(post, path = "/api/v1/cases/{id}/materials", tag = "cases",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = MaterialBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    multipart: axum::extract::Multipart,
) -> Result<(StatusCode, Json<MaterialBody>), ApiError> {
    let p = principal(&headers, &v, Scope::CasesWrite)?;
    let form = crate::upload_form::read_upload_form(multipart, "file")
        .await
        .map_err(|e| err(&headers, crate::upload_form::refusal(e, "file")))?;
    let replace = form.text("replace") == "true";
    let material = form.text("material").to_owned();
    let m = app
        .upload_material(&p, &id, &material, &form.file_name, form.file, replace)
        .await
        .map_err(|e| err(&headers, e))?;
    Ok((
        StatusCode::CREATED,
        Json(MaterialBody {
            id: m.id,
            material: m.material,
            file_name: m.file_name,
            media_type: m.media_type,
            size: m.size,
            sha256: m.sha256,
        }),
    ))
}
