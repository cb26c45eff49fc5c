//! What this host knows without asking the engine: its IPv4 routes, so a local engine's bottle
//! subnet never shadows a route the host uses; its listening TCP sockets, so `--publish-ip auto`
//! never hands out an address a host service holds (and `doctor` can name the wildcard ones);
//! whether a TCP endpoint is in use (a bound socket that does not listen is listed nowhere);
//! the kernel's ephemeral ports, which `doctor` holds against the host-port rule's range; and
//! whether the engine is local at all.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnetwork::Ipv4Network;

/// The host's non-default IPv4 routes, from `/proc/net/route`. Empty where that file does not
/// exist (not Linux): bottle then relies on the engine's own overlap check.
pub fn routes() -> Vec<Ipv4Network> {
    std::fs::read_to_string("/proc/net/route")
        .map(|t| parse_proc_net_route(&t))
        .unwrap_or_default()
}

/// The host's listening TCP sockets, from `/proc/net/tcp` and `/proc/net/tcp6`. Empty where those
/// files do not exist (not Linux).
pub fn tcp_listeners() -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            out.extend(parse_proc_net_tcp(&text));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether something on this host holds the TCP endpoint `at`: a bind to it (with
/// `SO_REUSEADDR`, as docker's and podman's port proxies bind; let go at once) fails with
/// "address in use". It sees what [`tcp_listeners`] cannot: a socket bound but not listening is
/// in no `/proc/net/tcp` table, yet it fails the engine's bind (checked on dockerd 20.10). A
/// listener, or a bound socket without `SO_REUSEADDR`, holds it; a connection in `TIME_WAIT` does
/// not, as for the engine. Any other failure (an address this host lacks, a privileged port) is
/// not an answer about this port, so it says no and leaves the error to the engine.
pub fn tcp_in_use(at: SocketAddr) -> bool {
    // std's listener sets `SO_REUSEADDR` before its bind on Unix; it listens only until dropped.
    std::net::TcpListener::bind(at).is_err_and(|e| e.kind() == std::io::ErrorKind::AddrInUse)
}

/// The host's bound UDP sockets, from `/proc/net/udp` and `/proc/net/udp6` (state `07`, the only
/// one an unconnected UDP socket has). Empty where those files do not exist (not Linux).
pub fn udp_sockets() -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            out.extend(parse_proc_net(&text, "07"));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Ports from the first to the last, both included.
pub type PortRange = std::ops::RangeInclusive<u16>;

/// The ports the kernel picks from for an outgoing connection or a bind to port 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ephemeral {
    /// `net.ipv4.ip_local_port_range`.
    pub range: PortRange,
    /// `net.ipv4.ip_local_reserved_ports`: left out of the kernel's choices, though a program may
    /// still bind them by number (as the engine does for a published port).
    pub reserved: Vec<PortRange>,
}

/// The kernel's ephemeral ports, from `/proc/sys/net/ipv4`. `None` where the range cannot be read
/// (not Linux); no reserved ports where that file cannot be.
pub fn ephemeral_ports() -> Option<Ephemeral> {
    let read = |name: &str| std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).ok();
    Some(Ephemeral {
        range: parse_port_range(&read("ip_local_port_range")?)?,
        reserved: read("ip_local_reserved_ports")
            .map_or_else(Vec::new, |t| parse_reserved_ports(&t)),
    })
}

/// Parse `ip_local_port_range`: two numbers, the first no greater than the second.
pub fn parse_port_range(text: &str) -> Option<PortRange> {
    let mut words = text.split_whitespace().map(str::parse::<u16>);
    let (low, high) = (words.next()?.ok()?, words.next()?.ok()?);
    (low <= high && words.next().is_none()).then_some(low..=high)
}

/// Parse `ip_local_reserved_ports`: ports and `LOW-HIGH` ranges, comma-separated (empty when none
/// are reserved). A part that does not parse is skipped.
pub fn parse_reserved_ports(text: &str) -> Vec<PortRange> {
    text.trim()
        .split(',')
        .filter_map(|part| {
            let (low, high) = part.split_once('-').unwrap_or((part, part));
            let (low, high) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
            (low <= high).then_some(low..=high)
        })
        .collect()
}

