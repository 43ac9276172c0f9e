//! Building the merged report: hosts in the order one run reports them,
//! the controller's `local` steps once (from the lowest shard), totals,
//! and the fleet checks judged over every host with the code a single run
//! uses. The result depends only on the set of parts, never on their
//! order, so merging again gives the same report.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use minijinja::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::parts::{Checked, MergeError, Part, check, describe_missing};
use crate::judge::{Evaluator, Scope};
use crate::model::report::{HostReport, HostStatus, RunReport, Totals};
use crate::model::shard::{SelectedHost, Shard, shard_of};

#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// Report the hosts of missing shards SKIPPED instead of refusing.
    pub allow_missing: bool,
    /// The workflow file, when it is not at the path the shards recorded
    /// (fleet checks are judged with it; its SHA-256 must match).
    pub workflow: Option<PathBuf>,
}

/// Merges the partial reports of one sharded run into the report one run
/// would have written.
pub fn merge(parts: Vec<Part>, options: &MergeOptions) -> Result<RunReport, MergeError> {
    let Checked { parts, missing } = check(parts)?;
    let lowest = &parts[0];
    let selected = &lowest.shard().selected;
    let count = lowest.shard().count;
    let missing_hosts = selected
        .iter()
        .filter(|h| missing.iter().any(|s| s.holds(&h.name)))
        .count();
    if !missing.is_empty() && !options.allow_missing {
        return Err(MergeError::Missing {
            missing,
            hosts: missing_hosts,
        });
    }

    let mut warnings = lowest.report.warnings.clone();
    warnings.extend(local_differences(&parts));
    let mut stops: Vec<String> = parts
        .iter()
        .filter_map(|p| {
            p.report
                .stopped
                .as_ref()
                .map(|why| format!("shard {}: {why}", p.shard().shard()))
        })
        .collect();
    if !missing.is_empty() {
        stops.push(format!(
            "{} missing from the merge (--allow-missing)",
            describe_missing(&missing)
        ));
    }
    let stopped = (!stops.is_empty()).then(|| stops.join("; "));
    let hosts = merged_hosts(&parts, selected, count);
    let (started_at, duration) = span(&parts);
    let globals = lowest.shard().globals.clone();
    let fleet_checks = judge(
        &parts,
        options,
        stopped.as_deref(),
        selected,
        &globals,
        &hosts,
    )?;

    let lowest = &parts[0].report;
    let local = lowest.local.clone();
    Ok(RunReport {
        schema_version: lowest.schema_version,
        fleet_version: lowest.fleet_version.clone(),
        workflow: lowest.workflow.clone(),
        workflow_path: lowest.workflow_path.clone(),
        inventory: lowest.inventory.clone(),
        inventory_path: lowest.inventory_path.clone(),
        started_at,
        duration,
        interrupted: parts.iter().any(|p| p.report.interrupted),
        stopped,
        totals: Totals::count(&hosts, &local, &fleet_checks),
        warnings,
        local_exports: lowest.local_exports.clone(),
        local,
        hosts,
        fleet_checks,
        shard: None,
    })
}

/// Every selected host, in one run's order (planned hosts, then refused),
/// from the part of its shard; a host of a missing shard is SKIPPED.
fn merged_hosts(parts: &[Part], selected: &[SelectedHost], count: u32) -> Vec<HostReport> {
    let mut by_name: HashMap<&str, &HostReport> = parts
        .iter()
        .flat_map(|p| &p.report.hosts)
        .map(|h| (h.name.as_str(), h))
        .collect();
    selected
        .iter()
        .map(|h| match by_name.remove(h.name.as_str()) {
            Some(report) => report.clone(),
            None => missing_host(h, count),
        })
        .collect()
}

fn missing_host(host: &SelectedHost, count: u32) -> HostReport {
    let shard = Shard {
        index: shard_of(&host.name, count),
        count,
    };
    let mut report = HostReport::empty(
        host.name.clone(),
        host.address.clone(),
        host.port,
        host.user.clone(),
        host.groups.clone(),
        HostStatus::Skipped,
    );
    report.not_run = Some(format!(
        "shard {shard} is missing from the merge (--allow-missing)"
    ));
    report
}

