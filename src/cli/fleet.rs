//! `--contexts`: each command over a [`Fleet`], reported as the one-engine command reports, each
//! bottle with its context, and the contexts that did not answer said on stderr, one line each.
//!
//! One rule for the exit code (`exit_of`, pure): a context that did not answer makes it 1 (the
//! user must see that part of the fleet was not asked), 69 when no context answered; `up` alone
//! exits 0 when every bottle came up (a placement that went around a dead context is a warning).
//! A signal that cut a context's part short is 130, whatever the others did, as without a fleet.
//! Under `--json`, such a partial run prints one error object holding `contexts` (each context
//! that did not do its part) and `partial` (what the command prints on success, from the others).

use std::io::Write;

use bottle::{Bottle, Bottles, DownOptions, Error, ErrorKind, Fleet, PerContext, Placed, Removed};
use bottle::{Slug, Spec, UpOutcome};
use serde_json::{Value, json};

use super::{ChangeArgs, DownArgs, LsArgs, Reported, Run, json, lsview, many, render};

/// The contexts that did not do their part of a command, in the fleet's order, each once.
#[derive(Debug, Default)]
pub(super) struct Trouble {
    /// Did not answer (`EngineUnavailable`).
    dead: Vec<(String, Error)>,
    /// Answered with another failure (a listing that failed).
    failed: Vec<(String, Error)>,
    /// Whether any context answered.
    answered: bool,
    /// Whether each context's line was already said on stderr (`events` says them as the
    /// streams end).
    said: bool,
}

impl Trouble {
    fn of<T>(per: &PerContext<T>) -> Trouble {
        let mut t = Trouble {
            answered: per.answered().next().is_some() || per.failed().next().is_some(),
            ..Trouble::default()
        };
        for (c, e) in per.dead() {
            t.add_dead(c, e);
        }
        for (c, e) in per.failed() {
            t.failed.push((c.to_string(), e.clone()));
        }
        t
    }

    /// The dead contexts, and those whose look failed otherwise, that a located bottle's looks
    /// saw; a look that located it was answered.
    fn of_placed<T>(placed: &[&Placed<T>]) -> Trouble {
        let mut t = Trouble {
            answered: true,
            ..Trouble::default()
        };
        for p in placed {
            t.add_placed(p);
        }
        t
    }

    fn add_placed<T>(&mut self, p: &Placed<T>) {
        for (c, e) in &p.dead {
            self.add_dead(c, e);
        }
        for (c, e) in &p.failed {
            if !self.failed.iter().any(|(each, _)| each == c) {
                self.failed.push((c.to_string(), e.clone()));
            }
        }
    }

    /// One line on stderr per context that did not do its part: for a command that still exits
    /// as its own work went (`up`, `logs`), where `conclude` does not speak for them.
    fn say(&self, verbose: bool) {
        for (c, e) in &self.dead {
            eprintln!("{}", dead_line(c, e));
        }
        for (c, e) in &self.failed {
            eprintln!("bottle: context `{c}`: {}", failed_message(e, verbose));
        }
    }

    fn add_dead(&mut self, context: &str, e: &Error) {
        if !self.dead.iter().any(|(c, _)| c == context) {
            self.dead.push((context.to_string(), e.clone()));
        }
    }

    fn is_empty(&self) -> bool {
        self.dead.is_empty() && self.failed.is_empty()
    }

    /// A signal cut a context's part short: the run is interrupted, not a context that failed.
    fn interrupted(&self) -> bool {
        self.failed
            .iter()
            .any(|(_, e)| *e.kind() == ErrorKind::Interrupted)
    }

    fn exit(&self) -> Option<u8> {
        exit_of(
            self.dead.len(),
            self.failed.len(),
            self.interrupted(),
            self.answered,
        )
    }

