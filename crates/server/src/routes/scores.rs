//! `/api/exposureScore` and `/api/machineGroups`: the exposure score of the organisation, its device
//! groups and devices, its history, and the device groups themselves.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use bulwark_core::group::{DeviceGroup, GroupRule};
use bulwark_engine::{DeviceGroupPatch, ImpactMode, NewDeviceGroup, ScoreScope};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::List;
use crate::routes::{ApiPath, JsonBody};

/// A score at a time (MDVM's `{time, score}`), with its band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScoreAt {
    /// When it was computed.
    #[schema(format = DateTime)]
    time: String,
    /// The score (0–100).
    score: f64,
    /// `Low` (0–29), `Medium` (30–69) or `High` (70–100).
    band: String,
    /// With `impact=hybrid`: the score as if no exception existed (`score` counts mitigation-like
    /// exceptions as remediated).
    #[serde(skip_serializing_if = "Option::is_none")]
    score_without_exceptions: Option<f64>,
}

/// A device group's score (MDVM's `{time, score, rbacGroupName}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupScoreAt {
    /// When it was computed.
    #[schema(format = DateTime)]
    time: String,
    /// The score (0–100).
    score: f64,
    /// The group.
    rbac_group_name: String,
    /// Active devices in the group.
    devices: u64,
    /// With `impact=hybrid`: the score as if no exception existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    score_without_exceptions: Option<f64>,
}

/// A device's exposure score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MachineScore {
    /// Store id.
    id: i64,
    /// Device name.
    computer_dns_name: String,
    /// Its group.
    rbac_group_name: String,
    /// `Low`, `Normal` or `High`.
    device_value: String,
    /// The score (0–100).
    exposure_score: f64,
    /// `None`, `Low`, `Medium` or `High`.
    exposure_level: String,
    /// Distinct open vulnerabilities.
    vulnerabilities: u64,
}

/// One recorded score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryPoint {
    /// When it was recorded.
    #[schema(format = DateTime)]
    time: String,
    /// The exposure score.
    score: f64,
    /// The secure score for devices, when anything was assessed.
    configuration_score: Option<f64>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn label<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// How exceptions count in a score (`impact=`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImpactQuery {
    /// `mitigation` (default): mitigation-like exceptions score as remediated, false positives are
    /// removed; `none`: exceptions change nothing; `hybrid`: `score` as mitigation plus
    /// `scoreWithoutExceptions`.
    impact: Option<String>,
}

