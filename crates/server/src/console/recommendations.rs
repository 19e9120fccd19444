//! Security recommendations (`/recommendations`): the list with MDVM's columns and filters, the flyout, and its Exception options and Request remediation forms.
//!
//! The list shows software recommendations and configuration recommendations (failing checks) in
//! one table, as MDVM does. Both forms are plain POST forms (post/redirect/get); the exception form
//! also previews its effect on the exposure score, through `data-preview` with JavaScript and through
//! a "Preview" submit button without it. A form that the engine refuses for its input (400) or for
//! a conflicting exception (409) is shown again, filled in, with the engine's message naming the field.
//!
//! The exception form's pieces ([`ExceptionForm`], [`exception_request`]) serve the CVE exceptions of
//! the weaknesses page too.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use bulwark_core::exception::{
    ALL_JUSTIFICATIONS, DURATION_CHOICES, ExceptionDuration, ExceptionPolicy, ExceptionRequest,
    ExceptionStatus, Justification, ScoreEffect, TargetKind,
};
use bulwark_core::identity::Action;
use bulwark_core::recommendation::Recommendation;
use bulwark_engine::{
    CONFIGURATION_RECOMMENDATION_PREFIX, ConfigurationRecommendation, ExceptionPreview,
    ExceptionView, TaskRequest,
};

use super::layout::{self, ImpactView, Paging, Section};
use super::{Form, PageError, Params, Viewer, done, html_response};
use crate::AppState;
use crate::error::ApiError;

/// Exposed devices (and weaknesses) a flyout lists; the rest are counted.
pub(super) const FLYOUT_ROWS: usize = 20;

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/recommendations", get(list))
        .route("/recommendations/{id}/exception", post(create_exception))
        .route(
            "/recommendations/{id}/exception/preview",
            post(preview_exception),
        )
        .route(
            "/recommendations/{id}/remediation",
            post(request_remediation),
        )
}

/// One row of the list: a software or a configuration recommendation, in the list's terms.
struct Row {
    id: String,
    name: String,
    platform: String,
    weaknesses: Option<u64>,
    component: String,
    public_exploit: bool,
    /// The KEV lines (`CVE-… — name (KEV, ransomware)`); not empty: a KEV badge.
    threats: Vec<String>,
    exposed: u64,
    exposed_after: u64,
    total: u64,
    exposure_impact: f64,
    exposure_impact_after: f64,
    config_impact: f64,
    status: String,
    remediation_type: String,
    category: String,
    tags: Vec<String>,
    severity: f64,
}

impl Row {
    fn software(r: &Recommendation) -> Row {
        Row {
            id: r.id.clone(),
            name: r.recommendation_name.clone(),
            platform: r.vendor.clone(),
            weaknesses: Some(r.weaknesses),
            component: r.related_component.clone(),
            public_exploit: r.public_exploit,
            threats: r.associated_threats.clone(),
            exposed: r.exposed_machines_count,
            exposed_after: r.exposed_machines_count_after_exceptions,
            total: r.total_machine_count,
            exposure_impact: r.exposure_impact,
            exposure_impact_after: r.exposure_impact_after_exceptions,
            config_impact: r.config_score_impact,
            status: r.status.clone(),
            remediation_type: format!("{:?}", r.remediation_type),
            category: r.recommendation_category.clone(),
            tags: r.tags.clone(),
            severity: r.severity_score,
        }
    }

    fn configuration(r: &ConfigurationRecommendation) -> Row {
        Row {
            id: r.id.clone(),
            name: r.recommendation_name.clone(),
            platform: "Linux".to_string(),
            weaknesses: None,
            component: r.check_id.clone(),
            public_exploit: false,
            threats: Vec::new(),
            exposed: r.exposed_machines_count,
            exposed_after: r.exposed_machines_count_after_exceptions,
            total: r.total_machine_count,
            exposure_impact: r.exposure_impact,
            exposure_impact_after: r.exposure_impact,
            config_impact: r.config_score_impact,
            status: r.status.clone(),
            remediation_type: r.remediation_type.clone(),
            category: r.recommendation_category.as_str().to_string(),
            tags: Vec::new(),
            severity: r.severity_score,
        }
    }
}

/// The label of a recommendation status (`PartialException` → "Partial exception").
pub(super) fn status_label(status: &str) -> &str {
    match status {
        "PartialException" => "Partial exception",
        other => other,
    }
}

fn status_badge(status: &str) -> Markup {
    let kind = match status {
        "Active" => "info",
        "Exception" => "ok",
        _ => "warn",
    };
    layout::badge(status_label(status), kind)
}

/// The label of an exception's effect on the scores, as the impact columns name it.
pub(super) fn effect_label(effect: ScoreEffect) -> &'static str {
    match effect {
        ScoreEffect::NoImpact => "No impact",
        ScoreEffect::Mitigated => "Mitigation-like",
        ScoreEffect::Removed => "Removed (false positive)",
    }
}

/// What each justification does to the scores, in a sentence.
fn effect_sentence(j: Justification) -> &'static str {
    match j.effect() {
        ScoreEffect::Mitigated => {
            "mitigation-like: the exposure score counts the covered weaknesses as remediated"
        }
        ScoreEffect::NoImpact => {
            "no score impact: hidden from the default lists, the exposure score is unchanged"
        }
        ScoreEffect::Removed => {
            "removes the finding: it leaves the lists and the scores as if it never existed"
        }
    }
}

