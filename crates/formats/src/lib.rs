//! Parsers that turn bytes into Bulwark's core types: OSV advisories (JSON and YAML, from files,
//! directory trees and archives) and device inventories (SBOMs, OS package databases, lockfiles).
//!
//! Architecture invariant: nothing here touches the database or the network; the only IO is reading the
//! files and archives a caller names. Every error names the file and the line or JSON path.

pub mod error;
pub mod inventory;
pub mod osv;
pub mod source;

pub use error::FormatError;
