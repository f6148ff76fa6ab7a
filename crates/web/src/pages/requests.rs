//! Requests and complaints on the web: a resident reports a problem (with a photo) and follows
//! it, rates the answer and may reopen it; the dispatch centre dispatches from its queue with
//! routing suggestions, checks replies and decides extensions; a unit signs, returns, records
//! contact, asks for time and replies; supervisors urge. Everything works without JavaScript.

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tongban_app::requests::{Channel, NewRequest, categories};
use tongban_app::{App, AppError, Principal, RequestRecord};
use tongban_domain::Role;
use tongban_domain::reference::CaseRef;
use tongban_domain::request::RequestKind;
use tongban_domain::request::lifecycle::{
    ActionFields, Extension, Party, PhotoPart, RequestAction, RequestState, photo_part,
};

use super::account::{SignedIn, StaffSignedIn};
use super::forms::{Field, FormPage, message, see_other};
use super::views::Option_;
use super::{Chrome, app_error, render};
use crate::download::{attachment, preview};

fn display_reference(r: &RequestRecord) -> String {
    CaseRef::parse(&r.reference).map_or_else(|_| r.reference.clone(), |c| c.to_string())
}

fn category_name(c: &Chrome, code: &str) -> String {
    categories().iter().find(|x| x.code == code).map_or_else(
        || code.to_owned(),
        |x| {
            if c.is_en() {
                x.en.clone()
            } else {
                x.zh.clone()
            }
        },
    )
}

/// The values of the form, as typed.
#[derive(Debug, Default, Clone)]
struct Typed {
    kind: String,
    category: String,
    text: String,
    township: String,
    village: String,
    address: String,
    urgent: bool,
    anonymous: bool,
    disclose: bool,
    /// Taken on the hotline: the caller's name and number.
    hotline: bool,
    contact_name: String,
    contact_phone: String,
}

async fn new_form(app: &App, c: &Chrome, v: &Typed) -> FormPage {
    let tr = c.tr;
    // A multipart form carries its CSRF token in the query string (the body is read later).
    let path = if v.hotline {
        "/staff/requests/new"
    } else {
        "/requests"
    };
    let action = format!("{path}?{}={}", crate::session::CSRF_FIELD, c.csrf);
    let title = if v.hotline {
        tr.t("request-hotline-title")
    } else {
        tr.t("request-new-title")
    };
    let mut page = FormPage::new(title, action, tr.t("request-submit"));
    page.lead = Some(if v.hotline {
        tr.t("request-hotline-lead")
    } else {
        tr.t("request-new-lead")
    });
    page.multipart = true;
    let mut kinds = vec![Option_::new("", tr.t("apply-choose"), v.kind.is_empty())];
    kinds.extend(RequestKind::ALL.iter().map(|k| {
        Option_::new(
            k.as_str(),
            tr.t(&format!("request-kind-{}", k.as_str())),
            v.kind == k.as_str(),
        )
    }));
    let mut cats = vec![Option_::new(
        "",
        tr.t("apply-choose"),
        v.category.is_empty(),
    )];
    cats.extend(categories().iter().map(|x| {
        let name = if c.is_en() { &x.en } else { &x.zh };
        let label = if x.parent.is_some() {
            format!("— {name}")
        } else {
            name.clone()
        };
        Option_::new(&x.code, label, v.category == x.code)
    }));
    let snapshot = app.catalog().await.ok();
    let mut townships = vec![Option_::new(
        "",
        tr.t("request-place-choose"),
        v.township.is_empty(),
    )];
    let mut villages = vec![Option_::new(
        "",
        tr.t("request-village-any"),
        v.village.is_empty(),
    )];
    if let Some(s) = &snapshot {
        townships.extend(s.townships().map(|t| {
            Option_::new(
                t.code.as_str(),
                t.name.clone(),
                v.township == t.code.as_str(),
            )
        }));
        for t in s.townships() {
            villages.extend(
                s.divisions
                    .iter()
                    .filter(|d| d.parent.as_ref() == Some(&t.code))
                    .map(|d| {
                        Option_::new(
                            d.code.as_str(),
                            format!("{} · {}", t.name, d.name),
                            v.village == d.code.as_str(),
                        )
                    }),
            );
        }
    }
    let mut text = Field::new("text", tr.t("request-text"), "textarea")
        .value(v.text.clone())
        .hint(tr.t("request-text-hint"));
    text.maxlength = Some(4000);
    let check = |name: &'static str, on: bool| {
        Field::new(name, tr.t(&format!("request-{name}-label")), "checkboxes").options(vec![
            Option_::new("yes", tr.t(&format!("request-{name}")), on),
        ])
    };
    page.fields = vec![
        Field::new("kind", tr.t("request-kind"), "select").options(kinds),
        Field::new("category", tr.t("request-category"), "select").options(cats),
        text,
        Field::new("township", tr.t("request-township"), "select")
            .options(townships)
            .hint(tr.t("request-township-hint")),
        Field::new("village", tr.t("request-village"), "select").options(villages),
        Field::new("address", tr.t("request-address"), "text").value(v.address.clone()),
        Field::new("photo", tr.t("request-photo"), "file").hint(tr.t("request-photo-hint")),
        check("urgent", v.urgent),
        check("anonymous", v.anonymous),
        check("disclose", v.disclose),
    ];
    if v.hotline {
        let mut phone = Field::new("contact_phone", tr.t("request-caller-phone"), "tel")
            .value(v.contact_phone.clone())
            .auto("off");
        phone.inputmode = Some("tel");
        page.fields.insert(
            0,
            Field::new("contact_name", tr.t("request-caller-name"), "text")
                .value(v.contact_name.clone())
                .auto("off"),
        );
        page.fields.insert(1, phone);
    }
    page
}

