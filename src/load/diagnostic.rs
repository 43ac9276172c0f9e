//! Load diagnostics: one `LoadError` per problem, each naming its file and,
//! when it points into the text, carrying the span miette renders as a
//! snippet with a caret. `LoadErrors` groups every problem found in one pass
//! so an operator fixes a file in one edit instead of one error per run.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use crate::model::{SourceFile, Span};

/// One diagnostic: a message, the file it concerns, an optional labelled
/// span in that file, and an optional hint on how to fix it.
///
/// Other layers (the planner, for template errors) build these with
/// [`LoadError::at`] so every error about a workflow or inventory file
/// renders the same way.
#[derive(Debug, Clone)]
pub struct LoadError {
    message: String,
    path: PathBuf,
    /// Present when the error points into the file's text.
    location: Option<Location>,
    help: Option<String>,
}

/// The part of a `LoadError` that points into the text.
#[derive(Debug, Clone)]
struct Location {
    source: NamedText,
    span: SourceSpan,
    label: Option<String>,
}

impl LoadError {
    /// An error pointing at `span`, rendered with the snippet around it.
    pub fn at(span: &Span, message: impl Into<String>, help: Option<String>) -> LoadError {
        let text_len = span.source.text.len();
        let offset = span.offset.min(text_len);
        let len = span.len.min(text_len - offset);
        LoadError {
            message: message.into(),
            path: span.source.path.clone(),
            location: Some(Location {
                source: NamedText(Arc::clone(&span.source)),
                span: SourceSpan::new(offset.into(), len),
                label: None,
            }),
            help,
        }
    }

    /// A file that could not be read: there is no text to point into, so
    /// the message carries the path and the OS error itself.
    pub fn io(path: &Path, error: &io::Error) -> LoadError {
        LoadError {
            message: format!("cannot read {}: {error}", path.display()),
            path: path.to_path_buf(),
            location: None,
            help: None,
        }
    }

    /// Sets the short text shown next to the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> LoadError {
        if let Some(location) = &mut self.location {
            location.label = Some(label.into());
        }
        self
    }

    /// Sets or replaces the hint shown under the snippet.
    pub fn with_help(mut self, help: impl Into<String>) -> LoadError {
        self.help = Some(help.into());
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    pub fn label(&self) -> Option<&str> {
        self.location.as_ref()?.label.as_deref()
    }

    /// The labelled byte range, when the error points into the text.
    pub fn span(&self) -> Option<SourceSpan> {
        self.location.as_ref().map(|l| l.span)
    }

    /// `path:line:col` of the label, or just the path when there is none.
    pub fn location(&self) -> String {
        match &self.location {
            Some(location) => {
                let (line, col) = location.source.0.line_col(location.span.offset());
                format!("{}:{line}:{col}", self.path.display())
            }
            None => self.path.display().to_string(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

impl Diagnostic for LoadError {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.location.as_ref().map(|l| &l.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let location = self.location.as_ref()?;
        let label = LabeledSpan::new_with_span(location.label.clone(), location.span);
        Some(Box::new(std::iter::once(label)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

/// Every problem found in one file, reported together.
#[derive(Debug, Clone)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, LoadError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<LoadError> for LoadErrors {
    fn from(error: LoadError) -> Self {
        LoadErrors(vec![error])
    }
}

impl<'a> IntoIterator for &'a LoadErrors {
    type Item = &'a LoadError;
    type IntoIter = std::slice::Iter<'a, LoadError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let noun = if count == 1 { "error" } else { "errors" };
        match self.0.first() {
            Some(first) => write!(f, "{count} {noun} in {}", first.path.display()),
            None => write!(f, "{count} {noun}"),
        }
    }
}

impl std::error::Error for LoadErrors {}

impl Diagnostic for LoadErrors {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.0.iter().map(|e| e as &dyn Diagnostic)))
    }
}

/// A source file as miette sees it: the text plus the path, so snippets
/// are headed `path:line:col`.
#[derive(Debug, Clone)]
struct NamedText(Arc<SourceFile>);

impl SourceCode for NamedText {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .0
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.0.path.display().to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
#[path = "diagnostic_tests.rs"]
mod tests;
