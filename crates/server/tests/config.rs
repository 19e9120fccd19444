//! Black-box tests of the configuration endpoints: the real server on 127.0.0.1:0 over a fresh store,
//! OpenSCAP results and osquery rows uploaded through the API, the secure score, machine configuration
//! and configuration recommendations read back as a client sees them, and every refused upload.

mod common;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use bulwark_core::Clock;
use bulwark_engine::Engine;
use bulwark_server::AppState;

/// The test's "now": every upload happens at this instant, so every machine is active.
struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// OpenSCAP results of two rules: `sshd_disable_root_login` (medium: 6 points, Network) fails and
/// `accounts_password_minlen_login_defs` (high: 9 points, Accounts) passes; a third is not selected.
/// 9 of 15 points: 60.
const XCCDF: &str = r#"<?xml version="1.0"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_org.ssgproject.content_benchmark_TEST">
  <Group id="xccdf_org.ssgproject.content_group_services">
    <Group id="xccdf_org.ssgproject.content_group_ssh">
      <Rule id="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium">
        <title>Disable SSH Root Login</title>
        <description>The root user should never be allowed to login directly over a network.</description>
        <fixtext>Set PermitRootLogin no in /etc/ssh/sshd_config.</fixtext>
      </Rule>
    </Group>
  </Group>
  <Group id="xccdf_org.ssgproject.content_group_accounts">
    <Rule id="xccdf_org.ssgproject.content_rule_accounts_password_minlen_login_defs" severity="high">
      <title>Set Password Minimum Length in login.defs</title>
    </Rule>
    <Rule id="xccdf_org.ssgproject.content_rule_accounts_tmout" severity="low">
      <title>Set Interactive Session Timeout</title>
    </Rule>
  </Group>
  <TestResult id="xccdf_org.open-scap_testresult_standard">
    <profile idref="xccdf_org.ssgproject.content_profile_standard"/>
    <target>web-01.example</target>
    <rule-result idref="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium">
      <result>fail</result>
      <check system="http://oval.mitre.org/XMLSchema/oval-definitions-5"><check-content-ref name="oval:ssg-sshd_disable_root_login:def:1" href="oval.xml"/></check>
    </rule-result>
    <rule-result idref="xccdf_org.ssgproject.content_rule_accounts_password_minlen_login_defs" severity="high"><result>pass</result></rule-result>
    <rule-result idref="xccdf_org.ssgproject.content_rule_accounts_tmout" severity="low"><result>notselected</result></rule-result>
  </TestResult>
</Benchmark>
"#;

const ROOT_LOGIN: &str = "sca-_-xccdf_org.ssgproject.content_rule_sshd_disable_root_login";

/// A running server over a fresh store.
struct TestApp {
    base: String,
    client: reqwest::Client,
    /// The fresh database of the backend `BULWARK_TEST_DATABASE` chooses; removed when the app drops.
    _database: bulwark_store::testing::FreshDatabase,
}

