//! Weaknesses (`/weaknesses`): CVEs with CVSS, EPSS, KEV, exposed devices, and the CVE exception form.
//!
//! The list is the engine's open vulnerabilities (false positives removed); the flyout also opens
//! for a vulnerability no device has any more (an excepted false positive), since the engine knows
//! every id it has an advisory for. The CVE exception form is the recommendations' form with the two
//! CVE-only justifications (CVE with no patch, False positive). `?recommendation=ID` narrows the list
//! to the weaknesses of one recommendation's product (the recommendation flyout links there).

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use bulwark_core::exception::{ExceptionStatus, ScoreEffect, TargetKind};
use bulwark_core::identity::Action;
use bulwark_core::recommendation::VulnerabilitySummary;

use super::layout::{self, Paging, Section};
use super::recommendations::{
    DeviceLine, ExceptionForm, FLYOUT_ROWS, GroupChoice, Intent, Submitted, devices_section, epss,
    exceptions_section, flyout_params, preview_fragment, query_with, run_exception_form,
    scope_words, segment, with_status, without_flyout,
};
use super::{Form, PageError, Params, Viewer, done, html_response};
use crate::AppState;

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/weaknesses", get(list))
        .route("/weaknesses/{id}/exception", post(create_exception))
        .route(
            "/weaknesses/{id}/exception/preview",
            post(preview_exception),
        )
}

const SEVERITIES: [&str; 5] = ["Critical", "High", "Medium", "Low", "None"];

/// The list's filters; values outside the offered ones are a 400 naming the parameter.
struct Filters {
    severity: Option<String>,
    kev: bool,
    exploit: bool,
    q: Option<String>,
}

impl Filters {
    fn from_params(params: &Params) -> Result<Filters, PageError> {
        let severity = match params.get("severity") {
            None => None,
            Some(s) if SEVERITIES.contains(&s) => Some(s.to_string()),
            Some(s) => {
                return Err(PageError::bad_request(format!(
                    "query parameter severity: {s:?} is not one of {}",
                    SEVERITIES.join(", ")
                )));
            }
        };
        let flag = |name: &str| match params.get(name) {
            None => Ok(false),
            Some("1") => Ok(true),
            Some(v) => Err(PageError::bad_request(format!(
                "query parameter {name}: {v:?} is not 1"
            ))),
        };
        Ok(Filters {
            severity,
            kev: flag("kev")?,
            exploit: flag("exploit")?,
            q: params.get("q").map(|q| q.trim().to_lowercase()),
        })
    }

    fn keeps(&self, v: &VulnerabilitySummary) -> bool {
        self.severity.as_ref().is_none_or(|s| *s == v.severity)
            && (!self.kev || v.exploit_verified)
            && (!self.exploit || v.public_exploit)
            && self.q.as_ref().is_none_or(|q| {
                v.id.to_lowercase().contains(q)
                    || v.description
                        .as_ref()
                        .is_some_and(|d| d.to_lowercase().contains(q))
                    || v.aliases.iter().any(|a| a.to_lowercase().contains(q))
            })
    }
}

/// Sorts as `sort` and `dir` ask; no `sort` keeps the engine's order (most severe first).
fn sort(items: &mut [VulnerabilitySummary], params: &Params) -> Result<(), PageError> {
    let Some(key) = params.get("sort") else {
        return Ok(());
    };
    let by: fn(&VulnerabilitySummary, &VulnerabilitySummary) -> std::cmp::Ordering = match key {
        "id" => |a, b| a.id.cmp(&b.id),
        "cvss" => |a, b| {
            a.cvss_v3
                .unwrap_or(-1.0)
                .total_cmp(&b.cvss_v3.unwrap_or(-1.0))
        },
        "epss" => |a, b| a.epss.unwrap_or(-1.0).total_cmp(&b.epss.unwrap_or(-1.0)),
        "exposed" => |a, b| a.exposed_machines.cmp(&b.exposed_machines),
        "published" => |a, b| a.published_on.cmp(&b.published_on),
        "updated" => |a, b| a.updated_on.cmp(&b.updated_on),
        other => {
            return Err(PageError::bad_request(format!(
                "query parameter sort: {other:?} is not a column of this list"
            )));
        }
    };
    let descending = params.get("dir") == Some("desc");
    items.sort_by(|a, b| {
        let order = by(a, b).then_with(|| a.id.cmp(&b.id));
        if descending { order.reverse() } else { order }
    });
    Ok(())
}

