//! One step on one runner: `requires` and `when`, the command template,
//! then the command once per attempt, each attempt judged by
//! [`Evaluator::judge`], which decides status, exports and whether to
//! retry. The runner here only runs commands; where they run is a
//! [`CommandRunner`], so the step logic is tested without SSH.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use minijinja::Value;

use crate::judge::{Attempt, Evaluator, Scope};
use crate::model::output::ExecOutput;
use crate::model::report::{StepReport, StepStatus};
use crate::model::{OnFailure, Step};
use crate::ssh::Session;

use super::cancel::StopReason;
use super::reports::{errored, skipped};

/// Runs one command of a step somewhere (a host over SSH, the controller)
/// and returns what it produced; never fails: a lost connection or a
/// command that could not start is an [`ExecOutput`] too.
pub trait CommandRunner: Sync {
    fn run(
        &self,
        step: &Step,
        command: &str,
        timeout: Duration,
        cap: usize,
    ) -> impl Future<Output = ExecOutput> + Send;
}

/// A host, over its SSH session: through the host's shared session unless
/// the step or the host needs a channel of its own (a `tty` step, see
/// [`Session::exec_shared`]); `sudo` steps through sudo, `tty` steps with a
/// terminal.
impl CommandRunner for Session {
    async fn run(&self, step: &Step, command: &str, timeout: Duration, cap: usize) -> ExecOutput {
        if !step.tty
            && let Some(out) = self.exec_shared(command, step.sudo, timeout, cap).await
        {
            return out;
        }
        if step.sudo {
            self.exec_sudo(command, step.tty, timeout, cap).await
        } else {
            self.exec(command, step.tty, timeout, cap).await
        }
    }
}

/// The controller itself (`local` steps), with the step's `env` on top of
/// the safe base set.
pub struct Controller;

impl CommandRunner for Controller {
    async fn run(&self, step: &Step, command: &str, timeout: Duration, cap: usize) -> ExecOutput {
        let env = super::local::step_env(step.env.iter().map(|n| n.value.as_str()), |n| {
            std::env::var_os(n)
        });
        super::local::run(command, &env, timeout, cap).await
    }
}

/// A host's step runs on the host, or on the controller when it is `local`.
pub(super) enum Runner<'a> {
    Host(&'a Session),
    Controller,
}

impl CommandRunner for Runner<'_> {
    async fn run(&self, step: &Step, command: &str, timeout: Duration, cap: usize) -> ExecOutput {
        match self {
            Runner::Host(session) => session.run(step, command, timeout, cap).await,
            Runner::Controller => Controller.run(step, command, timeout, cap).await,
        }
    }
}

/// What one step needs besides its runner and the variables.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    pub evaluator: &'a Evaluator,
    /// Output kept per stream.
    pub cap: usize,
    /// The workflow's step timeout, for steps without their own.
    pub default_timeout: Duration,
}

/// Runs `step` on `runner`: skipped when a `requires` variable is unset or
/// `when` is false, else its command once per attempt until the judgement
/// says stop. Adds the step's exports to `scope` and `exports` (`none`
/// when it has no data to export).
pub async fn run_step(
    ctx: StepContext<'_>,
    runner: &impl CommandRunner,
    step: &Step,
    scope: &mut Scope,
    exports: &mut BTreeMap<String, serde_json::Value>,
) -> StepReport {
    let missing: Vec<&str> = step
        .requires
        .iter()
        .filter(|name| !is_configured(scope.get(name.value.as_str())))
        .map(|name| name.value.as_str())
        .collect();
    if !missing.is_empty() {
        null_exports(step, scope, exports);
        return skipped(step, format!("not configured: set {}", missing.join(", ")));
    }
    if let Some(when) = &step.when {
        match ctx.evaluator.truthy(when, scope) {
            Ok(true) => {}
            Ok(false) => {
                null_exports(step, scope, exports);
                return skipped(step, format!("`when {}` is false", when.value));
            }
            Err(e) => {
                null_exports(step, scope, exports);
                return errored(step, format!("cannot evaluate `when`: {e}"));
            }
        }
    }
    let command = match ctx.evaluator.render_command(&step.run, scope) {
        Ok(c) => c,
        Err(e) => {
            null_exports(step, scope, exports);
            return errored(step, format!("cannot render the command: {e}"));
        }
    };
    let timeout = step.timeout.unwrap_or(ctx.default_timeout);
    let mut number = 0;
    loop {
        number += 1;
        let out = runner.run(step, &command, timeout, ctx.cap).await;
        let attempt = Attempt { number, timeout };
        // Parsing and rules on large output: off the threads other hosts'
        // SSH runs on.
        let size = out.stdout.bytes.saturating_add(out.stderr.bytes);
        let judgement =
            super::workers::cpu_bound_for(size, || ctx.evaluator.judge(step, &out, scope, attempt))
                .await;
        if judgement.retry {
            let interval = step.retry.as_ref().map_or(Duration::ZERO, |r| r.interval);
            tokio::time::sleep(interval).await;
            continue;
        }
        match judgement.exports {
            Some(values) => {
                for (name, value) in values {
                    exports.insert(
                        name.clone(),
                        serde_json::to_value(&value).unwrap_or(serde_json::Value::Null),
                    );
                    scope.insert(name, value);
                }
            }
            None => null_exports(step, scope, exports),
        }
        return StepReport {
            name: step.name.clone(),
            command,
            status: judgement.status,
            exit_status: out.exit_status,
            exit_signal: out.exit_signal,
            stdout: out.stdout,
            stderr: out.stderr,
            duration: out.duration,
            failures: judgement.failures,
            reason: judgement.reason,
            attempts: number,
            waiver: None,
            session: out.session,
        };
    }
}

/// A skipped step's exports are `none`, so later references read as
/// absent instead of failing as undefined. A value an earlier step already
/// exported under the same name (e.g. `backup_age` from the production or
/// the DR variant of a step) is kept.
pub(super) fn null_exports(
    step: &Step,
    scope: &mut Scope,
    exports: &mut BTreeMap<String, serde_json::Value>,
) {
    for e in &step.exports {
        if !exports.contains_key(&e.name) {
            scope.insert(e.name.clone(), Value::from(()));
            exports.insert(e.name.clone(), serde_json::Value::Null);
        }
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

/// Why nothing more runs on this host after `report`: the connection
/// dropped during it, or it failed with `on-failure "stop-host"`.
pub(super) fn stop_after(
    step: &Step,
    report: &StepReport,
    connection_lost: bool,
) -> Option<StopReason> {
    if report.status == StepStatus::Error && connection_lost {
        Some(StopReason::ConnectionLost {
            step: step.name.clone(),
        })
    } else if step.on_failure == OnFailure::StopHost && is_bad(report.status) {
        Some(StopReason::StepFailed {
            step: step.name.clone(),
        })
    } else {
        None
    }
}

/// A status that stops the host when its step has `on-failure "stop-host"`.
pub(super) fn is_bad(status: StepStatus) -> bool {
    matches!(
        status,
        StepStatus::Failed | StepStatus::Timeout | StepStatus::Error
    )
}

#[cfg(test)]
#[path = "step_tests.rs"]
mod tests;
