//! What does not depend on the backend in the audited part of the store (identity, exceptions,
//! remediation activities, the audit trail, webhooks and settings; the values are in `remediation.rs`):
//! decoding their rows, encoding their columns, the audit entry that follows the last one, and the
//! decisions a change makes before anything is written (which stored exception a new one collides with,
//! what a cancellation cancels, what a tracking update leaves). The backends keep the SQL, the
//! transactions and the locks; each audited method there is: lock, load the entity before, decide here,
//! write, load it after, append [`next_entry`] to the chain, commit.
//!
//! The `SELECT`s without parameters are written here once ([`EXCEPTION_SELECT`], …) because both
//! schemas have the same tables and columns; each backend appends its own `WHERE` with its placeholders.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use bulwark_core::audit::{AuditDraft, AuditEntry, seal};
use bulwark_core::exception::{
    Exception, ExceptionGroup, ExceptionStatus, Justification, NewException, TargetKind,
    conflicting,
};
use bulwark_core::identity::{ApiToken, ConsoleSession, Role, User};
use bulwark_core::remediation::{
    CompletionMethod, NewTask, RemediationTask, TaskFields, TaskStatus,
};
use bulwark_core::webhook::{Delivery, EventKind, Webhook};

use crate::codec::{
    StoredRow, corrupt, json_column, json_text, optional_json_column, optional_time_column,
    time_column,
};
use crate::{AuditFilter, ExceptionTracking, StoreError, StoreResult};

/// Action names of the audit entries the store writes (the trait's doc comments name them).
pub(crate) mod action {
    /// `create_user`.
    pub(crate) const USER_CREATE: &str = "user.create";
    /// `set_password`.
    pub(crate) const USER_PASSWORD: &str = "user.password";
    /// `create_token`.
    pub(crate) const TOKEN_CREATE: &str = "token.create";
    /// `revoke_token`.
    pub(crate) const TOKEN_REVOKE: &str = "token.revoke";
    /// `create_exception`.
    pub(crate) const EXCEPTION_CREATE: &str = "exception.create";
    /// `cancel_exception`.
    pub(crate) const EXCEPTION_CANCEL: &str = "exception.cancel";
    /// `create_task`.
    pub(crate) const TASK_CREATE: &str = "remediation.create";
    /// `complete_task`.
    pub(crate) const TASK_COMPLETE: &str = "remediation.complete";
    /// `purge_tasks`, one entry per activity.
    pub(crate) const TASK_PURGE: &str = "remediation.purge";
    /// `create_webhook`.
    pub(crate) const WEBHOOK_CREATE: &str = "webhook.create";
    /// `delete_webhook`.
    pub(crate) const WEBHOOK_DELETE: &str = "webhook.delete";
    /// `set_setting`.
    pub(crate) const SETTINGS_UPDATE: &str = "settings.update";
}

/// Entity names of the audit entries the store writes.
pub(crate) mod entity {
    /// A user.
    pub(crate) const USER: &str = "user";
    /// An API token.
    pub(crate) const TOKEN: &str = "token";
    /// An exception.
    pub(crate) const EXCEPTION: &str = "exception";
    /// A remediation activity.
    pub(crate) const TASK: &str = "remediationTask";
    /// A webhook.
    pub(crate) const WEBHOOK: &str = "webhook";
    /// A setting (its id is the key).
    pub(crate) const SETTINGS: &str = "settings";
}

/// The actor of changes the system makes on its own (a voided exception's canceler).
pub(crate) const SYSTEM: &str = "system";

// ---------------------------------------------------------------------------------------------------------------
// The audit trail.

/// The columns [`audit_entry`] reads.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash";

/// The newest entry's position and hash, which the next entry chains to.
pub(crate) const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

/// The draft of an entry about entity `id` of kind `entity`.
pub(crate) fn draft(actor: &str, action: &str, entity: &str, id: impl ToString) -> AuditDraft {
    AuditDraft {
        actor: actor.to_string(),
        action: action.to_string(),
        entity: entity.to_string(),
        entity_id: id.to_string(),
    }
}

