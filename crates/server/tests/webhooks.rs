//! Black-box tests of `/api/webhooks`: the server on 127.0.0.1:0 over a fresh store; admins register,
//! list and remove webhooks and read their deliveries, others are refused, bad input is a 400 naming
//! the field, and no answer ever holds a secret.

mod common;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use bulwark_core::SystemClock;
use bulwark_core::identity::Role;
use bulwark_engine::Engine;
use bulwark_server::AppState;

const SECRET: &str = "a-secret-of-some-length";

/// Starts the server; returns its base URL, an admin's client and an analyst's client.
async fn start() -> (
    String,
    reqwest::Client,
    reqwest::Client,
    bulwark_store::testing::FreshDatabase,
) {
    let (store, database) = bulwark_store::testing::fresh_store()
        .await
        .expect("open store");
    let engine = Engine::open(store, Arc::new(SystemClock))
        .await
        .expect("open engine");
    let admin = common::admin_client(&engine).await;
    let analyst = common::client_as(&engine, "ana@example.org", Role::Analyst).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(bulwark_server::serve(
        AppState::new(Arc::new(engine)),
        listener,
    ));
    (base, admin, analyst, database)
}

async fn answer(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// Asserts an error answer: its status, code, and the start of its message.
fn check_error(got: (StatusCode, String), status: StatusCode, code: &str, starts_with: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let body: Value = serde_json::from_str(&got.1).expect("JSON error");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(starts_with), "{message:?}");
}

#[tokio::test]
async fn admins_manage_webhooks_and_others_are_refused() {
    let (base, admin, analyst, _database) = start().await;
    let hooks = format!("{base}/api/webhooks");

    let anonymous = answer(reqwest::Client::new().get(&hooks).send().await.unwrap()).await;
    check_error(anonymous, StatusCode::UNAUTHORIZED, "Unauthorized", "");
    let body = json!({"url": "https://hooks.example.org/bulwark", "secret": SECRET});
    let refused = answer(analyst.post(&hooks).json(&body).send().await.unwrap()).await;
    check_error(
        refused,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "ana@example.org",
    );
    let refused = answer(analyst.get(&hooks).send().await.unwrap()).await;
    check_error(
        refused,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "ana@example.org",
    );

    for (body, starts_with) in [
        (
            json!({"url": "ftp://hooks.example.org", "secret": SECRET}),
            "url: ",
        ),
        (
            json!({"url": "hooks.example.org", "secret": SECRET}),
            "url: ",
        ),
        (
            json!({"url": "https://hooks.example.org", "secret": "short"}),
            "secret: ",
        ),
        (
            json!({"url": "https://hooks.example.org", "secret": SECRET, "events": ["exception.deleted"]}),
            "events: ",
        ),
        (
            json!({"url": "https://hooks.example.org", "secret": SECRET, "event": []}),
            "invalid JSON body at $.event: unknown field `event`",
        ),
        (json!({"secret": SECRET}), "invalid JSON body"),
    ] {
        let got = answer(admin.post(&hooks).json(&body).send().await.unwrap()).await;
        check_error(got, StatusCode::BAD_REQUEST, "BadRequest", starts_with);
    }

    let body = json!({
        "url": "https://hooks.example.org/bulwark",
        "secret": SECRET,
        "events": ["exception.expired", "exception.created"],
    });
    let (status, text) = answer(admin.post(&hooks).json(&body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(created["url"], "https://hooks.example.org/bulwark");
    assert_eq!(
        created["events"],
        json!(["exception.created", "exception.expired"])
    );
    assert!(created["createdAt"].is_string(), "{created}");
    let id = created["id"].as_i64().expect("id");

    let (status, text) = answer(admin.get(&hooks).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["value"], json!([created]));

    let deliveries = format!("{hooks}/{id}/deliveries");
    let (status, text) = answer(admin.get(&deliveries).send().await.unwrap()).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, r#"{"value":[]}"#));
    let refused = answer(analyst.get(&deliveries).send().await.unwrap()).await;
    check_error(
        refused,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "ana@example.org",
    );

    let one = format!("{hooks}/{id}");
    let refused = answer(analyst.delete(&one).send().await.unwrap()).await;
    check_error(
        refused,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "ana@example.org",
    );
    let removed = admin.delete(&one).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let again = answer(admin.delete(&one).send().await.unwrap()).await;
    check_error(again, StatusCode::NOT_FOUND, "NotFound", "webhook");
    let gone = answer(admin.get(&deliveries).send().await.unwrap()).await;
    check_error(gone, StatusCode::NOT_FOUND, "NotFound", "webhook");
    let not_an_id = answer(admin.delete(format!("{hooks}/abc")).send().await.unwrap()).await;
    check_error(not_an_id, StatusCode::NOT_FOUND, "NotFound", "webhook abc");
}
