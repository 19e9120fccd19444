//! What a write changes, decided the same way for both backends before any statement runs.
//!
//! Each `Store` write reads the rows it may change, hands them to a function here with what the caller
//! gave, and gets back a plan: which rows to insert, update, resolve or delete, and the diff the call
//! returns. The backends only read and write rows (one statement per row in SQLite, one per kind of
//! change in PostgreSQL), so the semantics of the trait (an advisory replaces the stored one only when
//! its `modified` is later; a software set is compared as a set; a weakness keeps its first detection
//! while it stays detected) are written once and cannot drift between backends.

use std::collections::{HashMap, HashSet};

use bulwark_core::threat::{KevCatalog, NvdRecord};
use bulwark_core::{Advisory, InstalledPackage, SoftwareKey};

use crate::codec::{self, APPEARED, DISAPPEARED, OpenWeakness};
use crate::{
    AdvisoryUpsertStats, DetectedWeakness, InventoryDiff, KevDiff, StoreError, StoreResult,
    WeaknessDiff,
};

/// One advisory of a batch, with its times parsed.
#[derive(Debug)]
pub(crate) struct Incoming<'a> {
    /// The record.
    pub(crate) advisory: &'a Advisory,
    /// Its `modified` time, in stored microseconds.
    pub(crate) modified: i64,
    /// Its `withdrawn` time, in stored microseconds.
    pub(crate) withdrawn: Option<i64>,
}

/// The error for an advisory whose time field is not RFC 3339; the whole batch is refused.
fn bad_time(id: &str, field: &str, value: &str, e: chrono::ParseError) -> StoreError {
    StoreError::Invalid {
        what: format!("advisory {id:?}"),
        reason: format!("{field} {value:?} is not an RFC 3339 time ({e})"),
    }
}

/// Parses the batch's times and keeps, per id, the record with the latest `modified` (the first one
/// given on a tie), in the order ids first appear. Refuses the batch if any time does not parse.
pub(crate) fn newest_per_id(advisories: &[Advisory]) -> StoreResult<Vec<Incoming<'_>>> {
    let mut out: Vec<Incoming<'_>> = Vec::with_capacity(advisories.len());
    let mut slot: HashMap<&str, usize> = HashMap::with_capacity(advisories.len());
    for advisory in advisories {
        let modified = codec::rfc3339_micros(&advisory.modified)
            .map_err(|e| bad_time(&advisory.id, "modified", &advisory.modified, e))?;
        let withdrawn = match &advisory.withdrawn {
            Some(w) => Some(
                codec::rfc3339_micros(w).map_err(|e| bad_time(&advisory.id, "withdrawn", w, e))?,
            ),
            None => None,
        };
        let incoming = Incoming {
            advisory,
            modified,
            withdrawn,
        };
        match slot.get(advisory.id.as_str()) {
            Some(&i) if out[i].modified < modified => out[i] = incoming,
            Some(_) => {}
            None => {
                slot.insert(&advisory.id, out.len());
                out.push(incoming);
            }
        }
    }
    Ok(out)
}

/// The stats of a batch of `given` records of which `kept` remain after [`newest_per_id`]: records
/// that lost to a newer duplicate in the same batch changed nothing.
pub(crate) fn batch_stats(given: usize, kept: usize) -> AdvisoryUpsertStats {
    AdvisoryUpsertStats {
        unchanged: (given - kept) as u64,
        ..AdvisoryUpsertStats::default()
    }
}

/// How one incoming advisory is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdvisoryWrite {
    /// No record with its id is stored.
    Insert,
    /// It replaces an older stored record.
    Update,
}

/// Decides what to do with `incoming`, given the `modified` of the stored record with its id, and
/// counts the decision in `stats`; `None` when the stored record is as new or newer.
pub(crate) fn decide(
    stats: &mut AdvisoryUpsertStats,
    incoming: &Incoming<'_>,
    stored_modified: Option<i64>,
) -> Option<AdvisoryWrite> {
    decide_record(
        stats,
        &incoming.advisory.id,
        incoming.modified,
        stored_modified,
    )
}

/// [`decide`] for any record kept by id with a modification time (advisories, NVD records).
pub(crate) fn decide_record(
    stats: &mut AdvisoryUpsertStats,
    id: &str,
    modified: i64,
    stored_modified: Option<i64>,
) -> Option<AdvisoryWrite> {
    let write = match stored_modified {
        None => {
            stats.inserted += 1;
            AdvisoryWrite::Insert
        }
        Some(old) if modified > old => {
            stats.updated += 1;
            AdvisoryWrite::Update
        }
        Some(_) => {
            stats.unchanged += 1;
            return None;
        }
    };
    stats.changed_ids.push(id.to_string());
    Some(write)
}

