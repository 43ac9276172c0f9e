use std::path::PathBuf;

use super::parts::Part;
use super::*;
use crate::model::fixture::mixed_run;
use crate::model::report::{HostStatus, RunReport, StepStatus, Totals};
use crate::model::shard::{SelectedHost, Shard, ShardPart};

/// A run without fleet checks (judging them needs the workflow file).
fn one_run() -> RunReport {
    let mut run = mixed_run();
    run.fleet_checks.clear();
    run.totals = Totals::count(&run.hosts, &run.local, &run.fleet_checks);
    run
}

/// `run` as `count` shards would have reported it.
fn split(run: &RunReport, count: u32) -> Vec<Part> {
    let selected: Vec<SelectedHost> = run
        .hosts
        .iter()
        .map(|h| SelectedHost {
            name: h.name.clone(),
            address: h.address.clone(),
            port: h.port,
            user: h.user.clone(),
            groups: vec!["all".into()],
            refused: h.status == HostStatus::Refused,
        })
        .collect();
    (1..=count)
        .map(|index| {
            let shard = Shard { index, count };
            let mut report = run.clone();
            report.hosts.retain(|h| shard.holds(&h.name));
            report.totals = Totals::count(&report.hosts, &report.local, &report.fleet_checks);
            Part {
                path: PathBuf::from(format!("part-{index}.json")),
                report,
                part: Box::new(ShardPart {
                    index,
                    count,
                    run_id: "run-1".into(),
                    workflow_sha256: "w".into(),
                    inventory_sha256: "i".into(),
                    selected: selected.clone(),
                    globals: Default::default(),
                }),
                digest: format!("digest-{index}"),
            }
        })
        .collect()
}

fn json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).expect("reports serialize")
}

#[test]
fn merged_shards_are_the_single_run() {
    let run = one_run();
    let parts = split(&run, 3);
    assert!(
        parts.iter().all(|p| !p.report.hosts.is_empty()),
        "the fixture's hosts should spread over 3 shards"
    );
    let merged = merge(parts.clone(), &MergeOptions::default()).expect("merges");
    let names = |r: &RunReport| -> Vec<(String, HostStatus)> {
        r.hosts.iter().map(|h| (h.name.clone(), h.status)).collect()
    };
    assert_eq!(names(&merged), names(&run));
    assert_eq!(merged.totals, run.totals);
    assert_eq!(merged.local.len(), run.local.len());
    let steps = |r: &RunReport| -> Vec<StepStatus> {
        r.hosts
            .iter()
            .flat_map(|h| h.steps.iter().map(|s| s.status))
            .collect()
    };
    assert_eq!(steps(&merged), steps(&run));
    assert_eq!(
        crate::model::exit_code::for_report(&merged),
        crate::model::exit_code::for_report(&run)
    );

    // Order-independent and idempotent.
    let mut reversed = parts.clone();
    reversed.reverse();
    let again = merge(reversed, &MergeOptions::default()).expect("merges");
    assert_eq!(json(&again), json(&merged));
    // The same part twice (same content) is one part.
    let mut doubled = parts.clone();
    doubled.push(parts[1].clone());
    assert_eq!(
        json(&merge(doubled, &MergeOptions::default()).expect("merges")),
        json(&merged)
    );
}

#[test]
fn a_missing_shard_is_named_and_refused_unless_allowed() {
    let run = one_run();
    let mut parts = split(&run, 3);
    let gone = parts.remove(1);
    let e = merge(parts.clone(), &MergeOptions::default()).unwrap_err();
    assert!(e.to_string().contains("missing shard 2/3"), "{e}");
    let merged = merge(
        parts,
        &MergeOptions {
            allow_missing: true,
            workflow: None,
        },
    )
    .expect("merges with --allow-missing");
    assert_eq!(merged.hosts.len(), run.hosts.len());
    for name in gone.report.hosts.iter().map(|h| &h.name) {
        let host = merged.hosts.iter().find(|h| &h.name == name).expect("kept");
        assert_eq!(host.status, HostStatus::Skipped);
        assert!(
            host.not_run
                .as_deref()
                .is_some_and(|r| r.contains("shard 2/3 is missing")),
            "{host:?}"
        );
    }
    assert!(merged.stopped.is_some());
    assert_eq!(
        crate::model::exit_code::for_report(&merged),
        crate::model::exit_code::INCOMPLETE
    );
}

#[test]
fn parts_of_different_runs_are_refused_naming_both_files() {
    let mut parts = split(&one_run(), 2);
    parts[1].part.run_id = "run-2".into();
    let e = merge(parts, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("run id") && e.contains("part-1.json") && e.contains("part-2.json"),
        "{e}"
    );

    let mut parts = split(&one_run(), 2);
    parts[0].part.inventory_sha256 = "other".into();
    let e = merge(parts, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("inventory's SHA-256"), "{e}");
}

#[test]
fn a_shard_twice_with_different_results_is_refused() {
    let mut parts = split(&one_run(), 2);
    let mut other = parts[0].clone();
    other.digest = "changed".into();
    other.path = "again.json".into();
    parts.push(other);
    let e = merge(parts, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("shard 1/2 given twice"), "{e}");
}

#[test]
fn a_part_holding_another_shards_host_is_refused() {
    let mut parts = split(&one_run(), 2);
    let stray = parts[1].report.hosts[0].clone();
    parts[0].report.hosts.push(stray.clone());
    let e = merge(parts, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&stray.name) && e.contains("part-1.json"), "{e}");
}

#[test]
fn differing_local_results_are_flagged_and_the_lowest_shown() {
    let mut parts = split(&one_run(), 2);
    let first = parts[0].report.local[0].status;
    parts[1].report.local[0].status = StepStatus::Error;
    let merged = merge(parts, &MergeOptions::default()).expect("merges");
    assert_eq!(merged.local[0].status, first);
    assert!(
        merged
            .warnings
            .iter()
            .any(|w| w.contains("local steps of shard 2/2 differ")),
        "{:?}",
        merged.warnings
    );
}
