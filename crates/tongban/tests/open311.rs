//! Open311 GeoReport v2 as clients call it: every endpoint in XML and JSON, the spec's element
//! names and error format (snapshot-tested), the bad input the spec names, and requests filed
//! here going round the same loop as every other.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tongban_domain::request::lifecycle::RequestAction;
use tongban_testkit::{TestApp, backend_tests};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn call(t: &TestApp, method: &str, uri: &str, form: Option<String>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if form.is_some() {
        request = request.header("content-type", "application/x-www-form-urlencoded");
    }
    let request = request
        .body(form.map_or_else(Body::empty, Body::from))
        .unwrap_or_else(|e| panic!("{e}"));
    let response = t
        .router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    Answer {
        status,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Form fields as a client sends them.
type Form<'a> = Vec<(&'a str, &'a str)>;

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

const LIGHT: &str = "城东村口的路灯坏了一个多月了，晚上黑得看不见路，我是李明，电话13800138000";

backend_tests! {
    async fn discovery_services_and_definitions_use_the_specs_names_in_xml_and_json(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let xml = call(&t, "GET", "/open311/v2/discovery.xml", None).await;
        assert_eq!(xml.status, StatusCode::OK);
        assert!(xml.content_type.starts_with("text/xml"));
        insta::assert_snapshot!("discovery_xml", xml.body);
        let json = call(&t, "GET", "/open311/v2/discovery.json", None).await;
        assert!(json.content_type.starts_with("application/json"));
        insta::assert_snapshot!("discovery_json", json.body);

        let services = call(&t, "GET", "/open311/v2/services.json?jurisdiction_id=130534", None).await;
        let list: serde_json::Value = serde_json::from_str(&services.body).unwrap_or_default();
        let first = &list[0];
        let mut keys: Vec<&str> = first.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(keys, ["description", "group", "keywords", "metadata", "service_code", "service_name", "type"]);
        assert!(services.body.starts_with("[{\"service_code\":"), "the spec's order: {}", services.body);
        assert!(list.as_array().is_some_and(|a| a.iter().any(|s| s["service_code"] == "city.lighting")));
        let xml = call(&t, "GET", "/open311/v2/services.xml?jurisdiction_id=", None).await;
        assert!(xml.body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>"), "{}", xml.body);
        assert!(!xml.body.contains("xmlns"));

        let definition = call(&t, "GET", "/open311/v2/services/city.lighting.xml", None).await;
        insta::assert_snapshot!("service_definition_xml", definition.body);
        let definition = call(&t, "GET", "/open311/v2/services/city.lighting.json", None).await;
        let d: serde_json::Value = serde_json::from_str(&definition.body).unwrap_or_default();
        let types: Vec<&str> = d["attributes"].as_array().map(|a| a.iter().filter_map(|x| x["datatype"].as_str()).collect()).unwrap_or_default();
        for datatype in ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"] {
            assert!(types.contains(&datatype), "{datatype} in {types:?}");
        }

        for (path, status) in [
            ("/open311/v2/services/weather.json", StatusCode::NOT_FOUND),
            ("/open311/v2/services.json?jurisdiction_id=110000", StatusCode::NOT_FOUND),
            ("/open311/v2/nothing.json", StatusCode::NOT_FOUND),
        ] {
            let a = call(&t, "GET", path, None).await;
            assert_eq!(a.status, status, "{path}");
            let e: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
            assert_eq!(e[0]["code"], status.as_u16(), "{path}: {}", a.body);
            assert!(e[0]["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
        let a = call(&t, "GET", "/open311/v2/services/weather.xml", None).await;
        insta::assert_snapshot!("error_xml", a.body);
    }
}

backend_tests! {
    async fn a_client_files_a_request_that_goes_round_the_loop_and_reads_it_back(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let key = app.create_api_key("城管通").await.unwrap_or_else(|e| panic!("{e}")).key;

        // Bad input, each with the spec's status and error format, filing nothing.
        let good: Vec<(&str, &str)> = vec![("api_key", &key), ("service_code", "city.lighting"), ("lat", "37.07"), ("long", "115.67"), ("description", LIGHT)];
        let without = |name: &str| good.iter().filter(|(k, _)| *k != name).copied().collect::<Vec<_>>();
        let with = |name: &'static str, value: &'static str| {
            let mut v = without(name);
            v.push((name, value));
            v
        };
        let long = "字".repeat(4001);
        let mut too_long = without("description");
        too_long.push(("description", &long));
        let cases: Vec<(Form<'_>, StatusCode, &str)> = vec![
            (without("api_key"), StatusCode::FORBIDDEN, "api_key"),
            (with("api_key", "tb311_wrong"), StatusCode::FORBIDDEN, "api_key"),
            (without("service_code"), StatusCode::BAD_REQUEST, "service_code"),
            (with("service_code", "weather"), StatusCode::NOT_FOUND, "service_code"),
            (without("lat").into_iter().filter(|(k, _)| *k != "long").collect(), StatusCode::BAD_REQUEST, "location"),
            (with("lat", "north"), StatusCode::BAD_REQUEST, "lat"),
            (with("lat", "39.9"), StatusCode::BAD_REQUEST, "lat/long"),
            (too_long, StatusCode::BAD_REQUEST, "description"),
            ({ let mut v = good.clone(); v.push(("attribute[people_affected]", "many")); v }, StatusCode::BAD_REQUEST, "attribute[people_affected]"),
            ({ let mut v = good.clone(); v.push(("attribute[occurred_at]", "last week")); v }, StatusCode::BAD_REQUEST, "attribute[occurred_at]"),
            ({ let mut v = good.clone(); v.push(("attribute[kind]", "rant")); v }, StatusCode::BAD_REQUEST, "attribute[kind]"),
            ({ let mut v = good.clone(); v.push(("attribute[concerns][]", "aliens")); v }, StatusCode::BAD_REQUEST, "attribute[concerns]"),
        ];
        for (pairs, status, mention) in cases {
            let a = call(&t, "POST", "/open311/v2/requests.json", Some(form(&pairs))).await;
            assert_eq!(a.status, status, "{mention}: {}", a.body);
            let e: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
            assert_eq!(e[0]["code"], status.as_u16());
            assert!(e[0]["description"].as_str().is_some_and(|d| d.contains(mention)), "{mention}: {}", a.body);
        }
        let dispatcher = t.principal_by_username("dispatcher").await;
        assert!(app.dispatch_queue(&dispatcher).await.unwrap_or_default().is_empty(), "nothing was filed");

        // Filed with attributes (api_key in the query string, a doubled slash in the path).
        let mut pairs = without("api_key");
        pairs.extend([("attribute[kind]", "help"), ("attribute[people_affected]", "30"), ("attribute[occurred_at]", "2026-02-20T19:00:00+08:00"), ("attribute[concerns][]", "safety"), ("attribute[concerns][]", "disclose"), ("address_string", "葛仙庄镇城东村"), ("first_name", "明"), ("last_name", "李"), ("phone", "13800138000")]);
        let a = call(&t, "POST", &format!("/open311/v2//requests.xml?api_key={key}"), Some(form(&pairs))).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let id = a.body.split("<service_request_id>").nth(1).and_then(|s| s.split('<').next()).unwrap_or_default().to_owned();
        assert_eq!(id.len(), 9, "{}", a.body);
        insta::assert_snapshot!("post_request_xml", a.body.replace(&id, "ID").replace(&tongban_domain::reference::CaseRef::parse(&id).map(|c| c.to_string()).unwrap_or_default(), "ID"));
        let queue = app.dispatch_queue(&dispatcher).await.unwrap_or_default();
        let r = queue.iter().find(|r| r.reference == id).cloned().unwrap_or_else(|| panic!("not in the dispatch queue"));
        assert_eq!((r.kind.as_str(), r.channel.as_str(), r.township_code.as_deref()), ("help", "open311", Some("130534100000")));
        assert!(r.text.contains("受影响人数：30") && r.contact_phone_enc.is_some());

        // Read back: open, published with personal data masked.
        let one = call(&t, "GET", &format!("/open311/v2/requests/{id}.json"), None).await;
        let v: serde_json::Value = serde_json::from_str(&one.body).unwrap_or_default();
        let mut keys: Vec<&str> = v[0].as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(keys, ["address", "address_id", "agency_responsible", "description", "expected_datetime", "lat", "long", "media_url", "requested_datetime", "service_code", "service_name", "service_notice", "service_request_id", "status", "status_notes", "updated_datetime", "zipcode"]);
        assert_eq!(v[0]["status"], "open");
        let description = v[0]["description"].as_str().unwrap_or_default();
        assert!(description.contains("李某") && description.contains("***********") && !description.contains("13800138000"), "{description}");
        assert!(v[0]["requested_datetime"].as_str().is_some_and(|d| d.ends_with("+08:00")));

        // The loop: dispatched, signed, replied, closed; Open311 shows it.
        let unit = "130534-CGJ";
        app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Dispatch { unit: unit.into() }).await.unwrap_or_else(|e| panic!("{e}"));
        let admin = t.principal_by_username("admin").await;
        app.create_staff(&admin.actor, &tongban_app::people::NewStaff { username: "cgj".into(), name: "城管".into(), unit: unit.into(), roles: vec!["department_handler".into()], password: tongban_app::DEMO_PASSWORD.into() }).await.unwrap_or_else(|e| panic!("{e}"));
        let cgj = t.principal_by_username("cgj").await;
        app.act_on_request(&cgj, &r.id, None, &RequestAction::Sign).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&cgj, &r.id, None, &RequestAction::Contact { note: "已电话联系".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&cgj, &r.id, None, &RequestAction::Reply { text: "路灯已修复，联系人李明13800138000确认".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Close).await.unwrap_or_else(|e| panic!("{e}"));
        let xml = call(&t, "GET", &format!("/open311/v2/requests/{id}.xml?extensions=true"), None).await;
        assert!(xml.body.contains("<status>closed</status>") && xml.body.contains("<agency_responsible>清河县城市管理综合行政执法局</agency_responsible>"), "{}", xml.body);
        assert!(xml.body.contains("<status_notes>路灯已修复，联系人李某某***********确认</status_notes>") || xml.body.contains("路灯已修复"), "{}", xml.body);
        assert!(!xml.body.contains("13800138000"));
        assert!(xml.body.contains("<extended_attributes><notes><note><datetime>") && xml.body.contains("<type>sign</type>"), "{}", xml.body);
        assert!(xml.body.contains("<expected_datetime>") && !xml.body.contains("<expected_datetime/>"));

        // Filters: status, ids (which override the rest), dates, paging, bad values.
        let closed = call(&t, "GET", "/open311/v2/requests.json?status=closed", None).await;
        assert!(closed.body.contains(&id));
        let open = call(&t, "GET", "/open311/v2/requests.json?status=open", None).await;
        assert!(!open.body.contains(&id));
        let by_id = call(&t, "GET", &format!("/open311/v2/requests.json?service_request_id={id},NOPE&status=open"), None).await;
        assert!(by_id.body.contains(&id), "ids override the other filters");
        let future = call(&t, "GET", "/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z", None).await;
        assert_eq!(future.body, "[]");
        let paged = call(&t, "GET", "/open311/v2/requests.json?page=2&page_size=1", None).await;
        assert_eq!(paged.body, "[]", "one request: page 2 of size 1 is empty");
        let updated = call(&t, "GET", "/open311/v2/requests.json?updated_after=2000-01-01T00:00:00Z&service_code=city.lighting", None).await;
        assert!(updated.body.contains(&id));
        for bad in ["status=pending", "start_date=yesterday", "page=0", "updated_before=soon"] {
            let a = call(&t, "GET", &format!("/open311/v2/requests.xml?{bad}"), None).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(a.body.contains("<errors><error><code>400</code><description>"), "{}", a.body);
        }
        let missing = call(&t, "GET", "/open311/v2/requests/ZZZZZZZZZ.json", None).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let token = call(&t, "GET", &format!("/open311/v2/tokens/{id}.json"), None).await;
        assert_eq!(token.status, StatusCode::OK);
        assert!(token.body.contains(&format!("\"service_request_id\":\"{id}\"")), "{}", token.body);

        // A revoked key files nothing.
        app.revoke_api_key(&key).await.unwrap_or_else(|e| panic!("{e}"));
        let a = call(&t, "POST", "/open311/v2/requests.json", Some(form(&good))).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
}
