//! A fixed, realistic run for snapshot tests: every status a reporter must
//! render, with deterministic durations and timestamps.

use std::time::Duration;

use crate::model::Severity;
use crate::model::report::{
    Captured, FleetCheckReport, HostReport, HostStatus, RuleFailure, RunReport, SCHEMA_VERSION,
    StepReport, StepStatus, Totals, Unreachable, UnreachableKind,
};

fn out(text: &str) -> Captured {
    Captured {
        text: text.to_string(),
        bytes: text.len() as u64,
        truncated: false,
        base64: None,
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
        waiver: None,
        session: None,
    }
}

fn passed(name: &str, ms: u64) -> StepReport {
    let command = match name {
        "disk" => "df -h /",
        "mongod" => "systemctl is-active mongod",
        "controller-disk" => "df -h /backups",
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
        groups: Vec::new(),
        status,
        unreachable: None,
        connect_time: Some(Duration::from_millis(80)),
        duration: Duration::from_millis(ms),
        steps,
        exports: Default::default(),
        refused: None,
        not_run: None,
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
            severity: Severity::Fail,
            expected: r#"stdout not matches "(9[0-9]|100)% /$""#.to_string(),
            message: Some("root filesystem on db-2 is above 90%, rotate logs".to_string()),
            seen: "/dev/sda1        50G   47G  3.0G  94% /".to_string(),
            location: "checks/mongo.kdl:12:9".to_string(),
        },
        RuleFailure {
            severity: Severity::Fail,
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
        base64: None,
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

fn rule(
    severity: Severity,
    expected: &str,
    message: Option<&str>,
    seen: &str,
    at: &str,
) -> RuleFailure {
    RuleFailure {
        severity,
        expected: expected.to_string(),
        message: message.map(str::to_string),
        seen: seen.to_string(),
        location: format!("checks/mongo.kdl:{at}"),
    }
}

/// `/data` above the fail threshold: the same rule and message on every
/// host it hits, with each host's own `df` line, so reporters can group.
/// `inodes` adds a warning to the failed step.
fn data_full(use_pct: u32, inodes: bool) -> StepReport {
    let mut s = step("data", "df -P /data", StepStatus::Failed, 120);
    let line = format!("/dev/sdc1  524288000  {use_pct}0000  1000  {use_pct}% /data");
    s.stdout = out(&format!(
        "Filesystem 1024-blocks Used Available Capacity Mounted on\n{line}\n"
    ));
    s.failures = vec![rule(
        Severity::Fail,
        r#"stdout not matches "(8[0-9]|9[0-9]|100)% /data""#,
        Some("/data above 80%, move old dumps to cold storage"),
        &line,
        "31:9",
    )];
    if inodes {
        s.failures.push(rule(
            Severity::Warn,
            "inode_use < 75",
            Some("/data inodes 81% used (warn above 75%)"),
            "81",
            "33:9",
        ));
    }
    s
}

/// `/data` above the warn threshold only.
fn data_warm(use_pct: u32) -> StepReport {
    let mut s = step("data", "df -P /data", StepStatus::Warned, 110);
    s.failures = vec![rule(
        Severity::Warn,
        r#"stdout not matches "(7[0-9])% /data""#,
        Some(&format!("/data is {use_pct}% full (warn above 70%)")),
        &format!("/dev/sdc1  524288000  {use_pct}0000  1000  {use_pct}% /data"),
        "35:9",
    )];
    s
}

/// The controller's backup freshness check, failing after its retries.
fn stale_backup() -> StepReport {
    let mut s = step(
        "backup-fresh",
        "find /backups -mmin -60 -name 'mongo-*.gz'",
        StepStatus::Failed,
        2_040,
    );
    s.attempts = 3;
    s.failures = vec![rule(
        Severity::Fail,
        "stdout not empty",
        Some("no mongo backup newer than 60 minutes on the controller"),
        "",
        "5:7",
    )];
    s
}

fn one_primary() -> FleetCheckReport {
    FleetCheckReport {
        name: "replica-set".to_string(),
        status: StepStatus::Failed,
        failures: vec![
            rule(
                Severity::Fail,
                r#"hosts | selectattr("mongo_state", "eq", "PRIMARY") | list | length == 1"#,
                Some("expected exactly one PRIMARY, found 2: db-2, db-7"),
                "2",
                "48:5",
            ),
            rule(
                Severity::Fail,
                r#"hosts | map(attribute="mongo_version") | unique | list | length == 1"#,
                Some("members run different versions"),
                r#"["6.0.14", "7.0.5"]"#,
                "50:5",
            ),
        ],
        reason: None,
    }
}

fn passed_check(name: &str) -> FleetCheckReport {
    FleetCheckReport {
        name: name.to_string(),
        status: StepStatus::Passed,
        failures: Vec::new(),
        reason: None,
    }
}

fn exporting(mut h: HostReport, state: &str, version: &str) -> HostReport {
    h.exports.insert("mongo_state".into(), state.into());
    h.exports.insert("mongo_version".into(), version.into());
    h
}

fn refused(name: &str) -> HostReport {
    let mut h = host(name, HostStatus::Refused, 0, Vec::new());
    h.refused =
        Some("host is in group prod, which workflow mongo-health must never touch".to_string());
    h.connect_time = None;
    h
}

fn run(local: Vec<StepReport>, hosts: Vec<HostReport>, checks: Vec<FleetCheckReport>) -> RunReport {
    RunReport {
        schema_version: SCHEMA_VERSION,
        fleet_version: "0.1.0".to_string(),
        workflow: "mongo-health".to_string(),
        workflow_path: "checks/mongo.kdl".to_string(),
        inventory: "prod-db".to_string(),
        inventory_path: "inventory/prod.kdl".to_string(),
        started_at: "2024-05-01T10:00:00Z".to_string(),
        duration: Duration::from_millis(31_240),
        interrupted: false,
        stopped: None,
        warnings: Vec::new(),
        totals: Totals::count(&hosts, &local, &checks),
        local,
        local_exports: Default::default(),
        hosts,
        fleet_checks: checks,
        shard: None,
    }
}

/// Every outcome a reporter must render: a failed controller step (after
/// retries) and a passed one; a healthy host; failed rules; an error and a
/// timeout (retried) on one host; the same `/data` failure on two hosts
/// (one with an extra warning); a warned host; a refused host; three
/// unreachable hosts; a failed fleet check with two broken rules and a
/// passed one.
pub(crate) fn mixed_run() -> RunReport {
    let mut slow = slow_replication();
    slow.attempts = 2;
    let local = vec![passed("controller-disk", 40), stale_backup()];
    let hosts = vec![
        host(
            "web-1",
            HostStatus::Ok,
            1200,
            vec![passed("disk", 300), passed("mongod", 90), skipped("stats")],
        ),
        exporting(
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
            "PRIMARY",
            "6.0.14",
        ),
        host(
            "db-3",
            HostStatus::Failed,
            30_800,
            vec![passed("disk", 310), broken_status(), slow],
        ),
        exporting(
            host(
                "db-7",
                HostStatus::Failed,
                900,
                vec![passed("disk", 300), data_full(84, true)],
            ),
            "PRIMARY",
            "7.0.5",
        ),
        host(
            "db-8",
            HostStatus::Failed,
            900,
            vec![passed("disk", 300), data_full(87, false)],
        ),
        host(
            "db-9",
            HostStatus::Warned,
            900,
            vec![passed("disk", 300), data_warm(72)],
        ),
        refused("ps-prod-1"),
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
    ];
    run(local, hosts, vec![one_primary(), passed_check("quorum")])
}

/// Three healthy hosts, no local steps, no fleet checks.
pub(crate) fn healthy_run() -> RunReport {
    let steps = || vec![passed("disk", 300), passed("mongod", 90)];
    run(
        Vec::new(),
        vec![
            host("db-1", HostStatus::Ok, 900, steps()),
            host("db-2", HostStatus::Ok, 1100, steps()),
            host("db-3", HostStatus::Ok, 950, steps()),
        ],
        Vec::new(),
    )
}

/// Nothing failed, but two hosts warn the same way (different values) and
/// one fleet check warned: the run passes with warnings.
pub(crate) fn warned_run() -> RunReport {
    let steps = |pct| vec![passed("disk", 300), data_warm(pct)];
    let mut versions = passed_check("same-version");
    versions.status = StepStatus::Warned;
    versions.failures = vec![rule(
        Severity::Warn,
        r#"hosts | map(attribute="mongo_version") | unique | list | length == 1"#,
        None,
        r#"["6.0.14", "7.0.5"]"#,
        "52:5",
    )];
    run(
        Vec::new(),
        vec![
            host(
                "db-1",
                HostStatus::Ok,
                900,
                vec![passed("disk", 300), passed("data", 90)],
            ),
            host("db-2", HostStatus::Warned, 1100, steps(72)),
            host("db-3", HostStatus::Warned, 950, steps(75)),
        ],
        vec![versions, passed_check("replica-set")],
    )
}

/// A 1000-host run: the same `/data` rule broken on 40 hosts with 20
/// different `df` lines, 25 hosts refusing connections, 10 refused as
/// forbidden. The summary must stay a screen long.
pub(crate) fn large_run() -> RunReport {
    let hosts = (1..=1000)
        .map(|i| {
            let name = format!("ps-prod-{i}");
            match i {
                i if i % 25 == 0 => {
                    let steps = vec![passed("disk", 300), data_full(80 + (i / 25) % 20, false)];
                    host(&name, HostStatus::Failed, 900, steps)
                }
                i if i % 40 == 1 => unreachable(
                    &name,
                    UnreachableKind::Refused,
                    &format!("connect to 10.0.0.{i}:22: Connection refused (os error 111)"),
                ),
                i if i > 990 => refused(&name),
                _ => host(&name, HostStatus::Ok, 900, vec![passed("disk", 300)]),
            }
        })
        .collect();
    run(Vec::new(), hosts, Vec::new())
}
