//! The people store on both backends: accounts found by id, phone hash and user name; unique
//! phones and user names enforced with nothing half-written; sign-in codes usable once;
//! sessions and access tokens revocable.

use tongban_app::{Store, StoreError};
use tongban_domain::Tenant;
use tongban_store::{ApiTokenRecord, OtpRecord, OtpSender, SessionRecord, UserKind, UserRecord};
use tongban_testkit::{TestApp, backend_tests};

fn resident(id: &str, phone_hash: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        kind: UserKind::Resident,
        username: None,
        display_name: String::new(),
        phone_enc: Some(format!("v1.enc-{id}")),
        phone_hash: Some(phone_hash.into()),
        email_enc: None,
        id_number_enc: None,
        id_number_hash: None,
        real_name_at: None,
        password_hash: None,
        totp_secret_enc: None,
        totp_confirmed_at: None,
        totp_last_step: None,
        unit_code: None,
        division_code: None,
        roles: vec!["resident".into()],
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        created_by: None,
        created_at: 1_000,
    }
}

async fn insert(store: &Store, tenant: &Tenant, users: &[UserRecord]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for u in users {
        store.insert_user(&mut tx, tenant, u).await?;
    }
    tx.commit().await
}

backend_tests! {
    async fn users_are_found_by_id_phone_hash_and_user_name(b: Backend) {
        let Some(t) = TestApp::empty(b).await else { return };
        let (store, tenant) = (&t.app.store, &t.app.tenant);
        let staff = UserRecord {
            kind: UserKind::Staff,
            username: Some("wang.clerk".into()),
            phone_enc: None,
            phone_hash: None,
            roles: vec!["window_clerk".into(), "department_handler".into()],
            ..resident("s1", "")
        };
        insert(store, tenant, &[resident("r1", "hash-a"), staff.clone()]).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.user(tenant, "r1").await.ok().flatten().map(|u| u.id), Some("r1".into()));
        assert_eq!(store.user_by_phone_hash(tenant, "hash-a").await.ok().flatten().map(|u| u.id), Some("r1".into()));
        assert_eq!(store.user_by_username(tenant, "wang.clerk").await.ok().flatten(), Some(staff.clone()));
        assert_eq!(store.user(tenant, "nobody").await.ok().flatten(), None);
        assert_eq!(store.staff(tenant).await.unwrap_or_default(), vec![staff]);
    }

    async fn a_second_account_on_one_phone_is_refused_and_nothing_of_the_transaction_lands(b: Backend) {
        let Some(t) = TestApp::empty(b).await else { return };
        let (store, tenant) = (&t.app.store, &t.app.tenant);
        insert(store, tenant, &[resident("r1", "hash-a")]).await.unwrap_or_else(|e| panic!("{e}"));
        let err = insert(store, tenant, &[resident("r2", "hash-b"), resident("r3", "hash-a")]).await;
        assert!(matches!(err, Err(StoreError::Constraint(_))), "{err:?}");
        // r2 was written in the same transaction before the refusal: it is gone too.
        assert_eq!(store.user(tenant, "r2").await.ok().flatten(), None);
        assert_eq!(store.user(tenant, "r3").await.ok().flatten(), None);
    }

    async fn updating_a_user_writes_every_mutable_field_and_a_missing_user_is_an_error(b: Backend) {
        let Some(t) = TestApp::empty(b).await else { return };
        let (store, tenant) = (&t.app.store, &t.app.tenant);
        insert(store, tenant, &[resident("r1", "hash-a")]).await.unwrap_or_else(|e| panic!("{e}"));
        let changed = UserRecord {
            display_name: "张三".into(),
            id_number_enc: Some("v1.id".into()),
            id_number_hash: Some("id-hash".into()),
            real_name_at: Some(2_000),
            failed_logins: 3,
            locked_until: Some(9_000),
            ..resident("r1", "hash-a")
        };
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        store.update_user(&mut tx, tenant, &changed, 2_000).await.unwrap_or_else(|e| panic!("{e}"));
        let missing = store.update_user(&mut tx, tenant, &resident("ghost", "x"), 2_000).await;
        assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.user(tenant, "r1").await.ok().flatten(), Some(changed));
    }

    async fn family_links_list_members_with_their_relation_in_the_order_added(b: Backend) {
        let Some(t) = TestApp::empty(b).await else { return };
        let (store, tenant) = (&t.app.store, &t.app.tenant);
        let mother = UserRecord { phone_enc: None, phone_hash: None, ..resident("m1", "") };
        let son = UserRecord { phone_enc: None, phone_hash: None, ..resident("c1", "") };
        insert(store, tenant, &[resident("r1", "hash-a"), mother, son]).await.unwrap_or_else(|e| panic!("{e}"));
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        store.add_family_link(&mut tx, tenant, "r1", "m1", "mother", 10).await.unwrap_or_else(|e| panic!("{e}"));
        store.add_family_link(&mut tx, tenant, "r1", "c1", "son", 20).await.unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let family = store.family_of(tenant, "r1").await.unwrap_or_else(|e| panic!("{e}"));
        let listed: Vec<(&str, &str)> = family.iter().map(|(u, r)| (u.id.as_str(), r.as_str())).collect();
        assert_eq!(listed, vec![("m1", "mother"), ("c1", "son")]);
        // The member keeps their own creation time, not the link's.
        assert!(family.iter().all(|(u, _)| u.created_at == 1_000));

        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(store.remove_family_link(&mut tx, tenant, "r1", "m1").await.unwrap_or(false));
        assert!(!store.remove_family_link(&mut tx, tenant, "r1", "m1").await.unwrap_or(true));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.family_of(tenant, "r1").await.unwrap_or_default().len(), 1);
    }

    async fn sign_in_codes_are_counted_per_phone_and_address_and_usable_once(b: Backend) {
        let Some(t) = TestApp::empty(b).await else { return };
        let (store, tenant) = (&t.app.store, &t.app.tenant);
        for (id, phone, ip, at) in [("o1", "p1", "ip1", 100), ("o2", "p1", "ip2", 200), ("o3", "p2", "ip1", 300)] {
            let otp = OtpRecord { id: id.into(), code_hash: format!("h-{id}"), sent_at: at, expires_at: at + 300_000, attempts: 0, used_at: None };
            store.insert_otp(tenant, &otp, phone, ip).await.unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(store.otp_sends_since(tenant, OtpSender::Phone("p1"), 0).await.unwrap_or_default(), vec![200, 100]);
        assert_eq!(store.otp_sends_since(tenant, OtpSender::Phone("p1"), 150).await.unwrap_or_default(), vec![200]);
        assert_eq!(store.otp_sends_since(tenant, OtpSender::Ip("ip1"), 0).await.unwrap_or_default(), vec![300, 100]);

        let latest = store.latest_otp(tenant, "p1").await.ok().flatten().unwrap_or_else(|| panic!("no code"));
        assert_eq!(latest.id, "o2");
        store.count_otp_attempt(tenant, "o2").await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.latest_otp(tenant, "p1").await.ok().flatten().map(|o| o.attempts), Some(1));

        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(store.use_otp(&mut tx, tenant, "o2", 400).await.unwrap_or(false));
        assert!(!store.use_otp(&mut tx, tenant, "o2", 500).await.unwrap_or(true), "a code is used once");
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.latest_otp(tenant, "p1").await.ok().flatten().and_then(|o| o.used_at), Some(400));
    }

    async fn sessions_and_tokens_are_revoked_one_by_one_or_everywhere(b: Backend) {
        let Some(t) = TestApp::empty(b).await else { return };
        let (store, tenant) = (&t.app.store, &t.app.tenant);
        insert(store, tenant, &[resident("r1", "hash-a")]).await.unwrap_or_else(|e| panic!("{e}"));
        let session = |h: &str| SessionRecord {
            id_hash: h.into(), user_id: "r1".into(), csrf_token: format!("csrf-{h}"),
            created_at: 1, last_seen_at: 1, expires_at: 100, pending_totp: true, revoked_at: None,
        };
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for h in ["s1", "s2", "s3"] {
            store.insert_session(&mut tx, tenant, &session(h)).await.unwrap_or_else(|e| panic!("{e}"));
        }
        store.complete_second_factor(&mut tx, "s1").await.unwrap_or_else(|e| panic!("{e}"));
        store.revoke_session(&mut tx, "s2", 5).await.unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        store.touch_session("s1", 7).await.unwrap_or_else(|e| panic!("{e}"));
        let s1 = store.session(tenant, "s1").await.ok().flatten().unwrap_or_else(|| panic!("no s1"));
        assert_eq!((s1.pending_totp, s1.last_seen_at, s1.revoked_at), (false, 7, None));
        assert_eq!(store.session(tenant, "s2").await.ok().flatten().and_then(|s| s.revoked_at), Some(5));

        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        // s2 is already revoked: two sessions end, and s2 keeps its first revocation time.
        assert_eq!(store.revoke_sessions_of(&mut tx, tenant, "r1", 9).await.unwrap_or(0), 2);
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.session(tenant, "s2").await.ok().flatten().and_then(|s| s.revoked_at), Some(5));
        assert_eq!(store.session(tenant, "s3").await.ok().flatten().and_then(|s| s.revoked_at), Some(9));
        // Every signed-in call reads the credential and its holder together, in one join.
        let (s3, holder) = store.session_and_user(tenant, "s3").await.ok().flatten().unwrap_or_else(|| panic!("no s3"));
        assert_eq!((s3.id_hash.as_str(), s3.csrf_token.as_str(), s3.revoked_at), ("s3", "csrf-s3", Some(9)));
        assert_eq!(holder.map(|u| (u.id, u.phone_hash)), Some(("r1".to_owned(), Some("hash-a".to_owned()))));
        assert!(store.session_and_user(tenant, "nobody").await.ok().flatten().is_none());

        let token = ApiTokenRecord {
            id: "tok1".into(), id_hash: "th1".into(), user_id: "r1".into(), name: "integration".into(),
            scopes: vec!["items:read".into()], created_at: 1, expires_at: None, last_used_at: None, revoked_at: None,
        };
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        store.insert_api_token(&mut tx, tenant, &token).await.unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        store.touch_api_token("th1", 3).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.api_token(tenant, "th1").await.ok().flatten().and_then(|t| t.last_used_at), Some(3));
        let (t1, holder) = store.api_token_and_user(tenant, "th1").await.ok().flatten().unwrap_or_else(|| panic!("no th1"));
        assert_eq!((t1.id.as_str(), t1.scopes.clone(), t1.last_used_at), ("tok1", vec!["items:read".to_owned()], Some(3)));
        assert_eq!(holder.map(|u| u.id), Some("r1".to_owned()));
        assert!(store.api_token_and_user(tenant, "th2").await.ok().flatten().is_none());
        assert_eq!(store.api_tokens_of(tenant, "r1").await.unwrap_or_default().len(), 1);
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(store.revoke_api_token(&mut tx, tenant, "r1", "tok1", 4).await.unwrap_or(false));
        assert!(!store.revoke_api_token(&mut tx, tenant, "r1", "tok1", 5).await.unwrap_or(true));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.api_token(tenant, "th1").await.ok().flatten().and_then(|t| t.revoked_at), Some(4));
    }
}
