//! Applying and following a case, GOV.UK style: the item's questions on one page, the
//! materials on the next, then "check your answers" with change links, then a confirmation
//! with the reference number; the case page with its timeline afterwards; the worklist for
//! staff. Everything works without JavaScript.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::Response;
use serde::Deserialize;
use tongban_app::cases::CaseView;
use tongban_app::{App, AppError, Principal};
use tongban_app::{CaseRecord, MaterialRecord};
use tongban_domain::catalog::FieldType;
use tongban_domain::process::{Action, SupplementItem};

use super::account::{SignedIn, StaffSignedIn};
use super::forms::{Field, FormPage, message, see_other};
use super::views::Option_;
use super::{Chrome, app_error, render};
use crate::download::{attachment, preview};
use crate::session::CSRF_FIELD;

#[derive(Debug, Deserialize, Default)]
pub struct ApplyForm {
    /// Whose application: empty for oneself, else a family member's (or, for agents and
    /// clerks, a resident's) id.
    #[serde(default, rename = "for")]
    for_person: String,
}

pub async fn start(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(code): Path<String>,
    Form(f): Form<ApplyForm>,
) -> Response {
    let for_person = Some(f.for_person.as_str()).filter(|s| !s.is_empty());
    match app.start_application(&p, &code, for_person).await {
        Ok(id) => see_other(&format!("/cases/{id}/answers"), Vec::new()),
        Err(e) => app_error(c, e),
    }
}

fn input_kind(t: FieldType) -> &'static str {
    match t {
        FieldType::Text | FieldType::IdNumber => "text",
        FieldType::Number => "text",
        FieldType::Date => "date",
        FieldType::Select => "select",
        FieldType::Textarea => "textarea",
        FieldType::Phone => "tel",
    }
}

async fn answers_form(
    app: &App,
    c: &Chrome,
    view: &CaseView,
    values: &BTreeMap<String, String>,
) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        view.item_name.clone(),
        format!("/cases/{}/answers", view.id),
        tr.t("apply-continue"),
    );
    page.lead = Some(tr.t("apply-answers-lead"));
    let Ok(catalog) = app.catalog().await else {
        return page;
    };
    let Some(item) = catalog.item(&view.item_code) else {
        return page;
    };
    page.fields = item
        .form_fields
        .iter()
        .map(|f| {
            let value = values.get(&f.key).cloned().unwrap_or_default();
            let label = if f.required {
                f.label.clone()
            } else {
                format!("{}{}", f.label, tr.t("apply-optional"))
            };
            let mut field =
                Field::new(f.key.clone(), label, input_kind(f.field_type)).value(value.clone());
            match f.field_type {
                FieldType::Select => {
                    let mut options =
                        vec![Option_::new("", tr.t("apply-choose"), value.is_empty())];
                    options.extend(
                        f.options
                            .iter()
                            .map(|o| Option_::new(o, o.clone(), *o == value)),
                    );
                    field = field.options(options);
                }
                FieldType::IdNumber => {
                    field = field.hint(tr.t("apply-id-hint"));
                    field.inputmode = Some("text");
                    field.maxlength = Some(18);
                }
                FieldType::Phone => {
                    field.inputmode = Some("tel");
                    field.autocomplete = Some("tel");
                }
                FieldType::Number => field.inputmode = Some("decimal"),
                _ => {}
            }
            field
        })
        .collect();
    page.secondary = Some(("_later", tr.t("apply-save-later")));
    page
}

/// Forms longer than this are asked a question at a time (GOV.UK "one thing per page"): a
/// long page is hard to follow on a small screen, and a dropped connection loses less.
pub const ONE_PAGE_MAX_FIELDS: usize = 5;

#[derive(Debug, Deserialize, Default)]
pub struct AnswersQuery {
    /// The question (1-based) of a form asked a question at a time.
    q: Option<usize>,
    /// `check` when the applicant came from "check your answers" to change one answer.
    #[serde(rename = "return")]
    back_to: Option<String>,
}

/// Where a change link takes the applicant for the question at `index`.
fn change_href(case_id: &str, index: usize, key: &str, total: usize) -> String {
    if total > ONE_PAGE_MAX_FIELDS {
        format!("/cases/{case_id}/answers?q={}&return=check", index + 1)
    } else {
        format!("/cases/{case_id}/answers#{key}")
    }
}

