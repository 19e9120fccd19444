//! The console's Remediation page on the seeded fleet: the Activities tab (progress, filters, the
//! flyout, manual completion) and the Exceptions tab (filters, paging, CSV export, the flyout, canceling
//! one group or the whole exception and the recommendation's status coming back), with CSRF, role
//! limits and unknown ids.

mod common;

use bulwark_core::DeviceInfo;
use bulwark_core::exception::{
    ExceptionDuration, ExceptionRequest, ExceptionStatus, Justification, TargetKind,
};
use bulwark_core::identity::{Role, User};
use bulwark_core::remediation::TaskStatus;
use bulwark_engine::{Engine, IngestRequest, TaskRequest, local_admin};
use common::{ConsoleApp, cargo_lock, table_rows};

const VULNLIB: &str = "va-_-crates.io-_-vulnlib";
const OLDCRATE: &str = "va-_-crates.io-_-oldcrate";

fn on_recommendation(
    target: &str,
    justification: Justification,
    groups: Option<&[&str]>,
    days: u32,
) -> ExceptionRequest {
    ExceptionRequest {
        kind: TargetKind::Recommendation,
        target: target.into(),
        justification,
        context: "The WAF blocks the request pattern".into(),
        groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        duration: ExceptionDuration::Days(days),
    }
}

fn on_cve(cve: &str, justification: Justification) -> ExceptionRequest {
    ExceptionRequest {
        kind: TargetKind::Cve,
        target: cve.into(),
        justification,
        context: "abandoned is only linked in tests".into(),
        groups: None,
        duration: ExceptionDuration::Days(90),
    }
}

async fn user(engine: &Engine, email: &str) -> User {
    engine.user(email).await.expect("user")
}

/// Moves `device` to vulnlib 1.4.0 (fixing both vulnlib weaknesses on it).
async fn remediate(engine: &Engine, device: &str, group: &str) {
    engine
        .ingest(IngestRequest {
            device: DeviceInfo {
                name: device.into(),
                os: None,
                group: Some(group.into()),
                tags: vec![],
            },
            file: "Cargo.lock".into(),
            bytes: cargo_lock(&[("vulnlib", "1.4.0")]).into_bytes(),
            format: None,
        })
        .await
        .expect("ingest");
}

