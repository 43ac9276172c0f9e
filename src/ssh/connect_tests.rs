use super::*;
use std::path::Path;

use crate::model::HostKeyChecking;

/// A strict-checking target on port 22 with nothing else set: tests
/// change the fields they are about.
pub(crate) fn target(name: &str, address: &str) -> Target {
    Target {
        name: name.to_string(),
        address: address.to_string(),
        port: 22,
        user: "u".to_string(),
        identity_files: vec![],
        known_hosts: vec![],
        global_known_hosts: vec![],
        revoked_host_keys: vec![],
        host_key_alias: None,
        connect_timeout: Duration::from_secs(1),
        host_key_checking: HostKeyChecking::Strict,
        keepalive: DEFAULT_KEEPALIVE,
        identities_only: false,
        jump: Vec::new(),
    }
}

#[test]
fn messages_name_the_inventory_host_when_it_differs() {
    let t = target("127.0.0.1", "127.0.0.1");
    assert_eq!(describe_target(&t, "[127.0.0.1]:2201"), "[127.0.0.1]:2201");
    let t = target("db1", "10.0.0.5");
    assert_eq!(describe_target(&t, "10.0.0.5"), "db1 (10.0.0.5)");
}

#[test]
fn recorded_algorithms_are_preferred() {
    let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHC1K8TinUDN/g7+ktKlkIras5KnlukH+ECNN0LUhyNymp2G2MZ9OFiG7Vs2YG0ZFoVOE98c47HtuWcakObK73E=";
    let kh = vec![Arc::new(KnownHostsFile::parse(
        Path::new("/kh"),
        &format!("h {ecdsa}\n"),
    ))];
    let config = client_config(&kh, "h");
    assert!(matches!(config.preferred.key[0], Algorithm::Ecdsa { .. }));
    assert_eq!(
        client_config(&kh, "other").preferred.key[0],
        Algorithm::Ed25519
    );
}
