//! The executor: the one place in the crate that spawns a process.
//!
//! **Architecture Invariant:** every engine command goes through [`Engine::run`] (or
//! [`Engine::run_with_env`], or [`Engine::run_streaming`] for `build`, whose progress goes out as
//! [`Event::Output`]). It runs an argv with `std::process`, captures stdout and stderr with its own
//! reader threads, never checks the status itself, and keeps three failure classes apart: could not
//! execute (an [`Error`] of kind [`ErrorKind::EngineUnavailable`]), exited non-zero (a [`Reply`] the
//! caller classifies), and killed by a signal (an [`Error`]).
//!
//! Every command but `logs -f` is bounded by the engine's timeout (a followed log streams until it
//! is stopped). Each runs in its own process group, so a terminal's Ctrl-C reaches bottle only;
//! the [`CancelToken`] it was given decides when that group is killed (see [`Engine::run`]), and
//! so does the engine's timeout. Output is bounded too (64 MiB of stdout, the first 1 MiB of stderr),
//! and after the engine exits bottle waits at most 200 ms for its pipes to close, so a grandchild
//! that keeps them open (ssh ControlPersist) costs nothing. There is no process-wide state here and
//! nothing is written to stderr: what a caller wants to show arrives through [`Events`].

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::classify::{Class, Verb, classify};
use crate::display::{MaskStream, Masker};
use crate::error::{EngineCommand, Error, ErrorKind, Result};
use crate::input::Slug;

/// Whether an engine runs on this host, for either flavor: the environment and the files that say
/// so are read when a handle is made, the flavor (which may need a command) when a call needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Locality {
    pub docker: bool,
    pub podman: bool,
}

impl Locality {
    pub(crate) fn of(self, flavor: Flavor) -> bool {
        match flavor {
            Flavor::Podman => self.podman,
            Flavor::Docker => self.docker,
        }
    }
}

/// The longest `version` asked to learn an engine's flavor may take (see [`Engine::flavor`]):
/// a `version` answers at once, even with the daemon down, so a longer one is a hung wrapper.
pub const FLAVOR_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a child started by [`Engine::run_with_env`] reads its env-file: a filled pipe at fd 3.
pub const ENV_FILE_PATH: &str = "/dev/fd/3";

/// How long one engine command may run unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How much engine stderr an error message quotes.
const STDERR_LIMIT: usize = 2000;
/// How much stdout a command may print before it is an error.
const STDOUT_MAX: usize = 64 << 20;
/// How much stderr is kept; the rest is read and discarded.
const STDERR_KEEP: usize = 1 << 20;
/// How long to wait for the pipes to close once the engine has exited.
const PIPE_GRACE: Duration = Duration::from_millis(200);
/// How long a creating command may finish after the first cancel, so its ID is learnt.
const CREATE_GRACE: Duration = Duration::from_secs(2);
/// The longest line [`Engine::run_streaming`] hands out in one [`Event::Output`].
const LINE_MAX: u64 = 64 << 10;

pub use crate::argv::Flavor;
pub use crate::input::{format_duration, parse_timeout};

/// Something a caller may want to show while commands run. Each carries the bottle it is about
/// (`slug`), so a launcher with several bottles at once can tell whose it sees; `None` for work
/// on the whole engine (`ls`, `gc`, finding the engine's flavor).
///
/// The variants are `#[non_exhaustive]`: match them with `..`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An engine command is about to run: its argv, quoted, exactly as run (what `--verbose` prints).
    #[non_exhaustive]
    Command {
        /// The command line, POSIX-quoted.
        line: &'a str,
        /// The bottle it runs for.
        slug: Option<&'a Slug>,
    },
    /// One line of progress from an image build or pull, engine text with secrets masked.
    #[non_exhaustive]
    Output {
        /// One line, without its line ending.
        text: &'a str,
        /// The bottle it runs for.
        slug: Option<&'a Slug>,
    },
    /// bottle is waiting for something, e.g. another bottle process's lock.
    #[non_exhaustive]
    Waiting {
        /// What bottle waits for, as a sentence.
        what: &'a str,
        /// The bottle that waits.
        slug: Option<&'a Slug>,
    },
}

impl<'a> Event<'a> {
    /// The bottle this event is about; `None` for work on the whole engine.
    pub fn slug(&self) -> Option<&'a Slug> {
        match *self {
            Event::Command { slug, .. }
            | Event::Output { slug, .. }
            | Event::Waiting { slug, .. } => slug,
        }
    }
}

/// The callback that receives [`Event`]s. It may be called from several threads.
pub type Events = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// A docker-compatible engine CLI (docker, podman, …), resolved to a program file, and how bottle
/// calls it.
///
/// Resolving spawns nothing. Whether the engine runs on this host (which decides whether bottle
/// takes its per-slug locks and reads host routes) is worked out inside the library, from the
/// engine's context or podman's connection, when a [`crate::Bottles`] is made.
#[derive(Clone)]
pub struct Engine {
    program: PathBuf,
    /// How the engine is shown to people: what the user typed, e.g. `docker`.
    shown: String,
    context: Option<String>,
    /// The flag `context` is passed with: `--context` (docker contexts), or `--connection`
    /// (podman connections, [`Engine::with_connection`]).
    context_flag: &'static str,
    /// Which CLI this is: known from the program file, or learnt once from its `version` answer
    /// (shared by the clones of this value, so it costs one command at most).
    flavor: Arc<OnceLock<Flavor>>,
    timeout: Duration,
    cancel: CancelToken,
    /// Commands run to the end through the first cancel (rollback, `down`, `gc`).
    finishing: bool,
    events: Option<Events>,
    masker: Masker,
    /// The bottle the commands run for, named in each [`Event`].
    slug: Option<Slug>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("program", &self.program)
            .field("shown", &self.shown)
            .field("context", &self.context)
            .field("flavor", &self.flavor.get())
            .field("timeout", &self.timeout)
            .field("cancel", &self.cancel)
            .field("finishing", &self.finishing)
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

/// What one engine command answered. Only built for a command that ran to an exit code.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The quoted command line, exactly as run, for messages.
    pub line: String,
    /// The program and verb alone (`docker network create`), for a short message.
    pub short: String,
    pub code: i32,
    pub stdout: String,
    /// The first 1 MiB of stderr, secrets masked (for messages).
    pub stderr: String,
    /// What the answer means, classified from the stderr *before* masking: a secret value that
    /// happens to occur in the engine's words (a one-letter value in "Pool overlaps") must not
    /// change what bottle decides.
    class: Class,
}

