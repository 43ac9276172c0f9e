//! fleet: run maintenance checklists over SSH across a fleet of hosts.
//!
//! The flow is one-way: `load` (KDL → typed model) → `plan` (hosts ×
//! rendered steps) → `execute` (SSH, events) → `evaluate` (rules) →
//! `report` (terminal, JSON, JUnit, Markdown, HTML) and `history` (runs
//! kept on disk, compared). Each module owns one stage.

pub mod cancel;
pub mod cli;
pub mod evaluate;
pub mod event;
pub mod execute;
pub mod exit_code;
pub mod expr;
pub mod extract;
pub(crate) mod fleet_checks;
pub mod guard;
pub mod history;
pub mod limit;
pub mod load;
pub mod local;
pub mod merge;
pub mod model;
pub mod output;
pub mod plan;
pub mod report;
pub mod results;
pub mod rollout;
pub mod shard;
pub mod ssh;
pub mod workers;
