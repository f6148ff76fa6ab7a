//! The life of an application (办件) as a state machine over a configurable process.
//!
//! A process is a list of steps: intake (受理) first, a decision (决定) and delivery of the
//! result (送达) last, and between them any review, site inspection (现场核查) or head
//! approval (负责人审批) steps an item needs. Each step names the roles that act at it and its
//! own time limit. [`apply`] is the only way a case moves: it checks the action against the
//! case's stage, the step and who acts, and says what happens to the legal clock. Everything
//! else (storage, notification, audit) follows from the [`Transition`] it returns.

use serde::{Deserialize, Serialize};

use crate::RuleViolation;
use crate::access::Role;

/// What kind of work a step is, which decides the actions it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Accept, refuse to accept (with a reason), or ask for a supplement.
    Intake,
    /// Examine the materials; pass on or ask for a supplement.
    Review,
    /// Inspect on site; pass on or ask for a supplement.
    Inspection,
    /// A department head signs off, or sends it back to the step before.
    Approval,
    /// Approve, or deny with a reason and its legal basis.
    Decision,
    /// Hand over the result (certificate, letter, or notice of denial).
    Delivery,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Review => "review",
            Self::Inspection => "inspection",
            Self::Approval => "approval",
            Self::Decision => "decision",
            Self::Delivery => "delivery",
        }
    }
}

/// One step of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDef {
    /// Stable within its process, e.g. `intake`, `inspection`.
    pub key: String,
    pub kind: StepKind,
    /// Who may act at this step.
    pub roles: Vec<Role>,
    /// Working days this step may take; `None`: bounded only by the case's limit.
    pub limit_days: Option<u32>,
}

impl StepDef {
    pub fn new(key: &str, kind: StepKind, roles: &[Role], limit_days: Option<u32>) -> Self {
        Self {
            key: key.to_owned(),
            kind,
            roles: roles.to_vec(),
            limit_days,
        }
    }
}

/// A process: its steps in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessDef {
    pub code: String,
    pub steps: Vec<StepDef>,
}

const HANDLERS: &[Role] = &[
    Role::WindowClerk,
    Role::DepartmentHandler,
    Role::DepartmentHead,
];

impl ProcessDef {
    /// The process most items follow: intake at the window, review, decision, delivery.
    pub fn standard() -> Self {
        Self {
            code: "standard".into(),
            steps: vec![
                StepDef::new(
                    "intake",
                    StepKind::Intake,
                    HANDLERS,
                    Some(crate::deadline::INTAKE_DAYS),
                ),
                StepDef::new(
                    "review",
                    StepKind::Review,
                    &[Role::DepartmentHandler, Role::DepartmentHead],
                    None,
                ),
                StepDef::new(
                    "decision",
                    StepKind::Decision,
                    &[Role::DepartmentHandler, Role::DepartmentHead],
                    None,
                ),
                StepDef::new("delivery", StepKind::Delivery, HANDLERS, Some(2)),
            ],
        }
    }

    /// The standard process with extra steps put before the decision, e.g. a site inspection
    /// or a head's approval.
    pub fn standard_with(code: &str, extra: Vec<StepDef>) -> Self {
        let mut p = Self::standard();
        p.code = code.to_owned();
        let at = p.steps.len() - 2;
        for (i, step) in extra.into_iter().enumerate() {
            p.steps.insert(at + i, step);
        }
        p
    }

