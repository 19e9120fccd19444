//! `/api/openapi.json`: the OpenAPI 3.1 document of this API, built from the same route definitions.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::OpenApi;

use crate::error::ApiError;

/// Gets the OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object, content_type = "application/json"))
)]
pub(crate) async fn openapi_json(
    Extension(doc): Extension<Arc<OpenApi>>,
) -> Result<impl IntoResponse, ApiError> {
    let json = serde_json::to_vec(doc.as_ref())
        .map_err(|e| ApiError::internal("serializing the OpenAPI document failed", &e))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json))
}
