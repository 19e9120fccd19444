//! The configuration assessment behind the Secure Score for Devices: checks, their results and the score.
//!
//! A check ([`ConfigCheck`]) is one configuration rule with a category (MDVM's `recommendationCategory`), a
//! weight (MDVM's `severityScore`, 1–10), a description and a remediation. Results ([`CheckResult`]) come from
//! Bulwark's own Linux checks over collected [`HostFacts`] ([`evaluate`]), from OpenSCAP XCCDF results and from
//! osquery rows turned into the same facts (both parsed in `bulwark-formats`).
//!
//! The score is a ratio of points: a passing check earns its weight, a failing one earns nothing, and every
//! other status (not applicable, not selected, informational, not collected, error) counts neither way. A
//! device's score is `achieved / possible × 100`; a group's or the organisation's is the sum of its devices'
//! achieved points over the sum of their possible points (see [`aggregate`] for why), and
//! [`config_score_impact`] recomputes that exactly with one failing check fixed everywhere.

mod checks;
mod facts;
mod score;

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use checks::{evaluate, linux_check, linux_checks, sysctl_keys};
pub use facts::{
    AutoUpdates, CoreDumpLimit, DiskEncryption, FileMode, FirewallConfig, HostFacts,
    ListeningSocket, LoginDefs, MountEntry, OsRelease, PasswordState, PathDir, ShadowEntry,
    SocketFamily, SshdConfig, UserAccount,
};
pub use score::{
    ScoreParts, aggregate, category_scores, config_score_impact, config_score_impacts, secure_score,
};

/// The area a check belongs to: MDVM's `recommendationCategory` values for configuration recommendations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConfigCategory {
    /// Operating system settings: kernel parameters, file systems, updates, disk encryption.
    #[serde(rename = "OS")]
    Os,
    /// Installed applications and the services they run.
    Application,
    /// Network exposure: listening services, the firewall, the SSH server, IP stack parameters.
    Network,
    /// Accounts and their credentials: password policy, empty passwords, privileged accounts.
    Accounts,
    /// Security tooling: auditing, mandatory access control, integrity checking.
    SecurityControls,
}

impl ConfigCategory {
    /// Every category, in MDVM's order.
    pub const ALL: [ConfigCategory; 5] = [
        ConfigCategory::Os,
        ConfigCategory::Application,
        ConfigCategory::Network,
        ConfigCategory::Accounts,
        ConfigCategory::SecurityControls,
    ];

    /// MDVM's name of the category (`"OS"`, `"SecurityControls"`, …), as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigCategory::Os => "OS",
            ConfigCategory::Application => "Application",
            ConfigCategory::Network => "Network",
            ConfigCategory::Accounts => "Accounts",
            ConfigCategory::SecurityControls => "SecurityControls",
        }
    }
}

impl fmt::Display for ConfigCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check's weight in the score: MDVM's `severityScore`, an integer from 1 to 10.
///
/// It cannot hold any other value: deserializing 0 or 11 fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Weight(u8);

impl Weight {
    /// The lowest weight.
    pub const MIN: Weight = Weight(1);
    /// The highest weight.
    pub const MAX: Weight = Weight(10);

    /// The weight `value`, or `None` outside 1–10.
    pub const fn new(value: u8) -> Option<Weight> {
        if value >= 1 && value <= 10 {
            Some(Weight(value))
        } else {
            None
        }
    }

    /// The weight as points.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// A weight known at compile time; an out-of-range value fails the build of the catalog.
    const fn of(value: u8) -> Weight {
        match Weight::new(value) {
            Some(weight) => weight,
            None => panic!("a weight is 1 to 10"),
        }
    }
}

/// A weight outside 1–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a check weight is an integer from 1 to 10, not {0}")]
pub struct WeightError(pub u8);

impl TryFrom<u8> for Weight {
    type Error = WeightError;

    fn try_from(value: u8) -> Result<Weight, WeightError> {
        Weight::new(value).ok_or(WeightError(value))
    }
}

impl From<Weight> for u8 {
    fn from(weight: Weight) -> u8 {
        weight.0
    }
}

/// The benchmark control a check corresponds to, as ComplianceAsCode's control files name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlRef {
    /// The benchmark and its version: `CIS Debian Linux 12 Benchmark v1.1.0`.
    pub benchmark: Cow<'static, str>,
    /// The ComplianceAsCode control file that lists the control: `controls/cis_debian12.yml`.
    pub file: Cow<'static, str>,
    /// The control's id in the benchmark: `5.1.20`.
    pub control: Cow<'static, str>,
}

impl fmt::Display for ControlRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.benchmark, self.control)
    }
}

/// One configuration check: what is assessed, how much it weighs and how to fix a failure.
///
/// Bulwark's own checks are static ([`linux_checks`]); OpenSCAP rules become checks with owned text, which is
/// why the text fields are `Cow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigCheck {
    /// Stable id: `bulwark-linux-ssh-root-login`, or an XCCDF rule id.
    pub id: Cow<'static, str>,
    /// Short title, phrased as the desired state.
    pub title: Cow<'static, str>,
    /// The area it belongs to.
    pub category: ConfigCategory,
    /// Points it is worth (MDVM's `severityScore`).
    pub weight: Weight,
    /// What is checked and why it matters.
    pub description: Cow<'static, str>,
    /// How to make the check pass.
    pub remediation: Cow<'static, str>,
    /// The ComplianceAsCode rule id it corresponds to (`sshd_disable_root_login`), when there is one.
    pub rule: Option<Cow<'static, str>>,
    /// The benchmark control it corresponds to, when known.
    pub control: Option<ControlRef>,
}

