//! Sending a report: `POST {server}/api/agent/report` with the agent token, retried while the server is
//! unreachable or overloaded, with errors that name the URL and the server's answer.

use std::time::Duration;

use bulwark_core::agent::AgentReport;
use reqwest::StatusCode;

/// The path the server receives reports on.
pub const REPORT_PATH: &str = "/api/agent/report";

/// How a report is sent.
#[derive(Debug, Clone)]
pub struct PostOptions {
    /// How many times to try in all (at least once).
    pub attempts: u32,
    /// The wait before the second attempt; it doubles for each further one.
    pub first_backoff: Duration,
    /// The time limit of one attempt, from connecting to the end of the answer.
    pub timeout: Duration,
}

impl Default for PostOptions {
    fn default() -> PostOptions {
        PostOptions {
            attempts: 4,
            first_backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Why a report was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The server URL is not an `http://` or `https://` URL.
    #[error("invalid server URL {url:?}: {message}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The report could not be encoded as JSON.
    #[error("the report could not be encoded as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// The HTTP client could not be built (no TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// No answer, after every attempt.
    #[error("POST {url} failed after {attempts} attempts: {source}")]
    Unreachable {
        /// The report URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status (after every attempt, for 5xx and 429).
    #[error("POST {url} answered {status}: {message}")]
    Rejected {
        /// The report URL.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The server's error message (its `error.message`), or the start of the body.
        message: String,
    },
}

/// Posts `report` to the Bulwark server at `server` (`https://bulwark.example:8080`, with or without a
/// trailing slash or a path prefix) with `Authorization: Bearer {token}`; returns the server's JSON answer
/// (the ingest summary). Connection failures, 5xx and 429 answers are retried; other answers are final.
pub async fn post(
    report: &AgentReport,
    server: &str,
    token: &str,
    options: &PostOptions,
) -> Result<serde_json::Value, PostError> {
    let url = report_url(server)?;
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .user_agent(concat!("bulwark-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(PostError::Client)?;
    let body = serde_json::to_vec(report).map_err(PostError::Encode)?;
    let attempts = options.attempts.max(1);
    let mut backoff = options.first_backoff;
    let mut attempt = 1;
    loop {
        let sent = client
            .post(url.clone())
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        let retryable = match sent {
            Ok(response) if response.status().is_success() => {
                let status = response.status();
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|source| PostError::Unreachable {
                        url: url.to_string(),
                        attempts: attempt,
                        source,
                    })?;
                return serde_json::from_slice(&bytes).map_err(|_| PostError::Rejected {
                    url: url.to_string(),
                    status,
                    message: format!("the answer is not JSON: {}", excerpt(&bytes)),
                });
            }
            Ok(response) => {
                let status = response.status();
                let bytes = response.bytes().await.unwrap_or_default();
                let error = PostError::Rejected {
                    url: url.to_string(),
                    status,
                    message: error_message(&bytes),
                };
                if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                    return Err(error);
                }
                error
            }
            Err(source) => PostError::Unreachable {
                url: url.to_string(),
                attempts: attempt,
                source,
            },
        };
        if attempt >= attempts {
            return Err(match retryable {
                PostError::Unreachable { url, source, .. } => PostError::Unreachable {
                    url,
                    attempts: attempt,
                    source,
                },
                other => other,
            });
        }
        tracing::warn!(error = %retryable, attempt, "report not delivered; retrying in {backoff:?}");
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2);
        attempt += 1;
    }
}

/// `{server}/api/agent/report`, keeping a path prefix the server is mounted under.
pub fn report_url(server: &str) -> Result<reqwest::Url, PostError> {
    let invalid = |message: &str| PostError::InvalidUrl {
        url: server.to_string(),
        message: message.to_string(),
    };
    let base = reqwest::Url::parse(server.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(invalid("the server URL takes no query or fragment"));
    }
    let mut url = base.clone();
    url.set_path(&format!(
        "{}{REPORT_PATH}",
        base.path().trim_end_matches('/')
    ));
    Ok(url)
}

/// The `error.message` of the server's error body, or the start of whatever it sent.
fn error_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| excerpt(bytes))
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_urls() {
        let check = |server: &str, expected: &str| {
            let got = match report_url(server) {
                Ok(url) => url.to_string(),
                Err(e) => e.to_string(),
            };
            assert_eq!(got, expected, "{server}");
        };
        check(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/api/agent/report",
        );
        check(
            "https://bulwark.example/",
            "https://bulwark.example/api/agent/report",
        );
        check(
            "https://example.org/bulwark/",
            "https://example.org/bulwark/api/agent/report",
        );
        check(
            "ftp://example.org",
            "invalid server URL \"ftp://example.org\": the scheme must be http or https",
        );
        check(
            "example.org:8080",
            "invalid server URL \"example.org:8080\": the scheme must be http or https",
        );
        check(
            "bulwark",
            "invalid server URL \"bulwark\": relative URL without a base",
        );
        check(
            "http://h/?a=1",
            "invalid server URL \"http://h/?a=1\": the server URL takes no query or fragment",
        );
    }

    #[test]
    fn error_messages_come_from_the_error_body() {
        assert_eq!(
            error_message(br#"{"error": {"code": "Unauthorized", "message": "wrong token"}}"#),
            "wrong token"
        );
        assert_eq!(
            error_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(excerpt("é".repeat(300).as_bytes()).chars().count(), 201);
    }
}
