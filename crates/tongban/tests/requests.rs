//! Requests end to end through the use cases on both backends: a resident files a complaint,
//! routing suggests units, the dispatcher sends it to the wrong one, which returns it; it goes
//! to the right one, which signs, asks for more time, contacts the resident and replies; the
//! centre closes it; the resident rates it 2 and reopens it; a second reply is rated 5. With
//! the deadlines on an injected clock, the notifications, the audit trail and what routing
//! learned from the return checked on the way.

use tongban_app::requests::{Channel, NewRequest};
use tongban_app::{AppError, DEMO_RESIDENT_PHONE, Principal, RefusalKind};
use tongban_domain::request::lifecycle::RequestAction;
use tongban_testkit::{TestApp, backend_tests, json_request};

const RSJ: &str = "130534-RSJ";
const GAJ: &str = "130534-GAJ";
const GXZ: &str = "130534100000";

async fn staff(t: &TestApp, username: &str) -> Principal {
    t.principal_by_username(username).await
}

/// Photos as a request carries them: (file name, bytes).
type Photos = Vec<(String, Vec<u8>)>;

fn complaint() -> NewRequest {
    NewRequest {
        kind: "投诉".into(),
        category: "labour.wages".into(),
        text: "俺在县城东边的羊绒厂干了三个月，老板一直拖着不发工资，说年底再给，俺们十几个工人都没拿到钱".into(),
        township: GXZ.into(),
        disclose: true,
        ..NewRequest::default()
    }
}

fn refusal(e: AppError) -> (RefusalKind, &'static str, Option<&'static str>) {
    match e {
        AppError::Refused(r) => (r.kind, r.code, r.field),
        other => panic!("not a refusal: {other}"),
    }
}

fn set_clock(t: &TestApp, rfc3339: &str) {
    t.clock.set(
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&chrono::Utc),
    );
}

