//! `bulwark feeds sync`'s library: downloads the OSV ecosystem archives, the NVD CVE API 2.0
//! (incrementally, within its rate limits), CISA KEV and FIRST EPSS into a feed directory, or copies
//! them from a mirror directory on air-gapped sites, and reports the new files for the caller to import.
//!
//! It does IO (HTTP, files) and nothing else: no database, no parsing beyond NVD's paging fields.
//! Importing is the caller's: `bulwark_engine::Engine::import` on each of [`SyncReport::new_files`].
//!
//! The feed directory:
//!
//! ```text
//! osv/<OSV ecosystem name>/all.zip                  one archive per ecosystem
//! nvd/page-<window>-<startIndex>.json               NVD API pages, exactly as returned
//! nvd/.state.json                                   the end of the last successful NVD run
//! kev/known_exploited_vulnerabilities.json
//! epss/epss_scores-current.csv.gz
//! .<file>.sync.json beside each file                ETag, Last-Modified, SHA-256 of what was fetched
//! ```
//!
//! Time is injected: a [`Clock`] for "now" and a [`Sleeper`] for rate limiting and retry back-off, so
//! both are tested without waiting.

mod error;
mod http;
mod limiter;
mod meta;
mod mirror;
mod nvd;
mod report;
mod sources;
mod time;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

pub use bulwark_core::{Clock, Ecosystem, SystemClock};
pub use error::SyncError;
pub use limiter::{RateLimit, RateLimiter};
pub use nvd::{MAX_PAGE_SIZE, MAX_WINDOW_DAYS, NvdState, STATE_FILE};
pub use report::{Feed, ItemReport, Outcome, SyncReport};
pub use sources::{OFFICIAL, Sources, default_ecosystems};
pub use time::{Sleeper, TokioSleeper};

use http::{Fetched, Http};

/// The file name of an OSV ecosystem archive.
pub const OSV_FILE: &str = "all.zip";
/// The file name of the KEV catalog in JSON (what is downloaded).
pub const KEV_JSON: &str = "known_exploited_vulnerabilities.json";
/// The file name of the KEV catalog in CSV (accepted from a mirror).
pub const KEV_CSV: &str = "known_exploited_vulnerabilities.csv";
/// The file name of the EPSS scores.
pub const EPSS_FILE: &str = "epss_scores-current.csv.gz";

/// What to sync and from where.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The feeds to fetch (order does not matter; a run fetches OSV, NVD, KEV, EPSS in that order).
    pub feeds: Vec<Feed>,
    /// The OSV ecosystems whose archives are fetched.
    pub ecosystems: Vec<Ecosystem>,
    /// The official servers (or others), or a mirror directory.
    pub origin: Origin,
    /// NVD's API key, start date, page size and rate limit.
    pub nvd: NvdOptions,
    /// Timeouts, retries and the size limit of downloads.
    pub limits: Limits,
}

impl Default for SyncOptions {
    /// Every feed and every ecosystem Bulwark matches, from the official sources, without an NVD key.
    fn default() -> Self {
        SyncOptions {
            feeds: Feed::ALL.to_vec(),
            ecosystems: default_ecosystems(),
            origin: Origin::Remote(OFFICIAL),
            nvd: NvdOptions::default(),
            limits: Limits::default(),
        }
    }
}

/// Where the files come from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// Download over HTTP(S).
    Remote(Sources),
    /// Copy from a directory laid out like the feed directory (see the crate documentation).
    Mirror(PathBuf),
}

/// The NVD side of a run.
#[derive(Debug, Clone)]
pub struct NvdOptions {
    /// The API key, sent in the `apiKey` header; raises the rate limit from 5 to 50 requests per 30 s.
    pub api_key: Option<String>,
    /// Without a state file, fetch what was modified since this time instead of the whole catalog.
    pub since: Option<DateTime<Utc>>,
    /// `resultsPerPage`, 1 to [`MAX_PAGE_SIZE`].
    pub page_size: u32,
    /// The rate limit; `None` takes NVD's published one for the key (or its absence).
    pub rate_limit: Option<RateLimit>,
}

impl Default for NvdOptions {
    fn default() -> Self {
        NvdOptions {
            api_key: None,
            since: None,
            page_size: MAX_PAGE_SIZE,
            rate_limit: None,
        }
    }
}

/// Limits of every download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest body accepted, in bytes; a larger one fails and keeps nothing.
    pub max_bytes: u64,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long the server may stay silent while a response is read.
    pub read_timeout: Duration,
    /// How often a request answered 403, 429 or 503 is tried again (a connection failure or timeout is
    /// tried again once, within this count).
    pub retries: u32,
    /// The first wait before a retry; it doubles with each further retry (a `Retry-After` in seconds
    /// from the server takes precedence).
    pub retry_backoff: Duration,
}

impl Default for Limits {
    /// 4 GiB (the largest OSV archives are several hundred MiB), 30 s to connect, 120 s of silence,
    /// 5 retries from 6 s (NVD's recommended pause between requests).
    fn default() -> Self {
        Limits {
            max_bytes: 4 << 30,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            retries: 5,
            retry_backoff: Duration::from_secs(6),
        }
    }
}

/// Parses a `--nvd-since` date: `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`2024-05-01T12:00:00+02:00`).
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, SyncError> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            SyncError::InvalidOption(format!(
                "{text:?} is not a date (YYYY-MM-DD or RFC 3339, e.g. 2024-05-01T12:00:00Z)"
            ))
        })
}

