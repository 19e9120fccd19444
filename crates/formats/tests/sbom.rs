//! SBOM inventories (CycloneDX JSON/XML, SPDX 2 JSON, SPDX tag-value, SPDX 3 JSON-LD) against real
//! third-party documents from the shared data, and against hand-written malformed and hostile inputs.

use std::collections::BTreeSet;
use std::io::Read;

use bulwark_core::{Ecosystem, InstalledPackage, Inventory};
use bulwark_formats::FormatError;
use bulwark_formats::inventory::{self, InventoryFormat};

/// Reads a shared-data file (`None` when the shared data is absent: the test skips).
fn shared(relative: &str) -> Option<Vec<u8>> {
    let path = bulwark_testdata::shared_file(relative)?;
    Some(std::fs::read(&path).expect("read shared file"))
}

/// Parses `bytes` after checking that detection picks `format`.
fn parse(format: InventoryFormat, name: &str, bytes: &[u8]) -> Inventory {
    assert_eq!(inventory::detect(bytes), Some(format), "detecting {name}");
    match format.parse(name, bytes) {
        Ok(inventory) => inventory,
        Err(e) => panic!("parsing {name}: {e}"),
    }
}

/// `ecosystem name version` of a package.
fn show(p: &InstalledPackage) -> String {
    format!("{} {} {}", p.ecosystem, p.name, p.version)
}

/// The package named `name` (the first one), shown with its source package when it has one.
fn find(inventory: &Inventory, name: &str) -> String {
    let p = inventory
        .packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no package {name}"));
    match (&p.source_name, &p.source_version) {
        (None, None) => show(p),
        (s, v) => format!(
            "{} src={} {}",
            show(p),
            s.as_deref().unwrap_or("-"),
            v.as_deref().unwrap_or("-")
        ),
    }
}

fn ecosystems(inventory: &Inventory) -> BTreeSet<String> {
    inventory
        .packages
        .iter()
        .map(|p| p.ecosystem.to_string())
        .collect()
}

/// The parse error of `bytes` as `format`, as text.
fn error(format: InventoryFormat, bytes: &[u8]) -> String {
    match format.parse("hostile", bytes) {
        Ok(inventory) => panic!(
            "{format:?} accepted hostile input: {} packages",
            inventory.packages.len()
        ),
        Err(e) => {
            assert!(matches!(e, FormatError::Parse { .. }), "{e:?}");
            e.to_string()
        }
    }
}

fn assert_contains(text: &str, expected: &str) {
    assert!(text.contains(expected), "expected {expected:?} in {text:?}");
}

const CDX: &str = "inventories/cyclonedx-bom-examples/SBOM";

#[test]
fn cyclonedx_json_product_sboms() {
    // (file, packages after removing exact duplicates, ecosystem, a spot-checked package)
    let cases = [
        (
            "keycloak-10.0.2/bom.json",
            903,
            "Maven",
            "keycloak-core",
            "Maven org.keycloak:keycloak-core 10.0.2",
        ),
        (
            "juice-shop/v11.1.2/bom.json",
            840,
            "npm",
            "express-jwt",
            "npm express-jwt 0.1.3",
        ),
        (
            "juice-shop/via_npm/flat/bom.1.4.json",
            978,
            "npm",
            "@types/node",
            "npm @types/node 18.14.1",
        ),
        (
            "dropwizard-1.3.15/bom.json",
            167,
            "Maven",
            "jackson-databind",
            "Maven com.fasterxml.jackson.core:jackson-databind 2.9.10",
        ),
        (
            "laravel-7.12.0/bom.1.4.json",
            62,
            "Packagist",
            "laravel/framework",
            "Packagist laravel/framework v7.30.6",
        ),
        (
            "protonmail-webclient-v4-0912dff/bom.json",
            883,
            "npm",
            "openpgp",
            "npm openpgp 4.10.7",
        ),
        (
            "cern-lhc-vdm-editor-e564943/bom.json",
            43,
            "npm",
            "puppeteer",
            "npm puppeteer 1.19.0",
        ),
    ];
    for (file, count, ecosystem, name, expected) in cases {
        let Some(bytes) = shared(&format!("{CDX}/{file}")) else {
            return;
        };
        let inv = parse(InventoryFormat::CycloneDxJson, file, &bytes);
        assert_eq!(inv.format, "cyclonedx-json");
        assert_eq!(inv.packages.len(), count, "{file}");
        assert_eq!(inv.notes, vec![], "{file}");
        assert_eq!(
            ecosystems(&inv),
            BTreeSet::from([ecosystem.to_string()]),
            "{file}"
        );
        assert_eq!(inv.os, None, "{file}");
        // Maven names are group:artifact; look them up by artifact.
        let found = inv
            .packages
            .iter()
            .find(|p| p.name == name || p.name.ends_with(&format!(":{name}")))
            .unwrap_or_else(|| panic!("{file}: no {name}"));
        assert_eq!(show(found), expected, "{file}");
        assert!(
            inv.packages
                .iter()
                .all(|p| p.purl.as_deref().is_some_and(|u| u.starts_with("pkg:")))
        );
    }
}

#[test]
fn cyclonedx_subject_is_not_a_package() {
    let Some(bytes) = shared(&format!("{CDX}/keycloak-10.0.2/bom.json")) else {
        return;
    };
    let inv = parse(InventoryFormat::CycloneDxJson, "keycloak", &bytes);
    assert!(
        !inv.packages
            .iter()
            .any(|p| p.name == "org.keycloak:keycloak-parent")
    );
    // Maven classifiers live in qualifiers: the same artifact with two classifiers is two purls.
    let guice: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.name == "com.google.inject:guice")
        .collect();
    assert!(!guice.is_empty());
}

/// Every Go module path in the Go vulnerability database, read from the shared archive.
fn go_vulndb_modules() -> Option<BTreeSet<String>> {
    let path = bulwark_testdata::shared_file("advisories/go/golang-vulndb-osv.tar.zst")?;
    let decoder =
        zstd::stream::read::Decoder::new(std::fs::File::open(path).expect("open")).expect("zstd");
    let mut archive = tar::Archive::new(decoder);
    let mut modules = BTreeSet::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        if !name.ends_with(".json") || !name.contains("/osv/") {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("read");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        for affected in doc["affected"].as_array().into_iter().flatten() {
            if let Some(m) = affected["package"]["name"].as_str() {
                modules.insert(m.to_string());
            }
        }
    }
    Some(modules)
}

