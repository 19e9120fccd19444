//! The audit trail: an append-only list of changes (actor, time, action, the entity before and after),
//! each entry holding the hash of the one before it, so that editing, removing or reordering any stored
//! entry breaks the chain at that entry. The store appends; [`verify`] checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A change to record, before the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDraft {
    /// Who did it (a user's e-mail, or `system`).
    pub actor: String,
    /// What was done (`exception.create`, `exception.cancel`, `task.complete`, `user.create`, …).
    pub action: String,
    /// The kind of entity (`exception`, `remediationTask`, `user`, `token`, `webhook`, `settings`).
    pub entity: String,
    /// Its id.
    pub entity_id: String,
}

/// One entry of the audit trail as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// The kind of entity.
    pub entity: String,
    /// Its id.
    pub entity_id: String,
    /// The entity before the change, as JSON text (`None` for a creation).
    pub before: Option<String>,
    /// The entity after the change, as JSON text (`None` for a deletion).
    pub after: Option<String>,
    /// The hash of the previous entry ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// This entry's hash over all the fields above.
    pub hash: String,
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    // Length-prefixed, so that no two different entries hash the same bytes.
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn optional(h: &mut Sha256, value: Option<&str>) {
    match value {
        None => h.update([0u8]),
        Some(v) => {
            h.update([1u8]);
            field(h, v.as_bytes());
        }
    }
}

/// The hash of an entry's fields chained to `prev_hash` (SHA-256, hex). Times count in microseconds,
/// the precision the stores keep.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: DateTime<Utc>,
    draft: &AuditDraft,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    field(&mut h, prev_hash.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(at.timestamp_micros().to_be_bytes());
    field(&mut h, draft.actor.as_bytes());
    field(&mut h, draft.action.as_bytes());
    field(&mut h, draft.entity.as_bytes());
    field(&mut h, draft.entity_id.as_bytes());
    optional(&mut h, before);
    optional(&mut h, after);
    hex::encode(h.finalize())
}

/// Builds the entry that follows `previous` (or the first entry when `None`).
pub fn seal(
    previous: Option<(i64, &str)>,
    at: DateTime<Utc>,
    draft: AuditDraft,
    before: Option<String>,
    after: Option<String>,
) -> AuditEntry {
    let (seq, prev_hash) = match previous {
        Some((seq, hash)) => (seq + 1, hash.to_string()),
        None => (1, GENESIS_HASH.to_string()),
    };
    let hash = entry_hash(
        &prev_hash,
        seq,
        at,
        &draft,
        before.as_deref(),
        after.as_deref(),
    );
    AuditEntry {
        seq,
        at,
        actor: draft.actor,
        action: draft.action,
        entity: draft.entity,
        entity_id: draft.entity_id,
        before,
        after,
        prev_hash,
        hash,
    }
}

/// Where and why the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The first entry that does not verify.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// Checks a whole chain, in `seq` order: positions without gaps, each `prev_hash` equal to the hash of
/// the entry before, each hash equal to the hash of its fields. Returns the number of entries checked.
pub fn verify(entries: &[AuditEntry]) -> Result<usize, ChainBreak> {
    let mut prev_hash = GENESIS_HASH.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Err(ChainBreak {
                seq: e.seq,
                reason: format!(
                    "expected entry {expected_seq} here: an entry was removed or reordered"
                ),
            });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "its previous-entry hash does not match the entry before it".into(),
            });
        }
        let draft = AuditDraft {
            actor: e.actor.clone(),
            action: e.action.clone(),
            entity: e.entity.clone(),
            entity_id: e.entity_id.clone(),
        };
        let hash = entry_hash(
            &e.prev_hash,
            e.seq,
            e.at,
            &draft,
            e.before.as_deref(),
            e.after.as_deref(),
        );
        if hash != e.hash {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "its contents do not match its hash: the entry was edited".into(),
            });
        }
        prev_hash = e.hash.clone();
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| (e.seq, e.hash.as_str()));
            let e = seal(
                prev,
                DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap(),
                AuditDraft {
                    actor: "ana@example.org".into(),
                    action: "exception.create".into(),
                    entity: "exception".into(),
                    entity_id: i.to_string(),
                },
                None,
                Some(format!("{{\"id\":{i}}}")),
            );
            out.push(e);
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn edits_removals_and_reorders_are_found_at_their_entry() {
        let mut c = chain(5);
        c[2].after = Some("{\"id\":99}".into());
        assert_eq!(verify(&c).unwrap_err().seq, 3);

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c).unwrap_err().seq, 3);

        let mut c = chain(5);
        c.swap(1, 2);
        assert_eq!(verify(&c).unwrap_err().seq, 3);

        // Rewriting an entry with a fresh hash still breaks the next link.
        let mut c = chain(5);
        c[1].actor = "mallory".into();
        let draft = AuditDraft {
            actor: c[1].actor.clone(),
            action: c[1].action.clone(),
            entity: c[1].entity.clone(),
            entity_id: c[1].entity_id.clone(),
        };
        c[1].hash = entry_hash(
            &c[1].prev_hash,
            2,
            c[1].at,
            &draft,
            None,
            c[1].after.as_deref(),
        );
        assert_eq!(verify(&c).unwrap_err().seq, 3);
    }
}
