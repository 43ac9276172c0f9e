//! OpenSSH-parity authentication against real sshd: encrypted keys, RSA
//! with rsa-sha2 only, user certificates, passwords.

use std::path::Path;
use std::process::Command;

use crate::cli::fleet;
use crate::harness::{Hosts, keygen_with};

/// The harness inventory with its identity-file replaced by `key` (or
/// removed when `None`).
fn inventory_with_key(hosts: &Hosts, key: Option<&Path>, name: &str) -> String {
    let client = hosts.client_key().display().to_string();
    let kdl: String = hosts
        .inventory_kdl()
        .lines()
        .filter_map(|l| match (l.contains("identity-file"), key) {
            (false, _) => Some(format!("{l}\n")),
            (true, Some(k)) => Some(format!(
                "{}\n",
                l.replace(&client, &k.display().to_string())
            )),
            (true, None) => None,
        })
        .collect();
    hosts.write_file(name, &kdl).display().to_string()
}

/// A HOME without `~/.ssh`, so no default key can log in by accident.
fn empty_home(hosts: &Hosts) -> String {
    let home = hosts.dir().join("empty-home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    home.display().to_string()
}

#[test]
fn encrypted_key_is_decrypted_with_the_passphrase_from_the_environment() {
    let hosts = Hosts::start(3);
    let key = hosts.dir().join("encrypted_key");
    keygen_with(&key, "encrypted", "ed25519", "correct horse");
    hosts.authorize(&key.with_extension("pub"));
    let inv = inventory_with_key(&hosts, Some(&key), "enc.kdl");

    let without = fleet(&["ping", "--inventory", &inv])
        .env("HOME", empty_home(&hosts))
        .run();
    without.expect_code(3);
    assert!(
        without.stdout.contains("encrypted and no passphrase"),
        "{}",
        without.stdout
    );

    let wrong = fleet(&["ping", "--inventory", &inv])
        .env("HOME", empty_home(&hosts))
        .env("FLEET_KEY_PASSPHRASE", "wrong")
        .run();
    wrong.expect_code(3);
    assert!(
        wrong.stdout.contains("passphrase does not decrypt it"),
        "{}",
        wrong.stdout
    );

    let with = fleet(&["ping", "--inventory", &inv])
        .env("HOME", empty_home(&hosts))
        .env("FLEET_KEY_PASSPHRASE", "correct horse")
        .run();
    with.expect_code(0);
    assert_eq!(with.stdout.matches(" OK ").count(), 3, "{}", with.stdout);
    assert!(!with.stdout.contains("correct horse"));
    assert!(!with.stderr.contains("correct horse"));
}

#[test]
fn rsa_key_signs_with_sha2_when_the_server_refuses_ssh_rsa() {
    let hosts = Hosts::builder()
        .hosts(2)
        .sshd_option("PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256")
        .build();
    let key = hosts.dir().join("rsa_key");
    keygen_with(&key, "rsa", "rsa", "");
    hosts.authorize(&key.with_extension("pub"));
    let inv = inventory_with_key(&hosts, Some(&key), "rsa.kdl");
    let out = fleet(&["ping", "--inventory", &inv])
        .env("HOME", empty_home(&hosts))
        .run();
    out.expect_code(0);
    assert_eq!(out.stdout.matches(" OK ").count(), 2, "{}", out.stdout);
}

/// Signs `key.pub` with `ca` for `principal`, writing `key-cert.pub`.
fn sign_user_key(ca: &Path, key: &Path, principal: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(ca)
        .args(["-I", "fleet-test", "-n", principal, "-V", "-5m:+1h"])
        .arg(key.with_extension("pub"))
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen -s: {e}"));
    assert!(
        out.status.success(),
        "ssh-keygen -s failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn user_certificates_signed_by_a_trusted_ca_authenticate() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca = dir.path().join("user_ca");
    keygen_with(&ca, "user-ca", "ed25519", "");
    let hosts = Hosts::builder()
        .hosts(2)
        .sshd_option(&format!(
            "TrustedUserCAKeys {}",
            ca.with_extension("pub").display()
        ))
        .build();
    // Neither key is in authorized_keys: only the certificate can log in.
    for kind in ["ed25519", "rsa"] {
        let key = hosts.dir().join(format!("cert_{kind}"));
        keygen_with(&key, "certified", kind, "");
        let inv = inventory_with_key(&hosts, Some(&key), &format!("cert-{kind}.kdl"));
        let refused = fleet(&["ping", "--inventory", &inv])
            .env("HOME", empty_home(&hosts))
            .run();
        refused.expect_code(3);

        sign_user_key(&ca, &key, &hosts.user());
        let out = fleet(&["ping", "--inventory", &inv])
            .env("HOME", empty_home(&hosts))
            .run();
        out.expect_code(0);
        assert_eq!(
            out.stdout.matches(" OK ").count(),
            2,
            "{kind}: {}",
            out.stdout
        );
    }
}

/// Creates `name` with `password` (root only); `false` when not root.
pub(crate) fn ensure_password_user(name: &str, password: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return false;
    }
    let exists = Command::new("id")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        // Several tests may race to create the user; a loser's failure is
        // fine as long as the user exists afterwards.
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", name])
            .output();
    }
    let mut chpasswd = Command::new("chpasswd")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("chpasswd: {e}"));
    if let Some(stdin) = chpasswd.stdin.as_mut() {
        use std::io::Write;
        let _ = writeln!(stdin, "{name}:{password}");
    }
    let status = chpasswd.wait().unwrap_or_else(|e| panic!("chpasswd: {e}"));
    assert!(status.success(), "chpasswd failed");
    true
}

#[test]
fn password_authentication_uses_the_password_from_the_environment() {
    const USER: &str = "fleetpw";
    const PASSWORD: &str = "s3cret-Pa55";
    if !ensure_password_user(USER, PASSWORD) {
        crate::tools::skip_check(
            "password authentication",
            "needs root to create a test user",
        );
        return;
    }
    let hosts = Hosts::builder()
        .hosts(2)
        .sshd_option("PasswordAuthentication yes")
        .build();
    let inv = inventory_with_key(&hosts, None, "pw.kdl");
    let kdl = std::fs::read_to_string(&inv).unwrap_or_else(|e| panic!("{e}"));
    let kdl = kdl.replace(
        &format!("user {}", crate::harness::kdl_quoted(&hosts.user())),
        &format!("user {USER}"),
    );
    std::fs::write(&inv, kdl).unwrap_or_else(|e| panic!("{e}"));

    let without = fleet(&["ping", "--inventory", &inv])
        .env("HOME", empty_home(&hosts))
        .run();
    without.expect_code(3);
    assert!(
        without.stdout.contains("FLEET_SSH_PASSWORD"),
        "{}",
        without.stdout
    );

    let out = fleet(&["ping", "--inventory", &inv])
        .env("HOME", empty_home(&hosts))
        .env("FLEET_SSH_PASSWORD", PASSWORD)
        .run();
    out.expect_code(0);
    assert_eq!(out.stdout.matches(" OK ").count(), 2, "{}", out.stdout);
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
}
