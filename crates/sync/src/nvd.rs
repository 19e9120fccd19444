//! The NVD CVE API 2.0, incrementally: the whole catalog on the first run, then only the CVEs whose
//! `lastModified` falls after the previous run's end, in windows of at most 120 days, every page saved
//! as returned. Nothing reaches its final name, and the state does not move, unless the whole run works.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use bulwark_core::Clock;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::http::Http;
use crate::limiter::{RateLimit, RateLimiter};
use crate::meta;
use crate::time::Sleeper;
use crate::{NvdOptions, SyncError};

/// The longest `lastModStartDate`..`lastModEndDate` range NVD accepts.
pub const MAX_WINDOW_DAYS: i64 = 120;

/// The largest `resultsPerPage` NVD accepts for CVEs.
pub const MAX_PAGE_SIZE: u32 = 2000;

/// The state file inside the `nvd/` directory (hidden, so an import of the directory passes over it).
pub const STATE_FILE: &str = ".state.json";

/// Where pages wait until the run has succeeded.
const STAGING_DIR: &str = ".incoming";

/// What the last successful NVD run covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NvdState {
    /// The end of the last run's `lastModified` range (the time the run started): the next run asks
    /// for what was modified since.
    pub last_end: DateTime<Utc>,
}

impl NvdState {
    /// Reads the state of an NVD directory; `None` when there is none yet.
    pub fn load(nvd_dir: &Path) -> Result<Option<NvdState>, SyncError> {
        let path = nvd_dir.join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SyncError::Io { path, source: e }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SyncError::InvalidState {
                path,
                message: e.to_string(),
            })
    }

    fn save(&self, nvd_dir: &Path) -> Result<(), SyncError> {
        let path = nvd_dir.join(STATE_FILE);
        let json = serde_json::to_vec_pretty(self).map_err(|e| SyncError::InvalidState {
            path: path.clone(),
            message: e.to_string(),
        })?;
        meta::write_atomically(&path, &json)
    }
}

/// One query's `lastModified` range; `None` bounds mean the whole catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The run's end, naming full downloads.
    end: DateTime<Utc>,
}

impl Window {
    /// The part of the page file names that names the window.
    fn label(&self) -> String {
        let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        match self.range {
            Some((start, end)) => format!("{}-{}", stamp(start), stamp(end)),
            None => format!("full-{}", stamp(self.end)),
        }
    }
}

/// Splits `[start, end)` into consecutive windows of at most [`MAX_WINDOW_DAYS`]; none when
/// `start >= end`.
pub(crate) fn windows(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Window> {
    let step = chrono::Duration::days(MAX_WINDOW_DAYS);
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let to = (from + step).min(end);
        out.push(Window {
            range: Some((from, to)),
            end,
        });
        from = to;
    }
    out
}

/// The paging fields of a CVE API 2.0 page (the vulnerabilities are counted, not kept).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageHead {
    start_index: u64,
    total_results: u64,
    #[serde(default)]
    vulnerabilities: Vec<serde::de::IgnoredAny>,
}

