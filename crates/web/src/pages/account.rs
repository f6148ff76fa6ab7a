//! A resident's account: signing in with an SMS code, the real-name profile, family members,
//! consents given to village agents, signing out.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tongban_app::people::Profile;
use tongban_app::{App, AppError, Principal};

use super::forms::{Field, FormPage, see_other};
use super::views::Option_;
use super::{Chrome, app_error, error_page, render};
use crate::session::{RequestFacts, SESSION_COOKIE, Visitor, set_cookie};

/// Sends anonymous visitors to sign in, and back here afterwards.
pub fn sign_in_first(c: &Chrome, facts: &RequestFacts, staff: bool) -> Response {
    let back = serde_urlencoded::to_string([("back", c.here.as_str())]).unwrap_or_default();
    let expired = if facts.session_ended {
        "&expired=1"
    } else {
        ""
    };
    let page = if staff { "/staff/sign-in" } else { "/sign-in" };
    see_other(&format!("{page}?{back}{expired}"), Vec::new())
}

/// The signed-in principal, or the response that sends the visitor to sign in.
async fn principal_from_parts(
    parts: &mut axum::http::request::Parts,
    staff: bool,
) -> Result<Principal, Response> {
    let c = Chrome::from_parts(parts);
    let visitor = parts
        .extensions
        .get::<Visitor>()
        .cloned()
        .unwrap_or_default();
    let facts = parts
        .extensions
        .get::<RequestFacts>()
        .cloned()
        .unwrap_or_default();
    match visitor {
        Visitor::Signed(p) => Ok(*p),
        Visitor::SecondFactor { .. } => Err(see_other("/staff/second-factor", Vec::new())),
        Visitor::Anonymous => Err(sign_in_first(&c, &facts, staff)),
    }
}

/// Extracts the signed-in person; anyone else is sent to the residents' sign-in page (and
/// brought back afterwards).
pub struct SignedIn(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        principal_from_parts(parts, false).await.map(Self)
    }
}

/// Like [`SignedIn`], for staff pages: the visitor is sent to the staff sign-in page, or to the
/// second factor they still owe. What they may see is decided in the use case, not here.
pub struct StaffSignedIn(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for StaffSignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        principal_from_parts(parts, true).await.map(Self)
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct Back {
    back: Option<String>,
    expired: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct PhoneForm {
    #[serde(default)]
    phone: String,
    back: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    back: Option<String>,
}

fn phone_form(c: &Chrome, phone: &str, back: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(tr.t("sign-in-title"), "/sign-in/code", tr.t("sign-in-send"));
    page.lead = Some(tr.t("sign-in-lead"));
    page.hidden.push(("back", back.to_owned()));
    page.fields.push(
        Field::new("phone", tr.t("field-phone"), "tel")
            .value(phone)
            .auto("tel")
            .hint(tr.t("field-phone-hint"))
            .numeric(20),
    );
    page.links
        .push((tr.t("staff-sign-in-link"), "/staff/sign-in".into()));
    page
}

fn code_form(c: &Chrome, phone: &str, back: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("sign-in-code-title"),
        "/sign-in",
        tr.t("sign-in-submit"),
    );
    page.lead = Some(tr.ts(
        "sign-in-code-lead",
        "phone",
        &tongban_domain::identity::mask_phone(phone),
    ));
    page.hidden.push(("phone", phone.to_owned()));
    page.hidden.push(("back", back.to_owned()));
    page.fields.push(
        Field::new("code", tr.t("field-code"), "text")
            .auto("one-time-code")
            .numeric(6),
    );
    page.links.push((
        tr.t("sign-in-resend"),
        format!("/sign-in?back={}", urlencode(back)),
    ));
    page
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|e| e[2..].to_owned())
        .unwrap_or_default()
}

pub async fn sign_in(c: Chrome, Query(q): Query<Back>) -> Response {
    let back = crate::prefs::safe_back(q.back.as_deref()).to_owned();
    let mut page = phone_form(&c, "", &back);
    if q.expired.is_some() {
        page.notice = Some(c.tr.t("session-expired"));
    }
    page.show(c, StatusCode::OK)
}

