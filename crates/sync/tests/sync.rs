//! Black-box tests of `bulwark_sync::sync` against a local feed server on 127.0.0.1 port 0 and a mirror
//! directory, with a fake clock: downloads, NVD paging and incremental windows, conditional requests,
//! retries, rate limits, failures that leave nothing behind, and the mirror mode.

mod support;

use std::path::Path;
use std::time::Duration;

use bulwark_sync::{
    Ecosystem, Feed, Limits, NvdOptions, NvdState, Origin, Outcome, RateLimit, RateLimiter,
    Sources, SyncError, SyncOptions, SyncReport, sync,
};
use support::{Content, FakeTime, Server, nvd_page, start, time as at, tree};

const T0: &str = "2024-06-01T12:00:00Z";

fn cves(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("CVE-2024-{i:04}")).collect()
}

fn content() -> Content {
    Content {
        osv: [
            ("crates.io".to_string(), b"crates zip".to_vec()),
            ("Rocky Linux".to_string(), b"rocky zip".to_vec()),
        ]
        .into(),
        cves: cves(5),
        nvd_page_max: 2,
        kev: br#"{"vulnerabilities":[]}"#.to_vec(),
        epss: b"epss gz".to_vec(),
        ..Content::default()
    }
}

fn options(server: &Server, api_key: Option<&str>) -> SyncOptions {
    SyncOptions {
        feeds: Feed::ALL.to_vec(),
        ecosystems: vec![Ecosystem::CratesIo, Ecosystem::RockyLinux],
        origin: Origin::Remote(Sources::under(&server.base())),
        nvd: NvdOptions {
            api_key: api_key.map(str::to_owned),
            ..NvdOptions::default()
        },
        limits: Limits {
            max_bytes: 1 << 20,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            retries: 2,
            retry_backoff: Duration::from_secs(1),
        },
    }
}

/// The report as `name: outcome` lines, the outcome as one word (with the failure's message).
fn summary(report: &SyncReport) -> Vec<String> {
    report
        .items
        .iter()
        .map(|item| {
            let outcome = match &item.outcome {
                Outcome::Fetched { files, .. } => format!("fetched {}", files.len()),
                Outcome::Unchanged => "unchanged".to_string(),
                Outcome::Missing { .. } => "missing".to_string(),
                Outcome::Failed(e) => format!("failed: {e}"),
            };
            format!("{}: {outcome}", item.name)
        })
        .collect()
}

fn new_files(report: &SyncReport, root: &Path) -> Vec<String> {
    report
        .new_files()
        .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
        .collect()
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn the_first_run_fetches_every_feed_and_every_nvd_page() {
    let server = start(content()).await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);

    let report = sync(&options(&server, Some("secret")), dir.path(), &time, &time)
        .await
        .unwrap();

    assert_eq!(
        summary(&report),
        [
            "osv/crates.io: fetched 1",
            "osv/Rocky Linux: fetched 1",
            "nvd: fetched 3",
            "kev: fetched 1",
            "epss: fetched 1",
        ]
    );
    assert_eq!(
        new_files(&report, dir.path()),
        [
            "osv/crates.io/all.zip",
            "osv/Rocky Linux/all.zip",
            "nvd/page-full-20240601T120000Z-0000000.json",
            "nvd/page-full-20240601T120000Z-0000002.json",
            "nvd/page-full-20240601T120000Z-0000004.json",
            "kev/known_exploited_vulnerabilities.json",
            "epss/epss_scores-current.csv.gz",
        ]
    );
    assert_eq!(
        read(dir.path().join("osv/Rocky Linux/all.zip")),
        b"rocky zip"
    );
    assert_eq!(
        read(dir.path().join("epss/epss_scores-current.csv.gz")),
        b"epss gz"
    );
    let all = cves(5);
    for start in [0, 2, 4] {
        let page = dir
            .path()
            .join(format!("nvd/page-full-20240601T120000Z-{start:07}.json"));
        assert_eq!(
            read(page),
            nvd_page(&all, start, 2),
            "page {start} as returned"
        );
    }

    let nvd = server.seen("nvd");
    let starts: Vec<&str> = nvd.iter().map(|s| s.query["startIndex"].as_str()).collect();
    assert_eq!(starts, ["0", "2", "4"]);
    for seen in &nvd {
        assert_eq!(seen.api_key.as_deref(), Some("secret"));
        assert_eq!(seen.query["resultsPerPage"], "2000");
        assert!(!seen.query.contains_key("lastModStartDate"), "{seen:?}");
    }
    assert_eq!(
        NvdState::load(&dir.path().join("nvd")).unwrap(),
        Some(NvdState { last_end: at(T0) })
    );
    assert!(time.slept().is_empty(), "{:?}", time.slept());
    assert!(!tree(dir.path()).iter().any(|f| f.contains(".incoming")));
}

