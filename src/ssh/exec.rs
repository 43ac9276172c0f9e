//! Running one command on an open connection.
//!
//! Every command runs under a small remote wrapper ([`guard`]) that ties
//! its life to the channel: it ends the command's process group when the
//! step times out (`timeout`) or when the channel goes away (its stdin
//! reaches end-of-file: the controller closed the channel, was
//! interrupted, or the connection dropped). A `signal` channel request is
//! sent too, but OpenSSH honours it only for non-root logins with
//! privilege separation, so the wrapper is what makes the stop reliable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};

use crate::model::output::{Capture, ExecEnd, ExecOutput};

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
            session: Some(crate::model::SessionMode::PerStep),
        }
    }
}

/// How a command is run on the host.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// As the login user.
    Plain,
    /// `sudo -n`: fails at once when sudo would need a password.
    SudoNoPassword,
    /// `sudo -S`, answering sudo's prompt (and only its prompt) with this
    /// password.
    Sudo { password: &'a str },
}

/// Opens a session channel on `handle`, runs `command` and reads until the
/// server closes the channel, all under `timeout`. With `tty` the channel
/// first asks for a pseudo-terminal (see [`request_terminal`]). When the
/// returned future is dropped before that (the run was interrupted), the
/// command is ended on the host: see [`Abandon`].
pub(crate) async fn run<H: russh::client::Handler>(
    handle: &russh::client::Handle<H>,
    command: &str,
    mode: Mode<'_>,
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
    if tty {
        match tokio::time::timeout_at(deadline, request_terminal(&mut channel)).await {
            Err(_) => return progress.finish(ExecEnd::TimedOut, started),
            Ok(Err(why)) => return progress.finish(ExecEnd::Failed(why), started),
            Ok(Ok(())) => {}
        }
    }
    let (mut read, write) = channel.split();
    let write = Arc::new(write);
    let mut abandon = Abandon::new(Arc::clone(&write), b"");

    let wire = wire(command, mode, tty, timeout);
    let password = match mode {
        Mode::Sudo { password } => Some(password),
        _ => None,
    };
    // On a terminal sudo's prompt, like everything else, arrives as stdout.
    let watch = password.map(|password| SudoAnswer { password, tty });
    let read_all = drive(&mut read, &write, &wire, watch, &mut progress);
    let end = match tokio::time::timeout_at(deadline, read_all).await {
        Ok(end) => {
            abandon.disarm();
            end
        }
        Err(_) => {
            abandon.now().await;
            ExecEnd::TimedOut
        }
    };
    progress.finish(end, started)
}

/// Ends a command whose channel is given up on (timeout, interrupt):
/// TERM over the channel, then close it. Closing makes sshd close the
/// command's stdin, which the remote [`guard`] takes as the order to end
/// the command's process group; the TERM covers servers that honour it
/// sooner. Errors are ignored: the connection may already be gone.
/// Dropping the read half makes russh discard anything still arriving, so
/// the connection is never blocked by an unread queue. The shared
/// session's driver first gets its `preface` (its stop line) and
/// end-of-file on stdin, which its watcher takes as the order to end the
/// command.
pub(super) struct Abandon {
    write: Option<Arc<ChannelWriteHalf<Msg>>>,
    preface: &'static [u8],
}

impl Abandon {
    pub(super) fn new(write: Arc<ChannelWriteHalf<Msg>>, preface: &'static [u8]) -> Abandon {
        Abandon {
            write: Some(write),
            preface,
        }
    }

    /// The channel closed normally: nothing to end.
    pub(super) fn disarm(&mut self) {
        self.write = None;
    }

    /// Bounded, awaited: used when the step timed out.
    pub(super) async fn now(&mut self) {
        if let Some(write) = self.write.take() {
            stop_remote(write, self.preface).await;
        }
    }
}

impl Drop for Abandon {
    /// The step's future was dropped mid-command (interrupt): send the stop
    /// from a task, since drop cannot await. The caller disconnects right
    /// after, which ends the command through the guard in any case.
    fn drop(&mut self) {
        if let Some(write) = self.write.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(stop_remote(write, self.preface));
        }
    }
}

async fn stop_remote(write: Arc<ChannelWriteHalf<Msg>>, preface: &'static [u8]) {
    let attempt = async {
        if !preface.is_empty() {
            let _ = write.data(preface).await;
            let _ = write.eof().await;
        }
        let _ = write.signal(Sig::TERM).await;
        let _ = write.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), attempt).await;
}

