//! `up` and `down` of several bottles: each worked on by [`lifecycle::many::bounded`], at most
//! `--parallel` at once, and reported in a stable order (the order given, or slug order for
//! `down --all`). One failure does not stop the others; each is printed once, and the exit code is
//! the first failure's in that order.

use std::io::Write;

use super::{Global, Reported, down_line, interrupted_after, json, render};
use crate::error::{Error, ErrorKind};
use crate::input::Slug;
use crate::lifecycle::{self, Ctx, UpOutcome};
use crate::spec::Spec;

/// `up` of several slugs with one spec. Text: one line per bottle; `--json`: an array of bottle
/// objects (with `action`), or `{"slug", "error"}` for a bottle that failed.
pub fn up_each(
    ctx: &Ctx,
    slugs: &[Slug],
    spec: &Spec,
    parallel: usize,
    g: &Global,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let token = ctx.engine.cancel_token();
    let results = lifecycle::many::bounded(slugs, parallel, token, |slug| {
        lifecycle::up(ctx, slug, spec)
    });
    let results = not_started(results, "nothing was created");
    let mut report = Vec::new();
    for (slug, result) in slugs.iter().zip(&results) {
        match result {
            Ok(up) if g.json => report.push(json::up(up)?),
            Ok(up) => writeln!(out, "{}", up_line(up))?,
            Err(e) => report.push(failed_json(slug, e, g.verbose)),
        }
    }
    if g.json {
        writeln!(out, "{}", json::line(&report)?)?;
    }
    out.flush()?;
    failures(slugs, results, false, g.verbose)
}

/// `down` of each slug, at most `--parallel` at once. Text: one line per bottle; `--json`: with
/// `one` (one slug given), one `{"slug", "removed"}` object, or nothing when it failed (its
/// failure is returned as the error itself, which `report` prints as for any other command);
/// otherwise an array of those objects, or `{"slug", "error"}` for a bottle that failed.
pub fn down_each(
    ctx: &Ctx,
    slugs: &[Slug],
    seen: &[Option<lifecycle::Observed>],
    one: bool,
    g: &Global,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let parallel = g.parallel.into();
    let token = ctx.engine.cancel_token();
    let work: Vec<(&Slug, Option<&lifecycle::Observed>)> = slugs
        .iter()
        .enumerate()
        .map(|(i, s)| (s, seen.get(i).and_then(Option::as_ref)))
        .collect();
    let results = lifecycle::many::bounded(&work, parallel, token, |(slug, seen)| {
        lifecycle::down_seen(ctx, slug, seen.cloned())
    });
    let results = not_started(results, "nothing was removed");
    if g.json && token.is_cancelled() && results.iter().all(Result::is_ok) {
        // Every removal finished, but a signal came: under `--json` the one document is the
        // error object (exit 130), which names what was removed. (A bottle that failed is
        // reported as any failure is, its error naming what it left.)
        let removed: Vec<String> = results
            .iter()
            .flatten()
            .flat_map(|r| r.containers.iter().chain(&r.networks).cloned())
            .collect();
        let what = "the removals it had begun were finished";
        let e = interrupted_after(token, what).expect_err("cancelled");
        return Err(e.with_removed(removed).into());
    }
    let mut report = Vec::new();
    for (slug, result) in slugs.iter().zip(&results) {
        match result {
            Ok(removed) if g.json => report.push(json::down(slug, removed)),
            Ok(removed) => writeln!(out, "{}", down_line(slug, removed))?,
            Err(_) if one => {}
            Err(e) => report.push(failed_json(slug, e, g.verbose)),
        }
    }
    match (g.json, one, report.as_slice()) {
        (false, ..) => {}
        (true, true, [v]) => writeln!(out, "{}", json::line(v)?)?,
        // The one bottle failed: `report` prints its error object.
        (true, true, _) => {}
        (true, false, _) => writeln!(out, "{}", json::line(&report)?)?,
    }
    out.flush()?;
    failures(slugs, results, one, g.verbose)?;
    interrupted_after(token, "the removals it had begun were finished")?;
    Ok(())
}

/// A bottle the queue never started, because a signal came first, is a failure of its own.
fn not_started<R>(results: Vec<Option<Result<R, Error>>>, what: &str) -> Vec<Result<R, Error>> {
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::Interrupted,
                    format!("interrupted before it started; {what}"),
                ))
            })
        })
        .collect()
}

/// With `one` bottle, its error is the error. Otherwise each failure is printed here, once, as
/// `bottle: SLUG: MESSAGE` (the message [`failed_json`] gives too), and the exit code is the first
/// one's.
fn failures<R>(
    slugs: &[Slug],
    results: Vec<Result<R, Error>>,
    one: bool,
    verbose: bool,
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
        let msg = super::advice::with_advice(e.message(), Some(e));
        let msg = render::engine_error(&msg, verbose);
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
    line
}

/// A failed bottle in a `--json` array: its slug and the contract's error object, whose message
/// is the one [`failures`] prints.
fn failed_json(slug: &Slug, e: &Error, verbose: bool) -> serde_json::Value {
    let message = super::advice::with_advice(e.message(), Some(e));
    let message = render::engine_error(&message, verbose);
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
