//! Applications end to end through the use cases on both backends: a resident files for
//! 个体工商户设立登记, the window asks for a supplement, accepts, the handler pauses the clock
//! with a second supplement, approves, the result is delivered and the case closed; with the
//! timeline, the deadlines on the working-day calendar (clock moved, never waited for), the
//! notifications written to the outbox and the audit trail checked at each point.

use std::collections::BTreeMap;

use tongban_app::cases::CaseView;
use tongban_app::{AppError, DEMO_RESIDENT_PHONE, Principal, RefusalKind};
use tongban_domain::deadline::Light;
use tongban_domain::process::{Action, Stage, SupplementItem};
use tongban_testkit::{TestApp, backend_tests, json_request};

const ITEM: &str = "1305340101001";
const DAY_MS: i64 = 86_400_000;

async fn staff(t: &TestApp, username: &str) -> Principal {
    t.principal_by_username(username).await
}

async fn resident(t: &TestApp) -> Principal {
    t.principal_by_phone(DEMO_RESIDENT_PHONE).await
}

fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn complete_answers() -> BTreeMap<String, String> {
    answers(&[
        ("operator_name", "李明"),
        ("id_number", "11010519491231002X"),
        ("phone", "13800000001"),
        ("scope", "针纺织品销售；服装服饰零售"),
        ("premises_type", "实体门店"),
        ("premises", "清河县城东村羊绒街 18 号"),
        ("form", "个人经营"),
    ])
}

/// A tiny but real JPEG header: enough for the type check, which reads the bytes.
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00scan";
const REQUIRED: [&str; 3] = [
    "个体工商户登记（备案）申请书",
    "经营者居民身份证",
    "经营场所使用证明或《住所（经营场所）申报承诺书》",
];

async fn upload_required(t: &TestApp, who: &Principal, id: &str) {
    for m in REQUIRED {
        t.app
            .upload_material(who, id, m, "scan.jpg", JPEG.to_vec(), true)
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
    }
}

fn advance_ms(t: &TestApp, ms: i64) {
    let now = tongban_domain::Clock::now(&*t.clock).timestamp_millis();
    t.clock
        .set(chrono::DateTime::from_timestamp_millis(now + ms).unwrap_or_default());
}

fn advance_days(t: &TestApp, days: i64) {
    advance_ms(t, days * DAY_MS);
}

fn refusal(e: AppError) -> (RefusalKind, &'static str) {
    match e {
        AppError::Refused(r) => (r.kind, r.code),
        other => panic!("expected a refusal, got {other}"),
    }
}

async fn act(t: &TestApp, who: &Principal, id: &str, a: Action) -> CaseView {
    t.app
        .act_on_case(who, id, None, &a)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", a.name()))
}

fn missing(material: &str, problem: &str) -> SupplementItem {
    SupplementItem {
        material: material.into(),
        problem: problem.into(),
    }
}

