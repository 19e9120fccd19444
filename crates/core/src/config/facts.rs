//! The facts a Linux host yields for the configuration checks, as the agent sends them over the wire.
//!
//! Every field is optional or a map that may be empty: a fact that was not collected (a file that could not
//! be read without root, a table osquery did not return) is absent, and a check that needs it reports
//! [`NotCollected`](super::CheckStatus::NotCollected) rather than a failure. A fact that was collected and
//! says "nothing there" (no `sshd_config`, no encrypted device) is present with that value.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::CheckSource;

/// What a Linux host yields for the configuration checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HostFacts {
    /// Who collected the facts; the results of [`evaluate`](super::evaluate) carry it as their source.
    pub source: CheckSource,
    /// `/etc/os-release`.
    pub os: Option<OsRelease>,
    /// The SSH server's global configuration (`/etc/ssh/sshd_config` and what it includes).
    pub sshd: Option<SshdConfig>,
    /// Kernel parameters by sysctl name (`kernel.randomize_va_space` → `2`); a missing name was not collected.
    pub sysctl: BTreeMap<String, String>,
    /// `/etc/login.defs`.
    pub login_defs: Option<LoginDefs>,
    /// `/etc/passwd`.
    pub users: Option<Vec<UserAccount>>,
    /// `/etc/shadow`, reduced to whether each password is empty, locked or set (hashes are never kept).
    pub shadow: Option<Vec<ShadowEntry>>,
    /// TCP sockets in the LISTEN state (`/proc/net/tcp`, `/proc/net/tcp6`).
    pub listening: Option<Vec<ListeningSocket>>,
    /// Mounted file systems (`/proc/self/mounts`).
    pub mounts: Option<Vec<MountEntry>>,
    /// The directories of root's `PATH` with their permission bits.
    pub path_dirs: Option<Vec<PathDir>>,
    /// Enabled systemd units (`chrony.service`, `dnf-automatic.timer`), from the `*.wants/` links.
    pub enabled_units: Option<BTreeSet<String>>,
    /// Firewall configuration files.
    pub firewall: Option<FirewallConfig>,
    /// Automatic update configuration.
    pub auto_updates: Option<AutoUpdates>,
    /// Disk encryption.
    pub disk_encryption: Option<DiskEncryption>,
    /// Owner and permission bits of sensitive files by absolute path (`/etc/shadow`).
    pub file_modes: BTreeMap<String, FileMode>,
    /// The hard core-dump limit for all users (`/etc/security/limits.conf`, `limits.d/*.conf`).
    pub core_dump_limit: Option<CoreDumpLimit>,
}

/// The fields of `/etc/os-release` the assessment shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OsRelease {
    /// `ID`: `debian`, `ubuntu`, `rhel`.
    pub id: String,
    /// `ID_LIKE`, split on spaces.
    pub id_like: Vec<String>,
    /// `VERSION_ID`: `12`.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// The SSH server's global configuration: the first value of each keyword outside `Match` blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SshdConfig {
    /// False when `/etc/ssh/sshd_config` does not exist: there is no SSH server to assess.
    pub present: bool,
    /// Keyword in lower case (`permitrootlogin`) → its arguments as written (`no`).
    pub options: BTreeMap<String, String>,
}

impl SshdConfig {
    /// The value of `keyword` (any case), when the configuration sets it.
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.options
            .get(&keyword.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// The settings of `/etc/login.defs` the checks use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoginDefs {
    /// `PASS_MAX_DAYS`, when set.
    pub pass_max_days: Option<i64>,
    /// `ENV_SUPATH`: root's `PATH` after `su` or login, without the `PATH=` prefix.
    pub env_supath: Option<String>,
    /// `ENV_PATH`: other users' `PATH`.
    pub env_path: Option<String>,
}

/// One line of `/etc/passwd`, reduced to what the checks use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAccount {
    /// Login name.
    pub name: String,
    /// Numeric user id.
    pub uid: u32,
}

/// What the password field of a shadow entry holds, never the hash itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PasswordState {
    /// Empty: the account logs in without a password.
    Empty,
    /// Starts with `!` or `*`: no password login.
    Locked,
    /// A password hash is set.
    Set,
}

/// One line of `/etc/shadow`, reduced to the state of its password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowEntry {
    /// Login name.
    pub name: String,
    /// Whether the password is empty, locked or set.
    pub password: PasswordState,
}

