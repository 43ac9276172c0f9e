//! Lines, JSON, key/value and regex extractors on real-format samples.

use serde_json::{Value, json};

use crate::extract::{ExtractError, Extractor, extract};

fn ok(extractor: &Extractor, text: &str) -> Value {
    match extract(extractor, text) {
        Ok(v) => v,
        Err(e) => panic!("did not parse: {e}"),
    }
}

fn err(extractor: &Extractor, text: &str) -> ExtractError {
    match extract(extractor, text) {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e,
    }
}

fn kv() -> Extractor {
    Extractor::KeyValue { separator: None }
}

#[test]
fn lines_drop_only_trailing_blank_lines() {
    assert_eq!(ok(&Extractor::Lines, "a\r\n\nb\n\n"), json!(["a", "", "b"]));
    assert_eq!(ok(&Extractor::Lines, ""), json!([]));
}

#[test]
fn json_parses_and_reports_position() {
    assert_eq!(ok(&Extractor::Json, r#"{"ok": 1}"#), json!({"ok": 1}));
    let e = err(&Extractor::Json, "{\n  \"ok\": 1,\n}");
    assert_eq!(
        e.to_string(),
        "output is not valid JSON: trailing comma at line 3, column 1"
    );
    assert_eq!(
        err(&Extractor::Json, " \n").to_string(),
        "output is empty, expected a JSON document"
    );
}

#[test]
fn openssl_enddate_is_key_value() {
    let v = ok(&kv(), include_str!("fixtures/openssl_enddate.txt"));
    assert_eq!(v, json!({"notAfter": "Nov 12 10:00:00 2026 GMT"}));
}

#[test]
fn rs_status_grep_lines_unquote_and_last_key_wins() {
    let v = ok(&kv(), include_str!("fixtures/rs_status_grep.txt"));
    assert_eq!(
        v,
        json!({"name": "mongo3:27017", "health": "1", "state": "2", "stateStr": "SECONDARY"})
    );
}

#[test]
fn key_value_separators_comments_and_whitespace_form() {
    let text = "# comment\n\nUptime 12 days\nLoad=0.5 0.4\nstate: ok=yes\n";
    assert_eq!(
        ok(&kv(), text),
        json!({"Uptime": "12 days", "Load": "0.5 0.4", "state": "ok=yes"})
    );
    let tabbed = Extractor::KeyValue {
        separator: Some(" ".into()),
    };
    assert_eq!(
        ok(&tabbed, "MemTotal:\t16314788 kB\n"),
        json!({"MemTotal:": "16314788 kB"})
    );
    let arrow = Extractor::KeyValue {
        separator: Some("->".into()),
    };
    assert_eq!(ok(&arrow, "a -> b:c\n"), json!({"a": "b:c"}));
}

#[test]
fn key_value_error_names_the_line() {
    let e = err(&kv(), "a: 1\nSucceeded\n");
    assert_eq!(
        e.to_string(),
        "line 2: expected `key: value`, found \"Succeeded\""
    );
    let e = err(
        &Extractor::KeyValue {
            separator: Some("=".into()),
        },
        "x=1\ny: 2\n",
    );
    assert_eq!(
        e.to_string(),
        "line 2: expected `key=value`, found \"y: 2\""
    );
    let e = err(&kv(), ": orphan\n");
    assert_eq!(
        e,
        ExtractError::KeyValue {
            line: 1,
            separator: ": ".into(),
            text: ": orphan".into()
        }
    );
}

fn replication_regex(all: bool) -> Extractor {
    let pattern = r"source: (?P<source>\S+)\s+syncedTo: (?P<synced_to>[^\n]+?)\s*\n\s*(?P<behind>\d+ secs)(?: \((?P<hours>\d+) hrs\))?";
    match Extractor::regex(pattern, all) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn print_slave_replication_info_via_regex_all() {
    let v = ok(
        &replication_regex(true),
        include_str!("fixtures/print_slave_replication_info.txt"),
    );
    assert_eq!(
        v,
        json!([
            {"source": "mongo2:27017", "synced_to": "Tue Sep 22 2020 16:03:34 GMT+0000 (UTC)",
             "behind": "0 secs", "hours": "0"},
            {"source": "mongo3:27017", "synced_to": "Tue Sep 22 2020 16:03:20 GMT+0000 (UTC)",
             "behind": "14 secs", "hours": "0"},
        ])
    );
}

#[test]
fn regex_first_match_optional_group_is_null_and_no_match_errors() {
    let e = match Extractor::regex(r"(?P<a>x)(?P<b>y)?", false) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(ok(&e, "..x.."), json!({"a": "x", "b": null}));
    assert_eq!(
        err(&e, "nothing\nhere\n").to_string(),
        "pattern \"(?P<a>x)(?P<b>y)?\" matched nothing in the output (2 line(s))"
    );
    assert_eq!(ok(&replication_regex(true), "no replicas\n"), json!([]));
}

#[test]
fn regex_constructor_rejects_unnamed_and_invalid_patterns() {
    let msg = |p: &str| Extractor::regex(p, false).err().map(|e| e.to_string());
    assert_eq!(
        msg(r"\d+").as_deref(),
        Some(r#"pattern "\\d+" has no named capture group like (?P<name>...)"#)
    );
    assert!(msg("(?P<x>").is_some_and(|m| m.starts_with("invalid regex:")));
}