#[test]
fn proton_bridge_go_modules_match_go_vulndb_names() {
    let Some(modules) = go_vulndb_modules() else {
        return;
    };
    assert!(modules.len() > 1000, "{}", modules.len());
    for (version, differing) in [
        ("1.6.3", "github.com/miekg/dns v1.1.30"),
        ("1.8.0", "github.com/miekg/dns v1.1.41"),
    ] {
        let file = format!("{CDX}/proton-bridge/proton-bridge-v{version}.bom.json");
        let Some(bytes) = shared(&file) else { return };
        let inv = parse(InventoryFormat::CycloneDxJson, &file, &bytes);
        assert_eq!(inv.packages.len(), 201);
        assert_eq!(ecosystems(&inv), BTreeSet::from(["Go".to_string()]));
        // Case is kept (packageurl would lower-case the namespace) and so is the `v` of versions.
        assert_eq!(
            find(&inv, "github.com/BurntSushi/toml"),
            "Go github.com/BurntSushi/toml v0.3.1"
        );
        assert_eq!(
            find(&inv, "github.com/CloudyKit/jet/v3"),
            "Go github.com/CloudyKit/jet/v3 v3.0.0"
        );
        assert_eq!(
            find(&inv, "golang.org/x/text"),
            "Go golang.org/x/text v0.3.5-0.20201125200606-c27b9fd57aec"
        );
        let known: Vec<String> = inv
            .packages
            .iter()
            .filter(|p| modules.contains(&p.name))
            .map(|p| format!("{} {}", p.name, p.version))
            .collect();
        assert_eq!(known.len(), 21, "{known:?}");
        assert!(known.contains(&differing.to_string()), "{known:?}");
        assert!(
            known.contains(&"github.com/gin-gonic/gin v1.4.0".to_string()),
            "{known:?}"
        );
        // No module is known to the database only under a different case.
        let lower: BTreeSet<String> = modules.iter().map(|m| m.to_lowercase()).collect();
        let case_only: Vec<&str> = inv
            .packages
            .iter()
            .filter(|p| !modules.contains(&p.name) && lower.contains(&p.name.to_lowercase()))
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(case_only, Vec::<&str>::new());
    }
}

#[test]
fn dropwizard_json_and_xml_yield_the_same_packages() {
    let Some(json) = shared(&format!("{CDX}/dropwizard-1.3.15/bom.json")) else {
        return;
    };
    let Some(xml) = shared(&format!("{CDX}/dropwizard-1.3.15/bom.xml")) else {
        return;
    };
    let from_json = parse(InventoryFormat::CycloneDxJson, "bom.json", &json);
    let from_xml = parse(InventoryFormat::CycloneDxXml, "bom.xml", &xml);
    assert_eq!(from_xml.format, "cyclonedx-xml");
    assert_eq!(from_json.packages.len(), 167);
    assert_eq!(from_json.packages, from_xml.packages);
    assert_eq!(from_xml.notes, vec![]);
}

const IMAGES: &str = "inventories/container-images";

#[test]
fn syft_alpine_image() {
    let Some(bytes) = shared(&format!("{IMAGES}/alpine-3.17.2-latest.syft.cdx.xml")) else {
        return;
    };
    let inv = parse(InventoryFormat::CycloneDxXml, "alpine.cdx.xml", &bytes);
    assert_eq!(inv.os.as_deref(), Some("alpine 3.17.2"));
    assert_eq!(inv.packages.len(), 15);
    assert_eq!(
        ecosystems(&inv),
        BTreeSet::from(["Alpine:3.17".to_string()])
    );
    assert_eq!(find(&inv, "busybox"), "Alpine:3.17 busybox 1.35.0-r29");
    assert_eq!(
        find(&inv, "libssl3"),
        "Alpine:3.17 libssl3 3.0.8-r0 src=openssl -"
    );
    assert_eq!(find(&inv, "musl"), "Alpine:3.17 musl 1.2.3-r4");
    assert_eq!(find(&inv, "zlib"), "Alpine:3.17 zlib 1.2.13-r0");
    // syft's binary cataloger reports busybox a second time without a purl but with a CPE: the binary
    // of Alpine's own package, which Alpine's advisories judge, not NVD's upstream ranges.
    assert_eq!(inv.notes.len(), 1, "{:?}", inv.notes);
    assert_contains(
        &inv.notes[0].message,
        "busybox 1.35.0: no purl, and the Alpine busybox 1.35.0-r29 package ships it, so the \
         distribution's advisories judge it rather than NVD's upstream ranges",
    );
    assert!(
        inv.notes[0].location.starts_with("line "),
        "{:?}",
        inv.notes[0]
    );
}

#[test]
fn syft_debian_stretch_image() {
    let Some(bytes) = shared(&format!("{IMAGES}/postgres-11.15-stretch.syft.cdx.xml")) else {
        return;
    };
    let inv = parse(InventoryFormat::CycloneDxXml, "postgres.cdx.xml", &bytes);
    assert_eq!(inv.os.as_deref(), Some("debian 9"));
    assert_eq!(inv.packages.len(), 134);
    let debs: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem.ecosystem == Ecosystem::Debian)
        .collect();
    assert_eq!(debs.len(), 132);
    assert!(
        debs.iter()
            .all(|p| p.ecosystem.release.as_deref() == Some("9"))
    );
    assert_eq!(
        find(&inv, "bsdutils"),
        "Debian:9 bsdutils 1:2.29.2-1+deb9u1 src=util-linux 2.29.2-1+deb9u1"
    );
    assert_eq!(
        find(&inv, "dirmngr"),
        "Debian:9 dirmngr 2.1.18-8~deb9u4 src=gnupg2 -"
    );
    assert_eq!(find(&inv, "bash"), "Debian:9 bash 4.4-5");
    assert_eq!(
        find(&inv, "golang.org/x/sys"),
        "Go golang.org/x/sys v0.0.0-20210817142637-7d9622a276b7"
    );
    assert_eq!(
        find(&inv, "github.com/opencontainers/runc"),
        "Go github.com/opencontainers/runc v1.0.1"
    );
    let notes: Vec<String> = inv.notes.iter().map(|n| n.message.clone()).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_contains(
        &notes[0],
        "github.com/tianon/gosu (devel): a Go main module built from a source tree",
    );
    assert_contains(
        &notes[1],
        "postgresql 11.15: package URL type \"generic\" is not an ecosystem Bulwark matches",
    );
    // Source packages come from `upstream`, and advisories name them.
    let libssl = inv
        .packages
        .iter()
        .find(|p| p.name.starts_with("libssl1.1"))
        .expect("libssl1.1");
    assert_eq!(libssl.advisory_name(), "openssl");
}

