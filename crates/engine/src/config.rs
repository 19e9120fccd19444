//! The Secure Score for Devices over the stored fleet: configuration assessments (OpenSCAP result files,
//! osquery rows; the agent's facts are assessed in `agent.rs`), the scores of the organisation, its device
//! groups and its devices, and one `ConfigurationChange` recommendation per failing check.
//!
//! Scores are computed by core ([`bulwark_core::config`]) from one read of the stored results. Only
//! active devices (seen within the exposure window, as for the exposure score) count in the organisation's
//! and the groups' scores and in the recommendations; a device's own score is shown whenever it has
//! results. A check assessed by several sources on one device (Bulwark's checks run by the agent and over
//! osquery rows share their ids) counts once: the agent's result (`bulwark`) wins over `osquery`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::config::{
    CheckResult, CheckSource, CheckStatus, ConfigCategory, ConfigCheck, Evidence, ScoreParts,
    aggregate, category_scores, config_score_impacts, evaluate, linux_check, secure_score,
};
use bulwark_core::exception::{ExceptionSet, RecommendationStatus, ScoreEffect};
use bulwark_core::group::{DeviceGroup, group_of};
use bulwark_core::recommendation::EXPOSURE_WINDOW_DAYS;
use bulwark_core::{Device, DeviceId, DeviceInfo};
use bulwark_formats::FormatError;
use bulwark_formats::host::osquery;
use bulwark_formats::xccdf;

use crate::{Engine, EngineError, EngineResult};

/// The prefix of a configuration recommendation's id: `sca-_-{check id}` (MDVM's form).
pub const CONFIGURATION_RECOMMENDATION_PREFIX: &str = "sca-_-";

/// The `remediationType` of every configuration recommendation.
pub const CONFIGURATION_CHANGE: &str = "ConfigurationChange";

/// The kind of file a configuration assessment reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssessmentFormat {
    /// An OpenSCAP XCCDF 1.2 results file (or an ARF report collection).
    OpenScap,
    /// osquery results over configuration tables (JSON).
    Osquery,
}

impl AssessmentFormat {
    /// Every format, in the order they are detected.
    pub const ALL: [AssessmentFormat; 2] = [AssessmentFormat::OpenScap, AssessmentFormat::Osquery];

    /// The format's name: `openscap` or `osquery`.
    pub fn name(self) -> &'static str {
        match self {
            AssessmentFormat::OpenScap => "openscap",
            AssessmentFormat::Osquery => "osquery",
        }
    }

    /// The format a name names (any case).
    pub fn from_name(name: &str) -> Option<AssessmentFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The format of some content: XCCDF by its namespace and root, osquery by being JSON.
    pub fn detect(bytes: &[u8]) -> Option<AssessmentFormat> {
        if xccdf::detect(bytes) {
            return Some(AssessmentFormat::OpenScap);
        }
        let start = bytes.iter().find(|b| !b.is_ascii_whitespace());
        matches!(start, Some(b'{' | b'[')).then_some(AssessmentFormat::Osquery)
    }

    /// The source the results of this format are stored as.
    pub fn source(self) -> CheckSource {
        match self {
            AssessmentFormat::OpenScap => CheckSource::OpenScap,
            AssessmentFormat::Osquery => CheckSource::Osquery,
        }
    }
}

/// A configuration assessment to store for one device.
#[derive(Debug, Clone)]
pub struct AssessmentRequest {
    /// The device's unique name; the device is created when it does not exist.
    pub device: String,
    /// The file's name, for error messages.
    pub file: String,
    /// The file's bytes (decompressed).
    pub bytes: Vec<u8>,
    /// The format, when forced; detected from the content otherwise.
    pub format: Option<AssessmentFormat>,
}

/// What an assessment did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentSummary {
    /// The device, as stored after the assessment.
    pub device: Device,
    /// The format the file was read as.
    pub format: AssessmentFormat,
    /// The source its results are stored as (they replace the device's earlier results of this source).
    pub source: CheckSource,
    /// OpenSCAP: the benchmark evaluated.
    pub benchmark: Option<String>,
    /// OpenSCAP: the profile evaluated.
    pub profile: Option<String>,
    /// OpenSCAP: the target the scanner named.
    pub target: Option<String>,
    /// Check results stored.
    pub checks: u64,
    /// Passing checks.
    pub passed: u64,
    /// Failing checks.
    pub failed: u64,
    /// Checks that count neither way (not applicable, not selected, not collected, …).
    pub not_counted: u64,
    /// The points of this assessment's results.
    pub score: ScoreParts,
    /// The device's secure score after the assessment, over the results of every source.
    pub device_score: Option<f64>,
    /// Things worth knowing about the file (a TestResult that was not stored, osquery queries not read).
    pub notes: Vec<String>,
}

