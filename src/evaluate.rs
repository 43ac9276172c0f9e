//! Evaluation at run time: rendering templates and evaluating rules,
//! `when`, `until` and exports against a step's result. Pure: the executor
//! hands in the output and the variables, gets back failures and values.

use std::collections::BTreeMap;

use minijinja::{Environment, Value};

use crate::expr::{Clock, environment};
use crate::extract::extract;
use crate::model::{Check, CommandTemplate, Export, Matcher, Rule, Spanned, Step, Stream};
use crate::output::ExecOutput;
use crate::results::{Captured, RuleFailure};

/// Lines of output quoted in a failure's `seen`.
const EXCERPT_LINES: usize = 5;
/// Characters per quoted line before it is cut.
const EXCERPT_WIDTH: usize = 160;
/// Offending rows reported per `expect-each` rule; the rest are counted.
const MAX_ROW_FAILURES: usize = 20;

/// Variables visible to templates and expressions, by name.
pub type Scope = BTreeMap<String, Value>;

/// Holds the one expression environment of a run.
pub struct Evaluator {
    env: Environment<'static>,
}

/// Why a template or expression could not be evaluated.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} `{source_text}` ({location}): {detail}")]
pub struct EvalError {
    pub what: &'static str,
    pub source_text: String,
    pub location: String,
    pub detail: String,
}

impl Default for Evaluator {
    fn default() -> Self {
        Self::new(Clock::System)
    }
}

