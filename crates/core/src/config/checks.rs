//! Bulwark's own Linux configuration checks: the catalog and how each is decided from [`HostFacts`].
//!
//! Each check names the CIS (or, where CIS has no such control, DISA STIG) control it corresponds to and the
//! ComplianceAsCode rule that implements that control, as listed in ComplianceAsCode's control files; a test
//! in `crates/formats/tests/config.rs` verifies every mapping against those files.
//!
//! A check needs some facts; when they were not collected it reports `NotCollected`, never `Fail`.

use std::borrow::Cow;

use super::facts::{HostFacts, ListeningSocket, PasswordState};
use super::{CheckResult, CheckStatus, ConfigCategory, ConfigCheck, ControlRef, Evidence, Weight};

/// How a check is decided.
#[derive(Clone, Copy)]
enum Decide {
    /// A kernel parameter that passes with one of the listed values.
    Sysctl {
        key: &'static str,
        pass: &'static [&'static str],
    },
    /// Any other rule.
    Facts(fn(&HostFacts) -> Verdict),
}

/// A status and the evidence behind it.
type Verdict = (CheckStatus, Vec<Evidence>);

const CIS_DEBIAN_12: (&str, &str) = (
    "CIS Debian Linux 12 Benchmark v1.1.0",
    "controls/cis_debian12.yml",
);
const CIS_DEBIAN_13: (&str, &str) = (
    "CIS Debian Linux 13 Benchmark v1.0.0",
    "controls/cis_debian13.yml",
);
const STIG_UBUNTU_2204: (&str, &str) = (
    "DISA STIG Canonical Ubuntu 22.04 LTS V2R8",
    "controls/stig_ubuntu2204.yml",
);

/// One catalog entry: the check and how it is decided.
struct Entry {
    check: ConfigCheck,
    decide: Decide,
}

#[allow(clippy::too_many_arguments)]
const fn entry(
    id: &'static str,
    title: &'static str,
    category: ConfigCategory,
    weight: u8,
    description: &'static str,
    remediation: &'static str,
    (benchmark, file): (&'static str, &'static str),
    control: &'static str,
    rule: Option<&'static str>,
    decide: Decide,
) -> Entry {
    Entry {
        check: ConfigCheck {
            id: Cow::Borrowed(id),
            title: Cow::Borrowed(title),
            category,
            weight: Weight::of(weight),
            description: Cow::Borrowed(description),
            remediation: Cow::Borrowed(remediation),
            rule: match rule {
                Some(rule) => Some(Cow::Borrowed(rule)),
                None => None,
            },
            control: Some(ControlRef {
                benchmark: Cow::Borrowed(benchmark),
                file: Cow::Borrowed(file),
                control: Cow::Borrowed(control),
            }),
        },
        decide,
    }
}

use ConfigCategory::{Accounts, Application, Network, Os, SecurityControls};