backend_tests! {
    async fn an_application_goes_from_submission_through_supplements_to_closure(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = resident(&t).await;
        let clerk = staff(&t, "clerk").await;
        let handler = staff(&t, "spj.handler").await;
        let police = staff(&t, "handler").await;
        let cal = app.catalog().await.unwrap_or_else(|e| panic!("{e}")).calendar.clone();

        let id = app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));

        // Malformed answers are refused field by field and nothing is saved.
        let bad = app.save_answers(&me, &id, &answers(&[("phone", "1380000"), ("premises_type", "地下室")]), true).await;
        let problems = bad.ok().and_then(Result::err).unwrap_or_default();
        let codes: Vec<(&str, &str)> = problems.iter().map(|p| (p.key.as_str(), p.code)).collect();
        assert_eq!(codes, [("phone", "phone_invalid"), ("premises_type", "answer_option")]);
        // A half-done draft may be saved; submitting it is refused until it is complete.
        let saved = app.save_answers(&me, &id, &answers(&[("operator_name", "李明")]), true).await;
        assert!(matches!(saved, Ok(Ok(_))));
        let e = app.submit_application(&me, &id).await.err().unwrap_or_else(|| panic!("incomplete draft submitted"));
        assert_eq!(refusal(e), (RefusalKind::Invalid, "case_answers_incomplete"));
        assert!(matches!(app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        // Nor until every required material has a file; the refusal names them all.
        let e = app.submit_application(&me, &id).await.err().unwrap_or_else(|| panic!("submitted without materials"));
        match e {
            AppError::Refused(r) => {
                assert_eq!(r.code, "case_materials_missing");
                assert!(r.args.iter().any(|(k, v)| *k == "materials" && REQUIRED.iter().all(|m| v.contains(m))), "{:?}", r.args);
            }
            other => panic!("{other}"),
        }
        upload_required(&t, &me, &id).await;

        // Nobody else sees a draft, not even the office that will handle it.
        assert_eq!(refusal(app.case_view(&clerk, &id).await.err().unwrap_or_else(|| panic!("draft visible"))).1, "case_not_found");

        let reference = app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        let again = app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reference, again, "submitting twice is one submission");
        let view = app.case_view(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(view.reference.as_deref(), Some(reference.to_string().as_str()));
        assert_eq!(view.stage, Stage::Submitted);
        // Received Wednesday 2026-11-25: intake within 5 working days.
        assert_eq!(view.intake_due.map(|d| d.to_string()).as_deref(), Some("2026-12-02"));
        assert_eq!(view.actions, ["withdraw"]);

        // The window's worklist has it; another department's handler cannot even find it.
        let queue = app.worklist(&clerk, 50).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(queue.iter().any(|c| c.id == id));
        assert_eq!(refusal(app.case_view(&police, &id).await.err().unwrap_or_else(|| panic!("visible to police"))).1, "case_not_found");
        assert_eq!(refusal(app.act_on_case(&me, &id, None, &Action::Accept).await.err().unwrap_or_else(|| panic!("resident accepted"))).0, RefusalKind::Forbidden);

        // An hour later intake finds two materials wanting, and says so at once.
        advance_ms(&t, 3_600_000);
        let v = act(&t, &clerk, &id, Action::RequestSupplement { items: vec![missing("经营场所使用证明", "未上传"), missing("经营者居民身份证", "照片模糊")] }).await;
        assert_eq!(v.stage, Stage::Supplement { step: 0 });
        let mine = app.case_view(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mine.supplement.len(), 2);
        assert_eq!(mine.actions, ["supply", "withdraw"]);
        advance_days(&t, 1);
        act(&t, &me, &id, Action::Supply).await;

        // Accepted Friday 11/27: 3 working days, counted from acceptance.
        advance_days(&t, 1);
        let v = act(&t, &clerk, &id, Action::Accept).await;
        assert_eq!(v.stage, Stage::AtStep { step: 1 });
        let clock = v.clock.unwrap_or_else(|| panic!("no clock after acceptance"));
        assert_eq!(clock.due_on.to_string(), "2026-12-02");
        assert_eq!(clock.light, Light::Green);

        // A stale version is refused rather than overwriting the acceptance.
        let stale = app.act_on_case(&handler, &id, Some(v.version - 1), &Action::Pass { note: String::new() }).await;
        assert_eq!(refusal(stale.err().unwrap_or_else(|| panic!("stale write accepted"))), (RefusalKind::Conflict, "case_changed"));

        // Review asks for one more document on Monday 11/30; it comes on Thursday 12/3: three
        // working days waited, added to the limit.
        advance_days(&t, 3);
        let v = act(&t, &handler, &id, Action::RequestSupplement { items: vec![missing("家庭成员关系证明", "家庭经营需提供")] }).await;
        assert_eq!(v.clock.map(|c| c.light), Some(Light::Paused));
        advance_days(&t, 3);
        let v = act(&t, &me, &id, Action::Supply).await;
        let clock = v.clock.unwrap_or_else(|| panic!("clock"));
        assert_eq!(clock.paused_working_days, 3);
        assert_eq!(Ok(clock.due_on), cal.add_working_days(chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default(), 3 + 3));
        assert_eq!(clock.due_on.to_string(), "2026-12-07");

        // The handler's clerk colleague may not decide.
        let v = act(&t, &handler, &id, Action::Pass { note: "材料齐全".into() }).await;
        assert_eq!(refusal(app.act_on_case(&clerk, &id, None, &Action::Approve).await.err().unwrap_or_else(|| panic!("clerk decided"))).0, RefusalKind::Forbidden);
        assert_eq!(v.actions, ["request_supplement", "approve", "deny"]);
        let v = act(&t, &handler, &id, Action::Approve).await;
        assert_eq!(v.outcome.as_deref(), Some("approved"));
        assert_eq!(v.clock.map(|c| c.light), Some(Light::DoneOnTime));
        act(&t, &clerk, &id, Action::Deliver { method: "电子营业执照".into() }).await;
        let v = act(&t, &clerk, &id, Action::Close).await;
        assert_eq!(v.stage, Stage::Closed);
        assert!(v.actions.is_empty());

        // The timeline tells the whole story, naming offices, not staff.
        let steps: Vec<&str> = v.timeline.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(steps, ["submit", "request_supplement", "supply", "accept", "request_supplement", "supply", "pass", "approve", "deliver", "close"]);
        assert!(v.timeline.iter().filter(|e| !e.by_applicant).all(|e| e.unit.as_deref() == Some("清河县行政审批局")));

        // Every change the resident must know about reached the outbox in its transaction.
        let outbox = app.store.outbox_of_case(&app.tenant, &id).await.unwrap_or_default();
        let sms: Vec<&str> = outbox.iter().filter(|m| m.channel == "sms").map(|m| m.event.as_str()).collect();
        assert_eq!(sms, ["submitted", "supplement_requested", "accepted", "supplement_requested", "approved", "delivered"]);
        assert!(outbox.iter().filter(|m| m.channel == "sms").all(|m| m.recipient == DEMO_RESIDENT_PHONE));
        let office: Vec<&str> = outbox.iter().filter(|m| m.recipient == "unit:130534-SPJ").map(|m| m.event.as_str()).collect();
        assert_eq!(office, ["submitted", "supplied", "supplied"]);

        // The relay delivers each row once: in-app messages to the resident and the office, and
        // the texts through the SMS gateway; a second pass finds nothing left to do.
        let report = app.relay_outbox(500).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.delivered as usize, outbox.len());
        assert_eq!(app.relay_outbox(500).await.unwrap_or_else(|e| panic!("{e}")).delivered, 0);
        let inbox = app.store.inbox(&app.tenant, me.user_id(), 50).await.unwrap_or_default();
        assert_eq!(inbox.len(), 6);
        let texts = app.identity.sms.outbox().unwrap_or_default();
        let shown = reference.to_string();
        assert_eq!(texts.iter().filter(|m| m.text.contains(&shown)).count(), 6);
        assert!(texts[0].text.contains("办理结果已送达"), "{}", texts[0].text);

        // And every change is in the audit trail.
        let audit = app.store.audit_entries(&app.tenant, &tongban_app::AuditFilter { action_prefix: Some("case.".into()), ..Default::default() }, 100).await.unwrap_or_default();
        assert_eq!(audit.len(), 1 + REQUIRED.len() + steps.len(), "the draft, each upload and each step");
    }

    async fn information_only_items_and_strangers_cannot_be_applied_for(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = resident(&t).await;
        let info_only = app.catalog().await.ok().and_then(|c| {
            c.items.iter().find(|i| i.online_level < tongban_domain::OnlineLevel::OnlineSubmission).map(|i| i.code.to_string())
        }).unwrap_or_default();
        let e = app.start_application(&me, &info_only, None).await.err().unwrap_or_else(|| panic!("applied online for {info_only}"));
        assert_eq!(refusal(e), (RefusalKind::Invalid, "item_not_online"));
        let e = app.start_application(&me, "1305349999999", None).await.err().unwrap_or_else(|| panic!("unknown item"));
        assert_eq!(refusal(e), (RefusalKind::NotFound, "item_not_found"));
        // Applying for someone who is not family is as if they did not exist.
        let police = staff(&t, "handler").await;
        let e = app.start_application(&me, ITEM, Some(police.user_id())).await.err().unwrap_or_else(|| panic!("applied for a stranger"));
        assert_eq!(refusal(e).1, "person_not_found");
        // For the elderly mother it works, and she sees the case too.
        let mother = me.actor.family.first().cloned().unwrap_or_default();
        let id = app.start_application(&me, ITEM, Some(&mother)).await.unwrap_or_else(|e| panic!("{e}"));
        let view = app.case_view(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((view.applicant_id.as_str(), view.filed_as.as_str()), (mother.as_str(), "family"));
    }
}

/// A gateway that is always down.
struct Down;

impl tongban_app::sms::SmsGateway for Down {
    fn send<'a>(
        &'a self,
        _to: &'a tongban_domain::PhoneNumber,
        _text: &'a str,
    ) -> tongban_app::sms::SendFuture<'a> {
        Box::pin(async {
            Err(tongban_app::sms::SmsError::Unreachable(
                "connection refused".into(),
            ))
        })
    }
}

