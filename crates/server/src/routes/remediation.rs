//! `/api/exceptions`, `/api/remediationTasks`, `/api/audit` and `/api/users`: the Remediation page's
//! data — exceptions (create, preview, cancel, list with the page's filters, CSV), remediation
//! activities, the audit trail and its verification — and users with their API tokens.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use bulwark_core::audit::AuditEntry;
use bulwark_core::exception::{
    ALL_JUSTIFICATIONS, ExceptionDuration, ExceptionRequest, Justification, TargetKind,
};
use bulwark_core::identity::Role;
use bulwark_engine::AuditFilter;
use bulwark_engine::{ExceptionView, TaskRequest, TaskView};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::listing::{self, Collection, Listed};
use crate::odata::Query;
use crate::openapi::{self as doc, List};
use crate::routes::scores::parse_time;
use crate::routes::{ApiPath, JsonBody};

impl Listed for ExceptionView {
    const SEARCH_FIELDS: &'static [&'static str] = &[
        "recommendationId",
        "cveId",
        "justificationContext",
        "createdBy",
    ];
}

impl Listed for TaskView {
    const SEARCH_FIELDS: &'static [&'static str] = &["title", "relatedComponent", "requesterEmail"];
}

impl Listed for AuditEntry {
    const SEARCH_FIELDS: &'static [&'static str] = &["actor", "action", "entity", "entityId"];
}

/// The body of `POST /api/exceptions` (and of its preview).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExceptionBody {
    /// The recommendation to except (or `cveId`).
    recommendation_id: Option<String>,
    /// The CVE to except (or `recommendationId`).
    cve_id: Option<String>,
    /// `third_party_control`, `alternate_mitigation`, `risk_accepted`, `planned_remediation`; on CVEs
    /// also `cve_no_patch`, `false_positive`.
    justification: String,
    /// Why, in words (required).
    justification_context: Option<String>,
    /// 30, 60, 90, 180 or 365 (or `expiresOn`).
    duration_days: Option<u32>,
    /// An explicit expiry: RFC 3339 time, or a date (midnight UTC).
    expires_on: Option<String>,
    /// `true`: every current and future device group (admins only).
    global: Option<bool>,
    /// The device groups it covers.
    device_groups: Option<Vec<String>>,
}

impl ExceptionBody {
    fn into_request(self) -> Result<ExceptionRequest, ApiError> {
        let (kind, target) = match (self.recommendation_id, self.cve_id) {
            (Some(r), None) => (TargetKind::Recommendation, r),
            (None, Some(c)) => (TargetKind::Cve, c),
            _ => {
                return Err(ApiError::BadRequest(
                    "give exactly one of recommendationId and cveId".into(),
                ));
            }
        };
        let justification = Justification::parse(&self.justification).ok_or_else(|| {
            let names: Vec<&str> = ALL_JUSTIFICATIONS.iter().map(|j| j.as_str()).collect();
            ApiError::BadRequest(format!(
                "justification: {:?} is not one of {}",
                self.justification,
                names.join(", ")
            ))
        })?;
        let duration = match (self.duration_days, self.expires_on) {
            (Some(days), None) => ExceptionDuration::Days(days),
            (None, Some(at)) => ExceptionDuration::Until(parse_time("expiresOn", &at, false)?),
            _ => {
                return Err(ApiError::BadRequest(
                    "give exactly one of durationDays and expiresOn".into(),
                ));
            }
        };
        let groups = match (self.global, self.device_groups) {
            (Some(true), None) => None,
            (None | Some(false), Some(groups)) => Some(groups),
            (Some(true), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "give global: true or deviceGroups, not both".into(),
                ));
            }
            (_, None) => {
                return Err(ApiError::BadRequest(
                    "give global: true or a list of deviceGroups".into(),
                ));
            }
        };
        Ok(ExceptionRequest {
            kind,
            target,
            justification,
            context: self.justification_context.unwrap_or_default(),
            groups,
            duration,
        })
    }
}

/// A list query split: the list query, whether CSV was asked for, and the extra parameters taken out.
type SplitQuery = (Query, bool, Vec<(String, String)>);

