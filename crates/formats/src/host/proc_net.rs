//! `/proc/net/tcp` and `/proc/net/tcp6`: the TCP sockets in the LISTEN state.
//!
//! The kernel prints each address as native-endian 32-bit words in hex (`0100007F:0016` is 127.0.0.1:22 on
//! a little-endian machine); the words are turned back into bytes in this machine's byte order, which is
//! right because the agent reads the file on the host that wrote it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bulwark_core::config::{ListeningSocket, SocketFamily};

use crate::FormatError;

/// The `st` value of a listening socket.
const TCP_LISTEN: &str = "0A";

/// Parses `/proc/net/tcp` (`Ipv4`) or `/proc/net/tcp6` (`Ipv6`); returns the listening sockets, sorted
/// and without duplicates.
pub fn parse(
    file: &str,
    text: &str,
    family: SocketFamily,
) -> Result<Vec<ListeningSocket>, FormatError> {
    let mut sockets = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let at = || format!("line {}", index + 1);
        if fields.len() < 4 {
            return Err(FormatError::parse(file, at(), "fewer than 4 fields"));
        }
        if fields[3] != TCP_LISTEN {
            continue;
        }
        let (address, port) = fields[1]
            .split_once(':')
            .ok_or_else(|| FormatError::parse(file, at(), "local address without a port"))?;
        let port = u16::from_str_radix(port, 16)
            .map_err(|_| FormatError::parse(file, at(), format!("port {port:?} is not hex")))?;
        let address = parse_address(address, family).ok_or_else(|| {
            FormatError::parse(
                file,
                at(),
                format!("address {address:?} is not a hex address"),
            )
        })?;
        sockets.push(ListeningSocket {
            family,
            address,
            port,
        });
    }
    sockets.sort();
    sockets.dedup();
    Ok(sockets)
}

fn parse_address(hex: &str, family: SocketFamily) -> Option<IpAddr> {
    let words = match family {
        SocketFamily::Ipv4 => 1,
        SocketFamily::Ipv6 => 4,
    };
    if hex.len() != words * 8 || !hex.is_ascii() {
        return None;
    }
    let mut bytes = Vec::with_capacity(words * 4);
    for i in 0..words {
        let word = u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    Some(match family {
        SocketFamily::Ipv4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        SocketFamily::Ipv6 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(octets))
        }
    })
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 2345 1 0000000000000000 100 0 0 10 0
   2: 0200000A:0016 0300000A:D2F4 01 00000000:00000000 02:0009F2A1 00000000     0        0 3456 4 0000000000000000 20 4 30 10 -1
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0017 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0CEA 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
";

    fn render(sockets: &[ListeningSocket]) -> Vec<String> {
        sockets
            .iter()
            .map(|s| format!("{} {}", s.address, s.port))
            .collect()
    }

    #[test]
    fn listening_sockets_only() {
        let v4 = parse("/proc/net/tcp", TCP, SocketFamily::Ipv4).unwrap();
        assert_eq!(render(&v4), ["0.0.0.0 22", "127.0.0.1 6379"]);
        let v6 = parse("/proc/net/tcp6", TCP6, SocketFamily::Ipv6).unwrap();
        assert_eq!(render(&v6), [":: 23", "::1 3306"]);
        assert!(v6[0].is_wildcard() && v6[1].is_loopback());
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let bad = "header\n   0: 0000ZZ00:0016 00000000:0000 0A\n";
        let err = parse("/proc/net/tcp", bad, SocketFamily::Ipv4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc/net/tcp: line 2: address \"0000ZZ00\" is not a hex address"
        );
        let err = parse(
            "/proc/net/tcp",
            "h\n 0: 00000000 x 0A\n",
            SocketFamily::Ipv4,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc/net/tcp: line 2: local address without a port"
        );
    }
}
