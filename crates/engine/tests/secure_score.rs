//! The Secure Score for Devices through the engine: the real OpenSCAP results of a Debian 12 host
//! (`../shared/data/compliance/openscap-debian12-host`), an agent report with facts written by hand, and
//! osquery rows; every expected number is computed by hand in the comments from the checks' weights.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};

use bulwark_core::Clock;
use bulwark_core::agent::{AgentDevice, AgentReport};
use bulwark_core::config::{
    CheckSource, CheckStatus, ConfigCategory, HostFacts, ScoreParts, SshdConfig,
};
use bulwark_engine::{AssessmentFormat, AssessmentRequest, Engine, EngineError, ScoreScope};
use bulwark_formats::FormatError;

/// A clock the test moves by hand.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

/// An engine over a fresh database of the backend `BULWARK_TEST_DATABASE` chooses, its clock and the
/// database's guard.
async fn engine() -> (
    Engine,
    Arc<TestClock>,
    bulwark_store::testing::FreshDatabase,
) {
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap(),
    )));
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let engine = Engine::open(store, clock.clone()).await.expect("engine");
    (engine, clock, database)
}

const STANDARD: &str =
    "compliance/openscap-debian12-host/xccdf-results-debian12-host-standard.xml.zst";
const SYSTEMMAP: &str = "xccdf_org.ssgproject.content_rule_file_permissions_systemmap";

/// The standard profile's results, decompressed; `None` (the skip printed) without the shared data.
fn standard_results() -> Option<Vec<u8>> {
    let path = bulwark_testdata::shared_file(STANDARD)?;
    Some(zstd::decode_all(std::fs::File::open(&path).expect("open")).expect("zstd"))
}

/// The same results with the one failing rule passing: its `rule-result`'s `<result>fail</result>`
/// (the element right after the rule-result's start tag) becomes `pass`.
fn with_systemmap_passing(bytes: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let start = text
        .find(&format!("<rule-result idref=\"{SYSTEMMAP}\""))
        .expect("the rule-result of file_permissions_systemmap");
    let end = start + text[start..].find("</rule-result>").expect("its end");
    let fixed = text[start..end].replacen("<result>fail</result>", "<result>pass</result>", 1);
    assert_ne!(fixed, text[start..end], "the rule-result did not fail");
    format!("{}{fixed}{}", &text[..start], &text[end..]).into_bytes()
}

