//! Markdown, ready to paste into a ticket or a chat: the verdict, totals,
//! one table row per problem (host, step, status, what was expected and
//! seen), then unreachable hosts and warnings. Outputs are left to the
//! JSON and HTML reports; a ticket needs the finding, not the log.

use std::fmt::Write;

use crate::model::Severity;
use crate::model::Verdict;
use crate::model::report::{HostStatus, RuleFailure, RunReport, StepReport, StepStatus};
use crate::report::style::{self, first_line};

/// Longest cell text; tables with paragraphs in them stop being tables.
const MAX_CELL: usize = 160;

pub fn to_markdown(report: &RunReport) -> String {
    let verdict = Verdict::from_totals(&report.totals);
    let t = &report.totals;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## fleet: `{}` on `{}` — {}\n",
        report.workflow,
        report.inventory,
        verdict.as_str()
    );
    let _ = writeln!(
        md,
        "Started {} · {} · {} hosts: {} ok, {} warned, {} failed, {} unreachable, {} refused\n",
        report.started_at,
        style::duration(report.duration),
        t.hosts,
        t.hosts_ok,
        t.hosts_warned,
        t.hosts_failed,
        t.hosts_unreachable,
        t.hosts_refused
    );

    let mut rows = Vec::new();
    for s in &report.local {
        problem_rows(
            &mut rows,
            crate::model::report::CONTROLLER,
            s,
            Severity::Fail,
        );
    }
    for h in &report.hosts {
        for s in h.steps.iter().filter(|s| s.status != StepStatus::Waived) {
            problem_rows(&mut rows, &h.name, s, Severity::Fail);
        }
    }
    for c in &report.fleet_checks {
        if matches!(c.status, StepStatus::Failed | StepStatus::Error) {
            for f in c.failures.iter().filter(|f| f.severity == Severity::Fail) {
                rows.push(rule_row("(fleet)", &c.name, c.status.as_str(), f));
            }
            if c.failures.is_empty() {
                rows.push(reason_row(
                    "(fleet)",
                    &c.name,
                    c.status,
                    c.reason.as_deref(),
                ));
            }
        }
    }
    if !rows.is_empty() {
        md.push_str(
            "### Failures\n\n| Host | Step | Status | Expected | Seen |\n|---|---|---|---|---|\n",
        );
        for r in &rows {
            md.push_str(r);
        }
        md.push('\n');
    }

    let unreachable: Vec<_> = report
        .hosts
        .iter()
        .filter(|h| matches!(h.status, HostStatus::Unreachable | HostStatus::Refused))
        .collect();
    if !unreachable.is_empty() {
        md.push_str("### Not checked\n\n");
        for h in unreachable {
            let why = match (&h.unreachable, &h.refused) {
                (Some(u), _) => format!("{}: {}", u.kind.as_str(), u.message),
                (None, Some(r)) => format!("refused: {r}"),
                (None, None) => h.status.as_str().to_string(),
            };
            let _ = writeln!(md, "- **{}** — {}", cell(&h.name), cell(&why));
        }
        md.push('\n');
    }

    let mut warns = Vec::new();
    for (host, s) in report.steps_by_host() {
        problem_rows(&mut warns, host, s, Severity::Warn);
    }
    if !warns.is_empty() {
        md.push_str(
            "### Warnings\n\n| Host | Step | Status | Expected | Seen |\n|---|---|---|---|---|\n",
        );
        for r in &warns {
            md.push_str(r);
        }
        md.push('\n');
    }
    waived_section(&mut md, report);
    if !report.warnings.is_empty() {
        md.push_str("### Run warnings\n\n");
        for w in &report.warnings {
            let _ = writeln!(md, "- {}", cell(w));
        }
        md.push('\n');
    }
    md
}

/// Accepted failures, each with its waiver's reason and days left.
fn waived_section(md: &mut String, report: &RunReport) {
    let mut rows = String::new();
    for (host, s) in super::waived::waived_steps(report) {
        let (reason, until, left) = s.waiver.as_ref().map_or_else(Default::default, |w| {
            (
                w.reason.clone(),
                w.expires.clone().unwrap_or_default(),
                w.days_left.map(|d| d.to_string()).unwrap_or_default(),
            )
        });
        let _ = writeln!(
            rows,
            "| {} | {} | {} | {} | {} | {} |",
            cell(host),
            cell(&s.name),
            cell(&super::waived::first_failure(s)),
            cell(&reason),
            cell(&until),
            cell(&left)
        );
    }
    if !rows.is_empty() {
        md.push_str(
            "### Waived\n\n| Host | Step | Failure | Reason | Until | Days left |\n|---|---|---|---|---|---|\n",
        );
        md.push_str(&rows);
        md.push('\n');
    }
}

fn problem_rows(rows: &mut Vec<String>, host: &str, s: &StepReport, severity: Severity) {
    let rules: Vec<&RuleFailure> = s
        .failures
        .iter()
        .filter(|f| f.severity == severity)
        .collect();
    let label = match severity {
        Severity::Warn => "warn",
        Severity::Fail => s.status.as_str(),
    };
    for f in &rules {
        rows.push(rule_row(host, &s.name, label, f));
    }
    let errored = matches!(s.status, StepStatus::Timeout | StepStatus::Error);
    if severity == Severity::Fail && rules.is_empty() && errored {
        rows.push(reason_row(host, &s.name, s.status, s.reason.as_deref()));
    }
}

fn rule_row(host: &str, step: &str, status: &str, f: &RuleFailure) -> String {
    let expected = match &f.message {
        Some(m) => format!("{} ({})", f.expected, m),
        None => f.expected.clone(),
    };
    format!(
        "| {} | {} | {} | {} | {} |\n",
        cell(host),
        cell(step),
        status,
        code(&expected),
        if f.seen.trim().is_empty() {
            "(empty)".to_string()
        } else {
            code(&f.seen)
        }
    )
}

fn reason_row(host: &str, step: &str, status: StepStatus, reason: Option<&str>) -> String {
    format!(
        "| {} | {} | {} | {} | |\n",
        cell(host),
        cell(step),
        status.as_str(),
        cell(reason.unwrap_or(""))
    )
}

/// One line, table-safe: pipes escaped, cut at [`MAX_CELL`].
fn cell(text: &str) -> String {
    first_line(text, MAX_CELL).replace('|', "\\|")
}

/// Inline code survives any characters except the backtick fence itself.
fn code(text: &str) -> String {
    let t = cell(text).replace('`', "'");
    if t.is_empty() { t } else { format!("`{t}`") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!("report_markdown", to_markdown(&fixture::mixed_run()));
    }

    #[test]
    fn healthy_markdown_has_no_sections() {
        let md = to_markdown(&fixture::healthy_run());
        assert!(!md.contains("###"), "{md}");
    }
}