#[test]
fn cyclonedx_vex_documents_parse_as_inventories() {
    let Some(root) = bulwark_testdata::shared_file("inventories/cyclonedx-bom-examples/VEX") else {
        return;
    };
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 39);
    let mut with_statements = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("read");
        let name = path.display().to_string();
        let inv = parse(InventoryFormat::CycloneDxJson, &name, &bytes);
        if inv.notes.iter().any(|n| n.location == "$.vulnerabilities") {
            with_statements += 1;
            assert_contains(
                &inv.notes[0].message,
                "vulnerability statement(s) (VEX) are not read",
            );
        }
        if name.ends_with("VEX/bom.json") {
            let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(inv.packages.len(), 3, "{names:?}");
            assert!(
                inv.packages
                    .iter()
                    .all(|p| p.ecosystem.ecosystem == Ecosystem::Maven)
            );
        } else {
            assert_eq!(inv.packages, vec![], "{name}");
        }
    }
    assert_eq!(with_statements, 25);
}

const SPDX: &str = "inventories/spdx-examples";

#[test]
fn spdx2_json_examples() {
    // (file, packages, notes, spot check)
    let cases = [
        (
            "presentations/OSS-NA-2023/SPDXVersion2.3/01-MinimalSBOM.json",
            0,
            1,
            None,
        ),
        (
            "presentations/OSS-NA-2023/SPDXVersion2.3/03-SBOMwDependency.json",
            1,
            1,
            Some(("org.webjars.npm:xlsx", "Maven org.webjars.npm:xlsx 0.16.6")),
        ),
        (
            "presentations/OSS-NA-2023/SPDXVersion2.3/04-SBOMwSecurity.json",
            1,
            1,
            None,
        ),
        (
            "presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json",
            1,
            3,
            Some(("elliptic", "npm elliptic 6.5.2")),
        ),
        (
            "software/example11/spdx2.3/sbom.spdx.json",
            4,
            0,
            Some(("libselinux1-dev", "Debian libselinux1-dev 3.1-3")),
        ),
        (
            "software/example9/spdx2.2/appbomination.spdx.json",
            4,
            3,
            Some(("junit:junit", "Maven junit:junit 4.12")),
        ),
        (
            "software/example8/spdx2.3/examplemaven-0.0.1.spdx.json",
            0,
            6,
            None,
        ),
        (
            "software/example7/spdx2.2/example7-third-party-modules.spdx.json",
            0,
            3,
            None,
        ),
        ("software/example12/spdx2.2/hello-src.spdx.json", 0, 1, None),
    ];
    for (file, packages, notes, spot) in cases {
        let Some(bytes) = shared(&format!("{SPDX}/{file}")) else {
            return;
        };
        let inv = parse(InventoryFormat::SpdxJson, file, &bytes);
        assert_eq!(inv.format, "spdx-json");
        assert_eq!(
            (inv.packages.len(), inv.notes.len()),
            (packages, notes),
            "{file}: {:?}",
            inv.notes
        );
        if let Some((name, expected)) = spot {
            assert_eq!(find(&inv, name), expected, "{file}");
        }
    }
    let Some(bytes) = shared(&format!(
        "{SPDX}/presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json"
    )) else {
        return;
    };
    let inv = parse(InventoryFormat::SpdxJson, "acme", &bytes);
    let notes: Vec<String> = inv
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.location, n.message))
        .collect();
    assert_eq!(
        notes,
        [
            "$.packages[0]: Acme Applcation 2.3: no purl or CPE, so it cannot be matched",
            "$.packages[2]: alpine latest: no purl or CPE, so it cannot be matched",
            "$.packages[3]: OpenSSL 3.0.4: package URL type \"alpine\" is not an ecosystem Bulwark matches",
        ]
    );
}

#[test]
fn every_spdx_example_parses() {
    let Some(root) = bulwark_testdata::shared_file(SPDX) else {
        return;
    };
    let mut dirs = vec![root];
    let mut counts = [0usize; 3];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path.display().to_string();
            let format = if name.ends_with(".spdx") {
                InventoryFormat::SpdxTagValue
            } else if name.contains("spdx3.0") {
                InventoryFormat::Spdx3
            } else if name.ends_with(".json") {
                InventoryFormat::SpdxJson
            } else {
                continue;
            };
            let bytes = std::fs::read(&path).expect("read");
            let inv = parse(format, &name, &bytes);
            // None of these toy documents declares an OS; every package is accounted for.
            assert_eq!(inv.os, None, "{name}");
            let slot = match format {
                InventoryFormat::SpdxTagValue => 0,
                InventoryFormat::Spdx3 => 1,
                _ => 2,
            };
            counts[slot] += 1;
        }
    }
    assert_eq!(counts, [12, 25, 17]);
}

#[test]
fn spdx_tag_value_examples() {
    let Some(bytes) = shared(&format!(
        "{SPDX}/software/example6/spdx2.2/example6-lib.spdx"
    )) else {
        return;
    };
    let inv = parse(InventoryFormat::SpdxTagValue, "example6-lib.spdx", &bytes);
    assert_eq!(inv.format, "spdx-tag-value");
    assert_eq!(inv.packages, vec![]);
    let notes: Vec<String> = inv
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.location, n.message))
        .collect();
    assert_eq!(notes.len(), 5, "{notes:?}");
    assert_eq!(
        notes[0],
        "line 11: go-1.15 1.15.4: no purl or CPE, so it cannot be matched"
    );
}

#[test]
fn spdx3_examples() {
    let cases = [
        (
            "software/example11/spdx3.0/sbom.spdx3.json",
            4,
            0,
            ("tokio", "crates.io tokio 1.19.2"),
        ),
        (
            "software/example9/spdx3.0/appbomination.spdx3.json",
            4,
            3,
            ("org.slf4j:slf4j-api", "Maven org.slf4j:slf4j-api 1.7.21"),
        ),
    ];
    for (file, packages, notes, (name, expected)) in cases {
        let Some(bytes) = shared(&format!("{SPDX}/{file}")) else {
            return;
        };
        let inv = parse(InventoryFormat::Spdx3, file, &bytes);
        assert_eq!(inv.format, "spdx3-jsonld");
        assert_eq!(
            (inv.packages.len(), inv.notes.len()),
            (packages, notes),
            "{file}: {:?}",
            inv.notes
        );
        assert_eq!(find(&inv, name), expected);
    }
    let Some(bytes) = shared(&format!(
        "{SPDX}/ai/example01/spdx3.0/simplehtr-example.json"
    )) else {
        return;
    };
    let inv = parse(InventoryFormat::Spdx3, "simplehtr", &bytes);
    assert_eq!((inv.packages.len(), inv.notes.len()), (0, 10));
    assert!(
        inv.notes[0].location.starts_with("$.@graph["),
        "{:?}",
        inv.notes[0]
    );
}

