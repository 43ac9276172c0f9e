//! Load-time validation of expressions and templates, with the byte range
//! of the error inside the source so the loader can point into the KDL file.

use std::ops::Range;

use minijinja::Environment;

/// A compile error in an expression or template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// What is wrong, e.g. `syntax error: unexpected end of input, expected ...`.
    pub message: String,
    /// Byte range inside the checked source, when minijinja knows it.
    pub range: Option<Range<usize>>,
}

impl From<minijinja::Error> for ExprError {
    fn from(e: minijinja::Error) -> Self {
        let message = match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        };
        Self {
            message,
            range: e.range(),
        }
    }
}

/// Compiles `source` as an expression (`rows | length > 0`) without
/// evaluating it. Unknown filters/variables are only found at evaluation.
pub fn check_expression(env: &Environment<'_>, source: &str) -> Result<(), ExprError> {
    env.compile_expression_owned(source.to_owned())
        .map(|_| ())
        .map_err(ExprError::from)
}

/// Compiles `source` as a template (`df -P {{ path }}`) without rendering.
pub fn check_template(env: &Environment<'_>, source: &str) -> Result<(), ExprError> {
    // Compiling needs a named template; a throwaway clone keeps `env` as is.
    let mut scratch = env.clone();
    scratch
        .add_template_owned("check", source.to_owned())
        .map_err(ExprError::from)
}
