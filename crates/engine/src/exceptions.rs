//! Exceptions in the engine: creating (with permissions, target and group checks, and the score change
//! it would cause), cancelling, listing, and applying them — which weakness each one covers, the
//! recommendation status and after-exception figures, the mitigation view of the scores — plus the
//! exception job: recording expiries, announcing upcoming ones, resurfacing and staleness.
//!
//! Expiry needs no job to take effect: status is a function of the clock, so every query sees an
//! exception end at its exact instant. The job only records the transition, re-scores and notifies.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::exception::{
    Cover, CoverageFacts, CoveredVulnerability, Exception, ExceptionPolicy, ExceptionRequest,
    ExceptionSet, ExceptionStatus, Justification, NewException, RecommendationStatus, ReviewMark,
    ScoreEffect, TargetKind, is_stale, resurface_reasons,
};
use bulwark_core::exposure::{ScoredWeakness, exposure_impacts, exposure_scores};
use bulwark_core::group::{UNGROUPED, group_of};
use bulwark_core::identity::{Action, User};
use bulwark_core::matching::{AdvisoryIndex, PackageKey};
use bulwark_core::recommendation::{
    Recommendation, effective_severity_score, recommendation_id, vulnerability_aliases,
    vulnerability_severity, vulnerability_threat,
};
use bulwark_core::webhook::EventKind;
use bulwark_core::{DeviceId, Weakness};
use bulwark_store::ExceptionTracking;

use crate::views::Fleet;
use crate::{Engine, EngineError, EngineResult};

/// The settings key of the exception policy.
pub const POLICY_SETTING: &str = "exceptionPolicy";

/// The actor name of changes the system makes on its own (expiry, resurfacing, automatic completion).
pub const SYSTEM_ACTOR: &str = "system";

/// How exceptions count in the exposure score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImpactMode {
    /// Exceptions change no score (the raw figures).
    None,
    /// Mitigation-like exceptions score their weaknesses as remediated; false positives are removed.
    #[default]
    Mitigation,
}

impl ImpactMode {
    /// The mode an API value names (`none`, `mitigation`); `hybrid` is both and is the caller's.
    pub fn parse(s: &str) -> Option<ImpactMode> {
        match s {
            "none" => Some(ImpactMode::None),
            "mitigation" => Some(ImpactMode::Mitigation),
            _ => None,
        }
    }
}

/// A device group's part of an exception, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionGroupView {
    /// The device group.
    pub name: String,
    /// Its status now.
    pub status: ExceptionStatus,
    /// In effect but suspended by a global exception on the same target.
    pub suspended: bool,
    /// Who canceled this group's entry.
    pub canceled_by: Option<String>,
    /// When.
    pub canceled_on: Option<DateTime<Utc>>,
}

/// An exception as the API and CLI show it (camelCase, MDVM-like names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionView {
    /// Store id.
    pub id: i64,
    /// `Recommendation` or `Cve`.
    pub exception_type: TargetKind,
    /// The recommendation it is on.
    pub recommendation_id: Option<String>,
    /// The CVE it is on.
    pub cve_id: Option<String>,
    /// Why.
    pub justification: Justification,
    /// The console's label of the justification.
    pub justification_label: String,
    /// The free text.
    pub justification_context: String,
    /// Its status now.
    pub status: ExceptionStatus,
    /// Every current and future device group.
    pub global: bool,
    /// The device groups (device-group exceptions).
    pub device_groups: Vec<ExceptionGroupView>,
    /// Its effect on scores: `NoImpact`, `Mitigated`, `Removed`.
    pub score_effect: ScoreEffect,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_on: DateTime<Utc>,
    /// Its expiry instant.
    pub expires_on: DateTime<Utc>,
    /// Who canceled it.
    pub canceled_by: Option<String>,
    /// When.
    pub canceled_on: Option<DateTime<Utc>>,
    /// A resurfacing trigger fired: it must be reviewed.
    pub needs_review: bool,
    /// Why.
    pub review_reasons: Vec<String>,
    /// The policy voided it when it resurfaced.
    pub voided: bool,
    /// In effect, yet it has covered no finding for the policy's number of days.
    pub stale: bool,
    /// The last time it covered a finding.
    pub last_covered_on: Option<DateTime<Utc>>,
}

