//! OpenSSH-parity connection behaviour against real sshd: host key
//! policies, ssh_config, ProxyJump chains, keepalive, hashed known_hosts.

use std::process::Command;
use std::time::Duration;

use crate::cli::fleet;
use crate::harness::{Hosts, kdl_quoted, processes_mentioning};

/// The harness inventory with `known-hosts` pointing at `known_hosts` and
/// `extra` lines added to `defaults`.
fn inventory(hosts: &Hosts, known_hosts: &std::path::Path, extra: &str, name: &str) -> String {
    let kdl = hosts
        .inventory_kdl()
        .replace(
            &kdl_quoted(&hosts.known_hosts().display().to_string()),
            &kdl_quoted(&known_hosts.display().to_string()),
        )
        .replacen("defaults {\n", &format!("defaults {{\n{extra}\n"), 1);
    hosts.write_file(name, &kdl).display().to_string()
}

#[test]
fn accept_new_records_each_key_once_under_twenty_concurrent_hosts() {
    let hosts = Hosts::start(20);
    let kh = hosts.dir().join("accept-new-known_hosts");
    // host-1 twice under another name: the second connection must find the
    // key the first recorded, not append it again.
    let base = inventory(
        &hosts,
        &kh,
        "    host-key-checking \"accept-new\"",
        "accept.kdl",
    );
    let port1 = hosts.host("host-1").port;
    let mut kdl = std::fs::read_to_string(&base).unwrap_or_else(|e| panic!("{e}"));
    kdl.push_str(&format!(
        "host again-1 address=\"127.0.0.1\" port={port1}\n"
    ));
    std::fs::write(&base, kdl).unwrap_or_else(|e| panic!("{e}"));

    for round in 0..2 {
        let out = fleet(&["ping", "--inventory", &base, "--forks", "21"]).run();
        out.expect_code(0);
        assert_eq!(
            out.stdout.matches(" OK ").count(),
            21,
            "round {round}: {}",
            out.stdout
        );
        let text = std::fs::read_to_string(&kh).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text.lines().count(), 20, "round {round}:\n{text}");
        for host in hosts.hosts() {
            let public = host.host_public_key();
            let key = public.split_whitespace().nth(1).unwrap_or_default();
            let line = format!("[127.0.0.1]:{} ssh-ed25519 {key}", host.port);
            assert_eq!(
                text.lines().filter(|l| l.trim() == line).count(),
                1,
                "{} recorded once:\n{text}",
                host.name
            );
        }
    }

    // A changed key is still refused under accept-new, naming file and line.
    hosts.host("host-3").replace_host_key();
    let out = fleet(&["ping", "--inventory", &base, "--limit", "host-3"]).run();
    out.expect_code(3);
    assert!(out.stdout.contains("HAS CHANGED"), "{}", out.stdout);
    assert!(
        out.stdout.contains("accept-new-known_hosts line"),
        "{}",
        out.stdout
    );
}

#[test]
fn host_key_checking_off_connects_and_warns_once_naming_the_hosts() {
    let hosts = Hosts::start(2);
    let kh = hosts.dir().join("empty-known_hosts");
    let inv = inventory(&hosts, &kh, "    host-key-checking \"off\"", "off.kdl");
    let out = fleet(&["ping", "--inventory", &inv]).run();
    out.expect_code(0);
    assert_eq!(
        out.stderr.matches("host key checking is OFF").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("host-1, host-2"), "{}", out.stderr);
    assert!(!kh.exists(), "off must not record keys");
}

#[test]
fn hashed_known_hosts_entries_are_trusted() {
    let hosts = Hosts::start(2);
    let kh = hosts.dir().join("hashed_known_hosts");
    std::fs::copy(hosts.known_hosts(), &kh).unwrap_or_else(|e| panic!("{e}"));
    let status = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen -H: {e}"));
    assert!(status.status.success());
    let text = std::fs::read_to_string(&kh).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.lines().all(|l| l.starts_with("|1|")), "{text}");
    let inv = inventory(&hosts, &kh, "", "hashed.kdl");
    fleet(&["ping", "--inventory", &inv]).run().expect_code(0);
}

