//! Exposure scores of a fleet — per device, per device group and for the organisation — and the exact
//! impact of remediating each recommendation, computed with the published formula of [`crate::score`].
//!
//! A device's risk counts each vulnerability once, however many installed versions carry it; a
//! vulnerability stops counting on a device only when no open weakness of it remains there. A
//! recommendation's impact removes that product's weaknesses from every exposed device and recomputes
//! exactly the devices it touches; the organisation's weighted average is then updated from their
//! differences, so the figure is the real drop, computed in time proportional to the devices touched.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::device::DeviceId;
use crate::score::{Band, DeviceValue, WeaknessFacts, device_score, weakness_risk};

/// The tag that marks a device as reachable from the internet.
pub const INTERNET_FACING: &str = "internet-facing";

/// What the exposure score needs to know about one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredDevice {
    /// The device.
    pub id: DeviceId,
    /// Its value (weight in averages).
    pub value: DeviceValue,
    /// Tagged internet-facing.
    pub internet_facing: bool,
    /// The group it is in.
    pub group: String,
}

/// One open weakness, as the exposure score sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredWeakness {
    /// The device.
    pub device: DeviceId,
    /// The vulnerability.
    pub vulnerability: String,
    /// The recommendation (product) it belongs to.
    pub recommendation: String,
    /// Its score facts.
    pub facts: WeaknessFacts,
}

/// A device's exposure level, from its score (MDVM's None / Low / Medium / High).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ExposureLevel {
    /// No open weakness.
    None,
    /// Score band low (0–29).
    Low,
    /// Score band medium (30–69).
    Medium,
    /// Score band high (70–100).
    High,
}

impl ExposureLevel {
    /// The level of a device with this score and this many open vulnerabilities.
    pub fn of(score: f64, vulnerabilities: usize) -> ExposureLevel {
        if vulnerabilities == 0 {
            return ExposureLevel::None;
        }
        match Band::of(score) {
            Band::Low => ExposureLevel::Low,
            Band::Medium => ExposureLevel::Medium,
            Band::High => ExposureLevel::High,
        }
    }
}

/// The exposure scores of a fleet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExposureScores {
    /// Each device's score and its number of distinct open vulnerabilities.
    pub devices: BTreeMap<DeviceId, (f64, usize)>,
    /// Each group's value-weighted score (groups with at least one scored device).
    pub groups: BTreeMap<String, f64>,
    /// The organisation's value-weighted score.
    pub organization: f64,
}

/// The risk of each (device, vulnerability): the highest risk among the weakness rows that carry it.
fn risks_by_device<'a>(
    devices: &HashMap<DeviceId, &ScoredDevice>,
    weaknesses: impl IntoIterator<Item = &'a ScoredWeakness>,
) -> HashMap<DeviceId, BTreeMap<&'a str, f64>> {
    let mut out: HashMap<DeviceId, BTreeMap<&'a str, f64>> = HashMap::new();
    for w in weaknesses {
        let Some(device) = devices.get(&w.device) else {
            continue;
        };
        let risk = weakness_risk(&w.facts, device.internet_facing);
        let slot = out
            .entry(w.device)
            .or_default()
            .entry(w.vulnerability.as_str())
            .or_insert(0.0);
        *slot = slot.max(risk);
    }
    out
}

/// Scores every device (those with no weakness score 0), every group and the organisation.
pub fn exposure_scores(devices: &[ScoredDevice], weaknesses: &[ScoredWeakness]) -> ExposureScores {
    let by_id: HashMap<DeviceId, &ScoredDevice> = devices.iter().map(|d| (d.id, d)).collect();
    let risks = risks_by_device(&by_id, weaknesses);
    let mut scores = ExposureScores::default();
    let mut groups: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    let (mut sum, mut weight) = (0.0, 0.0);
    for d in devices {
        let (score, count) = risks
            .get(&d.id)
            .map_or((0.0, 0), |r| (device_score(r.values().copied()), r.len()));
        scores.devices.insert(d.id, (score, count));
        let w = d.value.weight();
        let g = groups.entry(&d.group).or_default();
        g.0 += score * w;
        g.1 += w;
        sum += score * w;
        weight += w;
    }
    scores.groups = groups
        .into_iter()
        .map(|(name, (s, w))| (name.to_string(), if w == 0.0 { 0.0 } else { s / w }))
        .collect();
    scores.organization = if weight == 0.0 { 0.0 } else { sum / weight };
    scores
}

