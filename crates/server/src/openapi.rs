//! The OpenAPI 3.1 document: its header ([`ApiDoc`]) and the schemas of the response bodies.
//!
//! The paths come from the handlers' `#[utoipa::path]` attributes, collected by the same router that
//! serves them (see `routes::api`), so the document cannot drift from the routes. The response types
//! belong to core and the engine, which know nothing of OpenAPI; the schemas below mirror them field for
//! field, and a test checks each mirror's properties against the real type's serialized field names.

use utoipa::{OpenApi, ToSchema};

use crate::error::{ErrorBody, ErrorDetail};

/// The document's header: title, description, tags and the schemas not reached through a path.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bulwark",
        description = "Threat and vulnerability management on open data: OSV advisories matched against \
                       device inventories. Field names follow Microsoft Defender Vulnerability Management's API. \
                       List endpoints answer `{\"value\": [...]}` and accept plain `field=value` parameters, \
                       `search`, and the OData options `$filter`, `$orderby`, `$top` and `$skip`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "recommendations", description = "Security recommendations: one per vulnerable product."),
        (name = "machines", description = "Devices, their software and vulnerabilities; inventory ingestion."),
        (name = "vulnerabilities", description = "Vulnerabilities open in the fleet, with their threat context (NVD, CISA KEV, EPSS)."),
        (name = "scores", description = "Exposure scores of the organisation, device groups and devices, and their history."),
        (name = "configuration", description = "The Secure Score for Devices: configuration scores of the organisation, device groups and devices, configuration assessments (OpenSCAP, osquery) and ConfigurationChange recommendations."),
        (name = "remediation", description = "Exceptions (with their score impact and resurfacing), remediation activities and the tamper-evident audit trail."),
        (name = "meta", description = "This document.")
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

/// A list: MDVM's OData collection shape (also the body of the lists that take no query options).
#[derive(ToSchema, serde::Serialize)]
pub struct List<T> {
    /// The items, after filtering, ordering and paging.
    pub value: Vec<T>,
}

/// How a recommendation is remediated.
#[derive(ToSchema)]
pub enum RemediationType {
    /// The recommended version keeps the installed major version.
    Update,
    /// The recommended version needs a new major version.
    Upgrade,
    /// No version fixes the weaknesses: remove the software.
    Uninstall,
}

/// A security recommendation for one vulnerable product.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// Stable id: `va-_-{ecosystem[_release]}-_-{name}`.
    pub id: String,
    /// The package name.
    pub product_name: String,
    /// "Update django to 4.2.16", "Upgrade jinja2 to 3.1.4", "Uninstall rust-crypto".
    pub recommendation_name: String,
    /// The ecosystem (and release) that ships the product.
    pub vendor: String,
    /// Number of distinct vulnerabilities.
    pub weaknesses: u64,
    /// The lowest version that fixes every weakness (or the most, see `unfixedWeaknesses`); null when
    /// no fix is known.
    pub recommended_version: Option<String>,
    /// Update, Upgrade or Uninstall.
    pub remediation_type: RemediationType,
    /// Highest CVSS base score among the weaknesses (1–10).
    pub severity_score: f64,
    /// Whether an exploit is publicly known (KEV, or an NVD reference tagged `Exploit`).
    pub public_exploit: bool,
    /// Known threats: one line per vulnerability listed in CISA KEV.
    pub associated_threats: Vec<String>,
    /// Exposed devices whose device value is High.
    pub exposed_critical_devices: u64,
    /// The exact drop of the organisation's exposure score if remediated on every device.
    pub exposure_impact: f64,
    /// The rise of the secure score for devices (0 for software recommendations).
    pub config_score_impact: f64,
    /// `Active`, `Exception` or `PartialException`, from the exceptions in effect.
    pub status: String,
    /// Devices with the product installed (any version).
    pub total_machine_count: u64,
    /// Devices seen in the last 30 days with a vulnerable version.
    pub exposed_machines_count: u64,
    /// Exposed devices that still have a weakness of it no exception covers.
    pub exposed_machines_count_after_exceptions: u64,
    /// The exact drop of the exposure score (exceptions applied) if remediated where no exception covers it.
    pub exposure_impact_after_exceptions: f64,
    /// The component the recommendation is about.
    pub related_component: String,
    /// `Application` for language packages, `OS` for distribution packages.
    pub recommendation_category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The OSV ecosystem name.
    pub ecosystem: String,
    /// The distribution release, for OS packages.
    pub release: Option<String>,
    /// Vulnerable versions installed across the fleet, sorted.
    pub installed_versions: Vec<String>,
    /// Ids of the vulnerabilities, sorted.
    pub vulnerability_ids: Vec<String>,
    /// Vulnerabilities the recommended version does not fix.
    pub unfixed_weaknesses: Vec<String>,
}

