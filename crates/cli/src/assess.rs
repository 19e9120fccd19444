//! `bulwark assess` and `bulwark config-score`: store a device's configuration assessment (OpenSCAP XCCDF
//! results or osquery JSON, zstd-compressed or not) and show the Secure Score for Devices with the
//! configuration changes that would raise it most.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use bulwark_engine::{
    AssessmentFormat, AssessmentRequest, AssessmentSummary, CategoryScores,
    ConfigurationRecommendation, ConfigurationScore,
};
use bulwark_formats::inventory::MAX_INVENTORY_BYTES;

use crate::output::print_rows;

/// The first bytes of a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Recommendations `bulwark config-score` lists in its table (the JSON form lists all).
const TABLE_RECOMMENDATIONS: usize = 20;

/// The options of `bulwark assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// The assessment: `oscap xccdf eval --results` output (or an ARF report), or osquery results as
    /// JSON; a `.zst` file (or zstd content) is decompressed first.
    pub file: PathBuf,
    /// The device's unique name (created when it does not exist).
    #[arg(long)]
    pub device: String,
    /// The file's format (detected from the content otherwise).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

/// `--format` of `bulwark assess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// An OpenSCAP XCCDF 1.2 results file.
    Openscap,
    /// osquery results over configuration tables.
    Osquery,
}

impl From<FormatArg> for AssessmentFormat {
    fn from(format: FormatArg) -> AssessmentFormat {
        match format {
            FormatArg::Openscap => AssessmentFormat::OpenScap,
            FormatArg::Osquery => AssessmentFormat::Osquery,
        }
    }
}

/// The options of `bulwark config-score`.
#[derive(Debug, Args)]
pub struct ConfigScoreArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::ListFormat::Table)]
    pub format: crate::ListFormat,
}

/// Reads a file whole, decompressing zstd (by the `.zst` extension or the content's magic bytes), at most
/// the inventory size limit either way.
fn read_input(path: &Path) -> Result<Vec<u8>> {
    let limit = MAX_INVENTORY_BYTES;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut raw = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut raw)
        .with_context(|| format!("reading {}", path.display()))?;
    if raw.len() as u64 > limit {
        bail!("{} is larger than {limit} bytes", path.display());
    }
    let zst = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zst"));
    if !zst && !raw.starts_with(&ZSTD_MAGIC) {
        return Ok(raw);
    }
    let decoder = zstd::stream::read::Decoder::new(raw.as_slice())
        .with_context(|| format!("decompressing {}", path.display()))?;
    let mut bytes = Vec::new();
    decoder
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("decompressing {} (zstd)", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!("{} decompresses to more than {limit} bytes", path.display());
    }
    Ok(bytes)
}

/// Stores the assessment and prints what it did.
pub async fn run_assess(args: &AssessArgs, db: &str) -> Result<ExitCode> {
    let bytes = read_input(&args.file)?;
    let engine = crate::open_engine(db).await?;
    let summary = engine
        .assess(AssessmentRequest {
            device: args.device.clone(),
            file: args.file.display().to_string(),
            bytes,
            format: args.format.map(AssessmentFormat::from),
        })
        .await?;
    print_assessment(&summary);
    Ok(ExitCode::SUCCESS)
}

fn score_text(score: Option<f64>) -> String {
    score.map_or_else(|| "-".to_string(), |s| format!("{s:.2}"))
}

fn print_assessment(s: &AssessmentSummary) {
    println!(
        "{}: {} results stored as source {} ({} passed, {} failed, {} not counted)",
        s.device.name,
        s.checks,
        s.format.name(),
        s.passed,
        s.failed,
        s.not_counted
    );
    if let Some(profile) = &s.profile {
        println!("  profile {profile}");
    }
    println!(
        "  this assessment: {} ({} of {} points); the device's secure score now: {}",
        score_text(s.score.score),
        s.score.achieved,
        s.score.possible,
        score_text(s.device_score)
    );
    for note in &s.notes {
        println!("  note: {note}");
    }
}

fn category_cells(c: &CategoryScores) -> [String; 5] {
    [
        c.os,
        c.application,
        c.network,
        c.accounts,
        c.security_controls,
    ]
    .map(score_text)
}

