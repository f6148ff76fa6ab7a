//! The request loop as a pure state machine: the dispatch centre sends a request to a unit;
//! the unit signs for it (签收) or returns it with a reason (退单); it contacts the resident,
//! may ask once for more time (延期, which the centre grants or refuses), and replies (答复);
//! the centre checks the reply and closes the request or sends it back; the resident rates it
//! and, if not satisfied, may reopen it once within a week. Supervisors urge (督办) whatever is
//! open. A duplicate is merged into the request it repeats.
//!
//! The machine decides what may happen and what the request looks like afterwards; deadlines,
//! storage and notifications belong to the caller.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::RequestKind;
use super::limits::TimeLimits;

/// The longest reason, note or reply text.
pub const MAX_TEXT_CHARS: usize = 4000;

/// Where a request is in the loop.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStage {
    /// Waiting in the dispatch centre's queue (new, or returned by a unit).
    Filed,
    /// Sent to a unit, waiting for it to sign.
    Dispatched,
    /// Signed for: the unit is working on it.
    InHand,
    /// Replied: the centre checks the reply.
    Replied,
    /// Closed: the resident may rate it (and reopen it once if not satisfied).
    Closed,
    /// Merged into the request it repeats. Final.
    Merged,
}

impl RequestStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Filed => "filed",
            Self::Dispatched => "dispatched",
            Self::InHand => "in_hand",
            Self::Replied => "replied",
            Self::Closed => "closed",
            Self::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Filed,
            Self::Dispatched,
            Self::InHand,
            Self::Replied,
            Self::Closed,
            Self::Merged,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Still with the government (for worklists and overdue lists).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Filed | Self::Dispatched | Self::InHand | Self::Replied
        )
    }
}

/// The one extension a request may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Extension {
    #[default]
    None,
    Asked {
        days: u32,
    },
    Granted {
        days: u32,
    },
    Refused,
}

/// What the machine needs to know of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestState {
    pub kind: RequestKind,
    pub stage: RequestStage,
    /// The unit it is with (none while in the centre's queue).
    pub unit: Option<String>,
    /// The resident who filed it (none for one taken on the hotline for an anonymous caller).
    pub requester: Option<String>,
    /// Whether the unit recorded contact with the resident in this round.
    pub contacted: bool,
    pub extension: Extension,
    pub closed_at: Option<DateTime<Utc>>,
    /// The rating of the current round, 1–5.
    pub rating: Option<u8>,
    pub reopened: bool,
}

impl RequestState {
    pub fn new(kind: RequestKind, requester: Option<String>) -> Self {
        Self {
            kind,
            stage: RequestStage::Filed,
            unit: None,
            requester,
            contacted: false,
            extension: Extension::None,
            closed_at: None,
            rating: None,
            reopened: false,
        }
    }
}

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party<'a> {
    /// The resident who filed it (by user id).
    Requester(&'a str),
    /// The 12345 dispatch centre.
    Dispatcher,
    /// Staff of a unit (by unit code).
    Unit(&'a str),
    Supervisor,
    /// The system itself, dispatching above the configured confidence.
    System,
}

/// Something someone does to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RequestAction {
    Dispatch { unit: String },
    Return { reason: String },
    Sign,
    Contact { note: String },
    AskExtension { days: u32, reason: String },
    GrantExtension,
    RefuseExtension { reason: String },
    Reply { text: String },
    Close,
    SendBack { reason: String },
    Rate { score: u8, comment: String },
    Reopen { reason: String },
    Urge { note: String },
    Merge { into: String },
}

/// The fields an action may carry, as a form or an API body gives them beside its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionFields {
    pub unit: String,
    pub reason: String,
    pub note: String,
    pub text: String,
    pub days: u32,
    pub score: u8,
    pub comment: String,
    pub into: String,
}

