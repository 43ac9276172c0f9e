//! Workflow files: one top-level `workflow NAME { … }` node holding
//! settings, `vars` and `step`s → `model::Workflow`.

use std::path::Path;
use std::sync::Arc;

use kdl::{KdlDocument, KdlNode};

use super::decode::{Decoder, Seen, name_arg};
use super::diagnostic::LoadErrors;
use super::duration::duration;
use super::expect::{RuleKind, decode_rule};
use super::rollout;
use super::step::{StepPlace, decode_step};
use super::syntax;
use super::vars::decode_vars;
use crate::model::workflow::DEFAULT_STEP_TIMEOUT;
use crate::model::{FleetCheck, SourceFile, Span, Spanned, Vars, Workflow};

const TOP_NODES: &[&str] = &["workflow"];
const WORKFLOW_NODES: &[&str] = &[
    "description",
    "hosts",
    "forks",
    "timeout",
    "vars",
    "destructive",
    "forbid-groups",
    "serial",
    "max-failures",
    "per-shard-thresholds",
    "include",
    "local",
    "step",
    "fleet-check",
];
/// Nodes that may appear several times in a workflow.
const REPEATABLE: &[&str] = &["step", "local", "fleet-check", "include"];
/// Nodes an included file may hold.
const INCLUDE_NODES: &[&str] = &["step", "local", "fleet-check"];

/// Reads and decodes a workflow file.
pub fn load_workflow(path: &Path) -> Result<Workflow, LoadErrors> {
    parse_workflow(syntax::read(path)?)
}

/// Decodes a workflow from text already in memory; `source.path` only
/// names the file in diagnostics.
pub fn parse_workflow(source: Arc<SourceFile>) -> Result<Workflow, LoadErrors> {
    let document = syntax::parse_document(&source).map_err(LoadErrors)?;
    let mut d = Decoder::new(source);
    let mut workflow = decode_document(&mut d, &document);
    workflow.secret_vars = d.secret_vars().clone();
    d.finish(workflow)
}

fn decode_document(d: &mut Decoder, document: &KdlDocument) -> Workflow {
    let mut found: Option<(Workflow, Span)> = None;
    for node in document.nodes() {
        if node.name().value() != "workflow" {
            d.unknown_node(node, TOP_NODES, "at the top level");
            continue;
        }
        let span = d.node_span(node);
        match &found {
            Some((_, first)) => {
                let first_line = d.line(first);
                d.error(
                    &span,
                    "a file holds one workflow",
                    "second workflow",
                    Some(format!(
                        "the first is on line {first_line}; put each workflow in its own file"
                    )),
                );
            }
            None => found = Some((decode_workflow(d, node), span)),
        }
    }
    match found {
        Some((workflow, _)) => workflow,
        None => {
            let span = Span::new(d.source(), 0, 0);
            d.error(
                &span,
                "no `workflow` node",
                "expected `workflow NAME { … }`",
                Some(
                    "a workflow file holds one `workflow NAME { step NAME { run \"…\" } }`"
                        .to_owned(),
                ),
            );
            empty_workflow(d.source())
        }
    }
}

fn empty_workflow(source: &Arc<SourceFile>) -> Workflow {
    Workflow {
        name: String::new(),
        source: Arc::clone(source),
        description: None,
        hosts: None,
        forks: None,
        timeout: DEFAULT_STEP_TIMEOUT,
        vars: Vars::new(),
        secret_vars: Default::default(),
        steps: Vec::new(),
        local: Vec::new(),
        fleet_checks: Vec::new(),
        forbid_groups: Vec::new(),
        destructive: false,
        serial: Vec::new(),
        max_failures: None,
        per_shard_thresholds: false,
    }
}

fn decode_workflow(d: &mut Decoder, node: &KdlNode) -> Workflow {
    d.props(node, &[]);
    let mut workflow = empty_workflow(d.source());
    if let Some(name) = name_arg(d, node, "the workflow name") {
        workflow.name = name.value;
    }
    let mut seen = Seen::default();
    let mut names = Names::default();
    let mut max_failures_node = None;
    for child in Decoder::children(node) {
        let key = child.name().value();
        if !REPEATABLE.contains(&key) && WORKFLOW_NODES.contains(&key) {
            d.once(&mut seen, child);
        }
        match key {
            "description" => {
                workflow.description = string_setting(d, child, "the description").map(|s| s.value);
            }
            "hosts" => workflow.hosts = string_setting(d, child, "a host pattern"),
            "forks" => workflow.forks = forks(d, child),
            "timeout" => {
                if let Some(timeout) = d
                    .single_arg(child, "a duration")
                    .and_then(|e| duration(d, e))
                {
                    workflow.timeout = timeout;
                }
            }
            "vars" => workflow.vars = decode_vars(d, child),
            "destructive" => workflow.destructive = d.flag(child).unwrap_or(false),
            "forbid-groups" => {
                d.props(child, &[]);
                d.no_children(child);
                workflow.forbid_groups.extend(
                    Decoder::args(child)
                        .filter_map(|e| d.string(e))
                        .collect::<Vec<_>>(),
                );
            }
            "serial" => workflow.serial = rollout::serial(d, child),
            "max-failures" => {
                workflow.max_failures = rollout::max_failures(d, child);
                max_failures_node = Some(d.node_span(child));
            }
            "per-shard-thresholds" => {
                workflow.per_shard_thresholds = d.flag(child).unwrap_or(false);
            }
            "include" => include(d, child, &mut workflow, &mut names),
            "step" | "local" | "fleet-check" => body_node(d, child, &mut workflow, &mut names),
            _ => d.unknown_node(child, WORKFLOW_NODES, "in `workflow`"),
        }
    }
    if let Some(span) = max_failures_node
        && workflow.serial.is_empty()
    {
        d.error(
            &span,
            "`max-failures` needs `serial`",
            "no batches to stop between",
            Some("add e.g. `serial 1 \"25%\"`: the rollout stops before the next batch".to_owned()),
        );
    }
    let has_steps = Decoder::children(node)
        .iter()
        .any(|c| matches!(c.name().value(), "step" | "local" | "include"));
    if !has_steps {
        let span = d.node_span(node);
        d.error(
            &span,
            "workflow has no steps",
            "no `step` inside",
            Some("add a step: `step NAME { run \"command\" }`".to_owned()),
        );
    }
    workflow
}