/// Removes the staging directory when the run ends, however it ends.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: a leftover hidden directory is cleared again by the next run.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs one NVD sync into `nvd_dir`. Returns the new page files in the order they were fetched (empty
/// when nothing was modified).
pub(crate) async fn sync(
    http: &Http<'_>,
    options: &NvdOptions,
    url: &Url,
    nvd_dir: &Path,
    clock: &dyn Clock,
    sleeper: &dyn Sleeper,
) -> Result<Vec<(PathBuf, u64)>, SyncError> {
    let state = NvdState::load(nvd_dir)?;
    let end = clock.now();
    let plan = match (&state, options.since) {
        (Some(state), _) => windows(state.last_end, end),
        (None, Some(since)) => windows(since, end),
        (None, None) => vec![Window { range: None, end }],
    };
    if plan.is_empty() {
        return Ok(Vec::new());
    }
    let limit = options.rate_limit.unwrap_or(if options.api_key.is_some() {
        RateLimit::NVD_WITH_KEY
    } else {
        RateLimit::NVD_WITHOUT_KEY
    });
    let mut limiter = RateLimiter::new(limit, clock, sleeper);
    let mut headers = HeaderMap::new();
    if let Some(key) = &options.api_key {
        let value = HeaderValue::from_str(key).map_err(|_| {
            SyncError::InvalidOption("the NVD API key is not a header value".into())
        })?;
        headers.insert(HeaderName::from_static("apikey"), value);
    }

    let staging_dir = nvd_dir.join(STAGING_DIR);
    // Pages of an earlier run that failed are not reused: their window may not match this one.
    let _ = fs::remove_dir_all(&staging_dir);
    fs::create_dir_all(&staging_dir).map_err(SyncError::io(&staging_dir))?;
    let _staging = Staging(staging_dir.clone());

    let mut staged = Vec::new();
    for window in &plan {
        let mut start_index = 0u64;
        loop {
            let page_url = page_url(url, window, start_index, options.page_size);
            let response = http
                .get(&page_url, headers.clone(), Some(&mut limiter))
                .await?;
            if !response.status().is_success() {
                return Err(SyncError::Status {
                    url: page_url.to_string(),
                    status: response.status().as_u16(),
                });
            }
            let page = http
                .stream_to_temp(response, &page_url, &staging_dir)
                .await?;
            let head = read_head(page.temp.path(), &page_url)?;
            if head.start_index != start_index {
                return Err(SyncError::InvalidNvdPage {
                    url: page_url.to_string(),
                    message: format!(
                        "startIndex {} where {start_index} was asked for",
                        head.start_index
                    ),
                });
            }
            let count = head.vulnerabilities.len() as u64;
            if count > 0 {
                let name = format!("page-{}-{start_index:07}.json", window.label());
                let path = staging_dir.join(&name);
                meta::persist(page.temp, &path)?;
                staged.push((name, page.bytes));
            }
            start_index += count;
            if start_index >= head.total_results {
                break;
            }
            if count == 0 {
                return Err(SyncError::InvalidNvdPage {
                    url: page_url.to_string(),
                    message: format!(
                        "no vulnerabilities at startIndex {start_index} of totalResults {}",
                        head.total_results
                    ),
                });
            }
        }
    }

    let mut files = Vec::with_capacity(staged.len());
    for (name, bytes) in staged {
        let from = staging_dir.join(&name);
        let to = nvd_dir.join(&name);
        fs::rename(&from, &to).map_err(SyncError::io(&to))?;
        files.push((to, bytes));
    }
    NvdState { last_end: end }.save(nvd_dir)?;
    Ok(files)
}

/// A page's URL: the window (if any), `startIndex` and `resultsPerPage`.
fn page_url(base: &Url, window: &Window, start_index: u64, page_size: u32) -> Url {
    let mut url = base.clone();
    {
        let mut query = url.query_pairs_mut();
        if let Some((start, end)) = window.range {
            query.append_pair("lastModStartDate", &iso(start));
            query.append_pair("lastModEndDate", &iso(end));
        }
        query.append_pair("startIndex", &start_index.to_string());
        query.append_pair("resultsPerPage", &page_size.to_string());
    }
    url
}

/// ISO-8601 with milliseconds and an explicit offset, as NVD requires (`2024-01-01T00:00:00.000+00:00`).
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn read_head(path: &Path, url: &Url) -> Result<PageHead, SyncError> {
    let file = fs::File::open(path).map_err(SyncError::io(path))?;
    serde_json::from_reader(BufReader::new(file)).map_err(|e| SyncError::InvalidNvdPage {
        url: url.to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn check(start: &str, end: &str, expected: &[&str]) {
        let labels: Vec<String> = windows(t(start), t(end))
            .iter()
            .map(Window::label)
            .collect();
        assert_eq!(labels, expected);
    }

    #[test]
    fn ranges_are_split_into_windows_of_at_most_120_days() {
        check(
            "2024-01-01T00:00:00Z",
            "2024-01-02T12:00:00Z",
            &["20240101T000000Z-20240102T120000Z"],
        );
        check(
            "2024-01-01T00:00:00Z",
            "2024-04-30T00:00:00Z",
            &["20240101T000000Z-20240430T000000Z"],
        );
        check(
            "2024-01-01T00:00:00Z",
            "2024-09-01T00:00:00Z",
            &[
                "20240101T000000Z-20240430T000000Z",
                "20240430T000000Z-20240828T000000Z",
                "20240828T000000Z-20240901T000000Z",
            ],
        );
        check("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", &[]);
        check("2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z", &[]);
    }

    #[test]
    fn dates_carry_milliseconds_and_an_offset() {
        assert_eq!(
            iso(t("2024-03-05T06:07:08.9Z")),
            "2024-03-05T06:07:08.900+00:00"
        );
        let window = windows(t("2024-01-01T00:00:00Z"), t("2024-01-02T00:00:00Z"))[0];
        let url = page_url(
            &Url::parse("http://x/cves/2.0").unwrap(),
            &window,
            2000,
            2000,
        );
        assert_eq!(
            url.query(),
            Some(
                "lastModStartDate=2024-01-01T00%3A00%3A00.000%2B00%3A00\
                 &lastModEndDate=2024-01-02T00%3A00%3A00.000%2B00%3A00&startIndex=2000&resultsPerPage=2000"
            )
        );
    }
}
