//! Cancellation: a token the CLI trips on a signal and the executor polls.
//!
//! There is no process-wide state here: each [`CancelToken`] is its own counter, shared by its clones.
//! The library never installs a signal handler; the `bottle` binary wires its signals to a token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A shared count of cancel requests: the first asks commands to stop (those that must finish
/// ignore it), the second stops everything.
///
/// A [`crate::Bottles`] call counts only the requests made while it runs (it watches the token
/// `CancelToken::since_now`), so a cancel stops the calls in flight and never poisons the handle:
/// a `down` after a cancelled `up` runs, with the same handle and token.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
    /// Requests made before this view was taken, which it does not count.
    base: u32,
    /// A token whose requests count for this one too (see `CancelToken::child`).
    parent: Option<Arc<CancelToken>>,
}

#[derive(Debug, Default)]
struct Inner {
    count: AtomicU32,
}

impl CancelToken {
    /// A token that nothing has cancelled yet, shared by its clones.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// One more cancel request. Each call counts.
    pub fn cancel(&self) {
        // Saturating, so a flood of signals never wraps back to "not cancelled".
        let _ = self
            .inner
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_add(1));
    }

    /// How many cancel requests have arrived (since this view was taken, for one made by
    /// `CancelToken::since_now`).
    pub fn count(&self) -> u32 {
        let own = self
            .inner
            .count
            .load(Ordering::SeqCst)
            .saturating_sub(self.base);
        own.saturating_add(self.parent.as_ref().map_or(0, |p| p.count()))
    }

    /// The same token, counting only the requests made from now on: a request reaches it and
    /// every other clone, but the ones made before do not count for it.
    pub(crate) fn since_now(&self) -> CancelToken {
        CancelToken {
            inner: Arc::clone(&self.inner),
            base: self.inner.count.load(Ordering::SeqCst),
            parent: self.parent.as_ref().map(|p| Arc::new(p.since_now())),
        }
    }

    /// A new token that counts this one's requests (those this view counts: take the child of
    /// a `since_now` view for the later ones only) and its own, whose own requests reach only
    /// it: for a call that must stop on its own (`Bottles::events` dropped, its callback done)
    /// as well as on the handle's cancel, without cancelling the handle. (Whatever waits for a
    /// cancel of a child must hear its parent's too: `count` adds the parent's.)
    pub(crate) fn child(&self) -> CancelToken {
        CancelToken {
            inner: Arc::default(),
            base: 0,
            parent: Some(Arc::new(self.clone())),
        }
    }

    /// `count() >= 1`.
    pub fn is_cancelled(&self) -> bool {
        self.count() >= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_since_now_counts_only_later_cancels() {
        let t = CancelToken::new();
        t.cancel();
        let view = t.since_now();
        assert!(!view.is_cancelled());
        t.cancel();
        assert_eq!((t.count(), view.count()), (2, 1));
        // A cancel through the view reaches the token too.
        view.cancel();
        assert_eq!((t.count(), view.count()), (3, 2));
    }

    #[test]
    fn counts_every_cancel_across_clones() {
        let t = CancelToken::new();
        assert_eq!(t.count(), 0);
        assert!(!t.is_cancelled());
        let c = t.clone();
        c.cancel();
        assert!(t.is_cancelled());
        assert_eq!(t.count(), 1);
        t.cancel();
        assert_eq!(c.count(), 2);
        // A separate token is separate.
        assert!(!CancelToken::new().is_cancelled());
    }

    #[test]
    fn a_child_counts_its_parents_later_cancels_and_its_own_stay_its_own() {
        let t = CancelToken::new();
        t.cancel();
        assert!(t.child().is_cancelled());
        let child = t.since_now().child();
        assert!(!child.is_cancelled());
        child.cancel();
        assert_eq!((t.count(), child.count()), (1, 1));
        t.cancel();
        assert_eq!((t.count(), child.count()), (2, 2));
        // A view of the child counts both from its own start.
        let view = child.since_now();
        assert_eq!(view.count(), 0);
        t.cancel();
        child.cancel();
        assert_eq!((t.count(), child.count(), view.count()), (3, 4, 2));
    }

    #[test]
    fn saturates() {
        let t = CancelToken::new();
        t.inner.count.store(u32::MAX, Ordering::SeqCst);
        t.cancel();
        assert_eq!(t.count(), u32::MAX);
        assert!(t.is_cancelled());
    }

    #[test]
    fn cancels_from_another_thread() {
        let t = CancelToken::new();
        let c = t.clone();
        std::thread::spawn(move || c.cancel()).join().unwrap();
        assert_eq!(t.count(), 1);
    }
}