/// A score per category (MDVM's `recommendationCategory` names); `None` where nothing was assessed.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CategoryScores {
    /// Operating system settings.
    #[serde(rename = "OS")]
    pub os: Option<f64>,
    /// Applications and their services.
    #[serde(rename = "Application")]
    pub application: Option<f64>,
    /// Network exposure.
    #[serde(rename = "Network")]
    pub network: Option<f64>,
    /// Accounts and credentials.
    #[serde(rename = "Accounts")]
    pub accounts: Option<f64>,
    /// Security tooling.
    #[serde(rename = "SecurityControls")]
    pub security_controls: Option<f64>,
}

impl CategoryScores {
    fn of(parts: &BTreeMap<ConfigCategory, ScoreParts>) -> CategoryScores {
        let score = |c: ConfigCategory| parts.get(&c).and_then(|p| p.score);
        CategoryScores {
            os: score(ConfigCategory::Os),
            application: score(ConfigCategory::Application),
            network: score(ConfigCategory::Network),
            accounts: score(ConfigCategory::Accounts),
            security_controls: score(ConfigCategory::SecurityControls),
        }
    }
}

/// The organisation's secure score for devices now, with its groups and devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationScore {
    /// When it was computed.
    pub time: DateTime<Utc>,
    /// `achieved / possible × 100` over the active devices; `None` when nothing was assessed.
    pub score: Option<f64>,
    /// Points earned by passing checks.
    pub achieved: u64,
    /// Points of passing and failing checks.
    pub possible: u64,
    /// The same per category.
    pub categories: CategoryScores,
    /// Each group with assessed active devices.
    pub groups: Vec<GroupConfigurationScore>,
    /// Each active device with check results.
    pub devices: Vec<DeviceConfigurationScore>,
}

/// A device group's secure score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfigurationScore {
    /// When it was computed.
    pub time: DateTime<Utc>,
    /// The score (0–100), `None` when no check counted.
    pub score: Option<f64>,
    /// Points earned.
    pub achieved: u64,
    /// Points possible.
    pub possible: u64,
    /// The group's name (MDVM's field name).
    pub rbac_group_name: String,
    /// Active devices of the group with check results.
    pub devices: u64,
    /// The score per category.
    pub categories: CategoryScores,
}

/// A device's secure score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceConfigurationScore {
    /// Store id.
    pub id: i64,
    /// Device name.
    pub computer_dns_name: String,
    /// Its group.
    pub rbac_group_name: String,
    /// The score (0–100), `None` when no check counted.
    pub score: Option<f64>,
    /// Points earned.
    pub achieved: u64,
    /// Points possible.
    pub possible: u64,
    /// The score per category.
    pub categories: CategoryScores,
    /// Check results (every status).
    pub checks: u64,
    /// Failing checks.
    pub failed: u64,
}

/// One device's configuration: its score and every check result with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineConfiguration {
    /// When it was computed.
    pub time: DateTime<Utc>,
    /// The device's score and counts.
    #[serde(flatten)]
    pub device: DeviceConfigurationScore,
    /// Seen within the exposure window: only then does it count in the organisation's score.
    pub is_active: bool,
    /// The results that are scored, by check id (one per check: see the module documentation).
    pub results: Vec<CheckResult>,
}