/// A vulnerability with the devices it is open on.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Vulnerability {
    /// The vulnerability id (its CVE when it has one).
    pub id: String,
    /// Same as id.
    pub name: String,
    /// Summary of the first advisory that has one.
    pub description: Option<String>,
    /// Low, Medium, High, Critical (None when unrated).
    pub severity: String,
    /// CVSS base score.
    #[serde(rename = "cvssV3")]
    pub cvss_v3: Option<f64>,
    /// CVSS vector.
    pub cvss_vector: Option<String>,
    /// Devices with this vulnerability open.
    pub exposed_machines: u64,
    /// Earliest publication among the advisories.
    pub published_on: Option<String>,
    /// Latest modification among the advisories.
    pub updated_on: Option<String>,
    /// Whether an exploit is public.
    pub public_exploit: bool,
    /// Whether exploitation is verified (KEV).
    pub exploit_verified: bool,
    /// EPSS probability.
    pub epss: Option<f64>,
    /// EPSS percentile.
    pub epss_percentile: Option<f64>,
    /// KEV: known use in ransomware campaigns.
    pub ransomware: bool,
    /// KEV: the date CISA added it.
    pub kev_date_added: Option<String>,
    /// KEV: the required action's due date.
    pub kev_due_date: Option<String>,
    /// KEV: the required action.
    pub kev_required_action: Option<String>,
    /// CWE ids (NVD).
    pub cwes: Vec<String>,
    /// Advisory records for this vulnerability that matched.
    pub advisory_ids: Vec<String>,
    /// Every alias known.
    pub aliases: Vec<String>,
}

/// A device.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// Store id.
    pub id: i64,
    /// Device name.
    pub computer_dns_name: String,
    /// Operating system, as reported.
    pub os_platform: Option<String>,
    /// The device group it is in (explicit assignment, else the first matching rule, else `Ungrouped`).
    pub rbac_group_name: String,
    /// Tags.
    pub machine_tags: Vec<String>,
    /// Device value: `Low`, `Normal` or `High`.
    pub device_value: String,
    /// Exposure score (0–100); null when not seen within the exposure window.
    pub exposure_score: Option<f64>,
    /// Exposure level: `None`, `Low`, `Medium` or `High`; null when not seen within the window.
    pub exposure_level: Option<String>,
    /// First ingest.
    #[schema(format = DateTime)]
    pub first_seen: String,
    /// Latest ingest.
    #[schema(format = DateTime)]
    pub last_seen: String,
    /// Seen within the exposure window (30 days).
    pub is_active: bool,
    /// Installed packages.
    pub software_count: u64,
    /// Distinct open vulnerabilities.
    pub vulnerability_count: u64,
}

/// One vulnerable version of a recommendation's product.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VulnerableSoftware {
    /// Package name.
    pub name: String,
    /// Ecosystem (with release).
    pub vendor: String,
    /// Installed version.
    pub version: String,
    /// Devices with this version and an open weakness in it.
    pub exposed_machines: u64,
    /// Distinct vulnerabilities of this version.
    pub weaknesses: u64,
}

/// A device as stored (in an ingest summary).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Store id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Operating system.
    pub os: Option<String>,
    /// The device group it is explicitly assigned to.
    pub group: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Device value: `Low`, `Normal` or `High`.
    pub value: String,
    /// First ingest.
    #[schema(format = DateTime)]
    pub first_seen: String,
    /// Latest ingest.
    #[schema(format = DateTime)]
    pub last_seen: String,
}

/// Something in an inventory that could not be assessed.
#[derive(ToSchema)]
pub struct InventoryNote {
    /// Where in the file: `line 12`, `$.components[3]`.
    pub location: String,
    /// What was found and why it is not assessed.
    pub message: String,
}

/// A package version that could not be parsed for matching.
#[derive(ToSchema)]
pub struct Unassessed {
    /// OSV ecosystem name.
    pub ecosystem: String,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Why.
    pub reason: String,
}

/// What an inventory ingest did.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestSummary {
    /// The device, as stored after the ingest.
    pub device: Device,
    /// The format the inventory was read as.
    pub format: String,
    /// Packages in the inventory.
    pub packages: u64,
    /// Packages that appeared since the previous ingest.
    pub appeared: u64,
    /// Packages that disappeared since the previous ingest.
    pub disappeared: u64,
    /// Open weaknesses of the device after the ingest.
    pub open_weaknesses: u64,
    /// Weaknesses newly detected.
    pub opened: u64,
    /// Weaknesses no longer detected.
    pub resolved: u64,
    /// Entries of the inventory that could not be assessed.
    pub notes: Vec<InventoryNote>,
    /// Package versions that could not be parsed for matching.
    pub unassessed: Vec<Unassessed>,
    /// Informational advisories (unmaintained, unsound, notice) that apply: warnings, not weaknesses.
    pub warnings: Vec<Finding>,
}

