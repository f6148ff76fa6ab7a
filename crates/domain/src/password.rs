//! What a staff password must be: long enough to resist guessing, not a well-known one, and not
//! the account's own name (the rules of NIST SP 800-63B, without composition rules).

pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 128;

const COMMON: &str = include_str!("common_passwords.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least 10 characters")]
    TooShort,
    #[error("a password has at most 128 characters")]
    TooLong,
    #[error("this password is one of the most common ones; choose another")]
    Common,
    #[error("a password must not contain the user name")]
    ContainsUsername,
}

impl PasswordError {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::Common => "password_common",
            Self::ContainsUsername => "password_contains_username",
        }
    }
}

pub fn check_password(password: &str, username: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if n > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    if is_common(&lower) {
        return Err(PasswordError::Common);
    }
    let user = username.trim().to_lowercase();
    if user.chars().count() >= 3 && lower.contains(&user) {
        return Err(PasswordError::ContainsUsername);
    }
    Ok(())
}

fn is_common(lower: &str) -> bool {
    // One character repeated is as weak as anything on the list.
    let mut chars = lower.chars();
    let first = chars.next();
    if first.is_some() && chars.all(|c| Some(c) == first) {
        return true;
    }
    COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        assert_eq!(check_password("short", "li"), Err(PasswordError::TooShort));
        assert_eq!(
            check_password("Qwertyuiop", "li"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_password("zzzzzzzzzzzz", "li"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_password("wangfang-2026-spring", "wangfang"),
            Err(PasswordError::ContainsUsername)
        );
        assert_eq!(
            check_password(&"x1".repeat(65), "li"),
            Err(PasswordError::TooLong)
        );
        assert_eq!(check_password("清河县审批窗口很好用", "li"), Ok(()));
        assert_eq!(check_password("river-lamp-otter-9", "li"), Ok(()));
    }
}