impl Reply {
    pub fn class(&self) -> Class {
        self.class
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
        let message = format!(
            "`{}` failed (exit status: {}): {}",
            self.line,
            self.code,
            self.quote_stderr()
        );
        Error::new(kind, message)
            .with_engine_command(EngineCommand {
                line: self.line.clone(),
                short: self.short,
            })
            .with_command(crate::error::CommandFailure {
                line: self.line,
                exit_code: Some(self.code),
                stderr: self.stderr,
            })
    }

    /// The engine's stderr for a message: trimmed, repeated lines said once (an inspect of two
    /// names reports an unreachable daemon twice), and truncated. Engine messages are otherwise
    /// kept as they are, so users can search for them. Linear in the length of stderr.
    pub fn quote_stderr(&self) -> String {
        quote(&self.stderr).unwrap_or_else(|| "(no stderr)".to_string())
    }
}

/// Engine text (stderr, a bundle's logs) for a message: trimmed, repeated lines said once, and
/// cut at the same length everywhere. `None` if there is none. Linear in the length of `text`.
pub fn quote(text_in: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let mut text = String::new();
    let mut more = 0usize;
    for line in text_in.trim().lines() {
        if !seen.insert(line) {
            continue;
        }
        let sep = usize::from(!text.is_empty() || more > 0);
        if more > 0 || text.len() + sep + line.len() > STDERR_LIMIT {
            if more == 0 {
                // Fill up to the limit with the start of this line.
                if !text.is_empty() {
                    text.push('\n');
                }
                let mut end = STDERR_LIMIT.saturating_sub(text.len()).min(line.len());
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                text.push_str(&line[..end]);
                more = line.len() - end;
            } else {
                more += sep + line.len();
            }
            continue;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
    }
    if text.is_empty() && more == 0 {
        return None;
    }
    Some(match more {
        0 => text,
        more => format!("{text}… ({more} bytes more)"),
    })
}

/// What a finished child left: its status, its stdout (at most [`STDOUT_MAX`]) and the start of
/// its stderr.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// What the readers do with the child's output.
#[derive(Clone)]
enum Capture {
    /// Keep it for a [`Reply`].
    Keep,
    /// Hand it out line by line as [`Event::Output`].
    Stream,
    /// Hand it to the sink as it comes, secrets masked (`logs --follow`).
    Follow(Sink),
}

/// Which of the engine's output streams some bytes came from (see
/// [`crate::Bottles::follow_logs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stream {
    /// The engine's stdout: the bundle's own stdout, for logs.
    Stdout,
    /// The engine's stderr: the bundle's stderr, for logs, or the engine's own complaints.
    Stderr,
}

/// Where [`Engine::run_follow`] hands the engine's output as it comes, secrets masked. An error
/// (the reader went away) stops reading that stream; the engine then finds its pipe closed.
pub(crate) type Sink = Arc<dyn Fn(Stream, &[u8]) -> std::io::Result<()> + Send + Sync>;

impl Engine {
    /// The engine a launcher means by default: `BOTTLE_ENGINE` if it is set (a name on `PATH` or a
    /// path), else `docker` on `PATH`, else `podman` on `PATH`. Spawns nothing.
    pub fn detect() -> Result<Engine> {
        if let Some(given) = std::env::var_os("BOTTLE_ENGINE").filter(|v| !v.is_empty()) {
            return Engine::resolve(Some(&given), None);
        }
        for name in ["docker", "podman"] {
            if which::which(name).is_ok() {
                return Engine::resolve(Some(OsStr::new(name)), None);
            }
        }
        Err(Error::new(
            ErrorKind::EngineUnavailable,
            "no engine found: neither `docker` nor `podman` is on PATH; install one, or set BOTTLE_ENGINE to a docker-compatible CLI",
        ))
    }

    /// This engine CLI: a name looked up on `PATH` (`docker`, `podman`) or a path. Spawns nothing;
    /// fails with [`ErrorKind::EngineUnavailable`] if there is no such executable.
    pub fn new(program: impl AsRef<OsStr>) -> Result<Engine> {
        Engine::resolve(Some(program.as_ref()), None)
    }

    /// The engine CLI called `program`, not looked up: for [`crate::Bottles::plan`], which runs
    /// nothing and so works where no engine is installed. A command run through it fails as the
    /// missing program it may be.
    pub fn named(program: impl AsRef<OsStr>) -> Engine {
        let given = program.as_ref();
        Engine::at(
            PathBuf::from(given),
            given.to_string_lossy().into_owned(),
            None,
        )
    }

    /// The same engine, called with `--context NAME` before every command (docker contexts).
    pub fn with_context(mut self, name: impl Into<String>) -> Engine {
        self.context = Some(name.into());
        self.context_flag = "--context";
        self
    }

    /// The same engine, called with `--connection NAME` before every command: a podman
    /// connection (`podman system connection ls`). podman takes `--context` only as an
    /// undocumented alias, so a podman fleet names its members this way.
    pub fn with_connection(mut self, name: impl Into<String>) -> Engine {
        self.context = Some(name.into());
        self.context_flag = "--connection";
        self
    }

    /// The flag and name the engine is scoped with (`--context NAME`, `--connection NAME`).
    pub(crate) fn scope(&self) -> Option<(&'static str, &str)> {
        self.context.as_deref().map(|c| (self.context_flag, c))
    }

    /// Resolve `--engine` / `BOTTLE_ENGINE` (a name looked up on `PATH`, or a path), defaulting
    /// to `docker`. Resolution spawns nothing.
    pub(crate) fn resolve(engine: Option<&OsStr>, context: Option<String>) -> Result<Engine> {
        let given = engine.unwrap_or(OsStr::new("docker"));
        let shown = given.to_string_lossy().into_owned();
        let program = which::which(given).map_err(|_| {
            Error::new(
                ErrorKind::EngineUnavailable,
                format!(
                    "engine `{shown}` was not found or is not executable: install docker (or a docker-compatible CLI), or name the engine by its path"
                ),
            )
        })?;
        Ok(Engine::at(program, shown, context))
    }

