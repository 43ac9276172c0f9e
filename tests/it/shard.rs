//! `fleet run --shard` and `fleet report merge` against real sshd: the
//! merged report of N shards is the report of one run.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::{Outcome, fleet};
use crate::harness::Hosts;

/// Every host exports its name's number; one host fails a rule; a local
/// step exports a value fleet checks and hosts use; one fleet check holds
/// only over the whole fleet, one fails only over the whole fleet.
fn workflow(hosts: &Hosts) -> String {
    let dir = hosts.dir().display().to_string();
    format!(
        r##"
workflow sharded {{
    timeout "20s"
    vars {{ expected 6 }}
    local controller {{
        run "echo 6"
        export planned "stdout | trim | int"
    }}
    step state {{
        run "cat {dir}/state-{{{{ host.name }}}} 2>/dev/null || echo healthy"
        expect stdout not-contains="0/1" message="a service is at 0/1 on {{{{ host.name }}}}"
        export number "host.name | replace('host-', '') | int"
    }}
    step planned {{
        run "echo {{{{ planned }}}}"
        expect stdout contains="6"
    }}
    fleet-check every-host-answered {{
        expect "hosts | rejectattr('number', 'none') | list | length == planned" message="only {{{{ hosts | rejectattr('number', 'none') | list | length }}}} of {{{{ planned }}}} hosts answered"
    }}
    fleet-check one-leader {{
        expect "hosts | selectattr('number', 'eq', 1) | list | length == 1"
    }}
    fleet-check sum {{
        expect "hosts | map(attribute='number') | reject('none') | sum == 100" message="sum is {{{{ hosts | map(attribute='number') | reject('none') | sum }}}}"
    }}
}}
"##
    )
}

struct Setup {
    hosts: Hosts,
    workflow: PathBuf,
    inventory: PathBuf,
}

fn setup() -> Setup {
    let hosts = Hosts::builder().hosts(6).refusing("host-9").build();
    hosts.write_file("state-host-4", "worker 0/1\n");
    let workflow = hosts.write_file("workflow.kdl", &workflow(&hosts));
    let inventory = hosts.write_inventory("hosts.kdl");
    Setup {
        hosts,
        workflow,
        inventory,
    }
}

impl Setup {
    fn run(&self, extra: &[&str], report: &Path) -> Outcome {
        self.command(extra, report).run()
    }

    fn command(&self, extra: &[&str], report: &Path) -> crate::cli::Fleet {
        run_command(&self.workflow, &self.inventory, extra, report)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.hosts.dir().join(name)
    }
}

/// `fleet run WORKFLOW -i INVENTORY EXTRA… --report json=REPORT`.
fn run_command(
    workflow: &Path,
    inventory: &Path,
    extra: &[&str],
    report: &Path,
) -> crate::cli::Fleet {
    let mut cmd = fleet(&[
        "run",
        &workflow.display().to_string(),
        "--inventory",
        &inventory.display().to_string(),
        "--report",
        &format!("json={}", report.display()),
    ]);
    for a in extra {
        cmd = cmd.arg(a);
    }
    cmd
}

fn merge(parts: &[PathBuf], out: &Path, extra: &[&str]) -> Outcome {
    let mut cmd = fleet(&["report", "merge"]);
    for p in parts {
        cmd = cmd.arg(p.display().to_string());
    }
    cmd = cmd.arg("--report").arg(format!("json={}", out.display()));
    for a in extra {
        cmd = cmd.arg(a);
    }
    cmd.run()
}

