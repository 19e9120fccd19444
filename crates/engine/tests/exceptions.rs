//! Exceptions on real data (the PyPA advisories against two DefectDojo requirement sets; the GHSA Maven
//! advisories and the CISA KEV catalog against the Keycloak SBOM): status and list effects, exact
//! score effects checked against real remediation, expiry by the clock, cancellation of one group,
//! permissions, the audit chain, and resurfacing when a covered CVE joins KEV.

use std::sync::{Arc, Mutex};

use bulwark_core::exception::{
    ExceptionDuration, ExceptionRequest, ExceptionStatus, Justification, TargetKind,
};
use bulwark_core::identity::{Role, User};
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::{Engine, EngineError, ImpactMode, IngestRequest, local_admin};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// A clock the test moves by hand.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

fn start() -> Arc<TestClock> {
    Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )))
}

async fn users(engine: &Engine) -> (User, User) {
    let admin = engine
        .add_user(&local_admin(), "ciso@example.org", None, Role::Admin, None)
        .await
        .expect("admin");
    let analyst = engine
        .add_user(&local_admin(), "ana@example.org", None, Role::Analyst, None)
        .await
        .expect("analyst");
    (admin, analyst)
}

fn device(name: &str, group: &str, file: &str, text: &str) -> IngestRequest {
    IngestRequest {
        device: DeviceInfo {
            name: name.into(),
            group: Some(group.into()),
            tags: vec![],
            ..DeviceInfo::default()
        },
        file: file.into(),
        bytes: text.as_bytes().to_vec(),
        format: None,
    }
}

fn on_django(justification: Justification, groups: Option<&[&str]>, days: u32) -> ExceptionRequest {
    ExceptionRequest {
        kind: TargetKind::Recommendation,
        target: "va-_-pypi-_-django".into(),
        justification,
        context: "WAF rule 942100 blocks the SQL injection vectors".into(),
        groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        duration: ExceptionDuration::Days(days),
    }
}

/// The PyPA advisories and two DefectDojo devices: `dojo-web` (group `web`, DefectDojo 1.10.4's
/// requirements) and `dojo-internal` (group `internal`, 2.0.3's). Returns the engine, the database's
/// guard and dojo-web's requirements text (tests remediate by editing it).
async fn dojo_fleet(
    data: &std::path::Path,
    clock: Arc<TestClock>,
) -> (Engine, bulwark_store::testing::FreshDatabase, String) {
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let engine = Engine::open(store, clock).await.expect("engine");
    let summary = engine
        .import(
            &data.join("advisories/pypa/pypa-advisory-database.tar.zst"),
            &|_| {},
        )
        .await
        .expect("import");
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let read = |file: &str| {
        std::fs::read_to_string(data.join("inventories/lockfiles/python").join(file)).unwrap()
    };
    let web_text = read("defectdojo-1.10.4.requirements.txt");
    engine
        .ingest(device("dojo-web", "web", "requirements.txt", &web_text))
        .await
        .expect("ingest web");
    engine
        .ingest(device(
            "dojo-internal",
            "internal",
            "requirements.txt",
            &read("defectdojo-2.0.3.requirements.txt"),
        ))
        .await
        .expect("ingest internal");
    (engine, database, web_text)
}

