//! Village agents (代办员): residents a township registers to apply for their neighbours, and
//! the consent each neighbour gives, by a signed paper form or by reading back an SMS code.

use sha2::{Digest, Sha256};
use tongban_domain::access;
use tongban_domain::{Actor, DivisionCode, DivisionLevel, PhoneNumber, Role};
use tongban_store::{ConsentRecord, ConsentsOf, FileRecord, UserKind, UserRecord};

use crate::error::{Refusal, RefusalKind};
use crate::signin::{PHONE, display_name, new_user_id};
use crate::vault::random_bytes;
use crate::{App, AppError};

/// Signed consent forms up to 5 MiB.
pub const MAX_SCAN_BYTES: usize = 5 * 1024 * 1024;
const CONSENT_CODES: &str = "consent";

/// How a resident gave consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentEvidence {
    /// A scan or photo of the signed paper form.
    PaperScan { bytes: Vec<u8> },
    /// The code the system sent to the resident's phone, read back to the agent.
    SmsCode { code: String },
}

/// A consent as agents and residents see it.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub id: String,
    pub agent_name: String,
    pub resident_name: String,
    pub item_code: String,
    pub item_name: String,
    pub method: String,
    pub file_id: Option<String>,
    pub recorded_at: i64,
    pub revoked: bool,
}

/// A registered village agent.
#[derive(Debug, Clone)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub phone_masked: String,
    pub village: String,
    pub village_code: String,
}

impl App {
    /// Registers a resident (found or created by mobile number) as the agent of a village.
    /// Township staff may register agents for their own villages only.
    pub async fn register_agent(
        &self,
        actor: &Actor,
        phone: &str,
        name: &str,
        village: &str,
    ) -> Result<String, AppError> {
        let village_code = DivisionCode::parse(village.trim())
            .map_err(|_| AppError::rejected("village_unknown", "village"))?;
        let catalog = self.catalog().await?;
        match catalog.division(village_code.as_str()) {
            Some(d) if d.level == DivisionLevel::Village => {}
            _ => return Err(AppError::rejected("village_unknown", "village")),
        }
        if !access::may_register_agents(actor, &village_code) {
            return Err(AppError::forbidden());
        }
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::rejected(e.code(), "phone"))?;
        let name = tongban_domain::identity::clean_person_name(name)
            .ok_or_else(|| AppError::rejected("name_invalid", "name"))?;
        let hash = self.identity.vault.blind_index(PHONE, phone.as_str());
        let now = self.now_ms();
        // Read before the transaction: one that waits for a second pooled connection can
        // starve the pool under load. A registration racing this one trips the unique index.
        let existing = self.store.user_by_phone_hash(&self.tenant, &hash).await?;
        let mut tx = self.store.begin().await?;
        let id = match existing {
            Some(u) if u.kind == UserKind::Staff => {
                return Err(AppError::rejected("agent_is_staff", "phone"));
            }
            Some(mut u) => {
                if !u.roles.iter().any(|r| r == Role::VillageAgent.as_str()) {
                    u.roles.push(Role::VillageAgent.as_str().into());
                }
                if u.display_name.is_empty() {
                    u.display_name = name;
                }
                u.division_code = Some(village_code.to_string());
                self.store
                    .update_user(&mut tx, &self.tenant, &u, now)
                    .await?;
                u.id
            }
            None => {
                let u = UserRecord {
                    id: new_user_id(),
                    kind: UserKind::Resident,
                    display_name: name,
                    phone_enc: Some(self.identity.vault.encrypt(PHONE, phone.as_str())?),
                    phone_hash: Some(hash),
                    division_code: Some(village_code.to_string()),
                    roles: vec!["resident".into(), Role::VillageAgent.as_str().into()],
                    created_by: Some(actor.user_id.clone()),
                    created_at: now,
                    ..UserRecord::default()
                };
                self.store.insert_user(&mut tx, &self.tenant, &u).await?;
                u.id
            }
        };
        let entry = self.audit_entry(
            actor,
            "agent.register",
            &format!("user:{id}"),
            &format!("village={village_code}"),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The agents an actor may see: all for county roles, their own villages for a township.
    pub async fn agents(&self, actor: &Actor) -> Result<Vec<AgentView>, AppError> {
        if !actor.is_staff() {
            return Err(AppError::forbidden());
        }
        let catalog = self.catalog().await?;
        let mut out = Vec::new();
        for u in self
            .store
            .users_with_role(&self.tenant, Role::VillageAgent.as_str())
            .await?
        {
            let Some(village) = u
                .division_code
                .as_deref()
                .and_then(|c| DivisionCode::parse(c).ok())
            else {
                continue;
            };
            let place = tongban_domain::Placement {
                owner: None,
                unit: None,
                division: Some(&village),
            };
            if !access::may_view(actor, place) && !access::may_register_agents(actor, &village) {
                continue;
            }
            let phone = u
                .phone_enc
                .as_deref()
                .and_then(|e| self.identity.vault.decrypt(PHONE, e).ok())
                .map(|p| tongban_domain::identity::mask_phone(&p))
                .unwrap_or_default();
            out.push(AgentView {
                name: display_name(&u, &self.identity.vault),
                phone_masked: phone,
                village: catalog
                    .division(village.as_str())
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                village_code: village.to_string(),
                id: u.id,
            });
        }
        Ok(out)
    }

    /// Finds the resident an agent acts for, by mobile number.
    async fn resident_by_phone(&self, phone: &str) -> Result<(UserRecord, PhoneNumber), AppError> {
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::rejected(e.code(), "phone"))?;
        let hash = self.identity.vault.blind_index(PHONE, phone.as_str());
        let u = self
            .store
            .user_by_phone_hash(&self.tenant, &hash)
            .await?
            .filter(|u| u.kind == UserKind::Resident)
            .ok_or_else(|| AppError::rejected("resident_unknown", "phone"))?;
        Ok((u, phone))
    }

