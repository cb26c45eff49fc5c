//! What this host knows without asking the engine: its IPv4 routes, so a local engine's bottle
//! subnet never shadows a route the host uses, and whether the engine is local at all.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

/// The host's non-default IPv4 routes, from `/proc/net/route`. Empty where that file does not
/// exist (not Linux): bottle then relies on the engine's own overlap check.
pub fn routes() -> Vec<Ipv4Network> {
    std::fs::read_to_string("/proc/net/route")
        .map(|t| parse_proc_net_route(&t))
        .unwrap_or_default()
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
}
