//! Cross-process locks for a local engine: one per slug, so concurrent `up`s and `down`s of one
//! bottle take turns, and one for subnet choice, so two bottles never pick the same free subnet at
//! the same moment.
//!
//! Engines before 25 let two racing `network create`s make two networks with one name, and not every
//! engine rejects an overlapping subnet when `--ip-range` is given (moby#46756), so the locks spare
//! the engine that wasted work. Correctness never rests on them: `lifecycle` handles every race the
//! locks would have prevented. The locks are advisory `flock`s (std's `File::lock`) on files in a
//! private directory; the kernel drops them when a process dies, so a killed run never leaves a
//! stale lock.
//!
//! The directory is `$XDG_RUNTIME_DIR/bottle`, else `<tmp>/bottle-<euid>`. On a shared machine
//! another user can create names in `/tmp` first, so bottle trusts the directory only if it is a
//! real directory (not a symlink), owned by this user, and mode 0700 (a looser mode on our own
//! directory is tightened). Lock files are opened relative to that directory's descriptor, without
//! following symlinks and without blocking (a FIFO planted as a lock file is refused, not waited
//! on), and must be regular files owned by this user. bottle creates only its own last path
//! component, never a missing `XDG_RUNTIME_DIR` or `TMPDIR`. Whenever a lock cannot be had (the
//! runtime directory is missing or read-only, or what is there is another user's, a symlink or a
//! FIFO), bottle runs without locks and says so: in a 1777 temp directory any local user can take
//! the name first, and that must cost bottle its locks only, never its work.
//!
//! The library prints nothing: waits and the fallback are reported through a callback.

use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// A held lock, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    /// Its file's path, in [`HELD_HERE`] while held.
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        held_here().remove(&self.path);
    }
}

