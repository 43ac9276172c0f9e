//! Flattens an inventory `Tree` into `model::Inventory`: decides which
//! `host` node defines each host and which merely adds it to a group, then
//! applies inheritance so nothing downstream walks the group tree again.
//!
//! Settings come from the defining location only — host, then its group
//! and that group's ancestors nearest first, then defaults, then built-ins:
//! a host's connection is one place's decision. Group membership and vars
//! come from every group the host is in and every ancestor of those (groups
//! are a graph, see `group_graph`), since a group like `dr` exists
//! precisely to tag hosts.

use std::collections::{BTreeSet, HashMap};

use super::decode::Decoder;
use super::group_graph;
use super::tree::{HostDecl, Level, Tree};
use crate::model::inventory::{DEFAULT_CONNECT_TIMEOUT, GroupInfo};
use crate::model::{Host, HostSettings, Inventory, Vars};

const DEFAULT_PORT: u16 = 22;

pub(crate) fn resolve(d: &mut Decoder, name: String, tree: Tree) -> Inventory {
    check_cycles(d, &tree);
    check_group_references(d, &tree);
    let definitions = definitions(d, &tree);
    check_name_clashes(d, &tree, &definitions);
    let graph = Graph::new(&tree);
    let default_user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_owned());

    // Every `host` node by name, built once: looking them up per host was
    // quadratic in the inventory's size.
    let mut decls: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, host) in tree.hosts.iter().enumerate() {
        decls.entry(host.name.as_str()).or_default().push(index);
    }
    let mut hosts: Vec<Host> = definitions
        .iter()
        .map(|&index| resolve_host(&tree, &graph, &decls, index, &default_user))
        .collect();
    attach_jump_hosts(&mut hosts);
    let groups = tree
        .groups
        .iter()
        .map(|g| GroupInfo {
            name: g.name.clone(),
            span: g.span.clone(),
            parents: g
                .parents
                .iter()
                .map(|(p, _)| tree.groups[*p].name.clone())
                .collect(),
        })
        .collect();
    check_protected(d, &tree);
    Inventory {
        name,
        source: d.source().clone(),
        protected: tree.protected.clone(),
        groups,
        defaults_vars: tree.defaults.vars.clone(),
        secret_vars: d.secret_vars().clone(),
        hosts,
        waivers: tree.waivers.clone(),
    }
}

/// The index of the defining `host` node of every host, in declaration
/// order: the one with properties or children, else the first bare one.
/// A second explicit definition is an error.
fn definitions(d: &mut Decoder, tree: &Tree) -> Vec<usize> {
    let mut defining: Vec<usize> = Vec::new();
    // Slot in `defining` by name: a linear search per host was quadratic
    // in an inventory's size (10,000 hosts from one Ansible range).
    let mut slots: HashMap<&str, usize> = HashMap::new();
    for (index, host) in tree.hosts.iter().enumerate() {
        let existing = slots.get(host.name.as_str()).copied();
        match existing {
            None => {
                slots.insert(host.name.as_str(), defining.len());
                defining.push(index);
            }
            Some(slot) => {
                let first = &tree.hosts[defining[slot]];
                if host.explicit && first.explicit {
                    d.duplicate("host", &host.name, &first.span, &host.span);
                } else if host.explicit {
                    // An earlier bare mention was a reference to this one.
                    defining[slot] = index;
                }
            }
        }
    }
    defining.sort_unstable();
    defining
}

/// `--limit` patterns name hosts and groups alike, so one name cannot be
/// both.
fn check_name_clashes(d: &mut Decoder, tree: &Tree, definitions: &[usize]) {
    for &index in definitions {
        let host = &tree.hosts[index];
        if let Some(group) = tree.groups.iter().find(|g| g.name == host.name) {
            let group_line = d.line(&group.span);
            d.error(
                &host.span,
                format!("host `{}` has the same name as a group", host.name),
                "clashes with a group",
                Some(format!(
                    "group `{}` is defined on line {group_line}; host patterns name hosts \
                     and groups alike, so rename one",
                    group.name
                )),
            );
        }
    }
}

