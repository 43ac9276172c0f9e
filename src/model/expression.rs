//! An expression as the model carries it: the text where it was written
//! (for messages and spans) and its compiled form (for evaluation and the
//! planner's name check), compiled once, at load.

use std::ops::{Deref, Range};

use crate::expr::Compiled;

use super::{Span, Spanned};

#[derive(Debug, Clone)]
pub struct Expression {
    source: Spanned<String>,
    /// `None` only in a workflow whose load failed (the error names it).
    compiled: Option<Compiled>,
}

impl Expression {
    /// Compiles `source`; on a syntax error gives it back with the error.
    pub fn compile(
        source: Spanned<String>,
    ) -> Result<Expression, (Spanned<String>, minijinja::Error)> {
        match Compiled::new(&source.value) {
            Ok(compiled) => Ok(Expression {
                source,
                compiled: Some(compiled),
            }),
            Err(e) => Err((source, e)),
        }
    }

    /// An expression that did not compile, kept so the loader can go on
    /// and report every error of the file; such a workflow is never run.
    pub fn invalid(source: Spanned<String>) -> Expression {
        Expression {
            source,
            compiled: None,
        }
    }

    pub fn compiled(&self) -> Option<&Compiled> {
        self.compiled.as_ref()
    }

    pub fn source(&self) -> &Spanned<String> {
        &self.source
    }
}

/// The text and its span, as written.
impl Deref for Expression {
    type Target = Spanned<String>;
    fn deref(&self) -> &Spanned<String> {
        &self.source
    }
}

/// The span of `range` (byte offsets into `text.value`) in the file. Exact
/// when the KDL value is a plain quoted string (offsets in the value then
/// equal offsets in the file after the opening quote); otherwise the whole
/// string, since escapes or raw-string hashes shift the offsets.
pub fn narrow(text: &Spanned<String>, range: &Range<usize>) -> Span {
    let span = &text.span;
    let plain = span.len == text.value.len() + 2
        && !text.value.contains(['\\', '"'])
        && span.source.text.get(span.offset..span.offset + 1) == Some("\"");
    if plain && range.end <= text.value.len() {
        span.sub(range.start + 1, range.len().max(1))
    } else {
        span.clone()
    }
}