pub(crate) fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What must be the same in one run and in the merge: hosts in order with
/// their status and unreachable kind, each step's status and broken rules,
/// the local steps, fleet checks and totals. Durations, output and times
/// may differ; with `exact` false so may exports and the rules' rendered
/// messages (ages, clock offsets, lags move between two runs).
pub(crate) fn verdicts(report: &Value, exact: bool) -> Value {
    let rules = |failures: &Value| -> Value {
        if exact {
            return failures.clone();
        }
        let kept: Vec<Value> = failures
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                serde_json::json!({
                    "severity": f["severity"], "expected": f["expected"], "location": f["location"],
                })
            })
            .collect();
        Value::Array(kept)
    };
    let steps = |steps: &Value| -> Vec<Value> {
        steps
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                serde_json::json!({
                    "name": s["name"], "status": s["status"], "failures": rules(&s["failures"]),
                })
            })
            .collect()
    };
    let hosts: Vec<Value> = report["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            serde_json::json!({
                "name": h["name"], "status": h["status"],
                "unreachable": h["unreachable"]["kind"],
                "exports": if exact { h["exports"].clone() } else { Value::Null },
                "steps": steps(&h["steps"]),
            })
        })
        .collect();
    let checks: Vec<Value> = report["fleet_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| serde_json::json!({"name": c["name"], "status": c["status"], "failures": rules(&c["failures"])}))
        .collect();
    serde_json::json!({
        "hosts": hosts,
        "local": steps(&report["local"]),
        "fleet_checks": checks,
        "totals": report["totals"],
        "stopped": report["stopped"],
    })
}

