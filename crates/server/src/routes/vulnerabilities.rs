//! `/api/vulnerabilities`: vulnerabilities open in the fleet, and the machines exposed to each.

use axum::Json;
use axum::extract::State;

use bulwark_core::recommendation::VulnerabilitySummary;
use bulwark_engine::MachineView;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::listing::{self, Collection};
use crate::openapi::{self as doc, List};
use crate::routes::{ApiPath, ListQuery};

/// Lists the vulnerabilities open on at least one machine.
#[utoipa::path(
    get,
    path = "/api/vulnerabilities",
    tag = "vulnerabilities",
    params(ListQuery),
    responses(
        (status = 200, description = "Vulnerabilities, most severe first", body = List<doc::Vulnerability>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn list_vulnerabilities(
    State(state): State<AppState>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<VulnerabilitySummary>(query)?;
    query.apply(state.engine.vulnerabilities().await?)
}

/// Gets one vulnerability by its id, an alias or an advisory id; known even when no machine is exposed.
#[utoipa::path(
    get,
    path = "/api/vulnerabilities/{id}",
    tag = "vulnerabilities",
    params(("id" = String, Path, description = "Vulnerability id, alias or advisory id")),
    responses(
        (status = 200, description = "The vulnerability", body = doc::Vulnerability),
        (status = 404, description = "No such vulnerability", body = ErrorBody),
    )
)]
pub(crate) async fn get_vulnerability(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VulnerabilitySummary>, ApiError> {
    Ok(Json(state.engine.vulnerability(&id).await?))
}

/// Lists the machines exposed to a vulnerability.
#[utoipa::path(
    get,
    path = "/api/vulnerabilities/{id}/machines",
    tag = "vulnerabilities",
    params(("id" = String, Path, description = "Vulnerability id, alias or advisory id"), ListQuery),
    responses(
        (status = 200, description = "Exposed machines", body = List<doc::Machine>),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 404, description = "No such vulnerability", body = ErrorBody),
    )
)]
pub(crate) async fn list_vulnerability_machines(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<MachineView>(query)?;
    query.apply(state.engine.vulnerability_machines(&id).await?)
}