impl ExceptionView {
    /// The view of a stored exception at `now`, given the others (for suspension).
    pub fn of(
        e: &Exception,
        all: &[Exception],
        now: DateTime<Utc>,
        policy: &ExceptionPolicy,
    ) -> ExceptionView {
        let suspended = !e.global
            && all.iter().any(|o| {
                o.id != e.id
                    && o.global
                    && o.kind == e.kind
                    && o.target == e.target
                    && o.in_effect(now)
            });
        ExceptionView {
            id: e.id,
            exception_type: e.kind,
            recommendation_id: (e.kind == TargetKind::Recommendation).then(|| e.target.clone()),
            cve_id: (e.kind == TargetKind::Cve).then(|| e.target.clone()),
            justification: e.justification,
            justification_label: e.justification.label().to_string(),
            justification_context: e.context.clone(),
            status: e.status_at(now),
            global: e.global,
            device_groups: e
                .groups
                .iter()
                .map(|g| {
                    let status = e
                        .group_status_at(&g.name, now)
                        .unwrap_or(ExceptionStatus::Canceled);
                    ExceptionGroupView {
                        name: g.name.clone(),
                        status,
                        suspended: suspended && status == ExceptionStatus::InEffect,
                        canceled_by: g.canceled_by.clone(),
                        canceled_on: g.canceled_at,
                    }
                })
                .collect(),
            score_effect: e.justification.effect(),
            created_by: e.created_by.clone(),
            created_on: e.created_at,
            expires_on: e.expires_at,
            canceled_by: e.canceled_by.clone(),
            canceled_on: e.canceled_at,
            needs_review: e.review.is_some(),
            review_reasons: e
                .review
                .as_ref()
                .map(|r| r.reasons.clone())
                .unwrap_or_default(),
            voided: e.review.as_ref().is_some_and(|r| r.voided),
            stale: is_stale(e, now, policy),
            last_covered_on: e.last_covered_at,
        }
    }

    /// Whether it is in effect at `now` and ends within `days` days (the expiring-soon lists).
    pub fn expires_within(&self, now: DateTime<Utc>, days: i64) -> bool {
        self.status == ExceptionStatus::InEffect && self.expires_on - now <= Duration::days(days)
    }
}

/// The exposure score an exception would change, before it is submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionPreview {
    /// The organisation's exposure score now (exceptions in effect applied).
    pub exposure_score_before: f64,
    /// With the requested exception in effect too.
    pub exposure_score_after: f64,
    /// `after − before` (negative: the score drops; 0 for justifications without score impact).
    pub exposure_score_change: f64,
    /// Weaknesses (device × vulnerability rows) it would cover.
    pub covered_weaknesses: u64,
    /// Devices it would cover.
    pub covered_devices: u64,
    /// The recommendation's status after it.
    pub recommendation_status: Option<String>,
}

/// What one run of the exception job did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionJobReport {
    /// Exceptions whose expiry was recorded.
    pub expired: Vec<i64>,
    /// Exceptions announced as expiring soon.
    pub expiring: Vec<i64>,
    /// Exceptions a trigger resurfaced.
    pub resurfaced: Vec<i64>,
    /// Of those, the ones the policy voided.
    pub voided: Vec<i64>,
}

/// Days before expiry when `exception.expiring` is announced.
pub const EXPIRING_NOTICE_DAYS: i64 = 7;

impl Fleet {
    /// Each device's group, by id.
    pub(crate) fn device_group_names(&self) -> HashMap<DeviceId, &str> {
        self.devices
            .iter()
            .map(|d| (d.id, group_of(d, &self.groups)))
            .collect()
    }

    /// The exception that covers each open weakness (aligned with `open`), with the fleet's own
    /// exceptions at its time.
    pub(crate) fn covers(&self, index: &AdvisoryIndex) -> Vec<Option<Cover>> {
        let set = ExceptionSet::new(&self.exceptions, self.now);
        self.covers_with(index, &set)
    }