/// A security recommendation to change one configuration, with MDVM's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationRecommendation {
    /// `sca-_-{checkId}`.
    pub id: String,
    /// The check's id.
    pub check_id: String,
    /// The check's title, phrased as the desired state.
    pub recommendation_name: String,
    /// Always `ConfigurationChange`.
    pub remediation_type: String,
    /// The check's category: `OS`, `Application`, `Network`, `Accounts` or `SecurityControls`.
    pub recommendation_category: ConfigCategory,
    /// The check's weight (1–10).
    pub severity_score: f64,
    /// Active devices where the check fails.
    pub exposed_machines_count: u64,
    /// Active devices where the check fails and no exception in effect covers it.
    pub exposed_machines_count_after_exceptions: u64,
    /// Active devices where the check was assessed (passing or failing).
    pub total_machine_count: u64,
    /// The exact rise of the organisation's secure score if the check were fixed on every device where it fails.
    pub config_score_impact: f64,
    /// Always 0: a configuration change does not change the exposure score.
    pub exposure_impact: f64,
    /// `Active`, `Exception` or `PartialException`, from the exceptions in effect on it.
    pub status: String,
    /// What is checked and why it matters (empty when the source gave no description).
    pub description: String,
    /// How to make the check pass.
    pub remediation: String,
    /// The sources that reported the failure.
    pub sources: Vec<CheckSource>,
    /// The ComplianceAsCode rule the check corresponds to, when known.
    pub rule: Option<String>,
    /// The benchmark control the check corresponds to (`CIS Debian Linux 12 Benchmark v1.1.0 5.1.20`), when known.
    pub control: Option<String>,
}

/// A device where a configuration recommendation's check fails, with what the check saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationRecommendationMachine {
    /// Store id.
    pub id: i64,
    /// Device name.
    pub computer_dns_name: String,
    /// Operating system, as reported.
    pub os_platform: Option<String>,
    /// Its group.
    pub rbac_group_name: String,
    /// Latest ingest or assessment.
    pub last_seen: DateTime<Utc>,
    /// Who reported the failure.
    pub source: CheckSource,
    /// What the check looked at and saw.
    pub evidence: Vec<Evidence>,
}

/// One read of what the configuration views need.
struct Assessed {
    now: DateTime<Utc>,
    devices: Vec<Device>,
    groups: Vec<DeviceGroup>,
    /// The scored results of each device with any, by check id.
    results: BTreeMap<DeviceId, Vec<CheckResult>>,
    /// The same results as the scores count them: a failing check that a mitigation-like (or
    /// false-positive) exception on its configuration recommendation covers counts as passing.
    effective: BTreeMap<DeviceId, Vec<CheckResult>>,
    /// The failing (device, check) pairs an exception in effect covers, whatever its justification.
    covered: BTreeSet<(DeviceId, String)>,
}

impl Assessed {
    fn is_active(&self, device: &Device) -> bool {
        device.last_seen >= self.now - Duration::days(EXPOSURE_WINDOW_DAYS)
    }

    /// The active devices with results, by name, with their results as the scores count them.
    fn active(&self) -> Vec<(&Device, &[CheckResult])> {
        self.active_in(&self.effective)
    }

