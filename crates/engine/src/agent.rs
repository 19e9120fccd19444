//! Ingesting a report of the Linux agent: the device is upserted by its host name and OS, its software set
//! becomes the union of the report's inventories, and its weaknesses are recomputed, exactly as for an
//! uploaded inventory file.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use bulwark_core::agent::{AgentReport, PackageSource};
use bulwark_core::config::{CheckSource, CheckStatus, HostFacts, evaluate};
use bulwark_core::{DeviceInfo, InventoryNote};

use crate::{Engine, EngineError, EngineResult, IngestSummary};

/// The format an agent report's packages are reported as in the ingest summary.
pub const AGENT_REPORT_FORMAT: &str = "agent-report";

/// What ingesting an agent report did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentIngestSummary {
    /// The software ingest: the device as stored, package and weakness counts, notes.
    #[serde(flatten)]
    pub ingest: IngestSummary,
    /// The packages each inventory of the report contributed.
    pub inventories: Vec<InventoryCount>,
    /// How many sources the agent reported it skipped.
    pub skipped: u64,
    /// The configuration facts, when the report carried them.
    pub facts: Option<FactsReceived>,
}

/// One inventory of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryCount {
    /// The kind of source.
    pub source: PackageSource,
    /// Where on the host it was read.
    pub path: String,
    /// Its packages.
    pub packages: u64,
}

/// The configuration facts of a report: the checks evaluated over them (stored as source `bulwark`,
/// replacing the device's previous ones) and how they came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FactsReceived {
    /// The configuration checks evaluated over the facts.
    pub checks: u64,
    /// Checks that pass.
    pub passed: u64,
    /// Checks that fail.
    pub failed: u64,
}

impl Engine {
    /// Ingests an agent report: upserts the device (name and OS; its group and tags are left as they are),
    /// replaces its software set with every package of every inventory, and recomputes its weaknesses.
    /// When the report carries configuration facts, Bulwark's checks are evaluated over them and stored
    /// as the device's results of source `bulwark` (before the score snapshot the ingest records).
    pub async fn ingest_agent_report(
        &self,
        report: AgentReport,
    ) -> EngineResult<AgentIngestSummary> {
        let AgentReport {
            device,
            inventories,
            facts,
            skipped,
            ..
        } = report;
        let name = device.name.trim();
        if name.is_empty() {
            return Err(EngineError::Invalid(
                "the report's device.name is empty: the agent could read neither /etc/hostname nor \
                 the kernel's host name"
                    .into(),
            ));
        }
        let info = DeviceInfo {
            name: name.to_string(),
            os: device.os.filter(|os| !os.trim().is_empty()),
            ..DeviceInfo::default()
        };
        let counts = inventories
            .iter()
            .map(|i| InventoryCount {
                source: i.source,
                path: i.path.clone(),
                packages: i.packages.len() as u64,
            })
            .collect();
        let mut packages = Vec::new();
        let mut notes = Vec::new();
        for inventory in inventories {
            packages.extend(inventory.packages);
            notes.extend(inventory.notes.into_iter().map(|note| InventoryNote {
                // Parser notes say `line 12`; the walkers' notes already name the host file.
                location: if note.location.starts_with('/') {
                    note.location
                } else {
                    format!("{}: {}", inventory.path, note.location)
                },
                message: note.message,
            }));
        }
        let mut seen = HashSet::new();
        packages.retain(|p| seen.insert(p.clone()));
        let facts = match facts {
            Some(facts) => Some(self.store_agent_facts(&info, facts).await?),
            None => None,
        };
        let ingest = self
            .ingest_packages(info, packages, notes, AGENT_REPORT_FORMAT.to_string())
            .await?;
        Ok(AgentIngestSummary {
            ingest,
            inventories: counts,
            skipped: skipped.len() as u64,
            facts,
        })
    }
}

