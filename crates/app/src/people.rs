//! People: a resident's real-name profile and family, staff accounts, and the staff view of a
//! person with its masked numbers and audited reveals.

use tongban_domain::access::{self, FAMILY_LIMIT};
use tongban_domain::identity::{clean_person_name, mask_id_number, mask_phone};
use tongban_domain::password::check_password;
use tongban_domain::{Actor, DivisionCode, Placement, ResidentId, Role, UnitCode};
use tongban_store::{UserKind, UserRecord};

use crate::error::{Refusal, RefusalKind};
use crate::identity::{Principal, roles_of};
use crate::signin::{PHONE, display_name, hash_password, new_user_id};
use crate::{App, AppError};

pub(crate) const ID_NUMBER: &str = "id_number";

/// A resident's own view of their account.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub phone_masked: String,
    /// The address notifications also go to, as the person gave it (shown only to them).
    pub email: Option<String>,
    pub id_number_masked: Option<String>,
    pub real_name: bool,
    pub roles: Vec<Role>,
    pub unit: Option<String>,
    pub division: Option<String>,
    pub family: Vec<FamilyMember>,
}

#[derive(Debug, Clone)]
pub struct FamilyMember {
    pub id: String,
    pub relation: String,
    pub name: String,
    pub id_number_masked: String,
}

/// A person as staff see them: numbers masked unless revealed.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub phone_masked: Option<String>,
    pub id_number_masked: Option<String>,
    pub division: Option<String>,
    pub roles: Vec<Role>,
    pub may_reveal: bool,
}

/// Which personal number to reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalField {
    Phone,
    IdNumber,
}

impl PersonalField {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "phone" => Some(Self::Phone),
            "id_number" => Some(Self::IdNumber),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::IdNumber => "id_number",
        }
    }
}

/// A staff account as administrators manage it.
#[derive(Debug, Clone)]
pub struct StaffAccount {
    pub id: String,
    pub username: String,
    pub name: String,
    pub unit: Option<String>,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub locked: bool,
    pub totp: bool,
}

/// What an administrator gives to create a staff account.
#[derive(Debug, Clone, Default)]
pub struct NewStaff {
    pub username: String,
    pub name: String,
    pub unit: String,
    pub roles: Vec<String>,
    pub password: String,
}

/// Changes to a staff account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct StaffChange {
    pub unit: Option<String>,
    pub roles: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
    pub reset_totp: bool,
}

/// The date in Beijing, which decides whether a birth date lies in the future.
pub(crate) fn today(now_ms: i64) -> chrono::NaiveDate {
    const BEIJING_OFFSET_MS: i64 = 8 * 3600 * 1000;
    chrono::DateTime::from_timestamp_millis(now_ms + BEIJING_OFFSET_MS)
        .unwrap_or_default()
        .date_naive()
}

fn username_ok(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
        && u.as_bytes()[0].is_ascii_lowercase()
}

impl App {
    pub(crate) async fn user_or_hidden(&self, id: &str) -> Result<UserRecord, AppError> {
        self.store
            .user(&self.tenant, id)
            .await?
            .ok_or_else(|| AppError::hidden("person_not_found"))
    }

    pub(crate) fn decrypt_opt(
        &self,
        kind: &str,
        enc: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        enc.map(|e| self.identity.vault.decrypt(kind, e))
            .transpose()
            .map_err(AppError::from)
    }