/// A path segment with everything but unreserved characters percent-encoded (ids may hold `/`).
pub(super) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query string of `params` with `set` applied (each name replaced, `None` removed), keeping
/// the page, so opening a flyout stays on the same page of the list.
pub(super) fn query_with(params: &Params, set: &[(&str, Option<&str>)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .pairs()
        .iter()
        .filter(|(k, _)| !set.iter().any(|(name, _)| name == k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend(set.iter().filter_map(|(k, v)| v.map(|v| (*k, v))));
    if pairs.is_empty() {
        return String::new();
    }
    format!(
        "?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// `params` without the flyout, for the list's own links (sorting, paging).
pub(super) fn without_flyout(params: &Params) -> Params {
    Params {
        pairs: params
            .pairs()
            .iter()
            .filter(|(k, _)| k != "flyout")
            .cloned()
            .collect(),
    }
}

/// The list's filters, from the query; values outside the offered ones are a 400 naming the
/// parameter.
struct Filters {
    /// `None`: the default (everything but status Exception); `Some("any")`: every status.
    status: Option<String>,
    remediation: Option<String>,
    category: Option<String>,
    exploit: bool,
    kev: bool,
    tag: Option<String>,
    q: Option<String>,
}

const STATUSES: [(&str, &str); 4] = [
    ("Active", "Active"),
    ("PartialException", "Partial exception"),
    ("Exception", "Exception"),
    ("any", "Any status"),
];
const REMEDIATION_TYPES: [&str; 4] = ["Update", "Upgrade", "Uninstall", "ConfigurationChange"];
const CATEGORIES: [&str; 5] = [
    "Application",
    "OS",
    "Network",
    "Accounts",
    "SecurityControls",
];

fn one_of(params: &Params, name: &str, allowed: &[&str]) -> Result<Option<String>, PageError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        Some(v) => Err(PageError::bad_request(format!(
            "query parameter {name}: {v:?} is not one of {}",
            allowed.join(", ")
        ))),
    }
}

impl Filters {
    fn from_params(params: &Params) -> Result<Filters, PageError> {
        let statuses: Vec<&str> = STATUSES.iter().map(|(v, _)| *v).collect();
        let mut exploit = false;
        let mut kev = false;
        for threat in params.all("threat") {
            match threat {
                "exploit" => exploit = true,
                "kev" => kev = true,
                other => {
                    return Err(PageError::bad_request(format!(
                        "query parameter threat: {other:?} is not one of exploit, kev"
                    )));
                }
            }
        }
        Ok(Filters {
            status: one_of(params, "status", &statuses)?,
            remediation: one_of(params, "type", &REMEDIATION_TYPES)?,
            category: one_of(params, "category", &CATEGORIES)?,
            exploit,
            kev,
            tag: params.get("tag").map(str::to_string),
            q: params.get("q").map(|q| q.trim().to_lowercase()),
        })
    }

    fn keeps(&self, row: &Row) -> bool {
        let status = match self.status.as_deref() {
            None => row.status != "Exception",
            Some("any") => true,
            Some(s) => row.status == s,
        };
        status
            && self
                .remediation
                .as_ref()
                .is_none_or(|t| *t == row.remediation_type)
            && self.category.as_ref().is_none_or(|c| *c == row.category)
            && (!self.exploit || row.public_exploit)
            && (!self.kev || !row.threats.is_empty())
            && self.tag.as_ref().is_none_or(|t| row.tags.contains(t))
            && self.q.as_ref().is_none_or(|q| {
                [&row.name, &row.platform, &row.component, &row.id]
                    .iter()
                    .any(|f| f.to_lowercase().contains(q))
            })
    }
}

/// Sorts the rows as `sort` and `dir` ask; no `sort` keeps the engine's order (most severe and
/// exposed first).
fn sort_rows(rows: &mut [Row], params: &Params) -> Result<(), PageError> {
    let Some(key) = params.get("sort") else {
        return Ok(());
    };
    let by: fn(&Row, &Row) -> std::cmp::Ordering = match key {
        "name" => |a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()),
        "platform" => |a, b| a.platform.cmp(&b.platform),
        "weaknesses" => |a, b| a.weaknesses.cmp(&b.weaknesses),
        "component" => |a, b| a.component.cmp(&b.component),
        "exposed" => |a, b| a.exposed.cmp(&b.exposed),
        "exposed_after" => |a, b| a.exposed_after.cmp(&b.exposed_after),
        "impact" => |a, b| {
            a.exposure_impact
                .total_cmp(&b.exposure_impact)
                .then(a.config_impact.total_cmp(&b.config_impact))
        },
        "impact_after" => |a, b| {
            a.exposure_impact_after
                .total_cmp(&b.exposure_impact_after)
                .then(a.config_impact.total_cmp(&b.config_impact))
        },
        "status" => |a, b| a.status.cmp(&b.status),
        "type" => |a, b| a.remediation_type.cmp(&b.remediation_type),
        "severity" => |a, b| a.severity.total_cmp(&b.severity),
        other => {
            return Err(PageError::bad_request(format!(
                "query parameter sort: {other:?} is not a column of this list"
            )));
        }
    };
    let descending = params.get("dir") == Some("desc");
    rows.sort_by(|a, b| {
        let order = by(a, b).then_with(|| a.id.cmp(&b.id));
        if descending { order.reverse() } else { order }
    });
    Ok(())
}

/// The exceptions in effect on each recommendation, by recommendation id.
fn in_effect_by_recommendation(
    exceptions: &[ExceptionView],
) -> BTreeMap<&str, Vec<&ExceptionView>> {
    let mut map: BTreeMap<&str, Vec<&ExceptionView>> = BTreeMap::new();
    for e in exceptions {
        if e.status == ExceptionStatus::InEffect
            && let Some(id) = e.recommendation_id.as_deref()
        {
            map.entry(id).or_default().push(e);
        }
    }
    map
}

/// The distinct score effects of some exceptions, as labels ("No impact", "Mitigation-like").
fn effects(exceptions: &[&ExceptionView]) -> Vec<&'static str> {
    let set: BTreeSet<ScoreEffect> = exceptions.iter().map(|e| e.score_effect).collect();
    set.into_iter().map(effect_label).collect()
}

/// An impact cell: the exposure score's drop and the secure score's rise.
fn impact(exposure: f64, config: f64) -> Markup {
    html! {
        @if exposure > 0.0 || config <= 0.0 {
            span.impact-exposure { "↓ " (layout::score(exposure)) span.sr-only { " exposure score" } }
        }
        @if config > 0.0 {
            " "
            span.impact-config { "↑ " (layout::score(config)) span.sr-only { " secure score" } }
        }
    }
}

/// What the flyout shows besides the recommendation: a form as submitted, with the engine's answer.
#[derive(Default)]
struct FlyoutState<'a> {
    /// The exception form (a preview, or a refused submission).
    exception: Submitted<'a>,
    /// The remediation form as submitted and why it was refused.
    remediation: Option<(&'a Form, String)>,
}

/// An exception form as submitted, shown again: with its preview, or why it was refused.
#[derive(Default)]
pub(super) struct Submitted<'a> {
    /// The submitted values.
    pub form: Option<&'a Form>,
    /// The preview: the figures, or why there are none.
    pub preview: Option<Result<ExceptionPreview, String>>,
    /// Why the submission was refused.
    pub error: Option<String>,
}

/// `GET /recommendations`: the list, and the flyout `flyout=ID` names.
async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    render(&state, &viewer, &params, FlyoutState::default()).await
}