backend_tests! {
    async fn a_complaint_goes_round_the_whole_loop_on_its_deadlines(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        app.learn_routing(&tongban_app::demo_routing_history()).await.unwrap_or_else(|e| panic!("{e}"));
        let me = t.principal_by_phone(DEMO_RESIDENT_PHONE).await;
        let dispatcher = staff(&t, "dispatcher").await;
        let police = staff(&t, "handler").await;
        let supervisor = staff(&t, "supervisor").await;
        let labour = {
            // A handler at the labour bureau, made for the test.
            let admin = staff(&t, "admin").await;
            app.create_staff(&admin.actor, &tongban_app::people::NewStaff {
                username: "rsj.handler".into(), name: "钱进".into(), unit: RSJ.into(),
                roles: vec!["department_handler".into()], password: tongban_app::DEMO_PASSWORD.into(),
            }).await.unwrap_or_else(|e| panic!("{e}"));
            staff(&t, "rsj.handler").await
        };

        // Monday 2026-03-02, 09:00 in Beijing.
        set_clock(&t, "2026-03-02T09:00:00+08:00");
        let r = app.file_request(Some(&me), Channel::App, &complaint()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.stage.as_str(), r.kind.as_str(), r.reference.len()), ("filed", "complaint", 9));
        let suggestions = app.routing_suggestions(&dispatcher, &r.id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(suggestions.len(), 3);
        assert_eq!(suggestions[0].unit, RSJ, "{suggestions:?}");
        assert!(matches!(app.routing_suggestions(&me, &r.id).await, Err(AppError::Refused(_))), "only dispatchers");

        // Dispatched to the police by mistake; they return it with a reason.
        let r = app.act_on_request(&dispatcher, &r.id, Some(r.version), &RequestAction::Dispatch { unit: GAJ.into() }).await.unwrap_or_else(|e| panic!("{e}"));
        // Signing within 2 working hours: by 11:00.
        assert_eq!(r.sign_by, Some(chrono::DateTime::parse_from_rfc3339("2026-03-02T11:00:00+08:00").unwrap_or_else(|e| panic!("{e}")).timestamp_millis()));
        assert_eq!(refusal(app.act_on_request(&police, &r.id, None, &RequestAction::Return { reason: " ".into() }).await.err().unwrap_or_else(|| panic!("no reason given"))), (RefusalKind::Invalid, "request_text_missing", Some("reason")));
        let r = app.act_on_request(&police, &r.id, None, &RequestAction::Return { reason: "拖欠工资属人社局劳动保障监察职责".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.stage.as_str(), r.unit_code.as_deref()), ("filed", None));
        let history = app.store.routing_history(&app.tenant).await.unwrap_or_default();
        assert!(history.iter().any(|h| !h.accepted && h.unit_code == GAJ), "the return is learned from");

        // Re-dispatched to the labour bureau at 10:00; signed at 11:30 (inside the limit).
        set_clock(&t, "2026-03-02T10:00:00+08:00");
        let r = app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Dispatch { unit: RSJ.into() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(app.act_on_request(&police, &r.id, None, &RequestAction::Sign).await, Err(AppError::Refused(_))), "no longer theirs");
        set_clock(&t, "2026-03-02T11:30:00+08:00");
        let r = app.act_on_request(&labour, &r.id, None, &RequestAction::Sign).await.unwrap_or_else(|e| panic!("{e}"));
        // Resolve within 5 working days of dispatch: Monday 3/9 at close of business.
        let resolve_by = chrono::DateTime::parse_from_rfc3339("2026-03-09T17:30:00+08:00").unwrap_or_else(|e| panic!("{e}")).timestamp_millis();
        assert_eq!(r.resolve_by, Some(resolve_by));

        // One extension of 3 working days, granted by the centre: Thursday 3/12.
        app.act_on_request(&labour, &r.id, None, &RequestAction::AskExtension { days: 3, reason: "需调取企业工资台账".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        let queue = app.dispatch_queue(&dispatcher).await.unwrap_or_default();
        assert!(queue.iter().any(|q| q.id == r.id), "the extension waits in the centre's queue");
        let r = app.act_on_request(&dispatcher, &r.id, None, &RequestAction::GrantExtension).await.unwrap_or_else(|e| panic!("{e}"));
        let extended = chrono::DateTime::parse_from_rfc3339("2026-03-12T17:30:00+08:00").unwrap_or_else(|e| panic!("{e}")).timestamp_millis();
        assert_eq!(r.resolve_by, Some(extended));
        let (kind, code, _) = refusal(app.act_on_request(&labour, &r.id, None, &RequestAction::AskExtension { days: 2, reason: "再延".into() }).await.err().unwrap_or_else(|| panic!("a second extension")));
        assert_eq!((kind, code), (RefusalKind::Conflict, "request_extension_used"));

        // A supervisor urges; the reply needs contact first.
        app.act_on_request(&supervisor, &r.id, None, &RequestAction::Urge { note: "群体性欠薪，请加快".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refusal(app.act_on_request(&labour, &r.id, None, &RequestAction::Reply { text: "已处理".into() }).await.err().unwrap_or_else(|| panic!("reply before contact"))).1, "request_contact_first");
        app.act_on_request(&labour, &r.id, None, &RequestAction::Contact { note: "电话联系诉求人，了解欠薪人数和金额".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        set_clock(&t, "2026-03-05T15:00:00+08:00");
        let r = app.act_on_request(&labour, &r.id, None, &RequestAction::Reply { text: "经查属实，已责令企业于3月10日前补发工资".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.stage, "replied");
        let r = app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Close).await.unwrap_or_else(|e| panic!("{e}"));

        // Rated 2 and reopened by the resident; nobody else may.
        assert!(matches!(app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Rate { score: 5, comment: String::new() }).await, Err(AppError::Refused(_))));
        app.act_on_request(&me, &r.id, None, &RequestAction::Rate { score: 2, comment: "只发了一半".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        set_clock(&t, "2026-03-10T09:00:00+08:00");
        let r = app.act_on_request(&me, &r.id, None, &RequestAction::Reopen { reason: "老板只补发了一半工资".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.stage.as_str(), r.unit_code.as_deref(), r.rating), ("in_hand", Some(RSJ), None));
        app.act_on_request(&labour, &r.id, None, &RequestAction::Contact { note: "再次联系".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&labour, &r.id, None, &RequestAction::Reply { text: "企业已全部补发，附银行流水".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Close).await.unwrap_or_else(|e| panic!("{e}"));
        let r = app.act_on_request(&me, &r.id, None, &RequestAction::Rate { score: 5, comment: "谢谢".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.stage.as_str(), r.rating), ("closed", Some(5)));
        let (kind, code, _) = refusal(app.act_on_request(&me, &r.id, None, &RequestAction::Reopen { reason: "x".into() }).await.err().unwrap_or_else(|| panic!("a second reopening")));
        assert_eq!((kind, code), (RefusalKind::Conflict, "request_already_reopened"));

        // The timeline, the audit trail and the notifications.
        let events: Vec<String> = app.store.request_events(&app.tenant, &r.id).await.unwrap_or_default().into_iter().map(|e| e.action).collect();
        assert_eq!(events, ["file", "dispatch", "return", "dispatch", "sign", "ask_extension", "grant_extension", "urge", "contact", "reply", "close", "rate", "reopen", "contact", "reply", "close", "rate"]);
        let audit = app.store.audit_entries(&app.tenant, &tongban_app::AuditFilter { action_prefix: Some("request.".into()), ..Default::default() }, 100).await.unwrap_or_default();
        assert_eq!(audit.len(), events.len());
        let outbox = app.store.due_outbox(i64::MAX, 1000).await.unwrap_or_default();
        let mine: Vec<(&str, &str)> = outbox.iter().filter(|m| m.request_id.as_deref() == Some(r.id.as_str())).map(|m| (m.event.as_str(), m.channel.as_str())).collect();
        assert!(mine.contains(&("request_filed", "sms")) && mine.contains(&("request_closed", "sms")), "{mine:?}");
        assert!(mine.contains(&("request_urged", "inbox")) && mine.contains(&("request_reopened", "inbox")), "{mine:?}");
        app.relay_outbox(1000).await.unwrap_or_else(|e| panic!("{e}"));
        let texts = app.identity.sms.outbox().unwrap_or_default();
        assert!(texts.iter().any(|s| s.text.contains(&tongban_domain::reference::CaseRef::parse(&r.reference).map(|c| c.to_string()).unwrap_or_default())), "{texts:?}");
    }
}

backend_tests! {
    async fn bad_requests_are_refused_with_their_field_and_nothing_is_filed(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = t.principal_by_phone(DEMO_RESIDENT_PHONE).await;
        let bad = |f: fn(&mut NewRequest)| { let mut n = complaint(); f(&mut n); n };
        let cases: Vec<(NewRequest, &str, &str)> = vec![
            (bad(|n| n.kind = "抱怨".into()), "request_kind_unknown", "kind"),
            (bad(|n| n.category = "weather".into()), "request_category_unknown", "category"),
            (bad(|n| n.text = "   ".into()), "request_text_missing", "text"),
            (bad(|n| n.text = "长".repeat(4001)), "request_text_too_long", "text"),
            (bad(|n| n.township = String::new()), "request_place_missing", "township"),
            (bad(|n| n.township = "130534999000".into()), "request_place_unknown", "township"),
            (bad(|n| n.village = "130534101201".into()), "request_village_elsewhere", "village"),
            (bad(|n| { n.lat = Some(39.9); n.lon = Some(116.4); }), "request_point_outside", "lat"),
            (bad(|n| n.lat = Some(37.05)), "request_point_incomplete", "lat"),
            (bad(|n| n.contact_phone = "1234".into()), "phone_invalid", "contact_phone"),
        ];
        for (input, code, field) in cases {
            let e = app.file_request(Some(&me), Channel::App, &input).await.err().unwrap_or_else(|| panic!("{code} accepted"));
            let (kind, got, at) = refusal(e);
            assert_eq!((kind, got, at), (RefusalKind::Invalid, code, Some(field)));
        }
        // Photos: pictures only, at most six, each checked by its bytes.
        let pdf = b"%PDF-1.7 a scanned letter".to_vec();
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
        let photo_cases: Vec<(Photos, &str)> = vec![
            (vec![("letter.pdf".into(), pdf)], "request_photo_not_image"),
            (vec![("photo.png".into(), b"<svg onload=alert(1)>".to_vec())], "upload_type"),
            ((0..7).map(|i| (format!("p{i}.png"), png.clone())).collect(), "request_too_many_photos"),
        ];
        for (photos, code) in photo_cases {
            let e = app.file_request(Some(&me), Channel::App, &NewRequest { photos, ..complaint() }).await.err().unwrap_or_else(|| panic!("{code} accepted"));
            assert_eq!(refusal(e), (RefusalKind::Invalid, code, Some("photo")));
        }
        assert!(app.my_requests(&me).await.unwrap_or_default().is_empty(), "nothing half-written");
        // A consultation needs no place; staff cannot file as residents; the hotline is the
        // dispatchers'.
        let question = NewRequest { kind: "咨询".into(), category: "insurance".into(), text: "城乡居民医保一年交多少钱".into(), ..NewRequest::default() };
        assert!(app.file_request(Some(&me), Channel::App, &question).await.is_ok());
        let clerk = staff(&t, "clerk").await;
        assert!(matches!(app.file_request(Some(&clerk), Channel::App, &question).await, Err(AppError::Refused(_))));
        assert!(matches!(app.file_request(Some(&me), Channel::Hotline, &question).await, Err(AppError::Refused(_))));
        let dispatcher = staff(&t, "dispatcher").await;
        let call = NewRequest { contact_name: "张大爷".into(), contact_phone: "13912345678".into(), ..complaint() };
        let r = app.file_request(Some(&dispatcher), Channel::Hotline, &call).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.channel.as_str(), r.requester_id.as_deref()), ("hotline", None));
        assert!(r.contact_phone_enc.as_deref().is_some_and(|c| !c.contains("13912345678")), "the caller's number is encrypted");
    }
}

backend_tests! {
    async fn a_repeat_near_the_same_place_is_offered_for_merging_and_merged(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = t.principal_by_phone(DEMO_RESIDENT_PHONE).await;
        let dispatcher = staff(&t, "dispatcher").await;
        let lamp = |text: &str, village: &str| NewRequest {
            kind: "求助".into(),
            category: "city.lighting".into(),
            text: text.into(),
            township: GXZ.into(),
            village: village.into(),
            ..NewRequest::default()
        };
        set_clock(&t, "2026-03-02T09:00:00+08:00");
        let first = app.file_request(Some(&me), Channel::App, &lamp("城东村口的路灯坏了一个多月了，晚上黑得看不见路", "130534100201")).await.unwrap_or_else(|e| panic!("{e}"));
        let elsewhere = app.file_request(Some(&me), Channel::App, &lamp("城东村口的路灯坏了一个多月了，晚上黑得看不见路", "130534100202")).await.unwrap_or_else(|e| panic!("{e}"));
        set_clock(&t, "2026-03-04T10:00:00+08:00");
        let again = app.file_request(Some(&me), Channel::App, &lamp("城东村村口路灯坏了快一个月，晚上走路看不见", "130534100201")).await.unwrap_or_else(|e| panic!("{e}"));
        let offered = app.possible_duplicates(&dispatcher, &again.id).await.unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = offered.iter().map(|(r, _)| r.id.as_str()).collect();
        assert_eq!(ids, [first.id.as_str()], "not the other village's");
        assert!(!ids.contains(&elsewhere.id.as_str()));
        assert!(matches!(app.possible_duplicates(&me, &again.id).await, Err(AppError::Refused(_))), "only dispatchers");

        let merged = app.act_on_request(&dispatcher, &again.id, None, &RequestAction::Merge { into: first.id.clone() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((merged.stage.as_str(), merged.merged_into.as_deref()), ("merged", Some(first.id.as_str())));
        assert!(!app.dispatch_queue(&dispatcher).await.unwrap_or_default().iter().any(|r| r.id == again.id));
        let (_, code, _) = refusal(app.act_on_request(&dispatcher, &first.id, None, &RequestAction::Merge { into: "nope".into() }).await.err().unwrap_or_else(|| panic!("merged into nothing")));
        assert_eq!(code, "request_not_found");
        // A week later the same words are a new request, not a repeat.
        set_clock(&t, "2026-03-12T10:00:00+08:00");
        let later = app.file_request(Some(&me), Channel::App, &lamp("城东村口的路灯坏了一个多月了，晚上黑得看不见路", "130534100201")).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(app.possible_duplicates(&dispatcher, &later.id).await.unwrap_or_default().is_empty());
    }
}

backend_tests! {
    async fn above_the_configured_confidence_routing_dispatches_by_itself(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        t.app.learn_routing(&tongban_app::demo_routing_history()).await.unwrap_or_else(|e| panic!("{e}"));
        let me = t.principal_by_phone(DEMO_RESIDENT_PHONE).await;
        let sure = t.app.clone().with_request_policy(tongban_app::requests::RequestPolicy { auto_dispatch_at: Some(0.5), ..Default::default() });
        set_clock(&t, "2026-03-02T09:00:00+08:00");
        let r = sure.file_request(Some(&me), Channel::App, &complaint()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.stage.as_str(), r.unit_code.as_deref()), ("dispatched", Some(RSJ)));
        let events = t.app.store.request_events(&t.app.tenant, &r.id).await.unwrap_or_default();
        assert_eq!(events.last().map(|e| (e.action.as_str(), e.actor_id.as_str())), Some(("dispatch", "system")));
        // Nobody is that sure of a vague request: it waits for a dispatcher.
        let cautious = t.app.clone().with_request_policy(tongban_app::requests::RequestPolicy { auto_dispatch_at: Some(0.99), ..Default::default() });
        let vague = NewRequest { text: "有个事想反映一下，麻烦你们管管".into(), ..complaint() };
        let r = cautious.file_request(Some(&me), Channel::App, &vague).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.stage, "filed");
    }
}

backend_tests! {
    async fn a_dispatcher_takes_a_call_on_the_hotline_page(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let mut desk = t.client();
        desk.staff_sign_in("dispatcher", tongban_app::DEMO_PASSWORD).await;
        let form = desk.get("/staff/requests/new").await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.text().contains("id=\"contact_phone\"") && form.text().contains("id=\"kind\""));
        let fields = [("kind", "help"), ("category", "welfare"), ("text", "老人一个人在家，暖气坏了，屋里冷得很"), ("township", GXZ), ("contact_name", "王大娘"), ("urgent", "yes")];
        let mut bad = fields.to_vec();
        bad.push(("contact_phone", "12345"));
        let r = desk.post_file("/staff/requests/new", &bad, ("photo", "", b"")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("contact_phone-error") && r.text().contains("老人一个人在家"), "what was typed stays");
        let mut good = fields.to_vec();
        good.push(("contact_phone", "13912345678"));
        let r = desk.post_file("/staff/requests/new", &good, ("photo", "", b"")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = desk.get(r.header("location")).await.text();
        assert!(page.contains("诉求已提交") && page.contains("紧急"), "{page}");
        let queue = t.app.store.requests(&t.app.tenant, &tongban_app::RequestQuery { limit: 10, ..Default::default() }).await.unwrap_or_default();
        assert!(queue.iter().any(|q| q.channel == "hotline" && q.urgency == "urgent" && q.requester_id.is_none()));

        let mut resident = t.client();
        resident.resident_sign_in(DEMO_RESIDENT_PHONE).await;
        assert_ne!(resident.get("/staff/requests/new").await.status, StatusCode::OK);
    }
}

backend_tests! {
    async fn an_app_files_and_a_dispatch_system_routes_over_the_json_api(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        app.learn_routing(&tongban_app::demo_routing_history()).await.unwrap_or_else(|e| panic!("{e}"));
        let r = t.request(json_request("POST", "/api/v1/auth/code", "", Some(serde_json::json!({"phone": DEMO_RESIDENT_PHONE})))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let code = t.last_sms_code("0001");
        let r = t.request(json_request("POST", "/api/v1/auth/sign-in", "", Some(serde_json::json!({"phone": DEMO_RESIDENT_PHONE, "code": code})))).await;
        let token = r.json()["token"].as_str().unwrap_or_default().to_owned();

        let bad = t.request(json_request("POST", "/api/v1/requests", &token, Some(serde_json::json!({"kind": "投诉", "category": "labour.wages", "text": "欠薪", "township": "130534999000"})))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text());
        assert_eq!(bad.json()["code"], "request_place_unknown");
        let body = serde_json::json!({"kind": "投诉", "category": "labour.wages", "text": complaint().text, "township": GXZ, "disclose": true});
        let r = t.request(json_request("POST", "/api/v1/requests", &token, Some(body))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!((r.json()["stage"].as_str(), r.json()["reference"].as_str().map(str::len)), (Some("filed"), Some(11)));
        let mine = t.request(json_request("GET", "/api/v1/requests", &token, None)).await;
        assert!(mine.text().contains(&id));

        // The dispatch centre's system: a token scoped to requests.
        let dispatcher = staff(&t, "dispatcher").await;
        let session = tongban_app::Principal { credential: tongban_app::Credential::Session { id_hash: String::new(), csrf: String::new() }, ..dispatcher };
        let (_, reader) = app.create_api_token(&session, "派单系统（只读）", &["requests:read".into()], Some(30)).await.unwrap_or_else(|e| panic!("{e}"));
        let s = t.request(json_request("GET", &format!("/api/v1/requests/{id}/suggestions"), &reader, None)).await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.text());
        assert_eq!(s.json()[0]["unit"], RSJ);
        let denied = t.request(json_request("POST", &format!("/api/v1/requests/{id}/actions"), &reader, Some(serde_json::json!({"action": "dispatch", "unit": RSJ})))).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "reading is not acting");
        let (_, writer) = app.create_api_token(&session, "派单系统", &["requests:read".into(), "requests:write".into()], Some(30)).await.unwrap_or_else(|e| panic!("{e}"));
        let unknown = t.request(json_request("POST", &format!("/api/v1/requests/{id}/actions"), &writer, Some(serde_json::json!({"action": "teleport"})))).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        let done = t.request(json_request("POST", &format!("/api/v1/requests/{id}/actions"), &writer, Some(serde_json::json!({"action": "dispatch", "unit": RSJ, "version": 1})))).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text());
        assert_eq!((done.json()["stage"].as_str(), done.json()["unit"].as_str()), (Some("dispatched"), Some(RSJ)));
        assert_eq!(done.json()["timeline"].as_array().map(Vec::len), Some(2));
        let stale = t.request(json_request("POST", &format!("/api/v1/requests/{id}/actions"), &writer, Some(serde_json::json!({"action": "urge", "note": "x", "version": 1})))).await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        let one = t.request(json_request("GET", &format!("/api/v1/requests/{id}"), &token, None)).await;
        assert_eq!(one.json()["stage"], "dispatched");
    }
}

backend_tests! {
    async fn the_dispatch_centre_sees_the_three_rates_overdue_requests_and_hot_spots(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = t.principal_by_phone(DEMO_RESIDENT_PHONE).await;
        let dispatcher = staff(&t, "dispatcher").await;
        let police = staff(&t, "handler").await;
        let lamp = |text: &str| NewRequest { kind: "求助".into(), category: "city.lighting".into(), text: text.into(), township: GXZ.into(), village: "130534100201".into(), ..NewRequest::default() };
        set_clock(&t, "2026-03-02T09:00:00+08:00");
        let a = app.file_request(Some(&me), Channel::App, &lamp("城东村口路灯坏了")).await.unwrap_or_else(|e| panic!("{e}"));
        let b = app.file_request(Some(&me), Channel::App, &lamp("城东村小学门口的路灯也不亮")).await.unwrap_or_else(|e| panic!("{e}"));
        app.file_request(Some(&me), Channel::App, &complaint()).await.unwrap_or_else(|e| panic!("{e}"));
        for id in [&a.id, &b.id] {
            app.act_on_request(&dispatcher, id, None, &RequestAction::Dispatch { unit: GAJ.into() }).await.unwrap_or_else(|e| panic!("{e}"));
        }
        // One signed within two working hours, the other the next day.
        set_clock(&t, "2026-03-02T10:00:00+08:00");
        app.act_on_request(&police, &a.id, None, &RequestAction::Sign).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&police, &a.id, None, &RequestAction::Contact { note: "已联系".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&police, &a.id, None, &RequestAction::Reply { text: "已修好".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&dispatcher, &a.id, None, &RequestAction::Close).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_request(&me, &a.id, None, &RequestAction::Rate { score: 4, comment: String::new() }).await.unwrap_or_else(|e| panic!("{e}"));
        set_clock(&t, "2026-03-10T10:00:00+08:00");
        app.act_on_request(&police, &b.id, None, &RequestAction::Sign).await.unwrap_or_else(|e| panic!("{e}"));

        let d = app.request_dashboard(&dispatcher, 30).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((d.county.filed, d.county.reached_unit, d.county.signed_on_time, d.county.closed), (3, 2, 1, 1));
        assert_eq!(d.county.on_time(), Some(0.5));
        assert_eq!(d.county.satisfied_share(), Some(1.0));
        assert_eq!(d.waiting_dispatch, 1);
        assert_eq!(d.by_unit.get(GAJ).map(|r| r.filed), Some(2));
        assert_eq!(d.by_township.get(GXZ).map(|r| r.filed), Some(3));
        assert!(d.overdue.iter().any(|r| r.id == b.id), "b is past its resolve-by day");
        assert_eq!(d.hot_spots.first().map(|h| (h.0.as_str(), h.1.as_str(), h.3)), Some(("city.lighting", "130534100201", 2)));
        assert!(matches!(app.request_dashboard(&me, 30).await, Err(AppError::Refused(_))));

        let mut desk = t.client();
        desk.staff_sign_in("dispatcher", tongban_app::DEMO_PASSWORD).await;
        let page = desk.get("/staff/dashboard?days=30").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("按时响应率") && page.text().contains("50%") && page.text().contains("城东村"), "{}", page.text());
    }
}

backend_tests! {
    async fn closed_requests_are_published_only_with_consent_and_without_personal_data(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = t.principal_by_phone(DEMO_RESIDENT_PHONE).await;
        let dispatcher = staff(&t, "dispatcher").await;
        let police = staff(&t, "handler").await;
        let go_round = |text: &'static str, disclose: bool| {
            let me = me.clone();
            let dispatcher = dispatcher.clone();
            let police = police.clone();
            async move {
                let r = app.file_request(Some(&me), Channel::App, &NewRequest { kind: "投诉".into(), category: "public_security".into(), text: text.into(), township: GXZ.into(), disclose, ..NewRequest::default() }).await.unwrap_or_else(|e| panic!("{e}"));
                app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Dispatch { unit: GAJ.into() }).await.unwrap_or_else(|e| panic!("{e}"));
                app.act_on_request(&police, &r.id, None, &RequestAction::Sign).await.unwrap_or_else(|e| panic!("{e}"));
                app.act_on_request(&police, &r.id, None, &RequestAction::Contact { note: "已联系".into() }).await.unwrap_or_else(|e| panic!("{e}"));
                app.act_on_request(&police, &r.id, None, &RequestAction::Reply { text: "已联系车主王建国（13911112222）挪车".into() }).await.unwrap_or_else(|e| panic!("{e}"));
                app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Close).await.unwrap_or_else(|e| panic!("{e}"));
                r
            }
        };
        go_round("我叫李明，家住幸福小区3号楼，门口天天被人堵车，电话13800138000", true).await;
        go_round("不想公开的噪音投诉", false).await;
        let open = app.file_request(Some(&me), Channel::App, &NewRequest { kind: "投诉".into(), category: "public_security".into(), text: "还在办理的堵车投诉".into(), township: GXZ.into(), disclose: true, ..NewRequest::default() }).await.unwrap_or_else(|e| panic!("{e}"));

        let mut visitor = t.client();
        let page = visitor.get("/public/requests").await;
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(text.contains("李某") && text.contains("***********") && text.contains("*号楼") && text.contains("王某某"), "{text}");
        assert!(!text.contains("13800138000") && !text.contains("13911112222") && !text.contains("李明"), "personal data is masked");
        assert!(!text.contains("不想公开") && !text.contains("还在办理"), "only consented, closed requests");
        assert!(text.contains("共 1 条"));
        let found = visitor.get("/public/requests?q=%E5%A0%B5%E8%BD%A6").await.text();
        assert!(found.contains("共 1 条"), "search by words");
        let none = visitor.get("/public/requests?q=%E8%B7%AF%E7%81%AF&category=public_security").await.text();
        assert!(none.contains("共 0 条"));
        let wildcard = visitor.get("/public/requests?q=%25").await.text();
        assert!(wildcard.contains("共 0 条"), "a % is a character, not a wildcard");
        let _ = open;
    }
}

/// A real picture, as a phone would send it.
fn picture(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, seed])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap_or_else(|e| panic!("{e}"));
    out.into_inner()
}