    /// Rules every process must keep: intake first, one decision, delivery last, each step
    /// with a key of its own and somebody who may act.
    pub fn validate(&self) -> Vec<RuleViolation> {
        let mut errors = Vec::new();
        let kinds: Vec<StepKind> = self.steps.iter().map(|s| s.kind).collect();
        if kinds.first() != Some(&StepKind::Intake) {
            errors.push(RuleViolation::new("steps", "the first step must be intake"));
        }
        if kinds.last() != Some(&StepKind::Delivery) {
            errors.push(RuleViolation::new(
                "steps",
                "the last step must be delivery",
            ));
        }
        for (kind, name) in [
            (StepKind::Intake, "intake"),
            (StepKind::Decision, "decision"),
            (StepKind::Delivery, "delivery"),
        ] {
            let n = kinds.iter().filter(|k| **k == kind).count();
            if n != 1 {
                errors.push(RuleViolation::new(
                    "steps",
                    format!("there must be exactly one {name} step, not {n}"),
                ));
            }
        }
        if let (Some(d), Some(l)) = (
            kinds.iter().position(|k| *k == StepKind::Decision),
            kinds.iter().position(|k| *k == StepKind::Delivery),
        ) && d > l
        {
            errors.push(RuleViolation::new(
                "steps",
                "the decision must come before delivery",
            ));
        }
        let mut keys = std::collections::BTreeSet::new();
        for s in &self.steps {
            if s.key.trim().is_empty() || !keys.insert(s.key.as_str()) {
                errors.push(RuleViolation::new(
                    "steps.key",
                    format!("step key `{}` is empty or used twice", s.key),
                ));
            }
            if s.roles.is_empty() || s.roles.iter().any(|r| !r.is_staff()) {
                errors.push(RuleViolation::new(
                    "steps.roles",
                    format!("step `{}` needs staff roles who may act at it", s.key),
                ));
            }
        }
        errors
    }

    pub fn step(&self, index: usize) -> Option<&StepDef> {
        self.steps.get(index)
    }
}

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Submitted, waiting for intake (step 0).
    Submitted,
    /// At a step after intake, with staff.
    AtStep { step: usize },
    /// Waiting for the applicant to supply what step `step` asked for.
    Supplement { step: usize },
    /// The result has been handed over; the case waits to be closed.
    Delivered,
    /// Refused at intake (不予受理). Final.
    NotAccepted,
    /// Finished. Final.
    Closed,
    /// Withdrawn by the applicant before the decision. Final.
    Withdrawn,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::AtStep { .. } => "in_progress",
            Self::Supplement { .. } => "supplement",
            Self::Delivered => "delivered",
            Self::NotAccepted => "not_accepted",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// The step index the case is at (intake for a submitted case), if it is at one.
    pub fn step(self) -> Option<usize> {
        match self {
            Self::Submitted => Some(0),
            Self::AtStep { step } | Self::Supplement { step } => Some(step),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::NotAccepted | Self::Closed | Self::Withdrawn)
    }

    /// Whether it is the applicant's move.
    pub fn awaits_applicant(self) -> bool {
        matches!(self, Self::Supplement { .. })
    }
}

/// The outcome of the decision step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Denied,
}

/// One material to supply or correct, with what is wrong with it (一次性告知: the notice lists
/// every one at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplementItem {
    pub material: String,
    pub problem: String,
}

/// Something someone does to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Accept,
    NotAccept {
        reason: String,
    },
    RequestSupplement {
        items: Vec<SupplementItem>,
    },
    /// The applicant supplies what was asked for.
    Supply,
    /// A review, inspection or approval step is done.
    Pass {
        note: String,
    },
    /// A head sends the case back to the step before.
    SendBack {
        note: String,
    },
    Approve,
    Deny {
        reason: String,
        legal_basis: String,
    },
    Deliver {
        method: String,
    },
    Close,
    /// The applicant withdraws the application.
    Withdraw,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::NotAccept { .. } => "not_accept",
            Self::RequestSupplement { .. } => "request_supplement",
            Self::Supply => "supply",
            Self::Pass { .. } => "pass",
            Self::SendBack { .. } => "send_back",
            Self::Approve => "approve",
            Self::Deny { .. } => "deny",
            Self::Deliver { .. } => "deliver",
            Self::Close => "close",
            Self::Withdraw => "withdraw",
        }
    }

    fn by_applicant(&self) -> bool {
        matches!(self, Self::Supply | Self::Withdraw)
    }
}

/// Who acts: the applicant (or someone acting for them), or staff with their roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party<'a> {
    Applicant,
    Staff(&'a [Role]),
}

/// What an action does to the case's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockEffect {
    None,
    /// The decision clock starts (on acceptance).
    Start,
    /// Intake starts again: the application counts as received anew on this day.
    RestartIntake,
    Pause,
    Resume,
    /// The decision is made, or the case ends before it.
    Stop,
}