#[test]
fn rhel_ubi_spdx_sbom() {
    let Some(bytes) = bulwark_testdata::archive_member(
        "inventories/rhel-ubi-claircore/claircore-inventories.tar.zst",
        "purl/testdata/ubi_latest_spdx.json",
    ) else {
        return;
    };
    let inv = parse(InventoryFormat::SpdxJson, "ubi_latest_spdx.json", &bytes);
    // 1,527 SPDX packages: 1,507 rpm (multi-arch, so distinct purls), 18 pypi, 2 oci images.
    let rpms: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem.ecosystem == Ecosystem::RedHat)
        .collect();
    assert_eq!(rpms.len(), 1507);
    assert!(
        rpms.iter()
            .all(|p| p.ecosystem.release.as_deref() == Some("9"))
    );
    // Only the 188 rpms that syft found in the image carry CPEs; the multi-arch build inputs do not.
    let with_cpe = rpms.iter().filter(|p| {
        p.cpe
            .as_deref()
            .is_some_and(|c| c.starts_with("cpe:2.3:a:"))
    });
    assert_eq!(with_cpe.count(), 188);
    let distinct: BTreeSet<(&str, &str)> = rpms
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(distinct.len(), 240);
    assert_eq!(inv.packages.len(), 1507 + 18);
    assert_eq!(inv.notes.len(), 2);
    assert!(
        inv.notes
            .iter()
            .all(|n| n.message.contains("\"oci\" is not an ecosystem"))
    );
    assert_eq!(inv.os.as_deref(), Some("rhel 9.6"));
    assert_eq!(find(&inv, "glibc"), "Red Hat:9 glibc 2.34-168.el9_6.23");
    assert_eq!(
        find(&inv, "openssl-libs"),
        "Red Hat:9 openssl-libs 1:3.2.2-6.el9_5.1 src=openssl -"
    );
    assert_eq!(
        find(&inv, "curl-minimal"),
        "Red Hat:9 curl-minimal 7.76.1-31.el9_6.1 src=curl -"
    );
    assert_eq!(
        find(&inv, "dbus-libs"),
        "Red Hat:9 dbus-libs 1:1.12.20-8.el9 src=dbus -"
    );
    assert_eq!(
        find(&inv, "alternatives"),
        "Red Hat:9 alternatives 1.24-2.el9 src=chkconfig -"
    );
    assert_eq!(find(&inv, "requests"), "PyPI requests 2.25.1");
}

/// A minimal CycloneDX JSON BOM around `components` (a JSON array).
fn cdx_json(components: &str) -> Vec<u8> {
    format!(r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {components}}}"#)
        .into_bytes()
}

/// A minimal CycloneDX XML BOM around `components` (XML elements).
fn cdx_xml(version: &str, components: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/{version}\" version=\"1\">\n\
         <components>\n{components}\n</components>\n</bom>\n"
    )
    .into_bytes()
}

#[test]
fn cyclonedx_nesting_os_and_notes() {
    let json = br#"{
      "bomFormat": "CycloneDX", "specVersion": "1.5",
      "metadata": {
        "tools": {"components": [{"type": "application", "name": "syft", "purl": "pkg:golang/github.com/anchore/syft@v1.0.0"}]},
        "component": {"type": "container", "name": "img", "version": "1",
                      "components": [{"type": "library", "purl": "pkg:npm/inner@1.0.0"}]}
      },
      "components": [
        {"type": "operating-system", "name": "debian", "version": "9.13"},
        {"type": "library", "name": "bash", "version": "4.4-5", "purl": "pkg:deb/debian/bash@4.4-5",
         "components": [{"type": "library", "name": "nested", "purl": "pkg:pypi/Nested_Pkg@2.0",
                         "components": [{"type": "library", "name": "deeper", "cpe": "cpe:2.3:a:x:deeper:1:*:*:*:*:*:*:*"}]}]},
        {"type": "file", "name": "/etc/passwd"},
        {"type": "library", "name": "mystery"},
        {"type": "library", "name": "bad", "purl": "not a purl"}
      ]
    }"#;
    let inv = parse(InventoryFormat::CycloneDxJson, "nested.json", json);
    let shown: Vec<String> = inv.packages.iter().map(show).collect();
    assert_eq!(
        shown,
        [
            "npm inner 1.0.0",
            "Debian:9 bash 4.4-5",
            "PyPI nested-pkg 2.0",
            // No purl, but a CPE name: CPE-only software, for NVD's configurations.
            "CPE x:deeper 1"
        ]
    );
    assert_eq!(inv.os.as_deref(), Some("debian 9.13"));
    let notes: Vec<String> = inv
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.location, n.message))
        .collect();
    assert_eq!(
        notes,
        [
            "$.components[3]: mystery: no purl or CPE, so it cannot be matched",
            "$.components[4]: bad: invalid package URL \"not a purl\": missing scheme",
        ]
    );
    // The same BOM as XML (1.5 namespace), with a tools component that must not count either.
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1">
  <metadata>
    <tools><components><component type="application"><name>syft</name><purl>pkg:golang/github.com/anchore/syft@v1.0.0</purl></component></components></tools>
    <component type="container"><name>img</name><version>1</version>
      <components><component type="library"><purl>pkg:npm/inner@1.0.0</purl></component></components>
    </component>
  </metadata>
  <components>
    <component type="operating-system"><name>debian</name><version>9.13</version></component>
    <component type="library"><name>bash</name><version>4.4-5</version><purl><![CDATA[pkg:deb/debian/bash@4.4-5]]></purl>
      <components><component type="library"><name>nested</name><purl>pkg:pypi/Nested_Pkg@2.0</purl>
        <components><component type="library"><name>deeper</name><cpe>cpe:2.3:a:x:deeper:1:*:*:*:*:*:*:*</cpe></component></components>
      </component></components>
    </component>
    <component type="file"><name>/etc/passwd</name></component>
    <component type="library"><name>mystery</name></component>
    <component type="library"><name>bad</name><purl>not a purl</purl></component>
    <ext:component xmlns:ext="urn:example"><ext:purl>pkg:npm/ignored@1.0.0</ext:purl></ext:component>
  </components>
