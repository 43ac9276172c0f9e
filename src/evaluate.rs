//! Rule evaluation: does a step's output satisfy its rules? Pure functions
//! over captured output; every failed rule is reported, not just the first.

use crate::model::{Check, Matcher, Stream};
use crate::plan::PlannedRule;
use crate::results::{Captured, RuleFailure};

/// What a finished command left behind, as rules see it.
pub struct Observed<'a> {
    pub stdout: &'a Captured,
    pub stderr: &'a Captured,
    pub exit_status: Option<u32>,
    pub exit_signal: Option<&'a str>,
}

/// Lines of output quoted in a failure's `seen`.
const EXCERPT_LINES: usize = 5;
/// Characters per quoted line before it is cut.
const EXCERPT_WIDTH: usize = 160;

pub fn evaluate(rules: &[PlannedRule], seen: &Observed<'_>) -> Vec<RuleFailure> {
    rules
        .iter()
        .filter_map(|rule| {
            check(&rule.check, seen).map(|what| RuleFailure {
                expected: rule.check.describe(),
                message: rule.message.clone(),
                seen: what,
                location: rule.location.clone(),
            })
        })
        .collect()
}

/// `None` when the check holds, else what was seen instead.
fn check(check: &Check, seen: &Observed<'_>) -> Option<String> {
    match check {
        Check::ExitCode(want) => match (seen.exit_status, seen.exit_signal) {
            (Some(code), _) if code == *want => None,
            (Some(code), _) => Some(format!("exit status {code}{}", stderr_hint(seen))),
            (None, Some(sig)) => Some(format!("killed by signal {sig}")),
            (None, None) => Some("no exit status reported".to_string()),
        },
        Check::Stream { stream, matcher } => {
            let captured = match stream {
                Stream::Stdout => seen.stdout,
                Stream::Stderr => seen.stderr,
            };
            let text = captured.text.as_str();
            let name = stream.as_str();
            match matcher {
                Matcher::Contains(needle) => {
                    (!text.contains(needle.as_str())).then(|| whole_excerpt(name, captured))
                }
                Matcher::Matches(re) => (!re.is_match(text)).then(|| whole_excerpt(name, captured)),
                Matcher::NotContains(needle) => {
                    offending_lines(name, text, |l| l.contains(needle.as_str()))
                }
                Matcher::NotMatches(re) => {
                    if !re.is_match(text) {
                        return None;
                    }
                    // Multi-line patterns may match across lines; fall back
                    // to the whole excerpt when no single line matches.
                    offending_lines(name, text, |l| re.is_match(l))
                        .or_else(|| Some(whole_excerpt(name, captured)))
                }
            }
        }
    }
}

fn stderr_hint(seen: &Observed<'_>) -> String {
    match seen.stderr.text.lines().find(|l| !l.trim().is_empty()) {
        Some(line) => format!(", stderr: {}", cut(line.trim())),
        None => String::new(),
    }
}

/// The lines that made a negative rule fail, numbered.
fn offending_lines(name: &str, text: &str, hit: impl Fn(&str) -> bool) -> Option<String> {
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
fn whole_excerpt(name: &str, captured: &Captured) -> String {
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

fn cut(line: &str) -> String {
    if line.chars().count() <= EXCERPT_WIDTH {
        line.to_string()
    } else {
        let mut s: String = line.chars().take(EXCERPT_WIDTH).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn cap(s: &str) -> Captured {
        Captured {
            text: s.to_string(),
            bytes: s.len() as u64,
            truncated: false,
        }
    }

    fn rule(check: Check) -> PlannedRule {
        PlannedRule {
            check,
            message: Some("msg".into()),
            location: "wf.kdl:3:9".into(),
        }
    }

    fn run(check: Check, out: &str, err: &str, code: Option<u32>) -> Vec<RuleFailure> {
        let (o, e) = (cap(out), cap(err));
        evaluate(
            &[rule(check)],
            &Observed {
                stdout: &o,
                stderr: &e,
                exit_status: code,
                exit_signal: None,
            },
        )
    }

    fn stdout(m: Matcher) -> Check {
        Check::Stream {
            stream: Stream::Stdout,
            matcher: m,
        }
    }

    #[test]
    fn exit_code_rule() {
        assert!(run(Check::ExitCode(0), "", "", Some(0)).is_empty());
        let f = run(Check::ExitCode(0), "", "boom\n", Some(2));
        assert_eq!(f[0].seen, "exit status 2, stderr: boom");
        assert_eq!(f[0].expected, "exit status 0");
        assert_eq!(f[0].message.as_deref(), Some("msg"));
        assert_eq!(f[0].location, "wf.kdl:3:9");
        let f = run(Check::ExitCode(0), "", "", None);
        assert_eq!(f[0].seen, "no exit status reported");
    }

    #[test]
    fn contains_and_not_contains() {
        let c = || stdout(Matcher::Contains("Leader".into()));
        assert!(run(c(), "a Leader b", "", Some(0)).is_empty());
        let f = run(c(), "one\ntwo\n", "", Some(0));
        assert_eq!(f[0].seen, "stdout (2 lines):\n  one\n  two");
        let n = || stdout(Matcher::NotContains("0/1".into()));
        assert!(run(n(), "svc 1/1\n", "", Some(0)).is_empty());
        let f = run(n(), "a 1/1\nb 0/1\nc 0/1\n", "", Some(0));
        assert_eq!(f[0].seen, "stdout line 2: b 0/1\nstdout line 3: c 0/1");
    }

    #[test]
    fn matches_and_not_matches() {
        let re = || Regex::new(r"\b0/1\b").unwrap_or_else(|e| panic!("{e}"));
        assert!(run(stdout(Matcher::Matches(re())), "x 0/1", "", Some(0)).is_empty());
        assert_eq!(
            run(stdout(Matcher::Matches(re())), "", "", Some(0))[0].seen,
            "stdout was empty"
        );
        assert!(run(stdout(Matcher::NotMatches(re())), "10/10", "", Some(0)).is_empty());
        let f = run(
            stdout(Matcher::NotMatches(re())),
            "ok\nworker 0/1\n",
            "",
            Some(0),
        );
        assert_eq!(f[0].seen, "stdout line 2: worker 0/1");
    }

    #[test]
    fn stderr_stream_and_all_failures_reported() {
        let (o, e) = (cap(""), cap("warning: disk\n"));
        let rules = [
            rule(Check::ExitCode(0)),
            rule(Check::Stream {
                stream: Stream::Stderr,
                matcher: Matcher::NotContains("warning".into()),
            }),
        ];
        let f = evaluate(
            &rules,
            &Observed {
                stdout: &o,
                stderr: &e,
                exit_status: Some(1),
                exit_signal: None,
            },
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].seen, "stderr line 1: warning: disk");
    }

    #[test]
    fn long_output_is_excerpted() {
        let text: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let f = run(stdout(Matcher::Contains("nope".into())), &text, "", Some(0));
        assert!(f[0].seen.ends_with("… 15 more lines"), "{}", f[0].seen);
        assert_eq!(f[0].seen.lines().count(), 7);
    }
}
