//! Destructive workflows, `--dry-run`, rolling batches and `--fail-fast`.

use std::path::Path;

use crate::cli::{assert_no_connection, fleet, silent_listener};
use crate::harness::Hosts;

fn path(p: &Path) -> String {
    p.display().to_string()
}

const DESTRUCTIVE: &str = r#"
workflow stop-things {
    destructive
    vars { services "worker" "scanner" }
    step stop {
        run "echo stop {{ services | join(' ') }} on {{ host.name }}"
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
            .contains("stop: echo stop worker scanner on dr-1"),
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
    let hosts = Hosts::start(1);
    let wf = hosts.write_file("stop.kdl", DESTRUCTIVE);
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&["run", &path(&wf), "--inventory", &path(&inv), "--yes"])
        .json_in(hosts.dir())
        .run();
    out.expect_code(0);
    assert!(
        out.stderr.contains("echo stop worker scanner on host-1"),
        "{}",
        out.stderr
    );
    assert_eq!(out.step("host-1", "report")["stdout"]["text"], "checking\n");
}

fn rollout(hosts: &Hosts, settings: &str) -> std::path::PathBuf {
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
    let hosts = Hosts::start(4);
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
    let hosts = Hosts::start(4);
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
    let hosts = Hosts::start(3);
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

/// Issue 12, attack 2: `prod_db` is a child of both `databases` and
/// `prod`, and `db1-dr` is a second name for db1's address and port. On
/// main the Ansible import kept only `prod_db`'s first parent and aliases
/// were not compared, so `forbid-groups "prod"` planned both and fleet
/// connected to the production database.
#[test]
fn forbid_groups_refuse_a_second_parent_and_an_alias_and_connect_to_neither() {
    let (listener, port) = silent_listener();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("site.ini");
    std::fs::write(
        &inv,
        format!(
            "[prod_db]\ndb1 ansible_host=127.0.0.1 ansible_port={port}\n\n\
             [dr]\ndb1-dr ansible_host=127.0.0.1 ansible_port={port}\n\n\
             [databases:children]\nprod_db\n\n[prod:children]\nprod_db\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = dir.path().join("stop.kdl");
    std::fs::write(
        &wf,
        "workflow stop {\n    destructive\n    forbid-groups \"prod\"\n    step s { run \"echo stopped\" }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = fleet(&[
        "run",
        &path(&wf),
        "--inventory",
        &path(&inv),
        "--limit",
        "db1,db1-dr",
        "--yes",
    ])
    .json_in(dir.path())
    .run();
    out.expect_code(3);
    assert_eq!(out.host("db1")["status"], "REFUSED");
    assert_eq!(out.host("db1-dr")["status"], "REFUSED");
    let why = out.host("db1-dr")["refused"].as_str().unwrap_or_default();
    assert!(
        why.contains(&format!("127.0.0.1:{port}")) && why.contains("`db1`"),
        "{why}"
    );
    assert_no_connection(&listener);
}

/// An inventory's `protect "prod"` guards every run on its hosts, not only
/// destructive ones: without a terminal and without --yes nothing connects
/// (on main a read-only workflow ran on them unasked).
#[test]
fn protected_hosts_need_yes_for_any_workflow() {
    let (listener, port) = silent_listener();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("site.kdl");
    std::fs::write(
        &inv,
        format!(
            "protect \"prod\"\ngroup prod {{\n    host db1 address=\"127.0.0.1\" port={port}\n}}\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = dir.path().join("uptime.kdl");
    std::fs::write(&wf, "workflow uptime {\n    step s { run \"uptime\" }\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = fleet(&["run", &path(&wf), "--inventory", &path(&inv)]).run();
    out.expect_code(2);
    assert!(out.stderr.contains("protected host"), "{}", out.stderr);
    assert!(
        out.stderr.contains("db1 (in group `prod`)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_no_connection(&listener);
    // A typo in `protect` would protect nothing: it is a load error.
    std::fs::write(&inv, "protect \"prdo\"\ngroup prod { host db1 }\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = fleet(&["check", &path(&wf), "--inventory", &path(&inv)]).run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("protected group `prdo` does not exist"),
        "{}",
        out.stderr
    );
}

#[test]
fn protected_hosts_run_with_yes() {
    let hosts = Hosts::start(1);
    let wf = hosts.write_file(
        "uptime.kdl",
        "workflow uptime {\n    step s { run \"echo up\" }\n}\n",
    );
    let inv = hosts.write_file(
        "protected.kdl",
        &format!("protect \"all-hosts\"\n{}", hosts.inventory_kdl()),
    );
    let out = fleet(&["run", &path(&wf), "--inventory", &path(&inv), "--yes"])
        .json_in(hosts.dir())
        .run();
    out.expect_code(0);
    assert!(out.stderr.contains("confirmed by --yes"), "{}", out.stderr);
    assert_eq!(out.step("host-1", "s")["stdout"]["text"], "up\n");
}

/// Runs fleet on a real terminal (util-linux `script` gives it a pty) and
/// types `answer` at the confirmation prompt.
fn on_a_terminal(args: &[&str], answer: &str, state: &Path) -> (i32, String) {
    use std::io::Write;
    let command = std::iter::once(env!("CARGO_BIN_EXE_fleet"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("FLEET_STATE_DIR", state)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("this test needs util-linux `script` for a pty: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The typed confirmation itself, on a pty: a wrong name runs nothing;
/// the inventory's name lets the run start (it connects).
#[test]
fn protected_hosts_on_a_terminal_need_the_inventory_name_typed() {
    let (listener, port) = silent_listener();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("site.kdl");
    std::fs::write(
        &inv,
        format!(
            "defaults {{ connect-timeout \"1s\" }}\nprotect \"prod\"\n\
             group prod {{\n    host db1 address=\"127.0.0.1\" port={port}\n}}\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = dir.path().join("uptime.kdl");
    std::fs::write(&wf, "workflow uptime {\n    step s { run \"uptime\" }\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (wf, inv) = (path(&wf), path(&inv));
    let args = ["run", wf.as_str(), "--inventory", inv.as_str()];
    let state = dir.path().join("state");
    let (code, text) = on_a_terminal(&args, "prod", &state);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("CONFIRM: 1 protected host"), "{text}");
    assert!(
        text.contains("did not match the inventory name `site`"),
        "{text}"
    );
    assert_no_connection(&listener);
    let (code, text) = on_a_terminal(&args, "site", &state);
    assert_eq!(code, 3, "connects, and the silent host times out: {text}");
    assert!(
        listener.accept().is_ok(),
        "typed confirmation must let the run connect"
    );
}
