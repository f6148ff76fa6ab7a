//! Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under `/open311/v2/`: discovery,
//! services and their definitions, service requests (list, create, one) and tokens, in XML
//! (the spec's required format: UTF-8 declaration, the spec's element names, no namespaces) and
//! JSON. Requests filed here enter the same dispatch loop as every other.
//!
//! Liberal in what it accepts, as the widely used clients need: the format from the extension
//! (XML when there is none), `api_key` in the query or the body, repeated or doubled slashes in
//! the path, an empty `jurisdiction_id` taken as absent, the common extensions `page`,
//! `page_size`, `updated_after`, `updated_before` and `extensions=true` (the update history).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};
use tongban_app::requests::{Channel, NewRequest, categories};
use tongban_app::{App, AppError, RequestQuery, RequestRecord};
use tongban_domain::reference::CaseRef;
use tongban_domain::request::RequestKind;
use tongban_domain::request::redact::redact;

use crate::i18n::{Lang, Tr};

const SPEC: &str = "http://wiki.open311.org/GeoReport_v2";
/// When the service list last changed in a way clients should notice.
const CHANGESET: &str = "2026-11-26T00:00:00+08:00";
/// The most requests one answer holds, and the default page size.
const MAX_PAGE: usize = 1000;
/// Without dates, the last 90 days (the spec's default).
const DEFAULT_DAYS: i64 = 90;

