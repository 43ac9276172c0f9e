//! `step NAME { … }` (and `local NAME { … }`) → `model::Step`: the command,
//! how to parse its output, its rules, exports and control (`when`,
//! `retry`, `on-failure`, `sudo`, `local`, `tty`, `requires`).

use kdl::{KdlEntry, KdlNode};

use super::decode::{Decoder, Seen};
use super::duration::duration;
use super::expect::{RuleKind, decode_rule};
use super::suggest;
use super::template::{check_command, error_in};
use crate::model::Expression;
use crate::model::{CommandTemplate, Export, OnFailure, Retry, Span, Spanned, Step};

mod parse;
use parse::parse;

const STEP_NODES: &[&str] = &[
    "run",
    "timeout",
    "parse",
    "expect",
    "expect-each",
    "expect-count",
    "export",
    "when",
    "retry",
    "on-failure",
    "sudo",
    "destructive",
    "local",
    "tty",
    "requires",
    "env",
];
/// Nodes that may appear several times in a step.
const REPEATABLE: &[&str] = &["expect", "expect-each", "expect-count", "export"];
const ON_FAILURE: &[&str] = &["continue", "stop-host"];

/// Where a step is declared: per host (`step`) or once on the controller
/// before the hosts (`local`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepPlace {
    Host,
    Controller,
}

