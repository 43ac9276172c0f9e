//! Timestamps as commands print them → unix seconds, plus "how long
//! until / since" helpers relative to the environment's [`Clock`].
//!
//! [`Clock`]: super::Clock

use minijinja::{Error, Value};
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::units::{describe, invalid};

const DAY: i64 = 86_400;

/// `"Nov 12 10:00:00 2026 GMT" | timestamp` → `1794477600`. Accepts:
/// * openssl `notAfter=` dates: `Nov 12 10:00:00 2026 GMT` (day may be
///   space-padded: `Nov  2 ...`);
/// * RFC 3339 (`2026-11-20T03:00:00Z`) and RFC 2822 (`date -R`);
/// * mongo / JavaScript dates: `Tue Sep 22 2020 16:03:34 GMT+0000 (UTC)`;
/// * `date` default output with UTC/GMT: `Tue Sep 22 16:03:34 UTC 2020`;
/// * `ls --time-style=long-iso` / `full-iso`: `2026-11-20 03:00`,
///   `2026-11-20 03:00:00`, a bare date `2026-11-20`;
/// * epoch seconds, as a number or text (`date +%s`).
///
/// Without a zone (`long-iso`), the time is read as **UTC**: the host's
/// zone is not known here, so run such commands with `TZ=UTC`.
pub fn timestamp(value: &Value) -> Result<Value, Error> {
    unix_seconds(value).map(Value::from)
}

/// `days_until(cert.notAfter)`: whole days from now until the timestamp,
/// rounded down (so `< 14` means "expires within two weeks"); negative once
/// it has passed. Accepts anything `timestamp` accepts.
pub fn days_until(value: &Value, now: i64) -> Result<Value, Error> {
    let at = unix_seconds(value)?;
    Ok(Value::from((at - now).div_euclid(DAY)))
}

/// `age(synced_to)`: seconds elapsed since the timestamp (negative if it
/// is in the future). Accepts anything `timestamp` accepts.
pub fn age(value: &Value, now: i64) -> Result<Value, Error> {
    unix_seconds(value).map(|at| Value::from(now - at))
}

fn unix_seconds(value: &Value) -> Result<i64, Error> {
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    if value.is_number() {
        return f64::try_from(value.clone())
            .ok()
            .filter(|x| x.is_finite())
            .map(|x| x.floor() as i64)
            .ok_or_else(|| invalid(format!("timestamp: {value} is not a usable epoch time")));
    }
    let Some(s) = value.as_str() else {
        return Err(invalid(format!(
            "timestamp: expected text or epoch seconds, got {}",
            describe(value)
        )));
    };
    parse(s).map_err(|why| {
        invalid(format!(
            "timestamp: cannot read {s:?} as a date and time ({why}); expected e.g. \"Nov 12 10:00:00 2026 GMT\", \"2026-11-20 03:00\", RFC 3339 or epoch seconds"
        ))
    })
}

fn parse(input: &str) -> Result<i64, String> {
    let s = input.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && let Ok(x) = s.parse::<f64>()
    {
        return Ok(x.floor() as i64);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Ok(t.unix_timestamp());
    }
    loose(s)
}

