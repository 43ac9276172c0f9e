//! The invariant the language is built for, over every shipped workflow:
//! a step reported PASSED or WARNED ran to completion with an exit status
//! the step accepts. The hosts are plain harness sshd servers, where the
//! tools the workflows call (`s1`, `docker`, `bosh`, `quickstart`…) are
//! missing, so their commands fail as they would on a host fleet has
//! never seen: those steps must be FAILED (or SKIPPED), never PASSED.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::{Outcome, fleet};
use crate::harness::Hosts;

/// The harness inventory with its three hosts in `prod`, `dr` and `bosh`
/// (and no `certs` group: `daily` must warn and run on the rest).
fn inventory(hosts: &Hosts) -> String {
    let base = hosts.inventory_kdl();
    let (defaults, group) = base
        .split_once("group all-hosts {")
        .unwrap_or_else(|| panic!("harness inventory changed shape:\n{base}"));
    let host_lines: Vec<&str> = group
        .lines()
        .filter(|l| l.trim_start().starts_with("host "))
        .collect();
    let mut text = defaults.to_string();
    for (group, line) in ["prod", "dr", "bosh"].iter().zip(&host_lines) {
        text.push_str(&format!("group {group} {{\n{line}\n}}\n"));
    }
    text
}

/// Accepted exit statuses of each step (host steps and `local` steps), by
/// name, as the workflow declares them.
fn accepted(path: &Path) -> BTreeMap<String, Vec<u32>> {
    let workflow = ::fleet::load::load_workflow(path)
        .unwrap_or_else(|e| panic!("{} does not load: {e:?}", path.display()));
    workflow
        .steps
        .iter()
        .chain(&workflow.local)
        .map(|s| (s.name.clone(), s.accepted_exit_statuses().to_vec()))
        .collect()
}

fn check_report(workflow: &Path, out: &Outcome) -> usize {
    let accepted = accepted(workflow);
    let report = out.json();
    let mut steps: Vec<(&str, &serde_json::Value)> = report["local"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| ("controller", s))
        .collect();
    for host in report["hosts"].as_array().into_iter().flatten() {
        let name = host["name"].as_str().unwrap_or_default();
        steps.extend(
            host["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| (name, s)),
        );
    }
    let mut failed_for_exit = 0;
    for (host, step) in steps {
        let name = step["name"].as_str().unwrap_or_default();
        let status = step["status"].as_str().unwrap_or_default();
        let exit = step["exit_status"]
            .as_u64()
            .and_then(|c| u32::try_from(c).ok());
        let ok = accepted
            .get(name)
            .is_some_and(|codes| exit.is_some_and(|c| codes.contains(&c)));
        assert!(
            !matches!(status, "PASSED" | "WARNED") || ok,
            "{}: step `{name}` on {host} is {status} with exit status {exit:?} (accepted: {:?})\n{step:#}",
            workflow.display(),
            accepted.get(name)
        );
        if status == "FAILED"
            && step["failures"][0]["seen"]
                .as_str()
                .is_some_and(|s| s.starts_with("exit "))
        {
            failed_for_exit += 1;
        }
    }
    failed_for_exit
}

#[test]
fn no_shipped_step_passes_without_an_accepted_exit_status() {
    let hosts = Hosts::start(3);
    let inv = hosts.write_file("inventory.kdl", &inventory(&hosts));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let mut workflows: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "kdl"))
        .collect();
    workflows.sort();
    assert!(workflows.len() >= 4, "{workflows:?}");
    let mut exit_failures = 0;
    for (n, workflow) in workflows.iter().enumerate() {
        let reports = hosts.dir().join(format!("report-{n}"));
        std::fs::create_dir_all(&reports).unwrap_or_else(|e| panic!("{e}"));
        let out = fleet(&[
            "run",
            &workflow.display().to_string(),
            "--inventory",
            &inv.display().to_string(),
            "--yes",
        ])
        .json_in(&reports)
        .run();
        assert!(
            out.json.is_some(),
            "{}: no report (exit {})\n{}\n{}",
            workflow.display(),
            out.code,
            out.stdout,
            out.stderr
        );
        exit_failures += check_report(workflow, &out);
    }
    // The tools are missing here: the invariant was really exercised.
    assert!(exit_failures > 0, "no step failed for its exit status");
}
