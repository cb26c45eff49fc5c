//! The library's one error type.
//!
//! Callers match on [`ErrorKind`]; the message is for humans. The binary maps kinds to exit codes in
//! exactly one place ([`Error::exit_code`]), so the contract's exit-code table lives here.

use std::fmt;
use std::time::Duration;

/// Which input was refused. Each class of invalid input in the contract has its own variant, so
/// callers and tests can tell them apart without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// A slug that is not 1-40 of `[a-z0-9-]`, starting and ending with a letter or digit.
    Slug,
    /// A resource-name prefix that is not 1-20 of `[a-z0-9-]`.
    Prefix,
    /// Prefix and slug together make a resource name longer than the engine accepts.
    NameTooLong,
    /// An image reference the engine would not accept.
    Image,
    /// An env key that is not a shell-style name, or one bottle sets itself.
    EnvKey,
    /// An env value an env-file cannot carry (a newline or NUL).
    EnvValue,
    /// A volume that is not `HOST:CONTAINER[:ro|rw]` with absolute paths, or a repeated target.
    Volume,
    /// A volume mode other than `ro` or `rw`.
    VolumeMode,
    /// A port that is not a port number from 1 to 65535 with `/tcp` or `/udp` (or a `HOST:CTR` form).
    Port,
    /// The same container port published twice.
    DuplicatePort,
    /// A publish IP that is not an address, or not a loopback one without permission.
    PublishIp,
    /// A subnet that is not IPv4 CIDR text, or has host bits set.
    Subnet,
    /// A subnet pool that is not an IPv4 CIDR bottle can carve.
    Pool,
    /// A loopback pool (`--publish-ip auto`) that is not an IPv4 CIDR inside `127.0.0.0/8`, or
    /// one given without `auto`.
    LoopbackPool,
    /// A subnet prefix length outside the pool's length to 29.
    Block,
    /// A daemon name that is not `[a-z0-9_-]+`.
    Daemons,
    /// An unknown key in a config file.
    ConfigKey,
    /// A config file that cannot be read or parsed.
    Config,
    /// A timeout that is not a positive duration.
    Timeout,
    /// A readiness wait that is not a positive duration.
    Wait,
    /// A lease (`--ttl`) that is not a duration of at least a second.
    Ttl,
    /// A memory limit that is not a size (`512m`, `1g`, bytes), or below 6 MiB.
    Memory,
    /// A CPU limit that is not a number with at most three decimal places, or below 0.01.
    Cpus,
    /// A pids limit that is not a positive number.
    PidsLimit,
    /// A fleet's context list with an empty or repeated name, or a name a docker context
    /// cannot have (`[a-zA-Z0-9][a-zA-Z0-9_.+-]*`).
    Context,
}

/// Why a bundle `up` waited for ([`crate::SpecBuilder::wait`]) did not become ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotReady {
    /// The wait ran out first ([`Error::deadline`] says how long it was).
    Deadline,
    /// The bundle exited (or died) while `up` waited; the message quotes its last output.
    Exited,
    /// Another `up` of the bottle replaced the bundle while this one waited: the bottle is that
    /// run's now, and this one rolled nothing back.
    Replaced,
    /// The bundle was removed while `up` waited (by `down`, or something that is not bottle).
    Removed,
}

impl NotReady {
    /// As one `snake_case` word.
    pub fn as_str(self) -> &'static str {
        match self {
            NotReady::Deadline => "deadline",
            NotReady::Exited => "exited",
            NotReady::Replaced => "replaced",
            NotReady::Removed => "removed",
        }
    }
}

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was refused before any engine command ran (exit 2).
    Invalid(Invalid),
    /// The engine binary is missing or its daemon cannot be reached (exit 69).
    EngineUnavailable,
    /// An engine command failed; the message names it and quotes its stderr (exit 1).
    EngineFailed,
    /// A resource exists in a state bottle will not touch, such as one without bottle's labels (exit 1).
    Refused,
    /// The bottle does not exist (exit 1).
    NotFound,
    /// Every candidate subnet in the pool is taken (exit 1).
    PoolExhausted,
    /// A signal interrupted the run; what it created was rolled back (exit 130).
    Interrupted,
    /// Local I/O failed: the env-file, the lock, the config file (exit 1).
    Io,
    /// An engine command ran longer than the engine's timeout and was killed (exit 1);
    /// [`Error::deadline`] is that timeout.
    Timeout,
    /// The bundle did not become ready within the wait `up` was asked for, and why (exit 1).
    NotReady(NotReady),
}

impl ErrorKind {
    /// The kind as one `snake_case` word (see [`Error::kind_name`]).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Invalid(_) => "invalid",
            ErrorKind::EngineUnavailable => "engine_unavailable",
            ErrorKind::EngineFailed => "engine_failed",
            ErrorKind::Refused => "refused",
            ErrorKind::NotFound => "not_found",
            ErrorKind::PoolExhausted => "pool_exhausted",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Io => "io",
            ErrorKind::Timeout => "timeout",
            ErrorKind::NotReady(_) => "not_ready",
        }
    }
}

