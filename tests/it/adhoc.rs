//! `fleet exec`, `ping`, `hosts` and `check` against real sshd processes.

use crate::cli::fleet;
use crate::harness::Hosts;

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

#[test]
fn exec_groups_identical_output_like_clush() {
    let hosts = Hosts::builder().hosts(4).refusing("host-x").build();
    hosts.write_file("marker-host-3", "different\n");
    let inv = path(&hosts.write_inventory("hosts"));
    let dir = path(hosts.dir());
    // Not a template: `{#` and `{{` must reach the shell untouched.
    let command = format!(
        "cat {dir}/marker-$(hostname -s 2>/dev/null; echo) 2>/dev/null; a=(x y); echo same ${{#a[@]}}"
    );
    let out = fleet(&["exec", "--inventory", &inv])
        .arg(&command)
        .arg("--limit")
        .arg("!host-3")
        .run();
    out.expect_code(3);
    let text = &out.stdout;
    assert!(text.contains("host-1,host-2,host-4 (3)\n"), "{text}");
    assert!(text.contains("same 2\n"), "{text}");
    assert!(text.contains("host-x (1)"), "{text}");
    assert!(text.contains("[UNREACHABLE: connection refused"), "{text}");
    assert!(!text.contains("host-3"), "{text}");
}

#[test]
fn exec_shows_differing_outputs_and_exit_status_separately() {
    let hosts = Hosts::start(3);
    let inv = path(&hosts.write_inventory("hosts"));
    let dir = path(hosts.dir());
    hosts.write_file("flag-2", "");
    // host-2 is told apart by its sshd port in SSH_CONNECTION.
    let port2 = hosts.host("host-2").port;
    let command = format!(
        "set -- $SSH_CONNECTION; if [ \"$4\" = {port2} ]; then echo odd; exit 4; else echo even; fi; ls {dir} >/dev/null"
    );
    let out = fleet(&["exec", "--inventory", &inv]).arg(&command).run();
    out.expect_code(1);
    assert!(out.stdout.contains("host-1,host-3 (2)\n"), "{}", out.stdout);
    assert!(out.stdout.contains("host-2 (1)\n"), "{}", out.stdout);
    assert!(
        out.stdout.contains("odd\n[exit status 4]"),
        "{}",
        out.stdout
    );
}

#[test]
fn ping_reports_each_host() {
    let hosts = Hosts::builder().hosts(2).refusing("host-x").build();
    hosts.host("host-2").replace_host_key();
    let inv = path(&hosts.write_inventory("hosts"));
    let out = fleet(&["ping", "--inventory", &inv]).run();
    out.expect_code(3);
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}: {}", out.stdout))
            .to_string()
    };
    assert!(line("host-1").contains(" OK "), "{}", out.stdout);
    assert!(
        line("host-2").contains("UNREACHABLE  host key verification failed"),
        "{}",
        out.stdout
    );
    assert!(
        line("host-x").contains("UNREACHABLE  connection refused"),
        "{}",
        out.stdout
    );
}

#[test]
fn ping_all_ok_exits_zero() {
    let hosts = Hosts::start(3);
    let inv = path(&hosts.write_inventory("hosts"));
    fleet(&["ping", "--inventory", &inv]).run().expect_code(0);
}

#[test]
fn hosts_lists_the_selection() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("inv.kdl");
    std::fs::write(
        &inv,
        r#"
defaults { user "ops" }
group prod {
    host web-1 address="10.0.0.1"
    host web-2 address="10.0.0.2" port=2222
    group db { host db-1 address="10.0.0.3" }
}
group dr { host dr-1 address="10.0.1.1" }
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = fleet(&[
        "hosts",
        "--inventory",
        &path(&inv),
        "--limit",
        "group:prod,!web-1",
    ])
    .run();
    out.expect_code(0);
    let names: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["web-2", "db-1"], "{}", out.stdout);
    assert!(out.stdout.contains("ops@10.0.0.2:2222"), "{}", out.stdout);
    let bad = fleet(&["hosts", "--inventory", &path(&inv), "--limit", "group:nope"]).run();
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("group `nope` does not exist"),
        "{}",
        bad.stderr
    );
}

#[test]
fn check_validates_without_connecting_and_reports_template_errors() {
    let hosts = Hosts::start(1);
    let inv = path(&hosts.write_inventory("hosts"));
    let good = hosts.write_file(
        "good.kdl",
        "workflow good {\n    vars { limit 80 }\n    step a { run \"echo {{ limit }} {{ host.name }}\" }\n}\n",
    );
    let out = fleet(&["check", &path(&good), "--inventory", &inv]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("valid for 1 hosts"), "{}", out.stdout);
    // The command as it will run: values rendered and shell-quoted.
    assert!(
        out.stdout.contains("  - a: echo 80 host-"),
        "{}",
        out.stdout
    );
    let bad = hosts.write_file(
        "bad.kdl",
        "workflow bad {\n    step a { run \"echo {{ limt }}\" }\n    step b { run \"echo {{ missing }}\" }\n}\n",
    );
    let out = fleet(&["check", &path(&bad), "--inventory", &inv]).run();
    out.expect_code(2);
    assert!(out.stderr.contains("bad.kdl:2:27"), "{}", out.stderr);
    assert!(
        out.stderr.contains("bad.kdl:3:27"),
        "both errors in one pass: {}",
        out.stderr
    );
    // --set defines the missing variables.
    let out = fleet(&[
        "check",
        &path(&bad),
        "--inventory",
        &inv,
        "--set",
        "limt=1",
        "--set",
        "missing=x",
    ])
    .run();
    out.expect_code(0);
}

