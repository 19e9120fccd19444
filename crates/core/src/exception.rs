//! Exceptions: the recorded decision not to remediate a recommendation (or one CVE) for a while, for all
//! device groups or some, and why. This module holds the rules — validation, the lifecycle by time, which
//! exception covers which weakness, the recommendation status they give, and when an exception must be
//! reviewed again (resurfacing). Storage and the clock live elsewhere; every function here takes `now`.
//!
//! Decisions where MDVM is silent (docs/exceptions.md explains them to users):
//! - An exception is *in effect* from its creation until `expires_at` (exclusive) unless canceled; a
//!   device-group entry can be canceled on its own. Expiry is a pure function of the time, so every query
//!   sees it at the same instant.
//! - While a global exception on a target is in effect, device-group exceptions on the same target are
//!   *suspended*: the global one decides coverage and score effect. They apply again when it ends.
//! - When several exceptions cover one weakness (a recommendation exception and a CVE exception), the
//!   strongest effect wins: a false positive removes the finding, a mitigation-like justification scores it
//!   as remediated, the others only hide it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The durations a user may pick, in days (an explicit expiry date is the other way).
pub const DURATION_CHOICES: [u32; 5] = [30, 60, 90, 180, 365];

/// Why a recommendation or CVE is not remediated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    /// Another product or service covers the risk (mitigation-like).
    ThirdPartyControl,
    /// Another control mitigates it (mitigation-like).
    AlternateMitigation,
    /// The risk is accepted (no score impact).
    RiskAccepted,
    /// Remediation is planned; a grace period (no score impact).
    PlannedRemediation,
    /// The CVE has no patch yet (CVE exceptions only; no score impact).
    CveNoPatch,
    /// The finding is wrong (CVE exceptions only; the finding is removed).
    FalsePositive,
}

/// Every justification, in the order the console offers them.
pub const ALL_JUSTIFICATIONS: [Justification; 6] = [
    Justification::ThirdPartyControl,
    Justification::AlternateMitigation,
    Justification::RiskAccepted,
    Justification::PlannedRemediation,
    Justification::CveNoPatch,
    Justification::FalsePositive,
];

/// What an exception does to the scores of the weaknesses it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScoreEffect {
    /// Hidden from the default lists; scores unchanged.
    NoImpact,
    /// Scored as if remediated.
    Mitigated,
    /// The finding is removed (scored as if it did not exist).
    Removed,
}

impl Justification {
    /// The API name (`third_party_control`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Justification::ThirdPartyControl => "third_party_control",
            Justification::AlternateMitigation => "alternate_mitigation",
            Justification::RiskAccepted => "risk_accepted",
            Justification::PlannedRemediation => "planned_remediation",
            Justification::CveNoPatch => "cve_no_patch",
            Justification::FalsePositive => "false_positive",
        }
    }

    /// The justification an API name stands for.
    pub fn parse(s: &str) -> Option<Justification> {
        ALL_JUSTIFICATIONS.into_iter().find(|j| j.as_str() == s)
    }

    /// The label MDVM's console shows.
    pub fn label(self) -> &'static str {
        match self {
            Justification::ThirdPartyControl => "Third party control",
            Justification::AlternateMitigation => "Alternate mitigation",
            Justification::RiskAccepted => "Risk accepted",
            Justification::PlannedRemediation => "Planned remediation (grace)",
            Justification::CveNoPatch => "CVE with no patch",
            Justification::FalsePositive => "False positive",
        }
    }

    /// Its effect on the scores of the weaknesses it covers.
    pub fn effect(self) -> ScoreEffect {
        match self {
            Justification::ThirdPartyControl | Justification::AlternateMitigation => {
                ScoreEffect::Mitigated
            }
            Justification::FalsePositive => ScoreEffect::Removed,
            Justification::RiskAccepted
            | Justification::PlannedRemediation
            | Justification::CveNoPatch => ScoreEffect::NoImpact,
        }
    }

    /// Whether it may justify an exception on this kind of target.
    pub fn allowed_on(self, kind: TargetKind) -> bool {
        match self {
            Justification::CveNoPatch | Justification::FalsePositive => kind == TargetKind::Cve,
            _ => true,
        }
    }
}

/// What an exception is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TargetKind {
    /// A security recommendation (every weakness of one product, or one configuration check).
    Recommendation,
    /// One CVE (or other vulnerability id), wherever it is found.
    Cve,
}