const fn sysctl(key: &'static str, pass: &'static [&'static str]) -> Decide {
    Decide::Sysctl { key, pass }
}

static ENTRIES: [Entry; 32] = [
    entry(
        "bulwark-linux-ssh-root-login",
        "Disable SSH root login",
        Network,
        8,
        "The SSH server lets root log in directly (PermitRootLogin is not `no`; OpenSSH's default is \
         `prohibit-password`). Direct root logins leave no trace of who used the account and make root the \
         first target of password guessing.",
        "Set `PermitRootLogin no` in /etc/ssh/sshd_config (before any Match block) and reload sshd; log in as \
         a named user and use sudo.",
        CIS_DEBIAN_12,
        "5.1.20",
        Some("sshd_disable_root_login"),
        Decide::Facts(ssh_root_login),
    ),
    entry(
        "bulwark-linux-ssh-empty-passwords",
        "Disable SSH login with empty passwords",
        Network,
        9,
        "The SSH server accepts accounts with an empty password (PermitEmptyPasswords yes).",
        "Set `PermitEmptyPasswords no` in /etc/ssh/sshd_config and reload sshd.",
        CIS_DEBIAN_12,
        "5.1.19",
        Some("sshd_disable_empty_passwords"),
        Decide::Facts(ssh_empty_passwords),
    ),
    entry(
        "bulwark-linux-ssh-max-auth-tries",
        "Limit SSH authentication attempts to 4",
        Network,
        4,
        "MaxAuthTries is above 4 (OpenSSH's default is 6), which gives password guessing more attempts per \
         connection.",
        "Set `MaxAuthTries 4` (or lower) in /etc/ssh/sshd_config and reload sshd.",
        CIS_DEBIAN_12,
        "5.1.16",
        Some("sshd_set_max_auth_tries"),
        Decide::Facts(ssh_max_auth_tries),
    ),
    entry(
        "bulwark-linux-firewall-active",
        "Turn on a host firewall",
        Network,
        9,
        "No host firewall is active: none of nftables (service enabled with a ruleset in /etc/nftables.conf), \
         ufw (ENABLED=yes), firewalld or iptables-persistent is enabled, so every listening service is \
         reachable from the network.",
        "Enable one firewall: `ufw enable`, or `systemctl enable --now nftables` with a default-deny ruleset in \
         /etc/nftables.conf, or `systemctl enable --now firewalld`.",
        CIS_DEBIAN_12,
        "4.1.1",
        Some("firewall_single_service_active"),
        Decide::Facts(firewall_active),
    ),
    entry(
        "bulwark-linux-automatic-security-updates",
        "Install security updates automatically",
        Os,
        7,
        "Security updates are not installed automatically: neither unattended-upgrades \
         (APT::Periodic::Unattended-Upgrade \"1\") nor a dnf-automatic timer is enabled.",
        "Debian/Ubuntu: `apt install unattended-upgrades && dpkg-reconfigure -plow unattended-upgrades`. \
         Fedora/RHEL: `dnf install dnf-automatic && systemctl enable --now dnf-automatic-install.timer`.",
        CIS_DEBIAN_12,
        "1.2.2.1",
        None,
        Decide::Facts(automatic_updates),
    ),
    entry(
        "bulwark-linux-auditd-enabled",
        "Enable the audit daemon",
        SecurityControls,
        6,
        "auditd.service is not enabled, so security-relevant kernel events (logins, privilege use, changes to \
         accounts) are not recorded.",
        "`apt install auditd` (or `dnf install audit`), then `systemctl enable --now auditd`.",
        CIS_DEBIAN_12,
        "6.2.1.2",
        Some("service_auditd_enabled"),
        Decide::Facts(auditd_enabled),
    ),
    entry(
        "bulwark-linux-time-sync",
        "Synchronize the clock",
        Os,
        3,
        "No time synchronization service (chrony, systemd-timesyncd, ntpd) is enabled; log timestamps drift \
         and certificate validation and Kerberos can fail.",
        "Enable one: `systemctl enable --now systemd-timesyncd` or `apt install chrony`.",
        CIS_DEBIAN_12,
        "2.3.1.1",
        Some("ntp_single_service_active"),
        Decide::Facts(time_sync),
    ),
    entry(
        "bulwark-linux-aslr",
        "Enable full address space layout randomization",
        Os,
        8,
        "kernel.randomize_va_space is not 2, so memory addresses are predictable and memory-corruption \
         exploits are easier.",
        "Set `kernel.randomize_va_space = 2` in /etc/sysctl.d/60-bulwark.conf and run `sysctl --system`.",
        CIS_DEBIAN_12,
        "1.5.1",
        Some("sysctl_kernel_randomize_va_space"),
        sysctl("kernel.randomize_va_space", &["2"]),
    ),
    entry(
        "bulwark-linux-ptrace-scope",
        "Restrict ptrace to parent processes",
        Os,
        3,
        "kernel.yama.ptrace_scope is 0, so any process can attach to and read the memory of other processes \
         of the same user.",
        "Set `kernel.yama.ptrace_scope = 1` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_12,
        "1.5.2",
        Some("sysctl_kernel_yama_ptrace_scope"),
        sysctl("kernel.yama.ptrace_scope", &["1", "2", "3"]),
    ),
    entry(
        "bulwark-linux-suid-dumpable",
        "Do not dump core of setuid programs",
        Os,
        4,
        "fs.suid_dumpable is not 0, so privileged programs can write memory (possibly holding secrets) to core \
         files.",
        "Set `fs.suid_dumpable = 0` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_12,
        "1.5.3",
        Some("sysctl_fs_suid_dumpable"),
        sysctl("fs.suid_dumpable", &["0"]),
    ),
    entry(
        "bulwark-linux-core-dump-limit",
        "Restrict core dumps for all users",
        Os,
        3,
        "No `* hard core 0` limit is set, so any program can write its memory to a core file.",
        "Add `* hard core 0` to /etc/security/limits.conf (or a file in /etc/security/limits.d/).",
        CIS_DEBIAN_12,
        "1.5.3",
        Some("disable_users_coredumps"),
        Decide::Facts(core_dump_limit),
    ),
    entry(
        "bulwark-linux-kptr-restrict",
        "Hide kernel pointers from unprivileged users",
        Os,
        4,
        "kernel.kptr_restrict is 0, so kernel addresses are shown in /proc, which defeats kernel ASLR.",
        "Set `kernel.kptr_restrict = 1` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_13,
        "1.5.8",
        Some("sysctl_kernel_kptr_restrict"),
        sysctl("kernel.kptr_restrict", &["1", "2"]),
    ),
    entry(
        "bulwark-linux-dmesg-restrict",
        "Restrict the kernel log to privileged users",
        Os,
        3,
        "kernel.dmesg_restrict is not 1, so unprivileged users can read the kernel log, which leaks addresses \
         and hardware details.",
        "Set `kernel.dmesg_restrict = 1` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_13,
        "1.5.5",
        Some("sysctl_kernel_dmesg_restrict"),
        sysctl("kernel.dmesg_restrict", &["1"]),
    ),
    entry(
        "bulwark-linux-protected-symlinks",
        "Protect symbolic links in shared directories",
        Os,
        4,
        "fs.protected_symlinks is not 1, so symlink races in world-writable directories such as /tmp can trick \
         privileged programs into writing other files.",
        "Set `fs.protected_symlinks = 1` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_13,
        "1.5.2",
        Some("sysctl_fs_protected_symlinks"),
        sysctl("fs.protected_symlinks", &["1"]),
    ),
    entry(
        "bulwark-linux-protected-hardlinks",
        "Protect hard links to files of other users",
        Os,
        4,
        "fs.protected_hardlinks is not 1, so users can create hard links to files they do not own and abuse \
         them in privileged programs.",
        "Set `fs.protected_hardlinks = 1` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_13,
        "1.5.1",
        Some("sysctl_fs_protected_hardlinks"),
        sysctl("fs.protected_hardlinks", &["1"]),
    ),
    entry(
        "bulwark-linux-ip-forward",
        "Disable IPv4 forwarding",
        Network,
        5,
        "net.ipv4.ip_forward is 1: the host routes packets between its interfaces. Only routers (and container \
         hosts that need it) should.",
        "Set `net.ipv4.ip_forward = 0` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_12,
        "3.3.1",
        Some("sysctl_net_ipv4_ip_forward"),
        sysctl("net.ipv4.ip_forward", &["0"]),
    ),
    entry(
        "bulwark-linux-send-redirects",
        "Do not send ICMP redirects",
        Network,
        4,
        "net.ipv4.conf.all.send_redirects is 1; only routers send redirects, and an attacker who controls a \
         host that does can reroute its neighbours' traffic.",
        "Set `net.ipv4.conf.all.send_redirects = 0` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_12,
        "3.3.2",
        Some("sysctl_net_ipv4_conf_all_send_redirects"),
        sysctl("net.ipv4.conf.all.send_redirects", &["0"]),
    ),
    entry(
        "bulwark-linux-accept-redirects",
        "Ignore ICMP redirects",
        Network,
        4,
        "net.ipv4.conf.all.accept_redirects is 1, so forged ICMP redirects can change the host's routes.",
        "Set `net.ipv4.conf.all.accept_redirects = 0` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_12,
        "3.3.5",
        Some("sysctl_net_ipv4_conf_all_accept_redirects"),
        sysctl("net.ipv4.conf.all.accept_redirects", &["0"]),
    ),
    entry(
        "bulwark-linux-tcp-syncookies",
        "Enable TCP SYN cookies",
        Network,
        4,
        "net.ipv4.tcp_syncookies is 0, so a SYN flood can exhaust the connection backlog.",
        "Set `net.ipv4.tcp_syncookies = 1` in /etc/sysctl.d/ and run `sysctl --system`.",
        CIS_DEBIAN_12,
        "3.3.10",
        Some("sysctl_net_ipv4_tcp_syncookies"),
        sysctl("net.ipv4.tcp_syncookies", &["1"]),
    ),
    entry(
        "bulwark-linux-root-path-writable",
        "Keep root's PATH free of writable directories",
        Os,
        6,
        "A directory in root's PATH (ENV_SUPATH) is writable by every user, or PATH holds `.` or an empty \
         entry; anyone can plant a program there that root later runs.",
        "Remove the directory from ENV_SUPATH in /etc/login.defs, or `chmod o-w` it.",
        CIS_DEBIAN_12,
        "5.4.2.5",
        Some("accounts_root_path_dirs_no_write"),
        Decide::Facts(root_path_writable),
    ),
    entry(
        "bulwark-linux-password-max-days",
        "Expire passwords after at most 365 days",
        Accounts,
        4,
        "PASS_MAX_DAYS in /etc/login.defs is not set or is above 365 (the default 99999 means never), so a \
         leaked password stays valid forever.",
        "Set `PASS_MAX_DAYS 365` in /etc/login.defs; apply it to existing users with `chage --maxdays 365`.",
        CIS_DEBIAN_12,
        "5.4.1.1",
        Some("accounts_maximum_age_login_defs"),
        Decide::Facts(password_max_days),
    ),
    entry(
        "bulwark-linux-empty-passwords",
        "Remove empty passwords",
        Accounts,
        9,
        "An account in /etc/shadow has an empty password field and can log in without a password.",
        "Lock the account (`passwd -l NAME`) or set a password.",
        CIS_DEBIAN_12,
        "7.2.2",
        Some("no_empty_passwords_etc_shadow"),
        Decide::Facts(empty_passwords),
    ),
    entry(
        "bulwark-linux-uid0-only-root",
        "Make root the only account with UID 0",
        Accounts,
        9,
        "An account other than root has user id 0 and so has every privilege of root.",
        "Give the account another UID (`usermod -u`) or remove it.",
        CIS_DEBIAN_12,
        "5.4.2.1",
        Some("accounts_no_uid_except_zero"),
        Decide::Facts(uid0_only_root),
    ),
    entry(
        "bulwark-linux-shadow-permissions",
        "Restrict /etc/shadow to root",
        Accounts,
        7,
        "/etc/shadow is not owned by root or is readable beyond its owner and group (more than 0640), exposing \
         password hashes to offline cracking.",
        "`chown root:shadow /etc/shadow && chmod 0640 /etc/shadow`.",
        CIS_DEBIAN_12,
        "7.1.5",
        Some("file_permissions_etc_shadow"),
        Decide::Facts(shadow_permissions),
    ),
    entry(
        "bulwark-linux-passwd-permissions",
        "Restrict writes to /etc/passwd",
        Accounts,
        5,
        "/etc/passwd is not owned by root or is writable beyond its owner (more than 0644); whoever can write \
         it can create a UID 0 account.",
        "`chown root:root /etc/passwd && chmod 0644 /etc/passwd`.",
        CIS_DEBIAN_12,
        "7.1.1",
        Some("file_permissions_etc_passwd"),
        Decide::Facts(passwd_permissions),
    ),
    entry(
        "bulwark-linux-disk-encryption",
        "Encrypt disks",
        Os,
        5,
        "No dm-crypt device is active and /etc/crypttab lists no volume, so data at rest is readable by anyone \
         with the disk.",
        "Encrypt the data partitions with LUKS (`cryptsetup luksFormat`), normally at installation.",
        STIG_UBUNTU_2204,
        "UBTU-22-231010",
        Some("encrypt_partitions"),
        Decide::Facts(disk_encryption),
    ),
    entry(
        "bulwark-linux-telnet-listening",
        "Stop the telnet server",
        Network,
        9,
        "A service listens on TCP port 23 (telnet) on a non-loopback address; telnet sends passwords in clear \
         text.",
        "Remove the telnet server (`apt purge telnetd inetutils-telnetd`) and use SSH.",
        CIS_DEBIAN_13,
        "2.1.16",
        Some("package_telnetd_removed"),
        Decide::Facts(telnet_listening),
    ),
    entry(
        "bulwark-linux-rsh-listening",
        "Stop the r-services (rsh, rlogin, rexec)",
        Network,
        9,
        "A service listens on TCP port 512, 513 or 514 (rexec, rlogin, rsh) on a non-loopback address; these \
         trust host names and send credentials in clear text.",
        "Remove the rsh server (`apt purge rsh-server rsh-redone-server`) and use SSH.",
        STIG_UBUNTU_2204,
        "UBTU-22-215030",
        Some("package_rsh-server_removed"),
        Decide::Facts(rsh_listening),
    ),
    entry(
        "bulwark-linux-ftp-listening",
        "Stop the FTP server",
        Network,
        6,
        "A service listens on TCP port 21 (FTP) on a non-loopback address; FTP sends passwords in clear text.",
        "Remove the FTP server (`apt purge vsftpd`) or `systemctl disable --now vsftpd`; use SFTP.",
        CIS_DEBIAN_12,
        "2.1.6",
        Some("service_vsftpd_disabled"),
        Decide::Facts(ftp_listening),
    ),
    entry(
        "bulwark-linux-exposed-datastore",
        "Keep databases and caches off public interfaces",
        Application,
        6,
        "A database or cache (MySQL 3306, PostgreSQL 5432, Redis 6379, MongoDB 27017, Elasticsearch 9200, \
         memcached 11211, CouchDB 5984) listens on a non-loopback address; these are often reachable without \
         authentication.",
        "Bind the service to 127.0.0.1 (or a private interface) in its configuration, or block the port in the \
         host firewall.",
        CIS_DEBIAN_12,
        "2.1.22",
        None,
        Decide::Facts(exposed_datastore),
    ),
    entry(
        "bulwark-linux-tmp-partition",
        "Mount /tmp as a separate file system",
        Os,
        3,
        "/tmp is not a separate mount, so it shares the root file system's options and filling it fills the \
         root file system.",
        "`systemctl enable tmp.mount` (tmpfs) or add a /tmp entry to /etc/fstab.",
        CIS_DEBIAN_12,
        "1.1.2.1.1",
        Some("partition_for_tmp"),
        Decide::Facts(tmp_partition),
    ),
    entry(
        "bulwark-linux-tmp-noexec",
        "Mount /tmp with noexec",
        Os,
        3,
        "/tmp is mounted without noexec, so programs dropped there by anyone can be run.",
        "Add `noexec` to the /tmp mount options in /etc/fstab (or tmp.mount) and remount.",
        CIS_DEBIAN_12,
        "1.1.2.1.4",
        Some("mount_option_tmp_noexec"),
        Decide::Facts(tmp_noexec),
    ),
];

/// Bulwark's Linux configuration checks, in a stable order.
pub fn linux_checks() -> impl ExactSizeIterator<Item = &'static ConfigCheck> {
    ENTRIES.iter().map(|entry| &entry.check)
}

