//! The final summary on stdout: what broke, where, and what was seen, so the
//! operator knows what to do within seconds. Healthy hosts are not listed:
//! a healthy fleet is a header and a verdict. Sections run from what needs
//! action to what merely deserves a look: failed steps (controller first),
//! fleet checks, hosts that were not checked (refused, unreachable),
//! warnings, totals. The same problem on many hosts is shown once (see
//! [`groups`](crate::report::groups)), so the length tracks the number of
//! distinct problems, not the size of the fleet.

use crate::model::Severity;
use crate::model::Verdict;
use crate::model::report::{
    Captured, FleetCheckReport, HostReport, HostStatus, RuleFailure, RunReport, StepReport,
    StepStatus, Totals, UnreachableKind,
};
use crate::report::groups::{self, StepProblem, Warning, host_list, variants};
use crate::report::sanitize;
use crate::report::style::{self, DisplayConfig, Paint, clean_line, excerpt, first_line, plural};

/// Longest line kept from text the operator's own files or the SSH layer
/// produced (rule descriptions, messages); long enough for host-key
/// fingerprints, short enough to stop a runaway template.
mod sections;

const MAX_MESSAGE_CHARS: usize = 300;
/// Per unreachable kind, how many individual host messages are shown before
/// the rest is left to the JSON report.
const MAX_UNREACHABLE_MESSAGES: usize = 3;
/// Width of `expected: ` and friends, so values line up.
const LABEL_WIDTH: usize = 10;
/// Distinct outputs shown for one grouped problem; more hosts with yet
/// other output are counted, their output is in the JSON report.
const MAX_VARIANTS: usize = 3;
/// Distinct step problems shown in full. Past this the run is broken in so
/// many ways that the next one adds no decision, only scrolling.
const MAX_PROBLEMS: usize = 20;
/// Warning lines shown; warnings never block, so they get less room.
const MAX_WARNINGS: usize = 10;
/// Distinct refusal reasons shown (reasons name a group, so they are few).
const MAX_REFUSALS: usize = 5;

/// Renders the end-of-run summary for stdout. Pure: same report and config,
/// same text, which is what makes it snapshot-testable.
pub fn render_summary(report: &RunReport, config: &DisplayConfig) -> String {
    let mut out = Summary {
        text: String::new(),
        paint: Paint::new(config.color),
    };
    let problems = groups::collect(report);
    out.header(report);
    out.step_problems(&problems.steps);
    out.fleet_checks(&report.fleet_checks);
    out.refused(&report.hosts);
    out.unreachable(&report.hosts);
    out.warnings(&problems.warnings);
    out.waived(report);
    out.not_configured(report);
    out.totals(&report.totals);
    out.text
}

struct Summary {
    text: String,
    paint: Paint,
}

