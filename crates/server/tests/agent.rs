//! Black-box tests of `POST /api/agent/report`: the real server on 127.0.0.1:0 over a fresh store, with
//! and without agent tokens, fed reports written as JSON by the test.

mod common;

use std::path::Path;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use bulwark_core::SystemClock;
use bulwark_engine::Engine;
use bulwark_server::AppState;

const TOKEN: &str = "agent-secret-1";

/// The route's documented limit: 64 MiB.
const MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;

/// A Debian advisory for curl in Debian 12 and a PyPI advisory for requests.
const ADVISORIES: [(&str, &str); 2] = [
    (
        "DSA-9999-1.json",
        r#"{"schema_version": "1.6.0", "id": "DSA-9999-1", "modified": "2024-03-01T00:00:00Z",
            "aliases": ["CVE-2024-9001"], "summary": "curl: heap overflow",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "curl"},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": "7.88.1-10+deb12u5"}]}]}]}"#,
    ),
    (
        "PYSEC-9999-1.json",
        r#"{"schema_version": "1.6.0", "id": "PYSEC-9999-1", "modified": "2024-03-01T00:00:00Z",
            "aliases": ["CVE-2024-9002"], "summary": "requests leaks credentials",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}]}]}"#,
    ),
];

struct TestApp {
    base: String,
    /// Posts reports (it carries no user token: agents have their own).
    client: reqwest::Client,
    /// Reads what was stored, as an admin.
    admin: reqwest::Client,
    _dir: tempfile::TempDir,
    _database: bulwark_store::testing::FreshDatabase,
}

impl TestApp {
    async fn start(tokens: &[&str]) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        for (name, text) in ADVISORIES {
            std::fs::write(dir.path().join(name), text).expect("write advisory");
        }
        let (store, database) = bulwark_store::testing::fresh_store()
            .await
            .expect("open store");
        let engine = Engine::open(store, Arc::new(SystemClock))
            .await
            .expect("open engine");
        let summary = engine
            .import(Path::new(dir.path()), &|_| {})
            .await
            .expect("import");
        assert_eq!(summary.inserted, 2, "{summary:?}");
        let admin = common::admin_client(&engine).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = AppState::new(Arc::new(engine))
            .with_agent_tokens(tokens.iter().map(|t| t.to_string()).collect());
        tokio::spawn(bulwark_server::serve(state, listener));
        TestApp {
            base,
            client: reqwest::Client::new(),
            admin,
            _dir: dir,
            _database: database,
        }
    }

    async fn post(
        &self,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/agent/report", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        (status, value)
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .admin
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.expect("JSON")
    }
}

/// A report of host `name` with a dpkg inventory (curl) and a Python one (requests, urllib3).
fn report(name: &str) -> Value {
    json!({
        "agentVersion": "0.1.0",
        "device": {"name": name, "os": "debian 12", "osName": "Debian GNU/Linux 12 (bookworm)",
                   "kernel": "6.1.0-18-amd64", "architecture": "x86_64"},
        "collectedAt": "2024-06-01T12:00:00Z",
        "inventories": [
            {"source": "dpkg", "path": "/var/lib/dpkg/status", "format": "dpkg-status",
             "packages": [package("Debian", "curl", "7.88.1-10")], "notes": []},
            {"source": "python", "path": "/usr/local/lib/python3.11/dist-packages",
             "format": "python-metadata",
             "packages": [package("PyPI", "requests", "2.31.0"), package("PyPI", "urllib3", "2.2.1")],
             "notes": [{"location": "/usr/local/lib/python3.11/dist-packages/x.dist-info/METADATA",
                        "message": "no Name: header"}]}
        ],
        "skipped": [{"source": "rpm", "path": "/var/lib/rpm", "reason": "not present"}]
    })
}

fn package(ecosystem: &str, name: &str, version: &str) -> Value {
    json!({"ecosystem": {"ecosystem": ecosystem, "release": null}, "name": name, "version": version,
           "source_name": null, "source_version": null, "purl": null, "cpe": null})
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, fragment: &str) {
    assert_eq!(status, expected, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
}

#[tokio::test]
async fn a_server_without_agent_tokens_refuses_reports_and_says_how_to_configure_one() {
    let app = TestApp::start(&[]).await;
    let (status, body) = app.post(Some(TOKEN), report("web-01").to_string()).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "start it with `bulwark serve --agent-token TOKEN`",
    );
    assert_eq!(body["error"]["code"], "Unauthorized");
}