/// An entity before and after a change as the JSON texts an entry holds (its serde form).
pub(crate) fn snapshots<T: Serialize>(
    before: Option<&T>,
    after: Option<&T>,
) -> StoreResult<(Option<String>, Option<String>)> {
    let text = |value: Option<&T>| value.map(|v| json_text("audit_log", v)).transpose();
    Ok((text(before)?, text(after)?))
}

/// A time cut to the microseconds the stores keep, so that an entry hashes the time it is reloaded with.
pub(crate) fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The entry that follows the chain's head (`None`: the chain is empty), sealed.
pub(crate) fn next_entry(
    head: Option<&(i64, String)>,
    draft: AuditDraft,
    before: Option<String>,
    after: Option<String>,
    at: DateTime<Utc>,
) -> AuditEntry {
    let previous = head.map(|(seq, hash)| (*seq, hash.as_str()));
    seal(previous, stored_time(at), draft, before, after)
}

/// The chain's head from the columns of [`AUDIT_HEAD`].
pub(crate) fn audit_head(row: &impl StoredRow) -> StoreResult<(i64, String)> {
    const T: &str = "audit_log";
    Ok((row.integer(T, "seq")?, row.text(T, "hash")?))
}

/// An entry from the columns [`AUDIT_COLUMNS`].
pub(crate) fn audit_entry(row: &impl StoredRow) -> StoreResult<AuditEntry> {
    const T: &str = "audit_log";
    Ok(AuditEntry {
        seq: row.integer(T, "seq")?,
        at: time_column(row, T, "at")?,
        actor: row.text(T, "actor")?,
        action: row.text(T, "action")?,
        entity: row.text(T, "entity")?,
        entity_id: row.text(T, "entity_id")?,
        before: row.optional_text(T, "before")?,
        after: row.optional_text(T, "after")?,
        prev_hash: row.text(T, "prev_hash")?,
        hash: row.text(T, "hash")?,
    })
}

/// The `LIMIT` of an audit query (`None`: all), refusing a negative one.
pub(crate) fn audit_limit(filter: &AuditFilter) -> StoreResult<Option<i64>> {
    limit("audit filter limit", filter.limit)
}

