//! A living county for demonstrations: three thousand past applications over the last 90 days,
//! across items, offices and townships, in every stage, some of them overdue. The history is
//! drawn from a fixed seed and played through the real process rules and working-day calendar,
//! so every demo on a given day shows the same county and every case in it is one the rules
//! allow. It is seeded, not acted: one audit entry records the seeding, and nobody is notified.
//! The labelled Qinghe requests are played through the request loop the same way.

use chrono::{Duration, NaiveDate};
use tongban_domain::answers::Answers;
use tongban_domain::catalog::FieldType;
use tongban_domain::process::{Action, Party, ProcessDef, Stage, StepKind, SupplementItem, apply};
use tongban_domain::reference::CaseRef;
use tongban_domain::{Calendar, DivisionLevel, OnlineLevel, Role, ServiceItem};
use tongban_store::{CaseEvent, CaseRecord, UserKind, UserRecord};

use crate::cases::{advance, iso, process_for, refresh_due, stage_of};
use crate::{AppError, CatalogSnapshot};

/// How many past applications the demo county has.
pub const DEMO_HISTORY_CASES: usize = 3000;
/// How far back the history reaches, in calendar days.
const HISTORY_DAYS: i64 = 90;
const DEMO_RESIDENTS: usize = 240;
const SEED: u64 = 0x0513_0534_2026_1126;
/// Chance in a thousand that a case stops moving at any step: the overdue and stalled cases
/// supervisors have to chase (a few dozen in the whole county).
const STALL_PER_MILLE: u64 = 2;
const FIRST_ID: &str = "demo-00000";
const STAFF_ROLES: &[Role] = &[
    Role::WindowClerk,
    Role::DepartmentHandler,
    Role::DepartmentHead,
];
const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;

/// SplitMix64: small, fast and the same everywhere, which is all a demo needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "郑",
];
const GIVEN: &[&str] = &[
    "建国", "秀英", "志强", "桂兰", "海燕", "伟", "静", "磊", "洋", "艳", "军", "丽", "勇", "敏",
    "娟", "涛", "明", "超", "霞", "平", "玉梅", "春生", "红梅", "国庆",
];

/// A case with its timeline.
type PlayedCase = (CaseRecord, Vec<CaseEvent>);

struct Resident {
    id: String,
    name: String,
    phone: String,
    village: String,
}

/// Milliseconds of `date` at `minute` minutes past Beijing midnight.
fn at_ms(date: NaiveDate, minute: i64) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
        + minute * 60_000
        - BEIJING_OFFSET_MS
}

/// Plausible answers to an item's questions for `r`.
fn answers_for(item: &ServiceItem, r: &Resident, day: NaiveDate, rng: &mut Rng) -> Answers {
    let mut out = Answers::new();
    for f in &item.form_fields {
        let value = match f.field_type {
            FieldType::Select if !f.options.is_empty() => rng.pick(&f.options).clone(),
            FieldType::Phone => r.phone.clone(),
            FieldType::Date => iso(day),
            FieldType::Number => (1 + rng.below(50)).to_string(),
            FieldType::IdNumber => continue,
            _ if f.key.contains("name") && !f.label.contains("名称") => r.name.clone(),
            _ if !f.required => continue,
            _ => format!("{}（演示）", f.label.split('（').next().unwrap_or(&f.label)),
        };
        out.insert(f.key.clone(), value);
    }
    out
}

