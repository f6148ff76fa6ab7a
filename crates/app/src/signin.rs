//! Signing in and out: residents with a one-time SMS code, staff with a password and, where
//! their role requires it, an authenticator code; sessions kept server-side in the database.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tongban_domain::PhoneNumber;
use tongban_domain::signin::{
    self, CODE_TTL_MS, CodeState, SessionState, check_code, is_code_shaped, lock_after,
    may_send_code,
};
use tongban_store::{OtpRecord, OtpSender, SessionRecord, Tx, UserKind, UserRecord};

use crate::error::{Refusal, RefusalKind};
use crate::identity::{Credential, Principal, roles_of};
use crate::vault::{random_bytes, random_token, token_hash};
use crate::{App, AppError};

const HOUR_MS: i64 = 60 * 60 * 1000;
/// A session waiting for its second factor must finish within ten minutes.
const SECOND_FACTOR_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Activity is written at most once a minute per session.
const TOUCH_EVERY_MS: i64 = 60 * 1000;
const TOTP_STEP_S: u64 = 30;
/// The vault kind of an authenticator secret.
pub(crate) const TOTP_SECRET: &str = "totp";

/// What the blind index calls each kind of hashed value, so hashes of one kind never match
/// another (a consent code can never sign anyone in).
pub(crate) const PHONE: &str = "phone";
const SIGN_IN_CODES: &str = "sign-in";

/// A code is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSent {
    pub expires_in_s: i64,
    pub resend_after_s: i64,
}

/// A session just opened: the token goes to the client once and is stored only hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub expires_at: i64,
}

/// What a staff member must do after a correct password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Done,
    /// Enter the code from their authenticator.
    Totp,
    /// Their role requires an authenticator and they have none yet: set one up.
    EnrolTotp,
}

/// What a session cookie or bearer token stands for.
#[derive(Debug, Clone)]
pub enum SessionLookup {
    Unknown,
    Ended(SessionState),
    /// Password accepted, second factor outstanding.
    SecondFactor {
        user_id: String,
        enrolled: bool,
        csrf: String,
    },
    SignedIn(Principal),
}

/// The secret a staff member enrols in their authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub uri: String,
    /// The same URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// A uniformly random six-digit code.
