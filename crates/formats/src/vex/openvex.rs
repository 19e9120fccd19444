//! OpenVEX 0.2.0: Bulwark's exceptions as statements, and OpenVEX documents (0.0.x and 0.2.0) read back
//! as proposals.
//!
//! OpenVEX is JSON-LD, which lets a statement carry members its context does not define; the Bulwark
//! facts travel as one such member, `"bulwark:exception": {…}`, that other tools ignore. The exception's
//! context is written where OpenVEX expects the reason: `impact_statement` for `not_affected`, and
//! `status_notes` for `affected` (whose required `action_statement` says what Bulwark will do).

use bulwark_core::exception::{Justification, TargetKind};
use serde::{Deserialize, Serialize};

use super::{
    Bounded, Collector, Exported, Facts, ImportFormat, MAX_ENTRIES, MAX_ITEMS, RawFacts,
    SCOPE_GLOBAL, SCOPE_GROUPS, VexImport, VexMetadata, VexStatement,
};
use crate::FormatError;

/// The `@context` written.
pub const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// What every OpenVEX `@context` starts with (`https://openvex.dev/ns`, `…/ns/v0.2.0`).
pub const CONTEXT_PREFIX: &str = "https://openvex.dev/ns";

/// The statement member holding the Bulwark facts.
pub const MEMBER: &str = "bulwark:exception";

/// Writes the statements as one OpenVEX document: one statement per covered vulnerability id.
pub fn write(statements: &[VexStatement], meta: &VexMetadata) -> Exported {
    let mut out = Vec::new();
    let (writable, left_out) = super::writable(statements);
    for (s, ids) in writable {
        let e = &s.exception;
        let r = super::rendering(e.justification);
        let facts = Facts::of(e, meta.timestamp);
        let affected = r.openvex_status == "affected";
        let updated = super::last_updated(e);
        for name in ids {
            out.push(Statement {
                vulnerability: Vulnerability { name },
                timestamp: super::rfc3339(e.created_at),
                last_updated: (updated > e.created_at).then(|| super::rfc3339(updated)),
                products: s.products.iter().map(|p| Product { id: p }).collect(),
                status: r.openvex_status,
                justification: r.openvex_justification,
                impact_statement: (!affected).then_some(e.context.as_str()),
                action_statement: affected.then(|| action_statement(&facts)),
                status_notes: affected.then_some(e.context.as_str()),
                bulwark: Member::of(&facts),
            });
        }
    }
    let document = Document {
        context: CONTEXT,
        id: meta.document_id.clone(),
        author: &meta.author,
        timestamp: super::rfc3339(meta.timestamp),
        version: meta.version,
        tooling: &meta.tool,
        statements: out,
    };
    super::exported(document, |d| &mut d.id, left_out)
}

/// What Bulwark does about an affected finding while the exception is in effect.
fn action_statement(f: &Facts) -> String {
    let until = super::rfc3339(f.expires_at);
    match f.justification {
        Justification::PlannedRemediation => format!("Planned remediation until {until}."),
        Justification::CveNoPatch => format!(
            "No patch is available; the exception is reviewed when one appears and ends {until}."
        ),
        _ => format!("Risk accepted: no remediation until {until}."),
    }
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@id", skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    author: &'a str,
    timestamp: String,
    version: u64,
    tooling: &'a str,
    statements: Vec<Statement<'a>>,
}

#[derive(Serialize)]
struct Statement<'a> {
    vulnerability: Vulnerability<'a>,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    products: Vec<Product<'a>>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impact_statement: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_statement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_notes: Option<&'a str>,
    #[serde(rename = "bulwark:exception")]
    bulwark: Member,
}

#[derive(Serialize)]
struct Vulnerability<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Product<'a> {
    #[serde(rename = "@id")]
    id: &'a str,
}

/// The Bulwark facts member, as written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Member {
    id: i64,
    kind: &'static str,
    target: String,
    justification: &'static str,
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_groups: Option<Vec<String>>,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

impl Member {
    fn of(f: &Facts) -> Member {
        Member {
            id: f.id,
            kind: f.kind.as_str(),
            target: f.target.clone(),
            justification: f.justification.as_str(),
            scope: if f.groups.is_some() {
                SCOPE_GROUPS
            } else {
                SCOPE_GLOBAL
            },
            device_groups: f.groups.clone(),
            expires_at: super::rfc3339(f.expires_at),
            created_by: f.created_by.clone(),
            created_at: f.created_at.map(super::rfc3339),
            status: f.status.map(|s| s.as_str()),
        }
    }
}

