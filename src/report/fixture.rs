//! A fixed, realistic run for snapshot tests: every status a reporter must
//! render, with deterministic durations and timestamps.

use std::time::Duration;

use crate::event::Event;
use crate::results::{
    Captured, HostReport, HostStatus, RuleFailure, RunReport, SCHEMA_VERSION, StepReport,
    StepStatus, Totals, Unreachable, UnreachableKind,
};

fn out(text: &str) -> Captured {
    Captured {
        text: text.to_string(),
        bytes: text.len() as u64,
        truncated: false,
    }
}

fn step(name: &str, command: &str, status: StepStatus, ms: u64) -> StepReport {
    StepReport {
        name: name.to_string(),
        command: command.to_string(),
        status,
        exit_status: Some(0),
        exit_signal: None,
        stdout: Captured::default(),
        stderr: Captured::default(),
        duration: Duration::from_millis(ms),
        failures: Vec::new(),
        reason: None,
        attempts: 1,
    }
}

fn passed(name: &str, ms: u64) -> StepReport {
    let command = match name {
        "disk" => "df -h /",
        "mongod" => "systemctl is-active mongod",
        _ => "mongosh --quiet --eval 'rs.status().ok'",
    };
    let mut s = step(name, command, StepStatus::Passed, ms);
    s.stdout = out("ok\n");
    s
}

fn host(name: &str, status: HostStatus, ms: u64, steps: Vec<StepReport>) -> HostReport {
    HostReport {
        name: name.to_string(),
        address: format!(
            "10.0.0.{}",
            name.trim_start_matches(|c: char| !c.is_ascii_digit())
        ),
        port: 22,
        user: "ops".to_string(),
        status,
        unreachable: None,
        connect_time: Some(Duration::from_millis(80)),
        duration: Duration::from_millis(ms),
        steps,
        exports: Default::default(),
        refused: None,
    }
}

fn unreachable(name: &str, kind: UnreachableKind, message: &str) -> HostReport {
    let mut h = host(name, HostStatus::Unreachable, 3000, Vec::new());
    h.unreachable = Some(Unreachable {
        kind,
        message: message.to_string(),
    });
    h.connect_time = None;
    h
}

fn full_disk() -> StepReport {
    let mut s = step("disk", "df -h / /var/lib/mongodb", StepStatus::Failed, 412);
    s.stdout = out("Filesystem      Size  Used Avail Use% Mounted on\n\
         /dev/sda1        50G   47G  3.0G  94% /\n\
         /dev/sdb1       500G  489G   11G  98% /var/lib/mongodb\n");
    s.failures = vec![
        RuleFailure {
            severity: crate::model::Severity::Fail,
            expected: r#"stdout not matches "(9[0-9]|100)% /$""#.to_string(),
            message: Some("root filesystem on db-2 is above 90%, rotate logs".to_string()),
            seen: "/dev/sda1        50G   47G  3.0G  94% /".to_string(),
            location: "checks/mongo.kdl:12:9".to_string(),
        },
        RuleFailure {
            severity: crate::model::Severity::Fail,
            expected: r#"stdout not matches "(9[0-9]|100)% /var/lib/mongodb""#.to_string(),
            message: None,
            seen: "/dev/sdb1       500G  489G   11G  98% /var/lib/mongodb".to_string(),
            location: "checks/mongo.kdl:14:9".to_string(),
        },
    ];
    s
}

fn slow_replication() -> StepReport {
    let mut s = step(
        "replication",
        "mongosh --quiet --eval 'rs.status()'",
        StepStatus::Timeout,
        30_000,
    );
    s.exit_status = None;
    let lines: String = (1..=12)
        .map(|i| format!("member {i}: state SECONDARY, optimeDate 2024-05-01T10:00:{i:02}Z\n"))
        .collect();
    s.stdout = Captured {
        text: lines,
        bytes: 1_048_576,
        truncated: true,
    };
    s.reason = Some("no result within the step timeout of 30s".to_string());
    s
}

