//! Syntax checks for the minijinja templates (commands, messages) and
//! expressions (rules, `when`, exports) written in KDL strings, so a typo
//! is reported at load time with the exact place inside the string.
//! Whether the names they use exist is checked by the planner, which knows
//! every variable of every host.

use std::ops::Range;

use minijinja::Environment;

use super::decode::Decoder;
use super::diagnostic::LoadError;
use crate::model::{Span, Spanned};

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

/// An error inside a template or expression string, pointing at the part
/// minijinja blames.
pub fn error_in(text: &Spanned<String>, what: &str, e: &minijinja::Error) -> LoadError {
    let detail = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    let span = e
        .range()
        .map_or_else(|| text.span.clone(), |r| narrow(text, &r));
    LoadError::at(&span, format!("invalid {what}: {detail}"), Some(help(what))).with_label(detail)
}

fn help(what: &str) -> String {
    if what == "expression" {
        "expressions use minijinja syntax without braces, e.g. `row.Use | number < 80`".to_owned()
    } else {
        "templates use minijinja syntax: `{{ variable }}`, `{{ value | filter }}`".to_owned()
    }
}

pub(crate) fn check_expression(d: &mut Decoder, text: &Spanned<String>) {
    let env = Environment::new();
    if let Err(e) = crate::expr::compile_expression(&env, &text.value) {
        d.report(error_in(text, "expression", &e));
    }
}

pub(crate) fn check_template(d: &mut Decoder, text: &Spanned<String>) {
    let env = Environment::new();
    if let Err(e) = env.template_from_str(&text.value) {
        d.report(error_in(text, "template", &e));
    }
}
