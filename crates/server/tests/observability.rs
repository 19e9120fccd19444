//! What operators see of a running server: `GET /metrics` (Prometheus text format 0.0.4, read back
//! with a strict parser written from the format's description; counters that move with requests and
//! ingests) and the JSON request log (one
//! line per request with its route template, status, latency and request id, echoed in the response).
//!
//! Each test starts the real server on 127.0.0.1:0 over a fresh store of the chosen backend.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;

use bulwark_engine::Engine;
use bulwark_server::AppState;
use bulwark_server::logging::{LogFormat, subscriber};

/// One advisory: `vulnlib` before 1.2.3.
const ADVISORY: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0001",
    "modified": "2024-03-01T00:00:00Z", "published": "2024-02-01T00:00:00Z",
    "aliases": ["CVE-2024-1001"], "summary": "Heap overflow in vulnlib",
    "affected": [{"package": {"ecosystem": "crates.io", "name": "vulnlib"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}"#;

/// A Cargo.lock with vulnlib 1.1.0 (vulnerable) and safecrate 1.0.0.
const LOCKFILE: &str = "version = 4\n\n\
    [[package]]\nname = \"safecrate\"\nversion = \"1.0.0\"\n\
    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
    [[package]]\nname = \"vulnlib\"\nversion = \"1.1.0\"\n\
    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

struct Clock;

impl bulwark_core::Clock for Clock {
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }
}

/// A running server with the advisory imported, an admin's client, and what must outlive the test.
struct App {
    base: String,
    client: reqwest::Client,
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
    _database: bulwark_store::testing::FreshDatabase,
}

async fn start() -> App {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("RUSTSEC-2024-0001.json"), ADVISORY).expect("write");
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let engine = Arc::new(Engine::open(store, Arc::new(Clock)).await.expect("engine"));
    let summary = engine
        .import(Path::new(dir.path()), &|_| {})
        .await
        .expect("import");
    assert_eq!(summary.inserted, 1, "{summary:?}");
    let client = common::admin_client(&engine).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(bulwark_server::serve(
        AppState::new(engine.clone()),
        listener,
    ));
    App {
        base,
        client,
        engine,
        _dir: dir,
        _database: database,
    }
}

impl App {
    /// GETs `/metrics` without a token and parses it (panicking at the first line that is not in
    /// the text format).
    async fn scrape(&self) -> Scrape {
        let response = reqwest::get(format!("{}/metrics", self.base))
            .await
            .expect("GET /metrics");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        parse(&response.text().await.expect("body"))
    }

    async fn ingest(&self, device: &str) {
        let response = self
            .client
            .post(format!("{}/api/machines/{device}/inventory", self.base))
            .body(LOCKFILE)
            .send()
            .await
            .expect("ingest");
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// What a scrape holds: `# HELP` and `# TYPE` by family, and the samples in order.
#[derive(Debug, Default)]
struct Scrape {
    help: HashMap<String, String>,
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Stops the test at a line that is not in the text format.
fn not_the_format(why: &str, line: &str, text: &str) -> ! {
    panic!("{why}: {line:?}\n{text}")
}

/// Parses the Prometheus text exposition format 0.0.4: `# HELP name text`, `# TYPE name kind`, other
/// comments, blank lines, and samples `name{label="value",…} value [timestamp]` with label values
/// escaped `\\`, `\"`, `\n`. Every sample belongs to a family whose TYPE came before it (a
/// histogram's through `_bucket`, `_sum` and `_count`). Panics, naming the line, at anything else.
fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines() {
        // Expands where `line` is in scope, so each use names the line.
        macro_rules! fail {
            ($why:expr) => {
                not_the_format($why, line, text)
            };
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), text) => {
                    scrape
                        .help
                        .insert(name.to_string(), text.unwrap_or_default().to_string());
                }
                (Some("TYPE"), Some(name), Some(kind)) => {
                    let known = ["counter", "gauge", "histogram", "summary", "untyped"];
                    if !known.contains(&kind) {
                        fail!("unknown type");
                    }
                    if scrape
                        .types
                        .insert(name.to_string(), kind.to_string())
                        .is_some()
                    {
                        fail!("a second TYPE line");
                    }
                }
                (Some("TYPE"), ..) => fail!("TYPE without a type"),
                _ => {}
            }
            continue;
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(line.len());
        let name = &line[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            fail!("no metric name");
        }
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            loop {
                rest = rest.trim_start_matches(',');
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (label, after) = rest.split_once("=\"").unwrap_or_else(|| fail!("bad label"));
                if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    fail!("bad label name");
                }
                let mut value = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) => break i,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => fail!("bad escape"),
                        },
                        Some((_, c)) => value.push(c),
                        None => fail!("unterminated label value"),
                    }
                };
                labels.insert(label.to_string(), value);
                rest = &after[end + 1..];
            }
        }
        let mut fields = rest.split_whitespace();
        let value = match fields.next() {
            Some("+Inf") => f64::INFINITY,
            Some("-Inf") => f64::NEG_INFINITY,
            Some("NaN") => f64::NAN,
            Some(v) => v.parse().unwrap_or_else(|_| fail!("bad value")),
            None => fail!("no value"),
        };
        if let Some(timestamp) = fields.next()
            && timestamp.parse::<i64>().is_err()
        {
            fail!("bad timestamp");
        }
        if fields.next().is_some() || !rest.starts_with([' ', '\t']) {
            fail!("trailing text");
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                (scrape.types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
            })
            .unwrap_or(name);
        if !scrape.types.contains_key(family) {
            fail!("a sample before its TYPE");
        }
        scrape.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    scrape
}

