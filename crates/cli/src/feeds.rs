//! `bulwark feeds sync`: downloads the OSV archives, NVD, KEV and EPSS into a feed directory (or copies
//! them from a mirror on an air-gapped site) with `bulwark-sync`, then imports what is new or changed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use bulwark_sync::{
    Ecosystem, Feed, ItemReport, NvdOptions, Origin, Outcome, SyncOptions, SyncReport, SystemClock,
    TokioSleeper,
};

use crate::output;

/// The subcommands of `bulwark feeds`.
#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Download the feeds (OSV, NVD, KEV, EPSS) into a feed directory and import the new files.
    /// Exit code 0: every feed synced; 1: some feed failed or was missing from the mirror; 2: error.
    Sync(FeedsSyncArgs),
}

/// The options of `bulwark feeds sync`.
#[derive(Debug, Args)]
pub struct FeedsSyncArgs {
    /// The feed directory: downloads, their metadata and NVD's sync state live here.
    #[arg(long, default_value = "bulwark-feeds")]
    pub dir: PathBuf,
    /// Copy the feeds from this directory (laid out like the feed directory) instead of downloading.
    #[arg(long)]
    pub mirror: Option<PathBuf>,
    /// NVD API key: raises NVD's rate limit from 5 to 50 requests per 30 seconds.
    #[arg(long, env = "NVD_API_KEY", hide_env_values = true)]
    pub nvd_api_key: Option<String>,
    /// An OSV ecosystem to download (repeatable; default: every ecosystem Bulwark matches).
    #[arg(long = "ecosystem", value_name = "NAME", value_parser = parse_ecosystem)]
    pub ecosystems: Vec<Ecosystem>,
    /// Sync only this feed: osv, nvd, kev or epss (repeatable; default: all four).
    #[arg(long = "only", value_name = "FEED", value_parser = parse_feed)]
    pub only: Vec<Feed>,
    /// Without NVD sync state, fetch CVEs modified since DATE (YYYY-MM-DD or RFC 3339) instead of all.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub nvd_since: Option<DateTime<Utc>>,
    /// Download only; do not import into the database.
    #[arg(long)]
    pub no_import: bool,
}

/// Runs a `bulwark feeds` subcommand against the database at `db`.
pub async fn run(command: &FeedsCommand, db: &str) -> Result<ExitCode> {
    match command {
        FeedsCommand::Sync(args) => run_sync(args, db).await,
    }
}

/// Syncs the feeds, prints what happened to each, then imports every new or changed file (unless
/// `--no-import`). The database is opened only when there is something to import.
pub async fn run_sync(args: &FeedsSyncArgs, db: &str) -> Result<ExitCode> {
    let options = sync_options(args);
    let report = bulwark_sync::sync(&options, &args.dir, &SystemClock, &TokioSleeper)
        .await
        .with_context(|| format!("syncing the feeds into {}", args.dir.display()))?;
    print_report(&report);

    let mut import_failed = false;
    let new_files: Vec<PathBuf> = report.new_files().map(PathBuf::from).collect();
    if !args.no_import && !new_files.is_empty() {
        let engine = crate::open_engine(db).await?;
        for path in &new_files {
            match output::import_with_progress(&engine, path).await {
                Ok(summary) => output::print_import(path, &summary),
                Err(e) => {
                    import_failed = true;
                    eprintln!("error: importing {}: {e:#}", path.display());
                }
            }
        }
    }
    if import_failed {
        eprintln!(
            "the files stay in {}; `bulwark import PATH` imports them again",
            args.dir.display()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(if report.problems().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn sync_options(args: &FeedsSyncArgs) -> SyncOptions {
    let defaults = SyncOptions::default();
    SyncOptions {
        feeds: if args.only.is_empty() {
            defaults.feeds
        } else {
            args.only.clone()
        },
        ecosystems: if args.ecosystems.is_empty() {
            defaults.ecosystems
        } else {
            args.ecosystems.clone()
        },
        origin: match &args.mirror {
            Some(dir) => Origin::Mirror(dir.clone()),
            None => defaults.origin,
        },
        nvd: NvdOptions {
            api_key: args.nvd_api_key.clone().filter(|k| !k.trim().is_empty()),
            since: args.nvd_since,
            ..defaults.nvd
        },
        limits: defaults.limits,
    }
}

fn print_report(report: &SyncReport) {
    let rows: Vec<[String; 3]> = report.items.iter().map(row).collect();
    output::print_rows(&["feed", "result", "detail"], &rows);
}

fn row(item: &ItemReport) -> [String; 3] {
    let (result, detail) = match &item.outcome {
        Outcome::Fetched { files, bytes } => (
            "fetched",
            format!(
                "{} file{}, {bytes} bytes",
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            ),
        ),
        Outcome::Unchanged => ("unchanged", String::new()),
        Outcome::Missing { expected } => ("missing", format!("no {}", expected.display())),
        Outcome::Failed(e) => ("failed", e.to_string()),
    };
    [item.name.clone(), result.to_string(), detail]
}

fn parse_ecosystem(name: &str) -> Result<Ecosystem, String> {
    Ecosystem::from_osv_name(name).ok_or_else(|| {
        let known: Vec<&str> = bulwark_sync::default_ecosystems()
            .iter()
            .filter_map(|e| e.osv_name())
            .collect();
        format!("unknown ecosystem {name:?}; known: {}", known.join(", "))
    })
}

fn parse_feed(name: &str) -> Result<Feed, String> {
    Feed::from_name(name)
        .ok_or_else(|| format!("unknown feed {name:?}; known: osv, nvd, kev, epss"))
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    bulwark_sync::parse_since(text).map_err(|e| e.to_string())
}
