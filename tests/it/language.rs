//! The workflow language end to end: parsers, per-row and fleet-wide
//! rules, retries, local steps, severities, `when` and `on-failure`.

use crate::cli::{Outcome, run_workflow};
use crate::harness::Hosts;

fn run(hosts: &Hosts, workflow: &str) -> Outcome {
    run_workflow(hosts, workflow).run()
}

const DF_OK: &str = "Filesystem     1024-blocks      Used Available Capacity Mounted on
/dev/sda1         41152736  12345678  26700000      32% /
/dev/sdb1        103081248  61848749  41232499      60% /data
";

#[test]
fn per_row_rule_names_the_one_bad_row_on_the_one_bad_host() {
    let hosts = Hosts::start(3);
    for h in ["host-1", "host-2", "host-3"] {
        let text = if h == "host-2" {
            DF_OK.replace("60% /data", "85% /data")
        } else {
            DF_OK.to_string()
        };
        hosts.write_file(&format!("df-{h}"), &text);
    }
    let dir = hosts.dir().display().to_string();
    let out = run(
        &hosts,
        &format!(
            r#"workflow disk {{
    vars {{ disk_max 80 }}
    step disk {{
        run "cat {dir}/df-{{{{ host.name }}}}"
        parse table
        expect-each "row.Capacity | number <= disk_max" message="{{{{ row['Mounted on'] }}}} is {{{{ row.Capacity }}}} full"
        export disk_use "data | map(attribute='Capacity') | map('number') | max"
    }}
}}"#
        ),
    );
    out.expect_code(1);
    let step = out.step("host-2", "disk");
    assert_eq!(step["status"], "FAILED");
    let failures = step["failures"].as_array().cloned().unwrap_or_default();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["message"], "/data is 85% full");
    assert!(
        failures[0]["seen"]
            .as_str()
            .unwrap_or_default()
            .contains("Mounted on=/data")
    );
    assert_eq!(out.step("host-1", "disk")["status"], "PASSED");
    assert_eq!(out.step("host-3", "disk")["status"], "PASSED");
    assert_eq!(out.host("host-2")["exports"]["disk_use"], 85);
    assert_eq!(out.host("host-1")["exports"]["disk_use"], 60);
    assert!(out.stdout.contains("/data is 85% full"), "{}", out.stdout);
}

#[test]
fn fleet_check_fails_with_two_primaries() {
    let hosts = Hosts::start(3);
    hosts.write_file("state-host-1", "PRIMARY\n");
    hosts.write_file("state-host-2", "PRIMARY\n");
    hosts.write_file("state-host-3", "SECONDARY\n");
    let dir = hosts.dir().display().to_string();
    let workflow = format!(
        r#"workflow mongo {{
    step state {{
        run "cat {dir}/state-{{{{ host.name }}}}"
        export mongo_state "stdout | trim"
    }}
    fleet-check one-primary {{
        expect "hosts | selectattr('mongo_state', 'eq', 'PRIMARY') | list | length == 1" message="the replica set has {{{{ hosts | selectattr('mongo_state', 'eq', 'PRIMARY') | map(attribute='name') | join(', ') }}}} as PRIMARY"
    }}
}}"#
    );
    let out = run(&hosts, &workflow);
    out.expect_code(1);
    let check = &out.json()["fleet_checks"][0];
    assert_eq!(check["name"], "one-primary");
    assert_eq!(check["status"], "FAILED");
    assert_eq!(
        check["failures"][0]["message"],
        "the replica set has host-1, host-2 as PRIMARY"
    );
    assert_eq!(out.json()["totals"]["hosts_ok"], 3);
    // Fixed: one primary.
    hosts.write_file("state-host-2", "SECONDARY\n");
    let out = run(&hosts, &workflow);
    out.expect_code(0);
    assert_eq!(out.json()["fleet_checks"][0]["status"], "PASSED");
}