/// One NVD record of a batch, with its `lastModified` parsed and its JSON encoded.
#[derive(Debug)]
pub(crate) struct IncomingNvd<'a> {
    /// The record.
    pub(crate) record: &'a NvdRecord,
    /// Its `lastModified`, in stored microseconds.
    pub(crate) last_modified: i64,
    /// The record as the JSON text stored.
    pub(crate) json: String,
}

/// Keeps, per CVE, the record with the latest `lastModified` (the first on a tie), in first-seen
/// order; refuses the batch if a time does not parse.
pub(crate) fn newest_nvd(records: &[NvdRecord]) -> StoreResult<Vec<IncomingNvd<'_>>> {
    let mut out: Vec<IncomingNvd<'_>> = Vec::with_capacity(records.len());
    let mut slot: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for record in records {
        let last_modified =
            codec::rfc3339_micros(&record.last_modified).map_err(|e| StoreError::Invalid {
                what: format!("NVD record {:?}", record.id),
                reason: format!(
                    "lastModified {:?} is not an RFC 3339 time ({e})",
                    record.last_modified
                ),
            })?;
        match slot.get(record.id.as_str()) {
            Some(&i) if out[i].last_modified < last_modified => {
                out[i].record = record;
                out[i].last_modified = last_modified;
            }
            Some(_) => {}
            None => {
                slot.insert(&record.id, out.len());
                out.push(IncomingNvd {
                    record,
                    last_modified,
                    json: String::new(),
                });
            }
        }
    }
    for incoming in &mut out {
        incoming.json = codec::json_text("nvd_records", incoming.record)?;
    }
    Ok(out)
}

/// What replacing the KEV catalog changes, given the CVE ids stored now.
pub(crate) fn kev_diff(stored: &HashSet<String>, catalog: &KevCatalog) -> KevDiff {
    let mut seen: HashSet<&str> = HashSet::with_capacity(catalog.entries.len());
    let mut diff = KevDiff::default();
    for entry in &catalog.entries {
        if !seen.insert(&entry.cve_id) {
            continue;
        }
        if stored.contains(&entry.cve_id) {
            diff.kept += 1;
        } else {
            diff.added.push(entry.cve_id.clone());
        }
    }
    let mut removed: Vec<String> = stored
        .iter()
        .filter(|id| !seen.contains(id.as_str()))
        .cloned()
        .collect();
    removed.sort();
    diff.removed = removed;
    diff
}

/// The KEV catalog's entries to store: the first entry of each CVE, with its JSON and date.
pub(crate) fn kev_rows(catalog: &KevCatalog) -> StoreResult<Vec<(&str, i64, String)>> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(catalog.entries.len());
    let mut rows = Vec::with_capacity(catalog.entries.len());
    for entry in &catalog.entries {
        if seen.insert(&entry.cve_id) {
            rows.push((
                entry.cve_id.as_str(),
                codec::date_micros(entry.date_added),
                codec::json_text("kev_entries", entry)?,
            ));
        }
    }
    Ok(rows)
}

/// How a device's stored software set becomes the one given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InventoryPlan {
    /// Ids of the `device_software` rows to delete.
    pub(crate) delete: Vec<i64>,
    /// The packages to insert (`appeared`) and what the call returns.
    pub(crate) diff: InventoryDiff,
}

impl InventoryPlan {
    /// Whether carrying out the plan changes any row (and so the fleet's change counter moves).
    pub(crate) fn changes_rows(&self) -> bool {
        !(self.delete.is_empty() && self.diff.appeared.is_empty())
    }

    /// The `inventory_changes` to record, as (change, package): appeared in the order given, then
    /// disappeared in package order.
    pub(crate) fn changes(&self) -> impl Iterator<Item = (&'static str, &InstalledPackage)> {
        let appeared = self.diff.appeared.iter().map(|p| (APPEARED, p));
        appeared.chain(self.diff.disappeared.iter().map(|p| (DISAPPEARED, p)))
    }
}

