//! Rule nodes → `Rule`s:
//! - `expect exit=N` / `expect exit-in="N,M"` (the exit statuses that let the
//!   step pass; without one a step accepts only 0);
//! - `expect stdout|stderr MATCHER=…` (the literal forms);
//! - `expect "EXPR"` (a minijinja expression that must be true);
//! - `expect-each "EXPR" where="EXPR"` (true for every row of `data`, or
//!   of the list `in="EXPR"` gives; zero rows fail unless `empty="pass"`);
//! - `expect-count "EXPR" min=N max=N` (how many rows it holds for).
//!
//! Each takes `message=` and `severity="warn"|"fail"`. Regexes and
//! expressions are compiled here so a bad one is a load error, not a
//! surprise on host 40.

use kdl::{KdlEntry, KdlNode, KdlValue};
use regex::Regex;

use super::decode::{Decoder, Props};
use super::step::compile;
use super::suggest;
use super::template::narrow;
use crate::model::Expression;
use crate::model::{Check, Matcher, Rule, Severity, Stream};

const PROPS: &[&str] = &[
    "exit",
    "exit-in",
    "contains",
    "not-contains",
    "matches",
    "not-matches",
    "message",
    "severity",
];
const EACH_PROPS: &[&str] = &["in", "where", "empty", "message", "severity"];
const EMPTY: &[&str] = &["pass", "fail"];
const COUNT_PROPS: &[&str] = &["in", "min", "max", "message", "severity"];
const MATCHERS: &[&str] = &["contains", "not-contains", "matches", "not-matches"];
const STREAMS: &[&str] = &["stdout", "stderr"];
const SEVERITIES: &[&str] = &["warn", "fail"];
const EXAMPLES: &str =
    "e.g. `expect exit=0`, `expect stdout contains=\"ok\"` or `expect \"exit_code == 0\"`";

/// Which rule node is being decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleKind {
    Expect,
    Each,
    Count,
}

pub(crate) fn decode_rule(d: &mut Decoder, node: &KdlNode, kind: RuleKind) -> Option<Rule> {
    d.no_children(node);
    let allowed = match kind {
        RuleKind::Expect => PROPS,
        RuleKind::Each => EACH_PROPS,
        RuleKind::Count => COUNT_PROPS,
    };
    let props = d.props(node, allowed);
    let message = props.get("message").and_then(|entry| d.string(entry));
    if let Some(m) = &message {
        super::template::check_template(d, m);
    }
    let severity = severity(d, &props);
    let rows = props
        .get("in")
        .and_then(|e| d.string(e))
        .map(|r| compile(d, r));
    let check = match kind {
        RuleKind::Expect => expect_check(d, node, &props),
        RuleKind::Each => {
            let expr = expression_arg(d, node, "an expression over `row`");
            let filter = props
                .get("where")
                .and_then(|e| d.string(e))
                .map(|f| compile(d, f));
            let empty_passes = props.get("empty").and_then(|e| empty(d, e));
            expr.map(|expr| Check::Each {
                expr,
                filter,
                rows,
                empty_passes: empty_passes.unwrap_or(false),
            })
        }
        RuleKind::Count => {
            let expr = expression_arg(d, node, "an expression over `row`");
            let min = props.get("min").and_then(|e| count(d, e));
            let max = props.get("max").and_then(|e| count(d, e));
            if props.get("min").is_none() && props.get("max").is_none() {
                let span = d.node_span(node);
                d.error(
                    &span,
                    "`expect-count` needs `min=` or `max=`",
                    "no bound",
                    Some("e.g. `expect-count \"row.REPLICAS == '0/1'\" max=0`".to_owned()),
                );
            }
            expr.map(|expr| Check::Count {
                expr,
                min,
                max,
                rows,
            })
        }
    };
    Some(Rule {
        span: d.node_span(node),
        check: check?,
        message,
        severity: severity?,
    })
}

