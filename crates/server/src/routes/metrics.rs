//! `GET /metrics`: the server's Prometheus metrics in the text exposition format, for a Prometheus
//! scraper. Like the health probes it answers without a token: it holds counts, route templates and
//! pool sizes, never a device, package or user name (restrict it at the proxy if even that is too much).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

/// The content type of the Prometheus text exposition format, version 0.0.4.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The server's metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses((
        status = 200,
        description = "The metrics, in the Prometheus text exposition format 0.0.4",
        body = String,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    ))
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.metrics.render(
        &state.engine.store().pool_status(),
        state.engine.loaded_changes(),
    );
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}
