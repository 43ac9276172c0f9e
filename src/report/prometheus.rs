//! The Prometheus text exposition format (version 0.0.4), for the
//! node_exporter textfile collector: a cron job or systemd timer runs
//! `fleet run … --report prometheus=/var/lib/node_exporter/fleet.prom`,
//! node_exporter serves the file, and alerts fire on the status series and
//! on the file's age (`node_textfile_mtime_seconds`). The file is written
//! atomically (temporary file, then rename) like every report, which is what
//! the collector requires to never read half a file.
//!
//! Every series is a gauge: each file describes one run, so nothing counts
//! up across scrapes (no `_total`). Statuses are one series per possible
//! status with value 1 for the one that holds and 0 for the others (the
//! kube-state-metrics convention), so an alert is `fleet_step_status{status
//! ="failed"} == 1` and a status that does not hold is an explicit 0, not a
//! missing series. Durations are in seconds, timestamps in seconds since the
//! Unix epoch. Layout and names: docs/report-prometheus.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::report::{
    HostReport, HostStatus, RunReport, StepReport, StepStatus, UnreachableKind,
};

use super::groups::CONTROLLER;

/// Every step status, in the order the series are written.
const STEP_STATUSES: [StepStatus; 7] = [
    StepStatus::Passed,
    StepStatus::Skipped,
    StepStatus::Waived,
    StepStatus::Warned,
    StepStatus::Failed,
    StepStatus::Timeout,
    StepStatus::Error,
];

const HOST_STATUSES: [HostStatus; 6] = [
    HostStatus::Ok,
    HostStatus::Warned,
    HostStatus::Failed,
    HostStatus::Unreachable,
    HostStatus::Refused,
    HostStatus::Skipped,
];

const UNREACHABLE_KINDS: [UnreachableKind; 6] = [
    UnreachableKind::Refused,
    UnreachableKind::Timeout,
    UnreachableKind::Dns,
    UnreachableKind::HostKey,
    UnreachableKind::Auth,
    UnreachableKind::Network,
];

/// Prefix of the gauge each numeric export becomes.
pub const EXPORT_PREFIX: &str = "fleet_export_";

/// The run in the text exposition format.
pub fn to_prometheus(report: &RunReport) -> String {
    let mut out = Exposition::default();
    let run = [
        ("workflow", report.workflow.as_str()),
        ("inventory", report.inventory.as_str()),
    ];
    run_families(&mut out, report, &run);
    host_families(&mut out, report, &run);
    step_families(&mut out, report, &run);
    check_families(&mut out, report, &run);
    export_families(&mut out, report, &run);
    out.text
}

fn run_families(out: &mut Exposition, report: &RunReport, run: &[(&str, &str)]) {
    out.family(
        "fleet_run_info",
        "The run this file describes (value always 1), with the fleet version that made it.",
    );
    let with_version = labels(run, &[("fleet_version", &report.fleet_version)]);
    out.sample("fleet_run_info", &with_version, 1.0);
    if let Some(start) = unix_seconds(&report.started_at) {
        out.family(
            "fleet_run_start_time_seconds",
            "When the run started, in seconds since the Unix epoch.",
        );
        out.sample("fleet_run_start_time_seconds", run, start);
        out.family(
            "fleet_run_end_time_seconds",
            "When the run ended (start plus duration), in seconds since the Unix epoch.",
        );
        out.sample(
            "fleet_run_end_time_seconds",
            run,
            start + seconds(report.duration),
        );
    }
    out.family(
        "fleet_run_duration_seconds",
        "Wall-clock time of the whole run.",
    );
    out.sample("fleet_run_duration_seconds", run, seconds(report.duration));
    out.family(
        "fleet_run_exit_code",
        "The exit code of fleet run (0 passed, 1 checks failed, 3 incomplete, 130 interrupted).",
    );
    out.sample(
        "fleet_run_exit_code",
        run,
        f64::from(crate::model::exit_code::for_report(report)),
    );
    out.family(
        "fleet_run_interrupted",
        "1 when the operator interrupted the run and the results are partial.",
    );
    out.sample("fleet_run_interrupted", run, bool_value(report.interrupted));

    out.family("fleet_run_hosts", "Hosts of the run, by host status.");
    for status in HOST_STATUSES {
        let n = report.hosts.iter().filter(|h| h.status == status).count();
        let l = labels(run, &[("status", &lower(status.as_str()))]);
        out.sample("fleet_run_hosts", &l, n as f64);
    }
    out.family(
        "fleet_run_steps",
        "Step results of the run (every host's and the controller's), by step status.",
    );
    for status in STEP_STATUSES {
        let n = all_steps(report)
            .filter(|(_, s)| s.status == status)
            .count();
        let l = labels(run, &[("status", &lower(status.as_str()))]);
        out.sample("fleet_run_steps", &l, n as f64);
    }
    out.family(
        "fleet_run_unreachable_hosts",
        "Unreachable hosts of the run, by why they could not be reached.",
    );
    for kind in UNREACHABLE_KINDS {
        let n = report
            .hosts
            .iter()
            .filter(|h| h.unreachable.as_ref().is_some_and(|u| u.kind == kind))
            .count();
        let l = labels(run, &[("kind", kind_label(kind))]);
        out.sample("fleet_run_unreachable_hosts", &l, n as f64);
    }
}

