//! Secure Score arithmetic: points per device, per category, summed over devices, and the exact impact of
//! fixing one failing check everywhere (docs/secure-score.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CheckResult, CheckStatus, ConfigCategory};

/// The points behind a score.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreParts {
    /// Sum of the weights of the passing checks.
    pub achieved: u64,
    /// Sum of the weights of the passing and failing checks.
    pub possible: u64,
    /// `achieved / possible × 100`, from 0 to 100; `None` when no check counted (nothing to score is neither
    /// 0 % nor 100 %).
    pub score: Option<f64>,
}

impl ScoreParts {
    /// The parts for `achieved` of `possible` points.
    pub fn new(achieved: u64, possible: u64) -> ScoreParts {
        let score = (possible > 0).then(|| achieved as f64 / possible as f64 * 100.0);
        ScoreParts {
            achieved,
            possible,
            score,
        }
    }

    fn add(&mut self, result: &CheckResult) {
        let weight = u64::from(result.weight.get());
        match result.status {
            CheckStatus::Pass => {
                self.achieved += weight;
                self.possible += weight;
            }
            CheckStatus::Fail => self.possible += weight,
            _ => {}
        }
    }

    fn finish(self) -> ScoreParts {
        ScoreParts::new(self.achieved, self.possible)
    }
}

/// A device's score from its results: passing checks earn their weight, failing ones count as possible
/// points only, every other status counts neither way.
pub fn secure_score(results: &[CheckResult]) -> ScoreParts {
    let mut parts = ScoreParts::default();
    for result in results {
        parts.add(result);
    }
    parts.finish()
}

/// A device's score per category; categories with no result are absent.
pub fn category_scores(results: &[CheckResult]) -> BTreeMap<ConfigCategory, ScoreParts> {
    let mut scores: BTreeMap<ConfigCategory, ScoreParts> = BTreeMap::new();
    for result in results {
        scores.entry(result.category).or_default().add(result);
    }
    scores
        .into_iter()
        .map(|(category, parts)| (category, parts.finish()))
        .collect()
}

/// A group's or the organisation's score: the sum of the devices' achieved points over the sum of their
/// possible points.
///
/// Summing points (rather than averaging device scores) weighs every assessed check equally wherever it
/// runs: a device with 2 assessed checks cannot move the organisation's score as much as one with 30, and
/// the impact of fixing a check is then simply its weight times the devices where it fails, over the
/// organisation's possible points.
pub fn aggregate(devices: &[ScoreParts]) -> ScoreParts {
    let achieved = devices.iter().map(|d| d.achieved).sum();
    let possible = devices.iter().map(|d| d.possible).sum();
    ScoreParts::new(achieved, possible)
}

/// How many points (0–100 scale) the organisation's score rises when the check `check_id` is fixed on every
/// device where it fails, recomputed exactly from the results; 0 when it fails nowhere.
pub fn config_score_impact<D: AsRef<[CheckResult]>>(devices: &[D], check_id: &str) -> f64 {
    let before: Vec<ScoreParts> = devices.iter().map(|d| secure_score(d.as_ref())).collect();
    let after: Vec<ScoreParts> = devices
        .iter()
        .map(|d| {
            let fixed: Vec<CheckResult> = d
                .as_ref()
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    if r.check_id == check_id && r.status == CheckStatus::Fail {
                        r.status = CheckStatus::Pass;
                    }
                    r
                })
                .collect();
            secure_score(&fixed)
        })
        .collect();
    difference(aggregate(&before), aggregate(&after))
}

/// [`config_score_impact`] of every check that fails somewhere, computed in one pass.
///
/// Fixing a failing check keeps the possible points and adds its weight to the achieved ones, so the impact
/// is the failing weight summed over devices, over the organisation's possible points, times 100.
pub fn config_score_impacts<D: AsRef<[CheckResult]>>(devices: &[D]) -> BTreeMap<String, f64> {
    let mut org = ScoreParts::default();
    let mut failing: BTreeMap<String, u64> = BTreeMap::new();
    for result in devices.iter().flat_map(|d| d.as_ref()) {
        org.add(result);
        if result.status == CheckStatus::Fail {
            *failing.entry(result.check_id.clone()).or_default() += u64::from(result.weight.get());
        }
    }
    let org = org.finish();
    failing
        .into_iter()
        .map(|(id, weight)| {
            let after = ScoreParts::new(org.achieved + weight, org.possible);
            (id, difference(org, after))
        })
        .collect()
}

