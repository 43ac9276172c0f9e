//! `parse lines|json|kv|table|regex …`: which extractor reads a step's
//! output, with its options checked at load.

use kdl::{KdlEntry, KdlNode};

use crate::extract::{Extractor, TableOptions};
use crate::load::decode::Decoder;
use crate::load::suggest;
use crate::model::Spanned;

const PARSERS: &[&str] = &["lines", "json", "kv", "table", "regex"];

/// `parse lines|json|kv|table|regex …`.
pub(super) fn parse(d: &mut Decoder, node: &KdlNode) -> Option<Spanned<Extractor>> {
    d.no_children(node);
    let span = d.node_span(node);
    let mut args = Decoder::args(node);
    let Some(kind_entry) = args.next() else {
        d.error(
            &span,
            "`parse` needs a parser",
            "which parser?",
            Some(format!("one of {}", suggest::list(PARSERS))),
        );
        return None;
    };
    let kind = d.string(kind_entry)?;
    let rest: Vec<&KdlEntry> = args.collect();
    let extractor = match kind.value.as_str() {
        "lines" | "json" => {
            d.props(node, &[]);
            no_more(d, &rest, &kind.value);
            Some(if kind.value == "lines" {
                Extractor::Lines
            } else {
                Extractor::Json
            })
        }
        "kv" => {
            let props = d.props(node, &["separator"]);
            no_more(d, &rest, "kv");
            let separator = match props.get("separator") {
                Some(e) => {
                    let sep = d.string(e)?;
                    if sep.value.is_empty() {
                        d.error(
                            &sep.span,
                            "an empty separator splits nothing",
                            "empty",
                            Some(
                                "e.g. `separator=\":\"`, or leave it out to detect `:` or `=`"
                                    .to_owned(),
                            ),
                        );
                        return None;
                    }
                    Some(sep.value)
                }
                None => None,
            };
            Some(Extractor::KeyValue { separator })
        }
        "table" => {
            let props = d.props(node, &["skip", "fill-down"]);
            let mut options = TableOptions::default();
            if let Some(e) = props.get("skip") {
                let n = d.integer(e)?;
                match usize::try_from(n.value) {
                    Ok(skip) => options.skip_lines = skip,
                    Err(_) => {
                        d.error(&n.span, "`skip` must be 0 or more", "negative", None);
                        return None;
                    }
                }
            }
            if let Some(e) = props.get("fill-down") {
                options.fill_down = d.boolean(e)?;
            }
            let columns: Vec<String> = rest
                .iter()
                .filter_map(|e| d.string(e).map(|s| s.value))
                .collect();
            if !columns.is_empty() {
                options.columns = Some(columns);
            }
            Some(Extractor::Table(options))
        }
        "regex" => {
            let props = d.props(node, &["all"]);
            let all = match props.get("all") {
                Some(e) => d.boolean(e)?,
                None => false,
            };
            let [pattern] = rest.as_slice() else {
                d.error(
                    &span,
                    "`parse regex` takes one pattern",
                    "expected a pattern",
                    Some(
                        "e.g. `parse regex #\"(?<state>PRIMARY|SECONDARY)\"# all=#true`".to_owned(),
                    ),
                );
                return None;
            };
            let pattern = d.string(pattern)?;
            match Extractor::regex(&pattern.value, all) {
                Ok(x) => Some(x),
                Err(e) => {
                    d.error(
                        &pattern.span,
                        "invalid pattern for `parse regex`",
                        e.to_string(),
                        Some("name the parts to keep: `(?<name>…)`".to_owned()),
                    );
                    None
                }
            }
        }
        other => {
            d.error(
                &kind.span,
                format!("unknown parser `{other}`"),
                "unknown parser",
                Some(suggest::unknown_help(other, PARSERS, "after `parse`")),
            );
            None
        }
    }?;
    Some(Spanned::new(extractor, span))
}

fn no_more(d: &mut Decoder, rest: &[&KdlEntry], kind: &str) {
    for e in rest {
        let span = d.entry_span(e);
        d.error(
            &span,
            format!("`parse {kind}` takes no more arguments"),
            "unexpected argument",
            None,
        );
    }
}