/// The list page (with its flyout when `flyout` names one).
async fn render(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    flyout: FlyoutState<'_>,
) -> Result<Response, PageError> {
    let view = ImpactView::from_params(params)?;
    let filters = Filters::from_params(params)?;
    let paging = Paging::from_params(params)?;
    let engine = &state.engine;
    let software = engine.recommendations().await?;
    let configuration = engine.configuration_recommendations().await?;
    let exceptions = engine.exceptions().await?;
    let in_effect = in_effect_by_recommendation(&exceptions);

    let mut tags: BTreeSet<&str> = BTreeSet::new();
    for r in &software {
        tags.extend(r.tags.iter().map(String::as_str));
    }
    let all_rows: Vec<Row> = software
        .iter()
        .map(Row::software)
        .chain(configuration.iter().map(Row::configuration))
        .collect();
    let total_known = all_rows.len();
    let mut rows: Vec<Row> = all_rows.into_iter().filter(|r| filters.keeps(r)).collect();
    sort_rows(&mut rows, params)?;
    let hidden_exceptions = if filters.status.is_none() {
        software.iter().filter(|r| r.status == "Exception").count()
            + configuration
                .iter()
                .filter(|r| r.status == "Exception")
                .count()
    } else {
        0
    };

    let flyout_markup = match params.get("flyout") {
        None => None,
        Some(id) => Some(
            flyout_markup(
                state,
                viewer,
                params,
                id,
                &software,
                &configuration,
                &exceptions,
                flyout,
            )
            .await?,
        ),
    };

    let list_params = without_flyout(params);
    let page_rows = paging.slice(&rows);
    let show_before = matches!(view, ImpactView::NoImpact | ImpactView::Hybrid);
    let show_after = matches!(view, ImpactView::MitigationLike | ImpactView::Hybrid);
    let content = html! {
        h1 { "Security recommendations" }
        @if total_known == 0 {
            (layout::empty_state("No security recommendations yet", html! {
                p { "Recommendations appear when a device reports vulnerable software or a failing configuration check. To begin:" }
                (layout::getting_started())
            }))
        } @else {
            (layout::impact_switch(&list_params, view))
            (filter_form(params, &filters, &tags))
            @if hidden_exceptions > 0 {
                p.hint #hidden-exceptions {
                    (hidden_exceptions) " recommendation" (if hidden_exceptions == 1 { " is" } else { "s are" })
                    " fully covered by exceptions and hidden. "
                    a href=(format!("/recommendations{}", query_with(&list_params, &[("status", Some("Exception")), ("page", None)]))) { "Show exceptions" }
                }
            }
            @if rows.is_empty() {
                (layout::empty_state("No recommendation matches these filters", html! {
                    p { a href="/recommendations" { "Clear the filters" } " to see every recommendation." }
                }))
            } @else {
                div.table-wrap {
                    table #recommendations {
                        caption.sr-only { "Security recommendations" }
                        thead { tr {
                            (layout::sort_header("Security recommendation", "name", &list_params))
                            (layout::sort_header("OS platform", "platform", &list_params))
                            (layout::sort_header("Weaknesses", "weaknesses", &list_params))
                            (layout::sort_header("Related component", "component", &list_params))
                            th scope="col" { "Threats" }
                            (layout::sort_header("Exposed devices", "exposed", &list_params))
                            (layout::sort_header("Exposed devices (after exceptions)", "exposed_after", &list_params))
                            @if show_before { (layout::sort_header("Impact", "impact", &list_params)) }
                            @if show_after { (layout::sort_header("Impact (after exceptions)", "impact_after", &list_params)) }
                            th scope="col" { "Exception impact" }
                            (layout::sort_header("Status", "status", &list_params))
                            (layout::sort_header("Remediation type", "type", &list_params))
                            th scope="col" { "Tags" }
                        } }
                        tbody {
                            @for row in page_rows {
                                @let covering = in_effect.get(row.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                                tr data-id=(row.id) {
                                    td { a href=(format!("/recommendations{}", query_with(params, &[("flyout", Some(&row.id))]))) data-flyout { (row.name) } }
                                    td { (row.platform) }
                                    td.num { @if let Some(w) = row.weaknesses { (w) } @else { "—" } }
                                    td { (row.component) }
                                    td {
                                        @if row.public_exploit { (layout::badge("Public exploit", "high")) " " }
                                        @if !row.threats.is_empty() {
                                            span title=(row.threats.join("; ")) { (layout::badge("KEV", "critical")) }
                                        }
                                    }
                                    td.num.exposed { (row.exposed) "/" (row.total) }
                                    td.num.exposed-after { (row.exposed_after) "/" (row.total) }
                                    @if show_before { td.num.impact { (impact(row.exposure_impact, row.config_impact)) } }
                                    @if show_after { td.num.impact-after { (impact(row.exposure_impact_after, row.config_impact)) } }
                                    td.exception-impact {
                                        @if covering.is_empty() { span.muted { "—" } } @else { (effects(covering).join(", ")) }
                                    }
                                    td.status { (status_badge(&row.status)) }
                                    td { (row.remediation_type) }
                                    td { (row.tags.join(", ")) }
                                }
                            }
                        }
                    }
                }
                (paging.pager(rows.len(), &list_params))
            }
        }
        @if let Some(markup) = flyout_markup { (markup) }
    };
    Ok(html_response(layout::page(
        viewer,
        Section::Recommendations,
        "Security recommendations",
        content,
    )))
}

/// The GET filter form (applies as it changes with JavaScript; "Apply" without).
fn filter_form(params: &Params, filters: &Filters, tags: &BTreeSet<&str>) -> Markup {
    let status = filters.status.as_deref().unwrap_or("");
    html! {
        form.filters #recommendation-filters method="get" action="/recommendations" data-live role="search" {
            (layout::carry(params, &["status", "type", "category", "threat", "tag", "q", "page", "flyout"]))
            label for="filter-q" { "Search"
                input #filter-q type="search" name="q" value=[params.get("q")] placeholder="Name, component, platform";
            }
            label for="filter-status" { "Status"
                select #filter-status name="status" {
                    option value="" selected[status.is_empty()] { "Active and partial exceptions" }
                    @for (value, label) in STATUSES {
                        option value=(value) selected[status == value] { (label) }
                    }
                }
            }
            label for="filter-type" { "Remediation type"
                select #filter-type name="type" {
                    option value="" { "Any" }
                    @for t in REMEDIATION_TYPES {
                        option value=(t) selected[filters.remediation.as_deref() == Some(t)] { (t) }
                    }
                }
            }
            label for="filter-category" { "Category"
                select #filter-category name="category" {
                    option value="" { "Any" }
                    @for c in CATEGORIES {
                        option value=(c) selected[filters.category.as_deref() == Some(c)] { (c) }
                    }
                }
            }
            fieldset {
                legend { "Threats" }
                label.choice for="filter-exploit" {
                    input #filter-exploit type="checkbox" name="threat" value="exploit" checked[filters.exploit];
                    "Exploit available"
                }
                label.choice for="filter-kev" {
                    input #filter-kev type="checkbox" name="threat" value="kev" checked[filters.kev];
                    "Known exploited (KEV)"
                }
            }
            label for="filter-tag" { "Tag"
                select #filter-tag name="tag" {
                    option value="" { "Any" }
                    @for t in tags {
                        option value=(t) selected[filters.tag.as_deref() == Some(*t)] { (t) }
                    }
                }
            }
            button type="submit" { "Apply" }
        }
    }
}