impl TargetKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Recommendation => "recommendation",
            TargetKind::Cve => "cve",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(s: &str) -> Option<TargetKind> {
        match s {
            "recommendation" => Some(TargetKind::Recommendation),
            "cve" => Some(TargetKind::Cve),
            _ => None,
        }
    }
}

/// An exception's status at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ExceptionStatus {
    /// Covering its scope now.
    InEffect,
    /// Its expiry instant has passed.
    Expired,
    /// Canceled (the whole exception, or every one of its device groups).
    Canceled,
}

impl ExceptionStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStatus::InEffect => "InEffect",
            ExceptionStatus::Expired => "Expired",
            ExceptionStatus::Canceled => "Canceled",
        }
    }

    /// The status an API name stands for.
    pub fn parse(s: &str) -> Option<ExceptionStatus> {
        [
            ExceptionStatus::InEffect,
            ExceptionStatus::Expired,
            ExceptionStatus::Canceled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// How long an exception lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExceptionDuration {
    /// One of [`DURATION_CHOICES`], counted from creation.
    Days(u32),
    /// Until this instant.
    Until(DateTime<Utc>),
}

/// The settings exceptions are checked against (configurable per installation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExceptionPolicy {
    /// The longest an exception may last, in days.
    pub max_duration_days: u32,
    /// The longest justification context, in characters.
    pub max_context_chars: usize,
    /// EPSS probability at or above which a covered CVE resurfaces its exception.
    pub epss_threshold: f64,
    /// Whether a resurfaced exception is voided (canceled by the system) rather than only marked.
    pub void_on_resurface: bool,
    /// Days without any covered finding after which an exception in effect is reported as stale.
    pub stale_after_days: u32,
}

impl Default for ExceptionPolicy {
    fn default() -> Self {
        ExceptionPolicy {
            max_duration_days: 365,
            max_context_chars: 1000,
            epss_threshold: 0.5,
            void_on_resurface: false,
            stale_after_days: 30,
        }
    }
}

/// An exception as requested, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionRequest {
    /// Recommendation or CVE.
    pub kind: TargetKind,
    /// The recommendation id or the CVE id.
    pub target: String,
    /// Why.
    pub justification: Justification,
    /// The required free text.
    pub context: String,
    /// `None`: global; otherwise the device groups it covers.
    pub groups: Option<Vec<String>>,
    /// How long.
    pub duration: ExceptionDuration,
}

/// A validated exception, ready to be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewException {
    /// Recommendation or CVE.
    pub kind: TargetKind,
    /// The recommendation id or the CVE id (CVE ids upper-cased).
    pub target: String,
    /// Why.
    pub justification: Justification,
    /// The free text, trimmed.
    pub context: String,
    /// Global scope (every current and future device group).
    pub global: bool,
    /// The device groups, sorted and de-duplicated (empty when global).
    pub groups: Vec<String>,
    /// Who asks.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its expiry instant.
    pub expires_at: DateTime<Utc>,
}

/// Why an exception request is refused; each names the request field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionError {
    /// A field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The request field (`justificationContext`, `durationDays`, …).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> ExceptionError {
    ExceptionError::Invalid {
        field,
        message: message.into(),
    }
}

