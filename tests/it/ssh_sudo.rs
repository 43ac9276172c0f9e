//! `sudo` steps with a become password: `sudo -S` fed on stdin, the
//! password absent from every output.

use std::process::Command;

use crate::cli::fleet;
use crate::harness::Hosts;
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
        crate::tools::skip_check(
            "sudo with a password",
            "needs root and sudo (apt-get install -y sudo) to add a sudoers rule",
        );
        return;
    }
    let hosts = Hosts::start(2);
    let kdl = hosts.inventory_kdl_as(USER);
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

/// A sudo step interrupted mid-command: the root process it started is
/// ended too (the guard runs as root inside sudo).
#[test]
fn ctrl_c_ends_a_running_sudo_command_on_the_host() {
    if !sudo_rule() {
        crate::tools::skip_check(
            "sudo with a password",
            "needs root and sudo (apt-get install -y sudo) to add a sudoers rule",
        );
        return;
    }
    crate::faults::interrupt_ends_the_remote_command("INT", Some((USER, PASSWORD)));
}

/// The attack: a host where `sudo` does not prompt (here a `sudo` first in
/// the user's PATH that reads its stdin, as a NOPASSWD sudo's command
/// would) must not be handed the become password. On main the password was
/// written at once, prompt or not.
#[test]
fn become_password_is_not_sent_when_sudo_does_not_prompt() {
    if !sudo_rule() {
        crate::tools::skip_check(
            "sudo with a password",
            "needs root and sudo (apt-get install -y sudo) to add a sudoers rule",
        );
        return;
    }
    let shim_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let capture = shim_dir.path().join("captured");
    let shim = shim_dir.path().join("sudo");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\n\
             # A sudo that never prompts; whatever arrives on stdin is kept.\n\
             timeout 3 head -c 64 > {capture}\n\
             while [ \"$1\" != -- ]; do shift; done; shift\n\
             exec \"$@\"\n",
            capture = capture.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let _ = Command::new("chmod")
        .args(["0777", &shim_dir.path().display().to_string()])
        .status();
    let _ = Command::new("chmod")
        .args(["0755", &shim.display().to_string()])
        .status();
    // sshd puts the shim first in the user's PATH for this fleet only.
    let ssh_dir = format!("/home/{USER}/.ssh");
    let _ = std::fs::create_dir_all(&ssh_dir);
    std::fs::write(
        format!("{ssh_dir}/environment"),
        format!("PATH={}:/usr/bin:/bin\n", shim_dir.path().display()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let hosts = Hosts::builder()
        .hosts(1)
        .sshd_option("PermitUserEnvironment PATH")
        .build();
    let kdl = hosts.inventory_kdl_as(USER);
    let inv = hosts.write_file("sudo-inv.kdl", &kdl).display().to_string();
    let wf = hosts.write_file(
        "sudo-wf.kdl",
        r#"
workflow become {
    timeout "20s"
    step noprompt {
        sudo
        run "echo ran"
        expect stdout contains="ran"
    }
}
"#,
    );
    let out = fleet(&["run", &wf.display().to_string(), "--inventory", &inv])
        .env("FLEET_BECOME_PASSWORD", PASSWORD)
        .json_in(hosts.dir())
        .run();
    out.expect_code(0);
    let captured = std::fs::read(&capture).unwrap_or_else(|e| panic!("shim never ran: {e}"));
    assert!(
        !String::from_utf8_lossy(&captured).contains(PASSWORD),
        "the password reached a sudo that never asked for it"
    );
}
