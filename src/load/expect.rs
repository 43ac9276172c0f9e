//! `expect` lines → `Rule`s. A rule is either `exit=N` or a stream
//! (`stdout` / `stderr`) with exactly one matcher; regexes are compiled
//! here so a bad pattern is a load error, not a surprise on host 40.

use kdl::{KdlEntry, KdlNode, KdlValue};
use regex::Regex;

use super::decode::Decoder;
use super::suggest;
use crate::model::{Check, Matcher, Rule, Stream};

const PROPS: &[&str] = &[
    "exit",
    "contains",
    "not-contains",
    "matches",
    "not-matches",
    "message",
];
const MATCHERS: &[&str] = &["contains", "not-contains", "matches", "not-matches"];
const STREAMS: &[&str] = &["stdout", "stderr"];
const EXAMPLES: &str = "e.g. `expect exit=0` or `expect stdout contains=\"ok\"`";

pub(crate) fn decode_rule(d: &mut Decoder, node: &KdlNode) -> Option<Rule> {
    d.no_children(node);
    let props = d.props(node, PROPS);
    let message = props.get("message").and_then(|entry| d.string(entry));
    let matchers: Vec<(&str, &KdlEntry)> = props
        .iter()
        .filter(|(key, _)| MATCHERS.contains(key))
        .collect();
    let args: Vec<&KdlEntry> = Decoder::args(node).collect();

    let check = match props.get("exit") {
        Some(exit) => {
            reject_beside_exit(d, &args, &matchers);
            exit_code(d, exit).map(Check::ExitCode)
        }
        None => stream_check(d, node, &args, &matchers),
    };
    Some(Rule {
        span: d.node_span(node),
        check: check?,
        message,
    })
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
            "`expect` needs `exit=N` or a stream and a matcher",
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
/// boundary, so `^ok$` finds a line that is exactly `ok` in any output.
fn regex(d: &mut Decoder, pattern: &str, span: &crate::model::Span) -> Option<Regex> {
    match regex::RegexBuilder::new(pattern).multi_line(true).build() {
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