impl ExceptionRequest {
    /// Checks the request against the policy and fixes its expiry instant.
    pub fn validate(
        self,
        created_by: &str,
        now: DateTime<Utc>,
        policy: &ExceptionPolicy,
    ) -> Result<NewException, ExceptionError> {
        let target = self.target.trim();
        if target.is_empty() {
            let field = match self.kind {
                TargetKind::Recommendation => "recommendationId",
                TargetKind::Cve => "cveId",
            };
            return Err(invalid(field, "must not be empty"));
        }
        let target = match self.kind {
            TargetKind::Cve => target.to_ascii_uppercase(),
            TargetKind::Recommendation => target.to_string(),
        };
        if !self.justification.allowed_on(self.kind) {
            return Err(invalid(
                "justification",
                format!(
                    "{} is only allowed on CVE exceptions",
                    self.justification.as_str()
                ),
            ));
        }
        let context = self.context.trim();
        if context.is_empty() {
            return Err(invalid("justificationContext", "is required"));
        }
        let chars = context.chars().count();
        if chars > policy.max_context_chars {
            return Err(invalid(
                "justificationContext",
                format!(
                    "is {chars} characters long; at most {} are allowed",
                    policy.max_context_chars
                ),
            ));
        }
        let max = Duration::days(i64::from(policy.max_duration_days));
        let expires_at = match self.duration {
            ExceptionDuration::Days(days) => {
                if !DURATION_CHOICES.contains(&days) {
                    return Err(invalid(
                        "durationDays",
                        format!("must be one of 30, 60, 90, 180, 365 (got {days})"),
                    ));
                }
                if days > policy.max_duration_days {
                    return Err(invalid(
                        "durationDays",
                        format!(
                            "{days} days is over the maximum of {} days",
                            policy.max_duration_days
                        ),
                    ));
                }
                now + Duration::days(i64::from(days))
            }
            ExceptionDuration::Until(at) => {
                if at <= now {
                    return Err(invalid("expiresOn", "must be in the future"));
                }
                if at - now > max {
                    return Err(invalid(
                        "expiresOn",
                        format!(
                            "is more than the maximum of {} days away",
                            policy.max_duration_days
                        ),
                    ));
                }
                at
            }
        };
        let (global, groups) = match self.groups {
            None => (true, Vec::new()),
            Some(groups) => {
                let mut set = BTreeSet::new();
                for g in groups {
                    let g = g.trim();
                    if g.is_empty() {
                        return Err(invalid("deviceGroups", "a group name must not be empty"));
                    }
                    set.insert(g.to_string());
                }
                if set.is_empty() {
                    return Err(invalid(
                        "deviceGroups",
                        "name at least one device group, or ask for a global exception",
                    ));
                }
                (false, set.into_iter().collect())
            }
        };
        Ok(NewException {
            kind: self.kind,
            target,
            justification: self.justification,
            context: context.to_string(),
            global,
            groups,
            created_by: created_by.to_string(),
            created_at: now,
            expires_at,
        })
    }
}

/// One device group of a device-group exception, canceled or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionGroup {
    /// The device group's name.
    pub name: String,
    /// Who canceled this group's entry.
    pub canceled_by: Option<String>,
    /// When.
    pub canceled_at: Option<DateTime<Utc>>,
}

/// The mark a resurfacing trigger leaves on an exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewMark {
    /// Why it must be reviewed (one line per trigger).
    pub reasons: Vec<String>,
    /// When it was marked.
    pub at: DateTime<Utc>,
    /// Whether the policy voided it (then it was canceled by the system at the same instant).
    pub voided: bool,
}

/// An exception as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    /// Store id.
    pub id: i64,
    /// Recommendation or CVE.
    pub kind: TargetKind,
    /// The recommendation id or the CVE id.
    pub target: String,
    /// Why.
    pub justification: Justification,
    /// The free text.
    pub context: String,
    /// Global scope.
    pub global: bool,
    /// The device groups (empty when global).
    pub groups: Vec<ExceptionGroup>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its expiry instant (not in effect from this instant on).
    pub expires_at: DateTime<Utc>,
    /// Who canceled the whole exception.
    pub canceled_by: Option<String>,
    /// When.
    pub canceled_at: Option<DateTime<Utc>>,
    /// Set when a resurfacing trigger fired.
    pub review: Option<ReviewMark>,
    /// When the expiry job recorded the transition to Expired.
    pub expiry_recorded_at: Option<DateTime<Utc>>,
    /// The facts last seen for what it covers (the baseline resurfacing compares against).
    pub baseline: Option<CoverageFacts>,
    /// The last time it covered at least one finding.
    pub last_covered_at: Option<DateTime<Utc>>,
}

