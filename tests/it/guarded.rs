//! Destructive workflows, `--dry-run`, rolling batches and `--fail-fast`.

use std::path::Path;

use crate::cli::{assert_no_connection, fleet, silent_listener};
use crate::harness::Fleet;

fn path(p: &Path) -> String {
    p.display().to_string()
}

const DESTRUCTIVE: &str = r#"
workflow stop-things {
    destructive
    vars { services "worker scanner" }
    step stop {
        run "echo stop {{ services }} on {{ host.name }}"
    }
    step check {
        run "echo checking"
        export stopped "stdout | trim"
    }
    step report {
        run "echo {{ stopped }}"
    }
}
"#;

fn offline(workflow: &str) -> (tempfile::TempDir, String, String, std::net::TcpListener) {
    let (listener, port) = silent_listener();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("offline.kdl");
    std::fs::write(
        &inv,
        format!("group dr {{\n    host dr-1 address=\"127.0.0.1\" port={port}\n}}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = dir.path().join("wf.kdl");
    std::fs::write(&wf, workflow).unwrap_or_else(|e| panic!("{e}"));
    (dir, path(&wf), path(&inv), listener)
}

#[test]
fn destructive_workflow_without_a_terminal_needs_yes_and_connects_nowhere() {
    let (_dir, wf, inv, listener) = offline(DESTRUCTIVE);
    let out = fleet(&["run", &wf, "--inventory", &inv]).run();
    out.expect_code(2);
    assert!(out.stderr.contains("destructive"), "{}", out.stderr);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_no_connection(&listener);
}

#[test]
fn a_destructive_step_alone_guards_the_workflow() {
    let wf = DESTRUCTIVE
        .replace("    destructive\n", "")
        .replace("run \"echo stop", "destructive\n        run \"echo stop");
    let (_dir, wf, inv, listener) = offline(&wf);
    let out = fleet(&["run", &wf, "--inventory", &inv]).run();
    out.expect_code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_no_connection(&listener);
}

#[test]
fn dry_run_shows_rendered_commands_and_never_connects() {
    let (_dir, wf, inv, listener) = offline(DESTRUCTIVE);
    let out = fleet(&["run", &wf, "--inventory", &inv, "--dry-run"]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("DESTRUCTIVE"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("stop: echo stop 'worker scanner' on dr-1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("uses stopped exported by earlier steps"),
        "{}",
        out.stdout
    );
    assert_no_connection(&listener);
}

#[test]
fn destructive_workflow_with_yes_runs_and_shows_its_plan() {
    let hosts = Fleet::start(1);
    let wf = hosts.write_file("stop.kdl", DESTRUCTIVE);
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&["run", &path(&wf), "--inventory", &path(&inv), "--yes"])
        .json_in(hosts.dir())
        .run();
    out.expect_code(0);
    assert!(
        out.stderr.contains("echo stop 'worker scanner' on host-1"),
        "{}",
        out.stderr
    );
    assert_eq!(out.step("host-1", "report")["stdout"]["text"], "checking\n");
}

fn rollout(hosts: &Fleet, settings: &str) -> std::path::PathBuf {
    let dir = path(hosts.dir());
    hosts.write_file(
        "rollout.kdl",
        &format!(
            r#"
workflow rollout {{
    {settings}
    step state {{
        run "cat {dir}/state-{{{{ host.name }}}} 2>/dev/null || echo healthy"
        expect stdout not-contains="broken"
    }}
}}
"#
        ),
    )
}

#[test]
fn failed_canary_stops_the_rollout_before_the_next_batch() {
    let hosts = Fleet::start(4);
    hosts.write_file("state-host-1", "broken\n");
    let wf = rollout(&hosts, "serial 1 \"50%\"");
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&["run", &path(&wf), "--inventory", &path(&inv)])
        .json_in(hosts.dir())
        .run();
    out.expect_code(3);
    assert_eq!(out.host("host-1")["status"], "FAILED");
    for later in ["host-2", "host-3", "host-4"] {
        let h = out.host(later);
        assert_eq!(h["status"], "SKIPPED");
        let why = h["not_run"].as_str().unwrap_or_default();
        assert!(
            why.contains("before batch 2") && why.contains("max-failures 0"),
            "{why}"
        );
    }
    assert_eq!(out.json()["interrupted"], false);
    assert!(out.stdout.contains("STOPPED"), "{}", out.stdout);
}

#[test]
fn rollout_within_its_failure_budget_runs_every_batch() {
    let hosts = Fleet::start(4);
    hosts.write_file("state-host-2", "broken\n");
    let wf = rollout(&hosts, "serial 1 2\n    max-failures 1");
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&["run", &path(&wf), "--inventory", &path(&inv)])
        .json_in(hosts.dir())
        .run();
    out.expect_code(1);
    assert_eq!(out.host("host-2")["status"], "FAILED");
    for ok in ["host-1", "host-3", "host-4"] {
        assert_eq!(out.host(ok)["status"], "OK");
    }
    assert_eq!(out.json()["stopped"], serde_json::Value::Null);
}

#[test]
fn max_failures_without_serial_is_a_load_error() {
    let (_dir, wf, inv, _listener) =
        offline("workflow w {\n    max-failures 1\n    step s { run \"true\" }\n}\n");
    let out = fleet(&["check", &wf, "--inventory", &inv]).run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("`max-failures` needs `serial`"),
        "{}",
        out.stderr
    );
}

#[test]
fn fail_fast_stops_new_hosts_after_the_first_failure() {
    let hosts = Fleet::start(3);
    hosts.write_file("state-host-1", "broken\n");
    let wf = rollout(&hosts, "");
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&[
        "run",
        &path(&wf),
        "--inventory",
        &path(&inv),
        "--fail-fast",
        "--forks",
        "1",
    ])
    .json_in(hosts.dir())
    .run();
    out.expect_code(3);
    assert_eq!(out.host("host-1")["status"], "FAILED");
    for later in ["host-2", "host-3"] {
        let h = out.host(later);
        assert_eq!(h["status"], "SKIPPED");
        assert!(
            h["not_run"]
                .as_str()
                .is_some_and(|w| w.contains("--fail-fast")),
            "{h}"
        );
    }
}
