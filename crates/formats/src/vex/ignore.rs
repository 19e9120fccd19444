//! Scanner ignore files as proposed exceptions: Trivy's `.trivyignore.yaml`, OSV-Scanner's
//! `osv-scanner.toml`, cargo-deny's `deny.toml` (`[advisories] ignore`) and Grype's `.grype.yaml`.
//!
//! Every ignored vulnerability becomes a global CVE proposal with the justification `risk_accepted` —
//! an ignore says nothing about why, so the reviewer chooses — the file's reason as context, and its
//! expiry when it gives one. What these files narrow an ignore to (paths, purls, a package) is kept
//! in `products` for the reviewer; entries that ignore no vulnerability (Trivy misconfigurations,
//! secrets and licenses, OSV-Scanner package overrides, cargo-deny yanked crates, Grype rules without
//! a vulnerability) are skipped with their reason.
//!
//! Sources name the entry: `.trivyignore.yaml: vulnerabilities[2]` in YAML, `deny.toml: line 7` in
//! TOML, where the line is what a person looks for.

use bulwark_core::exception::{Justification, TargetKind};
use serde::Deserialize;
use toml::Spanned;

use super::{Bounded, Collector, ImportFormat, MAX_ENTRIES, MAX_ITEMS, VexImport};
use crate::FormatError;

/// A scanner ignore file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreFormat {
    /// Trivy's `.trivyignore.yaml` (`vulnerabilities`, `misconfigurations`, `secrets`, `licenses`).
    TrivyYaml,
    /// OSV-Scanner's `osv-scanner.toml` (`[[IgnoredVulns]]`).
    OsvScanner,
    /// cargo-deny's `deny.toml` (`[advisories] ignore`).
    CargoDeny,
    /// Grype's `.grype.yaml` (`ignore` rules).
    Grype,
}

impl IgnoreFormat {
    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            IgnoreFormat::TrivyYaml => ".trivyignore.yaml",
            IgnoreFormat::OsvScanner => "osv-scanner.toml",
            IgnoreFormat::CargoDeny => "cargo-deny deny.toml",
            IgnoreFormat::Grype => ".grype.yaml",
        }
    }

    /// The format of a file: by its name first (`…/.trivyignore.yaml`, `osv-scanner.toml`,
    /// `deny.toml`, `.grype.yaml`), then by a top-level key its content starts a line with.
    pub fn detect(file: &str, bytes: &[u8]) -> Option<IgnoreFormat> {
        let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let name = name.to_ascii_lowercase();
        let by_name = [
            (".trivyignore.yaml", IgnoreFormat::TrivyYaml),
            (".trivyignore.yml", IgnoreFormat::TrivyYaml),
            ("osv-scanner.toml", IgnoreFormat::OsvScanner),
            ("deny.toml", IgnoreFormat::CargoDeny),
            (".grype.yaml", IgnoreFormat::Grype),
            (".grype.yml", IgnoreFormat::Grype),
        ];
        if let Some((_, format)) = by_name.iter().find(|(n, _)| name.ends_with(n)) {
            return Some(*format);
        }
        let line = |prefix: &[u8]| crate::feeds::has_line_starting_with(bytes, prefix);
        if line(b"[[IgnoredVulns]]") {
            Some(IgnoreFormat::OsvScanner)
        } else if line(b"[advisories]") {
            Some(IgnoreFormat::CargoDeny)
        } else if line(b"vulnerabilities:") || line(b"misconfigurations:") {
            Some(IgnoreFormat::TrivyYaml)
        } else if line(b"ignore:") {
            Some(IgnoreFormat::Grype)
        } else {
            None
        }
    }
}