    fn at(program: PathBuf, shown: String, context: Option<String>) -> Engine {
        let flavor = Arc::new(OnceLock::new());
        if let Some(known) = flavor_of(&program) {
            let _ = flavor.set(known);
        }
        Engine {
            program,
            shown,
            context,
            context_flag: "--context",
            flavor,
            timeout: DEFAULT_TIMEOUT,
            cancel: CancelToken::new(),
            finishing: false,
            events: None,
            masker: Masker::default(),
            slug: None,
        }
    }

    /// Kill any command that runs longer than `d` (default 10 minutes).
    pub(crate) fn with_timeout(mut self, d: Duration) -> Engine {
        self.timeout = d;
        self
    }

    /// Watch this token: see [`Engine::run`].
    pub(crate) fn with_cancel(mut self, t: CancelToken) -> Engine {
        self.cancel = t;
        self
    }

    /// Send [`Event`]s to this callback.
    pub(crate) fn with_events(mut self, e: Events) -> Engine {
        self.events = Some(e);
        self
    }

    /// The same engine, reporting no [`Event`]s.
    pub(crate) fn without_events(&self) -> Engine {
        Engine {
            events: None,
            ..self.clone()
        }
    }

    /// Mask these values in engine output this engine reports.
    pub(crate) fn with_secrets(mut self, masker: Masker) -> Engine {
        self.masker = masker;
        self
    }

    /// Whether the engine runs its containers on this host: its networks then share our routing
    /// table, and other bottle processes that use it share our lock directory. Reads files and the
    /// environment, and runs `version` once when the flavor is not known yet (see
    /// [`Engine::flavor`]).
    pub fn is_local(&self) -> bool {
        self.locality().of(self.flavor())
    }

    /// Whether the engine would be local as each flavor, read now from files and the
    /// environment; runs nothing (the flavor may need a command: see [`Engine::flavor`]).
    pub(crate) fn locality(&self) -> Locality {
        Locality {
            docker: crate::host::engine_is_local(self.context.as_deref()),
            // A named podman connection may be any host's: taken as remote (no locks, no host
            // routes), which costs nothing in correctness (locks are not part of it).
            podman: self.context_flag != "--connection"
                && crate::host::podman_is_local(&self.program),
        }
    }

    /// Which CLI this is (podman is called differently in places): from its program file when
    /// that says it plainly, otherwise from what the engine answers to `version`, asked once per
    /// [`Engine`] value (see `flavor_of`), within at most `FLAVOR_TIMEOUT` (30 s) and cut short by
    /// this engine's cancel token. An engine that does not answer is taken for docker, and asked
    /// again next time.
    pub fn flavor(&self) -> Flavor {
        if let Some(known) = self.flavor.get() {
            return *known;
        }
        let answer = self
            .clone()
            .with_timeout(self.timeout.min(FLAVOR_TIMEOUT))
            .run(Verb::Version, crate::argv::version())
            .ok()
            .and_then(|r| flavor_from_version(&r.stdout));
        match answer {
            Some(f) => *self.flavor.get_or_init(|| f),
            None => Flavor::Docker,
        }
    }

    /// The engine as it was named (`docker`, or the path given), for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The program and `--context` together: two values that are equal call the same engine
    /// (bottle's own environment is the same for every engine command of a process).
    pub(crate) fn identity(&self) -> String {
        format!(
            "{}\0{}",
            self.program.display(),
            self.context.as_deref().unwrap_or_default()
        )
    }

