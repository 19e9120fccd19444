//! apt's automatic update settings: `APT::Periodic::Unattended-Upgrade` in `/etc/apt/apt.conf.d/*`.
//!
//! apt reads the files of `apt.conf.d` in lexical order and a later assignment overrides an earlier one,
//! so the value is the last one found. Only the one-line form `APT::Periodic::Unattended-Upgrade "1";` (as
//! `dpkg-reconfigure unattended-upgrades` writes it) is read; `//` and `#` comments are skipped.

const KEY: &str = "apt::periodic::unattended-upgrade";

/// The last value of `APT::Periodic::Unattended-Upgrade` in one apt configuration file, when set.
pub fn unattended_upgrade(text: &str) -> Option<String> {
    let mut value = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("//") || line.starts_with('#') {
            continue;
        }
        let Some(split) = line.find(char::is_whitespace) else {
            continue;
        };
        if !line[..split].eq_ignore_ascii_case(KEY) {
            continue;
        }
        let rest = line[split..].trim().trim_end_matches(';').trim();
        value = Some(rest.trim_matches('"').to_string());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_unattended_upgrade() {
        let text = "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n";
        assert_eq!(unattended_upgrade(text).as_deref(), Some("1"));
        assert_eq!(
            unattended_upgrade("// APT::Periodic::Unattended-Upgrade \"1\";\n"),
            None
        );
        assert_eq!(
            unattended_upgrade(
                "APT::Periodic::Unattended-Upgrade \"1\";\nAPT::Periodic::Unattended-Upgrade \"0\";"
            )
            .as_deref(),
            Some("0")
        );
    }
}
