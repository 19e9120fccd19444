//! The console's Devices, Software, Audit log and Settings pages on the seeded fleet: real content,
//! filters, sorting and paging, the device form changing what the engine scores, every settings form
//! with CSRF rejection, role limits and bad input, and 404s for unknown ids.

mod common;

use bulwark_core::exception::{ExceptionDuration, ExceptionRequest, Justification, TargetKind};
use bulwark_core::identity::Role;
use bulwark_core::score::DeviceValue;
use bulwark_core::webhook::EventKind;
use bulwark_engine::local_admin;
use common::{ConsoleApp, hidden_value, table_rows};

/// The position of `needle` in `page` (to check orders).
fn at(page: &str, needle: &str) -> usize {
    page.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {page}"))
}

#[tokio::test]
async fn the_device_list_filters_sorts_and_pages() {
    let empty = ConsoleApp::empty().await;
    let console = empty.sign_in("vic@example.org", Role::Viewer).await;
    let (status, page) = console.get("/devices").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("No devices yet") && page.contains("bulwark ingest"),
        "{page}"
    );

    let app = ConsoleApp::seeded().await;
    let console = app.sign_in("vic@example.org", Role::Viewer).await;
    let web01 = app.engine.machine("web-01").await.unwrap();
    let (status, page) = console.get("/devices").await;
    assert_eq!(status, 200);
    assert_eq!(table_rows(&page, "devices"), 3);
    assert!(page.contains(&format!(r#"href="/devices/{}">web-01</a>"#, web01.id)));
    assert!(page.contains("internet-facing"));
    assert!(page.contains(&format!(
        "{:.1}",
        web01.exposure_score.expect("web-01 is scored")
    )));
    // Most exposed first by default: web-01 is internet-facing and carries the most weaknesses.
    assert!(at(&page, ">web-01<") < at(&page, ">web-02<"));
    assert!(
        page.contains(r#"<td class="num">4</td>"#),
        "web-01's 4 vulnerabilities"
    );

    let (_, page) = console.get("/devices?sort=name&dir=asc").await;
    assert!(at(&page, ">db-01<") < at(&page, ">web-01<"));
    assert!(page.contains(r#"aria-sort="ascending""#));
    let (_, page) = console.get("/devices?group=db").await;
    assert_eq!(table_rows(&page, "devices"), 1);
    assert!(page.contains(">db-01<") && page.contains("1 of 3 devices"));
    let (_, page) = console.get("/devices?tag=internet-facing").await;
    assert_eq!(table_rows(&page, "devices"), 1);
    let (_, page) = console.get("/devices?q=WEB").await;
    assert_eq!(table_rows(&page, "devices"), 2);
    let level = format!("{:?}", web01.exposure_level.expect("a level"));
    let (_, page) = console
        .get(&format!("/devices?level={level}&q=web-01"))
        .await;
    assert_eq!(table_rows(&page, "devices"), 1);
    let (_, page) = console.get("/devices?value=High").await;
    assert!(page.contains("No device matches these filters"));
    let (_, page) = console.get("/devices?level=inactive").await;
    assert!(page.contains("No device matches these filters"));
    for (bad, field) in [
        ("level=Severe", "level"),
        ("value=Huge", "value"),
        ("sort=colour", "sort"),
        ("per=3", "per"),
        ("page=x", "page"),
    ] {
        let (status, body) = console.get(&format!("/devices?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body.contains(field), "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_device_page_shows_scores_weaknesses_software_recommendations_and_exceptions() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let viewer = app.sign_in("vic@example.org", Role::Viewer).await;
    let web01 = app.engine.machine("web-01").await.unwrap();
    let admin = local_admin();
    let cve = app
        .engine
        .create_exception(
            &admin,
            ExceptionRequest {
                kind: TargetKind::Cve,
                target: "CVE-2024-1004".into(),
                justification: Justification::RiskAccepted,
                context: "abandoned is vendored and unused".into(),
                groups: None,
                duration: ExceptionDuration::Days(30),
            },
        )
        .await
        .unwrap();
    let db_only = app
        .engine
        .create_exception(
            &admin,
            ExceptionRequest {
                kind: TargetKind::Recommendation,
                target: "va-_-crates.io-_-vulnlib".into(),
                justification: Justification::ThirdPartyControl,
                context: "the db network is closed".into(),
                groups: Some(vec!["db".into()]),
                duration: ExceptionDuration::Days(30),
            },
        )
        .await
        .unwrap();

    let path = format!("/devices/{}", web01.id);
    let (status, page) = analyst.get(&path).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"<h1 id="device-name">web-01</h1>"#),
        "{page}"
    );
    let score = app.engine.device_score("web-01").await.unwrap();
    assert!(page.contains(&format!(
        r#"<span class="stat-value" id="device-exposure-score">{:.1}</span>"#,
        score.exposure_score
    )));
    assert!(page.contains("No configuration assessment yet"));
    assert!(
        page.contains("4 open vulnerabilities; lower is better."),
        "the score card counts the weaknesses listed below"
    );
    assert_eq!(table_rows(&page, "device-weakness-table"), 4);
    let vulnerabilities = app.engine.machine_vulnerabilities("web-01").await.unwrap();
    for v in &vulnerabilities {
        assert!(page.contains(&format!(">{}</a>", v.id)), "{}", v.id);
        assert!(page.contains(&v.name), "{}", v.name);
    }
    assert_eq!(table_rows(&page, "device-software-table"), 3);
    assert!(page.contains(">oldcrate<") && page.contains(">0.9.0<"));
    assert_eq!(table_rows(&page, "device-recommendation-table"), 3);
    assert!(page.contains("Update vulnlib to 1.4.0") && page.contains("Uninstall abandoned"));
    assert_eq!(
        table_rows(&page, "device-exception-table"),
        1,
        "not the db group's"
    );
    assert!(page.contains(&format!(
        "/remediation?tab=exceptions&amp;flyout={}",
        cve.id
    )));
    assert!(!page.contains(&format!("flyout={}\"", db_only.id)));
    assert!(page.contains(r#"id="device-form""#));

    let (_, page) = viewer.get(&path).await;
    assert!(!page.contains("device-form"), "viewers get no form");
    let (status, page) = viewer.get("/devices/web-02").await;
    assert_eq!(status, 200, "by name too");
    assert_eq!(
        table_rows(&page, "device-recommendation-table"),
        1,
        "vulnlib only"
    );
    let (_, page) = viewer.get("/devices/db-01").await;
    assert_eq!(
        table_rows(&page, "device-exception-table"),
        1,
        "db-01 has the db group's"
    );
    assert!(
        page.contains(&format!(
            r#"<a href="/remediation?tab=exceptions&amp;flyout={}">Update vulnlib to 1.4.0</a>"#,
            db_only.id
        )),
        "the exception names its recommendation: {page}"
    );
    assert_eq!(viewer.get("/devices/9999").await.0, 404);
    assert_eq!(viewer.get("/devices/nope").await.0, 404);
}

#[tokio::test]
async fn changing_a_device_s_value_and_group_changes_what_the_engine_scores() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let viewer = app.sign_in("vic@example.org", Role::Viewer).await;
    let web02 = app.engine.machine("web-02").await.unwrap();
    let path = format!("/devices/{}", web02.id);
    let before = app.engine.exposure().await.unwrap().score;

    let fields = [("value", "High"), ("group", "web"), ("group_was", "web")];
    assert_eq!(viewer.post(&path, &fields).await.0, 403);
    assert_eq!(
        analyst.post_raw(&path, &fields).await.0,
        403,
        "no CSRF token"
    );
    let (status, body) = {
        let (s, _, b) = analyst.post(&path, &[("value", "Huge")]).await;
        (s, b)
    };
    assert_eq!(status, 400);
    assert!(body.contains("value"), "{body}");
    assert_eq!(analyst.post("/devices/9999", &fields).await.0, 404);

    let (status, location, _) = analyst.post(&path, &fields).await;
    assert_eq!((status, location.as_deref()), (303, Some(path.as_str())));
    let after = app.engine.machine("web-02").await.unwrap();
    assert_eq!(after.device_value, DeviceValue::High);
    assert_eq!(
        after.rbac_group_name, "web",
        "unchanged group stays as it was"
    );
    let score = app.engine.exposure().await.unwrap().score;
    assert_ne!(
        score, before,
        "a High-value device weighs more in the organisation's score"
    );
    let (_, page) = analyst.get(&path).await;
    assert!(
        page.contains("Device web-02 saved: value High, group web."),
        "{page}"
    );
    assert!(page.contains(r#"<dd id="device-value">High</dd>"#));

    let (status, _, _) = analyst
        .post(
            &path,
            &[("value", "High"), ("group", "ops"), ("group_was", "web")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.engine.machine("web-02").await.unwrap().rbac_group_name,
        "ops"
    );
    let (_, page) = analyst.get("/devices?group=ops").await;
    assert_eq!(table_rows(&page, "devices"), 1);
}

#[tokio::test]
async fn the_software_inventory_lists_every_product_with_its_exposure() {
    let empty = ConsoleApp::empty().await;
    let console = empty.sign_in("vic@example.org", Role::Viewer).await;
    let (_, page) = console.get("/software").await;
    assert!(
        page.contains("No software yet") && page.contains("bulwark agent"),
        "{page}"
    );

    let app = ConsoleApp::seeded().await;
    let console = app.sign_in("vic@example.org", Role::Viewer).await;
    let (status, page) = console.get("/software").await;
    assert_eq!(status, 200);
    assert_eq!(table_rows(&page, "software"), 4);
    // Most weaknesses first: vulnlib (2) before oldcrate and abandoned (1), safecrate (0) last.
    assert!(at(&page, ">vulnlib<") < at(&page, ">oldcrate<"));
    assert!(at(&page, ">abandoned<") < at(&page, ">safecrate<"));
    let vulnlib = &page[at(&page, ">vulnlib<")..];
    let vulnlib = &vulnlib[..vulnlib.find("</tr>").unwrap()];
    // versions 1, devices 3, exposed 3, weaknesses 2, and the recommendation.
    assert!(
        vulnlib.contains(r#"<td class="num">1</td><td class="num">3</td><td class="num">3</td><td class="num">2</td>"#),
        "{vulnlib}"
    );
    assert!(vulnlib.contains(r#"href="/recommendations?flyout=va-_-crates.io-_-vulnlib""#));
    assert!(
        vulnlib.contains(r#"aria-label="Recommendation for vulnlib">Recommendation</a>"#)
            && vulnlib.contains("Vulnerable versions: 1.1.0"),
        "each link names its product: {vulnlib}"
    );
    let safecrate = &page[at(&page, ">safecrate<")..];
    let safecrate = &safecrate[..safecrate.find("</tr>").unwrap()];
    assert!(
        safecrate.contains(r#"<td class="num">2</td><td class="num">0</td><td class="num">0</td>"#),
        "{safecrate}"
    );
    assert!(!safecrate.contains("/recommendations"));

    let (_, page) = console.get("/software?exposure=clean").await;
    assert_eq!(table_rows(&page, "software"), 1);
    assert!(page.contains(">safecrate<"));
    let (_, page) = console.get("/software?q=LIB").await;
    assert_eq!(table_rows(&page, "software"), 1);
    let (_, page) = console.get("/software?sort=name&dir=asc").await;
    assert!(at(&page, ">abandoned<") < at(&page, ">oldcrate<"));
    let (_, page) = console
        .get("/software?vendor=crates.io&exposure=vulnerable")
        .await;
    assert_eq!(table_rows(&page, "software"), 3);
    let (_, page) = console.get("/software?vendor=npm").await;
    assert!(page.contains("No product matches"));
    for bad in ["sort=size", "exposure=maybe", "dir=up"] {
        let (status, body) = console.get(&format!("/software?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body.contains(bad.split('=').next().unwrap()), "{body}");
    }
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_filters_and_verifies_the_chain() {
    let app = ConsoleApp::seeded().await;
    let console = app.sign_in("vic@example.org", Role::Viewer).await;
    for i in 0..30 {
        app.engine
            .add_user(
                &local_admin(),
                &format!("user{i}@example.org"),
                None,
                Role::Viewer,
                None,
            )
            .await
            .unwrap();
    }
    let e = app
        .engine
        .create_exception(
            &local_admin(),
            ExceptionRequest {
                kind: TargetKind::Recommendation,
                target: "va-_-crates.io-_-oldcrate".into(),
                justification: Justification::PlannedRemediation,
                context: "upgrade in the next sprint".into(),
                groups: None,
                duration: ExceptionDuration::Days(30),
            },
        )
        .await
        .unwrap();
    app.engine
        .cancel_exception(&local_admin(), e.id, None)
        .await
        .unwrap();
    let total = app
        .engine
        .verify_audit()
        .await
        .unwrap()
        .expect("an intact chain");
    assert!(total >= 33, "{total}");

    let (status, page) = console.get("/audit").await;
    assert_eq!(status, 200);
    assert!(page.contains("Every entry verifies"));
    assert!(
        page.contains(&format!(r#"<strong id="audit-verified">{total}</strong>"#)),
        "{page}"
    );
    assert_eq!(page.matches("<details>").count(), 25);
    assert!(page.contains(&format!("1–25 of {total}")));
    // Newest first: the cancellation heads the log.
    assert!(
        at(&page, &format!(r#"id="audit-{total}""#))
            < at(&page, &format!(r#"id="audit-{}""#, total - 1))
    );
    assert!(page.contains("exception.cancel"));
    let (_, page) = console.get("/audit?page=2").await;
    assert_eq!(page.matches("<details>").count(), (total - 25).min(25));
    assert!(page.contains(&format!("26–{} of {total}", total.min(50))));

    let (_, page) = console
        .get(&format!("/audit?entity=exception&entityId={}", e.id))
        .await;
    assert_eq!(page.matches("<details>").count(), 2, "created, canceled");
    assert!(at(&page, "exception.cancel") < at(&page, "exception.create"));
    assert!(
        page.contains("upgrade in the next sprint"),
        "the entity as JSON"
    );
    assert!(page.contains("Nothing (created)."));
    let (_, page) = console.get("/audit?action=exception.create").await;
    assert_eq!(page.matches("<details>").count(), 1);
    let (_, page) = console.get("/audit?actor=nobody@example.org").await;
    assert!(page.contains("No audit entries"));
    let today = app.engine.now().format("%Y-%m-%d").to_string();
    let (_, page) = console
        .get(&format!("/audit?from={today}&to={today}&entity=exception"))
        .await;
    assert_eq!(page.matches("<details>").count(), 2);
    let (_, page) = console.get("/audit?to=2000-01-01").await;
    assert!(page.contains("No audit entries"));
    let (status, body) = console.get("/audit?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(body.contains("from"), "{body}");
}

#[tokio::test]
async fn settings_forms_manage_groups_users_tokens_webhooks_and_the_policy() {
    let app = ConsoleApp::seeded().await;
    let admin = app.sign_in("ada@example.org", Role::Admin).await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let viewer = app.sign_in("vic@example.org", Role::Viewer).await;

    let (status, page) = admin.get("/settings").await;
    assert_eq!(status, 200);
    for id in [
        "group-create-form",
        "user-form",
        "token-form",
        "webhook-form",
        "policy-form",
    ] {
        assert!(page.contains(&format!(r#"id="{id}""#)), "{id}");
    }
    assert!(page.contains("ana@example.org") && page.contains("analyst"));

    // Viewers read: no form but signing out, and every change refused.
    let (_, page) = viewer.get("/settings").await;
    assert_eq!(page.matches("<form").count(), 1, "only sign-out: {page}");
    assert!(page.contains("read-only") && page.contains("Longest duration"));
    assert_eq!(
        viewer.post("/settings/groups", &[("name", "ops")]).await.0,
        403
    );
    assert_eq!(viewer.post("/settings/tokens", &[]).await.0, 403);
    assert_eq!(
        admin
            .post_raw("/settings/groups", &[("name", "ops")])
            .await
            .0,
        403,
        "no CSRF"
    );

    // Device groups.
    let (status, location, _) = analyst
        .post(
            "/settings/groups",
            &[
                ("name", "edge"),
                ("description", "Internet-facing web servers"),
                ("rank", "10"),
                ("rules", "name:web-*\r\ntag:internet-facing"),
            ],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/settings#groups"))
    );
    let groups = app.engine.device_groups().await.unwrap();
    let edge = groups.iter().find(|g| g.name == "edge").expect("created");
    assert_eq!(edge.rules.len(), 2);
    assert_eq!(edge.rank, 10);
    let (_, page) = analyst.get("/settings").await;
    assert!(page.contains("Device group edge created."));
    assert!(page.contains("<code>name:web-*</code>"));
    for (fields, field) in [
        (vec![("name", "x"), ("rules", "colour:red")], "rules"),
        (vec![("name", "x"), ("rules", "tag:")], "rules"),
        (vec![("name", "x"), ("rank", "first")], "rank"),
        (vec![("description", "nameless")], "name"),
        (vec![("name", "Ungrouped")], "Ungrouped"),
    ] {
        let (status, _, body) = analyst.post("/settings/groups", &fields).await;
        assert_eq!(status, 400, "{fields:?}");
        assert!(body.contains(field), "{field}: {body}");
    }
    let edit = format!("/settings/groups/{}", edge.id);
    let (status, _, _) = analyst
        .post(
            &edit,
            &[
                ("name", "edge"),
                ("description", "Edge"),
                ("rank", "5"),
                ("rules", ""),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let edge = app
        .engine
        .device_groups()
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.name == "edge")
        .unwrap();
    assert!(edge.rules.is_empty() && edge.rank == 5 && edge.description == "Edge");
    let (status, _, _) = analyst
        .post(&format!("/settings/groups/{}/delete", edge.id), &[])
        .await;
    assert_eq!(status, 303);
    assert!(
        app.engine
            .device_groups()
            .await
            .unwrap()
            .iter()
            .all(|g| g.name != "edge")
    );
    assert_eq!(
        analyst.post("/settings/groups/9999/delete", &[]).await.0,
        404
    );
    assert_eq!(analyst.post("/settings/groups/x/delete", &[]).await.0, 404);

    // Users: admins only.
    let new_user = [
        ("email", "new@example.org"),
        ("displayName", "New Person"),
        ("role", "viewer"),
        ("password", "a long enough password"),
    ];
    assert_eq!(analyst.post("/settings/users", &new_user).await.0, 403);
    let (status, _, _) = admin.post("/settings/users", &new_user).await;
    assert_eq!(status, 303);
    let added = app.engine.user("new@example.org").await.unwrap();
    assert_eq!(
        (added.role, added.display_name.as_str()),
        (Role::Viewer, "New Person")
    );
    common::console_sign_in(&app.base, "new@example.org", "a long enough password").await;
    for (fields, field) in [
        (vec![("email", "x@example.org"), ("role", "boss")], "role"),
        (
            vec![
                ("email", "x@example.org"),
                ("role", "viewer"),
                ("password", "short"),
            ],
            "password",
        ),
        (vec![("role", "viewer")], "email"),
    ] {
        let (status, _, body) = admin.post("/settings/users", &fields).await;
        assert_eq!(status, 400, "{fields:?}");
        assert!(body.contains(field), "{field}: {body}");
    }
    assert_eq!(
        admin.post("/settings/users", &new_user).await.0,
        409,
        "taken"
    );

    // Tokens: created and shown once on the page, then revoked.
    let (status, _, page) = analyst.post("/settings/tokens", &[("days", "30")]).await;
    assert_eq!(status, 200);
    let start = at(&page, r#"<output id="new-token">"#) + r#"<output id="new-token">"#.len();
    let token = page[start..start + page[start..].find('<').unwrap()].to_string();
    assert!(token.starts_with("bwk_"), "{token}");
    let api = reqwest::Client::new();
    let call = |token: String| {
        let api = api.clone();
        let url = format!("{}/api/machines", app.base);
        async move {
            api.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(call(token.clone()).await, 200, "the token works");
    let ana = app.engine.user("ana@example.org").await.unwrap();
    let tokens = app.engine.tokens(&ana, "ana@example.org").await.unwrap();
    assert_eq!(tokens.len(), 1);
    let (_, page) = analyst.get("/settings").await;
    assert!(!page.contains(&token), "shown only once");
    assert!(page.contains(&tokens[0].prefix));
    let (_, page) = admin.get("/settings").await;
    assert!(page.contains("Other users' tokens") && page.contains(&tokens[0].prefix));
    for (days, field) in [("0", "days"), ("soon", "days")] {
        let (status, _, body) = analyst.post("/settings/tokens", &[("days", days)]).await;
        assert_eq!(status, 400);
        assert!(body.contains(field), "{body}");
    }
    assert_eq!(admin.post("/settings/tokens", &[]).await.0, 200);
    let ada = app.engine.user("ada@example.org").await.unwrap();
    let ada_token = app.engine.tokens(&ada, "ada@example.org").await.unwrap()[0].id;
    assert_eq!(
        analyst
            .post(&format!("/settings/tokens/{ada_token}/revoke"), &[])
            .await
            .0,
        403,
        "another user's token"
    );
    let (status, _, _) = analyst
        .post(&format!("/settings/tokens/{}/revoke", tokens[0].id), &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(call(token).await, 401, "revoked");
    assert_eq!(
        analyst.post("/settings/tokens/9999/revoke", &[]).await.0,
        403,
        "not the analyst's"
    );
    assert_eq!(admin.post("/settings/tokens/9999/revoke", &[]).await.0, 404);

    // Webhooks: admins only.
    let hook = [
        ("url", "https://hooks.example.org/bulwark"),
        ("secret", "a-secret-of-sixteen-plus"),
        ("events", "exception.created"),
        ("events", "remediation.completed"),
    ];
    assert_eq!(analyst.post("/settings/webhooks", &hook).await.0, 403);
    let (_, page) = analyst.get("/settings").await;
    assert!(page.contains("Only administrators see and manage webhooks"));
    let (status, _, _) = admin.post("/settings/webhooks", &hook).await;
    assert_eq!(status, 303);
    let hooks = app.engine.webhooks(&local_admin()).await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0].events,
        vec![EventKind::ExceptionCreated, EventKind::ActivityCompleted]
    );
    let (_, page) = admin.get("/settings").await;
    assert!(
        page.contains("https://hooks.example.org/bulwark")
            && page.contains("remediation.completed")
    );
    for (fields, field) in [
        (
            vec![
                ("url", "ftp://example.org"),
                ("secret", "a-secret-of-sixteen-plus"),
            ],
            "url",
        ),
        (
            vec![("url", "https://example.org"), ("secret", "short")],
            "secret",
        ),
        (
            vec![
                ("url", "https://example.org"),
                ("secret", "a-secret-of-sixteen-plus"),
                ("events", "everything"),
            ],
            "everything",
        ),
    ] {
        let (status, _, body) = admin.post("/settings/webhooks", &fields).await;
        assert_eq!(status, 400, "{fields:?}");
        assert!(body.contains(field), "{field}: {body}");
    }
    let remove = format!("/settings/webhooks/{}/remove", hooks[0].id);
    assert_eq!(analyst.post(&remove, &[]).await.0, 403);
    assert_eq!(admin.post(&remove, &[]).await.0, 303);
    assert!(
        app.engine
            .webhooks(&local_admin())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(admin.post(&remove, &[]).await.0, 404);

    // The exception policy: admins only, fields named as the API names them.
    let policy = [
        ("maxDurationDays", "90"),
        ("maxContextChars", "2000"),
        ("epssThreshold", "0.3"),
        ("staleAfterDays", "14"),
        ("voidOnResurface", "on"),
    ];
    assert_eq!(
        analyst.post("/settings/exception-policy", &policy).await.0,
        403
    );
    let (_, page) = analyst.get("/settings").await;
    assert!(
        !page.contains("policy-form") && page.contains("Only administrators change the policy")
    );
    let (status, _, _) = admin.post("/settings/exception-policy", &policy).await;
    assert_eq!(status, 303);
    let saved = app.engine.exception_policy().await.unwrap();
    assert_eq!(saved.max_duration_days, 90);
    assert_eq!(saved.max_context_chars, 2000);
    assert!(saved.void_on_resurface);
    assert_eq!(saved.stale_after_days, 14);
    let (_, page) = admin.get("/settings").await;
    assert!(
        page.contains(r#"name="maxDurationDays" type="number" min="1" max="3650" value="90""#),
        "{page}"
    );
    for (name, value) in [
        ("maxDurationDays", "0"),
        ("epssThreshold", "2"),
        ("maxContextChars", "many"),
    ] {
        let mut fields = policy.to_vec();
        fields.retain(|(k, _)| *k != name);
        fields.push((name, value));
        let (status, _, body) = admin.post("/settings/exception-policy", &fields).await;
        assert_eq!(status, 400, "{name}={value}");
        assert!(body.contains(name), "{name}: {body}");
    }
    let (status, _, body) = admin.post("/settings/exception-policy", &policy[1..]).await;
    assert_eq!(status, 400);
    assert!(body.contains("maxDurationDays: required"), "{body}");
    assert!(hidden_value(&page, "csrf").is_some());
}