/// What happens next to a case at `stage`, who does it, and how many working days later.
fn next_move(
    stage: Stage,
    process: &ProcessDef,
    item: &ServiceItem,
    supplemented: bool,
    rng: &mut Rng,
) -> Option<(Action, bool, u32)> {
    let material = item
        .materials
        .first()
        .map_or_else(|| "申请材料".to_owned(), |m| m.name.clone());
    let supplement = || Action::RequestSupplement {
        items: vec![SupplementItem {
            material: material.clone(),
            problem: "复印件不清晰，请重新上传清晰的扫描件".into(),
        }],
    };
    let wait = |rng: &mut Rng, most: usize| rng.below(most + 1) as u32;
    Some(match stage {
        Stage::Submitted => {
            let roll = rng.below(100);
            let w = wait(rng, 2);
            match roll {
                0..4 => (
                    Action::NotAccept {
                        reason: "申请事项不属于本机关职权范围，请向户籍所在地乡镇申请".into(),
                    },
                    false,
                    w,
                ),
                4..11 if !supplemented => (supplement(), false, w),
                11..13 => (Action::Withdraw, true, w),
                _ => (Action::Accept, false, w),
            }
        }
        Stage::Supplement { .. } => (Action::Supply, true, 1 + wait(rng, 3)),
        Stage::AtStep { step } => {
            let kind = process.step(step)?.kind;
            match kind {
                StepKind::Intake => (Action::Accept, false, wait(rng, 2)),
                StepKind::Review | StepKind::Inspection => {
                    if !supplemented && rng.chance(6) {
                        (supplement(), false, 1 + wait(rng, 2))
                    } else {
                        let most = if kind == StepKind::Inspection { 4 } else { 2 };
                        let note = if kind == StepKind::Inspection {
                            "现场核查情况与申请材料一致"
                        } else {
                            "材料齐全，符合法定形式"
                        };
                        (
                            Action::Pass { note: note.into() },
                            false,
                            1 + wait(rng, most),
                        )
                    }
                }
                StepKind::Approval => (
                    Action::Pass {
                        note: "同意".into(),
                    },
                    false,
                    wait(rng, 2),
                ),
                StepKind::Decision => {
                    if rng.chance(7) {
                        (
                            Action::Deny {
                                reason: "经审查，申请人不符合法定条件".into(),
                                legal_basis: "《中华人民共和国行政许可法》第三十八条第二款".into(),
                            },
                            false,
                            wait(rng, 2),
                        )
                    } else {
                        (Action::Approve, false, wait(rng, 2))
                    }
                }
                StepKind::Delivery => (
                    Action::Deliver {
                        method: rng.pick(&["窗口领取", "邮寄送达", "电子证照"]).to_string(),
                    },
                    false,
                    wait(rng, 3),
                ),
            }
        }
        Stage::Delivered => (Action::Close, false, wait(rng, 2)),
        Stage::NotAccepted | Stage::Closed | Stage::Withdrawn => return None,
    })
}

/// One past case and its timeline, played from `day` up to `today` (`now_ms`).
#[allow(clippy::too_many_arguments)]
fn play_case(
    n: usize,
    item: &ServiceItem,
    r: &Resident,
    unit: String,
    day: NaiveDate,
    today: NaiveDate,
    now_ms: i64,
    cal: &Calendar,
    rng: &mut Rng,
) -> Result<PlayedCase, AppError> {
    let process = process_for(item);
    let staff_id = format!("demo-staff:{unit}");
    let submitted_at = at_ms(day, 9 * 60 + rng.below(8 * 60) as i64);
    let reference = CaseRef::from_random(rng.next());
    let answers = answers_for(item, r, day, rng);
    let mut c = CaseRecord {
        id: format!("demo-{n:05}"),
        reference: Some(reference.as_str().to_owned()),
        item_code: item.code.to_string(),
        process_code: process.code.clone(),
        applicant_id: r.id.clone(),
        filed_by: r.id.clone(),
        filed_as: "self".into(),
        unit_code: unit.clone(),
        division_code: Some(r.village.clone()),
        stage: Stage::Submitted.as_str().into(),
        answers: serde_json::to_string(&answers).unwrap_or_else(|_| "{}".into()),
        statutory_days: i64::from(item.statutory_days),
        promised_days: i64::from(item.promised_days),
        received_on: Some(iso(day)),
        version: 1,
        created_at: submitted_at - 600_000,
        updated_at: submitted_at,
        submitted_at: Some(submitted_at),
        ..CaseRecord::default()
    };
    refresh_due(&mut c, &process, cal, day, true)?;
    let mut events = vec![CaseEvent {
        subject_id: c.id.clone(),
        seq: 0,
        at: submitted_at,
        actor_id: r.id.clone(),
        actor_unit: None,
        action: "submit".into(),
        from_stage: None,
        to_stage: c.stage.clone(),
        detail: serde_json::json!({ "reference": reference.to_string() }).to_string(),
    }];
    let mut date = day;
    let mut supplemented = false;
    loop {
        let stage = stage_of(&c)?;
        if rng.next() % 1000 < STALL_PER_MILLE {
            break;
        }
        let Some((action, by_applicant, wait)) =
            next_move(stage, &process, item, supplemented, rng)
        else {
            break;
        };
        let Ok(next) = cal.add_working_days(date, wait) else {
            break;
        };
        let at = (at_ms(next, 8 * 60 + 30 + rng.below(9 * 60) as i64)).max(c.updated_at + 60_000);
        if next > today || at >= now_ms {
            break;
        }
        let party = if by_applicant {
            Party::Applicant
        } else {
            Party::Staff(STAFF_ROLES)
        };
        let Ok(t) = apply(&process, stage, &party, &action) else {
            break;
        };
        date = next;
        advance(&mut c, &process, cal, stage, &t, date)?;
        supplemented |= matches!(action, Action::RequestSupplement { .. });
        c.version += 1;
        c.updated_at = at;
        events.push(CaseEvent {
            subject_id: c.id.clone(),
            seq: 0,
            at,
            actor_id: if by_applicant {
                r.id.clone()
            } else {
                staff_id.clone()
            },
            actor_unit: (!by_applicant).then(|| unit.clone()),
            action: action.name().into(),
            from_stage: Some(stage.as_str().into()),
            to_stage: c.stage.clone(),
            detail: serde_json::to_string(&action).unwrap_or_default(),
        });
    }
    Ok((c, events))
}

