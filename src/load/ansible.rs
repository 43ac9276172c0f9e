//! Ansible inventories (INI and YAML) → the same `Tree` a KDL inventory
//! decodes to, then the same `resolve`, so an imported inventory behaves
//! exactly like a written one: groups, `children`, group and host vars,
//! `all:vars` as defaults. Connection variables become settings:
//! `ansible_host` (address), `ansible_port`, `ansible_user`,
//! `ansible_ssh_private_key_file` (and the older `ansible_ssh_host`,
//! `ansible_ssh_port`, `ansible_ssh_user`); other variables stay vars.
//!
//! Not supported: a group with several parents keeps its first one (fleet
//! groups form a tree), host ranges other than numeric `[01:20]`, and
//! dynamic inventory scripts or plugins.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::decode::Decoder;
use super::diagnostic::LoadErrors;
use super::inventory::{GroupDecl, HostDecl, Level, PathContext, Tree};
use super::resolve::resolve;
use crate::model::{Inventory, SourceFile, Span, Vars};

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

/// Collects groups and hosts in Ansible's terms, then lays them out as a
/// fleet `Tree`.
struct Builder {
    source: Arc<SourceFile>,
    paths: PathContext,
    defaults: Vars,
    /// name → (span, parent, vars), in first-seen order.
    groups: Vec<(String, Span, Option<String>, Vars)>,
    /// name → (span, vars, groups), in first-seen order.
    hosts: Vec<(String, Span, Vars, Vec<String>)>,
}

