//! The history commands (`history`, `diff`, `report`), the pieces of
//! `run` that read and write history (`--rerun`, "changes since last
//! run").

use std::io::Write;
use std::path::Path;

use super::args::{DiffArgs, HistoryAction, HistoryArgs, PruneArgs, ReportArgs, Rerun, StateDir};
use super::error::CliError;
use crate::history::{DEFAULT_KEEP, Retention, RunMeta, Store, Trend, content_hash, diff};
use crate::model::exit_code;
use crate::model::report::{HostStatus, RunReport};
use crate::plan::Plan;
use crate::report::{
    DisplayConfig, Format, render, render_changes, render_diff, to_html_with_trends,
    write_html_with_trends, write_report,
};

pub(super) fn store(state: &StateDir) -> Result<Store, CliError> {
    Ok(Store::locate(state.state_dir.as_deref())?)
}

/// `--rerun`: keeps only the planned hosts that failed (or were
/// unreachable) in the last stored run of this workflow and inventory.
pub(super) fn restrict_to_rerun(
    plan: &mut Plan,
    rerun: Rerun,
    state: &StateDir,
) -> Result<String, CliError> {
    let store = store(state)?;
    let (workflow, inventory) = (&plan.workflow.name, &plan.inventory_name);
    let meta = store.last_of(workflow, inventory)?.ok_or_else(|| {
        CliError::Usage(format!(
            "--rerun: no stored run of workflow `{workflow}` on inventory `{inventory}`"
        ))
    })?;
    let last = store.report(&meta)?;
    let wanted = match rerun {
        Rerun::Failed => HostStatus::Failed,
        Rerun::Unreachable => HostStatus::Unreachable,
    };
    let names: Vec<&str> = last
        .hosts
        .iter()
        .filter(|h| h.status == wanted)
        .map(|h| h.name.as_str())
        .collect();
    plan.hosts.retain(|h| names.contains(&h.host.name.as_str()));
    plan.refused
        .retain(|r| names.contains(&r.host.name.as_str()));
    Ok(meta.id)
}

/// After a run: the "changes since last run" block, then the run is
/// stored. History trouble is reported on stderr but never changes the
/// exit code: the run itself happened and its results stand.
pub(super) fn record_run(
    report: &RunReport,
    workflow_path: &Path,
    inventory_path: &Path,
    state: &StateDir,
    display: &DisplayConfig,
) -> String {
    let hashes = (content_hash(workflow_path), content_hash(inventory_path));
    record_run_hashed(report, hashes, state, display)
}

/// [`record_run`] given the files' SHA-256 (a merged run has the hashes
/// its shards recorded, not necessarily the files).
pub(super) fn record_run_hashed(
    report: &RunReport,
    (workflow_sha256, inventory_sha256): (String, String),
    state: &StateDir,
    display: &DisplayConfig,
) -> String {
    let store = match store(state) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: run not kept in history: {e}");
            return String::new();
        }
    };
    let previous = store
        .last_of(&report.workflow, &report.inventory)
        .and_then(|m| m.map(|m| store.report(&m).map(|r| (m, r))).transpose());
    let changes = match previous {
        Ok(Some((meta, before))) => render_changes(
            Some(&diff(&before, report)),
            &format!("{} ({})", meta.id, short_time(&meta.started_at)),
            display,
        ),
        Ok(None) => render_changes(None, "", display),
        Err(e) => {
            eprintln!("warning: cannot compare with the previous run: {e}");
            String::new()
        }
    };
    let meta = RunMeta::new(report, workflow_sha256, inventory_sha256);
    if let Err(e) = store.save(&meta, report) {
        eprintln!("warning: run not kept in history: {e}");
    }
    // Default retention: the newest DEFAULT_KEEP runs of this pair.
    let retention = Retention {
        keep: Some(DEFAULT_KEEP),
        older_than: None,
    };
    let pair = |m: &RunMeta| m.same_pair(&report.workflow, &report.inventory);
    if let Err(e) = store.prune(retention, pair, std::time::SystemTime::now()) {
        eprintln!("warning: old runs not removed from history: {e}");
    }
    changes
}

/// `fleet history prune`.
fn prune(args: PruneArgs) -> Result<i32, CliError> {
    let store = store(&args.state)?;
    let retention = Retention {
        keep: args.keep,
        older_than: args.older_than,
    };
    let selected = |m: &RunMeta| {
        args.workflow.as_ref().is_none_or(|w| &m.workflow == w)
            && args.inventory.as_ref().is_none_or(|i| &m.inventory == i)
    };
    let removed = store.prune(retention, selected, std::time::SystemTime::now())?;
    for m in &removed {
        println!("removed {}  {} on {}", m.id, m.workflow, m.inventory);
    }
    let left = store.list()?.len();
    eprintln!("{} runs removed, {left} kept", removed.len());
    Ok(exit_code::OK)
}

