//! The `bulwark` command: one-shot scans for CI pipelines, advisory import, inventory ingest,
//! recommendations, the HTTP server, and a demo that brings it all up on real data.

mod agent;
mod assess;
mod db;
mod demo;
mod feeds;
mod output;
mod remediation;
mod scan;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use bulwark_core::{DeviceInfo, SystemClock};
use bulwark_engine::{Engine, IngestRequest};
use bulwark_formats::inventory::InventoryFormat;
use bulwark_server::logging::LogFormat;

/// Bulwark: threat & vulnerability management on your own hardware.
#[derive(Debug, Parser)]
#[command(name = "bulwark", version, about)]
struct Cli {
    /// Database URL: `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        global = true,
        env = "BULWARK_DB",
        default_value = "sqlite://bulwark.db"
    )]
    db: String,

    /// How log lines are written to standard error: `text`, or `json` (one object per line, for log
    /// collectors). `BULWARK_LOG` filters them (`info`, `bulwark::http=info`…).
    #[arg(
        long,
        global = true,
        env = "BULWARK_LOG_FORMAT",
        default_value = "text",
        value_parser = parse_log_format
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan one inventory file against advisories, without a database. Exit code 0: nothing found;
    /// 1: vulnerabilities found; 2: error.
    Scan {
        /// The inventory (SBOM, lockfile, OS package database…).
        file: PathBuf,
        /// Advisory source: an OSV file, directory tree or archive (repeatable).
        #[arg(long = "advisories", required = true)]
        advisories: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Force the inventory format (detected from the content otherwise).
        #[arg(long, value_parser = parse_inventory_format)]
        input_format: Option<InventoryFormat>,
        /// The operating system the inventory comes from (`debian 12`), for OS packages.
        #[arg(long)]
        os: Option<String>,
    },
    /// Import advisories (OSV files, directory trees, archives) into the database.
    Import {
        /// Advisory sources.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Ingest one device's inventory into the database.
    Ingest {
        /// The inventory file.
        file: PathBuf,
        /// The device's unique name.
        #[arg(long)]
        device: String,
        /// Device group.
        #[arg(long)]
        group: Option<String>,
        /// Operating system (`debian 12`, `almalinux 9`, `alpine 3.18`).
        #[arg(long)]
        os: Option<String>,
        /// Tag (repeatable), e.g. `internet-facing`.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Force the inventory format (detected from the content otherwise).
        #[arg(long, value_parser = parse_inventory_format)]
        format: Option<InventoryFormat>,
    },
    /// List security recommendations.
    Recommendations {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show exposure scores: the organisation's, each device group's and each device's.
    Scores {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Also list the recorded history of the organisation's score.
        #[arg(long)]
        history: bool,
    },
    /// Download and import the advisory and threat feeds (OSV, NVD, KEV, EPSS).
    Feeds {
        #[command(subcommand)]
        command: feeds::FeedsCommand,
    },
    /// Serve the JSON API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// A token agents authenticate their reports with (repeat, or separate with commas, for several);
        /// without one, `POST /api/agent/report` refuses every report.
        #[arg(
            long = "agent-token",
            value_name = "TOKEN",
            env = "BULWARK_AGENT_TOKEN",
            hide_env_values = true,
            value_delimiter = ','
        )]
        agent_tokens: Vec<String>,
        /// Seconds between runs of the exception, activity and webhook jobs (expiries, automatic
        /// completion, deliveries). Their lease lasts three runs: of several replicas, another takes
        /// over within three runs of the holder's death.
        #[arg(
            long,
            value_name = "SECONDS",
            env = "BULWARK_JOB_INTERVAL",
            default_value_t = bulwark_server::REMEDIATION_CHECK.as_secs(),
            value_parser = clap::value_parser!(u64).range(1..)
        )]
        job_interval: u64,
    },
    /// Collect this Linux host's packages and configuration facts and send them to a Bulwark server.
    Agent(agent::AgentArgs),
    /// Store a configuration assessment of one device: OpenSCAP XCCDF results or osquery JSON (`.zst` read too).
    Assess(assess::AssessArgs),
    /// Show the Secure Score for Devices: the organisation's, each group's and device's, and the
    /// configuration changes that would raise it most.
    ConfigScore(assess::ConfigScoreArgs),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: remediation::UserCommand,
    },
    /// Create API tokens.
    Token {
        #[command(subcommand)]
        command: remediation::TokenCommand,
    },
    /// Exceptions: create, list, show, cancel.
    Exceptions {
        #[command(subcommand)]
        command: remediation::ExceptionsCommand,
    },
    /// Remediation activities: create, list, complete.
    Remediation {
        #[command(subcommand)]
        command: remediation::RemediationCommand,
    },
    /// Settings: the exception policy.
    Settings {
        #[command(subcommand)]
        command: remediation::SettingsCommand,
    },
    /// The audit trail: list, verify.
    Audit {
        #[command(subcommand)]
        command: remediation::AuditCommand,
    },
    /// Webhooks for exception and remediation events: add, list, remove.
    Webhooks {
        #[command(subcommand)]
        command: webhooks::WebhooksCommand,
    },
    /// Whole databases: copy between SQLite and PostgreSQL, back up, checksums.
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
    /// Import every advisory under DIR, ingest this host's packages and the inventories under DIR, and serve.
    Demo {
        /// A directory of feeds and inventories (on a development machine: ../shared/data).
        #[arg(long)]
        feeds: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Load the data, print a summary and exit instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
}