    /// The error object's kind and message: what kept the command from being done everywhere.
    fn summary(&self, code: u8) -> (ErrorKind, String) {
        let names = |list: &[(String, Error)]| {
            let each: Vec<String> = list.iter().map(|(c, _)| format!("`{c}`")).collect();
            each.join(", ")
        };
        let (dead, failed) = (names(&self.dead), names(&self.failed));
        match (code, &self.failed[..]) {
            (130, _) => (
                ErrorKind::Interrupted,
                format!("interrupted: context {failed} did not finish its part"),
            ),
            (69, _) => (
                ErrorKind::EngineUnavailable,
                format!("no context answered: {dead}"),
            ),
            _ if !self.dead.is_empty() => (
                ErrorKind::EngineUnavailable,
                format!("context {dead} did not answer; the others did their part"),
            ),
            (_, [(_, first), ..]) => (
                first.kind().clone(),
                format!("context {failed} failed; the others did their part"),
            ),
            (_, []) => (ErrorKind::EngineUnavailable, "a context failed".to_string()),
        }
    }
}

/// The exit code a fleet command's contexts make: none when all did their part, 130 when a
/// signal cut one's part short (as the one-engine command exits), 69 when no context answered,
/// otherwise 1.
fn exit_of(dead: usize, failed: usize, interrupted: bool, answered: bool) -> Option<u8> {
    match (dead, failed, interrupted, answered) {
        (_, _, true, _) => Some(130),
        (0, 0, ..) => None,
        (_, 0, _, false) => Some(69),
        _ => Some(1),
    }
}

/// `bottle: context `pod` did not answer: <the engine's reason, its first line>`: the engine's
/// own words when a command ran, the library's message otherwise.
fn dead_line(context: &str, e: &Error) -> String {
    let words = e.command().map_or(e.message(), |c| c.stderr());
    let reason = words
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    format!("bottle: context `{context}` did not answer: {reason}")
}

/// What a context that answered with a failure said, as the one-engine command says it.
fn failed_message(e: &Error, verbose: bool) -> String {
    let asked = super::advice::Asked {
        command: "",
        slug: None,
        fleet: true,
    };
    render::error_message(e.message(), Some(e), asked, verbose)
}

/// A context's entry in the error object's `contexts`.
fn context_json(context: &str, e: &Error, message: &str) -> Value {
    json!({
        "context": context,
        "kind": e.kind_name(),
        "message": message,
        "exit_code": e.exit_code(),
    })
}

