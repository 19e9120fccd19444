//! Exceptions in and out as open formats: Bulwark's exceptions written as CycloneDX VEX and OpenVEX
//! documents, those documents read back as *proposed* exceptions, and the ignore files scanners already
//! keep (`.trivyignore.yaml`, `osv-scanner.toml`, cargo-deny's `deny.toml`, `.grype.yaml`) read the same
//! way. docs/exceptions-vex.md is the user-facing description of the mapping; this module is its one
//! implementation.
//!
//! The justification mapping lives in one table (`rendering` out, the per-format readers in) so that
//! a document Bulwark wrote re-imports to the same exceptions. What VEX cannot say (expiry, owner,
//! scope, the exception's id and status) travels as namespaced Bulwark facts: CycloneDX vulnerability
//! `properties[]` named `bulwark:exception:*`, an OpenVEX statement member `bulwark:exception`. When
//! those facts are present they decide the proposal; without them the standard fields are mapped back
//! by the inverse of the table, and what has no exception meaning (in triage, fixed, …) is skipped with
//! its reason.
//!
//! Everything here is a function of its inputs: no clock (the document time is passed in), no IO.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use bulwark_core::exception::{Exception, ExceptionStatus, Justification, TargetKind};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

use crate::FormatError;

pub mod cyclonedx;
mod ignore;
pub mod openvex;

pub use cyclonedx::write as write_cyclonedx;
pub use ignore::{IgnoreFormat, read_ignore_file};
pub use openvex::write as write_openvex;

/// The largest document or ignore file read, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// The most entries read from one list (VEX vulnerabilities or statements, ignore-file entries).
pub const MAX_ENTRIES: usize = 100_000;

/// The most items read from a list inside one entry (affected products, properties, responses, paths).
pub const MAX_ITEMS: usize = 10_000;

/// The most list entries read from one document in all: YAML aliases can repeat a list many times over
/// without making the file any larger.
pub const MAX_TOTAL_ITEMS: usize = 1_000_000;

/// The longest vulnerability id kept, in bytes (real ids stay under 50).
pub const MAX_ID_BYTES: usize = 256;

/// One exception to export, with what it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct VexStatement {
    /// The exception as stored.
    pub exception: Exception,
    /// The vulnerability ids (CVE, GHSA, …) it covers. A CVE exception always covers its own target,
    /// which is written first even when this list omits it.
    pub vulnerabilities: Vec<String>,
    /// The covered software: purls, or `ecosystem/name` when there is no purl.
    pub products: Vec<String>,
}

/// Document-level facts of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct VexMetadata {
    /// Who issues the document (a person's address or an organisation).
    pub author: String,
    /// The tool and its version (`Bulwark 0.1.0`).
    pub tool: String,
    /// When the document is issued; also the instant exception statuses are taken at.
    pub timestamp: DateTime<Utc>,
    /// The document version (CycloneDX `version`, OpenVEX `version`), counted from 1.
    pub version: u64,
    /// The document's identity, a `urn:uuid:…`; derived from the content when `None`.
    pub document_id: Option<String>,
}

/// An export: the document and the exceptions it could not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// The JSON document (pretty-printed, ending in a newline).
    pub json: String,
    /// Exceptions left out, by id, with the reason (a recommendation exception that covers no
    /// vulnerability id has nothing a VEX document can say).
    pub left_out: Vec<(i64, String)>,
}

/// An exception read from a file, for a user to review before it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedException {
    /// Recommendation or CVE.
    pub kind: TargetKind,
    /// The recommendation id or the vulnerability id (CVE ids upper-cased, others as given).
    pub target: String,
    /// Why (for ignore files always `risk_accepted`: the user chooses).
    pub justification: Justification,
    /// The justification text.
    pub context: String,
    /// `None`: global; otherwise the device groups.
    pub groups: Option<Vec<String>>,
    /// The expiry instant the file gives.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who created it (Bulwark documents only).
    pub created_by: Option<String>,
    /// What the file limited the entry to (purls, product references, paths). Bulwark exceptions are
    /// not limited by product, so this is shown for review only.
    pub products: Vec<String>,
    /// Where it was read: `vex.json: vulnerabilities[3]`, `osv-scanner.toml: line 7`.
    pub source: String,
}

