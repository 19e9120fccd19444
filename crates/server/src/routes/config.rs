//! `/api/configurationScore`, `/api/configurationRecommendations` and the configuration endpoints of a
//! machine: the Secure Score for Devices of the organisation, its device groups and devices, one
//! `ConfigurationChange` recommendation per failing check, and the upload of configuration assessments
//! (OpenSCAP XCCDF results, osquery rows).
//!
//! The response types are the engine's, served as they serialize; the `…Doc` types below document them
//! for the OpenAPI document, and a test checks each against the real type's fields.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::Type;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use bulwark_engine::{
    AssessmentFormat, AssessmentRequest, AssessmentSummary, CategoryScores,
    ConfigurationRecommendation, ConfigurationRecommendationMachine, MachineConfiguration,
};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::listing::{self, Collection, Listed};
use crate::openapi::List;
use crate::routes::{ApiPath, ListQuery, RawBody, query_pairs, query_param};

impl Listed for ConfigurationRecommendation {
    const SEARCH_FIELDS: &'static [&'static str] =
        &["recommendationName", "checkId", "description"];
}

impl Listed for ConfigurationRecommendationMachine {
    const SEARCH_FIELDS: &'static [&'static str] = &["computerDnsName"];
}

/// The secure score for devices per category; `null` where nothing was assessed.
// Only the derived schema reads the fields; the engine's type is what is served.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = ConfigurationCategoryScores)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CategoryScoresDoc {
    /// Operating system settings.
    #[serde(rename = "OS")]
    os: Option<f64>,
    /// Applications and their services.
    application: Option<f64>,
    /// Network exposure: listening services, firewall, SSH server, IP stack.
    network: Option<f64>,
    /// Accounts and credentials.
    accounts: Option<f64>,
    /// Security tooling: auditing, access control, integrity.
    security_controls: Option<f64>,
}

/// The organisation's secure score for devices now (MDVM's `{time, score}`, with its points and categories).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationScoreAt {
    /// When it was computed.
    #[schema(format = DateTime)]
    time: String,
    /// `achieved / possible × 100` over the active devices (0–100); `null` when nothing was assessed.
    score: Option<f64>,
    /// Points earned by passing checks (a check's points are its weight, 1–10).
    achieved: u64,
    /// Points of the passing and failing checks.
    possible: u64,
    /// The score per category.
    #[schema(value_type = CategoryScoresDoc)]
    categories: CategoryScores,
}

/// A device group's secure score (MDVM's `{time, score, rbacGroupName}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupConfigurationScoreAt {
    /// When it was computed.
    #[schema(format = DateTime)]
    time: String,
    /// The score (0–100); `null` when no check counted.
    score: Option<f64>,
    /// Points earned.
    achieved: u64,
    /// Points possible.
    possible: u64,
    /// The group.
    rbac_group_name: String,
    /// Active devices of the group with check results.
    devices: u64,
    /// The score per category.
    #[schema(value_type = CategoryScoresDoc)]
    categories: CategoryScores,
}

/// One thing a check looked at, and what it saw.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = CheckEvidence)]
pub(crate) struct EvidenceDoc {
    /// What was looked at: `sshd_config PermitRootLogin`.
    item: String,
    /// The value seen: `yes`.
    value: String,
}

/// The result of one check on one device.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = CheckResult)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckResultDoc {
    /// The check's id: `bulwark-linux-ssh-root-login`, or an XCCDF rule id.
    check_id: String,
    /// `bulwark` (the agent's facts), `openscap` or `osquery`.
    source: String,
    /// The check's title.
    title: String,
    /// `OS`, `Application`, `Network`, `Accounts` or `SecurityControls`.
    category: String,
    /// Its weight, 1–10.
    weight: u8,
    /// `pass`, `fail`, `notApplicable`, `notSelected`, `informational`, `notCollected` or `error`; only
    /// pass and fail count in the score.
    status: String,
    /// What was looked at and the values seen.
    evidence: Vec<EvidenceDoc>,
}