/// The value of the sample named `name` whose labels include every one of `labels`; `None` when no
/// sample has them.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

#[test]
fn the_parser_reads_the_format_and_refuses_what_is_not() {
    let scrape = parse(concat!(
        "# HELP h_seconds Latency of x\n",
        "# TYPE h_seconds histogram\n",
        "h_seconds_bucket{route=\"/a/{id}\",note=\"q\\\"\\\\\\n\",le=\"+Inf\"} 3\n",
        "h_seconds_sum{route=\"/a/{id}\"} 0.25\n",
        "h_seconds_count{route=\"/a/{id}\",} 3 1712345678000\n",
        "# a comment\n",
        "# TYPE up gauge\n",
        "up 1\n",
    ));
    assert_eq!(scrape.samples.len(), 4);
    assert_eq!(scrape.samples[0].labels["route"], "/a/{id}");
    assert_eq!(scrape.samples[0].labels["note"], "q\"\\\n");
    assert_eq!(
        value(&scrape, "h_seconds_count", &[("route", "/a/{id}")]),
        Some(3.0)
    );
    assert_eq!(scrape.help["h_seconds"], "Latency of x");
    for bad in [
        "up 1\n",
        "# TYPE up gauge\nup\n",
        "# TYPE up gauge\nup{a=\"1} 1\n",
        "# TYPE up gauge\nup{a=1} 1\n",
        "# TYPE up gauge\nup one\n",
        "# TYPE up gauge\nup 1 2 3\n",
        "# TYPE up meter\nup 1\n",
    ] {
        let text = bad.to_string();
        assert!(
            std::panic::catch_unwind(move || parse(&text)).is_err(),
            "accepted {bad:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_and_move_with_requests_and_ingests() {
    let app = start().await;
    let before = app.scrape().await;
    // The ingest series exist at 0 before the first ingest.
    for source in ["api", "agent"] {
        let labels = [("source", source)];
        assert_eq!(
            value(&before, "bulwark_inventories_ingested_total", &labels),
            Some(0.0)
        );
    }

    app.ingest("web-01").await;
    app.ingest("web-02").await;
    let response = app
        .client
        .get(format!("{}/api/machines/web-01", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .client
        .get(format!("{}/api/no/such/thing", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = reqwest::get(format!("{}/api/machines", app.base))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let after = app.scrape().await;
    assert!(
        after
            .help
            .contains_key("bulwark_http_request_duration_seconds")
    );
    let api = [("source", "api")];
    assert_eq!(
        value(&after, "bulwark_inventories_ingested_total", &api),
        Some(2.0)
    );
    assert_eq!(
        value(&after, "bulwark_inventory_packages_total", &api),
        Some(4.0)
    );
    assert_eq!(
        value(&after, "bulwark_matching_runs_total", &api),
        Some(2.0)
    );
    assert_eq!(
        value(&after, "bulwark_weaknesses_opened_total", &api),
        Some(2.0)
    );
    let requests = |route: &str, method: &str, status: &str| {
        value(
            &after,
            "bulwark_http_request_duration_seconds_count",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    // Labelled by the route template, not the path.
    assert_eq!(
        requests("/api/machines/{name}/inventory", "POST", "2xx"),
        Some(2.0)
    );
    assert_eq!(requests("/api/machines/{id}", "GET", "2xx"), Some(1.0));
    assert_eq!(requests("/api/machines", "GET", "4xx"), Some(1.0));
    assert_eq!(requests("unmatched", "GET", "4xx"), Some(1.0));
    assert!(requests("/metrics", "GET", "2xx").is_some());
    // A histogram: the bucket bounds are there, the last one holding every request.
    let inf = [("route", "/api/machines/{id}"), ("le", "+Inf")];
    let bucket = "bulwark_http_request_duration_seconds_bucket";
    assert_eq!(value(&after, bucket, &inf), Some(1.0));
    assert_eq!(
        after.types["bulwark_http_request_duration_seconds"],
        "histogram"
    );
    assert_eq!(after.types["bulwark_inventories_ingested_total"], "counter");
    assert!(
        after
            .samples
            .iter()
            .all(|s| !s.labels.values().any(|v| v.contains("web-01"))),
        "a raw path became a label"
    );
    // The pool gauges and the loaded change sequence are read at scrape time.
    let pools: Vec<&str> = after
        .samples
        .iter()
        .filter(|s| s.name == "bulwark_db_pool_max_connections")
        .filter_map(|s| s.labels.get("pool").map(String::as_str))
        .collect();
    assert!(!pools.is_empty());
    let loaded = app.engine.loaded_changes();
    assert_eq!(
        value(
            &after,
            "bulwark_state_loaded_sequence",
            &[("kind", "advisories")]
        ),
        Some(loaded.advisories as f64)
    );
    assert_eq!(loaded.advisories, 1);
}

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    /// Every line written so far, each parsed as JSON.
    fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8(bytes)
            .expect("UTF-8")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// The request log lines of one request id.
    fn requests(&self, id: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["message"] == "request" && l["request_id"] == id)
            .collect()
    }
}

// One thread: the server's tasks run where the test's log subscriber is installed.
#[tokio::test(flavor = "current_thread")]
async fn every_request_is_logged_once_as_json_with_its_id() {
    let log = Captured::default();
    let filter = tracing_subscriber::EnvFilter::new("warn,bulwark_server=info,bulwark::http=info");
    let _guard = tracing::subscriber::set_default(subscriber(LogFormat::Json, filter, log.clone()));
    let app = start().await;

    // The client's id is kept and echoed.
    let response = app
        .client
        .get(format!("{}/api/machines/web-01", app.base))
        .header("X-Request-Id", "trace-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["x-request-id"], "trace-7f3a");
    let lines = log.requests("trace-7f3a");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["target"], "bulwark::http");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/machines/{id}");
    assert_eq!(line["status"], 404);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert!(line["timestamp"].is_string(), "{line}");

    // Without one (or with one that is not usable) the server makes one up and returns it.
    for sent in [None, Some("two words")] {
        let mut request = reqwest::Client::new().get(format!("{}/healthz", app.base));
        if let Some(id) = sent {
            request = request.header("X-Request-Id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(!id.is_empty() && Some(id.as_str()) != sent, "{id}");
        let lines = log.requests(&id);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["route"], "/healthz");
        assert_eq!(lines[0]["status"], 200);
    }

    // A refused upload is logged once as well, with its status.
    let response = app
        .client
        .post(format!("{}/api/machines/web-01/inventory", app.base))
        .header("X-Request-Id", "ingest-1")
        .body("not an inventory")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    let lines = log.requests("ingest-1");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], response.status().as_u16());
    assert_eq!(lines[0]["route"], "/api/machines/{name}/inventory");
}
