//! The Prometheus renderer against the report fixtures: series per
//! status, counts, exports and escaping (promtool checks the real files in
//! tests/it/formats.rs).

use super::*;
use crate::model::fixture;

#[test]
fn every_step_has_one_series_per_status_and_exactly_one_is_set() {
    let text = to_prometheus(&fixture::mixed_run());
    let disk_db2: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("fleet_step_status{") && l.contains(r#"host="db-2""#))
        .filter(|l| l.contains(r#"step="disk""#))
        .collect();
    assert_eq!(disk_db2.len(), STEP_STATUSES.len(), "{disk_db2:#?}");
    let set: Vec<&&str> = disk_db2.iter().filter(|l| l.ends_with(" 1")).collect();
    assert_eq!(set.len(), 1, "{disk_db2:#?}");
    assert!(set[0].contains(r#"status="failed""#), "{}", set[0]);
}

#[test]
fn counts_and_unreachable_kinds_match_the_report() {
    let text = to_prometheus(&fixture::mixed_run());
    for line in [
        r#"fleet_run_hosts{workflow="mongo-health",inventory="prod-db",status="unreachable"} 3"#,
        r#"fleet_run_unreachable_hosts{workflow="mongo-health",inventory="prod-db",kind="refused"} 2"#,
        r#"fleet_run_unreachable_hosts{workflow="mongo-health",inventory="prod-db",kind="host-key"} 1"#,
        r#"fleet_run_duration_seconds{workflow="mongo-health",inventory="prod-db"} 31.24"#,
        r#"fleet_run_start_time_seconds{workflow="mongo-health",inventory="prod-db"} 1714557600"#,
        r#"fleet_run_exit_code{workflow="mongo-health",inventory="prod-db"} 3"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
}

#[test]
fn numeric_exports_become_gauges_and_strings_do_not() {
    let mut run = fixture::healthy_run();
    run.hosts[0].exports.insert("disk_use".into(), 85.into());
    run.hosts[1].exports.insert("disk_use".into(), 12.5.into());
    run.hosts[1].exports.insert("in-sync".into(), true.into());
    run.hosts[2].exports.insert("disk_use".into(), "n/a".into());
    run.hosts[0].groups = vec!["prod".into(), "db".into()];
    let text = to_prometheus(&run);
    assert!(text.contains(
        "fleet_export_disk_use{workflow=\"mongo-health\",inventory=\"prod-db\",host=\"db-1\",groups=\",prod,db,\"} 85\n"
    ), "{text}");
    assert!(text.contains(r#"host="db-2",groups=""} 12.5"#), "{text}");
    assert!(text.contains("fleet_export_in_sync{"), "{text}");
    assert!(
        !text.contains(
            r#"fleet_export_disk_use{workflow="mongo-health",inventory="prod-db",host="db-3""#
        ),
        "{text}"
    );
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    assert_eq!(metric_name_part("disk-use.pct"), "disk_use_pct");
    assert_eq!(number(f64::INFINITY), "+Inf");
    assert_eq!(number(3.0), "3");
}
