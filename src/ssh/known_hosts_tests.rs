use super::*;

// Fresh keys from `ssh-keygen`.
const ED_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIN/b7IdIr6VvKiWOOtaqdnvuI3+ohLFFe3b17ifxPT0d";
const ED_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAICd4Fs1kzvOYBInT/VKEv2LrO3ulOa0klYXsNzy5hBBn";
const ECDSA: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHC1K8TinUDN/g7+ktKlkIras5KnlukH+ECNN0LUhyNymp2G2MZ9OFiG7Vs2YG0ZFoVOE98c47HtuWcakObK73E=";

fn key(b64: &str) -> PublicKey {
    parse_public_key_base64(b64).expect("test key parses")
}

fn file(text: &str) -> Vec<Arc<KnownHostsFile>> {
    vec![Arc::new(KnownHostsFile::parse(Path::new("/kh"), text))]
}

fn at(line: usize) -> Location {
    Location {
        path: PathBuf::from("/kh"),
        line,
    }
}

#[test]
fn lookup_name_brackets_non_standard_ports() {
    assert_eq!(lookup_name("Web1.Example", 22), "web1.example");
    assert_eq!(lookup_name("127.0.0.1", 2201), "[127.0.0.1]:2201");
}

#[test]
fn plain_host_list_and_tabs() {
    let kh = file(&format!("# c\n\nalpha,beta\tssh-ed25519  {ED_A} me@x\n"));
    assert_eq!(check(&kh, "beta", &key(ED_A)), Verdict::Trusted);
    assert_eq!(check(&kh, "alpha", &key(ED_B)), Verdict::Changed(at(3)));
    assert_eq!(
        check(&kh, "gamma", &key(ED_A)),
        Verdict::Unknown { other_keys: vec![] }
    );
}

#[test]
fn port_entries_only_match_their_port() {
    let kh = file(&format!(
        "[h]:2201 ssh-ed25519 {ED_A}\nh ssh-ed25519 {ED_B}\n"
    ));
    assert_eq!(
        check(&kh, &lookup_name("h", 2201), &key(ED_A)),
        Verdict::Trusted
    );
    assert_eq!(
        check(&kh, &lookup_name("h", 22), &key(ED_B)),
        Verdict::Trusted
    );
    assert_eq!(
        check(&kh, &lookup_name("h", 2201), &key(ED_B)),
        Verdict::Changed(at(1))
    );
}

#[test]
fn hashed_entry_matches_only_its_host() {
    // `ssh-keygen -H` output for "[127.0.0.1]:2299 ssh-ed25519 ED_A".
    let kh = file(&format!(
        "|1|IbENdyX9G8UcLamLCnTHe9uP3W0=|sIzz+3V51yNIUc17t4jgY/H4n9E= ssh-ed25519 {ED_A}"
    ));
    assert_eq!(check(&kh, "[127.0.0.1]:2299", &key(ED_A)), Verdict::Trusted);
    assert_eq!(
        check(&kh, "[127.0.0.1]:2299", &key(ED_B)),
        Verdict::Changed(at(1))
    );
    assert_eq!(
        check(&kh, "127.0.0.1", &key(ED_A)),
        Verdict::Unknown { other_keys: vec![] }
    );
}

#[test]
fn indexed_and_wildcard_lines_are_checked_in_file_order() {
    // Line 1 is scanned (wildcard), lines 2 and 4 are found by name,
    // line 3 is another host: the first mismatch reported is line 1.
    let kh = file(&format!(
        "h* ssh-ed25519 {ED_B}\nh,x ssh-ed25519 {ED_B}\nother ssh-ed25519 {ED_A}\nh ssh-ed25519 {ED_B}\n"
    ));
    assert_eq!(check(&kh, "h", &key(ED_A)), Verdict::Changed(at(1)));
    let kh = file(&format!(
        "x ssh-ed25519 {ED_B}\nh,x ssh-ed25519 {ED_B}\nh* ssh-ed25519 {ED_B}\n"
    ));
    assert_eq!(check(&kh, "h", &key(ED_A)), Verdict::Changed(at(2)));
    assert_eq!(check(&kh, "hz", &key(ED_A)), Verdict::Changed(at(3)));
    assert_eq!(check(&kh, "x", &key(ED_B)), Verdict::Trusted);
    let kh = file(&format!("!h,h ssh-ed25519 {ED_A}\nh ssh-ed25519 {ED_B}\n"));
    assert_eq!(check(&kh, "h", &key(ED_A)), Verdict::Changed(at(2)));
}

