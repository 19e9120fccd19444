//! `/api/machines`: devices, their vulnerabilities and software, and inventory uploads.

use axum::Json;
use axum::extract::State;

use bulwark_core::DeviceInfo;
use bulwark_core::recommendation::VulnerabilitySummary;
use bulwark_core::score::DeviceValue;
use bulwark_engine::{DevicePatch, IngestRequest, IngestSummary, MachineView};
use bulwark_formats::inventory::{ALL_FORMATS, InventoryFormat};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::listing::{self, Collection};
use crate::metrics::IngestSource;
use crate::openapi::{self as doc, List};
use crate::routes::{ApiPath, IngestQuery, JsonBody, ListQuery, RawBody};
use crate::views::InstalledSoftware;

/// Lists machines.
#[utoipa::path(
    get,
    path = "/api/machines",
    tag = "machines",
    params(ListQuery),
    responses(
        (status = 200, description = "Machines, by name", body = List<doc::Machine>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn list_machines(
    State(state): State<AppState>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<MachineView>(query)?;
    query.apply(state.engine.machines().await?)
}

/// Gets one machine by numeric id or by name.
#[utoipa::path(
    get,
    path = "/api/machines/{id}",
    tag = "machines",
    params(("id" = String, Path, description = "Machine id or name")),
    responses(
        (status = 200, description = "The machine", body = doc::Machine),
        (status = 404, description = "No such machine", body = ErrorBody),
    )
)]
pub(crate) async fn get_machine(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MachineView>, ApiError> {
    Ok(Json(state.engine.machine(&id).await?))
}

/// Lists a machine's open vulnerabilities.
#[utoipa::path(
    get,
    path = "/api/machines/{id}/vulnerabilities",
    tag = "machines",
    params(("id" = String, Path, description = "Machine id or name"), ListQuery),
    responses(
        (status = 200, description = "Open vulnerabilities", body = List<doc::Vulnerability>),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 404, description = "No such machine", body = ErrorBody),
    )
)]
pub(crate) async fn list_machine_vulnerabilities(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<VulnerabilitySummary>(query)?;
    query.apply(state.engine.machine_vulnerabilities(&id).await?)
}

/// Lists a machine's installed software.
#[utoipa::path(
    get,
    path = "/api/machines/{id}/software",
    tag = "machines",
    params(("id" = String, Path, description = "Machine id or name"), ListQuery),
    responses(
        (status = 200, description = "Installed packages", body = List<InstalledSoftware>),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 404, description = "No such machine", body = ErrorBody),
    )
)]
pub(crate) async fn list_machine_software(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<InstalledSoftware>(query)?;
    let software = state.engine.machine_software(&id).await?;
    query.apply(software.into_iter().map(InstalledSoftware::from).collect())
}

/// Uploads a machine's inventory (any format Bulwark reads, detected from the content unless `format`
/// is given), creating the machine on first upload; replaces its software and recomputes its weaknesses.
#[utoipa::path(
    post,
    path = "/api/machines/{name}/inventory",
    tag = "machines",
    params(("name" = String, Path, description = "Machine name"), IngestQuery),
    request_body(
        content = String,
        content_type = "application/octet-stream",
        description = "The inventory file's bytes: an SBOM, an OS package database or a lockfile (at most 256 MiB)"
    ),
    responses(
        (status = 200, description = "What the ingest did", body = doc::IngestSummary),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 413, description = "Body larger than 256 MiB", body = ErrorBody),
        (status = 415, description = "Not any inventory format Bulwark reads", body = ErrorBody),
        (status = 422, description = "Malformed inventory (the message names the line or path)", body = ErrorBody),
    )
)]
pub(crate) async fn ingest_inventory(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    query: IngestQuery,
    RawBody(bytes): RawBody,
) -> Result<Json<IngestSummary>, ApiError> {
    let format = match query.format.as_deref() {
        None => None,
        Some(f) => Some(InventoryFormat::from_name(f).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown inventory format '{f}'; known formats: {}",
                ALL_FORMATS.map(InventoryFormat::name).join(", ")
            ))
        })?),
    };
    let request = IngestRequest {
        device: DeviceInfo {
            name,
            os: query.os,
            group: query.group,
            tags: query.tags,
        },
        file: "request body".to_string(),
        bytes: bytes.into(),
        format,
    };
    let summary = state.engine.ingest(request).await?;
    state.metrics.record_ingest(IngestSource::Api, &summary);
    Ok(Json(summary))
}

/// What `PATCH /api/machines/{id}` may change; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MachinePatch {
    /// `Low`, `Normal` or `High`.
    #[schema(value_type = Option<String>)]
    device_value: Option<DeviceValue>,
    /// The whole tag list (for example `["internet-facing"]`).
    machine_tags: Option<Vec<String>>,
    /// The device group to assign the machine to explicitly; `null` removes the assignment, so that
    /// the groups' rules decide.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    rbac_group_name: Option<Option<String>>,
}

/// A field that is present (even as `null`) becomes `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes a machine's device value, tags or explicit device group.
#[utoipa::path(
    patch,
    path = "/api/machines/{id}",
    tag = "machines",
    params(("id" = String, Path, description = "Machine id or name")),
    request_body = MachinePatch,
    responses(
        (status = 200, description = "The machine after the change", body = doc::Machine),
        (status = 400, description = "Invalid body", body = ErrorBody),
        (status = 404, description = "No such machine", body = ErrorBody),
    )
)]
pub(crate) async fn update_machine(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(patch): JsonBody<MachinePatch>,
) -> Result<Json<MachineView>, ApiError> {
    let device = state
        .engine
        .update_device(
            &id,
            DevicePatch {
                value: patch.device_value,
                tags: patch.machine_tags,
                group: patch.rbac_group_name,
            },
        )
        .await?;
    Ok(Json(state.engine.machine(&device.id.0.to_string()).await?))
}