#[tokio::test]
async fn the_next_run_is_conditional_and_asks_nvd_only_for_what_changed() {
    let server = start(content()).await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let options = options(&server, Some("secret"));
    sync(&options, dir.path(), &time, &time).await.unwrap();

    {
        let mut content = server.content.lock().unwrap();
        content.kev = br#"{"vulnerabilities":[{"cveID":"CVE-2024-0003"}]}"#.to_vec();
        content.cves = vec!["CVE-2024-0003".into()];
    }
    time.set("2024-06-02T12:00:00Z");
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();

    assert_eq!(
        summary(&report),
        [
            "osv/crates.io: unchanged",
            "osv/Rocky Linux: unchanged",
            "nvd: fetched 1",
            "kev: fetched 1",
            "epss: unchanged",
        ]
    );
    assert_eq!(
        new_files(&report, dir.path()),
        [
            "nvd/page-20240601T120000Z-20240602T120000Z-0000000.json",
            "kev/known_exploited_vulnerabilities.json",
        ]
    );
    let osv = server.seen("osv/Rocky Linux");
    assert_eq!(osv.len(), 2);
    assert_eq!(osv[0].if_none_match, None);
    assert!(osv[1].if_none_match.is_some(), "{:?}", osv[1]);
    assert!(osv[1].if_modified_since.is_some(), "{:?}", osv[1]);
    assert_eq!(
        read(dir.path().join("kev/known_exploited_vulnerabilities.json")),
        br#"{"vulnerabilities":[{"cveID":"CVE-2024-0003"}]}"#
    );

    let nvd = server.seen("nvd");
    let last = nvd.last().unwrap();
    assert_eq!(
        last.query["lastModStartDate"],
        "2024-06-01T12:00:00.000+00:00"
    );
    assert_eq!(
        last.query["lastModEndDate"],
        "2024-06-02T12:00:00.000+00:00"
    );
    assert_eq!(
        NvdState::load(&dir.path().join("nvd"))
            .unwrap()
            .unwrap()
            .last_end,
        at("2024-06-02T12:00:00Z")
    );

    // No time has passed since: NVD is not asked at all.
    let before = server.seen("nvd").len();
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(
        report
            .item("nvd")
            .map(|i| matches!(i.outcome, Outcome::Unchanged)),
        Some(true)
    );
    assert_eq!(server.seen("nvd").len(), before);
}

#[tokio::test]
async fn an_unchanged_body_is_recognised_by_its_hash_when_the_server_sends_no_validators() {
    let server = start(Content {
        no_validators: true,
        ..content()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let options = SyncOptions {
        feeds: vec![Feed::Kev],
        ..options(&server, None)
    };
    let first = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(summary(&first), ["kev: fetched 1"]);
    let second = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(summary(&second), ["kev: unchanged"]);
    let seen = server.seen("kev");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].if_none_match, None);

    server.content.lock().unwrap().kev = b"{}".to_vec();
    let third = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(summary(&third), ["kev: fetched 1"]);
    assert_eq!(
        read(dir.path().join("kev/known_exploited_vulnerabilities.json")),
        b"{}"
    );
}

