//! What the server's test files share: an HTTP client that authenticates as a fresh admin user, and a
//! console client signed in through the sign-in form.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

pub mod browser;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use bulwark_core::identity::Role;
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::IngestRequest;
use bulwark_engine::{Engine, local_admin};
use bulwark_server::AppState;

/// Adds a user with `role` and returns an HTTP client that sends a fresh API token of theirs with
/// every request.
pub async fn client_as(engine: &Engine, email: &str, role: Role) -> reqwest::Client {
    engine
        .add_user(&local_admin(), email, None, role, None)
        .await
        .expect("add user");
    let token = engine
        .create_token(&local_admin(), email, None)
        .await
        .expect("create token")
        .token;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// An admin's client (see [`client_as`]).
pub async fn admin_client(engine: &Engine) -> reqwest::Client {
    client_as(engine, "admin@example.org", Role::Admin).await
}

/// A browser-like client signed in to the console: it keeps cookies and knows the session's CSRF
/// token for forms.
pub struct ConsoleClient {
    /// The HTTP client, with its cookie store (redirects are not followed, so tests see them).
    pub http: reqwest::Client,
    /// The server's base URL.
    pub base: String,
    /// The CSRF token every form must carry.
    pub csrf: String,
}

/// The password test users sign in with.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// Adds a user with `role` and a password, signs in through the console's form, and returns the
/// signed-in client.
pub async fn console_as(engine: &Engine, base: &str, email: &str, role: Role) -> ConsoleClient {
    engine
        .add_user(&local_admin(), email, None, role, Some(TEST_PASSWORD))
        .await
        .expect("add user");
    console_sign_in(base, email, TEST_PASSWORD).await
}

/// Signs in an existing user through the console's form (GET /login for its token, POST /login).
pub async fn console_sign_in(base: &str, email: &str, password: &str) -> ConsoleClient {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login form")
        .text()
        .await
        .expect("login form body");
    let token = hidden_value(&form, "csrf").expect("the login form carries a token");
    let response = http
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", email),
            ("password", password),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), 303, "sign-in redirects to the dashboard");
    let page = http
        .get(format!("{base}/"))
        .send()
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("dashboard body");
    let csrf = hidden_value(&page, "csrf").expect("the dashboard's sign-out form carries a token");
    ConsoleClient {
        http,
        base: base.to_string(),
        csrf,
    }
}

impl ConsoleClient {
    /// GETs a console path; returns the status and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// POSTs a form with the session's CSRF token added; returns the status, the `Location` header
    /// (redirects are not followed) and the body.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POSTs exactly these fields (no CSRF token added).
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, location, response.text().await.expect("body"))
    }
}

/// The value of the first hidden input named `name` in an HTML page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The test's "now": every upload happens at this instant, so every machine is active.
/// A clock that always says the same instant.
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Four crates.io advisories: `vulnlib` has two (fixed in 1.2.3 and 1.4.0), `oldcrate` one fixed only in
/// a new major version, `abandoned` one with no fix.
pub const ADVISORIES: [(&str, &str); 4] = [
    (
        "RUSTSEC-2024-0001.json",
        r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0001", "modified": "2024-03-01T00:00:00Z",
            "published": "2024-02-01T00:00:00Z", "aliases": ["CVE-2024-1001"],
            "summary": "Heap overflow in vulnlib",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "vulnlib"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}"#,
    ),
    (
        "RUSTSEC-2024-0002.json",
        r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0002", "modified": "2024-03-02T00:00:00Z",
            "published": "2024-02-02T00:00:00Z", "aliases": ["CVE-2024-1002"],
            "summary": "Timing side channel in vulnlib",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "vulnlib"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.4.0"}]}]}]}"#,
    ),
    (
        "RUSTSEC-2024-0003.json",
        r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0003", "modified": "2024-03-03T00:00:00Z",
            "published": "2024-02-03T00:00:00Z",
            "summary": "Use after free in oldcrate",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "oldcrate"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]}"#,
    ),
    (
        "RUSTSEC-2024-0004.json",
        r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0004", "modified": "2024-03-04T00:00:00Z",
            "published": "2024-02-04T00:00:00Z", "aliases": ["CVE-2024-1004"],
            "summary": "Unsound API in abandoned",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"}],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "abandoned"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}"#,
    ),
];