/// Names already taken, shared across included files.
#[derive(Default)]
struct Names {
    steps: Vec<(String, Span)>,
    checks: Vec<(String, Span)>,
    included: Vec<std::path::PathBuf>,
}

/// `step`, `local` or `fleet-check`, in the workflow or an included file.
fn body_node(d: &mut Decoder, node: &KdlNode, workflow: &mut Workflow, names: &mut Names) {
    match node.name().value() {
        "step" => workflow
            .steps
            .extend(decode_step(d, node, &mut names.steps, StepPlace::Host)),
        "local" => workflow.local.extend(decode_step(
            d,
            node,
            &mut names.steps,
            StepPlace::Controller,
        )),
        _ => workflow
            .fleet_checks
            .extend(fleet_check(d, node, &mut names.checks)),
    }
}

/// `fleet-check NAME { expect "EXPR" … }`: only expression rules, since
/// there is no single output to match.
fn fleet_check(
    d: &mut Decoder,
    node: &KdlNode,
    names: &mut Vec<(String, Span)>,
) -> Option<FleetCheck> {
    d.props(node, &[]);
    let name = name_arg(d, node, "the fleet check name")?;
    let span = d.node_span(node);
    if let Some((_, first)) = names.iter().find(|(n, _)| *n == name.value) {
        d.duplicate("fleet-check", &name.value, first, &span);
        return None;
    }
    names.push((name.value.clone(), span.clone()));
    let mut rules = Vec::new();
    for child in Decoder::children(node) {
        if child.name().value() == "expect" {
            if let Some(rule) = decode_rule(d, child, RuleKind::Expect) {
                if matches!(rule.check, crate::model::Check::Expr(_)) {
                    rules.push(rule);
                } else {
                    d.error(
                        &rule.span,
                        "a fleet check takes expressions over `hosts`",
                        "not an expression",
                        Some("e.g. `expect \"hosts | selectattr('mongo_state', 'eq', 'PRIMARY') | list | length == 1\"`".to_owned()),
                    );
                }
            }
        } else {
            d.unknown_node(child, &["expect"], "in `fleet-check`");
        }
    }
    if rules.is_empty() {
        d.error(
            &span,
            format!("fleet check `{}` has no rules", name.value),
            "no `expect`",
            None,
        );
    }
    Some(FleetCheck {
        name: name.value,
        span,
        rules,
    })
}

/// `include "path.kdl"`: steps, local steps and fleet checks shared between
/// workflows, read relative to the including file. Errors in the included
/// file are reported with its own path.
fn include(d: &mut Decoder, node: &KdlNode, workflow: &mut Workflow, names: &mut Names) {
    d.props(node, &[]);
    d.no_children(node);
    let Some(rel) = d.single_arg(node, "a file path").and_then(|e| d.string(e)) else {
        return;
    };
    let base = d
        .source()
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = base.join(&rel.value);
    if names.included.contains(&path) {
        d.error(
            &rel.span,
            format!("`{}` is included twice", rel.value),
            "repeated include",
            None,
        );
        return;
    }
    names.included.push(path.clone());
    let source = match syntax::read(&path) {
        Ok(source) => source,
        Err(e) => {
            d.error(
                &rel.span,
                format!("cannot include `{}`: {}", path.display(), e.message()),
                "unreadable include",
                Some("include paths are relative to the file that includes them".to_owned()),
            );
            return;
        }
    };
    let document = match syntax::parse_document(&source) {
        Ok(doc) => doc,
        Err(errors) => {
            errors.into_iter().for_each(|e| d.report(e));
            return;
        }
    };
    let mut sub = Decoder::new(Arc::clone(&source));
    for child in document.nodes() {
        if INCLUDE_NODES.contains(&child.name().value()) {
            body_node(&mut sub, child, workflow, names);
        } else {
            sub.unknown_node(child, INCLUDE_NODES, "in an included file");
        }
    }
    d.absorb_secrets(&sub);
    if let Err(errors) = sub.finish(()) {
        errors.0.into_iter().for_each(|e| d.report(e));
    }
}

fn string_setting(d: &mut Decoder, node: &KdlNode, what: &str) -> Option<Spanned<String>> {
    d.single_arg(node, what).and_then(|entry| d.string(entry))
}

fn forks(d: &mut Decoder, node: &KdlNode) -> Option<usize> {
    let forks = d
        .single_arg(node, "a number of hosts")
        .and_then(|e| d.integer(e))?;
    match usize::try_from(forks.value) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            d.error(
                &forks.span,
                "`forks` must be a positive integer",
                "out of range",
                Some("forks is how many hosts run at once, 1 or more".to_owned()),
            );
            None
        }
    }
}

#[cfg(test)]
#[path = "workflow_tests.rs"]
mod tests;