/// Narrows the whole form to question `q` (1-based) of a long form, with its place in the
/// sequence, the way back, and where to come back to.
fn one_question(page: &mut FormPage, tr: crate::i18n::Tr, case_id: &str, q: usize, to_check: bool) {
    let total = page.fields.len();
    let q = q.clamp(1, total.max(1));
    if total == 0 {
        return;
    }
    let field = page.fields.swap_remove(q - 1);
    page.fields = vec![field];
    page.caption = Some(tr.ta(
        "apply-question-of",
        &[("n", q.to_string()), ("total", total.to_string())],
    ));
    page.hidden.push(("_q", q.to_string()));
    if to_check {
        page.hidden.push(("_return", "check".into()));
        page.back = Some(format!("/cases/{case_id}"));
    } else if q > 1 {
        page.back = Some(format!("/cases/{case_id}/answers?q={}", q - 1));
    }
    if q == 1 {
        page.lead = Some(tr.t("apply-answers-lead"));
    } else {
        page.lead = None;
    }
}

pub async fn answers(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Query(query): Query<AnswersQuery>,
) -> Response {
    match app.case_view(&p, &id).await {
        Ok(view) => {
            let values = view.answers.clone();
            let mut page = answers_form(&app, &c, &view, &values).await;
            if page.fields.len() > ONE_PAGE_MAX_FIELDS {
                // Resume where the applicant left off: the first question not yet answered.
                let first_open = page
                    .fields
                    .iter()
                    .position(|f| f.value.is_empty())
                    .map_or(1, |i| i + 1);
                let to_check = query.back_to.as_deref() == Some("check");
                one_question(
                    &mut page,
                    c.tr,
                    &id,
                    query.q.unwrap_or(first_open),
                    to_check,
                );
            }
            page.show(c, StatusCode::OK)
        }
        Err(e) => app_error(c, e),
    }
}

pub async fn post_answers(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Form(raw): Form<BTreeMap<String, String>>,
) -> Response {
    let mut raw = raw;
    raw.remove(CSRF_FIELD);
    let later = raw.remove("_later").is_some();
    let question = raw.remove("_q").and_then(|q| q.parse::<usize>().ok());
    let to_check = raw.remove("_return").as_deref() == Some("check");
    let saved = match question {
        Some(_) if !later => app.save_page_answers(&p, &id, &raw).await,
        _ => app.save_answers(&p, &id, &raw, later).await,
    };
    match saved {
        Ok(Ok(_)) if later => see_other("/me/cases?saved=1", Vec::new()),
        Ok(Ok(_)) => {
            let next = match question {
                _ if to_check => format!("/cases/{id}"),
                Some(q) => match app.case_view(&p, &id).await {
                    Ok(view) => {
                        let total = app
                            .catalog()
                            .await
                            .ok()
                            .and_then(|k| k.item(&view.item_code).map(|i| i.form_fields.len()))
                            .unwrap_or(0);
                        if q < total {
                            format!("/cases/{id}/answers?q={}", q + 1)
                        } else {
                            format!("/cases/{id}/materials")
                        }
                    }
                    Err(e) => return app_error(c, e),
                },
                None => format!("/cases/{id}/materials"),
            };
            see_other(&next, Vec::new())
        }
        Ok(Err(problems)) => {
            let view = match app.case_view(&p, &id).await {
                Ok(v) => v,
                Err(e) => return app_error(c, e),
            };
            let mut values = view.answers.clone();
            values.extend(raw.iter().map(|(k, v)| (k.clone(), v.clone())));
            let mut page = answers_form(&app, &c, &view, &values).await;
            if let Some(q) = question {
                one_question(&mut page, c.tr, &id, q, to_check);
            }
            for pr in problems {
                let mut r = tongban_app::Refusal::new(tongban_app::RefusalKind::Invalid, pr.code);
                r.args = pr.args;
                let text = message(c.tr, &r);
                match page.fields.iter_mut().find(|f| f.name == pr.key) {
                    Some(f) => f.error = Some(text),
                    // A problem with an answer on another page (saving for later checks
                    // every answer given): name the question so it can be found.
                    None => page.general_error = Some(text),
                }
            }
            page.show(c, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => app_error(c, e),
    }
}

async fn materials_form(app: &App, c: &Chrome, p: &Principal, view: &CaseView) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("apply-materials-title"),
        format!("/cases/{}/materials?{CSRF_FIELD}={}", view.id, c.csrf),
        tr.t("apply-upload"),
    );
    page.multipart = true;
    page.lead = Some(tr.t("apply-materials-lead"));
    let files = app.case_materials(p, &view.id).await.unwrap_or_default();
    let mut options = Vec::new();
    if let Ok(catalog) = app.catalog().await
        && let Some(item) = catalog.item(&view.item_code)
    {
        for m in &item.materials {
            let done = files.iter().filter(|f| f.material == m.name).count();
            let label = match (m.required, done) {
                (_, n) if n > 0 => format!(
                    "{}（{}）",
                    m.name,
                    tr.ta("apply-files-uploaded", &[("count", n.to_string())])
                ),
                (true, _) => format!("{}（{}）", m.name, tr.t("guide-required")),
                (false, _) => format!("{}（{}）", m.name, tr.t("guide-conditional")),
            };
            let first_missing =
                m.required && done == 0 && options.iter().all(|o: &Option_| !o.selected);
            options.push(Option_::new(&m.name, label, first_missing));
        }
    }
    page.fields = vec![
        Field::new("material", tr.t("field-material"), "select").options(options),
        Field::new("file", tr.t("field-file"), "file").hint(tr.t("apply-file-hint")),
    ];
    for f in &files {
        page.links.push((
            format!("{} · {} · {}", f.material, f.file_name, size_text(f.size)),
            format!("/cases/{}/files/{}", view.id, f.id),
        ));
    }
    page.links
        .push((tr.t("apply-to-check"), format!("/cases/{}", view.id)));
    page
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / 1024.0 / 1024.0)
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