    /// The exception of `set` that covers each open weakness (aligned with `open`).
    pub(crate) fn covers_with(
        &self,
        index: &AdvisoryIndex,
        set: &ExceptionSet<'_>,
    ) -> Vec<Option<Cover>> {
        if set.is_empty() {
            return vec![None; self.open.len()];
        }
        let groups = self.device_group_names();
        let mut recommendation_ids: HashMap<PackageKey, String> = HashMap::new();
        self.open
            .iter()
            .map(|w| {
                let group = groups.get(&w.device_id).copied().unwrap_or(UNGROUPED);
                let rec = recommendation_ids
                    .entry(PackageKey::new(&w.software.ecosystem, &w.software.name))
                    .or_insert_with_key(recommendation_id);
                set.cover(rec, vulnerability_ids(index, w), group)
            })
            .collect()
    }
}

/// A weakness's vulnerability id, its advisory ids and their aliases.
fn vulnerability_ids<'a>(index: &'a AdvisoryIndex, w: &'a Weakness) -> Vec<&'a str> {
    vulnerability_aliases(
        index,
        &w.vulnerability_id,
        w.advisory_ids.iter().map(String::as_str),
    )
}

/// Keeps the scored weaknesses `mode` counts: under `Mitigation`, those covered by a mitigation-like
/// or false-positive exception are dropped.
pub(crate) fn apply_mode(
    weaknesses: Vec<ScoredWeakness>,
    covers: &[Option<Cover>],
    mode: ImpactMode,
) -> Vec<ScoredWeakness> {
    if mode == ImpactMode::None || covers.iter().all(Option::is_none) {
        return weaknesses;
    }
    weaknesses
        .into_iter()
        .zip(covers)
        .filter(|(_, c)| c.is_none_or(|c| c.effect == ScoreEffect::NoImpact))
        .map(|(w, _)| w)
        .collect()
}

/// Sets each recommendation's status and after-exception figures from the exceptions in effect.
/// `weaknesses` are the fleet's scored weaknesses (aligned with `covers`), `active` the devices that
/// count as exposed.
pub(crate) fn apply_to_recommendations(
    recommendations: &mut [Recommendation],
    devices: &[bulwark_core::exposure::ScoredDevice],
    weaknesses: &[ScoredWeakness],
    covers: &[Option<Cover>],
) {
    if covers.iter().all(Option::is_none) {
        return;
    }
    let active: BTreeSet<DeviceId> = devices.iter().map(|d| d.id).collect();
    // recommendation → (exposed rows, covered rows, devices with an uncovered row)
    let mut tally: HashMap<&str, (usize, usize, BTreeSet<DeviceId>)> = HashMap::new();
    // The weaknesses the after-exception impacts see: mitigated ones gone, excepted ones relabelled so
    // that remediating the recommendation does not count them.
    let mut after: Vec<ScoredWeakness> = Vec::with_capacity(weaknesses.len());
    for (w, cover) in weaknesses.iter().zip(covers) {
        if active.contains(&w.device) {
            let t = tally.entry(w.recommendation.as_str()).or_default();
            t.0 += 1;
            if cover.is_some() {
                t.1 += 1;
            } else {
                t.2.insert(w.device);
            }
        }
        match cover {
            None => after.push(w.clone()),
            Some(c) if c.effect == ScoreEffect::NoImpact => {
                let mut w = w.clone();
                w.recommendation = format!("{}\u{0}excepted", w.recommendation);
                after.push(w);
            }
            Some(_) => {}
        }
    }
    let scores = exposure_scores(devices, &after);
    let impacts = exposure_impacts(devices, &after, &scores);
    for r in recommendations.iter_mut() {
        let Some((exposed, covered, uncovered)) = tally.get(r.id.as_str()) else {
            continue;
        };
        r.status = RecommendationStatus::of(*covered, *exposed)
            .as_str()
            .to_string();
        r.exposed_machines_count_after_exceptions = uncovered.len() as u64;
        r.exposure_impact_after_exceptions = impacts.get(&r.id).copied().unwrap_or(0.0);
    }
}

