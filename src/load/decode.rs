//! The decoding toolkit: spans for nodes and values, shape checks
//! (arguments, properties, children) and typed value readers. Every check
//! records its error in the `Decoder` and lets decoding go on, so one pass
//! reports every problem in a file.

use std::collections::HashMap;
use std::sync::Arc;

use kdl::{KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;

use super::diagnostic::{LoadError, LoadErrors};
use super::suggest;
use crate::model::{SourceFile, Span, Spanned};

/// Collects errors while the workflow or inventory decoders walk a document.
pub(crate) struct Decoder {
    source: Arc<SourceFile>,
    errors: Vec<LoadError>,
    /// Variables marked `secret=#true` anywhere in the file.
    secret_vars: std::collections::BTreeSet<String>,
}

impl Decoder {
    pub(crate) fn new(source: Arc<SourceFile>) -> Self {
        Decoder {
            source,
            errors: Vec::new(),
            secret_vars: Default::default(),
        }
    }

    pub(crate) fn mark_secret(&mut self, name: &str) {
        self.secret_vars.insert(name.to_owned());
    }

    pub(crate) fn secret_vars(&self) -> &std::collections::BTreeSet<String> {
        &self.secret_vars
    }

    /// Takes over what a decoder of an included file marked secret.
    pub(crate) fn absorb_secrets(&mut self, other: &Decoder) {
        self.secret_vars.extend(other.secret_vars.iter().cloned());
    }

    pub(crate) fn source(&self) -> &Arc<SourceFile> {
        &self.source
    }

    /// The decoded value if nothing went wrong. Decoders fill gaps left by
    /// errors with placeholders; this is where those values are discarded.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, LoadErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(LoadErrors(self.errors))
        }
    }

    pub(crate) fn report(&mut self, error: LoadError) {
        self.errors.push(error);
    }

    /// Records an error at `span` with a caret label and optional help.
    pub(crate) fn error(
        &mut self,
        span: &Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        self.report(LoadError::at(span, message, help).with_label(label));
    }

    // ---- spans -------------------------------------------------------

    pub(crate) fn span(&self, span: SourceSpan) -> Span {
        Span::new(&self.source, span.offset(), span.len())
    }

    /// A node's first line: its name and entries, without the children
    /// block, so a label on a step does not underline the whole step.
    pub(crate) fn node_span(&self, node: &KdlNode) -> Span {
        let start = node.span().offset();
        let name = node.name().span();
        let end = node
            .entries()
            .iter()
            .map(|e| e.span().offset() + e.span().len())
            .fold(name.offset() + name.len(), usize::max);
        Span::new(&self.source, start, end.saturating_sub(start))
    }

    pub(crate) fn name_span(&self, node: &KdlNode) -> Span {
        self.span(node.name().span())
    }

    /// The value of an entry: for `key=value` only `value`, since that is
    /// what a type or range error is about.
    pub(crate) fn value_span(&self, entry: &KdlEntry) -> Span {
        let whole = entry.span();
        let Some(name) = entry.name() else {
            return self.span(whole);
        };
        let name_end = name.span().offset() + name.span().len();
        let end = whole.offset() + whole.len();
        let value_start = self
            .source
            .text
            .get(name_end..end)
            .and_then(|rest| {
                let after_eq = rest.find('=')? + 1;
                let skipped = rest[after_eq..].len() - rest[after_eq..].trim_start().len();
                Some(name_end + after_eq + skipped)
            })
            .unwrap_or(whole.offset());
        Span::new(&self.source, value_start, end.saturating_sub(value_start))
    }

    pub(crate) fn entry_span(&self, entry: &KdlEntry) -> Span {
        self.span(entry.span())
    }

    // ---- shapes ------------------------------------------------------

    /// Positional arguments, in order.
    pub(crate) fn args(node: &KdlNode) -> impl Iterator<Item = &KdlEntry> {
        node.entries().iter().filter(|e| e.name().is_none())
    }

    /// The child nodes, or none when the node has no `{ … }` block.
    pub(crate) fn children(node: &KdlNode) -> &[KdlNode] {
        node.children().map_or(&[], |doc| doc.nodes())
    }

    /// The node's properties, after reporting any not in `allowed` and any
    /// given twice (KDL would silently keep the last).
    pub(crate) fn props<'a>(&mut self, node: &'a KdlNode, allowed: &[&str]) -> Props<'a> {
        let mut props = Props::default();
        let place = format!("on `{}`", node.name().value());
        for entry in node.entries() {
            let Some(name) = entry.name() else { continue };
            let key = name.value();
            if !allowed.contains(&key) {
                let span = self.span(name.span());
                let help = if allowed.is_empty() {
                    format!("`{}` takes no properties", node.name().value())
                } else {
                    suggest::unknown_help(key, allowed, &place)
                };
                self.error(
                    &span,
                    format!("unknown property `{key}` {place}"),
                    "unknown property",
                    Some(help),
                );
            } else if let Some(first) = props.get(key) {
                let first_line = self.line(&self.entry_span(first));
                let span = self.entry_span(entry);
                self.error(
                    &span,
                    format!("property `{key}` is given twice"),
                    "repeated",
                    Some(format!("remove one; the first is on line {first_line}")),
                );
            } else {
                props.entries.push((key, entry));
            }
        }
        props
    }

    /// Reports positional arguments on a node that takes none.
    pub(crate) fn no_args(&mut self, node: &KdlNode) {
        for entry in Self::args(node) {
            let span = self.entry_span(entry);
            self.error(
                &span,
                format!("`{}` takes no arguments", node.name().value()),
                "unexpected argument",
                None,
            );
        }
    }

    /// Reports a `{ … }` block on a node that takes none.
    pub(crate) fn no_children(&mut self, node: &KdlNode) {
        if node.children().is_some() {
            let span = self.node_span(node);
            self.error(
                &span,
                format!("`{}` takes no children block", node.name().value()),
                "has a children block",
                Some("remove the `{ … }` after it".to_owned()),
            );
        }
    }

    /// Reports a node not allowed at this place, suggesting the closest
    /// allowed name.
    pub(crate) fn unknown_node(&mut self, node: &KdlNode, allowed: &[&str], place: &str) {
        let name = node.name().value();
        let span = self.name_span(node);
        self.error(
            &span,
            format!("unknown node `{name}` {place}"),
            "unknown node",
            Some(suggest::unknown_help(name, allowed, place)),
        );
    }

    /// The one argument of a setting node such as `timeout "30s"`; anything
    /// else on the node (more arguments, properties, children) is reported.
    pub(crate) fn single_arg<'a>(&mut self, node: &'a KdlNode, what: &str) -> Option<&'a KdlEntry> {
        self.props(node, &[]);
        self.no_children(node);
        self.exactly_one_arg(node, what)
    }

    /// The one positional argument of `node`; a missing one is reported on
    /// the node, extra ones on themselves.
    pub(crate) fn exactly_one_arg<'a>(
        &mut self,
        node: &'a KdlNode,
        what: &str,
    ) -> Option<&'a KdlEntry> {
        let name = node.name().value();
        let mut args = Self::args(node);
        let first = args.next();
        for extra in args {
            let span = self.entry_span(extra);
            self.error(
                &span,
                format!("`{name}` takes one argument, {what}"),
                "unexpected argument",
                None,
            );
        }
        if first.is_none() {
            let span = self.node_span(node);
            self.error(
                &span,
                format!("`{name}` needs one argument, {what}"),
                format!("missing {what}"),
                None,
            );
        }
        first
    }

    /// Reports the second single-valued setting of the same name in one
    /// block; KDL would otherwise let one silently shadow the other.
    pub(crate) fn once(&mut self, seen: &mut Seen, node: &KdlNode) {
        let name = node.name().value();
        let span = self.node_span(node);
        if let Some(first) = seen.0.get(name) {
            let first_line = self.line(first);
            self.error(
                &span,
                format!("`{name}` is set twice"),
                "set again here",
                Some(format!("remove one; the first is on line {first_line}")),
            );
        } else {
            seen.0.insert(name.to_owned(), span);
        }
    }

    /// Reports a second definition of a name that must be unique.
    pub(crate) fn duplicate(&mut self, kind: &str, name: &str, first: &Span, second: &Span) {
        let first_line = self.line(first);
        self.error(
            second,
            format!("duplicate {kind} `{name}`"),
            "defined again here",
            Some(format!(
                "{kind} names must be unique; `{name}` is first defined on line {first_line}"
            )),
        );
    }

    pub(crate) fn line(&self, span: &Span) -> usize {
        self.source.line_col(span.offset).0
    }

    // ---- values ------------------------------------------------------

    pub(crate) fn string(&mut self, entry: &KdlEntry) -> Option<Spanned<String>> {
        match entry.value() {
            KdlValue::String(s) => Some(Spanned::new(s.clone(), self.value_span(entry))),
            _ => {
                self.type_error(entry, "a string", None);
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, entry: &KdlEntry) -> Option<bool> {
        match entry.value() {
            KdlValue::Bool(b) => Some(*b),
            KdlValue::String(s) if matches!(s.as_str(), "true" | "false") => {
                let help = format!("KDL v2 writes booleans as #{s}");
                self.type_error(entry, "a boolean", Some(help));
                None
            }
            _ => {
                self.type_error(entry, "a boolean (#true or #false)", None);
                None
            }
        }
    }

    /// A node whose single argument is a boolean flag; `sudo` alone (no
    /// argument) means `sudo #true`.
    pub(crate) fn flag(&mut self, node: &KdlNode) -> Option<bool> {
        self.props(node, &[]);
        self.no_children(node);
        let args: Vec<&KdlEntry> = Self::args(node).collect();
        match args.as_slice() {
            [] => Some(true),
            [one] => self.boolean(one),
            [_, extra @ ..] => {
                for e in extra {
                    let span = self.entry_span(e);
                    self.error(
                        &span,
                        format!("`{}` takes one value", node.name().value()),
                        "extra value",
                        None,
                    );
                }
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, entry: &KdlEntry) -> Option<Spanned<i128>> {
        match entry.value() {
            KdlValue::Integer(i) => Some(Spanned::new(*i, self.value_span(entry))),
            KdlValue::String(s) if s.trim().parse::<i128>().is_ok() => {
                let help = format!("write the number without quotes: {}", s.trim());
                self.type_error(entry, "an integer", Some(help));
                None
            }
            _ => {
                self.type_error(entry, "an integer", None);
                None
            }
        }
    }

    /// "expected an integer, found a string", on the value.
    pub(crate) fn type_error(&mut self, entry: &KdlEntry, expected: &str, help: Option<String>) {
        let span = self.value_span(entry);
        self.error(
            &span,
            format!("expected {expected}, found {}", describe(entry.value())),
            format!("expected {expected}"),
            help,
        );
    }
}

/// What a value is, for "found …" in type errors.
fn describe(value: &KdlValue) -> &'static str {
    match value {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number with a fraction",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

/// The accepted properties of one node, by name.
#[derive(Default)]
pub(crate) struct Props<'a> {
    entries: Vec<(&'a str, &'a KdlEntry)>,
}

impl<'a> Props<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<&'a KdlEntry> {
        self.entries
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, entry)| *entry)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// In the order written.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'a str, &'a KdlEntry)> + '_ {
        self.entries.iter().copied()
    }
}

/// Which single-valued settings a block has already set, and where.
#[derive(Default)]
pub(crate) struct Seen(HashMap<String, Span>);

/// The required name argument of `workflow`, `step`, `group` or `host`; an
/// empty name would be unreadable in reports.
pub(crate) fn name_arg(d: &mut Decoder, node: &KdlNode, what: &str) -> Option<Spanned<String>> {
    let entry = d.exactly_one_arg(node, what)?;
    non_empty_string(d, entry, what)
}

/// A string that must say something: an empty address or user name would
/// only fail later, far from the file.
pub(crate) fn non_empty_string(
    d: &mut Decoder,
    entry: &KdlEntry,
    what: &str,
) -> Option<Spanned<String>> {
    let value = d.string(entry)?;
    if value.value.trim().is_empty() {
        d.error(&value.span, format!("{what} is empty"), "empty", None);
        return None;
    }
    Some(value)
}
