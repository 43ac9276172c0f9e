//! The name check: every name every template and expression reads must
//! be a variable of the host, an export of an earlier step, or a value of
//! the step itself. Commands and messages are rendered only when their
//! step starts, so this is where a typo is caught, before any connection.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use minijinja::Environment;

use super::HostPlan;
use crate::load::LoadError;
use crate::model::expression::narrow;
use crate::model::{Check, Expression, Host, Spanned, Step, Vars, Workflow};

/// Names a step's own result adds to templates and rules.
const STEP_NAMES: &[&str] = &["exit_code", "stdout", "stderr"];

/// Every undefined name in every template and expression, once per place.
/// Hosts with identical variable names share one check.
pub(super) fn check_names(
    workflow: &Workflow,
    globals: &Vars,
    hosts: &[HostPlan],
) -> Vec<LoadError> {
    let env = crate::expr::shared();
    let mut errors = Checker {
        functions: env.globals().map(|(k, _)| k.to_string()).collect(),
        env,
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
                errors.expr(e, &scope, "fleet checks");
            }
            if let Some(m) = &rule.message {
                errors.template(m, &scope, "fleet checks");
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
        // A bare name (the loader checked it is one) reads exactly itself.
        errors.unknown(name, [name.value.clone()].into(), scope, who);
    }
    if let Some(when) = &step.when {
        errors.expr(when, scope, who);
    }
    errors.template(&step.run.text, scope, who);
    let mut inner = scope.clone();
    inner.extend(STEP_NAMES.iter().map(|s| s.to_string()));
    if step.parse.is_some() {
        inner.insert("data".into());
    }
    if let Some(until) = step.retry.as_ref().and_then(|r| r.until.as_ref()) {
        errors.expr(until, &inner, who);
    }
    for rule in &step.rules {
        let mut rule_scope = inner.clone();
        match &rule.check {
            Check::Expr(e) => errors.expr(e, &rule_scope, who),
            Check::Each {
                expr, filter, rows, ..
            } => {
                if let Some(r) = rows {
                    errors.expr(r, &rule_scope, who);
                }
                rule_scope.insert("row".into());
                errors.expr(expr, &rule_scope, who);
                if let Some(f) = filter {
                    errors.expr(f, &rule_scope, who);
                }
            }
            Check::Count { expr, rows, .. } => {
                if let Some(r) = rows {
                    errors.expr(r, &rule_scope, who);
                }
                rule_scope.insert("row".into());
                errors.expr(expr, &rule_scope, who);
                rule_scope.insert("count".into());
                rule_scope.insert("rows".into());
                rule_scope.remove("row");
            }
            Check::Exit(_) | Check::Stream { .. } => {}
        }
        if let Some(m) = &rule.message {
            errors.template(m, &rule_scope, who);
        }
    }
    for export in &step.exports {
        errors.expr(&export.expr, &inner, who);
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

    /// Names a compiled expression reads that are not in `scope`.
    fn expr(&mut self, expr: &Expression, scope: &BTreeSet<String>, who: &str) {
        // Without a compiled form the loader already reported its syntax.
        if let Some(compiled) = expr.compiled() {
            self.unknown(expr, compiled.undeclared_variables(false), scope, who);
        }
    }

    /// Names a template reads that are not in `scope`.
    fn template(&mut self, text: &Spanned<String>, scope: &BTreeSet<String>, who: &str) {
        // Syntax errors were reported by the loader.
        if let Ok(t) = self.env.template_from_str(&text.value) {
            self.unknown(text, t.undeclared_variables(false), scope, who);
        }
    }

    /// Reports `names` (read by `text`) that are not in `scope`, nor always
    /// there, nor a global of the environment.
    fn unknown(
        &mut self,
        text: &Spanned<String>,
        names: HashSet<String>,
        scope: &BTreeSet<String>,
        who: &str,
    ) {
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