/// Extra time the remote guard allows past the step timeout, so the
/// controller always reports TIMEOUT itself rather than seeing the guard's
/// exit status 124 first.
const GUARD_GRACE_SECS: u64 = 2;

/// The remote `timeout`'s limit, in whole seconds, for a step timeout.
pub(crate) fn guard_secs(timeout: Duration) -> u64 {
    timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0) + GUARD_GRACE_SECS
}

/// The command line sent for `command` in `mode`.
///
/// On a terminal (`tty`) there is no guard: under `timeout` (its own
/// process group) a command would be a background job of the terminal and
/// be stopped (SIGTTOU/SIGTTIN) as soon as it touched it. The terminal's
/// hangup when the channel closes ends it instead, as with `ssh -t`.
pub(crate) fn wire(command: &str, mode: Mode<'_>, tty: bool, timeout: Duration) -> String {
    let secs = guard_secs(timeout);
    let body = if tty {
        command.to_string()
    } else {
        guard(command, secs)
    };
    let sudo = match mode {
        Mode::Plain => return body,
        Mode::SudoNoPassword => "sudo -n".to_string(),
        Mode::Sudo { .. } => format!("sudo -S -p '{SUDO_PROMPT}'"),
    };
    // The guard runs as root inside sudo, so it can end root's processes;
    // the outer `timeout` bounds sudo itself (a prompt nobody answers).
    let inner = format!("{sudo} -- sh -c {}", shell_quote(&body));
    if tty {
        return inner;
    }
    format!(
        "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {secs} {inner}; else exec {inner}; fi"
    )
}

/// Wraps `command` so that the host ends it on its own, whatever happens
/// to the controller. The command runs in the background with stdin from
/// `/dev/null`, under `timeout` (its own process group, killed whole after
/// `secs`); a watcher reads the channel's stdin, which the controller
/// never closes, so end-of-file there means the channel or the connection
/// is gone: it then sends TERM to `timeout`, which passes it to the whole
/// group (and KILL 5 s later). A TERM, HUP or INT to the wrapper itself
/// (sudo relays them) is passed on the same way. Hosts without `timeout`
/// still get the watcher, but it reaches only the command's top process.
///
/// The wrapper is run by the login shell (sh, bash, zsh alike: no word
/// splitting of variables is relied on); a command with shell syntax runs
/// in `$SHELL -c`, as sshd would run it.
pub(crate) fn guard(command: &str, secs: u64) -> String {
    let run = if is_plain_command(command) {
        // No shell syntax to interpret: `timeout` can run the program
        // itself, which saves the inner shell (about 1 ms of host CPU per
        // step; bench/RESULTS.md).
        command.to_string()
    } else {
        format!("\"${{SHELL:-/bin/sh}}\" -c {}", shell_quote(command))
    };
    // The watcher is started before the trap is set: a forked subshell
    // that inherited the trap could swallow the TERM that ends it. It
    // writes nowhere (a straggler must not hold the channel's output open)
    // and signals only while the wrapper (`$$`) still lives.
    format!(
        "exec 3<&0 </dev/null\n\
         if command -v timeout >/dev/null 2>&1; then timeout -k 5 {secs} {run} & else {run} & fi\n\
         p=$!\n\
         (while read -r x; do :; done; kill -0 $$ 2>/dev/null && kill -TERM $p 2>/dev/null) <&3 >/dev/null 2>&1 &\n\
         w=$!\n\
         trap 'kill -TERM $p 2>/dev/null; t=1' HUP INT TERM\n\
         exec 3<&-\n\
         while :; do t=; wait $p; s=$?; [ -z \"$t\" ] && break; done\n\
         kill $w 2>/dev/null\n\
         exit $s"
    )
}

