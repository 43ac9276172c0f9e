//! Execution: one task per host, bounded by `forks`, each owning its SSH
//! session and running its steps in order. One coordinating loop receives
//! every worker's events in order of occurrence and hands them to the
//! caller's callback; it never prints.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use crate::evaluate::{Observed, evaluate};
use crate::event::Event;
use crate::plan::{HostPlan, Plan, PlannedStep};
use crate::results::{
    Captured, HostReport, HostStatus, RunReport, SCHEMA_VERSION, StepReport, StepStatus, Totals,
    Unreachable,
};
use crate::ssh::{ExecEnd, Session, SshContext, Target};

/// Output kept per stream per step. Larger output is counted and dropped,
/// so a runaway command cannot exhaust the controller's memory.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Hosts in flight at once.
    pub forks: usize,
    pub output_cap: usize,
}

/// Runs the plan and returns the full report; `on_event` sees every event,
/// the last being `RunFinished`.
pub async fn execute(
    plan: &Plan,
    options: &ExecuteOptions,
    mut on_event: impl FnMut(&Event),
) -> RunReport {
    let started = Instant::now();
    let started_at = now_rfc3339();
    on_event(&Event::RunStarted {
        workflow: plan.workflow.name.clone(),
        hosts: plan.hosts.len(),
        steps: plan.hosts.first().map_or(0, |h| h.steps.len()),
    });

    let ctx = Arc::new(SshContext::new());
    let limit = Arc::new(Semaphore::new(options.forks.max(1)));
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, host) in plan.hosts.iter().enumerate() {
        let (ctx, limit, tx, host) = (ctx.clone(), limit.clone(), tx.clone(), host.clone());
        let cap = options.output_cap;
        tasks.spawn(async move {
            // The semaphore is never closed, so acquire cannot fail.
            let _permit = limit.acquire_owned().await;
            let report = run_host(&ctx, &host, cap, &tx).await;
            (index, report)
        });
    }
    drop(tx);

    let mut hosts: Vec<Option<HostReport>> = vec![None; plan.hosts.len()];
    loop {
        tokio::select! {
            // Biased: a worker's events are queued before its task ends,
            // so draining them first keeps HostFinished after its steps.
            biased;
            Some(event) = rx.recv() => on_event(&event),
            Some(joined) = tasks.join_next() => match joined {
                Ok((index, report)) => {
                    on_event(&Event::HostFinished { host: report.clone() });
                    hosts[index] = Some(report);
                }
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            },
            else => break,
        }
    }
    let hosts: Vec<HostReport> = hosts.into_iter().flatten().collect();
    let report = RunReport {
        schema_version: SCHEMA_VERSION,
        fleet_version: env!("CARGO_PKG_VERSION"),
        workflow: plan.workflow.name.clone(),
        workflow_path: plan.workflow.source.path.display().to_string(),
        inventory: plan.inventory_name.clone(),
        inventory_path: plan.inventory_path.clone(),
        started_at,
        duration: started.elapsed(),
        totals: Totals::count(&hosts),
        hosts,
    };
    on_event(&Event::RunFinished {
        report: report.clone(),
    });
    report
}

async fn run_host(
    ctx: &SshContext,
    plan: &HostPlan,
    cap: usize,
    tx: &mpsc::UnboundedSender<Event>,
) -> HostReport {
    let host = &plan.host;
    let name = host.name.clone();
    let started = Instant::now();
    // A send fails only once the coordinator is gone; nothing to tell then.
    let _ = tx.send(Event::HostStarted { host: name.clone() });
    let target = Target {
        name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        user: host.user.clone(),
        identity_files: host.identity_files.clone(),
        known_hosts: host.known_hosts.clone(),
        connect_timeout: host.connect_timeout,
    };
    let mut report = HostReport {
        name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        user: host.user.clone(),
        status: HostStatus::Ok,
        unreachable: None,
        connect_time: None,
        duration: Duration::ZERO,
        steps: Vec::new(),
    };
    let session = match Session::connect(ctx, &target).await {
        Ok(session) => session,
        Err(e) => {
            report.status = HostStatus::Unreachable;
            report.unreachable = Some(Unreachable {
                kind: e.kind,
                message: e.message,
            });
            report.duration = started.elapsed();
            return report;
        }
    };
    report.connect_time = Some(started.elapsed());
    let _ = tx.send(Event::HostConnected { host: name.clone() });

    let mut broken: Option<String> = None;
    for step in &plan.steps {
        let result = match &broken {
            Some(reason) => skipped(step, reason.clone()),
            None => {
                let _ = tx.send(Event::StepStarted {
                    host: name.clone(),
                    step: step.name.clone(),
                });
                let result = run_step(&session, step, cap).await;
                if result.status == StepStatus::Error {
                    broken = Some(format!("not run: step `{}` errored before it", step.name));
                }
                result
            }
        };
        let _ = tx.send(Event::StepFinished {
            host: name.clone(),
            step: result.clone(),
        });
        report.steps.push(result);
    }
    session.close().await;
    report.status = HostReport::status_from_steps(&report.steps);
    report.duration = started.elapsed();
    report
}

async fn run_step(session: &Session, step: &PlannedStep, cap: usize) -> StepReport {
    let out = session.exec(&step.command, step.timeout, cap).await;
    let (status, failures, reason) = match &out.end {
        ExecEnd::Completed => {
            let failures = evaluate(
                &step.rules,
                &Observed {
                    stdout: &out.stdout,
                    stderr: &out.stderr,
                    exit_status: out.exit_status,
                    exit_signal: out.exit_signal.as_deref(),
                },
            );
            let status = if failures.is_empty() {
                StepStatus::Passed
            } else {
                StepStatus::Failed
            };
            (status, failures, None)
        }
        ExecEnd::TimedOut => (
            StepStatus::Timeout,
            Vec::new(),
            Some(format!(
                "still running after {}; channel closed",
                humantime::format_duration(step.timeout)
            )),
        ),
        ExecEnd::Failed(why) => (StepStatus::Error, Vec::new(), Some(why.clone())),
    };
    StepReport {
        name: step.name.clone(),
        command: step.command.clone(),
        status,
        exit_status: out.exit_status,
        exit_signal: out.exit_signal,
        stdout: out.stdout,
        stderr: out.stderr,
        duration: out.duration,
        failures,
        reason,
    }
}

fn skipped(step: &PlannedStep, reason: String) -> StepReport {
    StepReport {
        name: step.name.clone(),
        command: step.command.clone(),
        status: StepStatus::Skipped,
        exit_status: None,
        exit_signal: None,
        stdout: Captured::default(),
        stderr: Captured::default(),
        duration: Duration::ZERO,
        failures: Vec::new(),
        reason: Some(reason),
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
