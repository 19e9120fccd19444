//! Parsers that turn bytes into Bulwark's core types: OSV advisories (JSON and YAML, from files,
//! directory trees and archives), device inventories (SBOMs, OS package databases, lockfiles), and the
//! threat-context feeds (NVD CVE API 2.0, CISA KEV, FIRST EPSS).
//!
//! Architecture invariant: nothing here touches the database or the network; the only IO is reading the
//! files and archives a caller names. Every error names the file and the line or JSON path.

pub mod epss;
pub mod error;
pub mod feeds;
pub mod host;
pub mod import;
pub mod inventory;
pub mod kev;
pub mod nvd;
pub mod osv;
pub mod source;
pub mod vex;
pub mod xccdf;

pub use error::FormatError;