/// A response tree, rendered as XML or JSON with its elements in the spec's order.
#[derive(Debug, Clone)]
enum Node {
    Text(Option<String>),
    Num(f64),
    Bool(bool),
    Obj(Vec<(&'static str, Node)>),
    /// A list whose items are elements named by the first field.
    List(&'static str, Vec<Node>),
}

fn text(s: impl Into<String>) -> Node {
    Node::Text(Some(s.into()))
}

fn opt(s: Option<impl Into<String>>) -> Node {
    Node::Text(s.map(Into::into))
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl Node {
    fn xml_into(&self, tag: &str, out: &mut String) {
        match self {
            Node::Text(None) => out.push_str(&format!("<{tag}/>")),
            Node::Text(Some(s)) => out.push_str(&format!("<{tag}>{}</{tag}>", xml_escape(s))),
            Node::Num(n) => out.push_str(&format!("<{tag}>{}</{tag}>", number(*n))),
            Node::Bool(b) => out.push_str(&format!("<{tag}>{b}</{tag}>")),
            Node::Obj(fields) => {
                out.push_str(&format!("<{tag}>"));
                for (k, v) in fields {
                    v.xml_into(k, out);
                }
                out.push_str(&format!("</{tag}>"));
            }
            Node::List(item, items) => {
                out.push_str(&format!("<{tag}>"));
                for i in items {
                    i.xml_into(item, out);
                }
                out.push_str(&format!("</{tag}>"));
            }
        }
    }

    fn json_into(&self, out: &mut String) {
        match self {
            Node::Text(None) => out.push_str("null"),
            Node::Text(Some(s)) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            Node::Num(n) => out.push_str(&number(*n)),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap_or_default());
                    out.push(':');
                    v.json_into(out);
                }
                out.push('}');
            }
            Node::List(_, items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.json_into(out);
                }
                out.push(']');
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// The answer in `format`, the document's root element named `root`.
fn render(format: Format, status: StatusCode, root: &'static str, node: &Node) -> Response {
    match format {
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            node.xml_into(root, &mut out);
            (status, [(CONTENT_TYPE, "text/xml; charset=utf-8")], out).into_response()
        }
        Format::Json => {
            let mut out = String::new();
            node.json_into(&mut out);
            (
                status,
                [(CONTENT_TYPE, "application/json; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

fn error(format: Format, status: StatusCode, description: impl Into<String>) -> Response {
    let node = Node::List(
        "error",
        vec![Node::Obj(vec![
            ("code", Node::Num(f64::from(status.as_u16()))),
            ("description", text(description)),
        ])],
    );
    render(format, status, "errors", &node)
}

/// Open311 clients are mostly written in English: English unless Chinese is asked for.
fn lang_of(headers: &HeaderMap) -> Lang {
    headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::En)
}

fn app_error(format: Format, lang: Lang, e: AppError) -> Response {
    match e {
        AppError::Refused(r) => {
            let status = match r.kind {
                tongban_app::RefusalKind::NotFound => StatusCode::NOT_FOUND,
                tongban_app::RefusalKind::Forbidden | tongban_app::RefusalKind::Unauthenticated => {
                    StatusCode::FORBIDDEN
                }
                _ => StatusCode::BAD_REQUEST,
            };
            let mut message = Tr(lang).ta(&format!("err-{}", r.code), &r.args);
            if let Some(field) = r.field {
                message = format!("{}: {message}", open311_name(field));
            }
            error(format, status, message)
        }
        other => {
            tracing::error!(error = %other, "Open311 request failed");
            error(format, StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// Our field names as the Open311 parameter a client sent.
fn open311_name(field: &str) -> &str {
    match field {
        "text" => "description",
        "lat" => "lat/long",
        "township" => "address_string",
        "category" => "service_code",
        "contact_phone" => "phone",
        other => other,
    }
}

/// The path after `/open311/`: slashes collapsed, the version checked, the format split off.
fn parse_path(rest: &str) -> Option<(Vec<String>, Format)> {
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let (version, resource) = parts.split_first()?;
    if *version != "v2" || resource.is_empty() {
        return None;
    }
    let mut segments: Vec<String> = resource.iter().map(|s| (*s).to_owned()).collect();
    let last = segments.pop()?;
    let (name, format) = match last.rsplit_once('.') {
        Some((name, "json")) => (name.to_owned(), Format::Json),
        Some((name, "xml")) => (name.to_owned(), Format::Xml),
        Some((_, _)) => return None,
        None => (last, Format::Xml),
    };
    segments.push(name);
    Some((segments, format))
}

/// The parameters of a call: query string, then form or JSON body.
fn params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = query
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default();
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if json {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => out.push((k, s)),
                    serde_json::Value::Array(items) => {
                        out.extend(items.into_iter().map(|i| (k.clone(), plain(&i))));
                    }
                    other => out.push((k, plain(&other))),
                }
            }
        }
    } else if !body.is_empty() {
        out.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default());
    }
    out
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// ISO 8601 with the county's offset (+08:00).
fn datetime(ms: i64) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Reads a W3C datetime (`2026-03-02T09:00:00+08:00`, `…Z`, or a date, taken in Beijing).
fn parse_datetime(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.timestamp_millis());
    }
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - 8 * 3_600_000)
}

pub async fn get(
    State(app): State<App>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    handle(app, &rest, query.as_deref(), &headers, Bytes::new(), false).await
}

pub async fn post(
    State(app): State<App>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(app, &rest, query.as_deref(), &headers, body, true).await
}

async fn handle(
    app: App,
    rest: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
    is_post: bool,
) -> Response {
    let lang = lang_of(headers);
    let Some((segments, format)) = parse_path(rest) else {
        let format = if rest.ends_with(".json") {
            Format::Json
        } else {
            Format::Xml
        };
        return error(
            format,
            StatusCode::NOT_FOUND,
            "no such Open311 resource; see /open311/v2/discovery.xml",
        );
    };
    let p = params(query, headers, &body);
    if let Some(j) = first(&p, "jurisdiction_id")
        && j != app.tenant.as_str()
    {
        return error(
            format,
            StatusCode::NOT_FOUND,
            format!(
                "jurisdiction_id `{j}` not found; this server serves {}",
                app.tenant.as_str()
            ),
        );
    }
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (segments.as_slice(), is_post) {
        (["discovery"], false) => discovery(&app, headers, format),
        (["services"], false) => services(format),
        (["services", code], false) => service_definition(&app, format, lang, code).await,
        (["requests"], false) => list_requests(&app, format, lang, &p).await,
        (["requests"], true) => create_request(&app, format, lang, &p).await,
        (["requests", id], false) => one_request(&app, format, lang, id, &p).await,
        (["tokens", t], false) => token(&app, format, t).await,
        (_, true) => error(
            format,
            StatusCode::METHOD_NOT_ALLOWED,
            "only requests accepts POST",
        ),
        _ => error(
            format,
            StatusCode::NOT_FOUND,
            "no such Open311 resource; see /open311/v2/discovery.xml",
        ),
    }
}

fn discovery(_app: &App, headers: &HeaderMap, format: Format) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let endpoint = Node::Obj(vec![
        ("specification", text(SPEC)),
        ("url", text(format!("http://{host}/open311/v2"))),
        ("changeset", text(CHANGESET)),
        ("type", text("production")),
        (
            "formats",
            Node::List("format", vec![text("text/xml"), text("application/json")]),
        ),
    ]);
    let node = Node::Obj(vec![
        ("changeset", text(CHANGESET)),
        (
            "contact",
            text("清河县12345政务服务便民热线 12345 / Qinghe County 12345 hotline"),
        ),
        (
            "key_service",
            text("API keys are issued by the county administrator (tongban apikey create)"),
        ),
        ("endpoints", Node::List("endpoint", vec![endpoint])),
    ]);
    render(format, StatusCode::OK, "discovery", &node)
}

fn services(format: Format) -> Response {
    let all = categories();
    let items = all
        .iter()
        .map(|c| {
            let group = c
                .parent
                .as_deref()
                .and_then(|p| all.iter().find(|x| x.code == p))
                .map_or_else(|| c.zh.clone(), |p| p.zh.clone());
            Node::Obj(vec![
                ("service_code", text(&c.code)),
                ("service_name", text(&c.zh)),
                ("description", text(format!("{}（{}）", c.zh, c.en))),
                ("metadata", Node::Bool(true)),
                ("type", text("batch")),
                ("keywords", text(format!("{}, {}", c.zh, c.en))),
                ("group", text(group)),
            ])
        })
        .collect();
    render(
        format,
        StatusCode::OK,
        "services",
        &Node::List("service", items),
    )
}

/// An attribute of a service definition.
struct Attribute {
    code: &'static str,
    datatype: &'static str,
    required: bool,
    description: &'static str,
    values: Vec<(String, String)>,
}

fn attribute(
    code: &'static str,
    datatype: &'static str,
    description: &'static str,
    values: Vec<(String, String)>,
) -> Attribute {
    Attribute {
        code,
        datatype,
        required: false,
        description,
        values,
    }
}

/// The attributes every service takes: one of each datatype the spec defines.
fn attributes() -> Vec<Attribute> {
    let kinds = RequestKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), k.name_zh().to_owned()))
        .collect();
    vec![
        attribute(
            "kind",
            "singlevaluelist",
            "诉求类型（默认：投诉）/ Kind of request (default: complaint)",
            kinds,
        ),
        attribute(
            "township",
            "singlevaluelist",
            "所在乡镇 / Township (or name it in address_string)",
            Vec::new(),
        ),
        attribute(
            "village",
            "string",
            "所在村（名称或代码）/ Village, by name or code",
            Vec::new(),
        ),
        attribute(
            "urgent",
            "singlevaluelist",
            "是否紧急 / Immediate danger or hardship",
            vec![
                ("yes".into(), "是 / yes".into()),
                ("no".into(), "否 / no".into()),
            ],
        ),
        attribute(
            "occurred_at",
            "datetime",
            "发生时间 / When it happened",
            Vec::new(),
        ),
        attribute(
            "people_affected",
            "number",
            "受影响人数 / How many people are affected",
            Vec::new(),
        ),
        attribute("details", "text", "补充说明 / More details", Vec::new()),
        attribute(
            "concerns",
            "multivaluelist",
            "涉及情况 / What it involves",
            vec![
                ("safety".into(), "安全隐患 / a safety risk".into()),
                (
                    "elderly".into(),
                    "老人或儿童 / the elderly or children".into(),
                ),
                ("repeat".into(), "反复发生 / it keeps happening".into()),
                ("disclose".into(), "同意公开 / may be published".into()),
            ],
        ),
    ]
}

async fn service_definition(app: &App, format: Format, lang: Lang, code: &str) -> Response {
    if !categories().iter().any(|c| c.code == code) {
        return error(
            format,
            StatusCode::NOT_FOUND,
            format!("service_code `{code}` not found"),
        );
    }
    let townships: Vec<(String, String)> = match app.catalog().await {
        Ok(s) => s
            .townships()
            .map(|t| (t.code.to_string(), t.name.clone()))
            .collect(),
        Err(e) => return app_error(format, lang, e),
    };
    let attrs = attributes()
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let Attribute {
                code,
                datatype,
                required,
                description,
                values,
            } = a;
            let values = if code == "township" {
                townships.clone()
            } else {
                values
            };
            let mut fields = vec![
                ("variable", Node::Bool(true)),
                ("code", text(code)),
                ("datatype", text(datatype)),
                ("required", Node::Bool(required)),
                (
                    "datatype_description",
                    opt(match datatype {
                        "datetime" => Some("ISO 8601, e.g. 2026-03-02T09:00:00+08:00"),
                        "number" => Some("a whole number"),
                        _ => None,
                    }),
                ),
                ("order", Node::Num((i + 1) as f64)),
                ("description", text(description)),
            ];
            if datatype.ends_with("valuelist") {
                fields.push((
                    "values",
                    Node::List(
                        "value",
                        values
                            .into_iter()
                            .map(|(k, n)| Node::Obj(vec![("key", text(k)), ("name", text(n))]))
                            .collect(),
                    ),
                ));
            }
            Node::Obj(fields)
        })
        .collect();
    let node = Node::Obj(vec![
        ("service_code", text(code)),
        ("attributes", Node::List("attribute", attrs)),
    ]);
    render(format, StatusCode::OK, "service_definition", &node)
}

