//! The binary's entry: parses arguments, hands each subcommand to its
//! module, and prints errors here, once, mapped to exit codes. `check` and
//! `run` themselves live here: load both files, plan, confirm, run, report.

use std::path::PathBuf;

use clap::Parser;

use super::args::{CheckArgs, Cli, Command, RunArgs};
use super::error::{CliError, print_error};
use super::execution::{execute_redacted, forks, write_reports};
use super::resolve::{resolve, resolve_in};
use super::search_path::workflow_dirs;
use super::{adhoc, generate, history};
use crate::load::{load_inventory, load_workflow};
use crate::model::exit_code;
use crate::model::{Inventory, Workflow};
use crate::plan::{Plan, SetVar, plan};
use crate::report::{Format, Redactor, ReportTarget, render_summary};

/// The binary's whole life: parse arguments, run, return the exit code.
pub fn main() -> i32 {
    let nagios = super::nagios::requested();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if nagios && e.use_stderr() => return super::nagios::unknown(&e.to_string()),
        Err(e) => e.exit(),
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) if nagios => {
            eprintln!("error: {e}");
            super::nagios::unknown(&e.to_string())
        }
        Err(e) => {
            print_error(e);
            exit_code::CONFIG_ERROR
        }
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
        Command::Completions(args) => Ok(generate::completions(&args)),
        Command::Man => generate::man(),
    }
}

pub(super) fn load_inventory_arg(arg: &str) -> Result<Inventory, CliError> {
    Ok(load_inventory(&resolve("inventory", "inventory", arg)?)?)
}

/// What loading hands the run besides the plan.
struct Loaded {
    /// The workflow and inventory paths (history hashes their content).
    workflow_path: PathBuf,
    inventory_path: PathBuf,
    redactor: Redactor,
    /// The inventory's `waivers` block.
    waivers: Vec<crate::model::Waiver>,
}

/// Loads both files, reporting the errors of both together, then plans;
/// also returns the paths, the run's secrets and the inventory's waivers.
fn load_and_plan_paths(args: &CheckArgs) -> Result<(Plan, Loaded), CliError> {
    let secret_sets = secret_sets(&args.set_secret)?;
    let workflow_path = resolve_in("workflow", &workflow_dirs(), &args.workflow)?;
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
    Ok((
        plan,
        Loaded {
            workflow_path,
            inventory_path,
            redactor,
            waivers: inventory.waivers,
        },
    ))
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
    let (plan, Loaded { redactor, .. }) = load_and_plan_paths(&args)?;
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
    let mut shown = crate::report::render_plan(&plan);
    redactor.text(&mut shown);
    print!("{shown}");
    Ok(exit_code::OK)
}

fn run(args: RunArgs) -> Result<i32, CliError> {
    let file_waivers = match &args.waivers {
        Some(path) => crate::load::load_waivers(path)?,
        None => Vec::new(),
    };
    let (mut plan, loaded) = load_and_plan_paths(&args.check)?;
    let Loaded {
        workflow_path,
        inventory_path,
        redactor,
        mut waivers,
    } = loaded;
    waivers.extend(file_waivers);
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
    let mut shown = crate::report::render_plan(&plan);
    redactor.text(&mut shown);
    if args.safety.dry_run {
        print!("{shown}");
        return Ok(exit_code::OK);
    }
    // Destructive workflows and protected hosts: typed confirmation or --yes.
    let consent = super::confirm::Consent::detect(args.safety.yes, true);
    super::confirm::confirm(&plan, &shown, consent, &mut std::io::stdin().lock())?;
    let forks = forks(&args.parallel, plan.workflow.forks);
    let display = super::terminal::display_config();
    let mut report = execute_redacted(
        &plan,
        forks,
        &display,
        &args.parallel,
        &redactor,
        args.safety.fail_fast,
        shard.as_ref().map(super::shard::ShardRun::deferred),
    )?;
    crate::judge::waivers::apply(&mut report, &waivers);
    if !args.nagios {
        print!("{}", render_summary(&report, &display));
    }
    let changes = match shard {
        // A shard is not a run: the merge keeps the merged run. Its
        // totals count the deferred fleet checks as skipped: say why.
        Some(shard) => {
            let note = format!("{}\n", shard.deferred_note(&report));
            shard.attach(
                &mut report,
                &plan,
                &workflow_path,
                &inventory_path,
                &redactor,
            );
            note
        }
        None => history::record_run(
            &report,
            &workflow_path,
            &inventory_path,
            &args.state,
            &display,
        ),
    };
    let trends = if targets.iter().any(|t| t.format == Format::Html) {
        history::trends_for_run(&report, &args.state)
    } else {
        Vec::new()
    };
    let written = write_reports(&report, &targets, &trends);
    if args.nagios {
        return Ok(super::nagios::finish(&report, written));
    }
    print!("{changes}");
    Ok(exit_code::for_report(&report).max(written))
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