/// The result of a permitted action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Stage,
    pub to: Stage,
    pub clock: ClockEffect,
    /// Set by the decision.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    #[error("`{action}` is not possible while the case is {stage}")]
    WrongStage {
        action: &'static str,
        stage: &'static str,
    },
    #[error("`{action}` is not an action of a {step} step")]
    WrongStep {
        action: &'static str,
        step: &'static str,
    },
    #[error("only the applicant may `{0}`")]
    ApplicantOnly(&'static str),
    #[error("only staff may `{0}`")]
    StaffOnly(&'static str),
    #[error("this step is for another role")]
    NotYourStep,
    #[error("`{0}` needs a reason")]
    ReasonMissing(&'static str),
    #[error("a denial needs its legal basis")]
    LegalBasisMissing,
    #[error("a supplement request must list every material needed, with what is wrong")]
    SupplementEmpty,
    #[error("the process has no step {0}")]
    NoSuchStep(usize),
}

impl ProcessError {
    /// A stable code for messages and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongStage { .. } => "case_wrong_stage",
            Self::WrongStep { .. } => "case_wrong_step",
            Self::ApplicantOnly(_) => "case_applicant_only",
            Self::StaffOnly(_) | Self::NotYourStep => "case_not_your_step",
            Self::ReasonMissing(_) => "case_reason_missing",
            Self::LegalBasisMissing => "case_legal_basis_missing",
            Self::SupplementEmpty => "case_supplement_empty",
            Self::NoSuchStep(_) => "case_wrong_step",
        }
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Decides whether `party` may do `action` to a case of `process` at `stage`, and what follows.
pub fn apply(
    process: &ProcessDef,
    stage: Stage,
    party: &Party<'_>,
    action: &Action,
) -> Result<Transition, ProcessError> {
    let name = action.name();
    let wrong_stage = || ProcessError::WrongStage {
        action: name,
        stage: stage.as_str(),
    };
    if stage.is_final() {
        return Err(wrong_stage());
    }
    match (party, action.by_applicant()) {
        (Party::Staff(_), true) => return Err(ProcessError::ApplicantOnly(name)),
        (Party::Applicant, false) => return Err(ProcessError::StaffOnly(name)),
        _ => {}
    }
    let done = |to: Stage, clock: ClockEffect| {
        Ok(Transition {
            from: stage,
            to,
            clock,
            outcome: None,
        })
    };

    // The applicant's moves.
    match action {
        Action::Supply => {
            return match stage {
                Stage::Supplement { step: 0 } => done(Stage::Submitted, ClockEffect::RestartIntake),
                Stage::Supplement { step } => done(Stage::AtStep { step }, ClockEffect::Resume),
                _ => Err(wrong_stage()),
            };
        }
        Action::Withdraw => {
            let before_decision = match stage {
                Stage::Submitted => true,
                Stage::AtStep { step } | Stage::Supplement { step } => process
                    .steps
                    .iter()
                    .skip(step)
                    .any(|s| s.kind == StepKind::Decision),
                _ => false,
            };
            if !before_decision {
                return Err(wrong_stage());
            }
            let clock = if stage == Stage::Submitted || stage == (Stage::Supplement { step: 0 }) {
                ClockEffect::None
            } else {
                ClockEffect::Stop
            };
            return done(Stage::Withdrawn, clock);
        }
        _ => {}
    }

    // Staff moves: closing a delivered case, or acting at the case's current step.
    if let Action::Close = action {
        return match stage {
            Stage::Delivered => done(Stage::Closed, ClockEffect::None),
            _ => Err(wrong_stage()),
        };
    }
    let index = match stage {
        Stage::Submitted => 0,
        Stage::AtStep { step } => step,
        _ => return Err(wrong_stage()),
    };
    let step = process.step(index).ok_or(ProcessError::NoSuchStep(index))?;
    if let Party::Staff(roles) = party
        && !step.roles.iter().any(|r| roles.contains(r))
    {
        return Err(ProcessError::NotYourStep);
    }
    let wrong_step = || ProcessError::WrongStep {
        action: name,
        step: step.kind.as_str(),
    };
    let next = Stage::AtStep { step: index + 1 };
    match (step.kind, action) {
        (StepKind::Intake, Action::Accept) => done(next, ClockEffect::Start),
        (StepKind::Intake, Action::NotAccept { reason }) => {
            if blank(reason) {
                return Err(ProcessError::ReasonMissing(name));
            }
            done(Stage::NotAccepted, ClockEffect::None)
        }
        (
            StepKind::Intake
            | StepKind::Review
            | StepKind::Inspection
            | StepKind::Approval
            | StepKind::Decision,
            Action::RequestSupplement { items },
        ) => {
            if items.is_empty()
                || items
                    .iter()
                    .any(|i| blank(&i.material) || blank(&i.problem))
            {
                return Err(ProcessError::SupplementEmpty);
            }
            let clock = if index == 0 {
                ClockEffect::None
            } else {
                ClockEffect::Pause
            };
            done(Stage::Supplement { step: index }, clock)
        }
        (StepKind::Review | StepKind::Inspection | StepKind::Approval, Action::Pass { .. }) => {
            done(next, ClockEffect::None)
        }
        (StepKind::Approval, Action::SendBack { note }) => {
            if blank(note) {
                return Err(ProcessError::ReasonMissing(name));
            }
            done(Stage::AtStep { step: index - 1 }, ClockEffect::None)
        }
        (StepKind::Decision, Action::Approve) => Ok(Transition {
            from: stage,
            to: next,
            clock: ClockEffect::Stop,
            outcome: Some(Outcome::Approved),
        }),
        (
            StepKind::Decision,
            Action::Deny {
                reason,
                legal_basis,
            },
        ) => {
            if blank(reason) {
                return Err(ProcessError::ReasonMissing(name));
            }
            if blank(legal_basis) {
                return Err(ProcessError::LegalBasisMissing);
            }
            Ok(Transition {
                from: stage,
                to: next,
                clock: ClockEffect::Stop,
                outcome: Some(Outcome::Denied),
            })
        }
        (StepKind::Delivery, Action::Deliver { method }) => {
            if blank(method) {
                return Err(ProcessError::ReasonMissing(name));
            }
            done(Stage::Delivered, ClockEffect::None)
        }
        _ => Err(wrong_step()),
    }
}

/// The actions `party` could take now, for offering buttons (each still goes through
/// [`apply`], which checks the details).
pub fn possible_actions(
    process: &ProcessDef,
    stage: Stage,
    party: &Party<'_>,
) -> Vec<&'static str> {
    let probes = [
        Action::Accept,
        Action::NotAccept { reason: "-".into() },
        Action::RequestSupplement {
            items: vec![SupplementItem {
                material: "-".into(),
                problem: "-".into(),
            }],
        },
        Action::Supply,
        Action::Pass {
            note: String::new(),
        },
        Action::SendBack { note: "-".into() },
        Action::Approve,
        Action::Deny {
            reason: "-".into(),
            legal_basis: "-".into(),
        },
        Action::Deliver { method: "-".into() },
        Action::Close,
        Action::Withdraw,
    ];
    probes
        .iter()
        .filter(|a| apply(process, stage, party, a).is_ok())
        .map(Action::name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDLER: &[Role] = &[Role::DepartmentHandler];
    const CLERK: &[Role] = &[Role::WindowClerk];
    const HEAD: &[Role] = &[Role::DepartmentHead];

    fn staff(roles: &'static [Role]) -> Party<'static> {
        Party::Staff(roles)
    }

    fn go(p: &ProcessDef, stage: Stage, party: &Party<'_>, a: Action) -> Transition {
        apply(p, stage, party, &a).unwrap_or_else(|e| panic!("{} at {stage:?}: {e}", a.name()))
    }

    fn missing() -> Vec<SupplementItem> {
        vec![
            SupplementItem {
                material: "经营场所使用证明".into(),
                problem: "未上传".into(),
            },
            SupplementItem {
                material: "经营者居民身份证".into(),
                problem: "照片模糊".into(),
            },
        ]
    }

    #[test]
    fn the_standard_and_extended_processes_are_valid() {
        assert_eq!(ProcessDef::standard().validate(), vec![]);
        let p = ProcessDef::standard_with(
            "inspected",
            vec![
                StepDef::new("inspection", StepKind::Inspection, HANDLER, Some(5)),
                StepDef::new("approval", StepKind::Approval, HEAD, Some(2)),
            ],
        );
        assert_eq!(p.validate(), vec![]);
        let kinds: Vec<_> = p.steps.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "intake",
                "review",
                "inspection",
                "approval",
                "decision",
                "delivery"
            ]
        );
    }

    #[test]
    fn a_process_without_intake_first_or_with_two_decisions_is_invalid() {
        let mut p = ProcessDef::standard();
        p.steps.swap(0, 1);
        p.steps
            .push(StepDef::new("decision2", StepKind::Decision, HANDLER, None));
        let reasons: Vec<String> = p.validate().into_iter().map(|v| v.reason).collect();
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("first step must be intake")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("last step must be delivery")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("exactly one decision")),
            "{reasons:?}"
        );
        let mut p = ProcessDef::standard();
        p.steps[1].roles = vec![Role::Resident];
        assert_eq!(p.validate().len(), 1);
    }

    #[test]
    fn a_case_walks_the_whole_standard_process_with_a_supplement() {
        let p = ProcessDef::standard();
        let applicant = Party::Applicant;
        let t = go(
            &p,
            Stage::Submitted,
            &staff(CLERK),
            Action::RequestSupplement { items: missing() },
        );
        assert_eq!(
            (t.to, t.clock),
            (Stage::Supplement { step: 0 }, ClockEffect::None)
        );
        let t = go(&p, t.to, &applicant, Action::Supply);
        assert_eq!(
            (t.to, t.clock),
            (Stage::Submitted, ClockEffect::RestartIntake)
        );
        let t = go(&p, t.to, &staff(CLERK), Action::Accept);
        assert_eq!(
            (t.to, t.clock),
            (Stage::AtStep { step: 1 }, ClockEffect::Start)
        );
        let t = go(
            &p,
            t.to,
            &staff(HANDLER),
            Action::RequestSupplement { items: missing() },
        );
        assert_eq!(
            (t.to, t.clock),
            (Stage::Supplement { step: 1 }, ClockEffect::Pause)
        );
        let t = go(&p, t.to, &applicant, Action::Supply);
        assert_eq!(
            (t.to, t.clock),
            (Stage::AtStep { step: 1 }, ClockEffect::Resume)
        );
        let t = go(
            &p,
            t.to,
            &staff(HANDLER),
            Action::Pass {
                note: String::new(),
            },
        );
        assert_eq!(t.to, Stage::AtStep { step: 2 });
        let t = go(&p, t.to, &staff(HANDLER), Action::Approve);
        assert_eq!(
            (t.to, t.clock, t.outcome),
            (
                Stage::AtStep { step: 3 },
                ClockEffect::Stop,
                Some(Outcome::Approved)
            )
        );
        let t = go(
            &p,
            t.to,
            &staff(CLERK),
            Action::Deliver {
                method: "电子证照".into(),
            },
        );
        assert_eq!(t.to, Stage::Delivered);
        let t = go(&p, t.to, &staff(CLERK), Action::Close);
        assert_eq!(t.to, Stage::Closed);
        assert!(t.to.is_final());
    }

    #[test]
    fn wrong_stage_wrong_step_and_wrong_party_are_typed_errors() {
        let p = ProcessDef::standard();
        let review = Stage::AtStep { step: 1 };
        assert_eq!(
            apply(&p, Stage::Submitted, &staff(CLERK), &Action::Approve),
            Err(ProcessError::WrongStep {
                action: "approve",
                step: "intake"
            })
        );
        assert_eq!(
            apply(
                &p,
                review,
                &staff(CLERK),
                &Action::Pass {
                    note: String::new()
                }
            ),
            Err(ProcessError::NotYourStep),
            "a window clerk does not review"
        );
        assert_eq!(
            apply(
                &p,
                review,
                &Party::Applicant,
                &Action::Pass {
                    note: String::new()
                }
            ),
            Err(ProcessError::StaffOnly("pass"))
        );
        assert_eq!(
            apply(&p, review, &staff(HANDLER), &Action::Supply),
            Err(ProcessError::ApplicantOnly("supply"))
        );
        assert_eq!(
            apply(&p, review, &Party::Applicant, &Action::Supply),
            Err(ProcessError::WrongStage {
                action: "supply",
                stage: "in_progress"
            })
        );
        assert_eq!(
            apply(&p, Stage::Closed, &staff(HANDLER), &Action::Close),
            Err(ProcessError::WrongStage {
                action: "close",
                stage: "closed"
            })
        );
        assert_eq!(
            apply(
                &p,
                Stage::Submitted,
                &staff(CLERK),
                &Action::NotAccept {
                    reason: "  ".into()
                }
            ),
            Err(ProcessError::ReasonMissing("not_accept"))
        );
        let decision = Stage::AtStep { step: 2 };
        assert_eq!(
            apply(
                &p,
                decision,
                &staff(HANDLER),
                &Action::Deny {
                    reason: "不符合条件".into(),
                    legal_basis: String::new()
                }
            ),
            Err(ProcessError::LegalBasisMissing)
        );
        assert_eq!(
            apply(
                &p,
                review,
                &staff(HANDLER),
                &Action::RequestSupplement { items: vec![] }
            ),
            Err(ProcessError::SupplementEmpty)
        );
    }

    #[test]
    fn a_denial_is_delivered_too_and_withdrawal_ends_only_before_the_decision() {
        let p = ProcessDef::standard();
        let decision = Stage::AtStep { step: 2 };
        let t = go(
            &p,
            decision,
            &staff(HEAD),
            Action::Deny {
                reason: "经营范围涉及前置许可".into(),
                legal_basis: "《市场主体登记管理条例》第十四条".into(),
            },
        );
        assert_eq!(
            (t.to, t.outcome),
            (Stage::AtStep { step: 3 }, Some(Outcome::Denied))
        );
        assert_eq!(
            apply(&p, t.to, &Party::Applicant, &Action::Withdraw),
            Err(ProcessError::WrongStage {
                action: "withdraw",
                stage: "in_progress"
            })
        );
        let t = go(
            &p,
            Stage::Supplement { step: 1 },
            &Party::Applicant,
            Action::Withdraw,
        );
        assert_eq!((t.to, t.clock), (Stage::Withdrawn, ClockEffect::Stop));
        let t = go(&p, Stage::Submitted, &Party::Applicant, Action::Withdraw);
        assert_eq!((t.to, t.clock), (Stage::Withdrawn, ClockEffect::None));
    }

    #[test]
    fn a_head_approval_step_can_send_a_case_back() {
        let p = ProcessDef::standard_with(
            "approved",
            vec![StepDef::new("approval", StepKind::Approval, HEAD, Some(2))],
        );
        let at_approval = Stage::AtStep { step: 2 };
        assert_eq!(
            apply(
                &p,
                at_approval,
                &staff(HANDLER),
                &Action::Pass {
                    note: String::new()
                }
            ),
            Err(ProcessError::NotYourStep)
        );
        let t = go(
            &p,
            at_approval,
            &staff(HEAD),
            Action::SendBack {
                note: "请补充现场照片".into(),
            },
        );
        assert_eq!(t.to, Stage::AtStep { step: 1 });
        let t = go(
            &p,
            at_approval,
            &staff(HEAD),
            Action::Pass {
                note: String::new(),
            },
        );
        assert_eq!(t.to, Stage::AtStep { step: 3 });
    }

    #[test]
    fn the_actions_offered_are_exactly_those_permitted() {
        let p = ProcessDef::standard();
        assert_eq!(
            possible_actions(&p, Stage::Submitted, &staff(CLERK)),
            ["accept", "not_accept", "request_supplement"]
        );
        assert_eq!(
            possible_actions(&p, Stage::Submitted, &Party::Applicant),
            ["withdraw"]
        );
        assert_eq!(
            possible_actions(&p, Stage::Supplement { step: 1 }, &Party::Applicant),
            ["supply", "withdraw"]
        );
        assert_eq!(
            possible_actions(&p, Stage::AtStep { step: 2 }, &staff(HANDLER)),
            ["request_supplement", "approve", "deny"]
        );
        assert!(possible_actions(&p, Stage::Closed, &staff(HEAD)).is_empty());
    }
}