    /// The `--context` this engine is called with, if any.
    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    pub(crate) fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    pub(crate) fn masker(&self) -> &Masker {
        &self.masker
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A clone whose commands ignore the first cancel and run to the end (rollback, `down`, `gc`);
    /// a second cancel still kills them at once.
    pub(crate) fn finishing(&self) -> Engine {
        Engine {
            finishing: true,
            ..self.clone()
        }
    }

    /// `Err(Interrupted)` once cancelled: after the first cancel, or the second for a
    /// [`Engine::finishing`] engine.
    pub(crate) fn check_cancel(&self) -> Result<()> {
        if self.cancel.count() >= self.cancel_threshold() {
            return Err(Error::new(ErrorKind::Interrupted, "interrupted"));
        }
        Ok(())
    }

    fn cancel_threshold(&self) -> u32 {
        if self.finishing { 2 } else { 1 }
    }

    /// The same engine, naming `slug` in its events.
    pub(crate) fn with_slug(mut self, slug: &Slug) -> Engine {
        self.slug = Some(slug.clone());
        self
    }

    /// The bottle named in this engine's events.
    pub(crate) fn slug(&self) -> Option<&Slug> {
        self.slug.as_ref()
    }

    /// Hand `e` to the events callback, if there is one.
    pub(crate) fn emit(&self, e: &Event<'_>) {
        if let Some(events) = &self.events {
            events(e);
        }
    }

    /// The engine's own arguments: `--context` (or `--connection`) first, then the verb's argv.
    pub(crate) fn args(scope: Option<(&str, &str)>, argv: Vec<OsString>) -> Vec<OsString> {
        match scope {
            Some((flag, c)) => [OsString::from(flag), OsString::from(c)]
                .into_iter()
                .chain(argv)
                .collect(),
            None => argv,
        }
    }

    /// The POSIX-quoted command line for `argv`, exactly as run (argv holds no secret, so nothing
    /// is masked).
    pub(crate) fn line(&self, argv: &[OsString]) -> String {
        crate::display::render(&full_argv(&self.shown, self.scope(), argv))
    }

    /// Run one engine command to completion with its output captured.
    ///
    /// It does not start if [`Engine::check_cancel`] fails. On the first cancel while it runs, a
    /// command that creates something (`network create`, `run`) gets 2 s to finish, so the caller
    /// learns the ID it must roll back; any other is killed at once (its whole process group), and
    /// so is every command on a second cancel. A [`Engine::finishing`] engine ignores the first
    /// cancel. A killed command is [`ErrorKind::Interrupted`]; a command that finished is `Ok` even
    /// if a cancel arrived meanwhile (call [`Engine::check_cancel`] after recording what it made).
    /// Past the engine's timeout the command is killed and the error is [`ErrorKind::Timeout`].
    pub(crate) fn run(&self, verb: Verb, argv: Vec<OsString>) -> Result<Reply> {
        self.run_inner(verb, argv, None)
    }

    /// [`Engine::run`], with `env` (the `KEY=VALUE` lines) readable by the child at
    /// [`ENV_FILE_PATH`]: a pipe filled before the engine starts (see `env_pipe`), so nothing
    /// reaches any filesystem, even if bottle is killed at any moment, and what the engine has read
    /// is not there for the processes it starts. The engine CLI itself always runs with bottle's
    /// own environment: a value meant for the bundle never configures the CLI.
    pub(crate) fn run_with_env(
        &self,
        verb: Verb,
        argv: Vec<OsString>,
        env: &[u8],
    ) -> Result<Reply> {
        self.run_inner(verb, argv, (!env.is_empty()).then_some(env))
    }

    fn run_inner(&self, verb: Verb, argv: Vec<OsString>, env: Option<&[u8]>) -> Result<Reply> {
        let line = self.line(&argv);
        let done = self.execute(verb, &line, argv, env, Capture::Keep)?;
        let code = self.exit_code(verb, &line, done.status)?;
        let stderr = String::from_utf8_lossy(&done.stderr);
        Ok(Reply {
            short: self.short(verb),
            line,
            code,
            stdout: String::from_utf8_lossy(&done.stdout).into_owned(),
            class: classify(verb, code, &stderr),
            // Classified, and the engine's `--help` advice stripped, before masking: a value that
            // occurs in the engine's words must change neither what bottle decides nor what it
            // recognises in the text.
            // (A command that succeeded gave no advice; its stderr, e.g. a bundle's, stays whole.)
            stderr: match code {
                0 => self.masker.mask(&stderr),
                _ => self
                    .masker
                    .mask(&crate::display::strip_help_advice(&stderr)),
            },
        })
    }

    /// Run one engine command that streams until it is cancelled (`logs --follow`; no timeout),
    /// handing its stdout and stderr to `sink` as they come, every secret value of this engine's
    /// masked (see [`crate::display::MaskStream`]).
    pub(crate) fn run_follow(&self, verb: Verb, argv: Vec<OsString>, sink: Sink) -> Result<()> {
        self.run_shown(verb, argv, Capture::Follow(sink))
    }

    /// Run one engine command with its output (stdout and stderr) handed out line by line as
    /// [`Event::Output`] (for `build` and `pull` progress). Cancel and timeout as for
    /// [`Engine::run`].
    pub(crate) fn run_streaming(&self, verb: Verb, argv: Vec<OsString>) -> Result<()> {
        self.run_shown(verb, argv, Capture::Stream)
    }

    /// A command whose output the user sees as it comes, so an error points at it.
    fn run_shown(&self, verb: Verb, argv: Vec<OsString>, capture: Capture) -> Result<()> {
        let line = self.line(&argv);
        let done = self.execute(verb, &line, argv, None, capture)?;
        match self.exit_code(verb, &line, done.status)? {
            0 => Ok(()),
            // Its output was streamed as it came; the error keeps stderr's end too, so a library
            // user without a callback, and `--json`, still learn why.
            // (Classified from the masked text: a pull or build carries no secret value.)
            // The engine's advice to run its `--help` goes, as for a captured command (the user
            // ran bottle, not the engine).
            code => {
                let stderr = String::from_utf8_lossy(&done.stderr);
                let stderr = crate::display::strip_help_advice(&stderr);
                Err(Reply {
                    short: self.short(verb),
                    line,
                    code,
                    stdout: String::new(),
                    class: classify(verb, code, &stderr),
                    stderr,
                }
                .into_error())
            }
        }
    }

    /// Start the command in its own process group and wait for it, its cancel token and its clock.
    fn execute(
        &self,
        verb: Verb,
        line: &str,
        argv: Vec<OsString>,
        env: Option<&[u8]>,
        capture: Capture,
    ) -> Result<Finished> {
        self.check_cancel()?;
        self.emit(&Event::Command {
            line,
            slug: self.slug.as_ref(),
        });
        let env_fd = env.map(env_pipe).transpose()?;
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(Engine::args(self.scope(), argv))
            .stdin(Stdio::null())
            .process_group(0);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        die_with_bottle(&mut cmd);
        if let Some(fd) = &env_fd {
            let raw = fd.as_raw_fd();
            // SAFETY: between fork and exec only dup2(2), which is async-signal-safe, runs. `raw` is
            // at least 10 (see `env_pipe`), so it is neither a stdio fd nor 3; dup2 clears
            // close-on-exec on the copy, so the engine inherits fd 3 and nothing else of ours.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::dup2(raw, 3) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| self.could_not_execute(verb, line, e))?;
        drop(env_fd);
        let pgid = child.id() as i32;

        // One channel wakes this thread for everything that can end the wait: the engine's exit,
        // a reader done (a pipe closed, stdout past its cap), a cancel. Besides those it wakes
        // only at a deadline (the timeout, a create's grace), so a running command costs no
        // periodic wake-ups.
        let (wake_tx, wake) = mpsc::channel::<Wake>();
        let _on_cancel = self.cancel.on_cancel({
            let tx = wake_tx.clone();
            Box::new(move || {
                let _ = tx.send(Wake::Cancelled);
            })
        });
        let overflow = Arc::new(AtomicBool::new(false));
        let stdout_buf = Arc::new(Mutex::new(Vec::new()));
        let stderr_buf = Arc::new(Mutex::new(Vec::new()));
        // A panic of the caller's code on a reader thread (the `follow_logs` sink, the events
        // callback): the command is killed and the panic goes on in the caller's thread.
        let panicked: Arc<Mutex<Option<Box<dyn std::any::Any + Send>>>> = Arc::default();
        let readers = [
            (
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
                &stdout_buf,
                STDOUT_MAX,
                true,
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
                &stderr_buf,
                STDERR_KEEP,
                false,
            ),
        ];
        for (pipe, buf, keep, is_stdout) in readers {
            let Some(pipe) = pipe else {
                let _ = wake_tx.send(Wake::Closed);
                continue;
            };
            let wake_tx = wake_tx.clone();
            let buf = Arc::clone(buf);
            let overflow = Arc::clone(&overflow);
            let engine = self.clone();
            let capture = capture.clone();
            let panicked = Arc::clone(&panicked);
            std::thread::spawn(move || {
                let read = std::panic::AssertUnwindSafe(|| match capture {
                    Capture::Keep => {
                        let flag = is_stdout.then_some(&*overflow);
                        read_capped(pipe, &buf, keep, flag);
                    }
                    // What a streamed stderr said is kept too (its end), for the error.
                    Capture::Stream => {
                        stream_lines(pipe, &engine, (!is_stdout).then_some(&*buf));
                    }
                    Capture::Follow(sink) => {
                        let stream = match is_stdout {
                            true => Stream::Stdout,
                            false => Stream::Stderr,
                        };
                        let keep = (!is_stdout).then_some(&*buf);
                        follow(pipe, &engine.masker, stream, &sink, keep);
                    }
                });
                if let Err(panic) = std::panic::catch_unwind(read) {
                    kill_group(pgid);
                    let mut slot = panicked.lock().unwrap_or_else(|e| e.into_inner());
                    slot.get_or_insert(panic);
                }
                let _ = wake_tx.send(Wake::Closed);
            });
        }
        wait_in_thread(child, wake_tx);

        // A followed log streams until the user stops it: no timeout.
        let ends = match capture {
            Capture::Follow(_) => None,
            Capture::Keep | Capture::Stream => Some(started + self.timeout),
        };
        let mut first_cancel: Option<Instant> = None;
        let mut closed = 0;
        let status = loop {
            let now = Instant::now();
            let until = match self.verdict(verb, now, ends, &mut first_cancel, &overflow) {
                Ok(until) => until,
                Err(stop) => {
                    // A command that ended just now counts as finished.
                    if let Some(status) = exited(&wake, None, &mut closed) {
                        break status.map_err(|e| self.could_not_execute(verb, line, e))?;
                    }
                    kill_group(pgid);
                    // SIGKILL cannot be refused; reap it so nothing of it runs when we return.
                    let reap_by = Instant::now() + Duration::from_secs(1);
                    let _ = exited(&wake, Some(reap_by), &mut closed);
                    return Err(self.stopped(stop, verb, line));
                }
            };
            let got = match until {
                Some(t) => wake.recv_timeout(t.saturating_duration_since(now)),
                None => wake
                    .recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            };
            match got {
                Ok(Wake::Exited(status)) => {
                    break status.map_err(|e| self.could_not_execute(verb, line, e))?;
                }
                Ok(Wake::Closed) => closed += 1,
                Ok(Wake::Cancelled) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let e = Error::new(ErrorKind::EngineFailed, format!("lost track of `{line}`"));
                    return Err(e.with_engine_command(self.about(verb, line)));
                }
            }
        };

        // The engine has exited. Its pipes close now, unless a child it left behind holds them:
        // then use what was read so far, and leave that child alone.
        let deadline = Instant::now() + PIPE_GRACE;
        while closed < 2 {
            match wake.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Wake::Closed) => closed += 1,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let panic = panicked.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
        if overflow.load(Ordering::SeqCst) {
            return Err(self.stopped(Stop::TooLarge, verb, line));
        }
        let take =
            |b: &Mutex<Vec<u8>>| std::mem::take(&mut *b.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(Finished {
            status,
            stdout: take(&stdout_buf),
            stderr: take(&stderr_buf),
        })
    }

    /// Whether a running command must be killed now (`Err`, and why), or else the next time it
    /// must be looked at again even if nothing wakes its wait (`None`: only when woken). `ends`
    /// is when its timeout runs out, if it has one.
    fn verdict(
        &self,
        verb: Verb,
        now: Instant,
        ends: Option<Instant>,
        first_cancel: &mut Option<Instant>,
        overflow: &AtomicBool,
    ) -> std::result::Result<Option<Instant>, Stop> {
        let count = self.cancel.count();
        if count >= 2 {
            return Err(Stop::Cancel);
        }
        if ends.is_some_and(|end| now >= end) {
            return Err(Stop::Timeout);
        }
        if overflow.load(Ordering::SeqCst) {
            return Err(Stop::TooLarge);
        }
        let mut until = ends;
        if count >= 1 && !self.finishing {
            if !creates(verb) {
                return Err(Stop::Cancel);
            }
            let grace_ends = *first_cancel.get_or_insert(now) + CREATE_GRACE;
            if now >= grace_ends {
                return Err(Stop::Cancel);
            }
            until = Some(until.map_or(grace_ends, |end| end.min(grace_ends)));
        }
        Ok(until)
    }

    /// The command `line` of `verb`, for an error about it.
    fn about(&self, verb: Verb, line: &str) -> EngineCommand {
        EngineCommand {
            line: line.to_string(),
            short: self.short(verb),
        }
    }

    /// The program's file name and the verb's words: `docker network create`.
    fn short(&self, verb: Verb) -> String {
        let program = std::path::Path::new(&self.shown)
            .file_name()
            .map_or_else(|| self.shown.clone(), |f| f.to_string_lossy().into_owned());
        format!("{program} {}", verb.words())
    }

    /// The exit code of a command that ended; an error if a signal killed it.
    fn exit_code(&self, verb: Verb, line: &str, status: ExitStatus) -> Result<i32> {
        exit_code(line, status).map_err(|e| e.with_engine_command(self.about(verb, line)))
    }

    fn stopped(&self, stop: Stop, verb: Verb, line: &str) -> Error {
        self.stopped_why(stop, verb, line)
            .with_engine_command(self.about(verb, line))
    }

    fn stopped_why(&self, stop: Stop, verb: Verb, line: &str) -> Error {
        match stop {
            Stop::Cancel => Error::new(
                ErrorKind::Interrupted,
                format!("interrupted while `{line}` was running (killed it)"),
            ),
            Stop::Timeout => Error::new(
                ErrorKind::Timeout,
                format!(
                    "`{line}` did not finish within the timeout of {} and was killed; if the engine is only slow, give it a longer timeout, otherwise check that the engine answers (`{} version`)",
                    format_duration(self.timeout),
                    self.shown
                ),
            )
            .with_deadline(self.timeout)
            // Which command ran past it, as data (there is no exit code: it was killed).
            .with_command(crate::error::CommandFailure {
                line: line.to_string(),
                exit_code: None,
                stderr: String::new(),
            }),
            // A bundle's logs grow without bound: say so (it printed nothing); the limit is in the
            // error, for a caller to say how to get at the end of them.
            Stop::TooLarge if verb == Verb::Logs => Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "`{line}` printed more than 64 MiB: the bundle's logs are too long to print at once"
                ),
            )
            .with_output_limit(STDOUT_MAX as u64),
            Stop::TooLarge => Error::new(
                ErrorKind::EngineFailed,
                format!("`{line}` printed more than 64 MiB on stdout: output too large"),
            )
            .with_output_limit(STDOUT_MAX as u64),
        }
    }

