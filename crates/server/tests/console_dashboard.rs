//! The console's dashboard (`/`) on the seeded fleet: the exposure score in each impact view (no
//! impact, mitigation-like, hybrid) before and after exceptions, the secure score and its categories,
//! the charts and their text alternatives, the top recommendations and vulnerable software, the
//! exposure distribution, exceptions expiring soon and exceptions to review, empty states, a bad
//! `impact` value, and what a viewer sees.

mod common;

use bulwark_core::exception::{ExceptionDuration, ExceptionRequest, Justification, TargetKind};
use bulwark_core::exposure::ExposureLevel;
use bulwark_core::identity::Role;
use bulwark_engine::{AssessmentRequest, DevicePatch, ImpactMode, local_admin};
use chrono::Duration;
use common::{ConsoleApp, ConsoleClient};

/// The recommendation every seeded device has: vulnlib 1.1.0.
const VULNLIB: &str = "va-_-crates.io-_-vulnlib";

/// A third-party-control (mitigation-like) exception on vulnlib, global or for some groups.
fn mitigation_on_vulnlib(groups: Option<&[&str]>, duration: ExceptionDuration) -> ExceptionRequest {
    ExceptionRequest {
        kind: TargetKind::Recommendation,
        target: VULNLIB.into(),
        justification: Justification::ThirdPartyControl,
        context: "the WAF strips the overflowing header".into(),
        groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        duration,
    }
}

/// The seeded fleet and an analyst signed in to its console.
async fn analyst() -> (ConsoleApp, ConsoleClient) {
    let app = ConsoleApp::seeded().await;
    let console = app.sign_in("ana@example.org", Role::Analyst).await;
    (app, console)
}

/// The organisation's exposure score with exceptions counted as `mode` says.
async fn score(app: &ConsoleApp, mode: ImpactMode) -> f64 {
    app.engine.exposure_with(mode).await.unwrap().score
}

/// The text of the element with this id, up to its first tag (`<span id="x">41.3</span>` → `41.3`).
fn text_of<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let marker = format!(r#"id="{id}">"#);
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('<')? + start;
    Some(&page[start..end])
}

/// The part of the page inside the section with this id.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!(r#"<section class="card" id="{id}""#))
        .unwrap_or_else(|| panic!("no section {id} in {page}"));
    let end = page[start..]
        .find("</section>")
        .map_or(page.len(), |e| e + start);
    &page[start..end]
}

