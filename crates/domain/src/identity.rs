//! Who a person is: the 18-digit resident identity number (GB 11643-1999) and the mainland
//! mobile number, with the masks every screen shows instead of the full values.

use chrono::{Datelike, NaiveDate};

/// Why an identity number was refused. Each has a stable code for clients and translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    #[error("15-digit identity numbers were replaced in 2004; enter the 18-digit number")]
    Legacy15,
    #[error("an identity number has 18 characters")]
    Length,
    #[error("an identity number has 17 digits and then a digit or X")]
    Characters,
    #[error("the birth date inside the identity number is not a real date")]
    BirthDate,
    #[error("the check digit does not match: a digit is mistyped")]
    CheckDigit,
}

impl ResidentIdError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Legacy15 => "id_number_legacy",
            Self::Length => "id_number_length",
            Self::Characters => "id_number_characters",
            Self::BirthDate => "id_number_birth_date",
            Self::CheckDigit => "id_number_check_digit",
        }
    }
}

/// A valid 18-digit resident identity number (公民身份号码).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character of the first 17 digits (ISO 7064 MOD 11-2).
pub fn check_character(first17: &[u32; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    CHECK[(sum % 11) as usize]
}

impl ResidentId {
    /// Accepts spaces and a lowercase `x`, as people type them; `today` bounds the birth date.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, ResidentIdError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let n = s.chars().count();
        if n == 15 && s.chars().all(|c| c.is_ascii_digit()) {
            return Err(ResidentIdError::Legacy15);
        }
        if n != 18 {
            return Err(ResidentIdError::Length);
        }
        let chars: Vec<char> = s.chars().collect();
        let mut digits = [0u32; 17];
        for (slot, c) in digits.iter_mut().zip(&chars) {
            *slot = c.to_digit(10).ok_or(ResidentIdError::Characters)?;
        }
        let last = chars[17];
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(ResidentIdError::Characters);
        }
        let birth = birth_date_of(&s).ok_or(ResidentIdError::BirthDate)?;
        if birth > today || birth.year() < 1890 {
            return Err(ResidentIdError::BirthDate);
        }
        if check_character(&digits) != last {
            return Err(ResidentIdError::CheckDigit);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(&self.0).unwrap_or_default()
    }

    /// `130534********1234`: the region code and the last four, as screens show it.
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

fn birth_date_of(s: &str) -> Option<NaiveDate> {
    let y = s.get(6..10)?.parse().ok()?;
    let m = s.get(10..12)?.parse().ok()?;
    let d = s.get(12..14)?.parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Masks an identity number held as text (first six and last four shown).
pub fn mask_id_number(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("a mobile number has 11 digits and starts with 13 to 19")]
    Invalid,
}

impl PhoneError {
    pub fn code(self) -> &'static str {
        "phone_invalid"
    }
}

/// A mainland China mobile number, 11 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts spaces, dashes and a `+86`/`86` prefix, as people type them.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '\u{3000}'))
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| {
                (digits.len() == 13)
                    .then(|| digits.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        if b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
        {
            Ok(Self(digits.to_owned()))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

pub fn mask_phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// A person's name as entered for real-name verification: 1 to 30 characters, letters (any
/// script), the middle dot of minority and foreign names, and spaces inside.
pub fn clean_person_name(input: &str) -> Option<String> {
    let name = input.trim();
    let n = name.chars().count();
    let ok = (1..=30).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '·' | '•' | ' ' | '.'));
    ok.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default()
    }

    fn with_check(first17: &str) -> String {
        let mut d = [0u32; 17];
        for (slot, c) in d.iter_mut().zip(first17.chars()) {
            *slot = c.to_digit(10).unwrap_or(0);
        }
        format!("{first17}{}", check_character(&d))
    }

    #[test]
    fn the_standard_example_number_is_valid() {
        // The worked example of GB 11643-1999.
        let id = ResidentId::parse("11010519491231002X", today());
        assert_eq!(id.map(|i| i.masked()), Ok("110105********002X".to_owned()));
        assert_eq!(
            ResidentId::parse("11010519491231002x", today()).map(|i| i.birth_date()),
            NaiveDate::from_ymd_opt(1949, 12, 31).ok_or(ResidentIdError::BirthDate)
        );
    }

    #[test]
    fn refusals_name_the_reason() {
        assert_eq!(
            ResidentId::parse("110105491231002", today()),
            Err(ResidentIdError::Legacy15)
        );
        assert_eq!(
            ResidentId::parse("1101051949123100", today()),
            Err(ResidentIdError::Length)
        );
        assert_eq!(
            ResidentId::parse("11010519491231002Y", today()),
            Err(ResidentIdError::Characters)
        );
        assert_eq!(
            ResidentId::parse(&with_check("13053419990231001"), today()),
            Err(ResidentIdError::BirthDate)
        );
        assert_eq!(
            ResidentId::parse(&with_check("13053420300101001"), today()),
            Err(ResidentIdError::BirthDate)
        );
        assert_eq!(
            ResidentId::parse("110105194912310021", today()),
            Err(ResidentIdError::CheckDigit)
        );
    }

    #[test]
    fn phone_numbers_are_read_as_typed_and_masked() {
        assert_eq!(
            PhoneNumber::parse("+86 138-0013-5678").map(|p| p.masked()),
            Ok("138****5678".to_owned())
        );
        assert!(PhoneNumber::parse("8613800135678").is_ok());
        assert_eq!(PhoneNumber::parse("12800135678"), Err(PhoneError::Invalid));
        assert_eq!(PhoneNumber::parse("0319-1234567"), Err(PhoneError::Invalid));
    }

    #[test]
    fn names_allow_the_middle_dot_and_refuse_digits() {
        assert_eq!(
            clean_person_name(" 阿依古丽·买买提 ").as_deref(),
            Some("阿依古丽·买买提")
        );
        assert_eq!(clean_person_name("张三1"), None);
        assert_eq!(clean_person_name(""), None);
    }

    fn first17() -> impl Strategy<Value = String> {
        (
            0u32..=99_9999,
            1900i32..=2025,
            1u32..=12,
            1u32..=28,
            0u32..=999,
        )
            .prop_map(|(region, y, m, d, seq)| {
                format!("{:06}{y:04}{m:02}{d:02}{seq:03}", region.max(110000))
            })
    }

    proptest! {
        #[test]
        fn numbers_with_their_check_character_are_accepted(f in first17()) {
            let id = with_check(&f);
            prop_assert!(ResidentId::parse(&id, today()).is_ok(), "{}", id);
        }

        #[test]
        fn any_single_digit_change_is_rejected(f in first17(), pos in 0usize..18, delta in 1u32..10) {
            let id = with_check(&f);
            let mut chars: Vec<char> = id.chars().collect();
            let changed = match chars[pos].to_digit(10) {
                Some(d) => char::from_digit((d + delta) % 10, 10).unwrap_or('0'),
                // The check character X becomes a digit.
                None => char::from_digit(delta % 10, 10).unwrap_or('0'),
            };
            chars[pos] = changed;
            let altered: String = chars.into_iter().collect();
            prop_assert!(ResidentId::parse(&altered, today()).is_err(), "{} accepted", altered);
        }
    }
}
