//! Everything `bulwark import` reads from one walk of a file, tree or archive: OSV records and the
//! advisory feeds converted to them, and the threat-context feeds (NVD CVE API 2.0, CISA KEV, FIRST
//! EPSS), each document recognised by its content.
//!
//! Threat-context documents are all-or-nothing: a document with any invalid record or row is reported
//! as an error and hands nothing on, so a malformed feed file never changes what the caller stores.
//! Single gzip-compressed files (`nvdcve-2.0-2024.json.gz`, `epss_scores-current.csv.gz`) are
//! recognised by their decompressed start.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use bulwark_core::Advisory;
use bulwark_core::threat::{EpssSet, KevCatalog, NvdRecord};
use flate2::read::MultiGzDecoder;

use crate::error::FormatError;
use crate::osv::{self, ReadReport};
use crate::source::{self, SourceFile};
use crate::{epss, kev, nvd};

/// How much of a gzip-compressed file is decompressed to recognise it.
const SNIFF_BYTES: usize = 64 * 1024;

/// One thing found by [`read_feeds`].
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// An OSV advisory (read or converted); boxed, as it is the most frequent item and the largest.
    Advisory(Box<Advisory>),
    /// All the records of one NVD document, valid as a whole.
    Nvd {
        /// The document's name.
        file: String,
        /// Its records.
        records: Vec<NvdRecord>,
    },
    /// One KEV catalog (JSON or CSV).
    Kev {
        /// The document's name.
        file: String,
        /// The catalog.
        catalog: KevCatalog,
    },
    /// The scores of one EPSS file.
    Epss {
        /// The document's name.
        file: String,
        /// The scores, with the model and date the file names.
        set: EpssSet,
    },
}

/// What [`read_feeds`] saw: the advisory walk's report, and the threat-context documents.
#[derive(Debug, Default)]
pub struct FeedReport {
    /// OSV and converted-feed advisories, errors of every kind included.
    pub advisories: ReadReport,
    /// NVD documents handed on.
    pub nvd_files: u64,
    /// KEV catalogs handed on.
    pub kev_files: u64,
    /// EPSS files handed on.
    pub epss_files: u64,
}

/// The threat-context feeds, as recognised from a document's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThreatFeed {
    Nvd,
    Kev,
    Epss,
}

fn recognise(head: &[u8]) -> Option<ThreatFeed> {
    if nvd::is_nvd(head) {
        Some(ThreatFeed::Nvd)
    } else if kev::is_kev(head) {
        Some(ThreatFeed::Kev)
    } else if !head.starts_with(&[0x1f, 0x8b]) && epss::is_epss(head) {
        Some(ThreatFeed::Epss)
    } else {
        None
    }
}

/// The decompressed start of a gzip document (empty when it does not decompress).
fn gzip_head(bytes: &[u8]) -> Vec<u8> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    // A truncated or corrupt stream yields what decompressed before the damage; parsing reports it.
    let _ = MultiGzDecoder::new(bytes)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head);
    head
}

/// Walks `path` (see [`source::walk`]) and hands every advisory and every valid threat-context
/// document to `sink`. A document that is none of the threat feeds is read as [`osv::read_advisories`]
/// reads it. Errors are collected in the report's `advisories.errors`; only a top-level path that cannot
/// be read is an `Err`.
pub fn read_feeds(path: &Path, sink: &mut dyn FnMut(FeedItem)) -> Result<FeedReport, FormatError> {
    let mut report = FeedReport::default();
    let mut parse_errors = Vec::new();
    let mut feed_ids: HashSet<String> = HashSet::new();
    let stats = source::walk_feeds(path, &mut |file: SourceFile<'_>| {
        let gzip = file.bytes.starts_with(&[0x1f, 0x8b]);
        let head = if gzip {
            gzip_head(file.bytes)
        } else {
            Vec::new()
        };
        let feed = recognise(if gzip { &head } else { file.bytes });
        match feed.map(|feed| read_threat(feed, file)) {
            Some(Ok(item)) => {
                report.advisories.files_read += 1;
                match &item {
                    FeedItem::Nvd { .. } => report.nvd_files += 1,
                    FeedItem::Kev { .. } => report.kev_files += 1,
                    FeedItem::Epss { .. } => report.epss_files += 1,
                    FeedItem::Advisory(_) => {}
                }
                sink(item);
            }
            Some(Err(e)) => {
                report.advisories.files_read += 1;
                parse_errors.push(e);
            }
            None => osv::visit_document(
                file,
                &mut report.advisories,
                &mut parse_errors,
                &mut feed_ids,
                &mut |advisory| sink(FeedItem::Advisory(Box::new(advisory))),
            ),
        }
        Ok(())
    })?;
    report.advisories.errors = stats.errors;
    report.advisories.errors.append(&mut parse_errors);
    Ok(report)
}