impl<W: Write> Run<'_, W> {
    /// The fleet `--contexts` names over `bottles`' configuration, or `None` without it.
    pub(super) fn fleet_of(&self, bottles: &Bottles) -> bottle::Result<Option<Fleet>> {
        self.fleet_or_file(bottles, None)
    }

    /// [`Run::fleet_of`], or, when neither `--contexts` (`BOTTLE_CONTEXTS`) nor `--context`
    /// says where, the spec file's `contexts` (`up` reads the file; already checked there).
    pub(super) fn fleet_or_file(
        &self,
        bottles: &Bottles,
        file: Option<&[String]>,
    ) -> bottle::Result<Option<Fleet>> {
        match (&self.g.contexts, &self.g.context, file) {
            (Some(list), ..) => Fleet::new(bottles, &list.split(',').collect::<Vec<_>>()).map(Some),
            (None, None, Some(names)) => Fleet::new(bottles, names).map(Some),
            _ => Ok(None),
        }
    }

    /// The contexts' list, checked, before anything else (a bad list is exit 2, nothing run).
    pub(super) fn check_contexts(&self) -> bottle::Result<()> {
        // clap refuses the two together before the subcommand; after it, the subcommand's hidden
        // copies of the global options do not see each other.
        if self.g.contexts.is_some() && self.g.context.is_some() {
            return Err(Error::invalid(
                bottle::Invalid::Context,
                "`--contexts` and `--context` both say which engine to use: give one (`--contexts NAME` alone is a fleet of one)",
            ));
        }
        match &self.g.contexts {
            Some(list) => Fleet::check(&list.split(',').collect::<Vec<_>>()),
            None => Ok(()),
        }
    }

    /// Say what the contexts that did not do their part said, and end the command as they make
    /// it end. `partial` is what the command printed (or, under `--json`, would print) from the
    /// others; under `--json` with trouble it goes into the one error object instead.
    fn conclude(&mut self, t: &Trouble, partial: Option<Value>) -> anyhow::Result<()> {
        let Some(code) = t.exit() else {
            if let (true, Some(doc)) = (self.g.json, partial) {
                writeln!(self.out, "{}", json::document(&doc)?)?;
            }
            return Ok(());
        };
        let mut contexts = Vec::new();
        for (c, e) in &t.dead {
            if !t.said {
                eprintln!("{}", dead_line(c, e));
            }
            contexts.push(context_json(c, e, e.message()));
        }
        for (c, e) in &t.failed {
            let msg = failed_message(e, self.g.verbose);
            if !t.said {
                eprintln!("bottle: context `{c}`: {msg}");
            }
            contexts.push(context_json(c, e, &msg));
        }
        if self.g.json {
            let (kind, message) = t.summary(code);
            let e = Error::new(kind, &message);
            let mut v = json::error(&json::Failure {
                error: Some(&e),
                message: &message,
                exit_code: code,
                input: None,
            });
            v["error"]["contexts"] = Value::Array(contexts);
            v["error"]["partial"] = partial.unwrap_or(Value::Null);
            writeln!(self.out, "{}", json::document(&v)?)?;
        }
        self.out.flush()?;
        Err(Reported(code).into())
    }

    /// `up` over a fleet: each slug converged where it is, or made where the rule places it.
    pub(super) fn fleet_up(
        &mut self,
        fleet: &Fleet,
        slugs: &[Slug],
        spec: Option<&Spec>,
        (ttl, wait): (Option<std::time::Duration>, Option<std::time::Duration>),
    ) -> anyhow::Result<()> {
        let progress = self.progress.clone();
        let done = |slug: &Slug, r: &bottle::Result<Placed<UpOutcome>>| {
            if let Some(p) = &progress {
                p.done(
                    slug,
                    &r.as_ref().map(|p| p.outcome.clone()).map_err(Clone::clone),
                );
            }
        };
        let results = match spec {
            Some(spec) => {
                let results = fleet.up_many_reporting(slugs, spec, &done);
                if let Some(p) = &progress {
                    p.clear();
                }
                results
            }
            // No spec: kept where it is, started if stopped; then `--wait` as `up` waits.
            None => fleet
                .resume_many(slugs, ttl)
                .into_iter()
                .zip(slugs)
                .map(|(r, slug)| match (r, wait) {
                    (Ok(p), Some(within)) => {
                        let member = fleet.member(&p.context).expect("a member");
                        member.wait_ready(slug, within).map(|()| p)
                    }
                    (r, _) => r,
                })
                .collect(),
        };
        let placed: Vec<&Placed<UpOutcome>> = results.iter().flatten().collect();
        // Warnings: `up` exits as its bottles came up (see the module's doc).
        let t = Trouble::of_placed(&placed);
        t.say(self.g.verbose);
        for p in &placed {
            warn_placement(&p.outcome.bottle.slug, p);
        }
        // Under `--json`, each up object says which contexts were not asked (`asked`).
        let asked: Vec<Option<Value>> =
            results.iter().map(|r| r.as_ref().ok().map(asked)).collect();
        let outcomes: Vec<bottle::Result<UpOutcome>> =
            results.into_iter().map(|r| r.map(|p| p.outcome)).collect();
        match (slugs, outcomes.as_slice()) {
            ([_], [Ok(up)]) if self.g.json => {
                let mut v = json::up(up)?;
                with_asked(&mut v, asked[0].as_ref());
                writeln!(self.out, "{}", json::document(&v)?)?;
                Ok(())
            }
            ([_], [Ok(up)]) => self.print_up(up),
            ([_], [Err(e)]) => Err(e.clone().into()),
            _ if self.g.json => {
                // The array `up` prints for several slugs, one element per slug in order.
                let mut buf = Vec::new();
                let done = many::up_each(slugs, outcomes, self.g, &mut buf);
                let mut doc: Value = serde_json::from_slice(&buf)?;
                if let Some(each) = doc.as_array_mut() {
                    for (v, asked) in each.iter_mut().zip(&asked) {
                        with_asked(v, asked.as_ref());
                    }
                }
                writeln!(self.out, "{}", json::document(&doc)?)?;
                self.out.flush()?;
                done
            }
            _ => many::up_each(slugs, outcomes, self.g, &mut self.out),
        }
    }

    /// `ls` over a fleet: every context's listing at once, merged by slug then context.
    pub(super) fn fleet_ls(&mut self, fleet: &Fleet, a: &LsArgs, now: i64) -> anyhow::Result<()> {
        let per = fleet.ls();
        let t = Trouble::of(&per);
        let order: Vec<&str> = fleet.contexts().collect();
        let rank = |b: &Bottle| order.iter().position(|c| Some(*c) == b.context.as_deref());
        let mut bottles: Vec<Bottle> = per
            .into_vec()
            .into_iter()
            .filter_map(|(_, r)| r.ok())
            .flatten()
            .filter(|b| lsview::keeps(&a.filters, b, now))
            .collect();
        bottles.sort_by(|x, y| (&x.slug, rank(x)).cmp(&(&y.slug, rank(y))));
        if self.g.json && !t.is_empty() {
            // What `ls --json` (or `ls -q --json`) prints on success.
            let partial = match a.quiet {
                true => serde_json::to_value(lsview::quiet_slugs(&bottles))?,
                false => serde_json::to_value(&bottles)?,
            };
            return self.conclude(&t, Some(partial));
        }
        self.ls_print(a, &bottles, now)?;
        self.conclude(&t, None)
    }

    /// `down SLUG...` or `down --all` over a fleet: every context, each (slug, context) reported.
    pub(super) fn fleet_down(
        &mut self,
        fleet: &Fleet,
        a: &DownArgs,
        slugs: &[Slug],
    ) -> anyhow::Result<()> {
        let options = DownOptions::default().volumes(a.volumes);
        let (rows, t) = match a.all {
            true => {
                let per = fleet.down_all_with(options);
                let t = Trouble::of(&per);
                let rows = per
                    .into_vec()
                    .into_iter()
                    .filter_map(|(c, r)| Some((c, r.ok()?)))
                    .flat_map(|(c, list)| list.into_iter().map(move |(s, r)| (s, c.clone(), r)))
                    .collect();
                (rows, t)
            }
            false => {
                let per = fleet.down_with(slugs, options);
                let mut t = Trouble {
                    answered: false,
                    ..Trouble::default()
                };
                let mut rows = Vec::new();
                for (slug, each) in slugs.iter().zip(per) {
                    let one = Trouble::of(&each);
                    t.answered |= one.answered;
                    for (c, e) in &one.dead {
                        t.add_dead(c, e);
                    }
                    for (c, r) in each.into_vec() {
                        if !r
                            .as_ref()
                            .is_err_and(|e| *e.kind() == ErrorKind::EngineUnavailable)
                        {
                            rows.push((slug.clone(), c, r));
                        }
                    }
                }
                (rows, t)
            }
        };
        self.down_rows(fleet, rows, t, a.all)
    }

    /// Report each (slug, context) of a fleet `down`, sorted by slug then context.
    fn down_rows(
        &mut self,
        fleet: &Fleet,
        mut rows: Vec<(Slug, String, bottle::Result<Removed>)>,
        t: Trouble,
        all: bool,
    ) -> anyhow::Result<()> {
        let order: Vec<&str> = fleet.contexts().collect();
        let rank = |c: &str| order.iter().position(|o| *o == c);
        rows.sort_by(|x, y| (&x.0, rank(&x.1)).cmp(&(&y.0, rank(&y.1))));
        if all && rows.is_empty() && !self.g.json {
            let prefix = self.prefix.as_str();
            super::note_nothing(self.tty, &format!("no bottles with prefix `{prefix}`"));
        }
        let mut report = Vec::new();
        let mut failed: Option<u8> = None;
        for (slug, context, r) in &rows {
            let mut v = match r {
                Ok(removed) => json::down(slug, removed),
                Err(e) => many::failed_json(slug, e, "down", self.g.verbose),
            };
            v["context"] = json!(context);
            report.push(v);
            match r {
                Ok(removed) if !self.g.json => {
                    let line = many::down_line(slug, removed);
                    writeln!(self.out, "{line} (context `{context}`)")?;
                }
                Ok(_) => {}
                Err(e) => {
                    let msg = many::message(slug, e, "down", self.g.verbose);
                    eprintln!("bottle: {slug}: context `{context}`: {msg}");
                    failed = failed.or(Some(e.exit_code()));
                }
            }
        }
        self.conclude(&t, Some(Value::Array(report)))?;
        match failed {
            Some(code) => Err(Reported(code).into()),
            None => Ok(()),
        }
    }

    /// `status`, `port`, `env`: the bottle located on whichever context holds it.
    pub(super) fn fleet_locate(
        &mut self,
        fleet: &Fleet,
        slug: &Slug,
    ) -> anyhow::Result<(Bottle, Trouble)> {
        let looks = fleet.look(slug);
        let dead: Vec<(String, Error)> = looks
            .dead()
            .map(|(c, e)| (c.to_string(), e.clone()))
            .collect();
        let placed = match fleet.locate_from(slug, looks) {
            Ok(placed) => placed,
            // Not found on the contexts that answered: the dead ones may hold it, so each is
            // said as for any command (the error names them too).
            Err(e) => {
                if *e.kind() != ErrorKind::EngineUnavailable {
                    for (c, dead) in &dead {
                        eprintln!("{}", dead_line(c, dead));
                    }
                }
                return Err(e.into());
            }
        };
        warn_placement(slug, &placed);
        let t = Trouble::of_placed(&[&placed]);
        Ok((placed.outcome, t))
    }

    /// Print a located bottle's answer (`status`, `port`, `env`), then its contexts' trouble.
    pub(super) fn fleet_answer(
        &mut self,
        t: &Trouble,
        doc: Value,
        text: &str,
    ) -> anyhow::Result<()> {
        if self.g.json {
            return self.conclude(t, Some(doc));
        }
        write!(self.out, "{text}")?;
        self.conclude(t, None)
    }

    /// `stop`, `start`, `restart`, `pause`, `unpause` over a fleet.
    pub(super) fn fleet_change(
        &mut self,
        fleet: &Fleet,
        a: &ChangeArgs,
        slugs: Vec<Slug>,
        change: super::FleetFn,
    ) -> anyhow::Result<()> {
        let (slugs, mut t) = match a.all {
            true => {
                let per = fleet.ls();
                let t = Trouble::of(&per);
                let mut all: Vec<Slug> = per
                    .answered()
                    .flat_map(|(_, list)| list.iter())
                    .filter(|b| b.bundle.state != bottle::State::Missing)
                    .map(|b| b.slug.clone())
                    .collect();
                all.sort();
                all.dedup();
                (all, t)
            }
            false => (slugs, Trouble::default()),
        };
        let results = change(fleet, &slugs);
        let placed: Vec<&Placed<Bottle>> = results.iter().flatten().collect();
        t.answered = t.answered || !placed.is_empty() || !a.all;
        for p in &placed {
            t.add_placed(p);
            warn_placement(&p.outcome.slug, p);
        }
        let outcomes: Vec<bottle::Result<Bottle>> =
            results.into_iter().map(|r| r.map(|p| p.outcome)).collect();
        let one = !a.all && slugs.len() == 1;
        // Printed into a buffer first: under `--json` with a context that did not answer, the
        // document is the error object's `partial`.
        let mut buf = Vec::new();
        let done = many::change_each(&slugs, outcomes, one, self.g, &mut buf);
        match self.g.json && !t.is_empty() {
            true => {
                let partial = serde_json::from_slice(&buf).unwrap_or(Value::Null);
                self.conclude(&t, Some(partial))?;
            }
            false => {
                self.out.write_all(&buf)?;
                self.conclude(&t, None)?;
            }
        }
        done
    }

    /// `gc` over a fleet: each context's, its lines (or objects) naming it.
    pub(super) fn fleet_gc(&mut self, fleet: &Fleet, dry_run: bool) -> anyhow::Result<()> {
        let per = fleet.gc(dry_run);
        let t = Trouble::of(&per);
        let mut report = Vec::new();
        let verb = if dry_run { "would remove" } else { "removed" };
        let cli = match fleet.contexts().next().and_then(|c| fleet.member(c)) {
            Some(b) if b.engine().flavor() == bottle::Flavor::Podman => "podman",
            _ => "docker",
        };
        for (context, removed) in per.answered() {
            // A network kept for a foreign container is said, not kept silently (dry run too).
            for kept in &removed.kept {
                eprintln!(
                    "bottle: {} (context `{context}`)",
                    render::kept_line(kept, cli)
                );
            }
            let mut v = json::gc(dry_run, removed);
            v["context"] = json!(context);
            report.push(v);
            if self.g.json {
                continue;
            }
            for c in &removed.containers {
                writeln!(self.out, "{verb} container {c} (context `{context}`)")?;
            }
            for n in &removed.networks {
                writeln!(self.out, "{verb} network {n} (context `{context}`)")?;
            }
        }
        self.conclude(&t, Some(Value::Array(report)))
    }

    /// `logs` over a fleet: from the context that holds the bottle.
    pub(super) fn fleet_logs(
        &mut self,
        fleet: &Fleet,
        slug: &Slug,
        tail: Option<u32>,
        follow: bool,
    ) -> anyhow::Result<()> {
        let (b, t) = self.fleet_locate(fleet, slug)?;
        let context = b.context.as_deref().unwrap_or_default();
        let member = fleet.member(context).expect("a member");
        t.say(self.g.verbose);
        match follow {
            true => {
                self.out.flush()?;
                super::tools::follow_logs(member, slug, tail)?
            }
            false => super::tools::logs(member, slug, tail, &mut self.out)?,
        }
        match t.exit() {
            Some(code) => Err(Reported(code).into()),
            None => Ok(()),
        }
    }

    /// `events` over a fleet: every context's stream, merged, each event with its `context`.
    pub(super) fn fleet_events(&mut self, fleet: &Fleet, slugs: &[Slug]) -> anyhow::Result<()> {
        self.out.flush()?;
        let per = fleet.watch(
            slugs,
            |context, event| {
                let mut v = serde_json::to_value(&event).unwrap_or(Value::Null);
                v["context"] = json!(context);
                super::tools::write_event(&v)
            },
            |context, e| match *e.kind() {
                ErrorKind::EngineUnavailable => eprintln!("{}", dead_line(context, e)),
                ErrorKind::Interrupted => {}
                _ => eprintln!("bottle: context `{context}`: {}", e.message()),
            },
        );
        let interrupted = per.iter().any(|(_, r)| {
            r.as_ref()
                .is_err_and(|e| *e.kind() == ErrorKind::Interrupted)
        });
        if interrupted {
            return Err(Reported(130).into());
        }
        let t = Trouble {
            said: true,
            ..Trouble::of(&per)
        };
        self.conclude(&t, None)
    }
}

