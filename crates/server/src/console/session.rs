//! Console sign-in: the login form, session cookies, CSRF tokens, sign-out, and the limit on failed
//! sign-ins.
//!
//! The session cookie holds a random secret (`bws_…`); the store keeps only its digest, and the engine
//! ends it after [`SESSION_IDLE`] unused or [`SESSION_LIFETIME`] in all. The cookie is `HttpOnly`,
//! `SameSite=Lax` and, when the console is reached over TLS (directly or through a proxy that sets
//! `X-Forwarded-Proto: https`), `Secure`. Each session's CSRF token is derived from its secret, so it
//! needs no storage and cannot be guessed without the cookie; the sign-in form, which has no session
//! yet, uses a double-submit cookie instead.
//!
//! [`SESSION_IDLE`]: bulwark_engine::SESSION_IDLE
//! [`SESSION_LIFETIME`]: bulwark_engine::SESSION_LIFETIME

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use maud::html;
use rand::RngCore;
use sha2::{Digest, Sha256};

use bulwark_engine::{EngineError, SESSION_LIFETIME};

use super::{Form, PageError, Params, Viewer, layout};
use crate::AppState;
use crate::error::ApiError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "bulwark_session";

/// The cookie of the sign-in form's double-submit CSRF token.
const LOGIN_COOKIE: &str = "bulwark_login";

/// The cookie that carries a confirmation to the next page (post/redirect/get).
pub const NOTICE_COOKIE: &str = "bulwark_notice";

/// The form field every console form carries its CSRF token in.
pub const CSRF_FIELD: &str = "csrf";

/// Failed sign-ins allowed per e-mail address, and per client address, within [`FAILURE_WINDOW`].
const MAX_FAILURES_PER_EMAIL: usize = 5;
const MAX_FAILURES_PER_CLIENT: usize = 20;

/// The window failed sign-ins are counted in.
const FAILURE_WINDOW: Duration = Duration::minutes(15);

/// The routes open without a session: the sign-in form and its submission.
pub(super) fn open_routes(router: Router<AppState>) -> Router<AppState> {
    router.route("/login", get(login_form).post(login))
}

/// The routes that need a session but are not pages: sign-out.
pub(super) fn protected_routes(router: Router<AppState>) -> Router<AppState> {
    router.route("/logout", post(logout))
}

/// The CSRF token of a session: derived from the session secret, so a page from another origin (which
/// cannot read the cookie) cannot know it.
pub(crate) fn csrf_token(secret: &str) -> String {
    let digest = Sha256::digest(format!("bulwark-console-csrf\0{secret}").as_bytes());
    hex::encode(&digest[..16])
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !b.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of a cookie in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the browser reached the console over TLS (cookies must then be `Secure`).
fn served_over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value with the console's attributes; `None` as max-age makes a browser-session
/// cookie, `Some(0)` removes it.
fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The cookie that shows `notice` on the next page.
pub(crate) fn notice_cookie(notice: &str, secure: bool) -> String {
    let encoded: String = url_encode(notice);
    set_cookie(NOTICE_COOKIE, &encoded, Some(60), secure)
}

fn url_encode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)])
        .map(|s| s.trim_start_matches("v=").to_string())
        .unwrap_or_default()
}