impl Engine {
    /// Evaluates Bulwark's checks over a report's facts and stores the results as the device's `bulwark`
    /// results, creating the device if needed.
    async fn store_agent_facts(
        &self,
        device: &DeviceInfo,
        mut facts: HostFacts,
    ) -> EngineResult<FactsReceived> {
        // The agent collected these facts itself, whatever the report says.
        facts.source = CheckSource::Bulwark;
        let results = evaluate(&facts);
        let now = self.now();
        let stored = self.store.upsert_device(device, now).await?;
        self.store
            .replace_config_results(stored.id, CheckSource::Bulwark, &results, now)
            .await?;
        let count = |status: CheckStatus| results.iter().filter(|r| r.status == status).count();
        Ok(FactsReceived {
            checks: results.len() as u64,
            passed: count(CheckStatus::Pass) as u64,
            failed: count(CheckStatus::Fail) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bulwark_core::agent::{AgentDevice, AgentInventory};
    use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, SystemClock};

    use super::*;

    fn report(name: &str, inventories: Vec<AgentInventory>) -> AgentReport {
        AgentReport {
            agent_version: "0.1.0".into(),
            device: AgentDevice {
                name: name.into(),
                os: Some("debian 12".into()),
                ..AgentDevice::default()
            },
            collected_at: chrono::DateTime::from_timestamp(1_717_243_200, 0).expect("valid time"),
            inventories,
            facts: None,
            skipped: Vec::new(),
        }
    }

    fn inventory(source: PackageSource, packages: &[(Ecosystem, &str, &str)]) -> AgentInventory {
        AgentInventory {
            source,
            path: format!("/{source}"),
            format: "test".into(),
            packages: packages
                .iter()
                .map(|(e, n, v)| InstalledPackage::new(EcosystemRelease::new(*e, None), n, v))
                .collect(),
            notes: vec![InventoryNote {
                location: "line 3".into(),
                message: "half-installed".into(),
            }],
        }
    }

    #[tokio::test]
    async fn the_software_set_is_the_union_of_the_inventories() {
        let (store, _database) = bulwark_store::testing::fresh_store().await.expect("store");
        let engine = Engine::open(store, Arc::new(SystemClock))
            .await
            .expect("engine");
        let summary = engine
            .ingest_agent_report(report(
                " web-01 ",
                vec![
                    inventory(
                        PackageSource::Dpkg,
                        &[(Ecosystem::Debian, "curl", "7.88.1-10")],
                    ),
                    inventory(
                        PackageSource::Python,
                        &[
                            (Ecosystem::PyPI, "requests", "2.28.1"),
                            (Ecosystem::PyPI, "requests", "2.28.1"),
                        ],
                    ),
                ],
            ))
            .await
            .expect("ingest");
        assert_eq!(summary.ingest.device.name, "web-01");
        assert_eq!(summary.ingest.device.os.as_deref(), Some("debian 12"));
        assert_eq!(summary.ingest.format, AGENT_REPORT_FORMAT);
        assert_eq!(summary.ingest.packages, 2);
        assert_eq!(
            summary
                .inventories
                .iter()
                .map(|i| i.packages)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        let notes: Vec<String> = summary
            .ingest
            .notes
            .iter()
            .map(|n| format!("{}: {}", n.location, n.message))
            .collect();
        assert_eq!(
            notes,
            [
                "/dpkg: line 3: half-installed",
                "/python: line 3: half-installed"
            ]
        );
        let software = engine.machine_software("web-01").await.expect("software");
        let mut rendered: Vec<String> = software
            .iter()
            .map(|p| format!("{} {} {}", p.ecosystem.ecosystem, p.name, p.version))
            .collect();
        rendered.sort();
        assert_eq!(rendered, ["Debian curl 7.88.1-10", "PyPI requests 2.28.1"]);
        // Debian packages are placed in the report's OS release.
        let curl = software.iter().find(|p| p.name == "curl").expect("curl");
        assert_eq!(curl.ecosystem.release.as_deref(), Some("12"));

        // A second report replaces the set.
        let summary = engine
            .ingest_agent_report(report(
                "web-01",
                vec![inventory(
                    PackageSource::Dpkg,
                    &[(Ecosystem::Debian, "curl", "7.88.1-10")],
                )],
            ))
            .await
            .expect("second ingest");
        assert_eq!(
            (summary.ingest.appeared, summary.ingest.disappeared),
            (0, 1)
        );
    }

    #[tokio::test]
    async fn a_report_without_a_host_name_is_refused() {
        let (store, _database) = bulwark_store::testing::fresh_store().await.expect("store");
        let engine = Engine::open(store, Arc::new(SystemClock))
            .await
            .expect("engine");
        let error = engine
            .ingest_agent_report(report("  ", Vec::new()))
            .await
            .expect_err("no name");
        assert!(
            matches!(&error, EngineError::Invalid(m) if m.contains("device.name is empty")),
            "{error}"
        );
    }
}