/// The exact drop of the organisation's score if each recommendation were remediated on every device
/// (its weaknesses removed, every other weakness kept), by recommendation id.
pub fn exposure_impacts(
    devices: &[ScoredDevice],
    weaknesses: &[ScoredWeakness],
    scores: &ExposureScores,
) -> BTreeMap<String, f64> {
    let by_id: HashMap<DeviceId, &ScoredDevice> = devices.iter().map(|d| (d.id, d)).collect();
    let total_weight: f64 = devices.iter().map(|d| d.value.weight()).sum();
    if total_weight == 0.0 {
        return BTreeMap::new();
    }
    let mut by_device: HashMap<DeviceId, Vec<&ScoredWeakness>> = HashMap::new();
    let mut touched: BTreeMap<&str, BTreeSet<DeviceId>> = BTreeMap::new();
    for w in weaknesses.iter().filter(|w| by_id.contains_key(&w.device)) {
        by_device.entry(w.device).or_default().push(w);
        touched
            .entry(&w.recommendation)
            .or_default()
            .insert(w.device);
    }
    touched
        .into_iter()
        .map(|(recommendation, devices_touched)| {
            let mut delta = 0.0;
            for id in devices_touched {
                let remaining = by_device[&id]
                    .iter()
                    .copied()
                    .filter(|w| w.recommendation != recommendation);
                let after = risks_by_device(&by_id, remaining)
                    .remove(&id)
                    .map_or(0.0, |r| device_score(r.values().copied()));
                let before = scores.devices.get(&id).map_or(0.0, |s| s.0);
                delta += (before - after) * by_id[&id].value.weight();
            }
            (recommendation.to_string(), (delta / total_weight).max(0.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device(id: i64, value: DeviceValue, internet: bool, group: &str) -> ScoredDevice {
        ScoredDevice {
            id: DeviceId(id),
            value,
            internet_facing: internet,
            group: group.into(),
        }
    }

    fn weakness(
        device: i64,
        vuln: &str,
        rec: &str,
        cvss: Option<f64>,
        epss: Option<f64>,
        kev: bool,
    ) -> ScoredWeakness {
        ScoredWeakness {
            device: DeviceId(device),
            vulnerability: vuln.into(),
            recommendation: rec.into(),
            facts: WeaknessFacts {
                cvss,
                level: None,
                epss,
                kev,
            },
        }
    }

    /// The worked example of docs/scoring.md, through the fleet functions.
    fn worked_example() -> (Vec<ScoredDevice>, Vec<ScoredWeakness>) {
        let devices = vec![
            device(1, DeviceValue::High, true, "web"),
            device(2, DeviceValue::Normal, false, "db"),
        ];
        let weaknesses = vec![
            weakness(1, "CVE-2021-44228", "log4j", Some(10.0), Some(0.97), true),
            weakness(1, "DOS", "other", Some(7.5), Some(0.02), false),
            weakness(2, "DOS", "other", Some(7.5), Some(0.02), false),
            weakness(2, "UNRATED", "third", None, None, false),
        ];
        (devices, weaknesses)
    }

    fn round2(x: f64) -> f64 {
        (x * 100.0).round() / 100.0
    }

    #[test]
    fn worked_example_scores_and_impact() {
        let (devices, weaknesses) = worked_example();
        let scores = exposure_scores(&devices, &weaknesses);
        assert_eq!(round2(scores.devices[&DeviceId(1)].0), 11.62);
        assert_eq!(round2(scores.devices[&DeviceId(2)].0), 2.66);
        assert_eq!(round2(scores.organization), 8.64);
        assert_eq!(round2(scores.groups["web"]), 11.62);
        let impacts = exposure_impacts(&devices, &weaknesses, &scores);
        assert_eq!(round2(impacts["log4j"]), 6.20);
        // The impact is exactly the drop after remediation.
        let after: Vec<ScoredWeakness> = weaknesses
            .iter()
            .filter(|w| w.recommendation != "log4j")
            .cloned()
            .collect();
        let rescored = exposure_scores(&devices, &after);
        assert!((scores.organization - rescored.organization - impacts["log4j"]).abs() < 1e-12);
    }

    #[test]
    fn one_vulnerability_through_two_versions_counts_once() {
        let devices = vec![device(1, DeviceValue::Normal, false, "g")];
        let twice = vec![
            weakness(1, "CVE-1", "a", Some(9.0), None, false),
            weakness(1, "CVE-1", "b", Some(9.0), None, false),
        ];
        let once = &twice[..1];
        assert_eq!(
            exposure_scores(&devices, &twice).organization,
            exposure_scores(&devices, once).organization
        );
        // Remediating one product leaves the vulnerability through the other: no impact.
        let scores = exposure_scores(&devices, &twice);
        assert_eq!(exposure_impacts(&devices, &twice, &scores)["a"], 0.0);
    }

    #[test]
    fn levels() {
        assert_eq!(ExposureLevel::of(0.0, 0), ExposureLevel::None);
        assert_eq!(ExposureLevel::of(0.4, 1), ExposureLevel::Low);
        assert_eq!(ExposureLevel::of(29.4, 3), ExposureLevel::Low);
        assert_eq!(ExposureLevel::of(29.5, 3), ExposureLevel::Medium);
        assert_eq!(ExposureLevel::of(70.0, 30), ExposureLevel::High);
    }

    fn arb_fleet() -> impl Strategy<Value = (Vec<ScoredDevice>, Vec<ScoredWeakness>)> {
        let devices = prop::collection::vec((0..3u8, any::<bool>(), 0..3u8), 1..6);
        devices.prop_flat_map(|ds| {
            let n = ds.len() as i64;
            let devices: Vec<ScoredDevice> = ds
                .iter()
                .enumerate()
                .map(|(i, (v, internet, g))| {
                    let value =
                        [DeviceValue::Low, DeviceValue::Normal, DeviceValue::High][*v as usize];
                    device(i as i64, value, *internet, &format!("g{g}"))
                })
                .collect();
            let weaknesses = prop::collection::vec(
                (
                    0..n,
                    0..8u8,
                    0..4u8,
                    prop::option::of(0.0..=10.0f64),
                    prop::option::of(0.0..=1.0f64),
                    any::<bool>(),
                ),
                0..40,
            )
            .prop_map(|ws| {
                ws.into_iter()
                    .map(|(d, v, r, cvss, epss, kev)| {
                        weakness(d, &format!("CVE-{v}"), &format!("rec{r}"), cvss, epss, kev)
                    })
                    .collect::<Vec<_>>()
            });
            (Just(devices), weaknesses)
        })
    }

    proptest! {
        #[test]
        fn bounded_and_impacts_exact((devices, weaknesses) in arb_fleet()) {
            let scores = exposure_scores(&devices, &weaknesses);
            prop_assert!((0.0..100.0).contains(&scores.organization));
            for s in scores.groups.values() {
                prop_assert!((0.0..100.0).contains(s));
            }
            let impacts = exposure_impacts(&devices, &weaknesses, &scores);
            for (rec, impact) in &impacts {
                prop_assert!(*impact >= 0.0);
                let after: Vec<ScoredWeakness> =
                    weaknesses.iter().filter(|w| &w.recommendation != rec).cloned().collect();
                let rescored = exposure_scores(&devices, &after);
                prop_assert!((scores.organization - rescored.organization - impact).abs() < 1e-9);
            }
        }

        #[test]
        fn adding_a_weakness_never_lowers_a_score(
            (devices, weaknesses) in arb_fleet(),
            cvss in prop::option::of(0.0..=10.0f64),
            kev in any::<bool>(),
        ) {
            let before = exposure_scores(&devices, &weaknesses);
            let mut more = weaknesses.clone();
            more.push(weakness(0, "CVE-new", "recX", cvss, None, kev));
            let after = exposure_scores(&devices, &more);
            prop_assert!(after.organization >= before.organization - 1e-12);
            for (id, (s, _)) in &before.devices {
                prop_assert!(after.devices[id].0 >= *s - 1e-12);
            }
        }
    }
}
