//! Planning: which hosts a run touches, with which variables, and a check
//! of every name every template and expression uses.
//!
//! Commands and messages are rendered when their step starts (they may use
//! values exported by earlier steps), so this is where a typo in a variable
//! is caught: each template's undeclared names must be a variable of the
//! host, an export of an earlier step, or a value of the step itself.
//! Errors carry the file, line and column and are reported before any
//! connection is made.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use minijinja::Environment;

use crate::guard::{Confirmation, guarded_hosts};
use crate::limit::{Limit, LimitError, Selection};
use crate::load::template::narrow;
use crate::load::{LoadError, LoadErrors};
use crate::model::{Check, Host, Inventory, SourceFile, Spanned, Step, Vars, Workflow};

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
        // JSON only when nothing is lost: `621.70` stays the string a
        // version comparison needs, not the number 621.7.
        let value = match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v)
                if !v.is_number()
                    || serde_json::to_string(&v).ok().as_deref() == Some(raw.trim()) =>
            {
                v
            }
            _ => serde_json::Value::String(raw.to_string()),
        };
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

/// Everything the executor needs: the workflow, the hosts with their
/// variables, and the hosts refused by the workflow's `forbid-groups`.
#[derive(Debug)]
pub struct Plan {
    pub workflow: Arc<Workflow>,
    pub inventory_name: String,
    pub inventory_path: String,
    /// Variables for `local` steps and fleet checks: workflow `vars`, the
    /// inventory's `defaults` vars and `--set` (group and host variables
    /// differ per host).
    pub globals: Vars,
    pub hosts: Vec<HostPlan>,
    pub refused: Vec<Refusal>,
    /// Parts of `hosts` or `--limit` that selected no host while others
    /// did: shown before the run and kept in its report.
    pub warnings: Vec<String>,
    /// What makes this run need typed confirmation or `--yes`.
    pub confirmation: Confirmation,
}

impl Plan {
    /// Why this run must be confirmed before it starts, judged on the
    /// hosts it will touch now; empty when it need not be.
    pub fn confirmation_reasons(&self) -> Vec<String> {
        let hosts: Vec<&Host> = self.hosts.iter().map(|h| &h.host).collect();
        self.confirmation.reasons(&self.workflow.name, &hosts)
    }
}

#[derive(Debug, Clone)]
pub struct HostPlan {
    pub host: Host,
    /// Merged: workflow vars < inventory (defaults < groups < host) < --set.
    pub vars: Vars,
}

/// A selected host the workflow must never touch.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub host: Host,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("{0}")]
    Templates(LoadErrors),
}

/// Names a step's own result adds to templates and rules.
const STEP_NAMES: &[&str] = &["exit_code", "stdout", "stderr"];

