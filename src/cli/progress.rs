//! `up`'s progress on a terminal: one live line per bottle (compose's "Created/Started/Healthy"
//! lines are the model), updated from the library's events as each engine command starts, and
//! closed with the bottle's result as soon as it has one. Drawn on stderr with indicatif, and
//! cleared at the end: stdout then gets the same stable results as when nothing is drawn.
//!
//! Only for a person watching: when stderr is not a terminal (a pipe, a CI log), nothing is
//! drawn and nothing here is made. Which step a command is comes from [`step`], a pure function.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use bottle::{Error, Event, Slug, UpOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The live lines of one `up`.
pub struct Progress {
    multi: MultiProgress,
    bars: BTreeMap<String, ProgressBar>,
    /// Per bottle: whether its bundle was started (so an inspect after it is the `--wait` look).
    started: Mutex<BTreeMap<String, bool>>,
    waits: bool,
}

/// What a bottle is doing, from the engine command it is about to run (its quoted line), or
/// `None` when the command says nothing new (a look before anything was made).
/// `started`: its bundle was run or started already; `waits`: `up --wait`.
pub fn step(line: &str, started: bool, waits: bool) -> Option<&'static str> {
    let has = |verb: &str| line.contains(&format!(" {verb} "));
    Some(if has("network create") {
        "creating network"
    } else if has("pull") {
        "pulling image"
    } else if has("build") {
        "building image"
    } else if has("run") || has("start") {
        "starting bundle"
    } else if has("rm") || has("network rm") {
        "removing"
    } else if started && waits {
        "waiting until ready"
    } else if started {
        "reading ports"
    } else {
        return None;
    })
}

impl Progress {
    /// Lines for `slugs`, drawn on stderr at once.
    pub fn new(slugs: &[Slug], waits: bool) -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let width = slugs.iter().map(|s| s.as_str().len()).max().unwrap_or(0);
        let style = ProgressStyle::with_template(&format!(
            "{{spinner}} {{prefix:<{width}}}  {{elapsed:>3.dim}}  {{wide_msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = slugs
            .iter()
            .map(|slug| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(slug.to_string());
                bar.set_message("waiting for its turn");
                bar.enable_steady_tick(Duration::from_millis(100));
                (slug.to_string(), bar)
            })
            .collect();
        Progress {
            multi,
            bars,
            started: Mutex::new(BTreeMap::new()),
            waits,
        }
    }

    /// An engine command is about to run for a bottle: say its step.
    pub fn on_event(&self, e: &Event<'_>) {
        let Event::Command {
            line,
            slug: Some(slug),
            ..
        } = e
        else {
            return;
        };
        let Some(bar) = self.bars.get(slug.as_str()) else {
            return;
        };
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        let was = started.get(slug.as_str()).copied();
        match step(line, was == Some(true), self.waits) {
            Some(step) => {
                if step == "starting bundle" {
                    started.insert(slug.to_string(), true);
                }
                bar.set_message(step);
            }
            // Its first command: it is no longer waiting for its turn (`--parallel`).
            None if was.is_none() => {
                started.insert(slug.to_string(), false);
                bar.set_message("looking at the engine");
            }
            None => {}
        }
    }

    /// A bottle is done: its line says how it came out, and stops.
    pub fn done(&self, slug: &Slug, result: &Result<UpOutcome, Error>) {
        let Some(bar) = self.bars.get(slug.as_str()) else {
            return;
        };
        let said = match result {
            Ok(up) => format!("{}, {}", up.bottle.bundle.state, super::many::up_how(up)),
            Err(e) => format!("failed: {}", e.message().lines().next().unwrap_or("")),
        };
        bar.disable_steady_tick();
        bar.set_style(
            // `wide_msg`: cut to the terminal's width, so a long failure never wraps the block.
            ProgressStyle::with_template(&format!(
                "{{prefix:<{}}}  {{wide_msg}}",
                self.bars.keys().map(String::len).max().unwrap_or(0) + 2
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.finish_with_message(said);
    }

    /// A line for people (a `--verbose` command, a warning) printed above the live lines.
    pub fn println(&self, text: &str) {
        let _ = self.multi.println(text);
    }

    /// Remove the live lines: the results follow on stdout.
    pub fn clear(&self) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::step;

    #[test]
    fn steps_from_engine_commands() {
        #[track_caller]
        fn check(line: &str, started: bool, waits: bool, want: Option<&str>) {
            assert_eq!(step(line, started, waits), want, "{line}");
        }
        check(
            "docker ps -a --filter 'label=bottle.slug=a'",
            false,
            true,
            None,
        );
        check(
            "docker network create --driver bridge x",
            false,
            true,
            Some("creating network"),
        );
        check(
            "docker --context c run --detach --name x img",
            false,
            true,
            Some("starting bundle"),
        );
        check("podman pull img", false, false, Some("pulling image"));
        check("docker start x", false, false, Some("starting bundle"));
        check("docker rm --force x", true, true, Some("removing"));
        check(
            "docker container inspect x",
            true,
            true,
            Some("waiting until ready"),
        );
        check(
            "docker container inspect x",
            true,
            false,
            Some("reading ports"),
        );
    }
}
