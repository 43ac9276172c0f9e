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
            d.error(
                &span,
                format!("invalid duration {text:?}"),
                error.to_string(),
                Some(HELP.to_owned()),
            );
            None
        }
    }
}
