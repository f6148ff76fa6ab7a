//! Key rotation: once a new data key is put first, every stored ciphertext is rewritten under
//! it, so the old key can be retired. Rows are handled in pages, each page in one transaction,
//! and a row changed meanwhile is left for the next run rather than overwritten.

use tongban_store::EncryptedFields;

use crate::AppError;
use crate::people::ID_NUMBER;
use crate::signin::{PHONE, TOTP_SECRET};
use crate::vault::Vault;

const PAGE: i64 = 500;

/// What a re-encryption run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RekeyReport {
    /// The key everything is now encrypted with.
    pub key_id: u8,
    pub users_checked: u64,
    pub users_rewritten: u64,
    /// Rows that changed while the run read them; run again to finish them.
    pub users_left: u64,
    /// Requests whose caller's name and number were rewritten.
    pub requests_rewritten: u64,
}

fn under_current_key(
    vault: &Vault,
    kind: &str,
    stored: &Option<String>,
) -> Result<Option<String>, AppError> {
    match stored {
        Some(c) if vault.needs_reencryption(c) => {
            Ok(Some(vault.encrypt(kind, &vault.decrypt(kind, c)?)?))
        }
        other => Ok(other.clone()),
    }
}

impl crate::App {
    /// Rewrites every user's phone number, identity number and authenticator secret, and every
    /// request's caller contact, under the
    /// vault's current key. Fails, changing nothing on that page, if a ciphertext names a key
    /// that is no longer configured.
    pub async fn reencrypt_personal_data(&self) -> Result<RekeyReport, AppError> {
        let vault = &self.identity.vault;
        let mut report = RekeyReport {
            key_id: vault.current_key_id(),
            ..RekeyReport::default()
        };
        let mut after = String::new();
        loop {
            let page = self.store.encrypted_fields_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            let mut tx = self.store.begin().await?;
            for old in &page {
                report.users_checked += 1;
                let new = EncryptedFields {
                    phone_enc: under_current_key(vault, PHONE, &old.phone_enc)?,
                    id_number_enc: under_current_key(vault, ID_NUMBER, &old.id_number_enc)?,
                    totp_secret_enc: under_current_key(vault, TOTP_SECRET, &old.totp_secret_enc)?,
                    email_enc: under_current_key(vault, crate::email::EMAIL, &old.email_enc)?,
                    ..old.clone()
                };
                if new == *old {
                    continue;
                }
                if self
                    .store
                    .replace_encrypted_fields(&mut tx, old, &new)
                    .await?
                {
                    report.users_rewritten += 1;
                } else {
                    report.users_left += 1;
                }
            }
            tx.commit().await?;
        }
        // The contact details of callers taken on the hotline or through Open311.
        let mut after = String::new();
        loop {
            let page = self.store.request_contacts_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            let mut tx = self.store.begin().await?;
            for old in &page {
                let new = tongban_store::RequestContact {
                    name_enc: under_current_key(
                        vault,
                        crate::requests::CONTACT_NAME,
                        &old.name_enc,
                    )?,
                    phone_enc: under_current_key(vault, PHONE, &old.phone_enc)?,
                    ..old.clone()
                };
                if new != *old
                    && self
                        .store
                        .replace_request_contact(&mut tx, old, &new)
                        .await?
                {
                    report.requests_rewritten += 1;
                }
            }
            tx.commit().await?;
        }
        let mut tx = self.store.begin().await?;
        let entry = tongban_domain::audit::AuditEntry {
            at_ms: self.now_ms(),
            actor: crate::audit::SYSTEM.into(),
            unit: String::new(),
            action: "keys.reencrypt".into(),
            object: format!("key:{}", report.key_id),
            request_id: crate::request_id(),
            detail: format!(
                "checked {}, rewritten {}, left {}, requests {}",
                report.users_checked,
                report.users_rewritten,
                report.users_left,
                report.requests_rewritten
            ),
        };
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(report)
    }
}