/// What an exception covers now, for resurfacing: its vulnerabilities' threat facts, whether a fix is
/// known, the covered devices and which are internet-facing.
fn coverage_facts(
    fleet: &Fleet,
    index: &AdvisoryIndex,
    threat: &bulwark_core::context::ThreatContext,
    exception: &Exception,
) -> CoverageFacts {
    let only = std::slice::from_ref(exception);
    // Suspension does not matter here: what the exception would cover is what it is answerable for.
    let set = ExceptionSet::new(only, fleet.now);
    let covers = fleet.covers_with(index, &set);
    let by_id: HashMap<DeviceId, &bulwark_core::Device> =
        fleet.devices.iter().map(|d| (d.id, d)).collect();
    let cutoff = fleet.now - Duration::days(bulwark_core::recommendation::EXPOSURE_WINDOW_DAYS);
    let mut facts = CoverageFacts::default();
    let mut devices: BTreeSet<DeviceId> = BTreeSet::new();
    for (w, cover) in fleet.open.iter().zip(&covers) {
        if cover.is_none() {
            continue;
        }
        let Some(device) = by_id.get(&w.device_id) else {
            continue;
        };
        if device.last_seen < cutoff {
            continue;
        }
        devices.insert(w.device_id);
        if device
            .tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case(bulwark_core::exposure::INTERNET_FACING))
        {
            facts.internet_facing.insert(device.name.clone());
        }
        let ids: Vec<&str> = w.advisory_ids.iter().map(String::as_str).collect();
        let severity = vulnerability_severity(index, ids.iter().copied());
        let t = vulnerability_threat(index, threat, &w.vulnerability_id, ids.iter().copied());
        let key = PackageKey::new(&w.software.ecosystem, &w.software.name);
        let fix_available = !index.fixed_versions(&key, &ids).is_empty();
        let entry = facts
            .vulnerabilities
            .entry(w.vulnerability_id.clone())
            .or_insert(CoveredVulnerability {
                kev: false,
                epss: None,
                fix_available: false,
                severity: 0.0,
            });
        entry.kev |= t.kev;
        entry.epss = match (entry.epss, t.epss) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        entry.fix_available |= fix_available;
        entry.severity = entry
            .severity
            .max(effective_severity_score(severity.as_ref(), &t));
    }
    facts.devices = devices.len() as u64;
    facts
}

impl Engine {
    /// The exception policy: the stored setting, else the defaults.
    pub async fn exception_policy(&self) -> EngineResult<ExceptionPolicy> {
        match self.store.setting(POLICY_SETTING).await? {
            None => Ok(ExceptionPolicy::default()),
            Some(v) => serde_json::from_value(v).map_err(|e| {
                EngineError::Internal(format!("stored setting {POLICY_SETTING} is invalid: {e}"))
            }),
        }
    }

    /// Replaces the exception policy (admins only).
    pub async fn set_exception_policy(
        &self,
        actor: &User,
        policy: &ExceptionPolicy,
    ) -> EngineResult<()> {
        require(actor, Action::ManageSettings)?;
        if policy.max_duration_days == 0 || policy.max_duration_days > 3650 {
            return Err(EngineError::Invalid(
                "maxDurationDays: must be between 1 and 3650".into(),
            ));
        }
        if policy.max_context_chars == 0 || policy.max_context_chars > 100_000 {
            return Err(EngineError::Invalid(
                "maxContextChars: must be between 1 and 100000".into(),
            ));
        }
        if !(0.0..=1.0).contains(&policy.epss_threshold) {
            return Err(EngineError::Invalid(
                "epssThreshold: must be between 0 and 1".into(),
            ));
        }
        let value =
            serde_json::to_value(policy).map_err(|e| EngineError::Internal(e.to_string()))?;
        self.store
            .set_setting(POLICY_SETTING, &value, &actor.email, self.now())
            .await?;
        Ok(())
    }

    /// Every exception, as shown now.
    pub async fn exceptions(&self) -> EngineResult<Vec<ExceptionView>> {
        let all = self.store.exceptions().await?;
        let policy = self.exception_policy().await?;
        let now = self.now();
        Ok(all
            .iter()
            .map(|e| ExceptionView::of(e, &all, now, &policy))
            .collect())
    }