/// A machine's configuration: its secure score and every scored check result with its evidence.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = MachineConfiguration)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MachineConfigurationDoc {
    /// When it was computed.
    #[schema(format = DateTime)]
    time: String,
    /// Store id.
    id: i64,
    /// Device name.
    computer_dns_name: String,
    /// Its group.
    rbac_group_name: String,
    /// The score (0–100); `null` when no check counted.
    score: Option<f64>,
    /// Points earned.
    achieved: u64,
    /// Points possible.
    possible: u64,
    /// The score per category.
    categories: CategoryScoresDoc,
    /// Check results (every status).
    checks: u64,
    /// Failing checks.
    failed: u64,
    /// Seen within the last 30 days: only then does it count in the organisation's score.
    is_active: bool,
    /// One result per check (the agent's wins over osquery's for the same check), by check id.
    results: Vec<CheckResultDoc>,
}

/// A security recommendation to change one configuration.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = ConfigurationRecommendation)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationRecommendationDoc {
    /// `sca-_-{checkId}`.
    id: String,
    /// The check's id.
    check_id: String,
    /// The check's title, phrased as the desired state.
    recommendation_name: String,
    /// `ConfigurationChange`.
    remediation_type: String,
    /// `OS`, `Application`, `Network`, `Accounts` or `SecurityControls`.
    recommendation_category: String,
    /// The check's weight (1–10).
    severity_score: f64,
    /// Active devices where the check fails.
    exposed_machines_count: u64,
    /// Active devices where the check fails and no exception in effect covers it.
    exposed_machines_count_after_exceptions: u64,
    /// Active devices where the check was assessed (passing or failing).
    total_machine_count: u64,
    /// The exact rise of the organisation's secure score if the check were fixed everywhere it fails.
    config_score_impact: f64,
    /// Always 0.
    exposure_impact: f64,
    /// `Active`, `Exception` or `PartialException`, from the exceptions in effect on it.
    status: String,
    /// What is checked and why it matters.
    description: String,
    /// How to make the check pass (empty when the benchmark gives no fix).
    remediation: String,
    /// The sources that reported the failure: `bulwark`, `openscap`, `osquery`.
    sources: Vec<String>,
    /// The ComplianceAsCode rule, when known.
    rule: Option<String>,
    /// The benchmark control, when known.
    control: Option<String>,
}

/// A machine where a configuration recommendation's check fails.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = ConfigurationRecommendationMachine)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationRecommendationMachineDoc {
    /// Store id.
    id: i64,
    /// Device name.
    computer_dns_name: String,
    /// Operating system, as reported.
    os_platform: Option<String>,
    /// Its group.
    rbac_group_name: String,
    /// Latest ingest or assessment.
    #[schema(format = DateTime)]
    last_seen: String,
    /// Who reported the failure.
    source: String,
    /// What the check looked at and saw.
    evidence: Vec<EvidenceDoc>,
}

/// What an assessment upload did.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = AssessmentSummary)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssessmentSummaryDoc {
    /// The machine, as stored after the assessment.
    device: crate::openapi::Device,
    /// `openscap` or `osquery`.
    format: String,
    /// The source the results are stored as; they replace the machine's earlier results of this source.
    source: String,
    /// OpenSCAP: the benchmark evaluated.
    benchmark: Option<String>,
    /// OpenSCAP: the profile evaluated.
    profile: Option<String>,
    /// OpenSCAP: the target the scanner named.
    target: Option<String>,
    /// Check results stored.
    checks: u64,
    /// Passing checks.
    passed: u64,
    /// Failing checks.
    failed: u64,
    /// Checks that count neither way.
    not_counted: u64,
    /// The points of this assessment's results.
    score: ScorePartsDoc,
    /// The machine's secure score after the assessment, over every source.
    device_score: Option<f64>,
    /// Things worth knowing about the file.
    notes: Vec<String>,
}

/// Points behind a score.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = ConfigurationScoreParts)]
pub(crate) struct ScorePartsDoc {
    /// Points earned.
    achieved: u64,
    /// Points possible.
    possible: u64,
    /// `achieved / possible × 100`; `null` when nothing counted.
    score: Option<f64>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The organisation's secure score for devices now.
#[utoipa::path(
    get,
    path = "/api/configurationScore",
    tag = "configuration",
    responses((status = 200, description = "The organisation's secure score for devices", body = ConfigurationScoreAt))
)]
pub(crate) async fn configuration_score(
    State(state): State<AppState>,
) -> Result<Json<ConfigurationScoreAt>, ApiError> {
    let report = state.engine.configuration_score().await?;
    Ok(Json(ConfigurationScoreAt {
        time: time(report.time),
        score: report.score,
        achieved: report.achieved,
        possible: report.possible,
        categories: report.categories,
    }))
}

