//! The Settings page (`/settings`): device groups (create, edit, delete), users (admins add them),
//! API tokens (the signed-in user's own — shown once when created — and, for admins, everyone's),
//! webhooks and the exception policy (admins). Viewers see it read-only.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use bulwark_core::exception::ExceptionPolicy;
use bulwark_core::group::{DeviceGroup, GroupRule};
use bulwark_core::identity::{Action, ApiToken, Role, User};
use bulwark_core::webhook::ALL_EVENTS;
use bulwark_engine::{CreatedToken, DeviceGroupPatch, NewDeviceGroup};

use super::layout::{self, Section};
use super::remediation::{column_heads, record_id};
use super::{Form, PageError, Viewer, done, html_response};
use crate::AppState;
use crate::error::ApiError;

/// Adds this section's routes.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/settings", get(settings))
        .route("/settings/groups", post(create_group))
        .route("/settings/groups/{id}", post(update_group))
        .route("/settings/groups/{id}/delete", post(delete_group))
        .route("/settings/users", post(add_user))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
        .route("/settings/webhooks", post(add_webhook))
        .route("/settings/webhooks/{id}/remove", post(remove_webhook))
        .route("/settings/exception-policy", post(set_policy))
}

/// Viewers only read, as the API's middleware has it (tokens are the one change the engine would
/// allow them, and the console keeps the API's rule).
fn refuse_viewer(viewer: &Viewer) -> Result<(), PageError> {
    if viewer.user.role == Role::Viewer {
        return Err(PageError(ApiError::Forbidden(format!(
            "{} (viewer) may only read; changes need the analyst or admin role",
            viewer.user.email
        ))));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The page

/// `GET /settings`.
async fn settings(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    settings_page(&state, &viewer, None).await
}

/// The page, with a token just created shown once.
async fn settings_page(
    state: &AppState,
    viewer: &Viewer,
    new_token: Option<CreatedToken>,
) -> Result<Response, PageError> {
    let groups = state.engine.device_groups().await?;
    let users = state.engine.users().await?;
    let mine = state
        .engine
        .tokens(&viewer.user, &viewer.user.email)
        .await?;
    let mut others: Vec<(User, ApiToken)> = Vec::new();
    if viewer.may(Action::ManageUsers) {
        for u in users.iter().filter(|u| u.id != viewer.user.id) {
            for t in state.engine.tokens(&viewer.user, &u.email).await? {
                others.push((u.clone(), t));
            }
        }
    }
    let webhooks = if viewer.may(Action::ManageSettings) {
        Some(state.engine.webhooks(&viewer.user).await?)
    } else {
        None
    };
    let policy = state.engine.exception_policy().await?;
    let now = state.engine.now();
    let content = html! {
        h1 { "Settings" }
        @if viewer.user.role == Role::Viewer {
            p.hint #read-only { "You have the viewer role: settings are shown read-only." }
        }
        nav.tabs aria-label="Settings sections" {
            a href="#groups" { "Device groups" }
            a href="#users" { "Users" }
            a href="#tokens" { "API tokens" }
            a href="#webhooks" { "Webhooks" }
            a href="#policy" { "Exception policy" }
        }
        (groups_section(viewer, &groups))
        (users_section(viewer, &users))
        (tokens_section(viewer, &mine, &others, new_token.as_ref(), now))
        (webhooks_section(viewer, webhooks.as_deref()))
        (policy_section(viewer, &policy))
    };
    Ok(html_response(layout::page(
        viewer,
        Section::Settings,
        "Settings",
        content,
    )))
}

// ---------------------------------------------------------------------------------------------
// Device groups

/// A rule as the form writes it: `name:web-*`, `tag:internet-facing`, `os:debian`.
fn rule_text(rule: &GroupRule) -> String {
    match rule {
        GroupRule::NamePattern(p) => format!("name:{p}"),
        GroupRule::Tag(t) => format!("tag:{t}"),
        GroupRule::Os(o) => format!("os:{o}"),
    }
}

/// The rules of the form's `rules` field, one per line; a 400 names the line that does not parse.
fn parse_rules(text: &str) -> Result<Vec<GroupRule>, PageError> {
    let mut rules = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (kind, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(PageError::bad_request(format!(
                "rules: line {}: {line:?} needs a value after the colon (name:PATTERN, tag:TAG or os:PREFIX)",
                n + 1
            )));
        }
        rules.push(match kind.trim().to_ascii_lowercase().as_str() {
            "name" => GroupRule::NamePattern(value),
            "tag" => GroupRule::Tag(value),
            "os" => GroupRule::Os(value),
            other => {
                return Err(PageError::bad_request(format!(
                    "rules: line {}: {other:?} is not one of name, tag, os",
                    n + 1
                )));
            }
        });
    }
    Ok(rules)
}

fn rules_text(rules: &[GroupRule]) -> String {
    rules.iter().map(rule_text).collect::<Vec<_>>().join("\n")
}

/// The fields a group form shares (create and edit); `prefix` keeps the ids unique on the page.
fn group_fields(prefix: &str, group: Option<&DeviceGroup>) -> Markup {
    html! {
        label for=(format!("{prefix}-name")) { "Name"
            input id=(format!("{prefix}-name")) name="name" required value=[group.map(|g| g.name.as_str())];
        }
        label for=(format!("{prefix}-description")) { "Description"
            input id=(format!("{prefix}-description")) name="description" value=[group.map(|g| g.description.as_str())];
        }
        label for=(format!("{prefix}-rank")) { "Rank (rule groups are tried lowest first)"
            input id=(format!("{prefix}-rank")) name="rank" type="number" value=(group.map_or(100, |g| g.rank));
        }
        label for=(format!("{prefix}-rules")) { "Rules, one per line, all must match: name:PATTERN (* and ?), tag:TAG, os:PREFIX; none: explicit assignment only"
            textarea id=(format!("{prefix}-rules")) name="rules" rows="3" { (group.map(|g| rules_text(&g.rules)).unwrap_or_default()) }
        }
    }
}

fn groups_section(viewer: &Viewer, groups: &[DeviceGroup]) -> Markup {
    let may = viewer.may(Action::WriteInventory);
    html! {
        section.card #groups aria-labelledby="groups-title" {
            h2 #groups-title { "Device groups" }
            p.hint { "A device is in the group it is assigned to, else the first group by rank whose rules all match it, else Ungrouped. Exceptions, activities and group scores use this one assignment." }
            @if groups.is_empty() {
                p.muted #no-groups { "No device group is defined; devices are in the group their inventory named, or Ungrouped." }
            } @else {
                div.table-wrap { table #group-table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Rank" } th scope="col" { "Rules" } @if may { th scope="col" { span.sr-only { "Actions" } } } } }
                    tbody { @for g in groups { tr #(format!("group-{}", g.id)) {
                        td { (g.name) }
                        td { (g.description) }
                        td.num { (g.rank) }
                        td { @if g.rules.is_empty() { span.muted { "explicit assignment only" } } @else { @for r in &g.rules { code { (rule_text(r)) } " " } } }
                        @if may { td {
                            details {
                                summary { "Edit " (g.name) }
                                form.stack.group-edit method="post" action=(format!("/settings/groups/{}", g.id)) {
                                    (layout::csrf(viewer))
                                    (group_fields(&format!("group-{}", g.id), Some(g)))
                                    div { button.primary type="submit" { "Save group" } }
                                }
                            }
                            form.group-delete method="post" action=(format!("/settings/groups/{}/delete", g.id)) {
                                (layout::csrf(viewer))
                                button.danger type="submit" { "Delete " (g.name) }
                            }
                        } }
                    } } }
                } }
            }
            @if may {
                form.stack #group-create-form method="post" action="/settings/groups" {
                    h3 { "New device group" }
                    (layout::csrf(viewer))
                    (group_fields("new-group", None))
                    div { button.primary type="submit" { "Create group" } }
                }
            }
        }
    }
}