#[test]
fn a_match_on_any_line_wins_over_a_mismatch() {
    let kh = file(&format!("h ssh-ed25519 {ED_B}\nh ssh-ed25519 {ED_A}\n"));
    assert_eq!(check(&kh, "h", &key(ED_A)), Verdict::Trusted);
}

#[test]
fn other_algorithm_is_unknown_with_a_hint() {
    let kh = file(&format!("h ecdsa-sha2-nistp256 {ECDSA}\n"));
    let Verdict::Unknown { other_keys } = check(&kh, "h", &key(ED_A)) else {
        panic!("expected unknown");
    };
    assert_eq!(other_keys.len(), 1);
    assert_eq!(other_keys[0].1, at(1));
    assert_eq!(known_algorithms(&kh, "h"), vec![key(ECDSA).algorithm()]);
}

#[test]
fn revoked_key_rejects_even_when_listed() {
    let kh = file(&format!(
        "h ssh-ed25519 {ED_A}\n@revoked * ssh-ed25519 {ED_A}\n"
    ));
    assert_eq!(check(&kh, "h", &key(ED_A)), Verdict::Revoked(at(2)));
    // A revoked line for another key changes nothing.
    let kh = file(&format!(
        "h ssh-ed25519 {ED_A}\n@revoked * ssh-ed25519 {ED_B}\n"
    ));
    assert_eq!(check(&kh, "h", &key(ED_A)), Verdict::Trusted);
}

#[test]
fn cert_authority_lines_are_not_host_keys() {
    let kh = file(&format!("@cert-authority * ssh-ed25519 {ED_A}\n"));
    assert_eq!(
        check(&kh, "h", &key(ED_A)),
        Verdict::Unknown { other_keys: vec![] }
    );
    assert!(known_algorithms(&kh, "h").is_empty());
}

#[test]
fn wildcards_and_negation() {
    let kh = file(&format!("*.prod,!db?.prod ssh-ed25519 {ED_A}\n"));
    assert_eq!(check(&kh, "web1.prod", &key(ED_A)), Verdict::Trusted);
    assert_eq!(
        check(&kh, "db1.prod", &key(ED_A)),
        Verdict::Unknown { other_keys: vec![] }
    );
    assert_eq!(
        check(&kh, "web1.dev", &key(ED_A)),
        Verdict::Unknown { other_keys: vec![] }
    );
}

#[test]
fn glob_edge_cases() {
    assert!(glob_match(b"*", b""));
    assert!(glob_match(b"a*b*c", b"axxbyyc"));
    assert!(!glob_match(b"a*b", b"axxc"));
    assert!(glob_match(b"??", b"ab"));
    assert!(!glob_match(b"?", b""));
}

#[test]
fn bad_lines_are_skipped_not_fatal() {
    let kh = file(&format!(
        "garbage\nh ssh-ed25519 not-base64!\n@weird h ssh-ed25519 {ED_A}\nh ssh-ed25519 {ED_A}\n"
    ));
    assert_eq!(check(&kh, "h", &key(ED_A)), Verdict::Trusted);
    assert_eq!(kh[0].entries.len(), 1);
    assert_eq!(kh[0].entries[0].line, 4);
}

#[test]
fn later_files_are_consulted() {
    let files = vec![
        Arc::new(KnownHostsFile::parse(Path::new("/a"), "")),
        Arc::new(KnownHostsFile::parse(
            Path::new("/b"),
            &format!("h ssh-ed25519 {ED_B}\n"),
        )),
    ];
    assert_eq!(
        check(&files, "h", &key(ED_A)),
        Verdict::Changed(Location {
            path: PathBuf::from("/b"),
            line: 1
        })
    );
}

mod revoked {
    use crate::ssh::known_hosts::RevokedKeys;
    use russh::keys::parse_public_key_base64;
    use std::path::Path;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIDCS3ShKVBBGUCWfTuqCKXbHXkrMXVaZWCUrjjAl0eVh";

    #[test]
    fn revoked_keys_are_read_in_authorized_keys_format_and_fail_closed() {
        let key = parse_public_key_base64(KEY).unwrap_or_else(|e| panic!("{e}"));
        let file = RevokedKeys::parse(
            Path::new("/r"),
            format!("# comment\n\nssh-ed25519 {KEY} old-host\n").as_bytes(),
        );
        assert!(file.error.is_none(), "{:?}", file.error);
        assert!(file.contains(key.key_data()));
        let bad = RevokedKeys::parse(Path::new("/r"), b"not a key\n");
        assert!(bad.error.as_deref().is_some_and(|e| e.contains("line 1")));
        let krl = RevokedKeys::parse(Path::new("/r"), b"SSHKRL\n\0\0");
        assert!(krl.error.as_deref().is_some_and(|e| e.contains("KRL")));
    }
}
