//! `fleet run` end to end against real sshd processes.

use crate::cli::{assert_no_connection, fleet, run_workflow, silent_listener};
use crate::harness::Hosts;

/// A five-step workflow; `cat DIR/{{ host.name }}` lets each test seed a
/// different answer per host.
fn five_steps(hosts: &Hosts) -> String {
    let dir = hosts.dir().display().to_string();
    format!(
        r##"
workflow five {{
    timeout "20s"
    step uptime {{
        run "uptime"
        expect exit=0
        expect stdout contains="load average"
    }}
    step disk {{
        run "df -P /"
        expect exit=0
        expect stdout contains="Mounted on"
    }}
    step state {{
        run "cat {dir}/state-{{{{ host.name }}}} 2>/dev/null || echo healthy"
        expect exit=0
        expect stdout not-contains="0/1" message="a service is not scaled to 1/1 on {{{{ host.name }}}}"
    }}
    step clock {{
        run "date +%s"
        expect stdout matches=#"^\d+$"#
    }}
    step stderr-clean {{
        run "ls /tmp >/dev/null"
        expect stderr not-matches="(?i)error"
    }}
}}
"##
    )
}

#[test]
fn five_hosts_all_pass() {
    let hosts = Hosts::start(5);
    let out = run_workflow(&hosts, &five_steps(&hosts)).run();
    out.expect_code(0);
    let totals = &out.json()["totals"];
    assert_eq!(totals["hosts_ok"], 5, "{}", out.stdout);
    assert_eq!(totals["steps_passed"], 25);
    assert_eq!(out.json()["schema_version"], 1);
    assert_eq!(out.step("host-3", "clock")["exit_status"], 0);
    assert!(out.stdout.contains("PASSED"), "{}", out.stdout);
}

#[test]
fn one_host_failing_one_rule_is_named() {
    let hosts = Hosts::start(5);
    hosts.write_file("state-host-4", "worker 0/1\nscanner 1/1\n");
    let out = run_workflow(&hosts, &five_steps(&hosts)).run();
    out.expect_code(1);
    assert_eq!(out.json()["totals"]["hosts_failed"], 1);
    assert_eq!(out.json()["totals"]["steps_failed"], 1);
    assert_eq!(out.host("host-4")["status"], "FAILED");
    let step = out.step("host-4", "state");
    assert_eq!(step["status"], "FAILED");
    let failure = &step["failures"][0];
    assert_eq!(failure["expected"], "stdout does not contain \"0/1\"");
    assert_eq!(
        failure["message"],
        "a service is not scaled to 1/1 on host-4"
    );
    assert_eq!(failure["seen"], "stdout line 1: worker 0/1");
    for other in ["host-1", "host-2", "host-3", "host-5"] {
        assert_eq!(out.host(other)["status"], "OK");
    }
    assert!(out.stdout.contains("host-4"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("a service is not scaled to 1/1 on host-4"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("host-2"), "{}", out.stdout);
}

#[test]
fn refused_port_is_unreachable_and_the_rest_complete() {
    let hosts = Hosts::builder().hosts(3).refusing("host-x").build();
    let out = run_workflow(&hosts, &five_steps(&hosts)).run();
    out.expect_code(3);
    let down = out.host("host-x");
    assert_eq!(down["status"], "UNREACHABLE");
    assert_eq!(down["unreachable"]["kind"], "refused");
    assert_eq!(out.json()["totals"]["hosts_ok"], 3);
    assert!(out.stdout.contains("host-x"), "{}", out.stdout);
}

#[test]
fn step_past_its_timeout_is_reported_and_the_run_moves_on() {
    let hosts = Hosts::start(2);
    let out = run_workflow(
        &hosts,
        r#"
workflow slow {
    step hang {
        run "sleep 300"
        timeout "1s"
    }
    step after {
        run "echo still-here"
        expect stdout contains="still-here"
    }
}
"#,
    )
    .run();
    out.expect_code(3);
    for h in ["host-1", "host-2"] {
        let hang = out.step(h, "hang");
        assert_eq!(hang["status"], "TIMEOUT");
        let took = hang["duration_ms"].as_u64().unwrap_or(u64::MAX);
        assert!(took < 60_000, "timed-out step took {took} ms");
        assert_eq!(out.step(h, "after")["status"], "PASSED");
    }
    assert!(out.stdout.contains("TIMEOUT"), "{}", out.stdout);
}

#[test]
fn changed_host_key_is_refused() {
    let hosts = Hosts::start(2);
    hosts.host("host-2").replace_host_key();
    let out = run_workflow(&hosts, &five_steps(&hosts)).run();
    out.expect_code(3);
    let bad = out.host("host-2");
    assert_eq!(bad["status"], "UNREACHABLE");
    assert_eq!(bad["unreachable"]["kind"], "host-key");
    let message = bad["unreachable"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("known_hosts"), "{message}");
    assert!(bad["steps"].as_array().is_some_and(|s| s.is_empty()));
    assert_eq!(out.host("host-1")["status"], "OK");
}

#[test]
fn typo_in_workflow_is_a_config_error_and_nothing_connects() {
    // A listener standing in for a host: it must see no connection.
    let (listener, port) = silent_listener();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("inv.kdl");
    std::fs::write(
        &inv,
        format!("host only address=\"127.0.0.1\" port={port}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = dir.path().join("typo.kdl");
    std::fs::write(
        &wf,
        "workflow typo {\n    step one {\n        run \"true\"\n        expcet exit=0\n    }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = fleet(&[
        "run",
        &wf.display().to_string(),
        "--inventory",
        &inv.display().to_string(),
    ])
    .run();
    out.expect_code(2);
    assert!(out.stderr.contains("typo.kdl:4:9"), "{}", out.stderr);
    assert!(
        out.stderr.contains("expect"),
        "did-you-mean missing: {}",
        out.stderr
    );
    assert_no_connection(&listener);
}