/// The recommendation a flyout or form is about: a software or a configuration recommendation.
enum Target<'a> {
    Software(&'a Recommendation),
    Configuration(&'a ConfigurationRecommendation),
}

fn find<'a>(
    id: &str,
    software: &'a [Recommendation],
    configuration: &'a [ConfigurationRecommendation],
) -> Result<Target<'a>, PageError> {
    if let Some(r) = software.iter().find(|r| r.id == id) {
        return Ok(Target::Software(r));
    }
    if id.starts_with(CONFIGURATION_RECOMMENDATION_PREFIX)
        && let Some(r) = configuration.iter().find(|r| r.id == id)
    {
        return Ok(Target::Configuration(r));
    }
    Err(PageError::not_found(format!(
        "recommendation {id} not found"
    )))
}

/// The flyout of one recommendation: what it is, its weaknesses and exposed devices, the exceptions
/// and activities on it, and its two forms.
#[allow(clippy::too_many_arguments)]
async fn flyout_markup(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    id: &str,
    software: &[Recommendation],
    configuration: &[ConfigurationRecommendation],
    exceptions: &[ExceptionView],
    flyout: FlyoutState<'_>,
) -> Result<Markup, PageError> {
    let engine = &state.engine;
    let target = find(id, software, configuration)?;
    let close = format!(
        "/recommendations{}",
        query_with(params, &[("flyout", None)])
    );
    let list_query = query_with(params, &[("flyout", None)]);
    let covering: Vec<&ExceptionView> = exceptions
        .iter()
        .filter(|e| {
            e.status == ExceptionStatus::InEffect && e.recommendation_id.as_deref() == Some(id)
        })
        .collect();
    let policy = engine.exception_policy().await?;
    let descriptions: BTreeMap<String, String> = engine
        .device_groups()
        .await?
        .into_iter()
        .map(|g| (g.name, g.description))
        .collect();

    let (title, facts, devices, weaknesses, exposed_groups) = match target {
        Target::Software(r) => {
            let machines = engine.recommendation_machines(id).await?;
            let mut vulns = engine.recommendation_vulnerabilities(id).await?;
            vulns.sort_by(|a, b| {
                b.cvss_v3
                    .unwrap_or(0.0)
                    .total_cmp(&a.cvss_v3.unwrap_or(0.0))
                    .then_with(|| a.id.cmp(&b.id))
            });
            let groups = group_counts(
                machines
                    .iter()
                    .filter(|m| m.is_active)
                    .map(|m| m.rbac_group_name.as_str()),
            );
            let facts = html! {
                dl.facts #recommendation-facts {
                    dt { "Status" } dd #flyout-status { (status_badge(&r.status)) }
                    dt { "Product" } dd { (r.product_name) " (" (r.vendor) ")" }
                    dt { "Installed versions" } dd { (r.installed_versions.join(", ")) }
                    dt { "Recommended version" } dd { (r.recommended_version.as_deref().unwrap_or("no fixed version known")) }
                    @if !r.unfixed_weaknesses.is_empty() {
                        dt { "Not fixed by it" } dd { (r.unfixed_weaknesses.join(", ")) }
                    }
                    dt { "Remediation type" } dd { (format!("{:?}", r.remediation_type)) }
                    dt { "Category" } dd { (r.recommendation_category) }
                    dt { "Severity score" } dd { (layout::score(r.severity_score)) }
                    dt { "Exposed devices" } dd #flyout-exposed { (r.exposed_machines_count) " of " (r.total_machine_count) " with the product" }
                    dt { "Exposed devices (after exceptions)" } dd #flyout-exposed-after { (r.exposed_machines_count_after_exceptions) }
                    dt { "Critical devices exposed" } dd { (r.exposed_critical_devices) }
                    dt { "Impact" } dd #flyout-impact { (impact(r.exposure_impact, r.config_score_impact)) " (if remediated on every exposed device)" }
                    dt { "Impact (after exceptions)" } dd #flyout-impact-after { (impact(r.exposure_impact_after_exceptions, r.config_score_impact)) " (on the devices no exception covers)" }
                    dt { "Threats" } dd {
                        @if r.public_exploit { (layout::badge("Public exploit", "high")) " " }
                        @if r.associated_threats.is_empty() { @if !r.public_exploit { "No known exploit" } }
                        @else { ul { @for t in &r.associated_threats { li { (layout::badge("KEV", "critical")) " " (t) } } } }
                    }
                    @if !r.tags.is_empty() { dt { "Tags" } dd { (r.tags.join(", ")) } }
                }
            };
            let weaknesses = html! {
                section aria-labelledby="flyout-weaknesses" {
                    h3 #flyout-weaknesses { "Weaknesses (" (vulns.len()) ")" }
                    div.table-wrap { table {
                        thead { tr {
                            th scope="col" { "Vulnerability" } th scope="col" { "Severity" } th scope="col" .num { "CVSS" }
                            th scope="col" .num { "EPSS" } th scope="col" { "Threats" } th scope="col" .num { "Exposed devices" }
                        } }
                        tbody {
                            @for v in vulns.iter().take(FLYOUT_ROWS) {
                                tr {
                                    td { a href=(format!("/weaknesses{}", query_with(&Params::default(), &[("flyout", Some(&v.id))]))) { (v.id) } }
                                    td { (layout::severity_badge(&v.severity)) }
                                    td.num { @if let Some(s) = v.cvss_v3 { (format!("{s:.1}")) } @else { "—" } }
                                    td.num { (epss(v.epss, v.epss_percentile)) }
                                    td {
                                        @if v.exploit_verified { (layout::badge("KEV", "critical")) " " }
                                        @if v.public_exploit { (layout::badge("Public exploit", "high")) }
                                    }
                                    td.num { (v.exposed_machines) }
                                }
                            }
                        }
                    } }
                    @if vulns.len() > FLYOUT_ROWS {
                        p.hint { "Showing the " (FLYOUT_ROWS) " most severe of " (vulns.len()) "; " a href=(format!("/weaknesses{}", query_with(&Params::default(), &[("recommendation", Some(&r.id))]))) { "all its weaknesses" } "." }
                    }
                }
            };
            let devices = devices_section(
                machines.len(),
                machines.iter().take(FLYOUT_ROWS).map(|m| DeviceLine {
                    name: &m.computer_dns_name,
                    group: &m.rbac_group_name,
                    detail: html! { (layout::level_badge(m.exposure_level)) },
                }),
            );
            (
                r.recommendation_name.clone(),
                facts,
                devices,
                weaknesses,
                groups,
            )
        }
        Target::Configuration(r) => {
            let machines = engine.configuration_recommendation_machines(id).await?;
            let groups = group_counts(machines.iter().map(|m| m.rbac_group_name.as_str()));
            let facts = html! {
                dl.facts #recommendation-facts {
                    dt { "Status" } dd #flyout-status { (status_badge(&r.status)) }
                    dt { "Check" } dd { (r.check_id) }
                    @if let Some(control) = &r.control { dt { "Benchmark control" } dd { (control) } }
                    dt { "Category" } dd { (r.recommendation_category.as_str()) }
                    dt { "Weight" } dd { (layout::score(r.severity_score)) }
                    dt { "Exposed devices" } dd #flyout-exposed { (r.exposed_machines_count) " of " (r.total_machine_count) " assessed" }
                    dt { "Exposed devices (after exceptions)" } dd #flyout-exposed-after { (r.exposed_machines_count_after_exceptions) }
                    dt { "Impact" } dd #flyout-impact { (impact(0.0, r.config_score_impact)) " (secure score, if fixed on every failing device)" }
                }
                @if !r.description.is_empty() { p { (r.description) } }
                @if !r.remediation.is_empty() { h3 { "Remediation" } p { (r.remediation) } }
            };
            let devices = devices_section(
                machines.len(),
                machines.iter().take(FLYOUT_ROWS).map(|m| DeviceLine {
                    name: &m.computer_dns_name,
                    group: &m.rbac_group_name,
                    detail: html! {
                        @for e in &m.evidence { span.muted { (e.item) ": " (e.value) } br; }
                    },
                }),
            );
            (
                r.recommendation_name.clone(),
                facts,
                devices,
                html! {},
                groups,
            )
        }
    };

    let covered_groups: BTreeMap<&str, i64> = covering
        .iter()
        .flat_map(|e| {
            e.device_groups
                .iter()
                .filter(|g| g.status == ExceptionStatus::InEffect)
                .map(|g| (g.name.as_str(), e.id))
        })
        .collect();
    let global = covering.iter().find(|e| e.global).map(|e| e.id);
    let choices: Vec<GroupChoice> = exposed_groups
        .iter()
        .map(|(name, devices)| GroupChoice {
            name: name.clone(),
            devices: *devices,
            description: descriptions.get(name).cloned().unwrap_or_default(),
            excepted_by: covered_groups.get(name.as_str()).copied(),
        })
        .collect();
    let enc = segment(id);
    let exception_form = ExceptionForm {
        form_id: "exception-form",
        action: format!("/recommendations/{enc}/exception{list_query}"),
        preview: format!("/recommendations/{enc}/exception/preview{list_query}"),
        kind: TargetKind::Recommendation,
        groups: &choices,
        global_in_effect: global,
        policy: &policy,
    };
    let tasks: Vec<_> = if matches!(target, Target::Software(_)) {
        engine
            .tasks()
            .await?
            .into_iter()
            .filter(|t| {
                t.recommendation_id == id
                    && t.status == bulwark_core::remediation::TaskStatus::Active
            })
            .collect()
    } else {
        Vec::new()
    };

    Ok(html! {
        aside #flyout .flyout role="dialog" aria-labelledby="flyout-title" {
            header {
                h2 #flyout-title { (title) }
                a data-close href=(close) aria-label="Close" { "✕ Close" }
            }
            (facts)
            (exceptions_section(&covering))
            (weaknesses)
            (devices)
            @if viewer.may(Action::GroupException) {
                (exception_form.render(viewer, &flyout.exception))
            } @else {
                p.hint { "Your role may not create exceptions." }
            }
            @if let Target::Software(r) = target {
                (tasks_section(&tasks))
                @if viewer.may(Action::ManageActivities) {
                    (remediation_form(viewer, r, &list_query, &choices, flyout.remediation))
                }
            }
        }
    })
}

