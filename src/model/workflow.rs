//! A workflow: an ordered list of steps run on every selected host, each
//! with the rules its output must satisfy.

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use super::{SourceFile, Span, Spanned, Vars};

/// Per-step timeout when neither the workflow nor the step sets one: long
/// enough for real maintenance commands, short enough that a hung host
/// does not hold a run for ever.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub source: Arc<SourceFile>,
    pub description: Option<String>,
    /// Host pattern (same syntax as `--limit`) the workflow is meant for;
    /// `None` means every host of the inventory.
    pub hosts: Option<Spanned<String>>,
    /// Maximum hosts in flight; the CLI's `--forks` overrides it.
    pub forks: Option<usize>,
    /// Default per-step timeout.
    pub timeout: Duration,
    /// Workflow-level variable defaults; inventory and `--set` override them.
    pub vars: Vars,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// Unique within the workflow.
    pub name: String,
    pub span: Span,
    /// The command, a minijinja template rendered per host.
    pub run: Spanned<String>,
    /// Overrides the workflow's timeout.
    pub timeout: Option<Duration>,
    pub rules: Vec<Rule>,
}

impl Step {
    pub fn effective_timeout(&self, workflow: &Workflow) -> Duration {
        self.timeout.unwrap_or(workflow.timeout)
    }
}

/// One `expect` line.
#[derive(Debug, Clone)]
pub struct Rule {
    pub span: Span,
    pub check: Check,
    /// Operator-facing explanation, a template rendered per host.
    pub message: Option<Spanned<String>>,
}

#[derive(Debug, Clone)]
pub enum Check {
    /// The remote command's exit status must equal this value.
    ExitCode(u32),
    Stream {
        stream: Stream,
        matcher: Matcher,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Matcher {
    Contains(String),
    NotContains(String),
    Matches(Regex),
    NotMatches(Regex),
}

impl Check {
    /// What the rule expects, in words an operator reads in a summary.
    pub fn describe(&self) -> String {
        match self {
            Check::ExitCode(code) => format!("exit status {code}"),
            Check::Stream { stream, matcher } => {
                let s = stream.as_str();
                match matcher {
                    Matcher::Contains(t) => format!("{s} contains {t:?}"),
                    Matcher::NotContains(t) => format!("{s} does not contain {t:?}"),
                    Matcher::Matches(r) => format!("{s} matches /{}/", r.as_str()),
                    Matcher::NotMatches(r) => format!("{s} does not match /{}/", r.as_str()),
                }
            }
        }
    }
}
