//! End to end: reports collected from temporary roots (and from this machine's `/`) posted to the real
//! Bulwark server on 127.0.0.1:0, and the agent's behaviour when the server refuses, fails or is absent.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use bulwark_agent::{
    CollectOptions, Delivery, PostError, PostOptions, RunOptions, Schedule, collect, post,
};
use bulwark_core::SystemClock;
use bulwark_engine::Engine;
use bulwark_server::AppState;

const TOKEN: &str = "agent-test-token";

const ADVISORY: &str = r#"{"schema_version": "1.6.0", "id": "PYSEC-9999-1", "modified": "2024-03-01T00:00:00Z",
    "aliases": ["CVE-2024-9002"], "summary": "requests leaks credentials",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}]}]}"#;

/// Fast retries, so that failure tests take milliseconds.
fn quick() -> PostOptions {
    PostOptions {
        attempts: 3,
        first_backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(30),
    }
}

struct Server {
    base: String,
    /// An admin's API token, for reading what the server stored.
    token: String,
    _dir: tempfile::TempDir,
    _database: bulwark_store::testing::FreshDatabase,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("PYSEC-9999-1.json"), ADVISORY).expect("write advisory");
    let (store, database) = bulwark_store::testing::fresh_store()
        .await
        .expect("open store");
    let engine = Engine::open(store, Arc::new(SystemClock))
        .await
        .expect("open engine");
    engine
        .import(Path::new(dir.path()), &|_| {})
        .await
        .expect("import");
    let admin = bulwark_engine::local_admin();
    engine
        .add_user(
            &admin,
            "admin@example.org",
            None,
            bulwark_core::identity::Role::Admin,
            None,
        )
        .await
        .expect("add user");
    let token = engine
        .create_token(&admin, "admin@example.org", None)
        .await
        .expect("create token")
        .token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let state = AppState::new(Arc::new(engine)).with_agent_tokens(vec![TOKEN.to_string()]);
    tokio::spawn(bulwark_server::serve(state, listener));
    Server {
        base,
        token,
        _dir: dir,
        _database: database,
    }
}

/// A small host: a name, an OS and one pip-installed distribution.
fn host(root: &Path) {
    let write = |relative: &str, text: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("etc/hostname", "agent-e2e\n");
    write("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    write(
        "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
    );
}

async fn get(server: &Server, path: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn a_collected_report_is_ingested_and_matched() {
    let server = server().await;
    let root = tempfile::tempdir().expect("temporary directory");
    host(root.path());
    let delivered = std::sync::Mutex::new(Vec::new());
    let record = |d: &Delivery| delivered.lock().expect("lock").push(d.answer.clone());
    bulwark_agent::run(
        RunOptions {
            root: root.path().to_path_buf(),
            server: format!("{}/", server.base),
            token: TOKEN.into(),
            schedule: Schedule::Once,
            post: quick(),
        },
        &record,
    )
    .await
    .expect("delivered");
    let answers = delivered.into_inner().expect("lock");
    assert_eq!(answers.len(), 1);
    let answer = &answers[0];
    assert_eq!(answer["device"]["name"], "agent-e2e");
    assert_eq!(answer["device"]["os"], "debian 12");
    assert_eq!(answer["packages"], 1);
    assert_eq!(answer["openWeaknesses"], 1);
    assert!(
        answer["facts"]["checks"].as_u64().is_some_and(|n| n > 0),
        "{answer}"
    );

    let vulnerabilities = get(&server, "/api/machines/agent-e2e/vulnerabilities").await;
    assert_eq!(
        vulnerabilities["value"][0]["id"], "CVE-2024-9002",
        "{vulnerabilities}"
    );
}

#[tokio::test]
async fn this_machines_report_is_accepted() {
    let server = server().await;
    let report = tokio::task::spawn_blocking(|| collect(Path::new("/"), &CollectOptions::now()))
        .await
        .expect("collect");
    let answer = post(&report, &server.base, TOKEN, &quick())
        .await
        .expect("delivered");
    let distinct: std::collections::HashSet<_> = report.packages().collect();
    assert_eq!(answer["packages"].as_u64(), Some(distinct.len() as u64));
    assert_eq!(
        answer["device"]["name"].as_str(),
        Some(report.device.name.as_str())
    );
    let software = get(
        &server,
        &format!("/api/machines/{}/software", report.device.name),
    )
    .await;
    assert_eq!(
        software["value"].as_array().map(Vec::len),
        Some(distinct.len()),
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_final_error_naming_the_url_and_status() {
    let server = server().await;
    let root = tempfile::tempdir().expect("temporary directory");
    host(root.path());
    let report = collect(root.path(), &CollectOptions::now());
    let error = post(&report, &server.base, "not-the-token", &quick())
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, PostError::Rejected { status, .. } if *status == StatusCode::UNAUTHORIZED),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "POST {}/api/agent/report answered 401 Unauthorized: the agent token is not one this server \
             was started with",
            server.base
        )
    );
}

#[tokio::test]
async fn an_absent_server_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let root = tempfile::tempdir().expect("temporary directory");
    host(root.path());
    let report = collect(root.path(), &CollectOptions::now());
    let error = post(&report, &base, TOKEN, &quick())
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(&error, PostError::Unreachable { attempts: 3, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "POST {base}/api/agent/report failed after 3 attempts"
        )),
        "{error}"
    );
}

/// A server that answers `503` to the first `failures` requests and `200 {"packages": 1}` after.
async fn flaky_server(failures: u32) -> (String, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let requests = Arc::new(AtomicU32::new(0));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            // Read the request head and the body its Content-Length announces.
            let mut request = Vec::new();
            let mut buffer = [0u8; 64 * 1024];
            loop {
                let read = stream.read(&mut buffer).await.unwrap_or(0);
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let (status, body) = if n < failures {
                (
                    "503 Service Unavailable",
                    r#"{"error": {"code": "x", "message": "busy"}}"#,
                )
            } else {
                ("200 OK", r#"{"packages": 1}"#)
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (base, requests)
}

#[tokio::test]
async fn server_errors_are_retried() {
    let root = tempfile::tempdir().expect("temporary directory");
    host(root.path());
    let report = collect(root.path(), &CollectOptions::now());

    let (base, requests) = flaky_server(2).await;
    let answer = post(&report, &base, TOKEN, &quick())
        .await
        .expect("the third attempt succeeds");
    assert_eq!(answer["packages"], 1);
    assert_eq!(requests.load(Ordering::SeqCst), 3);

    let (base, requests) = flaky_server(u32::MAX).await;
    let error = post(&report, &base, TOKEN, &quick())
        .await
        .expect_err("always busy");
    assert_eq!(
        error.to_string(),
        format!("POST {base}/api/agent/report answered 503 Service Unavailable: busy")
    );
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}
