//! The middleware every request passes first: it gives the request an id (the client's `X-Request-Id`
//! when it sends a usable one, else a new one) and echoes it in the response, runs the request inside a
//! `request` span carrying that id (so every log line the request causes names it), and when the
//! response is ready logs the request once and records its latency in the metrics.
//!
//! The route is the template the router matched (`/api/machines/{id}`), never the raw path: one series
//! per route in the metrics, and no identifiers from paths in the log's `route` field.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::Metrics;

/// The header a request id travels in, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The `route` of a request no route matched (an unknown path).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The longest client-given request id accepted; a longer one is replaced.
const MAX_REQUEST_ID: usize = 128;

/// The tracing target of the request log line, for filters (`BULWARK_LOG=bulwark::http=info`).
pub const REQUEST_LOG_TARGET: &str = "bulwark::http";

/// The middleware (see the module documentation).
pub(crate) async fn observe(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| usable_id(v))
        .map_or_else(new_request_id, str::to_string);
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_string();
    // Handlers and the logs see the id the response carries, whether the client sent it or not.
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let span = tracing::info_span!("request", request_id = %id, %method, %route);
    let mut response = next.run(request).instrument(span).await;
    let elapsed = started.elapsed();
    let status = response.status();
    metrics.observe_request(&method, &route, status, elapsed);
    tracing::info!(
        target: REQUEST_LOG_TARGET,
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Whether a client's request id may be used as given: short, and visible ASCII only, so that it
/// cannot forge log lines or break the header it is echoed in.
fn usable_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A new request id: this process's random 64-bit prefix and a counter, unique across replicas
/// (the prefixes differ) and within a process (the counter), and cheaper than a UUID's randomness
/// per request.
fn new_request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(random_u64);
    format!("{prefix:016x}-{:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// 64 random bits from the standard library's per-process hash seed (itself from the OS), which is
/// all a request id prefix needs; no cryptographic use.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_used_only_when_harmless() {
        for (id, usable) in [
            ("abc-123", true),
            ("3f2c9a1e-0b7d-4c55-9e1a-7d2f7c1b9e10", true),
            ("", false),
            ("two words", false),
            ("line\nbreak", false),
            ("ünïcode", false),
        ] {
            assert_eq!(usable_id(id), usable, "{id:?}");
        }
        assert!(!usable_id(&"x".repeat(MAX_REQUEST_ID + 1)));
    }

    #[test]
    fn new_ids_differ_and_are_usable() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        assert!(usable_id(&a), "{a}");
        assert_eq!(a.split('-').next(), b.split('-').next());
    }
}