/// The secure score for devices of each device group with assessed active devices.
#[utoipa::path(
    get,
    path = "/api/configurationScore/ByMachineGroups",
    tag = "configuration",
    responses((status = 200, description = "Scores by device group", body = List<GroupConfigurationScoreAt>))
)]
pub(crate) async fn configuration_score_by_groups(
    State(state): State<AppState>,
) -> Result<Json<List<GroupConfigurationScoreAt>>, ApiError> {
    let report = state.engine.configuration_score().await?;
    Ok(Json(List {
        value: report
            .groups
            .into_iter()
            .map(|g| GroupConfigurationScoreAt {
                time: time(g.time),
                score: g.score,
                achieved: g.achieved,
                possible: g.possible,
                rbac_group_name: g.rbac_group_name,
                devices: g.devices,
                categories: g.categories,
            })
            .collect(),
    }))
}

/// A machine's secure score and its check results with evidence.
#[utoipa::path(
    get,
    path = "/api/machines/{id}/configurationScore",
    tag = "configuration",
    params(("id" = String, Path, description = "Machine id or name")),
    responses(
        (status = 200, description = "The machine's configuration", body = MachineConfigurationDoc),
        (status = 404, description = "No such machine", body = ErrorBody),
    )
)]
pub(crate) async fn machine_configuration_score(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MachineConfiguration>, ApiError> {
    Ok(Json(state.engine.machine_configuration(&id).await?))
}

/// The query of an assessment upload.
pub(crate) struct AssessmentQuery {
    /// The forced format.
    format: Option<AssessmentFormat>,
}

fn format_names() -> String {
    AssessmentFormat::ALL.map(AssessmentFormat::name).join(", ")
}

impl<S: Send + Sync> FromRequestParts<S> for AssessmentQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let mut format = None;
        for (key, value) in query_pairs(parts)? {
            if key != "format" {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter '{key}'; valid parameters: format"
                )));
            }
            let parsed = AssessmentFormat::from_name(&value).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "unknown assessment format '{value}'; known formats: {}",
                    format_names()
                ))
            })?;
            if format.replace(parsed).is_some() {
                return Err(ApiError::BadRequest(
                    "query parameter format is given more than once".into(),
                ));
            }
        }
        Ok(AssessmentQuery { format })
    }
}

impl IntoParams for AssessmentQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![query_param(
            "format",
            &format!(
                "Read the body as this format instead of detecting it: one of {}.",
                format_names()
            ),
            Type::String,
        )]
    }
}

/// Uploads a configuration assessment of a machine (an OpenSCAP XCCDF results file, or osquery JSON
/// results that Bulwark's checks are evaluated over), creating the machine on first upload; replaces the
/// machine's results of that source and records a score snapshot.
#[utoipa::path(
    post,
    path = "/api/machines/{name}/assessments",
    tag = "configuration",
    params(("name" = String, Path, description = "Machine name"), AssessmentQuery),
    request_body(
        content = String,
        content_type = "application/octet-stream",
        description = "The file's bytes, uncompressed: `oscap xccdf eval --results` output (or an ARF report), or osquery results as JSON"
    ),
    responses(
        (status = 200, description = "What the assessment did", body = AssessmentSummaryDoc),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Neither OpenSCAP results nor osquery JSON (or compressed)", body = ErrorBody),
        (status = 422, description = "Malformed file (the message names the line or JSON path)", body = ErrorBody),
    )
)]
pub(crate) async fn upload_assessment(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    query: AssessmentQuery,
    RawBody(bytes): RawBody,
) -> Result<Json<AssessmentSummary>, ApiError> {
    let request = AssessmentRequest {
        device: name,
        file: "request body".to_string(),
        bytes: bytes.into(),
        format: query.format,
    };
    Ok(Json(state.engine.assess(request).await?))
}

