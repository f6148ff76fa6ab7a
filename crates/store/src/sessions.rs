//! Server-side sessions and personal access tokens, both looked up by the SHA-256 of the
//! secret the client holds, so a copy of the database signs nobody in.

use std::sync::LazyLock;

use crate::db::{self, Row};
use crate::people::{USER_COLUMNS, user_from_row};
use tongban_domain::Tenant;

use crate::{Store, StoreError, Tx, UserRecord};

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

const SESSION_COLUMNS: &str = "id_hash, user_id, csrf_token, created_at, last_seen_at, \
     expires_at, pending_totp, revoked_at";
const TOKEN_COLUMNS: &str =
    "id, id_hash, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at";

/// A credential's row joined with its holder's, read in one statement because every signed-in
/// call needs both.
fn with_holder<T>(
    row: Row,
    credential_columns: &str,
    credential: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<(T, Option<UserRecord>), StoreError> {
    let (own, holder) = row.split(credential_columns.split(',').count());
    let user = if holder.is_null("id") {
        None
    } else {
        Some(user_from_row(&holder)?)
    };
    Ok((credential(&own)?, user))
}

fn holder_query(table: &str, columns: &str) -> String {
    format!(
        "SELECT {}, {} FROM {table} c LEFT JOIN users u ON u.tenant = c.tenant AND u.id = c.user_id \
         WHERE c.id_hash = $1 AND c.tenant = $2",
        db::qualified("c", columns),
        db::qualified("u", USER_COLUMNS),
    )
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

    /// The session and the person it signs in (none if they are gone).
    pub async fn session_and_user(
        &self,
        tenant: &Tenant,
        id_hash: &str,
    ) -> Result<Option<(SessionRecord, Option<UserRecord>)>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| holder_query("sessions", SESSION_COLUMNS));
        self.credential_and_holder(&SQL, SESSION_COLUMNS, session_from_row, tenant, id_hash)
            .await
    }

    async fn credential_and_holder<T>(
        &self,
        sql: &'static str,
        columns: &str,
        credential: impl Fn(&Row) -> Result<T, StoreError>,
        tenant: &Tenant,
        id_hash: &str,
    ) -> Result<Option<(T, Option<UserRecord>)>, StoreError> {
        let row = db::query(sql)
            .bind(id_hash)
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| with_holder(r, columns, credential)).transpose()
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

    /// The token and the person it acts for (none if they are gone).
    pub async fn api_token_and_user(
        &self,
        tenant: &Tenant,
        id_hash: &str,
    ) -> Result<Option<(ApiTokenRecord, Option<UserRecord>)>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| holder_query("api_tokens", TOKEN_COLUMNS));
        self.credential_and_holder(&SQL, TOKEN_COLUMNS, token_from_row, tenant, id_hash)
            .await
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
