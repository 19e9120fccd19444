//! Integration tests of the document walker: directory trees, zip and tar archives built here, the
//! staged real archives, and hostile input (truncated archives, oversized members, absurd entry counts).

use std::io::Write;
use std::path::{Path, PathBuf};

use bulwark_formats::FormatError;
use bulwark_formats::source::{
    MAX_MEMBER_BYTES, SourceFile, WalkLimits, WalkStats, walk, walk_with_limits,
};

/// Walks `path` and returns the stats with every (name, content) yielded.
fn collect(path: &Path, limits: &WalkLimits) -> (WalkStats, Vec<(String, Vec<u8>)>) {
    let mut seen = Vec::new();
    let stats = walk_with_limits(path, limits, &mut |f: SourceFile<'_>| {
        seen.push((f.name.to_string(), f.bytes.to_vec()));
        Ok(())
    })
    .expect("top-level path is readable");
    (stats, seen)
}

fn names(seen: &[(String, Vec<u8>)], prefix: &Path) -> Vec<String> {
    let prefix = prefix.to_string_lossy();
    seen.iter()
        .map(|(n, _)| n.strip_prefix(prefix.as_ref()).unwrap_or(n).to_string())
        .collect()
}

fn messages(stats: &WalkStats) -> Vec<String> {
    stats.errors.iter().map(ToString::to_string).collect()
}

/// A tar archive with the given regular files, plus a directory entry and a symlink.
fn tar_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_path("inner/").expect("path");
    dir.set_size(0);
    dir.set_mode(0o755);
    dir.set_cksum();
    builder.append(&dir, std::io::empty()).expect("append dir");
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).expect("path");
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, *data).expect("append file");
    }
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_path("inner/link.json").expect("path");
    link.set_link_name("/etc/passwd").expect("link");
    link.set_size(0);
    link.set_cksum();
    builder
        .append(&link, std::io::empty())
        .expect("append link");
    builder.into_inner().expect("finish tar")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn zip_bytes(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    writer.add_directory("dir/", options).expect("dir");
    for (name, data) in files {
        writer.start_file(*name, options).expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish zip").into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn zip_members_are_streamed_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let zip = write(
        tmp.path(),
        "all.zip",
        &zip_bytes(
            &[
                ("GHSA-1.json", b"{\"id\":1}"),
                ("dir/PYSEC-2.yaml", b"id: 2"),
                ("README.md", b"# not yielded"),
                ("nested.tar.gz", b"not opened"),
                ("dir/c.YML", b"id: 3"),
            ],
            zip::CompressionMethod::Deflated,
        ),
    );
    let (stats, seen) = collect(&zip, &WalkLimits::default());
    assert_eq!(
        names(&seen, &zip),
        ["!GHSA-1.json", "!dir/PYSEC-2.yaml", "!dir/c.YML"]
    );
    assert_eq!(seen[1].1, b"id: 2");
    assert_eq!((stats.files, stats.archives, stats.skipped), (3, 1, 2));
    assert!(stats.errors.is_empty(), "{:?}", messages(&stats));
}

#[test]
fn tar_gz_members_are_streamed_and_links_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tar = tar_bytes(&[
        ("inner/a.json", b"[1]"),
        ("inner/b.txt", b"no"),
        ("inner/c.yaml", b"c: 1"),
    ]);
    let path = write(tmp.path(), "osv.tar.gz", &gzip(&tar));
    let (stats, seen) = collect(&path, &WalkLimits::default());
    assert_eq!(names(&seen, &path), ["!inner/a.json", "!inner/c.yaml"]);
    assert_eq!(seen[0].1, b"[1]");
    // b.txt and the symlink are skipped; the directory entry is not counted.
    assert_eq!((stats.files, stats.archives, stats.skipped), (2, 1, 2));
    assert!(stats.errors.is_empty(), "{:?}", messages(&stats));

    let tgz = write(tmp.path(), "same.tgz", &gzip(&tar));
    let zst = write(
        tmp.path(),
        "same.tar.zst",
        &zstd::encode_all(&tar[..], 3).expect("zstd"),
    );
    let plain = write(tmp.path(), "same.tar", &tar);
    for path in [tgz, zst, plain] {
        let (stats, seen) = collect(&path, &WalkLimits::default());
        assert_eq!(names(&seen, &path), ["!inner/a.json", "!inner/c.yaml"]);
        assert!(
            stats.errors.is_empty(),
            "{}: {:?}",
            path.display(),
            messages(&stats)
        );
    }
}