/// Which format a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportFormat {
    /// A CycloneDX document with `vulnerabilities[]` (a VEX BOM or a BOM with embedded VEX).
    CycloneDxVex,
    /// An OpenVEX document.
    OpenVex,
    /// A scanner ignore file.
    Ignore(IgnoreFormat),
}

impl ImportFormat {
    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ImportFormat::CycloneDxVex => "CycloneDX VEX",
            ImportFormat::OpenVex => "OpenVEX",
            ImportFormat::Ignore(f) => f.name(),
        }
    }
}

/// What a VEX document or ignore file proposes, and what it holds that is not an exception.
#[derive(Debug, Clone, PartialEq)]
pub struct VexImport {
    /// The format the file was read as.
    pub format: ImportFormat,
    /// The proposed exceptions, in file order.
    pub proposals: Vec<ProposedException>,
    /// Entries not proposed: (where, why).
    pub skipped: Vec<(String, String)>,
}

/// The VEX format of a document, from its content (`bomFormat` or the OpenVEX `@context`).
pub fn detect(bytes: &[u8]) -> Option<ImportFormat> {
    let probe: Probe = serde_json::from_slice(strip_bom(bytes)).ok()?;
    if probe.bom_format.as_deref() == Some("CycloneDX") {
        Some(ImportFormat::CycloneDxVex)
    } else if probe
        .context
        .as_deref()
        .is_some_and(|c| c.starts_with(openvex::CONTEXT_PREFIX))
    {
        Some(ImportFormat::OpenVex)
    } else {
        None
    }
}

/// Reads a CycloneDX VEX or OpenVEX document (detected by content) into proposed exceptions; `file`
/// names it in errors and in every proposal's `source`.
pub fn read_vex(file: &str, bytes: &[u8]) -> Result<VexImport, FormatError> {
    check_size(file, bytes)?;
    let _budget = Budget::start();
    if !crate::feeds::is_json(bytes) {
        return Err(FormatError::UnknownFormat {
            file: file.to_string(),
            message: "not JSON; CycloneDX VEX (JSON) and OpenVEX documents are read".to_string(),
        });
    }
    let probe: Probe = crate::feeds::read_document(file, bytes)?;
    if probe.bom_format.as_deref() == Some("CycloneDX") {
        return cyclonedx::read(file, bytes);
    }
    match probe.context {
        Some(c) if c.starts_with(openvex::CONTEXT_PREFIX) => openvex::read(file, bytes),
        Some(c) => Err(FormatError::UnknownFormat {
            file: file.to_string(),
            message: format!(
                "@context `{}` is not OpenVEX's ({}…)",
                crate::feeds::shorten(&c),
                openvex::CONTEXT_PREFIX
            ),
        }),
        None => Err(FormatError::UnknownFormat {
            file: file.to_string(),
            message: "neither `bomFormat: CycloneDX` nor an OpenVEX `@context`".to_string(),
        }),
    }
}

/// The two members that tell the VEX formats apart.
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(rename = "@context")]
    context: Option<String>,
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Refuses inputs over [`MAX_INPUT_BYTES`].
pub(crate) fn check_size(file: &str, bytes: &[u8]) -> Result<(), FormatError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(FormatError::TooLarge {
            file: file.to_string(),
            size: bytes.len() as u64,
            limit: MAX_INPUT_BYTES as u64,
        });
    }
    Ok(())
}

/// How a justification is written in each VEX format: the table of docs/exceptions-vex.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rendering {
    /// CycloneDX `analysis.state`.
    pub cdx_state: &'static str,
    /// CycloneDX `analysis.justification` (only with `not_affected`).
    pub cdx_justification: Option<&'static str>,
    /// CycloneDX `analysis.response[]`'s one entry.
    pub cdx_response: Option<&'static str>,
    /// OpenVEX `status`.
    pub openvex_status: &'static str,
    /// OpenVEX `justification` (only with `not_affected`).
    pub openvex_justification: Option<&'static str>,
}