</bom>"#;
    let from_xml = parse(InventoryFormat::CycloneDxXml, "nested.xml", xml);
    assert_eq!(from_xml.packages, inv.packages);
    assert_eq!(from_xml.os, inv.os);
    let xml_notes: Vec<String> = from_xml
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.location, n.message))
        .collect();
    assert_eq!(
        xml_notes,
        [
            "line 17: mystery: no purl or CPE, so it cannot be matched",
            "line 18: bad: invalid package URL \"not a purl\": missing scheme",
        ]
    );
}

/// Components with a CPE name and no purl, as CycloneDX JSON, CycloneDX XML, SPDX JSON and SPDX
/// tag-value write them: (name, version, CPE).
const CPE_ONLY: [(&str, &str, &str); 5] = [
    (
        "struts",
        "2.3.5",
        "cpe:2.3:a:apache:struts:2.3.5:*:*:*:*:*:*:*",
    ),
    ("curl", "8.0.1", "cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*"),
    ("thing", "", "cpe:2.3:a:acme:thing:4.2"),
    ("anything", "1", "cpe:2.3:a:*:anything:1:*:*:*:*:*:*:*"),
    ("broken", "1", "cpe:/a:acme:broken:1"),
];

/// A version, or `None` for the empty string.
fn version(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

#[test]
fn cpe_only_components_are_cpe_software() {
    let cdx_json_components: Vec<String> = CPE_ONLY
        .iter()
        .map(|(name, v, cpe)| match version(v) {
            Some(v) => format!(
                r#"{{"type": "library", "name": "{name}", "version": "{v}", "cpe": "{cpe}"}}"#
            ),
            None => format!(r#"{{"type": "library", "name": "{name}", "cpe": "{cpe}"}}"#),
        })
        .collect();
    let cdx_xml_components: Vec<String> = CPE_ONLY
        .iter()
        .map(|(name, v, cpe)| {
            let v = version(v)
                .map(|v| format!("<version>{v}</version>"))
                .unwrap_or_default();
            format!(
                r#"<component type="library"><name>{name}</name>{v}<cpe>{cpe}</cpe></component>"#
            )
        })
        .collect();
    let spdx_packages: Vec<String> = CPE_ONLY
        .iter()
        .enumerate()
        .map(|(i, (name, v, cpe))| {
            let v = version(v).map(|v| format!(r#""versionInfo": "{v}","#)).unwrap_or_default();
            format!(
                r#"{{"name": "{name}", "SPDXID": "SPDXRef-{i}", {v} "downloadLocation": "NOASSERTION",
                    "externalRefs": [{{"referenceCategory": "SECURITY", "referenceType": "cpe23Type",
                                       "referenceLocator": "{cpe}"}}]}}"#
            )
        })
        .collect();
    let spdx_tags: Vec<String> = CPE_ONLY
        .iter()
        .enumerate()
        .map(|(i, (name, v, cpe))| {
            let v = version(v).map(|v| format!("PackageVersion: {v}\n")).unwrap_or_default();
            format!("PackageName: {name}\nSPDXID: SPDXRef-{i}\n{v}ExternalRef: SECURITY cpe23Type {cpe}\n")
        })
        .collect();
    let documents = [
        (InventoryFormat::CycloneDxJson, cdx_json(&format!("[{}]", cdx_json_components.join(",")))),
        (InventoryFormat::CycloneDxXml, cdx_xml("1.6", &cdx_xml_components.join("\n"))),
        (
            InventoryFormat::SpdxJson,
            format!(
                r#"{{"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
                    "name": "cpe-only", "documentNamespace": "https://example.invalid/cpe-only",
                    "creationInfo": {{"created": "2024-01-01T00:00:00Z", "creators": ["Tool: hand"]}},
                    "packages": [{}]}}"#,
                spdx_packages.join(",")
            )
            .into_bytes(),
        ),
        (
            InventoryFormat::SpdxTagValue,
            format!("SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n\n{}", spdx_tags.join("\n")).into_bytes(),
        ),
    ];
    for (format, bytes) in documents {
        let inv = parse(format, "cpe-only", &bytes);
        let packages: Vec<(String, Option<&str>)> = inv
            .packages
            .iter()
            .map(|p| (show(p), p.cpe.as_deref()))
            .collect();
        assert_eq!(
            packages,
            [
                // The CPE name is kept as given; one without a version gets the component's, so that
                // NVD's ranges can judge it; a component without a version takes the CPE's.
                ("CPE apache:struts 2.3.5".to_string(), Some(CPE_ONLY[0].2)),
                (
                    "CPE haxx:libcurl 8.0.1".to_string(),
                    Some("cpe:2.3:a:haxx:libcurl:8.0.1:*:*:*:*:*:*:*")
                ),
                ("CPE acme:thing 4.2".to_string(), Some(CPE_ONLY[2].2)),
            ],
            "{format:?}"
        );
        assert!(
            inv.packages
                .iter()
                .all(|p| p.ecosystem.ecosystem == Ecosystem::Cpe && p.purl.is_none())
        );
        let notes: Vec<&str> = inv.notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(
            notes,
            [
                "anything 1: no purl, and the CPE name cannot stand for it: the CPE name does not name \
                 one vendor and product",
                "broken 1: no purl, and the CPE name cannot stand for it: `cpe:/a:acme:broken:1` is not \
                 a CPE 2.3 formatted string (it must start with `cpe:2.3:`)",
            ],
            "{format:?}"
        );
    }
}

#[test]
fn cpe_only_binaries_of_distribution_packages_are_left_to_the_distribution() {
    let bom = cdx_json(
        r#"[
        {"type": "library", "name": "openssh-server", "version": "1:9.2p1-2+deb12u2",
         "purl": "pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u2?distro=debian-12&upstream=openssh"},
        {"type": "application", "name": "sshd", "version": "9.2p1",
         "cpe": "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*"},
        {"type": "application", "name": "sshd", "version": "9.8p1",
         "cpe": "cpe:2.3:a:openbsd:openssh:9.8p1:*:*:*:*:*:*:*"}
    ]"#,
    );
    let inv = parse(InventoryFormat::CycloneDxJson, "debian.cdx.json", &bom);
    let shown: Vec<String> = inv.packages.iter().map(show).collect();
    // The binary of Debian's package (same upstream version) is Debian's to judge: backports make
    // NVD's upstream ranges wrong for it. Another version is software of its own.
    assert_eq!(
        shown,
        [
            "Debian:12 openssh-server 1:9.2p1-2+deb12u2",
            "CPE openbsd:openssh 9.8p1"
        ]
    );
    let notes: Vec<String> = inv
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.location, n.message))
        .collect();
    assert_eq!(
        notes,
        [
            "$.components[1]: sshd 9.2p1: no purl, and the Debian openssh-server 1:9.2p1-2+deb12u2 \
          package ships it, so the distribution's advisories judge it rather than NVD's upstream ranges"
        ]
    );
}