fn expect_check(d: &mut Decoder, node: &KdlNode, props: &Props<'_>) -> Option<Check> {
    let matchers: Vec<(&str, &KdlEntry)> = props
        .iter()
        .filter(|(key, _)| MATCHERS.contains(key))
        .collect();
    let args: Vec<&KdlEntry> = Decoder::args(node).collect();
    let exit = props.get("exit");
    let exit_in = props.get("exit-in");
    if exit.is_some() || exit_in.is_some() {
        reject_beside_exit(d, &args, &matchers);
        if let Some(severity) = props.get("severity") {
            // A warn-level exit rule would let a failed command read as
            // WARNED; the statuses that are fine are listed instead.
            let span = d.entry_span(severity);
            d.error(
                &span,
                "`severity=` does not apply to an exit rule",
                "not for exit rules",
                Some(
                    "list every acceptable status instead, e.g. `expect exit-in=\"0,1\"`"
                        .to_owned(),
                ),
            );
        }
        return match (exit, exit_in) {
            (Some(_), Some(both)) => {
                let span = d.entry_span(both);
                d.error(
                    &span,
                    "`exit=` and `exit-in=` in one rule",
                    "second exit rule",
                    Some("keep one: `exit-in=\"0,1\"` lists several statuses".to_owned()),
                );
                None
            }
            (Some(exit), None) => exit_code(d, exit).map(|code| Check::Exit(vec![code])),
            (None, Some(list)) => exit_list(d, list).map(Check::Exit),
            (None, None) => None,
        };
    }
    // One string argument that is not a stream name, and no matcher: an
    // expression.
    if let ([arg], []) = (args.as_slice(), matchers.as_slice())
        && let KdlValue::String(text) = arg.value()
        && !STREAMS.contains(&text.as_str())
    {
        let expr = d.string(arg)?;
        return Some(Check::Expr(compile(d, expr)));
    }
    stream_check(d, node, &args, &matchers)
}

/// The expression argument of `expect-each` / `expect-count`, compiled.
pub(crate) fn expression_arg(d: &mut Decoder, node: &KdlNode, what: &str) -> Option<Expression> {
    let expr = d.exactly_one_arg(node, what).and_then(|e| d.string(e))?;
    Some(compile(d, expr))
}

fn severity(d: &mut Decoder, props: &Props<'_>) -> Option<Severity> {
    let Some(entry) = props.get("severity") else {
        return Some(Severity::Fail);
    };
    let text = d.string(entry)?;
    match text.value.as_str() {
        "warn" => Some(Severity::Warn),
        "fail" => Some(Severity::Fail),
        other => {
            d.error(
                &text.span,
                format!("unknown severity `{other}`"),
                "unknown severity",
                Some(suggest::unknown_help(other, SEVERITIES, "as a severity")),
            );
            None
        }
    }
}

fn count(d: &mut Decoder, entry: &KdlEntry) -> Option<u64> {
    let n = d.integer(entry)?;
    match u64::try_from(n.value) {
        Ok(n) => Some(n),
        Err(_) => {
            d.error(&n.span, "a row count cannot be negative", "negative", None);
            None
        }
    }
}

/// `exit=` is a rule of its own; a stream or matcher beside it would be
/// silently ignored, so it is an error.
fn reject_beside_exit(d: &mut Decoder, args: &[&KdlEntry], matchers: &[(&str, &KdlEntry)]) {
    for arg in args {
        let span = d.entry_span(arg);
        d.error(
            &span,
            "`expect exit=` takes no stream",
            "unexpected argument",
            Some("check a stream in a separate `expect` line".to_owned()),
        );
    }
    for (key, entry) in matchers {
        let span = d.entry_span(entry);
        d.error(
            &span,
            format!("`{key}=` cannot be combined with `exit=`"),
            "second check",
            Some(format!(
                "write it as a separate line: `expect stdout {key}=…`"
            )),
        );
    }
}

fn exit_code(d: &mut Decoder, entry: &KdlEntry) -> Option<u32> {
    let code = d.integer(entry)?;
    match u32::try_from(code.value) {
        Ok(code) => Some(code),
        Err(_) => {
            d.error(
                &code.span,
                format!("exit status {} is out of range", code.value),
                "out of range",
                Some("exit statuses are non-negative integers, 0 for success".to_owned()),
            );
            None
        }
    }
}

/// `exit-in="0,1"`: comma-separated exit statuses, sorted and without
/// duplicates.
fn exit_list(d: &mut Decoder, entry: &KdlEntry) -> Option<Vec<u32>> {
    if let KdlValue::Integer(_) = entry.value() {
        // `exit-in=1`: a list of one.
        return exit_code(d, entry).map(|code| vec![code]);
    }
    let text = d.string(entry)?;
    let mut codes = Vec::new();
    let mut offset = 0;
    let mut bad = false;
    for part in text.value.split(',') {
        let trimmed = part.trim();
        let start = offset + (part.len() - part.trim_start().len());
        match trimmed.parse::<u32>() {
            Ok(code) => codes.push(code),
            _ => {
                bad = true;
                let at = narrow(&text, &(start..start + trimmed.len()));
                let what = if trimmed.is_empty() {
                    "an empty item".to_owned()
                } else {
                    format!("`{trimmed}` is not an exit status")
                };
                d.error(
                    &at,
                    format!("{what} in `exit-in`"),
                    "not an exit status",
                    Some(
                        "list exit statuses (non-negative integers) separated by commas, e.g. `exit-in=\"0,1\"`"
                            .to_owned(),
                    ),
                );
            }
        }
        offset += part.len() + 1;
    }
    if bad {
        return None;
    }
    codes.sort_unstable();
    codes.dedup();
    Some(codes)
}

