//! Personal data at rest: identity and phone numbers are encrypted with AES-256-GCM and found
//! again through a keyed hash (HMAC-SHA256), so the database alone reveals neither.
//!
//! Several data keys may be configured: the first encrypts, any of them decrypts (each
//! ciphertext names its key), so a key is rotated by putting a new one first and re-encrypting.
//! The hash key cannot rotate without rehashing every row, so it is kept apart.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tongban_domain::reference::CaseRef;

use crate::AppError;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("a data key must be `ID:BASE64` with a numeric id 1-255 and 32 bytes of key: {0}")]
    BadKey(String),
    #[error("no data key is configured")]
    NoKey,
    #[error("ciphertext names key {0}, which is not configured")]
    UnknownKey(u8),
    #[error("ciphertext is damaged or was made with another key")]
    Damaged,
}

#[derive(Clone)]
pub struct Vault {
    /// The first key encrypts.
    keys: Vec<(u8, Aes256Gcm)>,
    index_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Vault").field("key_ids", &ids).finish()
    }
}

/// Fresh random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The OS generator failing leaves nothing safe to do: refusing to run is the right outcome.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut out).expect("the operating system's random generator failed");
    out
}

/// A random record id (96 bits, URL-safe) after a one-letter `prefix` naming its kind, so ids
/// reveal neither order nor count: for people and keys.
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<12>()))
}

/// How many reference numbers to draw before giving up (each collides with odds of about one
/// in 10^12 per stored case or request, so a second draw is already rare).
const REFERENCE_DRAWS: usize = 5;

/// A reference number (`K7M-39Q-XAR`) nobody holds yet: drawn at random until `taken` finds
/// one free.
pub(crate) async fn free_reference<F, Fut>(taken: F) -> Result<CaseRef, AppError>
where
    F: Fn(CaseRef) -> Fut,
    Fut: Future<Output = Result<bool, AppError>>,
{
    for _ in 0..REFERENCE_DRAWS {
        let r = CaseRef::from_random(u64::from_le_bytes(random_bytes::<8>()));
        if !taken(r.clone()).await? {
            return Ok(r);
        }
    }
    Err(AppError::Internal("no free reference number".into()))
}

/// Digits of [`ordered_id`]'s time, in ASCII order and URL-safe.
const SORTABLE: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// A record id that sorts by when it was made: `prefix`, the time in milliseconds (seven
/// digits of [`SORTABLE`], good until 2109), then 72 random bits. For records made in bulk
/// whose time is shown anyway (cases, requests, photos, notifications): a new row's key then
/// lands beside the last one's at the end of the table's key index, not on a random page of
/// it, so a commit dirties and writes a few index pages instead of one per row.
pub fn ordered_id(prefix: &str) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut id = String::with_capacity(prefix.len() + 19);
    id.push_str(prefix);
    for digit in (0..7).rev() {
        id.push(char::from(SORTABLE[(ms >> (6 * digit)) as usize & 63]));
    }
    id.push_str(&URL_SAFE_NO_PAD.encode(random_bytes::<9>()));
    id
}

/// A random token for cookies, URLs and API clients (256 bits, URL-safe).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// How a stored token is looked up: its SHA-256 (tokens are long and random, so no key needed).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new key in the `ID:BASE64` form the configuration takes.
pub fn new_key_spec(id: u8) -> String {
    format!("{id}:{}", STANDARD.encode(random_bytes::<32>()))
}

fn parse_key(spec: &str) -> Result<(u8, [u8; 32]), VaultError> {
    let bad = || VaultError::BadKey(format!("{}…", spec.chars().take(4).collect::<String>()));
    let (id, b64) = spec.trim().split_once(':').ok_or_else(bad)?;
    let id: u8 = id.parse().map_err(|_| bad())?;
    if id == 0 {
        return Err(bad());
    }
    let bytes = STANDARD.decode(b64.trim()).map_err(|_| bad())?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
    Ok((id, key))
}

impl Vault {
    /// `data_keys` in `ID:BASE64` form, the encrypting key first; `index_key` as base64.
    pub fn new(data_keys: &[String], index_key: &str) -> Result<Self, VaultError> {
        if data_keys.is_empty() {
            return Err(VaultError::NoKey);
        }
        let mut keys = Vec::with_capacity(data_keys.len());
        for spec in data_keys {
            let (id, key) = parse_key(spec)?;
            if keys.iter().any(|(k, _)| *k == id) {
                return Err(VaultError::BadKey(format!("key id {id} appears twice")));
            }
            let cipher =
                Aes256Gcm::new_from_slice(&key).map_err(|_| VaultError::BadKey(id.to_string()))?;
            keys.push((id, cipher));
        }
        let index: [u8; 32] = STANDARD
            .decode(index_key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| VaultError::BadKey("index key".into()))?;
        Ok(Self {
            keys,
            index_key: index,
        })
    }