/// Lists configuration recommendations: one per check failing on an active machine. Those in status
/// `Exception` are hidden unless the query names `status`.
#[utoipa::path(
    get,
    path = "/api/configurationRecommendations",
    tag = "configuration",
    params(ListQuery),
    responses(
        (status = 200, description = "Recommendations, the largest rise of the score first", body = List<ConfigurationRecommendationDoc>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn list_configuration_recommendations(
    State(state): State<AppState>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let names_status = listing::names_field(&query, "status");
    let query = listing::check::<ConfigurationRecommendation>(query)?;
    let mut items = state.engine.configuration_recommendations().await?;
    if !names_status {
        items.retain(|r| r.status != "Exception");
    }
    query.apply(items)
}

/// Gets one configuration recommendation.
#[utoipa::path(
    get,
    path = "/api/configurationRecommendations/{id}",
    tag = "configuration",
    params(("id" = String, Path, description = "Recommendation id: `sca-_-{checkId}`")),
    responses(
        (status = 200, description = "The recommendation", body = ConfigurationRecommendationDoc),
        (status = 404, description = "No such recommendation", body = ErrorBody),
    )
)]
pub(crate) async fn get_configuration_recommendation(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConfigurationRecommendation>, ApiError> {
    Ok(Json(state.engine.configuration_recommendation(&id).await?))
}

/// Lists the machines where a configuration recommendation's check fails, with the evidence.
#[utoipa::path(
    get,
    path = "/api/configurationRecommendations/{id}/machines",
    tag = "configuration",
    params(("id" = String, Path, description = "Recommendation id: `sca-_-{checkId}`"), ListQuery),
    responses(
        (status = 200, description = "Machines where the check fails", body = List<ConfigurationRecommendationMachineDoc>),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 404, description = "No such recommendation", body = ErrorBody),
    )
)]
pub(crate) async fn list_configuration_recommendation_machines(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ListQuery(query): ListQuery,
) -> Result<Json<Collection>, ApiError> {
    let query = listing::check::<ConfigurationRecommendationMachine>(query)?;
    query.apply(
        state
            .engine
            .configuration_recommendation_machines(&id)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::field_names;
    use serde::de::DeserializeOwned;
    use utoipa::PartialSchema;

    fn documented<M: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(M::schema()).unwrap_or_default();
        let mut fields: Vec<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        fields.sort_unstable();
        fields
    }

    fn real<T: DeserializeOwned>() -> Vec<String> {
        let mut fields: Vec<String> = field_names::<T>().iter().map(|f| f.to_string()).collect();
        fields.sort_unstable();
        fields
    }

    /// The mirror `M` documents exactly the fields that `T` serializes.
    fn check<M: PartialSchema, T: DeserializeOwned>() {
        let real = real::<T>();
        assert!(
            !real.is_empty(),
            "{} has no fields",
            std::any::type_name::<T>()
        );
        assert_eq!(
            documented::<M>(),
            real,
            "{} drifted",
            std::any::type_name::<M>()
        );
    }

    #[test]
    fn mirrors_match_the_real_types() {
        check::<CategoryScoresDoc, CategoryScores>();
        check::<EvidenceDoc, bulwark_core::config::Evidence>();
        check::<CheckResultDoc, bulwark_core::config::CheckResult>();
        check::<ConfigurationRecommendationDoc, ConfigurationRecommendation>();
        check::<ConfigurationRecommendationMachineDoc, ConfigurationRecommendationMachine>();
        check::<AssessmentSummaryDoc, AssessmentSummary>();
        check::<ScorePartsDoc, bulwark_core::config::ScoreParts>();
        // MachineConfiguration flattens the device's score into itself.
        let mut flattened = real::<bulwark_engine::DeviceConfigurationScore>();
        flattened.extend(["isActive", "results", "time"].map(String::from));
        flattened.sort_unstable();
        assert_eq!(documented::<MachineConfigurationDoc>(), flattened);
    }

    #[test]
    fn search_fields_exist() {
        let recommendation = real::<ConfigurationRecommendation>();
        for f in ConfigurationRecommendation::SEARCH_FIELDS {
            assert!(recommendation.iter().any(|r| r == f), "{f}");
        }
        let machine = real::<ConfigurationRecommendationMachine>();
        for f in ConfigurationRecommendationMachine::SEARCH_FIELDS {
            assert!(machine.iter().any(|r| r == f), "{f}");
        }
    }
}