#[tokio::test]
async fn the_exposure_score_shown_is_the_engines() {
    let (app, console) = analyst().await;
    let exposure = app.engine.exposure().await.unwrap();
    assert!(exposure.score > 0.0, "the seeded fleet is exposed");
    let (status, page) = console.get("/").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        text_of(&page, "exposure-score"),
        Some(format!("{:.1}", exposure.score).as_str())
    );
    let band = format!("{:?}", exposure.band);
    assert!(
        section(&page, "exposure-card")
            .contains(&format!(r#"badge-{}">{band}<"#, band.to_lowercase())),
        "{page}"
    );
    // The default view is mitigation-like, and the switch says so.
    assert!(
        page.contains(r#"<a href="?impact=mitigation" aria-current="true""#),
        "{page}"
    );
    let (_, explicit) = console.get("/?impact=mitigation").await;
    assert_eq!(
        text_of(&page, "exposure-score"),
        text_of(&explicit, "exposure-score")
    );
}

#[tokio::test]
async fn a_mitigation_like_exception_lowers_only_the_mitigation_like_score() {
    let (app, console) = analyst().await;
    let before = app.engine.exposure().await.unwrap().score;
    app.engine
        .create_exception(
            &local_admin(),
            mitigation_on_vulnlib(None, ExceptionDuration::Days(30)),
        )
        .await
        .expect("global exception");
    let mitigated = score(&app, ImpactMode::Mitigation).await;
    let raw = score(&app, ImpactMode::None).await;
    assert!(mitigated < before, "{mitigated} < {before}");
    assert_eq!(format!("{raw:.1}"), format!("{before:.1}"));

    let (_, page) = console.get("/?impact=mitigation").await;
    assert_eq!(
        text_of(&page, "exposure-score"),
        Some(format!("{mitigated:.1}").as_str())
    );
    let (_, page) = console.get("/?impact=none").await;
    assert_eq!(
        text_of(&page, "exposure-score"),
        Some(format!("{before:.1}").as_str())
    );
    assert!(page.contains(r#"id="exposure-history-note""#), "{page}");

    // Hybrid: both figures side by side, labelled, and no single `exposure-score`.
    let (_, page) = console.get("/?impact=hybrid").await;
    assert_eq!(
        text_of(&page, "exposure-score-no-impact"),
        Some(format!("{before:.1}").as_str())
    );
    assert_eq!(
        text_of(&page, "exposure-score-mitigation"),
        Some(format!("{mitigated:.1}").as_str())
    );
    let card = section(&page, "exposure-card");
    assert!(
        card.contains("No impact · ") && card.contains("Mitigation-like · "),
        "{card}"
    );
    assert!(!page.contains(r#"id="exposure-score">"#));
    // One recorded line (history is stored for the mitigation-like view only), said honestly.
    assert_eq!(card.matches("<svg").count(), 1, "{card}");
    assert!(card.contains("no recorded history"), "{card}");
    // The distribution shows both modes.
    let distribution = section(&page, "exposure-distribution");
    assert!(distribution.contains(r#"id="distribution-no-impact""#));
    assert!(distribution.contains(r#"id="distribution-mitigation""#));

    // The globally excepted recommendation leaves the card; "Show exceptions" leads to it.
    let card = section(&page, "top-recommendations");
    assert!(
        !card.contains(&format!("data-recommendation=\"{VULNLIB}\"")),
        "{card}"
    );
    assert!(
        card.contains(r#"<a id="show-exceptions" href="/recommendations?status=Exception">Show exceptions</a>"#),
        "{card}"
    );
}

#[tokio::test]
async fn recommendation_impacts_follow_the_impact_view() {
    let (app, console) = analyst().await;
    // A group exception on db-01's vulnlib: vulnlib is partly excepted, its impact after exceptions lower.
    app.engine
        .create_exception(
            &local_admin(),
            mitigation_on_vulnlib(Some(&["db"]), ExceptionDuration::Days(90)),
        )
        .await
        .expect("group exception");
    let r = app.engine.recommendation(VULNLIB).await.unwrap();
    assert_eq!(r.status, "PartialException");
    assert!(r.exposure_impact_after_exceptions < r.exposure_impact);
    let row = |page: &str| -> String {
        let card = section(page, "top-recommendations");
        let start = card
            .find(&format!("data-recommendation=\"{VULNLIB}\""))
            .unwrap_or_else(|| panic!("vulnlib on the card: {card}"));
        let end = card[start..].find("</tr>").unwrap() + start;
        card[start..end].to_string()
    };
    let link = format!(r#"href="/recommendations?flyout={}""#, VULNLIB);

    let (_, page) = console.get("/?impact=none").await;
    let none = row(&page);
    assert!(none.contains(&link), "{none}");
    assert!(none.contains(&format!(
        r#"<td class="num impact">{:.1}</td>"#,
        r.exposure_impact
    )));
    assert!(none.contains(&format!(
        r#"<td class="num">{}</td>"#,
        r.exposed_machines_count
    )));
    assert!(!none.contains("impact-after"), "{none}");

    let (_, page) = console.get("/?impact=mitigation").await;
    let mitigation = row(&page);
    assert!(mitigation.contains(&format!(
        r#"<td class="num impact-after">{:.1}</td>"#,
        r.exposure_impact_after_exceptions
    )));
    assert!(mitigation.contains(&format!(
        r#"<td class="num">{}</td>"#,
        r.exposed_machines_count_after_exceptions
    )));
    assert!(mitigation.contains("Partial exception"), "{mitigation}");
    assert!(
        !mitigation.contains(r#"class="num impact""#),
        "{mitigation}"
    );

    let (_, page) = console.get("/?impact=hybrid").await;
    let hybrid = row(&page);
    assert!(
        hybrid.contains("num impact\"") && hybrid.contains("num impact-after"),
        "{hybrid}"
    );
    assert!(section(&page, "top-recommendations").contains("Impact (after exceptions)"));
}

#[tokio::test]
async fn top_software_and_the_exposure_distribution_match_the_fleet() {
    let (app, console) = analyst().await;
    let (_, page) = console.get("/").await;

    // vulnlib is on all three devices and comes first; abandoned and oldcrate only on web-01.
    let software = section(&page, "top-software");
    let vulnlib = software
        .find(r#"data-software="vulnlib""#)
        .expect("vulnlib");
    for other in ["oldcrate", "abandoned"] {
        let at = software
            .find(&format!(r#"data-software="{other}""#))
            .unwrap_or_else(|| panic!("{other} in {software}"));
        assert!(vulnlib < at, "vulnlib first");
    }
    assert!(!software.contains("safecrate"), "not vulnerable");
    assert!(
        software.contains(r#"<a href="/software?q=vulnlib">vulnlib</a>"#),
        "{software}"
    );
    let row_end = software[vulnlib..].find("</tr>").unwrap() + vulnlib;
    assert!(
        software[vulnlib..row_end].contains(r#"<td class="num">2</td><td class="num">3</td>"#),
        "two weaknesses, three devices: {}",
        &software[vulnlib..row_end]
    );

    let exposure = app.engine.exposure().await.unwrap();
    let count = |level: ExposureLevel| {
        exposure
            .devices
            .iter()
            .filter(|d| d.exposure_level == level)
            .count()
    };
    let distribution = section(&page, "exposure-distribution");
    for (level, label) in [
        (ExposureLevel::High, "High"),
        (ExposureLevel::Medium, "Medium"),
        (ExposureLevel::Low, "Low"),
        (ExposureLevel::None, "None"),
    ] {
        let n = count(level);
        assert!(
            distribution.contains(&format!(r#"<th scope="row">{label}</th><td>{n}</td>"#)),
            "{label}: {n} in {distribution}"
        );
    }
    assert_eq!(text_of(distribution, "active-devices"), Some("3"));
    assert!(
        distribution.contains("(3 devices in all)."),
        "{distribution}"
    );
}

#[tokio::test]
async fn charts_are_images_with_titles_and_data_tables() {
    let (app, console) = analyst().await;
    let (_, page) = console.get("/").await;
    for id in ["exposure-trend", "distribution-mitigation"] {
        let start = page
            .find(&format!(r#"<svg class="chart" id="{id}" role="img""#))
            .unwrap_or_else(|| panic!("chart {id} in {page}"));
        let figure_end = page[start..].find("</figure>").unwrap() + start;
        let figure = &page[start..figure_end];
        assert!(
            figure.contains(&format!(r#"aria-labelledby="{id}-title {id}-desc""#)),
            "{figure}"
        );
        assert!(
            figure.contains(&format!(r#"<title id="{id}-title">"#)),
            "{figure}"
        );
        assert!(
            figure.contains(&format!(r#"<desc id="{id}-desc">"#)),
            "{figure}"
        );
        assert!(
            figure.contains(r#"<table class="sr-only"><caption>"#),
            "{figure}"
        );
    }
    // Each ingest recorded a score on the same day: one point a day, described in words.
    let score = app.engine.exposure().await.unwrap().score;
    assert!(
        page.contains(&format!(
            "Recorded exposure score: one recorded score, {score:.1} on 2024-06-01."
        )),
        "{page}"
    );
}

#[tokio::test]
async fn exceptions_expiring_soon_and_to_review_are_listed() {
    let (app, console) = analyst().await;
    let (_, page) = console.get("/").await;
    assert!(section(&page, "expiring-exceptions").contains("No exceptions yet."));
    assert!(section(&page, "review-exceptions").contains("No exceptions yet."));

    let now = app.engine.now();
    let soon = app
        .engine
        .create_exception(
            &local_admin(),
            mitigation_on_vulnlib(
                Some(&["db"]),
                ExceptionDuration::Until(now + Duration::days(7)),
            ),
        )
        .await
        .expect("exception for 7 days");
    let later = app
        .engine
        .create_exception(
            &local_admin(),
            ExceptionRequest {
                kind: TargetKind::Recommendation,
                target: "va-_-crates.io-_-abandoned".into(),
                justification: Justification::RiskAccepted,
                context: "no replacement exists; reviewed quarterly".into(),
                groups: None,
                duration: ExceptionDuration::Days(90),
            },
        )
        .await
        .expect("exception for 90 days");
    let (_, page) = console.get("/").await;
    let expiring = section(&page, "expiring-exceptions");
    let href = format!(
        r#"href="/remediation?tab=exceptions&amp;flyout={}""#,
        soon.id
    );
    assert!(expiring.contains(&href), "{expiring}");
    assert!(
        expiring.contains("Update vulnlib"),
        "named by its recommendation: {expiring}"
    );
    assert!(expiring.contains("Third party control · db"), "{expiring}");
    assert!(expiring.contains("(in 7 days)"), "{expiring}");
    assert!(
        !expiring.contains(&format!("flyout={}\"", later.id)),
        "90 days is not soon: {expiring}"
    );
    assert!(
        section(&page, "review-exceptions").contains("No exception needs review"),
        "{page}"
    );

    // db-01 becomes internet-facing: the job resurfaces the exception covering it.
    app.engine
        .update_device(
            "db-01",
            DevicePatch {
                tags: Some(vec!["internet-facing".into()]),
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    let report = app.engine.run_exception_job().await.unwrap();
    assert_eq!(report.resurfaced, vec![soon.id]);
    let view = app.engine.exception(soon.id).await.unwrap();
    let (_, page) = console.get("/").await;
    let review = section(&page, "review-exceptions");
    assert!(review.contains(&href), "{review}");
    assert!(review.contains("Needs review"), "{review}");
    for reason in &view.review_reasons {
        assert!(
            review.contains(&format!("<li>{reason}</li>")),
            "{reason} in {review}"
        );
    }
}

#[tokio::test]
async fn the_secure_score_shows_its_five_categories() {
    let (app, console) = analyst().await;
    let (_, page) = console.get("/").await;
    assert!(
        section(&page, "secure-card").contains(r#"id="secure-score-empty""#),
        "nothing assessed yet: {page}"
    );

    // web-01 fails a Network check (root login over SSH) and passes an Accounts one.
    let xccdf = r#"<?xml version="1.0"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_org.ssgproject.content_benchmark_DASH">
  <Rule id="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium"><title>Disable SSH Root Login</title></Rule>
  <Rule id="xccdf_org.ssgproject.content_rule_accounts_password_minlen_login_defs" severity="high"><title>Minimum password length</title></Rule>
  <TestResult id="xccdf_org.open-scap_testresult_dash">
    <target>web-01</target>
    <rule-result idref="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium"><result>fail</result></rule-result>
    <rule-result idref="xccdf_org.ssgproject.content_rule_accounts_password_minlen_login_defs" severity="high"><result>pass</result></rule-result>
  </TestResult>
</Benchmark>"#;
    app.engine
        .assess(AssessmentRequest {
            device: "web-01".into(),
            file: "results.xml".into(),
            bytes: xccdf.as_bytes().to_vec(),
            format: None,
        })
        .await
        .expect("assessment");
    let secure = app.engine.configuration_score().await.unwrap();
    let score = secure.score.expect("assessed");
    let (_, page) = console.get("/").await;
    let card = section(&page, "secure-card");
    assert_eq!(
        text_of(card, "secure-score"),
        Some(format!("{score:.1}").as_str())
    );
    assert!(
        card.contains(&format!(
            "{} of {} points",
            secure.achieved, secure.possible
        )),
        "{card}"
    );
    let category = |name: &str| -> String {
        let start = card
            .find(&format!(r#"<th scope="row">{name}</th>"#))
            .unwrap_or_else(|| panic!("{name} in {card}"));
        let end = card[start..].find("</tr>").unwrap() + start;
        card[start..end].to_string()
    };
    let network = secure.categories.network.expect("a Network check");
    let accounts = secure.categories.accounts.expect("an Accounts check");
    assert!(category("Network").contains(&format!("{network:.1}")));
    assert!(category("Accounts").contains(&format!("{accounts:.1}")));
    for name in ["Application", "OS", "Security controls"] {
        assert!(category(name).contains("Not assessed"), "{name}");
    }
}

#[tokio::test]
async fn an_empty_installation_says_what_to_do_next() {
    let app = ConsoleApp::empty().await;
    let console = app.sign_in("ana@example.org", Role::Analyst).await;
    let (status, page) = console.get("/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"<div class="empty" role="note"><h2>No devices yet</h2>"#),
        "{page}"
    );
    assert!(page.contains("bulwark ingest FILE --device NAME"), "{page}");
    assert!(
        !page.contains(r#"id="exposure-score""#),
        "no score without devices"
    );
}

#[tokio::test]
async fn a_bad_impact_value_is_a_400_naming_the_parameter() {
    let (_app, console) = analyst().await;
    let (status, page) = console.get("/?impact=everything").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("query parameter impact"), "{page}");
    assert!(page.contains("none, mitigation, hybrid"), "{page}");
}

#[tokio::test]
async fn a_viewer_reads_the_dashboard() {
    let app = ConsoleApp::seeded().await;
    let console = app.sign_in("vera@example.org", Role::Viewer).await;
    let (status, page) = console.get("/?impact=hybrid").await;
    assert_eq!(status, 200, "{page}");
    let raw = score(&app, ImpactMode::None).await;
    assert_eq!(
        text_of(&page, "exposure-score-no-impact"),
        Some(format!("{raw:.1}").as_str())
    );
    assert!(page.contains(r#"id="top-recommendations""#));
    assert!(page.contains("Show exceptions"));
    // The dashboard offers no form but sign-out.
    assert_eq!(page.matches("<form").count(), 1, "{page}");
}