/// A row limit given by a caller: `Invalid` when negative.
pub(crate) fn limit(what: &str, limit: Option<i64>) -> StoreResult<Option<i64>> {
    match limit {
        Some(n) if n < 0 => Err(StoreError::Invalid {
            what: what.to_string(),
            reason: format!("{n} is negative"),
        }),
        other => Ok(other),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Users and tokens.

/// The columns [`user`] reads.
pub(crate) const USER_COLUMNS: &str = "id, email, display_name, role, created_at";

/// A token and its user, for a `WHERE` on `t.` columns (the user's columns are prefixed `user_`).
pub(crate) const TOKEN_USER_SELECT: &str = "SELECT t.id, t.user_id, t.prefix, t.created_at, \
     t.expires_at, t.last_used_at, t.revoked_at, u.email AS user_email, \
     u.display_name AS user_display_name, u.role AS user_role, u.created_at AS user_created_at \
     FROM api_tokens t JOIN users u ON u.id = t.user_id";

/// The columns [`token`] reads.
pub(crate) const TOKEN_COLUMNS: &str =
    "id, user_id, prefix, created_at, expires_at, last_used_at, revoked_at";

/// A user from the columns [`USER_COLUMNS`].
pub(crate) fn user(row: &impl StoredRow) -> StoreResult<User> {
    const T: &str = "users";
    Ok(User {
        id: row.integer(T, "id")?,
        email: row.text(T, "email")?,
        display_name: row.text(T, "display_name")?,
        role: role(T, &row.text(T, "role")?)?,
        created_at: time_column(row, T, "created_at")?,
    })
}

/// A user and the password hash, from [`USER_COLUMNS`] and `password_hash`.
pub(crate) fn user_with_hash(row: &impl StoredRow) -> StoreResult<(User, Option<String>)> {
    Ok((user(row)?, row.optional_text("users", "password_hash")?))
}

/// A stored role.
fn role(table: &'static str, text: &str) -> StoreResult<Role> {
    match text {
        "viewer" => Ok(Role::Viewer),
        "analyst" => Ok(Role::Analyst),
        "admin" => Ok(Role::Admin),
        other => Err(corrupt(
            table,
            format!("column role: unknown role {other:?}"),
        )),
    }
}

/// A token from the columns [`TOKEN_COLUMNS`].
pub(crate) fn token(row: &impl StoredRow) -> StoreResult<ApiToken> {
    const T: &str = "api_tokens";
    Ok(ApiToken {
        id: row.integer(T, "id")?,
        user_id: row.integer(T, "user_id")?,
        prefix: row.text(T, "prefix")?,
        created_at: time_column(row, T, "created_at")?,
        expires_at: optional_time_column(row, T, "expires_at")?,
        last_used_at: optional_time_column(row, T, "last_used_at")?,
        revoked_at: optional_time_column(row, T, "revoked_at")?,
    })
}

/// A token and its user from the columns of [`TOKEN_USER_SELECT`].
pub(crate) fn token_and_user(row: &impl StoredRow) -> StoreResult<(ApiToken, User)> {
    let token = token(row)?;
    let user = prefixed_user(row, token.user_id)?;
    Ok((token, user))
}

/// The user whose columns a join names with the prefix `user_`.
fn prefixed_user(row: &impl StoredRow, id: i64) -> StoreResult<User> {
    const T: &str = "users";
    Ok(User {
        id,
        email: row.text(T, "user_email")?,
        display_name: row.text(T, "user_display_name")?,
        role: role(T, &row.text(T, "user_role")?)?,
        created_at: time_column(row, T, "user_created_at")?,
    })
}

/// A console session and its user (columns prefixed `user_`), for a `WHERE` on `s.` columns.
pub(crate) const SESSION_USER_SELECT: &str = "SELECT s.id, s.user_id, s.created_at, s.expires_at, \
     s.last_seen_at, s.ended_at, u.email AS user_email, u.display_name AS user_display_name, \
     u.role AS user_role, u.created_at AS user_created_at \
     FROM console_sessions s JOIN users u ON u.id = s.user_id";

/// The columns [`session`] reads.
pub(crate) const SESSION_COLUMNS: &str =
    "id, user_id, created_at, expires_at, last_seen_at, ended_at";

/// A console session from the columns [`SESSION_COLUMNS`].
pub(crate) fn session(row: &impl StoredRow) -> StoreResult<ConsoleSession> {
    const T: &str = "console_sessions";
    Ok(ConsoleSession {
        id: row.integer(T, "id")?,
        user_id: row.integer(T, "user_id")?,
        created_at: time_column(row, T, "created_at")?,
        expires_at: time_column(row, T, "expires_at")?,
        last_seen_at: time_column(row, T, "last_seen_at")?,
        ended_at: optional_time_column(row, T, "ended_at")?,
    })
}

/// A session and its user from the columns of [`SESSION_USER_SELECT`].
pub(crate) fn session_and_user(row: &impl StoredRow) -> StoreResult<(ConsoleSession, User)> {
    let session = session(row)?;
    let user = prefixed_user(row, session.user_id)?;
    Ok((session, user))
}

/// `NotFound` for a console session that does not exist.
pub(crate) fn session_not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("console session {id}"))
}

/// `Conflict` for a user whose e-mail is taken.
pub(crate) fn email_taken(email: &str) -> StoreError {
    StoreError::Conflict(format!("a user with the e-mail {email} exists"))
}

/// `NotFound` for a user that does not exist.
pub(crate) fn user_not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("user {id}"))
}

/// `NotFound` for a token that does not exist.
pub(crate) fn token_not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("token {id}"))
}

/// A failed token insert: `Conflict` when the digest is taken (a token made twice), else the database
/// error as it is.
pub(crate) fn digest_taken(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict("a token with this digest exists".into())
        }
        _ => StoreError::Database(error),
    }
}

