//! Authentication of API calls: every call needs `Authorization: Bearer TOKEN` (an API token created with
//! `bulwark token create`), except the OpenAPI document and agent reports (which carry the agent token).
//! The authenticated user travels with the request to the handlers ([`Caller`]); the engine checks what
//! the user's role allows. Requests that change something need at least the analyst role.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use bulwark_core::identity::{Action, User};

use crate::AppState;
use crate::error::ApiError;

/// Paths served without a user token.
const PUBLIC: &[&str] = &["/api/openapi.json", "/api/agent/report"];

/// The user an API call acts for.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("this call needs an API token".into()))
    }
}

/// The middleware: resolves the bearer token to a user, or answers 401 / 403.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") || PUBLIC.contains(&path) {
        return next.run(request).await;
    }
    let token = match bearer(&request) {
        Ok(token) => token,
        Err(e) => return e.into_response(),
    };
    let user = match state.engine.authenticate(&token).await {
        Ok(user) => user,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reads && !user.role.may(Action::WriteInventory) {
        return ApiError::Forbidden(format!(
            "{} ({}) may only read; changes need the analyst or admin role",
            user.email,
            user.role.as_str()
        ))
        .into_response();
    }
    request.extensions_mut().insert(Caller(user));
    next.run(request).await
}

fn bearer(request: &Request) -> Result<String, ApiError> {
    let missing = || {
        ApiError::Unauthorized(
            "this API needs `Authorization: Bearer TOKEN`; create a token with \
             `bulwark token create --user EMAIL`"
                .into(),
        )
    };
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header must be `Bearer TOKEN`".into(),
        ));
    }
    Ok(token.trim().to_string())
}
