//! People: residents and staff accounts, their family links, and sign-in codes.

use crate::db::{self, Row};
use tongban_domain::Tenant;

use crate::{Store, StoreError, Tx};

/// A user as stored. Personal numbers stay encrypted here; the app crate's vault opens them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserRecord {
    pub id: String,
    pub kind: UserKind,
    pub username: Option<String>,
    pub display_name: String,
    pub phone_enc: Option<String>,
    pub phone_hash: Option<String>,
    /// An e-mail address for notifications, encrypted; none unless the person gave one.
    pub email_enc: Option<String>,
    pub id_number_enc: Option<String>,
    pub id_number_hash: Option<String>,
    pub real_name_at: Option<i64>,
    pub password_hash: Option<String>,
    pub totp_secret_enc: Option<String>,
    /// When the staff member proved their authenticator with a code; until then the secret
    /// does not guard sign-in.
    pub totp_confirmed_at: Option<i64>,
    /// The last TOTP time step accepted, so a code is never accepted twice.
    pub totp_last_step: Option<i64>,
    pub unit_code: Option<String>,
    pub division_code: Option<String>,
    pub roles: Vec<String>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub disabled: bool,
    pub created_by: Option<String>,
    pub created_at: i64,
}

/// The encrypted columns of one user, as key rotation sees them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncryptedFields {
    pub tenant: String,
    pub id: String,
    pub phone_enc: Option<String>,
    pub id_number_enc: Option<String>,
    pub totp_secret_enc: Option<String>,
    pub email_enc: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserKind {
    #[default]
    Resident,
    Staff,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Staff => "staff",
        }
    }
}

pub(crate) const USER_COLUMNS: &str = "id, kind, username, display_name, phone_enc, phone_hash, email_enc, id_number_enc, \
     id_number_hash, real_name_at, password_hash, totp_secret_enc, totp_confirmed_at, totp_last_step, \
     unit_code, division_code, roles, failed_logins, locked_until, disabled, created_by, created_at";

pub(crate) fn user_from_row(r: &Row) -> Result<UserRecord, StoreError> {
    let kind: String = r.try_get("kind")?;
    let roles: String = r.try_get("roles")?;
    Ok(UserRecord {
        id: r.try_get("id")?,
        kind: if kind == "staff" {
            UserKind::Staff
        } else {
            UserKind::Resident
        },
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        phone_enc: r.try_get("phone_enc")?,
        phone_hash: r.try_get("phone_hash")?,
        email_enc: r.try_get("email_enc")?,
        id_number_enc: r.try_get("id_number_enc")?,
        id_number_hash: r.try_get("id_number_hash")?,
        real_name_at: r.try_get("real_name_at")?,
        password_hash: r.try_get("password_hash")?,
        totp_secret_enc: r.try_get("totp_secret_enc")?,
        totp_confirmed_at: r.try_get("totp_confirmed_at")?,
        totp_last_step: r.try_get("totp_last_step")?,
        unit_code: r.try_get("unit_code")?,
        division_code: r.try_get("division_code")?,
        roles: roles.split_whitespace().map(str::to_owned).collect(),
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// One sign-in code as stored (the code itself only as a keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRecord {
    pub id: String,
    pub code_hash: String,
    pub sent_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub used_at: Option<i64>,
}

/// The unique columns a user is looked up by.
#[derive(Debug, Clone, Copy)]
enum UserKey {
    Id,
    PhoneHash,
    Username,
}

impl UserKey {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::PhoneHash => "phone_hash",
            Self::Username => "username",
        }
    }
}

