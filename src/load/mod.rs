//! Loading: KDL text → validated model (`Workflow`, `Inventory`) with spans
//! on everything, or every problem in the file as one `LoadErrors`.
//!
//! Stages: `syntax` (text → `KdlDocument`, kdl's errors translated) →
//! `workflow` / `inventory` (documents → model, using the `decode`
//! toolkit, which records errors and keeps going).

mod ansible;
mod decode;
mod diagnostic;
mod duration;
mod expect;
mod group_graph;
mod inventory;
mod resolve;
mod rollout;
mod step;
mod suggest;
mod syntax;
pub mod template;
mod tree;
mod vars;
mod waivers;
pub(crate) use vars::is_identifier;
mod workflow;

#[cfg(test)]
mod test_support;

/// The language reference (docs/workflow-language.md) checked example by
/// example against the whole loader.
#[cfg(test)]
#[path = "doc_tests.rs"]
mod tests;

pub use diagnostic::{LoadError, LoadErrors};
pub use duration::{MAX_DURATION, parse_duration_arg};
pub use inventory::{load_inventory, parse_any_inventory, parse_inventory};
pub use waivers::{load_waivers, parse_waivers};
pub use workflow::{load_workflow, parse_workflow};

/// An Ansible inventory (INI, or YAML when `yaml`) from text in memory:
/// the importer's entry for the fuzz target and the fuzz corpus test,
/// without a file on disk.
#[doc(hidden)]
pub fn parse_ansible_inventory(
    source: std::sync::Arc<crate::model::SourceFile>,
    yaml: bool,
) -> Result<crate::model::Inventory, LoadErrors> {
    let kind = if yaml {
        ansible::Kind::Yaml
    } else {
        ansible::Kind::Ini
    };
    ansible::parse(source, kind)
}
