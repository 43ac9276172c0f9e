//! The shipped workflows end to end against the docker-compose fleet
//! (`scripts/compose-fleet`, `inventory/compose.kdl`): each flags exactly
//! the seeded problems on exactly the seeded hosts. Skipped, with a clear
//! message, only where no Docker engine answers.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::cli::{Outcome, fleet};

/// `cargo test` runs tests as threads of one process; nextest's
/// `compose-fleet` group serializes the processes.
static FLEET: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn docker_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `scripts/compose-fleet ARGS`, panicking with its output on failure.
fn compose_fleet(args: &[&str]) {
    let out = Command::new(root().join("scripts/compose-fleet"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/compose-fleet: {e}"));
    assert!(
        out.status.success(),
        "scripts/compose-fleet {args:?} failed\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn docker_compose(args: &[&str]) {
    let mut cmd = if Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok()
    {
        Command::new("docker-compose")
    } else {
        let mut c = Command::new("docker");
        c.arg("compose");
        c
    };
    let status = cmd
        .args(["-p", "fleet"])
        .args(args)
        .current_dir(root())
        .status()
        .unwrap_or_else(|e| panic!("cannot run docker compose: {e}"));
    assert!(status.success(), "docker compose {args:?} failed");
}

/// Holds the fleet for one test; `None` (test skipped) without Docker.
fn fleet_up(reset: bool) -> Option<std::sync::MutexGuard<'static, ()>> {
    if !docker_answers() {
        eprintln!(
            "SKIPPED: no Docker engine answers (`docker info` failed); the compose tests need one"
        );
        return None;
    }
    let guard = FLEET.lock().unwrap_or_else(|e| e.into_inner());
    compose_fleet(&[if reset { "reset" } else { "up" }]);
    Some(guard)
}

fn run(workflow: &str, extra: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut f = fleet(&["run", workflow, "--inventory", "compose"]);
    for a in extra {
        f = f.arg(a);
    }
    let out = f.json_in(dir.path()).run();
    assert!(
        out.json.is_some(),
        "no report\n{}\n{}",
        out.stdout,
        out.stderr
    );
    out
}

/// Every (host, step, message) that failed or warned, and the fleet
/// checks, from the JSON report.
fn problems(out: &Outcome) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let json = out.json();
    let steps = |host: &str, steps: &Value, found: &mut BTreeSet<String>| {
        for s in steps.as_array().into_iter().flatten() {
            let status = s["status"].as_str().unwrap_or_default();
            if matches!(status, "PASSED" | "SKIPPED") {
                continue;
            }
            let failures = s["failures"].as_array().cloned().unwrap_or_default();
            if failures.is_empty() {
                found.insert(format!(
                    "{host} {} {status}",
                    s["name"].as_str().unwrap_or_default()
                ));
            }
            for f in failures {
                found.insert(format!(
                    "{host} {} {}: {}",
                    s["name"].as_str().unwrap_or_default(),
                    f["severity"].as_str().unwrap_or_default(),
                    f["message"].as_str().unwrap_or_default()
                ));
            }
        }
    };
    steps("controller", &json["local"], &mut found);
    for h in json["hosts"].as_array().into_iter().flatten() {
        let name = h["name"].as_str().unwrap_or_default();
        match h["status"].as_str().unwrap_or_default() {
            "UNREACHABLE" | "REFUSED" => {
                found.insert(format!(
                    "{name} {}",
                    h["status"].as_str().unwrap_or_default()
                ));
            }
            _ => steps(name, &h["steps"], &mut found),
        }
    }
    for c in json["fleet_checks"].as_array().into_iter().flatten() {
        for f in c["failures"].as_array().into_iter().flatten() {
            found.insert(format!(
                "fleet {} {}: {}",
                c["name"].as_str().unwrap_or_default(),
                f["severity"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default()
            ));
        }
    }
    found
}

/// Asserts the problems found are exactly `expected` (substrings, one per
/// problem, matched in order of the sorted set).
fn assert_exactly(out: &Outcome, expected: &[&str]) {
    let found = problems(out);
    let unmatched: Vec<&String> = found
        .iter()
        .filter(|p| !expected.iter().any(|e| p.contains(e)))
        .collect();
    let missing: Vec<&&str> = expected
        .iter()
        .filter(|e| !found.iter().any(|p| p.contains(**e)))
        .collect();
    assert!(
        unmatched.is_empty() && missing.is_empty() && found.len() == expected.len(),
        "unexpected: {unmatched:#?}\nmissing: {missing:#?}\nall found: {found:#?}\n--- summary\n{}",
        out.stdout
    );
}

#[test]
fn weekly_flags_exactly_the_seeded_problems() {
    let Some(_fleet) = fleet_up(true) else { return };
    let out = run("weekly", &[]);
    out.expect_code(1);
    assert_exactly(
        &out,
        &[
            "ps-prod-2 protect-mode fail: WKS-FIN-07 is unprotected",
            "ps-prod-2 persistent-access fail: jsmith (user) has persistent access to WIN-APP03",
            "ps-prod-3 disk fail: /data is 85% full on ps-prod-3",
            "ps-prod-4 processes fail: secureone_scanner is at 0/1 on ps-prod-4",
            "ps-prod-4 mongo-members fail: mongo member mongo3:27017 has health 0",
            "ps-prod-4 mongo-members fail: mongo member mongo3:27017 is in state 8",
            "ps-prod-4 replication fail: mongo3:27017 is",
            "ps-prod-4 replication fail: mongo4:27017 is 300 secs behind",
            "ps-dr-2 restore fail: newest restored copy",
        ],
    );
    for h in ["ps-prod-1", "ps-dr-1"] {
        assert_eq!(out.host(h)["status"], "OK", "{h}\n{}", out.stdout);
    }
    let checks = &out.json()["fleet_checks"];
    assert_eq!(checks[0]["name"], "one-primary-per-replica-set");
    assert_eq!(checks[0]["status"], "PASSED");
    assert_eq!(out.host("ps-prod-1")["exports"]["mongo_state"], "PRIMARY");
    assert_eq!(out.host("ps-prod-3")["exports"]["disk_use"], 85);
}

#[test]
fn daily_flags_exactly_the_seeded_problems() {
    let Some(_fleet) = fleet_up(false) else {
        return;
    };
    let out = run("daily", &[]);
    out.expect_code(1);
    assert_exactly(
        &out,
        &[
            "controller console-logins fail: ConsoleLogin at 2026-11-22T23:47:05Z by Administrator",
            "controller infrastructure-events fail: AuthorizeSecurityGroupIngress at 2026-11-22T14:31:09Z by bob.smith",
            "controller alerts warn: 1 alert(s) firing: DiskWillFillIn4Hours",
            "bosh-1 stemcells fail: postfix-production runs stemcell 621.61, current is 621.64",
            "certs-1 certificates fail: /etc/ssl/fleet/certs/legacy-vpn.example.internal.pem expired",
            "certs-1 certificates warn: /etc/ssl/fleet/certs/api.prod.example.internal.pem expires in",
        ],
    );
    // A newer stemcell published: every deployment is outdated, once per
    // stemcell it uses (postfix-production uses two: 621.61 and 621.64).
    let out = run(
        "daily",
        &["--set", "stemcell_current=621.70", "--limit", "bosh-1"],
    );
    let outdated = problems(&out)
        .iter()
        .filter(|p| p.contains("current is 621.70"))
        .count();
    assert_eq!(outdated, 12, "{}", out.stdout);
}

#[test]
fn quarterly_flags_the_old_version_and_pending_security_updates() {
    let Some(_fleet) = fleet_up(false) else {
        return;
    };
    let out = run("quarterly", &[]);
    out.expect_code(1);
    assert_exactly(
        &out,
        &[
            "ps-dr-2 pending-updates fail: 4 security update(s) pending on ps-dr-2: openssl, libssl3, openssh-client, openssh-server",
            "fleet same-version fail: Privilege Secure versions differ",
        ],
    );
    assert_eq!(out.host("ps-dr-2")["exports"]["ps_version"], "4.1.3");
}

#[test]
fn dr_stop_services_stops_dr_and_refuses_production() {
    let Some(_fleet) = fleet_up(true) else { return };
    let running = |host: &str| {
        let out = Command::new(root().join("scripts/compose-fleet"))
            .args([
                "ssh",
                host,
                "pgrep -x s1-scanner >/dev/null && echo up || echo down",
            ])
            .current_dir(root())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(running("ps-dr-1"), "up", "seeded: scanner runs on ps-dr-1");
    // Destructive: without a terminal it needs --yes.
    let out = run(
        "dr-stop-services",
        &["--limit", "ps-prod-1,group:dr", "--yes"],
    );
    // The production host is refused and reported; the DR hosts are done.
    out.expect_code(3);
    assert_exactly(&out, &["ps-prod-1 REFUSED"]);
    let refused = out.host("ps-prod-1");
    assert!(
        refused["refused"]
            .as_str()
            .unwrap_or_default()
            .contains("group `prod`")
    );
    assert!(refused["steps"].as_array().is_some_and(|s| s.is_empty()));
    for h in ["ps-dr-1", "ps-dr-2"] {
        assert_eq!(
            out.step(h, "prove-down")["status"],
            "PASSED",
            "{}",
            out.stdout
        );
    }
    assert_eq!(running("ps-dr-1"), "down");
    assert_eq!(running("ps-prod-1"), "up", "production must be untouched");
    compose_fleet(&["reset"]);
}

/// A workflow that keeps every host busy long enough to break one mid-run;
/// its first step leaves a marker so the test strikes while it runs.
const SLOW: &str = r#"workflow slow {
    step first { run "touch /tmp/fleet-mid-run; sleep 6; echo one"; timeout "10s" }
    step second { run "echo two"; timeout "3s" }
}"#;

fn ssh(host: &str, command: &str) -> bool {
    Command::new(root().join("scripts/compose-fleet"))
        .args(["ssh", host, command])
        .current_dir(root())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts the slow workflow on the production hosts and returns once its
/// first step is running on `host`.
fn start_slow_run(host: &str) -> std::thread::JoinHandle<Outcome> {
    assert!(ssh(host, "rm -f /tmp/fleet-mid-run"), "cannot reach {host}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wf = dir.path().join("slow.kdl");
    std::fs::write(&wf, SLOW).unwrap_or_else(|e| panic!("{e}"));
    let handle = std::thread::spawn(move || {
        let out = run(&wf.display().to_string(), &["--limit", "group:prod"]);
        drop(dir);
        out
    });
    for _ in 0..100 {
        if ssh(host, "test -f /tmp/fleet-mid-run") {
            return handle;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the slow workflow never started on {host}");
}

#[test]
fn stopped_target_mid_run_costs_only_its_own_result() {
    let Some(_fleet) = fleet_up(false) else {
        return;
    };
    let handle = start_slow_run("ps-prod-2");
    docker_compose(&["stop", "-t", "0", "ps-prod-2"]);
    let out = handle
        .join()
        .unwrap_or_else(|_| panic!("fleet run panicked"));
    docker_compose(&["start", "ps-prod-2"]);
    compose_fleet(&["up"]);
    out.expect_code(3);
    let first = out.step("ps-prod-2", "first");
    assert_eq!(first["status"], "ERROR", "{}", out.stdout);
    assert!(first["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(out.step("ps-prod-2", "second")["status"], "SKIPPED");
    for h in ["ps-prod-1", "ps-prod-3", "ps-prod-4"] {
        assert_eq!(out.host(h)["status"], "OK", "{h}\n{}", out.stdout);
    }
}

#[test]
fn paused_target_times_out_and_the_run_completes_promptly() {
    let Some(_fleet) = fleet_up(false) else {
        return;
    };
    let handle = start_slow_run("ps-prod-2");
    docker_compose(&["pause", "ps-prod-2"]);
    let out = handle
        .join()
        .unwrap_or_else(|_| panic!("fleet run panicked"));
    docker_compose(&["unpause", "ps-prod-2"]);
    out.expect_code(3);
    assert_eq!(
        out.step("ps-prod-2", "first")["status"],
        "TIMEOUT",
        "{}",
        out.stdout
    );
    // The frozen host cost its step timeouts, not the length of the pause.
    assert_eq!(
        out.step("ps-prod-2", "second")["status"],
        "TIMEOUT",
        "{}",
        out.stdout
    );
    for h in ["ps-prod-1", "ps-prod-3", "ps-prod-4"] {
        assert_eq!(out.host(h)["status"], "OK", "{h}\n{}", out.stdout);
    }
}
