//! What a sync run did, per item (one OSV ecosystem, NVD, KEV, EPSS), with the new files to import.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::SyncError;

/// A feed Bulwark downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    /// osv.dev's per-ecosystem archives.
    Osv,
    /// The NVD CVE API 2.0.
    Nvd,
    /// CISA's Known Exploited Vulnerabilities catalog.
    Kev,
    /// FIRST's Exploit Prediction Scoring System scores.
    Epss,
}

impl Feed {
    /// Every feed, in the order a run fetches them.
    pub const ALL: [Feed; 4] = [Feed::Osv, Feed::Nvd, Feed::Kev, Feed::Epss];

    /// The feed's short name, which is also its directory in the feed directory.
    pub fn name(self) -> &'static str {
        match self {
            Feed::Osv => "osv",
            Feed::Nvd => "nvd",
            Feed::Kev => "kev",
            Feed::Epss => "epss",
        }
    }

    /// Parses a short name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Feed> {
        Feed::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened to one item.
#[derive(Debug)]
pub enum Outcome {
    /// New or changed files are in place (for NVD, every page with records modified since the last run).
    Fetched {
        /// The files, in the order they should be imported.
        files: Vec<PathBuf>,
        /// Their total size.
        bytes: u64,
    },
    /// The item is as it was: the server said 304, the content hash is the same, or NVD has no
    /// modification since the last run.
    Unchanged,
    /// Mirror mode: the mirror has no such file.
    Missing {
        /// Where it was looked for.
        expected: PathBuf,
    },
    /// The item could not be fetched; its files and state are as they were.
    Failed(SyncError),
}

/// One item of a run: an OSV ecosystem's archive, or one of the other feeds.
#[derive(Debug)]
pub struct ItemReport {
    /// The feed.
    pub feed: Feed,
    /// The item's name: `osv/PyPI`, `nvd`, `kev`, `epss`.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What a sync run did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// One entry per item, in the order they were fetched.
    pub items: Vec<ItemReport>,
}

impl SyncReport {
    /// The new or changed files, in the order to import them.
    pub fn new_files(&self) -> impl Iterator<Item = &Path> {
        self.items
            .iter()
            .flat_map(|item| match &item.outcome {
                Outcome::Fetched { files, .. } => files.as_slice(),
                _ => &[],
            })
            .map(PathBuf::as_path)
    }

    /// The items that failed or, from a mirror, were missing.
    pub fn problems(&self) -> impl Iterator<Item = &ItemReport> {
        self.items
            .iter()
            .filter(|item| matches!(item.outcome, Outcome::Failed(_) | Outcome::Missing { .. }))
    }

    /// The report of the item named `name` (`osv/PyPI`, `nvd`…).
    pub fn item(&self, name: &str) -> Option<&ItemReport> {
        self.items.iter().find(|item| item.name == name)
    }
}
