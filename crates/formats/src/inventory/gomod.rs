//! Go's `go.mod` and `go.sum`: the modules a Go program builds with.
//!
//! `go.mod` is read as `golang.org/x/mod/modfile` reads it: `module`, `go`, `toolchain`, `require`, `exclude`,
//! `replace`, `retract`, `godebug`, `tool` and `ignore` directives, each on one line or in a `verb ( … )` block,
//! `//` comments. What is reported follows osv-scanner's go.mod extractor (osv-scalibr `gomod.go`):
//!
//! - every `require`d module, direct and `// indirect`, with its version as written (`v1.2.3`, keeping the `v`);
//! - `replace old [version] => new version` swaps the module for its replacement (path and version); a
//!   replacement by a local directory (`=> ../fork`) has no version to match and becomes a note;
//! - `exclude path version` drops that exact requirement, with a note (Go then uses the next higher version,
//!   which only the module graph knows); `retract` only concerns the module's own versions and is ignored;
//! - the Go standard library as module `stdlib`, versioned by the `toolchain` directive or else the `go`
//!   directive, as osv-scanner does. The Go vulnerability database writes stdlib versions as SemVer without
//!   `v` (`1.20.5`, `1.21.0-rc.2`), so `go 1.19` becomes `1.19.0` and `go1.21rc2` becomes `1.21.0-rc.2` — the
//!   same conversion the vulndb applies to Go release tags. The `go` directive is a minimum: a note says so.
//!
//! `go.sum` lists checksums of every module version the build may have looked at, not what it selected. Its
//! unique `(module, version)` pairs (lines without the `/go.mod` suffix) are reported with a note saying so.

use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, Inventory, InventoryNote};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::FormatError;

/// The longest module path or version accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// The directives `go.mod` knows.
const VERBS: [&str; 10] = [
    "module",
    "go",
    "toolchain",
    "require",
    "exclude",
    "replace",
    "retract",
    "godebug",
    "tool",
    "ignore",
];

/// True when the first directive of the file is a go.mod verb and a `module` directive is there.
pub fn detect_mod(bytes: &[u8]) -> bool {
    let mut first = true;
    let mut module = false;
    for (index, line) in super::requirements::head(bytes).lines().enumerate() {
        let Ok(line) = tokenize(line, index + 1) else {
            return false;
        };
        let Some(verb) = line.tokens.first() else {
            continue;
        };
        if first && !VERBS.contains(&verb.as_str()) {
            return false;
        }
        first = false;
        module |= verb == "module" && line.tokens.len() == 2;
    }
    module
}

/// True when the first non-empty lines all have the form `module version h1:hash=`.
pub fn detect_sum(bytes: &[u8]) -> bool {
    let mut lines = super::requirements::head(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20);
    let Some(first) = lines.next() else {
        return false;
    };
    looks_like_sum_line(first) && lines.all(looks_like_sum_line)
}

fn looks_like_sum_line(line: &str) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    matches!(fields[..], [path, version, hash]
        if !path.is_empty() && version.starts_with('v') && hash.starts_with('h') && hash.contains(':'))
}

/// One `require`d module and where it came from.
struct Requirement {
    path: String,
    version: String,
    line: usize,
}

/// One `replace` directive.
struct Replace {
    old_path: String,
    old_version: Option<String>,
    new_path: String,
    new_version: Option<String>,
    line: usize,
}

