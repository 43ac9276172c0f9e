//! The scale-out proof on a real engine: a single-node Slurm cluster
//! (`scripts/slurm-cluster`) runs the weekly workflow on the compose fleet
//! as a 4-task job array plus a dependent merge job
//! (`examples/slurm/submit.sh`), and the merged report has exactly the
//! hosts, step statuses, broken rules and fleet-check results of a single
//! run. Read-only on the compose fleet; in the `compose-fleet` test group
//! (.config/nextest.toml) so no fault-injecting test runs meanwhile.
//! Skipped visibly (`SKIPPED-CHECK`, tests/it/tools.rs) only outside CI,
//! where Slurm cannot start or no Docker engine serves the compose fleet;
//! on CI either fails the test.

use std::path::Path;
use std::process::Command;

use crate::cli::fleet;
use crate::shard::{read, verdicts};
use crate::tools::skip_check;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn weekly_as_a_slurm_job_array_merges_into_the_single_run() {
    let docker = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    let check = "weekly as a Slurm job array merges into the single run";
    if !docker {
        skip_check(
            check,
            "no Docker engine answers: no compose fleet to run weekly on",
        );
        return;
    }
    let started = Command::new(root().join("scripts/slurm-cluster"))
        .arg("start")
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/slurm-cluster: {e}"));
    if !started.status.success() {
        let why = format!(
            "scripts/slurm-cluster start failed\n{}\n{}",
            String::from_utf8_lossy(&started.stdout),
            String::from_utf8_lossy(&started.stderr)
        );
        skip_check(check, &format!("Slurm cannot start on this machine: {why}"));
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("slurm-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap_or_else(|e| panic!("{e}"));
    let state = dir.path().join("state");
    let single = fleet(&["run", "weekly", "--inventory", "compose"])
        .arg("--report")
        .arg(format!("json={}", dir.path().join("single.json").display()))
        .state_in(&state)
        .run();
    let one = read(&dir.path().join("single.json"));

    let parts = dir.path().join("parts");
    let merged = Command::new(root().join("examples/slurm/submit.sh"))
        .arg(&parts)
        .current_dir(root())
        .env("SLURM_CONF", root().join(".fleet-slurm/slurm.conf"))
        .env("FLEET", env!("CARGO_BIN_EXE_fleet"))
        .env("FLEET_STATE_DIR", &state)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run examples/slurm/submit.sh: {e}"));
    let stdout = String::from_utf8_lossy(&merged.stdout);
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert_eq!(
        merged.status.code(),
        Some(single.code),
        "the merge job's exit code is the single run's\n{stdout}\n{stderr}"
    );
    for i in 0..4 {
        let part = read(&parts.join(format!("part-{i}.json")));
        assert_eq!(part["shard"]["index"], i + 1);
        assert_eq!(part["shard"]["count"], 4);
        assert!(
            part["shard"]["run_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("slurm-")),
            "{}",
            part["shard"]
        );
    }
    let all = read(&parts.join("merged.json"));
    assert_eq!(all["hosts"].as_array().map(Vec::len), Some(6), "{stdout}");
    assert_eq!(verdicts(&all, false), verdicts(&one, false), "{stdout}");
    assert!(stdout.contains("merged 4 partial report(s)"), "{stdout}");
    // --history kept the merged run next to the single one.
    let history = fleet(&["history"]).state_in(&state).run();
    assert_eq!(
        history.stdout.matches("weekly").count(),
        2,
        "{}",
        history.stdout
    );
}
