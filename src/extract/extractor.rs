//! The extractor choice and the dispatching entry point, plus the two
//! trivial parsers (lines, JSON).

use serde_json::Value;

use super::error::ExtractError;
use super::limits::{JSON_OBJECT_WEIGHT, Limit, MAX_JSON_VALUES, MAX_LINES, group};
use super::table::TableOptions;

/// How to read a step's stdout.
#[derive(Debug, Clone)]
pub enum Extractor {
    /// One string per line: `["line1", "line2"]`. Line terminators (`\n`,
    /// `\r\n`) are removed; trailing blank lines are dropped (commands end
    /// their output with a newline, which is not an extra line), blank lines
    /// in the middle are kept so indexes match what the operator sees.
    Lines,
    /// The whole output parsed as one JSON document.
    Json,
    /// `key: value`, `key=value` or `key value` lines → `{"key": "value"}`.
    ///
    /// With `separator: None` each line is split at its first `:` or `=`
    /// (whichever comes first), or at its first whitespace when it has
    /// neither. With `Some(sep)` every line must contain `sep` (a
    /// whitespace-only `sep` means "the first run of whitespace"). Keys and
    /// values are trimmed, one pair of surrounding double quotes is removed
    /// from each and a trailing `,` from the value, so JSON-ish lines such as
    /// `"health" : 1,` (mongo `rs.status()` piped through grep) read as
    /// `{"health": "1"}`. Blank lines and lines starting with `#` are
    /// skipped. A repeated key keeps its **last** value; to keep every
    /// record use [`Extractor::Regex`] with `all: true`.
    KeyValue { separator: Option<String> },
    /// A whitespace-aligned table → one object per row. See [`TableOptions`]
    /// for header detection, multi-word headers, continuation rows and the
    /// end of the table.
    Table(TableOptions),
    /// Named capture groups of `regex` → `{"name": "text"}` for the first
    /// match (no match is an error), or with `all` an array with one object
    /// per match (possibly empty). A group that did not take part in the
    /// match is `null`. The pattern runs over the whole output: use `(?m)`
    /// for `^`/`$` per line.
    Regex { regex: regex::Regex, all: bool },
}

impl Extractor {
    /// Compiles `pattern` and checks that it has at least one named group,
    /// so a typo is reported when the workflow is loaded, not per host.
    pub fn regex(pattern: &str, all: bool) -> Result<Self, RegexBuildError> {
        let regex = regex::Regex::new(pattern).map_err(RegexBuildError::Invalid)?;
        if regex.capture_names().flatten().next().is_none() {
            return Err(RegexBuildError::Unnamed(ExtractError::NoNamedGroups {
                pattern: pattern.to_owned(),
            }));
        }
        Ok(Self::Regex { regex, all })
    }
}

/// Why [`Extractor::regex`] refused a pattern.
#[derive(Debug, thiserror::Error)]
pub enum RegexBuildError {
    #[error("invalid regex: {0}")]
    Invalid(#[source] regex::Error),
    #[error("{0}")]
    Unnamed(ExtractError),
}

/// Parses `text` (a step's stdout) with `extractor`.
pub fn extract(extractor: &Extractor, text: &str) -> Result<Value, ExtractError> {
    match extractor {
        Extractor::Lines => lines(text),
        Extractor::Json => json(text),
        Extractor::KeyValue { separator } => super::key_value::parse(text, separator.as_deref()),
        Extractor::Table(options) => super::table::parse(text, options),
        Extractor::Regex { regex, all } => super::regex_capture::parse(text, regex, *all),
    }
}

fn lines(text: &str) -> Result<Value, ExtractError> {
    // Counted before anything is built: up to the last non-blank line.
    let kept = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()
        .map_or(0, |(i, _)| i + 1);
    if kept > MAX_LINES {
        return Err(ExtractError::TooLarge {
            limit: Limit::Lines,
            found: format!("{} lines", group(kept)),
        });
    }
    Ok(Value::Array(
        text.lines().take(kept).map(Value::from).collect(),
    ))
}

fn json(text: &str) -> Result<Value, ExtractError> {
    if text.trim().is_empty() {
        return Err(ExtractError::EmptyJson);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let message = json_message(&e);
        if message == "recursion limit exceeded" {
            ExtractError::TooLarge {
                limit: Limit::JsonDepth,
                found: format!(
                    "nesting deeper than {} levels at line {}, column {}",
                    super::limits::MAX_JSON_DEPTH,
                    e.line(),
                    e.column()
                ),
            }
        } else {
            ExtractError::Json {
                line: e.line(),
                column: e.column(),
                message,
            }
        }
    })?;
    if !json_within(&value, MAX_JSON_VALUES) {
        return Err(ExtractError::TooLarge {
            limit: Limit::JsonValues,
            found: format!("more than {} JSON values", group(MAX_JSON_VALUES)),
        });
    }
    Ok(value)
}

/// Whether `value` holds at most `max` values (itself included, an object
/// counting [`JSON_OBJECT_WEIGHT`]), walked without recursion and stopping
/// as soon as the count is exceeded.
fn json_within(value: &Value, max: usize) -> bool {
    let mut seen = 0usize;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        seen += match v {
            Value::Object(_) => JSON_OBJECT_WEIGHT,
            _ => 1,
        };
        if seen > max {
            return false;
        }
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    true
}

/// serde_json's Display appends " at line L column C"; we report the
/// position ourselves, so keep only the description.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    }
}

#[cfg(test)]
#[path = "extractor_tests.rs"]
mod tests;