fn broken_status() -> StepReport {
    let mut s = step(
        "mongod",
        "systemctl is-active mongod",
        StepStatus::Error,
        95,
    );
    s.exit_status = Some(127);
    s.stderr = out("bash: systemctl: command not found\n");
    s.reason = Some("command exited with status 127 and the step expects 0".to_string());
    s
}

fn skipped(name: &str) -> StepReport {
    let mut s = step(name, "mongosh --eval 'db.stats()'", StepStatus::Skipped, 0);
    s.exit_status = None;
    s.reason = Some("only on hosts tagged primary".to_string());
    s
}

fn run(hosts: Vec<HostReport>) -> RunReport {
    RunReport {
        schema_version: SCHEMA_VERSION,
        fleet_version: "0.1.0",
        workflow: "mongo-health".to_string(),
        workflow_path: "checks/mongo.kdl".to_string(),
        inventory: "prod-db".to_string(),
        inventory_path: "inventory/prod.kdl".to_string(),
        started_at: "2024-05-01T10:00:00Z".to_string(),
        duration: Duration::from_millis(31_240),
        totals: Totals::count(&hosts, &[], &[]),
        local: Vec::new(),
        hosts,
        fleet_checks: Vec::new(),
    }
}

/// Six hosts: one healthy, one with failed rules, one with a timeout and an
/// error, two refusing connections and one with a bad host key.
pub(crate) fn mixed_run() -> RunReport {
    run(vec![
        host(
            "web-1",
            HostStatus::Ok,
            1200,
            vec![passed("disk", 300), passed("mongod", 90), skipped("stats")],
        ),
        host(
            "db-2",
            HostStatus::Failed,
            1500,
            vec![
                full_disk(),
                passed("mongod", 80),
                passed("replication", 700),
            ],
        ),
        host(
            "db-3",
            HostStatus::Failed,
            30_800,
            vec![passed("disk", 310), broken_status(), slow_replication()],
        ),
        unreachable(
            "db-4",
            UnreachableKind::Refused,
            "connect to 10.0.0.4:22: Connection refused (os error 111)",
        ),
        unreachable(
            "db-5",
            UnreachableKind::HostKey,
            "host key for 10.0.0.5:22 does not match ~/.ssh/known_hosts:17 \
             (got SHA256:Jd3kPq7QhE2x, expected SHA256:9bVz1mW4yT0c)",
        ),
        unreachable(
            "db-6",
            UnreachableKind::Refused,
            "connect to 10.0.0.6:22: Connection refused (os error 111)",
        ),
    ])
}

/// Three healthy hosts.
pub(crate) fn healthy_run() -> RunReport {
    let steps = || vec![passed("disk", 300), passed("mongod", 90)];
    run(vec![
        host("db-1", HostStatus::Ok, 900, steps()),
        host("db-2", HostStatus::Ok, 1100, steps()),
        host("db-3", HostStatus::Ok, 950, steps()),
    ])
}

/// The events an executor would emit for `report`, hosts one after another.
pub(crate) fn events(report: &RunReport) -> Vec<Event> {
    let steps = report
        .hosts
        .iter()
        .map(|h| h.steps.len())
        .max()
        .unwrap_or(0);
    let mut events = vec![Event::RunStarted {
        workflow: report.workflow.clone(),
        hosts: report.hosts.len(),
        steps,
    }];
    for h in &report.hosts {
        let name = || h.name.clone();
        events.push(Event::HostStarted { host: name() });
        if h.unreachable.is_none() {
            events.push(Event::HostConnected { host: name() });
        }
        for s in &h.steps {
            events.push(Event::StepStarted {
                host: name(),
                step: s.name.clone(),
            });
            events.push(Event::StepFinished {
                host: name(),
                step: s.clone(),
            });
        }
        events.push(Event::HostFinished { host: h.clone() });
    }
    events.push(Event::RunFinished {
        report: report.clone(),
    });
    events
}
