//! Test support: a fake clock that sleeping advances, and a local feed server on 127.0.0.1 port 0 that
//! serves OSV archives, paged NVD responses, KEV and EPSS, answers conditional requests, and fails on
//! demand.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bulwark_sync::{Clock, Sleeper};
use chrono::{DateTime, Utc};

/// A clock that stands still until something sleeps on it; every sleep is recorded.
pub struct FakeTime {
    now: Mutex<DateTime<Utc>>,
    slept: Mutex<Vec<Duration>>,
}

impl FakeTime {
    pub fn at(rfc3339: &str) -> FakeTime {
        FakeTime {
            now: Mutex::new(time(rfc3339)),
            slept: Mutex::new(Vec::new()),
        }
    }

    pub fn set(&self, rfc3339: &str) {
        *self.now.lock().unwrap() = time(rfc3339);
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += chrono::Duration::from_std(by).unwrap();
    }

    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

impl Clock for FakeTime {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
}

impl Sleeper for FakeTime {
    fn sleep(
        &self,
        duration: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.slept.lock().unwrap().push(duration);
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}

pub fn time(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `osv/<eco>`, `nvd`, `kev`, `epss`.
    pub route: String,
    pub query: HashMap<String, String>,
    pub api_key: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub status: u16,
}

/// What the server serves; tests change it between runs.
#[derive(Default)]
pub struct Content {
    /// Archive bytes per OSV ecosystem name.
    pub osv: HashMap<String, Vec<u8>>,
    /// CVE ids NVD returns for any query, in order.
    pub cves: Vec<String>,
    /// The most records the fake NVD puts in one page, whatever `resultsPerPage` asks.
    pub nvd_page_max: usize,
    pub kev: Vec<u8>,
    pub epss: Vec<u8>,
    /// Whether KEV and EPSS carry validators (ETag, Last-Modified).
    pub no_validators: bool,
    /// Statuses to answer, per route, before serving normally (one per request; 0 serves normally).
    pub failures: HashMap<String, VecDeque<u16>>,
    /// Answer this route only after a delay.
    pub slow: Option<(String, Duration)>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub content: Arc<Mutex<Content>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self, route: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.route == route)
            .cloned()
            .collect()
    }

    pub fn fail(&self, route: &str, statuses: &[u16]) {
        self.content
            .lock()
            .unwrap()
            .failures
            .insert(route.to_string(), statuses.iter().copied().collect());
    }
}

#[derive(Clone)]
struct AppState {
    content: Arc<Mutex<Content>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub async fn start(content: Content) -> Server {
    let state = AppState {
        content: Arc::new(Mutex::new(content)),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let app = Router::new()
        .route("/osv/{eco}/all.zip", get(osv))
        .route("/nvd/cves/2.0", get(nvd))
        .route("/kev/known_exploited_vulnerabilities.json", get(kev))
        .route("/epss/epss_scores-current.csv.gz", get(epss))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        addr,
        content: state.content,
        seen: state.seen,
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Logs the request, waits if the route is slow, and answers a planned failure if one is due.
async fn before(
    state: &AppState,
    route: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<Response> {
    let (failure, delay) = {
        let mut content = state.content.lock().unwrap();
        let failure = content
            .failures
            .get_mut(route)
            .and_then(VecDeque::pop_front);
        let delay = content
            .slow
            .as_ref()
            .filter(|(r, _)| r == route)
            .map(|(_, d)| *d);
        (failure, delay)
    };
    // A planned 0 means "serve this request normally", so a failure can be aimed at a later request.
    let failure = failure.filter(|&s| s != 0);
    let status = failure.unwrap_or(200);
    state.seen.lock().unwrap().push(Seen {
        route: route.to_string(),
        query: query.clone(),
        api_key: header_text(headers, "apikey"),
        if_none_match: header_text(headers, "if-none-match"),
        if_modified_since: header_text(headers, "if-modified-since"),
        status,
    });
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    failure.map(|status| {
        let mut response =
            (StatusCode::from_u16(status).unwrap(), "planned failure").into_response();
        if status == 429 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "7".parse().unwrap());
        }
        response
    })
}

/// Serves `bytes` with an ETag (a hash of the bytes) and a Last-Modified, answering 304 to a matching
/// If-None-Match or If-Modified-Since.
fn file(bytes: Vec<u8>, headers: &HeaderMap, validators: bool) -> Response {
    if !validators {
        return bytes.into_response();
    }
    let etag = format!("\"{:x}\"", fnv(&bytes));
    let last_modified = "Wed, 01 May 2024 00:00:00 GMT";
    let matches_etag = header_text(headers, "if-none-match").is_some_and(|v| v == etag);
    let matches_date = header_text(headers, "if-none-match").is_none()
        && header_text(headers, "if-modified-since").is_some_and(|v| v == last_modified);
    let status = if matches_etag || matches_date {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let body = if status == StatusCode::OK {
        Body::from(bytes)
    } else {
        Body::empty()
    };
    Response::builder()
        .status(status)
        .header(header::ETAG, etag)
        .header(header::LAST_MODIFIED, last_modified)
        .body(body)
        .unwrap()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

async fn osv(
    State(state): State<AppState>,
    Path(eco): Path<String>,
    headers: HeaderMap,
) -> Response {
    let route = format!("osv/{eco}");
    if let Some(r) = before(&state, &route, &HashMap::new(), &headers).await {
        return r;
    }
    let bytes = state.content.lock().unwrap().osv.get(&eco).cloned();
    match bytes {
        Some(bytes) => file(bytes, &headers, true),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn kev(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = before(&state, "kev", &HashMap::new(), &headers).await {
        return r;
    }
    let (bytes, validators) = {
        let c = state.content.lock().unwrap();
        (c.kev.clone(), !c.no_validators)
    };
    file(bytes, &headers, validators)
}

async fn epss(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = before(&state, "epss", &HashMap::new(), &headers).await {
        return r;
    }
    let (bytes, validators) = {
        let c = state.content.lock().unwrap();
        (c.epss.clone(), !c.no_validators)
    };
    file(bytes, &headers, validators)
}

/// A fake CVE API 2.0: pages over `Content::cves`, at most `nvd_page_max` per page.
async fn nvd(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = before(&state, "nvd", &query, &headers).await {
        return r;
    }
    let content = state.content.lock().unwrap();
    let start: usize = query["startIndex"].parse().unwrap();
    let asked: usize = query["resultsPerPage"].parse().unwrap();
    let per_page = asked.min(content.nvd_page_max);
    let body = nvd_page(&content.cves, start, per_page);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The body the fake NVD returns for a page (to compare saved pages with).
pub fn nvd_page(all: &[String], start: usize, per_page: usize) -> Vec<u8> {
    let page: Vec<serde_json::Value> = all
        .iter()
        .skip(start)
        .take(per_page)
        .map(|id| serde_json::json!({ "cve": { "id": id, "lastModified": "2024-05-01T00:00:00.000" } }))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "resultsPerPage": page.len(),
        "startIndex": start,
        "totalResults": all.len(),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2024-05-01T00:00:00.000",
        "vulnerabilities": page,
    }))
    .unwrap()
}

/// Every file name under `dir`, relative, sorted (hidden ones included).
pub fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// A server that answers every connection with the same raw HTTP response (for what axum will not
/// send easily: a chunked body without a length, a broken page), then closes it.
pub async fn raw(response: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}
