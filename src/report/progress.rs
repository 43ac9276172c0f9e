//! The live display on stderr while a run is in flight. On a terminal it is
//! one redrawn bar with problems printed above it as they happen; anywhere
//! else (CI, pipes, files) it is append-only plain lines, because redrawing
//! and colour codes turn logs into noise.

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::in_flight::InFlight;
use crate::model::report::{HostReport, HostStatus, StepReport, StepStatus};
use crate::report::sanitize;
use crate::report::style::{self, DisplayConfig, Paint, first_line, plural};
use crate::run::event::Event;

/// How often the bar redraws on its own, so elapsed time moves even while a
/// slow step produces no events.
const TICK: Duration = Duration::from_millis(100);
/// Longest reason or message quoted in a one-line progress report.
const MAX_DETAIL_CHARS: usize = 100;

/// Consumes executor events and keeps the operator informed. Stateless
/// about SSH: everything it knows comes from [`Event`]s, in order.
pub struct Progress {
    out: Output,
    paint: Paint,
    total: usize,
    done: usize,
    failed: usize,
    warned: usize,
    unreachable: usize,
    refused: usize,
    /// Hosts in flight, oldest first, with the step each is running
    /// (`None` while connecting). The oldest is shown because it is the one
    /// most likely holding the run up.
    running: InFlight,
}

enum Output {
    Bar(ProgressBar),
    /// Plain lines; write errors are ignored because a closed stderr must
    /// not abort a maintenance run halfway through the fleet.
    Plain(Box<dyn Write + Send>),
}

impl Progress {
    /// A bar on stderr when `config.interactive`, plain lines on stderr
    /// otherwise.
    pub fn new(config: &DisplayConfig) -> Self {
        if !config.interactive {
            return Self::with_writer(Box::new(io::stderr()));
        }
        Self::with_bar(ProgressDrawTarget::stderr(), config.color)
    }

    fn with_bar(target: ProgressDrawTarget, color: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(bar_style(color));
        bar.enable_steady_tick(TICK);
        Self::with_output(Output::Bar(bar), Paint::new(color))
    }

    /// Plain, uncoloured lines to `sink`: for logs, and for tests to
    /// capture what a CI job would see.
    pub fn with_writer(sink: Box<dyn Write + Send>) -> Self {
        Self::with_output(Output::Plain(sink), Paint::new(false))
    }

