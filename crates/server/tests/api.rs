//! Black-box tests of the HTTP API: each test starts the real server on 127.0.0.1:0 over a fresh SQLite
//! store, imports a small OSV record set written by the test, uploads Cargo.lock inventories through the
//! API, and checks the answers as a client sees them.

mod common;

use common::{ADVISORIES, FixedClock, cargo_lock};

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use bulwark_engine::Engine;
use bulwark_server::AppState;

const WEB_PACKAGES: [(&str, &str); 4] = [
    ("abandoned", "0.1.0"),
    ("oldcrate", "0.9.0"),
    ("safecrate", "1.0.0"),
    ("vulnlib", "1.1.0"),
];
const DB_PACKAGES: [(&str, &str); 2] = [("safecrate", "1.0.0"), ("vulnlib", "1.1.0")];

const VULNLIB: &str = "va-_-crates.io-_-vulnlib";

/// A running server over a fresh store.
struct TestApp {
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    /// The fresh database of the backend `BULWARK_TEST_DATABASE` chooses; removed when the app drops.
    _database: bulwark_store::testing::FreshDatabase,
}

impl TestApp {
    /// Starts the server with the advisories imported and no machines.
    async fn empty() -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let osv = dir.path().join("osv");
        std::fs::create_dir(&osv).expect("osv directory");
        for (name, text) in ADVISORIES {
            std::fs::write(osv.join(name), text).expect("write advisory");
        }
        let (store, database) = bulwark_store::testing::fresh_store()
            .await
            .expect("open store");
        let clock = FixedClock(
            Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0)
                .single()
                .expect("valid time"),
        );
        let engine = Engine::open(store, Arc::new(clock))
            .await
            .expect("open engine");
        let summary = engine
            .import(Path::new(&osv), &|_| {})
            .await
            .expect("import advisories");
        assert_eq!(summary.inserted, 4, "{summary:?}");
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        let client = common::admin_client(&engine).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(bulwark_server::serve(
            AppState::new(Arc::new(engine)),
            listener,
        ));
        TestApp {
            base,
            client,
            _dir: dir,
            _database: database,
        }
    }

    /// Starts the server with the advisories and two machines: web-01 (every crate) and db-01.
    async fn seeded() -> TestApp {
        let app = TestApp::empty().await;
        let (status, body) = app
            .post_inventory(
                "web-01",
                &[
                    ("group", "web"),
                    ("tag", "prod"),
                    ("tag", "internet-facing"),
                ],
                cargo_lock(&WEB_PACKAGES),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app
            .post_inventory("db-01", &[("group", "db")], cargo_lock(&DB_PACKAGES))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .query(query)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let bytes = response.bytes().await.expect("response body");
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        self.send(Method::GET, path, query, Vec::new()).await
    }

    /// GETs a list and returns one field of each item.
    async fn list(&self, path: &str, query: &[(&str, &str)], field: &str) -> Vec<String> {
        let (status, body) = self.get(path, query).await;
        assert_eq!(status, StatusCode::OK, "{path} {query:?}: {body}");
        body["value"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no value array: {body}"))
            .iter()
            .map(|item| match &item[field] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    async fn post_inventory(
        &self,
        name: &str,
        query: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            &format!("/api/machines/{name}/inventory"),
            query,
            body.into(),
        )
        .await
    }

    /// Asserts an error response: status, code, and that the message contains each fragment.
    async fn assert_error(
        &self,
        path: &str,
        query: &[(&str, &str)],
        status: StatusCode,
        code: &str,
        fragments: &[&str],
    ) {
        let (got, body) = self.get(path, query).await;
        check_error(got, &body, status, code, fragments);
    }
}

fn check_error(got: StatusCode, body: &Value, status: StatusCode, code: &str, fragments: &[&str]) {
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for fragment in fragments {
        assert!(
            message.contains(fragment),
            "message {message:?} lacks {fragment:?}"
        );
    }
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
}

/// Asserts that `actual` has each of `expected`'s fields with the same value.
fn assert_fields(actual: &Value, expected: &Value) {
    for (key, value) in expected.as_object().expect("expected fields") {
        assert_eq!(&actual[key], value, "field {key} of {actual}");
    }
}

#[tokio::test]
async fn ingest_reports_what_it_found() {
    let app = TestApp::empty().await;
    let (status, body) = app
        .post_inventory(
            "web-01",
            &[
                ("group", "web"),
                ("tag", "prod"),
                ("tag", "internet-facing"),
            ],
            cargo_lock(&WEB_PACKAGES),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_fields(
        &body,
        &json!({"format": "cargo-lock", "packages": 4, "appeared": 4, "disappeared": 0,
                "openWeaknesses": 4, "opened": 4, "resolved": 0, "notes": [], "unassessed": []}),
    );
    assert_fields(
        &body["device"],
        &json!({"name": "web-01", "group": "web", "tags": ["prod", "internet-facing"],
                "firstSeen": "2024-06-01T12:00:00Z"}),
    );

    // Upgrading vulnlib and removing oldcrate resolves three weaknesses.
    let fixed = cargo_lock(&[
        ("abandoned", "0.1.0"),
        ("safecrate", "1.0.0"),
        ("vulnlib", "1.4.0"),
    ]);
    let (status, body) = app
        .post_inventory("web-01", &[("format", "cargo-lock")], fixed)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_fields(
        &body,
        &json!({"packages": 3, "appeared": 1, "disappeared": 2, "openWeaknesses": 1, "opened": 0, "resolved": 3}),
    );
    assert_eq!(
        app.list("/api/recommendations", &[], "productName").await,
        ["abandoned"]
    );
}

#[tokio::test]
async fn recommendations_follow_the_advisories() {
    let app = TestApp::seeded().await;
    let (status, body) = app.get("/api/recommendations", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["value"].as_array().expect("value array");
    assert_eq!(items.len(), 3, "{body}");
    assert_fields(
        &items[0],
        &json!({
            "id": VULNLIB, "productName": "vulnlib", "recommendationName": "Update vulnlib to 1.4.0",
            "vendor": "crates.io", "weaknesses": 2, "recommendedVersion": "1.4.0", "remediationType": "Update",
            "severityScore": 9.8, "status": "Active", "totalMachineCount": 2, "exposedMachinesCount": 2,
            "recommendationCategory": "Application", "installedVersions": ["1.1.0"],
            "vulnerabilityIds": ["CVE-2024-1001", "CVE-2024-1002"], "unfixedWeaknesses": [],
        }),
    );
    assert_fields(
        &items[1],
        &json!({
            "id": "va-_-crates.io-_-oldcrate", "recommendationName": "Upgrade oldcrate to 2.0.0", "weaknesses": 1,
            "recommendedVersion": "2.0.0", "remediationType": "Upgrade", "severityScore": 7.8,
            "totalMachineCount": 1, "exposedMachinesCount": 1, "vulnerabilityIds": ["RUSTSEC-2024-0003"],
        }),
    );
    assert_fields(
        &items[2],
        &json!({
            "id": "va-_-crates.io-_-abandoned", "recommendationName": "Uninstall abandoned", "weaknesses": 1,
            "recommendedVersion": null, "remediationType": "Uninstall", "severityScore": 5.4,
            "exposedMachinesCount": 1, "unfixedWeaknesses": ["CVE-2024-1004"],
        }),
    );

    let (status, one) = app
        .get(&format!("/api/recommendations/{VULNLIB}"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one, items[0]);
}

#[tokio::test]
async fn recommendation_sub_resources() {
    let app = TestApp::seeded().await;
    let base = format!("/api/recommendations/{VULNLIB}");
    assert_eq!(
        app.list(&format!("{base}/machines"), &[], "computerDnsName")
            .await,
        ["db-01", "web-01"]
    );
    let (_, vulns) = app.get(&format!("{base}/vulnerabilities"), &[]).await;
    assert_eq!(vulns["value"].as_array().map(Vec::len), Some(2), "{vulns}");
    assert_fields(
        &vulns["value"][0],
        &json!({"id": "CVE-2024-1001", "severity": "Critical", "cvssV3": 9.8, "exposedMachines": 2,
                "description": "Heap overflow in vulnlib", "advisoryIds": ["RUSTSEC-2024-0001"],
                "aliases": ["RUSTSEC-2024-0001"], "publishedOn": "2024-02-01T00:00:00Z"}),
    );
    assert_fields(
        &vulns["value"][1],
        &json!({"id": "CVE-2024-1002", "severity": "Medium", "cvssV3": 5.9}),
    );
    let (_, software) = app.get(&format!("{base}/software"), &[]).await;
    assert_eq!(
        software,
        json!({"value": [{"name": "vulnlib", "vendor": "crates.io", "version": "1.1.0",
                          "exposedMachines": 2, "weaknesses": 2}]})
    );
    // Sub-resource lists take the same query options.
    assert_eq!(
        app.list(
            &format!("{base}/machines"),
            &[("rbacGroupName", "web")],
            "computerDnsName"
        )
        .await,
        ["web-01"]
    );
}

#[tokio::test]
async fn list_filters_search_order_and_paging() {
    let app = TestApp::seeded().await;
    let recs = "/api/recommendations";
    let names =
        |query: &'static [(&'static str, &'static str)]| app.list(recs, query, "productName");
    assert_eq!(
        names(&[("$filter", "remediationType eq 'Update'")]).await,
        ["vulnlib"]
    );
    assert_eq!(
        names(&[(
            "$filter",
            "severityScore gt 6 and exposedMachinesCount eq 1"
        )])
        .await,
        ["oldcrate"]
    );
    assert_eq!(
        names(&[(
            "$filter",
            "(remediationType eq 'Uninstall' or weaknesses ge 2) and status ne 'Exception'"
        )])
        .await,
        ["vulnlib", "abandoned"]
    );
    assert_eq!(
        names(&[("$filter", "recommendedVersion eq null")]).await,
        ["abandoned"]
    );
    assert_eq!(
        names(&[("$filter", "productName eq 'it''s'")]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&[("remediationType", "Upgrade"), ("status", "Active")]).await,
        ["oldcrate"]
    );
    assert_eq!(
        names(&[
            ("remediationType", "Upgrade"),
            ("remediationType", "Uninstall")
        ])
        .await,
        ["oldcrate", "abandoned"]
    );
    assert_eq!(names(&[("exposedMachinesCount", "2")]).await, ["vulnlib"]);
    assert_eq!(names(&[("search", "ABAND")]).await, ["abandoned"]);
    assert_eq!(names(&[("search", "upgrade")]).await, ["oldcrate"]);
    assert_eq!(
        names(&[("search", "crates.io")]).await,
        ["vulnlib", "oldcrate", "abandoned"]
    );
    assert_eq!(
        names(&[("$orderby", "productName")]).await,
        ["abandoned", "oldcrate", "vulnlib"]
    );
    assert_eq!(
        names(&[("$orderby", "exposedMachinesCount asc, productName desc")]).await,
        ["oldcrate", "abandoned", "vulnlib"]
    );
    assert_eq!(
        names(&[
            ("$orderby", "productName desc"),
            ("$top", "1"),
            ("$skip", "1")
        ])
        .await,
        ["oldcrate"]
    );
    assert_eq!(names(&[("$top", "2")]).await, ["vulnlib", "oldcrate"]);
    assert_eq!(names(&[("$skip", "3")]).await, Vec::<String>::new());

    let machines = |query: &'static [(&'static str, &'static str)]| {
        app.list("/api/machines", query, "computerDnsName")
    };
    assert_eq!(machines(&[]).await, ["db-01", "web-01"]);
    assert_eq!(machines(&[("search", "WEB")]).await, ["web-01"]);
    assert_eq!(
        machines(&[("$filter", "machineTags eq 'prod'")]).await,
        ["web-01"]
    );
    assert_eq!(
        machines(&[("$filter", "lastSeen ge 2024-06-01")]).await,
        ["db-01", "web-01"]
    );
    assert_eq!(
        machines(&[("$filter", "lastSeen gt 2024-06-01T12:00:00Z")]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        machines(&[("isActive", "true"), ("vulnerabilityCount", "2")]).await,
        ["db-01"]
    );

    let vulns = |query: &'static [(&'static str, &'static str)]| {
        app.list("/api/vulnerabilities", query, "id")
    };
    assert_eq!(
        vulns(&[]).await,
        [
            "CVE-2024-1001",
            "RUSTSEC-2024-0003",
            "CVE-2024-1002",
            "CVE-2024-1004"
        ]
    );
    assert_eq!(
        vulns(&[("$filter", "cvssV3 ge 7")]).await,
        ["CVE-2024-1001", "RUSTSEC-2024-0003"]
    );
    assert_eq!(vulns(&[("search", "timing")]).await, ["CVE-2024-1002"]);
    assert_eq!(
        vulns(&[("severity", "Medium"), ("$orderby", "id desc")]).await,
        ["CVE-2024-1004", "CVE-2024-1002"]
    );
}

#[tokio::test]
async fn machines_and_vulnerabilities() {
    let app = TestApp::seeded().await;
    let (status, web) = app.get("/api/machines/web-01", &[]).await;
    assert_eq!(status, StatusCode::OK, "{web}");
    assert_fields(
        &web,
        &json!({"computerDnsName": "web-01", "rbacGroupName": "web", "machineTags": ["prod", "internet-facing"],
                "isActive": true, "softwareCount": 4, "vulnerabilityCount": 4,
                "lastSeen": "2024-06-01T12:00:00Z"}),
    );
    let id = web["id"].to_string();
    let (status, by_id) = app.get(&format!("/api/machines/{id}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    assert_eq!(by_id, web);

    assert_eq!(
        app.list("/api/machines/db-01/vulnerabilities", &[], "id")
            .await,
        ["CVE-2024-1001", "CVE-2024-1002"]
    );
    let (_, software) = app
        .get("/api/machines/db-01/software", &[("$orderby", "name desc")])
        .await;
    assert_eq!(
        software["value"][0],
        json!({"name": "vulnlib", "version": "1.1.0", "vendor": "crates.io", "ecosystem": "crates.io",
               "release": null, "sourceName": null, "sourceVersion": null,
               "purl": "pkg:cargo/vulnlib@1.1.0", "cpe": null})
    );
    assert_eq!(
        app.list(
            &format!("/api/machines/{id}/software"),
            &[("search", "CRATE"), ("$filter", "name lt 'p'")],
            "name"
        )
        .await,
        ["abandoned", "oldcrate"]
    );

    let (status, vuln) = app.get("/api/vulnerabilities/CVE-2024-1001", &[]).await;
    assert_eq!(status, StatusCode::OK, "{vuln}");
    assert_fields(
        &vuln,
        &json!({"id": "CVE-2024-1001", "name": "CVE-2024-1001", "exposedMachines": 2}),
    );
    let (_, by_alias) = app.get("/api/vulnerabilities/RUSTSEC-2024-0001", &[]).await;
    assert_eq!(by_alias, vuln);
    assert_eq!(
        app.list(
            "/api/vulnerabilities/RUSTSEC-2024-0003/machines",
            &[],
            "computerDnsName"
        )
        .await,
        ["web-01"]
    );
}

#[tokio::test]
async fn missing_things_are_404_and_wrong_methods_405() {
    let app = TestApp::seeded().await;
    let not_found = StatusCode::NOT_FOUND;
    for (path, what) in [
        (
            "/api/recommendations/va-_-crates.io-_-nope",
            "recommendation va-_-crates.io-_-nope not found",
        ),
        (
            "/api/recommendations/nope/machines",
            "recommendation nope not found",
        ),
        (
            "/api/recommendations/nope/vulnerabilities",
            "recommendation nope not found",
        ),
        (
            "/api/recommendations/nope/software",
            "recommendation nope not found",
        ),
        ("/api/machines/nope", "machine nope not found"),
        ("/api/machines/999", "machine 999 not found"),
        (
            "/api/machines/nope/vulnerabilities",
            "machine nope not found",
        ),
        ("/api/machines/nope/software", "machine nope not found"),
        (
            "/api/vulnerabilities/CVE-1999-0001",
            "vulnerability CVE-1999-0001 not found",
        ),
        (
            "/api/vulnerabilities/CVE-1999-0001/machines",
            "vulnerability CVE-1999-0001 not found",
        ),
        ("/api/nothing", "no route for GET /api/nothing"),
        // `/` is the console's; the API's own root is JSON.
        ("/api", "no route for GET /api"),
    ] {
        app.assert_error(path, &[], not_found, "NotFound", &[what])
            .await;
    }
    let (status, body) = app
        .send(Method::DELETE, "/api/recommendations", &[], Vec::new())
        .await;
    check_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        &["/api/recommendations does not serve DELETE"],
    );
    let response = app
        .client
        .delete(format!("{}/api/recommendations", app.base))
        .send()
        .await
        .expect("request");
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok());
    assert!(allow.is_some_and(|a| a.contains("GET")), "{allow:?}");
    let (status, body) = app
        .send(
            Method::GET,
            "/api/machines/web-01/inventory",
            &[],
            Vec::new(),
        )
        .await;
    check_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        &["does not serve GET"],
    );
}

#[tokio::test]
async fn bad_queries_are_400_with_a_reason() {
    let app = TestApp::seeded().await;
    let bad = StatusCode::BAD_REQUEST;
    let recs = "/api/recommendations";
    app.assert_error(
        recs,
        &[("$filter", "colour eq 'red'")],
        bad,
        "BadRequest",
        &[
            "unknown field 'colour' in $filter",
            "valid fields: id, productName,",
            "remediationType",
            "exposedMachinesCount",
        ],
    )
    .await;
    app.assert_error(
        recs,
        &[("colour", "red")],
        bad,
        "BadRequest",
        &["unknown field 'colour' in the query parameters"],
    )
    .await;
    app.assert_error(
        recs,
        &[("$orderby", "colour desc")],
        bad,
        "BadRequest",
        &["unknown field 'colour' in $orderby"],
    )
    .await;
    app.assert_error(
        "/api/machines",
        &[("productName", "x")],
        bad,
        "BadRequest",
        &[
            "unknown field 'productName'",
            "computerDnsName",
            "machineTags",
        ],
    )
    .await;
    app.assert_error(
        recs,
        &[("$filter", "status eq 'Active' and")],
        bad,
        "BadRequest",
        &["malformed $filter at position 23: expected a field or a value, found end of input"],
    )
    .await;
    app.assert_error(
        recs,
        &[("$filter", "status = 'Active'")],
        bad,
        "BadRequest",
        &["malformed $filter at position 8: unexpected character '='"],
    )
    .await;
    app.assert_error(
        recs,
        &[("$top", "10001")],
        bad,
        "BadRequest",
        &["$top must be at most 10000"],
    )
    .await;
    app.assert_error(
        recs,
        &[("$skip", "-2")],
        bad,
        "BadRequest",
        &["$skip must be a non-negative integer"],
    )
    .await;
    app.assert_error(
        recs,
        &[("$expand", "x")],
        bad,
        "BadRequest",
        &["unsupported query option $expand"],
    )
    .await;
    app.assert_error(
        &format!("{recs}/{VULNLIB}/software"),
        &[("$orderby", "version sideways")],
        bad,
        "BadRequest",
        &["malformed $orderby at position 9: expected 'asc' or 'desc', found 'sideways'"],
    )
    .await;

    let (status, body) = app
        .post_inventory("web-02", &[("format", "pom")], cargo_lock(&DB_PACKAGES))
        .await;
    check_error(
        status,
        &body,
        bad,
        "BadRequest",
        &[
            "unknown inventory format 'pom'",
            "cargo-lock",
            "cyclonedx-json",
        ],
    );
    let (status, body) = app
        .post_inventory("web-02", &[("owner", "me")], cargo_lock(&DB_PACKAGES))
        .await;
    check_error(
        status,
        &body,
        bad,
        "BadRequest",
        &["unknown query parameter 'owner'"],
    );
    // Nothing was stored by the refused uploads.
    app.assert_error(
        "/api/machines/web-02",
        &[],
        StatusCode::NOT_FOUND,
        "NotFound",
        &["machine web-02"],
    )
    .await;
}

#[tokio::test]
async fn unreadable_inventories_are_refused_with_the_place() {
    let app = TestApp::seeded().await;
    let mut lock = cargo_lock(&DB_PACKAGES);
    lock.push_str("\n[[package]]\nname = \"broken\"\nversion = \"not.a.version\"\n");
    let line = lock
        .lines()
        .position(|l| l == "name = \"broken\"")
        .expect("broken package")
        + 1;
    let (status, body) = app.post_inventory("db-02", &[], lock).await;
    check_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "InvalidInventory",
        &[&format!("request body: line {line}: "), "broken"],
    );

    let (status, body) = app.post_inventory("db-02", &[], "just some words\n").await;
    check_error(
        status,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "InvalidInventory",
        &["unknown format"],
    );
    let (status, body) = app
        .post_inventory("db-02", &[("format", "cargo-lock")], "[[package]\n")
        .await;
    check_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "InvalidInventory",
        &["request body: line 1: "],
    );
}

#[tokio::test]
async fn oversized_inventory_is_413() {
    let app = TestApp::empty().await;
    // Well past axum's default 2 MB limit, but within Bulwark's.
    let padded = format!("# {}\n{}", "x".repeat(8 << 20), cargo_lock(&DB_PACKAGES));
    let (status, body) = app
        .post_inventory("big", &[("format", "cargo-lock")], padded)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body = vec![b'#'; bulwark_server::MAX_BODY_BYTES + 1];
    let (status, body) = app.post_inventory("big", &[], body).await;
    check_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PayloadTooLarge",
        &["268435456 bytes"],
    );
}

