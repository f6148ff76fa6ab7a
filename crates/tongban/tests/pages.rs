//! Server-rendered pages: content, language, elderly mode, errors, headers, caching.

use tongban_testkit::{Backend, TestApp, backend_tests};

backend_tests! {
    async fn home_page_offers_search_life_events_popular_items_and_towns(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let r = app.get("/").await;
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains(r#"<html lang="zh-CN""#));
        assert!(html.contains(r#"action="/search""#));
        for event in ["出生", "入学", "就业", "创业", "养老", "救助"] {
            assert!(html.contains(event), "{event} missing");
        }
        assert!(html.contains("/items/"), "popular items missing");
        assert!(html.contains("/townships/130534101000") && html.contains("连庄镇"));
    }

    async fn search_page_lists_results_with_filters_and_faq_answers(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let html = app.get("/search?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7").await.text();
        assert!(html.contains("个体工商户设立登记"));
        assert!(html.contains(r#"name="department""#) && html.contains(r#"name="event""#));
        assert!(html.contains("常见问题"));
        let none = app.get("/search?q=%E5%A4%A9%E6%B0%94%E9%A2%84%E6%8A%A5").await.text();
        assert!(none.contains("没有找到相关服务"));
        let bad = app.get("/search?limit=x").await;
        assert_eq!(bad.status, 400);
        assert!(bad.text().contains("limit"));
    }

    async fn guide_page_states_trips_time_limits_fees_and_materials(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let html = app.get("/items/1305340101001").await.text();
        for needle in ["个体工商户设立登记", "零跑动", "即办", "不收费", "经营者居民身份证", "申请材料", "办理流程", "设定依据", "法定时限", "3 个工作日"] {
            assert!(html.contains(needle), "{needle} missing");
        }
        // An item with a fee shows the amount and its basis.
        let passport = app.get("/api/v1/items?q=%E6%8A%A4%E7%85%A7&limit=1").await.json();
        let code = passport["items"][0]["code"].as_str().unwrap_or_default().to_owned();
        let html = app.get(&format!("/items/{code}")).await.text();
        assert!(html.contains("120 元"), "passport fee missing");
    }

    async fn unknown_pages_and_items_answer_a_404_page(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        for path in ["/items/0000", "/nowhere", "/departments/NOPE", "/townships/130534999000"] {
            let r = app.get(path).await;
            assert_eq!(r.status, 404, "{path}");
            assert!(r.text().contains("页面不存在"), "{path}");
        }
    }

    async fn department_and_township_pages_show_their_items(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let html = app.get("/departments/130534-SPJ").await.text();
        assert!(html.contains("清河县行政审批局") && html.contains("个体工商户设立登记"));
        let html = app.get("/townships/130534101000").await.text();
        assert!(html.contains("连庄镇"));
        assert!(html.contains("在本镇便民服务中心、村便民服务站办理"));
        assert!(html.contains("本镇居民常办的县级事项"));
        let list = app.get("/departments").await.text();
        assert!(list.contains("清河县公安局") && list.contains("清河县连庄镇人民政府"));
    }
}

#[tokio::test]
async fn english_switch_persists_in_a_cookie_and_translates_the_interface() {
    let Some(app) = TestApp::demo(Backend::Sqlite).await else {
        return;
    };
    let r = app
        .get("/prefs/lang?set=en&back=%2Fitems%2F1305340101001")
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/items/1305340101001");
    let cookie = r.header("set-cookie").to_owned();
    assert!(
        cookie.starts_with("tb_lang=en")
            && cookie.contains("Max-Age=")
            && cookie.contains("SameSite=Lax")
    );
    let html = app
        .get_with("/items/1305340101001", &[("cookie", "tb_lang=en")])
        .await
        .text();
    assert!(html.contains(r#"<html lang="en""#));
    assert!(
        html.contains("Documents to bring") && html.contains("No visit")
            || html.contains("None: fully online")
    );
    let zh = app.get("/items/1305340101001").await.text();
    assert!(zh.contains("申请材料"));
}

#[tokio::test]
async fn elderly_mode_switch_persists_and_marks_the_page() {
    let Some(app) = TestApp::demo(Backend::Sqlite).await else {
        return;
    };
    let r = app.get("/prefs/care?set=on&back=%2F").await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").starts_with("tb_care=1"));
    let html = app.get_with("/", &[("cookie", "tb_care=1")]).await.text();
    assert!(html.contains(r#"class="care""#));
    assert!(
        !html.contains("main-nav"),
        "elderly mode simplifies navigation"
    );
}

#[tokio::test]
async fn preference_switches_never_redirect_off_site() {
    let Some(app) = TestApp::demo(Backend::Sqlite).await else {
        return;
    };
    for back in [
        "https%3A%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
    ] {
        let r = app.get(&format!("/prefs/lang?set=en&back={back}")).await;
        assert_eq!(r.header("location"), "/", "{back}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let Some(app) = TestApp::demo(Backend::Sqlite).await else {
        return;
    };
    for path in ["/", "/api/v1/items", "/nowhere", "/static/app.css"] {
        let r = app.get(path).await;
        let csp = r.header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(
            r.header("referrer-policy"),
            "strict-origin-when-cross-origin",
            "{path}"
        );
    }
    // No inline script anywhere in the pages.
    let html = app.get("/").await.text();
    assert!(!html.contains("<script>") && !html.contains("onclick="));
}

#[tokio::test]
async fn pages_are_gzipped_and_static_assets_cached_for_a_year() {
    let Some(app) = TestApp::demo(Backend::Sqlite).await else {
        return;
    };
    let r = app.get_with("/", &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.header("content-encoding"), "gzip");
    let html = app.get("/").await.text();
    let css_url = html
        .split("href=\"")
        .find(|s| s.starts_with("/static/app.css?v="))
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let css = app.get(&css_url).await;
    assert_eq!(css.status, 200);
    assert!(css.header("cache-control").contains("immutable"));
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(
        !app.get("/static/app.css")
            .await
            .header("cache-control")
            .contains("immutable")
    );
    assert_eq!(app.get("/static/secret.txt").await.status, 404);
}
