//! The coordinator: one loop that owns the run's state. It runs the
//! controller's steps, spawns host workers batch by batch (in inventory
//! order, at most `forks` at once), receives every worker's events in
//! order of occurrence and hands them to the caller's callback, decides
//! when the run stops (interrupt, `--fail-fast`, a rollout threshold), and
//! finally judges the fleet checks and assembles the report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{Notify, Semaphore, mpsc};

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
        forks: Semaphore::new(options.forks.max(1)),
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
        let queue = Arc::new(Queue::default());
        for (position, index) in batch.clone().enumerate() {
            let turn = Turn {
                queue: queue.clone(),
                position,
            };
            let task = host_task(run.clone(), turn, plan.hosts[index].clone(), tx.clone());
            tasks.spawn(index, &plan.hosts[index].host, task);
        }
        drop(tx);
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
                    Some(event) => {
                        if let Event::StepStarted { host, step } = &event {
                            tasks.step_started(host, step);
                        }
                        on_event(&event);
                    }
                    None => events_open = false,
                },
                // A task that panicked comes back as its host's ERROR.
                Some((index, report)) = tasks.join_next(), if !tasks.is_empty() => {
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
    forks: Semaphore,
    evaluator: Evaluator,
    workflow: Arc<Workflow>,
    local_exports: BTreeMap<String, serde_json::Value>,
    halt: Stop,
    halt_handle: StopHandle,
    interrupt: Stop,
    cap: usize,
    fail_fast: bool,
}

/// The batch's queue for forks slots: hosts take them in inventory order
/// (a semaphore alone serves tasks in whatever order the runtime first
/// polls them). The count is how many hosts of the batch took theirs.
#[derive(Default)]
struct Queue {
    taken: AtomicUsize,
    moved: Notify,
}

/// A host's place in its batch's queue.
struct Turn {
    queue: Arc<Queue>,
    position: usize,
}

/// One host: wait for its turn and a forks slot, then run it (unless the
/// run stopped meanwhile).
async fn host_task(
    run: Arc<Shared>,
    turn: Turn,
    host: HostPlan,
    tx: mpsc::UnboundedSender<Event>,
) -> HostReport {
    loop {
        // Created before the check, so no wake-up is missed.
        let moved = turn.queue.moved.notified();
        if turn.queue.taken.load(Ordering::SeqCst) == turn.position {
            break;
        }
        moved.await;
    }
    // The semaphore is never closed, so acquire cannot fail.
    let _permit = run.forks.acquire().await;
    turn.queue.taken.fetch_add(1, Ordering::SeqCst);
    turn.queue.moved.notify_waiters();
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
