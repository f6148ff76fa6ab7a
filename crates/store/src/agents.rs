//! Village agents' consent records and the scanned files that back them.

use crate::db::{self, Row};
use tongban_domain::Tenant;

use crate::{Store, StoreError, Tx};

/// A stored file (a scan of a signed form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: String,
    pub sha256: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub created_by: String,
    pub created_at: i64,
}

/// A resident's consent for an agent to act for them on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub id: String,
    pub agent_id: String,
    pub resident_id: String,
    pub item_code: String,
    /// `paper_scan` or `sms_code`.
    pub method: String,
    pub file_id: Option<String>,
    pub recorded_at: i64,
    pub revoked_at: Option<i64>,
}

/// Whose consents to list.
#[derive(Debug, Clone, Copy)]
pub enum ConsentsOf<'a> {
    Agent(&'a str),
    Resident(&'a str),
}

fn consent_from_row(r: &Row) -> Result<ConsentRecord, StoreError> {
    Ok(ConsentRecord {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        resident_id: r.try_get("resident_id")?,
        item_code: r.try_get("item_code")?,
        method: r.try_get("method")?,
        file_id: r.try_get("file_id")?,
        recorded_at: r.try_get("recorded_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    pub async fn insert_file(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        f: &FileRecord,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO files (tenant, id, sha256, media_type, size, bytes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_str())
        .bind(&f.id)
        .bind(&f.sha256)
        .bind(&f.media_type)
        .bind(f.bytes.len() as i64)
        .bind(f.bytes.clone())
        .bind(&f.created_by)
        .bind(f.created_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn file(&self, tenant: &Tenant, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let row = db::query(
            "SELECT id, sha256, media_type, bytes, created_by, created_at FROM files \
             WHERE tenant = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(FileRecord {
                id: r.try_get("id")?,
                sha256: r.try_get("sha256")?,
                media_type: r.try_get("media_type")?,
                bytes: r.try_get("bytes")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn insert_consent(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        c: &ConsentRecord,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO agent_consents (tenant, id, agent_id, resident_id, item_code, method, file_id, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_str())
        .bind(&c.id)
        .bind(&c.agent_id)
        .bind(&c.resident_id)
        .bind(&c.item_code)
        .bind(&c.method)
        .bind(&c.file_id)
        .bind(c.recorded_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn consent(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        let row = db::query("SELECT * FROM agent_consents WHERE tenant = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    /// Consents recorded by an agent or given by a resident, newest first.
    pub async fn consents(
        &self,
        tenant: &Tenant,
        of: ConsentsOf<'_>,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let (column, id) = match of {
            ConsentsOf::Agent(id) => ("agent_id", id),
            ConsentsOf::Resident(id) => ("resident_id", id),
        };
        let rows = db::query(format!(
            "SELECT * FROM agent_consents WHERE tenant = $1 AND {column} = $2 \
             ORDER BY recorded_at DESC, id DESC"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(consent_from_row).collect()
    }

    /// Withdraws a consent; `false` when it was already withdrawn or is not the resident's.
    pub async fn revoke_consent(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        id: &str,
        resident_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE agent_consents SET revoked_at = $4 WHERE tenant = $1 AND id = $2 \
             AND resident_id = $3 AND revoked_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(resident_id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
