//! Judging: what a step's result means. The runner hands in one
//! attempt's output and the variables; [`Evaluator::judge`] gives back the
//! whole [`Judgement`] — status, broken rules, exports, whether to retry —
//! so `until`, parse failures and exports are decided here and nowhere
//! else. Pure: no SSH, no events, no clock but the expression [`Clock`].
//!
//! - [`attempt`]: one attempt of one step, `until` and the exit status;
//! - [`rules`]: every kind of rule against the output and parsed data;
//! - [`exports`]: the values a step hands to later steps;
//! - [`excerpt`]: what a failure quotes of the output;
//! - [`fleet_checks`]: rules over every host's results after the run;
//! - [`waivers`]: accepted failures, applied to the finished run.

pub mod attempt;
mod excerpt;
mod exports;
pub(crate) mod fleet_checks;
mod rules;
pub mod waivers;

use std::collections::BTreeMap;

use minijinja::{Environment, Value};

pub use attempt::{Attempt, Judgement};
pub use excerpt::{exit_summary, unix_lines};

use crate::expr::{Clock, environment};
use crate::model::{CommandTemplate, Expression, Spanned};

/// Variables visible to templates and expressions, by name.
pub type Scope = BTreeMap<String, Value>;

/// Holds the one expression environment of a run.
pub struct Evaluator {
    env: Environment<'static>,
    /// Expressions compiled at load belong to the system clock's
    /// environment; under another clock they are compiled again here.
    clock: Clock,
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
            clock,
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

    /// Evaluates an expression compiled at load.
    pub fn eval(&self, expr: &Expression, scope: &Scope) -> Result<Value, EvalError> {
        match expr.compiled() {
            Some(compiled) if self.clock == Clock::System => compiled.eval(scope),
            _ => crate::expr::compile_expression(&self.env, &expr.value)
                .and_then(|compiled| compiled.eval(scope)),
        }
        .map_err(|e| error("expression", expr, &e))
    }

    pub fn truthy(&self, expr: &Expression, scope: &Scope) -> Result<bool, EvalError> {
        self.eval(expr, scope).map(|v| v.is_true())
    }

    /// Evaluates expression text that no loader compiled (it compiles it
    /// each time: for one-off checks, not rules).
    pub fn eval_text(&self, expr: &Spanned<String>, scope: &Scope) -> Result<Value, EvalError> {
        crate::expr::compile_expression(&self.env, &expr.value)
            .and_then(|compiled| compiled.eval(scope))
            .map_err(|e| error("expression", expr, &e))
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

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
