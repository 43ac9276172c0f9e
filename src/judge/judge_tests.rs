use super::*;
use crate::load::parse_workflow;
use crate::model::SourceFile;
use crate::model::output::{ExecEnd, ExecOutput};
use crate::model::report::{Captured, RuleFailure};
use crate::model::{Spanned, Step};
use minijinja::Value;
use std::time::Duration;

/// Fuzz finding: an error range inside a multi-byte character used to
/// panic while quoting the offending text.
#[test]
fn error_inside_a_multibyte_character_is_reported_not_a_panic() {
    let text = "\u{718} ";
    let source = SourceFile::new("fuzz.kdl", text);
    let expr = Spanned::new(
        text.to_string(),
        crate::model::Span::new(&source, 0, text.len()),
    );
    let e = Evaluator::default().truthy(&Expression::invalid(expr), &Scope::new());
    assert!(e.is_err(), "{e:?}");
}

/// Fuzz finding: minijinja's lexer panics on `}}` in an expression.
#[test]
fn unbalanced_braces_in_an_expression_are_an_error_not_a_panic() {
    let text = "}}\tte  ";
    let source = SourceFile::new("fuzz.kdl", text);
    let expr = Spanned::new(
        text.to_string(),
        crate::model::Span::new(&source, 0, text.len()),
    );
    assert!(Expression::compile(expr.clone()).is_err());
    assert!(
        Evaluator::default()
            .eval(&Expression::invalid(expr), &Scope::new())
            .is_err()
    );
    let wf = "workflow w {\n  step s {\n    run \"x\"\n    expect \"}} x\"\n  }\n}\n";
    assert!(parse_workflow(SourceFile::new("w.kdl", wf)).is_err());
}

/// Evaluation is bounded: a loop that would run for minutes runs out of
/// fuel and fails with an error instead.
#[test]
fn runaway_template_runs_out_of_fuel() {
    let text = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
    let source = SourceFile::new("fuel.kdl", text);
    let template = Spanned::new(
        text.to_string(),
        crate::model::Span::new(&source, 0, text.len()),
    );
    let e = Evaluator::default().render(&template, &Scope::new());
    assert!(
        e.is_err_and(|e| e.detail.contains("fuel")),
        "expected out of fuel"
    );
}

fn step(body: &str) -> Step {
    let text = format!("workflow w {{\n  step s {{\n    run \"x\"\n{body}\n  }}\n}}\n");
    let wf = parse_workflow(SourceFile::new("w.kdl", text)).unwrap_or_else(|e| panic!("{e:?}"));
    wf.steps[0].clone()
}

fn output(stdout: &str, stderr: &str, code: Option<u32>) -> ExecOutput {
    let cap = |s: &str| Captured {
        text: s.to_string(),
        bytes: s.len() as u64,
        truncated: false,
        base64: None,
    };
    ExecOutput {
        stdout: cap(stdout),
        stderr: cap(stderr),
        exit_status: code,
        exit_signal: None,
        end: ExecEnd::Completed,
        duration: Duration::ZERO,
    }
}

fn failures(body: &str, out: &ExecOutput) -> Vec<RuleFailure> {
    let s = step(body);
    let ev = Evaluator::default();
    let mut scope = Scope::new();
    scope.insert("limit".into(), Value::from(80));
    let verdict = ev.judge_output(&s, out, &mut scope);
    assert_eq!(verdict.reason, None, "unexpected parse failure");
    verdict.failures
}

#[test]
fn literal_rules_show_what_was_seen() {
    let f = failures("expect exit=0", &output("", "boom\n", Some(2)));
    assert_eq!(f[0].seen, "exit 2: boom");
    assert_eq!(f[0].expected, "exit status 0");
    assert_eq!(f[0].location, "w.kdl:4:1");
    let f = failures(
        r#"expect stdout not-contains="0/1""#,
        &output("a 1/1\nb 0/1\n", "", Some(0)),
    );
    assert_eq!(f[0].seen, "stdout line 2: b 0/1");
    let f = failures(
        r#"expect stdout contains="Leader""#,
        &output("one\n", "", Some(0)),
    );
    assert_eq!(f[0].seen, "stdout (1 line):\n  one");
    let f = failures(
        r#"expect stdout matches="^ok$""#,
        &output("x\nok\n", "", Some(0)),
    );
    assert!(f.is_empty(), "multi-line regex: {f:?}");
}

