//! The rules of signing in: how often a one-time code may be sent, when a code stops counting,
//! how long a staff account is locked after wrong passwords, and when a session ends.
//! Every rule takes "now" from the caller, so tests move time instead of waiting.

/// A code is good for five minutes.
pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;
/// One code a minute to the same number or from the same address.
pub const RESEND_GAP_MS: i64 = 60 * 1000;
/// At most this many codes an hour to the same number or from the same address.
pub const SENDS_PER_HOUR: usize = 5;
const HOUR_MS: i64 = 60 * 60 * 1000;
/// Wrong tries after which a code is void.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// Wrong passwords a staff account may take before it is locked.
pub const FREE_PASSWORD_FAILURES: i64 = 5;
const FIRST_LOCK_MS: i64 = 60 * 1000;
const LONGEST_LOCK_MS: i64 = HOUR_MS;

/// Why no code is sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendRefusal {
    #[error("a code was sent less than a minute ago; wait {retry_after_s} s")]
    TooSoon { retry_after_s: i64 },
    #[error("too many codes this hour; wait {retry_after_s} s")]
    TooMany { retry_after_s: i64 },
}

impl SendRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooSoon { .. } => "code_too_soon",
            Self::TooMany { .. } => "code_too_many",
        }
    }

    pub fn retry_after_s(self) -> i64 {
        match self {
            Self::TooSoon { retry_after_s } | Self::TooMany { retry_after_s } => retry_after_s,
        }
    }
}

/// Whether another code may be sent now, given the send instants of the codes counted against
/// one number or one address (in any order); when not, how long to wait.
pub fn may_send_code(send_times: &[i64], now_ms: i64) -> Result<(), SendRefusal> {
    let mut recent: Vec<i64> = send_times
        .iter()
        .copied()
        .filter(|t| *t > now_ms - HOUR_MS)
        .collect();
    recent.sort_unstable_by(|a, b| b.cmp(a));
    if let Some(&last) = recent.first()
        && now_ms - last < RESEND_GAP_MS
    {
        return Err(SendRefusal::TooSoon {
            retry_after_s: ceil_s(last + RESEND_GAP_MS - now_ms),
        });
    }
    if recent.len() >= SENDS_PER_HOUR {
        // The oldest of the hour's sends leaves the window first.
        let oldest_counted = recent[SENDS_PER_HOUR - 1];
        return Err(SendRefusal::TooMany {
            retry_after_s: ceil_s(oldest_counted + HOUR_MS - now_ms),
        });
    }
    Ok(())
}

fn ceil_s(ms: i64) -> i64 {
    (ms.max(0) + 999) / 1000
}

/// A sent code as the rules need to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeState {
    pub expires_at: i64,
    pub attempts: i64,
    pub used: bool,
}

/// Why a code does not sign anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRejection {
    #[error("no code was sent to this number")]
    NoCode,
    #[error("the code has expired")]
    Expired,
    #[error("the code was already used")]
    Used,
    #[error("too many wrong tries; the code is void")]
    Exhausted,
    #[error("the code is wrong; {tries_left} tries left")]
    Wrong { tries_left: i64 },
}

impl CodeRejection {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoCode => "code_not_sent",
            Self::Expired => "code_expired",
            Self::Used => "code_used",
            Self::Exhausted => "code_exhausted",
            Self::Wrong { .. } => "code_wrong",
        }
    }
}

/// Judges an entered code against the newest code sent. `matches` says whether the entered
/// digits hash to the stored code; a wrong try counts against the code.
pub fn check_code(
    sent: Option<CodeState>,
    matches: bool,
    now_ms: i64,
) -> Result<(), CodeRejection> {
    let s = sent.ok_or(CodeRejection::NoCode)?;
    if s.used {
        return Err(CodeRejection::Used);
    }
    if s.attempts >= MAX_CODE_ATTEMPTS {
        return Err(CodeRejection::Exhausted);
    }
    if now_ms >= s.expires_at {
        return Err(CodeRejection::Expired);
    }
    if !matches {
        let tries_left = MAX_CODE_ATTEMPTS - s.attempts - 1;
        return Err(if tries_left == 0 {
            CodeRejection::Exhausted
        } else {
            CodeRejection::Wrong { tries_left }
        });
    }
    Ok(())
}

/// Whether six characters are a well-formed code (digits only), so typos are told apart from
/// wrong codes without spending a try.
pub fn is_code_shaped(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// How long an account stays locked after its `failures`-th consecutive wrong password:
/// nothing for the first five, then one minute, doubling with every further failure up to an
/// hour.
pub fn lock_after(failures: i64) -> Option<i64> {
    let over = failures - FREE_PASSWORD_FAILURES;
    if over < 0 {
        return None;
    }
    let doubled = FIRST_LOCK_MS.saturating_mul(1i64 << over.min(20));
    Some(doubled.min(LONGEST_LOCK_MS))
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Without a request for this long, a session ends.
    pub idle_ms: i64,
    /// Whatever the activity, a session ends this long after sign-in.
    pub absolute_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * HOUR_MS,
        }
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Live,
    Idle,
    Expired,
    Revoked,
}

