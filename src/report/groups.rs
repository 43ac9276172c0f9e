//! Folding the same problem on many hosts into one entry. On a 1000-host
//! run a full disk or a missing binary is usually one cause on many hosts;
//! repeating it per host would bury everything else, so the summary shows
//! each distinct problem once, with the hosts it hit.

use std::collections::HashMap;

use crate::model::Severity;
use crate::model::report::{HostReport, RuleFailure, RunReport, StepReport, StepStatus};

/// Host names listed before the rest is counted, so one line stays one line
/// however large the fleet.
pub(crate) const MAX_LISTED_HOSTS: usize = 5;

pub(crate) use crate::model::report::CONTROLLER;

/// `a, b, c, d, e, … (+37 more)`: names in report order, capped.
pub(crate) fn host_list<S: AsRef<str>>(names: &[S]) -> String {
    let shown: Vec<std::borrow::Cow<'_, str>> = names
        .iter()
        .take(MAX_LISTED_HOSTS)
        .map(|n| crate::report::sanitize::line(n.as_ref()))
        .collect();
    let mut list = shown.join(", ");
    if names.len() > MAX_LISTED_HOSTS {
        list.push_str(&format!(", … (+{} more)", names.len() - MAX_LISTED_HOSTS));
    }
    list
}

/// Where a step ran: a host from the inventory, or the controller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site<'a> {
    pub(crate) name: &'a str,
    /// `None` for the controller.
    pub(crate) host: Option<&'a HostReport>,
}

/// One step that failed, timed out or errored the same way on one or more
/// sites: same step, status, broken `fail` rules (expected, message,
/// location), reason and signal. What was *seen* may differ per site and
/// is kept per member.
#[derive(Debug)]
pub(crate) struct StepProblem<'a> {
    pub(crate) step: &'a str,
    pub(crate) status: StepStatus,
    pub(crate) members: Vec<(Site<'a>, &'a StepReport)>,
    /// Local steps first, then by position in the workflow, so the summary
    /// reads in the order things ran.
    order: (bool, usize),
}

impl<'a> StepProblem<'a> {
    /// The broken `fail`-severity rules, identical across members.
    pub(crate) fn rules(&self) -> Vec<&'a RuleFailure> {
        fail_rules(self.members[0].1).collect()
    }

    pub(crate) fn first(&self) -> &'a StepReport {
        self.members[0].1
    }
}

/// One `warn`-severity rule broken the same way (same step, expected and
/// message) on one or more sites.
#[derive(Debug)]
pub(crate) struct Warning<'a> {
    pub(crate) step: &'a str,
    pub(crate) rule: &'a RuleFailure,
    pub(crate) sites: Vec<Site<'a>>,
    /// Each site's `seen`, in `sites` order.
    pub(crate) seen: Vec<&'a str>,
}

/// Everything that needs action, grouped.
#[derive(Debug, Default)]
pub(crate) struct Problems<'a> {
    pub(crate) steps: Vec<StepProblem<'a>>,
    pub(crate) warnings: Vec<Warning<'a>>,
}

pub(crate) fn fail_rules(step: &StepReport) -> impl Iterator<Item = &RuleFailure> {
    step.failures
        .iter()
        .filter(|f| f.severity == Severity::Fail)
}

/// What makes two step results "the same problem".
#[derive(PartialEq, Eq, Hash)]
struct ProblemKey<'a> {
    local: bool,
    step: &'a str,
    /// `StepStatus` is not `Hash`; its name is.
    status: &'static str,
    rules: Vec<(&'a str, Option<&'a str>, &'a str)>,
    reason: Option<&'a str>,
    signal: Option<&'a str>,
}

#[derive(PartialEq, Eq, Hash)]
struct WarningKey<'a> {
    local: bool,
    step: &'a str,
    expected: &'a str,
    message: Option<&'a str>,
}

