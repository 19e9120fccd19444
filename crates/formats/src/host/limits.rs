//! `/etc/security/limits.conf` and `limits.d/*.conf`: the hard core-dump limit that applies to everyone.

/// The value of the last `* hard core` (or `* - core`) line, when there is one.
pub fn hard_core_limit(text: &str) -> Option<String> {
    let mut limit = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let ["*", kind, "core", value] = fields.as_slice()
            && (*kind == "hard" || *kind == "-")
        {
            limit = Some((*value).to_string());
        }
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_hard_core_line_for_everyone() {
        assert_eq!(hard_core_limit("*  hard  core  0\n").as_deref(), Some("0"));
        assert_eq!(hard_core_limit("* soft core 0\n@staff hard core 0\n"), None);
        assert_eq!(
            hard_core_limit("* hard core 0\n* - core unlimited # override\n").as_deref(),
            Some("unlimited")
        );
        assert_eq!(hard_core_limit("#* hard core 0\n"), None);
    }
}
