//! Expressions and templates compiled once. Every rule, `when`, `until`,
//! `where`, `in` and export, every `run` command and message is compiled
//! at load in one process-wide environment (the system clock's) and the
//! compiled form travels in the model: the planner reads its names from
//! it, and each evaluation or render — per host, per attempt, once per
//! row in `expect-each` — only runs it.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use minijinja::{Environment, Value};

use super::environment::{Clock, environment};
use super::shell::COMMAND_TEMPLATE;

static SHARED: LazyLock<Environment<'static>> = LazyLock::new(|| environment(Clock::System));

/// The environment compiled expressions belong to.
pub fn shared() -> &'static Environment<'static> {
    &SHARED
}

/// A compiled expression; cloning shares it.
#[derive(Clone)]
pub struct Compiled(Arc<minijinja::Expression<'static, 'static>>);

impl Compiled {
    /// Compiles `text` in the [`shared`] environment. A panic inside
    /// minijinja's lexer (2.24 panics on `}} x`, found by fuzzing) is a
    /// syntax error, as in [`super::compile_expression`].
    pub fn new(text: &str) -> Result<Compiled, minijinja::Error> {
        let owned = text.to_string();
        guarded("expression", || shared().compile_expression_owned(owned))
            .map(|e| Compiled(Arc::new(e)))
    }

    pub fn eval<S: serde::Serialize>(&self, scope: S) -> Result<Value, minijinja::Error> {
        self.0.eval(scope)
    }

    /// The variables the expression reads (`nested`: with attribute paths
    /// such as `data.health`).
    pub fn undeclared_variables(&self, nested: bool) -> HashSet<String> {
        self.0.undeclared_variables(nested)
    }
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Compiled")
    }
}

/// The name messages are compiled under: plain text, no escaping.
const MESSAGE_TEMPLATE: &str = "message";

/// A compiled template: a `run` command or a message. minijinja holds an
/// owned compiled template only inside an environment, so each template
/// gets its own clone of the [`shared`] environment with that one template
/// added (the clone copies a few `Arc`s: filters, tests and globals are
/// shared). Rendering looks the template up by name and runs it; nothing
/// is parsed again. Cloning shares it.
#[derive(Clone)]
pub struct CompiledTemplate {
    env: Arc<Environment<'static>>,
    name: &'static str,
    /// What the template renders to when it holds no tag at all (most
    /// `run` commands): rendering then needs no scope, and turning the
    /// host's whole scope into template values for every step was a
    /// measurable share of a 5,000-host run (bench/RESULTS.md, 7).
    literal: Option<Arc<str>>,
}

impl CompiledTemplate {
    /// Compiles a `run` command: under [`COMMAND_TEMPLATE`] every printed
    /// value is shell-quoted ([`super::shell`]).
    pub fn command(text: &str) -> Result<CompiledTemplate, minijinja::Error> {
        Self::new(COMMAND_TEMPLATE, text)
    }

    /// Compiles a message: values are printed as they are.
    pub fn message(text: &str) -> Result<CompiledTemplate, minijinja::Error> {
        Self::new(MESSAGE_TEMPLATE, text)
    }

    fn new(name: &'static str, text: &str) -> Result<CompiledTemplate, minijinja::Error> {
        counter::add();
        let mut env = shared().clone();
        guarded("template", || env.add_template_owned(name, text.to_owned()))?;
        // minijinja's own rendering of the tag-free text, so the shortcut
        // gives exactly what a render would (trailing newline included).
        let literal = match ["{{", "{%", "{#"].iter().any(|tag| text.contains(tag)) {
            true => None,
            false => env
                .get_template(name)
                .and_then(|t| t.render(()))
                .ok()
                .map(Arc::from),
        };
        Ok(CompiledTemplate {
            env: Arc::new(env),
            name,
            literal,
        })
    }

    pub fn render<S: serde::Serialize>(&self, scope: S) -> Result<String, minijinja::Error> {
        if let Some(literal) = &self.literal {
            return Ok(literal.to_string());
        }
        self.env.get_template(self.name)?.render(scope)
    }

    /// The variables the template reads (`nested`: with attribute paths).
    pub fn undeclared_variables(&self, nested: bool) -> HashSet<String> {
        self.env
            .get_template(self.name)
            .map(|t| t.undeclared_variables(nested))
            .unwrap_or_default()
    }

    /// Compiles `text` in `env` (another clock's environment, or text that
    /// did not compile at load, so the error is reported where it is
    /// rendered) and renders it; for the rare renders the compiled form
    /// cannot serve.
    pub fn render_once<S: serde::Serialize>(
        env: &Environment<'static>,
        command: bool,
        text: &str,
        scope: S,
    ) -> Result<String, minijinja::Error> {
        counter::add();
        let name = if command {
            COMMAND_TEMPLATE
        } else {
            MESSAGE_TEMPLATE
        };
        guarded("template", || env.template_from_named_str(name, text))?.render(scope)
    }
}

impl std::fmt::Debug for CompiledTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompiledTemplate")
    }
}

/// `compile()`, with a panic inside minijinja's lexer (2.24 panics on
/// `}} x`, found by fuzzing) turned into a syntax error.
fn guarded<T>(
    what: &str,
    compile: impl FnOnce() -> Result<T, minijinja::Error>,
) -> Result<T, minijinja::Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(compile)).unwrap_or_else(|_| {
        Err(minijinja::Error::new(
            minijinja::ErrorKind::SyntaxError,
            format!("the {what} cannot be parsed (unbalanced `}}}}` or `%}}`?)"),
        ))
    })
}

/// Template compilations on this thread, for the test that a run compiles
/// each template once ([`template_compilations`]).
mod counter {
    #[cfg(test)]
    thread_local! {
        pub(super) static COUNT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    pub(super) fn add() {
        #[cfg(test)]
        COUNT.with(|c| c.set(c.get() + 1));
    }
}

/// How many templates this thread has compiled so far.
#[cfg(test)]
pub(crate) fn template_compilations() -> usize {
    counter::COUNT.with(std::cell::Cell::get)
}