    /// The signed-in person's own profile with their family.
    pub async fn profile(&self, p: &Principal) -> Result<Profile, AppError> {
        let u = self.user_or_hidden(p.user_id()).await?;
        let phone = self.decrypt_opt(PHONE, u.phone_enc.as_deref())?;
        let id_number = self.decrypt_opt(ID_NUMBER, u.id_number_enc.as_deref())?;
        let mut family = Vec::new();
        for (m, relation) in self.store.family_of(&self.tenant, &u.id).await? {
            let idn = self.decrypt_opt(ID_NUMBER, m.id_number_enc.as_deref())?;
            family.push(FamilyMember {
                id: m.id,
                relation,
                name: m.display_name,
                id_number_masked: idn.as_deref().map(mask_id_number).unwrap_or_default(),
            });
        }
        let catalog = self.catalog().await?;
        Ok(Profile {
            name: display_name(&u, &self.identity.vault),
            phone_masked: phone.as_deref().map(mask_phone).unwrap_or_default(),
            email: self.decrypt_opt(crate::email::EMAIL, u.email_enc.as_deref())?,
            id_number_masked: id_number.as_deref().map(mask_id_number),
            real_name: u.real_name_at.is_some(),
            roles: roles_of(&u),
            unit: u
                .unit_code
                .as_deref()
                .map(|c| catalog.unit_name(c).to_owned()),
            division: u
                .division_code
                .as_deref()
                .and_then(|c| catalog.division(c))
                .map(|d| d.name.clone()),
            id: u.id,
            family,
        })
    }

    /// Validates a name and an 18-digit identity number and returns the number.
    fn check_identity(
        &self,
        name: &str,
        id_number: &str,
    ) -> Result<(String, ResidentId), AppError> {
        let name =
            clean_person_name(name).ok_or_else(|| AppError::rejected("name_invalid", "name"))?;
        let id = ResidentId::parse(id_number, today(self.now_ms()))
            .map_err(|e| AppError::rejected(e.code(), "id_number"))?;
        Ok((name, id))
    }