/// Parses a go.mod; `file` names it in errors.
pub fn parse_mod(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let text = super::requirements::utf8(file, bytes)?;
    let mut requires = Vec::new();
    let mut excludes = Vec::new();
    let mut replaces = Vec::new();
    let mut go_version: Option<(String, usize)> = None;
    let mut toolchain: Option<(String, usize)> = None;
    let mut module_seen = false;
    let mut block: Option<(String, usize)> = None;

    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = tokenize(raw, number)
            .map_err(|m| FormatError::parse(file, format!("line {number}"), m))?;
        if line.tokens.is_empty() {
            continue;
        }
        let err = |message: String| FormatError::parse(file, format!("line {number}"), message);
        let (verb, args) = match &block {
            Some(_) if line.tokens == [")"] => {
                block = None;
                continue;
            }
            Some((verb, _)) => (verb.clone(), &line.tokens[..]),
            None => {
                let verb = line.tokens[0].clone();
                if !VERBS.contains(&verb.as_str()) {
                    return Err(err(format!("unknown directive {:?}", shorten(&verb))));
                }
                if line.tokens.len() == 2 && line.tokens[1] == "(" {
                    if matches!(verb.as_str(), "module" | "go" | "toolchain") {
                        return Err(err(format!("{verb} cannot be a block")));
                    }
                    block = Some((verb, number));
                    continue;
                }
                (verb, &line.tokens[1..])
            }
        };
        for token in args {
            if token.len() > MAX_VALUE_LEN {
                return Err(err(format!(
                    "a value is {} bytes long (the limit is {MAX_VALUE_LEN})",
                    token.len()
                )));
            }
        }
        match verb.as_str() {
            "module" => {
                if module_seen {
                    return Err(err("second module directive".to_string()));
                }
                if args.len() != 1 {
                    return Err(err("usage: module path".to_string()));
                }
                module_seen = true;
            }
            "go" | "toolchain" => {
                let [value] = args else {
                    return Err(err(format!("usage: {verb} version")));
                };
                let slot = if verb == "go" {
                    &mut go_version
                } else {
                    &mut toolchain
                };
                if slot.is_some() {
                    return Err(err(format!("second {verb} directive")));
                }
                *slot = Some((value.clone(), number));
            }
            "require" | "exclude" => {
                let [path, version] = args else {
                    return Err(err(format!("usage: {verb} module/path v1.2.3")));
                };
                check_version(version).map_err(&err)?;
                let requirement = Requirement {
                    path: path.clone(),
                    version: version.clone(),
                    line: number,
                };
                if verb == "require" {
                    requires.push(requirement);
                } else {
                    excludes.push(requirement);
                }
            }
            "replace" => replaces.push(parse_replace(args, number).map_err(&err)?),
            // retract concerns the module's own published versions; godebug, tool and ignore are build settings.
            _ => {}
        }
    }
    if let Some((verb, start)) = block {
        return Err(FormatError::parse(
            file,
            format!("line {start}"),
            format!("{verb} block is not closed with `)`"),
        ));
    }

    let mut inventory = Inventory::default();
    requires.retain(|r| {
        let excluded = excludes.iter().find(|e| e.path == r.path && e.version == r.version);
        if let Some(exclude) = excluded {
            inventory.notes.push(InventoryNote {
                location: format!("line {}", r.line),
                message: format!(
                    "not assessed: {} {} is excluded on line {}; Go selects the next higher version, which only \
                     the module graph knows",
                    r.path, r.version, exclude.line
                ),
            });
        }
        excluded.is_none()
    });
    let mut modules: Vec<(String, String)> = Vec::new();
    'requires: for requirement in &requires {
        let mut path = requirement.path.clone();
        let mut version = requirement.version.clone();
        // The last matching replace wins, as it would if the file were written with one replace per module.
        let replace = replaces.iter().rev().find(|r| {
            r.old_path == requirement.path
                && r.old_version
                    .as_ref()
                    .is_none_or(|v| *v == requirement.version)
        });
        if let Some(replace) = replace {
            match &replace.new_version {
                Some(new_version) => {
                    path.clone_from(&replace.new_path);
                    version.clone_from(new_version);
                }
                None => {
                    inventory.notes.push(InventoryNote {
                        location: format!("line {}", replace.line),
                        message: format!(
                            "not assessable: {} {} is replaced by the local directory {}",
                            requirement.path, requirement.version, replace.new_path
                        ),
                    });
                    continue 'requires;
                }
            }
        }
        if !modules.iter().any(|(p, v)| *p == path && *v == version) {
            modules.push((path, version));
        }
    }
    for (path, version) in &modules {
        inventory.packages.push(go_package(path, version));
    }

    let toolchain_version = toolchain
        .as_ref()
        .filter(|(name, _)| name != "default")
        .map(|(name, line)| {
            // `go1.21.4`, possibly with a suffix (`go1.22.0-custom`, `go1.21.1+auto`).
            let version = name.strip_prefix("go").unwrap_or(name);
            let version = version.split(['-', '+']).next().unwrap_or(version);
            (version.to_string(), *line, "toolchain")
        });
    if let Some((version, line, directive)) = toolchain_version.or_else(|| {
        go_version
            .as_ref()
            .map(|(v, line)| (v.clone(), *line, "go"))
    }) {
        let Some(semver) = go_to_semver(&version) else {
            return Err(FormatError::parse(
                file,
                format!("line {line}"),
                format!(
                    "{directive} version {:?} is not a Go version such as 1.21.4",
                    shorten(&version)
                ),
            ));
        };
        if directive == "go" {
            inventory.notes.push(InventoryNote {
                location: format!("line {line}"),
                message: format!(
                    "stdlib {semver} comes from the go directive, the minimum Go version; the toolchain that \
                     builds the program may be newer"
                ),
            });
        }
        inventory.packages.push(go_package("stdlib", &semver));
    }
    Ok(inventory)
}