#[test]
fn usage_errors_share_the_config_exit_code() {
    let out = fleet(&["run"]).run();
    out.expect_code(2);
    let out = fleet(&["run", "nonexistent-workflow", "--inventory", "nope"]).run();
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("workflow `nonexistent-workflow` not found"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("available: daily, demo, dr-stop-services, quarterly, weekly"),
        "{}",
        out.stderr
    );
}

/// An ad-hoc command sent to a whole inventory is more often a slip than a
/// plan: above fleet::plan::guard::EXEC_CONFIRM_ABOVE hosts without --limit it
/// needs the typed confirmation, or --yes. On main it ran everywhere.
#[test]
fn exec_on_many_hosts_without_limit_needs_confirmation() {
    let listeners: Vec<_> = (0..=fleet::plan::guard::EXEC_CONFIRM_ABOVE)
        .map(|_| crate::cli::silent_listener())
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("many.kdl");
    let text: String = listeners
        .iter()
        .enumerate()
        .map(|(i, (_, port))| format!("host h{i} address=\"127.0.0.1\" port={port}\n"))
        .collect();
    std::fs::write(&inv, text).unwrap_or_else(|e| panic!("{e}"));
    let out = fleet(&["exec", "--inventory", &path(&inv), "touch /tmp/everywhere"]).run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("without --limit (more than 5)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    for (listener, _) in &listeners {
        crate::cli::assert_no_connection(listener);
    }
}

#[test]
fn exec_on_protected_hosts_needs_yes() {
    let hosts = Hosts::start(1);
    let inv = hosts.write_file(
        "protected.kdl",
        &format!("protect \"all-hosts\"\n{}", hosts.inventory_kdl()),
    );
    let out = fleet(&["exec", "--inventory", &path(&inv), "echo hi"]).run();
    out.expect_code(2);
    assert!(out.stderr.contains("1 protected host"), "{}", out.stderr);
    let out = fleet(&["exec", "--inventory", &path(&inv), "--yes", "echo hi"]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("hi\n"), "{}", out.stdout);
}

/// On main `--timeout 99999999999y` was accepted and overflowed the clock.
#[test]
fn exec_timeout_is_capped() {
    let out = fleet(&["exec", "--inventory", "example", "--timeout", "8d", "true"]).run();
    out.expect_code(2);
    assert!(out.stderr.contains("maximum of 7days"), "{}", out.stderr);
}

/// Bytes that move the cursor up (`ESC [1A`), erase the line (`ESC [2K`)
/// and return to its start (`CR`): printed raw, they hide the line above.
const HIDE: &str = "\\033[1A\\033[2K\\r";
const HIDE_SHOWN: &str = "^[[1A^[[2K^M";

fn assert_no_terminal_controls(what: &str, text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "raw control characters in {what}: {text:?}"
    );
}

/// Issue 12: `fleet exec` printed what hosts wrote as is, so one host could
/// erase the header or output of another on the operator's terminal.
#[test]
fn exec_output_cannot_repaint_the_terminal() {
    let hosts = Hosts::start(2);
    let inv = path(&hosts.write_inventory("hosts"));
    let out = fleet(&["exec", "--inventory", &inv])
        .arg(format!("printf 'real-line\\n{HIDE}all fine\\n'"))
        .run();
    out.expect_code(0);
    assert_no_terminal_controls("exec output", &out.stdout);
    assert!(
        out.stdout
            .contains(&format!("real-line\n{HIDE_SHOWN}all fine")),
        "{}",
        out.stdout
    );
}

/// The summary quotes failing output; the dry-run plan (also what a
/// destructive run asks the operator to confirm) shows rendered commands.
/// Neither may carry sequences that hide their lines.
#[test]
fn summary_and_plan_show_escape_sequences_visibly() {
    let hosts = Hosts::start(1);
    let inv = path(&hosts.write_inventory("hosts"));
    // KDL strings take `\\` for the backslash printf needs.
    let hide = HIDE.replace('\\', "\\\\");
    let wf = hosts.write_file(
        "hide.kdl",
        &format!(
            r#"
workflow hide {{
    vars {{ note "x\u{{1b}}[1A\u{{1b}}[2K\ry" }}
    step hide {{
        run "printf 'host-1 is FAILING\\n{hide}'; echo {{{{ note }}}}"
        expect stdout contains="never-there"
    }}
}}
"#
        ),
    );
    let wf = path(&wf);
    let out = fleet(&["run", &wf, "--inventory", &inv]).run();
    out.expect_code(1);
    assert_no_terminal_controls("summary", &out.stdout);
    assert!(out.stdout.contains(HIDE_SHOWN), "{}", out.stdout);
    let plan = fleet(&["run", &wf, "--inventory", &inv, "--dry-run"]).run();
    plan.expect_code(0);
    assert_no_terminal_controls("plan", &plan.stdout);
    assert!(plan.stdout.contains(HIDE_SHOWN), "{}", plan.stdout);
}
