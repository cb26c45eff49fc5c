//! Cross-process locks for a local engine: one per slug, so concurrent `up`s and `down`s of one
//! bottle take turns, and one for subnet choice, so two bottles never pick the same free subnet at
//! the same moment.
//!
//! Engines before 25 let two racing `network create`s make two networks with one name, and not every
//! engine rejects an overlapping subnet when `--ip-range` is given (moby#46756), so the engine alone
//! cannot be trusted to serialise these. The locks are advisory `flock`s (std's `File::lock`) on
//! files in a private runtime directory; the kernel drops them when a process dies, so a killed run
//! never leaves a stale lock.

use std::fs::{self, File};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A held lock, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// `$XDG_RUNTIME_DIR/bottle`, else `<tmp>/bottle-<uid>`: private to this user.
fn dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("bottle"),
        // SAFETY: geteuid(2) cannot fail and has no preconditions.
        _ => std::env::temp_dir().join(format!("bottle-{}", unsafe { libc::geteuid() })),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| {
            Error::io(
                format!("cannot create the lock directory `{}`", dir.display()),
                e,
            )
        })?;
    // Refuse a directory someone else can write to: they could hold our locks forever.
    let meta =
        fs::metadata(&dir).map_err(|e| Error::io(format!("cannot read `{}`", dir.display()), e))?;
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(Error::new(
            crate::ErrorKind::Io,
            format!(
                "lock directory `{}` is writable by others; make it 0700",
                dir.display()
            ),
        ));
    }
    Ok(dir)
}

/// Take the lock called `name`, waiting for whoever holds it. A signal while waiting gives up
/// with [`crate::ErrorKind::Interrupted`], whatever the policy: nothing has begun yet.
pub fn acquire(
    name: &str,
    cancelled: &dyn Fn() -> bool,
    on_wait: &dyn Fn(&str),
) -> Result<Option<Lock>> {
    let path = dir()?.join(format!("{name}.lock"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("cannot open the lock `{}`", path.display()), e))?;
    let start = Instant::now();
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(Lock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock `{}`", path.display()), e));
            }
        }
        if cancelled() {
            return Err(Error::new(
                crate::ErrorKind::Interrupted,
                format!(
                    "interrupted while waiting for another bottle process ({name}); nothing was changed"
                ),
            ));
        }
        if !said && start.elapsed() > Duration::from_secs(2) {
            on_wait(name);
            said = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
