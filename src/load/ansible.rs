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

use std::collections::{BTreeMap, HashMap};
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

const RANGE_HELP: &str = "ranges are `[START:END]` or `[START:END:STRIDE]`, numbers (zero-padded \
     when START has a leading zero) or single letters; use ansible_host for IPv6 addresses";

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

/// Most host names the ranges of one inventory file may expand to, in
/// total. Ansible has no limit; without one, `[0:99999999999]` (a typo or
/// a hostile file) asks for a hundred billion names before anything runs.
pub(crate) const MAX_RANGE_HOSTS: usize = 10_000;

/// One `[start:end(:stride)]` of a host pattern, already validated.
enum Range {
    /// Zero-padded to `width` digits when `start` has a leading zero.
    Numbers {
        start: u64,
        end: u64,
        stride: u64,
        width: usize,
    },
    Letters {
        start: u8,
        end: u8,
        stride: u8,
    },
}

impl Range {
    fn len(&self) -> u128 {
        match *self {
            Range::Numbers {
                start, end, stride, ..
            } => u128::from((end - start) / stride) + 1,
            Range::Letters { start, end, stride } => u128::from((end - start) / stride) + 1,
        }
    }

    fn values(&self) -> Vec<String> {
        match *self {
            Range::Numbers {
                start,
                end,
                stride,
                width,
            } => (start..=end)
                .step_by(usize::try_from(stride).unwrap_or(usize::MAX))
                .map(|n| format!("{n:0width$}"))
                .collect(),
            Range::Letters { start, end, stride } => (start..=end)
                .step_by(usize::from(stride))
                .map(|c| char::from(c).to_string())
                .collect(),
        }
    }
}

/// `web[01:03].example` → `web01.example`, `web02.example`, `web03.example`;
/// also letters (`db-[a:c]`), strides (`[1:9:2]`) and several ranges in
/// one name, as Ansible expands them. `budget` is what is left of
/// [`MAX_RANGE_HOSTS`] for this file. Brackets that are not a valid range
/// are an error rather than part of a host name.
fn expand_range(name: &str, budget: &mut usize) -> Result<Vec<String>, String> {
    let mut literals: Vec<&str> = Vec::new();
    let mut ranges: Vec<Range> = Vec::new();
    let mut rest = name;
    loop {
        let open = rest.find('[');
        let close = rest.find(']');
        match (open, close) {
            (None, None) => {
                literals.push(rest);
                break;
            }
            (Some(o), Some(c)) if o < c => {
                let inner = &rest[o + 1..c];
                if inner.contains('[') {
                    return Err(format!("nested `[` in host pattern `{name}`"));
                }
                literals.push(&rest[..o]);
                ranges.push(parse_range(inner).map_err(|e| format!("host pattern `{name}`: {e}"))?);
                rest = &rest[c + 1..];
            }
            _ => {
                return Err(format!(
                    "unbalanced `[` `]` in host pattern `{name}`; a range is written \
                     `name[01:20]`"
                ));
            }
        }
    }
    let total = ranges
        .iter()
        .try_fold(1u128, |n, r| n.checked_mul(r.len()))
        .unwrap_or(u128::MAX);
    if total > *budget as u128 {
        return Err(format!(
            "host pattern `{name}` expands to {total} names; an inventory's ranges may \
             expand to at most {MAX_RANGE_HOSTS} in total"
        ));
    }
    // `total` fits the budget, so this allocates at most that many names.
    *budget -= usize::try_from(total).unwrap_or(*budget);
    let mut names = vec![literals[0].to_string()];
    for (range, literal) in ranges.iter().zip(&literals[1..]) {
        let values = range.values();
        names = names
            .iter()
            .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}{literal}")))
            .collect();
    }
    Ok(names)
}

/// `01:20`, `1:9:2`, `a:f`: what Ansible accepts between the brackets.
fn parse_range(inner: &str) -> Result<Range, String> {
    let parts: Vec<&str> = inner.split(':').collect();
    let (a, b, stride) = match parts.as_slice() {
        [a, b] => (*a, *b, None),
        [a, b, s] => (*a, *b, Some(*s)),
        _ => {
            return Err(format!(
                "`[{inner}]` is not a range like `[01:20]` or `[a:f]`"
            ));
        }
    };
    let stride = match stride {
        None => 1,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("range stride `{s}` is not a positive number")),
        },
    };
    let letter = |t: &str| match t.as_bytes() {
        [c] if c.is_ascii_alphabetic() => Some(*c),
        _ => None,
    };
    if let (Some(start), Some(end)) = (letter(a), letter(b)) {
        if start > end || start.is_ascii_lowercase() != end.is_ascii_lowercase() {
            return Err(format!("range `[{inner}]` must go up, within one case"));
        }
        return Ok(Range::Letters {
            start,
            end,
            stride: u8::try_from(stride).unwrap_or(u8::MAX),
        });
    }
    let number = |t: &str| {
        t.parse::<u64>()
            .ok()
            .filter(|_| t.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| format!("range bound `{t}` is neither a number nor a letter"))
    };
    let (start, end) = (number(a)?, number(b)?);
    if start > end {
        return Err(format!("range `[{inner}]` must go up: {start} > {end}"));
    }
    let width = if a.len() > 1 && a.starts_with('0') {
        if a.len() != b.len() {
            return Err(format!(
                "zero-padded range `[{inner}]` needs bounds of equal width"
            ));
        }
        a.len()
    } else {
        0
    };
    Ok(Range::Numbers {
        start,
        end,
        stride,
        width,
    })
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
                match expand_range(name, &mut b.range_budget) {
                    Ok(hosts) => {
                        for host in hosts {
                            b.host(&host, &section.0.clone(), span.clone(), vars.clone());
                        }
                    }
                    Err(e) => d.error(&span, e, "bad host range", Some(RANGE_HELP.into())),
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
            match expand_range(name, &mut b.range_budget) {
                Ok(hosts) => {
                    for host in hosts {
                        b.host(&host, group, hspan.clone(), vars.clone());
                    }
                }
                Err(e) => d.error(&hspan, e, "bad host range", Some(RANGE_HELP.into())),
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

#[cfg(test)]
#[path = "ansible_tests.rs"]
mod tests;
