//! The Devices page (`/devices`): the device inventory with its filters, sorting and paging, and a
//! device's page (`/devices/{id}`) with its scores, weaknesses, software, the recommendations and
//! exceptions that concern it, and the form that changes its device value and group.

use std::collections::{BTreeSet, HashMap};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use bulwark_core::exposure::ExposureLevel;
use bulwark_core::identity::Action;
use bulwark_core::score::DeviceValue;
use bulwark_engine::{DevicePatch, MachineView};

use super::layout::{self, Paging, Section};
use super::remediation::{column_heads, exception_scope, exception_target, parse_param, urlencode};
use super::{Form, PageError, Params, Viewer, done, html_response};
use crate::AppState;

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/devices", get(devices))
        .route("/devices/{id}", get(device).post(update_device))
}

const VALUES: [(DeviceValue, &str); 3] = [
    (DeviceValue::Low, "Low"),
    (DeviceValue::Normal, "Normal"),
    (DeviceValue::High, "High"),
];

fn value_name(value: DeviceValue) -> &'static str {
    VALUES
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("Normal", |(_, n)| n)
}

fn parse_value(text: &str) -> Option<DeviceValue> {
    VALUES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(text))
        .map(|(v, _)| *v)
}

/// The `level` filter: an exposure level, or `inactive` for devices not seen within 30 days.
fn parse_level(text: &str) -> Option<Option<ExposureLevel>> {
    match text {
        "High" => Some(Some(ExposureLevel::High)),
        "Medium" => Some(Some(ExposureLevel::Medium)),
        "Low" => Some(Some(ExposureLevel::Low)),
        "None" => Some(Some(ExposureLevel::None)),
        "inactive" => Some(None),
        _ => None,
    }
}

/// The sort keys of the device list.
const SORTS: [&str; 6] = [
    "name",
    "exposure",
    "vulnerabilities",
    "value",
    "lastSeen",
    "group",
];

fn sort_devices(items: &mut [MachineView], key: &str, descending: bool) {
    let value_rank = |v: DeviceValue| match v {
        DeviceValue::Low => 0,
        DeviceValue::Normal => 1,
        DeviceValue::High => 2,
    };
    items.sort_by(|a, b| {
        let order = match key {
            "exposure" => a
                .exposure_score
                .unwrap_or(-1.0)
                .total_cmp(&b.exposure_score.unwrap_or(-1.0)),
            "vulnerabilities" => a.vulnerability_count.cmp(&b.vulnerability_count),
            "value" => value_rank(a.device_value).cmp(&value_rank(b.device_value)),
            "lastSeen" => a.last_seen.cmp(&b.last_seen),
            "group" => a.rbac_group_name.cmp(&b.rbac_group_name),
            _ => a.computer_dns_name.cmp(&b.computer_dns_name),
        };
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| a.computer_dns_name.cmp(&b.computer_dns_name))
    });
}