impl Summary {
    fn line(&mut self, indent: usize, text: &str) {
        self.text.extend(std::iter::repeat_n(' ', indent));
        self.text.push_str(text);
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    /// A labelled value at `indent`; see [`labeled`].
    fn field(&mut self, indent: usize, label: &str, lines: &[String]) {
        for l in labeled(label, lines) {
            self.line(indent, &l);
        }
    }

    fn header(&mut self, report: &RunReport) {
        let p = self.paint;
        let head = format!(
            "{} on {} · {} · {}",
            p.bold(&report.workflow),
            p.bold(&report.inventory),
            plural(report.totals.hosts, "host"),
            style::duration(report.duration),
        );
        self.line(0, &head);
        if let Some(why) = &report.stopped {
            let word = if report.interrupted {
                "INTERRUPTED"
            } else {
                "STOPPED"
            };
            let line = format!(
                "{}: {} — hosts and steps not run are SKIPPED",
                p.yellow(word),
                style::clean_line(why, 200)
            );
            self.line(0, &line);
        }
    }

    fn step_problems(&mut self, problems: &[StepProblem]) {
        for problem in problems.iter().take(MAX_PROBLEMS) {
            self.blank();
            self.step_problem(problem);
        }
        if let Some(rest) = problems.get(MAX_PROBLEMS..).filter(|r| !r.is_empty()) {
            let results: usize = rest.iter().map(|p| p.members.len()).sum();
            let note = format!(
                "… {} more failures ({}) in the JSON report",
                rest.len(),
                plural(results, "step result"),
            );
            self.blank();
            self.line(0, &self.paint.dim(&note));
        }
    }

    /// `✗ db-7, db-8 · data  FAILED after 3 attempts`, then the broken
    /// rules, or for timeouts and errors the reason and partial output.
    fn step_problem(&mut self, problem: &StepProblem) {
        let p = self.paint;
        let names: Vec<&str> = problem.members.iter().map(|(s, _)| s.name).collect();
        let mut head = format!("{} {}", p.red("✗"), p.bold(&host_list(&names)));
        if let [(site, _)] = problem.members.as_slice()
            && let Some(addr) = site.host.and_then(address)
        {
            head.push_str(&format!("  {}", p.dim(&addr)));
        }
        head.push_str(&format!(
            " · {}  {}",
            p.bold(&sanitize::line(problem.step)),
            status_word(problem.status, p)
        ));
        if let Some(after) = after(problem) {
            head.push_str(&format!(" {}", p.dim(&after)));
        }
        self.line(0, &head);
        let rules = problem.rules();
        for (i, rule) in rules.iter().enumerate() {
            let seen = problem
                .members
                .iter()
                .map(|(site, step)| {
                    let seen = groups::fail_rules(step).nth(i).map_or("", |r| &r.seen);
                    (site.name, seen_lines(seen, p))
                })
                .collect();
            self.rule(2, "• ", rule, self.evidence(seen));
        }
        let first = problem.first();
        if let Some(reason) = &first.reason {
            self.field(2, "reason", &[message(reason)]);
        }
        if let Some(signal) = &first.exit_signal {
            self.field(2, "signal", &[message(signal)]);
        }
        // A failed rule already quotes what it saw; for timeouts and errors
        // the partial output is the only clue to where the command stalled.
        if rules.is_empty() {
            self.stream(problem, "stdout", |s| &s.stdout);
            self.stream(problem, "stderr", |s| &s.stderr);
        }
    }

    /// One broken rule as a bulleted block; the bullet separates rules when
    /// a step has several. `seen` is already rendered (see `evidence`).
    fn rule(&mut self, indent: usize, bullet: &str, rule: &RuleFailure, seen: Vec<String>) {
        let p = self.paint;
        let mut block = labeled("expected", &[message(&rule.expected)]);
        if let Some(msg) = &rule.message {
            block.extend(labeled("message", &[message(msg)]));
        }
        block.extend(labeled("seen", &seen));
        block.extend(labeled("rule", &[p.dim(&rule.location).into_owned()]));
        for (i, l) in block.iter().enumerate() {
            let lead = if i == 0 { bullet } else { "  " };
            self.line(indent, &format!("{lead}{l}"));
        }
    }

    /// Per-site evidence of a grouped problem: shown once when every site
    /// saw the same, else each distinct value under the sites that saw it,
    /// up to [`MAX_VARIANTS`].
    fn evidence(&self, items: Vec<(&str, Vec<String>)>) -> Vec<String> {
        let p = self.paint;
        let mut found = variants(items);
        if found.len() == 1 {
            return found.remove(0).1;
        }
        let mut out = Vec::new();
        for (names, lines) in found.iter().take(MAX_VARIANTS) {
            let who = format!("{}:", host_list(names));
            match lines.as_slice() {
                [one] => out.push(format!("{} {one}", p.dim(&who))),
                _ => {
                    out.push(p.dim(&who).into_owned());
                    out.extend(lines.iter().map(|l| format!("  {l}")));
                }
            }
        }
        if let Some(rest) = found.get(MAX_VARIANTS..).filter(|r| !r.is_empty()) {
            let hosts: usize = rest.iter().map(|(n, _)| n.len()).sum();
            let note = format!(
                "… {} with other output in the JSON report",
                plural(hosts, "more host")
            );
            out.push(p.dim(&note).into_owned());
        }
        out
    }

    /// A stream's partial output per site; omitted when every site's is
    /// silent, unlike a rule's `seen`, because most commands use only one
    /// of the two streams.
    fn stream(&mut self, problem: &StepProblem, label: &str, pick: fn(&StepReport) -> &Captured) {
        let p = self.paint;
        let items: Vec<(&str, Vec<String>)> = problem
            .members
            .iter()
            .map(|(site, step)| (site.name, captured_lines(pick(step), p)))
            .collect();
        if items.iter().all(|(_, lines)| lines.is_empty()) {
            return;
        }
        let items = items
            .into_iter()
            .map(|(name, lines)| (name, or_empty(lines, p)))
            .collect();
        let lines = self.evidence(items);
        self.field(2, label, &lines);
    }
}

/// `3 ok, 1 failed`: the first count always, the others when non-zero.
fn counts(items: &[(usize, &str)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (i, (n, what)) in items.iter().enumerate() {
        if i == 0 || *n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.join(", ")
}

fn status_word(status: StepStatus, p: Paint) -> String {
    match status {
        StepStatus::Timeout | StepStatus::Warned => p.yellow(status.as_str()).into_owned(),
        _ => p.red(status.as_str()).into_owned(),
    }
}

/// `after 3 attempts, 2.0s`: retries say the failure is not a blip. The
/// duration only for a single site; for a group it would be one of many.
fn after(problem: &StepProblem) -> Option<String> {
    let attempts = problem.members.iter().map(|(_, s)| s.attempts);
    let most = attempts.clone().max().unwrap_or(0);
    let mut parts = Vec::new();
    if most > 1 {
        let varied = attempts.clone().any(|a| a != most);
        let up_to = if varied { "up to " } else { "" };
        parts.push(format!("{up_to}{most} attempts"));
    }
    if let [(_, step)] = problem.members.as_slice() {
        parts.push(style::duration(step.duration));
    }
    (!parts.is_empty()).then(|| format!("after {}", parts.join(", ")))
}

/// A rule's `seen` as excerpt lines. An empty output is itself a finding,
/// so it is said, not omitted.
fn seen_lines(seen: &str, p: Paint) -> Vec<String> {
    or_empty(excerpt(seen, p), p)
}

fn or_empty(mut lines: Vec<String>, p: Paint) -> Vec<String> {
    if lines.is_empty() {
        lines.push(p.dim("(empty)").into_owned());
    }
    lines
}

/// A stream's excerpt, with a note when the capture was capped.
fn captured_lines(captured: &Captured, p: Paint) -> Vec<String> {
    let mut lines = excerpt(&captured.text, p);
    if captured.truncated && !lines.is_empty() {
        let note = format!(
            "… capture capped; {} written in total",
            style::bytes(captured.bytes)
        );
        lines.push(p.dim(&note).into_owned());
    }
    lines
}

/// `label:   first line`, further lines aligned under the first, so a
/// multi-line excerpt reads as one value.
fn labeled(label: &str, lines: &[String]) -> Vec<String> {
    let label = format!("{label}:");
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 { label.as_str() } else { "" };
            format!("{head:<LABEL_WIDTH$}{l}")
        })
        .collect()
}

/// Where the operator would SSH to, when that is not obvious from the name.
fn address(host: &HostReport) -> Option<String> {
    match (host.address == host.name, host.port) {
        (true, 22) => None,
        (true, port) => Some(format!(":{port}")),
        (false, 22) => Some(host.address.clone()),
        (false, port) => Some(format!("{}:{port}", host.address)),
    }
}

/// A single-line rendering of text from the workflow or the SSH layer:
/// sanitized, lines joined, cut if absurdly long.
fn message(text: &str) -> String {
    let joined = text.trim().lines().collect::<Vec<_>>().join(" ⏎ ");
    clean_line(&joined, MAX_MESSAGE_CHARS)
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
