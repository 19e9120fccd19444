//! The collector on temporary roots laid out like hosts (a Debian host with the real dpkg status of a
//! Debian 12 system, pip and OS-installed Python distributions, a global npm tree), and a structural smoke
//! test on this machine's `/`.

use std::fs;
use std::path::Path;

use bulwark_agent::{AgentReport, CollectOptions, PackageSource, collect};
use bulwark_formats::inventory::InventoryFormat;

const DPKG_STATUS: &str = "inventories/debian-dpkg/dpkg-status-debian12-bookworm.txt";

fn options() -> CollectOptions {
    CollectOptions {
        collected_at: chrono::DateTime::from_timestamp(1_717_243_200, 0).expect("valid time"),
    }
}

/// Writes `text` at `root/relative`, creating the directories.
fn write(root: &Path, relative: &str, text: impl AsRef<[u8]>) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("parent")).expect("create directories");
    fs::write(path, text).expect("write");
}

fn metadata(name: &str, version: &str) -> String {
    format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n\nLong text.\n"
    )
}

/// Renders one inventory: `source path format`, then `  package` and `  note` lines.
fn render_inventory(report: &AgentReport, source: PackageSource) -> Vec<String> {
    let mut out = Vec::new();
    for inventory in report.inventories.iter().filter(|i| i.source == source) {
        out.push(format!(
            "{} {} {}",
            inventory.source, inventory.path, inventory.format
        ));
        for p in &inventory.packages {
            out.push(format!(
                "  {} {} {}",
                p.ecosystem.ecosystem, p.name, p.version
            ));
        }
        for n in &inventory.notes {
            out.push(format!("  note {}: {}", n.location, n.message));
        }
    }
    out
}