/// The standard rendering of a Bulwark justification.
pub(crate) fn rendering(j: Justification) -> Rendering {
    let (cdx_state, cdx_justification, cdx_response, openvex_status, openvex_justification) =
        match j {
            Justification::ThirdPartyControl | Justification::AlternateMitigation => (
                "not_affected",
                Some("protected_by_mitigating_control"),
                None,
                "not_affected",
                Some("inline_mitigations_already_exist"),
            ),
            Justification::FalsePositive => (
                "false_positive",
                None,
                None,
                "not_affected",
                Some("vulnerable_code_not_present"),
            ),
            Justification::RiskAccepted => {
                ("exploitable", None, Some("will_not_fix"), "affected", None)
            }
            Justification::PlannedRemediation => {
                ("exploitable", None, Some("update"), "affected", None)
            }
            Justification::CveNoPatch => {
                ("exploitable", None, Some("can_not_fix"), "affected", None)
            }
        };
    Rendering {
        cdx_state,
        cdx_justification,
        cdx_response,
        openvex_status,
        openvex_justification,
    }
}

/// The Bulwark-only facts of an exception, as both formats carry them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Facts {
    pub id: i64,
    pub kind: TargetKind,
    pub target: String,
    pub justification: Justification,
    /// `None`: global.
    pub groups: Option<Vec<String>>,
    pub expires_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub status: Option<ExceptionStatus>,
}

/// The scope value of a global exception.
pub(crate) const SCOPE_GLOBAL: &str = "global";
/// The scope value of a device-group exception (the groups are listed beside it).
pub(crate) const SCOPE_GROUPS: &str = "deviceGroups";

impl Facts {
    /// The facts of `e` as of the document time `at`: its status then, and the device groups not
    /// canceled by then (a canceled group is not re-created by an import).
    pub fn of(e: &Exception, at: DateTime<Utc>) -> Facts {
        let groups = (!e.global).then(|| {
            e.groups
                .iter()
                .filter(|g| g.canceled_at.is_none_or(|t| t > at))
                .map(|g| g.name.clone())
                .collect()
        });
        Facts {
            id: e.id,
            kind: e.kind,
            target: e.target.clone(),
            justification: e.justification,
            groups,
            expires_at: e.expires_at,
            created_by: Some(e.created_by.clone()),
            created_at: Some(e.created_at),
            status: Some(e.status_at(at)),
        }
    }
}

/// The Bulwark facts as read, each value with the place it was read from (for errors).
#[derive(Debug, Default)]
pub(crate) struct RawFacts {
    pub id: Option<(String, String)>,
    pub kind: Option<(String, String)>,
    pub target: Option<(String, String)>,
    pub justification: Option<(String, String)>,
    pub scope: Option<(String, String)>,
    pub groups: Vec<(String, String)>,
    pub expires_at: Option<(String, String)>,
    pub created_by: Option<(String, String)>,
    pub created_at: Option<(String, String)>,
    pub status: Option<(String, String)>,
}

impl RawFacts {
    /// Checks the facts; `at` names the place that holds them (for a missing one), `names` how the
    /// format spells each fact (`bulwark:exception:target`, `target`).
    pub fn parse(
        self,
        file: &str,
        at: &str,
        names: impl Fn(&str) -> String,
    ) -> Result<Facts, FormatError> {
        let required = |v: Option<(String, String)>, fact: &str| {
            v.ok_or_else(|| {
                FormatError::parse(
                    file,
                    at,
                    format!("no {} (Bulwark facts name it)", names(fact)),
                )
            })
        };
        let bad = |(value, place): &(String, String), what: &str| {
            FormatError::parse(
                file,
                place.clone(),
                format!("`{}` is not {what}", crate::feeds::shorten(value)),
            )
        };
        let id = required(self.id, "id")?;
        let id =
            id.0.trim()
                .parse::<i64>()
                .map_err(|_| bad(&id, "an exception id"))?;
        let kind = required(self.kind, "kind")?;
        let kind = TargetKind::parse(&kind.0).ok_or_else(|| bad(&kind, "recommendation or cve"))?;
        let (target, target_at) = required(self.target, "target")?;
        let target = normalise_target(file, &target_at, kind, &target)?;
        let justification = required(self.justification, "justification")?;
        let justification = Justification::parse(&justification.0)
            .ok_or_else(|| bad(&justification, "a Bulwark justification"))?;
        let scope = required(self.scope, "scope")?;
        let groups = match scope.0.as_str() {
            SCOPE_GLOBAL if self.groups.is_empty() => None,
            SCOPE_GLOBAL => {
                return Err(FormatError::parse(
                    file,
                    self.groups[0].1.clone(),
                    format!("a global exception names no {}", names("deviceGroup")),
                ));
            }
            // Every group of a canceled exception may be canceled: only a live one must name one.
            SCOPE_GROUPS
                if self.groups.is_empty()
                    && self.status.as_ref().is_none_or(|s| s.0 == "InEffect") =>
            {
                return Err(FormatError::parse(
                    file,
                    scope.1.clone(),
                    format!(
                        "a device-group exception names at least one {}",
                        names("deviceGroup")
                    ),
                ));
            }
            SCOPE_GROUPS => Some(self.groups.into_iter().map(|(g, _)| g).collect()),
            _ => return Err(bad(&scope, "global or deviceGroups")),
        };
        let expires = required(self.expires_at, "expiresAt")?;
        let expires_at = instant(&expires.0).map_err(|_| bad(&expires, "an RFC 3339 time"))?;
        let created_at = match self.created_at {
            None => None,
            Some(c) => Some(instant(&c.0).map_err(|_| bad(&c, "an RFC 3339 time"))?),
        };
        let status = match self.status {
            None => None,
            Some(s) => Some(
                ExceptionStatus::parse(&s.0)
                    .ok_or_else(|| bad(&s, "InEffect, Expired or Canceled"))?,
            ),
        };
        Ok(Facts {
            id,
            kind,
            target,
            justification,
            groups,
            expires_at,
            created_by: self.created_by.map(|(c, _)| c),
            created_at,
            status,
        })
    }
}

