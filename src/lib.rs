//! fleet: run maintenance checklists over SSH across a fleet of hosts.
//!
//! The flow is one-way: `load` (KDL → typed model) → `plan` (hosts ×
//! rendered steps) → `execute` (SSH, events) → `evaluate` (rules) →
//! `report` (terminal, JSON, JUnit, Markdown, HTML) and `history` (runs
//! kept on disk, compared). Each module owns one stage.

pub mod cli;
pub mod exit_code;
pub mod expr;
pub mod extract;
pub mod history;
pub mod judge;
pub mod load;
pub mod model;
pub mod plan;
pub mod report;
pub mod results;
pub mod run;
pub mod ssh;

pub mod guard {
    pub use crate::plan::guard::*;
} // SHIM(arch-merge)
pub mod limit {
    pub use crate::plan::limit::*;
} // SHIM(arch-merge)
pub mod execute {
    pub use crate::run::{DEFAULT_OUTPUT_CAP, ExecuteOptions, execute};
} // SHIM(arch-merge)
pub mod evaluate {
    pub use crate::judge::*;
} // SHIM(arch-merge)
pub mod cancel {
    pub use crate::run::cancel::*;
} // SHIM(arch-merge)
pub mod event {
    pub use crate::run::event::*;
} // SHIM(arch-merge)
pub mod local {
    pub use crate::run::local::*;
} // SHIM(arch-merge)
pub mod rollout {
    pub use crate::run::rollout::*;
} // SHIM(arch-merge)
pub mod output {
    pub use crate::model::output::*;
} // SHIM(arch-merge)