/// `empty="pass"|"fail"` of `expect-each`: whether zero rows hold.
fn empty(d: &mut Decoder, entry: &KdlEntry) -> Option<bool> {
    let text = d.string(entry)?;
    match text.value.as_str() {
        "pass" => Some(true),
        "fail" => Some(false),
        other => {
            d.error(
                &text.span,
                format!("unknown `empty` value `{other}`"),
                "pass or fail",
                Some(suggest::unknown_help(other, EMPTY, "for `empty`")),
            );
            None
        }
    }
}

fn stream_check(
    d: &mut Decoder,
    node: &KdlNode,
    args: &[&KdlEntry],
    matchers: &[(&str, &KdlEntry)],
) -> Option<Check> {
    let Some((first, extra)) = args.split_first() else {
        let span = d.node_span(node);
        d.error(
            &span,
            "`expect` needs `exit=N`, `exit-in=\"N,M\"` or a stream and a matcher",
            "incomplete rule",
            Some(EXAMPLES.to_owned()),
        );
        return None;
    };
    for arg in extra {
        let span = d.entry_span(arg);
        d.error(
            &span,
            "`expect` takes one stream",
            "unexpected argument",
            Some("check each stream in its own `expect` line".to_owned()),
        );
    }
    let stream = stream(d, first);

    let matcher = match matchers {
        [] => {
            let span = d.node_span(node);
            d.error(
                &span,
                "`expect` needs a matcher",
                "no matcher",
                Some(format!(
                    "add one of {}",
                    suggest::list(&["contains=", "not-contains=", "matches=", "not-matches="])
                )),
            );
            None
        }
        [(key, entry), rest @ ..] => {
            for (_, extra) in rest {
                let span = d.entry_span(extra);
                d.error(
                    &span,
                    "`expect` takes one matcher",
                    "second matcher",
                    Some("write one `expect` line per check".to_owned()),
                );
            }
            matcher(d, key, entry)
        }
    };
    Some(Check::Stream {
        stream: stream?,
        matcher: matcher?,
    })
}

fn stream(d: &mut Decoder, entry: &KdlEntry) -> Option<Stream> {
    let name = match entry.value() {
        KdlValue::String(name) => name.as_str(),
        _ => {
            d.type_error(entry, "a stream name", Some(EXAMPLES.to_owned()));
            return None;
        }
    };
    match name {
        "stdout" => Some(Stream::Stdout),
        "stderr" => Some(Stream::Stderr),
        _ => {
            let span = d.value_span(entry);
            d.error(
                &span,
                format!("unknown stream `{name}`"),
                "unknown stream",
                Some(suggest::unknown_help(name, STREAMS, "after `expect`")),
            );
            None
        }
    }
}

fn matcher(d: &mut Decoder, key: &str, entry: &KdlEntry) -> Option<Matcher> {
    let text = d.string(entry)?;
    match key {
        "contains" => Some(Matcher::Contains(text.value)),
        "not-contains" => Some(Matcher::NotContains(text.value)),
        "matches" => regex(d, &text.value, &text.span).map(Matcher::Matches),
        // MATCHERS holds exactly these four keys.
        _ => regex(d, &text.value, &text.span).map(Matcher::NotMatches),
    }
}

/// Patterns are multi-line, as with grep: `^` and `$` match at every line
/// boundary, so `^ok$` finds a line that is exactly `ok` in any output,
/// CRLF line ends (a `tty` step) included.
fn regex(d: &mut Decoder, pattern: &str, span: &crate::model::Span) -> Option<Regex> {
    match regex::RegexBuilder::new(pattern)
        .multi_line(true)
        .crlf(true)
        .build()
    {
        Ok(regex) => Some(regex),
        Err(error) => {
            d.error(
                span,
                "invalid regular expression",
                regex_problem(&error),
                Some(
                    "regexes use Rust regex syntax (https://docs.rs/regex/#syntax); \
                     write them as raw strings, #\"…\"#, so backslashes reach the regex unchanged"
                        .to_owned(),
                ),
            );
            None
        }
    }
}

/// The regex crate's syntax errors repeat the pattern with a caret on
/// several lines; the snippet already shows the pattern, so keep only the
/// final `error: …` line.
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .map_or_else(|| text.clone(), str::to_owned)
}