#[test]
fn expression_failure_explains_the_values_it_read() {
    let f = failures(
        r#"expect "data.health == '1'" message="health is {{ data.health }}"
    parse kv"#,
        &output("health: 0\nstate: 8\n", "", Some(0)),
    );
    assert_eq!(f[0].message.as_deref(), Some("health is 0"));
    assert_eq!(f[0].seen, "false, with data.health = \"0\"");
}

#[test]
fn each_reports_every_bad_row_with_its_message_and_counts_obey_bounds() {
    let df = "Filesystem     1024-blocks      Used Available Capacity Mounted on
/dev/sda1         41152736  37037462   4115274      90% /
/dev/sda2           999320     99932    899388      10% /boot
/dev/sdb1        103081248  87619060  15462188      85% /data
";
    let f = failures(
        r#"parse table
    expect-each "row.Capacity | number < limit" where="row['Mounted on'] != '/boot'" message="{{ row['Mounted on'] }} is {{ row.Capacity }} full" severity="warn""#,
        &output(df, "", Some(0)),
    );
    let messages: Vec<_> = f.iter().filter_map(|f| f.message.clone()).collect();
    assert_eq!(messages, ["/ is 90% full", "/data is 85% full"]);
    assert_eq!(f[0].severity, crate::model::Severity::Warn);
    assert_eq!(
        crate::model::report::status_from_failures(&f),
        crate::model::report::StepStatus::Warned
    );
    let f = failures(
        r#"parse table
    expect-count "row.Capacity | number >= limit" max=0 message="{{ count }} filesystems above {{ limit }}%""#,
        &output(df, "", Some(0)),
    );
    assert_eq!(f[0].message.as_deref(), Some("2 filesystems above 80%"));
    assert!(f[0].seen.starts_with("2 matching rows"), "{}", f[0].seen);
    assert!(
        failures(
            r#"parse table
    expect-count "row.Capacity | number >= limit" min=2 max=2"#,
            &output(df, "", Some(0))
        )
        .is_empty()
    );
}

#[test]
fn evaluation_errors_fail_the_rule_with_the_reason() {
    let f = failures(
        r#"expect "stdout | number > 1""#,
        &output("not a number\n", "", Some(0)),
    );
    assert!(f[0].seen.starts_with("cannot evaluate:"), "{}", f[0].seen);
}

#[test]
fn a_failed_command_fails_its_step_without_any_rule() {
    let f = failures(
        "",
        &output("", "bash: quickstart: command not found\n", Some(127)),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].expected, "exit status 0");
    assert_eq!(f[0].seen, "exit 127: bash: quickstart: command not found");
    assert_eq!(f[0].location, "w.kdl:2:3", "the step itself");
    assert!(failures("", &output("", "", Some(0))).is_empty());
    // Killed, or no status at all, is never accepted.
    let mut killed = output("", "", None);
    killed.exit_signal = Some("KILL".into());
    assert_eq!(
        failures("", &killed)[0].seen,
        "killed by signal KILL, no output"
    );
    assert_eq!(
        failures("", &output("", "", None))[0].seen,
        "no exit status reported, no output"
    );
}

#[test]
fn stderr_is_quoted_up_to_three_lines_and_stdout_stands_in_when_empty() {
    let f = failures("", &output("", "a\n\nb\nc\nd\ne\n", Some(1)));
    assert_eq!(f[0].seen, "exit 1: a\n  b\n  c\n  … 2 more lines");
    // A `tty` step's stderr arrives in stdout.
    let f = failures(
        "",
        &output("the input device is not a TTY\r\n", "", Some(1)),
    );
    assert_eq!(
        f[0].seen,
        "exit 1: stderr empty; stdout: the input device is not a TTY"
    );
}

#[test]
fn exit_in_lists_the_acceptable_statuses() {
    let rule = r#"expect exit-in="0,3""#;
    assert!(failures(rule, &output("", "oops\n", Some(3))).is_empty());
    assert!(failures(rule, &output("", "", Some(0))).is_empty());
    let f = failures(rule, &output("", "oops\n", Some(2)));
    assert_eq!(f.len(), 1, "one exit failure, not the default's too: {f:?}");
    assert_eq!(f[0].expected, "exit status 0 or 3");
    assert_eq!(f[0].seen, "exit 2: oops");
    assert_eq!(f[0].location, "w.kdl:4:1");
    // `exit=1` alone: 0 is no longer fine (`grep` finding nothing).
    assert_eq!(
        failures("expect exit=1", &output("x\n", "", Some(0)))[0].expected,
        "exit status 1"
    );
}

