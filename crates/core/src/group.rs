//! Device groups: named sets of devices, by explicit assignment or by rules (name pattern, tag, OS),
//! and the one rule that decides which group a device is in.
//!
//! As in MDVM, a device is in exactly one group: the group it is explicitly assigned to, else the first
//! group by rank whose rules all match it, else [`UNGROUPED`]. Exceptions, remediation activities and
//! group scores all use this one assignment.

use serde::{Deserialize, Serialize};

use crate::device::Device;

/// The group of devices that no group claims.
pub const UNGROUPED: &str = "Ungrouped";

/// The longest accepted group name, in characters.
pub const MAX_GROUP_NAME: usize = 128;

/// One condition of a group's rules. Comparisons ignore ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum GroupRule {
    /// The device name matches a pattern where `*` is any run of characters and `?` any one character.
    NamePattern(String),
    /// The device carries this tag.
    Tag(String),
    /// The device's OS starts with this text (`debian`, `alpine 3.18`).
    Os(String),
}

impl GroupRule {
    /// Whether the rule matches the device.
    pub fn matches(&self, device: &Device) -> bool {
        match self {
            GroupRule::NamePattern(pattern) => glob_matches(pattern, &device.name),
            GroupRule::Tag(tag) => device.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
            GroupRule::Os(prefix) => device.os.as_deref().is_some_and(|os| {
                os.len() >= prefix.len()
                    && os.is_char_boundary(prefix.len())
                    && os[..prefix.len()].eq_ignore_ascii_case(prefix)
            }),
        }
    }
}

/// A device group as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceGroup {
    /// Store id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What the group is for.
    pub description: String,
    /// Rule groups are tried by rank, lowest first.
    pub rank: i64,
    /// Conditions that must all hold for a device to join by rule; empty: explicit assignment only.
    pub rules: Vec<GroupRule>,
}

/// Checks a group name: not blank, no surrounding spaces, at most [`MAX_GROUP_NAME`] characters, no
/// control characters, and not the reserved [`UNGROUPED`].
pub fn validate_group_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("a group name must not be empty".into());
    }
    if name.trim() != name {
        return Err(format!(
            "group name {name:?} has leading or trailing spaces"
        ));
    }
    if name.chars().count() > MAX_GROUP_NAME {
        return Err(format!(
            "a group name has at most {MAX_GROUP_NAME} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("group name {name:?} contains control characters"));
    }
    if name.eq_ignore_ascii_case(UNGROUPED) {
        return Err(format!("{UNGROUPED:?} is reserved for devices in no group"));
    }
    Ok(())
}

/// The group a device is in: its explicit assignment, else the first group by rank (then id) whose
/// non-empty rules all match, else [`UNGROUPED`].
pub fn group_of<'a>(device: &'a Device, groups: &'a [DeviceGroup]) -> &'a str {
    if let Some(explicit) = device.group.as_deref().filter(|g| !g.trim().is_empty()) {
        return explicit;
    }
    groups
        .iter()
        .filter(|g| !g.rules.is_empty() && g.rules.iter().all(|r| r.matches(device)))
        .min_by_key(|g| (g.rank, g.id))
        .map_or(UNGROUPED, |g| g.name.as_str())
}

/// Whether `text` matches `pattern` (`*` any run, `?` any one character), ignoring ASCII case.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceId;
    use crate::score::DeviceValue;
    use chrono::DateTime;

    fn device(name: &str, os: Option<&str>, group: Option<&str>, tags: &[&str]) -> Device {
        Device {
            id: DeviceId(1),
            name: name.into(),
            os: os.map(Into::into),
            group: group.map(Into::into),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            value: DeviceValue::Normal,
            first_seen: DateTime::UNIX_EPOCH,
            last_seen: DateTime::UNIX_EPOCH,
        }
    }

    fn group(id: i64, name: &str, rank: i64, rules: Vec<GroupRule>) -> DeviceGroup {
        DeviceGroup {
            id,
            name: name.into(),
            description: String::new(),
            rank,
            rules,
        }
    }

    #[test]
    fn globs() {
        let check = |pattern: &str, text: &str, expected: bool| {
            assert_eq!(glob_matches(pattern, text), expected, "{pattern} ~ {text}");
        };
        check("web-*", "web-01", true);
        check("web-*", "WEB-01", true);
        check("web-*", "db-01", false);
        check("*-01", "web-01", true);
        check("w?b-0?", "web-01", true);
        check("w?b-0?", "web-1", false);
        check("*", "", true);
        check("", "", true);
        check("", "x", false);
        check("a*b*c", "axxbyyc", true);
        check("a*b*c", "axxbyy", false);
        check("*.example.org", "api.eu.example.org", true);
        check("ünï*", "ÜNÏcode", false); // only ASCII case is folded
        check("ünï*", "ünïcode", true);
        // Many stars on a long non-matching text stay fast (no exponential backtracking).
        check(&"*a".repeat(50), &"a".repeat(10_000), true);
        check(&"*a".repeat(50), &"b".repeat(10_000), false);
    }

    #[test]
    fn explicit_assignment_wins_then_rank_then_ungrouped() {
        let groups = [
            group(1, "Linux", 20, vec![GroupRule::Os("debian".into())]),
            group(
                2,
                "Internet web",
                10,
                vec![
                    GroupRule::NamePattern("web-*".into()),
                    GroupRule::Tag("internet-facing".into()),
                ],
            ),
            group(3, "Manual", 0, vec![]),
        ];
        let check = |d: &Device, expected: &str| assert_eq!(group_of(d, &groups), expected);
        check(
            &device("web-01", Some("Debian 12"), None, &["Internet-Facing"]),
            "Internet web",
        );
        check(&device("web-01", Some("Debian 12"), None, &[]), "Linux");
        check(&device("db-01", Some("alpine 3.18"), None, &[]), UNGROUPED);
        check(
            &device(
                "web-01",
                Some("Debian 12"),
                Some("Manual"),
                &["internet-facing"],
            ),
            "Manual",
        );
        check(&device("x", None, Some("  "), &[]), UNGROUPED);
        // Equal ranks: the older group (lower id) wins.
        let tied = [
            group(7, "B", 1, vec![GroupRule::Tag("t".into())]),
            group(5, "A", 1, vec![GroupRule::Tag("t".into())]),
        ];
        assert_eq!(group_of(&device("x", None, None, &["t"]), &tied), "A");
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_group_name("Web servers").is_ok());
        for bad in [
            "",
            " ",
            " web",
            "web ",
            "a\tb",
            "ungrouped",
            &"x".repeat(129),
        ] {
            assert!(validate_group_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rules_round_trip_as_tagged_json() {
        let rules = vec![
            GroupRule::NamePattern("web-*".into()),
            GroupRule::Tag("internet-facing".into()),
            GroupRule::Os("debian".into()),
        ];
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(
            json,
            r#"[{"kind":"namePattern","value":"web-*"},{"kind":"tag","value":"internet-facing"},{"kind":"os","value":"debian"}]"#
        );
        assert_eq!(
            serde_json::from_str::<Vec<GroupRule>>(&json).unwrap(),
            rules
        );
    }
}
