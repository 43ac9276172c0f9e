//! clap definitions. Kept free of I/O so `--help` and completions can be
//! generated from them alone.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::plan::SetVar;
use crate::report::{Format, ReportTarget};

const EXIT_CODES: &str = "\
Exit codes:
  0  every host reached, every step passed
  1  some rule failed (all hosts reached, all steps ran)
  2  usage, workflow or inventory error; nothing was run
  3  a host was unreachable or not run, a step errored or timed out, or the
     JSON report could not be written (wins over 1)
  130  interrupted (Ctrl-C or SIGTERM); the partial report was written
With `run --nagios`: 0 OK, 1 WARNING, 2 CRITICAL (failed or unreachable),
  3 UNKNOWN (usage or configuration error, interrupted)";

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
    /// List stored runs, newest last; `history prune` removes old ones.
    History(HistoryArgs),
    /// Compare two stored runs: new failures, fixed, still failing, and
    /// exported numbers that changed.
    Diff(DiffArgs),
    /// Render a stored run again as JSON, JUnit, Markdown, HTML,
    /// Prometheus or TAP.
    Report(ReportArgs),
    /// Print a shell completion script (e.g. `fleet completions bash >
    /// /etc/bash_completion.d/fleet`).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, e.g. `fleet man | man -l -`.
    Man,
}

/// Where run history lives.
#[derive(Debug, Args)]
pub struct StateDir {
    /// Run history directory [default: $XDG_STATE_HOME/fleet, else
    /// ~/.local/state/fleet].
    #[arg(long, env = "FLEET_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Which hosts of the previous run `--rerun` targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rerun {
    /// Hosts that FAILED (a step failed, errored or timed out).
    Failed,
    /// Hosts that were UNREACHABLE.
    Unreachable,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
    /// Only runs of this workflow (its name, as shown in the list).
    #[arg(short, long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Only runs on this inventory (its name).
    #[arg(short, long, value_name = "NAME")]
    pub inventory: Option<String>,
    /// Show at most the newest N runs.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 20)]
    pub last: usize,
    /// Show an exported number over the stored runs, per host: a sparkline,
    /// min, max and the last values (runs of the newest run's workflow and
    /// inventory, or of -w/-i).
    #[arg(long, value_name = "NAME")]
    pub trend: Option<String>,
    /// With --trend: only hosts matching this name or glob (`ps-prod-*`).
    #[arg(long, value_name = "HOST", requires = "trend")]
    pub host: Option<String>,
    /// With --trend: text (terminal), json or csv (one row per run and host).
    #[arg(long, value_enum, default_value_t = TrendFormat::Text, requires = "trend")]
    pub format: TrendFormat,
    #[command(flatten)]
    pub state: StateDir,
}

/// How `fleet history --trend` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrendFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Remove stored runs: beyond the newest N of each workflow/inventory
    /// pair, or older than a duration (either limit removes a run). After
    /// every run fleet keeps the newest 100 of its pair.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("limit").required(true).multiple(true)))]
pub struct PruneArgs {
    /// Keep the newest N runs of each workflow/inventory pair.
    #[arg(long, value_name = "N", group = "limit")]
    pub keep: Option<usize>,
    /// Remove runs that started more than this long ago (`30d`, `12h`).
    #[arg(long, value_name = "DURATION", group = "limit", value_parser = humantime::parse_duration)]
    pub older_than: Option<std::time::Duration>,
    /// Only runs of this workflow.
    #[arg(short, long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Only runs on this inventory.
    #[arg(short, long, value_name = "NAME")]
    pub inventory: Option<String>,
    #[command(flatten)]
    pub state: StateDir,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Runs to compare, older first: ids, unique id prefixes or `last`.
    /// None: the last two runs of the newest run's workflow and inventory
    /// (or of --workflow/--inventory). One: that run and the one before it.
    #[arg(value_name = "RUN", num_args = 0..=2)]
    pub runs: Vec<String>,
    #[arg(short, long, value_name = "NAME")]
    pub workflow: Option<String>,
    #[arg(short, long, value_name = "NAME")]
    pub inventory: Option<String>,
    #[command(flatten)]
    pub state: StateDir,
}

