//! Re-import semantics end to end: the same `modified` changes nothing, a newer record replaces the stored
//! one and the fleet is re-matched, a withdrawn record stops matching, an older record is ignored.

use std::path::Path;
use std::sync::Arc;

use bulwark_core::{DeviceInfo, SystemClock};
use bulwark_engine::{Engine, IngestRequest};

fn write_record(dir: &Path, modified: &str, fixed: &str, withdrawn: Option<&str>) {
    let withdrawn = withdrawn
        .map(|w| format!(r#""withdrawn":"{w}","#))
        .unwrap_or_default();
    std::fs::write(
        dir.join("RUSTSEC-2030-0001.json"),
        format!(
            r#"{{"id":"RUSTSEC-2030-0001","modified":"{modified}",{withdrawn}
               "affected":[{{"package":{{"ecosystem":"crates.io","name":"lib"}},
               "ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
        ),
    )
    .expect("write");
}

async fn open_weaknesses(engine: &Engine) -> usize {
    engine
        .vulnerabilities()
        .await
        .expect("vulnerabilities")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_records_replace_withdrawn_ones_stop_matching() {
    let dir = tempfile::tempdir().expect("tempdir");
    let osv = dir.path().join("osv");
    std::fs::create_dir(&osv).expect("dir");
    let (store, _database) = bulwark_store::testing::fresh_store().await.expect("store");
    let engine = Engine::open(store, Arc::new(SystemClock))
        .await
        .expect("engine");

    write_record(&osv, "2024-01-01T00:00:00Z", "2.0.0", None);
    let s = engine.import(&osv, &|_| {}).await.expect("import");
    assert_eq!((s.inserted, s.updated, s.unchanged), (1, 0, 0));
    engine
        .ingest(IngestRequest {
            device: DeviceInfo {
                name: "host".into(),
                ..DeviceInfo::default()
            },
            file: "Cargo.lock".into(),
            bytes: b"version = 3\n\n[[package]]\nname = \"lib\"\nversion = \"1.5.0\"\n\
                     source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
                .to_vec(),
            format: None,
        })
        .await
        .expect("ingest");
    assert_eq!(open_weaknesses(&engine).await, 1);

    // The same record again: nothing changes, nothing is re-matched.
    let s = engine.import(&osv, &|_| {}).await.expect("import");
    assert_eq!(
        (s.inserted, s.updated, s.unchanged, s.devices_rematched),
        (0, 0, 1, 0)
    );

    // A newer record says 1.5.0 was never affected: the weakness is resolved.
    write_record(&osv, "2024-02-01T00:00:00Z", "1.2.0", None);
    let s = engine.import(&osv, &|_| {}).await.expect("import");
    assert_eq!((s.updated, s.weaknesses_resolved), (1, 1));
    assert_eq!(open_weaknesses(&engine).await, 0);

    // An older record does not replace the newer one.
    write_record(&osv, "2024-01-15T00:00:00Z", "2.0.0", None);
    let s = engine.import(&osv, &|_| {}).await.expect("import");
    assert_eq!((s.updated, s.unchanged), (0, 1));
    assert_eq!(open_weaknesses(&engine).await, 0);

    // Newer again and affecting 1.5.0: the weakness opens again.
    write_record(&osv, "2024-03-01T00:00:00Z", "3.0.0", None);
    let s = engine.import(&osv, &|_| {}).await.expect("import");
    assert_eq!(s.weaknesses_opened, 1);
    assert_eq!(open_weaknesses(&engine).await, 1);

    // Withdrawn: it stops matching, and the record stays known.
    write_record(
        &osv,
        "2024-04-01T00:00:00Z",
        "3.0.0",
        Some("2024-04-01T00:00:00Z"),
    );
    let s = engine.import(&osv, &|_| {}).await.expect("import");
    assert_eq!(s.weaknesses_resolved, 1);
    assert_eq!(open_weaknesses(&engine).await, 0);
    assert!(engine.index().advisory("RUSTSEC-2030-0001").is_some());
}
