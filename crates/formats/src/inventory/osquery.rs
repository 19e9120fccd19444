//! osquery results for the package tables: `deb_packages`, `rpm_packages`, `python_packages`, `npm_packages`.
//!
//! Three shapes are read:
//!
//! - `osqueryi --json "select * from deb_packages"`: a JSON array of rows;
//! - osqueryd's results log, one JSON object per line: differential results (`{"name": "pack_…_deb_packages",
//!   "columns": {…}, "action": "added"|"removed"}`), batched differential results (`"diffResults": {"added": […],
//!   "removed": […]}`) and snapshots (`{"name": …, "snapshot": […]}`). Lines are replayed in order per query
//!   name: a snapshot replaces what that query reported before, `added` rows add, `removed` rows remove.
//!
//! Row values are strings (the integer `epoch` may be a number, as `--log_numerics_as_numbers` writes
//! it). The table is the one the query name mentions, else it is told from the columns: `release` is
//! only in `rpm_packages`; `revision`, `source` or `admindir` only in `deb_packages`; a `path` inside
//! `node_modules` (or `homepage`, `description`) means `npm_packages`, one in `site-packages` or
//! `dist-packages` (or `summary`) means `python_packages`.
//! Rows of other tables (a results log carries every query of a pack) are skipped with one note per query.
//!
//! `deb_packages` rows become Debian packages exactly as the dpkg status file does (`source` may hold
//! `src (version)`; rows whose `status` is not an installed state are skipped), `rpm_packages` rows Red Hat
//! packages with the same `[EPOCH:]VERSION-RELEASE` versions as `rpm -qa`, and the others PyPI and npm packages.
//! The column names are osquery's table specs (`specs/*.table`), as the packs in `osquery/packs` query them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bulwark_core::{InstalledPackage, Inventory, InventoryNote};
use serde_json::{Map, Value};

use super::npm_lock::{json_error, json_type, key_path};
use crate::FormatError;

/// The longest value accepted in a used column; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// The package tables this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Deb,
    Rpm,
    Python,
    Npm,
}

/// True for a JSON array whose first row is a package-table row, or a results-log line (`columns`,
/// `snapshot` or `diffResults`).
pub fn detect(bytes: &[u8]) -> bool {
    let text = super::requirements::window(bytes);
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('[') {
        let mut rows =
            serde_json::Deserializer::from_str(rest.trim_start()).into_iter::<Map<String, Value>>();
        return match rows.next() {
            Some(Ok(row)) => {
                row.values().all(|v| v.is_string() || v.is_number())
                    && table_of(&row, None).is_some()
            }
            _ => false,
        };
    }
    if !text.starts_with('{') {
        return false;
    }
    let first_line = text.lines().next().unwrap_or("");
    match serde_json::from_str::<Map<String, Value>>(first_line) {
        Ok(line) => {
            line.get("columns").is_some_and(Value::is_object)
                || line.get("snapshot").is_some_and(Value::is_array)
                || line.get("diffResults").is_some_and(Value::is_object)
        }
        // A snapshot of every package can be one very long line: look at its start only.
        Err(_) if first_line.len() == text.len() && bytes.len() > text.len() => {
            let start = &first_line[..first_line.len().min(4096)];
            ["\"snapshot\"", "\"diffResults\"", "\"columns\""]
                .iter()
                .any(|k| start.contains(k))
                && start.contains("\"name\"")
        }
        Err(_) => false,
    }
}

/// Parses osquery results; `file` names them in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let text = super::requirements::utf8(file, bytes)?;
    let mut results = Results::default();
    if text.trim_start().starts_with('[') {
        let rows: Value = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
        let rows = rows
            .as_array()
            .ok_or_else(|| FormatError::parse(file, "$", "must be an array of rows"))?;
        for (index, row) in rows.iter().enumerate() {
            results.add(file, "", &format!("$[{index}]"), row)?;
        }
    } else {
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            results.line(file, index + 1, line)?;
        }
    }
    Ok(results.finish())
}

/// The packages each query reports, replayed line by line.
#[derive(Default)]
struct Results {
    /// Query names in the order they first appear, each with its current rows.
    queries: Vec<(String, Vec<InstalledPackage>)>,
    notes: Vec<InventoryNote>,
    /// Rows of other tables, per query name: (first location, count).
    skipped: BTreeMap<String, (String, usize)>,
}