impl TestApp {
    async fn start() -> TestApp {
        let (store, database) = bulwark_store::testing::fresh_store()
            .await
            .expect("open store");
        let clock = FixedClock(
            Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0)
                .single()
                .expect("valid time"),
        );
        let engine = Engine::open(store, Arc::new(clock))
            .await
            .expect("open engine");
        let client = common::admin_client(&engine).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(bulwark_server::serve(
            AppState::new(Arc::new(engine)),
            listener,
        ));
        TestApp {
            base,
            client,
            _database: database,
        }
    }

    async fn answer(response: reqwest::Response, path: &str) -> (StatusCode, Value) {
        let status = response.status();
        let bytes = response.bytes().await.expect("response body");
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .expect("request");
        Self::answer(response, path).await
    }

    async fn assess(
        &self,
        machine: &str,
        query: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let path = format!("/api/machines/{machine}/assessments");
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .query(query)
            .body(body.into())
            .send()
            .await
            .expect("request");
        Self::answer(response, &path).await
    }

    /// Asserts an error answer: its status, its code and a part of its message.
    fn refused(answer: (StatusCode, Value), status: StatusCode, code: &str, message: &str) {
        let (got, body) = answer;
        assert_eq!(got, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let text = body["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{text:?} lacks {message:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openscap_and_osquery_uploads_give_scores_and_recommendations() {
    let app = TestApp::start().await;
    let (status, nothing) = app.get("/api/configurationScore", &[]).await;
    assert_eq!(status, StatusCode::OK, "{nothing}");
    assert_eq!(nothing["score"], Value::Null);
    assert_eq!(nothing["possible"], 0);

    let (status, summary) = app.assess("web-01", &[], XCCDF).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["format"], "openscap");
    assert_eq!(summary["source"], "openscap");
    assert_eq!(summary["device"]["name"], "web-01");
    assert_eq!(summary["target"], "web-01.example");
    assert_eq!(
        (
            &summary["checks"],
            &summary["passed"],
            &summary["failed"],
            &summary["notCounted"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(
        summary["score"],
        json!({"achieved": 9, "possible": 15, "score": 60.0})
    );
    assert_eq!(summary["deviceScore"], 60.0);

    let (status, score) = app.get("/api/configurationScore", &[]).await;
    assert_eq!(status, StatusCode::OK, "{score}");
    assert_eq!(score["time"], "2026-11-27T08:00:00Z");
    assert_eq!(
        (&score["score"], &score["achieved"], &score["possible"]),
        (&json!(60.0), &json!(9), &json!(15))
    );
    assert_eq!(
        score["categories"],
        json!({"OS": null, "Application": null, "Network": 0.0, "Accounts": 100.0, "SecurityControls": null})
    );
    let (status, groups) = app
        .get("/api/configurationScore/ByMachineGroups", &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{groups}");
    assert_eq!(groups["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(groups["value"][0]["rbacGroupName"], "Ungrouped");
    assert_eq!(groups["value"][0]["score"], 60.0);
    assert_eq!(groups["value"][0]["devices"], 1);

    let (status, machine) = app
        .get("/api/machines/web-01/configurationScore", &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{machine}");
    assert_eq!(machine["computerDnsName"], "web-01");
    assert_eq!(machine["score"], 60.0);
    assert_eq!(machine["isActive"], true);
    let results = machine["results"].as_array().expect("results");
    let statuses: Vec<&str> = results
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    // By check id: accounts_password_minlen…, accounts_tmout, sshd_disable_root_login.
    assert_eq!(statuses, ["pass", "notSelected", "fail"]);
    assert_eq!(
        results[2]["evidence"],
        json!([{"item": "OpenSCAP result", "value": "fail"},
               {"item": "check", "value": "oval:ssg-sshd_disable_root_login:def:1"}])
    );
    // The numeric id finds it too.
    let id = machine["id"].as_i64().expect("id").to_string();
    let (status, by_id) = app
        .get(&format!("/api/machines/{id}/configurationScore"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id["computerDnsName"], "web-01");

    let (status, recs) = app.get("/api/configurationRecommendations", &[]).await;
    assert_eq!(status, StatusCode::OK, "{recs}");
    let recs = recs["value"].as_array().expect("value").clone();
    assert_eq!(recs.len(), 1, "{recs:?}");
    let rec = &recs[0];
    assert_eq!(rec["id"], ROOT_LOGIN);
    assert_eq!(rec["recommendationName"], "Disable SSH Root Login");
    assert_eq!(rec["remediationType"], "ConfigurationChange");
    assert_eq!(rec["recommendationCategory"], "Network");
    assert_eq!(rec["severityScore"], 6.0);
    assert_eq!(
        (&rec["exposedMachinesCount"], &rec["totalMachineCount"]),
        (&json!(1), &json!(1))
    );
    // Fixed: 15 of 15, up 6/15 × 100 = 40 points.
    assert_eq!(rec["configScoreImpact"], 40.0);
    assert_eq!(rec["exposureImpact"], 0.0);
    assert_eq!(
        rec["remediation"],
        "Set PermitRootLogin no in /etc/ssh/sshd_config."
    );
    assert_eq!(rec["rule"], "sshd_disable_root_login");
    let (_, filtered) = app
        .get(
            "/api/configurationRecommendations",
            &[("$filter", "recommendationCategory eq 'Accounts'")],
        )
        .await;
    assert_eq!(filtered["value"], json!([]));
    let (status, one) = app
        .get(
            &format!("/api/configurationRecommendations/{ROOT_LOGIN}"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(&one, rec);
    let (status, machines) = app
        .get(
            &format!("/api/configurationRecommendations/{ROOT_LOGIN}/machines"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{machines}");
    assert_eq!(machines["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(machines["value"][0]["computerDnsName"], "web-01");
    assert_eq!(machines["value"][0]["source"], "openscap");
    assert_eq!(machines["value"][0]["evidence"], results[2]["evidence"]);

    // osquery rows of a second machine, format given: ASLR 2 passes (8), nothing listens (telnet,
    // r-services 9 each, FTP and data stores 6 each pass): 38 of 38.
    let rows = r#"{"system_controls": [{"name": "kernel.randomize_va_space", "current_value": "2"}],
                   "listening_ports": [{"port": "22", "protocol": "6", "address": "0.0.0.0"}]}"#;
    let (status, summary) = app.assess("db-01", &[("format", "osquery")], rows).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["source"], "osquery");
    assert_eq!(
        summary["score"],
        json!({"achieved": 38, "possible": 38, "score": 100.0})
    );
    // The organisation sums points: (9 + 38) of (15 + 38).
    let (_, score) = app.get("/api/configurationScore", &[]).await;
    assert_eq!(
        (&score["achieved"], &score["possible"]),
        (&json!(47), &json!(53))
    );
    let (_, recs) = app.get("/api/configurationRecommendations", &[]).await;
    // Fixing root login: 53 of 53, from 47 of 53.
    assert_eq!(
        recs["value"][0]["configScoreImpact"],
        100.0 - 47.0 / 53.0 * 100.0
    );

    // The assessments' snapshots carry the secure score.
    let (status, history) = app
        .get("/api/exposureScore/history", &[("machine", "web-01")])
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let points = history["value"].as_array().expect("history");
    assert!(
        points.iter().any(|p| p["configurationScore"] == 60.0),
        "{history}"
    );

    // The document lists the new paths.
    let (_, doc) = app.get("/api/openapi.json", &[]).await;
    for path in [
        "/api/configurationScore",
        "/api/configurationScore/ByMachineGroups",
        "/api/machines/{id}/configurationScore",
        "/api/machines/{name}/assessments",
        "/api/configurationRecommendations",
        "/api/configurationRecommendations/{id}",
        "/api/configurationRecommendations/{id}/machines",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_and_unknown_ids_are_refused_with_the_reason() {
    let app = TestApp::start().await;
    TestApp::refused(
        app.assess("web-01", &[("format", "nessus")], XCCDF).await,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "unknown assessment format 'nessus'; known formats: openscap, osquery",
    );
    TestApp::refused(
        app.assess("web-01", &[("os", "debian 12")], XCCDF).await,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "unknown query parameter 'os'",
    );
    TestApp::refused(
        app.assess(
            "web-01",
            &[("format", "osquery"), ("format", "openscap")],
            XCCDF,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "more than once",
    );
    TestApp::refused(
        app.assess("%20", &[], XCCDF).await,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "device name must not be empty",
    );
    TestApp::refused(
        app.assess("web-01", &[], "PermitRootLogin yes\n").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "InvalidInventory",
        "neither an OpenSCAP XCCDF results file nor osquery JSON results",
    );
    TestApp::refused(
        app.assess("web-01", &[], vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0])
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "InvalidInventory",
        "compressed with zstd",
    );
    let broken = XCCDF.replace("</title>\n        <description>", "</titel><description>");
    TestApp::refused(
        app.assess("web-01", &[], broken).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "InvalidInventory",
        "request body: line 6, column",
    );
    TestApp::refused(
        app.assess("web-01", &[("format", "osquery")], "{\"mounts\": {}}")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "InvalidInventory",
        "$.mounts",
    );
    // Nothing refused created a machine.
    let (_, machines) = app.get("/api/machines", &[]).await;
    assert_eq!(machines["value"], json!([]));

    TestApp::refused(
        app.get("/api/machines/nowhere/configurationScore", &[])
            .await,
        StatusCode::NOT_FOUND,
        "NotFound",
        "machine nowhere",
    );
    TestApp::refused(
        app.get(
            &format!("/api/configurationRecommendations/{ROOT_LOGIN}"),
            &[],
        )
        .await,
        StatusCode::NOT_FOUND,
        "NotFound",
        "configuration recommendation",
    );
    TestApp::refused(
        app.get(
            "/api/configurationRecommendations/va-_-npm-_-left-pad/machines",
            &[],
        )
        .await,
        StatusCode::NOT_FOUND,
        "NotFound",
        "configuration recommendation",
    );
    TestApp::refused(
        app.get(
            "/api/configurationRecommendations",
            &[("$filter", "bogus eq 1")],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "bogus",
    );
}
