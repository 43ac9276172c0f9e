//! Waivers files (`--waivers PATH`): one `waiver` node per accepted
//! failure, all properties, e.g.
//!
//! ```kdl
//! waiver host="ps-prod-3" step="disk" reason="grows until the move to the new SAN (CHG-1182)" expires="2026-12-20"
//! waiver group="dr" step="restore" rule="newest file age < restore_max_age" reason="DR restores paused" expires="2026-12-05"
//! ```
//!
//! Decoded with the same toolkit as workflows and inventories, so every
//! problem in the file is reported at once with its line and column.

use std::path::Path;
use std::sync::Arc;

use kdl::KdlNode;

use super::decode::Decoder;
use super::diagnostic::LoadErrors;
use super::syntax;
use crate::model::{SourceFile, Waiver, WaiverTarget};

const TOP_NODES: &[&str] = &["waiver"];
const WAIVER_PROPS: &[&str] = &[
    "host", "group", "workflow", "step", "rule", "reason", "expires",
];

/// Reads and decodes a waivers file.
pub fn load_waivers(path: &Path) -> Result<Vec<Waiver>, LoadErrors> {
    parse_waivers(syntax::read(path)?)
}

/// [`load_waivers`] for text already in memory.
pub fn parse_waivers(source: Arc<SourceFile>) -> Result<Vec<Waiver>, LoadErrors> {
    let document = syntax::parse_document(&source).map_err(LoadErrors)?;
    let mut d = Decoder::new(Arc::clone(&source));
    let mut waivers = Vec::new();
    for node in document.nodes() {
        match node.name().value() {
            "waiver" => waivers.extend(decode_waiver(&mut d, node)),
            _ => d.unknown_node(node, TOP_NODES, "in a waivers file"),
        }
    }
    d.finish(waivers)
}

/// An inventory's `waivers { waiver … }` block.
pub(crate) fn decode_block(d: &mut Decoder, node: &KdlNode) -> Vec<Waiver> {
    d.no_args(node);
    d.props(node, &[]);
    let mut waivers = Vec::new();
    for child in Decoder::children(node) {
        match child.name().value() {
            "waiver" => waivers.extend(decode_waiver(d, child)),
            _ => d.unknown_node(child, TOP_NODES, "in `waivers`"),
        }
    }
    waivers
}

/// One `waiver host=|group= step= [rule=] reason= expires=`.
fn decode_waiver(d: &mut Decoder, node: &KdlNode) -> Option<Waiver> {
    d.no_args(node);
    d.no_children(node);
    let props = d.props(node, WAIVER_PROPS);
    let span = d.node_span(node);
    let mut text = |key: &str| props.get(key).and_then(|e| d.string(e));
    let host = text("host");
    let group = text("group");
    let step = text("step");
    let workflow = text("workflow");
    let rule = text("rule");
    let reason = text("reason");
    let expires = text("expires");
    let target = match (host, group) {
        (Some(h), None) => Some(WaiverTarget::Host(h.value)),
        (None, Some(g)) => Some(WaiverTarget::Group(g.value)),
        (Some(_), Some(g)) => {
            d.error(
                &g.span,
                "a waiver names a host or a group, not both",
                "second target",
                Some("write one waiver per host or group".into()),
            );
            None
        }
        (None, None) => {
            d.error(
                &span,
                "a waiver must name `host=` or `group=`",
                "covers nobody",
                Some("e.g. `waiver host=\"ps-prod-3\" step=\"disk\" …`".into()),
            );
            None
        }
    };
    let mut required =
        |value: Option<crate::model::Spanned<String>>, key: &str, example: &str| match value {
            Some(v) if !v.value.trim().is_empty() => Some(v),
            Some(v) => {
                d.error(
                    &v.span,
                    format!("`{key}` is empty"),
                    "empty",
                    Some(example.into()),
                );
                None
            }
            None => {
                d.error(
                    &span,
                    format!("a waiver needs `{key}=`"),
                    format!("no `{key}`"),
                    Some(example.into()),
                );
                None
            }
        };
    let step = required(
        step,
        "step",
        "the step whose failure is accepted: `step=\"disk\"`",
    );
    let reason = required(
        reason,
        "reason",
        "say why the failure is accepted and who decided: `reason=\"disk grows until the SAN move (CHG-1182)\"`",
    );
    let expires = required(
        expires,
        "expires",
        "the last day the waiver holds: `expires=\"2026-12-31\"`; every waiver ends",
    );
    let date = expires.and_then(|e| match parse_date(&e.value) {
        Some(date) => Some(date),
        None => {
            d.error(
                &e.span,
                format!("`{}` is not a date", e.value),
                "expected YYYY-MM-DD",
                Some("write the last day the waiver holds, e.g. `expires=\"2026-12-31\"`".into()),
            );
            None
        }
    });
    if let Some(r) = &rule
        && r.value.trim().is_empty()
    {
        d.error(
            &r.span,
            "`rule` is empty",
            "empty",
            Some("leave `rule` out to waive any failure of the step".into()),
        );
    }
    Some(Waiver {
        target: target?,
        step: step?.value,
        workflow: workflow.map(|w| w.value),
        rule: rule.map(|r| r.value),
        reason: reason?.value,
        expires: date?,
        span,
    })
}

