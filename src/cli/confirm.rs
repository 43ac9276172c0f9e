//! What a run will do, shown before it does it (`--dry-run`, destructive
//! workflows), and the typed confirmation a destructive run needs.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};

use minijinja::Value;

use crate::evaluate::{Evaluator, Scope};
use crate::model::{BatchSize, Step};
use crate::plan::{HostPlan, Plan};

/// Why a guarded run did not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(
        "this run needs confirmation and stdin is not a terminal to type it; nothing was run.\n  why: {}\n  pass --yes to run it without confirmation{}",
        reasons.join("\n  why: "),
        if *dry_run { ", or --dry-run to see the plan" } else { "" }
    )]
    NoTerminal { reasons: Vec<String>, dry_run: bool },
    #[error("confirmation did not match the inventory name `{expected}`; nothing was run")]
    Mismatch { expected: String },
    #[error("cannot read the confirmation: {0}")]
    Read(std::io::Error),
}

/// What the operator said and has, decided by the caller (`--yes`, and
/// whether stdin is a terminal).
#[derive(Debug, Clone, Copy)]
pub(super) struct Consent {
    pub yes: bool,
    pub terminal: bool,
    /// The command has `--dry-run` (named in the refusal).
    pub dry_run: bool,
}

impl Consent {
    /// From the command line and the real stdin.
    pub(super) fn detect(yes: bool, dry_run: bool) -> Consent {
        Consent {
            yes,
            terminal: std::io::stdin().is_terminal(),
            dry_run,
        }
    }
}

/// Lets a guarded run start (destructive workflow, protected hosts, `fleet
/// exec` on many hosts: see `crate::guard`) only when the operator typed
/// the inventory name, or said `--yes`. Without a terminal and without
/// `--yes` it refuses: a script must say `--yes` explicitly. `shown` is the
/// plan as rendered for the operator (secrets masked); the answer is read
/// from `input` (stdin in use, a buffer in tests).
pub(super) fn confirm(
    plan: &Plan,
    shown: &str,
    consent: Consent,
    input: &mut dyn BufRead,
) -> Result<(), ConfirmError> {
    let reasons = plan.confirmation_reasons();
    if reasons.is_empty() {
        return Ok(());
    }
    if consent.yes {
        eprint!("{shown}");
        eprintln!("confirmed by --yes: {}", reasons.join("; "));
        return Ok(());
    }
    if !consent.terminal {
        return Err(ConfirmError::NoTerminal {
            reasons,
            dry_run: consent.dry_run,
        });
    }
    eprint!("{shown}");
    eprintln!();
    for reason in &reasons {
        eprintln!("CONFIRM: {reason}");
    }
    eprint!(
        "Type the inventory name `{}` to run it: ",
        plan.inventory_name
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    input.read_line(&mut line).map_err(ConfirmError::Read)?;
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
host db1-alias address="10.0.0.5"
host test1 address="10.0.9.1"
"#;

    fn plan_for(workflow: &str, limit: &str) -> Plan {
        let inv = parse_inventory(SourceFile::new("inventory/site.kdl", INVENTORY))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let wf = parse_workflow(SourceFile::new("workflows/w.kdl", workflow))
            .unwrap_or_else(|e| panic!("{e:?}"));
        crate::plan::plan(wf, &inv, &[limit.to_string()], &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    const READ_ONLY: &str = r#"workflow uptime { step s { run "uptime" } }"#;

    fn consent(yes: bool, terminal: bool) -> Consent {
        Consent {
            yes,
            terminal,
            dry_run: true,
        }
    }

    /// Before: only destructive workflows asked; a read-only workflow (or
    /// any command) ran on protected hosts, aliases included, unasked.
    #[test]
    fn protected_hosts_need_typed_confirmation_or_yes() {
        for limit in ["db1", "db1-alias"] {
            let plan = plan_for(READ_ONLY, limit);
            let err = confirm(&plan, "", consent(false, false), &mut &b""[..])
                .expect_err("no terminal, no --yes");
            let text = err.to_string();
            assert!(text.contains("protected host"), "{text}");
            assert!(text.contains(limit) && text.contains("--yes"), "{text}");
            assert!(matches!(
                confirm(&plan, "", consent(false, true), &mut &b"prod\n"[..]),
                Err(ConfirmError::Mismatch { .. })
            ));
            assert!(confirm(&plan, "", consent(false, true), &mut &b"site\n"[..]).is_ok());
            assert!(confirm(&plan, "", consent(true, false), &mut &b""[..]).is_ok());
        }
        // A host outside the protected group (and not an alias) is not asked.
        let plan = plan_for(READ_ONLY, "test1");
        assert!(confirm(&plan, "", consent(false, false), &mut &b""[..]).is_ok());
    }

    #[test]
    fn destructive_workflows_still_need_confirmation() {
        let plan = plan_for(
            r#"workflow stop { destructive; step s { run "true" } }"#,
            "test1",
        );
        let err = confirm(&plan, "", consent(false, false), &mut &b""[..]).expect_err("refused");
        assert!(err.to_string().contains("is destructive"), "{err}");
    }
}
