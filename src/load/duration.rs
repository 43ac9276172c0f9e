//! Durations (`timeout "30s"`, `connect-timeout "10s"`) in humantime's
//! syntax, which is what operators already write in systemd and ssh
//! configs.

use std::time::Duration;

use kdl::{KdlEntry, KdlValue};

use super::decode::Decoder;

const HELP: &str = "use a duration like 30s, 2m, 1h";

/// The longest duration fleet accepts anywhere (step and workflow
/// `timeout`, `connect-timeout`, `keepalive`, `retry` delays, `fleet exec
/// --timeout`): 7 days. Far beyond any maintenance step, and far from the
/// point where `now + timeout` overflows the clock (which panicked).
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The error text for a duration over [`MAX_DURATION`].
fn too_long(text: &str) -> String {
    format!(
        "duration {text:?} is longer than the maximum of {}",
        humantime::format_duration(MAX_DURATION)
    )
}

/// `--timeout` and other command-line durations: humantime's syntax, more
/// than zero and at most [`MAX_DURATION`], as in workflow files.
pub fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("duration must be greater than zero".to_owned()),
        Ok(d) if d > MAX_DURATION => Err(too_long(text)),
        Ok(d) => Ok(d),
        Err(humantime::DurationError::NumberOverflow) => Err(too_long(text)),
        Err(e) => Err(format!("invalid duration {text:?}: {e}; {HELP}")),
    }
}

/// A positive duration of at most [`MAX_DURATION`], or an error on the
/// value. Zero is rejected: a timeout of zero would fail every step before
/// it starts.
pub(crate) fn duration(d: &mut Decoder, entry: &KdlEntry) -> Option<Duration> {
    let text = match entry.value() {
        KdlValue::String(text) => text,
        KdlValue::Integer(n) => {
            let help = format!("durations need a unit: write \"{n}s\"");
            d.type_error(entry, "a duration", Some(help));
            return None;
        }
        _ => {
            d.type_error(entry, "a duration", Some(HELP.to_owned()));
            return None;
        }
    };
    let span = d.value_span(entry);
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => {
            d.error(
                &span,
                "duration must be greater than zero",
                "zero",
                Some(HELP.to_owned()),
            );
            None
        }
        Ok(duration) if duration > MAX_DURATION => {
            d.error(&span, too_long(text), "too long", Some(HELP.to_owned()));
            None
        }
        Ok(duration) => Some(duration),
        Err(humantime::DurationError::NumberOverflow) => {
            d.error(&span, too_long(text), "too long", Some(HELP.to_owned()));
            None
        }
        Err(error) => {
            let (label, at) = describe(&error, text);
            // Narrow the caret to the bad part when the literal is a plain
            // quoted string, whose source offsets match the value's.
            let literal = d.source().text.get(span.offset..span.offset + span.len);
            let label_span = match at {
                Some((start, len)) if literal == Some(format!("\"{text}\"").as_str()) => {
                    span.sub(1 + start, len)
                }
                _ => span,
            };
            d.error(
                &label_span,
                format!("invalid duration {text:?}"),
                label,
                Some(HELP.to_owned()),
            );
            None
        }
    }
}

/// A short caret label for humantime's error, and the byte range within
/// the text it concerns.
fn describe(error: &humantime::DurationError, text: &str) -> (String, Option<(usize, usize)>) {
    use humantime::DurationError as E;
    let char_at = |at: usize| {
        let len = text
            .get(at..)
            .and_then(|rest| rest.chars().next())
            .map_or(1, char::len_utf8);
        Some((at, len))
    };
    match error {
        E::UnknownUnit {
            start, end, unit, ..
        } => (
            format!("unknown unit `{unit}`; units include s, m, h, d"),
            Some((*start, end.saturating_sub(*start))),
        ),
        E::InvalidCharacter(at) => ("unexpected character".to_owned(), char_at(*at)),
        E::NumberExpected(at) => ("expected a number".to_owned(), char_at(*at)),
        E::NumberOverflow => ("too large".to_owned(), None),
        E::Empty => ("empty".to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::test_support::{inventory_errors, workflow_errors};

    /// Before: a timeout of 10^11 years loaded, and `now + timeout`
    /// overflowed (a panic) when the step started.
    #[test]
    fn huge_timeouts_are_a_load_error_naming_the_maximum() {
        for t in ["100000000000y", "99999999999999999999s", "8d"] {
            let text = workflow_errors(&format!(
                "workflow w {{\n    timeout \"{t}\"\n    step s {{ run \"x\" }}\n}}\n"
            ));
            assert!(text.contains("longer than the maximum of 7days"), "{text}");
            assert!(text.contains("test.kdl:2:13"), "{text}");
        }
        let text = workflow_errors(
            "workflow w {\n    step s {\n        run \"x\"\n        timeout \"1000000000h\"\n    }\n}\n",
        );
        assert!(text.contains("maximum of 7days"), "{text}");
        let text = inventory_errors("defaults { connect-timeout \"9999999999d\" }\n");
        assert!(text.contains("maximum of 7days"), "{text}");
    }

    #[test]
    fn command_line_durations_share_the_cap() {
        assert_eq!(parse_duration_arg("7d"), Ok(MAX_DURATION));
        assert!(parse_duration_arg("8d").is_err_and(|e| e.contains("maximum of 7days")));
        assert!(parse_duration_arg("99999999999999999999s").is_err_and(|e| e.contains("maximum")));
        assert!(parse_duration_arg("0s").is_err());
        assert!(parse_duration_arg("2 minutez").is_err());
    }
}
