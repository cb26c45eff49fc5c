//! `ls --filter` and `ls --format`, pure: which bottles a set of filters keeps, and a docker-like
//! template's rendering of them.
//!
//! Both are parsed when clap reads the command line, so a bad filter or template is a usage error
//! (exit 2) before the engine is asked anything.

use bottle::Bottle;

use super::render::{NONE, age, ports_cell, rfc3339_seconds};

/// One `--filter KEY=VALUE`. The bottle object carries no labels, so `label=` is not a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `state=WORD`: the bundle's state (`missing` when there is none).
    State(String),
    /// `slug=SLUG`: exactly this slug (no globs).
    Slug(String),
    /// `expired=true|false`: whether the bottle's lease has passed (no lease: not expired).
    Expired(bool),
    /// `context=NAME`: the context that holds the bottle (with `--contexts`).
    Context(String),
}

/// The states `state=` takes: the engine's words and bottle's `missing`.
const STATES: &[&str] = &[
    "running",
    "created",
    "restarting",
    "paused",
    "exited",
    "dead",
    "removing",
    "missing",
];

/// `KEY=VALUE` as a [`Filter`], or what is wrong with it (clap prints it, exit 2).
pub fn parse_filter(text: &str) -> Result<Filter, String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err("expected KEY=VALUE, e.g. `state=running`".to_string());
    };
    match key {
        "state" if STATES.contains(&value) => Ok(Filter::State(value.to_string())),
        // Podman's own words: the bottle object never shows them (see `State`), so a filter on
        // one would match nothing; say what bottle shows instead.
        "state" if matches!(value, "stopping" | "stopped") => Err(format!(
            "unknown state `{value}`: bottle shows podman's `stopping` as `running` and its `stopped` as `exited`, as docker does; use one of {}",
            STATES.join(", ")
        )),
        "state" => Err(format!(
            "unknown state `{value}`: use one of {}",
            STATES.join(", ")
        )),
        "slug" if !value.is_empty() => Ok(Filter::Slug(value.to_string())),
        "slug" => Err("`slug=` needs a slug".to_string()),
        "context" if !value.is_empty() => Ok(Filter::Context(value.to_string())),
        "context" => Err("`context=` needs a context name".to_string()),
        "expired" => match value {
            "true" => Ok(Filter::Expired(true)),
            "false" => Ok(Filter::Expired(false)),
            _ => Err(format!("`expired` is `true` or `false`, not `{value}`")),
        },
        _ => Err(format!(
            "unknown filter key `{key}`: use state, slug, expired or context"
        )),
    }
}

impl Filter {
    /// Filters of one key are ORed, of different keys ANDed (as `docker ps` does).
    fn key(&self) -> &'static str {
        match self {
            Filter::State(_) => "state",
            Filter::Slug(_) => "slug",
            Filter::Expired(_) => "expired",
            Filter::Context(_) => "context",
        }
    }

    fn matches(&self, b: &Bottle, now: i64) -> bool {
        match self {
            Filter::State(word) => b.bundle.state.as_str() == word,
            Filter::Slug(slug) => b.slug.as_str() == slug,
            Filter::Expired(want) => expired(b, now) == *want,
            Filter::Context(name) => b.context.as_deref() == Some(name),
        }
    }
}

/// Whether the bottle's lease has passed at `now` (seconds since the epoch).
fn expired(b: &Bottle, now: i64) -> bool {
    b.expires
        .as_deref()
        .and_then(rfc3339_seconds)
        .is_some_and(|at| at <= now)
}

/// Whether `b` passes every key's filters at `now`: one of a key's values, for every key given.
pub fn keeps(filters: &[Filter], b: &Bottle, now: i64) -> bool {
    filters.iter().all(|f| {
        filters
            .iter()
            .filter(|g| g.key() == f.key())
            .any(|g| g.matches(b, now))
    })
}

/// `ls -q`'s slugs: each once, in the listing's order. A fleet lists a slug once per context that
/// holds it; the quiet form feeds `down`, which acts on every context anyway.
pub fn quiet_slugs(bottles: &[Bottle]) -> Vec<&str> {
    let mut seen = std::collections::BTreeSet::new();
    bottles
        .iter()
        .map(|b| b.slug.as_str())
        .filter(|s| seen.insert(*s))
        .collect()
}

/// A `{{.Field}}` of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Slug,
    State,
    Subnet,
    BundleIp,
    Image,
    Ports,
    Expires,
    Age,
    HostIp,
    Context,
}

/// Each field's template name and `table` header.
const FIELDS: &[(Field, &str, &str)] = &[
    (Field::Slug, "Slug", "SLUG"),
    (Field::State, "State", "STATE"),
    (Field::Subnet, "Subnet", "SUBNET"),
    (Field::BundleIp, "BundleIP", "BUNDLE IP"),
    (Field::Image, "Image", "IMAGE"),
    (Field::Ports, "Ports", "PORTS"),
    (Field::Expires, "Expires", "EXPIRES"),
    (Field::Age, "Age", "AGE"),
    (Field::HostIp, "HostIP", "HOST IP"),
    (Field::Context, "Context", "CONTEXT"),
];

