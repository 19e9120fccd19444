//! The server's Prometheus metrics, served at `GET /metrics` in the Prometheus text exposition format
//! (version 0.0.4): HTTP request latency, ingests and their matches, background job runs, the database
//! pools and the change sequence the in-memory state was loaded at.
//!
//! The recorder is `metrics-exporter-prometheus`'s, built with `build_recorder` and owned by
//! [`Metrics`], which travels in `AppState`: it is never installed as the process-wide recorder, so
//! two servers in one process (as in the tests) count separately. Handles are registered through the
//! `metrics::Recorder` trait with the labels of the moment; the recorder keeps one series per label
//! set, so every label here takes values from a small fixed set (a route template, never a path).
//!
//! Counting happens where the numbers already are: the middleware times requests, the ingest handlers
//! hand over the summary the engine returned, the job loop reports each run. Pool and change-sequence
//! gauges are read when `/metrics` is scraped.

use std::time::Duration;

use axum::http::StatusCode;
use metrics::{Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use bulwark_engine::{ChangeSequence, IngestSummary, PoolStatus};

/// The request latency histogram: seconds, labelled `method`, `route` (the matched template) and
/// `status` (`2xx` … `5xx`).
pub const HTTP_REQUEST_DURATION: &str = "bulwark_http_request_duration_seconds";
/// Inventories ingested, labelled `source` (`api` uploads, `agent` reports).
pub const INVENTORIES_INGESTED: &str = "bulwark_inventories_ingested_total";
/// Package rows in the ingested inventories, labelled `source`.
pub const INVENTORY_PACKAGES: &str = "bulwark_inventory_packages_total";
/// Matching runs (one per ingested device), labelled `source`.
pub const MATCHING_RUNS: &str = "bulwark_matching_runs_total";
/// Weaknesses the matching runs found that were not open before, labelled `source`.
pub const WEAKNESSES_OPENED: &str = "bulwark_weaknesses_opened_total";
/// Weaknesses the matching runs no longer found, labelled `source`.
pub const WEAKNESSES_RESOLVED: &str = "bulwark_weaknesses_resolved_total";
/// Background job runs, labelled `job` and `outcome` (see [`JobOutcome`]).
pub const JOB_RUNS: &str = "bulwark_job_runs_total";
/// Connections a database pool holds open, labelled `pool`.
pub const DB_POOL_SIZE: &str = "bulwark_db_pool_connections";
/// Open connections a pool is not using, labelled `pool`.
pub const DB_POOL_IDLE: &str = "bulwark_db_pool_idle_connections";
/// The most connections a pool opens, labelled `pool`.
pub const DB_POOL_MAX: &str = "bulwark_db_pool_max_connections";
/// The change sequence the in-memory state was loaded at, labelled `kind` (`advisories`, `threat`,
/// `fleet`; the fleet is 0 until a read first loads it):
/// replicas that show the same values hold the same state.
pub const STATE_LOADED_SEQUENCE: &str = "bulwark_state_loaded_sequence";

/// Latency bucket bounds in seconds: from a cached read to a large inventory upload.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How a background job run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// It ran and succeeded.
    Ok,
    /// It ran and failed (the error is logged).
    Failed,
    /// Another process holds its lease, so this one did not run it.
    Skipped,
}

impl JobOutcome {
    /// The `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Ok => "ok",
            JobOutcome::Failed => "failed",
            JobOutcome::Skipped => "skipped",
        }
    }
}

/// Where an ingested inventory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestSource {
    /// `POST /api/machines/{name}/inventory`.
    Api,
    /// `POST /api/agent/report`.
    Agent,
}

impl IngestSource {
    /// The `source` label.
    pub fn as_str(self) -> &'static str {
        match self {
            IngestSource::Api => "api",
            IngestSource::Agent => "agent",
        }
    }
}

/// The metric registry of one server: its recorder and the handle that renders it.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The metadata every handle is registered with (the Prometheus recorder ignores it).
static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

