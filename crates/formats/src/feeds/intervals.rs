//! Sets of versions as sorted, disjoint intervals between cuts, and their conversion into OSV ranges: how
//! requirement languages (RubyGems' `~> 1.2, >= 1.2.3`, node-semver's `>=1.2.0 <1.2.5 || 2.x`) become
//! `introduced`/`fixed`/`last_affected` events that the matcher evaluates over the ecosystem's ordering.
//!
//! A cut is a place between versions: just below a version (`>= v` starts there, `< v` ends there) or
//! just above it (`> v` starts there, `<= v` ends there). An interval runs from one cut to a later one, so
//! unions, intersections and complements are exact whatever the requirement operators were.
//!
//! Turning an interval back into events is exact too, except for one shape: an interval that starts just
//! above a version (`> v`, or the complement of `<= v`, `= v`) has no `introduced` event of its own in OSV.
//! The caller then supplies the version's successor — exact where the ordering has one (npm:
//! `1.2.3` → `1.2.4-0`), the smallest realistic version above it where it has none (RubyGems).

use std::cmp::Ordering;

use bulwark_core::{Event, Range, RangeKind, Version};

/// A place between versions.
#[derive(Debug, Clone)]
pub(crate) enum Cut {
    /// Below every version.
    Min,
    /// Just below the version: the version itself is after the cut.
    Below(Version),
    /// Just above the version: the version itself is before the cut.
    Above(Version),
    /// Above every version.
    Max,
}

