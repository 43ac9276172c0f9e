//! Dispatch: loads, plans, executes and reports for each subcommand.
//! Errors are printed here, once, and mapped to exit codes.

use std::path::Path;

use clap::Parser;

use super::adhoc;
use super::args::{CheckArgs, Cli, Command, Parallel, RunArgs};
use super::resolve::{NotFound, resolve};
use crate::execute::{DEFAULT_OUTPUT_CAP, ExecuteOptions, execute};
use crate::exit_code;
use crate::limit::LimitError;
use crate::load::{LoadErrors, load_inventory, load_workflow};
use crate::model::{Inventory, Workflow};
use crate::plan::{Plan, PlanError, plan};
use crate::report::{DisplayConfig, Progress, render_summary, write_json};
use crate::results::RunReport;

/// Forks when neither `--forks` nor the workflow sets them.
pub const DEFAULT_FORKS: usize = 32;

/// Everything that stops a command before or after the run itself.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    NotFound(#[from] NotFound),
    #[error(transparent)]
    Load(#[from] LoadErrors),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    SshConfig(#[from] crate::ssh::SshConfigError),
}

impl From<PlanError> for CliError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Limit(e) => CliError::Limit(e),
            PlanError::Templates(e) => CliError::Load(e),
        }
    }
}

/// The binary's whole life: parse arguments, run, return the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            print_error(e);
            exit_code::CONFIG_ERROR
        }
    }
}

fn print_error(e: CliError) {
    match e {
        CliError::Load(errors) => {
            eprintln!("{:?}", miette::Report::new(errors));
        }
        other => eprintln!("error: {other}"),
    }
}

fn dispatch(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Check(args) => check(args),
        Command::Hosts(args) => adhoc::hosts(
            &load_inventory_arg(&args.target.inventory)?,
            &args.target.limit,
        ),
        Command::Exec(args) => adhoc::exec(&load_inventory_arg(&args.target.inventory)?, &args),
        Command::Ping(args) => adhoc::ping(&load_inventory_arg(&args.target.inventory)?, &args),
    }
}

pub(super) fn load_inventory_arg(arg: &str) -> Result<Inventory, CliError> {
    Ok(load_inventory(&resolve("inventory", "inventory", arg)?)?)
}

/// Loads both files, reporting the errors of both together, then plans.
fn load_and_plan(args: &CheckArgs) -> Result<Plan, CliError> {
    let workflow_path = resolve("workflow", "workflows", &args.workflow)?;
    let inventory_path = resolve("inventory", "inventory", &args.target.inventory)?;
    let (workflow, inventory): (Result<Workflow, _>, Result<Inventory, _>) = (
        load_workflow(&workflow_path),
        load_inventory(&inventory_path),
    );
    let (workflow, inventory) = match (workflow, inventory) {
        (Ok(w), Ok(i)) => (w, i),
        (Err(mut a), Err(b)) => {
            a.0.extend(b.0);
            return Err(a.into());
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    Ok(plan(workflow, &inventory, &args.target.limit, &args.set)?)
}

fn check(args: CheckArgs) -> Result<i32, CliError> {
    let plan = load_and_plan(&args)?;
    println!(
        "ok: workflow `{}` ({} steps) is valid for {} hosts of inventory `{}`",
        plan.workflow.name,
        plan.workflow.steps.len(),
        plan.hosts.len(),
        plan.inventory_name
    );
    Ok(exit_code::OK)
}

fn run(args: RunArgs) -> Result<i32, CliError> {
    let plan = load_and_plan(&args.check)?;
    let forks = forks(&args.parallel, plan.workflow.forks);
    let display = DisplayConfig::detect();
    let report = execute_with_progress(&plan, forks, &display, &args.parallel)?;
    print!("{}", render_summary(&report, &display));
    let mut code = exit_code::for_totals(&report.totals);
    if let Some(path) = &args.report_json {
        code = code.max(write_report(&report, path));
    }
    Ok(code)
}

pub(super) fn forks(parallel: &Parallel, workflow: Option<usize>) -> usize {
    parallel
        .forks
        .map(|f| f as usize)
        .or(workflow)
        .unwrap_or(DEFAULT_FORKS)
}

/// Runs the plan on a fresh runtime with the live progress display.
pub(super) fn execute_with_progress(
    plan: &Plan,
    forks: usize,
    display: &DisplayConfig,
    parallel: &Parallel,
) -> Result<RunReport, CliError> {
    let ssh_config = crate::ssh::SshConfigFile::load(parallel.ssh_config.as_deref())?;
    for warning in ssh_config.iter().flat_map(|c| &c.warnings) {
        eprintln!("warning: {warning}");
    }
    let ssh_config = ssh_config.map(std::sync::Arc::new);
    warn_insecure(plan, ssh_config.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let options = ExecuteOptions {
        forks,
        output_cap: DEFAULT_OUTPUT_CAP,
        ssh_config,
    };
    let mut progress = Progress::new(display);
    let report = runtime.block_on(execute(plan, &options, |e| progress.on_event(e)));
    progress.finish();
    Ok(report)
}

/// `host-key-checking "off"` (or `StrictHostKeyChecking no`) makes fleet
/// trust whoever answers; say so loudly, once, naming every such host.
fn warn_insecure(plan: &Plan, ssh_config: Option<&crate::ssh::SshConfigFile>) {
    let insecure: Vec<&str> = plan
        .hosts
        .iter()
        .filter(|h| {
            crate::ssh::target_for(&h.host, ssh_config).is_ok_and(|t| {
                t.host_key_checking == crate::model::HostKeyChecking::Off
                    || t.jump
                        .iter()
                        .any(|j| j.host_key_checking == crate::model::HostKeyChecking::Off)
            })
        })
        .map(|h| h.host.name.as_str())
        .collect();
    if !insecure.is_empty() {
        eprintln!(
            "WARNING: host key checking is OFF for {} host(s): {}. Their identity is not \
             verified: anyone on the network path can impersonate them and read what fleet \
             sends. Use \"strict\" or \"accept-new\".",
            insecure.len(),
            insecure.join(", ")
        );
    }
}

/// Writes the JSON report; a failure is reported but never hides the
/// results already printed.
fn write_report(report: &RunReport, path: &Path) -> i32 {
    match write_json(report, path) {
        Ok(()) => exit_code::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::INCOMPLETE
        }
    }
}