#[tokio::test]
async fn missing_and_wrong_tokens_are_refused() {
    let app = TestApp::start(&["other-token", TOKEN]).await;
    let (status, body) = app.post(None, report("web-01").to_string()).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "missing `Authorization: Bearer TOKEN`",
    );
    let (status, body) = app
        .post(Some("agent-secret-2"), report("web-01").to_string())
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "not one this server was started with",
    );
    // Nothing was ingested.
    assert_eq!(app.get("/api/machines").await["value"], json!([]));
}

#[tokio::test]
async fn malformed_reports_name_the_json_path() {
    let app = TestApp::start(&[TOKEN]).await;
    let mut bad = report("web-01");
    bad["inventories"][1]["packages"][1]["version"] = json!(221);
    let (status, body) = app.post(Some(TOKEN), bad.to_string()).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "malformed agent report at inventories[1].packages[1].version: invalid type: integer `221`",
    );
    let mut bad = report("web-01");
    bad["inventories"][0]["source"] = json!("pacman");
    let (status, body) = app.post(Some(TOKEN), bad.to_string()).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "at inventories[0].source: unknown variant `pacman`",
    );
    let (status, body) = app.post(Some(TOKEN), "{\"agentVersion\": ").await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "malformed agent report",
    );
    let mut nameless = report("web-01");
    nameless["device"]["name"] = json!(" ");
    let (status, body) = app.post(Some(TOKEN), nameless.to_string()).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "device.name is empty",
    );
}

#[tokio::test]
async fn reports_over_the_size_limit_are_refused() {
    let app = TestApp::start(&[TOKEN]).await;
    let huge = vec![b' '; MAX_REPORT_BYTES + 1];
    let (status, body) = app.post(Some(TOKEN), huge).await;
    assert_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "exceeds the limit",
    );
}

#[tokio::test]
async fn a_report_becomes_the_devices_software_and_vulnerabilities() {
    let app = TestApp::start(&[TOKEN]).await;
    let (status, body) = app.post(Some(TOKEN), report("web-01").to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device"]["name"], "web-01");
    assert_eq!(body["device"]["os"], "debian 12");
    assert_eq!(body["format"], "agent-report");
    assert_eq!(body["packages"], 3);
    assert_eq!(body["openWeaknesses"], 2);
    assert_eq!(body["skipped"], 1);
    assert_eq!(
        body["inventories"],
        json!([
            {"source": "dpkg", "path": "/var/lib/dpkg/status", "packages": 1},
            {"source": "python", "path": "/usr/local/lib/python3.11/dist-packages", "packages": 2}
        ])
    );
    assert_eq!(body["facts"], Value::Null);
    assert_eq!(
        body["notes"][0]["location"],
        "/usr/local/lib/python3.11/dist-packages/x.dist-info/METADATA"
    );

    let software = app.get("/api/machines/web-01/software").await;
    let mut names: Vec<&str> = software["value"]
        .as_array()
        .expect("software list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["curl", "requests", "urllib3"], "{software}");
    let vulnerabilities = app.get("/api/machines/web-01/vulnerabilities").await;
    let mut ids: Vec<&str> = vulnerabilities["value"]
        .as_array()
        .expect("vulnerability list")
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["CVE-2024-9001", "CVE-2024-9002"], "{vulnerabilities}");

    // The next report replaces the software set: curl was upgraded, requests removed.
    let mut next = report("web-01");
    next["inventories"][0]["packages"][0]["version"] = json!("7.88.1-10+deb12u5");
    next["inventories"][1]["packages"] = json!([package("PyPI", "urllib3", "2.2.1")]);
    let (status, body) = app.post(Some(TOKEN), next.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["openWeaknesses"].as_u64(), body["resolved"].as_u64()),
        (Some(0), Some(2))
    );
    let vulnerabilities = app.get("/api/machines/web-01/vulnerabilities").await;
    assert_eq!(vulnerabilities["value"], json!([]));
}

#[tokio::test]
async fn the_route_is_in_the_openapi_document() {
    let app = TestApp::start(&[]).await;
    let doc = app.get("/api/openapi.json").await;
    let operation = &doc["paths"]["/api/agent/report"]["post"];
    assert!(operation.is_object(), "{}", doc["paths"]);
    for status in ["200", "400", "401", "413"] {
        assert!(
            operation["responses"][status].is_object(),
            "{status}: {operation}"
        );
    }
}