impl RequestAction {
    /// The action called `name`, taking from `f` what it carries; `None` for an unknown name.
    pub fn from_fields(name: &str, f: ActionFields) -> Option<Self> {
        Some(match name {
            "dispatch" => Self::Dispatch { unit: f.unit },
            "return" => Self::Return { reason: f.reason },
            "sign" => Self::Sign,
            "contact" => Self::Contact { note: f.note },
            "ask_extension" => Self::AskExtension {
                days: f.days,
                reason: f.reason,
            },
            "grant_extension" => Self::GrantExtension,
            "refuse_extension" => Self::RefuseExtension { reason: f.reason },
            "reply" => Self::Reply { text: f.text },
            "close" => Self::Close,
            "send_back" => Self::SendBack { reason: f.reason },
            "rate" => Self::Rate {
                score: f.score,
                comment: f.comment,
            },
            "reopen" => Self::Reopen { reason: f.reason },
            "urge" => Self::Urge { note: f.note },
            "merge" => Self::Merge { into: f.into },
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Dispatch { .. } => "dispatch",
            Self::Return { .. } => "return",
            Self::Sign => "sign",
            Self::Contact { .. } => "contact",
            Self::AskExtension { .. } => "ask_extension",
            Self::GrantExtension => "grant_extension",
            Self::RefuseExtension { .. } => "refuse_extension",
            Self::Reply { .. } => "reply",
            Self::Close => "close",
            Self::SendBack { .. } => "send_back",
            Self::Rate { .. } => "rate",
            Self::Reopen { .. } => "reopen",
            Self::Urge { .. } => "urge",
            Self::Merge { .. } => "merge",
        }
    }
}

/// Why an action is refused; `code()` is the stable code clients see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("`{action}` is not possible while the request is {stage}")]
    WrongStage {
        action: &'static str,
        stage: &'static str,
    },
    #[error("`{0}` is not yours to do on this request")]
    NotYours(&'static str),
    #[error("`{0}` needs text")]
    TextMissing(&'static str),
    #[error("`{0}` is longer than {MAX_TEXT_CHARS} characters")]
    TextTooLong(&'static str),
    #[error("the request has had its extension")]
    ExtensionUsed,
    #[error("no extension is waiting for a decision")]
    NoExtensionAsked,
    #[error("an extension is from 1 to {0} working days")]
    ExtensionDays(u32),
    #[error("the resident must be contacted before the reply")]
    ContactFirst,
    #[error("a rating is from 1 to 5")]
    RatingRange,
    #[error("this round has been rated already")]
    AlreadyRated,
    #[error("a request can be reopened only after rating it as not satisfied")]
    NotDissatisfied,
    #[error("a request can be reopened within {0} days of closing")]
    ReopenTooLate(u32),
    #[error("a request can be reopened once")]
    AlreadyReopened,
    #[error("a request cannot be merged into itself")]
    MergeIntoSelf,
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongStage { .. } => "request_wrong_stage",
            Self::NotYours(_) => "request_not_yours",
            Self::TextMissing(_) => "request_text_missing",
            Self::TextTooLong(_) => "request_text_too_long",
            Self::ExtensionUsed => "request_extension_used",
            Self::NoExtensionAsked => "request_no_extension_asked",
            Self::ExtensionDays(_) => "request_extension_days",
            Self::ContactFirst => "request_contact_first",
            Self::RatingRange => "request_rating_range",
            Self::AlreadyRated => "request_already_rated",
            Self::NotDissatisfied => "request_not_dissatisfied",
            Self::ReopenTooLate(_) => "request_reopen_too_late",
            Self::AlreadyReopened => "request_already_reopened",
            Self::MergeIntoSelf => "request_merge_into_self",
        }
    }
}

fn text(field: &'static str, s: &str) -> Result<(), RequestError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(RequestError::TextMissing(field));
    }
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(RequestError::TextTooLong(field));
    }
    Ok(())
}

/// Ratings of 1 and 2 (非常不满意, 不满意) are "not satisfied".
pub fn dissatisfied(score: u8) -> bool {
    score <= 2
}