    fn could_not_execute(&self, verb: Verb, line: &str, err: std::io::Error) -> Error {
        Error::new(
            ErrorKind::EngineUnavailable,
            format!(
                "could not execute `{line}`: {err}; check the engine (now `{}`)",
                self.shown
            ),
        )
        .with_engine_command(self.about(verb, line))
    }
}

/// The engine CLI dies with bottle: a `kill -9` of `bottle logs -f` left `docker logs --follow`
/// running under init. Linux sends the child SIGKILL when the thread that started it ends; the
/// thread of `execute` that starts an engine command returns only once the command was reaped (or
/// killed and given a second to be), so that is bottle's end. A bottle that died before `prctl` ran is caught by comparing the parent.
fn die_with_bottle(cmd: &mut std::process::Command) {
    // SAFETY: getpid(2) has no preconditions.
    let bottle = unsafe { libc::getpid() };
    // SAFETY: between fork and exec only prctl(2), getppid(2) and kill(2) run; all are
    // async-signal-safe and touch no memory of ours.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != bottle {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            Ok(())
        });
    }
}

/// Why a running command was killed.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Cancel,
    Timeout,
    TooLarge,
}

/// Verbs that create something: after a first cancel they may finish, so the ID is learnt.
fn creates(verb: Verb) -> bool {
    matches!(verb, Verb::NetworkCreate | Verb::Run)
}

