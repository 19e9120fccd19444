//! The web console: server-rendered HTML pages for analysts, served by `bulwark serve` beside the API.
//!
//! Every page works without JavaScript (links, forms, post/redirect/get); `assets/console.js` only
//! makes flyouts and filters answer without a reload. Pages read through the same [`Engine`] calls
//! as the API and page their lists, so a page never renders the whole fleet.
//!
//! Architecture invariants:
//! * Every page except the sign-in form needs a console session ([`session`]); every form that
//!   changes something carries the session's CSRF token and is refused without it ([`Form`]).
//! * HTML is built with `maud`, which escapes every interpolated value: no page concatenates markup
//!   from strings.
//! * Errors are the API's [`ApiError`] rendered as a page ([`PageError`]): one mapping from engine
//!   errors to statuses for both interfaces.
//!
//! [`Engine`]: bulwark_engine::Engine

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};

use bulwark_core::identity::User;

use crate::AppState;
use crate::error::ApiError;

mod assets;
mod audit;
mod charts;
mod dashboard;
mod devices;
pub(crate) mod layout;
mod recommendations;
mod remediation;
pub(crate) mod session;
mod settings;
mod software;
mod weaknesses;

pub use session::{CSRF_FIELD, NOTICE_COOKIE, SESSION_COOKIE};

/// The console's routes: the sign-in form and static assets open to all, every other page behind
/// a session.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    let pages = Router::new();
    let pages = dashboard::routes(pages);
    let pages = recommendations::routes(pages);
    let pages = remediation::routes(pages);
    let pages = weaknesses::routes(pages);
    let pages = devices::routes(pages);
    let pages = software::routes(pages);
    let pages = audit::routes(pages);
    let pages = settings::routes(pages);
    let pages = session::protected_routes(pages).layer(axum::middleware::from_fn_with_state(
        state,
        session::require_session,
    ));
    let open = session::open_routes(Router::new())
        .route("/static/console.css", get(assets::css))
        .route("/static/console.js", get(assets::js));
    pages.merge(open)
}

/// The signed-in user a page is rendered for, with what its forms need.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who is signed in.
    pub user: User,
    /// The CSRF token every form of this session carries in [`CSRF_FIELD`].
    pub csrf: String,
    /// A confirmation left by the previous request (post/redirect/get), shown once at the top.
    pub notice: Option<String>,
    /// Whether the console is served over TLS (cookies get `Secure`).
    pub secure: bool,
}

impl Viewer {
    /// Whether the user's role allows `action` (forms the role may not submit are not offered).
    pub fn may(&self, action: bulwark_core::identity::Action) -> bool {
        self.user.role.may(action)
    }

    /// 403 unless the user's role allows `action`, with the API's message: for changes the engine
    /// does not check itself (devices and device groups, which the API's middleware guards).
    pub fn require(&self, action: bulwark_core::identity::Action) -> Result<(), PageError> {
        if self.may(action) {
            return Ok(());
        }
        Err(PageError(ApiError::Forbidden(format!(
            "the {} role may not {}",
            self.user.role.as_str(),
            action.describe()
        ))))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Viewer, PageError> {
        parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .ok_or_else(|| PageError(ApiError::Unauthorized("sign in first".into())))
    }
}

/// The largest form body accepted (exception contexts are at most a few thousand characters; an
/// import goes through the API).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A submitted form whose CSRF token matched the session's: its fields in order, repeated names kept
/// (checkbox groups). Extracting it refuses a missing or wrong token with 403 and a body that is not
/// a form with 400.
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// The fields, parsed from an `application/x-www-form-urlencoded` body or query.
    pub fn parse(bytes: &[u8]) -> Result<Form, PageError> {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|e| PageError::bad_request(format!("the form cannot be read: {e}")))?;
        Ok(Form { fields })
    }

    /// The first value of a field, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of a required field, or a 400 naming it.
    pub fn required(&self, name: &str) -> Result<&str, PageError> {
        self.get(name)
            .ok_or_else(|| PageError::bad_request(format!("{name}: required")))
    }

    /// Every non-blank value of a repeated field (checkboxes, multi-selects), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The first value of a field parsed as `T`, or a 400 naming the field and the value.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, PageError> {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| PageError::bad_request(format!("{name}: {v:?} is not valid")))
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Form, PageError> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::bad_request(
                "expected a form (application/x-www-form-urlencoded)",
            ));
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                PageError(ApiError::PayloadTooLarge(format!(
                    "a form may hold at most {MAX_FORM_BYTES} bytes"
                )))
            })?;
        let form = Form::parse(&bytes)?;
        let sent = form.get(CSRF_FIELD).unwrap_or("");
        if !session::same_secret(sent, &viewer.csrf) {
            return Err(PageError(ApiError::Forbidden(
                "the form's security token is missing or out of date; reload the page and submit again"
                    .into(),
            )));
        }
        Ok(form)
    }
}

/// The query string of a page, as ordered pairs, to read filters and to build links that keep them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The first non-blank value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// Every non-blank value of a repeated parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A parameter parsed as `T`; a value that does not parse is a 400 naming the parameter.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, PageError> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<T>().map_err(|_| {
                    PageError::bad_request(format!("query parameter {name}: {v:?} is not valid"))
                })
            })
            .transpose()
    }

    /// The query string with `name` set to `value` (replacing every earlier value; `None` removes
    /// it), starting with `?` (or empty when nothing is left). Changing a filter goes back to page 1.
    pub fn with(&self, name: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != name && (name == "page" || k != "page"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(value) = value {
            pairs.push((name, value));
        }
        if pairs.is_empty() {
            return String::new();
        }
        format!(
            "?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }

    /// The pairs, for hidden fields that carry the current filters through a form.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Params, PageError> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| PageError::bad_request(format!("the query string cannot be read: {e}")))?;
        Ok(Params { pairs })
    }
}

/// A failure shown as a page: the API's error (same statuses, same messages), in HTML.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl PageError {
    /// 400 with a message that names the field or parameter.
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError(ApiError::BadRequest(message.into()))
    }

    /// 404 for something that does not exist.
    pub fn not_found(message: impl Into<String>) -> PageError {
        PageError(ApiError::NotFound(message.into()))
    }
}

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(error: E) -> PageError {
        PageError(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let title = status.canonical_reason().unwrap_or("Error");
        let body = layout::bare(
            title,
            html! {
                h1 { (status.as_u16()) " " (title) }
                p.error-message role="alert" { (self.0.to_string()) }
                p { a href="/" { "Back to the dashboard" } }
            },
        );
        let mut response = (status, Html(body.into_string())).into_response();
        no_store(response.headers_mut());
        response
    }
}

/// A page's HTML response (`text/html`, never cached: pages show live state and CSRF tokens).
pub fn html_response(markup: Markup) -> Response {
    let mut response = Html(markup.into_string()).into_response();
    no_store(response.headers_mut());
    response
}

/// Marks a response as not to be cached by browsers or proxies.
pub(crate) fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The answer to a form that succeeded: back to `to` (post/redirect/get), with `notice` shown once at
/// the top of that page.
pub fn done(viewer: &Viewer, to: &str, notice: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::notice_cookie(notice, viewer.secure)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The HTML 404 for paths outside the API that no page serves.
pub(crate) async fn no_page() -> Response {
    PageError::not_found("no page at this address").into_response()
}