#[test]
fn retry_until_succeeds_on_the_third_attempt() {
    let hosts = Hosts::start(1);
    let counter = hosts.dir().join("counter").display().to_string();
    let out = run(
        &hosts,
        &format!(
            r#"workflow wait {{
    step services-down {{
        run "n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; echo $n"
        retry attempts=5 interval="100ms" until="stdout | trim | int >= 3"
        expect "stdout | trim | int == 3"
    }}
}}"#
        ),
    );
    out.expect_code(0);
    let step = out.step("host-1", "services-down");
    assert_eq!(step["status"], "PASSED");
    assert_eq!(step["attempts"], 3);
    assert_eq!(step["stdout"]["text"], "3\n");
}

#[test]
fn retry_that_never_succeeds_fails_loudly() {
    let hosts = Hosts::start(1);
    let out = run(
        &hosts,
        r#"workflow wait {
    step services-down {
        run "echo scanner running"
        retry attempts=2 interval="50ms" until="'running' not in stdout"
    }
}"#,
    );
    out.expect_code(1);
    let step = out.step("host-1", "services-down");
    assert_eq!(step["status"], "FAILED");
    assert_eq!(step["attempts"], 2);
    assert_eq!(step["failures"][0]["seen"], "still false after 2 attempts");
}

#[test]
fn local_step_feeds_remote_steps() {
    let hosts = Hosts::start(2);
    let out = run(
        &hosts,
        r#"workflow stemcell {
    local latest {
        run "printf '{\"version\": \"621.64\"}'"
        parse json
        export latest_stemcell "data.version"
    }
    step deployed {
        run "echo bosh-aws-xen-hvm-ubuntu-xenial-go_agent/{{ latest_stemcell }}"
        expect "version(stdout | trim) >= version(latest_stemcell)"
        export stemcell "stdout | trim | version | string"
    }
}"#,
    );
    out.expect_code(0);
    assert_eq!(out.json()["local"][0]["status"], "PASSED");
    assert_eq!(
        out.step("host-1", "deployed")["command"],
        "echo bosh-aws-xen-hvm-ubuntu-xenial-go_agent/621.64"
    );
    assert_eq!(out.host("host-2")["exports"]["stemcell"], "621.64");
}

#[test]
fn warnings_when_and_stop_host() {
    let hosts = Hosts::start(2);
    let out = run(
        &hosts,
        r#"workflow mixed {
    step usage {
        run "echo 75%"
        expect "stdout | number < 70" severity="warn" message="disk at {{ stdout | trim }}"
        expect "stdout | number < 80" message="disk above 80%"
    }
    step only-on-host-1 {
        when "host.name == 'host-1'"
        run "echo one"
    }
    step gate {
        run "exit 3"
        expect exit=0
        on-failure "stop-host"
    }
    step after-gate {
        run "echo never"
    }
}"#,
    );
    out.expect_code(1);
    let usage = out.step("host-1", "usage");
    assert_eq!(usage["status"], "WARNED");
    assert_eq!(usage["failures"][0]["severity"], "warn");
    assert_eq!(usage["failures"][0]["message"], "disk at 75%");
    assert_eq!(out.step("host-1", "only-on-host-1")["status"], "PASSED");
    let skipped = out.step("host-2", "only-on-host-1");
    assert_eq!(skipped["status"], "SKIPPED");
    assert_eq!(skipped["reason"], "`when host.name == 'host-1'` is false");
    assert_eq!(out.step("host-2", "gate")["status"], "FAILED");
    let after = out.step("host-2", "after-gate");
    assert_eq!(after["status"], "SKIPPED");
    assert!(
        after["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("stop-host")
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let hosts = Hosts::start(1);
    let out = run(
        &hosts,
        r#"workflow w {
    step s {
        run "echo 75%"
        expect "stdout | number < 70" severity="warn"
    }
}"#,
    );
    out.expect_code(0);
    assert_eq!(out.host("host-1")["status"], "WARNED");
    assert_eq!(out.json()["totals"]["steps_warned"], 1);
}

