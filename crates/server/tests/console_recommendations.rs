//! The console's security recommendations and weaknesses: the lists (columns, filters, search, sort,
//! paging, impact views), the flyouts, and their forms — exceptions on a recommendation or a CVE
//! (scope, justification, context, duration, preview, role limits, refusals naming the field) and
//! remediation requests — on the seeded fleet (web-01, web-02 in `web`; db-01 in `db`).

mod common;

use bulwark_core::exception::ExceptionStatus;
use bulwark_core::identity::Role;
use common::{ConsoleApp, ConsoleClient};

const VULNLIB: &str = "Update vulnlib to 1.4.0";
const OLDCRATE: &str = "Upgrade oldcrate to 2.0.0";
const ABANDONED: &str = "Uninstall abandoned";

/// The id of the recommendation about `product`.
async fn rec_id(app: &ConsoleApp, product: &str) -> String {
    app.engine
        .recommendations()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.product_name == product)
        .unwrap_or_else(|| panic!("a recommendation for {product}"))
        .id
}

/// The `<tr>` of the list row whose `data-id` is `id`, if the page lists it.
fn row<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let start = page.find(&format!("<tr data-id=\"{id}\""))?;
    let end = page[start..].find("</tr>")? + start;
    Some(&page[start..end])
}

/// The `aside#flyout` of a page.
fn flyout(page: &str) -> &str {
    let id = page.find(r#"id="flyout""#).expect("the page has a flyout");
    let start = page[..id].rfind("<aside").expect("an aside");
    let end = page[start..].find("</aside>").expect("closed") + start;
    &page[start..end]
}

/// Follows a redirect and returns the page (with the one-time notice).
async fn follow(console: &ConsoleClient, location: Option<String>) -> String {
    let location = location.expect("a redirect");
    let (status, page) = console.get(&location).await;
    assert_eq!(status, 200, "{page}");
    page
}

fn exception_fields<'a>(
    scope: &'a str,
    groups: &[&'a str],
    justification: &'a str,
    context: &'a str,
    duration: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("scope", scope),
        ("justification", justification),
        ("context", context),
        ("duration", duration),
    ];
    fields.extend(groups.iter().map(|g| ("groups", *g)));
    fields
}