/// Applies `action` by `party` at `now` (the id of the request itself in `own_id`, for merges).
/// Returns the request as it is afterwards, or why the action is refused.
pub fn apply(
    state: &RequestState,
    own_id: &str,
    party: Party<'_>,
    action: &RequestAction,
    now: DateTime<Utc>,
    limits: &TimeLimits,
) -> Result<RequestState, RequestError> {
    use RequestStage as S;
    let name = action.name();
    let wrong = || RequestError::WrongStage {
        action: name,
        stage: state.stage.as_str(),
    };
    let must_be = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(RequestError::NotYours(name))
        }
    };
    let centre = matches!(party, Party::Dispatcher);
    let of_unit = matches!(party, Party::Unit(u) if state.unit.as_deref() == Some(u));
    let requester = matches!(party, Party::Requester(id) if state.requester.as_deref() == Some(id));
    let mut next = state.clone();
    match action {
        RequestAction::Dispatch { unit } => {
            must_be(centre || matches!(party, Party::System))?;
            if state.stage != S::Filed {
                return Err(wrong());
            }
            text("unit", unit)?;
            next.stage = S::Dispatched;
            next.unit = Some(unit.trim().to_owned());
        }
        RequestAction::Return { reason } => {
            must_be(of_unit)?;
            if state.stage != S::Dispatched {
                return Err(wrong());
            }
            text("reason", reason)?;
            next.stage = S::Filed;
            next.unit = None;
        }
        RequestAction::Sign => {
            must_be(of_unit)?;
            if state.stage != S::Dispatched {
                return Err(wrong());
            }
            next.stage = S::InHand;
        }
        RequestAction::Contact { note } => {
            must_be(of_unit)?;
            if state.stage != S::InHand {
                return Err(wrong());
            }
            text("note", note)?;
            next.contacted = true;
        }
        RequestAction::AskExtension { days, reason } => {
            must_be(of_unit)?;
            if state.stage != S::InHand {
                return Err(wrong());
            }
            match state.extension {
                Extension::None => {}
                Extension::Asked { .. } | Extension::Granted { .. } | Extension::Refused => {
                    return Err(RequestError::ExtensionUsed);
                }
            }
            if *days == 0 || *days > limits.extension_max_days {
                return Err(RequestError::ExtensionDays(limits.extension_max_days));
            }
            text("reason", reason)?;
            next.extension = Extension::Asked { days: *days };
        }
        RequestAction::GrantExtension | RequestAction::RefuseExtension { .. } => {
            must_be(centre)?;
            let Extension::Asked { days } = state.extension else {
                return Err(RequestError::NoExtensionAsked);
            };
            if let RequestAction::RefuseExtension { reason } = action {
                text("reason", reason)?;
                next.extension = Extension::Refused;
            } else {
                next.extension = Extension::Granted { days };
            }
        }
        RequestAction::Reply { text: reply } => {
            must_be(of_unit)?;
            if state.stage != S::InHand {
                return Err(wrong());
            }
            text("text", reply)?;
            if state.kind.needs_contact() && !state.contacted {
                return Err(RequestError::ContactFirst);
            }
            next.stage = S::Replied;
        }
        RequestAction::Close => {
            must_be(centre)?;
            if state.stage != S::Replied {
                return Err(wrong());
            }
            next.stage = S::Closed;
            next.closed_at = Some(now);
            next.rating = None;
        }
        RequestAction::SendBack { reason } => {
            must_be(centre)?;
            if state.stage != S::Replied {
                return Err(wrong());
            }
            text("reason", reason)?;
            next.stage = S::InHand;
        }
        RequestAction::Rate { score, .. } => {
            must_be(requester)?;
            if state.stage != S::Closed {
                return Err(wrong());
            }
            if !(1..=5).contains(score) {
                return Err(RequestError::RatingRange);
            }
            if state.rating.is_some() {
                return Err(RequestError::AlreadyRated);
            }
            next.rating = Some(*score);
        }
        RequestAction::Reopen { reason } => {
            must_be(requester)?;
            if state.stage != S::Closed {
                return Err(wrong());
            }
            if state.reopened {
                return Err(RequestError::AlreadyReopened);
            }
            if !state.rating.is_some_and(dissatisfied) {
                return Err(RequestError::NotDissatisfied);
            }
            let closed = state.closed_at.unwrap_or(now);
            if now - closed > Duration::days(i64::from(limits.reopen_days)) {
                return Err(RequestError::ReopenTooLate(limits.reopen_days));
            }
            text("reason", reason)?;
            next.stage = S::InHand;
            next.reopened = true;
            next.contacted = false;
            next.closed_at = None;
            next.rating = None;
        }
        RequestAction::Urge { note } => {
            must_be(matches!(party, Party::Supervisor))?;
            if !matches!(state.stage, S::Dispatched | S::InHand | S::Replied) {
                return Err(wrong());
            }
            text("note", note)?;
        }
        RequestAction::Merge { into } => {
            must_be(centre)?;
            if state.stage != S::Filed {
                return Err(wrong());
            }
            if into == own_id {
                return Err(RequestError::MergeIntoSelf);
            }
            next.stage = S::Merged;
        }
    }
    Ok(next)
}

/// Which photos a party adds: the resident's own, showing the matter, or the unit's, showing
/// its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoPart {
    Request,
    Reply,
}

