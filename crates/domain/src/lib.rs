//! Tongban's domain: the rules of county government service, free of I/O.
//!
//! Nothing here touches a database, a clock, the network or a file; callers pass in what a rule
//! needs (a calendar, an instant from a [`clock::Clock`]) and get values or typed errors back.

pub mod access;
pub mod answers;
pub mod audit;
pub mod calendar;
pub mod catalog;
pub mod clock;
pub mod deadline;
pub mod division;
pub mod faq;
pub mod identity;
pub mod password;
pub mod process;
pub mod reference;
pub mod request;
pub mod signin;
pub mod tenant;
pub mod text;
pub mod unit;
pub mod upload;

pub use access::{Actor, Placement, Role};
pub use calendar::{Calendar, CalendarError, CalendarYear};
pub use catalog::{
    Fee, FieldType, FormField, ItemCode, ItemSummary, ItemType, LifeEvent, Material, MaterialForm,
    OnlineLevel, ServiceItem, ServiceLevel, Target,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use division::{Division, DivisionCode, DivisionKind, DivisionLevel};
pub use faq::Faq;
pub use identity::{PhoneError, PhoneNumber, ResidentId, ResidentIdError};
pub use tenant::Tenant;
pub use unit::{OrgUnit, UnitCode, UnitKind};

/// A broken rule about one value, phrased for the person who supplied it.
///
/// `field` names the offending field the way the input names it (e.g. `promised_days`), so an
/// importer can point at it and a form can place the message next to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RuleViolation {
    pub field: String,
    pub reason: String,
}

impl RuleViolation {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
