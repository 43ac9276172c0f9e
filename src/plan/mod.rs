//! Planning: which hosts a run touches ([`select`], [`limit`]), which it
//! must refuse or confirm first ([`guard`]), with which variables
//! ([`SetVar`] overrides), and a check of every name every template and
//! expression uses ([`names`]). Ad-hoc `exec`/`ping` plans are built in
//! [`adhoc`].
//!
//! Commands and messages are rendered when their step starts (they may use
//! values exported by earlier steps), so this is where a typo in a variable
//! is caught: each template's undeclared names must be a variable of the
//! host, an export of an earlier step, or a value of the step itself.
//! Errors carry the file, line and column and are reported before any
//! connection is made.

mod adhoc;
pub mod guard;
pub mod limit;
mod names;
mod select;
mod set_var;
pub mod shard;

use std::sync::Arc;

pub use adhoc::plan_adhoc;
pub use select::select_hosts;
pub use set_var::SetVar;

use crate::load::{LoadError, LoadErrors};
use crate::model::{Host, Inventory, Vars, Workflow};
use guard::{Confirmation, guarded_hosts};
use limit::{Limit, LimitError, Selection};

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

    let errors = names::check_names(&workflow, &globals, &hosts);
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

/// Variable precedence, lowest first: workflow defaults, inventory
/// (already merged defaults < groups < host), `--set`.
fn merged_vars(workflow: &Vars, host: &Vars, set: &[SetVar]) -> Vars {
    let mut vars = workflow.clone();
    vars.extend(host.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(set.iter().map(|s| (s.name.clone(), s.value.clone())));
    vars
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