impl PhotoPart {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Reply => "reply",
        }
    }
}

/// The most photos of one part a request carries.
pub const MAX_PHOTOS_PER_PART: usize = 6;

/// Who may add photos, and when: the resident while the request is still open (a closed or
/// merged one has had its answer), the unit it is with while it works on it and until its
/// reply is checked.
pub fn photo_part(state: &RequestState, party: Party<'_>) -> Result<PhotoPart, RequestError> {
    match party {
        Party::Requester(who) if state.requester.as_deref() == Some(who) => {
            if matches!(state.stage, RequestStage::Closed | RequestStage::Merged) {
                Err(RequestError::WrongStage {
                    action: "add_photos",
                    stage: state.stage.as_str(),
                })
            } else {
                Ok(PhotoPart::Request)
            }
        }
        Party::Unit(unit) if state.unit.as_deref() == Some(unit) => {
            if matches!(state.stage, RequestStage::InHand | RequestStage::Replied) {
                Ok(PhotoPart::Reply)
            } else {
                Err(RequestError::WrongStage {
                    action: "add_photos",
                    stage: state.stage.as_str(),
                })
            }
        }
        _ => Err(RequestError::NotYours("add_photos")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "u-resident";
    const GAJ: &str = "130534-GAJ";
    const RSJ: &str = "130534-RSJ";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default()
    }

    fn run(s: &RequestState, p: Party<'_>, a: RequestAction) -> Result<RequestState, RequestError> {
        apply(s, "r1", p, &a, now(), &TimeLimits::default())
    }

    fn step(s: RequestState, p: Party<'_>, a: RequestAction) -> RequestState {
        run(&s, p, a.clone()).unwrap_or_else(|e| panic!("{}: {e}", a.name()))
    }

    #[test]
    fn the_whole_loop_with_a_return_an_extension_and_a_reopening() {
        let s = RequestState::new(RequestKind::Complaint, Some(ME.into()));
        let s = step(
            s,
            Party::Dispatcher,
            RequestAction::Dispatch { unit: GAJ.into() },
        );
        let s = step(
            s,
            Party::Unit(GAJ),
            RequestAction::Return {
                reason: "属于人社局职责".into(),
            },
        );
        assert_eq!((s.stage, s.unit.as_deref()), (RequestStage::Filed, None));
        let s = step(
            s,
            Party::Dispatcher,
            RequestAction::Dispatch { unit: RSJ.into() },
        );
        let s = step(s, Party::Unit(RSJ), RequestAction::Sign);
        let s = step(
            s,
            Party::Unit(RSJ),
            RequestAction::AskExtension {
                days: 5,
                reason: "需调取工资记录".into(),
            },
        );
        let s = step(s, Party::Dispatcher, RequestAction::GrantExtension);
        assert_eq!(s.extension, Extension::Granted { days: 5 });
        assert_eq!(
            run(
                &s,
                Party::Unit(RSJ),
                RequestAction::Reply {
                    text: "已处理".into()
                }
            ),
            Err(RequestError::ContactFirst)
        );
        let s = step(
            s,
            Party::Unit(RSJ),
            RequestAction::Contact {
                note: "电话联系，已说明".into(),
            },
        );
        let s = step(
            s,
            Party::Unit(RSJ),
            RequestAction::Reply {
                text: "已责令企业补发工资".into(),
            },
        );
        let s = step(s, Party::Dispatcher, RequestAction::Close);
        let s = step(
            s,
            Party::Requester(ME),
            RequestAction::Rate {
                score: 2,
                comment: String::new(),
            },
        );
        let s = step(
            s,
            Party::Requester(ME),
            RequestAction::Reopen {
                reason: "只发了一半".into(),
            },
        );
        assert_eq!(
            (s.stage, s.reopened, s.contacted, s.rating),
            (RequestStage::InHand, true, false, None)
        );
        let s = step(
            s,
            Party::Unit(RSJ),
            RequestAction::Contact {
                note: "再次联系".into(),
            },
        );
        let s = step(
            s,
            Party::Unit(RSJ),
            RequestAction::Reply {
                text: "已全部补发".into(),
            },
        );
        let s = step(s, Party::Dispatcher, RequestAction::Close);
        let s = step(
            s,
            Party::Requester(ME),
            RequestAction::Rate {
                score: 5,
                comment: "谢谢".into(),
            },
        );
        assert_eq!(s.rating, Some(5));
        assert_eq!(
            run(
                &s,
                Party::Requester(ME),
                RequestAction::Reopen { reason: "x".into() }
            ),
            Err(RequestError::AlreadyReopened)
        );
    }

    #[test]
    fn only_the_right_party_acts_and_only_at_its_stage() {
        let s = RequestState::new(RequestKind::Help, Some(ME.into()));
        assert_eq!(
            run(&s, Party::Unit(GAJ), RequestAction::Sign)
                .err()
                .map(|e| e.code()),
            Some("request_not_yours")
        );
        assert_eq!(
            run(
                &s,
                Party::Requester("someone-else"),
                RequestAction::Dispatch { unit: GAJ.into() }
            )
            .err()
            .map(|e| e.code()),
            Some("request_not_yours")
        );
        let s = step(
            s,
            Party::System,
            RequestAction::Dispatch { unit: GAJ.into() },
        );
        assert_eq!(
            run(&s, Party::Unit(RSJ), RequestAction::Sign),
            Err(RequestError::NotYours("sign"))
        );
        assert_eq!(
            run(&s, Party::Dispatcher, RequestAction::Close),
            Err(RequestError::WrongStage {
                action: "close",
                stage: "dispatched"
            })
        );
        let s = step(s, Party::Unit(GAJ), RequestAction::Sign);
        assert_eq!(
            run(
                &s,
                Party::Unit(GAJ),
                RequestAction::Return { reason: "x".into() }
            )
            .err()
            .map(|e| e.code()),
            Some("request_wrong_stage")
        );
        assert_eq!(
            run(
                &s,
                Party::Supervisor,
                RequestAction::Urge { note: " ".into() }
            ),
            Err(RequestError::TextMissing("note"))
        );
        assert!(
            run(
                &s,
                Party::Supervisor,
                RequestAction::Urge {
                    note: "请加快".into()
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn one_extension_of_bounded_length_decided_by_the_centre() {
        let s = RequestState::new(RequestKind::Report, None);
        let s = step(
            s,
            Party::Dispatcher,
            RequestAction::Dispatch { unit: GAJ.into() },
        );
        let s = step(s, Party::Unit(GAJ), RequestAction::Sign);
        assert_eq!(
            run(&s, Party::Dispatcher, RequestAction::GrantExtension),
            Err(RequestError::NoExtensionAsked)
        );
        assert_eq!(
            run(
                &s,
                Party::Unit(GAJ),
                RequestAction::AskExtension {
                    days: 11,
                    reason: "x".into()
                }
            ),
            Err(RequestError::ExtensionDays(10))
        );
        let s = step(
            s,
            Party::Unit(GAJ),
            RequestAction::AskExtension {
                days: 3,
                reason: "需现场核查".into(),
            },
        );
        assert_eq!(
            run(&s, Party::Unit(GAJ), RequestAction::GrantExtension),
            Err(RequestError::NotYours("grant_extension"))
        );
        let s = step(
            s,
            Party::Dispatcher,
            RequestAction::RefuseExtension {
                reason: "请按期办结".into(),
            },
        );
        assert_eq!(
            run(
                &s,
                Party::Unit(GAJ),
                RequestAction::AskExtension {
                    days: 3,
                    reason: "再申请".into()
                }
            ),
            Err(RequestError::ExtensionUsed)
        );
    }

    #[test]
    fn reopening_needs_a_low_rating_within_seven_days_by_the_requester() {
        let s = RequestState::new(RequestKind::Suggestion, Some(ME.into()));
        let s = step(
            s,
            Party::Dispatcher,
            RequestAction::Dispatch { unit: GAJ.into() },
        );
        let s = step(s, Party::Unit(GAJ), RequestAction::Sign);
        // A suggestion needs no call before the reply.
        let s = step(
            s,
            Party::Unit(GAJ),
            RequestAction::Reply {
                text: "感谢建议，已采纳".into(),
            },
        );
        let s = step(s, Party::Dispatcher, RequestAction::Close);
        assert_eq!(
            run(
                &s,
                Party::Requester(ME),
                RequestAction::Reopen { reason: "x".into() }
            ),
            Err(RequestError::NotDissatisfied)
        );
        assert_eq!(
            run(
                &s,
                Party::Requester(ME),
                RequestAction::Rate {
                    score: 0,
                    comment: String::new()
                }
            ),
            Err(RequestError::RatingRange)
        );
        let s = step(
            s,
            Party::Requester(ME),
            RequestAction::Rate {
                score: 1,
                comment: String::new(),
            },
        );
        assert_eq!(
            run(
                &s,
                Party::Requester(ME),
                RequestAction::Rate {
                    score: 3,
                    comment: String::new()
                }
            ),
            Err(RequestError::AlreadyRated)
        );
        assert_eq!(
            run(
                &s,
                Party::Requester("u-other"),
                RequestAction::Reopen { reason: "x".into() }
            ),
            Err(RequestError::NotYours("reopen"))
        );
        let late = apply(
            &s,
            "r1",
            Party::Requester(ME),
            &RequestAction::Reopen { reason: "x".into() },
            now() + Duration::days(8),
            &TimeLimits::default(),
        );
        assert_eq!(late, Err(RequestError::ReopenTooLate(7)));
        let within = apply(
            &s,
            "r1",
            Party::Requester(ME),
            &RequestAction::Reopen { reason: "x".into() },
            now() + Duration::days(6),
            &TimeLimits::default(),
        );
        assert!(within.is_ok());
    }

    #[test]
    fn duplicates_are_merged_from_the_queue_never_into_themselves() {
        let s = RequestState::new(RequestKind::Complaint, Some(ME.into()));
        assert_eq!(
            run(
                &s,
                Party::Dispatcher,
                RequestAction::Merge { into: "r1".into() }
            ),
            Err(RequestError::MergeIntoSelf)
        );
        let merged = step(
            s,
            Party::Dispatcher,
            RequestAction::Merge { into: "r0".into() },
        );
        assert!(!merged.stage.is_open());
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        let s = RequestState::new(RequestKind::Complaint, Some(ME.into()));
        let s = step(
            s,
            Party::Dispatcher,
            RequestAction::Dispatch { unit: GAJ.into() },
        );
        assert_eq!(
            run(&s, Party::Unit(GAJ), RequestAction::Return { reason: long }),
            Err(RequestError::TextTooLong("reason"))
        );
    }

    #[test]
    fn residents_add_photos_until_closing_and_units_while_they_work_on_it() {
        let mut s = RequestState {
            kind: RequestKind::Complaint,
            stage: RequestStage::Filed,
            unit: None,
            requester: Some("u1".into()),
            contacted: false,
            extension: Extension::None,
            closed_at: None,
            rating: None,
            reopened: false,
        };
        assert_eq!(
            photo_part(&s, Party::Requester("u1")),
            Ok(PhotoPart::Request)
        );
        assert_eq!(
            photo_part(&s, Party::Requester("u2")),
            Err(RequestError::NotYours("add_photos"))
        );
        assert!(photo_part(&s, Party::Dispatcher).is_err());
        s.unit = Some("GAJ".into());
        s.stage = RequestStage::Dispatched;
        assert!(matches!(
            photo_part(&s, Party::Unit("GAJ")),
            Err(RequestError::WrongStage { .. })
        ));
        s.stage = RequestStage::InHand;
        assert_eq!(photo_part(&s, Party::Unit("GAJ")), Ok(PhotoPart::Reply));
        assert_eq!(
            photo_part(&s, Party::Unit("SPJ")),
            Err(RequestError::NotYours("add_photos"))
        );
        s.stage = RequestStage::Closed;
        assert!(photo_part(&s, Party::Requester("u1")).is_err());
        assert!(photo_part(&s, Party::Unit("GAJ")).is_err());
    }

    #[test]
    fn every_action_is_found_again_by_its_name() {
        let names = [
            "dispatch",
            "return",
            "sign",
            "contact",
            "ask_extension",
            "grant_extension",
            "refuse_extension",
            "reply",
            "close",
            "send_back",
            "rate",
            "reopen",
            "urge",
            "merge",
        ];
        for name in names {
            let action = RequestAction::from_fields(name, ActionFields::default());
            assert_eq!(action.map(|a| a.name()), Some(name));
        }
        assert_eq!(
            RequestAction::from_fields("teleport", ActionFields::default()),
            None
        );
        let rate = ActionFields {
            score: 4,
            comment: "好".into(),
            ..ActionFields::default()
        };
        assert_eq!(
            RequestAction::from_fields("rate", rate),
            Some(RequestAction::Rate {
                score: 4,
                comment: "好".into()
            })
        );
    }
}