/// The fields of a group form (create and edit alike: every field is sent).
fn group_form(form: &Form) -> Result<NewDeviceGroup, PageError> {
    Ok(NewDeviceGroup {
        name: form.required("name")?.to_string(),
        description: form.get("description").unwrap_or("").to_string(),
        rank: form.parsed::<i64>("rank")?.unwrap_or(100),
        rules: parse_rules(form.get("rules").unwrap_or(""))?,
    })
}

/// `POST /settings/groups`: creates a device group.
async fn create_group(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Form,
) -> Result<Response, PageError> {
    viewer.require(Action::WriteInventory)?;
    let group = state.engine.create_device_group(group_form(&form)?).await?;
    Ok(done(
        &viewer,
        "/settings#groups",
        &format!("Device group {} created.", group.name),
    ))
}

/// `POST /settings/groups/{id}`: renames a group or changes its description, rank or rules.
async fn update_group(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    viewer.require(Action::WriteInventory)?;
    let id = record_id(&id, "device group")?;
    let fields = group_form(&form)?;
    let patch = DeviceGroupPatch {
        name: Some(fields.name),
        description: Some(fields.description),
        rank: Some(fields.rank),
        rules: Some(fields.rules),
    };
    let group = state.engine.update_device_group(id, patch).await?;
    Ok(done(
        &viewer,
        "/settings#groups",
        &format!("Device group {} saved.", group.name),
    ))
}

