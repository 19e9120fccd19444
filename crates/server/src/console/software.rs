//! The Software page (`/software`): the software inventory across the fleet — every installed product
//! with its version count, devices, exposed devices and weaknesses — with filters, sorting, paging and
//! a link to the product's security recommendation.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use maud::html;

use bulwark_engine::ProductView;

use super::layout::{self, Paging, Section};
use super::remediation::urlencode;
use super::{PageError, Params, Viewer, html_response};
use crate::AppState;

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router.route("/software", get(software))
}

const SORTS: [&str; 6] = [
    "name",
    "vendor",
    "versions",
    "devices",
    "exposed",
    "weaknesses",
];

fn sort_products(items: &mut [ProductView], key: &str, descending: bool) {
    items.sort_by(|a, b| {
        let order = match key {
            "vendor" => a.vendor.cmp(&b.vendor),
            "versions" => a.versions.cmp(&b.versions),
            "devices" => a.devices.cmp(&b.devices),
            "exposed" => a.exposed_devices.cmp(&b.exposed_devices),
            "weaknesses" => a.weaknesses.cmp(&b.weaknesses),
            _ => a.name.cmp(&b.name),
        };
        let order = if descending { order.reverse() } else { order };
        order
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.vendor.cmp(&b.vendor))
    });
}

/// `GET /software`: the software inventory.
async fn software(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    let paging = Paging::from_params(&params)?;
    // Without a chosen order the products with the most weaknesses come first.
    let (sort, descending) = layout::sort_order(&params, &SORTS, "weaknesses")?;
    let exposure = params.get("exposure");
    if let Some(e) = exposure
        && !["vulnerable", "clean"].contains(&e)
    {
        return Err(PageError::bad_request(format!(
            "query parameter exposure: {e:?} is not one of vulnerable, clean"
        )));
    }
    let vendor = params.get("vendor");
    let search = params.get("q").map(str::to_lowercase);

    let mut items = state.engine.software_inventory().await?;
    if items.is_empty() {
        let content = html! {
            h1 { "Software inventory" }
            (layout::empty_state("No software yet", layout::getting_started()))
        };
        return Ok(html_response(layout::page(
            &viewer,
            Section::Software,
            "Software",
            content,
        )));
    }
    let total = items.len();
    let vendors: BTreeSet<String> = items.iter().map(|p| p.vendor.clone()).collect();
    items.retain(|p| {
        vendor.is_none_or(|v| p.vendor == v)
            && match exposure {
                Some("vulnerable") => p.weaknesses > 0,
                Some("clean") => p.weaknesses == 0,
                _ => true,
            }
            && search
                .as_deref()
                .is_none_or(|q| p.name.to_lowercase().contains(q))
    });
    sort_products(&mut items, sort, descending);
    let rows = paging.slice(&items);
    let content = html! {
        h1 { "Software inventory" }
        form.filters #software-filters method="get" action="/software" data-live {
            label for="filter-vendor" { "Ecosystem"
                select #filter-vendor name="vendor" {
                    option value="" { "All" }
                    @for v in &vendors { option value=(v) selected[vendor == Some(v.as_str())] { (v) } }
                }
            }
            label for="filter-exposure" { "Weaknesses"
                select #filter-exposure name="exposure" {
                    option value="" { "All" }
                    option value="vulnerable" selected[exposure == Some("vulnerable")] { "With weaknesses" }
                    option value="clean" selected[exposure == Some("clean")] { "Without weaknesses" }
                }
            }
            label for="filter-q" { "Search name"
                input #filter-q type="search" name="q" value=[params.get("q")];
            }
            @for key in ["sort", "dir", "per"] {
                @if let Some(v) = params.get(key) { input type="hidden" name=(key) value=(v); }
            }
            button type="submit" { "Apply" }
        }
        p.muted #software-count { (items.len()) " of " (total) " products" }
        @if items.is_empty() {
            (layout::empty_state("No product matches these filters", html! { p { a href="/software" { "Show every product" } } }))
        } @else {
            div.table-wrap {
                table #software {
                    thead { tr {
                        (layout::sort_header("Name", "name", &params))
                        (layout::sort_header("Ecosystem", "vendor", &params))
                        (layout::sort_header("Versions", "versions", &params))
                        (layout::sort_header("Devices", "devices", &params))
                        (layout::sort_header("Exposed devices", "exposed", &params))
                        (layout::sort_header("Weaknesses", "weaknesses", &params))
                        th scope="col" { "Recommendation" }
                    } }
                    tbody {
                        @for p in rows {
                            tr {
                                td { (p.name) }
                                td { (p.vendor) }
                                td.num { (p.versions) }
                                td.num { (p.devices) }
                                td.num { (p.exposed_devices) }
                                td.num { (p.weaknesses) }
                                td {
                                    @if p.weaknesses > 0 {
                                        a href=(format!("/recommendations?flyout={}", urlencode(&p.recommendation_id))) aria-label=(format!("Recommendation for {}", p.name)) { "Recommendation" }
                                        br; span.muted { "Vulnerable versions: " (p.vulnerable_versions.join(", ")) }
                                    } @else {
                                        span.muted { "—" }
                                    }
                                }
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
        Section::Software,
        "Software",
        content,
    )))
}
