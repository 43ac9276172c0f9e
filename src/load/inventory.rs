//! Inventory files: `defaults`, nested `group`s and `host`s → a `Tree` of
//! what is written where. `resolve` then flattens the tree into
//! `model::Inventory`, one fully resolved `Host` each.

use std::path::Path;
use std::sync::Arc;

use kdl::{KdlEntry, KdlNode};

use super::decode::{Decoder, Seen, name_arg, non_empty_string};
use super::diagnostic::LoadErrors;
use super::duration::duration;
use super::resolve::resolve;
use super::syntax;
use super::tree::{GroupDecl, HostDecl, Level, PathContext, Tree};
use super::vars::decode_vars;
use crate::model::{HostKeyChecking, HostSettings, Inventory, SourceFile, Span};

const TOP_NODES: &[&str] = &["defaults", "group", "host", "protect", "waivers"];
const DEFAULTS_NODES: &[&str] = &[
    "user",
    "port",
    "identity-file",
    "known-hosts",
    "connect-timeout",
    "host-key-checking",
    "jump",
    "keepalive",
    "vars",
];
const GROUP_NODES: &[&str] = &[
    "user",
    "port",
    "identity-file",
    "known-hosts",
    "connect-timeout",
    "host-key-checking",
    "jump",
    "keepalive",
    "vars",
    "host",
    "group",
];
const HOST_PROPS: &[&str] = &[
    "address",
    "port",
    "user",
    "identity-file",
    "known-hosts",
    "connect-timeout",
    "host-key-checking",
    "jump",
    "keepalive",
];
const HOST_NODES: &[&str] = &["vars"];
/// Settings that accumulate rather than being set once.
const REPEATABLE: &[&str] = &["identity-file", "known-hosts", "host", "group"];

/// Reads and decodes an inventory file: KDL, or an Ansible inventory (INI
/// or YAML) recognised by its extension or content.
pub fn load_inventory(path: &Path) -> Result<Inventory, LoadErrors> {
    parse_any_inventory(syntax::read(path)?)
}

/// [`load_inventory`] for text already in memory: a KDL or an Ansible
/// inventory, told apart by `source.path`'s extension or the content.
/// For tests and fuzzing.
pub fn parse_any_inventory(source: Arc<SourceFile>) -> Result<Inventory, LoadErrors> {
    match super::ansible::detect(&source) {
        Some(kind) => super::ansible::parse(source, kind),
        None => parse_inventory(source),
    }
}

/// Decodes an inventory from text already in memory. Relative key and
/// known_hosts paths resolve against `source.path`'s directory.
pub fn parse_inventory(source: Arc<SourceFile>) -> Result<Inventory, LoadErrors> {
    let document = syntax::parse_document(&source).map_err(LoadErrors)?;
    let mut d = Decoder::new(Arc::clone(&source));
    let mut tree = Tree::default();
    let context = PathContext::new(&source.path);
    let mut defaults_span: Option<Span> = None;
    for node in document.nodes() {
        match node.name().value() {
            "defaults" => {
                let span = d.node_span(node);
                if let Some(first) = &defaults_span {
                    let first = first.clone();
                    d.duplicate("block", "defaults", &first, &span);
                }
                defaults_span.get_or_insert(span);
                tree.defaults = decode_defaults(&mut d, &context, node);
            }
            "group" => decode_group(&mut d, &context, &mut tree, node, None),
            "host" => decode_host(&mut d, &context, &mut tree, node, None),
            "protect" => decode_protect(&mut d, &mut tree, node),
            "waivers" => tree
                .waivers
                .extend(super::waivers::decode_block(&mut d, node)),
            _ => d.unknown_node(node, TOP_NODES, "at the top level"),
        }
    }
    let name = source
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let inventory = resolve(&mut d, name, tree);
    d.finish(inventory)
}

/// `protect "prod" "dr"`: repeatable; every name must be a group (checked
/// when the tree is resolved).
fn decode_protect(d: &mut Decoder, tree: &mut Tree, node: &KdlNode) {
    d.props(node, &[]);
    d.no_children(node);
    let before = tree.protected.len();
    tree.protected.extend(
        Decoder::args(node)
            .filter_map(|e| d.string(e))
            .collect::<Vec<_>>(),
    );
    if tree.protected.len() == before {
        let span = d.node_span(node);
        d.error(
            &span,
            "`protect` names no group",
            "empty",
            Some("write the groups to protect: `protect \"prod\"`".into()),
        );
    }
}

fn decode_defaults(d: &mut Decoder, paths: &PathContext, node: &KdlNode) -> Level {
    d.no_args(node);
    d.props(node, &[]);
    let mut level = Level::default();
    let mut seen = Seen::default();
    for child in Decoder::children(node) {
        if !decode_setting(d, paths, &mut level, &mut seen, child) {
            d.unknown_node(child, DEFAULTS_NODES, "in `defaults`");
        }
    }
    level
}

fn decode_group(
    d: &mut Decoder,
    paths: &PathContext,
    tree: &mut Tree,
    node: &KdlNode,
    parent: Option<usize>,
) {
    d.props(node, &[]);
    let Some(name) = name_arg(d, node, "the group name") else {
        return;
    };
    let span = d.node_span(node);
    let defines = node.children().is_some();
    let index = match tree.groups.iter().position(|g| g.name == name.value) {
        Some(existing) => {
            let first = &mut tree.groups[existing];
            if defines && first.defined {
                let first = first.span.clone();
                d.duplicate("group", &name.value, &first, &span);
                return;
            }
            if defines {
                // An earlier bare mention was a reference to this one.
                first.span = span.clone();
                first.defined = true;
            }
            existing
        }
        None => {
            tree.groups.push(GroupDecl {
                name: name.value,
                span: span.clone(),
                parents: Vec::new(),
                defined: defines,
                level: Level::default(),
            });
            tree.groups.len() - 1
        }
    };
    if let Some(parent) = parent
        && !tree.groups[index].parents.iter().any(|(p, _)| *p == parent)
    {
        tree.groups[index].parents.push((parent, span));
    }
    if !defines {
        return;
    }

    let mut level = Level::default();
    let mut seen = Seen::default();
    for child in Decoder::children(node) {
        match child.name().value() {
            "host" => decode_host(d, paths, tree, child, Some(index)),
            "group" => decode_group(d, paths, tree, child, Some(index)),
            _ => {
                if !decode_setting(d, paths, &mut level, &mut seen, child) {
                    d.unknown_node(child, GROUP_NODES, "in `group`");
                }
            }
        }
    }
    tree.groups[index].level = level;
}

