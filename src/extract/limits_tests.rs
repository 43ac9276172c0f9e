//! The parser limits against hostile output: each attack fits in the 1 MiB
//! output cap and, before the limits, asked for millions to billions of
//! values (or CPU for width × rows). Each must now fail with an error that
//! names the limit, or (for the CPU attack) finish.

use serde_json::Value;

use crate::extract::{
    ExtractError, Extractor, JSON_OBJECT_WEIGHT, Limit, MAX_JSON_VALUES, MAX_KV_ENTRIES, MAX_LINES,
    MAX_REGEX_MATCHES, MAX_TABLE_CELLS, MAX_TABLE_COLUMNS, MAX_TABLE_ROWS, TableOptions, extract,
};

const MIB: usize = 1024 * 1024;

fn limit_hit(extractor: &Extractor, text: &str) -> (Limit, String) {
    assert!(
        text.len() <= MIB,
        "attack is {} bytes, over the cap",
        text.len()
    );
    match extract(extractor, text) {
        Err(e @ ExtractError::TooLarge { limit, .. }) => (limit, e.to_string()),
        Err(e) => panic!("expected a limit error, got: {e}"),
        Ok(v) => panic!(
            "expected a limit error, got {} bytes of data",
            v.to_string().len()
        ),
    }
}

fn parsed(extractor: &Extractor, text: &str) -> Value {
    match extract(extractor, text) {
        Ok(v) => v,
        Err(e) => panic!("did not parse: {e}"),
    }
}

