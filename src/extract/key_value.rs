//! `key: value` / `key=value` / `key value` lines → one object.

use serde_json::{Map, Value};

use super::error::ExtractError;
use super::limits::{Limit, MAX_KV_ENTRIES, group};

pub(super) fn parse(text: &str, separator: Option<&str>) -> Result<Value, ExtractError> {
    let mut object = Map::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let split = match separator {
            None => split_auto(line),
            Some(sep) if sep.trim().is_empty() => split_whitespace(line),
            Some(sep) => line.split_once(sep),
        };
        let Some((key, value)) = split.filter(|(k, _)| !unquote(k.trim()).is_empty()) else {
            return Err(ExtractError::KeyValue {
                line: index + 1,
                separator: separator.unwrap_or(": ").to_owned(),
                text: line.to_owned(),
            });
        };
        let key = unquote(key.trim());
        let value = value.trim();
        let value = unquote(value.strip_suffix(',').unwrap_or(value).trim_end());
        // Last wins: `insert` replaces, which is the documented behaviour.
        object.insert(key.to_owned(), Value::from(value));
        if object.len() > MAX_KV_ENTRIES {
            return Err(ExtractError::TooLarge {
                limit: Limit::KvEntries,
                found: format!(
                    "more than {} distinct keys (line {})",
                    group(MAX_KV_ENTRIES),
                    index + 1
                ),
            });
        }
    }
    Ok(Value::Object(object))
}

/// First `:` or `=`, whichever comes first; else the first whitespace.
fn split_auto(line: &str) -> Option<(&str, &str)> {
    match line.find([':', '=']) {
        Some(at) => Some((&line[..at], &line[at + 1..])),
        None => split_whitespace(line),
    }
}

fn split_whitespace(line: &str) -> Option<(&str, &str)> {
    line.split_once(char::is_whitespace)
}

/// Removes one pair of surrounding double quotes.
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}