impl Results {
    /// Reads one results-log line.
    fn line(&mut self, file: &str, number: usize, line: &str) -> Result<(), FormatError> {
        let value: Value = serde_json::from_str(line).map_err(|e| {
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            FormatError::parse(
                file,
                format!("line {number}, column {}", e.column()),
                message,
            )
        })?;
        let at = |path: &str| format!("line {number}, {path}");
        let Some(object) = value.as_object() else {
            return Err(FormatError::parse(
                file,
                at("$"),
                "a results-log line must be a JSON object",
            ));
        };
        let query = match object.get("name") {
            None => "",
            Some(Value::String(name)) => name.as_str(),
            Some(other) => {
                return Err(FormatError::parse(
                    file,
                    at("$.name"),
                    format!("must be a string, found {}", json_type(other)),
                ));
            }
        };
        if let Some(snapshot) = object.get("snapshot") {
            let rows = snapshot.as_array().ok_or_else(|| {
                FormatError::parse(file, at("$.snapshot"), "must be an array of rows")
            })?;
            self.rows_of(query).clear();
            for (index, row) in rows.iter().enumerate() {
                self.add(file, query, &at(&format!("$.snapshot[{index}]")), row)?;
            }
        } else if let Some(columns) = object.get("columns") {
            let action = match object.get("action") {
                Some(Value::String(action)) => action.as_str(),
                _ => {
                    return Err(FormatError::parse(
                        file,
                        at("$.action"),
                        "must be \"added\", \"removed\" or \"snapshot\"",
                    ));
                }
            };
            match action {
                "added" | "snapshot" => self.add(file, query, &at("$.columns"), columns)?,
                "removed" => self.remove(file, query, &at("$.columns"), columns)?,
                other => {
                    return Err(FormatError::parse(
                        file,
                        at("$.action"),
                        format!("unknown action {other:?} (added, removed and snapshot are known)"),
                    ));
                }
            }
        } else if let Some(diff) = object.get("diffResults") {
            let diff = diff.as_object().ok_or_else(|| {
                FormatError::parse(file, at("$.diffResults"), "must be an object")
            })?;
            for kind in ["removed", "added"] {
                let Some(rows) = diff.get(kind) else { continue };
                let path = format!("$.diffResults.{kind}");
                let rows = rows.as_array().ok_or_else(|| {
                    FormatError::parse(file, at(&path), "must be an array of rows")
                })?;
                for (index, row) in rows.iter().enumerate() {
                    let location = at(&format!("{path}[{index}]"));
                    if kind == "added" {
                        self.add(file, query, &location, row)?;
                    } else {
                        self.remove(file, query, &location, row)?;
                    }
                }
            }
        } else {
            return Err(FormatError::parse(
                file,
                at("$"),
                "not an osquery result: no snapshot, columns or diffResults",
            ));
        }
        Ok(())
    }

    fn rows_of(&mut self, query: &str) -> &mut Vec<InstalledPackage> {
        let index = match self.queries.iter().position(|(name, _)| name == query) {
            Some(index) => index,
            None => {
                self.queries.push((query.to_string(), Vec::new()));
                self.queries.len() - 1
            }
        };
        &mut self.queries[index].1
    }

    fn add(
        &mut self,
        file: &str,
        query: &str,
        location: &str,
        row: &Value,
    ) -> Result<(), FormatError> {
        if let Some(package) = self.package(file, query, location, row)? {
            self.rows_of(query).push(package);
        }
        Ok(())
    }

    fn remove(
        &mut self,
        file: &str,
        query: &str,
        location: &str,
        row: &Value,
    ) -> Result<(), FormatError> {
        if let Some(package) = self.package(file, query, location, row)? {
            let rows = self.rows_of(query);
            if let Some(at) = rows.iter().position(|p| *p == package) {
                rows.remove(at);
            }
        }
        Ok(())
    }

