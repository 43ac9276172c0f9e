//! Workflow files: one top-level `workflow NAME { … }` node holding
//! settings, `vars` and `step`s → `model::Workflow`.

use std::path::Path;
use std::sync::Arc;

use kdl::{KdlDocument, KdlNode};

use super::decode::{Decoder, Seen};
use super::diagnostic::LoadErrors;
use super::duration::duration;
use super::expect::decode_rule;
use super::syntax;
use super::vars::decode_vars;
use crate::model::workflow::DEFAULT_STEP_TIMEOUT;
use crate::model::{SourceFile, Span, Spanned, Step, Vars, Workflow};

const TOP_NODES: &[&str] = &["workflow"];
const WORKFLOW_NODES: &[&str] = &["description", "hosts", "forks", "timeout", "vars", "step"];
const STEP_NODES: &[&str] = &["run", "timeout", "expect"];

/// Reads and decodes a workflow file.
pub fn load_workflow(path: &Path) -> Result<Workflow, LoadErrors> {
    parse_workflow(syntax::read(path)?)
}

/// Decodes a workflow from text already in memory; `source.path` only
/// names the file in diagnostics.
pub fn parse_workflow(source: Arc<SourceFile>) -> Result<Workflow, LoadErrors> {
    let document = syntax::parse_document(&source).map_err(LoadErrors)?;
    let mut d = Decoder::new(source);
    let workflow = decode_document(&mut d, &document);
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
        steps: Vec::new(),
    }
}

fn decode_workflow(d: &mut Decoder, node: &KdlNode) -> Workflow {
    d.props(node, &[]);
    let mut workflow = empty_workflow(d.source());
    if let Some(name) = name_arg(d, node, "the workflow name") {
        workflow.name = name.value;
    }
    let mut seen = Seen::default();
    let mut step_names = Vec::new();
    for child in Decoder::children(node) {
        let key = child.name().value();
        if key != "step" && WORKFLOW_NODES.contains(&key) {
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
            "step" => workflow
                .steps
                .extend(decode_step(d, child, &mut step_names)),
            _ => d.unknown_node(child, WORKFLOW_NODES, "in `workflow`"),
        }
    }
    if !Decoder::children(node)
        .iter()
        .any(|c| c.name().value() == "step")
    {
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

/// A step, or `None` when it is invalid (the errors are recorded). Its name
/// is checked against and added to `names` first, so a duplicate is
/// reported even when either step has other errors.
fn decode_step(d: &mut Decoder, node: &KdlNode, names: &mut Vec<(String, Span)>) -> Option<Step> {
    d.props(node, &[]);
    let name = name_arg(d, node, "the step name");
    let mut unique = true;
    if let Some(name) = &name {
        let span = d.node_span(node);
        match names.iter().find(|(n, _)| *n == name.value) {
            Some((_, first)) => {
                d.duplicate("step", &name.value, first, &span);
                unique = false;
            }
            None => names.push((name.value.clone(), span)),
        }
    }
    let mut run: Option<Spanned<String>> = None;
    let mut timeout = None;
    let mut rules = Vec::new();
    let mut seen = Seen::default();
    for child in Decoder::children(node) {
        let key = child.name().value();
        if key != "expect" && STEP_NODES.contains(&key) {
            d.once(&mut seen, child);
        }
        match key {
            "run" => run = string_setting(d, child, "the command"),
            "timeout" => {
                timeout = d
                    .single_arg(child, "a duration")
                    .and_then(|e| duration(d, e))
            }
            "expect" => rules.extend(decode_rule(d, child)),
            _ => d.unknown_node(child, STEP_NODES, "in `step`"),
        }
    }
    let has_run = Decoder::children(node)
        .iter()
        .any(|c| c.name().value() == "run");
    if !has_run {
        let span = d.node_span(node);
        let what = name
            .as_ref()
            .map_or_else(|| "step".to_owned(), |n| format!("step `{}`", n.value));
        d.error(
            &span,
            format!("{what} has no `run` command"),
            "missing `run`",
            Some("add the command to run: `run \"uptime\"`".to_owned()),
        );
    }
    let name = name.filter(|_| unique)?;
    Some(Step {
        name: name.value,
        span: d.node_span(node),
        run: run?,
        timeout,
        rules,
    })
}

/// The required name argument of `workflow` or `step`; an empty name would
/// be unreadable in reports.
fn name_arg(d: &mut Decoder, node: &KdlNode, what: &str) -> Option<Spanned<String>> {
    let name = d.exactly_one_arg(node, what).and_then(|e| d.string(e))?;
    if name.value.trim().is_empty() {
        d.error(&name.span, format!("{what} is empty"), "empty", None);
        return None;
    }
    Some(name)
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
