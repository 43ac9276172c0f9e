//! Ansible inventories (INI and YAML) → the same `Tree` a KDL inventory
//! decodes to, then the same `resolve`, so an imported inventory behaves
//! exactly like a written one: groups, `children`, group and host vars,
//! `all:vars` as defaults. Connection variables become settings:
//! `ansible_host` (address), `ansible_port`, `ansible_user`,
//! `ansible_ssh_private_key_file` (and the older `ansible_ssh_host`,
//! `ansible_ssh_port`, `ansible_ssh_user`); other variables stay vars.
//!
//! Groups may have several parents (`[databases:children] prod_db` and
//! `[prod:children] prod_db`): a host is in every ancestor of its groups,
//! as in Ansible. A group cycle is a load error. Host ranges
//! (`web[01:20]`, `db-[a:c]`, `[1:9:2]`) are validated and capped at
//! [`MAX_RANGE_HOSTS`] names per file.
//!
//! Not supported: dynamic inventory scripts or plugins.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::decode::Decoder;
use super::diagnostic::LoadErrors;
use super::resolve::resolve;
use super::tree::{GroupDecl, HostDecl, Level, PathContext, Tree};
use crate::model::{Inventory, SourceFile, Span, Spanned, Vars};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ini,
    Yaml,
}

/// `Some` when the file is an Ansible inventory: by extension, else by
/// content for extension-less files like Ansible's customary `hosts`.
pub(crate) fn detect(source: &SourceFile) -> Option<Kind> {
    match source.path.extension().and_then(|e| e.to_str()) {
        Some("ini") => return Some(Kind::Ini),
        Some("yml" | "yaml") => return Some(Kind::Yaml),
        Some("kdl") => return None,
        _ => {}
    }
    let mut lines = source
        .text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    let first = lines.clone().next()?;
    // A `[section]` line never starts a KDL node; ungrouped hosts may
    // precede the first one.
    if lines.any(|l| l.starts_with('[') && l.ends_with(']')) {
        Some(Kind::Ini)
    } else if first == "---" || (first.ends_with(':') && !first.contains(' ')) {
        Some(Kind::Yaml)
    } else {
        None
    }
}

pub(crate) fn parse(source: Arc<SourceFile>, kind: Kind) -> Result<Inventory, LoadErrors> {
    let mut d = Decoder::new(Arc::clone(&source));
    let mut b = Builder::new(&source);
    match kind {
        Kind::Ini => ini(&mut d, &mut b, &source),
        Kind::Yaml => yaml(&mut d, &mut b, &source),
    }
    let name = source
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tree = b.finish(&mut d);
    let inventory = resolve(&mut d, name, tree);
    d.finish(inventory)
}

/// A parent group's name and the line that made the link.
type Link = (String, Span);

/// Collects groups and hosts in Ansible's terms, then lays them out as a
/// fleet `Tree`.
struct Builder {
    source: Arc<SourceFile>,
    paths: PathContext,
    defaults: Vars,
    /// name → (span, parents with the line naming each, vars), in
    /// first-seen order.
    groups: Vec<(String, Span, Vec<Link>, Vars)>,
    /// name → (span, vars, groups), in first-seen order.
    hosts: Vec<(String, Span, Vars, Vec<String>)>,
    /// Position of each name in `hosts`: a range may add thousands of
    /// hosts, and a linear search per host made loading quadratic.
    host_slots: HashMap<String, usize>,
    /// Names host ranges may still expand to (see [`MAX_RANGE_HOSTS`]).
    range_budget: usize,
}

impl Builder {
    fn new(source: &Arc<SourceFile>) -> Self {
        Builder {
            source: Arc::clone(source),
            paths: PathContext::new(&source.path),
            defaults: Vars::new(),
            groups: Vec::new(),
            hosts: Vec::new(),
            host_slots: HashMap::new(),
            range_budget: MAX_RANGE_HOSTS,
        }
    }

    fn span(&self, offset: usize, len: usize) -> Span {
        Span::new(&self.source, offset, len)
    }

    /// `all` is the defaults and `ungrouped` no group at all.
    fn group(&mut self, name: &str, span: Span) -> Option<usize> {
        if name == "all" || name == "ungrouped" {
            return None;
        }
        if let Some(i) = self.groups.iter().position(|g| g.0 == name) {
            return Some(i);
        }
        self.groups
            .push((name.to_string(), span, Vec::new(), Vars::new()));
        Some(self.groups.len() - 1)
    }

    fn group_vars(&mut self, group: &str, span: Span, vars: Vars) {
        match self.group(group, span) {
            Some(i) => self.groups[i].3.extend(vars),
            None => self.defaults.extend(vars),
        }
    }

    /// `[parent:children] child`: one more parent for `child`; every one
    /// counts (a cycle is reported when the tree is resolved).
    fn child(&mut self, parent: &str, child: &str, span: Span) {
        let p = self.group(parent, span.clone());
        if let (Some(p), Some(c)) = (p, self.group(child, span.clone())) {
            let parent_name = self.groups[p].0.clone();
            if !self.groups[c].2.iter().any(|(n, _)| *n == parent_name) {
                self.groups[c].2.push((parent_name, span));
            }
        }
    }

