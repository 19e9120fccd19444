//! The API's one error type. Every failure — the engine's, a refused query, and axum's own rejections and
//! fallbacks — leaves the server as `{"error": {"code": "...", "message": "..."}}` with its status.

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use bulwark_engine::EngineError;
use bulwark_formats::FormatError;

use crate::odata::QueryError;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or names something that cannot exist.
    #[error("{0}")]
    BadRequest(String),
    /// 401: the request needs credentials it lacks (the message says which and how to configure them).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller's role does not allow the call.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource, or no such route.
    #[error("{0}")]
    NotFound(String),
    /// 409: the change conflicts with what is stored (a name already taken).
    #[error("{0}")]
    Conflict(String),
    /// 405: the route exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 413: the body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not any inventory format the server reads.
    #[error("{0}")]
    UnsupportedInventory(String),
    /// 422: the body is an inventory format, but malformed (the message names the line or path).
    #[error("{0}")]
    InvalidInventory(String),
    /// 500: a failure that is not the client's; the details are logged where it happened, never sent.
    #[error("internal error; the server log has the details")]
    Internal,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedInventory(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidInventory(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized(_) => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound(_) => "NotFound",
            ApiError::Conflict(_) => "Conflict",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::PayloadTooLarge(_) => "PayloadTooLarge",
            ApiError::UnsupportedInventory(_) | ApiError::InvalidInventory(_) => "InvalidInventory",
            ApiError::Internal => "InternalError",
        }
    }

    /// Logs a failure that is not the client's and hides it behind a 500.
    pub fn internal(context: &str, error: &dyn std::error::Error) -> ApiError {
        tracing::error!(error = %error, "{context}");
        ApiError::Internal
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// `BadRequest`, `Unauthorized`, `Forbidden`, `NotFound`, `Conflict`, `MethodNotAllowed`, `PayloadTooLarge`, `InvalidInventory` or
    /// `InternalError`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.to_string(),
            },
        };
        (self.status(), Json(body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        match error {
            EngineError::NotFound(_) => ApiError::NotFound(error.to_string()),
            EngineError::Invalid(message) => ApiError::BadRequest(message),
            EngineError::Conflict(message) => ApiError::Conflict(message),
            EngineError::Unauthorized(message) => ApiError::Unauthorized(message),
            EngineError::Forbidden(message) => ApiError::Forbidden(message),
            EngineError::Format(e) => e.into(),
            EngineError::Store(e) => ApiError::internal("store error", &e),
            EngineError::Internal(_) => ApiError::internal("engine error", &error),
        }
    }
}

impl From<FormatError> for ApiError {
    fn from(error: FormatError) -> ApiError {
        match error {
            FormatError::Parse { .. } => ApiError::InvalidInventory(error.to_string()),
            FormatError::UnknownFormat { .. } => ApiError::UnsupportedInventory(error.to_string()),
            FormatError::TooLarge { .. } => ApiError::PayloadTooLarge(error.to_string()),
            FormatError::Io { .. } => ApiError::internal("reading an input failed", &error),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> ApiError {
        ApiError::BadRequest(error.to_string())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::BadRequest(format!("invalid path: {}", rejection.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "the request body exceeds the limit of {} bytes",
                bulwark_formats::inventory::MAX_INVENTORY_BYTES
            ))
        } else {
            ApiError::BadRequest(format!(
                "could not read the request body: {}",
                rejection.body_text()
            ))
        }
    }
}

/// The fallback for paths no route serves.
pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

/// The fallback for a route asked with a method it does not serve.
pub(crate) async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} does not serve {method}", uri.path()))
}
