//! `/etc/os-release` (or `/usr/lib/os-release`): which distribution and release the host runs.

use bulwark_core::config::OsRelease;

/// Parses os-release `KEY=value` lines (values optionally quoted, `\"` escapes); unknown keys are ignored.
pub fn parse(text: &str) -> OsRelease {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix(['"', '\''])
            .and_then(|v| v.strip_suffix(['"', '\'']))
            .unwrap_or(value)
            .replace("\\\"", "\"");
        match key {
            "ID" => os.id = value,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(String::from).collect(),
            "VERSION_ID" => os.version_id = Some(value),
            "PRETTY_NAME" => os.pretty_name = Some(value),
            _ => {}
        }
    }
    os
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_os_release() {
        let os = parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
        );
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id.as_deref(), Some("12"));
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        let ubuntu = parse("ID=ubuntu\nID_LIKE=debian\n");
        assert_eq!(ubuntu.id_like, ["debian"]);
    }
}