fn demo_residents(snapshot: &CatalogSnapshot, rng: &mut Rng) -> Vec<Resident> {
    let villages: Vec<String> = snapshot
        .divisions
        .iter()
        .filter(|d| d.level == DivisionLevel::Village)
        .map(|d| d.code.to_string())
        .collect();
    if villages.is_empty() {
        return Vec::new();
    }
    (0..DEMO_RESIDENTS)
        .map(|i| Resident {
            id: format!("demo-r{i:03}"),
            name: format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN)),
            phone: format!("1390534{:04}", 1000 + i),
            village: rng.pick(&villages).clone(),
        })
        .collect()
}

/// The cases and timelines of the demo history on `today`; deterministic for a given day.
fn generate(
    snapshot: &CatalogSnapshot,
    today: NaiveDate,
    now_ms: i64,
) -> Result<(Vec<Resident>, Vec<PlayedCase>), AppError> {
    let mut rng = Rng(SEED);
    let residents = demo_residents(snapshot, &mut rng);
    let items: Vec<&ServiceItem> = snapshot
        .items
        .iter()
        .map(AsRef::as_ref)
        .filter(|i| i.online_level >= OnlineLevel::OnlineSubmission)
        .collect();
    if residents.is_empty() || items.is_empty() {
        return Ok((residents, Vec::new()));
    }
    let cal = &snapshot.calendar;
    let mut cases = Vec::with_capacity(DEMO_HISTORY_CASES);
    for n in 0..DEMO_HISTORY_CASES {
        let item = *rng.pick(&items);
        let r = rng.pick(&residents);
        let mut day = today - Duration::days(rng.below(HISTORY_DAYS as usize) as i64);
        // Applications are received on working days; one sent on a holiday counts from the
        // next working day, so move back to the last working day instead (it stays in range).
        let mut tries = 0;
        while !cal.is_working_day(day).unwrap_or(true) && tries < 14 {
            day -= Duration::days(1);
            tries += 1;
        }
        if cal.is_working_day(day).is_err() {
            // A year the calendar does not hold: no history for it.
            continue;
        }
        let Ok(unit) = crate::App::handling_unit(snapshot, item, Some(&r.village)) else {
            continue;
        };
        cases.push(play_case(
            n, item, r, unit, day, today, now_ms, cal, &mut rng,
        )?);
    }
    Ok((residents, cases))
}

