//! npm's `package-lock.json` (lockfile versions 1, 2 and 3): the npm packages a project installs.
//!
//! Versions 2 and 3 list every installed package under `packages`, keyed by its path in `node_modules`; the
//! package's name is the text after the last `node_modules/` of the key, unless the entry has a `name` (npm
//! writes one for aliases such as `"maildev": "npm:@timshel_npm/maildev@3.2.19"`, and the real name is what
//! advisories use). The root (`""`) and workspace folders (keys outside `node_modules`) are the project itself
//! and are skipped; `link: true` entries point at such a folder and are skipped with a note. Version 1 nests
//! packages under `dependencies` recursively; it is read only when `packages` is absent. Dev, optional and
//! bundled packages are all included: they are on disk.
//!
//! Packages installed from git, a tarball URL or a local path carry no registry release to match and are
//! skipped with a note.

use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, Inventory, InventoryNote};
use packageurl::PackageUrl;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::FormatError;

/// The longest package name or version accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// True for a JSON object with a `"lockfileVersion"` key near its top (npm writes it third).
pub fn detect(bytes: &[u8]) -> bool {
    // Read as a window, not as lines: a minified lockfile is one long line.
    let text = super::requirements::window(bytes);
    text.trim_start().starts_with('{') && text.contains("\"lockfileVersion\"")
}

/// Parses a package-lock.json; `file` names it in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let root: Json = serde_json::from_slice(bytes).map_err(|e| json_error(file, &e))?;
    let Some(root) = root.as_object() else {
        return Err(FormatError::parse(
            file,
            "$",
            "a package-lock.json must be a JSON object",
        ));
    };
    let lockfile_version = match get(root, "lockfileVersion") {
        Some(v) => v.as_u64().filter(|v| (1..=3).contains(v)).ok_or_else(|| {
            FormatError::parse(
                file,
                "$.lockfileVersion",
                format!(
                    "unknown lockfile version {} (1 to 3 are known)",
                    match v {
                        Json::Number(n) => n.to_string(),
                        other => other.describe(),
                    }
                ),
            )
        })?,
        None => return Err(FormatError::parse(file, "$.lockfileVersion", "missing")),
    };
    let mut inventory = Inventory::default();
    match get(root, "packages") {
        Some(packages) => {
            let packages = packages
                .as_object()
                .ok_or_else(|| FormatError::parse(file, "$.packages", "must be an object"))?;
            read_packages(file, packages, &mut inventory)?;
        }
        None if lockfile_version >= 2 => {
            return Err(FormatError::parse(
                file,
                "$.packages",
                "missing (lockfile version 2 and 3 have it)",
            ));
        }
        None => {
            if let Some(dependencies) = get(root, "dependencies") {
                let dependencies = dependencies.as_object().ok_or_else(|| {
                    FormatError::parse(file, "$.dependencies", "must be an object")
                })?;
                read_dependencies(file, dependencies, &mut inventory)?;
            }
        }
    }
    Ok(inventory)
}

/// Reads the `packages` map of lockfile versions 2 and 3.
fn read_packages(
    file: &str,
    packages: &[(String, Json)],
    inventory: &mut Inventory,
) -> Result<(), FormatError> {
    const NODE_MODULES: &str = "node_modules/";
    for (key, entry) in packages {
        if key.is_empty() {
            continue;
        }
        let path = key_path("$.packages", key);
        let entry = entry
            .as_object()
            .ok_or_else(|| FormatError::parse(file, &path, "must be an object"))?;
        let Some(at) = key.rfind(NODE_MODULES) else {
            // A workspace folder: the project's own code, reached through a `link` entry.
            continue;
        };
        let name = match optional_string(file, entry, &path, "name")? {
            Some(name) => name,
            None => &key[at + NODE_MODULES.len()..],
        };
        let resolved = optional_string(file, entry, &path, "resolved")?;
        if matches!(get(entry, "link"), Some(Json::Bool(true))) {
            inventory.notes.push(InventoryNote {
                location: path,
                message: format!(
                    "not assessed: {name} links to the local folder {} (part of the project, not a registry package)",
                    resolved.unwrap_or("?")
                ),
            });
            continue;
        }
        let Some(version) = optional_string(file, entry, &path, "version")? else {
            inventory.notes.push(InventoryNote {
                location: path,
                message: format!("not assessed: {name} has no version"),
            });
            continue;
        };
        if let Some(origin) = resolved.filter(|r| is_non_registry(r)) {
            inventory.notes.push(InventoryNote {
                location: path,
                message: format!("not assessed: {name} {version} is installed from {origin}, not from the npm registry"),
            });
            continue;
        }
        check(file, &path, name, version)?;
        inventory.packages.push(npm_package(name, version));
    }
    Ok(())
}

