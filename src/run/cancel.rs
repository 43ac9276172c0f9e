//! Stopping a run from outside the executor. The CLI turns Ctrl-C and
//! SIGTERM into [`StopHandle::stop`]; the executor only sees a [`Stop`] it
//! can poll or await, so it stays free of signals and terminals. The same
//! type carries the executor's own "start nothing new" decision
//! (`--fail-fast`, a rollout past `max-failures`), with the reason hosts
//! and steps are then reported not run.

use tokio::sync::watch;

/// Why a run starts nothing new. Hosts it never started report it as
/// their `not_run`, and steps it skips as `not run: {reason}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The operator's interrupt, in the CLI's words ("interrupted by
    /// Ctrl-C (SIGINT)").
    Interrupted(String),
    /// `--fail-fast` and this host failed.
    FailFast { host: String },
    /// A rollout batch went past `max-failures`, in the rollout's words.
    Rollout(String),
    /// A controller step with `on-failure "stop-host"` failed: no host runs.
    LocalStepFailed { step: String },
    /// A step with `on-failure "stop-host"` failed: its host stops.
    StepFailed { step: String },
    /// The SSH connection dropped during this step: its host stops.
    ConnectionLost { step: String },
}

impl StopReason {
    /// The reason a skipped step gives.
    pub fn not_run(&self) -> String {
        format!("not run: {self}")
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Interrupted(why) | StopReason::Rollout(why) => f.write_str(why),
            StopReason::FailFast { host } => write!(f, "--fail-fast: host `{host}` failed"),
            StopReason::LocalStepFailed { step } => write!(f, "local step `{step}` failed"),
            StopReason::StepFailed { step } => {
                write!(f, "step `{step}` failed and has `on-failure \"stop-host\"`")
            }
            StopReason::ConnectionLost { step } => {
                write!(f, "the connection was lost during step `{step}`")
            }
        }
    }
}

/// The operator's words: what the CLI passes when a signal arrives.
impl From<&str> for StopReason {
    fn from(why: &str) -> Self {
        StopReason::Interrupted(why.to_string())
    }
}

impl From<String> for StopReason {
    fn from(why: String) -> Self {
        StopReason::Interrupted(why)
    }
}

/// The receiving side: cheap to clone, one per worker.
#[derive(Debug, Clone)]
pub struct Stop {
    rx: watch::Receiver<Option<StopReason>>,
}

/// The sending side, held by whoever decides to stop.
#[derive(Debug)]
pub struct StopHandle {
    tx: watch::Sender<Option<StopReason>>,
}

/// A linked pair: `handle.stop(..)` is seen by every clone of the `Stop`.
pub fn stop_pair() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(None);
    (StopHandle { tx }, Stop { rx })
}

impl StopHandle {
    /// Asks everything to stop; the first reason wins.
    pub fn stop(&self, reason: impl Into<StopReason>) {
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
    pub fn reason(&self) -> Option<StopReason> {
        self.rx.borrow().clone()
    }

    pub fn is_stopped(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// Completes once stopped (at once if already); never when the handle
    /// was dropped without stopping.
    pub async fn stopped(&self) -> StopReason {
        let mut rx = self.rx.clone();
        let reason = rx
            .wait_for(Option::is_some)
            .await
            .map(|reason| (*reason).clone());
        match reason {
            Ok(Some(reason)) => reason,
            _ => std::future::pending().await,
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
        assert_eq!(other.stopped().await, StopReason::from("interrupted"));
        assert_eq!(
            stop.reason().map(|r| r.to_string()).as_deref(),
            Some("interrupted")
        );
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