/// Whether a token may be revoked at all: `Conflict` when it already is.
pub(crate) fn check_revocable(token: &ApiToken) -> StoreResult<()> {
    match token.revoked_at {
        Some(at) => Err(StoreError::Conflict(format!(
            "token {} was already revoked at {}",
            token.id,
            at.to_rfc3339()
        ))),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Exceptions.

/// Exceptions with one row per device group (global ones with one row of NULL group columns), for a
/// `WHERE` on `e.` columns followed by [`EXCEPTION_ORDER`]; [`exceptions`] folds the rows.
pub(crate) const EXCEPTION_SELECT: &str = "SELECT e.id, e.kind, e.target, e.justification, \
     e.context, e.global, e.created_by, e.created_at, e.expires_at, e.canceled_by, e.canceled_at, \
     e.review, e.expiry_recorded_at, e.baseline, e.last_covered_at, g.group_name, \
     g.canceled_by AS group_canceled_by, g.canceled_at AS group_canceled_at \
     FROM exceptions e LEFT JOIN exception_groups g ON g.exception_id = e.id";

/// The order [`exceptions`] needs: an exception's rows together, its groups by name.
pub(crate) const EXCEPTION_ORDER: &str = "ORDER BY e.id, g.group_name";

/// The exceptions of rows of [`EXCEPTION_SELECT`] in [`EXCEPTION_ORDER`].
pub(crate) fn exceptions<R: StoredRow>(rows: &[R]) -> StoreResult<Vec<Exception>> {
    const T: &str = "exceptions";
    let mut out: Vec<Exception> = Vec::new();
    for row in rows {
        let id = row.integer(T, "id")?;
        if out.last().is_none_or(|e| e.id != id) {
            out.push(exception(row)?);
        }
        let Some(name) = row.optional_text("exception_groups", "group_name")? else {
            continue;
        };
        let group = ExceptionGroup {
            name,
            canceled_by: row.optional_text("exception_groups", "group_canceled_by")?,
            canceled_at: optional_time_column(row, "exception_groups", "group_canceled_at")?,
        };
        if let Some(e) = out.last_mut() {
            e.groups.push(group);
        }
    }
    Ok(out)
}

/// One exception's own columns (its groups are added by [`exceptions`]).
fn exception(row: &impl StoredRow) -> StoreResult<Exception> {
    const T: &str = "exceptions";
    let kind = row.text(T, "kind")?;
    let justification = row.text(T, "justification")?;
    Ok(Exception {
        id: row.integer(T, "id")?,
        kind: TargetKind::parse(&kind)
            .ok_or_else(|| corrupt(T, format!("column kind: unknown kind {kind:?}")))?,
        target: row.text(T, "target")?,
        justification: Justification::parse(&justification).ok_or_else(|| {
            corrupt(
                T,
                format!("column justification: unknown justification {justification:?}"),
            )
        })?,
        context: row.text(T, "context")?,
        global: row.boolean(T, "global")?,
        groups: Vec::new(),
        created_by: row.text(T, "created_by")?,
        created_at: time_column(row, T, "created_at")?,
        expires_at: time_column(row, T, "expires_at")?,
        canceled_by: row.optional_text(T, "canceled_by")?,
        canceled_at: optional_time_column(row, T, "canceled_at")?,
        review: optional_json_column(row, T, "review")?,
        expiry_recorded_at: optional_time_column(row, T, "expiry_recorded_at")?,
        baseline: optional_json_column(row, T, "baseline")?,
        last_covered_at: optional_time_column(row, T, "last_covered_at")?,
    })
}

/// The device groups a new exception is stored with (sorted, distinct); `Invalid` when its scope is
/// neither global nor a list of groups.
pub(crate) fn new_exception_groups(new: &NewException) -> StoreResult<Vec<String>> {
    let groups: BTreeSet<&str> = new.groups.iter().map(String::as_str).collect();
    let invalid = |reason: &str| StoreError::Invalid {
        what: format!("exception on {}", new.target),
        reason: reason.to_string(),
    };
    match (new.global, groups.is_empty()) {
        (true, false) => Err(invalid("a global exception names no device groups")),
        (false, true) => Err(invalid("name at least one device group, or make it global")),
        _ => Ok(groups.into_iter().map(str::to_string).collect()),
    }
}

/// `Conflict` when a stored exception on the same target is in effect at the new one's creation with
/// an overlapping scope (`existing` may hold any exceptions; only those on the target count).
pub(crate) fn check_no_conflict(existing: &[Exception], new: &NewException) -> StoreResult<()> {
    match conflicting(existing, new, new.created_at) {
        None => Ok(()),
        Some((e, Some(group))) => Err(StoreError::Conflict(format!(
            "exception {} is already in effect for device group {group} on {}",
            e.id, new.target
        ))),
        Some((e, None)) => Err(StoreError::Conflict(format!(
            "a global exception {} is already in effect on {}",
            e.id, new.target
        ))),
    }
}

/// What a cancellation changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// The whole exception.
    Whole,
    /// These device groups of it (sorted, distinct).
    Groups(Vec<String>),
}

/// What canceling `groups` of `e` (`None`: all of it) at `at` changes: `Invalid` for groups of a global
/// exception or an empty list, `NotFound` for a group it does not have, `Conflict` when the exception is
/// no longer in effect or a group is already canceled.
pub(crate) fn plan_cancel(
    e: &Exception,
    groups: Option<&[String]>,
    at: DateTime<Utc>,
) -> StoreResult<Cancel> {
    match e.status_at(at) {
        ExceptionStatus::InEffect => {}
        ExceptionStatus::Canceled => {
            return Err(StoreError::Conflict(format!(
                "exception {} is already canceled",
                e.id
            )));
        }
        ExceptionStatus::Expired => {
            return Err(StoreError::Conflict(format!(
                "exception {} has already expired",
                e.id
            )));
        }
    }
    let Some(groups) = groups else {
        return Ok(Cancel::Whole);
    };
    let invalid = |reason: String| StoreError::Invalid {
        what: format!("cancellation of exception {}", e.id),
        reason,
    };
    if e.global {
        return Err(invalid(
            "it is global: it has no device groups to cancel; cancel it whole".into(),
        ));
    }
    let names: BTreeSet<&str> = groups.iter().map(String::as_str).collect();
    if names.is_empty() {
        return Err(invalid(
            "name at least one device group, or cancel it whole".into(),
        ));
    }
    for name in &names {
        let Some(group) = e.groups.iter().find(|g| g.name == *name) else {
            return Err(StoreError::NotFound(format!(
                "exception {} has no device group {name}",
                e.id
            )));
        };
        if group.canceled_at.is_some_and(|t| t <= at) {
            return Err(StoreError::Conflict(format!(
                "device group {name} of exception {} is already canceled",
                e.id
            )));
        }
    }
    Ok(Cancel::Groups(
        names.into_iter().map(str::to_string).collect(),
    ))
}

/// The exception after a tracking update: the fields given replace the stored ones; `void_at` cancels
/// it (by the system) unless it is canceled already, which keeps the earlier cancellation.
pub(crate) fn track(e: &Exception, tracking: &ExceptionTracking) -> Exception {
    let mut out = e.clone();
    if let Some(baseline) = &tracking.baseline {
        out.baseline = Some(baseline.clone());
    }
    if let Some(at) = tracking.last_covered_at {
        out.last_covered_at = Some(stored_time(at));
    }
    if let Some(review) = &tracking.review {
        let mut review = review.clone();
        review.at = stored_time(review.at);
        out.review = Some(review);
    }
    if let Some(at) = tracking.expiry_recorded_at {
        out.expiry_recorded_at = Some(stored_time(at));
    }
    if let Some(at) = tracking.void_at
        && out.canceled_at.is_none()
    {
        out.canceled_at = Some(stored_time(at));
        out.canceled_by = Some(SYSTEM.to_string());
    }
    out
}

/// The tracking columns of an exception as stored (`review` and `baseline` as JSON).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrackingColumns {
    /// `review`.
    pub(crate) review: Option<String>,
    /// `baseline`.
    pub(crate) baseline: Option<String>,
    /// `last_covered_at`.
    pub(crate) last_covered_at: Option<i64>,
    /// `expiry_recorded_at`.
    pub(crate) expiry_recorded_at: Option<i64>,
    /// `canceled_by`.
    pub(crate) canceled_by: Option<String>,
    /// `canceled_at`.
    pub(crate) canceled_at: Option<i64>,
}

