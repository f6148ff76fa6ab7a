//! Server-side sessions and personal access tokens, both looked up by the SHA-256 of the
//! secret the client holds, so a copy of the database signs nobody in.

use crate::db::{self, Row};
use tongban_domain::Tenant;

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub pending_totp: bool,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: String,
    pub id_hash: String,
    pub user_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn session_from_row(r: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id_hash: r.try_get("id_hash")?,
        user_id: r.try_get("user_id")?,
        csrf_token: r.try_get("csrf_token")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
        pending_totp: r.try_get::<i64, _>("pending_totp")? != 0,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn token_from_row(r: &Row) -> Result<ApiTokenRecord, StoreError> {
    let scopes: String = r.try_get("scopes")?;
    Ok(ApiTokenRecord {
        id: r.try_get("id")?,
        id_hash: r.try_get("id_hash")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    pub async fn insert_session(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        s: &SessionRecord,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO sessions (id_hash, tenant, user_id, csrf_token, created_at, last_seen_at, expires_at, pending_totp) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.id_hash)
        .bind(tenant.as_str())
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(i64::from(s.pending_totp))
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn session(
        &self,
        tenant: &Tenant,
        id_hash: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = db::query(
            "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, pending_totp, revoked_at \
             FROM sessions WHERE id_hash = $1 AND tenant = $2",
        )
        .bind(id_hash)
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Records activity, at most as often as the caller decides (it is a write per request).
    pub async fn touch_session(&self, id_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        db::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn revoke_session(
        &self,
        tx: &mut Tx,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        db::query("UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL")
            .bind(id_hash)
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// Signs a user out everywhere; returns how many sessions ended.
    pub async fn revoke_sessions_of(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        user_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let done = db::query(
            "UPDATE sessions SET revoked_at = $3 WHERE tenant = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(user_id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn complete_second_factor(
        &self,
        tx: &mut Tx,
        id_hash: &str,
    ) -> Result<(), StoreError> {
        db::query("UPDATE sessions SET pending_totp = 0 WHERE id_hash = $1")
            .bind(id_hash)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_api_token(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        t: &ApiTokenRecord,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO api_tokens (id_hash, tenant, id, user_id, name, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.id_hash)
        .bind(tenant.as_str())
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(&t.name)
        .bind(t.scopes.join(" "))
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn api_token(
        &self,
        tenant: &Tenant,
        id_hash: &str,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = db::query(
            "SELECT id, id_hash, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens WHERE id_hash = $1 AND tenant = $2",
        )
        .bind(id_hash)
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn api_tokens_of(
        &self,
        tenant: &Tenant,
        user_id: &str,
    ) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows = db::query(
            "SELECT id, id_hash, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens WHERE tenant = $1 AND user_id = $2 ORDER BY created_at",
        )
        .bind(tenant.as_str())
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes one of a user's tokens by its public id; `false` when no such live token.
    pub async fn revoke_api_token(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        user_id: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE api_tokens SET revoked_at = $4 WHERE tenant = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(user_id)
        .bind(id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_api_token(&self, id_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        db::query("UPDATE api_tokens SET last_used_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
