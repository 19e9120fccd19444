//! The fleet kept in memory between requests: devices, their software, their open weaknesses, the
//! device groups and the exceptions, as one snapshot that every read model is computed from.
//!
//! Without it every request read the whole fleet from the store (the software of every device
//! above all). The snapshot is tagged with the store's fleet change counter
//! ([`bulwark_store::ChangeSequence::fleet`]) it was read at; a read first compares that counter with
//! the stored one (the one small read [`Engine::refresh`] makes anyway) and, when it moved, asks the
//! store's change log which devices changed and reloads only those (their row, software and open
//! weaknesses) — or the device rows, groups and exceptions together when a group or an exception
//! changed, or everything when the log no longer covers the range. Writes through another process on
//! the same database are seen the same way, at the next read.
//!
//! Invariant: a read model is computed from a snapshot that holds every fleet write committed before
//! the read began (the counter is read before the data, so the snapshot may also hold later writes,
//! which the next read then reloads once more); a patched snapshot equals one read whole at the same
//! point, in content and in order (devices by name, software by device then package, open weaknesses
//! by device then row).
//!
//! A counter that goes backwards — a database restored from a backup under a running server — is not
//! noticed (a held snapshot newer than the stored counter is kept): restart the servers after a
//! restore, as for any change of database.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use bulwark_core::exception::Exception;
use bulwark_core::group::DeviceGroup;
use bulwark_core::matching::PackageKey;
use bulwark_core::scan::software_key;
use bulwark_core::{Device, DeviceId, InstalledPackage, Weakness};
use bulwark_store::FleetChanges;

use crate::{Engine, EngineResult};

/// One snapshot of the fleet as stored at change counter `seq` (or later).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FleetState {
    /// The fleet change counter the snapshot was read at.
    pub(crate) seq: i64,
    /// Every exception, in the store's order.
    pub(crate) exceptions: Arc<Vec<Exception>>,
    /// Every device group, by rank.
    pub(crate) groups: Arc<Vec<DeviceGroup>>,
    /// Every device, by name.
    pub(crate) devices: Arc<Vec<Device>>,
    /// Every open weakness, by device id, then as stored.
    pub(crate) open: Arc<Vec<Weakness>>,
    /// Every installed package, by device id, then package.
    pub(crate) software: Arc<Vec<(DeviceId, InstalledPackage)>>,
    /// Counts derived from `software`, computed once per snapshot on first use.
    pub(crate) counts: Arc<SoftwareCounts>,
}

/// What reads count over the whole software set, computed at most once per snapshot (a patch starts
/// a new one): it depends on the software set alone, not on the time or the advisories.
#[derive(Debug, Default)]
pub(crate) struct SoftwareCounts {
    installed_on: OnceLock<HashMap<PackageKey, u64>>,
    per_device: OnceLock<HashMap<DeviceId, u64>>,
}

impl PartialEq for SoftwareCounts {
    /// Always equal: the counts are a function of the software set, which the snapshots compare.
    fn eq(&self, _: &SoftwareCounts) -> bool {
        true
    }
}

impl SoftwareCounts {
    /// Devices with each product (ecosystem, release, name) installed, any version.
    pub(crate) fn installed_on(
        &self,
        software: &[(DeviceId, InstalledPackage)],
    ) -> &HashMap<PackageKey, u64> {
        self.installed_on.get_or_init(|| {
            let mut devices: HashMap<PackageKey, BTreeSet<DeviceId>> = HashMap::new();
            for (device, package) in software {
                let key = software_key(package);
                let product = PackageKey {
                    ecosystem: key.ecosystem.ecosystem,
                    release: key.ecosystem.release,
                    name: key.name,
                };
                devices.entry(product).or_default().insert(*device);
            }
            devices
                .into_iter()
                .map(|(k, v)| (k, v.len() as u64))
                .collect()
        })
    }

    /// Installed packages per device.
    pub(crate) fn per_device(
        &self,
        software: &[(DeviceId, InstalledPackage)],
    ) -> &HashMap<DeviceId, u64> {
        self.per_device.get_or_init(|| {
            let mut counts: HashMap<DeviceId, u64> = HashMap::new();
            for (device, _) in software {
                *counts.entry(*device).or_default() += 1;
            }
            counts
        })
    }
}

