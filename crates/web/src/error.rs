//! One error type for the web face. API errors render as `{"code", "message"}` JSON with a
//! stable snake_case code; page errors render as a page in the visitor's language.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tongban_app::{AppError, RefusalKind};
use utoipa::ToSchema;

use crate::i18n::Lang;

/// The body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `item_not_found`, `invalid_parameter`.
    pub code: String,
    /// What went wrong, in the client's language (Accept-Language; Chinese by default).
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_parameter(lang: Lang, name: &str, detail_zh: &str, detail_en: &str) -> Self {
        let message = match lang {
            Lang::Zh => format!("参数 {name} 有误：{detail_zh}"),
            Lang::En => format!("parameter {name} is invalid: {detail_en}"),
        };
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message)
    }

    pub fn not_found(
        lang: Lang,
        code: &'static str,
        what_zh: &str,
        what_en: &str,
        key: &str,
    ) -> Self {
        let key: String = key.chars().take(64).collect();
        let message = match lang {
            Lang::Zh => format!("未找到{what_zh}“{key}”"),
            Lang::En => format!("{what_en} `{key}` not found"),
        };
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn from_app(lang: Lang, e: AppError) -> Self {
        match e {
            AppError::NotFound { what, key } => {
                let (code, zh) = match what {
                    "item" => ("item_not_found", "服务事项"),
                    "unit" => ("unit_not_found", "部门"),
                    "township" => ("township_not_found", "乡镇"),
                    "division" => ("division_not_found", "行政区划"),
                    _ => ("not_found", "对象"),
                };
                Self::not_found(lang, code, zh, what, &key)
            }
            AppError::Invalid { field, reason } => {
                Self::bad_parameter(lang, &field, &reason, &reason)
            }
            AppError::Refused(r) => {
                let message = crate::i18n::Tr(lang).ta(&format!("err-{}", r.code), &r.args);
                Self::new(status_of(r.kind), r.code, message)
            }
            AppError::Import(report) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "import_invalid",
                report.to_string(),
            ),
            other => {
                tracing::error!(error = %other, "request failed");
                let message = match lang {
                    Lang::Zh => "服务暂时出现问题，请稍后再试",
                    Lang::En => "the service has a problem; please try again later",
                };
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

/// The HTTP status for each kind of refusal.
pub fn status_of(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        RefusalKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        RefusalKind::Forbidden => StatusCode::FORBIDDEN,
        RefusalKind::NotFound => StatusCode::NOT_FOUND,
        RefusalKind::Conflict => StatusCode::CONFLICT,
        RefusalKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
            }),
        )
            .into_response()
    }
}