pub async fn new(State(app): State<App>, c: Chrome, SignedIn(_p): SignedIn) -> Response {
    new_form(&app, &c, &Typed::default())
        .await
        .show(c, StatusCode::OK)
}

/// Reads the report form and files it from `channel`.
async fn file_from_form(
    app: &App,
    c: Chrome,
    p: &Principal,
    multipart: Multipart,
    channel: Channel,
) -> Response {
    let form = match super::read_upload(&c, multipart, "photo").await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let typed = Typed {
        kind: form.text("kind").to_owned(),
        category: form.text("category").to_owned(),
        text: form.text("text").to_owned(),
        township: form.text("township").to_owned(),
        village: form.text("village").to_owned(),
        address: form.text("address").to_owned(),
        urgent: form.text("urgent") == "yes",
        anonymous: form.text("anonymous") == "yes",
        disclose: form.text("disclose") == "yes",
        hotline: channel == Channel::Hotline,
        contact_name: form.text("contact_name").to_owned(),
        contact_phone: form.text("contact_phone").to_owned(),
    };
    let photos = if form.file.is_empty() {
        Vec::new()
    } else {
        vec![(form.file_name.clone(), form.file.clone())]
    };
    let new = NewRequest {
        kind: typed.kind.clone(),
        category: typed.category.clone(),
        urgent: typed.urgent,
        text: typed.text.clone(),
        township: typed.township.clone(),
        village: typed.village.clone(),
        address: typed.address.clone(),
        anonymous: typed.anonymous,
        disclose: typed.disclose,
        contact_name: typed.contact_name.clone(),
        contact_phone: typed.contact_phone.clone(),
        photos,
        ..NewRequest::default()
    };
    match app.file_request(Some(p), channel, &new).await {
        Ok(r) => see_other(&format!("/requests/{}?filed=1", r.id), Vec::new()),
        Err(e) => new_form(app, &c, &typed).await.or_error(c, e),
    }
}

pub async fn post_new(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    multipart: Multipart,
) -> Response {
    file_from_form(&app, c, &p, multipart, Channel::App).await
}

