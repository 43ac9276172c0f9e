//! Host selection for a run: `--limit` narrowed by the workflow's own
//! `hosts` line.

use super::limit::{Limit, LimitError, Selection};
use crate::model::{Inventory, Spanned};

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