/// A `sudo -n` step for the shared session's driver: the driver's own
/// `timeout` bounds sudo, and inside sudo, as root, the command runs under
/// the guard's `timeout` with a trap that passes the TERM sudo relays
/// (from the driver's watcher) on to it. No stdin watcher: in the shared
/// session the command's stdin is `/dev/null`, not the channel.
pub(crate) fn sudo_relay(command: &str, timeout: Duration) -> String {
    let secs = guard_secs(timeout);
    let run = format!("\"${{SHELL:-/bin/sh}}\" -c {}", shell_quote(command));
    let body = format!(
        "if command -v timeout >/dev/null 2>&1; then timeout -k 5 {secs} {run} & else {run} & fi\n\
         p=$!\n\
         trap 'kill -TERM $p 2>/dev/null; t=1' HUP INT TERM\n\
         while :; do t=; wait $p; s=$?; [ -z \"$t\" ] && break; done\n\
         exit $s"
    );
    format!("sudo -n -- sh -c {}", shell_quote(&body))
}

/// A command that every POSIX shell reads as one external program and its
/// literal arguments: only words of letters, digits and `_-./,:=+%@`, split
/// by single spaces, the first word a plain name (no `=`: not a variable
/// assignment) that is not a shell builtin or keyword (which `timeout`
/// could not run). Anything else keeps the inner shell.
pub(crate) fn is_plain_command(command: &str) -> bool {
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
///
/// With a sudo `password`, the password is written only once sudo's
/// prompt marker has appeared on stderr: when sudo does not prompt
/// (NOPASSWD, cached credentials, or a `sudo` that is not sudo) it is
/// never sent. A second prompt (wrong password) gets end-of-file, so sudo
/// fails at once instead of waiting for the timeout.
async fn drive(
    read: &mut ChannelReadHalf,
    write: &ChannelWriteHalf<Msg>,
    command: &str,
    sudo: Option<SudoAnswer<'_>>,
    progress: &mut Progress,
) -> ExecEnd {
    if let Err(e) = write.exec(true, command).await {
        return ExecEnd::Failed(format!("cannot send the command: {e}"));
    }
    let mut prompts = PromptWatch::default();
    while let Some(msg) = read.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                progress.stdout.push(&data);
                if let Some(sudo) = sudo.filter(|s| s.tty) {
                    sudo.answer(&mut prompts, &data, write).await;
                }
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                progress.stderr.push(&data);
                if let Some(sudo) = sudo.filter(|s| !s.tty) {
                    sudo.answer(&mut prompts, &data, write).await;
                }
            }
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

/// The become password and where sudo's prompt for it shows up.
#[derive(Debug, Clone, Copy)]
struct SudoAnswer<'a> {
    password: &'a str,
    /// On a terminal the prompt arrives on stdout, else on stderr.
    tty: bool,
}

impl SudoAnswer<'_> {
    /// Writes the password after sudo's first prompt; a second prompt
    /// (wrong password) gets end-of-file. Errors surface as a lost
    /// connection or a failed command.
    async fn answer(&self, prompts: &mut PromptWatch, data: &[u8], write: &ChannelWriteHalf<Msg>) {
        match prompts.seen(data) {
            0 => {}
            1 => {
                let mut line = self.password.as_bytes().to_vec();
                line.push(b'\n');
                let _ = write.data(&line[..]).await;
            }
            _ => {
                let _ = write.eof().await;
            }
        }
    }
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

/// Counts sudo's prompt markers in a stream that arrives in pieces (a
/// marker may be split across two packets).
#[derive(Debug, Default)]
struct PromptWatch {
    /// The last bytes seen, shorter than the marker.
    tail: Vec<u8>,
    count: usize,
}

impl PromptWatch {
    /// Feeds `data`; returns the number of markers seen so far when this
    /// piece completed one, else 0.
    fn seen(&mut self, data: &[u8]) -> usize {
        let marker = SUDO_PROMPT.as_bytes();
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(data);
        let found = window
            .windows(marker.len())
            .filter(|w| *w == marker)
            .count();
        let keep = window.len().min(marker.len() - 1);
        self.tail = window[window.len() - keep..].to_vec();
        if found == 0 {
            return 0;
        }
        self.count += found;
        self.count
    }
}

/// What sudo prints instead of "Password:", so that the controller knows
/// when sudo asks and can remove the prompt from the captured stderr.
const SUDO_PROMPT: &str = "[fleet-sudo-password]";

/// `sudo -n` for the controller's own `sudo` steps: never prompts (a
/// prompt would hang the step), fails clearly when a password would be
/// needed.
pub fn sudo_n(command: &str) -> String {
    format!("sudo -n -- sh -c {}", shell_quote(command))
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
#[path = "exec_tests.rs"]
mod tests;
