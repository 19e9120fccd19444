//! `bulwark demo`: fills the database with real data — every OSV advisory under a feeds directory, this
//! host's own packages, and every inventory file under the directory's `inventories/` folder — so that the
//! API has something true to show.

use std::path::{Path, PathBuf};

use anyhow::Result;

use bulwark_core::DeviceInfo;
use bulwark_engine::{Engine, EngineError, IngestRequest};

use crate::output;

/// Inventories larger than this are not ingested by the demo.
const MAX_DEMO_FILE: u64 = 64 * 1024 * 1024;

/// Imports the advisories under `feeds`, ingests this host and the inventories under `feeds/inventories`.
pub async fn load(engine: &Engine, feeds: &Path) -> Result<()> {
    let summary = output::import_with_progress(engine, feeds).await?;
    output::print_import(feeds, &summary);
    ingest_host(engine).await?;
    let dir = feeds.join("inventories");
    let mut files = Vec::new();
    collect_files(&dir, &mut files);
    files.sort();
    let (mut ingested, mut skipped) = (0, 0);
    for file in files {
        let relative = file.strip_prefix(&dir).unwrap_or(&file);
        let group = relative
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let name = format!("demo/{}", relative.display());
        let bytes = std::fs::read(&file)?;
        let request = IngestRequest {
            device: DeviceInfo {
                name,
                os: None,
                group,
                tags: vec!["demo".into()],
            },
            file: file.display().to_string(),
            bytes,
            format: None,
        };
        match engine.ingest(request).await {
            Ok(s) => {
                ingested += 1;
                output::print_ingest(&s);
            }
            Err(EngineError::Format(_)) => skipped += 1,
            Err(e) => return Err(e.into()),
        }
    }
    println!(
        "demo: {ingested} inventories ingested, {skipped} files under {} are not inventories",
        dir.display()
    );
    let recs = engine.recommendations().await?;
    println!("demo: {} security recommendations", recs.len());
    Ok(())
}

/// Regular files below `dir` that could be inventories (archives and documentation are left out).
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            collect_files(&path, out);
        } else if meta.is_file() && meta.len() <= MAX_DEMO_FILE {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let skip = [".md", ".zst", ".gz", ".zip", ".tsv", "license"]
                .iter()
                .any(|s| name.ends_with(s) || name.starts_with("license"));
            if !skip {
                out.push(path);
            }
        }
    }
}

/// Ingests this machine's own OS packages (dpkg, apk or rpm), with its OS from /etc/os-release.
async fn ingest_host(engine: &Engine) -> Result<()> {
    let name = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this-host".to_string());
    let os = os_release();
    let mut sources: Vec<(String, Vec<u8>)> = Vec::new();
    for path in ["/var/lib/dpkg/status", "/lib/apk/db/installed"] {
        if let Ok(bytes) = std::fs::read(path) {
            sources.push((path.to_string(), bytes));
        }
    }
    if sources.is_empty()
        && let Ok(out) = std::process::Command::new("rpm")
            .args([
                "-qa",
                "--qf",
                "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\n",
            ])
            .output()
        && out.status.success()
    {
        sources.push(("rpm -qa".to_string(), out.stdout));
    }
    for (file, bytes) in sources {
        let summary = engine
            .ingest(IngestRequest {
                device: DeviceInfo {
                    name: name.clone(),
                    os: os.clone(),
                    group: Some("hosts".into()),
                    tags: vec![],
                },
                file,
                bytes,
                format: None,
            })
            .await?;
        output::print_ingest(&summary);
    }
    Ok(())
}

/// `ID VERSION_ID` from /etc/os-release (`debian 12`), if readable.
fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim_matches('"').to_string())
    };
    Some(match field("VERSION_ID=") {
        Some(v) => format!("{} {v}", field("ID=")?),
        None => field("ID=")?,
    })
}