/// A time as both formats write it (RFC 3339, UTC, `Z`, sub-seconds only when there are any).
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 time.
pub(crate) fn instant(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| t.with_timezone(&Utc))
}

/// An expiry as ignore files write it: RFC 3339, or a date (midnight UTC, when the scanners stop
/// honouring the entry).
pub(crate) fn expiry(text: &str) -> Result<DateTime<Utc>, String> {
    // TOML's local date-times (`2025-01-31T12:00:00`) carry no offset: taken as UTC.
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(t.and_utc());
    }
    let normalised = crate::feeds::timestamp(text)?;
    instant(&normalised).map_err(|e| e.to_string())
}

/// A vulnerability or recommendation id as a target: trimmed, bounded, CVE ids upper-cased.
pub(crate) fn normalise_target(
    file: &str,
    at: &str,
    kind: TargetKind,
    id: &str,
) -> Result<String, FormatError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(FormatError::parse(file, at, "the id is empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(FormatError::parse(
            file,
            at,
            format!(
                "the id is {} bytes long, more than the {MAX_ID_BYTES} allowed",
                id.len()
            ),
        ));
    }
    let cve = id.len() > 4 && id[..4].eq_ignore_ascii_case("cve-");
    Ok(if kind == TargetKind::Cve && cve {
        id.to_ascii_uppercase()
    } else {
        id.to_string()
    })
}

/// The `urn:uuid:` of a document, derived from its content: the first 128 bits of its SHA-256, marked
/// as an RFC 9562 version 8 (custom) UUID.
pub(crate) fn derived_uuid(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A finished export: the document's identity derived from its content when it has none, then the
/// document pretty-printed.
pub(crate) fn exported<T: serde::Serialize>(
    mut document: T,
    id: fn(&mut T) -> &mut Option<String>,
    left_out: Vec<(i64, String)>,
) -> Exported {
    // Serializing plain data to JSON cannot fail.
    if id(&mut document).is_none() {
        let content = serde_json::to_vec(&document).unwrap_or_default();
        *id(&mut document) = Some(derived_uuid(&content));
    }
    let mut json = serde_json::to_string_pretty(&document).unwrap_or_default();
    json.push('\n');
    Exported { json, left_out }
}

/// The statements a VEX document can carry, each with the vulnerability ids it is written under (a
/// CVE exception's target first, then the others, each once), and the exceptions left out: a
/// recommendation exception that covers no vulnerability id has nothing VEX can say.
pub(crate) fn writable(statements: &[VexStatement]) -> WritableStatements<'_> {
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    for s in statements {
        let e = &s.exception;
        let mut ids: Vec<&str> = Vec::new();
        let target = (e.kind == TargetKind::Cve).then_some(e.target.as_str());
        for id in target
            .into_iter()
            .chain(s.vulnerabilities.iter().map(String::as_str))
        {
            let id = id.trim();
            if !id.is_empty() && !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            let reason = format!(
                "recommendation exception on {} covers no vulnerability id; VEX speaks only of \
                 vulnerabilities",
                e.target
            );
            left_out.push((e.id, reason));
        } else {
            out.push((s, ids));
        }
    }
    (out, left_out)
}

