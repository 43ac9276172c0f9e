//! TAP version 13 (testanything.org), for the consumers that already read
//! it (`prove`, CI plugins, `tappy`): one test point per host × step, the
//! controller's `local` steps as host `controller`, an unreachable or
//! refused host as one point `HOST: connect`, each fleet check as
//! `fleet-checks: NAME`. A failed point carries a YAML block with what was
//! expected and what was seen.
//!
//! Directives: SKIPPED steps and refused or never-started hosts are
//! `ok … # SKIP reason`. A WAIVED step is `not ok … # TODO waived: reason`:
//! TODO is TAP's "known failure, not fixed yet", which is what a waiver
//! says, and consumers count it as passing while still showing it as a
//! failure. WARNED steps are `ok` with their warnings in the YAML block.

use std::fmt::Write as _;

use crate::model::Severity;
use crate::model::report::{
    HostReport, HostStatus, RuleFailure, RunReport, StepReport, StepStatus,
};

use super::groups::CONTROLLER;

/// The run as a TAP 13 document.
pub fn to_tap(report: &RunReport) -> String {
    let mut points = Vec::new();
    for s in &report.local {
        points.push(step_point(CONTROLLER, s));
    }
    for h in &report.hosts {
        match host_point(h) {
            Some(p) => points.push(p),
            None => points.extend(h.steps.iter().map(|s| step_point(&h.name, s))),
        }
    }
    for c in &report.fleet_checks {
        let mut p = Point::new(format!("fleet-checks: {}", c.name), c.status);
        p.diagnostics = Diagnostics::of(c.status, &c.failures, c.reason.as_deref());
        points.push(p);
    }
    let mut out = format!(
        "TAP version 13\n1..{}\n# fleet: workflow {} on inventory {}, started {}\n",
        points.len(),
        one_line(&report.workflow),
        one_line(&report.inventory),
        report.started_at
    );
    for (i, p) in points.iter().enumerate() {
        p.write(&mut out, i + 1);
    }
    if let Some(why) = &report.stopped {
        let _ = writeln!(out, "# stopped: {}", one_line(why));
    }
    for w in &report.warnings {
        let _ = writeln!(out, "# warning: {}", one_line(w));
    }
    out
}

/// The one point of a host whose steps never ran, `None` for the others.
fn host_point(h: &HostReport) -> Option<Point> {
    let name = format!("{}: connect", h.name);
    match h.status {
        HostStatus::Unreachable => {
            let mut p = Point::new(name, StepStatus::Error);
            if let Some(u) = &h.unreachable {
                p.diagnostics = Some(Diagnostics {
                    status: "UNREACHABLE",
                    message: Some(u.kind.as_str().to_string()),
                    seen: Some(u.message.clone()),
                    ..Diagnostics::default()
                });
            }
            Some(p)
        }
        HostStatus::Refused => {
            let mut p = Point::new(name, StepStatus::Skipped);
            p.directive = Some(format!(
                "SKIP refused: {}",
                h.refused.as_deref().unwrap_or("")
            ));
            Some(p)
        }
        HostStatus::Skipped => {
            let mut p = Point::new(name, StepStatus::Skipped);
            p.directive = Some(format!(
                "SKIP not run: {}",
                h.not_run.as_deref().unwrap_or("")
            ));
            Some(p)
        }
        _ => None,
    }
}

fn step_point(site: &str, s: &StepReport) -> Point {
    let mut p = Point::new(format!("{site}: {}", s.name), s.status);
    p.diagnostics = Diagnostics::of(s.status, &s.failures, s.reason.as_deref());
    match s.status {
        StepStatus::Skipped => {
            p.directive = Some(format!("SKIP {}", s.reason.as_deref().unwrap_or("")));
        }
        StepStatus::Waived => {
            let w = s.waiver.as_ref();
            let mut d = format!(
                "TODO waived: {}",
                w.map_or("(no reason)", |w| w.reason.as_str())
            );
            if let Some(w) = w
                && let (Some(until), Some(days)) = (&w.expires, w.days_left)
            {
                let _ = write!(
                    d,
                    " (until {until}, {})",
                    crate::model::report::days_left(days)
                );
            }
            p.directive = Some(d);
        }
        _ => {}
    }
    if let Some(d) = &mut p.diagnostics
        && let Some(w) = &s.waiver
    {
        d.waiver = Some(w.location.clone());
    }
    p
}

struct Point {
    ok: bool,
    description: String,
    directive: Option<String>,
    diagnostics: Option<Diagnostics>,
}