impl Evaluator {
    pub fn new(clock: Clock) -> Self {
        Evaluator {
            env: environment(clock),
        }
    }

    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }

    /// Renders a message (plain text: values are printed as they are).
    pub fn render(&self, template: &Spanned<String>, scope: &Scope) -> Result<String, EvalError> {
        self.env
            .render_str(&template.value, scope)
            .map_err(|e| error("template", template, &e))
    }

    /// Renders a `run` command: every value a `{{ … }}` prints is one
    /// POSIX-shell-quoted word unless it went through `raw`
    /// ([`crate::expr::shell`]), so output a host printed stays data.
    pub fn render_command(
        &self,
        command: &CommandTemplate,
        scope: &Scope,
    ) -> Result<String, EvalError> {
        let template = &command.text;
        self.env
            .template_from_named_str(crate::expr::shell::COMMAND_TEMPLATE, &template.value)
            .and_then(|t| t.render(scope))
            .map_err(|e| error("command", template, &e))
    }

    pub fn eval(&self, expr: &Spanned<String>, scope: &Scope) -> Result<Value, EvalError> {
        crate::expr::compile_expression(&self.env, &expr.value)
            .and_then(|compiled| compiled.eval(scope))
            .map_err(|e| error("expression", expr, &e))
    }

    pub fn truthy(&self, expr: &Spanned<String>, scope: &Scope) -> Result<bool, EvalError> {
        self.eval(expr, scope).map(|v| v.is_true())
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
            match extract(&parser.value, &out.stdout.text) {
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

    /// Every broken rule of `rules`; `scope` must hold the step's result.
    pub fn rules(&self, rules: &[Rule], out: &ExecOutput, scope: &Scope) -> Vec<RuleFailure> {
        let mut failures = Vec::new();
        for rule in rules {
            self.rule(rule, out, scope, &mut failures);
        }
        failures
    }

    fn rule(&self, rule: &Rule, out: &ExecOutput, scope: &Scope, failures: &mut Vec<RuleFailure>) {
        let fail = |seen: String, message: Option<String>| RuleFailure {
            severity: rule.severity,
            expected: rule.check.describe(),
            message,
            seen,
            location: rule.span.location(),
        };
        let message = |scope: &Scope| -> Option<String> {
            let m = rule.message.as_ref()?;
            Some(
                self.render(m, scope)
                    .unwrap_or_else(|e| format!("{} (message failed: {})", m.value, e.detail)),
            )
        };
        match &rule.check {
            Check::ExitCode(_) | Check::Stream { .. } => {
                if let Some(seen) = literal(&rule.check, out) {
                    failures.push(fail(seen, message(scope)));
                }
            }
            Check::Expr(expr) => match self.truthy(expr, scope) {
                Ok(true) => {}
                Ok(false) => failures.push(fail(self.explain(expr, scope), message(scope))),
                Err(e) => failures.push(fail(
                    format!("cannot evaluate: {}", e.detail),
                    message(scope),
                )),
            },
            Check::Each {
                expr,
                filter,
                rows: source,
            } => {
                let rows = match self.rows(scope, source.as_ref()) {
                    Ok(rows) => rows,
                    Err(why) => return failures.push(fail(why, message(scope))),
                };
                let mut broken = 0usize;
                for row in rows {
                    let mut row_scope = scope.clone();
                    row_scope.insert("row".into(), row.clone());
                    if let Some(f) = filter {
                        match self.truthy(f, &row_scope) {
                            Ok(true) => {}
                            Ok(false) => continue,
                            Err(e) => {
                                broken += 1;
                                if broken <= MAX_ROW_FAILURES {
                                    failures.push(fail(
                                        format!("cannot evaluate `where`: {}", e.detail),
                                        message(&row_scope),
                                    ));
                                }
                                continue;
                            }
                        }
                    }
                    let seen = match self.truthy(expr, &row_scope) {
                        Ok(true) => continue,
                        Ok(false) => format!("row: {}", describe_row(&row)),
                        Err(e) => {
                            format!("row: {}; cannot evaluate: {}", describe_row(&row), e.detail)
                        }
                    };
                    // Rows that render the same message (a table's
                    // continuation rows filled down from their parent) are
                    // one problem, reported once.
                    let message = message(&row_scope);
                    if message.is_some()
                        && failures
                            .iter()
                            .any(|f| f.message == message && f.expected == rule.check.describe())
                    {
                        continue;
                    }
                    broken += 1;
                    if broken <= MAX_ROW_FAILURES {
                        failures.push(fail(seen, message));
                    }
                }
                if broken > MAX_ROW_FAILURES {
                    failures.push(fail(
                        format!("… and {} more rows", broken - MAX_ROW_FAILURES),
                        None,
                    ));
                }
            }
            Check::Count {
                expr,
                min,
                max,
                rows: source,
            } => {
                let rows = match self.rows(scope, source.as_ref()) {
                    Ok(rows) => rows,
                    Err(why) => return failures.push(fail(why, message(scope))),
                };
                let mut hits = Vec::new();
                for row in rows {
                    let mut row_scope = scope.clone();
                    row_scope.insert("row".into(), row.clone());
                    match self.truthy(expr, &row_scope) {
                        Ok(true) => hits.push(row),
                        Ok(false) => {}
                        Err(e) => {
                            return failures.push(fail(
                                format!(
                                    "row: {}; cannot evaluate: {}",
                                    describe_row(&row),
                                    e.detail
                                ),
                                message(scope),
                            ));
                        }
                    }
                }
                let n = hits.len() as u64;
                if min.is_some_and(|lo| n < lo) || max.is_some_and(|hi| n > hi) {
                    let mut seen = format!("{n} matching row{}", if n == 1 { "" } else { "s" });
                    for row in hits.iter().take(EXCERPT_LINES) {
                        seen.push_str(&format!("\n  {}", describe_row(row)));
                    }
                    if hits.len() > EXCERPT_LINES {
                        seen.push_str(&format!("\n  … {} more", hits.len() - EXCERPT_LINES));
                    }
                    let mut scope = scope.clone();
                    scope.insert("count".into(), Value::from(n));
                    scope.insert("rows".into(), Value::from(hits.clone()));
                    failures.push(fail(seen, message(&scope)));
                }
            }
        }
    }

    /// "false" plus the values of the variables the expression reads, so
    /// the operator sees why without re-running anything.
    fn explain(&self, expr: &Spanned<String>, scope: &Scope) -> String {
        let Ok(compiled) = crate::expr::compile_expression(&self.env, &expr.value) else {
            return "false".into();
        };
        let mut names: Vec<String> = compiled.undeclared_variables(true).into_iter().collect();
        names.sort();
        let shown: Vec<String> = names
            .iter()
            .filter(|n| !matches!(n.as_str(), "stdout" | "stderr" | "hosts") || n.contains('.'))
            // Helper functions (`age`, `now`) are globals, not values.
            .filter(|n| self.env.globals().all(|(g, _)| g != n.as_str()))
            .filter_map(|n| {
                let v = crate::expr::compile_expression(&self.env, n)
                    .ok()?
                    .eval(scope)
                    .ok()?;
                if v.is_undefined() {
                    return None;
                }
                Some(format!("{n} = {}", cut(&short(&v))))
            })
            .take(6)
            .collect();
        if shown.is_empty() {
            "false".into()
        } else {
            format!("false, with {}", shown.join(", "))
        }
    }

    /// Exported values of a step, in order; each sees the earlier ones.
    pub fn exports(
        &self,
        exports: &[Export],
        scope: &mut Scope,
        into: &mut BTreeMap<String, serde_json::Value>,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        for export in exports {
            let value = match self.eval(&export.expr, scope) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(format!("export `{}`: {}", export.name, e.detail));
                    Value::from(())
                }
            };
            into.insert(
                export.name.clone(),
                serde_json::to_value(&value).unwrap_or(serde_json::Value::Null),
            );
            scope.insert(export.name.clone(), value);
        }
        errors
    }
}

