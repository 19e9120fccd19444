//! Bulwark's application services over a [`Store`]: importing advisories, ingesting device inventories,
//! re-matching the fleet when advisories change, and the views (recommendations, machines,
//! vulnerabilities) that the HTTP API and the CLI show.
//!
//! The engine keeps the advisory index in memory (built once from the store after each import, through
//! this process or another: see [`Engine::refresh`]) and never decodes advisories on the matching path. Time
//! comes from the injected [`Clock`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::context::ThreatContext;
use bulwark_core::cpe_index::nvd_advisory_id;
use bulwark_core::exposure::{exposure_impacts, exposure_scores};
use bulwark_core::inventory::{assign_os, os_ecosystem};
use bulwark_core::matching::{AdvisoryIndex, IndexDiagnostic, PackageKey};
use bulwark_core::recommendation::{
    Recommendation, RecommendationInput, VulnerabilitySummary, recommendation_id, recommendations,
    summarize_vulnerability,
};
use bulwark_core::scan::{
    Finding, Unassessed, match_distinct, software_key, weaknesses_from_outcomes,
};
use bulwark_core::score::DeviceValue;
use bulwark_core::{
    Advisory, Clock, Device, DeviceId, DeviceInfo, InstalledPackage, InventoryNote, SoftwareKey,
    Weakness,
};
use bulwark_formats::FormatError;
use bulwark_formats::import::FeedItem;
use bulwark_formats::inventory::{InventoryFormat, parse_auto};
use bulwark_store::{DetectedWeakness, Store, StoreError};

mod agent;
mod changes;
mod config;
mod exceptions;
mod fleet;
mod identity;
mod jobs;
mod remediation;
mod scores;
mod vex;
mod views;
mod webhooks;

pub use agent::AgentIngestSummary;
pub use bulwark_store::{
    AuditFilter, DeviceGroupPatch, DevicePatch, NewDeviceGroup, ScoreScope, ScoreSnapshot,
};
pub use bulwark_store::{ChangeSequence, PoolStatus};
pub use config::{
    AssessmentFormat, AssessmentRequest, AssessmentSummary, CONFIGURATION_CHANGE,
    CONFIGURATION_RECOMMENDATION_PREFIX, CategoryScores, ConfigurationRecommendation,
    ConfigurationRecommendationMachine, ConfigurationScore, DeviceConfigurationScore,
    GroupConfigurationScore, MachineConfiguration,
};
pub use exceptions::{
    EXPIRING_NOTICE_DAYS, ExceptionGroupView, ExceptionJobReport, ExceptionPreview, ExceptionView,
    ImpactMode, POLICY_SETTING, SYSTEM_ACTOR,
};
pub use identity::{
    CreatedToken, LOCAL_ADMIN, SESSION_IDLE, SESSION_LIFETIME, StartedSession, local_admin,
};
pub use remediation::{TaskRequest, TaskView};
pub use scores::{DeviceScore, ExposureReport, ExposureSummary, GroupScore, LevelCounts, Overview};
pub use vex::{ExceptionImport, ImportedProposal, VexFormat};
pub use views::{MachineView, ProductView, SoftwareView};
pub use webhooks::{DELIVERY_HEADER, DeliveryReport, EVENT_HEADER};

/// Errors of the engine; callers (HTTP, CLI) map each variant to a status or exit code.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed (its `NotFound` and `Conflict` become this type's own variants).
    #[error(transparent)]
    Store(StoreError),
    /// An input file could not be read or parsed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with what is stored (a name already taken).
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials were given.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A background task failed (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    /// A missing row or a conflicting change keeps its meaning for the caller (404, 409); every other
    /// store failure is the store's.
    fn from(e: StoreError) -> EngineError {
        match e {
            StoreError::NotFound(what) => EngineError::NotFound(what),
            StoreError::Conflict(what) => EngineError::Conflict(what),
            other => EngineError::Store(other),
        }
    }
}

/// Result alias for engine calls.
pub type EngineResult<T> = Result<T, EngineError>;