/// Replaces each `{param}` of a path template with `value`.
fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn openapi_document_describes_every_route() {
    let app = TestApp::seeded().await;
    let (status, doc) = app.get("/api/openapi.json", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let methods = [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ];
        for method in item.as_object().expect("path item").keys() {
            if methods.contains(&method.as_str()) {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    documented.sort();
    let served = bulwark_server::routes();
    let mut from_router: Vec<(String, String)> = served
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    from_router.sort();
    assert_eq!(documented, from_router);
    // The list the brief names is all there.
    for path in [
        "/api/recommendations",
        "/api/recommendations/{id}",
        "/api/recommendations/{id}/machines",
        "/api/recommendations/{id}/vulnerabilities",
        "/api/recommendations/{id}/software",
        "/api/machines",
        "/api/machines/{id}",
        "/api/machines/{id}/vulnerabilities",
        "/api/machines/{id}/software",
        "/api/machines/{name}/inventory",
        "/api/vulnerabilities",
        "/api/vulnerabilities/{id}",
        "/api/vulnerabilities/{id}/machines",
        "/api/openapi.json",
    ] {
        assert!(served.iter().any(|r| r.path == path), "{path} not served");
    }
    // Every documented route is really served: none answers with the router's fallbacks.
    for route in &served {
        if route.path == "/metrics" {
            // Prometheus text, not JSON (tests/observability.rs reads it).
            let response = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            continue;
        }
        let method = Method::from_bytes(route.method.as_bytes()).expect("method");
        let (status, body) = app
            .send(method, &fill(&route.path, "x"), &[], Vec::new())
            .await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && !message.starts_with("no route"),
            "{} {}: {status} {body}",
            route.method,
            route.path
        );
    }
    // Every schema a response refers to is in the document.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap_or_default();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "missing schema {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposure_scores_groups_and_device_value() {
    let app = TestApp::seeded().await;
    let (status, org) = app.get("/api/exposureScore", &[]).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["time"], "2024-06-01T12:00:00Z");
    let score = org["score"].as_f64().unwrap();
    assert!(score > 0.0 && score < 100.0, "{org}");
    assert_eq!(
        org["band"],
        if score.round() < 30.0 {
            "Low"
        } else {
            "Medium"
        }
    );

    // The organisation's score is the value-weighted mean of the machines' scores (both Normal here).
    let (_, machines) = app.get("/api/machines", &[]).await;
    let machine_score = |machines: &Value, name: &str| {
        machines["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["computerDnsName"] == name)
            .and_then(|m| m["exposureScore"].as_f64())
            .unwrap()
    };
    let (web, db) = (
        machine_score(&machines, "web-01"),
        machine_score(&machines, "db-01"),
    );
    assert!(
        web > db,
        "web-01 has more weaknesses and is internet-facing"
    );
    assert!((score - (web + db) / 2.0).abs() < 1e-9);
    let groups = app
        .list("/api/exposureScore/ByMachineGroups", &[], "rbacGroupName")
        .await;
    assert_eq!(groups, ["db", "web"]);

    // A High-value machine counts twice.
    let (status, patched) = app
        .send(
            Method::PATCH,
            "/api/machines/web-01",
            &[],
            json_body(json!({"deviceValue": "High"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["deviceValue"], "High");
    let (_, org) = app.get("/api/exposureScore", &[]).await;
    let weighted = org["score"].as_f64().unwrap();
    assert!((weighted - (2.0 * web + db) / 3.0).abs() < 1e-9);
    let (status, body) = app
        .send(
            Method::PATCH,
            "/api/machines/web-01",
            &[],
            json_body(json!({"deviceValue": "Huge"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$.deviceValue"),
        "{body}"
    );

    // Groups by rule: the explicit group from the ingest wins until it is removed.
    let rules = json!({"name": "Internet", "rank": 1, "rules": [{"kind": "tag", "value": "internet-facing"}]});
    let (status, group) = app
        .send(
            Method::POST,
            "/api/machineGroups",
            &[],
            json_body(rules.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let (status, body) = app
        .send(Method::POST, "/api/machineGroups", &[], json_body(rules))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/machineGroups",
            &[],
            json_body(json!({"name": "X", "rules": [{"kind": "colour", "value": "red"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$.rules"),
        "{body}"
    );
    let (_, web01) = app.get("/api/machines/web-01", &[]).await;
    assert_eq!(web01["rbacGroupName"], "web");
    let (status, web01) = app
        .send(
            Method::PATCH,
            "/api/machines/web-01",
            &[],
            json_body(json!({"rbacGroupName": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{web01}");
    assert_eq!(web01["rbacGroupName"], "Internet");
    assert_eq!(web01["deviceValue"], "High", "other fields are kept");
    let groups = app
        .list("/api/exposureScore/ByMachineGroups", &[], "rbacGroupName")
        .await;
    assert_eq!(groups, ["Internet", "db"]);
    let id = group["id"].as_i64().unwrap();
    let deleted = app
        .client
        .delete(format!("{}/api/machineGroups/{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (_, web01) = app.get("/api/machines/web-01", &[]).await;
    assert_eq!(web01["rbacGroupName"], "Ungrouped");

    // Each recommendation states its exact impact; the machine's own score is served too.
    let (_, vulnlib) = app
        .get(&format!("/api/recommendations/{VULNLIB}"), &[])
        .await;
    assert!(
        vulnlib["exposureImpact"].as_f64().unwrap() > 0.0,
        "{vulnlib}"
    );
    let (status, own) = app.get("/api/machines/db-01/exposureScore", &[]).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["exposureLevel"], "Low");
    assert!((own["exposureScore"].as_f64().unwrap() - db).abs() < 1e-9);

    // History: every change recorded a snapshot at the (fixed) time; bad bounds are refused.
    let (status, history) = app.get("/api/exposureScore/history", &[]).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert!(history["value"].as_array().unwrap().len() >= 5, "{history}");
    let (status, body) = app
        .get("/api/exposureScore/history", &[("from", "last week")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .get(
            "/api/exposureScore/history",
            &[("from", "2024-06-02"), ("to", "2024-06-01")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, history) = app
        .get("/api/exposureScore/history", &[("machine", "db-01")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!history["value"].as_array().unwrap().is_empty());
}

fn json_body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

#[tokio::test]
async fn exceptions_hide_recommendations_and_roles_are_enforced() {
    let app = TestApp::seeded().await;
    // No token: 401 with a message saying how to get one.
    let anonymous = reqwest::Client::new()
        .get(format!("{}/api/recommendations", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bulwark token create"),
        "{body}"
    );

    let ids = app.list("/api/recommendations", &[], "id").await;
    let target = ids[0].clone();
    let post = |body: Value| app.send(Method::POST, "/api/exceptions", &[], json_body(body));
    let (status, bad) = post(serde_json::json!({
        "recommendationId": target, "justification": "because",
        "justificationContext": "x", "durationDays": 30, "global": true
    }))
    .await;
    check_error(
        status,
        &bad,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &["justification", "risk_accepted"],
    );
    let (status, missing) = post(serde_json::json!({
        "recommendationId": target, "justification": "risk_accepted",
        "durationDays": 30, "global": true
    }))
    .await;
    check_error(
        status,
        &missing,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &["justificationContext"],
    );
    let (status, created) = post(serde_json::json!({
        "recommendationId": target, "justification": "risk_accepted",
        "justificationContext": "accepted until the rewrite", "durationDays": 30,
        "global": true
    }))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "InEffect");

    // The default list hides it; naming the status shows it.
    assert!(
        !app.list("/api/recommendations", &[], "id")
            .await
            .contains(&target)
    );
    assert_eq!(
        app.list("/api/recommendations", &[("status", "Exception")], "id")
            .await,
        vec![target.clone()]
    );
    assert_eq!(
        app.list(
            "/api/recommendations",
            &[("$filter", "status eq 'Exception'")],
            "id"
        )
        .await,
        vec![target.clone()]
    );

    // An analyst, created through the API, may not create a global exception (403).
    let (status, _) = app
        .send(
            Method::POST,
            "/api/users",
            &[],
            json_body(serde_json::json!({"email": "ana@example.org", "role": "analyst"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, token) = app
        .send(
            Method::POST,
            "/api/users/ana@example.org/tokens",
            &[],
            json_body(serde_json::json!({"days": 7})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let token = token["token"].as_str().unwrap().to_string();
    let refused = reqwest::Client::new()
        .post(format!("{}/api/exceptions", app.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "recommendationId": ids[1], "justification": "risk_accepted",
            "justificationContext": "no", "durationDays": 30, "global": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // CSV export of the Exceptions tab, and the audit chain.
    let csv = reqwest::Client::new()
        .get(format!("{}/api/exceptions?format=csv", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert!(
        header.contains(&"id") && header.contains(&"justificationContext"),
        "{text}"
    );
    assert!(text.contains("accepted until the rewrite"), "{text}");
    // The exception policy: admins change it (audited), analysts may not; bad values name the field.
    let (status, policy) = app.get("/api/settings/exceptionPolicy", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy["maxDurationDays"], 365);
    let mut tighter = policy.clone();
    tighter["maxDurationDays"] = 90.into();
    let (status, now) = app
        .send(
            Method::PUT,
            "/api/settings/exceptionPolicy",
            &[],
            json_body(tighter.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now["maxDurationDays"], 90);
    let mut bad = tighter.clone();
    bad["epssThreshold"] = 2.into();
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/settings/exceptionPolicy",
            &[],
            json_body(bad),
        )
        .await;
    check_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &["epssThreshold"],
    );
    let refused = reqwest::Client::new()
        .put(format!("{}/api/settings/exceptionPolicy", app.base))
        .bearer_auth(&token)
        .json(&tighter)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Now 180 days is over the maximum.
    let (status, over) = post(serde_json::json!({
        "recommendationId": ids[1], "justification": "risk_accepted",
        "justificationContext": "later", "durationDays": 180, "global": true
    }))
    .await;
    check_error(
        status,
        &over,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &["durationDays", "maximum of 90"],
    );

    let (status, verified) = app.get("/api/audit/verify", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verified["valid"], true, "{verified}");
}

#[tokio::test]
async fn health_probes_answer_without_a_token() {
    let app = TestApp::empty().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], status, "{path}");
    }
}
