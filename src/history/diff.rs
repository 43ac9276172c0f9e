//! What changed between two runs of the same workflow and inventory: which
//! checks started failing, which were fixed, which still fail, and which
//! exported numbers moved. A check is a (host, step) pair; an unreachable
//! host counts as its `connect` check failing, a fleet check is keyed by
//! host `(fleet)`. Hosts absent from either run (a `--rerun` or `--limit`
//! subset) are neither fixed nor new: nothing is known about them.

use std::collections::BTreeMap;

use crate::model::report::{HostStatus, RunReport, StepStatus};

/// Host name under which fleet checks are compared.
pub const FLEET: &str = "(fleet)";
/// Step name under which an unreachable host is compared.
pub const CONNECT: &str = "connect";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub host: String,
    pub step: String,
    /// Status in the newer run (or the older one, for `fixed`).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumberChange {
    pub host: String,
    pub name: String,
    pub before: serde_json::Number,
    pub after: serde_json::Number,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunDiff {
    pub new_failures: Vec<Change>,
    pub fixed: Vec<Change>,
    pub still_failing: Vec<Change>,
    pub numbers: Vec<NumberChange>,
}

impl RunDiff {
    pub fn is_empty(&self) -> bool {
        self.new_failures.is_empty() && self.fixed.is_empty() && self.numbers.is_empty()
    }
}

type Key = (String, String);

/// Every check: is it failing, and its status word.
fn checks(report: &RunReport) -> BTreeMap<Key, (bool, &'static str)> {
    let mut map = BTreeMap::new();
    let failing = |s: StepStatus| {
        matches!(
            s,
            StepStatus::Failed | StepStatus::Timeout | StepStatus::Error
        )
    };
    for s in &report.local {
        map.insert(
            (crate::model::report::CONTROLLER.to_string(), s.name.clone()),
            (failing(s.status), s.status.as_str()),
        );
    }
    for h in &report.hosts {
        let reachable = h.status != HostStatus::Unreachable;
        map.insert(
            (h.name.clone(), CONNECT.to_string()),
            (!reachable, if reachable { "OK" } else { "UNREACHABLE" }),
        );
        for s in &h.steps {
            map.insert(
                (h.name.clone(), s.name.clone()),
                (failing(s.status), s.status.as_str()),
            );
        }
    }
    for c in &report.fleet_checks {
        map.insert(
            (FLEET.to_string(), c.name.clone()),
            (failing(c.status), c.status.as_str()),
        );
    }
    map
}

/// Compares `before` with `after`.
pub fn diff(before: &RunReport, after: &RunReport) -> RunDiff {
    let old = checks(before);
    let new = checks(after);
    let change = |(host, step): &Key, status: &str| Change {
        host: host.clone(),
        step: step.clone(),
        status: status.to_string(),
    };
    let mut d = RunDiff::default();
    for (key, (failing, status)) in &new {
        let was = old.get(key).map(|(f, _)| *f);
        match (failing, was) {
            (true, Some(true)) => d.still_failing.push(change(key, status)),
            // Failing now and not before, or a check the old run never had
            // (a new step or host): either way it needs a first look.
            (true, _) => d.new_failures.push(change(key, status)),
            // Only checks present in the new run can be fixed: a host left
            // out of this run tells nothing about its old failures.
            (false, Some(true)) => d.fixed.push(change(key, old[key].1)),
            _ => {}
        }
    }
    d.numbers = numbers(before, after);
    d
}

fn numbers(before: &RunReport, after: &RunReport) -> Vec<NumberChange> {
    let mut out = Vec::new();
    for h in &after.hosts {
        let Some(old) = before.hosts.iter().find(|o| o.name == h.name) else {
            continue;
        };
        for (name, value) in &h.exports {
            let (Some(a), Some(b)) = (
                old.exports.get(name).and_then(|v| v.as_number()),
                value.as_number(),
            ) else {
                continue;
            };
            if a.as_f64() != b.as_f64() {
                out.push(NumberChange {
                    host: h.name.clone(),
                    name: name.clone(),
                    before: a.clone(),
                    after: b.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;
    use crate::model::report::Totals;

    #[test]
    fn a_fixed_disk_and_a_new_failure_are_told_apart() {
        let before = fixture::mixed_run();
        let mut after = fixture::mixed_run();
        // db-2's disk is fixed; web-1's disk breaks; db-7 exports a number.
        for h in &mut after.hosts {
            match h.name.as_str() {
                "db-2" => h.steps[0].status = StepStatus::Passed,
                "web-1" => h.steps[0].status = StepStatus::Failed,
                _ => {}
            }
        }
        let db7 = |r: &mut RunReport, v: u64| {
            if let Some(h) = r.hosts.iter_mut().find(|h| h.name == "db-7") {
                h.exports.insert("disk_use".into(), v.into());
            }
        };
        let mut before = before;
        db7(&mut before, 62);
        db7(&mut after, 79);
        after.totals = Totals::count(&after.hosts, &after.local, &after.fleet_checks);
        let d = diff(&before, &after);
        let keys = |v: &[Change]| {
            v.iter()
                .map(|c| format!("{}/{}", c.host, c.step))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&d.new_failures), ["web-1/disk"]);
        assert_eq!(keys(&d.fixed), ["db-2/disk"]);
        assert!(keys(&d.still_failing).contains(&"db-4/connect".to_string()));
        assert!(keys(&d.still_failing).contains(&"(fleet)/replica-set".to_string()));
        assert_eq!(d.numbers.len(), 1);
        assert_eq!(d.numbers[0].name, "disk_use");
        assert!(diff(&before, &before).is_empty());
    }
}