    fn with_output(out: Output, paint: Paint) -> Self {
        Progress {
            out,
            paint,
            total: 0,
            done: 0,
            failed: 0,
            warned: 0,
            unreachable: 0,
            refused: 0,
            running: InFlight::default(),
        }
    }

    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                workflow,
                hosts,
                steps,
            } => {
                self.total = *hosts;
                match &self.out {
                    Output::Bar(bar) => bar.set_length(*hosts as u64),
                    Output::Plain(_) => {
                        let line = format!(
                            "running {workflow} on {} ({})",
                            plural(*hosts, "host"),
                            plural(*steps, "step")
                        );
                        self.emit(&line);
                    }
                }
            }
            Event::HostStarted { host } => self.running.started(host),
            Event::HostConnected { .. } | Event::RunFinished { .. } => {}
            Event::StepStarted { host, step } => {
                self.running.step(host, step);
            }
            Event::StepFinished { host, step } => {
                if let Some(line) = self.step_problem(host, step) {
                    self.emit(&line);
                }
            }
            Event::HostFinished { host } => self.host_finished(host),
        }
        if let Output::Bar(bar) = &self.out {
            bar.set_message(self.bar_message());
        }
    }

    /// Removes the bar (the summary follows on stdout) or flushes the plain
    /// lines. Safe to call more than once; also done on drop.
    pub fn finish(&mut self) {
        match &mut self.out {
            Output::Bar(bar) => bar.finish_and_clear(),
            Output::Plain(sink) => {
                let _ = sink.flush();
            }
        }
    }

    fn host_finished(&mut self, host: &HostReport) {
        self.running.finished(&host.name);
        self.done += 1;
        match host.status {
            HostStatus::Ok => {}
            HostStatus::Warned => self.warned += 1,
            HostStatus::Failed => self.failed += 1,
            HostStatus::Unreachable => self.unreachable += 1,
            HostStatus::Refused => self.refused += 1,
            HostStatus::Skipped => {}
        }
        match &self.out {
            Output::Bar(bar) => {
                bar.set_position(self.done as u64);
                if let Some(u) = &host.unreachable {
                    let line = format!(
                        "{} {}: {} — {}: {}",
                        self.paint.yellow("✗"),
                        sanitize::line(&host.name),
                        self.paint.yellow("UNREACHABLE"),
                        u.kind.as_str(),
                        first_line(&u.message, MAX_DETAIL_CHARS),
                    );
                    bar.println(line);
                }
                if let Some(why) = &host.refused {
                    let line = format!(
                        "{} {}: {} — {}",
                        self.paint.red("✗"),
                        sanitize::line(&host.name),
                        self.paint.red("REFUSED"),
                        first_line(why, MAX_DETAIL_CHARS),
                    );
                    bar.println(line);
                }
            }
            Output::Plain(_) => {
                let line = self.host_line(host);
                self.emit(&line);
            }
        }
    }

    /// `[2/6] db-2  FAILED  2/3 steps passed (1.5s)`: one line per host so a
    /// CI log shows both progress and every host's outcome.
    fn host_line(&self, host: &HostReport) -> String {
        let detail = match (&host.unreachable, &host.refused) {
            _ if host.not_run.is_some() => {
                first_line(host.not_run.as_deref().unwrap_or(""), MAX_DETAIL_CHARS)
            }
            (Some(u), _) => u.kind.as_str().to_string(),
            (None, Some(why)) => first_line(why, MAX_DETAIL_CHARS),
            (None, None) => {
                let run = host
                    .steps
                    .iter()
                    .filter(|s| s.status != StepStatus::Skipped);
                let passed = run.clone().filter(|s| s.status == StepStatus::Passed);
                let warned = run.clone().filter(|s| s.status == StepStatus::Warned);
                let mut detail = format!("{}/{} steps passed", passed.count(), run.count());
                match warned.count() {
                    0 => {}
                    n => detail.push_str(&format!(", {n} warned")),
                }
                detail
            }
        };
        let status = host.status.as_str();
        let line = format!(
            "[{}/{}] {}  {status}  {detail}",
            self.done,
            self.total,
            sanitize::line(&host.name)
        );
        // A refused host was never contacted: it has no duration to show.
        match host.status {
            HostStatus::Refused | HostStatus::Skipped => line,
            _ => format!("{line} ({})", style::duration(host.duration)),
        }
    }

    /// `✗ db-2 disk: FAILED — root filesystem is above 90%` for a step that
    /// did not pass: the rule's message when it has one (it was written for
    /// humans), else what was expected; the reason for timeouts and errors.
    /// A failed step leads with a `fail` rule, not a warning that broke
    /// alongside it; retries are mentioned because they rule out a blip.
    fn step_problem(&self, host: &str, step: &StepReport) -> Option<String> {
        let p = self.paint;
        let (mark, status) = match step.status {
            StepStatus::Passed | StepStatus::Skipped => return None,
            StepStatus::Warned => (p.yellow("!"), p.yellow("WARNED")),
            StepStatus::Waived => (p.yellow("~"), p.yellow("WAIVED")),
            StepStatus::Failed => (p.red("✗"), p.red("FAILED")),
            StepStatus::Timeout => (p.yellow("✗"), p.yellow("TIMEOUT")),
            StepStatus::Error => (p.red("✗"), p.red("ERROR")),
        };
        let worst = step.failures.iter().map(|f| f.severity).max();
        let lead = step.failures.iter().find(|f| Some(f.severity) == worst);
        let mut detail = match (lead, &step.reason) {
            (Some(rule), _) => match &rule.message {
                Some(msg) => first_line(msg, MAX_DETAIL_CHARS),
                None => format!("expected {}", first_line(&rule.expected, MAX_DETAIL_CHARS)),
            },
            (None, Some(reason)) => first_line(reason, MAX_DETAIL_CHARS),
            (None, None) => String::from("no reason given"),
        };
        // Only rules as bad as the one quoted; warnings alongside a failure
        // are left to the summary.
        let alike = step.failures.iter().filter(|f| Some(f.severity) == worst);
        if alike.clone().count() > 1 {
            let more = alike.count() - 1;
            detail.push_str(&format!(" (+{more} more)"));
        }
        let after = match step.attempts {
            0 | 1 => String::new(),
            n => format!(" after {n} attempts"),
        };
        Some(format!(
            "{mark} {} {}: {status}{after} — {detail}",
            sanitize::line(host),
            sanitize::line(&step.name)
        ))
    }

    /// ` · 2 failed · 1 warned · 1 unreachable · db-7: disk +3`, appended
    /// to the bar's `12/20 hosts`; zero counts are left out.
    fn bar_message(&self) -> String {
        let mut msg = String::new();
        let counts = [
            (self.failed, "failed"),
            (self.warned, "warned"),
            (self.unreachable, "unreachable"),
            (self.refused, "refused"),
        ];
        for (n, what) in counts {
            if n > 0 {
                msg.push_str(&format!(" · {n} {what}"));
            }
        }
        if let Some((host, step)) = self.running.oldest() {
            let doing = step.unwrap_or("connecting");
            msg.push_str(&format!(
                " · {}: {}",
                sanitize::line(host),
                sanitize::line(doing)
            ));
            if self.running.len() > 1 {
                msg.push_str(&format!(" +{}", self.running.len() - 1));
            }
        }
        msg
    }

    /// A line above the bar, or a plain line.
    fn emit(&mut self, line: &str) {
        match &mut self.out {
            Output::Bar(bar) => bar.println(line),
            Output::Plain(sink) => {
                let _ = writeln!(sink, "{line}");
            }
        }
    }
}

