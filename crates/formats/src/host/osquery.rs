//! osquery results over configuration tables turned into [`HostFacts`], so that Bulwark's Linux checks run
//! on them.
//!
//! Tables read (column names from osquery's table specs):
//! - `system_controls` (`name`, `current_value`) → kernel parameters, only the ones the checks use;
//! - `listening_ports` (`port`, `protocol`, `address`) → TCP listeners (protocol 6);
//! - `mounts` (`device`, `path`, `type`, `flags`) → mounted file systems;
//! - `augeas` (`node`, `label`, `value`, `path`) over `/etc/ssh/sshd_config` and `sshd_config.d/*` → the
//!   SSH server's global settings: nodes under a `Match` block are left out and the first value of a
//!   keyword wins, in row order (augeas does not follow `Include`, so rows of included files count only
//!   where the query returns them);
//! - `systemd_units` (`id`, `unit_file_state`) → enabled units;
//! - `users` (`username`, `uid`) → accounts.
//!
//! Three shapes are accepted: an object of query name → rows (what the agent sends), `osqueryi --json`'s
//! array of rows, and osqueryd's results log (one JSON object per line with `snapshot`, `columns` or
//! `diffResults`; a snapshot replaces what its query reported before). The table of a query is the one its
//! name mentions, else the one its columns identify; rows of other tables are reported as unused.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use bulwark_core::config::{
    CheckSource, HostFacts, ListeningSocket, MountEntry, SocketFamily, SshdConfig, UserAccount,
    sysctl_keys,
};
use serde_json::{Map, Value};

use crate::FormatError;

/// The tables this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    SystemControls,
    ListeningPorts,
    Mounts,
    Augeas,
    SystemdUnits,
    Users,
}

const TABLES: [(&str, Table); 6] = [
    ("system_controls", Table::SystemControls),
    ("listening_ports", Table::ListeningPorts),
    ("mounts", Table::Mounts),
    ("augeas", Table::Augeas),
    ("systemd_units", Table::SystemdUnits),
    ("users", Table::Users),
];

/// Facts from osquery results, and the queries whose rows were not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsqueryFacts {
    /// The facts (source `osquery`); a table that was not in the results leaves its facts absent.
    pub facts: HostFacts,
    /// Names of queries whose table is none of the ones read.
    pub unused: Vec<String>,
}

type Row = Map<String, Value>;

/// Parses osquery results into host facts; errors name the file and the JSON path (or line of a log).
pub fn parse(file: &str, bytes: &[u8]) -> Result<OsqueryFacts, FormatError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| FormatError::parse(file, "byte offset", e.to_string()))?;
    let trimmed = text.trim_start();
    let queries: Vec<(String, String, Vec<Row>)> = match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Array(rows)) => vec![("$".into(), "query".into(), rows_of(file, "$", rows)?)],
        Ok(Value::Object(object)) if !is_log_line(&object) => {
            let mut queries = Vec::new();
            for (name, rows) in object {
                let path = format!("$.{name}");
                let Value::Array(rows) = rows else {
                    return Err(FormatError::parse(file, path, "expected an array of rows"));
                };
                let rows = rows_of(file, &path, rows)?;
                queries.push((path, name, rows));
            }
            queries
        }
        Ok(Value::Object(_)) | Err(_) if trimmed.starts_with('{') => results_log(file, text)?,
        Ok(_) => {
            return Err(FormatError::parse(
                file,
                "$",
                "expected osquery rows: an array, an object of query name to rows, or a results log",
            ));
        }
        Err(e) => {
            return Err(FormatError::parse(
                file,
                format!("line {}, column {}", e.line(), e.column()),
                e.to_string(),
            ));
        }
    };
    let mut facts = HostFacts {
        source: CheckSource::Osquery,
        ..HostFacts::default()
    };
    let mut unused = Vec::new();
    let wanted: BTreeSet<&str> = sysctl_keys().collect();
    for (path, name, rows) in queries {
        let Some(table) = table_of(&name, rows.first()) else {
            if !rows.is_empty() {
                unused.push(name);
            }
            continue;
        };
        for (index, row) in rows.iter().enumerate() {
            let at = |column: &str| format!("{path}[{index}].{column}");
            add_row(file, table, row, &at, &wanted, &mut facts)?;
        }
        // A table that was queried but returned no row still says something (no listener, no unit).
        match table {
            Table::ListeningPorts => drop(facts.listening.get_or_insert_with(Vec::new)),
            Table::Mounts => drop(facts.mounts.get_or_insert_with(Vec::new)),
            Table::SystemdUnits => drop(facts.enabled_units.get_or_insert_with(BTreeSet::new)),
            Table::Users => drop(facts.users.get_or_insert_with(Vec::new)),
            Table::SystemControls | Table::Augeas => {}
        }
    }
    if let Some(sockets) = facts.listening.as_mut() {
        sockets.sort();
        sockets.dedup();
    }
    Ok(OsqueryFacts { facts, unused })
}