/// The date part of an advisory time (`2024-02-01T00:00:00Z` → `2024-02-01`).
fn day(text: Option<&str>) -> &str {
    text.map_or("—", |t| t.get(..10).unwrap_or(t))
}

/// `GET /weaknesses`: the list, and the flyout `flyout=CVE-ID` names.
async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    render(&state, &viewer, &params, Submitted::default()).await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    flyout: Submitted<'_>,
) -> Result<Response, PageError> {
    let filters = Filters::from_params(params)?;
    let paging = Paging::from_params(params)?;
    let product = match params.get("recommendation") {
        None => None,
        Some(id) => Some(product_weaknesses(state, id).await?),
    };
    let all = state.engine.vulnerabilities().await?;
    let known = all.len();
    let mut items: Vec<VulnerabilitySummary> = all
        .into_iter()
        .filter(|v| filters.keeps(v))
        .filter(|v| product.as_ref().is_none_or(|p| p.ids.contains(&v.id)))
        .collect();
    sort(&mut items, params)?;
    let flyout_markup = match params.get("flyout") {
        None => None,
        Some(id) => Some(flyout_markup(state, viewer, params, id, flyout).await?),
    };
    let list_params = without_flyout(params);
    let content = html! {
        h1 { "Weaknesses" }
        @if known == 0 {
            (layout::empty_state("No weaknesses found", html! {
                p { "Weaknesses are the vulnerabilities found in the software your devices report. To begin:" }
                (layout::getting_started())
            }))
        } @else {
            (filter_form(params, &filters))
            @if let Some(p) = &product {
                p.hint #product-filter {
                    "Weaknesses of " strong { (p.name) } " only — "
                    a href=(format!("/weaknesses{}", query_with(&list_params, &[("recommendation", None), ("page", None)]))) { "show every weakness" }
                }
            }
            @if items.is_empty() {
                (layout::empty_state("No weakness matches these filters", html! {
                    p { a href="/weaknesses" { "Clear the filters" } " to see every weakness." }
                }))
            } @else {
                div.table-wrap {
                    table #weaknesses {
                        caption.sr-only { "Weaknesses" }
                        thead { tr {
                            (layout::sort_header("Name", "id", &list_params))
                            th scope="col" { "Severity" }
                            (layout::sort_header("CVSS", "cvss", &list_params))
                            (layout::sort_header("EPSS", "epss", &list_params))
                            th scope="col" { "Threats" }
                            (layout::sort_header("Exposed devices", "exposed", &list_params))
                            (layout::sort_header("Published", "published", &list_params))
                            (layout::sort_header("Updated", "updated", &list_params))
                        } }
                        tbody {
                            @for v in paging.slice(&items) {
                                tr data-id=(v.id) {
                                    td {
                                        a href=(format!("/weaknesses{}", query_with(params, &[("flyout", Some(&v.id))]))) data-flyout { (v.id) }
                                        @if let Some(d) = &v.description { br; span.muted { (d) } }
                                    }
                                    td { (layout::severity_badge(&v.severity)) }
                                    td.cvss {
                                        @if let Some(s) = v.cvss_v3 { strong { (format!("{s:.1}")) } } @else { "—" }
                                        @if let Some(vector) = &v.cvss_vector { br; small.muted.vector { (vector) } }
                                    }
                                    td.num { (epss(v.epss, v.epss_percentile)) }
                                    td {
                                        @if v.exploit_verified { (layout::badge("KEV", "critical")) " " }
                                        @if v.public_exploit { (layout::badge("Public exploit", "high")) }
                                    }
                                    td.num.exposed { (v.exposed_machines) }
                                    td.date { (day(v.published_on.as_deref())) }
                                    td.date { (day(v.updated_on.as_deref())) }
                                }
                            }
                        }
                    }
                }
                (paging.pager(items.len(), &list_params))
            }
        }
        @if let Some(markup) = flyout_markup { (markup) }
    };
    Ok(html_response(layout::page(
        viewer,
        Section::Weaknesses,
        "Weaknesses",
        content,
    )))
}

