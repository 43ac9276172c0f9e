//! Evaluation at run time: rendering templates and evaluating rules,
//! `when`, `until` and exports against a step's result. Pure: the executor
//! hands in the output and the variables, gets back failures and values.

use std::collections::BTreeMap;

use minijinja::{Environment, Value};

use crate::expr::{Clock, environment};
use crate::extract::extract;
use crate::model::workflow::describe_exit;
use crate::model::{
    Check, CommandTemplate, Export, Matcher, Rule, Severity, Spanned, Step, Stream,
};
use crate::output::ExecOutput;
use crate::results::{Captured, RuleFailure};

/// Lines of output quoted in a failure's `seen`.
const EXCERPT_LINES: usize = 5;
/// Characters per quoted line before it is cut.
const EXCERPT_WIDTH: usize = 160;
/// Offending rows reported per `expect-each` rule; the rest are counted.
const MAX_ROW_FAILURES: usize = 20;
/// Lines of stderr quoted when a command failed.
const STDERR_LINES: usize = 3;

/// Variables visible to templates and expressions, by name.
pub type Scope = BTreeMap<String, Value>;

/// Holds the one expression environment of a run.
pub struct Evaluator {
    env: Environment<'static>,
}

/// What the rules made of a finished command.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Broken rules, the exit status first.
    pub failures: Vec<RuleFailure>,
    /// Set when the output could not be parsed: why, leading with the exit
    /// status and stderr when the command failed.
    pub reason: Option<String>,
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
    pub fn judge(&self, step: &Step, out: &ExecOutput, scope: &mut Scope) -> Verdict {
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
            Check::Exit(_) | Check::Stream { .. } => {
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
                empty_passes,
            } => {
                let rows = match self.rows(scope, source.as_ref()) {
                    Ok(rows) => rows,
                    Err(why) => return failures.push(fail(why, message(scope))),
                };
                if rows.is_empty() && !empty_passes {
                    return failures.push(fail(no_rows(source.as_ref(), out), message(scope)));
                }
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

/// What a broken `expect-each` saw when there were no rows at all: how much
/// output the parser had, and stderr, since an empty result is far more
/// often a command that printed nothing than a host with nothing to check.
fn no_rows(source: Option<&Spanned<String>>, out: &ExecOutput) -> String {
    let bytes = out.stdout.bytes;
    let mut seen = match source {
        Some(expr) => format!(
            "no rows: `in={}` is empty ({bytes} bytes of stdout)",
            expr.value
        ),
        None => format!("no rows: the parser found no rows in {bytes} bytes of stdout"),
    };
    match first_lines(&out.stderr.text).as_slice() {
        [] => seen.push_str("; stderr empty"),
        lines => {
            seen.push_str("; stderr:");
            for line in lines {
                seen.push_str("\n  ");
                seen.push_str(line);
            }
        }
    }
    seen.push_str("\n(add `empty=\"pass\"` to the rule if no rows is healthy)");
    seen
}

/// `exit 127: bash: quickstart: command not found`: how a command ended and
/// the first lines of its stderr (of stdout when stderr is empty, as with
/// `tty` steps, whose stderr arrives merged into stdout).
pub fn exit_summary(out: &ExecOutput) -> String {
    let head = match (out.exit_status, out.exit_signal.as_deref()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "no exit status reported".to_string(),
    };
    let (lines, label) = match first_lines(&out.stderr.text) {
        lines if !lines.is_empty() => (lines, ""),
        _ => (first_lines(&out.stdout.text), "stderr empty; stdout: "),
    };
    match lines.split_first() {
        None => format!("{head}, no output"),
        Some((first, rest)) => {
            let mut s = format!("{head}: {label}{first}");
            for line in rest {
                s.push_str("\n  ");
                s.push_str(line);
            }
            s
        }
    }
}

/// The first non-blank lines of a stream, cut, with a count of the rest.
fn first_lines(text: &str) -> Vec<String> {
    let all: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut lines: Vec<String> = all.iter().take(STDERR_LINES).map(|l| cut(l)).collect();
    if all.len() > STDERR_LINES {
        lines.push(format!("… {} more lines", all.len() - STDERR_LINES));
    }
    lines
}

/// Output with CRLF line ends (a `tty` step, `docker exec -t`) as the
/// parsers expect it: LF only. A lone CR (a progress bar) is kept.
pub fn unix_lines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("\r\n") {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// `None` when an `exit=` or stream rule holds, else what was seen instead.
fn literal(check: &Check, out: &ExecOutput) -> Option<String> {
    match check {
        Check::Exit(accepted) => match out.exit_status {
            Some(code) if accepted.contains(&code) => None,
            _ => Some(exit_summary(out)),
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
        let verdict = ev.judge(&s, out, &mut scope);
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
        let verdict = ev.judge(&s, &out, &mut scope);
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
        let mut values = BTreeMap::new();
        let errors = ev.exports(&s.exports, &mut scope, &mut values);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(values["b"], serde_json::json!(42));
    }
}
