//! The log output of the `bulwark` binary: human-readable text, or JSON lines for log collectors
//! (`--log-format json`). Built here, beside the request log it carries, so that the tests check the
//! exact output `bulwark serve` writes.
//!
//! A JSON line has the event's fields at the top level (`timestamp`, `level`, `target`, `message`, and
//! for the request log `method`, `route`, `status`, `latency_ms`, `request_id`), and lines logged while a
//! request is handled name it in `span` (`request_id`, `method`, `route`).

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The format a name gives: `text` or `json`.
    pub fn from_name(name: &str) -> Option<LogFormat> {
        match name {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// A subscriber writing the events `filter` lets through to `writer`, in `format`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}