/// Advisories are written to the store in batches of this many (one transaction each).
const IMPORT_BATCH: usize = 5_000;

/// What an advisory import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Files read (archive members included).
    pub files_read: u64,
    /// Advisory records read.
    pub advisories_read: u64,
    /// Records new to the store.
    pub inserted: u64,
    /// Records replaced by a newer `modified`.
    pub updated: u64,
    /// Records already stored with the same or a newer `modified`.
    pub unchanged: u64,
    /// JSON/YAML files that are not OSV records (skipped).
    pub not_osv: u64,
    /// Records converted from feeds that are not OSV (Alpine secdb, Red Hat CSAF, RubySec, Node.js WG), by feed.
    pub feed_advisories: BTreeMap<String, u64>,
    /// Feed entries skipped on purpose, by reason.
    pub feed_skipped: BTreeMap<String, u64>,
    /// Affected entries left out because Bulwark does not match their ecosystem, by ecosystem name.
    pub unsupported_ecosystems: BTreeMap<String, u64>,
    /// Files that could not be parsed (each names the file and the place).
    pub errors: Vec<String>,
    /// Ranges the index could not use (unparseable event versions).
    pub index_diagnostics: Vec<IndexDiagnostic>,
    /// NVD records read and stored.
    pub nvd: NvdImport,
    /// The KEV catalog imported (the last one, when several were read).
    pub kev: KevImport,
    /// EPSS scores read and stored.
    pub epss: EpssImport,
    /// Devices whose weaknesses were recomputed.
    pub devices_rematched: u64,
    /// Weaknesses opened by the re-match.
    pub weaknesses_opened: u64,
    /// Weaknesses resolved by the re-match.
    pub weaknesses_resolved: u64,
}

/// What an import did with NVD documents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NvdImport {
    /// NVD documents read whole.
    pub files: u64,
    /// Records in them.
    pub read: u64,
    /// Records new to the store.
    pub inserted: u64,
    /// Records replaced by a newer `lastModified`.
    pub updated: u64,
    /// Records already stored as new or newer.
    pub unchanged: u64,
}

/// What an import did with KEV catalogs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KevImport {
    /// Catalogs read whole (each replaces the stored one).
    pub files: u64,
    /// Entries of the last catalog.
    pub entries: u64,
    /// Its version, when the JSON form names it.
    pub catalog_version: Option<String>,
    /// CVEs newly listed.
    pub added: Vec<String>,
    /// CVEs no longer listed.
    pub removed: Vec<String>,
}

/// What an import did with EPSS files.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpssImport {
    /// EPSS files read whole.
    pub files: u64,
    /// Scores in them.
    pub read: u64,
    /// Scores stored.
    pub written: u64,
    /// Scores not stored because a later-dated score is.
    pub older: u64,
}

/// An inventory to ingest for one device.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    /// The device it comes from.
    pub device: DeviceInfo,
    /// The file's name, for error messages.
    pub file: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The format, when forced; detected from the content otherwise.
    pub format: Option<InventoryFormat>,
}

/// What an ingest did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestSummary {
    /// The device, as stored after the ingest.
    pub device: Device,
    /// The format the inventory was read as.
    pub format: String,
    /// Packages in the inventory.
    pub packages: u64,
    /// Packages that appeared since the previous ingest.
    pub appeared: u64,
    /// Packages that disappeared since the previous ingest.
    pub disappeared: u64,
    /// Open weaknesses of the device after the ingest.
    pub open_weaknesses: u64,
    /// Weaknesses newly detected.
    pub opened: u64,
    /// Weaknesses no longer detected.
    pub resolved: u64,
    /// Entries of the inventory that could not be assessed.
    pub notes: Vec<InventoryNote>,
    /// Package versions that could not be parsed for matching.
    pub unassessed: Vec<Unassessed>,
    /// Informational advisories (unmaintained, unsound, notice) that apply: warnings, not weaknesses.
    pub warnings: Vec<Finding>,
}