/// The error type of every fallible function in this crate.
///
/// Besides its [`ErrorKind`] and its message, an error keeps the data a caller may act on: the
/// engine command that failed ([`Error::command`]), what a failed `up` rolled back, what it could
/// not and what it kept on purpose ([`Error::rolled_back`], [`Error::left`], [`Error::kept`]), and
/// what a failed `down` had already removed ([`Error::removed`]). Each is empty where it does not
/// apply.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// Boxed, so that `Result<T>` stays small on the happy path.
    details: Option<Box<Details>>,
}

/// The data an [`Error`] may carry besides its message.
#[derive(Debug, Default, Clone)]
struct Details {
    command: Option<CommandFailure>,
    rolled_back: Vec<String>,
    left: Vec<String>,
    kept: Vec<String>,
    removed: Vec<String>,
    /// The same as `removed`, containers apart from networks, where the call knew which is which
    /// (`gc`).
    removed_by_kind: Option<Removed>,
    deadline: Option<Duration>,
    /// The engine command the error is about, whatever became of it.
    engine_command: Option<EngineCommand>,
    /// How much output bottle keeps of a command that printed more.
    output_limit: Option<u64>,
}

/// The engine command an error is about: one that failed, was killed (by a signal, a cancel or
/// its timeout), printed too much, or could not be started. What a caller needs to show it
/// without reading the message: the whole line, and the short form that names only the program
/// and the verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineCommand {
    pub(crate) line: String,
    pub(crate) short: String,
}

impl EngineCommand {
    /// The command line exactly as run, POSIX-quoted (it never holds a secret value); the
    /// message quotes it in backticks.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The program's file name and the engine verb, e.g. `docker network create`: which step it
    /// was, without its arguments.
    pub fn short(&self) -> &str {
        &self.short
    }
}

/// An engine command that failed: it ran to an exit code other than 0, or was killed at the
/// timeout ([`ErrorKind::Timeout`], no exit code). What was run, how it exited, and what it said;
/// secret values are masked in all three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFailure {
    pub(crate) line: String,
    pub(crate) exit_code: Option<i32>,
    pub(crate) stderr: String,
}

impl CommandFailure {
    /// The command line exactly as run, POSIX-quoted (it never holds a secret value).
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The engine CLI's exit code; `None` for a command killed at the timeout.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// The first 1 MiB of what the command wrote to stderr, secret values masked.
    pub fn stderr(&self) -> &str {
        &self.stderr
    }
}

/// What `down` (or `gc`) removed: resource names, containers before networks.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    /// The names of the containers removed (at most one bundle per bottle).
    pub containers: Vec<String>,
    /// The names of the networks removed.
    pub networks: Vec<String>,
    /// `down --volumes` only: the named volumes removed (those bottle made for the bottle). Not
    /// in the JSON when empty, so that `gc` and a plain `down` print what they always did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// `gc` only: the networks it kept (or, in a dry run, would keep) because containers bottle
    /// did not start are attached, with those containers. Not part of this object's JSON: `gc
    /// --json` puts it beside `removed`, since it was not removed.
    #[serde(skip)]
    pub kept: Vec<KeptNetwork>,
}

/// A network `gc` left because containers bottle did not start are attached to it: bottle never
/// detaches or removes what it did not start, so they must be detached before the network can go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeptNetwork {
    /// The network's name.
    pub network: String,
    /// The names of the containers attached to it that bottle did not start.
    pub containers: Vec<String>,
}

