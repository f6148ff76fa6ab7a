//! The audit trail is a hash chain: each entry's hash covers the previous entry's hash and its
//! own fields, so changing or deleting any entry breaks every hash after it.

use sha2::{Digest, Sha256};

/// The hash the first entry of a tenant's chain links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a use case records; the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// User id of whoever acted (`system` for the server itself, `anonymous` before sign-in).
    pub actor: String,
    /// Their unit, empty for residents.
    pub unit: String,
    /// What happened, e.g. `resident.sign_in`, `person.reveal_id_number`.
    pub action: String,
    /// What it happened to, e.g. `user:Q7…`.
    pub object: String,
    pub request_id: String,
    /// Free detail, never personal data in the clear.
    pub detail: String,
}

/// One entry at its place in the chain, as it is hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub entry: AuditEntry,
}

/// Hex SHA-256 over the previous hash and every field, each length-prefixed so no two
/// different entries hash the same input.
pub fn chain_hash(prev: &str, r: &AuditRecord) -> String {
    let mut h = Sha256::new();
    let e = &r.entry;
    let seq = r.seq.to_string();
    let at = e.at_ms.to_string();
    for part in [
        prev,
        seq.as_str(),
        at.as_str(),
        &e.actor,
        &e.unit,
        &e.action,
        &e.object,
        &e.request_id,
        &e.detail,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// An entry whose stored hashes do not follow from the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error(
        "entry {seq}: its link to the previous entry is wrong (an entry before it was removed or altered)"
    )]
    Link { seq: i64 },
    #[error("entry {seq}: its content does not match its hash (it was altered)")]
    Content { seq: i64 },
    #[error("entry {seq}: the sequence jumps from {previous} (entries were removed)")]
    Gap { seq: i64, previous: i64 },
    #[error(
        "the chain ends at entry {last} but its head records entry {head} (entries were cut off the end)"
    )]
    Truncated { last: i64, head: i64 },
}

/// Checks a chain entry by entry, so a long trail can be read in batches.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_prev: String,
    last_seq: i64,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_prev: GENESIS.to_owned(),
            last_seq: 0,
            checked: 0,
        }
    }
}

impl ChainVerifier {
    /// The next entry in sequence order; `prev_hash` and `hash` are what the store holds.
    pub fn push(
        &mut self,
        record: &AuditRecord,
        prev_hash: &str,
        hash: &str,
    ) -> Result<(), ChainBreak> {
        if record.seq != self.last_seq + 1 {
            return Err(ChainBreak::Gap {
                seq: record.seq,
                previous: self.last_seq,
            });
        }
        if prev_hash != self.expected_prev {
            return Err(ChainBreak::Link { seq: record.seq });
        }
        if chain_hash(prev_hash, record) != hash {
            return Err(ChainBreak::Content { seq: record.seq });
        }
        hash.clone_into(&mut self.expected_prev);
        self.last_seq = record.seq;
        self.checked += 1;
        Ok(())
    }

    /// Compares the end reached with the head the store records, which catches entries cut
    /// off the end of the chain.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<u64, ChainBreak> {
        if head_seq != self.last_seq || head_hash != self.expected_prev {
            return Err(ChainBreak::Truncated {
                last: self.last_seq,
                head: head_seq,
            });
        }
        Ok(self.checked)
    }
}

/// Checks a whole chain held in memory, in sequence order.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = (&'a AuditRecord, &'a str, &'a str)>,
) -> Result<u64, ChainBreak> {
    let mut v = ChainVerifier::default();
    for (record, prev_hash, hash) in entries {
        v.push(record, prev_hash, hash)?;
    }
    let (seq, hash) = (v.last_seq, v.expected_prev.clone());
    v.finish(seq, &hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<(AuditRecord, String, String)> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let r = AuditRecord {
                    seq,
                    entry: AuditEntry {
                        at_ms: 1_700_000_000_000 + seq,
                        actor: "u1".into(),
                        action: "resident.sign_in".into(),
                        object: format!("user:{seq}"),
                        request_id: "r".into(),
                        ..AuditEntry::default()
                    },
                };
                let hash = chain_hash(&prev, &r);
                let out = (r, prev.clone(), hash.clone());
                prev = hash;
                out
            })
            .collect()
    }

    fn verify(c: &[(AuditRecord, String, String)]) -> Result<u64, ChainBreak> {
        verify_chain(c.iter().map(|(r, p, h)| (r, p.as_str(), h.as_str())))
    }

    #[test]
    fn an_intact_chain_verifies_and_an_edit_is_found_where_it_was_made() {
        let mut c = chain(5);
        assert_eq!(verify(&c), Ok(5));
        c[2].0.entry.object = "user:999".into();
        assert_eq!(verify(&c), Err(ChainBreak::Content { seq: 3 }));
    }

    #[test]
    fn a_removed_entry_is_found() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(
            verify(&c),
            Err(ChainBreak::Gap {
                seq: 3,
                previous: 1
            })
        );
    }
}