/// The IPv4 addresses that a listener is bound to specifically (not `0.0.0.0` or `::`), an
/// IPv4-mapped IPv6 one included: another program holds those, whatever the port.
pub fn specific_v4(listeners: &[SocketAddr]) -> std::collections::BTreeSet<Ipv4Addr> {
    listeners
        .iter()
        .filter_map(|a| match a.ip() {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(ip) => ip.to_ipv4_mapped(),
        })
        .filter(|ip| !ip.is_unspecified())
        .collect()
}

/// The listeners bound to every address (`0.0.0.0:PORT`, `[::]:PORT`): reachable on each loopback
/// address too, so an allow-list of one bottle's address admits them.
pub fn wildcard(listeners: &[SocketAddr]) -> Vec<SocketAddr> {
    listeners
        .iter()
        .filter(|a| a.ip().is_unspecified())
        .copied()
        .collect()
}

/// Parse `/proc/net/tcp` or `/proc/net/tcp6`: the local addresses of the sockets in state `0A`
/// (LISTEN). The kernel prints an address as the hex of each 32-bit word in memory order, read as
/// a native integer (`0100007F` is 127.0.0.1 on little-endian machines), and the port as plain
/// hex. A line that does not parse is skipped.
pub fn parse_proc_net_tcp(text: &str) -> Vec<SocketAddr> {
    const LISTEN: &str = "0A";
    parse_proc_net(text, LISTEN)
}

/// The local addresses of the sockets in `state` of a `/proc/net/{tcp,udp}{,6}` table.
fn parse_proc_net(text: &str, state: &str) -> Vec<SocketAddr> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if *f.get(3)? != state {
                return None;
            }
            let (ip, port) = f.get(1)?.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
            let ip = match ip.len() {
                8 => IpAddr::V4(Ipv4Addr::from(word(ip)?)),
                32 => {
                    let mut bytes = [0u8; 16];
                    for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                        chunk.copy_from_slice(&word(ip.get(i * 8..i * 8 + 8)?)?);
                    }
                    IpAddr::V6(Ipv6Addr::from(bytes))
                }
                _ => return None,
            };
            Some(SocketAddr::new(ip, port))
        })
        .collect()
}

/// Whether podman runs its containers on this host. Podman ignores `DOCKER_HOST` and a default
/// connection alone; it is remote with `CONTAINER_HOST` or `CONTAINER_CONNECTION` set, or as the
/// `podman-remote` binary (measured on podman 4.3; bottle passes no `--remote`/`--url` itself).
pub fn podman_is_local(program: &std::path::Path) -> bool {
    let var = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    let remote_binary = program
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("podman-remote"));
    !(remote_binary || var("CONTAINER_HOST") || var("CONTAINER_CONNECTION"))
}