async fn django_status(engine: &Engine) -> (String, u64, u64) {
    let r = engine
        .recommendation("va-_-pypi-_-django")
        .await
        .expect("django");
    (
        r.status,
        r.exposed_machines_count,
        r.exposed_machines_count_after_exceptions,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_change_status_and_scores_exactly_and_expire_on_the_clock() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let clock = start();
    let (engine, _database, web_text) = dojo_fleet(&data, clock.clone()).await;
    let (admin, analyst) = users(&engine).await;
    assert_eq!(django_status(&engine).await, ("Active".into(), 2, 2));
    let s0 = engine.exposure().await.unwrap().score;

    // An analyst may not create a global exception.
    let refused = engine
        .create_exception(&analyst, on_django(Justification::RiskAccepted, None, 30))
        .await
        .unwrap_err();
    assert!(matches!(refused, EngineError::Forbidden(_)), "{refused}");

    // A global risk acceptance: the recommendation is in status Exception; scores do not move.
    let global = engine
        .create_exception(&admin, on_django(Justification::RiskAccepted, None, 30))
        .await
        .expect("global exception");
    assert_eq!(global.status, ExceptionStatus::InEffect);
    assert_eq!(django_status(&engine).await, ("Exception".into(), 2, 0));
    assert_eq!(engine.exposure().await.unwrap().score, s0);
    // A second global one collides.
    let conflict = engine
        .create_exception(&admin, on_django(Justification::RiskAccepted, None, 60))
        .await
        .unwrap_err();
    assert!(matches!(conflict, EngineError::Conflict(_)), "{conflict}");
    engine
        .cancel_exception(&admin, global.id, None)
        .await
        .expect("cancel");
    assert_eq!(django_status(&engine).await, ("Active".into(), 2, 2));

    // A device-group mitigation for `web`, ending in two days: PartialException, and the preview's
    // figure is the change it then makes.
    let mut request = on_django(Justification::AlternateMitigation, Some(&["web"]), 30);
    request.duration = ExceptionDuration::Until(clock.now() + Duration::days(2));
    let preview = engine
        .preview_exception(&analyst, request.clone())
        .await
        .expect("preview");
    assert_eq!(preview.exposure_score_before, s0);
    assert!(preview.exposure_score_change < 0.0, "{preview:?}");
    assert_eq!(preview.covered_devices, 1);
    assert_eq!(
        preview.recommendation_status.as_deref(),
        Some("PartialException")
    );
    let mitigation = engine
        .create_exception(&analyst, request)
        .await
        .expect("group exception");
    assert_eq!(
        django_status(&engine).await,
        ("PartialException".into(), 2, 1)
    );
    let s1 = engine.exposure().await.unwrap().score;
    assert!((s1 - preview.exposure_score_after).abs() < 1e-12);
    assert!(s1 < s0);
    // `impact=none` shows the raw score beside it.
    let raw = engine.exposure_with(ImpactMode::None).await.unwrap().score;
    assert_eq!(raw, s0);

    // A risk acceptance for `internal` beside it leaves the scores as they are.
    let accepted = engine
        .create_exception(
            &analyst,
            on_django(Justification::RiskAccepted, Some(&["internal"]), 30),
        )
        .await
        .expect("internal exception");
    assert_eq!(engine.exposure().await.unwrap().score, s1);
    assert_eq!(django_status(&engine).await, ("Exception".into(), 2, 0));
    engine
        .cancel_exception(&analyst, accepted.id, None)
        .await
        .expect("cancel");

    // The clock passes the expiry instant: Expired everywhere at once, and the score returns.
    clock.advance(Duration::days(2));
    assert_eq!(
        engine.exception(mitigation.id).await.unwrap().status,
        ExceptionStatus::Expired
    );
    assert_eq!(django_status(&engine).await, ("Active".into(), 2, 2));
    assert_eq!(engine.exposure().await.unwrap().score, s0);
    let job = engine.run_exception_job().await.expect("job");
    assert_eq!(job.expired, vec![mitigation.id]);
    assert!(
        engine.run_exception_job().await.unwrap().expired.is_empty(),
        "recorded once"
    );

    // The mitigation lowered the score by exactly what remediating django on the covered device does.
    let fixed = engine
        .recommendation("va-_-pypi-_-django")
        .await
        .unwrap()
        .recommended_version
        .expect("a fix");
    let line = web_text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("django=="))
        .expect("django pinned");
    engine
        .ingest(device(
            "dojo-web",
            "web",
            "requirements.txt",
            &web_text.replace(line, &format!("Django=={fixed}")),
        ))
        .await
        .expect("remediate");
    let s2 = engine.exposure().await.unwrap().score;
    assert!((s1 - s2).abs() < 1e-9, "mitigated {s1} vs remediated {s2}");

    // Cancelling one group of a two-group exception leaves the other.
    let both = engine
        .create_exception(
            &analyst,
            ExceptionRequest {
                kind: TargetKind::Recommendation,
                target: "va-_-pypi-_-pillow".into(),
                justification: Justification::PlannedRemediation,
                context: "pillow upgrade scheduled with the Q1 release".into(),
                groups: Some(vec!["web".into(), "internal".into()]),
                duration: ExceptionDuration::Days(90),
            },
        )
        .await
        .expect("two groups");
    let after = engine
        .cancel_exception(&analyst, both.id, Some(vec!["web".into()]))
        .await
        .expect("cancel web");
    assert_eq!(after.status, ExceptionStatus::InEffect);
    let states: Vec<(&str, ExceptionStatus)> = after
        .device_groups
        .iter()
        .map(|g| (g.name.as_str(), g.status))
        .collect();
    assert_eq!(
        states,
        vec![
            ("internal", ExceptionStatus::InEffect),
            ("web", ExceptionStatus::Canceled)
        ]
    );

    // A false positive removes the finding: the device no longer lists the CVE, nor the CVE the device.
    let cve = engine
        .machine_vulnerabilities("dojo-web")
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.id.starts_with("CVE-"))
        .expect("a CVE on dojo-web")
        .id;
    let exposed_before = engine.vulnerability(&cve).await.unwrap().exposed_machines;
    engine
        .create_exception(
            &analyst,
            ExceptionRequest {
                kind: TargetKind::Cve,
                target: cve.clone(),
                justification: Justification::FalsePositive,
                context: "the vulnerable module is not installed".into(),
                groups: Some(vec!["web".into()]),
                duration: ExceptionDuration::Days(30),
            },
        )
        .await
        .expect("false positive");
    assert!(
        !engine
            .machine_vulnerabilities("dojo-web")
            .await
            .unwrap()
            .iter()
            .any(|v| v.id == cve)
    );
    assert_eq!(
        engine.vulnerability(&cve).await.unwrap().exposed_machines,
        exposed_before - 1
    );
    assert!(
        !engine
            .vulnerability_machines(&cve)
            .await
            .unwrap()
            .iter()
            .any(|m| m.computer_dns_name == "dojo-web")
    );

    // Bad requests name the field.
    let mut bad = on_django(Justification::RiskAccepted, Some(&["web"]), 400);
    let e = engine
        .create_exception(&analyst, bad.clone())
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("durationDays:"), "{e}");
    bad.duration = ExceptionDuration::Days(30);
    bad.groups = Some(vec!["nowhere".into()]);
    let e = engine
        .create_exception(&analyst, bad.clone())
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("unknown device group \"nowhere\""),
        "{e}"
    );
    bad.target = "va-_-pypi-_-no-such-package".into();
    let e = engine.create_exception(&analyst, bad).await.unwrap_err();
    assert!(matches!(e, EngineError::NotFound(_)), "{e}");

    // Every change is in the audit chain, and the chain verifies.
    let entries = engine
        .audit(&bulwark_engine::AuditFilter::default())
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "user.create",
        "exception.create",
        "exception.cancel",
        "exception.expire",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert_eq!(
        engine.verify_audit().await.unwrap(),
        Ok(entries.len()),
        "chain intact"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kev_addition_resurfaces_a_covered_exception() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let clock = start();
    let (store, _database) = bulwark_store::testing::fresh_store().await.expect("store");
    let engine = Engine::open(store, clock.clone()).await.expect("engine");
    // The catalog as it stood on 2022-03-02: the real catalog without the entries added since.
    let full =
        std::fs::read_to_string(data.join("kev/known_exploited_vulnerabilities.json")).unwrap();
    let mut catalog: serde_json::Value = serde_json::from_str(&full).unwrap();
    catalog["vulnerabilities"]
        .as_array_mut()
        .unwrap()
        .retain(|v| v["dateAdded"].as_str().unwrap() < "2022-03-03");
    catalog["count"] = catalog["vulnerabilities"].as_array().unwrap().len().into();
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("kev-2022-03-02.json");
    std::fs::write(&older, serde_json::to_string(&catalog).unwrap()).unwrap();
    for path in [
        data.join("advisories/ghsa-maven-osv/ghsa-maven-osv.tar.zst"),
        older,
    ] {
        let summary = engine.import(&path, &|_| {}).await.expect("import");
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    }
    let sbom = std::fs::read_to_string(
        data.join("inventories/cyclonedx-bom-examples/SBOM/keycloak-10.0.2/bom.json"),
    )
    .unwrap();
    engine
        .ingest(device("keycloak", "identity", "bom.json", &sbom))
        .await
        .expect("ingest");
    let (admin, _) = users(&engine).await;
    let exception = engine
        .create_exception(
            &admin,
            ExceptionRequest {
                kind: TargetKind::Cve,
                target: "CVE-2020-1938".into(),
                justification: Justification::ThirdPartyControl,
                context: "AJP connector disabled at the load balancer".into(),
                groups: None,
                duration: ExceptionDuration::Days(90),
            },
        )
        .await
        .expect("CVE exception");
    assert!(
        engine
            .run_exception_job()
            .await
            .unwrap()
            .resurfaced
            .is_empty()
    );

    clock.advance(Duration::days(1));
    let summary = engine
        .import(
            &data.join("kev/known_exploited_vulnerabilities.json"),
            &|_| {},
        )
        .await
        .expect("kev now");
    assert!(summary.kev.added.iter().any(|c| c == "CVE-2020-1938"));
    let job = engine.run_exception_job().await.expect("job");
    assert_eq!(job.resurfaced, vec![exception.id]);
    let view = engine.exception(exception.id).await.unwrap();
    assert!(view.needs_review);
    assert_eq!(
        view.review_reasons,
        vec!["CVE-2020-1938 was added to CISA KEV"]
    );
    assert_eq!(
        view.status,
        ExceptionStatus::InEffect,
        "the default policy only marks"
    );
    assert!(
        engine
            .audit(&bulwark_engine::AuditFilter::default())
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "exception.resurface" && e.entity_id == exception.id.to_string())
    );
    assert!(
        engine
            .run_exception_job()
            .await
            .unwrap()
            .resurfaced
            .is_empty(),
        "once"
    );
}

