//! The shared-session protocol: a small POSIX `sh` driver that runs a
//! host's steps one after another on one exec channel, and the framing
//! that tells the controller where each step's output ends.
//!
//! Nothing is installed on the host: the driver's text is the channel's
//! exec command. The per-run boundary is the first line the controller
//! writes on the channel's stdin, so it is in no process's argv or
//! environment (a `ps` step prints the driver's command line) and no step
//! can know it, let alone print it: output cannot forge a frame.
//!
//! ## Wire
//!
//! Controller → driver (stdin), per step:
//!
//! ```text
//! <kind> <secs>\n        kind: `p` (plain: words run without a shell) or `s`
//! <command lines>\n      as many as the command has
//! <boundary>\n           end of the command
//! ```
//!
//! and at any time while the step runs `k\n`: end it (step timeout). The
//! driver ignores any other line where it expects a header, so a `k` that
//! crossed the step's end on the wire is harmless.
//!
//! Driver → controller, on start and after each step:
//!
//! ```text
//! stdout: \n<boundary> ready\n        then per step: <output>\n<boundary> <status>\n
//! stderr: \n<boundary> ready\n        then per step: <output>\n<boundary> end\n
//! ```
//!
//! The newline before the boundary is always written by the driver and is
//! not part of the step's output, so output without a trailing newline is
//! kept exactly as it was written. Anything before `ready` (a login
//! shell's start-up files printing) is dropped.

use std::time::Duration;

/// Longest frame line accepted after the boundary (` ready`, ` end`, ` 255`).
const MAX_FRAME_LINE: usize = 32;

/// The driver, run by `/bin/sh` whatever the login shell is. It contains no
/// single quote, so it survives being single-quoted for any shell.
///
/// Per step it runs the command in the background with stdin from
/// `/dev/null`, under `timeout -k 5` (its own process group), exactly as the
/// per-step guard does; a watcher reads one line of the channel's stdin:
/// end-of-file (the channel or connection is gone: Ctrl-C, controller
/// killed) or `k` (the controller's step timeout) sends TERM to the
/// command's `timeout`, which passes it to the whole group. When the
/// command ends first, the driver stops the watcher before writing the
/// frames; the controller sends the next step only after the frames, so
/// the watcher never eats a byte of it.
const SCRIPT: &str = r#"exec 3<&0 </dev/null
IFS= read -r b <&3 || exit 0
t=; command -v timeout >/dev/null 2>&1 && t=1
printf "\n%s ready\n" "$b"; printf "\n%s ready\n" "$b" >&2
while IFS= read -r h <&3; do
case $h in "p "*|"s "*) ;; *) continue ;; esac
k=${h%% *}; n=${h#* }; c=
while IFS= read -r l <&3; do [ "$l" = "$b" ] && break; c="$c$l
"; done
if [ "$k" = p ]; then
if [ -n "$t" ]; then timeout -k 5 "$n" $c 3<&- & else $c 3<&- & fi
else
if [ -n "$t" ]; then timeout -k 5 "$n" "${SHELL:-/bin/sh}" -c "$c" 3<&- & else "${SHELL:-/bin/sh}" -c "$c" 3<&- & fi
fi
p=$!
(IFS= read -r x; kill -TERM $p) <&3 >/dev/null 2>&1 &
w=$!
wait $p 2>/dev/null; s=$?
kill $w 2>/dev/null; wait $w 2>/dev/null
printf "\n%s %s\n" "$b" "$s"; printf "\n%s end\n" "$b" >&2
done"#;

/// The exec command that starts the driver.
pub(crate) fn exec_command() -> String {
    format!("exec /bin/sh -c '{SCRIPT}'")
}

/// 128 random bits, hex: unguessable by anything on the host.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Boundary(String);

impl std::fmt::Debug for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Boundary(..)")
    }
}

impl Boundary {
    pub(crate) fn random() -> Result<Boundary, String> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| format!("no random numbers for a boundary: {e}"))?;
        Ok(Boundary(format!(
            "fleet-{}",
            data_encoding::HEXLOWER.encode(&bytes)
        )))
    }

    #[cfg(test)]
    pub(crate) fn fixed(text: &str) -> Boundary {
        Boundary(text.to_string())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// What the driver must read first.
    pub(crate) fn hello_line(&self) -> Vec<u8> {
        format!("{}\n", self.0).into_bytes()
    }

    /// The marker that starts every frame: newline, boundary, space.
    fn marker(&self) -> Vec<u8> {
        format!("\n{} ", self.0).into_bytes()
    }
}

/// How the driver runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Words only (see `exec::is_plain_command`): `timeout` runs the
    /// program itself, no inner shell.
    Plain,
    /// Anything else: `$SHELL -c`, as sshd would run it.
    Shell,
}

/// Why a command cannot go through the driver (the caller then opens a
/// channel for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unsendable {
    /// A NUL byte: no shell can hold it.
    Nul,
    /// The command contains the boundary (it cannot know it, but an export
    /// could in theory carry it): framing would break.
    Boundary,
}

