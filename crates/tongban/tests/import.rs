//! Importing and exporting master data: every bad row reported, nothing half-written, and
//! export round-trips with import.

use std::sync::Arc;
use std::time::Duration;

use tongban_app::{
    App, AppError, Dataset, SearchIndex, SearchParams, demo_dataset, read_dataset_dir,
    write_dataset_dir,
};
use tongban_testkit::{TestApp, backend_tests};

fn report(e: AppError) -> Vec<String> {
    match e {
        AppError::Import(r) => r.errors.iter().map(ToString::to_string).collect(),
        other => panic!("expected an import report, got {other}"),
    }
}

backend_tests! {
    async fn an_import_with_bad_rows_reports_each_with_file_and_line_and_writes_nothing(b: Backend) {
        let Some(app) = TestApp::empty(b).await else { return };
        let mut set = demo_dataset();
        // divisions.csv line 3 (the second town): wrong parent.
        let divisions = set.divisions.clone().unwrap_or_default();
        set.divisions = Some(divisions.replacen("130534100000,葛仙庄镇,township,130534000000", "130534100000,葛仙庄镇,township,130533000000", 1));
        // catalog.json: the first item promises more than the law allows, another names no department.
        let mut items: Vec<serde_json::Value> = serde_json::from_str(set.catalog.as_deref().unwrap_or("[]")).unwrap_or_default();
        items[0]["promised_days"] = serde_json::json!(99);
        items[5]["department"] = serde_json::json!("130534-NOPE");
        items[7]["online_level"] = serde_json::json!(9);
        set.catalog = Some(serde_json::to_string_pretty(&items).unwrap_or_default());
        let errors = report(app.app.import(&set).await.err().unwrap_or_else(|| panic!("import must fail")));
        assert!(errors.iter().any(|e| e.starts_with("divisions.csv:3:") && e.contains("parent_code")), "{errors:#?}");
        assert!(errors.iter().any(|e| e.starts_with("catalog.json:2:") && e.contains("promised_days")), "{errors:#?}");
        assert!(errors.iter().any(|e| e.contains("130534-NOPE")), "{errors:#?}");
        assert!(errors.iter().any(|e| e.contains("online_level")), "{errors:#?}");
        // Nothing at all was written.
        assert!(app.app.store.catalog_is_empty(&app.app.tenant).await.unwrap_or(false));
        assert!(app.app.divisions().await.unwrap_or_default().is_empty());
        assert_eq!(app.get("/api/v1/items").await.json()["total"], 0);
    }

    async fn a_csv_row_of_the_wrong_width_and_broken_json_are_reported(b: Backend) {
        let Some(app) = TestApp::empty(b).await else { return };
        let set = Dataset {
            departments: Some("code,name_zh,name_en,short_zh,duties_zh,phone,address\n130534-X,甲,A,甲,职责,0319-1,地址\n130534-Y,乙\n".into()),
            catalog: Some("[{\"code\": \"1\"".into()),
            ..Dataset::default()
        };
        let errors = report(app.app.import(&set).await.err().unwrap_or_else(|| panic!("import must fail")));
        assert!(errors.iter().any(|e| e.starts_with("departments.csv:3:") && e.contains("expected 7 fields")), "{errors:#?}");
        assert!(errors.iter().any(|e| e.starts_with("catalog.json:1:")), "{errors:#?}");
        assert!(app.app.units().await.unwrap_or_default().is_empty());
    }

    async fn export_then_import_round_trips_the_master_data(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let exported = app.app.export().await.unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write_dataset_dir(&exported, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let read = read_dataset_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, exported);

        let Some(other) = TestApp::empty(b).await else { return };
        let counts = other.app.import(&read).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((counts.divisions, counts.units, counts.items, counts.faqs, counts.calendars), (57, 31, 166, 114, 2));
        let again = other.app.export().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, exported);
        // Importing the same set again changes nothing (upsert by code).
        other.app.import(&read).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other.app.export().await.unwrap_or_else(|e| panic!("{e}")), exported);
    }

    async fn a_partial_import_may_refer_to_what_the_database_holds(b: Backend) {
        let Some(app) = TestApp::demo(b).await else { return };
        let mut items: Vec<serde_json::Value> = serde_json::from_str(demo_dataset().catalog.as_deref().unwrap_or("[]")).unwrap_or_default();
        items.truncate(1);
        items[0]["name"] = serde_json::json!("羊绒网店开业一次办");
        let set = Dataset { catalog: Some(serde_json::to_string(&items).unwrap_or_default()), ..Dataset::default() };
        app.app.import(&set).await.unwrap_or_else(|e| panic!("{e}"));
        let item = app.get("/api/v1/items/1305340101001").await.json();
        assert_eq!(item["name"], "羊绒网店开业一次办");
        // The index was refreshed with the new name.
        let hits = app.get("/api/v1/items?q=%E7%BE%8A%E7%BB%92%E7%BD%91%E5%BA%97%E5%BC%80%E4%B8%9A%E4%B8%80%E6%AC%A1%E5%8A%9E&limit=1").await.json();
        assert_eq!(hits["items"][0]["code"], "1305340101001");
    }

    async fn a_calendar_with_a_weekday_make_up_day_is_rejected(b: Backend) {
        let Some(app) = TestApp::empty(b).await else { return };
        let mut set = Dataset::default();
        set.calendars.insert("cn-2027.toml".into(), "year = 2027\nworkdays = [\"2027-03-03\"]\n".into());
        let errors = report(app.app.import(&set).await.err().unwrap_or_else(|| panic!("import must fail")));
        assert!(errors.iter().any(|e| e.starts_with("calendar/cn-2027.toml:1:") && e.contains("weekday")), "{errors:#?}");
    }
}

