//! Judging a finished run against its waivers: a FAILED step whose every
//! broken `fail` rule is covered by a waiver in force becomes WAIVED (it no
//! longer fails the host or the run, and every report shows the reason and
//! the days left); a waiver past its expiry covers nothing and says so; a
//! waiver that covered nothing is listed so stale ones get removed. What
//! the operator must know goes into the run's `warnings`, which every
//! report format already shows.
//!
//! Only FAILED steps of hosts are waivable: a TIMEOUT, ERROR or an
//! unreachable host means the check did not run, and accepting that would
//! hide whatever it would have found.

use crate::model::report::{
    AppliedWaiver, HostReport, HostStatus, RunReport, StepReport, StepStatus, Totals,
};
use crate::model::{Severity, Waiver, WaiverTarget};

/// Applies `waivers` to `report` (statuses, totals, warnings). The day a
/// waiver is judged against is the run's start day in UTC.
pub fn apply(report: &mut RunReport, waivers: &[Waiver]) {
    if waivers.is_empty() {
        return;
    }
    let today = run_day(&report.started_at);
    // Waivers scoped to another workflow are not this run's business.
    let waivers: Vec<&Waiver> = waivers
        .iter()
        .filter(|w| {
            w.workflow
                .as_ref()
                .is_none_or(|name| *name == report.workflow)
        })
        .collect();
    let steps: std::collections::BTreeSet<String> = report
        .local
        .iter()
        .chain(report.hosts.iter().flat_map(|h| &h.steps))
        .map(|s| s.name.clone())
        .collect();
    let mut unknown_step = Vec::new();
    let mut used = vec![false; waivers.len()];
    let mut warnings = Vec::new();
    for host in &mut report.hosts {
        if !matches!(host.status, HostStatus::Failed) {
            continue;
        }
        let mut changed = false;
        for step in host.steps.iter_mut() {
            if step.status != StepStatus::Failed {
                continue;
            }
            let applicable: Vec<usize> = (0..waivers.len())
                .filter(|&i| covers_host(waivers[i], &host.name, &host.groups))
                .filter(|&i| waivers[i].step == step.name)
                .collect();
            let in_force: Vec<usize> = applicable
                .iter()
                .copied()
                .filter(|&i| waivers[i].expires >= today)
                .collect();
            if let Some(covering) = covering(&waivers, &in_force, step) {
                let first = &waivers[covering[0]];
                step.status = StepStatus::Waived;
                step.waiver = Some(AppliedWaiver {
                    reason: first.reason.clone(),
                    expires: Some(first.expires.to_string()),
                    days_left: Some((first.expires - today).whole_days()),
                    location: first.span.location(),
                });
                for i in covering {
                    used[i] = true;
                }
                changed = true;
            } else if let Some(covering) = covering(&waivers, &applicable, step) {
                for i in covering.into_iter().filter(|&i| waivers[i].expires < today) {
                    used[i] = true;
                    warnings.push(format!(
                        "waiver at {} ({}) expired on {} ({}): the failure of {} on {} counts again",
                        waivers[i].span.location(),
                        waivers[i].describe(),
                        waivers[i].expires,
                        days_ago((today - waivers[i].expires).whole_days()),
                        step.name,
                        host.name
                    ));
                }
            }
        }
        if changed {
            host.status = HostReport::status_from_steps(&host.steps);
        }
    }
    for (w, _) in waivers.iter().zip(&used).filter(|(_, used)| !**used) {
        if !steps.contains(&w.step) {
            unknown_step.push(format!(
                "waiver at {} ({}) names no step of workflow {}: a typo, or scope it with workflow=\"…\"",
                w.span.location(),
                w.describe(),
                report.workflow
            ));
            continue;
        }
        let expired = if w.expires < today {
            format!(
                " and expired on {} ({})",
                w.expires,
                days_ago((today - w.expires).whole_days())
            )
        } else {
            String::new()
        };
        warnings.push(format!(
            "waiver at {} ({}) matched no failure in this run{expired}: remove it if the problem is fixed",
            w.span.location(),
            w.describe()
        ));
    }
    report.warnings.extend(warnings);
    report.warnings.extend(unknown_step);
    report.totals = Totals::count(&report.hosts, &report.local, &report.fleet_checks);
}

fn days_ago(days: i64) -> String {
    format!("{days} day{} ago", if days == 1 { "" } else { "s" })
}

fn covers_host(w: &Waiver, host: &str, groups: &[String]) -> bool {
    match &w.target {
        WaiverTarget::Host(h) => h == host,
        WaiverTarget::Group(g) => groups.iter().any(|x| x == g),
    }
}

