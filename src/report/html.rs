//! One self-contained HTML file: the verdict and totals, a host × step
//! matrix, then a `<details>` drill-down per host with every step's
//! command, rules and output. No JavaScript and no external assets, so the
//! file opens from a mail attachment or an air-gapped share; problem hosts
//! start expanded, healthy ones collapsed.

use std::fmt::Write;

use crate::history::Trend;
use crate::model::Severity;
use crate::model::Verdict;
use crate::model::report::{
    Captured, HostReport, HostStatus, RuleFailure, RunReport, StepReport, StepStatus,
};
use crate::report::style;
use crate::report::trend;

const CSS: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}
.PASSED,.OK{background:#d9f2d9}.WARNED{background:#fff1c2}
.FAILED,.TIMEOUT,.ERROR,.UNREACHABLE,.REFUSED,.INCOMPLETE{background:#f8d0d0}
.SKIPPED{background:#eee;color:#777}.WAIVED{background:#e4dcf5}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
td a{color:inherit;text-decoration:none;display:block}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:bold}
pre{background:#f6f6f6;padding:6px;overflow-x:auto;max-height:30em;white-space:pre-wrap}
details{margin:4px 0;border:1px solid #ddd;padding:4px 8px}summary{cursor:pointer}
.rule{margin:4px 0 4px 1em}.muted{color:#777}
";

pub fn to_html(report: &RunReport) -> String {
    to_html_with_trends(report, &[])
}

/// [`to_html`] with a trends section after the matrix: the caller reads
/// the history and passes the series in.
pub fn to_html_with_trends(report: &RunReport, trends: &[Trend]) -> String {
    let verdict = Verdict::from_totals(&report.totals);
    let t = &report.totals;
    let title = format!("{} on {}", report.workflow, report.inventory);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>fleet: {}</title><style>{CSS}{}</style></head><body>\n",
        esc(&title),
        trend::css(trends)
    );
    let _ = writeln!(
        h,
        "<h1>{} <span class=\"verdict {}\">{}</span></h1>",
        esc(&title),
        verdict_class(verdict),
        verdict.as_str()
    );
    let _ = writeln!(
        h,
        "<p>Started {} · {} · fleet {}<br>Hosts: {} — {} ok, {} warned, {} failed, {} unreachable, {} refused. \
         Steps: {} passed, {} warned, {} failed, {} timeout, {} error, {} skipped.</p>",
        esc(&report.started_at),
        style::duration(report.duration),
        esc(&report.fleet_version),
        t.hosts,
        t.hosts_ok,
        t.hosts_warned,
        t.hosts_failed,
        t.hosts_unreachable,
        t.hosts_refused,
        t.steps_passed,
        t.steps_warned,
        t.steps_failed,
        t.steps_timeout,
        t.steps_error,
        t.steps_skipped
    );
    notes(&mut h, report);
    matrix(&mut h, report);
    trend::html_section(&mut h, trends);
    if !report.fleet_checks.is_empty() {
        h.push_str("<h2>Fleet checks</h2>\n");
        for c in &report.fleet_checks {
            let open = if c.status == StepStatus::Passed {
                ""
            } else {
                " open"
            };
            let _ = writeln!(
                h,
                "<details{open}><summary><span class=\"{0}\">{0}</span> {1}</summary>",
                c.status.as_str(),
                esc(&c.name)
            );
            reason(&mut h, c.reason.as_deref());
            rules(&mut h, &c.failures);
            h.push_str("</details>\n");
        }
    }
    h.push_str("<h2>Hosts</h2>\n");
    if !report.local.is_empty() {
        h.push_str("<details open id=\"host-controller\"><summary><b>controller</b> (local steps)</summary>\n");
        for s in &report.local {
            step(&mut h, s);
        }
        h.push_str("</details>\n");
    }
    for host in &report.hosts {
        host_details(&mut h, host);
    }
    h.push_str("</body></html>\n");
    h
}

/// Rows are hosts, columns the union of step names in first-seen order;
/// each cell links to the host's drill-down.
fn matrix(h: &mut String, report: &RunReport) {
    let mut steps: Vec<&str> = Vec::new();
    for s in report.hosts.iter().flat_map(|h| &h.steps) {
        if !steps.contains(&s.name.as_str()) {
            steps.push(&s.name);
        }
    }
    h.push_str("<h2>Matrix</h2>\n<table><tr><th>host</th><th>status</th>");
    for s in &steps {
        let _ = write!(h, "<th>{}</th>", esc(s));
    }
    h.push_str("</tr>\n");
    for host in &report.hosts {
        let id = anchor(&host.name);
        let _ = write!(
            h,
            "<tr><td><a href=\"#{id}\">{}</a></td><td class=\"{1}\">{1}</td>",
            esc(&host.name),
            host.status.as_str()
        );
        for name in &steps {
            match host.steps.iter().find(|s| s.name == *name) {
                Some(s) => {
                    let _ = write!(
                        h,
                        "<td class=\"{0}\"><a href=\"#{id}\">{0}</a></td>",
                        s.status.as_str()
                    );
                }
                None => h.push_str("<td class=\"muted\">—</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn host_details(h: &mut String, host: &HostReport) {
    let open = if matches!(host.status, HostStatus::Ok) {
        ""
    } else {
        " open"
    };
    let _ = writeln!(
        h,
        "<details{open} id=\"{}\"><summary><span class=\"{1}\">{1}</span> <b>{2}</b> \
         <span class=\"muted\">{3}@{4}:{5} · {6}</span></summary>",
        anchor(&host.name),
        host.status.as_str(),
        esc(&host.name),
        esc(&host.user),
        esc(&host.address),
        host.port,
        style::duration(host.duration)
    );
    if let Some(u) = &host.unreachable {
        let _ = writeln!(
            h,
            "<p><b>{}</b>: {}</p>",
            esc(u.kind.as_str()),
            esc(&u.message)
        );
    }
    if let Some(r) = &host.refused {
        let _ = writeln!(h, "<p><b>refused</b>: {}</p>", esc(r));
    }
    for s in &host.steps {
        step(h, s);
    }
    if !host.exports.is_empty() {
        h.push_str("<p class=\"muted\">exports: ");
        let list: Vec<String> = host
            .exports
            .iter()
            .map(|(k, v)| format!("{} = {}", esc(k), esc(&v.to_string())))
            .collect();
        h.push_str(&list.join(", "));
        h.push_str("</p>\n");
    }
    h.push_str("</details>\n");
}

fn step(h: &mut String, s: &StepReport) {
    let open = if matches!(s.status, StepStatus::Passed | StepStatus::Skipped) {
        ""
    } else {
        " open"
    };
    let attempts = if s.attempts > 1 {
        format!(" · {} attempts", s.attempts)
    } else {
        String::new()
    };
    let exit = s
        .exit_status
        .map(|c| format!(" · exit {c}"))
        .unwrap_or_default();
    let _ = writeln!(
        h,
        "<details{open} class=\"rule\"><summary><span class=\"{0}\">{0}</span> {1} \
         <span class=\"muted\">{2}{exit}{attempts}</span></summary>",
        s.status.as_str(),
        esc(&s.name),
        style::duration(s.duration)
    );
    let _ = writeln!(h, "<pre>$ {}</pre>", esc(&s.command));
    if let Some(w) = &s.waiver {
        let _ = writeln!(h, "<p class=\"WAIVED\"><b>{}</b></p>", esc(&w.note()));
    }
    reason(h, s.reason.as_deref());
    rules(h, &s.failures);
    captured(h, "stdout", &s.stdout);
    captured(h, "stderr", &s.stderr);
    h.push_str("</details>\n");
}

/// Waived steps (counted, detailed under their host) and the run's
/// warnings (unmatched `--limit` parts, expired or unused waivers).
fn notes(h: &mut String, report: &RunReport) {
    if report.totals.steps_waived > 0 {
        let _ = writeln!(
            h,
            "<p><span class=\"WAIVED\">{} waived</span>: failures a waiver accepts; \
             reason and expiry under each host.</p>",
            report.totals.steps_waived
        );
    }
    if !report.warnings.is_empty() {
        h.push_str("<ul>\n");
        for w in &report.warnings {
            let _ = writeln!(h, "<li class=\"WARNED\">{}</li>", esc(w));
        }
        h.push_str("</ul>\n");
    }
}

fn reason(h: &mut String, reason: Option<&str>) {
    if let Some(r) = reason {
        let _ = writeln!(h, "<p><b>reason</b>: {}</p>", esc(r));
    }
}

fn rules(h: &mut String, failures: &[RuleFailure]) {
    for f in failures {
        let class = match f.severity {
            Severity::Warn => "WARNED",
            Severity::Fail => "FAILED",
        };
        let _ = write!(
            h,
            "<div class=\"rule\"><span class=\"{class}\">{}</span> expected <code>{}</code>",
            match f.severity {
                Severity::Warn => "warn",
                Severity::Fail => "fail",
            },
            esc(&f.expected)
        );
        if let Some(m) = &f.message {
            let _ = write!(h, " — {}", esc(m));
        }
        let _ = writeln!(
            h,
            "<br>seen: <code>{}</code> <span class=\"muted\">{}</span></div>",
            esc(&f.seen),
            esc(&f.location)
        );
    }
}

fn captured(h: &mut String, label: &str, c: &Captured) {
    if c.text.is_empty() {
        return;
    }
    let note = if c.truncated {
        format!(" (truncated; {} written)", style::bytes(c.bytes))
    } else {
        String::new()
    };
    let _ = writeln!(h, "<div>{label}{note}</div><pre>{}</pre>", esc(&c.text));
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "PASSED",
        Verdict::Failed => "FAILED",
        Verdict::Refused => "REFUSED",
        Verdict::Unreachable => "UNREACHABLE",
        Verdict::Incomplete => "INCOMPLETE",
    }
}

/// Ids must not contain spaces; host names rarely do, but inventories are
/// user input.
fn anchor(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("host-{safe}")
}

/// Escapes text for element content and quoted attributes.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn html_snapshot() {
        insta::assert_snapshot!("report_html", to_html(&fixture::mixed_run()));
    }

    #[test]
    fn output_is_escaped() {
        assert_eq!(esc("<b a=\"x\">&"), "&lt;b a=&quot;x&quot;&gt;&amp;");
    }
}
