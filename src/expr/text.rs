//! Regex matching, which minijinja's builtins lack.

use minijinja::{Error, ErrorKind, Value};

use super::units::describe;

/// `text is matches("pattern")`, `text | matches("pattern")`,
/// `matches(text, "pattern")`: whether the regex finds a match anywhere in
/// `text` (a search, like grep: anchor with `^...$` for a full match).
/// Numbers are matched in their printed form.
///
/// Example: `rows | selectattr("STATUS", "matches", "^(Down|Unknown)") | list`.
pub fn matches(value: &Value, pattern: &str) -> Result<bool, Error> {
    let regex = regex::Regex::new(pattern).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("matches: invalid regex {pattern:?}: {e}"),
        )
    })?;
    let text = match value.as_str() {
        Some(s) => s.to_owned(),
        None if value.is_number() => value.to_string(),
        None => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("matches: expected text, got {}", describe(value)),
            ));
        }
    };
    Ok(regex.is_match(&text))
}
