//! `serial` and `max-failures`: how a workflow rolls out over its hosts in
//! batches, and when a rollout stops. Sizes are host counts (`2`) or shares
//! of the selection (`"25%"`).

use kdl::{KdlEntry, KdlNode, KdlValue};

use super::decode::Decoder;
use crate::model::{BatchSize, FailureLimit};

/// `serial 1 "25%" "100%"`: one batch size per argument, at least one.
pub(crate) fn serial(d: &mut Decoder, node: &KdlNode) -> Vec<BatchSize> {
    d.props(node, &[]);
    d.no_children(node);
    let entries: Vec<&KdlEntry> = Decoder::args(node).collect();
    if entries.is_empty() {
        let span = d.node_span(node);
        d.error(
            &span,
            "`serial` needs at least one batch size",
            "no sizes",
            Some("e.g. `serial 1 \"25%\" \"100%\"`: a canary host, then quarters".to_owned()),
        );
        return Vec::new();
    }
    entries
        .into_iter()
        .filter_map(|e| match share(d, e, 1, "a batch size")? {
            Share::Count(n) => Some(BatchSize::Hosts(n)),
            Share::Percent(p) => Some(BatchSize::Percent(p)),
        })
        .collect()
}

/// `max-failures 0` or `max-failures "10%"`.
pub(crate) fn max_failures(d: &mut Decoder, node: &KdlNode) -> Option<FailureLimit> {
    let entry = d.single_arg(node, "a number of hosts or a percentage")?;
    match share(d, entry, 0, "a failure limit")? {
        Share::Count(n) => Some(FailureLimit::Hosts(n)),
        Share::Percent(p) => Some(FailureLimit::Percent(p)),
    }
}

enum Share {
    Count(usize),
    Percent(u32),
}

/// A count (`min` or more) or a percentage string `"P%"` with P in
/// `min..=100`.
fn share(d: &mut Decoder, entry: &KdlEntry, min: usize, what: &str) -> Option<Share> {
    let span = d.value_span(entry);
    match entry.value() {
        KdlValue::Integer(i) => match usize::try_from(*i) {
            Ok(n) if n >= min => Some(Share::Count(n)),
            _ => {
                d.error(
                    &span,
                    format!("{what} must be {min} or more"),
                    "out of range",
                    None,
                );
                None
            }
        },
        KdlValue::String(s) => {
            let parsed = s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<u32>().ok());
            match parsed {
                Some(p) if p as usize >= min && p <= 100 => Some(Share::Percent(p)),
                _ => {
                    d.error(
                        &span,
                        format!("{what} must be a number or a percentage from {min}% to 100%"),
                        "not a count or percentage",
                        Some("write e.g. `2` or `\"25%\"`".to_owned()),
                    );
                    None
                }
            }
        }
        _ => {
            d.type_error(entry, "a number or a percentage string", None);
            None
        }
    }
}
