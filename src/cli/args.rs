//! clap definitions. Kept free of I/O so `--help` and completions can be
//! generated from them alone.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::plan::SetVar;

const EXIT_CODES: &str = "\
Exit codes:
  0  every host reached, every step passed
  1  some rule failed (all hosts reached, all steps ran)
  2  usage, workflow or inventory error; nothing was run
  3  a host was unreachable or not run, a step errored or timed out, or the
     JSON report could not be written (wins over 1)
  130  interrupted (Ctrl-C or SIGTERM); the partial report was written";

#[derive(Debug, Parser)]
#[command(
    name = "fleet",
    version,
    about = "Run maintenance checklists over SSH across a fleet of hosts",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a workflow on the inventory's hosts and report what failed.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Load and validate a workflow and inventory, render every template;
    /// never connects.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// List the hosts an inventory (and --limit) selects.
    Hosts(HostsArgs),
    /// Run one ad-hoc command everywhere; hosts with identical output are
    /// shown together.
    #[command(after_help = EXIT_CODES)]
    Exec(ExecArgs),
    /// Connect and authenticate to every host, verifying host keys.
    #[command(after_help = EXIT_CODES)]
    Ping(PingArgs),
}

#[derive(Debug, Args)]
pub struct Target {
    /// Inventory name (inventory/NAME.kdl) or path to a .kdl file.
    #[arg(short, long, value_name = "NAME|PATH")]
    pub inventory: String,
    /// Host selection: names, globs (`web*`), `group:NAME`, `!EXCLUDED`;
    /// comma-separated, repeatable.
    #[arg(short, long, value_name = "PATTERNS")]
    pub limit: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Parallel {
    /// Maximum hosts in flight (default: the workflow's `forks`, else 32).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Workflow name (workflows/NAME.kdl) or path to a .kdl file.
    #[arg(value_name = "WORKFLOW")]
    pub workflow: String,
    #[command(flatten)]
    pub target: Target,
    /// Set a variable (highest precedence); VALUE is JSON if it parses,
    /// else a string. Repeatable.
    #[arg(short, long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<SetVar>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub parallel: Parallel,
    /// Also write the full run as JSON (schema: docs/report-json.md).
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,
    #[command(flatten)]
    pub safety: Safety,
}

/// Guards for destructive work and for stopping early.
#[derive(Debug, Args)]
pub struct Safety {
    /// Show the plan (hosts × rendered commands, batches) and exit without
    /// connecting.
    #[arg(long)]
    pub dry_run: bool,
    /// Run a destructive workflow without asking to type the inventory
    /// name (for automation; required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Stop at the first failed host: start no new host or step; the rest
    /// are reported SKIPPED (exit code 3).
    #[arg(long)]
    pub fail_fast: bool,
}

#[derive(Debug, Args)]
pub struct HostsArgs {
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The command, run by the remote user's shell.
    #[arg(value_name = "COMMAND")]
    pub command: String,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub parallel: Parallel,
    /// Per-host command timeout.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub parallel: Parallel,
}
