//! Terminal output of the CLI: aligned tables, import progress, summaries.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;

use bulwark_core::recommendation::Recommendation;
use bulwark_engine::{Engine, ExposureReport, ImportSummary, IngestSummary, ScoreSnapshot};

/// Prints rows under a header, columns padded to their widest cell.
pub fn print_rows<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths: [usize; N] = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Imports one source, showing a progress bar (records, rate) when stderr is a terminal.
pub async fn import_with_progress(engine: &Engine, path: &Path) -> Result<ImportSummary> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {prefix}: {pos} advisories ({per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_prefix(path.display().to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let progress = {
        let bar = bar.clone();
        move |n: u64| {
            if let Some(bar) = &bar {
                bar.set_position(n);
            }
        }
    };
    let summary = engine.import(path, &progress).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(summary?)
}

/// Prints what an import did.
pub fn print_import(path: &Path, s: &ImportSummary) {
    println!(
        "{}: {} files, {} advisories read: {} new, {} updated, {} unchanged; {} non-OSV files skipped",
        path.display(),
        s.files_read,
        s.advisories_read,
        s.inserted,
        s.updated,
        s.unchanged,
        s.not_osv
    );
    if !s.feed_advisories.is_empty() {
        let list: Vec<String> = s
            .feed_advisories
            .iter()
            .map(|(f, n)| format!("{f} ({n})"))
            .collect();
        println!("  converted from other feeds: {}", list.join(", "));
    }
    if !s.feed_skipped.is_empty() {
        let list: Vec<String> = s
            .feed_skipped
            .iter()
            .map(|(r, n)| format!("{r} ({n})"))
            .collect();
        println!("  feed entries skipped: {}", list.join(", "));
    }
    if !s.unsupported_ecosystems.is_empty() {
        let list: Vec<String> = s
            .unsupported_ecosystems
            .iter()
            .map(|(e, n)| format!("{e} ({n})"))
            .collect();
        println!(
            "  affected entries of ecosystems Bulwark does not match: {}",
            list.join(", ")
        );
    }
    if s.nvd.files > 0 {
        println!(
            "  NVD: {} files, {} records: {} new, {} updated, {} unchanged",
            s.nvd.files, s.nvd.read, s.nvd.inserted, s.nvd.updated, s.nvd.unchanged
        );
    }
    if s.kev.files > 0 {
        println!(
            "  CISA KEV{}: {} entries ({} newly listed, {} no longer listed)",
            s.kev
                .catalog_version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            s.kev.entries,
            s.kev.added.len(),
            s.kev.removed.len()
        );
    }
    if s.epss.files > 0 {
        println!(
            "  EPSS: {} files, {} scores: {} stored, {} older than the stored ones",
            s.epss.files, s.epss.read, s.epss.written, s.epss.older
        );
    }
    if s.devices_rematched > 0 {
        println!(
            "  re-matched {} devices: {} weaknesses opened, {} resolved",
            s.devices_rematched, s.weaknesses_opened, s.weaknesses_resolved
        );
    }
    for d in &s.index_diagnostics {
        eprintln!("  warning: {}: {}", d.advisory_id, d.message);
    }
    const SHOWN: usize = 10;
    for e in s.errors.iter().take(SHOWN) {
        eprintln!("  error: {e}");
    }
    if s.errors.len() > SHOWN {
        eprintln!(
            "  … {} more files could not be read as advisories (not OSV, or malformed); BULWARK_LOG=debug lists them",
            s.errors.len() - SHOWN
        );
        for e in &s.errors[SHOWN..] {
            tracing::debug!("{e}");
        }
    }
}

/// Prints what an ingest did.
pub fn print_ingest(s: &IngestSummary) {
    println!(
        "{}: {} packages ({}), +{} −{} since last ingest; {} open weaknesses ({} new, {} resolved)",
        s.device.name,
        s.packages,
        s.format,
        s.appeared,
        s.disappeared,
        s.open_weaknesses,
        s.opened,
        s.resolved
    );
    for n in &s.notes {
        eprintln!("  note: {}: {}", n.location, n.message);
    }
    for u in &s.unassessed {
        eprintln!(
            "  warning: {} {} {}: not assessed: {}",
            u.ecosystem, u.package, u.version, u.reason
        );
    }
    for w in &s.warnings {
        eprintln!(
            "  warning: {} {} {}: {} ({})",
            w.package,
            w.version,
            w.advisory_id,
            w.summary.as_deref().unwrap_or("no summary"),
            w.informational.as_deref().unwrap_or("informational")
        );
    }
}

/// Prints recommendations as a table: the exposure impact is the exact drop of the organisation's score.
pub fn print_recommendations(recs: &[Recommendation]) {
    let rows: Vec<[String; 8]> = recs
        .iter()
        .map(|r| {
            let threats = match (r.associated_threats.is_empty(), r.public_exploit) {
                (false, _) => "KEV",
                (true, true) => "exploit",
                (true, false) => "",
            };
            [
                r.recommendation_name.clone(),
                r.vendor.clone(),
                r.weaknesses.to_string(),
                format!("{}/{}", r.exposed_machines_count, r.total_machine_count),
                format!("{:.1}", r.severity_score),
                format!("{:.2}", r.exposure_impact),
                threats.to_string(),
                format!("{:?}", r.remediation_type),
            ]
        })
        .collect();
    print_rows(
        &[
            "RECOMMENDATION",
            "VENDOR",
            "WEAKNESSES",
            "EXPOSED",
            "SEVERITY",
            "IMPACT",
            "THREATS",
            "TYPE",
        ],
        &rows,
    );
    println!("{} recommendations", recs.len());
}

/// Prints the exposure scores (and, when given, the organisation's history), as tables or as JSON.
pub fn print_scores(report: &ExposureReport, history: &[ScoreSnapshot], json: bool) -> Result<()> {
    if json {
        let value = serde_json::json!({
            "exposureScore": {"time": report.time, "score": report.score, "band": report.band},
            "byMachineGroups": report.groups,
            "machines": report.devices,
            "history": history,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "Exposure score: {:.2} ({:?}) at {}",
        report.score,
        report.band,
        report
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    println!();
    let groups: Vec<[String; 3]> = report
        .groups
        .iter()
        .map(|g| {
            [
                g.rbac_group_name.clone(),
                format!("{:.2}", g.score),
                g.devices.to_string(),
            ]
        })
        .collect();
    print_rows(&["GROUP", "SCORE", "DEVICES"], &groups);
    println!();
    let mut devices: Vec<&bulwark_engine::DeviceScore> = report.devices.iter().collect();
    devices.sort_by(|a, b| {
        b.exposure_score
            .total_cmp(&a.exposure_score)
            .then(a.computer_dns_name.cmp(&b.computer_dns_name))
    });
    let rows: Vec<[String; 6]> = devices
        .iter()
        .map(|d| {
            [
                d.computer_dns_name.clone(),
                d.rbac_group_name.clone(),
                format!("{:?}", d.device_value),
                format!("{:.2}", d.exposure_score),
                format!("{:?}", d.exposure_level),
                d.vulnerabilities.to_string(),
            ]
        })
        .collect();
    print_rows(
        &[
            "DEVICE",
            "GROUP",
            "VALUE",
            "SCORE",
            "LEVEL",
            "VULNERABILITIES",
        ],
        &rows,
    );
    if !history.is_empty() {
        println!();
        let rows: Vec<[String; 2]> = history
            .iter()
            .map(|s| {
                [
                    s.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    format!("{:.2}", s.exposure),
                ]
            })
            .collect();
        print_rows(&["TIME", "SCORE"], &rows);
    }
    Ok(())
}