impl TrackingColumns {
    /// The columns of `e`.
    pub(crate) fn new(e: &Exception) -> StoreResult<TrackingColumns> {
        const T: &str = "exceptions";
        Ok(TrackingColumns {
            review: e.review.as_ref().map(|r| json_text(T, r)).transpose()?,
            baseline: e.baseline.as_ref().map(|b| json_text(T, b)).transpose()?,
            last_covered_at: e.last_covered_at.map(|t| t.timestamp_micros()),
            expiry_recorded_at: e.expiry_recorded_at.map(|t| t.timestamp_micros()),
            canceled_by: e.canceled_by.clone(),
            canceled_at: e.canceled_at.map(|t| t.timestamp_micros()),
        })
    }
}

/// `NotFound` for an exception that does not exist.
pub(crate) fn exception_not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("exception {id}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Remediation activities.

/// The columns [`task`] reads.
pub(crate) const TASK_COLUMNS: &str =
    "id, fields, status, status_last_modified_on, completion_method, completer_email";

/// The `fields` column of a new activity.
pub(crate) fn task_fields_json(task: &NewTask) -> StoreResult<String> {
    json_text("remediation_tasks", &TaskFields::from(task.clone()))
}

/// An activity from the columns [`TASK_COLUMNS`].
pub(crate) fn task(row: &impl StoredRow) -> StoreResult<RemediationTask> {
    const T: &str = "remediation_tasks";
    let status = row.text(T, "status")?;
    let method = row.optional_text(T, "completion_method")?;
    Ok(RemediationTask {
        id: row.integer(T, "id")?,
        request: json_column(row, T, "fields")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| corrupt(T, format!("column status: unknown status {status:?}")))?,
        status_last_modified_on: time_column(row, T, "status_last_modified_on")?,
        completion_method: method
            .map(|m| {
                CompletionMethod::parse(&m).ok_or_else(|| {
                    corrupt(T, format!("column completion_method: unknown method {m:?}"))
                })
            })
            .transpose()?,
        completer_email: row.optional_text(T, "completer_email")?,
    })
}

