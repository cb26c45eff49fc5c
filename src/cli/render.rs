//! Output for people, pure: the `ls` table and lines, the `status` summary, `port` lines, and
//! one-line renderings of usage errors and engine failures.
//!
//! Nothing here reads the environment or a terminal; the caller says whether output is a terminal.

use bottle::{Bottle, Error, Invalid, PortView, Protocol, Result};

/// What an absent value shows as, in the summary, the table and the tab-separated lines alike (so
/// no line ends in a tab and every line has six fields).
const NONE: &str = "-";

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

/// `ls`'s columns. EXPIRES came last, after the six of before, so a script's `cut -f1-6` reads the
/// same fields.
const LS_HEADER: [&str; LS_COLUMNS] = [
    "SLUG",
    "STATE",
    "SUBNET",
    "BUNDLE IP",
    "IMAGE",
    "PORTS",
    "EXPIRES",
];
const LS_COLUMNS: usize = 7;

fn ls_fields(b: &Bottle) -> [String; LS_COLUMNS] {
    let ports: Vec<String> = b
        .ports
        .iter()
        .map(|p| format!("{}->{}", p.container_port, p.host_address()))
        .collect();
    let or_none = |s: Option<String>| s.filter(|s| !s.is_empty()).unwrap_or(NONE.to_string());
    [
        b.slug.to_string(),
        b.bundle.state.to_string(),
        or_none(b.network.subnet.map(|s| s.to_string())),
        or_none(b.bundle.ip.map(|ip| ip.to_string())),
        or_none(b.bundle.image.clone()),
        or_none(Some(ports.join(","))),
        or_none(b.expires.clone()),
    ]
}

