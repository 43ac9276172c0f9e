//! `sudo` steps with a become password: `sudo -S` fed on stdin, the
//! password absent from every output.

use std::process::Command;

use crate::cli::fleet;
use crate::harness::{Fleet, kdl_quoted};
use crate::ssh_auth::ensure_password_user;

const USER: &str = "fleetsudo";
const PASSWORD: &str = "b3come-Me-9";

/// A sudoers rule that demands `USER`'s password. `false` when sudo or root
/// is missing.
fn sudo_rule() -> bool {
    if Command::new("sudo").arg("-V").output().is_err() {
        return false;
    }
    if !ensure_password_user(USER, PASSWORD) {
        return false;
    }
    let rule = format!("{USER} ALL=(ALL) ALL\nDefaults:{USER} !lecture\n");
    std::fs::write("/etc/sudoers.d/fleet-test-sudo", rule).is_ok()
}

#[test]
fn sudo_step_answers_the_password_prompt_without_showing_the_password() {
    if !sudo_rule() {
        eprintln!("SKIPPED: needs root and sudo (apt-get install -y sudo) to add a sudoers rule");
        return;
    }
    let hosts = Fleet::start(2);
    let kdl = hosts.inventory_kdl().replace(
        &format!("user {}", kdl_quoted(&hosts.user())),
        &format!("user {USER}"),
    );
    let inv = hosts.write_file("sudo-inv.kdl", &kdl).display().to_string();
    let wf = hosts.write_file(
        "sudo-wf.kdl",
        r#"
workflow become {
    timeout "20s"
    step whoami {
        sudo
        run "id -un; cat; echo done"
        expect exit=0
        expect stdout contains="root"
    }
}
"#,
    );
    let wf = wf.display().to_string();

    let without = fleet(&["run", &wf, "--inventory", &inv])
        .json_in(hosts.dir())
        .run();
    without.expect_code(1);

    let out = fleet(&["run", &wf, "--inventory", &inv])
        .env("FLEET_BECOME_PASSWORD", PASSWORD)
        .json_in(hosts.dir())
        .run();
    out.expect_code(0);
    let step = out.step("host-1", "whoami");
    assert_eq!(step["status"], "PASSED", "{step}");
    let report =
        std::fs::read_to_string(hosts.dir().join("report.json")).unwrap_or_else(|e| panic!("{e}"));
    for (what, text) in [
        ("stdout", &out.stdout),
        ("stderr", &out.stderr),
        ("JSON report", &report),
    ] {
        assert!(!text.contains(PASSWORD), "password in {what}:\n{text}");
        assert!(
            !text.contains("fleet-sudo-password"),
            "prompt in {what}:\n{text}"
        );
    }
}
