//! The step runner against a fake command runner: retry, `until`,
//! `on-failure "stop-host"`, skips, exports and timeouts, without SSH.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::load::parse_workflow;
use crate::model::SourceFile;
use crate::model::output::ExecEnd;
use crate::model::report::Captured;

/// Plays back canned outputs, one per command, and records each command.
struct Fake {
    outputs: Mutex<VecDeque<ExecOutput>>,
    commands: Mutex<Vec<String>>,
}

impl Fake {
    fn new(outputs: impl IntoIterator<Item = ExecOutput>) -> Fake {
        Fake {
            outputs: Mutex::new(outputs.into_iter().collect()),
            commands: Mutex::new(Vec::new()),
        }
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl CommandRunner for Fake {
    async fn run(
        &self,
        _step: &Step,
        command: &str,
        _timeout: Duration,
        _cap: usize,
    ) -> ExecOutput {
        if let Ok(mut commands) = self.commands.lock() {
            commands.push(command.to_string());
        }
        let next = self.outputs.lock().ok().and_then(|mut o| o.pop_front());
        next.unwrap_or_else(|| panic!("the step ran `{command}` more often than scripted"))
    }
}

fn completed(stdout: &str, code: u32) -> ExecOutput {
    ExecOutput {
        stdout: Captured {
            text: stdout.to_string(),
            bytes: stdout.len() as u64,
            truncated: false,
            base64: None,
        },
        stderr: Captured::default(),
        exit_status: Some(code),
        exit_signal: None,
        end: ExecEnd::Completed,
        duration: Duration::ZERO,
    }
}

fn ended(end: ExecEnd) -> ExecOutput {
    ExecOutput {
        exit_status: None,
        end,
        ..completed("", 0)
    }
}

fn step(body: &str) -> Step {
    let text = format!("workflow w {{\n  step s {{\n{body}\n  }}\n}}\n");
    let wf = parse_workflow(SourceFile::new("w.kdl", text)).unwrap_or_else(|e| panic!("{e:?}"));
    wf.steps[0].clone()
}

/// The outcome of one step: its report, the variables after it and the
/// host's exports after it.
struct Ran {
    report: StepReport,
    scope: Scope,
    exports: BTreeMap<String, serde_json::Value>,
}

async fn run(step: &Step, fake: &Fake, scope: Scope) -> Ran {
    run_with(step, fake, scope, BTreeMap::new()).await
}

async fn run_with(
    step: &Step,
    fake: &Fake,
    mut scope: Scope,
    mut exports: BTreeMap<String, serde_json::Value>,
) -> Ran {
    let evaluator = Evaluator::default();
    let ctx = StepContext {
        evaluator: &evaluator,
        cap: 1024,
        default_timeout: Duration::from_secs(7),
    };
    let report = run_step(ctx, fake, step, &mut scope, &mut exports).await;
    Ran {
        report,
        scope,
        exports,
    }
}

#[tokio::test]
async fn retry_until_runs_again_until_the_condition_holds() {
    let s = step(
        r#"    run "count"
    retry attempts=5 interval="1ms" until="stdout | trim | int >= 3""#,
    );
    let fake = Fake::new([
        completed("1\n", 0),
        completed("2\n", 0),
        completed("3\n", 0),
    ]);
    let ran = run(&s, &fake, Scope::new()).await;
    assert_eq!(ran.report.status, StepStatus::Passed);
    assert_eq!(ran.report.attempts, 3);
    assert_eq!(
        ran.report.stdout.text, "3\n",
        "the last attempt is reported"
    );
    assert_eq!(fake.commands(), ["count", "count", "count"]);
}

#[tokio::test]
async fn until_still_false_after_every_attempt_fails_the_step() {
    let s = step(
        r#"    run "status"
    retry attempts=2 interval="1ms" until="'running' not in stdout""#,
    );
    let fake = Fake::new([completed("running\n", 0), completed("running\n", 0)]);
    let ran = run(&s, &fake, Scope::new()).await;
    assert_eq!(ran.report.status, StepStatus::Failed);
    assert_eq!(ran.report.attempts, 2);
    let failure = &ran.report.failures[0];
    assert_eq!(failure.expected, "until 'running' not in stdout");
    assert_eq!(failure.seen, "still false after 2 attempts");
}

#[tokio::test]
async fn retry_without_until_stops_at_the_first_attempt_that_passes() {
    let s = step(
        r#"    run "flaky"
    retry attempts=3 interval="1ms""#,
    );
    let fake = Fake::new([completed("", 1), completed("", 0)]);
    let ran = run(&s, &fake, Scope::new()).await;
    assert_eq!(ran.report.status, StepStatus::Passed);
    assert_eq!(ran.report.attempts, 2);
    assert!(ran.report.failures.is_empty(), "{:?}", ran.report.failures);
}

#[tokio::test]
async fn a_timeout_is_reported_with_its_limit_and_retried() {
    let s = step(
        r#"    run "slow"
    timeout "5s"
    retry attempts=2 interval="1ms""#,
    );
    let fake = Fake::new([ended(ExecEnd::TimedOut), ended(ExecEnd::TimedOut)]);
    let ran = run(&s, &fake, Scope::new()).await;
    assert_eq!(ran.report.status, StepStatus::Timeout);
    assert_eq!(ran.report.attempts, 2);
    assert_eq!(
        ran.report.reason.as_deref(),
        Some("still running after 5s; channel closed and the command ended")
    );
    // Without its own timeout a step gets the workflow's.
    let s = step(r#"    run "slow""#);
    let ran = run(&s, &Fake::new([ended(ExecEnd::TimedOut)]), Scope::new()).await;
    assert_eq!(
        ran.report.reason.as_deref(),
        Some("still running after 7s; channel closed and the command ended")
    );
}

#[tokio::test]
async fn a_command_that_could_not_run_is_an_error_and_not_retried() {
    let s = step(
        r#"    run "x"
    retry attempts=3 interval="1ms"
    export n "1""#,
    );
    let fake = Fake::new([ended(ExecEnd::Failed("channel closed".into()))]);
    let ran = run(&s, &fake, Scope::new()).await;
    assert_eq!(ran.report.status, StepStatus::Error);
    assert_eq!(ran.report.attempts, 1);
    assert_eq!(ran.report.reason.as_deref(), Some("channel closed"));
    assert_eq!(ran.exports["n"], serde_json::Value::Null);
}

#[tokio::test]
async fn when_false_and_unset_requires_skip_without_running() {
    let fake = Fake::new([]);
    let mut scope = Scope::new();
    scope.insert("x".into(), Value::from(2));
    scope.insert("blank".into(), Value::from("  "));
    let s = step(
        r#"    run "never"
    when "x == 1"
    export n "1""#,
    );
    let ran = run(&s, &fake, scope.clone()).await;
    assert_eq!(ran.report.status, StepStatus::Skipped);
    assert_eq!(ran.report.reason.as_deref(), Some("`when x == 1` is false"));
    assert_eq!(ran.exports["n"], serde_json::Value::Null);
    assert!(ran.scope["n"].is_none(), "later steps read `none`");

    let s = step(
        r#"    run "never"
    requires "x" "blank" "absent""#,
    );
    let ran = run(&s, &fake, scope).await;
    assert_eq!(ran.report.status, StepStatus::Skipped);
    assert_eq!(
        ran.report.reason.as_deref(),
        Some("not configured: set blank, absent")
    );
    assert!(fake.commands().is_empty(), "{:?}", fake.commands());
}

#[tokio::test]
async fn the_command_is_rendered_with_values_quoted() {
    let s = step(r#"    run "echo {{ name }}""#);
    let fake = Fake::new([completed("", 0)]);
    let mut scope = Scope::new();
    scope.insert("name".into(), Value::from("a b; rm"));
    let ran = run(&s, &fake, scope).await;
    assert_eq!(fake.commands(), ["echo 'a b; rm'"]);
    assert_eq!(ran.report.command, "echo 'a b; rm'");
}

#[tokio::test]
async fn exports_reach_later_steps_and_a_failed_step_keeps_earlier_values() {
    let s = step(
        r#"    run "age"
    export age "stdout | trim | int"
    export twice "age * 2""#,
    );
    let ran = run(&s, &Fake::new([completed("21\n", 0)]), Scope::new()).await;
    assert_eq!(ran.report.status, StepStatus::Passed);
    assert_eq!(ran.exports["age"], serde_json::json!(21));
    assert_eq!(ran.exports["twice"], serde_json::json!(42));
    assert_eq!(ran.scope["twice"], Value::from(42));

    // The same names from a step whose command failed: no data, so the
    // values an earlier step exported stay.
    let failed = run_with(
        &s,
        &Fake::new([completed("", 1)]),
        ran.scope.clone(),
        ran.exports.clone(),
    )
    .await;
    assert_eq!(failed.report.status, StepStatus::Failed);
    assert_eq!(failed.exports["age"], serde_json::json!(21));

    // An export that cannot be evaluated makes the step an error.
    let s = step(
        r#"    run "age"
    export age "stdout | int""#,
    );
    let broken = run(&s, &Fake::new([completed("soon\n", 0)]), Scope::new()).await;
    assert_eq!(broken.report.status, StepStatus::Error);
    assert!(
        broken
            .report
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("export `age`:")),
        "{:?}",
        broken.report.reason
    );
    assert_eq!(broken.exports["age"], serde_json::Value::Null);
}

#[tokio::test]
async fn stop_host_stops_after_a_failure_and_a_lost_connection_always_does() {
    let stop_host = step(
        r#"    run "check"
    on-failure "stop-host""#,
    );
    let ran = run(&stop_host, &Fake::new([completed("", 2)]), Scope::new()).await;
    assert_eq!(ran.report.status, StepStatus::Failed);
    assert_eq!(
        stop_after(&stop_host, &ran.report, false).map(|r| r.not_run()),
        Some("not run: step `s` failed and has `on-failure \"stop-host\"`".to_string())
    );
    let ran = run(&stop_host, &Fake::new([completed("", 0)]), Scope::new()).await;
    assert_eq!(stop_after(&stop_host, &ran.report, false), None);

    let plain = step(r#"    run "check""#);
    let ran = run(&plain, &Fake::new([completed("", 2)]), Scope::new()).await;
    assert_eq!(
        stop_after(&plain, &ran.report, false),
        None,
        "continue is the default"
    );
    let lost = Fake::new([ended(ExecEnd::Failed("connection reset".into()))]);
    let ran = run(&plain, &lost, Scope::new()).await;
    assert_eq!(
        stop_after(&plain, &ran.report, true),
        Some(StopReason::ConnectionLost { step: "s".into() })
    );
}
