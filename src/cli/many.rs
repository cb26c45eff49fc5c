//! `up` and `down` of several bottles: each worked on by the library ([`bottle::Bottles::up_many`],
//! [`bottle::Bottles::down_many`]), at most `--parallel` at once, and reported in a stable order (the order given, or slug order for
//! `down --all`). One failure does not stop the others; each is printed once, and the exit code is
//! the first failure's in that order.

use std::io::Write;

use super::{Global, Reported, json, render};
use bottle::{Bottle, Bottles, Error, Removed, Slug, UpOutcome};

/// `up` of several slugs with one spec, reported. Text: one line per bottle; `--json`: an array
/// of bottle objects (with `action`), or `{"slug", "error"}` for a bottle that failed.
pub fn up_each(
    slugs: &[Slug],
    results: Vec<Result<UpOutcome, Error>>,
    g: &Global,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut report = Vec::new();
    for (slug, result) in slugs.iter().zip(&results) {
        match result {
            Ok(up) if g.json => report.push(json::up(up)?),
            Ok(up) => writeln!(out, "{}", up_line(up))?,
            Err(e) => report.push(failed_json(slug, e, "up", g.verbose)),
        }
    }
    if g.json {
        writeln!(out, "{}", json::document(&report)?)?;
    }
    out.flush()?;
    failures(slugs, results, false, ("up", g.verbose))
}

/// `down` of each slug, reported. Text: one line per bottle; `--json`: with `one` (one slug
/// given), one `{"slug", "removed"}` object, or nothing when it failed (its failure is returned as
/// the error itself, which `report` prints as for any other command); otherwise an array of those
/// objects, or `{"slug", "error"}` for a bottle that failed.
pub fn down_each(
    slugs: &[Slug],
    results: Vec<Result<Removed, Error>>,
    one: bool,
    bottles: &Bottles,
    g: &Global,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if g.json
        && results.iter().all(Result::is_ok)
        && let Err(e) = bottles.interrupted()
    {
        // Every removal finished, but a signal came: under `--json` the one document is the
        // error object (exit 130), which names what was removed. (A bottle that failed is
        // reported as any failure is, its error naming what it left.)
        let removed: Vec<Removed> = results.into_iter().flatten().collect();
        return Err(e.with_removed_of(&removed).into());
    }
    let mut report = Vec::new();
    for (slug, result) in slugs.iter().zip(&results) {
        match result {
            Ok(removed) if g.json => report.push(json::down(slug, removed)),
            Ok(removed) => writeln!(out, "{}", down_line(slug, removed))?,
            Err(_) if one => {}
            Err(e) => report.push(failed_json(slug, e, "down", g.verbose)),
        }
    }
    match (g.json, one, report.as_slice()) {
        (false, ..) => {}
        (true, true, [v]) => writeln!(out, "{}", json::document(v)?)?,
        // The one bottle failed: `report` prints its error object.
        (true, true, _) => {}
        (true, false, _) => writeln!(out, "{}", json::document(&report)?)?,
    }
    out.flush()?;
    failures(slugs, results, one, ("down", g.verbose))
}

/// The state changes, as the advice knows them: none of them has advice of its own.
const CHANGE: &str = "change";

/// `stop`, `start`, `restart`, `pause` or `unpause` of each slug, reported. Text: one line per
/// bottle, `bottle SLUG: STATE`; `--json`: with `one` (one slug given), its bottle object (or, when
/// it failed, the error object `report` prints), otherwise an array of bottle objects, or
/// `{"slug", "error"}` for a bottle that failed.
pub fn change_each(
    slugs: &[Slug],
    results: Vec<Result<Bottle, Error>>,
    one: bool,
    g: &Global,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut report = Vec::new();
    for (slug, result) in slugs.iter().zip(&results) {
        match result {
            Ok(b) if g.json => report.push(serde_json::to_value(b)?),
            Ok(b) => writeln!(out, "bottle {slug}: {}", b.bundle.state)?,
            Err(_) if one => {}
            Err(e) => report.push(failed_json(slug, e, CHANGE, g.verbose)),
        }
    }
    match (g.json, one, report.as_slice()) {
        (false, ..) => {}
        (true, true, [v]) => writeln!(out, "{}", json::document(v)?)?,
        (true, true, _) => {}
        (true, false, _) => writeln!(out, "{}", json::document(&report)?)?,
    }
    out.flush()?;
    failures(slugs, results, one, (CHANGE, g.verbose))
}

pub(super) fn down_line(slug: &Slug, removed: &Removed) -> String {
    let volumes = removed.volumes.iter().map(|v| format!("volume {v}"));
    let what: Vec<String> = removed
        .containers
        .iter()
        .chain(&removed.networks)
        .cloned()
        .chain(volumes)
        .collect();
    match what.is_empty() {
        true => format!("bottle {slug}: already gone"),
        false => format!("bottle {slug}: removed {}", what.join(", ")),
    }
}

/// With `one` bottle, its error is the error. Otherwise each failure is printed here, once, as
/// `bottle: SLUG: MESSAGE` (the message [`failed_json`] gives too), and the exit code is the first
/// one's. `command` is the subcommand (`up`, `down`), for the advice.
fn failures<R>(
    slugs: &[Slug],
    results: Vec<Result<R, Error>>,
    one: bool,
    (command, verbose): (&str, bool),
) -> anyhow::Result<()> {
    let mut failed: Vec<(&Slug, Error)> = slugs
        .iter()
        .zip(results)
        .filter_map(|(slug, r)| r.err().map(|e| (slug, e)))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    if one {
        return Err(failed.remove(0).1.into());
    }
    for (slug, e) in &failed {
        let msg = message(slug, e, command, verbose);
        eprintln!("bottle: {slug}: {msg}");
    }
    Err(Reported(failed[0].1.exit_code()).into())
}

/// How `up` came out: `created`, or `replaced (image changed)`.
pub fn up_how(up: &UpOutcome) -> String {
    match &up.reason {
        Some(reason) => format!("{} ({reason} changed)", up.action.as_str()),
        None => up.action.as_str().to_string(),
    }
}

/// One bottle of several, on one line: `bottle web: running, created, 10.213.5.0/24, 8080/tcp ->
/// 127.0.0.1:49153`.
fn up_line(up: &UpOutcome) -> String {
    let b = &up.bottle;
    let mut line = format!("bottle {}: {}, {}", b.slug, b.bundle.state, up_how(up));
    if let Some(subnet) = b.network.subnet {
        line.push_str(&format!(", {subnet}"));
    }
    for p in &b.ports {
        line.push_str(&format!(", {}", render::port_line(p)));
    }
    if let Some(context) = &b.context {
        line.push_str(&format!(" (context `{context}`)"));
    }
    line
}

/// One bottle's error, as [`failures`] prints it and [`failed_json`] gives it.
pub(super) fn message(slug: &Slug, e: &Error, command: &str, verbose: bool) -> String {
    let asked = super::advice::Asked {
        command,
        slug: Some(slug.as_str()),
        fleet: false,
    };
    render::error_message(e.message(), Some(e), asked, verbose)
}

/// A failed bottle in a `--json` array: its slug and the contract's error object, whose message
/// is the one [`failures`] prints.
pub(super) fn failed_json(
    slug: &Slug,
    e: &Error,
    command: &str,
    verbose: bool,
) -> serde_json::Value {
    let message = message(slug, e, command, verbose);
    json::failed(
        slug,
        &json::Failure {
            error: Some(e),
            message: &message,
            exit_code: e.exit_code(),
            // Each slug was checked before any bottle was worked on.
            input: json::invalid_input(e.kind(), ""),
        },
    )
}
