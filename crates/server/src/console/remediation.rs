//! The Remediation page (`/remediation`): the Activities tab (remediation activities with their live
//! progress, a flyout with the target devices and manual completion) and the Exceptions tab (every
//! exception with MDVM's filters, CSV export, and a flyout with the covered groups, cancellation of
//! the whole exception or of one group, and the exception's audit entries).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use bulwark_core::exception::{
    ALL_JUSTIFICATIONS, ExceptionStatus, Justification, ScoreEffect, TargetKind,
};
use bulwark_core::identity::Action;
use bulwark_core::remediation::{Priority, TaskStatus};
use bulwark_engine::{AuditFilter, ExceptionView, TaskView};

use super::layout::{self, Paging, Section};
use super::{Form, PageError, Params, Viewer, done, html_response};
use crate::AppState;
use crate::routes::remediation::{csv_response, expiring_days};

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/remediation", get(remediation))
        .route("/remediation/exceptions.csv", get(exceptions_csv))
        .route(
            "/remediation/exceptions/{id}/cancel",
            post(cancel_exception),
        )
        .route(
            "/remediation/activities/{id}/complete",
            post(complete_activity),
        )
}

/// The query string with `name` set to `value` (`None` removes it), keeping every other parameter,
/// the page included: flyout links and their close links return to the same page of the list.
pub(super) fn keep_page(params: &Params, name: &str, value: Option<&str>) -> String {
    let mut others = Params {
        pairs: params
            .pairs()
            .iter()
            .filter(|(k, _)| k != name)
            .cloned()
            .collect(),
    };
    if let Some(value) = value {
        others.pairs.push((name.to_string(), value.to_string()));
    }
    // Setting `page` is the one change `with` makes without going back to page 1.
    others.with("page", params.get("page"))
}

/// The header row of a table whose columns are plain labels.
pub(super) fn column_heads(labels: &[&str]) -> Markup {
    html! { thead { tr { @for label in labels { th scope="col" { (label) } } } } }
}

/// A flyout: the dialog with its title and close link (`close`: the list without the flyout).
pub(super) fn flyout(close: &str, title: &str, body: Markup) -> Markup {
    html! {
        aside #flyout .flyout role="dialog" aria-labelledby="flyout-title" {
            header {
                h2 #flyout-title { (title) }
                a data-close href=(close) { "Close" }
            }
            (body)
        }
    }
}

/// The two tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Activities,
    Exceptions,
}

/// `GET /remediation`: the Activities tab (default) or `?tab=exceptions`.
async fn remediation(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    let tab = match params.get("tab") {
        None | Some("activities") => Tab::Activities,
        Some("exceptions") => Tab::Exceptions,
        Some(other) => {
            return Err(PageError::bad_request(format!(
                "query parameter tab: {other:?} is not one of activities, exceptions"
            )));
        }
    };
    let paging = Paging::from_params(&params)?;
    let body = match tab {
        Tab::Activities => activities_tab(&state, &viewer, &params, paging).await?,
        Tab::Exceptions => exceptions_tab(&state, &viewer, &params, paging).await?,
    };
    let content = html! {
        h1 { "Remediation" }
        nav.tabs aria-label="Remediation" {
            a href="/remediation?tab=activities" aria-current=[(tab == Tab::Activities).then_some("page")] { "Activities" }
            a href="/remediation?tab=exceptions" aria-current=[(tab == Tab::Exceptions).then_some("page")] { "Exceptions" }
        }
        (body)
    };
    Ok(html_response(layout::page(
        &viewer,
        Section::Remediation,
        "Remediation",
        content,
    )))
}

/// A `<select>` filter with an "All" choice; `choices` are (value, label).
fn select_filter(
    name: &str,
    label: &str,
    choices: &[(&str, &str)],
    current: Option<&str>,
) -> Markup {
    let id = format!("filter-{name}");
    html! {
        label for=(id) {
            (label)
            select #(id) name=(name) {
                option value="" { "All" }
                @for (value, text) in choices {
                    option value=(value) selected[current == Some(*value)] { (text) }
                }
            }
        }
    }
}

/// The search field of a filter form.
fn search_filter(label: &str, current: Option<&str>) -> Markup {
    html! {
        label for="filter-q" {
            (label)
            input #filter-q type="search" name="q" value=[current];
        }
    }
}