/// `GET /devices`: the device inventory.
async fn devices(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    let paging = Paging::from_params(&params)?;
    let level = parse_param(
        &params,
        "level",
        "High, Medium, Low, None, inactive",
        parse_level,
    )?;
    let value = parse_param(&params, "value", "Low, Normal, High", parse_value)?;
    let (sort, descending) = layout::sort_order(&params, &SORTS, "exposure")?;
    let group = params.get("group");
    let tag = params.get("tag");
    let search = params.get("q").map(str::to_lowercase);

    let mut items = state.engine.machines().await?;
    if items.is_empty() {
        let content = html! {
            h1 { "Devices" }
            (layout::empty_state("No devices yet", layout::getting_started()))
        };
        return Ok(html_response(layout::page(
            &viewer,
            Section::Devices,
            "Devices",
            content,
        )));
    }
    let total = items.len();
    let groups: BTreeSet<String> = items.iter().map(|m| m.rbac_group_name.clone()).collect();
    let tags: BTreeSet<String> = items
        .iter()
        .flat_map(|m| m.machine_tags.iter().cloned())
        .collect();
    items.retain(|m| {
        group.is_none_or(|g| m.rbac_group_name == g)
            && level.is_none_or(|l| m.exposure_level == l)
            && value.is_none_or(|v| m.device_value == v)
            && tag.is_none_or(|t| m.machine_tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
            && search.as_deref().is_none_or(|q| {
                m.computer_dns_name.to_lowercase().contains(q)
                    || m.os_platform
                        .as_deref()
                        .is_some_and(|os| os.to_lowercase().contains(q))
            })
    });
    sort_devices(&mut items, sort, descending);
    let rows = paging.slice(&items);
    let content = html! {
        h1 { "Devices" }
        form.filters #device-filters method="get" action="/devices" data-live {
            label for="filter-group" { "Device group"
                select #filter-group name="group" {
                    option value="" { "All" }
                    @for g in &groups { option value=(g) selected[group == Some(g.as_str())] { (g) } }
                }
            }
            label for="filter-level" { "Exposure level"
                select #filter-level name="level" {
                    option value="" { "All" }
                    @for (v, text) in [("High", "High"), ("Medium", "Medium"), ("Low", "Low"), ("None", "None"), ("inactive", "Inactive (not seen in 30 days)")] {
                        option value=(v) selected[params.get("level") == Some(v)] { (text) }
                    }
                }
            }
            label for="filter-value" { "Device value"
                select #filter-value name="value" {
                    option value="" { "All" }
                    @for (_, n) in VALUES { option value=(n) selected[params.get("value") == Some(n)] { (n) } }
                }
            }
            label for="filter-tag" { "Tag"
                select #filter-tag name="tag" {
                    option value="" { "All" }
                    @for t in &tags { option value=(t) selected[tag == Some(t.as_str())] { (t) } }
                }
            }
            label for="filter-q" { "Search name or OS"
                input #filter-q type="search" name="q" value=[params.get("q")];
            }
            @for key in ["sort", "dir", "per"] {
                @if let Some(v) = params.get(key) { input type="hidden" name=(key) value=(v); }
            }
            button type="submit" { "Apply" }
        }
        p.muted #device-count { (items.len()) " of " (total) " devices" }
        @if items.is_empty() {
            (layout::empty_state("No device matches these filters", html! { p { a href="/devices" { "Show every device" } } }))
        } @else {
            div.table-wrap {
                table #devices {
                    thead { tr {
                        (layout::sort_header("Name", "name", &params))
                        th scope="col" { "OS" }
                        (layout::sort_header("Group", "group", &params))
                        th scope="col" { "Tags" }
                        (layout::sort_header("Value", "value", &params))
                        (layout::sort_header("Exposure", "exposure", &params))
                        (layout::sort_header("Vulnerabilities", "vulnerabilities", &params))
                        (layout::sort_header("Last seen", "lastSeen", &params))
                    } }
                    tbody {
                        @for m in rows {
                            tr {
                                td { a href=(format!("/devices/{}", m.id)) { (m.computer_dns_name) } }
                                td { (m.os_platform.as_deref().unwrap_or("—")) }
                                td { (m.rbac_group_name) }
                                td { @for t in &m.machine_tags { (layout::badge(t, "info")) " " } }
                                td { (value_name(m.device_value)) }
                                td { (layout::level_badge(m.exposure_level)) @if let Some(s) = m.exposure_score { " " (layout::score(s)) } }
                                td.num { (m.vulnerability_count) }
                                td { (layout::time(m.last_seen)) @if !m.is_active { " " (layout::badge("Inactive", "none")) } }
                            }
                        }
                    }
                }
            }
            (paging.pager(items.len(), &params))
        }
    };
    Ok(html_response(layout::page(
        &viewer,
        Section::Devices,
        "Devices",
        content,
    )))
}

