//! Test fixtures shared by the SQLite and PostgreSQL unit tests (compiled only for tests).

use bulwark_core::Advisory;
use chrono::{DateTime, Utc};

use crate::{StoreError, StoreResult};

/// A fixed instant `secs` seconds after a base time.
pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).expect("valid time")
}

/// A minimal advisory with the given id and `modified`, its summary naming the `modified` it came with.
pub(crate) fn advisory(id: &str, modified: &str) -> Advisory {
    Advisory {
        id: id.to_string(),
        aliases: vec![],
        related: vec![],
        modified: modified.to_string(),
        published: None,
        withdrawn: None,
        summary: Some(modified.to_string()),
        details: None,
        severity: None,
        affected: vec![],
        informational: None,
        references: vec![],
    }
}

/// Asserts that a store call reported corrupt data in `table`.
pub(crate) fn expect_corrupt<T: std::fmt::Debug>(result: StoreResult<T>, table: &str) {
    match result {
        Err(StoreError::Corrupt { table: t, .. }) => assert_eq!(t, table),
        other => panic!("expected corrupt data in {table}, got {other:?}"),
    }
}
