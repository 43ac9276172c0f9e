//! What the ad-hoc commands print: `fleet ping`, one line per host, and
//! `fleet exec`, hosts grouped by identical output.

use std::collections::BTreeMap;

use crate::model::report::{HostReport, HostStatus, RunReport, StepStatus};
use crate::report::sanitize;

/// One line per host. The server's messages (a banner, a disconnect
/// reason) are the host's words: sanitized like its output.
pub fn render_ping(report: &RunReport) -> String {
    let names: Vec<_> = report
        .hosts
        .iter()
        .map(|h| sanitize::line(&h.name))
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (h, name) in report.hosts.iter().zip(&names) {
        let line = match (&h.unreachable, h.connect_time) {
            (Some(u), _) => format!(
                "{name:width$}  UNREACHABLE  {}: {}",
                u.kind.as_str(),
                sanitize::line(&u.message)
            ),
            (None, Some(t)) => format!("{name:width$}  OK  {} ms", t.as_millis()),
            (None, None) => format!("{name:width$}  OK"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Groups hosts by everything they printed and how they ended. What the
/// hosts printed is shown line by line with every control character made
/// visible, so no host can repaint another's lines or the headers.
pub fn render_grouped(report: &RunReport) -> String {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for h in &report.hosts {
        groups.entry(host_output(h)).or_default().push(&h.name);
    }
    let mut out = String::new();
    for (text, names) in groups {
        let text = sanitize::block(&text);
        let names: Vec<_> = names.iter().map(|n| sanitize::line(n)).collect();
        let header = format!("{} ({})", names.join(","), names.len());
        let rule = "-".repeat(header.chars().count().min(72));
        out.push_str(&format!("{rule}\n{header}\n{rule}\n{text}"));
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn host_output(h: &HostReport) -> String {
    if let (HostStatus::Unreachable, Some(u)) = (h.status, &h.unreachable) {
        return format!("[UNREACHABLE: {}: {}]\n", u.kind.as_str(), u.message);
    }
    let mut text = String::new();
    for s in &h.steps {
        text.push_str(&s.stdout.text);
        text.push_str(&s.stderr.text);
        if s.stdout.truncated || s.stderr.truncated {
            text.push_str("\n[output truncated]\n");
        }
        match (s.status, s.exit_status, &s.reason) {
            (StepStatus::Passed, _, _) => {}
            // The only rule of an ad-hoc command is its exit status.
            (StepStatus::Failed, Some(code), _) => {
                text.push_str(&format!("[exit status {code}]\n"))
            }
            (status, _, reason) => text.push_str(&format!(
                "[{status:?}{}]\n",
                reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn exec_grouped() {
        insta::assert_snapshot!(render_grouped(&fixture::mixed_run()));
    }

    #[test]
    fn ping_lines() {
        insta::assert_snapshot!(render_ping(&fixture::mixed_run()));
    }
}
