//! Staff pages: password sign-in with the authenticator step, the staff start page, a person
//! with masked numbers and audited reveals, the audit trail, staff accounts, village agents,
//! agents' consent records and personal access tokens.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tongban_app::agents::ConsentEvidence;
use tongban_app::people::{NewStaff, PersonView, PersonalField, StaffChange};
use tongban_app::{App, AppError, AuditFilter, NextStep, Principal};
use tongban_domain::access::{self, Scope};
use tongban_domain::{Role, UnitKind};

use super::account::{SignedIn, StaffSignedIn};
use super::forms::{Field, FormPage, see_other};
use super::views::Option_;
use super::{Chrome, app_error, render};
use crate::session::{RequestFacts, SESSION_COOKIE, Visitor, set_cookie};

#[derive(Debug, Deserialize, Default)]
pub struct StaffSignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    back: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct BackQuery {
    back: Option<String>,
    expired: Option<String>,
}

fn staff_sign_in_form(c: &Chrome, username: &str, back: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("staff-sign-in-title"),
        "/staff/sign-in",
        tr.t("sign-in-submit"),
    );
    page.hidden.push(("back", back.to_owned()));
    page.fields = vec![
        Field::new("username", tr.t("field-username"), "text")
            .value(username)
            .auto("username"),
        Field::new("password", tr.t("field-password"), "password").auto("current-password"),
    ];
    page.links
        .push((tr.t("resident-sign-in-link"), "/sign-in".into()));
    page
}

pub async fn sign_in(c: Chrome, Query(q): Query<BackQuery>) -> Response {
    let back = crate::prefs::safe_back(q.back.as_deref()).to_owned();
    let mut page = staff_sign_in_form(&c, "", &back);
    if q.expired.is_some() {
        page.notice = Some(c.tr.t("session-expired"));
    }
    page.show(c, StatusCode::OK)
}

pub async fn post_sign_in(
    State(app): State<App>,
    c: Chrome,
    Extension(facts): Extension<RequestFacts>,
    Form(f): Form<StaffSignInForm>,
) -> Response {
    let back = crate::prefs::safe_back(f.back.as_deref()).to_owned();
    match app
        .sign_in_staff(&f.username, &f.password, facts.session_token.as_deref())
        .await
    {
        Ok((session, next)) => {
            let cookie = vec![set_cookie(&app, SESSION_COOKIE, &session.token, None)];
            match next {
                NextStep::Done => see_other(if back == "/" { "/staff" } else { &back }, cookie),
                NextStep::Totp | NextStep::EnrolTotp => see_other("/staff/second-factor", cookie),
            }
        }
        Err(e) => staff_sign_in_form(&c, &f.username, &back).or_error(c, e),
    }
}

async fn second_factor_form(
    app: &App,
    c: &Chrome,
    facts: &RequestFacts,
    enrolled: bool,
) -> Result<FormPage, AppError> {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t(if enrolled {
            "totp-title"
        } else {
            "totp-enrol-title"
        }),
        "/staff/second-factor",
        tr.t("totp-submit"),
    );
    if enrolled {
        page.lead = Some(tr.t("totp-lead"));
    } else {
        let enrolment = app
            .totp_enrolment(facts.session_token.as_deref().unwrap_or_default())
            .await?;
        page.lead = Some(tr.t("totp-enrol-lead"));
        page.qr_svg = Some(enrolment.qr_svg);
        page.secret = Some(enrolment.secret_base32);
    }
    page.fields.push(
        Field::new("code", tr.t("field-totp"), "text")
            .auto("one-time-code")
            .numeric(6),
    );
    Ok(page)
}