impl Drop for Progress {
    /// A bar left on screen after an early return or panic would garble
    /// whatever is printed next.
    fn drop(&mut self) {
        self.finish();
    }
}

fn bar_template(color: bool) -> &'static str {
    if color {
        "[{elapsed}] {bar:20.green/dim} {pos}/{len} hosts{wide_msg}"
    } else {
        "[{elapsed}] {bar:20} {pos}/{len} hosts{wide_msg}"
    }
}

fn bar_style(color: bool) -> ProgressStyle {
    // The templates are constants covered by a test; falling back keeps a
    // typo from costing the operator their run.
    ProgressStyle::with_template(bar_template(color))
        .map(|s| s.progress_chars("█░"))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::model::fixture;

    /// A `Write` whose bytes the test can read after the `Progress` is done.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut bytes = self.0.lock().map_err(|_| io::Error::other("poisoned"))?;
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    fn replay(progress: &mut Progress) {
        for event in events(&fixture::mixed_run()) {
            progress.on_event(&event);
        }
        progress.finish();
    }

    #[test]
    fn plain_lines_for_a_mixed_run() {
        let sink = Captured::default();
        let mut progress = Progress::with_writer(Box::new(sink.clone()));
        replay(&mut progress);
        let text = sink.text();
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        insta::assert_snapshot!("progress_plain", text);
    }

    #[test]
    fn bar_message_tracks_counts_and_the_oldest_running_host() {
        let sink = Captured::default();
        let mut progress = Progress::with_writer(Box::new(sink));
        let events = events(&fixture::mixed_run());
        // Up to ps-prod-1 refused: four failed, one warned, one refused.
        for event in events
            .iter()
            .take_while(|e| !matches!(e, Event::HostStarted { host } if host == "db-4"))
        {
            progress.on_event(event);
        }
        progress.on_event(&Event::HostStarted {
            host: "db-4".into(),
        });
        progress.on_event(&Event::HostStarted {
            host: "db-5".into(),
        });
        progress.on_event(&Event::StepStarted {
            host: "db-5".into(),
            step: "disk".into(),
        });
        assert_eq!(
            progress.bar_message(),
            " · 4 failed · 1 warned · 1 refused · db-4: connecting +1"
        );
    }

    #[test]
    fn bar_mode_replays_a_run_and_finishes_twice() {
        let mut progress = Progress::with_bar(ProgressDrawTarget::hidden(), true);
        replay(&mut progress);
        progress.finish();
        if let Output::Bar(bar) = &progress.out {
            assert_eq!(bar.position(), 10);
            assert_eq!(bar.length(), Some(10));
            assert!(bar.is_finished());
        }
    }

    #[test]
    fn bar_templates_parse() {
        for color in [false, true] {
            let template = bar_template(color);
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }

    /// The events an executor would emit for `report`, hosts one after another.
    fn events(report: &crate::model::report::RunReport) -> Vec<Event> {
        let steps = report
            .hosts
            .iter()
            .map(|h| h.steps.len())
            .max()
            .unwrap_or(0);
        let mut events = vec![Event::RunStarted {
            workflow: report.workflow.clone(),
            hosts: report.hosts.len(),
            steps,
        }];
        for s in &report.local {
            events.push(Event::StepFinished {
                host: "controller".into(),
                step: s.clone(),
            });
        }
        for h in &report.hosts {
            let name = || h.name.clone();
            // Refused hosts are never started, only reported as finished.
            if h.status == HostStatus::Refused {
                events.push(Event::HostFinished { host: h.clone() });
                continue;
            }
            events.push(Event::HostStarted { host: name() });
            if h.unreachable.is_none() {
                events.push(Event::HostConnected { host: name() });
            }
            for s in &h.steps {
                events.push(Event::StepStarted {
                    host: name(),
                    step: s.name.clone(),
                });
                events.push(Event::StepFinished {
                    host: name(),
                    step: s.clone(),
                });
            }
            events.push(Event::HostFinished { host: h.clone() });
        }
        events.push(Event::RunFinished {
            report: report.clone(),
        });
        events
    }
}
