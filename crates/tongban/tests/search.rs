//! Chinese search through the JSON API, on both backends.

use tongban_testkit::{TestApp, backend_tests};

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn search_names(app: &TestApp, q: &str) -> (u64, Vec<String>) {
    let r = app
        .get(&format!("/api/v1/items?limit=10&q={}", enc(q)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let names = body["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (body["total"].as_u64().unwrap_or(0), names)
}

backend_tests! {
    async fn business_licence_query_ranks_licence_items_first(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let (total, names) = search_names(&app, "营业执照").await;
        assert!(total > 0);
        let top3 = &names[..3];
        for expected in ["个体工商户设立登记", "营业执照遗失补领、换发", "有限责任公司设立登记"] {
            assert!(top3.iter().any(|n| n == expected), "{expected} not in top 3: {names:?}");
        }
    }

    async fn pinyin_initials_yyzz_find_the_business_licence(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let (_, names) = search_names(&app, "yyzz").await;
        assert!(names.iter().take(3).any(|n| n.contains("营业执照") || n.contains("个体工商户")), "{names:?}");
        let (_, names) = search_names(&app, "YYZZ").await;
        assert!(!names.is_empty(), "initials are case-insensitive");
    }

    async fn pinyin_initials_prefix_and_full_pinyin_find_items(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let (_, names) = search_names(&app, "gtgsh").await;
        assert!(names[0].starts_with("个体工商户"), "{names:?}");
        let (_, names) = search_names(&app, "yingyezhizhao").await;
        assert!(names.iter().take(3).any(|n| n.contains("营业执照") || n.contains("个体工商户")), "{names:?}");
    }

    async fn one_wrong_character_still_finds_the_item(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        // A wrong character inside the word.
        let (_, names) = search_names(&app, "营业执造").await;
        assert!(names.iter().take(3).any(|n| n.contains("营业执照") || n.contains("个体工商户")), "{names:?}");
        // A homophone typed by a pinyin keyboard.
        let (_, names) = search_names(&app, "身分证").await;
        assert!(names.iter().take(2).any(|n| n.contains("身份证")), "{names:?}");
        let (_, names) = search_names(&app, "最低生活保帐").await;
        assert!(names.iter().take(3).any(|n| n.contains("最低生活保障")), "{names:?}");
    }

    async fn synonyms_find_items_named_otherwise(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let (_, names) = search_names(&app, "驾照").await;
        assert!(names.iter().take(5).any(|n| n.contains("驾驶证")), "{names:?}");
        let (_, names) = search_names(&app, "低保").await;
        assert_eq!(names[0], "最低生活保障申请", "{names:?}");
    }

    async fn colloquial_questions_rank_by_content_words(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let (_, names) = search_names(&app, "怎么办理营业执照需要什么材料").await;
        assert!(names.iter().take(3).any(|n| n.contains("营业执照") || n.contains("个体工商户")), "{names:?}");
        let (_, names) = search_names(&app, "孩子出生了怎么上户口").await;
        assert!(names.iter().take(3).any(|n| n.contains("出生登记")), "{names:?}");
    }

    async fn a_name_match_outranks_a_material_match(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        // 结婚证 is the name's subject for marriage registration and only a material elsewhere.
        let (_, names) = search_names(&app, "结婚登记").await;
        assert!(names[0].contains("结婚登记"), "{names:?}");
    }

    async fn a_search_that_finds_nothing_is_recorded_as_a_miss(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let (total, _) = search_names(&app, "天气预报").await;
        assert_eq!(total, 0);
        search_names(&app, "  天气预报 ").await;
        let misses = app.app.search_misses(10).await.unwrap_or_default();
        assert_eq!(misses.len(), 1, "{misses:?}");
        assert_eq!(misses[0].query, "天气预报");
        assert_eq!(misses[0].times, 2);
        // A search that finds something is not a miss.
        search_names(&app, "低保").await;
        assert_eq!(app.app.search_misses(10).await.unwrap_or_default().len(), 1);
    }

    async fn filters_narrow_the_results(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let r = app.get(&format!("/api/v1/items?limit=100&department=130534-GAJ&q={}", enc("证明"))).await;
        let body = r.json();
        let items = body["items"].as_array().cloned().unwrap_or_default();
        assert!(!items.is_empty());
        assert!(items.iter().all(|i| i["department"] == "130534-GAJ"), "{items:?}");

        let r = app.get("/api/v1/items?limit=100&event=birth").await.json();
        let items = r["items"].as_array().cloned().unwrap_or_default();
        assert!(!items.is_empty());
        assert!(items.iter().all(|i| i["life_events"].as_array().is_some_and(|e| e.iter().any(|x| x == "出生"))));

        let r = app.get(&format!("/api/v1/items?limit=100&level=township&target={}", enc("个人"))).await.json();
        let items = r["items"].as_array().cloned().unwrap_or_default();
        assert!(!items.is_empty());
        assert!(items.iter().all(|i| i["level"] == "township"));
    }

    async fn listing_without_a_query_pages_through_the_catalog_in_order(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let first = app.get("/api/v1/items?limit=100").await.json();
        assert_eq!(first["total"], 166);
        let second = app.get("/api/v1/items?limit=100&offset=100").await.json();
        assert_eq!(second["items"].as_array().map(Vec::len), Some(66));
        assert_eq!(first["items"][0]["code"], "1305340101001");
    }

    async fn faq_search_answers_a_question(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let r = app.get(&format!("/api/v1/faqs?q={}", enc("开网店要办营业执照吗"))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        assert!(body["faqs"][0]["question"].as_str().unwrap_or("").contains("网店"), "{body}");
    }
}
