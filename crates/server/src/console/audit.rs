//! The Audit log page (`/audit`): the audit trail newest first, filtered by actor, action, entity and
//! time, paged, each entry expandable to the entity before and after the change, and the result of
//! verifying the hash chain.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use bulwark_engine::AuditFilter;

use super::layout::{self, Paging, Section};
use super::{PageError, Params, Viewer, html_response};
use crate::AppState;
use crate::routes::scores::parse_time;

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router.route("/audit", get(audit))
}

/// Stored JSON text, indented for reading (as stored when it is not JSON).
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

/// The chain's verification, said plainly: intact with its length, or where it breaks.
fn verification(result: &Result<usize, bulwark_core::audit::ChainBreak>) -> Markup {
    html! {
        section.card #audit-verify aria-labelledby="audit-verify-title" {
            h2 #audit-verify-title { "Chain verification" }
            @match result {
                Ok(n) => p role="status" { (layout::badge("OK", "ok")) " Every entry verifies: " strong #audit-verified { (n) } " entries, each chained to the one before." }
                Err(b) => p role="alert" { (layout::badge("Broken", "high")) " The chain breaks at entry " strong #audit-break { "#" (b.seq) } ": " (b.reason) ". Entries from there on cannot be trusted; restore the database from a backup and compare." }
            }
        }
    }
}

/// `GET /audit`: the audit log.
async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, PageError> {
    let paging = Paging::from_params(&params)?;
    let from = params
        .get("from")
        .map(|t| parse_time("from", t, false))
        .transpose()?;
    let to = params
        .get("to")
        .map(|t| parse_time("to", t, true))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(PageError::bad_request("from: must not be after to"));
    }
    let action = params.get("action");
    let filter = AuditFilter {
        entity: params.get("entity").map(str::to_string),
        entity_id: params.get("entityId").map(str::to_string),
        actor: params.get("actor").map(str::to_string),
        ..AuditFilter::default()
    };
    let verified = state.engine.verify_audit().await?;
    let mut entries = state.engine.audit(&filter).await?;
    let actions: BTreeSet<String> = entries.iter().map(|e| e.action.clone()).collect();
    entries.retain(|e| {
        action.is_none_or(|a| e.action == a)
            && from.is_none_or(|f| e.at >= f)
            && to.is_none_or(|t| e.at <= t)
    });
    // The store answers oldest first; the log reads newest first.
    entries.reverse();
    let rows = paging.slice(&entries);
    let content = html! {
        h1 { "Audit log" }
        (verification(&verified))
        form.filters #audit-filters method="get" action="/audit" data-live {
            label for="filter-actor" { "Actor" input #filter-actor type="text" name="actor" value=[params.get("actor")] placeholder="e-mail or system"; }
            label for="filter-action" { "Action"
                select #filter-action name="action" {
                    option value="" { "All" }
                    @for a in &actions { option value=(a) selected[action == Some(a.as_str())] { (a) } }
                    @if let Some(a) = action.filter(|a| !actions.contains(*a)) { option value=(a) selected { (a) } }
                }
            }
            label for="filter-entity" { "Entity"
                select #filter-entity name="entity" {
                    option value="" { "All" }
                    @for (v, text) in [("exception", "Exception"), ("remediationTask", "Remediation activity"), ("user", "User"), ("token", "API token"), ("webhook", "Webhook"), ("settings", "Settings")] {
                        option value=(v) selected[params.get("entity") == Some(v)] { (text) }
                    }
                }
            }
            label for="filter-entity-id" { "Entity id" input #filter-entity-id type="text" name="entityId" value=[params.get("entityId")]; }
            label for="filter-from" { "From" input #filter-from type="date" name="from" value=[params.get("from")]; }
            label for="filter-to" { "To" input #filter-to type="date" name="to" value=[params.get("to")]; }
            button type="submit" { "Apply" }
        }
        p.muted #audit-count { (entries.len()) " entries" }
        @if entries.is_empty() {
            (layout::empty_state("No audit entries", html! {
                p { "Every change to exceptions, remediation activities, users, tokens, webhooks and settings is recorded here, chained by hash. "
                    @if params.pairs().iter().any(|(k, _)| !["page", "per"].contains(&k.as_str())) { a href="/audit" { "Clear the filters" } } }
            }))
        } @else {
            ol.audit #audit-entries {
                @for e in rows {
                    li #(format!("audit-{}", e.seq)) {
                        details {
                            summary {
                                span.muted { "#" (e.seq) " · " (layout::time(e.at)) } " "
                                strong { (e.actor) } " " code { (e.action) } " "
                                (e.entity) " " (e.entity_id)
                            }
                            div.audit-change {
                                h3 { "Before" }
                                @match &e.before { Some(b) => { pre { (pretty(b)) } } None => { p.muted { "Nothing (created)." } } }
                                h3 { "After" }
                                @match &e.after { Some(a) => { pre { (pretty(a)) } } None => { p.muted { "Nothing (deleted)." } } }
                                p.muted { "Hash " code { (e.hash) } br; "Previous " code { (e.prev_hash) } }
                            }
                        }
                    }
                }
            }
            (paging.pager(entries.len(), &params))
        }
    };
    Ok(html_response(layout::page(
        &viewer,
        Section::Audit,
        "Audit log",
        content,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verification_says_where_the_chain_breaks() {
        let ok = verification(&Ok(12)).into_string();
        assert!(ok.contains("Every entry verifies"), "{ok}");
        assert!(
            ok.contains(r#"<strong id="audit-verified">12</strong>"#),
            "{ok}"
        );
        let broken = verification(&Err(bulwark_core::audit::ChainBreak {
            seq: 3,
            reason: "the hash does not match the entry".into(),
        }))
        .into_string();
        assert!(broken.contains(r#"role="alert""#), "{broken}");
        assert!(
            broken.contains(r##"<strong id="audit-break">#3</strong>"##),
            "{broken}"
        );
        assert!(broken.contains("the hash does not match the entry"));
    }

    #[test]
    fn stored_json_is_indented_and_other_text_kept() {
        assert_eq!(pretty(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty("999"), "999");
        assert_eq!(pretty("not json"), "not json");
    }
}
