//! Webhook deliveries against a local receiver (an axum router on 127.0.0.1:0 that records every
//! request and answers with a status the test sets): the signature and exact body of an
//! `exception.created` event, retries on core's schedule as a manual clock moves, giving up, event
//! subscriptions, the once-only expiring and expired notices, and the admin-only management calls.

use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bulwark_core::exception::{ExceptionDuration, ExceptionRequest, Justification, TargetKind};
use bulwark_core::identity::{Role, User};
use bulwark_core::webhook::{MAX_ATTEMPTS, SIGNATURE_HEADER, Webhook, signature};
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::{
    DELIVERY_HEADER, DeliveryReport, EVENT_HEADER, Engine, EngineError, IngestRequest, TaskRequest,
    local_admin,
};
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

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    event: String,
    delivery: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
}

/// The receiver's state: what it got, and the status it answers with.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    /// Starts a receiver answering 204; returns it and its URL.
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        receiver.answer(StatusCode::NO_CONTENT);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(record))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn answer(&self, status: StatusCode) {
        self.status.store(status.as_u16(), Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    fn events(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.event).collect()
    }
}

async fn record(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    receiver.received.lock().expect("received").push(Received {
        event: header(EVENT_HEADER),
        delivery: header(DELIVERY_HEADER),
        signature: header(SIGNATURE_HEADER),
        content_type: header("content-type"),
        body: body.to_vec(),
    });
    StatusCode::from_u16(receiver.status.load(Ordering::SeqCst)).expect("status")
}

const SECRET: &str = "s3cret-for-the-receiver";

/// An engine over a fresh store with one advisory (`vulnlib` below 1.2.3) and one device carrying
/// `vulnlib` 1.1.0, an admin and an analyst.
struct Setup {
    engine: Engine,
    clock: Arc<TestClock>,
    admin: User,
    analyst: User,
    _dir: tempfile::TempDir,
    _database: bulwark_store::testing::FreshDatabase,
}

const ADVISORY: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0001",
    "modified": "2024-03-01T00:00:00Z", "published": "2024-02-01T00:00:00Z",
    "aliases": ["CVE-2024-1001"], "summary": "Heap overflow in vulnlib",
    "affected": [{"package": {"ecosystem": "crates.io", "name": "vulnlib"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}"#;

const CARGO_LOCK: &str = "version = 4\n\n[[package]]\nname = \"vulnlib\"\nversion = \"1.1.0\"\n\
    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

const VULNLIB: &str = "va-_-crates.io-_-vulnlib";

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("RUSTSEC-2024-0001.json"), ADVISORY).expect("advisory");
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )));
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let engine = Engine::open(store, clock.clone()).await.expect("engine");
    let summary = engine
        .import(Path::new(dir.path()), &|_| {})
        .await
        .expect("import");
    assert_eq!(summary.inserted, 1, "{summary:?}");
    engine
        .ingest(IngestRequest {
            device: DeviceInfo {
                name: "web-01".into(),
                group: Some("web".into()),
                ..DeviceInfo::default()
            },
            file: "Cargo.lock".into(),
            bytes: CARGO_LOCK.as_bytes().to_vec(),
            format: None,
        })
        .await
        .expect("ingest");
    let admin = engine
        .add_user(&local_admin(), "ciso@example.org", None, Role::Admin, None)
        .await
        .expect("admin");
    let analyst = engine
        .add_user(&local_admin(), "ana@example.org", None, Role::Analyst, None)
        .await
        .expect("analyst");
    Setup {
        engine,
        clock,
        admin,
        analyst,
        _dir: dir,
        _database: database,
    }
}

impl Setup {
    async fn hook(&self, url: &str, events: &[&str]) -> Webhook {
        let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        self.engine
            .add_webhook(&self.admin, url, SECRET, &events)
            .await
            .expect("add webhook")
    }

    async fn except(&self, days: u32) -> i64 {
        self.engine
            .create_exception(
                &self.admin,
                ExceptionRequest {
                    kind: TargetKind::Recommendation,
                    target: VULNLIB.into(),
                    justification: Justification::RiskAccepted,
                    context: "accepted until the rewrite".into(),
                    groups: None,
                    duration: ExceptionDuration::Days(days),
                },
            )
            .await
            .expect("exception")
            .id
    }

    async fn deliver(&self) -> DeliveryReport {
        self.engine.deliver_due().await.expect("deliver")
    }
}