#[test]
fn ssh_config_host_alias_supplies_hostname_user_port_and_key() {
    let hosts = Hosts::start(1);
    let host = hosts.host("host-1");
    // The inventory names only the alias; everything else is ssh_config's.
    let inv = hosts.write_file(
        "alias.kdl",
        &format!(
            "defaults {{\n    known-hosts {}\n}}\nhost web-alias\n",
            kdl_quoted(&hosts.known_hosts().display().to_string())
        ),
    );
    let config = hosts.write_file(
        "ssh_config",
        &format!(
            "Host web-alias\n    HostName 127.0.0.1\n    Port {}\n    User {}\n    \
             IdentityFile {}\n    IdentitiesOnly yes\n\nMatch host nothing\n    User nobody\n\n\
             Host *\n    User wrong-user\n    Port 1\n",
            host.port,
            hosts.user(),
            hosts.client_key().display()
        ),
    );
    let out = fleet(&[
        "ping",
        "--inventory",
        &inv.display().to_string(),
        "--ssh-config",
        &config.display().to_string(),
    ])
    .env("HOME", hosts.dir().join("no-home").display().to_string())
    .run();
    out.expect_code(0);
    assert!(out.stdout.contains("web-alias  OK"), "{}", out.stdout);
    assert!(
        out.stderr.contains("`Match` blocks are not supported"),
        "{}",
        out.stderr
    );

    // An explicit inventory setting wins over ssh_config.
    let kdl = std::fs::read_to_string(&inv).unwrap_or_else(|e| panic!("{e}"));
    let inv2 = hosts.write_file(
        "alias2.kdl",
        &kdl.replace("host web-alias", "host web-alias port=1"),
    );
    let out = fleet(&[
        "ping",
        "--inventory",
        &inv2.display().to_string(),
        "--ssh-config",
        &config.display().to_string(),
    ])
    .run();
    out.expect_code(3);
    assert!(out.stdout.contains("127.0.0.1:1"), "{}", out.stdout);
}

#[test]
fn two_hop_proxy_jump_chain_shares_one_connection_per_jump_host() {
    let hosts = Hosts::builder()
        .hosts(4)
        .sshd_option("LogLevel DEBUG1")
        .build();
    let mut kdl = hosts.inventory_kdl();
    // host-3 and host-4 through host-1 then host-2.
    for target in ["host-3", "host-4"] {
        let port = hosts.host(target).port;
        kdl = kdl.replace(
            &format!("host {target} address=\"127.0.0.1\" port={port}"),
            &format!("host {target} address=\"127.0.0.1\" port={port} jump=\"host-1,host-2\""),
        );
    }
    let inv = hosts.write_file("jump.kdl", &kdl).display().to_string();
    let out = fleet(&["ping", "--inventory", &inv, "--limit", "host-3,host-4"]).run();
    out.expect_code(0);
    assert_eq!(out.stdout.matches(" OK ").count(), 2, "{}", out.stdout);

    let log = |name: &str| std::fs::read_to_string(hosts.host(name).log_path()).unwrap_or_default();
    let (j1, j2) = (log("host-1"), log("host-2"));
    // One login per jump host, however many hosts sit behind it.
    assert_eq!(j1.matches("Accepted publickey").count(), 1, "{j1}");
    assert_eq!(j2.matches("Accepted publickey").count(), 1, "{j2}");
    // The outer jump forwarded to the inner one; the inner to the targets.
    // (Every sshd listens on 127.0.0.1, so the targets are reachable
    // directly too: the logs are what proves the path.)
    let port2 = hosts.host("host-2").port;
    assert!(
        j1.contains(&format!("target 127.0.0.1 port {port2}")),
        "{j1}"
    );
    for target in ["host-3", "host-4"] {
        let port = hosts.host(target).port;
        assert!(
            j2.contains(&format!("target 127.0.0.1 port {port}")),
            "{target}: {j2}"
        );
    }
}

