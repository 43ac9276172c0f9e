//! Ansible inventories used in place of fleet's own, against real sshd.

use crate::cli::fleet;
use crate::harness::Fleet;

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
    let hosts = Fleet::start(2);
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
