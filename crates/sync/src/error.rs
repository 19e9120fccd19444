//! `SyncError`: what can go wrong while fetching a feed, each variant naming the URL or the file.

use std::io;
use std::path::{Path, PathBuf};

/// An error while fetching or copying a feed. Every variant names the URL or the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading or writing a local file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The request could not be sent or the response body could not be read (connection, TLS, timeout).
    #[error("GET {url}: {source}")]
    Transport {
        /// The requested URL.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a status that is not a success (after the retries, for retried statuses).
    #[error("GET {url}: HTTP {status}{}", reason_phrase(*.status))]
    Status {
        /// The requested URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The response is larger than [`Limits::max_bytes`](crate::Limits::max_bytes); nothing was kept.
    #[error("GET {url}: the response is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The requested URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// An NVD response is not a CVE API 2.0 page (or its paging fields contradict the request).
    #[error("GET {url}: not a usable NVD CVE API 2.0 page: {message}")]
    InvalidNvdPage {
        /// The requested URL.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The NVD sync state file cannot be read; delete it to download everything again.
    #[error("{}: invalid sync state: {message}", path.display())]
    InvalidState {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The options cannot be used as given (a URL that does not parse, a page size NVD refuses…).
    #[error("invalid sync option: {0}")]
    InvalidOption(String),
    /// The HTTP client could not be built (for example, no TLS roots).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl SyncError {
    /// An [`SyncError::Io`] for `path`, for use with `map_err`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> SyncError + '_ {
        move |source| SyncError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A [`SyncError::Transport`] for `url`, for use with `map_err`.
    pub(crate) fn transport(url: &reqwest::Url) -> impl FnOnce(reqwest::Error) -> SyncError + '_ {
        move |source| SyncError::Transport {
            url: url.to_string(),
            // The URL is already in the message; reqwest would repeat it.
            source: source.without_url(),
        }
    }
}

fn reason_phrase(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}