/// Compares the stored rows (id, package) of a device with the packages given. Packages given twice
/// count once; stored rows repeating a package (never written by this code) are deleted.
pub(crate) fn plan_inventory(
    stored: Vec<(i64, InstalledPackage)>,
    packages: &[InstalledPackage],
) -> InventoryPlan {
    // Stored package → its row id.
    let mut by_package: HashMap<InstalledPackage, i64> = HashMap::with_capacity(stored.len());
    let mut delete: Vec<i64> = Vec::new();
    for (id, package) in stored {
        if let Some(previous) = by_package.insert(package, id) {
            delete.push(previous);
        }
    }
    let mut seen: HashSet<&InstalledPackage> = HashSet::with_capacity(packages.len());
    let mut appeared: Vec<InstalledPackage> = Vec::new();
    for p in packages {
        if seen.insert(p) && by_package.remove(p).is_none() {
            appeared.push(p.clone());
        }
    }
    let mut gone: Vec<(InstalledPackage, i64)> = by_package.into_iter().collect();
    gone.sort_by(|a, b| codec::package_cmp(&a.0, &b.0));
    delete.extend(gone.iter().map(|(_, id)| *id));
    let disappeared: Vec<InstalledPackage> = gone.into_iter().map(|(p, _)| p).collect();
    InventoryPlan {
        delete,
        diff: InventoryDiff {
            appeared,
            disappeared,
        },
    }
}

/// A weakness row to open.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NewWeakness<'a> {
    /// The vulnerable software.
    pub(crate) software: &'a SoftwareKey,
    /// The vulnerability.
    pub(crate) vulnerability_id: &'a str,
    /// The advisories reporting it, as the JSON text stored.
    pub(crate) advisory_ids: String,
}

/// How a device's open weaknesses become the ones detected.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct WeaknessPlan<'a> {
    /// Open rows that stay open with a new list of advisories: (row id, the list as JSON text).
    pub(crate) relist: Vec<(i64, String)>,
    /// Ids of the open rows to resolve.
    pub(crate) resolve: Vec<i64>,
    /// Rows to open, in the order detected.
    pub(crate) open: Vec<NewWeakness<'a>>,
    /// What the call returns.
    pub(crate) diff: WeaknessDiff,
}

impl WeaknessPlan<'_> {
    /// Whether carrying out the plan changes any row (and so the fleet's change counter moves).
    pub(crate) fn changes_rows(&self) -> bool {
        !(self.relist.is_empty() && self.resolve.is_empty() && self.open.is_empty())
    }
}

/// Compares a device's open rows (in id order) with what is detected now. A row still detected stays
/// open with its first detection, only its list of advisories following the new data; a second open
/// row for the same key (never written by this code) is resolved, as is every row no longer detected.
pub(crate) fn plan_weaknesses<'a>(
    open: &[OpenWeakness],
    detected: &'a [DetectedWeakness],
) -> WeaknessPlan<'a> {
    let detected = detected_by_key(detected);
    let wanted: HashMap<(&SoftwareKey, &str), usize> = detected
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (*key, i))
        .collect();
    // Which of `detected` already have an open row.
    let mut still_open = vec![false; detected.len()];
    let mut plan = WeaknessPlan::default();
    for row in open {
        match wanted.get(&(&row.software, row.vulnerability_id.as_str())) {
            Some(&i) if !still_open[i] => {
                let ids = &detected[i].1;
                if row.advisory_ids != *ids {
                    plan.relist.push((row.id, codec::string_list_json(ids)));
                }
                still_open[i] = true;
                plan.diff.kept += 1;
            }
            _ => {
                plan.resolve.push(row.id);
                plan.diff.resolved += 1;
            }
        }
    }
    for (((software, vulnerability_id), ids), open) in detected.into_iter().zip(still_open) {
        if !open {
            plan.open.push(NewWeakness {
                software,
                vulnerability_id,
                advisory_ids: codec::string_list_json(&ids),
            });
        }
    }
    plan.diff.opened = plan.open.len() as u64;
    plan
}

