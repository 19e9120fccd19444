//! Bulwark's HTTP server: the JSON API, with MDVM's field names, and its OpenAPI 3.1 document.
//!
//! Handlers are thin: they extract, call the [`Engine`], and shape the response. The list endpoints share
//! one query language ([`odata`]) applied to the items' JSON. Every error leaves as one JSON shape
//! ([`error::ApiError`]). Every request passes [`observe`] first (request id, one log line, latency in
//! [`metrics`], served at `/metrics`).
//!
//! Architecture invariant: the router and the OpenAPI document are built from the same route list
//! (`routes::api`), so the document describes exactly the routes that are served.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::DefaultBodyLimit;

use bulwark_engine::Engine;

use crate::metrics::JobOutcome;

pub mod auth;
pub mod console;
pub mod error;
mod listing;
pub mod logging;
pub mod metrics;
pub mod observe;
pub mod odata;
pub mod openapi;
mod routes;
pub mod views;

/// What every handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The application services.
    pub engine: Arc<Engine>,
    /// This server's Prometheus metrics (its own registry, never a process-wide one).
    pub metrics: Arc<metrics::Metrics>,
    /// The tokens agents authenticate their reports with; none means reports are refused.
    pub agent_tokens: Vec<String>,
    /// Failed console sign-ins, for rate limiting (per process).
    pub login_limiter: Arc<console::session::LoginLimiter>,
    /// How often the exception, activity and webhook jobs run ([`REMEDIATION_CHECK`] unless
    /// [`AppState::with_job_interval`] says otherwise); their lease lasts three runs.
    pub job_interval: std::time::Duration,
}

impl AppState {
    /// The state over an engine, accepting no agent reports.
    pub fn new(engine: Arc<Engine>) -> AppState {
        AppState {
            engine,
            metrics: Arc::default(),
            agent_tokens: Vec::new(),
            login_limiter: Arc::default(),
            job_interval: REMEDIATION_CHECK,
        }
    }

    /// Runs the exception, activity and webhook jobs every `interval` instead of every
    /// [`REMEDIATION_CHECK`]: a short one makes expiries and lease take-overs visible within
    /// seconds (tests, demos); the jobs cost a few reads per run.
    pub fn with_job_interval(self, interval: std::time::Duration) -> AppState {
        AppState {
            job_interval: interval,
            ..self
        }
    }

    /// Accepts agent reports authenticated with any of `tokens`.
    pub fn with_agent_tokens(self, tokens: Vec<String>) -> AppState {
        AppState {
            agent_tokens: tokens,
            ..self
        }
    }
}

/// The largest request body accepted: the largest inventory the formats layer reads.
pub const MAX_BODY_BYTES: usize = bulwark_formats::inventory::MAX_INVENTORY_BYTES as usize;

/// One route the API serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiRoute {
    /// The HTTP method, upper-case.
    pub method: &'static str,
    /// The path template, with `{param}` placeholders.
    pub path: String,
}

/// The API router, with the JSON fallbacks for unknown paths and methods under `/api`, and the web
/// console with its HTML 404 everywhere else.
pub fn router(state: AppState) -> Router {
    let (router, doc) = routes::api().split_for_parts();
    router
        .merge(console::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(Extension(Arc::new(doc)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Outermost, after routing: every request, refused ones too, is timed, logged and counted
        // under the route it matched.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            observe::observe,
        ))
        .with_state(state)
}

/// The 404 of a path nothing serves: JSON under `/api`, a page elsewhere.
async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") || uri.path() == "/api" {
        axum::response::IntoResponse::into_response(error::no_route(method, uri).await)
    } else {
        console::no_page().await
    }
}

/// The OpenAPI 3.1 document that `GET /api/openapi.json` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api().into_openapi()
}

/// Every route the router serves, from its definition.
pub fn routes() -> Vec<ApiRoute> {
    let mut out = Vec::new();
    for (path, item) in openapi().paths.paths {
        let methods = [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("OPTIONS", &item.options),
            ("HEAD", &item.head),
            ("PATCH", &item.patch),
            ("TRACE", &item.trace),
        ];
        for (method, operation) in methods {
            if operation.is_some() {
                out.push(ApiRoute {
                    method,
                    path: path.clone(),
                });
            }
        }
    }
    out.sort();
    out
}

/// Serves the API on `listener` until Ctrl-C or SIGTERM, then finishes the requests in flight.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving the API");
    }
    let daily = tokio::spawn(daily_scores(state.engine.clone(), state.metrics.clone()));
    let remediation = tokio::spawn(remediation_jobs(
        state.engine.clone(),
        state.metrics.clone(),
        state.job_interval,
    ));
    let changes = tokio::spawn(follow_changes(state.engine.clone()));
    let upkeep = tokio::spawn(metrics_upkeep(state.metrics.clone()));
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    daily.abort();
    remediation.abort();
    changes.abort();
    upkeep.abort();
    served
}