fn url_decode(text: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={text}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

/// A random secret, hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The middleware in front of every page: resolves the session cookie to a [`Viewer`], or sends the
/// browser to the sign-in form (pages) or answers 401 (forms, scripts). Removes a shown notice.
pub(super) async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let secure = served_over_tls(request.headers());
    let secret = cookie(request.headers(), SESSION_COOKIE).map(str::to_string);
    let resolved = match &secret {
        Some(secret) => state.engine.session(secret).await.map(|(_, user)| user),
        None => Err(EngineError::Unauthorized("no session".into())),
    };
    let user = match resolved {
        Ok(user) => user,
        Err(EngineError::Unauthorized(_)) => {
            if request.method() == Method::GET {
                let next = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                return Redirect::to(&format!("/login?next={}", url_encode(next))).into_response();
            }
            return PageError(ApiError::Unauthorized(
                "your session has ended; sign in again".into(),
            ))
            .into_response();
        }
        Err(e) => return PageError::from(e).into_response(),
    };
    let notice = cookie(request.headers(), NOTICE_COOKIE).and_then(url_decode);
    let had_notice = notice.is_some();
    let secret = secret.unwrap_or_default();
    request.extensions_mut().insert(Viewer {
        user,
        csrf: csrf_token(&secret),
        notice,
        secure,
    });
    let mut response = next.run(request).await;
    if had_notice
        && response.status() == StatusCode::OK
        && let Ok(clear) = HeaderValue::from_str(&set_cookie(NOTICE_COOKIE, "", Some(0), secure))
    {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Where to go after signing in: a local path only (never another site).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

/// `GET /login`: the sign-in form, with a fresh double-submit token.
async fn login_form(headers: HeaderMap, params: Params) -> Response {
    let secure = served_over_tls(&headers);
    login_page(
        StatusCode::OK,
        safe_next(params.get("next")),
        None,
        None,
        secure,
    )
}

fn login_page(
    status: StatusCode,
    next: &str,
    email: Option<&str>,
    error: Option<&str>,
    secure: bool,
) -> Response {
    let token = random_hex();
    let body = layout::bare(
        "Sign in",
        html! {
            div.login {
                h1 { "Sign in to Bulwark" }
                @if let Some(error) = error {
                    p.error-message role="alert" id="login-error" { (error) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(token);
                    input type="hidden" name="next" value=(next);
                    label for="email" { "E-mail" }
                    input #email type="email" name="email" autocomplete="username" required
                        autofocus value=(email.unwrap_or(""))
                        aria-describedby=[error.map(|_| "login-error")];
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button.primary type="submit" { "Sign in" }
                }
                p.hint {
                    "No account yet? An administrator creates one with "
                    code { "bulwark user add EMAIL --role analyst --password-stdin" }
                    " (the password is read from standard input); "
                    code { "bulwark user password EMAIL" } " sets a new one."
                }
            }
        },
    );
    let mut response = (status, Html(body.into_string())).into_response();
    let headers = response.headers_mut();
    super::no_store(headers);
    if let Ok(cookie) = HeaderValue::from_str(&set_cookie(LOGIN_COOKIE, &token, None, secure)) {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// Failed sign-ins, per e-mail address and per client address, within [`FAILURE_WINDOW`] (kept in this
/// process: each replica limits on its own).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl LoginLimiter {
    /// When `key` may try again, if it has used up its `limit` of failures.
    fn blocked_until(&self, key: &str, limit: usize, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let times = failures.get_mut(key)?;
        while times.front().is_some_and(|t| *t + FAILURE_WINDOW <= now) {
            times.pop_front();
        }
        (times.len() >= limit)
            .then(|| times.front().map(|t| *t + FAILURE_WINDOW))
            .flatten()
    }

    fn fail(&self, key: String, now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded memory under a flood of distinct keys: forget everyone's history when too many.
        if failures.len() > 100_000 {
            failures.clear();
        }
        failures.entry(key).or_default().push_back(now);
    }

    fn succeed(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

/// The client's address as the limiter keys it: the socket's peer address.
fn client_key(peer: Option<std::net::SocketAddr>) -> String {
    format!(
        "client:{}",
        peer.map(|p| p.ip().to_string()).unwrap_or_default()
    )
}

/// `POST /login`: checks the double-submit token, the failure limits and the password; starts a
/// session and goes to `next`.
async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let secure = served_over_tls(&headers);
    let form = match Form::parse(&body) {
        Ok(form) => form,
        Err(e) => return e.into_response(),
    };
    let next = safe_next(form.get("next")).to_string();
    let email = form.get("email").unwrap_or("").to_lowercase();
    let sent = form.get(CSRF_FIELD).unwrap_or("");
    if !same_secret(sent, cookie(&headers, LOGIN_COOKIE).unwrap_or("")) {
        return login_page(
            StatusCode::FORBIDDEN,
            &next,
            Some(&email),
            Some("The sign-in form expired; submit it again."),
            secure,
        );
    }
    let (Some(_), Some(password)) = (form.get("email"), form.get("password")) else {
        return login_page(
            StatusCode::BAD_REQUEST,
            &next,
            Some(&email),
            Some("Enter your e-mail address and password."),
            secure,
        );
    };
    let now = state.engine.now();
    let limiter = &state.login_limiter;
    let email_key = format!("email:{email}");
    let client = client_key(peer.map(|c| (c.0).0));
    let blocked = limiter
        .blocked_until(&email_key, MAX_FAILURES_PER_EMAIL, now)
        .or_else(|| limiter.blocked_until(&client, MAX_FAILURES_PER_CLIENT, now));
    if let Some(until) = blocked {
        let minutes = ((until - now).num_seconds() + 59) / 60;
        tracing::warn!(email, "sign-in refused: too many failed attempts");
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(&email),
            Some(&format!(
                "Too many failed sign-ins. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )),
            secure,
        );
    }
    match state.engine.sign_in(&email, password).await {
        Ok(started) => {
            limiter.succeed(&email_key);
            tracing::info!(email = %started.user.email, session = started.session.id, "signed in");
            let mut response = Redirect::to(&next).into_response();
            let cookie = set_cookie(
                SESSION_COOKIE,
                &started.secret,
                Some(SESSION_LIFETIME.num_seconds()),
                secure,
            );
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, value);
            }
            if let Ok(value) = HeaderValue::from_str(&set_cookie(LOGIN_COOKIE, "", Some(0), secure))
            {
                headers.append(header::SET_COOKIE, value);
            }
            response
        }
        Err(EngineError::Unauthorized(message)) => {
            limiter.fail(email_key, now);
            limiter.fail(client, now);
            tracing::warn!(email, "sign-in failed");
            login_page(
                StatusCode::UNAUTHORIZED,
                &next,
                Some(&email),
                Some(&capitalised(&message)),
                secure,
            )
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// `POST /logout`: ends the session (CSRF-checked, so another site cannot sign the user out).
async fn logout(State(state): State<AppState>, headers: HeaderMap, _form: Form) -> Response {
    let secure = served_over_tls(&headers);
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.engine.sign_out(secret).await
    {
        return PageError::from(e).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", Some(0), secure)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/recommendations?x=1")),
            "/recommendations?x=1"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn notices_survive_the_cookie() {
        let cookie = notice_cookie("Exception created: 3 devices; score 41 → 37", false);
        let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        assert_eq!(
            url_decode(value).as_deref(),
            Some("Exception created: 3 devices; score 41 → 37")
        );
        assert!(!value.contains(' ') && !value.contains(';'));
    }

    #[test]
    fn failures_block_then_age_out() {
        let limiter = LoginLimiter::default();
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        for i in 0..3 {
            assert_eq!(limiter.blocked_until("k", 3, t0), None);
            limiter.fail("k".into(), t0 + Duration::minutes(i));
        }
        assert_eq!(
            limiter.blocked_until("k", 3, t0 + Duration::minutes(5)),
            Some(t0 + FAILURE_WINDOW)
        );
        assert_eq!(limiter.blocked_until("k", 3, t0 + FAILURE_WINDOW), None);
        limiter.succeed("k");
        assert_eq!(limiter.blocked_until("k", 1, t0), None);
    }
}