fn error(what: &'static str, text: &Spanned<String>, e: &minijinja::Error) -> EvalError {
    let mut detail = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    // `get`, not indexing: minijinja's range may fall inside a multi-byte
    // character (found by fuzzing: `ܘ` in an expression panicked here).
    if let Some(at) = e.range().and_then(|r| text.value.get(r)) {
        detail.push_str(&format!(" (at `{at}`)"));
    }
    EvalError {
        what,
        source_text: text.value.clone(),
        location: text.span.location(),
        detail,
    }
}

impl Evaluator {
    /// The rows a per-row rule walks: `in="EXPR"` when given, else `data`.
    fn rows(&self, scope: &Scope, source: Option<&Spanned<String>>) -> Result<Vec<Value>, String> {
        match source {
            Some(expr) => {
                let value = self
                    .eval(expr, scope)
                    .map_err(|e| format!("cannot evaluate `in`: {}", e.detail))?;
                as_rows(&value)
            }
            None => match scope.get("data") {
                Some(data) => as_rows(data),
                None => Err("the step has no `parse`, so there are no rows".into()),
            },
        }
    }
}

/// A list of rows; a single object counts as one row.
fn as_rows(data: &Value) -> Result<Vec<Value>, String> {
    if data.is_none() || data.is_undefined() {
        return Err("no data: the output could not be parsed".into());
    }
    if data.kind() == minijinja::value::ValueKind::Seq {
        return data
            .try_iter()
            .map(Iterator::collect)
            .map_err(|e| format!("cannot read the rows: {e}"));
    }
    Ok(vec![data.clone()])
}

/// `key=value` pairs of a row, or the value itself.
fn describe_row(row: &Value) -> String {
    match serde_json::to_value(row) {
        Ok(serde_json::Value::Object(map)) => cut(&map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" ")),
        _ => cut(&short(row)),
    }
}

fn short(v: &Value) -> String {
    match v.as_str() {
        Some(s) => format!("{s:?}"),
        None => serde_json::to_string(v).unwrap_or_else(|_| v.to_string()),
    }
}