/// Whether the engine the docker CLI will talk to runs on this host (a `unix://` endpoint).
///
/// Follows the CLI's own precedence: `--context`, then `DOCKER_HOST`, then `DOCKER_CONTEXT`, then
/// the config file's `currentContext`; the `default` context is `DOCKER_HOST` or the local socket.
/// A named context's endpoint is read from `$DOCKER_CONFIG/contexts/meta/<sha256 of name>/meta.json`.
/// Reads files only: no engine command.
pub fn engine_is_local(context_flag: Option<&str>) -> bool {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let is_unix = |host: &str| host.starts_with("unix://");
    let context = match (context_flag, var("DOCKER_HOST")) {
        (Some(c), _) => Some(c.to_string()),
        (None, Some(host)) => return is_unix(&host),
        (None, None) => var("DOCKER_CONTEXT"),
    };
    let config = var("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| var("HOME").map(|h| std::path::Path::new(&h).join(".docker")));
    let read_json = |path: std::path::PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let context = context.or_else(|| {
        let cfg = read_json(config.as_ref()?.join("config.json"))?;
        cfg.get("currentContext")?.as_str().map(str::to_string)
    });
    match context.as_deref() {
        // The default context is DOCKER_HOST if set, else the local socket.
        None | Some("") | Some("default") => var("DOCKER_HOST").is_none_or(|h| is_unix(&h)),
        Some(name) => {
            use sha2::Digest;
            let dir: String = sha2::Sha256::digest(name.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let meta =
                config.and_then(|c| read_json(c.join("contexts/meta").join(dir).join("meta.json")));
            meta.as_ref()
                .and_then(|m| m.pointer("/Endpoints/docker/Host")?.as_str())
                .is_some_and(is_unix)
        }
    }
}

/// Parse `/proc/net/route`: destination and mask are little-endian hex. The default route
/// (`0.0.0.0/0`) is left out, since it "overlaps" everything.
pub fn parse_proc_net_route(text: &str) -> Vec<Ipv4Network> {
    let mut out: Vec<Ipv4Network> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let prefix = mask.count_ones() as u8;
            let dest = Ipv4Addr::from(dest.swap_bytes());
            (prefix > 0)
                .then(|| Ipv4Network::new(dest, prefix).ok())
                .flatten()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_table() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let want: Vec<Ipv4Network> = vec![
            "172.17.0.0/16".parse().unwrap(),
            "192.0.2.0/24".parse().unwrap(),
        ];
        assert_eq!(parse_proc_net_route(text), want);
    }

    #[track_caller]
    fn check_tcp(text: &str, want: &[&str]) {
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
        let got: Vec<String> = parse_proc_net_tcp(&(header.to_string() + text))
            .iter()
            .map(SocketAddr::to_string)
            .collect();
        assert_eq!(got, want);
    }

    /// Lines in the kernel's format as a little-endian machine prints them (`ss -ltn` agrees).
    #[cfg(target_endian = "little")]
    #[test]
    fn parses_the_kernels_tcp_tables() {
        let v4 = "\
   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 2004007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
   3: 0100007F:0277 0100007F:D3C2 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: garbage
";
        check_tcp(v4, &["127.0.0.1:631", "127.0.4.32:8080", "0.0.0.0:22"]);
        let v6 = "\
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00002104007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1 0 100 0 0 10 0
   3: 0000000000000000FFFF00002104007F:0051 00000000000000000000000000000000:0000 06 00000000:00000000 00:00000000 00000000     0        0 8 1 0 100 0 0 10 0
";
        check_tcp(v6, &["[::]:22", "[::1]:631", "[::ffff:127.0.4.33]:80"]);
    }

    /// The bind probe answers only "in use": a listener's endpoint is, a freed one is not, and an
    /// address this host lacks (TEST-NET-1) is no answer, so never in use (a rule that took every
    /// failure for "in use" would walk all its candidates).
    #[test]
    fn tcp_in_use_only_for_address_in_use() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = held.local_addr().unwrap();
        assert!(tcp_in_use(at));
        drop(held);
        assert!(!tcp_in_use(at));
        assert!(!tcp_in_use(SocketAddr::new(
            [192, 0, 2, 1].into(),
            at.port()
        )));
    }

    /// The two `/proc/sys/net/ipv4` files `doctor` reads for the ephemeral ports: a range of two
    /// numbers (tab-separated), and a comma-separated list of ports and ranges (empty when none).
    #[test]
    fn parses_the_kernels_port_settings() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some(32768..=60999));
        assert_eq!(parse_port_range("1024 65535"), Some(1024..=65535));
        assert_eq!(parse_port_range("60999\t32768\n"), None);
        assert_eq!(parse_port_range("32768\n"), None);
        assert_eq!(parse_port_range("a b"), None);
        assert_eq!(parse_reserved_ports("\n"), Vec::<PortRange>::new());
        assert_eq!(
            parse_reserved_ports("8080,20000-32767,40000-40001\n"),
            vec![8080..=8080, 20000..=32767, 40000..=40001]
        );
        assert_eq!(parse_reserved_ports("x,9000-8000,22"), vec![22..=22]);
    }

    #[test]
    fn specific_and_wildcard_listeners() {
        let all: Vec<SocketAddr> = [
            "127.0.0.1:631",
            "0.0.0.0:22",
            "[::]:22",
            "[::1]:631",
            "[::ffff:127.0.4.33]:80",
            "127.0.4.32:8080",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        let specific: Vec<String> = specific_v4(&all).iter().map(Ipv4Addr::to_string).collect();
        assert_eq!(specific, ["127.0.0.1", "127.0.4.32", "127.0.4.33"]);
        let wild: Vec<String> = wildcard(&all).iter().map(SocketAddr::to_string).collect();
        assert_eq!(wild, ["0.0.0.0:22", "[::]:22"]);
    }
}