pub async fn second_factor(
    State(app): State<App>,
    c: Chrome,
    Extension(v): Extension<Visitor>,
    Extension(facts): Extension<RequestFacts>,
) -> Response {
    match v {
        Visitor::SecondFactor { enrolled } => {
            match second_factor_form(&app, &c, &facts, enrolled).await {
                Ok(page) => page.show(c, StatusCode::OK),
                Err(e) => app_error(c, e),
            }
        }
        Visitor::Signed(_) => see_other("/staff", Vec::new()),
        Visitor::Anonymous => see_other("/staff/sign-in?expired=1", Vec::new()),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct CodeOnly {
    #[serde(default)]
    code: String,
}

pub async fn post_second_factor(
    State(app): State<App>,
    c: Chrome,
    Extension(v): Extension<Visitor>,
    Extension(facts): Extension<RequestFacts>,
    Form(f): Form<CodeOnly>,
) -> Response {
    let Visitor::SecondFactor { enrolled } = v else {
        return see_other("/staff/sign-in?expired=1", Vec::new());
    };
    let token = facts.session_token.clone().unwrap_or_default();
    match app.verify_second_factor(&token, &f.code).await {
        Ok(s) => see_other(
            "/staff",
            vec![set_cookie(&app, SESSION_COOKIE, &s.token, None)],
        ),
        Err(e) => match second_factor_form(&app, &c, &facts, enrolled).await {
            Ok(page) => page.or_error(c, e),
            Err(e2) => app_error(c, e2),
        },
    }
}

#[derive(Template)]
#[template(path = "staff_home.html")]
struct StaffHome {
    c: Chrome,
    name: String,
    unit: String,
    roles: String,
    links: Vec<(String, String)>,
    find: FormPage,
}

fn role_names(c: &Chrome, roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| c.tr.t(&format!("role-{}", r.as_str())))
        .collect::<Vec<_>>()
        .join("、")
}

fn find_form(c: &Chrome, number: &str) -> FormPage {
    let mut page = FormPage::new(
        c.tr.t("find-person-title"),
        "/staff/people",
        c.tr.t("find-person-submit"),
    );
    page.fields.push(
        Field::new("number", c.tr.t("field-number"), "text")
            .value(number)
            .hint(c.tr.t("field-number-hint")),
    );
    page
}

pub async fn home(State(app): State<App>, c: Chrome, StaffSignedIn(p): StaffSignedIn) -> Response {
    let a = &p.actor;
    if !a.is_staff() {
        if a.has(Role::VillageAgent) {
            return see_other("/agent", Vec::new());
        }
        return see_other("/me", Vec::new());
    }
    let tr = c.tr;
    let mut links = vec![(tr.t("worklist-title"), "/staff/worklist".to_owned())];
    if access::may_audit(a) {
        links.push((tr.t("audit-title"), "/staff/audit".to_owned()));
    }
    if access::may_administer(a) {
        links.push((tr.t("admin-staff-title"), "/admin/staff".to_owned()));
        links.push((tr.t("dead-letters-title"), "/admin/outbox".to_owned()));
        links.push((tr.t("calendar-title"), "/admin/calendar".to_owned()));
    }
    if a.has(Role::Administrator) || a.has(Role::WindowClerk) || a.has(Role::DepartmentHead) {
        links.push((tr.t("agents-title"), "/staff/agents".to_owned()));
    }
    links.push((tr.t("tokens-title"), "/me/tokens".to_owned()));
    let unit = match app.catalog().await {
        Ok(cat) => a
            .unit
            .as_ref()
            .map(|u| cat.unit_name(u.as_str()).to_owned())
            .unwrap_or_default(),
        Err(e) => return app_error(c, e),
    };
    let page = StaffHome {
        name: p.name.clone(),
        unit,
        roles: role_names(&c, &a.roles),
        links,
        find: find_form(&c, ""),
        c: c.titled(&tr.t("staff-home-title")),
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize, Default)]
pub struct FindQuery {
    #[serde(default)]
    number: String,
}

pub async fn find_person(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Query(q): Query<FindQuery>,
) -> Response {
    match app.find_person(&p.actor, &q.number).await {
        Ok(person) => see_other(&format!("/staff/people/{}", person.id), Vec::new()),
        Err(e) => find_form(&c, &q.number).or_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    c: Chrome,
    person: PersonView,
    notice: Option<String>,
    revealed_phone: Option<String>,
    revealed_id: Option<String>,
}

pub async fn person(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.person(&p.actor, &id).await {
        Ok(person) => {
            let title = person.name.clone();
            render(
                StatusCode::OK,
                &PersonPage {
                    c: c.titled(&title),
                    person,
                    notice: None,
                    revealed_phone: None,
                    revealed_id: None,
                },
            )
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct RevealForm {
    #[serde(default)]
    field: String,
}

pub async fn reveal(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Path(id): Path<String>,
    Form(f): Form<RevealForm>,
) -> Response {
    let Some(field) = PersonalField::parse(&f.field) else {
        return super::error_page(
            c.clone(),
            StatusCode::BAD_REQUEST,
            Some(c.tr.t("err-field_invalid")),
        );
    };
    let value = match app.reveal(&p.actor, &id, field).await {
        Ok(v) => v,
        Err(e) => return app_error(c, e),
    };
    match app.person(&p.actor, &id).await {
        Ok(person) => {
            let mut r = render(
                StatusCode::OK,
                &PersonPage {
                    notice: Some(c.tr.t("reveal-logged")),
                    revealed_phone: (field == PersonalField::Phone).then(|| value.clone()),
                    revealed_id: (field == PersonalField::IdNumber).then_some(value),
                    c: c.titled(&person.name),
                    person,
                },
            );
            r.headers_mut().insert(
                CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
}

pub struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    unit: String,
    action: String,
    object: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    actor: String,
    action: String,
    object: String,
    since: String,
    until: String,
    rows: Vec<AuditRow>,
    error: Option<String>,
    next: Option<String>,
}

/// Midnight in Beijing of a `YYYY-MM-DD` date, in milliseconds.
pub fn beijing_day_start(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - 8 * 3600 * 1000)
}

pub fn beijing_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3600 * 1000)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

const AUDIT_PAGE: i64 = 50;

pub fn audit_filter(q: &AuditQuery) -> Result<AuditFilter, &'static str> {
    let date = |s: &str| -> Result<Option<i64>, &'static str> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            beijing_day_start(s).map(Some).ok_or("date_invalid")
        }
    };
    let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    Ok(AuditFilter {
        actor: text(&q.actor),
        action_prefix: text(&q.action),
        object: text(&q.object),
        since_ms: date(&q.since)?,
        until_ms: date(&q.until)?.map(|t| t + 24 * 3600 * 1000),
        before_seq: q.before,
    })
}

pub async fn audit(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Query(q): Query<AuditQuery>,
) -> Response {
    let (filter, error) = match audit_filter(&q) {
        Ok(f) => (f, None),
        Err(code) => (AuditFilter::default(), Some(c.tr.t(&format!("err-{code}")))),
    };
    let entries = match app.audit_log(&p.actor, &filter, AUDIT_PAGE).await {
        Ok(e) => e,
        Err(e) => return app_error(c, e),
    };
    let next = (entries.len() as i64 == AUDIT_PAGE)
        .then(|| entries.last().map(|e| e.record.seq))
        .flatten()
        .map(|seq| {
            let pairs = [
                ("actor", q.actor.as_str()),
                ("action", q.action.as_str()),
                ("object", q.object.as_str()),
                ("since", q.since.as_str()),
                ("until", q.until.as_str()),
            ];
            format!(
                "/staff/audit?{}&before={seq}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        });
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            seq: e.record.seq,
            at: beijing_time(e.record.entry.at_ms),
            actor: e.record.entry.actor,
            unit: e.record.entry.unit,
            action: e.record.entry.action,
            object: e.record.entry.object,
            detail: e.record.entry.detail,
        })
        .collect();
    let title = c.tr.t("audit-title");
    render(
        StatusCode::OK,
        &AuditPage {
            c: c.titled(&title),
            actor: q.actor,
            action: q.action,
            object: q.object,
            since: q.since,
            until: q.until,
            rows,
            error,
            next,
        },
    )
}

pub struct Row {
    cells: Vec<String>,
    /// (label, target, is a POST form)
    actions: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "list_form.html")]
struct ListPage {
    c: Chrome,
    title: String,
    notice: Option<String>,
    secret: Option<String>,
    headers: Vec<String>,
    rows: Vec<Row>,
    empty: String,
    form: Option<FormPage>,
    form2: Option<FormPage>,
}

impl ListPage {
    fn new(c: Chrome, title: String) -> Self {
        Self {
            c: c.titled(&title),
            title,
            notice: None,
            secret: None,
            headers: Vec::new(),
            rows: Vec::new(),
            empty: String::new(),
            form: None,
            form2: None,
        }
    }
}

async fn unit_options(app: &App, c: &Chrome, selected: &str) -> Vec<Option_> {
    let mut out = Vec::new();
    if let Ok(cat) = app.catalog().await {
        for u in cat.units.iter().filter(|u| u.kind != UnitKind::Village) {
            out.push(Option_::new(
                u.code.as_str(),
                c.unit_name(u),
                u.code.as_str() == selected,
            ));
        }
    }
    out
}

fn role_options(c: &Chrome, selected: &[String]) -> Vec<Option_> {
    Role::ALL
        .iter()
        .filter(|r| r.is_staff())
        .map(|r| {
            Option_::new(
                r.as_str(),
                c.tr.t(&format!("role-{}", r.as_str())),
                selected.iter().any(|s| s == r.as_str()),
            )
        })
        .collect()
}

async fn new_staff_form(app: &App, c: &Chrome, f: &NewStaff) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("staff-create-title"),
        "/admin/staff",
        tr.t("staff-create-submit"),
    );
    page.fields = vec![
        Field::new("username", tr.t("field-username"), "text")
            .value(f.username.clone())
            .hint(tr.t("field-username-hint"))
            .auto("off"),
        Field::new("name", tr.t("field-name"), "text").value(f.name.clone()),
        Field::new("unit", tr.t("field-unit"), "select")
            .options(unit_options(app, c, &f.unit).await),
        Field::new("roles", tr.t("field-roles"), "checkboxes").options(role_options(c, &f.roles)),
        Field::new("password", tr.t("field-initial-password"), "password")
            .hint(tr.t("field-password-hint"))
            .auto("new-password"),
    ];
    page
}