/// The hotline operator's entry form, for a caller.
pub async fn hotline(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
) -> Response {
    if !p.actor.has(Role::Dispatcher) {
        return app_error(c, AppError::forbidden());
    }
    let typed = Typed {
        hotline: true,
        ..Typed::default()
    };
    new_form(&app, &c, &typed).await.show(c, StatusCode::OK)
}

pub async fn post_hotline(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    multipart: Multipart,
) -> Response {
    file_from_form(&app, c, &p, multipart, Channel::Hotline).await
}

struct Row {
    href: String,
    reference: String,
    category: String,
    stage: String,
    when: String,
    light: &'static str,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct ListTemplate {
    c: Chrome,
    title: String,
    lead: Option<String>,
    rows: Vec<Row>,
    empty: String,
    new_link: bool,
    hotline_link: bool,
}

fn rows(c: &Chrome, now: i64, list: &[RequestRecord]) -> Vec<Row> {
    list.iter()
        .map(|r| Row {
            href: format!("/requests/{}", r.id),
            reference: display_reference(r),
            category: category_name(c, &r.category),
            stage: c.tr.t(&format!("request-stage-{}", r.stage)),
            when: super::staff::beijing_time(r.resolve_by.unwrap_or(r.created_at)),
            light: match r.resolve_by {
                Some(due) if now > due && r.stage != "closed" => "red",
                Some(due) if due - now < 86_400_000 && r.stage != "closed" => "yellow",
                _ => "none",
            },
        })
        .collect()
}

pub async fn mine(State(app): State<App>, c: Chrome, SignedIn(p): SignedIn) -> Response {
    match app.my_requests(&p).await {
        Ok(list) => {
            let title = c.tr.t("request-mine-title");
            let empty = c.tr.t("request-mine-none");
            let rows = rows(&c, app.now_ms(), &list);
            render(
                StatusCode::OK,
                &ListTemplate {
                    c: c.titled(&title),
                    title,
                    lead: None,
                    rows,
                    empty,
                    new_link: true,
                    hotline_link: false,
                },
            )
        }
        Err(e) => app_error(c, e),
    }
}

/// The dispatch centre's queue, or a unit's requests.
pub async fn staff_list(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
) -> Response {
    let (list, title, lead) = if p.actor.has(Role::Dispatcher) {
        (
            app.dispatch_queue(&p).await,
            c.tr.t("request-queue-title"),
            c.tr.t("request-queue-lead"),
        )
    } else {
        (
            app.unit_requests(&p).await,
            c.tr.t("request-unit-title"),
            c.tr.t("request-unit-lead"),
        )
    };
    match list {
        Ok(list) => {
            let rows = rows(&c, app.now_ms(), &list);
            let empty = c.tr.t("request-queue-none");
            render(
                StatusCode::OK,
                &ListTemplate {
                    c: c.titled(&title),
                    title,
                    lead: Some(lead),
                    rows,
                    empty,
                    new_link: false,
                    hotline_link: p.actor.has(Role::Dispatcher),
                },
            )
        }
        Err(e) => app_error(c, e),
    }
}

struct Step {
    when: String,
    what: String,
    unit: String,
    note: String,
}