/// How often the exception and activity jobs run by default.
pub const REMEDIATION_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// The exception job (records expiries, announces upcoming ones, resurfacing), the activity job
/// (automatic completion, retention) and the webhook deliveries due, every `interval`.
/// They run in the one process that holds their lease (replicas share a database); each transition
/// is also recorded once, should two runs ever overlap. Failures are logged and retried at the next run.
async fn remediation_jobs(
    engine: Arc<Engine>,
    metrics: Arc<metrics::Metrics>,
    interval: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        if !holds_lease(&engine, "remediation", interval).await {
            for job in ["exceptions", "activities", "webhooks"] {
                metrics.record_job(job, JobOutcome::Skipped);
            }
            continue;
        }
        let exceptions = engine.run_exception_job().await;
        metrics.record_job("exceptions", outcome(&exceptions));
        match exceptions {
            Ok(report) if !report.expired.is_empty() || !report.resurfaced.is_empty() => {
                tracing::info!(?report, "exception job")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "exception job failed"),
        }
        let activities = engine.run_task_job().await;
        metrics.record_job("activities", outcome(&activities));
        match activities {
            Ok((completed, purged)) if !completed.is_empty() || purged > 0 => {
                tracing::info!(?completed, purged, "remediation activity job")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "remediation activity job failed"),
        }
        let deliveries = engine.deliver_due().await;
        metrics.record_job("webhooks", outcome(&deliveries));
        match deliveries {
            Ok(report) if !report.retrying.is_empty() || !report.given_up.is_empty() => {
                tracing::warn!(?report, "webhook deliveries failed")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "webhook delivery failed"),
        }
    }
}

/// Whether this process holds (takes or renews) the lease of a job that runs every `interval`: the
/// lease lasts three intervals, so a live holder keeps it and another process takes over within three
/// intervals of the holder's death. A lease that cannot be asked for is logged and counts as not held.
async fn holds_lease(engine: &Engine, job: &str, interval: std::time::Duration) -> bool {
    let ttl = chrono::Duration::from_std(interval * 3).unwrap_or(chrono::Duration::hours(1));
    match engine.lease(job, ttl).await {
        Ok(held) => held,
        Err(e) => {
            tracing::error!(error = %e, job, "cannot take the job's lease");
            false
        }
    }
}

/// How often the daily-snapshot job looks whether a day has passed since the last snapshot.
const DAILY_CHECK: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The daily score snapshot: every [`DAILY_CHECK`], records the scores unless a snapshot is less than a
/// day old (changes record their own). Failures are logged and retried at the next check.
async fn daily_scores(engine: Arc<Engine>, metrics: Arc<metrics::Metrics>) {
    let mut ticks = tokio::time::interval(DAILY_CHECK);
    loop {
        ticks.tick().await;
        if !holds_lease(&engine, "daily-scores", DAILY_CHECK).await {
            metrics.record_job("daily-scores", JobOutcome::Skipped);
            continue;
        }
        let recorded = engine.record_daily_scores().await;
        metrics.record_job("daily-scores", outcome(&recorded));
        match recorded {
            Ok(true) => tracing::info!("recorded the daily score snapshot"),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "daily score snapshot failed"),
        }
    }
}

/// The outcome label of a job run's result.
fn outcome<T, E>(result: &Result<T, E>) -> JobOutcome {
    match result {
        Ok(_) => JobOutcome::Ok,
        Err(_) => JobOutcome::Failed,
    }
}

/// How often a server looks whether another process changed the state engines keep in memory.
const CHANGES_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Every [`CHANGES_CHECK`], brings the engine's in-memory state — the index, the threat context and
/// the fleet snapshot — up to what is stored (one small read each when nothing changed), so that a
/// change made through another process is rebuilt here off the request path; reads check again themselves, so none waits for this loop to see a change.
/// Failures are logged and retried at the next check.
async fn follow_changes(engine: Arc<Engine>) {
    let mut ticks = tokio::time::interval(CHANGES_CHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match engine.follow_changes().await {
            Ok(true) => tracing::info!(
                loaded = ?engine.loaded_changes(),
                "reloaded what another process changed"
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot bring the in-memory state up to date"),
        }
    }
}

/// How often recorded latencies are folded into the histograms when nobody scrapes.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the metrics' memory bounded between scrapes (see [`metrics::Metrics::upkeep`]).
async fn metrics_upkeep(metrics: Arc<metrics::Metrics>) {
    let mut ticks = tokio::time::interval(METRICS_UPKEEP);
    loop {
        ticks.tick().await;
        metrics.upkeep();
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM. A signal that cannot be listened to is logged and ignored.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