/// What [`writable`] returns.
pub(crate) type WritableStatements<'a> =
    (Vec<(&'a VexStatement, Vec<&'a str>)>, Vec<(i64, String)>);

/// The last time an exception changed (created, canceled, a group canceled, marked for review, expiry
/// recorded).
pub(crate) fn last_updated(e: &Exception) -> DateTime<Utc> {
    let mut last = e.created_at;
    let times = [
        e.canceled_at,
        e.review.as_ref().map(|r| r.at),
        e.expiry_recorded_at,
    ];
    for t in times
        .into_iter()
        .chain(e.groups.iter().map(|g| g.canceled_at))
        .flatten()
    {
        last = last.max(t);
    }
    last
}

/// Gathers proposals in file order: entries of one Bulwark exception (one per covered vulnerability)
/// become one proposal; a foreign entry on a target already proposed globally is skipped, because a
/// Bulwark exception covers a vulnerability on every product.
pub(crate) struct Collector<'f> {
    file: &'f str,
    out: VexImport,
    by_id: HashMap<i64, usize>,
    by_target: HashMap<(TargetKind, String), String>,
}

impl<'f> Collector<'f> {
    pub fn new(file: &'f str, format: ImportFormat) -> Collector<'f> {
        Collector {
            file,
            out: VexImport {
                format,
                proposals: Vec::new(),
                skipped: Vec::new(),
            },
            by_id: HashMap::new(),
            by_target: HashMap::new(),
        }
    }

    /// `file: at`.
    pub fn source(&self, at: &str) -> String {
        format!("{}: {at}", self.file)
    }

    /// Records an entry not proposed.
    pub fn skip(&mut self, at: &str, reason: impl Into<String>) {
        let source = self.source(at);
        self.out.skipped.push((source, reason.into()));
    }

    /// Adds the global CVE proposal of an entry without Bulwark facts, read at `at`.
    pub fn foreign(
        &mut self,
        at: &str,
        target: String,
        justification: Justification,
        context: String,
        expires_at: Option<DateTime<Utc>>,
        products: Vec<String>,
    ) {
        let key = (TargetKind::Cve, target.clone());
        if let Some(first) = self.by_target.get(&key) {
            let reason = format!(
                "{target} is already proposed from {first} (a Bulwark exception covers it on every product)"
            );
            self.skip(at, reason);
            return;
        }
        self.by_target.insert(key, at.to_string());
        let source = self.source(at);
        self.out.proposals.push(ProposedException {
            kind: TargetKind::Cve,
            target,
            justification,
            context,
            groups: None,
            expires_at,
            created_by: None,
            products,
            source,
        });
    }

    /// Adds the proposal of an entry carrying Bulwark facts; entries of one exception id merge.
    pub fn bulwark(
        &mut self,
        at: &str,
        facts: Facts,
        context: String,
        products: Vec<String>,
    ) -> Result<(), FormatError> {
        if let Some(status @ (ExceptionStatus::Canceled | ExceptionStatus::Expired)) = facts.status
        {
            let reason = format!(
                "exception {} was {} when exported",
                facts.id,
                status.as_str()
            );
            self.skip(at, reason);
            return Ok(());
        }
        let proposal = ProposedException {
            kind: facts.kind,
            target: facts.target,
            justification: facts.justification,
            context,
            groups: facts.groups,
            expires_at: Some(facts.expires_at),
            created_by: facts.created_by,
            products,
            source: self.source(at),
        };
        if let Some(&index) = self.by_id.get(&facts.id) {
            let first = &mut self.out.proposals[index];
            let same = first.kind == proposal.kind
                && first.target == proposal.target
                && first.justification == proposal.justification
                && first.context == proposal.context
                && first.groups == proposal.groups
                && first.expires_at == proposal.expires_at
                && first.created_by == proposal.created_by;
            if !same {
                return Err(FormatError::parse(
                    self.file,
                    at,
                    format!(
                        "exception {} is described differently here than at {}",
                        facts.id,
                        first
                            .source
                            .strip_prefix(&format!("{}: ", self.file))
                            .unwrap_or(&first.source)
                    ),
                ));
            }
            for p in proposal.products {
                if !first.products.contains(&p) {
                    first.products.push(p);
                }
            }
            return Ok(());
        }
        self.by_id.insert(facts.id, self.out.proposals.len());
        if proposal.groups.is_none() {
            self.by_target
                .entry((proposal.kind, proposal.target.clone()))
                .or_insert_with(|| at.to_string());
        }
        self.out.proposals.push(proposal);
        Ok(())
    }

    pub fn finish(self) -> VexImport {
        self.out
    }
}

/// A list read with a bound on its length: more than `N` entries is an error at the list, found
/// without reading the excess entries into memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bounded<T, const N: usize>(pub Vec<T>);

impl<T, const N: usize> Default for Bounded<T, N> {
    fn default() -> Self {
        Bounded(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Bounded<T, N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<T, const N: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for BoundedVisitor<T, N> {
            type Value = Bounded<T, N>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list of at most {N} entries")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while items.len() < N {
                    if !take_item() {
                        return Err(de::Error::custom(format!(
                            "more than {MAX_TOTAL_ITEMS} list entries in the document; Bulwark reads \
                             at most {MAX_TOTAL_ITEMS}"
                        )));
                    }
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => return Ok(Bounded(items)),
                    }
                }
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(format!(
                        "more than {N} entries; Bulwark reads at most {N}"
                    )));
                }
                Ok(Bounded(items))
            }
        }

        deserializer.deserialize_seq(BoundedVisitor::<T, N>(PhantomData))
    }
}

