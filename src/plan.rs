//! Planning: which hosts a run touches and exactly what runs on each.
//!
//! Every template (commands, rule messages) is rendered here, per host,
//! with strict undefined variables, so a typo in a variable is reported
//! with its file and line before any connection is made. The executor
//! receives only finished strings.

use std::collections::BTreeMap;
use std::time::Duration;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::limit::{Limit, LimitError};
use crate::load::{LoadError, LoadErrors};
use crate::model::{Check, Host, Inventory, SourceFile, Spanned, Vars, Workflow};

/// A `--set key=value` override, highest precedence of all variables.
#[derive(Debug, Clone, PartialEq)]
pub struct SetVar {
    pub name: String,
    pub value: serde_json::Value,
}

impl std::str::FromStr for SetVar {
    type Err = String;

    /// `key=value`; the value is read as JSON when it parses as such
    /// (`80`, `true`, `[1,2]`), else taken as a plain string.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, raw) = s
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
        let name = name.trim();
        if !is_identifier(name) {
            return Err(format!(
                "variable name `{name}` must be an identifier (letters, digits, `_`; not starting with a digit)"
            ));
        }
        let value = serde_json::from_str(raw)
            .unwrap_or_else(|_| serde_json::Value::String(raw.to_string()));
        Ok(SetVar {
            name: name.to_string(),
            value,
        })
    }
}

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug)]
pub struct Plan {
    pub workflow: Workflow,
    pub inventory_name: String,
    pub inventory_path: String,
    pub hosts: Vec<HostPlan>,
}

#[derive(Debug, Clone)]
pub struct HostPlan {
    pub host: Host,
    pub steps: Vec<PlannedStep>,
}

#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub name: String,
    pub command: String,
    pub timeout: Duration,
    pub rules: Vec<PlannedRule>,
}

#[derive(Debug, Clone)]
pub struct PlannedRule {
    pub check: Check,
    pub message: Option<String>,
    /// `file:line:col` of the rule, shown next to its failure.
    pub location: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("{0}")]
    Templates(LoadErrors),
}

/// What templates see: the host's facts under `host`, every variable at
/// the top level.
#[derive(Serialize)]
struct TemplateHost<'a> {
    name: &'a str,
    address: &'a str,
    port: u16,
    user: &'a str,
    groups: &'a [String],
}

/// Selects hosts (workflow `hosts` ∩ `limits`) and renders every step for
/// each. All template errors of all hosts are collected, one per template
/// location, so `fleet check` reports them in one pass.
pub fn plan(
    workflow: Workflow,
    inventory: &Inventory,
    limits: &[String],
    set: &[SetVar],
) -> Result<Plan, PlanError> {
    let selected = select_hosts(
        inventory,
        workflow.hosts.as_ref().map(|h| h.value.as_str()),
        limits,
    )?;

    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let mut errors: BTreeMap<usize, LoadError> = BTreeMap::new();
    let mut hosts = Vec::with_capacity(selected.len());
    for host in selected {
        let vars = merged_vars(&workflow.vars, &host.vars, set);
        let mut ctx: BTreeMap<&str, minijinja::Value> = vars
            .iter()
            .map(|(k, v)| (k.as_str(), minijinja::Value::from_serialize(v)))
            .collect();
        ctx.insert(
            "host",
            minijinja::Value::from_serialize(TemplateHost {
                name: &host.name,
                address: &host.address,
                port: host.port,
                user: &host.user,
                groups: &host.groups,
            }),
        );
        let mut render = |t: &Spanned<String>| -> String {
            match env.render_str(&t.value, &ctx) {
                Ok(s) => s,
                Err(e) => {
                    errors.entry(t.span.offset).or_insert_with(|| {
                        LoadError::at(
                            &t.span,
                            format!("template error for host `{}`: {}", host.name, e_detail(&e)),
                            Some(
                                "define the variable in the workflow's `vars`, the inventory, or with --set NAME=VALUE"
                                    .to_string(),
                            ),
                        )
                    });
                    String::new()
                }
            }
        };
        let steps = workflow
            .steps
            .iter()
            .map(|step| PlannedStep {
                name: step.name.clone(),
                command: render(&step.run),
                timeout: step.effective_timeout(&workflow),
                rules: step
                    .rules
                    .iter()
                    .map(|rule| PlannedRule {
                        check: rule.check.clone(),
                        message: rule.message.as_ref().map(&mut render),
                        location: rule.span.location(),
                    })
                    .collect(),
            })
            .collect();
        hosts.push(HostPlan {
            host: host.clone(),
            steps,
        });
    }
    if !errors.is_empty() {
        return Err(PlanError::Templates(LoadErrors(
            errors.into_values().collect(),
        )));
    }
    Ok(Plan {
        inventory_name: inventory.name.clone(),
        inventory_path: inventory.source.path.display().to_string(),
        workflow,
        hosts,
    })
}

/// Hosts selected by `limits`, narrowed to the workflow's own `hosts`
/// pattern when it has one.
pub fn select_hosts<'a>(
    inventory: &'a Inventory,
    workflow_hosts: Option<&str>,
    limits: &[String],
) -> Result<Vec<&'a Host>, LimitError> {
    let mut selected = Limit::parse(limits)?.select(inventory)?;
    if let Some(pattern) = workflow_hosts {
        let allowed = Limit::parse(&[pattern])?.select(inventory)?;
        selected.retain(|h| allowed.iter().any(|a| a.name == h.name));
    }
    Ok(selected)
}

/// A plan for `fleet exec` (one literal command, not a template: shell
/// text like `${#a[@]}` must reach the host untouched) or `fleet ping`
/// (no command at all).
pub fn plan_adhoc(
    inventory: &Inventory,
    limits: &[String],
    command: Option<(&str, Duration)>,
) -> Result<Plan, LimitError> {
    let selected = select_hosts(inventory, None, limits)?;
    let source = SourceFile::new("<command line>", command.map(|c| c.0).unwrap_or_default());
    let steps: Vec<PlannedStep> = command
        .map(|(command, timeout)| PlannedStep {
            name: "exec".to_string(),
            command: command.to_string(),
            timeout,
            rules: Vec::new(),
        })
        .into_iter()
        .collect();
    let workflow = Workflow {
        name: if command.is_some() { "exec" } else { "ping" }.to_string(),
        source,
        description: None,
        hosts: None,
        forks: None,
        timeout: crate::model::workflow::DEFAULT_STEP_TIMEOUT,
        vars: Vars::new(),
        steps: Vec::new(),
    };
    Ok(Plan {
        inventory_name: inventory.name.clone(),
        inventory_path: inventory.source.path.display().to_string(),
        workflow,
        hosts: selected
            .into_iter()
            .map(|host| HostPlan {
                host: host.clone(),
                steps: steps.clone(),
            })
            .collect(),
    })
}

/// Variable precedence, lowest first: workflow defaults, inventory
/// (already merged defaults < groups < host), `--set`.
fn merged_vars(workflow: &Vars, host: &Vars, set: &[SetVar]) -> Vars {
    let mut vars = workflow.clone();
    vars.extend(host.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(set.iter().map(|s| (s.name.clone(), s.value.clone())));
    vars
}

fn e_detail(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => d.to_string(),
        None => e.kind().to_string(),
    }
}