/// Silence is never success: a failed command fails its step with no rule
/// written, and the failure names the status and quotes stderr.
#[test]
fn a_failed_command_fails_its_step_naming_the_exit_status() {
    let hosts = Hosts::start(1);
    let out = run(
        &hosts,
        r#"workflow w {
    local controller-false { run "false" }
    step plain-false { run "false" }
    step missing { run "quickstart-not-installed --list" }
    step listed {
        run "sh -c 'echo oops >&2; exit 3'"
        expect exit-in="0,3"
    }
    step not-listed {
        run "sh -c 'echo oops >&2; exit 2'"
        expect exit-in="0,3"
    }
    step expression-is-not-enough {
        run "exit 1"
        expect "exit_code in [0, 1]"
    }
}"#,
    );
    out.expect_code(1);
    let failed = out.step("host-1", "plain-false");
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["failures"][0]["expected"], "exit status 0");
    let seen = failed["failures"][0]["seen"].as_str().unwrap_or_default();
    assert!(seen.starts_with("exit 1"), "{seen}");
    let local = &out.json()["local"][0];
    assert_eq!(local["status"], "FAILED", "{local}");
    assert_eq!(local["failures"][0]["seen"], "exit 1, no output");

    let missing = out.step("host-1", "missing");
    assert_eq!(missing["status"], "FAILED");
    assert_eq!(missing["exit_status"], 127);
    let seen = missing["failures"][0]["seen"].as_str().unwrap_or_default();
    assert!(seen.starts_with("exit 127: "), "{seen}");
    let stderr = missing["stderr"]["text"].as_str().unwrap_or_default();
    // The shell's `command not found`, or the remote `timeout` guard's
    // `failed to run command …: No such file or directory`.
    assert!(stderr.contains("quickstart-not-installed"), "{stderr}");
    assert!(out.stdout.contains("exit 127: "), "{}", out.stdout);

    assert_eq!(out.step("host-1", "listed")["status"], "PASSED");
    let not_listed = out.step("host-1", "not-listed");
    assert_eq!(not_listed["status"], "FAILED");
    assert_eq!(not_listed["failures"][0]["expected"], "exit status 0 or 3");
    let seen = not_listed["failures"][0]["seen"]
        .as_str()
        .unwrap_or_default();
    assert!(
        seen.starts_with("exit 2: ") && seen.contains("oops"),
        "{seen}"
    );
    let expression = out.step("host-1", "expression-is-not-enough");
    assert_eq!(expression["status"], "FAILED");
    assert_eq!(expression["failures"][0]["expected"], "exit status 0");
}

#[test]
fn unparsable_output_of_a_failed_command_leads_with_the_exit_status() {
    let hosts = Hosts::start(1);
    let out = run(
        &hosts,
        r#"workflow w {
    step protect-mode {
        run "quickstart-not-installed --protect-mode"
        parse table
        expect-each "row.MODE == 'protected'"
    }
}"#,
    );
    out.expect_code(1);
    let step = out.step("host-1", "protect-mode");
    assert_eq!(step["status"], "FAILED");
    let reason = step["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("exit 127: "), "{reason}");
    assert!(
        reason.contains("\nthen cannot parse the output"),
        "{reason}"
    );
    assert_eq!(step["failures"][0]["expected"], "exit status 0");
    assert_eq!(
        step["failures"][1]["expected"],
        "output the parser can read"
    );
}

#[test]
fn zero_rows_fail_unless_the_rule_says_empty_is_fine() {
    let hosts = Hosts::start(1);
    let out = run(
        &hosts,
        r##"workflow w {
    step lag {
        run "echo 'the input device is not a TTY' >&2"
        parse regex #"(?<behind>\d+) secs"# all=#true
        expect-each "row.behind | int <= 10"
    }
    step failed-units {
        run "true"
        parse lines
        expect-each "false" empty="pass"
        expect-count "true" max=0
    }
}"##,
    );
    out.expect_code(1);
    let lag = out.step("host-1", "lag");
    assert_eq!(lag["status"], "FAILED");
    let seen = lag["failures"][0]["seen"].as_str().unwrap_or_default();
    assert!(
        seen.starts_with("no rows: the parser found no rows in 0 bytes of stdout; stderr:\n  "),
        "{seen}"
    );
    assert!(seen.contains("the input device is not a TTY"), "{seen}");
    assert_eq!(out.step("host-1", "failed-units")["status"], "PASSED");
}