#[test]
fn keepalive_detects_a_stopped_server_mid_step() {
    let hosts = Hosts::start(1);
    let inv = inventory(
        &hosts,
        hosts.known_hosts(),
        "    keepalive \"1s\"",
        "keepalive.kdl",
    );
    // Unique per test run: a `sleep` left over by an earlier run (its
    // remote `timeout` guard outlives a killed sshd) must not be mistaken
    // for this run's.
    let token = hosts
        .dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let wf = hosts.write_file(
        "long.kdl",
        &format!(
            "workflow long {{\n    timeout \"300s\"\n    step wait {{\n        \
             run \"sleep 300; echo {token}\"\n    }}\n}}\n"
        ),
    );
    let wf = wf.display().to_string();
    let dir = hosts.dir().to_path_buf();
    let runner = std::thread::spawn(move || {
        fleet(&["run", &wf, "--inventory", &inv])
            .json_in(&dir)
            .run()
    });
    while processes_mentioning(&format!("echo {token}")).is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    hosts.host("host-1").pause();
    let out = runner
        .join()
        .unwrap_or_else(|_| panic!("fleet runner panicked"));
    hosts.host("host-1").resume();
    assert!(out.json.is_some(), "{}\n{}", out.stdout, out.stderr);
    let step = &out.host("host-1")["steps"][0];
    // A timeout would mean the keepalive never fired (the step allows 300 s).
    assert_eq!(step["status"], "ERROR", "{}", out.host("host-1"));
}

/// `ssh-keygen -s ca -h -n principal key.pub` → `key-cert.pub`.
fn sign_host_key(ca: &std::path::Path, key: &std::path::Path, principal: &str) {
    let public = format!("{}.pub", key.display());
    let out = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(ca)
        .args([
            "-I",
            "fleet-host",
            "-h",
            "-n",
            principal,
            "-V",
            "-5m:+1h",
            &public,
        ])
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen -s: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn host_certificates_signed_by_a_cert_authority_are_trusted() {
    let hosts = Hosts::start(1);
    let host = hosts.host("host-1");
    let ca = hosts.dir().join("host_ca");
    crate::harness::keygen_with(&ca, "host-ca", "ed25519", "");
    let key = host.host_key_path().to_path_buf();
    let cert = format!("{}-cert.pub", key.display());
    sign_host_key(&ca, &key, "wrong.example");
    host.reconfigure(&format!("HostCertificate {cert}"));

    let ca_pub =
        std::fs::read_to_string(ca.with_extension("pub")).unwrap_or_else(|e| panic!("{e}"));
    let kh = hosts.write_file("ca_known_hosts", &format!("@cert-authority * {ca_pub}"));
    let inv = inventory(&hosts, &kh, "", "ca.kdl");

    let wrong = fleet(&["ping", "--inventory", &inv]).run();
    wrong.expect_code(3);
    assert!(
        wrong.stdout.contains("is not valid for 127.0.0.1"),
        "{}",
        wrong.stdout
    );

    sign_host_key(&ca, &key, "127.0.0.1");
    host.stop();
    host.start();
    let out = fleet(&["ping", "--inventory", &inv]).run();
    out.expect_code(0);
}

/// `fleet ping --forks 1 --limit LIMIT [--ssh-config CONFIG]`.
fn ping_with_config(
    inv: &str,
    config: Option<&std::path::Path>,
    limit: &str,
) -> crate::cli::Outcome {
    let mut f = fleet(&["ping", "--inventory", inv, "--forks", "1", "--limit", limit]);
    if let Some(config) = config {
        f = f.arg("--ssh-config").arg(config.display().to_string());
    }
    f.run()
}

/// `host`'s line of `fleet ping` output, after its padded name.
fn ping_line<'a>(out: &'a crate::cli::Outcome, host: &str) -> &'a str {
    out.stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix(host)
                .filter(|rest| rest.starts_with(' '))
                .map(str::trim_start)
        })
        .unwrap_or_else(|| panic!("{host} not in ping output:\n{}", out.stdout))
}

const HOST_KEY_FAILED: &str = "UNREACHABLE  host key verification failed";

