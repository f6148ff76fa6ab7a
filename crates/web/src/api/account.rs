//! Signing in from an app and reading what the signed-in person may read. A session token
//! from `auth/sign-in` or a personal access token goes in `Authorization: Bearer`.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tongban_app::{App, AppError};
use tongban_domain::access::Scope;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::prefs::Prefs;
use crate::session::{RequestFacts, Visitor};

pub(crate) fn err(headers: &HeaderMap, e: AppError) -> ApiError {
    ApiError::from_app(Prefs::api_lang(headers), e)
}

pub(crate) fn principal(
    headers: &HeaderMap,
    v: &Visitor,
    scope: Scope,
) -> Result<tongban_app::Principal, ApiError> {
    match v {
        Visitor::Signed(p) if p.allows(scope) => Ok((**p).clone()),
        Visitor::Signed(_) => Err(err(
            headers,
            tongban_app::Refusal::new(tongban_app::RefusalKind::Forbidden, "scope_missing")
                .with("scope", scope.as_str())
                .into(),
        )),
        _ => Err(err(headers, AppError::unauthenticated("sign_in_required"))),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeRequest {
    /// Mainland mobile number, 11 digits.
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeResponse {
    pub expires_in_s: i64,
    pub resend_after_s: i64,
}

/// Send a sign-in code by SMS.
///
/// At most one a minute and five an hour per number and per client address.
#[utoipa::path(post, path = "/api/v1/auth/code", tag = "account", request_body = CodeRequest,
    responses((status = 200, body = CodeResponse), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn send_code(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(facts): Extension<RequestFacts>,
    Json(body): Json<CodeRequest>,
) -> Result<Json<CodeResponse>, ApiError> {
    let sent = app
        .send_sign_in_code(&body.phone, &facts.ip)
        .await
        .map_err(|e| err(&headers, e))?;
    Ok(Json(CodeResponse {
        expires_in_s: sent.expires_in_s,
        resend_after_s: sent.resend_after_s,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInRequest {
    pub phone: String,
    /// The six digits from the SMS.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInResponse {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Milliseconds since the epoch; idle sessions end sooner.
    pub expires_at: i64,
}

/// Sign a resident in with the code sent to their number.
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "account", request_body = SignInRequest,
    responses((status = 200, body = SignInResponse), (status = 422, body = ErrorBody)))]
pub async fn sign_in(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<SignInRequest>,
) -> Result<Json<SignInResponse>, ApiError> {
    let s = app
        .sign_in_with_code(&body.phone, &body.code, None)
        .await
        .map_err(|e| err(&headers, e))?;
    Ok(Json(SignInResponse {
        token: s.token,
        expires_at: s.expires_at,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub name: String,
    pub phone_masked: String,
    pub id_number_masked: Option<String>,
    pub real_name: bool,
    pub roles: Vec<String>,
    pub unit: Option<String>,
    pub family: Vec<FamilyMemberOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyMemberOut {
    pub id: String,
    pub relation: String,
    pub name: String,
    pub id_number_masked: String,
}

/// The signed-in person's profile, numbers masked.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn me(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
) -> Result<Json<Me>, ApiError> {
    let p = principal(&headers, &v, Scope::ProfileRead)?;
    let profile = app.profile(&p).await.map_err(|e| err(&headers, e))?;
    Ok(Json(Me {
        id: profile.id,
        name: profile.name,
        phone_masked: profile.phone_masked,
        id_number_masked: profile.id_number_masked,
        real_name: profile.real_name,
        roles: profile
            .roles
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        unit: profile.unit,
        family: profile
            .family
            .into_iter()
            .map(|m| FamilyMemberOut {
                id: m.id,
                relation: m.relation,
                name: m.name,
                id_number_masked: m.id_number_masked,
            })
            .collect(),
    }))
}

/// End the session behind the bearer token.
#[utoipa::path(post, path = "/api/v1/auth/sign-out", tag = "account",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn sign_out(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
) -> Result<axum::http::StatusCode, ApiError> {
    let p = principal(&headers, &v, Scope::ProfileRead)?;
    app.sign_out(&p).await.map_err(|e| err(&headers, e))?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    pub actor: Option<String>,
    /// Actions starting with this, e.g. `person.` or `session.sign_in`.
    pub action: Option<String>,
    pub object: Option<String>,
    /// Entries before this sequence number (the next page).
    pub before: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub unit: String,
    pub action: String,
    pub object: String,
    pub request_id: String,
    pub detail: String,
    pub hash: String,
}

/// The audit trail, newest first (supervisors and administrators; token scope `audit:read`).
#[utoipa::path(get, path = "/api/v1/audit", tag = "account", params(AuditParams),
    responses((status = 200, body = Vec<AuditOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(v): Extension<Visitor>,
    Query(q): Query<AuditParams>,
) -> Result<Json<Vec<AuditOut>>, ApiError> {
    let p = principal(&headers, &v, Scope::AuditRead)?;
    let filter = tongban_app::AuditFilter {
        actor: q.actor,
        action_prefix: q.action,
        object: q.object,
        before_seq: q.before,
        ..Default::default()
    };
    let rows = app
        .audit_log(&p.actor, &filter, q.limit.unwrap_or(50))
        .await
        .map_err(|e| err(&headers, e))?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditOut {
                seq: r.record.seq,
                at_ms: r.record.entry.at_ms,
                actor: r.record.entry.actor,
                unit: r.record.entry.unit,
                action: r.record.entry.action,
                object: r.record.entry.object,
                request_id: r.record.entry.request_id,
                detail: r.record.entry.detail,
                hash: r.hash,
            })
            .collect(),
    ))
}
