//! Guards: which hosts a workflow must never touch (`forbid-groups`) and
//! which runs need the operator's typed confirmation (destructive
//! workflows, `protect`ed hosts, `fleet exec` on many hosts without
//! `--limit`). Pure decisions on the inventory and plan: whether a
//! terminal is there to ask is the CLI's business.
//!
//! Both guards see a host through every path that leads to it: every
//! ancestor group (groups are a graph, `Host::groups` lists them all) and
//! every alias, i.e. another inventory name for the same address and port.

use std::collections::BTreeMap;

use crate::model::{Host, Inventory, Spanned};

/// `fleet exec` on more hosts than this, with no `--limit`, asks for the
/// same confirmation as a destructive workflow: an ad-hoc command sent to
/// a whole inventory is more often a slip than a plan.
pub const EXEC_CONFIRM_ABOVE: usize = 5;

/// Where a connection ends up, as far as the inventory can tell: the
/// address (case and a trailing dot of a DNS name ignored, IPv6 brackets
/// removed) and port. Two hosts with one endpoint are one machine.
pub fn endpoint(host: &Host) -> (String, u16) {
    let address = host
        .address
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (address, host.port)
}

/// Why a host is guarded: the group, and the inventory host that put the
/// host's endpoint under it when the host is an alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarded {
    pub group: String,
    /// `Some(name)` when the host is not in the group itself but shares
    /// its address and port with `name`, which is.
    pub via: Option<String>,
}

impl Guarded {
    /// "in group `prod`" / "the same machine (10.0.0.5:22) as `db1`, in
    /// group `prod`".
    pub fn describe(&self, host: &Host) -> String {
        match &self.via {
            None => format!("in group `{}`", self.group),
            Some(other) => {
                let (address, port) = endpoint(host);
                format!(
                    "the same machine ({address}:{port}) as `{other}`, in group `{}`",
                    self.group
                )
            }
        }
    }
}

/// Every inventory host in one of `groups`, by any path, and every host
/// sharing an endpoint with one of those: host name → why.
pub fn guarded_hosts(
    inventory: &Inventory,
    groups: &[Spanned<String>],
) -> BTreeMap<String, Guarded> {
    let mut guarded = BTreeMap::new();
    let mut endpoints: BTreeMap<(String, u16), (String, String)> = BTreeMap::new();
    for host in &inventory.hosts {
        if let Some(group) = groups.iter().find(|g| host.groups.contains(&g.value)) {
            guarded.insert(
                host.name.clone(),
                Guarded {
                    group: group.value.clone(),
                    via: None,
                },
            );
            endpoints
                .entry(endpoint(host))
                .or_insert_with(|| (host.name.clone(), group.value.clone()));
        }
    }
    for host in &inventory.hosts {
        if guarded.contains_key(&host.name) {
            continue;
        }
        if let Some((other, group)) = endpoints.get(&endpoint(host)) {
            guarded.insert(
                host.name.clone(),
                Guarded {
                    group: group.clone(),
                    via: Some(other.clone()),
                },
            );
        }
    }
    guarded
}

/// What makes a run need typed confirmation, kept on the plan and judged
/// against its hosts when asked, so narrowing the plan (`--rerun`) also
/// narrows the reasons.
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    /// The workflow (or a step) is `destructive`.
    pub destructive: bool,
    /// Protected hosts of the inventory (`protect`), with why.
    pub protected: BTreeMap<String, Guarded>,
    /// `fleet exec` without `--limit`.
    pub unlimited_exec: bool,
}

