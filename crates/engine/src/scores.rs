//! Exposure scores over the stored fleet (per device, group and organisation), their history, device
//! groups and device attributes: the engine side of the published score formula.
//!
//! Scores are computed by core ([`bulwark_core::exposure`]) from one snapshot of the store: every
//! active device (seen within the exposure window) with its value, tags and group, and every open
//! weakness with its threat facts (advisory CVSS, else NVD's; EPSS; KEV). A snapshot is recorded after
//! every change (ingest, import, device or group edit) and by the daily job.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::context::{ThreatContext, weakness_facts};
use bulwark_core::exposure::{
    ExposureLevel, ExposureScores, INTERNET_FACING, ScoredDevice, ScoredWeakness, exposure_scores,
};
use bulwark_core::group::{DeviceGroup, group_of, validate_group_name};
use bulwark_core::matching::{AdvisoryIndex, PackageKey};
use bulwark_core::recommendation::{
    EXPOSURE_WINDOW_DAYS, recommendation_id, vulnerability_severity, vulnerability_threat,
};
use bulwark_core::score::Band;
use bulwark_core::{Device, DeviceId};
use bulwark_store::{DeviceGroupPatch, DevicePatch, NewDeviceGroup, ScoreScope, ScoreSnapshot};

use crate::exceptions::{ImpactMode, apply_mode};
use crate::views::Fleet;
use crate::{Engine, EngineError, EngineResult};

/// The organisation's exposure score now, with its groups and devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposureReport {
    /// When it was computed.
    pub time: DateTime<Utc>,
    /// The organisation's score (0–100).
    pub score: f64,
    /// Its band: `Low`, `Medium` or `High`.
    pub band: Band,
    /// Each group with scored devices.
    pub groups: Vec<GroupScore>,
    /// Each active device.
    pub devices: Vec<DeviceScore>,
}

/// A device group's exposure score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupScore {
    /// When it was computed.
    pub time: DateTime<Utc>,
    /// The score (0–100).
    pub score: f64,
    /// The group's name (MDVM's field name).
    pub rbac_group_name: String,
    /// Active devices in the group.
    pub devices: u64,
}

/// A device's exposure score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceScore {
    /// Store id.
    pub id: i64,
    /// Device name.
    pub computer_dns_name: String,
    /// Its group.
    pub rbac_group_name: String,
    /// Its value.
    pub device_value: bulwark_core::score::DeviceValue,
    /// The score (0–100).
    pub exposure_score: f64,
    /// None, Low, Medium or High.
    pub exposure_level: ExposureLevel,
    /// Distinct open vulnerabilities.
    pub vulnerabilities: u64,
}

