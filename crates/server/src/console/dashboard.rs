//! The dashboard (`/`): exposure and secure scores with their trends, top recommendations, top
//! vulnerable software, the exposure distribution of devices, and exceptions that need attention.
//!
//! Every figure comes from the engine's aggregate calls ([`Engine::overview`] reads the fleet once for
//! both impact modes and the recommendations), and every list on the page is a short top-N: the page
//! costs the same to render at three devices as at 100k.
//!
//! [`Engine::overview`]: bulwark_engine::Engine::overview

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};

use bulwark_core::exposure::ExposureLevel;
use bulwark_core::recommendation::Recommendation;
use bulwark_core::score::Band;
use bulwark_engine::{
    CategoryScores, ConfigurationScore, ExceptionView, ExposureSummary, ImpactMode, Overview,
    ScoreScope, ScoreSnapshot,
};

use super::charts::{self, Bar, Counted, Series};
use super::layout::{self, ImpactView, Section};
use super::remediation::{exception_marks, exception_scope, exception_target, urlencode};
use super::{PageError, Params, Viewer, html_response};
use crate::AppState;

/// How far back the trend charts reach.
const HISTORY_DAYS: i64 = 30;
/// Rows of the top recommendations and top vulnerable software cards.
const TOP: usize = 5;
/// Exceptions ending within this many days are listed as expiring soon.
const EXPIRING_WITHIN_DAYS: i64 = 14;
/// At most this many exceptions per attention list; the rest are one click away.
const ATTENTION_ROWS: usize = 10;
/// Voided exceptions stay on the review list for this long after the policy voided them.
const VOIDED_SHOWN_DAYS: i64 = 30;

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router.route("/", get(dashboard))
}

/// `GET /`: the dashboard, in the impact view `impact=none|mitigation|hybrid` asks for.
async fn dashboard(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    let view = ImpactView::from_params(&params)?;
    let engine = &state.engine;
    let overview = engine.overview().await?;
    let has_advisories = !engine.index().advisories().is_empty();
    let content = if overview.devices == 0 {
        html! {
            h1 { "Dashboard" }
            (layout::empty_state(
                if has_advisories { "No devices yet" } else { "No advisories and no devices yet" },
                html! {
                    p { "Scores, recommendations and exceptions appear here once devices report their software. To begin:" }
                    (layout::getting_started())
                },
            ))
        }
    } else {
        let now = overview.time;
        let history = engine
            .score_history(
                ScoreScope::Organization,
                "",
                now - Duration::days(HISTORY_DAYS),
                now,
            )
            .await?;
        let secure = engine.configuration_score().await?;
        let exceptions = engine.exceptions().await?;
        html! {
            h1 { "Dashboard" }
            (layout::impact_switch(&params, view))
            @if !has_advisories {
                (layout::empty_state("No advisories imported", html! {
                    p { "Every device scores 0 until advisories are imported: nothing can match its software yet." }
                    (layout::getting_started())
                }))
            }
            div.cards {
                (exposure_card(view, &overview, &history))
                (secure_card(view, &secure, &history))
                (distribution_card(view, &overview))
            }
            div.cards {
                (recommendations_card(view, &overview.recommendations))
                (software_card(&overview.recommendations))
            }
            div.cards {
                (expiring_card(&exceptions, &overview.recommendations, now))
                (review_card(&exceptions, &overview.recommendations, now))
            }
        }
    };
    Ok(html_response(layout::page(
        &viewer,
        Section::Dashboard,
        "Dashboard",
        content,
    )))
}

/// A dashboard card: a section with id `id`, named by its heading (`{id}-title`).
fn card(id: &str, title: &str, body: Markup) -> Markup {
    let title_id = format!("{id}-title");
    html! {
        section.card id=(id) aria-labelledby=(title_id) {
            h2 id=(title_id) { (title) }
            (body)
        }
    }
}

/// The name of a band, as the badge shows it.
fn band_name(band: Band) -> &'static str {
    match band {
        Band::Low => "Low",
        Band::Medium => "Medium",
        Band::High => "High",
    }
}