fn host_families(out: &mut Exposition, report: &RunReport, run: &[(&str, &str)]) {
    if report.hosts.is_empty() {
        return;
    }
    out.family(
        "fleet_host_status",
        "1 for the status the host ended in, 0 for every other status.",
    );
    for h in &report.hosts {
        for status in HOST_STATUSES {
            let l = host_labels(run, h, &[("status", &lower(status.as_str()))]);
            out.sample("fleet_host_status", &l, bool_value(h.status == status));
        }
    }
    out.family(
        "fleet_host_duration_seconds",
        "Time from connecting to the host until its last step ended.",
    );
    for h in &report.hosts {
        out.sample(
            "fleet_host_duration_seconds",
            &host_labels(run, h, &[]),
            seconds(h.duration),
        );
    }
    out.family(
        "fleet_host_group_info",
        "One series (value 1) per group a host is in, for joins on `group`.",
    );
    for h in &report.hosts {
        for g in &h.groups {
            let l = labels(run, &[("host", &h.name), ("group", g)]);
            out.sample("fleet_host_group_info", &l, 1.0);
        }
    }
}

fn step_families(out: &mut Exposition, report: &RunReport, run: &[(&str, &str)]) {
    if all_steps(report).next().is_none() {
        return;
    }
    out.family(
        "fleet_step_status",
        "1 for the status a step ended in on a host, 0 for every other status.",
    );
    for (host, step) in all_steps(report) {
        for status in STEP_STATUSES {
            let l = step_labels(run, host, step, &[("status", &lower(status.as_str()))]);
            out.sample("fleet_step_status", &l, bool_value(step.status == status));
        }
    }
    out.family(
        "fleet_step_duration_seconds",
        "How long a step took on a host, retries included.",
    );
    for (host, step) in all_steps(report) {
        out.sample(
            "fleet_step_duration_seconds",
            &step_labels(run, host, step, &[]),
            seconds(step.duration),
        );
    }
}

fn check_families(out: &mut Exposition, report: &RunReport, run: &[(&str, &str)]) {
    if report.fleet_checks.is_empty() {
        return;
    }
    out.family(
        "fleet_check_status",
        "1 for the status a fleet-wide check ended in, 0 for every other status.",
    );
    for c in &report.fleet_checks {
        for status in STEP_STATUSES {
            let l = labels(
                run,
                &[("check", &c.name), ("status", &lower(status.as_str()))],
            );
            out.sample("fleet_check_status", &l, bool_value(c.status == status));
        }
    }
}

/// One gauge per numeric export name (`disk_use` → `fleet_export_disk_use`),
/// one series per host that exported a number (booleans as 0 and 1). The
/// value is what the workflow exported, in the workflow's unit: fleet
/// cannot know it, so the name carries no unit suffix.
fn export_families(out: &mut Exposition, report: &RunReport, run: &[(&str, &str)]) {
    // Metric name → its export; BTreeMap: stable order.
    let mut families: BTreeMap<String, ExportFamily> = BTreeMap::new();
    let mut collisions = Vec::new();
    for h in &report.hosts {
        for (name, value) in &h.exports {
            let Some(v) = numeric(value) else { continue };
            let metric = format!("{EXPORT_PREFIX}{}", metric_name_part(name));
            let (owner, values) = families
                .entry(metric)
                .or_insert((name.as_str(), Vec::new()));
            if *owner == name {
                values.push((h, v));
            } else if !collisions.contains(name) {
                collisions.push(name.clone());
            }
        }
    }
    for (metric, (name, values)) in &families {
        out.family(
            metric,
            &format!("Value the workflow exported as `{name}`, per host, in the workflow's unit."),
        );
        for (h, v) in values {
            out.sample(metric, &host_labels(run, h, &[]), *v);
        }
    }
    for name in collisions {
        let _ = writeln!(
            out.text,
            "# fleet: export `{}` left out: its metric name is taken by another export",
            name.replace('\n', " ")
        );
    }
}

