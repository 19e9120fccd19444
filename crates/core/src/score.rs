//! The exposure score: Bulwark's published formula (docs/scoring.md), as pure functions.
//!
//! A weakness's risk is its severity times its threat times the device's exposure; a device's score grows
//! with the sum of its risks and never reaches 100; a group's or the organisation's score is the average of
//! its devices' scores weighted by device value. Every number here is recomputed exactly from its inputs,
//! so a recommendation's impact is the real difference, not an estimate.

use serde::{Deserialize, Serialize};

use crate::advisory::SeverityLevel;

/// How much risk a device's weaknesses add up to before its score reaches 63 (1 − 1/e of 100).
pub const SATURATION: f64 = 10.0;

/// Threat factor of a weakness with no EPSS score and no known exploitation.
pub const BASE_THREAT: f64 = 0.3;

/// Exposure factor of a device that is not internet-facing.
pub const INTERNAL_EXPOSURE: f64 = 0.7;

/// What the score needs to know about one weakness.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeaknessFacts {
    /// CVSS base score (0–10), when known.
    pub cvss: Option<f64>,
    /// Qualitative severity, used when there is no CVSS score.
    pub level: Option<SeverityLevel>,
    /// EPSS probability (0–1), when known.
    pub epss: Option<f64>,
    /// In CISA's Known Exploited Vulnerabilities catalog.
    pub kev: bool,
}

/// A device's value, as MDVM names it; it weights the device in group and organisation scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DeviceValue {
    /// Weight 0.75.
    Low,
    /// Weight 1.
    #[default]
    Normal,
    /// Weight 2.
    High,
}

impl DeviceValue {
    /// The device's weight in averages.
    pub fn weight(self) -> f64 {
        match self {
            DeviceValue::Low => 0.75,
            DeviceValue::Normal => 1.0,
            DeviceValue::High => 2.0,
        }
    }
}

/// Score band: 0–29 low, 30–69 medium, 70–100 high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Band {
    /// 0–29.
    Low,
    /// 30–69.
    Medium,
    /// 70–100.
    High,
}

impl Band {
    /// The band a score (0–100) falls in; bands are taken on the score rounded to a whole number.
    pub fn of(score: f64) -> Band {
        let rounded = score.round();
        if rounded < 30.0 {
            Band::Low
        } else if rounded < 70.0 {
            Band::Medium
        } else {
            Band::High
        }
    }
}

/// Severity factor (0–1): the CVSS base score over 10, else the middle of the rating's band over 10, else 0.5.
pub fn severity_factor(facts: &WeaknessFacts) -> f64 {
    let score = facts.cvss.unwrap_or(match facts.level {
        Some(SeverityLevel::None) => 0.0,
        Some(SeverityLevel::Low) => 2.0,
        Some(SeverityLevel::Medium) => 5.5,
        Some(SeverityLevel::High) => 8.0,
        Some(SeverityLevel::Critical) => 9.5,
        None => 5.0,
    });
    (score / 10.0).clamp(0.0, 1.0)
}

/// Threat factor (0.3–1): 1 when exploitation is known (KEV), else 0.3 + 0.7 × EPSS.
pub fn threat_factor(facts: &WeaknessFacts) -> f64 {
    if facts.kev {
        return 1.0;
    }
    let epss = facts.epss.unwrap_or(0.0).clamp(0.0, 1.0);
    BASE_THREAT + (1.0 - BASE_THREAT) * epss
}

/// Exposure factor: 1 for an internet-facing device, 0.7 otherwise.
pub fn exposure_factor(internet_facing: bool) -> f64 {
    if internet_facing {
        1.0
    } else {
        INTERNAL_EXPOSURE
    }
}

/// The risk (0–1) one weakness adds to a device.
pub fn weakness_risk(facts: &WeaknessFacts, internet_facing: bool) -> f64 {
    severity_factor(facts) * threat_factor(facts) * exposure_factor(internet_facing)
}

/// A device's exposure score (0–100, never 100) from the risks of all its weaknesses:
/// `100 × (1 − e^(−Σ risk / SATURATION))`.
pub fn device_score(risks: impl IntoIterator<Item = f64>) -> f64 {
    let total: f64 = risks.into_iter().map(|r| r.max(0.0)).sum();
    100.0 * (1.0 - (-total / SATURATION).exp())
}

