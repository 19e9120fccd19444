//! `/api/agent/report`: reports of the Linux agent (`bulwark agent`), authenticated by an agent token the
//! server was started with.
//!
//! Until Bulwark has users and per-device tokens, the agent tokens are shared secrets given to `serve`; a
//! server started without one refuses every report. Tokens are compared through their SHA-256 digests,
//! every configured token each time, so the time an answer takes says nothing about how much of a guess
//! was right.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use bulwark_core::agent::AgentReport;
use bulwark_engine::AgentIngestSummary;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::IngestSource;
use crate::openapi as doc;

/// The largest report accepted (a host with every npm and Python package imaginable stays far below).
pub const MAX_AGENT_REPORT_BYTES: usize = 64 * 1024 * 1024;

/// Receives an agent report: upserts the device by its host name, replaces its software with the
/// report's packages and recomputes its weaknesses.
#[utoipa::path(
    post,
    path = "/api/agent/report",
    tag = "machines",
    request_body(
        content = Object,
        content_type = "application/json",
        description = "The agent's report: `agentVersion`, `device` {name, os, osName, kernel, architecture}, \
                       `collectedAt`, `inventories` [{source, path, format, packages, notes}], `facts`, \
                       `skipped` [{source, path, reason}] (docs/agent.md; at most 64 MiB). Send it with \
                       `Authorization: Bearer TOKEN`, a token the server was started with (`--agent-token`)."
    ),
    responses(
        (status = 200, description = "What the ingest did", body = AgentIngestSummaryDoc),
        (status = 400, description = "Malformed report (the message names the JSON path)", body = ErrorBody),
        (status = 401, description = "No agent token configured, none given, or a wrong one", body = ErrorBody),
        (status = 413, description = "Report larger than 64 MiB", body = ErrorBody),
    )
)]
pub(crate) async fn receive_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<AgentIngestSummary>, ApiError> {
    authenticate(&state.agent_tokens, &headers)?;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the agent report exceeds the limit of {MAX_AGENT_REPORT_BYTES} bytes"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_AGENT_REPORT_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_AGENT_REPORT_BYTES)
        .await
        .map_err(|e| {
            let mut source = std::error::Error::source(&e);
            while let Some(error) = source {
                if error.is::<http_body_util::LengthLimitError>() {
                    return too_large();
                }
                source = error.source();
            }
            ApiError::BadRequest(format!("could not read the request body: {e}"))
        })?;
    let report = parse_report(&bytes)?;
    let summary = state.engine.ingest_agent_report(report).await?;
    state
        .metrics
        .record_ingest(IngestSource::Agent, &summary.ingest);
    Ok(Json(summary))
}

/// Checks `Authorization: Bearer TOKEN` against the configured agent tokens.
fn authenticate(tokens: &[String], headers: &HeaderMap) -> Result<(), ApiError> {
    if tokens.is_empty() {
        return Err(ApiError::Unauthorized(
            "this server accepts no agent reports: start it with `bulwark serve --agent-token TOKEN` \
             (or BULWARK_AGENT_TOKEN) and run the agent with the same token"
                .into(),
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "missing `Authorization: Bearer TOKEN`: give the agent the token the server was started \
                 with (--token or BULWARK_AGENT_TOKEN)"
                    .into(),
            )
        })?;
    if !token_matches(tokens, given) {
        return Err(ApiError::Unauthorized(
            "the agent token is not one this server was started with".into(),
        ));
    }
    Ok(())
}

/// True when `given` is one of `tokens`; compares digests, every token, without an early exit.
fn token_matches(tokens: &[String], given: &str) -> bool {
    let given = Sha256::digest(given.as_bytes());
    tokens.iter().fold(false, |found, token| {
        let expected = Sha256::digest(token.as_bytes());
        let difference = expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        found | (difference == 0)
    })
}

/// Decodes the report; the error names the JSON path of the first problem.
fn parse_report(bytes: &[u8]) -> Result<AgentReport, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let report: AgentReport = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequest(format!(
            "malformed agent report at {}: {}",
            if path == "." { "the top level" } else { &path },
            e.inner()
        ))
    })?;
    deserializer.end().map_err(|e| {
        ApiError::BadRequest(format!("malformed agent report after the JSON value: {e}"))
    })?;
    Ok(report)
}

/// The schema of [`AgentIngestSummary`]: the ingest summary and what the report contributed.
// Only the derived schema reads the fields; the engine's type is what is served.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = AgentIngestSummary)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentIngestSummaryDoc {
    /// The software ingest.
    #[serde(flatten)]
    pub ingest: doc::IngestSummary,
    /// The packages each inventory of the report contributed.
    pub inventories: Vec<InventoryCountDoc>,
    /// How many sources the agent reported it skipped.
    pub skipped: u64,
    /// The configuration facts, when the report carried them.
    pub facts: Option<FactsReceivedDoc>,
}

/// One inventory of a report.
// Only the derived schema reads the fields; the engine's type is what is served.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = AgentInventoryCount)]
pub(crate) struct InventoryCountDoc {
    /// `dpkg`, `rpm`, `apk`, `python` or `npm`.
    pub source: String,
    /// Where on the host it was read.
    pub path: String,
    /// Its packages.
    pub packages: u64,
}

/// The configuration facts of a report.
// Only the derived schema reads the fields; the engine's type is what is served.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = AgentFactsReceived)]
pub(crate) struct FactsReceivedDoc {
    /// The configuration checks evaluated over the facts (stored as the device's `bulwark` results).
    pub checks: u64,
    /// Checks that pass.
    pub passed: u64,
    /// Checks that fail.
    pub failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().expect("header value"));
        headers
    }

    #[test]
    fn tokens() {
        let tokens = vec!["first-secret".to_string(), "second-secret".to_string()];
        let outcome = |tokens: &[String], headers: &HeaderMap| match authenticate(tokens, headers) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("{} {e}", e.status().as_u16()),
        };
        assert_eq!(outcome(&tokens, &bearer("Bearer second-secret")), "ok");
        assert_eq!(outcome(&tokens, &bearer("bearer  first-secret ")), "ok");
        assert!(
            outcome(&tokens, &bearer("Bearer first")).starts_with("401 the agent token is not")
        );
        assert!(outcome(&tokens, &bearer("Basic Zmlyc3Q=")).starts_with("401 missing"));
        assert!(outcome(&tokens, &HeaderMap::new()).starts_with("401 missing"));
        assert!(
            outcome(&[], &bearer("Bearer first-secret"))
                .starts_with("401 this server accepts no agent reports")
        );
    }

    #[test]
    fn malformed_reports_name_the_path() {
        let message = |json: &str| match parse_report(json.as_bytes()) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            message(r#"{"agentVersion": "1", "device": {"name": 7}}"#),
            "malformed agent report at device.name: invalid type: integer `7`, expected a string at line 1 column 42"
        );
        assert_eq!(
            message("\"text\""),
            "malformed agent report at the top level: invalid type: string \"text\", expected struct AgentReport at line 1 column 6"
        );
        assert!(
            message("{} {}").starts_with("malformed agent report at the top level: missing field")
        );
    }
}
