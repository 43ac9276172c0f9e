//! [`Trend`]s (exported numbers over stored runs) rendered: a sparkline
//! table for the terminal, JSON and CSV for other tools, and an inline SVG
//! line chart for the HTML report. `history` gathers the series (as it
//! computes a `RunDiff` that `changes` renders); this module only draws
//! what it is given, so it is tested on plain values.

use std::fmt::Write;
use std::path::Path;

use super::html::{esc, to_html_with_trends};
use super::json::ReportError;
use super::style::{DisplayConfig, Paint};
use crate::atomic::write_atomic;
use crate::history::{HostSeries, Trend};
use crate::model::report::RunReport;

fn range(values: impl Iterator<Item = Option<f64>>) -> Option<(f64, f64)> {
    values.flatten().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per run, scaled to the host's own min..max (the MIN and
/// MAX columns give the scale); a run without a value is a space.
pub fn sparkline(series: &HostSeries) -> String {
    let Some((lo, hi)) = range(series.floats()) else {
        return " ".repeat(series.values.len());
    };
    series
        .floats()
        .map(|v| match v {
            None => ' ',
            // A flat series sits in the middle rather than on the floor.
            Some(_) if hi == lo => BARS[3],
            Some(v) => {
                let level = ((v - lo) / (hi - lo) * 7.0).round();
                BARS[level.clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// How many trailing values the terminal table lists.
const LAST_SHOWN: usize = 5;

/// The terminal view: a heading, then per host the sparkline, min, max and
/// the last few values (`-` where a run has none).
pub fn render_trend(trend: &Trend, display: &DisplayConfig) -> String {
    let paint = Paint::new(display.color);
    let mut out = String::new();
    let span = match (trend.runs.first(), trend.runs.last()) {
        (Some(a), Some(b)) => format!("{} … {}", short(&a.started_at), short(&b.started_at)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "{}: {} on {}, {} ({span})",
        paint.bold(&trend.name),
        trend.workflow,
        trend.inventory,
        super::style::plural(trend.runs.len(), "run")
    );
    let num = |v: Option<f64>| v.map_or_else(|| "-".to_string(), number);
    let rows: Vec<[String; 5]> = trend
        .hosts
        .iter()
        .map(|s| {
            let (lo, hi) = range(s.floats()).unzip();
            let skip = s.values.len().saturating_sub(LAST_SHOWN);
            let last: Vec<String> = s.floats().skip(skip).map(num).collect();
            [
                s.host.clone(),
                sparkline(s),
                num(lo),
                num(hi),
                last.join(" "),
            ]
        })
        .collect();
    let header = ["HOST", "TREND", "MIN", "MAX", "LAST"].map(str::to_string);
    let mut widths = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for (i, r) in std::iter::once(&header).chain(&rows).enumerate() {
        let mut line = String::new();
        for (c, w) in r.iter().zip(widths) {
            let pad = w - c.chars().count();
            line.push_str(c);
            line.push_str(&" ".repeat(pad + 2));
        }
        let line = line.trim_end();
        let _ = writeln!(
            out,
            "{}",
            if i == 0 { paint.dim(line) } else { line.into() }
        );
    }
    if trend.hosts.is_empty() {
        let _ = writeln!(out, "no host exported a number named `{}`", trend.name);
    }
    out
}

/// `--format json`: the [`Trend`] itself.
pub fn trend_json(trend: &Trend) -> String {
    // Plain structs with string keys serialize without error.
    let mut s = serde_json::to_string_pretty(trend).expect("Trend serializes");
    s.push('\n');
    s
}

/// `--format csv`: one row per run and host that has a value (RFC 4180).
pub fn trend_csv(trend: &Trend) -> String {
    let mut out = String::from("run,started_at,host,name,value\n");
    for (i, run) in trend.runs.iter().enumerate() {
        for s in &trend.hosts {
            if let Some(Some(v)) = s.values.get(i) {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{v}",
                    csv_field(&run.id),
                    csv_field(&run.started_at),
                    csv_field(&s.host),
                    csv_field(&trend.name)
                );
            }
        }
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `2026-11-23T15:06:45.52Z` → `2026-11-23 15:06`.
fn short(rfc3339: &str) -> String {
    rfc3339
        .chars()
        .take(16)
        .collect::<String>()
        .replace('T', " ")
}

/// Whole numbers without `.0`, others with at most 2 decimals.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Series colours (Tableau 10): distinct from each other and from the
/// report's green/yellow/red status backgrounds. Hosts beyond the palette
/// reuse it dashed.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Hosts drawn per chart: more lines than this are unreadable. The hosts
/// with the highest last value are drawn (for disk use or lag, the ones
/// that matter); the chart says how many were left out.
pub const MAX_CHART_HOSTS: usize = 10;

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;

/// The HTML report's trends section: one chart per trend, each an inline
/// `<svg>` with a legend; empty when there is nothing to chart.
pub(super) fn html_section(h: &mut String, trends: &[Trend]) {
    let charted: Vec<&Trend> = trends.iter().filter(|t| !t.hosts.is_empty()).collect();
    let Some(first) = charted.first() else {
        return;
    };
    let _ = writeln!(
        h,
        "<h2>Trends</h2>\n<p class=\"muted\">Exported numbers over the last {} of {} on {} \
         (<code>fleet history --trend NAME</code> lists them).</p>",
        super::style::plural(first.runs.len(), "stored run"),
        esc(&first.workflow),
        esc(&first.inventory)
    );
    for t in charted {
        let _ = writeln!(
            h,
            "<figure class=\"trend\" id=\"trend-{}\"><figcaption><b>{}</b></figcaption>",
            esc(&t.name),
            esc(&t.name)
        );
        h.push_str(&to_svg(t));
        legend(h, t);
        h.push_str("</figure>\n");
    }
}

/// The hosts a chart draws, with their palette index.
fn drawn(trend: &Trend) -> Vec<&HostSeries> {
    let mut hosts: Vec<&HostSeries> = trend.hosts.iter().collect();
    if hosts.len() > MAX_CHART_HOSTS {
        hosts.sort_by(|a, b| {
            b.last()
                .unwrap_or(f64::MIN)
                .total_cmp(&a.last().unwrap_or(f64::MIN))
        });
        hosts.truncate(MAX_CHART_HOSTS);
    }
    hosts
}

fn legend(h: &mut String, trend: &Trend) {
    h.push_str("<div class=\"legend\">");
    for (i, s) in drawn(trend).into_iter().enumerate() {
        let last = s.last().map_or_else(|| "-".to_string(), number);
        let _ = write!(
            h,
            "<span><i style=\"border-color:{}\"></i>{} <span class=\"muted\">{last}</span></span> ",
            PALETTE[i % PALETTE.len()],
            esc(&s.host)
        );
    }
    let left_out = trend.hosts.len().saturating_sub(MAX_CHART_HOSTS);
    if left_out > 0 {
        let _ = write!(
            h,
            "<span class=\"muted\">and {left_out} more hosts with lower last values</span>"
        );
    }
    h.push_str("</div>\n");
}

/// A line chart: x is the run (oldest left), y the value on one scale for
/// all hosts (grid lines at min, middle and max). Runs without a value
/// break the line; each value is also a dot with a `<title>` tooltip.
pub fn to_svg(trend: &Trend) -> String {
    let hosts = drawn(trend);
    let (lo, hi) = range(hosts.iter().flat_map(|s| s.floats())).unwrap_or((0.0, 1.0));
    // A flat chart gets a band around its value so the line sits mid-plot.
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let runs = trend.runs.len();
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |i: usize| {
        if runs <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (runs - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (hi - v) / (hi - lo);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{} over {runs} runs\" \
         font-family=\"system-ui,sans-serif\" font-size=\"11\">",
        esc(&trend.name)
    );
    let _ = write!(
        s,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"#fff\" stroke=\"#ccc\"/>"
    );
    for v in [lo, (lo + hi) / 2.0, hi] {
        let gy = y(v);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{gy:.1}\" x2=\"{:.1}\" y2=\"{gy:.1}\" stroke=\"#e4e4e4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            gy + 4.0,
            number(v)
        );
    }
    if let (Some(a), Some(b)) = (trend.runs.first(), trend.runs.last()) {
        let base = H - BOTTOM + 16.0;
        let _ = write!(
            s,
            "<text x=\"{LEFT}\" y=\"{base}\" fill=\"#555\">{}</text>",
            esc(&short(&a.started_at))
        );
        if runs > 1 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{base}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
                W - RIGHT,
                esc(&short(&b.started_at))
            );
        }
    }
    for (i, series) in hosts.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = if i >= PALETTE.len() {
            " stroke-dasharray=\"6 3\""
        } else {
            ""
        };
        // Consecutive runs with values form one polyline; a gap starts another.
        let mut segment: Vec<String> = Vec::new();
        let flush = |segment: &mut Vec<String>, s: &mut String| {
            if segment.len() > 1 {
                let _ = write!(
                    s,
                    "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"3\" \
                     stroke-linejoin=\"round\"{dash} points=\"{}\"/>",
                    segment.join(" ")
                );
            }
            segment.clear();
        };
        for (r, v) in series.floats().enumerate() {
            match v {
                Some(v) => segment.push(format!("{:.1},{:.1}", x(r), y(v))),
                None => flush(&mut segment, &mut s),
            }
        }
        flush(&mut segment, &mut s);
        for (r, v) in series.floats().enumerate() {
            if let Some(v) = v {
                let run = trend.runs.get(r).map_or("", |run| run.id.as_str());
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\">\
                     <title>{}: {} (run {})</title></circle>",
                    x(r),
                    y(v),
                    esc(&series.host),
                    number(v),
                    esc(run)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Writes the HTML report with its trends section, atomically like every
/// report file.
pub fn write_html_with_trends(
    report: &RunReport,
    trends: &[Trend],
    path: &Path,
) -> Result<(), ReportError> {
    let text = to_html_with_trends(report, trends);
    write_atomic(path, text.as_bytes()).map_err(|source| ReportError::Write {
        format: "HTML",
        path: path.to_path_buf(),
        source,
    })
}

/// CSS the trends section needs, appended to the report's style sheet
/// when there is a chart to draw.
pub(super) fn css(trends: &[Trend]) -> &'static str {
    if trends.iter().any(|t| !t.hosts.is_empty()) {
        CSS
    } else {
        ""
    }
}

const CSS: &str = "\
figure.trend{margin:1em 0}figcaption{margin-bottom:4px}
.legend span{margin-right:1em;white-space:nowrap}
.legend i{display:inline-block;width:18px;border-top:3px solid;margin-right:4px;vertical-align:middle}
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::TrendRun;

    fn trend(hosts: &[(&str, &[Option<i64>])]) -> Trend {
        let n = hosts.first().map_or(0, |h| h.1.len());
        Trend {
            name: "disk_use".into(),
            workflow: "weekly".into(),
            inventory: "compose".into(),
            runs: (0..n)
                .map(|i| TrendRun {
                    id: format!("2026110{}T090000.000Z-000{i}", i + 1),
                    started_at: format!("2026-11-0{}T09:00:00Z", i + 1),
                })
                .collect(),
            hosts: hosts
                .iter()
                .map(|(h, v)| HostSeries {
                    host: h.to_string(),
                    values: v.iter().map(|v| v.map(Into::into)).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn sparkline_scales_per_host_and_leaves_gaps() {
        let t = trend(&[
            ("a", &[Some(40), Some(60), None, Some(85)]),
            ("b", &[Some(7), Some(7), Some(7), Some(7)]),
        ]);
        assert_eq!(sparkline(&t.hosts[0]), "▁▄ █");
        assert_eq!(sparkline(&t.hosts[1]), "▄▄▄▄");
        let text = render_trend(&t, &DisplayConfig::plain());
        insta::assert_snapshot!("trend_terminal", text);
    }

    #[test]
    fn csv_and_json_hold_every_value() {
        let t = trend(&[("web,1", &[Some(1), None])]);
        assert_eq!(
            trend_csv(&t),
            "run,started_at,host,name,value\n\
             20261101T090000.000Z-0000,2026-11-01T09:00:00Z,\"web,1\",disk_use,1\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&trend_json(&t)).expect("trend JSON parses");
        assert_eq!(json["hosts"][0]["values"], serde_json::json!([1, null]));
        assert_eq!(json["runs"][1]["id"], "20261102T090000.000Z-0001");
    }

    #[test]
    fn svg_draws_a_rising_line_up_the_plot_and_breaks_at_gaps() {
        let t = trend(&[("a", &[Some(40), Some(60), Some(85)])]);
        let svg = to_svg(&t);
        // Oldest run at the left and lowest; newest at the right and top.
        assert!(
            svg.contains(r#"points="56.0,186.0 340.0,109.6 624.0,14.0""#),
            "{svg}"
        );
        assert!(!svg.contains("<script"));
        let gap = to_svg(&trend(&[("a", &[Some(1), Some(2), None, Some(3)])]));
        assert_eq!(gap.matches("<polyline").count(), 1, "{gap}");
        assert_eq!(gap.matches("<circle").count(), 3, "{gap}");
    }

    #[test]
    fn charts_keep_the_hosts_with_the_highest_last_values() {
        let names: Vec<String> = (0..12).map(|i| format!("h{i:02}")).collect();
        let values: Vec<[Option<i64>; 1]> = (0..12).map(|i| [Some(i)]).collect();
        let hosts: Vec<(&str, &[Option<i64>])> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| (n.as_str(), &v[..]))
            .collect();
        let t = trend(&hosts);
        let drawn: Vec<&str> = drawn(&t).iter().map(|s| s.host.as_str()).collect();
        assert_eq!(drawn.len(), MAX_CHART_HOSTS);
        assert_eq!(drawn[0], "h11");
        assert!(!drawn.contains(&"h01"));
        let mut h = String::new();
        html_section(&mut h, &[t]);
        assert!(h.contains("and 2 more hosts"), "{h}");
    }
}