/// Reads a scanner ignore file (detected by name and content) into proposed exceptions; `file` names
/// it in errors and sources.
pub fn read_ignore_file(file: &str, bytes: &[u8]) -> Result<VexImport, FormatError> {
    super::check_size(file, bytes)?;
    let _budget = super::Budget::start();
    let format = IgnoreFormat::detect(file, bytes).ok_or_else(|| FormatError::UnknownFormat {
        file: file.to_string(),
        message: "not a .trivyignore.yaml, osv-scanner.toml, deny.toml or .grype.yaml (by name or \
                  content)"
            .to_string(),
    })?;
    let mut c = Collector::new(file, ImportFormat::Ignore(format));
    match format {
        IgnoreFormat::TrivyYaml => trivy(file, bytes, &mut c)?,
        IgnoreFormat::OsvScanner => osv_scanner(file, bytes, &mut c)?,
        IgnoreFormat::CargoDeny => cargo_deny(file, bytes, &mut c)?,
        IgnoreFormat::Grype => grype(file, bytes, &mut c)?,
    }
    Ok(c.finish())
}

/// One ignored vulnerability, before it becomes a proposal.
struct Ignored<'a> {
    /// Where, for the source (`vulnerabilities[2]`, `line 7`).
    at: String,
    /// Where the id is, for errors.
    id_at: String,
    id: &'a str,
    reason: Option<&'a str>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    products: Vec<String>,
}

fn propose(file: &str, c: &mut Collector, entry: Ignored) -> Result<(), FormatError> {
    let target = super::normalise_target(file, &entry.id_at, TargetKind::Cve, entry.id)?;
    let context = entry
        .reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map_or_else(|| format!("imported from {file}"), str::to_string);
    c.foreign(
        &entry.at,
        target,
        Justification::RiskAccepted,
        context,
        entry.expires_at,
        entry.products,
    );
    Ok(())
}

/// An expiry value, or an error at `at`.
fn expiry_at(
    file: &str,
    at: &str,
    text: &str,
) -> Result<chrono::DateTime<chrono::Utc>, FormatError> {
    super::expiry(text).map_err(|message| FormatError::parse(file, at, message))
}

#[derive(Deserialize)]
struct TrivyIgnore {
    vulnerabilities: Option<Bounded<TrivyEntry, MAX_ENTRIES>>,
    misconfigurations: Option<Bounded<TrivyEntry, MAX_ENTRIES>>,
    secrets: Option<Bounded<TrivyEntry, MAX_ENTRIES>>,
    licenses: Option<Bounded<TrivyEntry, MAX_ENTRIES>>,
}

#[derive(Deserialize)]
struct TrivyEntry {
    id: String,
    statement: Option<String>,
    expired_at: Option<String>,
    paths: Option<Bounded<String, MAX_ITEMS>>,
    purls: Option<Bounded<String, MAX_ITEMS>>,
}

fn trivy(file: &str, bytes: &[u8], c: &mut Collector) -> Result<(), FormatError> {
    let doc: TrivyIgnore = crate::feeds::read_document(file, bytes)?;
    for (i, e) in doc.vulnerabilities.unwrap_or_default().0.iter().enumerate() {
        let expires_at = match &e.expired_at {
            Some(t) => Some(expiry_at(
                file,
                &format!("$.vulnerabilities[{i}].expired_at"),
                t,
            )?),
            None => None,
        };
        let products = [&e.purls, &e.paths]
            .into_iter()
            .flatten()
            .flat_map(|list| list.0.iter().cloned())
            .collect();
        let entry = Ignored {
            at: format!("vulnerabilities[{i}]"),
            id_at: format!("$.vulnerabilities[{i}].id"),
            id: &e.id,
            reason: e.statement.as_deref(),
            expires_at,
            products,
        };
        propose(file, c, entry)?;
    }
    let others = [
        (
            "misconfigurations",
            doc.misconfigurations,
            "a Trivy misconfiguration check, not a vulnerability (configuration exceptions are made on \
             Bulwark's own recommendations)",
        ),
        (
            "secrets",
            doc.secrets,
            "a Trivy secret rule, not a vulnerability",
        ),
        ("licenses", doc.licenses, "a license, not a vulnerability"),
    ];
    for (list, entries, why) in others {
        for (i, e) in entries.unwrap_or_default().0.iter().enumerate() {
            c.skip(
                &format!("{list}[{i}]"),
                format!("{}: {why}", crate::feeds::shorten(&e.id)),
            );
        }
    }
    Ok(())
}

