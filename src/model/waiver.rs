//! Waivers: known failures an operator has accepted for a while, with the
//! reason and the last day they hold (InSpec's waivers, for fleet). Loaded
//! from a waivers file (`--waivers PATH`), applied to a finished run by
//! `crate::judge::waivers`.

use super::Span;

/// Who a waiver covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaiverTarget {
    Host(String),
    /// Every host in the group, through any parent.
    Group(String),
}

#[derive(Debug, Clone)]
pub struct Waiver {
    pub target: WaiverTarget,
    pub step: String,
    /// Only runs of this workflow (by name); `None`: any workflow with the
    /// step. Lets one waivers file serve several workflows.
    pub workflow: Option<String>,
    /// Only failures of this rule (its `expected` text as reports show
    /// it); `None`: any failure of the step.
    pub rule: Option<String>,
    pub reason: String,
    /// The last day the waiver holds (UTC); from the next day the failure
    /// counts again.
    pub expires: time::Date,
    pub span: Span,
}

impl Waiver {
    /// `host ps-prod-3, step disk` / `group dr, step restore, rule …`.
    pub fn describe(&self) -> String {
        let who = match &self.target {
            WaiverTarget::Host(h) => format!("host {h}"),
            WaiverTarget::Group(g) => format!("group {g}"),
        };
        let mut text = format!("{who}, step {}", self.step);
        if let Some(rule) = &self.rule {
            text.push_str(&format!(", rule `{rule}`"));
        }
        text
    }
}
