//! Enabled systemd units, told from the links `systemctl enable` makes: every entry of a
//! `/etc/systemd/system/*.wants/` directory is an enabled unit, and a unit linked to `/dev/null` in
//! `/etc/systemd/system/` is masked and so not enabled, whatever links remain.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

/// The enabled units from the names found in `*.wants/` directories and the masked unit names.
pub fn enabled_units<'a>(
    wanted: impl IntoIterator<Item = &'a str>,
    masked: &BTreeSet<String>,
) -> BTreeSet<String> {
    wanted
        .into_iter()
        .filter(|unit| !masked.contains(*unit))
        .map(String::from)
        .collect()
}

/// Reads the `*.wants/` directories and masks under `dir` (the host's `/etc/systemd/system`).
pub fn read_enabled_units(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut wanted = Vec::new();
    let mut masked = BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.ends_with(".wants") && path.is_dir() {
            for unit in std::fs::read_dir(&path)? {
                wanted.push(unit?.file_name().to_string_lossy().into_owned());
            }
        } else if std::fs::read_link(&path).is_ok_and(|target| target == Path::new("/dev/null")) {
            masked.insert(name);
        }
    }
    Ok(enabled_units(wanted.iter().map(String::as_str), &masked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_units_are_not_enabled() {
        let masked: BTreeSet<String> = ["nftables.service".to_string()].into();
        let units = enabled_units(["ssh.service", "nftables.service", "ssh.service"], &masked);
        assert_eq!(units.into_iter().collect::<Vec<_>>(), ["ssh.service"]);
    }
}