async fn staff_list(
    app: &App,
    c: Chrome,
    p: &Principal,
    form: Option<FormPage>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let accounts = match app.staff_accounts(&p.actor).await {
        Ok(a) => a,
        Err(e) => return app_error(c, e),
    };
    let tr = c.tr;
    let form = match form {
        Some(f) => f,
        None => new_staff_form(app, &c, &NewStaff::default()).await,
    };
    let cat = app.catalog().await.ok();
    let mut page = ListPage::new(c.clone(), tr.t("admin-staff-title"));
    page.notice = notice;
    page.headers = vec![
        tr.t("field-username"),
        tr.t("field-name"),
        tr.t("field-unit"),
        tr.t("field-roles"),
        tr.t("staff-state"),
    ];
    page.rows = accounts
        .into_iter()
        .map(|a| {
            let mut state = Vec::new();
            if a.disabled {
                state.push(tr.t("staff-disabled"));
            }
            if a.locked {
                state.push(tr.t("staff-locked"));
            }
            if a.totp {
                state.push(tr.t("staff-totp"));
            }
            Row {
                cells: vec![
                    a.username.clone(),
                    a.name.clone(),
                    a.unit
                        .as_deref()
                        .map(|u| {
                            cat.as_ref()
                                .map(|k| k.unit_name(u).to_owned())
                                .unwrap_or_default()
                        })
                        .unwrap_or_default(),
                    role_names(&c, &a.roles),
                    state.join("、"),
                ],
                actions: vec![(tr.t("staff-edit"), format!("/admin/staff/{}", a.id), false)],
            }
        })
        .collect();
    page.empty = tr.t("staff-none");
    page.form = Some(form);
    render(status, &page)
}