#[tokio::test]
async fn the_list_shows_mdvms_columns_and_links_each_row_to_its_flyout() {
    let app = ConsoleApp::seeded().await;
    let viewer = app.sign_in("val@example.org", Role::Viewer).await;
    let id = rec_id(&app, "vulnlib").await;
    let (status, page) = viewer.get("/recommendations").await;
    assert_eq!(status, 200, "{page}");
    for header in [
        "Security recommendation",
        "OS platform",
        "Weaknesses",
        "Related component",
        "Threats",
        "Exposed devices (after exceptions)",
        "Impact (after exceptions)",
        "Exception impact",
        "Status",
        "Remediation type",
        "Tags",
    ] {
        assert!(page.contains(header), "column {header}");
    }
    for name in [VULNLIB, OLDCRATE, ABANDONED] {
        assert!(page.contains(name), "{name}");
    }
    let vulnlib = row(&page, &id).expect("vulnlib is listed");
    assert!(vulnlib.contains("crates.io"), "{vulnlib}");
    assert!(
        vulnlib.contains(r#"<td class="num">2</td>"#),
        "two weaknesses: {vulnlib}"
    );
    assert!(vulnlib.contains("3/3"), "three exposed of three: {vulnlib}");
    assert!(vulnlib.contains("Active"), "{vulnlib}");
    assert!(vulnlib.contains(">Update<"), "{vulnlib}");
    let impact = app
        .engine
        .recommendation(&id)
        .await
        .unwrap()
        .exposure_impact;
    assert!(impact > 0.0);
    assert!(
        vulnlib.contains(&format!("↓ {impact:.1}")),
        "{impact}: {vulnlib}"
    );
    assert!(
        vulnlib.contains(&format!(
            r#"href="/recommendations?flyout={id}" data-flyout"#
        )),
        "{vulnlib}"
    );
    // No form is offered to a viewer, in the list or in the flyout.
    let (_, page) = viewer.get(&format!("/recommendations?flyout={id}")).await;
    assert!(!page.contains("exception-form"), "{page}");
    assert!(!page.contains("remediation-form"));
    assert!(page.contains("Your role may not create exceptions."));
}

#[tokio::test]
async fn filters_search_sort_and_paging_narrow_and_order_the_list() {
    let app = ConsoleApp::seeded().await;
    let viewer = app.sign_in("val@example.org", Role::Viewer).await;
    let listed = |page: &str| {
        [VULNLIB, OLDCRATE, ABANDONED]
            .into_iter()
            .filter(|n| page.contains(n))
            .collect::<Vec<_>>()
    };
    let (_, page) = viewer.get("/recommendations?q=VULN").await;
    assert_eq!(listed(&page), [VULNLIB]);
    assert!(page.contains(r#"value="VULN""#), "the search is kept");
    let (_, page) = viewer.get("/recommendations?type=Uninstall").await;
    assert_eq!(listed(&page), [ABANDONED]);
    let (_, page) = viewer
        .get("/recommendations?type=Upgrade&category=Application")
        .await;
    assert_eq!(listed(&page), [OLDCRATE]);
    let (_, page) = viewer.get("/recommendations?category=OS").await;
    assert!(listed(&page).is_empty());
    assert!(page.contains("No recommendation matches these filters"));
    // Without threat context nothing has a known exploit.
    let (_, page) = viewer.get("/recommendations?threat=exploit").await;
    assert!(listed(&page).is_empty());

    let order = |page: &str| {
        let mut found: Vec<(usize, &str)> = [VULNLIB, OLDCRATE, ABANDONED]
            .into_iter()
            .filter_map(|n| page.find(n).map(|at| (at, n)))
            .collect();
        found.sort_unstable();
        found.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
    };
    let (_, page) = viewer.get("/recommendations?sort=name&dir=asc").await;
    assert_eq!(order(&page), [ABANDONED, VULNLIB, OLDCRATE]);
    assert!(page.contains(r#"aria-sort="ascending""#));
    let (_, page) = viewer.get("/recommendations?sort=name&dir=desc").await;
    assert_eq!(order(&page), [OLDCRATE, VULNLIB, ABANDONED]);
    let (_, page) = viewer.get("/recommendations?sort=exposed&dir=desc").await;
    assert_eq!(order(&page)[0], VULNLIB, "three exposed devices");

    let (_, page) = viewer.get("/recommendations").await;
    assert!(page.contains("1–3 of 3"), "the pager counts the rows");
    let (_, page) = viewer.get("/recommendations?page=2").await;
    assert!(listed(&page).is_empty(), "page 2 of 1 is empty");

    for (query, named) in [
        ("type=Replace", "type"),
        ("status=Open", "status"),
        ("threat=zero-day", "threat"),
        ("sort=colour", "sort"),
        ("per=7", "per"),
        ("impact=some", "impact"),
    ] {
        let (status, page) = viewer.get(&format!("/recommendations?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(
            page.contains(&format!("query parameter {named}")),
            "{query}: {page}"
        );
    }
}

#[tokio::test]
async fn the_impact_switch_shows_impacts_without_exceptions_after_them_or_both() {
    let app = ConsoleApp::seeded().await;
    let viewer = app.sign_in("val@example.org", Role::Viewer).await;
    let (_, page) = viewer.get("/recommendations?impact=none").await;
    assert!(page.contains(">Impact<") && !page.contains("Impact (after exceptions)"));
    let (_, page) = viewer.get("/recommendations").await;
    assert!(!page.contains(">Impact<") && page.contains("Impact (after exceptions)"));
    let (_, page) = viewer.get("/recommendations?impact=hybrid").await;
    assert!(page.contains(">Impact<") && page.contains("Impact (after exceptions)"));
    assert!(
        page.contains(r#"href="?impact=hybrid" aria-current="true""#),
        "{page}"
    );
}

#[tokio::test]
async fn the_flyout_shows_weaknesses_devices_and_both_forms() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let id = rec_id(&app, "vulnlib").await;
    let (status, page) = analyst
        .get(&format!("/recommendations?type=Update&flyout={id}"))
        .await;
    assert_eq!(status, 200, "{page}");
    let aside = flyout(&page);
    assert!(aside.contains(r#"role="dialog" aria-labelledby="flyout-title""#));
    assert!(aside.contains(&format!(r#"<h2 id="flyout-title">{VULNLIB}</h2>"#)));
    assert!(
        aside.contains(r#"data-close href="/recommendations?type=Update""#),
        "closing keeps the filters: {aside}"
    );
    for text in [
        "CVE-2024-1001",
        "CVE-2024-1002",
        "web-01",
        "web-02",
        "db-01",
        "Exposed devices (3)",
        "1.4.0",
    ] {
        assert!(aside.contains(text), "{text}");
    }
    // The exception form: both scopes (global only for admins), the groups with exposed devices and
    // their counts, the four recommendation justifications with their effect, the durations.
    assert!(aside.contains(r#"id="exception-form""#));
    assert!(aside.contains(&format!(
        r#"action="/recommendations/{id}/exception?type=Update""#
    )));
    assert!(aside.contains(&format!(
        r#"data-preview="/recommendations/{id}/exception/preview?type=Update""#
    )));
    assert!(
        aside.contains(r#"value="global" disabled"#),
        "analysts: {aside}"
    );
    assert!(aside.contains("web (2 exposed devices)"));
    assert!(aside.contains("db (1 exposed device)"));
    for j in [
        "third_party_control",
        "alternate_mitigation",
        "risk_accepted",
        "planned_remediation",
    ] {
        assert!(aside.contains(&format!(r#"value="{j}""#)), "{j}");
    }
    assert!(!aside.contains("cve_no_patch") && !aside.contains("false_positive"));
    assert!(aside.contains("Third party control — Mitigation-like"));
    assert!(aside.contains("Risk accepted — No impact"));
    for d in ["30", "60", "90", "180", "365"] {
        assert!(
            aside.contains(&format!(r#"<option value="{d}""#)),
            "{d} days"
        );
    }
    assert!(
        aside.contains(r#"maxlength="1000""#),
        "the policy's context limit"
    );
    assert!(aside.contains("data-preview-target"));
    assert!(aside.contains(">Preview</button>") && aside.contains(">Submit</button>"));
    // The remediation form.
    assert!(aside.contains(r#"id="remediation-form""#));
    assert!(aside.contains(r#"type="date" name="due""#));
    assert!(aside.contains(">Request remediation</button>"));

    let (status, page) = analyst.get("/recommendations?flyout=va-_-nope").await;
    assert_eq!(status, 404, "{page}");
}

#[tokio::test]
async fn a_device_group_exception_makes_a_partial_exception() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let id = rec_id(&app, "vulnlib").await;
    let fields = exception_fields(
        "groups",
        &["web"],
        "alternate_mitigation",
        "A WAF rule blocks the overflow on the web tier",
        "60",
    );
    let (status, location, body) = analyst
        .post(&format!("/recommendations/{id}/exception"), &fields)
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/recommendations?flyout={id}").as_str())
    );
    let page = follow(&analyst, location).await;
    assert!(page.contains(r#"role="status""#));
    assert!(
        page.contains("Exception created (#1): Alternate mitigation for device group web"),
        "{page}"
    );
    assert!(page.contains("Status now: Partial exception."), "{page}");

    let exceptions = app.engine.exceptions().await.unwrap();
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0].created_by, "ana@example.org");
    assert_eq!(
        (exceptions[0].expires_on - exceptions[0].created_on).num_days(),
        60
    );
    let rec = app.engine.recommendation(&id).await.unwrap();
    assert_eq!(rec.status, "PartialException");
    assert_eq!(rec.exposed_machines_count_after_exceptions, 1);

    let vulnlib = row(&page, &id).expect("still listed");
    assert!(vulnlib.contains("Partial exception"), "{vulnlib}");
    assert!(
        vulnlib.contains("3/3") && vulnlib.contains("1/3"),
        "{vulnlib}"
    );
    assert!(vulnlib.contains("Mitigation-like"), "{vulnlib}");
    assert!(
        vulnlib.contains(&format!("↓ {:.1}", rec.exposure_impact_after_exceptions)),
        "{vulnlib}"
    );
    let aside = flyout(&page);
    assert!(aside.contains(r#"href="/remediation?tab=exceptions&amp;flyout=1""#));
    assert!(aside.contains("already excepted by exception #1"));
    assert!(
        aside.contains(r#"value="web" disabled"#),
        "not offered again"
    );

    // The same group again is a conflict that names the exception, with the form kept.
    let (status, _, body) = analyst
        .post(&format!("/recommendations/{id}/exception"), &fields)
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("exception 1 is already in effect for device group web"),
        "{body}"
    );
    assert!(body.contains("A WAF rule blocks the overflow on the web tier"));
}

#[tokio::test]
async fn a_global_mitigation_leaves_the_default_list_and_lowers_the_exposure_score() {
    let app = ConsoleApp::seeded().await;
    let admin = app.sign_in("root@example.org", Role::Admin).await;
    let id = rec_id(&app, "vulnlib").await;
    let before = app.engine.exposure().await.unwrap().score;
    let (status, location, body) = admin
        .post(
            &format!("/recommendations/{id}/exception?sort=name&dir=asc"),
            &exception_fields(
                "global",
                &[],
                "third_party_control",
                "The vendor's managed runtime patches vulnlib in memory",
                "90",
            ),
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/recommendations?sort=name&dir=asc&flyout={id}").as_str()),
        "back to the same list"
    );
    let page = follow(&admin, location).await;
    assert!(
        page.contains("Third party control for every device group"),
        "{page}"
    );
    assert!(page.contains("Status now: Exception"), "{page}");
    assert!(row(&page, &id).is_none(), "hidden from the default list");
    assert!(page.contains("1 recommendation is fully covered by exceptions and hidden."));
    let after = app.engine.exposure().await.unwrap().score;
    assert!(after < before, "{before} → {after}");

    let (_, page) = admin.get("/recommendations?status=Exception").await;
    let vulnlib = row(&page, &id).expect("listed under status Exception");
    assert!(
        vulnlib.contains(">Exception<") && vulnlib.contains("0/3"),
        "{vulnlib}"
    );
    assert!(row(&page, &rec_id(&app, "oldcrate").await).is_none());
    let (_, page) = admin.get("/recommendations?status=any").await;
    assert!(row(&page, &id).is_some());
}

#[tokio::test]
async fn the_preview_shows_the_exposure_score_before_and_after_without_creating_anything() {
    let app = ConsoleApp::seeded().await;
    let admin = app.sign_in("root@example.org", Role::Admin).await;
    let id = rec_id(&app, "vulnlib").await;
    let url = format!("/recommendations/{id}/exception/preview");
    // The context may still be empty: it changes no figure.
    let (status, _, page) = admin
        .post(
            &url,
            &exception_fields("global", &[], "alternate_mitigation", "", "30"),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let preview = app
        .engine
        .preview_exception(
            &app.engine.user("root@example.org").await.unwrap(),
            bulwark_core::exception::ExceptionRequest {
                kind: bulwark_core::exception::TargetKind::Recommendation,
                target: id.clone(),
                justification: bulwark_core::exception::Justification::AlternateMitigation,
                context: "x".into(),
                groups: None,
                duration: bulwark_core::exception::ExceptionDuration::Days(30),
            },
        )
        .await
        .unwrap();
    assert!(preview.exposure_score_after < preview.exposure_score_before);
    let aside = flyout(&page);
    assert!(aside.contains("data-preview-target"));
    assert!(aside.contains(&format!(
        r#"<span class="preview-before">{:.1}</span> → <span class="preview-after">{:.1}</span>"#,
        preview.exposure_score_before, preview.exposure_score_after
    )), "{aside}");
    assert!(
        aside.contains(r#"<dd class="preview-devices">3</dd>"#),
        "{aside}"
    );
    assert!(aside.contains(r#"<dd class="preview-status">Exception</dd>"#));
    assert!(
        aside.contains(r#"value="alternate_mitigation" selected"#),
        "kept"
    );
    assert!(
        app.engine.exceptions().await.unwrap().is_empty(),
        "nothing created"
    );

    // Risk accepted changes no score, and says so.
    let (_, _, page) = admin
        .post(
            &url,
            &exception_fields("groups", &["db"], "risk_accepted", "", "30"),
        )
        .await;
    let aside = flyout(&page);
    assert!(
        aside.contains("This justification does not change the exposure score"),
        "{aside}"
    );
    assert!(aside.contains(r#"<dd class="preview-devices">1</dd>"#));
    assert!(aside.contains(r#"<dd class="preview-status">Partial exception</dd>"#));
    // A preview of input the engine refuses shows why, in the preview block.
    let (status, _, page) = admin
        .post(
            &url,
            &exception_fields("groups", &["db"], "risk_accepted", "", "7"),
        )
        .await;
    assert_eq!(status, 400);
    assert!(flyout(&page).contains("duration: must be one of 30, 60, 90, 180, 365 (got 7)"));
}

/// POSTs a form the way console.js previews it (`X-Bulwark-Preview`); returns the status and body.
async fn script_preview(
    console: &ConsoleClient,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let mut all: Vec<(&str, &str)> = vec![("csrf", console.csrf.as_str())];
    all.extend_from_slice(fields);
    let response = console
        .http
        .post(format!("{}{path}", console.base))
        .header("X-Bulwark-Preview", "1")
        .form(&all)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_script_s_preview_answers_the_preview_block_alone() {
    let app = ConsoleApp::seeded().await;
    let admin = app.sign_in("root@example.org", Role::Admin).await;
    let id = rec_id(&app, "vulnlib").await;
    let url = format!("/recommendations/{id}/exception/preview");
    let (status, block) = script_preview(
        &admin,
        &url,
        &exception_fields("groups", &["db"], "third_party_control", "", "30"),
    )
    .await;
    assert_eq!(status, 200, "{block}");
    assert!(
        block.starts_with(r#"<div class="preview" data-preview-target>"#),
        "{block}"
    );
    assert!(
        !block.contains("<html") && !block.contains("flyout"),
        "{block}"
    );
    assert!(
        block.contains(r#"<dd class="preview-devices">1</dd>"#),
        "{block}"
    );
    assert!(block.contains(r#"<dd class="preview-status">Partial exception</dd>"#));
    assert!(
        app.engine.exceptions().await.unwrap().is_empty(),
        "nothing created"
    );

    // Refused input: the reason in the block, with the refusal's status.
    let (status, block) = script_preview(
        &admin,
        &url,
        &exception_fields("groups", &["db"], "risk_accepted", "", "7"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        block.contains("duration: must be one of 30, 60, 90, 180, 365 (got 7)"),
        "{block}"
    );

    // The same for a CVE exception; an unknown target is still a 404 page.
    let (status, block) = script_preview(
        &admin,
        "/weaknesses/CVE-2024-1004/exception/preview",
        &exception_fields("groups", &["web"], "false_positive", "", "30"),
    )
    .await;
    assert_eq!(status, 200, "{block}");
    assert!(
        block.contains(r#"<dd class="preview-devices">1</dd>"#),
        "{block}"
    );
    assert!(!block.contains("<html"));
    let (status, _) = script_preview(
        &admin,
        "/recommendations/va-_-crates.io-_-nothing/exception/preview",
        &exception_fields("global", &[], "third_party_control", "", "30"),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = script_preview(
        &app.sign_in("vic@example.org", Role::Viewer).await,
        &url,
        &exception_fields("groups", &["db"], "third_party_control", "", "30"),
    )
    .await;
    assert_eq!(status, 403, "a viewer may not preview either");
}

#[tokio::test]
async fn requesting_remediation_creates_an_activity() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let id = rec_id(&app, "vulnlib").await;
    let url = format!("/recommendations/{id}/remediation");
    let (status, location, body) = analyst
        .post(
            &url,
            &[
                ("priority", "High"),
                ("due", "2024-07-15"),
                ("groups", "web"),
                ("notes", "Roll out with the July release"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let page = follow(&analyst, location).await;
    assert!(
        page.contains(&format!(
            "Remediation activity #1 requested: “{VULNLIB}”, priority High, due 2024-07-15, 2 target devices."
        )),
        "{page}"
    );
    let tasks = app.engine.tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].rbac_group_names, ["web"]);
    assert_eq!(tasks[0].requester_notes, "Roll out with the July release");
    assert_eq!(tasks[0].requester_email, "ana@example.org");
    let aside = flyout(&page);
    assert!(
        aside.contains(r#"href="/remediation?tab=activities&amp;flyout=1""#),
        "{aside}"
    );
    assert!(aside.contains("attention required") || aside.contains("due 2024-07-15"));

    // No due date: attention required; every exposed group.
    let (status, _, _) = analyst.post(&url, &[("priority", "Low")]).await;
    assert_eq!(status, 303);
    let tasks = app.engine.tasks().await.unwrap();
    let second = tasks
        .iter()
        .find(|t| t.priority.as_str() == "Low")
        .expect("the second activity");
    assert!(second.attention_required);
    assert_eq!(second.target_devices, 3);

    for (fields, named) in [
        (vec![("priority", "Urgent")], "priority"),
        (
            vec![("priority", "High"), ("due", "2024-05-01")],
            "due (Due date)",
        ),
        (vec![("priority", "High"), ("due", "soon")], "due="),
        (
            vec![("priority", "High"), ("groups", "mars")],
            "groups (Device groups)",
        ),
        (vec![], "priority: required"),
    ] {
        let (status, _, body) = analyst.post(&url, &fields).await;
        assert_eq!(status, 400, "{fields:?}: {body}");
        assert!(body.contains(named), "{fields:?} names {named}: {body}");
    }
    assert_eq!(app.engine.tasks().await.unwrap().len(), 2, "nothing more");
    let viewer = app.sign_in("val@example.org", Role::Viewer).await;
    let (status, _, body) = viewer.post(&url, &[("priority", "High")]).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn every_form_refuses_a_missing_security_token() {
    let app = ConsoleApp::seeded().await;
    let admin = app.sign_in("root@example.org", Role::Admin).await;
    let id = rec_id(&app, "vulnlib").await;
    let fields = exception_fields("global", &[], "risk_accepted", "why", "30");
    for path in [
        format!("/recommendations/{id}/exception"),
        format!("/recommendations/{id}/exception/preview"),
        "/weaknesses/CVE-2024-1001/exception".to_string(),
        "/weaknesses/CVE-2024-1001/exception/preview".to_string(),
    ] {
        let (status, _, body) = admin.post_raw(&path, &fields).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("security token"), "{body}");
        let mut wrong = fields.clone();
        wrong.push(("csrf", "0123456789abcdef"));
        assert_eq!(admin.post_raw(&path, &wrong).await.0, 403, "{path}");
    }
    let (status, _, _) = admin
        .post_raw(
            &format!("/recommendations/{id}/remediation"),
            &[("priority", "High")],
        )
        .await;
    assert_eq!(status, 403);
    assert!(app.engine.exceptions().await.unwrap().is_empty());
    assert!(app.engine.tasks().await.unwrap().is_empty());
}

#[tokio::test]
async fn role_limits_come_from_the_engine() {
    let app = ConsoleApp::seeded().await;
    let id = rec_id(&app, "vulnlib").await;
    let url = format!("/recommendations/{id}/exception");
    let viewer = app.sign_in("val@example.org", Role::Viewer).await;
    let (status, _, body) = viewer
        .post(
            &url,
            &exception_fields("groups", &["web"], "risk_accepted", "why", "30"),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("val@example.org (viewer) may not manage device-group exceptions"),
        "{body}"
    );
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let (status, _, body) = analyst
        .post(
            &url,
            &exception_fields("global", &[], "risk_accepted", "why", "30"),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("ana@example.org (analyst) may not manage global exceptions"),
        "{body}"
    );
    assert!(app.engine.exceptions().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_exception_input_is_refused_naming_the_field() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let id = rec_id(&app, "vulnlib").await;
    let url = format!("/recommendations/{id}/exception");
    let cases: [(Vec<(&str, &str)>, &str); 8] = [
        (
            vec![
                ("scope", "groups"),
                ("groups", "web"),
                ("context", "c"),
                ("duration", "30"),
            ],
            "justification: choose one",
        ),
        (
            exception_fields("groups", &["web"], "its_fine", "c", "30"),
            "justification: &quot;its_fine&quot; is not one of third_party_control",
        ),
        (
            exception_fields("groups", &["web"], "false_positive", "c", "30"),
            "justification: &quot;false_positive&quot; is not one of",
        ),
        (
            exception_fields("groups", &["web"], "risk_accepted", "   ", "30"),
            "context (Justification context): is required",
        ),
        (
            exception_fields("groups", &["web"], "risk_accepted", "c", "7"),
            "duration: must be one of 30, 60, 90, 180, 365 (got 7)",
        ),
        (
            exception_fields("groups", &["mars"], "risk_accepted", "c", "30"),
            "groups (Device groups): unknown device group &quot;mars&quot;",
        ),
        (
            exception_fields("groups", &[], "risk_accepted", "c", "30"),
            "groups (Device groups): choose at least one",
        ),
        (
            exception_fields("everywhere", &[], "risk_accepted", "c", "30"),
            "scope: &quot;everywhere&quot; is not one of global, groups",
        ),
    ];
    for (fields, message) in cases {
        let (status, _, body) = analyst.post(&url, &fields).await;
        assert_eq!(status, 400, "{fields:?}: {body}");
        assert!(body.contains(message), "{fields:?}: {message}\n{body}");
        assert!(
            body.contains(r#"id="exception-form-error""#),
            "shown in the form"
        );
    }
    let long = "x".repeat(1001);
    let (status, _, body) = analyst
        .post(
            &url,
            &exception_fields("groups", &["web"], "risk_accepted", &long, "30"),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("context (Justification context): is 1001 characters long"));
    assert!(app.engine.exceptions().await.unwrap().is_empty());

    let (status, _, body) = analyst
        .post(
            "/recommendations/va-_-nope/exception",
            &exception_fields("groups", &["web"], "risk_accepted", "c", "30"),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn weaknesses_list_their_facts_and_filter() {
    let app = ConsoleApp::seeded().await;
    let viewer = app.sign_in("val@example.org", Role::Viewer).await;
    let (status, page) = viewer.get("/weaknesses").await;
    assert_eq!(status, 200, "{page}");
    let cve = row(&page, "CVE-2024-1001").expect("listed");
    assert!(cve.contains("Critical") && cve.contains("9.8"), "{cve}");
    assert!(cve.contains("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"));
    assert!(cve.contains(r#"<td class="num exposed">3</td>"#), "{cve}");
    assert!(
        cve.contains("2024-02-01") && cve.contains("2024-03-01"),
        "{cve}"
    );
    assert!(cve.contains(r#"href="/weaknesses?flyout=CVE-2024-1001" data-flyout"#));
    assert!(
        row(&page, "RUSTSEC-2024-0003").is_some(),
        "no CVE alias: its own id"
    );

    let (_, page) = viewer.get("/weaknesses?severity=Critical").await;
    assert!(row(&page, "CVE-2024-1001").is_some());
    assert!(row(&page, "CVE-2024-1002").is_none());
    let (_, page) = viewer.get("/weaknesses?q=side+channel").await;
    assert!(row(&page, "CVE-2024-1002").is_some() && row(&page, "CVE-2024-1001").is_none());
    let (_, page) = viewer.get("/weaknesses?kev=1").await;
    assert!(page.contains("No weakness matches these filters"));
    let (_, page) = viewer.get("/weaknesses?sort=cvss&dir=asc").await;
    let low = page.find("CVE-2024-1004").unwrap();
    let critical = page.find("data-id=\"CVE-2024-1001\"").unwrap();
    assert!(low < critical, "ascending CVSS");
    // One recommendation's weaknesses (the flyout links there): vulnlib's two CVEs, not oldcrate's.
    let (status, page) = viewer
        .get("/weaknesses?recommendation=va-_-crates.io-_-vulnlib")
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(row(&page, "CVE-2024-1001").is_some() && row(&page, "CVE-2024-1002").is_some());
    assert!(row(&page, "RUSTSEC-2024-0003").is_none(), "oldcrate's");
    assert!(
        page.contains("Weaknesses of <strong>vulnlib</strong> only"),
        "{page}"
    );
    assert!(
        page.contains(r#"name="recommendation" value="va-_-crates.io-_-vulnlib""#),
        "the filter form keeps it"
    );
    // With other filters; and a recommendation with nothing open is an empty list, not an error.
    let (_, page) = viewer
        .get("/weaknesses?recommendation=va-_-crates.io-_-vulnlib&severity=Critical")
        .await;
    assert!(row(&page, "CVE-2024-1001").is_some() && row(&page, "CVE-2024-1002").is_none());
    let (status, page) = viewer
        .get("/weaknesses?recommendation=va-_-crates.io-_-nothing")
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("No weakness matches these filters"), "{page}");
    for (query, named) in [
        ("severity=Severe", "severity"),
        ("kev=yes", "kev"),
        ("sort=x", "sort"),
    ] {
        let (status, page) = viewer.get(&format!("/weaknesses?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(page.contains(&format!("query parameter {named}")), "{page}");
    }
}

#[tokio::test]
async fn kev_and_exploit_facts_show_as_badges_and_filter_both_lists() {
    let app = ConsoleApp::seeded().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("known_exploited_vulnerabilities.json"),
        r#"{"title":"CISA Catalog","catalogVersion":"2024.05.30","dateReleased":"2024-05-30T17:00:00.000Z","count":1,"vulnerabilities":[{"cveID":"CVE-2024-1001","vendorProject":"vulnlib","product":"vulnlib","vulnerabilityName":"vulnlib heap overflow","dateAdded":"2024-05-20","shortDescription":"x","requiredAction":"Apply updates.","dueDate":"2024-06-10","knownRansomwareCampaignUse":"Known","notes":"","cwes":["CWE-122"]}]}"#,
    )
    .unwrap();
    app.engine.import(dir.path(), &|_| {}).await.unwrap();
    let viewer = app.sign_in("val@example.org", Role::Viewer).await;
    let (_, page) = viewer.get("/weaknesses?kev=1").await;
    let cve = row(&page, "CVE-2024-1001").expect("listed in KEV");
    assert!(cve.contains(">KEV<"), "{cve}");
    assert!(row(&page, "CVE-2024-1002").is_none());
    let (_, page) = viewer.get("/weaknesses?flyout=CVE-2024-1001").await;
    let aside = flyout(&page);
    assert!(aside.contains("used in ransomware campaigns"), "{aside}");
    assert!(aside.contains("Apply updates."));

    let (_, page) = viewer.get("/recommendations?threat=kev").await;
    let vulnlib = row(&page, &rec_id(&app, "vulnlib").await).expect("vulnlib has a KEV CVE");
    assert!(
        vulnlib.contains(">KEV<") && vulnlib.contains("Public exploit"),
        "{vulnlib}"
    );
    assert!(!page.contains(OLDCRATE) && !page.contains(ABANDONED));
}

#[tokio::test]
async fn a_false_positive_cve_exception_removes_the_finding() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let (status, page) = analyst.get("/weaknesses?flyout=CVE-2024-1004").await;
    assert_eq!(status, 200, "{page}");
    let aside = flyout(&page);
    assert!(aside.contains(r#"<h2 id="flyout-title">CVE-2024-1004</h2>"#));
    assert!(aside.contains("Unsound API in abandoned"));
    assert!(aside.contains("web-01"));
    assert!(aside.contains(r#"id="cve-exception-form""#));
    assert!(aside.contains(r#"action="/weaknesses/CVE-2024-1004/exception""#));
    assert!(
        aside.contains(r#"value="cve_no_patch""#) && aside.contains(r#"value="false_positive""#)
    );
    assert!(aside.contains("False positive — Removed (false positive)"));
    assert!(aside.contains("web (1 exposed device)"));

    let fields = exception_fields(
        "groups",
        &["web"],
        "false_positive",
        "abandoned is vendored without the unsound API",
        "365",
    );
    let (status, _, page) = analyst
        .post("/weaknesses/CVE-2024-1004/exception/preview", &fields)
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(flyout(&page).contains(r#"<dd class="preview-devices">1</dd>"#));

    let (status, location, body) = analyst
        .post("/weaknesses/CVE-2024-1004/exception", &fields)
        .await;
    assert_eq!(status, 303, "{body}");
    let page = follow(&analyst, location).await;
    assert!(
        page.contains(
            "CVE exception created (#1): False positive for device group web on CVE-2024-1004"
        ),
        "{page}"
    );
    assert!(page.contains("0 devices still list it"), "{page}");
    assert!(row(&page, "CVE-2024-1004").is_none(), "the finding is gone");
    assert!(row(&page, "CVE-2024-1001").is_some());
    let e = &app.engine.exceptions().await.unwrap()[0];
    assert_eq!(e.cve_id.as_deref(), Some("CVE-2024-1004"));
    assert_eq!(e.status, ExceptionStatus::InEffect);
    let aside = flyout(&page);
    assert!(aside.contains("Exception #1"), "{aside}");
    assert!(aside.contains("Exposed devices (0)"));

    // The CVE form's refusals name the field too; an unknown CVE is a 404.
    let (status, _, body) = analyst
        .post(
            "/weaknesses/CVE-2024-1001/exception",
            &exception_fields("groups", &["web"], "false_positive", "", "30"),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("context (Justification context): is required"),
        "{body}"
    );
    assert!(body.contains(r#"id="cve-exception-form-error""#));
    let (status, _, _) = analyst
        .post(
            "/weaknesses/CVE-1999-0001/exception",
            &exception_fields("groups", &["web"], "false_positive", "c", "30"),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = analyst.get("/weaknesses?flyout=CVE-1999-0001").await;
    assert_eq!(status, 404);
}

/// One failing OpenSCAP check (SSH root login), as `oscap xccdf eval --results` writes it.
const ROOT_LOGIN_XCCDF: &str = r#"<?xml version="1.0"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_org.ssgproject.content_benchmark_CONSOLE">
  <Rule id="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium">
    <title>Disable SSH Root Login</title>
    <description>The root user should never be allowed to login directly over a network.</description>
    <fixtext>Set PermitRootLogin no in /etc/ssh/sshd_config.</fixtext>
  </Rule>
  <TestResult id="xccdf_org.open-scap_testresult_standard">
    <profile idref="xccdf_org.ssgproject.content_profile_standard"/>
    <rule-result idref="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium"><result>fail</result></rule-result>
  </TestResult>
</Benchmark>
"#;

#[tokio::test]
async fn configuration_recommendations_share_the_list_the_flyout_and_the_exception_form() {
    let app = ConsoleApp::seeded().await;
    for device in ["web-01", "db-01"] {
        app.engine
            .assess(bulwark_engine::AssessmentRequest {
                device: device.to_string(),
                file: "results.xml".to_string(),
                bytes: ROOT_LOGIN_XCCDF.as_bytes().to_vec(),
                format: None,
            })
            .await
            .expect("assess");
    }
    let rec = app
        .engine
        .configuration_recommendations()
        .await
        .unwrap()
        .pop()
        .expect("the failing check is a recommendation");
    assert!(rec.config_score_impact > 0.0);
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let (_, page) = analyst
        .get("/recommendations?type=ConfigurationChange")
        .await;
    let line = row(&page, &rec.id).expect("listed beside the software recommendations");
    assert!(
        line.contains("Disable SSH Root Login") && line.contains("2/2"),
        "{line}"
    );
    assert!(
        line.contains(&format!("↑ {:.1}", rec.config_score_impact)),
        "{line}"
    );
    assert!(!page.contains(VULNLIB), "filtered on the remediation type");
    let (_, page) = analyst
        .get(&format!(
            "/recommendations?category={}",
            rec.recommendation_category.as_str()
        ))
        .await;
    assert!(row(&page, &rec.id).is_some());

    let (_, page) = analyst
        .get(&format!("/recommendations?flyout={}", rec.id))
        .await;
    let aside = flyout(&page);
    assert!(
        aside.contains("Set PermitRootLogin no in /etc/ssh/sshd_config."),
        "{aside}"
    );
    assert!(aside.contains("web-01") && aside.contains("db-01"));
    assert!(aside.contains(r#"id="exception-form""#));
    assert!(
        !aside.contains("remediation-form"),
        "activities are for software"
    );

    let (status, location, body) = analyst
        .post(
            &format!("/recommendations/{}/exception", rec.id),
            &exception_fields(
                "groups",
                &["db"],
                "planned_remediation",
                "Root login goes with the September rebuild",
                "30",
            ),
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let page = follow(&analyst, location).await;
    assert!(page.contains("Status now: Partial exception."), "{page}");
    let line = row(&page, &rec.id).expect("still listed");
    assert!(
        line.contains("Partial exception") && line.contains("1/2"),
        "{line}"
    );
    assert!(line.contains("No impact"), "{line}");
}

#[tokio::test]
async fn the_tag_filter_finds_recommendations_without_a_security_update() {
    let app = ConsoleApp::seeded().await;
    let console = app.sign_in("ana@example.org", Role::Viewer).await;
    let (status, page) = console.get("/recommendations?tag=No+security+update").await;
    assert_eq!(status, 200, "{page}");
    // `abandoned` has no fixed version; vulnlib and oldcrate have fixes for every weakness.
    assert!(page.contains("Uninstall abandoned"), "{page}");
    assert!(!page.contains("Update vulnlib"), "{page}");
    assert!(!page.contains("Upgrade oldcrate"), "{page}");
    let (_, all) = console.get("/recommendations").await;
    assert!(
        all.contains("No security update"),
        "the tag is shown and offered"
    );
}

#[tokio::test]
async fn an_explicit_date_sets_the_exception_s_expiry() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let id = rec_id(&app, "vulnlib").await;
    let url = format!("/recommendations/{id}/exception");
    let with_until = |until: &'static str| {
        let mut fields = exception_fields(
            "groups",
            &["web"],
            "planned_remediation",
            "patch window",
            "30",
        );
        fields.push(("until", until));
        fields
    };
    for (until, message) in [
        (
            "20 June",
            "until: &quot;20 June&quot; is not a date (YYYY-MM-DD)",
        ),
        ("2024-05-01", "until (Or until): must be in the future"),
    ] {
        let (status, _, body) = analyst.post(&url, &with_until(until)).await;
        assert_eq!(status, 400, "{until}: {body}");
        assert!(body.contains(message), "{until}: {message}\n{body}");
    }
    assert!(app.engine.exceptions().await.unwrap().is_empty());
    // The date wins over the duration and lasts to the end of that day (UTC).
    let (status, _, body) = analyst.post(&url, &with_until("2024-06-20")).await;
    assert_eq!(status, 303, "{body}");
    let exceptions = app.engine.exceptions().await.unwrap();
    assert_eq!(exceptions.len(), 1);
    assert_eq!(
        exceptions[0].expires_on.to_rfc3339(),
        "2024-06-20T23:59:59+00:00"
    );
}
