//! Running one command on an open connection.

use std::time::{Duration, Instant};

use russh::client::Msg;
use russh::{Channel, ChannelMsg, Sig};

use crate::output::{Capture, ExecEnd, ExecOutput};

/// What the channel has told us so far; turned into [`ExecOutput`] at the end.
struct Progress {
    stdout: Capture,
    stderr: Capture,
    exit_status: Option<u32>,
    exit_signal: Option<String>,
}

impl Progress {
    fn finish(self, end: ExecEnd, started: Instant) -> ExecOutput {
        ExecOutput {
            stdout: self.stdout.finish(),
            stderr: self.stderr.finish(),
            exit_status: self.exit_status,
            exit_signal: self.exit_signal,
            end,
            duration: started.elapsed(),
        }
    }
}

/// Opens a session channel on `handle`, runs `command` and reads until the
/// server closes the channel, all under `timeout`. With `tty` the channel
/// first asks for a pseudo-terminal (see [`request_terminal`]).
pub(crate) async fn run<H: russh::client::Handler>(
    handle: &russh::client::Handle<H>,
    command: &str,
    stdin: Option<&[u8]>,
    tty: bool,
    timeout: Duration,
    cap: usize,
) -> ExecOutput {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut progress = Progress {
        stdout: Capture::new(cap),
        stderr: Capture::new(cap),
        exit_status: None,
        exit_signal: None,
    };

    let opened = tokio::time::timeout_at(deadline, handle.channel_open_session()).await;
    let mut channel = match opened {
        Err(_) => return progress.finish(ExecEnd::TimedOut, started),
        Ok(Err(e)) => {
            // russh reports a dead connection as a send error on its
            // internal queue; say what it means.
            let reason = if handle.is_closed() {
                "the connection is closed".to_string()
            } else {
                format!("cannot open a session channel: {e}")
            };
            return progress.finish(ExecEnd::Failed(reason), started);
        }
        Ok(Ok(channel)) => channel,
    };

    // Under `timeout` a command is a background job of the terminal and is
    // stopped (SIGTTOU/SIGTTIN) as soon as it touches it; a terminal's
    // hangup when the channel closes ends it instead, as with `ssh -t`.
    let guarded = if tty {
        command.to_string()
    } else {
        guard(command, timeout)
    };
    let read = tokio::time::timeout_at(
        deadline,
        drive(&mut channel, &guarded, stdin, tty, &mut progress),
    );
    let end = match read.await {
        Ok(end) => end,
        Err(_) => {
            abandon(&channel).await;
            ExecEnd::TimedOut
        }
    };
    progress.finish(end, started)
}

/// Extra time the remote guard allows past the step timeout, so the
/// controller always reports TIMEOUT itself rather than seeing the guard's
/// exit status 124 first.
const GUARD_GRACE_SECS: u64 = 2;

/// Wraps `command` so the remote host ends it on its own once the step has
/// timed out. A KILL signal over SSH is refused for root sessions and
/// closing a channel without a PTY leaves the command running, so the only
/// reliable stop is a remote `timeout`: it runs the command, in the user's
/// own shell as sshd would, in its own process group and kills that whole
/// group. Hosts without `timeout` run the command unguarded.
pub(crate) fn guard(command: &str, timeout: Duration) -> String {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0) + GUARD_GRACE_SECS;
    if is_plain_command(command) {
        // No shell syntax to interpret: `timeout` can run the program
        // itself, which saves the inner shell (about 1 ms of host CPU per
        // step; bench/RESULTS.md).
        return format!(
            "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {secs} {command}; else exec {command}; fi"
        );
    }
    let quoted = format!("'{}'", command.replace('\'', r"'\''"));
    format!(
        "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {secs} \"${{SHELL:-/bin/sh}}\" -c {quoted}; else exec \"${{SHELL:-/bin/sh}}\" -c {quoted}; fi"
    )
}

/// A command that every POSIX shell reads as one external program and its
/// literal arguments: only words of letters, digits and `_-./,:=+%@`, split
/// by single spaces, the first word a plain name (no `=`: not a variable
/// assignment) that is not a shell builtin or keyword (which `timeout`
/// could not run). Anything else keeps the inner shell.
fn is_plain_command(command: &str) -> bool {
    const SHELL_ONLY: &[&str] = &[
        ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done",
        "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for",
        "function", "getopts", "hash", "if", "jobs", "local", "read", "readonly", "return",
        "select", "set", "shift", "source", "then", "times", "trap", "type", "typeset", "ulimit",
        "umask", "unalias", "unset", "until", "wait", "while",
    ];
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-./,:=+%@".contains(c);
    let mut words = command.split(' ');
    let Some(first) = words.next() else {
        return false;
    };
    !first.is_empty()
        && first.chars().all(allowed)
        && !first.contains('=')
        && !SHELL_ONLY.contains(&first)
        && words.all(|w| !w.is_empty() && w.chars().all(allowed))
}

