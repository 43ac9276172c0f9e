//! The expression and parser layer: the first byte picks what the rest of
//! the input is — an expression, a template (both evaluated with the run's
//! environment and a small scope), or a step's stdout fed to each output
//! parser. Errors are fine; panics, hangs and unbounded memory are not.
#![no_main]

use std::sync::Arc;

use fleet::evaluate::{Evaluator, Scope};
use fleet::extract::{Extractor, TableOptions, extract};
use fleet::model::{SourceFile, Span, Spanned};
use libfuzzer_sys::fuzz_target;
use minijinja::Value;

fn scope() -> Scope {
    let mut scope = Scope::new();
    scope.insert("n".into(), Value::from(42));
    scope.insert("s".into(), Value::from("15% 2.5GiB 1.2.3 2024-01-02T03:04:05Z"));
    scope.insert(
        "rows".into(),
        Value::from_serialize(serde_json::json!([{"a": "1", "b": "x"}, {"a": "90%", "b": null}])),
    );
    scope
}

fuzz_target!(
    // libfuzzer-sys's panic hook aborts before unwinding, which would turn
    // the panic fleet deliberately catches (minijinja's lexer, see
    // `expr::compile_expression`) into a crash. A quiet hook lets it
    // unwind; an uncaught panic still aborts at the FFI boundary.
    init: {
        std::panic::set_hook(Box::new(|_| {}));
    },
    |input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let source: Arc<SourceFile> = SourceFile::new("fuzz.kdl", text);
    let spanned = Spanned::new(text.to_string(), Span::new(&source, 0, text.len()));
    match mode % 8 {
        0 => {
            let _ = Evaluator::default().eval(&spanned, &scope());
        }
        1 => {
            let _ = Evaluator::default().render(&spanned, &scope());
        }
        2 => {
            let _ = extract(&Extractor::Lines, text);
        }
        3 => {
            let _ = extract(&Extractor::Json, text);
        }
        4 => {
            let _ = extract(&Extractor::KeyValue { separator: None }, text);
            let _ = extract(&Extractor::KeyValue { separator: Some(" ".into()) }, text);
        }
        5 => {
            let _ = extract(&Extractor::Table(TableOptions::default()), text);
        }
        6 => {
            // First line: a regex; the rest: the text it runs over.
            let (pattern, body) = text.split_once('\n').unwrap_or((text, ""));
            if let Ok(re) = Extractor::regex(pattern, true) {
                let _ = extract(&re, body);
            }
        }
        _ => {
            let _ = Evaluator::default().truthy(&spanned, &scope());
        }
    }
});
