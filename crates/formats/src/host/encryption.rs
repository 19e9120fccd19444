//! Disk encryption: device-mapper devices whose `/sys/block/dm-*/dm/uuid` starts with `CRYPT-` (dm-crypt,
//! LUKS) and the volumes `/etc/crypttab` lists.

/// True when a device-mapper uuid (the content of `/sys/block/dm-N/dm/uuid`) is a dm-crypt device's.
pub fn is_crypt_uuid(uuid: &str) -> bool {
    uuid.trim_start().starts_with("CRYPT-")
}

/// The volume names of `/etc/crypttab` (the first field of each line that is not a comment).
pub fn crypttab_volumes(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypt_devices_and_crypttab() {
        assert!(is_crypt_uuid("CRYPT-LUKS2-0f3c…-sda3_crypt\n"));
        assert!(!is_crypt_uuid("LVM-abcdef\n"));
        assert_eq!(
            crypttab_volumes(
                "# <target name> <source device>\nsda3_crypt UUID=1234 none luks,discard\n\n"
            ),
            ["sda3_crypt"]
        );
    }
}
