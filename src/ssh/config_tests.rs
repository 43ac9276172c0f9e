use std::path::Path;
use std::time::Duration;

use super::*;
use crate::model::HostSettings;

fn host(name: &str, address: &str, explicit: HostSettings) -> Host {
    Host {
        name: name.into(),
        span: crate::model::Span::new(&crate::model::SourceFile::new("inv.kdl", ""), 0, 0),
        address: address.into(),
        port: explicit.port.unwrap_or(22),
        user: explicit.user.clone().unwrap_or_else(|| "me".into()),
        identity_files: explicit.identity_files.clone(),
        known_hosts: explicit.known_hosts.clone(),
        connect_timeout: explicit.connect_timeout.unwrap_or(Duration::from_secs(10)),
        groups: Vec::new(),
        vars: Default::default(),
        jump_hosts: Vec::new(),
        explicit,
    }
}

fn config(text: &str) -> SshConfigFile {
    SshConfigFile::parse(Path::new("/cfg"), text, Some(Path::new("/home/me")))
        .unwrap_or_else(|e| panic!("{e}"))
}

const CONFIG: &str = "\
Host web
    HostName web.internal
    User deploy
    Port 2222
    IdentityFile ~/.ssh/web_%r
    ProxyJump bastion-user@bastion:2200
    StrictHostKeyChecking accept-new
    UserKnownHostsFile ~/.ssh/kh_%h
    ServerAliveInterval 5
    ConnectTimeout 3

Host *
    User fallback
    Port 2000
";

#[test]
fn ssh_config_fills_what_the_inventory_leaves_unset() {
    let cfg = config(CONFIG);
    let t = target_for(&host("web", "web", HostSettings::default()), Some(&cfg))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.address, "web.internal");
    assert_eq!((t.user.as_str(), t.port), ("deploy", 2222));
    assert_eq!(
        t.identity_files,
        vec![PathBuf::from("/home/me/.ssh/web_deploy")]
    );
    assert_eq!(t.known_hosts.len(), 1);
    assert!(
        t.known_hosts[0].ends_with(".ssh/kh_web.internal"),
        "{:?}",
        t.known_hosts
    );
    assert_eq!(t.host_key_checking, HostKeyChecking::AcceptNew);
    assert_eq!(t.keepalive, Duration::from_secs(5));
    assert_eq!(t.connect_timeout, Duration::from_secs(3));
    assert_eq!(t.jump.len(), 1);
    assert_eq!(
        (
            t.jump[0].user.as_str(),
            t.jump[0].address.as_str(),
            t.jump[0].port
        ),
        ("bastion-user", "bastion", 2200)
    );
}

#[test]
fn explicit_inventory_settings_win() {
    let cfg = config(CONFIG);
    let explicit = HostSettings {
        port: Some(22),
        user: Some("ops".into()),
        host_key_checking: Some(HostKeyChecking::Strict),
        jump: Some("none".into()),
        ..Default::default()
    };
    let t = target_for(&host("web", "10.0.0.5", explicit), Some(&cfg))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.address, "10.0.0.5", "an explicit address beats HostName");
    assert_eq!((t.user.as_str(), t.port), ("ops", 22));
    assert_eq!(t.host_key_checking, HostKeyChecking::Strict);
    assert!(t.jump.is_empty());
}

#[test]
fn unmatched_hosts_get_the_wildcard_block() {
    let cfg = config(CONFIG);
    let t = target_for(&host("db", "db", HostSettings::default()), Some(&cfg))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((t.user.as_str(), t.port), ("fallback", 2000));
    assert_eq!(t.host_key_checking, HostKeyChecking::Strict);
}

#[test]
fn match_blocks_are_cut_out_and_reported() {
    let cfg = config("Host a\n    User one\nMatch user x\n    User two\nHost b\n    User three\n");
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    assert!(cfg.warnings[0].contains("line 3"));
    let t = target_for(&host("a", "a", HostSettings::default()), Some(&cfg))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.user, "one");
}

#[test]
fn percent_tokens_expand() {
    assert_eq!(expand("%r@%h:%p %% %x", "h", 22, "u"), "u@h:22 % %x");
}

#[test]
fn jump_specs_parse_like_ssh_dash_j() {
    assert_eq!(split_port("b"), Some(("b", None)));
    assert_eq!(split_port("b:2200"), Some(("b", Some(2200))));
    assert_eq!(split_port("[::1]:2200"), Some(("::1", Some(2200))));
    assert_eq!(split_port("b:x"), None);
}

#[test]
fn proxy_jump_loops_are_refused() {
    let cfg = config("Host a\n    ProxyJump b\nHost b\n    ProxyJump a\n");
    let e = target_for(&host("a", "a", HostSettings::default()), Some(&cfg));
    assert!(e.is_err_and(|e| e.contains("loop")));
}

#[test]
fn host_key_options_from_ssh_config() {
    let plain = target_for(&host("a", "a", HostSettings::default()), None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plain.global_known_hosts,
        vec![
            PathBuf::from("/etc/ssh/ssh_known_hosts"),
            PathBuf::from("/etc/ssh/ssh_known_hosts2")
        ],
        "OpenSSH's default GlobalKnownHostsFile"
    );
    assert!(plain.revoked_host_keys.is_empty() && plain.host_key_alias.is_none());

    let cfg = config(
        "Host a\n    GlobalKnownHostsFile /g1 /g2\n    RevokedHostKeys /revoked_%h\n    \
         HostKeyAlias alias-%h\n\nHost b\n    GlobalKnownHostsFile none\n",
    );
    let a = target_for(&host("a", "a", HostSettings::default()), Some(&cfg))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.global_known_hosts,
        vec![PathBuf::from("/g1"), PathBuf::from("/g2")]
    );
    assert_eq!(a.revoked_host_keys, vec![PathBuf::from("/revoked_a")]);
    assert_eq!(a.host_key_alias.as_deref(), Some("alias-a"));
    let b = target_for(&host("b", "b", HostSettings::default()), Some(&cfg))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        b.global_known_hosts.is_empty(),
        "{:?}",
        b.global_known_hosts
    );
}