impl Fleet {
    /// The devices that count (seen within the exposure window) and their open weaknesses, as the
    /// exposure score sees them.
    pub(crate) fn scored(
        &self,
        index: &AdvisoryIndex,
        threat: &ThreatContext,
    ) -> (Vec<ScoredDevice>, Vec<ScoredWeakness>) {
        let cutoff = self.now - Duration::days(EXPOSURE_WINDOW_DAYS);
        let devices: Vec<ScoredDevice> = self
            .devices
            .iter()
            .filter(|d| d.last_seen >= cutoff)
            .map(|d| ScoredDevice {
                id: d.id,
                value: d.value,
                internet_facing: d
                    .tags
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(INTERNET_FACING)),
                group: group_of(d, &self.groups).to_string(),
            })
            .collect();
        // Facts are looked up once per vulnerability and advisory set, not once per device.
        let mut facts_cache: HashMap<(&str, &[String]), bulwark_core::score::WeaknessFacts> =
            HashMap::new();
        let mut recommendation_ids: HashMap<PackageKey, String> = HashMap::new();
        let weaknesses = self
            .open
            .iter()
            .map(|w| {
                let facts = *facts_cache
                    .entry((w.vulnerability_id.as_str(), w.advisory_ids.as_slice()))
                    .or_insert_with(|| {
                        let ids = w.advisory_ids.iter().map(String::as_str);
                        let severity = vulnerability_severity(index, ids.clone());
                        let threat = vulnerability_threat(index, threat, &w.vulnerability_id, ids);
                        weakness_facts(
                            severity.as_ref().and_then(|s| s.score),
                            severity.as_ref().map(|s| s.level),
                            &threat,
                        )
                    });
                let key = PackageKey::new(&w.software.ecosystem, &w.software.name);
                let recommendation = recommendation_ids
                    .entry(key)
                    .or_insert_with_key(recommendation_id)
                    .clone();
                ScoredWeakness {
                    device: w.device_id,
                    vulnerability: w.vulnerability_id.clone(),
                    recommendation,
                    facts,
                }
            })
            .collect();
        (devices, weaknesses)
    }

    /// The exposure scores of this snapshot, exceptions counted as they count by default
    /// (mitigation-like ones as remediated).
    pub(crate) fn exposure(&self, index: &AdvisoryIndex, threat: &ThreatContext) -> ExposureScores {
        self.exposure_with(index, threat, ImpactMode::Mitigation)
    }

    /// The exposure scores of this snapshot with exceptions counted as `mode` says.
    pub(crate) fn exposure_with(
        &self,
        index: &AdvisoryIndex,
        threat: &ThreatContext,
        mode: ImpactMode,
    ) -> ExposureScores {
        let (devices, weaknesses) = self.scored(index, threat);
        let weaknesses = match mode {
            ImpactMode::None => weaknesses,
            ImpactMode::Mitigation => apply_mode(weaknesses, &self.covers(index), mode),
        };
        exposure_scores(&devices, &weaknesses)
    }
}

/// Active devices per exposure level (MDVM's exposure distribution).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelCounts {
    /// Devices whose level is High.
    pub high: u64,
    /// Medium.
    pub medium: u64,
    /// Low.
    pub low: u64,
    /// No open weakness.
    pub none: u64,
}

impl LevelCounts {
    /// The devices of one level.
    pub fn of(&self, level: ExposureLevel) -> u64 {
        match level {
            ExposureLevel::High => self.high,
            ExposureLevel::Medium => self.medium,
            ExposureLevel::Low => self.low,
            ExposureLevel::None => self.none,
        }
    }

    /// Every counted device.
    pub fn total(&self) -> u64 {
        self.high + self.medium + self.low + self.none
    }

    fn count(scores: &ExposureScores) -> LevelCounts {
        let mut counts = LevelCounts::default();
        for (score, vulnerabilities) in scores.devices.values() {
            match ExposureLevel::of(*score, *vulnerabilities) {
                ExposureLevel::High => counts.high += 1,
                ExposureLevel::Medium => counts.medium += 1,
                ExposureLevel::Low => counts.low += 1,
                ExposureLevel::None => counts.none += 1,
            }
        }
        counts
    }
}

/// The organisation's exposure score in one impact mode, with its devices per level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposureSummary {
    /// The organisation's score (0–100).
    pub score: f64,
    /// Its band.
    pub band: Band,
    /// Active devices per exposure level.
    pub levels: LevelCounts,
}

impl ExposureSummary {
    fn of(scores: &ExposureScores) -> ExposureSummary {
        ExposureSummary {
            score: scores.organization,
            band: Band::of(scores.organization),
            levels: LevelCounts::count(scores),
        }
    }
}

/// The fleet at a glance, from one snapshot: the exposure score in both impact modes and the
/// recommendations. A dashboard needs all of them; reading the fleet once instead of once per figure
/// is what keeps it answering at 100k devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// When it was computed.
    pub time: DateTime<Utc>,
    /// Every stored device, active or not.
    pub devices: u64,
    /// Exceptions change nothing ([`ImpactMode::None`]).
    pub without_exceptions: ExposureSummary,
    /// Mitigation-like exceptions score as remediated ([`ImpactMode::Mitigation`], the stored scores).
    pub with_exceptions: ExposureSummary,
    /// Every software recommendation, as [`Engine::recommendations`] gives them.
    pub recommendations: Vec<bulwark_core::recommendation::Recommendation>,
}

