//! The final summary on stdout: what broke, where, and what was seen, so the
//! operator knows what to do within seconds. Healthy hosts are not listed:
//! a healthy fleet is a header and a verdict.

use crate::report::style::{self, DisplayConfig, Paint, clean_line, excerpt, plural};
use crate::results::{
    Captured, HostReport, HostStatus, RuleFailure, RunReport, StepReport, StepStatus, Totals,
    UnreachableKind,
};

/// Longest line kept from text the operator's own files or the SSH layer
/// produced (rule descriptions, messages); long enough for host-key
/// fingerprints, short enough to stop a runaway template.
const MAX_MESSAGE_CHARS: usize = 300;
/// Per unreachable kind, how many individual host messages are shown before
/// the rest is left to the JSON report.
const MAX_UNREACHABLE_MESSAGES: usize = 3;
/// Width of `expected: ` and friends, so values line up.
const LABEL_WIDTH: usize = 10;

/// The one-word outcome of a run, in order of what the operator must fix
/// first: a failed check beats an unreachable host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every host was reached and every step passed or was skipped.
    Passed,
    /// At least one host had a step that failed, timed out or errored.
    Failed,
    /// Nothing failed, but some hosts could not be checked at all.
    Unreachable,
}

impl Verdict {
    pub fn from_totals(totals: &Totals) -> Self {
        if totals.hosts_failed > 0 {
            Verdict::Failed
        } else if totals.hosts_unreachable > 0 {
            Verdict::Unreachable
        } else {
            Verdict::Passed
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "PASSED",
            Verdict::Failed => "FAILED",
            Verdict::Unreachable => "UNREACHABLE",
        }
    }
}