/// A parameter that must be one of `parse`'s values, or a 400 naming it and the choices.
pub(super) fn parse_param<T>(
    params: &Params,
    name: &str,
    choices: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, PageError> {
    params
        .get(name)
        .map(|v| {
            parse(v).ok_or_else(|| {
                PageError::bad_request(format!(
                    "query parameter {name}: {v:?} is not one of {choices}"
                ))
            })
        })
        .transpose()
}

/// Whether `needle` occurs in any of `fields`, ignoring case.
fn matches_search(needle: Option<&str>, fields: &[&str]) -> bool {
    let Some(needle) = needle.map(str::trim).filter(|n| !n.is_empty()) else {
        return true;
    };
    let needle = needle.to_lowercase();
    fields.iter().any(|f| f.to_lowercase().contains(&needle))
}

/// A record id from a path or query: a number, or 404 for `what` (an id that cannot exist).
pub(super) fn record_id(text: &str, what: &str) -> Result<i64, PageError> {
    text.parse()
        .map_err(|_| PageError::not_found(format!("{what} {text} not found")))
}

// ---------------------------------------------------------------------------------------------
// Activities

/// The filters of the Activities tab, parsed.
struct ActivityFilter<'a> {
    status: Option<TaskStatus>,
    priority: Option<Priority>,
    due: Option<&'a str>,
    search: Option<&'a str>,
}

impl<'a> ActivityFilter<'a> {
    fn from_params(params: &'a Params) -> Result<ActivityFilter<'a>, PageError> {
        let due = params.get("due");
        if let Some(d) = due
            && !["overdue", "attention", "dated"].contains(&d)
        {
            return Err(PageError::bad_request(format!(
                "query parameter due: {d:?} is not one of overdue, attention, dated"
            )));
        }
        Ok(ActivityFilter {
            status: parse_param(params, "status", "Active, Completed", TaskStatus::parse)?,
            priority: parse_param(params, "priority", "High, Medium, Low", Priority::parse)?,
            due,
            search: params.get("q"),
        })
    }

    fn keeps(&self, t: &TaskView) -> bool {
        self.status.is_none_or(|s| t.status == s)
            && self.priority.is_none_or(|p| t.priority == p)
            && match self.due {
                Some("overdue") => t.overdue,
                Some("attention") => t.attention_required,
                Some("dated") => !t.attention_required,
                _ => true,
            }
            && matches_search(
                self.search,
                &[&t.title, &t.related_component, &t.requester_email],
            )
    }
}

fn priority_badge(priority: Priority) -> Markup {
    let kind = match priority {
        Priority::High => "high",
        Priority::Medium => "medium",
        Priority::Low => "low",
    };
    layout::badge(priority.as_str(), kind)
}

fn task_status_badge(status: TaskStatus) -> Markup {
    match status {
        TaskStatus::Active => layout::badge("Active", "info"),
        TaskStatus::Completed => layout::badge("Completed", "ok"),
    }
}

/// The due date, or "Attention required", with an "Overdue" mark.
fn due_cell(t: &TaskView) -> Markup {
    html! {
        @match t.due_on {
            Some(due) => { (layout::date(due)) }
            None => { (layout::badge("Attention required", "warn")) }
        }
        @if t.overdue { " " (layout::badge("Overdue", "high")) }
    }
}

/// Progress as a bar with its text ("1/3 devices fixed").
fn progress_cell(t: &TaskView) -> Markup {
    let text = format!("{}/{} devices fixed", t.fixed_devices, t.target_devices);
    html! {
        progress value=(t.fixed_devices) max=(t.target_devices.max(1)) aria-label=(text) {}
        " " span.progress-text { (text) }
    }
}

async fn activities_tab(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    paging: Paging,
) -> Result<Markup, PageError> {
    let filter = ActivityFilter::from_params(params)?;
    let mut all = state.engine.tasks().await?;
    let flyout = match params.get("flyout") {
        Some(id) => Some(
            activity_flyout(
                state,
                viewer,
                params,
                record_id(id, "remediation activity")?,
            )
            .await?,
        ),
        None => None,
    };
    if all.is_empty() {
        return Ok(html! {
            (layout::empty_state("No remediation activities yet", html! {
                p { "Request remediation from a recommendation's flyout: open " a href="/recommendations" { "Recommendations" } ", pick one and choose " em { "Request remediation" } ". Its progress is tracked here as devices are updated." }
            }))
            @if let Some(f) = flyout { (f) }
        });
    }
    let total_all = all.len();
    all.retain(|t| filter.keeps(t));
    // Newest first: the activities someone asked for last are the ones people look for.
    all.sort_by(|a, b| b.created_on.cmp(&a.created_on).then(b.id.cmp(&a.id)));
    let rows = paging.slice(&all);
    let status = filter.status.map(TaskStatus::as_str);
    let priority = filter.priority.map(Priority::as_str);
    Ok(html! {
        form.filters #activity-filters method="get" action="/remediation" data-live {
            input type="hidden" name="tab" value="activities";
            (select_filter("status", "Status", &[("Active", "Active"), ("Completed", "Completed")], status))
            (select_filter("priority", "Priority", &[("High", "High"), ("Medium", "Medium"), ("Low", "Low")], priority))
            (select_filter("due", "Due date", &[("overdue", "Overdue"), ("attention", "Attention required"), ("dated", "With a due date")], filter.due))
            (search_filter("Search title, component or requester", filter.search))
            button type="submit" { "Apply" }
        }
        p.muted #activity-count { (all.len()) " of " (total_all) " activities" }
        @if all.is_empty() {
            (layout::empty_state("No activity matches these filters", html! {
                p { a href="/remediation?tab=activities" { "Show every activity" } }
            }))
        } @else {
            div.table-wrap {
                table #activities {
                    (column_heads(&["Activity", "Priority", "Due", "Status", "Progress", "Requested by", "Created"]))
                    tbody {
                        @for t in rows {
                            tr {
                                td { a href=(format!("/remediation{}", keep_page(params, "flyout", Some(&t.id.to_string())))) data-flyout { (t.title) } }
                                td { (priority_badge(t.priority)) }
                                td { (due_cell(t)) }
                                td { (task_status_badge(t.status)) }
                                td { (progress_cell(t)) }
                                td { (t.requester_email) }
                                td.date { (layout::date(t.created_on)) }
                            }
                        }
                    }
                }
            }
            (paging.pager(all.len(), params))
        }
        @if let Some(f) = flyout { (f) }
    })
}