fn six_digits() -> String {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        // Reject the top sliver so every code is equally likely.
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// Equal-time comparison of two hashes, so response time says nothing about how much matched.
pub fn same_tokens(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn too_many(code: &'static str, retry_after_s: i64) -> AppError {
    Refusal::new(RefusalKind::TooMany, code)
        .with("seconds", retry_after_s)
        .with("minutes", (retry_after_s + 59) / 60)
        .into()
}

/// Hashes a password with Argon2id and a fresh salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

fn password_matches(password: &str, stored: Option<&str>) -> bool {
    // Unknown users still cost one hash, so timing does not tell which usernames exist.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$H6q9KI4Znt6Oe/+73Y7ojZBtT4jx6LTv3nJWRuOmXlE";
    let hash = stored.unwrap_or(DUMMY);
    let ok = PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    ok && stored.is_some()
}

impl App {
    fn phone_hash(&self, phone: &PhoneNumber) -> String {
        self.identity.vault.blind_index(PHONE, phone.as_str())
    }

    /// Sends a sign-in code, at most one a minute and five an hour to a number and from an
    /// address.
    pub async fn send_sign_in_code(&self, phone: &str, ip: &str) -> Result<CodeSent, AppError> {
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::rejected(e.code(), "phone"))?;
        let key = self
            .identity
            .vault
            .blind_index(SIGN_IN_CODES, phone.as_str());
        let code = self.issue_code(&key, ip).await?;
        let text = format!(
            "【通办】您的登录验证码是 {code}，5 分钟内有效。工作人员不会向您索要验证码，请勿告诉他人。"
        );
        self.identity.sms.send(&phone, &text).await.map_err(|e| {
            tracing::warn!(error = %e, "sign-in code not sent");
            AppError::from(Refusal::new(RefusalKind::Unavailable, "sms_unavailable"))
        })?;
        Ok(CodeSent {
            expires_in_s: CODE_TTL_MS / 1000,
            resend_after_s: signin::RESEND_GAP_MS / 1000,
        })
    }

    /// Checks the rate limits for `key` (a blind index of the number, per purpose) and `ip`,
    /// stores a fresh code's hash and returns the code.
    pub(crate) async fn issue_code(&self, key: &str, ip: &str) -> Result<String, AppError> {
        let now = self.now_ms();
        for sender in [OtpSender::Phone(key), OtpSender::Ip(ip)] {
            let sends = self
                .store
                .otp_sends_since(&self.tenant, sender, now - HOUR_MS)
                .await?;
            may_send_code(&sends, now).map_err(|r| too_many(r.code(), r.retry_after_s()))?;
        }
        let code = six_digits();
        let id = hex::encode(random_bytes::<12>());
        let otp = OtpRecord {
            code_hash: self
                .identity
                .vault
                .blind_index("otp", &format!("{id}:{code}")),
            id,
            sent_at: now,
            expires_at: now + CODE_TTL_MS,
            attempts: 0,
            used_at: None,
        };
        self.store.insert_otp(&self.tenant, &otp, key, ip).await?;
        Ok(code)
    }

    /// Judges a code for `key`; a wrong one counts against the code. On success the caller
    /// marks it used inside its own transaction.
    pub(crate) async fn judge_code(&self, key: &str, code: &str) -> Result<OtpRecord, AppError> {
        let code = code.trim();
        if !is_code_shaped(code) {
            return Err(AppError::rejected("code_shape", "code"));
        }
        let latest = self.store.latest_otp(&self.tenant, key).await?;
        let matches = latest.as_ref().is_some_and(|o| {
            same_tokens(
                &o.code_hash,
                &self
                    .identity
                    .vault
                    .blind_index("otp", &format!("{}:{code}", o.id)),
            )
        });
        let state = latest.as_ref().map(|o| CodeState {
            expires_at: o.expires_at,
            attempts: o.attempts,
            used: o.used_at.is_some(),
        });
        if let Err(rejection) = check_code(state, matches, self.now_ms()) {
            if let (Some(o), true) = (&latest, !matches) {
                self.store.count_otp_attempt(&self.tenant, &o.id).await?;
            }
            let mut r = Refusal::new(RefusalKind::Invalid, rejection.code()).on("code");
            if let signin::CodeRejection::Wrong { tries_left } = rejection {
                r = r.with("tries", tries_left);
            }
            return Err(r.into());
        }
        latest.ok_or_else(|| AppError::rejected("code_not_sent", "code"))
    }

    /// Signs a resident in with the code sent to their number, creating their account on first
    /// sign-in. `previous` is the session token the browser held, revoked so sign-in always
    /// starts a new session.
    pub async fn sign_in_with_code(
        &self,
        phone: &str,
        code: &str,
        previous: Option<&str>,
    ) -> Result<NewSession, AppError> {
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::rejected(e.code(), "phone"))?;
        let key = self
            .identity
            .vault
            .blind_index(SIGN_IN_CODES, phone.as_str());
        let otp = self.judge_code(&key, code).await?;
        let now = self.now_ms();
        let phone_hash = self.phone_hash(&phone);
        let existing = self
            .store
            .user_by_phone_hash(&self.tenant, &phone_hash)
            .await?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .use_otp(&mut tx, &self.tenant, &otp.id, now)
            .await?
        {
            return Err(AppError::rejected("code_used", "code"));
        }
        let user = match existing {
            Some(u) if u.disabled => {
                return Err(AppError::unauthenticated("account_disabled"));
            }
            Some(u) => u,
            None => {
                let u = UserRecord {
                    id: new_user_id(),
                    kind: UserKind::Resident,
                    phone_enc: Some(self.identity.vault.encrypt(PHONE, phone.as_str())?),
                    phone_hash: Some(phone_hash),
                    roles: vec!["resident".into()],
                    created_at: now,
                    ..UserRecord::default()
                };
                self.store.insert_user(&mut tx, &self.tenant, &u).await?;
                let entry = tongban_domain::audit::AuditEntry {
                    actor: u.id.clone(),
                    ..self.audit_entry_for_user(&u, "user.sign_up", &format!("user:{}", u.id), "")
                };
                self.store
                    .append_audit(&mut tx, &self.tenant, &entry)
                    .await?;
                u
            }
        };
        let session = self
            .open_session(&mut tx, &user, false, previous, "sms_code")
            .await?;
        tx.commit().await?;
        Ok(session)
    }

    fn audit_entry_for_user(
        &self,
        u: &UserRecord,
        action: &str,
        object: &str,
        detail: &str,
    ) -> tongban_domain::audit::AuditEntry {
        tongban_domain::audit::AuditEntry {
            at_ms: self.now_ms(),
            actor: u.id.clone(),
            unit: u.unit_code.clone().unwrap_or_default(),
            action: action.into(),
            object: object.into(),
            request_id: crate::request_id(),
            detail: detail.into(),
        }
    }

    /// Opens a session for `user` (pending its second factor if `pending`) and revokes the
    /// one the client held before.
    async fn open_session(
        &self,
        tx: &mut Tx,
        user: &UserRecord,
        pending: bool,
        previous: Option<&str>,
        how: &str,
    ) -> Result<NewSession, AppError> {
        let now = self.now_ms();
        if let Some(old) = previous {
            self.store.revoke_session(tx, &token_hash(old), now).await?;
        }
        let token = random_token();
        let csrf = random_token();
        let expires_at = now
            + if pending {
                SECOND_FACTOR_WINDOW_MS
            } else {
                self.identity.policy.sessions.absolute_ms
            };
        let record = SessionRecord {
            id_hash: token_hash(&token),
            user_id: user.id.clone(),
            csrf_token: csrf.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at,
            pending_totp: pending,
            revoked_at: None,
        };
        self.store.insert_session(tx, &self.tenant, &record).await?;
        if !pending {
            let entry = self.audit_entry_for_user(
                user,
                "session.sign_in",
                &format!("user:{}", user.id),
                how,
            );
            self.store.append_audit(tx, &self.tenant, &entry).await?;
        }
        Ok(NewSession {
            token,
            csrf,
            expires_at,
        })
    }

    /// Checks a staff member's username and password. Repeated wrong passwords lock the account
    /// with growing waits.
    pub async fn sign_in_staff(
        &self,
        username: &str,
        password: &str,
        previous: Option<&str>,
    ) -> Result<(NewSession, NextStep), AppError> {
        let username = username.trim().to_lowercase();
        if username.is_empty() {
            return Err(AppError::rejected("username_missing", "username"));
        }
        if password.is_empty() {
            return Err(AppError::rejected("password_missing", "password"));
        }
        let now = self.now_ms();
        let user = self
            .store
            .user_by_username(&self.tenant, &username)
            .await?
            .filter(|u| u.kind == UserKind::Staff);
        if let Some(until) = user.as_ref().and_then(|u| u.locked_until)
            && until > now
        {
            return Err(too_many("account_locked", (until - now + 999) / 1000));
        }
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let attempt = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || password_matches(&attempt, stored.as_deref()))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let Some(user) = user else {
            return Err(AppError::unauthenticated("bad_credentials"));
        };
        if !ok {
            return Err(self.count_failure(&user, "password").await);
        }
        if user.disabled {
            return Err(AppError::unauthenticated("account_disabled"));
        }
        let next = self.second_step_for(&user);
        let mut tx = self.store.begin().await?;
        if next == NextStep::Done {
            self.clear_failures(&mut tx, &user).await?;
        }
        let session = self
            .open_session(&mut tx, &user, next != NextStep::Done, previous, "password")
            .await?;
        tx.commit().await?;
        Ok((session, next))
    }

    fn second_step_for(&self, u: &UserRecord) -> NextStep {
        let required = roles_of(u)
            .iter()
            .any(|r| self.identity.policy.totp_roles.contains(r));
        match (u.totp_confirmed_at.is_some(), required) {
            (true, _) => NextStep::Totp,
            (false, true) => NextStep::EnrolTotp,
            (false, false) => NextStep::Done,
        }
    }

    async fn clear_failures(&self, tx: &mut Tx, u: &UserRecord) -> Result<(), AppError> {
        if u.failed_logins != 0 || u.locked_until.is_some() {
            let mut cleared = u.clone();
            cleared.failed_logins = 0;
            cleared.locked_until = None;
            self.store
                .update_user(tx, &self.tenant, &cleared, self.now_ms())
                .await?;
        }
        Ok(())
    }

    /// Counts a wrong password or authenticator code, locks the account when the rules say so,
    /// and returns the error to show.
    async fn count_failure(&self, user: &UserRecord, what: &str) -> AppError {
        let result = async {
            let mut tx = self.store.begin().await?;
            let failures = self
                .store
                .count_password_failure(&mut tx, &self.tenant, &user.id)
                .await?;
            let lock = lock_after(failures);
            if let Some(ms) = lock {
                self.store
                    .lock_user_until(&mut tx, &self.tenant, &user.id, Some(self.now_ms() + ms))
                    .await?;
            }
            let entry = self.audit_entry_for_user(
                user,
                "session.sign_in_failed",
                &format!("user:{}", user.id),
                &format!("{what}; failures={failures}"),
            );
            self.store
                .append_audit(&mut tx, &self.tenant, &entry)
                .await?;
            tx.commit().await?;
            Ok::<_, AppError>(lock)
        }
        .await;
        match result {
            Ok(Some(ms)) => too_many("account_locked", (ms + 999) / 1000),
            Ok(None) if what == "totp" => AppError::rejected("totp_wrong", "code"),
            Ok(None) => AppError::unauthenticated("bad_credentials"),
            Err(e) => e,
        }
    }

    /// The secret to enrol for a session waiting for its second factor. The secret is stored
    /// (encrypted) at once but guards nothing until a code from it is accepted.
    pub async fn totp_enrolment(&self, session_token: &str) -> Result<TotpEnrolment, AppError> {
        let (_, user) = self.pending_session(session_token).await?;
        if user.totp_confirmed_at.is_some() {
            return Err(Refusal::new(RefusalKind::Conflict, "totp_already_enrolled").into());
        }
        let secret = match &user.totp_secret_enc {
            Some(enc) => self.identity.vault.decrypt(TOTP_SECRET, enc)?,
            None => {
                let secret = base32_secret();
                let mut updated = user.clone();
                updated.totp_secret_enc = Some(self.identity.vault.encrypt(TOTP_SECRET, &secret)?);
                let mut tx = self.store.begin().await?;
                self.store
                    .update_user(&mut tx, &self.tenant, &updated, self.now_ms())
                    .await?;
                tx.commit().await?;
                secret
            }
        };
        let account = user.username.clone().unwrap_or_default();
        let uri = format!(
            "otpauth://totp/Tongban:{account}?secret={secret}&issuer=Tongban&algorithm=SHA1&digits=6&period=30"
        );
        let qr_svg = qrcode::QrCode::new(uri.as_bytes())
            .map(|q| {
                q.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .build()
            })
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(TotpEnrolment {
            secret_base32: secret,
            uri,
            qr_svg,
        })
    }

    async fn pending_session(&self, token: &str) -> Result<(SessionRecord, UserRecord), AppError> {
        let now = self.now_ms();
        let session = self
            .store
            .session(&self.tenant, &token_hash(token))
            .await?
            .filter(|s| s.pending_totp && s.revoked_at.is_none() && s.expires_at > now)
            .ok_or_else(|| AppError::unauthenticated("second_factor_expired"))?;
        let user = self
            .store
            .user(&self.tenant, &session.user_id)
            .await?
            .ok_or_else(|| AppError::unauthenticated("second_factor_expired"))?;
        Ok((session, user))
    }

    /// Completes a staff sign-in with an authenticator code: replaces the waiting session
    /// with a full one. Each code is accepted once.
    pub async fn verify_second_factor(
        &self,
        session_token: &str,
        code: &str,
    ) -> Result<NewSession, AppError> {
        let (_, user) = self.pending_session(session_token).await?;
        let now = self.now_ms();
        if let Some(until) = user.locked_until
            && until > now
        {
            return Err(too_many("account_locked", (until - now + 999) / 1000));
        }
        let code = code.trim().replace(' ', "");
        if !is_code_shaped(&code) {
            return Err(AppError::rejected("code_shape", "code"));
        }
        let secret = match &user.totp_secret_enc {
            Some(enc) => self.identity.vault.decrypt(TOTP_SECRET, enc)?,
            None => return Err(AppError::unauthenticated("second_factor_expired")),
        };
        let totp = totp_for(&secret)?;
        let now_s = u64::try_from(now / 1000).unwrap_or_default();
        let Some(step) = totp.check(&code, now_s) else {
            return Err(self.count_failure(&user, "totp").await);
        };
        let mut tx = self.store.begin().await?;
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        if !self
            .store
            .use_totp_step(&mut tx, &self.tenant, &user.id, step)
            .await?
        {
            return Err(AppError::rejected("totp_replayed", "code"));
        }
        let mut updated = self
            .store
            .user(&self.tenant, &user.id)
            .await?
            .unwrap_or_else(|| user.clone());
        updated.failed_logins = 0;
        updated.locked_until = None;
        if updated.totp_confirmed_at.is_none() {
            updated.totp_confirmed_at = Some(now);
            let entry = self.audit_entry_for_user(
                &user,
                "user.totp_enrol",
                &format!("user:{}", user.id),
                "",
            );
            self.store
                .append_audit(&mut tx, &self.tenant, &entry)
                .await?;
        }
        updated.totp_last_step = Some(step);
        self.store
            .update_user(&mut tx, &self.tenant, &updated, now)
            .await?;
        let session = self
            .open_session(&mut tx, &user, false, Some(session_token), "password+totp")
            .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// What a session token stands for now. Activity is recorded (at most once a minute).
    pub async fn session_lookup(&self, token: &str) -> Result<SessionLookup, AppError> {
        let id_hash = token_hash(token);
        let Some((session, user)) = self.store.session_and_user(&self.tenant, &id_hash).await?
        else {
            return Ok(SessionLookup::Unknown);
        };
        let now = self.now_ms();
        let state = signin::session_state(
            self.identity.policy.sessions,
            session.last_seen_at,
            session.expires_at,
            session.revoked_at.is_some(),
            now,
        );
        if state != SessionState::Live {
            return Ok(SessionLookup::Ended(state));
        }
        let Some(user) = user else {
            return Ok(SessionLookup::Unknown);
        };
        if user.disabled {
            return Ok(SessionLookup::Ended(SessionState::Revoked));
        }
        if session.pending_totp {
            return Ok(SessionLookup::SecondFactor {
                user_id: user.id,
                enrolled: user.totp_confirmed_at.is_some(),
                csrf: session.csrf_token,
            });
        }
        if now - session.last_seen_at >= TOUCH_EVERY_MS {
            self.store.touch_session(&id_hash, now).await?;
        }
        Ok(SessionLookup::SignedIn(Principal {
            actor: self.actor_for(&user).await?,
            name: display_name(&user, &self.identity.vault),
            kind: user.kind,
            credential: Credential::Session {
                id_hash,
                csrf: session.csrf_token,
            },
        }))
    }

    /// Ends this session.
    pub async fn sign_out(&self, p: &Principal) -> Result<(), AppError> {
        let Credential::Session { id_hash, .. } = &p.credential else {
            return Ok(());
        };
        let mut tx = self.store.begin().await?;
        self.store
            .revoke_session(&mut tx, id_hash, self.now_ms())
            .await?;
        let entry = self.audit_entry(
            &p.actor,
            "session.sign_out",
            &format!("user:{}", p.user_id()),
            "",
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the signed-in person, on every device; returns how many.
    pub async fn sign_out_everywhere(&self, p: &Principal) -> Result<u64, AppError> {
        let mut tx = self.store.begin().await?;
        let n = self
            .store
            .revoke_sessions_of(&mut tx, &self.tenant, p.user_id(), self.now_ms())
            .await?;
        let entry = self.audit_entry(
            &p.actor,
            "session.sign_out_everywhere",
            &format!("user:{}", p.user_id()),
            &format!("sessions={n}"),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// A fresh 160-bit authenticator secret in base32, as authenticator apps take it.
fn base32_secret() -> String {
    // RFC 4648 base32 without padding: 20 bytes make exactly 32 characters.
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bytes = random_bytes::<20>();
    let mut out = String::with_capacity(32);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 8];
        buf[3..8].copy_from_slice(chunk);
        let n = u64::from_be_bytes(buf);
        for i in (0..8).rev() {
            out.push(char::from(ALPHABET[((n >> (i * 5)) & 31) as usize]));
        }
    }
    out
}

pub(crate) fn totp_for(secret_base32: &str) -> Result<totp_rs::Totp, AppError> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32)
        .map_err(|e| AppError::Internal(format!("stored TOTP secret: {e}")))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_step_duration(TOTP_STEP_S)
        .build()
        .map_err(|e| AppError::Internal(format!("TOTP: {e}")))
}

/// The authenticator code for a secret at a Unix time (for tests and operator tools).
pub fn totp_code(secret_base32: &str, unix_s: u64) -> Result<String, AppError> {
    Ok(totp_for(secret_base32)?.generate(unix_s).to_string())
}

/// A user id: random, so ids reveal neither order nor count.
pub(crate) fn new_user_id() -> String {
    crate::vault::random_id("u")
}

/// The name shown for a user: their name, or their masked number before they gave one.
pub(crate) fn display_name(u: &UserRecord, vault: &crate::vault::Vault) -> String {
    if !u.display_name.is_empty() {
        return u.display_name.clone();
    }
    u.phone_enc
        .as_deref()
        .and_then(|enc| vault.decrypt(PHONE, enc).ok())
        .map(|p| tongban_domain::identity::mask_phone(&p))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            assert!(is_code_shaped(&six_digits()));
        }
    }

    #[test]
    fn secrets_are_32_base32_characters_that_totp_accepts() {
        let s = base32_secret();
        assert_eq!(s.len(), 32);
        assert!(totp_for(&s).is_ok());
    }

    #[test]
    fn a_totp_code_matches_the_rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last six are ours.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
        let totp = totp_for(secret).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(totp.generate(59).to_string(), "287082");
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse battery").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", Some(&h)));
        assert!(!password_matches("correct horse batterY", Some(&h)));
        assert!(!password_matches("anything", None));
    }
}
