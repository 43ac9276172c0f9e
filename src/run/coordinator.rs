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
use super::cancel::{StopReason, stop_pair};
use super::event::{CONTROLLER, Event};
use super::host::{Worker, scope_of};
use super::reports::{not_run_host, refused_host, skipped};
use super::rollout::threshold_reason;
use super::step::{Controller, StepContext, is_bad, null_exports, run_step};
use super::workers::HostTasks;
use crate::judge::Evaluator;
use crate::model::OnFailure;
use crate::plan::Plan;
use crate::results::{HostReport, RunReport, SCHEMA_VERSION, StepReport, Totals};

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
    let evaluator = Arc::new(Evaluator::default());

    // The controller's steps, once, before any host.
    let mut globals = scope_of(&plan.globals);
    let mut local_exports = BTreeMap::new();
    let mut local = Vec::new();
    let mut stopped: Option<StopReason> = None;
    let step_ctx = StepContext {
        evaluator: &evaluator,
        cap: options.output_cap,
        default_timeout: workflow.timeout,
    };
    for step in &workflow.local {
        if stopped.is_none() {
            stopped = options.interrupt.reason();
        }
        let report = match &stopped {
            Some(why) => {
                null_exports(step, &mut globals, &mut local_exports);
                skipped(step, why.not_run())
            }
            None => {
                run_step(
                    step_ctx,
                    &Controller,
                    step,
                    &mut globals,
                    &mut local_exports,
                )
                .await
            }
        };
        if step.on_failure == OnFailure::StopHost && is_bad(report.status) {
            stopped = Some(StopReason::LocalStepFailed {
                step: step.name.clone(),
            });
        }
        local.push(announce_local(report, &mut on_event));
    }

    let ctx = options.ssh.clone();
    let limit = Arc::new(Semaphore::new(options.forks.max(1)));
    let shared = Arc::new(local_exports.clone());
    // `halt`: start nothing new (interrupt, fail-fast, rollout threshold);
    // workers see it before connecting and before each step.
    let (halt_handle, halt) = stop_pair();
    let halt_handle = Arc::new(halt_handle);
    let mut interrupted = false;
    if let Some(why) = options.interrupt.reason() {
        interrupted = true;
        halt_handle.stop(why);
    }
    let mut hosts: Vec<Option<HostReport>> = vec![None; plan.hosts.len()];
    let batches = super::rollout::batches(&workflow.serial, plan.hosts.len());
    for (number, batch) in batches.iter().enumerate() {
        if number > 0 && !halt.is_stopped() {
            let done: Vec<&HostReport> = hosts.iter().flatten().collect();
            if let Some(why) = threshold_reason(workflow.max_failures, &done, number) {
                halt_handle.stop(StopReason::Rollout(why));
            }
        }
        if halt.is_stopped() {
            break;
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let mut tasks = HostTasks::new();
        // Hosts take their forks slot in inventory order (a semaphore alone
        // serves tasks in whatever order the runtime first polls them).
        let turn = Arc::new((AtomicUsize::new(0), Notify::new()));
        for (position, index) in batch.clone().enumerate() {
            let turn = turn.clone();
            let host = plan.hosts[index].clone();
            let (ctx, limit, tx) = (ctx.clone(), limit.clone(), tx.clone());
            let (evaluator, workflow, shared) =
                (evaluator.clone(), plan.workflow.clone(), shared.clone());
            let (halt, interrupt) = (halt.clone(), options.interrupt.clone());
            let halt_handle = halt_handle.clone();
            let (cap, fail_fast) = (options.output_cap, options.fail_fast);
            tasks.spawn(index, &plan.hosts[index].host, async move {
                loop {
                    // Created before the check, so no wake-up is missed.
                    let notified = turn.1.notified();
                    if turn.0.load(Ordering::SeqCst) == position {
                        break;
                    }
                    notified.await;
                }
                // The semaphore is never closed, so acquire cannot fail.
                let _permit = limit.acquire_owned().await;
                turn.0.fetch_add(1, Ordering::SeqCst);
                turn.1.notify_waiters();
                if let Some(why) = halt.reason() {
                    return not_run_host(&host.host, Some(&why));
                }
                let worker = Worker {
                    ctx: &ctx,
                    evaluator: &evaluator,
                    local_exports: &shared,
                    cap,
                    tx: &tx,
                    halt: &halt,
                    interrupt: &interrupt,
                };
                let report = worker
                    .run_host(&workflow.steps, workflow.timeout, &host)
                    .await;
                // Here, before the permit is released, so the next host
                // already sees the halt.
                if fail_fast && super::rollout::host_failed(&report) {
                    halt_handle.stop(StopReason::FailFast {
                        host: report.name.clone(),
                    });
                }
                report
            });
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
                    halt_handle.stop(why);
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
                        halt_handle.stop(StopReason::FailFast {
                            host: report.name.clone(),
                        });
                    }
                    hosts[index] = Some(announce_host(report, &mut on_event));
                },
            }
        }
    }
    let stopped = halt.reason().map(|r| r.to_string());
    let mut hosts: Vec<HostReport> = hosts
        .into_iter()
        .zip(&plan.hosts)
        .map(|(report, host)| {
            report.unwrap_or_else(|| {
                let report = not_run_host(&host.host, halt.reason().as_ref());
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
    let fleet_checks = match &stopped {
        None => crate::judge::fleet_checks::evaluate(&evaluator, plan, &globals, &hosts),
        Some(why) => crate::judge::fleet_checks::skipped(plan, why),
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
        hosts,
        fleet_checks,
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
