//! Case reference numbers (办件编号) that a person can read out on the phone or copy from a
//! text message: nine characters in three groups (`K7M-39Q-XAR`), drawn from an alphabet
//! without the look-alikes 0/O and 1/I/L, the last one a check character that catches every
//! single mistyped character and every pair of swapped neighbours before a lookup: with
//! position weights 1–9 and the prime 31 as modulus, either mistake changes the weighted sum
//! by a non-zero amount mod 31.

use std::fmt;

/// 2–9 and the Latin capitals, less I, L and O: 31 characters.
const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const N: u64 = ALPHABET.len() as u64;
/// Characters before the check character: 31^8 ≈ 8.5 × 10^11 numbers, so random ones seldom
/// collide and are not guessable in sequence.
const BODY: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("a reference number has 9 characters")]
    Length,
    #[error("a reference number has no `{0}`")]
    Character(char),
    #[error("the reference number has a typing mistake")]
    Check,
}

impl ReferenceError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Length => "reference_length",
            Self::Character(_) => "reference_character",
            Self::Check => "reference_check",
        }
    }
}

/// A case's reference number, stored as its nine characters without separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseRef(String);

fn value_of(c: u8) -> Option<u64> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u64)
}

/// The inverse of 9 (the check character's weight) mod 31: 9 × 7 = 63 = 2 × 31 + 1.
const INVERSE_OF_9: u64 = 7;

/// The check value that makes Σ (position + 1) × value ≡ 0 (mod 31) over all nine characters.
fn check_value(body: &[u64]) -> u64 {
    let sum: u64 = body
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64 + 1) * v)
        .sum();
    (N - sum % N) % N * INVERSE_OF_9 % N
}

impl CaseRef {
    /// The reference number made from random bits (the caller draws them; on a collision it
    /// draws again).
    pub fn from_random(bits: u64) -> Self {
        let mut rest = bits % N.pow(BODY as u32);
        let mut values = [0u64; BODY];
        for v in values.iter_mut().rev() {
            *v = rest % N;
            rest /= N;
        }
        let check = check_value(&values);
        let s = values
            .iter()
            .chain(std::iter::once(&check))
            .map(|&v| char::from(ALPHABET[v as usize]))
            .collect();
        Self(s)
    }

    /// Reads a reference number as people type it: any case, with spaces or dashes anywhere.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let cleaned: Vec<u8> = input
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '－' | '—' | '_'))
            .map(|c| c.to_ascii_uppercase())
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| ReferenceError::Character(c)))
            .collect::<Result<_, _>>()?;
        if cleaned.len() != BODY + 1 {
            return Err(ReferenceError::Length);
        }
        let values = cleaned
            .iter()
            .map(|&c| value_of(c).ok_or(ReferenceError::Character(char::from(c))))
            .collect::<Result<Vec<_>, _>>()?;
        if check_value(&values[..BODY]) != values[BODY] {
            return Err(ReferenceError::Check);
        }
        Ok(Self(String::from_utf8_lossy(&cleaned).into_owned()))
    }

    /// The nine characters, as stored and searched.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `K7M-39Q-XAR`: three groups of three, as printed and read out.
impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(f, "{}-{}-{}", &s[0..3], &s[3..6], &s[6..9])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_alphabet_has_no_look_alike_characters() {
        for c in b"01ILO" {
            assert!(!ALPHABET.contains(c), "{}", char::from(*c));
        }
        assert_eq!(ALPHABET.len(), 31);
    }

    #[test]
    fn references_are_read_back_however_they_are_typed() {
        let r = CaseRef::from_random(123_456_789_012);
        let shown = r.to_string();
        assert_eq!(shown.len(), 11);
        assert_eq!(CaseRef::parse(&shown), Ok(r.clone()));
        let typed = format!(" {} ", shown.to_lowercase().replace('-', " "));
        assert_eq!(CaseRef::parse(&typed), Ok(r));
    }

    #[test]
    fn wrong_length_and_foreign_characters_are_named() {
        assert_eq!(CaseRef::parse("ABC-DEF"), Err(ReferenceError::Length));
        assert_eq!(
            CaseRef::parse("ABC-DEF-GH0"),
            Err(ReferenceError::Character('0'))
        );
        assert_eq!(
            CaseRef::parse("ABC-DEF-GHO"),
            Err(ReferenceError::Character('O'))
        );
        assert_eq!(
            CaseRef::parse("办件号办件号办件号"),
            Err(ReferenceError::Character('办'))
        );
    }

    proptest! {
        #[test]
        fn every_single_character_mistake_is_caught(bits in any::<u64>(), at in 0usize..9, by in 1u64..31) {
            let r = CaseRef::from_random(bits);
            let mut chars: Vec<u8> = r.as_str().bytes().collect();
            let v = value_of(chars[at]).unwrap_or(0);
            chars[at] = ALPHABET[((v + by) % N) as usize];
            let typo = String::from_utf8_lossy(&chars).into_owned();
            prop_assert_eq!(CaseRef::parse(&typo), Err(ReferenceError::Check));
        }

        #[test]
        fn every_swap_of_two_different_neighbours_is_caught(bits in any::<u64>(), at in 0usize..8) {
            let r = CaseRef::from_random(bits);
            let mut chars: Vec<u8> = r.as_str().bytes().collect();
            prop_assume!(chars[at] != chars[at + 1]);
            chars.swap(at, at + 1);
            let typo = String::from_utf8_lossy(&chars).into_owned();
            prop_assert_eq!(CaseRef::parse(&typo), Err(ReferenceError::Check));
        }

        #[test]
        fn generated_references_always_parse(bits in any::<u64>()) {
            let r = CaseRef::from_random(bits);
            prop_assert_eq!(CaseRef::parse(r.as_str()), Ok(r));
        }
    }
}

/// Status look-ups without signing in (reference number + phone number) allowed from one
/// address in [`LOOKUP_WINDOW_MS`]: enough for a family checking a few cases, too few to
/// guess pairs.
pub const LOOKUPS_PER_WINDOW: usize = 10;
pub const LOOKUP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// Whether another look-up may be made now, given the earlier ones' times; when not, the
/// seconds to wait.
pub fn may_look_up(times: &[i64], now_ms: i64) -> Result<(), i64> {
    let mut recent: Vec<i64> = times
        .iter()
        .copied()
        .filter(|t| *t > now_ms - LOOKUP_WINDOW_MS)
        .collect();
    if recent.len() < LOOKUPS_PER_WINDOW {
        return Ok(());
    }
    recent.sort_unstable();
    let frees_at = recent[recent.len() - LOOKUPS_PER_WINDOW] + LOOKUP_WINDOW_MS;
    Err(((frees_at - now_ms).max(0) + 999) / 1000)
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    #[test]
    fn the_eleventh_look_up_in_ten_minutes_waits_for_the_oldest_to_expire() {
        let times: Vec<i64> = (0..10).map(|i| i * 1000).collect();
        assert_eq!(may_look_up(&times[..9], 10_000), Ok(()));
        assert_eq!(may_look_up(&times, 10_000), Err(590));
        assert_eq!(may_look_up(&times, LOOKUP_WINDOW_MS + 1), Ok(()));
    }
}
