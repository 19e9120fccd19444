//! CycloneDX VEX (JSON, spec 1.6 written, 1.4 to 1.6 read): Bulwark's exceptions as `vulnerabilities[]`
//! with an `analysis`, and such documents — Bulwark's own or anyone's — read back as proposals.
//!
//! CycloneDX allows no properties on `analysis`, so the Bulwark facts go in the vulnerability's
//! `properties[]`, one `bulwark:exception:*` property each (and one `bulwark:exception:deviceGroup` per
//! device group). Each covered product becomes a `components[]` entry whose `bom-ref` is the product
//! string, so that every `affects[].ref` resolves inside the document.

use std::str::FromStr;

use bulwark_core::exception::{Justification, TargetKind};
use packageurl::PackageUrl;
use serde::{Deserialize, Serialize};

use super::{
    Bounded, Collector, Exported, Facts, ImportFormat, MAX_ENTRIES, MAX_ITEMS, RawFacts,
    SCOPE_GLOBAL, SCOPE_GROUPS, VexImport, VexMetadata, VexStatement,
};
use crate::FormatError;

/// The spec version written.
pub const SPEC_VERSION: &str = "1.6";

/// The prefix of every Bulwark property name.
pub const PROPERTY_PREFIX: &str = "bulwark:exception:";

/// Writes the statements as one CycloneDX VEX document. Each covered vulnerability id is one
/// `vulnerabilities[]` entry carrying the exception's analysis and Bulwark properties.
pub fn write(statements: &[VexStatement], meta: &VexMetadata) -> Exported {
    let mut components: Vec<Component> = Vec::new();
    let mut vulnerabilities = Vec::new();
    let (writable, left_out) = super::writable(statements);
    for (s, ids) in writable {
        for p in &s.products {
            if !components.iter().any(|c| c.bom_ref == *p) {
                components.push(Component::of(p));
            }
        }
        let e = &s.exception;
        let r = super::rendering(e.justification);
        let properties = properties(&Facts::of(e, meta.timestamp));
        for id in ids {
            vulnerabilities.push(Vulnerability {
                id,
                analysis: Analysis {
                    state: r.cdx_state,
                    justification: r.cdx_justification,
                    response: r.cdx_response.into_iter().collect(),
                    detail: &e.context,
                    first_issued: super::rfc3339(e.created_at),
                    last_updated: super::rfc3339(super::last_updated(e)),
                },
                affects: s.products.iter().map(|p| Affect { reference: p }).collect(),
                properties: properties.clone(),
            });
        }
    }
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        serial_number: meta.document_id.clone(),
        version: meta.version,
        metadata: Metadata {
            timestamp: super::rfc3339(meta.timestamp),
            tools: Tools {
                components: vec![ToolComponent {
                    kind: "application",
                    name: &meta.tool,
                }],
            },
            authors: vec![Contact { name: &meta.author }],
        },
        components,
        vulnerabilities,
    };
    super::exported(bom, |b| &mut b.serial_number, left_out)
}

/// The Bulwark properties of one exception.
fn properties(f: &Facts) -> Vec<Property> {
    let mut out = Vec::new();
    let mut add = |name: &str, value: String| {
        out.push(Property {
            name: format!("{PROPERTY_PREFIX}{name}"),
            value,
        })
    };
    add("id", f.id.to_string());
    add("kind", f.kind.as_str().to_string());
    add("target", f.target.clone());
    add("justification", f.justification.as_str().to_string());
    match &f.groups {
        None => add("scope", SCOPE_GLOBAL.to_string()),
        Some(groups) => {
            add("scope", SCOPE_GROUPS.to_string());
            for g in groups {
                add("deviceGroup", g.clone());
            }
        }
    }
    add("expiresAt", super::rfc3339(f.expires_at));
    if let Some(by) = &f.created_by {
        add("createdBy", by.clone());
    }
    if let Some(at) = f.created_at {
        add("createdAt", super::rfc3339(at));
    }
    if let Some(status) = f.status {
        add("status", status.as_str().to_string());
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    version: u64,
    metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component>,
    vulnerabilities: Vec<Vulnerability<'a>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools<'a>,
    authors: Vec<Contact<'a>>,
}

#[derive(Serialize)]
struct Tools<'a> {
    components: Vec<ToolComponent<'a>>,
}

