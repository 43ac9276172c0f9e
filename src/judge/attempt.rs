//! One attempt of one step: the exit status, parsing, the rules, `until`
//! and the exports, decided together so the runner only runs commands.

use std::time::Duration;

use minijinja::Value;

use super::excerpt::{exit_summary, unix_lines};
use super::{Evaluator, Scope};
use crate::extract::extract;
use crate::model::output::{ExecEnd, ExecOutput};
use crate::model::report::{RuleFailure, StepStatus, status_from_failures};
use crate::model::workflow::describe_exit;
use crate::model::{Check, Rule, Severity, Step};

/// Which attempt this is, and the time limit it ran under.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// 1 for the first run of the command.
    pub number: u32,
    pub timeout: Duration,
}

/// What one attempt of a step comes to.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub status: StepStatus,
    /// Broken rules, the exit status first.
    pub failures: Vec<RuleFailure>,
    /// Why the step could not be judged by its rules (timeout, lost
    /// connection, unreadable output, a failed export).
    pub reason: Option<String>,
    /// The step's exports in order, once it is final and its command ran
    /// to an accepted exit status with readable output; `None`: it has no
    /// data, so its exports are `none`.
    pub exports: Option<Vec<(String, Value)>>,
    /// Run the command again (`retry` with attempts left, and `until`
    /// still false or the step failed); nothing else here is final then.
    pub retry: bool,
}

/// What the rules made of a finished command.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict {
    /// Broken rules, the exit status first.
    pub failures: Vec<RuleFailure>,
    /// Set when the output could not be parsed: why, leading with the exit
    /// status and stderr when the command failed.
    pub reason: Option<String>,
}