/// `Conflict` unless the activity is still active.
pub(crate) fn check_completable(task: &RemediationTask) -> StoreResult<()> {
    match task.status {
        TaskStatus::Active => Ok(()),
        TaskStatus::Completed => Err(StoreError::Conflict(format!(
            "remediation activity {} is already completed",
            task.id
        ))),
    }
}

/// `NotFound` for an activity that does not exist.
pub(crate) fn task_not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("remediation activity {id}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Webhooks and their outbox.

/// The columns [`webhook`] reads.
pub(crate) const WEBHOOK_COLUMNS: &str = "id, url, events, created_at, secret";

/// Due deliveries with their webhook's URL and secret, for a `WHERE` on `d.` columns.
pub(crate) const DELIVERY_SELECT: &str = "SELECT d.id, d.webhook_id, d.event, d.payload, \
     d.attempts, d.next_attempt_at, d.delivered_at, d.last_error, w.url, w.secret \
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id";

/// The columns [`delivery`] reads.
pub(crate) const DELIVERY_COLUMNS: &str =
    "id, webhook_id, event, payload, attempts, next_attempt_at, delivered_at, last_error";

/// The `events` column of a webhook.
pub(crate) fn events_json(events: &[EventKind]) -> StoreResult<String> {
    json_text("webhooks", &events)
}

/// A webhook and its secret from the columns [`WEBHOOK_COLUMNS`].
pub(crate) fn webhook(row: &impl StoredRow) -> StoreResult<(Webhook, String)> {
    const T: &str = "webhooks";
    let webhook = Webhook {
        id: row.integer(T, "id")?,
        url: row.text(T, "url")?,
        events: json_column(row, T, "events")?,
        created_at: time_column(row, T, "created_at")?,
    };
    Ok((webhook, row.text(T, "secret")?))
}

/// Whether a webhook subscribed to `events` receives `event` (no events named: every event).
pub(crate) fn subscribed(events: &[EventKind], event: EventKind) -> bool {
    events.is_empty() || events.contains(&event)
}

/// A delivery from the columns [`DELIVERY_COLUMNS`].
pub(crate) fn delivery(row: &impl StoredRow) -> StoreResult<Delivery> {
    const T: &str = "webhook_deliveries";
    let event = row.text(T, "event")?;
    let attempts = row.integer(T, "attempts")?;
    Ok(Delivery {
        id: row.integer(T, "id")?,
        webhook_id: row.integer(T, "webhook_id")?,
        event: EventKind::parse(&event)
            .ok_or_else(|| corrupt(T, format!("column event: unknown event {event:?}")))?,
        payload: row.text(T, "payload")?,
        attempts: u32::try_from(attempts)
            .map_err(|_| corrupt(T, format!("column attempts: {attempts} is out of range")))?,
        next_attempt_at: optional_time_column(row, T, "next_attempt_at")?,
        delivered_at: optional_time_column(row, T, "delivered_at")?,
        last_error: row.optional_text(T, "last_error")?,
    })
}

/// A due delivery with its webhook's URL and secret, from the columns of [`DELIVERY_SELECT`].
pub(crate) fn due_delivery(row: &impl StoredRow) -> StoreResult<(Delivery, String, String)> {
    const T: &str = "webhooks";
    Ok((delivery(row)?, row.text(T, "url")?, row.text(T, "secret")?))
}

/// `NotFound` for a webhook that does not exist.
pub(crate) fn webhook_not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("webhook {id}"))
}

