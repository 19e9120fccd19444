//! `/etc/passwd` and `/etc/shadow`, reduced to names, user ids and the state of each password.
//!
//! Password hashes are never kept: a shadow entry becomes `Empty`, `Locked` (`!` or `*` first) or `Set`.
//! NIS compatibility lines (`+`, `-`) are skipped.

use bulwark_core::config::{PasswordState, ShadowEntry, UserAccount};

use crate::FormatError;

fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter(|(_, line)| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#') && !line.starts_with(['+', '-'])
    })
}

/// Parses `/etc/passwd`: seven `:`-separated fields per line, a numeric uid in the third.
pub fn parse_passwd(file: &str, text: &str) -> Result<Vec<UserAccount>, FormatError> {
    entries(text)
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split(':').collect();
            let at = format!("line {}", index + 1);
            if fields.len() < 7 {
                return Err(FormatError::parse(
                    file,
                    at,
                    format!("{} fields, a passwd entry has 7", fields.len()),
                ));
            }
            let uid = fields[2].parse::<u32>().map_err(|_| {
                FormatError::parse(file, at, format!("uid {:?} is not a number", fields[2]))
            })?;
            Ok(UserAccount {
                name: fields[0].to_string(),
                uid,
            })
        })
        .collect()
}

/// Parses `/etc/shadow` into the state of each account's password.
pub fn parse_shadow(file: &str, text: &str) -> Result<Vec<ShadowEntry>, FormatError> {
    entries(text)
        .map(|(index, line)| {
            let mut fields = line.split(':');
            let name = fields.next().unwrap_or_default();
            let Some(password) = fields.next() else {
                return Err(FormatError::parse(
                    file,
                    format!("line {}", index + 1),
                    "no password field",
                ));
            };
            let password = if password.is_empty() {
                PasswordState::Empty
            } else if password.starts_with(['!', '*']) {
                PasswordState::Locked
            } else {
                PasswordState::Set
            };
            Ok(ShadowEntry {
                name: name.to_string(),
                password,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_entries() {
        let users = parse_passwd(
            "passwd",
            "root:x:0:0:root:/root:/bin/bash\n+@nis::::::\ntoor:x:0:0::/:/bin/sh\n",
        )
        .unwrap();
        let got: Vec<(&str, u32)> = users.iter().map(|u| (u.name.as_str(), u.uid)).collect();
        assert_eq!(got, [("root", 0), ("toor", 0)]);
        let err = parse_passwd(
            "passwd",
            "root:x:0:0:root:/root:/bin/bash\nbad:x:zero:0::/:\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "passwd: line 2: uid \"zero\" is not a number"
        );
        let err = parse_passwd("passwd", "short:x:1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "passwd: line 1: 3 fields, a passwd entry has 7"
        );
    }

    #[test]
    fn shadow_keeps_only_the_state_of_the_password() {
        let shadow = parse_shadow(
            "shadow",
            "root:$y$j9T$abc$def:19000:0:99999:7:::\ndaemon:*:19000::::::\nguest::19000::::::\nold:!$6$x:1::::::\n",
        )
        .unwrap();
        let got: Vec<(&str, PasswordState)> = shadow
            .iter()
            .map(|e| (e.name.as_str(), e.password))
            .collect();
        assert_eq!(
            got,
            [
                ("root", PasswordState::Set),
                ("daemon", PasswordState::Locked),
                ("guest", PasswordState::Empty),
                ("old", PasswordState::Locked),
            ]
        );
        let debug = format!("{shadow:?}");
        assert!(!debug.contains("$y$") && !debug.contains("$6$"), "{debug}");
        assert!(parse_shadow("shadow", "nocolon\n").is_err());
    }
}