pub async fn admin_staff(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
) -> Response {
    staff_list(&app, c, &p, None, None, StatusCode::OK).await
}

/// A form body where a field may repeat (checkboxes).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn one(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

pub async fn post_admin_staff(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    body: axum::body::Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    let new = NewStaff {
        username: one(&pairs, "username"),
        name: one(&pairs, "name"),
        unit: one(&pairs, "unit"),
        roles: all(&pairs, "roles"),
        password: one(&pairs, "password"),
    };
    match app.create_staff(&p.actor, &new).await {
        Ok(_) => see_other("/admin/staff?done=created", Vec::new()),
        Err(AppError::Refused(r))
            if r.field.is_some() || r.kind == tongban_app::RefusalKind::Conflict =>
        {
            let mut form = new_staff_form(
                &app,
                &c,
                &NewStaff {
                    password: String::new(),
                    ..new
                },
            )
            .await;
            form.fail(c.tr, &r);
            staff_list(
                &app,
                c,
                &p,
                Some(form),
                None,
                crate::error::status_of(r.kind),
            )
            .await
        }
        Err(e) => app_error(c, e),
    }
}

async fn change_form(
    app: &App,
    c: &Chrome,
    id: &str,
    unit: &str,
    roles: &[String],
    disabled: bool,
) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("staff-edit-title"),
        format!("/admin/staff/{id}"),
        tr.t("staff-save"),
    );
    page.fields = vec![
        Field::new("unit", tr.t("field-unit"), "select").options(unit_options(app, c, unit).await),
        Field::new("roles", tr.t("field-roles"), "checkboxes").options(role_options(c, roles)),
        Field::new("state", tr.t("staff-state"), "checkboxes").options(vec![
            Option_::new("disabled", tr.t("staff-disabled"), disabled),
            Option_::new("reset_totp", tr.t("staff-reset-totp"), false),
        ]),
        Field::new("password", tr.t("field-new-password"), "password")
            .hint(tr.t("field-new-password-hint"))
            .auto("new-password"),
    ];
    page.links
        .push((tr.t("back-to-staff"), "/admin/staff".into()));
    page
}

