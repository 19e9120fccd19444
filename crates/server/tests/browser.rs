//! The console in a real browser: headless Chromium driven over WebDriver (see `common::browser`)
//! through the flows on the seeded fleet, with the scripts the pages ship. It signs in,
//! reads the dashboard, and saves a screenshot of every page under `target/console-screenshots/`.
//!
//! One test walks every flow in order, in one browser: the flows build on each other (an exception
//! changes the score the next step reads), and one Chromium is what a 2-core CI machine affords.
//! Skipped with a message when Chromium or chromedriver is missing, unless CI requires it.

mod common;

use bulwark_core::DeviceInfo;
use bulwark_core::identity::Role;
use bulwark_engine::IngestRequest;
use bulwark_engine::local_admin;
use common::browser::Browser;
use common::{ConsoleApp, TEST_PASSWORD, cargo_lock};
use fantoccini::key::Key;

/// The analyst the browser signs in as (an admin: the flows include settings).
const EMAIL: &str = "erin@example.org";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_browser() {
    let app = ConsoleApp::seeded().await;
    app.engine
        .add_user(
            &local_admin(),
            EMAIL,
            None,
            Role::Admin,
            Some(TEST_PASSWORD),
        )
        .await
        .expect("add the browser's user");
    let Some(browser) = Browser::start(&app.base).await else {
        return;
    };

    sign_in(&browser).await;
    let before = exposure_score(&browser).await;
    assert!(before > 0.0, "the seeded fleet is exposed: {before}");

    let vulnlib = open_recommendation(&browser, VULNLIB).await;
    group_exception(&browser, &vulnlib).await;
    assert_eq!(
        exposure_score(&browser).await,
        before,
        "a risk accepted changes no score"
    );

    let oldcrate = open_recommendation(&browser, OLDCRATE).await;
    global_mitigation(&browser, &oldcrate).await;
    let excepted = exposure_score(&browser).await;
    assert!(
        excepted < before,
        "a third-party control counts as remediated: {before} → {excepted}"
    );
    show_exceptions_from_the_dashboard(&browser).await;

    cancel_exception(&browser, OLDCRATE).await;
    assert_eq!(
        listed_status(&browser, "", OLDCRATE).await.as_deref(),
        Some("Active"),
        "back in the default list"
    );
    assert_eq!(exposure_score(&browser).await, before, "the score is back");

    let progress = request_remediation(&browser, &vulnlib).await;
    fix_one_device(&app).await;
    let moved = activity_progress(&browser, VULNLIB).await;
    assert_eq!(
        moved,
        (progress.0 + 1, progress.1),
        "db-01 updated vulnlib: one more device fixed"
    );

    screenshot_every_page(&browser).await;
    dark_dashboard(&browser).await;

    browser.close().await;

    without_javascript(&app).await;
}

/// The recommendation the device-group exception is created on (every device has vulnlib 1.1.0).
const VULNLIB: &str = "Update vulnlib to 1.4.0";

/// The recommendation the global exception is created on (web-01 only).
const OLDCRATE: &str = "Upgrade oldcrate to 2.0.0";

/// A signed-out visit goes to the sign-in form, which comes back to the page asked for.
async fn sign_in(browser: &Browser) {
    browser.open("/?impact=mitigation").await;
    assert!(
        browser.location().await.starts_with("/login?next="),
        "signed out: {}",
        browser.location().await
    );
    browser.find("#email").await;
    browser.screenshot("sign-in").await;

    // A wrong password says so and keeps the address typed.
    browser.type_into("#email", EMAIL).await;
    browser.type_into("#password", "not the password").await;
    let submit = browser.button("form", "Sign in").await;
    browser.click_to_new_page(&submit, "a wrong password").await;
    browser.find("#login-error").await;
    let typed = browser
        .find("#email")
        .await
        .prop("value")
        .await
        .expect("e-mail value");
    assert_eq!(typed.as_deref(), Some(EMAIL));

    submit_sign_in(browser).await;
    assert_eq!(browser.location().await, "/?impact=mitigation");
    let user = browser.text("header .user").await;
    assert!(user.contains("admin"), "{user}");

    // The first Tab reaches the skip link, which moves the focus to the content.
    browser.press("body", Key::Tab).await;
    let skip = browser
        .script("return document.activeElement.textContent.trim();")
        .await;
    assert_eq!(skip, "Skip to content");
    browser
        .client
        .active_element()
        .await
        .expect("the focused link")
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("press Enter");
    browser
        .until("the skip link to focus the content", || async {
            (browser.focused().await == "main").then_some(())
        })
        .await;
}

