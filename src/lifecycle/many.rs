//! Many bottles at once: a bounded number of scoped threads that take the next bottle from a
//! shared queue. The engine's own work (killing a container, tearing down a bridge) dominates the
//! time of `down` and `up`, and the engine does it for several bottles at once, so this is what
//! makes a fleet fast; a process start per command is small beside it.
//!
//! No thread pool crate: `std::thread::scope` and an atomic index are the whole of it, and the
//! scope lets each job borrow the context, the spec and the slugs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cancel::CancelToken;

/// How many bottles one invocation works on at once unless told otherwise (`--parallel`).
pub const DEFAULT_PARALLEL: usize = 4;
/// The most `--parallel` accepts: each bottle in flight holds an engine process or two.
pub const MAX_PARALLEL: usize = 64;

/// Run `work` on each of `items`, at most `parallel` at a time, and return the results in the
/// items' order, whatever order they finished in.
///
/// Once `token` is cancelled no further item starts: the result of each item that had not
/// started is `None`. Items in flight are not touched here; their own engine calls see the same
/// token (an `up` rolls back, a `down` finishes its removal). One item's failure does not stop
/// the others: `R` carries it.
pub fn bounded<T, R, F>(
    items: &[T],
    parallel: usize,
    token: &CancelToken,
    work: F,
) -> Vec<Option<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(item) = items.get(i) else { break };
            if token.is_cancelled() {
                break;
            }
            let r = work(item);
            *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    };
    let threads = parallel.clamp(1, items.len().max(1));
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(worker);
            }
        });
    }
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// `bounded` over `n` items that each sleep a little and note how many run at the same time,
    /// checking the results' order and the most at once. The first `want_most` items wait (at
    /// most 5 s) until that many run together: on a loaded machine a thread may start late, and
    /// a bare sleep would let the others finish first and the count come out low.
    #[track_caller]
    fn check(n: usize, parallel: usize, want_most: usize) {
        let now = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<usize> = (0..n).collect();
        // Later items finish first, so order comes from the queue index, not from completion.
        let results = bounded(&items, parallel, &CancelToken::new(), |&i| {
            let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(at_once, Ordering::SeqCst);
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while i < want_most
                && most.load(Ordering::SeqCst) < want_most
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(5 * (n - i) as u64));
            now.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        let want: Vec<Option<usize>> = (0..n).map(|i| Some(i * 10)).collect();
        assert_eq!(results, want);
        assert_eq!(most.load(Ordering::SeqCst), want_most);
    }

    #[test]
    fn results_in_order_and_at_most_parallel_at_once() {
        check(0, 4, 0);
        check(1, 4, 1);
        check(8, 1, 1);
        check(8, 3, 3);
        check(3, 64, 3);
    }

    #[test]
    fn a_cancel_starts_no_further_item() {
        let token = CancelToken::new();
        let items: Vec<usize> = (0..10).collect();
        let results = bounded(&items, 2, &token, |&i| {
            if i == 3 {
                token.cancel();
            }
            i
        });
        // Item 3 ran; each worker takes at most one more index after the cancel and starts
        // nothing, so nothing after the item in hand at the cancel (at most 4) ran.
        assert_eq!(results[3], Some(3));
        assert!(results[5..].iter().all(Option::is_none), "{results:?}");
    }
}
