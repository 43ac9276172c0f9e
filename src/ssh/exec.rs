//! Running one command on an open connection.

use std::time::{Duration, Instant};

use russh::client::Msg;
use russh::{Channel, ChannelMsg, Sig};

use crate::results::Captured;

/// Everything one command produced. Output is always returned, even when the
/// command timed out or the connection dropped, because partial output is
/// often what explains the failure.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: Captured,
    pub stderr: Captured,
    /// The exit code, if the server sent one (it may send a signal instead,
    /// or nothing at all).
    pub exit_status: Option<u32>,
    /// The signal name (`KILL`, `TERM`, ...) if the command died of one.
    pub exit_signal: Option<String>,
    pub end: ExecEnd,
    pub duration: Duration,
}

/// How the channel ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecEnd {
    /// The server closed the channel: the output is complete.
    Completed,
    /// The timeout expired; the command was sent KILL and the channel closed
    /// without waiting for the remote side.
    TimedOut,
    /// The channel could not be opened or the connection was lost.
    Failed(String),
}

/// Accumulates one stream up to `cap` bytes while counting everything, so a
/// runaway command cannot exhaust memory yet the report still says how much
/// it wrote.
#[derive(Debug)]
pub(crate) struct Capture {
    cap: usize,
    buf: Vec<u8>,
    bytes: u64,
}

impl Capture {
    pub(crate) fn new(cap: usize) -> Capture {
        Capture {
            cap,
            buf: Vec::new(),
            bytes: 0,
        }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        let room = self.cap.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Lossy UTF-8. When the cap cut a multi-byte character in half, the
    /// dangling bytes are dropped instead of showing up as U+FFFD, which
    /// would suggest the command wrote invalid text.
    pub(crate) fn finish(self) -> Captured {
        let truncated = self.bytes > u64::try_from(self.buf.len()).unwrap_or(u64::MAX);
        let mut buf = self.buf;
        if truncated && let Err(e) = std::str::from_utf8(&buf) {
            // `error_len() == None`: the input ends inside a character.
            if e.error_len().is_none() {
                buf.truncate(e.valid_up_to());
            }
        }
        Captured {
            text: String::from_utf8_lossy(&buf).into_owned(),
            bytes: self.bytes,
            truncated,
        }
    }
}

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
/// server closes the channel, all under `timeout`.
pub(crate) async fn run<H: russh::client::Handler>(
    handle: &russh::client::Handle<H>,
    command: &str,
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

    let guarded = guard(command, timeout);
    let read = tokio::time::timeout_at(deadline, drive(&mut channel, &guarded, &mut progress));
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
    let quoted = format!("'{}'", command.replace('\'', r"'\''"));
    format!(
        "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {secs} \"${{SHELL:-/bin/sh}}\" -c {quoted}; else exec \"${{SHELL:-/bin/sh}}\" -c {quoted}; fi"
    )
}

/// Sends the exec request and consumes every message until `Close`. Not
/// `Eof` or `ExitStatus`: OpenSSH sends those in either order, and output
/// or the exit status can still follow the first of them.
async fn drive(channel: &mut Channel<Msg>, command: &str, progress: &mut Progress) -> ExecEnd {
    if let Err(e) = channel.exec(true, command).await {
        return ExecEnd::Failed(format!("cannot send the command: {e}"));
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

    use super::*;

    #[test]
    fn under_the_cap_keeps_everything() {
        let mut c = Capture::new(10);
        c.push(b"hello ");
        c.push(b"you");
        let out = c.finish();
        assert_eq!(out.text, "hello you");
        assert_eq!(out.bytes, 9);
        assert!(!out.truncated);
    }

    #[test]
    fn exactly_the_cap_is_not_truncated() {
        let mut c = Capture::new(4);
        c.push(b"abcd");
        let out = c.finish();
        assert_eq!(
            (out.text.as_str(), out.bytes, out.truncated),
            ("abcd", 4, false)
        );
    }

    #[test]
    fn over_the_cap_keeps_the_start_and_counts_all() {
        let mut c = Capture::new(4);
        c.push(b"abc");
        c.push(b"defgh");
        c.push(b"ijk");
        let out = c.finish();
        assert_eq!(out.text, "abcd");
        assert_eq!(out.bytes, 11);
        assert!(out.truncated);
    }

    #[test]
    fn zero_cap_only_counts() {
        let mut c = Capture::new(0);
        c.push(b"xyz");
        let out = c.finish();
        assert_eq!((out.text.as_str(), out.bytes, out.truncated), ("", 3, true));
    }

    #[test]
    fn a_character_cut_by_the_cap_is_dropped() {
        let mut c = Capture::new(4);
        c.push("aé€".as_bytes()); // a(1) é(2) €(3): the cap splits €
        let out = c.finish();
        assert_eq!(out.text, "aé");
        assert!(out.truncated);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        let mut c = Capture::new(16);
        c.push(b"a\xffb");
        assert_eq!(c.finish().text, "a\u{fffd}b");
    }

    #[test]
    fn signal_names_have_no_sig_prefix() {
        assert_eq!(signal_name_of(&Sig::KILL), "KILL");
        assert_eq!(signal_name_of(&Sig::Custom("XCPU".into())), "XCPU");
    }
}
