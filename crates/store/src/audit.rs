//! The audit trail: appended inside the transaction of the change it records, read for
//! browsing and for verifying the hash chain.

use crate::db::{self, Row, Value};
use tongban_domain::Tenant;
use tongban_domain::audit::{AuditEntry, AuditRecord, GENESIS, chain_hash};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAudit {
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

/// Filters for browsing; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub object: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Entries before this sequence number (paging backwards from the newest).
    pub before_seq: Option<i64>,
}

fn audit_from_row(r: &Row) -> Result<StoredAudit, StoreError> {
    Ok(StoredAudit {
        record: AuditRecord {
            seq: r.try_get("seq")?,
            entry: AuditEntry {
                at_ms: r.try_get("at")?,
                actor: r.try_get("actor")?,
                unit: r.try_get("unit")?,
                action: r.try_get("action")?,
                object: r.try_get("object")?,
                request_id: r.try_get("request_id")?,
                detail: r.try_get("detail")?,
            },
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, unit, action, object, request_id, detail, prev_hash, hash";

impl Store {
    /// Appends one entry to the tenant's chain. Raising the head row first makes concurrent
    /// appenders wait for each other, so the chain never forks.
    pub async fn append_audit(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        entry: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let t = tenant.as_str();
        let next = || {
            db::query("UPDATE audit_heads SET seq = seq + 1 WHERE tenant = $1 RETURNING seq, hash")
                .bind(t)
        };
        // The head row exists from the tenant's first entry on; only that entry creates it.
        let head = match next().fetch_optional(tx.conn()).await? {
            Some(head) => head,
            None => {
                db::query(
                    "INSERT INTO audit_heads (tenant, seq, hash) VALUES ($1, 0, $2) \
                     ON CONFLICT (tenant) DO NOTHING",
                )
                .bind(t)
                .bind(GENESIS)
                .execute(tx.conn())
                .await?;
                next().fetch_one(tx.conn()).await?
            }
        };
        let seq: i64 = head.try_get("seq")?;
        let prev: String = head.try_get("hash")?;
        let hash = chain_hash(
            &prev,
            &AuditRecord {
                seq,
                entry: entry.clone(),
            },
        );
        db::query(
            "INSERT INTO audit_log (tenant, seq, at, actor, unit, action, object, request_id, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(t)
        .bind(seq)
        .bind(entry.at_ms)
        .bind(&entry.actor)
        .bind(&entry.unit)
        .bind(&entry.action)
        .bind(&entry.object)
        .bind(&entry.request_id)
        .bind(&entry.detail)
        .bind(&prev)
        .bind(&hash)
        .execute(tx.conn())
        .await?;
        db::query("UPDATE audit_heads SET hash = $2 WHERE tenant = $1")
            .bind(t)
            .bind(&hash)
            .execute(tx.conn())
            .await?;
        Ok(seq)
    }

    /// A page of entries, newest first.
    pub async fn audit_entries(
        &self,
        tenant: &Tenant,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<StoredAudit>, StoreError> {
        // Conditions are added one by one, so
        // the `$n` numbering is done here.
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant = $1");
        let mut binds = vec![Value::Text(tenant.as_str().to_owned())];
        let mut push = |condition: &str, value: Value| {
            binds.push(value);
            sql.push_str(&format!(" AND {condition} ${}", binds.len()));
        };
        if let Some(a) = &filter.actor {
            push("actor =", Value::Text(a.clone()));
        }
        if let Some(p) = &filter.action_prefix {
            push(
                "action LIKE",
                Value::Text(format!("{}%", p.replace(['%', '_'], ""))),
            );
        }
        if let Some(o) = &filter.object {
            push("object =", Value::Text(o.clone()));
        }
        if let Some(v) = filter.since_ms {
            push("at >=", Value::Int(v));
        }
        if let Some(v) = filter.until_ms {
            push("at <", Value::Int(v));
        }
        if let Some(v) = filter.before_seq {
            push("seq <", Value::Int(v));
        }
        binds.push(Value::Int(limit.clamp(1, 500)));
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", binds.len()));
        let rows = db::query(sql).bind_all(binds).fetch_all(&self.pool).await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Entries in chain order from `after_seq`, a batch at a time (for verification).
    pub async fn audit_chain_batch(
        &self,
        tenant: &Tenant,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredAudit>, StoreError> {
        let rows = db::query(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(tenant.as_str())
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// The sequence number and hash the chain ends with, as the head row records them.
    pub async fn audit_head(&self, tenant: &Tenant) -> Result<(i64, String), StoreError> {
        let row = db::query("SELECT seq, hash FROM audit_heads WHERE tenant = $1")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => (r.try_get("seq")?, r.try_get("hash")?),
            None => (0, GENESIS.to_owned()),
        })
    }
}
