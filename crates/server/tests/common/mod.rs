//! What the server's test files share: an HTTP client that authenticates as a fresh admin user.

use bulwark_core::identity::Role;
use bulwark_engine::{Engine, local_admin};

/// Adds a user with `role` and returns an HTTP client that sends a fresh API token of theirs with
/// every request.
pub async fn client_as(engine: &Engine, email: &str, role: Role) -> reqwest::Client {
    engine
        .add_user(&local_admin(), email, None, role, None)
        .await
        .expect("add user");
    let token = engine
        .create_token(&local_admin(), email, None)
        .await
        .expect("create token")
        .token;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// An admin's client (see [`client_as`]).
pub async fn admin_client(engine: &Engine) -> reqwest::Client {
    client_as(engine, "admin@example.org", Role::Admin).await
}