fn table() -> Extractor {
    Extractor::Table(TableOptions::default())
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// The attack: 100,000 columns × 100,000 rows = 10^10 cells in
/// under 1 MiB (on main: the controller runs out of memory).
#[test]
fn table_of_billions_of_cells_fails_on_the_column_limit() {
    let header: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let mut text = header.join("  ");
    text.push('\n');
    text.push_str(&"x\n".repeat(100_000));
    let (limit, message) = limit_hit(&table(), &text);
    assert_eq!(limit, Limit::TableColumns);
    assert!(
        message.contains("100,000 words in the header line")
            && message.contains("256 table columns (MAX_TABLE_COLUMNS)"),
        "{message}"
    );
}

/// Within the column limit, rows × columns is what grows: 256 columns ×
/// 3,000 one-character rows is 768,000 cells from about 10 KB.
#[test]
fn table_rows_times_columns_fails_on_the_cell_limit() {
    let header: Vec<String> = (0..MAX_TABLE_COLUMNS).map(|i| format!("c{i}")).collect();
    let text = format!("{}\n{}", header.join("  "), "x\n".repeat(3_000));
    let (limit, message) = limit_hit(&table(), &text);
    assert_eq!(limit, Limit::TableCells);
    assert!(
        message.contains("3,000 rows × 256 columns = 768,000 cells")
            && message.contains("MAX_TABLE_CELLS"),
        "{message}"
    );
}

/// One column and more rows than the row limit (each row is an object):
/// refused while reading the rows, before any layout work.
#[test]
fn table_of_too_many_rows_fails_before_laying_out() {
    let text = format!("ONE\n{}", "x\n".repeat(MAX_TABLE_ROWS + 1));
    let (limit, message) = limit_hit(&table(), &text);
    assert_eq!(limit, Limit::TableRows);
    assert!(
        message.contains("more than 25,000 rows") && message.contains("MAX_TABLE_ROWS"),
        "{message}"
    );
}

#[test]
fn table_exactly_at_the_cell_and_row_limits_parses() {
    let columns = MAX_TABLE_CELLS / MAX_TABLE_ROWS;
    let header: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    // Each cell starts where its header does ("c0  c1", "x   x").
    let row = vec!["x"; columns].join("   ");
    let text = format!(
        "{}\n{}",
        header.join("  "),
        format!("{row}\n").repeat(MAX_TABLE_ROWS)
    );
    let rows = parsed(&table(), &text);
    assert_eq!(len(&rows), MAX_TABLE_ROWS);
    assert_eq!(rows[0][format!("c{}", columns - 1)], "x");
}

#[test]
fn table_column_names_over_the_limit_are_refused() {
    let options = TableOptions {
        columns: Some((0..=MAX_TABLE_COLUMNS).map(|i| format!("c{i}")).collect()),
        ..TableOptions::default()
    };
    let (limit, _) = limit_hit(&Extractor::Table(options), "a b\n");
    assert_eq!(limit, Limit::TableColumns);
}

/// Header-less tables find columns from blank gutters. Computed per
/// position × row, one 600,000-character line among 24,999 short rows was
/// 1.5 × 10^10 steps; it is now one pass over the text.
#[test]
fn headerless_table_with_one_long_line_is_linear() {
    let options = TableOptions {
        columns: Some(vec!["a".into(), "b".into()]),
        ..TableOptions::default()
    };
    let mut text = format!("{}\n", "y ".repeat(300_000));
    text.push_str(&"x  z\n".repeat(24_999));
    let rows = parsed(&Extractor::Table(options), &text);
    assert_eq!(len(&rows), 25_000);
    assert_eq!(rows[1]["a"], "x");
}

#[test]
fn a_megabyte_of_empty_lines_fails_on_the_line_limit() {
    let text = format!("{}x\n", "\n".repeat(MIB - 2));
    let (limit, message) = limit_hit(&Extractor::Lines, &text);
    assert_eq!(limit, Limit::Lines);
    assert!(message.contains("1,048,575 lines"), "{message}");
    assert!(message.contains("100,000 lines (MAX_LINES)"), "{message}");
}

#[test]
fn lines_exactly_at_the_limit_parse_and_trailing_blanks_do_not_count() {
    let text = format!("{}{}", "a\n".repeat(MAX_LINES), "\n".repeat(1_000));
    assert_eq!(len(&parsed(&Extractor::Lines, &text)), MAX_LINES);
}

#[test]
fn kv_with_too_many_distinct_keys_fails() {
    let text: String = (0..=MAX_KV_ENTRIES).map(|i| format!("k{i}=\n")).collect();
    let (limit, message) = limit_hit(&Extractor::KeyValue { separator: None }, &text);
    assert_eq!(limit, Limit::KvEntries);
    assert!(message.contains("MAX_KV_ENTRIES"), "{message}");
}

#[test]
fn kv_repeating_one_key_is_one_entry() {
    let text = "k=v\n".repeat(MAX_KV_ENTRIES + 10);
    let v = parsed(&Extractor::KeyValue { separator: None }, &text);
    assert_eq!(v.as_object().map(serde_json::Map::len), Some(1));
}

/// An optional group matches the empty string at every position: a
/// million matches from 1 MiB.
#[test]
fn regex_all_matching_everywhere_fails_on_the_match_limit() {
    let extractor = match Extractor::regex("(?P<c>b?)", true) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let text = "a".repeat(MIB - 1);
    let (limit, message) = limit_hit(&extractor, &text);
    assert_eq!(limit, Limit::RegexMatches);
    assert!(
        message.contains("more than 25,000 matches") && message.contains("MAX_REGEX_MATCHES"),
        "{message}"
    );
}

#[test]
fn regex_all_exactly_at_the_limit_parses() {
    let extractor = match Extractor::regex("(?P<c>a)", true) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let text = "a".repeat(MAX_REGEX_MATCHES);
    assert_eq!(len(&parsed(&extractor, &text)), MAX_REGEX_MATCHES);
}

#[test]
fn deeply_nested_json_fails_on_the_depth_limit() {
    let text = format!("{}{}", "[".repeat(MIB / 2), "]".repeat(MIB / 2));
    let (limit, message) = limit_hit(&Extractor::Json, &text);
    assert_eq!(limit, Limit::JsonDepth);
    assert!(message.contains("MAX_JSON_DEPTH"), "{message}");
}

#[test]
fn json_of_too_many_values_fails_on_the_value_limit() {
    let text = format!("[{}0]", "0,".repeat(MIB / 2 - 2));
    let (limit, message) = limit_hit(&Extractor::Json, &text);
    assert_eq!(limit, Limit::JsonValues);
    assert!(message.contains("MAX_JSON_VALUES"), "{message}");
}

#[test]
fn json_exactly_at_the_value_limit_parses() {
    // The array itself is one value.
    let text = format!("[{}0]", "0,".repeat(MAX_JSON_VALUES - 2));
    assert_eq!(len(&parsed(&Extractor::Json, &text)), MAX_JSON_VALUES - 1);
}

/// Objects weigh more: 40,001 empty objects are over the value limit
/// although 200,000 numbers are not.
#[test]
fn json_objects_count_five_values() {
    let objects = MAX_JSON_VALUES / JSON_OBJECT_WEIGHT;
    let over = format!("[{}{{}}]", "{},".repeat(objects));
    let (limit, _) = limit_hit(&Extractor::Json, &over);
    assert_eq!(limit, Limit::JsonValues);
    let under = format!("[{}{{}}]", "{},".repeat(objects - 2));
    assert_eq!(len(&parsed(&Extractor::Json, &under)), objects - 1);
}
