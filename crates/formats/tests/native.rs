//! Tests of the native inventory parsers (dpkg status, rpm -qa, apk installed, Cargo.lock, package-lock.json,
//! requirements.txt, go.mod/go.sum, osquery results): real files from `../shared/data` checked against
//! independent oracles, and small malformed and hostile inputs written inline.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use bulwark_core::{Ecosystem, InstalledPackage, Inventory};
use bulwark_formats::inventory::{self, InventoryFormat};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

/// The formats this file tests.
const NATIVE_FORMATS: [InventoryFormat; 9] = [
    InventoryFormat::DpkgStatus,
    InventoryFormat::RpmQa,
    InventoryFormat::ApkInstalled,
    InventoryFormat::CargoLock,
    InventoryFormat::PackageLock,
    InventoryFormat::Requirements,
    InventoryFormat::GoMod,
    InventoryFormat::GoSum,
    InventoryFormat::Osquery,
];

fn parse(format: InventoryFormat, input: &str) -> Inventory {
    parse_bytes(format, "input", input.as_bytes())
}

fn parse_bytes(format: InventoryFormat, file: &str, bytes: &[u8]) -> Inventory {
    format.parse(file, bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(format: InventoryFormat, input: &[u8]) -> String {
    match format.parse("input", input) {
        Ok(inventory) => panic!("expected an error, got {}", render(&inventory)),
        Err(e) => e.to_string(),
    }
}

/// One line per package (ecosystem, name, version, source, purl) and per note.
fn render(inventory: &Inventory) -> String {
    let mut out = String::new();
    for p in &inventory.packages {
        out.push_str(&format!("{} {} {}", p.ecosystem, p.name, p.version));
        if let Some(source) = &p.source_name {
            out.push_str(&format!(" src={source}"));
        }
        if let Some(version) = &p.source_version {
            out.push_str(&format!(" srcver={version}"));
        }
        if let Some(purl) = &p.purl {
            out.push_str(&format!(" {purl}"));
        }
        out.push('\n');
    }
    for note in &inventory.notes {
        out.push_str(&format!("note {}: {}\n", note.location, note.message));
    }
    out
}

/// Parses `input` and compares the rendering with `expected` (leading indentation of `expected` ignored).
fn check(format: InventoryFormat, input: &str, expected: &str) {
    let got = render(&parse(format, input));
    let expected: String = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        got, expected,
        "\n--- got ---\n{got}--- expected ---\n{expected}"
    );
}

/// Checks that parsing fails with an error containing every one of `parts`.
fn check_err(format: InventoryFormat, input: &[u8], parts: &[&str]) {
    let message = parse_err(format, input);
    for part in parts {
        assert!(
            message.contains(part),
            "error {message:?} does not contain {part:?}"
        );
    }
}

fn shared(relative: &str) -> Option<Vec<u8>> {
    bulwark_testdata::shared_file(relative).map(|p| std::fs::read(p).expect("read shared file"))
}

/// Every regular file in a `.tar.zst` archive under the shared data, with its path.
fn archive_files(relative: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let path = bulwark_testdata::shared_file(relative)?;
    let decoder =
        zstd::stream::read::Decoder::new(std::fs::File::open(path).expect("open")).expect("zstd");
    let mut archive = tar::Archive::new(decoder);
    let mut files = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read member");
        files.push((name, bytes));
    }
    Some(files)
}

fn qualifier<'a>(package: &'a InstalledPackage, key: &str) -> Option<&'a str> {
    let purl = package.purl.as_deref()?;
    let query = purl.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

// ---------------------------------------------------------------------------------------------------------
// dpkg
// ---------------------------------------------------------------------------------------------------------

#[test]
fn dpkg_status_of_a_real_debian_12_machine_matches_dpkg_query() {
    let Some(status) = shared("inventories/debian-dpkg/dpkg-status-debian12-bookworm.txt") else {
        return;
    };
    let Some(tsv) = shared("inventories/debian-dpkg/dpkg-query-packages.tsv") else {
        return;
    };
    let inventory = parse_bytes(InventoryFormat::DpkgStatus, "status", &status);
    assert_eq!(inventory.format, "dpkg-status");
    assert_eq!(inventory.packages.len(), 707);
    assert!(inventory.notes.is_empty(), "{:?}", inventory.notes);

    // dpkg-query's ${source:Package} and ${source:Version} are what Debian advisories are keyed on.
    let expected: BTreeSet<(String, String, String, String, String)> = String::from_utf8(tsv)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].to_string(),
                f[3].to_string(),
                f[4].to_string(),
            )
        })
        .collect();
    let got: BTreeSet<(String, String, String, String, String)> = inventory
        .packages
        .iter()
        .map(|p| {
            assert_eq!(p.ecosystem.ecosystem, Ecosystem::Debian);
            assert_eq!(p.ecosystem.release, None);
            (
                p.name.clone(),
                p.version.clone(),
                qualifier(p, "arch").expect("arch in purl").to_string(),
                p.advisory_name().to_string(),
                p.advisory_version().to_string(),
            )
        })
        .collect();
    assert_eq!(expected.len(), 707);
    assert_eq!(got, expected);

    let libc = inventory
        .packages
        .iter()
        .find(|p| p.name == "libc6")
        .unwrap();
    assert_eq!(libc.version, "2.36-9+deb12u14");
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    assert_eq!(
        libc.purl.as_deref(),
        Some("pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&upstream=glibc")
    );
    let ssh = inventory
        .packages
        .iter()
        .find(|p| p.name == "openssh-client")
        .unwrap();
    assert_eq!(
        (ssh.version.as_str(), ssh.advisory_name()),
        ("1:9.2p1-2+deb12u6", "openssh")
    );
}

/// Writes trivy's view of a Debian/Ubuntu image back as a dpkg status file.
fn golden_to_status(golden: &[Value]) -> (String, Vec<(String, String, String, String)>) {
    let mut status = String::new();
    let mut expected = Vec::new();
    let evr = |p: &Value, e: &str, v: &str, r: &str| {
        let mut out = String::new();
        if let Some(epoch) = p[e].as_u64().filter(|e| *e != 0) {
            out.push_str(&format!("{epoch}:"));
        }
        out.push_str(p[v].as_str().unwrap());
        if let Some(release) = p[r].as_str().filter(|r| !r.is_empty()) {
            out.push_str(&format!("-{release}"));
        }
        out
    };
    for p in golden {
        let name = p["Name"].as_str().unwrap();
        let version = evr(p, "Epoch", "Version", "Release");
        let source_name = p["SrcName"].as_str().unwrap_or(name);
        let source_version = evr(p, "SrcEpoch", "SrcVersion", "SrcRelease");
        status.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nPriority: optional\n"
        ));
        if source_name != name || source_version != version {
            if source_version == version {
                status.push_str(&format!("Source: {source_name}\n"));
            } else {
                status.push_str(&format!("Source: {source_name} ({source_version})\n"));
            }
        }
        status.push_str(&format!(
            "Version: {version}\nArchitecture: {}\nDescription: {name}\n with a continuation line\n .\n\n",
            p["Arch"].as_str().unwrap_or("amd64")
        ));
        expected.push((
            name.to_string(),
            version,
            source_name.to_string(),
            source_version,
        ));
    }
    (status, expected)
}