/// What a VEX round trip must keep of an exception: kind, recommendation, CVE, justification,
/// context, global scope, the device groups in effect and the expiry.
type Decision = (
    TargetKind,
    Option<String>,
    Option<String>,
    Justification,
    String,
    bool,
    Vec<String>,
    DateTime<Utc>,
);

/// The decision an exception records.
fn decision(v: &bulwark_engine::ExceptionView) -> Decision {
    (
        v.exception_type,
        v.recommendation_id.clone(),
        v.cve_id.clone(),
        v.justification,
        v.justification_context.clone(),
        v.global,
        v.device_groups
            .iter()
            .filter(|g| g.status == ExceptionStatus::InEffect)
            .map(|g| g.name.clone())
            .collect(),
        v.expires_on,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vex_exports_reimport_to_the_same_exceptions_and_ignore_files_are_proposals() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let clock = start();
    let (engine, _database, _) = dojo_fleet(&data, clock.clone()).await;
    let (admin, _) = users(&engine).await;
    let cve = engine
        .recommendation_vulnerabilities("va-_-pypi-_-pillow")
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.id.starts_with("CVE-"))
        .expect("a pillow CVE")
        .id;
    let requests = vec![
        on_django(Justification::RiskAccepted, None, 90),
        ExceptionRequest {
            kind: TargetKind::Cve,
            target: cve.clone(),
            justification: Justification::AlternateMitigation,
            context: "image uploads are disabled".into(),
            groups: Some(vec!["web".into(), "internal".into()]),
            duration: ExceptionDuration::Days(60),
        },
        ExceptionRequest {
            kind: TargetKind::Recommendation,
            target: "va-_-pypi-_-urllib3".into(),
            justification: Justification::PlannedRemediation,
            context: "urllib3 2.x lands with the Q1 release, \"planned\"".into(),
            groups: Some(vec!["internal".into()]),
            duration: ExceptionDuration::Days(30),
        },
    ];
    for r in requests {
        engine.create_exception(&admin, r).await.expect("create");
    }
    let original: Vec<_> = engine
        .exceptions()
        .await
        .unwrap()
        .iter()
        .map(decision)
        .collect();

    for format in [
        bulwark_engine::VexFormat::CycloneDx,
        bulwark_engine::VexFormat::OpenVex,
    ] {
        let exported = engine
            .export_exceptions(format, "ciso@example.org")
            .await
            .expect("export");
        // Only exceptions no longer in effect (canceled by the previous round) cover nothing.
        let in_effect: Vec<i64> = engine
            .exceptions()
            .await
            .unwrap()
            .iter()
            .filter(|e| e.status == ExceptionStatus::InEffect)
            .map(|e| e.id)
            .collect();
        assert!(
            exported
                .left_out
                .iter()
                .all(|(id, _)| !in_effect.contains(id)),
            "{:?}",
            exported.left_out
        );
        // Cancel everything in effect, then import the document back.
        for e in engine.exceptions().await.unwrap() {
            if e.status == ExceptionStatus::InEffect {
                engine
                    .cancel_exception(&admin, e.id, None)
                    .await
                    .expect("cancel");
            }
        }
        // Without --apply nothing is stored.
        let before = engine.exceptions().await.unwrap().len();
        let dry = engine
            .import_exceptions(
                &admin,
                "bulwark-vex.json",
                exported.json.as_bytes(),
                false,
                90,
            )
            .await
            .expect("dry run");
        assert_eq!(dry.proposals.len(), 3, "{dry:?}");
        assert_eq!(engine.exceptions().await.unwrap().len(), before);
        let applied = engine
            .import_exceptions(
                &admin,
                "bulwark-vex.json",
                exported.json.as_bytes(),
                true,
                90,
            )
            .await
            .expect("import");
        assert!(
            applied.proposals.iter().all(|p| p.outcome == "created"),
            "{format:?}: {applied:?}"
        );
        let back: Vec<_> = engine
            .exceptions()
            .await
            .unwrap()
            .iter()
            .filter(|e| e.status == ExceptionStatus::InEffect)
            .map(decision)
            .collect();
        assert_eq!(back, original, "{format:?} round trip");
    }

    // An osv-scanner ignore file: proposals for review; applied, the expiry comes from the file.
    let toml = format!(
        "[[IgnoredVulns]]\nid = \"{cve}\"\nignoreUntil = 2026-12-15T00:00:00Z\nreason = \"not reachable from our code\"\n"
    );
    let dry = engine
        .import_exceptions(&admin, "osv-scanner.toml", toml.as_bytes(), false, 90)
        .await
        .expect("ignore file");
    assert_eq!(dry.format, "osv-scanner.toml");
    assert_eq!(dry.proposals.len(), 1);
    assert_eq!(dry.proposals[0].outcome, "proposed");
    assert_eq!(dry.proposals[0].justification, Justification::RiskAccepted);
    // The CVE has a device-group exception in effect; a global proposal does not collide with it.
    let applied = engine
        .import_exceptions(&admin, "osv-scanner.toml", toml.as_bytes(), true, 90)
        .await
        .expect("apply");
    assert_eq!(applied.proposals[0].outcome, "created", "{applied:?}");
    let created = engine
        .exception(applied.proposals[0].exception_id.unwrap())
        .await
        .unwrap();
    assert_eq!(
        created.expires_on,
        Utc.with_ymd_and_hms(2026, 12, 15, 0, 0, 0).unwrap()
    );
    assert_eq!(created.justification_context, "not reachable from our code");
    // Applied again, it collides with itself: refused with the reason, nothing else changes.
    let again = engine
        .import_exceptions(&admin, "osv-scanner.toml", toml.as_bytes(), true, 90)
        .await
        .expect("apply again");
    assert_eq!(again.proposals[0].outcome, "refused");
    assert!(
        again.proposals[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("already in effect")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remediation_activities_track_progress_and_complete_themselves() {
    use bulwark_core::remediation::{CompletionMethod, TaskStatus};
    use bulwark_engine::TaskRequest;
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let clock = start();
    let (engine, _database, web_text) = dojo_fleet(&data, clock.clone()).await;
    let (admin, analyst) = users(&engine).await;
    let viewer = engine
        .add_user(&local_admin(), "vic@example.org", None, Role::Viewer, None)
        .await
        .unwrap();
    let request = |groups: Vec<String>| TaskRequest {
        recommendation_id: "va-_-pypi-_-django".into(),
        device_groups: groups,
        priority: "High".into(),
        due_on: Some(clock.now() + Duration::days(14)),
        notes: "patch window Saturday".into(),
    };
    // Viewers may not; unknown priorities and groups without exposure are refused with the field.
    assert!(matches!(
        engine
            .create_task(&viewer, request(vec![]))
            .await
            .unwrap_err(),
        EngineError::Forbidden(_)
    ));
    let mut bad = request(vec![]);
    bad.priority = "Urgent".into();
    assert!(
        engine
            .create_task(&analyst, bad)
            .await
            .unwrap_err()
            .to_string()
            .starts_with("priority:")
    );
    assert!(
        engine
            .create_task(&analyst, request(vec!["nowhere".into()]))
            .await
            .unwrap_err()
            .to_string()
            .starts_with("deviceGroups:")
    );

    // Both groups: two targets, none fixed; one for `web` only; one without a due date.
    let both = engine.create_task(&analyst, request(vec![])).await.unwrap();
    assert_eq!((both.fixed_devices, both.target_devices), (0, 2));
    assert_eq!(both.rbac_group_names, vec!["internal", "web"]);
    assert_eq!(both.status, TaskStatus::Active);
    assert!(!both.attention_required);
    let web = engine
        .create_task(&analyst, request(vec!["web".into()]))
        .await
        .unwrap();
    assert_eq!(web.target_devices, 1);
    let mut attention = request(vec!["internal".into()]);
    attention.due_on = None;
    let attention = engine.create_task(&analyst, attention).await.unwrap();
    assert!(attention.attention_required);

    // Remediate django on dojo-web: progress moves live; the web-only activity completes itself.
    let fixed = engine
        .recommendation("va-_-pypi-_-django")
        .await
        .unwrap()
        .recommended_version
        .unwrap();
    let line = web_text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("django=="))
        .unwrap();
    clock.advance(Duration::hours(1));
    engine
        .ingest(device(
            "dojo-web",
            "web",
            "requirements.txt",
            &web_text.replace(line, &format!("Django=={fixed}")),
        ))
        .await
        .unwrap();
    let both_now = engine.task(both.id).await.unwrap();
    assert_eq!((both_now.fixed_devices, both_now.target_devices), (1, 2));
    let machines = engine.task_machines(both.id).await.unwrap();
    let fixed_names: Vec<(&str, bool)> = machines
        .iter()
        .map(|m| (m.computer_dns_name.as_deref().unwrap(), m.fixed))
        .collect();
    assert_eq!(fixed_names.len(), 2);
    assert!(fixed_names.contains(&("dojo-web", true)));
    assert!(fixed_names.contains(&("dojo-internal", false)));
    let (completed, purged) = engine.run_task_job().await.unwrap();
    assert_eq!((completed, purged), (vec![web.id], 0));
    let web_now = engine.task(web.id).await.unwrap();
    assert_eq!(web_now.status, TaskStatus::Completed);
    assert_eq!(web_now.completion_method, Some(CompletionMethod::Automatic));
    assert_eq!(web_now.completer_email.as_deref(), Some("system"));

    // Manual completion, once; completing twice is a conflict.
    let done = engine.complete_task(&admin, attention.id).await.unwrap();
    assert_eq!(done.completion_method, Some(CompletionMethod::Manual));
    assert!(matches!(
        engine
            .complete_task(&admin, attention.id)
            .await
            .unwrap_err(),
        EngineError::Conflict(_)
    ));
    // The due date passes: the open activity is overdue.
    clock.advance(Duration::days(15));
    assert!(engine.task(both.id).await.unwrap().overdue);

    // Completed activities are kept 180 days, then purged (audited).
    clock.advance(Duration::days(180));
    let (_, purged) = engine.run_task_job().await.unwrap();
    assert_eq!(purged, 2);
    let left: Vec<i64> = engine.tasks().await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(left, vec![both.id]);
    let entries = engine
        .audit(&bulwark_engine::AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "remediation.purge")
            .count(),
        2
    );
    assert!(engine.verify_audit().await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_in_one_engine_and_moves_when_its_holder_stops() {
    let clock = start();
    let (store, _database) = bulwark_store::testing::fresh_store().await.expect("store");
    // Two engines on one database, as two server processes are.
    let first = Engine::open(store.clone(), clock.clone())
        .await
        .expect("first");
    let second = Engine::open(store, clock.clone()).await.expect("second");
    assert_ne!(first.instance(), second.instance());
    let ttl = Duration::minutes(3);
    assert!(first.lease("remediation", ttl).await.unwrap());
    assert!(!second.lease("remediation", ttl).await.unwrap());
    // The holder renews every minute and keeps it.
    for _ in 0..5 {
        clock.advance(Duration::minutes(1));
        assert!(first.lease("remediation", ttl).await.unwrap());
        assert!(!second.lease("remediation", ttl).await.unwrap());
    }
    // The holder dies (stops renewing): the other takes over once the lease has run out, not before.
    clock.advance(Duration::minutes(2));
    assert!(!second.lease("remediation", ttl).await.unwrap());
    clock.advance(Duration::minutes(1));
    assert!(second.lease("remediation", ttl).await.unwrap());
    assert!(!first.lease("remediation", ttl).await.unwrap());
}
