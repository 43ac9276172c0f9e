//! Expressions compiled once. Every rule, `when`, `until`, `where`, `in`
//! and export is compiled at load in one process-wide environment (the
//! system clock's) and the compiled form travels in the model: the
//! planner reads its names from it, and each evaluation — once per row in
//! `expect-each` — only runs it.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use minijinja::{Environment, Value};

use super::environment::{Clock, environment};

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
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared().compile_expression_owned(owned)
        }))
        .unwrap_or_else(|_| {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::SyntaxError,
                "the expression cannot be parsed (unbalanced `}}` or `%}`?)",
            ))
        })
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