    /// The active devices with results in `results`.
    fn active_in<'a>(
        &'a self,
        results: &'a BTreeMap<DeviceId, Vec<CheckResult>>,
    ) -> Vec<(&'a Device, &'a [CheckResult])> {
        self.devices
            .iter()
            .filter(|d| self.is_active(d))
            .filter_map(|d| Some((d, results.get(&d.id)?.as_slice())))
            .collect()
    }

    fn device_score(&self, device: &Device, results: &[CheckResult]) -> DeviceConfigurationScore {
        let parts = secure_score(results);
        DeviceConfigurationScore {
            id: device.id.0,
            computer_dns_name: device.name.clone(),
            rbac_group_name: group_of(device, &self.groups).to_string(),
            score: parts.score,
            achieved: parts.achieved,
            possible: parts.possible,
            categories: CategoryScores::of(&category_scores(results)),
            checks: results.len() as u64,
            failed: results
                .iter()
                .filter(|r| r.status == CheckStatus::Fail)
                .count() as u64,
        }
    }

    fn report(&self) -> ConfigurationScore {
        let active = self.active();
        let mut groups: BTreeMap<&str, Vec<&[CheckResult]>> = BTreeMap::new();
        for (device, results) in &active {
            groups
                .entry(group_of(device, &self.groups))
                .or_default()
                .push(results);
        }
        let (parts, categories) = totals(active.iter().map(|(_, r)| *r));
        ConfigurationScore {
            time: self.now,
            score: parts.score,
            achieved: parts.achieved,
            possible: parts.possible,
            categories,
            groups: groups
                .into_iter()
                .map(|(name, members)| {
                    let (parts, categories) = totals(members.iter().copied());
                    GroupConfigurationScore {
                        time: self.now,
                        score: parts.score,
                        achieved: parts.achieved,
                        possible: parts.possible,
                        rbac_group_name: name.to_string(),
                        devices: members.len() as u64,
                        categories,
                    }
                })
                .collect(),
            devices: active
                .iter()
                .map(|(device, results)| self.device_score(device, results))
                .collect(),
        }
    }

    fn recommendations(
        &self,
        catalog: &HashMap<String, ConfigCheck>,
    ) -> Vec<ConfigurationRecommendation> {
        // Impacts are the rise of the score as it is counted (exceptions applied); the rows list every
        // check that fails, excepted or not, with the status the exceptions give it.
        let effective: Vec<&[CheckResult]> = self.active().iter().map(|(_, r)| *r).collect();
        let impacts = config_score_impacts(&effective);
        let raw = self.active_in(&self.results);
        let mut covered: BTreeMap<&str, usize> = BTreeMap::new();
        let mut rows: BTreeMap<&str, (&CheckResult, u64, u64, BTreeSet<CheckSource>)> =
            BTreeMap::new();
        for (device, results) in &raw {
            for result in results.iter() {
                if !result.status.counts() {
                    continue;
                }
                let row = rows
                    .entry(&result.check_id)
                    .or_insert((result, 0, 0, BTreeSet::new()));
                row.2 += 1;
                if result.status == CheckStatus::Fail {
                    row.1 += 1;
                    row.3.insert(result.source);
                    if self.covered.contains(&(device.id, result.check_id.clone())) {
                        *covered.entry(&result.check_id).or_default() += 1;
                    }
                }
            }
        }
        let mut out: Vec<ConfigurationRecommendation> = rows
            .into_iter()
            .filter(|(_, (_, failing, _, _))| *failing > 0)
            .map(|(id, (result, failing, assessed, sources))| {
                let check = catalog.get(id).or_else(|| linux_check(id));
                ConfigurationRecommendation {
                    id: format!("{CONFIGURATION_RECOMMENDATION_PREFIX}{id}"),
                    check_id: id.to_string(),
                    recommendation_name: check
                        .map_or_else(|| result.title.clone(), |c| c.title.to_string()),
                    remediation_type: CONFIGURATION_CHANGE.to_string(),
                    recommendation_category: check.map_or(result.category, |c| c.category),
                    severity_score: f64::from(check.map_or(result.weight, |c| c.weight).get()),
                    exposed_machines_count: failing,
                    exposed_machines_count_after_exceptions: failing
                        .saturating_sub(covered.get(id).copied().unwrap_or(0) as u64),
                    total_machine_count: assessed,
                    config_score_impact: impacts.get(id).copied().unwrap_or(0.0),
                    exposure_impact: 0.0,
                    status: RecommendationStatus::of(
                        covered.get(id).copied().unwrap_or(0),
                        failing as usize,
                    )
                    .as_str()
                    .to_string(),
                    description: check.map(|c| c.description.to_string()).unwrap_or_default(),
                    remediation: check.map(|c| c.remediation.to_string()).unwrap_or_default(),
                    sources: sources.into_iter().collect(),
                    rule: check.and_then(|c| c.rule.as_ref().map(ToString::to_string)),
                    control: check.and_then(|c| c.control.as_ref().map(ToString::to_string)),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.config_score_impact
                .total_cmp(&a.config_score_impact)
                .then(b.severity_score.total_cmp(&a.severity_score))
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }
}

/// The summed points and per-category scores of several devices' results.
fn totals<'a>(devices: impl Iterator<Item = &'a [CheckResult]>) -> (ScoreParts, CategoryScores) {
    let mut parts = Vec::new();
    let mut by_category: BTreeMap<ConfigCategory, Vec<ScoreParts>> = BTreeMap::new();
    for results in devices {
        parts.push(secure_score(results));
        for (category, p) in category_scores(results) {
            by_category.entry(category).or_default().push(p);
        }
    }
    let categories = by_category
        .into_iter()
        .map(|(category, parts)| (category, aggregate(&parts)))
        .collect();
    (aggregate(&parts), CategoryScores::of(&categories))
}

/// One result per check of a device: the first by source (`bulwark` before `openscap` before `osquery`),
/// ordered by check id.
fn scored(mut results: Vec<CheckResult>) -> Vec<CheckResult> {
    results.sort_by(|a, b| (a.source, &a.check_id).cmp(&(b.source, &b.check_id)));
    let mut by_id: BTreeMap<String, CheckResult> = BTreeMap::new();
    for result in results {
        by_id.entry(result.check_id.clone()).or_insert(result);
    }
    by_id.into_values().collect()
}

/// Why content is not an assessment: compressed content says how to decompress it.
fn unknown_format_message(bytes: &[u8]) -> String {
    let compressed = if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd (decompress it with `zstd -d`; `bulwark assess` reads .zst files itself)")
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        Some("gzip (decompress it with `gunzip`)")
    } else {
        None
    };
    match compressed {
        Some(how) => format!("the content is compressed with {how}"),
        None => "neither an OpenSCAP XCCDF results file nor osquery JSON results; \
                 known formats: openscap, osquery"
            .to_string(),
    }
}

