//! Who is asking: the identity services a deployment configures (key vault, SMS gateway, sign-in
//! policy) and the signed-in principal every use case receives.

use std::sync::Arc;

use tongban_domain::access::Scope;
use tongban_domain::signin::SessionPolicy;
use tongban_domain::{Actor, DivisionCode, Role, UnitCode};
use tongban_store::{UserKind, UserRecord};

use crate::sms::{DevSink, SmsGateway};
use crate::vault::Vault;
use crate::{App, AppError};

/// How people sign in here.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Staff holding any of these roles must use an authenticator app (TOTP) too.
    pub totp_roles: Vec<Role>,
    pub sessions: SessionPolicy,
    /// Show the development SMS outbox page (only with `--demo`).
    pub dev_outbox: bool,
    /// Mark cookies `Secure` (HTTPS only). Browsers treat localhost as secure, so this stays on
    /// in development too; turn it off only for plain-HTTP intranet deployments.
    pub secure_cookies: bool,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            totp_roles: vec![Role::Administrator, Role::Supervisor],
            sessions: SessionPolicy::default(),
            dev_outbox: false,
            secure_cookies: true,
        }
    }
}

/// The identity services of one deployment.
pub struct Identity {
    pub vault: Vault,
    pub sms: Arc<dyn SmsGateway>,
    pub policy: AuthPolicy,
}

impl Identity {
    /// Fresh in-memory keys, the development SMS sink and the default policy: tests and tools.
    pub fn ephemeral() -> Self {
        Self {
            vault: Vault::generate().0,
            sms: Arc::new(DevSink::default()),
            policy: AuthPolicy::default(),
        }
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser or app session; `csrf` is the token its forms must carry.
    Session { id_hash: String, csrf: String },
    /// A personal access token, limited to its scopes.
    Token { id: String, scopes: Vec<Scope> },
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub name: String,
    pub kind: UserKind,
    pub credential: Credential,
}

impl Principal {
    /// Sessions may do whatever the person may; tokens only what their scopes name.
    pub fn allows(&self, scope: Scope) -> bool {
        match &self.credential {
            Credential::Session { .. } => true,
            Credential::Token { scopes, .. } => scopes.contains(&scope),
        }
    }

    pub fn csrf(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { csrf, .. } => Some(csrf),
            Credential::Token { .. } => None,
        }
    }

    pub fn user_id(&self) -> &str {
        &self.actor.user_id
    }
}

/// The roles a stored user holds (unknown names are ignored: a role removed from the code
/// grants nothing).
pub fn roles_of(u: &UserRecord) -> Vec<Role> {
    u.roles.iter().filter_map(|r| Role::parse(r)).collect()
}

impl App {
    /// A stored user as a principal without a session: for operator tools and for work the
    /// system does in someone's name (demo history). Never reachable from a request.
    pub async fn principal_of(&self, user_id: &str) -> Result<Principal, AppError> {
        let u = self
            .store
            .user(&self.tenant, user_id)
            .await?
            .ok_or_else(|| AppError::hidden("person_not_found"))?;
        Ok(Principal {
            actor: self.actor_for(&u).await?,
            name: u.display_name.clone(),
            kind: u.kind,
            credential: Credential::Session {
                id_hash: String::new(),
                csrf: String::new(),
            },
        })
    }

    /// The actor the access rules judge: roles, unit, the division the unit or agent covers,
    /// and the family members a resident may act for.
    pub(crate) async fn actor_for(&self, u: &UserRecord) -> Result<Actor, AppError> {
        let unit = u.unit_code.as_deref().and_then(|c| UnitCode::parse(c).ok());
        let division = unit.as_ref().and_then(UnitCode::as_division).or_else(|| {
            u.division_code
                .as_deref()
                .and_then(|c| DivisionCode::parse(c).ok())
        });
        let family = if u.kind == UserKind::Resident {
            self.store
                .family_of(&self.tenant, &u.id)
                .await?
                .into_iter()
                .map(|(m, _)| m.id)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Actor {
            user_id: u.id.clone(),
            roles: roles_of(u),
            unit,
            division,
            family,
        })
    }

    /// The audit fields for an actor: who and their unit.
    pub(crate) fn audit_entry(
        &self,
        actor: &Actor,
        action: &str,
        object: &str,
        detail: &str,
    ) -> tongban_domain::audit::AuditEntry {
        tongban_domain::audit::AuditEntry {
            at_ms: self.now_ms(),
            actor: actor.user_id.clone(),
            unit: actor
                .unit
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            action: action.into(),
            object: object.into(),
            request_id: crate::request_id(),
            detail: detail.into(),
        }
    }
}