/// The two reports a query asks for: the one `score` shows, and the no-impact one for `hybrid`.
async fn reports(
    state: &AppState,
    query: Result<axum::extract::Query<ImpactQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<
    (
        bulwark_engine::ExposureReport,
        Option<bulwark_engine::ExposureReport>,
    ),
    ApiError,
> {
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    match query.impact.as_deref().unwrap_or("mitigation") {
        "hybrid" => Ok((
            state.engine.exposure_with(ImpactMode::Mitigation).await?,
            Some(state.engine.exposure_with(ImpactMode::None).await?),
        )),
        other => {
            let mode = ImpactMode::parse(other).ok_or_else(|| {
                ApiError::BadRequest(format!("impact={other:?}: give none, mitigation or hybrid"))
            })?;
            Ok((state.engine.exposure_with(mode).await?, None))
        }
    }
}

/// The organisation's exposure score now.
#[utoipa::path(
    get,
    path = "/api/exposureScore",
    tag = "scores",
    params(ImpactQuery),
    responses(
        (status = 200, description = "The organisation's exposure score", body = ScoreAt),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn exposure_score(
    State(state): State<AppState>,
    query: Result<axum::extract::Query<ImpactQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ScoreAt>, ApiError> {
    let (report, raw) = reports(&state, query).await?;
    Ok(Json(ScoreAt {
        time: time(report.time),
        score: report.score,
        band: label(&report.band),
        score_without_exceptions: raw.map(|r| r.score),
    }))
}

/// The exposure score of each device group with active devices.
#[utoipa::path(
    get,
    path = "/api/exposureScore/ByMachineGroups",
    tag = "scores",
    params(ImpactQuery),
    responses(
        (status = 200, description = "Scores by device group", body = List<GroupScoreAt>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn exposure_score_by_groups(
    State(state): State<AppState>,
    query: Result<axum::extract::Query<ImpactQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<List<GroupScoreAt>>, ApiError> {
    let (report, raw) = reports(&state, query).await?;
    let raw: std::collections::HashMap<String, f64> = raw
        .map(|r| {
            r.groups
                .into_iter()
                .map(|g| (g.rbac_group_name, g.score))
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(List {
        value: report
            .groups
            .into_iter()
            .map(|g| GroupScoreAt {
                time: time(g.time),
                score: g.score,
                score_without_exceptions: raw.get(&g.rbac_group_name).copied(),
                rbac_group_name: g.rbac_group_name,
                devices: g.devices,
            })
            .collect(),
    }))
}

/// The query of the history endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// Start (RFC 3339 time or a date); default 30 days before `to`.
    from: Option<String>,
    /// End (RFC 3339 time or a date, inclusive); default now.
    to: Option<String>,
    /// A device group's name: that group's history instead of the organisation's.
    rbac_group_name: Option<String>,
    /// A device's name: that device's history.
    machine: Option<String>,
}

pub(crate) fn parse_time(
    field: &str,
    text: &str,
    end_of_day: bool,
) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let t = if end_of_day {
            d.and_hms_micro_opt(23, 59, 59, 999_999)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        if let Some(t) = t {
            return Ok(t.and_utc());
        }
    }
    Err(ApiError::BadRequest(format!(
        "{field}={text:?} is not an RFC 3339 time or a YYYY-MM-DD date"
    )))
}

/// Recorded scores between two times, oldest first: the organisation's, one group's or one device's.
#[utoipa::path(
    get,
    path = "/api/exposureScore/history",
    tag = "scores",
    params(HistoryQuery),
    responses(
        (status = 200, description = "Recorded scores", body = List<HistoryPoint>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn exposure_score_history(
    State(state): State<AppState>,
    query: Result<axum::extract::Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<List<HistoryPoint>>, ApiError> {
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let to = match &query.to {
        Some(t) => parse_time("to", t, true)?,
        None => state.engine.now(),
    };
    let from = match &query.from {
        Some(f) => parse_time("from", f, false)?,
        None => to - chrono::Duration::days(30),
    };
    let (scope, name) = match (query.rbac_group_name, query.machine) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give rbacGroupName or machine, not both".into(),
            ));
        }
        (Some(group), None) => (ScoreScope::Group, group),
        (None, Some(machine)) => (ScoreScope::Device, machine),
        (None, None) => (ScoreScope::Organization, String::new()),
    };
    let history = state.engine.score_history(scope, &name, from, to).await?;
    Ok(Json(List {
        value: history
            .into_iter()
            .map(|s| HistoryPoint {
                time: time(s.at),
                score: s.exposure,
                configuration_score: s.configuration,
            })
            .collect(),
    }))
}

/// One machine's exposure score.
#[utoipa::path(
    get,
    path = "/api/machines/{id}/exposureScore",
    tag = "scores",
    params(("id" = String, Path, description = "Machine id or name")),
    responses(
        (status = 200, description = "The machine's score", body = MachineScore),
        (status = 404, description = "No such machine, or not seen within the exposure window", body = ErrorBody),
    )
)]
pub(crate) async fn machine_exposure_score(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MachineScore>, ApiError> {
    let d = state.engine.device_score(&id).await?;
    Ok(Json(MachineScore {
        id: d.id,
        computer_dns_name: d.computer_dns_name,
        rbac_group_name: d.rbac_group_name,
        device_value: label(&d.device_value),
        exposure_score: d.exposure_score,
        exposure_level: label(&d.exposure_level),
        vulnerabilities: d.vulnerabilities,
    }))
}

/// A device group, with its membership rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MachineGroup {
    /// Store id.
    id: i64,
    /// Unique name.
    name: String,
    /// What it is for.
    description: String,
    /// Rule groups are tried by rank, lowest first.
    rank: i64,
    /// Conditions that must all hold (`{"kind": "namePattern"|"tag"|"os", "value": "..."}`).
    #[schema(value_type = Vec<Object>)]
    rules: Vec<GroupRule>,
}

impl From<DeviceGroup> for MachineGroup {
    fn from(g: DeviceGroup) -> MachineGroup {
        MachineGroup {
            id: g.id,
            name: g.name,
            description: g.description,
            rank: g.rank,
            rules: g.rules,
        }
    }
}

/// A device group to create or change; absent fields keep their value on a change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MachineGroupBody {
    /// Name (required to create).
    name: Option<String>,
    /// Description.
    description: Option<String>,
    /// Rank (default 100).
    rank: Option<i64>,
    /// Rules.
    #[schema(value_type = Option<Vec<Object>>)]
    rules: Option<Vec<GroupRule>>,
}

/// Lists device groups by rank.
#[utoipa::path(
    get,
    path = "/api/machineGroups",
    tag = "machines",
    responses((status = 200, description = "Device groups", body = List<MachineGroup>))
)]
pub(crate) async fn list_machine_groups(
    State(state): State<AppState>,
) -> Result<Json<List<MachineGroup>>, ApiError> {
    let groups = state.engine.device_groups().await?;
    Ok(Json(List {
        value: groups.into_iter().map(Into::into).collect(),
    }))
}

/// Creates a device group.
#[utoipa::path(
    post,
    path = "/api/machineGroups",
    tag = "machines",
    request_body = MachineGroupBody,
    responses(
        (status = 201, description = "The group", body = MachineGroup),
        (status = 400, description = "Invalid body", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
pub(crate) async fn create_machine_group(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<MachineGroupBody>,
) -> Result<(StatusCode, Json<MachineGroup>), ApiError> {
    let name = body
        .name
        .ok_or_else(|| ApiError::BadRequest("invalid JSON body at $.name: required".into()))?;
    let group = state
        .engine
        .create_device_group(NewDeviceGroup {
            name,
            description: body.description.unwrap_or_default(),
            rank: body.rank.unwrap_or(100),
            rules: body.rules.unwrap_or_default(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// Renames a device group or changes its description, rank or rules.
#[utoipa::path(
    patch,
    path = "/api/machineGroups/{id}",
    tag = "machines",
    params(("id" = i64, Path, description = "Group id")),
    request_body = MachineGroupBody,
    responses(
        (status = 200, description = "The group", body = MachineGroup),
        (status = 400, description = "Invalid body", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
        (status = 409, description = "The new name is taken", body = ErrorBody),
    )
)]
pub(crate) async fn update_machine_group(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    JsonBody(body): JsonBody<MachineGroupBody>,
) -> Result<Json<MachineGroup>, ApiError> {
    let group = state
        .engine
        .update_device_group(
            id,
            DeviceGroupPatch {
                name: body.name,
                description: body.description,
                rank: body.rank,
                rules: body.rules,
            },
        )
        .await?;
    Ok(Json(group.into()))
}

/// Deletes a device group; its explicitly assigned machines fall back to the rules.
#[utoipa::path(
    delete,
    path = "/api/machineGroups/{id}",
    tag = "machines",
    params(("id" = i64, Path, description = "Group id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such group", body = ErrorBody),
    )
)]
pub(crate) async fn delete_machine_group(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_device_group(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
