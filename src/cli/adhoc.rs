//! The ad-hoc commands: `hosts`, `exec` and `ping`. They share the planner
//! and executor with `run`; only their output differs.

use std::collections::BTreeMap;

use super::args::{ExecArgs, PingArgs};
use super::error::CliError;
use super::execution::{execute_with_progress, forks};
use crate::model::Inventory;
use crate::model::exit_code;
use crate::model::report::{HostReport, HostStatus, RunReport, StepStatus};
use crate::plan::{plan_adhoc, select_hosts};
use crate::report::{DisplayConfig, sanitize};

pub fn hosts(inventory: &Inventory, limits: &[String]) -> Result<i32, CliError> {
    let selection = select_hosts(inventory, None, limits)?;
    for warning in &selection.warnings {
        eprintln!("warning: {warning}");
    }
    let hosts = selection.hosts;
    let width = hosts.iter().map(|h| h.name.len()).max().unwrap_or(0);
    for h in &hosts {
        println!(
            "{:width$}  {}@{}:{}  {}",
            h.name,
            h.user,
            h.address,
            h.port,
            h.groups.join(",")
        );
    }
    eprintln!("{} hosts", hosts.len());
    Ok(exit_code::OK)
}

pub fn ping(inventory: &Inventory, args: &PingArgs) -> Result<i32, CliError> {
    let plan = plan_adhoc(inventory, &args.target.limit, None)?;
    let report = execute_with_progress(
        &plan,
        forks(&args.parallel, None),
        &DisplayConfig::detect(),
        &args.parallel,
    )?;
    print!("{}", render_ping(&report));
    Ok(exit_code::for_totals(&report.totals))
}

/// One line per host. The server's messages (a banner, a disconnect
/// reason) are the host's words: sanitized like its output.
fn render_ping(report: &RunReport) -> String {
    let names: Vec<_> = report
        .hosts
        .iter()
        .map(|h| sanitize::line(&h.name))
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (h, name) in report.hosts.iter().zip(&names) {
        let line = match (&h.unreachable, h.connect_time) {
            (Some(u), _) => format!(
                "{name:width$}  UNREACHABLE  {}: {}",
                u.kind.as_str(),
                sanitize::line(&u.message)
            ),
            (None, Some(t)) => format!("{name:width$}  OK  {} ms", t.as_millis()),
            (None, None) => format!("{name:width$}  OK"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `fleet exec`: like `clush -b`, hosts whose output is identical are
/// printed once under a header listing them.
pub fn exec(inventory: &Inventory, args: &ExecArgs) -> Result<i32, CliError> {
    let plan = plan_adhoc(
        inventory,
        &args.target.limit,
        Some((&args.command, args.timeout)),
    )?;
    // Protected hosts, or many hosts without --limit: confirm first.
    if !plan.confirmation_reasons().is_empty() {
        let shown = super::confirm::render_plan(&plan);
        let consent = super::confirm::Consent::detect(args.yes, false);
        super::confirm::confirm(&plan, &shown, consent, &mut std::io::stdin().lock())?;
    }
    let report = execute_with_progress(
        &plan,
        forks(&args.parallel, None),
        &DisplayConfig::detect(),
        &args.parallel,
    )?;
    print!("{}", render_grouped(&report));
    // A non-zero exit fails the step (the language's default), so the
    // totals already count it.
    Ok(exit_code::for_totals(&report.totals))
}

/// Groups hosts by everything they printed and how they ended. What the
/// hosts printed is shown line by line with every control character made
/// visible, so no host can repaint another's lines or the headers.
pub fn render_grouped(report: &RunReport) -> String {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for h in &report.hosts {
        groups.entry(host_output(h)).or_default().push(&h.name);
    }
    let mut out = String::new();
    for (text, names) in groups {
        let text = sanitize::block(&text);
        let names: Vec<_> = names.iter().map(|n| sanitize::line(n)).collect();
        let header = format!("{} ({})", names.join(","), names.len());
        let rule = "-".repeat(header.chars().count().min(72));
        out.push_str(&format!("{rule}\n{header}\n{rule}\n{text}"));
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn host_output(h: &HostReport) -> String {
    if let (HostStatus::Unreachable, Some(u)) = (h.status, &h.unreachable) {
        return format!("[UNREACHABLE: {}: {}]\n", u.kind.as_str(), u.message);
    }
    let mut text = String::new();
    for s in &h.steps {
        text.push_str(&s.stdout.text);
        text.push_str(&s.stderr.text);
        if s.stdout.truncated || s.stderr.truncated {
            text.push_str("\n[output truncated]\n");
        }
        match (s.status, s.exit_status, &s.reason) {
            (StepStatus::Passed, _, _) => {}
            // The only rule of an ad-hoc command is its exit status.
            (StepStatus::Failed, Some(code), _) => {
                text.push_str(&format!("[exit status {code}]\n"))
            }
            (status, _, reason) => text.push_str(&format!(
                "[{status:?}{}]\n",
                reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )),
        }
    }
    text
}
