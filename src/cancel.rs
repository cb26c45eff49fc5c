//! Cancellation: a token the CLI trips on a signal and the executor waits on.
//!
//! There is no process-wide state here: each [`CancelToken`] is its own counter, shared by its clones.
//! The library never installs a signal handler; the `bottle` binary wires its signals to a token.
//! A running engine command is not polled for a cancel: the executor registers a waker
//! ([`CancelToken::on_cancel`]) that each cancel calls, so its wait blocks until something happens.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A shared count of cancel requests: the first asks commands to stop (those that must finish
/// ignore it), the second stops everything.
///
/// A cancel is an epoch of the token: it reaches the [`crate::Bottles`] calls running when it is
/// made, and every call that starts before one call it reached has ended. So a cancel made
/// before a call starts (a task queued with `spawn_blocking` and cancelled before a thread
/// picked it up) is honoured: the call returns [`crate::ErrorKind::Interrupted`] at once,
/// having run nothing. Once a call it reached has ended, the cancel is spent: it never poisons
/// the handle, so a `down` after a cancelled `up` runs, with the same handle and token.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
    /// Requests made before this view was taken, which it does not count.
    base: u32,
    /// A token whose requests count for this one too (see `CancelToken::child`).
    parent: Option<Arc<CancelToken>>,
}

#[derive(Default)]
struct Inner {
    count: AtomicU32,
    /// The requests spent: made before a call they reached had ended (see `CancelToken::spend`).
    /// A call counts only the requests after these.
    spent: AtomicU32,
    /// What each cancel calls: the executor's wakers, by registration number.
    wakers: Mutex<Vec<(u64, Waker)>>,
    next: AtomicU64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Called on every cancel, from the thread that cancels; it must only hand the news on.
pub(crate) type Waker = Box<dyn Fn() + Send + Sync>;

/// A registered [`Waker`], on a token and each of its parents; dropping it unregisters it.
pub(crate) struct OnCancel {
    registered: Vec<(Arc<Inner>, u64)>,
}

impl Drop for OnCancel {
    fn drop(&mut self) {
        for (inner, id) in &self.registered {
            lock(&inner.wakers).retain(|(each, _)| each != id);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
        for (_, wake) in lock(&self.inner.wakers).iter() {
            wake();
        }
    }

    /// Call `wake` on every cancel from now on, this token's or a parent's (a child counts its
    /// parents' cancels, so whatever waits on it must wake on them too), until the returned value
    /// is dropped. A cancel that came before is not replayed: register first, then look at
    /// [`CancelToken::count`].
    pub(crate) fn on_cancel(&self, wake: Waker) -> OnCancel {
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::from(wake);
        let mut registered = Vec::new();
        let mut token = Some(self);
        while let Some(t) = token {
            let id = t.inner.next.fetch_add(1, Ordering::SeqCst);
            let each = Arc::clone(&wake);
            lock(&t.inner.wakers).push((id, Box::new(move || each())));
            registered.push((Arc::clone(&t.inner), id));
            token = t.parent.as_deref();
        }
        OnCancel { registered }
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

    /// The view a call watches: every request not yet spent by an earlier call counts for it,
    /// those made before it started included.
    pub(crate) fn for_call(&self) -> CancelToken {
        CancelToken {
            inner: Arc::clone(&self.inner),
            base: self.inner.spent.load(Ordering::SeqCst),
            parent: self.parent.as_ref().map(|p| Arc::new(p.for_call())),
        }
    }

    /// A call watching this view has ended: every request made so far reached it (or a call
    /// before it), so none counts for a later call.
    pub(crate) fn spend(&self) {
        let now = self.inner.count.load(Ordering::SeqCst);
        self.inner.spent.fetch_max(now, Ordering::SeqCst);
        if let Some(parent) = &self.parent {
            parent.spend();
        }
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

    /// a_cancel_before_a_queued_call_started_was_lost, interrupted_reported_a_cancel_of_an_earlier_call
    /// (attack15): a request made before a call starts counts for it; once a call it reached
    /// has ended, it counts for no later call.
    #[test]
    fn a_cancel_counts_for_the_next_call_until_a_call_it_reached_ends() {
        let t = CancelToken::new();
        t.cancel();
        let queued = t.for_call();
        assert!(queued.is_cancelled(), "made before the call started");
        let running_alongside = t.for_call();
        queued.spend();
        // Spent: the next call does not see it; one already running still does.
        assert!(!t.for_call().is_cancelled());
        assert!(running_alongside.is_cancelled());
        // A later request reaches the calls started since.
        let later = t.for_call();
        t.cancel();
        assert!(later.is_cancelled());
        assert!(t.for_call().is_cancelled());
        later.spend();
        assert!(!t.for_call().is_cancelled());
        // A call that no request reached spends nothing new.
        let quiet = t.for_call();
        quiet.spend();
        t.cancel();
        assert!(t.for_call().is_cancelled());
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

    /// A stream's child token waits with the executor's waker: the handle's cancel must wake it
    /// (the waker was registered on the child alone, so a cancel of the handle went unheard until
    /// the stream's own next event).
    #[test]
    fn a_parents_cancel_wakes_a_waker_registered_on_its_child() {
        let parent = CancelToken::new();
        let child = parent.since_now().child();
        let woken = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&woken);
        let registered = child.on_cancel(Box::new(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        }));
        parent.cancel();
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        child.cancel();
        assert_eq!(woken.load(Ordering::SeqCst), 2);
        drop(registered);
        parent.cancel();
        assert_eq!(woken.load(Ordering::SeqCst), 2);
        assert!(lock(&parent.inner.wakers).is_empty());
    }

    #[test]
    fn a_cancel_calls_the_registered_wakers_until_they_are_dropped() {
        let t = CancelToken::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        let watch = t
            .since_now()
            .on_cancel(Box::new(move || lock(&tx).send(()).unwrap()));
        t.cancel();
        t.clone().cancel();
        assert_eq!(rx.try_iter().count(), 2);
        drop(watch);
        t.cancel();
        assert_eq!(rx.try_iter().count(), 0);
        assert!(lock(&t.inner.wakers).is_empty());
    }

    #[test]
    fn cancels_from_another_thread() {
        let t = CancelToken::new();
        let c = t.clone();
        std::thread::spawn(move || c.cancel()).join().unwrap();
        assert_eq!(t.count(), 1);
    }
}