/// Who sign-in codes are counted by for rate limits.
#[derive(Debug, Clone, Copy)]
pub enum OtpSender<'a> {
    /// The keyed hash of the phone number the codes went to.
    Phone(&'a str),
    /// The address that asked for them.
    Ip(&'a str),
}

impl Store {
    pub async fn insert_user(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        u: &UserRecord,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO users (tenant, id, kind, username, display_name, phone_enc, phone_hash, \
             id_number_enc, id_number_hash, real_name_at, password_hash, totp_secret_enc, unit_code, \
             division_code, roles, failed_logins, locked_until, disabled, created_by, created_at, updated_at, \
             totp_confirmed_at, totp_last_step, email_enc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $21, $22, $23)",
        )
        .bind(tenant.as_str())
        .bind(&u.id)
        .bind(u.kind.as_str())
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.phone_enc)
        .bind(&u.phone_hash)
        .bind(&u.id_number_enc)
        .bind(&u.id_number_hash)
        .bind(u.real_name_at)
        .bind(&u.password_hash)
        .bind(&u.totp_secret_enc)
        .bind(&u.unit_code)
        .bind(&u.division_code)
        .bind(u.roles.join(" "))
        .bind(u.failed_logins)
        .bind(u.locked_until)
        .bind(i64::from(u.disabled))
        .bind(&u.created_by)
        .bind(u.created_at)
        .bind(u.totp_confirmed_at)
        .bind(u.totp_last_step)
        .bind(&u.email_enc)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Writes every mutable field of an existing user.
    pub async fn update_user(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        u: &UserRecord,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let done = db::query(
            "UPDATE users SET username = $3, display_name = $4, phone_enc = $5, phone_hash = $6, \
             id_number_enc = $7, id_number_hash = $8, real_name_at = $9, password_hash = $10, \
             totp_secret_enc = $11, unit_code = $12, division_code = $13, roles = $14, \
             failed_logins = $15, locked_until = $16, disabled = $17, updated_at = $18, \
             totp_confirmed_at = $19, totp_last_step = $20, email_enc = $21 \
             WHERE tenant = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(&u.id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.phone_enc)
        .bind(&u.phone_hash)
        .bind(&u.id_number_enc)
        .bind(&u.id_number_hash)
        .bind(u.real_name_at)
        .bind(&u.password_hash)
        .bind(&u.totp_secret_enc)
        .bind(&u.unit_code)
        .bind(&u.division_code)
        .bind(u.roles.join(" "))
        .bind(u.failed_logins)
        .bind(u.locked_until)
        .bind(i64::from(u.disabled))
        .bind(now_ms)
        .bind(u.totp_confirmed_at)
        .bind(u.totp_last_step)
        .bind(&u.email_enc)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {}", u.id)));
        }
        Ok(())
    }

    pub async fn user(&self, tenant: &Tenant, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where(tenant, UserKey::Id, id).await
    }

    pub async fn user_by_phone_hash(
        &self,
        tenant: &Tenant,
        hash: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        self.user_where(tenant, UserKey::PhoneHash, hash).await
    }

    pub async fn user_by_username(
        &self,
        tenant: &Tenant,
        username: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        self.user_where(tenant, UserKey::Username, username).await
    }

    async fn user_where(
        &self,
        tenant: &Tenant,
        key: UserKey,
        value: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let row = db::query(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND {} = $2",
            key.column()
        ))
        .bind(tenant.as_str())
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Everyone who registered the identity number behind this keyed hash.
    pub async fn users_by_id_number_hash(
        &self,
        tenant: &Tenant,
        hash: &str,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let rows = db::query(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND id_number_hash = $2 ORDER BY created_at, id"
        ))
        .bind(tenant.as_str())
        .bind(hash)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Counts one wrong password and returns the consecutive failures so far. An increment in
    /// the database, so simultaneous guesses are all counted.
    pub async fn count_password_failure(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        id: &str,
    ) -> Result<i64, StoreError> {
        let row = db::query(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE tenant = $1 AND id = $2 \
             RETURNING failed_logins",
        )
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
        row.try_get("failed_logins")
    }

    pub async fn lock_user_until(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        id: &str,
        until_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        db::query("UPDATE users SET locked_until = $3 WHERE tenant = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .bind(until_ms)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// Records a TOTP time step as used; `false` when this or a later step was already used
    /// (a replayed code).
    pub async fn use_totp_step(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        id: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE users SET totp_last_step = $3 WHERE tenant = $1 AND id = $2 \
             AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(step)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Encrypted fields of users (every tenant: keys belong to the deployment) in id order,
    /// `limit` at a time after `after_id`, for re-encryption under a new key.
    pub async fn encrypted_fields_page(
        &self,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<EncryptedFields>, StoreError> {
        let rows = db::query(
            "SELECT tenant, id, phone_enc, id_number_enc, totp_secret_enc, email_enc FROM users \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EncryptedFields {
                    tenant: r.try_get("tenant")?,
                    id: r.try_get("id")?,
                    phone_enc: r.try_get("phone_enc")?,
                    id_number_enc: r.try_get("id_number_enc")?,
                    totp_secret_enc: r.try_get("totp_secret_enc")?,
                    email_enc: r.try_get("email_enc")?,
                })
            })
            .collect()
    }

    /// Replaces a user's ciphertexts, only if they are still `old` (a concurrent change wins
    /// and is re-encrypted on the next run). `true` when the row was rewritten.
    pub async fn replace_encrypted_fields(
        &self,
        tx: &mut Tx,
        old: &EncryptedFields,
        new: &EncryptedFields,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE users SET phone_enc = $3, id_number_enc = $4, totp_secret_enc = $5, \
             email_enc = $9 \
             WHERE tenant = $1 AND id = $2 \
             AND COALESCE(phone_enc, '') = $6 AND COALESCE(id_number_enc, '') = $7 \
             AND COALESCE(totp_secret_enc, '') = $8 AND COALESCE(email_enc, '') = $10",
        )
        .bind(&old.tenant)
        .bind(&old.id)
        .bind(&new.phone_enc)
        .bind(&new.id_number_enc)
        .bind(&new.totp_secret_enc)
        .bind(old.phone_enc.as_deref().unwrap_or(""))
        .bind(old.id_number_enc.as_deref().unwrap_or(""))
        .bind(old.totp_secret_enc.as_deref().unwrap_or(""))
        .bind(&new.email_enc)
        .bind(old.email_enc.as_deref().unwrap_or(""))
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Users holding `role`, by division and name.
    pub async fn users_with_role(
        &self,
        tenant: &Tenant,
        role: &str,
    ) -> Result<Vec<UserRecord>, StoreError> {
        // Roles are a space-separated list; padding both sides makes the match whole-word.
        let rows = db::query(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND (' ' || roles || ' ') LIKE $2 \
             ORDER BY division_code, display_name, id"
        ))
        .bind(tenant.as_str())
        .bind(format!("% {role} %"))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn staff(&self, tenant: &Tenant) -> Result<Vec<UserRecord>, StoreError> {
        let rows = db::query(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND kind = 'staff' ORDER BY username"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn add_family_link(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        owner: &str,
        member: &str,
        relation: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO family_links (tenant, owner_id, member_id, relation, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.as_str())
        .bind(owner)
        .bind(member)
        .bind(relation)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn remove_family_link(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        owner: &str,
        member: &str,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "DELETE FROM family_links WHERE tenant = $1 AND owner_id = $2 AND member_id = $3",
        )
        .bind(tenant.as_str())
        .bind(owner)
        .bind(member)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The family members a resident added, with the relation they gave, oldest first.
    pub async fn family_of(
        &self,
        tenant: &Tenant,
        owner: &str,
    ) -> Result<Vec<(UserRecord, String)>, StoreError> {
        // The link's own time is renamed so `created_at` stays the user's.
        let rows = db::query(
            "SELECT u.*, f.relation, f.created_at AS linked_at FROM family_links f JOIN users u \
             ON u.tenant = f.tenant AND u.id = f.member_id \
             WHERE f.tenant = $1 AND f.owner_id = $2 ORDER BY linked_at, u.id",
        )
        .bind(tenant.as_str())
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((user_from_row(r)?, r.try_get("relation")?)))
            .collect()
    }

    pub async fn insert_otp(
        &self,
        tenant: &Tenant,
        otp: &OtpRecord,
        phone_hash: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO otp_codes (tenant, id, phone_hash, ip, code_hash, sent_at, expires_at, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
        )
        .bind(tenant.as_str())
        .bind(&otp.id)
        .bind(phone_hash)
        .bind(ip)
        .bind(&otp.code_hash)
        .bind(otp.sent_at)
        .bind(otp.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Send times of the codes counted against `sender` since `since_ms`, newest first.
    pub async fn otp_sends_since(
        &self,
        tenant: &Tenant,
        sender: OtpSender<'_>,
        since_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let (column, value) = match sender {
            OtpSender::Phone(hash) => ("phone_hash", hash),
            OtpSender::Ip(ip) => ("ip", ip),
        };
        let rows = db::query(format!(
            "SELECT sent_at FROM otp_codes WHERE tenant = $1 AND {column} = $2 AND sent_at >= $3 \
             ORDER BY sent_at DESC"
        ))
        .bind(tenant.as_str())
        .bind(value)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("sent_at"))
            .collect()
    }

    /// The newest code sent to a phone.
    pub async fn latest_otp(
        &self,
        tenant: &Tenant,
        phone_hash: &str,
    ) -> Result<Option<OtpRecord>, StoreError> {
        let row = db::query(
            "SELECT id, code_hash, sent_at, expires_at, attempts, used_at FROM otp_codes \
             WHERE tenant = $1 AND phone_hash = $2 ORDER BY sent_at DESC, id DESC LIMIT 1",
        )
        .bind(tenant.as_str())
        .bind(phone_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(OtpRecord {
                id: r.try_get("id")?,
                code_hash: r.try_get("code_hash")?,
                sent_at: r.try_get("sent_at")?,
                expires_at: r.try_get("expires_at")?,
                attempts: r.try_get("attempts")?,
                used_at: r.try_get("used_at")?,
            })
        })
        .transpose()
    }

    pub async fn count_otp_attempt(&self, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        db::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE tenant = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a code used; `false` when it already was (two sign-ins raced with one code).
    pub async fn use_otp(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE otp_codes SET used_at = $3 WHERE tenant = $1 AND id = $2 AND used_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