    /// A vault with fresh random keys (tests, and a first start that writes them to disk).
    pub fn generate() -> (Self, Vec<String>, String) {
        let data = vec![new_key_spec(1)];
        let index = STANDARD.encode(random_bytes::<32>());
        #[allow(clippy::expect_used)]
        let vault = Self::new(&data, &index).expect("freshly generated keys are well-formed");
        (vault, data, index)
    }

    pub fn current_key_id(&self) -> u8 {
        self.keys.first().map_or(0, |(id, _)| *id)
    }

    /// `v{key}.{base64url(nonce ‖ ciphertext)}`; `kind` is bound as associated data so a phone
    /// ciphertext cannot be passed off as an identity number.
    pub fn encrypt(&self, kind: &str, plaintext: &str) -> Result<String, VaultError> {
        let (id, cipher) = self.keys.first().ok_or(VaultError::NoKey)?;
        let nonce_bytes = random_bytes::<12>();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = cipher
            .encrypt(
                &nonce,
                aes_gcm::aead::Payload {
                    msg: plaintext.as_bytes(),
                    aad: kind.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(format!("v{id}.{}", URL_SAFE_NO_PAD.encode(out)))
    }

    pub fn decrypt(&self, kind: &str, stored: &str) -> Result<String, VaultError> {
        let (head, body) = stored.split_once('.').ok_or(VaultError::Damaged)?;
        let id: u8 = head
            .strip_prefix('v')
            .and_then(|n| n.parse().ok())
            .ok_or(VaultError::Damaged)?;
        let cipher = self
            .keys
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, c)| c)
            .ok_or(VaultError::UnknownKey(id))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| VaultError::Damaged)?;
        if bytes.len() < 12 + 16 {
            return Err(VaultError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| VaultError::Damaged)?;
        let plain = cipher
            .decrypt(
                &Nonce::from(nonce),
                aes_gcm::aead::Payload {
                    msg: sealed,
                    aad: kind.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        String::from_utf8(plain).map_err(|_| VaultError::Damaged)
    }

    /// Whether `stored` was encrypted with a key other than the current one.
    pub fn needs_reencryption(&self, stored: &str) -> bool {
        !stored.starts_with(&format!("v{}.", self.current_key_id()))
    }

    /// The keyed hash a value is searched by (`kind` keeps phone and ID hashes apart).
    pub fn blind_index(&self, kind: &str, value: &str) -> String {
        #[allow(clippy::expect_used)]
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.index_key)
            .expect("HMAC takes a key of any length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_ids_made_later_sort_later_and_stay_url_safe_and_distinct() {
        let first = ordered_id("o");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut later: Vec<String> = (0..1000).map(|_| ordered_id("o")).collect();
        assert!(
            later.iter().all(|id| *id > first),
            "{first} sorts after a later id"
        );
        assert!(later.iter().all(|id| id.len() == 20 && id.starts_with('o')));
        assert!(later.iter().all(|id| {
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }));
        later.sort();
        later.dedup();
        assert_eq!(
            later.len(),
            1000,
            "two ids made in one millisecond were equal"
        );
        // The alphabet is in byte order, so the time digits compare as the times do.
        assert!(SORTABLE.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn values_round_trip_and_are_bound_to_their_kind() {
        let (vault, ..) = Vault::generate();
        let c = vault.encrypt("phone", "13800135678").unwrap_or_default();
        assert!(!c.contains("13800135678"));
        assert_eq!(vault.decrypt("phone", &c).as_deref(), Ok("13800135678"));
        assert_eq!(vault.decrypt("id_number", &c), Err(VaultError::Damaged));
        // Two encryptions of one value differ (fresh nonce), the blind index does not.
        assert_ne!(c, vault.encrypt("phone", "13800135678").unwrap_or_default());
        assert_eq!(
            vault.blind_index("phone", "13800135678"),
            vault.blind_index("phone", "13800135678")
        );
        assert_ne!(
            vault.blind_index("phone", "13800135678"),
            vault.blind_index("id_number", "13800135678")
        );
    }

    #[test]
    fn a_rotated_vault_reads_old_ciphertexts_and_writes_with_the_new_key() {
        let (old, keys, index) = Vault::generate();
        let c = old.encrypt("phone", "13800135678").unwrap_or_default();
        let rotated = Vault::new(&[new_key_spec(2), keys[0].clone()], &index)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rotated.decrypt("phone", &c).as_deref(), Ok("13800135678"));
        assert!(rotated.needs_reencryption(&c));
        let fresh = rotated.encrypt("phone", "13800135678").unwrap_or_default();
        assert!(fresh.starts_with("v2."));
        assert_eq!(old.decrypt("phone", &fresh), Err(VaultError::UnknownKey(2)));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(matches!(
            Vault::new(&["1:abc".into()], ""),
            Err(VaultError::BadKey(_))
        ));
        assert!(matches!(Vault::new(&[], ""), Err(VaultError::NoKey)));
    }
}
