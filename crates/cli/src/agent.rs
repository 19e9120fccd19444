//! `bulwark agent`: collect this Linux host's packages and configuration facts and post them to a Bulwark
//! server, once or on an interval; `--print` shows the report instead of sending it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use bulwark_agent::{CollectOptions, Delivery, PostOptions, RunOptions, Schedule};

/// The options of `bulwark agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The Bulwark server's URL (`https://bulwark.example:8080`).
    #[arg(long, value_name = "URL", required_unless_present = "print")]
    pub server: Option<String>,
    /// An agent token the server was started with (`bulwark serve --agent-token`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "BULWARK_AGENT_TOKEN",
        hide_env_values = true,
        required_unless_present = "print"
    )]
    pub token: Option<String>,
    /// Collect and send once, then exit (for a systemd timer or cron).
    #[arg(long, conflicts_with = "interval")]
    pub once: bool,
    /// Collect and send every DUR (`30m`, `6h`, `1d`; ±10 % jitter) until Ctrl-C or SIGTERM.
    #[arg(long, value_name = "DUR", default_value = "6h", value_parser = parse_interval)]
    pub interval: Duration,
    /// Print the report that would be sent, as JSON, and send nothing.
    #[arg(long, conflicts_with = "once")]
    pub print: bool,
    /// Collect the host whose file system is at DIR instead of `/` (for tests).
    #[arg(long, value_name = "DIR", default_value = "/", hide = true)]
    pub root: PathBuf,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    bulwark_agent::parse_interval(text).map_err(|e| e.message)
}

/// Runs `bulwark agent`.
pub async fn run(args: AgentArgs) -> Result<()> {
    if args.print {
        let root = args.root.clone();
        let report = tokio::task::spawn_blocking(move || {
            bulwark_agent::collect(&root, &CollectOptions::now())
        })
        .await
        .context("collecting the report")?;
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &report).context("writing the report")?;
        writeln!(stdout).context("writing the report")?;
        for skipped in &report.skipped {
            eprintln!(
                "bulwark: skipped {} ({}): {}",
                skipped.source, skipped.path, skipped.reason
            );
        }
        return Ok(());
    }
    let (Some(server), Some(token)) = (args.server, args.token) else {
        anyhow::bail!("--server and --token (or BULWARK_AGENT_TOKEN) are needed to send a report");
    };
    let schedule = if args.once {
        Schedule::Once
    } else {
        Schedule::Every(args.interval)
    };
    if let Schedule::Every(interval) = schedule {
        eprintln!(
            "bulwark: reporting to {server} every {}s (±10 %); Ctrl-C stops",
            interval.as_secs()
        );
    }
    let options = RunOptions {
        root: args.root,
        server: server.clone(),
        token,
        schedule,
        post: PostOptions::default(),
    };
    bulwark_agent::run(options, &print_delivery)
        .await
        .with_context(|| format!("sending the report to {server}"))
}

/// One line on stderr per delivered report.
fn print_delivery(delivery: &Delivery) {
    let answer = &delivery.answer;
    let count = |key: &str| answer[key].as_u64().unwrap_or(0);
    eprintln!(
        "bulwark: {} reported: {} packages from {} sources ({} skipped); {} open weaknesses ({} new, {} resolved)",
        delivery.report.device.name,
        count("packages"),
        delivery.report.inventories.len(),
        delivery.report.skipped.len(),
        count("openWeaknesses"),
        count("opened"),
        count("resolved"),
    );
}
