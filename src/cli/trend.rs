//! `fleet history --trend NAME` and the series the HTML report charts:
//! both read the history here and hand plain series to the renderers.

use std::io::Write;

use super::args::{HistoryArgs, TrendFormat};
use super::error::CliError;
use crate::history::{RunMeta, Store, Trend, all_trends, numeric_names, recent_exports, trend};
use crate::model::exit_code;
use crate::report::{render_trend, trend_csv, trend_json};

/// Runs charted in the HTML report: a month of daily runs.
pub const HTML_TREND_RUNS: usize = 30;

/// `fleet history --trend NAME [--host H]`: the pair is the newest stored
/// run's (or `-w`/`-i`'s), the window its newest `-n` runs.
pub(super) fn show(args: &HistoryArgs, store: &Store, name: &str) -> Result<i32, CliError> {
    let newest = store
        .list()?
        .into_iter()
        .rev()
        .find(|m| {
            args.workflow.as_ref().is_none_or(|w| &m.workflow == w)
                && args.inventory.as_ref().is_none_or(|i| &m.inventory == i)
        })
        .ok_or_else(|| CliError::Usage("--trend: no stored run to read".into()))?;
    let runs = recent_exports(store, &newest.workflow, &newest.inventory, None, args.last)?;
    let matcher = match &args.host {
        Some(pattern) => Some(
            globset::Glob::new(pattern)
                .map_err(|e| CliError::Usage(format!("--host `{pattern}`: {e}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let t = trend(&runs, name, |h| {
        matcher.as_ref().is_none_or(|m| m.is_match(h))
    });
    if t.hosts.is_empty() {
        return Err(CliError::Usage(no_values(&newest, &runs, name, args)));
    }
    let text = match args.format {
        TrendFormat::Text => render_trend(&t, &super::terminal::display_config()),
        TrendFormat::Json => trend_json(&t),
        TrendFormat::Csv => trend_csv(&t),
    };
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(exit_code::OK)
}

/// Why a trend is empty, and which names would work.
fn no_values(
    newest: &RunMeta,
    runs: &[crate::history::RunExports],
    name: &str,
    args: &HistoryArgs,
) -> String {
    let names = numeric_names(runs);
    let hosts = args
        .host
        .as_ref()
        .map(|h| format!(" from a host matching `{h}`"))
        .unwrap_or_default();
    let available = if names.is_empty() {
        "no step exports a number in these runs (`export NAME \"EXPR\"` in a step)".to_string()
    } else {
        format!("numeric exports: {}", names.join(", "))
    };
    format!(
        "--trend: no number named `{name}`{hosts} in the last {} runs of `{}` on `{}`; {available}",
        runs.len(),
        newest.workflow,
        newest.inventory
    )
}

/// Every numeric export over the recent runs of `workflow` on `inventory`
/// up to run `until`, for the HTML report. History trouble leaves the
/// report without trends (with a warning), never without the report.
pub(super) fn html_trends(
    store: Result<Store, CliError>,
    workflow: &str,
    inventory: &str,
    until: Option<&str>,
) -> Vec<Trend> {
    let runs = store.and_then(|s| {
        Ok(recent_exports(
            &s,
            workflow,
            inventory,
            until,
            HTML_TREND_RUNS,
        )?)
    });
    match runs {
        Ok(runs) => all_trends(&runs),
        Err(e) => {
            eprintln!("warning: HTML report without trends: {e}");
            Vec::new()
        }
    }
}
