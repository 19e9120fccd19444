//! The API's routes and the extractors they share. Every route is registered here through utoipa-axum's
//! `routes!`, which adds the handler to the router and its `#[utoipa::path]` to the OpenAPI document in
//! one step.
//!
//! Architecture invariant: routes are only added with `.routes(routes!(…))` (a tidy test checks that no
//! plain `.route(` call exists), so every route the router serves is in the document.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::odata::{self, Query};
use crate::openapi::ApiDoc;

mod agent;
mod config;
mod docs;
mod health;
mod machines;
mod metrics;
mod recommendations;
pub(crate) mod remediation;
pub(crate) mod scores;
mod vulnerabilities;
mod webhooks;

/// The API: every route with its documentation.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(recommendations::list_recommendations))
        .routes(routes!(recommendations::get_recommendation))
        .routes(routes!(recommendations::list_recommendation_machines))
        .routes(routes!(
            recommendations::list_recommendation_vulnerabilities
        ))
        .routes(routes!(recommendations::list_recommendation_software))
        .routes(routes!(machines::list_machines))
        .routes(routes!(machines::get_machine, machines::update_machine))
        .routes(routes!(machines::list_machine_vulnerabilities))
        .routes(routes!(machines::list_machine_software))
        .routes(routes!(machines::ingest_inventory))
        .routes(routes!(agent::receive_report))
        .routes(routes!(scores::exposure_score))
        .routes(routes!(scores::exposure_score_by_groups))
        .routes(routes!(scores::exposure_score_history))
        .routes(routes!(scores::machine_exposure_score))
        .routes(routes!(
            scores::list_machine_groups,
            scores::create_machine_group
        ))
        .routes(routes!(
            scores::update_machine_group,
            scores::delete_machine_group
        ))
        .routes(routes!(vulnerabilities::list_vulnerabilities))
        .routes(routes!(vulnerabilities::get_vulnerability))
        .routes(routes!(vulnerabilities::list_vulnerability_machines))
        .routes(routes!(config::configuration_score))
        .routes(routes!(config::configuration_score_by_groups))
        .routes(routes!(config::machine_configuration_score))
        .routes(routes!(config::upload_assessment))
        .routes(routes!(config::list_configuration_recommendations))
        .routes(routes!(config::get_configuration_recommendation))
        .routes(routes!(config::list_configuration_recommendation_machines))
        .routes(routes!(
            remediation::list_exceptions,
            remediation::create_exception
        ))
        .routes(routes!(remediation::preview_exception))
        .routes(routes!(
            remediation::get_exception_policy,
            remediation::put_exception_policy
        ))
        .routes(routes!(remediation::export_exceptions))
        .routes(routes!(remediation::import_exceptions))
        .routes(routes!(remediation::get_exception))
        .routes(routes!(remediation::cancel_exception))
        .routes(routes!(remediation::list_tasks, remediation::create_task))
        .routes(routes!(remediation::get_task))
        .routes(routes!(remediation::complete_task))
        .routes(routes!(remediation::task_machines))
        .routes(routes!(remediation::list_audit))
        .routes(routes!(remediation::verify_audit))
        .routes(routes!(remediation::list_users, remediation::create_user))
        .routes(routes!(remediation::create_token))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::delete_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(docs::openapi_json))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
}

/// A path parameter whose rejection is an [`ApiError`].
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// The decoded query-string pairs, in order, repeated keys kept.
fn query_pairs(parts: &Parts) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))
}

/// The query of a list endpoint: plain field parameters, `search` and the OData options.
pub(crate) struct ListQuery(pub Query);

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(ListQuery(Query::parse(&query_pairs(parts)?)?))
    }
}

fn query_param(name: &str, description: &str, schema: Type) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(schema)))
        .build()
}

impl IntoParams for ListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query_param(
                "$filter",
                "OData filter over the items' fields: eq, ne, gt, ge, lt, le, and, or, parentheses; strings \
                 in single quotes ('' for a quote), numbers, true, false, null, unquoted dates such as \
                 2024-05-01. Example: `status eq 'Active' and severityScore ge 7`.",
                Type::String,
            ),
            query_param(
                "$orderby",
                "Comma-separated `field asc|desc` keys. Example: `exposedMachinesCount desc, id`.",
                Type::String,
            ),
            query_param(
                "$top",
                &format!("At most this many items (0 to {}).", odata::MAX_TOP),
                Type::Integer,
            ),
            query_param("$skip", "Skip this many items first.", Type::Integer),
            query_param(
                "search",
                "Case-insensitive substring searched in the items' name-like fields.",
                Type::String,
            ),
            ParameterBuilder::new()
                .name("fields")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Any field of the item as a plain parameter keeps the items whose field equals the \
                     value (repeat a field for alternatives). Example: `?status=Active&remediationType=Update`.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Object)
                        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String))),
                ))
                .style(Some(ParameterStyle::Form))
                .explode(Some(true))
                .build(),
        ]
    }
}

