//! `sshd_config`: the SSH server's global settings, as sshd itself reads them.
//!
//! Keywords are case-insensitive and the first value of a keyword wins (later lines do not override it, as
//! in sshd). Lines after a `Match` line belong to that block until the end of the file and do not set the
//! global value; a `Match` block in an included file ends with that file, as in sshd. `Include` is followed
//! in place (so its settings win over the lines after it) through a resolver the caller provides, to a
//! depth of 16.

use bulwark_core::config::SshdConfig;

use crate::FormatError;

/// Resolves an `Include` argument to the included files, `(name, text)` in the order sshd reads them.
pub type Resolve<'a> = dyn FnMut(&str) -> Result<Vec<(String, String)>, FormatError> + 'a;

/// sshd's own limit on nested `Include`s.
const MAX_DEPTH: usize = 16;

/// Parses `text` (the file `file`) without following `Include` lines.
pub fn parse(file: &str, text: &str) -> Result<SshdConfig, FormatError> {
    parse_with_includes(file, text, &mut |_| Ok(Vec::new()))
}

/// Parses `text`; each `Include` argument is handed to `resolve`, which returns the included files as
/// `(name, text)` in the order sshd reads them (glob matches sorted).
pub fn parse_with_includes(
    file: &str,
    text: &str,
    resolve: &mut Resolve<'_>,
) -> Result<SshdConfig, FormatError> {
    let mut config = SshdConfig {
        present: true,
        ..SshdConfig::default()
    };
    read(file, text, resolve, &mut config, 0)?;
    Ok(config)
}

fn read(
    file: &str,
    text: &str,
    resolve: &mut Resolve<'_>,
    config: &mut SshdConfig,
    depth: usize,
) -> Result<(), FormatError> {
    if depth > MAX_DEPTH {
        return Err(FormatError::parse(
            file,
            "line 1",
            format!("Include nested deeper than {MAX_DEPTH} files"),
        ));
    }
    let mut in_match = false;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("line {}", index + 1);
        let split = line
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(line.len());
        let keyword = line[..split].to_ascii_lowercase();
        let rest = line[split..].trim_start();
        let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
        if rest.is_empty() {
            return Err(FormatError::parse(
                file,
                at(),
                format!("{} has no value", &line[..split]),
            ));
        }
        if keyword == "match" {
            in_match = true;
            continue;
        }
        if in_match {
            continue;
        }
        if keyword == "include" {
            for pattern in rest.split_whitespace() {
                for (name, included) in resolve(pattern)? {
                    read(&name, &included, resolve, config, depth + 1)?;
                }
            }
            continue;
        }
        let value = rest
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(rest);
        config
            .options
            .entry(keyword)
            .or_insert_with(|| value.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(&str, &str)]) {
        let config = parse("sshd_config", text).unwrap();
        let got: Vec<(&str, &str)> = config
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn first_value_wins_case_insensitively_and_match_blocks_are_ignored() {
        check(
            "# comment\nPermitRootLogin no\npermitrootlogin yes\nMaxAuthTries=3\nBanner \"/etc/issue net\"\n\
             Match User backup\n  PermitRootLogin yes\n  PasswordAuthentication yes\n",
            &[
                ("banner", "/etc/issue net"),
                ("maxauthtries", "3"),
                ("permitrootlogin", "no"),
            ],
        );
        check("X11Forwarding = no\n", &[("x11forwarding", "no")]);
    }

    #[test]
    fn includes_are_read_in_place_and_their_match_blocks_end_with_them() {
        let text = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMaxAuthTries 6\n";
        let mut asked = Vec::new();
        let config = parse_with_includes("sshd_config", text, &mut |pattern| {
            asked.push(pattern.to_string());
            Ok(vec![
                (
                    "10-root.conf".into(),
                    "PermitRootLogin no\nMatch Address 10.0.0.0/8\nMaxAuthTries 2\n".into(),
                ),
                (
                    "20-other.conf".into(),
                    "PermitRootLogin prohibit-password\n".into(),
                ),
            ])
        })
        .unwrap();
        assert_eq!(asked, ["/etc/ssh/sshd_config.d/*.conf"]);
        assert_eq!(config.get("PermitRootLogin"), Some("no"));
        assert_eq!(config.get("MaxAuthTries"), Some("6"));
    }

    #[test]
    fn errors_name_the_included_file_and_line() {
        let err = parse_with_includes("sshd_config", "Include x\n", &mut |_| {
            Ok(vec![("x.conf".into(), "Port 22\nPermitRootLogin\n".into())])
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.conf: line 2: PermitRootLogin has no value"
        );
        let err = parse_with_includes("sshd_config", "Include self\n", &mut |_| {
            Ok(vec![("self".into(), "Include self\n".into())])
        })
        .unwrap_err();
        assert!(err.to_string().contains("nested deeper than 16"), "{err}");
    }
}