/// The 17 passing rules by severity: 12 medium (6 points each: the owner, group owner and permissions of
/// /etc/group, gshadow, passwd and shadow), 3 high (9 each: inetutils-telnetd, telnetd-ssl, telnetd
/// removed), 2 low (3 each: nis, ntpdate removed): 72 + 27 + 6 = 105. The failing
/// file_permissions_systemmap has severity `unknown`, 5 points. 105 of 110 possible.
const ACHIEVED: u64 = 105;
const POSSIBLE: u64 = 110;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openscap_results_give_the_score_and_a_recommendation_checked_by_hand() {
    let Some(bytes) = standard_results() else {
        return;
    };
    let (engine, clock, _database) = engine().await;
    let summary = engine
        .assess(AssessmentRequest {
            device: "debian12-host".into(),
            file: STANDARD.into(),
            bytes: bytes.clone(),
            format: None,
        })
        .await
        .expect("assess");
    assert_eq!(summary.format, AssessmentFormat::OpenScap);
    assert_eq!(summary.source, CheckSource::OpenScap);
    assert_eq!(summary.device.name, "debian12-host");
    // 17 pass, 1 fail, 26 notapplicable, 311 notselected (oscap's own output).
    assert_eq!(
        (
            summary.checks,
            summary.passed,
            summary.failed,
            summary.not_counted
        ),
        (355, 17, 1, 337)
    );
    assert_eq!(summary.score, ScoreParts::new(ACHIEVED, POSSIBLE));
    let before = 105.0 / 110.0 * 100.0;
    assert_eq!(format!("{before:.4}"), "95.4545");
    assert_eq!(summary.device_score, Some(before));
    assert!(
        summary
            .profile
            .as_deref()
            .is_some_and(|p| p.ends_with("standard")),
        "{:?}",
        summary.profile
    );

    let score = engine.configuration_score().await.expect("score");
    assert_eq!(score.score, Some(before));
    assert_eq!((score.achieved, score.possible), (ACHIEVED, POSSIBLE));
    assert_eq!(score.devices.len(), 1);
    assert_eq!(score.devices[0].computer_dns_name, "debian12-host");
    assert_eq!((score.devices[0].checks, score.devices[0].failed), (355, 1));
    assert_eq!(score.groups.len(), 1);
    assert_eq!(score.groups[0].score, Some(before));
    // The telnet/nis/ntpdate package rules are Application (`package_` rules); the /etc file rules and
    // System.map are OS: 105 − 27 − 6 = 72 of 72 + 5 in OS.
    assert_eq!(score.categories.application, Some(100.0));
    assert_eq!(score.categories.os, Some(72.0 / 77.0 * 100.0));
    assert_eq!(score.categories.network, None);

    let recs = engine
        .configuration_recommendations()
        .await
        .expect("recommendations");
    assert_eq!(recs.len(), 1, "{recs:#?}");
    let rec = &recs[0];
    assert_eq!(rec.id, format!("sca-_-{SYSTEMMAP}"));
    assert_eq!(
        rec.recommendation_name,
        "Verify that local System.map file (if exists) is readable only by root"
    );
    assert_eq!(rec.remediation_type, "ConfigurationChange");
    assert_eq!(rec.recommendation_category, ConfigCategory::Os);
    assert_eq!(rec.severity_score, 5.0);
    assert_eq!(
        (rec.exposed_machines_count, rec.total_machine_count),
        (1, 1)
    );
    assert_eq!(rec.exposure_impact, 0.0);
    assert_eq!(rec.sources, [CheckSource::OpenScap]);
    assert!(
        rec.description.contains("System.map"),
        "{}",
        rec.description
    );
    // The benchmark's rule has neither a fixtext nor a fix script: there is no remediation to show.
    assert_eq!(rec.remediation, "");
    // Fixed: 110 of 110, up 5/110 × 100 = 4.5454… points.
    assert_eq!(format!("{:.4}", rec.config_score_impact), "4.5455");
    assert_eq!(
        engine
            .configuration_recommendation(&rec.id)
            .await
            .expect("one")
            .id,
        rec.id
    );
    let machines = engine
        .configuration_recommendation_machines(&rec.id)
        .await
        .expect("machines");
    assert_eq!(machines.len(), 1);
    assert_eq!(machines[0].computer_dns_name, "debian12-host");
    assert_eq!(machines[0].source, CheckSource::OpenScap);

    // Re-assessing with the rule passing raises the score by exactly the recommendation's impact, and
    // the recommendation is gone.
    clock.advance(Duration::hours(1));
    let fixed = engine
        .assess_openscap("debian12-host", STANDARD, with_systemmap_passing(&bytes))
        .await
        .expect("assess the fixed results");
    assert_eq!((fixed.passed, fixed.failed), (18, 0));
    let after = engine.configuration_score().await.expect("score").score;
    assert_eq!(after, Some(100.0));
    assert_eq!(after.unwrap() - before, rec.config_score_impact);
    assert!(
        engine
            .configuration_recommendations()
            .await
            .expect("recommendations")
            .is_empty()
    );
    assert!(matches!(
        engine.configuration_recommendation(&rec.id).await,
        Err(EngineError::NotFound(_))
    ));

    // Each assessment recorded a snapshot with the configuration score, organisation and device.
    let from = DateTime::UNIX_EPOCH;
    let to = engine.now();
    let org: Vec<Option<f64>> = engine
        .score_history(ScoreScope::Organization, "", from, to)
        .await
        .expect("history")
        .iter()
        .map(|s| s.configuration)
        .collect();
    assert_eq!(org, [Some(before), Some(100.0)]);
    let device: Vec<Option<f64>> = engine
        .score_history(ScoreScope::Device, "debian12-host", from, to)
        .await
        .expect("history")
        .iter()
        .map(|s| s.configuration)
        .collect();
    assert_eq!(device, [Some(before), Some(100.0)]);
}