/// `attribute[CODE]` and `attribute[CODE][]` values by code.
fn attribute_values(p: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in p {
        let Some(inner) = k.strip_prefix("attribute[") else {
            continue;
        };
        let code = inner.trim_end_matches("[]").trim_end_matches(']');
        if !v.trim().is_empty() {
            out.entry(code.to_owned())
                .or_default()
                .push(v.trim().to_owned());
        }
    }
    out
}

async fn create_request(app: &App, format: Format, lang: Lang, p: &[(String, String)]) -> Response {
    let Some(key) = first(p, "api_key") else {
        return error(format, StatusCode::FORBIDDEN, "api_key is missing");
    };
    match app.api_client(key).await {
        Ok(Some(_)) => {}
        Ok(None) => return error(format, StatusCode::FORBIDDEN, "api_key is not valid"),
        Err(e) => return app_error(format, lang, e),
    }
    let Some(service_code) = first(p, "service_code") else {
        return error(format, StatusCode::BAD_REQUEST, "service_code is missing");
    };
    if !categories().iter().any(|c| c.code == service_code) {
        return error(
            format,
            StatusCode::NOT_FOUND,
            format!("service_code `{service_code}` not found"),
        );
    }
    let coordinate = |name: &str| -> Result<Option<f64>, String> {
        match first(p, name) {
            None => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .map(Some)
                .map_err(|_| format!("{name} `{v}` is not a number")),
        }
    };
    let (lat, lon) = match (coordinate("lat"), coordinate("long")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => return error(format, StatusCode::BAD_REQUEST, why),
    };
    let address = first(p, "address_string").unwrap_or_default().to_owned();
    if lat.is_none() && lon.is_none() && address.is_empty() && first(p, "address_id").is_none() {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "a location is required: lat and long, address_string or address_id",
        );
    }
    let attrs = attribute_values(p);
    let one = |code: &str| attrs.get(code).and_then(|v| v.first()).map(String::as_str);
    // Check each attribute against its datatype.
    for Attribute {
        code,
        datatype,
        values,
        ..
    } in attributes()
    {
        let Some(given) = attrs.get(code) else {
            continue;
        };
        let bad = |why: &str| {
            error(
                format,
                StatusCode::BAD_REQUEST,
                format!("attribute[{code}]: {why}"),
            )
        };
        match datatype {
            "number" if given.iter().any(|v| v.parse::<f64>().is_err()) => {
                return bad("not a number");
            }
            "datetime" if given.iter().any(|v| parse_datetime(v).is_none()) => {
                return bad("not an ISO 8601 datetime");
            }
            "singlevaluelist" | "multivaluelist" if !values.is_empty() => {
                if let Some(v) = given.iter().find(|v| !values.iter().any(|(k, _)| k == *v)) {
                    return bad(&format!("`{v}` is not one of its values"));
                }
                if datatype == "singlevaluelist" && given.len() > 1 {
                    return bad("takes one value");
                }
            }
            _ => {}
        }
    }
    let snapshot = match app.catalog().await {
        Ok(s) => s,
        Err(e) => return app_error(format, lang, e),
    };
    // The township: the attribute, else a township named in the address.
    let township = one("township")
        .map(str::to_owned)
        .or_else(|| {
            snapshot
                .townships()
                .find(|t| address.contains(t.name.as_str()))
                .map(|t| t.code.to_string())
        })
        .unwrap_or_default();
    let village = one("village")
        .map(|v| {
            snapshot
                .divisions
                .iter()
                .find(|d| {
                    d.code.as_str() == v
                        || (d.name == v && d.level == tongban_domain::DivisionLevel::Village)
                })
                .map_or_else(|| v.to_owned(), |d| d.code.to_string())
        })
        .unwrap_or_default();
    let mut description = first(p, "description").unwrap_or_default().to_owned();
    let mut extra = Vec::new();
    if let Some(t) = one("occurred_at") {
        extra.push(format!("发生时间：{t}"));
    }
    if let Some(n) = one("people_affected") {
        extra.push(format!("受影响人数：{n}"));
    }
    if let Some(d) = one("details") {
        extra.push(d.to_owned());
    }
    if let Some(m) = first(p, "media_url") {
        extra.push(format!("照片：{m}"));
    }
    if !extra.is_empty() {
        description = format!("{description}\n{}", extra.join("\n"));
    }
    let concerns = attrs.get("concerns").cloned().unwrap_or_default();
    let name = [first(p, "last_name"), first(p, "first_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("");
    let new = NewRequest {
        kind: one("kind").unwrap_or("complaint").to_owned(),
        category: service_code.to_owned(),
        urgent: one("urgent") == Some("yes"),
        text: description,
        township,
        village,
        lat,
        lon,
        address,
        anonymous: false,
        disclose: concerns.iter().any(|c| c == "disclose"),
        contact_name: name,
        contact_phone: first(p, "phone").unwrap_or_default().to_owned(),
        service_code: Some(service_code.to_owned()),
        photos: Vec::new(),
    };
    match app.file_request(None, Channel::Open311, &new).await {
        Ok(r) => {
            let node = Node::List(
                "request",
                vec![Node::Obj(vec![
                    ("service_request_id", text(&r.reference)),
                    ("service_notice", text(notice(&r))),
                    ("account_id", Node::Text(None)),
                ])],
            );
            render(format, StatusCode::CREATED, "service_requests", &node)
        }
        Err(e) => app_error(format, lang, e),
    }
}

fn notice(r: &RequestRecord) -> String {
    let display =
        CaseRef::parse(&r.reference).map_or_else(|_| r.reference.clone(), |c| c.to_string());
    format!(
        "已受理，编号 {display}；将在规定时限内转交办理单位。Received as {display}; it will be passed to the office that handles it."
    )
}

fn status_of(r: &RequestRecord) -> &'static str {
    if matches!(r.stage.as_str(), "closed" | "merged") {
        "closed"
    } else {
        "open"
    }
}

