//! Forms: one field model and one page for every simple form, with errors shown GOV.UK style
//! (a summary at the top linking to each field, the message again beside the field).

use askama::Template;
use axum::http::StatusCode;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use tongban_app::{AppError, Refusal};

use super::views::Option_;
use super::{Chrome, app_error, render};
use crate::error::status_of;
use crate::i18n::Tr;

#[derive(Debug, Clone, Default)]
pub struct Field {
    /// The input's name and id; item forms name fields after the catalog's keys.
    pub name: std::borrow::Cow<'static, str>,
    pub label: String,
    pub value: String,
    /// An input type (`text`, `tel`, `password`, `file`…), `select` or `checkboxes`.
    pub kind: &'static str,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autocomplete: Option<&'static str>,
    pub inputmode: Option<&'static str>,
    pub maxlength: Option<u32>,
    pub options: Vec<Option_>,
}

impl Field {
    pub fn new(
        name: impl Into<std::borrow::Cow<'static, str>>,
        label: String,
        kind: &'static str,
    ) -> Self {
        Self {
            name: name.into(),
            label,
            kind,
            ..Self::default()
        }
    }

    #[must_use]
    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = v.into();
        self
    }

    #[must_use]
    pub fn hint(mut self, h: String) -> Self {
        self.hint = Some(h);
        self
    }

    #[must_use]
    pub fn auto(mut self, a: &'static str) -> Self {
        self.autocomplete = Some(a);
        self
    }

    #[must_use]
    pub fn numeric(mut self, max: u32) -> Self {
        self.inputmode = Some("numeric");
        self.maxlength = Some(max);
        self
    }

    #[must_use]
    pub fn options(mut self, o: Vec<Option_>) -> Self {
        self.options = o;
        self
    }
}

/// A page holding one form.
#[derive(Debug, Clone, Default)]
pub struct FormPage {
    pub title: String,
    /// A line above the heading: where in a longer sequence this page is.
    pub caption: Option<String>,
    /// A "back" link to the previous page of a sequence.
    pub back: Option<String>,
    /// A second submit button (name, label), e.g. "save and come back later".
    pub secondary: Option<(&'static str, String)>,
    pub lead: Option<String>,
    pub notice: Option<String>,
    pub action: String,
    pub submit: String,
    pub multipart: bool,
    pub hidden: Vec<(&'static str, String)>,
    pub fields: Vec<Field>,
    pub general_error: Option<String>,
    pub links: Vec<(String, String)>,
    pub qr_svg: Option<String>,
    pub secret: Option<String>,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormTemplate {
    c: Chrome,
    page: FormPage,
}

impl FormPage {
    pub fn new(title: String, action: impl Into<String>, submit: String) -> Self {
        Self {
            title,
            action: action.into(),
            submit,
            ..Self::default()
        }
    }

    pub fn has_errors(&self) -> bool {
        self.general_error.is_some() || self.fields.iter().any(|f| f.error.is_some())
    }

    /// Puts a refusal beside its field (or at the top when it concerns no field shown).
    pub fn fail(&mut self, tr: Tr, r: &Refusal) {
        let message = message(tr, r);
        match r
            .field
            .and_then(|f| self.fields.iter_mut().find(|x| x.name == f))
        {
            Some(field) => field.error = Some(message),
            None => self.general_error = Some(message),
        }
    }

    pub fn show(self, c: Chrome, status: StatusCode) -> Response {
        let title = if self.has_errors() {
            // The tab title tells screen-reader users at once that the form needs attention.
            format!("{}: {}", c.tr.t("error-prefix"), self.title)
        } else {
            self.title.clone()
        };
        render(
            status,
            &FormTemplate {
                c: c.titled(&title),
                page: self,
            },
        )
    }

    /// Shows the form again with the error, or the error page when the error is not about
    /// the input (a database failure, a permission refused).
    pub fn or_error(mut self, c: Chrome, e: AppError) -> Response {
        match e {
            AppError::Refused(r) if r.field.is_some() || is_input_trouble(&r) => {
                self.fail(c.tr, &r);
                let status = status_of(r.kind);
                self.show(c, status)
            }
            other => app_error(c, other),
        }
    }
}

fn is_input_trouble(r: &Refusal) -> bool {
    use tongban_app::RefusalKind::*;
    match r.kind {
        Invalid | Conflict | TooMany | Unavailable => true,
        // A sign-in form answers wrong credentials on itself, so the person can try again.
        Unauthenticated => matches!(r.code, "bad_credentials" | "account_disabled"),
        Forbidden | NotFound => false,
    }
}

pub fn message(tr: Tr, r: &Refusal) -> String {
    tr.ta(&format!("err-{}", r.code), &r.args)
}

/// `303 See Other` to `to`, optionally setting cookies.
pub fn see_other(to: &str, cookies: Vec<axum::http::HeaderValue>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    for cookie in cookies {
        r.headers_mut().append(SET_COOKIE, cookie);
    }
    r
}
