//! Exceptions in and out: every exception exported as a CycloneDX VEX or OpenVEX document with what it
//! covers (its vulnerabilities and the covered software), and VEX documents or scanner ignore files
//! imported back — either shown as proposals for review, or created (with the same checks, permissions
//! and conflicts as any creation). The formats themselves are `bulwark_formats::vex`.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use bulwark_core::SoftwareKey;
use bulwark_core::exception::{
    ExceptionDuration, ExceptionRequest, ExceptionSet, Justification, TargetKind,
};
use bulwark_core::identity::User;
use bulwark_core::scan::software_key;
use bulwark_formats::vex::{self, Exported, VexImport, VexMetadata, VexStatement};

use crate::{Engine, EngineError, EngineResult};

/// The document formats exceptions are exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VexFormat {
    /// CycloneDX 1.6 VEX.
    CycloneDx,
    /// OpenVEX 0.2.0.
    OpenVex,
}

impl VexFormat {
    /// The format a name stands for (`cyclonedx`, `openvex`).
    pub fn parse(s: &str) -> Option<VexFormat> {
        match s.to_ascii_lowercase().as_str() {
            "cyclonedx" | "cdx" => Some(VexFormat::CycloneDx),
            "openvex" => Some(VexFormat::OpenVex),
            _ => None,
        }
    }
}

/// What happened to one proposal of an imported file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedProposal {
    /// Where it was read (`vex.json: vulnerabilities[3]`).
    pub source: String,
    /// `Recommendation` or `Cve`.
    pub exception_type: TargetKind,
    /// The recommendation or vulnerability id.
    pub target: String,
    /// The proposed justification.
    pub justification: Justification,
    /// The proposed context.
    pub justification_context: String,
    /// Global scope.
    pub global: bool,
    /// The proposed device groups.
    pub device_groups: Vec<String>,
    /// The expiry the file gives (`None`: the import's default duration applies).
    pub expires_on: Option<chrono::DateTime<chrono::Utc>>,
    /// What the file limited the entry to (shown for review).
    pub products: Vec<String>,
    /// `proposed` (not applied), `created` or `refused`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The exception created from it.
    pub exception_id: Option<i64>,
}

/// The result of importing a VEX document or ignore file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionImport {
    /// The format the file was read as.
    pub format: String,
    /// Whether the proposals were applied (created) or only shown.
    pub applied: bool,
    /// Each proposal and its outcome.
    pub proposals: Vec<ImportedProposal>,
    /// Entries that propose no exception: (where, why).
    pub skipped: Vec<(String, String)>,
}

/// The name a product gets in a VEX document when the software has no purl: `ecosystem/name@version`.
fn product_name(key: &SoftwareKey) -> String {
    format!("{}/{}@{}", key.ecosystem, key.name, key.version)
}

impl Engine {
    /// Every exception as a VEX document in `format`, with the vulnerabilities and software each one
    /// covers now; `author` is the document's author.
    pub async fn export_exceptions(
        &self,
        format: VexFormat,
        author: &str,
    ) -> EngineResult<Exported> {
        let fleet = self.fleet().await?;
        let index = self.index();
        let mut purls: HashMap<SoftwareKey, String> = HashMap::new();
        for (_, package) in fleet.software.iter() {
            if let Some(purl) = &package.purl {
                purls
                    .entry(software_key(package))
                    .or_insert_with(|| purl.clone());
            }
        }
        let statements: Vec<VexStatement> = fleet
            .exceptions
            .iter()
            .map(|e| {
                let set = ExceptionSet::new(std::slice::from_ref(e), fleet.now);
                let covers = fleet.covers_with(&index, &set);
                let mut vulnerabilities = BTreeSet::new();
                let mut products = BTreeSet::new();
                for (w, cover) in fleet.open.iter().zip(&covers) {
                    if cover.is_some() {
                        vulnerabilities.insert(w.vulnerability_id.clone());
                        products.insert(
                            purls
                                .get(&w.software)
                                .cloned()
                                .unwrap_or_else(|| product_name(&w.software)),
                        );
                    }
                }
                VexStatement {
                    exception: e.clone(),
                    vulnerabilities: vulnerabilities.into_iter().collect(),
                    products: products.into_iter().collect(),
                }
            })
            .collect();
        let meta = VexMetadata {
            author: author.to_string(),
            tool: format!("Bulwark {}", env!("CARGO_PKG_VERSION")),
            timestamp: fleet.now,
            version: 1,
            document_id: None,
        };
        Ok(match format {
            VexFormat::CycloneDx => vex::write_cyclonedx(&statements, &meta),
            VexFormat::OpenVex => vex::write_openvex(&statements, &meta),
        })
    }

    /// Reads a VEX document (CycloneDX or OpenVEX, by content) or a scanner ignore file
    /// (`.trivyignore.yaml`, `osv-scanner.toml`, `deny.toml`, `.grype.yaml`) into proposed
    /// exceptions. With `apply`, each proposal is created as `actor` — proposals without an expiry last
    /// `default_days` — and refusals (invalid, unknown target, conflict, forbidden) are reported per
    /// proposal; without, nothing is stored.
    pub async fn import_exceptions(
        &self,
        actor: &User,
        file: &str,
        bytes: &[u8],
        apply: bool,
        default_days: u32,
    ) -> EngineResult<ExceptionImport> {
        let read: VexImport = if vex::detect(bytes).is_some() {
            vex::read_vex(file, bytes)?
        } else {
            vex::read_ignore_file(file, bytes)?
        };
        let mut proposals = Vec::with_capacity(read.proposals.len());
        for p in read.proposals {
            let context = if p.context.trim().is_empty() {
                format!("imported from {}", p.source)
            } else {
                p.context.clone()
            };
            let mut outcome = ImportedProposal {
                source: p.source.clone(),
                exception_type: p.kind,
                target: p.target.clone(),
                justification: p.justification,
                justification_context: context.clone(),
                global: p.groups.is_none(),
                device_groups: p.groups.clone().unwrap_or_default(),
                expires_on: p.expires_at,
                products: p.products.clone(),
                outcome: "proposed".to_string(),
                reason: None,
                exception_id: None,
            };
            if apply {
                let request = ExceptionRequest {
                    kind: p.kind,
                    target: p.target,
                    justification: p.justification,
                    context,
                    groups: p.groups,
                    duration: p.expires_at.map_or(
                        ExceptionDuration::Days(default_days),
                        ExceptionDuration::Until,
                    ),
                };
                match self.create_exception(actor, request).await {
                    Ok(view) => {
                        outcome.outcome = "created".to_string();
                        outcome.exception_id = Some(view.id);
                    }
                    Err(
                        e @ (EngineError::Invalid(_)
                        | EngineError::NotFound(_)
                        | EngineError::Conflict(_)
                        | EngineError::Forbidden(_)),
                    ) => {
                        outcome.outcome = "refused".to_string();
                        outcome.reason = Some(e.to_string());
                    }
                    Err(e) => return Err(e),
                }
            }
            proposals.push(outcome);
        }
        Ok(ExceptionImport {
            format: read.format.name().to_string(),
            applied: apply,
            proposals,
            skipped: read.skipped,
        })
    }
}