/// Groups with their device counts, by name.
fn group_counts<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for name in names {
        *counts.entry(name.to_string()).or_default() += 1;
    }
    counts
}

/// EPSS as "12.3%" over "95th percentile".
pub(super) fn epss(probability: Option<f64>, percentile: Option<f64>) -> Markup {
    html! {
        @match probability {
            Some(p) => {
                (format!("{:.1}%", p * 100.0))
                @if let Some(pct) = percentile { br; span.muted { (layout::percentile(pct)) " percentile" } }
            }
            None => { span.muted { "—" } }
        }
    }
}

/// One exposed device in a flyout.
pub(super) struct DeviceLine<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its group.
    pub group: &'a str,
    /// What else the row shows.
    pub detail: Markup,
}

/// The exposed devices of a flyout: the first [`FLYOUT_ROWS`] and how many there are.
pub(super) fn devices_section<'a>(
    total: usize,
    first: impl Iterator<Item = DeviceLine<'a>>,
) -> Markup {
    html! {
        section aria-labelledby="flyout-devices" {
            h3 #flyout-devices { "Exposed devices (" (total) ")" }
            @if total == 0 {
                p.muted { "No device is exposed." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Device" } th scope="col" { "Device group" } th scope="col" { "Details" } } }
                    tbody {
                        @for d in first {
                            tr { td { (d.name) } td { (d.group) } td { (d.detail) } }
                        }
                    }
                } }
                @if total > FLYOUT_ROWS {
                    p.hint #flyout-devices-more { "Showing " (FLYOUT_ROWS) " of " (total) " exposed devices." }
                }
            }
        }
    }
}

/// The exceptions in effect on the flyout's target, each linked to the Remediation page.
pub(super) fn exceptions_section(covering: &[&ExceptionView]) -> Markup {
    html! {
        section aria-labelledby="flyout-exceptions" {
            h3 #flyout-exceptions { "Exceptions in effect" }
            @if covering.is_empty() {
                p.muted { "None." }
            } @else {
                ul #flyout-exception-list {
                    @for e in covering {
                        li {
                            a href=(format!("/remediation?tab=exceptions&flyout={}", e.id)) { "Exception #" (e.id) }
                            ": " (e.justification_label) " — " strong.exception-effect { (effect_label(e.score_effect)) }
                            ", "
                            @if e.global { "global" } @else {
                                "device groups "
                                (e.device_groups.iter().filter(|g| g.status == ExceptionStatus::InEffect).map(|g| g.name.as_str()).collect::<Vec<_>>().join(", "))
                            }
                            @if e.device_groups.iter().any(|g| g.suspended) { " (suspended by a global exception)" }
                            ", until " (layout::date(e.expires_on))
                            @if e.needs_review { " " (layout::badge("Needs review", "warn")) }
                        }
                    }
                }
            }
        }
    }
}

/// The remediation activities open on a recommendation.
fn tasks_section(tasks: &[bulwark_engine::TaskView]) -> Markup {
    html! {
        section aria-labelledby="flyout-activities" {
            h3 #flyout-activities { "Remediation activities" }
            @if tasks.is_empty() {
                p.muted { "None open." }
            } @else {
                ul {
                    @for t in tasks {
                        li {
                            a href=(format!("/remediation?tab=activities&flyout={}", t.id)) { "Activity #" (t.id) }
                            ": priority " (t.priority.as_str()) ", "
                            @if let Some(due) = t.due_on { "due " (layout::date(due)) } @else { "attention required" }
                            ", " (t.fixed_devices) " of " (t.target_devices) " devices fixed"
                        }
                    }
                }
                p { a href="/remediation?tab=activities" { "All remediation activities" } }
            }
        }
    }
}

