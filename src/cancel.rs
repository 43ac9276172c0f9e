//! Stopping a run from outside the executor. The CLI turns Ctrl-C and
//! SIGTERM into [`StopHandle::stop`]; the executor only sees a [`Stop`] it
//! can poll or await, so it stays free of signals and terminals. The same
//! type carries the executor's own "start nothing new" decision
//! (`--fail-fast`, a rollout past `max-failures`), with the reason hosts
//! and steps are then reported not run.

use tokio::sync::watch;

/// The receiving side: cheap to clone, one per worker.
#[derive(Debug, Clone)]
pub struct Stop {
    rx: watch::Receiver<Option<String>>,
}

/// The sending side, held by whoever decides to stop.
#[derive(Debug)]
pub struct StopHandle {
    tx: watch::Sender<Option<String>>,
}

/// A linked pair: `handle.stop(..)` is seen by every clone of the `Stop`.
pub fn stop_pair() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(None);
    (StopHandle { tx }, Stop { rx })
}

impl StopHandle {
    /// Asks everything to stop; the first reason wins.
    pub fn stop(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.tx.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }
}

impl Stop {
    /// A `Stop` that never fires: runs nobody can interrupt (tests, `exec`).
    pub fn never() -> Stop {
        stop_pair().1
    }

    /// Why the run is stopping, once it is.
    pub fn reason(&self) -> Option<String> {
        self.rx.borrow().clone()
    }

    pub fn is_stopped(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// Completes once stopped (at once if already); never when the handle
    /// was dropped without stopping.
    pub async fn stopped(&self) -> String {
        let mut rx = self.rx.clone();
        let reason = rx
            .wait_for(Option::is_some)
            .await
            .map(|reason| reason.clone().unwrap_or_default());
        match reason {
            Ok(reason) => reason,
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_reason_wins_and_every_clone_sees_it() {
        let (handle, stop) = stop_pair();
        let other = stop.clone();
        assert!(!stop.is_stopped());
        handle.stop("interrupted");
        handle.stop("fail-fast");
        assert_eq!(other.stopped().await, "interrupted");
        assert_eq!(stop.reason().as_deref(), Some("interrupted"));
    }

    #[tokio::test]
    async fn never_does_not_fire() {
        let stop = Stop::never();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(10), stop.stopped()).await;
        assert!(waited.is_err());
        assert!(!stop.is_stopped());
    }
}
