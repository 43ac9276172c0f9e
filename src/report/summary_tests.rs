//! Snapshot and behaviour tests of the summary, kept apart so the
//! renderer stays readable.

use super::*;
use crate::model::exit_code;
use crate::model::fixture;

#[test]
fn summary_of_mixed_run() {
    let text = render_summary(&fixture::mixed_run(), &DisplayConfig::plain());
    assert!(!text.contains('\x1b'), "no colour when disabled");
    insta::assert_snapshot!("summary_mixed", text);
}

#[test]
fn summary_of_healthy_run() {
    let text = render_summary(&fixture::healthy_run(), &DisplayConfig::plain());
    insta::assert_snapshot!("summary_healthy", text);
}

#[test]
fn summary_of_run_with_only_warnings() {
    let text = render_summary(&fixture::warned_run(), &DisplayConfig::plain());
    insta::assert_snapshot!("summary_warned", text);
}

#[test]
fn summary_of_a_thousand_hosts_stays_short() {
    let text = render_summary(&fixture::large_run(), &DisplayConfig::plain());
    assert!(text.lines().count() < 30, "{text}");
    insta::assert_snapshot!("summary_large", text);
}

#[test]
fn colour_marks_failures_red_and_passes_green() {
    let config = DisplayConfig {
        color: true,
        interactive: false,
    };
    let mixed = render_summary(&fixture::mixed_run(), &config);
    assert!(mixed.contains("\x1b[1;31mFAILED\x1b[0m"));
    assert!(mixed.contains("\x1b[33mTIMEOUT\x1b[0m"));
    assert!(mixed.contains("\x1b[1;31mREFUSED\x1b[0m"));
    let healthy = render_summary(&fixture::healthy_run(), &config);
    assert!(healthy.contains("\x1b[32mPASSED\x1b[0m"));
}

#[test]
fn verdict_prefers_failures_over_refused_over_unreachable() {
    let mut t = Totals {
        hosts: 3,
        hosts_ok: 1,
        hosts_unreachable: 1,
        ..Totals::default()
    };
    assert_eq!(Verdict::from_totals(&t), Verdict::Unreachable);
    t.hosts_refused = 1;
    assert_eq!(Verdict::from_totals(&t), Verdict::Refused);
    t.fleet_checks_failed = 1;
    assert_eq!(Verdict::from_totals(&t), Verdict::Failed);
    assert_eq!(Verdict::from_totals(&Totals::default()), Verdict::Passed);
}

/// The verdict and the exit code must never disagree on pass/fail,
/// whichever single count is set.
#[test]
fn verdict_passes_exactly_when_the_exit_code_is_ok() {
    let setters: [fn(&mut Totals); 14] = [
        |t| t.hosts_warned = 1,
        |t| t.hosts_failed = 1,
        |t| t.hosts_unreachable = 1,
        |t| t.hosts_refused = 1,
        |t| t.steps_warned = 1,
        |t| t.steps_failed = 1,
        |t| t.steps_timeout = 1,
        |t| t.steps_error = 1,
        |t| t.steps_skipped = 1,
        |t| t.fleet_checks_passed = 1,
        |t| t.fleet_checks_warned = 1,
        |t| t.fleet_checks_failed = 1,
        |t| t.fleet_checks_skipped = 1,
        |t| t.fleet_checks_waived = 1,
    ];
    for set in setters {
        let mut t = Totals::default();
        set(&mut t);
        let passed = Verdict::from_totals(&t) == Verdict::Passed;
        assert_eq!(passed, exit_code::for_totals(&t) == exit_code::OK, "{t:?}");
    }
}

#[test]
fn address_is_shown_only_when_it_adds_something() {
    let mut h = fixture::mixed_run().hosts.remove(0);
    assert_eq!(address(&h).as_deref(), Some("10.0.0.1"));
    h.address = h.name.clone();
    assert_eq!(address(&h), None);
    h.port = 2222;
    assert_eq!(address(&h).as_deref(), Some(":2222"));
}

/// A step skipped for want of configuration is listed (once for all its
/// hosts), as are parts of `hosts`/`--limit` that matched nothing: part
/// of the checklist did not run, and the summary must not hide it.
#[test]
fn not_configured_skips_and_selection_warnings_are_listed() {
    let mut report = fixture::healthy_run();
    report.warnings = vec![
        "workflow `hosts \"group:bosh,group:certs\"` (daily.kdl:6:5): group `certs` does not exist in inventory `site`; running on the hosts the rest of it selects".into(),
    ];
    for host in &mut report.hosts {
        let mut step = host.steps[0].clone();
        step.name = "protect-mode".into();
        step.status = StepStatus::Skipped;
        step.reason = Some("not configured: set quickstart_cmd".into());
        host.steps.push(step);
    }
    let text = render_summary(&report, &DisplayConfig::plain());
    let hosts: Vec<&str> = report.hosts.iter().map(|h| h.name.as_str()).collect();
    let line = format!(
        "- {} protect-mode: SKIPPED, not configured: set quickstart_cmd",
        groups::host_list(&hosts)
    );
    assert_eq!(text.matches(&line).count(), 1, "{text}");
    assert!(
        text.contains("! workflow `hosts \"group:bosh,group:certs\"`"),
        "{text}"
    );
    // Healthy runs stay a header and a verdict.
    let healthy = render_summary(&fixture::healthy_run(), &DisplayConfig::plain());
    assert!(!healthy.contains("SKIPPED"), "{healthy}");
}

/// Fleet checks that were not evaluated (a shard leaves them to the
/// merge; a stopped run skips them) are counted and shown as skipped,
/// never as passed.
#[test]
fn fleet_checks_not_evaluated_are_skipped_not_passed() {
    let mut report = fixture::mixed_run();
    assert!(
        !report.fleet_checks.is_empty(),
        "the fixture has fleet checks"
    );
    for check in &mut report.fleet_checks {
        check.status = crate::model::report::StepStatus::Skipped;
        check.reason = Some("evaluated at merge".into());
    }
    let n = report.fleet_checks.len();
    report.totals = Totals::count(&report.hosts, &report.local, &report.fleet_checks);
    assert_eq!(report.totals.fleet_checks_passed, 0);
    assert_eq!(report.totals.fleet_checks_skipped, n);
    let text = render_summary(&report, &DisplayConfig::plain());
    assert!(
        text.contains(&format!("fleet checks 0 passed, {n} skipped")),
        "{text}"
    );
}