/// Selects hosts (workflow `hosts` ∩ `limits`), refuses those in forbidden
/// groups, merges variables and checks every name used anywhere.
pub fn plan(
    workflow: Workflow,
    inventory: &Inventory,
    limits: &[String],
    set: &[SetVar],
) -> Result<Plan, PlanError> {
    let Selection {
        hosts: selected,
        warnings,
    } = select_hosts(inventory, workflow.hosts.as_ref(), limits)?;
    for group in &workflow.forbid_groups {
        if !inventory.groups.iter().any(|g| g.name == group.value) && !inventory.hosts.is_empty() {
            // A forbidden group the inventory lacks protects nothing; say so
            // rather than silently passing.
            let e = LoadError::at(
                &group.span,
                format!(
                    "forbidden group `{}` does not exist in inventory `{}`",
                    group.value, inventory.name
                ),
                Some(
                    "check the group name; production hosts must be in the group named here".into(),
                ),
            );
            return Err(PlanError::Templates(LoadErrors(vec![e])));
        }
    }
    let mut globals = workflow.vars.clone();
    globals.extend(
        inventory
            .defaults_vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    globals.extend(set.iter().map(|s| (s.name.clone(), s.value.clone())));

    // A host named by --limit in a forbidden group is refused (and says
    // so in the report) even when the workflow's `hosts` would drop it.
    let mut candidates: Vec<&Host> = selected;
    if !limits.is_empty() && !workflow.forbid_groups.is_empty() {
        for host in Limit::parse(limits)?.select(inventory)?.hosts {
            if !candidates.iter().any(|c| c.name == host.name) {
                candidates.push(host);
            }
        }
    }
    let mut hosts = Vec::new();
    let mut refused = Vec::new();
    // Forbidden by any path: every ancestor group, and every alias (same
    // address and port) of a forbidden host.
    let forbidden = guarded_hosts(inventory, &workflow.forbid_groups);
    for host in candidates {
        if let Some(why) = forbidden.get(&host.name) {
            let group = workflow.forbid_groups.iter().find(|g| g.value == why.group);
            refused.push(Refusal {
                host: host.clone(),
                reason: format!(
                    "host is {}, which workflow `{}` must never touch ({})",
                    why.describe(host),
                    workflow.name,
                    group.map(|g| g.span.location()).unwrap_or_default()
                ),
            });
            continue;
        }
        hosts.push(HostPlan {
            host: host.clone(),
            vars: merged_vars(&workflow.vars, &host.vars, set),
        });
    }

    let errors = check_names(&workflow, &globals, &hosts);
    if !errors.is_empty() {
        return Err(PlanError::Templates(LoadErrors(errors)));
    }
    let confirmation = Confirmation {
        destructive: workflow.is_destructive(),
        protected: guarded_hosts(inventory, &inventory.protected),
        unlimited_exec: false,
    };
    Ok(Plan {
        inventory_name: inventory.name.clone(),
        inventory_path: inventory.source.path.display().to_string(),
        workflow: Arc::new(workflow),
        globals,
        hosts,
        refused,
        warnings,
        confirmation,
    })
}

/// Every undefined name in every template and expression, once per place.
/// Hosts with identical variable names share one check.
fn check_names(workflow: &Workflow, globals: &Vars, hosts: &[HostPlan]) -> Vec<LoadError> {
    let env = crate::expr::environment(crate::expr::Clock::System);
    let mut errors = Checker {
        functions: env.globals().map(|(k, _)| k.to_string()).collect(),
        env: &env,
        found: BTreeMap::new(),
    };
    let local_exports: BTreeSet<String> = workflow
        .local
        .iter()
        .flat_map(|s| s.exports.iter().map(|e| e.name.clone()))
        .collect();

    // Names whose values an author wrote: where `raw` is allowed in
    // `local` and `sudo` steps. An export of the same name replaces the
    // value at run time, so exported names never count.
    let exported: BTreeSet<String> = workflow
        .local
        .iter()
        .chain(&workflow.steps)
        .flat_map(|s| s.exports.iter().map(|e| e.name.clone()))
        .collect();
    let author = |names: BTreeSet<String>| -> BTreeSet<String> {
        names.difference(&exported).cloned().collect()
    };

    // The controller's `local` steps see globals and earlier local exports.
    let mut scope: BTreeSet<String> = globals.keys().cloned().collect();
    let authored = author(scope.clone());
    for step in &workflow.local {
        errors.raw_in(step, &authored);
        check_step(step, &mut scope, "the controller", &mut errors);
    }

    let mut seen_scopes = BTreeSet::new();
    // With every host refused there is still a workflow to check: use the
    // variables every host would have.
    let fallback;
    let hosts = if hosts.is_empty() {
        fallback = [HostPlan {
            host: Host {
                name: "(any host)".into(),
                span: workflow.steps.first().map_or_else(
                    || crate::model::Span::new(&workflow.source, 0, 0),
                    |s| s.span.clone(),
                ),
                address: String::new(),
                port: 22,
                user: String::new(),
                identity_files: Vec::new(),
                known_hosts: Vec::new(),
                connect_timeout: Duration::ZERO,
                groups: Vec::new(),
                vars: Vars::new(),
                jump_hosts: Vec::new(),
                explicit: Default::default(),
            },
            vars: globals.clone(),
        }];
        &fallback[..]
    } else {
        hosts
    };
    for h in hosts {
        let mut scope: BTreeSet<String> = h.vars.keys().cloned().collect();
        scope.extend(local_exports.iter().cloned());
        scope.insert("host".into());
        if !seen_scopes.insert(scope.clone()) {
            continue;
        }
        let who = format!("host `{}`", h.host.name);
        let mut authored = author(h.vars.keys().cloned().collect());
        authored.insert("host".into());
        for step in &workflow.steps {
            errors.raw_in(step, &authored);
            check_step(step, &mut scope, &who, &mut errors);
        }
    }

    // Fleet checks see `hosts`, globals and the controller's exports.
    let mut scope: BTreeSet<String> = globals.keys().cloned().collect();
    scope.extend(local_exports);
    scope.insert("hosts".into());
    for check in &workflow.fleet_checks {
        for rule in &check.rules {
            if let Check::Expr(e) = &rule.check {
                errors.names_in(e, true, &scope, "fleet checks");
            }
            if let Some(m) = &rule.message {
                errors.names_in(m, false, &scope, "fleet checks");
            }
        }
    }
    errors.found.into_values().collect()
}

/// Collects undefined-name errors, one per (place, name).
struct Checker<'e> {
    env: &'e Environment<'static>,
    /// Functions and globals of the expression environment (`now`, `range`…).
    functions: BTreeSet<String>,
    found: BTreeMap<(usize, String), LoadError>,
}

