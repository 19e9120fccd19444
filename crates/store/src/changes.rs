//! The change sequence (migration 0006): one counter per kind of state that engines keep in memory,
//! bumped by the backends inside the transaction of every write that changes that state. Its SQL is
//! the same text in both dialects (an upsert SQLite and PostgreSQL both accept), so it is written once.

use crate::ChangeSequence;

/// Bumps the advisories' counter: run in the transaction of an advisory batch that inserted or
/// updated a record, as its last statement. In PostgreSQL the row lock it takes is the last lock such a
/// transaction takes, so bumps cannot deadlock with the import locks.
pub(crate) const BUMP_ADVISORIES: &str = "INSERT INTO state_changes (kind, seq) VALUES ('advisories', 1) \
     ON CONFLICT (kind) DO UPDATE SET seq = state_changes.seq + 1";

/// Bumps the threat context's counter: run in the transaction of an NVD batch that inserted or updated
/// a record, of every KEV catalog and of an EPSS set that wrote a score, as its last statement.
pub(crate) const BUMP_THREAT: &str = "INSERT INTO state_changes (kind, seq) VALUES ('threat', 1) \
     ON CONFLICT (kind) DO UPDATE SET seq = state_changes.seq + 1";

/// Reads every counter.
pub(crate) const SELECT: &str = "SELECT kind, seq FROM state_changes";

/// The sequence the stored rows give: a kind without a row has not changed since the migration (0);
/// rows of kinds this version does not know (written by a newer one) are left out.
pub(crate) fn sequence(rows: &[(String, i64)]) -> ChangeSequence {
    let mut sequence = ChangeSequence::default();
    for (kind, seq) in rows {
        match kind.as_str() {
            "advisories" => sequence.advisories = *seq,
            "threat" => sequence.threat = *seq,
            _ => {}
        }
    }
    sequence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_kinds_read_as_zero_and_unknown_ones_are_ignored() {
        let rows = |r: &[(&str, i64)]| -> Vec<(String, i64)> {
            r.iter().map(|(k, s)| (k.to_string(), *s)).collect()
        };
        assert_eq!(sequence(&[]), ChangeSequence::default());
        assert_eq!(
            sequence(&rows(&[("threat", 3), ("console", 9)])),
            ChangeSequence {
                advisories: 0,
                threat: 3
            }
        );
        assert_eq!(
            sequence(&rows(&[("advisories", 2), ("threat", 5)])),
            ChangeSequence {
                advisories: 2,
                threat: 5
            }
        );
    }
}