async fn activity_flyout(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    id: i64,
) -> Result<Markup, PageError> {
    let task = state.engine.task(id).await?;
    let machines = state.engine.task_machines(id).await?;
    let close = format!("/remediation{}", keep_page(params, "flyout", None));
    Ok(flyout(
        &close,
        &task.title,
        html! {
            dl.facts {
                dt { "Status" } dd #activity-status { (task_status_badge(task.status))
                    @if let Some(method) = task.completion_method {
                        " " (match method {
                            bulwark_core::remediation::CompletionMethod::Automatic => "(system confirmation)",
                            bulwark_core::remediation::CompletionMethod::Manual => "(completed by hand)",
                        })
                    }
                }
                @if let Some(by) = &task.completer_email { dt { "Completed by" } dd { (by) " on " (layout::time(task.status_last_modified_on)) } }
                dt { "Priority" } dd { (priority_badge(task.priority)) }
                dt { "Due" } dd { (due_cell(&task)) }
                dt { "Progress" } dd #activity-progress { (progress_cell(&task)) }
                dt { "Device groups" } dd { (task.rbac_group_names.join(", ")) }
                dt { "Requested by" } dd { (task.requester_email) " on " (layout::time(task.created_on)) }
                dt { "Remediation" } dd { (task.kind) @if let Some(v) = &task.recommended_version { " to " (v) } }
                dt { "Recommendation" } dd { a href=(format!("/recommendations?flyout={}", urlencode(&task.recommendation_id))) { (task.related_component) } }
            }
            section aria-labelledby="activity-description" {
                h3 #activity-description { "Description" }
                p { (task.description) }
                @if !task.requester_notes.is_empty() { p.notes { strong { "Notes: " } (task.requester_notes) } }
            }
            section aria-labelledby="activity-devices" {
                h3 #activity-devices { "Target devices" }
                table #activity-machines {
                    (column_heads(&["Device", "Group", "State"]))
                    tbody {
                        @for m in &machines {
                            tr {
                                td { @match &m.computer_dns_name {
                                    Some(name) => { a href=(format!("/devices/{}", m.id)) { (name) } }
                                    None => { span.muted { "device " (m.id) " (left the fleet)" } }
                                } }
                                td { (m.rbac_group_name.as_deref().unwrap_or("—")) }
                                td { @if m.fixed { (layout::badge("Fixed", "ok")) } @else { (layout::badge("Not fixed", "warn")) } }
                            }
                        }
                    }
                }
            }
            @if task.status == TaskStatus::Active && viewer.may(Action::ManageActivities) {
                form #complete-activity method="post" action=(format!("/remediation/activities/{id}/complete")) {
                    (layout::csrf(viewer))
                    p.hint { "Completing it by hand stops tracking; the system completes it on its own when every target device is fixed." }
                    button.primary type="submit" { "Mark completed" }
                }
            }
        },
    ))
}