/// The error for an outcome recorded for delivery `id`: `Conflict` when it was delivered already
/// (`delivered` is `Some(true)`), `NotFound` when there is no such delivery (`None`).
pub(crate) fn delivery_not_recordable(id: i64, delivered: Option<bool>) -> StoreError {
    match delivered {
        Some(true) => StoreError::Conflict(format!("delivery {id} was already delivered")),
        _ => StoreError::NotFound(format!("delivery {id}")),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Settings.

/// A setting's value from its `value` column.
pub(crate) fn setting(row: &impl StoredRow) -> StoreResult<serde_json::Value> {
    json_column(row, "settings", "value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::exception::ReviewMark;
    use chrono::Duration;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + day * 86_400, 0).unwrap()
    }

    fn exception(id: i64, groups: &[&str]) -> Exception {
        Exception {
            id,
            kind: TargetKind::Recommendation,
            target: "va-_-PyPI-_-django".into(),
            justification: Justification::RiskAccepted,
            context: "accepted".into(),
            global: groups.is_empty(),
            groups: groups
                .iter()
                .map(|g| ExceptionGroup {
                    name: g.to_string(),
                    canceled_by: None,
                    canceled_at: None,
                })
                .collect(),
            created_by: "ana@example.org".into(),
            created_at: at(0),
            expires_at: at(30),
            canceled_by: None,
            canceled_at: None,
            review: None,
            expiry_recorded_at: None,
            baseline: None,
            last_covered_at: None,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Every outcome of a cancellation, as its message.
    #[test]
    fn cancellations_are_checked_before_anything_is_written() {
        let check = |e: &Exception, groups: Option<&[&str]>, day: i64, expected: &str| {
            let groups = groups.map(names);
            let got = match plan_cancel(e, groups.as_deref(), at(day)) {
                Ok(plan) => format!("{plan:?}"),
                Err(e) => e.to_string(),
            };
            assert_eq!(got, expected, "{groups:?} on day {day}");
        };
        let mut e = exception(3, &["db", "web"]);
        check(&e, None, 1, "Whole");
        check(&e, Some(&["web", "web"]), 1, r#"Groups(["web"])"#);
        check(
            &e,
            Some(&["x"]),
            1,
            "not found: exception 3 has no device group x",
        );
        check(
            &e,
            Some(&[]),
            1,
            "invalid cancellation of exception 3: name at least one device group, or cancel it whole",
        );
        check(&e, None, 30, "conflict: exception 3 has already expired");
        e.groups[1].canceled_at = Some(at(1));
        check(
            &e,
            Some(&["db", "web"]),
            2,
            "conflict: device group web of exception 3 is already canceled",
        );
        e.canceled_at = Some(at(2));
        check(&e, None, 2, "conflict: exception 3 is already canceled");
        let global = exception(4, &[]);
        check(
            &global,
            Some(&["web"]),
            1,
            "invalid cancellation of exception 4: it is global: it has no device groups to cancel; \
             cancel it whole",
        );
    }

    /// Tracking keeps what it does not name, and voiding never rewrites an earlier cancellation.
    #[test]
    fn tracking_replaces_only_what_is_given() {
        let e = exception(1, &["web"]);
        let review = ReviewMark {
            reasons: vec!["CVE-1 was added to CISA KEV".into()],
            at: at(2) + Duration::nanoseconds(1_500),
            voided: true,
        };
        let t = ExceptionTracking {
            review: Some(review),
            void_at: Some(at(2)),
            ..ExceptionTracking::default()
        };
        let tracked = track(&e, &t);
        assert_eq!(
            tracked.review.as_ref().unwrap().at,
            at(2) + Duration::microseconds(1)
        );
        assert_eq!(
            (tracked.canceled_by.as_deref(), tracked.canceled_at),
            (Some(SYSTEM), Some(at(2)))
        );
        assert_eq!(tracked.groups, e.groups);
        let again = track(
            &tracked,
            &ExceptionTracking {
                void_at: Some(at(5)),
                last_covered_at: Some(at(4)),
                ..ExceptionTracking::default()
            },
        );
        assert_eq!(again.canceled_at, Some(at(2)));
        assert_eq!(again.last_covered_at, Some(at(4)));
        assert_eq!(again.review, tracked.review);
    }

    /// A new exception's scope is either global or a list of groups.
    #[test]
    fn new_exception_scopes() {
        let mut new = NewException {
            kind: TargetKind::Cve,
            target: "CVE-2024-1".into(),
            justification: Justification::FalsePositive,
            context: "c".into(),
            global: false,
            groups: names(&["web", "db", "web"]),
            created_by: "a".into(),
            created_at: at(0),
            expires_at: at(30),
        };
        assert_eq!(new_exception_groups(&new).unwrap(), names(&["db", "web"]));
        new.global = true;
        assert!(matches!(
            new_exception_groups(&new),
            Err(StoreError::Invalid { .. })
        ));
        new.groups.clear();
        assert!(new_exception_groups(&new).unwrap().is_empty());
        new.global = false;
        assert!(new_exception_groups(&new).is_err());
    }

    #[test]
    fn conflicts_name_the_exception_and_group() {
        let stored = [exception(12, &["web"]), exception(13, &[])];
        let mut new = NewException {
            kind: TargetKind::Recommendation,
            target: "va-_-PyPI-_-django".into(),
            justification: Justification::RiskAccepted,
            context: "c".into(),
            global: false,
            groups: names(&["db", "web"]),
            created_by: "a".into(),
            created_at: at(1),
            expires_at: at(31),
        };
        assert_eq!(
            check_no_conflict(&stored, &new).unwrap_err().to_string(),
            "conflict: exception 12 is already in effect for device group web on va-_-PyPI-_-django"
        );
        new.global = true;
        new.groups.clear();
        assert_eq!(
            check_no_conflict(&stored, &new).unwrap_err().to_string(),
            "conflict: a global exception 13 is already in effect on va-_-PyPI-_-django"
        );
        new.created_at = at(30);
        assert!(check_no_conflict(&stored, &new).is_ok(), "both expired");
    }

    #[test]
    fn subscriptions_and_limits() {
        assert!(subscribed(&[], EventKind::ExceptionExpired));
        assert!(subscribed(
            &[EventKind::ExceptionCreated, EventKind::ExceptionExpired],
            EventKind::ExceptionExpired
        ));
        assert!(!subscribed(
            &[EventKind::ExceptionCreated],
            EventKind::ActivityCompleted
        ));
        assert_eq!(limit("l", None).unwrap(), None);
        assert_eq!(limit("l", Some(0)).unwrap(), Some(0));
        assert!(limit("l", Some(-1)).is_err());
    }
}