#[tokio::test]
async fn nvd_since_is_split_into_windows_of_at_most_120_days() {
    let server = start(Content {
        cves: cves(1),
        ..content()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let mut options = options(&server, Some("secret"));
    options.feeds = vec![Feed::Nvd];
    options.nvd.since = Some(bulwark_sync::parse_since("2023-08-06").unwrap());

    let report = sync(&options, dir.path(), &time, &time).await.unwrap();

    let windows: Vec<(String, String)> = server
        .seen("nvd")
        .iter()
        .map(|s| {
            (
                s.query["lastModStartDate"].clone(),
                s.query["lastModEndDate"].clone(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [
            (
                "2023-08-06T00:00:00.000+00:00".into(),
                "2023-12-04T00:00:00.000+00:00".into()
            ),
            (
                "2023-12-04T00:00:00.000+00:00".into(),
                "2024-04-02T00:00:00.000+00:00".into()
            ),
            (
                "2024-04-02T00:00:00.000+00:00".into(),
                "2024-06-01T12:00:00.000+00:00".into()
            ),
        ]
    );
    assert_eq!(
        new_files(&report, dir.path()),
        [
            "nvd/page-20230806T000000Z-20231204T000000Z-0000000.json",
            "nvd/page-20231204T000000Z-20240402T000000Z-0000000.json",
            "nvd/page-20240402T000000Z-20240601T120000Z-0000000.json",
        ]
    );
}

#[tokio::test]
async fn rate_limit_answers_are_retried_with_back_off_until_the_retries_run_out() {
    let server = start(content()).await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    server.fail("nvd", &[429]);
    server.fail("kev", &[503, 403]);
    server.fail("epss", &[503, 503, 503]);

    let report = sync(&options(&server, Some("secret")), dir.path(), &time, &time)
        .await
        .unwrap();

    let epss_url = format!("{}/epss/epss_scores-current.csv.gz", server.base());
    assert_eq!(
        summary(&report),
        [
            "osv/crates.io: fetched 1".to_string(),
            "osv/Rocky Linux: fetched 1".into(),
            "nvd: fetched 3".into(),
            "kev: fetched 1".into(),
            format!("epss: failed: GET {epss_url}: HTTP 503 Service Unavailable"),
        ]
    );
    assert_eq!(server.seen("nvd").len(), 4, "the 429 and three pages");
    assert_eq!(server.seen("kev").len(), 3);
    assert_eq!(server.seen("epss").len(), 3, "one try and two retries");
    let s = Duration::from_secs;
    // NVD's 429 carries Retry-After: 7; the others back off from 1 s, doubling.
    assert_eq!(time.slept(), [s(7), s(1), s(2), s(1), s(2)]);
    assert!(
        !dir.path()
            .join("epss")
            .join("epss_scores-current.csv.gz")
            .exists()
    );
}

#[tokio::test]
async fn a_failed_run_changes_no_state_and_leaves_no_partial_file() {
    let server = start(content()).await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let options = options(&server, Some("secret"));
    sync(&options, dir.path(), &time, &time).await.unwrap();
    let files_before = tree(dir.path());

    time.set("2024-06-02T12:00:00Z");
    {
        let mut content = server.content.lock().unwrap();
        content.kev = b"new catalog".to_vec();
        content
            .osv
            .insert("crates.io".into(), b"new crates zip".to_vec());
    }
    // The second page of NVD fails, as do KEV and one OSV archive.
    server.fail("nvd", &[0, 500]);
    server.fail("kev", &[500]);
    server.fail("osv/crates.io", &[404]);
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();

    let base = server.base();
    assert_eq!(
        summary(&report),
        [
            format!("osv/crates.io: failed: GET {base}/osv/crates.io/all.zip: HTTP 404 Not Found"),
            "osv/Rocky Linux: unchanged".into(),
            format!(
                "nvd: failed: GET {base}/nvd/cves/2.0?lastModStartDate=2024-06-01T12%3A00%3A00.000%2B00%3A00\
                 &lastModEndDate=2024-06-02T12%3A00%3A00.000%2B00%3A00&startIndex=2&resultsPerPage=2000: \
                 HTTP 500 Internal Server Error"
            ),
            format!(
                "kev: failed: GET {base}/kev/known_exploited_vulnerabilities.json: HTTP 500 Internal Server Error"
            ),
            "epss: unchanged".into(),
        ]
    );
    assert!(matches!(
        report.item("kev").unwrap().outcome,
        Outcome::Failed(SyncError::Status { status: 500, .. })
    ));
    assert_eq!(report.new_files().count(), 0);
    assert_eq!(
        tree(dir.path()),
        files_before,
        "no new, partial or temporary file"
    );
    assert_eq!(
        read(dir.path().join("osv/crates.io/all.zip")),
        b"crates zip"
    );
    assert_eq!(
        read(dir.path().join("kev/known_exploited_vulnerabilities.json")),
        br#"{"vulnerabilities":[]}"#
    );
    assert_eq!(
        NvdState::load(&dir.path().join("nvd"))
            .unwrap()
            .unwrap()
            .last_end,
        at(T0)
    );

    // The next run covers the failed run's window again.
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(
        summary(&report),
        [
            "osv/crates.io: fetched 1",
            "osv/Rocky Linux: unchanged",
            "nvd: fetched 3",
            "kev: fetched 1",
            "epss: unchanged",
        ]
    );
    let last = server.seen("nvd").last().unwrap().clone();
    assert_eq!(
        last.query["lastModStartDate"],
        "2024-06-01T12:00:00.000+00:00"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_and_leaves_nothing() {
    let server = start(Content {
        slow: Some(("kev".into(), Duration::from_secs(5))),
        ..content()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let mut options = options(&server, None);
    options.feeds = vec![Feed::Kev];
    options.limits.read_timeout = Duration::from_millis(100);
    options.limits.retries = 0;

    let report = sync(&options, dir.path(), &time, &time).await.unwrap();

    let Outcome::Failed(SyncError::Transport { url, source }) = &report.items[0].outcome else {
        panic!("{:?}", report.items[0]);
    };
    assert!(source.is_timeout(), "{source:?}");
    assert!(
        url.ends_with("/kev/known_exploited_vulnerabilities.json"),
        "{url}"
    );
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
}

#[tokio::test]
async fn without_a_key_the_sixth_nvd_request_waits_for_the_window() {
    let server = start(Content {
        cves: cves(7),
        nvd_page_max: 1,
        ..content()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let mut options = options(&server, None);
    options.feeds = vec![Feed::Nvd];

    let report = sync(&options, dir.path(), &time, &time).await.unwrap();

    assert_eq!(summary(&report), ["nvd: fetched 7"]);
    assert!(server.seen("nvd").iter().all(|s| s.api_key.is_none()));
    // Five requests at T0, then the window frees 30 s later and holds the last two.
    assert_eq!(time.slept(), [Duration::from_secs(30)]);
}

#[tokio::test]
async fn the_limiter_admits_n_requests_per_rolling_window() {
    let time = FakeTime::at(T0);
    let mut limiter = RateLimiter::new(RateLimit::NVD_WITHOUT_KEY, &time, &time);
    let mut waits = Vec::new();
    for _ in 0..7 {
        waits.push(limiter.acquire().await.as_secs());
        time.advance(Duration::from_secs(1));
    }
    // Requests at 0..4 s; the 6th (at 5 s) waits until the first leaves the window at 30 s; the 7th
    // (at 31 s) fits since the one of 1 s has left too.
    assert_eq!(waits, [0, 0, 0, 0, 0, 25, 0]);

    let time = FakeTime::at(T0);
    let mut limiter = RateLimiter::new(RateLimit::NVD_WITH_KEY, &time, &time);
    for _ in 0..50 {
        assert_eq!(limiter.acquire().await, Duration::ZERO);
    }
    assert_eq!(limiter.acquire().await, Duration::from_secs(30));
}

#[tokio::test]
async fn a_page_size_nvd_refuses_is_an_invalid_option() {
    let server = start(content()).await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let mut options = options(&server, None);
    options.nvd.page_size = 2001;
    let error = sync(&options, dir.path(), &time, &time).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid sync option: the NVD page size must be 1 to 2000, not 2001"
    );
    assert!(server.seen.lock().unwrap().is_empty());
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_mirror_is_copied_with_change_detection_and_missing_pieces_named() {
    let mirror = tempfile::tempdir().unwrap();
    let m = mirror.path();
    write(&m.join("osv/crates.io/all.zip"), b"crates zip");
    write(&m.join("nvd/a.json"), b"{\"a\":1}");
    write(&m.join("nvd/b.json.gz"), b"gz");
    write(&m.join("nvd/.hidden.json"), b"{}");
    write(&m.join("nvd/readme.txt"), b"not a page");
    write(
        &m.join("kev/known_exploited_vulnerabilities.csv"),
        b"cveID\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let options = SyncOptions {
        ecosystems: vec![Ecosystem::CratesIo, Ecosystem::RockyLinux],
        origin: Origin::Mirror(m.to_path_buf()),
        ..SyncOptions::default()
    };

    let report = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(
        summary(&report),
        [
            "osv/crates.io: fetched 1",
            "osv/Rocky Linux: missing",
            "nvd: fetched 2",
            "kev: fetched 1",
            "epss: missing",
        ]
    );
    let missing: Vec<String> = report
        .problems()
        .map(|item| match &item.outcome {
            Outcome::Missing { expected } => expected
                .strip_prefix(m)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        missing,
        ["osv/Rocky Linux/all.zip", "epss/epss_scores-current.csv.gz"]
    );
    assert_eq!(
        new_files(&report, dir.path()),
        [
            "osv/crates.io/all.zip",
            "nvd/a.json",
            "nvd/b.json.gz",
            "kev/known_exploited_vulnerabilities.csv",
        ]
    );
    assert_eq!(read(dir.path().join("nvd/b.json.gz")), b"gz");

    let again = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(
        summary(&again),
        [
            "osv/crates.io: unchanged",
            "osv/Rocky Linux: missing",
            "nvd: unchanged",
            "kev: unchanged",
            "epss: missing",
        ]
    );

    write(&m.join("nvd/a.json"), b"{\"a\":2}");
    let changed = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(new_files(&changed, dir.path()), ["nvd/a.json"]);
    assert_eq!(read(dir.path().join("nvd/a.json")), b"{\"a\":2}");
}

#[tokio::test]
async fn a_mirror_that_is_not_a_directory_is_an_invalid_option() {
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let options = SyncOptions {
        origin: Origin::Mirror(dir.path().join("nowhere")),
        ..SyncOptions::default()
    };
    let error = sync(&options, dir.path(), &time, &time).await.unwrap_err();
    assert!(
        matches!(&error, SyncError::InvalidOption(m) if m.contains("nowhere") && m.contains("is not a directory")),
        "{error}"
    );
}

#[tokio::test]
async fn a_body_over_the_size_limit_fails_and_keeps_nothing() {
    let server = start(content()).await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let mut options = options(&server, None);
    options.feeds = vec![Feed::Osv, Feed::Epss];
    options.limits.max_bytes = b"epss gz".len() as u64;

    let report = sync(&options, dir.path(), &time, &time).await.unwrap();

    let base = server.base();
    assert_eq!(
        summary(&report),
        [
            format!(
                "osv/crates.io: failed: GET {base}/osv/crates.io/all.zip: \
                 the response is larger than the limit of 7 bytes"
            ),
            format!(
                "osv/Rocky Linux: failed: GET {base}/osv/Rocky%20Linux/all.zip: \
                 the response is larger than the limit of 7 bytes"
            ),
            "epss: fetched 1".into(),
        ]
    );
    assert_eq!(
        tree(dir.path()),
        [
            "epss/.epss_scores-current.csv.gz.sync.json",
            "epss/epss_scores-current.csv.gz"
        ]
    );
}

#[tokio::test]
async fn a_body_without_a_length_is_cut_off_at_the_limit_while_streaming() {
    let addr = support::raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let base = format!("http://{addr}");
    let mut options = SyncOptions {
        feeds: vec![Feed::Kev],
        origin: Origin::Remote(Sources::under(&base)),
        ..SyncOptions::default()
    };
    options.limits.max_bytes = 12;
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(summary(&report), ["kev: fetched 1"], "12 bytes fit");

    options.limits.max_bytes = 11;
    std::fs::remove_dir_all(dir.path().join("kev")).unwrap();
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();
    assert_eq!(
        summary(&report),
        [format!(
            "kev: failed: GET {base}/kev/known_exploited_vulnerabilities.json: \
             the response is larger than the limit of 11 bytes"
        )]
    );
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
}

#[tokio::test]
async fn an_nvd_answer_that_is_not_a_page_fails_the_run_and_keeps_nothing() {
    let addr = support::raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n\
          {\"message\":1}",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let options = SyncOptions {
        feeds: vec![Feed::Nvd],
        origin: Origin::Remote(Sources::under(&format!("http://{addr}"))),
        ..SyncOptions::default()
    };
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();
    let Outcome::Failed(SyncError::InvalidNvdPage { url, message }) = &report.items[0].outcome
    else {
        panic!("{:?}", report.items[0]);
    };
    assert!(
        url.ends_with("/nvd/cves/2.0?startIndex=0&resultsPerPage=2000"),
        "{url}"
    );
    assert!(message.contains("missing field `startIndex`"), "{message}");
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
    assert_eq!(NvdState::load(&dir.path().join("nvd")).unwrap(), None);
}

#[tokio::test]
async fn a_refused_connection_is_tried_once_more_then_reported() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let time = FakeTime::at(T0);
    let mut options = SyncOptions {
        feeds: vec![Feed::Epss],
        origin: Origin::Remote(Sources::under(&format!("http://{closed}"))),
        ..SyncOptions::default()
    };
    options.limits.retries = 5;
    let report = sync(&options, dir.path(), &time, &time).await.unwrap();
    let Outcome::Failed(SyncError::Transport { url, source }) = &report.items[0].outcome else {
        panic!("{:?}", report.items[0]);
    };
    assert!(source.is_connect(), "{source:?}");
    assert!(url.starts_with(&format!("http://{closed}/epss/")), "{url}");
    assert_eq!(time.slept(), [Duration::from_secs(6)]);
}