#[derive(Serialize)]
struct ToolComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
struct Contact<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
}

impl Component {
    /// A library component for a product string: a purl's parts, or `ecosystem/name`'s name.
    fn of(product: &str) -> Component {
        match PackageUrl::from_str(product) {
            Ok(purl) => Component {
                kind: "library",
                bom_ref: product.to_string(),
                group: purl.namespace().map(str::to_string),
                name: purl.name().to_string(),
                version: purl.version().map(str::to_string),
                purl: Some(product.to_string()),
            },
            Err(_) => Component {
                kind: "library",
                bom_ref: product.to_string(),
                group: None,
                name: product
                    .split_once('/')
                    .map_or(product, |(_, name)| name)
                    .to_string(),
                version: None,
                purl: None,
            },
        }
    }
}

#[derive(Serialize)]
struct Vulnerability<'a> {
    id: &'a str,
    analysis: Analysis<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    affects: Vec<Affect<'a>>,
    properties: Vec<Property>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Analysis<'a> {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    response: Vec<&'static str>,
    detail: &'a str,
    first_issued: String,
    last_updated: String,
}

#[derive(Serialize)]
struct Affect<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
}

#[derive(Serialize, Clone)]
struct Property {
    name: String,
    value: String,
}

/// Reads a CycloneDX document's `vulnerabilities[]` into proposals.
pub(crate) fn read(file: &str, bytes: &[u8]) -> Result<VexImport, FormatError> {
    let bom: RawBom = crate::feeds::read_document(file, bytes)?;
    let Some(vulnerabilities) = bom.vulnerabilities else {
        return Err(FormatError::UnknownFormat {
            file: file.to_string(),
            message: "a CycloneDX document without `vulnerabilities` is a BOM, not VEX".to_string(),
        });
    };
    let mut c = Collector::new(file, ImportFormat::CycloneDxVex);
    for (i, v) in vulnerabilities.0.into_iter().enumerate() {
        let at = format!("vulnerabilities[{i}]");
        let products: Vec<String> = v.affects.0.into_iter().map(|a| a.reference).collect();
        let detail = v
            .analysis
            .as_ref()
            .and_then(|a| a.detail.as_deref())
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let raw = raw_facts(&v.properties.0, i);
        if let Some(raw) = raw {
            let facts = raw.parse(file, &format!("$.{at}.properties"), |fact| {
                format!("{PROPERTY_PREFIX}{fact} property")
            })?;
            let context = detail.unwrap_or_else(|| format!("imported from {}", c.source(&at)));
            c.bulwark(&at, facts, context, products)?;
            continue;
        }
        let Some(id) = v.id.as_deref().filter(|id| !id.trim().is_empty()) else {
            c.skip(&at, "no vulnerability id");
            continue;
        };
        let target = super::normalise_target(file, &format!("$.{at}.id"), TargetKind::Cve, id)?;
        let (justification, described) = match inverse(&target, v.analysis.as_ref()) {
            Ok(found) => found,
            Err(reason) => {
                c.skip(&at, reason);
                continue;
            }
        };
        let context =
            detail.unwrap_or_else(|| format!("imported from {} ({described})", c.source(&at)));
        c.foreign(&at, target, justification, context, None, products);
    }
    Ok(c.finish())
}

