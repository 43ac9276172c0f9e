//! Terminal conventions shared by the live display and the summary: when to
//! colour, how to paint, and how to squeeze remote output into a few safe
//! lines. Kept free of indicatif so the summary stays a pure function.

use crate::report::sanitize;
use std::borrow::Cow;
use std::time::Duration;

/// How the operator's terminal should be addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayConfig {
    /// Emit ANSI colours in the summary (stdout) and the live bar.
    pub color: bool,
    /// stderr is a terminal a human watches: draw a live bar. Otherwise emit
    /// plain, append-only lines that read well in CI logs and files.
    pub interactive: bool,
}

impl DisplayConfig {
    /// No colour, no bar: what tests and redirected output get.
    pub fn plain() -> Self {
        DisplayConfig {
            color: false,
            interactive: false,
        }
    }
}

/// Wraps text in ANSI SGR codes, or passes it through when colour is off,
/// so rendering code never branches on colour itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    enabled: bool,
}

impl Paint {
    pub(crate) fn new(enabled: bool) -> Self {
        Paint { enabled }
    }

    fn sgr<'a>(self, code: &str, text: &'a str) -> Cow<'a, str> {
        if self.enabled && !text.is_empty() {
            Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Failures and errors: the things that need action.
    pub(crate) fn red(self, text: &str) -> Cow<'_, str> {
        self.sgr("1;31", text)
    }
    /// Timeouts and unreachable hosts: likely transient, still a problem.
    pub(crate) fn yellow(self, text: &str) -> Cow<'_, str> {
        self.sgr("33", text)
    }
    pub(crate) fn green(self, text: &str) -> Cow<'_, str> {
        self.sgr("32", text)
    }
    /// Secondary facts (locations, addresses, timings) the eye may skip.
    pub(crate) fn dim(self, text: &str) -> Cow<'_, str> {
        self.sgr("2", text)
    }
    pub(crate) fn bold(self, text: &str) -> Cow<'_, str> {
        self.sgr("1", text)
    }
}

/// Longest line, in characters, kept from remote output.
pub(crate) const MAX_LINE_CHARS: usize = 120;
/// Most lines of remote output shown for one excerpt, marker included.
pub(crate) const MAX_EXCERPT_LINES: usize = 5;

/// Human duration at the precision an operator cares about: `340ms`,
/// `12.4s`, `2m05s`, `1h02m`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let m = d.as_secs() / 60;
        format!("{}h{:02}m", m / 60, m % 60)
    }
}

/// Makes one line of remote output safe and short: control characters
/// (escape sequences, carriage returns) could repaint the operator's
/// terminal, so [`sanitize::line`] makes them visible; tabs become spaces;
/// overlong lines are cut with an ellipsis.
pub(crate) fn clean_line(line: &str, max_chars: usize) -> String {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let visible = sanitize::line(line);
    let mut out = String::with_capacity(visible.len().min(max_chars + 4));
    for (n, c) in visible.chars().enumerate() {
        if n == max_chars {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// At most [`MAX_EXCERPT_LINES`] lines of `text`: all of it when short,
/// otherwise the first and last two lines around a `… N more lines` marker,
/// because headers and final error lines carry most of the meaning.
/// Empty or blank text yields no lines; the marker is dimmed.
pub(crate) fn excerpt(text: &str, paint: Paint) -> Vec<String> {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let clean = |l: &&str| clean_line(l, MAX_LINE_CHARS);
    if lines.len() <= MAX_EXCERPT_LINES {
        return lines.iter().map(clean).collect();
    }
    let keep = (MAX_EXCERPT_LINES - 1) / 2;
    let hidden = lines.len() - 2 * keep;
    let mut out: Vec<String> = lines[..keep].iter().map(clean).collect();
    out.push(paint.dim(&format!("… {hidden} more lines")).into_owned());
    out.extend(lines[lines.len() - keep..].iter().map(clean));
    out
}

/// First line of `text`, cleaned and cut: for one-line progress messages.
pub(crate) fn first_line(text: &str, max_chars: usize) -> String {
    let first = text.trim().lines().next().unwrap_or("");
    let more = text.trim().lines().nth(1).is_some();
    let line = clean_line(first, max_chars);
    if more && !line.ends_with('…') {
        format!("{line} …")
    } else {
        line
    }
}

/// Byte counts at a glance: `512 B`, `3.4 KiB`, `1.0 MiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1 host` / `3 hosts`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(340)), "340ms");
        assert_eq!(duration(Duration::from_millis(12_440)), "12.4s");
        assert_eq!(duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn byte_counts_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3500), "3.4 KiB");
        assert_eq!(bytes(1_048_576), "1.0 MiB");
    }

    #[test]
    fn short_output_is_kept_whole() {
        assert_eq!(excerpt("a\nb\n\n", Paint::new(false)), vec!["a", "b"]);
        assert!(excerpt("  \n", Paint::new(false)).is_empty());
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let text: String = (1..=9).map(|i| format!("line {i}\n")).collect();
        assert_eq!(
            excerpt(&text, Paint::new(false)),
            vec!["line 1", "line 2", "… 5 more lines", "line 8", "line 9"]
        );
    }

    #[test]
    fn lines_are_cut_and_sanitized() {
        assert_eq!(clean_line("abcdef", 3), "abc…");
        assert_eq!(clean_line("\x1b[31mred\r", 80), "^[[31mred");
        assert_eq!(clean_line("a\tb", 80), "a  b");
    }

    #[test]
    fn painting_is_a_no_op_without_colour() {
        assert_eq!(Paint::new(false).red("x"), "x");
        assert_eq!(Paint::new(true).red("x"), "\x1b[1;31mx\x1b[0m");
    }
}
