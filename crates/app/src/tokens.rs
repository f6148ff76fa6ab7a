//! Personal access tokens: staff integrations call the API with a bearer token that is scoped,
//! may expire, and can be revoked at any time.

use tongban_domain::access::Scope;
use tongban_store::{ApiTokenRecord, UserKind};

use crate::error::{Refusal, RefusalKind};
use crate::identity::{Credential, Principal};
use crate::signin::display_name;
use crate::vault::{random_bytes, random_token, token_hash};
use crate::{App, AppError};

/// Every personal access token starts with this, so one pasted in the wrong place is
/// recognisable (and secret scanners can find it).
pub const TOKEN_PREFIX: &str = "tbp_";
const MAX_TOKEN_DAYS: i64 = 366;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A token as its owner sees it afterwards (the secret is shown once, at creation).
#[derive(Debug, Clone)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

impl From<ApiTokenRecord> for TokenView {
    fn from(t: ApiTokenRecord) -> Self {
        Self {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked: t.revoked_at.is_some(),
        }
    }
}

impl App {
    /// Creates a token for the signed-in staff member; returns its id and the secret.
    pub async fn create_api_token(
        &self,
        p: &Principal,
        name: &str,
        scopes: &[String],
        days: Option<i64>,
    ) -> Result<(String, String), AppError> {
        if p.kind != UserKind::Staff || !matches!(p.credential, Credential::Session { .. }) {
            return Err(AppError::forbidden());
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::rejected("token_name_invalid", "name"));
        }
        let mut parsed = Vec::new();
        for s in scopes {
            let scope =
                Scope::parse(s).ok_or_else(|| AppError::rejected("scope_invalid", "scopes"))?;
            if !parsed.contains(&scope) {
                parsed.push(scope);
            }
        }
        if parsed.is_empty() {
            return Err(AppError::rejected("scopes_missing", "scopes"));
        }
        let days = match days {
            None => None,
            Some(d) if (1..=MAX_TOKEN_DAYS).contains(&d) => Some(d),
            Some(_) => {
                return Err(Refusal::new(RefusalKind::Invalid, "token_days_invalid")
                    .on("days")
                    .with("max", MAX_TOKEN_DAYS)
                    .into());
            }
        };
        let now = self.now_ms();
        let secret = format!("{TOKEN_PREFIX}{}", random_token());
        let record = ApiTokenRecord {
            id: hex::encode(random_bytes::<6>()),
            id_hash: token_hash(&secret),
            user_id: p.user_id().to_owned(),
            name: name.to_owned(),
            scopes: parsed.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: now,
            expires_at: days.map(|d| now + d * DAY_MS),
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .insert_api_token(&mut tx, &self.tenant, &record)
            .await?;
        let entry = self.audit_entry(
            &p.actor,
            "token.create",
            &format!("token:{}", record.id),
            &format!("scopes={}", record.scopes.join(",")),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok((record.id, secret))
    }

    pub async fn api_tokens(&self, p: &Principal) -> Result<Vec<TokenView>, AppError> {
        Ok(self
            .store
            .api_tokens_of(&self.tenant, p.user_id())
            .await?
            .into_iter()
            .map(TokenView::from)
            .collect())
    }

    pub async fn revoke_api_token(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .revoke_api_token(&mut tx, &self.tenant, p.user_id(), id, self.now_ms())
            .await?
        {
            return Err(AppError::hidden("token_not_found"));
        }
        let entry = self.audit_entry(&p.actor, "token.revoke", &format!("token:{id}"), "");
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person behind an `Authorization: Bearer` value: a personal access token, or the
    /// session token an app received at sign-in.
    pub async fn bearer_principal(&self, bearer: &str) -> Result<Principal, AppError> {
        if !bearer.starts_with(TOKEN_PREFIX) {
            return match self.session_lookup(bearer).await? {
                crate::SessionLookup::SignedIn(p) => Ok(p),
                crate::SessionLookup::Ended(_) => Err(AppError::unauthenticated("session_ended")),
                _ => Err(AppError::unauthenticated("token_invalid")),
            };
        }
        let id_hash = token_hash(bearer);
        let (token, user) = self
            .store
            .api_token_and_user(&self.tenant, &id_hash)
            .await?
            .ok_or_else(|| AppError::unauthenticated("token_invalid"))?;
        let now = self.now_ms();
        if token.revoked_at.is_some() {
            return Err(AppError::unauthenticated("token_revoked"));
        }
        if token.expires_at.is_some_and(|t| t <= now) {
            return Err(AppError::unauthenticated("token_expired"));
        }
        let user = user
            .filter(|u| !u.disabled)
            .ok_or_else(|| AppError::unauthenticated("token_invalid"))?;
        if token.last_used_at.is_none_or(|t| now - t >= 60_000) {
            self.store.touch_api_token(&id_hash, now).await?;
        }
        Ok(Principal {
            actor: self.actor_for(&user).await?,
            name: display_name(&user, &self.identity.vault),
            kind: user.kind,
            credential: Credential::Token {
                id: token.id,
                scopes: token
                    .scopes
                    .iter()
                    .filter_map(|s| Scope::parse(s))
                    .collect(),
            },
        })
    }
}