/// Order-independent reading of date parts: month name, day, year,
/// `YYYY-MM-DD`, `HH:MM[:SS[.frac]]`, zone; weekday names and
/// parenthesised zone names are ignored.
fn loose(s: &str) -> Result<i64, String> {
    let mut year = None;
    let mut month = None;
    let mut day = None;
    let mut clock = None;
    let mut offset = None;
    let mut in_parens = false;
    let tokens = s.split_whitespace().flat_map(|t| match t.split_once('T') {
        Some((d, c)) if is_iso_date(d) => vec![d, c],
        _ => vec![t],
    });
    for raw in tokens {
        if in_parens || raw.starts_with('(') {
            in_parens = !raw.ends_with(')');
            continue;
        }
        let token = raw.trim_end_matches([',', '.']);
        let lower = token.to_ascii_lowercase();
        if is_weekday(&lower) {
            continue;
        }
        let slot_taken = |what: &str| format!("two {what}s");
        if let Some(m) = month_named(&lower) {
            set(&mut month, m, || slot_taken("month"))?;
        } else if is_iso_date(token) {
            let (y, m, d) = iso_date(token).ok_or_else(|| format!("bad date {token:?}"))?;
            set(&mut year, y, || slot_taken("year"))?;
            set(&mut month, m, || slot_taken("month"))?;
            set(&mut day, d, || slot_taken("day"))?;
        } else if token.contains(':') && token.starts_with(|c: char| c.is_ascii_digit()) {
            let t = time_of_day(token).ok_or_else(|| format!("bad time {token:?}"))?;
            set(&mut clock, t, || slot_taken("time"))?;
        } else if token.bytes().all(|b| b.is_ascii_digit()) && token.len() == 4 {
            let y = token.parse().map_err(|_| format!("bad year {token:?}"))?;
            set(&mut year, y, || slot_taken("year"))?;
        } else if token.bytes().all(|b| b.is_ascii_digit()) && token.len() <= 2 {
            let d = token.parse().map_err(|_| format!("bad day {token:?}"))?;
            set(&mut day, d, || slot_taken("day"))?;
        } else if let Some(o) = zone(token) {
            set(&mut offset, o, || slot_taken("time zone"))?;
        } else {
            return Err(format!("unrecognised part {raw:?}"));
        }
    }
    let (Some(year), Some(month), Some(day)) = (year, month, day) else {
        return Err("no complete date (year, month and day)".into());
    };
    let date = Date::from_calendar_date(year, month, day).map_err(|e| e.to_string())?;
    let clock = clock.unwrap_or(Time::MIDNIGHT);
    let offset = offset.unwrap_or(UtcOffset::UTC);
    Ok(PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .unix_timestamp())
}

fn set<T>(slot: &mut Option<T>, value: T, dup: impl Fn() -> String) -> Result<(), String> {
    if slot.is_some() {
        return Err(dup());
    }
    *slot = Some(value);
    Ok(())
}

fn is_weekday(lower: &str) -> bool {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    lower.len() >= 3 && DAYS.iter().any(|d| d.starts_with(lower))
}

fn month_named(lower: &str) -> Option<Month> {
    const MONTHS: [(&str, Month); 12] = [
        ("january", Month::January),
        ("february", Month::February),
        ("march", Month::March),
        ("april", Month::April),
        ("may", Month::May),
        ("june", Month::June),
        ("july", Month::July),
        ("august", Month::August),
        ("september", Month::September),
        ("october", Month::October),
        ("november", Month::November),
        ("december", Month::December),
    ];
    if lower.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .find(|(name, _)| name.starts_with(lower))
        .map(|(_, m)| *m)
}

fn is_iso_date(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn iso_date(token: &str) -> Option<(i32, Month, u8)> {
    let year = token.get(0..4)?.parse().ok()?;
    let month = Month::try_from(token.get(5..7)?.parse::<u8>().ok()?).ok()?;
    let day = token.get(8..10)?.parse().ok()?;
    Some((year, month, day))
}

/// `HH:MM`, `HH:MM:SS`, `HH:MM:SS.fff` (fraction dropped), optional `Z`.
fn time_of_day(token: &str) -> Option<Time> {
    let token = token.strip_suffix(['Z', 'z']).unwrap_or(token);
    let mut parts = token.split(':');
    let hour = parts.next()?.parse().ok()?;
    let minute = parts.next()?.parse().ok()?;
    let second = match parts.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms(hour, minute, second).ok()
}

/// `GMT`, `UTC`, `UT`, `Z`, `GMT+0000`, `UTC+01:00`, `+0530`, `-05:00`, `+01`.
fn zone(token: &str) -> Option<UtcOffset> {
    let upper = token.to_ascii_uppercase();
    let rest = ["GMT", "UTC", "UT", "Z"]
        .iter()
        .find_map(|name| upper.strip_prefix(name))
        .unwrap_or(&upper);
    if rest.is_empty() {
        return (rest.len() < upper.len()).then_some(UtcOffset::UTC);
    }
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1i8, &rest[1..]),
        b'-' => (-1i8, &rest[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i8>().ok()?, 0),
        4 => (
            digits[..2].parse::<i8>().ok()?,
            digits[2..].parse::<i8>().ok()?,
        ),
        _ => return None,
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}