fn kill_group(pgid: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names the group, which
    // is the child's own (process_group(0)).
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// What wakes the thread that waits for an engine command (see `Engine::execute`).
enum Wake {
    /// The engine exited, or waiting for it failed.
    Exited(std::io::Result<ExitStatus>),
    /// A reader is done: its pipe closed, its sink failed, or stdout passed its cap.
    Closed,
    /// The cancel token was cancelled.
    Cancelled,
}

/// Wait for `child` on a thread; its status arrives on `wake`.
fn wait_in_thread(mut child: Child, wake: mpsc::Sender<Wake>) {
    std::thread::spawn(move || {
        let _ = wake.send(Wake::Exited(child.wait()));
    });
}

/// The engine's exit, if it arrives on `wake` by `until` (`None`: only if it is there already),
/// counting the readers that are done meanwhile in `closed`.
fn exited(
    wake: &mpsc::Receiver<Wake>,
    until: Option<Instant>,
    closed: &mut usize,
) -> Option<std::io::Result<ExitStatus>> {
    loop {
        let got = match until {
            Some(t) => wake
                .recv_timeout(t.saturating_duration_since(Instant::now()))
                .ok(),
            None => wake.try_recv().ok(),
        };
        match got? {
            Wake::Exited(status) => return Some(status),
            Wake::Closed => *closed += 1,
            Wake::Cancelled => {}
        }
    }
}

/// Read `pipe` to its end, keeping at most `keep` bytes in `buf`. Past that, either stop and raise
/// `overflow`, or (without one) read on and discard.
fn read_capped(
    mut pipe: impl Read,
    buf: &Mutex<Vec<u8>>,
    keep: usize,
    overflow: Option<&AtomicBool>,
) {
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match pipe.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut b = buf.lock().unwrap_or_else(|e| e.into_inner());
        let take = n.min(keep - b.len());
        b.extend_from_slice(&chunk[..take]);
        if take < n
            && let Some(flag) = overflow
        {
            flag.store(true, Ordering::SeqCst);
            return;
        }
    }
}

/// Hand `pipe` out line by line (each at most [`LINE_MAX`] bytes), secrets masked.
fn stream_lines(pipe: impl Read, engine: &Engine, keep: Option<&Mutex<Vec<u8>>>) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(LINE_MAX).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = engine.masker.mask(text.trim_end_matches(['\n', '\r']));
        engine.emit(&Event::Output {
            text: &text,
            slug: engine.slug(),
        });
        if let Some(keep) = keep {
            // The end of what it said, masked (the end of a failing pull says why).
            keep_end(keep, format!("{text}\n").as_bytes());
        }
    }
}

/// Hand `pipe` to `sink` as it comes, masked by `masker` (see [`MaskStream`]), and keep the end
/// of what it said in `keep` (for the error, should the command fail). Stops when the pipe ends
/// or the sink fails.
fn follow(
    mut pipe: impl Read,
    masker: &Masker,
    stream: Stream,
    sink: &Sink,
    keep: Option<&Mutex<Vec<u8>>>,
) {
    let mut masked = MaskStream::new(masker.clone());
    let mut chunk = vec![0u8; 64 << 10];
    let hand_out = |shown: &[u8]| {
        if let Some(keep) = keep {
            keep_end(keep, shown);
        }
        shown.is_empty() || sink(stream, shown).is_ok()
    };
    loop {
        let n = match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if !hand_out(&masked.push(&chunk[..n])) {
            return;
        }
    }
    hand_out(&masked.finish());
}

/// Append `bytes` to `kept`, keeping at least its last [`STDERR_KEEP`] bytes, cut back only at
/// twice that, so keeping stays linear.
fn keep_end(kept: &Mutex<Vec<u8>>, bytes: &[u8]) {
    let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
    kept.extend_from_slice(bytes);
    if kept.len() > 2 * STDERR_KEEP {
        let cut = kept.len() - STDERR_KEEP;
        kept.drain(..cut);
    }
}

