//! `/healthz` and `/readyz` for load balancers and orchestrators: the process is up; the database is
//! reachable (its migrations were applied when the engine opened it, and the advisory index and threat
//! context were loaded then). Both answer without a token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// The answer of a health probe.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok`, `ready` or `unavailable`.
    status: String,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses((status = 200, description = "The process is up", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        reason: None,
    })
}

/// The process can serve: the database answers (the engine applied the migrations and loaded its
/// in-memory state when it opened).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.engine.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
                reason: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness probe: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                    reason: Some("the database does not answer".into()),
                }),
            )
        }
    }
}
