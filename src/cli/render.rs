//! Output for people, pure: the `ls` table and lines, the `status` summary, `port` lines, and
//! one-line renderings of usage errors and engine failures.
//!
//! Nothing here reads the environment or a terminal; the caller says whether output is a terminal.

use super::advice::Asked;
use bottle::{Bottle, Error, Invalid, KeptNetwork, PortView, Protocol, Result};

/// What an absent value shows as, in the summary, the table and the tab-separated lines alike (so
/// no line ends in a tab and every line has six fields).
pub(super) const NONE: &str = "-";

/// The human summary of `up` and `status`.
pub fn summary(b: &Bottle) -> String {
    let subnet = b.network.subnet.map_or(NONE.to_string(), |s| s.to_string());
    let mut out = format!(
        "bottle {}: {}\n  network  {}  {subnet}\n  bundle   {}  {}  {}\n",
        b.slug,
        b.bundle.state,
        b.network.name,
        b.bundle.name,
        b.bundle.ip.map_or(NONE.to_string(), |ip| ip.to_string()),
        b.bundle.image.as_deref().unwrap_or(NONE),
    );
    for p in &b.ports {
        out.push_str(&format!("  port     {}\n", port_line(p)));
    }
    if let Some(expires) = &b.expires {
        out.push_str(&format!("  expires  {expires}\n"));
    }
    if let Some(context) = &b.context {
        out.push_str(&format!(
            "  context  {context}  (its ports are on this context's host)\n"
        ));
    }
    out
}

/// `8080/tcp -> 127.0.0.1:49153`, as `docker port` prints a mapping.
pub fn port_line(p: &PortView) -> String {
    format!(
        "{}/{} -> {}",
        p.container_port,
        p.protocol,
        p.host_address()
    )
}

/// `127.0.0.1:33075->8080/tcp, ...`, as `docker ps` shows published ports.
pub(super) fn ports_cell(b: &Bottle) -> String {
    let ports: Vec<String> = b
        .ports
        .iter()
        .map(|p| format!("{}->{}/{}", p.host_address(), p.container_port, p.protocol))
        .collect();
    match ports.is_empty() {
        true => NONE.to_string(),
        false => ports.join(","),
    }
}

/// `ls`'s piped fields. EXPIRES came last, after the six of before, so a script's `cut -f1-6`
/// reads the same fields.
fn ls_fields(b: &Bottle) -> [String; 7] {
    let or_none = |s: Option<String>| s.filter(|s| !s.is_empty()).unwrap_or(NONE.to_string());
    [
        b.slug.to_string(),
        b.bundle.state.to_string(),
        or_none(b.network.subnet.map(|s| s.to_string())),
        or_none(b.bundle.ip.map(|ip| ip.to_string())),
        or_none(b.bundle.image.clone()),
        ports_cell(b),
        or_none(b.expires.clone()),
    ]
}

/// One column of the `ls` table: its header and what it shows of a bottle at `now` (seconds since
/// the epoch). A new column is one more line in [`LS_TABLE`].
struct Column {
    header: &'static str,
    cell: fn(&Bottle, i64) -> String,
    /// Left out when no bottle has a value in it (EXPIRES without a lease anywhere).
    optional: bool,
}

/// The `ls` table's columns, as `docker ps` orders its own: what it is, its state, its age, its
/// ports last (the one cell that grows). The bundle's address (always the subnet's second) and the
/// image are in `status` and in the piped lines; without them a bottle with one port fits in 80
/// columns.
const LS_TABLE: &[Column] = &[
    Column {
        header: "SLUG",
        cell: |b, _| b.slug.to_string(),
        optional: false,
    },
    // Only with `--contexts`: the context whose engine holds the bottle (its ports are on that
    // engine's host).
    Column {
        header: "CONTEXT",
        cell: |b, _| b.context.clone().unwrap_or(NONE.to_string()),
        optional: true,
    },
    Column {
        header: "STATE",
        cell: |b, _| b.bundle.state.to_string(),
        optional: false,
    },
    Column {
        header: "SUBNET",
        cell: |b, _| b.network.subnet.map_or(NONE.to_string(), |s| s.to_string()),
        optional: false,
    },
    Column {
        header: "AGE",
        cell: |b, now| {
            let created = b.created.as_deref().and_then(rfc3339_seconds);
            created.map_or(NONE.to_string(), |c| age(now - c))
        },
        optional: false,
    },
    // How long the lease has left, as AGE is shown (the time itself is in the piped lines).
    Column {
        header: "EXPIRES",
        cell: |b, now| match b.expires.as_deref().and_then(rfc3339_seconds) {
            None => NONE.to_string(),
            Some(at) if at <= now => "expired".to_string(),
            Some(at) => format!("in {}", age(at - now)),
        },
        optional: true,
    },
    Column {
        header: "PORTS",
        cell: |b, _| ports_cell(b),
        optional: false,
    },
];