/// The query of a list with the Remediation page's extras: the list query, plus `format=csv` and the
/// named extra parameters (taken out before the list query sees them).
fn split_query(raw: Option<String>, extras: &[&str]) -> Result<SplitQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
    let mut rest = Vec::new();
    let mut taken = Vec::new();
    let mut csv = false;
    for (k, v) in pairs {
        if k == "format" {
            match v.as_str() {
                "csv" => csv = true,
                "json" => {}
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "format={other:?}: give csv or json"
                    )));
                }
            }
        } else if extras.contains(&k.as_str()) {
            taken.push((k, v));
        } else {
            rest.push((k, v));
        }
    }
    Ok((Query::parse(&rest)?, csv, taken))
}

/// A collection as JSON, or as CSV (see [`csv_response`]).
fn respond(collection: Collection, csv: bool, name: &str) -> Response {
    if !csv {
        return Json(collection).into_response();
    }
    csv_response(&collection.value, name)
}

/// Serialized items as a CSV download named `name.csv`: the columns are the first item's fields,
/// lists are joined with `;` (objects in them by their `name`), and cells a spreadsheet would run as
/// a formula are defused. The API's `format=csv` and the console's exports both answer this.
pub(crate) fn csv_response(items: &[Value], name: &str) -> Response {
    let Some(Value::Object(first)) = items.first() else {
        return (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            String::new(),
        )
            .into_response();
    };
    let columns: Vec<String> = first.keys().cloned().collect();
    let mut out = csv_line(columns.iter().map(String::as_str));
    for item in items {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match &item[c] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        Value::Object(o) => o
                            .get("name")
                            .and_then(Value::as_str)
                            .map_or_else(|| v.to_string(), str::to_string),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                other => other.to_string(),
            })
            .collect();
        out.push_str(&csv_line(cells.iter().map(String::as_str)));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        out,
    )
        .into_response()
}

fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let cells: Vec<String> = cells
        .map(|c| {
            // Cells that a spreadsheet would run as a formula are quoted with a leading apostrophe.
            let c = if c.starts_with(['=', '+', '-', '@']) {
                format!("'{c}")
            } else {
                c.to_string()
            };
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

/// Lists exceptions. Besides the list query (fields such as `justification`, `exceptionType`, `status`,
/// `recommendationId`, `createdBy`, `global`), `expiringWithinDays=N` keeps those in effect that expire
/// within N days, and `format=csv` answers CSV.
#[utoipa::path(
    get,
    path = "/api/exceptions",
    tag = "remediation",
    params(crate::routes::ListQuery),
    responses(
        (status = 200, description = "Exceptions", body = List<doc::Exception>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn list_exceptions(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (query, csv, extras) = split_query(raw, &["expiringWithinDays"])?;
    let query = listing::check::<ExceptionView>(query)?;
    let mut items = state.engine.exceptions().await?;
    if let Some((_, days)) = extras.first() {
        let days = expiring_days(days)?;
        let now = state.engine.now();
        items.retain(|e| e.expires_within(now, days));
    }
    Ok(respond(query.apply(items)?.0, csv, "exceptions"))
}

/// The value of an `expiringWithinDays` filter (the API's and the console's): whole days.
pub(crate) fn expiring_days(text: &str) -> Result<i64, ApiError> {
    text.trim().parse().map_err(|_| {
        ApiError::BadRequest(format!("expiringWithinDays={text:?} is not a whole number"))
    })
}

/// Creates an exception.
#[utoipa::path(
    post,
    path = "/api/exceptions",
    tag = "remediation",
    request_body = ExceptionBody,
    responses(
        (status = 201, description = "The exception, in effect", body = doc::Exception),
        (status = 400, description = "Invalid request (the message names the field)", body = ErrorBody),
        (status = 403, description = "The role may not create this exception", body = ErrorBody),
        (status = 404, description = "No such recommendation or vulnerability", body = ErrorBody),
        (status = 409, description = "An exception is already in effect for this scope", body = ErrorBody),
    )
)]
pub(crate) async fn create_exception(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<ExceptionBody>,
) -> Result<(StatusCode, Json<ExceptionView>), ApiError> {
    let view = state
        .engine
        .create_exception(&user, body.into_request()?)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The score change an exception would cause, without creating it.
#[utoipa::path(
    post,
    path = "/api/exceptions/preview",
    tag = "remediation",
    request_body = ExceptionBody,
    responses(
        (status = 200, description = "Exposure score before and after; covered weaknesses and devices", body = Object),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 409, description = "An exception is already in effect for this scope", body = ErrorBody),
    )
)]
pub(crate) async fn preview_exception(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<ExceptionBody>,
) -> Result<Json<bulwark_engine::ExceptionPreview>, ApiError> {
    Ok(Json(
        state
            .engine
            .preview_exception(&user, body.into_request()?)
            .await?,
    ))
}