/// A score with its band badge; `id` names the value (`exposure-score`), `{id}-band` the badge.
fn exposure_stat(id: &str, label: &str, summary: &ExposureSummary) -> Markup {
    let band = band_name(summary.band);
    html! {
        div.stat {
            span.stat-value id=(id) { (layout::score(summary.score)) }
            span.stat-label {
                (label) " · "
                span id=(format!("{id}-band")) { (layout::badge(band, &band.to_ascii_lowercase())) }
            }
        }
    }
}

/// The exposure score in the chosen view, and its recorded trend.
fn exposure_card(view: ImpactView, overview: &Overview, history: &[ScoreSnapshot]) -> Markup {
    let recorded: Vec<(DateTime<Utc>, f64)> = history.iter().map(|s| (s.at, s.exposure)).collect();
    let recorded = charts::last_per_day(&recorded);
    card(
        "exposure-card",
        "Exposure score",
        html! {
            @match view {
                ImpactView::NoImpact => (exposure_stat("exposure-score", "No impact: exceptions not counted", overview.exposure(ImpactMode::None))),
                ImpactView::MitigationLike => (exposure_stat("exposure-score", "Mitigation-like exceptions count as remediated", overview.exposure(ImpactMode::Mitigation))),
                ImpactView::Hybrid => {
                    (exposure_stat("exposure-score-no-impact", layout::mode_label(ImpactMode::None), overview.exposure(ImpactMode::None)))
                    (exposure_stat("exposure-score-mitigation", layout::mode_label(ImpactMode::Mitigation), overview.exposure(ImpactMode::Mitigation)))
                }
            }
            p.hint { "0–100, lower is better. Bands: Low 0–29, Medium 30–69, High 70–100." }
            (charts::score_chart(
                "exposure-trend",
                &format!("Exposure score, last {HISTORY_DAYS} days (as recorded, mitigation-like exceptions applied)"),
                &[Series { name: "Recorded exposure score", class: "line", points: &recorded }],
            ))
            @if view != ImpactView::MitigationLike {
                p.hint #exposure-history-note {
                    "Scores are recorded with mitigation-like exceptions applied only, so there is no recorded history "
                    "without exceptions; the no-impact figure above is the current one."
                }
            }
        },
    )
}

/// The five categories of the secure score, with their labels.
fn categories(c: &CategoryScores) -> [(&'static str, Option<f64>); 5] {
    [
        ("Application", c.application),
        ("OS", c.os),
        ("Network", c.network),
        ("Accounts", c.accounts),
        ("Security controls", c.security_controls),
    ]
}

/// The secure score for devices, its categories and its recorded trend.
fn secure_card(view: ImpactView, secure: &ConfigurationScore, history: &[ScoreSnapshot]) -> Markup {
    let recorded: Vec<(DateTime<Utc>, f64)> = history
        .iter()
        .filter_map(|s| s.configuration.map(|c| (s.at, c)))
        .collect();
    let recorded = charts::last_per_day(&recorded);
    card(
        "secure-card",
        "Secure score for devices",
        html! {
            @match secure.score {
                Some(score) => {
                    div.stat {
                        span.stat-value #secure-score { (layout::score(score)) }
                        span.stat-label { (secure.achieved) " of " (secure.possible) " points · higher is better" }
                    }
                    table #secure-categories {
                        caption.sr-only { "Secure score by category" }
                        thead { tr { th scope="col" { "Category" } th.num scope="col" { "Score" } } }
                        tbody {
                            @for (name, score) in categories(&secure.categories) {
                                tr {
                                    th scope="row" { (name) }
                                    td.num { @match score { Some(s) => (layout::score(s)), None => span.muted { "Not assessed" } } }
                                }
                            }
                        }
                    }
                    (charts::score_chart(
                        "secure-trend",
                        &format!("Secure score, last {HISTORY_DAYS} days"),
                        &[Series { name: "Recorded secure score", class: "line", points: &recorded }],
                    ))
                    @if view == ImpactView::NoImpact {
                        p.hint { "The secure score always counts the checks a mitigation-like exception covers as passing." }
                    }
                }
                None => {
                    p #secure-score-empty {
                        "No device has a configuration assessment yet. Upload one with "
                        code { "bulwark assess RESULTS --device NAME" }
                        " (OpenSCAP XCCDF results or osquery JSON), or run the agent, which reports its configuration checks."
                    }
                }
            }
        },
    )
}