/// One advisory that applies to one installed package version.
#[derive(ToSchema)]
pub struct Finding {
    /// OSV ecosystem name (with release for OS packages).
    pub ecosystem: String,
    /// Package name as installed.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// The advisory record.
    pub advisory_id: String,
    /// The vulnerability it belongs to (CVE when known).
    pub vulnerability_id: String,
    /// The advisory's aliases.
    pub aliases: Vec<String>,
    /// Low / Medium / High / Critical, when rated.
    pub severity: Option<String>,
    /// CVSS base score, when a vector was given.
    pub cvss_score: Option<f64>,
    /// Versions that fix it.
    pub fixed_versions: Vec<String>,
    /// The advisory's summary.
    pub summary: Option<String>,
    /// For informational advisories: `unmaintained`, `unsound`, `notice`.
    pub informational: Option<String>,
}

/// An exception: why a recommendation or CVE is not remediated, for which device groups, until when.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    /// Store id.
    pub id: i64,
    /// `Recommendation` or `Cve`.
    pub exception_type: String,
    /// The recommendation it is on.
    pub recommendation_id: Option<String>,
    /// The CVE it is on.
    pub cve_id: Option<String>,
    /// `third_party_control`, `alternate_mitigation`, `risk_accepted`, `planned_remediation`,
    /// `cve_no_patch` or `false_positive`.
    pub justification: String,
    /// The console's label of the justification.
    pub justification_label: String,
    /// The free text.
    pub justification_context: String,
    /// `InEffect`, `Expired` or `Canceled`.
    pub status: String,
    /// Every current and future device group.
    pub global: bool,
    /// The device groups: `{name, status, suspended, canceledBy, canceledOn}`.
    pub device_groups: Vec<serde_json::Value>,
    /// `NoImpact`, `Mitigated` or `Removed`.
    pub score_effect: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    #[schema(format = DateTime)]
    pub created_on: String,
    /// Its expiry instant.
    #[schema(format = DateTime)]
    pub expires_on: String,
    /// Who canceled it.
    pub canceled_by: Option<String>,
    /// When.
    #[schema(format = DateTime)]
    pub canceled_on: Option<String>,
    /// A resurfacing trigger fired.
    pub needs_review: bool,
    /// Why.
    pub review_reasons: Vec<String>,
    /// The policy voided it.
    pub voided: bool,
    /// In effect yet covering nothing for the policy's number of days.
    pub stale: bool,
    /// The last time it covered a finding.
    #[schema(format = DateTime)]
    pub last_covered_on: Option<String>,
}

/// One entry of the audit trail.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    #[schema(format = DateTime)]
    pub at: String,
    /// Who (`system` for the system's own changes).
    pub actor: String,
    /// What (`exception.create`, …).
    pub action: String,
    /// The kind of entity.
    pub entity: String,
    /// Its id.
    pub entity_id: String,
    /// The entity before, as JSON text.
    pub before: Option<String>,
    /// The entity after, as JSON text.
    pub after: Option<String>,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::field_names;
    use serde::de::DeserializeOwned;
    use utoipa::PartialSchema;

    /// The mirror `M` documents exactly the fields that `T` serializes.
    fn check<M: PartialSchema, T: DeserializeOwned>() {
        let schema = serde_json::to_value(M::schema()).unwrap_or_default();
        let mut documented: Vec<&str> = schema["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        documented.sort_unstable();
        let mut real = field_names::<T>();
        real.sort_unstable();
        assert!(
            !real.is_empty(),
            "{} has no fields",
            std::any::type_name::<T>()
        );
        assert_eq!(
            documented,
            real,
            "{} drifted from {}",
            std::any::type_name::<M>(),
            std::any::type_name::<T>()
        );
    }

    #[test]
    fn mirrors_match_the_real_types() {
        check::<Recommendation, bulwark_core::recommendation::Recommendation>();
        check::<Vulnerability, bulwark_core::recommendation::VulnerabilitySummary>();
        check::<Machine, bulwark_engine::MachineView>();
        check::<VulnerableSoftware, bulwark_engine::SoftwareView>();
        check::<IngestSummary, bulwark_engine::IngestSummary>();
        check::<Device, bulwark_core::Device>();
        check::<InventoryNote, bulwark_core::InventoryNote>();
        check::<Unassessed, bulwark_core::scan::Unassessed>();
        check::<Finding, bulwark_core::scan::Finding>();
        check::<Exception, bulwark_engine::ExceptionView>();
        check::<AuditEntry, bulwark_core::audit::AuditEntry>();
    }

    #[test]
    fn remediation_types_match() {
        use bulwark_core::recommendation::RemediationType as Real;
        // An exhaustive match: a new variant in core stops this test from compiling until listed here.
        let listed = |r: Real| match r {
            Real::Update | Real::Upgrade | Real::Uninstall => r,
        };
        let schema = serde_json::to_value(RemediationType::schema()).unwrap_or_default();
        let real: Vec<serde_json::Value> = [Real::Update, Real::Upgrade, Real::Uninstall]
            .into_iter()
            .map(|r| serde_json::to_value(listed(r)).unwrap_or_default())
            .collect();
        assert_eq!(schema["enum"], serde_json::Value::Array(real));
    }
}