fn exception_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("exception {text} not found")))
}

/// Gets one exception.
#[utoipa::path(
    get,
    path = "/api/exceptions/{id}",
    tag = "remediation",
    params(("id" = i64, Path, description = "Exception id")),
    responses(
        (status = 200, description = "The exception", body = doc::Exception),
        (status = 404, description = "No such exception", body = ErrorBody),
    )
)]
pub(crate) async fn get_exception(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ExceptionView>, ApiError> {
    Ok(Json(state.engine.exception(exception_id(&id)?).await?))
}

/// The body of a cancellation: some device groups, or (absent) the whole exception.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CancelBody {
    /// The device groups to cancel; absent: the whole exception.
    device_groups: Option<Vec<String>>,
}

/// Cancels an exception, or some of its device groups.
#[utoipa::path(
    post,
    path = "/api/exceptions/{id}/cancel",
    tag = "remediation",
    params(("id" = i64, Path, description = "Exception id")),
    request_body(content = CancelBody, description = "Optional: `{\"deviceGroups\": [...]}`"),
    responses(
        (status = 200, description = "The exception after cancellation", body = doc::Exception),
        (status = 403, description = "The role may not cancel it", body = ErrorBody),
        (status = 404, description = "No such exception or group", body = ErrorBody),
        (status = 409, description = "Already canceled or expired", body = ErrorBody),
    )
)]
pub(crate) async fn cancel_exception(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<ExceptionView>, ApiError> {
    let body: CancelBody = if body.iter().all(u8::is_ascii_whitespace) {
        CancelBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    Ok(Json(
        state
            .engine
            .cancel_exception(&user, exception_id(&id)?, body.device_groups)
            .await?,
    ))
}

/// Lists remediation activities (fields such as `status`, `priority`, `dueOn`; `format=csv`).
#[utoipa::path(
    get,
    path = "/api/remediationTasks",
    tag = "remediation",
    params(crate::routes::ListQuery),
    responses(
        (status = 200, description = "Remediation activities with live progress", body = Object),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn list_tasks(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (query, csv, _) = split_query(raw, &[])?;
    let query = listing::check::<TaskView>(query)?;
    Ok(respond(
        query.apply(state.engine.tasks().await?)?.0,
        csv,
        "remediation-activities",
    ))
}

/// Creates a remediation activity from a recommendation.
#[utoipa::path(
    post,
    path = "/api/remediationTasks",
    tag = "remediation",
    request_body(content = Object, description = "`{recommendationId, priority: High|Medium|Low, dueOn?, deviceGroups?, notes?}`; no dueOn: attention required"),
    responses(
        (status = 201, description = "The activity", body = Object),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 404, description = "No such recommendation", body = ErrorBody),
    )
)]
pub(crate) async fn create_task(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<TaskRequest>,
) -> Result<(StatusCode, Json<TaskView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.engine.create_task(&user, body).await?),
    ))
}

fn task_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("remediation activity {text} not found")))
}

/// Gets one remediation activity.
#[utoipa::path(
    get,
    path = "/api/remediationTasks/{id}",
    tag = "remediation",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The activity", body = Object),
        (status = 404, description = "No such activity", body = ErrorBody),
    )
)]
pub(crate) async fn get_task(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(state.engine.task(task_id(&id)?).await?))
}

