//! The page shell (header, navigation, notice, skip link, theme) and the small pieces every page
//! shares: badges, score and time formatting, pagers, sortable headers, empty states.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use bulwark_core::exposure::ExposureLevel;

use super::{CSRF_FIELD, Params, Viewer};

/// The console's sections, for the navigation's current-page mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `/`.
    Dashboard,
    /// `/recommendations`.
    Recommendations,
    /// `/remediation`.
    Remediation,
    /// `/weaknesses`.
    Weaknesses,
    /// `/devices`.
    Devices,
    /// `/software`.
    Software,
    /// `/audit`.
    Audit,
    /// `/settings`.
    Settings,
}

const NAV: [(Section, &str, &str); 8] = [
    (Section::Dashboard, "/", "Dashboard"),
    (
        Section::Recommendations,
        "/recommendations",
        "Recommendations",
    ),
    (Section::Remediation, "/remediation", "Remediation"),
    (Section::Weaknesses, "/weaknesses", "Weaknesses"),
    (Section::Devices, "/devices", "Devices"),
    (Section::Software, "/software", "Software"),
    (Section::Audit, "/audit", "Audit log"),
    (Section::Settings, "/settings", "Settings"),
];

/// The `<head>` every page shares.
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · Bulwark" }
            link rel="stylesheet" href=(concat!("/static/console.css?v=", env!("CARGO_PKG_VERSION")));
            script src=(concat!("/static/console.js?v=", env!("CARGO_PKG_VERSION"))) defer {}
        }
    }
}

