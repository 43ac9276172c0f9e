//! Ansible inventories used in place of fleet's own, against real sshd.

use crate::cli::fleet;
use crate::harness::Hosts;

const WORKFLOW: &str = r#"
workflow uptime {
    timeout "20s"
    step uptime {
        run "uptime"
        expect exit=0
    }
}
"#;

#[test]
fn an_ansible_ini_inventory_runs_like_a_fleet_one() {
    let hosts = Hosts::start(2);
    let wf = hosts.write_file("uptime.kdl", WORKFLOW);
    let mut ini = String::from("[web]\n");
    for h in hosts.hosts() {
        ini.push_str(&format!(
            "{} ansible_host=127.0.0.1 ansible_port={}\n",
            h.name,
            h.socket_addr().port()
        ));
    }
    ini.push_str(&format!(
        "\n[all:vars]\nansible_user={}\nansible_ssh_private_key_file={}\n",
        hosts.user(),
        hosts.client_key().display()
    ));
    let inv = hosts.write_file("hosts.ini", &ini);
    // Ansible has no known_hosts variable: the default file is used.
    let home = hosts.dir().join("home");
    std::fs::create_dir_all(home.join(".ssh")).expect("create ~/.ssh");
    std::fs::copy(hosts.known_hosts(), home.join(".ssh/known_hosts")).expect("copy known_hosts");
    let out = fleet(&[
        "run".to_string(),
        wf.display().to_string(),
        "--inventory".into(),
        inv.display().to_string(),
    ])
    .env("HOME", home.display().to_string())
    .json_in(hosts.dir())
    .run();
    out.expect_code(0);
    assert_eq!(out.json()["totals"]["hosts_ok"], 2, "{}", out.stdout);
    assert_eq!(out.json()["inventory"], "hosts");
}

/// On main `a]b[1:2` panicked and `[0:99999999999]` tried to build a
/// hundred billion names; both are load errors naming file:line now.
#[test]
fn malformed_or_huge_ranges_are_load_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (host, message) in [
        ("a]b[1:2", "unbalanced"),
        ("web[0:99999999999]", "expands to 100000000000 names"),
    ] {
        let inv = dir.path().join("bad.ini");
        std::fs::write(&inv, format!("[web]\nok1\n{host}\n")).unwrap_or_else(|e| panic!("{e}"));
        let out = fleet(&["hosts", "--inventory", &inv.display().to_string()]).run();
        out.expect_code(2);
        assert!(out.stderr.contains(message), "{}", out.stderr);
        assert!(out.stderr.contains("bad.ini:3:1"), "{}", out.stderr);
    }
}

#[test]
fn a_group_cycle_is_a_load_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("cycle.ini");
    std::fs::write(&inv, "[a]\nh1\n\n[a:children]\nb\n\n[b:children]\na\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = fleet(&["hosts", "--inventory", &inv.display().to_string()]).run();
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("group cycle: `a` contains `b` contains `a`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cycle.ini:8:1"), "{}", out.stderr);
}