/// The read end of a pipe that already holds all of `bytes`, its write end closed, at an fd of 10
/// or more (close-on-exec).
///
/// A pipe rather than a file: what the engine reads is gone from it, so the processes the engine
/// starts in turn and that inherit fd 3 (the `ssh` of `DOCKER_HOST=ssh://…`, which may stay up as
/// a control master) find nothing there. An in-memory file (`memfd`) could be reopened from the
/// start by any of them for as long as they live. The pipe is filled before the engine starts,
/// so no thread writes while it runs, and a write end that nobody holds gives the reader a clean
/// end of file. It lives in memory only, like the file did.
fn env_pipe(bytes: &[u8]) -> Result<OwnedFd> {
    let err = |what: &str| {
        Error::io(
            format!("cannot {what} the in-memory env-file"),
            std::io::Error::last_os_error(),
        )
    };
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) writes two new fds into the array it is given, or returns -1.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(err("create"));
    }
    // SAFETY: both fds were just returned by pipe2 and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl(2) F_GETPIPE_SZ / F_SETPIPE_SZ on a pipe we own return a size or -1.
    let capacity = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) };
    if capacity < 0 || (capacity as usize) < bytes.len() {
        let want = libc::c_int::try_from(bytes.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: as above; the kernel rounds the size up, or refuses past pipe-max-size.
        if unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, want) } < 0 {
            return Err(Error::io(
                format!(
                    "the env-file of {} bytes does not fit a pipe (see /proc/sys/fs/pipe-max-size): the longest values fit as bare env keys, inherited from the environment, instead",
                    bytes.len()
                ),
                std::io::Error::last_os_error(),
            ));
        }
    }
    // The pipe holds it all now, so this never blocks.
    std::fs::File::from(write)
        .write_all(bytes)
        .map_err(|e| Error::io("cannot write the in-memory env-file", e))?;
    // Move it above the stdio fds and fd 3, so the child's dup2 onto 3 always copies.
    // SAFETY: fcntl(2) F_DUPFD_CLOEXEC on an fd we own returns a new fd or -1.
    let high = unsafe { libc::fcntl(read.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if high < 0 {
        return Err(err("move"));
    }
    // SAFETY: `high` is a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// Which CLI `program` is, when its file says so plainly (no command runs): podman if its name,
/// or the name it links to, starts with `podman`; the docker CLI if it is a binary, or a script
/// that never names podman (a wrapper of docker). `None` for a script that names podman: podman's
/// own `podman-docker` shim installs `docker` as one, but so does a docker wrapper whose comment
/// mentions podman; only the engine's `version` answer tells them apart ([`flavor_from_version`]).
/// Anything that is not podman is taken for the docker CLI, which is also right for the docker
/// CLI against podman's socket.
fn flavor_of(program: &std::path::Path) -> Option<Flavor> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let named_podman = |p: &std::path::Path| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("podman"))
    };
    // A bare name (`Engine::named("docker")`) was not looked up: a file of that name in the
    // current directory is not it, so only the name says anything.
    if program.parent().is_none_or(|p| p.as_os_str().is_empty()) {
        return Some(match named_podman(program) {
            true => Flavor::Podman,
            false => Flavor::Docker,
        });
    }
    let real = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    if named_podman(program) || named_podman(&real) {
        return Some(Flavor::Podman);
    }
    let mut head = Vec::new();
    // Never blocks: opened without waiting (a FIFO would wait for a writer), and read only when
    // it is a regular file.
    let read = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&real)
        .and_then(|f| match f.metadata()?.is_file() {
            true => f.take(4096).read_to_end(&mut head),
            false => Err(std::io::ErrorKind::InvalidInput.into()),
        });
    let script_names_podman =
        read.is_ok() && head.starts_with(b"#!") && head.windows(6).any(|w| w == b"podman");
    match script_names_podman {
        true => None,
        false => Some(Flavor::Docker),
    }
}

/// The flavor from `version --format '{{json .}}'`: podman's client reports `APIVersion` and
/// `OsArch`, the docker CLI's `ApiVersion` (and, from 20.10, `Context`). `None` if the answer has
/// no client part. The client part is printed even when the daemon does not answer.
fn flavor_from_version(stdout: &str) -> Option<Flavor> {
    let v: serde_json::Value = stdout.lines().find_map(|l| serde_json::from_str(l).ok())?;
    let client = v.get("Client")?.as_object()?;
    match client.contains_key("OsArch") || client.contains_key("APIVersion") {
        true => Some(Flavor::Podman),
        false => Some(Flavor::Docker),
    }
}

/// The whole command as run: the engine as shown, `[--context C]` (or `[--connection C]`), then
/// the verb's argv.
pub fn full_argv(shown: &str, scope: Option<(&str, &str)>, argv: &[OsString]) -> Vec<OsString> {
    std::iter::once(OsString::from(shown))
        .chain(Engine::args(scope, argv.to_vec()))
        .collect()
}

