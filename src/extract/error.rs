//! Why an output could not be parsed, in words an operator can act on.

use super::limits::Limit;

/// A parse failure. Line numbers are 1-based and count every line of the
/// step's output, so they match what the operator sees when they run the
/// command by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The output was expected to be JSON and is not.
    #[error("output is not valid JSON: {message} at line {line}, column {column}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The output was expected to be JSON and is empty.
    #[error("output is empty, expected a JSON document")]
    EmptyJson,
    /// A non-blank, non-comment line has no key/value separator.
    #[error("line {line}: expected `key{separator}value`, found {text:?}")]
    KeyValue {
        line: usize,
        separator: String,
        text: String,
    },
    /// A table needs a header line (or `columns`) and the output ran out.
    #[error(
        "no table header: the output has {lines} line(s) and only blank lines remain after skipping {skipped}"
    )]
    NoHeader { lines: usize, skipped: usize },
    /// Two columns would produce the same key in every row object.
    #[error("column name {name:?} appears twice in the table header")]
    DuplicateColumn { name: String },
    /// `columns` was given but is empty.
    #[error("table columns list is empty; name at least one column")]
    NoColumns,
    /// The regex has no `(?P<name>...)` group, so a match would carry no data.
    #[error("pattern {pattern:?} has no named capture group like (?P<name>...)")]
    NoNamedGroups { pattern: String },
    /// A single-match regex extraction found nothing.
    #[error("pattern {pattern:?} matched nothing in the output ({lines} line(s))")]
    NoMatch { pattern: String, lines: usize },
    /// Parsing would build more than a parser limit allows: the output is
    /// hostile or far larger than the step expects.
    #[error(
        "output too large to parse: {found}, over the limit of {limit}; narrow the command's output on the host (grep, head, awk) so less of it is parsed"
    )]
    TooLarge { limit: Limit, found: String },
}
