//! Where advisory documents come from: a file, a directory tree or an archive (.zip, .tar, .tar.gz,
//! .tgz, .tar.zst), read as a stream of named byte buffers without unpacking anything to disk.
//!
//! What is fatal and what is recorded: only a top-level path that cannot be opened or read is an `Err`.
//! Everything found below it that goes wrong — an unreadable file, a member over the size limit, a
//! truncated or corrupt archive, an archive with absurdly many entries, an error the visitor returns —
//! is pushed to [`WalkStats::errors`] and the walk goes on with the next file (or, when a compressed
//! stream breaks, with the next archive: nothing after the break can be trusted).
//!
//! What is yielded: files and archive members whose names end in `.json`, `.yaml` or `.yml` (any case).
//! A top-level path that names a plain file is yielded whatever its name: the caller asked for it.
//! Archives found in a walked directory are opened; archives inside archives are not (they are counted
//! in `skipped`, as are other names, hidden entries, links inside archives and symlink loops).
//! Directories are walked in file-name order, following symlinks but never around a loop; entries whose
//! name starts with `.` (such as `.git`) are skipped. Member names are `archive!inner/path`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use walkdir::WalkDir;

use crate::error::FormatError;

/// The largest file or archive member read (64 MiB); larger ones are reported as [`FormatError::TooLarge`].
pub const MAX_MEMBER_BYTES: u64 = 64 * 1024 * 1024;

/// The most entries read from one archive; osv.dev's complete `all.zip` holds well under a million.
pub const MAX_ARCHIVE_ENTRIES: u64 = 5_000_000;

/// One document handed to the visitor.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    /// `dir/a.json`, or `x.tar.zst!inner/path/a.json` for an archive member.
    pub name: &'a str,
    /// The whole content.
    pub bytes: &'a [u8],
}

/// What a walk saw.
#[derive(Debug, Default)]
pub struct WalkStats {
    /// Files and members handed to the visitor.
    pub files: u64,
    /// Archives opened.
    pub archives: u64,
    /// Files, members and entries passed over (other names, hidden entries, nested archives, links
    /// inside archives, symlink loops).
    pub skipped: u64,
    /// What went wrong below the top-level path, in walk order.
    pub errors: Vec<FormatError>,
}

/// Limits that protect a walk from hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkLimits {
    /// The largest file or member read, in bytes.
    pub max_member_bytes: u64,
    /// The most entries read from one archive.
    pub max_archive_entries: u64,
}

impl Default for WalkLimits {
    fn default() -> WalkLimits {
        WalkLimits {
            max_member_bytes: MAX_MEMBER_BYTES,
            max_archive_entries: MAX_ARCHIVE_ENTRIES,
        }
    }
}

/// Walks `path` with the default [`WalkLimits`], calling `visit` for every document found.
///
/// See the module documentation for what is yielded and what is fatal.
pub fn walk(
    path: &Path,
    visit: &mut dyn FnMut(SourceFile<'_>) -> Result<(), FormatError>,
) -> Result<WalkStats, FormatError> {
    walk_with_limits(path, &WalkLimits::default(), visit)
}

/// Walks `path` like [`walk`], yielding also the threat-context feeds' files: `.csv` and single
/// gzip-compressed `.json.gz` / `.csv.gz` files (handed on compressed).
pub fn walk_feeds(
    path: &Path,
    visit: &mut dyn FnMut(SourceFile<'_>) -> Result<(), FormatError>,
) -> Result<WalkStats, FormatError> {
    walk_inner(path, &WalkLimits::default(), Documents::Feeds, visit)
}

/// Walks `path` like [`walk`], with the given limits.
pub fn walk_with_limits(
    path: &Path,
    limits: &WalkLimits,
    visit: &mut dyn FnMut(SourceFile<'_>) -> Result<(), FormatError>,
) -> Result<WalkStats, FormatError> {
    walk_inner(path, limits, Documents::Advisories, visit)
}

fn walk_inner(
    path: &Path,
    limits: &WalkLimits,
    documents: Documents,
    visit: &mut dyn FnMut(SourceFile<'_>) -> Result<(), FormatError>,
) -> Result<WalkStats, FormatError> {
    let name = path.to_string_lossy().into_owned();
    let metadata = std::fs::metadata(path).map_err(io_error(&name))?;
    let mut walker = Walker {
        visit,
        limits: *limits,
        stats: WalkStats::default(),
        buf: Vec::new(),
        documents,
    };
    if metadata.is_dir() {
        walker.directory(path);
    } else if let Some(kind) = archive_kind(&name) {
        walker.archive(path, &name, kind)?;
    } else {
        walker.plain_file(path, &name)?;
    }
    Ok(walker.stats)
}

/// The archive formats that are opened, chosen by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveKind {
    Zip,
    Tar,
    TarGz,
    TarZst,
}

/// The archive kind a name says, if any.
fn archive_kind(name: &str) -> Option<ArchiveKind> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        Some(ArchiveKind::Zip)
    } else if lower.ends_with(".tar") {
        Some(ArchiveKind::Tar)
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some(ArchiveKind::TarGz)
    } else if lower.ends_with(".tar.zst") || lower.ends_with(".tzst") {
        Some(ArchiveKind::TarZst)
    } else {
        None
    }
}

/// Which files a walk yields from directories and archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Documents {
    /// `.json`, `.yaml`, `.yml`: advisory documents.
    Advisories,
    /// Those, and the threat-context feeds' files: `.csv` (KEV, EPSS) and single gzip-compressed
    /// `.json.gz` / `.csv.gz` files (NVD feed files, EPSS's daily file).
    Feeds,
}