impl Point {
    fn new(description: String, status: StepStatus) -> Point {
        Point {
            ok: matches!(
                status,
                StepStatus::Passed | StepStatus::Skipped | StepStatus::Warned
            ),
            description,
            directive: None,
            diagnostics: None,
        }
    }

    fn write(&self, out: &mut String, n: usize) {
        let _ = write!(
            out,
            "{} {n} - {}",
            if self.ok { "ok" } else { "not ok" },
            escape(&self.description)
        );
        if let Some(d) = &self.directive {
            let _ = write!(out, " # {}", escape(d.trim_end()));
        }
        out.push('\n');
        if let Some(d) = &self.diagnostics {
            out.push_str("  ---\n");
            d.write(out);
            out.push_str("  ...\n");
        }
    }
}

/// The YAML block under a point (TAP 13 leaves its keys to the producer;
/// `message`, `severity`, `expected`, `seen` and `at` are the customary
/// ones). Written by hand in the YAMLish subset TAP consumers parse (Perl's
/// `TAP::Parser::YAMLish::Reader` has no block scalars): every value a
/// double-quoted, escaped string on one line.
#[derive(Debug, Default)]
struct Diagnostics {
    status: &'static str,
    message: Option<String>,
    reason: Option<String>,
    rules: Vec<Rule>,
    seen: Option<String>,
    /// `file:line:col` of the waiver that applied.
    waiver: Option<String>,
}

#[derive(Debug)]
struct Rule {
    severity: &'static str,
    message: Option<String>,
    expected: String,
    seen: String,
    at: String,
}

impl Diagnostics {
    fn write(&self, out: &mut String) {
        let field = |out: &mut String, indent: &str, key: &str, value: Option<&str>| {
            if let Some(v) = value {
                let _ = writeln!(out, "{indent}{key}: {}", quoted(v));
            }
        };
        field(out, "  ", "status", Some(self.status));
        field(out, "  ", "message", self.message.as_deref());
        field(out, "  ", "reason", self.reason.as_deref());
        if !self.rules.is_empty() {
            out.push_str("  rules:\n");
            for r in &self.rules {
                let _ = writeln!(out, "    - severity: {}", quoted(r.severity));
                field(out, "      ", "message", r.message.as_deref());
                field(out, "      ", "expected", Some(&r.expected));
                field(out, "      ", "seen", Some(&r.seen));
                field(out, "      ", "at", Some(&r.at));
            }
        }
        field(out, "  ", "seen", self.seen.as_deref());
        field(out, "  ", "waiver", self.waiver.as_deref());
    }

    /// Diagnostics for anything but a clean pass or a skip.
    fn of(status: StepStatus, failures: &[RuleFailure], reason: Option<&str>) -> Option<Self> {
        if matches!(status, StepStatus::Passed | StepStatus::Skipped) {
            return None;
        }
        Some(Diagnostics {
            status: status.as_str(),
            reason: reason.map(str::to_string),
            rules: failures
                .iter()
                .map(|f| Rule {
                    severity: match f.severity {
                        Severity::Warn => "warn",
                        Severity::Fail => "fail",
                    },
                    message: f.message.clone(),
                    expected: f.expected.clone(),
                    seen: f.seen.clone(),
                    at: f.location.clone(),
                })
                .collect(),
            ..Diagnostics::default()
        })
    }
}

/// A YAML double-quoted scalar: `\\`, `"` and control characters
/// escaped (`\\n`, `\\xNN`), so any text stays on one line.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `#` starts a directive and a line break ends the point: both are kept
/// out of descriptions.
fn escape(text: &str) -> String {
    one_line(text).replace('\\', r"\\").replace('#', r"\#")
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn one_point_per_host_and_step_with_a_plan_that_counts_them() {
        let run = fixture::mixed_run();
        let tap = to_tap(&run);
        let points = tap
            .lines()
            .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
            .count();
        assert!(tap.starts_with("TAP version 13\n"), "{tap}");
        assert!(tap.contains(&format!("\n1..{points}\n")), "{tap}");
        assert!(tap.contains("not ok 6 - db-2: disk\n"), "{tap}");
        assert!(tap.contains(" - web-1: stats # SKIP"), "{tap}");
        assert!(tap.contains(" - db-4: connect\n"), "{tap}");
        assert!(
            tap.contains("ok 18 - ps-prod-1: connect # SKIP refused: "),
            "{tap}"
        );
    }

    #[test]
    fn descriptions_cannot_open_a_directive() {
        assert_eq!(escape("a#b\nc"), r"a\#b c");
    }
}