pub async fn send_code(
    State(app): State<App>,
    c: Chrome,
    Extension(facts): Extension<RequestFacts>,
    Form(f): Form<PhoneForm>,
) -> Response {
    let back = crate::prefs::safe_back(f.back.as_deref()).to_owned();
    match app.send_sign_in_code(&f.phone, &facts.ip).await {
        Ok(_) => {
            let phone = tongban_domain::PhoneNumber::parse(&f.phone)
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            let mut page = code_form(&c, &phone, &back);
            page.notice = Some(c.tr.t("sign-in-code-sent"));
            page.show(c, StatusCode::OK)
        }
        Err(e) => phone_form(&c, &f.phone, &back).or_error(c, e),
    }
}

pub async fn sign_in_with_code(
    State(app): State<App>,
    c: Chrome,
    Extension(facts): Extension<RequestFacts>,
    Form(f): Form<CodeForm>,
) -> Response {
    let back = crate::prefs::safe_back(f.back.as_deref()).to_owned();
    match app
        .sign_in_with_code(&f.phone, &f.code, facts.session_token.as_deref())
        .await
    {
        Ok(s) => {
            let to = if back == "/" { "/me" } else { back.as_str() };
            see_other(to, vec![set_cookie(&app, SESSION_COOKIE, &s.token, None)])
        }
        Err(e) => code_form(&c, &f.phone, &back).or_error(c, e),
    }
}

pub async fn sign_out(
    State(app): State<App>,
    c: Chrome,
    Extension(v): Extension<Visitor>,
) -> Response {
    if let Visitor::Signed(p) = &v
        && let Err(e) = app.sign_out(p).await
    {
        return app_error(c, e);
    }
    see_other(
        "/?signed_out=1",
        vec![set_cookie(&app, SESSION_COOKIE, "", Some(0))],
    )
}

