//! The JSON API: shapes, errors, bad input, health; on both backends.

use tongban_testkit::{Backend, TestApp, backend_tests};

backend_tests! {
    async fn item_detail_carries_every_standard_guide_element(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let r = app.get("/api/v1/items/1305340101001").await;
        assert_eq!(r.status, 200);
        let item = r.json();
        for field in [
            "code", "name", "department", "department_name", "level", "type", "target", "legal_basis",
            "statutory_days", "promised_days", "materials", "fee", "place", "hours", "online_level",
            "max_visits", "agent_allowed", "life_events", "keywords", "form_fields", "steps", "faqs",
        ] {
            assert!(item.get(field).is_some(), "missing {field}");
        }
        assert_eq!(item["name"], "个体工商户设立登记");
        assert_eq!(item["department_name"], "清河县行政审批局");
        assert_eq!(item["max_visits"], 0);
        assert!(item["materials"].as_array().is_some_and(|m| m.len() >= 3));
    }

    async fn unknown_item_is_a_json_404_in_the_clients_language(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let r = app.get("/api/v1/items/9999999999999").await;
        assert_eq!(r.status, 404);
        let body = r.json();
        assert_eq!(body["code"], "item_not_found");
        assert!(body["message"].as_str().unwrap_or("").contains("未找到"));
        let r = app.get_with("/api/v1/items/9999999999999", &[("accept-language", "en-US,en;q=0.9")]).await;
        assert!(r.json()["message"].as_str().unwrap_or("").contains("not found"));
        let r = app.get("/api/v1/no-such-thing").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["code"], "route_not_found");
    }

    async fn malformed_parameters_answer_400_naming_the_parameter(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        for (query, param) in [
            ("limit=abc", "limit"),
            ("limit=0", "limit"),
            ("limit=1000", "limit"),
            ("offset=-1", "offset"),
            ("level=city", "level"),
            ("event=holiday", "event"),
            ("target=robot", "target"),
            ("department=%3Cx%3E", "department"),
            ("type=unknown", "type"),
        ] {
            let r = app.get_with(&format!("/api/v1/items?{query}"), &[("accept-language", "en")]).await;
            assert_eq!(r.status, 400, "{query}: {}", r.text());
            let body = r.json();
            assert_eq!(body["code"], "invalid_parameter");
            assert!(body["message"].as_str().unwrap_or("").contains(param), "{query}: {body}");
        }
        let r = app.get("/api/v1/divisions?level=city").await;
        assert_eq!(r.status, 400);
        assert!(r.json()["message"].as_str().unwrap_or("").contains("level"));
        let r = app.get("/api/v1/faqs?q=").await;
        assert_eq!(r.status, 400);
    }

    async fn absurd_and_hostile_queries_are_handled_without_errors(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let long = "营".repeat(10_000);
        for q in [
            long.as_str(),
            "%00%01%02%1F%7F",
            "'%20OR%201%3D1%3B%20DROP%20TABLE%20service_items%3B--",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "%22%27%5C%25_*%3F%5B%5D%7B%7D",
            "+AND+OR+NOT+(",
            "%E2%80%8B%EF%BB%BF",
        ] {
            let r = app.get(&format!("/api/v1/items?q={q}")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text());
            let body = r.json();
            assert!(body["query"].as_str().is_some_and(|s| s.chars().count() <= 64));
            let page = app.get(&format!("/search?q={q}")).await;
            assert_eq!(page.status, 200);
            assert!(!page.text().contains("<script>alert"), "search page must escape the query");
        }
        // The catalog is intact after the hostile queries.
        assert_eq!(app.get("/api/v1/items?limit=1").await.json()["total"], 166);
    }

    async fn divisions_and_units_describe_the_county(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let all = app.get("/api/v1/divisions").await.json();
        assert_eq!(all.as_array().map(Vec::len), Some(57));
        let towns = app.get("/api/v1/divisions?level=township").await.json();
        assert_eq!(towns.as_array().map(Vec::len), Some(6));
        let villages = app.get("/api/v1/divisions?parent=130534100000").await.json();
        assert!(villages.as_array().is_some_and(|v| !v.is_empty() && v.iter().all(|d| d["level"] == "village")));
        let one = app.get("/api/v1/divisions/130534100256").await.json();
        assert_eq!(one["name"], "梨杭村");
        assert_eq!(app.get("/api/v1/divisions/130534999999").await.status, 404);
        let units = app.get("/api/v1/units").await.json();
        assert_eq!(units.as_array().map(Vec::len), Some(31));
        let spj = app.get("/api/v1/units/130534-SPJ").await.json();
        assert!(spj["duties_zh"].as_str().is_some_and(|d| d.contains("营业执照")));
        assert!(spj["items"].as_array().is_some_and(|i| i.len() >= 20));
        let town = app.get("/api/v1/units/130534101000").await.json();
        assert_eq!(town["kind"], "township");
        assert_eq!(app.get("/api/v1/units/NOPE").await.status, 404);
    }

    async fn health_and_readiness_answer_200(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let h = app.get("/healthz").await;
        assert_eq!((h.status.as_u16(), h.text().as_str()), (200, "ok"));
        assert_eq!(app.get("/readyz").await.status, 200);
    }

    async fn readiness_fails_when_the_database_is_gone(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        app.app.store.close().await;
        assert_eq!(app.get("/readyz").await.status, 503);
        assert_eq!(app.get("/healthz").await.status, 200);
    }
}

#[tokio::test]
async fn openapi_document_is_stable_and_lists_every_route() {
    let Some(app) = TestApp::demo(Backend::Sqlite).await else {
        return;
    };
    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    let doc = r.json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in [
        "/api/v1/items",
        "/api/v1/items/{code}",
        "/api/v1/divisions",
        "/api/v1/units",
        "/api/v1/faqs",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    insta::assert_json_snapshot!("openapi", doc);
    let docs = app.get("/api/docs").await;
    assert_eq!(docs.status, 200);
    assert!(docs.text().contains("/api/v1/items/{code}"));
}