/// `POST /settings/groups/{id}/delete`: deletes a group (its assigned devices fall back to the rules).
async fn delete_group(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: Form,
) -> Result<Response, PageError> {
    viewer.require(Action::WriteInventory)?;
    let id = record_id(&id, "device group")?;
    let name = state
        .engine
        .device_groups()
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .map(|g| g.name)
        .ok_or_else(|| PageError::not_found(format!("device group {id} not found")))?;
    state.engine.delete_device_group(id).await?;
    Ok(done(
        &viewer,
        "/settings#groups",
        &format!("Device group {name} deleted; its assigned devices now follow the rules."),
    ))
}

// ---------------------------------------------------------------------------------------------
// Users

fn users_section(viewer: &Viewer, users: &[User]) -> Markup {
    html! {
        section.card #users aria-labelledby="users-title" {
            h2 #users-title { "Users" }
            p.hint { "Viewers read everything; analysts also request remediation and manage device-group exceptions; admins also manage global exceptions, settings, users and everyone's tokens." }
            div.table-wrap { table #user-table {
                (column_heads(&["E-mail", "Name", "Role", "Since"]))
                tbody { @for u in users { tr {
                    td { (u.email) } td { (u.display_name) } td { (u.role.as_str()) } td.date { (layout::date(u.created_at)) }
                } } }
            } }
            @if viewer.may(Action::ManageUsers) {
                form.stack #user-form method="post" action="/settings/users" {
                    h3 { "Add a user" }
                    (layout::csrf(viewer))
                    label for="user-email" { "E-mail" input #user-email name="email" type="email" required; }
                    label for="user-name" { "Display name (optional)" input #user-name name="displayName"; }
                    label for="user-role" { "Role"
                        select #user-role name="role" {
                            option value="viewer" { "Viewer" }
                            option value="analyst" selected { "Analyst" }
                            option value="admin" { "Admin" }
                        }
                    }
                    label for="user-password" { "Password for the console (at least 12 characters; leave blank for API-only users)"
                        input #user-password name="password" type="password" autocomplete="new-password";
                    }
                    div { button.primary type="submit" { "Add user" } }
                }
            }
        }
    }
}

/// `POST /settings/users`: adds a user (admins).
async fn add_user(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Form,
) -> Result<Response, PageError> {
    let email = form.required("email")?;
    let role_name = form.required("role")?;
    let role = Role::parse(role_name).ok_or_else(|| {
        PageError::bad_request(format!(
            "role: {role_name:?} is not one of viewer, analyst, admin"
        ))
    })?;
    let user = state
        .engine
        .add_user(
            &viewer.user,
            email,
            form.get("displayName"),
            role,
            form.get("password"),
        )
        .await?;
    Ok(done(
        &viewer,
        "/settings#users",
        &format!("User {} added as {}.", user.email, user.role.as_str()),
    ))
}

// ---------------------------------------------------------------------------------------------
// API tokens

fn token_state(t: &ApiToken, now: chrono::DateTime<chrono::Utc>) -> Markup {
    if t.revoked_at.is_some_and(|r| r <= now) {
        layout::badge("Revoked", "none")
    } else if t.expires_at.is_some_and(|e| e <= now) {
        layout::badge("Expired", "none")
    } else {
        layout::badge("Active", "ok")
    }
}

fn token_row(
    viewer: &Viewer,
    owner: Option<&User>,
    t: &ApiToken,
    now: chrono::DateTime<chrono::Utc>,
) -> Markup {
    html! {
        tr #(format!("token-{}", t.id)) {
            @if let Some(u) = owner { td { (u.email) } }
            td { code { (t.prefix) "…" } }
            td.date { (layout::date(t.created_at)) }
            td.date { @match t.expires_at { Some(e) => { (layout::date(e)) } None => { "never" } } }
            td { @match t.last_used_at { Some(u) => { (layout::time(u)) } None => { "never" } } }
            td { (token_state(t, now)) }
            @if viewer.user.role != Role::Viewer {
                td { @if t.valid_at(now) {
                    form.token-revoke method="post" action=(format!("/settings/tokens/{}/revoke", t.id)) {
                        (layout::csrf(viewer))
                        button.danger type="submit" { "Revoke " (t.prefix) }
                    }
                } }
            }
        }
    }
}