/// A device group offered by a form, with how many exposed devices it holds.
pub(super) struct GroupChoice {
    /// Its name.
    pub name: String,
    /// Exposed devices in it.
    pub devices: u64,
    /// Its description.
    pub description: String,
    /// The device-group exception already in effect on it, which the form does not offer again.
    pub excepted_by: Option<i64>,
}

/// The "Exception options" form of a recommendation or a CVE.
pub(super) struct ExceptionForm<'a> {
    /// The form's id (`exception-form`, `cve-exception-form`).
    pub form_id: &'static str,
    /// Where it is submitted (with the list's query, to come back to it).
    pub action: String,
    /// Where it is previewed.
    pub preview: String,
    /// Recommendation or CVE (which justifications it offers).
    pub kind: TargetKind,
    /// The groups with exposed devices.
    pub groups: &'a [GroupChoice],
    /// A global exception in effect on the target.
    pub global_in_effect: Option<i64>,
    /// The policy (longest duration and context).
    pub policy: &'a ExceptionPolicy,
}

impl ExceptionForm<'_> {
    /// The form, filled in again when it was submitted, with the preview or the refusal.
    pub(super) fn render(&self, viewer: &Viewer, submitted: &Submitted<'_>) -> Markup {
        let values = submitted.form;
        let preview = submitted.preview.as_ref();
        let error = submitted.error.as_deref();
        let value = |name: &str| values.and_then(|f| f.get(name));
        let scope = value("scope").unwrap_or("groups");
        let chosen: Vec<&str> = values.map(|f| f.all("groups")).unwrap_or_default();
        let justification = value("justification").unwrap_or("");
        let duration = value("duration").unwrap_or("30");
        let may_global = viewer.may(Action::GlobalException);
        let justifications: Vec<Justification> = ALL_JUSTIFICATIONS
            .into_iter()
            .filter(|j| j.allowed_on(self.kind))
            .collect();
        let durations: Vec<u32> = DURATION_CHOICES
            .into_iter()
            .filter(|d| *d <= self.policy.max_duration_days)
            .collect();
        let id = self.form_id;
        html! {
            section aria-labelledby=(format!("{id}-title")) {
                h3 id=(format!("{id}-title")) { "Exception options" }
                form.stack id=(id) method="post" action=(self.action) data-preview=(self.preview) {
                    (layout::csrf(viewer))
                    @if let Some(message) = error {
                        p.error-message role="alert" id=(format!("{id}-error")) { (message) }
                    }
                    @if let Some(g) = self.global_in_effect {
                        p.hint { "Global exception #" (g) " is in effect: new device-group exceptions start suspended and apply when it ends." }
                    }
                    fieldset {
                        legend { "Scope" }
                        label.choice for=(format!("{id}-scope-global")) {
                            input id=(format!("{id}-scope-global")) type="radio" name="scope" value="global"
                                checked[scope == "global"] disabled[!may_global];
                            "Global: every current and future device group"
                            @if !may_global { span.muted { " (administrators only)" } }
                        }
                        label.choice for=(format!("{id}-scope-groups")) {
                            input id=(format!("{id}-scope-groups")) type="radio" name="scope" value="groups" checked[scope != "global"];
                            "Selected device groups (current groups only)"
                        }
                        @if self.groups.is_empty() {
                            p.muted { "No device group has an exposed device." }
                        }
                        @for (i, g) in self.groups.iter().enumerate() {
                            @let field = format!("{id}-group-{i}");
                            label.choice for=(field) {
                                input id=(field) type="checkbox" name="groups" value=(g.name)
                                    checked[chosen.contains(&g.name.as_str())] disabled[g.excepted_by.is_some()];
                                (g.name) " (" (g.devices) " exposed device" (if g.devices == 1 { "" } else { "s" }) ")"
                                @if let Some(e) = g.excepted_by { span.muted { " — already excepted by exception #" (e) } }
                                @if !g.description.is_empty() { span.muted { " — " (g.description) } }
                            }
                        }
                    }
                    label for=(format!("{id}-justification")) { "Justification"
                        select id=(format!("{id}-justification")) name="justification" required
                            aria-describedby=(format!("{id}-justification-help")) {
                            option value="" selected[justification.is_empty()] { "Choose a justification" }
                            @for j in &justifications {
                                option value=(j.as_str()) selected[justification == j.as_str()] {
                                    (j.label()) " — " (effect_label(j.effect()))
                                }
                            }
                        }
                    }
                    dl.facts id=(format!("{id}-justification-help")) {
                        @for j in &justifications {
                            dt { (j.label()) } dd { (effect_sentence(*j)) }
                        }
                    }
                    label for=(format!("{id}-context")) { "Justification context"
                        textarea id=(format!("{id}-context")) name="context" required maxlength=(self.policy.max_context_chars)
                            placeholder="Why, and what covers the risk meanwhile" { (value("context").unwrap_or("")) }
                    }
                    label for=(format!("{id}-duration")) { "Duration"
                        select id=(format!("{id}-duration")) name="duration" {
                            @for d in &durations {
                                option value=(d) selected[duration == d.to_string()] { (d) " days" }
                            }
                        }
                    }
                    label for=(format!("{id}-until")) { "Or until (a date, UTC; overrides the duration)"
                        input type="date" id=(format!("{id}-until")) name="until" value=(value("until").unwrap_or(""));
                    }
                    @if durations.len() < DURATION_CHOICES.len() {
                        p.hint { "The exception policy allows at most " (self.policy.max_duration_days) " days." }
                    }
                    div.preview id=(format!("{id}-preview")) data-preview-target aria-live="polite" {
                        (preview_block(preview))
                    }
                    div {
                        button type="submit" formaction=(self.preview) formnovalidate { "Preview" }
                        " "
                        button.primary type="submit" { "Submit" }
                    }
                }
            }
        }
    }
}

/// The score change a previewed exception would cause, or why it cannot be previewed.
fn preview_block(preview: Option<&Result<ExceptionPreview, String>>) -> Markup {
    html! {
        @match preview {
            None => p.hint { "Choose a scope and a justification to see how the exposure score would change." }
            Some(Err(message)) => p.error-message role="alert" { (message) }
            Some(Ok(p)) => {
                dl.facts.preview-figures {
                    dt { "Exposure score" }
                    dd.preview-score {
                        span.preview-before { (layout::score(p.exposure_score_before)) }
                        " → "
                        span.preview-after { (layout::score(p.exposure_score_after)) }
                        " (" (if p.exposure_score_change > 0.0 { "+" } else { "" }) (layout::score(p.exposure_score_change)) ")"
                    }
                    dt { "Covered devices" } dd.preview-devices { (p.covered_devices) }
                    dt { "Covered weaknesses" } dd.preview-weaknesses { (p.covered_weaknesses) }
                    @if let Some(status) = &p.recommendation_status {
                        dt { "Status after" } dd.preview-status { (status_label(status)) }
                    }
                }
                @if p.exposure_score_change == 0.0 {
                    p.hint { "This justification does not change the exposure score; the weaknesses stay counted." }
                }
            }
        }
    }
}

