//! Source files and spans: every model item remembers where it was written
//! so that errors found after decoding (templates, plans) still point at
//! the file, line and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded KDL file, kept whole so diagnostics can show snippets.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            path: path.into(),
            text: text.into(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 1-based line and column of a byte offset, as editors count them.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A byte range in a source file.
#[derive(Debug, Clone)]
pub struct Span {
    pub source: Arc<SourceFile>,
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub fn new(source: &Arc<SourceFile>, offset: usize, len: usize) -> Self {
        Self {
            source: Arc::clone(source),
            offset,
            len,
        }
    }

    /// `path:line:col`, the form terminals and editors make clickable.
    pub fn location(&self) -> String {
        let (line, col) = self.source.line_col(self.offset);
        format!("{}:{}:{}", self.source.path.display(), line, col)
    }

    /// A span inside this one, for errors found within a string value
    /// (a template or regex), clamped to this span.
    pub fn sub(&self, start: usize, len: usize) -> Span {
        let start = start.min(self.len);
        let len = len.min(self.len - start);
        Span {
            source: Arc::clone(&self.source),
            offset: self.offset + start,
            len,
        }
    }
}

/// A value with the span it was decoded from.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