/// The lock files this process holds. A `flock` is per open file, so two threads of one process
/// (`up` of several slugs) wait for each other as two processes do; this tells them apart, so a
/// wait is said to be for "another bottle process" only when it is one. Only words depend on it.
static HELD_HERE: std::sync::Mutex<std::collections::BTreeSet<PathBuf>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn held_here() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<PathBuf>> {
    HELD_HERE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where the lock directory lives: found once, when a [`crate::Bottles`] (or the CLI's context)
/// is made, so nothing reads the process environment when a lock is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// The directory bottle's own directory goes in; bottle never creates it.
    parent: PathBuf,
    /// How to name `parent` in messages, e.g. `$XDG_RUNTIME_DIR`.
    parent_is: &'static str,
    /// bottle's own directory, `parent/<name>`.
    dir: PathBuf,
}

impl Location {
    /// `$XDG_RUNTIME_DIR/bottle`, else `<tmp>/bottle-<euid>`.
    pub(crate) fn from_env() -> Location {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) if !d.is_empty() => Location {
                dir: Path::new(&d).join("bottle"),
                parent: PathBuf::from(d),
                parent_is: "$XDG_RUNTIME_DIR",
            },
            _ => {
                let tmp = std::env::temp_dir();
                Location {
                    dir: tmp.join(format!("bottle-{}", euid())),
                    parent: tmp,
                    parent_is: "the temp directory ($TMPDIR)",
                }
            }
        }
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// Why the lock directory or a lock file cannot be used: one line for people, naming the path.
type Unusable = String;

/// Take the lock called `name`, waiting for whoever holds it.
///
/// - `Ok(Some(lock))`: held until dropped.
/// - `Ok(None)`: no lock here; `on_wait` has been told why, and the caller runs without it. Every
///   reason falls back, the hostile ones included (another user's directory, a symlink, a FIFO):
///   locks only spare the engine some work, so a directory anyone else controls must never stop
///   bottle (issue 14), and bottle writes nothing into it.
/// - `Err`: only [`ErrorKind::Interrupted`], when `cancelled()` turned true while waiting: nothing
///   has begun yet.
///
/// `on_wait` is called at most once per call (twice when a wait runs out), with one complete line
/// for people (no `bottle:` prefix, no newline): `waiting for another bottle process (NAME)` when
/// the wait for another process begins, or `running without locks: WHY …` when locks cannot be
/// used. A reason about the directory is worded the same for every lock name, so a caller that
/// shows each distinct line once warns once per process.
pub fn acquire(
    name: &str,
    patience: Duration,
    cancelled: &dyn Fn() -> bool,
    on_wait: &dyn Fn(&str),
) -> Result<Option<Lock>> {
    acquire_at(&Location::from_env(), name, patience, cancelled, on_wait)
}

/// The suffix of every "running without locks" line.
const WHY_NOT_NEEDED: &str = "they only spare the engine some work; bottle is correct without them";

pub(crate) fn acquire_at(
    at: &Location,
    name: &str,
    patience: Duration,
    cancelled: &dyn Fn() -> bool,
    on_wait: &dyn Fn(&str),
) -> Result<Option<Lock>> {
    let file = match open_dir(at).and_then(|dir| open_lock(at, &dir, name)) {
        Ok(file) => file,
        Err(why) => {
            on_wait(&format!("running without locks: {why} ({WHY_NOT_NEEDED})"));
            return Ok(None);
        }
    };
    let path = at.dir.join(format!("{name}.lock"));
    let shown = path.display();
    let mut waiting = false;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => {
                held_here().insert(path.clone());
                return Ok(Some(Lock { _file: file, path }));
            }
            Err(fs::TryLockError::WouldBlock) => {}
            // A filesystem without flock (some network filesystems): the same fallback.
            Err(fs::TryLockError::Error(e)) => {
                on_wait(&format!(
                    "running without locks: cannot lock `{shown}`: {e} ({WHY_NOT_NEEDED})"
                ));
                return Ok(None);
            }
        }
        if cancelled() {
            return Err(Error::new(
                ErrorKind::Interrupted,
                format!("interrupted while waiting for another bottle process ({name})"),
            ));
        }
        // A lock only spares the engine some work, so waiting for it is bounded: a process that
        // hangs while holding it (a hung engine, under a 10-minute timeout) must not stall every
        // other bottle on this host.
        // Another thread of this process (another bottle of the same command) is no news to
        // the person who started it: that wait is not announced.
        let ours = held_here().contains(&path);
        if started.elapsed() >= patience {
            let holder = match ours {
                true => "another bottle of this command",
                false => "another bottle process",
            };
            on_wait(&format!(
                "running without the lock `{shown}`: {holder} has held it for {} s (locks only spare the engine some work; bottle is correct without them)",
                started.elapsed().as_secs()
            ));
            return Ok(None);
        }
        if !waiting && !ours {
            on_wait(&format!("waiting for another bottle process ({name})"));
            waiting = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Create bottle's own directory if needed (only the last component, mode 0700), then open it
/// without following a symlink and check what was opened: a directory, ours. Anything else is a
/// reason to run without locks; a directory that is not ours is never written to.
fn open_dir(at: &Location) -> std::result::Result<File, Unusable> {
    let dir = &at.dir;
    let shown = dir.display();
    let parent = at.parent.display();
    let parent_is = at.parent_is;
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!(
                "{parent_is} `{parent}` does not exist; bottle does not create it"
            ));
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            return Err(format!("{parent_is} `{parent}` is not a directory"));
        }
        Err(e) => {
            return Err(format!(
                "cannot create `{shown}` in {parent_is} `{parent}`: {e}"
            ));
        }
    }
    let fix = "bottle does not use it; remove it, or set XDG_RUNTIME_DIR to a directory of yours";
    let not_yours = |uid: u32| {
        format!(
            "lock directory `{shown}` belongs to uid {uid}, not to you (uid {}): {fix}",
            euid()
        )
    };
    // lstat first, for a clear message; the checks that count are on the opened descriptor.
    let lmeta = fs::symlink_metadata(dir).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let ft = lmeta.file_type();
    if ft.is_symlink() || !ft.is_dir() {
        return Err(format!(
            "lock directory `{shown}` is {}, not a directory: {fix}",
            crate::input::file_kind(&ft)
        ));
    }
    if lmeta.uid() != euid() {
        return Err(not_yours(lmeta.uid()));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
        .map_err(|e| match e.raw_os_error() {
            // Swapped for a symlink or a file since the lstat above.
            Some(libc::ELOOP | libc::ENOTDIR) => {
                format!("lock directory `{shown}` is not a directory: {fix}")
            }
            _ => format!("cannot open the lock directory `{shown}`: {e}"),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if meta.uid() != euid() {
        return Err(not_yours(meta.uid()));
    }
    // Ours, but perhaps made by an older bottle or under `umask 000`: tighten it (fchmod, on the
    // descriptor just checked).
    if meta.mode() & 0o777 != 0o700 {
        file.set_permissions(fs::Permissions::from_mode(0o700))
            .map_err(|e| {
                format!(
                    "lock directory `{shown}` is mode {:o} and cannot be made 0700: {e}",
                    meta.mode() & 0o777
                )
            })?;
    }
    Ok(file)
}

/// Open (or create) the lock file `name.lock` in the opened directory, and check that it is a
/// regular file of ours.
fn open_lock(at: &Location, dir: &File, name: &str) -> std::result::Result<File, Unusable> {
    let file_name = format!("{name}.lock");
    let path = at.dir.join(&file_name);
    let shown = path.display();
    let file = match open_lock_file(dir, &file_name) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(format!(
                "lock file `{shown}` is a symlink: remove it (bottle creates its own)"
            ));
        }
        Err(e) => return Err(format!("cannot open the lock `{shown}`: {e}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if !meta.file_type().is_file() {
        return Err(format!(
            "lock file `{shown}` is {}, not a regular file: remove it (bottle creates its own)",
            crate::input::file_kind(&meta.file_type())
        ));
    }
    if meta.uid() != euid() {
        return Err(format!(
            "lock file `{shown}` belongs to uid {}, not to you (uid {}): remove it",
            meta.uid(),
            euid()
        ));
    }
    Ok(file)
}

/// `openat(dir, name, O_RDWR|O_CREAT|O_NOFOLLOW|O_NONBLOCK)`, mode 0600. `O_NONBLOCK` makes an open
/// of a FIFO return at once instead of waiting for a writer; `flock` ignores it.
fn open_lock_file(dir: &File, name: &str) -> io::Result<File> {
    if name.contains('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a lock name holds no `/`",
        ));
    }
    let c_name = CString::new(name)?;
    let flags = libc::O_RDWR
        | libc::O_CREAT
        | libc::O_NOFOLLOW
        | libc::O_NONBLOCK
        | libc::O_CLOEXEC
        | libc::O_NOCTTY;
    // SAFETY: `dir` is an open directory descriptor and `c_name` a NUL-terminated string, both
    // alive for the call; openat(2) has no other preconditions.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c_name.as_ptr(),
            flags,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat(2), is valid, and is owned by nothing else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn location(parent: &Path) -> Location {
        Location {
            parent: parent.to_path_buf(),
            parent_is: "$XDG_RUNTIME_DIR",
            dir: parent.join("bottle"),
        }
    }

    /// Take `name` at `at`, recording what `on_wait` was told.
    fn take(at: &Location, name: &str) -> (Result<Option<Lock>>, Vec<String>) {
        let told = RefCell::new(Vec::new());
        let res = acquire_at(at, name, Duration::MAX, &|| false, &|m| {
            told.borrow_mut().push(m.to_string())
        });
        (res, told.into_inner())
    }

    /// Not used: no lock, one line saying why, at once.
    #[track_caller]
    fn check_refused(at: &Location, name: &str, want: &str) {
        let start = std::time::Instant::now();
        let (res, told) = take(at, name);
        assert!(res.expect("runs without the lock").is_none());
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].starts_with("running without locks: "), "{told:?}");
        assert!(told[0].contains(want), "{told:?}");
        assert!(!told[0].contains('\n'), "{told:?}");
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn creates_a_private_dir_and_a_private_file() {
        let tmp = tempfile::tempdir().unwrap();
        let at = location(tmp.path());
        let (res, told) = take(&at, "x");
        assert!(res.unwrap().is_some());
        assert!(told.is_empty(), "{told:?}");
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&at.dir), 0o700);
        assert_eq!(mode(&at.dir.join("x.lock")), 0o600);
    }

    #[test]
    fn tightens_a_loose_dir_of_our_own() {
        let tmp = tempfile::tempdir().unwrap();
        let at = location(tmp.path());
        fs::create_dir(&at.dir).unwrap();
        fs::set_permissions(&at.dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(take(&at, "x").0.unwrap().is_some());
        assert_eq!(fs::metadata(&at.dir).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn refuses_symlinks_and_fifos() {
        let tmp = tempfile::tempdir().unwrap();
        let at = location(tmp.path());
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &at.dir).unwrap();
        check_refused(&at, "x", "is a symlink, not a directory");
        assert!(
            fs::read_dir(&elsewhere).unwrap().next().is_none(),
            "nothing made through it"
        );
        fs::remove_file(&at.dir).unwrap();
        fs::create_dir(&at.dir).unwrap();
        std::os::unix::fs::symlink(elsewhere.join("target"), at.dir.join("x.lock")).unwrap();
        check_refused(&at, "x", "is a symlink: remove it");
        assert!(!elsewhere.join("target").exists(), "symlink followed");
        let fifo = CString::new(at.dir.join("f.lock").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        check_refused(&at, "f", "is a FIFO, not a regular file");
    }

    #[test]
    fn never_creates_a_missing_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let at = location(&tmp.path().join("missing/runtime"));
        let (res, told) = take(&at, "x");
        assert!(res.unwrap().is_none());
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].contains("does not exist"), "{told:?}");
        assert!(!tmp.path().join("missing").exists());
    }

    /// Another process holding `name`'s lock in `at`: `flock(1)`, until dropped.
    struct OtherProcess(std::process::Child);

    impl OtherProcess {
        fn hold(at: &Location, name: &str) -> OtherProcess {
            take(at, name).0.unwrap().unwrap();
            let path = at.dir.join(format!("{name}.lock"));
            // `--no-fork`: flock becomes the shell, then `sleep`, so killing it frees the lock.
            let mut child = std::process::Command::new("flock")
                .arg("--no-fork")
                .arg(&path)
                .args(["sh", "-c", "echo held; exec sleep 30"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("flock(1), from util-linux");
            let mut line = String::new();
            let out = child.stdout.take().unwrap();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
            assert_eq!(line, "held\n");
            OtherProcess(child)
        }
    }

    impl Drop for OtherProcess {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// `up` of 16 slugs said "waiting for another bottle process (subnets)" when only its own
    /// threads held the lock: such a wait is not announced, and its bound says whose it is.
    #[test]
    fn own_threads_were_called_another_bottle_process() {
        let tmp = tempfile::tempdir().unwrap();
        let at = location(tmp.path());
        let held = take(&at, "x").0.unwrap().unwrap();
        let told = RefCell::new(Vec::new());
        let res = acquire_at(&at, "x", Duration::from_millis(100), &|| false, &|m| {
            told.borrow_mut().push(m.to_string())
        });
        assert!(res.unwrap().is_none());
        let told = told.into_inner();
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(
            told[0].contains(": another bottle of this command has held it"),
            "{told:?}"
        );
        drop(held);
        let (again, told) = take(&at, "x");
        assert!(again.unwrap().is_some() && told.is_empty(), "{told:?}");
    }

    #[test]
    fn a_wait_is_bounded_then_bottle_goes_on_without_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let at = location(tmp.path());
        let _held = OtherProcess::hold(&at, "x");
        let told = RefCell::new(Vec::new());
        let started = std::time::Instant::now();
        let res = acquire_at(&at, "x", Duration::from_millis(200), &|| false, &|m| {
            told.borrow_mut().push(m.to_string())
        });
        assert!(res.unwrap().is_none());
        assert!(started.elapsed() < Duration::from_secs(2));
        let told = told.into_inner();
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(told[1].starts_with("running without the lock"), "{told:?}");
        assert!(
            told[1].contains("another bottle process has held it"),
            "{told:?}"
        );
    }

    #[test]
    fn a_wait_is_announced_once_and_can_be_cancelled() {
        let tmp = tempfile::tempdir().unwrap();
        let at = location(tmp.path());
        let held = OtherProcess::hold(&at, "x");
        let told = RefCell::new(Vec::new());
        let polls = std::cell::Cell::new(0);
        let res = acquire_at(
            &at,
            "x",
            Duration::MAX,
            &|| {
                polls.set(polls.get() + 1);
                polls.get() > 20
            },
            &|m| told.borrow_mut().push(m.to_string()),
        );
        assert_eq!(res.unwrap_err().kind(), &ErrorKind::Interrupted);
        assert_eq!(
            told.into_inner(),
            ["waiting for another bottle process (x)"]
        );
        drop(held);
        assert!(take(&at, "x").0.unwrap().is_some());
    }
}
