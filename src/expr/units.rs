//! Numbers as commands print them: percentages, human-readable sizes,
//! durations. Each helper passes numbers through unchanged, so it is safe to
//! apply to a value that is already numeric (e.g. from JSON output).

use std::sync::LazyLock;

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};
use regex::Regex;

/// A number as minijinja should see it: an integer when it is whole (so
/// it prints as `85`, not `85.0`), else a float.
pub(super) fn numeric(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

pub(super) fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// How a value that is not usable text is named in an error.
pub(super) fn describe(value: &Value) -> String {
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => value.kind().to_string(),
        kind => format!("{kind} {value}"),
    }
}

/// The value's text, or `None` when it is already a number.
fn text_of<'a>(helper: &str, value: &'a Value) -> Result<Option<&'a str>, Error> {
    if value.is_number() {
        return Ok(None);
    }
    value.as_str().map(Some).ok_or_else(|| {
        invalid(format!(
            "{helper}: expected text or a number, got {}",
            describe(value)
        ))
    })
}

fn plain_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let digits = s.bytes().any(|b| b.is_ascii_digit());
    let charset = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if !digits || !charset {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `"85%" | number` → `85`, `" 0.5 " | number` → `0.5`. Reads a decimal
/// number with an optional trailing `%` (df's Capacity/Use%, top's %CPU).
pub fn number(value: &Value) -> Result<Value, Error> {
    let Some(s) = text_of("number", value)? else {
        return Ok(value.clone());
    };
    let body = s.trim();
    let body = body.strip_suffix('%').unwrap_or(body);
    plain_number(body)
        .map(numeric)
        .ok_or_else(|| invalid(format!("number: cannot read {s:?} as a number")))
}

static SIZE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgtpe])(i)?)?(b)?\s*$")
        .expect("constant pattern")
});

/// `"12G" | bytes` → `12884901888`. Sizes as `df -h`, `du -h`, `ls -lh`
/// and `free -h` print them: a number and an optional unit K, M, G, T, P, E
/// (any case, optionally followed by `i` and/or `B`), all powers of **1024**
/// as those tools use (`KB` and `KiB` mean the same here). A bare number or
/// `B` is bytes. The result is rounded to a whole number of bytes.
pub fn bytes(value: &Value) -> Result<Value, Error> {
    let Some(s) = text_of("bytes", value)? else {
        return Ok(value.clone());
    };
    let bad = || {
        invalid(format!(
            "bytes: cannot read {s:?} as a size (expected a number with an optional unit, like \"512\", \"12G\" or \"1.5MiB\")"
        ))
    };
    let caps = SIZE.captures(s).ok_or_else(bad)?;
    let amount: f64 = caps[1].parse().map_err(|_| bad())?;
    let power = match caps.get(2).map(|m| m.as_str().to_ascii_lowercase()) {
        None => 0,
        Some(unit) => "kmgtpe".find(&unit).map_or(0, |i| i + 1),
    };
    let size = (amount * 1024f64.powi(power as i32)).round();
    if size >= 9.0e18 {
        return Err(invalid(format!("bytes: {s:?} is too large")));
    }
    Ok(numeric(size))
}

static DURATION_PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*(?:,|\band\b)?").expect("constant pattern")
});
static PARENTHESES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\([^)]*\)").expect("constant pattern"));

/// Seconds per unit word; months are 30 days and years 365 days.
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "wk" | "wks" | "week" | "weeks" => 604_800.0,
        "mo" | "month" | "months" => 30.0 * 86_400.0,
        "y" | "yr" | "yrs" | "year" | "years" => 365.0 * 86_400.0,
        _ => return None,
    })
}

/// `"1m30s" | seconds` → `90`. Durations as tools print them: `"2h"`,
/// `"3 days"`, `"14d"`, `"1 day, 2 hours"`, `"1.5h"`, mongo's
/// `"0 secs (0 hrs)"` (parenthesised asides are ignored), clock forms
/// `"MM:SS"`, `"HH:MM:SS"` and ps's `"D-HH:MM:SS"`, and a bare number
/// (already seconds). `m` is minutes; months are 30 days, years 365.
pub fn seconds(value: &Value) -> Result<Value, Error> {
    let Some(s) = text_of("seconds", value)? else {
        return Ok(value.clone());
    };
    parse_duration(s)
        .map(numeric)
        .ok_or_else(|| {
            invalid(format!(
                "seconds: cannot read {s:?} as a duration (expected e.g. \"90\", \"1m30s\", \"3 days\", \"02:03:04\")"
            ))
        })
}

fn parse_duration(input: &str) -> Option<f64> {
    let cleaned = PARENTHESES.replace_all(input, " ");
    let s = cleaned.trim();
    if let Some(n) = plain_number(s) {
        return (n >= 0.0).then_some(n);
    }
    if s.contains(':') {
        return clock_duration(s);
    }
    let mut rest = s;
    let mut total = 0.0;
    while !rest.trim().is_empty() {
        let caps = DURATION_PART.captures(rest)?;
        let amount: f64 = caps[1].parse().ok()?;
        total += amount * unit_seconds(&caps[2])?;
        rest = &rest[caps.get(0)?.end()..];
    }
    (!s.is_empty()).then_some(total)
}

/// `[[D-]HH:]MM:SS` (ps etime/time, uptime).
fn clock_duration(s: &str) -> Option<f64> {
    let (days, clock) = match s.split_once('-') {
        Some((d, c)) => (d.parse::<u64>().ok()?, c),
        None => (0, s),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() > 3 || parts.len() < 2 {
        return None;
    }
    let mut total = 0.0;
    for part in &parts {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(total + days as f64 * 86_400.0)
}