/// Signs in with the test password on the sign-in form shown (the e-mail field filled or not).
async fn submit_sign_in(browser: &Browser) {
    browser.type_into("#email", EMAIL).await;
    browser.type_into("#password", TEST_PASSWORD).await;
    let submit = browser.button("form", "Sign in").await;
    browser.click_to_new_page(&submit, "signing in").await;
}

/// The dashboard's exposure score (mitigation-like exceptions counted, the default view).
async fn exposure_score(browser: &Browser) -> f64 {
    browser.open("/").await;
    let text = browser.text("#exposure-score").await;
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("#exposure-score is a number: {text:?}"))
}

/// The theme toggle switches the dashboard to dark and back, remembered across pages.
async fn dark_dashboard(browser: &Browser) {
    browser.open("/").await;
    let light = background(browser).await;
    browser.click("[data-theme-toggle]").await;
    let theme = browser
        .script("return document.documentElement.dataset.theme;")
        .await;
    assert_eq!(theme, "dark");
    let dark = browser
        .until("the dark background", || async {
            let now = background(browser).await;
            (now != light).then_some(now)
        })
        .await;
    browser.open("/").await;
    assert_eq!(background(browser).await, dark, "the choice is remembered");
    browser.screenshot("dashboard-dark").await;
    browser.click("[data-theme-toggle]").await;
    browser
        .until("the light background again", || async {
            (background(browser).await == light).then_some(())
        })
        .await;
}

