//! Whitespace-aligned tables (`df`, `docker service ls`, `docker node ls`,
//! `bosh deployments`, `ps aux`) → `[{"Header": "cell", ...}, ...]`.
//!
//! Column layout rules are in `table_layout`; this file finds the table in
//! the output and turns laid-out lines into row objects.

use serde_json::{Map, Value};

use super::error::ExtractError;
use super::limits::{Limit, MAX_TABLE_CELLS, MAX_TABLE_COLUMNS, MAX_TABLE_ROWS, group};
use super::table_layout::{Column, cells, columns_from_data, columns_from_header, expand, words};

/// How to find and read a table.
///
/// Where the table is: the first `skip_lines` lines are dropped (banners
/// such as bosh's `Using environment ...`), then blank lines; the next line
/// is the header (unless `columns` is given). The table ends at the first
/// blank line after it: bosh prints `N deployments` and `Succeeded` after a
/// blank line, and those are not rows.
///
/// Continuation rows: a row whose **first** cell is empty continues the row
/// above (bosh prints one deployment's several releases/stemcells on extra
/// lines; old `df` wraps a long filesystem name onto its own line).
/// * If the two lines fill complementary cells (a wrapped line), they are
///   merged into one row.
/// * Otherwise the continuation becomes a row of its own and, when
///   `fill_down` is on (the default), each of its empty cells is copied from
///   the row above, so a per-row rule over `Stemcell(s)` still sees the
///   deployment `Name`. With `fill_down` off the empty cells stay `""`.
///
/// Cells are trimmed strings; an empty cell is `""` (docker leaves `PORTS`
/// and `MANAGER STATUS` blank). Text is kept as printed: docker's leader
/// mark stays in the ID cell (`"m0xbp0... *"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// Column names for header-less input (e.g. `bosh deployments | grep
    /// go_agent`). When set, no header line is read.
    pub columns: Option<Vec<String>>,
    /// Lines to drop before the header (or first row).
    pub skip_lines: usize,
    /// Copy empty cells of continuation rows from the row above.
    pub fill_down: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            columns: None,
            skip_lines: 0,
            fill_down: true,
        }
    }
}

pub(super) fn parse(text: &str, options: &TableOptions) -> Result<Value, ExtractError> {
    let mut lines = text
        .lines()
        .skip(options.skip_lines)
        .map(expand)
        .skip_while(|l| l.iter().all(|c| c.is_whitespace()));
    let (columns, rows) = match &options.columns {
        Some(names) if names.is_empty() => return Err(ExtractError::NoColumns),
        Some(names) => {
            within_columns(names.len(), "column names given")?;
            let rows = body(lines)?;
            (columns_from_data(names, &rows), rows)
        }
        None => {
            let Some(header) = lines.next() else {
                return Err(ExtractError::NoHeader {
                    lines: text.lines().count(),
                    skipped: options.skip_lines,
                });
            };
            // Every header word may become a column, and the layout work
            // is per header word: refuse before any of it.
            within_columns(words(&header).len(), "words in the header line")?;
            let rows = body(lines)?;
            (columns_from_header(&header, &rows), rows)
        }
    };
    let cells = rows.len().saturating_mul(columns.len());
    if cells > MAX_TABLE_CELLS {
        return Err(ExtractError::TooLarge {
            limit: Limit::TableCells,
            found: format!(
                "{} rows × {} columns = {} cells",
                group(rows.len()),
                group(columns.len()),
                group(cells)
            ),
        });
    }
    finish(columns, &rows, options)
}

fn within_columns(count: usize, what: &str) -> Result<(), ExtractError> {
    if count > MAX_TABLE_COLUMNS {
        return Err(ExtractError::TooLarge {
            limit: Limit::TableColumns,
            found: format!("{} {what}", group(count)),
        });
    }
    Ok(())
}

/// Rows up to the first blank line; reading stops one row past the limit.
fn body(lines: impl Iterator<Item = Vec<char>>) -> Result<Vec<Vec<char>>, ExtractError> {
    let rows: Vec<Vec<char>> = lines
        .take_while(|l| !l.iter().all(|c| c.is_whitespace()))
        .take(MAX_TABLE_ROWS + 1)
        .collect();
    if rows.len() > MAX_TABLE_ROWS {
        return Err(ExtractError::TooLarge {
            limit: Limit::TableRows,
            found: format!("more than {} rows", group(MAX_TABLE_ROWS)),
        });
    }
    Ok(rows)
}

fn finish(
    columns: Vec<Column>,
    rows: &[Vec<char>],
    options: &TableOptions,
) -> Result<Value, ExtractError> {
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].iter().any(|c| c.name == column.name) {
            return Err(ExtractError::DuplicateColumn {
                name: column.name.clone(),
            });
        }
    }
    let mut out: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for line in rows {
        let row = cells(&columns, line);
        let continues = row.first().is_some_and(String::is_empty);
        match out.last_mut() {
            Some(previous) if continues && complementary(previous, &row) => {
                for (mine, theirs) in previous.iter_mut().zip(row) {
                    if mine.is_empty() {
                        *mine = theirs;
                    }
                }
            }
            Some(previous) if continues && options.fill_down => {
                let filled = row
                    .into_iter()
                    .zip(previous.iter())
                    .map(|(cell, above)| if cell.is_empty() { above.clone() } else { cell })
                    .collect();
                out.push(filled);
            }
            _ => out.push(row),
        }
    }
    Ok(Value::Array(
        out.into_iter()
            .map(|row| {
                let object: Map<String, Value> = columns
                    .iter()
                    .zip(row)
                    .map(|(c, cell)| (c.name.clone(), Value::from(cell)))
                    .collect();
                Value::Object(object)
            })
            .collect(),
    ))
}

/// No column is filled in both rows: the second line is the rest of the
/// first (a wrapped line).
fn complementary(previous: &[String], row: &[String]) -> bool {
    previous
        .iter()
        .zip(row)
        .all(|(a, b)| a.is_empty() || b.is_empty())
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