/// A value for a query string.
pub(super) fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s[2..].to_string())
        .unwrap_or_default()
}

/// `POST /remediation/activities/{id}/complete`: completes an activity by hand.
async fn complete_activity(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: Form,
) -> Result<Response, PageError> {
    let id = record_id(&id, "remediation activity")?;
    let task = state.engine.complete_task(&viewer.user, id).await?;
    Ok(done(
        &viewer,
        &format!("/remediation?tab=activities&flyout={id}"),
        &format!("Activity “{}” marked completed.", task.title),
    ))
}

// ---------------------------------------------------------------------------------------------
// Exceptions

/// The label of an exception's status.
pub(super) fn exception_status_badge(status: ExceptionStatus) -> Markup {
    match status {
        ExceptionStatus::InEffect => layout::badge("In effect", "ok"),
        ExceptionStatus::Expired => layout::badge("Expired", "none"),
        ExceptionStatus::Canceled => layout::badge("Canceled", "none"),
    }
}

/// How an exception counts in the scores, as the console names it.
pub(super) fn score_effect_label(effect: ScoreEffect) -> &'static str {
    match effect {
        ScoreEffect::NoImpact => "No impact",
        ScoreEffect::Mitigated => "Mitigation-like",
        ScoreEffect::Removed => "Removed",
    }
}

/// The exception's target: the recommendation's name (from `names`, else its id) or the CVE.
pub(super) fn exception_target<'a>(
    e: &'a ExceptionView,
    names: &'a HashMap<String, String>,
) -> &'a str {
    match (&e.recommendation_id, &e.cve_id) {
        (Some(id), _) => names.get(id).map_or(id.as_str(), String::as_str),
        (None, Some(cve)) => cve.as_str(),
        (None, None) => "",
    }
}

/// Where the exception's target is shown: the recommendation's or the vulnerability's flyout.
pub(super) fn exception_target_href(e: &ExceptionView) -> String {
    match (&e.recommendation_id, &e.cve_id) {
        (Some(id), _) => format!("/recommendations?flyout={}", urlencode(id)),
        (None, Some(cve)) => format!("/weaknesses?flyout={}", urlencode(cve)),
        (None, None) => "/recommendations".to_string(),
    }
}

