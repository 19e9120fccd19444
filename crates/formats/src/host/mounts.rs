//! `/proc/self/mounts`: the mounted file systems, with the kernel's octal escapes (`\040` for a space)
//! decoded.

use bulwark_core::config::MountEntry;

use crate::FormatError;

/// Parses `/proc/self/mounts` (or `/etc/mtab`): `device mount-point type options dump pass` per line.
pub fn parse(file: &str, text: &str) -> Result<Vec<MountEntry>, FormatError> {
    let mut mounts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() < 4 {
            return Err(FormatError::parse(
                file,
                format!("line {}", index + 1),
                format!("{} fields, a mount entry has at least 4", fields.len()),
            ));
        }
        mounts.push(MountEntry {
            device: unescape(fields[0]),
            mount_point: unescape(fields[1]),
            fs_type: fields[2].to_string(),
            options: fields[3].split(',').map(String::from).collect(),
        });
    }
    Ok(mounts)
}

/// Decodes the kernel's `\ooo` escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_with_escapes() {
        let mounts = parse(
            "/proc/self/mounts",
            "/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev,noexec 0 0\n\
             /dev/sdb1 /media/my\\040disk vfat rw 0 0\n",
        )
        .unwrap();
        assert_eq!(mounts[1].mount_point, "/tmp");
        assert!(mounts[1].has_option("noexec"));
        assert_eq!(mounts[2].mount_point, "/media/my disk");
        let err = parse("/proc/self/mounts", "/dev/sda1 /\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc/self/mounts: line 1: 2 fields, a mount entry has at least 4"
        );
    }
}
