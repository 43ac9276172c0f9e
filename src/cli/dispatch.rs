//! Dispatch: loads, plans, executes and reports for each subcommand.
//! Errors are printed here, once, and mapped to exit codes.

use std::path::PathBuf;

use clap::Parser;

use super::adhoc;
use super::args::{CheckArgs, Cli, Command, Parallel, RunArgs};
use super::history;
use super::resolve::{NotFound, resolve};
use crate::execute::{DEFAULT_OUTPUT_CAP, ExecuteOptions, execute};
use crate::exit_code;
use crate::limit::LimitError;
use crate::load::{LoadErrors, load_inventory, load_workflow};
use crate::model::{Inventory, Workflow};
use crate::plan::{Plan, PlanError, SetVar, plan};
use crate::report::{
    DisplayConfig, Format, Progress, Redactor, ReportTarget, render_summary, write_report,
};
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
    History(#[from] crate::history::HistoryError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
    #[error(transparent)]
    SshConfig(#[from] crate::ssh::SshConfigError),
    #[error(transparent)]
    Confirm(#[from] super::confirm::ConfirmError),
    #[error(transparent)]
    Shard(#[from] crate::shard::ShardError),
    #[error(transparent)]
    Merge(#[from] crate::merge::MergeError),
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
        CliError::Load(errors) | CliError::Merge(crate::merge::MergeError::Load(errors)) => {
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
        Command::History(args) => history::history(args),
        Command::Diff(args) => history::diff_runs(args),
        Command::Report(args) => history::report(args),
        Command::Completions(args) => Ok(history::completions(&args)),
        Command::Man => history::man(),
    }
}

pub(super) fn load_inventory_arg(arg: &str) -> Result<Inventory, CliError> {
    Ok(load_inventory(&resolve("inventory", "inventory", arg)?)?)
}

/// Loads both files, reporting the errors of both together, then plans;
/// also returns the workflow and inventory paths (history hashes their
/// content) and the run's secrets.
fn load_and_plan_paths(args: &CheckArgs) -> Result<(Plan, PathBuf, PathBuf, Redactor), CliError> {
    let secret_sets = secret_sets(&args.set_secret)?;
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
    let mut names = workflow.secret_vars.clone();
    names.extend(inventory.secret_vars.iter().cloned());
    names.extend(secret_sets.iter().map(|s| s.name.clone()));
    let mut set = args.set.clone();
    set.extend(secret_sets);
    let plan = plan(workflow, &inventory, &args.target.limit, &set)?;
    let values = plan
        .hosts
        .iter()
        .map(|h| &h.vars)
        .chain([&plan.globals])
        .flat_map(|vars| {
            names
                .iter()
                .filter_map(|n| vars.get(n).map(|v| (n.as_str(), Redactor::value_text(v))))
        })
        .chain(crate::ssh::env_secret_values());
    let redactor = Redactor::for_secrets(values.collect::<Vec<_>>())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok((plan, workflow_path, inventory_path, redactor))
}

/// `--set-secret NAME`: the value comes from `FLEET_SECRET_NAME`, never
/// from the command line, where any user could read it with `ps`.
fn secret_sets(names: &[String]) -> Result<Vec<SetVar>, CliError> {
    names
        .iter()
        .map(|name| {
            let var = format!("FLEET_SECRET_{name}");
            let value = std::env::var(&var).map_err(|_| {
                CliError::Usage(format!(
                    "--set-secret {name}: environment variable {var} is not set"
                ))
            })?;
            format!("{name}=\"\"")
                .parse::<SetVar>()
                .map(|mut s| {
                    s.value = serde_json::Value::String(value);
                    s
                })
                .map_err(CliError::Usage)
        })
        .collect()
}

/// Validates, then shows every command as it will run (rendered and
/// shell-quoted for each host, secrets masked): what quoting did to a
/// value is visible before anything connects.
fn check(args: CheckArgs) -> Result<i32, CliError> {
    let (plan, _, _, redactor) = load_and_plan_paths(&args)?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "ok: workflow `{}` ({} steps) is valid for {} hosts of inventory `{}`",
        plan.workflow.name,
        plan.workflow.steps.len(),
        plan.hosts.len(),
        plan.inventory_name
    );
    let mut shown = super::confirm::render_plan(&plan);
    redactor.text(&mut shown);
    print!("{shown}");
    Ok(exit_code::OK)
}

fn run(args: RunArgs) -> Result<i32, CliError> {
    let (mut plan, workflow_path, inventory_path, redactor) = load_and_plan_paths(&args.check)?;
    if let Some(rerun) = args.rerun {
        let since = history::restrict_to_rerun(&mut plan, rerun, &args.state)?;
        if plan.hosts.is_empty() && plan.refused.is_empty() {
            println!("nothing to rerun: no host matched --rerun in run {since}");
            return Ok(exit_code::OK);
        }
    }
    let targets = report_targets(&args);
    let shard = super::shard::select(&args.shard, &mut plan, &targets, args.safety.dry_run)?;
    if let Some(shard) = &shard {
        eprintln!("{}", shard.describe(&plan));
    }
    // The plan shows rendered commands: secrets are masked there too.
    let mut shown = super::confirm::render_plan(&plan);
    redactor.text(&mut shown);
    if args.safety.dry_run {
        print!("{shown}");
        return Ok(exit_code::OK);
    }
    // Destructive workflows and protected hosts: typed confirmation or --yes.
    let consent = super::confirm::Consent::detect(args.safety.yes, true);
    super::confirm::confirm(&plan, &shown, consent, &mut std::io::stdin().lock())?;
    let forks = forks(&args.parallel, plan.workflow.forks);
    let display = DisplayConfig::detect();
    let mut report = execute_redacted(
        &plan,
        forks,
        &display,
        &args.parallel,
        &redactor,
        args.safety.fail_fast,
        shard.as_ref().map(super::shard::ShardRun::deferred),
    )?;
    print!("{}", render_summary(&report, &display));
    match shard {
        // A shard is not a run: the merge keeps the merged run.
        Some(shard) => shard.attach(
            &mut report,
            &plan,
            &workflow_path,
            &inventory_path,
            &redactor,
        ),
        None => print!(
            "{}",
            history::record_run(
                &report,
                &workflow_path,
                &inventory_path,
                &args.state,
                &display
            )
        ),
    }
    let mut code = exit_code::for_report(&report);
    code = code.max(write_reports(&report, &targets));
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
    execute_redacted(
        plan,
        forks,
        display,
        parallel,
        &Redactor::default(),
        false,
        None,
    )
}

/// [`execute_with_progress`], masking secret values in what the display
/// shows and in the report, before anything else sees them.
pub(super) fn execute_redacted(
    plan: &Plan,
    forks: usize,
    display: &DisplayConfig,
    parallel: &Parallel,
    redactor: &Redactor,
    fail_fast: bool,
    defer_fleet_checks: Option<String>,
) -> Result<RunReport, CliError> {
    let ssh_config = crate::ssh::SshConfigFile::load(parallel.ssh_config.as_deref())?;
    for warning in ssh_config.iter().flat_map(|c| &c.warnings) {
        eprintln!("warning: {warning}");
    }
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let ssh_config = ssh_config.map(std::sync::Arc::new);
    warn_insecure(plan, ssh_config.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    // Ctrl-C and SIGTERM fire the executor's interrupt (a second one exits).
    let (handle, interrupt) = crate::cancel::stop_pair();
    let mut options = ExecuteOptions::new(forks, DEFAULT_OUTPUT_CAP);
    options.ssh_config = ssh_config;
    options.fail_fast = fail_fast;
    options.interrupt = interrupt;
    options.defer_fleet_checks = defer_fleet_checks;
    let mut progress = Progress::new(display);
    let mut report = runtime.block_on(async {
        tokio::spawn(super::signals::forward(handle));
        execute(plan, &options, |e| {
            if redactor.is_empty() {
                progress.on_event(e)
            } else {
                progress.on_event(&redactor.event(e))
            }
        })
        .await
    });
    progress.finish();
    redactor.report(&mut report);
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

/// `--report` targets plus the `--report-json` alias.
pub(super) fn report_targets(args: &RunArgs) -> Vec<ReportTarget> {
    let mut targets = args.reports.clone();
    if let Some(path) = &args.report_json {
        targets.push(ReportTarget {
            format: Format::Json,
            path: path.clone(),
        });
    }
    targets
}

/// Writes every requested report; a failure is reported but never hides
/// the results already printed, nor stops the other reports.
pub(super) fn write_reports(report: &RunReport, targets: &[ReportTarget]) -> i32 {
    let mut code = exit_code::OK;
    for t in targets {
        if let Err(e) = write_report(report, t.format, &t.path) {
            eprintln!("error: {e}");
            code = exit_code::INCOMPLETE;
        }
    }
    code
}
