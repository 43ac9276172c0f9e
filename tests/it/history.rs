//! Run history, `fleet diff`, `--rerun`, `fleet report` and the report
//! files, across real runs against sshd where one host's disk flips.

use std::path::Path;

use crate::cli::{files_under, fleet};
use crate::harness::Hosts;

/// Each host reports the number in `DIR/disk-NAME` (40 when absent) as its
/// disk use; above 80 fails.
pub(crate) fn disk_workflow(hosts: &Hosts) -> String {
    let dir = hosts.dir().display().to_string();
    format!(
        r##"
workflow disks {{
    timeout "20s"
    step disk {{
        run "cat {dir}/disk-{{{{ host.name }}}} 2>/dev/null || echo 40"
        expect "stdout | trim | int < 80" message="disk on {{{{ host.name }}}} is {{{{ stdout | trim }}}}% full"
        export disk_use "stdout | trim | int"
    }}
}}
"##
    )
}

pub(crate) fn set_disk(hosts: &Hosts, host: &str, pct: u32) {
    hosts.write_file(&format!("disk-{host}"), &format!("{pct}\n"));
}

pub(crate) fn run_args(wf: &Path, inv: &Path) -> Vec<String> {
    vec![
        "run".into(),
        wf.display().to_string(),
        "--inventory".into(),
        inv.display().to_string(),
    ]
}