    /// One exception; `NotFound` when unknown.
    pub async fn exception(&self, id: i64) -> EngineResult<ExceptionView> {
        self.exceptions()
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| EngineError::NotFound(format!("exception {id}")))
    }

    /// Checks a request (policy, permissions, target, groups) and gives the exception to store.
    async fn validated(
        &self,
        actor: &User,
        request: ExceptionRequest,
        fleet: &Fleet,
    ) -> EngineResult<NewException> {
        let policy = self.exception_policy().await?;
        let new = request
            .validate(&actor.email, fleet.now, &policy)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        require(
            actor,
            if new.global {
                Action::GlobalException
            } else {
                Action::GroupException
            },
        )?;
        let index = self.index();
        match new.kind {
            TargetKind::Recommendation => {
                let known = !fleet.weaknesses_of(&new.target).is_empty()
                    || self.is_configuration_recommendation(&new.target).await?;
                if !known {
                    return Err(EngineError::NotFound(format!(
                        "recommendation {}",
                        new.target
                    )));
                }
            }
            TargetKind::Cve => {
                let known = fleet.open.iter().any(|w| {
                    vulnerability_ids(&index, w)
                        .iter()
                        .any(|id| id.eq_ignore_ascii_case(&new.target))
                }) || crate::resolve_vulnerability(&index, &new.target).is_some()
                    || self.threat().nvd(&new.target).is_some();
                if !known {
                    return Err(EngineError::NotFound(format!(
                        "vulnerability {}",
                        new.target
                    )));
                }
            }
        }
        if !new.global {
            let mut known: BTreeSet<&str> = fleet.groups.iter().map(|g| g.name.as_str()).collect();
            known.insert(UNGROUPED);
            known.extend(fleet.devices.iter().filter_map(|d| d.group.as_deref()));
            if let Some(unknown) = new.groups.iter().find(|g| !known.contains(g.as_str())) {
                let list: Vec<&str> = known.into_iter().collect();
                return Err(EngineError::Invalid(format!(
                    "deviceGroups: unknown device group {unknown:?} (known: {})",
                    list.join(", ")
                )));
            }
        }
        Ok(new)
    }

    /// Creates an exception: analysts may create device-group exceptions, admins also global ones.
    /// `Conflict` when one is already in effect for the same target and scope. Records the baseline
    /// resurfacing compares against, re-scores and notifies.
    pub async fn create_exception(
        &self,
        actor: &User,
        request: ExceptionRequest,
    ) -> EngineResult<ExceptionView> {
        let fleet = self.fleet().await?;
        let new = self.validated(actor, request, &fleet).await?;
        let stored = self.store.create_exception(&new, &actor.email).await?;
        let facts = coverage_facts(&fleet, &self.index(), &self.threat(), &stored);
        let tracking = ExceptionTracking {
            last_covered_at: facts.covers_anything().then_some(fleet.now),
            baseline: Some(facts),
            ..ExceptionTracking::default()
        };
        let stored = self
            .store
            .track_exception(stored.id, &tracking, None, SYSTEM_ACTOR, fleet.now)
            .await?;
        let all = self.store.exceptions().await?;
        let view = ExceptionView::of(&stored, &all, fleet.now, &self.exception_policy().await?);
        self.notify(EventKind::ExceptionCreated, &view, None)
            .await?;
        self.record_scores().await?;
        Ok(view)
    }

    /// The score change an exception would cause, without creating it (the same checks as creation,
    /// conflicts included).
    pub async fn preview_exception(
        &self,
        actor: &User,
        request: ExceptionRequest,
    ) -> EngineResult<ExceptionPreview> {
        let mut fleet = self.fleet().await?;
        let new = self.validated(actor, request, &fleet).await?;
        if let Some((e, group)) =
            bulwark_core::exception::conflicting(&fleet.exceptions, &new, fleet.now)
        {
            return Err(EngineError::Conflict(match group {
                Some(g) => format!(
                    "exception {} is already in effect for device group {g}",
                    e.id
                ),
                None => format!("a global exception {} is already in effect", e.id),
            }));
        }
        let index = self.index();
        let threat = self.threat();
        let before = fleet.exposure_with(&index, &threat, ImpactMode::Mitigation);
        let hypothetical = Exception {
            id: -1,
            kind: new.kind,
            target: new.target.clone(),
            justification: new.justification,
            context: new.context.clone(),
            global: new.global,
            groups: new
                .groups
                .iter()
                .map(|name| bulwark_core::exception::ExceptionGroup {
                    name: name.clone(),
                    canceled_by: None,
                    canceled_at: None,
                })
                .collect(),
            created_by: new.created_by.clone(),
            created_at: new.created_at,
            expires_at: new.expires_at,
            canceled_by: None,
            canceled_at: None,
            review: None,
            expiry_recorded_at: None,
            baseline: None,
            last_covered_at: None,
        };
        let facts = coverage_facts(&fleet, &index, &threat, &hypothetical);
        let covered_weaknesses = {
            let set = ExceptionSet::new(std::slice::from_ref(&hypothetical), fleet.now);
            fleet
                .covers_with(&index, &set)
                .iter()
                .filter(|c| c.is_some())
                .count() as u64
        };
        fleet.exceptions.push(hypothetical);
        let after = fleet.exposure_with(&index, &threat, ImpactMode::Mitigation);
        let status = if new.kind == TargetKind::Recommendation {
            fleet
                .recommendations(&index, &threat)
                .into_iter()
                .find(|r| r.id == new.target)
                .map(|r| r.status)
        } else {
            None
        };
        Ok(ExceptionPreview {
            exposure_score_before: before.organization,
            exposure_score_after: after.organization,
            exposure_score_change: after.organization - before.organization,
            covered_weaknesses,
            covered_devices: facts.devices,
            recommendation_status: status,
        })
    }

    /// Cancels an exception (all of it, or some device groups). Global exceptions need an admin;
    /// device-group entries an analyst. Re-scores.
    pub async fn cancel_exception(
        &self,
        actor: &User,
        id: i64,
        groups: Option<Vec<String>>,
    ) -> EngineResult<ExceptionView> {
        let existing = self
            .store
            .exception(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("exception {id}")))?;
        require(
            actor,
            if existing.global {
                Action::GlobalException
            } else {
                Action::GroupException
            },
        )?;
        if existing.global && groups.is_some() {
            return Err(EngineError::Invalid(format!(
                "deviceGroups: exception {id} is global; cancel it as a whole"
            )));
        }
        let now = self.now();
        let stored = self
            .store
            .cancel_exception(id, groups.as_deref(), &actor.email, now)
            .await?;
        self.record_scores().await?;
        let all = self.store.exceptions().await?;
        Ok(ExceptionView::of(
            &stored,
            &all,
            now,
            &self.exception_policy().await?,
        ))
    }

    /// The exception job: records expiries (audited, re-scored, `exception.expired`), announces
    /// exceptions expiring within [`EXPIRING_NOTICE_DAYS`], and checks every exception in effect for
    /// resurfacing triggers against its baseline (marks it, voids it when the policy says so, audits
    /// and notifies); keeps each one's last-covered time. Safe to run at any time and in several
    /// replicas: each transition is recorded once.
    pub async fn run_exception_job(&self) -> EngineResult<ExceptionJobReport> {
        let fleet = self.fleet().await?;
        let now = fleet.now;
        let policy = self.exception_policy().await?;
        let index = self.index();
        let threat = self.threat();
        let mut report = ExceptionJobReport::default();
        for e in &fleet.exceptions {
            match e.status_at(now) {
                ExceptionStatus::Expired if e.expiry_recorded_at.is_none() => {
                    let tracking = ExceptionTracking {
                        expiry_recorded_at: Some(now),
                        ..ExceptionTracking::default()
                    };
                    let stored = self
                        .store
                        .track_exception(
                            e.id,
                            &tracking,
                            Some("exception.expire"),
                            SYSTEM_ACTOR,
                            now,
                        )
                        .await?;
                    let view = ExceptionView::of(&stored, &fleet.exceptions, now, &policy);
                    self.notify(
                        EventKind::ExceptionExpired,
                        &view,
                        Some(format!("expired:{}", e.id)),
                    )
                    .await?;
                    report.expired.push(e.id);
                }
                ExceptionStatus::InEffect => {
                    if e.expires_at - now <= Duration::days(EXPIRING_NOTICE_DAYS) {
                        let view = ExceptionView::of(e, &fleet.exceptions, now, &policy);
                        let key = format!("expiring:{}:{}", e.id, e.expires_at.timestamp());
                        if self
                            .notify(EventKind::ExceptionExpiring, &view, Some(key))
                            .await?
                            > 0
                        {
                            report.expiring.push(e.id);
                        }
                    }
                    let facts = coverage_facts(&fleet, &index, &threat, e);
                    let reasons = match &e.baseline {
                        Some(baseline) => {
                            resurface_reasons(e.justification, baseline, &facts, &policy)
                        }
                        None => Vec::new(),
                    };
                    let covered_now = facts.covers_anything();
                    let baseline_changed = e.baseline.as_ref() != Some(&facts);
                    let last_covered_stale = covered_now
                        && e.last_covered_at
                            .is_none_or(|t| now - t >= Duration::hours(1));
                    if reasons.is_empty() && !baseline_changed && !last_covered_stale {
                        continue;
                    }
                    let mut tracking = ExceptionTracking {
                        baseline: Some(facts),
                        last_covered_at: covered_now.then_some(now),
                        ..ExceptionTracking::default()
                    };
                    let action = if reasons.is_empty() {
                        None
                    } else {
                        let voided = policy.void_on_resurface;
                        tracking.review = Some(ReviewMark {
                            reasons: reasons.clone(),
                            at: now,
                            voided,
                        });
                        if voided {
                            tracking.void_at = Some(now);
                            report.voided.push(e.id);
                        }
                        report.resurfaced.push(e.id);
                        Some("exception.resurface")
                    };
                    let stored = self
                        .store
                        .track_exception(e.id, &tracking, action, SYSTEM_ACTOR, now)
                        .await?;
                    if action.is_some() {
                        let view = ExceptionView::of(&stored, &fleet.exceptions, now, &policy);
                        let key = format!("resurfaced:{}:{}", e.id, now.timestamp_micros());
                        self.notify(EventKind::ExceptionResurfaced, &view, Some(key))
                            .await?;
                    }
                }
                _ => {}
            }
        }
        if !report.expired.is_empty() || !report.voided.is_empty() {
            self.record_scores().await?;
        }
        Ok(report)
    }

    /// The exposure score with exceptions counted as `mode` says.
    pub async fn exposure_with(&self, mode: ImpactMode) -> EngineResult<crate::ExposureReport> {
        let fleet = self.fleet().await?;
        let scores = fleet.exposure_with(&self.index(), &self.threat(), mode);
        Ok(crate::scores::report(&fleet, &scores))
    }

    /// Queues a webhook event about an exception; returns how many deliveries were queued.
    pub(crate) async fn notify<T: Serialize>(
        &self,
        event: EventKind,
        subject: &T,
        dedup_key: Option<String>,
    ) -> EngineResult<u64> {
        let payload = serde_json::json!({
            "event": event.as_str(),
            "time": self.now(),
            "data": subject,
        });
        let body =
            serde_json::to_string(&payload).map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(self
            .store
            .enqueue_event(event, &body, dedup_key.as_deref(), self.now())
            .await?)
    }
}

/// `Forbidden` unless the user's role allows the action.
pub(crate) fn require(user: &User, action: Action) -> EngineResult<()> {
    if user.role.may(action) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(format!(
            "{} ({}) may not {}",
            user.email,
            user.role.as_str(),
            action.describe()
        )))
    }
}

impl Engine {
    /// Whether `id` names a configuration recommendation (a failing check) of the fleet.
    async fn is_configuration_recommendation(&self, id: &str) -> EngineResult<bool> {
        if !id.starts_with(crate::CONFIGURATION_RECOMMENDATION_PREFIX) {
            return Ok(false);
        }
        Ok(self
            .configuration_recommendations()
            .await?
            .iter()
            .any(|r| r.id == id))
    }
}