/// A Cargo.lock with the given (name, version) crates.io packages.
pub fn cargo_lock(packages: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n",
    );
    for (name, version) in packages {
        out.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ));
    }
    out
}

/// A clock the test moves (idle timeouts, expiries).
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    /// Starts at `at`.
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(std::sync::Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().expect("clock");
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

/// The console tests' "now".
pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

/// A running server (API and console) over a fresh store, with [`ADVISORIES`] imported.
pub struct ConsoleApp {
    /// The server's base URL.
    pub base: String,
    /// The engine the server runs on, for setting up and checking state directly.
    pub engine: Arc<Engine>,
    /// The clock, which tests may move.
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    _database: bulwark_store::testing::FreshDatabase,
}

/// One device of [`CONSOLE_FLEET`]: name, group, tags, crates.io packages (name, version).
pub type FleetDevice = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// The fleet [`ConsoleApp::seeded`] ingests.
pub const CONSOLE_FLEET: [FleetDevice; 3] = [
    (
        "web-01",
        "web",
        &["internet-facing"],
        &[
            ("abandoned", "0.1.0"),
            ("oldcrate", "0.9.0"),
            ("vulnlib", "1.1.0"),
        ],
    ),
    (
        "web-02",
        "web",
        &[],
        &[("vulnlib", "1.1.0"), ("safecrate", "1.0.0")],
    ),
    (
        "db-01",
        "db",
        &[],
        &[("vulnlib", "1.1.0"), ("safecrate", "1.0.0")],
    ),
];

impl ConsoleApp {
    /// Starts the server with the advisories and no devices.
    pub async fn empty() -> ConsoleApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let osv = dir.path().join("osv");
        std::fs::create_dir(&osv).expect("osv directory");
        for (name, text) in ADVISORIES {
            std::fs::write(osv.join(name), text).expect("write advisory");
        }
        let (store, database) = bulwark_store::testing::fresh_store()
            .await
            .expect("open store");
        let clock = Arc::new(ManualClock::new(test_now()));
        let engine = Arc::new(
            Engine::open(store, clock.clone())
                .await
                .expect("open engine"),
        );
        let summary = engine
            .import(Path::new(&osv), &|_| {})
            .await
            .expect("import advisories");
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(bulwark_server::serve(
            AppState::new(engine.clone()),
            listener,
        ));
        ConsoleApp {
            base,
            engine,
            clock,
            _dir: dir,
            _database: database,
        }
    }

    /// Starts the server with [`CONSOLE_FLEET`] ingested: web-01 (internet-facing; vulnlib, oldcrate,
    /// abandoned), web-02 and db-01 (vulnlib 1.1.0), in the groups web and db.
    pub async fn seeded() -> ConsoleApp {
        let app = ConsoleApp::empty().await;
        for (name, group, tags, crates) in CONSOLE_FLEET {
            app.engine
                .ingest(IngestRequest {
                    device: DeviceInfo {
                        name: name.to_string(),
                        os: None,
                        group: Some(group.to_string()),
                        tags: tags.iter().map(|t| t.to_string()).collect(),
                    },
                    file: "Cargo.lock".to_string(),
                    bytes: cargo_lock(crates).into_bytes(),
                    format: None,
                })
                .await
                .expect("ingest");
        }
        app
    }

    /// Signs in a new user with `role` through the console's form.
    pub async fn sign_in(&self, email: &str, role: Role) -> ConsoleClient {
        console_as(&self.engine, &self.base, email, role).await
    }
}

/// The number of rows in the `<tbody>` of the table with this id in an HTML page (panics, showing
/// the page, when there is no such table).
pub fn table_rows(page: &str, table_id: &str) -> usize {
    let start = page
        .find(&format!("id=\"{table_id}\""))
        .unwrap_or_else(|| panic!("no table #{table_id} in {page}"));
    let table = &page[start..];
    let end = table.find("</table>").expect("the table ends");
    table[..end].matches("<tr").count() - 1
}