    /// Turns a row into a package, or `None` (with a note) when it is not one.
    fn package(
        &mut self,
        file: &str,
        query: &str,
        location: &str,
        row: &Value,
    ) -> Result<Option<InstalledPackage>, FormatError> {
        let Some(row) = row.as_object() else {
            return Err(FormatError::parse(
                file,
                location,
                format!("a row must be an object, found {}", json_type(row)),
            ));
        };
        let Some(table) = table_of(row, Some(query)) else {
            let entry = self
                .skipped
                .entry(query.to_string())
                .or_insert_with(|| (location.to_string(), 0));
            entry.1 += 1;
            return Ok(None);
        };
        let column = |name: &str| column(file, location, row, name);
        let (Some(name), Some(version)) = (column("name")?, column("version")?) else {
            self.notes.push(InventoryNote {
                location: location.to_string(),
                message: "not assessed: the row has no name or no version".to_string(),
            });
            return Ok(None);
        };
        let arch = column("arch")?;
        let package = match table {
            Table::Deb => {
                if let Some(status) = column("status")? {
                    match status.split_whitespace().nth(2) {
                        Some("installed") => {}
                        Some("not-installed" | "config-files") => return Ok(None),
                        _ => {
                            self.notes.push(InventoryNote {
                                location: location.to_string(),
                                message: format!(
                                    "not assessed: {name} is not fully installed (status: {status})"
                                ),
                            });
                            return Ok(None);
                        }
                    }
                }
                let source = column("source")?;
                let source = match source.as_deref() {
                    Some(source) => Some(super::dpkg::split_source(source).map_err(|message| {
                        FormatError::parse(
                            file,
                            key_path(location, "source"),
                            format!("{source:?}: {message}"),
                        )
                    })?),
                    None => None,
                };
                super::dpkg::deb_package(&name, &version, arch.as_deref(), source)
            }
            Table::Rpm => {
                let Some(release) = column("release")? else {
                    return Err(FormatError::parse(
                        file,
                        key_path(location, "release"),
                        "missing",
                    ));
                };
                let epoch = match column("epoch")?.as_deref() {
                    None | Some("(none)") => 0,
                    Some(epoch) => epoch.parse().map_err(|_| {
                        FormatError::parse(
                            file,
                            key_path(location, "epoch"),
                            format!("{epoch:?} is not a number"),
                        )
                    })?,
                };
                if name == "gpg-pubkey" {
                    self.notes.push(InventoryNote {
                        location: location.to_string(),
                        message: format!("skipped: gpg-pubkey {version}-{release} is an rpm signing key, not software"),
                    });
                    return Ok(None);
                }
                let source = column("source")?;
                super::rpm::rpm_package(
                    &name,
                    epoch,
                    &version,
                    &release,
                    arch.as_deref(),
                    source.as_deref(),
                )
            }
            Table::Python => super::requirements::pypi_package(&name, &version),
            Table::Npm => super::npm_lock::npm_package(&name, &version),
        };
        Ok(Some(package))
    }

    fn finish(self) -> Inventory {
        let mut inventory = Inventory {
            notes: self.notes,
            ..Inventory::default()
        };
        for (query, (location, count)) in self.skipped {
            let which = if query.is_empty() {
                String::new()
            } else {
                format!(" of query {query}")
            };
            inventory.notes.push(InventoryNote {
                location,
                message: format!(
                    "skipped: {count} row(s){which} are not from deb_packages, rpm_packages, python_packages or \
                     npm_packages"
                ),
            });
        }
        inventory.packages = self
            .queries
            .into_iter()
            .flat_map(|(_, rows)| rows)
            .collect();
        inventory
    }
}

/// Which package table a row comes from: the one the query name mentions, else the one its columns say.
fn table_of(row: &Map<String, Value>, query: Option<&str>) -> Option<Table> {
    if let Some(query) = query {
        for (table, name) in [
            (Table::Deb, "deb_packages"),
            (Table::Rpm, "rpm_packages"),
            (Table::Python, "python_packages"),
            (Table::Npm, "npm_packages"),
        ] {
            if query.contains(name) {
                return Some(table);
            }
        }
    }
    if !(row.contains_key("name") && row.contains_key("version")) {
        return None;
    }
    let has = |key: &str| row.contains_key(key);
    let path = row.get("path").and_then(Value::as_str).unwrap_or("");
    if has("release") {
        Some(Table::Rpm)
    } else if has("revision") || has("admindir") || (has("source") && has("arch")) {
        Some(Table::Deb)
    } else if path.contains("node_modules") || path.ends_with("package.json") {
        Some(Table::Npm)
    } else if ["site-packages", "dist-packages", ".dist-info", ".egg-info"]
        .iter()
        .any(|p| path.contains(p))
    {
        Some(Table::Python)
    } else if has("homepage") || has("description") {
        Some(Table::Npm)
    } else if has("summary") {
        Some(Table::Python)
    } else {
        None
    }
}

/// A column's value as text: `None` when absent, null or empty (osquery writes `""` for unknown values).
/// The integer `epoch` may also be a number (osqueryd's `--log_numerics_as_numbers`).
fn column<'a>(
    file: &str,
    location: &str,
    row: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<Cow<'a, str>>, FormatError> {
    let value = match row.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => Cow::Borrowed(s.trim()),
        // Only integer columns become numbers, and the epoch is the only one read here.
        Some(Value::Number(n)) if name == "epoch" => Cow::Owned(n.to_string()),
        Some(other) => {
            return Err(FormatError::parse(
                file,
                key_path(location, name),
                format!("must be a string, found {}", json_type(other)),
            ));
        }
    };
    if value.len() > MAX_VALUE_LEN {
        return Err(FormatError::parse(
            file,
            key_path(location, name),
            format!(
                "is {} bytes long (the limit is {MAX_VALUE_LEN})",
                value.len()
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FormatError::parse(
            file,
            key_path(location, name),
            "contains control characters",
        ));
    }
    Ok((!value.is_empty()).then_some(value))
}