/// The run started when its first shard did and lasted until its last
/// shard ended.
fn span(parts: &[Part]) -> (String, Duration) {
    let times: Vec<(OffsetDateTime, &str, Duration)> = parts
        .iter()
        .filter_map(|p| {
            let start = OffsetDateTime::parse(&p.report.started_at, &Rfc3339).ok()?;
            Some((start, p.report.started_at.as_str(), p.report.duration))
        })
        .collect();
    let Some(&(first, first_text, _)) = times.iter().min_by_key(|(t, _, _)| *t) else {
        let lowest = &parts[0].report;
        return (lowest.started_at.clone(), lowest.duration);
    };
    let end = times.iter().map(|(t, _, d)| *t + *d).max().unwrap_or(first);
    let duration = Duration::try_from(end - first).unwrap_or_default();
    (first_text.to_string(), duration)
}

/// A shard's `local` steps ran on its own controller: the merged report
/// shows the lowest shard's; any shard whose statuses or exports differ
/// is flagged.
fn local_differences(parts: &[Part]) -> Vec<String> {
    let statuses = |r: &RunReport| -> Vec<(String, &'static str)> {
        r.local
            .iter()
            .map(|s| (s.name.clone(), s.status.as_str()))
            .collect()
    };
    let (lowest, rest) = (&parts[0], &parts[1..]);
    let shown = statuses(&lowest.report);
    rest.iter()
        .filter(|p| {
            statuses(&p.report) != shown || p.report.local_exports != lowest.report.local_exports
        })
        .map(|p| {
            let theirs: Vec<String> = statuses(&p.report)
                .iter()
                .map(|(n, s)| format!("{n} {s}"))
                .collect();
            let ours: Vec<String> = shown.iter().map(|(n, s)| format!("{n} {s}")).collect();
            format!(
                "local steps of shard {} differ from shard {}'s, shown here: {} vs {}{}",
                p.shard().shard(),
                lowest.shard().shard(),
                or_none(&theirs),
                or_none(&ours),
                if p.report.local_exports == lowest.report.local_exports {
                    ""
                } else {
                    " (their exports differ too)"
                }
            )
        })
        .collect()
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Fleet checks over every host, as one run judges them; SKIPPED like a
/// stopped run's when a shard stopped early or is missing. The workflow
/// (for the checks' rules) is loaded only when there are checks.
fn judge(
    parts: &[Part],
    options: &MergeOptions,
    stopped: Option<&str>,
    selected: &[SelectedHost],
    globals: &BTreeMap<String, serde_json::Value>,
    hosts: &[HostReport],
) -> Result<Vec<crate::model::report::FleetCheckReport>, MergeError> {
    let lowest = &parts[0];
    if lowest.report.fleet_checks.is_empty() {
        return Ok(Vec::new());
    }
    let path = options
        .workflow
        .clone()
        .unwrap_or_else(|| PathBuf::from(&lowest.report.workflow_path));
    let hash = crate::history::content_hash(&path);
    let expected = &lowest.shard().workflow_sha256;
    if &hash != expected {
        let detail = if hash == "unknown" {
            " cannot be read; pass --workflow PATH".to_string()
        } else {
            format!(
                " has SHA-256 {hash}, the shards ran {expected}; pass --workflow with the file they ran"
            )
        };
        return Err(MergeError::Workflow { path, detail });
    }
    let workflow = crate::load::load_workflow(&path)?;
    if let Some(why) = stopped {
        return Ok(crate::judge::fleet_checks::skipped(&workflow, why));
    }
    let groups: BTreeMap<&str, &Vec<String>> = selected
        .iter()
        .map(|h| (h.name.as_str(), &h.groups))
        .collect();
    let scope: Scope = globals
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
        .collect();
    Ok(crate::judge::fleet_checks::evaluate(
        &Evaluator::default(),
        &workflow,
        &groups,
        &scope,
        hosts,
    ))
}
