//! `vars { name value }` blocks, shared by workflows and inventories.
//! Values become JSON so templates see strings, numbers, booleans, null
//! and lists exactly as written.
//!
//! `name "value" secret=#true` marks a variable secret: its value is
//! replaced by `********` in every command, output and message before
//! anything is shown, reported or stored. The mark belongs to the name
//! (for the whole file), so a host overriding a secret default stays
//! secret.

use kdl::{KdlEntry, KdlNode, KdlValue};
use serde_json::Value;

use super::decode::Decoder;
use crate::model::{Span, Vars};

/// Decodes the children of a `vars` node. Each child is one variable: its
/// name is the node name, its value the single argument (several
/// arguments make a list).
pub(crate) fn decode_vars(d: &mut Decoder, node: &KdlNode) -> Vars {
    d.no_args(node);
    d.props(node, &[]);
    let mut vars = Vars::new();
    let mut first_spans: Vec<(String, Span)> = Vec::new();
    for var in Decoder::children(node) {
        let name = var.name().value();
        let span = d.name_span(var);
        check_name(d, name, &span);
        if let Some((_, first)) = first_spans.iter().find(|(n, _)| n == name) {
            let first = first.clone();
            d.duplicate("variable", name, &first, &span);
            continue;
        }
        first_spans.push((name.to_owned(), span));
        if let Some(value) = decode_value(d, var) {
            vars.insert(name.to_owned(), value);
        }
    }
    vars
}

fn decode_value(d: &mut Decoder, var: &KdlNode) -> Option<Value> {
    d.props(var, &["secret"]);
    if let Some(entry) = var.entry("secret") {
        match entry.value() {
            KdlValue::Bool(true) => d.mark_secret(var.name().value()),
            KdlValue::Bool(false) => {}
            _ => {
                let span = d.value_span(entry);
                d.error(
                    &span,
                    "`secret` takes #true or #false",
                    "not a boolean",
                    Some("write `secret=#true`".to_owned()),
                );
            }
        }
    }
    if var.children().is_some() {
        let span = d.node_span(var);
        d.error(
            &span,
            format!("variable `{}` has a children block", var.name().value()),
            "children block",
            Some(
                "give the value as an argument: `name \"value\"`; several arguments make a list"
                    .to_owned(),
            ),
        );
    }
    let args: Vec<&KdlEntry> = Decoder::args(var).collect();
    match args.as_slice() {
        [] => {
            let span = d.node_span(var);
            d.error(
                &span,
                format!("variable `{}` has no value", var.name().value()),
                "missing value",
                Some(
                    "write the value after the name, e.g. `disk_max 80`; use #null for none"
                        .to_owned(),
                ),
            );
            None
        }
        [one] => to_json(d, one),
        many => many
            .iter()
            .map(|entry| to_json(d, entry))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
    }
}

/// Variable names become template identifiers, so `disk-max` would read as
/// a subtraction; the help suggests the underscore form.
fn check_name(d: &mut Decoder, name: &str, span: &Span) {
    if is_identifier(name) {
        return;
    }
    let suggestion: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let suggestion = if suggestion.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{suggestion}")
    } else {
        suggestion
    };
    d.error(
        span,
        format!("invalid variable name `{name}`"),
        "not an identifier",
        Some(format!(
            "variable names use letters, digits and `_` and do not start with a digit; write `{suggestion}`"
        )),
    );
}

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn to_json(d: &mut Decoder, entry: &KdlEntry) -> Option<Value> {
    let value = match entry.value() {
        KdlValue::String(s) => Value::String(s.clone()),
        KdlValue::Bool(b) => Value::Bool(*b),
        KdlValue::Null => Value::Null,
        KdlValue::Integer(i) => {
            let number = i64::try_from(*i)
                .map(Value::from)
                .or_else(|_| u64::try_from(*i).map(Value::from));
            match number {
                Ok(number) => number,
                Err(_) => {
                    let span = d.value_span(entry);
                    d.error(
                        &span,
                        "integer is too large",
                        "out of range",
                        Some(
                            "variables hold 64-bit integers; quote the value to keep it as text"
                                .to_owned(),
                        ),
                    );
                    return None;
                }
            }
        }
        KdlValue::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(number) => Value::Number(number),
            None => {
                let span = d.value_span(entry);
                d.error(
                    &span,
                    "variables cannot hold #inf or #nan",
                    "not a finite number",
                    None,
                );
                return None;
            }
        },
    };
    Some(value)
}
