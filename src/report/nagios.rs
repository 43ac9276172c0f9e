//! `fleet run … --nagios`: the output and exit status of a Nagios plugin
//! (Nagios Plugin Development Guidelines; also Icinga, Naemon, Shinken,
//! Sensu's Nagios mode), so a monitoring system can schedule the checks
//! and alert on them without a wrapper.
//!
//! Stdout is one status line, `FLEET STATE - TEXT | PERFDATA`, then one
//! line per problem (the plugin's long output). Perfdata has the run's host
//! counts and duration and every numeric export of every host as
//! `'HOST EXPORT'=VALUE`. Exit status: 0 OK, 1 WARNING (warnings only, or
//! run warnings such as an expired or unused waiver), 2 CRITICAL (a
//! failure, and anything not checked: unreachable, refused or never-run
//! hosts, errored or timed-out steps; the guidelines count a timeout or
//! network failure as CRITICAL), 3 UNKNOWN (usage, workflow or inventory
//! errors, an interrupted run, a report that could not be written).

use std::fmt::Write as _;

use crate::model::report::{HostStatus, RunReport, StepReport, StepStatus};

use super::groups::{CONTROLLER, host_list};

pub const OK: i32 = 0;
pub const WARNING: i32 = 1;
pub const CRITICAL: i32 = 2;
pub const UNKNOWN: i32 = 3;

/// The state word the guidelines put after the service name.
fn state(code: i32) -> &'static str {
    match code {
        OK => "OK",
        WARNING => "WARNING",
        CRITICAL => "CRITICAL",
        _ => "UNKNOWN",
    }
}

/// The plugin state of a finished run.
pub fn nagios_code(report: &RunReport) -> i32 {
    let t = &report.totals;
    if report.interrupted {
        UNKNOWN
    } else if t.hosts_failed
        + t.hosts_unreachable
        + t.hosts_refused
        + t.hosts_skipped
        + t.steps_failed
        + t.steps_timeout
        + t.steps_error
        + t.fleet_checks_failed
        > 0
    {
        CRITICAL
    } else if t.hosts_warned + t.steps_warned + t.fleet_checks_warned + report.warnings.len() > 0 {
        WARNING
    } else {
        OK
    }
}

/// The plugin output for a finished run whose state is `code` (the run's
/// [`nagios_code`], or worse when writing a report failed).
pub fn to_nagios(report: &RunReport, code: i32) -> String {
    let t = &report.totals;
    let names = |status: HostStatus| -> Vec<&str> {
        report
            .hosts
            .iter()
            .filter(|h| h.status == status)
            .map(|h| h.name.as_str())
            .collect()
    };
    let mut parts = Vec::new();
    for (status, word) in [
        (HostStatus::Failed, "failed"),
        (HostStatus::Unreachable, "unreachable"),
        (HostStatus::Refused, "refused"),
        (HostStatus::Skipped, "not run"),
        (HostStatus::Warned, "warned"),
    ] {
        let hosts = names(status);
        if !hosts.is_empty() {
            parts.push(format!("{} {word} ({})", hosts.len(), host_list(&hosts)));
        }
    }
    let local_failed = report.local.iter().filter(|s| is_problem(s.status)).count();
    if local_failed > 0 {
        parts.push(format!("{local_failed} controller step(s) failed"));
    }
    let checks: Vec<&str> = report
        .fleet_checks
        .iter()
        .filter(|c| is_problem(c.status))
        .map(|c| c.name.as_str())
        .collect();
    if !checks.is_empty() {
        parts.push(format!(
            "{} fleet check(s) failed ({})",
            checks.len(),
            checks.join(", ")
        ));
    }
    if t.steps_waived > 0 {
        parts.push(format!("{} waived", t.steps_waived));
    }
    if !report.warnings.is_empty() {
        parts.push(format!("{} warning(s)", report.warnings.len()));
    }
    parts.push(format!("{} of {} hosts ok", t.hosts_ok, t.hosts));
    if report.interrupted {
        parts.insert(0, "interrupted, results partial".to_string());
    }
    let mut out = format!(
        "FLEET {} - {} on {}: {} | {}\n",
        state(code),
        clean(&report.workflow),
        clean(&report.inventory),
        clean(&parts.join(", ")),
        perfdata(report)
    );
    long_output(&mut out, report);
    out
}