#[tokio::test]
async fn the_activities_tab_shows_progress_filters_and_completes_an_activity() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let viewer = app.sign_in("vic@example.org", Role::Viewer).await;

    let (status, page) = analyst.get("/remediation").await;
    assert_eq!(status, 200);
    assert!(page.contains("No remediation activities yet"), "{page}");
    assert!(page.contains("Request remediation from a recommendation"));
    assert!(page.contains(r#"aria-current="page">Activities"#));

    let ana = user(&app.engine, "ana@example.org").await;
    let due = app.engine.now() + chrono::Duration::days(14);
    let vulnlib = app
        .engine
        .create_task(
            &ana,
            TaskRequest {
                recommendation_id: VULNLIB.into(),
                device_groups: vec![],
                priority: "High".into(),
                due_on: Some(due),
                notes: "Patch window on Friday".into(),
            },
        )
        .await
        .unwrap();
    let oldcrate = app
        .engine
        .create_task(
            &ana,
            TaskRequest {
                recommendation_id: OLDCRATE.into(),
                device_groups: vec![],
                priority: "Low".into(),
                due_on: None,
                notes: String::new(),
            },
        )
        .await
        .unwrap();
    remediate(&app.engine, "web-02", "web").await;

    let (_, page) = analyst.get("/remediation?tab=activities").await;
    assert_eq!(table_rows(&page, "activities"), 2);
    assert!(page.contains(&vulnlib.title), "{page}");
    assert!(page.contains("Update vulnlib to 1.4.0"));
    assert!(page.contains("1/3 devices fixed"), "web-02 was remediated");
    assert!(page.contains(r#"<progress value="1" max="3""#));
    assert!(
        page.contains("0/1 devices fixed"),
        "oldcrate is only on web-01"
    );
    assert!(page.contains("Attention required"));
    assert!(page.contains(&due.format("%Y-%m-%d").to_string()));
    assert!(page.contains("ana@example.org"));

    let (_, page) = analyst
        .get("/remediation?tab=activities&priority=High")
        .await;
    assert_eq!(table_rows(&page, "activities"), 1);
    assert!(page.contains("Update vulnlib") && !page.contains(&oldcrate.title));
    let (_, page) = analyst
        .get("/remediation?tab=activities&due=attention")
        .await;
    assert_eq!(table_rows(&page, "activities"), 1);
    assert!(page.contains(&oldcrate.title));
    let (_, page) = analyst.get("/remediation?tab=activities&q=OLDCRATE").await;
    assert_eq!(table_rows(&page, "activities"), 1);
    let (_, page) = analyst
        .get("/remediation?tab=activities&status=Completed")
        .await;
    assert!(page.contains("No activity matches these filters"), "{page}");
    let (status, page) = analyst
        .get("/remediation?tab=activities&priority=urgent")
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("priority"), "{page}");

    // The flyout: target devices with their state and, for analysts, the completion form.
    let flyout = format!("/remediation?tab=activities&flyout={}", vulnlib.id);
    let (status, page) = analyst.get(&flyout).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="flyout""#) && page.contains(r#"id="flyout-title""#));
    assert!(page.contains(r#"role="dialog""#));
    assert_eq!(table_rows(&page, "activity-machines"), 3);
    assert_eq!(page.matches("Not fixed").count(), 2, "web-01 and db-01");
    assert!(page.contains(">Fixed<"), "web-02");
    assert!(page.contains("Patch window on Friday"));
    assert!(page.contains(r#"id="complete-activity""#) && page.contains("Mark completed"));
    assert!(page.contains(&format!("/recommendations?flyout={VULNLIB}")));
    let (_, page) = viewer.get(&flyout).await;
    assert!(!page.contains("complete-activity"), "viewers get no form");

    let complete = format!("/remediation/activities/{}/complete", vulnlib.id);
    assert_eq!(viewer.post(&complete, &[]).await.0, 403);
    assert_eq!(
        analyst.post_raw(&complete, &[]).await.0,
        403,
        "no CSRF token"
    );
    let (status, location, _) = analyst.post(&complete, &[]).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(flyout.as_str()));
    assert_eq!(
        app.engine.task(vulnlib.id).await.unwrap().status,
        TaskStatus::Completed
    );
    let (_, page) = analyst.get(&flyout).await;
    assert!(page.contains("marked completed"), "the notice: {page}");
    assert!(page.contains("completed by hand"));
    assert!(!page.contains(r#"id="complete-activity""#));
    assert_eq!(
        analyst.post(&complete, &[]).await.0,
        409,
        "already completed"
    );
    let (_, page) = analyst
        .get("/remediation?tab=activities&status=Completed")
        .await;
    assert_eq!(table_rows(&page, "activities"), 1);

    assert_eq!(
        analyst
            .get("/remediation?tab=activities&flyout=9999")
            .await
            .0,
        404
    );
    assert_eq!(
        analyst
            .get("/remediation?tab=activities&flyout=abc")
            .await
            .0,
        404
    );
    assert_eq!(
        analyst
            .post("/remediation/activities/9999/complete", &[])
            .await
            .0,
        404
    );
    assert_eq!(analyst.get("/remediation?tab=nope").await.0, 400);
}

#[tokio::test]
async fn the_exceptions_tab_filters_pages_and_exports_csv() {
    let app = ConsoleApp::seeded().await;
    let admin = app.sign_in("ada@example.org", Role::Admin).await;
    let (_, page) = admin.get("/remediation?tab=exceptions").await;
    assert!(page.contains("No exceptions yet"), "{page}");
    assert!(page.contains("Third party control") && page.contains("Exception options"));

    let ada = user(&app.engine, "ada@example.org").await;
    let global = app
        .engine
        .create_exception(
            &ada,
            on_recommendation(OLDCRATE, Justification::RiskAccepted, None, 30),
        )
        .await
        .unwrap();
    let web = app
        .engine
        .create_exception(
            &ada,
            ExceptionRequest {
                duration: ExceptionDuration::Until(app.engine.now() + chrono::Duration::days(7)),
                ..on_recommendation(
                    VULNLIB,
                    Justification::ThirdPartyControl,
                    Some(&["web"]),
                    30,
                )
            },
        )
        .await
        .unwrap();
    let cve = app
        .engine
        .create_exception(&ada, on_cve("CVE-2024-1004", Justification::FalsePositive))
        .await
        .unwrap();

    let (status, page) = admin.get("/remediation?tab=exceptions").await;
    assert_eq!(status, 200);
    assert_eq!(table_rows(&page, "exceptions"), 3);
    assert!(
        page.contains("Upgrade oldcrate to 2.0.0") || page.contains("oldcrate"),
        "{page}"
    );
    assert!(page.contains("CVE-2024-1004"));
    for text in ["Risk accepted", "Third party control", "False positive"] {
        assert!(page.contains(text), "{text}");
    }
    for text in [
        "No impact",
        "Mitigation-like",
        "Removed",
        "Global",
        "In effect",
    ] {
        assert!(page.contains(text), "{text}");
    }
    assert!(page.contains(r#"id="export-csv""#));

    let (_, page) = admin
        .get("/remediation?tab=exceptions&justification=risk_accepted")
        .await;
    assert_eq!(table_rows(&page, "exceptions"), 1);
    assert!(page.contains("Risk accepted"));
    assert!(page.contains("/remediation/exceptions.csv?justification=risk_accepted"));
    let (_, page) = admin.get("/remediation?tab=exceptions&type=cve").await;
    assert_eq!(table_rows(&page, "exceptions"), 1);
    assert!(page.contains("CVE-2024-1004"));
    let (_, page) = admin
        .get("/remediation?tab=exceptions&expiringWithinDays=10")
        .await;
    assert_eq!(table_rows(&page, "exceptions"), 1, "only the 7-day one");
    assert!(page.contains(&format!("flyout={}", web.id)));
    for bad in [
        "status=Active",
        "justification=because",
        "type=device",
        "expiringWithinDays=soon",
    ] {
        let (status, body) = admin
            .get(&format!("/remediation?tab=exceptions&{bad}"))
            .await;
        assert_eq!(status, 400, "{bad}");
        let field = bad.split('=').next().unwrap();
        assert!(body.contains(field), "{bad}: {body}");
    }

    // CSV: the API's columns and the tab's filters.
    let response = admin
        .http
        .get(format!(
            "{}/remediation/exceptions.csv?justification=false_positive",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("exceptions.csv")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    // The API's columns (the fields, by name) and its cells.
    assert!(
        lines[0].starts_with(
            "canceledBy,canceledOn,createdBy,createdOn,cveId,deviceGroups,exceptionType"
        ),
        "{csv}"
    );
    assert!(
        lines[1].starts_with(",,ada@example.org,2024-06-01T12:00:00Z,CVE-2024-1004,,Cve,"),
        "{csv}"
    );
    assert!(
        lines[1].contains(&format!(",true,{},false_positive,", cve.id)),
        "{csv}"
    );
    let (_, all) = admin.get("/remediation/exceptions.csv").await;
    assert_eq!(all.lines().count(), 4, "{all}");
    assert!(all.contains(",Recommendation,") && all.contains(OLDCRATE));
    assert!(
        all.contains(&format!(",true,{},risk_accepted,", global.id)),
        "{all}"
    );

    // Paging: 28 more exceptions on vulnlib for db, each canceled but the last.
    for i in 0..28 {
        let e = app
            .engine
            .create_exception(
                &ada,
                on_recommendation(VULNLIB, Justification::RiskAccepted, Some(&["db"]), 30),
            )
            .await
            .unwrap();
        if i < 27 {
            app.engine.cancel_exception(&ada, e.id, None).await.unwrap();
        }
    }
    let (_, page) = admin.get("/remediation?tab=exceptions").await;
    assert_eq!(table_rows(&page, "exceptions"), 25);
    assert!(page.contains("1–25 of 31"), "{page}");
    let (_, page) = admin.get("/remediation?tab=exceptions&page=2").await;
    assert_eq!(table_rows(&page, "exceptions"), 6);
    assert!(page.contains("26–31 of 31"));
    assert!(
        page.contains(&format!("flyout={}", global.id)),
        "oldest last"
    );
    let (_, page) = admin
        .get("/remediation?tab=exceptions&status=Canceled&per=50")
        .await;
    assert_eq!(table_rows(&page, "exceptions"), 27);
    let (_, page) = admin
        .get("/remediation?tab=exceptions&status=InEffect")
        .await;
    assert_eq!(table_rows(&page, "exceptions"), 4);
    assert_eq!(admin.get("/remediation?tab=exceptions&per=7").await.0, 400);
}

#[tokio::test]
async fn the_exception_flyout_cancels_one_group_then_the_whole_exception() {
    let app = ConsoleApp::seeded().await;
    let analyst = app.sign_in("ana@example.org", Role::Analyst).await;
    let viewer = app.sign_in("vic@example.org", Role::Viewer).await;
    let ana = user(&app.engine, "ana@example.org").await;
    let e = app
        .engine
        .create_exception(
            &ana,
            on_recommendation(
                VULNLIB,
                Justification::AlternateMitigation,
                Some(&["web", "db"]),
                60,
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        app.engine.recommendation(VULNLIB).await.unwrap().status,
        "Exception"
    );

    let flyout = format!("/remediation?tab=exceptions&flyout={}", e.id);
    let (status, page) = analyst.get(&flyout).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="flyout""#));
    assert!(
        page.contains(r#"<h2 id="flyout-title">Update vulnlib to 1.4.0</h2>"#),
        "{page}"
    );
    assert!(page.contains(&format!(r#"href="/recommendations?flyout={VULNLIB}""#)));
    assert!(page.contains("The WAF blocks the request pattern"));
    assert!(page.contains("Alternate mitigation") && page.contains("Mitigation-like"));
    assert_eq!(table_rows(&page, "exception-group-table"), 2);
    assert!(page.contains("Cancel for web") && page.contains("Cancel for db"));
    assert!(page.contains(r#"id="cancel-exception""#) && page.contains("Cancel exception"));
    assert!(page.contains("exception.create"), "the audit entries");
    assert!(page.contains("data-close"));
    let (_, page) = viewer.get(&flyout).await;
    assert!(!page.contains("cancel-exception") && !page.contains("Cancel for"));

    let cancel = format!("/remediation/exceptions/{}/cancel", e.id);
    assert_eq!(viewer.post(&cancel, &[("group", "db")]).await.0, 403);
    assert_eq!(
        analyst.post_raw(&cancel, &[("group", "db")]).await.0,
        403,
        "no CSRF"
    );
    let (status, location, _) = analyst.post(&cancel, &[("group", "db")]).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(flyout.as_str()));
    let after = app.engine.exception(e.id).await.unwrap();
    let statuses: Vec<(&str, ExceptionStatus)> = after
        .device_groups
        .iter()
        .map(|g| (g.name.as_str(), g.status))
        .collect();
    assert!(statuses.contains(&("db", ExceptionStatus::Canceled)));
    assert!(statuses.contains(&("web", ExceptionStatus::InEffect)));
    assert_eq!(
        app.engine.recommendation(VULNLIB).await.unwrap().status,
        "PartialException"
    );
    let (_, page) = analyst.get(&flyout).await;
    assert!(
        page.contains("Exception canceled for device group db"),
        "{page}"
    );
    assert!(!page.contains("Cancel for db") && page.contains("Cancel for web"));
    assert!(page.contains("exception.cancel"));
    let (_, list) = analyst.get("/remediation?tab=exceptions").await;
    assert!(list.contains("db: "), "the canceled group is shown: {list}");

    let (status, _, _) = analyst.post(&cancel, &[]).await;
    assert_eq!(status, 303);
    assert_eq!(
        app.engine.exception(e.id).await.unwrap().status,
        ExceptionStatus::Canceled
    );
    assert_eq!(
        app.engine.recommendation(VULNLIB).await.unwrap().status,
        "Active"
    );
    let (_, page) = analyst.get(&flyout).await;
    assert!(
        page.contains("Exception canceled: Update vulnlib to 1.4.0."),
        "{page}"
    );
    assert!(!page.contains(r#"id="cancel-exception""#));
    assert_eq!(analyst.post(&cancel, &[]).await.0, 409, "already canceled");

    // A global exception: analysts may not cancel it; its target link goes to the CVE.
    let cve = app
        .engine
        .create_exception(
            &local_admin(),
            on_cve("CVE-2024-1004", Justification::CveNoPatch),
        )
        .await
        .unwrap();
    let (_, page) = analyst
        .get(&format!("/remediation?tab=exceptions&flyout={}", cve.id))
        .await;
    assert!(
        page.contains(r#"href="/weaknesses?flyout=CVE-2024-1004""#),
        "{page}"
    );
    assert!(
        !page.contains(r#"id="cancel-exception""#),
        "analysts cannot cancel global ones"
    );
    assert_eq!(
        analyst
            .post(&format!("/remediation/exceptions/{}/cancel", cve.id), &[])
            .await
            .0,
        403
    );

    assert_eq!(
        analyst
            .get("/remediation?tab=exceptions&flyout=9999")
            .await
            .0,
        404
    );
    assert_eq!(
        analyst
            .post("/remediation/exceptions/9999/cancel", &[])
            .await
            .0,
        404
    );
    assert_eq!(
        analyst
            .post("/remediation/exceptions/x/cancel", &[])
            .await
            .0,
        404
    );
}