/// What one device's reload read.
struct DeviceReload {
    id: DeviceId,
    row: Option<Device>,
    software: Vec<InstalledPackage>,
    open: Vec<Weakness>,
}

impl Engine {
    /// The fleet snapshot at change counter `upto` or later: the one held when it is that new,
    /// else brought up to date from the store's change log, else read whole.
    pub(crate) async fn fleet_state(&self, upto: i64) -> EngineResult<Arc<FleetState>> {
        if let Some(held) = self.held_fleet()
            && held.seq >= upto
        {
            return Ok(held);
        }
        let _loading = self.fleet_loading.lock().await;
        // A load that ran while this one waited may be new enough already.
        let held = self.held_fleet();
        if let Some(held) = &held
            && held.seq >= upto
        {
            return Ok(held.clone());
        }
        let state = match held {
            Some(held) => {
                let changes = self.store.fleet_changes(held.seq, upto).await?;
                if changes.complete {
                    // Let go of the engine's own reference, so that the patch can work in place.
                    self.fleet.write().unwrap_or_else(|e| e.into_inner()).take();
                    self.patched(held, &changes).await?
                } else {
                    self.read_fleet(upto).await?
                }
            }
            None => self.read_fleet(upto).await?,
        };
        let state = Arc::new(state);
        *self.fleet.write().unwrap_or_else(|e| e.into_inner()) = Some(state.clone());
        self.loaded_mut().fleet = upto;
        Ok(state)
    }

    /// Brings the held fleet snapshot up to the stored counter `upto`, if one is held (none is
    /// read here: the first read loads it).
    pub(crate) async fn refresh_held_fleet(&self, upto: i64) -> EngineResult<()> {
        if self.held_fleet().is_some_and(|held| held.seq < upto) {
            self.fleet_state(upto).await?;
        }
        Ok(())
    }