fn tokens_section(
    viewer: &Viewer,
    mine: &[ApiToken],
    others: &[(User, ApiToken)],
    new_token: Option<&CreatedToken>,
    now: chrono::DateTime<chrono::Utc>,
) -> Markup {
    let may = viewer.user.role != Role::Viewer;
    let head = |owner: bool| {
        html! { thead { tr {
            @if owner { th scope="col" { "User" } }
            th scope="col" { "Token" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { "State" }
            @if may { th scope="col" { span.sr-only { "Actions" } } }
        } } }
    };
    html! {
        section.card #tokens aria-labelledby="tokens-title" {
            h2 #tokens-title { "API tokens" }
            @if let Some(created) = new_token {
                div.notice #new-token-box role="status" {
                    p { "Your new API token — copy it now: it is shown only this once." }
                    p { output #new-token { (created.token) } }
                    p.hint { "Send it as " code { "Authorization: Bearer TOKEN" } "." }
                }
            }
            h3 { "Your tokens" }
            @if mine.is_empty() {
                p.muted #no-tokens { "You have no API token." }
            } @else {
                div.table-wrap { table #my-tokens { (head(false)) tbody { @for t in mine { (token_row(viewer, None, t, now)) } } } }
            }
            @if may {
                form.filters #token-form method="post" action="/settings/tokens" {
                    (layout::csrf(viewer))
                    label for="token-days" { "Valid for (days; blank: no expiry)" input #token-days name="days" type="number" min="1"; }
                    button.primary type="submit" { "Create token" }
                }
            }
            @if viewer.may(Action::ManageUsers) {
                h3 { "Other users' tokens" }
                @if others.is_empty() {
                    p.muted { "No other user has a token." }
                } @else {
                    div.table-wrap { table #other-tokens { (head(true)) tbody { @for (u, t) in others { (token_row(viewer, Some(u), t, now)) } } } }
                }
            }
        }
    }
}

/// `POST /settings/tokens`: creates a token for the signed-in user and shows it once, on the page
/// itself (never in a cookie or a redirect).
async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Form,
) -> Result<Response, PageError> {
    refuse_viewer(&viewer)?;
    let days = form.parsed::<u32>("days")?;
    let created = state
        .engine
        .create_token(&viewer.user, &viewer.user.email, days)
        .await?;
    settings_page(&state, &viewer, Some(created)).await
}

/// `POST /settings/tokens/{id}/revoke`: revokes a token (one's own; admins anyone's).
async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: Form,
) -> Result<Response, PageError> {
    refuse_viewer(&viewer)?;
    let id = record_id(&id, "token")?;
    let token = state.engine.revoke_token(&viewer.user, id).await?;
    Ok(done(
        &viewer,
        "/settings#tokens",
        &format!("Token {}… revoked.", token.prefix),
    ))
}

// ---------------------------------------------------------------------------------------------
// Webhooks

fn webhooks_section(
    viewer: &Viewer,
    webhooks: Option<&[bulwark_core::webhook::Webhook]>,
) -> Markup {
    html! {
        section.card #webhooks aria-labelledby="webhooks-title" {
            h2 #webhooks-title { "Webhooks" }
            @match webhooks {
                None => { p.muted { "Only administrators see and manage webhooks (a receiver's URL may hold a credential)." } }
                Some(hooks) => {
                    p.hint { "Events are POSTed as JSON with an HMAC-SHA256 signature of the body in X-Bulwark-Signature, retried with backoff." }
                    @if hooks.is_empty() {
                        p.muted #no-webhooks { "No webhook is registered." }
                    } @else {
                        div.table-wrap { table #webhook-table {
                            thead { tr { th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Since" } th scope="col" { span.sr-only { "Actions" } } } }
                            tbody { @for w in hooks { tr #(format!("webhook-{}", w.id)) {
                                td { code { (w.url) } }
                                td { (w.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")) }
                                td.date { (layout::date(w.created_at)) }
                                td { form.webhook-remove method="post" action=(format!("/settings/webhooks/{}/remove", w.id)) {
                                    (layout::csrf(viewer))
                                    button.danger type="submit" { "Remove" }
                                } }
                            } } }
                        } }
                    }
                    form.stack #webhook-form method="post" action="/settings/webhooks" {
                        h3 { "Add a webhook" }
                        (layout::csrf(viewer))
                        label for="webhook-url" { "URL (http or https)" input #webhook-url name="url" type="url" required; }
                        label for="webhook-secret" { "Secret for the signature (at least 16 characters)" input #webhook-secret name="secret" type="password" required autocomplete="off"; }
                        fieldset {
                            legend { "Events (none checked: every event)" }
                            @for e in ALL_EVENTS {
                                label.choice { input type="checkbox" name="events" value=(e.as_str()); " " (e.as_str()) }
                            }
                        }
                        div { button.primary type="submit" { "Add webhook" } }
                    }
                }
            }
        }
    }
}

/// `POST /settings/webhooks`: registers a webhook (admins).
async fn add_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Form,
) -> Result<Response, PageError> {
    let events: Vec<String> = form.all("events").into_iter().map(str::to_string).collect();
    let webhook = state
        .engine
        .add_webhook(
            &viewer.user,
            form.required("url")?,
            form.get("secret").unwrap_or(""),
            &events,
        )
        .await?;
    Ok(done(
        &viewer,
        "/settings#webhooks",
        &format!("Webhook {} added.", webhook.url),
    ))
}

/// `POST /settings/webhooks/{id}/remove`: removes a webhook (admins).
async fn remove_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: Form,
) -> Result<Response, PageError> {
    let id = record_id(&id, "webhook")?;
    state.engine.remove_webhook(&viewer.user, id).await?;
    Ok(done(&viewer, "/settings#webhooks", "Webhook removed."))
}