/// `ls` on a terminal at `now` (seconds since the epoch): a header and aligned columns, the last
/// one unpadded.
pub fn ls_table(bottles: &[Bottle], now: i64) -> String {
    let columns: Vec<&Column> = LS_TABLE
        .iter()
        .filter(|c| !c.optional || bottles.iter().any(|b| (c.cell)(b, now) != NONE))
        .collect();
    let rows: Vec<Vec<String>> =
        std::iter::once(columns.iter().map(|c| c.header.to_string()).collect())
            .chain(
                bottles
                    .iter()
                    .map(|b| columns.iter().map(|c| (c.cell)(b, now)).collect()),
            )
            .collect();
    let mut widths = vec![0; columns.len()];
    for row in &rows {
        for (w, f) in widths.iter_mut().zip(row) {
            *w = (*w).max(f.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, f) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(f);
            } else {
                line.push_str(&format!("{f:<w$}   ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// An age as `kubectl get` shows it: `45s`, `12m`, `3h`, `5d` (a clock skew's negative age is 0s).
pub(super) fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// Seconds since the epoch of an RFC 3339 time as engines print `Created`
/// (`2026-12-07T02:13:45.123456789Z`, or with an offset such as `+01:00`); `None` for anything else.
pub(super) fn rfc3339_seconds(text: &str) -> Option<i64> {
    let num = |s: &str| -> Option<i64> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, rest) = text.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let time = rest.get(..8)?;
    let mut t = time.splitn(3, ':');
    let (hh, mm, ss) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    let zone = rest[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone {
        "Z" | "z" => 0,
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) => {
            let (h, m) = (num(&z[1..3])?, num(&z[4..6])?);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86400 + hh * 3600 + mm * 60 + ss - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `ls` piped: tab-separated fields, no header.
pub fn ls_tsv(bottles: &[Bottle]) -> String {
    bottles
        .iter()
        .map(|b| {
            let mut fields = ls_fields(b).to_vec();
            // With `--contexts`, the context is one field more, last: the others keep their places.
            fields.extend(b.context.clone());
            fields.join("\t") + "\n"
        })
        .collect()
}

/// A container port number, 1-65535, as `bottle port` takes it.
fn parse_port(s: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p != 0 && !s.starts_with('+') => Ok(p),
        _ => Err(Error::invalid(
            Invalid::Port,
            format!(
                "invalid port `{}`: use a port number from 1 to 65535",
                s.escape_default()
            ),
        )),
    }
}

/// `8080`, `8080/tcp` or `53/udp` (`docker port` takes `8080/TCP` too).
pub fn parse_port_arg(s: &str) -> Result<(u16, Protocol)> {
    let proto = |text: &str| match text.to_ascii_lowercase().as_str() {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        _ => None,
    };
    match s.split_once('/') {
        None => Ok((parse_port(s)?, Protocol::Tcp)),
        Some((p, name)) => match proto(name) {
            Some(proto) => Ok((parse_port(p)?, proto)),
            None => Err(Error::invalid(
                Invalid::Port,
                format!(
                    "invalid port `{s}`: bottle publishes TCP and UDP ports, not {name}; e.g. `8080`, `8080/tcp` or `53/udp`"
                ),
            )),
        },
    }
}

/// A clap usage error as one line: what is wrong, with which flag, and what would be right.
pub fn usage_line(err: &clap::Error) -> String {
    use clap::error::{ContextKind as C, ContextValue as V, ErrorKind as K};
    let get = |kind| match err.get(kind) {
        Some(V::String(s)) => Some(s.clone()),
        Some(V::Strings(v)) => Some(v.join(", ")),
        Some(V::StyledStr(s)) => Some(s.to_string()),
        Some(V::StyledStrs(v)) => Some(
            v.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Some(V::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let command = usage_command(&get(C::Usage).unwrap_or_default());
    let help = format!("see `{command} --help`");
    // `--pull <PULL>` → `--pull`: the flag as the user typed it.
    let flag = get(C::InvalidArg).map(|a| a.split([' ', '=']).next().unwrap_or("").to_string());
    let flag = flag.unwrap_or_default();
    match err.kind() {
        K::InvalidValue => {
            let value = get(C::InvalidValue).unwrap_or_default();
            let expected = match err.get(C::ValidValue) {
                Some(V::Strings(v)) => or_list(v),
                _ => String::new(),
            };
            // With no list of values, the value's name says what is expected (`--image <IMG>`).
            let named = get(C::InvalidArg).unwrap_or_default();
            match (value.is_empty(), expected.is_empty()) {
                (true, true) => format!("{flag} needs a value: {named}"),
                (true, false) => format!("{flag} needs a value: expected {expected}"),
                (false, _) => format!("invalid value '{value}' for {flag}: expected {expected}"),
            }
        }
        K::ValueValidation => {
            let value = get(C::InvalidValue).unwrap_or_default();
            let why = std::error::Error::source(err)
                .map(|e| e.to_string())
                .unwrap_or_default();
            // Rust's own number parsing says "invalid digit found in string": say what it is.
            let why = match why.contains("digit") || why.contains("number") {
                true => "not a whole number".to_string(),
                false => why,
            };
            let expected = match flag.as_str() {
                "--block" => "; expected a prefix length, from the pool's up to 29 (e.g. 24)",
                "--parallel" => "; expected how many bottles to work on at once, 1 to 64",
                "--tail" | "-n" => "; expected how many of the last lines to print (e.g. 20)",
                _ => "",
            };
            match value.is_empty() {
                true => format!("empty value for {flag}{expected}"),
                false => format!("invalid value '{value}' for {flag}: {why}{expected}"),
            }
        }
        K::MissingRequiredArgument => {
            let missing = get(C::InvalidArg).unwrap_or_default();
            let missing = missing.replace(['<', '>'], "");
            let example = match command.as_str() {
                "bottle down" => {
                    " (or --all), e.g. `bottle down demo` or `bottle down --all`".to_string()
                }
                "bottle completions" => {
                    ", one of bash, zsh, fish, elvish or powershell".to_string()
                }
                c => format!(", e.g. `{c} demo`"),
            };
            format!("`{command}` needs {missing}{example}")
        }
        K::UnknownArgument => {
            let tip = get(C::SuggestedArg)
                .map(|s| format!("did you mean '{s}'? "))
                .or_else(|| get(C::Suggested).map(|s| format!("{}; ", tip_text(&s))))
                .unwrap_or_default();
            match flag.starts_with('-') {
                true => format!("unknown option '{flag}' for `{command}`; {tip}{help}"),
                // A word where the command takes no more (`bottle ls demo`) is no option.
                false => format!("`{command}` takes no argument '{flag}'; {tip}{help}"),
            }
        }
        K::InvalidSubcommand => {
            let sub = get(C::InvalidSubcommand).unwrap_or_default();
            let tip = get(C::SuggestedSubcommand)
                .or_else(|| familiar_command(&sub).map(str::to_string))
                .map(|s| format!("did you mean '{s}'? "))
                .unwrap_or_default();
            format!("unknown command '{sub}'; {tip}see `bottle --help`")
        }
        _ => {
            // Clap's own first line, without its `error: ` prefix, and its tips on the same line.
            let text = err.render().to_string();
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let first = lines
                .next()
                .unwrap_or("invalid usage")
                .trim_start_matches("error: ")
                .to_string();
            let tips: Vec<String> = lines
                .filter(|l| l.trim_start().starts_with("tip:"))
                .map(|l| tip_text(l.trim()))
                .collect();
            let tips = tips.iter().map(|t| format!("{t}; ")).collect::<String>();
            format!("{first}; {tips}{help}")
        }
    }
}

/// bottle's command for a name people bring from docker, kubectl or compose, which clap's
/// spelling suggestions do not reach (`ps` is not a misspelling of `ls`).
pub fn familiar_command(word: &str) -> Option<&'static str> {
    Some(match word {
        "ps" | "list" | "get" => "ls",
        "rm" | "remove" | "delete" | "kill" | "destroy" => "down",
        "inspect" | "show" | "describe" | "info" => "status",
        "prune" | "clean" => "gc",
        "create" | "run" | "apply" => "up",
        "log" => "logs",
        "completion" => "completions",
        _ => return None,
    })
}

/// The input a clap usage error is about, as the user typed it (`--bogus`, `--pull`), or as `--help`
/// names it (`SLUG` for a missing slug, the unknown subcommand's word).
pub fn usage_input(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind as C, ContextValue as V};
    let text = |kind| match err.get(kind) {
        Some(V::String(s)) => Some(s.clone()),
        Some(V::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    let arg = text(C::InvalidArg).or_else(|| text(C::InvalidSubcommand))?;
    // `--pull <PULL>` → `--pull`; `<SLUG>` → `SLUG`.
    let word = arg.split([' ', '=']).next().unwrap_or_default();
    Some(word.trim_matches(['<', '>', '.']).to_string()).filter(|w| !w.is_empty())
}

fn tip_text(s: &str) -> String {
    s.trim().trim_start_matches("tip: ").to_string()
}

/// `a, b or c`.
fn or_list(v: &[String]) -> String {
    match v {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// `Usage: bottle up [OPTIONS] <SLUG>` → `bottle up`.
fn usage_command(usage: &str) -> String {
    let words: Vec<&str> = usage
        .trim()
        .trim_start_matches("Usage:")
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect();
    match words.is_empty() {
        true => "bottle".to_string(),
        false => words.join(" "),
    }
}

/// The docker CLI's Go error chains end in the file it failed to open (`context "nope": context
/// not found: open /root/.docker/contexts/meta/<sha256>/meta.json: no such file or directory`):
/// the path is the CLI's own bookkeeping, and "context not found" already says it all.
fn drop_file_paths(text: &str) -> String {
    const OPEN: &str = ": open /";
    const MISSING: &str = ": no such file or directory";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        let Some(len) = rest[at..].find(MISSING) else {
            break;
        };
        let path = &rest[at + OPEN.len()..at + len];
        if path.contains([' ', '`', ';']) {
            // Not one path: leave the text as it is.
            out.push_str(&rest[..at + len]);
        } else {
            out.push_str(&rest[..at]);
        }
        rest = &rest[at + len + MISSING.len()..];
    }
    out.push_str(rest);
    out
}

/// A failed `pull` or `build` as a person reads it: their output was shown on stderr as it came
/// (`Event::Output`), so the message says so instead of printing the engine's error a second
/// time; and a pull of the default image says that `--image` names another (a fresh machine has
/// no `bot-bottle-sidecars:latest`, the sidecar image of the launcher bottle was written for).
pub fn streamed_once(message: &str, line: &str, stderr: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let streamed = words.iter().any(|w| *w == "pull" || *w == "build");
    let stderr = stderr.trim();
    let mut text = match streamed && !stderr.is_empty() {
        true => message.replacen(&format!(": {stderr}"), " (its output is above)", 1),
        false => message.to_string(),
    };
    let default = bottle::DEFAULT_IMAGE;
    if words.contains(&"pull") && words.last() == Some(&default) {
        text.push_str(&format!(
            "; `--image IMG` names the bundle image (the default, `{default}`, is the sidecar image of bottle's launcher)"
        ));
    }
    text
}

/// An error for people, rendered from its data rather than by reading its words: `text` (the
/// error's message, or `{:#}` of what carried it) with the engine command the error is about
/// ([`Error::engine_command`]) shown as its program and verb alone (`docker run`) unless
/// `verbose` (the verb says which step failed; `--verbose` prints the lines in full), then the
/// CLI's advice for the error's kind and data. Text that only looks like a command line (the
/// engine quoting one in its stderr) is left as it is.
pub fn error_message(text: &str, err: Option<&Error>, asked: Asked<'_>, verbose: bool) -> String {
    let mut text = drop_file_paths(text.trim_end());
    if !verbose && let Some(c) = err.and_then(Error::engine_command) {
        text = text.replace(&format!("`{}`", c.line()), &format!("`{}`", c.short()));
    }
    super::advice::with_advice(&text, err, asked)
}

/// The line `gc` prints for a network it kept: which containers bottle did not start are on it,
/// and how to detach them with the engine's own `cli` (`docker`, `podman`).
pub fn kept_line(kept: &KeptNetwork, cli: &str) -> String {
    let network = &kept.network;
    let listed: Vec<String> = kept.containers.iter().map(|c| format!("`{c}`")).collect();
    let first = kept.containers.first().map_or("CONTAINER", String::as_str);
    format!(
        "kept network `{network}`: it still has containers that bottle did not start: {}; detach them (e.g. `{cli} network disconnect {network} {first}`) and run `bottle gc` again",
        listed.join(", ")
    )
}

/// `bottle env`: the variables the agent side needs, in order; `None` where the bottle has no
/// such value (no published port gives no host IP).
pub fn env_vars(b: &Bottle) -> Vec<(String, Option<String>)> {
    let mut vars = vec![
        ("BOTTLE_SLUG".to_string(), Some(b.slug.to_string())),
        (
            "BOTTLE_HOST_IP".to_string(),
            b.host_ip().map(|ip| ip.to_string()),
        ),
        (
            "BOTTLE_BUNDLE_IP".to_string(),
            b.bundle.ip.map(|ip| ip.to_string()),
        ),
        (
            "BOTTLE_SUBNET".to_string(),
            b.network.subnet.map(|s| s.to_string()),
        ),
    ];
    // With `--contexts`: the context whose host the addresses are on.
    if let Some(context) = &b.context {
        vars.push(("BOTTLE_CONTEXT".to_string(), Some(context.clone())));
    }
    for p in &b.ports {
        // A UDP port gets its own name, so `-p 53 -p 53/udp` gives two variables.
        let suffix = match p.protocol {
            Protocol::Tcp => "",
            _ => "_UDP",
        };
        vars.push((
            format!("BOTTLE_PORT_{}{suffix}", p.container_port),
            Some(p.host_address()),
        ));
    }
    vars
}

/// `bottle env` as shell-evaluable `export KEY=VALUE` lines, each value POSIX-quoted (a missing one is
/// empty).
pub fn env_lines(b: &Bottle) -> String {
    env_vars(b)
        .into_iter()
        .map(|(k, v)| {
            let v = v.unwrap_or_default();
            let quoted = shlex::try_quote(&v).map_or_else(|_| "''".to_string(), |q| q.into_owned());
            // `export`, as `docker-machine env` prints: `eval` must reach the agent's child
            // processes, not only the shell that evaluates the lines.
            format!("export {k}={quoted}\n")
        })
        .collect()
}

/// `bottle env --json`: one object, `null` for a missing value.
pub fn env_json(b: &Bottle) -> serde_json::Value {
    env_vars(b)
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.map_or(serde_json::Value::Null, serde_json::Value::from),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use bottle::{BundleView, NetworkView};

    pub(in crate::cli) fn bottle(slug: &str, state: &str, ports: &[(u16, u16)]) -> Bottle {
        Bottle {
            slug: slug.parse().unwrap(),
            network: NetworkView {
                name: format!("bot-bottle-bundle-{slug}"),
                subnet: Some("10.213.150.0/24".parse().unwrap()),
                gateway: Some("10.213.150.1".parse().unwrap()),
            },
            bundle: BundleView {
                name: format!("bot-bottle-sidecars-{slug}"),
                ip: Some("10.213.150.2".parse().unwrap()),
                image: (state != "missing").then(|| "img:latest".into()),
                limits: Default::default(),
                state: match state {
                    "missing" => bottle::State::Missing,
                    "running" => bottle::State::Running,
                    "exited" => bottle::State::Exited,
                    other => bottle::State::Other(other.to_string()),
                },
            },
            ports: ports
                .iter()
                .map(|&(c, h)| PortView {
                    container_port: c,
                    host_ip: "127.0.0.1".parse().unwrap(),
                    host_port: h,
                    protocol: bottle::Protocol::Tcp,
                })
                .collect(),
            host_ip: (!ports.is_empty()).then(|| "127.0.0.1".parse().unwrap()),
            created: None,
            run: None,
            expires: None,
            context: None,
        }
    }

    #[test]
    fn ls_table_is_aligned_with_a_header() {
        let mut leased = bottle("demo", "running", &[(8080, 33356), (9000, 33357)]);
        leased.expires = Some("1970-01-01T01:00:00Z".into());
        let bs = [leased, bottle("a-much-longer-slug", "missing", &[])];
        insta::assert_snapshot!(ls_table(&bs, 0), @r"
        SLUG                 STATE     SUBNET            AGE   EXPIRES   PORTS
        demo                 running   10.213.150.0/24   -     in 1h     127.0.0.1:33356->8080/tcp,127.0.0.1:33357->9000/tcp
        a-much-longer-slug   missing   10.213.150.0/24   -     -         -
        ");
    }

    /// The `ls` table was 88 columns for a bottle with one port, its PORTS the reverse of
    /// `docker ps`'s, and it had no AGE.
    #[test]
    fn ls_table_was_88_columns_for_one_port() {
        let mut b = bottle("demo-bottle", "running", &[(8080, 33075)]);
        b.created = Some("2026-12-07T02:13:45.123456789Z".to_string());
        let now = rfc3339_seconds("2026-12-07T02:18:50Z").unwrap();
        let table = ls_table(&[b], now);
        insta::assert_snapshot!(table, @r"
        SLUG          STATE     SUBNET            AGE   PORTS
        demo-bottle   running   10.213.150.0/24   5m    127.0.0.1:33075->8080/tcp
        ");
        assert!(table.lines().all(|l| l.chars().count() <= 80), "{table}");
    }

    #[test]
    fn ages_and_times() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_seconds("2000-03-01T00:00:00Z"), Some(951868800));
        assert_eq!(
            rfc3339_seconds("2026-12-07T02:13:45.5+01:00"),
            Some(1796609625 - 3600)
        );
        assert_eq!(rfc3339_seconds("2026-12-07T02:13:45Z"), Some(1796609625));
        assert_eq!(
            rfc3339_seconds("0001-01-01T00:00:00Z").map(|s| s < 0),
            Some(true)
        );
        for bad in [
            "",
            "soon",
            "2026-13-07T02:13:45Z",
            "2026-12-07T02:13:45",
            "2026-12-07T02:13Z",
        ] {
            assert_eq!(rfc3339_seconds(bad), None, "{bad}");
        }
        let ages = [
            (-5, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h"),
            (86400 * 3, "3d"),
        ];
        for (s, want) in ages {
            assert_eq!(age(s), want, "{s}");
        }
    }

    #[test]
    fn ls_tsv_has_seven_fields_and_no_trailing_tab() {
        let text = ls_tsv(&[bottle("demo", "exited", &[])]);
        assert_eq!(
            text,
            "demo\texited\t10.213.150.0/24\t10.213.150.2\timg:latest\t-\t-\n"
        );
    }

    #[track_caller]
    fn check_port(b: &Bottle, port: Option<u16>, want: std::result::Result<&[&str], &str>) {
        let got = b
            .published(port.map(|p| (p, Protocol::Tcp)))
            .map(|ps| ps.iter().map(port_line).collect::<Vec<_>>());
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(needle)) => assert!(e.message().contains(needle), "{e}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn port_says_why() {
        let up = bottle("demo", "running", &[(8080, 49153), (9000, 49154)]);
        check_port(
            &up,
            None,
            Ok(&["8080/tcp -> 127.0.0.1:49153", "9000/tcp -> 127.0.0.1:49154"]),
        );
        check_port(&up, Some(9000), Ok(&["9000/tcp -> 127.0.0.1:49154"]));
        check_port(
            &up,
            Some(1234),
            Err(
                "run `up` again with its full spec (the same image, env, volumes and config) plus port 1234",
            ),
        );
        check_port(&up, Some(1234), Err("(published: 8080, 9000)"));
        check_port(
            &bottle("demo", "exited", &[]),
            Some(8080),
            Err("is stopped (state: exited)"),
        );
        check_port(&bottle("demo", "missing", &[]), None, Err("has no bundle"));
    }

    /// `-p 53 -p 53/udp`: two variables, the UDP one named `_UDP`, and `port 53/udp` finds it.
    #[test]
    fn udp_ports_have_their_own_env_name_and_port_line() {
        let mut b = bottle("demo", "running", &[(53, 20001)]);
        b.ports.push(PortView {
            container_port: 53,
            host_ip: "127.0.0.1".parse().unwrap(),
            host_port: 20002,
            protocol: Protocol::Udp,
        });
        let vars = env_vars(&b);
        let get = |k: &str| {
            vars.iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.clone())
        };
        assert_eq!(get("BOTTLE_PORT_53").as_deref(), Some("127.0.0.1:20001"));
        assert_eq!(
            get("BOTTLE_PORT_53_UDP").as_deref(),
            Some("127.0.0.1:20002")
        );
        let udp = b.published(Some((53, Protocol::Udp))).unwrap();
        assert_eq!(
            udp.iter().map(port_line).collect::<Vec<_>>(),
            ["53/udp -> 127.0.0.1:20002"]
        );
    }

    #[test]
    fn port_args() {
        let tcp = (8080, Protocol::Tcp);
        assert_eq!(parse_port_arg("8080").unwrap(), tcp);
        assert_eq!(parse_port_arg("8080/tcp").unwrap(), tcp);
        // a_port_given_as_tcp_in_capitals_is_tcp (issue 14): "TCP ports only, not TCP".
        assert_eq!(parse_port_arg("8080/TCP").unwrap(), tcp);
        assert_eq!(parse_port_arg("8080/Tcp").unwrap(), tcp);
        assert_eq!(parse_port_arg("53/udp").unwrap(), (53, Protocol::Udp));
        assert_eq!(parse_port_arg("53/UDP").unwrap(), (53, Protocol::Udp));
        assert!(
            parse_port_arg("53/sctp")
                .unwrap_err()
                .message()
                .contains("TCP and UDP ports, not sctp")
        );
        assert!(parse_port_arg("0/tcp").is_err());
    }

    #[test]
    fn a_kept_network_says_what_is_attached_and_how_to_detach_it() {
        let kept = KeptNetwork {
            network: "net".into(),
            containers: vec!["web".into(), "db".into()],
        };
        assert_eq!(
            kept_line(&kept, "podman"),
            "kept network `net`: it still has containers that bottle did not start: `web`, `db`; detach them (e.g. `podman network disconnect net web`) and run `bottle gc` again"
        );
    }

    /// The CLI shortened an engine command line wherever the message's words looked like one
    /// (issue 15: it re-parsed the library's English), so a command quoted in the engine's own
    /// stderr was cut too, and a message worded differently was not. It is rendered from the
    /// error's data: the command the error is about, and nothing that merely looks like one.
    #[test]
    fn an_engine_error_is_rendered_from_its_data_not_its_words() {
        let asked = Asked {
            command: "status",
            slug: None,
            fleet: false,
        };
        // No command in the data: a message that looks like a failed command stays whole.
        let look_alike = "`docker network create --driver bridge --subnet 10.0.0.0/24 x` failed (exit status: 1): boom";
        let err = Error::new(bottle::ErrorKind::EngineFailed, look_alike);
        assert_eq!(
            error_message(look_alike, Some(&err), asked, false),
            look_alike
        );
        assert_eq!(error_message(look_alike, None, asked, false), look_alike);
    }

    /// `--context nope` dumped the docker CLI's Go file path.
    #[test]
    fn a_go_file_path_at_the_end_of_an_engine_error_is_dropped() {
        let asked = Asked {
            command: "status",
            slug: None,
            fleet: false,
        };
        assert_eq!(
            error_message(
                "`docker inspect` failed (exit status: 1): Failed to initialize: unable to resolve docker endpoint: context \"nope\": context not found: open /root/.docker/contexts/meta/ca37/meta.json: no such file or directory",
                None,
                asked,
                false
            ),
            "`docker inspect` failed (exit status: 1): Failed to initialize: unable to resolve docker endpoint: context \"nope\": context not found"
        );
    }
}