/// Counts of one assessment's results.
fn counts(results: &[CheckResult]) -> (u64, u64, u64) {
    let passed = results
        .iter()
        .filter(|r| r.status == CheckStatus::Pass)
        .count() as u64;
    let failed = results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .count() as u64;
    (passed, failed, results.len() as u64 - passed - failed)
}

/// What a parsed assessment file yields.
struct Parsed {
    checks: Vec<ConfigCheck>,
    results: Vec<CheckResult>,
    benchmark: Option<String>,
    profile: Option<String>,
    target: Option<String>,
    notes: Vec<String>,
}

fn parse(file: &str, bytes: &[u8], format: AssessmentFormat) -> Result<Parsed, FormatError> {
    match format {
        AssessmentFormat::OpenScap => {
            let report = xccdf::parse(file, bytes)?;
            let count = report.test_results.len();
            let Some(test) = report.test_results.into_iter().next_back() else {
                return Err(FormatError::parse(
                    file,
                    "TestResult",
                    "the file holds no TestResult: give the results of an evaluation \
                     (`oscap xccdf eval --results FILE …`), not the benchmark alone",
                ));
            };
            let mut notes = Vec::new();
            if count > 1 {
                notes.push(format!(
                    "the file holds {count} TestResults; only the last ({}) was stored",
                    test.id
                ));
            }
            Ok(Parsed {
                checks: report.rules,
                results: test.results,
                benchmark: test.benchmark.or(report.benchmark),
                profile: test.profile,
                target: test.target,
                notes,
            })
        }
        AssessmentFormat::Osquery => {
            let parsed = osquery::parse(file, bytes)?;
            let mut notes = Vec::new();
            if !parsed.unused.is_empty() {
                notes.push(format!(
                    "queries of tables the checks do not read were left out: {}",
                    parsed.unused.join(", ")
                ));
            }
            Ok(Parsed {
                checks: Vec::new(),
                results: evaluate(&parsed.facts),
                benchmark: None,
                profile: None,
                target: None,
                notes,
            })
        }
    }
}

