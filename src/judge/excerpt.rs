//! What a failure quotes of the output: the offending lines, the start of
//! a stream, how a command ended and its first lines of stderr, a row as
//! `key=value` pairs. Every excerpt is bounded so one failure stays a few
//! lines however large the output.

use minijinja::Value;

use crate::model::Expression;
use crate::model::output::ExecOutput;
use crate::model::report::Captured;

/// Lines of output quoted in a failure's `seen`.
pub(super) const EXCERPT_LINES: usize = 5;
/// Characters per quoted line before it is cut.
const EXCERPT_WIDTH: usize = 160;
/// Lines of stderr quoted when a command failed.
const STDERR_LINES: usize = 3;

/// `key=value` pairs of a row, or the value itself.
pub(super) fn describe_row(row: &Value) -> String {
    match serde_json::to_value(row) {
        Ok(serde_json::Value::Object(map)) => cut(&map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" ")),
        _ => cut(&short(row)),
    }
}

pub(super) fn short(v: &Value) -> String {
    match v.as_str() {
        Some(s) => format!("{s:?}"),
        None => serde_json::to_string(v).unwrap_or_else(|_| v.to_string()),
    }
}

/// What a broken `expect-each` saw when there were no rows at all: how much
/// output the parser had, and stderr, since an empty result is far more
/// often a command that printed nothing than a host with nothing to check.
pub(super) fn no_rows(source: Option<&Expression>, out: &ExecOutput) -> String {
    let bytes = out.stdout.bytes;
    let mut seen = match source {
        Some(expr) => format!(
            "no rows: `in={}` is empty ({bytes} bytes of stdout)",
            expr.value
        ),
        None => format!("no rows: the parser found no rows in {bytes} bytes of stdout"),
    };
    match first_lines(&out.stderr.text).as_slice() {
        [] => seen.push_str("; stderr empty"),
        lines => {
            seen.push_str("; stderr:");
            for line in lines {
                seen.push_str("\n  ");
                seen.push_str(line);
            }
        }
    }
    seen.push_str("\n(add `empty=\"pass\"` to the rule if no rows is healthy)");
    seen
}

/// `exit 127: bash: quickstart: command not found`: how a command ended and
/// the first lines of its stderr (of stdout when stderr is empty, as with
/// `tty` steps, whose stderr arrives merged into stdout).
pub fn exit_summary(out: &ExecOutput) -> String {
    let head = match (out.exit_status, out.exit_signal.as_deref()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "no exit status reported".to_string(),
    };
    let (lines, label) = match first_lines(&out.stderr.text) {
        lines if !lines.is_empty() => (lines, ""),
        _ => (first_lines(&out.stdout.text), "stderr empty; stdout: "),
    };
    match lines.split_first() {
        None => format!("{head}, no output"),
        Some((first, rest)) => {
            let mut s = format!("{head}: {label}{first}");
            for line in rest {
                s.push_str("\n  ");
                s.push_str(line);
            }
            s
        }
    }
}

/// The first non-blank lines of a stream, cut, with a count of the rest.
pub(super) fn first_lines(text: &str) -> Vec<String> {
    let all: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut lines: Vec<String> = all.iter().take(STDERR_LINES).map(|l| cut(l)).collect();
    if all.len() > STDERR_LINES {
        lines.push(format!("… {} more lines", all.len() - STDERR_LINES));
    }
    lines
}

/// Output with CRLF line ends (a `tty` step, `docker exec -t`) as the
/// parsers expect it: LF only. A lone CR (a progress bar) is kept.
pub fn unix_lines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("\r\n") {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The lines that made a negative rule fail, numbered.
pub(super) fn offending_lines(
    name: &str,
    text: &str,
    hit: impl Fn(&str) -> bool,
) -> Option<String> {
    let hits: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| hit(l))
        .map(|(i, l)| format!("{name} line {}: {}", i + 1, cut(l)))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let more = hits.len().saturating_sub(EXCERPT_LINES);
    let mut out = hits
        .into_iter()
        .take(EXCERPT_LINES)
        .collect::<Vec<_>>()
        .join("\n");
    if more > 0 {
        out.push_str(&format!("\n… {more} more matching lines"));
    }
    Some(out)
}

/// The start of a stream, for positive rules that found nothing.
pub(super) fn whole_excerpt(name: &str, captured: &Captured) -> String {
    let text = captured.text.trim_end();
    if text.is_empty() {
        return format!("{name} was empty");
    }
    let total = text.lines().count();
    let mut out = format!(
        "{name} ({total} line{}):",
        if total == 1 { "" } else { "s" }
    );
    for line in text.lines().take(EXCERPT_LINES) {
        out.push_str("\n  ");
        out.push_str(&cut(line));
    }
    if total > EXCERPT_LINES {
        out.push_str(&format!("\n  … {} more lines", total - EXCERPT_LINES));
    }
    if captured.truncated {
        out.push_str(&format!(
            "\n  (output truncated: {} bytes written, only the start was captured)",
            captured.bytes
        ));
    }
    out
}

pub(super) fn cut(line: &str) -> String {
    if line.chars().count() <= EXCERPT_WIDTH {
        line.to_string()
    } else {
        let mut s: String = line.chars().take(EXCERPT_WIDTH).collect();
        s.push('…');
        s
    }
}