/// Renders the end-of-run summary for stdout. Pure: same report and config,
/// same text, which is what makes it snapshot-testable.
pub fn render_summary(report: &RunReport, config: &DisplayConfig) -> String {
    let mut out = Summary {
        text: String::new(),
        paint: Paint::new(config.color),
    };
    out.header(report);
    for host in report
        .hosts
        .iter()
        .filter(|h| h.status == HostStatus::Failed)
    {
        out.failed_host(host);
    }
    out.unreachable(&report.hosts);
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
    }

    fn failed_host(&mut self, host: &HostReport) {
        let p = self.paint;
        let run = host
            .steps
            .iter()
            .filter(|s| s.status != StepStatus::Skipped)
            .count();
        let passed = host
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Passed)
            .count();
        let mut head = format!("{} {}", p.red("✗"), p.bold(&host.name));
        if let Some(addr) = address(host) {
            head.push_str(&format!("  {}", p.dim(&addr)));
        }
        head.push_str(&format!(" · {passed}/{run} steps passed"));
        self.blank();
        self.line(0, &head);
        for step in &host.steps {
            if !matches!(step.status, StepStatus::Passed | StepStatus::Skipped) {
                self.failed_step(step);
            }
        }
    }

    fn failed_step(&mut self, step: &StepReport) {
        let p = self.paint;
        let status = match step.status {
            StepStatus::Timeout => p.yellow("TIMEOUT"),
            StepStatus::Failed => p.red("FAILED"),
            _ => p.red("ERROR"),
        };
        let after = format!("after {}", style::duration(step.duration));
        self.line(
            2,
            &format!("{}  {status} {}", p.bold(&step.name), p.dim(&after)),
        );
        for rule in &step.failures {
            self.rule(rule);
        }
        if let Some(reason) = &step.reason {
            self.field(4, "reason", &[message(reason)]);
        }
        if let Some(signal) = &step.exit_signal {
            self.field(4, "signal", &[message(signal)]);
        }
        // A failed rule already quotes what it saw; for timeouts and errors
        // the partial output is the only clue to where the command stalled.
        if step.failures.is_empty() {
            self.output(4, "stdout", &step.stdout);
            self.output(4, "stderr", &step.stderr);
        }
    }

    /// One failed rule as a bulleted block; the bullet separates rules when
    /// a step has several.
    fn rule(&mut self, rule: &RuleFailure) {
        let p = self.paint;
        let mut block = labeled("expected", &[message(&rule.expected)]);
        if let Some(msg) = &rule.message {
            block.extend(labeled("message", &[message(msg)]));
        }
        // An empty output is itself a finding, so it is said, not omitted.
        let mut seen = excerpt(&rule.seen, p);
        if seen.is_empty() {
            seen.push(p.dim("(empty)").into_owned());
        }
        block.extend(labeled("seen", &seen));
        block.extend(labeled("rule", &[p.dim(&rule.location).into_owned()]));
        for (i, l) in block.iter().enumerate() {
            let bullet = if i == 0 { "• " } else { "  " };
            self.line(4, &format!("{bullet}{l}"));
        }
    }

    /// A stream's partial output; silent streams are omitted, unlike a
    /// rule's `seen`, because most commands use only one of the two.
    fn output(&mut self, indent: usize, label: &str, captured: &Captured) {
        let mut lines = excerpt(&captured.text, self.paint);
        if lines.is_empty() {
            return;
        }
        if captured.truncated {
            let note = format!(
                "… capture capped; {} written in total",
                style::bytes(captured.bytes)
            );
            lines.push(self.paint.dim(&note).into_owned());
        }
        self.field(indent, label, &lines);
    }

    /// Unreachable hosts grouped by cause, because the cause decides the
    /// fix (start sshd, update known_hosts, fix keys) for the whole group.
    fn unreachable(&mut self, hosts: &[HostReport]) {
        let mut groups: Vec<(UnreachableKind, Vec<(&str, &str)>)> = Vec::new();
        for h in hosts {
            let Some(u) = &h.unreachable else { continue };
            let entry = (h.name.as_str(), u.message.as_str());
            match groups.iter_mut().find(|(k, _)| *k == u.kind) {
                Some((_, members)) => members.push(entry),
                None => groups.push((u.kind, vec![entry])),
            }
        }
        if groups.is_empty() {
            return;
        }
        let p = self.paint;
        let count: usize = groups.iter().map(|(_, m)| m.len()).sum();
        self.blank();
        let head = format!("{} unreachable", plural(count, "host"));
        self.line(0, &format!("{} {}", p.yellow("✗"), p.bold(&head)));
        for (kind, members) in &groups {
            let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
            self.line(
                2,
                &format!("{}: {}", p.yellow(kind.as_str()), names.join(", ")),
            );
            let first = members[0].1;
            if members.iter().all(|(_, m)| *m == first) {
                self.line(4, &p.dim(&message(first)));
                continue;
            }
            for (name, msg) in members.iter().take(MAX_UNREACHABLE_MESSAGES) {
                self.line(4, &p.dim(&format!("{name}: {}", message(msg))));
            }
            if members.len() > MAX_UNREACHABLE_MESSAGES {
                let more = members.len() - MAX_UNREACHABLE_MESSAGES;
                self.line(4, &p.dim(&format!("… {more} more in the JSON report")));
            }
        }
    }

    /// The verdict first, then only the non-zero counts, so a healthy run
    /// reads `PASSED  hosts 3 ok · steps 9 passed`.
    fn totals(&mut self, t: &Totals) {
        let p = self.paint;
        let verdict = Verdict::from_totals(t);
        let word = match verdict {
            Verdict::Passed => p.green(verdict.as_str()),
            Verdict::Failed => p.red(verdict.as_str()),
            Verdict::Unreachable => p.yellow(verdict.as_str()),
        };
        let counts = |items: &[(usize, &str)]| {
            let mut parts: Vec<String> = Vec::new();
            for (i, (n, what)) in items.iter().enumerate() {
                if i == 0 || *n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
            parts.join(", ")
        };
        let hosts = counts(&[
            (t.hosts_ok, "ok"),
            (t.hosts_failed, "failed"),
            (t.hosts_unreachable, "unreachable"),
        ]);
        let steps = counts(&[
            (t.steps_passed, "passed"),
            (t.steps_failed, "failed"),
            (t.steps_timeout, "timeout"),
            (t.steps_error, "error"),
            (t.steps_skipped, "skipped"),
        ]);
        self.blank();
        self.line(0, &format!("{word}  hosts {hosts} · steps {steps}"));
    }
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
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn summary_of_mixed_run() {
        let text = render_summary(&fixture::mixed_run(), &DisplayConfig::plain());
        assert!(!text.contains('\x1b'), "no colour when disabled");
        insta::assert_snapshot!("summary_mixed", text);
    }

    #[test]
    fn summary_of_healthy_run() {
        let text = render_summary(&fixture::healthy_run(), &DisplayConfig::plain());
        insta::assert_snapshot!("summary_healthy", text);
    }

    #[test]
    fn colour_marks_failures_red_and_passes_green() {
        let config = DisplayConfig {
            color: true,
            interactive: false,
        };
        let mixed = render_summary(&fixture::mixed_run(), &config);
        assert!(mixed.contains("\x1b[1;31mFAILED\x1b[0m"));
        assert!(mixed.contains("\x1b[33mTIMEOUT\x1b[0m"));
        let healthy = render_summary(&fixture::healthy_run(), &config);
        assert!(healthy.contains("\x1b[32mPASSED\x1b[0m"));
    }

    #[test]
    fn verdict_prefers_failures_over_unreachable() {
        let mut t = Totals {
            hosts: 3,
            hosts_ok: 1,
            hosts_unreachable: 1,
            ..Totals::default()
        };
        assert_eq!(Verdict::from_totals(&t), Verdict::Unreachable);
        t.hosts_failed = 1;
        assert_eq!(Verdict::from_totals(&t), Verdict::Failed);
        assert_eq!(Verdict::from_totals(&Totals::default()), Verdict::Passed);
    }

    #[test]
    fn address_is_shown_only_when_it_adds_something() {
        let mut h = fixture::mixed_run().hosts.remove(0);
        assert_eq!(address(&h).as_deref(), Some("10.0.0.1"));
        h.address = h.name.clone();
        assert_eq!(address(&h), None);
        h.port = 2222;
        assert_eq!(address(&h).as_deref(), Some(":2222"));
    }
}
