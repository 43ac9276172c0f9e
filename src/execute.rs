//! Execution: the controller's `local` steps first, then one task per host
//! (bounded by `forks`) owning its SSH session and running its steps in
//! order, then the fleet checks over every host's results. One
//! coordinating loop receives every worker's events in order of occurrence
//! and hands them to the caller's callback; nothing here prints.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use minijinja::Value;

use tokio::sync::{Notify, Semaphore, mpsc};

use crate::cancel::{Stop, stop_pair};
use crate::evaluate::{Evaluator, Scope};
use crate::event::Event;
use crate::model::{OnFailure, Step, Vars};
use crate::output::{ExecEnd, ExecOutput};
use crate::plan::{HostPlan, Plan};
use crate::results::{
    Captured, HostReport, HostStatus, RuleFailure, RunReport, SCHEMA_VERSION, StepReport,
    StepStatus, Totals, Unreachable, status_from_failures,
};
use crate::rollout::threshold_reason;
use crate::ssh::{Session, SshContext};
use crate::workers::HostTasks;

/// Output kept per stream per step. Larger output is counted and dropped,
/// so a runaway command cannot exhaust the controller's memory.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Hosts in flight at once.
    pub forks: usize,
    pub output_cap: usize,
    /// Parsed ssh_config; inventory settings override it.
    pub ssh_config: Option<Arc<crate::ssh::SshConfigFile>>,
    /// The first failed host stops new hosts and steps from starting.
    pub fail_fast: bool,
    /// Fired by the operator (Ctrl-C, SIGTERM): nothing new starts, running
    /// steps are ended, and the partial report is marked interrupted.
    pub interrupt: Stop,
    /// Set on a shard (`--shard`): fleet checks are not judged over part of
    /// the fleet but reported SKIPPED with this reason, and judged by
    /// `fleet report merge` over every host.
    pub defer_fleet_checks: Option<String>,
}

impl ExecuteOptions {
    /// Options for a run nobody interrupts and that never fails fast.
    pub fn new(forks: usize, output_cap: usize) -> Self {
        ExecuteOptions {
            forks,
            output_cap,
            ssh_config: None,
            fail_fast: false,
            interrupt: Stop::never(),
            defer_fleet_checks: None,
        }
    }
}

/// Where a step's command runs.
enum Runner<'a> {
    Host(&'a Session),
    Controller,
}