    /// The snapshot held now, if any.
    fn held_fleet(&self) -> Option<Arc<FleetState>> {
        self.fleet.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The whole fleet, read from the store (after the counter `seq` was read).
    pub(crate) async fn read_fleet(&self, seq: i64) -> EngineResult<FleetState> {
        Ok(FleetState {
            seq,
            exceptions: Arc::new(self.store.exceptions().await?),
            groups: Arc::new(self.store.device_groups().await?),
            devices: Arc::new(self.store.devices().await?),
            open: Arc::new(self.store.open_weaknesses().await?),
            software: Arc::new(self.store.all_software().await?),
            counts: Arc::default(),
        })
    }

    /// `held` with what `changes` names read again from the store. The store is read first; then
    /// the parts are changed in place when nothing else holds them (no request in flight), and
    /// copied first otherwise.
    async fn patched(
        &self,
        held: Arc<FleetState>,
        changes: &FleetChanges,
    ) -> EngineResult<FleetState> {
        let shared = if changes.shared {
            Some((
                self.store.exceptions().await?,
                self.store.device_groups().await?,
                self.store.devices().await?,
            ))
        } else {
            None
        };
        let mut reloads = Vec::with_capacity(changes.devices.len());
        for &id in &changes.devices {
            let row = if changes.shared {
                None
            } else {
                self.store.device(id).await?
            };
            reloads.push(DeviceReload {
                id,
                row,
                software: self.store.device_software(id).await?,
                open: self.store.open_weaknesses_of(id).await?,
            });
        }
        let mut state = Arc::unwrap_or_clone(held);
        state.seq = changes.seq;
        if let Some((exceptions, groups, devices)) = shared {
            state.exceptions = Arc::new(exceptions);
            state.groups = Arc::new(groups);
            state.devices = Arc::new(devices);
        } else if !reloads.is_empty() {
            let mut devices = Arc::unwrap_or_clone(state.devices);
            replace_device_rows(&mut devices, &reloads);
            state.devices = Arc::new(devices);
        }
        if reloads.is_empty() {
            return Ok(state);
        }
        let mut open = Arc::unwrap_or_clone(state.open);
        splice_devices(
            &mut open,
            |w| w.device_id,
            reloads
                .iter_mut()
                .map(|r| (r.id, std::mem::take(&mut r.open))),
        );
        state.open = Arc::new(open);
        let mut software = Arc::unwrap_or_clone(state.software);
        splice_devices(
            &mut software,
            |(device, _)| *device,
            reloads.iter_mut().map(|r| {
                let id = r.id;
                let packages = std::mem::take(&mut r.software);
                (id, packages.into_iter().map(|p| (id, p)).collect())
            }),
        );
        state.software = Arc::new(software);
        state.counts = Arc::default();
        Ok(state)
    }
}

/// Replaces each reloaded device's row in `devices` (in name order), adds it (a new device) or
/// removes it (gone).
fn replace_device_rows(devices: &mut Vec<Device>, reloads: &[DeviceReload]) {
    let changed: BTreeSet<DeviceId> = reloads.iter().map(|r| r.id).collect();
    devices.retain(|d| !changed.contains(&d.id));
    for row in reloads.iter().filter_map(|r| r.row.clone()) {
        let at = devices.partition_point(|d| d.name < row.name);
        devices.insert(at, row);
    }
}

/// Replaces, in `rows` (ordered by device id), the rows of each device `replacements` names by the
/// given ones (each already in its own order); `rows` stays ordered by device id.
fn splice_devices<T>(
    rows: &mut Vec<T>,
    device_of: impl Fn(&T) -> DeviceId,
    replacements: impl Iterator<Item = (DeviceId, Vec<T>)>,
) {
    for (device, new_rows) in replacements {
        let start = rows.partition_point(|r| device_of(r) < device);
        let end = start + rows[start..].partition_point(|r| device_of(r) == device);
        rows.splice(start..end, new_rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use bulwark_core::exception::{Justification, NewException, TargetKind};
    use bulwark_core::{DeviceInfo, SystemClock};
    use bulwark_store::{DevicePatch, NewDeviceGroup};
    use chrono::Utc;

    use crate::IngestRequest;

    const VULNLIB: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0001", "modified": "2024-03-01T00:00:00Z",
        "aliases": ["CVE-2024-1001"], "summary": "Heap overflow in vulnlib",
        "affected": [{"package": {"ecosystem": "crates.io", "name": "vulnlib"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}"#;

    fn ingest(name: &str, crates: &[(&str, &str)]) -> IngestRequest {
        let mut lock = String::from("version = 4\n");
        for (krate, version) in crates {
            lock.push_str(&format!(
                "\n[[package]]\nname = \"{krate}\"\nversion = \"{version}\"\n\
                 source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
            ));
        }
        IngestRequest {
            device: DeviceInfo {
                name: name.into(),
                ..DeviceInfo::default()
            },
            file: "Cargo.lock".into(),
            bytes: lock.into_bytes(),
            format: None,
        }
    }

    /// Brings `held` (the snapshot before a step) up to what is stored through the change log and
    /// checks that it is what a whole read gives at the same point.
    async fn patch_equals_whole_read(engine: &Engine, held: Arc<FleetState>, expect_shared: bool) {
        let upto = engine.store.change_sequence().await.unwrap().fleet;
        assert!(upto > held.seq, "the step changed the fleet");
        let changes = engine.store.fleet_changes(held.seq, upto).await.unwrap();
        assert!(changes.complete, "{changes:?}");
        assert_eq!(changes.shared, expect_shared, "{changes:?}");
        let patched = engine.patched(held, &changes).await.unwrap();
        assert_eq!(patched, engine.read_fleet(upto).await.unwrap());
        // And the engine's own read takes the same path.
        assert_eq!(*engine.fleet_state(upto).await.unwrap(), patched);
    }

    #[tokio::test]
    async fn a_patched_snapshot_equals_a_whole_read_after_every_kind_of_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), VULNLIB).unwrap();
        let (store, _database) = bulwark_store::testing::fresh_store().await.expect("store");
        let engine = Engine::open(store.clone(), Arc::new(SystemClock))
            .await
            .unwrap();
        engine.import(dir.path(), &|_| {}).await.unwrap();
        for (name, version) in [("web-01", "1.0.0"), ("web-02", "1.3.0"), ("db-01", "1.1.0")] {
            engine
                .ingest(ingest(name, &[("vulnlib", version), ("serde", "1.0.0")]))
                .await
                .unwrap();
        }
        let first = engine.fleet().await.unwrap();
        assert_eq!(first.devices.len(), 3);
        assert_eq!(first.open.len(), 2);

        // A new device, sorted between the others by name.
        let held = engine.held_fleet().unwrap();
        engine
            .ingest(ingest("m-01", &[("vulnlib", "1.0.0")]))
            .await
            .unwrap();
        patch_equals_whole_read(&engine, held, false).await;
        // A device fixed and given other software; another one's weakness appears.
        let held = engine.held_fleet().unwrap();
        engine
            .ingest(ingest(
                "web-01",
                &[("vulnlib", "1.2.3"), ("tokio", "1.0.0")],
            ))
            .await
            .unwrap();
        engine
            .ingest(ingest("web-02", &[("vulnlib", "0.9.0")]))
            .await
            .unwrap();
        patch_equals_whole_read(&engine, held, false).await;
        // A write through the store alone (as another process makes it).
        let held = engine.held_fleet().unwrap();
        let db = store.device_by_name("db-01").await.unwrap().unwrap();
        let patch = DevicePatch {
            tags: Some(vec!["internet-facing".into()]),
            ..DevicePatch::default()
        };
        store.update_device(db.id, &patch).await.unwrap();
        patch_equals_whole_read(&engine, held, false).await;
        // Groups and exceptions, together with a device change.
        let held = engine.held_fleet().unwrap();
        let group = NewDeviceGroup {
            name: "Web".into(),
            description: String::new(),
            rank: 1,
            rules: vec![],
        };
        store.create_device_group(&group, Utc::now()).await.unwrap();
        let now = Utc::now();
        let exception = NewException {
            kind: TargetKind::Recommendation,
            target: "crates.io-vulnlib".into(),
            justification: Justification::RiskAccepted,
            context: "accepted".into(),
            global: true,
            groups: vec![],
            created_by: "ana@example.com".into(),
            created_at: now,
            expires_at: now + chrono::Duration::days(30),
        };
        store
            .create_exception(&exception, "ana@example.com")
            .await
            .unwrap();
        engine
            .ingest(ingest("db-01", &[("vulnlib", "1.0.1")]))
            .await
            .unwrap();
        patch_equals_whole_read(&engine, held, true).await;
        let last = engine.fleet().await.unwrap();
        assert_eq!(last.exceptions.len(), 1);
        assert_eq!(last.groups.len(), 1);
        assert_eq!(
            last.devices
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>(),
            ["db-01", "m-01", "web-01", "web-02"]
        );
    }

    #[test]
    fn splicing_replaces_exactly_the_changed_devices_in_place() {
        let device_of = |r: &(i64, char)| DeviceId(r.0);
        let mut rows = vec![(1, 'a'), (1, 'b'), (3, 'c'), (5, 'd'), (5, 'e')];
        splice_devices(
            &mut rows,
            device_of,
            vec![
                (DeviceId(1), vec![(1, 'x')]),
                (DeviceId(4), vec![(4, 'y'), (4, 'z')]),
                (DeviceId(5), vec![]),
            ]
            .into_iter(),
        );
        assert_eq!(rows, vec![(1, 'x'), (3, 'c'), (4, 'y'), (4, 'z')]);
        // A device past the last row is appended, one before the first prepended.
        splice_devices(
            &mut rows,
            device_of,
            vec![(DeviceId(0), vec![(0, 'f')]), (DeviceId(9), vec![(9, 'n')])].into_iter(),
        );
        assert_eq!(rows.first(), Some(&(0, 'f')));
        assert_eq!(rows.last(), Some(&(9, 'n')));
        assert_eq!(rows.len(), 6);
    }
}