/// A group that contains itself, directly or through its children, is
/// refused: membership would be ambiguous and, before this check, the
/// Ansible import silently dropped a link to break it.
fn check_cycles(d: &mut Decoder, tree: &Tree) {
    let parents: Vec<Vec<usize>> = tree
        .groups
        .iter()
        .map(|g| g.parents.iter().map(|(p, _)| *p).collect())
        .collect();
    let Some(cycle) = group_graph::cycle(&parents) else {
        return;
    };
    // cycle[i+1] is a parent of cycle[i], the first's parent is the last.
    // Blame the link written last: reading the file top down, it is the
    // one that closes the loop.
    let n = cycle.len();
    let link = |i: usize| {
        let (child, parent) = (cycle[i], cycle[(i + 1) % n]);
        tree.groups[child]
            .parents
            .iter()
            .find(|(p, _)| *p == parent)
            .map_or_else(|| tree.groups[child].span.clone(), |(_, s)| s.clone())
    };
    let k = (0..n).max_by_key(|&i| link(i).offset).unwrap_or(0);
    let closing = link(k);
    // From the child of that link down to it again: `a` contains `b` ….
    let path: Vec<&str> = (0..=n)
        .map(|j| tree.groups[cycle[(k + n * 2 - j) % n]].name.as_str())
        .collect();
    d.error(
        &closing,
        format!(
            "group cycle: {}",
            path.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" contains ")
        ),
        "closes the cycle",
        Some(
            "a group cannot contain itself, directly or through its child groups; \
             remove one of these links"
                .to_owned(),
        ),
    );
}

/// A bare `group NAME` inside a group links a group defined elsewhere; if
/// none is, the name is most likely a typo, and the group the operator
/// meant (say `prod_db`, meant to be under `prod`) silently stays out of
/// `prod` and its guards. An empty child group is written `group NAME { }`.
fn check_group_references(d: &mut Decoder, tree: &Tree) {
    let defined: Vec<&str> = tree
        .groups
        .iter()
        .filter(|g| g.defined)
        .map(|g| g.name.as_str())
        .collect();
    for group in tree.groups.iter().filter(|g| !g.defined) {
        let Some((_, at)) = group.parents.first() else {
            continue;
        };
        let hint = match super::suggest::did_you_mean(&group.name, &defined) {
            Some(other) => format!("did you mean `{other}`? "),
            None => String::new(),
        };
        d.error(
            at,
            format!("group `{}` is referenced but never defined", group.name),
            "no such group",
            Some(format!(
                "{hint}a bare `group NAME` inside a group adds a group defined elsewhere \
                 (`group NAME {{ … }}`); write `group {} {{ }}` for an empty child group",
                group.name
            )),
        );
    }
}

