//! A workflow: an ordered list of steps run on every selected host, each
//! with the rules its output must satisfy.

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use super::{CommandTemplate, Expression, SourceFile, Span, Spanned, Template, Vars};
use crate::extract::Extractor;

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
    /// Names of variables marked `secret=#true`: their values are redacted
    /// from everything shown, reported or stored.
    pub secret_vars: std::collections::BTreeSet<String>,
    pub steps: Vec<Step>,
    /// Steps run once on the controller before any host; their exports are
    /// variables for every host and fleet check.
    pub local: Vec<Step>,
    pub fleet_checks: Vec<FleetCheck>,
    /// Groups this workflow must never touch, whatever `--limit` says.
    pub forbid_groups: Vec<Spanned<String>>,
    /// Changes hosts (stops services, …): asks for confirmation.
    pub destructive: bool,
    /// `serial 1 "25%" "100%"`: hosts run in batches of these sizes, the
    /// last size repeating; empty means every host in one batch. The first
    /// batch is the canary.
    pub serial: Vec<BatchSize>,
    /// `max-failures N` or `"P%"`: failed hosts tolerated before the
    /// rollout stops; only with `serial` (default 0: any failure stops it).
    pub max_failures: Option<FailureLimit>,
    /// `per-shard-thresholds`: a destructive workflow with `serial` or
    /// `max-failures` may run sharded, each shard applying them to its own
    /// hosts (see `src/shard.rs`).
    pub per_shard_thresholds: bool,
}

impl Workflow {
    /// Whether the workflow or any of its steps changes hosts.
    pub fn is_destructive(&self) -> bool {
        self.destructive || self.steps.iter().chain(&self.local).any(|s| s.destructive)
    }
}

/// One entry of `serial`: a batch of N hosts or of a share of all hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    Hosts(usize),
    /// 1–100 % of the selected hosts, rounded down, at least one host.
    Percent(u32),
}

impl BatchSize {
    /// Hosts in this batch out of `total` selected hosts (never 0).
    pub fn of(self, total: usize) -> usize {
        match self {
            BatchSize::Hosts(n) => n.max(1),
            BatchSize::Percent(p) => (total * p as usize / 100).max(1),
        }
    }
}

/// `max-failures`: how many failed hosts a rollout tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureLimit {
    Hosts(usize),
    /// 0–100 % of the hosts run so far.
    Percent(u32),
}

impl FailureLimit {
    /// Whether `failed` out of `ran` hosts is past the limit.
    pub fn exceeded(self, failed: usize, ran: usize) -> bool {
        match self {
            FailureLimit::Hosts(n) => failed > n,
            FailureLimit::Percent(p) => failed * 100 > ran * p as usize,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    /// Unique within the workflow.
    pub name: String,
    pub span: Span,
    /// The command, a minijinja template rendered per host when the step
    /// starts (so it can use values exported by earlier steps), every
    /// printed value shell-quoted.
    pub run: CommandTemplate,
    /// Overrides the workflow's timeout.
    pub timeout: Option<Duration>,
    /// Turns stdout into `data` for rules and exports.
    pub parse: Option<Spanned<Extractor>>,
    pub rules: Vec<Rule>,
    /// Values this step publishes for later steps and fleet checks.
    pub exports: Vec<Export>,
    /// Run the step only where this expression is true; SKIPPED elsewhere.
    pub when: Option<Expression>,
    pub retry: Option<Retry>,
    pub on_failure: OnFailure,
    /// Runs on the controller (`sh -c`) instead of the host.
    pub local: bool,
    /// Runs under `sudo -n` on the host.
    pub sudo: bool,
    /// `tty #true`: the command gets a pseudo-terminal, as with `ssh -t`,
    /// for the few tools that refuse to run without one. Costs: stderr
    /// arrives merged into stdout, and lines end in CRLF.
    pub tty: bool,
    /// `requires "VAR" …`: variables that must be set (not null, not an
    /// empty string) for the step to run; otherwise it is SKIPPED as "not
    /// configured", so a site-specific command is never run as a guess.
    pub requires: Vec<Spanned<String>>,
    /// Changes the host: the run asks for confirmation as for a
    /// destructive workflow.
    pub destructive: bool,
    /// `env "AWS_PROFILE" "FLEET_X"`: the only controller variables besides
    /// a fixed safe set that a step running on the controller receives
    /// (secrets and the agent socket are not passed unless named here).
    pub env: Vec<Spanned<String>>,
}

/// `export NAME "EXPR"`: a named value per host.
#[derive(Debug, Clone)]
pub struct Export {
    pub name: String,
    pub span: Span,
    pub expr: Expression,
}

/// `retry attempts=N interval="5s" until="EXPR"`: run the command again
/// until `until` holds (or, without `until`, until every rule holds).
#[derive(Debug, Clone)]
pub struct Retry {
    pub attempts: u32,
    pub interval: Duration,
    pub until: Option<Expression>,
}

/// What a failed step means for the host's remaining steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Later steps still run (the default: a checklist wants every answer).
    #[default]
    Continue,
    /// Later steps on this host are SKIPPED.
    StopHost,
}

/// `fleet-check NAME { expect "EXPR" }`: rules over every host's results,
/// evaluated once after all hosts finish.
#[derive(Debug, Clone)]
pub struct FleetCheck {
    pub name: String,
    pub span: Span,
    pub rules: Vec<Rule>,
}

impl Step {
    pub fn effective_timeout(&self, workflow: &Workflow) -> Duration {
        self.timeout.unwrap_or(workflow.timeout)
    }