impl crate::App {
    /// Writes the demo history unless it is there already. Returns how many cases it wrote.
    pub async fn create_demo_history(&self) -> Result<u64, AppError> {
        if self.store.case(&self.tenant, FIRST_ID).await?.is_some() {
            return Ok(0);
        }
        let snapshot = self.catalog().await?;
        let now = self.now_ms();
        let (residents, cases) = generate(&snapshot, self.today(), now)?;
        let mut tx = self.store.begin().await?;
        for r in &residents {
            let user = UserRecord {
                id: r.id.clone(),
                kind: UserKind::Resident,
                display_name: r.name.clone(),
                phone_enc: Some(
                    self.identity
                        .vault
                        .encrypt(crate::signin::PHONE, &r.phone)?,
                ),
                phone_hash: Some(
                    self.identity
                        .vault
                        .blind_index(crate::signin::PHONE, &r.phone),
                ),
                division_code: Some(r.village.clone()),
                roles: vec!["resident".into()],
                created_at: now - (HISTORY_DAYS + 30) * 86_400_000,
                ..UserRecord::default()
            };
            self.store.insert_user(&mut tx, &self.tenant, &user).await?;
        }
        for (c, events) in &cases {
            self.store.insert_case(&mut tx, &self.tenant, c).await?;
            for e in events {
                self.store
                    .append_case_event(&mut tx, &self.tenant, e)
                    .await?;
            }
        }
        let requests = play_requests(
            &residents,
            now,
            &self.request_policy.limits,
            &self.request_policy.hours,
            &snapshot.calendar,
            &mut Rng(SEED ^ 0x12345),
        );
        for (r, events) in &requests {
            self.store.insert_request(&mut tx, &self.tenant, r).await?;
            for e in events {
                self.store
                    .append_request_event(&mut tx, &self.tenant, e)
                    .await?;
            }
        }
        let system = tongban_domain::Actor {
            user_id: crate::audit::SYSTEM.into(),
            roles: Vec::new(),
            unit: None,
            division: None,
            family: Vec::new(),
        };
        let entry = self.audit_entry(
            &system,
            "demo.history",
            "cases",
            &format!("{} cases, {} requests", cases.len(), requests.len()),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(cases.len() as u64)
    }
}

/// The category a labelled request's office suggests.
fn category_for(unit: &str, township: bool) -> &'static str {
    if township {
        return "rural.village_affairs";
    }
    match unit.trim_start_matches("130534-") {
        "RSJ" => "labour.wages",
        "GAJ" => "public_security",
        "CGJ" => "city.sanitation",
        "SCJGJ" => "market.consumer",
        "ZJJ" => "housing",
        "GDGS" => "power",
        "ZLS" => "water",
        "YBJ" => "insurance",
        "MZJ" => "welfare",
        "JYJ" => "education",
        "STHJ" => "environment",
        "NYNCJ" => "rural",
        "WJJ" => "health",
        "JTYSJ" => "traffic.transit",
        "YJGLJ" => "safety",
        "SPJ" => "government_service",
        _ => "other",
    }
}

const MINUTE_MS: i64 = 60_000;