fn is_log_line(object: &Row) -> bool {
    object.contains_key("name")
        && ["snapshot", "columns", "diffResults"]
            .iter()
            .any(|k| object.contains_key(*k))
}

fn rows_of(file: &str, path: &str, rows: Vec<Value>) -> Result<Vec<Row>, FormatError> {
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| match row {
            Value::Object(row) => Ok(row),
            _ => Err(FormatError::parse(
                file,
                format!("{path}[{index}]"),
                "a row is an object of column to value",
            )),
        })
        .collect()
}

/// Replays a results log: per query name, a snapshot replaces the rows, `added` rows add, `removed` remove.
fn results_log(file: &str, text: &str) -> Result<Vec<(String, String, Vec<Row>)>, FormatError> {
    let mut queries: BTreeMap<String, (String, Vec<Row>)> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("line {}", index + 1);
        let object: Row = serde_json::from_str(line)
            .map_err(|e| FormatError::parse(file, at.clone(), e.to_string()))?;
        let Some(name) = object.get("name").and_then(Value::as_str) else {
            return Err(FormatError::parse(
                file,
                at,
                "a results log line without a name",
            ));
        };
        let entry = queries
            .entry(name.to_string())
            .or_insert_with(|| (at.clone(), Vec::new()));
        let rows = |value: Option<&Value>| -> Result<Vec<Row>, FormatError> {
            match value {
                None => Ok(Vec::new()),
                Some(Value::Array(rows)) => rows_of(file, &at, rows.clone()),
                Some(_) => Err(FormatError::parse(
                    file,
                    at.clone(),
                    "expected an array of rows",
                )),
            }
        };
        if object.contains_key("snapshot") {
            entry.1 = rows(object.get("snapshot"))?;
        }
        if let Some(Value::Object(columns)) = object.get("columns") {
            let action = object.get("action").and_then(Value::as_str);
            if action == Some("removed") {
                entry.1.retain(|r| r != columns);
            } else {
                entry.1.push(columns.clone());
            }
        }
        if let Some(Value::Object(diff)) = object.get("diffResults") {
            let removed = rows(diff.get("removed"))?;
            entry.1.retain(|r| !removed.contains(r));
            entry.1.extend(rows(diff.get("added"))?);
        }
    }
    Ok(queries
        .into_iter()
        .map(|(name, (at, rows))| (format!("{name} ({at})"), name, rows))
        .collect())
}

/// The table a query reads: named in the query name, else told from the first row's columns.
fn table_of(name: &str, first: Option<&Row>) -> Option<Table> {
    if let Some((_, table)) = TABLES.iter().find(|(t, _)| name.contains(t)) {
        return Some(*table);
    }
    let row = first?;
    let has = |columns: &[&str]| columns.iter().all(|c| row.contains_key(*c));
    if has(&["name", "current_value"]) {
        Some(Table::SystemControls)
    } else if has(&["port", "protocol", "address"]) {
        Some(Table::ListeningPorts)
    } else if has(&["node", "label", "value"]) {
        Some(Table::Augeas)
    } else if has(&["device", "path", "type", "flags"]) {
        Some(Table::Mounts)
    } else if has(&["id", "unit_file_state"]) {
        Some(Table::SystemdUnits)
    } else if has(&["username", "uid"]) {
        Some(Table::Users)
    } else {
        None
    }
}