#[test]
fn three_shards_merge_into_exactly_the_single_run() {
    let s = setup();
    let single = s.run(&[], &s.path("single.json"));
    single.expect_code(3); // host-9 refuses connections
    let one = read(&s.path("single.json"));
    assert!(one.get("shard").is_none(), "a plain run is no partial");

    let mut parts = Vec::new();
    for i in 1..=3 {
        let part = s.path(&format!("part-{i}.json"));
        let out = s.run(&["--shard", &format!("{i}/3"), "--run-id", "t-1"], &part);
        assert!(
            [0, 1, 3].contains(&out.code),
            "shard {i}: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.contains("3 fleet check(s) not judged here"),
            "{}",
            out.stdout
        );
        assert!(
            out.stderr.contains(&format!("shard {i}/3 of run t-1")),
            "{}",
            out.stderr
        );
        let json = read(&part);
        assert_eq!(json["shard"]["index"], i);
        assert_eq!(json["shard"]["count"], 3);
        assert_eq!(json["shard"]["selected"].as_array().map(Vec::len), Some(7));
        for check in json["fleet_checks"].as_array().expect("checks") {
            assert_eq!(check["status"], "SKIPPED", "{check}");
        }
        parts.push(part);
    }
    let holding = parts
        .iter()
        .filter(|p| read(p)["hosts"].as_array().is_some_and(|h| !h.is_empty()))
        .count();
    assert!(holding >= 2, "the hosts should spread over the shards");

    let merged = merge(&parts, &s.path("merged.json"), &[]);
    merged.expect_code(single.code);
    let all = read(&s.path("merged.json"));
    assert_eq!(verdicts(&all, true), verdicts(&one, true));
    assert!(all.get("shard").is_none(), "the merge is a plain report");
    // The fleet checks were judged over every host: one passes and one
    // fails only because all six answering hosts are counted together.
    let checks: Vec<(&str, &str)> = all["fleet_checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        checks,
        [
            ("every-host-answered", "PASSED"),
            ("one-leader", "PASSED"),
            ("sum", "FAILED")
        ]
    );
    assert!(merged.stdout.contains("sum is 21"), "{}", merged.stdout);
    assert!(merged.stdout.contains("host-4"), "{}", merged.stdout);

    // Order-independent and idempotent: the same bytes from any order.
    let mut reversed = parts.clone();
    reversed.reverse();
    merge(&reversed, &s.path("again.json"), &[]).expect_code(single.code);
    assert_eq!(
        std::fs::read(s.path("merged.json")).ok(),
        std::fs::read(s.path("again.json")).ok()
    );

    // A missing shard is named; --allow-missing reports its hosts SKIPPED.
    let missing = merge(&parts[..2], &s.path("partial.json"), &[]);
    missing.expect_code(2);
    assert!(
        missing.stderr.contains("missing shard 3/3"),
        "{}",
        missing.stderr
    );
    let allowed = merge(&parts[..2], &s.path("partial.json"), &["--allow-missing"]);
    allowed.expect_code(3);
    let partial = read(&s.path("partial.json"));
    assert_eq!(partial["hosts"].as_array().map(Vec::len), Some(7));
    assert!(
        partial["fleet_checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["status"] == "SKIPPED")
    );
}

#[test]
fn parts_of_different_runs_are_refused() {
    let s = setup();
    let (a, b) = (s.path("a.json"), s.path("b.json"));
    s.run(
        &[
            "--shard",
            "1/2",
            "--run-id",
            "one",
            "--limit",
            "host-1,host-2",
        ],
        &a,
    );
    s.run(
        &[
            "--shard",
            "2/2",
            "--run-id",
            "two",
            "--limit",
            "host-1,host-2",
        ],
        &b,
    );
    let out = merge(&[a, b], &s.path("m.json"), &[]);
    out.expect_code(2);
    assert!(out.stderr.contains("run id"), "{}", out.stderr);
    assert!(!s.path("m.json").exists());
}

#[test]
fn shard_auto_reads_the_engines_environment() {
    let s = setup();
    let part = s.path("slurm.json");
    let out = s
        .command(&["--shard", "auto", "--limit", "host-1"], &part)
        .env("SLURM_ARRAY_JOB_ID", "77")
        .env("SLURM_ARRAY_TASK_ID", "11")
        .env("SLURM_ARRAY_TASK_MIN", "10")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .run();
    assert!([0, 1].contains(&out.code), "{}", out.stderr);
    let json = read(&part);
    assert_eq!(json["shard"]["index"], 2);
    assert_eq!(json["shard"]["count"], 4);
    assert_eq!(json["shard"]["run_id"], "slurm-77");

    // Two engines at once: an error naming what was found, nothing run.
    let out = s
        .command(&["--shard", "auto"], Path::new("/dev/null"))
        .env("CI_NODE_INDEX", "1")
        .env("CI_NODE_TOTAL", "2")
        .env("JOB_COMPLETION_INDEX", "0")
        .run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("CI_NODE_INDEX=1") && out.stderr.contains("JOB_COMPLETION_INDEX=0"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_shard_without_hosts_succeeds_and_says_so() {
    let s = setup();
    // One host over 50 shards: all but one shard are empty.
    let mut empty = None;
    for i in 1..=50 {
        let part = s.path(&format!("e-{i}.json"));
        let out = s.run(
            &[
                "--shard",
                &format!("{i}/50"),
                "--run-id",
                "e",
                "--limit",
                "host-2",
            ],
            &part,
        );
        if out.stderr.contains("none of the 1 selected hosts") {
            empty = Some((out, part));
            break;
        }
    }
    let (out, part) = empty.expect("some shard of 50 holds no host");
    out.expect_code(0);
    let json = read(&part);
    assert_eq!(json["hosts"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        json["local"][0]["status"], "PASSED",
        "local steps run in every shard"
    );
}

#[test]
fn destructive_rollouts_are_refused_unless_per_shard_thresholds() {
    let s = setup();
    let text = |opt_in: &str| {
        format!(
            "workflow stop {{\n    destructive\n    serial 1\n    max-failures 0\n    {opt_in}\n    step s {{ run \"true\" }}\n}}\n"
        )
    };
    let run = |wf: &Path| {
        let args = [
            "--limit",
            "host-1,host-2",
            "--shard",
            "1/2",
            "--run-id",
            "r",
            "--yes",
        ];
        run_command(wf, &s.inventory, &args, &s.path("d.json")).run()
    };
    let refused = run(&s.hosts.write_file("stop.kdl", &text("")));
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("per-shard-thresholds"),
        "{}",
        refused.stderr
    );
    assert!(!s.path("d.json").exists(), "nothing ran");
    let allowed = run(&s
        .hosts
        .write_file("stop2.kdl", &text("per-shard-thresholds")));
    allowed.expect_code(0);
    assert!(s.path("d.json").exists());
}