/// A group's or the organisation's score: the devices' scores averaged with their value as weight
/// (0 with no devices).
pub fn weighted_score(devices: impl IntoIterator<Item = (f64, DeviceValue)>) -> f64 {
    let (mut sum, mut weights) = (0.0, 0.0);
    for (score, value) in devices {
        sum += score * value.weight();
        weights += value.weight();
    }
    if weights == 0.0 { 0.0 } else { sum / weights }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(cvss: f64, epss: f64, kev: bool) -> WeaknessFacts {
        WeaknessFacts {
            cvss: Some(cvss),
            level: None,
            epss: Some(epss),
            kev,
        }
    }

    fn round2(x: f64) -> f64 {
        (x * 100.0).round() / 100.0
    }

    /// The worked example of docs/scoring.md, number for number.
    #[test]
    fn worked_example() {
        // web-01: internet-facing, High value. CVE-2021-44228 (CVSS 10.0, in KEV) and a CVSS 7.5 weakness
        // with EPSS 0.02.
        let log4shell = weakness_risk(&facts(10.0, 0.97, true), true);
        let dos = weakness_risk(&facts(7.5, 0.02, false), true);
        assert_eq!(round2(log4shell), 1.0);
        assert_eq!(round2(dos), 0.24); // 0.75 × (0.3 + 0.7 × 0.02) × 1 = 0.2355
        let web = device_score([log4shell, dos]);
        assert_eq!(round2(web), 11.62); // 100 × (1 − e^(−1.2355/10))
        // db-01: internal, Normal value. The same CVSS 7.5 weakness, and an unrated one.
        let dos_internal = weakness_risk(&facts(7.5, 0.02, false), false);
        let unrated = weakness_risk(
            &WeaknessFacts {
                cvss: None,
                level: None,
                epss: None,
                kev: false,
            },
            false,
        );
        assert_eq!(round2(dos_internal), 0.16); // 0.2355 × 0.7 = 0.16485
        assert_eq!(round2(unrated), 0.11); // 0.5 × 0.3 × 0.7 = 0.105
        let db = device_score([dos_internal, unrated]);
        assert_eq!(round2(db), 2.66);
        // Organisation: (11.62 × 2 + 2.66 × 1) / 3 = 8.64.
        let org = weighted_score([(web, DeviceValue::High), (db, DeviceValue::Normal)]);
        assert_eq!(round2(org), 8.64);
        assert_eq!(Band::of(org), Band::Low);
        // Remediating log4j on web-01 (web-01 falls to 2.33) lowers the organisation score by 6.20:
        let org_after = weighted_score([
            (device_score([dos]), DeviceValue::High),
            (db, DeviceValue::Normal),
        ]);
        assert_eq!(round2(org - org_after), 6.2);
    }

    #[test]
    fn bands() {
        assert_eq!(Band::of(0.0), Band::Low);
        assert_eq!(Band::of(29.4), Band::Low);
        assert_eq!(Band::of(29.5), Band::Medium);
        assert_eq!(Band::of(69.4), Band::Medium);
        assert_eq!(Band::of(69.5), Band::High);
        assert_eq!(Band::of(100.0), Band::High);
    }

    fn any_facts() -> impl Strategy<Value = WeaknessFacts> {
        (
            proptest::option::of(0.0..=10.0f64),
            proptest::option::of(0.0..=1.0f64),
            any::<bool>(),
        )
            .prop_map(|(cvss, epss, kev)| WeaknessFacts {
                cvss,
                level: None,
                epss,
                kev,
            })
    }

    proptest! {
        #[test]
        fn scores_are_bounded(risks in proptest::collection::vec((any_facts(), any::<bool>()), 0..400)) {
            let score = device_score(risks.iter().map(|(f, i)| weakness_risk(f, *i)));
            prop_assert!((0.0..100.0).contains(&score));
        }

        #[test]
        fn adding_a_weakness_never_lowers_a_score(
            risks in proptest::collection::vec((any_facts(), any::<bool>()), 0..100),
            extra in any_facts(),
            facing in any::<bool>(),
        ) {
            let before: Vec<f64> = risks.iter().map(|(f, i)| weakness_risk(f, *i)).collect();
            let mut after = before.clone();
            after.push(weakness_risk(&extra, facing));
            prop_assert!(device_score(after) >= device_score(before));
        }

        #[test]
        fn remediating_never_raises_the_organisation_score(
            devices in proptest::collection::vec(
                (proptest::collection::vec(any_facts(), 1..30), any::<bool>(), 0..3u8), 1..20),
            fixed_device in any::<usize>(),
        ) {
            let value = |v: u8| [DeviceValue::Low, DeviceValue::Normal, DeviceValue::High][v as usize];
            let scores = |skip: Option<usize>| -> Vec<(f64, DeviceValue)> {
                devices.iter().enumerate().map(|(i, (ws, facing, v))| {
                    let ws = if Some(i) == skip { &ws[1..] } else { &ws[..] };
                    (device_score(ws.iter().map(|f| weakness_risk(f, *facing))), value(*v))
                }).collect()
            };
            let fixed = fixed_device % devices.len();
            let before = weighted_score(scores(None));
            let after = weighted_score(scores(Some(fixed)));
            prop_assert!(after <= before + 1e-9);
            prop_assert!((0.0..100.0).contains(&before));
        }

        #[test]
        fn more_threat_never_means_less_risk(f in any_facts(), facing in any::<bool>()) {
            let kev = WeaknessFacts { kev: true, ..f };
            prop_assert!(weakness_risk(&kev, facing) >= weakness_risk(&f, facing));
            prop_assert!(weakness_risk(&f, true) >= weakness_risk(&f, false));
        }
    }
}