impl Exception {
    /// Its status at `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> ExceptionStatus {
        if self.canceled_at.is_some_and(|t| t <= now) {
            return ExceptionStatus::Canceled;
        }
        if !self.global
            && !self.groups.is_empty()
            && self
                .groups
                .iter()
                .all(|g| g.canceled_at.is_some_and(|t| t <= now))
        {
            return ExceptionStatus::Canceled;
        }
        if now >= self.expires_at {
            return ExceptionStatus::Expired;
        }
        ExceptionStatus::InEffect
    }

    /// Whether it is in effect at `now`.
    pub fn in_effect(&self, now: DateTime<Utc>) -> bool {
        self.status_at(now) == ExceptionStatus::InEffect
    }

    /// The device groups it covers at `now` (every group when global; none when not in effect).
    pub fn groups_in_effect(&self, now: DateTime<Utc>) -> Vec<&str> {
        if !self.in_effect(now) {
            return Vec::new();
        }
        self.groups
            .iter()
            .filter(|g| g.canceled_at.is_none_or(|t| t > now))
            .map(|g| g.name.as_str())
            .collect()
    }

    /// The status of one of its device groups at `now` (the exception's own status for a global one).
    pub fn group_status_at(&self, group: &str, now: DateTime<Utc>) -> Option<ExceptionStatus> {
        if self.global {
            return Some(self.status_at(now));
        }
        let g = self.groups.iter().find(|g| g.name == group)?;
        if g.canceled_at.is_some_and(|t| t <= now) {
            return Some(ExceptionStatus::Canceled);
        }
        Some(self.status_at(now))
    }

    /// Whether it covers `group` at `now`, ignoring suspension by a global exception.
    fn covers_group(&self, group: &str, now: DateTime<Utc>) -> bool {
        self.in_effect(now)
            && (self.global
                || self
                    .groups
                    .iter()
                    .any(|g| g.name == group && g.canceled_at.is_none_or(|t| t > now)))
    }
}

/// The exception already in effect that a new one would collide with: the same target and an
/// overlapping scope (both global, or a device group in both). A global and a device-group exception
/// on the same target do not collide: the global one suspends the other.
pub fn conflicting<'a>(
    existing: &'a [Exception],
    new: &NewException,
    now: DateTime<Utc>,
) -> Option<(&'a Exception, Option<String>)> {
    for e in existing {
        if e.kind != new.kind || e.target != new.target || !e.in_effect(now) {
            continue;
        }
        if e.global && new.global {
            return Some((e, None));
        }
        if !e.global && !new.global {
            let live: BTreeSet<&str> = e.groups_in_effect(now).into_iter().collect();
            if let Some(g) = new.groups.iter().find(|g| live.contains(g.as_str())) {
                return Some((e, Some(g.clone())));
            }
        }
    }
    None
}

/// The exception that decides a weakness's fate, and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cover {
    /// The exception's id.
    pub exception: i64,
    /// Its justification.
    pub justification: Justification,
    /// Its score effect.
    pub effect: ScoreEffect,
}

/// The exceptions in effect at one instant, indexed by target, answering which exception covers a
/// weakness in a device group.
#[derive(Debug, Clone, Default)]
pub struct ExceptionSet<'a> {
    now: DateTime<Utc>,
    recommendations: HashMap<&'a str, Vec<&'a Exception>>,
    cves: HashMap<String, Vec<&'a Exception>>,
}

impl<'a> ExceptionSet<'a> {
    /// Indexes the exceptions in effect at `now` (the others are ignored).
    pub fn new(exceptions: &'a [Exception], now: DateTime<Utc>) -> ExceptionSet<'a> {
        let mut set = ExceptionSet {
            now,
            ..ExceptionSet::default()
        };
        for e in exceptions.iter().filter(|e| e.in_effect(now)) {
            match e.kind {
                TargetKind::Recommendation => {
                    set.recommendations.entry(&e.target).or_default().push(e)
                }
                TargetKind::Cve => set
                    .cves
                    .entry(e.target.to_ascii_uppercase())
                    .or_default()
                    .push(e),
            }
        }
        set
    }

    /// Whether no exception is in effect.
    pub fn is_empty(&self) -> bool {
        self.recommendations.is_empty() && self.cves.is_empty()
    }

    /// The exception of this list that covers `group`: a global one first (it suspends the others).
    fn decide(&self, list: Option<&Vec<&'a Exception>>, group: &str) -> Option<&'a Exception> {
        let list = list?;
        list.iter()
            .find(|e| e.global)
            .or_else(|| list.iter().find(|e| e.covers_group(group, self.now)))
            .copied()
    }

    /// What covers a weakness of `recommendation` with these vulnerability ids (its id and aliases) on a
    /// device of `group`; the strongest effect wins when several exceptions cover it.
    pub fn cover<'i>(
        &self,
        recommendation: &str,
        vulnerability_ids: impl IntoIterator<Item = &'i str>,
        group: &str,
    ) -> Option<Cover> {
        let mut best: Option<&Exception> =
            self.decide(self.recommendations.get(recommendation), group);
        if !self.cves.is_empty() {
            for id in vulnerability_ids {
                let key = id.to_ascii_uppercase();
                if let Some(e) = self.decide(self.cves.get(&key), group)
                    && best.is_none_or(|b| e.justification.effect() > b.justification.effect())
                {
                    best = Some(e);
                }
            }
        }
        best.map(|e| Cover {
            exception: e.id,
            justification: e.justification,
            effect: e.justification.effect(),
        })
    }
}

/// A recommendation's status, from how many of its exposed weaknesses exceptions cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecommendationStatus {
    /// Nothing covered.
    Active,
    /// Everything covered (a global exception, or every group with exposed devices).
    Exception,
    /// Some covered.
    PartialException,
}