#[test]
fn reading_a_folder_without_data_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert!(read_dataset_dir(dir.path()).is_err());
    assert!(read_dataset_dir(&dir.path().join("missing")).is_err());
}

backend_tests! {
    async fn an_import_by_another_process_reaches_this_one_at_its_next_version_check(b: Backend) {
        let Some(t) = TestApp::demo(b).await else { return };
        // A second server process on the same database, checking the version on every request.
        let index = SearchIndex::in_memory().unwrap_or_else(|e| panic!("{e}"));
        let mine = App::new(t.app.store.clone(), Arc::new(index), t.app.tenant.clone(), t.app.clock.clone())
            .with_catalog_check_interval(Duration::ZERO);
        mine.reindex().await.unwrap_or_else(|e| panic!("{e}"));
        let code = "1305340101001";
        let before = mine.item(code).await.unwrap_or_else(|e| panic!("{e}")).name.clone();
        let search = |app: App| async move {
            app.search(SearchParams { text: "糖画手艺".into(), limit: 5, ..SearchParams::default() })
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        };
        // Asked before the import: nothing yet (and the empty page is now cached).
        assert!(search(mine.clone()).await.items.iter().all(|h| h.item.code.as_str() != code));

        let mut set = demo_dataset();
        let mut items: Vec<serde_json::Value> = serde_json::from_str(set.catalog.as_deref().unwrap_or("[]")).unwrap_or_default();
        let entry = items.iter_mut().find(|i| i["code"] == code).unwrap_or_else(|| panic!("no {code}"));
        entry["name"] = serde_json::json!("个体工商户设立登记（新名称）");
        entry["keywords"] = serde_json::json!(["开小卖部", "糖画手艺"]);
        set.catalog = Some(serde_json::to_string(&items).unwrap_or_default());
        t.app.import(&set).await.unwrap_or_else(|e| panic!("{e}"));

        let after = mine.item(code).await.unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(after.name, before);
        assert_eq!(after.name, "个体工商户设立登记（新名称）");
        // Its search index was rebuilt, cached pages with it: the new keyword finds the item.
        let found = search(mine.clone()).await;
        assert_eq!(found.items.first().map(|h| h.item.code.as_str()), Some(code), "{:?}", found.items);
    }

    async fn a_process_trusts_its_snapshot_between_version_checks(b: Backend) {
        let Some(t) = TestApp::demo(b).await else { return };
        let index = SearchIndex::in_memory().unwrap_or_else(|e| panic!("{e}"));
        let mine = App::new(t.app.store.clone(), Arc::new(index), t.app.tenant.clone(), t.app.clock.clone())
            .with_catalog_check_interval(Duration::from_secs(3600));
        mine.reindex().await.unwrap_or_else(|e| panic!("{e}"));
        let mut set = demo_dataset();
        set.divisions = None;
        set.departments = None;
        set.faq = None;
        set.calendars.clear();
        let mut items: Vec<serde_json::Value> = serde_json::from_str(set.catalog.as_deref().unwrap_or("[]")).unwrap_or_default();
        items[0]["name"] = serde_json::json!("改过的名称");
        let code = items[0]["code"].as_str().unwrap_or_default().to_owned();
        set.catalog = Some(serde_json::to_string(&items).unwrap_or_default());
        t.app.import(&set).await.unwrap_or_else(|e| panic!("{e}"));
        // No database round trip per request: the held snapshot answers until the next check.
        assert_ne!(mine.item(&code).await.unwrap_or_else(|e| panic!("{e}")).name, "改过的名称");
        // The importing process itself sees its import at once.
        assert_eq!(t.app.item(&code).await.unwrap_or_else(|e| panic!("{e}")).name, "改过的名称");
    }
}
