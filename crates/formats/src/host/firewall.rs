//! Firewall configuration files: `/etc/nftables.conf` (does it define a table?) and `/etc/ufw/ufw.conf`
//! (`ENABLED=yes`).

/// True when an nftables ruleset file defines at least one table (`table inet filter { … }`).
pub fn nftables_defines_table(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("add ").unwrap_or(line);
        line.strip_prefix("table")
            .is_some_and(|rest| rest.starts_with(char::is_whitespace))
    })
}

/// The value of `ENABLED` in `ufw.conf` (`yes` → true); `false` when the key is absent.
pub fn ufw_enabled(text: &str) -> bool {
    let mut enabled = false;
    for line in text.lines() {
        if let Some(value) = line.trim().strip_prefix("ENABLED=") {
            enabled = value
                .trim()
                .trim_matches(['"', '\''])
                .eq_ignore_ascii_case("yes");
        }
    }
    enabled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nftables_and_ufw() {
        assert!(nftables_defines_table(
            "#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n  chain input { type filter hook input priority 0; }\n}\n"
        ));
        assert!(!nftables_defines_table(
            "#!/usr/sbin/nft -f\nflush ruleset\n# table inet x\n"
        ));
        assert!(ufw_enabled("# comment\nENABLED=yes\nLOGLEVEL=low\n"));
        assert!(!ufw_enabled("ENABLED=no\n"));
        assert!(!ufw_enabled("LOGLEVEL=low\n"));
    }
}