/// True for names the walk yields from directories and archives.
fn is_document(name: &str, documents: Documents) -> bool {
    let lower = name.to_ascii_lowercase();
    let advisory = lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml");
    advisory
        || (documents == Documents::Feeds
            && (lower.ends_with(".csv")
                || lower.ends_with(".csv.gz")
                || lower.ends_with(".json.gz")))
}

/// Builds the `Io` error for `file`.
fn io_error(file: &str) -> impl Fn(std::io::Error) -> FormatError + '_ {
    move |source| FormatError::Io {
        file: file.to_string(),
        source,
    }
}

/// The error for an archive that cannot be read on from some entry on.
fn broken_archive(
    archive: &str,
    entry: u64,
    member: Option<&str>,
    err: &dyn std::fmt::Display,
) -> FormatError {
    let location = match member {
        Some(m) => format!("entry {entry} ({m})"),
        None => format!("entry {entry}"),
    };
    FormatError::parse(
        archive,
        location,
        format!("archive is truncated or corrupt: {err}"),
    )
}

/// The state of one walk.
struct Walker<'v> {
    visit: &'v mut dyn FnMut(SourceFile<'_>) -> Result<(), FormatError>,
    limits: WalkLimits,
    stats: WalkStats,
    /// One buffer, reused for every document.
    buf: Vec<u8>,
    /// Which files are documents.
    documents: Documents,
}