/// Only `exit=`/`exit-in=` change which statuses pass: an expression
/// reading `exit_code` is one more rule, and the default still holds.
#[test]
fn an_expression_over_exit_code_does_not_replace_the_default() {
    let f = failures(
        r#"expect "exit_code == 0 or exit_code == 1""#,
        &output("", "", Some(1)),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].expected, "exit status 0");
}

#[test]
fn each_over_zero_rows_fails_unless_empty_passes() {
    let f = failures(
        "parse regex #\"(?<lag>\\d+) secs\"# all=#true\n    expect-each \"row.lag | int < 10\"",
        &output("", "the input device is not a TTY\n", Some(0)),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
            f[0].seen.starts_with(
                "no rows: the parser found no rows in 0 bytes of stdout; stderr:\n  the input device is not a TTY"
            ),
            "{}",
            f[0].seen
        );
    let f = failures(
        "parse lines\n    expect-each \"row != 'x'\" in=\"data | reject('eq', 'ok') | list\"",
        &output("ok\n", "", Some(0)),
    );
    assert!(
        f[0].seen.starts_with("no rows: `in=data | reject"),
        "{}",
        f[0].seen
    );
    assert!(
        failures(
            "parse lines\n    expect-each \"row != 'x'\" empty=\"pass\"",
            &output("", "", Some(0))
        )
        .is_empty()
    );
    // A `where` that keeps no row is not "no rows": there were rows.
    assert!(
        failures(
            "parse lines\n    expect-each \"row != 'x'\" where=\"row == 'y'\"",
            &output("a\n", "", Some(0))
        )
        .is_empty()
    );
    // `expect-count` with only `max=` holds over nothing.
    assert!(
        failures(
            "parse lines\n    expect-count \"row == 'x'\" max=0",
            &output("", "", Some(0))
        )
        .is_empty()
    );
}

#[test]
fn crlf_output_parses_as_lf() {
    let df = "Filesystem     Capacity  Mounted\r\n/dev/sda1      90%       /\r\n";
    let f = failures(
        "parse table\n    expect-each \"row.Capacity | number < limit\" message=\"{{ row.Mounted }}\"",
        &output(df, "", Some(0)),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].message.as_deref(), Some("/"));
    let f = failures(
        "expect stdout matches=\"^ok$\"",
        &output("ok\r\n", "", Some(0)),
    );
    assert!(f.is_empty(), "`$` matches before CRLF: {f:?}");
}

#[test]
fn unreadable_output_of_a_failed_command_leads_with_the_exit_status() {
    let s = step("parse table");
    let ev = Evaluator::default();
    let mut scope = Scope::new();
    let out = output("", "bash: quickstart: command not found\n", Some(127));
    let verdict = ev.judge_output(&s, &out, &mut scope);
    let reason = verdict.reason.unwrap_or_default();
    assert!(
        reason.starts_with("exit 127: bash: quickstart: command not found\nthen cannot parse"),
        "{reason}"
    );
    assert_eq!(verdict.failures[0].expected, "exit status 0");
    assert_eq!(verdict.failures[1].expected, "output the parser can read");
}

#[test]
fn parse_errors_are_reported() {
    let s = step("parse json");
    let ev = Evaluator::default();
    let mut scope = Scope::new();
    let err = ev.step_scope(&s, &output("{oops", "", Some(0)), &mut scope);
    assert!(err.is_err_and(|e| e.contains("cannot parse the output (w.kdl:4:1)")));
}

#[test]
fn exports_see_earlier_exports() {
    let s = step(
        r#"    export a "stdout | trim | int"
    export b "a * 2""#,
    );
    let ev = Evaluator::default();
    let mut scope = Scope::new();
    let out = output("21\n", "", Some(0));
    ev.step_scope(&s, &out, &mut scope)
        .unwrap_or_else(|e| panic!("{e}"));
    let (values, errors) = ev.exports(&s.exports, &mut scope);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(values[1].0, "b");
    assert_eq!(values[1].1, Value::from(42));
}