fn decode_host(
    d: &mut Decoder,
    paths: &PathContext,
    tree: &mut Tree,
    node: &KdlNode,
    group: Option<usize>,
) {
    let props = d.props(node, HOST_PROPS);
    let name = name_arg(d, node, "the host name");
    let mut level = Level::default();
    let mut address = None;
    for (key, entry) in props.iter() {
        match key {
            "address" => address = non_empty_string(d, entry, "the address").map(|a| a.value),
            _ => setting_value(d, paths, &mut level.settings, key, entry),
        }
    }
    let mut seen = Seen::default();
    for child in Decoder::children(node) {
        let key = child.name().value();
        if key == "vars" {
            d.once(&mut seen, child);
            level.vars = decode_vars(d, child);
        } else if HOST_PROPS.contains(&key) {
            // `group` and `defaults` take settings as nodes; a host takes
            // them as properties, so point at that form.
            let span = d.name_span(child);
            d.error(
                &span,
                format!("`{key}` is a property of `host`, not a node"),
                "write as a property",
                Some(format!("write it on the host line: `host NAME {key}=…`")),
            );
        } else {
            d.unknown_node(child, HOST_NODES, "in `host`");
        }
    }
    if let Some(name) = name {
        tree.hosts.push(HostDecl {
            name: name.value,
            span: d.node_span(node),
            explicit: !props.is_empty() || node.children().is_some(),
            address,
            level,
            group,
        });
    }
}

/// Decodes one settings node (`user "ops"`) into `level`; returns `false`
/// when `node` is not a settings node, for the caller to report.
fn decode_setting(
    d: &mut Decoder,
    paths: &PathContext,
    level: &mut Level,
    seen: &mut Seen,
    node: &KdlNode,
) -> bool {
    let key = node.name().value();
    if !DEFAULTS_NODES.contains(&key) {
        return false;
    }
    if !REPEATABLE.contains(&key) {
        d.once(seen, node);
    }
    if key == "vars" {
        level.vars = decode_vars(d, node);
    } else if let Some(entry) = d.single_arg(node, setting_what(key)) {
        setting_value(d, paths, &mut level.settings, key, entry);
    }
    true
}

fn setting_what(key: &str) -> &'static str {
    match key {
        "port" => "a port number",
        "user" => "a user name",
        "connect-timeout" | "keepalive" => "a duration",
        "host-key-checking" => "\"strict\", \"accept-new\" or \"off\"",
        "jump" => "a jump host",
        _ => "a path",
    }
}

/// Applies one setting, written as a node argument or a host property.
fn setting_value(
    d: &mut Decoder,
    paths: &PathContext,
    settings: &mut HostSettings,
    key: &str,
    entry: &KdlEntry,
) {
    match key {
        "port" => {
            if let Some(port) = port(d, entry) {
                settings.port = Some(port);
            }
        }
        "user" => {
            if let Some(user) = non_empty_string(d, entry, "the user name") {
                settings.user = Some(user.value);
            }
        }
        "connect-timeout" => {
            if let Some(timeout) = duration(d, entry) {
                settings.connect_timeout = Some(timeout);
            }
        }
        "keepalive" => {
            if let Some(interval) = duration(d, entry) {
                settings.keepalive = Some(interval);
            }
        }
        "jump" => {
            if let Some(jump) = non_empty_string(d, entry, "the jump host") {
                settings.jump = Some(jump.value);
            }
        }
        "host-key-checking" => {
            if let Some(policy) = d.string(entry) {
                let parsed = match policy.value.as_str() {
                    "strict" => Some(HostKeyChecking::Strict),
                    "accept-new" => Some(HostKeyChecking::AcceptNew),
                    "off" => Some(HostKeyChecking::Off),
                    _ => None,
                };
                match parsed {
                    Some(p) => settings.host_key_checking = Some(p),
                    None => d.error(
                        &policy.span,
                        format!("unknown host-key-checking policy `{}`", policy.value),
                        "not a policy",
                        Some("use \"strict\" (default), \"accept-new\" or \"off\"".to_owned()),
                    ),
                }
            }
        }
        "identity-file" => {
            if let Some(path) = non_empty_string(d, entry, "the identity-file path") {
                settings.identity_files.push(paths.resolve(&path.value));
            }
        }
        "known-hosts" => {
            if let Some(path) = non_empty_string(d, entry, "the known-hosts path") {
                settings.known_hosts.push(paths.resolve(&path.value));
            }
        }
        // Callers pass only keys from HOST_PROPS / DEFAULTS_NODES.
        _ => {}
    }
}

fn port(d: &mut Decoder, entry: &KdlEntry) -> Option<u16> {
    let port = d.integer(entry)?;
    match u16::try_from(port.value) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            d.error(
                &port.span,
                format!("port {} is out of range", port.value),
                "not a TCP port",
                Some("ports are between 1 and 65535; ssh listens on 22".to_owned()),
            );
            None
        }
    }
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