/// Groups every non-passing step of the controller and the hosts, and
/// every broken `warn` rule (also those on steps that failed for another
/// reason, which would otherwise be hidden behind the failure).
pub(crate) fn collect(report: &RunReport) -> Problems<'_> {
    let mut problems = Problems::default();
    let mut step_index: HashMap<ProblemKey, usize> = HashMap::new();
    let mut warn_index: HashMap<WarningKey, usize> = HashMap::new();
    let local = report.local.iter().map(|s| {
        let site = Site {
            name: CONTROLLER,
            host: None,
        };
        (site, s)
    });
    let remote = report.hosts.iter().flat_map(|h| {
        let site = Site {
            name: &h.name,
            host: Some(h),
        };
        h.steps.iter().map(move |s| (site, s))
    });
    let mut positions: HashMap<(bool, &str), usize> = HashMap::new();
    for (site, step) in local.chain(remote) {
        let is_local = site.host.is_none();
        let next = positions.len();
        let position = *positions
            .entry((is_local, step.name.as_str()))
            .or_insert(next);
        if matches!(
            step.status,
            StepStatus::Failed | StepStatus::Timeout | StepStatus::Error
        ) {
            let key = ProblemKey {
                local: is_local,
                step: &step.name,
                status: step.status.as_str(),
                rules: fail_rules(step)
                    .map(|f| {
                        (
                            f.expected.as_str(),
                            f.message.as_deref(),
                            f.location.as_str(),
                        )
                    })
                    .collect(),
                reason: step.reason.as_deref(),
                signal: step.exit_signal.as_deref(),
            };
            match step_index.get(&key) {
                Some(&i) => problems.steps[i].members.push((site, step)),
                None => {
                    step_index.insert(key, problems.steps.len());
                    problems.steps.push(StepProblem {
                        step: &step.name,
                        status: step.status,
                        members: vec![(site, step)],
                        order: (!is_local, position),
                    });
                }
            }
        }
        for rule in step
            .failures
            .iter()
            .filter(|f| f.severity == Severity::Warn)
        {
            let key = WarningKey {
                local: is_local,
                step: &step.name,
                expected: &rule.expected,
                message: rule.message.as_deref(),
            };
            match warn_index.get(&key) {
                Some(&i) => {
                    problems.warnings[i].sites.push(site);
                    problems.warnings[i].seen.push(&rule.seen);
                }
                None => {
                    warn_index.insert(key, problems.warnings.len());
                    problems.warnings.push(Warning {
                        step: &step.name,
                        rule,
                        sites: vec![site],
                        seen: vec![&rule.seen],
                    });
                }
            }
        }
    }
    // Stable: equal positions keep the order hosts appear in the report.
    problems.steps.sort_by_key(|p| p.order);
    problems
}

/// Groups `(site, text)` pairs by identical text, first-seen order: the
/// per-host evidence of a grouped problem, shown once per distinct value.
pub(crate) fn variants<T: PartialEq>(items: Vec<(&str, T)>) -> Vec<(Vec<&str>, T)> {
    let mut out: Vec<(Vec<&str>, T)> = Vec::new();
    for (name, value) in items {
        match out.iter_mut().find(|(_, v)| *v == value) {
            Some((names, _)) => names.push(name),
            None => out.push((vec![name], value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn long_host_lists_are_capped() {
        let names: Vec<String> = (1..=42).map(|i| format!("ps-prod-{i}")).collect();
        assert_eq!(
            host_list(&names),
            "ps-prod-1, ps-prod-2, ps-prod-3, ps-prod-4, ps-prod-5, … (+37 more)"
        );
        assert_eq!(host_list(&["a", "b"]), "a, b");
    }

    #[test]
    fn identical_failures_are_grouped_and_local_steps_come_first() {
        let report = fixture::mixed_run();
        let problems = collect(&report);
        let summary: Vec<(&str, Vec<&str>)> = problems
            .steps
            .iter()
            .map(|p| (p.step, p.members.iter().map(|(s, _)| s.name).collect()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("backup-fresh", vec!["controller"]),
                ("disk", vec!["db-2"]),
                ("mongod", vec!["db-3"]),
                ("replication", vec!["db-3"]),
                ("data", vec!["db-7", "db-8"]),
            ]
        );
    }

    #[test]
    fn warnings_include_warn_rules_of_failed_steps() {
        let report = fixture::mixed_run();
        let warnings = collect(&report).warnings;
        let sites: Vec<Vec<&str>> = warnings
            .iter()
            .map(|w| w.sites.iter().map(|s| s.name).collect())
            .collect();
        assert_eq!(sites, vec![vec!["db-7"], vec!["db-9"]]);
    }

    #[test]
    fn variants_group_equal_values_in_order() {
        let v = variants(vec![("a", 1), ("b", 2), ("c", 1)]);
        assert_eq!(v, vec![(vec!["a", "c"], 1), (vec!["b"], 2)]);
    }
}