#[test]
fn directories_are_walked_sorted_with_archives_opened() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("db");
    write(&root, "b/2.json", b"{}");
    write(&root, "a/1.yaml", b"a: 1");
    write(&root, "a/0.yml", b"a: 0");
    write(&root, "notes.txt", b"skipped");
    write(&root, ".git/HEAD.json", b"hidden");
    write(
        &root,
        "c/pack.zip",
        &zip_bytes(&[("x.json", b"[]")], zip::CompressionMethod::Stored),
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(&root, root.join("b/loop")).expect("symlink");
    let (stats, seen) = collect(&root, &WalkLimits::default());
    assert_eq!(
        names(&seen, &root),
        ["/a/0.yml", "/a/1.yaml", "/b/2.json", "/c/pack.zip!x.json"]
    );
    // notes.txt, .git and (on unix) the symlink loop.
    let loops = if cfg!(unix) { 1 } else { 0 };
    assert_eq!(
        (stats.files, stats.archives, stats.skipped),
        (4, 1, 2 + loops)
    );
    assert!(stats.errors.is_empty(), "{:?}", messages(&stats));
}

#[test]
fn a_named_file_is_yielded_whatever_its_extension() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = write(tmp.path(), "GHSA-xxxx", b"{\"id\":\"x\"}");
    let (stats, seen) = collect(&path, &WalkLimits::default());
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, path.to_string_lossy());
    assert_eq!((stats.files, stats.skipped), (1, 0));
}

#[test]
fn a_missing_top_level_path_is_fatal() {
    let err =
        walk(Path::new("/nonexistent/bulwark/osv"), &mut |_| Ok(())).expect_err("missing path");
    assert!(
        matches!(&err, FormatError::Io { file, .. } if file == "/nonexistent/bulwark/osv"),
        "{err}"
    );
}

#[test]
fn visitor_errors_are_recorded_and_the_walk_goes_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "a.json", b"1");
    write(tmp.path(), "b.json", b"2");
    let mut visited = 0;
    let stats = walk(tmp.path(), &mut |f| {
        visited += 1;
        Err(FormatError::parse(f.name, "$", "rejected"))
    })
    .expect("walk");
    assert_eq!(visited, 2);
    assert_eq!(stats.errors.len(), 2);
    assert!(messages(&stats)[1].ends_with("b.json: $: rejected"));
}

#[test]
fn truncated_tar_zst_names_the_archive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let tar = tar_bytes(&[("inner/a.json", b"{}"), ("inner/big.json", &big)]);
    let zst = zstd::encode_all(&tar[..], 3).expect("zstd");
    let path = write(tmp.path(), "cut.tar.zst", &zst[..zst.len() / 2]);
    let (stats, seen) = collect(&path, &WalkLimits::default());
    assert_eq!(names(&seen, &path), ["!inner/a.json"]);
    assert_eq!(stats.errors.len(), 1, "{:?}", messages(&stats));
    match &stats.errors[0] {
        FormatError::Parse {
            file,
            location,
            message,
        } => {
            assert_eq!(file, &path.to_string_lossy());
            assert_eq!(location, "entry 3 (inner/big.json)");
            assert!(
                message.starts_with("archive is truncated or corrupt: "),
                "{message}"
            );
        }
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn truncated_real_archive_is_reported_after_what_could_be_read() {
    let Some(real) = bulwark_testdata::shared_file("advisories/psf/psf-advisory-database.tar.zst")
    else {
        return;
    };
    let bytes = std::fs::read(real).expect("read archive");
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = write(tmp.path(), "psf.tar.zst", &bytes[..bytes.len() / 2]);
    let (stats, seen) = collect(&path, &WalkLimits::default());
    assert!(
        !seen.is_empty() && seen.len() < 132,
        "{} members read",
        seen.len()
    );
    assert_eq!(stats.errors.len(), 1, "{:?}", messages(&stats));
    let message = stats.errors[0].to_string();
    assert!(
        message.starts_with(&format!("{}: entry ", path.display()))
            && message.contains("archive is truncated or corrupt"),
        "{message}"
    );
}

#[test]
fn garbage_zip_is_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let full = zip_bytes(&[("a.json", b"{}")], zip::CompressionMethod::Deflated);
    let path = write(tmp.path(), "cut.zip", &full[..full.len() - 10]);
    let (stats, seen) = collect(&path, &WalkLimits::default());
    assert!(seen.is_empty());
    assert_eq!(stats.archives, 1);
    match &stats.errors[..] {
        [
            FormatError::Parse {
                file,
                location,
                message,
            },
        ] => {
            assert_eq!(file, &path.to_string_lossy());
            assert_eq!(location, "central directory");
            assert!(
                message.starts_with("not a readable zip archive"),
                "{message}"
            );
        }
        other => panic!("expected one parse error, got {other:?}"),
    }
}