/// The recommendation a `recommendation=` filter names: its product's name and its open weaknesses'
/// vulnerability ids (none when nothing of it is open any more, e.g. since remediated).
struct ProductFilter {
    name: String,
    ids: BTreeSet<String>,
}

async fn product_weaknesses(state: &AppState, id: &str) -> Result<ProductFilter, PageError> {
    use bulwark_engine::EngineError;
    let ids = match state.engine.recommendation_vulnerabilities(id).await {
        Ok(vulns) => vulns.into_iter().map(|v| v.id).collect(),
        Err(EngineError::NotFound(_)) => BTreeSet::new(),
        Err(e) => return Err(e.into()),
    };
    let name = match state.engine.recommendation(id).await {
        Ok(r) => r.product_name,
        Err(EngineError::NotFound(_)) => id.to_string(),
        Err(e) => return Err(e.into()),
    };
    Ok(ProductFilter { name, ids })
}

fn filter_form(params: &Params, filters: &Filters) -> Markup {
    html! {
        form.filters #weakness-filters method="get" action="/weaknesses" data-live role="search" {
            (layout::carry(params, &["severity", "kev", "exploit", "q", "page", "flyout"]))
            label for="filter-q" { "Search"
                input #filter-q type="search" name="q" value=[params.get("q")] placeholder="CVE, alias or description";
            }
            label for="filter-severity" { "Severity"
                select #filter-severity name="severity" {
                    option value="" { "Any" }
                    @for s in SEVERITIES {
                        option value=(s) selected[filters.severity.as_deref() == Some(s)] { (s) }
                    }
                }
            }
            label.choice for="filter-kev" {
                input #filter-kev type="checkbox" name="kev" value="1" checked[filters.kev];
                "Known exploited (KEV) only"
            }
            label.choice for="filter-exploit" {
                input #filter-exploit type="checkbox" name="exploit" value="1" checked[filters.exploit];
                "Exploit available"
            }
            button type="submit" { "Apply" }
        }
    }
}