pub async fn admin_staff_member(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Path(id): Path<String>,
) -> Response {
    let accounts = match app.staff_accounts(&p.actor).await {
        Ok(a) => a,
        Err(e) => return app_error(c, e),
    };
    let Some(a) = accounts.into_iter().find(|a| a.id == id) else {
        return super::error_page(c, StatusCode::NOT_FOUND, None);
    };
    let roles: Vec<String> = a.roles.iter().map(|r| r.as_str().to_owned()).collect();
    let mut page = change_form(
        &app,
        &c,
        &id,
        a.unit.as_deref().unwrap_or(""),
        &roles,
        a.disabled,
    )
    .await;
    page.title = format!(
        "{} · {} ({})",
        c.tr.t("staff-edit-title"),
        a.name,
        a.username
    );
    page.show(c, StatusCode::OK)
}

pub async fn post_admin_staff_member(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    let state = all(&pairs, "state");
    let password = one(&pairs, "password");
    let change = StaffChange {
        unit: Some(one(&pairs, "unit")),
        roles: Some(all(&pairs, "roles")),
        disabled: Some(state.iter().any(|s| s == "disabled")),
        password: (!password.is_empty()).then_some(password),
        reset_totp: state.iter().any(|s| s == "reset_totp"),
    };
    match app.change_staff(&p.actor, &id, &change).await {
        Ok(()) => see_other("/admin/staff?done=saved", Vec::new()),
        Err(e) => {
            let page = change_form(
                &app,
                &c,
                &id,
                change.unit.as_deref().unwrap_or(""),
                change.roles.as_deref().unwrap_or(&[]),
                change.disabled.unwrap_or(false),
            )
            .await;
            page.or_error(c, e)
        }
    }
}

async fn agent_form(
    app: &App,
    c: &Chrome,
    p: &Principal,
    phone: &str,
    name: &str,
    village: &str,
) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("agent-register-title"),
        "/staff/agents",
        tr.t("agent-register-submit"),
    );
    let mut options = Vec::new();
    if let Ok(cat) = app.catalog().await {
        for d in cat
            .divisions
            .iter()
            .filter(|d| d.level == tongban_domain::DivisionLevel::Village)
        {
            if access::may_register_agents(&p.actor, &d.code) {
                options.push(Option_::new(
                    d.code.as_str(),
                    d.name.clone(),
                    d.code.as_str() == village,
                ));
            }
        }
    }
    page.fields = vec![
        Field::new("phone", tr.t("field-phone"), "tel")
            .value(phone)
            .numeric(20),
        Field::new("name", tr.t("field-name"), "text").value(name),
        Field::new("village", tr.t("field-village"), "select").options(options),
    ];
    page
}

async fn agents_list(
    app: &App,
    c: Chrome,
    p: &Principal,
    form: Option<FormPage>,
    status: StatusCode,
) -> Response {
    let agents = match app.agents(&p.actor).await {
        Ok(a) => a,
        Err(e) => return app_error(c, e),
    };
    let tr = c.tr;
    let form = match form {
        Some(f) => f,
        None => agent_form(app, &c, p, "", "", "").await,
    };
    let mut page = ListPage::new(c.clone(), tr.t("agents-title"));
    page.headers = vec![
        tr.t("field-name"),
        tr.t("field-phone"),
        tr.t("field-village"),
    ];
    page.rows = agents
        .into_iter()
        .map(|a| Row {
            cells: vec![a.name, a.phone_masked, a.village],
            actions: Vec::new(),
        })
        .collect();
    page.empty = tr.t("agents-none");
    if !form.fields.get(2).is_some_and(|f| f.options.is_empty()) {
        page.form = Some(form);
    }
    render(status, &page)
}

pub async fn agents(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
) -> Response {
    agents_list(&app, c, &p, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Default)]
pub struct AgentForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    village: String,
}

pub async fn post_agent(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Form(f): Form<AgentForm>,
) -> Response {
    match app
        .register_agent(&p.actor, &f.phone, &f.name, &f.village)
        .await
    {
        Ok(_) => see_other("/staff/agents", Vec::new()),
        Err(AppError::Refused(r)) if r.field.is_some() => {
            let mut form = agent_form(&app, &c, &p, &f.phone, &f.name, &f.village).await;
            form.fail(c.tr, &r);
            agents_list(&app, c, &p, Some(form), crate::error::status_of(r.kind)).await
        }
        Err(e) => app_error(c, e),
    }
}