/// The bytes that ask the driver to run `command` for at most `timeout`
/// (plus the guard's grace).
pub(crate) fn request(
    boundary: &Boundary,
    command: &str,
    kind: Kind,
    timeout: Duration,
) -> Result<Vec<u8>, Unsendable> {
    if command.contains('\0') {
        return Err(Unsendable::Nul);
    }
    if command.contains(boundary.as_str()) {
        return Err(Unsendable::Boundary);
    }
    let secs = super::exec::guard_secs(timeout);
    let k = match kind {
        Kind::Plain => 'p',
        Kind::Shell => 's',
    };
    let mut wire = Vec::with_capacity(command.len() + boundary.0.len() + 16);
    wire.extend_from_slice(format!("{k} {secs}\n").as_bytes());
    wire.extend_from_slice(command.as_bytes());
    if !command.is_empty() && !command.ends_with('\n') {
        wire.push(b'\n');
    }
    wire.extend_from_slice(boundary.0.as_bytes());
    wire.push(b'\n');
    Ok(wire)
}

/// Ends the running step (its timeout expired).
pub(crate) const KILL: &[u8] = b"k\n";

/// A piece of one stream, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Bytes the command (or, before `ready`, the login shell) wrote.
    Output(&'a [u8]),
    /// A frame's word: `ready`, `end` or an exit status.
    Frame(&'a str),
}

/// The frame line was not one the driver writes: the stream cannot be
/// trusted any further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadFrame;

/// Finds frames in one stream that arrives in pieces of any size. Memory
/// is bounded by the marker's length whatever the output's size: bytes that
/// cannot start a marker are handed on at once, and only a possible
/// beginning of one (at most the marker's length) waits for the next piece.
#[derive(Debug)]
pub(crate) struct Framer {
    marker: Vec<u8>,
    /// A proper prefix of `marker` seen at the end of the last piece.
    held: Vec<u8>,
    /// Inside a frame line: its bytes so far.
    line: Option<Vec<u8>>,
}

impl Framer {
    pub(crate) fn new(boundary: &Boundary) -> Framer {
        Framer {
            marker: boundary.marker(),
            held: Vec::new(),
            line: None,
        }
    }

    /// Feeds `data`, calling `on` for each piece in order.
    pub(crate) fn feed(
        &mut self,
        mut data: &[u8],
        on: &mut impl FnMut(Piece<'_>),
    ) -> Result<(), BadFrame> {
        loop {
            if let Some(line) = &mut self.line {
                match memchr::memchr(b'\n', data) {
                    None => {
                        line.extend_from_slice(data);
                        if line.len() > MAX_FRAME_LINE {
                            return Err(BadFrame);
                        }
                        return Ok(());
                    }
                    Some(end) => {
                        line.extend_from_slice(&data[..end]);
                        data = &data[end + 1..];
                        let line = self.line.take().unwrap_or_default();
                        let word = std::str::from_utf8(&line).map_err(|_| BadFrame)?;
                        if word.len() > MAX_FRAME_LINE || word.is_empty() {
                            return Err(BadFrame);
                        }
                        on(Piece::Frame(word));
                    }
                }
            }
            if data.is_empty() {
                return Ok(());
            }
            // A held marker prefix: does this piece complete it?
            if !self.held.is_empty() {
                let held = self.held.len();
                let need = self.marker.len() - held;
                let take = need.min(data.len());
                if self.marker[held..held + take] == data[..take] {
                    if take == need {
                        data = &data[take..];
                        self.held.clear();
                        self.line = Some(Vec::new());
                        continue;
                    }
                    // Still only a prefix, and the piece is used up.
                    self.held.extend_from_slice(data);
                    return Ok(());
                }
                // Not a marker: the held bytes were output. The marker has
                // one newline, at its start, so no marker starts inside them.
                on(Piece::Output(&std::mem::take(&mut self.held)));
            }
            match self.scan(data, on) {
                Some(rest) => data = rest,
                None => return Ok(()),
            }
        }
    }

    /// Hands on output up to the first marker; returns what follows the
    /// marker, or `None` when the piece ended (holding a possible prefix).
    fn scan<'d>(&mut self, data: &'d [u8], on: &mut impl FnMut(Piece<'_>)) -> Option<&'d [u8]> {
        let mut from = 0;
        while let Some(i) = memchr::memchr(b'\n', &data[from..]).map(|i| i + from) {
            let rest = &data[i..];
            if rest.len() >= self.marker.len() {
                if rest.starts_with(&self.marker) {
                    if i > 0 {
                        on(Piece::Output(&data[..i]));
                    }
                    self.line = Some(Vec::new());
                    return Some(&rest[self.marker.len()..]);
                }
            } else if self.marker.starts_with(rest) {
                if i > 0 {
                    on(Piece::Output(&data[..i]));
                }
                self.held = rest.to_vec();
                return None;
            }
            from = i + 1;
        }
        on(Piece::Output(data));
        None
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
