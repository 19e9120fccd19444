//! The change sequence (migration 0006): one counter per kind of state that engines keep in memory,
//! bumped by the backends inside the transaction of every write that changes that state. Its SQL is
//! the same text in both dialects (an upsert SQLite and PostgreSQL both accept), so it is written once.
//!
//! The fleet's counter also has a log (migration 0008, table `fleet_changes`): every bump writes one
//! row, its new value and the device it touched (NULL for exceptions and device groups), so a reader
//! that holds the fleet at one value reloads only the devices changed since. The bump is an `UPDATE …
//! RETURNING` of the counter's row, which holds that row's lock until the transaction ends: values are
//! handed out in commit order, so a reader that sees value `n` committed also sees every value below
//! it, and the log of a range is complete exactly when it has one row per value. The log keeps the
//! last [`FLEET_LOG_KEEP`] values; a reader further behind reloads everything.

use std::collections::BTreeSet;

use bulwark_core::DeviceId;

use crate::{ChangeSequence, FleetChanges};

/// Bumps the advisories' counter: run in the transaction of an advisory batch that inserted or
/// updated a record, as its last statement. In PostgreSQL the row lock it takes is the last lock such a
/// transaction takes, so bumps cannot deadlock with the import locks.
pub(crate) const BUMP_ADVISORIES: &str = "INSERT INTO state_changes (kind, seq) VALUES ('advisories', 1) \
     ON CONFLICT (kind) DO UPDATE SET seq = state_changes.seq + 1";

/// Bumps the threat context's counter: run in the transaction of an NVD batch that inserted or updated
/// a record, of every KEV catalog and of an EPSS set that wrote a score, as its last statement.
pub(crate) const BUMP_THREAT: &str = "INSERT INTO state_changes (kind, seq) VALUES ('threat', 1) \
     ON CONFLICT (kind) DO UPDATE SET seq = state_changes.seq + 1";

/// Bumps the fleet's counter and returns its new value: run in the transaction of every write that
/// changes a device, its software, its open weaknesses, a device group or an exception, as its last
/// statement but the log row (see the module's comment).
pub(crate) const BUMP_FLEET: &str = "INSERT INTO state_changes (kind, seq) VALUES ('fleet', 1) \
     ON CONFLICT (kind) DO UPDATE SET seq = state_changes.seq + 1 RETURNING seq";

/// How many of the newest fleet changes the log keeps.
pub(crate) const FLEET_LOG_KEEP: i64 = 20_000;

/// The log is pruned when the counter reaches a multiple of this (one small delete in that write).
pub(crate) const FLEET_PRUNE_EVERY: i64 = 1_000;

/// The longest range of changes a reader is given from the log: past it, reloading the whole fleet
/// costs less than reloading device by device.
pub(crate) const FLEET_CHANGES_MAX: i64 = 5_000;

/// The log rows below which a bump to `seq` deletes, if it prunes at all.
pub(crate) fn fleet_prune_below(seq: i64) -> Option<i64> {
    (seq % FLEET_PRUNE_EVERY == 0 && seq > FLEET_LOG_KEEP).then(|| seq - FLEET_LOG_KEEP)
}

/// Whether a reader is given the log of the range after `after` up to `upto`: not when it runs
/// backwards (a restored database) or is longer than [`FLEET_CHANGES_MAX`].
pub(crate) fn fleet_log_covers(after: i64, upto: i64) -> bool {
    after <= upto && upto - after <= FLEET_CHANGES_MAX
}

/// The changes after `after` up to `upto` that the log rows `(seq, device_id)` of that range give;
/// complete only when every value of the range has its row.
pub(crate) fn fleet_changes(after: i64, upto: i64, rows: &[(i64, Option<i64>)]) -> FleetChanges {
    let mut changes = FleetChanges {
        seq: upto,
        complete: true,
        devices: BTreeSet::new(),
        shared: false,
    };
    if !fleet_log_covers(after, upto) {
        changes.complete = false;
        return changes;
    }
    let mut seen = 0;
    for &(seq, device) in rows {
        if seq <= after || seq > upto {
            continue;
        }
        seen += 1;
        match device {
            Some(id) => {
                changes.devices.insert(DeviceId(id));
            }
            None => changes.shared = true,
        }
    }
    changes.complete = seen == upto - after;
    changes
}

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
            "fleet" => sequence.fleet = *seq,
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
                threat: 3,
                fleet: 0,
            }
        );
        assert_eq!(
            sequence(&rows(&[("advisories", 2), ("threat", 5), ("fleet", 7)])),
            ChangeSequence {
                advisories: 2,
                threat: 5,
                fleet: 7,
            }
        );
    }

    #[test]
    fn a_fleet_range_is_complete_only_with_one_row_per_value() {
        let changes = fleet_changes(3, 6, &[(4, Some(1)), (5, None), (6, Some(1))]);
        assert!(changes.complete);
        assert!(changes.shared);
        assert_eq!(changes.devices, BTreeSet::from([DeviceId(1)]));
        assert_eq!(changes.seq, 6);
        // A pruned value makes the range incomplete.
        assert!(!fleet_changes(3, 6, &[(5, None), (6, Some(1))]).complete);
        // Rows outside the range do not count.
        assert!(!fleet_changes(3, 6, &[(3, None), (5, None), (6, Some(1))]).complete);
        // Nothing changed: complete and empty.
        let none = fleet_changes(6, 6, &[]);
        assert!(none.complete && none.devices.is_empty() && !none.shared);
        // A range longer than a reader is given, or one that runs backwards (a restored database).
        assert!(!fleet_changes(0, FLEET_CHANGES_MAX + 1, &[]).complete);
        assert!(!fleet_changes(9, 6, &[]).complete);
    }

    #[test]
    fn the_log_is_pruned_at_multiples_keeping_the_newest() {
        assert_eq!(fleet_prune_below(FLEET_PRUNE_EVERY), None);
        assert_eq!(fleet_prune_below(FLEET_LOG_KEEP + 1), None);
        let at = FLEET_LOG_KEEP + FLEET_PRUNE_EVERY;
        assert_eq!(fleet_prune_below(at), Some(FLEET_PRUNE_EVERY));
    }
}
