//! Every helper exercised through real compiled expressions, as rules will
//! use them.

use minijinja::{Value, context};
use time::OffsetDateTime;

use super::{Clock, ExprError, check_expression, check_template, environment};
use crate::extract::{Extractor, TableOptions, extract};

/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200;

fn env() -> minijinja::Environment<'static> {
    match OffsetDateTime::from_unix_timestamp(NOW) {
        Ok(at) => environment(Clock::Fixed(at)),
        Err(e) => panic!("{e}"),
    }
}

fn eval_in(source: &str, ctx: Value) -> Result<Value, String> {
    let env = env();
    let expr = env.compile_expression(source).map_err(|e| e.to_string())?;
    expr.eval(ctx).map_err(|e| match e.detail() {
        Some(d) => d.to_owned(),
        None => e.to_string(),
    })
}

fn eval(source: &str) -> Value {
    match eval_in(source, context! {}) {
        Ok(v) => v,
        Err(e) => panic!("{source}: {e}"),
    }
}

fn fails(source: &str) -> String {
    match eval_in(source, context! {}) {
        Ok(v) => panic!("{source}: expected an error, got {v}"),
        Err(e) => e,
    }
}

#[test]
fn number_reads_percentages() {
    assert_eq!(eval(r#""85%" | number"#), Value::from(85));
    assert_eq!(eval(r#"number(" 12.5 %")"#), Value::from(12.5));
    assert_eq!(eval("7 | number"), Value::from(7));
    assert!(eval(r#""85%" | number > 80"#).is_true());
    assert_eq!(
        fails(r#""full" | number"#),
        r#"number: cannot read "full" as a number"#
    );
    assert_eq!(
        fails(r#""nan" | number"#),
        r#"number: cannot read "nan" as a number"#
    );
    assert_eq!(
        fails("none | number"),
        "number: expected text or a number, got none"
    );
}

#[test]
fn bytes_reads_df_h_sizes() {
    assert_eq!(eval(r#""12G" | bytes"#), Value::from(12_884_901_888_i64));
    assert_eq!(eval(r#""1.5G" | bytes"#), Value::from(1_610_612_736_i64));
    assert_eq!(eval(r#""4.0K" | bytes"#), Value::from(4096));
    assert_eq!(
        eval(r#"bytes("12GiB") == bytes("12gb")"#),
        Value::from(true)
    );
    assert_eq!(eval(r#""512" | bytes"#), Value::from(512));
    assert_eq!(eval(r#""0" | bytes"#), Value::from(0));
    assert_eq!(eval(r#""100B" | bytes"#), Value::from(100));
    assert_eq!(eval(r#""2T" | bytes"#), Value::from(2_199_023_255_552_i64));
    assert_eq!(
        fails(r#""12X" | bytes"#),
        r#"bytes: cannot read "12X" as a size (expected a number with an optional unit, like "512", "12G" or "1.5MiB")"#
    );
    assert_eq!(
        fails(r#""9999999E" | bytes"#),
        r#"bytes: "9999999E" is too large"#
    );
}

#[test]
fn seconds_reads_durations() {
    for (text, want) in [
        ("0 secs", 0),
        ("0 secs (0 hrs)", 0),
        ("14 secs (0 hrs)", 14),
        ("2h", 7200),
        ("3 days", 259_200),
        ("1m30s", 90),
        ("14d", 1_209_600),
        ("1 day, 2 hours", 93_600),
        ("1.5h", 5400),
        ("90", 90),
        ("02:03:04", 7384),
        ("1-00:00:01", 86_401),
        ("1w", 604_800),
    ] {
        assert_eq!(
            eval(&format!("{text:?} | seconds")),
            Value::from(want),
            "{text}"
        );
    }
    assert_eq!(eval("seconds('1ms')"), Value::from(0.001));
    assert_eq!(
        fails(r#""soon" | seconds"#),
        r#"seconds: cannot read "soon" as a duration (expected e.g. "90", "1m30s", "3 days", "02:03:04")"#
    );
    assert!(fails(r#""3 fortnights" | seconds"#).starts_with("seconds: cannot read"));
    assert!(fails(r#""-5" | seconds"#).starts_with("seconds: cannot read"));
}

#[test]
fn timestamp_reads_real_formats() {
    for (text, want) in [
        ("Nov 12 10:00:00 2026 GMT", 1_794_477_600),
        ("Nov  2 10:00:00 2026 GMT", 1_793_613_600),
        ("2026-11-12T10:00:00Z", 1_794_477_600),
        ("2026-11-12T12:00:00+02:00", 1_794_477_600),
        ("Thu, 12 Nov 2026 10:00:00 +0000", 1_794_477_600),
        ("Tue Sep 22 2020 16:03:34 GMT+0000 (UTC)", 1_600_790_614),
        (
            "Tue Sep 22 2020 21:33:34 GMT+0530 (India Standard Time)",
            1_600_790_614,
        ),
        ("Tue Sep 22 16:03:34 UTC 2020", 1_600_790_614),
        ("2026-11-20 03:00", 1_795_143_600),
        ("2026-11-20 03:00:00.123456789 +0000", 1_795_143_600),
        ("2026-11-20", 1_795_132_800),
        ("1794477600", 1_794_477_600),
    ] {
        assert_eq!(
            eval(&format!("{text:?} | timestamp")),
            Value::from(want),
            "{text}"
        );
    }
    assert_eq!(eval("1794477600 | timestamp"), Value::from(1_794_477_600));
    assert_eq!(
        fails(r#""next tuesday" | timestamp"#),
        r#"timestamp: cannot read "next tuesday" as a date and time (unrecognised part "next"); expected e.g. "Nov 12 10:00:00 2026 GMT", "2026-11-20 03:00", RFC 3339 or epoch seconds"#
    );
    assert!(fails(r#""Feb 30 10:00:00 2026 GMT" | timestamp"#).contains("Feb 30"));
    assert!(fails(r#""10:00:00 GMT" | timestamp"#).contains("no complete date"));
}

#[test]
fn now_days_until_and_age_use_the_clock() {
    assert_eq!(eval("now()"), Value::from(NOW));
    // 11.4 days ahead → 11 whole days.
    assert_eq!(
        eval(r#"days_until("Nov 12 10:00:00 2026 GMT")"#),
        Value::from(11)
    );
    assert!(eval(r#""Nov 12 10:00:00 2026 GMT" | days_until < 14"#).is_true());
    assert_eq!(eval(r#"days_until("2026-10-31 12:00")"#), Value::from(-1));
    assert_eq!(eval(r#"age("2026-10-31 23:59")"#), Value::from(60));
    assert_eq!(
        eval(r#"now() - ("14d" | seconds)"#),
        Value::from(NOW - 1_209_600)
    );
    assert!(fails(r#"age("yesterday")"#).starts_with("timestamp: cannot read \"yesterday\""));
}

#[test]
fn versions_compare_numerically() {
    assert!(eval(r#"version("621.61") < version("621.64")"#).is_true());
    assert!(eval(r#"version("1.10") > version("1.9")"#).is_true());
    assert!(eval(r#"version("1.0") == version("1")"#).is_true());
    assert!(eval(r#""bosh-dns/1.20.0" | version == version("1.20")"#).is_true());
    assert_eq!(
        eval(r#"("bosh-aws-xen-hvm-ubuntu-xenial-go_agent/621.61" | version) | string"#),
        Value::from("621.61")
    );
    assert_eq!(
        eval(r#"("awslogs-xenial/14" | version).major"#),
        Value::from(14)
    );
    assert_eq!(
        eval(r#"("v4.0.20-rc1" | version).parts"#),
        Value::from(vec![4, 0, 20])
    );
    assert_eq!(
        eval(r#"["1.9", "1.10", "1.2"] | map("version") | max | string"#),
        Value::from("1.10")
    );
    assert_eq!(eval(r#"version_cmp("621.61", "621.64")"#), Value::from(-1));
    assert_eq!(eval(r#"version_cmp(version("2.0"), 2)"#), Value::from(0));
    assert_eq!(eval(r#"version_cmp("1.10", "1.9")"#), Value::from(1));
    assert_eq!(
        fails(r#""latest" | version"#),
        r#"version: no version number in "latest""#
    );
}

#[test]
fn matches_is_a_test_filter_and_function() {
    assert!(eval(r#""PRIMARY" is matches("^(PRIMARY|SECONDARY)$")"#).is_true());
    assert!(eval(r#""ARBITER" is not matches("^(PRIMARY|SECONDARY)$")"#).is_true());
    assert!(eval(r#"matches("0 secs behind", "^0 secs")"#).is_true());
    assert!(eval(r#"404 | matches("^4")"#).is_true());
    assert!(fails(r#""x" is matches("(")"#).starts_with(r#"matches: invalid regex "(""#));
}

#[test]
fn strict_undefined_catches_typos() {
    let e = eval_in("rows | length", context! { row => 1 });
    assert!(e.is_err(), "{e:?}");
}

fn table(text: &str) -> Value {
    match extract(&Extractor::Table(TableOptions::default()), text) {
        Ok(v) => Value::from_serialize(&v),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn rules_over_parsed_df_and_bosh() {
    let df = table(include_str!("../extract/fixtures/df_h.txt"));
    let ctx = context! { rows => df };
    let max = eval_in(
        r#"rows | map(attribute="Use%") | map("number") | max"#,
        ctx.clone(),
    );
    assert_eq!(max, Ok(Value::from(89)));
    let full = eval_in(
        r#"rows | selectattr("Use%", "matches", "^[89][0-9]%") | map(attribute="Mounted on") | list"#,
        ctx.clone(),
    );
    assert_eq!(full, Ok(Value::from(vec!["/"])));
    let big = eval_in(r#"rows | map(attribute="Size") | map("bytes") | max"#, ctx);
    assert_eq!(big, Ok(Value::from(1_979_120_929_997_i64)));

    let bosh = match extract(
        &Extractor::Table(TableOptions {
            skip_lines: 1,
            ..TableOptions::default()
        }),
        include_str!("../extract/fixtures/bosh_deployments.txt"),
    ) {
        Ok(v) => Value::from_serialize(&v),
        Err(e) => panic!("{e}"),
    };
    let ctx = context! { rows => bosh, latest => "621.64" };
    let stale = eval_in(
        r#"rows | rejectattr("Stemcell(s)", "matches", "/" ~ latest ~ "$") | map(attribute="Name") | unique | list"#,
        ctx.clone(),
    );
    assert_eq!(stale, Ok(Value::from(vec!["postfix-production"])));
    let newest = eval_in(
        r#"rows | map(attribute="Stemcell(s)") | map("version") | max | string"#,
        ctx,
    );
    assert_eq!(newest, Ok(Value::from("621.64")));
}

#[test]
fn key_value_output_into_expressions() {
    let cert = match extract(
        &Extractor::KeyValue { separator: None },
        "notAfter=Nov 12 10:00:00 2026 GMT\n",
    ) {
        Ok(v) => Value::from_serialize(&v),
        Err(e) => panic!("{e}"),
    };
    let left = eval_in("days_until(cert.notAfter)", context! { cert => cert });
    assert_eq!(left, Ok(Value::from(11)));
}

#[test]
fn check_expression_points_at_the_error() {
    let env = env();
    assert_eq!(check_expression(&env, "rows | length > 0"), Ok(()));
    let source = "rows | length >";
    let e = match check_expression(&env, source) {
        Err(e) => e,
        Ok(()) => panic!("expected a syntax error"),
    };
    assert!(
        e.message
            .starts_with("syntax error: unexpected end of input"),
        "{}",
        e.message
    );
    // minijinja points at the operator left without an operand.
    assert_eq!(e.range.map(|r| &source[r]), Some(">"));
    let source = "a | b(]";
    let e = check_expression(&env, source).err();
    let range = e.as_ref().and_then(|e| e.range.clone());
    assert_eq!(range.map(|r| &source[r]), Some("]"));
}

#[test]
fn check_template_points_at_the_error() {
    let env = env();
    assert_eq!(check_template(&env, "df -P {{ path }}"), Ok(()));
    let source = "df -P {{ path | }}";
    let e: ExprError = match check_template(&env, source) {
        Err(e) => e,
        Ok(()) => panic!("expected a syntax error"),
    };
    assert!(e.message.starts_with("syntax error"), "{}", e.message);
    assert_eq!(e.range.map(|r| &source[r]), Some("}}"));
}

/// What compiling once saves, per render of a typical command: prints
/// compile-and-render (each render before issue 13) against render only.
/// Numbers, not assertions: `cargo test --release --lib render_cost --
/// --ignored --nocapture` (results in bench/RESULTS.md).
#[test]
#[ignore = "a measurement; run by hand"]
fn render_cost() {
    use std::time::Instant;
    let text = "df -P {{ path }} | awk 'NR>1 {print $5}' && echo {{ host.name }}";
    let scope = context! { path => "/var/lib/x y", host => context! { name => "web-1" } };
    let env = super::shared();
    let compiled = super::CompiledTemplate::command(text).unwrap_or_else(|e| panic!("{e}"));
    let n = 20_000u32;
    let start = Instant::now();
    for _ in 0..n {
        let once = super::CompiledTemplate::render_once(env, true, text, &scope);
        assert!(once.is_ok());
    }
    let each = start.elapsed() / n;
    let start = Instant::now();
    for _ in 0..n {
        assert!(compiled.render(&scope).is_ok());
    }
    let compiled_each = start.elapsed() / n;
    println!(
        "compile+render {each:?}, render of the compiled form {compiled_each:?} ({n} renders)"
    );
}

/// A template without tags renders without its scope, exactly as minijinja
/// renders it (the trailing newline it strips, quotes and `$` untouched);
/// one tag anywhere and the scope is read again (and must be complete).
#[test]
fn tag_free_templates_render_as_minijinja_would_without_the_scope() {
    let env = super::shared();
    for text in [
        "df -P /",
        "df -P /\n",
        "awk '{print $5}' /etc/x } { ",
        "echo }} %} #}\n\n",
        "",
    ] {
        let compiled = super::CompiledTemplate::command(text).unwrap_or_else(|e| panic!("{e}"));
        let full = super::CompiledTemplate::render_once(env, true, text, context! {});
        let full = full.unwrap_or_else(|e| panic!("{e}"));
        // A scope that would fail a render (undefined is strict) is not read.
        assert_eq!(
            compiled.render(()).ok().as_deref(),
            Some(full.as_str()),
            "{text:?}"
        );
    }
    let tagged =
        super::CompiledTemplate::command("echo {{ path }}").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        tagged.render(context! {}).is_err(),
        "a tag must still read the scope"
    );
    assert_eq!(
        tagged.render(context! { path => "a b" }).ok().as_deref(),
        Some("echo 'a b'")
    );
}