impl Removed {
    /// Nothing was removed: the bottle was already gone.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with this message, for code built on the library (the `bottle` CLI's
    /// own checks of its flags) that reports through the same type.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            details: None,
        }
    }

    /// An [`ErrorKind::Invalid`] error: `what` names the input, `message` says why.
    pub fn invalid(what: Invalid, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid(what), message)
    }

    /// The same error, `suffix` after its message (a fleet names the contexts that did not
    /// answer a look).
    pub(crate) fn suffixed(mut self, suffix: &str) -> Error {
        self.message.push_str(suffix);
        self
    }

    /// The same error, its message after `prefix` (a fleet names the context it came from).
    pub(crate) fn prefixed(mut self, prefix: &str) -> Error {
        self.message = format!("{prefix}{}", self.message);
        self
    }

    pub(crate) fn io(context: impl fmt::Display, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{context}: {err}"))
    }

    /// What went wrong, for callers to match on.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The one-line (sometimes multi-line, when it quotes engine output) message for people; the
    /// same text the CLI prints after `bottle: `.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The engine command whose failure this is, when one ran to a non-zero exit code: its line,
    /// exit code and stderr.
    pub fn command(&self) -> Option<&CommandFailure> {
        self.details.as_ref()?.command.as_ref()
    }

    /// For a failed or cancelled `up`: what its rollback removed, as `container NAME` /
    /// `network NAME`.
    pub fn rolled_back(&self) -> &[String] {
        self.details.as_ref().map_or(&[], |d| &d.rolled_back)
    }

    /// For a failed or cancelled `up`: what its rollback could not remove (or could not confirm
    /// gone), each with the reason. Empty means nothing of this run is left.
    pub fn left(&self) -> &[String] {
        self.details.as_ref().map_or(&[], |d| &d.left)
    }

    /// For a failed or cancelled `up`: what its rollback left on purpose, as ``volume `NAME` ``: the
    /// bottle's named volumes, which hold data (a `down` with [`crate::DownOptions::volumes`]
    /// removes them). Not in [`Error::left`], which is what could not be removed.
    pub fn kept(&self) -> &[String] {
        self.details.as_ref().map_or(&[], |d| &d.kept)
    }

    /// For a failed `down`: the containers and networks it had already removed before it failed.
    pub fn removed(&self) -> &[String] {
        self.details.as_ref().map_or(&[], |d| &d.removed)
    }

    /// For a cancelled `gc`: what it had removed, containers apart from networks.
    pub fn removed_by_kind(&self) -> Option<&Removed> {
        self.details
            .as_ref()
            .and_then(|d| d.removed_by_kind.as_ref())
    }

    /// The same error, recording what was removed, by kind (and by name, as [`Error::removed`]).
    pub(crate) fn with_removed_by_kind(mut self, removed: Removed) -> Error {
        let names = removed.containers.iter().chain(&removed.networks).cloned();
        self.details_mut().removed = names.collect();
        self.details_mut().removed_by_kind = Some(removed);
        self
    }

    /// The same error, recording what each of several removals removed (their names, as
    /// [`Error::removed`] gives them): for code that reports a cancel after the removals it let
    /// finish, as the CLI's `down --json` does.
    pub fn with_removed_of(mut self, removed: &[Removed]) -> Error {
        let names = removed
            .iter()
            .flat_map(|r| r.containers.iter().chain(&r.networks).cloned());
        self.details_mut().removed = names.collect();
        self
    }

    /// For [`ErrorKind::Timeout`], the timeout the command ran past; for
    /// [`NotReady::Deadline`], the wait that ran out.
    pub fn deadline(&self) -> Option<Duration> {
        self.details.as_ref()?.deadline
    }

    /// The engine command this error is about, when there is one (see [`EngineCommand`]): set
    /// for every error the executor reports about a command it ran or tried to run, including a
    /// timeout, a cancel that killed it and a failure to start it.
    pub fn engine_command(&self) -> Option<&EngineCommand> {
        self.details.as_ref()?.engine_command.as_ref()
    }

    /// For an engine command that printed more than bottle keeps (64 MiB of stdout), that limit
    /// in bytes: a bundle's logs, say, too long to print at once.
    pub fn output_limit(&self) -> Option<u64> {
        self.details.as_ref()?.output_limit
    }

    /// The same error, recording the engine command it is about.
    pub(crate) fn with_engine_command(mut self, command: EngineCommand) -> Error {
        self.details_mut().engine_command = Some(command);
        self
    }

    /// The same error, recording the output limit a command ran past.
    pub(crate) fn with_output_limit(mut self, limit: u64) -> Error {
        self.details_mut().output_limit = Some(limit);
        self
    }

    /// The same error (message and data) of another kind.
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.kind = kind;
        self
    }

    /// The same error, recording the time limit it ran past.
    pub(crate) fn with_deadline(mut self, deadline: Duration) -> Error {
        self.details_mut().deadline = Some(deadline);
        self
    }

    fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Box::default)
    }

    /// The same error, recording the command that failed.
    pub(crate) fn with_command(mut self, command: CommandFailure) -> Error {
        self.details_mut().command = Some(command);
        self
    }

    /// The same error (kind and data) with another message.
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Error {
        self.message = message.into();
        self
    }

    /// The same error, recording what a rollback removed and what it left.
    pub(crate) fn with_rollback(mut self, rolled_back: Vec<String>, left: Vec<String>) -> Error {
        let d = self.details_mut();
        d.rolled_back = rolled_back;
        d.left = left;
        self
    }

    /// The same error, recording what a rollback left on purpose (see [`Error::kept`]).
    pub(crate) fn with_kept(mut self, kept: Vec<String>) -> Error {
        if !kept.is_empty() {
            self.details_mut().kept = kept;
        }
        self
    }

    /// The same error, recording what a failed `down` had already removed.
    pub(crate) fn with_removed(mut self, removed: Vec<String>) -> Error {
        self.details_mut().removed = removed;
        self
    }

    /// The kind as one `snake_case` word, as the CLI's `--json` error object names it:
    /// `invalid`, `engine_unavailable`, `engine_failed`, `refused`, `not_found`, `pool_exhausted`,
    /// `interrupted`, `io`, `timeout` or `not_ready`.
    pub fn kind_name(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The process exit code the CLI exits with for this error, per the contract's table.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Invalid(_) => 2,
            ErrorKind::EngineUnavailable => 69,
            ErrorKind::Interrupted => 130,
            ErrorKind::EngineFailed
            | ErrorKind::Refused
            | ErrorKind::NotFound
            | ErrorKind::PoolExhausted
            | ErrorKind::Io
            | ErrorKind::Timeout
            | ErrorKind::NotReady(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
