//! The `package.json` of one installed npm package, as found at `node_modules/<name>/package.json` or
//! `node_modules/@scope/<name>/package.json` under a global npm root (`npm root -g`).
//!
//! Only `name` and `version` are read. A `package.json` is also every project's manifest, and its content
//! does not say whether it describes an installed package or the project around it, so this format is never
//! detected: it is read only when named (`--format npm-package-json`, or by the agent, which knows where the
//! file was). One file is one package; walking a `node_modules` tree is the caller's job.

use bulwark_core::{Inventory, InventoryNote};
use serde_json::Value;

use crate::FormatError;

/// The longest name or version accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// Always false: see the module documentation.
pub fn detect(_bytes: &[u8]) -> bool {
    false
}

/// Parses one installed package's `package.json` into an inventory of one npm package; `file` names it in
/// errors. A package without a version (a folder that is not a registry release) becomes a note.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let root: Value =
        serde_json::from_slice(bytes).map_err(|e| super::npm_lock::json_error(file, &e))?;
    let Some(root) = root.as_object() else {
        return Err(FormatError::parse(
            file,
            "$",
            "a package.json must be a JSON object",
        ));
    };
    let field = |key: &str| -> Result<Option<&str>, FormatError> {
        let path = format!("$.{key}");
        match root.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() > MAX_VALUE_LEN => Err(FormatError::parse(
                file,
                path,
                format!("{} bytes long (the limit is {MAX_VALUE_LEN})", s.len()),
            )),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(FormatError::parse(file, path, "empty"))
            }
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(_) => Err(FormatError::parse(file, path, "must be a string")),
        }
    };
    let Some(name) = field("name")? else {
        return Err(FormatError::parse(file, "$.name", "missing"));
    };
    if !is_package_name(name) {
        return Err(FormatError::parse(
            file,
            "$.name",
            format!("{name:?} is not an npm package name"),
        ));
    }
    let mut inventory = Inventory::default();
    match field("version")? {
        Some(version) => inventory
            .packages
            .push(super::npm_lock::npm_package(name, version)),
        None => inventory.notes.push(InventoryNote {
            location: "$.version".into(),
            message: format!("not assessable: {name} has no version (not a registry release)"),
        }),
    }
    Ok(inventory)
}

/// npm's name rule, loosely: `name` or `@scope/name`, without whitespace or path separators beyond the
/// scope's one slash (old packages have capitals, so case is not checked).
fn is_package_name(name: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.contains(|c: char| c.is_whitespace() || matches!(c, '/' | '\\'))
    };
    match name.strip_prefix('@') {
        Some(scoped) => {
            matches!(scoped.split_once('/'), Some((scope, short)) if plain(scope) && plain(short))
        }
        None => plain(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` and renders the package (`name version purl`), the notes, or the error.
    fn check(text: &str, expected: &str) {
        let got = match parse("package.json", text.as_bytes()) {
            Ok(inventory) => inventory
                .packages
                .iter()
                .map(|p| {
                    format!(
                        "{} {} {} {}",
                        p.ecosystem.ecosystem,
                        p.name,
                        p.version,
                        p.purl.as_deref().unwrap_or("-")
                    )
                })
                .chain(
                    inventory
                        .notes
                        .iter()
                        .map(|n| format!("note {}: {}", n.location, n.message)),
                )
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expected, "{text}");
    }

    #[test]
    fn plain_and_scoped_packages() {
        check(
            r#"{"name": "npm", "version": "10.8.2", "dependencies": {"abbrev": "^2.0.0"}}"#,
            "npm npm 10.8.2 pkg:npm/npm@10.8.2",
        );
        check(
            r#"{"version": "7.24.0", "name": "@babel/core"}"#,
            "npm @babel/core 7.24.0 pkg:npm/%40babel/core@7.24.0",
        );
    }

    #[test]
    fn a_package_without_version_is_a_note() {
        check(
            r#"{"name": "local-tool", "private": true}"#,
            "note $.version: not assessable: local-tool has no version (not a registry release)",
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        check(
            r#"{"version": "1.0.0"}"#,
            "error: package.json: $.name: missing",
        );
        check(
            r#"{"name": 3, "version": "1.0.0"}"#,
            "error: package.json: $.name: must be a string",
        );
        check(
            r#"{"name": "a", "version": ["1"]}"#,
            "error: package.json: $.version: must be a string",
        );
        check(
            r#"{"name": "../evil", "version": "1.0.0"}"#,
            "error: package.json: $.name: \"../evil\" is not an npm package name",
        );
        check(
            r#"{"name": "@scope", "version": "1.0.0"}"#,
            "error: package.json: $.name: \"@scope\" is not an npm package name",
        );
        check(
            "[1]",
            "error: package.json: $: a package.json must be a JSON object",
        );
        check(
            "{\"name\": \"a\",\n \"version\": }",
            "error: package.json: line 2, column 13: expected value",
        );
    }

    #[test]
    fn never_detected() {
        assert!(!detect(br#"{"name": "a", "version": "1.0.0"}"#));
    }
}
