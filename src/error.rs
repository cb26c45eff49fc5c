//! The library's one error type.
//!
//! Callers match on [`ErrorKind`]; the message is for humans. The binary maps kinds to exit codes in
//! exactly one place ([`Error::exit_code`]), so the contract's exit-code table lives here.

use std::fmt;

/// Which input was refused. Each class of invalid input in the contract has its own variant, so
/// callers and tests can tell them apart without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    Slug,
    Prefix,
    NameTooLong,
    Image,
    EnvKey,
    EnvValue,
    Volume,
    VolumeMode,
    Port,
    DuplicatePort,
    PublishIp,
    Pool,
    Block,
    Daemons,
    ConfigKey,
    Config,
    Timeout,
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
    /// An engine command ran longer than `--timeout` and was killed (exit 1).
    Timeout,
}

/// The error type of every fallible function in this crate.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(what: Invalid, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid(what), message)
    }

    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{context}: {err}"))
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The process exit code for this error, per the contract's table.
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
            | ErrorKind::Timeout => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