/// The harness's known_hosts without the lines for `port`.
fn known_hosts_without(hosts: &Hosts, port: u16, name: &str) -> std::path::PathBuf {
    let all = std::fs::read_to_string(hosts.known_hosts()).unwrap_or_else(|e| panic!("{e}"));
    let kept: String = all
        .lines()
        .filter(|l| !l.starts_with(&format!("[127.0.0.1]:{port} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    hosts.write_file(name, &kept)
}

/// Issue 12: the shared bastion connection was keyed by user@address:port
/// only, so a host with `host-key-checking "off"` connected the bastion
/// without checking it and strict hosts behind it reused that connection.
#[test]
fn host_key_checking_off_cannot_hand_strict_hosts_an_unverified_bastion() {
    let hosts = Hosts::start(3);
    let bastion = hosts.host("host-1").port;
    // Targets are known; the bastion is not.
    let kh = known_hosts_without(&hosts, bastion, "no-bastion-known_hosts");
    let mut kdl = hosts.inventory_kdl().replace(
        &kdl_quoted(&hosts.known_hosts().display().to_string()),
        &kdl_quoted(&kh.display().to_string()),
    );
    for (target, extra) in [("host-2", " host-key-checking=\"off\""), ("host-3", "")] {
        let port = hosts.host(target).port;
        kdl = kdl.replace(
            &format!("host {target} address=\"127.0.0.1\" port={port}"),
            &format!(
                "host {target} address=\"127.0.0.1\" port={port} jump=\"127.0.0.1:{bastion}\"{extra}"
            ),
        );
    }
    let inv = hosts.write_file("jump-off.kdl", &kdl).display().to_string();
    // host-2 (off) first: it connects the bastion unverified.
    let out = ping_with_config(&inv, None, "host-2,host-3");
    out.expect_code(3);
    assert!(
        ping_line(&out, "host-2").starts_with("OK"),
        "{}",
        out.stdout
    );
    let strict = ping_line(&out, "host-3");
    assert!(strict.starts_with(HOST_KEY_FAILED), "{strict}");
    assert!(strict.contains(&format!("{bastion}")), "{strict}");
}

/// OpenSSH reads `/etc/ssh/ssh_known_hosts` after the user's files
/// (`GlobalKnownHostsFile`); ssh_config points it elsewhere here.
#[test]
fn global_known_hosts_file_is_trusted_after_the_users() {
    let hosts = Hosts::start(1);
    let empty = hosts.write_file("empty-known_hosts", "");
    let inv = inventory(&hosts, &empty, "", "global.kdl");
    let out = ping_with_config(&inv, None, "host-1");
    out.expect_code(3);
    let config = hosts.write_file(
        "ssh_config",
        &format!(
            "Host *\n    GlobalKnownHostsFile {}\n",
            hosts.known_hosts().display()
        ),
    );
    let out = ping_with_config(&inv, Some(&config), "host-1");
    out.expect_code(0);
    assert!(
        std::fs::read_to_string(&empty).is_ok_and(|t| t.is_empty()),
        "nothing may be written for a key found in the global file"
    );
}

/// `RevokedHostKeys`: a revoked key is refused even though known_hosts
/// lists it, and even with host key checking off.
#[test]
fn revoked_host_keys_are_refused_even_when_known() {
    let hosts = Hosts::start(2);
    let revoked = hosts.write_file("revoked", &hosts.host("host-1").host_public_key());
    let config = hosts.write_file(
        "ssh_config",
        &format!("Host *\n    RevokedHostKeys {}\n", revoked.display()),
    );
    let inv = hosts.write_inventory("hosts").display().to_string();
    let out = ping_with_config(&inv, Some(&config), "host-1,host-2");
    out.expect_code(3);
    assert!(
        ping_line(&out, "host-2").starts_with("OK"),
        "{}",
        out.stdout
    );
    let refused = ping_line(&out, "host-1");
    assert!(refused.starts_with(HOST_KEY_FAILED), "{refused}");
    assert!(refused.contains("revoked"), "{refused}");

    let off = inventory(
        &hosts,
        hosts.known_hosts(),
        "    host-key-checking \"off\"",
        "off.kdl",
    );
    let out = ping_with_config(&off, Some(&config), "host-1");
    out.expect_code(3);
    assert!(
        ping_line(&out, "host-1").starts_with(HOST_KEY_FAILED),
        "{}",
        out.stdout
    );
}

/// `HostKeyAlias`: the key is looked up under the alias, with no port.
#[test]
fn host_key_alias_names_the_key_in_known_hosts() {
    let hosts = Hosts::start(1);
    let public = hosts.host("host-1").host_public_key();
    let kh = hosts.write_file("alias-known_hosts", &format!("fleet-alias-1 {public}"));
    let inv = inventory(&hosts, &kh, "", "alias.kdl");
    let out = ping_with_config(&inv, None, "host-1");
    out.expect_code(3);
    let config = hosts.write_file(
        "ssh_config",
        "Host host-1\n    HostKeyAlias fleet-alias-1\n",
    );
    let out = ping_with_config(&inv, Some(&config), "host-1");
    out.expect_code(0);
}