/// A protected group the inventory lacks protects nothing: a typo would
/// silently leave production unguarded, so it is an error.
fn check_protected(d: &mut Decoder, tree: &Tree) {
    for name in &tree.protected {
        if !tree.groups.iter().any(|g| g.name == name.value) {
            let known: Vec<&str> = tree.groups.iter().map(|g| g.name.as_str()).collect();
            d.error(
                &name.span,
                format!("protected group `{}` does not exist", name.value),
                "no such group",
                Some(format!(
                    "`protect` names groups of this inventory; groups here: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )),
            );
        }
    }
}

/// The group graph of a tree, walked per host.
struct Graph {
    parents: Vec<Vec<usize>>,
    ranks: Vec<usize>,
}

impl Graph {
    fn new(tree: &Tree) -> Self {
        let parents: Vec<Vec<usize>> = tree
            .groups
            .iter()
            .map(|g| g.parents.iter().map(|(p, _)| *p).collect())
            .collect();
        let ranks = group_graph::ranks(&parents);
        Graph { parents, ranks }
    }

    /// `group` and its ancestors, nearest first.
    fn ancestors(&self, group: Option<usize>) -> Vec<usize> {
        group.map_or_else(Vec::new, |g| group_graph::ancestors(&self.parents, g))
    }
}

fn resolve_host(
    tree: &Tree,
    graph: &Graph,
    decls: &HashMap<&str, Vec<usize>>,
    index: usize,
    default_user: &str,
) -> Host {
    let host = &tree.hosts[index];
    // Most specific first: the host, its group and that group's ancestors
    // nearest first, defaults.
    let mut chain: Vec<&Level> = vec![&host.level];
    chain.extend(
        graph
            .ancestors(host.group)
            .into_iter()
            .map(|g| &tree.groups[g].level),
    );
    chain.push(&tree.defaults);

    let memberships = memberships(tree, graph, decls, host);
    let mut vars = tree.defaults.vars.clone();
    for &group in &memberships {
        merge(&mut vars, &tree.groups[group].level.vars);
    }
    merge(&mut vars, &host.level.vars);

    let explicit = HostSettings {
        port: chain.iter().find_map(|l| l.settings.port),
        user: chain.iter().find_map(|l| l.settings.user.clone()),
        identity_files: first_non_empty(&chain, |l| &l.settings.identity_files),
        known_hosts: first_non_empty(&chain, |l| &l.settings.known_hosts),
        connect_timeout: chain.iter().find_map(|l| l.settings.connect_timeout),
        host_key_checking: chain.iter().find_map(|l| l.settings.host_key_checking),
        jump: chain.iter().find_map(|l| l.settings.jump.clone()),
        keepalive: chain.iter().find_map(|l| l.settings.keepalive),
    };
    Host {
        name: host.name.clone(),
        span: host.span.clone(),
        address: host.address.clone().unwrap_or_else(|| host.name.clone()),
        port: chain
            .iter()
            .find_map(|l| l.settings.port)
            .unwrap_or(DEFAULT_PORT),
        user: chain
            .iter()
            .find_map(|l| l.settings.user.clone())
            .unwrap_or_else(|| default_user.to_owned()),
        identity_files: first_non_empty(&chain, |l| &l.settings.identity_files),
        known_hosts: first_non_empty(&chain, |l| &l.settings.known_hosts),
        connect_timeout: chain
            .iter()
            .find_map(|l| l.settings.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        groups: memberships
            .iter()
            .map(|&g| tree.groups[g].name.clone())
            .collect(),
        vars,
        jump_hosts: Vec::new(),
        explicit,
    }
}

/// Gives every host with a `jump` the inventory hosts its chain names,
/// directly or through a bastion's own `jump` (bounded, so a loop ends;
/// the SSH layer reports it).
fn attach_jump_hosts(hosts: &mut [Host]) {
    let by_name = |name: &str, all: &[Host]| all.iter().position(|h| h.name == name);
    let snapshot: Vec<Host> = hosts.to_vec();
    for host in hosts.iter_mut() {
        let mut names: Vec<String> = hops(&host.explicit.jump);
        let mut found: Vec<usize> = Vec::new();
        let mut steps = 0;
        while let Some(name) = names.pop() {
            steps += 1;
            if steps > 64 {
                break;
            }
            if let Some(i) = by_name(&name, &snapshot)
                && !found.contains(&i)
            {
                found.push(i);
                names.extend(hops(&snapshot[i].explicit.jump));
            }
        }
        host.jump_hosts = found.into_iter().map(|i| snapshot[i].clone()).collect();
    }
}

fn hops(jump: &Option<String>) -> Vec<String> {
    jump.iter()
        .flat_map(|j| j.split(','))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect()
}

/// Lists replace rather than append: the most specific level that names
/// key files owns the whole list.
fn first_non_empty<T: Clone>(chain: &[&Level], list: impl Fn(&Level) -> &Vec<T>) -> Vec<T> {
    chain
        .iter()
        .map(|l| list(l))
        .find(|l| !l.is_empty())
        .cloned()
        .unwrap_or_default()
}

/// Every group containing any `host` node of this name, with every
/// ancestor of each, parents before children (ties in declaration order),
/// so inner groups' vars win.
fn memberships(
    tree: &Tree,
    graph: &Graph,
    decls: &HashMap<&str, Vec<usize>>,
    host: &HostDecl,
) -> Vec<usize> {
    let all: BTreeSet<usize> = decls
        .get(host.name.as_str())
        .into_iter()
        .flatten()
        .flat_map(|&i| graph.ancestors(tree.hosts[i].group))
        .collect();
    let mut all: Vec<usize> = all.into_iter().collect();
    all.sort_by_key(|&g| graph.ranks[g]);
    all
}

fn merge(into: &mut Vars, from: &Vars) {
    into.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
}
