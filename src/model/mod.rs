//! The validated model: what loading produces and what planning consumes.
//! Only values that passed every load-time check can be built here, so the
//! planner and executor never re-validate.

pub mod expression;
#[cfg(test)]
pub(crate) mod fixture;
pub mod inventory;
pub mod output;
pub mod report;
pub mod shard;
pub mod source;
pub mod template;
pub mod unreachable;
pub mod verdict;
pub mod waiver;
pub mod workflow;

pub use expression::Expression;
pub use inventory::{Host, HostKeyChecking, HostSettings, Inventory, SessionMode};
pub use source::{SourceFile, Span, Spanned};
pub use template::{CommandTemplate, Template};
pub use unreachable::{Unreachable, UnreachableKind};
pub use verdict::{Verdict, exit_code};
pub use waiver::{Waiver, WaiverTarget};
pub use workflow::{
    BatchSize, Check, Export, FailureLimit, FleetCheck, Matcher, OnFailure, Retry, Rule, Severity,
    Step, Stream, Workflow,
};

/// Variables as written in KDL: names are identifiers, values are any KDL
/// scalar (string, number, bool, null), or a list when a node has several
/// arguments.
pub type Vars = std::collections::BTreeMap<String, serde_json::Value>;