impl Builder {
    fn new(source: &Arc<SourceFile>) -> Self {
        Builder {
            source: Arc::clone(source),
            paths: PathContext::new(&source.path),
            defaults: Vars::new(),
            groups: Vec::new(),
            hosts: Vec::new(),
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
            .push((name.to_string(), span, None, Vars::new()));
        Some(self.groups.len() - 1)
    }

    fn group_vars(&mut self, group: &str, span: Span, vars: Vars) {
        match self.group(group, span) {
            Some(i) => self.groups[i].3.extend(vars),
            None => self.defaults.extend(vars),
        }
    }

    fn child(&mut self, parent: &str, child: &str, span: Span) {
        let p = self.group(parent, span.clone());
        if let Some(c) = self.group(child, span) {
            let parent_name = p.map(|p| self.groups[p].0.clone());
            if self.groups[c].2.is_none() && parent_name.as_deref() != Some(child) {
                self.groups[c].2 = parent_name;
            }
        }
    }

    fn host(&mut self, name: &str, group: &str, span: Span, vars: Vars) {
        let group = self
            .group(group, span.clone())
            .map(|g| self.groups[g].0.clone());
        let slot = match self.hosts.iter().position(|h| h.0 == name) {
            Some(i) => i,
            None => {
                self.hosts
                    .push((name.to_string(), span, Vars::new(), Vec::new()));
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
        // Parents before children, as the tree requires.
        let mut order: Vec<usize> = Vec::new();
        let mut pending: Vec<usize> = (0..self.groups.len()).collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|&i| {
                let ready = match &self.groups[i].2 {
                    None => true,
                    Some(p) => order.iter().any(|&o| &self.groups[o].0 == p),
                };
                if ready {
                    order.push(i);
                }
                !ready
            });
            if pending.len() == before {
                // A cycle of children: break it by dropping the parent.
                order.push(pending.remove(0));
            }
        }
        for &i in &order {
            let (name, span, parent, vars) = &self.groups[i];
            let (level, _) = self.level(d, span, vars.clone());
            let parent = parent
                .as_ref()
                .and_then(|p| tree.groups.iter().position(|g| &g.name == p))
                .filter(|_| self.groups[i].2.is_some());
            tree.groups.push(GroupDecl {
                name: name.clone(),
                span: span.clone(),
                parent,
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

/// `web[01:03].example` → `web01.example`, `web02.example`, `web03.example`.
fn expand_range(name: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (name.find('['), name.find(']')) else {
        return vec![name.to_string()];
    };
    let Some((a, b)) = name[open + 1..close].split_once(':') else {
        return vec![name.to_string()];
    };
    let (Ok(from), Ok(to)) = (a.parse::<u64>(), b.parse::<u64>()) else {
        return vec![name.to_string()];
    };
    let width = if a.starts_with('0') { a.len() } else { 0 };
    (from..=to)
        .map(|n| format!("{}{n:0width$}{}", &name[..open], &name[close + 1..]))
        .collect()
}

fn ini(d: &mut Decoder, b: &mut Builder, source: &SourceFile) {
    let mut section = ("ungrouped".to_string(), "hosts");
    let mut offset = 0;
    for raw in source.text.split_inclusive('\n') {
        let line_offset = offset;
        offset += raw.len();
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let span = b.span(
            line_offset + (raw.len() - raw.trim_start().len()),
            line.len(),
        );
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = match header.split_once(':') {
                Some((g, "vars")) => (g.to_string(), "vars"),
                Some((g, "children")) => (g.to_string(), "children"),
                Some((_, other)) => {
                    d.error(
                        &span,
                        format!("unknown section kind `:{other}`"),
                        "unknown section",
                        Some(
                            "Ansible sections are [group], [group:vars] and [group:children]"
                                .into(),
                        ),
                    );
                    (header.to_string(), "skip")
                }
                None => (header.to_string(), "hosts"),
            };
            b.group(&section.0, span);
            continue;
        }
        match section.1 {
            "vars" => match line.split_once('=') {
                Some((k, v)) => {
                    let vars = Vars::from([(k.trim().to_string(), ini_value(v))]);
                    b.group_vars(&section.0.clone(), span, vars);
                }
                None => d.error(&span, "expected `name=value`", "not a variable", None),
            },
            "children" => b.child(&section.0.clone(), line, span),
            "hosts" => {
                let mut parts = line.split_whitespace();
                let Some(name) = parts.next() else { continue };
                let mut vars = Vars::new();
                for part in parts {
                    match part.split_once('=') {
                        Some((k, v)) => {
                            vars.insert(k.to_string(), ini_value(v));
                        }
                        None => d.error(
                            &span,
                            format!("expected `name=value` after host `{name}`, got `{part}`"),
                            "not a variable",
                            None,
                        ),
                    }
                }
                for host in expand_range(name) {
                    b.host(&host, &section.0.clone(), span.clone(), vars.clone());
                }
            }
            _ => {}
        }
    }
}

fn yaml(d: &mut Decoder, b: &mut Builder, source: &SourceFile) {
    let doc: serde_norway::Value = match serde_norway::from_str(&source.text) {
        Ok(v) => v,
        Err(e) => {
            let offset = e.location().map_or(0, |l| l.index());
            let span = b.span(offset, 1);
            d.error(&span, format!("invalid YAML: {e}"), "here", None);
            return;
        }
    };
    let Some(top) = doc.as_mapping() else {
        if !doc.is_null() {
            let span = b.span(0, 0);
            d.error(
                &span,
                "an Ansible YAML inventory is a mapping of groups",
                "not a mapping",
                None,
            );
        }
        return;
    };
    for (name, body) in top {
        if let Some(name) = name.as_str() {
            yaml_group(d, b, source, name, body);
        }
    }
}

fn yaml_span(b: &Builder, source: &SourceFile, name: &str) -> Span {
    let offset = source.text.find(&format!("{name}:")).unwrap_or(0);
    b.span(offset, name.len())
}

fn yaml_vars(d: &mut Decoder, span: &Span, v: Option<&serde_norway::Value>) -> Vars {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Vars::new();
    };
    match serde_json::to_value(v) {
        Ok(Value::Object(map)) => map.into_iter().collect::<BTreeMap<_, _>>(),
        _ => {
            d.error(
                span,
                "vars must be a mapping of name: value",
                "not a mapping",
                None,
            );
            Vars::new()
        }
    }
}

fn yaml_group(
    d: &mut Decoder,
    b: &mut Builder,
    source: &SourceFile,
    group: &str,
    body: &serde_norway::Value,
) {
    let span = yaml_span(b, source, group);
    b.group(group, span.clone());
    let vars = yaml_vars(d, &span, body.get("vars"));
    b.group_vars(group, span.clone(), vars);
    if let Some(hosts) = body.get("hosts").and_then(|h| h.as_mapping()) {
        for (name, hvars) in hosts {
            let Some(name) = name.as_str() else { continue };
            let hspan = yaml_span(b, source, name);
            let vars = yaml_vars(d, &hspan, Some(hvars));
            for host in expand_range(name) {
                b.host(&host, group, hspan.clone(), vars.clone());
            }
        }
    }
    if let Some(children) = body.get("children").and_then(|c| c.as_mapping()) {
        for (child, cbody) in children {
            let Some(child) = child.as_str() else {
                continue;
            };
            b.child(group, child, yaml_span(b, source, child));
            yaml_group(d, b, source, child, cbody);
        }
    }
}
