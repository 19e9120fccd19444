//! The package sources of a Linux host: the dpkg, apk and rpm databases, the system Python's
//! `site-packages`/`dist-packages` directories and the global npm roots.
//!
//! Each source found becomes one [`AgentInventory`]; each source looked for and not read becomes a
//! [`Skipped`] entry with the reason, so the collector never fails as a whole. The files are parsed by the
//! formats layer's parsers (one metadata file at a time for Python and npm); this module only knows where
//! the files are.
//!
//! Python distributions and npm packages that an OS package manager installed (listed in dpkg's
//! `info/*.list` or apk's database, or whose `INSTALLER` file says `rpm`) are left out of the language
//! inventories with a note: the OS package already reports them, and the distribution's advisories are the
//! ones that know its backported fixes. Virtual environments, pyenv and per-user (`~/.local`) installs and
//! nvm's node versions are not looked for.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bulwark_core::agent::{AgentInventory, PackageSource, Skipped};
use bulwark_core::{InstalledPackage, Inventory, InventoryNote};
use bulwark_formats::inventory::InventoryFormat;

use crate::read::{self, host_path, host_path_of};

/// Where rpm keeps its database: `/var/lib/rpm` (BerkeleyDB, NDB or SQLite) or `/usr/lib/sysimage/rpm`.
const RPM_DATABASES: [&str; 6] = [
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/Packages",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages",
];

/// The query whose output [`InventoryFormat::RpmQa`] reads.
const RPM_QUERY_FORMAT: &str = "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\\n";

/// How long `rpm -qa` may take before it is stopped.
const RPM_TIMEOUT: Duration = Duration::from_secs(300);

/// The directories whose `python3*` children hold the system Python's packages.
const PYTHON_PREFIXES: [&str; 4] = ["usr/lib", "usr/lib64", "usr/local/lib", "usr/local/lib64"];

/// The global npm roots (`npm root -g` with the distribution's and npm's default prefixes).
const NPM_ROOTS: [&str; 2] = ["usr/lib/node_modules", "usr/local/lib/node_modules"];

/// How deep nested `node_modules` are followed (npm itself nests a few levels at most).
const MAX_NPM_DEPTH: usize = 32;

/// Collects every package source under `root` into `inventories`, and what was not read into `skipped`.
/// `rpm -qa` is run only when `is_live` (the root is the running system's `/`).
pub(crate) fn collect(
    root: &Path,
    is_live: bool,
    inventories: &mut Vec<AgentInventory>,
    skipped: &mut Vec<Skipped>,
) {
    database(
        root,
        PackageSource::Dpkg,
        "var/lib/dpkg/status",
        InventoryFormat::DpkgStatus,
        inventories,
        skipped,
    );
    database(
        root,
        PackageSource::Apk,
        "lib/apk/db/installed",
        InventoryFormat::ApkInstalled,
        inventories,
        skipped,
    );
    rpm(root, is_live, inventories, skipped);
    let owned = OsOwned::read(root);
    python(root, &owned, inventories, skipped);
    npm(root, &owned, inventories, skipped);
}

/// An OS package database that is one file (dpkg status, apk installed).
fn database(
    root: &Path,
    source: PackageSource,
    relative: &str,
    format: InventoryFormat,
    inventories: &mut Vec<AgentInventory>,
    skipped: &mut Vec<Skipped>,
) {
    let path = host_path(relative);
    let parsed = read::file(root, relative)
        .and_then(|bytes| format.parse(&path, &bytes).map_err(|e| e.to_string()));
    match parsed {
        Ok(inventory) => inventories.push(AgentInventory {
            source,
            path,
            format: inventory.format,
            packages: inventory.packages,
            notes: inventory.notes,
        }),
        Err(reason) => skipped.push(Skipped {
            source: source.name().into(),
            path,
            reason,
        }),
    }
}