#[test]
fn corrupt_zip_member_affects_only_itself() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let content = b"{\"id\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";
    let mut bytes = zip_bytes(
        &[("bad.json", content), ("good.json", b"{}")],
        zip::CompressionMethod::Stored,
    );
    let at = bytes
        .windows(content.len())
        .position(|w| w == content)
        .expect("stored content");
    bytes[at + 10] = b'B';
    let path = write(tmp.path(), "crc.zip", &bytes);
    let (stats, seen) = collect(&path, &WalkLimits::default());
    assert_eq!(names(&seen, &path), ["!good.json"]);
    match &stats.errors[..] {
        [FormatError::Parse { file, message, .. }] => {
            assert_eq!(file, &format!("{}!bad.json", path.display()));
            assert!(message.starts_with("cannot decompress member"), "{message}");
        }
        other => panic!("expected one parse error, got {other:?}"),
    }
}

#[test]
fn oversized_members_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let limits = WalkLimits {
        max_member_bytes: 100,
        ..WalkLimits::default()
    };
    let big = vec![b' '; 1000];
    let tar = write(
        tmp.path(),
        "t.tar.gz",
        &gzip(&tar_bytes(&[
            ("inner/big.json", &big),
            ("inner/ok.json", b"{}"),
        ])),
    );
    let zip = write(
        tmp.path(),
        "z.zip",
        &zip_bytes(
            &[("big.json", &big), ("ok.json", b"{}")],
            zip::CompressionMethod::Deflated,
        ),
    );
    let plain = write(tmp.path(), "big.json", &big);
    for (path, member, ok) in [
        (&tar, "!inner/big.json", vec!["!inner/ok.json"]),
        (&zip, "!big.json", vec!["!ok.json"]),
        (&plain, "", vec![]),
    ] {
        let (stats, seen) = collect(path, &limits);
        assert_eq!(names(&seen, path), ok);
        match &stats.errors[..] {
            [FormatError::TooLarge { file, size, limit }] => {
                assert_eq!(file, &format!("{}{member}", path.display()));
                assert_eq!((*size, *limit), (1000, 100));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
}

#[test]
fn the_default_member_limit_is_64_mib() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Streamed into the archive, so the test never holds the 64 MiB itself.
    let path = tmp.path().join("bomb.tar.gz");
    let file = std::fs::File::create(&path).expect("create");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_path("inner/huge.json").expect("path");
    header.set_size(MAX_MEMBER_BYTES + 1);
    header.set_mode(0o644);
    header.set_cksum();
    let zeros = std::io::Read::take(std::io::repeat(0), MAX_MEMBER_BYTES + 1);
    builder.append(&header, zeros).expect("append");
    builder
        .into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip");
    let (stats, seen) = collect(&path, &WalkLimits::default());
    assert!(seen.is_empty());
    assert_eq!(
        messages(&stats),
        [format!(
            "{}!inner/huge.json: too large: 67108865 bytes exceeds the limit of 67108864 bytes",
            path.display()
        )]
    );
}

#[test]
fn absurd_entry_counts_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let limits = WalkLimits {
        max_archive_entries: 3,
        ..WalkLimits::default()
    };
    let files: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("inner/{i}.json"), b"{}".to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let tar = write(tmp.path(), "many.tar", &tar_bytes(&refs));
    let (stats, seen) = collect(&tar, &limits);
    // The directory entry counts as an entry: it and two files are read.
    assert_eq!(seen.len(), 2);
    assert_eq!(
        messages(&stats),
        [format!(
            "{}: entry 4: more than 3 entries; the rest of the archive is not read",
            tar.display()
        )]
    );
    let zip = write(
        tmp.path(),
        "many.zip",
        &zip_bytes(&refs, zip::CompressionMethod::Stored),
    );
    let (stats, seen) = collect(&zip, &limits);
    assert!(seen.is_empty());
    assert_eq!(
        messages(&stats),
        [format!(
            "{}: central directory: 6 entries exceed the limit of 3; the archive is not read",
            zip.display()
        )]
    );
}

#[test]
fn staged_archives_yield_only_documents() {
    let Some(path) = bulwark_testdata::shared_file("advisories/rustsec-osv/rustsec-osv.tar.zst")
    else {
        return;
    };
    let (stats, seen) = collect(&path, &WalkLimits::default());
    // 1206 advisories; README.md is skipped.
    assert_eq!((stats.files, stats.archives, stats.skipped), (1206, 1, 1));
    assert!(stats.errors.is_empty(), "{:?}", messages(&stats));
    let first = &seen[0].0;
    assert!(
        first.ends_with("rustsec-osv.tar.zst!rustsec-osv/crates/RUSTSEC-2016-0001.json"),
        "{first}"
    );
}
