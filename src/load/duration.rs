//! Durations (`timeout "30s"`, `connect-timeout "10s"`) in humantime's
//! syntax, which is what operators already write in systemd and ssh
//! configs.

use std::time::Duration;

use kdl::{KdlEntry, KdlValue};

use super::decode::Decoder;

const HELP: &str = "use a duration like 30s, 2m, 1h";

/// A positive duration, or an error on the value. Zero is rejected: a
/// timeout of zero would fail every step before it starts.
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
        Ok(duration) => Some(duration),
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
