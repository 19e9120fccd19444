//! HTTP downloads: one client with timeouts, retries with back-off for the statuses that mean "later",
//! bodies streamed to a temporary file under a size limit, and conditional requests for feed files.
//!
//! The client is `reqwest` (rustls, no OpenSSL): the rest of Bulwark is async on Tokio, and reqwest is
//! Tokio's HTTP client, already in the dependency tree for the server's tests. `ureq` would need a
//! blocking thread per download and its own TLS setup for nothing in return. Bodies are read with
//! `Response::chunk`, so no stream adapter crate is needed.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode, Url};
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use crate::limiter::RateLimiter;
use crate::meta::{self, FileMeta};
use crate::time::Sleeper;
use crate::{Limits, SyncError};

/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!("bulwark/", env!("CARGO_PKG_VERSION"), " (feeds sync)");

/// Statuses that mean "try again later": NVD answers 403 or 429 when a client exceeds its rate limit,
/// and 503 when it is overloaded.
const RETRY_STATUSES: [StatusCode; 3] = [
    StatusCode::FORBIDDEN,
    StatusCode::TOO_MANY_REQUESTS,
    StatusCode::SERVICE_UNAVAILABLE,
];

/// The longest single wait between retries, whatever `Retry-After` asks for.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// A body streamed to a temporary file.
pub(crate) struct Staged {
    /// The file; removed if dropped before it is persisted.
    pub temp: NamedTempFile,
    /// Hex SHA-256 of the body.
    pub sha256: String,
    /// Size of the body.
    pub bytes: u64,
}

/// What a conditional download found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// A new or changed file of this many bytes is in place.
    Changed(u64),
    /// The server said 304, or sent the content the file already has.
    Unchanged,
}

/// The HTTP side of a sync run.
pub(crate) struct Http<'a> {
    client: reqwest::Client,
    limits: &'a Limits,
    sleeper: &'a dyn Sleeper,
}

impl<'a> Http<'a> {
    /// A client with the timeouts of `limits`.
    pub fn new(limits: &'a Limits, sleeper: &'a dyn Sleeper) -> Result<Self, SyncError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(limits.connect_timeout)
            // An idle timeout, not a total one: a large archive on a slow line must still finish.
            .read_timeout(limits.read_timeout)
            .build()
            .map_err(SyncError::Client)?;
        Ok(Http {
            client,
            limits,
            sleeper,
        })
    }

    /// Sends a GET, retrying [`RETRY_STATUSES`] up to [`Limits::retries`] times with exponential
    /// back-off (or the server's `Retry-After`), and a connection failure or timeout once: a host that
    /// cannot be reached twice in a row is usually not reachable at all (an offline machine, a wrong
    /// proxy), and waiting minutes per item would only delay saying so. Every attempt first passes the
    /// rate limiter, if there is one. Returns the final response whatever its status.
    pub async fn get(
        &self,
        url: &Url,
        headers: HeaderMap,
        mut limiter: Option<&mut RateLimiter<'_>>,
    ) -> Result<Response, SyncError> {
        let mut attempt = 0u32;
        let mut transport_retried = false;
        loop {
            if let Some(limiter) = limiter.as_deref_mut() {
                limiter.acquire().await;
            }
            let result = self
                .client
                .get(url.clone())
                .headers(headers.clone())
                .send()
                .await;
            let retry_wait = match &result {
                Ok(response) if RETRY_STATUSES.contains(&response.status()) => {
                    Some(retry_after(response).unwrap_or_else(|| self.backoff(attempt)))
                }
                Err(e) if (e.is_connect() || e.is_timeout()) && !transport_retried => {
                    transport_retried = true;
                    Some(self.backoff(attempt))
                }
                _ => None,
            };
            match retry_wait {
                Some(wait) if attempt < self.limits.retries => {
                    let wait = wait.min(MAX_RETRY_WAIT);
                    let what = match &result {
                        Ok(r) => r.status().to_string(),
                        Err(e) => e.to_string(),
                    };
                    tracing::warn!(%url, %what, ?wait, attempt, "retrying");
                    self.sleeper.sleep(wait).await;
                    attempt += 1;
                }
                _ => return result.map_err(SyncError::transport(url)),
            }
        }
    }

    /// `backoff × 2^attempt`.
    fn backoff(&self, attempt: u32) -> Duration {
        self.limits
            .retry_backoff
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
    }

    /// Streams a successful response's body into a new temporary file in `dir`, failing (and keeping
    /// nothing) past [`Limits::max_bytes`].
    pub async fn stream_to_temp(
        &self,
        mut response: Response,
        url: &Url,
        dir: &Path,
    ) -> Result<Staged, SyncError> {
        let limit = self.limits.max_bytes;
        let too_large = || SyncError::TooLarge {
            url: url.to_string(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let temp = meta::temp_in(dir)?;
        let std_file = temp
            .as_file()
            .try_clone()
            .map_err(SyncError::io(temp.path()))?;
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(SyncError::transport(url))? {
            bytes += chunk.len() as u64;
            if bytes > limit {
                return Err(too_large());
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(SyncError::io(temp.path()))?;
        }
        file.flush().await.map_err(SyncError::io(temp.path()))?;
        Ok(Staged {
            temp,
            sha256: meta::hex(&hasher.finalize()),
            bytes,
        })
    }

    /// Downloads `url` to `dest` unless it is unchanged: the request carries the stored ETag and
    /// Last-Modified, a 304 keeps the file, and a body with the stored SHA-256 keeps it too. The new file
    /// replaces the old one only once it is complete.
    pub async fn fetch_file(&self, url: &Url, dest: &Path) -> Result<Fetched, SyncError> {
        let previous = meta::load(dest);
        let mut headers = HeaderMap::new();
        if let Some(previous) = &previous {
            insert(
                &mut headers,
                header::IF_NONE_MATCH,
                previous.etag.as_deref(),
            );
            insert(
                &mut headers,
                header::IF_MODIFIED_SINCE,
                previous.last_modified.as_deref(),
            );
        }
        let response = self.get(url, headers, None).await?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && previous.is_some() {
            return Ok(Fetched::Unchanged);
        }
        if !status.is_success() {
            return Err(SyncError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let text = |name: HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = text(header::ETAG);
        let last_modified = text(header::LAST_MODIFIED);
        let staged = self
            .stream_to_temp(response, url, meta::parent(dest))
            .await?;
        let meta = FileMeta {
            source: url.to_string(),
            etag,
            last_modified,
            sha256: staged.sha256,
            bytes: staged.bytes,
        };
        let unchanged = previous.is_some_and(|p| p.sha256 == meta.sha256);
        if !unchanged {
            meta::persist(staged.temp, dest)?;
        }
        // The file is in place before its metadata, so a crash in between costs one unconditional
        // download, never a stale file that the server is told is current.
        meta::save(dest, &meta)?;
        Ok(if unchanged {
            Fetched::Unchanged
        } else {
            Fetched::Changed(meta.bytes)
        })
    }
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: Option<&str>) {
    if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(name, value);
    }
}

/// `Retry-After` in seconds (the form rate limiters send; an HTTP date falls back to the back-off).
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}