/// The engine: a store, a clock and the in-memory advisory index.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    index: RwLock<Arc<AdvisoryIndex>>,
    threat: RwLock<Arc<ThreatContext>>,
    /// The change sequence `index` and `threat` were loaded at (see [`changes`]).
    loaded: RwLock<ChangeSequence>,
    /// Held while `index` or `threat` is rebuilt, so that reloads run one at a time and reads that
    /// find the same change rebuild it once.
    reloading: tokio::sync::Mutex<()>,
    /// The fleet snapshot the read models are computed from (see [`fleet`]).
    fleet: RwLock<Option<Arc<fleet::FleetState>>>,
    /// Held while the fleet snapshot is brought up to date, so that it is read once per change.
    fleet_loading: tokio::sync::Mutex<()>,
    /// This engine's name as a holder of background-job leases.
    instance: String,
}

impl Engine {
    /// Opens the engine over a store, building the advisory index from what is stored.
    pub async fn open(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> EngineResult<Engine> {
        let engine = Engine {
            store,
            clock,
            index: RwLock::new(Arc::new(AdvisoryIndex::default())),
            threat: RwLock::new(Arc::new(ThreatContext::default())),
            loaded: RwLock::new(ChangeSequence::default()),
            reloading: tokio::sync::Mutex::new(()),
            fleet: RwLock::new(None),
            fleet_loading: tokio::sync::Mutex::new(()),
            instance: jobs::instance_id(),
        };
        engine.reload_index().await?;
        engine.reload_threat().await?;
        Ok(engine)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current time from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The current advisory index.
    pub fn index(&self) -> Arc<AdvisoryIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current threat context (NVD, KEV, EPSS).
    pub fn threat(&self) -> Arc<ThreatContext> {
        self.threat
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Rebuilds the threat context from the stored NVD records, KEV catalog and EPSS scores.
    pub async fn reload_threat(&self) -> EngineResult<()> {
        let _reloading = self.reloading.lock().await;
        self.load_threat().await
    }

    /// [`Engine::reload_threat`], with `reloading` held by the caller.
    async fn load_threat(&self) -> EngineResult<()> {
        // Read before the data: what is loaded is then at least as new as what is recorded.
        let sequence = self.store.change_sequence().await?;
        let nvd = self.store.nvd_records().await?;
        let kev = self.store.kev().await?;
        let epss = self.store.epss().await?;
        let context =
            tokio::task::spawn_blocking(move || ThreatContext::build(&nvd, &kev, &epss.scores))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?;
        *self.threat.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(context);
        self.loaded_mut().threat = sequence.threat;
        Ok(())
    }

    /// Rebuilds the index from the stored advisories; returns the index diagnostics.
    pub async fn reload_index(&self) -> EngineResult<Vec<IndexDiagnostic>> {
        let _reloading = self.reloading.lock().await;
        self.load_index().await
    }

    /// [`Engine::reload_index`], with `reloading` held by the caller.
    async fn load_index(&self) -> EngineResult<Vec<IndexDiagnostic>> {
        // Read before the data: what is loaded is then at least as new as what is recorded.
        let sequence = self.store.change_sequence().await?;
        let advisories = self.store.advisories().await?;
        let (index, diagnostics) =
            tokio::task::spawn_blocking(move || AdvisoryIndex::build(advisories))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?;
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(index);
        self.loaded_mut().advisories = sequence.advisories;
        Ok(diagnostics)
    }

    /// Imports every feed document under `path` (file, directory tree or archive), each recognised by
    /// its content: OSV records and the advisory feeds converted to them, streamed in batches; NVD
    /// records, the CISA KEV catalog and EPSS scores, each document stored whole or not at all. Then
    /// rebuilds what changed (the advisory index and a fleet re-match, the threat context) and records
    /// a score snapshot. `progress` is called with the number of advisories read so far.
    pub async fn import(
        &self,
        path: &Path,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> EngineResult<ImportSummary> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<FeedItem>(IMPORT_BATCH * 2);
        let path: PathBuf = path.to_path_buf();
        let reader = tokio::task::spawn_blocking(move || {
            bulwark_formats::import::read_feeds(&path, &mut |item| {
                // A closed channel means the store side failed; its error is reported, not this one.
                let _ = tx.blocking_send(item);
            })
        });
        let mut summary = ImportSummary::default();
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let mut changed = false;
        let mut threat_changed = false;
        let now = self.clock.now();
        while let Some(item) = rx.recv().await {
            match item {
                FeedItem::Advisory(advisory) => {
                    batch.push(*advisory);
                    summary.advisories_read += 1;
                    if batch.len() == IMPORT_BATCH {
                        changed |= self.write_batch(&mut batch, &mut summary).await?;
                        progress(summary.advisories_read);
                    }
                }
                FeedItem::Nvd { records, .. } => {
                    summary.nvd.read += records.len() as u64;
                    for chunk in records.chunks(IMPORT_BATCH) {
                        let stats = self.store.upsert_nvd(chunk).await?;
                        summary.nvd.inserted += stats.inserted;
                        summary.nvd.updated += stats.updated;
                        summary.nvd.unchanged += stats.unchanged;
                        threat_changed |= stats.inserted + stats.updated > 0;
                    }
                }
                FeedItem::Kev { catalog, .. } => {
                    let diff = self.store.replace_kev(&catalog, now).await?;
                    summary.kev.entries = catalog.entries.len() as u64;
                    summary.kev.catalog_version = catalog.catalog_version.clone();
                    // Entries kept may have changed too (a new due date): a catalog always counts.
                    threat_changed = true;
                    summary.kev.added.extend(diff.added);
                    summary.kev.removed.extend(diff.removed);
                }
                FeedItem::Epss { set, .. } => {
                    let stats = self.store.upsert_epss(&set, now).await?;
                    summary.epss.read += set.scores.len() as u64;
                    summary.epss.written += stats.written;
                    summary.epss.older += stats.older;
                    threat_changed |= stats.written > 0;
                }
            }
        }
        changed |= self.write_batch(&mut batch, &mut summary).await?;
        progress(summary.advisories_read);
        let report = reader
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))??;
        let (nvd_files, kev_files, epss_files) =
            (report.nvd_files, report.kev_files, report.epss_files);
        let report = report.advisories;
        summary.files_read = report.files_read;
        summary.nvd.files = nvd_files;
        summary.kev.files = kev_files;
        summary.epss.files = epss_files;
        summary.not_osv = report.not_osv;
        summary.feed_advisories = report.feed_advisories;
        summary.feed_skipped = report.feed_skipped;
        summary.unsupported_ecosystems = report.skipped_unsupported_ecosystems;
        summary.errors = report.errors.iter().map(ToString::to_string).collect();
        if threat_changed {
            self.reload_threat().await?;
        }
        if changed || self.index().is_empty() {
            summary.index_diagnostics = self.reload_index().await?;
        }
        // NVD records carry the CPE configurations software with a CPE is matched against.
        if changed || summary.nvd.inserted + summary.nvd.updated > 0 {
            let rematch = self.rematch_all().await?;
            summary.devices_rematched = rematch.devices;
            summary.weaknesses_opened = rematch.opened;
            summary.weaknesses_resolved = rematch.resolved;
        }
        if changed || threat_changed {
            self.record_scores().await?;
        }
        Ok(summary)
    }

    async fn write_batch(
        &self,
        batch: &mut Vec<Advisory>,
        summary: &mut ImportSummary,
    ) -> EngineResult<bool> {
        if batch.is_empty() {
            return Ok(false);
        }
        let stats = self.store.upsert_advisories(batch).await?;
        batch.clear();
        summary.inserted += stats.inserted;
        summary.updated += stats.updated;
        summary.unchanged += stats.unchanged;
        Ok(stats.inserted + stats.updated > 0)
    }

    /// Recomputes every device's weaknesses against the current index, matching each distinct
    /// (ecosystem, name, version) of the fleet once.
    pub async fn rematch_all(&self) -> EngineResult<RematchStats> {
        self.refresh().await?;
        let software = self.store.all_software().await?;
        let devices = self.store.devices().await?;
        let index = self.index();
        let threat = self.threat();
        let now = self.clock.now();
        let per_device = tokio::task::spawn_blocking(move || {
            let mut by_device: BTreeMap<DeviceId, (Vec<SoftwareKey>, Vec<InstalledPackage>)> =
                devices.iter().map(|d| (d.id, Default::default())).collect();
            for (device, package) in software {
                let entry = by_device.entry(device).or_default();
                entry.0.push(software_key(&package));
                entry.1.push(package);
            }
            let all: Vec<&SoftwareKey> = by_device.values().flat_map(|(k, _)| k).collect();
            let outcomes = match_distinct(&index, all.iter().copied());
            by_device
                .iter()
                .map(|(device, (keys, packages))| {
                    let rows = weaknesses_from_outcomes(keys, &outcomes);
                    (
                        *device,
                        detected(&with_cpe_matches(rows, &threat, packages)),
                    )
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
        let mut stats = RematchStats::default();
        for (device, detected) in per_device {
            let diff = self
                .store
                .replace_weaknesses(device, &detected, now)
                .await?;
            stats.devices += 1;
            stats.opened += diff.opened;
            stats.resolved += diff.resolved;
        }
        Ok(stats)
    }

    /// Ingests one inventory: parses it, replaces the device's software set, and recomputes its weaknesses.
    pub async fn ingest(&self, request: IngestRequest) -> EngineResult<IngestSummary> {
        let IngestRequest {
            device,
            file,
            bytes,
            format,
        } = request;
        if device.name.trim().is_empty() {
            return Err(EngineError::Invalid("device name must not be empty".into()));
        }
        let inventory = tokio::task::spawn_blocking(move || match format {
            Some(f) => f.parse(&file, &bytes),
            None => parse_auto(&file, &bytes),
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))??;
        let os = device.os.clone().or(inventory.os.clone());
        let device = DeviceInfo { os, ..device };
        self.ingest_packages(
            device,
            inventory.packages,
            inventory.notes,
            inventory.format,
        )
        .await
    }

    /// Replaces the device's software set with `packages` (placing its OS packages in the device's OS
    /// release) and recomputes its weaknesses; `format` is what the summary reports the packages were read as.
    pub(crate) async fn ingest_packages(
        &self,
        device: DeviceInfo,
        mut packages: Vec<InstalledPackage>,
        mut notes: Vec<InventoryNote>,
        format: String,
    ) -> EngineResult<IngestSummary> {
        if device.name.trim().is_empty() {
            return Err(EngineError::Invalid("device name must not be empty".into()));
        }
        if let Some(os_ecosystem) = device.os.as_deref().and_then(os_ecosystem) {
            assign_os(&mut packages, &os_ecosystem);
        }
        let missing_release = packages
            .iter()
            .filter(|p| p.ecosystem.ecosystem.is_distro() && p.ecosystem.release.is_none())
            .count();
        if missing_release > 0 {
            notes.push(InventoryNote {
                location: "device".into(),
                message: format!(
                    "{missing_release} OS packages have no distribution release: give the device's OS \
                     (e.g. --os \"debian 12\") so that they are matched against that release's advisories"
                ),
            });
        }
        let now = self.clock.now();
        let stored = self.store.upsert_device(&device, now).await?;
        let diff = self
            .store
            .replace_inventory(stored.id, &packages, now)
            .await?;
        // Matched against what is stored now, whichever replica imported it.
        self.refresh().await?;
        let index = self.index();
        let keys: Vec<SoftwareKey> = packages.iter().map(software_key).collect();
        let outcomes = match_distinct(&index, &keys);
        let rows = with_cpe_matches(
            weaknesses_from_outcomes(&keys, &outcomes),
            &self.threat(),
            &packages,
        );
        let report = bulwark_core::scan::report(&index, &packages, &keys, &outcomes);
        let weakness_diff = self
            .store
            .replace_weaknesses(stored.id, &detected(&rows), now)
            .await?;
        self.record_scores_of(Some(stored.id)).await?;
        Ok(IngestSummary {
            device: stored,
            format,
            packages: packages.len() as u64,
            appeared: diff.appeared.len() as u64,
            disappeared: diff.disappeared.len() as u64,
            open_weaknesses: weakness_diff.opened + weakness_diff.kept,
            opened: weakness_diff.opened,
            resolved: weakness_diff.resolved,
            notes,
            unassessed: report.unassessed,
            warnings: report.warnings,
        })
    }

    /// Every security recommendation, ordered by severity score and exposure.
    pub async fn recommendations(&self) -> EngineResult<Vec<Recommendation>> {
        let fleet = self.fleet().await?;
        Ok(fleet.recommendations(&self.index(), &self.threat()))
    }

    /// One recommendation by id.
    pub async fn recommendation(&self, id: &str) -> EngineResult<Recommendation> {
        self.recommendations()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| EngineError::NotFound(format!("recommendation {id}")))
    }

    /// Devices exposed by a recommendation's product.
    pub async fn recommendation_machines(&self, id: &str) -> EngineResult<Vec<MachineView>> {
        let fleet = self.fleet().await?;
        let devices: BTreeSet<DeviceId> = fleet
            .product_weaknesses(id)?
            .iter()
            .map(|w| w.device_id)
            .collect();
        Ok(fleet.machine_views(&self.device_scores(&fleet), |d| devices.contains(&d.id)))
    }

    /// The vulnerabilities behind a recommendation.
    pub async fn recommendation_vulnerabilities(
        &self,
        id: &str,
    ) -> EngineResult<Vec<VulnerabilitySummary>> {
        let fleet = self.fleet().await?;
        Ok(summaries(
            &self.index(),
            &self.threat(),
            &fleet.product_weaknesses(id)?,
        ))
    }

    /// The installed software a recommendation is about: one row per vulnerable version.
    pub async fn recommendation_software(&self, id: &str) -> EngineResult<Vec<SoftwareView>> {
        let fleet = self.fleet().await?;
        Ok(views::software_views(&fleet.product_weaknesses(id)?))
    }

    /// Every device.
    pub async fn machines(&self) -> EngineResult<Vec<MachineView>> {
        Ok({
            let fleet = self.fleet().await?;
            fleet.machine_views(&self.device_scores(&fleet), |_| true)
        })
    }

    /// One device, by numeric id or by name.
    pub async fn machine(&self, id_or_name: &str) -> EngineResult<MachineView> {
        let device = self.find_device(id_or_name).await?;
        let fleet = self.fleet().await?;
        fleet
            .machine_views(&self.device_scores(&fleet), |d| d.id == device.id)
            .pop()
            .ok_or_else(|| EngineError::NotFound(format!("machine {id_or_name}")))
    }

    /// A device's open vulnerabilities (false positives removed).
    pub async fn machine_vulnerabilities(
        &self,
        id_or_name: &str,
    ) -> EngineResult<Vec<VulnerabilitySummary>> {
        let device = self.find_device(id_or_name).await?;
        let fleet = self.fleet().await?;
        let index = self.index();
        let open: Vec<&Weakness> = fleet
            .findings(&index)
            .into_iter()
            .filter(|w| w.device_id == device.id)
            .collect();
        Ok(summaries(&index, &self.threat(), &open))
    }

    /// A device's installed software.
    pub async fn machine_software(&self, id_or_name: &str) -> EngineResult<Vec<InstalledPackage>> {
        let device = self.find_device(id_or_name).await?;
        Ok(self.store.device_software(device.id).await?)
    }

    /// Every vulnerability with at least one open weakness in the fleet.
    pub async fn vulnerabilities(&self) -> EngineResult<Vec<VulnerabilitySummary>> {
        let fleet = self.fleet().await?;
        let index = self.index();
        let open = fleet.findings(&index);
        Ok(summaries(&index, &self.threat(), &open))
    }

    /// One vulnerability, by its id, an alias or an advisory id; known even with no exposed device.
    pub async fn vulnerability(&self, id: &str) -> EngineResult<VulnerabilitySummary> {
        self.refresh().await?;
        let index = self.index();
        let vuln_id = resolve_vulnerability(&index, id)
            .ok_or_else(|| EngineError::NotFound(format!("vulnerability {id}")))?;
        let exposed = self.fleet().await?.exposed_to(&index, &vuln_id);
        let advisory_ids: Vec<&str> = index
            .advisories()
            .iter()
            .filter(|a| index.vulnerability_id(&a.id) == Some(vuln_id.as_str()))
            .map(|a| a.id.as_str())
            .collect();
        Ok(summarize_vulnerability(
            &index,
            &self.threat(),
            &vuln_id,
            &advisory_ids,
            exposed.len() as u64,
        ))
    }

    /// Devices exposed to one vulnerability.
    pub async fn vulnerability_machines(&self, id: &str) -> EngineResult<Vec<MachineView>> {
        self.refresh().await?;
        let index = self.index();
        let vuln_id = resolve_vulnerability(&index, id)
            .ok_or_else(|| EngineError::NotFound(format!("vulnerability {id}")))?;
        let fleet = self.fleet().await?;
        let devices = fleet.exposed_to(&index, &vuln_id);
        Ok(fleet.machine_views(&self.device_scores(&fleet), |d| devices.contains(&d.id)))
    }

    pub(crate) async fn find_device(&self, id_or_name: &str) -> EngineResult<Device> {
        if let Ok(id) = id_or_name.parse::<i64>()
            && let Some(device) = self.store.device(DeviceId(id)).await?
        {
            return Ok(device);
        }
        self.store
            .device_by_name(id_or_name)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("machine {id_or_name}")))
    }

    /// One snapshot of the fleet for the read models, as stored when the call began (see [`fleet`]);
    /// first brings the in-memory state up to date, so that the index and threat context the caller
    /// reads next match it (see [`changes`]).
    pub(crate) async fn fleet(&self) -> EngineResult<views::Fleet> {
        let seen = self.refresh_seen().await?;
        let state = self.fleet_state(seen.fleet).await?;
        Ok(views::Fleet {
            exceptions: state.exceptions.as_ref().clone(),
            devices: state.devices.clone(),
            open: state.open.clone(),
            software: state.software.clone(),
            counts: state.counts.clone(),
            groups: state.groups.as_ref().clone(),
            now: self.clock.now(),
        })
    }
}

/// What a fleet re-match did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RematchStats {
    /// Devices recomputed.
    pub devices: u64,
    /// Weaknesses opened.
    pub opened: u64,
    /// Weaknesses resolved.
    pub resolved: u64,
}

fn detected(rows: &[(SoftwareKey, String, Vec<String>)]) -> Vec<DetectedWeakness> {
    rows.iter()
        .map(
            |(software, vulnerability_id, advisory_ids)| DetectedWeakness {
                software: software.clone(),
                vulnerability_id: vulnerability_id.clone(),
                advisory_ids: advisory_ids.clone(),
            },
        )
        .collect()
}

/// Adds the weaknesses NVD's CPE configurations find in the packages that carry a CPE name (never
/// distribution packages) to the advisory matches, merging with a match of the same CVE.
fn with_cpe_matches(
    rows: Vec<(SoftwareKey, String, Vec<String>)>,
    threat: &ThreatContext,
    packages: &[InstalledPackage],
) -> Vec<(SoftwareKey, String, Vec<String>)> {
    let report = threat.cpe().match_device(packages);
    if report.findings.is_empty() {
        return rows;
    }
    let mut merged: BTreeMap<(SoftwareKey, String), BTreeSet<String>> = rows
        .into_iter()
        .map(|(key, vuln, ids)| ((key, vuln), ids.into_iter().collect()))
        .collect();
    for finding in report.findings {
        merged
            .entry((finding.software, finding.cve.clone()))
            .or_default()
            .insert(nvd_advisory_id(&finding.cve));
    }
    merged
        .into_iter()
        .map(|((key, vuln), ids)| (key, vuln, ids.into_iter().collect()))
        .collect()
}

pub(crate) fn resolve_vulnerability(index: &AdvisoryIndex, id: &str) -> Option<String> {
    if let Some(v) = index.vulnerability_id(id) {
        return Some(v.to_string());
    }
    index
        .advisories()
        .iter()
        .find(|a| a.aliases.iter().any(|x| x == id))
        .and_then(|a| index.vulnerability_id(&a.id))
        .map(str::to_string)
}

/// Vulnerability summaries for a set of open weaknesses, with their exposed-device counts, most severe
/// first.
fn summaries(
    index: &AdvisoryIndex,
    threat: &ThreatContext,
    open: &[&Weakness],
) -> Vec<VulnerabilitySummary> {
    let mut by_vuln: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<DeviceId>)> = BTreeMap::new();
    for w in open {
        let entry = by_vuln.entry(&w.vulnerability_id).or_default();
        entry.0.extend(w.advisory_ids.iter().map(String::as_str));
        entry.1.insert(w.device_id);
    }
    let mut out: Vec<VulnerabilitySummary> = by_vuln
        .into_iter()
        .map(|(id, (advisories, devices))| {
            let ids: Vec<&str> = advisories.into_iter().collect();
            summarize_vulnerability(index, threat, id, &ids, devices.len() as u64)
        })
        .collect();
    out.sort_by(|a, b| {
        b.cvss_v3
            .unwrap_or(0.0)
            .total_cmp(&a.cvss_v3.unwrap_or(0.0))
            .then(b.exposed_machines.cmp(&a.exposed_machines))
            .then(a.id.cmp(&b.id))
    });
    out
}

