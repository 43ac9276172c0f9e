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
use crate::model::{Check, Host, Inventory, SourceFile, Span, Spanned, Vars, Workflow};

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
                        let (span, culprit) = template_error_span(t, &e);
                        LoadError::at(
                            &span,
                            format!(
                                "template error for host `{}`: {}{culprit}",
                                host.name,
                                e_detail(&e)
                            ),
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

/// Narrows an error to the failing expression inside the string when the
/// KDL value is a plain quoted string (so offsets in the value equal
/// offsets in the file after the opening quote), and names the expression.
fn template_error_span(t: &Spanned<String>, e: &minijinja::Error) -> (Span, String) {
    let Some(range) = e.range().filter(|r| r.end <= t.value.len()) else {
        return (t.span.clone(), String::new());
    };
    let culprit = format!(" `{}`", &t.value[range.clone()]);
    let plain = t.span.len == t.value.len() + 2
        && !t.value.contains(['\\', '"'])
        && t.span.source.text.get(t.span.offset..t.span.offset + 1) == Some("\"");
    if plain {
        (t.span.sub(range.start + 1, range.len()), culprit)
    } else {
        (t.span.clone(), culprit)
    }
}

fn e_detail(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => d.to_string(),
        None => e.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{parse_inventory, parse_workflow};

    fn inventory() -> Inventory {
        let text = r#"
defaults { vars { level "defaults"; region "eu" } }
group prod {
    vars { level "group" }
    host a { vars { level "host" } }
    host b
}
host c
"#;
        parse_inventory(SourceFile::new("inventory/t.kdl", text))
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn workflow(text: &str) -> Workflow {
        parse_workflow(SourceFile::new("workflows/w.kdl", text)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn commands(plan: &Plan) -> Vec<(String, String)> {
        plan.hosts
            .iter()
            .map(|h| (h.host.name.clone(), h.steps[0].command.clone()))
            .collect()
    }

    #[test]
    fn variables_follow_precedence() {
        let wf = workflow(
            r#"workflow w {
                vars { level "workflow"; only_wf 1 }
                step s { run "{{ level }} {{ region }} {{ only_wf }} {{ host.name }}" }
            }"#,
        );
        let p = plan(wf.clone(), &inventory(), &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            commands(&p),
            [
                ("a".to_string(), "host eu 1 a".to_string()),
                ("b".to_string(), "group eu 1 b".to_string()),
                ("c".to_string(), "defaults eu 1 c".to_string()),
            ]
        );
        let set: Vec<SetVar> = ["level=cli", "only_wf=2"]
            .iter()
            .map(|s| s.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let p = plan(wf, &inventory(), &["c".to_string()], &set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(commands(&p), [("c".to_string(), "cli eu 2 c".to_string())]);
    }

    #[test]
    fn workflow_hosts_narrow_the_limit() {
        let wf = workflow(r#"workflow w { hosts "group:prod"; step s { run "true" } }"#);
        let p = plan(wf.clone(), &inventory(), &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.hosts.len(), 2);
        let p = plan(wf, &inventory(), &["b,c".to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(commands(&p), [("b".to_string(), "true".to_string())]);
    }

    #[test]
    fn rule_messages_are_rendered_per_host() {
        let wf = workflow(
            r#"workflow w { step s { run "true"; expect exit=0 message="{{ host.name }} at {{ level }}" } }"#,
        );
        let p = plan(wf, &inventory(), &["a".to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
        let rule = &p.hosts[0].steps[0].rules[0];
        assert_eq!(rule.message.as_deref(), Some("a at host"));
        assert_eq!(rule.location, "workflows/w.kdl:1:35");
    }

    #[test]
    fn set_values_are_json_when_they_parse() {
        let v: SetVar = "n=80".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.value, serde_json::json!(80));
        let v: SetVar = "s=hello world".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.value, serde_json::json!("hello world"));
        let v: SetVar = "b=true".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.value, serde_json::json!(true));
        assert!("novalue".parse::<SetVar>().is_err());
        assert!("disk-max=1".parse::<SetVar>().is_err());
    }

    #[test]
    fn undefined_variables_are_reported_once_per_place() {
        let wf = workflow("workflow w {\n  step s { run \"echo {{ nope }}\" }\n}\n");
        let Err(PlanError::Templates(errors)) = plan(wf, &inventory(), &[], &[]) else {
            panic!("expected template errors");
        };
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].location(), "workflows/w.kdl:2:25");
        assert!(errors.0[0].message().contains("undefined value `nope`"));
    }
}