/// Completes a remediation activity by hand.
#[utoipa::path(
    post,
    path = "/api/remediationTasks/{id}/complete",
    tag = "remediation",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The completed activity", body = Object),
        (status = 404, description = "No such activity", body = ErrorBody),
        (status = 409, description = "Already completed", body = ErrorBody),
    )
)]
pub(crate) async fn complete_task(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(
        state.engine.complete_task(&user, task_id(&id)?).await?,
    ))
}

/// The target devices of an activity, each with whether it is fixed.
#[utoipa::path(
    get,
    path = "/api/remediationTasks/{id}/machineReferences",
    tag = "remediation",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "`{value: [{id, computerDnsName, rbacGroupName, fixed}]}`", body = Object),
        (status = 404, description = "No such activity", body = ErrorBody),
    )
)]
pub(crate) async fn task_machines(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let machines = state.engine.task_machines(task_id(&id)?).await?;
    Ok(Json(serde_json::json!({ "value": machines })))
}

/// Lists the audit trail, oldest first (list query over the entries' fields).
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "remediation",
    params(crate::routes::ListQuery),
    responses(
        (status = 200, description = "Audit entries", body = List<doc::AuditEntry>),
        (status = 400, description = "Invalid query", body = ErrorBody),
    )
)]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (query, csv, _) = split_query(raw, &[])?;
    let query = listing::check::<AuditEntry>(query)?;
    let entries = state.engine.audit(&AuditFilter::default()).await?;
    Ok(respond(query.apply(entries)?.0, csv, "audit"))
}

/// The result of checking the audit chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditVerification {
    /// Whether every entry verifies.
    valid: bool,
    /// Entries checked (when valid).
    entries: Option<usize>,
    /// The first entry that does not verify.
    first_bad_entry: Option<i64>,
    /// Why.
    reason: Option<String>,
}

/// Checks the audit chain and names the first entry that does not verify.
#[utoipa::path(
    get,
    path = "/api/audit/verify",
    tag = "remediation",
    responses((status = 200, description = "The verification", body = AuditVerification))
)]
pub(crate) async fn verify_audit(
    State(state): State<AppState>,
) -> Result<Json<AuditVerification>, ApiError> {
    Ok(Json(match state.engine.verify_audit().await? {
        Ok(n) => AuditVerification {
            valid: true,
            entries: Some(n),
            first_bad_entry: None,
            reason: None,
        },
        Err(b) => AuditVerification {
            valid: false,
            entries: None,
            first_bad_entry: Some(b.seq),
            reason: Some(b.reason),
        },
    }))
}

/// The body of `POST /api/users`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UserBody {
    /// E-mail address.
    email: String,
    /// Display name.
    display_name: Option<String>,
    /// `viewer`, `analyst` or `admin`.
    role: String,
    /// A password (at least 12 characters) for the console; tokens need none.
    password: Option<String>,
}

/// Lists users.
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "remediation",
    responses((status = 200, description = "Users", body = Object))
)]
pub(crate) async fn list_users(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        serde_json::json!({ "value": state.engine.users().await? }),
    ))
}

/// Creates a user (admins only).
#[utoipa::path(
    post,
    path = "/api/users",
    tag = "remediation",
    request_body = UserBody,
    responses(
        (status = 201, description = "The user", body = Object),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The e-mail is taken", body = ErrorBody),
    )
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<UserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "role: {:?} is not one of viewer, analyst, admin",
            body.role
        ))
    })?;
    let user = state
        .engine
        .add_user(
            &actor,
            &body.email,
            body.display_name.as_deref(),
            role,
            body.password.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!(user))))
}

/// The body of `POST /api/users/{email}/tokens`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TokenBody {
    /// Days of validity; absent: no expiry.
    days: Option<u32>,
}

/// Creates an API token for a user (admins for anyone, users for themselves). The token is in the
/// answer once and never again.
#[utoipa::path(
    post,
    path = "/api/users/{email}/tokens",
    tag = "remediation",
    params(("email" = String, Path, description = "The user's e-mail")),
    request_body = TokenBody,
    responses(
        (status = 201, description = "`{token, record}`", body = Object),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    ApiPath(email): ApiPath<String>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<(StatusCode, Json<bulwark_engine::CreatedToken>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.engine.create_token(&actor, &email, body.days).await?),
    ))
}