impl Walker<'_> {
    /// Hands the buffer to the visitor under `name`.
    fn emit(&mut self, name: &str) {
        self.stats.files += 1;
        let file = SourceFile {
            name,
            bytes: &self.buf,
        };
        if let Err(e) = (self.visit)(file) {
            self.stats.errors.push(e);
        }
    }

    fn too_large(&mut self, file: &str, size: u64) {
        self.stats.errors.push(FormatError::TooLarge {
            file: file.to_string(),
            size,
            limit: self.limits.max_member_bytes,
        });
    }

    /// Reads one file from disk; opening and reading errors are returned, size errors recorded.
    fn plain_file(&mut self, path: &Path, name: &str) -> Result<(), FormatError> {
        let file = File::open(path).map_err(io_error(name))?;
        let declared = file.metadata().map_err(io_error(name))?.len();
        if declared > self.limits.max_member_bytes {
            self.too_large(name, declared);
            return Ok(());
        }
        self.buf.clear();
        file.take(self.limits.max_member_bytes + 1)
            .read_to_end(&mut self.buf)
            .map_err(io_error(name))?;
        let read = self.buf.len() as u64;
        if read > self.limits.max_member_bytes {
            // The file grew while it was read.
            self.too_large(name, read);
            return Ok(());
        }
        self.emit(name);
        Ok(())
    }

    /// Walks a directory tree in name order.
    fn directory(&mut self, root: &Path) {
        let mut entries = WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        while let Some(next) = entries.next() {
            let entry = match next {
                Ok(entry) => entry,
                Err(e) => {
                    if e.loop_ancestor().is_some() {
                        self.stats.skipped += 1;
                    } else {
                        let file = e.path().unwrap_or(root).to_string_lossy().into_owned();
                        self.stats.errors.push(FormatError::Io {
                            file,
                            source: e.into(),
                        });
                    }
                    continue;
                }
            };
            let file_type = entry.file_type();
            if entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.') {
                if file_type.is_dir() {
                    entries.skip_current_dir();
                }
                self.stats.skipped += 1;
                continue;
            }
            if file_type.is_dir() {
                continue;
            }
            let name = entry.path().to_string_lossy().into_owned();
            if !file_type.is_file() {
                self.stats.skipped += 1;
            } else if let Some(kind) = archive_kind(&name) {
                if let Err(e) = self.archive(entry.path(), &name, kind) {
                    self.stats.errors.push(e);
                }
            } else if is_document(&name, self.documents) {
                if let Err(e) = self.plain_file(entry.path(), &name) {
                    self.stats.errors.push(e);
                }
            } else {
                self.stats.skipped += 1;
            }
        }
    }

    /// Opens an archive; only failing to open the file is returned, everything after is recorded.
    fn archive(&mut self, path: &Path, name: &str, kind: ArchiveKind) -> Result<(), FormatError> {
        let file = File::open(path).map_err(io_error(name))?;
        self.stats.archives += 1;
        match kind {
            ArchiveKind::Zip => self.zip(name, file),
            ArchiveKind::Tar => self.tar(name, BufReader::new(file)),
            ArchiveKind::TarGz => self.tar(name, MultiGzDecoder::new(BufReader::new(file))),
            ArchiveKind::TarZst => match zstd::stream::read::Decoder::new(file) {
                Ok(decoder) => self.tar(name, decoder),
                Err(e) => self.stats.errors.push(broken_archive(name, 0, None, &e)),
            },
        }
        Ok(())
    }

    /// Classifies an archive member: `true` when it is to be read.
    fn wanted_member(&mut self, member: &str) -> bool {
        if archive_kind(member).is_some() || !is_document(member, self.documents) {
            self.stats.skipped += 1;
            return false;
        }
        true
    }

    /// Streams the members of a tar archive.
    fn tar(&mut self, archive_name: &str, reader: impl Read) {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(e) => {
                self.stats
                    .errors
                    .push(broken_archive(archive_name, 0, None, &e));
                return;
            }
        };
        let mut index = 0u64;
        for entry in entries {
            index += 1;
            if index > self.limits.max_archive_entries {
                self.stats.errors.push(FormatError::parse(
                    archive_name,
                    format!("entry {index}"),
                    format!(
                        "more than {} entries; the rest of the archive is not read",
                        self.limits.max_archive_entries
                    ),
                ));
                return;
            }
            let mut entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.stats
                        .errors
                        .push(broken_archive(archive_name, index, None, &e));
                    return;
                }
            };
            let kind = entry.header().entry_type();
            if kind.is_dir()
                || kind.is_pax_global_extensions()
                || kind.is_pax_local_extensions()
                || kind.is_gnu_longname()
                || kind.is_gnu_longlink()
            {
                // Structure and metadata, not content (`git archive` writes a pax global header).
                continue;
            }
            let member = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if !(kind.is_file() || kind.is_contiguous()) {
                // Links and devices: following a link inside an archive could point anywhere.
                self.stats.skipped += 1;
                continue;
            }
            if !self.wanted_member(&member) {
                continue;
            }
            let name = format!("{archive_name}!{member}");
            let declared = entry.size();
            if declared > self.limits.max_member_bytes {
                // The tar reader skips the member's data when asked for the next entry.
                self.too_large(&name, declared);
                continue;
            }
            self.buf.clear();
            let read = entry
                .by_ref()
                .take(self.limits.max_member_bytes + 1)
                .read_to_end(&mut self.buf);
            if let Err(e) = read {
                self.stats
                    .errors
                    .push(broken_archive(archive_name, index, Some(&member), &e));
                return;
            }
            if (self.buf.len() as u64) < declared {
                // The stream ended inside the member: the archive was cut short.
                let e = format!(
                    "member ends after {} of its {declared} bytes",
                    self.buf.len()
                );
                self.stats
                    .errors
                    .push(broken_archive(archive_name, index, Some(&member), &e));
                return;
            }
            self.emit(&name);
        }
    }

    /// Reads the members of a zip archive in central-directory order.
    fn zip(&mut self, archive_name: &str, file: File) {
        let mut zip = match zip::ZipArchive::new(BufReader::new(file)) {
            Ok(zip) => zip,
            Err(e) => {
                self.stats.errors.push(FormatError::parse(
                    archive_name,
                    "central directory",
                    format!("not a readable zip archive (truncated or corrupt?): {e}"),
                ));
                return;
            }
        };
        let count = zip.len() as u64;
        if count > self.limits.max_archive_entries {
            self.stats.errors.push(FormatError::parse(
                archive_name,
                "central directory",
                format!(
                    "{count} entries exceed the limit of {}; the archive is not read",
                    self.limits.max_archive_entries
                ),
            ));
            return;
        }
        for index in 0..zip.len() {
            let mut member = match zip.by_index(index) {
                Ok(member) => member,
                Err(e) => {
                    // Encrypted or unsupported members affect only themselves.
                    self.stats.errors.push(FormatError::parse(
                        archive_name,
                        format!("entry {}", index + 1),
                        format!("cannot read member: {e}"),
                    ));
                    continue;
                }
            };
            if member.is_dir() {
                continue;
            }
            let member_name = member.name().to_string();
            if member.is_symlink() {
                self.stats.skipped += 1;
                continue;
            }
            if !self.wanted_member(&member_name) {
                continue;
            }
            let name = format!("{archive_name}!{member_name}");
            let declared = member.size();
            if declared > self.limits.max_member_bytes {
                self.too_large(&name, declared);
                continue;
            }
            self.buf.clear();
            let read = (&mut member)
                .take(self.limits.max_member_bytes + 1)
                .read_to_end(&mut self.buf);
            if let Err(e) = read {
                self.stats.errors.push(FormatError::parse(
                    &name,
                    format!("entry {}", index + 1),
                    format!("cannot decompress member: {e}"),
                ));
                continue;
            }
            let got = self.buf.len() as u64;
            if got > self.limits.max_member_bytes {
                // The member inflates to more than its header says.
                self.too_large(&name, got);
                continue;
            }
            drop(member);
            self.emit(&name);
        }
    }
}