fn difference(before: ScoreParts, after: ScoreParts) -> f64 {
    match (before.score, after.score) {
        (Some(before), Some(after)) => after - before,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CheckSource, Weight};
    use proptest::prelude::*;

    fn result(id: &str, category: ConfigCategory, weight: u8, status: CheckStatus) -> CheckResult {
        CheckResult {
            check_id: id.to_string(),
            source: CheckSource::Bulwark,
            title: id.to_string(),
            category,
            weight: Weight::new(weight).unwrap(),
            status,
            evidence: vec![],
        }
    }

    use CheckStatus::{Fail, NotApplicable, NotCollected, Pass};
    use ConfigCategory::{Accounts, Network, Os};

    /// The worked example of docs/secure-score.md, number for number.
    #[test]
    fn worked_example() {
        let web = vec![
            result("ssh-root-login", Network, 8, Fail),
            result("firewall-active", Network, 9, Pass),
            result("aslr", Os, 8, Pass),
            result("empty-passwords", Accounts, 9, Pass),
            result("tmp-noexec", Os, 3, NotApplicable),
        ];
        let db = vec![
            result("ssh-root-login", Network, 8, Fail),
            result("firewall-active", Network, 9, Fail),
            result("aslr", Os, 8, Pass),
            result("empty-passwords", Accounts, 9, NotCollected),
        ];
        let web_score = secure_score(&web);
        assert_eq!(web_score, ScoreParts::new(26, 34));
        assert_eq!(format!("{:.2}", web_score.score.unwrap()), "76.47");
        let db_score = secure_score(&db);
        assert_eq!(db_score, ScoreParts::new(8, 25));
        assert_eq!(format!("{:.2}", db_score.score.unwrap()), "32.00");
        let org = aggregate(&[web_score, db_score]);
        assert_eq!(org, ScoreParts::new(34, 59));
        assert_eq!(format!("{:.2}", org.score.unwrap()), "57.63");
        let devices = [web, db];
        // ssh-root-login fails on both: (34 + 16) / 59 = 84.75, up 27.12 points.
        let impact = config_score_impact(&devices, "ssh-root-login");
        assert_eq!(format!("{impact:.2}"), "27.12");
        // firewall-active fails on db only: (34 + 9) / 59 = 72.88, up 15.25.
        assert_eq!(
            format!("{:.2}", config_score_impact(&devices, "firewall-active")),
            "15.25"
        );
        assert_eq!(config_score_impact(&devices, "aslr"), 0.0);
        let impacts = config_score_impacts(&devices);
        assert_eq!(
            impacts.keys().collect::<Vec<_>>(),
            ["firewall-active", "ssh-root-login"]
        );
        assert_eq!(impacts["ssh-root-login"], impact);
        let categories = category_scores(&devices[0]);
        assert_eq!(categories[&Network], ScoreParts::new(9, 17));
        assert_eq!(categories[&Os], ScoreParts::new(8, 8));
        assert!(!categories.contains_key(&ConfigCategory::Application));
    }

    #[test]
    fn nothing_assessed_has_no_score() {
        let only_na = [result("x", Os, 5, NotApplicable)];
        assert_eq!(secure_score(&only_na), ScoreParts::new(0, 0));
        assert_eq!(secure_score(&only_na).score, None);
        assert_eq!(aggregate(&[]).score, None);
        assert_eq!(config_score_impact::<Vec<CheckResult>>(&[], "x"), 0.0);
    }

    fn status() -> impl Strategy<Value = CheckStatus> {
        prop_oneof![
            Just(Pass),
            Just(Fail),
            Just(NotApplicable),
            Just(NotCollected),
            Just(CheckStatus::Error)
        ]
    }

    fn devices() -> impl Strategy<Value = Vec<Vec<CheckResult>>> {
        let one = (0..6usize, 1..=10u8, status())
            .prop_map(|(id, weight, status)| result(&format!("c{id}"), Os, weight, status));
        prop::collection::vec(prop::collection::vec(one, 0..12), 0..6)
    }

    proptest! {
        #[test]
        fn scores_are_bounded(devices in devices()) {
            for device in &devices {
                let parts = secure_score(device);
                prop_assert!(parts.achieved <= parts.possible);
                if let Some(score) = parts.score {
                    prop_assert!((0.0..=100.0).contains(&score));
                }
            }
            let parts: Vec<ScoreParts> = devices.iter().map(|d| secure_score(d)).collect();
            if let Some(score) = aggregate(&parts).score {
                prop_assert!((0.0..=100.0).contains(&score));
            }
        }

        #[test]
        fn fixing_a_failing_check_never_lowers_the_score(devices in devices(), id in 0..6usize) {
            let id = format!("c{id}");
            let impact = config_score_impact(&devices, &id);
            prop_assert!(impact >= 0.0);
            let impacts = config_score_impacts(&devices);
            match impacts.get(&id) {
                Some(batch) => prop_assert!((batch - impact).abs() < 1e-9),
                None => prop_assert_eq!(impact, 0.0),
            }
            for device in &devices {
                let before = secure_score(device);
                let fixed: Vec<CheckResult> = device.iter().cloned().map(|mut r| {
                    if r.check_id == id && r.status == Fail { r.status = Pass; }
                    r
                }).collect();
                let after = secure_score(&fixed);
                prop_assert_eq!(after.possible, before.possible);
                prop_assert!(after.achieved >= before.achieved);
            }
        }
    }
}