/// Reads an OpenVEX document's statements into proposals.
pub(crate) fn read(file: &str, bytes: &[u8]) -> Result<VexImport, FormatError> {
    let document: RawDocument = crate::feeds::read_document(file, bytes)?;
    let mut c = Collector::new(file, ImportFormat::OpenVex);
    for (i, s) in document
        .statements
        .unwrap_or_default()
        .0
        .into_iter()
        .enumerate()
    {
        let at = format!("statements[{i}]");
        let products: Vec<String> = s.products.0.iter().filter_map(RawProduct::id).collect();
        let status = s.status.as_deref().unwrap_or_default();
        let context = match status {
            "affected" => [&s.status_notes, &s.action_statement],
            _ => [&s.impact_statement, &s.status_notes],
        }
        .into_iter()
        .flatten()
        .map(|t| t.trim())
        .find(|t| !t.is_empty())
        .map(str::to_string);
        if let Some(member) = s.bulwark {
            let facts = member
                .raw(i)
                .parse(file, &format!("$.{at}.{MEMBER}"), |fact| {
                    format!("`{fact}` in {MEMBER}")
                })?;
            let context = context.unwrap_or_else(|| format!("imported from {}", c.source(&at)));
            c.bulwark(&at, facts, context, products)?;
            continue;
        }
        let Some(id) = s.vulnerability.as_ref().and_then(RawVulnerability::name) else {
            c.skip(&at, "no vulnerability name");
            continue;
        };
        let target = super::normalise_target(
            file,
            &format!("$.{at}.vulnerability.name"),
            TargetKind::Cve,
            id,
        )?;
        let justification = match inverse(&target, status, s.justification.as_deref()) {
            Ok(j) => j,
            Err(reason) => {
                c.skip(&at, reason);
                continue;
            }
        };
        let described = match &s.justification {
            Some(j) => format!("{status}, {j}"),
            None => status.to_string(),
        };
        let context =
            context.unwrap_or_else(|| format!("imported from {} ({described})", c.source(&at)));
        c.foreign(&at, target, justification, context, None, products);
    }
    Ok(c.finish())
}

/// The justification a foreign statement maps back to, or why it proposes no exception.
fn inverse(id: &str, status: &str, justification: Option<&str>) -> Result<Justification, String> {
    match status {
        "not_affected" => match justification {
            Some("inline_mitigations_already_exist") => Ok(Justification::AlternateMitigation),
            Some(
                "component_not_present"
                | "vulnerable_code_not_present"
                | "vulnerable_code_not_in_execute_path"
                | "vulnerable_code_cannot_be_controlled_by_adversary",
            )
            | None => Ok(Justification::FalsePositive),
            Some(other) => Err(format!(
                "{id} is not_affected with an unknown justification `{}`",
                crate::feeds::shorten(other)
            )),
        },
        // OpenVEX says what to do only in free text, so every affected statement proposes an accepted
        // risk; the reviewer picks planned remediation or no patch where the text says so.
        "affected" => Ok(Justification::RiskAccepted),
        "fixed" => Err(format!("{id} is fixed: nothing to except")),
        "under_investigation" => Err(format!(
            "{id} is under investigation: no decision to record"
        )),
        "" => Err(format!("{id} has no status")),
        other => Err(format!(
            "{id} has an unknown status `{}`",
            crate::feeds::shorten(other)
        )),
    }
}

#[derive(Deserialize)]
struct RawDocument {
    statements: Option<Bounded<RawStatement, MAX_ENTRIES>>,
}

#[derive(Deserialize)]
struct RawStatement {
    vulnerability: Option<RawVulnerability>,
    #[serde(default)]
    products: Bounded<RawProduct, MAX_ITEMS>,
    status: Option<String>,
    justification: Option<String>,
    impact_statement: Option<String>,
    action_statement: Option<String>,
    status_notes: Option<String>,
    #[serde(rename = "bulwark:exception")]
    bulwark: Option<RawMember>,
}

/// OpenVEX 0.2.0 writes `{"name": …}`; 0.0.x wrote the name alone.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawVulnerability {
    Name(String),
    Struct { name: Option<String> },
}

impl RawVulnerability {
    fn name(&self) -> Option<&str> {
        match self {
            RawVulnerability::Name(n) | RawVulnerability::Struct { name: Some(n) } => {
                Some(n.as_str()).filter(|n| !n.trim().is_empty())
            }
            RawVulnerability::Struct { name: None } => None,
        }
    }
}

/// OpenVEX 0.2.0 writes `{"@id": …, "identifiers": {"purl": …}}`; 0.0.x wrote the id alone.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawProduct {
    Id(String),
    Struct {
        #[serde(rename = "@id")]
        id: Option<String>,
        identifiers: Option<RawIdentifiers>,
    },
}

#[derive(Deserialize)]
struct RawIdentifiers {
    purl: Option<String>,
}

impl RawProduct {
    fn id(&self) -> Option<String> {
        match self {
            RawProduct::Id(id) => Some(id.clone()),
            RawProduct::Struct { id, identifiers } => id
                .clone()
                .or_else(|| identifiers.as_ref().and_then(|i| i.purl.clone())),
        }
    }
}

/// The Bulwark facts member, as read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMember {
    id: Option<i64>,
    kind: Option<String>,
    target: Option<String>,
    justification: Option<String>,
    scope: Option<String>,
    device_groups: Option<Bounded<String, MAX_ITEMS>>,
    expires_at: Option<String>,
    created_by: Option<String>,
    created_at: Option<String>,
    status: Option<String>,
}

impl RawMember {
    /// The facts with the JSON path of each, for statement `i`.
    fn raw(self, i: usize) -> RawFacts {
        let place = |field: &str| format!("$.statements[{i}].{MEMBER}.{field}");
        let with = |v: Option<String>, field: &str| v.map(|v| (v, place(field)));
        RawFacts {
            id: self.id.map(|id| (id.to_string(), place("id"))),
            kind: with(self.kind, "kind"),
            target: with(self.target, "target"),
            justification: with(self.justification, "justification"),
            scope: with(self.scope, "scope"),
            groups: self
                .device_groups
                .unwrap_or_default()
                .0
                .into_iter()
                .enumerate()
                .map(|(j, g)| (g, format!("{}[{j}]", place("deviceGroups"))))
                .collect(),
            expires_at: with(self.expires_at, "expiresAt"),
            created_by: with(self.created_by, "createdBy"),
            created_at: with(self.created_at, "createdAt"),
            status: with(self.status, "status"),
        }
    }
}