/// Checks one step's templates and expressions, then adds its exports to
/// `scope` for the steps after it.
fn check_step(step: &Step, scope: &mut BTreeSet<String>, who: &str, errors: &mut Checker<'_>) {
    for name in &step.requires {
        // A bare name is an expression reading exactly that variable.
        errors.names_in(name, true, scope, who);
    }
    if let Some(when) = &step.when {
        errors.names_in(when, true, scope, who);
    }
    errors.names_in(&step.run.text, false, scope, who);
    let mut inner = scope.clone();
    inner.extend(STEP_NAMES.iter().map(|s| s.to_string()));
    if step.parse.is_some() {
        inner.insert("data".into());
    }
    if let Some(until) = step.retry.as_ref().and_then(|r| r.until.as_ref()) {
        errors.names_in(until, true, &inner, who);
    }
    for rule in &step.rules {
        let mut rule_scope = inner.clone();
        match &rule.check {
            Check::Expr(e) => errors.names_in(e, true, &rule_scope, who),
            Check::Each {
                expr, filter, rows, ..
            } => {
                if let Some(r) = rows {
                    errors.names_in(r, true, &rule_scope, who);
                }
                rule_scope.insert("row".into());
                errors.names_in(expr, true, &rule_scope, who);
                if let Some(f) = filter {
                    errors.names_in(f, true, &rule_scope, who);
                }
            }
            Check::Count { expr, rows, .. } => {
                if let Some(r) = rows {
                    errors.names_in(r, true, &rule_scope, who);
                }
                rule_scope.insert("row".into());
                errors.names_in(expr, true, &rule_scope, who);
                rule_scope.insert("count".into());
                rule_scope.insert("rows".into());
                rule_scope.remove("row");
            }
            Check::Exit(_) | Check::Stream { .. } => {}
        }
        if let Some(m) = &rule.message {
            errors.names_in(m, false, &rule_scope, who);
        }
    }
    for export in &step.exports {
        errors.names_in(&export.expr, true, &inner, who);
        inner.insert(export.name.clone());
        scope.insert(export.name.clone());
    }
}

impl Checker<'_> {
    /// `raw` on remote values in `local` and `sudo` steps
    /// ([`crate::load::template::check_raw`]), once per place.
    fn raw_in(&mut self, step: &Step, author: &BTreeSet<String>) {
        let at = step.run.text.span.offset;
        for (i, e) in crate::load::template::check_raw(step, author)
            .into_iter()
            .enumerate()
        {
            self.found.entry((at, format!("| raw #{i}"))).or_insert(e);
        }
    }

    /// Reports names `text` reads that are not in `scope` (nor always there,
    /// nor a global of the environment).
    fn names_in(
        &mut self,
        text: &Spanned<String>,
        expression: bool,
        scope: &BTreeSet<String>,
        who: &str,
    ) {
        let env = self.env;
        let names = if expression {
            match crate::expr::compile_expression(env, &text.value) {
                Ok(e) => e.undeclared_variables(false),
                Err(_) => return, // syntax errors were reported by the loader
            }
        } else {
            match env.template_from_str(&text.value) {
                Ok(t) => t.undeclared_variables(false),
                Err(_) => return,
            }
        };
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        for name in names {
            if scope.contains(&name) || self.functions.contains(&name) {
                continue;
            }
            let key = (text.span.offset, name.clone());
            if self.found.contains_key(&key) {
                continue;
            }
            let at = text
                .value
                .find(name.as_str())
                .map_or_else(|| text.span.clone(), |i| narrow(text, &(i..i + name.len())));
            let mut known: Vec<&String> = scope.iter().collect();
            known.sort();
            let help = format!(
                "define it in the workflow's `vars`, the inventory, with --set {name}=VALUE, or export it from an earlier step; known here: {}",
                known
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.found.insert(
                key,
                LoadError::at(
                    &at,
                    format!("undefined variable `{name}` (for {who})"),
                    Some(help),
                )
                .with_label("not defined"),
            );
        }
    }
}