impl Cut {
    /// Where a version is relative to the cut: `Greater` when after it.
    #[cfg(test)]
    fn locate(&self, version: &Version) -> Ordering {
        match self {
            Cut::Min => Ordering::Greater,
            Cut::Max => Ordering::Less,
            Cut::Below(at) => {
                if version >= at {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            Cut::Above(at) => {
                if version > at {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Cut::Min => 0,
            Cut::Below(_) | Cut::Above(_) => 1,
            Cut::Max => 2,
        }
    }
}

impl Ord for Cut {
    fn cmp(&self, other: &Cut) -> Ordering {
        match (self, other) {
            (Cut::Below(a) | Cut::Above(a), Cut::Below(b) | Cut::Above(b)) => {
                a.cmp(b).then_with(|| {
                    // On the same version, just below comes before just above.
                    let side = |c: &Cut| matches!(c, Cut::Above(_));
                    side(self).cmp(&side(other))
                })
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Cut {
    fn partial_cmp(&self, other: &Cut) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Cut {
    fn eq(&self, other: &Cut) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Cut {}

/// The versions between two cuts (`lo` < `hi`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Interval {
    lo: Cut,
    hi: Cut,
}

/// A set of versions: sorted, disjoint, non-touching, non-empty intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionSet {
    intervals: Vec<Interval>,
}

impl VersionSet {
    /// No version.
    pub(crate) fn empty() -> VersionSet {
        VersionSet::default()
    }

    /// Every version.
    pub(crate) fn all() -> VersionSet {
        VersionSet::between(Cut::Min, Cut::Max)
    }

    /// The versions after `lo` and before `hi` (none when `hi` is not after `lo`).
    pub(crate) fn between(lo: Cut, hi: Cut) -> VersionSet {
        if lo < hi {
            VersionSet {
                intervals: vec![Interval { lo, hi }],
            }
        } else {
            VersionSet::empty()
        }
    }

    /// `>= v`.
    pub(crate) fn at_least(v: Version) -> VersionSet {
        VersionSet::between(Cut::Below(v), Cut::Max)
    }

    /// `> v`.
    pub(crate) fn above(v: Version) -> VersionSet {
        VersionSet::between(Cut::Above(v), Cut::Max)
    }

    /// `< v`.
    pub(crate) fn below(v: Version) -> VersionSet {
        VersionSet::between(Cut::Min, Cut::Below(v))
    }

    /// `<= v`.
    pub(crate) fn at_most(v: Version) -> VersionSet {
        VersionSet::between(Cut::Min, Cut::Above(v))
    }

    /// `= v` (every spelling the ordering holds equal).
    pub(crate) fn exactly(v: Version) -> VersionSet {
        VersionSet::between(Cut::Below(v.clone()), Cut::Above(v))
    }

    /// True when no version is in the set.
    pub(crate) fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// True when `version` is in the set.
    #[cfg(test)]
    pub(crate) fn contains(&self, version: &Version) -> bool {
        self.intervals.iter().any(|i| {
            i.lo.locate(version) == Ordering::Greater && i.hi.locate(version) == Ordering::Less
        })
    }

    /// The versions in either set.
    pub(crate) fn union(&self, other: &VersionSet) -> VersionSet {
        VersionSet::union_all([self.clone(), other.clone()])
    }

    /// The versions in any of the sets (one sort, however many sets).
    pub(crate) fn union_all(sets: impl IntoIterator<Item = VersionSet>) -> VersionSet {
        let mut all: Vec<Interval> = sets.into_iter().flat_map(|s| s.intervals).collect();
        all.sort_by(|a, b| a.lo.cmp(&b.lo));
        let mut merged: Vec<Interval> = Vec::with_capacity(all.len());
        for next in all {
            match merged.last_mut() {
                // Touching intervals ([a, c) and [c, d)) leave no version between them: one interval.
                Some(last) if next.lo <= last.hi => {
                    if next.hi > last.hi {
                        last.hi = next.hi;
                    }
                }
                _ => merged.push(next),
            }
        }
        VersionSet { intervals: merged }
    }

    /// The versions in both sets (one pass over both sorted lists).
    pub(crate) fn intersect(&self, other: &VersionSet) -> VersionSet {
        let (a, b) = (&self.intervals, &other.intervals);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let lo = if a[i].lo >= b[j].lo {
                &a[i].lo
            } else {
                &b[j].lo
            };
            let hi = if a[i].hi <= b[j].hi {
                &a[i].hi
            } else {
                &b[j].hi
            };
            if lo < hi {
                out.push(Interval {
                    lo: lo.clone(),
                    hi: hi.clone(),
                });
            }
            // Move past the interval that ends first; the other may overlap the next one.
            if a[i].hi <= b[j].hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        VersionSet { intervals: out }
    }

    /// The versions not in the set.
    pub(crate) fn complement(&self) -> VersionSet {
        let mut out = Vec::with_capacity(self.intervals.len() + 1);
        let mut from = Cut::Min;
        for i in &self.intervals {
            if from < i.lo {
                out.push(Interval {
                    lo: from,
                    hi: i.lo.clone(),
                });
            }
            from = i.hi.clone();
        }
        if from < Cut::Max {
            out.push(Interval {
                lo: from,
                hi: Cut::Max,
            });
        }
        VersionSet { intervals: out }
    }

    /// One `ECOSYSTEM` range per interval: `introduced` at its start (`"0"` for no lower bound), `fixed`
    /// at an end just below a version, `last_affected` at an end just above one. `successor` gives the
    /// version where an interval that starts just above `v` begins (see the module documentation).
    pub(crate) fn to_ranges(&self, successor: &dyn Fn(&Version) -> String) -> Vec<Range> {
        self.intervals
            .iter()
            .map(|i| {
                let introduced = match &i.lo {
                    Cut::Min | Cut::Max => "0".to_string(),
                    Cut::Below(v) => not_zero(v.as_str()),
                    Cut::Above(v) => successor(v),
                };
                let mut events = vec![Event::Introduced(introduced)];
                match &i.hi {
                    Cut::Below(v) => events.push(Event::Fixed(v.as_str().to_string())),
                    Cut::Above(v) => events.push(Event::LastAffected(v.as_str().to_string())),
                    Cut::Min | Cut::Max => {}
                }
                Range {
                    kind: RangeKind::Ecosystem,
                    repo: None,
                    events,
                }
            })
            .collect()
    }
}

/// `introduced: "0"` means "below every version" to OSV; a real version spelled `0` becomes `0.0`, which
/// every ordering here holds equal to it.
fn not_zero(text: &str) -> String {
    if text.trim() == "0" {
        "0.0".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use bulwark_core::VersionScheme;

    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(VersionScheme::Npm, text).unwrap()
    }

    fn events(set: &VersionSet) -> Vec<Vec<Event>> {
        set.to_ranges(&|x| format!("succ({x})"))
            .into_iter()
            .map(|r| r.events)
            .collect()
    }

    #[test]
    fn complement_of_a_union_is_the_affected_ranges() {
        // patched ">= 1.2.3 < 2.0.0 || >= 2.1.0": affected below 1.2.3 and between 2.0.0 and 2.1.0.
        let patched = VersionSet::at_least(v("1.2.3"))
            .intersect(&VersionSet::below(v("2.0.0")))
            .union(&VersionSet::at_least(v("2.1.0")));
        let affected = patched.complement();
        assert_eq!(
            events(&affected),
            vec![
                vec![Event::Introduced("0".into()), Event::Fixed("1.2.3".into())],
                vec![
                    Event::Introduced("2.0.0".into()),
                    Event::Fixed("2.1.0".into())
                ],
            ]
        );
        assert!(affected.contains(&v("1.0.0")));
        assert!(!affected.contains(&v("1.2.3")));
        assert!(affected.contains(&v("2.0.5")));
        assert!(!affected.contains(&v("3.0.0")));
    }

    #[test]
    fn exclusive_bounds_become_last_affected_and_successors() {
        // "> 1.0.0, <= 2.0.0" is (1.0.0, 2.0.0]; its complement is [0, 1.0.0] and (2.0.0, ∞).
        let set = VersionSet::above(v("1.0.0")).intersect(&VersionSet::at_most(v("2.0.0")));
        assert_eq!(
            events(&set),
            vec![vec![
                Event::Introduced("succ(1.0.0)".into()),
                Event::LastAffected("2.0.0".into())
            ]]
        );
        assert_eq!(
            events(&set.complement()),
            vec![
                vec![
                    Event::Introduced("0".into()),
                    Event::LastAffected("1.0.0".into())
                ],
                vec![Event::Introduced("succ(2.0.0)".into())],
            ]
        );
    }

    #[test]
    fn intersections_of_several_intervals() {
        // (< 1 or [2, 3) or >= 4) and [0.5, 2.5) is [0.5, 1) and [2, 2.5).
        let a = VersionSet::union_all([
            VersionSet::below(v("1.0.0")),
            VersionSet::at_least(v("2.0.0")).intersect(&VersionSet::below(v("3.0.0"))),
            VersionSet::at_least(v("4.0.0")),
        ]);
        let b = VersionSet::at_least(v("0.5.0")).intersect(&VersionSet::below(v("2.5.0")));
        let both = a.intersect(&b);
        assert_eq!(
            events(&both),
            vec![
                vec![
                    Event::Introduced("0.5.0".into()),
                    Event::Fixed("1.0.0".into())
                ],
                vec![
                    Event::Introduced("2.0.0".into()),
                    Event::Fixed("2.5.0".into())
                ],
            ]
        );
        assert_eq!(both, b.intersect(&a));
    }

    #[test]
    fn touching_and_empty_sets() {
        let joined = VersionSet::below(v("1.0.0")).union(&VersionSet::at_least(v("1.0.0")));
        assert_eq!(joined, VersionSet::all());
        assert!(joined.complement().is_empty());
        assert!(
            VersionSet::below(v("1.0.0"))
                .intersect(&VersionSet::at_least(v("1.0.0")))
                .is_empty()
        );
        let point = VersionSet::exactly(v("1.0.0"));
        assert!(point.contains(&v("1.0.0")) && !point.contains(&v("1.0.1")));
        let hole = point.complement();
        assert!(!hole.contains(&v("1.0.0")) && hole.contains(&v("1.0.1-0")));
        assert_eq!(
            events(&VersionSet::all()),
            vec![vec![Event::Introduced("0".into())]]
        );
        // A RubyGems `>= 0` starts at the version 0, not below every version (`0.a` < `0`).
        let zero = Version::parse(VersionScheme::RubyGems, "0").unwrap();
        assert_eq!(
            events(&VersionSet::at_least(zero)),
            vec![vec![Event::Introduced("0.0".into())]]
        );
    }
}