async fn request_node(app: &App, r: &RequestRecord, extensions: bool) -> Node {
    let snapshot = app.catalog().await.ok();
    let category = categories().iter().find(|c| c.code == r.category);
    let agency = r.unit_code.as_deref().map(|u| {
        snapshot
            .as_ref()
            .map_or_else(|| u.to_owned(), |s| s.unit_name(u).to_owned())
    });
    let place = r
        .village_code
        .as_deref()
        .or(r.township_code.as_deref())
        .and_then(|c| {
            snapshot
                .as_ref()
                .and_then(|s| s.division(c))
                .map(|d| d.name.clone())
        });
    let status_notes = match r.stage.as_str() {
        "closed" => r
            .reply_text
            .as_deref()
            .map(redact)
            .or(Some("已办结 / closed".into())),
        "merged" => Some("与相同诉求合并办理 / merged with an earlier report".into()),
        "replied" => Some("已答复，待核查 / answered, being checked".into()),
        "in_hand" => Some("办理中 / being handled".into()),
        "dispatched" => Some("已派单，待签收 / passed to the office".into()),
        _ => Some("已受理，待派单 / received".into()),
    };
    // Published only with the resident's consent, and with personal data masked; the point
    // only then too.
    let description = r.disclose.then(|| redact(&r.text));
    let mut fields = vec![
        ("service_request_id", text(&r.reference)),
        ("status", text(status_of(r))),
        ("status_notes", opt(status_notes)),
        ("service_name", opt(category.map(|c| c.zh.clone()))),
        ("service_code", text(&r.category)),
        ("description", opt(description)),
        ("agency_responsible", opt(agency)),
        ("service_notice", Node::Text(None)),
        ("requested_datetime", text(datetime(r.created_at))),
        ("updated_datetime", text(datetime(r.updated_at))),
        ("expected_datetime", opt(r.resolve_by.map(datetime))),
        ("address", opt(place)),
        ("address_id", Node::Text(None)),
        ("zipcode", text("054800")),
        (
            "lat",
            r.lat
                .filter(|_| r.disclose)
                .map_or(Node::Text(None), Node::Num),
        ),
        (
            "long",
            r.lon
                .filter(|_| r.disclose)
                .map_or(Node::Text(None), Node::Num),
        ),
        ("media_url", Node::Text(None)),
    ];
    if extensions {
        let events = app
            .store
            .request_events(&app.tenant, &r.id)
            .await
            .unwrap_or_default();
        let notes = events
            .iter()
            .map(|e| {
                Node::Obj(vec![
                    ("datetime", text(datetime(e.at))),
                    ("type", text(&e.action)),
                    (
                        "status",
                        text(if matches!(e.to_stage.as_str(), "closed" | "merged") {
                            "closed"
                        } else {
                            "open"
                        }),
                    ),
                    (
                        "agency",
                        opt(e.actor_unit.as_deref().map(|u| {
                            snapshot
                                .as_ref()
                                .map_or_else(|| u.to_owned(), |s| s.unit_name(u).to_owned())
                        })),
                    ),
                ])
            })
            .collect();
        fields.push((
            "extended_attributes",
            Node::Obj(vec![("notes", Node::List("note", notes))]),
        ));
    }
    Node::Obj(fields)
}

