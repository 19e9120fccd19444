//! Host files into [`HostFacts`]: one module per configuration source, and [`collect_facts`], which reads
//! them all under a root directory (`/` on the agent, a temporary directory laid out like a host in tests).
//!
//! Collection never fails as a whole and runs no command: it only reads files and their metadata. A file
//! that cannot be read (missing where it should exist, permission denied when unprivileged, malformed)
//! becomes a [`Skipped`] entry and its facts stay absent, so the checks that need them report "not
//! collected" instead of a failure. A file whose absence is itself the fact (no `sshd_config`: no SSH
//! server; no `ufw.conf`: ufw is not installed; no `crypttab`) is not skipped.

pub mod accounts;
pub mod encryption;
pub mod firewall;
pub mod limits;
pub mod login_defs;
pub mod mounts;
pub mod os_release;
pub mod osquery;
pub mod proc_net;
pub mod sshd;
pub mod sysctl;
pub mod systemd;
pub mod updates;

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use bulwark_core::config::{
    AutoUpdates, CoreDumpLimit, DiskEncryption, FileMode, FirewallConfig, HostFacts, PathDir,
    SocketFamily, SshdConfig, sysctl_keys,
};
use serde::{Deserialize, Serialize};

use crate::FormatError;

/// Root's `PATH` when `/etc/login.defs` sets no `ENV_SUPATH` (Debian's and Fedora's default).
pub const DEFAULT_ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Files larger than this are not read (a configuration file this large is not one).
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// A fact that could not be collected, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// Which facts are missing: `empty passwords`, `sysctl kernel.kptr_restrict`.
    pub what: String,
    /// The host path that could not be read (`/etc/shadow`).
    pub path: String,
    /// Why: `permission denied: run as root to check empty passwords`, `not found`, a parse error.
    pub reason: String,
}

/// Reads the configuration facts of the host whose file system is at `root`.
pub fn collect_facts(root: &Path) -> (HostFacts, Vec<Skipped>) {
    let mut host = Host {
        root: root.to_path_buf(),
        skipped: Vec::new(),
    };
    let mut facts = HostFacts::default();

    if let Some(text) = host.required("operating system", "/etc/os-release") {
        facts.os = Some(os_release::parse(&text));
    }
    facts.sshd = host.sshd();
    for key in sysctl_keys() {
        let path = sysctl::proc_path(key);
        if let Some(text) = host.required(&format!("sysctl {key}"), &path) {
            facts
                .sysctl
                .insert(key.to_string(), sysctl::parse_value(&text));
        }
    }
    let login_defs = host
        .required("password aging and root's PATH", "/etc/login.defs")
        .and_then(|text| {
            host.parsed(
                "/etc/login.defs",
                login_defs::parse("/etc/login.defs", &text),
            )
        });
    let supath = login_defs
        .as_ref()
        .and_then(|defs| defs.env_supath.clone())
        .unwrap_or_else(|| DEFAULT_ROOT_PATH.to_string());
    facts.path_dirs = Some(host.path_dirs(&supath));
    facts.login_defs = login_defs;
    facts.users = host
        .required("accounts with UID 0", "/etc/passwd")
        .and_then(|text| host.parsed("/etc/passwd", accounts::parse_passwd("/etc/passwd", &text)));
    facts.shadow = host
        .required("empty passwords", "/etc/shadow")
        .and_then(|text| host.parsed("/etc/shadow", accounts::parse_shadow("/etc/shadow", &text)));
    facts.listening = host.listening();
    facts.mounts = host
        .required("mounted file systems", "/proc/self/mounts")
        .and_then(|text| {
            host.parsed(
                "/proc/self/mounts",
                mounts::parse("/proc/self/mounts", &text),
            )
        });
    facts.enabled_units = host.enabled_units();
    facts.firewall = host.firewall();
    facts.auto_updates = host.auto_updates();
    facts.disk_encryption = host.disk_encryption();
    facts.core_dump_limit = host.core_dump_limit();
    for path in ["/etc/shadow", "/etc/passwd"] {
        match std::fs::metadata(host.on_host(path)) {
            Ok(meta) => {
                facts.file_modes.insert(
                    path.to_string(),
                    FileMode {
                        mode: meta.permissions().mode() & 0o7777,
                        uid: meta.uid(),
                        gid: meta.gid(),
                    },
                );
            }
            Err(e) => host.skip(&format!("permissions of {path}"), path, &e),
        }
    }
    (facts, host.skipped)
}

/// The host's file system and what could not be read so far.
struct Host {
    root: PathBuf,
    skipped: Vec<Skipped>,
}

/// The result of reading a file whose absence may be a fact.
enum Read {
    Text(String),
    Missing,
    Failed,
}