impl views::Fleet {
    /// The open weaknesses of the product a recommendation id names (without computing any
    /// recommendation); `NotFound` when no open weakness belongs to it.
    fn product_weaknesses(&self, id: &str) -> EngineResult<Vec<&Weakness>> {
        let open = self.weaknesses_of(id);
        if open.is_empty() {
            return Err(EngineError::NotFound(format!("recommendation {id}")));
        }
        Ok(open)
    }

    /// The open weaknesses of the product a recommendation id names (empty when none).
    pub(crate) fn weaknesses_of(&self, id: &str) -> Vec<&Weakness> {
        self.open
            .iter()
            .filter(|w| {
                recommendation_id(&PackageKey::new(&w.software.ecosystem, &w.software.name)) == id
            })
            .collect()
    }

    /// Devices with an open weakness of this vulnerability that no false-positive exception removes.
    fn exposed_to(&self, index: &AdvisoryIndex, vulnerability_id: &str) -> BTreeSet<DeviceId> {
        self.findings(index)
            .into_iter()
            .filter(|w| w.vulnerability_id == vulnerability_id)
            .map(|w| w.device_id)
            .collect()
    }

    /// The open weaknesses that are findings: those a false-positive exception covers are removed.
    fn findings(&self, index: &AdvisoryIndex) -> Vec<&Weakness> {
        self.open
            .iter()
            .zip(self.covers(index))
            .filter(|(_, c)| {
                c.is_none_or(|c| c.effect != bulwark_core::exception::ScoreEffect::Removed)
            })
            .map(|(w, _)| w)
            .collect()
    }

    fn recommendations(
        &self,
        index: &AdvisoryIndex,
        threat: &ThreatContext,
    ) -> Vec<Recommendation> {
        let now = self.now;
        let (devices, weaknesses) = self.scored(index, threat);
        let scores = exposure_scores(&devices, &weaknesses);
        let impacts = exposure_impacts(&devices, &weaknesses, &scores);
        let device_values: HashMap<DeviceId, DeviceValue> =
            self.devices.iter().map(|d| (d.id, d.value)).collect();
        let last_seen: HashMap<DeviceId, DateTime<Utc>> =
            self.devices.iter().map(|d| (d.id, d.last_seen)).collect();
        let installed_on = self.counts.installed_on(&self.software);
        let mut out = recommendations(&RecommendationInput {
            index,
            weaknesses: &self.open,
            last_seen: &last_seen,
            installed_on,
            now,
            threat,
            device_values: &device_values,
            exposure_impacts: &impacts,
        });
        let covers = self.covers(index);
        exceptions::apply_to_recommendations(&mut out, &devices, &weaknesses, &covers);
        out
    }
}