/// A page of the signed-in console: header with navigation and the user's menu, the notice left by
/// the previous form, and `content` in `<main>`.
pub fn page(viewer: &Viewer, section: Section, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Bulwark" }
                    nav aria-label="Sections" {
                        ul {
                            @for (s, href, label) in NAV {
                                li {
                                    a href=(href) aria-current=[(s == section).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    div.user {
                        span title=(viewer.user.email) { (viewer.user.display_name) " · " (viewer.user.role.as_str()) }
                        button.theme type="button" data-theme-toggle aria-label="Switch between light and dark" { "◐" }
                        form method="post" action="/logout" {
                            (csrf(viewer))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                @if let Some(notice) = &viewer.notice {
                    div.notice role="status" { (notice) }
                }
                main #main tabindex="-1" {
                    (content)
                }
                div #flyout-root {}
            }
        }
    }
}

/// A page outside the signed-in shell (sign-in form, errors).
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main #main { (content) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf); }
}

/// A score with one decimal (`41.3`).
pub fn score(value: f64) -> String {
    format!("{value:.1}")
}

/// A percentile as an English ordinal (`0.92` → `92nd`, `0.111` → `11th`), as EPSS figures are read.
pub fn percentile(fraction: f64) -> String {
    let n = (fraction * 100.0).round().clamp(0.0, 100.0) as u32;
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A time as the console shows it: `2024-06-01 12:00 UTC`.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A date: `2024-06-01`.
pub fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// A small coloured label; `kind` is one of the stylesheet's badge kinds (`critical`, `high`,
/// `medium`, `low`, `none`, `info`, `ok`, `warn`).
pub fn badge(text: &str, kind: &str) -> Markup {
    html! { span class=(format!("badge badge-{kind}")) { (text) } }
}

/// The badge of an exposure level.
pub fn level_badge(level: Option<ExposureLevel>) -> Markup {
    match level {
        Some(ExposureLevel::High) => badge("High", "high"),
        Some(ExposureLevel::Medium) => badge("Medium", "medium"),
        Some(ExposureLevel::Low) => badge("Low", "low"),
        Some(ExposureLevel::None) => badge("None", "none"),
        None => badge("Inactive", "none"),
    }
}

/// The badge of a severity name (`Critical`, `High`, `Medium`, `Low`, anything else as info).
pub fn severity_badge(severity: &str) -> Markup {
    let kind = match severity.to_ascii_lowercase().as_str() {
        "critical" => "critical",
        "high" => "high",
        "medium" => "medium",
        "low" => "low",
        _ => "info",
    };
    badge(severity, kind)
}

/// A page of a list: which items to show and the links to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page number.
    pub page: usize,
    /// Items per page.
    pub per_page: usize,
}

/// The page sizes offered; the first is the default.
pub const PAGE_SIZES: [usize; 4] = [25, 50, 100, 200];

impl Paging {
    /// The paging the query asks for (`page`, `per`), refusing values that do not parse or sizes not
    /// offered.
    pub fn from_params(params: &Params) -> Result<Paging, super::PageError> {
        let page = params.parsed::<usize>("page")?.unwrap_or(1).max(1);
        let per_page = params.parsed::<usize>("per")?.unwrap_or(PAGE_SIZES[0]);
        if !PAGE_SIZES.contains(&per_page) {
            return Err(super::PageError::bad_request(format!(
                "query parameter per: {per_page} is not one of {PAGE_SIZES:?}"
            )));
        }
        Ok(Paging { page, per_page })
    }

    /// The items of this page.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1)
            .saturating_mul(self.per_page)
            .min(items.len());
        let end = start.saturating_add(self.per_page).min(items.len());
        &items[start..end]
    }

    /// The pager under a list of `total` items: position, previous and next links, page size.
    pub fn pager(&self, total: usize, params: &Params) -> Markup {
        let pages = total.div_ceil(self.per_page).max(1);
        let first = ((self.page - 1) * self.per_page + 1).min(total);
        let last = (self.page * self.per_page).min(total);
        html! {
            nav.pager aria-label="Pages" {
                span { (first) "–" (last) " of " (total) }
                @if self.page > 1 {
                    a rel="prev" href=(params.with("page", Some(&(self.page - 1).to_string()))) { "‹ Previous" }
                }
                span { "Page " (self.page.min(pages)) " of " (pages) }
                @if self.page < pages {
                    a rel="next" href=(params.with("page", Some(&(self.page + 1).to_string()))) { "Next ›" }
                }
            }
        }
    }
}

/// The order a list's query asks for: the `sort` key (one of `keys`; `default` when absent) and
/// whether `dir` is `desc`. Without a `sort` the default key runs descending (most exposed, most
/// weaknesses first); a key or direction not offered is a 400 naming the parameter.
pub fn sort_order<'a>(
    params: &'a Params,
    keys: &[&'a str],
    default: &'a str,
) -> Result<(&'a str, bool), super::PageError> {
    let key = params.get("sort").unwrap_or(default);
    if !keys.contains(&key) {
        return Err(super::PageError::bad_request(format!(
            "query parameter sort: {key:?} is not one of {}",
            keys.join(", ")
        )));
    }
    let descending = match params.get("dir") {
        Some("desc") => true,
        Some("asc") => false,
        None => params.get("sort").is_none(),
        Some(other) => {
            return Err(super::PageError::bad_request(format!(
                "query parameter dir: {other:?} is not one of asc, desc"
            )));
        }
    };
    Ok((key, descending))
}

/// A column header that sorts by `key` (a second click reverses), marked for screen readers.
pub fn sort_header(label: &str, key: &str, params: &Params) -> Markup {
    let current = params.get("sort");
    let descending = params.get("dir") == Some("desc");
    let active = current == Some(key);
    let next_dir = if active && !descending { "desc" } else { "asc" };
    let href = {
        let with_sort = Params {
            pairs: params
                .pairs()
                .iter()
                .filter(|(k, _)| k != "dir")
                .cloned()
                .collect(),
        };
        let base = with_sort.with("sort", Some(key));
        format!("{base}&dir={next_dir}")
    };
    let aria = match (active, descending) {
        (true, true) => "descending",
        (true, false) => "ascending",
        _ => "none",
    };
    html! {
        th scope="col" aria-sort=(aria) {
            a href=(href) { (label) @if active { (if descending { " ▼" } else { " ▲" }) } }
        }
    }
}

/// An empty state: what is missing and the next step to take.
pub fn empty_state(title: &str, next_step: Markup) -> Markup {
    html! {
        div.empty role="note" {
            h2 { (title) }
            (next_step)
        }
    }
}

/// The steps that give a new installation data, for empty states.
pub fn getting_started() -> Markup {
    html! {
        ol.steps {
            li { "Import advisories: " code { "bulwark import DIR-OR-ARCHIVE" } " (OSV), or download every feed with " code { "bulwark feeds sync" } "." }
            li { "Ingest an inventory: " code { "bulwark ingest FILE --device NAME" } " (SBOMs, lockfiles, dpkg/rpm/apk databases, osquery results)." }
            li { "Or run the agent on each device: " code { "bulwark agent --server URL --token AGENT-TOKEN" } "." }
        }
    }
}

/// Hidden fields that carry the current query through a form (except `skip`).
pub fn carry(params: &Params, skip: &[&str]) -> Markup {
    html! {
        @for (k, v) in params.pairs() {
            @if !skip.contains(&k.as_str()) {
                input type="hidden" name=(k) value=(v);
            }
        }
    }
}

/// How the dashboard and the recommendations show exceptions' effect on scores and impacts (the
/// `impact` query parameter): without exceptions, with mitigation-like exceptions applied (the
/// default, as the stored scores are), or both side by side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImpactView {
    /// `impact=none`: exceptions change no figure.
    NoImpact,
    /// `impact=mitigation`: mitigation-like exceptions score their weaknesses as remediated.
    #[default]
    MitigationLike,
    /// `impact=hybrid`: both, side by side.
    Hybrid,
}