impl Confirmation {
    /// Why a run on `hosts` must be confirmed, one sentence each; empty
    /// when it need not be.
    pub fn reasons(&self, workflow: &str, hosts: &[&Host]) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.destructive {
            reasons.push(format!("workflow `{workflow}` is destructive"));
        }
        let protected: Vec<String> = hosts
            .iter()
            .filter_map(|h| {
                let why = self.protected.get(&h.name)?;
                Some(format!("{} ({})", h.name, why.describe(h)))
            })
            .collect();
        if !protected.is_empty() {
            reasons.push(format!(
                "{} protected host{} (inventory `protect`): {}",
                protected.len(),
                if protected.len() == 1 { "" } else { "s" },
                protected.join(", ")
            ));
        }
        if self.unlimited_exec && hosts.len() > EXEC_CONFIRM_ABOVE {
            reasons.push(format!(
                "`fleet exec` on {} hosts without --limit (more than {EXEC_CONFIRM_ABOVE})",
                hosts.len()
            ));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_inventory;
    use crate::model::SourceFile;

    fn inventory(text: &str) -> Inventory {
        parse_inventory(SourceFile::new("inventory/t.kdl", text))
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn spanned(inv: &Inventory, name: &str) -> Spanned<String> {
        Spanned::new(name.to_string(), inv.hosts[0].span.clone())
    }

    #[test]
    fn guards_follow_every_path_and_every_alias() {
        let inv = inventory(
            r#"
group prod { group prod_db; host web1 address="DB.example" port=2222 }
group databases { group prod_db { host db1 address="10.0.0.5" } }
host db1-alias address="10.0.0.5."
host db-lower address="db.example." port=2222
host other address="10.0.0.5" port=2222
"#,
        );
        let g = guarded_hosts(&inv, &[spanned(&inv, "prod")]);
        let names: Vec<&str> = g.keys().map(String::as_str).collect();
        assert_eq!(names, ["db-lower", "db1", "db1-alias", "web1"]);
        assert_eq!(g["db1"].via, None);
        assert_eq!(g["db1-alias"].via.as_deref(), Some("db1"));
        let alias = inv.hosts.iter().find(|h| h.name == "db1-alias");
        let text = alias
            .map(|h| g["db1-alias"].describe(h))
            .unwrap_or_default();
        assert!(
            text.contains("10.0.0.5:22") && text.contains("`db1`"),
            "{text}"
        );
    }

    #[test]
    fn exec_needs_confirmation_above_the_threshold_without_limit() {
        let text: String = (0..=EXEC_CONFIRM_ABOVE)
            .map(|i| format!("host h{i}\n"))
            .collect();
        let inv = inventory(&text);
        let hosts: Vec<&Host> = inv.hosts.iter().collect();
        let c = Confirmation {
            unlimited_exec: true,
            ..Confirmation::default()
        };
        assert_eq!(c.reasons("exec", &hosts).len(), 1);
        assert!(c.reasons("exec", &hosts[..EXEC_CONFIRM_ABOVE]).is_empty());
        assert!(Confirmation::default().reasons("exec", &hosts).is_empty());
    }
}

#[cfg(test)]
mod plan_tests {
    use crate::load::{parse_inventory, parse_workflow};
    use crate::model::SourceFile;
    use crate::plan::plan;

    /// Issue 12's layout in KDL, plus an alias of db1: `forbid-groups
    /// "prod"` refuses db1 through `prod_db`'s second parent, and the
    /// alias through its address.
    #[test]
    fn forbid_groups_refuse_through_any_parent_and_any_alias() {
        let inv = parse_inventory(SourceFile::new(
            "inventory/site.kdl",
            r#"
group databases { group prod_db { host db1 address="10.0.0.5" } }
group prod { group prod_db }
group dr { host dr1 address="10.0.1.5"; host db1-dr address="10.0.0.5" }
"#,
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let wf = parse_workflow(SourceFile::new(
            "workflows/stop.kdl",
            r#"workflow stop { forbid-groups "prod"; step s { run "true" } }"#,
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let p = plan(wf, &inv, &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        let planned: Vec<&str> = p.hosts.iter().map(|h| h.host.name.as_str()).collect();
        assert_eq!(planned, ["dr1"]);
        let refused: Vec<(&str, &str)> = p
            .refused
            .iter()
            .map(|r| (r.host.name.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].1.contains("in group `prod`"), "{refused:?}");
        assert!(
            refused[1].1.contains("same machine (10.0.0.5:22) as `db1`"),
            "{refused:?}"
        );
    }
}
