//! Applications (办件): filing for oneself, a family member, a resident an agent acts for, or a
//! caller at the hall; moving a case through its process; deadlines on the working-day
//! calendar; worklists; and the timeline the applicant follows.
//!
//! Every change to a case writes, in one transaction, the case row (guarded by its version),
//! a timeline entry, an audit entry and the outbox rows of the notifications it causes.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use tongban_domain::access::{Placement, may_view};
use tongban_domain::answers::{
    AnswerProblem, Answers, Require, check_answers, check_answers_requiring,
};
use tongban_domain::deadline::{ClockReading, LegalClock, intake_due};
use tongban_domain::process::{
    Action, ClockEffect, Party, ProcessDef, Stage, StepDef, StepKind, SupplementItem, apply,
    possible_actions,
};
use tongban_domain::reference::CaseRef;
use tongban_domain::{Actor, Calendar, OnlineLevel, Role, ServiceItem, ServiceLevel};
use tongban_store::{CaseEvent, CaseQuery, CaseRecord, ConsentsOf, OutboxRecord, Tx};

use crate::identity::Principal;
use crate::people::today;
use crate::signin::PHONE;
use crate::vault::{free_reference, ordered_id};
use crate::{AppError, Refusal, RefusalKind};

/// Who filed a case, relative to its applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiledAs {
    Myself,
    Family,
    Agent,
    Clerk,
}

impl FiledAs {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Myself => "self",
            Self::Family => "family",
            Self::Agent => "agent",
            Self::Clerk => "clerk",
        }
    }
}

/// One entry of the timeline, as the applicant and staff see it: the acting unit, not the
/// person (staff names stay inside the government).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at_ms: i64,
    pub action: String,
    pub unit: Option<String>,
    pub by_applicant: bool,
    /// Done by the system under a rule (e.g. deemed acceptance), not by a person.
    pub by_system: bool,
    pub to_stage: String,
    pub detail: serde_json::Value,
}

/// A case as someone allowed to see it sees it.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub id: String,
    /// Display form, e.g. `K7M-39Q-XAR`; none for a draft.
    pub reference: Option<String>,
    pub item_code: String,
    pub item_name: String,
    pub stage: Stage,
    pub step: Option<StepDef>,
    pub outcome: Option<String>,
    pub answers: Answers,
    pub applicant_id: String,
    pub filed_as: String,
    pub unit_code: String,
    pub unit_name: String,
    /// The decision clock once accepted.
    pub clock: Option<ClockReading>,
    /// The promised clock (the county's own, shorter limit).
    pub promised: Option<ClockReading>,
    /// The last day for intake while the case waits for it.
    pub intake_due: Option<NaiveDate>,
    /// What the applicant must supply, while a supplement request is open.
    pub supplement: Vec<SupplementItem>,
    pub timeline: Vec<TimelineEntry>,
    /// What the viewer may do now.
    pub actions: Vec<&'static str>,
    /// For a case a village agent filed: who, and the resident's recorded consent.
    pub consent: Option<ConsentShown>,
    pub version: i64,
}

/// The consent behind an agent's filing, as shown on the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentShown {
    pub agent_name: String,
    /// `paper_scan` or `sms_code`.
    pub method: String,
    pub recorded_at_ms: i64,
    pub revoked: bool,
}

/// The process an item follows: the standard one, with a site inspection or a head's approval
/// where the item's published steps have one.
pub fn process_for(item: &ServiceItem) -> ProcessDef {
    let has = |words: &[&str]| {
        item.steps
            .iter()
            .any(|s| words.iter().any(|w| s.contains(w)))
    };
    let mut extra = Vec::new();
    let mut code = String::from("standard");
    if has(&["现场", "勘"]) {
        extra.push(StepDef::new(
            "inspection",
            StepKind::Inspection,
            &[Role::DepartmentHandler, Role::DepartmentHead],
            Some(5),
        ));
        code.push_str("+inspection");
    }
    if has(&["审批"]) {
        extra.push(StepDef::new(
            "approval",
            StepKind::Approval,
            &[Role::DepartmentHead],
            Some(2),
        ));
        code.push_str("+approval");
    }
    if extra.is_empty() {
        ProcessDef::standard()
    } else {
        ProcessDef::standard_with(&code, extra)
    }
}

pub(crate) fn stage_of(c: &CaseRecord) -> Result<Stage, AppError> {
    let step = c.step.and_then(|s| usize::try_from(s).ok());
    Ok(match (c.stage.as_str(), step) {
        ("submitted", _) => Stage::Submitted,
        ("in_progress", Some(step)) => Stage::AtStep { step },
        ("supplement", Some(step)) => Stage::Supplement { step },
        ("delivered", _) => Stage::Delivered,
        ("not_accepted", _) => Stage::NotAccepted,
        ("closed", _) => Stage::Closed,
        ("withdrawn", _) => Stage::Withdrawn,
        (other, _) => {
            return Err(AppError::Internal(format!(
                "case {} has stage `{other}` and step {:?}",
                c.id, c.step
            )));
        }
    })
}