fn consent_code_form(c: &Chrome, phone: &str, item: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("consent-code-title"),
        "/agent/consent-code",
        tr.t("consent-code-submit"),
    );
    page.lead = Some(tr.t("consent-code-lead"));
    page.fields = vec![
        Field::new("phone", tr.t("field-resident-phone"), "tel")
            .value(phone)
            .numeric(20),
        Field::new("item", tr.t("field-item"), "text")
            .value(item)
            .hint(tr.t("field-item-hint")),
    ];
    page
}

fn consent_form(c: &Chrome, phone: &str, item: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("consent-record-title"),
        format!("/agent/consents?_csrf={}", c.csrf),
        tr.t("consent-record-submit"),
    );
    page.multipart = true;
    page.lead = Some(tr.t("consent-record-lead"));
    page.fields = vec![
        Field::new("phone", tr.t("field-resident-phone"), "tel")
            .value(phone)
            .numeric(20),
        Field::new("item", tr.t("field-item"), "text").value(item),
        Field::new("method", tr.t("field-consent-method"), "select").options(vec![
            Option_::new("sms_code", tr.t("consent-method-sms_code"), true),
            Option_::new("paper_scan", tr.t("consent-method-paper_scan"), false),
        ]),
        Field::new("code", tr.t("field-code"), "text")
            .numeric(6)
            .hint(tr.t("field-consent-code-hint")),
        Field::new("scan", tr.t("field-scan"), "file").hint(tr.t("field-scan-hint")),
    ];
    page
}

async fn agent_page(
    app: &App,
    c: Chrome,
    p: &Principal,
    code_form: FormPage,
    record_form: FormPage,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let consents = match app.consents(&p.actor, true).await {
        Ok(v) => v,
        Err(e) => return app_error(c, e),
    };
    let tr = c.tr;
    let mut page = ListPage::new(c.clone(), tr.t("agent-title"));
    page.notice = notice;
    page.headers = vec![
        tr.t("consent-resident"),
        tr.t("field-item"),
        tr.t("field-consent-method"),
        tr.t("consent-when"),
    ];
    page.rows = consents
        .into_iter()
        .map(|k| Row {
            cells: vec![
                k.resident_name,
                k.item_name,
                format!(
                    "{}{}",
                    tr.t(&format!("consent-method-{}", k.method)),
                    if k.revoked {
                        format!(" · {}", tr.t("consent-revoked"))
                    } else {
                        String::new()
                    }
                ),
                beijing_time(k.recorded_at),
            ],
            actions: k
                .file_id
                .map(|_| {
                    vec![(
                        tr.t("consent-scan"),
                        format!("/consents/{}/scan", k.id),
                        false,
                    )]
                })
                .unwrap_or_default(),
        })
        .collect();
    page.empty = tr.t("consents-none");
    page.form = Some(code_form);
    page.form2 = Some(record_form);
    render(status, &page)
}

pub async fn agent_home(State(app): State<App>, c: Chrome, SignedIn(p): SignedIn) -> Response {
    if !p.actor.has(Role::VillageAgent) {
        return super::error_page(c, StatusCode::FORBIDDEN, None);
    }
    let (a, b) = (consent_code_form(&c, "", ""), consent_form(&c, "", ""));
    agent_page(&app, c, &p, a, b, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Default)]
pub struct ConsentCodeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    item: String,
}

pub async fn post_consent_code(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Extension(facts): Extension<RequestFacts>,
    Form(f): Form<ConsentCodeForm>,
) -> Response {
    match app
        .send_consent_code(&p.actor, &f.phone, &f.item, &facts.ip)
        .await
    {
        Ok(()) => {
            let (a, b) = (
                consent_code_form(&c, &f.phone, &f.item),
                consent_form(&c, &f.phone, &f.item),
            );
            let notice = Some(c.tr.t("consent-code-sent"));
            agent_page(&app, c, &p, a, b, notice, StatusCode::OK).await
        }
        Err(AppError::Refused(r)) if r.kind != tongban_app::RefusalKind::Forbidden => {
            let mut a = consent_code_form(&c, &f.phone, &f.item);
            a.fail(c.tr, &r);
            let b = consent_form(&c, &f.phone, &f.item);
            agent_page(&app, c, &p, a, b, None, crate::error::status_of(r.kind)).await
        }
        Err(e) => app_error(c, e),
    }
}

