//! `/api/recommendations`: security recommendations, and the machines, vulnerabilities and software
//! each one is about.

use axum::Json;
use axum::extract::State;

use bulwark_core::recommendation::{Recommendation, VulnerabilitySummary};
use bulwark_engine::{MachineView, SoftwareView};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::listing::{self, Collection};
use crate::openapi::{self as doc, List};
use crate::routes::{ApiPath, ListQuery};

/// Lists security recommendations. Those in status `Exception` are hidden unless the query names
/// `status` (`?status=Exception`, `$filter=status eq 'Exception'`).
#[utoipa::path(
    get,
    path = "/api/recommendations",
    tag = "recommendations",
    params(ListQuery),
    responses(
        (status = 200, description = "Recommendations, most severe first", body = List<doc::Recommendation>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn list_recommendations(
    State(state): State<AppState>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    // The default list hides recommendations that exceptions cover entirely; naming `status` in a
    // plain parameter or in `$filter` shows whatever the query selects.
    let names_status = listing::names_field(&query, "status");
    let query = listing::check::<Recommendation>(query)?;
    let mut items = state.engine.recommendations().await?;
    if !names_status {
        items.retain(|r| r.status != "Exception");
    }
    query.apply(items)
}

/// Gets one security recommendation.
#[utoipa::path(
    get,
    path = "/api/recommendations/{id}",
    tag = "recommendations",
    params(("id" = String, Path, description = "Recommendation id")),
    responses(
        (status = 200, description = "The recommendation", body = doc::Recommendation),
        (status = 404, description = "No such recommendation", body = ErrorBody),
    )
)]
pub(crate) async fn get_recommendation(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Recommendation>, ApiError> {
    Ok(Json(state.engine.recommendation(&id).await?))
}

/// Lists the machines exposed by a recommendation's product.
#[utoipa::path(
    get,
    path = "/api/recommendations/{id}/machines",
    tag = "recommendations",
    params(("id" = String, Path, description = "Recommendation id"), ListQuery),
    responses(
        (status = 200, description = "Exposed machines", body = List<doc::Machine>),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 404, description = "No such recommendation", body = ErrorBody),
    )
)]
pub(crate) async fn list_recommendation_machines(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<MachineView>(query)?;
    query.apply(state.engine.recommendation_machines(&id).await?)
}

/// Lists the vulnerabilities behind a recommendation.
#[utoipa::path(
    get,
    path = "/api/recommendations/{id}/vulnerabilities",
    tag = "recommendations",
    params(("id" = String, Path, description = "Recommendation id"), ListQuery),
    responses(
        (status = 200, description = "The recommendation's vulnerabilities", body = List<doc::Vulnerability>),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 404, description = "No such recommendation", body = ErrorBody),
    )
)]
pub(crate) async fn list_recommendation_vulnerabilities(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<VulnerabilitySummary>(query)?;
    query.apply(state.engine.recommendation_vulnerabilities(&id).await?)
}

/// Lists the vulnerable software versions a recommendation is about.
#[utoipa::path(
    get,
    path = "/api/recommendations/{id}/software",
    tag = "recommendations",
    params(("id" = String, Path, description = "Recommendation id"), ListQuery),
    responses(
        (status = 200, description = "Vulnerable versions installed", body = List<doc::VulnerableSoftware>),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 404, description = "No such recommendation", body = ErrorBody),
    )
)]
pub(crate) async fn list_recommendation_software(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<SoftwareView>(query)?;
    query.apply(state.engine.recommendation_software(&id).await?)
}