/// The detected weaknesses keyed as open rows are, duplicates merged (their advisory ids united).
fn detected_by_key(detected: &[DetectedWeakness]) -> Vec<((&SoftwareKey, &str), Vec<String>)> {
    let mut out: Vec<((&SoftwareKey, &str), Vec<String>)> = Vec::with_capacity(detected.len());
    let mut slot: HashMap<(&SoftwareKey, &str), usize> = HashMap::with_capacity(detected.len());
    for d in detected {
        let key = (&d.software, d.vulnerability_id.as_str());
        match slot.get(&key) {
            Some(&i) => out[i].1.extend(d.advisory_ids.iter().cloned()),
            None => {
                slot.insert(key, out.len());
                out.push((key, d.advisory_ids.clone()));
            }
        }
    }
    for (_, ids) in &mut out {
        ids.sort();
        ids.dedup();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::{Ecosystem, EcosystemRelease};

    /// A minimal record: the lists empty, every optional field absent.
    fn advisory(id: &str, modified: &str) -> Advisory {
        let record = serde_json::json!({
            "id": id, "modified": modified, "aliases": [], "related": [], "affected": [], "references": []
        });
        serde_json::from_value(record).unwrap()
    }

    fn package(name: &str) -> InstalledPackage {
        InstalledPackage::new(EcosystemRelease::new(Ecosystem::Npm, None), name, "1")
    }

    fn key(name: &str) -> SoftwareKey {
        SoftwareKey {
            ecosystem: EcosystemRelease::new(Ecosystem::Npm, None),
            name: name.into(),
            version: "1".into(),
        }
    }

    fn detected(name: &str, vulnerability: &str, advisories: &[&str]) -> DetectedWeakness {
        DetectedWeakness {
            software: key(name),
            vulnerability_id: vulnerability.into(),
            advisory_ids: advisories.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn open_row(id: i64, name: &str, vulnerability: &str, advisories: &[&str]) -> OpenWeakness {
        OpenWeakness {
            id,
            software: key(name),
            vulnerability_id: vulnerability.into(),
            advisory_ids: advisories.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn the_newest_record_per_id_wins_in_first_seen_order() {
        let batch = [
            advisory("B", "2024-01-01T00:00:00Z"),
            advisory("A", "2024-01-01T00:00:00Z"),
            advisory("B", "2024-03-01T00:00:00Z"),
            advisory("B", "2024-03-01T00:00:00+00:00"),
            advisory("A", "2023-12-31T00:00:00Z"),
        ];
        let kept: Vec<(&str, &str)> = newest_per_id(&batch)
            .unwrap()
            .iter()
            .map(|i| (i.advisory.id.as_str(), i.advisory.modified.as_str()))
            .collect();
        assert_eq!(
            kept,
            [("B", "2024-03-01T00:00:00Z"), ("A", "2024-01-01T00:00:00Z")]
        );
        let bad = [advisory("A", "2024-01-01")];
        assert!(matches!(
            newest_per_id(&bad),
            Err(StoreError::Invalid { .. })
        ));
    }

    #[test]
    fn only_a_later_modified_replaces_a_stored_record() {
        let a = advisory("A", "2024-01-01T00:00:00Z");
        let incoming = &newest_per_id(std::slice::from_ref(&a)).unwrap()[0];
        let mut stats = batch_stats(3, 1);
        let m = incoming.modified;
        let decisions = [None, Some(m - 1), Some(m), Some(m + 1)]
            .map(|stored| decide(&mut stats, incoming, stored));
        use AdvisoryWrite::{Insert, Update};
        assert_eq!(decisions, [Some(Insert), Some(Update), None, None]);
        assert_eq!(
            (stats.inserted, stats.updated, stats.unchanged),
            (1, 1, 2 + 2)
        );
        assert_eq!(stats.changed_ids, ["A", "A"]);
    }

    #[test]
    fn inventories_are_compared_as_sets() {
        let stored = vec![(1, package("a")), (2, package("b")), (3, package("a"))];
        let given = [package("c"), package("a"), package("c")];
        let plan = plan_inventory(stored, &given);
        assert_eq!(plan.delete, [1, 2]);
        assert_eq!(plan.diff.appeared, [package("c")]);
        assert_eq!(plan.diff.disappeared, [package("b")]);
        let changes: Vec<(&str, &str)> = plan
            .changes()
            .map(|(change, p)| (change, p.name.as_str()))
            .collect();
        assert_eq!(changes, [("appeared", "c"), ("disappeared", "b")]);
    }

    #[test]
    fn open_weaknesses_follow_what_is_detected() {
        let open = [
            open_row(1, "a", "CVE-1", &["X"]),
            open_row(2, "b", "CVE-2", &["Y"]),
            open_row(3, "a", "CVE-1", &["X"]),
            open_row(4, "c", "CVE-3", &["Z", "W"]),
        ];
        let now = [
            detected("d", "CVE-4", &["V"]),
            detected("a", "CVE-1", &["X"]),
            detected("c", "CVE-3", &["Z"]),
            detected("c", "CVE-3", &["W", "Z"]),
            detected("e", "CVE-5", &["U"]),
        ];
        let plan = plan_weaknesses(&open, &now);
        assert_eq!(plan.relist, [(4, r#"["W","Z"]"#.to_string())]);
        assert_eq!(plan.resolve, [2, 3]);
        let opened: Vec<(&str, &str, &str)> = plan
            .open
            .iter()
            .map(|w| {
                let name = w.software.name.as_str();
                (name, w.vulnerability_id, w.advisory_ids.as_str())
            })
            .collect();
        assert_eq!(
            opened,
            [("d", "CVE-4", r#"["V"]"#), ("e", "CVE-5", r#"["U"]"#)]
        );
        assert_eq!(
            plan.diff,
            WeaknessDiff {
                opened: 2,
                resolved: 2,
                kept: 2
            }
        );
    }
}