/// Output formats of `bulwark scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Aligned text.
    Table,
    /// JSON: `{"findings": [...], "warnings": [...], "unassessed": [...]}`.
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// Output formats of list commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    /// Aligned text.
    Table,
    /// JSON shaped like the API (`{"value": [...]}`).
    Json,
}

fn parse_inventory_format(name: &str) -> Result<InventoryFormat, String> {
    InventoryFormat::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = bulwark_formats::inventory::ALL_FORMATS
            .iter()
            .map(|f| f.name())
            .collect();
        format!(
            "unknown inventory format {name:?}; known: {}",
            known.join(", ")
        )
    })
}

fn parse_log_format(name: &str) -> Result<LogFormat, String> {
    LogFormat::from_name(name)
        .ok_or_else(|| format!("unknown log format {name:?}; known: text, json"))
}

/// The log filter when `BULWARK_LOG` sets none: warnings, and for a server also its own information
/// (the request log, the jobs' reports).
fn default_log_filter(command: &Command) -> &'static str {
    match command {
        Command::Serve { .. } | Command::Demo { .. } => {
            "warn,bulwark_server=info,bulwark::http=info"
        }
        // A copy, a backup or checksums read whole tables in one statement each, by design: sqlx's
        // slow-statement warnings would only be noise.
        Command::Db { .. } => "warn,sqlx::query=error",
        _ => "warn",
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("BULWARK_LOG")
        .unwrap_or_else(|_| default_log_filter(&cli.command).into());
    let subscriber = bulwark_server::logging::subscriber(cli.log_format, filter, std::io::stderr);
    // Also routes the `log` records of dependencies into the subscriber, as `fmt().init()` did.
    if let Err(e) = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber) {
        eprintln!("error: cannot set up logging: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn open_engine(db: &str) -> Result<Arc<Engine>> {
    let store = bulwark_store::open(db)
        .await
        .with_context(|| format!("opening the database {db}"))?;
    let engine = Engine::open(store, Arc::new(SystemClock))
        .await
        .context("loading advisories from the database")?;
    Ok(Arc::new(engine))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan {
            file,
            advisories,
            format,
            input_format,
            os,
        } => scan::run(&scan::ScanArgs {
            file,
            advisories,
            format,
            input_format,
            os,
        }),
        Command::Import { paths } => {
            let engine = open_engine(&cli.db).await?;
            for path in paths {
                let summary = output::import_with_progress(&engine, &path).await?;
                output::print_import(&path, &summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest {
            file,
            device,
            group,
            os,
            tags,
            format,
        } => {
            let engine = open_engine(&cli.db).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let summary = engine
                .ingest(IngestRequest {
                    device: DeviceInfo {
                        name: device,
                        os,
                        group,
                        tags,
                    },
                    file: file.display().to_string(),
                    bytes,
                    format,
                })
                .await?;
            output::print_ingest(&summary);
            Ok(ExitCode::SUCCESS)
        }
        Command::Scores { format, history } => {
            let engine = open_engine(&cli.db).await?;
            let report = engine.exposure().await?;
            let history = if history {
                let now = engine.now();
                engine
                    .score_history(
                        bulwark_engine::ScoreScope::Organization,
                        "",
                        chrono::DateTime::UNIX_EPOCH,
                        now,
                    )
                    .await?
            } else {
                Vec::new()
            };
            output::print_scores(&report, &history, format == ListFormat::Json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Recommendations { format } => {
            let engine = open_engine(&cli.db).await?;
            let recs = engine.recommendations().await?;
            match format {
                ListFormat::Json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "value": recs }))?
                    )
                }
                ListFormat::Table => output::print_recommendations(&recs),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Feeds { command } => feeds::run(&command, &cli.db).await,
        Command::User { command } => remediation::run_user(&command, &cli.db).await,
        Command::Token { command } => remediation::run_token(&command, &cli.db).await,
        Command::Exceptions { command } => remediation::run_exceptions(&command, &cli.db).await,
        Command::Remediation { command } => remediation::run_remediation(&command, &cli.db).await,
        Command::Audit { command } => remediation::run_audit(&command, &cli.db).await,
        Command::Settings { command } => remediation::run_settings(&command, &cli.db).await,
        Command::Webhooks { command } => webhooks::run(&command, &cli.db).await,
        Command::Db { command } => db::run(&command, &cli.db).await,
        Command::Assess(args) => assess::run_assess(&args, &cli.db).await,
        Command::ConfigScore(args) => assess::run_config_score(&args, &cli.db).await,
        Command::Agent(args) => {
            agent::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            listen,
            agent_tokens,
            job_interval,
        } => {
            let engine = open_engine(&cli.db).await?;
            if engine.users().await?.is_empty() {
                eprintln!(
                    "note: no users yet; the console and every API call need one: \
                     `bulwark user add EMAIL --role admin --password-stdin` (console sign-in), then \
                     `bulwark token create --user EMAIL` (API token)"
                );
            }
            let jobs = std::time::Duration::from_secs(job_interval);
            serve(engine, &listen, agent_tokens, jobs).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            feeds,
            listen,
            no_serve,
        } => {
            if !feeds.is_dir() {
                bail!("--feeds {} is not a directory", feeds.display());
            }
            let engine = open_engine(&cli.db).await?;
            demo::load(&engine, &feeds).await?;
            demo_token(&engine, &listen).await?;
            if !no_serve {
                serve(
                    engine,
                    &listen,
                    Vec::new(),
                    bulwark_server::REMEDIATION_CHECK,
                )
                .await?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The demo's credentials: the demo creates an admin user `admin@localhost` when the database has no
/// user yet, gives them a fresh random console password and API token on every run (a demo database is
/// nobody's production), and prints both.
async fn demo_token(engine: &Engine, listen: &str) -> Result<()> {
    const DEMO_ADMIN: &str = "admin@localhost";
    let admin = bulwark_engine::local_admin();
    if engine.users().await?.is_empty() {
        engine
            .add_user(
                &admin,
                DEMO_ADMIN,
                Some("Demo administrator"),
                bulwark_core::identity::Role::Admin,
                None,
            )
            .await?;
    }
    if engine.user(DEMO_ADMIN).await.is_ok() {
        let password = demo_password();
        engine.set_password(&admin, DEMO_ADMIN, &password).await?;
        println!(
            "Console: http://{listen}/ — sign in as {DEMO_ADMIN} with the password {password}"
        );
        let created = engine.create_token(&admin, DEMO_ADMIN, Some(30)).await?;
        println!(
            "API token for {DEMO_ADMIN} (valid 30 days): {}",
            created.token
        );
        println!(
            "  curl -H 'Authorization: Bearer {}' http://{listen}/api/recommendations",
            created.token
        );
    }
    Ok(())
}

/// A random password for the demo administrator: 16 characters from an alphabet without look-alikes.
fn demo_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

async fn serve(
    engine: Arc<Engine>,
    listen: &str,
    agent_tokens: Vec<String>,
    job_interval: std::time::Duration,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    eprintln!(
        "bulwark: serving the console on http://{} (API under /api, OpenAPI at /api/openapi.json); Ctrl-C stops",
        listener.local_addr()?
    );
    let state = bulwark_server::AppState::new(engine)
        .with_agent_tokens(agent_tokens)
        .with_job_interval(job_interval);
    bulwark_server::serve(state, listener)
        .await
        .context("serving")
}