// ---------------------------------------------------------------------------------------------
// Exception policy

fn policy_section(viewer: &Viewer, policy: &ExceptionPolicy) -> Markup {
    html! {
        section.card #policy aria-labelledby="policy-title" {
            h2 #policy-title { "Exception policy" }
            @if viewer.may(Action::ManageSettings) {
                form.stack #policy-form method="post" action="/settings/exception-policy" {
                    (layout::csrf(viewer))
                    label for="policy-max-duration" { "Longest duration (days)" input #policy-max-duration name="maxDurationDays" type="number" min="1" max="3650" value=(policy.max_duration_days); }
                    label for="policy-max-context" { "Longest justification context (characters)" input #policy-max-context name="maxContextChars" type="number" min="1" max="100000" value=(policy.max_context_chars); }
                    label for="policy-epss" { "EPSS probability that resurfaces an exception (0–1)" input #policy-epss name="epssThreshold" type="number" min="0" max="1" step="0.01" value=(policy.epss_threshold); }
                    label for="policy-stale" { "Days without a covered finding before an exception is stale" input #policy-stale name="staleAfterDays" type="number" min="0" value=(policy.stale_after_days); }
                    label.choice for="policy-void" { input #policy-void name="voidOnResurface" type="checkbox" value="on" checked[policy.void_on_resurface]; " Void a resurfaced exception (otherwise it is only marked for review)" }
                    div { button.primary type="submit" { "Save policy" } }
                }
            } @else {
                dl.facts #policy-facts {
                    dt { "Longest duration" } dd { (policy.max_duration_days) " days" }
                    dt { "Longest justification context" } dd { (policy.max_context_chars) " characters" }
                    dt { "EPSS resurfacing threshold" } dd { (policy.epss_threshold) }
                    dt { "Stale after" } dd { (policy.stale_after_days) " days without a covered finding" }
                    dt { "Resurfaced exceptions" } dd { @if policy.void_on_resurface { "are voided" } @else { "are marked for review" } }
                }
                p.muted { "Only administrators change the policy." }
            }
        }
    }
}

/// `POST /settings/exception-policy`: replaces the exception policy (admins).
async fn set_policy(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Form,
) -> Result<Response, PageError> {
    let required = |name: &str| -> Result<(), PageError> { form.required(name).map(|_| ()) };
    for name in [
        "maxDurationDays",
        "maxContextChars",
        "epssThreshold",
        "staleAfterDays",
    ] {
        required(name)?;
    }
    let policy = ExceptionPolicy {
        max_duration_days: form.parsed("maxDurationDays")?.unwrap_or_default(),
        max_context_chars: form.parsed("maxContextChars")?.unwrap_or_default(),
        epss_threshold: form.parsed("epssThreshold")?.unwrap_or_default(),
        void_on_resurface: form.get("voidOnResurface").is_some(),
        stale_after_days: form.parsed("staleAfterDays")?.unwrap_or_default(),
    };
    state
        .engine
        .set_exception_policy(&viewer.user, &policy)
        .await?;
    Ok(done(&viewer, "/settings#policy", "Exception policy saved."))
}