/// Rewrites the engine's names of exception fields (the API's) into the form's, so a refusal names
/// the field the user sees.
pub(super) fn form_field_names(message: &str) -> String {
    const NAMES: [(&str, &str); 6] = [
        ("justificationContext:", "context (Justification context):"),
        ("durationDays:", "duration:"),
        ("expiresOn:", "until (Or until):"),
        ("deviceGroups:", "groups (Device groups):"),
        ("dueOn:", "due (Due date):"),
        ("recommendationId:", "recommendation:"),
    ];
    for (api, form) in NAMES {
        if let Some(rest) = message.strip_prefix(api) {
            return format!("{form}{rest}");
        }
    }
    message.to_string()
}

/// The exception a submitted form asks for; a missing or unknown value is a 400 naming the field.
/// The engine checks the rest (context, duration against the policy, groups, role).
pub(super) fn exception_request(
    kind: TargetKind,
    target: &str,
    form: &Form,
) -> Result<ExceptionRequest, PageError> {
    let offered: Vec<&str> = ALL_JUSTIFICATIONS
        .iter()
        .filter(|j| j.allowed_on(kind))
        .map(|j| j.as_str())
        .collect();
    let justification = form
        .get("justification")
        .ok_or_else(|| PageError::bad_request("justification: choose one"))?;
    let justification = Justification::parse(justification)
        .filter(|j| j.allowed_on(kind))
        .ok_or_else(|| {
            PageError::bad_request(format!(
                "justification: {justification:?} is not one of {}",
                offered.join(", ")
            ))
        })?;
    // An explicit date lasts to the end of that day (UTC) and wins over the preset durations.
    let duration = match form.get("until") {
        Some(date) => {
            let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                PageError::bad_request(format!("until: {date:?} is not a date (YYYY-MM-DD)"))
            })?;
            let end = day
                .and_hms_opt(23, 59, 59)
                .ok_or_else(|| PageError::bad_request(format!("until: {date:?} is not a date")))?;
            ExceptionDuration::Until(end.and_utc())
        }
        None => ExceptionDuration::Days(
            form.parsed("duration")?
                .ok_or_else(|| PageError::bad_request("duration: required"))?,
        ),
    };
    let groups = match form.get("scope") {
        Some("global") => None,
        Some("groups") | None => {
            let groups: Vec<String> = form.all("groups").into_iter().map(str::to_string).collect();
            if groups.is_empty() {
                return Err(PageError::bad_request(
                    "groups (Device groups): choose at least one device group, or the global scope",
                ));
            }
            Some(groups)
        }
        Some(other) => {
            return Err(PageError::bad_request(format!(
                "scope: {other:?} is not one of global, groups"
            )));
        }
    };
    Ok(ExceptionRequest {
        kind,
        target: target.to_string(),
        justification,
        context: form.get("context").unwrap_or("").to_string(),
        groups,
        duration,
    })
}

/// How a form refusal is answered: input errors and conflicts show the form again with the message;
/// anything else (403, 404) is an error page.
pub(super) enum Refusal {
    /// Show the form again with this status and message.
    Again(StatusCode, String),
    /// An error page.
    Page(PageError),
}

impl From<PageError> for Refusal {
    fn from(error: PageError) -> Refusal {
        match error.0 {
            ApiError::BadRequest(m) => {
                Refusal::Again(StatusCode::BAD_REQUEST, form_field_names(&m))
            }
            ApiError::Conflict(m) => Refusal::Again(
                StatusCode::CONFLICT,
                format!("{m}; cancel or let it expire first (see Exceptions in effect)"),
            ),
            other => Refusal::Page(PageError(other)),
        }
    }
}

/// A page answered with another status.
pub(super) fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// The flyout's list query and the page to return to after a form.
fn back_to(params: &Params, id: &str) -> String {
    format!(
        "/recommendations{}",
        query_with(params, &[("flyout", Some(id))])
    )
}

/// What an exception form's POST asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Intent {
    /// Create the exception.
    Create,
    /// Show the score change it would cause.
    Preview,
    /// Show the score change alone: the script's preview, which replaces only the form's
    /// `[data-preview-target]` block, so the page around it is not rendered for nothing.
    ScriptPreview,
}

impl Intent {
    /// The preview a request asks for: the preview block alone when the console's script sent it
    /// (`X-Bulwark-Preview`), the whole page with the form otherwise (the Preview button without
    /// JavaScript).
    pub(super) fn preview(headers: &HeaderMap) -> Intent {
        if headers.contains_key("x-bulwark-preview") {
            Intent::ScriptPreview
        } else {
            Intent::Preview
        }
    }
}

/// The answer to a script's preview: the preview block alone, with the status of the refusal if
/// the input was refused.
pub(super) fn preview_fragment(submitted: &Submitted<'_>, status: StatusCode) -> Response {
    with_status(
        html_response(html! {
            div.preview data-preview-target { (preview_block(submitted.preview.as_ref())) }
        }),
        status,
    )
}

/// Runs a submitted exception form: the exception created, or the form to show again (with its
/// preview, or the refusal of its input or of a conflict) and the status to answer with. Role
/// limits and unknown targets are error pages.
pub(super) async fn run_exception_form<'a>(
    state: &AppState,
    viewer: &Viewer,
    intent: Intent,
    kind: TargetKind,
    target: &str,
    form: &'a Form,
) -> Result<Result<ExceptionView, (Submitted<'a>, StatusCode)>, PageError> {
    let engine = &state.engine;
    let mut submitted = Submitted {
        form: Some(form),
        ..Submitted::default()
    };
    let refusal = match intent {
        Intent::Create => {
            let attempt = async {
                let request = exception_request(kind, target, form)?;
                Ok::<_, PageError>(engine.create_exception(&viewer.user, request).await?)
            };
            match attempt.await.map_err(Refusal::from) {
                Ok(created) => return Ok(Ok(created)),
                Err(refusal) => refusal,
            }
        }
        Intent::Preview | Intent::ScriptPreview => {
            let attempt = async {
                let mut request = exception_request(kind, target, form)?;
                // The context changes no figure: a preview before it is written already shows
                // the score change (submitting still requires it).
                if request.context.trim().is_empty() {
                    request.context = "preview".to_string();
                }
                Ok::<_, PageError>(engine.preview_exception(&viewer.user, request).await?)
            };
            match attempt.await.map_err(Refusal::from) {
                Ok(preview) => {
                    submitted.preview = Some(Ok(preview));
                    return Ok(Err((submitted, StatusCode::OK)));
                }
                Err(refusal) => refusal,
            }
        }
    };
    match refusal {
        Refusal::Again(status, message) => {
            match intent {
                Intent::Create => submitted.error = Some(message),
                Intent::Preview | Intent::ScriptPreview => submitted.preview = Some(Err(message)),
            }
            Ok(Err((submitted, status)))
        }
        Refusal::Page(e) => Err(e),
    }
}