/// `ls` on a terminal: a header and aligned columns, the last one unpadded.
pub fn ls_table(bottles: &[Bottle]) -> String {
    let rows: Vec<[String; LS_COLUMNS]> = std::iter::once(LS_HEADER.map(str::to_string))
        .chain(bottles.iter().map(ls_fields))
        .collect();
    let mut widths = [0; LS_COLUMNS];
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

/// `ls` piped: tab-separated fields, no header.
pub fn ls_tsv(bottles: &[Bottle]) -> String {
    bottles
        .iter()
        .map(|b| ls_fields(b).join("\t") + "\n")
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
                _ => "a value".to_string(),
            };
            match value.is_empty() {
                true => format!("{flag} needs a value: expected {expected}"),
                false => format!("invalid value '{value}' for {flag}: expected {expected}"),
            }
        }
        K::ValueValidation => {
            let value = get(C::InvalidValue).unwrap_or_default();
            let why = std::error::Error::source(err)
                .map(|e| e.to_string())
                .unwrap_or_default();
            let expected = match flag.as_str() {
                "--block" => "; expected a prefix length, from the pool's up to 29 (e.g. 24)",
                "--parallel" => "; expected how many bottles to work on at once, 1 to 64",
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
            format!("unknown option '{flag}' for `{command}`; {tip}{help}")
        }
        K::InvalidSubcommand => {
            let sub = get(C::InvalidSubcommand).unwrap_or_default();
            let tip = get(C::SuggestedSubcommand)
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

/// The engine verbs bottle runs that take two words.
const TWO_WORD_VERBS: &[&str] = &["network", "container", "image"];

/// An error message for people: the engine's "Run 'docker run --help' for more information" advice
/// removed (the user ran bottle, not docker), and, unless `verbose`, each quoted engine command
/// line shortened to its verb (`docker run`): the verb says which step failed, and `--verbose`
/// prints the lines in full.
pub fn engine_error(message: &str, verbose: bool) -> String {
    let text = bottle::strip_help_advice(message);
    if verbose {
        return text.trim_end().to_string();
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        let quoted = &rest[open + 1..open + 1 + len];
        let before = &rest[..open];
        let after = &rest[open + 1 + len + 1..];
        // Only a command that ran is shortened; a command the user is told to run is kept whole.
        let ran = [" failed", " was killed", " ended with"]
            .iter()
            .any(|w| after.starts_with(w))
            || before.ends_with("could not execute ")
            || before.ends_with("while ");
        out.push_str(before);
        out.push('`');
        out.push_str(&if ran {
            short_command(quoted)
        } else {
            quoted.to_string()
        });
        out.push('`');
        rest = after;
    }
    out.push_str(rest);
    out.trim_end().to_string()
}

/// `docker --context x network create --driver bridge … NAME` → `docker network create`. Text that
/// is not a long engine command line (a name, a short hint) is kept as it is.
fn short_command(quoted: &str) -> String {
    let Some(words) = shlex::split(quoted) else {
        return quoted.to_string();
    };
    if words.len() < 4 {
        return quoted.to_string();
    }
    let mut it = words.iter().map(String::as_str).peekable();
    let program = it.next().unwrap_or_default();
    let mut verb = Vec::new();
    while let Some(w) = it.next() {
        if w == "--context" {
            it.next();
            continue;
        }
        verb.push(w);
        if !TWO_WORD_VERBS.contains(&w) {
            break;
        }
    }
    let Some(last) = verb.last() else {
        return quoted.to_string();
    };
    if last.starts_with('-') {
        return quoted.to_string();
    }
    let program = std::path::Path::new(program)
        .file_name()
        .map_or(program.to_string(), |f| f.to_string_lossy().into_owned());
    format!("{program} {}", verb.join(" "))
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

/// `bottle env` as shell-evaluable `KEY=VALUE` lines, each value POSIX-quoted (a missing one is
/// empty).
pub fn env_lines(b: &Bottle) -> String {
    env_vars(b)
        .into_iter()
        .map(|(k, v)| {
            let v = v.unwrap_or_default();
            let quoted = shlex::try_quote(&v).map_or_else(|_| "''".to_string(), |q| q.into_owned());
            format!("{k}={quoted}\n")
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
mod tests {
    use super::*;
    use bottle::{BundleView, NetworkView};

    fn bottle(slug: &str, state: &str, ports: &[(u16, u16)]) -> Bottle {
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
        }
    }

    #[test]
    fn ls_table_is_aligned_with_a_header() {
        let mut leased = bottle("demo", "running", &[(8080, 33356), (9000, 33357)]);
        leased.expires = Some("2026-12-07T03:00:00Z".into());
        let bs = [leased, bottle("a-much-longer-slug", "missing", &[])];
        insta::assert_snapshot!(ls_table(&bs), @r"
        SLUG                 STATE     SUBNET            BUNDLE IP      IMAGE        PORTS                                         EXPIRES
        demo                 running   10.213.150.0/24   10.213.150.2   img:latest   8080->127.0.0.1:33356,9000->127.0.0.1:33357   2026-12-07T03:00:00Z
        a-much-longer-slug   missing   10.213.150.0/24   10.213.150.2   -            -                                             -
        ");
    }

    /// EXPIRES came after the six fields of before, so `cut -f1-6` reads what it did.
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

    #[track_caller]
    fn check_engine_error(message: &str, verbose: bool, want: &str) {
        assert_eq!(engine_error(message, verbose), want);
    }

    #[test]
    fn engine_errors_lose_the_help_advice_and_the_long_argv() {
        let msg = "`docker --context c run --detach --name bot-bottle-sidecars-demo --network n img` failed (exit status: 125): docker: Error response from daemon: pull access denied for img.\nSee 'docker run --help'.";
        check_engine_error(
            msg,
            false,
            "`docker run` failed (exit status: 125): docker: Error response from daemon: pull access denied for img.",
        );
        check_engine_error(
            msg,
            true,
            "`docker --context c run --detach --name bot-bottle-sidecars-demo --network n img` failed (exit status: 125): docker: Error response from daemon: pull access denied for img.",
        );
        check_engine_error(
            "`/usr/bin/docker network create --driver bridge --subnet 10.0.0.0/24 x` failed (exit status: 1): unknown flag: --ip-range\nRun 'docker network create --help' for more information",
            false,
            "`docker network create` failed (exit status: 1): unknown flag: --ip-range",
        );
        // Names and commands to run stay as they are.
        check_engine_error(
            "network `n` still has containers: `x`; detach them (e.g. `docker network disconnect n x`) and run `bottle down` again",
            false,
            "network `n` still has containers: `x`; detach them (e.g. `docker network disconnect n x`) and run `bottle down` again",
        );
        check_engine_error(
            "bottle `demo` does not exist: no network `bot-bottle-bundle-demo`; run `bottle up demo`",
            false,
            "bottle `demo` does not exist: no network `bot-bottle-bundle-demo`; run `bottle up demo`",
        );
    }
}