impl Overview {
    /// The exposure summary of one impact mode.
    pub fn exposure(&self, mode: ImpactMode) -> &ExposureSummary {
        match mode {
            ImpactMode::None => &self.without_exceptions,
            ImpactMode::Mitigation => &self.with_exceptions,
        }
    }
}

pub(crate) fn report(fleet: &Fleet, scores: &ExposureScores) -> ExposureReport {
    let mut devices_in: BTreeMap<&str, u64> = BTreeMap::new();
    let devices: Vec<DeviceScore> = fleet
        .devices
        .iter()
        .filter_map(|d| {
            let (score, vulns) = *scores.devices.get(&d.id)?;
            let group = group_of(d, &fleet.groups);
            *devices_in.entry(group).or_default() += 1;
            Some(DeviceScore {
                id: d.id.0,
                computer_dns_name: d.name.clone(),
                rbac_group_name: group.to_string(),
                device_value: d.value,
                exposure_score: score,
                exposure_level: ExposureLevel::of(score, vulns),
                vulnerabilities: vulns as u64,
            })
        })
        .collect();
    ExposureReport {
        time: fleet.now,
        score: scores.organization,
        band: Band::of(scores.organization),
        groups: scores
            .groups
            .iter()
            .map(|(name, score)| GroupScore {
                time: fleet.now,
                score: *score,
                rbac_group_name: name.clone(),
                devices: devices_in.get(name.as_str()).copied().unwrap_or(0),
            })
            .collect(),
        devices,
    }
}

impl Engine {
    /// The exposure score of the organisation, its groups and its devices, now.
    pub async fn exposure(&self) -> EngineResult<ExposureReport> {
        let fleet = self.fleet().await?;
        let scores = fleet.exposure(&self.index(), &self.threat());
        Ok(report(&fleet, &scores))
    }

    /// The exposure score in both impact modes, the devices per exposure level and the
    /// recommendations, from one read of the fleet.
    pub async fn overview(&self) -> EngineResult<Overview> {
        let fleet = self.fleet().await?;
        let (index, threat) = (self.index(), self.threat());
        Ok(Overview {
            time: fleet.now,
            devices: fleet.devices.len() as u64,
            without_exceptions: ExposureSummary::of(&fleet.exposure_with(
                &index,
                &threat,
                ImpactMode::None,
            )),
            with_exceptions: ExposureSummary::of(&fleet.exposure_with(
                &index,
                &threat,
                ImpactMode::Mitigation,
            )),
            recommendations: fleet.recommendations(&index, &threat),
        })
    }

    /// Records a snapshot of the current scores (organisation, groups, devices).
    pub async fn record_scores(&self) -> EngineResult<ExposureReport> {
        self.record_scores_of(None).await
    }

    /// Records a snapshot of the organisation's and the groups' scores and of the devices' — of every
    /// device, or only of `only` when one device's inventory is all that changed (a device's score
    /// depends on nothing but its own weaknesses, value and tags, so the other devices' series would
    /// only repeat their last point; the daily snapshot records every device).
    pub(crate) async fn record_scores_of(
        &self,
        only: Option<DeviceId>,
    ) -> EngineResult<ExposureReport> {
        let report = self.exposure().await?;
        let config = self.configuration_score().await?;
        let group_config: HashMap<&str, Option<f64>> = config
            .groups
            .iter()
            .map(|g| (g.rbac_group_name.as_str(), g.score))
            .collect();
        let device_config: HashMap<i64, Option<f64>> =
            config.devices.iter().map(|d| (d.id, d.score)).collect();
        let mut snapshots = vec![ScoreSnapshot {
            at: report.time,
            scope: ScoreScope::Organization,
            name: String::new(),
            exposure: report.score,
            configuration: config.score,
        }];
        snapshots.extend(report.groups.iter().map(|g| {
            ScoreSnapshot {
                at: report.time,
                scope: ScoreScope::Group,
                name: g.rbac_group_name.clone(),
                exposure: g.score,
                configuration: group_config
                    .get(g.rbac_group_name.as_str())
                    .copied()
                    .flatten(),
            }
        }));
        let recorded = report
            .devices
            .iter()
            .filter(|d| only.is_none_or(|id| id.0 == d.id));
        snapshots.extend(recorded.map(|d| ScoreSnapshot {
            at: report.time,
            scope: ScoreScope::Device,
            name: d.computer_dns_name.clone(),
            exposure: d.exposure_score,
            configuration: device_config.get(&d.id).copied().flatten(),
        }));
        self.store.record_scores(&snapshots).await?;
        Ok(report)
    }