/// The exposure levels in the order the distribution shows them, with their bar classes.
const LEVELS: [(ExposureLevel, &str, &str); 4] = [
    (ExposureLevel::High, "High", "bar-high"),
    (ExposureLevel::Medium, "Medium", "bar-medium"),
    (ExposureLevel::Low, "Low", "bar-low"),
    (ExposureLevel::None, "None", "bar-none"),
];

/// One mode's distribution chart.
fn distribution_chart(id: &str, title: &str, summary: &ExposureSummary) -> Markup {
    let bars: Vec<Bar<'_>> = LEVELS
        .iter()
        .map(|&(level, label, class)| Bar {
            label,
            value: summary.levels.of(level),
            class,
        })
        .collect();
    charts::bar_chart(
        id,
        title,
        Counted {
            category: "Exposure level",
            one: "device",
            many: "devices",
        },
        &bars,
    )
}

/// Active devices per exposure level, in the chosen view (both side by side in hybrid).
fn distribution_card(view: ImpactView, overview: &Overview) -> Markup {
    let active = overview.with_exceptions.levels.total();
    card(
        "exposure-distribution",
        "Exposure distribution",
        html! {
            @for &mode in view.modes() {
                @let id = match mode { ImpactMode::None => "distribution-no-impact", ImpactMode::Mitigation => "distribution-mitigation" };
                (distribution_chart(id, &format!("Devices by exposure level ({})", layout::mode_label(mode)), overview.exposure(mode)))
            }
            p.hint {
                span #active-devices { (active) } " active " (if active == 1 { "device" } else { "devices" })
                " (seen in the last 30 days) of " (overview.devices) ". "
                a href="/devices" { "All devices" }
            }
        },
    )
}

/// The link that opens a recommendation's flyout on the recommendations page.
fn recommendation_href(id: &str) -> String {
    format!("/recommendations?flyout={}", urlencode(id))
}

/// The link that opens an exception's flyout on the Remediation page's Exceptions tab.
fn exception_href(id: i64) -> String {
    format!("/remediation?tab=exceptions&flyout={id}")
}

/// The top recommendations by exposure impact in the chosen view (excepted ones are behind "Show
/// exceptions", as in the recommendations list).
fn top_recommendations(
    view: ImpactView,
    recommendations: &[Recommendation],
) -> Vec<&Recommendation> {
    let impact = |r: &Recommendation| match view {
        ImpactView::NoImpact => r.exposure_impact,
        ImpactView::MitigationLike | ImpactView::Hybrid => r.exposure_impact_after_exceptions,
    };
    let mut top: Vec<&Recommendation> = recommendations
        .iter()
        .filter(|r| r.status != "Exception")
        .collect();
    top.sort_by(|a, b| {
        impact(b)
            .total_cmp(&impact(a))
            .then(b.severity_score.total_cmp(&a.severity_score))
            .then(b.exposed_machines_count.cmp(&a.exposed_machines_count))
            .then(a.id.cmp(&b.id))
    });
    top.truncate(TOP);
    top
}

