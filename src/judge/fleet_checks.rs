//! Fleet checks: rules over every host's results, evaluated once after
//! all hosts finished (or reported SKIPPED when the run stopped early).

use std::collections::BTreeMap;
use std::time::Duration;

use minijinja::Value;

use super::{Evaluator, Scope};
use crate::model::output::{ExecEnd, ExecOutput};
use crate::model::report::{
    Captured, FleetCheckReport, HostReport, StepStatus, status_from_failures,
};
use crate::model::{Check, Workflow};

/// Fleet checks of a run that stopped early, reported SKIPPED.
pub(crate) fn skipped(workflow: &Workflow, why: &str) -> Vec<FleetCheckReport> {
    not_evaluated(
        workflow,
        &format!("not evaluated: the run stopped early ({why})"),
    )
}

/// Every fleet check SKIPPED with `reason`: a stopped run, or a shard,
/// whose checks are judged at merge over every shard's hosts.
pub(crate) fn not_evaluated(workflow: &Workflow, reason: &str) -> Vec<FleetCheckReport> {
    workflow
        .fleet_checks
        .iter()
        .map(|check| FleetCheckReport {
            name: check.name.clone(),
            status: StepStatus::Skipped,
            failures: Vec::new(),
            reason: Some(reason.to_string()),
        })
        .collect()
}

/// Fleet checks see `hosts`: every host with its status, groups (by host
/// name in `groups`), step statuses and exports (every exported name
/// present, `none` when the host did not export it).
pub(crate) fn evaluate(
    evaluator: &Evaluator,
    workflow: &Workflow,
    groups: &BTreeMap<&str, &Vec<String>>,
    globals: &Scope,
    hosts: &[HostReport],
) -> Vec<FleetCheckReport> {
    if workflow.fleet_checks.is_empty() {
        return Vec::new();
    }
    let export_names: Vec<&str> = workflow
        .steps
        .iter()
        .flat_map(|s| s.exports.iter().map(|e| e.name.as_str()))
        .collect();
    let list: Vec<serde_json::Value> = hosts
        .iter()
        .map(|h| {
            let mut map = serde_json::Map::new();
            for name in &export_names {
                map.insert(
                    (*name).to_string(),
                    h.exports
                        .get(*name)
                        .cloned()
                        .unwrap_or(serde_json::Value::Null),
                );
            }
            map.insert("name".into(), h.name.clone().into());
            map.insert("address".into(), h.address.clone().into());
            map.insert(
                "status".into(),
                serde_json::to_value(h.status).unwrap_or_default(),
            );
            map.insert(
                "groups".into(),
                serde_json::to_value(
                    groups
                        .get(h.name.as_str())
                        .copied()
                        .cloned()
                        .unwrap_or_default(),
                )
                .unwrap_or_default(),
            );
            map.insert(
                "steps".into(),
                serde_json::Value::Object(
                    h.steps
                        .iter()
                        .map(|s| {
                            (
                                s.name.clone(),
                                serde_json::to_value(s.status).unwrap_or_default(),
                            )
                        })
                        .collect(),
                ),
            );
            map.insert(
                "exports".into(),
                serde_json::to_value(&h.exports).unwrap_or_default(),
            );
            serde_json::Value::Object(map)
        })
        .collect();
    let mut scope = globals.clone();
    scope.insert("hosts".into(), Value::from_serialize(&list));
    workflow
        .fleet_checks
        .iter()
        .map(|check| {
            let mut failures = Vec::new();
            for rule in &check.rules {
                if let Check::Expr(_) = rule.check {
                    failures.extend(evaluator.rules(
                        std::slice::from_ref(rule),
                        &no_output(),
                        &scope,
                    ));
                }
            }
            FleetCheckReport {
                name: check.name.clone(),
                status: status_from_failures(&failures),
                failures,
                reason: None,
            }
        })
        .collect()
}

fn no_output() -> ExecOutput {
    ExecOutput {
        stdout: Captured::default(),
        stderr: Captured::default(),
        exit_status: None,
        exit_signal: None,
        end: ExecEnd::Completed,
        duration: Duration::ZERO,
        session: None,
    }
}