/// `fleet run --shard`: this worker's part of a run split across an
/// engine's workers (docs/scale-out.md).
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Run only the hosts of shard I of N (1-based; a fixed hash of the
    /// host name decides), or `auto` from the engine's environment
    /// (JOB_COMPLETION_INDEX with FLEET_SHARD_COUNT, CI_NODE_INDEX with
    /// CI_NODE_TOTAL, SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT).
    /// Writes a partial report for `fleet report merge`; needs
    /// --report json=PATH.
    #[arg(long, value_name = "I/N|auto", conflicts_with = "rerun")]
    pub shard: Option<crate::plan::shard::ShardArg>,
    /// The id every shard of this run shares [default: SLURM_ARRAY_JOB_ID,
    /// CI_PIPELINE_ID or GITHUB_RUN_ID].
    #[arg(long, env = "FLEET_RUN_ID", value_name = "ID")]
    pub run_id: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub action: Option<ReportAction>,
    /// Run id, unique id prefix, or `last`.
    #[arg(value_name = "RUN", required = true)]
    pub run: Option<String>,
    #[arg(long, value_enum, required = true)]
    pub format: Option<FormatArg>,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateDir,
}

#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Merge the partial reports of a sharded run (`fleet run --shard`)
    /// into the report, summary and exit code one run would have given.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Partial JSON reports, one per shard, in any order.
    #[arg(value_name = "PART", required = true)]
    pub parts: Vec<PathBuf>,
    /// Write the merged run as a report file: FORMAT is json, junit, md or
    /// html. Repeatable.
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<ReportTarget>,
    /// Keep the merged run in history (and show what changed since the
    /// previous run).
    #[arg(long)]
    pub history: bool,
    /// Merge even when shards are missing: their hosts are reported
    /// SKIPPED and the fleet checks are not judged (exit code 3).
    #[arg(long)]
    pub allow_missing: bool,
    /// The workflow file the shards ran, when it is not at the path they
    /// recorded (its fleet checks are judged here).
    #[arg(long, value_name = "PATH")]
    pub workflow: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateDir,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct Target {
    /// Inventory name (inventory/NAME.kdl, .ini, .yml, .yaml) or path to a
    /// fleet (.kdl) or Ansible (INI or YAML) inventory file.
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
    /// OpenSSH client config to read instead of ~/.ssh/config; inventory
    /// settings override it.
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
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
    /// Set a secret variable NAME from the environment variable
    /// FLEET_SECRET_NAME (never from argv, which `ps` shows). Its value is
    /// masked as ******** in all output, reports and history. Repeatable.
    #[arg(long = "set-secret", value_name = "NAME")]
    pub set_secret: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub parallel: Parallel,
    /// Also write the full run as JSON (schema: docs/report-json.md);
    /// same as `--report json=PATH`.
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,
    /// Write the run as a report file: FORMAT is json, junit, md, html,
    /// prometheus or tap.
    /// Repeatable; written atomically, also when the run is interrupted.
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<ReportTarget>,
    /// Run only on the hosts that failed / were unreachable in the last
    /// stored run of this workflow and inventory.
    #[arg(long, value_enum, value_name = "failed|unreachable")]
    pub rerun: Option<Rerun>,
    /// Waivers file (KDL, docs/waivers.md): accepted failures with a reason
    /// and an expiry date; a covered failure is reported WAIVED and does
    /// not fail the run.
    #[arg(long, value_name = "PATH")]
    pub waivers: Option<PathBuf>,
    /// Act as a Nagios plugin: print one status line with perfdata (and
    /// the problems below it) instead of the summary, and exit 0 OK,
    /// 1 WARNING, 2 CRITICAL (failed or unreachable), 3 UNKNOWN (usage or
    /// configuration error).
    #[arg(long)]
    pub nagios: bool,
    #[command(flatten)]
    pub shard: ShardArgs,
    #[command(flatten)]
    pub state: StateDir,
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
    /// Run a destructive workflow, or any workflow on protected hosts,
    /// without asking to type the inventory name (for automation; required
    /// then when stdin is not a terminal).
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
    /// Run without typing the inventory name where it is asked (protected
    /// hosts, or more than 5 hosts without --limit); required then when
    /// stdin is not a terminal.
    #[arg(long)]
    pub yes: bool,
    /// Per-host command timeout (at most 7 days).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = crate::load::parse_duration_arg)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub parallel: Parallel,
}

/// `--format`: the report formats as clap sees them. The report layer
/// knows its formats' names; only the command line knows clap.
#[derive(Debug, Clone, Copy)]
pub struct FormatArg(pub Format);

impl clap::ValueEnum for FormatArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [FormatArg; Format::ALL.len()] = {
            let f = Format::ALL;
            [
                FormatArg(f[0]),
                FormatArg(f[1]),
                FormatArg(f[2]),
                FormatArg(f[3]),
                FormatArg(f[4]),
                FormatArg(f[5]),
            ]
        };
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(
            clap::builder::PossibleValue::new(self.0.name())
                .aliases(self.0.aliases().iter().copied()),
        )
    }
}
