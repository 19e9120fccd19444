//! `bulwark scan`: one inventory file against advisory sources, no database; table, JSON or SARIF out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use bulwark_core::inventory::{assign_os, os_ecosystem};
use bulwark_core::matching::AdvisoryIndex;
use bulwark_core::scan::{Finding, ScanReport, scan};
use bulwark_formats::inventory::{InventoryFormat, parse_auto};

use crate::OutputFormat;

/// The arguments of `bulwark scan`.
pub struct ScanArgs {
    /// Inventory file.
    pub file: PathBuf,
    /// Advisory sources.
    pub advisories: Vec<PathBuf>,
    /// Output format.
    pub format: OutputFormat,
    /// Forced inventory format.
    pub input_format: Option<InventoryFormat>,
    /// Operating system for OS packages.
    pub os: Option<String>,
}

/// Runs the scan; exit code 0 when nothing is found, 1 when vulnerabilities are found.
pub fn run(args: &ScanArgs) -> Result<ExitCode> {
    let label = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {label}"))?;
    let mut inventory = match args.input_format {
        Some(format) => format.parse(&label, &bytes),
        None => parse_auto(&label, &bytes),
    }?;
    if let Some(os) = args
        .os
        .as_deref()
        .or(inventory.os.as_deref())
        .and_then(os_ecosystem)
    {
        assign_os(&mut inventory.packages, &os);
    }
    let mut advisories = Vec::new();
    for path in &args.advisories {
        if !path.exists() {
            bail!("advisory source {} does not exist", path.display());
        }
        let report = bulwark_formats::osv::read_advisories(path, &mut |a| advisories.push(a))
            .with_context(|| format!("reading advisories from {}", path.display()))?;
        for error in &report.errors {
            eprintln!("warning: skipped advisory file: {error}");
        }
        if report.advisories == 0 {
            eprintln!("warning: no OSV advisory found in {}", path.display());
        }
    }
    let (index, diagnostics) = AdvisoryIndex::build(advisories);
    for d in &diagnostics {
        eprintln!("warning: advisory {}: {}", d.advisory_id, d.message);
    }
    let report = scan(&index, &inventory.packages);
    for note in &inventory.notes {
        eprintln!("note: {label}: {}: {}", note.location, note.message);
    }
    for u in &report.unassessed {
        eprintln!(
            "warning: {label}: {} {} {}: not assessed: {}",
            u.ecosystem, u.package, u.version, u.reason
        );
    }
    match args.format {
        OutputFormat::Table => print_table(&label, &report, inventory.packages.len()),
        OutputFormat::Json => {
            let value = json!({
                "file": label,
                "format": inventory.format,
                "packages": inventory.packages.len(),
                "findings": report.findings,
                "warnings": report.warnings,
                "unassessed": report.unassessed,
                "notes": inventory.notes,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Sarif => {
            println!("{}", serde_json::to_string_pretty(&sarif(&label, &report))?)
        }
    }
    Ok(if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(label: &str, report: &ScanReport, packages: usize) {
    let rows: Vec<[String; 5]> = report
        .findings
        .iter()
        .chain(&report.warnings)
        .map(|f| {
            [
                f.package.clone(),
                f.version.clone(),
                match &f.informational {
                    Some(kind) => format!("{} ({kind})", f.advisory_id),
                    None => f.advisory_id.clone(),
                },
                f.severity.clone().unwrap_or_else(|| "-".into()),
                if f.fixed_versions.is_empty() {
                    "no fix".into()
                } else {
                    f.fixed_versions.join(", ")
                },
            ]
        })
        .collect();
    crate::output::print_rows(
        &["PACKAGE", "VERSION", "ADVISORY", "SEVERITY", "FIXED IN"],
        &rows,
    );
    let vulns: std::collections::BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.vulnerability_id.as_str())
        .collect();
    println!(
        "{label}: {packages} packages, {} vulnerabilities ({} advisory matches), {} warnings, {} not assessed",
        vulns.len(),
        report.findings.len(),
        report.warnings.len(),
        report.unassessed.len()
    );
}

/// SARIF 2.1.0, as GitHub code scanning accepts it: one rule per advisory, one result per finding, located
/// at the scanned file (inventories have no reliable line for a package, so the region is line 1).
fn sarif(label: &str, report: &ScanReport) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<&str> = Vec::new();
    let all: Vec<&Finding> = report.findings.iter().chain(&report.warnings).collect();
    for f in &all {
        if rule_ids.contains(&f.advisory_id.as_str()) {
            continue;
        }
        rule_ids.push(&f.advisory_id);
        let summary = f.summary.clone().unwrap_or_else(|| f.advisory_id.clone());
        let mut properties = json!({ "tags": ["security", "vulnerability"] });
        if let Some(score) = f.cvss_score {
            properties["security-severity"] = json!(format!("{score:.1}"));
        }
        rules.push(json!({
            "id": f.advisory_id,
            "name": f.advisory_id,
            "shortDescription": { "text": summary },
            "fullDescription": { "text": summary },
            "helpUri": advisory_url(&f.advisory_id),
            "help": { "text": format!("{summary}\nAliases: {}", f.aliases.join(", ")) },
            "properties": properties,
        }));
    }
    let uri = label.trim_start_matches("./");
    let results: Vec<Value> = all
        .iter()
        .map(|f| {
            let fix = if f.fixed_versions.is_empty() {
                "no fixed version is known".to_string()
            } else {
                format!("fixed in {}", f.fixed_versions.join(", "))
            };
            json!({
                "ruleId": f.advisory_id,
                "ruleIndex": rule_ids.iter().position(|r| *r == f.advisory_id).unwrap_or(0),
                "level": sarif_level(f),
                "message": { "text": format!(
                    "{} {} {} is affected by {} ({}): {}",
                    f.ecosystem, f.package, f.version, f.advisory_id,
                    f.summary.as_deref().unwrap_or("no summary"), fix
                ) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": { "startLine": 1 }
                    }
                }],
                "partialFingerprints": {
                    "bulwarkFinding/v1": format!("{}:{}:{}:{}", f.ecosystem, f.package, f.version, f.advisory_id)
                }
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "bulwark",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://osv.dev",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn sarif_level(f: &Finding) -> &'static str {
    if f.informational.is_some() {
        return "note";
    }
    match f.severity.as_deref() {
        Some("Critical") | Some("High") => "error",
        Some("Low") | Some("None") => "note",
        _ => "warning",
    }
}

fn advisory_url(id: &str) -> String {
    format!("https://osv.dev/vulnerability/{id}")
}