pub async fn materials(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.case_view(&p, &id).await {
        Ok(view) => materials_form(&app, &c, &p, &view)
            .await
            .show(c, StatusCode::OK),
        Err(e) => app_error(c, e),
    }
}

pub async fn post_material(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let form = match super::read_upload(&c, multipart, "file").await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let material = form.text("material").to_owned();
    match app
        .upload_material(&p, &id, &material, &form.file_name, form.file, false)
        .await
    {
        Ok(_) => see_other(&format!("/cases/{id}/materials?uploaded=1"), Vec::new()),
        Err(AppError::Refused(r)) if r.field.is_some() => match app.case_view(&p, &id).await {
            Ok(view) => {
                let mut page = materials_form(&app, &c, &p, &view).await;
                page.fail(c.tr, &r);
                page.show(c, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => app_error(c, e),
        },
        Err(e) => app_error(c, e),
    }
}

pub async fn file(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path((id, file_id)): Path<(String, String)>,
) -> Response {
    match app.material_file(&p, &id, &file_id).await {
        Ok((record, bytes)) => attachment(&record.media_type, &record.file_name, bytes),
        Err(e) => app_error(c, e),
    }
}

/// An image's preview: our own re-encoded JPEG, so it may be shown inline.
pub async fn thumbnail(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path((id, file_id)): Path<(String, String)>,
) -> Response {
    match app.material_thumbnail(&p, &id, &file_id).await {
        Ok(bytes) => preview(bytes),
        Err(e) => app_error(c, e),
    }
}

struct TimelineRow {
    when: String,
    what: String,
    who: String,
    note: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CaseTemplate {
    c: Chrome,
    v: CaseView,
    draft: bool,
    just_submitted: bool,
    stage_text: String,
    light: Option<(&'static str, String)>,
    due: Option<String>,
    answers: Vec<(String, String, String)>,
    files: Vec<MaterialRecord>,
    /// Ids of the files with a thumbnail.
    thumbs: Vec<String>,
    timeline: Vec<TimelineRow>,
    applicant_actions: Vec<(&'static str, String)>,
    staff_actions: Vec<(&'static str, String)>,
    consent_when: String,
    can_urge: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct CaseQuery {
    submitted: Option<String>,
}

fn note_of(detail: &serde_json::Value) -> String {
    ["reason", "note", "method", "legal_basis"]
        .iter()
        .filter_map(|k| detail[k].as_str())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

async fn case_page(
    app: &App,
    c: Chrome,
    p: &Principal,
    id: &str,
    just_submitted: bool,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let view = match app.case_view(p, id).await {
        Ok(v) => v,
        Err(e) => return app_error(c, e),
    };
    let tr = c.tr;
    let draft = view.reference.is_none();
    let catalog = app.catalog().await.ok();
    let item = catalog
        .as_ref()
        .and_then(|k| k.item(&view.item_code).cloned());
    let answers = item
        .as_ref()
        .map(|i| {
            let total = i.form_fields.len();
            i.form_fields
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    view.answers.get(&f.key).map(|v| {
                        (
                            f.label.clone(),
                            v.clone(),
                            change_href(&view.id, i, &f.key, total),
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let files = app.case_materials(p, id).await.unwrap_or_default();
    let thumbs = app.with_thumbnails(&files).await;
    let stage_text = if draft {
        tr.t("case-stage-draft")
    } else {
        tr.t(&format!("case-stage-{}", view.stage.as_str()))
    };
    let light = view.clock.as_ref().map(|k| {
        (
            k.light.as_str(),
            tr.t(&format!("light-{}", k.light.as_str())),
        )
    });
    let due = view
        .clock
        .as_ref()
        .map(|k| k.due_on)
        .or(view.intake_due)
        .map(|d| {
            let day = d.format("%Y-%m-%d").to_string();
            // Counted into a year whose holiday arrangement is not yet published.
            let provisional = catalog
                .as_ref()
                .is_some_and(|k| !k.calendar.is_published(chrono::Datelike::year(&d)));
            if provisional {
                format!("{day}{}", tr.t("case-due-provisional"))
            } else {
                day
            }
        });
    let timeline = view
        .timeline
        .iter()
        .map(|e| TimelineRow {
            when: super::staff::beijing_time(e.at_ms),
            what: tr.t(&format!("case-action-{}", e.action)),
            who: if e.by_system {
                tr.t("case-by-law")
            } else if e.by_applicant {
                tr.t("case-by-applicant")
            } else {
                e.unit.clone().unwrap_or_default()
            },
            note: note_of(&e.detail),
        })
        .collect();
    let label = |a: &&'static str| (*a, tr.t(&format!("case-do-{a}")));
    let applicant_actions = view
        .actions
        .iter()
        .filter(|a| matches!(**a, "supply" | "withdraw"))
        .map(label)
        .collect();
    let staff_actions = view
        .actions
        .iter()
        .filter(|a| !matches!(**a, "supply" | "withdraw"))
        .map(label)
        .collect();
    let title = view.reference.clone().map_or_else(
        || tr.t("case-check-title"),
        |r| format!("{} · {r}", view.item_name),
    );
    let consent_when = view
        .consent
        .as_ref()
        .map(|k| super::staff::beijing_time(k.recorded_at_ms))
        .unwrap_or_default();
    let can_urge = p.actor.has(tongban_domain::Role::Supervisor)
        && matches!(
            view.stage,
            tongban_domain::process::Stage::Submitted
                | tongban_domain::process::Stage::AtStep { .. }
        )
        && !draft;
    render(
        status,
        &CaseTemplate {
            c: c.titled(&title),
            consent_when,
            can_urge,
            v: view,
            draft,
            just_submitted,
            stage_text,
            light,
            due,
            answers,
            files,
            thumbs,
            timeline,
            applicant_actions,
            staff_actions,
            error,
        },
    )
}

pub async fn case(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Response {
    case_page(
        &app,
        c,
        &p,
        &id,
        q.submitted.is_some(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn submit(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.submit_application(&p, &id).await {
        Ok(_) => see_other(&format!("/cases/{id}?submitted=1"), Vec::new()),
        Err(AppError::Refused(r)) if r.kind == tongban_app::RefusalKind::Invalid => {
            let text = message(c.tr, &r);
            case_page(
                &app,
                c,
                &p,
                &id,
                false,
                Some(text),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct ActForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    method: String,
    /// One missing material a line: `material：problem` (or `material: problem`).
    #[serde(default)]
    items: String,
    #[serde(default)]
    note: String,
}

fn supplement_items(text: &str) -> Vec<SupplementItem> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (material, problem) = l.split_once(['：', ':']).unwrap_or((l, ""));
            SupplementItem {
                material: material.trim().to_owned(),
                problem: problem.trim().to_owned(),
            }
        })
        .collect()
}

pub async fn act(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    let action = match f.action.as_str() {
        "accept" => Action::Accept,
        "not_accept" => Action::NotAccept { reason: f.reason },
        "request_supplement" => Action::RequestSupplement {
            items: supplement_items(&f.items),
        },
        "supply" => Action::Supply,
        "pass" => Action::Pass { note: f.note },
        "send_back" => Action::SendBack { note: f.note },
        "approve" => Action::Approve,
        "deny" => Action::Deny {
            reason: f.reason,
            legal_basis: f.legal_basis,
        },
        "deliver" => Action::Deliver { method: f.method },
        "close" => Action::Close,
        "withdraw" => Action::Withdraw,
        _ => {
            return super::error_page(
                c.clone(),
                StatusCode::BAD_REQUEST,
                Some(c.tr.t("err-form_unreadable")),
            );
        }
    };
    let result = app
        .act_on_case(&p, &id, f.version, &action)
        .await
        .map(|_| ());
    after_change(&app, c, &p, &id, result).await
}

/// Back to the case after a change; a refusal the person can act on is shown on the case
/// page, anything else as an error page.
async fn after_change(
    app: &App,
    c: Chrome,
    p: &Principal,
    id: &str,
    result: Result<(), AppError>,
) -> Response {
    match result {
        Ok(()) => see_other(&format!("/cases/{id}"), Vec::new()),
        Err(AppError::Refused(r))
            if matches!(
                r.kind,
                tongban_app::RefusalKind::Invalid | tongban_app::RefusalKind::Conflict
            ) =>
        {
            let text = message(c.tr, &r);
            let status = crate::error::status_of(r.kind);
            case_page(app, c, p, id, false, Some(text), status).await
        }
        Err(e) => app_error(c, e),
    }
}

struct CaseRow {
    href: String,
    reference: String,
    item: String,
    stage: String,
    due: String,
    light: &'static str,
    unit: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesTemplate {
    c: Chrome,
    title: String,
    notice: Option<String>,
    rows: Vec<CaseRow>,
    empty: String,
    /// Whether the list spans several units (a head's or supervisor's).
    show_unit: bool,
}

fn light_of(c: &CaseRecord, today: &str) -> &'static str {
    match c.due_on.as_deref() {
        None => "none",
        Some(d) if d < today => "red",
        Some(_) => "open",
    }
}

async fn case_rows(app: &App, c: &Chrome, cases: Vec<CaseRecord>) -> Vec<CaseRow> {
    let catalog = app.catalog().await.ok();
    let today = super::staff::beijing_time(app.now_ms())
        .chars()
        .take(10)
        .collect::<String>();
    cases
        .into_iter()
        .map(|k| CaseRow {
            href: if k.stage == "draft" {
                format!("/cases/{}/answers", k.id)
            } else {
                format!("/cases/{}", k.id)
            },
            reference: k
                .reference
                .as_deref()
                .and_then(|r| tongban_domain::reference::CaseRef::parse(r).ok())
                .map_or_else(|| c.tr.t("case-stage-draft"), |r| r.to_string()),
            item: catalog
                .as_ref()
                .and_then(|x| x.item(&k.item_code).map(|i| i.name.clone()))
                .unwrap_or_else(|| k.item_code.clone()),
            stage: c.tr.t(&format!(
                "case-stage-{}",
                if k.stage == "in_progress" {
                    "in_progress"
                } else {
                    k.stage.as_str()
                }
            )),
            due: k.due_on.clone().unwrap_or_default(),
            light: light_of(&k, &today),
            unit: catalog
                .as_ref()
                .map(|x| x.unit_name(&k.unit_code).to_owned())
                .unwrap_or_else(|| k.unit_code.clone()),
        })
        .collect()
}

#[derive(Debug, Deserialize, Default)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn my_cases(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Query(q): Query<SavedQuery>,
) -> Response {
    match app.my_cases(&p).await {
        Ok(cases) => {
            let rows = case_rows(&app, &c, cases).await;
            let title = c.tr.t("my-cases-title");
            let notice = q.saved.map(|_| c.tr.t("apply-saved"));
            let empty = c.tr.t("my-cases-none");
            render(
                StatusCode::OK,
                &CasesTemplate {
                    c: c.titled(&title),
                    notice,
                    title,
                    rows,
                    empty,
                    show_unit: false,
                },
            )
        }
        Err(e) => app_error(c, e),
    }
}

/// The worklist shows this many cases, most urgent first.
const WORKLIST_ROWS: i64 = 200;

pub async fn worklist(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
) -> Response {
    match app.worklist(&p, WORKLIST_ROWS).await {
        Ok(cases) => {
            let total = if cases.len() as i64 == WORKLIST_ROWS {
                app.worklist_count(&p).await.unwrap_or(WORKLIST_ROWS)
            } else {
                cases.len() as i64
            };
            let notice = (total > WORKLIST_ROWS).then(|| {
                c.tr.ta(
                    "worklist-shortened",
                    &[
                        ("shown", WORKLIST_ROWS.to_string()),
                        ("total", total.to_string()),
                    ],
                )
            });
            let show_unit = cases.iter().any(|k| k.unit_code != cases[0].unit_code);
            let rows = case_rows(&app, &c, cases).await;
            let title = c.tr.t("worklist-title");
            let empty = c.tr.t("worklist-none");
            render(
                StatusCode::OK,
                &CasesTemplate {
                    c: c.titled(&title),
                    notice,
                    title,
                    rows,
                    empty,
                    show_unit,
                },
            )
        }
        Err(e) => app_error(c, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplement_lines_split_at_a_colon_of_either_width() {
        let items = supplement_items("经营者居民身份证：照片模糊\n\n场所证明: 未上传\n只有名称");
        assert_eq!(items.len(), 3);
        assert_eq!(
            (items[0].material.as_str(), items[0].problem.as_str()),
            ("经营者居民身份证", "照片模糊")
        );
        assert_eq!(items[1].problem, "未上传");
        assert_eq!(
            items[2].problem, "",
            "the domain refuses a line without its problem"
        );
    }
}

fn track_form(c: &Chrome, reference: &str, phone: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(tr.t("track-title"), "/track", tr.t("track-submit"));
    page.lead = Some(tr.t("track-lead"));
    let mut reference_field = Field::new("reference", tr.t("case-reference"), "text")
        .value(reference)
        .hint(tr.t("track-reference-hint"));
    reference_field.maxlength = Some(16);
    reference_field.autocomplete = Some("off");
    let mut phone_field = Field::new("phone", tr.t("track-phone"), "tel")
        .value(phone)
        .auto("tel");
    phone_field.inputmode = Some("tel");
    page.fields = vec![reference_field, phone_field];
    page
}

pub async fn track(c: Chrome) -> Response {
    track_form(&c, "", "").show(c, StatusCode::OK)
}

#[derive(Debug, Deserialize, Default)]
pub struct TrackForm {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    phone: String,
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackTemplate {
    c: Chrome,
    t: tongban_app::track::TrackView,
    stage_text: String,
    light: Option<(&'static str, String)>,
    steps: Vec<(String, String)>,
}

pub async fn post_track(
    State(app): State<App>,
    c: Chrome,
    axum::Extension(facts): axum::Extension<crate::session::RequestFacts>,
    Form(f): Form<TrackForm>,
) -> Response {
    match app.track_case(&f.reference, &f.phone, &facts.ip).await {
        Ok(t) => {
            let tr = c.tr;
            let stage_text = tr.t(&format!("case-stage-{}", t.stage));
            let light = t
                .light
                .map(|l| (l.as_str(), tr.t(&format!("light-{}", l.as_str()))));
            let steps = t
                .steps
                .iter()
                .map(|(at, action)| {
                    (
                        super::staff::beijing_time(*at),
                        tr.t(&format!("case-action-{action}")),
                    )
                })
                .collect();
            let title = format!("{} · {}", tr.t("track-title"), t.reference);
            let mut r = render(
                StatusCode::OK,
                &TrackTemplate {
                    c: c.titled(&title),
                    t,
                    stage_text,
                    light,
                    steps,
                },
            );
            r.headers_mut().insert(
                CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => track_form(&c, &f.reference, &f.phone).or_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct UrgeForm {
    #[serde(default)]
    note: String,
}

pub async fn urge(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Path(id): Path<String>,
    Form(f): Form<UrgeForm>,
) -> Response {
    let result = app.urge_case(&p, &id, &f.note).await;
    after_change(&app, c, &p, &id, result).await
}
