//! `--report FORMAT=PATH` and `fleet report --format`: which renderer,
//! where, and the one function that writes any of them atomically.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::html::to_html;
use super::json::{ReportError, to_json};
use super::junit::to_junit;
use super::markdown::to_markdown;
use super::prometheus::to_prometheus;
use super::tap::to_tap;
use crate::atomic::write_atomic;
use crate::model::report::RunReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Junit,
    Md,
    Html,
    /// The text exposition format, for node_exporter's textfile collector.
    Prometheus,
    /// TAP version 13, for TAP consumers (`prove`, CI plugins).
    Tap,
}

impl Format {
    /// Every format, in the order help lists them.
    pub const ALL: [Format; 6] = [
        Format::Json,
        Format::Junit,
        Format::Md,
        Format::Html,
        Format::Prometheus,
        Format::Tap,
    ];

    /// The name on the command line (`--report md=PATH`, `--format md`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Md => "md",
            Format::Html => "html",
            Format::Prometheus => "prometheus",
            Format::Tap => "tap",
        }
    }

    /// Other names accepted on the command line, not listed in help.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Format::Md => &["markdown"],
            Format::Prometheus => &["prom"],
            _ => &[],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Junit => "JUnit",
            Format::Md => "Markdown",
            Format::Html => "HTML",
            Format::Prometheus => "Prometheus",
            Format::Tap => "TAP",
        }
    }
}

/// A format by name or alias, any case.
impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| {
                std::iter::once(f.name())
                    .chain(f.aliases().iter().copied())
                    .any(|n| n.eq_ignore_ascii_case(s))
            })
            .ok_or_else(|| {
                format!("unknown report format `{s}`; use json, junit, md, html, prometheus or tap")
            })
    }
}

/// One `--report FORMAT=PATH`.
#[derive(Debug, Clone)]
pub struct ReportTarget {
    pub format: Format,
    pub path: PathBuf,
}

impl FromStr for ReportTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (format, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected FORMAT=PATH (e.g. junit=out.xml), got `{s}`"))?;
        let format = format.parse::<Format>()?;
        if path.is_empty() {
            return Err(format!("`{s}` names no file"));
        }
        Ok(ReportTarget {
            format,
            path: PathBuf::from(path),
        })
    }
}

/// The report rendered in `format`; newline-terminated.
pub fn render(report: &RunReport, format: Format) -> Result<String, ReportError> {
    let mut text = match format {
        Format::Json => to_json(report),
        Format::Junit => to_junit(report).map_err(|e| ReportError::Render {
            format: format.as_str(),
            message: e.to_string(),
        })?,
        Format::Md => to_markdown(report),
        Format::Html => to_html(report),
        Format::Prometheus => to_prometheus(report),
        Format::Tap => to_tap(report),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Renders and writes atomically: readers see the old file or the new one.
pub fn write_report(report: &RunReport, format: Format, path: &Path) -> Result<(), ReportError> {
    let text = render(report, format)?;
    write_atomic(path, text.as_bytes()).map_err(|source| ReportError::Write {
        format: format.as_str(),
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t: ReportTarget = "junit=out/x.xml".parse().expect("valid");
        assert_eq!(t.format, Format::Junit);
        assert_eq!(t.path, PathBuf::from("out/x.xml"));
        assert!("markdown=a.md".parse::<ReportTarget>().is_ok());
        assert!("pdf=a.pdf".parse::<ReportTarget>().is_err());
        assert!("a.json".parse::<ReportTarget>().is_err());
    }
}
