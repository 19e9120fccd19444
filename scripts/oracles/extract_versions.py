#!/usr/bin/env python3
"""Extracts real version strings per version scheme from the shared third-party data.

Usage: extract_versions.py SHARED_DATA_DIR OUT_DIR
Writes OUT_DIR/<scheme>.txt (one version per line, unique, sorted). Needs python3-yaml and zstd.
"""
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

DATA = Path(sys.argv[1])
OUT = Path(sys.argv[2])
OUT.mkdir(parents=True, exist_ok=True)


def members(archive):
    """Yields (name, bytes) for every regular file of a .tar.zst under the shared data."""
    raw = subprocess.run(["zstd", "-dc", str(DATA / archive)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        for member in tar:
            if member.isfile():
                yield member.name, tar.extractfile(member).read()


def osv_versions(doc, ecosystem_prefix=None):
    """Versions named in an OSV record's affected[].versions and ranges[].events (not GIT ranges)."""
    for affected in doc.get("affected", []) or []:
        eco = (affected.get("package") or {}).get("ecosystem", "")
        if ecosystem_prefix and not eco.startswith(ecosystem_prefix):
            continue
        for version in affected.get("versions", []) or []:
            yield version
        for rng in affected.get("ranges", []) or []:
            if rng.get("type") == "GIT":
                continue
            for event in rng.get("events", []) or []:
                for key in ("introduced", "fixed", "last_affected"):
                    if key in event and event[key] != "0":
                        yield event[key]


# Version-looking tokens inside requirement strings (">= 1.2.3", "~> 2.0", "<=1.5.1 || >=2.0.0 <2.1.1").
REQ_TOKEN = re.compile(r"(?:^|[\s<>=~^!,|(])v?(\d[0-9A-Za-z.+_-]*)")


def requirement_versions(text):
    for match in REQ_TOKEN.finditer(str(text)):
        yield match.group(1).rstrip(".,")


def collect():
    found = {scheme: set() for scheme in
             ["semver", "npm", "go", "pep440", "maven", "rubygems", "composer", "dpkg", "rpm", "apk"]}

    # Semver: RustSec OSV export and Cargo.lock files.
    for name, data in members("advisories/rustsec-osv/rustsec-osv.tar.zst"):
        if name.endswith(".json"):
            found["semver"].update(osv_versions(json.loads(data)))
    for lock in (DATA / "inventories/lockfiles/cargo").glob("*.lock"):
        found["semver"].update(re.findall(r'^version = "([^"]+)"', lock.read_text(), re.M))

    # Go: the Go vulndb (OSV, versions without "v") and a go.mod.
    for name, data in members("advisories/go/golang-vulndb-osv.tar.zst"):
        if name.endswith(".json"):
            found["go"].update(osv_versions(json.loads(data)))
    for mod in (DATA / "inventories/lockfiles/go").glob("*.go.mod"):
        found["go"].update(re.findall(r"\s(v\d[^\s/]*)", mod.read_text()))

    # PEP 440: PyPA advisories (OSV YAML) and DefectDojo requirements files.
    for name, data in members("advisories/pypa/pypa-advisory-database.tar.zst"):
        if name.endswith(".yaml"):
            found["pep440"].update(str(v) for v in osv_versions(yaml.safe_load(data)))
    for req in (DATA / "inventories/lockfiles/python").glob("*.txt"):
        found["pep440"].update(re.findall(r"^[A-Za-z0-9_.\[\]-]+==([^\s;#]+)", req.read_text(), re.M))

    # Maven: GHSA Maven advisories and the Zeppelin dependency universe.
    for name, data in members("advisories/ghsa-maven-osv/ghsa-maven-osv.tar.zst"):
        if name.startswith("osv-split/") and name.endswith(".json"):
            found["maven"].update(osv_versions(json.loads(data)))
    for name, data in members("inventories/maven-zeppelin/zeppelin-server-0.11.1-maven.tar.zst"):
        if name.endswith("universe.yaml"):
            schema = yaml.safe_load(data)["schema"]
            found["maven"].update(re.findall(r"^\t(\S+)$", schema, re.M))
            found["maven"].update(re.findall(r"@([^\s@|]+)$", schema, re.M))

    # RubyGems: RubySec advisories' patched and unaffected requirements.
    for name, data in members("advisories/rubysec-yaml/ruby-advisory-db.tar.zst"):
        if name.endswith(".yml") and "/gems/" in name:
            doc = yaml.safe_load(data) or {}
            for key in ("patched_versions", "unaffected_versions"):
                for req in doc.get(key) or []:
                    found["rubygems"].update(requirement_versions(req))

    # npm: Node.js Security WG npm advisories and package-lock.json files.
    for name, data in members("advisories/nodejs-security-wg/nodejs-security-wg-vuln.tar.zst"):
        if "/vuln/npm/" in name and name.endswith(".json"):
            doc = json.loads(data)
            for key in ("vulnerable_versions", "patched_versions"):
                found["npm"].update(requirement_versions(doc.get(key) or ""))
    for lock in (DATA / "inventories/lockfiles/npm").glob("*.json"):
        doc = json.loads(lock.read_text())
        for section in ("packages", "dependencies"):
            for entry in (doc.get(section) or {}).values():
                if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                    found["npm"].add(entry["version"])

    # Composer: the packages of the Laravel SBOM.
    bom = json.loads((DATA / "inventories/cyclonedx-bom-examples/SBOM/laravel-7.12.0/bom.1.4.json").read_text())
    for component in bom.get("components", []):
        if str(component.get("purl", "")).startswith("pkg:composer/") and component.get("version"):
            found["composer"].add(component["version"])

    # dpkg: a Debian 12 status file and its dpkg-query export.
    status = (DATA / "inventories/debian-dpkg/dpkg-status-debian12-bookworm.txt").read_text()
    found["dpkg"].update(re.findall(r"^Version: (\S+)$", status, re.M))
    for line in (DATA / "inventories/debian-dpkg/dpkg-query-packages.tsv").read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 5:
            found["dpkg"].update([fields[1], fields[4]])

    # RPM: AlmaLinux errata, the UBI 9 SPDX SBOM, UBI 8/9 rpm manifests, trivy's RPM-based goldens.
    for name, data in members("advisories/almalinux/almalinux-osv.tar.zst"):
        if name.endswith(".json") and "/advisories/" in name:
            found["rpm"].update(osv_versions(json.loads(data)))
    for name, data in members("inventories/rhel-ubi-claircore/claircore-inventories.tar.zst"):
        text = data.decode("utf-8", "replace")
        if name.endswith("ubi_latest_spdx.json"):
            for package in json.loads(text).get("packages", []):
                purl = " ".join(ref.get("referenceLocator", "") for ref in package.get("externalRefs", []))
                if "pkg:rpm/" in purl and package.get("versionInfo"):
                    found["rpm"].add(package["versionInfo"])
        elif name.endswith(".txtar"):
            # txtar: "-- name --" lines separate JSON documents; the rpm-manifest ones list rpms.
            for section in re.split(r"^-- .* --$", text, flags=re.M):
                section = section.strip()
                if '"rpms"' not in section:
                    continue
                for rpm in json.loads(section).get("rpms", []):
                    found["rpm"].add(f'{rpm["version"]}-{rpm["release"]}')
                    evr = re.search(r"-(\d+:[^-]+-[^-]+)\.src$", rpm["srpm_nevra"])
                    if evr:
                        found["rpm"].add(evr.group(1))
    for name, data in members("inventories/trivy-image-goldens/trivy-image-packages.tar.zst"):
        if name.endswith(".golden") and not any(d in name for d in ("alpine", "debian", "ubuntu", "distroless")):
            for package in json.loads(data):
                if isinstance(package, dict) and package.get("Version"):
                    evr = f'{package["Version"]}-{package["Release"]}' if package.get("Release") else package["Version"]
                    if package.get("Epoch"):
                        evr = f'{package["Epoch"]}:{evr}'
                    found["rpm"].add(evr)

    # apk: installed databases of Alpine 3.10 and 3.18 images, and the Alpine secdb.
    apk_dbs = [(DATA / "inventories/container-images/alpine-3.18.0-lib-apk-db-installed").read_text()]
    for name, data in members("inventories/trivy-image-goldens/trivy-image-packages.tar.zst"):
        if name.endswith("lib-apk-db-installed"):
            apk_dbs.append(data.decode())
    for db in apk_dbs:
        found["apk"].update(re.findall(r"^V:(\S+)$", db, re.M))
    for name, data in members("advisories/alpine-secdb/alpine-secdb.tar.zst"):
        if name.endswith(".yaml"):
            for package in (yaml.safe_load(data) or {}).get("packages") or []:
                found["apk"].update(str(v) for v in ((package.get("pkg") or {}).get("secfixes") or {}))
        elif name.endswith(".json"):
            found["apk"].update(str(v) for v in (json.loads(data).get("secfixes") or {}))

    return found


def main():
    for scheme, versions in collect().items():
        clean = sorted({v.strip() for v in versions if v and v.strip() and "\t" not in v and "\n" not in v})
        (OUT / f"{scheme}.txt").write_text("".join(v + "\n" for v in clean))
        print(f"{scheme}: {len(clean)} versions", file=sys.stderr)


main()