/// The scope: "Global", or the device groups.
pub(super) fn exception_scope(e: &ExceptionView) -> String {
    if e.global {
        "Global".to_string()
    } else {
        e.device_groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The marks that call for attention: needs review, voided, stale, suspended.
pub(super) fn exception_marks(e: &ExceptionView) -> Markup {
    let suspended = e.device_groups.iter().any(|g| g.suspended);
    html! {
        @if e.needs_review { " " span title=(e.review_reasons.join("; ")) { (layout::badge("Needs review", "warn")) } }
        @if e.voided { " " (layout::badge("Voided", "high")) }
        @if e.stale { " " span title="In effect, yet it has covered no finding for the policy's number of days" { (layout::badge("Stale", "warn")) } }
        @if suspended { " " span title="A global exception on the same target is in effect" { (layout::badge("Suspended", "info")) } }
    }
}

/// Recommendation names by id, for exception targets (only computed when an exception needs one).
pub(super) async fn recommendation_names(
    state: &AppState,
    exceptions: &[ExceptionView],
) -> Result<HashMap<String, String>, PageError> {
    if exceptions.iter().all(|e| e.recommendation_id.is_none()) {
        return Ok(HashMap::new());
    }
    Ok(state
        .engine
        .recommendations()
        .await?
        .into_iter()
        .map(|r| (r.id, r.recommendation_name))
        .collect())
}

/// The filters of the Exceptions tab, parsed (the same fields as the API's list).
struct ExceptionFilter<'a> {
    status: Option<ExceptionStatus>,
    justification: Option<Justification>,
    kind: Option<TargetKind>,
    expiring_within: Option<i64>,
    search: Option<&'a str>,
}

impl<'a> ExceptionFilter<'a> {
    fn from_params(params: &'a Params) -> Result<ExceptionFilter<'a>, PageError> {
        let justifications: Vec<&str> = ALL_JUSTIFICATIONS.iter().map(|j| j.as_str()).collect();
        Ok(ExceptionFilter {
            status: parse_param(
                params,
                "status",
                "InEffect, Expired, Canceled",
                ExceptionStatus::parse,
            )?,
            justification: parse_param(
                params,
                "justification",
                &justifications.join(", "),
                Justification::parse,
            )?,
            kind: parse_param(params, "type", "recommendation, cve", TargetKind::parse)?,
            expiring_within: params
                .get("expiringWithinDays")
                .map(expiring_days)
                .transpose()?,
            search: params.get("q"),
        })
    }

    fn apply(
        &self,
        items: &mut Vec<ExceptionView>,
        now: chrono::DateTime<chrono::Utc>,
        names: &HashMap<String, String>,
    ) {
        items.retain(|e| {
            self.status.is_none_or(|s| e.status == s)
                && self.justification.is_none_or(|j| e.justification == j)
                && self.kind.is_none_or(|k| e.exception_type == k)
                && self
                    .expiring_within
                    .is_none_or(|d| e.expires_within(now, d))
                && matches_search(
                    self.search,
                    &[
                        exception_target(e, names),
                        e.recommendation_id.as_deref().unwrap_or(""),
                        &e.justification_context,
                        &e.created_by,
                    ],
                )
        });
    }
}

/// The exceptions the tab's filters keep, newest first, with the recommendation names.
async fn filtered_exceptions(
    state: &AppState,
    filter: &ExceptionFilter<'_>,
) -> Result<(Vec<ExceptionView>, usize, HashMap<String, String>), PageError> {
    let mut items = state.engine.exceptions().await?;
    let total = items.len();
    let names = recommendation_names(state, &items).await?;
    filter.apply(&mut items, state.engine.now(), &names);
    items.sort_by_key(|e| std::cmp::Reverse(e.id));
    Ok((items, total, names))
}

/// The filters carried by the export link (not the tab, page or flyout).
fn export_href(params: &Params) -> String {
    let kept = Params {
        pairs: params
            .pairs()
            .iter()
            .filter(|(k, v)| {
                !["tab", "page", "per", "flyout"].contains(&k.as_str()) && !v.trim().is_empty()
            })
            .cloned()
            .collect(),
    };
    format!(
        "/remediation/exceptions.csv{}",
        keep_page(&kept, "page", None)
    )
}

async fn exceptions_tab(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    paging: Paging,
) -> Result<Markup, PageError> {
    let filter = ExceptionFilter::from_params(params)?;
    let (items, total, names) = filtered_exceptions(state, &filter).await?;
    let flyout = match params.get("flyout") {
        Some(id) => Some(
            exception_flyout(state, viewer, params, record_id(id, "exception")?, &names).await?,
        ),
        None => None,
    };
    if total == 0 {
        return Ok(html! {
            (layout::empty_state("No exceptions yet", html! {
                p { "An exception records why a recommendation or a CVE is not remediated for now — "
                    strong { "Third party control" } " or " strong { "Alternate mitigation" } " (scored as mitigated), "
                    strong { "Risk accepted" } " or " strong { "Planned remediation" } " (no score impact), and on CVEs "
                    strong { "CVE with no patch" } " or " strong { "False positive" } " (the finding is removed)." }
                p { "Create one with " em { "Exception options" } " in a recommendation's flyout on the " a href="/recommendations" { "Recommendations" } " page, or on a CVE from the " a href="/weaknesses" { "Weaknesses" } " page. Every exception expires; it can be canceled here at any time." }
            }))
            @if let Some(f) = flyout { (f) }
        });
    }
    let justification_choices: Vec<(&str, &str)> = ALL_JUSTIFICATIONS
        .iter()
        .map(|j| (j.as_str(), j.label()))
        .collect();
    let rows = paging.slice(&items);
    Ok(html! {
        form.filters #exception-filters method="get" action="/remediation" data-live {
            input type="hidden" name="tab" value="exceptions";
            (select_filter("status", "Status", &[("InEffect", "In effect"), ("Expired", "Expired"), ("Canceled", "Canceled")], filter.status.map(ExceptionStatus::as_str)))
            (select_filter("justification", "Justification", &justification_choices, filter.justification.map(Justification::as_str)))
            (select_filter("type", "Type", &[("recommendation", "Recommendation"), ("cve", "CVE")], filter.kind.map(TargetKind::as_str)))
            label for="filter-expiring" {
                "Expiring within (days)"
                input #filter-expiring type="number" min="0" name="expiringWithinDays" value=[params.get("expiringWithinDays")];
            }
            (search_filter("Search target, context or creator", filter.search))
            button type="submit" { "Apply" }
        }
        p #exception-count {
            span.muted { (items.len()) " of " (total) " exceptions" }
            " · " a #export-csv href=(export_href(params)) download { "Export CSV" }
        }
        @if items.is_empty() {
            (layout::empty_state("No exception matches these filters", html! {
                p { a href="/remediation?tab=exceptions" { "Show every exception" } }
            }))
        } @else {
            div.table-wrap {
                table #exceptions {
                    (column_heads(&["Target", "Type", "Justification", "Score effect", "Scope", "Status", "Created", "Expires"]))
                    tbody {
                        @for e in rows {
                            tr {
                                td {
                                    a href=(format!("/remediation{}", keep_page(params, "flyout", Some(&e.id.to_string())))) data-flyout { (exception_target(e, &names)) }
                                    (exception_marks(e))
                                }
                                td { (kind_label(e.exception_type)) }
                                td { (e.justification_label) }
                                td { (score_effect_label(e.score_effect)) }
                                td { (exception_scope(e)) }
                                td { (exception_status_badge(e.status)) (group_statuses(e)) }
                                td { (e.created_by) br; span.muted { (layout::date(e.created_on)) } }
                                td.date { (layout::date(e.expires_on)) }
                            }
                        }
                    }
                }
            }
            (paging.pager(items.len(), params))
        }
        @if let Some(f) = flyout { (f) }
    })
}

