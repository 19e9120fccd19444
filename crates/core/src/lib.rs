//! Bulwark's pure domain model: ecosystems and their version orderings, advisories, inventories,
//! matching of installed packages against advisories, vulnerabilities and security recommendations.
//!
//! Architecture invariant: this crate does no IO, has no async code and knows no database or HTTP types.
//! Everything here is a function of its inputs, so it is tested with plain data.

pub mod advisory;
pub mod agent;
pub mod audit;
pub mod config;
pub mod context;
pub mod cpe;
pub mod cpe_index;
pub mod cvss;
pub mod device;
pub mod ecosystem;
pub mod exception;
pub mod exposure;
pub mod group;
pub mod identity;
pub mod inventory;
pub mod matching;
pub mod recommendation;
pub mod remediation;
pub mod scan;
pub mod score;
pub mod threat;
pub mod version;
pub mod webhook;

pub use advisory::{Advisory, Affected, Event, Range, RangeKind, Severity, SeverityLevel};
pub use device::{Clock, Device, DeviceId, DeviceInfo, SoftwareKey, SystemClock, Weakness};
pub use ecosystem::{Ecosystem, EcosystemRelease};
pub use inventory::{InstalledPackage, Inventory, InventoryNote};
pub use version::{Version, VersionError, VersionScheme};