/// `GET /devices/{id}`: one device.
async fn device(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    // Each engine call here reads the whole fleet, so the page makes no call whose answer it
    // already has: the machine view carries the device's score (none when it was not seen within
    // the exposure window), and the exceptions that cover it are on its own recommendations.
    let machine = state.engine.machine(&id).await?;
    let key = machine.id.to_string();
    let configuration = state.engine.machine_configuration(&key).await?;
    let vulnerabilities = state.engine.machine_vulnerabilities(&key).await?;
    let software = state.engine.machine_software(&key).await?;
    let recommendations = state.engine.machine_recommendations(&key).await?;
    let exceptions = state.engine.machine_exceptions(&key).await?;
    let names: HashMap<String, String> = recommendations
        .iter()
        .map(|r| (r.id.clone(), r.recommendation_name.clone()))
        .collect();
    let score = machine.exposure_score.zip(machine.exposure_level);
    let mut groups: BTreeSet<String> = state
        .engine
        .device_groups()
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    groups.insert(machine.rbac_group_name.clone());
    let content = html! {
        p { a href="/devices" { "‹ Devices" } }
        h1 #device-name { (machine.computer_dns_name) }
        section.cards aria-label="Scores" {
            div.card {
                h2 { "Exposure score" }
                @match score {
                    Some((exposure, level)) => {
                        span.stat-value #device-exposure-score { (layout::score(exposure)) }
                        " " span #device-exposure-level { (layout::level_badge(Some(level))) }
                        p.muted { (vulnerabilities.len()) " open vulnerabilities; lower is better." }
                    }
                    None => { p #device-exposure-score { "Not scored: not seen in the last 30 days." } }
                }
            }
            div.card {
                h2 { "Secure score" }
                @match configuration.device.score {
                    Some(s) => {
                        span.stat-value #device-secure-score { (layout::score(s)) }
                        p.muted { (configuration.device.achieved) " of " (configuration.device.possible) " points; higher is better." }
                    }
                    None => { p #device-secure-score { "No configuration assessment yet (OpenSCAP results, osquery or the agent)." } }
                }
            }
            div.card {
                h2 { "Device" }
                dl.facts {
                    dt { "OS" } dd { (machine.os_platform.as_deref().unwrap_or("—")) }
                    dt { "Group" } dd #device-group { (machine.rbac_group_name) }
                    dt { "Value" } dd #device-value { (value_name(machine.device_value)) }
                    dt { "Tags" } dd { @for t in &machine.machine_tags { (layout::badge(t, "info")) " " } @if machine.machine_tags.is_empty() { "—" } }
                    dt { "First seen" } dd { (layout::time(machine.first_seen)) }
                    dt { "Last seen" } dd { (layout::time(machine.last_seen)) @if !machine.is_active { " " (layout::badge("Inactive", "none")) } }
                }
            }
        }
        @if viewer.may(Action::WriteInventory) {
            (device_form(&viewer, &machine, &groups))
        }
        section aria-labelledby="device-recommendations" {
            h2 #device-recommendations { "Security recommendations (" (recommendations.len()) ")" }
            @if recommendations.is_empty() {
                p.muted { "No recommendation concerns this device." }
            } @else {
                div.table-wrap { table #device-recommendation-table {
                    (column_heads(&["Recommendation", "Weaknesses", "Severity score", "Status"]))
                    tbody { @for r in &recommendations { tr {
                        td { a href=(format!("/recommendations?flyout={}", urlencode(&r.id))) { (r.recommendation_name) } }
                        td.num { (r.weaknesses) }
                        td.num { (layout::score(r.severity_score)) }
                        td { (r.status) }
                    } } }
                } }
            }
        }
        section aria-labelledby="device-exceptions" {
            h2 #device-exceptions { "Exceptions covering it (" (exceptions.len()) ")" }
            @if exceptions.is_empty() {
                p.muted { "No exception in effect covers this device." }
            } @else {
                div.table-wrap { table #device-exception-table {
                    (column_heads(&["Target", "Justification", "Scope", "Expires"]))
                    tbody { @for e in &exceptions { tr {
                        td { a href=(format!("/remediation?tab=exceptions&flyout={}", e.id)) { (exception_target(e, &names)) } }
                        td { (e.justification_label) }
                        td { (exception_scope(e)) }
                        td.date { (layout::date(e.expires_on)) }
                    } } }
                } }
            }
        }
        section aria-labelledby="device-weaknesses" {
            h2 #device-weaknesses { "Weaknesses (" (vulnerabilities.len()) ")" }
            @if vulnerabilities.is_empty() {
                p.muted { "No open weakness." }
            } @else {
                div.table-wrap { table #device-weakness-table {
                    (column_heads(&["Vulnerability", "Severity", "CVSS", "Summary"]))
                    tbody { @for v in &vulnerabilities { tr {
                        td { a href=(format!("/weaknesses?flyout={}", urlencode(&v.id))) { (v.id) } }
                        td { (layout::severity_badge(&v.severity)) }
                        td.num { @match v.cvss_v3 { Some(c) => { (layout::score(c)) } None => { "—" } } }
                        td { (v.name) }
                    } } }
                } }
            }
        }
        section aria-labelledby="device-software" {
            h2 #device-software { "Installed software (" (software.len()) ")" }
            details open[software.len() <= 50] {
                summary { "Show the " (software.len()) " packages" }
                div.table-wrap { table #device-software-table {
                    (column_heads(&["Name", "Version", "Ecosystem"]))
                    tbody { @for p in &software { tr {
                        td { (p.name) }
                        td { (p.version) }
                        td { (p.ecosystem.to_string()) }
                    } } }
                } }
            }
        }
    };
    Ok(html_response(layout::page(
        &viewer,
        Section::Devices,
        &machine.computer_dns_name,
        content,
    )))
}