impl Runner<'_> {
    async fn run(&self, step: &Step, command: &str, timeout: Duration, cap: usize) -> ExecOutput {
        let tty = step.tty;
        match self {
            Runner::Host(session) if step.sudo => {
                session.exec_sudo(command, tty, timeout, cap).await
            }
            Runner::Host(session) => session.exec(command, tty, timeout, cap).await,
            Runner::Controller => {
                let env = crate::local::step_env(step.env.iter().map(|n| n.value.as_str()), |n| {
                    std::env::var_os(n)
                });
                crate::local::run(command, &env, timeout, cap).await
            }
        }
    }
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
    let mut stopped: Option<String> = None;
    for step in &workflow.local {
        if stopped.is_none()
            && let Some(why) = options.interrupt.reason()
        {
            stopped = Some(format!("not run: {why}"));
        }
        let report = match &stopped {
            Some(why) => {
                null_exports(step, &mut globals, &mut local_exports);
                skipped(step, why.clone(), String::new())
            }
            None => {
                run_step(
                    &evaluator,
                    &Runner::Controller,
                    step,
                    &mut globals,
                    &mut local_exports,
                    options.output_cap,
                    workflow.timeout,
                )
                .await
            }
        };
        if step.on_failure == OnFailure::StopHost && is_bad(report.status) {
            stopped = Some(format!("not run: local step `{}` failed", step.name));
        }
        on_event(&Event::StepFinished {
            host: "controller".into(),
            step: report.clone(),
        });
        local.push(report);
    }

    let ctx = Arc::new(SshContext::new().with_ssh_config(options.ssh_config.clone()));
    let limit = Arc::new(Semaphore::new(options.forks.max(1)));
    let shared = Arc::new(local_exports.clone());
    // `halt`: start nothing new (interrupt, fail-fast, rollout threshold);
    // workers see it before connecting and before each step.
    let (halt_handle, halt) = stop_pair();
    let halt_handle = Arc::new(halt_handle);
    let mut interrupted = false;
    if let Some(why) = options.interrupt.reason() {
        interrupted = true;
        halt_handle.stop(format!("not run: {why}"));
    }
    let mut hosts: Vec<Option<HostReport>> = vec![None; plan.hosts.len()];
    let batches = crate::rollout::batches(&workflow.serial, plan.hosts.len());
    for (number, batch) in batches.iter().enumerate() {
        if number > 0 && !halt.is_stopped() {
            let done: Vec<&HostReport> = hosts.iter().flatten().collect();
            if let Some(why) = threshold_reason(workflow.max_failures, &done, number) {
                halt_handle.stop(format!("not run: {why}"));
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
                    return not_run_host(&host.host, &why);
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
                if fail_fast && crate::rollout::host_failed(&report) {
                    halt_handle.stop(format!(
                        "not run: --fail-fast: host `{}` failed",
                        report.name
                    ));
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
                    halt_handle.stop(format!("not run: {why}"));
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
                    if options.fail_fast && crate::rollout::host_failed(&report) {
                        // Its own task could not say so if it panicked;
                        // the first reason given wins.
                        halt_handle.stop(format!(
                            "not run: --fail-fast: host `{}` failed",
                            report.name
                        ));
                    }
                    hosts[index] = Some(announce_host(report, &mut on_event));
                },
            }
        }
    }
    let stopped = halt
        .reason()
        .map(|r| r.trim_start_matches("not run: ").to_string());
    let mut hosts: Vec<HostReport> = hosts
        .into_iter()
        .zip(&plan.hosts)
        .map(|(report, host)| {
            report.unwrap_or_else(|| {
                let report = not_run_host(&host.host, &halt.reason().unwrap_or_default());
                on_event(&Event::HostFinished {
                    host: report.clone(),
                });
                report
            })
        })
        .collect();
    for refusal in &plan.refused {
        let report = refused_host(&refusal.host, &refusal.reason);
        on_event(&Event::HostFinished {
            host: report.clone(),
        });
        hosts.push(report);
    }

    // Over a partial fleet a fleet-wide rule would judge the wrong set of
    // hosts ("exactly one PRIMARY" among half of them): skip them instead.
    let fleet_checks = match (&stopped, &options.defer_fleet_checks) {
        (None, None) => crate::fleet_checks::evaluate(&evaluator, plan, &globals, &hosts),
        (None, Some(why)) => crate::fleet_checks::not_evaluated(&workflow.fleet_checks, why),
        (Some(why), _) => crate::fleet_checks::skipped(&workflow.fleet_checks, why),
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
        local_exports,
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

fn scope_of(vars: &Vars) -> Scope {
    vars.iter()
        .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
        .collect()
}

fn is_bad(status: StepStatus) -> bool {
    matches!(
        status,
        StepStatus::Failed | StepStatus::Timeout | StepStatus::Error
    )
}

/// What one host's task needs besides its plan.
struct Worker<'a> {
    ctx: &'a SshContext,
    evaluator: &'a Evaluator,
    local_exports: &'a BTreeMap<String, serde_json::Value>,
    cap: usize,
    tx: &'a mpsc::UnboundedSender<Event>,
    /// Start nothing new once fired; the reason goes into skipped steps.
    halt: &'a Stop,
    /// The operator's interrupt: also ends the connect or step under way.
    interrupt: &'a Stop,
}

