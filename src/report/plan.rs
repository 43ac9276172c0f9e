//! The plan as the operator confirms it (`fleet check`, `run --dry-run`,
//! the confirmation prompt): every host and the command each step will run
//! there, rendered and shell-quoted, before anything connects.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use minijinja::Value;

use crate::judge::{Evaluator, Scope};
use crate::model::{BatchSize, Step};
use crate::plan::{HostPlan, Plan};

/// The plan as text: every host with each step's command rendered for it
/// (or, when it uses values exported by earlier steps, the template and
/// the names it waits for), batches, and the hosts refused.
pub fn render_plan(plan: &Plan) -> String {
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
        let batches = crate::run::rollout::batches(&workflow.serial, plan.hosts.len());
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
    // Rendered commands carry inventory values (an Ansible host var, a
    // name): none may repaint the lines the operator is confirming.
    crate::report::sanitize::block(&out).into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{parse_inventory, parse_workflow};
    use crate::model::SourceFile;

    const INVENTORY: &str = r#"
protect "prod"
group prod { host db1 address="10.0.0.5" }
group web {
    vars { site "eu west" }
    host web1 address="10.0.1.1" user="ops"
    host web2 address="10.0.1.2" port=2222
}
"#;

    const WORKFLOW: &str = r#"
workflow deploy {
    destructive
    serial 1 "50%"
    max-failures 1
    step ticket {
        local
        run "echo T-1"
        export ticket "stdout | trim"
    }
    step stop {
        sudo
        run "systemctl stop {{ site }}"
        retry attempts=3 interval="1s"
    }
    step note {
        run "echo {{ ticket }}"
    }
}
"#;

    #[test]
    fn plan_text() {
        let inv = parse_inventory(SourceFile::new("inventory/site.kdl", INVENTORY))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let wf = parse_workflow(SourceFile::new("workflows/deploy.kdl", WORKFLOW))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let plan = crate::plan::plan(wf, &inv, &["group:web".to_string()], &[])
            .unwrap_or_else(|e| panic!("{e}"));
        insta::assert_snapshot!(render_plan(&plan));
    }
}