    /// Records a snapshot unless one was recorded within the last day (the daily job calls this).
    pub async fn record_daily_scores(&self) -> EngineResult<bool> {
        let now = self.now();
        match self.store.latest_score_time().await? {
            Some(at) if now - at < Duration::days(1) => Ok(false),
            _ => {
                self.record_scores().await?;
                Ok(true)
            }
        }
    }

    /// The recorded scores of one scope between two times, oldest first.
    pub async fn score_history(
        &self,
        scope: ScoreScope,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> EngineResult<Vec<ScoreSnapshot>> {
        if from > to {
            return Err(EngineError::Invalid(format!(
                "from ({from}) is after to ({to})"
            )));
        }
        Ok(self.store.score_history(scope, name, from, to).await?)
    }

    /// Every device group, by rank.
    pub async fn device_groups(&self) -> EngineResult<Vec<DeviceGroup>> {
        Ok(self.store.device_groups().await?)
    }

    /// Creates a device group, then records the scores its rules change.
    pub async fn create_device_group(&self, group: NewDeviceGroup) -> EngineResult<DeviceGroup> {
        validate_group_name(&group.name).map_err(EngineError::Invalid)?;
        let created = self.store.create_device_group(&group, self.now()).await?;
        self.record_scores().await?;
        Ok(created)
    }

    /// Renames a group or changes its rules or rank.
    pub async fn update_device_group(
        &self,
        id: i64,
        patch: DeviceGroupPatch,
    ) -> EngineResult<DeviceGroup> {
        if let Some(name) = &patch.name {
            validate_group_name(name).map_err(EngineError::Invalid)?;
        }
        let updated = self.store.update_device_group(id, &patch).await?;
        self.record_scores().await?;
        Ok(updated)
    }

    /// Deletes a group; its explicitly assigned devices fall back to the rules.
    pub async fn delete_device_group(&self, id: i64) -> EngineResult<()> {
        self.store.delete_device_group(id).await?;
        self.record_scores().await?;
        Ok(())
    }

    /// Changes a device's value, tags or explicit group (by id or name).
    pub async fn update_device(
        &self,
        id_or_name: &str,
        patch: DevicePatch,
    ) -> EngineResult<Device> {
        if let Some(Some(group)) = &patch.group {
            validate_group_name(group).map_err(EngineError::Invalid)?;
        }
        if let Some(tags) = &patch.tags
            && let Some(bad) = tags.iter().find(|t| t.trim().is_empty() || t.len() > 128)
        {
            return Err(EngineError::Invalid(format!(
                "tag {bad:?} must be 1 to 128 characters"
            )));
        }
        let device = self.find_device(id_or_name).await?;
        let updated = self.store.update_device(device.id, &patch).await?;
        self.record_scores().await?;
        Ok(updated)
    }

    /// The exposure score of one device (by id or name).
    pub async fn device_score(&self, id_or_name: &str) -> EngineResult<DeviceScore> {
        let device = self.find_device(id_or_name).await?;
        self.exposure()
            .await?
            .devices
            .into_iter()
            .find(|d| d.id == device.id.0)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "a score for machine {id_or_name} (not seen in the last {EXPOSURE_WINDOW_DAYS} days)"
                ))
            })
    }

    /// The devices of a snapshot with their scores, for machine views.
    pub(crate) fn device_scores(&self, fleet: &Fleet) -> HashMap<DeviceId, (f64, usize)> {
        fleet
            .exposure(&self.index(), &self.threat())
            .devices
            .into_iter()
            .collect()
    }
}
