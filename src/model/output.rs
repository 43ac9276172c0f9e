//! What one command produced, wherever it ran (a host over SSH or the
//! controller): capped output, exit status, and how it ended.

use std::time::Duration;

use crate::model::report::Captured;

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
pub struct Capture {
    cap: usize,
    buf: Vec<u8>,
    bytes: u64,
}

impl Capture {
    pub fn new(cap: usize) -> Capture {
        Capture {
            cap,
            buf: Vec::new(),
            bytes: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        let room = self.cap.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Lossy UTF-8 in `text`, plus the exact bytes in `base64` when they
    /// are not valid UTF-8. When the cap cut a multi-byte character in half, the
    /// dangling bytes are dropped instead of showing up as U+FFFD, which
    /// would suggest the command wrote invalid text.
    pub fn finish(self) -> Captured {
        let truncated = self.bytes > u64::try_from(self.buf.len()).unwrap_or(u64::MAX);
        let mut buf = self.buf;
        if truncated && let Err(e) = std::str::from_utf8(&buf) {
            // `error_len() == None`: the input ends inside a character.
            if e.error_len().is_none() {
                buf.truncate(e.valid_up_to());
            }
        }
        let base64 = std::str::from_utf8(&buf)
            .is_err()
            .then(|| data_encoding::BASE64.encode(&buf));
        Captured {
            text: String::from_utf8_lossy(&buf).into_owned(),
            bytes: self.bytes,
            truncated,
            base64,
        }
    }
}

#[cfg(test)]
mod tests {
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
    fn invalid_utf8_is_kept_exactly_in_base64() {
        let mut c = Capture::new(16);
        c.push(b"a\xff\x00\x1b[2Jb");
        let out = c.finish();
        let decoded = out
            .base64
            .as_deref()
            .map(|b| data_encoding::BASE64.decode(b.as_bytes()));
        assert_eq!(decoded, Some(Ok(b"a\xff\x00\x1b[2Jb".to_vec())));
    }

    #[test]
    fn valid_utf8_has_no_base64() {
        let mut c = Capture::new(16);
        c.push("héllo\x00".as_bytes());
        assert_eq!(c.finish().base64, None);
    }
}