/// What a fleet `up` object adds: `skipped`, the dead contexts the rule preferred (best first: the
/// placement moved), and `unanswered`, every context that did not answer the look. Both are always
/// there, empty when every context answered, so a reader of stdout alone sees a partial look.
fn asked<T>(p: &Placed<T>) -> Value {
    let unanswered: Vec<&str> = p.dead.iter().map(|(c, _)| c.as_str()).collect();
    json!({"skipped": p.skipped, "unanswered": unanswered})
}

/// `v`, an up object, with `asked`'s fields; a failed bottle's `{slug, error}` (no `asked`) as it is.
fn with_asked(v: &mut Value, asked: Option<&Value>) {
    if let (Some(object), Some(Value::Object(fields))) = (v.as_object_mut(), asked) {
        object.extend(fields.clone());
    }
}

/// The warnings of a located bottle: the placement went around a dead context, or another
/// context holds the slug too.
fn warn_placement<T>(slug: &Slug, p: &Placed<T>) {
    if let Some(first) = p.skipped.first() {
        eprintln!(
            "bottle: context `{first}` did not answer; `{slug}` goes to `{}`, the next by placement score",
            p.context
        );
    }
    if !p.also.is_empty() {
        let also: Vec<String> = p.also.iter().map(|c| format!("`{c}`")).collect();
        eprintln!(
            "bottle: `{slug}` is also on context {}: acted on `{}`, the first by placement score (`bottle down {slug}` removes every copy)",
            also.join(", "),
            p.context
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_of_a_fleet_command() {
        let cases = [
            ((0, 0, false, true), None),
            ((0, 0, false, false), None),
            ((1, 0, false, true), Some(1)),
            ((2, 0, false, false), Some(69)),
            ((1, 1, false, true), Some(1)),
            ((0, 1, false, true), Some(1)),
            // an_interrupted_fleet_listing_exited_1_as_a_context_that_failed (attack17).
            ((0, 2, true, true), Some(130)),
            ((1, 1, true, true), Some(130)),
        ];
        for ((dead, failed, interrupted, answered), want) in cases {
            assert_eq!(
                exit_of(dead, failed, interrupted, answered),
                want,
                "{dead} {failed} {interrupted} {answered}"
            );
        }
    }
}