/// Reads `old [version] => new [version]`.
fn parse_replace(args: &[String], line: usize) -> Result<Replace, String> {
    const USAGE: &str =
        "usage: replace module/path [v1.2.3] => other/module v1.4.5 (or a local directory)";
    let Some(arrow) = args.iter().position(|t| t == "=>") else {
        return Err(USAGE.to_string());
    };
    let (old, new) = (&args[..arrow], &args[arrow + 1..]);
    let (old_path, old_version) = match old {
        [path] => (path.clone(), None),
        [path, version] => {
            check_version(version)?;
            (path.clone(), Some(version.clone()))
        }
        _ => return Err(USAGE.to_string()),
    };
    let (new_path, new_version) = match new {
        [path] if is_local_path(path) => (path.clone(), None),
        [path] => {
            return Err(format!(
                "replacement {path} needs a version unless it is a local directory"
            ));
        }
        [path, version] => {
            check_version(version)?;
            (path.clone(), Some(version.clone()))
        }
        _ => return Err(USAGE.to_string()),
    };
    Ok(Replace {
        old_path,
        old_version,
        new_path,
        new_version,
        line,
    })
}

/// A local directory replacement, as modfile's `IsDirectoryPath` defines it.
fn is_local_path(path: &str) -> bool {
    path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('/')
        || path.starts_with(".\\")
        || path.starts_with("..\\")
        || path == "."
        || path == ".."
        || (path.len() >= 3
            && path.as_bytes()[1] == b':'
            && matches!(path.as_bytes()[2], b'\\' | b'/'))
}

/// A module version must look like `v1.2.3` (pseudo-versions and `+incompatible` included).
fn check_version(version: &str) -> Result<(), String> {
    let ok = version.len() > 1
        && version.starts_with('v')
        && version[1..].starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a module version such as v1.2.3",
            shorten(version)
        ))
    }
}

/// Converts a Go release name (`1.19`, `1.21.4`, `1.21rc2`, `1.20beta1`) to the SemVer the vulndb uses.
fn go_to_semver(version: &str) -> Option<String> {
    let cut = version
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(version.len());
    let (numbers, pre) = version.split_at(cut);
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let part = |i: usize| parts.get(i).copied().unwrap_or("0");
    let core = format!("{}.{}.{}", part(0), part(1), part(2));
    if pre.is_empty() {
        return Some(core);
    }
    let (kind, number) = pre.split_at(pre.find(|c: char| c.is_ascii_digit())?);
    let valid =
        matches!(kind, "rc" | "beta" | "alpha") && number.chars().all(|c| c.is_ascii_digit());
    valid.then(|| format!("{core}-{kind}.{number}"))
}

