//! Plans for `fleet exec` and `fleet ping`: no workflow file, one literal
//! command (or none) on the selected hosts.

use std::sync::Arc;
use std::time::Duration;

use super::guard::{Confirmation, guarded_hosts};
use super::limit::{LimitError, Selection};
use super::select::select_hosts;
use super::{HostPlan, Plan};
use crate::model::{Inventory, SourceFile, Spanned, Step, Vars, Workflow};

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
