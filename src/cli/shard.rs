//! `fleet run --shard` and `fleet report merge` on the command line: which
//! shard this worker is, what its partial report carries, and the merged
//! run's summary, reports, history and exit code.

use std::path::Path;

use super::args::{MergeArgs, ShardArgs};
use super::error::CliError;
use super::execution::write_reports;
use crate::merge::{MergeOptions, merge as merge_parts, read_part};
use crate::model::exit_code;
use crate::model::report::RunReport;
use crate::model::shard::{SelectedHost, Shard, ShardPart};
use crate::plan::Plan;
use crate::plan::shard::ShardArg;
use crate::report::{Format, Redactor, ReportTarget, render_summary};

/// This worker's shard of a sharded run.
pub(super) struct ShardRun {
    shard: Shard,
    run_id: String,
    /// The whole run's selection, before this shard kept its own hosts.
    selected: Vec<SelectedHost>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `--shard`: refuses what sharding cannot keep safe, resolves the shard
/// and run id, and keeps the plan's hosts of this shard. A dry run only
/// shows the shard's plan: it needs neither a run id nor a report.
pub(super) fn select(
    args: &ShardArgs,
    plan: &mut Plan,
    targets: &[ReportTarget],
    dry_run: bool,
) -> Result<Option<ShardRun>, CliError> {
    let Some(arg) = args.shard else {
        return Ok(None);
    };
    if let Some(why) = crate::plan::shard::refusal(&plan.workflow) {
        return Err(CliError::Usage(why));
    }
    let shard = match arg {
        ShardArg::Fixed(shard) => shard,
        ShardArg::Auto => crate::plan::shard::from_env(env)?,
    };
    let run_id = match crate::plan::shard::run_id(args.run_id.as_deref(), env) {
        Err(_) if dry_run => "(dry run)".to_string(),
        id => id?,
    };
    if !dry_run && !targets.iter().any(|t| t.format == Format::Json) {
        return Err(CliError::Usage(
            "--shard writes a partial report for `fleet report merge`: add --report json=PATH"
                .into(),
        ));
    }
    let selected = crate::plan::shard::restrict(plan, shard);
    Ok(Some(ShardRun {
        shard,
        run_id,
        selected,
    }))
}

impl ShardRun {
    /// One line for stderr before the run: which hosts this shard has.
    pub(super) fn describe(&self, plan: &Plan) -> String {
        let mine = plan.hosts.len() + plan.refused.len();
        let all = self.selected.len();
        if mine == 0 {
            format!(
                "shard {} of run {}: none of the {all} selected hosts falls in this shard; \
                 only the controller's `local` steps run",
                self.shard, self.run_id
            )
        } else {
            format!(
                "shard {} of run {}: {mine} of {all} selected hosts; fleet checks are judged by `fleet report merge`",
                self.shard, self.run_id
            )
        }
    }

    /// Why the shard's fleet checks are SKIPPED.
    pub(super) fn deferred(&self) -> String {
        format!(
            "judged by `fleet report merge` over every shard's hosts (this is shard {})",
            self.shard
        )
    }

    /// Said after the shard's summary: its verdict is not the run's.
    pub(super) fn deferred_note(&self, report: &RunReport) -> String {
        match report.fleet_checks.len() {
            0 => format!(
                "shard {}: the run's verdict comes from `fleet report merge` of every shard",
                self.shard
            ),
            checks => format!(
                "shard {}: {checks} fleet check(s) not judged here; `fleet report merge` judges them over every shard's hosts",
                self.shard
            ),
        }
    }

    /// Turns the shard's report into a partial report.
    pub(super) fn attach(
        self,
        report: &mut RunReport,
        plan: &Plan,
        workflow_path: &Path,
        inventory_path: &Path,
        redactor: &Redactor,
    ) {
        let mut globals = plan.globals.clone();
        globals.extend(report.local_exports.clone());
        globals.values_mut().for_each(|v| redactor.json(v));
        report.shard = Some(Box::new(ShardPart {
            index: self.shard.index,
            count: self.shard.count,
            run_id: self.run_id,
            workflow_sha256: crate::history::content_hash(workflow_path),
            inventory_sha256: crate::history::content_hash(inventory_path),
            selected: self.selected,
            globals,
        }));
    }
}

/// `fleet report merge`.
pub(super) fn merge(args: MergeArgs) -> Result<i32, CliError> {
    let parts = args
        .parts
        .iter()
        .map(|p| read_part(p))
        .collect::<Result<Vec<_>, _>>()?;
    let given = parts.len();
    let hashes = parts.first().map(|p| p.hashes()).unwrap_or_default();
    let options = MergeOptions {
        allow_missing: args.allow_missing,
        workflow: args.workflow.clone(),
    };
    let report = merge_parts(parts, &options)?;
    eprintln!(
        "merged {given} partial report(s) of workflow `{}` on `{}`: {} hosts",
        report.workflow,
        report.inventory,
        report.hosts.len()
    );
    let display = super::terminal::display_config();
    print!("{}", render_summary(&report, &display));
    if args.history {
        print!(
            "{}",
            super::history::record_run_hashed(&report, hashes, &args.state, &display)
        );
    }
    // HTML charts the exported numbers of the stored runs, as after a run.
    let trends = if args.reports.iter().any(|t| t.format == Format::Html) {
        super::history::trends_for_run(&report, &args.state)
    } else {
        Vec::new()
    };
    let code = exit_code::for_report(&report).max(write_reports(&report, &args.reports, &trends));
    Ok(code)
}