backend_tests! {
    async fn undeliverable_texts_are_retried_with_growing_waits_then_kept_as_dead_letters(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let me = resident(&t).await;
        let id = t.app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(t.app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &me, &id).await;
        t.app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        let down = t.app.clone().with_identity(tongban_app::Identity {
            sms: std::sync::Arc::new(Down),
            ..tongban_app::Identity::ephemeral()
        });
        // The in-app messages go; the text fails and waits 30 s, then 60 s, ...
        let first = down.relay_outbox(100).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((first.delivered, first.retrying, first.dead), (2, 1, 0));
        assert_eq!(down.relay_outbox(100).await.map(|r| r.retrying).ok(), Some(0), "not due again yet");
        let mut dead = 0;
        for attempt in 1..tongban_app::relay::MAX_ATTEMPTS {
            advance_ms(&t, tongban_app::relay::retry_delay_ms(attempt - 1));
            let r = down.relay_outbox(100).await.unwrap_or_else(|e| panic!("{e}"));
            dead += r.dead;
        }
        assert_eq!(dead, 1);
        let letters = t.app.store.dead_letters(&t.app.tenant, 10).await.unwrap_or_default();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].attempts, tongban_app::relay::MAX_ATTEMPTS);
        assert!(letters[0].last_error.as_deref().unwrap_or_default().contains("connection refused"));
        // A dead letter is not retried by the working gateway either: an administrator decides.
        assert_eq!(t.app.relay_outbox(100).await.map(|r| r.delivered).ok(), Some(0));

        // Administrators see it and may send it again; nobody else may.
        let admin = staff(&t, "admin").await;
        let clerk = staff(&t, "clerk").await;
        assert_eq!(refusal(t.app.dead_letters(&clerk.actor).await.err().unwrap_or_else(|| panic!("a clerk saw dead letters"))).0, RefusalKind::Forbidden);
        assert_eq!(t.app.dead_letters(&admin.actor).await.map(|l| l.len()).ok(), Some(1));
        t.app.retry_dead_letter(&admin.actor, &letters[0].id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refusal(t.app.retry_dead_letter(&admin.actor, &letters[0].id).await.err().unwrap_or_else(|| panic!("retried twice"))).1, "notification_not_found");
        assert_eq!(t.app.relay_outbox(100).await.map(|r| r.delivered).ok(), Some(1), "the working gateway delivers it");
        let mut page = t.client();
        page.staff_sign_in("admin", tongban_app::DEMO_PASSWORD).await;
        assert_eq!(page.get("/admin/outbox").await.status, axum::http::StatusCode::OK);
    }
}