/// Runs one sync into `feed_dir` (created if missing).
///
/// A feed that fails is reported as [`Outcome::Failed`] and the others go on; its files and, for NVD,
/// its state are as they were, and no partial file is left under a final name. The error is for what
/// stops the whole run: invalid options, a feed directory that cannot be created, a mirror directory
/// that does not exist, an HTTP client that cannot be built.
pub async fn sync(
    options: &SyncOptions,
    feed_dir: &Path,
    clock: &dyn Clock,
    sleeper: &dyn Sleeper,
) -> Result<SyncReport, SyncError> {
    if !(1..=MAX_PAGE_SIZE).contains(&options.nvd.page_size) {
        return Err(SyncError::InvalidOption(format!(
            "the NVD page size must be 1 to {MAX_PAGE_SIZE}, not {}",
            options.nvd.page_size
        )));
    }
    std::fs::create_dir_all(feed_dir).map_err(SyncError::io(feed_dir))?;
    match &options.origin {
        Origin::Mirror(mirror) => {
            if !mirror.is_dir() {
                return Err(SyncError::InvalidOption(format!(
                    "the mirror {} is not a directory",
                    mirror.display()
                )));
            }
            let (mirror, dest) = (mirror.clone(), feed_dir.to_path_buf());
            let (feeds, ecosystems) = (options.feeds.clone(), options.ecosystems.clone());
            let items = tokio::task::spawn_blocking(move || {
                mirror::sync(&mirror, &dest, &feeds, &ecosystems)
            })
            .await
            .map_err(|e| SyncError::Io {
                path: feed_dir.to_path_buf(),
                source: std::io::Error::other(e),
            })?;
            Ok(SyncReport { items })
        }
        Origin::Remote(sources) => remote(options, sources, feed_dir, clock, sleeper).await,
    }
}

/// Downloads every requested item, one after the other.
async fn remote(
    options: &SyncOptions,
    sources: &Sources,
    feed_dir: &Path,
    clock: &dyn Clock,
    sleeper: &dyn Sleeper,
) -> Result<SyncReport, SyncError> {
    let http = Http::new(&options.limits, sleeper)?;
    let mut report = SyncReport::default();
    for feed in Feed::ALL.into_iter().filter(|f| options.feeds.contains(f)) {
        let dir = feed_dir.join(feed.name());
        match feed {
            Feed::Osv => {
                for &eco in &options.ecosystems {
                    let dest = dir.join(eco.name()).join(OSV_FILE);
                    let outcome = match sources.osv_archive(eco) {
                        Ok(url) => file_outcome(http.fetch_file(&url, &dest).await, dest),
                        Err(e) => Outcome::Failed(e),
                    };
                    report.items.push(ItemReport {
                        feed,
                        name: format!("osv/{}", eco.name()),
                        outcome,
                    });
                }
            }
            Feed::Nvd => {
                let result = match sources.nvd_url() {
                    Ok(url) => nvd::sync(&http, &options.nvd, &url, &dir, clock, sleeper).await,
                    Err(e) => Err(e),
                };
                let outcome = match result {
                    Ok(pages) if pages.is_empty() => Outcome::Unchanged,
                    Ok(pages) => Outcome::Fetched {
                        bytes: pages.iter().map(|(_, n)| n).sum(),
                        files: pages.into_iter().map(|(p, _)| p).collect(),
                    },
                    Err(e) => Outcome::Failed(e),
                };
                report.items.push(ItemReport {
                    feed,
                    name: feed.name().into(),
                    outcome,
                });
            }
            Feed::Kev | Feed::Epss => {
                let (url, file) = match feed {
                    Feed::Kev => (sources.kev_url(), KEV_JSON),
                    _ => (sources.epss_url(), EPSS_FILE),
                };
                let dest = dir.join(file);
                let outcome = match url {
                    Ok(url) => file_outcome(http.fetch_file(&url, &dest).await, dest),
                    Err(e) => Outcome::Failed(e),
                };
                report.items.push(ItemReport {
                    feed,
                    name: feed.name().into(),
                    outcome,
                });
            }
        }
        for item in report.items.iter().filter(|i| i.feed == feed) {
            if let Outcome::Failed(e) = &item.outcome {
                tracing::warn!(item = %item.name, error = %e, "feed not fetched");
            }
        }
    }
    Ok(report)
}

fn file_outcome(result: Result<Fetched, SyncError>, dest: PathBuf) -> Outcome {
    match result {
        Ok(Fetched::Changed(bytes)) => Outcome::Fetched {
            files: vec![dest],
            bytes,
        },
        Ok(Fetched::Unchanged) => Outcome::Unchanged,
        Err(e) => Outcome::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_an_rfc3339_time() {
        let check = |text: &str, expected: &str| {
            assert_eq!(parse_since(text).unwrap().to_rfc3339(), expected);
        };
        check("2024-05-01", "2024-05-01T00:00:00+00:00");
        check("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00+00:00");
        check(" 2024-05-01T12:00:00Z ", "2024-05-01T12:00:00+00:00");
        let error = parse_since("last tuesday").unwrap_err().to_string();
        assert!(error.contains("\"last tuesday\" is not a date"), "{error}");
    }

    #[test]
    fn feeds_are_named_by_their_directory() {
        for feed in Feed::ALL {
            assert_eq!(Feed::from_name(&feed.name().to_uppercase()), Some(feed));
        }
        assert_eq!(Feed::from_name("ghsa"), None);
    }
}