pub async fn post_consent(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    multipart: Multipart,
) -> Response {
    let form = match crate::upload_form::read_upload_form(multipart, "scan").await {
        Ok(form) => form,
        Err(e) => return super::upload_form_error(c, e, tongban_app::agents::MAX_SCAN_BYTES),
    };
    let (phone, item, method, code) = (
        form.text("phone").to_owned(),
        form.text("item").to_owned(),
        form.text("method"),
        form.text("code").to_owned(),
    );
    let evidence = match method {
        "paper_scan" => ConsentEvidence::PaperScan { bytes: form.file },
        _ => ConsentEvidence::SmsCode { code },
    };
    match app.record_consent(&p.actor, &phone, &item, evidence).await {
        Ok(_) => {
            let (a, b) = (consent_code_form(&c, "", ""), consent_form(&c, "", ""));
            let notice = Some(c.tr.t("consent-recorded"));
            agent_page(&app, c, &p, a, b, notice, StatusCode::OK).await
        }
        Err(AppError::Refused(r)) if r.kind != tongban_app::RefusalKind::Forbidden => {
            let a = consent_code_form(&c, &phone, &item);
            let mut b = consent_form(&c, &phone, &item);
            b.fail(c.tr, &r);
            agent_page(&app, c, &p, a, b, None, crate::error::status_of(r.kind)).await
        }
        Err(e) => app_error(c, e),
    }
}