backend_tests! {
    async fn uploads_are_checked_by_their_bytes_and_served_only_to_those_who_may_see_the_case(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = resident(&t).await;
        let clerk = staff(&t, "clerk").await;
        let police = staff(&t, "handler").await;
        let id = app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        let m = REQUIRED[1];
        for (name, bytes, code) in [
            ("id.jpg", b"".as_slice(), "upload_empty"),
            ("id.html", b"<!DOCTYPE html><script>alert(1)</script>".as_slice(), "upload_type"),
            ("id.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>".as_slice(), "upload_type"),
            ("id.pdf", b"MZ\x90\x00\x03 renamed executable".as_slice(), "upload_type"),
            ("id.zip", b"PK\x03\x04 archive".as_slice(), "upload_type"),
            ("id.png", JPEG, "upload_mismatch"),
        ] {
            let e = app.upload_material(&me, &id, m, name, bytes.to_vec(), false).await.err().unwrap_or_else(|| panic!("{name} accepted"));
            assert_eq!(refusal(e), (RefusalKind::Invalid, code), "{name}");
        }
        let big = { let mut b = b"%PDF-".to_vec(); b.resize(tongban_domain::upload::MAX_FILE_BYTES + 1, b' '); b };
        assert_eq!(refusal(app.upload_material(&me, &id, m, "big.pdf", big, false).await.err().unwrap_or_else(|| panic!("too big accepted"))).1, "upload_too_large");
        assert_eq!(refusal(app.upload_material(&me, &id, "营业执照正本", "a.jpg", JPEG.to_vec(), false).await.err().unwrap_or_else(|| panic!("unknown material"))).1, "material_unknown");
        assert!(app.case_materials(&me, &id).await.unwrap_or_default().is_empty(), "refusals stored nothing");

        // Uploading again with `replace` keeps one current file per material.
        upload_required(&t, &me, &id).await;
        upload_required(&t, &me, &id).await;
        let files = app.case_materials(&me, &id).await.unwrap_or_default();
        assert_eq!(files.len(), REQUIRED.len());
        assert_eq!(files[0].media_type, "image/jpeg");
        assert!(matches!(app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));

        // The office handling it reads the file; another department cannot find it.
        let (record, bytes) = app.material_file(&clerk, &id, &files[0].id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((record.file_name.as_str(), bytes.as_slice()), ("scan.jpg", JPEG));
        assert_eq!(refusal(app.material_file(&police, &id, &files[0].id).await.err().unwrap_or_else(|| panic!("police read it"))).1, "case_not_found");
        assert_eq!(refusal(app.material_file(&clerk, &id, "f000").await.err().unwrap_or_else(|| panic!("guessed id"))).1, "file_not_found");

        // Once submitted, files change only when a supplement is asked for.
        assert_eq!(refusal(app.upload_material(&me, &id, m, "id.jpg", JPEG.to_vec(), true).await.err().unwrap_or_else(|| panic!("changed after submission"))).1, "case_materials_closed");
        act(&t, &clerk, &id, Action::RequestSupplement { items: vec![missing(m, "照片模糊")] }).await;
        app.upload_material(&me, &id, m, "id-clear.jpg", JPEG.to_vec(), true).await.unwrap_or_else(|e| panic!("{e}"));
        let files = app.case_materials(&clerk, &id).await.unwrap_or_default();
        assert!(files.iter().any(|f| f.file_name == "id-clear.jpg") && files.len() == REQUIRED.len());
    }
}

fn case_id_from(location: &str) -> String {
    location
        .trim_start_matches("/cases/")
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

backend_tests! {
    async fn a_resident_applies_through_the_pages_and_the_window_accepts_it_from_the_worklist(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let mut me = t.client();
        me.resident_sign_in(DEMO_RESIDENT_PHONE).await;
        let guide = me.get(&format!("/items/{ITEM}")).await.text();
        assert!(guide.contains(&format!("action=\"/items/{ITEM}/apply\"")), "the guide offers online application");
        let r = me.post(&format!("/items/{ITEM}/apply"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let id = case_id_from(r.header("location"));
        // Eight questions: asked one at a time, each page saving its own answer.
        let form = me.get(&format!("/cases/{id}/answers")).await.text();
        assert!(form.contains("经营者姓名") && form.contains("第 1 题，共 8 题") && !form.contains("id=\"phone\""), "{form}");
        let r = me.post(&format!("/cases/{id}/answers"), &[("_q", "1"), ("operator_name", " ")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("operator_name-error") && r.text().contains("第 1 题"), "the same question again, with its error");
        let r = me.post(&format!("/cases/{id}/answers"), &[("_q", "1"), ("operator_name", "李明")]).await;
        assert_eq!(r.header("location"), format!("/cases/{id}/answers?q=2"));
        let second = me.get(&format!("/cases/{id}/answers")).await.text();
        assert!(second.contains("第 2 题") && second.contains(&format!("href=\"/cases/{id}/answers?q=1\"")), "resumes at the first open question, with a way back");
        assert!(me.get(&format!("/cases/{id}/answers?q=6")).await.text().contains("<select id=\"premises_type\""), "the item's own questions");

        // Wrong answers come back beside their fields, with the summary, and keep what was typed.
        let r = me.post(&format!("/cases/{id}/answers"), &[("operator_name", "李明"), ("id_number", "110105194912310021"), ("phone", "13800000001"), ("scope", "服装零售"), ("premises_type", "实体门店"), ("premises", "城东村"), ("form", "个人经营")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text();
        assert!(page.contains("error-summary") && page.contains("id_number-error") && page.contains("身份证号校验位不对"), "{page}");
        assert!(page.contains("value=\"服装零售\"") || page.contains(">服装零售</textarea>"), "typed answers are kept");

        let owned = complete_answers();
        let pairs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = me.post(&format!("/cases/{id}/answers"), &pairs).await;
        assert_eq!(r.header("location"), format!("/cases/{id}/materials"));

        // A renamed executable is refused beside the file field; real scans go in.
        me.get(&format!("/cases/{id}/materials")).await;
        let r = me.post_file(&format!("/cases/{id}/materials"), &[("material", REQUIRED[0])], ("file", "form.pdf", b"MZ\x90\x00")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("file-error"), "{}", r.text());
        for m in REQUIRED {
            let r = me.post_file(&format!("/cases/{id}/materials"), &[("material", m)], ("file", "scan.jpg", JPEG)).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        }

        // Check your answers, with change links; then submit and get the reference.
        let check = me.get(&format!("/cases/{id}")).await.text();
        assert!(check.contains("核对您的申请") && check.contains(&format!("/cases/{id}/answers?q=1&#38;return=check")), "{check}");
        // A change from the check page comes back to it.
        let r = me.post(&format!("/cases/{id}/answers"), &[("_q", "7"), ("_return", "check"), ("premises", "城东村羊绒街 20 号")]).await;
        assert_eq!(r.header("location"), format!("/cases/{id}"));
        let r = me.post(&format!("/cases/{id}/submit"), &[]).await;
        assert_eq!(r.header("location"), format!("/cases/{id}?submitted=1"));
        let done = me.get(&format!("/cases/{id}?submitted=1")).await.text();
        assert!(done.contains("申请已提交") && done.contains("class=\"reference\""), "{done}");

        // The window clerk finds it in the worklist and accepts it; the resident sees progress.
        let mut clerk = t.client();
        clerk.staff_sign_in("clerk", tongban_app::DEMO_PASSWORD).await;
        let list = clerk.get("/staff/worklist").await.text();
        assert!(list.contains(&format!("/cases/{id}")), "{list}");
        let page = clerk.get(&format!("/cases/{id}")).await.text();
        assert!(page.contains("value=\"accept\""));
        let r = clerk.post(&format!("/cases/{id}/act"), &[("action", "accept")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // A file is served as an attachment that browsers must not sniff, to those who may see it.
        let file_link = page.split(&format!("/cases/{id}/files/")).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned();
        let f = clerk.get(&format!("/cases/{id}/files/{file_link}")).await;
        assert_eq!(f.status, StatusCode::OK);
        assert!(f.header("content-disposition").starts_with("attachment"));
        assert_eq!(f.header("x-content-type-options"), "nosniff");
        let mut stranger = t.client();
        stranger.staff_sign_in("handler", tongban_app::DEMO_PASSWORD).await;
        assert_eq!(stranger.get(&format!("/cases/{id}/files/{file_link}")).await.status, StatusCode::NOT_FOUND);

        let mine = me.get(&format!("/cases/{id}")).await.text();
        assert!(mine.contains("办理中") && mine.contains("受理") && mine.contains("清河县行政审批局"), "{mine}");
        assert!(me.get("/me/cases").await.text().contains(&format!("/cases/{id}")));
    }
}

backend_tests! {
    async fn a_village_agent_files_only_with_consent_and_the_case_shows_it(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = resident(&t).await;
        let hash = app.identity.vault.blind_index("phone", tongban_app::DEMO_AGENT_PHONE);
        let agent_id = app.store.user_by_phone_hash(&app.tenant, &hash).await.ok().flatten().map(|u| u.id).unwrap_or_default();
        let agent = app.principal_of(&agent_id).await.unwrap_or_else(|e| panic!("{e}"));

        let e = app.start_application(&agent, ITEM, Some(me.user_id())).await.err().unwrap_or_else(|| panic!("filed without consent"));
        assert_eq!(refusal(e), (RefusalKind::Forbidden, "case_consent_needed"));

        app.record_consent(&agent.actor, DEMO_RESIDENT_PHONE, ITEM, tongban_app::agents::ConsentEvidence::PaperScan { bytes: JPEG.to_vec() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let id = app.start_application(&agent, ITEM, Some(me.user_id())).await.unwrap_or_else(|e| panic!("{e}"));
        // The resident sees the draft's case only once submitted; the agent sees the consent.
        let view = app.case_view(&agent, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(view.filed_as, "agent");
        let consent = view.consent.unwrap_or_else(|| panic!("no consent on the case"));
        assert_eq!((consent.agent_name.as_str(), consent.method.as_str(), consent.revoked), ("赵红", "paper_scan", false));

        assert!(matches!(app.save_answers(&agent, &id, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &agent, &id).await;
        app.submit_application(&agent, &id).await.unwrap_or_else(|e| panic!("{e}"));
        let mine = app.case_view(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mine.consent.map(|k| k.agent_name).as_deref(), Some("赵红"), "the resident sees who acted for them");
        let mut page = t.client();
        page.resident_sign_in(DEMO_RESIDENT_PHONE).await;
        let html = page.get(&format!("/cases/{id}")).await.text();
        assert!(html.contains("代办人与授权") && html.contains("赵红") && html.contains("纸质授权书"), "{html}");
    }
}

backend_tests! {
    async fn anyone_with_the_reference_and_the_phone_number_can_follow_a_case_and_no_one_can_probe(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let me = resident(&t).await;
        let id = t.app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(t.app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &me, &id).await;
        let reference = t.app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}")).to_string();

        let mut anon = t.client();
        anon.get("/track").await;
        let typed = reference.to_lowercase().replace('-', " ");
        let r = anon.post("/track", &[("reference", &typed), ("phone", "138 0000 0001")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let page = r.text();
        assert!(page.contains(&reference) && page.contains("个体工商户设立登记") && page.contains("已提交，等待受理"), "{page}");
        assert!(!page.contains("李明") && !page.contains("13800000001") && !page.contains("11010519491231002X"), "no personal data");

        // A wrong phone number answers exactly as an unknown reference does.
        let wrong_phone = anon.post("/track", &[("reference", &reference), ("phone", "13912345678")]).await;
        let other = tongban_domain::reference::CaseRef::from_random(42).to_string();
        let unknown = anon.post("/track", &[("reference", &other), ("phone", DEMO_RESIDENT_PHONE)]).await;
        assert_eq!(wrong_phone.status, unknown.status);
        assert!(wrong_phone.text().contains("没有找到") && unknown.text().contains("没有找到"));
        // A typo is caught by the check character before any look-up.
        let mut typo: Vec<char> = reference.chars().collect();
        typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
        let r = anon.post("/track", &[("reference", &typo.into_iter().collect::<String>()), ("phone", DEMO_RESIDENT_PHONE)]).await;
        assert!(r.text().contains("有一位不对"), "{}", r.text());

        // Ten look-ups in ten minutes, then a wait.
        for _ in 0..7 {
            anon.post("/track", &[("reference", &reference), ("phone", DEMO_RESIDENT_PHONE)]).await;
        }
        let r = anon.post("/track", &[("reference", &reference), ("phone", DEMO_RESIDENT_PHONE)]).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
        assert!(r.text().contains("查询太频繁"));
        advance_ms(&t, tongban_domain::reference::LOOKUP_WINDOW_MS);
        assert_eq!(anon.post("/track", &[("reference", &reference), ("phone", DEMO_RESIDENT_PHONE)]).await.status, StatusCode::OK);
    }
}

backend_tests! {
    async fn a_supervisor_urges_an_open_case_and_the_office_is_told(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = resident(&t).await;
        let clerk = staff(&t, "clerk").await;
        let supervisor = staff(&t, "supervisor").await;
        let id = app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &me, &id).await;
        app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));

        // Four working days later intake is due tomorrow: the supervisor's list shows it.
        advance_days(&t, 6);
        let due_soon = app.worklist(&supervisor, 50).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(due_soon.iter().any(|c| c.id == id), "due within a working day: on the supervision list");
        assert_eq!(refusal(app.urge_case(&clerk, &id, "快办").await.err().unwrap_or_else(|| panic!("a clerk urged"))).0, RefusalKind::Forbidden);
        assert_eq!(refusal(app.urge_case(&supervisor, &id, "  ").await.err().unwrap_or_else(|| panic!("empty urge"))).1, "case_reason_missing");
        app.urge_case(&supervisor, &id, "今天内受理或一次性告知").await.unwrap_or_else(|e| panic!("{e}"));

        let view = app.case_view(&clerk, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(view.timeline.last().map(|e| e.action.as_str()), Some("urge"));
        app.relay_outbox(100).await.unwrap_or_else(|e| panic!("{e}"));
        let office = app.store.inbox(&app.tenant, "unit:130534-SPJ", 10).await.unwrap_or_default();
        assert_eq!(office.first().map(|m| m.event.as_str()), Some("urged"));

        act(&t, &clerk, &id, Action::NotAccept { reason: "不属于本部门职责".into() }).await;
        assert_eq!(refusal(app.urge_case(&supervisor, &id, "快办").await.err().unwrap_or_else(|| panic!("urged a finished case"))).1, "case_not_open");
    }
}

backend_tests! {
    async fn an_intake_nobody_answers_in_five_working_days_counts_as_accepted_on_receipt(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        let me = resident(&t).await;
        let id = app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &me, &id).await;
        app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        // Received Wednesday 11/25, intake due Wednesday 12/2: nothing happens until it passes.
        advance_days(&t, 7);
        assert_eq!(app.deem_overdue_intakes().await.ok(), Some(0));
        advance_days(&t, 1);
        assert_eq!(app.deem_overdue_intakes().await.ok(), Some(1));
        assert_eq!(app.deem_overdue_intakes().await.ok(), Some(0), "once");
        let v = app.case_view(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.stage, Stage::AtStep { step: 1 });
        let clock = v.clock.unwrap_or_else(|| panic!("the decision clock runs"));
        // 3 working days counted from receipt, not from today: due 11/30, already overdue.
        assert_eq!(clock.due_on.to_string(), "2026-11-30");
        assert_eq!(clock.light, Light::Red);
        let last = v.timeline.last().unwrap_or_else(|| panic!("timeline"));
        assert!(last.action == "deemed_accept" && last.by_system && !last.by_applicant);
        let sms = app.store.outbox_of_case(&app.tenant, &id).await.unwrap_or_default();
        assert!(sms.iter().any(|m| m.channel == "sms" && m.event == "accepted"));
    }
}

backend_tests! {
    async fn an_administrator_publishes_next_years_calendar_and_deadlines_count_on_it(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let mut admin = t.client();
        admin.staff_sign_in("admin", tongban_app::DEMO_PASSWORD).await;
        let page = admin.get("/admin/calendar?year=2027").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("year = 2027"), "an empty year to fill in");

        // A weekday listed as a make-up working day is refused, and nothing is stored.
        let bad = "year = 2027\nworkdays = [\"2027-01-05\"]\n";
        let r = admin.post("/admin/calendar", &[("document", bad)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("document-error") && r.text().contains("2027-01-05"), "{}", r.text());
        let cal = t.app.catalog().await.unwrap_or_else(|e| panic!("{e}")).calendar.clone();
        assert!(!cal.is_published(2027), "until then 2027 is counted provisionally");

        let good = "year = 2027\nworkdays = [\"2027-02-07\"]\n\n[[holiday]]\nname = \"元旦\"\ndates = [\"2027-01-01\", \"2027-01-02\", \"2027-01-03\"]\n";
        let r = admin.post("/admin/calendar", &[("document", good)]).await;
        assert_eq!(r.header("location"), "/admin/calendar?saved=2027", "{}", r.text());
        let cal = t.app.catalog().await.unwrap_or_else(|e| panic!("{e}")).calendar.clone();
        // From Wednesday 2026-12-30: 12/31, then 1/4 (1/1–1/3 off).
        assert_eq!(cal.add_working_days(chrono::NaiveDate::from_ymd_opt(2026, 12, 30).unwrap_or_default(), 2).map(|d| d.to_string()).ok().as_deref(), Some("2027-01-04"));

        let mut clerk = t.client();
        clerk.staff_sign_in("clerk", tongban_app::DEMO_PASSWORD).await;
        assert_eq!(clerk.get("/admin/calendar").await.status, StatusCode::FORBIDDEN);
        assert_eq!(clerk.post("/admin/calendar", &[("document", good)]).await.status, StatusCode::FORBIDDEN);
    }
}

backend_tests! {
    async fn an_app_applies_and_an_integration_accepts_over_the_json_api(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        // The resident's app signs in with an SMS code and gets a bearer token.
        let r = t.request(json_request("POST", "/api/v1/auth/code", "", Some(serde_json::json!({"phone": DEMO_RESIDENT_PHONE})))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let code = t.last_sms_code("0001");
        let r = t.request(json_request("POST", "/api/v1/auth/sign-in", "", Some(serde_json::json!({"phone": DEMO_RESIDENT_PHONE, "code": code})))).await;
        let token = r.json()["token"].as_str().unwrap_or_default().to_owned();

        let r = t.request(json_request("POST", "/api/v1/cases", &token, Some(serde_json::json!({"item_code": ITEM})))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(r.json()["stage"], "draft");

        // Every problem at once, per field, in the client's language.
        let r = t.request(json_request("PUT", &format!("/api/v1/cases/{id}/answers"), &token, Some(serde_json::json!({"answers": {"phone": "123", "since": "x"}})))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<String> = r.json()["fields"].as_array().map(|a| a.iter().map(|f| f["field"].as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default();
        assert!(fields.contains(&"phone".to_owned()) && fields.contains(&"operator_name".to_owned()), "{fields:?}");
        let answers: serde_json::Map<String, serde_json::Value> = complete_answers().into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        let r = t.request(json_request("PUT", &format!("/api/v1/cases/{id}/answers"), &token, Some(serde_json::json!({"answers": answers})))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        // Files go up as multipart: a 7 MiB scan is fine (the general body limit is lower);
        // one over 10 MiB is refused.
        let upload = |material: &str, name: &str, bytes: Vec<u8>| {
            let boundary = "api-boundary";
            let mut body = format!("--{boundary}\r\ncontent-disposition: form-data; name=\"material\"\r\n\r\n{material}\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n").into_bytes();
            body.extend_from_slice(&bytes);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            axum::http::Request::post(format!("/api/v1/cases/{id}/materials"))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(axum::body::Body::from(body))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let mut scan = b"%PDF-1.7\n".to_vec();
        scan.resize(7 * 1024 * 1024, b' ');
        let r = t.request(upload(REQUIRED[0], "application.pdf", scan)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(r.json()["media_type"], "application/pdf");
        let mut huge = b"%PDF-1.7\n".to_vec();
        huge.resize(tongban_domain::upload::MAX_FILE_BYTES + 1, b' ');
        let r = t.request(upload(REQUIRED[1], "id.pdf", huge)).await;
        assert_eq!(r.json()["code"], "upload_too_large", "{}", r.text());
        for m in &REQUIRED[1..] {
            let r = t.request(upload(m, "scan.jpg", JPEG.to_vec())).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
        let r = t.request(json_request("POST", &format!("/api/v1/cases/{id}/submit"), &token, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let reference = r.json()["reference"].as_str().unwrap_or_default().to_owned();
        assert_eq!(r.json()["case"]["stage"], "submitted");
        let r = t.request(json_request("GET", "/api/v1/cases", &token, None)).await;
        assert_eq!(r.json()[0]["reference"], reference.as_str());

        // The window's integration uses a personal access token scoped to cases.
        let mut clerk_pages = t.client();
        clerk_pages.staff_sign_in("clerk", tongban_app::DEMO_PASSWORD).await;
        let clerk = staff(&t, "clerk").await;
        let clerk_session = tongban_app::Principal { credential: tongban_app::Credential::Session { id_hash: String::new(), csrf: String::new() }, ..clerk };
        let (_, pat) = app.create_api_token(&clerk_session, "窗口叫号系统", &["cases:read".into()], Some(30)).await.unwrap_or_else(|e| panic!("{e}"));
        let r = t.request(json_request("GET", "/api/v1/worklist", &pat, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(r.json().as_array().is_some_and(|a| a.iter().any(|c| c["id"] == id.as_str())));
        // Reading is not acting: the token lacks cases:write.
        let r = t.request(json_request("POST", &format!("/api/v1/cases/{id}/actions"), &pat, Some(serde_json::json!({"action": "accept"})))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.json()["code"], "scope_missing");
        let (_, writer) = app.create_api_token(&clerk_session, "窗口受理", &["cases:read".into(), "cases:write".into()], Some(30)).await.unwrap_or_else(|e| panic!("{e}"));
        let r = t.request(json_request("POST", &format!("/api/v1/cases/{id}/actions"), &writer, Some(serde_json::json!({"action": "approve"})))).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "approving at intake is the wrong step: {}", r.text());
        let r = t.request(json_request("POST", &format!("/api/v1/cases/{id}/actions"), &writer, Some(serde_json::json!({"action": "accept", "version": 1})))).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(r.json()["code"], "case_changed");
        let r = t.request(json_request("POST", &format!("/api/v1/cases/{id}/actions"), &writer, Some(serde_json::json!({"action": "accept"})))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["stage"], "in_progress");
        assert_eq!(r.json()["light"], "green");
        // The resident's app sees the step.
        let r = t.request(json_request("GET", &format!("/api/v1/cases/{id}"), &token, None)).await;
        assert_eq!(r.json()["timeline"][1]["action"], "accept");
    }
}

backend_tests! {
    async fn the_demo_county_has_a_repeatable_history_in_every_stage_and_heads_see_their_whole_department(backend: Backend) {
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let app = &t.app;
        assert_eq!(app.create_demo_history().await.unwrap_or_else(|e| panic!("{e}")), 3000);
        assert_eq!(app.create_demo_history().await.unwrap_or_else(|e| panic!("{e}")), 0, "written once");
        let everything = tongban_store::CaseQuery::default();
        assert_eq!(app.store.count_cases(&app.tenant, &everything).await.unwrap_or_else(|e| panic!("{e}")), 3000);
        let stages = ["submitted", "in_progress", "supplement", "delivered", "not_accepted", "withdrawn"];
        let all = app.store.cases(&app.tenant, &tongban_store::CaseQuery { stages: stages.map(String::from).to_vec(), limit: 1000, ..Default::default() }).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(all.len() < 1000 && app.store.count_cases(&app.tenant, &tongban_store::CaseQuery { stages: vec!["closed".into()], ..Default::default() }).await.unwrap_or(0) > 1000, "most are closed");
        for stage in stages {
            assert!(all.iter().any(|c| c.stage == stage), "some case is {stage}");
        }
        let today = chrono::DateTime::from_timestamp_millis(app.now_ms() + 8 * 3_600_000).unwrap_or_default().date_naive().to_string();
        let open: Vec<_> = all.iter().filter(|c| matches!(c.stage.as_str(), "submitted" | "in_progress")).collect();
        let overdue = open.iter().filter(|c| c.due_on.as_deref().is_some_and(|d| d < today.as_str())).count();
        assert!(overdue > 0 && overdue * 4 < open.len(), "{overdue} of {} open cases overdue", open.len());
        let units: std::collections::HashSet<_> = all.iter().map(|c| c.unit_code.as_str()).collect();
        assert!(units.len() >= 10 && units.iter().any(|u| u.len() == 12), "county and township offices: {units:?}");
        // Every case's timeline starts with its submission and ends in the stage it is in.
        for c in all.iter().step_by(97) {
            let events = app.store.case_events(&app.tenant, &c.id).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(events.first().map(|e| e.action.as_str()), Some("submit"));
            assert_eq!(events.last().map(|e| e.to_stage.as_str()), Some(c.stage.as_str()), "{}", c.id);
            assert!(events.windows(2).all(|w| w[0].at < w[1].at) && events.last().is_some_and(|e| e.at <= app.now_ms()));
        }

        // The labelled requests are played through the request loop too.
        let all_requests = tongban_store::RequestQuery::default();
        assert_eq!(app.store.count_requests(&app.tenant, &all_requests).await.unwrap_or(0), 409);
        let dispatcher = staff(&t, "dispatcher").await;
        let board = app.request_dashboard(&dispatcher, 90).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(board.county.filed, 409);
        assert!(board.county.closed > 200 && board.county.rated > 100, "{:?}", board.county);
        assert!(board.county.on_time().is_some_and(|r| r > 0.5 && r < 1.0), "{:?}", board.county);
        assert!(board.by_unit.len() >= 10 && !board.hot_spots.is_empty());
        let events = app.store.request_events(&app.tenant, "demo-q0000").await.unwrap_or_default();
        assert_eq!(events.first().map(|e| e.action.as_str()), Some("file"));

        // A head answers for the whole department, including cases waiting on applicants.
        let head = staff(&t, "head").await;
        let handler = staff(&t, "handler").await;
        let theirs = app.worklist(&head, 1000).await.unwrap_or_else(|e| panic!("{e}"));
        let mine = app.worklist(&handler, 1000).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(mine.iter().all(|c| theirs.iter().any(|h| h.id == c.id)));
        assert!(theirs.iter().any(|c| c.stage == "supplement") && !mine.iter().any(|c| c.stage == "supplement"));
        assert!(theirs.windows(2).all(|w| w[0].due_on.is_none() || w[1].due_on.is_none() || w[0].due_on <= w[1].due_on), "most urgent first");

        // The same day gives the same county.
        let Some(again) = TestApp::demo_with_accounts(backend).await else { return };
        again.app.create_demo_history().await.unwrap_or_else(|e| panic!("{e}"));
        let other = again.app.store.cases(&again.app.tenant, &tongban_store::CaseQuery { stages: stages.map(String::from).to_vec(), limit: 1000, ..Default::default() }).await.unwrap_or_else(|e| panic!("{e}"));
        let refs = |cs: &[tongban_store::CaseRecord]| { let mut r: Vec<_> = cs.iter().map(|c| (c.id.clone(), c.reference.clone(), c.stage.clone())).collect(); r.sort(); r };
        assert_eq!(refs(&all), refs(&other));
    }
}

/// A receiver of webhooks: records each request's head and body and answers 200.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

async fn webhook_receiver() -> (std::net::SocketAddr, Received) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let got: Received = std::sync::Arc::default();
    let keep = std::sync::Arc::clone(&got);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let (head, body) = loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                data.extend_from_slice(&buf[..n]);
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    break (head, data[end + 4..end + 4 + length].to_vec());
                }
            };
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
            keep.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((head, body));
        }
    });
    (addr, got)
}

backend_tests! {
    async fn integrations_hear_of_every_change_by_signed_webhooks_delivered_once(backend: Backend) {
        const SECRET: &str = "county-exchange-secret";
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let (addr, got) = webhook_receiver().await;
        let hook = tongban_app::webhook::Webhook::new(&format!("http://{addr}/hooks/tongban"), SECRET).unwrap_or_else(|e| panic!("{e}"));
        let app = t.app.clone().with_webhook(hook);
        let me = resident(&t).await;
        let clerk = staff(&t, "clerk").await;
        let id = app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &me, &id).await;
        let reference = app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        app.act_on_case(&clerk, &id, None, &Action::Accept).await.unwrap_or_else(|e| panic!("{e}"));
        let handler = staff(&t, "spj.handler").await;
        app.act_on_case(&handler, &id, None, &Action::Pass { note: "材料齐全".into() }).await.unwrap_or_else(|e| panic!("{e}"));
        app.relay_outbox(100).await.unwrap_or_else(|e| panic!("{e}"));
        app.relay_outbox(100).await.unwrap_or_else(|e| panic!("{e}"));

        let rows: Vec<_> = app.store.outbox_of_case(&app.tenant, &id).await.unwrap_or_default().into_iter().filter(|m| m.channel == "webhook").collect();
        let received = got.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(received.len(), 3, "submitted, accepted and the review passed, each once");
        assert_eq!(rows.len(), 3);
        for row in &rows {
            let key = format!("idempotency-key: {}", row.id.to_lowercase());
            let (head, body) = received.iter().find(|(h, _)| h.contains(&key)).unwrap_or_else(|| panic!("{} not received", row.id));
            assert!(head.starts_with("post /hooks/tongban http/1.1"), "{head}");
            let sig = tongban_app::webhook::signature(SECRET, body);
            assert!(head.contains(&format!("x-tongban-signature: {sig}")), "the body is signed: {head}");
            let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            assert_eq!(json["event"], row.event.as_str());
            assert_eq!(json["case_id"], id.as_str());
            assert_eq!(json["case"]["reference"], reference.to_string().as_str());
            assert!(row.delivered_at.is_some());
        }
        let events: Vec<_> = rows.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["submitted", "accepted", "step_passed"]);
        // Without a webhook configured, nothing is written for one.
        let plain = t.app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(t.app.save_answers(&me, &plain, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &me, &plain).await;
        t.app.submit_application(&me, &plain).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(!t.app.store.outbox_of_case(&t.app.tenant, &plain).await.unwrap_or_default().iter().any(|m| m.channel == "webhook"));
    }
}

backend_tests! {
    async fn uploaded_photos_are_previewed_as_small_thumbnails_only_to_those_who_may_see_the_case(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let me = resident(&t).await;
        let id = t.app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        // A real 1600×1200 PNG, as a phone camera's screenshot would be.
        let png = {
            let mut out = Vec::new();
            let picture = image::RgbImage::from_fn(1600, 1200, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
            image::DynamicImage::ImageRgb8(picture).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap_or_else(|e| panic!("{e}"));
            out
        };
        let photo = t.app.upload_material(&me, &id, REQUIRED[1], "身份证.png", png.clone(), true).await.unwrap_or_else(|e| panic!("{e}"));
        let header_only = t.app.upload_material(&me, &id, REQUIRED[0], "申请书.jpg", JPEG.to_vec(), true).await.unwrap_or_else(|e| panic!("{e}"));
        let mut browser = t.client();
        browser.resident_sign_in(DEMO_RESIDENT_PHONE).await;
        let page = browser.get(&format!("/cases/{id}")).await.text();
        assert!(page.contains(&format!("/cases/{id}/files/{}/thumb", photo.id)), "the photo is previewed");
        assert!(!page.contains(&format!("/cases/{id}/files/{}/thumb", header_only.id)), "bytes that do not decode are listed without a preview");
        let thumb = browser.get(&format!("/cases/{id}/files/{}/thumb", photo.id)).await;
        assert_eq!(thumb.status, StatusCode::OK);
        assert_eq!(thumb.header("content-type"), "image/jpeg");
        assert_eq!(thumb.header("x-content-type-options"), "nosniff");
        let small = image::load_from_memory(&thumb.body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((small.width(), small.height()), (240, 180));
        assert!(thumb.body.len() < 20_000, "{} bytes: light enough for a weak connection", thumb.body.len());
        let mut stranger = t.client();
        stranger.staff_sign_in("handler", tongban_app::DEMO_PASSWORD).await;
        assert_eq!(stranger.get(&format!("/cases/{id}/files/{}/thumb", photo.id)).await.status, StatusCode::NOT_FOUND);
    }
}

/// An SMTP relay that accepts every message and keeps its text.
async fn smtp_sink() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let mail: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
    let keep = std::sync::Arc::clone(&mail);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let keep = std::sync::Arc::clone(&keep);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 relay.test ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(text) = data.as_mut() {
                        if line == "." {
                            keep.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(std::mem::take(text));
                            data = None;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 relay.test\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    (addr, mail)
}

backend_tests! {
    async fn a_resident_who_gives_an_email_address_gets_every_notice_by_mail_too(backend: Backend) {
        use axum::http::StatusCode;
        let Some(t) = TestApp::demo_with_accounts(backend).await else { return };
        let (addr, mail) = smtp_sink().await;
        let mailer = tongban_app::email::Mailer::new(&format!("smtp://{addr}"), "清河通办 <noreply@qinghe.gov.cn>").unwrap_or_else(|e| panic!("{e}"));
        let app = t.app.clone().with_mailer(mailer);
        let me = resident(&t).await;

        // The address is checked, kept encrypted, shown to its owner, and audited.
        let mut browser = t.client();
        browser.resident_sign_in(DEMO_RESIDENT_PHONE).await;
        let r = browser.post("/me/email", &[("email", "li.ming@")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("email-error") && r.text().contains("li.ming@"), "{}", r.text());
        let r = browser.post("/me/email", &[("email", " li.ming@qq.com ")]).await;
        assert_eq!(r.header("location"), "/me?done=email-set");
        assert!(browser.get("/me").await.text().contains("value=\"li.ming@qq.com\""));
        let stored = app.store.user(&app.tenant, me.user_id()).await.ok().flatten().and_then(|u| u.email_enc).unwrap_or_default();
        assert!(!stored.is_empty() && !stored.contains("li.ming"), "encrypted at rest");

        let id = app.start_application(&me, ITEM, None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(app.save_answers(&me, &id, &complete_answers(), false).await, Ok(Ok(_))));
        upload_required(&t, &me, &id).await;
        let reference = app.submit_application(&me, &id).await.unwrap_or_else(|e| panic!("{e}"));
        app.relay_outbox(100).await.unwrap_or_else(|e| panic!("{e}"));
        app.relay_outbox(100).await.unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<_> = app.store.outbox_of_case(&app.tenant, &id).await.unwrap_or_default().into_iter().filter(|m| m.channel == "email").collect();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].delivered_at.is_some() && rows[0].recipient == "li.ming@qq.com");
        let sent = mail.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(sent.len(), 1, "delivered once");
        let message = &sent[0];
        assert!(message.contains(&format!("Message-ID: <{}@qinghe.gov.cn>", rows[0].id)), "{message}");
        assert!(message.contains("To: li.ming@qq.com"), "{message}");
        assert!(message.contains("Subject: =?utf-8?"), "a Chinese subject, encoded: {message}");
        // The body (quoted-printable or base64) carries the reference in both languages.
        let flat = message.replace("=\n", "");
        assert!(flat.contains(&reference.to_string()) || message.contains("base64"), "{message}");

        // Removing the address stops the mail.
        let r = browser.post("/me/email", &[("email", "")]).await;
        assert_eq!(r.header("location"), "/me?done=email-removed");
        let clerk = staff(&t, "clerk").await;
        app.act_on_case(&clerk, &id, None, &Action::Accept).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(app.store.outbox_of_case(&app.tenant, &id).await.unwrap_or_default().iter().filter(|m| m.channel == "email").count(), 1);
        let audit = app.store.audit_entries(&app.tenant, &tongban_app::AuditFilter { action_prefix: Some("person.email".into()), ..Default::default() }, 10).await.unwrap_or_default();
        assert_eq!(audit.len(), 2, "setting and removing are audited");
    }
}