pub async fn sign_out_everywhere(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
) -> Response {
    match app.sign_out_everywhere(&p).await {
        Ok(_) => see_other(
            "/?signed_out=1",
            vec![set_cookie(&app, SESSION_COOKIE, "", Some(0))],
        ),
        Err(e) => app_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    c: Chrome,
    profile: Profile,
    notice: Option<String>,
    real_name: FormPage,
    family_form: FormPage,
    consents: Vec<tongban_app::agents::ConsentView>,
    family_lead: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

async fn villages(app: &App, c: &Chrome, selected: &str) -> Vec<Option_> {
    let mut out = vec![Option_::new("", c.tr.t("filter-any"), selected.is_empty())];
    if let Ok(catalog) = app.catalog().await {
        for t in catalog.townships() {
            for v in catalog
                .divisions
                .iter()
                .filter(|d| d.parent.as_ref() == Some(&t.code))
            {
                out.push(Option_::new(
                    v.code.as_str(),
                    format!("{} · {}", t.name, v.name),
                    v.code.as_str() == selected,
                ));
            }
        }
    }
    out
}

async fn real_name_form(app: &App, c: &Chrome, name: &str, id: &str, village: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("real-name-title"),
        "/me/real-name",
        tr.t("real-name-submit"),
    );
    page.lead = Some(tr.t("real-name-lead"));
    page.fields = vec![
        Field::new("name", tr.t("field-name"), "text")
            .value(name)
            .auto("name"),
        Field::new("id_number", tr.t("field-id-number"), "text")
            .value(id)
            .hint(tr.t("field-id-number-hint"))
            .auto("off")
            .numeric(18),
        Field::new("village", tr.t("field-village"), "select")
            .hint(tr.t("field-village-hint"))
            .options(villages(app, c, village).await),
    ];
    // The number is text, not digits only: the last character may be X.
    page.fields[1].inputmode = Some("text");
    page
}

fn family_form(c: &Chrome, relation: &str, name: &str, id: &str) -> FormPage {
    let tr = c.tr;
    let mut page = FormPage::new(
        tr.t("family-add-title"),
        "/me/family",
        tr.t("family-add-submit"),
    );
    page.fields = vec![
        Field::new("relation", tr.t("field-relation"), "text")
            .value(relation)
            .hint(tr.t("field-relation-hint")),
        Field::new("name", tr.t("field-name"), "text").value(name),
        Field::new("id_number", tr.t("field-id-number"), "text")
            .value(id)
            .hint(tr.t("field-id-number-hint")),
    ];
    page
}

async fn me_page(
    app: &App,
    c: Chrome,
    p: &Principal,
    notice: Option<String>,
    real_name: Option<FormPage>,
    family: Option<FormPage>,
    status: StatusCode,
) -> Response {
    let profile = match app.profile(p).await {
        Ok(v) => v,
        Err(e) => return app_error(c, e),
    };
    let consents = match app.consents(&p.actor, false).await {
        Ok(v) => v,
        Err(e) => return app_error(c, e),
    };
    let real_name = match real_name {
        Some(f) => f,
        None => real_name_form(app, &c, "", "", "").await,
    };
    let title = c.tr.t("me-title");
    let page = MePage {
        notice,
        real_name,
        family_form: family.unwrap_or_else(|| family_form(&c, "", "", "")),
        consents,
        family_lead: c.tr.tn(
            "family-lead",
            "limit",
            tongban_domain::access::FAMILY_LIMIT as f64,
        ),
        c: c.titled(&title),
        profile,
    };
    render(status, &page)
}

pub async fn me(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Query(q): Query<Done>,
) -> Response {
    if p.actor.is_staff() {
        return see_other("/staff", Vec::new());
    }
    let notice = q.done.as_deref().map(|d| c.tr.t(&format!("done-{d}")));
    me_page(&app, c, &p, notice, None, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Default)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// A resident sets or removes the e-mail address notifications also go to.
pub async fn post_email(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Form(f): Form<EmailForm>,
) -> Response {
    match app.set_notification_email(&p, &f.email).await {
        Ok(Some(_)) => see_other("/me?done=email-set", Vec::new()),
        Ok(None) => see_other("/me?done=email-removed", Vec::new()),
        Err(AppError::Refused(r)) if r.field.is_some() => {
            let tr = c.tr;
            let mut page =
                super::forms::FormPage::new(tr.t("notify-title"), "/me/email", tr.t("notify-save"));
            page.lead = Some(tr.t("notify-lead"));
            let mut field = super::forms::Field::new("email", tr.t("field-email"), "email")
                .value(f.email.clone())
                .hint(tr.t("notify-email-hint"))
                .auto("email");
            field.maxlength = Some(254);
            page.fields = vec![field];
            page.fail(tr, &r);
            let status = crate::error::status_of(r.kind);
            page.show(c, status)
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct RealNameForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    village: String,
}

pub async fn post_real_name(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Form(f): Form<RealNameForm>,
) -> Response {
    match app
        .complete_real_name(&p, &f.name, &f.id_number, Some(&f.village))
        .await
    {
        Ok(()) => see_other("/me?done=real-name", Vec::new()),
        Err(AppError::Refused(r)) if r.field.is_some() => {
            let mut form = real_name_form(&app, &c, &f.name, &f.id_number, &f.village).await;
            form.fail(c.tr, &r);
            let status = crate::error::status_of(r.kind);
            me_page(&app, c, &p, None, Some(form), None, status).await
        }
        Err(e) => app_error(c, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct FamilyForm {
    #[serde(default)]
    relation: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
}

pub async fn post_family(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Form(f): Form<FamilyForm>,
) -> Response {
    match app
        .add_family_member(&p, &f.relation, &f.name, &f.id_number)
        .await
    {
        Ok(_) => see_other("/me?done=family-added", Vec::new()),
        Err(AppError::Refused(r)) if r.kind != tongban_app::RefusalKind::Forbidden => {
            let mut form = family_form(&c, &f.relation, &f.name, &f.id_number);
            form.fail(c.tr, &r);
            let status = crate::error::status_of(r.kind);
            me_page(&app, c, &p, None, None, Some(form), status).await
        }
        Err(e) => app_error(c, e),
    }
}

pub async fn remove_family(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.remove_family_member(&p, &id).await {
        Ok(()) => see_other("/me?done=family-removed", Vec::new()),
        Err(e) => app_error(c, e),
    }
}

pub async fn revoke_consent(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.revoke_consent(&p.actor, &id).await {
        Ok(()) => see_other("/me?done=consent-revoked", Vec::new()),
        Err(e) => app_error(c, e),
    }
}

#[derive(Template)]
#[template(path = "dev_sms.html")]
struct DevSmsPage {
    c: Chrome,
    messages: Vec<tongban_app::sms::SentSms>,
}

/// The development SMS outbox: only with `--demo`, never in production.
pub async fn dev_sms(State(app): State<App>, c: Chrome) -> Response {
    let outbox = app.identity.sms.outbox();
    match (app.identity.policy.dev_outbox, outbox) {
        (true, Some(messages)) => {
            let title = c.tr.t("dev-sms-title");
            render(
                StatusCode::OK,
                &DevSmsPage {
                    c: c.titled(&title),
                    messages,
                },
            )
        }
        _ => error_page(c, StatusCode::NOT_FOUND, None),
    }
}
