//! What a run will do, shown before it does it (`--dry-run`, destructive
//! workflows), and the typed confirmation a destructive run needs.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};

use minijinja::Value;

use crate::evaluate::{Evaluator, Scope};
use crate::model::{BatchSize, Step};
use crate::plan::{HostPlan, Plan};

/// Why a destructive run did not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(
        "workflow `{workflow}` is destructive and stdin is not a terminal to confirm it; nothing was run (pass --yes to run it without confirmation, or --dry-run to see the plan)"
    )]
    NoTerminal { workflow: String },
    #[error("confirmation did not match the inventory name `{expected}`; nothing was run")]
    Mismatch { expected: String },
    #[error("cannot read the confirmation: {0}")]
    Read(std::io::Error),
}

/// Asks the operator to type the inventory name before a destructive run.
/// Refuses without a terminal: a script must say `--yes` explicitly.
/// `shown` is the plan as rendered for the operator (secrets masked).
pub(super) fn confirm(plan: &Plan, shown: &str) -> Result<(), ConfirmError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(ConfirmError::NoTerminal {
            workflow: plan.workflow.name.clone(),
        });
    }
    eprint!("{shown}");
    eprint!(
        "\nworkflow `{}` is DESTRUCTIVE. Type the inventory name `{}` to run it: ",
        plan.workflow.name, plan.inventory_name
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(ConfirmError::Read)?;
    if line.trim() == plan.inventory_name {
        Ok(())
    } else {
        Err(ConfirmError::Mismatch {
            expected: plan.inventory_name.clone(),
        })
    }
}

/// The plan as text: every host with each step's command rendered for it
/// (or, when it uses values exported by earlier steps, the template and
/// the names it waits for), batches, and the hosts refused.
pub(super) fn render_plan(plan: &Plan) -> String {
    let workflow = &plan.workflow;
    let mut out = String::new();
    let kind = if workflow.is_destructive() {
        " (DESTRUCTIVE)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "plan: workflow `{}`{kind} on {} hosts of inventory `{}`",
        workflow.name,
        plan.hosts.len(),
        plan.inventory_name
    );
    if !workflow.serial.is_empty() {
        let sizes: Vec<String> = workflow.serial.iter().map(|b| batch_text(*b)).collect();
        let batches = crate::rollout::batches(&workflow.serial, plan.hosts.len());
        let _ = writeln!(
            out,
            "batches: serial {} → {} batches; the rollout stops when failed hosts exceed max-failures {}",
            sizes.join(" "),
            batches.len(),
            match workflow.max_failures {
                None => "0".to_string(),
                Some(crate::model::FailureLimit::Hosts(n)) => n.to_string(),
                Some(crate::model::FailureLimit::Percent(p)) => format!("{p}%"),
            }
        );
    }
    let evaluator = Evaluator::default();
    let globals = scope_of(&plan.globals);
    let mut exported = BTreeSet::new();
    for step in &workflow.local {
        let _ = writeln!(out, "controller:");
        step_line(&mut out, &evaluator, step, &globals, &exported);
        exported.extend(step.exports.iter().map(|e| e.name.clone()));
    }
    for host in &plan.hosts {
        host_block(&mut out, &evaluator, plan, host, &exported);
    }
    for refusal in &plan.refused {
        let _ = writeln!(
            out,
            "REFUSED {}: {} (never touched)",
            refusal.host.name, refusal.reason
        );
    }
    out
}

fn batch_text(b: BatchSize) -> String {
    match b {
        BatchSize::Hosts(n) => n.to_string(),
        BatchSize::Percent(p) => format!("{p}%"),
    }
}

fn host_block(
    out: &mut String,
    evaluator: &Evaluator,
    plan: &Plan,
    host: &HostPlan,
    local_exports: &BTreeSet<String>,
) {
    let h = &host.host;
    let _ = writeln!(out, "{} ({}@{}:{}):", h.name, h.user, h.address, h.port);
    let mut scope = scope_of(&host.vars);
    scope.insert(
        "host".into(),
        Value::from_serialize(serde_json::json!({
            "name": h.name, "address": h.address, "port": h.port,
            "user": h.user, "groups": h.groups,
        })),
    );
    let mut exported = local_exports.clone();
    for step in &plan.workflow.steps {
        step_line(out, evaluator, step, &scope, &exported);
        exported.extend(step.exports.iter().map(|e| e.name.clone()));
    }
}

fn step_line(
    out: &mut String,
    evaluator: &Evaluator,
    step: &Step,
    scope: &Scope,
    exported: &BTreeSet<String>,
) {
    let mut tags = Vec::new();
    if step.destructive {
        tags.push("DESTRUCTIVE".to_string());
    }
    if step.sudo {
        tags.push("sudo".to_string());
    }
    if step.local {
        tags.push("on the controller".to_string());
    }
    if !step.env.is_empty() {
        let names: Vec<&str> = step.env.iter().map(|n| n.value.as_str()).collect();
        tags.push(format!("env {}", names.join(" ")));
    }
    if let Some(when) = &step.when {
        tags.push(format!("when {}", when.value));
    }
    if let Some(retry) = &step.retry {
        tags.push(format!("up to {} attempts", retry.attempts));
    }
    let tags = if tags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", tags.join(", "))
    };
    let waits: Vec<String> = evaluator
        .env()
        .template_from_str(&step.run.text.value)
        .map(|t| t.undeclared_variables(false))
        .unwrap_or_default()
        .into_iter()
        .filter(|name| exported.contains(name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let command = if waits.is_empty() {
        match evaluator.render_command(&step.run, scope) {
            Ok(command) => command,
            Err(e) => format!("{} (cannot render: {})", step.run.text.value, e.detail),
        }
    } else {
        format!(
            "{} (rendered when the step starts: uses {} exported by earlier steps)",
            step.run.text.value,
            waits.join(", ")
        )
    };
    let command = command.replace('\n', "\n      ");
    let _ = writeln!(out, "  - {}{tags}: {command}", step.name);
}

fn scope_of(vars: &crate::model::Vars) -> Scope {
    vars.iter()
        .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
        .collect()
}