struct SuggestionRow {
    unit: String,
    name: String,
    percent: u32,
    reason: String,
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestTemplate {
    c: Chrome,
    r: RequestRecord,
    reference: String,
    kind: String,
    category: String,
    stage: String,
    unit: String,
    place: String,
    resolve_by: String,
    sign_by: String,
    just_filed: bool,
    error: Option<String>,
    timeline: Vec<Step>,
    /// The resident's photos: (id, file name).
    photos: Vec<(String, String)>,
    /// The office's photos with its reply.
    reply_photos: Vec<(String, String)>,
    suggestions: Vec<SuggestionRow>,
    units: Vec<(String, String)>,
    /// Earlier requests this one probably repeats: (id, reference, percent).
    duplicates: Vec<(String, String, u32)>,
    /// The loop actions the viewer may take now.
    can: Vec<&'static str>,
}

impl RequestTemplate {
    fn may(&self, action: &str) -> bool {
        self.can.contains(&action)
    }
}

/// The actions `p` may take on `r` now (what the domain would allow, to offer as buttons).
fn possible(p: &Principal, r: &RequestRecord, state: &RequestState) -> Vec<&'static str> {
    let a = &p.actor;
    let mut out = Vec::new();
    let own_unit = a.is_staff() && a.unit.as_ref().map(|u| u.as_str()) == r.unit_code.as_deref();
    match r.stage.as_str() {
        "filed" if a.has(Role::Dispatcher) => out.extend(["dispatch", "merge"]),
        "dispatched" if own_unit => out.extend(["sign", "return"]),
        "in_hand" if own_unit => {
            out.extend(["contact", "reply"]);
            if state.extension == Extension::None {
                out.push("ask_extension");
            }
        }
        "replied" if a.has(Role::Dispatcher) => out.extend(["close", "send_back"]),
        "closed" if r.requester_id.as_deref() == Some(a.user_id.as_str()) => {
            if state.rating.is_none() {
                out.push("rate");
            } else if state.rating.is_some_and(|s| s <= 2) && !state.reopened {
                out.push("reopen");
            }
        }
        _ => {}
    }
    if matches!(state.extension, Extension::Asked { .. }) && a.has(Role::Dispatcher) {
        out.extend(["grant_extension", "refuse_extension"]);
    }
    if a.has(Role::Supervisor) && matches!(r.stage.as_str(), "dispatched" | "in_hand" | "replied") {
        out.push("urge");
    }
    let party = if r.requester_id.as_deref() == Some(a.user_id.as_str()) {
        Party::Requester(&a.user_id)
    } else if let (true, Some(unit)) = (own_unit, a.unit.as_ref()) {
        Party::Unit(unit.as_str())
    } else {
        Party::Supervisor
    };
    if photo_part(state, party).is_ok() {
        out.push("add_photo");
    }
    out
}

