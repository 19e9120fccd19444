//! `bulwark user`, `token`, `exceptions` (including VEX export and import), `remediation` and `audit`: identity, exceptions, remediation
//! activities and the audit trail from the command line, with the same checks as the API. Commands that
//! change exceptions or activities act as the user `--as EMAIL` names (role checks apply); `user add`
//! and `token create` act as the local administrator — whoever can open the database has that power.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};

use bulwark_core::exception::{
    ALL_JUSTIFICATIONS, ExceptionDuration, ExceptionRequest, Justification, TargetKind,
};
use bulwark_core::identity::{Role, User};
use bulwark_engine::{
    AuditFilter, Engine, ExceptionView, TaskRequest, TaskView, VexFormat, local_admin,
};

use crate::{ListFormat, open_engine};

/// `bulwark user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        /// E-mail address.
        email: String,
        /// `viewer`, `analyst` or `admin`.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Read a password (for the console) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's console password, read from standard input; ends the user's console sessions.
    Password {
        /// E-mail address.
        email: String,
    },
    /// List users.
    List,
}

/// `bulwark token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; prints the token as the last line (it is shown only once).
    Create {
        /// The user's e-mail.
        #[arg(long)]
        user: String,
        /// Days of validity (default: no expiry).
        #[arg(long)]
        days: Option<u32>,
    },
}

/// Who acts, for commands that change exceptions or activities.
#[derive(Debug, Args)]
pub struct Actor {
    /// The user this command acts as (their role is checked).
    #[arg(long = "as", env = "BULWARK_USER", value_name = "EMAIL")]
    pub actor: String,
}