/// The "Top security recommendations" card.
fn recommendations_card(view: ImpactView, recommendations: &[Recommendation]) -> Markup {
    let top = top_recommendations(view, recommendations);
    let before = view != ImpactView::MitigationLike;
    let after = view != ImpactView::NoImpact;
    card(
        "top-recommendations",
        "Top security recommendations",
        html! {
            @if top.is_empty() {
                p { "No open recommendation: no active device has a vulnerable version of any product." }
            } @else {
                div.table-wrap {
                    table {
                        thead {
                            tr {
                                th scope="col" { "Recommendation" }
                                @if before {
                                    th.num scope="col" { "Exposed devices" }
                                    th.num scope="col" { "Impact" }
                                }
                                @if after {
                                    th.num scope="col" { "Exposed devices (after exceptions)" }
                                    th.num scope="col" { "Impact (after exceptions)" }
                                }
                            }
                        }
                        tbody {
                            @for r in &top {
                                tr data-recommendation=(r.id) {
                                    td {
                                        a href=(recommendation_href(&r.id)) data-flyout { (r.recommendation_name) }
                                        @if r.status == "PartialException" { " " (layout::badge("Partial exception", "info")) }
                                        @if r.public_exploit { " " (layout::badge("Public exploit", "high")) }
                                    }
                                    @if before {
                                        td.num { (r.exposed_machines_count) }
                                        td.num.impact { (layout::score(r.exposure_impact)) }
                                    }
                                    @if after {
                                        td.num { (r.exposed_machines_count_after_exceptions) }
                                        td.num.impact-after { (layout::score(r.exposure_impact_after_exceptions)) }
                                    }
                                }
                            }
                        }
                    }
                }
                p.hint { "Impact: how many points the exposure score drops once the recommendation is applied everywhere." }
            }
            p {
                a #show-exceptions href="/recommendations?status=Exception" { "Show exceptions" }
                " · "
                a href="/recommendations" { "All recommendations" }
            }
        },
    )
}

/// The products with the most weaknesses on active devices (then the most exposed devices).
fn top_software(recommendations: &[Recommendation]) -> Vec<&Recommendation> {
    let mut top: Vec<&Recommendation> = recommendations
        .iter()
        .filter(|r| r.exposed_machines_count > 0)
        .collect();
    // Most weaknesses first, as the Software page orders its list by default, so "All software"
    // continues this list instead of reshuffling it.
    top.sort_by(|a, b| {
        b.weaknesses
            .cmp(&a.weaknesses)
            .then(b.exposed_machines_count.cmp(&a.exposed_machines_count))
            .then(a.product_name.cmp(&b.product_name))
    });
    top.truncate(TOP);
    top
}