/// Facts of a host with an SSH server that allows root login and a kernel with full ASLR; everything
/// else not collected.
fn facts() -> HostFacts {
    HostFacts {
        sshd: Some(SshdConfig {
            present: true,
            options: BTreeMap::from([
                ("permitrootlogin".to_string(), "yes".to_string()),
                ("permitemptypasswords".to_string(), "no".to_string()),
                ("maxauthtries".to_string(), "3".to_string()),
            ]),
        }),
        sysctl: BTreeMap::from([("kernel.randomize_va_space".to_string(), "2".to_string())]),
        ..HostFacts::default()
    }
}

fn agent_report(name: &str, facts: Option<HostFacts>) -> AgentReport {
    AgentReport {
        agent_version: "0.1.0".into(),
        device: AgentDevice {
            name: name.into(),
            os: Some("debian 12".into()),
            ..AgentDevice::default()
        },
        collected_at: Utc.with_ymd_and_hms(2026, 11, 27, 7, 0, 0).unwrap(),
        inventories: Vec::new(),
        facts,
        skipped: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_report_with_facts_gives_the_device_a_secure_score() {
    let (engine, clock, _database) = engine().await;
    let summary = engine
        .ingest_agent_report(agent_report("web-01", Some(facts())))
        .await
        .expect("ingest");
    let received = summary.facts.expect("facts");
    // Every Bulwark check is evaluated; PermitRootLogin yes fails (8 points); PermitEmptyPasswords no (9),
    // MaxAuthTries 3 (4) and kernel.randomize_va_space 2 (8) pass: 21 of 29.
    assert_eq!(
        (received.checks, received.passed, received.failed),
        (bulwark_core::config::linux_checks().len() as u64, 3, 1)
    );
    let machine = engine
        .machine_configuration("web-01")
        .await
        .expect("machine configuration");
    assert!(machine.is_active);
    assert_eq!((machine.device.achieved, machine.device.possible), (21, 29));
    assert_eq!(machine.device.score, Some(21.0 / 29.0 * 100.0));
    // Network: 9 + 4 of 8 + 9 + 4; OS: ASLR 8 of 8.
    assert_eq!(machine.device.categories.network, Some(13.0 / 21.0 * 100.0));
    assert_eq!(machine.device.categories.os, Some(100.0));
    assert_eq!(machine.device.categories.accounts, None);
    let root = machine
        .results
        .iter()
        .find(|r| r.check_id == "bulwark-linux-ssh-root-login")
        .expect("ssh root login result");
    assert_eq!(
        (root.source, root.status),
        (CheckSource::Bulwark, CheckStatus::Fail)
    );
    assert!(!root.evidence.is_empty());
    let statuses: BTreeSet<CheckStatus> = machine.results.iter().map(|r| r.status).collect();
    assert!(statuses.contains(&CheckStatus::NotCollected));

    let recs = engine
        .configuration_recommendations()
        .await
        .expect("recommendations");
    assert_eq!(recs.len(), 1, "{recs:#?}");
    let rec = &recs[0];
    assert_eq!(rec.id, "sca-_-bulwark-linux-ssh-root-login");
    assert_eq!(rec.recommendation_name, "Disable SSH root login");
    assert_eq!(rec.recommendation_category, ConfigCategory::Network);
    assert_eq!(rec.severity_score, 8.0);
    assert_eq!(rec.rule.as_deref(), Some("sshd_disable_root_login"));
    assert_eq!(
        rec.control.as_deref(),
        Some("CIS Debian Linux 12 Benchmark v1.1.0 5.1.20")
    );
    assert!(
        rec.remediation.contains("PermitRootLogin"),
        "{}",
        rec.remediation
    );
    // Fixed: 29 of 29, up 8/29 × 100.
    assert_eq!(rec.config_score_impact, 100.0 - 21.0 / 29.0 * 100.0);
    let machines = engine
        .configuration_recommendation_machines(&rec.id)
        .await
        .expect("machines");
    assert_eq!(machines.len(), 1);
    assert_eq!(machines[0].evidence, root.evidence);

    // The ingest's snapshot carries the device's configuration score.
    let history = engine
        .score_history(
            ScoreScope::Device,
            "web-01",
            DateTime::UNIX_EPOCH,
            engine.now(),
        )
        .await
        .expect("history");
    assert_eq!(
        history.last().and_then(|s| s.configuration),
        Some(21.0 / 29.0 * 100.0)
    );

    // The next report replaces the bulwark results: root login now refused.
    clock.advance(Duration::hours(1));
    let mut fixed = facts();
    if let Some(sshd) = fixed.sshd.as_mut() {
        sshd.options
            .insert("permitrootlogin".to_string(), "no".to_string());
    }
    engine
        .ingest_agent_report(agent_report("web-01", Some(fixed)))
        .await
        .expect("second ingest");
    let score = engine.configuration_score().await.expect("score");
    assert_eq!((score.achieved, score.possible), (29, 29));
    assert!(
        engine
            .configuration_recommendations()
            .await
            .expect("recommendations")
            .is_empty()
    );
    // A report without facts leaves the stored results alone.
    engine
        .ingest_agent_report(agent_report("web-01", None))
        .await
        .expect("third ingest");
    assert_eq!(
        engine.configuration_score().await.expect("score").possible,
        29
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn osquery_rows_are_evaluated_and_the_organisation_sums_points() {
    let (engine, _clock, _database) = engine().await;
    engine
        .ingest_agent_report(agent_report("web-01", Some(facts())))
        .await
        .expect("ingest");
    // kernel.randomize_va_space 1 fails (8); a telnet server listening on every address fails (9); the
    // r-services, FTP and data-store ports are not listening: pass (9 + 6 + 6). 21 of 38.
    let rows = br#"{
        "system_controls": [{"name": "kernel.randomize_va_space", "current_value": "1"}],
        "listening_ports": [{"port": "23", "protocol": "6", "address": "0.0.0.0"}]
    }"#;
    let summary = engine
        .assess_osquery("db-01", "osquery.json", rows.to_vec())
        .await
        .expect("assess");
    assert_eq!(summary.source, CheckSource::Osquery);
    assert_eq!((summary.passed, summary.failed), (3, 2));
    assert_eq!(summary.score, ScoreParts::new(21, 38));
    // The organisation sums points: (21 + 21) of (29 + 38).
    let score = engine.configuration_score().await.expect("score");
    assert_eq!((score.achieved, score.possible), (42, 67));
    assert_eq!(score.score, Some(42.0 / 67.0 * 100.0));
    let recs = engine
        .configuration_recommendations()
        .await
        .expect("recommendations");
    let ids: Vec<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    // Telnet (9 points) rises most, then ASLR and root login (8 each, by id).
    assert_eq!(
        ids,
        [
            "sca-_-bulwark-linux-telnet-listening",
            "sca-_-bulwark-linux-aslr",
            "sca-_-bulwark-linux-ssh-root-login"
        ]
    );
    let aslr = &recs[1];
    // ASLR is assessed on both devices and fails on one.
    assert_eq!(
        (aslr.exposed_machines_count, aslr.total_machine_count),
        (1, 2)
    );
    assert_eq!(aslr.sources, [CheckSource::Osquery]);
    assert_eq!(
        aslr.config_score_impact,
        50.0 / 67.0 * 100.0 - 42.0 / 67.0 * 100.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_assessments_are_refused_with_the_reason() {
    let (engine, _clock, _database) = engine().await;
    let assess = |device: &str, bytes: &[u8], format: Option<AssessmentFormat>| {
        engine.assess(AssessmentRequest {
            device: device.into(),
            file: "upload".into(),
            bytes: bytes.to_vec(),
            format,
        })
    };
    let unknown = assess("d", b"PermitRootLogin yes\n", None).await;
    assert!(
        matches!(
            &unknown,
            Err(EngineError::Format(FormatError::UnknownFormat { .. }))
        ),
        "{unknown:?}"
    );
    let benchmark_only = br#"<?xml version="1.0"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_b_benchmark_x"></Benchmark>"#;
    let error = assess("d", benchmark_only, None)
        .await
        .expect_err("no results");
    assert!(
        matches!(&error, EngineError::Format(FormatError::Parse { .. }))
            && error.to_string().contains("TestResult"),
        "{error}"
    );
    let error = assess(
        "d",
        b"{\"system_controls\": 3}",
        Some(AssessmentFormat::Osquery),
    )
    .await
    .expect_err("not rows");
    assert!(error.to_string().contains("$.system_controls"), "{error}");
    let error = assess("  ", b"[]", None).await.expect_err("no name");
    assert!(matches!(error, EngineError::Invalid(_)), "{error}");
    // Nothing refused created a device.
    assert!(engine.machines().await.expect("machines").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_on_a_configuration_recommendation_change_the_secure_score_by_justification() {
    use bulwark_core::exception::{ExceptionDuration, ExceptionRequest, Justification, TargetKind};
    use bulwark_core::identity::Role;
    let Some(bytes) = standard_results() else {
        return;
    };
    let (engine, _clock, _database) = engine().await;
    engine
        .assess(AssessmentRequest {
            device: "debian12-host".into(),
            file: STANDARD.into(),
            bytes,
            format: None,
        })
        .await
        .expect("assess");
    let admin = engine
        .add_user(
            &bulwark_engine::local_admin(),
            "ciso@example.org",
            None,
            Role::Admin,
            None,
        )
        .await
        .expect("admin");
    let id = format!("sca-_-{SYSTEMMAP}");
    let request = |justification| ExceptionRequest {
        kind: TargetKind::Recommendation,
        target: id.clone(),
        justification,
        context: "System.map is world-readable by design on this image".into(),
        groups: None,
        duration: ExceptionDuration::Days(30),
    };
    let status = |recs: &[bulwark_engine::ConfigurationRecommendation]| {
        recs.iter()
            .find(|r| r.id == id)
            .map(|r| r.status.clone())
            .expect("the System.map recommendation stays listed")
    };
    // (exposed, exposed after exceptions): the exception covers the one failing device.
    let exposed = |recs: &[bulwark_engine::ConfigurationRecommendation]| {
        recs.iter()
            .find(|r| r.id == id)
            .map(|r| {
                (
                    r.exposed_machines_count,
                    r.exposed_machines_count_after_exceptions,
                )
            })
            .expect("the System.map recommendation is listed")
    };
    let recs = engine.configuration_recommendations().await.unwrap();
    assert_eq!(exposed(&recs), (1, 1), "nothing excepted yet");

    // Risk accepted: the recommendation is excepted, the score does not move (105 of 110).
    let accepted = engine
        .create_exception(&admin, request(Justification::RiskAccepted))
        .await
        .expect("risk accepted");
    let score = engine.configuration_score().await.unwrap();
    assert_eq!((score.achieved, score.possible), (ACHIEVED, POSSIBLE));
    let recs = engine.configuration_recommendations().await.unwrap();
    assert_eq!(status(&recs), "Exception");
    assert_eq!(
        exposed(&recs),
        (1, 0),
        "covered, whatever the justification"
    );
    engine
        .cancel_exception(&admin, accepted.id, None)
        .await
        .unwrap();

    // Alternate mitigation: the failing check counts as passing, 110 of 110, and nothing is left to
    // gain from it; the device's shown results still say it fails.
    engine
        .create_exception(&admin, request(Justification::AlternateMitigation))
        .await
        .expect("mitigation");
    let score = engine.configuration_score().await.unwrap();
    assert_eq!((score.achieved, score.possible), (POSSIBLE, POSSIBLE));
    assert_eq!(score.score, Some(100.0));
    let recs = engine.configuration_recommendations().await.unwrap();
    assert_eq!(status(&recs), "Exception");
    assert_eq!(
        recs.iter()
            .find(|r| r.id == id)
            .unwrap()
            .config_score_impact,
        0.0
    );
    let machine = engine.machine_configuration("debian12-host").await.unwrap();
    assert_eq!(machine.device.score, Some(100.0));
    assert!(
        machine
            .results
            .iter()
            .any(|r| r.check_id == SYSTEMMAP && r.status == CheckStatus::Fail)
    );
}
