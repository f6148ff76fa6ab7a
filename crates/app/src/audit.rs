//! Verifying the audit trail: every entry's hash must follow from its content and from the
//! entry before it, up to the head the store records.

use tongban_domain::audit::{ChainBreak, ChainVerifier};

use crate::{App, AppError};

/// The actor the server itself records (imports at start-up, scheduled work).
pub const SYSTEM: &str = "system";

const BATCH: i64 = 1000;

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    Intact { entries: u64 },
    Broken(ChainBreak),
}

impl App {
    /// Reads the tenant's whole trail in batches and checks every link.
    pub async fn verify_audit(&self) -> Result<AuditVerdict, AppError> {
        // The head is read first: entries appended while the check runs lie beyond it and are
        // left for the next check.
        let (head_seq, head_hash) = self.store.audit_head(&self.tenant).await?;
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        while after < head_seq {
            let batch = self
                .store
                .audit_chain_batch(&self.tenant, after, BATCH.min(head_seq - after))
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.record.seq;
            for entry in &batch {
                if let Err(broken) = verifier.push(&entry.record, &entry.prev_hash, &entry.hash) {
                    return Ok(AuditVerdict::Broken(broken));
                }
            }
        }
        Ok(match verifier.finish(head_seq, &head_hash) {
            Ok(entries) => AuditVerdict::Intact { entries },
            Err(broken) => AuditVerdict::Broken(broken),
        })
    }
}

impl App {
    /// A page of the audit trail, newest first, for supervisors and administrators.
    pub async fn audit_log(
        &self,
        actor: &tongban_domain::Actor,
        filter: &crate::AuditFilter,
        limit: i64,
    ) -> Result<Vec<tongban_store::StoredAudit>, AppError> {
        if !tongban_domain::access::may_audit(actor) {
            return Err(AppError::forbidden());
        }
        Ok(self
            .store
            .audit_entries(&self.tenant, filter, limit.clamp(1, 200))
            .await?)
    }
}