/// The query of an inventory upload.
pub(crate) struct IngestQuery {
    /// Forced format name.
    pub format: Option<String>,
    /// Device group.
    pub group: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Tags (`tag` repeated).
    pub tags: Vec<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for IngestQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let mut query = IngestQuery {
            format: None,
            group: None,
            os: None,
            tags: Vec::new(),
        };
        for (key, value) in query_pairs(parts)? {
            let slot = match key.as_str() {
                "tag" => {
                    query.tags.push(value);
                    continue;
                }
                "format" => &mut query.format,
                "group" => &mut query.group,
                "os" => &mut query.os,
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown query parameter '{key}'; valid parameters: format, group, os, tag"
                    )));
                }
            };
            if slot.replace(value).is_some() {
                return Err(ApiError::BadRequest(format!(
                    "query parameter {key} is given more than once"
                )));
            }
        }
        Ok(query)
    }
}

impl IntoParams for IngestQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let formats = bulwark_formats::inventory::ALL_FORMATS
            .map(|f| f.name())
            .join(", ");
        vec![
            query_param(
                "format",
                &format!("Read the body as this format instead of detecting it: one of {formats}."),
                Type::String,
            ),
            query_param("group", "The device group.", Type::String),
            query_param(
                "os",
                "The device's operating system (`debian 12`), which places its OS packages in a release.",
                Type::String,
            ),
            ParameterBuilder::new()
                .name("tag")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("A device tag; repeat for several."))
                .schema(Some(
                    utoipa::openapi::ArrayBuilder::new()
                        .items(ObjectBuilder::new().schema_type(Type::String)),
                ))
                .style(Some(ParameterStyle::Form))
                .explode(Some(true))
                .build(),
        ]
    }
}

/// A request body read whole, with the rejection as an [`ApiError`] (413 past the body limit).
pub(crate) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Ok(RawBody(Bytes::from_request(request, state).await?))
    }
}

/// A JSON request body whose errors are [`ApiError`]s naming the JSON path of the first problem.
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state).await?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." {
                "$".to_string()
            } else {
                format!("$.{path}")
            };
            ApiError::BadRequest(format!("invalid JSON body at {at}: {}", e.inner()))
        })?;
        deserializer
            .end()
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body after the value: {e}")))?;
        Ok(JsonBody(value))
    }
}

#[cfg(test)]
mod tests {
    /// Tidy: an API route added with plain `.route(` would be served but missing from the OpenAPI
    /// document. The console (`src/console/`) serves HTML pages, which the document does not describe;
    /// [`console_pages_stay_outside_the_api`] keeps them out of `/api`.
    #[test]
    fn routes_are_only_added_through_the_routes_macro() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let console = dir.join("console");
        let mut offenders = Vec::new();
        let mut scanned = 0;
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    if path != console {
                        stack.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    scanned += 1;
                    let needles = [
                        concat!(".route", "("),
                        concat!(".route_service", "("),
                        concat!(".nest", "("),
                        concat!(".nest_service", "("),
                    ];
                    let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
                    for (needle, line) in code.flat_map(|l| needles.map(|n| (n, l))) {
                        if line.contains(needle) {
                            offenders.push(format!("{}: {needle}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(scanned >= 8, "only {scanned} source files found");
        assert!(
            offenders.is_empty(),
            "routes added outside routes!: {offenders:?}"
        );
    }

    /// Tidy: no console page is served under `/api`, where clients expect JSON and the OpenAPI
    /// document describes every route.
    #[test]
    fn console_pages_stay_outside_the_api() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console");
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for piece in text.split(concat!(".route", "(\"")).skip(1) {
                if let Some(path) = piece.split('"').next() {
                    paths.push(path.to_string());
                }
            }
        }
        assert!(
            paths.len() >= 10,
            "only {} console routes found: {paths:?}",
            paths.len()
        );
        let inside: Vec<&String> = paths.iter().filter(|p| p.starts_with("/api")).collect();
        assert!(inside.is_empty(), "console routes under /api: {inside:?}");
    }
}
