//! Where the feeds come from: the official addresses in one table, overridable for tests and proxies.

use std::borrow::Cow;

use bulwark_core::Ecosystem;
use bulwark_core::ecosystem::ALL_ECOSYSTEMS;
use reqwest::Url;

use crate::SyncError;

/// The addresses the feeds are downloaded from. [`OFFICIAL`] holds the publishers' own; a test or a
/// site with an internal proxy builds its own value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The base of osv.dev's per-ecosystem archives: `{osv}/{ECOSYSTEM}/all.zip`.
    pub osv: Cow<'static, str>,
    /// The NVD CVE API 2.0 endpoint (queried with `startIndex`, `resultsPerPage`, `lastModStartDate`,
    /// `lastModEndDate`).
    pub nvd: Cow<'static, str>,
    /// CISA's Known Exploited Vulnerabilities catalog, JSON.
    pub kev: Cow<'static, str>,
    /// FIRST's EPSS scores for every CVE, gzipped CSV.
    pub epss: Cow<'static, str>,
}

/// The official sources.
///
/// | feed | address |
/// |---|---|
/// | OSV | `https://osv-vulnerabilities.storage.googleapis.com/{ECOSYSTEM}/all.zip` |
/// | NVD | `https://services.nvd.nist.gov/rest/json/cves/2.0` |
/// | KEV | `https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json` |
/// | EPSS | `https://epss.empiricalsecurity.com/epss_scores-current.csv.gz` |
pub const OFFICIAL: Sources = Sources {
    osv: Cow::Borrowed("https://osv-vulnerabilities.storage.googleapis.com"),
    nvd: Cow::Borrowed("https://services.nvd.nist.gov/rest/json/cves/2.0"),
    kev: Cow::Borrowed(
        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
    ),
    epss: Cow::Borrowed("https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"),
};

impl Default for Sources {
    fn default() -> Self {
        OFFICIAL
    }
}

impl Sources {
    /// Every feed under one base URL, laid out like a feed directory: `{base}/osv/{ECOSYSTEM}/all.zip`,
    /// `{base}/nvd/cves/2.0`, `{base}/kev/known_exploited_vulnerabilities.json`,
    /// `{base}/epss/epss_scores-current.csv.gz` (a test server, or a web server over a mirror).
    pub fn under(base: &str) -> Sources {
        let base = base.trim_end_matches('/');
        Sources {
            osv: format!("{base}/osv").into(),
            nvd: format!("{base}/nvd/cves/2.0").into(),
            kev: format!("{base}/kev/known_exploited_vulnerabilities.json").into(),
            epss: format!("{base}/epss/epss_scores-current.csv.gz").into(),
        }
    }

    /// The archive URL of one ecosystem; the name is one path segment, percent-encoded (`Rocky%20Linux`).
    /// An ecosystem OSV publishes nothing for ([`Ecosystem::Cpe`]) is an invalid option.
    pub fn osv_archive(&self, ecosystem: Ecosystem) -> Result<Url, SyncError> {
        let name = ecosystem.osv_name().ok_or_else(|| {
            SyncError::InvalidOption(format!("OSV publishes no archive for {ecosystem}"))
        })?;
        let mut url = parse(&self.osv)?;
        url.path_segments_mut()
            .map_err(|()| SyncError::InvalidOption(format!("{} cannot be a base URL", self.osv)))?
            .pop_if_empty()
            .push(name)
            .push("all.zip");
        Ok(url)
    }

    /// The NVD endpoint, parsed.
    pub fn nvd_url(&self) -> Result<Url, SyncError> {
        parse(&self.nvd)
    }

    /// The KEV catalog URL, parsed.
    pub fn kev_url(&self) -> Result<Url, SyncError> {
        parse(&self.kev)
    }

    /// The EPSS file URL, parsed.
    pub fn epss_url(&self) -> Result<Url, SyncError> {
        parse(&self.epss)
    }
}

fn parse(url: &str) -> Result<Url, SyncError> {
    Url::parse(url).map_err(|e| SyncError::InvalidOption(format!("{url}: {e}")))
}

/// The ecosystems downloaded by default: every ecosystem Bulwark matches that OSV publishes an archive
/// for (so not [`Ecosystem::Cpe`], which only NVD's CPE configurations judge).
pub fn default_ecosystems() -> Vec<Ecosystem> {
    ALL_ECOSYSTEMS
        .into_iter()
        .filter(|e| e.osv_name().is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_archive_urls_encode_the_ecosystem_as_one_segment() {
        let check = |eco, expected: &str| {
            assert_eq!(OFFICIAL.osv_archive(eco).unwrap().as_str(), expected);
        };
        check(
            Ecosystem::RockyLinux,
            "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip",
        );
        check(
            Ecosystem::CratesIo,
            "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip",
        );
        let local = Sources::under("http://127.0.0.1:9/");
        assert_eq!(
            local.osv_archive(Ecosystem::PyPI).unwrap().as_str(),
            "http://127.0.0.1:9/osv/PyPI/all.zip"
        );
    }

    #[test]
    fn cpe_only_software_has_no_osv_archive() {
        assert!(!default_ecosystems().contains(&Ecosystem::Cpe));
        assert_eq!(default_ecosystems().len(), ALL_ECOSYSTEMS.len() - 1);
        assert!(matches!(
            OFFICIAL.osv_archive(Ecosystem::Cpe),
            Err(SyncError::InvalidOption(m)) if m == "OSV publishes no archive for CPE"
        ));
    }

    #[test]
    fn a_url_that_does_not_parse_is_an_invalid_option() {
        let sources = Sources {
            kev: "not a url".into(),
            ..OFFICIAL
        };
        assert!(
            matches!(sources.kev_url(), Err(SyncError::InvalidOption(m)) if m.contains("not a url"))
        );
    }
}