impl Worker<'_> {
    async fn run_host(
        &self,
        steps: &[Step],
        default_timeout: Duration,
        plan: &HostPlan,
    ) -> HostReport {
        let host = &plan.host;
        let name = host.name.clone();
        let started = Instant::now();
        let tx = self.tx;
        // A send fails only once the coordinator is gone; nothing to tell then.
        let _ = tx.send(Event::HostStarted { host: name.clone() });
        let mut report = empty_host(host);
        let target = match crate::ssh::target_for(host, self.ctx.ssh_config()) {
            Ok(target) => target,
            Err(message) => {
                report.status = HostStatus::Unreachable;
                report.unreachable = Some(Unreachable {
                    kind: crate::results::UnreachableKind::Network,
                    message,
                });
                return report;
            }
        };
        let connected = tokio::select! {
            connected = Session::connect(self.ctx, &target) => connected,
            why = self.interrupt.stopped() => {
                let mut report = not_run_host(host, &format!("not run: {why}"));
                report.duration = started.elapsed();
                return report;
            }
        };
        let session = match connected {
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
        // Asked only when a remote step needs sudo, once per run.
        let needs_become = steps.iter().any(|s| s.sudo && !s.local);
        let session = if needs_become {
            session.with_become_password(self.ctx.become_password().await)
        } else {
            session
        };
        let _ = tx.send(Event::HostConnected { host: name.clone() });

        let mut scope = scope_of(&plan.vars);
        for (k, v) in self.local_exports {
            scope.insert(k.clone(), Value::from_serialize(v));
        }
        scope.insert("host".into(), host_value(host));
        let mut stopped: Option<String> = None;
        for step in steps {
            if stopped.is_none() {
                // The interrupt too: the coordinator may not have turned it
                // into `halt` yet when this host's step ended because of it.
                stopped = self
                    .halt
                    .reason()
                    .or_else(|| self.interrupt.reason().map(|why| format!("not run: {why}")));
            }
            let result = match &stopped {
                Some(reason) => {
                    null_exports(step, &mut scope, &mut report.exports);
                    skipped(step, reason.clone(), String::new())
                }
                None => {
                    let _ = tx.send(Event::StepStarted {
                        host: name.clone(),
                        step: step.name.clone(),
                    });
                    let runner = if step.local {
                        Runner::Controller
                    } else {
                        Runner::Host(&session)
                    };
                    let run = run_step(
                        self.evaluator,
                        &runner,
                        step,
                        &mut scope,
                        &mut report.exports,
                        self.cap,
                        default_timeout,
                    );
                    // Dropping the step's future drops its channel; closing
                    // the session below ends it on the host (and the remote
                    // `timeout` guard bounds it in any case).
                    let result = tokio::select! {
                        result = run => result,
                        why = self.interrupt.stopped() => {
                            errored(step, String::new(), format!("interrupted: {why}; the step was stopped and its output discarded"))
                        }
                    };
                    if result.status == StepStatus::Error && session.is_closed() {
                        stopped = Some(format!(
                            "not run: the connection was lost during step `{}`",
                            step.name
                        ));
                    } else if step.on_failure == OnFailure::StopHost && is_bad(result.status) {
                        stopped = Some(format!(
                            "not run: step `{}` failed and has `on-failure \"stop-host\"`",
                            step.name
                        ));
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
}

/// What templates see as `host`.
fn host_value(host: &crate::model::Host) -> Value {
    Value::from_serialize(serde_json::json!({
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "user": host.user,
        "groups": host.groups,
    }))
}

fn empty_host(host: &crate::model::Host) -> HostReport {
    HostReport {
        name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        user: host.user.clone(),
        status: HostStatus::Ok,
        unreachable: None,
        refused: None,
        not_run: None,
        connect_time: None,
        duration: Duration::ZERO,
        steps: Vec::new(),
        exports: BTreeMap::new(),
    }
}

/// A host the run never started: it stopped first.
fn not_run_host(host: &crate::model::Host, reason: &str) -> HostReport {
    let mut report = empty_host(host);
    report.status = HostStatus::Skipped;
    report.not_run = Some(reason.trim_start_matches("not run: ").to_string());
    report
}

fn refused_host(host: &crate::model::Host, reason: &str) -> HostReport {
    let mut report = empty_host(host);
    report.status = HostStatus::Refused;
    report.refused = Some(reason.to_string());
    report
}

/// A skipped step's exports are `none`, so later references read as
/// absent instead of failing as undefined. A value an earlier step already
/// exported under the same name (e.g. `backup_age` from the production or
/// the DR variant of a step) is kept.
fn null_exports(step: &Step, scope: &mut Scope, exports: &mut BTreeMap<String, serde_json::Value>) {
    for e in &step.exports {
        if !exports.contains_key(&e.name) {
            scope.insert(e.name.clone(), Value::from(()));
            exports.insert(e.name.clone(), serde_json::Value::Null);
        }
    }
}

/// One step on one runner: `when`, template, the command (with `retry`),
/// rules, exports.
async fn run_step(
    evaluator: &Evaluator,
    runner: &Runner<'_>,
    step: &Step,
    scope: &mut Scope,
    exports: &mut BTreeMap<String, serde_json::Value>,
    cap: usize,
    default_timeout: Duration,
) -> StepReport {
    let missing: Vec<&str> = step
        .requires
        .iter()
        .filter(|name| !is_configured(scope.get(name.value.as_str())))
        .map(|name| name.value.as_str())
        .collect();
    if !missing.is_empty() {
        null_exports(step, scope, exports);
        return skipped(
            step,
            format!("not configured: set {}", missing.join(", ")),
            String::new(),
        );
    }
    if let Some(when) = &step.when {
        match evaluator.truthy(when, scope) {
            Ok(true) => {}
            Ok(false) => {
                null_exports(step, scope, exports);
                return skipped(
                    step,
                    format!("`when {}` is false", when.value),
                    String::new(),
                );
            }
            Err(e) => {
                null_exports(step, scope, exports);
                return errored(step, String::new(), format!("cannot evaluate `when`: {e}"));
            }
        }
    }
    let command = match evaluator.render_command(&step.run, scope) {
        Ok(c) => c,
        Err(e) => {
            null_exports(step, scope, exports);
            return errored(
                step,
                String::new(),
                format!("cannot render the command: {e}"),
            );
        }
    };
    let timeout = step.timeout.unwrap_or(default_timeout);
    let attempts = step.retry.as_ref().map_or(1, |r| r.attempts.max(1));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let out = runner.run(step, &command, timeout, cap).await;
        let mut step_scope = scope.clone();
        let (status, failures, reason) = match &out.end {
            // Parsing and rules: off the threads other hosts' SSH runs on.
            ExecEnd::Completed => {
                crate::workers::cpu_bound(|| {
                    let verdict = evaluator.judge(step, &out, &mut step_scope);
                    let status = match verdict.reason {
                        Some(_) => StepStatus::Failed,
                        None => status_from_failures(&verdict.failures),
                    };
                    (status, verdict.failures, verdict.reason)
                })
                .await
            }
            ExecEnd::TimedOut => (
                StepStatus::Timeout,
                Vec::new(),
                Some(format!(
                    "still running after {}; channel closed and the command ended",
                    humantime::format_duration(timeout)
                )),
            ),
            ExecEnd::Failed(why) => (StepStatus::Error, Vec::new(), Some(why.clone())),
        };
        let done = match (&step.retry, &out.end) {
            (None, _) => true,
            (Some(_), ExecEnd::Failed(_)) => true,
            (Some(r), ExecEnd::Completed) => match &r.until {
                Some(until) => evaluator.truthy(until, &step_scope).unwrap_or(false),
                None => failures.is_empty(),
            },
            (Some(_), ExecEnd::TimedOut) => false,
        };
        if done || attempt >= attempts {
            let mut failures = failures;
            let mut status = status;
            let mut reason = reason;
            if !done && let Some(until) = step.retry.as_ref().and_then(|r| r.until.as_ref()) {
                failures.push(RuleFailure {
                    severity: crate::model::Severity::Fail,
                    expected: format!("until {}", until.value),
                    message: None,
                    seen: format!("still false after {attempt} attempts"),
                    location: until.span.location(),
                });
                if status == StepStatus::Passed || status == StepStatus::Warned {
                    status = StepStatus::Failed;
                }
            }
            // A step that failed before its rules (exit status not accepted,
            // output unreadable) has no data to export: its exports are
            // `none`, and its reason stays the command's own failure.
            let exit_accepted = out
                .exit_status
                .is_some_and(|c| step.accepted_exit_statuses().contains(&c));
            if out.end == ExecEnd::Completed && exit_accepted && reason.is_none() {
                let errors = evaluator.exports(&step.exports, &mut step_scope, exports);
                for (k, v) in &step_scope {
                    if step.exports.iter().any(|e| &e.name == k) {
                        scope.insert(k.clone(), v.clone());
                    }
                }
                if !errors.is_empty() {
                    status = status.max(StepStatus::Error);
                    reason = Some(errors.join("; "));
                }
            } else {
                null_exports(step, scope, exports);
            }
            // The invariant the whole language is built for: no step passes
            // (or only warns) unless its command ran to completion with an
            // exit status the step accepts.
            debug_assert!(
                !matches!(status, StepStatus::Passed | StepStatus::Warned)
                    || (out.end == ExecEnd::Completed
                        && out
                            .exit_status
                            .is_some_and(|c| step.accepted_exit_statuses().contains(&c))),
                "step `{}` is {status:?} with exit status {:?} ({:?})",
                step.name,
                out.exit_status,
                out.end
            );
            return StepReport {
                name: step.name.clone(),
                command,
                status,
                exit_status: out.exit_status,
                exit_signal: out.exit_signal,
                stdout: out.stdout,
                stderr: out.stderr,
                duration: out.duration,
                failures,
                reason,
                attempts: attempt,
            };
        }
        let interval = step.retry.as_ref().map_or(Duration::ZERO, |r| r.interval);
        tokio::time::sleep(interval).await;
    }
}

/// A `requires` variable counts as set unless it is absent, null or a
/// blank string: a site that has not filled in a command leaves it so.
fn is_configured(value: Option<&Value>) -> bool {
    match value {
        None => false,
        Some(v) if v.is_undefined() || v.is_none() => false,
        Some(v) => v.as_str().is_none_or(|s| !s.trim().is_empty()),
    }
}

fn skipped(step: &Step, reason: String, command: String) -> StepReport {
    bare(step, StepStatus::Skipped, reason, command)
}

fn errored(step: &Step, command: String, reason: String) -> StepReport {
    bare(step, StepStatus::Error, reason, command)
}

fn bare(step: &Step, status: StepStatus, reason: String, command: String) -> StepReport {
    StepReport {
        name: step.name.clone(),
        command,
        status,
        exit_status: None,
        exit_signal: None,
        stdout: Captured::default(),
        stderr: Captured::default(),
        duration: Duration::ZERO,
        failures: Vec::new(),
        reason: Some(reason),
        attempts: 0,
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