/// Reads the nested `dependencies` of lockfile version 1, without recursion (the nesting is input-controlled).
fn read_dependencies(
    file: &str,
    dependencies: &[(String, Json)],
    inventory: &mut Inventory,
) -> Result<(), FormatError> {
    let mut stack = vec![("$.dependencies".to_string(), dependencies)];
    while let Some((prefix, dependencies)) = stack.pop() {
        let mut nested = Vec::new();
        for (name, entry) in dependencies {
            let path = key_path(&prefix, name);
            let entry = entry
                .as_object()
                .ok_or_else(|| FormatError::parse(file, &path, "must be an object"))?;
            match optional_string(file, entry, &path, "version")? {
                None => inventory.notes.push(InventoryNote {
                    location: path.clone(),
                    message: format!("not assessed: {name} has no version"),
                }),
                Some(version) => match version.strip_prefix("npm:") {
                    Some(alias) => match alias.rsplit_once('@').filter(|(n, v)| !n.is_empty() && !v.is_empty()) {
                        Some((real_name, real_version)) => {
                            check(file, &path, real_name, real_version)?;
                            inventory.packages.push(npm_package(real_name, real_version));
                        }
                        None => {
                            return Err(FormatError::parse(
                                file,
                                format!("{path}.version"),
                                format!("alias {version:?} is not npm:NAME@VERSION"),
                            ));
                        }
                    },
                    None if is_non_registry(version) => inventory.notes.push(InventoryNote {
                        location: path.clone(),
                        message: format!("not assessed: {name} is installed from {version}, not from the npm registry"),
                    }),
                    None => {
                        check(file, &path, name, version)?;
                        inventory.packages.push(npm_package(name, version));
                    }
                },
            }
            if let Some(children) = get(entry, "dependencies") {
                let children = children.as_object().ok_or_else(|| {
                    FormatError::parse(file, format!("{path}.dependencies"), "must be an object")
                })?;
                nested.push((format!("{path}.dependencies"), children));
            }
        }
        // Depth-first in file order: push the children reversed so that the first is read first.
        stack.extend(nested.into_iter().rev());
    }
    Ok(())
}

/// An npm package with its purl (`pkg:npm/%40scope/name@1.0.0`).
pub(crate) fn npm_package(name: &str, version: &str) -> InstalledPackage {
    let mut package =
        InstalledPackage::new(EcosystemRelease::new(Ecosystem::Npm, None), name, version);
    let (namespace, short) = match name.split_once('/') {
        Some((scope, short)) if scope.starts_with('@') => (Some(scope), short),
        _ => (None, name),
    };
    package.purl = PackageUrl::new("npm", short).ok().map(|mut purl| {
        if let Some(namespace) = namespace {
            purl.with_namespace(namespace);
        }
        purl.with_version(version).to_string()
    });
    package
}

/// True for versions and `resolved` values that point outside the registry: git, tarball URLs, local paths.
fn is_non_registry(value: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "git+",
        "git:",
        "github:",
        "gitlab:",
        "bitbucket:",
        "file:",
        "link:",
        "gist:",
    ];
    if PREFIXES.iter().any(|p| value.starts_with(p)) {
        return true;
    }
    // A registry tarball is `https://registry/…/-/name-1.0.0.tgz`; other URLs are direct downloads.
    value.contains("://") && !value.contains("/-/")
}

/// Rejects names and versions no registry serves: empty, with spaces or control characters, or hostile lengths.
fn check(file: &str, path: &str, name: &str, version: &str) -> Result<(), FormatError> {
    for (what, value) in [("name", name), ("version", version)] {
        if value.len() > MAX_VALUE_LEN {
            return Err(FormatError::parse(
                file,
                path,
                format!(
                    "package {what} is {} bytes long (the limit is {MAX_VALUE_LEN})",
                    value.len()
                ),
            ));
        }
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FormatError::parse(
                file,
                path,
                format!("package {what} {value:?} is empty or has spaces"),
            ));
        }
    }
    Ok(())
}

/// A string member of `object`; an error naming `path.key` when it is there but not a string.
fn optional_string<'a>(
    file: &str,
    object: &'a [(String, Json)],
    path: &str,
    key: &str,
) -> Result<Option<&'a str>, FormatError> {
    match get(object, key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(FormatError::parse(
            file,
            key_path(path, key),
            format!("must be a string, found {}", other.describe()),
        )),
    }
}

/// The last member named `key` (JSON parsers keep the last of duplicate keys).
fn get<'a>(object: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    object.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A JSON value whose objects keep their members in file order: `serde_json::Value` sorts them, and the
/// inventory reports packages in the order the lockfile lists them.
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The value's type, and the value itself when it is short, for error messages.
    fn describe(&self) -> String {
        match self {
            Json::Null => "null".to_string(),
            Json::Bool(b) => format!("a boolean ({b})"),
            Json::Number(n) => format!("a number ({n})"),
            Json::String(_) => "a string".to_string(),
            Json::Array(items) => format!("an array of {} items", items.len()),
            Json::Object(members) => format!("an object of {} members", members.len()),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

/// The JSON path of `parent`'s member `key`: `$.a.b`, or `$.a["node_modules/x"]` when the key is not a plain word.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::String(key.to_string()))
    }
}

/// The JSON type of a value, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON syntax error, located by line and column.
pub(crate) fn json_error(file: &str, error: &serde_json::Error) -> FormatError {
    let message = error.to_string();
    // serde_json appends " at line L column C"; the location field says it already.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    FormatError::parse(
        file,
        format!("line {}, column {}", error.line(), error.column()),
        message,
    )
}