/// Prints the secure score of the organisation, its groups and devices, and the recommendations.
pub async fn run_config_score(args: &ConfigScoreArgs, db: &str) -> Result<ExitCode> {
    let engine = crate::open_engine(db).await?;
    let report = engine.configuration_score().await?;
    let recs = engine.configuration_recommendations().await?;
    if args.format == crate::ListFormat::Json {
        let value = serde_json::json!({
            "configurationScore": {
                "time": report.time,
                "score": report.score,
                "achieved": report.achieved,
                "possible": report.possible,
                "categories": report.categories,
            },
            "byMachineGroups": report.groups,
            "machines": report.devices,
            "configurationRecommendations": recs,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_report(&report, &recs);
    Ok(ExitCode::SUCCESS)
}

const CATEGORY_HEADERS: [&str; 5] = [
    "OS",
    "APPLICATION",
    "NETWORK",
    "ACCOUNTS",
    "SECURITYCONTROLS",
];

fn print_report(report: &ConfigurationScore, recs: &[ConfigurationRecommendation]) {
    println!(
        "Secure score for devices: {} ({} of {} points) at {}",
        score_text(report.score),
        report.achieved,
        report.possible,
        report
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    if report.devices.is_empty() {
        println!(
            "No active device has configuration results: run `bulwark assess FILE --device NAME` or the agent."
        );
        return;
    }
    println!();
    print_rows(&CATEGORY_HEADERS, &[category_cells(&report.categories)]);
    println!();
    let groups: Vec<[String; 4]> = report
        .groups
        .iter()
        .map(|g| {
            [
                g.rbac_group_name.clone(),
                score_text(g.score),
                format!("{}/{}", g.achieved, g.possible),
                g.devices.to_string(),
            ]
        })
        .collect();
    print_rows(&["GROUP", "SCORE", "POINTS", "DEVICES"], &groups);
    println!();
    let devices: Vec<[String; 6]> = report
        .devices
        .iter()
        .map(|d| {
            [
                d.computer_dns_name.clone(),
                d.rbac_group_name.clone(),
                score_text(d.score),
                format!("{}/{}", d.achieved, d.possible),
                d.checks.to_string(),
                d.failed.to_string(),
            ]
        })
        .collect();
    print_rows(
        &["DEVICE", "GROUP", "SCORE", "POINTS", "CHECKS", "FAILED"],
        &devices,
    );
    println!();
    let rows: Vec<[String; 5]> = recs
        .iter()
        .take(TABLE_RECOMMENDATIONS)
        .map(|r| {
            [
                format!("+{:.2}", r.config_score_impact),
                r.recommendation_category.to_string(),
                format!("{}/{}", r.exposed_machines_count, r.total_machine_count),
                r.check_id.clone(),
                r.recommendation_name.clone(),
            ]
        })
        .collect();
    print_rows(
        &["IMPACT", "CATEGORY", "FAILING", "CHECK", "RECOMMENDATION"],
        &rows,
    );
    if recs.len() > TABLE_RECOMMENDATIONS {
        println!(
            "… and {} more (--format json lists all)",
            recs.len() - TABLE_RECOMMENDATIONS
        );
    } else {
        println!("{} configuration recommendations", recs.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_input_is_decompressed_by_extension_or_content() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let text = b"{\"system_controls\": []}".to_vec();
        let compressed = zstd::encode_all(text.as_slice(), 3).expect("compress");
        let plain = dir.path().join("rows.json");
        std::fs::write(&plain, &text).expect("write");
        assert_eq!(read_input(&plain).expect("plain"), text);
        let zst = dir.path().join("rows.json.zst");
        std::fs::write(&zst, &compressed).expect("write");
        assert_eq!(read_input(&zst).expect("by extension"), text);
        let unnamed = dir.path().join("rows");
        std::fs::write(&unnamed, &compressed).expect("write");
        assert_eq!(read_input(&unnamed).expect("by content"), text);
        let broken = dir.path().join("broken.zst");
        std::fs::write(&broken, b"not zstd at all").expect("write");
        let error = format!("{:#}", read_input(&broken).expect_err("not zstd"));
        assert!(error.contains("broken.zst"), "{error}");
        let missing = format!(
            "{:#}",
            read_input(&dir.path().join("none")).expect_err("missing")
        );
        assert!(missing.contains("reading"), "{missing}");
    }
}
