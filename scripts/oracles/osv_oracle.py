#!/usr/bin/env python3
"""An independent OSV matcher, written from the OSV specification, used as the oracle for Bulwark's matching.

It shares no code with Bulwark: versions are compared with Python's `packaging` (PEP 440, for PyPI) and the
`semver` package (SemVer 2.0, for SEMVER ranges such as Go's), and ranges are evaluated with the specification's
reference algorithm (https://ossf.github.io/osv-schema/#evaluation). It prints one TSV row per finding:
`package<TAB>version<TAB>advisory_id`, sorted.

Usage:
  osv_oracle.py --advisories ARCHIVE.tar.zst --ecosystem PyPI --requirements FILE
  osv_oracle.py --advisories ARCHIVE.tar.zst --ecosystem Go --cyclonedx FILE
Needs: python3 with `packaging`, `semver` and `pyyaml` (pip install packaging semver pyyaml), and `zstd`.
"""

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile

import semver
import yaml
from packaging.version import InvalidVersion, Version


def load_advisories(archive):
    raw = subprocess.run(["zstd", "-dc", archive], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name
            data = tar.extractfile(member).read()
            if name.endswith(".json"):
                record = json.loads(data)
            elif name.endswith((".yaml", ".yml")):
                record = yaml.safe_load(data)
            else:
                continue
            if isinstance(record, dict) and "id" in record and "modified" in record:
                yield record


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def go_semver(text):
    text = text[1:] if text.startswith("v") else text
    text = text.split("+", 1)[0]
    return semver.Version.parse(text)


class Scheme:
    def __init__(self, ecosystem):
        self.ecosystem = ecosystem

    def parse(self, text, range_type):
        if self.ecosystem == "PyPI" and range_type == "ECOSYSTEM":
            return Version(text)
        return go_semver(text)

    def name(self, text):
        return pep503(text) if self.ecosystem == "PyPI" else text


def affected(version_text, entry, scheme):
    """The OSV reference evaluation: explicit versions, then each SEMVER/ECOSYSTEM range."""
    if version_text in (entry.get("versions") or []):
        return True
    for rng in entry.get("ranges") or []:
        kind = rng.get("type")
        if kind not in ("SEMVER", "ECOSYSTEM"):
            continue
        v = scheme.parse(version_text, kind)
        events = []
        for ev in rng.get("events", []):
            ((what, text),) = ev.items()
            if what == "introduced" and text == "0":
                events.append((0, None, what))
            else:
                events.append((1, scheme.parse(text, kind), what))
        order = {"introduced": 0, "fixed": 1, "last_affected": 2, "limit": 3}
        # Stable sorts: by kind first, then by version, so equal versions keep introduced before fixed.
        events = sorted(events, key=lambda e: order[e[2]])
        events = sorted(events, key=_VersionKey)
        vulnerable = False
        for _, ev_version, what in events:
            if what == "introduced" and (ev_version is None or v >= ev_version):
                vulnerable = True
            elif what == "fixed" and v >= ev_version:
                vulnerable = False
            elif what == "last_affected" and v > ev_version:
                vulnerable = False
            elif what == "limit" and v >= ev_version:
                vulnerable = False
                break
        if vulnerable:
            return True
    return False


class _VersionKey:
    """Sort key: the "0" introduced event first, then by version."""

    def __init__(self, event):
        self.event = event

    def __lt__(self, other):
        a, b = self.event[1], other.event[1]
        if a is None:
            return b is not None
        if b is None:
            return False
        return a < b


def requirements(path):
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*===?\s*([^\s;\\]+)", line)
        if m:
            yield m.group(1), m.group(3)


def cyclonedx_go(path):
    doc = json.load(open(path, encoding="utf-8"))
    stack = list(doc.get("components") or [])
    while stack:
        c = stack.pop()
        stack.extend(c.get("components") or [])
        purl = c.get("purl") or ""
        if purl.startswith("pkg:golang/") and "@" in purl:
            path_part, version = purl[len("pkg:golang/"):].split("?", 1)[0].rsplit("@", 1)
            yield path_part, version


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advisories", required=True)
    ap.add_argument("--ecosystem", required=True, choices=["PyPI", "Go"])
    ap.add_argument("--requirements")
    ap.add_argument("--cyclonedx")
    args = ap.parse_args()
    scheme = Scheme(args.ecosystem)
    packages = list(requirements(args.requirements) if args.requirements else cyclonedx_go(args.cyclonedx))
    by_name = {}
    for record in load_advisories(args.advisories):
        if record.get("withdrawn"):
            continue
        for entry in record.get("affected") or []:
            pkg = entry.get("package") or {}
            if pkg.get("ecosystem") != args.ecosystem:
                continue
            by_name.setdefault(scheme.name(pkg["name"]), []).append((record["id"], entry))
    rows = set()
    for name, version in packages:
        for advisory_id, entry in by_name.get(scheme.name(name), []):
            try:
                if affected(version, entry, scheme):
                    rows.add((name, version, advisory_id))
            except (InvalidVersion, ValueError) as e:
                print(f"unassessed\t{name}\t{version}\t{advisory_id}\t{e}", file=sys.stderr)
    for row in sorted(rows):
        print("\t".join(row))


if __name__ == "__main__":
    main()
