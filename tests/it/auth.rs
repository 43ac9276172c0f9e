//! Public-key authentication through a real `ssh-agent`.

use std::process::{Child, Command, Stdio};

use crate::cli::fleet;
use crate::harness::Hosts;

/// An `ssh-agent` bound to a socket in a temp dir, killed on drop.
struct Agent {
    child: Child,
    socket: std::path::PathBuf,
}

impl Agent {
    fn start(dir: &std::path::Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ssh-agent: {e}"));
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Agent { child, socket }
    }

    fn add(&self, key: &std::path::Path) {
        let status = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run ssh-add: {e}"));
        assert!(status.success(), "ssh-add failed");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn agent_key_authenticates_without_any_identity_file() {
    let hosts = Hosts::start(2);
    // The inventory names no key, and HOME has no ~/.ssh: only the agent can
    // authenticate.
    let kdl: String = hosts
        .inventory_kdl()
        .lines()
        .filter(|l| !l.contains("identity-file"))
        .map(|l| format!("{l}\n"))
        .collect();
    let inv = hosts.write_file("agent-inv.kdl", &kdl);
    let home = hosts.dir().join("empty-home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let inv = inv.display().to_string();

    let without = fleet(&["ping", "--inventory", &inv])
        .env("HOME", home.display().to_string())
        .run();
    without.expect_code(3);
    assert!(
        without.stdout.contains("authentication failed"),
        "{}",
        without.stdout
    );

    let agent = Agent::start(hosts.dir());
    agent.add(hosts.client_key());
    let with = fleet(&["ping", "--inventory", &inv])
        .env("HOME", home.display().to_string())
        .env("SSH_AUTH_SOCK", agent.socket.display().to_string())
        .run();
    with.expect_code(0);
    assert_eq!(with.stdout.matches(" OK ").count(), 2, "{}", with.stdout);
}