async fn request_page(
    app: &App,
    c: Chrome,
    p: &Principal,
    id: &str,
    just_filed: bool,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let r = match app.visible_request(p, id).await {
        Ok(r) => r,
        Err(e) => return app_error(c, e),
    };
    let tr = c.tr;
    let state: RequestState = serde_json::from_str(&r.state)
        .unwrap_or_else(|_| RequestState::new(RequestKind::Complaint, None));
    let snapshot = app.catalog().await.ok();
    let unit_name = |code: &str| {
        snapshot
            .as_ref()
            .map_or_else(|| code.to_owned(), |s| s.unit_name(code).to_owned())
    };
    let (events, photos) = app
        .store
        .request_history(&app.tenant, &r.id)
        .await
        .unwrap_or_default();
    let timeline = events
        .iter()
        .map(|e| {
            let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
            let note = ["reason", "note", "text", "comment"]
                .iter()
                .find_map(|k| detail[*k].as_str().filter(|s| !s.is_empty()))
                .map(str::to_owned)
                .or_else(|| detail["unit"].as_str().map(&unit_name))
                .or_else(|| {
                    detail["score"]
                        .as_u64()
                        .map(|s| tr.ta("request-rated", &[("score", s.to_string())]))
                })
                .unwrap_or_default();
            Step {
                when: super::staff::beijing_time(e.at),
                what: tr.t(&format!("request-action-{}", e.action)),
                unit: e.actor_unit.as_deref().map(&unit_name).unwrap_or_default(),
                note,
            }
        })
        .collect();
    let (reply_photos, photos): (Vec<_>, Vec<_>) = photos
        .into_iter()
        .partition(|x| x.part == PhotoPart::Reply.as_str());
    let pair = |x: tongban_app::RequestPhoto| (x.id, x.file_name);
    let (photos, reply_photos) = (
        photos.into_iter().map(pair).collect(),
        reply_photos.into_iter().map(pair).collect(),
    );
    let can = possible(p, &r, &state);
    let suggestions = if can.contains(&"dispatch") {
        app.routing_suggestions_for(p, &r)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|s| SuggestionRow {
                name: unit_name(&s.unit),
                percent: (s.score * 100.0).round() as u32,
                reason: match &s.reason {
                    tongban_app::routing::Reason::Rule(k) => {
                        tr.ta("request-reason-rule", &[("keyword", k.clone())])
                    }
                    tongban_app::routing::Reason::Words(w) if s.as_township => {
                        tr.ta("request-reason-township", &[("words", w.join("、"))])
                    }
                    tongban_app::routing::Reason::Words(w) => {
                        tr.ta("request-reason-words", &[("words", w.join("、"))])
                    }
                },
                unit: s.unit,
            })
            .collect()
    } else {
        Vec::new()
    };
    let units = if can.contains(&"dispatch") {
        snapshot
            .as_ref()
            .map(|s| {
                s.units
                    .iter()
                    .map(|u| (u.code.to_string(), u.name_zh.clone()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let duplicates = if can.contains(&"merge") {
        app.possible_duplicates_of(p, &r)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(d, score)| {
                (
                    d.id.clone(),
                    display_reference(&d),
                    (score * 100.0).round() as u32,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let place = [r.village_code.as_deref(), r.township_code.as_deref()]
        .into_iter()
        .flatten()
        .next()
        .and_then(|code| {
            snapshot
                .as_ref()
                .and_then(|s| s.division(code))
                .map(|d| d.name.clone())
        })
        .into_iter()
        .chain(r.address.clone())
        .collect::<Vec<_>>()
        .join(" · ");
    let title = display_reference(&r);
    let category = category_name(&c, &r.category);
    let page = RequestTemplate {
        c: c.titled(&title),
        reference: title,
        kind: tr.t(&format!("request-kind-{}", r.kind)),
        category,
        stage: tr.t(&format!("request-stage-{}", r.stage)),
        unit: r.unit_code.as_deref().map(&unit_name).unwrap_or_default(),
        place,
        resolve_by: r
            .resolve_by
            .map(super::staff::beijing_time)
            .unwrap_or_default(),
        sign_by: r
            .sign_by
            .map(super::staff::beijing_time)
            .unwrap_or_default(),
        just_filed,
        error,
        timeline,
        photos,
        reply_photos,
        suggestions,
        units,
        duplicates,
        can,
        r,
    };
    render(status, &page)
}

#[derive(Debug, Deserialize, Default)]
pub struct RequestQueryParams {
    filed: Option<String>,
}

pub async fn show(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<RequestQueryParams>,
) -> Response {
    request_page(&app, c, &p, &id, q.filed.is_some(), None, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Default)]
pub struct ActForm {
    #[serde(default)]
    action: String,
    version: Option<i64>,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    into: String,
}

fn action_of(f: &ActForm) -> Option<RequestAction> {
    let fields = ActionFields {
        unit: f.unit.clone(),
        reason: f.reason.clone(),
        note: f.note.clone(),
        text: f.text.clone(),
        days: f.days.trim().parse().unwrap_or(0),
        score: f.score.trim().parse().unwrap_or(0),
        comment: f.comment.clone(),
        into: f.into.clone(),
    };
    RequestAction::from_fields(&f.action, fields)
}

pub async fn act(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    let Some(action) = action_of(&f) else {
        return request_page(
            &app,
            c.clone(),
            &p,
            &id,
            false,
            Some(c.tr.t("err-request_wrong_stage")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let done = app.act_on_request(&p, &id, f.version, &action).await;
    after_change(&app, c, &p, &id, done).await
}

/// Back to the request after a change; a refusal is shown on the request's page.
async fn after_change(
    app: &App,
    c: Chrome,
    p: &Principal,
    id: &str,
    done: Result<RequestRecord, AppError>,
) -> Response {
    match done {
        Ok(_) => see_other(&format!("/requests/{id}"), Vec::new()),
        Err(AppError::Refused(r)) if r.kind != tongban_app::RefusalKind::NotFound => {
            let text = message(c.tr, &r);
            let status = crate::error::status_of(r.kind);
            let status = if status == StatusCode::BAD_REQUEST {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                status
            };
            request_page(app, c, p, id, false, Some(text), status).await
        }
        Err(e) => app_error(c, e),
    }
}

/// The photo of a multipart form, if one was chosen.
fn chosen_photo(form: &crate::upload_form::UploadForm) -> Vec<(String, Vec<u8>)> {
    if form.file.is_empty() {
        Vec::new()
    } else {
        vec![(form.file_name.clone(), form.file.clone())]
    }
}

/// The office's reply, with a photo of the work if it chose one.
pub async fn reply(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let form = match super::read_upload(&c, multipart, "photo").await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let action = RequestAction::Reply {
        text: form.text("text").to_owned(),
    };
    let version = form.text("version").trim().parse().ok();
    let done = app
        .act_with_photos(&p, &id, version, &action, &chosen_photo(&form))
        .await;
    after_change(&app, c, &p, &id, done).await
}

/// A photo added after filing, by the resident or by the office at work on it.
pub async fn add_photo(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let form = match super::read_upload(&c, multipart, "photo").await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let done = app.add_request_photos(&p, &id, &chosen_photo(&form)).await;
    after_change(&app, c, &p, &id, done).await
}

pub async fn photo(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path((id, photo)): Path<(String, String)>,
) -> Response {
    match app.request_photo_bytes(&p, &id, &photo, true).await {
        Ok((record, bytes)) => attachment(&record.media_type, &record.file_name, bytes),
        Err(e) => app_error(c, e),
    }
}

pub async fn photo_thumb(
    State(app): State<App>,
    c: Chrome,
    SignedIn(p): SignedIn,
    Path((id, photo)): Path<(String, String)>,
) -> Response {
    match app.request_photo_bytes(&p, &id, &photo, false).await {
        Ok((_, bytes)) => preview(bytes),
        Err(e) => app_error(c, e),
    }
}

struct RateRow {
    name: String,
    filed: u64,
    on_time: String,
    resolved: String,
    satisfied: String,
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

fn rate_row(name: String, r: &tongban_app::request_rates::Rates) -> RateRow {
    RateRow {
        name,
        filed: r.filed,
        on_time: percent(r.on_time()),
        resolved: percent(r.resolved()),
        satisfied: percent(r.satisfied_share()),
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardTemplate {
    c: Chrome,
    days: i64,
    county: RateRow,
    units: Vec<RateRow>,
    townships: Vec<RateRow>,
    overdue: Vec<Row>,
    hot: Vec<(String, String, u64, u64)>,
    waiting: u64,
}

#[derive(Debug, Deserialize, Default)]
pub struct DashboardQuery {
    days: Option<i64>,
}

/// The dispatch centre's page: the three rates per unit and township, overdue requests and hot
/// spots.
pub async fn dashboard(
    State(app): State<App>,
    c: Chrome,
    StaffSignedIn(p): StaffSignedIn,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let days = q.days.filter(|d| [7, 30, 90].contains(d)).unwrap_or(30);
    let d = match app.request_dashboard(&p, days).await {
        Ok(d) => d,
        Err(e) => return app_error(c, e),
    };
    let snapshot = app.catalog().await.ok();
    let unit_name = |code: &str| {
        snapshot
            .as_ref()
            .map_or_else(|| code.to_owned(), |s| s.unit_name(code).to_owned())
    };
    let place_name = |code: &str| {
        snapshot
            .as_ref()
            .and_then(|s| s.division(code))
            .map_or_else(|| code.to_owned(), |x| x.name.clone())
    };
    let county = rate_row(c.tr.t("dashboard-county"), &d.county);
    let units = d
        .by_unit
        .iter()
        .map(|(u, r)| rate_row(unit_name(u), r))
        .collect();
    let townships = d
        .by_township
        .iter()
        .map(|(t, r)| rate_row(place_name(t), r))
        .collect();
    let overdue = rows(&c, app.now_ms(), &d.overdue);
    let hot = d
        .hot_spots
        .iter()
        .map(|(cat, place, week, month)| (category_name(&c, cat), place_name(place), *week, *month))
        .collect();
    let title = c.tr.t("dashboard-title");
    render(
        StatusCode::OK,
        &DashboardTemplate {
            c: c.titled(&title),
            days,
            county,
            units,
            townships,
            overdue,
            hot,
            waiting: d.waiting_dispatch,
        },
    )
}

#[derive(Debug, Deserialize, Default)]
pub struct PublicQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    page: Option<i64>,
}

struct PublicRow {
    reference: String,
    kind: String,
    category: String,
    place: String,
    unit: String,
    filed: String,
    text: String,
    reply: String,
}

#[derive(Template)]
#[template(path = "public_requests.html")]
struct PublicTemplate {
    c: Chrome,
    q: String,
    categories: Vec<Option_>,
    rows: Vec<PublicRow>,
    total: i64,
    next: Option<String>,
    previous: Option<String>,
}

/// Published requests and answers (with the residents' consent, personal data masked),
/// searchable; no sign-in.
pub async fn public(State(app): State<App>, c: Chrome, Query(q): Query<PublicQuery>) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let (list, total) = match app.published_requests(&q.q, Some(&q.category), page).await {
        Ok(x) => x,
        Err(e) => return app_error(c, e),
    };
    let snapshot = app.catalog().await.ok();
    let rows = list
        .into_iter()
        .map(|r| PublicRow {
            kind: c.tr.t(&format!("request-kind-{}", r.kind)),
            category: category_name(&c, &r.category),
            place: r
                .township_code
                .as_deref()
                .and_then(|t| {
                    snapshot
                        .as_ref()
                        .and_then(|s| s.division(t))
                        .map(|d| d.name.clone())
                })
                .unwrap_or_default(),
            unit: r
                .unit_code
                .as_deref()
                .map(|u| {
                    snapshot
                        .as_ref()
                        .map_or_else(|| u.to_owned(), |s| s.unit_name(u).to_owned())
                })
                .unwrap_or_default(),
            filed: super::staff::beijing_time(r.filed_at)
                .chars()
                .take(10)
                .collect(),
            text: r.text,
            reply: r.reply,
            reference: r.reference,
        })
        .collect();
    let link = |p: i64| {
        serde_urlencoded::to_string([
            ("q", q.q.as_str()),
            ("category", q.category.as_str()),
            ("page", &p.to_string()),
        ])
        .map(|s| format!("/public/requests?{s}"))
        .unwrap_or_default()
    };
    let pages =
        (total + tongban_app::requests::PUBLISHED_PAGE - 1) / tongban_app::requests::PUBLISHED_PAGE;
    let mut categories = vec![Option_::new(
        "",
        c.tr.t("public-any-category"),
        q.category.is_empty(),
    )];
    categories.extend(categories_options(&c, &q.category));
    let title = c.tr.t("public-title");
    render(
        StatusCode::OK,
        &PublicTemplate {
            c: c.titled(&title),
            q: q.q.clone(),
            categories,
            rows,
            total,
            next: (page < pages).then(|| link(page + 1)),
            previous: (page > 1).then(|| link(page - 1)),
        },
    )
}

fn categories_options(c: &Chrome, selected: &str) -> Vec<Option_> {
    categories()
        .iter()
        .map(|x| {
            let name = if c.is_en() { &x.en } else { &x.zh };
            let label = if x.parent.is_some() {
                format!("— {name}")
            } else {
                name.clone()
            };
            Option_::new(&x.code, label, selected == x.code)
        })
        .collect()
}
