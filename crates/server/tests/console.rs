//! The console's sign-in and the rules every page shares: sessions (cookie attributes, idle timeout,
//! sign-out), CSRF checks on forms, the limit on failed sign-ins, redirects of signed-out browsers,
//! HTML 404s outside the API, and static assets.

mod common;

use bulwark_core::identity::Role;
use common::{ConsoleApp, TEST_PASSWORD, console_sign_in, hidden_value};

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn signed_out_browsers_go_to_the_sign_in_form_and_come_back() {
    let app = ConsoleApp::empty().await;
    let response = plain_client()
        .get(format!("{}/?impact=hybrid", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2F%3Fimpact%3Dhybrid"
    );
    let form = plain_client()
        .get(format!("{}/login?next=%2Fdevices", app.base))
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("bulwark_login="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let body = form.text().await.unwrap();
    assert!(body.contains(r#"name="next" value="/devices""#), "{body}");
    assert!(body.contains(r#"<label for="email">"#), "labelled fields");
    // Another site as `next` is dropped.
    let body = plain_client()
        .get(format!(
            "{}/login?next=https%3A%2F%2Fevil.example",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains(r#"name="next" value="/""#), "{body}");
}

#[tokio::test]
async fn signing_in_sets_a_session_cookie_and_signing_out_ends_it() {
    let app = ConsoleApp::empty().await;
    let console = app.sign_in("ana@example.org", Role::Analyst).await;
    let (status, page) = console.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("ana · analyst"), "{page}");

    // A form without the token, or with another session's, is refused and changes nothing.
    let (status, _, body) = console.post_raw("/logout", &[]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("security token"), "{body}");
    let (status, _, _) = console.post_raw("/logout", &[("csrf", "0123")]).await;
    assert_eq!(status, 403);
    assert_eq!(console.get("/").await.0, 200, "still signed in");

    let (status, location, _) = console.post("/logout", &[]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/login")));
    let (status, _) = console.get("/").await;
    assert_eq!(status, 303, "the cookie is gone");
}

#[tokio::test]
async fn a_copied_session_cookie_stops_working_at_sign_out() {
    let app = ConsoleApp::empty().await;
    let _console = app.sign_in("ana@example.org", Role::Viewer).await;
    let session = app
        .engine
        .sign_in("ana@example.org", TEST_PASSWORD)
        .await
        .unwrap()
        .secret;
    let copy = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = || {
        copy.get(format!("{}/", app.base))
            .header("cookie", format!("bulwark_session={session}"))
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    app.engine.sign_out(&session).await.unwrap();
    assert_eq!(get().await.unwrap().status(), 303, "the server ended it");
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout() {
    let app = ConsoleApp::empty().await;
    let console = app.sign_in("ana@example.org", Role::Viewer).await;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(console.get("/").await.0, 200, "used within the timeout");
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(console.get("/").await.0, 200, "the last use counts");
    app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        console.get("/").await.0,
        303,
        "idle for more than 30 minutes"
    );
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_rate_limited() {
    let app = ConsoleApp::empty().await;
    let _ana = app.sign_in("ana@example.org", Role::Viewer).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let attempt = |password: &'static str| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            let form = client.get(format!("{base}/login")).send().await.unwrap();
            let token = hidden_value(&form.text().await.unwrap(), "csrf").unwrap();
            let response = client
                .post(format!("{base}/login"))
                .form(&[
                    ("csrf", token.as_str()),
                    ("email", "Ana@Example.org"),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    for _ in 0..5 {
        let (status, body) = attempt("wrong password here").await;
        assert_eq!(status, 401);
        assert!(body.contains("Wrong e-mail or password."), "{body}");
        assert!(
            body.contains(r#"value="ana@example.org""#),
            "the e-mail is kept"
        );
    }
    let (status, body) = attempt(TEST_PASSWORD).await;
    assert_eq!(status, 429, "even the right password waits: {body}");
    assert!(body.contains("Try again in 15 minutes."), "{body}");
    app.clock.advance(chrono::Duration::minutes(15));
    let (status, _) = attempt(TEST_PASSWORD).await;
    assert_eq!(status, 303, "the window has passed");

    // Without the sign-in form's own token, nothing is checked.
    let response = plain_client()
        .post(format!("{}/login", app.base))
        .form(&[("email", "ana@example.org"), ("password", TEST_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn cookies_are_secure_behind_a_tls_proxy() {
    let app = ConsoleApp::empty().await;
    let client = plain_client();
    let form = client
        .get(format!("{}/login", app.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    // And a user signing in through it gets a Secure session cookie.
    app.engine
        .add_user(
            &bulwark_engine::local_admin(),
            "ana@example.org",
            None,
            Role::Viewer,
            Some(TEST_PASSWORD),
        )
        .await
        .unwrap();
    let token = hidden_value(&form.text().await.unwrap(), "csrf").unwrap();
    let response = client
        .post(format!("{}/login", app.base))
        .header("x-forwarded-proto", "https")
        .header("cookie", format!("bulwark_login={token}"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", "ana@example.org"),
            ("password", TEST_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("bulwark_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Secure"),
        "{session}"
    );
}

#[tokio::test]
async fn unknown_pages_are_html_and_unknown_api_paths_stay_json() {
    let app = ConsoleApp::empty().await;
    let console = console_sign_in_admin(&app).await;
    let (status, body) = console.get("/no-such-page").await;
    assert_eq!(status, 404);
    assert!(body.contains("<!DOCTYPE html>") && body.contains("no page at this address"));
    // The API answers in JSON, whatever the path: without a token, that it needs one.
    let response = plain_client()
        .get(format!("{}/api/no-such-route", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"]["code"], "Unauthorized");
}

#[tokio::test]
async fn static_assets_are_served_with_caching() {
    let app = ConsoleApp::empty().await;
    for (path, kind) in [
        ("/static/console.css", "text/css"),
        ("/static/console.js", "text/javascript"),
    ] {
        let response = plain_client()
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
    }
}

async fn console_sign_in_admin(app: &ConsoleApp) -> common::ConsoleClient {
    app.engine
        .add_user(
            &bulwark_engine::local_admin(),
            "admin@example.org",
            None,
            Role::Admin,
            Some(TEST_PASSWORD),
        )
        .await
        .unwrap();
    console_sign_in(&app.base, "admin@example.org", TEST_PASSWORD).await
}