/// A piece of a template: text as written (escapes read) or a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Field(Field),
}

/// What `--format` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `json`: the bottle object of `--json`, one compact line per bottle.
    Json,
    /// `table`: the `ls` table, as on a terminal.
    DefaultTable,
    /// `table TEMPLATE`: a header row, then a row per bottle, tab-separated cells aligned.
    Table(Vec<Piece>),
    /// `TEMPLATE`: a line per bottle.
    Lines(Vec<Piece>),
}

/// `--format`'s text as a [`Format`], or what is wrong with it (clap prints it, exit 2).
pub fn parse_format(text: &str) -> Result<Format, String> {
    match text {
        "json" => Ok(Format::Json),
        "table" => Ok(Format::DefaultTable),
        _ => match text.strip_prefix("table ") {
            Some(rest) => Ok(Format::Table(parse_template(rest)?)),
            None => Ok(Format::Lines(parse_template(text)?)),
        },
    }
}

/// `\t` and `\n` as written on a command line, read as a tab and a newline (as docker does).
fn unescape(text: &str) -> String {
    text.replace("\\t", "\t").replace("\\n", "\n")
}

fn parse_template(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(unescape(&rest[..open])));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "a `{{` without its `}}`".to_string())?;
        let inside = after[..close].trim();
        let field = inside
            .strip_prefix('.')
            .and_then(|name| FIELDS.iter().find(|(_, n, _)| *n == name))
            .map(|(f, _, _)| *f)
            .ok_or_else(|| {
                let names: Vec<String> = FIELDS.iter().map(|(_, n, _)| format!(".{n}")).collect();
                format!(
                    "unknown field `{inside}` in the template: use {}",
                    names.join(", ")
                )
            })?;
        pieces.push(Piece::Field(field));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(unescape(rest)));
    }
    Ok(pieces)
}

/// A field's value for a bottle at `now`, `-` when it has none (as in the table and piped lines).
fn value(field: Field, b: &Bottle, now: i64) -> String {
    let or_none = |s: Option<String>| s.filter(|s| !s.is_empty()).unwrap_or(NONE.to_string());
    match field {
        Field::Slug => b.slug.to_string(),
        Field::State => b.bundle.state.to_string(),
        Field::Subnet => or_none(b.network.subnet.map(|s| s.to_string())),
        Field::BundleIp => or_none(b.bundle.ip.map(|ip| ip.to_string())),
        Field::Image => or_none(b.bundle.image.clone()),
        Field::Ports => ports_cell(b),
        Field::Context => or_none(b.context.clone()),
        Field::Expires => or_none(b.expires.clone()),
        Field::Age => or_none(
            b.created
                .as_deref()
                .and_then(rfc3339_seconds)
                .map(|c| age(now - c)),
        ),
        Field::HostIp => or_none(b.host_ip.map(|ip| ip.to_string())),
    }
}

fn header(field: Field) -> &'static str {
    FIELDS
        .iter()
        .find(|(f, _, _)| *f == field)
        .map_or("", |(_, _, h)| h)
}

fn fill(pieces: &[Piece], field: impl Fn(Field) -> String) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Field(f) => field(*f),
        })
        .collect()
}

/// The lines of a template (`Lines`) or of `table TEMPLATE` (`Table`) for `bottles` at `now`;
/// `None` for `json` and plain `table`, which the caller renders as `--json` and `ls` do.
pub fn render(format: &Format, bottles: &[Bottle], now: i64) -> Option<String> {
    match format {
        Format::Lines(pieces) => Some(
            bottles
                .iter()
                .map(|b| fill(pieces, |f| value(f, b, now)) + "\n")
                .collect(),
        ),
        Format::Table(pieces) => {
            let rows: Vec<String> = std::iter::once(fill(pieces, |f| header(f).to_string()))
                .chain(bottles.iter().map(|b| fill(pieces, |f| value(f, b, now))))
                .collect();
            Some(align(&rows))
        }
        Format::Json | Format::DefaultTable => None,
    }
}