/// Sends the exec request and consumes every message until `Close`. Not
/// `Eof` or `ExitStatus`: OpenSSH sends those in either order, and output
/// or the exit status can still follow the first of them.
async fn drive(
    channel: &mut Channel<Msg>,
    command: &str,
    stdin: Option<&[u8]>,
    tty: bool,
    progress: &mut Progress,
) -> ExecEnd {
    if tty && let Err(why) = request_terminal(channel).await {
        return ExecEnd::Failed(why);
    }
    if let Err(e) = channel.exec(true, command).await {
        return ExecEnd::Failed(format!("cannot send the command: {e}"));
    }
    if let Some(input) = stdin {
        // Errors surface below as a lost connection or a failed command.
        let _ = channel.data(input).await;
        let _ = channel.eof().await;
    }
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => progress.stdout.push(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => progress.stderr.push(&data),
            ChannelMsg::ExitStatus { exit_status } => progress.exit_status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                progress.exit_signal = Some(signal_name_of(&signal_name));
            }
            ChannelMsg::Failure => {
                return ExecEnd::Failed("the server refused to run the command".into());
            }
            ChannelMsg::Close => return ExecEnd::Completed,
            _ => {}
        }
    }
    ExecEnd::Failed("connection lost before the command finished".into())
}

/// Terminal width asked for: wide, so tools that fit their output to the
/// terminal (`ps`, `systemctl`) do not cut the lines rules read.
const TTY_COLUMNS: u32 = 1024;
const TTY_ROWS: u32 = 50;

/// `pty-req` as `ssh -t` sends it, and its answer. `TERM=dumb` keeps
/// colour and cursor codes out of the output; echo is off so nothing sent
/// on stdin (a sudo password) comes back in stdout. Output processing
/// stays as on any terminal: lines end in CRLF.
async fn request_terminal(channel: &mut Channel<Msg>) -> Result<(), String> {
    let modes = [(russh::Pty::ECHO, 0)];
    if let Err(e) = channel
        .request_pty(true, "dumb", TTY_COLUMNS, TTY_ROWS, 0, 0, &modes)
        .await
    {
        return Err(format!("cannot request a terminal: {e}"));
    }
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Success => return Ok(()),
            ChannelMsg::Failure => {
                return Err(
                    "the server refused a terminal for this `tty` step (sshd `PermitTTY no`?)"
                        .into(),
                );
            }
            _ => {}
        }
    }
    Err("connection lost while requesting a terminal".into())
}

/// What sudo prints instead of "Password:", so its prompt can be removed
/// from the captured stderr.
const SUDO_PROMPT: &str = "[fleet-sudo-password]";

/// `sudo -n`: never prompts (a prompt would hang the step), fails clearly
/// when a password would be needed.
pub fn sudo_n(command: &str) -> String {
    format!("sudo -n -- sh -c {}", shell_quote(command))
}

/// `sudo -S -p MARKER`: the password goes to sudo on stdin (no PTY, which
/// would merge and mangle the streams). The command's own stdin is
/// `/dev/null`, so when sudo needs no password (NOPASSWD, cached
/// credentials) the command cannot read it.
pub(crate) fn sudo_s(command: &str) -> String {
    let inner = format!("exec </dev/null\n{command}");
    format!(
        "sudo -S -p '{SUDO_PROMPT}' -- sh -c {}",
        shell_quote(&inner)
    )
}

/// Removes sudo's prompt and, as a last guard, any copy of the password
/// from captured output.
pub(crate) fn scrub_sudo(out: &mut ExecOutput, password: &str) {
    for stream in [&mut out.stdout, &mut out.stderr] {
        if stream.text.contains(SUDO_PROMPT) {
            stream.text = stream.text.replace(SUDO_PROMPT, "");
        }
        if !password.is_empty() && stream.text.contains(password) {
            stream.text = stream.text.replace(password, "<redacted>");
        }
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Best effort, bounded: ask the server to kill the command and close the
/// channel. Errors are ignored because the connection may already be gone;
/// dropping the `Channel` afterwards makes russh discard anything still
/// arriving on it, so the connection is never blocked by an unread queue.
async fn abandon(channel: &Channel<Msg>) {
    let attempt = async {
        let _ = channel.signal(Sig::KILL).await;
        let _ = channel.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), attempt).await;
}

/// The bare signal name as OpenSSH sends it (`KILL`, not `SIGKILL`).
fn signal_name_of(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn guard_quotes_the_command_for_the_remote_shell() {
        let g = super::guard(
            "echo 'a b' \"$HOME\"",
            std::time::Duration::from_millis(1500),
        );
        assert!(
            g.contains(r#"timeout -k 5 4 "${SHELL:-/bin/sh}" -c 'echo '\''a b'\'' "$HOME"'"#),
            "{g}"
        );
    }

    #[test]
    fn plain_commands_skip_the_inner_shell() {
        let d = std::time::Duration::from_secs(30);
        assert_eq!(
            super::guard("df -P /", d),
            "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 32 df -P /; else exec df -P /; fi"
        );
        for plain in [
            "uptime",
            "date +%s",
            "head -3 /proc/meminfo",
            "systemctl is-active a@b.service",
        ] {
            assert!(super::is_plain_command(plain), "{plain}");
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
            assert!(!super::is_plain_command(shell), "{shell:?}");
            assert!(super::guard(shell, d).contains("-c '"), "{shell:?}");
        }
    }

    #[test]
    fn signal_names_have_no_sig_prefix() {
        use russh::Sig;
        assert_eq!(super::signal_name_of(&Sig::KILL), "KILL");
        assert_eq!(super::signal_name_of(&Sig::Custom("XCPU".into())), "XCPU");
    }
}
