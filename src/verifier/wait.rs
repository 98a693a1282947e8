//! Waiting for a key set to change, as a plain, nameable future, so that a request waiting
//! for a refetch keeps the response future unboxed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// A counter of key-set updates (or failed attempts) and the tasks waiting for the next one.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    waiters: Vec<Waker>,
}

impl Changes {
    /// Wakes everyone waiting: a fetch has ended, well or badly.
    pub(crate) fn announce(&self) {
        let waiters = {
            let mut state = self.lock();
            state.generation += 1;
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// A future that completes at the next announcement after this call.
    pub(crate) fn next(self: &Arc<Self>) -> KeysChanged {
        KeysChanged {
            seen: self.lock().generation,
            changes: Arc::clone(self),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Completes when the key set it was taken from announces its next change.
#[derive(Debug)]
pub(crate) struct KeysChanged {
    seen: u64,
    changes: Arc<Changes>,
}

impl Future for KeysChanged {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.changes.lock();
        if state.generation != self.seen {
            return Poll::Ready(());
        }
        if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_only_after_the_next_announcement() {
        let changes = Arc::new(Changes::default());
        let mut wait = changes.next();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        changes.announce();
        assert!(Pin::new(&mut wait).poll(&mut cx).is_ready());
        // A waiter taken after the announcement waits for the following one.
        let mut later = changes.next();
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
    }
}