async fn list_requests(app: &App, format: Format, lang: Lang, p: &[(String, String)]) -> Response {
    let extensions = first(p, "extensions") == Some("true");
    if let Some(ids) = first(p, "service_request_id") {
        // With ids, every other filter is ignored (the spec).
        let mut nodes = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(r) = find(app, id).await {
                nodes.push(request_node(app, &r, extensions).await);
            }
        }
        return render(
            format,
            StatusCode::OK,
            "service_requests",
            &Node::List("request", nodes),
        );
    }
    let date = |name: &str| -> Result<Option<i64>, String> {
        match first(p, name) {
            None => Ok(None),
            Some(v) => parse_datetime(v).map(Some).ok_or_else(|| {
                format!("{name} `{v}` is not a W3C datetime, e.g. 2026-03-02T09:00:00+08:00")
            }),
        }
    };
    let (start, end, after, before) = match (
        date("start_date"),
        date("end_date"),
        date("updated_after"),
        date("updated_before"),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(why), ..) | (_, Err(why), ..) | (_, _, Err(why), _) | (.., Err(why)) => {
            return error(format, StatusCode::BAD_REQUEST, why);
        }
    };
    let mut statuses = Vec::new();
    if let Some(s) = first(p, "status") {
        for v in s.split(',').map(str::trim) {
            match v {
                "open" => {
                    statuses.extend(["filed", "dispatched", "in_hand", "replied"].map(String::from))
                }
                "closed" => statuses.extend(["closed", "merged"].map(String::from)),
                other => {
                    return error(
                        format,
                        StatusCode::BAD_REQUEST,
                        format!("status `{other}` is not open or closed"),
                    );
                }
            }
        }
    }
    let number = |name: &str, default: usize| -> Result<usize, String> {
        match first(p, name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{name} `{v}` is not a positive whole number")),
        }
    };
    let (page, page_size) = match (number("page", 1), number("page_size", MAX_PAGE)) {
        (Ok(a), Ok(b)) => (a, b.min(MAX_PAGE)),
        (Err(why), _) | (_, Err(why)) => return error(format, StatusCode::BAD_REQUEST, why),
    };
    let now = app.now_ms();
    let start = start.or_else(|| {
        (end.is_none() && after.is_none()).then(|| end.unwrap_or(now) - DEFAULT_DAYS * 86_400_000)
    });
    let codes: Vec<String> = first(p, "service_code")
        .map(|s| {
            s.split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut nodes = Vec::new();
    let mut offset = (page - 1) * page_size;
    let mut left = page_size;
    // One query per service code keeps the store's filter simple; most calls name one or none.
    let code_filters: Vec<Option<String>> = if codes.is_empty() {
        vec![None]
    } else {
        codes.into_iter().map(Some).collect()
    };
    for code in code_filters {
        let q = RequestQuery {
            stages: statuses.clone(),
            created_from: start,
            created_to: end,
            updated_from: after,
            updated_to: before,
            newest_first: true,
            limit: (offset + left) as i64,
            ..RequestQuery::default()
        };
        let q = RequestQuery {
            category: code,
            ..q
        };
        let rows = match app.public_requests(&q).await {
            Ok(rows) => rows,
            Err(e) => return app_error(format, lang, e),
        };
        for r in rows.iter().skip(offset) {
            if left == 0 {
                break;
            }
            nodes.push(request_node(app, r, extensions).await);
            left -= 1;
        }
        offset = offset.saturating_sub(rows.len());
    }
    render(
        format,
        StatusCode::OK,
        "service_requests",
        &Node::List("request", nodes),
    )
}

async fn find(app: &App, id: &str) -> Option<RequestRecord> {
    let reference = CaseRef::parse(id).ok()?;
    app.store
        .request_by_reference(&app.tenant, reference.as_str())
        .await
        .ok()
        .flatten()
}

async fn one_request(
    app: &App,
    format: Format,
    _lang: Lang,
    id: &str,
    p: &[(String, String)],
) -> Response {
    match find(app, id).await {
        Some(r) => {
            let node = Node::List(
                "request",
                vec![request_node(app, &r, first(p, "extensions") == Some("true")).await],
            );
            render(format, StatusCode::OK, "service_requests", &node)
        }
        None => error(
            format,
            StatusCode::NOT_FOUND,
            format!("service_request_id `{id}` not found"),
        ),
    }
}

/// Requests are created at once, so a token is the request's id.
async fn token(app: &App, format: Format, token: &str) -> Response {
    match find(app, token).await {
        Some(r) => {
            let node = Node::List(
                "request",
                vec![Node::Obj(vec![
                    ("service_request_id", text(&r.reference)),
                    ("token", text(token)),
                ])],
            );
            render(format, StatusCode::OK, "service_requests", &node)
        }
        None => error(
            format,
            StatusCode::NOT_FOUND,
            format!("token `{token}` not found"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_liberally() {
        assert_eq!(
            parse_path("v2/services.json").map(|p| p.1),
            Some(Format::Json)
        );
        assert_eq!(
            parse_path("v2//requests.xml").map(|p| p.0),
            Some(vec!["requests".to_owned()])
        );
        assert_eq!(
            parse_path("/v2/services/city.lighting.json").map(|p| p.0),
            Some(vec!["services".to_owned(), "city.lighting".to_owned()])
        );
        assert_eq!(parse_path("v2/discovery").map(|p| p.1), Some(Format::Xml));
        assert!(parse_path("v3/services.json").is_none());
        assert!(parse_path("v2/services.yaml").is_none());
    }

    #[test]
    fn xml_is_escaped_and_empty_values_are_empty_elements() {
        let node = Node::Obj(vec![
            ("a", text("<&>\"'")),
            ("b", Node::Text(None)),
            ("n", Node::Num(3.0)),
        ]);
        let mut out = String::new();
        node.xml_into("r", &mut out);
        assert_eq!(out, "<r><a>&lt;&amp;&gt;&quot;&apos;</a><b/><n>3</n></r>");
        let mut json = String::new();
        node.json_into(&mut json);
        assert_eq!(json, r#"{"a":"<&>\"'","b":null,"n":3}"#);
    }

    #[test]
    fn times_carry_the_county_offset() {
        assert_eq!(datetime(0), "1970-01-01T08:00:00+08:00");
        assert_eq!(
            parse_datetime("2026-03-02T09:00:00+08:00"),
            Some(1_772_413_200_000)
        );
        assert_eq!(
            parse_datetime("2026-03-02T01:00:00Z"),
            Some(1_772_413_200_000)
        );
        assert!(parse_datetime("yesterday").is_none());
    }
}
