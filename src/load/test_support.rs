//! Helpers shared by the load tests: fixed fake paths so snapshots are
//! stable, and rendering the way the CLI shows errors.

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::{LoadErrors, parse_inventory, parse_workflow};
use crate::model::{Inventory, SourceFile, Workflow};

pub(crate) const WORKFLOW_PATH: &str = "workflows/test.kdl";
pub(crate) const INVENTORY_PATH: &str = "inventories/test.kdl";

pub(crate) fn workflow(text: &str) -> Result<Workflow, LoadErrors> {
    parse_workflow(SourceFile::new(WORKFLOW_PATH, text))
}

pub(crate) fn inventory(text: &str) -> Result<Inventory, LoadErrors> {
    parse_inventory(SourceFile::new(INVENTORY_PATH, text))
}

/// Renders any diagnostic as the terminal shows it, without colour.
pub(crate) fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, diagnostic)
        .expect("rendering into a String cannot fail");
    out
}

/// The rendered errors of a workflow that must fail to load.
pub(crate) fn workflow_errors(text: &str) -> String {
    match workflow(text) {
        Ok(_) => panic!("expected the workflow to fail to load"),
        Err(errors) => render(&errors),
    }
}

/// The rendered errors of an inventory that must fail to load.
pub(crate) fn inventory_errors(text: &str) -> String {
    match inventory(text) {
        Ok(_) => panic!("expected the inventory to fail to load"),
        Err(errors) => render(&errors),
    }
}
