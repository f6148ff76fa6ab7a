//! Roles and the scope each grants. Every use case asks these rules, never a handler alone:
//! a decision is made from the actor's roles, their unit and the division that unit governs.

use crate::{DivisionCode, UnitCode};

macro_rules! roles {
    ($($variant:ident = $s:literal),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Role { $($variant),+ }

        impl Role {
            pub const ALL: &'static [Role] = &[$(Role::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Role::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() { $($s => Some(Role::$variant),)+ _ => None }
            }
        }
    };
}

roles! {
    Resident = "resident",
    VillageAgent = "village_agent",
    WindowClerk = "window_clerk",
    DepartmentHandler = "department_handler",
    DepartmentHead = "department_head",
    Dispatcher = "dispatcher",
    Supervisor = "supervisor",
    Administrator = "administrator",
}

impl Role {
    /// Staff roles sign in with a password; residents and village agents with an SMS code.
    pub fn is_staff(self) -> bool {
        !matches!(self, Self::Resident | Self::VillageAgent)
    }
}

/// What a personal access token may be used for. A token never grants more than its owner's
/// roles allow; a scope only narrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    /// Read the owner's own profile.
    ProfileRead,
    /// Read the audit trail (supervisors, administrators).
    AuditRead,
    /// Read staff accounts (administrators).
    StaffRead,
    /// Read the cases the owner may see (their own, or their office's).
    CasesRead,
    /// Apply, answer, submit and act on cases as the owner may.
    CasesWrite,
    /// Read the requests and complaints the owner may see.
    RequestsRead,
    /// File requests and act on them as the owner may.
    RequestsWrite,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::ProfileRead,
        Scope::AuditRead,
        Scope::StaffRead,
        Scope::CasesRead,
        Scope::CasesWrite,
        Scope::RequestsRead,
        Scope::RequestsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfileRead => "profile:read",
            Self::AuditRead => "audit:read",
            Self::StaffRead => "staff:read",
            Self::CasesRead => "cases:read",
            Self::CasesWrite => "cases:write",
            Self::RequestsRead => "requests:read",
            Self::RequestsWrite => "requests:write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|x| x.as_str() == s.trim())
    }
}

/// How many family members one resident may add.
pub const FAMILY_LIMIT: usize = 8;

/// Who is acting, as the rules need to know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub roles: Vec<Role>,
    /// The staff member's unit (a department or a township/village office).
    pub unit: Option<UnitCode>,
    /// The division the unit governs (a township or village), if it is a local office; a village
    /// agent's village.
    pub division: Option<DivisionCode>,
    /// People this actor may act for: their family members.
    pub family: Vec<String>,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r.is_staff())
    }

    /// Their own data or a family member's.
    pub fn may_act_for(&self, person: &str) -> bool {
        self.user_id == person || self.family.iter().any(|f| f == person)
    }
}

/// Where a piece of county business sits, for scope checks.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// The person it belongs to (applicant, requester).
    pub owner: Option<&'a str>,
    /// The unit handling it.
    pub unit: Option<&'a UnitCode>,
    /// The division it concerns (the applicant's village or township).
    pub division: Option<&'a DivisionCode>,
}

/// Whether `actor` may see business placed at `p`.
///
/// Residents see their own and their family's; village agents also what they filed for others
/// (the caller passes them as `owner` when the agent filed it); county-wide roles see all;
/// department staff see their unit's; a township office sees its township and villages.
pub fn may_view(actor: &Actor, p: Placement<'_>) -> bool {
    if p.owner.is_some_and(|o| actor.may_act_for(o)) {
        return true;
    }
    if actor.has(Role::Supervisor) || actor.has(Role::Administrator) || actor.has(Role::Dispatcher)
    {
        return true;
    }
    let staff = actor.has(Role::WindowClerk)
        || actor.has(Role::DepartmentHandler)
        || actor.has(Role::DepartmentHead);
    if !staff {
        return false;
    }
    if let (Some(mine), Some(theirs)) = (&actor.unit, p.unit)
        && mine == theirs
    {
        return true;
    }
    match (&actor.division, p.division) {
        (Some(mine), Some(theirs)) => theirs.is_within(mine),
        _ => false,
    }
}

/// Seeing a full identity or phone number behind its mask: only staff who handle the matter,
/// and supervisors. Every reveal is audited by the caller.
pub fn may_reveal(actor: &Actor, p: Placement<'_>) -> bool {
    actor.is_staff()
        && !(actor.has(Role::Administrator) && actor.roles.len() == 1)
        && may_view(actor, p)
}

/// Managing staff accounts, roles and configuration.
pub fn may_administer(actor: &Actor) -> bool {
    actor.has(Role::Administrator)
}

/// Browsing the audit log.
pub fn may_audit(actor: &Actor) -> bool {
    actor.has(Role::Supervisor) || actor.has(Role::Administrator)
}

/// Registering village agents is the township's job (and the county administrator's).
pub fn may_register_agents(actor: &Actor, village: &DivisionCode) -> bool {
    actor.has(Role::Administrator)
        || ((actor.has(Role::DepartmentHead) || actor.has(Role::WindowClerk))
            && actor
                .division
                .as_ref()
                .is_some_and(|d| village.is_within(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn unit(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn actor(roles: &[Role], unit_code: Option<&str>, division: Option<&str>) -> Actor {
        Actor {
            user_id: "u1".into(),
            roles: roles.to_vec(),
            unit: unit_code.map(unit),
            division: division.map(code),
            family: vec!["mother".into()],
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_resident_sees_their_own_and_their_familys_business_only() {
        let me = actor(&[Role::Resident], None, None);
        let place = |owner| Placement {
            owner: Some(owner),
            unit: None,
            division: None,
        };
        assert!(may_view(&me, place("u1")));
        assert!(may_view(&me, place("mother")));
        assert!(!may_view(&me, place("neighbour")));
    }

    #[test]
    fn a_township_handler_sees_their_townships_villages_but_not_another_township() {
        let township = "130534100000";
        let handler = actor(
            &[Role::DepartmentHandler],
            Some("130534100000"),
            Some(township),
        );
        let village = code("130534100201");
        let elsewhere = code("130534101201");
        let at = |d| Placement {
            owner: Some("someone"),
            unit: None,
            division: Some(d),
        };
        assert!(may_view(&handler, at(&village)));
        assert!(!may_view(&handler, at(&elsewhere)));
    }

    #[test]
    fn a_department_handler_sees_their_units_business_only() {
        let h = actor(&[Role::DepartmentHandler], Some("130534-SPJ"), None);
        let mine = unit("130534-SPJ");
        let other = unit("130534-GAJ");
        let at = |u| Placement {
            owner: None,
            unit: Some(u),
            division: None,
        };
        assert!(may_view(&h, at(&mine)));
        assert!(!may_view(&h, at(&other)));
        assert!(may_reveal(&h, at(&mine)));
        let admin = actor(&[Role::Administrator], None, None);
        assert!(may_view(&admin, at(&other)));
        // Running the system is not handling cases: an administrator sees masks only.
        assert!(!may_reveal(&admin, at(&other)));
    }
}