/// The rpm database, through `rpm -qa` (its on-disk formats are rpm's own business).
fn rpm(
    root: &Path,
    is_live: bool,
    inventories: &mut Vec<AgentInventory>,
    skipped: &mut Vec<Skipped>,
) {
    let found = RPM_DATABASES
        .iter()
        .find(|relative| root.join(relative).symlink_metadata().is_ok());
    let Some(database) = found else {
        skipped.push(Skipped {
            source: "rpm".into(),
            path: host_path("var/lib/rpm"),
            reason: "not present".into(),
        });
        return;
    };
    let path = host_path(database.rsplit_once('/').map_or(database, |(dir, _)| dir));
    if !is_live {
        skipped.push(Skipped {
            source: "rpm".into(),
            path,
            reason:
                "an rpm database is present, but rpm is queried only when collecting the running \
                     system (root /)"
                    .into(),
        });
        return;
    }
    let parsed = run_rpm().and_then(|bytes| {
        InventoryFormat::RpmQa
            .parse("rpm -qa", &bytes)
            .map_err(|e| e.to_string())
    });
    match parsed {
        Ok(inventory) => inventories.push(AgentInventory {
            source: PackageSource::Rpm,
            path,
            format: inventory.format,
            packages: inventory.packages,
            notes: inventory.notes,
        }),
        Err(reason) => skipped.push(Skipped {
            source: "rpm".into(),
            path,
            reason,
        }),
    }
}

/// Runs `rpm -qa` with the query format the rpm parser reads, stopping it after [`RPM_TIMEOUT`].
fn run_rpm() -> Result<Vec<u8>, String> {
    let mut child = Command::new("rpm")
        .args(["-qa", "--qf", RPM_QUERY_FORMAT])
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "an rpm database is present, but the rpm command is not installed".to_string()
            }
            _ => format!("cannot run rpm: {e}"),
        })?;
    // Both pipes are drained while rpm runs, so that a full pipe cannot stall it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                // A read error shows as truncated output, which the parser or the exit status reports.
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + RPM_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(None) => {
                // Killing a process that just exited fails harmlessly; either way it is reaped below.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "rpm -qa did not finish within {} seconds",
                    RPM_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for rpm failed: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let message = String::from_utf8_lossy(&stderr);
        let first = message.lines().next().unwrap_or("").trim();
        return Err(format!("rpm -qa failed ({status}): {first}"));
    }
    Ok(stdout)
}

/// Files an OS package manager installed, by host path, with the manager's name; only the paths under
/// language package directories are kept.
#[derive(Debug, Default)]
struct OsOwned {
    files: HashMap<String, &'static str>,
}

impl OsOwned {
    /// Reads dpkg's file lists and apk's database. Both are best effort: a list that cannot be read leaves
    /// its packages in the language inventories, where they are still assessed.
    fn read(root: &Path) -> OsOwned {
        let mut owned = OsOwned::default();
        let keep = |path: &str| path.contains("-packages/") || path.contains("node_modules/");
        if let Ok(entries) = read::sorted_dir(&root.join("var/lib/dpkg/info")) {
            for entry in entries {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "list") {
                    continue;
                }
                let Ok(bytes) = read::path(&path) else {
                    continue;
                };
                for line in String::from_utf8_lossy(&bytes).lines() {
                    if keep(line) {
                        owned.files.insert(line.trim_end().to_string(), "dpkg");
                    }
                }
            }
        }
        if let Ok(bytes) = read::file(root, "lib/apk/db/installed") {
            let mut folder = String::new();
            for line in String::from_utf8_lossy(&bytes).lines() {
                if let Some(dir) = line.strip_prefix("F:") {
                    folder = host_path(dir);
                    if keep(&format!("{folder}/")) {
                        owned.files.insert(folder.clone(), "apk");
                    }
                } else if let Some(file) = line.strip_prefix("R:") {
                    let path = format!("{folder}/{file}");
                    if keep(&path) {
                        owned.files.insert(path, "apk");
                    }
                }
            }
        }
        owned
    }

    /// The manager that installed any of these host paths.
    fn owner(&self, paths: &[&str]) -> Option<&'static str> {
        paths.iter().find_map(|p| self.files.get(*p).copied())
    }
}