#[test]
fn requires_skips_the_step_until_the_variable_is_set() {
    let hosts = Hosts::start(1);
    let marker = hosts.dir().join("ran").display().to_string();
    let workflow = format!(
        r#"workflow w {{
    vars {{ quickstart_cmd "" }}
    step protect-mode {{
        requires "quickstart_cmd"
        run "touch {marker}; {{{{ quickstart_cmd | raw }}}}"
    }}
}}"#
    );
    let out = run(&hosts, &workflow);
    out.expect_code(0);
    let step = out.step("host-1", "protect-mode");
    assert_eq!(step["status"], "SKIPPED");
    assert_eq!(step["reason"], "not configured: set quickstart_cmd");
    assert_eq!(step["attempts"], 0);
    assert!(!hosts.dir().join("ran").exists(), "the command ran");
    assert!(
        out.stdout.contains("not configured: set quickstart_cmd"),
        "{}",
        out.stdout
    );

    let out = run_workflow(&hosts, &workflow)
        .arg("--set")
        .arg("quickstart_cmd=echo protected")
        .run();
    out.expect_code(0);
    assert_eq!(out.step("host-1", "protect-mode")["status"], "PASSED");
    assert!(hosts.dir().join("ran").exists());
}

#[test]
fn tty_step_sees_a_terminal_and_its_crlf_output_parses() {
    let hosts = Hosts::start(1);
    let out = run(
        &hosts,
        r##"workflow w {
    step terminal {
        tty
        run "test -t 0 && test -t 1 && printf 'member mongo-1 up\nmember mongo-2 up\n' && echo merged >&2"
        parse regex #"member (?<name>\S+) (?<state>\S+)"# all=#true
        expect-each "row.state == 'up'"
        expect-count "true" min=2 max=2
        expect stdout matches="^member mongo-1 up$"
        expect stdout contains="merged"
    }
    step no-terminal {
        run "test -t 0"
    }
}"##,
    );
    out.expect_code(1);
    let step = out.step("host-1", "terminal");
    assert_eq!(step["status"], "PASSED", "{step}");
    let text = step["stdout"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("member mongo-1 up\r\n"), "{text:?}");
    assert_eq!(step["stderr"]["text"], "", "stderr arrives in stdout");
    let plain = out.step("host-1", "no-terminal");
    assert_eq!(plain["status"], "FAILED");
    assert_eq!(plain["exit_status"], 1);
}

#[test]
fn a_hosts_part_that_matches_nothing_warns_and_the_run_goes_on() {
    let hosts = Hosts::start(1);
    let out = run(
        &hosts,
        r#"workflow daily {
    hosts "group:all-hosts,group:certs"
    step up { run "true" }
}"#,
    );
    out.expect_code(0);
    assert_eq!(out.step("host-1", "up")["status"], "PASSED");
    let warnings = out.json()["warnings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].as_str().unwrap_or_default();
    assert!(
        warning.contains("group `certs` does not exist in inventory"),
        "{warning}"
    );
    assert!(
        out.stderr.contains("warning: workflow `hosts"),
        "{}",
        out.stderr
    );

    let out = run_workflow(
        &hosts,
        r#"workflow daily {
    hosts "group:bosh,group:certs"
    step up { run "true" }
}"#,
    )
    .run();
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("no host pattern of `group:bosh,group:certs` matches"),
        "{}",
        out.stderr
    );
}

/// A `tty` step runs without the remote `timeout` guard: a timed-out one
/// must still end on the host, by the terminal's hangup when fleet closes
/// the channel.
#[test]
fn timed_out_tty_step_is_no_longer_running_on_the_host() {
    let hosts = Hosts::start(1);
    let dir = hosts.dir().display().to_string();
    let out = run(
        &hosts,
        &format!(
            r#"workflow w {{
    step hang {{
        tty
        run "echo $$ > {dir}/tty-pid; exec sleep 300"
        timeout "3s"
    }}
}}"#
        ),
    );
    out.expect_code(3);
    assert_eq!(out.step("host-1", "hang")["status"], "TIMEOUT");
    let pid = std::fs::read_to_string(hosts.dir().join("tty-pid"))
        .unwrap_or_else(|e| panic!("the command never started: {e}"));
    let pid = pid.trim().to_string();
    // Bounded wait: the hangup is asynchronous on the host.
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::process::Command::new("kill")
        .args(["-0", &pid])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            std::time::Instant::now() < give_up,
            "the timed-out tty command (pid {pid}) still runs on the host"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