impl RecommendationStatus {
    /// The status of a recommendation with `exposed` weaknesses of which `covered` are covered.
    pub fn of(covered: usize, exposed: usize) -> RecommendationStatus {
        if covered == 0 || exposed == 0 {
            RecommendationStatus::Active
        } else if covered >= exposed {
            RecommendationStatus::Exception
        } else {
            RecommendationStatus::PartialException
        }
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendationStatus::Active => "Active",
            RecommendationStatus::Exception => "Exception",
            RecommendationStatus::PartialException => "PartialException",
        }
    }
}

/// What is true now of one vulnerability an exception covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoveredVulnerability {
    /// Listed in CISA KEV.
    pub kev: bool,
    /// EPSS probability.
    pub epss: Option<f64>,
    /// A fixed version is known.
    pub fix_available: bool,
    /// Severity score (0–10).
    pub severity: f64,
}

/// What an exception covers now: the facts resurfacing compares with the last ones seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageFacts {
    /// Each covered vulnerability (by its id).
    pub vulnerabilities: BTreeMap<String, CoveredVulnerability>,
    /// Covered devices tagged internet-facing (by name).
    pub internet_facing: BTreeSet<String>,
    /// Covered devices (count).
    pub devices: u64,
}

impl CoverageFacts {
    /// Whether it covers any finding.
    pub fn covers_anything(&self) -> bool {
        !self.vulnerabilities.is_empty()
    }

    fn max_severity(&self) -> f64 {
        self.vulnerabilities
            .values()
            .map(|v| v.severity)
            .fold(0.0, f64::max)
    }
}

/// The resurfacing triggers that fire between the baseline and now, one line each (empty: none).
pub fn resurface_reasons(
    justification: Justification,
    baseline: &CoverageFacts,
    now: &CoverageFacts,
    policy: &ExceptionPolicy,
) -> Vec<String> {
    let mut reasons = Vec::new();
    for (id, v) in &now.vulnerabilities {
        let before = baseline.vulnerabilities.get(id);
        if v.kev && !before.is_some_and(|b| b.kev) {
            reasons.push(format!("{id} was added to CISA KEV"));
        }
        if let Some(epss) = v.epss
            && epss >= policy.epss_threshold
            && before
                .and_then(|b| b.epss)
                .is_none_or(|b| b < policy.epss_threshold)
        {
            reasons.push(format!(
                "{id}: EPSS {epss:.5} crossed the threshold {}",
                policy.epss_threshold
            ));
        }
        if matches!(
            justification,
            Justification::CveNoPatch | Justification::PlannedRemediation
        ) && v.fix_available
            && !before.is_some_and(|b| b.fix_available)
            && before.is_some()
        {
            reasons.push(format!("a fix is now available for {id}"));
        }
    }
    for device in now.internet_facing.difference(&baseline.internet_facing) {
        reasons.push(format!("covered device {device} became internet-facing"));
    }
    let old_max = baseline.max_severity();
    for (id, v) in &now.vulnerabilities {
        if !baseline.vulnerabilities.contains_key(id)
            && !baseline.vulnerabilities.is_empty()
            && v.severity > old_max
        {
            reasons.push(format!(
                "{id} joined with severity {:.1}, higher than the {:.1} excepted",
                v.severity, old_max
            ));
        }
    }
    reasons
}