/// Who produced a result: the facts Bulwark's checks ran on, or the scanner that evaluated the rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CheckSource {
    /// Bulwark's checks over facts collected by Bulwark (the agent reading host files).
    #[default]
    Bulwark,
    /// An OpenSCAP XCCDF result file.
    OpenScap,
    /// Bulwark's checks over facts taken from osquery rows.
    Osquery,
}

/// The outcome of one check on one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckStatus {
    /// The configuration is as the check wants it. Counts in the score: earns the weight.
    Pass,
    /// The configuration is not as the check wants it. Counts in the score: earns nothing.
    Fail,
    /// The check does not apply to this device (no SSH server, no separate `/tmp`). Does not count.
    NotApplicable,
    /// The rule was not part of the evaluated profile (XCCDF `notselected`). Does not count.
    NotSelected,
    /// The rule only reports information (XCCDF `informational`). Does not count.
    Informational,
    /// The facts the check needs were not collected, or the scanner could not decide (XCCDF `unknown`,
    /// `notchecked`). Does not count: not collected is not the same as bad.
    NotCollected,
    /// The scanner failed while checking (XCCDF `error`). Does not count.
    Error,
}

impl CheckStatus {
    /// True for the statuses that count in the score: [`Pass`](CheckStatus::Pass) and
    /// [`Fail`](CheckStatus::Fail).
    pub fn counts(self) -> bool {
        matches!(self, CheckStatus::Pass | CheckStatus::Fail)
    }
}

/// One thing a check looked at, and what it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// What was looked at: `sshd_config PermitRootLogin`, `sysctl kernel.randomize_va_space`.
    pub item: String,
    /// The value seen: `yes`, `2`, `not set (default prohibit-password)`.
    pub value: String,
}

impl Evidence {
    /// Evidence that `item` had `value`.
    pub fn new(item: impl Into<String>, value: impl Into<String>) -> Evidence {
        Evidence {
            item: item.into(),
            value: value.into(),
        }
    }
}

/// The result of one check on one device.
///
/// It carries the title, category and weight so that results of rules that are not Bulwark checks (OpenSCAP)
/// are scored and shown without a catalog lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The check's id ([`ConfigCheck::id`]).
    pub check_id: String,
    /// Who produced the result.
    pub source: CheckSource,
    /// The check's title.
    pub title: String,
    /// The check's category.
    pub category: ConfigCategory,
    /// The check's weight.
    pub weight: Weight,
    /// The outcome.
    pub status: CheckStatus,
    /// What was looked at and the values seen (empty when the scanner reports none).
    pub evidence: Vec<Evidence>,
}

impl CheckResult {
    /// A result of `check` with the given status and evidence.
    pub fn new(
        check: &ConfigCheck,
        source: CheckSource,
        status: CheckStatus,
        evidence: Vec<Evidence>,
    ) -> CheckResult {
        CheckResult {
            check_id: check.id.to_string(),
            source,
            title: check.title.to_string(),
            category: check.category,
            weight: check.weight,
            status,
            evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_serialize_as_mdvm_names() {
        let names: Vec<String> = ConfigCategory::ALL
            .iter()
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "\"OS\"",
                "\"Application\"",
                "\"Network\"",
                "\"Accounts\"",
                "\"SecurityControls\""
            ]
        );
        for category in ConfigCategory::ALL {
            assert_eq!(
                serde_json::to_string(&category).unwrap(),
                format!("\"{category}\"")
            );
            let back: ConfigCategory =
                serde_json::from_str(&format!("\"{}\"", category.as_str())).unwrap();
            assert_eq!(back, category);
        }
    }

    #[test]
    fn weights_outside_one_to_ten_do_not_exist() {
        assert_eq!(Weight::new(0), None);
        assert_eq!(Weight::new(11), None);
        assert_eq!(Weight::new(7).map(Weight::get), Some(7));
        assert!(serde_json::from_str::<Weight>("0").is_err());
        assert!(serde_json::from_str::<Weight>("11").is_err());
        assert_eq!(serde_json::from_str::<Weight>("10").unwrap(), Weight::MAX);
        assert_eq!(
            Weight::try_from(12).unwrap_err().to_string(),
            "a check weight is an integer from 1 to 10, not 12"
        );
    }

    #[test]
    fn only_pass_and_fail_count() {
        let counting: Vec<CheckStatus> = [
            CheckStatus::Pass,
            CheckStatus::Fail,
            CheckStatus::NotApplicable,
            CheckStatus::NotSelected,
            CheckStatus::Informational,
            CheckStatus::NotCollected,
            CheckStatus::Error,
        ]
        .into_iter()
        .filter(|s| s.counts())
        .collect();
        assert_eq!(counting, [CheckStatus::Pass, CheckStatus::Fail]);
        assert_eq!(
            serde_json::to_string(&CheckStatus::NotApplicable).unwrap(),
            "\"notApplicable\""
        );
        assert_eq!(
            serde_json::to_string(&CheckSource::OpenScap).unwrap(),
            "\"openscap\""
        );
    }
}