/// The query of `GET /api/exceptions/export`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `cyclonedx` (default) or `openvex`.
    format: Option<String>,
}

/// Every exception as a VEX document: CycloneDX 1.6 VEX or OpenVEX 0.2.0, with expiry, owner and scope
/// as `bulwark:exception:*` facts (docs/exceptions-vex.md).
#[utoipa::path(
    get,
    path = "/api/exceptions/export",
    tag = "remediation",
    params(ExportQuery),
    responses(
        (status = 200, description = "The VEX document", body = Object),
        (status = 400, description = "Unknown format", body = ErrorBody),
    )
)]
pub(crate) async fn export_exceptions(
    State(state): State<AppState>,
    Caller(user): Caller,
    query: Result<axum::extract::Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let name = query.format.as_deref().unwrap_or("cyclonedx");
    let format = bulwark_engine::VexFormat::parse(name).ok_or_else(|| {
        ApiError::BadRequest(format!("format={name:?}: give cyclonedx or openvex"))
    })?;
    let exported = state.engine.export_exceptions(format, &user.email).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], exported.json).into_response())
}

/// The query of `POST /api/exceptions/import`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// `true`: create the proposals as the caller; otherwise they are only returned for review.
    apply: Option<bool>,
    /// The file's name (ignore files are recognised by it: `.trivyignore.yaml`, `osv-scanner.toml`,
    /// `deny.toml`, `.grype.yaml`); default `upload`.
    file_name: Option<String>,
    /// Duration of proposals whose file gives no expiry (default 90).
    days: Option<u32>,
}

/// Reads a VEX document or scanner ignore file (the body) as proposed exceptions; `apply=true` creates
/// them, each with the usual checks (refusals are reported per proposal).
#[utoipa::path(
    post,
    path = "/api/exceptions/import",
    tag = "remediation",
    params(ImportQuery),
    request_body(content = String, description = "The file's bytes"),
    responses(
        (status = 200, description = "`{format, applied, proposals: [{…, outcome, reason, exceptionId}], skipped}`", body = Object),
        (status = 415, description = "Not a VEX document or ignore file", body = ErrorBody),
        (status = 422, description = "Malformed (the message names the line or JSON path)", body = ErrorBody),
    )
)]
pub(crate) async fn import_exceptions(
    State(state): State<AppState>,
    Caller(user): Caller,
    query: Result<axum::extract::Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Bytes,
) -> Result<Json<bulwark_engine::ExceptionImport>, ApiError> {
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let name = query.file_name.as_deref().unwrap_or("upload");
    Ok(Json(
        state
            .engine
            .import_exceptions(
                &user,
                name,
                &body,
                query.apply.unwrap_or(false),
                query.days.unwrap_or(90),
            )
            .await?,
    ))
}

/// The exception policy: maximum duration, context length, the EPSS resurfacing threshold, whether a
/// resurfaced exception is voided, and the days after which an exception covering nothing is stale.
#[utoipa::path(
    get,
    path = "/api/settings/exceptionPolicy",
    tag = "remediation",
    responses((status = 200, description = "`{maxDurationDays, maxContextChars, epssThreshold, voidOnResurface, staleAfterDays}`", body = Object))
)]
pub(crate) async fn get_exception_policy(
    State(state): State<AppState>,
) -> Result<Json<bulwark_core::exception::ExceptionPolicy>, ApiError> {
    Ok(Json(state.engine.exception_policy().await?))
}

/// Replaces the exception policy (admins only; audited).
#[utoipa::path(
    put,
    path = "/api/settings/exceptionPolicy",
    tag = "remediation",
    request_body(content = Object, description = "`{maxDurationDays, maxContextChars, epssThreshold, voidOnResurface, staleAfterDays}`, all required"),
    responses(
        (status = 200, description = "The policy now in force", body = Object),
        (status = 400, description = "Invalid policy (the message names the field)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn put_exception_policy(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(policy): JsonBody<bulwark_core::exception::ExceptionPolicy>,
) -> Result<Json<bulwark_core::exception::ExceptionPolicy>, ApiError> {
    state.engine.set_exception_policy(&user, &policy).await?;
    Ok(Json(state.engine.exception_policy().await?))
}
