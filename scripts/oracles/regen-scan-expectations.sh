#!/usr/bin/env bash
# Regenerates the expected findings that crates/cli/tests/oracles.rs compares `bulwark scan` with:
#   - cargo-audit (the RustSec reference tool) on each staged Cargo.lock against the staged RustSec database;
#   - scripts/oracles/osv_oracle.py (an independent OSV matcher) on the DefectDojo requirements against the
#     PyPA database and on the Proton Bridge SBOMs against the Go vulndb.
# Output: crates/cli/tests/data/oracle/<set>/<inventory>.tsv, rows `package<TAB>version<TAB>advisory_id`.
# Needs: cargo-audit (cargo install cargo-audit --locked), git, zstd, jq, python3 with packaging, semver, pyyaml.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${BULWARK_SHARED_DATA:-../shared/data}
out=crates/cli/tests/data/oracle
for tool in cargo-audit git zstd jq python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
python3 -c 'import packaging, semver, yaml' || { echo "pip install packaging semver pyyaml" >&2; exit 1; }
mkdir -p "$out/cargo-audit" "$out/pypa" "$out/go"

# cargo-audit needs the TOML database as a git repository (recipe from the data folder's SOURCE.md).
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
zstd -dc "$data/advisories/rustsec/rustsec-advisory-db.tar.zst" | tar -x -C "$db"
repo=$(find "$db" -maxdepth 2 -name crates -type d | head -n1 | xargs dirname)
(cd "$repo" && git init -q -b main && git add -A && git -c user.name=x -c user.email=x@x commit -qm snapshot)
for lock in "$data"/inventories/lockfiles/cargo/*.Cargo.lock; do
  name=$(basename "$lock" .Cargo.lock)
  # cargo-audit exits 1 when it finds vulnerabilities; the JSON is what matters.
  cargo audit --db "$repo" --no-fetch --no-yanked --json -f "$lock" > "$db/report.json" || true
  jq -r '.vulnerabilities.list[] | [.package.name, .package.version, .advisory.id] | @tsv' "$db/report.json" \
    | LC_ALL=C sort -u > "$out/cargo-audit/$name.vulnerabilities.tsv"
  jq -r '.warnings | to_entries[] | .value[] | select(.advisory != null)
         | [.package.name, .package.version, .advisory.id] | @tsv' "$db/report.json" \
    | LC_ALL=C sort -u > "$out/cargo-audit/$name.warnings.tsv"
done

for req in "$data"/inventories/lockfiles/python/*.requirements.txt; do
  name=$(basename "$req" .requirements.txt)
  python3 scripts/oracles/osv_oracle.py --ecosystem PyPI \
    --advisories "$data/advisories/pypa/pypa-advisory-database.tar.zst" --requirements "$req" \
    | LC_ALL=C sort -u > "$out/pypa/$name.tsv"
done

for bom in "$data"/inventories/cyclonedx-bom-examples/SBOM/proton-bridge/*.bom.json; do
  name=$(basename "$bom" .bom.json)
  python3 scripts/oracles/osv_oracle.py --ecosystem Go \
    --advisories "$data/advisories/go/golang-vulndb-osv.tar.zst" --cyclonedx "$bom" \
    | LC_ALL=C sort -u > "$out/go/$name.tsv"
done
wc -l "$out"/*/*.tsv