/// The form that changes the device value and the explicit group.
fn device_form(viewer: &Viewer, machine: &MachineView, groups: &BTreeSet<String>) -> Markup {
    html! {
        form.stack.card #device-form method="post" action=(format!("/devices/{}", machine.id)) {
            h2 { "Device value and group" }
            (layout::csrf(viewer))
            label for="device-value-input" { "Device value"
                select #device-value-input name="value" {
                    @for (v, n) in VALUES { option value=(n) selected[v == machine.device_value] { (n) } }
                }
            }
            p.hint { "High-value devices weigh twice as much in group and organisation exposure scores; low ones 0.75." }
            label for="device-group-input" { "Device group"
                input #device-group-input name="group" list="known-groups" value=(machine.rbac_group_name);
            }
            datalist #known-groups { @for g in groups { option value=(g) {} } }
            input type="hidden" name="group_was" value=(machine.rbac_group_name);
            p.hint { "Leave blank to let the device groups' rules decide." }
            div { button.primary type="submit" { "Save" } }
        }
    }
}

/// `POST /devices/{id}`: changes the device value and, when it changed, the group assignment.
async fn update_device(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    viewer.require(Action::WriteInventory)?;
    let value = form
        .get("value")
        .map(|v| {
            parse_value(v).ok_or_else(|| {
                PageError::bad_request(format!("value: {v:?} is not one of Low, Normal, High"))
            })
        })
        .transpose()?;
    let group = form.get("group");
    // The field shows the group the device is in now, which may come from the rules: only a change
    // becomes an explicit assignment.
    let group_patch = if group == form.get("group_was") {
        None
    } else {
        Some(group.map(str::to_string))
    };
    let device = state
        .engine
        .update_device(
            &id,
            DevicePatch {
                value,
                tags: None,
                group: group_patch,
            },
        )
        .await?;
    let machine = state.engine.machine(&device.id.0.to_string()).await?;
    Ok(done(
        &viewer,
        &format!("/devices/{}", machine.id),
        &format!(
            "Device {} saved: value {}, group {}.",
            machine.computer_dns_name,
            value_name(machine.device_value),
            machine.rbac_group_name
        ),
    ))
}