/// `None` when an `exit=` or stream rule holds, else what was seen instead.
fn literal(check: &Check, out: &ExecOutput) -> Option<String> {
    match check {
        Check::ExitCode(want) => match (out.exit_status, out.exit_signal.as_deref()) {
            (Some(code), _) if code == *want => None,
            (Some(code), _) => Some(format!("exit status {code}{}", stderr_hint(&out.stderr))),
            (None, Some(sig)) => Some(format!("killed by signal {sig}")),
            (None, None) => Some("no exit status reported".to_string()),
        },
        Check::Stream { stream, matcher } => {
            let captured = match stream {
                Stream::Stdout => &out.stdout,
                Stream::Stderr => &out.stderr,
            };
            let text = captured.text.as_str();
            let name = stream.as_str();
            match matcher {
                Matcher::Contains(needle) => {
                    (!text.contains(needle.as_str())).then(|| whole_excerpt(name, captured))
                }
                Matcher::Matches(re) => (!re.is_match(text)).then(|| whole_excerpt(name, captured)),
                Matcher::NotContains(needle) => {
                    offending_lines(name, text, |l| l.contains(needle.as_str()))
                }
                Matcher::NotMatches(re) => {
                    if !re.is_match(text) {
                        return None;
                    }
                    // Multi-line patterns may match across lines; fall back
                    // to the whole excerpt when no single line matches.
                    offending_lines(name, text, |l| re.is_match(l))
                        .or_else(|| Some(whole_excerpt(name, captured)))
                }
            }
        }
        _ => None,
    }
}

fn stderr_hint(stderr: &Captured) -> String {
    match stderr.text.lines().find(|l| !l.trim().is_empty()) {
        Some(line) => format!(", stderr: {}", cut(line.trim())),
        None => String::new(),
    }
}

/// The lines that made a negative rule fail, numbered.
fn offending_lines(name: &str, text: &str, hit: impl Fn(&str) -> bool) -> Option<String> {
    let hits: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| hit(l))
        .map(|(i, l)| format!("{name} line {}: {}", i + 1, cut(l)))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let more = hits.len().saturating_sub(EXCERPT_LINES);
    let mut out = hits
        .into_iter()
        .take(EXCERPT_LINES)
        .collect::<Vec<_>>()
        .join("\n");
    if more > 0 {
        out.push_str(&format!("\n… {more} more matching lines"));
    }
    Some(out)
}

/// The start of a stream, for positive rules that found nothing.
fn whole_excerpt(name: &str, captured: &Captured) -> String {
    let text = captured.text.trim_end();
    if text.is_empty() {
        return format!("{name} was empty");
    }
    let total = text.lines().count();
    let mut out = format!(
        "{name} ({total} line{}):",
        if total == 1 { "" } else { "s" }
    );
    for line in text.lines().take(EXCERPT_LINES) {
        out.push_str("\n  ");
        out.push_str(&cut(line));
    }
    if total > EXCERPT_LINES {
        out.push_str(&format!("\n  … {} more lines", total - EXCERPT_LINES));
    }
    if captured.truncated {
        out.push_str(&format!(
            "\n  (output truncated: {} bytes written, only the start was captured)",
            captured.bytes
        ));
    }
    out
}

fn cut(line: &str) -> String {
    if line.chars().count() <= EXCERPT_WIDTH {
        line.to_string()
    } else {
        let mut s: String = line.chars().take(EXCERPT_WIDTH).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_workflow;
    use crate::model::SourceFile;
    use crate::output::ExecEnd;
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
        let e = Evaluator::default().truthy(&expr, &Scope::new());
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
        assert!(Evaluator::default().eval(&expr, &Scope::new()).is_err());
        let wf = "workflow w {\n  step s {\n    run \"x\"\n    expect \"}} x\"\n  }\n}\n";
        assert!(parse_workflow(SourceFile::new("w.kdl", wf)).is_err());
    }

    /// Evaluation is bounded: a loop that would run for minutes runs out of
    /// fuel and fails with an error instead.
    #[test]
    fn runaway_template_runs_out_of_fuel() {
        let text =
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
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
        ev.step_scope(&s, out, &mut scope)
            .unwrap_or_else(|e| panic!("{e}"));
        ev.rules(&s.rules, out, &scope)
    }

    #[test]
    fn literal_rules_show_what_was_seen() {
        let f = failures("expect exit=0", &output("", "boom\n", Some(2)));
        assert_eq!(f[0].seen, "exit status 2, stderr: boom");
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
            crate::results::status_from_failures(&f),
            crate::results::StepStatus::Warned
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
        let mut values = BTreeMap::new();
        let errors = ev.exports(&s.exports, &mut scope, &mut values);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(values["b"], serde_json::json!(42));
    }
}