/// Tab-separated cells in aligned columns three spaces apart (docker's `table` uses a tabwriter),
/// each line trimmed at its end.
fn align(rows: &[String]) -> String {
    let cells: Vec<Vec<&str>> = rows
        .iter()
        .flat_map(|r| r.split('\n'))
        .map(|line| line.split('\t').collect())
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(c.chars().count()),
                None => widths.push(c.chars().count()),
            }
        }
    }
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            match i + 1 == row.len() {
                true => line.push_str(c),
                false => line.push_str(&format!("{c:<w$}   ", w = widths[i])),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::render::tests::bottle;

    /// 2026-12-07T03:00:00Z.
    const NOW: i64 = 1_796_612_400;

    fn leased(slug: &str, state: &str, expires: &str) -> Bottle {
        Bottle {
            expires: Some(expires.to_string()),
            created: Some("2026-12-07T02:00:00Z".to_string()),
            ..bottle(slug, state, &[(8080, 49153)])
        }
    }

    fn fleet() -> Vec<Bottle> {
        vec![
            leased("old", "running", "2026-12-07T02:59:59Z"),
            leased("new", "exited", "2026-12-07T04:00:00Z"),
            bottle("bare", "missing", &[]),
        ]
    }

    fn kept(filters: &[&str]) -> Vec<String> {
        let filters: Vec<Filter> = filters.iter().map(|f| parse_filter(f).unwrap()).collect();
        fleet()
            .iter()
            .filter(|b| keeps(&filters, b, NOW))
            .map(|b| b.slug.to_string())
            .collect()
    }

    #[test]
    fn quiet_slugs_are_each_once_in_the_listings_order() {
        let on = |slug: &str, context: &str| Bottle {
            context: Some(context.to_string()),
            ..bottle(slug, "running", &[])
        };
        let cases: [(Vec<Bottle>, &[&str]); 4] = [
            (vec![], &[]),
            (vec![on("a", "default")], &["a"]),
            (vec![on("a", "default"), on("a", "pod")], &["a"]),
            (
                vec![on("a", "default"), on("a", "pod"), on("b", "pod")],
                &["a", "b"],
            ),
        ];
        for (bottles, want) in cases {
            assert_eq!(quiet_slugs(&bottles), want, "{bottles:?}");
        }
    }

    #[test]
    fn now_is_the_time_it_says() {
        assert_eq!(rfc3339_seconds("2026-12-07T03:00:00Z"), Some(NOW));
    }

    #[test]
    fn filters_of_one_key_or_and_of_different_keys_and() {
        for (filters, want) in [
            (&[][..], &["old", "new", "bare"][..]),
            (&["state=running"], &["old"]),
            (&["state=running", "state=missing"], &["old", "bare"]),
            (&["state=paused"], &[]),
            (&["slug=new"], &["new"]),
            (&["slug=ne"], &[]),
            (&["expired=true"], &["old"]),
            (&["expired=false"], &["new", "bare"]),
            (&["expired=false", "state=exited"], &["new"]),
            (&["expired=false", "state=running"], &[]),
            (&["slug=old", "slug=bare", "state=missing"], &["bare"]),
        ] {
            assert_eq!(kept(filters), want, "{filters:?}");
        }
    }

    #[test]
    fn a_filter_that_is_not_one_names_what_is_wrong() {
        for (text, says) in [
            ("label=team", "unknown filter key `label`"),
            ("status=running", "unknown filter key `status`"),
            ("running", "expected KEY=VALUE"),
            ("state=up", "unknown state `up`"),
            // ls_filter_state_stopping_is_a_usage_error_that_names_what_bottle_shows
            ("state=stopping", "podman's `stopping` as `running`"),
            ("state=stopped", "its `stopped` as `exited`"),
            ("expired=yes", "`expired` is `true` or `false`"),
            ("slug=", "needs a slug"),
        ] {
            let err = parse_filter(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_template_renders_every_field_with_escapes() {
        let format = parse_format(
            "{{.Slug}}\\t{{ .State }} {{.Subnet}} {{.BundleIP}} {{.Image}} {{.Ports}} {{.Expires}} {{.Age}} {{.HostIP}}",
        )
        .unwrap();
        assert_eq!(
            render(&format, &fleet(), NOW).unwrap(),
            "old\trunning 10.213.150.0/24 10.213.150.2 img:latest 127.0.0.1:49153->8080/tcp 2026-12-07T02:59:59Z 1h 127.0.0.1\n\
             new\texited 10.213.150.0/24 10.213.150.2 img:latest 127.0.0.1:49153->8080/tcp 2026-12-07T04:00:00Z 1h 127.0.0.1\n\
             bare\tmissing 10.213.150.0/24 10.213.150.2 - - - - -\n"
        );
        let two_lines = parse_format("{{.Slug}}\\n  {{.State}}").unwrap();
        assert_eq!(
            render(&two_lines, &fleet()[..1], NOW).unwrap(),
            "old\n  running\n"
        );
    }

    #[test]
    fn a_table_template_has_a_header_and_aligned_columns() {
        let format = parse_format("table {{.Slug}}\\t{{.State}}\\t{{.HostIP}}").unwrap();
        assert_eq!(
            render(&format, &fleet(), NOW).unwrap(),
            "SLUG   STATE     HOST IP\n\
             old    running   127.0.0.1\n\
             new    exited    127.0.0.1\n\
             bare   missing   -\n"
        );
    }

    #[test]
    fn json_and_plain_table_are_left_to_the_caller() {
        assert_eq!(parse_format("json"), Ok(Format::Json));
        assert_eq!(parse_format("table"), Ok(Format::DefaultTable));
        assert_eq!(render(&Format::Json, &fleet(), NOW), None);
    }

    #[test]
    fn a_template_that_is_not_one_names_what_is_wrong() {
        for (text, says) in [
            ("{{.Name}}", "unknown field `.Name`"),
            ("{{Slug}}", "unknown field `Slug`"),
            ("{{.Slug", "a `{{` without its `}}`"),
            ("table {{.Names}}", "unknown field `.Names`"),
        ] {
            let err = parse_format(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