/// Reads TOML into `T`, naming the line of any error.
fn read_toml<T: serde::de::DeserializeOwned>(
    file: &str,
    bytes: &[u8],
) -> Result<(T, Lines), FormatError> {
    let text = crate::inventory::requirements::utf8(file, bytes)?;
    let lines = Lines::new(text);
    let value = toml::from_str(text).map_err(|e| {
        let location = e
            .span()
            .map_or_else(|| "line 1".to_string(), |span| lines.at(span.start));
        FormatError::parse(file, location, e.message().trim().replace('\n', "; "))
    })?;
    Ok((value, lines))
}

/// Byte offsets to `line N`, counted once per file.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        Lines(
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        )
    }

    fn at(&self, offset: usize) -> String {
        format!("line {}", self.0.partition_point(|&start| start <= offset))
    }
}

#[derive(Deserialize)]
struct OsvScannerConfig {
    #[serde(rename = "IgnoredVulns", default)]
    ignored: Bounded<OsvIgnored, MAX_ENTRIES>,
    #[serde(rename = "PackageOverrides", default)]
    overrides: Bounded<Spanned<OsvOverride>, MAX_ENTRIES>,
}

#[derive(Deserialize)]
struct OsvIgnored {
    id: Spanned<String>,
    #[serde(rename = "ignoreUntil")]
    ignore_until: Option<Spanned<toml::Value>>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct OsvOverride {
    name: Option<String>,
    #[serde(default)]
    ignore: bool,
}

fn osv_scanner(file: &str, bytes: &[u8], c: &mut Collector) -> Result<(), FormatError> {
    let (config, lines): (OsvScannerConfig, _) = read_toml(file, bytes)?;
    for e in &config.ignored.0 {
        let line = lines.at(e.id.span().start);
        let expires_at = match &e.ignore_until {
            None => None,
            Some(until) => {
                let at = lines.at(until.span().start);
                let text = match until.get_ref() {
                    toml::Value::Datetime(d) => d.to_string(),
                    toml::Value::String(s) => s.clone(),
                    other => {
                        return Err(FormatError::parse(
                            file,
                            at,
                            format!("ignoreUntil must be a date, not a {}", other.type_str()),
                        ));
                    }
                };
                Some(expiry_at(file, &at, &text)?)
            }
        };
        let entry = Ignored {
            at: line.clone(),
            id_at: line,
            id: e.id.get_ref(),
            reason: e.reason.as_deref(),
            expires_at,
            products: Vec::new(),
        };
        propose(file, c, entry)?;
    }
    for o in config.overrides.0.iter().filter(|o| o.get_ref().ignore) {
        let name = o.get_ref().name.as_deref().unwrap_or("(every package)");
        c.skip(
            &lines.at(o.span().start),
            format!(
                "package override {}: ignores a package, not a vulnerability (a recommendation \
                 exception on the product is Bulwark's equivalent)",
                crate::feeds::shorten(name)
            ),
        );
    }
    Ok(())
}

#[derive(Deserialize)]
struct DenyConfig {
    advisories: Option<DenyAdvisories>,
}

#[derive(Deserialize)]
struct DenyAdvisories {
    #[serde(default)]
    ignore: Bounded<Spanned<DenyIgnore>, MAX_ENTRIES>,
}

/// `"RUSTSEC-2024-0436"`, `"crate@0.1"`, `{ id = "…", reason = "…" }` or `{ crate = "…", reason = "…" }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum DenyIgnore {
    Plain(String),
    Table {
        id: Option<String>,
        #[serde(rename = "crate")]
        krate: Option<String>,
        reason: Option<String>,
    },
}