impl Host {
    /// The path of the host file `path` under the root.
    fn on_host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn skip(&mut self, what: &str, path: &str, error: &io::Error) {
        let reason = match error.kind() {
            io::ErrorKind::PermissionDenied => {
                format!("permission denied: run as root to check {what}")
            }
            io::ErrorKind::NotFound => "not found".to_string(),
            _ => error.to_string(),
        };
        self.skipped.push(Skipped {
            what: what.to_string(),
            path: path.to_string(),
            reason,
        });
    }

    /// Reads a host file; a missing file is `Missing` (not skipped), any other error is skipped.
    fn read(&mut self, what: &str, path: &str) -> Read {
        let full = self.on_host(path);
        let result = std::fs::metadata(&full).and_then(|meta| {
            if meta.len() > MAX_FILE {
                Err(io::Error::other(format!(
                    "{} bytes exceeds the limit of {MAX_FILE} bytes",
                    meta.len()
                )))
            } else {
                std::fs::read(&full)
            }
        });
        match result {
            Ok(bytes) => Read::Text(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Read::Missing,
            Err(e) => {
                self.skip(what, path, &e);
                Read::Failed
            }
        }
    }

    /// Reads a host file that should exist: a missing one is skipped too.
    fn required(&mut self, what: &str, path: &str) -> Option<String> {
        match self.read(what, path) {
            Read::Text(text) => Some(text),
            Read::Missing => {
                self.skipped.push(Skipped {
                    what: what.to_string(),
                    path: path.to_string(),
                    reason: "not found".to_string(),
                });
                None
            }
            Read::Failed => None,
        }
    }

    /// A parse result, with a parse error turned into a skipped entry.
    fn parsed<T>(&mut self, path: &str, result: Result<T, FormatError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.skipped.push(Skipped {
                    what: format!("facts from {path}"),
                    path: path.to_string(),
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    fn sshd(&mut self) -> Option<SshdConfig> {
        let path = "/etc/ssh/sshd_config";
        let text = match self.read("SSH server settings", path) {
            Read::Text(text) => text,
            Read::Missing => return Some(SshdConfig::default()),
            Read::Failed => return None,
        };
        let mut include_skips = Vec::new();
        let root = self.root.clone();
        let result = sshd::parse_with_includes(path, &text, &mut |pattern| {
            Ok(expand_include(&root, pattern, &mut include_skips))
        });
        self.skipped.extend(include_skips);
        self.parsed(path, result)
    }

    fn listening(&mut self) -> Option<Vec<bulwark_core::config::ListeningSocket>> {
        let v4 = self.required("listening services", "/proc/net/tcp")?;
        let mut sockets = self.parsed(
            "/proc/net/tcp",
            proc_net::parse("/proc/net/tcp", &v4, SocketFamily::Ipv4),
        )?;
        // No tcp6 file means IPv6 is disabled: nothing listens there.
        match self.read("listening IPv6 services", "/proc/net/tcp6") {
            Read::Text(v6) => {
                let parsed = proc_net::parse("/proc/net/tcp6", &v6, SocketFamily::Ipv6);
                sockets.extend(self.parsed("/proc/net/tcp6", parsed)?);
            }
            Read::Missing => {}
            Read::Failed => return None,
        }
        Some(sockets)
    }

    fn path_dirs(&mut self, path_value: &str) -> Vec<PathDir> {
        path_value
            .split(':')
            .map(|dir| PathDir {
                path: dir.to_string(),
                mode: if dir.starts_with('/') {
                    std::fs::metadata(self.on_host(dir))
                        .ok()
                        .map(|meta| meta.permissions().mode() & 0o7777)
                } else {
                    None
                },
            })
            .collect()
    }

    fn enabled_units(&mut self) -> Option<std::collections::BTreeSet<String>> {
        let dir = "/etc/systemd/system";
        match systemd::read_enabled_units(&self.on_host(dir)) {
            Ok(units) => Some(units),
            Err(e) => {
                self.skip("enabled services (systemd)", dir, &e);
                None
            }
        }
    }

    fn firewall(&mut self) -> Option<FirewallConfig> {
        let nftables_ruleset = match self.read("the nftables ruleset", "/etc/nftables.conf") {
            Read::Text(text) => firewall::nftables_defines_table(&text),
            Read::Missing => false,
            Read::Failed => return None,
        };
        let ufw_enabled = match self.read("the ufw state", "/etc/ufw/ufw.conf") {
            Read::Text(text) => Some(firewall::ufw_enabled(&text)),
            Read::Missing => None,
            Read::Failed => return None,
        };
        Some(FirewallConfig {
            nftables_ruleset,
            ufw_enabled,
        })
    }

    fn auto_updates(&mut self) -> Option<AutoUpdates> {
        let dir = "/etc/apt/apt.conf.d";
        let mut updates = AutoUpdates {
            apt_unattended_upgrades_installed: self.on_host("/usr/bin/unattended-upgrade").exists()
                || self
                    .on_host("/etc/apt/apt.conf.d/50unattended-upgrades")
                    .exists(),
            ..AutoUpdates::default()
        };
        let mut names = match sorted_names(&self.on_host(dir)) {
            Ok(names) => names,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Some(updates),
            Err(e) => {
                self.skip("automatic updates (apt)", dir, &e);
                return None;
            }
        };
        names.retain(|n| !n.starts_with('.') && !n.ends_with(".dpkg-old") && !n.ends_with('~'));
        for name in names {
            let path = format!("{dir}/{name}");
            match self.read("automatic updates (apt)", &path) {
                Read::Text(text) => {
                    if let Some(value) = updates::unattended_upgrade(&text) {
                        updates.apt_unattended_upgrade = Some(value);
                    }
                }
                Read::Missing => {}
                Read::Failed => return None,
            }
        }
        Some(updates)
    }

    fn disk_encryption(&mut self) -> Option<DiskEncryption> {
        let mut encryption = DiskEncryption::default();
        let block = "/sys/block";
        let names = match sorted_names(&self.on_host(block)) {
            Ok(names) => names,
            Err(e) => {
                self.skip("disk encryption", block, &e);
                return None;
            }
        };
        for name in names.into_iter().filter(|n| n.starts_with("dm-")) {
            let path = format!("{block}/{name}/dm/uuid");
            if let Read::Text(uuid) = self.read("disk encryption", &path)
                && encryption::is_crypt_uuid(&uuid)
            {
                encryption.dm_crypt_devices.push(name);
            }
        }
        match self.read("disk encryption", "/etc/crypttab") {
            Read::Text(text) => encryption.crypttab_volumes = encryption::crypttab_volumes(&text),
            Read::Missing => {}
            Read::Failed => return None,
        }
        Some(encryption)
    }

    fn core_dump_limit(&mut self) -> Option<CoreDumpLimit> {
        let mut limit = CoreDumpLimit::default();
        let mut files = vec!["/etc/security/limits.conf".to_string()];
        let dir = "/etc/security/limits.d";
        match sorted_names(&self.on_host(dir)) {
            Ok(names) => files.extend(
                names
                    .into_iter()
                    .filter(|n| n.ends_with(".conf"))
                    .map(|n| format!("{dir}/{n}")),
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                self.skip("core dump limits", dir, &e);
                return None;
            }
        }
        for path in files {
            match self.read("core dump limits", &path) {
                Read::Text(text) => {
                    if let Some(value) = limits::hard_core_limit(&text) {
                        limit.hard = Some(value);
                    }
                }
                Read::Missing => {}
                Read::Failed => return None,
            }
        }
        Some(limit)
    }
}

/// The entry names of a directory, sorted.
fn sorted_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The files an sshd `Include` pattern names under `root`: relative patterns are relative to `/etc/ssh`,
/// and `*` and `?` may appear in the last path component (matches sorted, as glob(3) returns them).
fn expand_include(root: &Path, pattern: &str, skipped: &mut Vec<Skipped>) -> Vec<(String, String)> {
    let pattern = if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/etc/ssh/{pattern}")
    };
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", &pattern));
    let dir = if dir.is_empty() { "/" } else { dir };
    let names: Vec<String> = if name.contains(['*', '?']) {
        match sorted_names(&root.join(dir.trim_start_matches('/'))) {
            Ok(names) => names.into_iter().filter(|n| glob_match(name, n)).collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                skipped.push(Skipped {
                    what: "SSH server settings (Include)".to_string(),
                    path: dir.to_string(),
                    reason: e.to_string(),
                });
                Vec::new()
            }
        }
    } else {
        vec![name.to_string()]
    };
    let mut files = Vec::new();
    for name in names {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        match std::fs::read(root.join(path.trim_start_matches('/'))) {
            Ok(bytes) => files.push((path, String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => skipped.push(Skipped {
                what: "SSH server settings (Include)".to_string(),
                path,
                reason: e.to_string(),
            }),
        }
    }
    files
}

/// Shell-style matching of `*` (any run) and `?` (one character); a leading `.` is matched only by a `.`.
fn glob_match(pattern: &str, name: &str) -> bool {
    fn matches(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => matches(&p[1..], n) || (!n.is_empty() && matches(p, &n[1..])),
            (Some('?'), Some(_)) => matches(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => matches(&p[1..], &n[1..]),
            _ => false,
        }
    }
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_files_say_why() {
        let mut host = Host {
            root: PathBuf::from("/nonexistent"),
            skipped: Vec::new(),
        };
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        host.skip("empty passwords", "/etc/shadow", &denied);
        host.skip(
            "mounted file systems",
            "/proc/self/mounts",
            &io::Error::from(io::ErrorKind::NotFound),
        );
        let reasons: Vec<&str> = host.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "permission denied: run as root to check empty passwords",
                "not found"
            ]
        );
    }

    #[test]
    fn include_globs() {
        assert!(glob_match("*.conf", "10-bulwark.conf"));
        assert!(!glob_match("*.conf", "10-bulwark.conf.bak"));
        assert!(!glob_match("*.conf", ".hidden.conf"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
    }
}