/// Parses a go.sum; `file` names it in errors.
pub fn parse_sum(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let text = super::requirements::utf8(file, bytes)?;
    let mut inventory = Inventory::default();
    let mut seen = std::collections::HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| FormatError::parse(file, format!("line {number}"), message);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [path, version, hash] = fields[..] else {
            return Err(err(format!(
                "expected `module version hash`, found {} fields",
                fields.len()
            )));
        };
        if path.len() > MAX_VALUE_LEN || version.len() > MAX_VALUE_LEN {
            return Err(err(format!("a value is longer than {MAX_VALUE_LEN} bytes")));
        }
        if !hash.contains(':') {
            return Err(err(format!("{:?} is not a `h1:` checksum", shorten(hash))));
        }
        let (version, go_mod_only) = match version.strip_suffix("/go.mod") {
            Some(v) => (v, true),
            None => (version, false),
        };
        check_version(version).map_err(err)?;
        if go_mod_only {
            continue;
        }
        if seen.insert((path, version)) {
            inventory.packages.push(go_package(path, version));
        }
    }
    inventory.notes.push(InventoryNote {
        location: "document".to_string(),
        message:
            "go.sum lists every module version the build considered, not only the selected ones; \
                  read go.mod (or the built binary) for what is actually used"
                .to_string(),
    });
    Ok(inventory)
}

/// A Go module with its purl (`pkg:golang/github.com/BurntSushi/toml@v1.2.1`).
///
/// Written here rather than with `packageurl`, which lowercases golang namespaces after an outdated rule of
/// the purl spec: Go module paths are case-sensitive (the purl-spec 1.0 golang definition says so), and
/// syft, ScanCode and osv-scanner keep their case.
fn go_package(path: &str, version: &str) -> InstalledPackage {
    /// Everything but the purl "unreserved" characters is percent-encoded in each path segment.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'.')
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    let mut package =
        InstalledPackage::new(EcosystemRelease::new(Ecosystem::Go, None), path, version);
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    package.purl = Some(format!(
        "pkg:golang/{}@{}",
        segments.join("/"),
        utf8_percent_encode(version, SEGMENT)
    ));
    package
}

/// One line split into tokens (comments dropped: `// indirect` changes nothing about what is installed).
struct Tokens {
    tokens: Vec<String>,
}

/// Splits a go.mod line into tokens: words, `"quoted"` and `` `raw` `` strings, `(`, `)` and `=>`; a `//`
/// outside a string starts a comment.
fn tokenize(line: &str, number: usize) -> Result<Tokens, String> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '/' if line[start..].starts_with("//") => break,
            '(' | ')' => {
                tokens.push(c.to_string());
                chars.next();
            }
            '"' | '`' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    match d {
                        d if d == c => {
                            closed = true;
                            break;
                        }
                        '\\' if c == '"' => match chars.next() {
                            Some((_, escaped)) => value.push(escaped),
                            None => break,
                        },
                        d => value.push(d),
                    }
                }
                if !closed {
                    return Err(format!("unterminated string on line {number}"));
                }
                tokens.push(value);
            }
            _ => {
                let mut end = line.len();
                while let Some(&(i, d)) = chars.peek() {
                    if d.is_whitespace()
                        || matches!(d, '(' | ')' | '"' | '`')
                        || line[i..].starts_with("//")
                    {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(line[start..end].to_string());
            }
        }
    }
    Ok(Tokens { tokens })
}

/// The first 80 characters of `text`, for messages about hostile input.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(80).collect();
        short.push('…');
        short
    }
}