/// A column's value as text (osquery writes strings; numbers when logging numerics as numbers).
fn column(row: &Row, name: &str) -> Option<String> {
    match row.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn required(
    file: &str,
    row: &Row,
    name: &str,
    at: &dyn Fn(&str) -> String,
) -> Result<String, FormatError> {
    column(row, name)
        .ok_or_else(|| FormatError::parse(file, at(name), format!("missing column {name}")))
}

fn add_row(
    file: &str,
    table: Table,
    row: &Row,
    at: &dyn Fn(&str) -> String,
    wanted: &BTreeSet<&str>,
    facts: &mut HostFacts,
) -> Result<(), FormatError> {
    match table {
        Table::SystemControls => {
            let name = required(file, row, "name", at)?;
            if wanted.contains(name.as_str()) {
                let value = required(file, row, "current_value", at)?;
                facts
                    .sysctl
                    .insert(name, super::sysctl::parse_value(&value));
            }
        }
        Table::ListeningPorts => {
            let sockets = facts.listening.get_or_insert_with(Vec::new);
            if required(file, row, "protocol", at)? != "6" {
                return Ok(());
            }
            let port = required(file, row, "port", at)?;
            let port = port.parse::<u16>().map_err(|_| {
                FormatError::parse(file, at("port"), format!("port {port:?} is not a number"))
            })?;
            let address = required(file, row, "address", at)?;
            let address = address.parse::<IpAddr>().map_err(|_| {
                FormatError::parse(
                    file,
                    at("address"),
                    format!("address {address:?} is not an IP address"),
                )
            })?;
            sockets.push(ListeningSocket {
                family: if address.is_ipv4() {
                    SocketFamily::Ipv4
                } else {
                    SocketFamily::Ipv6
                },
                address,
                port,
            });
        }
        Table::Mounts => {
            let flags = column(row, "flags").unwrap_or_default();
            facts.mounts.get_or_insert_with(Vec::new).push(MountEntry {
                device: column(row, "device").unwrap_or_default(),
                mount_point: required(file, row, "path", at)?,
                fs_type: column(row, "type").unwrap_or_default(),
                options: flags
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(String::from)
                    .collect(),
            });
        }
        Table::Augeas => {
            let path = column(row, "path").unwrap_or_default();
            if !(path.ends_with("/sshd_config") || path.contains("/sshd_config.d/")) {
                return Ok(());
            }
            let sshd = facts.sshd.get_or_insert_with(|| SshdConfig {
                present: true,
                ..SshdConfig::default()
            });
            let node = required(file, row, "node", at)?;
            if node.split('/').any(|part| part.starts_with("Match")) {
                return Ok(());
            }
            let label = required(file, row, "label", at)?;
            let keyword = label
                .split('[')
                .next()
                .unwrap_or(&label)
                .to_ascii_lowercase();
            if keyword.is_empty() || keyword.starts_with('#') || keyword == "include" {
                return Ok(());
            }
            if let Some(value) = column(row, "value").filter(|v| !v.is_empty()) {
                sshd.options.entry(keyword).or_insert(value);
            }
        }
        Table::SystemdUnits => {
            let units = facts.enabled_units.get_or_insert_with(BTreeSet::new);
            if column(row, "unit_file_state").as_deref() == Some("enabled") {
                units.insert(required(file, row, "id", at)?);
            }
        }
        Table::Users => {
            let uid = required(file, row, "uid", at)?;
            let uid = uid.parse::<u32>().map_err(|_| {
                FormatError::parse(file, at("uid"), format!("uid {uid:?} is not a number"))
            })?;
            facts.users.get_or_insert_with(Vec::new).push(UserAccount {
                name: required(file, row, "username", at)?,
                uid,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(value: Value) -> OsqueryFacts {
        parse("osquery.json", value.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn tables_by_query_name() {
        let out = facts(json!({
            "system_controls": [
                {"name": "kernel.randomize_va_space", "current_value": "2", "config_value": "", "subsystem": "kernel"},
                {"name": "vm.swappiness", "current_value": "60"}
            ],
            "listening_ports": [
                {"pid": "1", "port": "22", "protocol": "6", "family": "2", "address": "0.0.0.0"},
                {"pid": "2", "port": 53, "protocol": 17, "family": 2, "address": "127.0.0.53"}
            ],
            "mounts": [{"device": "tmpfs", "path": "/tmp", "type": "tmpfs", "flags": "rw,nosuid,nodev,noexec"}],
            "augeas": [
                {"node": "/files/etc/ssh/sshd_config/PermitRootLogin", "label": "PermitRootLogin", "value": "no", "path": "/etc/ssh/sshd_config"},
                {"node": "/files/etc/ssh/sshd_config/Match[1]/Settings/PermitRootLogin", "label": "PermitRootLogin", "value": "yes", "path": "/etc/ssh/sshd_config"},
                {"node": "/files/etc/ssh/sshd_config/AcceptEnv[1]", "label": "AcceptEnv", "value": "", "path": "/etc/ssh/sshd_config"},
                {"node": "/files/etc/ssh/sshd_config/PermitRootLogin", "label": "PermitRootLogin", "value": "yes", "path": "/etc/ssh/sshd_config"},
                {"node": "/files/etc/hosts/1/ipaddr", "label": "ipaddr", "value": "127.0.0.1", "path": "/etc/hosts"}
            ],
            "systemd_units": [
                {"id": "auditd.service", "unit_file_state": "enabled", "active_state": "active"},
                {"id": "cups.service", "unit_file_state": "disabled"}
            ],
            "kernel_info": [{"version": "6.1.0"}]
        }));
        let f = &out.facts;
        assert_eq!(f.source, CheckSource::Osquery);
        assert_eq!(
            f.sysctl.iter().collect::<Vec<_>>(),
            [(&"kernel.randomize_va_space".to_string(), &"2".to_string())]
        );
        let listening = f.listening.as_ref().unwrap();
        assert_eq!(listening.len(), 1);
        assert_eq!(
            (listening[0].address.to_string(), listening[0].port),
            ("0.0.0.0".into(), 22)
        );
        assert!(f.mounts.as_ref().unwrap()[0].has_option("noexec"));
        assert_eq!(f.sshd.as_ref().unwrap().get("PermitRootLogin"), Some("no"));
        assert_eq!(
            f.enabled_units.as_ref().unwrap().iter().collect::<Vec<_>>(),
            ["auditd.service"]
        );
        assert_eq!(f.users, None);
        assert_eq!(out.unused, ["kernel_info"]);
    }

    #[test]
    fn tables_by_columns_and_results_logs() {
        let array = facts(json!([{"username": "toor", "uid": "0", "gid": "0"}]));
        assert_eq!(array.facts.users.unwrap()[0].name, "toor");
        let log = concat!(
            r#"{"name":"pack_bulwark_listening","snapshot":[{"port":"23","protocol":"6","address":"::"}]}"#,
            "\n",
            r#"{"name":"pack_bulwark_listening","snapshot":[{"port":"22","protocol":"6","address":"::"}]}"#,
            "\n",
            r#"{"name":"pack_bulwark_sysctl","action":"added","columns":{"name":"fs.suid_dumpable","current_value":"0"}}"#,
            "\n",
        );
        let out = parse("osqueryd.results.log", log.as_bytes()).unwrap();
        let ports: Vec<u16> = out
            .facts
            .listening
            .unwrap()
            .iter()
            .map(|s| s.port)
            .collect();
        assert_eq!(ports, [22]);
        assert_eq!(out.facts.sysctl["fs.suid_dumpable"], "0");
    }

    #[test]
    fn errors_name_the_json_path() {
        let err = parse(
            "q.json",
            json!({"listening_ports": [{"port": "22", "protocol": "6", "address": "0.0.0.0"}, {"port": "x", "protocol": "6", "address": "::"}]})
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.json: $.listening_ports[1].port: port \"x\" is not a number"
        );
        let err = parse("q.json", br#"{"mounts": [{"device": "tmpfs"}]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.json: $.mounts[0].path: missing column path"
        );
        let err = parse("q.json", b"[1]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.json: $[0]: a row is an object of column to value"
        );
        assert!(parse("q.json", b"{\"name\": \"x\", \"snapshot\": 3}\n").is_err());
        assert!(parse("q.json", b"[{\"a\": ").is_err());
    }
}
