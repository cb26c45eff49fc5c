//! The executor: the one place in the crate that spawns a process.
//!
//! **Architecture Invariant:** every engine command goes through [`Engine::run`] (or
//! [`Engine::run_streaming`] for `build`, whose progress belongs on the user's terminal). It runs an
//! argv with duct, captures stdout and stderr, never checks the status itself, and keeps three
//! failure classes apart: could not execute (an [`Error`] of kind
//! [`ErrorKind::EngineUnavailable`]), exited non-zero (a [`Reply`] the caller classifies), and
//! killed by a signal (an [`Error`]).
//!
//! It also owns interruption. Each engine command runs in its own process group, so a terminal's
//! Ctrl-C reaches bottle only, and bottle decides: under [`OnInterrupt::Abort`] (`up`) it kills the
//! in-flight command's whole group and fails with [`ErrorKind::Interrupted`], so `up` can roll back;
//! under [`OnInterrupt::Finish`] (`down`) it lets the removal it began run to the end. Signals are
//! process-wide, so this is the crate's one piece of global state.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::classify::{Class, Verb, classify};
use crate::display::Masker;
use crate::error::{Error, ErrorKind, Result};

/// What a SIGINT, SIGTERM, SIGHUP or SIGQUIT does to the engine command in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Kill it (its whole process group) and fail every further command, except cleanup run
    /// through [`finishing`].
    Abort,
    /// Let it, and the commands after it, run to the end; the caller checks [`interrupted`].
    Finish,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static ABORT: AtomicBool = AtomicBool::new(true);
/// The process group of the engine command in flight, if any.
static IN_FLIGHT: Mutex<Option<i32>> = Mutex::new(None);

/// Route SIGINT, SIGTERM, SIGHUP (a closed terminal or dropped ssh session) and SIGQUIT to
/// bottle's own handling, per `policy`.
pub fn handle_interrupts(policy: OnInterrupt) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    ABORT.store(policy == OnInterrupt::Abort, Ordering::SeqCst);
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::io("cannot install the signal handler", e))?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            INTERRUPTED.store(true, Ordering::SeqCst);
            kill_in_flight();
        }
    });
    Ok(())
}