fn kind_label(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Recommendation => "Recommendation",
        TargetKind::Cve => "CVE",
    }
}

/// The groups whose status differs from the exception's (one group canceled, the others in effect).
fn group_statuses(e: &ExceptionView) -> Markup {
    html! {
        @for g in e.device_groups.iter().filter(|g| g.status != e.status) {
            br; span.muted { (g.name) ": " (exception_status_badge(g.status)) }
        }
    }
}

async fn exception_flyout(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    id: i64,
    names: &HashMap<String, String>,
) -> Result<Markup, PageError> {
    let e = state.engine.exception(id).await?;
    let audit = state
        .engine
        .audit(&AuditFilter {
            entity: Some("exception".to_string()),
            entity_id: Some(id.to_string()),
            ..AuditFilter::default()
        })
        .await?;
    let close = format!("/remediation{}", keep_page(params, "flyout", None));
    let in_effect = e.status == ExceptionStatus::InEffect;
    let may_cancel = viewer.may(if e.global {
        Action::GlobalException
    } else {
        Action::GroupException
    });
    let action = format!("/remediation/exceptions/{id}/cancel");
    Ok(flyout(
        &close,
        exception_target(&e, names),
        html! {
            p { (exception_status_badge(e.status)) (exception_marks(&e)) }
            dl.facts {
                dt { "Type" } dd { (kind_label(e.exception_type)) }
                dt { "Target" } dd { a #exception-target href=(exception_target_href(&e)) {
                    @match (&e.recommendation_id, &e.cve_id) {
                        (Some(r), _) => { "Open the recommendation “" (names.get(r).map_or(r.as_str(), String::as_str)) "”" }
                        (None, Some(c)) => { "Open the vulnerability " (c) }
                        (None, None) => { "—" }
                    }
                } }
                dt { "Justification" } dd { (e.justification_label) }
                dt { "Score effect" } dd #exception-effect { (score_effect_label(e.score_effect)) }
                dt { "Scope" } dd { @if e.global { "Global: every current and future device group" } @else { (exception_scope(&e)) } }
                dt { "Created" } dd { (e.created_by) " on " (layout::time(e.created_on)) }
                dt { "Expires" } dd { (layout::time(e.expires_on)) }
                @if let (Some(by), Some(on)) = (&e.canceled_by, e.canceled_on) {
                    dt { "Canceled" } dd { (by) " on " (layout::time(on)) }
                }
                dt { "Last covered a finding" } dd { @match e.last_covered_on { Some(t) => { (layout::time(t)) } None => { "never" } } }
            }
            section aria-labelledby="exception-context" {
                h3 #exception-context { "Justification context" }
                p { (e.justification_context) }
            }
            @if e.needs_review {
                section aria-labelledby="exception-review" {
                    h3 #exception-review { "Needs review" }
                    ul { @for r in &e.review_reasons { li { (r) } } }
                    @if e.voided { p { "The policy voided it when it resurfaced." } }
                }
            }
            @if !e.global {
                section aria-labelledby="exception-groups" {
                    h3 #exception-groups { "Device groups" }
                    table #exception-group-table {
                        thead { tr { th scope="col" { "Group" } th scope="col" { "Status" } th scope="col" { span.sr-only { "Action" } } } }
                        tbody {
                            @for g in &e.device_groups {
                                tr {
                                    td { (g.name) }
                                    td {
                                        (exception_status_badge(g.status))
                                        @if g.suspended { " " (layout::badge("Suspended", "info")) }
                                        @if let (Some(by), Some(on)) = (&g.canceled_by, g.canceled_on) { br; span.muted { "by " (by) " on " (layout::date(on)) } }
                                    }
                                    td {
                                        @if in_effect && may_cancel && g.status == ExceptionStatus::InEffect {
                                            form.cancel-group method="post" action=(action) {
                                                (layout::csrf(viewer))
                                                input type="hidden" name="group" value=(g.name);
                                                button.danger type="submit" { "Cancel for " (g.name) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if in_effect && may_cancel {
                form #cancel-exception method="post" action=(action) {
                    (layout::csrf(viewer))
                    p.hint { "Canceling ends the exception now for " (if e.global { "every device group" } else { "all its device groups" }) "; the weaknesses it covered count again." }
                    button.danger type="submit" { "Cancel exception" }
                }
            }
            section aria-labelledby="exception-audit" {
                h3 #exception-audit { "History" }
                @if audit.is_empty() {
                    p.muted { "No audit entries." }
                } @else {
                    table #exception-history {
                        (column_heads(&["When", "Who", "What"]))
                        tbody {
                            @for a in audit.iter().rev() {
                                tr { td { (layout::time(a.at)) } td { (a.actor) } td { code { (a.action) } } }
                            }
                        }
                    }
                    p { a href=(format!("/audit?entity=exception&entityId={id}")) { "Open in the audit log" } }
                }
            }
        },
    ))
}

/// `GET /remediation/exceptions.csv`: the exceptions the tab's filters keep, as the API's CSV.
async fn exceptions_csv(
    State(state): State<AppState>,
    _viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    let filter = ExceptionFilter::from_params(&params)?;
    let (items, _, _) = filtered_exceptions(&state, &filter).await?;
    let values = items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            PageError(crate::error::ApiError::internal(
                "serializing exceptions failed",
                &e,
            ))
        })?;
    Ok(csv_response(&values, "exceptions"))
}

/// `POST /remediation/exceptions/{id}/cancel`: cancels the whole exception, or the device group in
/// the `group` field.
async fn cancel_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    let id = record_id(&id, "exception")?;
    let group = form.get("group").map(str::to_string);
    let e = state
        .engine
        .cancel_exception(&viewer.user, id, group.clone().map(|g| vec![g]))
        .await?;
    let names = recommendation_names(&state, std::slice::from_ref(&e)).await?;
    let target = exception_target(&e, &names);
    let notice = match group {
        Some(g) => format!("Exception canceled for device group {g}: {target}."),
        None => format!("Exception canceled: {target}."),
    };
    Ok(done(
        &viewer,
        &format!("/remediation?tab=exceptions&flyout={id}"),
        &notice,
    ))
}