/// The page's computed background colour.
async fn background(browser: &Browser) -> String {
    browser
        .script("return getComputedStyle(document.body).backgroundColor;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Opens the recommendation called `name` from the list: its flyout opens in place (the script
/// loads it without a reload), closes with Escape back to the list, and opens again from its
/// address. Returns the flyout's address.
async fn open_recommendation(browser: &Browser, name: &str) -> String {
    browser.open("/recommendations").await;
    let rows = recommendation_rows(browser).await;
    assert!(
        rows.iter().any(|(n, _)| n == name),
        "{name} is listed: {rows:?}"
    );
    let link = browser.link("table#recommendations", name).await;
    browser.mark_page().await;
    link.click().await.expect("click the recommendation");
    let title = browser.text_containing("#flyout-title", name).await;
    assert_eq!(title, name);
    let address = browser.location().await;
    assert!(
        address.contains("flyout="),
        "the address names the flyout: {address}"
    );
    let reloaded = browser
        .script("return window.__bulwarkOldPage === undefined;")
        .await;
    assert_eq!(reloaded, false, "the flyout opened without a reload");
    assert_eq!(
        browser.focused().await,
        "flyout-title",
        "focus moves to the flyout"
    );

    browser.press("#flyout", Key::Escape).await;
    browser
        .until("Escape to close the flyout", || async {
            (!browser.has("#flyout").await).then_some(())
        })
        .await;
    assert_eq!(browser.location().await, "/recommendations");

    browser.open(&address).await;
    browser.text_containing("#flyout-title", name).await;
    address
}

/// The recommendations list's rows as (name, status).
async fn recommendation_rows(browser: &Browser) -> Vec<(String, String)> {
    let rows = browser
        .script(
            "return Array.from(document.querySelectorAll('table#recommendations tbody tr')).map(tr => \
             [tr.querySelector('td a').textContent.trim(), tr.querySelector('td.status').textContent.trim()]);",
        )
        .await;
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap_or_default().to_string(),
                        r[1].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The status the recommendations list shows for `name` (the default list, or `query`'s).
async fn listed_status(browser: &Browser, query: &str, name: &str) -> Option<String> {
    browser.open(&format!("/recommendations{query}")).await;
    browser.find("main h1").await;
    recommendation_rows(browser)
        .await
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, status)| status)
}

/// Fills the flyout's "Exception options" form: the scope (`None` for global, else the groups),
/// the justification, the context and the duration; waits for the preview the script fetches and
/// returns its text.
async fn fill_exception(
    browser: &Browser,
    groups: Option<&[&str]>,
    justification: &str,
    context: &str,
) -> String {
    // Typing fires no preview; each choice after it does, and the scope comes last so that the
    // last preview is the complete form's.
    browser
        .type_into("#exception-form textarea[name=context]", context)
        .await;
    browser
        .select("#exception-form select[name=duration]", "30")
        .await;
    browser
        .select("#exception-form select[name=justification]", justification)
        .await;
    match groups {
        None => {
            browser
                .click("#exception-form input[name=scope][value=global]")
                .await;
        }
        Some(groups) => {
            browser
                .click("#exception-form input[name=scope][value=groups]")
                .await;
            for group in groups {
                browser
                    .click(&format!(
                        "#exception-form input[name=groups][value={group}]"
                    ))
                    .await;
            }
        }
    }
    // The preview follows every change; the last one has the status after.
    browser
        .text_containing("#exception-form [data-preview-target]", "Status after")
        .await
}

/// A device-group exception (group web, risk accepted) on vulnlib: the preview says the status it
/// leads to and that the score does not move; submitting comes back to the flyout with a notice,
/// and the list shows "Partial exception".
async fn group_exception(browser: &Browser, address: &str) {
    browser.open(address).await;
    let preview = fill_exception(
        browser,
        Some(&["web"]),
        "risk_accepted",
        "The web tier is retired next quarter; accepted by the CISO.",
    )
    .await;
    assert!(preview.contains("Partial exception"), "{preview}");
    assert!(
        preview.contains("does not change the exposure score"),
        "{preview}"
    );
    let notice = submit_exception(browser).await;
    assert!(notice.contains("Partial exception"), "{notice}");
    let status = browser.text("#flyout-status").await;
    assert_eq!(status, "Partial exception");
    assert_eq!(
        listed_status(browser, "", VULNLIB).await.as_deref(),
        Some("Partial exception")
    );
}

/// Submits the flyout's exception form; returns the notice the flyout comes back with.
async fn submit_exception(browser: &Browser) -> String {
    let notice = browser.submit("#exception-form", "Submit").await;
    assert!(notice.contains("Exception created"), "{notice}");
    notice
}

/// A global third-party control on oldcrate: the recommendation is fully excepted, leaves the
/// default list and is found with the status filter.
async fn global_mitigation(browser: &Browser, address: &str) {
    browser.open(address).await;
    let preview = fill_exception(
        browser,
        None,
        "third_party_control",
        "The WAF blocks the vulnerable endpoint (rule 942100).",
    )
    .await;
    assert!(preview.contains("Exception"), "{preview}");
    let after: f64 = browser
        .text("#exception-form .preview-after")
        .await
        .parse()
        .expect("the preview's score after");
    let notice = submit_exception(browser).await;
    assert!(notice.contains("leaves the default list"), "{notice}");
    assert_eq!(browser.text("#flyout-status").await, "Exception");
    assert_eq!(listed_status(browser, "", OLDCRATE).await, None);
    assert!(
        browser
            .text("#hidden-exceptions")
            .await
            .contains("1 recommendation is")
    );
    assert_eq!(
        listed_status(browser, "?status=Exception", OLDCRATE)
            .await
            .as_deref(),
        Some("Exception")
    );
    assert_eq!(
        exposure_score(browser).await,
        after,
        "the dashboard shows the score the preview promised"
    );
}

/// The dashboard's "Show exceptions" link leads to the excepted recommendations.
async fn show_exceptions_from_the_dashboard(browser: &Browser) {
    browser.open("/").await;
    let link = browser.link("main", "Show exceptions").await;
    browser.click_to_new_page(&link, "Show exceptions").await;
    assert_eq!(
        browser.location().await,
        "/recommendations?status=Exception"
    );
    let rows = recommendation_rows(browser).await;
    assert_eq!(rows, vec![(OLDCRATE.to_string(), "Exception".to_string())]);
}

/// Cancels the exception on `target` from Remediation → Exceptions: its flyout's "Cancel exception"
/// ends it, with a notice.
async fn cancel_exception(browser: &Browser, target: &str) {
    browser.open("/remediation?tab=exceptions").await;
    let link = browser.link("table#exceptions", target).await;
    link.click().await.expect("open the exception");
    browser.text_containing("#flyout-title", target).await;
    let notice = browser
        .submit("#cancel-exception", "Cancel exception")
        .await;
    assert!(notice.contains("Exception canceled"), "{notice}");
    assert!(notice.contains(target), "{notice}");
    browser.text_containing("#flyout", "Canceled").await;
    assert!(
        !browser.has("#cancel-exception").await,
        "a canceled exception offers no cancel"
    );
}

/// Requests remediation of vulnlib (high priority, due in a month) from its flyout; returns the
/// progress (fixed, target devices) the Activities tab shows for it.
async fn request_remediation(browser: &Browser, address: &str) -> (u64, u64) {
    browser.open(address).await;
    browser
        .select("#remediation-form select[name=priority]", "High")
        .await;
    // Date pickers take keys in the browser's locale; the field's value is what the form sends.
    browser
        .script("document.querySelector('#remediation-form input[name=due]').value = '2024-07-01';")
        .await;
    browser
        .type_into(
            "#remediation-form textarea[name=notes]",
            "Roll out vulnlib 1.4.0 with the July patch window.",
        )
        .await;
    let notice = browser
        .submit("#remediation-form", "Request remediation")
        .await;
    assert!(notice.contains("Remediation activity #"), "{notice}");
    assert!(notice.contains("priority High, due 2024-07-01"), "{notice}");
    activity_progress(browser, VULNLIB).await
}

/// The progress of the activity whose title names `recommendation`, from the Activities tab:
/// (fixed, target devices).
async fn activity_progress(browser: &Browser, recommendation: &str) -> (u64, u64) {
    browser.open("/remediation?tab=activities").await;
    let rows = browser
        .script(
            "return Array.from(document.querySelectorAll('table#activities tbody tr')).map(tr => \
             [tr.querySelector('td a').textContent.trim(), tr.querySelector('.progress-text').textContent.trim()]);",
        )
        .await;
    let rows = rows.as_array().cloned().unwrap_or_default();
    let text = rows
        .iter()
        .find(|r| r[0].as_str().is_some_and(|t| t.contains(recommendation)))
        .and_then(|r| r[1].as_str())
        .unwrap_or_else(|| panic!("an activity for {recommendation}: {rows:?}"))
        .to_string();
    // "1/3 devices fixed"
    let parsed = text
        .split_whitespace()
        .next()
        .and_then(|n| n.split_once('/'))
        .and_then(|(f, t)| Some((f.parse().ok()?, t.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("progress as fixed/target: {text:?}"))
}

/// db-01 reports vulnlib 1.4.0 (the fixed version) through the engine, as its agent would.
async fn fix_one_device(app: &ConsoleApp) {
    app.engine
        .ingest(IngestRequest {
            device: DeviceInfo {
                name: "db-01".to_string(),
                os: None,
                group: Some("db".to_string()),
                tags: Vec::new(),
            },
            file: "Cargo.lock".to_string(),
            bytes: cargo_lock(&[("vulnlib", "1.4.0"), ("safecrate", "1.0.0")]).into_bytes(),
            format: None,
        })
        .await
        .expect("ingest db-01's fixed inventory");
}

/// Opens a section's page from the navigation and checks it is the page asked for (its section is
/// marked current, no error), then saves its screenshot.
async fn visit(browser: &Browser, path: &str, section: &str, shot: &str) {
    browser.open(path).await;
    let current = browser.text("header nav a[aria-current=page]").await;
    assert_eq!(current, section, "{path} belongs to {section}");
    let heading = browser.text("main h1").await;
    assert!(
        !browser.has(".error-message").await,
        "{path} shows an error: {heading}"
    );
    browser.screenshot(shot).await;
}

/// Opens the first flyout link inside `list` and saves its screenshot.
async fn visit_flyout(browser: &Browser, list: &str, shot: &str) {
    let link = browser.find(&format!("{list} a[data-flyout]")).await;
    let name = link.text().await.expect("link text");
    link.click().await.expect("open the flyout");
    browser.text_containing("#flyout-title", name.trim()).await;
    browser.screenshot(shot).await;
}

/// A screenshot of every page, with the data the flows left (exceptions, an activity, a fixed
/// device).
async fn screenshot_every_page(browser: &Browser) {
    visit(browser, "/", "Dashboard", "dashboard").await;
    browser.find("#exposure-score").await;
    visit(
        browser,
        "/recommendations",
        "Recommendations",
        "recommendations",
    )
    .await;
    visit_flyout(browser, "table#recommendations", "recommendation-flyout").await;
    visit(
        browser,
        "/remediation?tab=activities",
        "Remediation",
        "remediation-activities",
    )
    .await;
    visit_flyout(browser, "table#activities", "remediation-activity-flyout").await;
    visit(
        browser,
        "/remediation?tab=exceptions",
        "Remediation",
        "remediation-exceptions",
    )
    .await;
    visit_flyout(browser, "table#exceptions", "remediation-exception-flyout").await;
    visit(browser, "/weaknesses", "Weaknesses", "weaknesses").await;
    visit_flyout(browser, "table#weaknesses", "weakness-flyout").await;
    visit(browser, "/devices", "Devices", "devices").await;
    let device = browser.link("table#devices", "web-01").await;
    browser
        .click_to_new_page(&device, "the device web-01")
        .await;
    assert_eq!(browser.text("#device-name").await, "web-01");
    browser.screenshot("device").await;
    visit(browser, "/software", "Software", "software").await;
    visit(browser, "/audit", "Audit log", "audit").await;
    let audit = browser.text("main").await;
    for action in ["exception.create", "exception.cancel", "remediation.create"] {
        assert!(
            audit.contains(action),
            "the audit log records {action}: {audit}"
        );
    }
    visit(browser, "/settings", "Settings", "settings").await;
}

/// With the scripts turned off the same console works by links and forms: a flyout is a page of its
/// own, the exception form previews through its "Preview" button, and the close link goes back to
/// the list.
async fn without_javascript(app: &ConsoleApp) {
    let Some(browser) = Browser::start_with(&app.base, false).await else {
        return;
    };
    browser.open("/login").await;
    submit_sign_in(&browser).await;
    browser.find("#exposure-score").await;

    browser.open("/recommendations").await;
    let link = browser.link("table#recommendations", OLDCRATE).await;
    // A new document: no script took the click over.
    browser
        .click_to_new_page(&link, "the flyout's own page")
        .await;
    assert!(browser.location().await.contains("flyout="));
    assert_eq!(browser.text("#flyout-title").await, OLDCRATE);

    browser
        .select(
            "#exception-form select[name=justification]",
            "alternate_mitigation",
        )
        .await;
    browser
        .click("#exception-form input[name=scope][value=global]")
        .await;
    browser
        .type_into(
            "#exception-form textarea[name=context]",
            "Host firewall blocks it.",
        )
        .await;
    let preview = browser.button("#exception-form", "Preview").await;
    browser.click_to_new_page(&preview, "the preview").await;
    let figures = browser
        .text_containing("#exception-form [data-preview-target]", "Status after")
        .await;
    assert!(figures.contains("Exception"), "{figures}");
    let (before, after) = (
        browser.text("#exception-form .preview-before").await,
        browser.text("#exception-form .preview-after").await,
    );
    assert!(
        after.parse::<f64>().expect("after") < before.parse::<f64>().expect("before"),
        "an alternate mitigation lowers the score: {before} → {after}"
    );
    assert!(
        app.engine.exceptions().await.expect("exceptions").len() == 2,
        "a preview creates nothing"
    );

    let close = browser.find("#flyout a[data-close]").await;
    browser
        .click_to_new_page(&close, "closing the flyout")
        .await;
    assert_eq!(browser.location().await, "/recommendations");
    assert!(!browser.has("#flyout").await);
    browser.close().await;
}