/// A Debian 12 host: hostname, os-release, kernel, the dpkg status, Python in both the dpkg-managed
/// `/usr/lib/python3/dist-packages` and pip's `/usr/local/lib/python3.11/dist-packages`, and a global npm
/// root. Returns `None` (skipping) when the shared data is absent.
fn debian_host(root: &Path) -> Option<usize> {
    let status = fs::read(bulwark_testdata::shared_file(DPKG_STATUS)?).expect("read dpkg status");
    let expected_dpkg = InventoryFormat::DpkgStatus
        .parse("status", &status)
        .expect("the shared dpkg status parses")
        .packages
        .len();
    write(root, "var/lib/dpkg/status", &status);
    write(root, "etc/hostname", "deb-test\n");
    write(
        root,
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    );
    write(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");

    // Installed by dpkg (listed in python3-yaml's file list): reported as the Debian package only.
    let debian = "usr/lib/python3/dist-packages";
    write(
        root,
        &format!("{debian}/PyYAML-6.0.dist-info/METADATA"),
        metadata("PyYAML", "6.0"),
    );
    write(
        root,
        &format!("{debian}/cryptography.egg-info/PKG-INFO"),
        metadata("cryptography", "38.0.4"),
    );
    write(
        root,
        "var/lib/dpkg/info/python3-yaml.list",
        format!(
            "/.\n/usr\n/{debian}/PyYAML-6.0.dist-info\n/{debian}/PyYAML-6.0.dist-info/METADATA\n"
        ),
    );
    write(
        root,
        "var/lib/dpkg/info/python3-cryptography.list",
        format!("/{debian}/cryptography.egg-info\n/{debian}/cryptography.egg-info/PKG-INFO\n"),
    );
    // Installed by pip: a wheel, a setuptools egg-info directory, a distutils egg-info file, a broken one,
    // and a directory that is not a distribution.
    let local = "usr/local/lib/python3.11/dist-packages";
    write(
        root,
        &format!("{local}/requests-2.31.0.dist-info/METADATA"),
        metadata("requests", "2.31.0"),
    );
    write(
        root,
        &format!("{local}/requests-2.31.0.dist-info/INSTALLER"),
        "pip\n",
    );
    write(
        root,
        &format!("{local}/six.egg-info/PKG-INFO"),
        metadata("six", "1.16.0"),
    );
    write(
        root,
        &format!("{local}/crcmod-1.7.egg-info"),
        metadata("crcmod", "1.7"),
    );
    write(
        root,
        &format!("{local}/broken-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nVersion: 1.0\n",
    );
    write(root, &format!("{local}/requests/__init__.py"), "");

    // A global npm root: a package with nested dependencies, a scoped one, npm's bookkeeping, a link.
    let npm = "usr/local/lib/node_modules";
    write(
        root,
        &format!("{npm}/npm/package.json"),
        r#"{"name": "npm", "version": "10.8.2"}"#,
    );
    write(
        root,
        &format!("{npm}/npm/node_modules/abbrev/package.json"),
        r#"{"name": "abbrev", "version": "2.0.0"}"#,
    );
    write(
        root,
        &format!("{npm}/npm/node_modules/@npmcli/arborist/package.json"),
        r#"{"name": "@npmcli/arborist", "version": "7.5.4"}"#,
    );
    write(
        root,
        &format!("{npm}/@vue/cli/package.json"),
        r#"{"name": "@vue/cli", "version": "5.0.8"}"#,
    );
    write(root, &format!("{npm}/.package-lock.json"), "{}");
    write(root, &format!("{npm}/.bin/npm"), "");
    write(
        root,
        &format!("{npm}/noversion/package.json"),
        r#"{"name": "noversion"}"#,
    );
    std::os::unix::fs::symlink("/home/dev/tool", root.join(npm).join("tool")).expect("symlink");
    Some(expected_dpkg)
}

#[test]
fn a_debian_host() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let Some(expected_dpkg) = debian_host(dir.path()) else {
        return;
    };
    let report = collect(dir.path(), &options());

    assert_eq!(report.agent_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        report.collected_at.to_rfc3339(),
        "2024-06-01T12:00:00+00:00"
    );
    assert_eq!(report.device.name, "deb-test");
    assert_eq!(report.device.os.as_deref(), Some("debian 12"));
    assert_eq!(
        report.device.os_name.as_deref(),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    assert_eq!(report.device.kernel.as_deref(), Some("6.1.0-18-amd64"));
    // A temporary root is not the running system: its architecture is not the agent's to say.
    assert_eq!(report.device.architecture, None);

    let dpkg: Vec<_> = report
        .inventories
        .iter()
        .filter(|i| i.source == PackageSource::Dpkg)
        .collect();
    assert_eq!(dpkg.len(), 1);
    assert_eq!(dpkg[0].path, "/var/lib/dpkg/status");
    assert_eq!(dpkg[0].format, "dpkg-status");
    assert_eq!(dpkg[0].packages.len(), expected_dpkg);
    assert!(expected_dpkg > 100, "{expected_dpkg}");

    assert_eq!(
        render_inventory(&report, PackageSource::Python),
        [
            "python /usr/lib/python3/dist-packages python-metadata",
            "  note /usr/lib/python3/dist-packages: 2 distributions installed by dpkg left out: the dpkg \
             packages that installed them are reported, with their distribution's fixes",
            "python /usr/local/lib/python3.11/dist-packages python-metadata",
            "  PyPI crcmod 1.7",
            "  PyPI requests 2.31.0",
            "  PyPI six 1.16.0",
            "  note /usr/local/lib/python3.11/dist-packages/broken-1.0.dist-info/METADATA: headers: no \
             Name: header (not the metadata of a Python distribution)",
        ]
    );
    assert_eq!(
        render_inventory(&report, PackageSource::Npm),
        [
            "npm /usr/local/lib/node_modules npm-package-json",
            "  npm @vue/cli 5.0.8",
            "  npm npm 10.8.2",
            "  npm @npmcli/arborist 7.5.4",
            "  npm abbrev 2.0.0",
            "  note /usr/local/lib/node_modules/noversion/package.json: $.version: not assessable: \
             noversion has no version (not a registry release)",
            "  note /usr/local/lib/node_modules/tool: not assessed: links to the local folder \
             /home/dev/tool (npm link), not a registry package",
        ]
    );

    let skipped: Vec<String> = report
        .skipped
        .iter()
        .filter(|s| {
            ["dpkg", "apk", "rpm", "python", "npm", "hostname", "kernel"]
                .contains(&s.source.as_str())
        })
        .map(|s| format!("{} {}: {}", s.source, s.path, s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            "apk /lib/apk/db/installed: not present",
            "rpm /var/lib/rpm: not present",
            "npm /usr/lib/node_modules: not present",
        ]
    );
    // The configuration facts are read from the same root.
    let facts = report.facts.as_ref().expect("facts");
    assert_eq!(facts.os.as_ref().map(|os| os.id.as_str()), Some("debian"));
}

#[test]
fn an_empty_root_yields_a_report_that_says_what_it_skipped() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let report = collect(dir.path(), &options());
    assert!(report.inventories.is_empty(), "{:?}", report.inventories);
    let packages: Vec<String> = report
        .skipped
        .iter()
        .filter(|s| ["dpkg", "apk", "rpm", "python", "npm"].contains(&s.source.as_str()))
        .map(|s| format!("{} {}: {}", s.source, s.path, s.reason))
        .collect();
    assert_eq!(
        packages,
        [
            "dpkg /var/lib/dpkg/status: not present",
            "apk /lib/apk/db/installed: not present",
            "rpm /var/lib/rpm: not present",
            "python /usr/{lib,lib64,local/lib,local/lib64}/python3*/{site,dist}-packages: not present",
            "npm /usr/lib/node_modules: not present",
            "npm /usr/local/lib/node_modules: not present",
        ]
    );
}

#[test]
fn an_rpm_database_under_another_root_is_not_queried() {
    let dir = tempfile::tempdir().expect("temporary directory");
    write(dir.path(), "var/lib/rpm/rpmdb.sqlite", "not really");
    let report = collect(dir.path(), &options());
    let rpm: Vec<String> = report
        .skipped
        .iter()
        .filter(|s| s.source == "rpm")
        .map(|s| format!("{}: {}", s.path, s.reason))
        .collect();
    assert_eq!(
        rpm,
        [
            "/var/lib/rpm: an rpm database is present, but rpm is queried only when collecting the running \
          system (root /)"
        ]
    );
}

#[test]
fn an_alpine_host_with_apk_owned_python() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    write(root, "etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
    write(
        root,
        "lib/apk/db/installed",
        "C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\n\n\
         P:py3-six\nV:1.16.0-r9\nA:noarch\no:py3-six\n\
         F:usr/lib/python3.11/site-packages/six-1.16.0.dist-info\nR:METADATA\nR:RECORD\n\n",
    );
    let site = "usr/lib/python3.11/site-packages";
    write(
        root,
        &format!("{site}/six-1.16.0.dist-info/METADATA"),
        metadata("six", "1.16.0"),
    );
    write(
        root,
        &format!("{site}/Flask-3.0.0.dist-info/METADATA"),
        metadata("Flask", "3.0.0"),
    );
    // Fedora and RHEL mark the distributions rpm installed.
    write(
        root,
        &format!("{site}/dnf-4.14.0.dist-info/METADATA"),
        metadata("dnf", "4.14.0"),
    );
    write(
        root,
        &format!("{site}/dnf-4.14.0.dist-info/INSTALLER"),
        "rpm\n",
    );
    let report = collect(root, &options());
    assert_eq!(report.device.os.as_deref(), Some("alpine 3.19.1"));
    let apk = report
        .inventories
        .iter()
        .find(|i| i.source == PackageSource::Apk)
        .expect("apk inventory");
    let names: Vec<&str> = apk.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["musl", "py3-six"]);
    assert_eq!(
        render_inventory(&report, PackageSource::Python),
        [
            "python /usr/lib/python3.11/site-packages python-metadata",
            "  PyPI Flask 3.0.0",
            "  note /usr/lib/python3.11/site-packages: 1 distribution installed by apk left out: the apk \
             packages that installed them are reported, with their distribution's fixes",
            "  note /usr/lib/python3.11/site-packages: 1 distribution installed by rpm left out: the rpm \
             packages that installed them are reported, with their distribution's fixes",
        ]
    );
}

/// This machine's own `/`: only what holds on any Linux host is asserted.
#[test]
fn the_running_system() {
    let report = collect(Path::new("/"), &CollectOptions::now());
    assert!(!report.device.name.is_empty(), "{:?}", report.device);
    assert!(report.device.kernel.is_some(), "{:?}", report.device);
    assert_eq!(
        report.device.architecture.as_deref(),
        Some(std::env::consts::ARCH)
    );
    for inventory in &report.inventories {
        assert!(inventory.path.starts_with('/'), "{}", inventory.path);
        assert!(!inventory.format.is_empty());
    }
    for skipped in &report.skipped {
        assert!(!skipped.reason.is_empty(), "{skipped:?}");
    }
    let json = serde_json::to_string(&report).expect("serializes");
    let back: AgentReport = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, report);
}