/// Counts of packages left out of a language inventory because an OS package manager installed them.
#[derive(Debug, Default)]
struct LeftOut(BTreeMap<&'static str, u64>);

impl LeftOut {
    /// One note per manager; `what` is the singular and plural of what was counted.
    fn notes(self, location: &str, what: (&str, &str)) -> impl Iterator<Item = InventoryNote> {
        let location = location.to_string();
        let (one, many) = (what.0.to_string(), what.1.to_string());
        self.0.into_iter().map(move |(manager, count)| InventoryNote {
            location: location.clone(),
            message: format!(
                "{count} {} installed by {manager} left out: the {manager} packages that installed \
                 them are reported, with their distribution's fixes",
                if count == 1 { &one } else { &many }
            ),
        })
    }
}

/// The system Python's `site-packages` and `dist-packages` directories, each one inventory.
fn python(
    root: &Path,
    owned: &OsOwned,
    inventories: &mut Vec<AgentInventory>,
    skipped: &mut Vec<Skipped>,
) {
    let dirs = python_dirs(root);
    if dirs.is_empty() {
        skipped.push(Skipped {
            source: "python".into(),
            path: "/usr/{lib,lib64,local/lib,local/lib64}/python3*/{site,dist}-packages".into(),
            reason: "not present".into(),
        });
    }
    for dir in dirs {
        let path = host_path_of(root, &dir);
        let entries = match read::sorted_dir(&dir) {
            Ok(entries) => entries,
            Err(reason) => {
                skipped.push(Skipped {
                    source: "python".into(),
                    path,
                    reason,
                });
                continue;
            }
        };
        let mut inventory = Inventory::default();
        let mut left_out = LeftOut::default();
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dist_dir = entry.path();
            let metadata = if name.ends_with(".dist-info") {
                dist_dir.join("METADATA")
            } else if name.ends_with(".egg-info") && dist_dir.is_dir() {
                dist_dir.join("PKG-INFO")
            } else if name.ends_with(".egg-info") {
                // distutils writes the metadata itself as a file named `*.egg-info`.
                dist_dir.clone()
            } else {
                continue;
            };
            let file = host_path_of(root, &metadata);
            let owner = owned
                .owner(&[&file, &host_path_of(root, &dist_dir)])
                .or_else(|| installed_by_rpm(&dist_dir).then_some("rpm"));
            if let Some(manager) = owner {
                *left_out.0.entry(manager).or_default() += 1;
                continue;
            }
            read_one(
                &metadata,
                &file,
                InventoryFormat::PythonMetadata,
                &mut inventory,
            );
        }
        inventory
            .notes
            .extend(left_out.notes(&path, ("distribution", "distributions")));
        inventories.push(language_inventory(
            PackageSource::Python,
            path,
            InventoryFormat::PythonMetadata,
            inventory,
        ));
    }
}

/// `python3*/site-packages` and `python3*/dist-packages` under each prefix, in a stable order.
fn python_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for prefix in PYTHON_PREFIXES {
        let Ok(entries) = read::sorted_dir(&root.join(prefix)) else {
            continue;
        };
        for entry in entries {
            if !entry.file_name().to_string_lossy().starts_with("python3") {
                continue;
            }
            for leaf in ["site-packages", "dist-packages"] {
                let dir = entry.path().join(leaf);
                if dir.is_dir() {
                    dirs.push(dir);
                }
            }
        }
    }
    dirs
}

/// True when the distribution's PEP 376 `INSTALLER` file names rpm (Fedora and RHEL write it).
fn installed_by_rpm(dist_dir: &Path) -> bool {
    std::fs::read_to_string(dist_dir.join("INSTALLER")).is_ok_and(|s| s.trim() == "rpm")
}

/// The global npm roots, each one inventory with the nested `node_modules` of its packages.
fn npm(
    root: &Path,
    owned: &OsOwned,
    inventories: &mut Vec<AgentInventory>,
    skipped: &mut Vec<Skipped>,
) {
    for relative in NPM_ROOTS {
        let dir = root.join(relative);
        let path = host_path(relative);
        if let Err(reason) = read::sorted_dir(&dir) {
            skipped.push(Skipped {
                source: "npm".into(),
                path,
                reason,
            });
            continue;
        }
        let mut inventory = Inventory::default();
        let mut left_out = LeftOut::default();
        let mut walk = NpmWalk {
            root,
            owned,
            inventory: &mut inventory,
            left_out: &mut left_out,
        };
        walk.node_modules(&dir, 0);
        inventory
            .notes
            .extend(left_out.notes(&path, ("package", "packages")));
        inventories.push(language_inventory(
            PackageSource::Npm,
            path,
            InventoryFormat::NpmPackageJson,
            inventory,
        ));
    }
}