fn kill_in_flight() {
    if !ABORT.load(Ordering::SeqCst) {
        return;
    }
    if let Some(pgid) = *IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner()) {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names the group.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

/// Whether one of those signals has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `Err(Interrupted)` once a signal has arrived under [`OnInterrupt::Abort`].
pub fn check_interrupt() -> Result<()> {
    if interrupted() && ABORT.load(Ordering::SeqCst) {
        return Err(Error::new(ErrorKind::Interrupted, "interrupted"));
    }
    Ok(())
}

/// Run `f` with interruption deferred: rollback and teardown must run to the end.
pub fn finishing<T>(f: impl FnOnce() -> T) -> T {
    let before = ABORT.swap(false, Ordering::SeqCst);
    let out = f();
    ABORT.store(before, Ordering::SeqCst);
    out
}

/// How much engine stderr an error message quotes.
const STDERR_LIMIT: usize = 2000;

/// A resolved engine CLI and how to call it.
#[derive(Debug, Clone)]
pub struct Engine {
    program: PathBuf,
    /// How the engine is shown to people: what the user typed, e.g. `docker`.
    shown: String,
    context: Option<String>,
    verbose: bool,
    masker: Masker,
}

/// What one engine command answered. Only built for a command that ran to an exit code.
#[derive(Debug, Clone)]
pub struct Reply {
    pub verb: Verb,
    /// The masked, quoted command line, for messages.
    pub line: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Reply {
    pub fn class(&self) -> Class {
        classify(self.verb, self.code, &self.stderr)
    }

    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// `Ok(self)` on exit 0, the classified error otherwise.
    pub fn check(self) -> Result<Reply> {
        if self.success() {
            Ok(self)
        } else {
            Err(self.into_error())
        }
    }

    /// The error for a failed command: names the command, gives the exit code and quotes stderr.
    /// An unreachable daemon or a refused socket is [`ErrorKind::EngineUnavailable`].
    pub fn into_error(self) -> Error {
        let kind = match self.class() {
            Class::DaemonUnreachable | Class::PermissionDenied => ErrorKind::EngineUnavailable,
            _ => ErrorKind::EngineFailed,
        };
        Error::new(
            kind,
            format!(
                "`{}` failed (exit status: {}): {}",
                self.line,
                self.code,
                self.quote_stderr()
            ),
        )
    }

    /// The engine's stderr for a message: trimmed, repeated lines said once (an inspect of two
    /// names reports an unreachable daemon twice), and truncated. Engine messages are otherwise
    /// kept as they are, so users can search for them.
    pub fn quote_stderr(&self) -> String {
        let mut lines: Vec<&str> = Vec::new();
        for line in self.stderr.trim().lines() {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        let text = lines.join("\n");
        if text.is_empty() {
            return "(no stderr)".to_string();
        }
        if text.len() <= STDERR_LIMIT {
            return text;
        }
        let mut end = STDERR_LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} bytes more)", &text[..end], text.len() - end)
    }
}

impl Engine {
    /// Resolve `--engine` / `BOTTLE_ENGINE` (a name looked up on `PATH`, or a path), defaulting
    /// to `docker`. Resolution spawns nothing.
    pub fn resolve(
        engine: Option<&OsStr>,
        context: Option<String>,
        verbose: bool,
    ) -> Result<Engine> {
        let given = engine.unwrap_or(OsStr::new("docker"));
        let shown = given.to_string_lossy().into_owned();
        let program = which::which(given).map_err(|_| {
            Error::new(
                ErrorKind::EngineUnavailable,
                format!(
                    "engine `{shown}` was not found or is not executable: install docker (or a docker-compatible CLI) or pass --engine PATH"
                ),
            )
        })?;
        Ok(Engine {
            program,
            shown,
            context,
            verbose,
            masker: Masker::default(),
        })
    }

    /// Mask these values in everything this engine prints or reports.
    pub fn with_secrets(mut self, masker: Masker) -> Engine {
        self.masker = masker;
        self
    }

    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// The engine's own arguments: `--context` first, then the verb's argv.
    pub fn args(context: Option<&str>, argv: Vec<OsString>) -> Vec<OsString> {
        match context {
            Some(c) => [OsString::from("--context"), OsString::from(c)]
                .into_iter()
                .chain(argv)
                .collect(),
            None => argv,
        }
    }

    /// The masked, POSIX-quoted command line for `argv`, as `plan` and `--verbose` show it.
    pub fn line(&self, argv: &[OsString]) -> String {
        display_line(&self.shown, self.context.as_deref(), argv, &self.masker)
    }

    /// Run one engine command to completion with its output captured.
    pub fn run(&self, verb: Verb, argv: Vec<OsString>) -> Result<Reply> {
        let line = self.line(&argv);
        let expr = duct::cmd(&self.program, Engine::args(self.context.as_deref(), argv))
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        let output = self.spawn_and_wait(&line, expr)?;
        let code = exit_code(&line, output.status)?;
        Ok(Reply {
            verb,
            line,
            code,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: self.masker.mask(&String::from_utf8_lossy(&output.stderr)),
        })
    }

    /// Run one engine command with its output going to our stderr (for `build` progress).
    pub fn run_streaming(&self, verb: Verb, argv: Vec<OsString>) -> Result<()> {
        let line = self.line(&argv);
        let expr = duct::cmd(&self.program, Engine::args(self.context.as_deref(), argv))
            .stdin_null()
            .stdout_to_stderr()
            .unchecked();
        let output = self.spawn_and_wait(&line, expr)?;
        match exit_code(&line, output.status)? {
            0 => Ok(()),
            code => Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "`{line}` failed (exit status: {code}); its output is above ({})",
                    verb.name()
                ),
            )),
        }
    }

    /// Run one engine command with its stdout and stderr passed straight through (`logs
    /// --follow`, which streams until interrupted). Nothing is captured, so nothing is masked.
    pub fn run_passthrough(&self, verb: Verb, argv: Vec<OsString>) -> Result<()> {
        let line = self.line(&argv);
        let expr = duct::cmd(&self.program, Engine::args(self.context.as_deref(), argv))
            .stdin_null()
            .unchecked();
        let output = self.spawn_and_wait(&line, expr)?;
        match exit_code(&line, output.status)? {
            0 => Ok(()),
            code => Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "`{line}` failed (exit status: {code}); its output is above ({})",
                    verb.name()
                ),
            )),
        }
    }

    /// Start `expr` in its own process group, registered for [`kill_in_flight`], and wait.
    fn spawn_and_wait(&self, line: &str, expr: duct::Expression) -> Result<std::process::Output> {
        check_interrupt()?;
        if self.verbose {
            eprintln!("+ {line}");
        }
        let expr = expr.before_spawn(|cmd| {
            cmd.process_group(0);
            Ok(())
        });
        let handle = expr.start().map_err(|e| self.could_not_execute(line, e))?;
        let pgid = handle.pids().first().map(|&p| p as i32);
        *IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner()) = pgid;
        // A signal that arrived between the check above and registering the group.
        if interrupted() {
            kill_in_flight();
        }
        let output = handle.into_output();
        *IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let output = output.map_err(|e| self.could_not_execute(line, e))?;
        if let Err(e) = check_interrupt() {
            return Err(Error::new(
                ErrorKind::Interrupted,
                format!("{e} while `{line}` was running"),
            ));
        }
        Ok(output)
    }

    fn could_not_execute(&self, line: &str, err: std::io::Error) -> Error {
        Error::new(
            ErrorKind::EngineUnavailable,
            format!(
                "could not execute `{line}`: {err}; check --engine (now `{}`)",
                self.shown
            ),
        )
    }
}

/// The whole command as run: the engine as shown, `[--context C]`, then the verb's argv.
pub fn full_argv(shown: &str, context: Option<&str>, argv: &[OsString]) -> Vec<OsString> {
    std::iter::once(OsString::from(shown))
        .chain(Engine::args(context, argv.to_vec()))
        .collect()
}

/// [`full_argv`], quoted and masked.
pub fn display_line(
    shown: &str,
    context: Option<&str>,
    argv: &[OsString],
    masker: &Masker,
) -> String {
    masker.render(&full_argv(shown, context, argv))
}

fn exit_code(line: &str, status: std::process::ExitStatus) -> Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ok(code),
        (None, Some(sig)) => Err(Error::new(
            ErrorKind::EngineFailed,
            format!("`{line}` was killed by signal {sig}"),
        )),
        (None, None) => Err(Error::new(
            ErrorKind::EngineFailed,
            format!("`{line}` ended with {status}"),
        )),
    }
}