/// Whether an exception in effect is stale: it has covered no finding for the policy's number of days.
pub fn is_stale(e: &Exception, now: DateTime<Utc>, policy: &ExceptionPolicy) -> bool {
    if !e.in_effect(now) {
        return false;
    }
    let since = e.last_covered_at.unwrap_or(e.created_at);
    now - since >= Duration::days(i64::from(policy.stale_after_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + day * 86_400, 0).unwrap()
    }

    fn request(groups: Option<Vec<&str>>) -> ExceptionRequest {
        ExceptionRequest {
            kind: TargetKind::Recommendation,
            target: "va-_-PyPI-_-django".into(),
            justification: Justification::RiskAccepted,
            context: "  accepted by the CISO  ".into(),
            groups: groups.map(|g| g.into_iter().map(String::from).collect()),
            duration: ExceptionDuration::Days(30),
        }
    }

    fn stored(id: i64, new: NewException) -> Exception {
        Exception {
            id,
            kind: new.kind,
            target: new.target,
            justification: new.justification,
            context: new.context,
            global: new.global,
            groups: new
                .groups
                .into_iter()
                .map(|name| ExceptionGroup {
                    name,
                    canceled_by: None,
                    canceled_at: None,
                })
                .collect(),
            created_by: new.created_by,
            created_at: new.created_at,
            expires_at: new.expires_at,
            canceled_by: None,
            canceled_at: None,
            review: None,
            expiry_recorded_at: None,
            baseline: None,
            last_covered_at: None,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let policy = ExceptionPolicy::default();
        let ok = request(None).validate("a@x", at(0), &policy).unwrap();
        assert!(ok.global);
        assert_eq!(ok.context, "accepted by the CISO");
        assert_eq!(ok.expires_at, at(30));

        let mut r = request(None);
        r.context = "   ".into();
        assert_eq!(
            r.validate("a", at(0), &policy).unwrap_err().to_string(),
            "justificationContext: is required"
        );
        let mut r = request(None);
        r.duration = ExceptionDuration::Days(45);
        assert!(
            r.validate("a", at(0), &policy)
                .unwrap_err()
                .to_string()
                .starts_with("durationDays: must be one of")
        );
        let tight = ExceptionPolicy {
            max_duration_days: 90,
            ..ExceptionPolicy::default()
        };
        let mut r = request(None);
        r.duration = ExceptionDuration::Days(180);
        assert_eq!(
            r.validate("a", at(0), &tight).unwrap_err().to_string(),
            "durationDays: 180 days is over the maximum of 90 days"
        );
        let mut r = request(None);
        r.duration = ExceptionDuration::Until(at(91));
        assert!(r.validate("a", at(0), &tight).is_err());
        let mut r = request(None);
        r.justification = Justification::FalsePositive;
        assert!(
            r.validate("a", at(0), &policy)
                .unwrap_err()
                .to_string()
                .contains("only allowed on CVE exceptions")
        );
        let mut r = request(Some(vec![]));
        r.groups = Some(vec![]);
        assert!(r.validate("a", at(0), &policy).is_err());
        let mut r = request(None);
        r.context = "x".repeat(1001);
        assert!(r.validate("a", at(0), &policy).is_err());
    }

    #[test]
    fn expiry_is_exact_and_group_cancel_is_partial() {
        let policy = ExceptionPolicy::default();
        let new = request(Some(vec!["web", "db", "web"]))
            .validate("a", at(0), &policy)
            .unwrap();
        assert_eq!(new.groups, vec!["db", "web"]);
        let mut e = stored(1, new);
        let instant = e.expires_at;
        assert!(e.in_effect(instant - Duration::microseconds(1)));
        assert_eq!(e.status_at(instant), ExceptionStatus::Expired);

        e.groups[0].canceled_at = Some(at(1));
        assert_eq!(e.status_at(at(2)), ExceptionStatus::InEffect);
        assert_eq!(e.groups_in_effect(at(2)), vec!["web"]);
        assert_eq!(
            e.group_status_at("db", at(2)),
            Some(ExceptionStatus::Canceled)
        );
        e.groups[1].canceled_at = Some(at(3));
        assert_eq!(e.status_at(at(3)), ExceptionStatus::Canceled);
    }

    #[test]
    fn a_global_exception_suspends_group_ones_and_strongest_effect_wins() {
        let policy = ExceptionPolicy::default();
        let group = stored(
            1,
            request(Some(vec!["web"]))
                .validate("a", at(0), &policy)
                .unwrap(),
        );
        let mut global_req = request(None);
        global_req.justification = Justification::AlternateMitigation;
        global_req.duration = ExceptionDuration::Days(60);
        let global = stored(2, global_req.validate("a", at(1), &policy).unwrap());
        let mut cve_req = request(Some(vec!["web"]));
        cve_req.kind = TargetKind::Cve;
        cve_req.target = "cve-2024-1".into();
        cve_req.justification = Justification::FalsePositive;
        let cve = stored(3, cve_req.validate("a", at(0), &policy).unwrap());

        let all = vec![group.clone(), global.clone(), cve.clone()];
        let set = ExceptionSet::new(&all, at(2));
        let rec = "va-_-PyPI-_-django";
        let c = set.cover(rec, ["GHSA-x"], "db").unwrap();
        assert_eq!(c.exception, 2, "the global one decides");
        let c = set.cover(rec, ["GHSA-x", "CVE-2024-1"], "web").unwrap();
        assert_eq!(c.effect, ScoreEffect::Removed);
        assert_eq!(c.exception, 3);

        // Day 40: the group one has expired (day 30), the global one still decides.
        let set = ExceptionSet::new(&all, at(40));
        assert_eq!(set.cover(rec, ["GHSA-x"], "web").unwrap().exception, 2);
        // Day 62: both over.
        let set = ExceptionSet::new(&all, at(62));
        assert!(set.cover(rec, ["GHSA-x"], "web").is_none());
        let set = ExceptionSet::new(&all[..1], at(10));
        assert_eq!(set.cover(rec, ["GHSA-x"], "web").unwrap().exception, 1);
        assert!(set.cover(rec, ["GHSA-x"], "db").is_none());
    }

    #[test]
    fn conflicts_only_for_overlapping_scopes() {
        let policy = ExceptionPolicy::default();
        let existing = vec![stored(
            1,
            request(Some(vec!["web"]))
                .validate("a", at(0), &policy)
                .unwrap(),
        )];
        let same = request(Some(vec!["db", "web"]))
            .validate("b", at(1), &policy)
            .unwrap();
        let (e, g) = conflicting(&existing, &same, at(1)).unwrap();
        assert_eq!((e.id, g.as_deref()), (1, Some("web")));
        let other = request(Some(vec!["db"]))
            .validate("b", at(1), &policy)
            .unwrap();
        assert!(conflicting(&existing, &other, at(1)).is_none());
        let global = request(None).validate("b", at(1), &policy).unwrap();
        assert!(conflicting(&existing, &global, at(1)).is_none());
        assert!(conflicting(&existing, &same, at(31)).is_none(), "expired");
    }

    #[test]
    fn status_from_coverage() {
        assert_eq!(RecommendationStatus::of(0, 3), RecommendationStatus::Active);
        assert_eq!(
            RecommendationStatus::of(1, 3),
            RecommendationStatus::PartialException
        );
        assert_eq!(
            RecommendationStatus::of(3, 3),
            RecommendationStatus::Exception
        );
    }

    #[test]
    fn resurfacing_triggers() {
        let policy = ExceptionPolicy::default();
        let v = |kev, epss, fix, sev| CoveredVulnerability {
            kev,
            epss,
            fix_available: fix,
            severity: sev,
        };
        let mut base = CoverageFacts::default();
        base.vulnerabilities
            .insert("CVE-1".into(), v(false, Some(0.1), false, 5.0));
        assert!(resurface_reasons(Justification::RiskAccepted, &base, &base, &policy).is_empty());

        let mut now = base.clone();
        now.vulnerabilities
            .insert("CVE-1".into(), v(true, Some(0.7), true, 5.0));
        now.vulnerabilities
            .insert("CVE-2".into(), v(false, None, false, 9.8));
        now.internet_facing.insert("web-1".into());
        let r = resurface_reasons(Justification::CveNoPatch, &base, &now, &policy);
        assert_eq!(
            r,
            vec![
                "CVE-1 was added to CISA KEV",
                "CVE-1: EPSS 0.70000 crossed the threshold 0.5",
                "a fix is now available for CVE-1",
                "covered device web-1 became internet-facing",
                "CVE-2 joined with severity 9.8, higher than the 5.0 excepted",
            ]
        );
        let r = resurface_reasons(Justification::RiskAccepted, &base, &now, &policy);
        assert_eq!(
            r.len(),
            4,
            "a fix matters only for no-patch / planned exceptions"
        );
    }
}