    fn require_agent(actor: &Actor) -> Result<(), AppError> {
        if actor.has(Role::VillageAgent) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    /// Sends the resident a code they read back to the agent to confirm consent for one item.
    pub async fn send_consent_code(
        &self,
        actor: &Actor,
        phone: &str,
        item_code: &str,
        ip: &str,
    ) -> Result<(), AppError> {
        Self::require_agent(actor)?;
        let catalog = self.catalog().await?;
        let item = catalog
            .item(item_code.trim())
            .ok_or_else(|| AppError::rejected("item_unknown", "item"))?
            .clone();
        let (_, phone) = self.resident_by_phone(phone).await?;
        let key = self
            .identity
            .vault
            .blind_index(CONSENT_CODES, phone.as_str());
        let code = self.issue_code(&key, ip).await?;
        let text = format!(
            "【通办】代办员 {} 请求代您办理“{}”。如同意，请把验证码 {code} 告诉代办员，5 分钟内有效。不同意请勿告知。",
            actor_name(self, actor).await,
            item.name
        );
        self.identity.sms.send(&phone, &text).await.map_err(|e| {
            tracing::warn!(error = %e, "consent code not sent");
            AppError::from(Refusal::new(RefusalKind::Unavailable, "sms_unavailable"))
        })
    }

    /// Records a resident's consent for the agent to act for them on one item.
    pub async fn record_consent(
        &self,
        actor: &Actor,
        phone: &str,
        item_code: &str,
        evidence: ConsentEvidence,
    ) -> Result<String, AppError> {
        Self::require_agent(actor)?;
        let catalog = self.catalog().await?;
        let item_code = item_code.trim();
        if catalog.item(item_code).is_none() {
            return Err(AppError::rejected("item_unknown", "item"));
        }
        let (resident, phone) = self.resident_by_phone(phone).await?;
        if resident.id == actor.user_id {
            return Err(AppError::rejected("consent_for_self", "phone"));
        }
        let now = self.now_ms();
        let (method, file, otp) = match evidence {
            ConsentEvidence::PaperScan { bytes } => {
                if bytes.is_empty() {
                    return Err(AppError::rejected("scan_missing", "scan"));
                }
                if bytes.len() > MAX_SCAN_BYTES {
                    return Err(Refusal::new(RefusalKind::Invalid, "scan_too_large")
                        .on("scan")
                        .with("mb", MAX_SCAN_BYTES / 1024 / 1024)
                        .into());
                }
                // Judged by the bytes, never the name.
                let media_type = tongban_domain::upload::sniff(&bytes)
                    .map(tongban_domain::upload::FileKind::media_type)
                    .ok_or_else(|| AppError::rejected("scan_type", "scan"))?;
                let file = FileRecord {
                    id: hex::encode(random_bytes::<12>()),
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    media_type: media_type.into(),
                    bytes,
                    created_by: actor.user_id.clone(),
                    created_at: now,
                };
                ("paper_scan", Some(file), None)
            }
            ConsentEvidence::SmsCode { code } => {
                let key = self
                    .identity
                    .vault
                    .blind_index(CONSENT_CODES, phone.as_str());
                let otp = self.judge_code(&key, &code).await?;
                ("sms_code", None, Some(otp))
            }
        };
        let consent = ConsentRecord {
            id: hex::encode(random_bytes::<12>()),
            agent_id: actor.user_id.clone(),
            resident_id: resident.id.clone(),
            item_code: item_code.to_owned(),
            method: method.into(),
            file_id: file.as_ref().map(|f| f.id.clone()),
            recorded_at: now,
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        if let Some(otp) = otp
            && !self
                .store
                .use_otp(&mut tx, &self.tenant, &otp.id, now)
                .await?
        {
            return Err(AppError::rejected("code_used", "code"));
        }
        if let Some(f) = &file {
            self.store.insert_file(&mut tx, &self.tenant, f).await?;
        }
        self.store
            .insert_consent(&mut tx, &self.tenant, &consent)
            .await?;
        let entry = self.audit_entry(
            actor,
            "consent.record",
            &format!("consent:{}", consent.id),
            &format!(
                "resident=user:{}; item={item_code}; method={method}",
                resident.id
            ),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(consent.id)
    }

    /// Consents recorded by the agent, or given by the resident (the actor themselves).
    pub async fn consents(
        &self,
        actor: &Actor,
        as_agent: bool,
    ) -> Result<Vec<ConsentView>, AppError> {
        let of = if as_agent {
            Self::require_agent(actor)?;
            ConsentsOf::Agent(&actor.user_id)
        } else {
            ConsentsOf::Resident(&actor.user_id)
        };
        let records = self.store.consents(&self.tenant, of).await?;
        self.consent_views(records).await
    }

    async fn consent_views(
        &self,
        records: Vec<ConsentRecord>,
    ) -> Result<Vec<ConsentView>, AppError> {
        let catalog = self.catalog().await?;
        let mut out = Vec::with_capacity(records.len());
        for c in records {
            let name_of = |u: Option<UserRecord>| {
                u.map(|u| display_name(&u, &self.identity.vault))
                    .unwrap_or_default()
            };
            out.push(ConsentView {
                agent_name: name_of(self.store.user(&self.tenant, &c.agent_id).await?),
                resident_name: name_of(self.store.user(&self.tenant, &c.resident_id).await?),
                item_name: catalog
                    .item(&c.item_code)
                    .map(|i| i.name.clone())
                    .unwrap_or_default(),
                id: c.id,
                item_code: c.item_code,
                method: c.method,
                file_id: c.file_id,
                recorded_at: c.recorded_at,
                revoked: c.revoked_at.is_some(),
            });
        }
        Ok(out)
    }

    /// A resident withdraws a consent they gave.
    pub async fn revoke_consent(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .revoke_consent(&mut tx, &self.tenant, id, &actor.user_id, self.now_ms())
            .await?
        {
            return Err(AppError::hidden("consent_not_found"));
        }
        let entry = self.audit_entry(actor, "consent.revoke", &format!("consent:{id}"), "");
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The scan behind a consent, for the agent who recorded it, the resident who gave it, and
    /// staff who may see that resident.
    pub async fn consent_scan(
        &self,
        actor: &Actor,
        consent_id: &str,
    ) -> Result<FileRecord, AppError> {
        let hidden = || AppError::hidden("consent_not_found");
        let c = self
            .store
            .consent(&self.tenant, consent_id)
            .await?
            .ok_or_else(hidden)?;
        let allowed = c.agent_id == actor.user_id
            || actor.may_act_for(&c.resident_id)
            || (actor.is_staff() && self.person(actor, &c.resident_id).await.is_ok());
        if !allowed {
            return Err(hidden());
        }
        let file_id = c.file_id.ok_or_else(hidden)?;
        self.store
            .file(&self.tenant, &file_id)
            .await?
            .ok_or_else(hidden)
    }
}

async fn actor_name(app: &App, actor: &Actor) -> String {
    match app.store.user(&app.tenant, &actor.user_id).await {
        Ok(Some(u)) => display_name(&u, &app.identity.vault),
        _ => String::new(),
    }
}