impl Engine {
    /// Stores a configuration assessment of one device (an OpenSCAP result file or osquery rows, detected
    /// from the content unless the format is given): the device is created when missing, its results of
    /// that source are replaced, OpenSCAP's rules are kept in the check catalog, and a score snapshot is
    /// recorded.
    pub async fn assess(&self, request: AssessmentRequest) -> EngineResult<AssessmentSummary> {
        let AssessmentRequest {
            device,
            file,
            bytes,
            format,
        } = request;
        let name = device.trim().to_string();
        if name.is_empty() {
            return Err(EngineError::Invalid("device name must not be empty".into()));
        }
        let format = match format {
            Some(format) => format,
            None => AssessmentFormat::detect(&bytes).ok_or_else(|| FormatError::UnknownFormat {
                file: file.clone(),
                message: unknown_format_message(&bytes),
            })?,
        };
        let parsed = tokio::task::spawn_blocking(move || parse(&file, &bytes, format))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))??;
        let now = self.now();
        let info = DeviceInfo {
            name,
            ..DeviceInfo::default()
        };
        let device = self.store.upsert_device(&info, now).await?;
        if !parsed.checks.is_empty() {
            self.store.upsert_config_checks(&parsed.checks).await?;
        }
        let source = format.source();
        self.store
            .replace_config_results(device.id, source, &parsed.results, now)
            .await?;
        self.record_scores().await?;
        let (passed, failed, not_counted) = counts(&parsed.results);
        let device_results = scored(self.store.device_config_results(device.id).await?);
        Ok(AssessmentSummary {
            device,
            format,
            source,
            benchmark: parsed.benchmark,
            profile: parsed.profile,
            target: parsed.target,
            checks: parsed.results.len() as u64,
            passed,
            failed,
            not_counted,
            score: secure_score(&parsed.results),
            device_score: secure_score(&device_results).score,
            notes: parsed.notes,
        })
    }

    /// [`Engine::assess`] of an OpenSCAP XCCDF results file.
    pub async fn assess_openscap(
        &self,
        device: &str,
        file: &str,
        bytes: Vec<u8>,
    ) -> EngineResult<AssessmentSummary> {
        self.assess(AssessmentRequest {
            device: device.to_string(),
            file: file.to_string(),
            bytes,
            format: Some(AssessmentFormat::OpenScap),
        })
        .await
    }

    /// [`Engine::assess`] of osquery results, evaluated by Bulwark's checks.
    pub async fn assess_osquery(
        &self,
        device: &str,
        file: &str,
        bytes: Vec<u8>,
    ) -> EngineResult<AssessmentSummary> {
        self.assess(AssessmentRequest {
            device: device.to_string(),
            file: file.to_string(),
            bytes,
            format: Some(AssessmentFormat::Osquery),
        })
        .await
    }

    async fn assessed(&self) -> EngineResult<Assessed> {
        let mut per_device: BTreeMap<DeviceId, Vec<CheckResult>> = BTreeMap::new();
        for (device, result) in self.store.config_results().await? {
            per_device.entry(device).or_default().push(result);
        }
        let now = self.now();
        let devices = self.store.devices().await?;
        let groups = self.store.device_groups().await?;
        let results: BTreeMap<DeviceId, Vec<CheckResult>> = per_device
            .into_iter()
            .map(|(device, results)| (device, scored(results)))
            .collect();
        let exceptions = self.store.exceptions().await?;
        let set = ExceptionSet::new(&exceptions, now);
        let mut effective = results.clone();
        let mut covered = BTreeSet::new();
        if !set.is_empty() {
            for device in &devices {
                let Some(results) = effective.get_mut(&device.id) else {
                    continue;
                };
                let group = group_of(device, &groups);
                for result in results.iter_mut().filter(|r| r.status == CheckStatus::Fail) {
                    let id = format!("{CONFIGURATION_RECOMMENDATION_PREFIX}{}", result.check_id);
                    let Some(cover) = set.cover(&id, [], group) else {
                        continue;
                    };
                    covered.insert((device.id, result.check_id.clone()));
                    if cover.effect != ScoreEffect::NoImpact {
                        result.status = CheckStatus::Pass;
                    }
                }
            }
        }
        Ok(Assessed {
            now,
            devices,
            groups,
            results,
            effective,
            covered,
        })
    }

    /// The secure score for devices of the organisation, its groups and its devices, now.
    pub async fn configuration_score(&self) -> EngineResult<ConfigurationScore> {
        Ok(self.assessed().await?.report())
    }

    /// One device's secure score and check results (by id or name); the device may have none.
    pub async fn machine_configuration(
        &self,
        id_or_name: &str,
    ) -> EngineResult<MachineConfiguration> {
        let device = self.find_device(id_or_name).await?;
        let assessed = self.assessed().await?;
        let results = assessed
            .results
            .get(&device.id)
            .cloned()
            .unwrap_or_default();
        let counted = assessed
            .effective
            .get(&device.id)
            .cloned()
            .unwrap_or_default();
        Ok(MachineConfiguration {
            time: assessed.now,
            device: assessed.device_score(&device, &counted),
            is_active: assessed.is_active(&device),
            results,
        })
    }

    /// One `ConfigurationChange` recommendation per check failing on an active device, the largest
    /// rise of the secure score first.
    pub async fn configuration_recommendations(
        &self,
    ) -> EngineResult<Vec<ConfigurationRecommendation>> {
        let assessed = self.assessed().await?;
        let catalog: HashMap<String, ConfigCheck> = self
            .store
            .config_checks()
            .await?
            .into_iter()
            .map(|c| (c.id.to_string(), c))
            .collect();
        Ok(assessed.recommendations(&catalog))
    }

    /// One configuration recommendation by id (`sca-_-{checkId}`).
    pub async fn configuration_recommendation(
        &self,
        id: &str,
    ) -> EngineResult<ConfigurationRecommendation> {
        self.configuration_recommendations()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| EngineError::NotFound(format!("configuration recommendation {id}")))
    }

    /// The active devices where a configuration recommendation's check fails, by name, with evidence.
    pub async fn configuration_recommendation_machines(
        &self,
        id: &str,
    ) -> EngineResult<Vec<ConfigurationRecommendationMachine>> {
        let assessed = self.assessed().await?;
        let check_id = id
            .strip_prefix(CONFIGURATION_RECOMMENDATION_PREFIX)
            .ok_or_else(|| EngineError::NotFound(format!("configuration recommendation {id}")))?;
        let machines: Vec<ConfigurationRecommendationMachine> = assessed
            .active_in(&assessed.results)
            .into_iter()
            .filter_map(|(device, results)| {
                let failing = results
                    .iter()
                    .find(|r| r.check_id == check_id && r.status == CheckStatus::Fail)?;
                Some(ConfigurationRecommendationMachine {
                    id: device.id.0,
                    computer_dns_name: device.name.clone(),
                    os_platform: device.os.clone(),
                    rbac_group_name: group_of(device, &assessed.groups).to_string(),
                    last_seen: device.last_seen,
                    source: failing.source,
                    evidence: failing.evidence.clone(),
                })
            })
            .collect();
        if machines.is_empty() {
            return Err(EngineError::NotFound(format!(
                "configuration recommendation {id}"
            )));
        }
        Ok(machines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::config::Weight;

    fn result(id: &str, source: CheckSource, weight: u8, status: CheckStatus) -> CheckResult {
        CheckResult {
            check_id: id.into(),
            source,
            title: id.into(),
            category: ConfigCategory::Network,
            weight: Weight::new(weight).unwrap(),
            status,
            evidence: vec![],
        }
    }

    #[test]
    fn a_check_counts_once_per_device_and_the_agent_wins() {
        use CheckSource::{Bulwark, OpenScap, Osquery};
        use CheckStatus::{Fail, Pass};
        let results = scored(vec![
            result("b", Osquery, 5, Fail),
            result("a", OpenScap, 3, Pass),
            result("b", Bulwark, 5, Pass),
            result("c", Osquery, 2, Fail),
        ]);
        let kept: Vec<(&str, CheckSource, CheckStatus)> = results
            .iter()
            .map(|r| (r.check_id.as_str(), r.source, r.status))
            .collect();
        assert_eq!(
            kept,
            [
                ("a", OpenScap, Pass),
                ("b", Bulwark, Pass),
                ("c", Osquery, Fail)
            ]
        );
        assert_eq!(secure_score(&results), ScoreParts::new(8, 10));
    }

    #[test]
    fn formats_are_named_and_detected() {
        assert_eq!(
            AssessmentFormat::from_name(" OpenSCAP "),
            Some(AssessmentFormat::OpenScap)
        );
        assert_eq!(
            AssessmentFormat::from_name("osquery"),
            Some(AssessmentFormat::Osquery)
        );
        assert_eq!(AssessmentFormat::from_name("xccdf"), None);
        assert_eq!(
            AssessmentFormat::detect(b"  {\"system_controls\": []}"),
            Some(AssessmentFormat::Osquery)
        );
        assert_eq!(
            AssessmentFormat::detect(b"[]"),
            Some(AssessmentFormat::Osquery)
        );
        assert_eq!(AssessmentFormat::detect(b"<html></html>"), None);
        assert_eq!(AssessmentFormat::detect(b""), None);
        let xccdf = br#"<?xml version="1.0"?><Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"/>"#;
        assert_eq!(
            AssessmentFormat::detect(xccdf),
            Some(AssessmentFormat::OpenScap)
        );
        assert_eq!(
            serde_json::to_string(&AssessmentFormat::OpenScap).unwrap(),
            "\"openscap\""
        );
    }

    #[test]
    fn category_scores_name_every_category() {
        let parts = category_scores(&[result("a", CheckSource::Bulwark, 4, CheckStatus::Pass)]);
        let json = serde_json::to_value(CategoryScores::of(&parts)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"OS": null, "Application": null, "Network": 100.0,
                               "Accounts": null, "SecurityControls": null})
        );
    }
}
