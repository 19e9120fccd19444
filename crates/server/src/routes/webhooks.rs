//! `/api/webhooks`: registering the receivers of Bulwark's events (admins only) and reading what was
//! delivered to each. Deliveries themselves are the server's background job.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use bulwark_core::webhook::Webhook;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::routes::{ApiPath, JsonBody};

/// The body of `POST /api/webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct WebhookBody {
    /// Where events are POSTed: an `http` or `https` URL.
    url: String,
    /// The HMAC-SHA256 key of the `X-Bulwark-Signature` header (at least 16 characters; never shown
    /// again).
    secret: String,
    /// The events to receive: `exception.created`, `exception.expiring`, `exception.expired`,
    /// `exception.resurfaced`, `remediation.completed` (absent or empty: every event).
    events: Option<Vec<String>>,
}

fn webhook_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("webhook {text} not found")))
}

/// Lists webhooks, without their secrets (admins only).
#[utoipa::path(
    get,
    path = "/api/webhooks",
    tag = "remediation",
    responses(
        (status = 200, description = "`{value: [{id, url, events, createdAt}]}`", body = Object),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Value>, ApiError> {
    let webhooks = state.engine.webhooks(&user).await?;
    Ok(Json(serde_json::json!({ "value": webhooks })))
}

/// Registers a webhook (admins only).
#[utoipa::path(
    post,
    path = "/api/webhooks",
    tag = "remediation",
    request_body = WebhookBody,
    responses(
        (status = 201, description = "The webhook `{id, url, events, createdAt}`", body = Object),
        (status = 400, description = "Invalid URL, secret or event", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    let events = body.events.unwrap_or_default();
    let webhook = state
        .engine
        .add_webhook(&user, &body.url, &body.secret, &events)
        .await?;
    Ok((StatusCode::CREATED, Json(webhook)))
}

/// Removes a webhook and its deliveries (admins only).
#[utoipa::path(
    delete,
    path = "/api/webhooks/{id}",
    tag = "remediation",
    params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
    )
)]
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.remove_webhook(&user, webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The deliveries of a webhook, oldest first: each event's payload, attempts, next attempt, delivery
/// time and last error (admins only).
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}/deliveries",
    tag = "remediation",
    params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "`{value: [{id, webhookId, event, payload, attempts, nextAttemptAt, deliveredAt, lastError}]}`", body = Object),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
    )
)]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let deliveries = state
        .engine
        .webhook_deliveries(&user, webhook_id(&id)?)
        .await?;
    Ok(Json(serde_json::json!({ "value": deliveries })))
}