    /// The exit statuses that let this step pass: those of its `exit=` /
    /// `exit-in=` rule, else only 0. Silence is never success: a command
    /// that failed fails its step unless the step says that status is fine.
    pub fn accepted_exit_statuses(&self) -> &[u32] {
        self.rules
            .iter()
            .find_map(|r| match &r.check {
                Check::Exit(codes) => Some(codes.as_slice()),
                _ => None,
            })
            .unwrap_or(&[0])
    }

    /// Whether the step declares its exit statuses (`exit=`/`exit-in=`);
    /// without one, the implicit rule `exit=0` applies.
    pub fn declares_exit(&self) -> bool {
        self.rules.iter().any(|r| matches!(r.check, Check::Exit(_)))
    }
}

/// One `expect` line.
#[derive(Debug, Clone)]
pub struct Rule {
    pub span: Span,
    pub check: Check,
    /// Operator-facing explanation, a template rendered per host (and per
    /// row for `expect-each`).
    pub message: Option<Template>,
    pub severity: Severity,
}

/// How bad a broken rule is: a warning is reported apart from failures and
/// does not change the exit code.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    #[default]
    Fail,
}

#[derive(Debug, Clone)]
pub enum Check {
    /// `exit=N` / `exit-in="N,M"`: the command's exit status must be one of
    /// these (sorted, no duplicates, never empty). A step without this rule
    /// accepts only 0.
    Exit(Vec<u32>),
    Stream {
        stream: Stream,
        matcher: Matcher,
    },
    /// `expect "EXPR"`: the expression must be true.
    Expr(Expression),
    /// `expect-each "EXPR"`: true for every row of `data` (bound to
    /// `row`), optionally only rows where `filter` holds.
    Each {
        expr: Expression,
        filter: Option<Expression>,
        /// `in="EXPR"`: the list to check instead of `data`.
        rows: Option<Expression>,
        /// `empty="pass"`: zero rows hold. Without it zero rows fail: a
        /// parser that read nothing must not look like a healthy host.
        empty_passes: bool,
    },
    /// `expect-count "EXPR" min=N max=N`: how many rows of `data` the
    /// expression holds for.
    Count {
        expr: Expression,
        min: Option<u64>,
        max: Option<u64>,
        /// `in="EXPR"`: the list to count in instead of `data`.
        rows: Option<Expression>,
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
            Check::Exit(codes) => describe_exit(codes),
            Check::Stream { stream, matcher } => {
                let s = stream.as_str();
                match matcher {
                    Matcher::Contains(t) => format!("{s} contains {t:?}"),
                    Matcher::NotContains(t) => format!("{s} does not contain {t:?}"),
                    Matcher::Matches(r) => format!("{s} matches /{}/", r.as_str()),
                    Matcher::NotMatches(r) => format!("{s} does not match /{}/", r.as_str()),
                }
            }
            Check::Expr(e) => e.value.clone(),
            Check::Each {
                expr, filter, rows, ..
            } => {
                let of = rows
                    .as_ref()
                    .map(|r| format!(" of {}", r.value))
                    .unwrap_or_default();
                match filter {
                    None => format!("every row{of}: {}", expr.value),
                    Some(f) => format!("every row{of} where {}: {}", f.value, expr.value),
                }
            }
            Check::Count { expr, min, max, .. } => match (min, max) {
                (Some(lo), Some(hi)) if lo == hi => {
                    format!("exactly {lo} rows where {}", expr.value)
                }
                (Some(lo), Some(hi)) => format!("{lo} to {hi} rows where {}", expr.value),
                (Some(lo), None) => format!("at least {lo} rows where {}", expr.value),
                (None, Some(hi)) => format!("no more than {hi} rows where {}", expr.value),
                (None, None) => format!("any number of rows where {}", expr.value),
            },
        }
    }
}

/// "exit status 0", "exit status 0 or 1", "exit status 0, 1 or 3".
pub fn describe_exit(codes: &[u32]) -> String {
    let words: Vec<String> = codes.iter().map(u32::to_string).collect();
    match words.split_last() {
        None => "no exit status".into(),
        Some((last, [])) => format!("exit status {last}"),
        Some((last, rest)) => format!("exit status {} or {last}", rest.join(", ")),
    }
}