impl ImpactView {
    /// The view the query asks for; an unknown value is a 400 naming the parameter.
    pub fn from_params(params: &Params) -> Result<ImpactView, super::PageError> {
        match params.get("impact") {
            None | Some("mitigation") => Ok(ImpactView::MitigationLike),
            Some("none") => Ok(ImpactView::NoImpact),
            Some("hybrid") => Ok(ImpactView::Hybrid),
            Some(other) => Err(super::PageError::bad_request(format!(
                "query parameter impact: {other:?} is not one of none, mitigation, hybrid"
            ))),
        }
    }

    /// The engine's modes to compute, in display order.
    pub fn modes(self) -> &'static [bulwark_engine::ImpactMode] {
        use bulwark_engine::ImpactMode;
        match self {
            ImpactView::NoImpact => &[ImpactMode::None],
            ImpactView::MitigationLike => &[ImpactMode::Mitigation],
            ImpactView::Hybrid => &[ImpactMode::None, ImpactMode::Mitigation],
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            ImpactView::NoImpact => "none",
            ImpactView::MitigationLike => "mitigation",
            ImpactView::Hybrid => "hybrid",
        }
    }
}

/// The label of an engine impact mode, as the switch and the hybrid columns name it.
pub fn mode_label(mode: bulwark_engine::ImpactMode) -> &'static str {
    match mode {
        bulwark_engine::ImpactMode::None => "No impact",
        bulwark_engine::ImpactMode::Mitigation => "Mitigation-like",
    }
}

/// The impact view switch: No impact / Mitigation-like / Hybrid, as links that keep the other
/// parameters.
pub fn impact_switch(params: &Params, current: ImpactView) -> Markup {
    let choices = [
        (ImpactView::NoImpact, "No impact"),
        (ImpactView::MitigationLike, "Mitigation-like"),
        (ImpactView::Hybrid, "Hybrid"),
    ];
    html! {
        nav.impact-switch aria-label="Exception impact view" {
            @for (view, label) in choices {
                a href=(params.with("impact", Some(view.as_str())))
                    aria-current=[(view == current).then_some("true")]
                    title="How exceptions count in scores and impacts" { (label) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_read_as_english_ordinals() {
        for (fraction, text) in [
            (0.0, "0th"),
            (0.01, "1st"),
            (0.92, "92nd"),
            (0.83, "83rd"),
            (0.111, "11th"),
            (0.12, "12th"),
            (0.13, "13th"),
            (0.94, "94th"),
            (0.999, "100th"),
        ] {
            assert_eq!(percentile(fraction), text, "{fraction}");
        }
    }
}