/// The address family of a listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketFamily {
    /// `/proc/net/tcp`.
    Ipv4,
    /// `/proc/net/tcp6`.
    Ipv6,
}

/// A TCP socket in the LISTEN state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListeningSocket {
    /// IPv4 or IPv6.
    pub family: SocketFamily,
    /// The local address (`0.0.0.0` or `::` for every interface).
    pub address: IpAddr,
    /// The local port.
    pub port: u16,
}

impl ListeningSocket {
    /// True when the socket accepts connections on every interface (`0.0.0.0` or `::`).
    pub fn is_wildcard(&self) -> bool {
        self.address.is_unspecified()
    }

    /// True when only the host itself can connect (`127.0.0.0/8`, `::1`).
    pub fn is_loopback(&self) -> bool {
        self.address.is_loopback()
    }
}

/// One mounted file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountEntry {
    /// The mounted device or pseudo-file-system name.
    pub device: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// File system type.
    pub fs_type: String,
    /// Mount options (`rw`, `nosuid`, `noexec`).
    pub options: Vec<String>,
}

impl MountEntry {
    /// True when the mount has `option`.
    pub fn has_option(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }
}

/// One directory of root's `PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathDir {
    /// The directory as written in `PATH`.
    pub path: String,
    /// Its permission bits (`0o755`), or `None` when it does not exist or could not be examined.
    pub mode: Option<u32>,
}

/// Owner and permission bits of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMode {
    /// Permission bits (`0o640`).
    pub mode: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
}

/// Firewall configuration found in files; which firewall service is enabled is in
/// [`HostFacts::enabled_units`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FirewallConfig {
    /// `/etc/nftables.conf` exists and defines at least one table.
    pub nftables_ruleset: bool,
    /// `/etc/ufw/ufw.conf` says `ENABLED=yes`; `None` when ufw is not installed.
    pub ufw_enabled: Option<bool>,
}

/// Automatic update configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutoUpdates {
    /// The value of `APT::Periodic::Unattended-Upgrade` in `/etc/apt/apt.conf.d/` (`"1"`), when set; the
    /// `dnf-automatic` timers are in [`HostFacts::enabled_units`].
    pub apt_unattended_upgrade: Option<String>,
    /// The `unattended-upgrades` package is installed (its configuration `50unattended-upgrades` exists).
    pub apt_unattended_upgrades_installed: bool,
}

/// Disk encryption evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiskEncryption {
    /// Device-mapper devices whose uuid starts with `CRYPT-` (`dm-0`).
    pub dm_crypt_devices: Vec<String>,
    /// Names of the volumes listed in `/etc/crypttab`.
    pub crypttab_volumes: Vec<String>,
}

/// The hard core-dump limit that applies to every user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CoreDumpLimit {
    /// The value of the `* hard core` line (`0`), when one is set.
    pub hard: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_travel_as_camel_case_json_and_absent_fields_mean_not_collected() {
        let facts: HostFacts = serde_json::from_str(
            r#"{"source": "osquery", "sysctl": {"kernel.randomize_va_space": "2"},
                "listening": [{"family": "ipv4", "address": "0.0.0.0", "port": 22}],
                "loginDefs": {"passMaxDays": 365}}"#,
        )
        .unwrap();
        assert_eq!(facts.source, CheckSource::Osquery);
        assert_eq!(facts.sshd, None);
        assert_eq!(facts.login_defs.as_ref().unwrap().pass_max_days, Some(365));
        let socket = &facts.listening.as_ref().unwrap()[0];
        assert!(socket.is_wildcard() && !socket.is_loopback());
        let json = serde_json::to_value(&facts).unwrap();
        assert_eq!(json["loginDefs"]["passMaxDays"], 365);
        assert_eq!(json["enabledUnits"], serde_json::Value::Null);
        let back: HostFacts = serde_json::from_value(json).unwrap();
        assert_eq!(back, facts);
    }

    #[test]
    fn sshd_keywords_are_looked_up_in_any_case() {
        let mut sshd = SshdConfig {
            present: true,
            ..SshdConfig::default()
        };
        sshd.options.insert("permitrootlogin".into(), "no".into());
        assert_eq!(sshd.get("PermitRootLogin"), Some("no"));
        assert_eq!(sshd.get("MaxAuthTries"), None);
    }
}
