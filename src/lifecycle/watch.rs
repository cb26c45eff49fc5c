//! `events`: the engine's own event stream, read as it comes (no poll loop), turned into the
//! bottles' changes by the pure [`Tracker`]. The only other command is the look a step may ask
//! for: one `container inspect` of the bundle by ID after it started (its ports) or after a
//! health event that does not say the health (podman).

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::Ctx;
use super::events::{BottleEvent, Lines, Tracker, parse_line};
use crate::argv;
use crate::classify::Verb;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::Stream;
use crate::input::Slug;

/// What the stream's reader thread keeps between the pieces of output it is handed.
struct Reading<F> {
    lines: Lines,
    tracker: Tracker,
    each: F,
    /// The callback said it has had enough, or a line could not be read: the stream is stopped
    /// on purpose.
    stopped: bool,
    unreadable: Option<Error>,
}

/// Call `each` with every change of the bottles `only` (every bottle of the prefix when empty)
/// from `since` on, as the engine reports them, until `each` breaks (`Ok`), the context's token
/// is cancelled ([`ErrorKind::Interrupted`]) or the engine ends its stream (an error: the stream
/// has no end of its own, so one that ends means the engine went away or failed).
pub fn watch<F>(ctx: &Ctx, only: &[Slug], since: SystemTime, each: F) -> Result<()>
where
    F: FnMut(BottleEvent) -> ControlFlow<()> + Send + 'static,
{
    // Stopping on purpose cancels this call's own token, never the caller's.
    let stop = ctx.engine.cancel_token().child();
    let ctx = Ctx {
        engine: ctx.engine.clone().with_cancel(stop.clone()),
        ..ctx.clone()
    };
    let argv = argv::events(since.duration_since(UNIX_EPOCH).unwrap_or_default());
    let line = ctx.engine.line(&argv);
    let reading = Arc::new(Mutex::new(Reading {
        lines: Lines::default(),
        tracker: Tracker::new(&ctx.prefix, only),
        each,
        stopped: false,
        unreadable: None,
    }));
    let sink = {
        let (reading, ctx, line) = (Arc::clone(&reading), ctx.clone(), line.clone());
        move |stream: Stream, bytes: &[u8]| -> std::io::Result<()> {
            // The engine's stderr is kept by the executor for the error, should it fail.
            if stream != Stream::Stdout {
                return Ok(());
            }
            let mut r = reading.lock().unwrap_or_else(|e| e.into_inner());
            let flow = read(&mut r, &ctx, &line, bytes);
            if flow.is_break() {
                r.stopped = true;
                stop.cancel();
                return Err(std::io::Error::other("the event stream was stopped"));
            }
            Ok(())
        }
    };
    let result = ctx.engine.run_follow(Verb::Events, argv, Arc::new(sink));
    let mut r = reading.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = r.unreadable.take() {
        return Err(e);
    }
    match (r.stopped, result) {
        (true, _) => Ok(()),
        (false, Err(e)) => Err(e),
        (false, Ok(())) => Err(Error::new(
            ErrorKind::EngineFailed,
            format!("`{line}` ended: the engine closed its event stream (exit status: 0)"),
        )),
    }
}

/// Hand the changes in `bytes` to the callback, making the looks they ask for.
fn read<F>(r: &mut Reading<F>, ctx: &Ctx, command: &str, bytes: &[u8]) -> ControlFlow<()>
where
    F: FnMut(BottleEvent) -> ControlFlow<()>,
{
    for text in r.lines.push(bytes) {
        let event = match parse_line(command, &text) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(e) => {
                r.unreadable = Some(e);
                return ControlFlow::Break(());
            }
        };
        let step = r.tracker.on_event(&event);
        let mut changes: Vec<BottleEvent> = step.event.into_iter().collect();
        if let Some(look) = step.look {
            // A bundle removed (or an engine gone) by now shows nothing to report: its own
            // event, or the stream's end, says so.
            let bundle = ctx.inspect_container(&look.id).ok().flatten();
            changes.extend(r.tracker.looked(&look, bundle.as_ref()));
        }
        for change in changes {
            (r.each)(change)?;
        }
    }
    ControlFlow::Continue(())
}
