//! `/etc/login.defs`: the password aging and `PATH` settings of shadow-utils.

use bulwark_core::config::LoginDefs;

use crate::FormatError;

/// Parses `/etc/login.defs`: `KEY value` lines, `#` comments. The last value of a key wins, as in
/// shadow-utils. A `PASS_MAX_DAYS` that is not an integer is an error naming the line.
pub fn parse(file: &str, text: &str) -> Result<LoginDefs, FormatError> {
    let mut defs = LoginDefs::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let value = value.trim().trim_matches('"');
        match key {
            "PASS_MAX_DAYS" => {
                let days = value.parse::<i64>().map_err(|_| {
                    FormatError::parse(
                        file,
                        format!("line {}", index + 1),
                        format!("PASS_MAX_DAYS {value:?} is not a number of days"),
                    )
                })?;
                defs.pass_max_days = Some(days);
            }
            "ENV_SUPATH" => {
                defs.env_supath = Some(value.strip_prefix("PATH=").unwrap_or(value).to_string());
            }
            "ENV_PATH" => {
                defs.env_path = Some(value.strip_prefix("PATH=").unwrap_or(value).to_string());
            }
            _ => {}
        }
    }
    Ok(defs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aging_and_paths() {
        let defs = parse(
            "login.defs",
            "# PASS_MAX_DAYS 1\nPASS_MAX_DAYS\t99999\nPASS_MAX_DAYS 365\n\
             ENV_SUPATH\tPATH=/usr/local/sbin:/usr/sbin\nENV_PATH PATH=/usr/bin\n",
        )
        .unwrap();
        assert_eq!(defs.pass_max_days, Some(365));
        assert_eq!(
            defs.env_supath.as_deref(),
            Some("/usr/local/sbin:/usr/sbin")
        );
        assert_eq!(defs.env_path.as_deref(), Some("/usr/bin"));
        assert_eq!(parse("l", "UMASK 022\n").unwrap(), LoginDefs::default());
        let err = parse("login.defs", "\nPASS_MAX_DAYS never\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "login.defs: line 2: PASS_MAX_DAYS \"never\" is not a number of days"
        );
    }
}