/// `2026-12-31` (ISO 8601 calendar date).
pub(crate) fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.trim().splitn(3, '-');
    let mut next = |len: usize| {
        parts
            .next()
            .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<i32>().ok())
    };
    let (year, month, day) = (next(4)?, next(2)?, next(2)?);
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::test_support::render;

    fn parse(text: &str) -> Result<Vec<Waiver>, LoadErrors> {
        parse_waivers(SourceFile::new("waivers.kdl", text))
    }

    #[test]
    fn a_waiver_names_its_target_step_rule_reason_and_expiry() {
        let w = parse(
            "waiver group=\"dr\" step=\"restore\" rule=\"age < 26h\" reason=\"paused\" expires=\"2026-12-05\"\n",
        )
        .expect("valid");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].target, WaiverTarget::Group("dr".into()));
        assert_eq!(w[0].rule.as_deref(), Some("age < 26h"));
        assert_eq!(w[0].expires.to_string(), "2026-12-05");
        assert_eq!(w[0].span.location(), "waivers.kdl:1:1");
    }

    /// docs/waivers.md's examples load: the first as a waivers file, the
    /// second as an inventory.
    #[test]
    fn the_documented_examples_load() {
        let doc = include_str!("../../docs/waivers.md");
        let blocks: Vec<&str> = doc
            .split("```kdl\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert_eq!(blocks.len(), 2, "{blocks:#?}");
        let file = parse(blocks[0]).expect("the waivers file example loads");
        assert_eq!(file.len(), 2);
        let inv =
            crate::load::test_support::inventory(blocks[1]).expect("the inventory example loads");
        assert_eq!(inv.waivers.len(), 1);
    }

    #[test]
    fn an_inventory_may_hold_its_waivers() {
        let inv = crate::load::test_support::inventory(
            "group dr { host ps-dr-1 address=\"10.0.1.1\" }\nwaivers {\n    waiver group=\"dr\" step=\"restore\" reason=\"paused\" expires=\"2026-12-05\"\n}\n",
        )
        .expect("valid inventory");
        assert_eq!(inv.waivers.len(), 1);
        assert_eq!(inv.waivers[0].span.location(), "inventories/test.kdl:3:5");
        let errors = crate::load::test_support::inventory_errors(
            "waivers {\n    waiver host=\"a\" step=\"disk\" reason=\"r\"\n    exemption\n}\n",
        );
        assert!(errors.contains("a waiver needs `expires=`"), "{errors}");
        assert!(
            errors.contains("unknown node `exemption`") || errors.contains("exemption"),
            "{errors}"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_column() {
        let text = "\
waiver host=\"a\" step=\"disk\" reason=\"r\" expires=\"2026-13-01\"
waiver step=\"disk\" reason=\"\" expires=\"2026-01-01\"
waiver host=\"a\" group=\"b\" step=\"disk\" reason=\"r\" expires=\"2026-01-01\" until=\"x\"
waivers
";
        let errors = parse(text).expect_err("invalid");
        let shown = render(&errors);
        for expected in [
            "`2026-13-01` is not a date",
            "waivers.kdl:1:",
            "a waiver must name `host=` or `group=`",
            "`reason` is empty",
            "a waiver names a host or a group, not both",
            "unknown property `until`",
            "waivers.kdl:4:1",
        ] {
            assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
        }
        assert_eq!(errors.len(), 6, "{shown}");
    }
}