fn exit_code(line: &str, status: ExitStatus) -> Result<i32> {
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

#[cfg(test)]
mod tests {
    /// This thread's voluntary context switches so far (Linux).
    fn switches() -> u64 {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .unwrap();
        line.trim().parse().unwrap()
    }

    fn sleeper() -> Engine {
        Engine::at(PathBuf::from("/bin/sleep"), "sleep".into(), None)
    }

    /// The executor woke every 5 ms while an engine command ran (issue 15: 23,650 context
    /// switches for `up` of 32 bottles), to look at its cancel token and clock. It waits for
    /// events now: a command that runs half a second wakes the waiting thread a few times, not
    /// a hundred.
    #[test]
    fn waiting_for_an_engine_command_does_not_poll() {
        let before = switches();
        let reply = sleeper()
            .run(Verb::Ps, vec!["0.5".into()])
            .expect("sleep runs");
        let woke = switches() - before;
        assert_eq!(reply.code, 0);
        assert!(woke < 20, "the waiting thread woke {woke} times in 0.5 s");
    }

    /// Without a poll, a cancel must wake the wait itself: a read is killed at once, and a
    /// create (which gets a grace to finish) is killed when its grace is over.
    #[test]
    fn a_cancel_wakes_the_wait_of_a_running_command() {
        for (verb, at_least, at_most) in [
            (Verb::Ps, Duration::ZERO, Duration::from_secs(1)),
            (
                Verb::Run,
                CREATE_GRACE,
                CREATE_GRACE + Duration::from_secs(1),
            ),
        ] {
            let token = CancelToken::new();
            let engine = sleeper().with_cancel(token.clone());
            // Timed from the cancel itself: on a loaded machine the canceller's sleep may run
            // long, and that is not the wait's doing.
            let canceller = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                let at = Instant::now();
                token.cancel();
                at
            });
            let err = engine.run(verb, vec!["30".into()]).unwrap_err();
            let ended = Instant::now();
            let took = ended - canceller.join().unwrap();
            assert_eq!(err.kind(), &ErrorKind::Interrupted, "{verb:?}");
            assert!(took >= at_least && took < at_most, "{verb:?} took {took:?}");
        }
    }

    /// The timeout is a deadline the wait sleeps to, not a clock it looks at.
    #[test]
    fn the_timeout_ends_the_wait_without_a_poll() {
        let engine = sleeper().with_timeout(Duration::from_millis(300));
        let start = Instant::now();
        let err = engine.run(Verb::Ps, vec!["30".into()]).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Timeout);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn flavor_from_the_program_file() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let check =
            |p: &std::path::Path, want: Option<Flavor>| assert_eq!(flavor_of(p), want, "{p:?}");
        check(&file("podman", ""), Some(Flavor::Podman));
        check(&file("podman-remote", ""), Some(Flavor::Podman));
        check(&file("docker", "\x7fELF..."), Some(Flavor::Docker));
        // podman-docker's shim, and wrappers that name podman: the engine's answer decides.
        check(
            &file("docker-shim", "#!/bin/sh\nexec /usr/bin/podman \"$@\"\n"),
            None,
        );
        check(
            &file(
                "commented",
                "#!/bin/sh\n# podman users: see podman-docker\nexec /usr/bin/docker \"$@\"\n",
            ),
            None,
        );
        check(
            &file("slow-docker", "#!/bin/sh\nexec /usr/bin/docker \"$@\"\n"),
            Some(Flavor::Docker),
        );
        // A link named `docker` to podman.
        let link = dir.path().join("docker-link");
        symlink(dir.path().join("podman"), &link).unwrap();
        check(&link, Some(Flavor::Podman));
    }

    /// A docker wrapper whose comment mentions podman was taken for podman (issue 14), so `rm`
    /// got podman's `--time` and failed: the flavor is what `version` answers. (Captured from
    /// docker CLI 20.10 and 28.2, daemon up and down, and podman 4.3.)
    #[test]
    fn flavor_from_the_engines_version_answer() {
        let check = |stdout: &str, want: Option<Flavor>| {
            assert_eq!(flavor_from_version(stdout), want, "{stdout}")
        };
        check(
            r#"{"Client":{"Platform":{"Name":""},"Version":"20.10.24+dfsg1","ApiVersion":"1.41","DefaultAPIVersion":"1.41","GitCommit":"297e128","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","BuildTime":"Thu May  7 21:09:36 2026","Context":"default","Experimental":true},"Server":{"Version":"20.10.24+dfsg1"}}"#,
            Some(Flavor::Docker),
        );
        check(
            r#"{"Client":{"Version":"28.2.2","ApiVersion":"1.41","DefaultAPIVersion":"1.50","GitCommit":"e6534b4","GoVersion":"go1.24.3","Os":"linux","Arch":"amd64","BuildTime":"Fri May 30 12:07:14 2025","Context":"default"},"Server":null}"#,
            Some(Flavor::Docker),
        );
        check(
            r#"{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","GoVersion":"go1.19.8","GitCommit":"","BuiltTime":"Thu Jan  1 00:00:00 1970","Built":0,"OsArch":"linux/amd64","Os":"linux"}}"#,
            Some(Flavor::Podman),
        );
        check("", None);
        check("Cannot connect to the Docker daemon", None);
        check(r#"{"Server":{"Version":"1"}}"#, None);
    }

    use super::*;
    use crate::error::Invalid;

    #[track_caller]
    fn check(text: &str, want: Option<u64>) {
        let got = parse_timeout(text).ok().map(|d| d.as_millis() as u64);
        assert_eq!(got, want, "{text:?}");
        if let Some(ms) = want {
            // It reads back the same.
            let shown = format_duration(Duration::from_millis(ms));
            assert_eq!(
                parse_timeout(&shown).unwrap().as_millis() as u64,
                ms,
                "{shown}"
            );
        }
    }

    #[test]
    fn timeouts() {
        check("90s", Some(90_000));
        check("10m", Some(600_000));
        check("1h", Some(3_600_000));
        check("500ms", Some(500));
        check("30", Some(30_000));
        check("1s", Some(1000));
        for bad in [
            "",
            "0",
            "0s",
            "0ms",
            "-1",
            "1.5s",
            "s",
            "10 m",
            " 10m",
            "10M",
            "1d",
            "abc",
            "99999999999999999999",
            "18446744073709551615h",
            "9000h",
        ] {
            check(bad, None);
        }
        let err = parse_timeout("0").unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Invalid(Invalid::Timeout));
        assert!(!err.message().contains('\n'));
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(1)), "1s");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        // a_zero_timeout_was_taken_and_shown_as_0h (attack15).
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_micros(500)), "500µs");
    }

    fn reply(stderr: &str) -> Reply {
        Reply {
            line: "docker ls".into(),
            short: "docker ls".into(),
            code: 1,
            stdout: String::new(),
            stderr: stderr.into(),
            class: classify(Verb::Ps, 1, stderr),
        }
    }

    #[test]
    fn quotes_stderr_once_per_line_and_truncated() {
        assert_eq!(reply("  \n").quote_stderr(), "(no stderr)");
        assert_eq!(reply("a\nb\na\nb\nc\n").quote_stderr(), "a\nb\nc");
        let long = "x".repeat(3000);
        let q = reply(&long).quote_stderr();
        assert_eq!(q, format!("{}… (1000 bytes more)", "x".repeat(2000)));
        let q = reply(&format!("{}\n{}\n", "a".repeat(1999), "b".repeat(10))).quote_stderr();
        assert_eq!(q, format!("{}\n… (10 bytes more)", "a".repeat(1999)));
        // Never split a character.
        let q = reply(&"é".repeat(1500)).quote_stderr();
        assert!(q.starts_with(&"é".repeat(1000)));
    }

    #[test]
    fn quoting_much_stderr_is_linear() {
        let stderr: String = (0..200_000).map(|i| format!("line {i}\n")).collect();
        let start = Instant::now();
        let q = reply(&stderr).quote_stderr();
        assert!(q.len() < 2100, "{}", q.len());
        // Quadratic (a Vec for the repeated-line check), this takes minutes; linear, well under a
        // second on a quiet machine. The bound is loose so that a loaded CI machine never trips it.
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }
}