/// `bulwark exceptions …`.
#[derive(Debug, Subcommand)]
pub enum ExceptionsCommand {
    /// Create an exception on a recommendation or a CVE.
    Create {
        #[command(flatten)]
        actor: Actor,
        /// The recommendation id.
        #[arg(long, conflicts_with = "cve", required_unless_present = "cve")]
        recommendation: Option<String>,
        /// The CVE id.
        #[arg(long)]
        cve: Option<String>,
        /// third_party_control, alternate_mitigation, risk_accepted, planned_remediation,
        /// cve_no_patch, false_positive.
        #[arg(long, value_parser = parse_justification)]
        justification: Justification,
        /// Why, in words.
        #[arg(long)]
        context: String,
        /// 30, 60, 90, 180 or 365.
        #[arg(long, conflicts_with = "expires", required_unless_present = "expires")]
        days: Option<u32>,
        /// Explicit expiry: RFC 3339 time or YYYY-MM-DD.
        #[arg(long)]
        expires: Option<String>,
        /// Every current and future device group (admins only).
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        global: bool,
        /// A device group (repeatable).
        #[arg(long)]
        group: Vec<String>,
    },
    /// List exceptions.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one exception (JSON).
    Show {
        /// Its id.
        id: i64,
    },
    /// Export every exception as a VEX document (exceptions' expiry, owner and scope as
    /// `bulwark:exception:*` properties).
    Export {
        /// cyclonedx or openvex.
        #[arg(long, default_value = "cyclonedx", value_parser = parse_vex_format)]
        format: VexFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// The document's author (default: the first admin's e-mail, else `bulwark`).
        #[arg(long)]
        author: Option<String>,
    },
    /// Read a VEX document (CycloneDX, OpenVEX) or a scanner ignore file (.trivyignore.yaml,
    /// osv-scanner.toml, deny.toml, .grype.yaml) as proposed exceptions; `--apply` creates them.
    Import {
        /// The file.
        file: PathBuf,
        /// Create the proposals (as the `--as` user); without it they are only shown for review.
        #[arg(long, requires = "actor")]
        apply: bool,
        /// The user the exceptions are created as (with --apply).
        #[arg(long = "as", env = "BULWARK_USER", value_name = "EMAIL")]
        actor: Option<String>,
        /// Duration of proposals whose file gives no expiry: 30, 60, 90, 180 or 365 days.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// Cancel an exception, or some of its device groups.
    Cancel {
        #[command(flatten)]
        actor: Actor,
        /// Its id.
        id: i64,
        /// A device group to cancel (repeatable); none: the whole exception.
        #[arg(long)]
        group: Vec<String>,
    },
}

/// `bulwark remediation …`.
#[derive(Debug, Subcommand)]
pub enum RemediationCommand {
    /// Create a remediation activity from a recommendation.
    Create {
        #[command(flatten)]
        actor: Actor,
        /// The recommendation id.
        #[arg(long)]
        recommendation: String,
        /// High, Medium or Low.
        #[arg(long, default_value = "Medium")]
        priority: String,
        /// Due date (YYYY-MM-DD or RFC 3339); none: attention required.
        #[arg(long)]
        due: Option<String>,
        /// A device group (repeatable); none: every group with exposed devices.
        #[arg(long)]
        group: Vec<String>,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// List remediation activities with their progress.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Complete an activity by hand.
    Complete {
        #[command(flatten)]
        actor: Actor,
        /// Its id.
        id: i64,
    },
}

/// `bulwark settings …`.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show the exception policy, changing the values given first (as the local administrator).
    ExceptionPolicy {
        /// The longest an exception may last, in days.
        #[arg(long)]
        max_days: Option<u32>,
        /// The longest justification context, in characters.
        #[arg(long)]
        max_context: Option<usize>,
        /// EPSS probability at or above which a covered CVE resurfaces its exception.
        #[arg(long)]
        epss_threshold: Option<f64>,
        /// Void (cancel) resurfaced exceptions instead of only marking them.
        #[arg(long)]
        void_on_resurface: Option<bool>,
        /// Days without a covered finding after which an exception is reported stale.
        #[arg(long)]
        stale_days: Option<u32>,
    },
}

/// `bulwark audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the audit trail, oldest first.
    List {
        /// Only entries about this kind of entity (exception, remediationTask, user, token, …).
        #[arg(long)]
        entity: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Check the hash chain; exit 1 naming the first bad entry.
    Verify,
}

fn parse_vex_format(s: &str) -> Result<VexFormat, String> {
    VexFormat::parse(s)
        .ok_or_else(|| format!("unknown VEX format {s:?}; give cyclonedx or openvex"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}; give viewer, analyst or admin"))
}

fn parse_justification(s: &str) -> Result<Justification, String> {
    Justification::parse(s).ok_or_else(|| {
        let names: Vec<&str> = ALL_JUSTIFICATIONS.iter().map(|j| j.as_str()).collect();
        format!(
            "unknown justification {s:?}; give one of {}",
            names.join(", ")
        )
    })
}

fn parse_when(field: &str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    bail!("{field} {text:?} is not an RFC 3339 time or a YYYY-MM-DD date")
}

async fn acting(engine: &Engine, actor: &Actor) -> Result<User> {
    engine
        .user(&actor.actor)
        .await
        .with_context(|| format!("--as {}", actor.actor))
}

/// Runs `bulwark user …`.
pub async fn run_user(command: &UserCommand, db: &str) -> Result<ExitCode> {
    let engine = open_engine(db).await?;
    match command {
        UserCommand::Add {
            email,
            role,
            name,
            password_stdin,
        } => {
            let password = if *password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let user = engine
                .add_user(
                    &local_admin(),
                    email,
                    name.as_deref(),
                    *role,
                    password.as_deref(),
                )
                .await?;
            println!(
                "added {} ({}) as user {}",
                user.email,
                user.role.as_str(),
                user.id
            );
        }
        UserCommand::Password { email } => {
            let password = read_password()?;
            let user = engine
                .set_password(&local_admin(), email, &password)
                .await?;
            println!(
                "set the console password of {}; their console sessions have ended",
                user.email
            );
        }
        UserCommand::List => {
            for u in engine.users().await? {
                println!(
                    "{:<5} {:<8} {:<40} {}",
                    u.id,
                    u.role.as_str(),
                    u.email,
                    u.display_name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `bulwark token …`.
pub async fn run_token(command: &TokenCommand, db: &str) -> Result<ExitCode> {
    let engine = open_engine(db).await?;
    let TokenCommand::Create { user, days } = command;
    let created = engine.create_token(&local_admin(), user, *days).await?;
    match created.record.expires_at {
        Some(at) => println!(
            "token {} for {user}, expires {}",
            created.record.id,
            at.to_rfc3339()
        ),
        None => println!("token {} for {user}, no expiry", created.record.id),
    }
    println!("{}", created.token);
    Ok(ExitCode::SUCCESS)
}

fn print_exceptions(items: &[ExceptionView]) {
    println!(
        "{:<5} {:<10} {:<22} {:<45} {:<18} {:<20} EXPIRES",
        "ID", "STATUS", "JUSTIFICATION", "TARGET", "SCOPE", "CREATED BY"
    );
    for e in items {
        let target = e
            .recommendation_id
            .as_deref()
            .or(e.cve_id.as_deref())
            .unwrap_or_default();
        let scope = if e.global {
            "global".to_string()
        } else {
            e.device_groups
                .iter()
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut status = e.status.as_str().to_string();
        if e.needs_review {
            status.push('!');
        }
        println!(
            "{:<5} {:<10} {:<22} {:<45} {:<18} {:<20} {}",
            e.id,
            status,
            e.justification.as_str(),
            target,
            scope,
            e.created_by,
            e.expires_on.format("%Y-%m-%d %H:%M")
        );
    }
}

/// Runs `bulwark exceptions …`.
pub async fn run_exceptions(command: &ExceptionsCommand, db: &str) -> Result<ExitCode> {
    let engine = open_engine(db).await?;
    match command {
        ExceptionsCommand::Create {
            actor,
            recommendation,
            cve,
            justification,
            context,
            days,
            expires,
            global,
            group,
        } => {
            let user = acting(&engine, actor).await?;
            let (kind, target) = match (recommendation, cve) {
                (Some(r), None) => (TargetKind::Recommendation, r.clone()),
                (None, Some(c)) => (TargetKind::Cve, c.clone()),
                _ => bail!("give --recommendation or --cve"),
            };
            let duration = match (days, expires) {
                (Some(d), None) => ExceptionDuration::Days(*d),
                (None, Some(e)) => ExceptionDuration::Until(parse_when("--expires", e)?),
                _ => bail!("give --days or --expires"),
            };
            let request = ExceptionRequest {
                kind,
                target,
                justification: *justification,
                context: context.clone(),
                groups: (!global).then(|| group.clone()),
                duration,
            };
            let view = engine.create_exception(&user, request).await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
        ExceptionsCommand::List { format } => {
            let items = engine.exceptions().await?;
            match format {
                ListFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "value": items }))?
                ),
                ListFormat::Table => print_exceptions(&items),
            }
        }
        ExceptionsCommand::Show { id } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&engine.exception(*id).await?)?
            );
        }
        ExceptionsCommand::Export {
            format,
            output,
            author,
        } => {
            let author = match author {
                Some(a) => a.clone(),
                None => engine
                    .users()
                    .await?
                    .into_iter()
                    .find(|u| u.role == Role::Admin)
                    .map_or_else(|| "bulwark".to_string(), |u| u.email),
            };
            let exported = engine.export_exceptions(*format, &author).await?;
            for (id, reason) in &exported.left_out {
                eprintln!("exception {id} left out: {reason}");
            }
            match output {
                Some(path) => {
                    std::fs::write(path, &exported.json)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{}", exported.json),
            }
        }
        ExceptionsCommand::Import {
            file,
            apply,
            actor,
            days,
        } => {
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let user = match (apply, actor) {
                (true, Some(email)) => engine
                    .user(email)
                    .await
                    .with_context(|| format!("--as {email}"))?,
                _ => local_admin(),
            };
            let name = file.display().to_string();
            let import = engine
                .import_exceptions(&user, &name, &bytes, *apply, *days)
                .await?;
            println!("{}: read as {}", name, import.format);
            for p in &import.proposals {
                let scope = if p.global {
                    "global".to_string()
                } else {
                    p.device_groups.join(",")
                };
                println!(
                    "  {:<14} {:<24} {:<22} {:<10} {}  ({})",
                    p.outcome,
                    p.target,
                    p.justification.as_str(),
                    scope,
                    p.reason.as_deref().unwrap_or_default(),
                    p.source
                );
            }
            for (at, why) in &import.skipped {
                println!("  skipped        {at}: {why}");
            }
            if !apply && !import.proposals.is_empty() {
                println!(
                    "review the proposals, then run again with --apply --as EMAIL to create them"
                );
            }
        }
        ExceptionsCommand::Cancel { actor, id, group } => {
            let user = acting(&engine, actor).await?;
            let groups = (!group.is_empty()).then(|| group.clone());
            let view = engine.cancel_exception(&user, *id, groups).await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_tasks(items: &[TaskView]) {
    println!(
        "{:<5} {:<10} {:<7} {:<11} {:<9} {:<40} GROUPS",
        "ID", "STATUS", "PRIO", "DUE", "PROGRESS", "TITLE"
    );
    for t in items {
        let due = t.due_on.map_or_else(
            || "attention".to_string(),
            |d| d.format("%Y-%m-%d").to_string(),
        );
        println!(
            "{:<5} {:<10} {:<7} {:<11} {:<9} {:<40} {}",
            t.id,
            t.status.as_str(),
            t.priority.as_str(),
            due,
            format!("{}/{}", t.fixed_devices, t.target_devices),
            t.title,
            t.rbac_group_names.join(",")
        );
    }
}

/// Runs `bulwark remediation …`.
pub async fn run_remediation(command: &RemediationCommand, db: &str) -> Result<ExitCode> {
    let engine = open_engine(db).await?;
    match command {
        RemediationCommand::Create {
            actor,
            recommendation,
            priority,
            due,
            group,
            notes,
        } => {
            let user = acting(&engine, actor).await?;
            let due_on = due.as_deref().map(|d| parse_when("--due", d)).transpose()?;
            let view = engine
                .create_task(
                    &user,
                    TaskRequest {
                        recommendation_id: recommendation.clone(),
                        device_groups: group.clone(),
                        priority: priority.clone(),
                        due_on,
                        notes: notes.clone(),
                    },
                )
                .await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
        RemediationCommand::List { format } => {
            let items = engine.tasks().await?;
            match format {
                ListFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "value": items }))?
                ),
                ListFormat::Table => print_tasks(&items),
            }
        }
        RemediationCommand::Complete { actor, id } => {
            let user = acting(&engine, actor).await?;
            let view = engine.complete_task(&user, *id).await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `bulwark settings …`.
pub async fn run_settings(command: &SettingsCommand, db: &str) -> Result<ExitCode> {
    let engine = open_engine(db).await?;
    let SettingsCommand::ExceptionPolicy {
        max_days,
        max_context,
        epss_threshold,
        void_on_resurface,
        stale_days,
    } = command;
    let mut policy = engine.exception_policy().await?;
    let before = policy.clone();
    if let Some(v) = max_days {
        policy.max_duration_days = *v;
    }
    if let Some(v) = max_context {
        policy.max_context_chars = *v;
    }
    if let Some(v) = epss_threshold {
        policy.epss_threshold = *v;
    }
    if let Some(v) = void_on_resurface {
        policy.void_on_resurface = *v;
    }
    if let Some(v) = stale_days {
        policy.stale_after_days = *v;
    }
    if policy != before {
        engine.set_exception_policy(&local_admin(), &policy).await?;
    }
    println!("{}", serde_json::to_string_pretty(&policy)?);
    Ok(ExitCode::SUCCESS)
}

/// Runs `bulwark audit …`.
pub async fn run_audit(command: &AuditCommand, db: &str) -> Result<ExitCode> {
    let engine = open_engine(db).await?;
    match command {
        AuditCommand::List { entity, format } => {
            let filter = AuditFilter {
                entity: entity.clone(),
                ..AuditFilter::default()
            };
            let entries = engine.audit(&filter).await?;
            match format {
                ListFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "value": entries }))?
                ),
                ListFormat::Table => {
                    for e in &entries {
                        println!(
                            "{:<6} {} {:<20} {:<22} {}:{}",
                            e.seq,
                            e.at.format("%Y-%m-%d %H:%M:%S"),
                            e.actor,
                            e.action,
                            e.entity,
                            e.entity_id
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => match engine.verify_audit().await? {
            Ok(n) => {
                println!("audit trail intact: {n} entries verified");
                Ok(ExitCode::SUCCESS)
            }
            Err(b) => {
                println!("audit trail BROKEN at entry {}: {}", b.seq, b.reason);
                Ok(ExitCode::from(1))
            }
        },
    }
}

/// A password from standard input (one line; the line ending is not part of it).
fn read_password() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the password from standard input")?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}