    /// Completes the signed-in resident's real-name details. The number is stored encrypted
    /// and may belong to only one account.
    pub async fn complete_real_name(
        &self,
        p: &Principal,
        name: &str,
        id_number: &str,
        village: Option<&str>,
    ) -> Result<(), AppError> {
        let (name, id) = self.check_identity(name, id_number)?;
        let village = match village.map(str::trim).filter(|v| !v.is_empty()) {
            Some(code) => {
                let catalog = self.catalog().await?;
                if catalog.division(code).is_none() {
                    return Err(AppError::rejected("village_unknown", "village"));
                }
                Some(code.to_owned())
            }
            None => None,
        };
        let mut u = self.user_or_hidden(p.user_id()).await?;
        if u.kind != UserKind::Resident {
            return Err(AppError::forbidden());
        }
        let hash = self.identity.vault.blind_index(ID_NUMBER, id.as_str());
        let others = self
            .store
            .users_by_id_number_hash(&self.tenant, &hash)
            .await?;
        if others.iter().any(|o| o.id != u.id) {
            return Err(Refusal::new(RefusalKind::Conflict, "id_number_taken")
                .on("id_number")
                .into());
        }
        u.display_name = name;
        u.id_number_enc = Some(self.identity.vault.encrypt(ID_NUMBER, id.as_str())?);
        u.id_number_hash = Some(hash);
        u.real_name_at = Some(self.now_ms());
        if village.is_some() {
            u.division_code = village;
        }
        let mut tx = self.store.begin().await?;
        self.store
            .update_user(&mut tx, &self.tenant, &u, self.now_ms())
            .await?;
        let entry = self.audit_entry(&p.actor, "user.real_name", &format!("user:{}", u.id), "");
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a family member the resident may act for (an elderly parent, a child), up to
    /// [`FAMILY_LIMIT`]. The member is a person of their own, with a real name and number.
    pub async fn add_family_member(
        &self,
        p: &Principal,
        relation: &str,
        name: &str,
        id_number: &str,
    ) -> Result<String, AppError> {
        let relation = relation.trim();
        if relation.is_empty() || relation.chars().count() > 10 {
            return Err(AppError::rejected("relation_invalid", "relation"));
        }
        let (name, id) = self.check_identity(name, id_number)?;
        let owner = self.user_or_hidden(p.user_id()).await?;
        if owner.kind != UserKind::Resident {
            return Err(AppError::forbidden());
        }
        if owner.real_name_at.is_none() {
            return Err(Refusal::new(RefusalKind::Conflict, "real_name_first").into());
        }
        let family = self.store.family_of(&self.tenant, &owner.id).await?;
        if family.len() >= FAMILY_LIMIT {
            return Err(Refusal::new(RefusalKind::Conflict, "family_full")
                .with("limit", FAMILY_LIMIT)
                .into());
        }
        let hash = self.identity.vault.blind_index(ID_NUMBER, id.as_str());
        if owner.id_number_hash.as_deref() == Some(hash.as_str()) {
            return Err(AppError::rejected("family_is_self", "id_number"));
        }
        let known = self
            .store
            .users_by_id_number_hash(&self.tenant, &hash)
            .await?;
        if known
            .iter()
            .any(|k| family.iter().any(|(f, _)| f.id == k.id))
        {
            return Err(Refusal::new(RefusalKind::Conflict, "family_duplicate")
                .on("id_number")
                .into());
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        // A person already known by this number (who signed in themselves, or whom another
        // relative added) is linked, not duplicated.
        let member_id = match known.into_iter().next() {
            Some(k) => k.id,
            None => {
                let m = UserRecord {
                    id: new_user_id(),
                    kind: UserKind::Resident,
                    display_name: name,
                    id_number_enc: Some(self.identity.vault.encrypt(ID_NUMBER, id.as_str())?),
                    id_number_hash: Some(hash),
                    real_name_at: Some(now),
                    division_code: owner.division_code.clone(),
                    roles: vec!["resident".into()],
                    created_by: Some(owner.id.clone()),
                    created_at: now,
                    ..UserRecord::default()
                };
                self.store.insert_user(&mut tx, &self.tenant, &m).await?;
                m.id
            }
        };
        self.store
            .add_family_link(&mut tx, &self.tenant, &owner.id, &member_id, relation, now)
            .await?;
        let entry = self.audit_entry(
            &p.actor,
            "family.add",
            &format!("user:{member_id}"),
            &format!("relation={relation}"),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(member_id)
    }

    pub async fn remove_family_member(&self, p: &Principal, member: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .remove_family_link(&mut tx, &self.tenant, p.user_id(), member)
            .await?
        {
            return Err(AppError::hidden("person_not_found"));
        }
        let entry = self.audit_entry(&p.actor, "family.remove", &format!("user:{member}"), "");
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    fn placement_of<'a>(u: &'a UserRecord, division: Option<&'a DivisionCode>) -> Placement<'a> {
        Placement {
            owner: Some(&u.id),
            unit: None,
            division,
        }
    }

    /// A person as the actor may see them, numbers masked. Someone they may not see is
    /// "not found", exactly like someone who does not exist.
    pub async fn person(&self, actor: &Actor, id: &str) -> Result<PersonView, AppError> {
        let u = self.user_or_hidden(id).await?;
        let division = u
            .division_code
            .as_deref()
            .and_then(|c| DivisionCode::parse(c).ok());
        let place = Self::placement_of(&u, division.as_ref());
        // The staff view of a person is for staff; residents see themselves on their own page.
        if !actor.is_staff() || u.kind != UserKind::Resident || !access::may_view(actor, place) {
            return Err(AppError::hidden("person_not_found"));
        }
        let phone = self.decrypt_opt(PHONE, u.phone_enc.as_deref())?;
        let idn = self.decrypt_opt(ID_NUMBER, u.id_number_enc.as_deref())?;
        let catalog = self.catalog().await?;
        Ok(PersonView {
            name: display_name(&u, &self.identity.vault),
            phone_masked: phone.as_deref().map(mask_phone),
            id_number_masked: idn.as_deref().map(mask_id_number),
            division: u
                .division_code
                .as_deref()
                .and_then(|c| catalog.division(c))
                .map(|d| d.name.clone()),
            roles: roles_of(&u),
            may_reveal: access::may_reveal(actor, place),
            id: u.id,
        })
    }

    /// Shows one personal number in full to a permitted staff member, and records that they saw
    /// it. The audit entry is written before the number is returned.
    pub async fn reveal(
        &self,
        actor: &Actor,
        id: &str,
        field: PersonalField,
    ) -> Result<String, AppError> {
        let u = self.user_or_hidden(id).await?;
        let division = u
            .division_code
            .as_deref()
            .and_then(|c| DivisionCode::parse(c).ok());
        let place = Self::placement_of(&u, division.as_ref());
        if !actor.is_staff() || u.kind != UserKind::Resident || !access::may_view(actor, place) {
            return Err(AppError::hidden("person_not_found"));
        }
        if !access::may_reveal(actor, place) {
            return Err(AppError::forbidden());
        }
        let value = match field {
            PersonalField::Phone => self.decrypt_opt(PHONE, u.phone_enc.as_deref())?,
            PersonalField::IdNumber => self.decrypt_opt(ID_NUMBER, u.id_number_enc.as_deref())?,
        }
        .ok_or_else(|| AppError::hidden("value_not_recorded"))?;
        let mut tx = self.store.begin().await?;
        let entry = self.audit_entry(
            actor,
            "person.reveal",
            &format!("user:{}", u.id),
            field.as_str(),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Finds a resident by mobile or identity number, for staff who may see them.
    pub async fn find_person(&self, actor: &Actor, number: &str) -> Result<PersonView, AppError> {
        if !actor.is_staff() {
            return Err(AppError::forbidden());
        }
        let number = number.trim();
        let found = if let Ok(phone) = tongban_domain::PhoneNumber::parse(number) {
            let hash = self.identity.vault.blind_index(PHONE, phone.as_str());
            self.store.user_by_phone_hash(&self.tenant, &hash).await?
        } else {
            let hash = self
                .identity
                .vault
                .blind_index(ID_NUMBER, &number.to_ascii_uppercase());
            self.store
                .users_by_id_number_hash(&self.tenant, &hash)
                .await?
                .into_iter()
                .next()
        };
        match found {
            Some(u) => self.person(actor, &u.id).await,
            None => Err(AppError::hidden("person_not_found")),
        }
    }

    fn require_admin(actor: &Actor) -> Result<(), AppError> {
        if access::may_administer(actor) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    async fn parse_staff_fields(
        &self,
        unit: &str,
        roles: &[String],
    ) -> Result<(String, Vec<String>), AppError> {
        let unit = unit.trim();
        let catalog = self.catalog().await?;
        if UnitCode::parse(unit).is_err() || catalog.unit(unit).is_none() {
            return Err(AppError::rejected("unit_unknown", "unit"));
        }
        let mut parsed = Vec::new();
        for r in roles {
            match Role::parse(r) {
                Some(role) if role.is_staff() => parsed.push(role),
                _ => return Err(AppError::rejected("role_invalid", "roles")),
            }
        }
        if parsed.is_empty() {
            return Err(AppError::rejected("roles_missing", "roles"));
        }
        parsed.sort();
        parsed.dedup();
        Ok((
            unit.to_owned(),
            parsed.iter().map(|r| r.as_str().to_owned()).collect(),
        ))
    }

    /// Creates a staff account. `actor` is the administrator (or the command line's operator).
    pub async fn create_staff(&self, actor: &Actor, new: &NewStaff) -> Result<String, AppError> {
        Self::require_admin(actor)?;
        let username = new.username.trim().to_lowercase();
        if !username_ok(&username) {
            return Err(AppError::rejected("username_invalid", "username"));
        }
        let name = clean_person_name(&new.name)
            .ok_or_else(|| AppError::rejected("name_invalid", "name"))?;
        let (unit, roles) = self.parse_staff_fields(&new.unit, &new.roles).await?;
        check_password(&new.password, &username)
            .map_err(|e| AppError::rejected(e.code(), "password"))?;
        if self
            .store
            .user_by_username(&self.tenant, &username)
            .await?
            .is_some()
        {
            return Err(Refusal::new(RefusalKind::Conflict, "username_taken")
                .on("username")
                .into());
        }
        let password_hash = {
            let pw = new.password.clone();
            tokio::task::spawn_blocking(move || hash_password(&pw))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??
        };
        let now = self.now_ms();
        let u = UserRecord {
            id: new_user_id(),
            kind: UserKind::Staff,
            username: Some(username.clone()),
            display_name: name,
            password_hash: Some(password_hash),
            unit_code: Some(unit),
            roles,
            created_by: Some(actor.user_id.clone()),
            created_at: now,
            ..UserRecord::default()
        };
        let mut tx = self.store.begin().await?;
        self.store.insert_user(&mut tx, &self.tenant, &u).await?;
        let entry = self.audit_entry(
            actor,
            "staff.create",
            &format!("user:{}", u.id),
            &format!("username={username}; roles={}", u.roles.join(",")),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(u.id)
    }

    pub async fn staff_accounts(&self, actor: &Actor) -> Result<Vec<StaffAccount>, AppError> {
        Self::require_admin(actor)?;
        let now = self.now_ms();
        Ok(self
            .store
            .staff(&self.tenant)
            .await?
            .into_iter()
            .map(|u| StaffAccount {
                roles: roles_of(&u),
                locked: u.locked_until.is_some_and(|t| t > now),
                totp: u.totp_confirmed_at.is_some(),
                id: u.id,
                username: u.username.unwrap_or_default(),
                name: u.display_name,
                unit: u.unit_code,
                disabled: u.disabled,
            })
            .collect())
    }

    /// Changes a staff account. Disabling it, or resetting its password or authenticator,
    /// also ends its sessions.
    pub async fn change_staff(
        &self,
        actor: &Actor,
        id: &str,
        change: &StaffChange,
    ) -> Result<(), AppError> {
        Self::require_admin(actor)?;
        let mut u = self
            .store
            .user(&self.tenant, id)
            .await?
            .filter(|u| u.kind == UserKind::Staff)
            .ok_or_else(|| AppError::hidden("staff_not_found"))?;
        let mut what = Vec::new();
        if change.unit.is_some() || change.roles.is_some() {
            let unit = change
                .unit
                .clone()
                .or(u.unit_code.clone())
                .unwrap_or_default();
            let roles = change.roles.clone().unwrap_or_else(|| u.roles.clone());
            let (unit, roles) = self.parse_staff_fields(&unit, &roles).await?;
            if id == actor.user_id && !roles.iter().any(|r| r == Role::Administrator.as_str()) {
                return Err(Refusal::new(RefusalKind::Conflict, "cannot_demote_self").into());
            }
            what.push(format!("unit={unit}; roles={}", roles.join(",")));
            u.unit_code = Some(unit);
            u.roles = roles;
        }
        let mut end_sessions = false;
        if let Some(disabled) = change.disabled {
            if disabled && id == actor.user_id {
                return Err(Refusal::new(RefusalKind::Conflict, "cannot_disable_self").into());
            }
            u.disabled = disabled;
            end_sessions |= disabled;
            what.push(format!("disabled={disabled}"));
        }
        if let Some(pw) = &change.password {
            check_password(pw, u.username.as_deref().unwrap_or_default())
                .map_err(|e| AppError::rejected(e.code(), "password"))?;
            let pw = pw.clone();
            u.password_hash = Some(
                tokio::task::spawn_blocking(move || hash_password(&pw))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))??,
            );
            u.failed_logins = 0;
            u.locked_until = None;
            end_sessions = true;
            what.push("password reset".into());
        }
        if change.reset_totp {
            u.totp_secret_enc = None;
            u.totp_confirmed_at = None;
            u.totp_last_step = None;
            end_sessions = true;
            what.push("authenticator reset".into());
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        self.store
            .update_user(&mut tx, &self.tenant, &u, now)
            .await?;
        if end_sessions {
            self.store
                .revoke_sessions_of(&mut tx, &self.tenant, &u.id, now)
                .await?;
        }
        let entry = self.audit_entry(
            actor,
            "staff.change",
            &format!("user:{}", u.id),
            &what.join("; "),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercase_words() {
        assert!(username_ok("zhang.wei"));
        assert!(username_ok("clerk-01"));
        assert!(!username_ok("1clerk"));
        assert!(!username_ok("Zhang"));
        assert!(!username_ok("ab"));
        assert!(!username_ok("张伟"));
    }
}
