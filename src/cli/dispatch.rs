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
    Confirm(#[from] super::confirm::ConfirmError),
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
    if args.safety.dry_run {
        print!("{}", super::confirm::render_plan(&plan));
        return Ok(exit_code::OK);
    }
    if plan.workflow.is_destructive() {
        if args.safety.yes {
            eprint!("{}", super::confirm::render_plan(&plan));
        } else {
            super::confirm::confirm(&plan)?;
        }
    }
    let forks = forks(&args.parallel, plan.workflow.forks);
    let display = DisplayConfig::detect();
    let report = execute_interruptible(&plan, forks, args.safety.fail_fast, &display)?;
    print!("{}", render_summary(&report, &display));
    let mut code = exit_code::for_report(&report);
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
) -> Result<RunReport, CliError> {
    execute_interruptible(plan, forks, false, display)
}

/// Like [`execute_with_progress`], with `--fail-fast` and Ctrl-C/SIGTERM
/// wired to the executor's interrupt.
fn execute_interruptible(
    plan: &Plan,
    forks: usize,
    fail_fast: bool,
    display: &DisplayConfig,
) -> Result<RunReport, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let (handle, interrupt) = crate::cancel::stop_pair();
    let mut options = ExecuteOptions::new(forks, DEFAULT_OUTPUT_CAP);
    options.fail_fast = fail_fast;
    options.interrupt = interrupt;
    let mut progress = Progress::new(display);
    let report = runtime.block_on(async {
        tokio::spawn(super::signals::forward(handle));
        execute(plan, &options, |e| progress.on_event(e)).await
    });
    progress.finish();
    Ok(report)
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