thread_local! {
    /// The list entries the current read may still take ([`MAX_TOTAL_ITEMS`] in all). The one piece
    /// of state in this module: serde's derived deserializers pass no context to [`Bounded`], so the
    /// budget of a read lives here, set by [`Budget::start`] and restored when the read ends.
    static ITEMS_LEFT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The entry budget of one read; dropping it restores the budget of any read around it.
pub(crate) struct Budget(Option<usize>);

impl Budget {
    pub fn start() -> Budget {
        Budget(ITEMS_LEFT.with(|left| left.replace(Some(MAX_TOTAL_ITEMS))))
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        ITEMS_LEFT.with(|left| left.set(self.0));
    }
}

/// Takes one entry from the budget; false when it is spent (always true outside a read).
fn take_item() -> bool {
    ITEMS_LEFT.with(|left| match left.get() {
        None => true,
        Some(0) => false,
        Some(n) => {
            left.set(Some(n - 1));
            true
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_uuids_are_version_8_and_follow_the_content() {
        let a = derived_uuid(b"one document");
        assert_eq!(a, derived_uuid(b"one document"));
        assert_ne!(a, derived_uuid(b"another document"));
        let hex = a.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<usize> = hex.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&hex[14..15], "8", "version nibble");
        assert!("89ab".contains(&hex[19..20]), "RFC 4122 variant");
    }

    #[test]
    fn expiries_and_targets() {
        let check = |text: &str, expected: &str| {
            let got = expiry(text).map_or_else(|e| e, rfc3339);
            assert_eq!(got, expected, "{text}");
        };
        check("2024-08-20", "2024-08-20T00:00:00Z");
        check("2025-01-31T12:00:00", "2025-01-31T12:00:00Z");
        check("2025-01-31T12:00:00.5+02:00", "2025-01-31T10:00:00.500Z");
        check(
            "someday",
            "`someday` is neither an RFC 3339 time nor a YYYY-MM-DD date",
        );

        let target = |kind, id| normalise_target("f", "$", kind, id).unwrap();
        assert_eq!(target(TargetKind::Cve, " cve-2024-1 "), "CVE-2024-1");
        assert_eq!(target(TargetKind::Cve, "GHSA-abcd-efgh"), "GHSA-abcd-efgh");
        assert_eq!(target(TargetKind::Cve, "ghsa-abcd-efgh"), "ghsa-abcd-efgh");
        assert_eq!(
            target(TargetKind::Recommendation, "cve-like-recommendation"),
            "cve-like-recommendation"
        );
        assert_eq!(
            normalise_target("f", "$.id", TargetKind::Cve, " ")
                .unwrap_err()
                .to_string(),
            "f: $.id: the id is empty"
        );
    }
}