/// The Bulwark facts among the properties of vulnerability `i` (`None` when there are none).
fn raw_facts(properties: &[RawProperty], i: usize) -> Option<RawFacts> {
    let mut raw = RawFacts::default();
    let mut any = false;
    for (j, p) in properties.iter().enumerate() {
        let Some(fact) = p.name.strip_prefix(PROPERTY_PREFIX) else {
            continue;
        };
        any = true;
        let value = (
            p.value.clone().unwrap_or_default(),
            format!("$.vulnerabilities[{i}].properties[{j}].value"),
        );
        let slot = match fact {
            "id" => &mut raw.id,
            "kind" => &mut raw.kind,
            "target" => &mut raw.target,
            "justification" => &mut raw.justification,
            "scope" => &mut raw.scope,
            "expiresAt" => &mut raw.expires_at,
            "createdBy" => &mut raw.created_by,
            "createdAt" => &mut raw.created_at,
            "status" => &mut raw.status,
            "deviceGroup" => {
                raw.groups.push(value);
                continue;
            }
            // Facts a later Bulwark may add are not this one's to judge.
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    any.then_some(raw)
}

/// The justification a foreign analysis maps back to, with its description for a default context;
/// or why it proposes no exception.
fn inverse(id: &str, analysis: Option<&RawAnalysis>) -> Result<(Justification, String), String> {
    let Some(a) = analysis else {
        return Err(format!("{id} has no analysis"));
    };
    let Some(state) = a.state.as_deref() else {
        return Err(format!("{id} has an analysis without a state"));
    };
    match state {
        "not_affected" => {
            let justification = match a.justification.as_deref() {
                Some(
                    "protected_at_runtime"
                    | "protected_at_perimeter"
                    | "protected_by_mitigating_control",
                ) => Justification::AlternateMitigation,
                Some(
                    "code_not_present"
                    | "code_not_reachable"
                    | "requires_configuration"
                    | "requires_dependency"
                    | "requires_environment"
                    | "protected_by_compiler",
                )
                | None => Justification::FalsePositive,
                Some(other) => {
                    return Err(format!(
                        "{id} is not_affected with an unknown justification `{}`",
                        crate::feeds::shorten(other)
                    ));
                }
            };
            let described = match &a.justification {
                Some(j) => format!("not_affected, {j}"),
                None => "not_affected".to_string(),
            };
            Ok((justification, described))
        }
        "false_positive" => Ok((Justification::FalsePositive, "false_positive".to_string())),
        "exploitable" => {
            let has = |r: &str| a.response.0.iter().any(|x| x == r);
            // A vendor's `will_not_fix` with `update` means "not in this version, update": the explicit
            // refusal decides, and the reviewer may choose planned remediation instead.
            let justification = if has("can_not_fix") {
                Justification::CveNoPatch
            } else if has("will_not_fix") {
                Justification::RiskAccepted
            } else if has("update") || has("rollback") || has("workaround_available") {
                Justification::PlannedRemediation
            } else {
                return Err(format!(
                    "{id} is exploitable and gives no response: no decision to record"
                ));
            };
            Ok((
                justification,
                format!("exploitable, {}", a.response.0.join(", ")),
            ))
        }
        "in_triage" => Err(format!("{id} is in triage: no decision to record")),
        "resolved" | "resolved_with_pedigree" => Err(format!("{id} is {state}: nothing to except")),
        other => Err(format!(
            "{id} has an unknown analysis state `{}`",
            crate::feeds::shorten(other)
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBom {
    vulnerabilities: Option<Bounded<RawVulnerability, MAX_ENTRIES>>,
}

#[derive(Deserialize)]
struct RawVulnerability {
    id: Option<String>,
    analysis: Option<RawAnalysis>,
    #[serde(default)]
    affects: Bounded<RawAffect, MAX_ITEMS>,
    #[serde(default)]
    properties: Bounded<RawProperty, MAX_ITEMS>,
}

#[derive(Deserialize)]
struct RawAnalysis {
    state: Option<String>,
    justification: Option<String>,
    #[serde(default)]
    response: Bounded<String, MAX_ITEMS>,
    detail: Option<String>,
}

#[derive(Deserialize)]
struct RawAffect {
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(Deserialize)]
struct RawProperty {
    name: String,
    value: Option<String>,
}