/// Parses one threat-context document whole; any invalid record makes the whole document an error.
fn read_threat(feed: ThreatFeed, file: SourceFile<'_>) -> Result<FeedItem, FormatError> {
    let name = file.name.to_string();
    match feed {
        ThreatFeed::Nvd => {
            let mut records = Vec::new();
            let report = nvd::read_nvd(file.name, file.bytes, &mut |r| records.push(r))?;
            if let Some(first) = report.errors.into_iter().next() {
                return Err(first);
            }
            Ok(FeedItem::Nvd {
                file: name,
                records,
            })
        }
        ThreatFeed::Kev => Ok(FeedItem::Kev {
            file: name,
            catalog: kev::parse_kev(file.name, file.bytes)?,
        }),
        ThreatFeed::Epss => Ok(FeedItem::Epss {
            file: name,
            set: epss::parse_epss(file.name, file.bytes)?,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEV_JSON: &str = r#"{"title":"CISA Catalog","catalogVersion":"2025.08.25","dateReleased":"2025-08-25T17:00:00.000Z","count":1,"vulnerabilities":[{"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","vulnerabilityName":"Apache Log4j2 Remote Code Execution Vulnerability","dateAdded":"2021-12-10","shortDescription":"x","requiredAction":"Apply updates.","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known","notes":"","cwes":["CWE-20"]}]}"#;

    fn walk(files: &[(&str, &[u8])]) -> (Vec<FeedItem>, FeedReport) {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let mut items = Vec::new();
        let report = read_feeds(dir.path(), &mut |i| items.push(i)).unwrap();
        (items, report)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn threat_feeds_are_recognised_plain_and_gzipped() {
        let epss = b"#model_version:v2025.03.14,score_date:2025-03-15T12:55:00Z\ncve,epss,percentile\nCVE-2024-6387,0.99506,0.99942\n";
        let (items, report) = walk(&[
            ("kev.json", KEV_JSON.as_bytes()),
            ("epss.csv.gz", &gzip(epss)),
            ("kev2.json.gz", &gzip(KEV_JSON.as_bytes())),
        ]);
        assert_eq!(
            (report.kev_files, report.epss_files, report.nvd_files),
            (2, 1, 0)
        );
        assert!(report.advisories.errors.is_empty());
        assert_eq!(report.advisories.files_read, 3);
        assert_eq!(report.advisories.not_osv, 0);
        let epss_set = items.iter().find_map(|i| match i {
            FeedItem::Epss { set, .. } => Some(set),
            _ => None,
        });
        let set = epss_set.expect("the EPSS file");
        assert_eq!(set.scores[0].epss, 0.99506);
        assert_eq!(set.model_version.as_deref(), Some("v2025.03.14"));
    }

    #[test]
    fn a_malformed_threat_document_hands_nothing_on() {
        let bad_epss =
            b"cve,epss,percentile\nCVE-2024-6387,0.99506,0.99942\nCVE-2024-0001,not-a-number,0.1\n";
        let bad_kev = KEV_JSON.replace("\"count\":1", "\"count\":2");
        let (items, report) = walk(&[("a.csv", bad_epss), ("k.json", bad_kev.as_bytes())]);
        assert!(items.is_empty(), "{items:?}");
        let errors: Vec<String> = report
            .advisories
            .errors
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("a.csv") && e.contains("line 3")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("k.json") && e.contains("$.count")),
            "{errors:?}"
        );
    }

    #[test]
    fn other_documents_are_read_as_advisories() {
        let osv = br#"{"id":"GHSA-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#;
        let (items, report) = walk(&[("a.json", osv), ("b.json", b"{\"name\": \"x\"}")]);
        assert!(matches!(&items[..], [FeedItem::Advisory(a)] if a.id == "GHSA-1"));
        assert_eq!(report.advisories.not_osv, 1);
        assert_eq!(report.advisories.files_read, 2);
    }
}
