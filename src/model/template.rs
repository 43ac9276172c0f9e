//! Templates as the model carries them: the text where it was written (for
//! messages and spans) and the compiled form (for rendering and the
//! planner's name check), compiled once, at load, like
//! [`super::Expression`].

use std::ops::Deref;

use crate::expr::CompiledTemplate;

use super::Spanned;

/// A message template (`message="…"`): plain text, values printed as they
/// are.
#[derive(Debug, Clone)]
pub struct Template {
    source: Spanned<String>,
    /// `None` only in a workflow whose load failed (the error names it).
    compiled: Option<CompiledTemplate>,
}

impl Template {
    /// Compiles `source`; on a syntax error gives it back with the error.
    pub fn compile(
        source: Spanned<String>,
    ) -> Result<Template, (Spanned<String>, minijinja::Error)> {
        Self::compile_as(source, CompiledTemplate::message)
    }

    fn compile_as(
        source: Spanned<String>,
        compile: fn(&str) -> Result<CompiledTemplate, minijinja::Error>,
    ) -> Result<Template, (Spanned<String>, minijinja::Error)> {
        match compile(&source.value) {
            Ok(compiled) => Ok(Template {
                source,
                compiled: Some(compiled),
            }),
            Err(e) => Err((source, e)),
        }
    }

    /// A template that did not compile, kept so the loader can go on and
    /// report every error of the file; such a workflow is never run.
    pub fn invalid(source: Spanned<String>) -> Template {
        Template {
            source,
            compiled: None,
        }
    }

    pub fn compiled(&self) -> Option<&CompiledTemplate> {
        self.compiled.as_ref()
    }
}

/// The text and its span, as written.
impl Deref for Template {
    type Target = Spanned<String>;
    fn deref(&self) -> &Spanned<String> {
        &self.source
    }
}

/// A `run` command template. A type of its own (without `Deref`) so that
/// it can only be rendered through `judge::Evaluator::render_command`,
/// which shell-quotes every value it prints: rendering it as a message
/// (plain text) does not compile.
#[derive(Debug, Clone)]
pub struct CommandTemplate(Template);

impl CommandTemplate {
    /// Compiles `text` as a command; on a syntax error gives it back with
    /// the error.
    pub fn compile(
        text: Spanned<String>,
    ) -> Result<CommandTemplate, (Spanned<String>, minijinja::Error)> {
        Template::compile_as(text, CompiledTemplate::command).map(CommandTemplate)
    }

    /// Compiles `text`, keeping it uncompiled on a syntax error (which
    /// rendering then reports): for commands no loader checked.
    pub fn new(text: Spanned<String>) -> Self {
        Self::compile(text).unwrap_or_else(|(text, _)| Self::invalid(text))
    }

    /// A command that did not compile (or is not there yet), kept so the
    /// loader can go on and report every error of the file.
    pub fn invalid(text: Spanned<String>) -> Self {
        CommandTemplate(Template::invalid(text))
    }

    pub fn text(&self) -> &Spanned<String> {
        &self.0.source
    }

    pub fn compiled(&self) -> Option<&CompiledTemplate> {
        self.0.compiled()
    }
}
