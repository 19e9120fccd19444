//! Bulwark's Linux agent: collects a host's installed packages (dpkg, rpm, apk, the system Python's
//! `site-packages`, global npm) and configuration facts (sshd, sysctl, accounts, mounts, … read by
//! [`bulwark_formats::host`]) into an [`AgentReport`] and posts it to the server, once or on an interval.
//!
//! [`collect`] reads only under the root it is given (`/` in production, a temporary tree in tests) and never
//! fails as a whole: a source that is absent or unreadable is listed in [`AgentReport::skipped`] with the
//! reason, so the agent runs unprivileged where it can and says what it left out. [`post`] sends a report;
//! [`run`] collects and sends once or every interval until Ctrl-C or SIGTERM.
//!
//! Architecture invariant: the report type is [`bulwark_core::agent`]'s, shared with the server, which
//! therefore never depends on this crate or its HTTP client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use bulwark_core::agent::{AgentDevice, AgentInventory, AgentReport, PackageSource, Skipped};

mod host;
mod packages;
mod post;
mod read;
mod schedule;

pub use post::{PostError, PostOptions, REPORT_PATH, post, report_url};
pub use schedule::{IntervalError, JITTER, MAX_INTERVAL, MIN_INTERVAL, jittered, parse_interval};

/// How a collection runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectOptions {
    /// The time the report says it was collected at.
    pub collected_at: DateTime<Utc>,
}

impl CollectOptions {
    /// Options for a collection happening now.
    pub fn now() -> CollectOptions {
        CollectOptions {
            collected_at: Utc::now(),
        }
    }
}

/// Collects the report of the host whose file system is at `root` (`/` for the running system): its
/// identity, its packages and its configuration facts. `rpm -qa` runs only when `root` is `/`; everything
/// else is read from files under `root`.
pub fn collect(root: &Path, options: &CollectOptions) -> AgentReport {
    let is_live = root.canonicalize().is_ok_and(|p| p == Path::new("/"));
    let mut skipped = Vec::new();
    let device = host::device(root, is_live, &mut skipped);
    let mut inventories = Vec::new();
    packages::collect(root, is_live, &mut inventories, &mut skipped);
    let (facts, facts_skipped) = bulwark_formats::host::collect_facts(root);
    skipped.extend(facts_skipped.into_iter().map(|s| Skipped {
        source: s.what,
        path: s.path,
        reason: s.reason,
    }));
    AgentReport {
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        device,
        collected_at: options.collected_at,
        inventories,
        facts: Some(facts),
        skipped,
    }
}

/// When [`run`] collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Collect and send once; a failure to send is the run's error.
    Once,
    /// Collect and send now, then every interval (jittered by ±[`JITTER`]) until stopped; a failure to
    /// send is logged and the next run tries again.
    Every(Duration),
}

/// What [`run`] needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The file system root to collect (`/`).
    pub root: PathBuf,
    /// The server's base URL.
    pub server: String,
    /// The agent token the server was started with.
    pub token: String,
    /// Once or on an interval.
    pub schedule: Schedule,
    /// Retries and time limits of each post.
    pub post: PostOptions,
}

/// One report delivered: what was sent and what the server answered.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The report sent.
    pub report: AgentReport,
    /// The server's answer: its ingest summary (`packages`, `openWeaknesses`, `opened`, `resolved`, …).
    pub answer: serde_json::Value,
}

/// Collects and posts on the schedule, calling `on_delivery` after each report the server accepted;
/// returns when a single run is done or when Ctrl-C or SIGTERM stops the loop. In a loop, a report that
/// could not be delivered is logged and the next run tries again.
pub async fn run(
    options: RunOptions,
    on_delivery: &(dyn Fn(&Delivery) + Send + Sync),
) -> Result<(), PostError> {
    let interval = match options.schedule {
        Schedule::Once => {
            let delivery = collect_and_post(&options).await?;
            on_delivery(&delivery);
            return Ok(());
        }
        Schedule::Every(interval) => interval,
    };
    let stop = schedule::stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            result = collect_and_post(&options) => match result {
                Ok(delivery) => on_delivery(&delivery),
                Err(e) => tracing::error!(error = %e, "report not delivered; the next run tries again"),
            },
            () = &mut stop => break,
        }
        let wait = jittered(interval, schedule::random_unit());
        tracing::info!("next report in {}s", wait.as_secs());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut stop => break,
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Collects the report of `options.root` (off the async threads: it is file IO and parsing) and posts it.
pub async fn collect_and_post(options: &RunOptions) -> Result<Delivery, PostError> {
    let root = options.root.clone();
    let report = tokio::task::spawn_blocking(move || collect(&root, &CollectOptions::now()))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    for skipped in &report.skipped {
        tracing::info!(source = %skipped.source, path = %skipped.path, "skipped: {}", skipped.reason);
    }
    let answer = post(&report, &options.server, &options.token, &options.post).await?;
    Ok(Delivery { report, answer })
}