/// Past requests for the demo: the labelled Qinghe requests, filed over the last 60 days by
/// demo residents and played through the loop (most answered, closed and rated; the newest
/// still open; a few overdue), so the dispatch desk and the dashboard show a living county.
fn play_requests(
    residents: &[Resident],
    now: i64,
    limits: &tongban_domain::request::limits::TimeLimits,
    hours: &tongban_domain::request::limits::WorkingHours,
    cal: &Calendar,
    rng: &mut Rng,
) -> Vec<(
    tongban_store::RequestRecord,
    Vec<tongban_store::RequestEvent>,
)> {
    use tongban_domain::request::lifecycle::{
        Party as P, RequestAction as A, RequestStage, RequestState, apply as act,
    };
    use tongban_domain::request::{RequestKind, Urgency};
    let beijing = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms + BEIJING_OFFSET_MS)
            .unwrap_or_default()
            .naive_utc()
    };
    let utc = |t: chrono::NaiveDateTime| t.and_utc().timestamp_millis() - BEIJING_OFFSET_MS;
    let mut out = Vec::new();
    let mut reader =
        csv::Reader::from_reader(include_str!("../demo/qinghe/requests.csv").as_bytes());
    for (n, row) in reader.records().filter_map(Result::ok).enumerate() {
        if row.len() < 7 || residents.is_empty() {
            continue;
        }
        let Some(kind) = RequestKind::parse(&row[1]) else {
            continue;
        };
        let township = Some(row[3].to_owned()).filter(|t| !t.is_empty());
        let unit = row[5].to_owned();
        let urgency = if &row[6] == "urgent" {
            Urgency::Urgent
        } else {
            Urgency::Normal
        };
        let r = rng.pick(residents);
        let filed = now - rng.below(60 * 24 * 60) as i64 * MINUTE_MS;
        let reference = CaseRef::from_random(rng.next());
        let id = format!("demo-q{n:04}");
        let mut state = RequestState::new(kind, Some(r.id.clone()));
        let mut rec = tongban_store::RequestRecord {
            id: id.clone(),
            reference: reference.as_str().to_owned(),
            kind: kind.as_str().into(),
            category: category_for(&unit, township.as_deref() == Some(unit.as_str())).into(),
            urgency: urgency.as_str().into(),
            text: row[2].to_owned(),
            township_code: township.clone(),
            village_code: Some(row[4].to_owned()).filter(|v| !v.is_empty()),
            anonymous: false,
            disclose: rng.chance(40),
            channel: if rng.chance(30) { "hotline" } else { "app" }.into(),
            requester_id: Some(r.id.clone()),
            stage: "filed".into(),
            version: 1,
            created_at: filed,
            updated_at: filed,
            ..Default::default()
        };
        let mut events = vec![tongban_store::RequestEvent {
            subject_id: id.clone(),
            at: filed,
            actor_id: r.id.clone(),
            action: "file".into(),
            to_stage: "filed".into(),
            detail: serde_json::json!({ "reference": reference.to_string() }).to_string(),
            ..Default::default()
        }];
        let mut at = filed;
        // One in ten offices signs late.
        let sign_spread = if rng.chance(10) { 900 } else { 100 };
        let steps: Vec<(i64, P<'_>, A)> = vec![
            (
                20 + rng.below(70) as i64,
                P::Dispatcher,
                A::Dispatch { unit: unit.clone() },
            ),
            (10 + rng.below(sign_spread) as i64, P::Unit(&unit), A::Sign),
            (
                30 + rng.below(300) as i64,
                P::Unit(&unit),
                A::Contact {
                    note: "已电话联系诉求人，了解情况".into(),
                },
            ),
            (
                600 + rng.below(4 * 1440) as i64,
                P::Unit(&unit),
                A::Reply {
                    text: "经核实已处理，并向诉求人作了答复".into(),
                },
            ),
            (60 + rng.below(1440) as i64, P::Dispatcher, A::Close),
            (
                60 + rng.below(2880) as i64,
                P::Requester(&r.id),
                A::Rate {
                    score: *rng.pick(&[5u8, 5, 5, 4, 4, 4, 3, 2, 1]),
                    comment: String::new(),
                },
            ),
        ];
        let stall = rng.chance(6);
        for (i, (wait, party, action)) in steps.into_iter().enumerate() {
            let next = at + wait * MINUTE_MS;
            if next >= now || (stall && i == 3) {
                break;
            }
            let when =
                chrono::DateTime::<chrono::Utc>::from_timestamp_millis(next).unwrap_or_default();
            let Ok(after) = act(&state, &id, party, &action, when, limits) else {
                break;
            };
            match &action {
                A::Dispatch { unit } => {
                    let Ok(due) = limits.deadlines(cal, hours, kind, urgency, beijing(next)) else {
                        break;
                    };
                    rec.unit_code = Some(unit.clone());
                    rec.dispatched_at = Some(next);
                    rec.sign_by = Some(utc(due.sign_by));
                    rec.contact_by = Some(utc(due.contact_by));
                    rec.resolve_by = Some(utc(due.resolve_by));
                }
                A::Sign => rec.signed_at = Some(next),
                A::Contact { .. } => rec.contact_by = None,
                A::Reply { text } => {
                    rec.replied_at = Some(next);
                    rec.reply_text = Some(text.clone());
                }
                A::Close => rec.closed_at = Some(next),
                A::Rate { score, .. } => rec.rating = Some(i64::from(*score)),
                _ => {}
            }
            let from = state.stage;
            state = after;
            at = next;
            rec.stage = state.stage.as_str().into();
            rec.version += 1;
            rec.updated_at = at;
            let actor_unit = matches!(party, P::Unit(_)).then(|| unit.clone());
            events.push(tongban_store::RequestEvent {
                subject_id: id.clone(),
                at,
                actor_id: match party {
                    P::Requester(u) => u.to_owned(),
                    P::Dispatcher => "demo-staff:130534-12345".into(),
                    _ => format!("demo-staff:{unit}"),
                },
                actor_unit,
                action: action.name().into(),
                from_stage: Some(from.as_str().into()),
                to_stage: rec.stage.clone(),
                detail: serde_json::to_string(&action).unwrap_or_default(),
                ..Default::default()
            });
            if state.stage == RequestStage::Closed && rec.rating.is_some() {
                break;
            }
        }
        rec.state = serde_json::to_string(&state).unwrap_or_default();
        out.push((rec, events));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_repeats_itself_from_its_seed() {
        let (mut a, mut b) = (Rng(SEED), Rng(SEED));
        let xs: Vec<u64> = (0..5).map(|_| a.next()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
    }

    #[test]
    fn times_are_beijing_office_hours() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
        // 09:00 in Beijing is 01:00 UTC.
        assert_eq!(at_ms(day, 9 * 60) % 86_400_000, 3_600_000);
    }
}
