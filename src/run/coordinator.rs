//! The coordinator: one loop that owns the run's state. It runs the
//! controller's steps, spawns host workers batch by batch (in inventory
//! order, at most `forks` at once), receives every worker's events in
//! order of occurrence and hands them to the caller's callback, decides
//! when the run stops (interrupt, `--fail-fast`, a rollout threshold), and
//! finally judges the fleet checks and assembles the report.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::ExecuteOptions;
use super::cancel::{Stop, StopHandle, StopReason, stop_pair};
use super::event::{CONTROLLER, Event};
use super::host::{Worker, scope_of};
use super::reports::{not_run_host, refused_host, skipped};
use super::rollout::threshold_reason;
use super::step::{Controller, StepContext, is_bad, null_exports, run_step};
use super::workers::HostTasks;
use crate::judge::{Evaluator, Scope, fleet_checks};
use crate::model::OnFailure;
use crate::model::Workflow;
use crate::model::report::{HostReport, RunReport, SCHEMA_VERSION, StepReport, Totals};
use crate::plan::{HostPlan, Plan};
use crate::ssh::SshContext;

/// Runs the plan and returns the full report; `on_event` sees every event,
/// the last being `RunFinished`.
pub async fn execute(
    plan: &Plan,
    options: &ExecuteOptions,
    mut on_event: impl FnMut(&Event),
) -> RunReport {
    let started = Instant::now();
    let started_at = now_rfc3339();
    let workflow = &plan.workflow;
    on_event(&Event::RunStarted {
        workflow: workflow.name.clone(),
        hosts: plan.hosts.len() + plan.refused.len(),
        steps: workflow.steps.len(),
    });
    // One socket per host in flight (hosts behind a jump host share its
    // connection): raise the soft open-files limit before the first one.
    let in_flight = options.forks.min(plan.hosts.len()) as u64;
    super::rlimit::raise_open_files(in_flight + super::rlimit::SPARE);
    let evaluator = Evaluator::default();

    // The controller's steps, once, before any host.
    let Local {
        globals,
        exports: local_exports,
        steps: local,
    } = run_local(plan, options, &evaluator, &mut on_event).await;

    // `halt`: start nothing new (interrupt, fail-fast, rollout threshold);
    // workers see it before connecting and before each step.
    let (halt_handle, halt) = stop_pair();
    let run = Arc::new(Shared {
        ssh: options.ssh.clone(),
        forks: Arc::new(Semaphore::new(options.forks.max(1))),
        evaluator,
        workflow: plan.workflow.clone(),
        local_exports,
        halt,
        halt_handle,
        interrupt: options.interrupt.clone(),
        cap: options.output_cap,
        fail_fast: options.fail_fast,
    });
    let mut interrupted = false;
    if let Some(why) = options.interrupt.reason() {
        interrupted = true;
        run.halt_handle.stop(why);
    }
    let mut hosts: Vec<Option<HostReport>> = vec![None; plan.hosts.len()];
    let batches = super::rollout::batches(&workflow.serial, plan.hosts.len());
    for (number, batch) in batches.iter().enumerate() {
        if number > 0 && !run.halt.is_stopped() {
            let done: Vec<&HostReport> = hosts.iter().flatten().collect();
            if let Some(why) = threshold_reason(workflow.max_failures, &done, number) {
                run.halt_handle.stop(StopReason::Rollout(why));
            }
        }
        if run.halt.is_stopped() {
            break;
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let mut tasks = HostTasks::new();
        let mut turns = Vec::with_capacity(batch.len());
        for index in batch.clone() {
            let (give, turn) = oneshot::channel();
            turns.push(give);
            let task = host_task(run.clone(), turn, plan.hosts[index].clone(), tx.clone());
            tasks.spawn(index, &plan.hosts[index].host, task);
        }
        dispatch(run.forks.clone(), turns);
        drop(tx);
        let mut collected = Collected::new(&plan.hosts, batch.clone());
        let mut events_open = true;
        // The interrupt branch never ends on its own, so the loop ends
        // explicitly once every event is read and every task joined.
        while events_open || !tasks.is_empty() {
            tokio::select! {
                // Biased: a worker's events are queued before its task ends,
                // so draining them first keeps HostFinished after its steps.
                biased;
                why = options.interrupt.stopped(), if !interrupted => {
                    interrupted = true;
                    run.halt_handle.stop(why);
                }
                event = rx.recv(), if events_open => match event {
                    Some(event) => collected.take(event, &mut tasks, &mut on_event),
                    None => events_open = false,
                },
                // A task that panicked comes back as its host's ERROR.
                Some((index, mut report)) = tasks.join_next(), if !tasks.is_empty() => {
                    // Its events were sent before it ended: every one of
                    // them is queued by now, even if `recv` above saw an
                    // empty queue a moment ago. Its steps first, then it.
                    while let Ok(event) = rx.try_recv() {
                        collected.take(event, &mut tasks, &mut on_event);
                    }
                    collected.fill_report(index, &mut report);
                    if options.fail_fast && super::rollout::host_failed(&report) {
                        // Its own task could not say so if it panicked;
                        // the first reason given wins.
                        run.halt_handle.stop(StopReason::FailFast {
                            host: report.name.clone(),
                        });
                    }
                    hosts[index] = Some(announce_host(report, &mut on_event));
                },
            }
        }
    }
    let stopped = run.halt.reason().map(|r| r.to_string());
    let mut hosts: Vec<HostReport> = hosts
        .into_iter()
        .zip(&plan.hosts)
        .map(|(report, host)| {
            report.unwrap_or_else(|| {
                let report = not_run_host(&host.host, run.halt.reason().as_ref());
                announce_host(report, &mut on_event)
            })
        })
        .collect();
    for refusal in &plan.refused {
        let report = refused_host(&refusal.host, &refusal.reason);
        hosts.push(announce_host(report, &mut on_event));
    }

    // Over a partial fleet a fleet-wide rule would judge the wrong set of
    // hosts ("exactly one PRIMARY" among half of them): skip them instead.
    let fleet_checks = match (&stopped, &options.defer_fleet_checks) {
        (Some(why), _) => fleet_checks::skipped(workflow, why),
        (None, Some(why)) => fleet_checks::not_evaluated(workflow, why),
        (None, None) => {
            let groups: BTreeMap<&str, &Vec<String>> = plan
                .hosts
                .iter()
                .map(|h| &h.host)
                .chain(plan.refused.iter().map(|r| &r.host))
                .map(|h| (h.name.as_str(), &h.groups))
                .collect();
            let evaluator = &run.evaluator;
            fleet_checks::evaluate(evaluator, workflow, &groups, &globals, &hosts)
        }
    };
    let report = RunReport {
        schema_version: SCHEMA_VERSION,
        fleet_version: env!("CARGO_PKG_VERSION").to_string(),
        workflow: workflow.name.clone(),
        workflow_path: workflow.source.path.display().to_string(),
        inventory: plan.inventory_name.clone(),
        inventory_path: plan.inventory_path.clone(),
        started_at,
        duration: started.elapsed(),
        interrupted,
        stopped,
        totals: Totals::count(&hosts, &local, &fleet_checks),
        warnings: plan.warnings.clone(),
        local,
        local_exports: run.local_exports.clone(),
        hosts,
        fleet_checks,
        shard: None,
    };
    // Handed to the callback and taken back, not cloned: the report holds
    // every step's output, and a copy would double the run's peak memory.
    let finished = Event::RunFinished { report };
    on_event(&finished);
    match finished {
        Event::RunFinished { report } => report,
        _ => unreachable!("built as RunFinished just above"),
    }
}

/// What every host task of a run shares.
struct Shared {
    ssh: Arc<SshContext>,
    /// One permit per host in flight.
    forks: Arc<Semaphore>,
    evaluator: Evaluator,
    workflow: Arc<Workflow>,
    local_exports: BTreeMap<String, serde_json::Value>,
    halt: Stop,
    halt_handle: StopHandle,
    interrupt: Stop,
    cap: usize,
    fail_fast: bool,
}

/// A host's forks slot, handed over by its batch's [`dispatch`] when its
/// turn comes.
type Turn = oneshot::Receiver<OwnedSemaphorePermit>;

/// Hands out forks slots to a batch's hosts in inventory order (a
/// semaphore alone serves tasks in whatever order the runtime first polls
/// them). One waiter at a time: each slot wakes exactly the host it goes
/// to, where waking every waiting host on every slot cost O(hosts²)
/// wake-ups (25 million on 5,000 hosts; bench/RESULTS.md, 7).
fn dispatch(forks: Arc<Semaphore>, turns: Vec<oneshot::Sender<OwnedSemaphorePermit>>) {
    tokio::spawn(async move {
        for turn in turns {
            // The semaphore is never closed.
            let Ok(permit) = forks.clone().acquire_owned().await else {
                return;
            };
            // A host task that is gone (it panicked) gives the slot back
            // by dropping it here.
            let _ = turn.send(permit);
        }
    });
}

/// One host: wait for its turn and a forks slot, then run it (unless the
/// run stopped meanwhile).
async fn host_task(
    run: Arc<Shared>,
    turn: Turn,
    host: HostPlan,
    tx: mpsc::UnboundedSender<Event>,
) -> HostReport {
    // The dispatcher sends every turn (it ends only when the runtime does).
    let _permit = turn.await.ok();
    if let Some(why) = run.halt.reason() {
        return not_run_host(&host.host, Some(&why));
    }
    let worker = Worker {
        ctx: &run.ssh,
        evaluator: &run.evaluator,
        local_exports: &run.local_exports,
        cap: run.cap,
        tx: &tx,
        halt: &run.halt,
        interrupt: &run.interrupt,
    };
    let report = worker
        .run_host(&run.workflow.steps, run.workflow.timeout, &host)
        .await;
    // Here, before the permit is released, so the next host already sees
    // the halt.
    if run.fail_fast && super::rollout::host_failed(&report) {
        run.halt_handle.stop(StopReason::FailFast {
            host: report.name.clone(),
        });
    }
    report
}

/// The step reports of a batch's hosts, moved out of their
/// `StepFinished` events once the callback has seen them (a step's output
/// is never copied on its way to the reporter).
struct Collected {
    /// Host name → plan index.
    index: HashMap<String, usize>,
    steps: HashMap<usize, Vec<StepReport>>,
}

impl Collected {
    fn new(hosts: &[HostPlan], batch: std::ops::Range<usize>) -> Collected {
        let index = batch.map(|i| (hosts[i].host.name.clone(), i)).collect();
        Collected {
            index,
            steps: HashMap::new(),
        }
    }

    /// Hands `event` to the callback, then keeps its step report.
    fn take(&mut self, event: Event, tasks: &mut HostTasks, on_event: &mut impl FnMut(&Event)) {
        if let Event::StepStarted { host, step } = &event {
            tasks.step_started(host, step);
        }
        on_event(&event);
        if let Event::StepFinished { host, step } = event
            && let Some(&i) = self.index.get(&host)
        {
            self.steps.entry(i).or_default().push(step);
        }
    }

    /// Puts host `index`'s steps before whatever its task reported itself
    /// (a panicked task's report holds only the step it died in).
    fn fill_report(&mut self, index: usize, report: &mut HostReport) {
        if let Some(mut steps) = self.steps.remove(&index) {
            steps.append(&mut report.steps);
            report.steps = steps;
        }
    }
}

/// What the controller's `local` steps leave for the hosts and the report.
struct Local {
    /// Globals plus the local steps' exports: the fleet checks' variables.
    globals: Scope,
    exports: BTreeMap<String, serde_json::Value>,
    steps: Vec<StepReport>,
}

/// Runs the workflow's `local` steps in order on the controller; after an
/// interrupt, or a failed step with `on-failure "stop-host"`, the rest are
/// skipped.
async fn run_local(
    plan: &Plan,
    options: &ExecuteOptions,
    evaluator: &Evaluator,
    on_event: &mut impl FnMut(&Event),
) -> Local {
    let mut globals = scope_of(&plan.globals);
    let mut exports = BTreeMap::new();
    let mut steps = Vec::new();
    let mut stopped: Option<StopReason> = None;
    let step_ctx = StepContext {
        evaluator,
        cap: options.output_cap,
        default_timeout: plan.workflow.timeout,
    };
    for step in &plan.workflow.local {
        if stopped.is_none() {
            stopped = options.interrupt.reason();
        }
        let report = match &stopped {
            Some(why) => {
                null_exports(step, &mut globals, &mut exports);
                skipped(step, why.not_run())
            }
            None => run_step(step_ctx, &Controller, step, &mut globals, &mut exports).await,
        };
        if step.on_failure == OnFailure::StopHost && is_bad(report.status) {
            stopped = Some(StopReason::LocalStepFailed {
                step: step.name.clone(),
            });
        }
        steps.push(announce_local(report, on_event));
    }
    Local {
        globals,
        exports,
        steps,
    }
}

/// Emits `StepFinished` for a controller step and gives the report back,
/// without copying it.
fn announce_local(report: StepReport, on_event: &mut impl FnMut(&Event)) -> StepReport {
    let finished = Event::StepFinished {
        host: CONTROLLER.into(),
        step: report,
    };
    on_event(&finished);
    match finished {
        Event::StepFinished { step, .. } => step,
        _ => unreachable!("built as StepFinished just above"),
    }
}

/// Emits `HostFinished` for `report` and gives the report back, without
/// copying it (it holds the host's output).
fn announce_host(report: HostReport, on_event: &mut impl FnMut(&Event)) -> HostReport {
    let finished = Event::HostFinished { host: report };
    on_event(&finished);
    match finished {
        Event::HostFinished { host } => host,
        _ => unreachable!("built as HostFinished just above"),
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::report::StepStatus;

    /// With one slot, the second host gets it only when the first gives it
    /// back, the third only after the second: inventory order, whatever
    /// order the hosts start waiting in.
    #[tokio::test]
    async fn slots_go_to_hosts_in_order_one_at_a_time() {
        let forks = Arc::new(Semaphore::new(1));
        let (gives, mut turns): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel()).unzip();
        dispatch(forks.clone(), gives);
        let mut third = turns.pop().expect("three turns");
        let mut second = turns.pop().expect("three turns");
        let first = turns.pop().expect("three turns");
        let first = first.await.expect("the first host's slot");
        tokio::task::yield_now().await;
        assert!(
            second.try_recv().is_err(),
            "second served while first holds the slot"
        );
        drop(first);
        let second = (&mut second).await.expect("the second host's slot");
        assert!(
            third.try_recv().is_err(),
            "third served while second holds the slot"
        );
        drop(second);
        assert!((&mut third).await.is_ok());
    }

    /// A host task that is gone gives its slot back.
    #[tokio::test]
    async fn a_gone_host_does_not_keep_its_slot() {
        let forks = Arc::new(Semaphore::new(1));
        let (gives, mut turns): (Vec<_>, Vec<_>) = (0..2).map(|_| oneshot::channel()).unzip();
        dispatch(forks.clone(), gives);
        let second = turns.pop().expect("two turns");
        drop(turns);
        assert!(second.await.is_ok());
    }

    /// Step reports move from their events into their host's report, in
    /// order, after the callback saw them; a crashed task's own report
    /// (the step it died in) comes after the steps it finished.
    #[test]
    fn finished_steps_are_moved_into_their_hosts_report() {
        use super::super::workers::crashed_host;
        use super::super::workers::tests::host;
        let plans: Vec<HostPlan> = ["a", "b"]
            .into_iter()
            .map(|name| HostPlan {
                host: host(name),
                vars: Default::default(),
            })
            .collect();
        let mut collected = Collected::new(&plans, 0..2);
        let mut tasks = HostTasks::new();
        let mut seen = Vec::new();
        let mut on_event = |e: &Event| {
            if let Event::StepFinished { host, step } = e {
                seen.push(format!("{host}/{}", step.name));
            }
        };
        for (h, name) in [("a", "disk"), ("b", "disk"), ("a", "uptime")] {
            let mut step = crashed_host(&host(h), Some(name), "").steps.remove(0);
            step.status = StepStatus::Passed;
            let event = Event::StepFinished {
                host: h.to_string(),
                step,
            };
            collected.take(event, &mut tasks, &mut on_event);
        }
        assert_eq!(seen, ["a/disk", "b/disk", "a/uptime"]);
        let mut a = crashed_host(&host("a"), Some("memory"), "boom");
        collected.fill_report(0, &mut a);
        let names: Vec<&str> = a.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["disk", "uptime", "memory"]);
        assert_eq!(a.steps[2].status, StepStatus::Error);
        let mut b = HostReport::empty(
            "b".into(),
            String::new(),
            22,
            String::new(),
            Vec::new(),
            crate::model::report::HostStatus::Ok,
        );
        collected.fill_report(1, &mut b);
        assert_eq!(b.steps.len(), 1);
    }
}
