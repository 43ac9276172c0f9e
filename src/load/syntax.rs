//! KDL text → `KdlDocument`. kdl's own `KdlError` knows neither the file
//! name nor how to say anything beyond "Failed to parse KDL document"; its
//! real messages are in `related()`. Each becomes a `LoadError` of ours,
//! with hints for the mistakes KDL v1 habits cause.

use std::sync::Arc;

use kdl::{KdlDiagnostic, KdlDocument};

use super::diagnostic::LoadError;
use crate::model::{SourceFile, Span};

/// Parses the whole file, or returns every syntax error kdl found.
pub(crate) fn parse_document(source: &Arc<SourceFile>) -> Result<KdlDocument, Vec<LoadError>> {
    KdlDocument::parse_v2(&source.text).map_err(|error| {
        error
            .diagnostics
            .iter()
            .map(|diagnostic| translate(source, diagnostic))
            .collect()
    })
}

fn translate(source: &Arc<SourceFile>, diagnostic: &KdlDiagnostic) -> LoadError {
    let span = Span::new(source, diagnostic.span.offset(), diagnostic.span.len());
    let text = source
        .text
        .get(span.offset..span.offset + span.len)
        .unwrap_or_default();

    if let Some(hint) = keyword_hint(text) {
        return LoadError::at(
            &span,
            format!("`{text}` is not a KDL v2 value"),
            Some(hint.to_owned()),
        )
        .with_label(format!("write #{text}"));
    }

    let message = diagnostic
        .message
        .as_deref()
        .map_or_else(|| "invalid KDL".to_owned(), lowercase_first);
    let help = diagnostic
        .help
        .clone()
        .or_else(|| escape_hint(text).map(str::to_owned));
    let error = LoadError::at(&span, format!("KDL syntax: {message}"), help);
    match &diagnostic.label {
        Some(label) => error.with_label(label.clone()),
        None => error,
    }
}

/// KDL v1 wrote `true`, `false`, `null` bare; v2 reads them as identifiers
/// and rejects them where a value belongs.
fn keyword_hint(text: &str) -> Option<&'static str> {
    match text {
        "true" | "false" => Some("KDL v2 writes booleans as #true / #false"),
        "null" => Some("KDL v2 writes null as #null"),
        "inf" | "-inf" | "nan" => Some("KDL v2 writes these as #inf, #-inf and #nan"),
        _ => None,
    }
}

/// A quoted string rejected by kdl usually holds a backslash that is not a
/// KDL escape — typically a regex such as `"\d+"`.
fn escape_hint(text: &str) -> Option<&'static str> {
    (text.starts_with('"') && text.contains('\\')).then_some(
        "a backslash starts a KDL escape; for regexes and other backslash-heavy text \
         use a raw string: #\"\\d+\"#",
    )
}

/// kdl capitalises its messages; ours read as a continuation ("KDL syntax:
/// expected …").
fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads a file whole. A read failure has no text to point into, so the
/// error names the path and the OS error.
pub(crate) fn read(path: &std::path::Path) -> Result<Arc<SourceFile>, LoadError> {
    std::fs::read_to_string(path)
        .map(|text| SourceFile::new(path, text))
        .map_err(|error| LoadError::io(path, &error))
}
