//! Shell quoting of command templates. For any text `s` (no NUL): the
//! quoted word re-lexes (with the `shlex` crate, a POSIX lexer) to exactly
//! one word equal to `s`; a command template printing two values gives
//! exactly those two words; and any text as a command template goes
//! through rendering and the opt-out analysis without a panic.
#![no_main]

use std::sync::Arc;

use fleet::evaluate::{Evaluator, Scope};
use fleet::expr::shell::quote;
use fleet::model::{CommandTemplate, SourceFile, Span, Spanned};
use libfuzzer_sys::fuzz_target;
use minijinja::Value;

fn command(text: &str) -> CommandTemplate {
    let source: Arc<SourceFile> = SourceFile::new("fuzz.kdl", text);
    CommandTemplate::new(Spanned::new(
        text.to_string(),
        Span::new(&source, 0, text.len()),
    ))
}

/// The panic hook is silenced (see `init`), so a broken property says what
/// broke before it aborts.
fn require(ok: bool, what: impl FnOnce() -> String) {
    if !ok {
        eprintln!("PROPERTY BROKEN: {}", what());
        std::process::abort();
    }
}

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|_| {}));
    },
    |input: &str| {
    let evaluator = Evaluator::default();
    if !input.contains('\0') {
        let q = quote(input);
        let words = shlex::split(&q);
        require(words == Some(vec![input.to_string()]), || format!("quote({input:?}) = {q} lexes as {words:?}"));

        // Two values, split anywhere: exactly two words come back.
        let cut = input.char_indices().nth(input.chars().count() / 2).map_or(0, |(i, _)| i);
        let (a, b) = input.split_at(cut);
        let mut scope = Scope::new();
        scope.insert("a".into(), Value::from(a));
        scope.insert("b".into(), Value::from(b));
        scope.insert("xs".into(), Value::from(vec![a.to_string(), b.to_string()]));
        for template in ["printf %s {{ a }} {{ b }}", "printf %s {{ xs | join(' ') }}"] {
            let rendered = evaluator.render_command(&command(template), &scope);
            require(rendered.is_ok(), || format!("{template}: {rendered:?}"));
            let rendered = rendered.unwrap_or_default();
            let words = shlex::split(&rendered);
            require(
                words == Some(vec!["printf".into(), "%s".into(), a.to_string(), b.to_string()]),
                || format!("{template} with {a:?}, {b:?} rendered as {rendered} lexes as {words:?}"),
            );
        }
    }

    // Any text as a command: errors are fine, panics are not.
    let _ = fleet::expr::opt_outs(input);
    let mut scope = Scope::new();
    scope.insert("s".into(), Value::from(input));
    scope.insert("n".into(), Value::from(7));
    scope.insert("xs".into(), Value::from(vec!["a b", "$(c)"]));
    let _ = evaluator.render_command(&command(input), &scope);
});