pub(crate) fn set_stage(c: &mut CaseRecord, stage: Stage) {
    c.stage = stage.as_str().to_owned();
    c.step = stage.step().map(|s| s as i64);
}

fn clock_of(c: &CaseRecord) -> Result<Option<LegalClock>, AppError> {
    c.clock
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| AppError::Internal(format!("case {} clock: {e}", c.id)))
}

fn date_of(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

pub(crate) fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn refusal_of(e: &tongban_domain::process::ProcessError) -> AppError {
    use tongban_domain::process::ProcessError as E;
    let kind = match e {
        E::ApplicantOnly(_) | E::StaffOnly(_) | E::NotYourStep => RefusalKind::Forbidden,
        E::WrongStage { .. } | E::WrongStep { .. } | E::NoSuchStep(_) => RefusalKind::Conflict,
        E::ReasonMissing(_) | E::LegalBasisMissing | E::SupplementEmpty => RefusalKind::Invalid,
    };
    let mut r = Refusal::new(kind, e.code());
    r = match e {
        E::ReasonMissing(_) => r.on("reason"),
        E::LegalBasisMissing => r.on("legal_basis"),
        E::SupplementEmpty => r.on("items"),
        _ => r,
    };
    r.into()
}

fn calendar_error(e: tongban_domain::CalendarError) -> AppError {
    AppError::Refused(
        Refusal::new(RefusalKind::Unavailable, "calendar_missing").with(
            "year",
            match e {
                tongban_domain::CalendarError::YearMissing(y) => y,
            },
        ),
    )
}

/// Keeps the case's due dates in step with its stage and clock, for worklists: intake's last
/// day while waiting for intake; the decision's while with staff before the decision; the
/// delivery step's after it; none while the applicant is to move or the case is finished.
pub(crate) fn refresh_due(
    c: &mut CaseRecord,
    process: &ProcessDef,
    cal: &Calendar,
    today: NaiveDate,
    entered_step: bool,
) -> Result<(), AppError> {
    let stage = stage_of(c)?;
    let clock = clock_of(c)?;
    let (due, promised) = match stage {
        Stage::Submitted => {
            let received = date_of(c.received_on.as_deref()).unwrap_or(today);
            (
                Some(intake_due(cal, received).map_err(calendar_error)?),
                None,
            )
        }
        Stage::AtStep { step } => {
            let def = process.step(step);
            match (&clock, def) {
                (Some(clock), Some(d))
                    if clock.stopped_on.is_none() && d.kind != StepKind::Delivery =>
                {
                    let r = clock.read(cal, today).map_err(calendar_error)?;
                    let mut promise = clock.clone();
                    promise.limit_days = c.promised_days as u32;
                    let p = promise.read(cal, today).map_err(calendar_error)?;
                    (Some(r.due_on), Some(p.due_on))
                }
                (_, Some(d)) if d.kind == StepKind::Delivery => {
                    if entered_step {
                        let limit = d.limit_days.unwrap_or(0);
                        (
                            Some(cal.add_working_days(today, limit).map_err(calendar_error)?),
                            None,
                        )
                    } else {
                        (date_of(c.due_on.as_deref()), None)
                    }
                }
                _ => (
                    date_of(c.due_on.as_deref()),
                    date_of(c.promised_on.as_deref()),
                ),
            }
        }
        _ => (None, None),
    };
    c.due_on = due.map(iso);
    c.promised_on = promised.map(iso);
    Ok(())
}

/// Moves a case record along `t`, made on `today`: its clock, stage, outcome and due dates.
pub(crate) fn advance(
    c: &mut CaseRecord,
    process: &ProcessDef,
    cal: &Calendar,
    from: Stage,
    t: &tongban_domain::process::Transition,
    today: NaiveDate,
) -> Result<(), AppError> {
    let mut clock = clock_of(c)?;
    let clock_result = match (t.clock, clock.as_mut()) {
        (ClockEffect::Start, _) => {
            clock = Some(LegalClock::start(today, c.statutory_days as u32));
            Ok(())
        }
        (ClockEffect::RestartIntake, _) => {
            c.received_on = Some(iso(today));
            Ok(())
        }
        (ClockEffect::Pause, Some(k)) => k.pause(today),
        (ClockEffect::Resume, Some(k)) => k.resume(today),
        (ClockEffect::Stop, Some(k)) => k.stop(today),
        _ => Ok(()),
    };
    clock_result.map_err(|e| AppError::Internal(format!("case {} clock: {e}", c.id)))?;
    c.clock = clock
        .as_ref()
        .map(|k| serde_json::to_string(k).unwrap_or_default());
    set_stage(c, t.to);
    if let Some(o) = t.outcome {
        c.outcome = Some(
            match o {
                tongban_domain::process::Outcome::Approved => "approved",
                tongban_domain::process::Outcome::Denied => "denied",
            }
            .into(),
        );
    }
    refresh_due(c, process, cal, today, t.to != from)
}

/// When a change happens, for ordering: never at or before the case's previous change, so its
/// timeline and notifications keep their order even when two changes share a millisecond.
fn change_time(now_ms: i64, c: &CaseRecord) -> i64 {
    now_ms.max(c.updated_at + 1)
}

/// A notification to write with a change: to whom, by which channel, about what.
struct Notice {
    event: &'static str,
    channel: &'static str,
    recipient: String,
}

impl crate::App {
    pub(crate) fn today(&self) -> NaiveDate {
        today(self.now_ms())
    }

    /// The unit that handles `item` for someone living in `division`: the item's department
    /// for county items; the township's office for township and village items.
    pub(crate) fn handling_unit(
        snapshot: &crate::CatalogSnapshot,
        item: &ServiceItem,
        division: Option<&str>,
    ) -> Result<String, AppError> {
        match item.level {
            ServiceLevel::County => Ok(item.department.to_string()),
            ServiceLevel::Township | ServiceLevel::Village => {
                let township = division
                    .filter(|d| d.len() >= 9)
                    .map(|d| format!("{}000", &d[..9]))
                    .filter(|code| snapshot.unit(code).is_some())
                    .ok_or_else(|| AppError::rejected("case_village_needed", "village"))?;
                Ok(township)
            }
        }
    }

    /// Starts a draft application for `item_code`, for the signed-in person or someone they
    /// may apply for. Returns the draft's id.
    pub async fn start_application(
        &self,
        p: &Principal,
        item_code: &str,
        for_person: Option<&str>,
    ) -> Result<String, AppError> {
        let snapshot = self.catalog().await?;
        let item = snapshot
            .item(item_code)
            .ok_or_else(|| AppError::hidden("item_not_found"))?
            .clone();
        if item.online_level < OnlineLevel::OnlineSubmission {
            return Err(Refusal::new(RefusalKind::Invalid, "item_not_online")
                .with("place", &item.place)
                .into());
        }
        let me = p.user_id();
        let applicant_id = for_person.filter(|id| !id.is_empty()).unwrap_or(me);
        let (filed_as, consent_id) = self.filing_right(&p.actor, &item, applicant_id).await?;
        let applicant = self.user_or_hidden(applicant_id).await?;
        if applicant.real_name_at.is_none() {
            return Err(Refusal::new(RefusalKind::Invalid, "case_real_name_needed").into());
        }
        let unit = Self::handling_unit(&snapshot, &item, applicant.division_code.as_deref())?;
        let now = self.now_ms();
        let c = CaseRecord {
            id: ordered_id("k"),
            reference: None,
            item_code: item.code.to_string(),
            process_code: process_for(&item).code,
            applicant_id: applicant.id.clone(),
            filed_by: me.to_owned(),
            filed_as: filed_as.as_str().to_owned(),
            consent_id,
            unit_code: unit,
            division_code: applicant.division_code.clone(),
            stage: "draft".into(),
            answers: "{}".into(),
            statutory_days: i64::from(item.statutory_days),
            promised_days: i64::from(item.promised_days),
            version: 1,
            created_at: now,
            updated_at: now,
            ..CaseRecord::default()
        };
        let mut tx = self.store.begin().await?;
        self.store.insert_case(&mut tx, &self.tenant, &c).await?;
        let entry = self.audit_entry(&p.actor, "case.draft", &format!("case:{}", c.id), item_code);
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(c.id)
    }

    /// Whether `actor` may file `item` for `applicant_id`, and as what.
    async fn filing_right(
        &self,
        actor: &Actor,
        item: &ServiceItem,
        applicant_id: &str,
    ) -> Result<(FiledAs, Option<String>), AppError> {
        if applicant_id == actor.user_id {
            return Ok((FiledAs::Myself, None));
        }
        if actor.family.iter().any(|f| f == applicant_id) {
            return Ok((FiledAs::Family, None));
        }
        if actor.has(Role::WindowClerk) {
            return Ok((FiledAs::Clerk, None));
        }
        if actor.has(Role::VillageAgent) {
            if !item.agent_allowed {
                return Err(Refusal::new(RefusalKind::Forbidden, "case_agent_not_allowed").into());
            }
            let consent = self
                .store
                .consents(&self.tenant, ConsentsOf::Agent(&actor.user_id))
                .await?
                .into_iter()
                .find(|k| {
                    k.resident_id == applicant_id
                        && k.item_code == item.code.as_str()
                        && k.revoked_at.is_none()
                });
            return match consent {
                Some(k) => Ok((FiledAs::Agent, Some(k.id))),
                None => Err(Refusal::new(RefusalKind::Forbidden, "case_consent_needed").into()),
            };
        }
        Err(AppError::hidden("person_not_found"))
    }

    /// A case the actor may see, with its item and the catalog it was read against; anything
    /// else is "not found".
    pub(crate) async fn visible_case(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(CaseRecord, Arc<ServiceItem>, Arc<crate::CatalogSnapshot>), AppError> {
        let c = self
            .store
            .case(&self.tenant, id)
            .await?
            .ok_or_else(|| AppError::hidden("case_not_found"))?;
        if !Self::may_see_case(actor, &c) {
            return Err(AppError::hidden("case_not_found"));
        }
        let snapshot = self.catalog().await?;
        let item = snapshot
            .item(&c.item_code)
            .cloned()
            .ok_or_else(|| AppError::Internal(format!("case {id} names item {}", c.item_code)))?;
        Ok((c, item, snapshot))
    }

    fn may_see_case(actor: &Actor, c: &CaseRecord) -> bool {
        if c.filed_by == actor.user_id {
            return true;
        }
        // A draft is its filer's alone.
        if c.stage == "draft" {
            return false;
        }
        let unit = tongban_domain::UnitCode::parse(&c.unit_code).ok();
        let division = c
            .division_code
            .as_deref()
            .and_then(|d| tongban_domain::DivisionCode::parse(d).ok());
        may_view(
            actor,
            Placement {
                owner: Some(&c.applicant_id),
                unit: unit.as_ref(),
                division: division.as_ref(),
            },
        )
    }

    /// Saves answers to a draft. With `partial`, required answers may still be missing; what is
    /// there must be well-formed. The inner error lists every problem with the answers; the
    /// outer one is about the case (not found, not a draft, changed meanwhile).
    pub async fn save_answers(
        &self,
        p: &Principal,
        id: &str,
        raw: &BTreeMap<String, String>,
        partial: bool,
    ) -> Result<Result<Answers, Vec<AnswerProblem>>, AppError> {
        let require = if partial {
            Require::Nothing
        } else {
            Require::All
        };
        self.save_answers_requiring(p, id, raw, require).await
    }

    /// Saves the answers of one page of a form asked a question at a time: the page's own
    /// required questions must be answered, the rest may wait.
    pub async fn save_page_answers(
        &self,
        p: &Principal,
        id: &str,
        raw: &BTreeMap<String, String>,
    ) -> Result<Result<Answers, Vec<AnswerProblem>>, AppError> {
        let keys: Vec<&str> = raw.keys().map(String::as_str).collect();
        self.save_answers_requiring(p, id, raw, Require::These(&keys))
            .await
    }

    async fn save_answers_requiring(
        &self,
        p: &Principal,
        id: &str,
        raw: &BTreeMap<String, String>,
        require: Require<'_>,
    ) -> Result<Result<Answers, Vec<AnswerProblem>>, AppError> {
        let (mut c, item, _) = self.visible_case(&p.actor, id).await?;
        if c.stage != "draft" || c.filed_by != p.user_id() {
            return Err(Refusal::new(RefusalKind::Conflict, "case_not_a_draft").into());
        }
        let mut merged: BTreeMap<String, String> =
            serde_json::from_str(&c.answers).unwrap_or_default();
        merged.extend(raw.iter().map(|(k, v)| (k.clone(), v.clone())));
        let answers =
            match check_answers_requiring(&item.form_fields, &merged, self.today(), require) {
                Ok(a) => a,
                Err(problems) => return Ok(Err(problems)),
            };
        c.answers = serde_json::to_string(&answers).unwrap_or_else(|_| "{}".into());
        c.version += 1;
        c.updated_at = change_time(self.now_ms(), &c);
        let mut tx = self.store.begin().await?;
        if !self.store.update_case(&mut tx, &self.tenant, &c).await? {
            return Err(Refusal::new(RefusalKind::Conflict, "case_changed").into());
        }
        tx.commit().await?;
        Ok(Ok(answers))
    }

    /// Submits a draft: checks the answers are complete, gives it a reference number and
    /// starts intake. Submitting again returns the same reference (a double click is one
    /// submission).
    pub async fn submit_application(&self, p: &Principal, id: &str) -> Result<CaseRef, AppError> {
        let (mut c, item, snapshot) = self.visible_case(&p.actor, id).await?;
        if c.filed_by != p.user_id() {
            return Err(AppError::hidden("case_not_found"));
        }
        if c.stage != "draft" {
            return c
                .reference
                .as_deref()
                .and_then(|r| CaseRef::parse(r).ok())
                .ok_or_else(|| Refusal::new(RefusalKind::Conflict, "case_not_a_draft").into());
        }
        let raw: BTreeMap<String, String> = serde_json::from_str(&c.answers).unwrap_or_default();
        if let Err(problems) = check_answers(&item.form_fields, &raw, self.today(), false) {
            let first = &problems[0];
            return Err(
                Refusal::new(RefusalKind::Invalid, "case_answers_incomplete")
                    .with("count", problems.len())
                    .with("field", &first.key)
                    .into(),
            );
        }
        let missing = self.missing_materials(&c.id, &item).await?;
        if !missing.is_empty() {
            return Err(Refusal::new(RefusalKind::Invalid, "case_materials_missing")
                .on("materials")
                .with("count", missing.len())
                .with("materials", missing.join("、"))
                .into());
        }
        let cal = &snapshot.calendar;
        let process = process_for(&item);
        let today = self.today();
        let reference = free_reference(|r| async move {
            Ok(self
                .store
                .case_by_reference(&self.tenant, r.as_str())
                .await?
                .is_some())
        })
        .await?;
        let now = self.now_ms();
        c.reference = Some(reference.as_str().to_owned());
        set_stage(&mut c, Stage::Submitted);
        c.received_on = Some(iso(today));
        c.submitted_at = Some(now);
        refresh_due(&mut c, &process, cal, today, true)?;
        c.version += 1;
        c.updated_at = change_time(now, &c);
        // Everything read for the change is read before its transaction: a transaction that
        // waited for a second pooled connection could starve the pool under load.
        let notices = self.notices_for(&c, "submitted", true, true).await?;
        let mut tx = self.store.begin().await?;
        if !self.store.update_case(&mut tx, &self.tenant, &c).await? {
            return Err(Refusal::new(RefusalKind::Conflict, "case_changed").into());
        }
        let detail = serde_json::json!({ "reference": reference.to_string() });
        self.record_change(&mut tx, p, &c, "submit", None, &detail)
            .await?;
        self.write_notices(&mut tx, &c, &item, &notices, &detail)
            .await?;
        tx.commit().await?;
        Ok(reference)
    }

    /// Does `action` to case `id` on behalf of `p`; `version` is the version the actor saw
    /// (a change made meanwhile by someone else is refused rather than overwritten).
    pub async fn act_on_case(
        &self,
        p: &Principal,
        id: &str,
        version: Option<i64>,
        action: &Action,
    ) -> Result<CaseView, AppError> {
        let (mut c, item, snapshot) = self.visible_case(&p.actor, id).await?;
        if c.stage == "draft" {
            return Err(Refusal::new(RefusalKind::Conflict, "case_not_submitted").into());
        }
        if let Some(v) = version
            && v != c.version
        {
            return Err(Refusal::new(RefusalKind::Conflict, "case_changed").into());
        }
        let process = process_for(&item);
        let from = stage_of(&c)?;
        let party = self.party_for(&p.actor, &c, action);
        let t = apply(&process, from, &party, action).map_err(|e| refusal_of(&e))?;
        advance(&mut c, &process, &snapshot.calendar, from, &t, self.today())?;
        c.version += 1;
        c.updated_at = change_time(self.now_ms(), &c);

        let (event, to_applicant, to_unit) = match action {
            Action::Accept => ("accepted", true, false),
            Action::NotAccept { .. } => ("not_accepted", true, false),
            Action::RequestSupplement { .. } => ("supplement_requested", true, false),
            Action::Supply => ("supplied", false, true),
            Action::Approve => ("approved", true, false),
            Action::Deny { .. } => ("denied", true, false),
            Action::Deliver { .. } => ("delivered", true, false),
            Action::Withdraw => ("withdrawn", false, true),
            Action::SendBack { .. } => ("sent_back", false, true),
            Action::Pass { .. } => ("step_passed", false, false),
            Action::Close => ("closed", false, false),
        };
        let notices = self.notices_for(&c, event, to_applicant, to_unit).await?;
        let detail = serde_json::to_value(action).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        if !self.store.update_case(&mut tx, &self.tenant, &c).await? {
            return Err(Refusal::new(RefusalKind::Conflict, "case_changed").into());
        }
        self.record_change(&mut tx, p, &c, action.name(), Some(from), &detail)
            .await?;
        self.write_notices(&mut tx, &c, &item, &notices, &detail)
            .await?;
        tx.commit().await?;
        self.case_view(p, id).await
    }

    /// A supervisor urges the handling office about an open case (督办): recorded on the
    /// timeline and in the audit trail, and sent to the office's inbox.
    pub async fn urge_case(&self, p: &Principal, id: &str, note: &str) -> Result<(), AppError> {
        if !p.actor.has(Role::Supervisor) {
            return Err(AppError::forbidden());
        }
        let (mut c, item, _) = self.visible_case(&p.actor, id).await?;
        if !matches!(c.stage.as_str(), "submitted" | "in_progress") {
            return Err(Refusal::new(RefusalKind::Conflict, "case_not_open").into());
        }
        let note = tongban_domain::text::clean_line(note, 500);
        if note.is_empty() {
            return Err(AppError::rejected("case_reason_missing", "note"));
        }
        c.version += 1;
        c.updated_at = change_time(self.now_ms(), &c);
        let detail = serde_json::json!({ "note": note });
        let notices = self.notices_for(&c, "urged", false, true).await?;
        let mut tx = self.store.begin().await?;
        if !self.store.update_case(&mut tx, &self.tenant, &c).await? {
            return Err(Refusal::new(RefusalKind::Conflict, "case_changed").into());
        }
        let from = stage_of(&c)?;
        self.record_change(&mut tx, p, &c, "urge", Some(from), &detail)
            .await?;
        self.write_notices(&mut tx, &c, &item, &notices, &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applications nobody accepted or answered within the intake limit count as accepted on
    /// the day they were received (行政许可法 第三十二条): their decision clock starts from that
    /// day, the applicant is told, and the timeline says it was by law. Returns how many.
    pub async fn deem_overdue_intakes(&self) -> Result<u64, AppError> {
        let today = self.today();
        let Some(yesterday) = today.pred_opt() else {
            return Ok(0);
        };
        let overdue = self
            .store
            .cases(
                &self.tenant,
                &CaseQuery {
                    stages: vec!["submitted".into()],
                    due_by: Some(iso(yesterday)),
                    limit: 500,
                    ..CaseQuery::default()
                },
            )
            .await?;
        let system = Principal {
            actor: Actor {
                user_id: crate::audit::SYSTEM.into(),
                roles: Vec::new(),
                unit: None,
                division: None,
                family: Vec::new(),
            },
            name: String::new(),
            kind: tongban_store::UserKind::Staff,
            credential: crate::Credential::Session {
                id_hash: String::new(),
                csrf: String::new(),
            },
        };
        let snapshot = self.catalog().await?;
        let cal = &snapshot.calendar;
        let mut count = 0;
        for mut c in overdue {
            let Some(item) = snapshot.item(&c.item_code).cloned() else {
                continue;
            };
            let process = process_for(&item);
            let received = date_of(c.received_on.as_deref()).unwrap_or(today);
            let clock = LegalClock::start(received, c.statutory_days as u32);
            c.clock = Some(serde_json::to_string(&clock).unwrap_or_default());
            set_stage(&mut c, Stage::AtStep { step: 1 });
            refresh_due(&mut c, &process, cal, today, true)?;
            c.version += 1;
            c.updated_at = change_time(self.now_ms(), &c);
            let detail =
                serde_json::json!({ "note": "deemed_accepted", "received_on": iso(received) });
            let notices = self.notices_for(&c, "accepted", true, true).await?;
            let mut tx = self.store.begin().await?;
            if !self.store.update_case(&mut tx, &self.tenant, &c).await? {
                // Someone acted on it meanwhile: their action stands.
                continue;
            }
            self.record_change(
                &mut tx,
                &system,
                &c,
                "deemed_accept",
                Some(Stage::Submitted),
                &detail,
            )
            .await?;
            self.write_notices(&mut tx, &c, &item, &notices, &detail)
                .await?;
            tx.commit().await?;
            count += 1;
        }
        Ok(count)
    }

    fn party_for<'a>(&self, actor: &'a Actor, c: &CaseRecord, action: &Action) -> Party<'a> {
        let applicant_side = actor.may_act_for(&c.applicant_id) || actor.user_id == c.filed_by;
        let wants_applicant = matches!(action, Action::Supply | Action::Withdraw);
        if wants_applicant && applicant_side {
            Party::Applicant
        } else if actor.is_staff() {
            Party::Staff(&actor.roles)
        } else {
            // Neither: the domain refuses whichever it is.
            Party::Staff(&[])
        }
    }

    async fn record_change(
        &self,
        tx: &mut Tx,
        p: &Principal,
        c: &CaseRecord,
        action: &str,
        from: Option<Stage>,
        detail: &serde_json::Value,
    ) -> Result<(), AppError> {
        let event = CaseEvent {
            subject_id: c.id.clone(),
            seq: 0,
            at: c.updated_at,
            actor_id: p.user_id().to_owned(),
            actor_unit: p.actor.unit.as_ref().map(ToString::to_string),
            action: action.to_owned(),
            from_stage: from.map(|s| s.as_str().to_owned()),
            to_stage: c.stage.clone(),
            detail: detail.to_string(),
        };
        self.store
            .append_case_event(tx, &self.tenant, &event)
            .await?;
        let entry = self.audit_entry(
            &p.actor,
            &format!("case.{action}"),
            &format!("case:{}", c.id),
            c.reference.as_deref().unwrap_or_default(),
        );
        self.store.append_audit(tx, &self.tenant, &entry).await?;
        Ok(())
    }

    /// Who is told about `event`: the applicant in the app and by SMS (to the filer's phone
    /// when the applicant has none, e.g. an elderly parent) and by e-mail if they gave an
    /// address and a relay is configured, the handling office in its inbox,
    /// and the integration webhook (of every event) when one is configured.
    async fn notices_for(
        &self,
        c: &CaseRecord,
        event: &'static str,
        to_applicant: bool,
        to_unit: bool,
    ) -> Result<Vec<Notice>, AppError> {
        let mut out = Vec::new();
        if to_applicant {
            out.push(Notice {
                event,
                channel: "inbox",
                recipient: c.applicant_id.clone(),
            });
            if c.filed_by != c.applicant_id {
                out.push(Notice {
                    event,
                    channel: "inbox",
                    recipient: c.filed_by.clone(),
                });
            }
            let mut phone = None;
            let mut email = None;
            for who in [&c.applicant_id, &c.filed_by] {
                let Some(u) = self.store.user(&self.tenant, who).await? else {
                    continue;
                };
                if u.kind != tongban_store::UserKind::Resident {
                    continue;
                }
                if phone.is_none() {
                    phone = self.decrypt_opt(PHONE, u.phone_enc.as_deref())?;
                }
                if email.is_none() && self.mailer.is_some() {
                    email = self.decrypt_opt(crate::email::EMAIL, u.email_enc.as_deref())?;
                }
            }
            if let Some(phone) = phone {
                out.push(Notice {
                    event,
                    channel: "sms",
                    recipient: phone,
                });
            }
            if let Some(email) = email {
                out.push(Notice {
                    event,
                    channel: "email",
                    recipient: email,
                });
            }
        }
        if to_unit {
            out.push(Notice {
                event,
                channel: "inbox",
                recipient: format!("unit:{}", c.unit_code),
            });
        }
        if self.webhook.is_some() {
            // Integrations hear of every change, whoever else is told.
            out.push(Notice {
                event,
                channel: "webhook",
                recipient: "integration".into(),
            });
        }
        Ok(out)
    }

    async fn write_notices(
        &self,
        tx: &mut Tx,
        c: &CaseRecord,
        item: &ServiceItem,
        notices: &[Notice],
        detail: &serde_json::Value,
    ) -> Result<(), AppError> {
        let payload = serde_json::json!({
            "reference": c.reference.as_deref().and_then(|r| CaseRef::parse(r).ok()).map(|r| r.to_string()),
            "item": item.name,
            "detail": detail,
        })
        .to_string();
        for n in notices {
            let m = OutboxRecord {
                id: ordered_id("o"),
                event: n.event.to_owned(),
                channel: n.channel.to_owned(),
                recipient: n.recipient.clone(),
                case_id: Some(c.id.clone()),
                payload: payload.clone(),
                created_at: c.updated_at,
                next_attempt_at: self.now_ms(),
                ..OutboxRecord::default()
            };
            self.store.insert_outbox(tx, &self.tenant, &m).await?;
        }
        Ok(())
    }

    /// A case with its timeline, clocks and the viewer's possible actions.
    pub async fn case_view(&self, p: &Principal, id: &str) -> Result<CaseView, AppError> {
        let (c, item, snapshot) = self.visible_case(&p.actor, id).await?;
        let cal = &snapshot.calendar;
        let today = self.today();
        let process = process_for(&item);
        let events = self.store.case_events(&self.tenant, &c.id).await?;
        let applicant_side = p.actor.may_act_for(&c.applicant_id) || p.actor.user_id == c.filed_by;
        let timeline = events
            .iter()
            .map(|e| TimelineEntry {
                at_ms: e.at,
                action: e.action.clone(),
                unit: e.actor_unit.as_deref().map(|u| {
                    snapshot
                        .unit(u)
                        .map_or_else(|| u.to_owned(), |x| x.name_zh.clone())
                }),
                by_applicant: e.actor_unit.is_none() && e.actor_id != crate::audit::SYSTEM,
                by_system: e.actor_id == crate::audit::SYSTEM,
                to_stage: e.to_stage.clone(),
                detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            })
            .collect::<Vec<_>>();
        let (stage, actions) = if c.stage == "draft" {
            (Stage::Submitted, Vec::new())
        } else {
            let stage = stage_of(&c)?;
            let mut actions = Vec::new();
            if applicant_side {
                actions.extend(possible_actions(&process, stage, &Party::Applicant));
            }
            if p.actor.is_staff() {
                actions.extend(possible_actions(
                    &process,
                    stage,
                    &Party::Staff(&p.actor.roles),
                ));
            }
            (stage, actions)
        };
        let clock = clock_of(&c)?;
        let reading = clock
            .as_ref()
            .map(|k| k.read(cal, today))
            .transpose()
            .map_err(calendar_error)?;
        let promised = clock
            .as_ref()
            .map(|k| {
                let mut p = k.clone();
                p.limit_days = c.promised_days as u32;
                p.read(cal, today)
            })
            .transpose()
            .map_err(calendar_error)?;
        let supplement = if stage.awaits_applicant() {
            events
                .iter()
                .rev()
                .find(|e| e.action == "request_supplement")
                .and_then(|e| serde_json::from_str::<Action>(&e.detail).ok())
                .and_then(|a| match a {
                    Action::RequestSupplement { items } => Some(items),
                    _ => None,
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let consent = match &c.consent_id {
            Some(cid) => match self.store.consent(&self.tenant, cid).await? {
                Some(k) => Some(ConsentShown {
                    agent_name: self
                        .store
                        .user(&self.tenant, &k.agent_id)
                        .await?
                        .map(|u| u.display_name)
                        .unwrap_or_default(),
                    method: k.method,
                    recorded_at_ms: k.recorded_at,
                    revoked: k.revoked_at.is_some(),
                }),
                None => None,
            },
            None => None,
        };
        Ok(CaseView {
            id: c.id.clone(),
            reference: c
                .reference
                .as_deref()
                .and_then(|r| CaseRef::parse(r).ok())
                .map(|r| r.to_string()),
            item_code: item.code.to_string(),
            item_name: item.name.clone(),
            stage,
            step: stage.step().and_then(|s| process.step(s)).cloned(),
            outcome: c.outcome.clone(),
            answers: serde_json::from_str(&c.answers).unwrap_or_default(),
            applicant_id: c.applicant_id.clone(),
            filed_as: c.filed_as.clone(),
            unit_code: c.unit_code.clone(),
            unit_name: snapshot
                .unit(&c.unit_code)
                .map_or_else(|| c.unit_code.clone(), |u| u.name_zh.clone()),
            clock: reading,
            promised,
            intake_due: (stage == Stage::Submitted && c.stage != "draft")
                .then(|| date_of(c.due_on.as_deref()))
                .flatten(),
            supplement,
            timeline,
            actions,
            consent,
            version: c.version,
        })
    }

    /// The cases waiting for the actor's office, most urgent first: a handler's unit; a head's
    /// department (a township with its villages); a supervisor's (or administrator's) view is every case due within a working day
    /// or overdue across the county.
    pub async fn worklist(&self, p: &Principal, limit: i64) -> Result<Vec<CaseRecord>, AppError> {
        let q = self.worklist_query(p, limit).await?;
        Ok(self.store.cases(&self.tenant, &q).await?)
    }

    /// How many cases the actor's worklist holds in all (it shows the most urgent first).
    pub async fn worklist_count(&self, p: &Principal) -> Result<i64, AppError> {
        let q = self.worklist_query(p, 0).await?;
        Ok(self.store.count_cases(&self.tenant, &q).await?)
    }

    async fn worklist_query(&self, p: &Principal, limit: i64) -> Result<CaseQuery, AppError> {
        let actor = &p.actor;
        let open = vec!["submitted".to_owned(), "in_progress".to_owned()];
        let q = if actor.has(Role::Supervisor) || actor.has(Role::Administrator) {
            let snapshot = self.catalog().await?;
            let by = snapshot
                .calendar
                .add_working_days(self.today(), 1)
                .map_err(calendar_error)?;
            CaseQuery {
                stages: open,
                due_by: Some(iso(by)),
                limit,
                ..CaseQuery::default()
            }
        } else if actor.has(Role::DepartmentHead)
            && let Some(unit) = &actor.unit
        {
            // A head answers for the whole department: a township head for the township's
            // centre and every village station under it, including cases waiting on the
            // applicant (a stalled supplement is the head's concern too).
            let snapshot = self.catalog().await?;
            let mut units = vec![unit.to_string()];
            if let Some(area) = unit.as_division() {
                units.extend(
                    snapshot
                        .units
                        .iter()
                        .filter(|u| u.code != *unit)
                        .filter(|u| u.division.as_ref().is_some_and(|d| d.is_within(&area)))
                        .map(|u| u.code.to_string()),
                );
            }
            let mut stages = open;
            stages.push("supplement".to_owned());
            CaseQuery {
                units,
                stages,
                limit,
                ..CaseQuery::default()
            }
        } else if actor.is_staff()
            && let Some(unit) = &actor.unit
        {
            CaseQuery {
                units: vec![unit.to_string()],
                stages: open,
                limit,
                ..CaseQuery::default()
            }
        } else {
            return Err(AppError::forbidden());
        };
        Ok(q)
    }

    /// The applicant's (and their family's) cases, newest first.
    pub async fn my_cases(&self, p: &Principal) -> Result<Vec<CaseRecord>, AppError> {
        let mut all = Vec::new();
        for who in std::iter::once(&p.actor.user_id).chain(p.actor.family.iter()) {
            let q = CaseQuery {
                applicant_id: Some(who.clone()),
                limit: 200,
                ..CaseQuery::default()
            };
            all.extend(self.store.cases(&self.tenant, &q).await?);
        }
        all.retain(|c| c.stage != "draft" || c.filed_by == p.actor.user_id);
        all.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        Ok(all)
    }
}