#[test]
fn dpkg_status_rebuilt_from_trivy_debian_and_ubuntu_goldens() {
    for image in ["debian-buster", "ubuntu-18.04"] {
        let Some(golden) = bulwark_testdata::archive_member(
            "inventories/trivy-image-goldens/trivy-image-packages.tar.zst",
            &format!("goldens/{image}.json.golden"),
        ) else {
            return;
        };
        let golden: Vec<Value> = serde_json::from_slice(&golden).unwrap();
        let (status, expected) = golden_to_status(&golden);
        let inventory = parse(InventoryFormat::DpkgStatus, &status);
        let got: Vec<(String, String, String, String)> = inventory
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.advisory_name().to_string(),
                    p.advisory_version().to_string(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{image}");
        // Epochs and differing source versions are the cases that matter: make sure the goldens have them.
        assert!(
            got.iter().any(|(_, v, _, sv)| v.contains(':') && v != sv),
            "{image}"
        );
    }
}

#[test]
fn dpkg_reports_installed_packages_with_their_source() {
    check(
        InventoryFormat::DpkgStatus,
        "Package: libssl3\r\nStatus: install ok installed\r\nArchitecture: amd64\r\nSource: openssl\r\n\
         Version: 3.0.19-1~deb12u2\r\nDescription: SSL\r\n shared libraries\r\n\r\n\
         Package: bsdutils\nStatus: hold ok installed\nArchitecture: amd64\nSource: util-linux (2.38.1-5)\n\
         Version: 1:2.38.1-5+deb12u3\n\n\
         Package: libc6\nStatus: install ok installed\nArchitecture: i386\nSource: glibc\nVersion: 2.36-9\n\n\
         Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9\n\n\
         Package: oldpkg\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
         Package: gone\nStatus: purge ok not-installed\n\n\
         Package: halfway\nStatus: install reinstreq half-configured\nVersion: 2.0\n\n\
         Package: leaving\nStatus: deinstall ok installed\nVersion: 3.0\n\n\
         package: lower-case-fields\nstatus: install ok installed\nversion: 4.0",
        "Debian libssl3 3.0.19-1~deb12u2 src=openssl pkg:deb/debian/libssl3@3.0.19-1~deb12u2?arch=amd64&upstream=openssl
         Debian bsdutils 1:2.38.1-5+deb12u3 src=util-linux srcver=2.38.1-5 pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&upstream=util-linux%402.38.1-5
         Debian libc6 2.36-9 src=glibc pkg:deb/debian/libc6@2.36-9?arch=i386&upstream=glibc
         Debian libc6 2.36-9 src=glibc pkg:deb/debian/libc6@2.36-9?arch=amd64&upstream=glibc
         Debian leaving 3.0 pkg:deb/debian/leaving@3.0
         Debian lower-case-fields 4.0 pkg:deb/debian/lower-case-fields@4.0
         note line 35: not assessed: halfway is not fully installed (Status: install reinstreq half-configured)",
    );
    // A status.d file of a distroless image has no Status field: the package is installed.
    check(
        InventoryFormat::DpkgStatus,
        "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        "Debian tzdata 2024a-0+deb12u1 pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all",
    );
}

#[test]
fn dpkg_rejects_malformed_and_hostile_input() {
    let dpkg = InventoryFormat::DpkgStatus;
    check_err(
        dpkg,
        b"Status: install ok installed\nVersion: 1\n",
        &["input: line 1:", "no Package field"],
    );
    check_err(
        dpkg,
        b"Package: a\nStatus: install ok installed\n",
        &["line 1", "has no Version"],
    );
    check_err(
        dpkg,
        b"Package: a\nStatus: installed\nVersion: 1\n",
        &["line 2", "three words"],
    );
    check_err(
        dpkg,
        b" continuation\nPackage: a\n",
        &["line 1", "continuation"],
    );
    check_err(
        dpkg,
        b"Package: a\nno colon here\n",
        &["line 2", "Field: value"],
    );
    check_err(
        dpkg,
        b"Package: a\nPackage: b\n",
        &["line 2", "second Package"],
    );
    check_err(
        dpkg,
        b"Package: a b\nVersion: 1\n",
        &["line 1", "not a valid Debian package name"],
    );
    check_err(
        dpkg,
        b"Package: a\nStatus: install ok installed\nSource: src (1.0\nVersion: 1\n",
        &["line 3", "not closed"],
    );
    let huge = format!("Package: {}\nVersion: 1\n", "a".repeat(1 << 20));
    check_err(dpkg, huge.as_bytes(), &["line 1", "bytes long"]);
    // Truncated in the middle of a stanza: the part read is still a valid stanza or a clear error.
    let truncated = "Package: a\nStatus: install ok installed\nVersion: 1.0\n\nPackage: b\nStatus: install ok inst";
    check_err(
        dpkg,
        truncated.as_bytes(),
        &["line 6", "dpkg package state"],
    );
    check_err(
        dpkg,
        b"Package: a\nVersion: 1.0\xff\n",
        &["line 2", "not a Debian version"],
    );
    // Invalid UTF-8 in a description does not matter.
    let mut latin1 =
        b"Package: a\nStatus: install ok installed\nVersion: 1\nDescription: caf".to_vec();
    latin1.extend_from_slice(b"\xe9\n");
    assert_eq!(parse_bytes(dpkg, "x", &latin1).packages.len(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// rpm
// ---------------------------------------------------------------------------------------------------------

/// One installed RPM: name, epoch, version, release, architecture.
type QaRow = (String, u64, String, String, String);

/// The AlmaLinux way of writing an RPM version: no `0:` epoch.
fn almalinux_evr(epoch: u64, version: &str, release: &str) -> String {
    if epoch == 0 {
        format!("{version}-{release}")
    } else {
        format!("{epoch}:{version}-{release}")
    }
}

/// Checks an `rpm -qa` text built from real package lists: every line comes back with the right version.
fn check_qa(label: &str, rows: &[QaRow]) -> Inventory {
    let qa: String = rows
        .iter()
        .map(|(n, e, v, r, a)| format!("{n} {e}:{v}-{r} {a}\n"))
        .collect();
    assert_eq!(
        inventory::detect(qa.as_bytes()),
        Some(InventoryFormat::RpmQa),
        "{label}"
    );
    let inventory = parse_bytes(InventoryFormat::RpmQa, label, qa.as_bytes());
    let expected: Vec<(String, String, String)> = rows
        .iter()
        .filter(|(n, ..)| n != "gpg-pubkey")
        .map(|(n, e, v, r, a)| (n.clone(), almalinux_evr(*e, v, r), a.clone()))
        .collect();
    let got: Vec<(String, String, String)> = inventory
        .packages
        .iter()
        .map(|p| {
            assert_eq!(p.ecosystem.ecosystem, Ecosystem::RedHat);
            assert!(
                p.purl.as_deref().unwrap().starts_with("pkg:rpm/redhat/"),
                "{label}"
            );
            (
                p.name.clone(),
                p.version.clone(),
                qualifier(p, "arch").unwrap().to_string(),
            )
        })
        .collect();
    // Duplicates (same NEVRA listed twice) are removed by the dispatcher; compare as sets then.
    let expected_set: BTreeSet<_> = expected.iter().cloned().collect();
    assert_eq!(
        got.iter().cloned().collect::<BTreeSet<_>>(),
        expected_set,
        "{label}"
    );
    assert_eq!(got.len(), expected_set.len(), "{label}");
    let keys = rows.iter().filter(|(n, ..)| n == "gpg-pubkey").count();
    assert_eq!(
        inventory
            .notes
            .iter()
            .filter(|n| n.message.contains("gpg-pubkey"))
            .count(),
        keys,
        "{label}"
    );
    inventory
}

#[test]
fn rpm_lists_rebuilt_from_trivy_goldens() {
    let Some(files) = archive_files("inventories/trivy-image-goldens/trivy-image-packages.tar.zst")
    else {
        return;
    };
    let mut images = 0;
    let mut epochs = 0;
    for (name, bytes) in &files {
        let Some(image) = name
            .strip_prefix("goldens/")
            .and_then(|n| n.strip_suffix(".json.golden"))
        else {
            continue;
        };
        let golden: Vec<Value> = serde_json::from_slice(bytes).unwrap();
        // RPM images are the ones whose packages have a Release and no dpkg/apk analyser.
        let is_rpm = [
            "ubi-7",
            "centos-6",
            "amazon-2",
            "fedora-35",
            "oraclelinux-8-slim",
            "photon-30",
        ]
        .contains(&image)
            || image.starts_with("opensuse")
            || image.starts_with("suse");
        if !is_rpm {
            continue;
        }
        let rows: Vec<QaRow> = golden
            .iter()
            .map(|p| {
                (
                    p["Name"].as_str().unwrap().to_string(),
                    p["Epoch"].as_u64().unwrap_or(0),
                    p["Version"].as_str().unwrap().to_string(),
                    p["Release"].as_str().unwrap().to_string(),
                    p["Arch"]
                        .as_str()
                        .filter(|a| !a.is_empty())
                        .unwrap_or("noarch")
                        .to_string(),
                )
            })
            .collect();
        epochs += rows.iter().filter(|r| r.1 != 0).count();
        check_qa(image, &rows);
        images += 1;
    }
    assert_eq!(images, 9);
    assert!(
        epochs > 20,
        "the goldens have packages with an epoch: {epochs}"
    );
}

/// The rpm manifests of the Red Hat container catalog for ubi8/ubi9 (txtar sections), as qa rows.
fn catalog_manifests() -> Option<Vec<(String, Vec<QaRow>)>> {
    let mut manifests = Vec::new();
    for release in ["ubi8", "ubi9"] {
        let txtar = bulwark_testdata::archive_member(
            "inventories/rhel-ubi-claircore/claircore-inventories.tar.zst",
            &format!("rpm/testdata/package/{release}_ubi.txtar"),
        )?;
        let txtar = String::from_utf8(txtar).unwrap();
        let mut lines = txtar.lines();
        while let Some(line) = lines.next() {
            if !(line.starts_with("-- ") && line.ends_with("/rpm-manifest --")) {
                continue;
            }
            let manifest: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
            let rows = manifest["rpms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    // Epoch is set in the spec file, so the binary's epoch is the source RPM's.
                    let srpm = r["srpm_nevra"].as_str().unwrap();
                    let epoch = srpm
                        .rsplit_once(':')
                        .unwrap()
                        .0
                        .rsplit_once('-')
                        .unwrap()
                        .1
                        .parse()
                        .unwrap();
                    (
                        r["name"].as_str().unwrap().to_string(),
                        epoch,
                        r["version"].as_str().unwrap().to_string(),
                        r["release"].as_str().unwrap().to_string(),
                        r["architecture"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            manifests.push((format!("{release} {line}"), rows));
        }
    }
    Some(manifests)
}

#[test]
fn rpm_lists_rebuilt_from_red_hat_catalog_manifests() {
    let Some(manifests) = catalog_manifests() else {
        return;
    };
    assert_eq!(manifests.len(), 8);
    for (label, rows) in &manifests {
        assert!(rows.len() > 50, "{label}");
        check_qa(label, rows);
    }
}

#[test]
fn rpm_versions_are_written_like_almalinux_advisories() {
    let Some(manifests) = catalog_manifests() else {
        return;
    };
    let Some(advisories) = archive_files("advisories/almalinux/almalinux-osv.tar.zst") else {
        return;
    };
    // For every package named in an AlmaLinux 9 advisory: does a fixed version carry an epoch prefix?
    let mut forms: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, bytes) in &advisories {
        if !name.contains("/almalinux9/") || !name.ends_with(".json") {
            continue;
        }
        let advisory: Value = serde_json::from_slice(bytes).unwrap();
        for affected in advisory["affected"].as_array().into_iter().flatten() {
            let package = affected["package"]["name"].as_str().unwrap().to_string();
            for range in affected["ranges"].as_array().into_iter().flatten() {
                for event in range["events"].as_array().into_iter().flatten() {
                    if let Some(fixed) = event["fixed"].as_str() {
                        let epoch = fixed.split_once(':').map_or("", |(e, _)| e).to_string();
                        forms.entry(package.clone()).or_default().insert(epoch);
                    }
                }
            }
        }
    }
    assert!(
        forms.values().flatten().all(|e| e != "0"),
        "AlmaLinux never writes a 0: epoch"
    );
    let mut compared = 0;
    let mut with_epoch = 0;
    for (label, rows) in manifests.iter().filter(|(l, _)| l.starts_with("ubi9")) {
        let inventory = check_qa(label, rows);
        for package in &inventory.packages {
            let Some(advisory_forms) = forms.get(&package.name) else {
                continue;
            };
            let ours = package
                .version
                .split_once(':')
                .map_or("", |(e, _)| e)
                .to_string();
            assert!(
                advisory_forms.contains(&ours),
                "{label}: {} {} vs {advisory_forms:?}",
                package.name,
                package.version
            );
            compared += 1;
            with_epoch += usize::from(!ours.is_empty());
        }
    }
    assert!(
        compared > 100 && with_epoch > 5,
        "compared {compared}, with an epoch {with_epoch}"
    );
}

#[test]
fn rpm_qa_lines_and_their_epochs() {
    check(
        InventoryFormat::RpmQa,
        "openssl-libs 1:3.0.7-27.el9 x86_64\n\
         bash 0:5.1.8-9.el9 x86_64\r\n\
         \n\
         tzdata (none):2024a-1.el9 noarch\n\
         gpg-pubkey 0:fd431d51-4ae0493b (none)\n\
         kernel 5.14.0-427.el9 x86_64\n",
        "Red Hat openssl-libs 1:3.0.7-27.el9 pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1
         Red Hat bash 5.1.8-9.el9 pkg:rpm/redhat/bash@5.1.8-9.el9?arch=x86_64
         Red Hat tzdata 2024a-1.el9 pkg:rpm/redhat/tzdata@2024a-1.el9?arch=noarch
         Red Hat kernel 5.14.0-427.el9 pkg:rpm/redhat/kernel@5.14.0-427.el9?arch=x86_64
         note line 5: skipped: gpg-pubkey fd431d51-4ae0493b is an rpm signing key, not software",
    );
}

#[test]
fn rpm_rejects_malformed_and_hostile_input() {
    let rpm = InventoryFormat::RpmQa;
    check_err(
        rpm,
        b"bash 0:5.1.8-9.el9 x86_64\nbash 0:5.1.8 x86_64\n",
        &["line 2", "is not VERSION-RELEASE"],
    );
    check_err(rpm, b"bash 0:5.1.8-9.el9\n", &["line 1", "found 2 fields"]);
    check_err(rpm, b"bash x:5.1-9 x86_64\n", &["line 1", "epoch \"x\""]);
    check_err(rpm, b"bash 0:5.1-9-1 x86_64\n", &["line 1", "no `-`"]);
    check_err(
        rpm,
        b"bash 99999999999999999999999:5.1-9 x86_64\n",
        &["line 1", "not a number"],
    );
    check_err(rpm, b"bash 0:5.1-9 x86_64\n\xff\n", &["line 2", "UTF-8"]);
    let huge = format!("{} 0:1-1 x86_64\n", "a".repeat(1 << 20));
    check_err(rpm, huge.as_bytes(), &["line 1", "bytes long"]);
}

// ---------------------------------------------------------------------------------------------------------
// apk
// ---------------------------------------------------------------------------------------------------------

#[test]
fn apk_database_of_alpine_3_18() {
    let Some(db) = shared("inventories/container-images/alpine-3.18.0-lib-apk-db-installed") else {
        return;
    };
    let inventory = parse_bytes(InventoryFormat::ApkInstalled, "installed", &db);
    assert_eq!(inventory.packages.len(), 15);
    assert!(inventory.notes.is_empty());
    let find = |name: &str| inventory.packages.iter().find(|p| p.name == name).unwrap();
    for (name, version, origin) in [
        ("alpine-baselayout", "3.4.3-r1", "alpine-baselayout"),
        ("apk-tools", "2.14.0-r0", "apk-tools"),
        ("busybox", "1.36.0-r9", "busybox"),
        ("libcrypto3", "3.1.0-r4", "openssl"),
        ("libssl3", "3.1.0-r4", "openssl"),
        ("musl", "1.2.4-r0", "musl"),
        ("zlib", "1.2.13-r1", "zlib"),
    ] {
        let p = find(name);
        assert_eq!((p.version.as_str(), p.advisory_name()), (version, origin));
        assert_eq!(p.ecosystem.ecosystem, Ecosystem::Alpine);
    }
    assert_eq!(
        find("libssl3").purl.as_deref(),
        Some("pkg:apk/alpine/libssl3@3.1.0-r4?arch=x86_64&upstream=openssl")
    );
}

#[test]
fn apk_database_of_alpine_3_10_against_trivy() {
    let archive = "inventories/trivy-image-goldens/trivy-image-packages.tar.zst";
    let Some(db) =
        bulwark_testdata::archive_member(archive, "alpine-3.10-image/lib-apk-db-installed")
    else {
        return;
    };
    let Some(golden) = bulwark_testdata::archive_member(archive, "goldens/alpine-310.json.golden")
    else {
        return;
    };
    let inventory = parse_bytes(InventoryFormat::ApkInstalled, "installed", &db);
    // trivy's golden is of another 3.10 build (3.10.4 has newer busybox/openssl): names and origins agree.
    let golden: Vec<Value> = serde_json::from_slice(&golden).unwrap();
    let expected: BTreeMap<String, String> = golden
        .iter()
        .map(|p| {
            (
                p["Name"].as_str().unwrap().to_string(),
                p["SrcName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let got: BTreeMap<String, String> = inventory
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.advisory_name().to_string()))
        .collect();
    assert_eq!(got, expected);
    let versions: BTreeMap<&str, &str> = inventory
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(versions["musl"], "1.1.22-r3");
    assert_eq!(versions["libcrypto1.1"], "1.1.1d-r2");
    assert_eq!(versions["busybox"], "1.30.1-r3");
}

#[test]
fn apk_records_and_their_origin() {
    check(
        InventoryFormat::ApkInstalled,
        "C:Q1abc=\nP:musl\nV:1.2.4-r0\nA:x86_64\no:musl\nF:lib\nR:ld-musl.so.1\n\n\n\
         P:ssl_client\r\nV:1.36.1-r2\r\nA:aarch64\r\no:busybox\r\n\r\n\
         P:noarch-thing\nV:1-r0\n",
        "Alpine musl 1.2.4-r0 src=musl pkg:apk/alpine/musl@1.2.4-r0?arch=x86_64
         Alpine ssl_client 1.36.1-r2 src=busybox pkg:apk/alpine/ssl_client@1.36.1-r2?arch=aarch64&upstream=busybox
         Alpine noarch-thing 1-r0 pkg:apk/alpine/noarch-thing@1-r0",
    );
}

#[test]
fn apk_rejects_malformed_and_hostile_input() {
    let apk = InventoryFormat::ApkInstalled;
    check_err(apk, b"P:musl\nA:x86_64\n", &["line 1", "no V:"]);
    check_err(
        apk,
        b"P:musl\nV:1\nthis is not a field\n",
        &["line 3", "K:value"],
    );
    check_err(apk, b"P:musl\nV:1\nP:other\n", &["line 3", "second P:"]);
    check_err(apk, b"P:musl\nV:\n", &["line 2", "non-empty"]);
    let huge = format!("P:musl\nV:{}\n", "1".repeat(1 << 20));
    check_err(apk, huge.as_bytes(), &["line 2", "bytes long"]);
    // Many tiny records are fine.
    let many: String = (0..50_000)
        .map(|i| format!("P:p{i}\nV:1-r{i}\n\n"))
        .collect();
    assert_eq!(parse(apk, &many).packages.len(), 50_000);
}

// ---------------------------------------------------------------------------------------------------------
// Cargo.lock
// ---------------------------------------------------------------------------------------------------------

#[test]
fn cargo_lockfiles_of_real_projects() {
    let files = [
        ("atuin-v0.7.1.Cargo.lock", "atuin"),
        ("atuin-v14.0.0.Cargo.lock", "atuin"),
        ("lldap-v0.4.0.Cargo.lock", "lldap"),
        ("vaultwarden-1.20.0.Cargo.lock", "bitwarden_rs"),
        ("vaultwarden-1.25.0.Cargo.lock", "vaultwarden"),
        ("vaultwarden-1.30.0.Cargo.lock", "vaultwarden"),
        ("vaultwarden-main-2026-08-20.Cargo.lock", "vaultwarden"),
        ("zero-to-production-1bf53dc-2021-12.Cargo.lock", "zero2prod"),
    ];
    for (file, member) in files {
        let Some(bytes) = shared(&format!("inventories/lockfiles/cargo/{file}")) else {
            return;
        };
        assert_eq!(
            inventory::detect(&bytes),
            Some(InventoryFormat::CargoLock),
            "{file}"
        );
        let inventory = parse_bytes(InventoryFormat::CargoLock, file, &bytes);
        // An independent count by lines: every [[package]], and the git ones among them.
        let text = String::from_utf8(bytes).unwrap();
        let tables = text.lines().filter(|l| *l == "[[package]]").count();
        let git = text
            .lines()
            .filter(|l| l.starts_with("source = \"git+"))
            .count();
        let registry = text
            .lines()
            .filter(|l| l.starts_with("source = \"registry+"))
            .count();
        assert_eq!(inventory.packages.len(), tables - git, "{file}");
        assert_eq!(inventory.notes.len(), git, "{file}");
        assert!(
            inventory
                .notes
                .iter()
                .all(|n| n.message.contains("vcs_url=git%2Bhttps")),
            "{file}"
        );
        assert!(
            inventory
                .packages
                .iter()
                .all(|p| p.ecosystem.ecosystem == Ecosystem::CratesIo)
        );
        // The workspace's own crates (no source) are reported too, as cargo-audit checks them by name.
        let local: Vec<&str> = inventory
            .packages
            .iter()
            .map(|p| p.name.as_str())
            .filter(|name| {
                let header = format!("name = \"{name}\"");
                text.split("[[package]]")
                    .any(|t| t.contains(&header) && !t.contains("source = "))
            })
            .collect();
        assert_eq!(local.len(), tables - git - registry, "{file}");
        assert!(local.contains(&member), "{file}: {local:?}");
    }
}

#[test]
fn cargo_lock_v1_v4_and_sources() {
    check(
        InventoryFormat::CargoLock,
        r#"# This file is automatically @generated by Cargo.
[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "smallvec 1.6.1 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "smallvec"
version = "1.6.1"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "rocket"
version = "0.5.0-dev"
source = "git+https://github.com/SergioBenitez/Rocket?rev=263e39b#263e39b5b429de1913ce7e3036575a7b4d88b6d7"

[[package]]
name = "internal"
version = "2.0.0"
source = "registry+https://my.registry/index"

[[package]]
name = "sparse-crate"
version = "1.0.0"
source = "sparse+https://index.crates.io/"

[root]
name = "legacy-root"
version = "0.0.1"

[metadata]
"checksum smallvec 1.6.1 (registry+https://github.com/rust-lang/crates.io-index)" = "fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00c441533bf5c6e7990bb42604e"
"#,
        "crates.io app 0.1.0 pkg:cargo/app@0.1.0
         crates.io smallvec 1.6.1 pkg:cargo/smallvec@1.6.1
         crates.io sparse-crate 1.0.0 pkg:cargo/sparse-crate@1.0.0
         note line 30: not assessed: legacy [root] package legacy-root 0.0.1 (cargo-audit only reads [[package]] entries)
         note line 15: not assessed: rocket 0.5.0-dev comes from git (pkg:cargo/rocket@0.5.0-dev?vcs_url=git%2Bhttps://github.com/SergioBenitez/Rocket%40263e39b5b429de1913ce7e3036575a7b4d88b6d7); RustSec advisories cover crates.io releases and cargo-audit does not match git packages
         note line 20: not assessed: internal 2.0.0 comes from the registry https://my.registry/index; RustSec advisories cover crates.io and cargo-audit only matches packages from it (or without a source)",
    );
    check(
        InventoryFormat::CargoLock,
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n\
         [[package]]\nname = \"adler2\"\nversion = \"2.0.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
         checksum = \"320119579fcad9c21884f5c4861d16174d0e06250625266f50fe6898340abefa\"\n",
        "crates.io adler2 2.0.1 pkg:cargo/adler2@2.0.1",
    );
}

#[test]
fn cargo_lock_rejects_malformed_and_hostile_input() {
    let cargo = InventoryFormat::CargoLock;
    let package =
        |name: &str, version: &str| format!("[[package]]\nname = {name}\nversion = {version}\n");
    check_err(
        cargo,
        package("\"a\"", "\"1.0\"").as_bytes(),
        &["line 2", "version \"1.0\" of a is not SemVer"],
    );
    check_err(
        cargo,
        package("\"a\"", "5").as_bytes(),
        &["line 3", "string"],
    );
    check_err(cargo, b"[[package]]\nname = \"a\"\n", &["version"]);
    check_err(
        cargo,
        format!("version = 9\n{}", package("\"a\"", "\"1.0.0\"")).as_bytes(),
        &["line 1", "version 9"],
    );
    check_err(
        cargo,
        format!(
            "{}source = \"svn+https://x\"\n",
            package("\"a\"", "\"1.0.0\"")
        )
        .as_bytes(),
        &["line 4", "unsupported source kind"],
    );
    check_err(
        cargo,
        b"[[package]]\nname = \"a\nversion = \"1.0.0\"\n",
        &["line 2"],
    );
    check_err(
        cargo,
        package("\"a b\"", "\"1.0.0\"").as_bytes(),
        &["line 2", "not a crate name"],
    );
    let huge = package(&format!("\"{}\"", "a".repeat(1 << 20)), "\"1.0.0\"");
    check_err(cargo, huge.as_bytes(), &["line 2", "longer than"]);
    // Deep nesting is refused by the TOML parser instead of overflowing the stack.
    let deep = format!(
        "x = {}1{}\n{}",
        "[".repeat(100_000),
        "]".repeat(100_000),
        package("\"a\"", "\"1.0.0\"")
    );
    assert!(cargo.parse("deep", deep.as_bytes()).is_err());
}

// ---------------------------------------------------------------------------------------------------------
// package-lock.json
// ---------------------------------------------------------------------------------------------------------

fn name_versions(inventory: &Inventory) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for p in &inventory.packages {
        *counts
            .entry((p.name.clone(), p.version.clone()))
            .or_default() += 1;
    }
    counts
}

#[test]
fn npm_lockfile_v2_packages_agree_with_its_v1_dependencies() {
    let file = "inventories/lockfiles/npm/rust-analyzer-2021-06-07.editors-code.package-lock.json";
    let Some(bytes) = shared(file) else { return };
    let v2 = parse_bytes(InventoryFormat::PackageLock, file, &bytes);
    // 327 entries under node_modules; a package installed at several paths is reported once.
    assert_eq!(v2.packages.len(), 315);
    assert!(v2.notes.is_empty(), "{:?}", v2.notes);
    // The same file read as lockfile version 1: npm wrote both views of one install.
    let mut lock: Value = serde_json::from_slice(&bytes).unwrap();
    let object = lock.as_object_mut().unwrap();
    object.remove("packages");
    object.insert("lockfileVersion".to_string(), json!(1));
    let v1 = parse_bytes(
        InventoryFormat::PackageLock,
        file,
        &serde_json::to_vec(&lock).unwrap(),
    );
    assert_eq!(v1.packages.len(), 315);
    assert_eq!(name_versions(&v1), name_versions(&v2));
    let scoped = v2
        .packages
        .iter()
        .find(|p| p.name == "@babel/code-frame")
        .unwrap();
    assert_eq!(scoped.version, "7.12.11");
    assert_eq!(
        scoped.purl.as_deref(),
        Some("pkg:npm/%40babel/code-frame@7.12.11")
    );
    assert!(
        v2.packages
            .iter()
            .all(|p| p.ecosystem.ecosystem == Ecosystem::Npm)
    );
}

#[test]
fn npm_lockfile_v3_with_an_alias() {
    let file = "inventories/lockfiles/npm/vaultwarden-main-2026-08-20.playwright.package-lock.json";
    let Some(bytes) = shared(file) else { return };
    let inventory = parse_bytes(InventoryFormat::PackageLock, file, &bytes);
    let lock: Value = serde_json::from_slice(&bytes).unwrap();
    // Independently: the distinct (name, version) pairs of the entries under node_modules.
    let distinct: BTreeSet<(String, String)> = lock["packages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.contains("node_modules/"))
        .map(|(key, entry)| {
            let name = entry["name"]
                .as_str()
                .unwrap_or_else(|| key.rsplit("node_modules/").next().unwrap());
            (
                name.to_string(),
                entry["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(distinct.len(), 200);
    assert_eq!(
        inventory
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect::<BTreeSet<_>>(),
        distinct
    );
    assert_eq!(inventory.packages.len(), distinct.len());
    // "maildev": "npm:@timshel_npm/maildev@3.2.19" is installed as node_modules/maildev with its real name.
    assert!(
        inventory
            .packages
            .iter()
            .any(|p| p.name == "@timshel_npm/maildev" && p.version == "3.2.19")
    );
    assert!(
        !inventory
            .packages
            .iter()
            .any(|p| p.name == "maildev" && p.version == "3.2.19")
    );
}

#[test]
fn npm_lockfile_entries_that_are_not_registry_packages() {
    check(
        InventoryFormat::PackageLock,
        r#"{"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/@scope/a": {"version": "1.2.3", "dev": true},
            "node_modules/@scope/a/node_modules/b": {"version": "2.0.0", "inBundle": true},
            "node_modules/c": {"version": "3.0.0", "resolved": "git+ssh://git@github.com/x/c.git#abc"},
            "node_modules/local": {"resolved": "packages/local", "link": true},
            "packages/local": {"name": "local", "version": "0.0.1"},
            "node_modules/d": {"version": "4.0.0", "resolved": "https://registry.npmjs.org/d/-/d-4.0.0.tgz"},
            "node_modules/e": {"optional": true}
        }}"#,
        r#"npm @scope/a 1.2.3 pkg:npm/%40scope/a@1.2.3
           npm b 2.0.0 pkg:npm/b@2.0.0
           npm d 4.0.0 pkg:npm/d@4.0.0
           note $.packages["node_modules/c"]: not assessed: c 3.0.0 is installed from git+ssh://git@github.com/x/c.git#abc, not from the npm registry
           note $.packages["node_modules/local"]: not assessed: local links to the local folder packages/local (part of the project, not a registry package)
           note $.packages["node_modules/e"]: not assessed: e has no version"#,
    );
    check(
        InventoryFormat::PackageLock,
        r#"{"lockfileVersion": 1, "dependencies": {
            "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0", "dev": true}}},
            "alias": {"version": "npm:@real/name@3.0.0"},
            "g": {"version": "github:user/g#0123abc"},
            "f": {"version": "file:../f"}
        }}"#,
        "npm a 1.0.0 pkg:npm/a@1.0.0
         npm @real/name 3.0.0 pkg:npm/%40real/name@3.0.0
         npm b 2.0.0 pkg:npm/b@2.0.0
         note $.dependencies.g: not assessed: g is installed from github:user/g#0123abc, not from the npm registry
         note $.dependencies.f: not assessed: f is installed from file:../f, not from the npm registry",
    );
}

#[test]
fn npm_lockfile_rejects_malformed_and_hostile_input() {
    let npm = InventoryFormat::PackageLock;
    check_err(npm, b"[]", &["input: $:", "object"]);
    check_err(
        npm,
        b"{\"packages\": {}}",
        &["$.lockfileVersion", "missing"],
    );
    check_err(
        npm,
        b"{\"lockfileVersion\": 7, \"packages\": {}}",
        &["$.lockfileVersion", "unknown lockfile version 7"],
    );
    check_err(
        npm,
        br#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": 1}}}"#,
        &[
            r#"$.packages["node_modules/a"].version"#,
            "must be a string, found a number",
        ],
    );
    check_err(
        npm,
        br#"{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0", "dependencies": {"b": []}}}}"#,
        &["$.dependencies.a.dependencies.b", "must be an object"],
    );
    check_err(
        npm,
        b"{\"lockfileVersion\": 2, \"packages\": {\"node_modules/a\": {\"vers",
        &["line 1, column"],
    );
    check_err(npm, b"{\"lockfileVersion\": 2}", &["$.packages", "missing"]);
    let huge = format!(
        r#"{{"lockfileVersion": 3, "packages": {{"node_modules/a": {{"version": "{}"}}}}}}"#,
        "1".repeat(1 << 20)
    );
    check_err(npm, huge.as_bytes(), &["node_modules/a", "bytes long"]);
    // Nesting deeper than serde_json's recursion limit is an error, not a stack overflow.
    let mut deep = String::from(r#"{"lockfileVersion": 1, "dependencies": "#);
    for _ in 0..10_000 {
        deep.push_str(r#"{"a": {"version": "1.0.0", "dependencies": "#);
    }
    deep.push_str("{}");
    deep.push_str(&"}}".repeat(10_000));
    deep.push('}');
    check_err(npm, deep.as_bytes(), &["recursion limit"]);
}

// ---------------------------------------------------------------------------------------------------------
// requirements.txt
// ---------------------------------------------------------------------------------------------------------

#[test]
fn requirements_of_defectdojo() {
    let mut total = 0;
    for file in [
        "defectdojo-1.10.4.requirements.txt",
        "defectdojo-2.0.3.requirements.txt",
        "defectdojo-2.20.3.requirements.txt",
        "defectdojo-master-2026-08-07.requirements.txt",
    ] {
        let Some(bytes) = shared(&format!("inventories/lockfiles/python/{file}")) else {
            return;
        };
        let inventory = parse_bytes(InventoryFormat::Requirements, file, &bytes);
        let text = String::from_utf8(bytes).unwrap();
        // Independently: a requirement line is pinned when it has `==`, and a note otherwise.
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.split(" #").next().unwrap().trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let pinned = lines.iter().filter(|l| l.contains("==")).count();
        assert_eq!(inventory.packages.len(), pinned, "{file}");
        assert_eq!(inventory.notes.len(), lines.len() - pinned, "{file}");
        assert!(
            inventory
                .notes
                .iter()
                .all(|n| n.message.starts_with("not assessable: ")),
            "{file}"
        );
        assert!(
            inventory
                .packages
                .iter()
                .all(|p| p.ecosystem.ecosystem == Ecosystem::PyPI)
        );
        total += inventory.packages.len();
    }
    assert!(total > 200);

    let Some(bytes) = shared("inventories/lockfiles/python/defectdojo-1.10.4.requirements.txt")
    else {
        return;
    };
    let inventory = parse_bytes(InventoryFormat::Requirements, "r.txt", &bytes);
    let find = |name: &str| {
        inventory
            .packages
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.version.as_str())
    };
    assert_eq!(find("Django"), Some("2.2.17"));
    assert_eq!(find("Pillow"), Some("8.0.1"));
    assert_eq!(find("django_celery_results"), Some("2.0.0"));
    let note = |line: &str| {
        inventory
            .notes
            .iter()
            .find(|n| n.location == line)
            .map(|n| n.message.as_str())
    };
    assert_eq!(
        note("line 3"),
        Some("not assessable: bleach>=3.1.0 is not pinned to one version with ==")
    );
    assert!(
        note("line 9")
            .unwrap()
            .contains("git+https://github.com/DefectDojo/django-custom-field.git")
    );
    assert_eq!(
        note("line 46"),
        Some("not assessable: sqlalchemy is not pinned to one version with ==")
    );

    let Some(bytes) =
        shared("inventories/lockfiles/python/defectdojo-master-2026-08-07.requirements.txt")
    else {
        return;
    };
    let inventory = parse_bytes(InventoryFormat::Requirements, "r.txt", &bytes);
    let find = |name: &str| {
        inventory
            .packages
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.version.as_str())
    };
    assert_eq!(find("celery"), Some("5.6.3"));
    assert_eq!(find("psycopg"), Some("3.3.4"));
    assert_eq!(find("python-dateutil"), Some("2.9.0.post0"));
}

#[test]
fn requirements_lines_pip_accepts() {
    check(
        InventoryFormat::Requirements,
        "# comment\r\n\
         Django==4.2.1 ; python_version >= \"3.8\"\r\n\
         requests[socks,security] == 2.31.0 \\\r\n    --hash=sha256:abc \\\r\n    --hash=sha256:def\r\n\
         weird===1.0-custom\n\
         paren (==1.0)\n\
         range>=1.0,<2.0\n\
         wild==1.*\n\
         bare\n\
         pinned-with-range>=1.0,==1.5\n\
         -r other.txt\n\
         --requirement=more.txt\n\
         -c constraints.txt\n\
         -e git+https://github.com/x/y.git#egg=y\n\
         --index-url https://pypi.example/simple\n\
         git+https://github.com/x/z.git@abc#egg=z\n\
         name @ https://example.com/name-1.0.whl\n\
         ./local/project\n\
         Name_With.Dots==0.1 # trailing comment\n",
        r#"PyPI Django 4.2.1 pkg:pypi/django@4.2.1
           PyPI requests 2.31.0 pkg:pypi/requests@2.31.0
           PyPI weird 1.0-custom pkg:pypi/weird@1.0-custom
           PyPI paren 1.0 pkg:pypi/paren@1.0
           PyPI pinned-with-range 1.5 pkg:pypi/pinned-with-range@1.5
           PyPI Name_With.Dots 0.1 pkg:pypi/name-with.dots@0.1
           note line 8: not assessable: range>=1.0,<2.0 is not pinned to one version with ==
           note line 9: not assessable: wild==1.* is not pinned to one version with ==
           note line 10: not assessable: bare is not pinned to one version with ==
           note line 12: not assessable: -r other.txt includes another file, which is read on its own
           note line 13: not assessable: --requirement more.txt includes another file, which is read on its own
           note line 14: not assessable: -c constraints.txt includes another file, which is read on its own
           note line 15: not assessable: -e git+https://github.com/x/y.git#egg=y is an editable install from source
           note line 17: not assessable: git+https://github.com/x/z.git@abc#egg=z is installed from a URL, not from a PyPI release
           note line 18: not assessable: name @ https://example.com/name-1.0.whl is installed from a URL, not from a PyPI release
           note line 19: not assessable: ./local/project is installed from a local path, not from a PyPI release"#,
    );
}

#[test]
fn requirements_reject_malformed_and_hostile_input() {
    let req = InventoryFormat::Requirements;
    check_err(req, b"django==\n", &["line 1", "no version"]);
    check_err(
        req,
        b"ok==1\n==1.0\n",
        &["line 2", "expected a requirement"],
    );
    check_err(
        req,
        b"ok==1\n\nfoo bar\n",
        &["line 3", "not a version specifier"],
    );
    check_err(req, b"foo[extra==1.0\n", &["line 1", "not closed"]);
    check_err(
        req,
        b"--no-such-option\n",
        &["line 1", "not a pip requirements-file option"],
    );
    check_err(
        req,
        b"url-with-hash==1.0#not-a-comment\n",
        &["line 1", "not a PEP 440 version"],
    );
    check_err(req, b"a==1\n\xff==2\n", &["line 2", "UTF-8"]);
    let huge = format!("a=={}\n", "1".repeat(1 << 20));
    check_err(req, huge.as_bytes(), &["line 1", "bytes long"]);
    // A million continuation lines are one logical line.
    let continued = format!("a==1 {}\n", "\\\n".repeat(1_000_000));
    assert_eq!(parse(req, &continued).packages.len(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// go.mod and go.sum
// ---------------------------------------------------------------------------------------------------------

#[test]
fn go_mod_and_go_sum_of_osv_scanner() {
    let Some(go_mod) = shared("inventories/lockfiles/go/osv-scanner-v1.0.0.go.mod") else {
        return;
    };
    let Some(go_sum) = shared("inventories/lockfiles/go/osv-scanner-v1.0.0.go.sum") else {
        return;
    };
    let modules = parse_bytes(InventoryFormat::GoMod, "go.mod", &go_mod);
    assert_eq!(modules.packages.len(), 19);
    let stdlib = modules.packages.last().unwrap();
    assert_eq!(
        (stdlib.name.as_str(), stdlib.version.as_str()),
        ("stdlib", "1.19.0")
    );
    assert_eq!(stdlib.purl.as_deref(), Some("pkg:golang/stdlib@1.19.0"));
    let toml = &modules.packages[0];
    assert_eq!(
        (toml.name.as_str(), toml.version.as_str()),
        ("github.com/BurntSushi/toml", "v1.2.1")
    );
    assert_eq!(
        toml.purl.as_deref(),
        Some("pkg:golang/github.com/BurntSushi/toml@v1.2.1")
    );
    assert!(
        modules
            .packages
            .iter()
            .any(|p| p.name == "golang.org/x/sys" && p.version == "v0.3.0")
    );

    let sums = parse_bytes(InventoryFormat::GoSum, "go.sum", &go_sum);
    let text = String::from_utf8(go_sum).unwrap();
    let expected: BTreeSet<(&str, &str)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (!f[1].ends_with("/go.mod")).then_some((f[0], f[1]))
        })
        .collect();
    let got: BTreeSet<(&str, &str)> = sums
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(sums.packages.len(), expected.len());
    // Every module go.mod selects has its checksum in go.sum.
    for p in modules.packages.iter().filter(|p| p.name != "stdlib") {
        assert!(
            got.contains(&(p.name.as_str(), p.version.as_str())),
            "{} {}",
            p.name,
            p.version
        );
    }
}

#[test]
fn go_mod_directives() {
    check(
        InventoryFormat::GoMod,
        "// a comment\nmodule example.com/app\n\ngo 1.21\ntoolchain go1.21rc2\n\n\
         require (\n\
         \tgithub.com/a/b v1.0.0\n\
         \tgithub.com/c/d v0.0.0-20221212164502-fae10dda9338 // indirect\n\
         \t\"github.com/quoted/e\" v2.0.0+incompatible\n\
         \tgithub.com/old/f v1.1.0\n\
         \tgithub.com/local/g v1.2.0\n\
         \tgithub.com/ex/h v1.3.0\n\
         \tgithub.com/only/i v1.4.0\n\
         )\n\
         require github.com/single/j v1.5.0\n\
         replace github.com/old/f => github.com/new/f v1.1.5\n\
         replace (\n\tgithub.com/local/g => ../g\n\tgithub.com/only/i v9.9.9 => github.com/never/i v1.0.0\n)\n\
         exclude github.com/ex/h v1.3.0\n\
         retract v0.1.0\n\
         godebug default=go1.21\n",
        "Go github.com/a/b v1.0.0 pkg:golang/github.com/a/b@v1.0.0
         Go github.com/c/d v0.0.0-20221212164502-fae10dda9338 pkg:golang/github.com/c/d@v0.0.0-20221212164502-fae10dda9338
         Go github.com/quoted/e v2.0.0+incompatible pkg:golang/github.com/quoted/e@v2.0.0%2Bincompatible
         Go github.com/new/f v1.1.5 pkg:golang/github.com/new/f@v1.1.5
         Go github.com/only/i v1.4.0 pkg:golang/github.com/only/i@v1.4.0
         Go github.com/single/j v1.5.0 pkg:golang/github.com/single/j@v1.5.0
         Go stdlib 1.21.0-rc.2 pkg:golang/stdlib@1.21.0-rc.2
         note line 13: not assessed: github.com/ex/h v1.3.0 is excluded on line 22; Go selects the next higher version, which only the module graph knows
         note line 19: not assessable: github.com/local/g v1.2.0 is replaced by the local directory ../g",
    );
    // Without a toolchain, the go directive gives the stdlib version, with a note that it is a minimum.
    check(
        InventoryFormat::GoMod,
        "module m\ngo 1.22.3\n",
        "Go stdlib 1.22.3 pkg:golang/stdlib@1.22.3
         note line 2: stdlib 1.22.3 comes from the go directive, the minimum Go version; the toolchain that builds the program may be newer",
    );
    check(InventoryFormat::GoMod, "module m\n", "");
}

#[test]
fn go_mod_and_go_sum_reject_malformed_and_hostile_input() {
    let go_mod = InventoryFormat::GoMod;
    check_err(
        go_mod,
        b"module m\nrequire (\n\ta v1.0.0\n",
        &["line 2", "not closed"],
    );
    check_err(
        go_mod,
        b"module m\nrequire a 1.0.0\n",
        &["line 2", "not a module version"],
    );
    check_err(
        go_mod,
        b"module m\nfrobnicate x\n",
        &["line 2", "unknown directive"],
    );
    check_err(
        go_mod,
        b"module m\nreplace a => b\n",
        &["line 2", "needs a version"],
    );
    check_err(
        go_mod,
        b"module m\ngo banana\n",
        &["line 2", "not a Go version"],
    );
    check_err(
        go_mod,
        b"module m\nrequire \"a v1.0.0\n",
        &["line 2", "unterminated"],
    );
    check_err(
        go_mod,
        b"module m\nmodule n\n",
        &["line 2", "second module"],
    );
    let huge = format!("module m\nrequire {} v1.0.0\n", "a".repeat(1 << 20));
    check_err(go_mod, huge.as_bytes(), &["line 2", "bytes long"]);

    let go_sum = InventoryFormat::GoSum;
    check_err(
        go_sum,
        b"a v1.0.0 h1:x=\nb v1.0.0\n",
        &["line 2", "found 2 fields"],
    );
    check_err(
        go_sum,
        b"a 1.0.0 h1:x=\n",
        &["line 1", "not a module version"],
    );
    check_err(go_sum, b"a v1.0.0 nohash\n", &["line 1", "checksum"]);
}

// ---------------------------------------------------------------------------------------------------------
// osquery
// ---------------------------------------------------------------------------------------------------------

/// `select * from deb_packages` rows built from dpkg-query's view of the real Debian 12 machine.
fn deb_rows(tsv: &str) -> Vec<Value> {
    tsv.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let (name, version, arch, source, source_version) = (f[0], f[1], f[2], f[3], f[4]);
            // osquery's `source` column is dpkg's Source field, which dpkg only writes when it differs.
            let source_column = if source_version != version {
                format!("{source} ({source_version})")
            } else if source != name {
                source.to_string()
            } else {
                String::new()
            };
            json!({
                "name": name, "version": version, "source": source_column, "size": "1024", "arch": arch,
                "revision": version.rsplit_once('-').map_or("", |(_, r)| r), "status": "install ok installed",
                "maintainer": "Debian", "section": "libs", "priority": "optional", "admindir": "/var/lib/dpkg",
                "pid_with_namespace": "0", "mount_namespace_id": ""
            })
        })
        .collect()
}

#[test]
fn osquery_deb_packages_agree_with_the_dpkg_status_file() {
    let Some(status) = shared("inventories/debian-dpkg/dpkg-status-debian12-bookworm.txt") else {
        return;
    };
    let Some(tsv) = shared("inventories/debian-dpkg/dpkg-query-packages.tsv") else {
        return;
    };
    let from_status = parse_bytes(InventoryFormat::DpkgStatus, "status", &status);
    let rows = deb_rows(&String::from_utf8(tsv).unwrap());

    let array = serde_json::to_string_pretty(&rows).unwrap();
    assert_eq!(
        inventory::detect(array.as_bytes()),
        Some(InventoryFormat::Osquery)
    );
    let from_osqueryi = parse(InventoryFormat::Osquery, &array);
    assert_eq!(from_osqueryi.format, "osquery-json");
    let sorted = |inventory: &Inventory| {
        let mut packages = inventory.packages.clone();
        packages.sort_by(|a, b| (&a.name, &a.purl).cmp(&(&b.name, &b.purl)));
        packages
    };
    assert_eq!(sorted(&from_osqueryi), sorted(&from_status));

    // The same rows as osqueryd logs them: a snapshot, and differential lines.
    let snapshot = json!({"name": "pack_vuln-management_deb_packages", "hostIdentifier": "host",
        "calendarTime": "Mon Aug 17 10:00:00 2026 UTC", "unixTime": 1786960800, "epoch": 0, "counter": 0,
        "numerics": false, "snapshot": rows, "action": "snapshot"});
    let log = serde_json::to_string(&snapshot).unwrap();
    assert_eq!(
        inventory::detect(log.as_bytes()),
        Some(InventoryFormat::Osquery)
    );
    assert_eq!(
        sorted(&parse(InventoryFormat::Osquery, &log)),
        sorted(&from_status)
    );

    let mut differential = String::new();
    for row in &rows {
        let line = json!({"name": "pack_it-compliance_deb_packages", "hostIdentifier": "host", "columns": row,
            "action": "added"});
        differential.push_str(&format!("{line}\n"));
    }
    let removed =
        json!({"name": "pack_it-compliance_deb_packages", "columns": rows[0], "action": "removed"});
    differential.push_str(&format!("{removed}\n"));
    let replayed = parse(InventoryFormat::Osquery, &differential);
    assert_eq!(replayed.packages.len(), from_status.packages.len() - 1);
    assert!(!replayed.packages.iter().any(|p| p.name == rows[0]["name"]));
}

#[test]
fn osquery_rpm_packages_agree_with_rpm_qa() {
    let Some(manifests) = catalog_manifests() else {
        return;
    };
    let (label, rows) = manifests
        .iter()
        .find(|(l, _)| l.starts_with("ubi9"))
        .unwrap();
    let qa: String = rows
        .iter()
        .map(|(n, e, v, r, a)| format!("{n} {e}:{v}-{r} {a}\n"))
        .collect();
    let from_qa = parse(InventoryFormat::RpmQa, &qa);
    // osquery writes an epoch only when the package has one.
    let osquery_rows: Vec<Value> = rows
        .iter()
        .map(|(n, e, v, r, a)| {
            json!({"name": n, "version": v, "release": r, "source": "", "size": "100", "sha1": "", "arch": a,
                   "epoch": if *e == 0 { String::new() } else { e.to_string() }, "install_time": "1651564795",
                   "vendor": "Red Hat, Inc.", "package_group": "Unspecified", "pid_with_namespace": "0"})
        })
        .collect();
    let from_osquery = parse(
        InventoryFormat::Osquery,
        &serde_json::to_string(&osquery_rows).unwrap(),
    );
    assert_eq!(from_osquery.packages, from_qa.packages, "{label}");
}

#[test]
fn osquery_python_and_npm_rows_and_other_tables() {
    let rows = json!([
        {"name": "Django", "version": "4.2.1", "summary": "web", "author": "", "license": "BSD",
         "path": "/usr/lib/python3/dist-packages/Django-4.2.1.dist-info/", "directory": "/usr/lib/python3/dist-packages"},
        {"name": "@babel/core", "version": "7.22.0", "description": "compiler", "author": "", "license": "MIT",
         "homepage": "https://babel.dev", "path": "/usr/lib/node_modules/@babel/core/package.json", "directory": "/usr/lib/node_modules"},
        {"name": "openssl-libs", "version": "3.0.7", "release": "27.el9", "epoch": 1, "arch": "x86_64",
         "source": "openssl-3.0.7-27.el9.src.rpm"},
        {"name": "gpg-pubkey", "version": "fd431d51", "release": "4ae0493b", "epoch": "", "arch": ""},
        {"name": "config-only", "version": "1.0", "source": "", "arch": "amd64", "revision": "", "status": "deinstall ok config-files"},
        {"name": "halfway", "version": "1.0", "source": "", "arch": "amd64", "revision": "", "status": "install ok unpacked"},
        {"uid": "0", "username": "root"}
    ]);
    check(
        InventoryFormat::Osquery,
        &rows.to_string(),
        "PyPI Django 4.2.1 pkg:pypi/django@4.2.1
         npm @babel/core 7.22.0 pkg:npm/%40babel/core@7.22.0
         Red Hat openssl-libs 1:3.0.7-27.el9 pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm
         note $[3]: skipped: gpg-pubkey fd431d51-4ae0493b is an rpm signing key, not software
         note $[5]: not assessed: halfway is not fully installed (status: install ok unpacked)
         note $[6]: skipped: 1 row(s) are not from deb_packages, rpm_packages, python_packages or npm_packages",
    );
    // Batched differential results, and rows of an unrelated query in the same log.
    check(
        InventoryFormat::Osquery,
        concat!(
            r#"{"name":"pack_vuln_npm_packages","diffResults":{"added":[{"name":"a","version":"1.0.0","path":"/x"},{"name":"b","version":"2.0.0","path":"/y"}],"removed":[]}}"#,
            "\n",
            r#"{"name":"pack_incident_users","columns":{"uid":"0","username":"root"},"action":"added"}"#,
            "\n\n",
            r#"{"name":"pack_vuln_npm_packages","diffResults":{"added":[],"removed":[{"name":"a","version":"1.0.0","path":"/x"}]}}"#,
            "\n",
        ),
        "npm b 2.0.0 pkg:npm/b@2.0.0
         note line 2, $.columns: skipped: 1 row(s) of query pack_incident_users are not from deb_packages, rpm_packages, python_packages or npm_packages",
    );
}

#[test]
fn osquery_rejects_malformed_and_hostile_input() {
    let osquery = InventoryFormat::Osquery;
    check_err(
        osquery,
        br#"[{"name": "a", "version": 5, "release": "1"}]"#,
        &["$[0].version", "must be a string, found a number"],
    );
    check_err(
        osquery,
        br#"[{"name": "a", "version": ["1"], "release": "1"}]"#,
        &["$[0].version", "an array"],
    );
    check_err(
        osquery,
        br#"[{"name": "a", "version": "1", "release": "1", "epoch": "x"}]"#,
        &["$[0].epoch", "not a number"],
    );
    check_err(
        osquery,
        br#"[{"name": "a", "version": "1", "source": "x (1", "arch": "amd64"}]"#,
        &["$[0].source"],
    );
    check_err(osquery, br#"[1]"#, &["$[0]", "a row must be an object"]);
    check_err(osquery, br#"{"a": 1}"#, &["line 1, $", "no snapshot"]);
    check_err(
        osquery,
        b"{\"name\": \"q\", \"columns\": {}, \"action\": \"added\"}\n{\"name\": ",
        &["line 2, column"],
    );
    check_err(
        osquery,
        br#"{"name": "q", "columns": {}, "action": "moved"}"#,
        &["line 1, $.action", "unknown action"],
    );
    check_err(
        osquery,
        br#"{"name": 3, "snapshot": []}"#,
        &["line 1, $.name"],
    );
    let huge = format!(
        r#"[{{"name": "a", "version": "{}", "release": "1"}}]"#,
        "1".repeat(1 << 20)
    );
    check_err(osquery, huge.as_bytes(), &["$[0].version", "bytes long"]);
    let deep = format!("[{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    check_err(osquery, deep.as_bytes(), &["recursion limit"]);
}

// ---------------------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------------------

/// What format each real native inventory file is; every other real file must be claimed by none of ours.
fn expected_native_format(path: &str) -> Option<InventoryFormat> {
    let name = path.rsplit('/').next().unwrap();
    if path.contains("lockfiles/cargo/") {
        Some(InventoryFormat::CargoLock)
    } else if path.contains("lockfiles/npm/") {
        Some(InventoryFormat::PackageLock)
    } else if path.contains("lockfiles/python/") && name.ends_with(".txt") {
        Some(InventoryFormat::Requirements)
    } else if name.ends_with(".go.mod") {
        Some(InventoryFormat::GoMod)
    } else if name.ends_with(".go.sum") {
        Some(InventoryFormat::GoSum)
    } else if name.ends_with("lib-apk-db-installed") {
        Some(InventoryFormat::ApkInstalled)
    } else if name.starts_with("dpkg-status") {
        Some(InventoryFormat::DpkgStatus)
    } else {
        None
    }
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn detection_over_every_real_file() {
    let Some(root) = bulwark_testdata::shared_data() else {
        return;
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut paths = Vec::new();
    for dir in [
        "inventories",
        "compliance/osquery-packs",
        "kev",
        "advisories/nvd",
    ] {
        walk(&root.join(dir), &mut paths);
    }
    for path in paths {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative.ends_with(".tar.zst") {
            for (member, bytes) in archive_files(&relative).unwrap() {
                files.push((format!("{relative}!{member}"), bytes));
            }
        } else {
            files.push((relative, std::fs::read(&path).unwrap()));
        }
    }
    assert!(files.len() > 150, "{}", files.len());
    let mut native = 0;
    for (path, bytes) in &files {
        match expected_native_format(path) {
            Some(expected) => {
                native += 1;
                assert_eq!(inventory::detect(bytes), Some(expected), "{path}");
            }
            None => {
                for format in NATIVE_FORMATS {
                    assert!(
                        !format.detect(bytes),
                        "{path} is detected as {}",
                        format.name()
                    );
                }
            }
        }
    }
    assert_eq!(native, 8 + 2 + 4 + 2 + 2 + 1);
}

#[test]
fn detection_of_inline_inputs() {
    let cases: [(&str, Option<InventoryFormat>); 14] = [
        (
            "bash 0:5.1.8-9.el9 x86_64\nzlib 0:1.2.11-40.el9 x86_64\n",
            Some(InventoryFormat::RpmQa),
        ),
        ("P:musl\nV:1.2.4-r0\n", Some(InventoryFormat::ApkInstalled)),
        (
            "Package: a\nStatus: install ok installed\nVersion: 1\n",
            Some(InventoryFormat::DpkgStatus),
        ),
        ("module m\n\ngo 1.21\n", Some(InventoryFormat::GoMod)),
        (
            "// Deprecated: use n\nmodule m\n",
            Some(InventoryFormat::GoMod),
        ),
        (
            "a v1.0.0 h1:abc=\na v1.0.0/go.mod h1:def=\n",
            Some(InventoryFormat::GoSum),
        ),
        ("requests==2.31.0\n", Some(InventoryFormat::Requirements)),
        (
            "{\"name\":\"q\",\"columns\":{\"name\":\"a\"},\"action\":\"added\"}\n",
            Some(InventoryFormat::Osquery),
        ),
        (
            "[{\"name\": \"a\", \"version\": \"1\", \"release\": \"1\"}]",
            Some(InventoryFormat::Osquery),
        ),
        (
            "{\"lockfileVersion\": 3, \"packages\": {}}",
            Some(InventoryFormat::PackageLock),
        ),
        // Not inventories, or other tools' files that look close.
        (
            "# This file is automatically @generated by Poetry\n[[package]]\nname = \"a\"\nversion = \"1\"\n",
            None,
        ),
        ("[{\"Name\": \"a\", \"Version\": \"1\"}]", None),
        ("hello world\n", None),
        ("", None),
    ];
    for (input, expected) in cases {
        let detected = inventory::detect(input.as_bytes()).filter(|f| NATIVE_FORMATS.contains(f));
        assert_eq!(detected, expected, "{input:?}");
    }
    // Minified JSON is one line longer than the 64 KiB that detection looks at.
    let entries: Vec<String> = (0..3000)
        .map(|i| format!("\"node_modules/p{i}\":{{\"version\":\"1.0.{i}\"}}"))
        .collect();
    let minified = format!(
        "{{\"lockfileVersion\":3,\"packages\":{{{}}}}}",
        entries.join(",")
    );
    assert!(minified.len() > 64 * 1024);
    assert_eq!(
        inventory::detect(minified.as_bytes()),
        Some(InventoryFormat::PackageLock)
    );
    assert_eq!(
        parse(InventoryFormat::PackageLock, &minified)
            .packages
            .len(),
        3000
    );
    let rows: Vec<Value> = (0..3000)
        .map(|i| json!({"name": format!("p{i}"), "version": "1.0", "release": "1.el9", "epoch": "", "arch": "x86_64"}))
        .collect();
    let one_line = serde_json::to_string(&rows).unwrap();
    assert!(one_line.len() > 64 * 1024);
    assert_eq!(
        inventory::detect(one_line.as_bytes()),
        Some(InventoryFormat::Osquery)
    );
    assert_eq!(
        parse(InventoryFormat::Osquery, &one_line).packages.len(),
        3000
    );
}

// ---------------------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------------------

/// Small valid inputs of every format, to cut and mutate.
const SEEDS: [(InventoryFormat, &str); 9] = [
    (
        InventoryFormat::DpkgStatus,
        "Package: a\nStatus: install ok installed\nSource: s (1)\nVersion: 1:2-3\n\n",
    ),
    (InventoryFormat::RpmQa, "bash 0:5.1.8-9.el9 x86_64\n"),
    (
        InventoryFormat::ApkInstalled,
        "P:musl\nV:1.2.4-r0\no:musl\n\n",
    ),
    (
        InventoryFormat::CargoLock,
        "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n[[package]]\nname = \"g\"\nversion = \"1.0.0\"\nsource = \"git+https://x#1\"\n",
    ),
    (
        InventoryFormat::PackageLock,
        "{\"lockfileVersion\":1,\"dependencies\":{\"a\":{\"version\":\"npm:b@1\"}}}",
    ),
    (
        InventoryFormat::Requirements,
        "a[x]==1 ; python_version>'3' \\\n --hash=sha256:0\n-r b.txt\n",
    ),
    (
        InventoryFormat::GoMod,
        "module m\nrequire (\n a v1.0.0\n)\nreplace a => b v1.0.1\n",
    ),
    (InventoryFormat::GoSum, "a v1.0.0 h1:x=\n"),
    (
        InventoryFormat::Osquery,
        "{\"name\":\"deb_packages\",\"snapshot\":[{\"name\":\"a\",\"version\":\"1\",\"source\":\"s (2)\"}]}\n",
    ),
];

#[test]
fn every_seed_parses() {
    for (format, seed) in SEEDS {
        let inventory = parse(format, seed);
        assert_eq!(
            inventory.packages.len(),
            1,
            "{}: {}",
            format.name(),
            render(&inventory)
        );
    }
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for format in NATIVE_FORMATS {
            let _ = format.detect(&bytes);
            let _ = format.parse("fuzz", &bytes);
        }
    }

    #[test]
    fn parsers_never_panic_on_cut_or_mutated_seeds(seed in 0..SEEDS.len(), cut in any::<prop::sample::Index>(),
                                                     at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (format, text) = SEEDS[seed];
        let mut bytes = text.as_bytes().to_vec();
        bytes.truncate(cut.index(bytes.len() + 1));
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = format.detect(&bytes);
        let _ = format.parse("fuzz", &bytes);
    }
}
