//! Two real `bulwark serve` processes on one PostgreSQL database, as two replicas behind a load
//! balancer run: an exception created through one is visible through the other at once; its expiry is
//! recorded exactly once, by whichever process holds the job lease; and when the lease holder is
//! killed, the other takes the lease over within its lifetime and records the next expiry.
//!
//! The servers run their jobs every second (`serve --job-interval 1`; the lease lasts three runs), and
//! time passes for real: the exceptions expire a few seconds after creation (`expiresOn`), so no clock
//! is faked. Waiting is polling with a generous deadline, never an assertion on how long anything took.
//!
//! Needs PostgreSQL: skips with a printed reason unless `BULWARK_TEST_DATABASE` or
//! `BULWARK_TEST_POSTGRES` names a server, and fails instead when `BULWARK_REQUIRE_POSTGRES=1` or
//! `BULWARK_REQUIRE_SHARED_DATA=1`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use common::{bulwark, postgres_database, run, stdout};

const ADMIN: &str = "admin@example.org";

/// How long a wait for something the servers do lasts before the test gives up.
const DEADLINE: Duration = Duration::from_secs(30);

/// One `bulwark serve` process, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    /// Starts `bulwark serve` on a port the system chooses and waits until it says where it listens.
    fn start(db: &str) -> Server {
        let mut child = bulwark()
            .args([
                "--db",
                db,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--job-interval",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bulwark serve");
        let stderr = child.stderr.take().expect("stderr");
        let (found, address) = mpsc::channel();
        // The server logs every request: its stderr is read to the end, or it would block once the
        // pipe is full.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // `bulwark: serving … on http://ADDRESS (…)`.
                if !line.starts_with("bulwark: serving") {
                    continue;
                }
                if let Some(rest) = line.split("http://").nth(1) {
                    let _ = found.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
        });
        let address = address
            .recv_timeout(DEADLINE)
            .expect("bulwark serve says where it listens");
        Server { child, address }
    }

    /// The server's process id, which begins its job-lease holder name.
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One request with the bearer token; the status and the JSON body.
    fn call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.address,
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// The audit entries `action` on exception `id`, as this server lists them.
    fn audit(&self, token: &str, action: &str, id: i64) -> usize {
        let (status, list) = self.call("GET", "/api/audit", token, None);
        assert_eq!(status, 200, "{list}");
        list["value"]
            .as_array()
            .expect("audit entries")
            .iter()
            .filter(|e| {
                e["action"] == action
                    && e["entity"] == "exception"
                    && e["entityId"].as_str() == Some(id.to_string().as_str())
            })
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `done` every 200 ms until it holds; panics with `what` after [`DEADLINE`].
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The holder of the `remediation` job lease, as stored.
fn lease_holder(db: &str) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(db).await.unwrap();
        let holder = sqlx::query_scalar("SELECT holder FROM job_leases WHERE job = 'remediation'")
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        holder
    })
}

/// Whether a lease holder name is this server's (holders are named `PID-RANDOM`).
fn held_by(holder: &str, server: &Server) -> bool {
    holder.split('-').next() == Some(server.pid().to_string().as_str())
}

/// Creates, through `server`, a global exception on a CVE of the imported advisories that expires
/// four seconds from now (longer than the lease's three runs); its JSON.
fn create_expiring_exception(server: &Server, token: &str, cve: &str) -> Value {
    let expires = Utc::now() + chrono::Duration::seconds(4);
    let body = json!({
        "cveId": cve,
        "justification": "risk_accepted",
        "justificationContext": "accepted until the vendor ships a fix",
        "expiresOn": expires.to_rfc3339(),
        "global": true,
    });
    let (status, created) = server.call("POST", "/api/exceptions", token, Some(&body));
    assert_eq!(status, 201, "{created}");
    created
}

/// Waits, as far as the wall clock goes, for the jobs of every server to run three more times
/// (one run a second); what they record meanwhile is then checked.
fn let_the_jobs_run() {
    let later = Instant::now() + Duration::from_secs(3);
    wait_for("three more job runs", || Instant::now() >= later);
}

/// Two advisories with CVE aliases, as OSV files.
fn write_advisories(dir: &std::path::Path) -> std::path::PathBuf {
    let osv = dir.join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    for (id, cve) in [
        ("RUSTSEC-2024-0101", "CVE-2024-10101"),
        ("RUSTSEC-2024-0102", "CVE-2024-10102"),
    ] {
        let record = json!({
            "id": id,
            "modified": "2024-01-01T00:00:00Z",
            "aliases": [cve],
            "summary": "broken",
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": format!("crate-{id}")},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]
            }]
        });
        std::fs::write(osv.join(format!("{id}.json")), record.to_string()).unwrap();
    }
    osv
}

#[test]
fn two_servers_on_one_postgres_database_share_exceptions_expiries_and_the_job_lease() {
    let Some(database) =
        postgres_database("two bulwark serve processes on one PostgreSQL database")
    else {
        return;
    };
    let db = database.url();
    let dir = tempfile::tempdir().unwrap();
    let osv = write_advisories(dir.path());
    run(db, ["import", &osv.display().to_string()]);
    run(db, ["user", "add", ADMIN, "--role", "admin"]);
    let token = stdout(&run(db, ["token", "create", "--user", ADMIN]))
        .lines()
        .last()
        .expect("the token is the last line")
        .trim()
        .to_string();
    let first = Server::start(db);
    let second = Server::start(db);

    // Created through one, visible through the other at once.
    let created = create_expiring_exception(&first, &token, "CVE-2024-10101");
    let id = created["id"].as_i64().expect("id");
    let (status, seen) = second.call("GET", &format!("/api/exceptions/{id}"), &token, None);
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["status"], "InEffect");
    assert_eq!(
        seen["justificationContext"],
        created["justificationContext"]
    );

    // The expiry is recorded once, by the lease holder, whichever it is.
    wait_for("the first expiry to be recorded", || {
        second.audit(&token, "exception.expire", id) > 0
    });
    let (_, expired) = first.call("GET", &format!("/api/exceptions/{id}"), &token, None);
    assert_eq!(expired["status"], "Expired");
    let holder = lease_holder(db).expect("a lease holder");
    let (holder_server, survivor) = if held_by(&holder, &first) {
        (first, second)
    } else {
        assert!(held_by(&holder, &second), "{holder}");
        (second, first)
    };
    // Three more runs of the job in each process: still one entry, seen alike through both.
    let_the_jobs_run();
    assert_eq!(survivor.audit(&token, "exception.expire", id), 1);
    assert_eq!(holder_server.audit(&token, "exception.expire", id), 1);

    // The holder dies; the survivor takes the lease over once it runs out and records the next expiry.
    drop(holder_server);
    let next = create_expiring_exception(&survivor, &token, "CVE-2024-10102");
    let next_id = next["id"].as_i64().expect("id");
    wait_for("the survivor to take the lease over", || {
        lease_holder(db).is_some_and(|h| held_by(&h, &survivor))
    });
    wait_for("the second expiry to be recorded", || {
        survivor.audit(&token, "exception.expire", next_id) > 0
    });
    let_the_jobs_run();
    assert_eq!(survivor.audit(&token, "exception.expire", next_id), 1);
    assert_eq!(survivor.audit(&token, "exception.expire", id), 1);

    let verified = stdout(&run(db, ["audit", "verify"]));
    assert!(verified.contains("entries verified"), "{verified}");
}