fn is_problem(status: StepStatus) -> bool {
    matches!(
        status,
        StepStatus::Failed | StepStatus::Timeout | StepStatus::Error
    )
}

/// Host counts, duration and every host's numeric exports. Exports carry
/// no unit of measure: fleet does not know the workflow's unit.
fn perfdata(report: &RunReport) -> String {
    let t = &report.totals;
    let mut items = vec![format!(
        "'duration'={:.3}s;;;0;",
        report.duration.as_secs_f64()
    )];
    for (label, n) in [
        ("hosts_ok", t.hosts_ok),
        ("hosts_warned", t.hosts_warned),
        ("hosts_failed", t.hosts_failed),
        ("hosts_unreachable", t.hosts_unreachable),
    ] {
        items.push(format!("'{label}'={n};;;0;{}", t.hosts));
    }
    // Step counts have no upper bound worth stating.
    for (label, n) in [
        ("steps_failed", t.steps_failed),
        ("steps_waived", t.steps_waived),
    ] {
        items.push(format!("'{label}'={n};;;0;"));
    }
    for h in &report.hosts {
        for (name, value) in &h.exports {
            let v = match value {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => u8::from(*b).to_string(),
                _ => continue,
            };
            items.push(format!("{}={v}", label(&format!("{} {name}", h.name))));
        }
    }
    items.join(" ")
}

/// A perfdata label: single-quoted, a quote inside doubled, and `=` (which
/// ends the label for every parser) replaced.
fn label(text: &str) -> String {
    format!("'{}'", clean(text).replace('\'', "''").replace('=', "_"))
}

/// Plugin text: one line, and no `|`, which starts the perfdata.
fn clean(text: &str) -> String {
    super::sanitize::line(text)
        .replace(['\n', '\r'], " ")
        .replace('|', "/")
}

/// One line per problem after the status line, what the plugin guidelines
/// call long output; monitoring UIs show it under the status.
fn long_output(out: &mut String, report: &RunReport) {
    let step_line = |out: &mut String, site: &str, s: &StepReport| {
        if !is_problem(s.status) && s.status != StepStatus::Waived {
            return;
        }
        let mut what = super::waived::first_failure(s);
        if what.is_empty() {
            what = s.reason.clone().unwrap_or_default();
        }
        let mut line = format!("{site} {}: {} {what}", s.name, s.status.as_str());
        if let Some(w) = &s.waiver {
            let _ = write!(line, " (waived: {})", w.reason);
        }
        let _ = writeln!(out, "{}", clean(line.trim_end()));
    };
    for s in &report.local {
        step_line(out, CONTROLLER, s);
    }
    for h in &report.hosts {
        if let Some(u) = &h.unreachable {
            let _ = writeln!(out, "{} UNREACHABLE {}", clean(&h.name), clean(&u.message));
        }
        for s in &h.steps {
            step_line(out, &h.name, s);
        }
    }
    for c in report.fleet_checks.iter().filter(|c| is_problem(c.status)) {
        let _ = writeln!(out, "fleet check {}: {}", clean(&c.name), c.status.as_str());
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {}", clean(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn states_follow_the_plugin_convention() {
        assert_eq!(nagios_code(&fixture::healthy_run()), OK);
        assert_eq!(nagios_code(&fixture::warned_run()), WARNING);
        assert_eq!(nagios_code(&fixture::mixed_run()), CRITICAL);
        let mut stopped = fixture::healthy_run();
        stopped.interrupted = true;
        assert_eq!(nagios_code(&stopped), UNKNOWN);
    }

    #[test]
    fn one_status_line_with_perfdata_from_exports() {
        let mut run = fixture::healthy_run();
        run.hosts[0].exports.insert("disk_use".into(), 85.into());
        run.hosts[1]
            .exports
            .insert("state".into(), "PRIMARY".into());
        let out = to_nagios(&run, nagios_code(&run));
        let first = out.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("FLEET OK - mongo-health on prod-db: 3 of 3 hosts ok | "),
            "{out}"
        );
        assert!(first.contains(" 'db-1 disk_use'=85"), "{first}");
        assert!(!first.contains("PRIMARY"), "{first}");
        assert_eq!(label("it's a=b"), "'it''s a_b'");
    }
}
