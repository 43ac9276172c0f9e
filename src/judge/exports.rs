//! A step's exports: values later steps, the host report and fleet
//! checks read by name.

use minijinja::Value;

use super::{Evaluator, Scope};
use crate::model::Export;

impl Evaluator {
    /// Exported values of a step, in order, each added to `scope` so the
    /// next sees it; an export that cannot be evaluated is `none` and its
    /// error is returned beside the values.
    pub fn exports(
        &self,
        exports: &[Export],
        scope: &mut Scope,
    ) -> (Vec<(String, Value)>, Vec<String>) {
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for export in exports {
            let value = match self.eval(&export.expr, scope) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(format!("export `{}`: {}", export.name, e.detail));
                    Value::from(())
                }
            };
            scope.insert(export.name.clone(), value.clone());
            values.push((export.name.clone(), value));
        }
        (values, errors)
    }
}
