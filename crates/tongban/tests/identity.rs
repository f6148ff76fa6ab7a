//! Identity, access and privacy, end to end through the router on both backends: sign-in by
//! SMS code and by password with its limits (clock moved, never waited for), the second
//! factor, sessions and CSRF, tokens, masked numbers and their audited reveal, and an
//! access-control matrix over every page and endpoint of the modules that exist.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tongban_app::{AppError, DEMO_PASSWORD, DEMO_RESIDENT_PHONE, RefusalKind};
use tongban_testkit::{Backend, TestApp, backend_tests};

const MIN: i64 = 60_000;

fn now_ms(t: &TestApp) -> i64 {
    tongban_domain::Clock::now(&*t.clock).timestamp_millis()
}

fn advance(t: &TestApp, ms: i64) {
    let now = now_ms(t);
    t.clock
        .set(chrono::DateTime::from_timestamp_millis(now + ms).unwrap_or_default());
}

fn refusal_code(e: AppError) -> &'static str {
    match e {
        AppError::Refused(r) => r.code,
        other => panic!("expected a refusal, got {other}"),
    }
}

async fn app(backend: Backend) -> Option<TestApp> {
    TestApp::demo_with_accounts(backend).await
}

backend_tests! {
    async fn a_resident_signs_in_by_code_completes_real_name_and_signs_out(backend: Backend) {
        let Some(t) = TestApp::demo(backend).await else { return };
        let mut c = t.client();
        c.resident_sign_in("13912345678").await;
        let me = c.get("/me").await;
        assert_eq!(me.status, StatusCode::OK);
        assert!(me.text().contains("139****5678"), "{}", me.text());

        // A wrong check digit is refused next to the field, and nothing is saved.
        let r = c.post("/me/real-name", &[("name", "张三"), ("id_number", "130534199001011234"), ("village", "")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("身份证号校验位不对"), "{}", r.text());
        assert!(r.text().contains("id_number-error"));
        // A 15-digit legacy number and an impossible birth date each get their own message.
        let r = c.post("/me/real-name", &[("name", "张三"), ("id_number", "130534900101123"), ("village", "")]).await;
        assert!(r.text().contains("15 位旧身份证号已停用"));
        let r = c.post("/me/real-name", &[("name", "张三"), ("id_number", "13053419900231123X"), ("village", "")]).await;
        assert!(r.text().contains("出生日期不存在"));
        assert!(c.get("/me").await.text().contains("尚未实名"));

        let r = c.post("/me/real-name", &[("name", "张三"), ("id_number", "13053419900101123x"), ("village", "130534100201")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let me = c.get("/me").await.text();
        assert!(me.contains("张三"));
        assert!(me.contains("130534********123X"), "the number is masked: {me}");
        assert!(!me.contains("13053419900101123X"));

        let r = c.post("/sign-out", &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = c.get("/me").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "signed out: back to sign-in");
        assert!(r.header("location").starts_with("/sign-in"));
    }

    async fn codes_are_limited_per_number_and_per_address_by_the_clock(backend: Backend) {
        let Some(t) = TestApp::demo(backend).await else { return };
        let a = &t.app;
        a.send_sign_in_code("13900000001", "10.0.0.1").await.unwrap_or_else(|e| panic!("{e}"));
        let e = a.send_sign_in_code("13900000001", "10.0.0.2").await.err().map(refusal_code);
        assert_eq!(e, Some("code_too_soon"));
        for _ in 0..4 {
            advance(&t, MIN);
            a.send_sign_in_code("13900000001", "10.0.0.1").await.unwrap_or_else(|e| panic!("{e}"));
        }
        advance(&t, MIN);
        let e = a.send_sign_in_code("13900000001", "10.0.0.3").await.err().map(refusal_code);
        assert_eq!(e, Some("code_too_many"), "the sixth in an hour");
        // The same address is limited across numbers too.
        let e = a.send_sign_in_code("13900000002", "10.0.0.1").await.err().map(refusal_code);
        assert_eq!(e, Some("code_too_many"));
        advance(&t, 56 * MIN);
        a.send_sign_in_code("13900000001", "10.0.0.1").await.unwrap_or_else(|e| panic!("{e}"));
    }

    async fn a_code_expires_works_once_and_dies_after_five_wrong_tries(backend: Backend) {
        let Some(t) = TestApp::demo(backend).await else { return };
        let a = &t.app;
        a.send_sign_in_code("13900000003", "ip").await.unwrap_or_else(|e| panic!("{e}"));
        let code = t.last_sms_code("0003");
        advance(&t, 5 * MIN);
        let e = a.sign_in_with_code("13900000003", &code, None).await.err().map(refusal_code);
        assert_eq!(e, Some("code_expired"));

        advance(&t, MIN);
        a.send_sign_in_code("13900000003", "ip").await.unwrap_or_else(|e| panic!("{e}"));
        let code = t.last_sms_code("0003");
        a.sign_in_with_code("13900000003", &code, None).await.unwrap_or_else(|e| panic!("{e}"));
        let e = a.sign_in_with_code("13900000003", &code, None).await.err().map(refusal_code);
        assert_eq!(e, Some("code_used"));

        advance(&t, MIN);
        a.send_sign_in_code("13900000003", "ip").await.unwrap_or_else(|e| panic!("{e}"));
        let code = t.last_sms_code("0003");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            let e = a.sign_in_with_code("13900000003", wrong, None).await.err().map(refusal_code);
            assert_eq!(e, Some("code_wrong"));
        }
        let e = a.sign_in_with_code("13900000003", wrong, None).await.err().map(refusal_code);
        assert_eq!(e, Some("code_exhausted"));
        let e = a.sign_in_with_code("13900000003", &code, None).await.err().map(refusal_code);
        assert_eq!(e, Some("code_exhausted"), "void even for the right digits");
        // A malformed code costs no try.
        let e = a.sign_in_with_code("13900000003", "12ab", None).await.err().map(refusal_code);
        assert_eq!(e, Some("code_shape"));
    }

    async fn wrong_passwords_lock_a_staff_account_with_growing_waits(backend: Backend) {
        let Some(t) = app(backend).await else { return };
        let a = &t.app;
        for _ in 0..4 {
            let e = a.sign_in_staff("clerk", "wrong-password-1", None).await.err().map(refusal_code);
            assert_eq!(e, Some("bad_credentials"));
        }
        let e = a.sign_in_staff("clerk", "wrong-password-1", None).await.err().map(refusal_code);
        assert_eq!(e, Some("account_locked"), "the fifth failure locks for a minute");
        let e = a.sign_in_staff("clerk", DEMO_PASSWORD, None).await.err().map(refusal_code);
        assert_eq!(e, Some("account_locked"), "even the right password waits");
        advance(&t, MIN);
        let e = a.sign_in_staff("clerk", "wrong-password-1", None).await.err();
        match e {
            Some(AppError::Refused(r)) => {
                assert_eq!(r.code, "account_locked");
                assert_eq!(r.kind, RefusalKind::TooMany);
                assert!(r.args.iter().any(|(k, v)| *k == "seconds" && v == "120"), "doubled: {:?}", r.args);
            }
            other => panic!("{other:?}"),
        }
        advance(&t, 2 * MIN);
        a.sign_in_staff("clerk", DEMO_PASSWORD, None).await.unwrap_or_else(|e| panic!("{e}"));
        // Unknown usernames get the same answer as wrong passwords.
        let e = a.sign_in_staff("nobody", "whatever-123", None).await.err().map(refusal_code);
        assert_eq!(e, Some("bad_credentials"));
    }

    async fn a_supervisor_enrols_an_authenticator_and_each_code_works_once(backend: Backend) {
        let Some(t) = app(backend).await else { return };
        let mut c = t.client();
        let r = c.staff_sign_in("supervisor", DEMO_PASSWORD).await;
        assert_eq!(r.header("location"), "/staff/second-factor");
        assert_eq!(c.get("/staff/audit").await.header("location"), "/staff/second-factor", "not signed in yet");
        let page = c.get("/staff/second-factor").await.text();
        assert!(page.contains("<svg"), "a QR code to scan");
        let secret = page.split("class=\"secret\">").nth(1).and_then(|s| s.split('<').next()).unwrap_or_default().to_owned();
        assert_eq!(secret.len(), 32);
        let now_s = (now_ms(&t) / 1000) as u64;
        let code = tongban_app::signin::totp_code(&secret, now_s).unwrap_or_else(|e| panic!("{e}"));
        let r = c.post("/staff/second-factor", &[("code", "000000")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = c.post("/staff/second-factor", &[("code", &code)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(c.get("/staff/audit").await.status, StatusCode::OK);

        // Signing in again within the same 30 seconds: the code already used is refused.
        let mut d = t.client();
        d.staff_sign_in("supervisor", DEMO_PASSWORD).await;
        d.get("/staff/second-factor").await;
        let r = d.post("/staff/second-factor", &[("code", &code)]).await;
        assert!(r.text().contains("这个动态码刚刚用过"), "{}", r.text());
        advance(&t, 30_000);
        let next = tongban_app::signin::totp_code(&secret, now_s + 30).unwrap_or_else(|e| panic!("{e}"));
        let r = d.post("/staff/second-factor", &[("code", &next)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }

    async fn forms_without_the_right_token_or_from_another_site_change_nothing(backend: Backend) {
        let Some(t) = TestApp::demo(backend).await else { return };
        let mut c = t.client();
        c.resident_sign_in("13912340000").await;
        let r = c.post_raw("/me/real-name", &[("name", "张三"), ("id_number", "130534199001011234")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.text().contains("请刷新页面后重新提交"));
        let r = c.post_raw("/me/real-name", &[("_csrf", "x".repeat(43).as_str()), ("name", "张三"), ("id_number", "130534199001011234")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let request = Request::post("/me/real-name")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
            .header("host", "tongban.example")
            .header("origin", "https://evil.example")
            .body(Body::from(format!("_csrf={}&name=x&id_number=130534199001011234", c.csrf)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.request(request).await.status, StatusCode::FORBIDDEN);
        assert!(c.get("/me").await.text().contains("尚未实名"), "nothing was saved");
        // English visitors get the English message, as JSON on the API.
        let r = t.request(
            Request::post("/api/v1/auth/sign-out")
                .header("cookie", c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
                .header("accept-language", "en")
                .body(Body::empty())
                .unwrap_or_else(|e| panic!("{e}")),
        ).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.json()["code"], "csrf_invalid");
        assert!(r.json()["message"].as_str().unwrap_or("").contains("Reload the page"));
    }

    async fn a_tampered_or_revoked_session_signs_nobody_in(backend: Backend) {
        let Some(t) = TestApp::demo(backend).await else { return };
        let mut c = t.client();
        c.resident_sign_in("13912341111").await;
        let good = c.cookies.get("tb_session").cloned().unwrap_or_default();
        let mut tampered = good.clone();
        tampered.replace_range(0..1, if good.starts_with('A') { "B" } else { "A" });
        let r = t.get_with("/me", &[("cookie", &format!("tb_session={tampered}"))]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.headers.get_all("set-cookie").iter().any(|v| v.to_str().unwrap_or("").starts_with("tb_session=;")), "the bad cookie is cleared");
        let r = t.get_with("/me", &[("cookie", "tb_session=<script>")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        // Idle for 30 minutes: the session has ended, and the page says so.
        advance(&t, 30 * MIN);
        let r = c.get("/me").await;
        assert!(r.header("location").contains("expired=1"), "{}", r.header("location"));

        // Sign out everywhere ends every session of the person.
        let mut one = t.client();
        one.resident_sign_in("13912342222").await;
        let mut two = t.client();
        advance(&t, MIN);
        two.resident_sign_in("13912342222").await;
        let r = one.post("/sign-out/everywhere", &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(two.get("/me").await.status, StatusCode::SEE_OTHER);
    }

    async fn personal_access_tokens_are_scoped_and_revocable(backend: Backend) {
        let Some(t) = app(backend).await else { return };
        let mut c = t.client();
        c.staff_sign_in("admin", DEMO_PASSWORD).await;
        let r = c.post("/me/tokens", &[("name", "报表系统"), ("scopes", "profile:read"), ("days", "30")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let token = r.text().split("class=\"secret\">").nth(1).and_then(|s| s.split('<').next()).unwrap_or_default().to_owned();
        assert!(token.starts_with("tbp_"));
        let bearer = format!("Bearer {token}");
        let r = t.get_with("/api/v1/me", &[("authorization", &bearer)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["name"], "王建国");
        let r = t.get_with("/api/v1/audit", &[("authorization", &bearer)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no audit:read scope");
        assert_eq!(r.json()["code"], "scope_missing");
        // Bad input is refused without creating anything.
        let r = c.post("/me/tokens", &[("name", ""), ("scopes", "root"), ("days", "9999")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let id = t.app.store.api_tokens_of(&t.app.tenant, &t.app.store.user_by_username(&t.app.tenant, "admin").await.ok().flatten().map(|u| u.id).unwrap_or_default()).await.unwrap_or_default();
        assert_eq!(id.len(), 1);
        let r = c.post(&format!("/me/tokens/{}/revoke", id[0].id), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = t.get_with("/api/v1/me", &[("authorization", &bearer)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["code"], "token_revoked");
        let r = t.get_with("/api/v1/me", &[("authorization", "Bearer tbp_nonsense")]).await;
        assert_eq!(r.json()["code"], "token_invalid");
    }

    async fn an_app_signs_in_over_the_json_api(backend: Backend) {
        let Some(t) = TestApp::demo(backend).await else { return };
        let post = |uri: &str, body: serde_json::Value| {
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let r = t.request(post("/api/v1/auth/code", serde_json::json!({"phone": "12345"}))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["code"], "phone_invalid");
        let r = t.request(post("/api/v1/auth/code", serde_json::json!({"phone": "13955556666"}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let code = t.last_sms_code("6666");
        let r = t.request(post("/api/v1/auth/sign-in", serde_json::json!({"phone": "13955556666", "code": code}))).await;
        let token = r.json()["token"].as_str().unwrap_or_default().to_owned();
        let r = t.get_with("/api/v1/me", &[("authorization", &format!("Bearer {token}"))]).await;
        assert_eq!(r.json()["phone_masked"], "139****6666");
    }

    async fn staff_see_masked_numbers_and_every_reveal_is_audited(backend: Backend) {
        let Some(t) = app(backend).await else { return };
        let mut c = t.client();
        c.staff_sign_in("gxz.clerk", DEMO_PASSWORD).await;
        let r = c.get(&format!("/staff/people?number={DEMO_RESIDENT_PHONE}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let person = r.header("location").to_owned();
        let page = c.get(&person).await.text();
        assert!(page.contains("138****0001"));
        assert!(!page.contains("13800000001"));
        let r = c.post(&format!("{person}/reveal"), &[("field", "phone")]).await;
        assert!(r.text().contains("13800000001"));
        assert_eq!(r.header("cache-control"), "no-store");
        let entries = t.app.store.audit_entries(&t.app.tenant, &tongban_app::AuditFilter { action_prefix: Some("person.reveal".into()), ..Default::default() }, 10).await.unwrap_or_default();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].record.entry.detail, "phone");
        assert!(!entries[0].record.entry.request_id.is_empty(), "the request id is recorded");
    }

    async fn rotating_the_data_key_rewrites_every_number_and_retires_the_old_key(backend: Backend) {
        let Some(t) = app(backend).await else { return };
        let (old_keys, index_key) = t.keys.clone();
        let new_key = tongban_app::vault::new_key_spec(2);
        let with_keys = |keys: &[String]| {
            let vault = tongban_app::vault::Vault::new(keys, &index_key).unwrap_or_else(|e| panic!("{e}"));
            t.app.clone().with_identity(tongban_app::Identity { vault, ..tongban_app::Identity::ephemeral() })
        };
        let supervisor = tongban_domain::Actor {
            user_id: "test-supervisor".into(),
            roles: vec![tongban_domain::Role::Supervisor],
            unit: None,
            division: None,
            family: Vec::new(),
        };

        // The demo resident's notification e-mail is personal data too.
        let hash = t.app.identity.vault.blind_index("phone", DEMO_RESIDENT_PHONE);
        let resident_id = t.app.store.user_by_phone_hash(&t.app.tenant, &hash).await.ok().flatten().map(|u| u.id).unwrap_or_default();
        let resident = t.app.principal_of(&resident_id).await.unwrap_or_else(|e| panic!("{e}"));
        t.app.set_notification_email(&resident, "li.ming@qq.com").await.unwrap_or_else(|e| panic!("{e}"));

        // And so is a caller's number taken on the hotline.
        let dispatcher = t.principal_by_username("dispatcher").await;
        let call = tongban_app::requests::NewRequest { kind: "咨询".into(), category: "insurance".into(), text: "医保怎么交".into(), contact_name: "张大爷".into(), contact_phone: "13912345678".into(), ..Default::default() };
        let request = t.app.file_request(Some(&dispatcher), tongban_app::requests::Channel::Hotline, &call).await.unwrap_or_else(|e| panic!("{e}"));

        let rotated = with_keys(&[new_key.clone(), old_keys[0].clone()]);
        let report = rotated.reencrypt_personal_data().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.key_id, 2);
        // The demo resident and agent (phones) and the resident's mother (ID number) at least.
        assert!(report.users_rewritten >= 3, "{report:?}");
        assert_eq!(report.users_left, 0);
        let again = rotated.reencrypt_personal_data().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((again.users_checked, again.users_rewritten), (report.users_checked, 0), "a second run has nothing to do");

        // The new key alone now opens every number; the old key alone opens none.
        let new_only = with_keys(&[new_key]);
        let person = new_only.find_person(&supervisor, DEMO_RESIDENT_PHONE).await.unwrap_or_else(|e| panic!("{e}"));
        let phone = new_only.reveal(&supervisor, &person.id, tongban_app::people::PersonalField::Phone).await;
        assert_eq!(phone.ok().as_deref(), Some(DEMO_RESIDENT_PHONE));
        let profile = new_only.profile(&resident).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(profile.email.as_deref(), Some("li.ming@qq.com"), "the e-mail was re-encrypted too");
        assert_eq!(report.requests_rewritten, 1);
        let stored = t.app.store.request(&t.app.tenant, &request.id).await.ok().flatten().and_then(|r| r.contact_phone_enc).unwrap_or_default();
        assert_eq!(new_only.identity.vault.decrypt("phone", &stored).ok().as_deref(), Some("13912345678"));
        assert!(matches!(
            t.app.reveal(&supervisor, &person.id, tongban_app::people::PersonalField::Phone).await,
            Err(AppError::Vault(_))
        ));
        let entries = t.app.store.audit_entries(&t.app.tenant, &tongban_app::AuditFilter { action_prefix: Some("keys.reencrypt".into()), ..Default::default() }, 10).await.unwrap_or_default();
        assert_eq!(entries.len(), 2, "each run is audited");
    }
}

/// Who asks, for the matrix.
#[derive(Debug, Clone, Copy)]
enum Who {
    Anonymous,
    Resident,
    Agent,
    Staff(&'static str),
}

backend_tests! {
    async fn every_role_gets_exactly_its_pages_and_nothing_of_others(backend: Backend) {
        let Some(t) = app(backend).await else { return };
        // The demo resident lives in 城东村 (葛仙庄镇) with their mother as family.
        let resident = t.app.store.user_by_phone_hash(&t.app.tenant, &t.app.identity.vault.blind_index("phone", DEMO_RESIDENT_PHONE)).await.ok().flatten().unwrap_or_else(|| panic!("demo resident"));
        let mother = t.app.store.family_of(&t.app.tenant, &resident.id).await.unwrap_or_default().remove(0).0;
        let person = format!("/staff/people/{}", resident.id);
        let reveal = format!("{person}/reveal");
        let mother_page = format!("/staff/people/{}", mother.id);

        // (who, method, path, expected status)
        use Who::*;
        let o = StatusCode::OK;
        let see = StatusCode::SEE_OTHER;
        let no = StatusCode::FORBIDDEN;
        let gone = StatusCode::NOT_FOUND;
        let cases: Vec<(Who, &str, &str, StatusCode)> = vec![
            (Anonymous, "GET", "/me", see),
            (Anonymous, "GET", "/staff", see),
            (Anonymous, "GET", "/staff/audit", see),
            (Anonymous, "GET", "/admin/staff", see),
            (Anonymous, "GET", &person, see),
            (Anonymous, "GET", "/api/v1/me", StatusCode::UNAUTHORIZED),
            (Resident, "GET", "/me", o),
            (Resident, "GET", "/staff/audit", no),
            (Resident, "GET", "/admin/staff", no),
            (Resident, "GET", "/staff/agents", no),
            (Resident, "GET", "/agent", no),
            (Resident, "GET", "/me/tokens", no),
            (Resident, "GET", &person, gone),
            (Resident, "POST", &reveal, gone),
            (Agent, "GET", "/agent", o),
            (Agent, "GET", &person, gone),
            (Agent, "GET", "/staff/audit", no),
            (Staff("admin"), "GET", "/admin/staff", o),
            (Staff("admin"), "GET", "/staff/audit", o),
            (Staff("admin"), "GET", &person, o),
            // Running the system is not handling cases: administrators never see full numbers.
            (Staff("admin"), "POST", &reveal, no),
            (Staff("admin"), "GET", "/staff/agents", o),
            (Staff("dispatcher"), "GET", &person, o),
            (Staff("dispatcher"), "POST", &reveal, o),
            (Staff("dispatcher"), "GET", "/staff/audit", no),
            (Staff("dispatcher"), "GET", "/admin/staff", no),
            (Staff("clerk"), "GET", "/admin/staff", no),
            (Staff("clerk"), "GET", &person, gone),
            (Staff("handler"), "GET", &person, gone),
            (Staff("handler"), "POST", &reveal, gone),
            (Staff("head"), "GET", "/staff/audit", no),
            (Staff("gxz.clerk"), "GET", &person, o),
            (Staff("gxz.clerk"), "GET", &mother_page, o),
            (Staff("gxz.clerk"), "POST", &reveal, o),
            (Staff("gxz.clerk"), "GET", "/staff/agents", o),
            (Staff("gxz.clerk"), "GET", "/admin/staff", no),
            // Another township's handler: the resident does not exist for them.
            (Staff("lz.handler"), "GET", &person, gone),
            (Staff("lz.handler"), "POST", &reveal, gone),
            (Staff("lz.handler"), "GET", "/staff/people/u-guessed-id", gone),
        ];
        let mut failures = Vec::new();
        for (who, method, path, want) in cases {
            let mut c = t.client();
            match who {
                Anonymous => {}
                Resident => c.resident_sign_in(DEMO_RESIDENT_PHONE).await,
                Agent => c.resident_sign_in(tongban_app::DEMO_AGENT_PHONE).await,
                Staff(u) => { c.staff_sign_in(u, DEMO_PASSWORD).await; }
            }
            c.get("/").await;
            let r = if method == "GET" { c.get(path).await } else { c.post(path, &[("field", "phone")]).await };
            if r.status != want {
                failures.push(format!("{who:?} {method} {path}: {} (want {want})", r.status));
            }
            // Each sign-in sent a code; keep clear of the hourly send limits.
            advance(&t, 13 * 60_000);
            if r.status != StatusCode::OK || method != "POST" {
                continue;
            }
            assert!(r.text().contains("1380000000"), "a permitted reveal shows the number");
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        // A resident's other data: another person's family member cannot be removed by guessing.
        let mut other = t.client();
        other.resident_sign_in("13977778888").await;
        let r = other.post(&format!("/me/family/{}/remove", mother.id), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(t.app.store.family_of(&t.app.tenant, &resident.id).await.unwrap_or_default().len(), 1);
    }
}