impl Evaluator {
    /// Judges one attempt of `step` whose command produced `out`; `scope`
    /// holds the variables the step started with.
    pub fn judge(
        &self,
        step: &Step,
        out: &ExecOutput,
        scope: &Scope,
        attempt: Attempt,
    ) -> Judgement {
        let mut step_scope = scope.clone();
        let (mut status, mut failures, mut reason) = match &out.end {
            ExecEnd::Completed => {
                let verdict = self.judge_output(step, out, &mut step_scope);
                let status = match verdict.reason {
                    Some(_) => StepStatus::Failed,
                    None => status_from_failures(&verdict.failures),
                };
                (status, verdict.failures, verdict.reason)
            }
            ExecEnd::TimedOut => (
                StepStatus::Timeout,
                Vec::new(),
                Some(format!(
                    "still running after {}; channel closed and the command ended",
                    humantime::format_duration(attempt.timeout)
                )),
            ),
            ExecEnd::Failed(why) => (StepStatus::Error, Vec::new(), Some(why.clone())),
        };
        let done = match (&step.retry, &out.end) {
            (None, _) | (Some(_), ExecEnd::Failed(_)) => true,
            (Some(r), ExecEnd::Completed) => match &r.until {
                Some(until) => self.truthy(until, &step_scope).unwrap_or(false),
                None => failures.is_empty(),
            },
            (Some(_), ExecEnd::TimedOut) => false,
        };
        let attempts = step.retry.as_ref().map_or(1, |r| r.attempts.max(1));
        if !done && attempt.number < attempts {
            return Judgement {
                status,
                failures,
                reason,
                exports: None,
                retry: true,
            };
        }
        if !done && let Some(until) = step.retry.as_ref().and_then(|r| r.until.as_ref()) {
            failures.push(RuleFailure {
                severity: Severity::Fail,
                expected: format!("until {}", until.value),
                message: None,
                seen: format!("still false after {} attempts", attempt.number),
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
        let exports = if out.end == ExecEnd::Completed && exit_accepted && reason.is_none() {
            let (values, errors) = self.exports(&step.exports, &mut step_scope);
            if !errors.is_empty() {
                status = status.max(StepStatus::Error);
                reason = Some(errors.join("; "));
            }
            Some(values)
        } else {
            None
        };
        // The invariant the whole language is built for: no step passes
        // (or only warns) unless its command ran to completion with an
        // exit status the step accepts.
        debug_assert!(
            !matches!(status, StepStatus::Passed | StepStatus::Warned)
                || (out.end == ExecEnd::Completed && exit_accepted),
            "step `{}` is {status:?} with exit status {:?} ({:?})",
            step.name,
            out.exit_status,
            out.end
        );
        Judgement {
            status,
            failures,
            reason,
            exports,
            retry: false,
        }
    }

    /// Adds what a finished command produced to `scope`: `exit_code`,
    /// `stdout`, `stderr` and, when the step parses its output, `data`.
    /// A parse failure is returned as the reason the step cannot be judged.
    pub fn step_scope(
        &self,
        step: &Step,
        out: &ExecOutput,
        scope: &mut Scope,
    ) -> Result<(), String> {
        scope.insert(
            "exit_code".into(),
            out.exit_status.map_or(Value::from(()), Value::from),
        );
        scope.insert("stdout".into(), Value::from(out.stdout.text.as_str()));
        scope.insert("stderr".into(), Value::from(out.stderr.text.as_str()));
        if let Some(parser) = &step.parse {
            match extract(&parser.value, &unix_lines(&out.stdout.text)) {
                Ok(data) => {
                    scope.insert("data".into(), Value::from_serialize(&data));
                }
                Err(e) => {
                    scope.insert("data".into(), Value::from(()));
                    return Err(format!(
                        "cannot parse the output ({}): {e}",
                        parser.span.location()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The verdict on a finished command: its broken rules, exit status
    /// first, and the reason when the output could not be parsed. Fills
    /// `scope` with the step's result (see [`Evaluator::step_scope`]).
    ///
    /// The exit status is always judged: by the step's `exit=`/`exit-in=`
    /// rule, else by the implicit `exit=0`. When the command failed, the
    /// parser's complaint comes after the exit status and stderr, which
    /// are nearly always the real story (`exit 127: …: command not found`).
    pub(crate) fn judge_output(&self, step: &Step, out: &ExecOutput, scope: &mut Scope) -> Verdict {
        let exit = self.exit_failure(step, out, scope);
        match self.step_scope(step, out, scope) {
            Ok(()) => {
                let mut failures: Vec<RuleFailure> = exit.into_iter().collect();
                let others: Vec<Rule> = step
                    .rules
                    .iter()
                    .filter(|r| !matches!(r.check, Check::Exit(_)))
                    .cloned()
                    .collect();
                failures.extend(self.rules(&others, out, scope));
                Verdict {
                    failures,
                    reason: None,
                }
            }
            Err(complaint) => {
                let why = if out.exit_status == Some(0) {
                    complaint
                } else {
                    format!("{}\nthen {complaint}", exit_summary(out))
                };
                let parse = RuleFailure {
                    severity: Severity::Fail,
                    expected: "output the parser can read".into(),
                    message: None,
                    seen: why.clone(),
                    location: step
                        .parse
                        .as_ref()
                        .map_or_else(|| step.span.location(), |p| p.span.location()),
                };
                Verdict {
                    failures: exit.into_iter().chain([parse]).collect(),
                    reason: Some(why),
                }
            }
        }
    }

    /// The broken exit rule of a step, explicit or implicit (`exit=0`).
    fn exit_failure(&self, step: &Step, out: &ExecOutput, scope: &Scope) -> Option<RuleFailure> {
        let accepted = step.accepted_exit_statuses();
        if out.exit_status.is_some_and(|code| accepted.contains(&code)) {
            return None;
        }
        let rule = step
            .rules
            .iter()
            .find(|r| matches!(r.check, Check::Exit(_)));
        let mut scope = scope.clone();
        scope.insert(
            "exit_code".into(),
            out.exit_status.map_or(Value::from(()), Value::from),
        );
        scope.insert("stderr".into(), Value::from(out.stderr.text.as_str()));
        scope.insert("stdout".into(), Value::from(out.stdout.text.as_str()));
        let message = rule.and_then(|r| r.message.as_ref()).map(|m| {
            self.render(m, &scope)
                .unwrap_or_else(|e| format!("{} (message failed: {})", m.value, e.detail))
        });
        Some(RuleFailure {
            severity: Severity::Fail,
            expected: describe_exit(accepted),
            message,
            seen: exit_summary(out),
            location: rule.map_or_else(|| step.span.location(), |r| r.span.location()),
        })
    }
}
