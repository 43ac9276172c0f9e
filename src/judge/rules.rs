//! The rules of one step (or fleet check) against its result: literal
//! `exit=` and stream rules, expressions, `expect-each` and
//! `expect-count` over parsed rows. A broken rule says what it expected
//! and what it saw, quoting output or the values an expression read.

use minijinja::Value;

use super::excerpt::{
    EXCERPT_LINES, cut, describe_row, exit_summary, no_rows, offending_lines, short, whole_excerpt,
};
use super::{Evaluator, Scope};
use crate::model::output::ExecOutput;
use crate::model::report::RuleFailure;
use crate::model::{Check, Expression, Matcher, Rule, Stream};

/// Offending rows reported per `expect-each` rule; the rest are counted.
const MAX_ROW_FAILURES: usize = 20;

impl Evaluator {
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
    fn explain(&self, expr: &Expression, scope: &Scope) -> String {
        let Some(compiled) = expr.compiled() else {
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
                let v = lookup(scope, n)?;
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
}

impl Evaluator {
    /// The rows a per-row rule walks: `in="EXPR"` when given, else `data`.
    fn rows(&self, scope: &Scope, source: Option<&Expression>) -> Result<Vec<Value>, String> {
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

/// The value of a dotted path (`data.health`) as the expression read it:
/// no compiling, just the scope's values.
fn lookup(scope: &Scope, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let mut value = scope.get(parts.next()?)?.clone();
    for part in parts {
        value = value.get_attr(part).ok()?;
    }
    Some(value)
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
