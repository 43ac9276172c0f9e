//! The ad-hoc commands: `hosts`, `exec` and `ping`. They share the planner
//! and executor with `run`; only their output differs.

use super::args::{ExecArgs, PingArgs};
use super::error::CliError;
use super::execution::{execute_with_progress, forks};
use crate::model::Inventory;
use crate::model::exit_code;
use crate::plan::{plan_adhoc, select_hosts};
use crate::report::{render_grouped, render_ping};

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
        &super::terminal::display_config(),
        &args.parallel,
    )?;
    print!("{}", render_ping(&report));
    Ok(exit_code::for_totals(&report.totals))
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
        let shown = crate::report::render_plan(&plan);
        let consent = super::confirm::Consent::detect(args.yes, false);
        super::confirm::confirm(&plan, &shown, consent, &mut std::io::stdin().lock())?;
    }
    let report = execute_with_progress(
        &plan,
        forks(&args.parallel, None),
        &super::terminal::display_config(),
        &args.parallel,
    )?;
    print!("{}", render_grouped(&report));
    // A non-zero exit fails the step (the language's default), so the
    // totals already count it.
    Ok(exit_code::for_totals(&report.totals))
}
