use super::{Mode, PromptWatch, SUDO_PROMPT, guard, is_plain_command, wire};
use std::time::Duration;

#[test]
fn guard_quotes_the_command_for_the_remote_shell() {
    let g = wire(
        "echo 'a b' \"$HOME\"",
        Mode::Plain,
        false,
        Duration::from_millis(1500),
    );
    assert!(
        g.contains(r#"timeout -k 5 4 "${SHELL:-/bin/sh}" -c 'echo '\''a b'\'' "$HOME"' &"#),
        "{g}"
    );
}

#[test]
fn plain_commands_skip_the_inner_shell() {
    let g = guard("df -P /", 32);
    assert!(
        g.contains("then timeout -k 5 32 df -P / & else df -P / & fi"),
        "{g}"
    );
    for plain in [
        "uptime",
        "date +%s",
        "head -3 /proc/meminfo",
        "systemctl is-active a@b.service",
    ] {
        assert!(is_plain_command(plain), "{plain}");
    }
    for shell in [
        "",
        " uptime",
        "uptime ",
        "a  b",
        "ls -la /tmp | wc -l",
        "echo $HOME",
        "A=1 env",
        "cd /tmp",
        ": x",
        "test -f x && echo y",
        "echo 'a'",
        "echo \"a\"",
        "ls *",
        "a;b",
        "f(){ :; }",
        "echo a\tb",
        "x > y",
        "echo ~",
        "exit 3",
        "[ -f x ]",
        "echo a\nb",
    ] {
        assert!(!is_plain_command(shell), "{shell:?}");
        assert!(guard(shell, 3).contains("-c '"), "{shell:?}");
    }
}

#[test]
fn sudo_runs_the_guard_as_root_inside_an_outer_timeout() {
    let d = Duration::from_secs(10);
    let n = wire("id", Mode::SudoNoPassword, false, d);
    assert!(n.starts_with("if command -v timeout"), "{n}");
    assert!(n.contains("exec timeout -k 5 12 sudo -n -- sh -c '"), "{n}");
    let s = wire("id", Mode::Sudo { password: "pw" }, false, d);
    assert!(
        s.contains(&format!("sudo -S -p '{SUDO_PROMPT}' -- sh -c '")),
        "{s}"
    );
    assert!(
        !s.contains("pw"),
        "the password is never on the command line: {s}"
    );
}

/// A `tty` step runs in the terminal's foreground: no background guard
/// (its hangup ends the command), sudo still wraps it.
#[test]
fn terminal_commands_run_unguarded_in_the_foreground() {
    let d = Duration::from_secs(10);
    assert_eq!(wire("tty", Mode::Plain, true, d), "tty");
    assert_eq!(
        wire("tty", Mode::SudoNoPassword, true, d),
        "sudo -n -- sh -c 'tty'"
    );
}

/// The wrapper in a real local shell: it keeps the exit status and the
/// output, gives the command no stdin, and ends the command once its
/// own stdin is closed.
#[test]
fn guard_keeps_status_and_ends_the_command_when_stdin_closes() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    // stdin held open, as sshd holds it for a running command.
    let Ok(mut child) = Command::new("sh")
        .arg("-c")
        .arg(guard("echo out; cat; echo err >&2; exit 7", 30))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return; // no sh: nothing to check here
    };
    let stdin = child.stdin.take();
    let (mut out, mut err) = (String::new(), String::new());
    if let (Some(o), Some(e)) = (child.stdout.as_mut(), child.stderr.as_mut()) {
        let _ = o.read_to_string(&mut out);
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    drop(stdin);
    assert_eq!(status.code(), Some(7));
    assert_eq!(out, "out\n");
    assert_eq!(err, "err\n");

    // stdin held open, then closed: the sleeping command must end.
    let mut child = match Command::new("sh")
        .arg("-c")
        .arg(guard("echo started; sleep 300", 300))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return,
    };
    let mut first = [0u8; 8];
    let mut stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let _ = stdout.read_exact(&mut first);
    assert_eq!(&first, b"started\n");
    drop(child.stdin.take());
    // Bounded by the test runner's timeout, not by a timed assertion.
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(!status.success(), "{status:?}");
}

#[test]
fn prompt_marker_is_found_across_packets() {
    let mut w = PromptWatch::default();
    let (a, b) = SUDO_PROMPT.split_at(5);
    assert_eq!(w.seen(b"noise "), 0);
    assert_eq!(w.seen(a.as_bytes()), 0);
    assert_eq!(w.seen(b.as_bytes()), 1);
    assert_eq!(w.seen(b"Sorry, try again.\n"), 0);
    assert_eq!(w.seen(SUDO_PROMPT.as_bytes()), 2);
}

#[test]
fn signal_names_have_no_sig_prefix() {
    use russh::Sig;
    assert_eq!(super::signal_name_of(&Sig::KILL), "KILL");
    assert_eq!(super::signal_name_of(&Sig::Custom("XCPU".into())), "XCPU");
}