/// The export a metric name belongs to and each host's value.
type ExportFamily<'a> = (&'a str, Vec<(&'a HostReport, f64)>);

/// A JSON value as a gauge value: numbers as they are, booleans 0 or 1.
fn numeric(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::Bool(b) => Some(bool_value(*b)),
        _ => None,
    }
}

/// Every step result with the host it ran on; `None` for the controller.
fn all_steps(report: &RunReport) -> impl Iterator<Item = (Option<&HostReport>, &StepReport)> {
    report.local.iter().map(|s| (None, s)).chain(
        report
            .hosts
            .iter()
            .flat_map(|h| h.steps.iter().map(move |s| (Some(h), s))),
    )
}

fn host_labels<'a>(
    run: &[(&'a str, &'a str)],
    host: &'a HostReport,
    extra: &[(&'a str, &str)],
) -> Vec<(&'a str, String)> {
    let mut l = labels(run, &[("host", &host.name)]);
    l.push(("groups", groups_label(&host.groups)));
    l.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
    l
}

fn step_labels<'a>(
    run: &[(&'a str, &'a str)],
    host: Option<&'a HostReport>,
    step: &'a StepReport,
    extra: &[(&'a str, &str)],
) -> Vec<(&'a str, String)> {
    let mut l = match host {
        Some(h) => host_labels(run, h, &[]),
        None => {
            let mut l = labels(run, &[("host", CONTROLLER)]);
            l.push(("groups", String::new()));
            l
        }
    };
    l.push(("step", step.name.clone()));
    l.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
    l
}

fn labels<'a>(run: &[(&'a str, &'a str)], extra: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    run.iter()
        .chain(extra)
        .map(|(k, v)| (*k, (*v).to_string()))
        .collect()
}

/// `,dr,prod,`: every group a host is in, comma-wrapped so that
/// `groups=~".*,prod,.*"` matches exactly the group `prod` (the convention
/// of Prometheus' Consul service discovery for tags).
fn groups_label(groups: &[String]) -> String {
    if groups.is_empty() {
        String::new()
    } else {
        format!(",{},", groups.join(","))
    }
}

fn kind_label(kind: UnreachableKind) -> &'static str {
    match kind {
        UnreachableKind::Refused => "refused",
        UnreachableKind::Timeout => "timeout",
        UnreachableKind::Dns => "dns",
        UnreachableKind::HostKey => "host-key",
        UnreachableKind::Auth => "auth",
        UnreachableKind::Network => "network",
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// `disk-use.pct` → `disk_use_pct`: metric names allow `[a-zA-Z0-9_]`
/// (and `:`, reserved for recording rules); anything else becomes `_`.
fn metric_name_part(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Seconds since the Unix epoch of an RFC 3339 time.
fn unix_seconds(rfc3339: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as f64 / 1e3)
}

/// Seconds to the millisecond, the precision fleet measures (and the JSON
/// report keeps): no float noise like `3.7190393950000002`.
fn seconds(d: std::time::Duration) -> f64 {
    d.as_millis() as f64 / 1e3
}

/// The text being built: `# HELP`/`# TYPE` once per family, then its
/// samples, as the format requires (all samples of a family together).
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, help: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} gauge");
    }

    fn sample<K: AsRef<str>, V: AsRef<str>>(&mut self, name: &str, labels: &[(K, V)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{}=\"{}\"", k.as_ref(), escape(v.as_ref()));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }
}

/// A label value as the format quotes it: backslash, double quote and
/// line feed escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
    out
}

/// Go's float syntax as Prometheus parses it (`+Inf`, `NaN`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