impl Metrics {
    /// A registry with every metric described and no sample yet.
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HTTP_REQUEST_DURATION.to_string()),
                &LATENCY_BUCKETS,
            )
            .unwrap_or_else(|_| unreachable!("the bucket list is not empty"))
            .build_recorder();
        let handle = recorder.handle();
        let descriptions: [(&'static str, Option<Unit>, &'static str); 12] = [
            (
                HTTP_REQUEST_DURATION,
                Some(Unit::Seconds),
                "HTTP requests by method, matched route template and status class",
            ),
            (
                INVENTORIES_INGESTED,
                Some(Unit::Count),
                "Inventories ingested",
            ),
            (
                INVENTORY_PACKAGES,
                Some(Unit::Count),
                "Package rows in the ingested inventories",
            ),
            (
                MATCHING_RUNS,
                Some(Unit::Count),
                "Matching runs of one device's software against the advisories",
            ),
            (
                WEAKNESSES_OPENED,
                Some(Unit::Count),
                "Weaknesses newly found by matching runs",
            ),
            (
                WEAKNESSES_RESOLVED,
                Some(Unit::Count),
                "Weaknesses matching runs no longer found",
            ),
            (
                JOB_RUNS,
                Some(Unit::Count),
                "Background job runs by job and outcome (skipped: another process holds the lease)",
            ),
            (
                DB_POOL_SIZE,
                Some(Unit::Count),
                "Database connections the pool holds open",
            ),
            (
                DB_POOL_IDLE,
                Some(Unit::Count),
                "Open database connections not in use",
            ),
            (
                DB_POOL_MAX,
                Some(Unit::Count),
                "The most connections the pool opens",
            ),
            (
                STATE_LOADED_SEQUENCE,
                None,
                "The change sequence the in-memory advisory index, threat context and fleet snapshot were loaded at",
            ),
            (
                "bulwark_build_info",
                None,
                "Always 1; the version label names the running build",
            ),
        ];
        for (name, unit, help) in descriptions {
            match name {
                HTTP_REQUEST_DURATION => {
                    recorder.describe_histogram(name.into(), unit, help.into())
                }
                DB_POOL_SIZE
                | DB_POOL_IDLE
                | DB_POOL_MAX
                | STATE_LOADED_SEQUENCE
                | "bulwark_build_info" => recorder.describe_gauge(name.into(), unit, help.into()),
                _ => recorder.describe_counter(name.into(), unit, help.into()),
            }
        }
        let metrics = Metrics { recorder, handle };
        // Ingest series exist from the start at 0, so that rates are defined before the first ingest.
        for source in [IngestSource::Api, IngestSource::Agent] {
            for name in [
                INVENTORIES_INGESTED,
                INVENTORY_PACKAGES,
                MATCHING_RUNS,
                WEAKNESSES_OPENED,
                WEAKNESSES_RESOLVED,
            ] {
                metrics
                    .counter(name, vec![Label::new("source", source.as_str())])
                    .increment(0);
            }
        }
        metrics
            .gauge(
                "bulwark_build_info",
                vec![Label::new("version", env!("CARGO_PKG_VERSION"))],
            )
            .set(1.0);
        metrics
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> metrics::Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> metrics::Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    /// Records one answered request: its method, the route template it matched (`unmatched` when
    /// none did), its status and how long it took.
    pub fn observe_request(
        &self,
        method: &str,
        route: &str,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let labels = vec![
            Label::new("method", method.to_string()),
            Label::new("route", route.to_string()),
            Label::new("status", status_class(status)),
        ];
        self.recorder
            .register_histogram(&Key::from_parts(HTTP_REQUEST_DURATION, labels), &METADATA)
            .record(elapsed.as_secs_f64());
    }

    /// Records one ingest and the matching run it made, from the summary the engine returned.
    pub fn record_ingest(&self, source: IngestSource, summary: &IngestSummary) {
        let labels = || vec![Label::new("source", source.as_str())];
        self.counter(INVENTORIES_INGESTED, labels()).increment(1);
        self.counter(INVENTORY_PACKAGES, labels())
            .increment(summary.packages);
        self.counter(MATCHING_RUNS, labels()).increment(1);
        self.counter(WEAKNESSES_OPENED, labels())
            .increment(summary.opened);
        self.counter(WEAKNESSES_RESOLVED, labels())
            .increment(summary.resolved);
    }

    /// Records one run of a background job.
    pub fn record_job(&self, job: &'static str, outcome: JobOutcome) {
        let labels = vec![
            Label::new("job", job),
            Label::new("outcome", outcome.as_str()),
        ];
        self.counter(JOB_RUNS, labels).increment(1);
    }

    /// The exposition text: the gauges set from `pools` and `loaded` first, then every series.
    pub fn render(&self, pools: &[PoolStatus], loaded: ChangeSequence) -> String {
        for pool in pools {
            let labels = || vec![Label::new("pool", pool.pool)];
            self.gauge(DB_POOL_SIZE, labels()).set(pool.size);
            self.gauge(DB_POOL_IDLE, labels()).set(pool.idle);
            self.gauge(DB_POOL_MAX, labels()).set(pool.max);
        }
        for (kind, seq) in [
            ("advisories", loaded.advisories),
            ("threat", loaded.threat),
            ("fleet", loaded.fleet),
        ] {
            // A gauge holds an f64, exact for every count below 2^53.
            self.gauge(STATE_LOADED_SEQUENCE, vec![Label::new("kind", kind)])
                .set(seq as f64);
        }
        // Publishes the descriptions and moves the latest samples into the histograms.
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Moves recorded latencies into the histograms, so that their memory stays bounded between
    /// scrapes (or without any); the server runs it every few seconds.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// `2xx`, `4xx`, …: the `status` label, five values at most.
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        for (code, class) in [
            (101, "1xx"),
            (200, "2xx"),
            (304, "3xx"),
            (404, "4xx"),
            (503, "5xx"),
        ] {
            assert_eq!(status_class(StatusCode::from_u16(code).unwrap()), class);
        }
    }

    #[test]
    fn two_registries_count_separately() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.record_job("daily-scores", JobOutcome::Ok);
        let text = |m: &Metrics| m.render(&[], ChangeSequence::default());
        assert!(
            text(&a).contains("bulwark_job_runs_total{job=\"daily-scores\",outcome=\"ok\"} 1"),
            "{}",
            text(&a)
        );
        assert!(
            !text(&b).contains("bulwark_job_runs_total{"),
            "{}",
            text(&b)
        );
    }
}
