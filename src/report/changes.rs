//! The last block of `fleet run`'s summary, and the body of `fleet diff`:
//! what changed since the previous run of the same workflow and inventory.
//! New failures come first (they need action), then fixes, then numbers
//! that moved; checks that still fail are counted, not repeated, because
//! the summary above already shows them.

use crate::history::{Change, RunDiff};
use crate::report::style::{DisplayConfig, Paint};

/// Lines of new failures or fixes shown before the rest is counted.
const MAX_LINES: usize = 15;

/// `since` names the older run (`id (started_at)`); `None` means history
/// holds no earlier run of this pair.
pub fn render_changes(diff: Option<&RunDiff>, since: &str, config: &DisplayConfig) -> String {
    let p = Paint::new(config.color);
    let Some(d) = diff else {
        return format!(
            "\n{}\n",
            p.dim("Changes since last run: none recorded; this run is the baseline.")
        );
    };
    let mut out = format!("\n{}\n", p.bold(&format!("Changes since {since}:")));
    if d.is_empty() {
        out.push_str(&format!(
            "  no changes ({} still failing)\n",
            d.still_failing.len()
        ));
        return out;
    }
    let mut section = |label: &str, items: &[Change], was: &str, paint: &dyn Fn(&str) -> String| {
        if items.is_empty() {
            return;
        }
        out.push_str(&format!("  {} ({}):\n", paint(label), items.len()));
        for c in items.iter().take(MAX_LINES) {
            out.push_str(&format!("    {} · {}  {was}{}\n", c.host, c.step, c.status));
        }
        if items.len() > MAX_LINES {
            out.push_str(&format!("    … {} more\n", items.len() - MAX_LINES));
        }
    };
    section("new failures", &d.new_failures, "", &|s| {
        p.red(s).into_owned()
    });
    section("fixed", &d.fixed, "was ", &|s| p.green(s).into_owned());
    if !d.still_failing.is_empty() {
        out.push_str(&format!("  still failing: {}\n", d.still_failing.len()));
    }
    if !d.numbers.is_empty() {
        out.push_str("  values:\n");
        for n in d.numbers.iter().take(MAX_LINES) {
            out.push_str(&format!(
                "    {} {} → {} on {}\n",
                n.name, n.before, n.after, n.host
            ));
        }
        if d.numbers.len() > MAX_LINES {
            out.push_str(&format!("    … {} more\n", d.numbers.len() - MAX_LINES));
        }
    }
    out
}

/// Everything `fleet diff` prints: like [`render_changes`], but still
/// failing checks are listed, since no summary precedes them.
pub fn render_diff(d: &RunDiff, before: &str, after: &str, config: &DisplayConfig) -> String {
    let mut out = render_changes(Some(d), &format!("{before} → {after}"), config);
    if !d.still_failing.is_empty() {
        out.push_str("  still failing, in detail:\n");
        for c in &d.still_failing {
            out.push_str(&format!("    {} · {}  {}\n", c.host, c.step, c.status));
        }
    }
    out.trim_start().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::NumberChange;

    fn change(host: &str, step: &str, status: &str) -> Change {
        Change {
            host: host.into(),
            step: step.into(),
            status: status.into(),
        }
    }

    #[test]
    fn changes_snapshot() {
        let d = RunDiff {
            new_failures: vec![change("ps-prod-3", "disk", "FAILED")],
            fixed: vec![change("ps-prod-1", "processes", "FAILED")],
            still_failing: vec![change("ps-prod-2", "connect", "UNREACHABLE")],
            numbers: vec![NumberChange {
                host: "ps-prod-3".into(),
                name: "disk_use".into(),
                before: 62.into(),
                after: 79.into(),
            }],
        };
        let text = render_changes(
            Some(&d),
            "20240501T100000Z-0001 (2024-05-01T10:00:00Z)",
            &DisplayConfig::plain(),
        );
        insta::assert_snapshot!("changes", text);
        let first = render_changes(None, "", &DisplayConfig::plain());
        assert!(first.contains("baseline"), "{first}");
    }
}
