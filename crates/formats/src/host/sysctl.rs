//! Kernel parameters read from `/proc/sys`: the file of `kernel.randomize_va_space` is
//! `/proc/sys/kernel/randomize_va_space`.

/// The `/proc/sys` file that holds the sysctl `key`.
pub fn proc_path(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

/// The value in a `/proc/sys` file: its content with surrounding whitespace removed and inner runs of
/// whitespace (tabs in `kernel.printk`) turned into single spaces.
pub fn parse_value(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_proc_files_and_values_are_normalised() {
        assert_eq!(
            proc_path("net.ipv4.conf.all.accept_redirects"),
            "/proc/sys/net/ipv4/conf/all/accept_redirects"
        );
        assert_eq!(parse_value("2\n"), "2");
        assert_eq!(parse_value("4\t4\t1\t7\n"), "4 4 1 7");
    }
}