/// Hosts selected by `limits`, narrowed to the workflow's own `hosts`
/// pattern when it has one; warnings name the parts of either that
/// selected nothing.
pub fn select_hosts<'a>(
    inventory: &'a Inventory,
    workflow_hosts: Option<&Spanned<String>>,
    limits: &[String],
) -> Result<Selection<'a>, LimitError> {
    let mut selected = Limit::parse(limits)?.select(inventory)?;
    let mut warnings: Vec<String> = selected
        .warnings
        .iter()
        .map(|w| format!("--limit: {w}; running on the hosts the rest of it selects"))
        .collect();
    if let Some(pattern) = workflow_hosts {
        let allowed = Limit::parse(&[pattern.value.as_str()])?.select(inventory)?;
        warnings.extend(allowed.warnings.iter().map(|w| {
            format!(
                "workflow `hosts \"{}\"` ({}): {w}; running on the hosts the rest of it selects",
                pattern.value,
                pattern.span.location()
            )
        }));
        selected
            .hosts
            .retain(|h| allowed.hosts.iter().any(|a| a.name == h.name));
    }
    Ok(Selection {
        hosts: selected.hosts,
        warnings,
    })
}

/// A plan for `fleet exec` (one literal command: shell text like `${#a[@]}`
/// must reach the host untouched, so it is wrapped in a raw block) or
/// `fleet ping` (no command at all).
pub fn plan_adhoc(
    inventory: &Inventory,
    limits: &[String],
    command: Option<(&str, Duration)>,
) -> Result<Plan, LimitError> {
    let Selection {
        hosts: selected,
        warnings,
    } = select_hosts(inventory, None, limits)?;
    let text = command.map(|c| c.0).unwrap_or_default();
    let source = SourceFile::new("<command line>", text);
    let span = crate::model::Span::new(&source, 0, text.len());
    let steps: Vec<Step> = command
        .map(|(command, timeout)| Step {
            name: "exec".to_string(),
            span: span.clone(),
            run: crate::model::CommandTemplate::new(Spanned::new(
                format!("{{% raw %}}{command}{{% endraw %}}"),
                span.clone(),
            )),
            timeout: Some(timeout),
            parse: None,
            rules: Vec::new(),
            exports: Vec::new(),
            when: None,
            retry: None,
            on_failure: Default::default(),
            local: false,
            sudo: false,
            tty: false,
            requires: Vec::new(),
            destructive: false,
            env: Vec::new(),
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
        secret_vars: Default::default(),
        steps,
        local: Vec::new(),
        fleet_checks: Vec::new(),
        forbid_groups: Vec::new(),
        destructive: false,
        serial: Vec::new(),
        max_failures: None,
        per_shard_thresholds: false,
    };
    // `fleet ping` runs nothing: only a command is guarded.
    let confirmation = Confirmation {
        destructive: false,
        protected: if command.is_some() {
            guarded_hosts(inventory, &inventory.protected)
        } else {
            Default::default()
        },
        unlimited_exec: command.is_some() && limits.is_empty(),
    };
    Ok(Plan {
        confirmation,
        inventory_name: inventory.name.clone(),
        inventory_path: inventory.source.path.display().to_string(),
        workflow: Arc::new(workflow),
        globals: Vars::new(),
        hosts: selected
            .into_iter()
            .map(|host| HostPlan {
                host: host.clone(),
                vars: host.vars.clone(),
            })
            .collect(),
        refused: Vec::new(),
        warnings,
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
group dr { host d }
host c
"#;
        parse_inventory(SourceFile::new("inventory/t.kdl", text))
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn workflow(text: &str) -> Workflow {
        parse_workflow(SourceFile::new("workflows/w.kdl", text)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn var(p: &Plan, host: &str, name: &str) -> serde_json::Value {
        p.hosts
            .iter()
            .find(|h| h.host.name == host)
            .and_then(|h| h.vars.get(name).cloned())
            .unwrap_or_else(|| panic!("no {name} for {host}"))
    }

    fn errors(wf: &str, set: &[SetVar]) -> Vec<String> {
        match plan(workflow(wf), &inventory(), &[], set) {
            Err(PlanError::Templates(errors)) => errors
                .0
                .iter()
                .map(|e| format!("{} {}", e.location(), e.message()))
                .collect(),
            Err(e) => panic!("{e}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn variables_follow_precedence() {
        let wf = workflow(
            r#"workflow w { vars { level "workflow"; only_wf 1 }; step s { run "{{ level }}" } }"#,
        );
        let p = plan(wf.clone(), &inventory(), &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(var(&p, "a", "level"), "host");
        assert_eq!(var(&p, "b", "level"), "group");
        assert_eq!(var(&p, "c", "level"), "defaults");
        assert_eq!(var(&p, "c", "only_wf"), 1);
        let set: Vec<SetVar> = ["level=cli", "only_wf=2"]
            .iter()
            .map(|s| s.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let p = plan(wf, &inventory(), &["c".to_string()], &set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(var(&p, "c", "level"), "cli");
        assert_eq!(var(&p, "c", "only_wf"), 2);
        assert_eq!(p.globals.get("level"), Some(&serde_json::json!("cli")));
    }

    #[test]
    fn workflow_hosts_narrow_the_limit() {
        let wf = workflow(r#"workflow w { hosts "group:prod"; step s { run "true" } }"#);
        let p = plan(wf.clone(), &inventory(), &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.hosts.len(), 2);
        let p = plan(wf, &inventory(), &["b,c".to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = p.hosts.iter().map(|h| h.host.name.as_str()).collect();
        assert_eq!(names, ["b"]);
    }

    #[test]
    fn forbidden_groups_refuse_hosts_even_when_selected() {
        let wf = workflow(r#"workflow w { forbid-groups "prod"; step s { run "true" } }"#);
        let p = plan(wf, &inventory(), &["a,d".to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = p.hosts.iter().map(|h| h.host.name.as_str()).collect();
        assert_eq!(names, ["d"]);
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].host.name, "a");
        assert!(
            p.refused[0].reason.contains("group `prod`"),
            "{}",
            p.refused[0].reason
        );
        let wf = workflow(r#"workflow w { forbid-groups "production"; step s { run "true" } }"#);
        assert!(matches!(
            plan(wf, &inventory(), &[], &[]),
            Err(PlanError::Templates(_))
        ));
    }

    #[test]
    fn set_values_are_json_when_they_parse() {
        let v: SetVar = "n=80".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.value, serde_json::json!(80));
        let v: SetVar = "s=hello world".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.value, serde_json::json!("hello world"));
        let v: SetVar = "v=621.70".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.value, serde_json::json!("621.70"));
        let v: SetVar = "b=true".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.value, serde_json::json!(true));
        assert!("novalue".parse::<SetVar>().is_err());
        assert!("disk-max=1".parse::<SetVar>().is_err());
    }

    #[test]
    fn undefined_names_are_found_everywhere_in_one_pass() {
        let wf = "workflow w {\n  step s {\n    run \"echo {{ nope }}\"\n    parse table\n    expect-each \"row.Use | number < limit\" message=\"{{ row.x }} {{ typo }}\"\n    export used \"data | length\"\n  }\n  step t {\n    when \"used > 0 and unknown_flag\"\n    run \"echo {{ used }} {{ data }}\"\n  }\n  fleet-check f { expect \"hosts | length > minimum\" }\n}\n";
        assert_eq!(
            errors(wf, &[]),
            [
                "workflows/w.kdl:3:18 undefined variable `nope` (for host `a`)",
                "workflows/w.kdl:5:37 undefined variable `limit` (for host `a`)",
                "workflows/w.kdl:5:68 undefined variable `typo` (for host `a`)",
                "workflows/w.kdl:9:24 undefined variable `unknown_flag` (for host `a`)",
                "workflows/w.kdl:10:29 undefined variable `data` (for host `a`)",
                "workflows/w.kdl:12:44 undefined variable `minimum` (for fleet checks)",
            ]
        );
        let set: Vec<SetVar> = [
            "nope=1",
            "limit=80",
            "typo=x",
            "unknown_flag=true",
            "minimum=1",
        ]
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect();
        assert_eq!(
            errors(wf, &set),
            ["workflows/w.kdl:10:29 undefined variable `data` (for host `a`)"]
        );
    }

    #[test]
    fn requires_names_are_checked_like_every_other_name() {
        let wf = "workflow w {\n  vars { quickstart_cmd #null }\n  step s {\n    requires \"quickstart_cmd\" \"quickstart_comd\"\n    run \"{{ quickstart_cmd }}\"\n  }\n}\n";
        assert_eq!(
            errors(wf, &[]),
            ["workflows/w.kdl:4:32 undefined variable `quickstart_comd` (for host `a`)"]
        );
    }

    #[test]
    fn exports_of_local_steps_are_visible_to_hosts_and_fleet_checks() {
        let wf = r#"workflow w {
            local latest { run "echo 1.2"; export latest_version "stdout | trim" }
            step s { run "echo {{ latest_version }}"; export v "stdout" }
            fleet-check same { expect "hosts | map(attribute='v') | unique | list | length == 1 and latest_version" }
        }"#;
        assert_eq!(errors(wf, &[]), Vec::<String>::new());
    }
}