backend_tests! {
    async fn photos_come_with_the_reply_and_after_filing_each_party_within_its_own_six(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = t.principal_by_phone(DEMO_RESIDENT_PHONE).await;
        let dispatcher = staff(&t, "dispatcher").await;
        let police = staff(&t, "handler").await;
        let clerk = staff(&t, "clerk").await;
        let parking = NewRequest {
            kind: "投诉".into(), category: "traffic.parking".into(), township: GXZ.into(),
            text: "小区门口每天晚上有人乱停车，把消防通道堵死了".into(),
            photos: vec![("门口.jpg".into(), picture(1))],
            ..NewRequest::default()
        };
        let r = app.file_request(Some(&me), Channel::App, &parking).await.unwrap_or_else(|e| panic!("{e}"));

        // The resident adds a photo later; it is in the timeline.
        let r = app.add_request_photos(&me, &r.id, &[("晚上.jpg".into(), picture(2))]).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.version, 2);
        let events = app.store.request_events(&app.tenant, &r.id).await.unwrap_or_default();
        assert_eq!(events.last().map(|e| e.action.as_str()), Some("add_photos"));
        let id = r.id.clone();
        let count = |part: &'static str| {
            let id = id.clone();
            async move { app.store.request_photos(&app.tenant, &id).await.unwrap_or_default().iter().filter(|x| x.part == part).count() }
        };
        assert_eq!(count("request").await, 2);
        // Nobody else adds to it; nothing empty, no more than six, only pictures.
        assert_eq!(refusal(app.add_request_photos(&clerk, &r.id, &[("x.jpg".into(), picture(3))]).await.err().unwrap_or_else(|| panic!("a stranger added"))).0, RefusalKind::NotFound);
        assert_eq!(refusal(app.add_request_photos(&me, &r.id, &[]).await.err().unwrap_or_else(|| panic!("nothing added"))).1, "request_photo_missing");
        let five: Photos = (0..5).map(|i| (format!("p{i}.jpg"), picture(10 + i))).collect();
        assert_eq!(refusal(app.add_request_photos(&me, &r.id, &five).await.err().unwrap_or_else(|| panic!("eight kept"))), (RefusalKind::Invalid, "request_too_many_photos", Some("photo")));
        let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
        assert_eq!(refusal(app.add_request_photos(&me, &r.id, &[("letter.pdf".into(), pdf.clone())]).await.err().unwrap_or_else(|| panic!("a PDF kept"))).1, "request_photo_not_image");
        assert_eq!(count("request").await, 2, "nothing half-written");

        // The office adds its photos while it works on it, not before it signs.
        let r = app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Dispatch { unit: GAJ.into() }).await.unwrap_or_else(|e| panic!("{e}"));
        let early = app.add_request_photos(&police, &r.id, &[("x.jpg".into(), picture(4))]).await.err().unwrap_or_else(|| panic!("added before signing"));
        assert_eq!(refusal(early), (RefusalKind::Conflict, "request_wrong_stage", None));
        let r = app.act_on_request(&police, &r.id, None, &RequestAction::Sign).await.unwrap_or_else(|e| panic!("{e}"));
        let r = app.act_on_request(&police, &r.id, None, &RequestAction::Contact { note: "已电话联系".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        let not_here = app.act_with_photos(&police, &r.id, None, &RequestAction::Urge { note: "x".into() }, &[("x.jpg".into(), picture(5))]).await.err().unwrap_or_else(|| panic!("photos with an urge"));
        assert_eq!(refusal(not_here).1, "request_photo_not_here");
        // A reply with a bad photo is refused whole: still in hand, no reply.
        let bad = app.act_with_photos(&police, &r.id, None, &RequestAction::Reply { text: "已清理".into() }, &[("letter.pdf".into(), pdf)]).await.err().unwrap_or_else(|| panic!("a PDF with the reply"));
        assert_eq!(refusal(bad).1, "request_photo_not_image");
        assert_eq!(app.store.request(&app.tenant, &r.id).await.ok().flatten().map(|x| x.stage), Some("in_hand".into()));

        // The reply with a photo, on the office's page.
        let mut office = t.client();
        office.staff_sign_in("handler", tongban_app::DEMO_PASSWORD).await;
        let page = office.get(&format!("/requests/{}", r.id)).await.text();
        assert!(page.contains("enctype=\"multipart/form-data\" class=\"form action-reply\"") && page.contains("id=\"reply-photo\""), "{page}");
        let version = r.version.to_string();
        let done = office.post_file(&format!("/requests/{}/reply", r.id), &[("text", "已联系交警清理，门口已划禁停线"), ("version", &version)], ("photo", "禁停线.jpg", &picture(6))).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
        assert_eq!(count("reply").await, 1);
        let replied = app.store.request(&app.tenant, &r.id).await.ok().flatten().unwrap_or_else(|| panic!("gone"));
        assert_eq!(replied.stage, "replied");

        // The resident sees both parts, each where it belongs, and may open the office's photo.
        let mut resident = t.client();
        resident.resident_sign_in(DEMO_RESIDENT_PHONE).await;
        let page = resident.get(&format!("/requests/{}", r.id)).await.text();
        let reply_at = page.find("id=\"reply-h\"").unwrap_or_else(|| panic!("no reply shown: {page}"));
        assert!(page[reply_at..].contains("禁停线.jpg") && page[..reply_at].contains("门口.jpg"), "{page}");
        assert!(page.contains("id=\"add-photo\""), "the resident may still add one before closing");
        let photos = app.request_photos(&me, &r.id).await.unwrap_or_default();
        let theirs = photos.iter().find(|x| x.part == "reply").unwrap_or_else(|| panic!("no reply photo"));
        let full = resident.get(&format!("/requests/{}/photos/{}", r.id, theirs.id)).await;
        // Saved under the name it was uploaded with (in UTF-8, with an ASCII stand-in).
        assert_eq!(
            (full.status, full.header("content-disposition")),
            (StatusCode::OK, "attachment; filename=\"file.jpg\"; filename*=UTF-8''%E7%A6%81%E5%81%9C%E7%BA%BF.jpg")
        );

        // An app adds one over the JSON API, as a multipart form with its bearer token.
        // A new code a few minutes later: the page sign-in just had one.
        t.clock.set(tongban_domain::Clock::now(&*t.clock) + chrono::Duration::minutes(5));
        let r0 = t.request(json_request("POST", "/api/v1/auth/code", "", Some(serde_json::json!({"phone": DEMO_RESIDENT_PHONE})))).await;
        assert_eq!(r0.status, StatusCode::OK, "{}", r0.text());
        let code = t.last_sms_code("0001");
        let signed = t.request(json_request("POST", "/api/v1/auth/sign-in", "", Some(serde_json::json!({"phone": DEMO_RESIDENT_PHONE, "code": code})))).await;
        let token = signed.json()["token"].as_str().unwrap_or_default().to_owned();
        let mut body = b"--b\r\ncontent-disposition: form-data; name=\"photo\"; filename=\"morning.jpg\"\r\ncontent-type: image/jpeg\r\n\r\n".to_vec();
        body.extend_from_slice(&picture(7));
        body.extend_from_slice(b"\r\n--b--\r\n");
        let request = axum::http::Request::post(format!("/api/v1/requests/{}/photos", r.id))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "multipart/form-data; boundary=b")
            .body(axum::body::Body::from(body))
            .unwrap_or_else(|e| panic!("{e}"));
        let added = t.request(request).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
        let parts: Vec<String> = added.json()["photos"].as_array().map(|a| a.iter().map(|x| x["part"].as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default();
        assert_eq!(parts.iter().filter(|p| *p == "request").count(), 3);
        assert_eq!(parts.iter().filter(|p| *p == "reply").count(), 1);

        // Once closed, no more photos.
        app.act_on_request(&dispatcher, &r.id, None, &RequestAction::Close).await.unwrap_or_else(|e| panic!("{e}"));
        let late = app.add_request_photos(&me, &r.id, &[("x.jpg".into(), picture(8))]).await.err().unwrap_or_else(|| panic!("added after closing"));
        assert_eq!(refusal(late).1, "request_wrong_stage");
    }
}
