//! One host's worker: connect (or report why not), run the host's steps
//! in order, stop early when a step says so or the run stops, close.

use std::collections::BTreeMap;
use std::time::Instant;

use minijinja::Value;
use tokio::sync::mpsc;

use super::cancel::{Stop, StopReason};
use super::event::Event;
use super::reports::{empty_host, errored, not_run_host, skipped};
use super::step::{Runner, StepContext, null_exports, run_step, stop_after};
use crate::judge::{Evaluator, Scope};
use crate::model::report::{HostReport, HostStatus, StepStatus, Unreachable};
use crate::model::{Host, Step, Vars};
use crate::plan::HostPlan;
use crate::ssh::{Session, SshContext};

/// What one host's task needs besides its plan.
pub(super) struct Worker<'a> {
    pub ctx: &'a SshContext,
    pub evaluator: &'a Evaluator,
    pub local_exports: &'a BTreeMap<String, serde_json::Value>,
    pub cap: usize,
    pub tx: &'a mpsc::UnboundedSender<Event>,
    /// Start nothing new once fired; the reason goes into skipped steps.
    pub halt: &'a Stop,
    /// The operator's interrupt: also ends the connect or step under way.
    pub interrupt: &'a Stop,
}

impl Worker<'_> {
    pub async fn run_host(
        &self,
        steps: &[Step],
        default_timeout: std::time::Duration,
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
                    kind: crate::model::report::UnreachableKind::Network,
                    message,
                });
                return report;
            }
        };
        let connected = tokio::select! {
            connected = Session::connect(self.ctx, &target) => connected,
            why = self.interrupt.stopped() => {
                let mut report = not_run_host(host, Some(&why));
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
        let session = session.with_session_mode(host.explicit.session.unwrap_or_default());
        let _ = tx.send(Event::HostConnected { host: name.clone() });

        let mut scope = scope_of(&plan.vars);
        for (k, v) in self.local_exports {
            scope.insert(k.clone(), Value::from_serialize(v));
        }
        scope.insert("host".into(), host_value(host));
        let step_ctx = StepContext {
            evaluator: self.evaluator,
            cap: self.cap,
            default_timeout,
        };
        let mut stopped: Option<StopReason> = None;
        // The step reports themselves go to the coordinator in their
        // events (moved, not copied; it puts them into this host's report);
        // the worker keeps only their statuses.
        let mut worst: Option<StepStatus> = None;
        for step in steps {
            if stopped.is_none() {
                // The interrupt too: the coordinator may not have turned it
                // into `halt` yet when this host's step ended because of it.
                stopped = self.halt.reason().or_else(|| self.interrupt.reason());
            }
            let result = match &stopped {
                Some(reason) => {
                    null_exports(step, &mut scope, &mut report.exports);
                    skipped(step, reason.not_run())
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
                    let run = run_step(step_ctx, &runner, step, &mut scope, &mut report.exports);
                    // Dropping the step's future drops its channel; closing
                    // the session below ends it on the host (and the remote
                    // `timeout` guard bounds it in any case).
                    let result = tokio::select! {
                        result = run => result,
                        why = self.interrupt.stopped() => {
                            errored(step, format!("interrupted: {why}; the step was stopped and its output discarded"))
                        }
                    };
                    stopped = stop_after(step, &result, session.is_closed());
                    result
                }
            };
            worst = worst.max(Some(result.status));
            let _ = tx.send(Event::StepFinished {
                host: name.clone(),
                step: result,
            });
        }
        session.close().await;
        report.status = HostReport::status_from_worst(worst);
        report.duration = started.elapsed();
        report
    }
}

/// Variables as template values.
pub(super) fn scope_of(vars: &Vars) -> Scope {
    vars.iter()
        .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
        .collect()
}

/// What templates see as `host`.
fn host_value(host: &Host) -> Value {
    Value::from_serialize(serde_json::json!({
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "user": host.user,
        "groups": host.groups,
    }))
}
