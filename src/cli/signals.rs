//! The binary's signal handling: the library installs none (it keeps no process-wide state), so
//! the CLI turns signals into cancels of the one token its `Bottles` watches.

use bottle::{CancelToken, Error, ErrorKind, Result};

/// SIGINT, SIGTERM, SIGHUP (a closed terminal or dropped ssh session) and SIGQUIT each call
/// `token.cancel()`, from one signal-hook thread. Called once per process, by `run`.
pub fn cancel_on_signals(token: &CancelToken) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let io = |what: &str, e: std::io::Error| Error::new(ErrorKind::Io, format!("{what}: {e}"));
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| io("cannot install the signal handler", e))?;
    let token = token.clone();
    std::thread::Builder::new()
        .name("bottle-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                token.cancel();
            }
        })
        .map_err(|e| io("cannot start the signal thread", e))?;
    Ok(())
}