/// One walk of a `node_modules` tree.
struct NpmWalk<'a> {
    root: &'a Path,
    owned: &'a OsOwned,
    inventory: &'a mut Inventory,
    left_out: &'a mut LeftOut,
}

impl NpmWalk<'_> {
    /// The packages of one `node_modules` directory: `name/` and `@scope/name/`.
    fn node_modules(&mut self, dir: &Path, depth: usize) {
        let entries = match read::sorted_dir(dir) {
            Ok(entries) => entries,
            Err(reason) => return self.note(dir, format!("not read: {reason}")),
        };
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                // `.bin`, `.package-lock.json`, `.staging`: npm's own bookkeeping.
                continue;
            }
            if name.starts_with('@') && entry.path().is_dir() {
                match read::sorted_dir(&entry.path()) {
                    Ok(scoped) => {
                        for package in scoped {
                            self.package(&package.path(), depth);
                        }
                    }
                    Err(reason) => self.note(&entry.path(), format!("not read: {reason}")),
                }
            } else {
                self.package(&entry.path(), depth);
            }
        }
    }

    /// One package folder, then its own `node_modules`.
    fn package(&mut self, dir: &Path, depth: usize) {
        let Ok(kind) = dir.symlink_metadata() else {
            return;
        };
        if kind.is_symlink() {
            let target = std::fs::read_link(dir)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into());
            return self.note(
                dir,
                format!(
                    "not assessed: links to the local folder {target} (npm link), not a registry package"
                ),
            );
        }
        if !kind.is_dir() {
            return;
        }
        let manifest = dir.join("package.json");
        let file = host_path_of(self.root, &manifest);
        if let Some(manager) = self.owned.owner(&[&file]) {
            // The packages nested inside came with the same OS package.
            *self.left_out.0.entry(manager).or_default() += 1;
            return;
        }
        read_one(
            &manifest,
            &file,
            InventoryFormat::NpmPackageJson,
            self.inventory,
        );
        let nested = dir.join("node_modules");
        if nested.is_dir() {
            if depth < MAX_NPM_DEPTH {
                self.node_modules(&nested, depth + 1);
            } else {
                self.note(
                    &nested,
                    format!("not read: nested deeper than {MAX_NPM_DEPTH} node_modules levels"),
                );
            }
        }
    }

    fn note(&mut self, path: &Path, message: String) {
        self.inventory.notes.push(InventoryNote {
            location: host_path_of(self.root, path),
            message,
        });
    }
}

/// Reads and parses one metadata file into `inventory`; a file that cannot be read or parsed becomes a
/// note naming it, so one broken package does not hide the others.
fn read_one(path: &Path, file: &str, format: InventoryFormat, inventory: &mut Inventory) {
    let parsed = read::path(path)
        .map_err(|reason| format!("not read: {reason}"))
        .and_then(|bytes| {
            format.parse(file, &bytes).map_err(|e| {
                // The note's location names the file already.
                let message = e.to_string();
                match message.strip_prefix(&format!("{file}: ")) {
                    Some(rest) => rest.to_string(),
                    None => message,
                }
            })
        });
    match parsed {
        Ok(one) => {
            inventory.packages.extend(one.packages);
            inventory
                .notes
                .extend(one.notes.into_iter().map(|note| InventoryNote {
                    location: format!("{file}: {}", note.location),
                    message: note.message,
                }));
        }
        Err(message) => inventory.notes.push(InventoryNote {
            location: file.to_string(),
            message,
        }),
    }
}

/// A language inventory, with exact duplicates removed (a distribution with both an `.egg-info` and a
/// `.dist-info`).
fn language_inventory(
    source: PackageSource,
    path: String,
    format: InventoryFormat,
    inventory: Inventory,
) -> AgentInventory {
    let mut seen = std::collections::HashSet::new();
    let packages: Vec<InstalledPackage> = inventory
        .packages
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .collect();
    AgentInventory {
        source,
        path,
        format: format.name().to_string(),
        packages,
        notes: inventory.notes,
    }
}
