//! Named regex captures → objects.

use serde_json::{Map, Value};

use super::error::ExtractError;
use super::limits::{Limit, MAX_REGEX_MATCHES, group};

pub(super) fn parse(text: &str, regex: &regex::Regex, all: bool) -> Result<Value, ExtractError> {
    let names: Vec<&str> = regex.capture_names().flatten().collect();
    if names.is_empty() {
        return Err(ExtractError::NoNamedGroups {
            pattern: regex.as_str().to_owned(),
        });
    }
    let record = |caps: regex::Captures<'_>| -> Value {
        let mut object = Map::new();
        for name in &names {
            let value = caps
                .name(name)
                .map_or(Value::Null, |m| Value::from(m.as_str()));
            object.insert((*name).to_owned(), value);
        }
        Value::Object(object)
    };
    if all {
        // One past the limit is enough to know it is exceeded.
        let records: Vec<Value> = regex
            .captures_iter(text)
            .take(MAX_REGEX_MATCHES + 1)
            .map(record)
            .collect();
        if records.len() > MAX_REGEX_MATCHES {
            return Err(ExtractError::TooLarge {
                limit: Limit::RegexMatches,
                found: format!("more than {} matches", group(MAX_REGEX_MATCHES)),
            });
        }
        return Ok(Value::Array(records));
    }
    regex
        .captures(text)
        .map(record)
        .ok_or_else(|| ExtractError::NoMatch {
            pattern: regex.as_str().to_owned(),
            lines: text.lines().count(),
        })
}