/// The "Top vulnerable software" card.
fn software_card(recommendations: &[Recommendation]) -> Markup {
    let top = top_software(recommendations);
    card(
        "top-software",
        "Top vulnerable software",
        html! {
            @if top.is_empty() {
                p { "No vulnerable software on any active device." }
            } @else {
                div.table-wrap {
                    table {
                        thead {
                            tr {
                                th scope="col" { "Software" }
                                th.num scope="col" { "Weaknesses" }
                                th.num scope="col" { "Exposed devices" }
                                th scope="col" { "Threats" }
                            }
                        }
                        tbody {
                            @for r in &top {
                                tr data-software=(r.product_name) {
                                    td {
                                        a href=(format!("/software?q={}", urlencode(&r.product_name))) { (r.product_name) }
                                        " " span.muted { (r.vendor) }
                                        " · " a href=(recommendation_href(&r.id)) data-flyout aria-label=(format!("Recommendation for {}", r.product_name)) { "Recommendation" }
                                    }
                                    td.num { (r.weaknesses) }
                                    td.num { (r.exposed_machines_count) }
                                    td {
                                        @if r.public_exploit { (layout::badge("Public exploit", "high")) }
                                        @else if !r.associated_threats.is_empty() { (layout::badge("Known threat", "warn")) }
                                        @else { span.muted { "None known" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { a href="/software" { "All software" } }
        },
    )
}

/// Recommendation names by id, for naming exceptions (from the overview: no second read).
fn names(recommendations: &[Recommendation]) -> HashMap<String, String> {
    recommendations
        .iter()
        .map(|r| (r.id.clone(), r.recommendation_name.clone()))
        .collect()
}

/// Whole days until `at` (0 on its last day).
fn days_until(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (at - now).num_days().max(0)
}

/// The "Exceptions expiring soon" card.
fn expiring_card(
    exceptions: &[ExceptionView],
    recommendations: &[Recommendation],
    now: DateTime<Utc>,
) -> Markup {
    let mut expiring: Vec<&ExceptionView> = exceptions
        .iter()
        .filter(|e| e.expires_within(now, EXPIRING_WITHIN_DAYS))
        .collect();
    expiring.sort_by_key(|e| (e.expires_on, e.id));
    let names = names(recommendations);
    let more = expiring.len().saturating_sub(ATTENTION_ROWS);
    card(
        "expiring-exceptions",
        "Exceptions expiring soon",
        html! {
            @if exceptions.is_empty() {
                p { "No exceptions yet. An exception is created from a recommendation's Exception options." }
            } @else if expiring.is_empty() {
                p { "No exception expires in the next " (EXPIRING_WITHIN_DAYS) " days." }
            } @else {
                ul.attention {
                    @for e in expiring.iter().take(ATTENTION_ROWS) {
                        @let days = days_until(e.expires_on, now);
                        li data-exception=(e.id) {
                            a href=(exception_href(e.id)) data-flyout { (exception_target(e, &names)) }
                            " · " (e.justification_label) " · " (exception_scope(e))
                            br;
                            span.muted {
                                "Expires " time datetime=(e.expires_on.to_rfc3339()) { (layout::date(e.expires_on)) }
                                " (" @if days == 0 { "today" } @else if days == 1 { "in 1 day" } @else { "in " (days) " days" } ")"
                            }
                        }
                    }
                }
                @if more > 0 {
                    p { "And " (more) " more: " a href="/remediation?tab=exceptions&status=InEffect" { "all exceptions in effect" } }
                }
            }
        },
    )
}

/// Why an exception needs a look: the resurfacing reasons, and staleness in words.
fn review_reasons(e: &ExceptionView) -> Vec<String> {
    let mut reasons = e.review_reasons.clone();
    if e.stale {
        let since = e.last_covered_on.unwrap_or(e.created_on);
        reasons.push(format!(
            "It has covered no finding since {}.",
            layout::date(since)
        ));
    }
    reasons
}

/// Whether an exception belongs on the review list: in effect and resurfaced or stale, or voided by
/// the policy recently.
fn needs_attention(e: &ExceptionView, now: DateTime<Utc>) -> bool {
    let in_effect = e.status == bulwark_core::exception::ExceptionStatus::InEffect;
    (in_effect && (e.needs_review || e.stale))
        || (e.voided
            && e.canceled_on
                .is_some_and(|t| now - t <= Duration::days(VOIDED_SHOWN_DAYS)))
}

/// The "Exceptions to review" card: resurfaced, voided and stale exceptions.
fn review_card(
    exceptions: &[ExceptionView],
    recommendations: &[Recommendation],
    now: DateTime<Utc>,
) -> Markup {
    let mut review: Vec<&ExceptionView> = exceptions
        .iter()
        .filter(|e| needs_attention(e, now))
        .collect();
    review.sort_by_key(|e| (!e.voided, !e.needs_review, e.id));
    let names = names(recommendations);
    let more = review.len().saturating_sub(ATTENTION_ROWS);
    card(
        "review-exceptions",
        "Exceptions to review",
        html! {
            @if exceptions.is_empty() {
                p { "No exceptions yet." }
            } @else if review.is_empty() {
                p { "No exception needs review: none has resurfaced and every one still covers findings." }
            } @else {
                ul.attention {
                    @for e in review.iter().take(ATTENTION_ROWS) {
                        @let reasons = review_reasons(e);
                        li data-exception=(e.id) {
                            a href=(exception_href(e.id)) data-flyout { (exception_target(e, &names)) }
                            (exception_marks(e))
                            " · " (e.justification_label) " · " (exception_scope(e))
                            @if !reasons.is_empty() {
                                ul.reasons { @for r in &reasons { li { (r) } } }
                            }
                        }
                    }
                }
                @if more > 0 {
                    p { "And " (more) " more on the " a href="/remediation?tab=exceptions" { "Exceptions tab" } "." }
                }
            }
        },
    )
}