/// The flyout of one vulnerability: its facts, affected devices, CVE exceptions and the form.
async fn flyout_markup(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    id: &str,
    flyout: Submitted<'_>,
) -> Result<Markup, PageError> {
    let engine = &state.engine;
    let v = engine.vulnerability(id).await?;
    let machines = engine.vulnerability_machines(&v.id).await?;
    let exceptions = engine.exceptions().await?;
    let covering: Vec<_> = exceptions
        .iter()
        .filter(|e| {
            e.status == ExceptionStatus::InEffect
                && e.cve_id.as_deref().is_some_and(|c| {
                    c.eq_ignore_ascii_case(&v.id)
                        || v.aliases.iter().any(|a| a.eq_ignore_ascii_case(c))
                })
        })
        .collect();
    let policy = engine.exception_policy().await?;
    let descriptions: BTreeMap<String, String> = engine
        .device_groups()
        .await?
        .into_iter()
        .map(|g| (g.name, g.description))
        .collect();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for m in machines.iter().filter(|m| m.is_active) {
        *counts.entry(m.rbac_group_name.as_str()).or_default() += 1;
    }
    let excepted: BTreeMap<&str, i64> = covering
        .iter()
        .flat_map(|e| {
            e.device_groups
                .iter()
                .filter(|g| g.status == ExceptionStatus::InEffect)
                .map(|g| (g.name.as_str(), e.id))
        })
        .collect();
    let choices: Vec<GroupChoice> = counts
        .iter()
        .map(|(name, devices)| GroupChoice {
            name: name.to_string(),
            devices: *devices,
            description: descriptions.get(*name).cloned().unwrap_or_default(),
            excepted_by: excepted.get(name).copied(),
        })
        .collect();
    let list_query = query_with(params, &[("flyout", None)]);
    let enc = segment(&v.id);
    let form = ExceptionForm {
        form_id: "cve-exception-form",
        action: format!("/weaknesses/{enc}/exception{list_query}"),
        preview: format!("/weaknesses/{enc}/exception/preview{list_query}"),
        kind: TargetKind::Cve,
        groups: &choices,
        global_in_effect: covering.iter().find(|e| e.global).map(|e| e.id),
        policy: &policy,
    };
    Ok(html! {
        aside #flyout .flyout role="dialog" aria-labelledby="flyout-title" {
            header {
                h2 #flyout-title { (v.id) }
                a data-close href=(format!("/weaknesses{list_query}")) aria-label="Close" { "✕ Close" }
            }
            @if let Some(d) = &v.description { p #flyout-description { (d) } }
            dl.facts #weakness-facts {
                dt { "Severity" } dd { (layout::severity_badge(&v.severity)) }
                dt { "CVSS" } dd {
                    @if let Some(s) = v.cvss_v3 { (format!("{s:.1}")) } @else { "—" }
                    @if let Some(vector) = &v.cvss_vector { " " code { (vector) } }
                }
                dt { "EPSS" } dd {
                    @match (v.epss, v.epss_percentile) {
                        (Some(p), Some(pct)) => { (format!("{:.1}% probability of exploitation in 30 days, {} percentile", p * 100.0, layout::percentile(pct))) }
                        (Some(p), None) => { (format!("{:.1}% probability of exploitation in 30 days", p * 100.0)) }
                        _ => { "not scored" }
                    }
                }
                dt { "Threats" } dd {
                    @if v.exploit_verified {
                        (layout::badge("KEV", "critical"))
                        " Known exploited"
                        @if v.ransomware { ", used in ransomware campaigns" }
                        @if let Some(added) = &v.kev_date_added { "; listed " (added) }
                        @if let Some(due) = &v.kev_due_date { ", action due " (due) }
                        @if let Some(action) = &v.kev_required_action { br; (action) }
                    } @else if v.public_exploit {
                        (layout::badge("Public exploit", "high"))
                    } @else { "No known exploit" }
                }
                dt { "Exposed devices" } dd #flyout-exposed { (v.exposed_machines) }
                dt { "Published" } dd { (day(v.published_on.as_deref())) }
                dt { "Updated" } dd { (day(v.updated_on.as_deref())) }
                @if !v.cwes.is_empty() { dt { "CWE" } dd { (v.cwes.join(", ")) } }
                @if !v.aliases.is_empty() { dt { "Aliases" } dd { (v.aliases.join(", ")) } }
                @if !v.advisory_ids.is_empty() { dt { "Advisories" } dd { (v.advisory_ids.join(", ")) } }
            }
            (exceptions_section(&covering))
            (devices_section(
                machines.len(),
                machines.iter().take(FLYOUT_ROWS).map(|m| DeviceLine {
                    name: &m.computer_dns_name,
                    group: &m.rbac_group_name,
                    detail: html! { (layout::level_badge(m.exposure_level)) },
                }),
            ))
            @if viewer.may(Action::GroupException) {
                (form.render(viewer, &flyout))
            } @else {
                p.hint { "Your role may not create exceptions." }
            }
        }
    })
}

/// `POST /weaknesses/{id}/exception`: creates a CVE exception and returns to the flyout.
async fn create_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    exception_post(&state, &viewer, &params, &id, &form, Intent::Create).await
}

/// `POST /weaknesses/{id}/exception/preview`: the page with the flyout and the CVE exception form
/// as submitted, with the score change it would cause (the preview block alone for the script).
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
    let engine = &state.engine;
    let v = engine.vulnerability(id).await?;
    match run_exception_form(state, viewer, intent, TargetKind::Cve, &v.id, form).await? {
        Ok(created) => {
            let remaining = engine.vulnerability(&v.id).await?.exposed_machines;
            let notice = format!(
                "CVE exception created (#{}): {} for {} on {}, until {}.{}",
                created.id,
                created.justification_label,
                scope_words(&created),
                v.id,
                layout::date(created.expires_on),
                if created.score_effect == ScoreEffect::Removed {
                    format!(
                        " The finding is removed from the covered devices; {remaining} device{} still list it.",
                        if remaining == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                }
            );
            let back = format!(
                "/weaknesses{}",
                query_with(params, &[("flyout", Some(&v.id))])
            );
            Ok(done(viewer, &back, &notice))
        }
        Err((submitted, status)) if intent == Intent::ScriptPreview => {
            Ok(preview_fragment(&submitted, status))
        }
        Err((submitted, status)) => {
            let params = flyout_params(params, &v.id);
            Ok(with_status(
                render(state, viewer, &params, submitted).await?,
                status,
            ))
        }
    }
}