/// The state of a session signed in at `created_at` (its absolute end is `expires_at`), last
/// seen at `last_seen_at`.
pub fn session_state(
    policy: SessionPolicy,
    last_seen_at: i64,
    expires_at: i64,
    revoked: bool,
    now_ms: i64,
) -> SessionState {
    if revoked {
        SessionState::Revoked
    } else if now_ms >= expires_at {
        SessionState::Expired
    } else if now_ms - last_seen_at >= policy.idle_ms {
        SessionState::Idle
    } else {
        SessionState::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60 * 1000;

    #[test]
    fn a_second_code_within_a_minute_is_refused_with_the_wait() {
        assert_eq!(may_send_code(&[], 0), Ok(()));
        assert_eq!(
            may_send_code(&[10 * MIN], 10 * MIN + 15_000),
            Err(SendRefusal::TooSoon { retry_after_s: 45 })
        );
        assert_eq!(may_send_code(&[10 * MIN], 11 * MIN), Ok(()));
    }

    #[test]
    fn the_sixth_code_in_an_hour_waits_until_the_oldest_leaves_the_hour() {
        let sends = [0, 2 * MIN, 4 * MIN, 6 * MIN, 8 * MIN];
        assert_eq!(
            may_send_code(&sends, 10 * MIN),
            Err(SendRefusal::TooMany {
                retry_after_s: 50 * 60
            })
        );
        assert_eq!(may_send_code(&sends, 60 * MIN), Ok(()));
    }

    #[test]
    fn codes_expire_after_five_minutes_and_work_once() {
        let fresh = CodeState {
            expires_at: CODE_TTL_MS,
            attempts: 0,
            used: false,
        };
        assert_eq!(check_code(Some(fresh), true, CODE_TTL_MS - 1), Ok(()));
        assert_eq!(
            check_code(Some(fresh), true, CODE_TTL_MS),
            Err(CodeRejection::Expired)
        );
        let used = CodeState {
            used: true,
            ..fresh
        };
        assert_eq!(check_code(Some(used), true, 0), Err(CodeRejection::Used));
        assert_eq!(check_code(None, true, 0), Err(CodeRejection::NoCode));
    }

    #[test]
    fn the_fifth_wrong_try_voids_the_code_even_for_the_right_digits_after() {
        let mut state = CodeState {
            expires_at: CODE_TTL_MS,
            attempts: 0,
            used: false,
        };
        for left in (1..MAX_CODE_ATTEMPTS).rev() {
            assert_eq!(
                check_code(Some(state), false, 0),
                Err(CodeRejection::Wrong { tries_left: left })
            );
            state.attempts += 1;
        }
        assert_eq!(
            check_code(Some(state), false, 0),
            Err(CodeRejection::Exhausted)
        );
        state.attempts += 1;
        assert_eq!(
            check_code(Some(state), true, 0),
            Err(CodeRejection::Exhausted)
        );
    }

    #[test]
    fn lockout_starts_at_the_sixth_failure_and_doubles_up_to_an_hour() {
        assert_eq!(lock_after(4), None);
        assert_eq!(lock_after(5), Some(MIN));
        assert_eq!(lock_after(6), Some(2 * MIN));
        assert_eq!(lock_after(7), Some(4 * MIN));
        assert_eq!(lock_after(11), Some(60 * MIN));
        assert_eq!(lock_after(1000), Some(60 * MIN));
    }

    #[test]
    fn a_session_ends_when_idle_expired_or_revoked() {
        let p = SessionPolicy {
            idle_ms: 30 * MIN,
            absolute_ms: 720 * MIN,
        };
        assert_eq!(
            session_state(p, 0, 720 * MIN, false, 29 * MIN),
            SessionState::Live
        );
        assert_eq!(
            session_state(p, 0, 720 * MIN, false, 30 * MIN),
            SessionState::Idle
        );
        assert_eq!(
            session_state(p, 700 * MIN, 720 * MIN, false, 720 * MIN),
            SessionState::Expired
        );
        assert_eq!(
            session_state(p, 0, 720 * MIN, true, 1),
            SessionState::Revoked
        );
    }

    #[test]
    fn only_six_digits_are_shaped_like_a_code() {
        assert!(is_code_shaped("012345"));
        assert!(!is_code_shaped("12345"));
        assert!(!is_code_shaped("12345a"));
        assert!(!is_code_shaped("１２３４５６"));
    }
}