#[tokio::test]
async fn a_created_exception_is_delivered_signed_with_the_exact_body() {
    let s = setup().await;
    let (receiver, url) = Receiver::start().await;
    let hook = s.hook(&url, &[]).await;
    let exception = s.except(30).await;

    let queued = s
        .engine
        .webhook_deliveries(&s.admin, hook.id)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let queued = &queued[0];
    assert_eq!(queued.event.as_str(), "exception.created");
    assert_eq!(queued.next_attempt_at, Some(s.engine.now()));

    let report = s.deliver().await;
    assert_eq!(report.delivered, vec![queued.id], "{report:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let got = &got[0];
    assert_eq!(got.event, "exception.created");
    assert_eq!(got.delivery, queued.id.to_string());
    assert_eq!(got.content_type, "application/json");
    assert_eq!(got.body, queued.payload.as_bytes());
    assert_eq!(got.signature, signature(SECRET, &got.body));
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["event"], "exception.created");
    assert_eq!(body["time"], "2026-11-01T00:00:00Z");
    assert_eq!(body["data"]["id"], exception);
    assert_eq!(body["data"]["recommendationId"], VULNLIB);

    // Delivered once: nothing is due any more.
    assert!(s.deliver().await.is_empty());
    let stored = s
        .engine
        .webhook_deliveries(&s.admin, hook.id)
        .await
        .unwrap();
    assert_eq!(stored[0].attempts, 1);
    assert_eq!(stored[0].delivered_at, Some(s.engine.now()));
    assert_eq!(stored[0].next_attempt_at, None);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn failures_are_retried_on_the_schedule_and_given_up_after_max_attempts() {
    let s = setup().await;
    let (receiver, url) = Receiver::start().await;
    let hook = s.hook(&url, &["exception.created"]).await;
    receiver.answer(StatusCode::INTERNAL_SERVER_ERROR);
    let exception = s.except(30).await;

    let first = s.deliver().await;
    assert_eq!(first.retrying.len(), 1, "{first:?}");
    let delivery = &s
        .engine
        .webhook_deliveries(&s.admin, hook.id)
        .await
        .unwrap()[0];
    assert_eq!(delivery.attempts, 1);
    assert_eq!(
        delivery.next_attempt_at,
        Some(s.engine.now() + Duration::seconds(30))
    );
    assert!(
        delivery.last_error.as_deref().unwrap().contains("500"),
        "{delivery:?}"
    );

    // Not retried before its time.
    s.clock.advance(Duration::seconds(29));
    assert!(s.deliver().await.is_empty());
    assert_eq!(receiver.received().len(), 1);

    // Retried once the clock reaches it; delivered when the receiver recovers.
    s.clock.advance(Duration::seconds(1));
    receiver.answer(StatusCode::OK);
    assert_eq!(s.deliver().await.delivered, vec![delivery.id]);
    let done = &s
        .engine
        .webhook_deliveries(&s.admin, hook.id)
        .await
        .unwrap()[0];
    assert_eq!((done.attempts, done.next_attempt_at), (2, None));
    assert!(done.delivered_at.is_some());
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].body, got[1].body,
        "every attempt sends the same bytes"
    );
    assert_eq!(got[0].delivery, got[1].delivery);

    // A receiver that never recovers: each retry waits twice as long, then the delivery is given up.
    receiver.answer(StatusCode::SERVICE_UNAVAILABLE);
    s.engine
        .cancel_exception(&s.admin, exception, None)
        .await
        .expect("cancel");
    s.except(60).await;
    let mut waits = Vec::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let report = s.deliver().await;
        let failing = s
            .engine
            .webhook_deliveries(&s.admin, hook.id)
            .await
            .unwrap()[1]
            .clone();
        assert_eq!(failing.attempts, attempt);
        match failing.next_attempt_at {
            Some(next) => {
                assert_eq!(report.retrying, vec![failing.id], "attempt {attempt}");
                waits.push((next - s.engine.now()).num_seconds());
                s.clock.advance(next - s.engine.now());
            }
            None => {
                assert_eq!(attempt, MAX_ATTEMPTS);
                assert_eq!(report.given_up, vec![failing.id]);
            }
        }
    }
    assert_eq!(waits, vec![30, 60, 120, 240, 480, 960, 1920]);
    s.clock.advance(Duration::days(1));
    assert!(s.deliver().await.is_empty(), "given up for good");
    assert_eq!(receiver.received().len(), 2 + MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_receiver_that_does_not_listen_is_a_failure_with_the_reason() {
    let s = setup().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let hook = s.hook(&url, &[]).await;
    s.except(30).await;
    assert_eq!(s.deliver().await.retrying.len(), 1);
    let failed = &s
        .engine
        .webhook_deliveries(&s.admin, hook.id)
        .await
        .unwrap()[0];
    let error = failed.last_error.as_deref().unwrap();
    assert!(error.starts_with("could not connect"), "{error}");
    assert!(
        !error.contains("/hook"),
        "the URL stays out of the error: {error}"
    );
}

#[tokio::test]
async fn only_subscribed_events_are_sent_and_job_notices_arrive_once() {
    let s = setup().await;
    let (all, all_url) = Receiver::start().await;
    let (expiries, expiries_url) = Receiver::start().await;
    s.hook(&all_url, &[]).await;
    s.hook(&expiries_url, &["exception.expired", "exception.expiring"])
        .await;
    s.except(30).await;
    // An activity, completed by hand at the end (`remediation.completed`, to the first webhook only).
    let task = s
        .engine
        .create_task(
            &s.analyst,
            TaskRequest {
                recommendation_id: VULNLIB.into(),
                device_groups: vec![],
                priority: "High".into(),
                due_on: None,
                notes: String::new(),
            },
        )
        .await
        .expect("task");
    s.deliver().await;
    assert_eq!(all.events(), vec!["exception.created"]);
    assert!(expiries.events().is_empty());

    // Within the notice period: one `exception.expiring`, however often the job runs.
    s.clock.advance(Duration::days(25));
    for _ in 0..3 {
        s.engine.run_exception_job().await.expect("job");
        s.deliver().await;
    }
    // Past the expiry: one `exception.expired`.
    s.clock.advance(Duration::days(6));
    for _ in 0..3 {
        s.engine.run_exception_job().await.expect("job");
        s.deliver().await;
    }
    s.engine
        .complete_task(&s.analyst, task.id)
        .await
        .expect("complete");
    s.deliver().await;
    assert_eq!(
        all.events(),
        vec![
            "exception.created",
            "exception.expiring",
            "exception.expired",
            "remediation.completed"
        ]
    );
    assert_eq!(
        expiries.events(),
        vec!["exception.expiring", "exception.expired"]
    );
    for got in expiries.received() {
        assert_eq!(got.signature, signature(SECRET, &got.body));
    }
}

#[tokio::test]
async fn webhooks_are_managed_by_admins_with_checked_input() {
    let s = setup().await;
    let none: &[String] = &[];
    let refused = s
        .engine
        .add_webhook(&s.analyst, "https://hooks.example.org/x", SECRET, none)
        .await
        .unwrap_err();
    assert!(matches!(refused, EngineError::Forbidden(_)), "{refused}");
    assert!(matches!(
        s.engine.webhooks(&s.analyst).await,
        Err(EngineError::Forbidden(_))
    ));

    for (url, secret, events, field) in [
        ("gopher://hooks.example.org", SECRET, vec![], "url: "),
        ("not a url", SECRET, vec![], "url: "),
        ("https://hooks.example.org", "short", vec![], "secret: "),
        (
            "https://hooks.example.org",
            SECRET,
            vec!["exception.deleted".to_string()],
            "events: ",
        ),
    ] {
        match s.engine.add_webhook(&s.admin, url, secret, &events).await {
            Err(EngineError::Invalid(message)) => {
                assert!(message.starts_with(field), "{message}")
            }
            other => panic!("{url} {secret} {events:?}: {other:?}"),
        }
    }

    let hook = s
        .hook("https://hooks.example.org/bulwark", &["exception.created"])
        .await;
    let listed = s.engine.webhooks(&s.admin).await.unwrap();
    assert_eq!(listed, vec![hook.clone()]);
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(!shown.contains(SECRET), "{shown}");

    s.engine.remove_webhook(&s.admin, hook.id).await.unwrap();
    assert!(s.engine.webhooks(&s.admin).await.unwrap().is_empty());
    assert!(matches!(
        s.engine.remove_webhook(&s.admin, hook.id).await,
        Err(EngineError::NotFound(_))
    ));
    assert!(matches!(
        s.engine.webhook_deliveries(&s.admin, hook.id).await,
        Err(EngineError::NotFound(_))
    ));
}
