//! The configuration assessment end to end: every Linux check's CIS/STIG mapping verified against
//! ComplianceAsCode's control files, real OpenSCAP results of a Debian 12 host checked against oscap's own
//! console output, facts collected from a temporary directory laid out like a host, and osquery rows
//! evaluated by the same checks.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use bulwark_core::config::{
    CheckResult, CheckSource, CheckStatus, ConfigCategory, HostFacts, ScoreParts, evaluate,
    linux_checks, secure_score,
};
use bulwark_formats::host::{self, Skipped};
use bulwark_formats::xccdf::{self, SSG_RULE_PREFIX};

const CONTROLS: &str = "compliance/complianceascode/complianceascode-controls-rules.tar.zst";
const RULES_INDEX: &str = "compliance/complianceascode/rules-index.tsv";
const OPENSCAP: &str = "compliance/openscap-debian12-host";

// ---- helpers -----------------------------------------------------------------------------------

/// Every member of the ComplianceAsCode archive whose path (after `content/`) starts with `prefix`.
fn archive_files(prefix: &str) -> Option<BTreeMap<String, String>> {
    let path = bulwark_testdata::shared_file(CONTROLS)?;
    let file = std::fs::File::open(&path).expect("open archive");
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(file).expect("zstd"));
    let mut files = BTreeMap::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let name = name.trim_start_matches("./");
        let name = name.strip_prefix("content/").unwrap_or(name).to_string();
        if name.starts_with(prefix) && name.ends_with(".yml") {
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("read member");
            files.insert(name, text);
        }
    }
    Some(files)
}