fn cargo_deny(file: &str, bytes: &[u8], c: &mut Collector) -> Result<(), FormatError> {
    let (config, lines): (DenyConfig, _) = read_toml(file, bytes)?;
    let Some(advisories) = config.advisories else {
        return Ok(());
    };
    for e in &advisories.ignore.0 {
        let line = lines.at(e.span().start);
        let (id, reason) = match e.get_ref() {
            DenyIgnore::Plain(s) if is_advisory_id(s) => (s.as_str(), None),
            DenyIgnore::Table {
                id: Some(id),
                reason,
                ..
            } => (id.as_str(), reason.as_deref()),
            DenyIgnore::Plain(krate)
            | DenyIgnore::Table {
                krate: Some(krate), ..
            } => {
                let reason = format!(
                    "crate {}: a yanked-crate ignore, not an advisory",
                    crate::feeds::shorten(krate)
                );
                c.skip(&line, reason);
                continue;
            }
            DenyIgnore::Table { .. } => {
                return Err(FormatError::parse(
                    file,
                    line,
                    "an ignore entry names an advisory `id` or a `crate`",
                ));
            }
        };
        let entry = Ignored {
            at: line.clone(),
            id_at: line,
            id,
            reason,
            expires_at: None,
            products: Vec::new(),
        };
        propose(file, c, entry)?;
    }
    Ok(())
}

/// Whether a cargo-deny ignore string is an advisory id (`RUSTSEC-2024-0436`, `CVE-…`, `GHSA-…`) rather
/// than a crate spec (`crate@0.1`, `some-crate`): an upper-case prefix, a hyphen, and no `@`.
fn is_advisory_id(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('-') {
        Some((prefix, rest)) => {
            !s.contains('@')
                && !prefix.is_empty()
                && !rest.is_empty()
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && prefix.as_bytes()[0].is_ascii_uppercase()
        }
        None => false,
    }
}

#[derive(Deserialize)]
struct GrypeConfig {
    ignore: Option<Bounded<GrypeRule, MAX_ENTRIES>>,
}

#[derive(Deserialize)]
struct GrypeRule {
    vulnerability: Option<String>,
    reason: Option<String>,
    package: Option<GrypePackage>,
    #[serde(rename = "fix-state")]
    fix_state: Option<String>,
}

#[derive(Deserialize)]
struct GrypePackage {
    name: Option<String>,
    version: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    location: Option<String>,
}

impl GrypePackage {
    /// `type/name@version` and the location, as far as the rule gives them.
    fn products(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(name) = &self.name {
            let mut p = match &self.kind {
                Some(kind) => format!("{kind}/{name}"),
                None => name.clone(),
            };
            if let Some(v) = &self.version {
                p.push('@');
                p.push_str(v);
            }
            out.push(p);
        }
        out.extend(self.location.clone());
        out
    }
}

fn grype(file: &str, bytes: &[u8], c: &mut Collector) -> Result<(), FormatError> {
    let config: GrypeConfig = crate::feeds::read_document(file, bytes)?;
    for (i, rule) in config.ignore.unwrap_or_default().0.iter().enumerate() {
        let at = format!("ignore[{i}]");
        let Some(id) = rule.vulnerability.as_deref() else {
            let by = match (&rule.package, &rule.fix_state) {
                (_, Some(state)) => format!("fix state {}", crate::feeds::shorten(state)),
                (Some(_), None) => "package".to_string(),
                (None, None) => "nothing".to_string(),
            };
            c.skip(
                &at,
                format!("the rule matches by {by}, not by a vulnerability id"),
            );
            continue;
        };
        let entry = Ignored {
            id_at: format!("$.ignore[{i}].vulnerability"),
            at,
            id,
            reason: rule.reason.as_deref(),
            expires_at: None,
            products: rule
                .package
                .as_ref()
                .map(GrypePackage::products)
                .unwrap_or_default(),
        };
        propose(file, c, entry)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_advisory_id;

    #[test]
    fn advisory_ids_and_crate_specs() {
        for id in [
            "RUSTSEC-2024-0436",
            "CVE-2024-1",
            "GHSA-m425-mq94-257g",
            "GO-2022-0968",
        ] {
            assert!(is_advisory_id(id), "{id}");
        }
        for spec in [
            "crate@0.1",
            "yanked",
            "some-crate",
            "RUSTSEC-1@2",
            "-x",
            "X-",
            "1A-2",
        ] {
            assert!(!is_advisory_id(spec), "{spec}");
        }
    }
}
