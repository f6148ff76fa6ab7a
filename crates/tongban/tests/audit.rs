//! The audit trail is a hash chain: any edit, removal or truncation made directly in the
//! database is found, and the first broken entry is named.

mod common;
use common::tongban;

use tongban_app::{AuditVerdict, Store, demo_dataset};
use tongban_domain::audit::{ChainBreak, chain_hash};
use tongban_testkit::{TestApp, backend_tests};

async fn verdict(t: &TestApp) -> AuditVerdict {
    t.app.verify_audit().await.unwrap_or_else(|e| panic!("{e}"))
}

async fn three_imports(b: tongban_testkit::Backend) -> Option<TestApp> {
    let t = TestApp::demo(b).await?;
    for _ in 0..2 {
        t.app
            .import(&demo_dataset())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    Some(t)
}

backend_tests! {
    async fn every_import_is_recorded_and_the_untouched_chain_verifies(b: Backend) {
        let Some(t) = three_imports(b).await else { return };
        assert_eq!(verdict(&t).await, AuditVerdict::Intact { entries: 3 });
        let entries = t
            .app
            .store
            .audit_entries(&t.app.tenant, &tongban_app::AuditFilter::default(), 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entries.len(), 3);
        assert!(entries.iter().all(|e| e.record.entry.action == "catalog.import" && e.record.entry.detail.contains("items=166")));
        let filter = tongban_app::AuditFilter {
            actor: Some("system".into()),
            action_prefix: Some("catalog.".into()),
            before_seq: Some(3),
            since_ms: Some(0),
            ..Default::default()
        };
        let page = t.app.store.audit_entries(&t.app.tenant, &filter, 10).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.iter().map(|e| e.record.seq).collect::<Vec<_>>(), vec![2, 1]);
    }

    async fn editing_one_entry_in_the_database_breaks_the_chain_at_that_entry(b: Backend) {
        let Some(t) = three_imports(b).await else { return };
        t.app
            .store
            .execute_admin("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verdict(&t).await, AuditVerdict::Broken(ChainBreak::Content { seq: 2 }));
    }

    async fn rehashing_an_edited_entry_still_breaks_the_link_of_the_next(b: Backend) {
        let Some(t) = three_imports(b).await else { return };
        // A forger who edits entry 1 and recomputes its hash cannot fix the link of entry 2.
        let first = t.app.store.audit_chain_batch(&t.app.tenant, 0, 1).await.unwrap_or_else(|e| panic!("{e}"));
        let mut forged = first[0].record.clone();
        forged.entry.actor = "someone-else".into();
        let hash = chain_hash(&first[0].prev_hash, &forged);
        t.app
            .store
            .execute_admin(&format!("UPDATE audit_log SET actor = 'someone-else', hash = '{hash}' WHERE seq = 1"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verdict(&t).await, AuditVerdict::Broken(ChainBreak::Link { seq: 2 }));
    }

    async fn removing_entries_in_the_middle_or_at_the_end_is_found(b: Backend) {
        let Some(t) = three_imports(b).await else { return };
        t.app
            .store
            .execute_admin("DELETE FROM audit_log WHERE seq = 3")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verdict(&t).await, AuditVerdict::Broken(ChainBreak::Truncated { last: 2, head: 3 }));
        t.app
            .store
            .execute_admin("DELETE FROM audit_log WHERE seq = 1")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verdict(&t).await, AuditVerdict::Broken(ChainBreak::Gap { seq: 2, previous: 0 }));
    }
}

#[tokio::test]
async fn audit_verify_on_the_command_line_names_the_edited_entry_and_fails() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("data");
    let data_arg = data.to_str().unwrap_or_default();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/demo/qinghe");
    let (code, _, err) = tongban(&["import", demo, "--data-dir", data_arg], work.path());
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = tongban(&["audit", "verify", "--data-dir", data_arg], work.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("audit chain intact: 1 entries"), "{out}");

    let url = format!("sqlite://{}", data.join("tongban.db").display());
    let store = Store::connect(&url, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .execute_admin("UPDATE audit_log SET detail = 'items=1' WHERE seq = 1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.close().await;

    let (code, _, err) = tongban(&["audit", "verify", "--data-dir", data_arg], work.path());
    assert_eq!(code, 1);
    assert!(err.contains("audit chain broken at entry 1"), "{err}");
}
