//! How the executor runs hosts and heavy work without letting one host
//! harm the others.
//!
//! * [`HostTasks`]: one tokio task per host. A task that panics (a bug in
//!   fleet, reached by some host's input) becomes that host's ERROR, with
//!   the panic message, instead of ending the whole run without a report.
//! * [`cpu_bound`]: parsing a step's output and evaluating its rules can
//!   take a while on hostile output (up to the parser limits). It runs off
//!   the runtime's worker threads, which carry every other host's SSH
//!   traffic, and at most [`cpu_slots`] at once, which also bounds the
//!   memory parsing needs at any moment (README, "Memory").

use std::collections::HashMap;
use std::future::Future;
use std::sync::LazyLock;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;
use tokio::task::{Id, JoinError, JoinSet};

use crate::model::Host;
use crate::model::report::{Captured, HostReport, HostStatus, StepReport, StepStatus};

/// The name of the step a panicked host task is reported under when it
/// was not running a step (connecting, closing).
pub const NO_STEP: &str = "(host task)";

/// Parses and rule evaluations in flight at once: one per core, at least 2.
pub fn cpu_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

static CPU_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cpu_slots()));

/// Runs `work` (synchronous, CPU-bound) without blocking the runtime's
/// worker threads: on the multi-thread runtime (the one `fleet` runs on)
/// the worker hands its other tasks to a fresh thread for the duration.
/// On a current-thread runtime (unit tests) there is no other thread to
/// hand them to, and `work` runs in place.
pub async fn cpu_bound<R>(work: impl FnOnce() -> R) -> R {
    // Never closed, so acquiring cannot fail; without a permit (it cannot
    // happen) the work still runs rather than being lost.
    let _permit = CPU_SLOTS.acquire().await.ok();
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Input below which [`cpu_bound_for`] works in place.
pub const IN_PLACE_BYTES: u64 = 64 * 1024;

/// [`cpu_bound`] for work whose cost grows with `input_bytes`: small
/// inputs (every ordinary step's output) are judged in place, because
/// handing the worker's core to another thread and back costs two thread
/// wake-ups, more than parsing a few kilobytes (on 5,000 simulated hosts
/// it was ~10 % of the controller's CPU; bench/RESULTS.md, 7).
pub async fn cpu_bound_for<R>(input_bytes: u64, work: impl FnOnce() -> R) -> R {
    if input_bytes <= IN_PLACE_BYTES {
        return work();
    }
    cpu_bound(work).await
}

/// The running host tasks of one batch, by host.
pub struct HostTasks {
    set: JoinSet<HostReport>,
    hosts: HashMap<Id, (usize, Host)>,
    /// The step each host is running, from the events, so a panic is
    /// reported under the step that caused it.
    running: HashMap<String, String>,
}

impl Default for HostTasks {
    fn default() -> Self {
        Self::new()
    }
}

impl HostTasks {
    pub fn new() -> Self {
        HostTasks {
            set: JoinSet::new(),
            hosts: HashMap::new(),
            running: HashMap::new(),
        }
    }

    /// Starts `task`, the whole of host `index`'s work.
    pub fn spawn<F>(&mut self, index: usize, host: &Host, task: F)
    where
        F: Future<Output = HostReport> + Send + 'static,
    {
        let handle = self.set.spawn(task);
        self.hosts.insert(handle.id(), (index, host.clone()));
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Notes which step a host is in (call with each `StepStarted`).
    pub fn step_started(&mut self, host: &str, step: &str) {
        self.running.insert(host.to_string(), step.to_string());
    }

    /// The next host to finish, with its plan index. A task that panicked
    /// (or was cancelled) yields an ERROR report for its host; `None` once
    /// every task is joined.
    pub async fn join_next(&mut self) -> Option<(usize, HostReport)> {
        loop {
            let (id, outcome) = match self.set.join_next_with_id().await? {
                Ok((id, report)) => (id, Ok(report)),
                Err(e) => (e.id(), Err(e)),
            };
            // Every task was spawned through `spawn`, so its id is known;
            // an unknown one would be a bug here, and is skipped.
            let Some((index, host)) = self.hosts.remove(&id) else {
                continue;
            };
            let running = self.running.remove(&host.name);
            let report = match outcome {
                Ok(report) => report,
                Err(e) => crashed_host(&host, running.as_deref(), &why(e)),
            };
            return Some((index, report));
        }
    }
}

/// What ended a task that did not return.
fn why(e: JoinError) -> String {
    if !e.is_panic() {
        return "its task was cancelled".to_string();
    }
    let payload = e.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    format!("its task panicked: {message}")
}

/// The report of a host whose task ended without returning one: FAILED,
/// with one ERROR step (the step it was running) that says what happened.
/// What the host's earlier steps did was shown as they finished but is not
/// in the report: the task that held it is gone.
pub fn crashed_host(host: &Host, running: Option<&str>, why: &str) -> HostReport {
    let mut report = HostReport::empty(
        host.name.clone(),
        host.address.clone(),
        host.port,
        host.user.clone(),
        host.groups.clone(),
        HostStatus::Failed,
    );
    report.steps = vec![StepReport {
        name: running.unwrap_or(NO_STEP).to_string(),
        command: String::new(),
        status: StepStatus::Error,
        exit_status: None,
        exit_signal: None,
        stdout: Captured::default(),
        stderr: Captured::default(),
        duration: std::time::Duration::ZERO,
        failures: Vec::new(),
        session: None,
        reason: Some(format!(
            "internal error in fleet on this host ({why}); its steps before this one are kept, \
                 its remaining steps did not run; the other hosts were not affected. \
                 Please report this as a bug with the step's output"
        )),
        attempts: 0,
        waiver: None,
    }];
    report
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn host(name: &str) -> Host {
        Host {
            name: name.to_string(),
            span: crate::model::Span::new(&crate::model::SourceFile::new("inv.kdl", ""), 0, 0),
            address: "192.0.2.1".to_string(),
            port: 22,
            user: "me".to_string(),
            identity_files: Vec::new(),
            known_hosts: Vec::new(),
            connect_timeout: std::time::Duration::from_secs(10),
            groups: Vec::new(),
            vars: Default::default(),
            jump_hosts: Vec::new(),
            explicit: Default::default(),
        }
    }

    fn ok_report(h: &Host) -> HostReport {
        let mut report = crashed_host(h, None, "");
        report.status = HostStatus::Ok;
        report.steps.clear();
        report
    }

    /// A fake host runner that panics in its second step: the panic is that
    /// host's ERROR, under that step, with the message; the other hosts'
    /// reports come back untouched.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_host_task_is_that_hosts_error() {
        let mut tasks = HostTasks::new();
        let hosts: Vec<Host> = ["a", "b", "c"].into_iter().map(host).collect();
        for (index, h) in hosts.iter().enumerate() {
            let report = ok_report(h);
            let name = h.name.clone();
            tasks.spawn(index, h, async move {
                tokio::task::yield_now().await;
                if name == "b" {
                    panic!("index out of range in the table parser");
                }
                report
            });
        }
        tasks.step_started("b", "services");
        let mut seen = Vec::new();
        while let Some((index, report)) = tasks.join_next().await {
            seen.push((index, report));
        }
        seen.sort_by_key(|(index, _)| *index);
        let names: Vec<&str> = seen.iter().map(|(_, r)| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(seen[0].1.status, HostStatus::Ok);
        assert_eq!(seen[2].1.status, HostStatus::Ok);
        let crashed = &seen[1].1;
        assert_eq!(crashed.status, HostStatus::Failed);
        assert_eq!(crashed.steps.len(), 1);
        assert_eq!(crashed.steps[0].name, "services");
        assert_eq!(crashed.steps[0].status, StepStatus::Error);
        let reason = crashed.steps[0].reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains("its task panicked: index out of range in the table parser"),
            "{reason}"
        );
        assert!(tasks.is_empty());
    }

    #[tokio::test]
    async fn a_panic_outside_any_step_is_reported_under_the_host_task() {
        let mut tasks = HostTasks::new();
        let h = host("a");
        let message = String::from("formatted panic 42");
        tasks.spawn(0, &h, async move { panic!("{message}") });
        let Some((0, report)) = tasks.join_next().await else {
            panic!("no report for host 0");
        };
        assert_eq!(report.steps[0].name, NO_STEP);
        let reason = report.steps[0].reason.as_deref().unwrap_or_default();
        assert!(reason.contains("formatted panic 42"), "{reason}");
    }

    /// One worker thread: a job blocked in `cpu_bound` (or `cpu_bound_for`
    /// with input over the bound) until another task runs must not keep
    /// that task from running. Inline on the worker it would wait forever
    /// (the receive gives up after a minute, so a regression fails instead
    /// of hanging).
    async fn blocked_job_leaves_the_runtime_free(input_bytes: Option<u64>) {
        let (tx, rx) = std::sync::mpsc::channel::<&str>();
        let wait = move || rx.recv_timeout(std::time::Duration::from_secs(60));
        let blocked = tokio::spawn(async move {
            match input_bytes {
                None => cpu_bound(wait).await,
                Some(bytes) => cpu_bound_for(bytes, wait).await,
            }
        });
        let other_host = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send("other host's I/O ran").ok();
        });
        let received = blocked.await.map_err(|e| e.to_string());
        assert_eq!(received, Ok(Ok("other host's I/O ran")));
        assert!(other_host.await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn cpu_bound_work_leaves_the_runtime_free_for_other_hosts() {
        blocked_job_leaves_the_runtime_free(None).await;
    }

    /// The bound decides: output over it is judged off the worker.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn judging_large_output_leaves_the_runtime_free() {
        blocked_job_leaves_the_runtime_free(Some(IN_PLACE_BYTES + 1)).await;
    }

    #[tokio::test]
    async fn cpu_bound_runs_in_place_on_a_current_thread_runtime() {
        assert_eq!(cpu_bound(|| 6 * 7).await, 42);
    }
}