pub async fn consent_scan(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.consent_scan(&p.actor, &id).await {
        Ok(f) => (
            [
                (CONTENT_TYPE, f.media_type),
                (CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            f.bytes,
        )
            .into_response(),
        Err(e) => app_error(c, e),
    }
}

fn token_form(c: &Chrome, name: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("token-create-title"),
        "/me/tokens",
        tr.t("token-create-submit"),
    );
    page.fields = vec![
        Field::new("name", tr.t("field-token-name"), "text").value(name),
        Field::new("scopes", tr.t("field-scopes"), "checkboxes").options(
            Scope::ALL
                .iter()
                .map(|s| {
                    Option_::new(
                        s.as_str(),
                        format!(
                            "{} ({})",
                            tr.t(&format!("scope-{}", s.as_str().replace(':', "-"))),
                            s.as_str()
                        ),
                        false,
                    )
                })
                .collect(),
        ),
        Field::new("days", tr.t("field-token-days"), "text")
            .value("90")
            .numeric(3),
    ];
    page
}

async fn tokens_page(
    app: &App,
    c: Chrome,
    p: &Principal,
    form: FormPage,
    secret: Option<String>,
    status: StatusCode,
) -> Response {
    let tokens = match app.api_tokens(p).await {
        Ok(t) => t,
        Err(e) => return app_error(c, e),
    };
    let tr = c.tr;
    let mut page = ListPage::new(c.clone(), tr.t("tokens-title"));
    page.secret = secret;
    page.headers = vec![
        tr.t("field-token-name"),
        tr.t("field-scopes"),
        tr.t("token-expires"),
        tr.t("token-last-used"),
    ];
    page.rows = tokens
        .into_iter()
        .map(|t| Row {
            cells: vec![
                format!(
                    "{}{}",
                    t.name,
                    if t.revoked {
                        format!(" · {}", tr.t("token-revoked"))
                    } else {
                        String::new()
                    }
                ),
                t.scopes.join(" "),
                t.expires_at
                    .map(beijing_time)
                    .unwrap_or_else(|| tr.t("token-never")),
                t.last_used_at.map(beijing_time).unwrap_or_default(),
            ],
            actions: if t.revoked {
                Vec::new()
            } else {
                vec![(
                    tr.t("token-revoke"),
                    format!("/me/tokens/{}/revoke", t.id),
                    true,
                )]
            },
        })
        .collect();
    page.empty = tr.t("tokens-none");
    page.form = Some(form);
    render(status, &page)
}

pub async fn tokens(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
) -> Response {
    if !p.actor.is_staff() {
        return super::error_page(c, StatusCode::FORBIDDEN, None);
    }
    let form = token_form(&c, "");
    tokens_page(&app, c, &p, form, None, StatusCode::OK).await
}

pub async fn post_token(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    body: axum::body::Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    let name = one(&pairs, "name");
    let days = one(&pairs, "days");
    let days = if days.trim().is_empty() {
        None
    } else {
        match days.trim().parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => Some(0),
        }
    };
    match app
        .create_api_token(&p, &name, &all(&pairs, "scopes"), days)
        .await
    {
        Ok((_, secret)) => {
            let form = token_form(&c, "");
            let mut r = tokens_page(&app, c, &p, form, Some(secret), StatusCode::OK).await;
            r.headers_mut().insert(
                CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(AppError::Refused(r)) if r.kind != tongban_app::RefusalKind::Forbidden => {
            let mut form = token_form(&c, &name);
            form.fail(c.tr, &r);
            tokens_page(&app, c, &p, form, None, crate::error::status_of(r.kind)).await
        }
        Err(e) => app_error(c, e),
    }
}

pub async fn revoke_token(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.revoke_api_token(&p, &id).await {
        Ok(()) => see_other("/me/tokens", Vec::new()),
        Err(e) => app_error(c, e),
    }
}

pub async fn dead_letters(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
) -> Response {
    let letters = match app.dead_letters(&p.actor).await {
        Ok(l) => l,
        Err(e) => return app_error(c, e),
    };
    let tr = c.tr;
    let mut page = ListPage::new(c.clone(), tr.t("dead-letters-title"));
    page.headers = vec![
        tr.t("dead-letters-when"),
        tr.t("dead-letters-event"),
        tr.t("dead-letters-channel"),
        tr.t("dead-letters-error"),
    ];
    page.rows = letters
        .into_iter()
        .map(|m| Row {
            cells: vec![
                beijing_time(m.dead_at.unwrap_or(m.created_at)),
                m.event.clone(),
                m.channel.clone(),
                m.last_error.clone().unwrap_or_default(),
            ],
            actions: vec![(
                tr.t("dead-letters-retry"),
                format!("/admin/outbox/{}/retry", m.id),
                true,
            )],
        })
        .collect();
    page.empty = tr.t("dead-letters-none");
    render(StatusCode::OK, &page)
}

pub async fn retry_dead_letter(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.retry_dead_letter(&p.actor, &id).await {
        Ok(()) => see_other("/admin/outbox", Vec::new()),
        Err(e) => app_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct CalendarQuery {
    year: Option<i32>,
    saved: Option<i32>,
}

async fn calendar_form(
    app: &App,
    c: &Chrome,
    p: &Principal,
    year: i32,
    text: String,
) -> Result<FormPage, AppError> {
    let tr = c.tr;
    let years = app.calendar_years(&p.actor).await?;
    let mut page = FormPage::new(
        tr.t("calendar-title"),
        "/admin/calendar",
        tr.t("calendar-save"),
    );
    page.lead = Some(tr.t("calendar-lead"));
    let mut field = Field::new(
        "document",
        tr.ta("calendar-year", &[("year", year.to_string())]),
        "textarea",
    )
    .value(text);
    field.hint = Some(tr.t("calendar-hint"));
    page.fields = vec![field];
    let next = years.last().map_or(year, |y| y + 1);
    for y in years.iter().copied().chain(std::iter::once(next)) {
        if y != year {
            page.links.push((
                tr.ta("calendar-year", &[("year", y.to_string())]),
                format!("/admin/calendar?year={y}"),
            ));
        }
    }
    Ok(page)
}

pub async fn calendar(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Query(q): Query<CalendarQuery>,
) -> Response {
    let year = q
        .year
        .or(q.saved)
        .unwrap_or_else(|| beijing_time(app.now_ms())[..4].parse().unwrap_or(2026));
    let text = match app.calendar_year_text(&p.actor, year).await {
        Ok(t) => t,
        Err(e) => return app_error(c, e),
    };
    match calendar_form(&app, &c, &p, year, text).await {
        Ok(mut page) => {
            if let Some(y) = q.saved {
                page.notice = Some(c.tr.ta("calendar-saved", &[("year", y.to_string())]));
            }
            page.show(c, StatusCode::OK)
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct CalendarForm {
    #[serde(default)]
    document: String,
}

pub async fn post_calendar(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Form(f): Form<CalendarForm>,
) -> Response {
    match app.save_calendar_year(&p.actor, &f.document).await {
        Ok(year) => see_other(&format!("/admin/calendar?saved={year}"), Vec::new()),
        Err(AppError::Refused(r)) if r.field.is_some() => {
            let year = f
                .document
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("year")
                        .and_then(|v| v.trim().trim_start_matches('=').trim().parse().ok())
                })
                .unwrap_or(2026);
            match calendar_form(&app, &c, &p, year, f.document.clone()).await {
                Ok(mut page) => {
                    page.fail(c.tr, &r);
                    page.show(c, StatusCode::UNPROCESSABLE_ENTITY)
                }
                Err(e) => app_error(c, e),
            }
        }
        Err(e) => app_error(c, e),
    }
}