/// The Linux check with id `id`.
pub fn linux_check(id: &str) -> Option<&'static ConfigCheck> {
    linux_checks().find(|check| check.id == id)
}

/// The kernel parameters the Linux checks read, in catalog order: what a collector has to gather.
pub fn sysctl_keys() -> impl Iterator<Item = &'static str> {
    ENTRIES.iter().filter_map(|entry| match entry.decide {
        Decide::Sysctl { key, .. } => Some(key),
        Decide::Facts(_) => None,
    })
}

/// Runs every Linux check on `facts`; the results carry `facts.source` and come in catalog order.
pub fn evaluate(facts: &HostFacts) -> Vec<CheckResult> {
    ENTRIES
        .iter()
        .map(|entry| {
            let (status, evidence) = match entry.decide {
                Decide::Sysctl { key, pass } => decide_sysctl(facts, key, pass),
                Decide::Facts(decide) => decide(facts),
            };
            CheckResult::new(&entry.check, facts.source, status, evidence)
        })
        .collect()
}

fn pass_if(pass: bool, evidence: Vec<Evidence>) -> Verdict {
    let status = if pass {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    (status, evidence)
}

fn not_collected(what: &str) -> Verdict {
    (
        CheckStatus::NotCollected,
        vec![Evidence::new(what, "not collected")],
    )
}

fn decide_sysctl(facts: &HostFacts, key: &str, pass: &[&str]) -> Verdict {
    let item = format!("sysctl {key}");
    match facts.sysctl.get(key) {
        None => not_collected(&item),
        Some(value) => {
            let value = value.trim();
            pass_if(pass.contains(&value), vec![Evidence::new(item, value)])
        }
    }
}

/// The SSH server's value of `keyword`, with OpenSSH's default when unset; `Err` when not assessable.
fn sshd_value(
    facts: &HostFacts,
    keyword: &str,
    default: &str,
) -> Result<(String, Evidence), Verdict> {
    let item = format!("sshd_config {keyword}");
    let Some(sshd) = &facts.sshd else {
        return Err(not_collected(&item));
    };
    if !sshd.present {
        return Err((
            CheckStatus::NotApplicable,
            vec![Evidence::new("/etc/ssh/sshd_config", "not present")],
        ));
    }
    Ok(match sshd.get(keyword) {
        Some(value) => (value.to_string(), Evidence::new(item, value)),
        None => (
            default.to_string(),
            Evidence::new(item, format!("not set (default {default})")),
        ),
    })
}

fn ssh_root_login(facts: &HostFacts) -> Verdict {
    match sshd_value(facts, "PermitRootLogin", "prohibit-password") {
        Ok((value, evidence)) => pass_if(value.eq_ignore_ascii_case("no"), vec![evidence]),
        Err(verdict) => verdict,
    }
}

fn ssh_empty_passwords(facts: &HostFacts) -> Verdict {
    match sshd_value(facts, "PermitEmptyPasswords", "no") {
        Ok((value, evidence)) => pass_if(value.eq_ignore_ascii_case("no"), vec![evidence]),
        Err(verdict) => verdict,
    }
}

fn ssh_max_auth_tries(facts: &HostFacts) -> Verdict {
    match sshd_value(facts, "MaxAuthTries", "6") {
        Ok((value, evidence)) => pass_if(
            value.parse::<u32>().is_ok_and(|tries| tries <= 4),
            vec![evidence],
        ),
        Err(verdict) => verdict,
    }
}

/// Whether `unit` is enabled, and the evidence; `None` when the units were not collected.
fn unit_enabled(facts: &HostFacts, units: &[&str]) -> Option<(bool, Evidence)> {
    let enabled = facts.enabled_units.as_ref()?;
    let found: Vec<&str> = units
        .iter()
        .copied()
        .filter(|u| enabled.contains(*u))
        .collect();
    let evidence = if found.is_empty() {
        Evidence::new(
            "enabled systemd units",
            format!("none of {}", units.join(", ")),
        )
    } else {
        Evidence::new("enabled systemd units", found.join(", "))
    };
    Some((!found.is_empty(), evidence))
}

/// Passes when one of `units` is enabled.
fn any_unit(facts: &HostFacts, units: &[&str]) -> Verdict {
    match unit_enabled(facts, units) {
        None => not_collected("enabled systemd units"),
        Some((enabled, evidence)) => pass_if(enabled, vec![evidence]),
    }
}

fn firewall_active(facts: &HostFacts) -> Verdict {
    let mut evidence = Vec::new();
    let mut active = false;
    let units = unit_enabled(
        facts,
        &[
            "nftables.service",
            "firewalld.service",
            "netfilter-persistent.service",
            "iptables.service",
        ],
    );
    let enabled = |unit: &str| {
        facts
            .enabled_units
            .as_ref()
            .is_some_and(|units| units.contains(unit))
    };
    if let Some(firewall) = &facts.firewall {
        evidence.push(Evidence::new(
            "/etc/nftables.conf",
            if firewall.nftables_ruleset {
                "defines a ruleset"
            } else {
                "no ruleset"
            },
        ));
        match firewall.ufw_enabled {
            Some(on) => {
                evidence.push(Evidence::new(
                    "/etc/ufw/ufw.conf ENABLED",
                    if on { "yes" } else { "no" },
                ));
                active |= on;
            }
            None => evidence.push(Evidence::new("/etc/ufw/ufw.conf", "not present")),
        }
        active |= firewall.nftables_ruleset && enabled("nftables.service");
    }
    if let Some((_, unit_evidence)) = &units {
        evidence.push(unit_evidence.clone());
        active |= [
            "firewalld.service",
            "netfilter-persistent.service",
            "iptables.service",
        ]
        .into_iter()
        .any(enabled);
    }
    if active {
        (CheckStatus::Pass, evidence)
    } else if facts.firewall.is_some() && units.is_some() {
        (CheckStatus::Fail, evidence)
    } else {
        evidence.push(Evidence::new("firewall state", "not collected"));
        (CheckStatus::NotCollected, evidence)
    }
}

fn automatic_updates(facts: &HostFacts) -> Verdict {
    let mut evidence = Vec::new();
    let mut on = false;
    if let Some(updates) = &facts.auto_updates {
        let value = updates.apt_unattended_upgrade.as_deref();
        evidence.push(Evidence::new(
            "APT::Periodic::Unattended-Upgrade",
            value.unwrap_or("not set"),
        ));
        evidence.push(Evidence::new(
            "unattended-upgrades",
            if updates.apt_unattended_upgrades_installed {
                "installed"
            } else {
                "not installed"
            },
        ));
        on |= updates.apt_unattended_upgrades_installed
            && value.is_some_and(|v| v.trim() != "0" && !v.trim().is_empty());
    }
    let units = unit_enabled(
        facts,
        &[
            "dnf-automatic.timer",
            "dnf-automatic-install.timer",
            "dnf5-automatic.timer",
        ],
    );
    if let Some((enabled, unit_evidence)) = units.clone() {
        evidence.push(unit_evidence);
        on |= enabled;
    }
    if on {
        (CheckStatus::Pass, evidence)
    } else if facts.auto_updates.is_some() && units.is_some() {
        (CheckStatus::Fail, evidence)
    } else {
        evidence.push(Evidence::new("automatic updates", "not collected"));
        (CheckStatus::NotCollected, evidence)
    }
}

fn auditd_enabled(facts: &HostFacts) -> Verdict {
    any_unit(facts, &["auditd.service"])
}

fn time_sync(facts: &HostFacts) -> Verdict {
    any_unit(
        facts,
        &[
            "chrony.service",
            "chronyd.service",
            "systemd-timesyncd.service",
            "ntp.service",
            "ntpd.service",
            "ntpsec.service",
            "openntpd.service",
        ],
    )
}

fn core_dump_limit(facts: &HostFacts) -> Verdict {
    let item = "limits.conf * hard core";
    match &facts.core_dump_limit {
        None => not_collected(item),
        Some(limit) => match limit.hard.as_deref() {
            Some(value) => pass_if(value.trim() == "0", vec![Evidence::new(item, value)]),
            None => pass_if(false, vec![Evidence::new(item, "not set (unlimited)")]),
        },
    }
}

fn root_path_writable(facts: &HostFacts) -> Verdict {
    let Some(dirs) = &facts.path_dirs else {
        return not_collected("root's PATH");
    };
    let mut bad = Vec::new();
    for dir in dirs {
        if dir.path.is_empty() || dir.path == "." {
            bad.push(Evidence::new("PATH entry", format!("{:?}", dir.path)));
        } else if let Some(mode) = dir.mode.filter(|mode| mode & 0o002 != 0) {
            bad.push(Evidence::new(dir.path.clone(), format!("mode {mode:04o}")));
        }
    }
    if bad.is_empty() {
        let paths: Vec<&str> = dirs.iter().map(|d| d.path.as_str()).collect();
        (
            CheckStatus::Pass,
            vec![Evidence::new(
                "root's PATH",
                format!("{} (none writable by others)", paths.join(":")),
            )],
        )
    } else {
        (CheckStatus::Fail, bad)
    }
}

fn password_max_days(facts: &HostFacts) -> Verdict {
    let item = "/etc/login.defs PASS_MAX_DAYS";
    match &facts.login_defs {
        None => not_collected(item),
        Some(defs) => match defs.pass_max_days {
            Some(days) => pass_if(
                (1..=365).contains(&days),
                vec![Evidence::new(item, days.to_string())],
            ),
            None => pass_if(false, vec![Evidence::new(item, "not set (default 99999)")]),
        },
    }
}

fn empty_passwords(facts: &HostFacts) -> Verdict {
    let Some(shadow) = &facts.shadow else {
        return not_collected("/etc/shadow");
    };
    let empty: Vec<&str> = shadow
        .iter()
        .filter(|e| e.password == PasswordState::Empty)
        .map(|e| e.name.as_str())
        .collect();
    if empty.is_empty() {
        (
            CheckStatus::Pass,
            vec![Evidence::new(
                "/etc/shadow",
                format!("{} accounts, none with an empty password", shadow.len()),
            )],
        )
    } else {
        (
            CheckStatus::Fail,
            vec![Evidence::new(
                "/etc/shadow empty passwords",
                empty.join(", "),
            )],
        )
    }
}

fn uid0_only_root(facts: &HostFacts) -> Verdict {
    let Some(users) = &facts.users else {
        return not_collected("/etc/passwd");
    };
    let others: Vec<&str> = users
        .iter()
        .filter(|u| u.uid == 0 && u.name != "root")
        .map(|u| u.name.as_str())
        .collect();
    if others.is_empty() {
        (
            CheckStatus::Pass,
            vec![Evidence::new("/etc/passwd UID 0", "root only")],
        )
    } else {
        (
            CheckStatus::Fail,
            vec![Evidence::new("/etc/passwd UID 0", others.join(", "))],
        )
    }
}

fn file_mode(facts: &HostFacts, path: &str, forbidden: u32) -> Verdict {
    match facts.file_modes.get(path) {
        None => not_collected(path),
        Some(file) => pass_if(
            file.mode & forbidden == 0 && file.uid == 0,
            vec![Evidence::new(
                path,
                format!("mode {:04o}, owner uid {}", file.mode, file.uid),
            )],
        ),
    }
}

fn shadow_permissions(facts: &HostFacts) -> Verdict {
    // More than 0640, or any setuid/setgid/sticky bit.
    file_mode(facts, "/etc/shadow", 0o7137)
}

fn passwd_permissions(facts: &HostFacts) -> Verdict {
    // More than 0644, or any setuid/setgid/sticky bit.
    file_mode(facts, "/etc/passwd", 0o7133)
}

fn disk_encryption(facts: &HostFacts) -> Verdict {
    let Some(encryption) = &facts.disk_encryption else {
        return not_collected("disk encryption");
    };
    let devices = if encryption.dm_crypt_devices.is_empty() {
        "none".to_string()
    } else {
        encryption.dm_crypt_devices.join(", ")
    };
    let volumes = if encryption.crypttab_volumes.is_empty() {
        "none".to_string()
    } else {
        encryption.crypttab_volumes.join(", ")
    };
    pass_if(
        !encryption.dm_crypt_devices.is_empty() || !encryption.crypttab_volumes.is_empty(),
        vec![
            Evidence::new("dm-crypt devices", devices),
            Evidence::new("/etc/crypttab volumes", volumes),
        ],
    )
}

/// Fails when a TCP socket on one of `ports` listens on an address other than loopback.
fn listening_on(facts: &HostFacts, ports: &[u16]) -> Verdict {
    let Some(listening) = &facts.listening else {
        return not_collected("listening TCP sockets");
    };
    let exposed: Vec<&ListeningSocket> = listening
        .iter()
        .filter(|s| ports.contains(&s.port) && !s.is_loopback())
        .collect();
    let ports_text: Vec<String> = ports.iter().map(u16::to_string).collect();
    if exposed.is_empty() {
        (
            CheckStatus::Pass,
            vec![Evidence::new(
                "listening TCP sockets",
                format!("none on port {} outside loopback", ports_text.join(", ")),
            )],
        )
    } else {
        let evidence = exposed
            .iter()
            .map(|s| {
                let address = match s.address {
                    std::net::IpAddr::V6(v6) => format!("[{v6}]:{}", s.port),
                    std::net::IpAddr::V4(v4) => format!("{v4}:{}", s.port),
                };
                Evidence::new("listening TCP socket", address)
            })
            .collect();
        (CheckStatus::Fail, evidence)
    }
}

fn telnet_listening(facts: &HostFacts) -> Verdict {
    listening_on(facts, &[23])
}

fn rsh_listening(facts: &HostFacts) -> Verdict {
    listening_on(facts, &[512, 513, 514])
}

fn ftp_listening(facts: &HostFacts) -> Verdict {
    listening_on(facts, &[21])
}

fn exposed_datastore(facts: &HostFacts) -> Verdict {
    listening_on(facts, &[3306, 5432, 6379, 27017, 9200, 11211, 5984])
}

/// The mount that is in effect on `/tmp` (the last one: later mounts hide earlier ones).
fn tmp_mount(facts: &HostFacts) -> Option<Option<&super::facts::MountEntry>> {
    let mounts = facts.mounts.as_ref()?;
    Some(mounts.iter().rev().find(|m| m.mount_point == "/tmp"))
}

fn tmp_partition(facts: &HostFacts) -> Verdict {
    match tmp_mount(facts) {
        None => not_collected("/proc/self/mounts"),
        Some(None) => (
            CheckStatus::Fail,
            vec![Evidence::new("/tmp mount", "not a separate mount")],
        ),
        Some(Some(mount)) => (
            CheckStatus::Pass,
            vec![Evidence::new(
                "/tmp mount",
                format!("{} ({})", mount.device, mount.fs_type),
            )],
        ),
    }
}

fn tmp_noexec(facts: &HostFacts) -> Verdict {
    match tmp_mount(facts) {
        None => not_collected("/proc/self/mounts"),
        Some(None) => (
            CheckStatus::NotApplicable,
            vec![Evidence::new("/tmp mount", "not a separate mount")],
        ),
        Some(Some(mount)) => pass_if(
            mount.has_option("noexec"),
            vec![Evidence::new("/tmp mount options", mount.options.join(","))],
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::net::IpAddr;

    use super::*;
    use crate::config::CheckSource;
    use crate::config::facts::{
        AutoUpdates, CoreDumpLimit, DiskEncryption, FileMode, FirewallConfig, LoginDefs,
        MountEntry, PathDir, ShadowEntry, SocketFamily, SshdConfig, UserAccount,
    };

    /// Evaluates `facts` and compares the named checks' `status: evidence` lines with `expected`.
    fn check(facts: &HostFacts, expected: &[(&str, &str)]) {
        let results = evaluate(facts);
        for (id, want) in expected {
            let result = results
                .iter()
                .find(|r| r.check_id == *id)
                .unwrap_or_else(|| panic!("no check {id}"));
            let evidence: Vec<String> = result
                .evidence
                .iter()
                .map(|e| format!("{} = {}", e.item, e.value))
                .collect();
            let got = format!("{:?}: {}", result.status, evidence.join("; "));
            assert_eq!(&got, want, "check {id}");
        }
    }

    fn sshd(options: &[(&str, &str)]) -> HostFacts {
        HostFacts {
            sshd: Some(SshdConfig {
                present: true,
                options: options
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                    .collect(),
            }),
            ..HostFacts::default()
        }
    }

    fn units(names: &[&str]) -> Option<BTreeSet<String>> {
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    fn socket(address: &str, port: u16) -> ListeningSocket {
        let address: IpAddr = address.parse().unwrap();
        ListeningSocket {
            family: if address.is_ipv4() {
                SocketFamily::Ipv4
            } else {
                SocketFamily::Ipv6
            },
            address,
            port,
        }
    }

    fn mount(point: &str, options: &str) -> MountEntry {
        MountEntry {
            device: "tmpfs".into(),
            mount_point: point.into(),
            fs_type: "tmpfs".into(),
            options: options.split(',').map(String::from).collect(),
        }
    }

    #[test]
    fn catalog_has_unique_ids_and_a_control_for_every_check() {
        let checks: Vec<&ConfigCheck> = linux_checks().collect();
        assert!(checks.len() >= 20);
        let ids: BTreeSet<&str> = checks.iter().map(|c| c.id.as_ref()).collect();
        assert_eq!(ids.len(), checks.len(), "duplicate check ids");
        for check in &checks {
            assert!(check.id.starts_with("bulwark-linux-"), "{}", check.id);
            assert!(check.control.is_some(), "{} has no control", check.id);
            assert!(!check.description.is_empty() && !check.remediation.is_empty());
        }
        for category in ConfigCategory::ALL {
            assert!(
                checks.iter().any(|c| c.category == category),
                "no check in {category}"
            );
        }
        assert_eq!(
            linux_check("bulwark-linux-ssh-root-login")
                .and_then(|c| c.control.as_ref())
                .map(ToString::to_string)
                .as_deref(),
            Some("CIS Debian Linux 12 Benchmark v1.1.0 5.1.20")
        );
        assert_eq!(linux_check("bulwark-linux-nope"), None);
        let keys: Vec<&str> = sysctl_keys().collect();
        assert_eq!(keys.len(), 11);
        assert_eq!(keys[0], "kernel.randomize_va_space");
    }

    #[test]
    fn nothing_collected_is_never_a_failure() {
        let results = evaluate(&HostFacts::default());
        assert_eq!(results.len(), linux_checks().len());
        for result in &results {
            assert_eq!(
                result.status,
                CheckStatus::NotCollected,
                "{}",
                result.check_id
            );
            assert_eq!(result.source, CheckSource::Bulwark);
        }
        let osquery = HostFacts {
            source: CheckSource::Osquery,
            ..HostFacts::default()
        };
        assert!(
            evaluate(&osquery)
                .iter()
                .all(|r| r.source == CheckSource::Osquery)
        );
    }

    #[test]
    fn ssh_checks_apply_openssh_defaults() {
        check(
            &sshd(&[]),
            &[
                (
                    "bulwark-linux-ssh-root-login",
                    "Fail: sshd_config PermitRootLogin = not set (default prohibit-password)",
                ),
                (
                    "bulwark-linux-ssh-empty-passwords",
                    "Pass: sshd_config PermitEmptyPasswords = not set (default no)",
                ),
                (
                    "bulwark-linux-ssh-max-auth-tries",
                    "Fail: sshd_config MaxAuthTries = not set (default 6)",
                ),
            ],
        );
        check(
            &sshd(&[
                ("PermitRootLogin", "No"),
                ("PermitEmptyPasswords", "yes"),
                ("MaxAuthTries", "3"),
            ]),
            &[
                (
                    "bulwark-linux-ssh-root-login",
                    "Pass: sshd_config PermitRootLogin = No",
                ),
                (
                    "bulwark-linux-ssh-empty-passwords",
                    "Fail: sshd_config PermitEmptyPasswords = yes",
                ),
                (
                    "bulwark-linux-ssh-max-auth-tries",
                    "Pass: sshd_config MaxAuthTries = 3",
                ),
            ],
        );
        let no_server = HostFacts {
            sshd: Some(SshdConfig::default()),
            ..HostFacts::default()
        };
        check(
            &no_server,
            &[(
                "bulwark-linux-ssh-root-login",
                "NotApplicable: /etc/ssh/sshd_config = not present",
            )],
        );
    }

    #[test]
    fn sysctl_checks_compare_the_trimmed_value() {
        let mut facts = HostFacts::default();
        facts
            .sysctl
            .insert("kernel.randomize_va_space".into(), "1\n".into());
        facts
            .sysctl
            .insert("kernel.kptr_restrict".into(), "2".into());
        facts
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        check(
            &facts,
            &[
                (
                    "bulwark-linux-aslr",
                    "Fail: sysctl kernel.randomize_va_space = 1",
                ),
                (
                    "bulwark-linux-kptr-restrict",
                    "Pass: sysctl kernel.kptr_restrict = 2",
                ),
                (
                    "bulwark-linux-ip-forward",
                    "Fail: sysctl net.ipv4.ip_forward = 1",
                ),
                (
                    "bulwark-linux-tcp-syncookies",
                    "NotCollected: sysctl net.ipv4.tcp_syncookies = not collected",
                ),
            ],
        );
    }

    #[test]
    fn firewall_needs_both_files_and_units_to_fail() {
        let ufw_on = HostFacts {
            firewall: Some(FirewallConfig {
                nftables_ruleset: false,
                ufw_enabled: Some(true),
            }),
            ..HostFacts::default()
        };
        check(
            &ufw_on,
            &[(
                "bulwark-linux-firewall-active",
                "Pass: /etc/nftables.conf = no ruleset; /etc/ufw/ufw.conf ENABLED = yes",
            )],
        );
        let nothing = HostFacts {
            firewall: Some(FirewallConfig {
                nftables_ruleset: true,
                ufw_enabled: None,
            }),
            enabled_units: units(&["ssh.service"]),
            ..HostFacts::default()
        };
        check(
            &nothing,
            &[(
                "bulwark-linux-firewall-active",
                "Fail: /etc/nftables.conf = defines a ruleset; /etc/ufw/ufw.conf = not present; enabled \
                 systemd units = none of nftables.service, firewalld.service, netfilter-persistent.service, \
                 iptables.service",
            )],
        );
        let nft = HostFacts {
            enabled_units: units(&["nftables.service"]),
            ..nothing.clone()
        };
        check(
            &nft,
            &[(
                "bulwark-linux-firewall-active",
                "Pass: /etc/nftables.conf = defines a ruleset; /etc/ufw/ufw.conf = not present; enabled \
                 systemd units = nftables.service",
            )],
        );
        let units_only = HostFacts {
            enabled_units: units(&[]),
            ..HostFacts::default()
        };
        assert_eq!(
            evaluate(&units_only)
                .iter()
                .find(|r| r.check_id == "bulwark-linux-firewall-active")
                .map(|r| r.status),
            Some(CheckStatus::NotCollected)
        );
    }

    #[test]
    fn automatic_updates_by_apt_or_dnf() {
        let apt = |value: Option<&str>, installed: bool| HostFacts {
            auto_updates: Some(AutoUpdates {
                apt_unattended_upgrade: value.map(String::from),
                apt_unattended_upgrades_installed: installed,
            }),
            enabled_units: units(&[]),
            ..HostFacts::default()
        };
        let id = "bulwark-linux-automatic-security-updates";
        check(
            &apt(Some("1"), true),
            &[(
                id,
                "Pass: APT::Periodic::Unattended-Upgrade = 1; unattended-upgrades = installed; enabled \
                 systemd units = none of dnf-automatic.timer, dnf-automatic-install.timer, \
                 dnf5-automatic.timer",
            )],
        );
        check(
            &apt(Some("1"), false),
            &[(
                id,
                "Fail: APT::Periodic::Unattended-Upgrade = 1; unattended-upgrades = not installed; enabled \
                 systemd units = none of dnf-automatic.timer, dnf-automatic-install.timer, \
                 dnf5-automatic.timer",
            )],
        );
        let dnf = HostFacts {
            enabled_units: units(&["dnf-automatic-install.timer"]),
            ..HostFacts::default()
        };
        check(
            &dnf,
            &[(
                id,
                "Pass: enabled systemd units = dnf-automatic-install.timer",
            )],
        );
    }

    #[test]
    fn unit_checks() {
        let facts = HostFacts {
            enabled_units: units(&["systemd-timesyncd.service"]),
            ..HostFacts::default()
        };
        check(
            &facts,
            &[
                (
                    "bulwark-linux-auditd-enabled",
                    "Fail: enabled systemd units = none of auditd.service",
                ),
                (
                    "bulwark-linux-time-sync",
                    "Pass: enabled systemd units = systemd-timesyncd.service",
                ),
            ],
        );
    }

    #[test]
    fn account_checks() {
        let facts = HostFacts {
            login_defs: Some(LoginDefs {
                pass_max_days: Some(99999),
                ..LoginDefs::default()
            }),
            users: Some(vec![
                UserAccount {
                    name: "root".into(),
                    uid: 0,
                },
                UserAccount {
                    name: "toor".into(),
                    uid: 0,
                },
            ]),
            shadow: Some(vec![
                ShadowEntry {
                    name: "root".into(),
                    password: PasswordState::Set,
                },
                ShadowEntry {
                    name: "daemon".into(),
                    password: PasswordState::Locked,
                },
            ]),
            ..HostFacts::default()
        };
        check(
            &facts,
            &[
                (
                    "bulwark-linux-password-max-days",
                    "Fail: /etc/login.defs PASS_MAX_DAYS = 99999",
                ),
                (
                    "bulwark-linux-uid0-only-root",
                    "Fail: /etc/passwd UID 0 = toor",
                ),
                (
                    "bulwark-linux-empty-passwords",
                    "Pass: /etc/shadow = 2 accounts, none with an empty password",
                ),
            ],
        );
        let facts = HostFacts {
            login_defs: Some(LoginDefs::default()),
            shadow: Some(vec![ShadowEntry {
                name: "guest".into(),
                password: PasswordState::Empty,
            }]),
            ..HostFacts::default()
        };
        check(
            &facts,
            &[
                (
                    "bulwark-linux-password-max-days",
                    "Fail: /etc/login.defs PASS_MAX_DAYS = not set (default 99999)",
                ),
                (
                    "bulwark-linux-empty-passwords",
                    "Fail: /etc/shadow empty passwords = guest",
                ),
            ],
        );
    }

    #[test]
    fn file_permission_checks() {
        let mut file_modes = BTreeMap::new();
        file_modes.insert(
            "/etc/shadow".to_string(),
            FileMode {
                mode: 0o644,
                uid: 0,
                gid: 42,
            },
        );
        file_modes.insert(
            "/etc/passwd".to_string(),
            FileMode {
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
        );
        let facts = HostFacts {
            file_modes,
            path_dirs: Some(vec![
                PathDir {
                    path: "/usr/bin".into(),
                    mode: Some(0o755),
                },
                PathDir {
                    path: "/opt/tools".into(),
                    mode: Some(0o1777),
                },
                PathDir {
                    path: ".".into(),
                    mode: None,
                },
            ]),
            ..HostFacts::default()
        };
        check(
            &facts,
            &[
                (
                    "bulwark-linux-shadow-permissions",
                    "Fail: /etc/shadow = mode 0644, owner uid 0",
                ),
                (
                    "bulwark-linux-passwd-permissions",
                    "Pass: /etc/passwd = mode 0644, owner uid 0",
                ),
                (
                    "bulwark-linux-root-path-writable",
                    "Fail: /opt/tools = mode 1777; PATH entry = \".\"",
                ),
            ],
        );
    }

    #[test]
    fn listening_services_outside_loopback_fail() {
        let facts = HostFacts {
            listening: Some(vec![
                socket("0.0.0.0", 22),
                socket("127.0.0.1", 6379),
                socket("::", 23),
                socket("192.0.2.7", 5432),
            ]),
            ..HostFacts::default()
        };
        check(
            &facts,
            &[
                (
                    "bulwark-linux-telnet-listening",
                    "Fail: listening TCP socket = [::]:23",
                ),
                (
                    "bulwark-linux-ftp-listening",
                    "Pass: listening TCP sockets = none on port 21 outside loopback",
                ),
                (
                    "bulwark-linux-exposed-datastore",
                    "Fail: listening TCP socket = 192.0.2.7:5432",
                ),
            ],
        );
    }

    #[test]
    fn tmp_mount_checks_use_the_mount_in_effect() {
        let facts = HostFacts {
            mounts: Some(vec![
                mount("/tmp", "rw,nosuid,nodev,noexec"),
                mount("/tmp", "rw,nosuid"),
            ]),
            ..HostFacts::default()
        };
        check(
            &facts,
            &[
                (
                    "bulwark-linux-tmp-partition",
                    "Pass: /tmp mount = tmpfs (tmpfs)",
                ),
                (
                    "bulwark-linux-tmp-noexec",
                    "Fail: /tmp mount options = rw,nosuid",
                ),
            ],
        );
        let none = HostFacts {
            mounts: Some(vec![mount("/", "rw")]),
            ..HostFacts::default()
        };
        check(
            &none,
            &[
                (
                    "bulwark-linux-tmp-partition",
                    "Fail: /tmp mount = not a separate mount",
                ),
                (
                    "bulwark-linux-tmp-noexec",
                    "NotApplicable: /tmp mount = not a separate mount",
                ),
            ],
        );
    }

    #[test]
    fn encryption_and_core_dumps() {
        let facts = HostFacts {
            disk_encryption: Some(DiskEncryption {
                dm_crypt_devices: vec![],
                crypttab_volumes: vec!["sda3_crypt".into()],
            }),
            core_dump_limit: Some(CoreDumpLimit { hard: None }),
            ..HostFacts::default()
        };
        check(
            &facts,
            &[
                (
                    "bulwark-linux-disk-encryption",
                    "Pass: dm-crypt devices = none; /etc/crypttab volumes = sda3_crypt",
                ),
                (
                    "bulwark-linux-core-dump-limit",
                    "Fail: limits.conf * hard core = not set (unlimited)",
                ),
            ],
        );
    }
}