/// The waivers among `pool` that together cover every broken `fail` rule
/// of `step` (a waiver without `rule` covers them all; a FAILED step with
/// no broken rule listed needs one without `rule`), or `None`.
fn covering(waivers: &[&Waiver], pool: &[usize], step: &StepReport) -> Option<Vec<usize>> {
    let whole = pool.iter().copied().find(|&i| waivers[i].rule.is_none());
    let fails: Vec<&str> = step
        .failures
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .map(|f| f.expected.as_str())
        .collect();
    if fails.is_empty() {
        return whole.map(|i| vec![i]);
    }
    let mut found = Vec::new();
    for expected in fails {
        let i = whole.or_else(|| {
            pool.iter()
                .copied()
                .find(|&i| waivers[i].rule.as_deref() == Some(expected))
        })?;
        if !found.contains(&i) {
            found.push(i);
        }
    }
    Some(found)
}

/// The UTC day an RFC 3339 start time falls on; today if it does not parse.
fn run_day(started_at: &str) -> time::Date {
    time::OffsetDateTime::parse(started_at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC).date())
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc().date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_waivers;
    use crate::model::SourceFile;
    use crate::model::fixture;

    fn waivers(text: &str) -> Vec<Waiver> {
        parse_waivers(SourceFile::new("w.kdl", text)).expect("valid waivers")
    }

    /// The fixture run starts on 2024-05-01; db-2's disk step breaks two
    /// `fail` rules, db-7 and db-8 break the `/data` rule.
    #[test]
    fn a_waiver_in_force_turns_failed_into_waived_and_the_run_stops_failing_there() {
        let mut run = fixture::mixed_run();
        let before = run.totals.steps_failed;
        apply(
            &mut run,
            &waivers(
                "waiver host=\"db-2\" step=\"disk\" reason=\"log rotation fixed in CHG-9\" expires=\"2024-05-11\"\n",
            ),
        );
        let db2 = run.hosts.iter().find(|h| h.name == "db-2").expect("db-2");
        assert_eq!(db2.status, HostStatus::Ok);
        assert_eq!(db2.steps[0].status, StepStatus::Waived);
        let w = db2.steps[0].waiver.as_ref().expect("waiver noted");
        assert_eq!(w.days_left, Some(10));
        assert_eq!(w.location, "w.kdl:1:1");
        assert_eq!(run.totals.steps_failed, before - 1);
        assert_eq!(run.totals.steps_waived, 1);
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    }

    #[test]
    fn waivers_of_other_workflows_are_ignored_and_unknown_steps_are_named() {
        let mut run = fixture::mixed_run();
        apply(
            &mut run,
            &waivers(
                "waiver workflow=\"daily\" host=\"db-2\" step=\"certs\" reason=\"r\" expires=\"2030-01-01\"\n\
                 waiver host=\"db-2\" step=\"dsik\" reason=\"r\" expires=\"2030-01-01\"\n\
                 waiver workflow=\"mongo-health\" host=\"db-2\" step=\"disk\" reason=\"r\" expires=\"2030-01-01\"\n",
            ),
        );
        assert_eq!(run.hosts[1].steps[0].status, StepStatus::Waived);
        assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
        assert!(
            run.warnings[0].contains(
                "w.kdl:2:1 (host db-2, step dsik) names no step of workflow mongo-health"
            ),
            "{:?}",
            run.warnings
        );
    }

    #[test]
    fn a_rule_waiver_covers_only_its_rule() {
        let mut run = fixture::mixed_run();
        // db-2's disk breaks two rules; waiving one leaves it FAILED, and
        // the waiver matched no failure it could cover alone.
        apply(
            &mut run,
            &waivers(
                "waiver host=\"db-2\" step=\"disk\" rule=\"stdout not matches \\\"(9[0-9]|100)% /$\\\"\" reason=\"r\" expires=\"2024-06-01\"\n",
            ),
        );
        let db2 = run.hosts.iter().find(|h| h.name == "db-2").expect("db-2");
        assert_eq!(db2.steps[0].status, StepStatus::Failed);
        assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
        assert!(
            run.warnings[0].contains("matched no failure"),
            "{:?}",
            run.warnings
        );
    }

    #[test]
    fn an_expired_waiver_warns_and_the_failure_counts_again() {
        let mut run = fixture::mixed_run();
        apply(
            &mut run,
            &waivers(
                "waiver host=\"db-2\" step=\"disk\" reason=\"r\" expires=\"2024-04-28\"\nwaiver host=\"nobody\" step=\"disk\" reason=\"r\" expires=\"2030-01-01\"\n",
            ),
        );
        let db2 = run.hosts.iter().find(|h| h.name == "db-2").expect("db-2");
        assert_eq!(db2.steps[0].status, StepStatus::Failed);
        assert_eq!(run.warnings.len(), 2, "{:?}", run.warnings);
        assert!(
            run.warnings[0].contains(
                "expired on 2024-04-28 (3 days ago): the failure of disk on db-2 counts again"
            ),
            "{:?}",
            run.warnings
        );
        assert!(
            run.warnings[1].contains("w.kdl:2:1 (host nobody, step disk) matched no failure"),
            "{:?}",
            run.warnings
        );
    }
}
