//! Ceilings on what one step's output may turn into.
//!
//! The output itself is capped (1 MiB per stream by default), but a parser
//! can multiply it: a table header of 100,000 short column names followed
//! by 100,000 one-character rows is under 1 MiB and asks for ten billion
//! cells. Each parser counts what it is about to build *before* building
//! it and refuses past these limits, so one hostile host fails its own
//! step (FAILED, naming the limit) instead of exhausting the controller's
//! memory and losing every host's report. The numbers are far above what
//! real tools print within the output cap (a 1 MiB `ps aux` is about
//! 9,000 rows × 11 columns) and are documented in
//! docs/workflow-language.md ("Limits").

/// One of the parser limits, named in the error an operator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Words in a table header, or column names given to `parse table`.
    TableColumns,
    /// Data rows × columns of one table.
    TableCells,
    /// Data rows of one table (each is an object).
    TableRows,
    /// Lines of `parse lines`.
    Lines,
    /// Distinct keys of `parse kv`.
    KvEntries,
    /// Matches of `parse regex … all=#true`.
    RegexMatches,
    /// Values (objects, arrays, strings, numbers…) of `parse json`, an
    /// object counting as [`JSON_OBJECT_WEIGHT`] values.
    JsonValues,
    /// Nesting of `parse json`: serde_json's own recursion limit, kept so
    /// the documented number is the one enforced.
    JsonDepth,
}

/// Header words or column names of one table.
pub const MAX_TABLE_COLUMNS: usize = 256;
/// Rows × columns of one table.
pub const MAX_TABLE_CELLS: usize = 100_000;
/// Rows of one table. Every row is an object, which costs about 1.3 KB
/// while parsed against 0.2 KB for a cell (bench/RESULTS.md section 4),
/// hence a lower limit than for cells.
pub const MAX_TABLE_ROWS: usize = 25_000;
/// Lines of `parse lines`.
pub const MAX_LINES: usize = 100_000;
/// Distinct keys of `parse kv`.
pub const MAX_KV_ENTRIES: usize = 100_000;
/// Matches of `parse regex … all=#true`: each is an object (see
/// [`MAX_TABLE_ROWS`]).
pub const MAX_REGEX_MATCHES: usize = 25_000;
/// Values in one `parse json` document.
pub const MAX_JSON_VALUES: usize = 200_000;
/// What one JSON object counts toward [`MAX_JSON_VALUES`]: an object costs
/// about five times a string or number while parsed.
pub const JSON_OBJECT_WEIGHT: usize = 5;
/// Nesting depth of one `parse json` document (serde_json's limit).
pub const MAX_JSON_DEPTH: usize = 128;

impl Limit {
    /// The ceiling.
    pub const fn max(self) -> usize {
        match self {
            Limit::TableColumns => MAX_TABLE_COLUMNS,
            Limit::TableCells => MAX_TABLE_CELLS,
            Limit::TableRows => MAX_TABLE_ROWS,
            Limit::Lines => MAX_LINES,
            Limit::KvEntries => MAX_KV_ENTRIES,
            Limit::RegexMatches => MAX_REGEX_MATCHES,
            Limit::JsonValues => MAX_JSON_VALUES,
            Limit::JsonDepth => MAX_JSON_DEPTH,
        }
    }

    /// What is counted, as the error message says it.
    pub const fn unit(self) -> &'static str {
        match self {
            Limit::TableColumns => "table columns",
            Limit::TableCells => "table cells",
            Limit::TableRows => "table rows",
            Limit::Lines => "lines",
            Limit::KvEntries => "kv entries",
            Limit::RegexMatches => "regex matches",
            Limit::JsonValues => "JSON values (an object counts 5)",
            Limit::JsonDepth => "JSON nesting levels",
        }
    }

    /// The constant's name, as docs/workflow-language.md lists it.
    pub const fn name(self) -> &'static str {
        match self {
            Limit::TableColumns => "MAX_TABLE_COLUMNS",
            Limit::TableCells => "MAX_TABLE_CELLS",
            Limit::TableRows => "MAX_TABLE_ROWS",
            Limit::Lines => "MAX_LINES",
            Limit::KvEntries => "MAX_KV_ENTRIES",
            Limit::RegexMatches => "MAX_REGEX_MATCHES",
            Limit::JsonValues => "MAX_JSON_VALUES",
            Limit::JsonDepth => "MAX_JSON_DEPTH",
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", group(self.max()), self.unit(), self.name())
    }
}

/// `100000` → `100,000`, as the docs write the limits.
pub(super) fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