/// `POST /recommendations/{id}/exception`: creates the exception and returns to the flyout with a
/// notice that says the recommendation's new status.
async fn create_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    exception_post(&state, &viewer, &params, &id, &form, Intent::Create).await
}

/// `POST /recommendations/{id}/exception/preview`: the page with the flyout and the exception form
/// as submitted, with the score change it would cause (JavaScript takes the `[data-preview-target]`
/// block out of it, and asks for that block alone).
async fn preview_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    let intent = Intent::preview(&headers);
    exception_post(&state, &viewer, &params, &id, &form, intent).await
}

async fn exception_post(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    id: &str,
    form: &Form,
    intent: Intent,
) -> Result<Response, PageError> {
    match run_exception_form(state, viewer, intent, TargetKind::Recommendation, id, form).await? {
        Ok(created) => {
            let (name, status) = name_and_status(state, id).await?;
            let notice = format!(
                "Exception created (#{}): {} for {} on “{name}”, until {}. Status now: {}{}.",
                created.id,
                created.justification_label,
                scope_words(&created),
                layout::date(created.expires_on),
                status_label(&status),
                if status == "Exception" {
                    " — it leaves the default list; filter on status Exception to see it"
                } else {
                    ""
                }
            );
            Ok(done(viewer, &back_to(params, id), &notice))
        }
        Err((exception, status)) if intent == Intent::ScriptPreview => {
            Ok(preview_fragment(&exception, status))
        }
        Err((exception, status)) => {
            let flyout = FlyoutState {
                exception,
                remediation: None,
            };
            show_again(state, viewer, params, id, flyout, status).await
        }
    }
}

/// The list with the flyout of `id` open and a form in it shown again, answered with `status`.
async fn show_again(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    id: &str,
    flyout: FlyoutState<'_>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let params = flyout_params(params, id);
    Ok(with_status(
        render(state, viewer, &params, flyout).await?,
        status,
    ))
}

/// The list query with the flyout of `id` open.
pub(super) fn flyout_params(params: &Params, id: &str) -> Params {
    let mut pairs: Vec<(String, String)> = without_flyout(params).pairs;
    pairs.push(("flyout".to_string(), id.to_string()));
    Params { pairs }
}

/// The recommendation's name and its status now, from one read of the fleet (software and
/// configuration recommendations alike).
async fn name_and_status(state: &AppState, id: &str) -> Result<(String, String), PageError> {
    if id.starts_with(CONFIGURATION_RECOMMENDATION_PREFIX) {
        let r = state
            .engine
            .configuration_recommendation(id)
            .await
            .map_err(|_| PageError::not_found(format!("recommendation {id} not found")))?;
        return Ok((r.recommendation_name, r.status));
    }
    let r = state.engine.recommendation(id).await?;
    Ok((r.recommendation_name, r.status))
}

/// "every device group" or "device groups web, db".
pub(super) fn scope_words(e: &ExceptionView) -> String {
    if e.global {
        "every device group".to_string()
    } else {
        let names: Vec<&str> = e.device_groups.iter().map(|g| g.name.as_str()).collect();
        format!(
            "device group{} {}",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    }
}

/// The "Request remediation" form of a software recommendation.
fn remediation_form(
    viewer: &Viewer,
    r: &Recommendation,
    list_query: &str,
    groups: &[GroupChoice],
    submitted: Option<(&Form, String)>,
) -> Markup {
    let (values, error) = match submitted {
        Some((form, message)) => (Some(form), Some(message)),
        None => (None, None),
    };
    let value = |name: &str| values.and_then(|f| f.get(name));
    let priority = value("priority").unwrap_or("Medium");
    let chosen: Vec<&str> = values.map(|f| f.all("groups")).unwrap_or_default();
    html! {
        section aria-labelledby="remediation-form-title" {
            h3 #remediation-form-title { "Request remediation" }
            form.stack #remediation-form method="post" action=(format!("/recommendations/{}/remediation{list_query}", segment(&r.id))) {
                (layout::csrf(viewer))
                @if let Some(message) = error {
                    p.error-message #remediation-form-error role="alert" { (message) }
                }
                label for="remediation-priority" { "Priority"
                    select #remediation-priority name="priority" required {
                        @for p in ["High", "Medium", "Low"] {
                            option value=(p) selected[priority == p] { (p) }
                        }
                    }
                }
                label for="remediation-due" { "Due date"
                    input #remediation-due type="date" name="due" value=[value("due")] aria-describedby="remediation-due-help";
                }
                p.hint #remediation-due-help { "Leave it empty for “attention required”: no due date, no progress expected." }
                fieldset {
                    legend { "Device groups" }
                    p.hint { "None chosen: every group with exposed devices." }
                    @for (i, g) in groups.iter().enumerate() {
                        @let field = format!("remediation-group-{i}");
                        label.choice for=(field) {
                            input id=(field) type="checkbox" name="groups" value=(g.name) checked[chosen.contains(&g.name.as_str())];
                            (g.name) " (" (g.devices) ")"
                        }
                    }
                }
                label for="remediation-notes" { "Notes"
                    textarea #remediation-notes name="notes" { (value("notes").unwrap_or("")) }
                }
                div { button.primary type="submit" { "Request remediation" } }
            }
        }
    }
}

/// `POST /recommendations/{id}/remediation`: creates a remediation activity and returns to the
/// flyout, which links to it.
async fn request_remediation(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    let engine = &state.engine;
    let name = engine.recommendation(&id).await?.recommendation_name;
    let attempt = async {
        let priority = form.required("priority")?.to_string();
        let due_on = form
            .get("due")
            .map(|d| crate::routes::scores::parse_time("due", d, true))
            .transpose()?;
        let request = TaskRequest {
            recommendation_id: id.clone(),
            device_groups: form.all("groups").into_iter().map(str::to_string).collect(),
            priority,
            due_on,
            notes: form.get("notes").unwrap_or("").to_string(),
        };
        Ok::<_, PageError>(engine.create_task(&viewer.user, request).await?)
    };
    match attempt.await.map_err(Refusal::from) {
        Ok(task) => {
            let notice = format!(
                "Remediation activity #{} requested: “{name}”, priority {}, {}, {} target device{}. Follow it under Remediation › Activities.",
                task.id,
                task.priority.as_str(),
                task.due_on
                    .map_or("attention required".to_string(), |d| format!(
                        "due {}",
                        layout::date(d)
                    )),
                task.target_devices,
                if task.target_devices == 1 { "" } else { "s" },
            );
            Ok(done(&viewer, &back_to(&params, &id), &notice))
        }
        Err(Refusal::Again(status, message)) => {
            let flyout = FlyoutState {
                exception: Submitted::default(),
                remediation: Some((&form, message)),
            };
            show_again(&state, &viewer, &params, &id, flyout, status).await
        }
        Err(Refusal::Page(e)) => Err(e),
    }
}