/// Control id → the rule ids it selects (without `var=value` selections), over nested controls.
fn controls_of(yaml: &serde_yaml::Value, out: &mut BTreeMap<String, BTreeSet<String>>) {
    let Some(controls) = yaml.get("controls").and_then(|c| c.as_sequence()) else {
        return;
    };
    for control in controls {
        let id = match control.get("id") {
            Some(serde_yaml::Value::String(s)) => s.clone(),
            Some(serde_yaml::Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        let rules = control
            .get("rules")
            .and_then(|r| r.as_sequence())
            .map(|rules| {
                rules
                    .iter()
                    .filter_map(|r| r.as_str())
                    .filter(|r| !r.contains('='))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        out.insert(id, rules);
        controls_of(control, out);
    }
}

fn xccdf_report(profile: &str) -> Option<xccdf::XccdfReport> {
    let path = bulwark_testdata::shared_file(&format!(
        "{OPENSCAP}/xccdf-results-debian12-host-{profile}.xml.zst"
    ))?;
    let bytes = zstd::decode_all(std::fs::File::open(&path).expect("open")).expect("zstd");
    assert!(xccdf::detect(&bytes));
    Some(xccdf::parse(&path.display().to_string(), &bytes).unwrap_or_else(|e| panic!("{e}")))
}

/// `(rule id, title, result)` of oscap's console output.
fn oscap_stdout(profile: &str) -> Option<Vec<(String, String, String)>> {
    let path = bulwark_testdata::shared_file(&format!("{OPENSCAP}/oscap-stdout-{profile}.txt"))?;
    let text = std::fs::read_to_string(path).expect("read stdout");
    let mut rows = Vec::new();
    let mut title = String::new();
    let mut rule = String::new();
    for line in text.lines() {
        // The console output of some runs carries carriage returns of oscap's progress display.
        let line = line.replace('\r', "");
        let line = line.as_str();
        if let Some(t) = line.strip_prefix("Title\t") {
            title = t.to_string();
        } else if let Some(r) = line.strip_prefix("Rule\t") {
            rule = r.to_string();
        } else if let Some(result) = line.strip_prefix("Result\t") {
            rows.push((rule.clone(), title.clone(), result.to_string()));
        }
    }
    Some(rows)
}

fn counts(results: &[CheckResult]) -> BTreeMap<CheckStatus, usize> {
    let mut counts = BTreeMap::new();
    for result in results {
        *counts.entry(result.status).or_default() += 1;
    }
    counts
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn status_of<'a>(results: &'a [CheckResult], id: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check_id == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
}

/// `check id → status` for the checks named in `expected`, compared as one table.
fn check(results: &[CheckResult], expected: &[(&str, CheckStatus)]) {
    let got: Vec<(&str, CheckStatus)> = expected
        .iter()
        .map(|(id, _)| (*id, status_of(results, id).status))
        .collect();
    assert_eq!(got, expected);
}

// ---- (a) the CIS mapping of every check ---------------------------------------------------------

#[test]
fn every_check_maps_to_a_real_control_and_rule() {
    let Some(files) = archive_files("controls/") else {
        return;
    };
    let Some(index) = bulwark_testdata::shared_file(RULES_INDEX) else {
        return;
    };
    let index = std::fs::read_to_string(index).expect("rules index");
    let known_rules: BTreeSet<&str> = index
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert!(known_rules.len() > 2000);
    let mut parsed: BTreeMap<&str, (String, BTreeMap<String, BTreeSet<String>>)> = BTreeMap::new();
    let mut checked = 0;
    for check in linux_checks() {
        let control = check.control.as_ref().expect("every check has a control");
        let (title, controls) = parsed.entry(control.file.as_ref()).or_insert_with(|| {
            let text = files
                .get(control.file.as_ref())
                .unwrap_or_else(|| panic!("{}: no control file {}", check.id, control.file));
            let yaml: serde_yaml::Value = serde_yaml::from_str(text).expect("control yaml");
            let mut controls = BTreeMap::new();
            controls_of(&yaml, &mut controls);
            let title = yaml["title"].as_str().unwrap_or_default().to_string();
            (title, controls)
        });
        let rules = controls.get(control.control.as_ref()).unwrap_or_else(|| {
            panic!(
                "{}: {} has no control {}",
                check.id, control.file, control.control
            )
        });
        // The benchmark's name agrees with the control file's title (CIS Debian 12, STIG Ubuntu 22.04).
        let words = ["CIS", "STIG", "Debian", "Ubuntu", "12", "13", "22.04"];
        for word in words {
            assert_eq!(
                control.benchmark.contains(word),
                title.contains(word),
                "{}: benchmark {:?} vs control file title {title:?}",
                check.id,
                control.benchmark
            );
        }
        match &check.rule {
            Some(rule) => {
                assert!(
                    rules.contains(rule.as_ref()),
                    "{}: control {} of {} selects {rules:?}, not {rule}",
                    check.id,
                    control.control,
                    control.file
                );
                assert!(
                    known_rules.contains(rule.as_ref()),
                    "{rule} not in rules-index"
                );
            }
            // Only manual controls (which select no rule) are mapped without one.
            None => assert!(rules.is_empty(), "{}: control selects {rules:?}", check.id),
        }
        checked += 1;
    }
    assert!(checked >= 20);
}

// ---- (b) OpenSCAP ------------------------------------------------------------------------------

#[test]
fn openscap_standard_profile_matches_oscap_output() {
    let Some(report) = xccdf_report("standard") else {
        return;
    };
    let Some(stdout) = oscap_stdout("standard") else {
        return;
    };
    assert_eq!(
        report.benchmark.as_deref(),
        Some("xccdf_org.ssgproject.content_benchmark_DEBIAN-11")
    );
    assert_eq!(report.test_results.len(), 1);
    let test = &report.test_results[0];
    assert_eq!(
        test.profile.as_deref(),
        Some("xccdf_org.ssgproject.content_profile_standard")
    );
    assert_eq!(test.target.as_deref(), Some("vm"));
    assert!(test.target_addresses.contains(&"192.0.2.2".to_string()));
    let identity = test.identity.as_ref().unwrap();
    assert_eq!(
        (identity.name.as_str(), identity.privileged),
        ("root", false)
    );
    assert_eq!(test.scores.len(), 1);
    assert_eq!(test.scores[0].system, "urn:xccdf:scoring:default");
    assert_eq!(test.scores[0].value, 75.0);
    assert_eq!(test.scores[0].maximum, Some(100.0));

    let counts = counts(&test.results);
    assert_eq!(
        counts,
        BTreeMap::from([
            (CheckStatus::Pass, 17),
            (CheckStatus::Fail, 1),
            (CheckStatus::NotApplicable, 26),
            (CheckStatus::NotSelected, 311),
        ])
    );
    let failing: Vec<&str> = test
        .results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .map(|r| r.check_id.as_str())
        .collect();
    assert_eq!(
        failing,
        ["xccdf_org.ssgproject.content_rule_file_permissions_systemmap"]
    );
    let systemmap = status_of(&test.results, failing[0]);
    assert_eq!(
        systemmap.title,
        "Verify that local System.map file (if exists) is readable only by root"
    );
    assert_eq!(systemmap.source, CheckSource::OpenScap);

    // Every rule oscap printed has the same title and result here (oscap prints no notselected rule).
    let ours: BTreeMap<&str, (&str, CheckStatus)> = test
        .results
        .iter()
        .map(|r| (r.check_id.as_str(), (r.title.as_str(), r.status)))
        .collect();
    assert_eq!(stdout.len(), 44);
    for (rule, title, result) in &stdout {
        let want = match result.as_str() {
            "pass" => CheckStatus::Pass,
            "fail" => CheckStatus::Fail,
            "notapplicable" => CheckStatus::NotApplicable,
            other => panic!("unexpected oscap result {other}"),
        };
        assert_eq!(
            ours.get(rule.as_str()),
            Some(&(title.as_str(), want)),
            "{rule}"
        );
    }

    // The rules carry the benchmark's text, and their ComplianceAsCode id.
    let rule = report
        .rules
        .iter()
        .find(|r| r.id == failing[0])
        .expect("rule definition");
    assert_eq!(rule.rule.as_deref(), Some("file_permissions_systemmap"));
    assert!(
        rule.description.contains("System.map"),
        "{}",
        rule.description
    );
    // The benchmark has no fix for this rule; the ASLR rule has an Ansible fix, which becomes the remediation.
    assert_eq!(rule.remediation, "");
    assert_eq!(rule.category, ConfigCategory::Os);
    let aslr = report
        .rules
        .iter()
        .find(|r| r.rule.as_deref() == Some("sysctl_kernel_randomize_va_space"))
        .expect("ASLR rule");
    assert!(
        aslr.remediation.contains("kernel.randomize_va_space"),
        "{}",
        aslr.remediation
    );
    assert_eq!(
        aslr.title,
        "Enable Randomized Layout of Virtual Address Space"
    );

    // Bulwark's score counts pass and fail only: 17 passing rules against one failing rule of unknown
    // severity (weight 5).
    let score = secure_score(&test.results);
    let passing: u64 = test
        .results
        .iter()
        .filter(|r| r.status == CheckStatus::Pass)
        .map(|r| u64::from(r.weight.get()))
        .sum();
    assert_eq!(systemmap.weight.get(), 5);
    assert_eq!(score, ScoreParts::new(passing, passing + 5));
    let categories: BTreeSet<ConfigCategory> = test.results.iter().map(|r| r.category).collect();
    assert!(categories.len() >= 4, "{categories:?}");
}

#[test]
fn openscap_anssi_profile_fails_two_rules() {
    let Some(report) = xccdf_report("anssi_np_nt28_restrictive") else {
        return;
    };
    let Some(stdout) = oscap_stdout("anssi_np_nt28_restrictive") else {
        return;
    };
    let test = &report.test_results[0];
    assert_eq!(
        counts(&test.results),
        BTreeMap::from([
            (CheckStatus::Pass, 20),
            (CheckStatus::Fail, 2),
            (CheckStatus::NotApplicable, 27),
            (CheckStatus::NotSelected, 306),
        ])
    );
    let failing: BTreeSet<&str> = test
        .results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .map(|r| r.check_id.trim_start_matches(SSG_RULE_PREFIX))
        .collect();
    assert_eq!(
        failing,
        BTreeSet::from(["apt_sources_list_official", "file_permissions_systemmap"])
    );
    let oscap_failing: BTreeSet<&str> = stdout
        .iter()
        .filter(|(_, _, result)| result == "fail")
        .map(|(rule, _, _)| rule.trim_start_matches(SSG_RULE_PREFIX))
        .collect();
    assert_eq!(failing, oscap_failing);
    assert_eq!(test.scores[0].value, 75.0);
}

#[test]
fn malformed_openscap_results_name_the_file_and_position() {
    let Some(path) = bulwark_testdata::shared_file(&format!(
        "{OPENSCAP}/xccdf-results-debian12-host-standard.xml.zst"
    )) else {
        return;
    };
    let bytes = zstd::decode_all(std::fs::File::open(&path).expect("open")).expect("zstd");
    let text = String::from_utf8(bytes).expect("utf-8");
    // Break the closing tag of the first rule-result's <result>.
    let at = text.find("<result>notselected</result>").expect("a result");
    let broken = format!(
        "{}<result>notselected</resutl>{}",
        &text[..at],
        &text[at + "<result>notselected</result>".len()..]
    );
    let line = text[..at].matches('\n').count() + 1;
    let err = xccdf::parse("standard.xml", broken.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("standard.xml: line {line}, column ")),
        "{err}"
    );
    // A file cut short ends inside an element.
    let cut = &text[..text.len() - 200];
    let err = xccdf::parse("cut.xml", cut.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cut.xml: line "), "{err}");
}

// ---- (a) facts collected from a host's files -----------------------------------------------------

/// A small Debian-like host: hardened in some places, not in others.
fn lay_out_host(root: &Path) {
    write(
        root,
        "/etc/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMaxAuthTries 3\nMatch User admin\n  PermitEmptyPasswords yes\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/50-hardening.conf",
        "permitrootlogin no\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/README",
        "PermitRootLogin yes\n",
    );
    let sysctl = [
        ("kernel.randomize_va_space", "2"),
        ("kernel.yama.ptrace_scope", "1"),
        ("fs.suid_dumpable", "2"),
        ("kernel.kptr_restrict", "0"),
        ("kernel.dmesg_restrict", "1"),
        ("fs.protected_symlinks", "1"),
        ("fs.protected_hardlinks", "1"),
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv4.conf.all.send_redirects", "0"),
        ("net.ipv4.conf.all.accept_redirects", "0"),
    ];
    for (key, value) in sysctl {
        write(root, &host::sysctl::proc_path(key), &format!("{value}\n"));
    }
    write(
        root,
        "/etc/login.defs",
        "PASS_MAX_DAYS 99999\nENV_SUPATH PATH=/usr/sbin:/usr/bin:/opt/shared\n",
    );
    std::fs::create_dir_all(root.join("usr/sbin")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("opt/shared")).unwrap();
    set_mode(&root.join("opt/shared"), 0o777);
    write(
        root,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n",
    );
    write(
        root,
        "/etc/shadow",
        "root:$y$j9T$abc:19000:0:99999:7:::\ndaemon:*:19000::::::\n",
    );
    set_mode(&root.join("etc/shadow"), 0o640);
    set_mode(&root.join("etc/passwd"), 0o644);
    write(
        root,
        "/proc/net/tcp",
        "  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A\n   1: 00000000:0015 00000000:0000 0A\n",
    );
    write(
        root,
        "/proc/self/mounts",
        "/dev/vda1 / ext4 rw 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n",
    );
    for (dir, unit) in [
        ("multi-user.target.wants", "ssh.service"),
        ("multi-user.target.wants", "auditd.service"),
        ("sysinit.target.wants", "systemd-timesyncd.service"),
        ("multi-user.target.wants", "nftables.service"),
    ] {
        write(root, &format!("/etc/systemd/system/{dir}/{unit}"), "");
    }
    write(
        root,
        "/etc/nftables.conf",
        "flush ruleset\ntable inet filter {\n}\n",
    );
    write(
        root,
        "/etc/apt/apt.conf.d/20auto-upgrades",
        "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n",
    );
    write(
        root,
        "/etc/apt/apt.conf.d/50unattended-upgrades",
        "// configuration\n",
    );
    write(
        root,
        "/sys/block/dm-0/dm/uuid",
        "CRYPT-LUKS2-abcdef-root_crypt\n",
    );
    write(root, "/sys/block/vda/size", "1000\n");
    write(root, "/etc/security/limits.conf", "* soft core 0\n");
    write(
        root,
        "/etc/security/limits.d/10-core.conf",
        "* hard core 0\n",
    );
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn facts_collected_from_a_host_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    lay_out_host(root);
    let (facts, skipped) = host::collect_facts(root);
    // Only what was not laid out is skipped: tcp_syncookies (and no tcp6 file means no IPv6 listener).
    let skipped: Vec<(&str, &str, &str)> = skipped
        .iter()
        .map(|s| (s.what.as_str(), s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [(
            "sysctl net.ipv4.tcp_syncookies",
            "/proc/sys/net/ipv4/tcp_syncookies",
            "not found"
        )]
    );
    assert_eq!(facts.os.as_ref().unwrap().id, "debian");
    let sshd = facts.sshd.as_ref().unwrap();
    assert_eq!(
        sshd.get("PermitRootLogin"),
        Some("no"),
        "the Include comes first"
    );
    assert_eq!(
        sshd.get("PermitEmptyPasswords"),
        None,
        "Match blocks are not global"
    );
    assert_eq!(facts.shadow.as_ref().unwrap().len(), 2);
    assert_eq!(facts.file_modes["/etc/shadow"].mode, 0o640);
    assert_eq!(
        facts.disk_encryption.as_ref().unwrap().dm_crypt_devices,
        ["dm-0"]
    );

    let results = evaluate(&facts);
    use CheckStatus::{Fail, NotCollected, Pass};
    check(
        &results,
        &[
            ("bulwark-linux-ssh-root-login", Pass),
            ("bulwark-linux-ssh-empty-passwords", Pass),
            ("bulwark-linux-ssh-max-auth-tries", Pass),
            ("bulwark-linux-firewall-active", Pass),
            ("bulwark-linux-automatic-security-updates", Pass),
            ("bulwark-linux-auditd-enabled", Pass),
            ("bulwark-linux-time-sync", Pass),
            ("bulwark-linux-aslr", Pass),
            ("bulwark-linux-suid-dumpable", Fail),
            ("bulwark-linux-core-dump-limit", Pass),
            ("bulwark-linux-kptr-restrict", Fail),
            ("bulwark-linux-ip-forward", Fail),
            ("bulwark-linux-tcp-syncookies", NotCollected),
            ("bulwark-linux-root-path-writable", Fail),
            ("bulwark-linux-password-max-days", Fail),
            ("bulwark-linux-empty-passwords", Pass),
            ("bulwark-linux-uid0-only-root", Pass),
            ("bulwark-linux-shadow-permissions", Pass),
            ("bulwark-linux-passwd-permissions", Pass),
            ("bulwark-linux-disk-encryption", Pass),
            ("bulwark-linux-telnet-listening", Pass),
            ("bulwark-linux-ftp-listening", Fail),
            ("bulwark-linux-tmp-partition", Pass),
            ("bulwark-linux-tmp-noexec", Fail),
        ],
    );
    assert_eq!(
        status_of(&results, "bulwark-linux-root-path-writable").evidence[0].item,
        "/opt/shared"
    );
    let score = secure_score(&results);
    assert!(score.possible > score.achieved && score.achieved > 0);
    // The facts travel to the server as JSON and come back the same.
    let json = serde_json::to_string(&facts).unwrap();
    assert_eq!(serde_json::from_str::<HostFacts>(&json).unwrap(), facts);
}

#[test]
fn an_empty_root_collects_nothing_and_fails_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (facts, skipped) = host::collect_facts(dir.path());
    let paths: BTreeSet<&str> = skipped.iter().map(|s| s.path.as_str()).collect();
    for path in [
        "/etc/os-release",
        "/etc/login.defs",
        "/etc/passwd",
        "/etc/shadow",
        "/proc/net/tcp",
        "/proc/self/mounts",
        "/etc/systemd/system",
        "/sys/block",
        "/proc/sys/kernel/randomize_va_space",
    ] {
        assert!(paths.contains(path), "{path} not skipped: {skipped:?}");
    }
    let results = evaluate(&facts);
    let failing: Vec<&str> = results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .map(|r| r.check_id.as_str())
        .collect();
    // Only facts that are real without files fail: no core dump limit, root's default PATH is fine.
    assert_eq!(failing, ["bulwark-linux-core-dump-limit"]);
    assert_eq!(
        status_of(&results, "bulwark-linux-ssh-root-login").status,
        CheckStatus::NotApplicable,
        "no sshd_config: no SSH server"
    );
}

#[test]
fn unreadable_files_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    lay_out_host(root);
    // A directory where /etc/shadow should be cannot be read, whoever runs the test.
    std::fs::remove_file(root.join("etc/shadow")).unwrap();
    std::fs::create_dir(root.join("etc/shadow")).unwrap();
    // A malformed file is skipped with the parse error.
    write(root, "/etc/passwd", "root:x:zero:0:root:/root:/bin/bash\n");
    let (facts, skipped) = host::collect_facts(root);
    assert_eq!(facts.shadow, None);
    assert_eq!(facts.users, None);
    let by_path: BTreeMap<&str, &Skipped> = skipped.iter().map(|s| (s.path.as_str(), s)).collect();
    assert_eq!(by_path["/etc/shadow"].what, "empty passwords");
    assert_eq!(
        by_path["/etc/passwd"].reason,
        "/etc/passwd: line 1: uid \"zero\" is not a number"
    );
    let results = evaluate(&facts);
    check(
        &results,
        &[
            ("bulwark-linux-empty-passwords", CheckStatus::NotCollected),
            ("bulwark-linux-uid0-only-root", CheckStatus::NotCollected),
        ],
    );
    // Unprivileged, /etc/shadow is unreadable: the reason says how to check it.
    let unprivileged = tempfile::tempdir().unwrap();
    lay_out_host(unprivileged.path());
    let shadow = unprivileged.path().join("etc/shadow");
    set_mode(&shadow, 0o000);
    let readable = std::fs::read(&shadow).is_ok(); // root reads any file
    let (facts, skipped) = host::collect_facts(unprivileged.path());
    if readable {
        assert!(facts.shadow.is_some());
    } else {
        assert_eq!(facts.shadow, None);
        assert!(skipped.contains(&Skipped {
            what: "empty passwords".into(),
            path: "/etc/shadow".into(),
            reason: "permission denied: run as root to check empty passwords".into(),
        }));
    }
}

// ---- (c) osquery -------------------------------------------------------------------------------

#[test]
fn osquery_rows_run_through_the_same_checks() {
    let rows = serde_json::json!({
        "system_controls": [
            {"name": "kernel.randomize_va_space", "current_value": "2"},
            {"name": "net.ipv4.tcp_syncookies", "current_value": "0"}
        ],
        "listening_ports": [
            {"port": "23", "protocol": "6", "family": "10", "address": "::"},
            {"port": "6379", "protocol": "6", "family": "2", "address": "127.0.0.1"}
        ],
        "mounts": [{"device": "/dev/vda1", "path": "/", "type": "ext4", "flags": "rw"}],
        "augeas": [
            {"node": "/files/etc/ssh/sshd_config/PermitRootLogin", "label": "PermitRootLogin", "value": "yes", "path": "/etc/ssh/sshd_config"}
        ]
    });
    let out = host::osquery::parse("osquery.json", rows.to_string().as_bytes()).unwrap();
    let results = evaluate(&out.facts);
    assert!(results.iter().all(|r| r.source == CheckSource::Osquery));
    use CheckStatus::{Fail, NotApplicable, NotCollected, Pass};
    check(
        &results,
        &[
            ("bulwark-linux-aslr", Pass),
            ("bulwark-linux-tcp-syncookies", Fail),
            ("bulwark-linux-telnet-listening", Fail),
            ("bulwark-linux-exposed-datastore", Pass),
            ("bulwark-linux-tmp-partition", Fail),
            ("bulwark-linux-tmp-noexec", NotApplicable),
            ("bulwark-linux-ssh-root-login", Fail),
            ("bulwark-linux-empty-passwords", NotCollected),
            ("bulwark-linux-firewall-active", NotCollected),
        ],
    );
}

// ---- docs ----------------------------------------------------------------------------------------

#[test]
fn docs_table_lists_every_check_as_the_catalog_does() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/secure-score.md");
    let doc = std::fs::read_to_string(&path).expect("docs/secure-score.md");
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| `bulwark-linux-"))
        .collect();
    assert_eq!(rows.len(), linux_checks().len());
    for (row, check) in rows.iter().zip(linux_checks()) {
        let control = check.control.as_ref().unwrap();
        let rule = check
            .rule
            .as_ref()
            .map_or("— (manual control)".to_string(), |r| format!("`{r}`"));
        let want = format!(
            "| `{}` | {} | {} | {} | {} | {rule} |",
            check.id,
            check.title,
            check.category,
            check.weight.get(),
            control
        );
        assert_eq!(*row, want);
    }
}