    fn host(&mut self, name: &str, group: &str, span: Span, vars: Vars) {
        let group = self
            .group(group, span.clone())
            .map(|g| self.groups[g].0.clone());
        let slot = match self.host_slots.get(name) {
            Some(&i) => i,
            None => {
                self.hosts
                    .push((name.to_string(), span, Vars::new(), Vec::new()));
                self.host_slots
                    .insert(name.to_string(), self.hosts.len() - 1);
                self.hosts.len() - 1
            }
        };
        let h = &mut self.hosts[slot];
        h.2.extend(vars);
        if let Some(g) = group
            && !h.3.contains(&g)
        {
            h.3.push(g);
        }
    }

    /// Splits connection variables off into settings.
    fn level(&self, d: &mut Decoder, span: &Span, mut vars: Vars) -> (Level, Option<String>) {
        let mut level = Level::default();
        let mut address = None;
        let take = |vars: &mut Vars, keys: &[&str]| keys.iter().find_map(|k| vars.remove(*k));
        if let Some(v) = take(&mut vars, &["ansible_host", "ansible_ssh_host"]) {
            address = Some(text(&v));
        }
        if let Some(v) = take(&mut vars, &["ansible_user", "ansible_ssh_user"]) {
            level.settings.user = Some(text(&v));
        }
        if let Some(v) = take(&mut vars, &["ansible_port", "ansible_ssh_port"]) {
            match text(&v).parse::<u16>() {
                Ok(p) if p > 0 => level.settings.port = Some(p),
                _ => d.error(
                    span,
                    format!("ansible_port `{}` is not a TCP port", text(&v)),
                    "bad port",
                    Some("ports are between 1 and 65535".into()),
                ),
            }
        }
        if let Some(v) = take(&mut vars, &["ansible_ssh_private_key_file"]) {
            level
                .settings
                .identity_files
                .push(self.paths.resolve(&text(&v)));
        }
        // Other ansible_* settings (become, python interpreter, …) mean
        // nothing to fleet; they stay visible as variables.
        level.vars = vars;
        (level, address)
    }

    fn finish(self, d: &mut Decoder) -> Tree {
        let mut tree = Tree::default();
        let (defaults, _) = self.level(d, &self.span(0, 0), self.defaults.clone());
        tree.defaults = defaults;
        if self.defaults.get(PROTECT_VAR).is_some_and(is_true) {
            let span = self.span(0, 0);
            d.error(
                &span,
                format!("`{PROTECT_VAR}` in `all:vars` would protect every host"),
                "protects everything",
                Some(format!(
                    "set `{PROTECT_VAR}=true` in the vars of the groups to protect"
                )),
            );
        }
        for (name, span, parents, vars) in &self.groups {
            if vars.get(PROTECT_VAR).is_some_and(is_true) {
                tree.protected
                    .push(Spanned::new(name.clone(), span.clone()));
            }
            let (level, _) = self.level(d, span, vars.clone());
            let parents = parents
                .iter()
                .filter_map(|(p, at)| {
                    let i = self.groups.iter().position(|g| &g.0 == p)?;
                    Some((i, at.clone()))
                })
                .collect();
            tree.groups.push(GroupDecl {
                name: name.clone(),
                span: span.clone(),
                parents,
                defined: true,
                level,
            });
        }
        let index = |tree: &Tree, g: &str| tree.groups.iter().position(|x| x.name == g);
        for (name, span, vars, groups) in &self.hosts {
            let (level, address) = self.level(d, span, vars.clone());
            let first = groups.first().and_then(|g| index(&tree, g));
            tree.hosts.push(HostDecl {
                name: name.clone(),
                span: span.clone(),
                explicit: true,
                address,
                level,
                group: first,
            });
            for g in groups.iter().skip(1) {
                tree.hosts.push(HostDecl {
                    name: name.clone(),
                    span: span.clone(),
                    explicit: false,
                    address: None,
                    level: Level::default(),
                    group: index(&tree, g),
                });
            }
        }
        tree
    }
}

/// The group variable that marks a group protected, Ansible's stand-in for
/// a KDL inventory's `protect "GROUP"`.
pub(crate) const PROTECT_VAR: &str = "fleet_protect";

fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || matches!(v, Value::String(s) if s == "true" || s == "yes")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An INI value as Ansible reads it: numbers and booleans typed, quotes
/// removed, anything else a string.
fn ini_value(raw: &str) -> Value {
    let raw = raw.trim();
    for q in ['"', '\''] {
        if let Some(inner) = raw.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return Value::String(inner.to_string());
        }
    }
    match raw {
        "true" | "True" | "yes" => return Value::Bool(true),
        "false" | "False" | "no" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = raw.parse::<i64>() {
        return i.into();
    }
    Value::String(raw.to_string())
}

mod range;
mod syntax;

pub(crate) use range::MAX_RANGE_HOSTS;
use syntax::{ini, yaml};

#[cfg(test)]
#[path = "ansible_tests.rs"]
mod tests;
