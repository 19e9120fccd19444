//! The host itself: its name, operating system and kernel, read from files under the collection root.

use std::path::Path;

use bulwark_core::agent::{AgentDevice, Skipped};

use crate::read::{self, host_path};

/// Reads the device's identity under `root`; what cannot be read is added to `skipped`.
pub(crate) fn device(root: &Path, is_live: bool, skipped: &mut Vec<Skipped>) -> AgentDevice {
    let name = hostname(root, skipped);
    let (os, os_name) = match os_release(root, skipped) {
        Some(fields) => describe_os(&fields),
        None => (None, None),
    };
    let kernel = first_line(root, "proc/sys/kernel/osrelease", "kernel", skipped);
    AgentDevice {
        name: name.unwrap_or_default(),
        os,
        os_name,
        kernel,
        // The agent's own architecture is the host's only when it collects the system it runs on.
        architecture: is_live.then(|| std::env::consts::ARCH.to_string()),
    }
}

/// `/etc/hostname`, else the kernel's host name.
fn hostname(root: &Path, skipped: &mut Vec<Skipped>) -> Option<String> {
    let mut misses = Vec::new();
    for relative in ["etc/hostname", "proc/sys/kernel/hostname"] {
        match first_line(root, relative, "hostname", &mut misses) {
            Some(name) => return Some(name),
            None => continue,
        }
    }
    skipped.extend(misses);
    None
}

/// The first non-empty line of a small file, trimmed; a missing, unreadable or empty file is skipped.
fn first_line(
    root: &Path,
    relative: &str,
    source: &str,
    skipped: &mut Vec<Skipped>,
) -> Option<String> {
    let bytes = match read::file(root, relative) {
        Ok(bytes) => bytes,
        Err(reason) => {
            skipped.push(Skipped {
                source: source.into(),
                path: host_path(relative),
                reason,
            });
            return None;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    if line.is_none() {
        skipped.push(Skipped {
            source: source.into(),
            path: host_path(relative),
            reason: "empty".into(),
        });
    }
    line.map(str::to_string)
}

/// The fields of `/etc/os-release` (or `/usr/lib/os-release`, which os-release(5) says to read when the
/// first is absent).
fn os_release(root: &Path, skipped: &mut Vec<Skipped>) -> Option<Vec<(String, String)>> {
    let mut reasons = Vec::new();
    for relative in ["etc/os-release", "usr/lib/os-release"] {
        match read::file(root, relative) {
            Ok(bytes) => return Some(parse_os_release(&String::from_utf8_lossy(&bytes))),
            Err(reason) => reasons.push(format!("{}: {reason}", host_path(relative))),
        }
    }
    skipped.push(Skipped {
        source: "os-release".into(),
        path: host_path("etc/os-release"),
        reason: reasons.join("; "),
    });
    None
}

/// `KEY=value` lines, values unquoted as os-release(5) describes (shell-style quotes and backslash escapes).
fn parse_os_release(text: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        fields.push((key.trim().to_string(), unquote(value.trim())));
    }
    fields
}

fn unquote(value: &str) -> String {
    let quote = match value.chars().next() {
        Some(q @ ('"' | '\'')) if value.len() >= 2 && value.ends_with(q) => q,
        _ => return value.to_string(),
    };
    let inner = &value[1..value.len() - 1];
    if quote == '\'' {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `ID VERSION_ID` (the form [`bulwark_core::inventory::os_ecosystem`] reads) and `PRETTY_NAME`.
fn describe_os(fields: &[(String, String)]) -> (Option<String>, Option<String>) {
    let get = |key: &str| {
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let os = get("ID").map(|id| match get("VERSION_ID") {
        Some(version) => format!("{id} {version}"),
        None => id.to_string(),
    });
    (os, get("PRETTY_NAME").map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::inventory::os_ecosystem;

    /// Reads an os-release text and renders `os | pretty name | the release it matches under`.
    fn check(text: &str, expected: &str) {
        let (os, pretty) = describe_os(&parse_os_release(text));
        let release = os.as_deref().and_then(os_ecosystem).map(|e| {
            format!(
                "{}:{}",
                e.ecosystem,
                e.release.as_deref().unwrap_or("(none)")
            )
        });
        let got = format!(
            "{} | {} | {}",
            os.as_deref().unwrap_or("-"),
            pretty.as_deref().unwrap_or("-"),
            release.as_deref().unwrap_or("-")
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn distributions() {
        check(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n\
             ID=debian\n",
            "debian 12 | Debian GNU/Linux 12 (bookworm) | Debian:12",
        );
        check(
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
            "alpine 3.19.1 | Alpine Linux v3.19 | Alpine:3.19",
        );
        check(
            "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n",
            "ubuntu 22.04 | - | Ubuntu:22.04",
        );
        check(
            "NAME=\"AlmaLinux\"\nID=\"almalinux\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME='AlmaLinux 9.4'\n",
            "almalinux 9.4 | AlmaLinux 9.4 | AlmaLinux:9",
        );
        check(
            "# Debian testing has no VERSION_ID\nID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\n",
            "debian | Debian GNU/Linux trixie/sid | Debian:(none)",
        );
        check("ID=\"we\\\"ird\"\nVERSION_ID=\n", "we\"ird | - | -");
    }

    #[test]
    fn hostname_falls_back_to_the_kernel() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("proc/sys/kernel")).expect("mkdir");
        std::fs::write(dir.path().join("proc/sys/kernel/hostname"), "kernel-name\n")
            .expect("write");
        let mut skipped = Vec::new();
        assert_eq!(
            hostname(dir.path(), &mut skipped).as_deref(),
            Some("kernel-name")
        );
        assert!(skipped.is_empty(), "{skipped:?}");
        std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
        std::fs::write(dir.path().join("etc/hostname"), "\n  web-01 \n").expect("write");
        assert_eq!(
            hostname(dir.path(), &mut skipped).as_deref(),
            Some("web-01")
        );
    }

    #[test]
    fn a_host_without_names_says_so() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut skipped = Vec::new();
        let device = device(dir.path(), false, &mut skipped);
        assert_eq!(device, AgentDevice::default());
        let rendered: Vec<String> = skipped
            .iter()
            .map(|s| format!("{} {} {}", s.source, s.path, s.reason))
            .collect();
        assert_eq!(
            rendered,
            [
                "hostname /etc/hostname not present",
                "hostname /proc/sys/kernel/hostname not present",
                "os-release /etc/os-release /etc/os-release: not present; /usr/lib/os-release: not present",
                "kernel /proc/sys/kernel/osrelease not present",
            ]
        );
    }
}