#[test]
fn second_run_reports_changes_and_history_diff_rerun_and_report_agree() {
    let hosts = Hosts::start(3);
    let wf = hosts.write_file("disks.kdl", &disk_workflow(&hosts));
    let inv = hosts.write_inventory("hosts");
    let state = hosts.dir().join("state");
    let args = run_args(&wf, &inv);

    set_disk(&hosts, "host-2", 62);
    set_disk(&hosts, "host-3", 85);
    let first = fleet(&args).state_in(&state).run();
    first.expect_code(1);
    assert!(
        first.stdout.contains("this run is the baseline"),
        "{}",
        first.stdout
    );

    set_disk(&hosts, "host-2", 91);
    set_disk(&hosts, "host-3", 50);
    let out_dir = hosts.dir().join("reports");
    std::fs::create_dir_all(&out_dir).expect("create report dir");
    let mut second_args = args.clone();
    for (format, file) in [("junit", "r.xml"), ("md", "r.md"), ("html", "r.html")] {
        second_args.push("--report".into());
        second_args.push(format!("{format}={}", out_dir.join(file).display()));
    }
    let second = fleet(&second_args).state_in(&state).json_in(&out_dir).run();
    second.expect_code(1);
    let s = &second.stdout;
    let changes = s
        .split("Changes since")
        .nth(1)
        .unwrap_or_else(|| panic!("no changes block:\n{s}"));
    assert!(
        s.trim_end().ends_with(changes.trim_end()),
        "changes end the summary:\n{s}"
    );
    assert!(
        changes.contains("new failures (1):\n    host-2 · disk  FAILED"),
        "{s}"
    );
    assert!(
        changes.contains("fixed (1):\n    host-3 · disk  was FAILED"),
        "{s}"
    );
    assert!(changes.contains("disk_use 62 → 91 on host-2"), "{s}");
    assert!(changes.contains("disk_use 85 → 50 on host-3"), "{s}");
    for file in ["r.xml", "r.md", "r.html", "report.json"] {
        let text = std::fs::read_to_string(out_dir.join(file)).expect("report written");
        assert!(text.contains("host-2"), "{file} names the failing host");
    }

    let history = fleet(&["history"]).state_in(&state).run();
    history.expect_code(0);
    let rows: Vec<&str> = history.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", history.stdout);
    assert!(
        rows.iter()
            .all(|r| r.contains("disks") && r.contains("FAILED"))
    );
    let user = std::env::var("USER").unwrap_or_default();
    assert!(
        user.is_empty() || rows[0].contains(&user),
        "{}",
        history.stdout
    );

    let diff = fleet(&["diff"]).state_in(&state).run();
    diff.expect_code(1);
    assert!(
        diff.stdout.contains("host-2 · disk  FAILED"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("disk_use 62 → 91 on host-2"),
        "{}",
        diff.stdout
    );

    // Stored runs render again, identical to what the run wrote.
    let report = fleet(&["report", "last", "--format", "md"])
        .state_in(&state)
        .run();
    report.expect_code(0);
    let written = std::fs::read_to_string(out_dir.join("r.md")).expect("md written");
    assert_eq!(report.stdout, written);

    // --rerun failed touches only host-2, the one failing host.
    let rerun = fleet(&args)
        .arg("--rerun")
        .arg("failed")
        .state_in(&state)
        .json_in(hosts.dir())
        .run();
    rerun.expect_code(1);
    let names: Vec<&str> = rerun.json()["hosts"]
        .as_array()
        .map(|hs| hs.iter().filter_map(|h| h["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["host-2"], "{}", rerun.stdout);
    assert!(
        rerun.stdout.contains("no changes (1 still failing)"),
        "{}",
        rerun.stdout
    );
}

#[test]
fn rerun_without_history_is_a_usage_error() {
    let hosts = Hosts::start(1);
    let wf = hosts.write_file("disks.kdl", &disk_workflow(&hosts));
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&run_args(&wf, &inv))
        .arg("--rerun")
        .arg("unreachable")
        .run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("no stored run of workflow `disks`"),
        "{}",
        out.stderr
    );
}

#[test]
fn secrets_never_reach_output_reports_or_history() {
    let hosts = Hosts::start(2);
    let wf = hosts.write_file(
        "secret.kdl",
        r#"
workflow secret {
    timeout "20s"
    vars {
        api_token "tok-KDL-7f3a9" secret=#true
        visible "plain-value"
    }
    step call {
        run "echo token={{ api_token }} pass={{ db_pass }} {{ visible }}; echo {{ db_pass }} >&2"
        expect stdout not-contains="tok-KDL" message="{{ host.name }} printed {{ api_token }}"
        export echoed "stdout | trim"
    }
}
"#,
    );
    let inv = hosts.write_inventory("hosts");
    let state = hosts.dir().join("state");
    let out_dir = hosts.dir().join("reports");
    std::fs::create_dir_all(&out_dir).expect("create report dir");
    let mut args = run_args(&wf, &inv);
    args.extend(["--set-secret".into(), "db_pass".into()]);
    for (format, file) in [("junit", "r.xml"), ("md", "r.md"), ("html", "r.html")] {
        args.push("--report".into());
        args.push(format!("{format}={}", out_dir.join(file).display()));
    }
    let out = fleet(&args)
        .env("FLEET_SECRET_db_pass", "pw-ENV-51c2e")
        .state_in(&state)
        .json_in(&out_dir)
        .run();
    out.expect_code(1);
    assert!(out.stdout.contains("********"), "{}", out.stdout);
    assert!(out.stdout.contains("plain-value"), "{}", out.stdout);
    let mut texts = vec![("stdout".to_string(), out.stdout.clone())];
    texts.push(("stderr".to_string(), out.stderr.clone()));
    for p in files_under(&out_dir).into_iter().chain(files_under(&state)) {
        let text = std::fs::read_to_string(&p).expect("readable report");
        texts.push((p.display().to_string(), text));
    }
    assert!(texts.len() >= 7, "reports and two history files: {texts:?}");
    for (name, text) in &texts {
        for secret in ["tok-KDL-7f3a9", "pw-ENV-51c2e"] {
            assert!(
                !text.contains(secret),
                "{secret} leaked into {name}:\n{text}"
            );
        }
    }
    // A stored run rendered again stays redacted.
    let html = fleet(&["report", "last", "--format", "html"])
        .state_in(&state)
        .run();
    html.expect_code(0);
    assert!(html.stdout.contains("********") && !html.stdout.contains("tok-KDL-7f3a9"));

    let missing = fleet(&run_args(&wf, &inv))
        .arg("--set-secret")
        .arg("db_pass")
        .run();
    missing.expect_code(2);
    assert!(
        missing.stderr.contains("FLEET_SECRET_db_pass is not set"),
        "{}",
        missing.stderr
    );
}

#[test]
fn completions_and_man_page_come_from_the_cli_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let out = fleet(&["completions", shell]).run();
        out.expect_code(0);
        assert!(out.stdout.contains("rerun"), "{shell}: {}", out.stdout);
    }
    let man = fleet(&["man"]).run();
    man.expect_code(0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH fleet"),
        "{}",
        man.stdout
    );
    assert!(man.stdout.contains("history"), "{}", man.stdout);
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Before: the state directory was 0755 and history and report files
/// 0644, readable by every local user, and nothing was ever removed.
#[test]
fn history_is_private_reports_keep_their_mode_and_prune_removes_runs() {
    use std::os::unix::fs::PermissionsExt;
    let hosts = Hosts::start(1);
    let wf = hosts.write_file("disks.kdl", &disk_workflow(&hosts));
    let inv = hosts.write_inventory("hosts");
    let state = hosts.dir().join("private-state");
    let report = hosts.dir().join("shared-report.json");
    std::fs::write(&report, "{}").expect("write report");
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let mut args = run_args(&wf, &inv);
    args.extend(["--report-json".to_string(), report.display().to_string()]);
    for _ in 0..3 {
        fleet(&args).state_in(&state).run().expect_code(0);
    }
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("runs")), 0o700);
    let runs: Vec<_> = std::fs::read_dir(state.join("runs"))
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(runs.len(), 3);
    for run in &runs {
        assert_eq!(mode(run), 0o700);
        assert_eq!(mode(&run.join("report.json")), 0o600);
        assert_eq!(mode(&run.join("meta.json")), 0o600);
    }
    assert_eq!(mode(&report), 0o640, "a replaced report keeps its mode");

    let pruned = fleet(&["history", "prune", "--keep", "1"])
        .state_in(&state)
        .run();
    pruned.expect_code(0);
    assert!(
        pruned.stderr.contains("2 runs removed, 1 kept"),
        "{}",
        pruned.stderr
    );
    let listed = fleet(&["history"]).state_in(&state).run();
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);
    let pruned = fleet(&["history", "prune", "--older-than", "1s"])
        .state_in(&state)
        .run();
    pruned.expect_code(0);
    let none = fleet(&["history", "prune"]).state_in(&state).run();
    none.expect_code(2);
    assert!(none.stderr.contains("--keep"), "{}", none.stderr);
}
