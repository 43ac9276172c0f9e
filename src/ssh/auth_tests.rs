use super::*;

fn attempts() -> Attempts<'static> {
    Attempts {
        user: "deploy",
        tried: Vec::new(),
        notes: Vec::new(),
        server_methods: None,
        offered: Vec::new(),
        rsa_hash: None,
        connection_lost: false,
    }
}

fn failure(methods: &[MethodKind]) -> Option<AuthResult> {
    Some(AuthResult::Failure {
        remaining_methods: MethodSet::from(methods),
        partial_success: false,
    })
}

#[test]
fn refusal_lists_every_key_and_the_servers_methods() {
    let mut a = attempts();
    let both = [MethodKind::PublicKey, MethodKind::Password];
    assert!(
        a.record("agent key ED25519 SHA256:x".into(), failure(&both))
            .is_none()
    );
    assert!(a.record("/k/id_rsa".into(), failure(&both)).is_none());
    a.notes.push("/k/id_ecdsa skipped: encrypted".into());
    let e = a.into_error();
    assert_eq!(e.kind, UnreachableKind::Auth);
    assert_eq!(
        e.message,
        "server refused authentication for user 'deploy'; tried: agent key ED25519 SHA256:x, \
         /k/id_rsa; /k/id_ecdsa skipped: encrypted; server accepts: publickey, password"
    );
}

#[test]
fn stops_when_the_server_no_longer_takes_keys() {
    let mut a = attempts();
    let stop = a.record("k".into(), failure(&[MethodKind::Password]));
    assert!(matches!(stop, Some(Stop::GiveUp)));
}

#[test]
fn a_hang_up_stops_and_says_how_many_keys_went_out() {
    let mut a = attempts();
    assert!(
        a.record("k1".into(), failure(&[MethodKind::PublicKey]))
            .is_none()
    );
    assert!(matches!(a.record("k2".into(), None), Some(Stop::GiveUp)));
    let e = a.into_error();
    assert!(e.message.contains("tried: k1, k2"), "{}", e.message);
    assert!(e.message.contains("after 2 key offers"), "{}", e.message);
}

#[test]
fn nothing_to_offer_says_so() {
    let e = attempts().into_error();
    assert_eq!(e.message, "no key to offer for user 'deploy'");
}

#[test]
fn missing_default_keys_are_silent() {
    let p = Path::new("/h/.ssh/id_ecdsa");
    assert!(problem_note(p, &KeyProblem::Missing, false).is_none());
    assert!(problem_note(p, &KeyProblem::Missing, true).is_some());
}