pub(super) fn history(args: HistoryArgs) -> Result<i32, CliError> {
    if let Some(HistoryAction::Prune(prune_args)) = args.action {
        return prune(prune_args);
    }
    if let Some(name) = &args.trend {
        return super::trend::show(&args, &store(&args.state)?, name);
    }
    let metas: Vec<RunMeta> = store(&args.state)?
        .list()?
        .into_iter()
        .filter(|m| args.workflow.as_ref().is_none_or(|w| &m.workflow == w))
        .filter(|m| args.inventory.as_ref().is_none_or(|i| &m.inventory == i))
        .collect();
    let skip = metas.len().saturating_sub(args.last);
    let rows: Vec<[String; 7]> = metas
        .iter()
        .skip(skip)
        .map(|m| {
            let t = &m.totals;
            [
                m.id.clone(),
                m.started_at
                    .chars()
                    .take(19)
                    .collect::<String>()
                    .replace('T', " "),
                m.workflow.clone(),
                m.inventory.clone(),
                m.verdict.clone(),
                format!(
                    "{} hosts: {} ok, {} warned, {} failed, {} unreachable",
                    t.hosts, t.hosts_ok, t.hosts_warned, t.hosts_failed, t.hosts_unreachable
                ),
                m.user.clone(),
            ]
        })
        .collect();
    let header = [
        "ID",
        "STARTED (UTC)",
        "WORKFLOW",
        "INVENTORY",
        "VERDICT",
        "COUNTS",
        "USER",
    ];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (c, w) in cells.iter().zip(widths) {
            l.push_str(&format!("{c:w$}  "));
        }
        println!("{}", l.trim_end());
    };
    if rows.is_empty() {
        eprintln!("no stored runs");
        return Ok(exit_code::OK);
    }
    line(header.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    Ok(exit_code::OK)
}

pub(super) fn diff_runs(args: DiffArgs) -> Result<i32, CliError> {
    let store = store(&args.state)?;
    let (before, after) = match args.runs.as_slice() {
        [a, b] => (store.find(a)?, store.find(b)?),
        [b] => {
            let after = store.find(b)?;
            let before = previous_of(&store, &after)?;
            (before, after)
        }
        _ => {
            let all = store.list()?;
            let newest = all
                .iter()
                .rev()
                .find(|m| {
                    args.workflow.as_ref().is_none_or(|w| &m.workflow == w)
                        && args.inventory.as_ref().is_none_or(|i| &m.inventory == i)
                })
                .cloned()
                .ok_or_else(|| CliError::Usage("no stored run to compare".into()))?;
            let before = previous_of(&store, &newest)?;
            (before, newest)
        }
    };
    let d = diff(&store.report(&before)?, &store.report(&after)?);
    print!(
        "{}",
        render_diff(
            &d,
            &format!("{} ({})", before.id, short_time(&before.started_at)),
            &format!("{} ({})", after.id, short_time(&after.started_at)),
            &super::terminal::display_config(),
        )
    );
    Ok(if d.new_failures.is_empty() {
        exit_code::OK
    } else {
        exit_code::CHECKS_FAILED
    })
}

/// The run of the same pair stored just before `meta`.
fn previous_of(store: &Store, meta: &RunMeta) -> Result<RunMeta, CliError> {
    store
        .list()?
        .into_iter()
        .rev()
        .find(|m| m.id < meta.id && m.same_pair(&meta.workflow, &meta.inventory))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no stored run of `{}` on `{}` before {}",
                meta.workflow, meta.inventory, meta.id
            ))
        })
}

pub(super) fn report(args: ReportArgs) -> Result<i32, CliError> {
    let (run, format) = match (args.action, args.run, args.format) {
        (Some(super::args::ReportAction::Merge(merge)), _, _) => return super::shard::merge(merge),
        (None, Some(run), Some(format)) => (run, format),
        _ => {
            return Err(CliError::Usage(
                "fleet report needs RUN and --format".into(),
            ));
        }
    };
    let store = store(&args.state)?;
    let meta = store.find(&run)?;
    let run = store.report(&meta)?;
    // HTML charts the exported numbers up to this run.
    let trends = match format.0 {
        Format::Html => trends_until(Ok(store), &run, Some(&meta.id)),
        _ => Vec::new(),
    };
    match &args.output {
        Some(path) => write_report_with_trends(&run, format.0, path, &trends)?,
        None => {
            let text = match format.0 {
                Format::Html => to_html_with_trends(&run, &trends),
                format => render(&run, format)?,
            };
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
    Ok(exit_code::OK)
}

/// The numeric exports of `run`'s workflow and inventory over the stored
/// runs up to `until` (default: all, the just-recorded run included).
pub(super) fn trends_until(
    store: Result<Store, CliError>,
    run: &RunReport,
    until: Option<&str>,
) -> Vec<Trend> {
    super::trend::html_trends(store, &run.workflow, &run.inventory, until)
}

/// For `fleet run --report html=…`: trends over the history just written.
pub(super) fn trends_for_run(run: &RunReport, state: &StateDir) -> Vec<Trend> {
    trends_until(store(state), run, None)
}

/// [`write_report`], except HTML, which gets its trends section.
pub(super) fn write_report_with_trends(
    run: &RunReport,
    format: Format,
    path: &Path,
    trends: &[Trend],
) -> Result<(), crate::report::ReportError> {
    match format {
        Format::Html => write_html_with_trends(run, trends, path),
        _ => write_report(run, format, path),
    }
}

/// `2026-11-23T15:06:45.523303401Z` → `2026-11-23T15:06:45Z`: seconds are
/// enough to tell runs apart on a screen.
fn short_time(rfc3339: &str) -> String {
    match rfc3339.get(..19) {
        Some(head) => format!("{head}Z"),
        None => rfc3339.to_string(),
    }
}