/// A step, or `None` when it is invalid (the errors are recorded). Its name
/// is checked against and added to `names` first, so a duplicate is
/// reported even when either step has other errors.
pub(crate) fn decode_step(
    d: &mut Decoder,
    node: &KdlNode,
    names: &mut Vec<(String, Span)>,
    place: StepPlace,
) -> Option<Step> {
    d.props(node, &[]);
    let name = super::decode::name_arg(d, node, "the step name");
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
    let mut step = Step {
        name: String::new(),
        span: d.node_span(node),
        run: CommandTemplate::new(Spanned::new(String::new(), d.node_span(node))),
        timeout: None,
        parse: None,
        rules: Vec::new(),
        exports: Vec::new(),
        when: None,
        retry: None,
        on_failure: OnFailure::Continue,
        local: place == StepPlace::Controller,
        sudo: false,
        tty: false,
        requires: Vec::new(),
        destructive: false,
        env: Vec::new(),
    };
    let mut run = None;
    let mut seen = Seen::default();
    for child in Decoder::children(node) {
        let key = child.name().value();
        if STEP_NODES.contains(&key) && !REPEATABLE.contains(&key) {
            d.once(&mut seen, child);
        }
        match key {
            "run" => {
                run = d.single_arg(child, "the command").and_then(|e| d.string(e));
                if let Some(r) = &run {
                    check_command(d, r);
                }
            }
            "env" => step.env = env_names(d, child),
            "timeout" => {
                step.timeout = d
                    .single_arg(child, "a duration")
                    .and_then(|e| duration(d, e))
            }
            "parse" => step.parse = parse(d, child),
            "expect" => step.rules.extend(decode_rule(d, child, RuleKind::Expect)),
            "expect-each" => step.rules.extend(decode_rule(d, child, RuleKind::Each)),
            "expect-count" => step.rules.extend(decode_rule(d, child, RuleKind::Count)),
            "export" => step.exports.extend(export(d, child, &step.exports)),
            "when" => step.when = expression_setting(d, child),
            "retry" => step.retry = retry(d, child),
            "on-failure" => step.on_failure = on_failure(d, child).unwrap_or_default(),
            "sudo" => step.sudo = d.flag(child).unwrap_or(false),
            "destructive" => step.destructive = d.flag(child).unwrap_or(false),
            "tty" => step.tty = d.flag(child).unwrap_or(false),
            "requires" => step.requires = requires(d, child),
            "local" if place == StepPlace::Host => step.local = d.flag(child).unwrap_or(false),
            _ => d.unknown_node(child, STEP_NODES, "in `step`"),
        }
    }
    if run.is_none()
        && !Decoder::children(node)
            .iter()
            .any(|c| c.name().value() == "run")
    {
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
    if step.sudo && step.local {
        let span = d.node_span(node);
        d.error(
            &span,
            "`sudo` applies to commands on hosts, not `local` steps",
            "sudo and local",
            Some("remove `sudo`, or run the step on the hosts".to_owned()),
        );
    }
    if step.tty && step.local {
        let span = d.node_span(node);
        d.error(
            &span,
            "`tty` applies to commands on hosts, not `local` steps",
            "tty and local",
            Some(
                "a controller command runs without a terminal; remove `tty`, or run the step on the hosts"
                    .to_owned(),
            ),
        );
    }
    one_exit_rule(d, &step);
    if !step.env.is_empty() && !step.local {
        let span = d.node_span(node);
        d.error(
            &span,
            "`env` applies to steps that run on the controller (`local`)",
            "env on a host step",
            Some("a host's commands get the host's own environment; remove `env`".to_owned()),
        );
    }
    let name = name.filter(|_| unique)?;
    step.name = name.value;
    step.run = CommandTemplate::new(run?);
    Some(step)
}

/// `requires "VAR" …`: one or more variable names (checked against the
/// host's variables when planning, like every other name).
fn requires(d: &mut Decoder, node: &KdlNode) -> Vec<Spanned<String>> {
    d.props(node, &[]);
    d.no_children(node);
    let args: Vec<&KdlEntry> = Decoder::args(node).collect();
    if args.is_empty() {
        let span = d.node_span(node);
        d.error(
            &span,
            "`requires` needs at least one variable name",
            "which variables?",
            Some("e.g. `requires \"quickstart_cmd\"`".to_owned()),
        );
    }
    let mut names = Vec::new();
    for arg in args {
        let Some(name) = d.string(arg) else { continue };
        if !super::vars::is_identifier(&name.value) {
            d.error(
                &name.span,
                format!("`{}` is not a variable name", name.value),
                "not an identifier",
                Some(
                    "name the variable itself, e.g. `requires \"quickstart_cmd\"`, not a template"
                        .to_owned(),
                ),
            );
            continue;
        }
        names.push(name);
    }
    names
}

/// A step's acceptable exit statuses are declared once: two exit rules
/// could only both hold for the same status, so the second is an error.
fn one_exit_rule(d: &mut Decoder, step: &Step) {
    let mut exits = step
        .rules
        .iter()
        .filter(|r| matches!(r.check, crate::model::Check::Exit(_)));
    if let (Some(first), Some(second)) = (exits.next(), exits.next()) {
        d.error(
            &second.span,
            "a step declares its exit statuses once",
            "second exit rule",
            Some(format!(
                "merge it with the first ({}): `expect exit-in=\"0,1\"`",
                first.span.location()
            )),
        );
    }
}

/// `env "AWS_PROFILE" "FLEET_TOKEN"`: controller variables a local step
/// receives on top of the safe base set (`BASE_ENV` in `run::local`).
fn env_names(d: &mut Decoder, node: &KdlNode) -> Vec<Spanned<String>> {
    d.props(node, &[]);
    d.no_children(node);
    let names: Vec<Spanned<String>> = Decoder::args(node).filter_map(|e| d.string(e)).collect();
    for name in &names {
        if !super::vars::is_identifier(&name.value) {
            d.error(
                &name.span,
                format!("`{}` is not an environment variable name", name.value),
                "not a variable name",
                Some("names are letters, digits and `_`, not starting with a digit".to_owned()),
            );
        }
    }
    if names.is_empty() {
        let span = d.node_span(node);
        d.error(
            &span,
            "`env` names no variable",
            "empty env",
            Some("list the variables the command needs: `env \"AWS_PROFILE\"`".to_owned()),
        );
    }
    names
}

/// `when "EXPR"`, `on-failure`… : a single string argument, compiled as an
/// expression.
fn expression_setting(d: &mut Decoder, node: &KdlNode) -> Option<Expression> {
    d.props(node, &[]);
    d.no_children(node);
    let expr = d
        .single_arg(node, "an expression")
        .and_then(|e| d.string(e))?;
    Some(compile(d, expr))
}

/// Compiles an expression once, for good: the model carries the compiled
/// form. A syntax error is reported at its place inside the string.
pub(crate) fn compile(d: &mut Decoder, text: Spanned<String>) -> Expression {
    match Expression::compile(text) {
        Ok(expr) => expr,
        Err((text, e)) => {
            d.report(error_in(&text, "expression", &e));
            Expression::invalid(text)
        }
    }
}

fn export(d: &mut Decoder, node: &KdlNode, before: &[Export]) -> Option<Export> {
    d.props(node, &[]);
    d.no_children(node);
    let args: Vec<&KdlEntry> = Decoder::args(node).collect();
    let [name, expr] = args.as_slice() else {
        let span = d.node_span(node);
        d.error(
            &span,
            "`export` takes a name and an expression",
            "expected NAME \"EXPR\"",
            Some("e.g. `export disk_use \"data | map(attribute='Capacity') | first\"`".to_owned()),
        );
        return None;
    };
    let name = d.string(name)?;
    let expr = d.string(expr)?;
    let expr = compile(d, expr);
    if !super::vars::is_identifier(&name.value) {
        d.error(
            &name.span,
            format!("export name `{}` is not an identifier", name.value),
            "not an identifier",
            Some(format!(
                "use letters, digits and `_`, e.g. `{}`",
                name.value.replace('-', "_")
            )),
        );
        return None;
    }
    if before.iter().any(|e| e.name == name.value) {
        d.error(
            &name.span,
            format!("`{}` is exported twice by this step", name.value),
            "repeated",
            None,
        );
        return None;
    }
    Some(Export {
        name: name.value,
        span: d.node_span(node),
        expr,
    })
}

fn retry(d: &mut Decoder, node: &KdlNode) -> Option<Retry> {
    d.no_args(node);
    d.no_children(node);
    let props = d.props(node, &["attempts", "interval", "until"]);
    let attempts = match props.get("attempts") {
        None => 3,
        Some(e) => {
            let n = d.integer(e)?;
            match u32::try_from(n.value) {
                Ok(n) if n >= 1 => n,
                _ => {
                    d.error(
                        &n.span,
                        "`attempts` must be 1 or more",
                        "out of range",
                        None,
                    );
                    return None;
                }
            }
        }
    };
    let interval = match props.get("interval") {
        None => std::time::Duration::from_secs(5),
        Some(e) => duration(d, e)?,
    };
    let until = match props.get("until") {
        None => None,
        Some(e) => {
            let expr = d.string(e)?;
            Some(compile(d, expr))
        }
    };
    Some(Retry {
        attempts,
        interval,
        until,
    })
}

fn on_failure(d: &mut Decoder, node: &KdlNode) -> Option<OnFailure> {
    d.props(node, &[]);
    d.no_children(node);
    let value = d
        .single_arg(node, "`continue` or `stop-host`")
        .and_then(|e| d.string(e))?;
    match value.value.as_str() {
        "continue" => Some(OnFailure::Continue),
        "stop-host" => Some(OnFailure::StopHost),
        other => {
            d.error(
                &value.span,
                format!("unknown on-failure `{other}`"),
                "unknown",
                Some(suggest::unknown_help(other, ON_FAILURE, "for `on-failure`")),
            );
            None
        }
    }
}