#[test]
fn cyclonedx_xml_every_schema_version() {
    for version in ["1.2", "1.3", "1.4", "1.5", "1.6"] {
        let xml = cdx_xml(
            version,
            "<component type=\"library\"><name>x</name><purl>pkg:cargo/x@1.0.0</purl></component>",
        );
        let inv = parse(InventoryFormat::CycloneDxXml, version, &xml);
        assert_eq!(
            inv.packages.iter().map(show).collect::<Vec<_>>(),
            ["crates.io x 1.0.0"],
            "{version}"
        );
    }
}

#[test]
fn cyclonedx_json_hostile_inputs() {
    let f = InventoryFormat::CycloneDxJson;
    let good = cdx_json(r#"[{"type": "library", "name": "a", "purl": "pkg:npm/a@1.0.0"}]"#);
    let truncated = &good[..good.len() - 10];
    assert_contains(
        &error(f, truncated),
        "hostile: $.components[0].purl: EOF while parsing",
    );
    assert_contains(
        &error(f, &cdx_json("5")),
        "hostile: $.components: invalid type: integer `5`, expected a sequence",
    );
    assert_contains(
        &error(
            f,
            &cdx_json(r#"[{"name": "a"}, {"purl": ["pkg:npm/a@1"]}]"#),
        ),
        "hostile: $.components[1].purl: invalid type: sequence, expected a string",
    );
    assert_contains(
        &error(f, br#"{"bomFormat": "SPDX", "components": []}"#),
        "hostile: $.bomFormat: expected \"CycloneDX\", found \"SPDX\"",
    );
    assert_contains(
        &error(f, br#"{"components": []}"#),
        "hostile: $.bomFormat: missing",
    );
    assert_contains(
        &error(f, b"[1, 2]"),
        "hostile: $[0]: invalid type: integer `1`, expected a string at line 1 column 2",
    );
    assert_contains(
        &error(f, b""),
        "hostile: $: EOF while parsing a value at line 1 column 0",
    );
    assert_contains(
        &error(f, &[good.as_slice(), b" trailing"].concat()),
        "hostile: $: trailing characters",
    );
    let huge = cdx_json(&format!(
        r#"[{{"name": "{}", "purl": "pkg:npm/a@1"}}]"#,
        "n".repeat(10 << 20)
    ));
    assert_eq!(
        error(f, &huge),
        "hostile: $.components[0].name: value is 10485760 bytes long; Bulwark reads at most 65536"
    );
    let mut non_utf8 = cdx_json(r#"[{"name": "ab", "purl": "pkg:npm/a@1"}]"#);
    let at = non_utf8.windows(3).position(|w| w == b"ab\"").expect("ab") + 1;
    non_utf8[at] = 0xFF;
    assert_contains(
        &error(f, &non_utf8),
        "hostile: $.components[0].name: invalid unicode code point",
    );
    // 10,000 levels of nesting: serde_json's recursion limit refuses it instead of overflowing the stack.
    let depth = 10_000;
    let deep = format!(
        r#"{{"bomFormat": "CycloneDX", "components": {}{}}}"#,
        r#"[{"purl": "pkg:npm/a@1", "components": "#.repeat(depth),
        "]}".repeat(depth)
    );
    let message = error(f, deep.as_bytes());
    assert_contains(&message, "recursion limit exceeded");
    assert_contains(&message, "nested more than 128 levels deep is refused");
    assert!(
        message.starts_with("hostile: $.components[0].components[0].components[0]"),
        "{message}"
    );
}

#[test]
fn cyclonedx_xml_hostile_inputs() {
    let f = InventoryFormat::CycloneDxXml;
    let good = cdx_xml(
        "1.4",
        "<component type=\"library\"><name>a</name><purl>pkg:npm/a@1.0.0</purl></component>",
    );
    let cut = String::from_utf8(good.clone())
        .expect("utf-8")
        .find("</purl>")
        .expect("purl");
    assert_eq!(
        error(f, &good[..cut]),
        "hostile: line 4, column 62: the file ends inside a component field: it is truncated"
    );
    assert_eq!(
        error(f, &good[..cut - 21]),
        "hostile: line 4, column 41: the file ends inside <component>: it is truncated"
    );
    assert_eq!(
        error(f, &good[..cut - 30]),
        "hostile: line 4, column 27: syntax error: tag not closed: `>` not found before end of input"
    );
    assert_contains(
        &error(f, br#"<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components></component></components></bom>"#),
        "hostile: line 1, column 62: ill-formed document: expected `</components>`, but `</component>` was found",
    );
    assert_eq!(
        error(f, br#"<?xml version="1.0"?><bom><components/></bom>"#),
        "hostile: line 1, column 22: the root element <bom> is not a CycloneDX <bom> (namespace http://cyclonedx.org/schema/bom/1.x)"
    );
    assert_eq!(
        error(f, br#"<spdx xmlns="http://cyclonedx.org/schema/bom/1.4"/>"#),
        "hostile: line 1, column 1: the root element <spdx> is not a CycloneDX <bom> (namespace http://cyclonedx.org/schema/bom/1.x)"
    );
    assert_eq!(
        error(
            f,
            br#"<bom xmlns="http://cyclonedx.org/schema/bom/1.4"/><bom xmlns="http://cyclonedx.org/schema/bom/1.4"/>"#
        ),
        "hostile: line 1, column 51: a second root element"
    );
    assert_eq!(
        error(f, b""),
        "hostile: line 1, column 1: no <bom> element: the file is empty or not XML"
    );
    assert_contains(
        &error(
            f,
            &cdx_xml("1.4", "<component><name>a &bogus; b</name></component>"),
        ),
        "hostile: line 4, column 18: ",
    );
    let huge = cdx_xml(
        "1.4",
        &format!(
            "<component><name>{}</name></component>",
            "n".repeat(10 << 20)
        ),
    );
    assert_eq!(
        error(f, &huge),
        "hostile: line 4, column 18: <name> is 10485760 bytes long; Bulwark reads at most 65536"
    );
    let mut non_utf8 = cdx_xml(
        "1.4",
        "<component><name>ab</name><purl>pkg:npm/a@1</purl></component>",
    );
    let at = String::from_utf8(non_utf8.clone())
        .expect("utf-8")
        .find("ab<")
        .expect("ab")
        + 1;
    non_utf8[at] = 0xFF;
    assert_contains(&error(f, &non_utf8), "hostile: line 4, column 18: ");
    // 10,000 nested components: the reader keeps its own stack, so this parses (and all 10,000 count).
    let depth = 10_000;
    let mut deep = String::new();
    for i in 0..depth {
        deep.push_str(&format!(
            "<component><purl>pkg:npm/p{i}@1.0.0</purl><components>"
        ));
    }
    for _ in 0..depth {
        deep.push_str("</components></component>");
    }
    let deep = cdx_xml("1.6", &deep);
    let inv = f.parse("deep.xml", &deep).expect("deep XML parses");
    assert_eq!(inv.packages.len(), depth);
    assert_eq!(inv.packages[9_999].name, "p9999");
    // ... and a truncated deep document is an error, not a crash.
    let half = deep[..deep.len() / 2]
        .iter()
        .rposition(|&b| b == b'>')
        .expect("a tag")
        + 1;
    assert_contains(&error(f, &deep[..half]), "the file ends inside");
}

#[test]
fn spdx_json_hostile_inputs() {
    let f = InventoryFormat::SpdxJson;
    let good = br#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": [
        {"name": "a", "versionInfo": "1", "externalRefs": [
          {"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/a@1"}]}]}"#;
    let inv = parse(f, "good", good);
    assert_eq!(
        inv.packages.iter().map(show).collect::<Vec<_>>(),
        ["npm a 1"]
    );
    assert_contains(
        &error(f, &good[..good.len() - 5]),
        "hostile: $.packages[0].externalRefs[0]: EOF while parsing an object at line 3 column 109",
    );
    assert_contains(
        &error(f, br#"{"spdxVersion": "SPDX-2.3", "packages": 5}"#),
        "hostile: $.packages: invalid type: integer `5`, expected a sequence",
    );
    assert_contains(
        &error(f, br#"{"spdxVersion": "SPDX-2.3", "packages": [{"externalRefs": [{"referenceLocator": 7}]}]}"#),
        "hostile: $.packages[0].externalRefs[0].referenceLocator: invalid type: integer `7`, expected a string",
    );
    assert_eq!(
        error(f, br#"{"spdxVersion": "SPDX-3.0", "packages": []}"#),
        "hostile: $.spdxVersion: expected SPDX-2.x, found \"SPDX-3.0\""
    );
    let huge = format!(
        r#"{{"spdxVersion": "SPDX-2.3", "packages": [{{"name": "a", "externalRefs": [{{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/{}@1"}}]}}]}}"#,
        "a".repeat(10 << 20)
    );
    assert_eq!(
        error(f, huge.as_bytes()),
        "hostile: $.packages[0].externalRefs[0].referenceLocator: value is 10485770 bytes long; Bulwark reads at most 65536"
    );
    let deep = format!(
        r#"{{"spdxVersion": "SPDX-2.3", "packages": [{{"name": {}1{}}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_contains(
        &error(f, deep.as_bytes()),
        "hostile: $.packages[0].name: invalid type: sequence",
    );
    let deep_ignored = format!(
        r#"{{"spdxVersion": "SPDX-2.3", "annotations": {}1{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    // Values Bulwark does not read are skipped by serde_json without recursion, at any depth.
    let inv = f
        .parse("deep", deep_ignored.as_bytes())
        .expect("deep ignored value");
    assert_eq!((inv.packages.len(), inv.notes.len()), (0, 0));
    let non_utf8 = b"{\"spdxVersion\": \"SPDX-2.3\", \"packages\": [{\"name\": \"\xC3\x28\"}]}";
    assert_contains(
        &error(f, non_utf8),
        "hostile: $.packages[0].name: invalid unicode code point",
    );
}

#[test]
fn spdx3_hostile_inputs() {
    let f = InventoryFormat::Spdx3;
    let good = br#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [
        {"type": "software_Package", "spdxId": "urn:a", "name": "a", "software_packageVersion": "1.0",
         "externalIdentifier": [{"type": "ExternalIdentifier", "externalIdentifierType": "packageUrl", "identifier": "pkg:gem/a@1.0"},
                                {"type": "ExternalIdentifier", "externalIdentifierType": "cpe23", "identifier": "cpe:2.3:a:x:a:1.0:*:*:*:*:*:*:*"}]},
        {"type": "software_Package", "name": "os", "software_packageVersion": "12", "software_primaryPurpose": "operatingSystem"},
        {"type": "software_File", "name": "f", "software_packageUrl": "pkg:npm/not-a-package@1"}]}"#;
    let inv = parse(f, "good", good);
    assert_eq!(
        inv.packages.iter().map(show).collect::<Vec<_>>(),
        ["RubyGems a 1.0"]
    );
    assert_eq!(
        inv.packages[0].cpe.as_deref(),
        Some("cpe:2.3:a:x:a:1.0:*:*:*:*:*:*:*")
    );
    assert_eq!(inv.os.as_deref(), Some("os 12"));
    assert_contains(
        &error(f, &good[..200]),
        "hostile: $.@graph[0]: EOF while parsing a string at line 3 column 22",
    );
    assert_contains(
        &error(f, br#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": {"type": "x"}}"#),
        "hostile: $.@graph: invalid type: map, expected a sequence",
    );
    assert_eq!(
        error(
            f,
            br#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"}"#
        ),
        "hostile: $.@graph: missing: not an SPDX 3 JSON-LD document"
    );
    let huge = format!(
        r#"{{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [{{"type": "software_Package", "software_packageVersion": "{}"}}]}}"#,
        "1".repeat(10 << 20)
    );
    assert_eq!(
        error(f, huge.as_bytes()),
        "hostile: $.@graph[0].software_packageVersion: value is 10485760 bytes long; Bulwark reads at most 65536"
    );
    let deep = format!(
        r#"{{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [{{"verifiedUsing": {}{}}}]}}"#,
        "{\"a\": ".repeat(10_000) + "1",
        "}".repeat(10_000)
    );
    let inv = f
        .parse("deep", deep.as_bytes())
        .expect("deep ignored value");
    assert_eq!((inv.packages.len(), inv.notes.len()), (0, 0));
    let deep_typed = format!(
        r#"{{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [{{"externalIdentifier": [{}1{}]}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_contains(
        &error(f, deep_typed.as_bytes()),
        "hostile: $.@graph[0].externalIdentifier[0][0]: invalid type: sequence, expected a string at line 1 column 99",
    );
    let non_utf8 = b"{\"@context\": \"https://spdx.org/rdf/3.0.1/spdx-context.jsonld\", \"@graph\": [{\"name\": \"\xFF\"}]}";
    assert_contains(
        &error(f, non_utf8),
        "hostile: $.@graph[0].name: invalid unicode code point",
    );
}

#[test]
fn spdx_tag_value_parsing_and_hostile_inputs() {
    let f = InventoryFormat::SpdxTagValue;
    let good = "SPDXVersion: SPDX-2.3\r\nDataLicense: CC0-1.0\r\n# a comment\r\n\r\n\
PackageName: openssl\r\nSPDXID: SPDXRef-openssl\r\nPackageVersion: 3.0.11-1~deb12u2\r\n\
PackageComment: <text>first line\r\nPackageName: inside a text value is not a package\r\nlast line</text>\r\n\
ExternalRef: SECURITY cpe23Type cpe:2.3:a:openssl:openssl:3.0.11:*:*:*:*:*:*:*\r\n\
ExternalRef: PACKAGE-MANAGER purl pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12\r\n\
ExternalRefComment: <text>x</text>\r\n\n\
PackageName: debian\nPackageVersion: 12\nPrimaryPackagePurpose: OPERATING-SYSTEM\n\n\
PackageName: no-purl\nPackageVersion: 1\n\n\
FileName: ./a.c\nFileType: SOURCE\n";
    let inv = parse(f, "good.spdx", good.as_bytes());
    assert_eq!(
        inv.packages.iter().map(show).collect::<Vec<_>>(),
        ["Debian:12 openssl 3.0.11-1~deb12u2"]
    );
    assert_eq!(
        inv.packages[0].cpe.as_deref(),
        Some("cpe:2.3:a:openssl:openssl:3.0.11:*:*:*:*:*:*:*")
    );
    assert_eq!(inv.os.as_deref(), Some("debian 12"));
    let notes: Vec<String> = inv
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.location, n.message))
        .collect();
    assert_eq!(
        notes,
        ["line 19: no-purl 1: no purl or CPE, so it cannot be matched"]
    );

    let lines: Vec<&str> = good.split('\n').collect();
    let truncated = lines[..9].join("\n");
    assert_eq!(
        error(f, truncated.as_bytes()),
        "hostile: line 8: PackageComment: <text> is never closed by </text>"
    );
    assert_eq!(
        error(
            f,
            b"SPDXVersion: SPDX-2.2\nPackageName: a\nthis line has no tag\n"
        ),
        "hostile: line 3: expected `Tag: value`, found \"this line has no tag\""
    );
    assert_eq!(
        error(f, b"SPDXVersion: SPDX-2.2\nPackageVersion: 1\n"),
        "hostile: line 2: PackageVersion outside a package (no PackageName before it)"
    );
    assert_eq!(
        error(
            f,
            b"SPDXVersion: SPDX-2.2\nPackageName: a\nExternalRef: PACKAGE-MANAGER purl\n"
        ),
        "hostile: line 3: ExternalRef needs CATEGORY TYPE LOCATOR, found \"PACKAGE-MANAGER purl\""
    );
    assert_eq!(
        error(
            f,
            b"SPDXVersion: SPDX-2.2\nPackageName: a\nFileName: ./a.c\nExternalRef: PACKAGE-MANAGER purl pkg:npm/a@1\n"
        ),
        "hostile: line 4: ExternalRef outside a package (no PackageName before it)"
    );
    assert_eq!(
        error(f, b"SPDXVersion: 5\n"),
        "hostile: line 1: SPDXVersion \"5\" is not SPDX 2.x"
    );
    assert_eq!(
        error(f, b"DataLicense: CC0-1.0\n"),
        "hostile: line 1: no SPDXVersion tag: not an SPDX tag-value document"
    );
    assert_eq!(
        error(f, b"PackageName: a\nSPDXVersion: SPDX-2.2\n"),
        "hostile: line 1: PackageName before SPDXVersion: not an SPDX document"
    );
    let huge = format!(
        "SPDXVersion: SPDX-2.2\nPackageName: {}\n",
        "n".repeat(10 << 20)
    );
    assert_eq!(
        error(f, huge.as_bytes()),
        "hostile: line 2: PackageName is 10485760 bytes long; Bulwark reads at most 65536"
    );
    assert_eq!(
        error(f, b"SPDXVersion: SPDX-2.2\nPackageName: a\xFFb\n"),
        "hostile: line 2: not valid UTF-8 (at byte 15 of the line)"
    );
    // Tag-value has no nesting; a long multi-line <text> is just a long value.
    let long_text = format!(
        "SPDXVersion: SPDX-2.2\nPackageName: a\nPackageComment: <text>{}</text>\nPackageVersion: 1\n",
        "x\n".repeat(10_000)
    );
    assert_eq!(
        f.parse("long", long_text.as_bytes())
            .expect("parses")
            .notes
            .len(),
        1
    );
}

#[test]
fn detection_tells_the_formats_apart() {
    let cases: [(&[u8], Option<InventoryFormat>); 8] = [
        (
            b"\xEF\xBB\xBF  {\"bomFormat\" : \"CycloneDX\"}",
            Some(InventoryFormat::CycloneDxJson),
        ),
        (
            b"<?xml version=\"1.0\"?><bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"/>",
            Some(InventoryFormat::CycloneDxXml),
        ),
        (
            b"{\"spdxVersion\": \"SPDX-2.3\"}",
            Some(InventoryFormat::SpdxJson),
        ),
        (
            b"{\"SPDXID\": \"SPDXRef-DOCUMENT\", \"packages\": []}",
            Some(InventoryFormat::SpdxJson),
        ),
        (
            b"{\"@context\": \"https://spdx.org/rdf/3.0.1/spdx-context.jsonld\", \"@graph\": []}",
            Some(InventoryFormat::Spdx3),
        ),
        (
            b"# comment\n\nSPDXVersion: SPDX-2.2\n",
            Some(InventoryFormat::SpdxTagValue),
        ),
        (b"{\"bomFormat\": \"Other\"}", None),
        (b"<bom xmlns=\"urn:other\"/>", None),
    ];
    for (bytes, expected) in cases {
        let got = [
            InventoryFormat::CycloneDxJson,
            InventoryFormat::CycloneDxXml,
            InventoryFormat::SpdxJson,
            InventoryFormat::Spdx3,
            InventoryFormat::SpdxTagValue,
        ]
        .into_iter()
        .find(|f| f.detect(bytes));
        assert_eq!(got, expected, "{}", String::from_utf8_lossy(bytes));
    }
}
